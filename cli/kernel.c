/* deepwick kernel: NNGP / NTK Gram matrices (theory.md 1.2-1.3). Reads inputs, calls dw_kernel_gram, writes .npy. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick kernel --x X.npy [--y Y.npy] --depth L --act ACT --out K.npy [options]\n"
    "\n"
    "Infinite-width NNGP kernel K^{L+1} and/or neural tangent kernel Theta^{L+1} of the network\n"
    "  h^1 = W^1 x + b^1,  h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},  f = h^{L+1}   (theory.md 1.1-1.3)\n"
    "on every pair of rows of X (and Y).\n"
    "\n"
    "required:\n"
    "  --x FILE            inputs, n x d: .npy (float64/float32, C order) or .csv\n"
    "  --depth L           number of activations (hidden layers), L >= 0; 0 is the linear model K^1\n"
    "  --act ACT           identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...,\n"
    "                      gelu (closed forms); tanh, sigmoid, gelu_tanh, silu, softplus, elu, selu, mish;\n"
    "                      or an expression in z, e.g. 'tanh(z)^2', 'z*sigmoid(1.702*z)', 'max(z, 0.1*z)'\n"
    "                      (+ - * / ^, exp log sqrt abs tanh sigmoid erf sin cos relu softplus max min)\n"
    "  --out FILE          output .npy (float64), written atomically\n"
    "options:\n"
    "  --y FILE            second inputs, m x d (default: X; K(X, X) is then exactly symmetric)\n"
    "  --weight-var V      sigma_w^2, one value or L+1 comma-separated per-layer values (default 1)\n"
    "  --bias-var B        sigma_b^2, one value or L+1 values (default 0)\n"
    "  --kind K            nngp, ntk or both (default nngp); both writes one stacked array,\n"
    "                      index 0 = NNGP, 1 = NTK: shape (2, n, m)\n"
    "  --param P           NTK parameterisation: ntk or standard (default ntk); the NNGP is the same\n"
    "  --width N           hidden widths n_1..n_L for --param standard (one value or L values)\n"
    "  --all-layers        output every layer: (L+1, n, m), or (2, L+1, n, m) with --kind both\n"
    "  --threads T         OpenMP threads (default: all cores); results do not depend on it\n"
    "  --json              print a machine-readable summary on stdout\n"
    "  -h, --help          this help\n"
    "\n"
    "weight_var = W_std**2 of Neural Tangents' stax.Dense; a layer with bias-var 0 has no bias.\n";

int cmd_kernel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},          {"y", required_argument, 0, 'y'},
        {"depth", required_argument, 0, 'L'},      {"act", required_argument, 0, 'a'},
        {"weight-var", required_argument, 0, 'w'}, {"bias-var", required_argument, 0, 'b'},
        {"kind", required_argument, 0, 'k'},       {"param", required_argument, 0, 'p'},
        {"width", required_argument, 0, 'W'},      {"all-layers", no_argument, 0, 'A'},
        {"threads", required_argument, 0, 't'},    {"json", no_argument, 0, 'j'},
        {"out", required_argument, 0, 'o'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *kind = "nngp", *param = "ntk";
    const char *wtext = "1", *btext = "0", *widtext = NULL;
    long depth = -1;
    bool all_layers = false;
    int c;
    cli_common co;
    cli_common_init(&co, "kernel", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'L':
            if (!cli_parse_int("--depth", optarg, -1000000, 100000, &depth)) return 1;
            if (depth < 0) return cli_error("--depth: must be >= 0 (got %ld)", depth);
            break;
        case 'w': wtext = optarg; break;
        case 'b': btext = optarg; break;
        case 'k': kind = optarg; break;
        case 'p': param = optarg; break;
        case 'W': widtext = optarg; break;
        case 'A': all_layers = true; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (depth < 0) return cli_usage_error("kernel", "--depth is required");
    if (!co.act) return cli_usage_error("kernel", "--act is required");
    if (!co.out) return cli_usage_error("kernel", "--out is required");
    int nngp = !strcmp(kind, "nngp") || !strcmp(kind, "both"), ntk = !strcmp(kind, "ntk") || !strcmp(kind, "both");
    if (!nngp && !ntk) return cli_error("--kind: expected nngp, ntk or both (got '%s')", kind);
    if (strcmp(param, "ntk") && strcmp(param, "standard"))
        return cli_error("--param: expected ntk or standard (got '%s')", param);
    if (widtext && strcmp(param, "standard"))
        return cli_error("--width: applies only to --param standard (the NTK parameterisation needs no widths)");
    if (!cli_npy_path("--out", co.out)) return 1;

    int rc = 1;
    double *wv = NULL, *bv = NULL, *wid = NULL, *res = NULL;
    size_t nw = 0, nb = 0, nwid = 0;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    dw_matrix X, Y;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_status s;
    if (!cli_parse_list("--weight-var", wtext, &wv, &nw) || !cli_parse_list("--bias-var", btext, &bv, &nb)) goto done;
    if (widtext && !cli_parse_list("--width", widtext, &wid, &nwid)) goto done;
    if (!cli_act_init(&act, co.act) || !cli_check_writable("--out", co.out) || !cli_read_points(co.x, &X)) goto done;
    if (co.y) {
        if ((s = dw_io_read_matrix(&Y, co.y))) {
            rc = cli_status(s);
            goto done;
        }
        if (Y.cols != X.cols) {
            rc = cli_error("%s has %zu columns but %s has %zu: X and Y must have the same dimension", co.y, Y.cols,
                           co.x, X.cols);
            goto done;
        }
        if (Y.rows == 0) {
            rc = cli_error("%s: no input points (0 rows)", co.y);
            goto done;
        }
    }
    const size_t n = X.rows, m = co.y ? Y.rows : X.rows;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, nw, wv)) || (s = dw_net_set_bias_var(net, nb, bv)) ||
        (s = dw_net_set_param(net, strcmp(param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (wid && depth > 0 && (s = dw_net_set_widths(net, nwid, wid))) || /* depth 0: no hidden layer */
        (s = dw_kernel_opts_init(&o)) ||
        (s = dw_kernel_opts_set_all_layers(o, all_layers)) || (s = dw_kernel_opts_set_threads(o, (int)co.threads)) ||
        (s = dw_kernel_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    double bytes;
    if ((s = dw_kernel_gram_bytes(net, o, n, m, nngp, ntk, &bytes)) ||
        (s = dw_core_check_alloc(bytes, "the kernel result"))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t layers = all_layers ? (size_t)depth + 1 : 1, one = n * m * layers;
    res = dw_core_alloc_large((size_t)(nngp + ntk) * one * sizeof(double), "the kernel result");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    s = dw_kernel_gram(net, o, X.data, n, co.y ? Y.data : NULL, m, X.cols, nngp ? res : NULL,
                       ntk ? res + (nngp ? one : 0) : NULL, info);
    double secs = cli_now() - t0;
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[4], nd = 0;
    if (nngp && ntk) shape[nd++] = 2;
    if (all_layers) shape[nd++] = layers;
    shape[nd++] = n;
    shape[nd++] = m;
    if ((s = dw_io_write_npy(co.out, res, (int)nd, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (co.json) {
        printf("{\"command\": \"kernel\", \"version\": \"%s\", \"act\": ", dw_version());
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
        printf(", \"kind\": \"%s\", \"param\": \"%s\", \"depth\": %ld, \"n\": %zu, \"m\": %zu, \"d\": %zu, "
               "\"symmetric\": %s, \"all_layers\": %s, \"weight_var\": [",
               kind, param, depth, n, m, X.cols, co.y ? "false" : "true", all_layers ? "true" : "false");
        for (size_t k = 0; k < nw; k++) printf("%s%.17g", k ? ", " : "", wv[k]);
        printf("], \"bias_var\": [");
        for (size_t k = 0; k < nb; k++) printf("%s%.17g", k ? ", " : "", bv[k]);
        printf("], \"shape\": [");
        for (size_t k = 0; k < nd; k++) printf("%s%zu", k ? ", " : "", shape[k]);
        printf("], \"out\": ");
        cli_json_string(stdout, co.out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)co.threads), secs);
    }
    rc = 0;
done:
    free(wv);
    free(bv);
    free(wid);
    dw_core_free_large(res);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}
