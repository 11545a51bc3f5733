/* deepwick kernel: NNGP / NTK Gram matrices (theory.md 1.2-1.3). Reads inputs, calls dw_kernel_gram, writes .npy. */
#include "cli.h"

#include "opts.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct kernel_args {
    cli_args base;
    const char *x, *y, *act, *out, *kind, *param;
    long depth, threads;
    cli_reals weight_var, bias_var, width;
    bool all_layers, json;
} kernel_args;

#define F(field) offsetof(kernel_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy (float64/float32, C order) or .csv", .flags = CLI_REQUIRED},
    {"depth", CLI_INT, F(depth), "L", "number of activations (hidden layers), L >= 0; 0 is the linear model K^1",
     .flags = CLI_REQUIRED, .lo = INT_MIN, .hi = INT_MAX}, /* the range is the network's to check (one wording) */
    {"act", CLI_TEXT, F(act), "ACT",
     "identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...,\n"
     "gelu (closed forms); tanh, sigmoid, gelu_tanh, silu, softplus, elu, selu, mish;\n"
     "or an expression in z, e.g. 'tanh(z)^2', 'z*sigmoid(1.702*z)', 'max(z, 0.1*z)'\n"
     "(+ - * / ^, exp log sqrt abs tanh sigmoid erf sin cos relu softplus max min)",
     .flags = CLI_REQUIRED | CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64), written atomically", .flags = CLI_REQUIRED | CLI_OUTPUT,
     .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second inputs, m x d (default: X; K(X, X) is then exactly symmetric)",
     .flags = 0},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 comma-separated per-layer values",
     .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values", .def = "0"},
    {"kind", CLI_CHOICE, F(kind), "K", "nngp, ntk or both; both writes one stacked array,\nindex 0 = NNGP, 1 = NTK: "
     "shape (2, n, m)", .def = "nngp", .choices = "nngp|ntk|both"},
    {"param", CLI_CHOICE, F(param), "P", "NTK parameterisation: ntk or standard; the NNGP is the same", .def = "ntk",
     .choices = "ntk|standard"},
    {"width", CLI_REALS, F(width), "N", "hidden widths n_1..n_L for --param standard (one value or L values)",
     .flags = 0},
    {"all-layers", CLI_FLAG, F(all_layers), NULL,
     "output every layer: (L+1, n, m), or (2, L+1, n, m) with --kind both", .flags = 0},
    {"threads", CLI_INT, F(threads), "T", "threads (default: all cores); results do not depend on it",
     .flags = CLI_HIDDEN_JSON, .lo = 1, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "kernel", "--x X.npy [--y Y.npy] --depth L --act ACT --out K.npy [options]",
    "Infinite-width NNGP kernel K^{L+1} and/or neural tangent kernel Theta^{L+1} of the network\n"
    "  h^1 = W^1 x + b^1,  h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},  f = h^{L+1}   (theory.md 1.1-1.3)\n"
    "on every pair of rows of X (and Y).\n",
    opts, "weight_var = W_std**2 of Neural Tangents' stax.Dense; a layer with bias-var 0 has no bias.\n"};

int cmd_kernel(int argc, char **argv)
{
    kernel_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const bool nngp = strcmp(a.kind, "ntk") != 0, ntk = strcmp(a.kind, "nngp") != 0;
    const bool standard = !strcmp(a.param, "standard");
    if (a.width.v && !standard) {
        cli_args_free(&cmd, &a);
        return cli_error("--width: applies only to --param standard (the NTK parameterisation needs no widths)");
    }
    const long depth = a.depth;
    rc = 1;
    double *res = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    dw_matrix X, Y;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_status s;
    if (!cli_act_init(&act, a.act) || !cli_read_points(a.x, &X)) goto done;
    if (a.y) {
        if ((s = dw_io_read_matrix(&Y, a.y))) {
            rc = cli_status(s);
            goto done;
        }
        if (Y.cols != X.cols) {
            rc = cli_error("%s has %zu columns but %s has %zu: X and Y must have the same dimension", a.y, Y.cols,
                           a.x, X.cols);
            goto done;
        }
        if (Y.rows == 0) {
            rc = cli_error("%s: no input points (0 rows)", a.y);
            goto done;
        }
    }
    const size_t n = X.rows, m = a.y ? Y.rows : X.rows;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
        (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) ||
        (s = dw_net_set_param(net, standard ? DW_PARAM_STANDARD : DW_PARAM_NTK)) ||
        (a.width.v && depth > 0 && (s = dw_net_set_widths(net, a.width.n, a.width.v))) || /* depth 0: no hidden layer */
        (s = dw_kernel_opts_init(&o)) || (s = dw_kernel_opts_set_all_layers(o, a.all_layers)) ||
        (s = dw_kernel_opts_set_threads(o, (int)a.threads)) || (s = dw_kernel_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    double bytes;
    if ((s = dw_kernel_gram_bytes(net, o, n, m, nngp, ntk, &bytes)) ||
        (s = dw_core_check_alloc(bytes, "the kernel result"))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t layers = a.all_layers ? (size_t)depth + 1 : 1, one = n * m * layers;
    res = dw_core_alloc_large((size_t)(nngp + ntk) * one * sizeof(double), "the kernel result");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    s = dw_kernel_gram(net, o, X.data, n, a.y ? Y.data : NULL, m, X.cols, nngp ? res : NULL,
                       ntk ? res + (nngp ? one : 0) : NULL, info);
    double secs = cli_now() - t0;
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[4], nd = 0;
    if (nngp && ntk) shape[nd++] = 2;
    if (a.all_layers) shape[nd++] = layers;
    shape[nd++] = n;
    shape[nd++] = m;
    if ((s = dw_io_write_npy(a.out, res, (int)nd, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        /* the options as parsed (one table), then what the library reports */
        printf("{\"command\": \"kernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"method\": ");
        cli_json_string(stdout, dw_kernel_info_method(info));
        /* the largest error bound of a returned entry (relative to sqrt(K(x,x) K(y,y)), propagated through the
         * layers), of any Gaussian expectation evaluated (relative to its scale), and the target of the latter;
         * null for closed forms (exact to rounding) */
        if (dw_kernel_info_target(info) > 0)
            printf(", \"max_error_bound\": %.3g, \"expectation_error_bound\": %.3g, \"error_bound_is_estimate\": %s, "
                   "\"error_target\": %.3g, \"series_terms\": %d, \"evaluations\": %zu, "
                   "\"quadrature_evaluations\": %zu",
                   dw_kernel_info_max_bound(info), dw_kernel_info_expectation_bound(info),
                   dw_kernel_info_estimate(info) ? "true" : "false", dw_kernel_info_target(info),
                   dw_kernel_info_series_terms(info), dw_kernel_info_evaluations(info),
                   dw_kernel_info_quadrature(info));
        else
            printf(", \"max_error_bound\": null, \"expectation_error_bound\": null");
        printf(", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"symmetric\": %s, \"shape\": [", n, m, X.cols,
               a.y ? "false" : "true");
        for (size_t k = 0; k < nd; k++) printf("%s%zu", k ? ", " : "", shape[k]);
        printf("], \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    cli_args_free(&cmd, &a);
    dw_core_free_large(res);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}
