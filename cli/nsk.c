/* deepwick nsk: neural signature kernels (theory.md 5.1). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick nsk --x X.npy [--y Y.npy] --act ACT [--sigma0 S0 --sigma-a SA --sigma-b SB]\n"
    "                    [--inhomogeneous] [--dyadic-order L | --grid] --out K.npy [options]\n"
    "\n"
    "Neural signature kernel: the infinite-width limit of the random controlled ResNet\n"
    "  Y_0 = sigma0 z_0,  Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m\n"
    "(theory.md 5.1): the Goursat system d^2 K / ds dt = (sigma_a^2 V_phi(K^xx, K^xy, K^yy) + sigma_b^2) <x', y'>\n"
    "(weights shared over time), or with --inhomogeneous (fresh weights each step, scaled by dt^-1/2, t_m = m/M)\n"
    "the ODE along the diagonal.\n"
    "\n"
    "  --x FILE             paths: .npy n x len x d, or one path len x d (.npy or .csv)\n"
    "  --y FILE             second paths (default: X, exactly symmetric); --inhomogeneous needs the same len\n"
    "  --act ACT            any activation (identity, relu, erf, tanh... as `deepwick kernel` accepts)\n"
    "  --sigma0 S0          initial-state scale (default 1)\n"
    "  --sigma-a SA         weight scale (default 1)\n"
    "  --sigma-b SB         bias scale (default 0)\n"
    "  --inhomogeneous      fresh weights at every step\n"
    "  --dyadic-order L     refine every segment 2^L times (default 0)\n"
    "  --solver S           second-order (default: Heun cell update, ~4x per level) or first-order (~2x)\n"
    "  --grid               the exact width limit of the discrete network on the data grid (first-order\n"
    "                       recursion, no refinement): what Monte Carlo of finite networks converges to\n"
    "  --out FILE           output .npy (float64) n x m\n"
    "  --threads T          threads (default: all cores)\n"
    "  --json               print a machine-readable summary on stdout\n";

int cmd_nsk(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},          {"y", required_argument, 0, 'y'},
        {"out", required_argument, 0, 'o'},        {"act", required_argument, 0, 'a'},
        {"sigma0", required_argument, 0, '0'},     {"sigma-a", required_argument, 0, 'A'},
        {"sigma-b", required_argument, 0, 'b'},    {"inhomogeneous", no_argument, 0, 'i'},
        {"dyadic-order", required_argument, 0, 'L'}, {"solver", required_argument, 0, 's'},
        {"grid", no_argument, 0, 'g'},             {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *solver = "second-order";
    long lam = 0;
    int c, have_lam = 0;
    double sigma0 = 1.0, sigma_a = 1.0, sigma_b = 0.0;
    bool inhom = false, grid = false;
    cli_common co;
    cli_common_init(&co, "nsk", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case '0':
            if (!cli_parse_double("--sigma0", optarg, &sigma0)) return 1;
            break;
        case 'A':
            if (!cli_parse_double("--sigma-a", optarg, &sigma_a)) return 1;
            break;
        case 'b':
            if (!cli_parse_double("--sigma-b", optarg, &sigma_b)) return 1;
            break;
        case 'i': inhom = true; break;
        case 'L':
            if (!cli_parse_int("--dyadic-order", optarg, 0, 30, &lam)) return 1;
            have_lam = 1;
            break;
        case 's': solver = optarg; break;
        case 'g': grid = true; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (!co.act) return cli_usage_error("nsk", "--act is required");
    if (!co.out) return cli_usage_error("nsk", "--out is required");
    if (grid && have_lam) return cli_usage_error("nsk", "--grid and --dyadic-order exclude each other");
    dw_sig_solver sv;
    if (dw_sig_solver_parse(solver, &sv)) return cli_error("--%s", dw_error_message());
    const double sg[3] = {sigma0, sigma_a, sigma_b};
    static const char *const sn[3] = {"--sigma0", "--sigma-a", "--sigma-b"};
    if (!cli_check_nonneg(3, sg, sn)) return 1;
    if (!cli_check_out_npy(co.out)) return 1;
    int rc = 1;
    double *X = NULL, *Y = NULL, *K = NULL;
    dw_act *act = NULL;
    dw_sig_nsk_opts *o = NULL;
    size_t n, lx, m = 0, ly = 0, d;
    dw_status s;
    if (!cli_act_init(&act, co.act)) goto done;
    if ((s = dw_sig_nsk_opts_init(&o)) || (s = dw_sig_nsk_opts_set_act(o, act)) ||
        (s = dw_sig_nsk_opts_set_sigma0(o, sigma0)) || (s = dw_sig_nsk_opts_set_sigma_a(o, sigma_a)) ||
        (s = dw_sig_nsk_opts_set_sigma_b(o, sigma_b)) || (s = dw_sig_nsk_opts_set_inhomogeneous(o, inhom)) ||
        (s = dw_sig_nsk_opts_set_grid(o, grid)) || (s = dw_sig_nsk_opts_set_solver(o, sv)) ||
        (s = dw_sig_nsk_opts_set_dyadic_order(o, (int)lam)) ||
        (co.threads && (s = dw_sig_nsk_opts_set_threads(o, (int)co.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_pair(co.x, co.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!co.y) {
        m = n;
        ly = lx;
    }
    if ((s = dw_core_check_alloc((double)n * (double)m * 8.0, "the neural-signature-kernel Gram matrix"))) {
        rc = cli_status(s);
        goto done;
    }
    K = dw_core_alloc_large(n * m * sizeof(double), "the neural-signature-kernel Gram matrix");
    if (!K) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    s = dw_sig_nsk_gram(o, X, n, lx, Y, m, ly, d, K);
    double secs = cli_now() - t0;
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[2] = {n, m};
    if ((s = dw_io_write_npy(co.out, K, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (co.json) {
        printf("{\"command\": \"nsk\", \"version\": \"%s\", \"act\": ", dw_version());
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"sigma0\": %.17g, \"sigma_a\": %.17g, \"sigma_b\": %.17g, \"inhomogeneous\": %s, \"grid\": %s, "
               "\"dyadic_order\": %d, \"solver\": \"%s\", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"shape\": [%zu, %zu], "
               "\"out\": ",
               sigma0, sigma_a, sigma_b, inhom ? "true" : "false", grid ? "true" : "false", grid ? 0 : (int)lam,
               grid ? "first-order" : solver, n, m, d, n, m);
        cli_json_string(stdout, co.out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)co.threads), secs);
    }
    rc = 0;
done:
    free(X);
    free(Y);
    dw_core_free_large(K);
    dw_sig_nsk_opts_clear(o);
    dw_act_clear(act);
    return rc;
}
