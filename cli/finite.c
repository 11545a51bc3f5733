/* deepwick finite-width: the 1/N corrections of the NNGP and NTK (theory.md 1.6). Reads inputs, calls
 * dw_finite_gram, writes the stacked quantities as one .npy and the constants as JSON. */
#include "cli.h"

#include "opts.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct finite_args {
    cli_args base;
    const char *x, *y, *act, *out, *law, *param;
    long depth, threads;
    cli_reals weight_var, bias_var, widths;
    double width;
    bool json, gauss1;
} finite_args;

#define F(field) offsetof(finite_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy (float64/float32, C order) or .csv", .flags = CLI_REQUIRED},
    {"depth", CLI_INT, F(depth), "L", "number of activations (hidden layers), L >= 0",
     .flags = CLI_REQUIRED, .lo = INT_MIN, .hi = INT_MAX}, /* the range is the network's to check (one wording) */
    {"act", CLI_TEXT, F(act), "ACT",
     "any activation of `deepwick kernel` except step: relu, leaky_relu:ALPHA, erf, tanh, gelu, poly:c0,c1,...,\n"
     "or an expression in z such as 'z*sigmoid(1.702*z)'", .flags = CLI_REQUIRED | CLI_HIDDEN_JSON},
    {"out", CLI_TEXT, F(out), "FILE",
     "output .npy (float64), written atomically: the stacked quantities, shape (9, n, m), in the order\n"
     "nngp, ntk, nngp_1, ntk_1, nngp_var, ntk_var, nngp_cov, ntk_cov, kappa4; with --width four more\n"
     "follow (13, n, m): nngp_mean, ntk_mean, nngp_std, ntk_std at that width",
     .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second inputs, m x d (default: X; every quantity is then exactly symmetric)", .flags = 0},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 comma-separated per-layer values",
     .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values", .def = "0"},
    {"widths", CLI_REALS, F(widths), "C", "hidden widths relative to N, n_l = c_l N (one value or L values)", .flags = 0},
    {"width", CLI_REAL, F(width), "N", "also the corrected means and standard deviations at this width",
     .flags = CLI_POSITIVE},
    {"law", CLI_TEXT, F(law), "LAW",
     "weight law: gaussian, rademacher, uniform, sparse:P, student-t:NU (NU > 4); its fourth cumulant enters\n"
     "nngp_1, ntk_1, ntk_var, ntk_cov and kappa4; a non-Gaussian law needs --gaussian-input-layer",
     .def = "gaussian"},
    {"gaussian-input-layer", CLI_FLAG, F(gauss1), NULL,
     "layer 1 Gaussian whatever the law (its fan-in d is fixed: a non-Gaussian layer 1 is not a 1/N effect)",
     .flags = 0},
    {"param", CLI_CHOICE, F(param), "P", "NTK parameterisation: ntk or standard (standard needs --width)",
     .def = "ntk", .choices = "ntk|standard"},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results do not depend on it",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout (with the Frobenius constants)",
     .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "finite-width", "--x X.npy [--y Y.npy] --depth L --act ACT --out F.npy [options]",
    "The next order in 1/N of a fully connected network of hidden width N (theory.md 1.6), NTK or\n"
    "standard parameterisation, any i.i.d. weight law with a finite fourth moment, one output: for every pair of rows of X (and Y) the limits K, Theta,\n"
    "the mean corrections (E G = K + nngp_1/N, E Theta_N = Theta + ntk_1/N), N times the variances and\n"
    "covariances of the empirical entries, the outputs' fourth cumulant; and the Frobenius constants C with\n"
    "RMS error sqrt(C/N) of a width-N Gram matrix.\n",
    opts, "G(x, y) = b + w (1/N) sum_j phi(h_j(x)) phi(h_j(y)) is the empirical NNGP entry of the output layer.\n"};

int cmd_finite(int argc, char **argv)
{
    finite_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const bool at_width = cli_given(&cmd, &a, "width");
    rc = 1;
    double *res = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_finite_opts *o = NULL;
    dw_finite_info *info = NULL;
    dw_matrix X, Y;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_status s;
    cli_progress prog;
    cli_progress_init(&prog, "finite-width");
    if (!cli_act_init(&act, a.act) || !cli_read_points(a.x, &X)) goto done;
    if (a.y && !cli_read_second_points(a.y, a.x, &X, &Y)) goto done;
    const size_t n = X.rows, m = a.y ? Y.rows : X.rows, nm = n * m;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)a.depth, act, true)) ||
        (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
        (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) || (s = dw_net_set_law(net, a.law)) ||
        (s = dw_net_set_gaussian_input_layer(net, a.gauss1)) ||
        (s = dw_net_set_param(net, strcmp(a.param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (a.widths.v && a.depth > 0 && (s = dw_net_set_widths(net, a.widths.n, a.widths.v))) ||
        (s = dw_finite_opts_init(&o)) || (s = dw_finite_opts_set_threads(o, (int)a.threads)) ||
        (at_width && (s = dw_finite_opts_set_width(o, a.width))) ||
        (s = dw_finite_opts_set_progress(o, cli_progress_cb, &prog)) || (s = dw_finite_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t layers = DW_FW_COUNT + (at_width ? 4 : 0);
    if ((s = dw_core_check_alloc((double)layers * (double)nm * 8.0, "the finite-width result"))) {
        rc = cli_status(s);
        goto done;
    }
    res = dw_core_alloc_large(layers * nm * sizeof(double), "the finite-width result");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    s = dw_finite_gram(net, o, X.data, n, a.y ? Y.data : NULL, m, X.cols, res, info);
    if (!s && at_width) s = dw_finite_at_width(res, nm, a.width, res + DW_FW_COUNT * nm);
    double secs = cli_now() - t0;
    cli_progress_done(&prog);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[3] = {layers, n, m};
    if ((s = dw_io_write_npy(a.out, res, 3, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        const double cn = dw_finite_info_frobenius_nngp(info), ct = dw_finite_info_frobenius_ntk(info);
        printf("{\"command\": \"finite-width\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"method\": ");
        cli_json_string(stdout, dw_finite_info_method(info));
        printf(", \"quantities\": [");
        for (size_t k = 0; k < layers; k++) {
            static const char *const extra[4] = {"nngp_mean", "ntk_mean", "nngp_std", "ntk_std"};
            printf("%s\"%s\"", k ? ", " : "", k < DW_FW_COUNT ? dw_finite_quantity_name((int)k) : extra[k - DW_FW_COUNT]);
        }
        printf("], \"frobenius_nngp\": %.17g, \"frobenius_ntk\": %.17g, \"moment_error\": %.3g", cn, ct,
               dw_finite_info_moment_error(info));
        if (at_width) {
            /* sqrt(C / N) through the library's one rule (the stacked layout with one entry) */
            double q[DW_FW_COUNT] = {0}, w[4];
            q[DW_FW_NNGP_VAR] = cn;
            q[DW_FW_NTK_VAR] = ct;
            dw_finite_at_width(q, 1, a.width, w);
            printf(", \"rms_nngp\": %.17g, \"rms_ntk\": %.17g", w[2], w[3]);
        }
        printf(", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"symmetric\": %s, \"shape\": [%zu, %zu, %zu], "
               "\"threads\": %d, \"seconds\": %.6f}\n",
               n, m, X.cols, a.y ? "false" : "true", layers, n, m, dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    cli_args_free(&cmd, &a);
    dw_core_free_large(res);
    dw_finite_info_clear(info);
    dw_finite_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}
