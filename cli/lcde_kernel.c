/* deepwick lcde-kernel: the width limit of random linear CDEs on the data grid (theory.md 5.2). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick lcde-kernel --x X.npy [--y Y.npy] [--gate LIST] [--input LIST] [--sigma-b SB]\n"
    "                            [--sigma-c SC] [--sigma-c0 S] --out K.npy\n"
    "\n"
    "Width limit of (1/N) <Y^x_M, Y^y_M'> for the random dense linear CDE of `deepwick lcde` (theory.md 5.2),\n"
    "exact on the data grid:\n"
    "  K[m+1,n+1] = K[m+1,n] + K[m,n+1] - K[m,n] + <d omega^x_m, d omega^y_n> K[m,n]\n"
    "               + sigma_b^2 <d xi^x_m, d xi^y_n>,   K[0,.] = K[.,0] = sigma_c^2 <x_0, y_0> + sigma_c0^2.\n"
    "\n"
    "  --x FILE       paths: .npy n x len x d, or one path len x d\n"
    "  --y FILE       second paths (default: X, exactly symmetric)\n"
    "  --gate LIST    channels (from 0) forming omega (default: all)\n"
    "  --input LIST   channels forming xi (default: all)\n"
    "  --sigma-b SB, --sigma-c SC, --sigma-c0 S   scales of B, C, c (defaults 1, 1, 0)\n"
    "  --out FILE     output .npy (float64) n x m\n"
    "  --threads T    threads (default: all cores)\n"
    "  --json         print a machine-readable summary on stdout\n";

int cmd_lcde_kernel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},       {"y", required_argument, 0, 'y'},
        {"gate", required_argument, 0, 'g'},    {"input", required_argument, 0, 'u'},
        {"sigma-b", required_argument, 0, 'b'}, {"sigma-c", required_argument, 0, 'c'},
        {"sigma-c0", required_argument, 0, 'z'}, {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *gtext = NULL, *itext = NULL;
    int c;
    double sigma_B = 1.0, sigma_C = 1.0, sigma_c = 0.0;
    cli_common co;
    cli_common_init(&co, "lcde-kernel", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'g': gtext = optarg; break;
        case 'u': itext = optarg; break;
        case 'b':
            if (!cli_parse_double("--sigma-b", optarg, &sigma_B)) return 1;
            break;
        case 'c':
            if (!cli_parse_double("--sigma-c", optarg, &sigma_C)) return 1;
            break;
        case 'z':
            if (!cli_parse_double("--sigma-c0", optarg, &sigma_c)) return 1;
            break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (!co.out) return cli_usage_error("lcde-kernel", "--out is required");
    const double sg[3] = {sigma_B, sigma_C, sigma_c};
    static const char *const sn[3] = {"--sigma-b", "--sigma-c", "--sigma-c0"};
    if (!cli_check_nonneg(3, sg, sn)) return 1;
    if (!cli_check_out_npy(co.out)) return 1;
    int rc = 1;
    double *X = NULL, *Y = NULL, *K = NULL;
    size_t *gate = NULL, *inp = NULL, n_gate = 0, n_inp = 0, n, lx, m = 0, ly = 0, d;
    dw_sig_lcde_opts *o = NULL;
    dw_status s;
    if (gtext && !cli_parse_channels("--gate", gtext, &gate, &n_gate)) goto done;
    if (itext && !cli_parse_channels("--input", itext, &inp, &n_inp)) goto done;
    if ((s = dw_sig_lcde_opts_init(&o)) || (s = dw_sig_lcde_opts_set_gate(o, n_gate, gate)) ||
        (s = dw_sig_lcde_opts_set_input(o, n_inp, inp)) || (s = dw_sig_lcde_opts_set_sigma_B(o, sigma_B)) ||
        (s = dw_sig_lcde_opts_set_sigma_C(o, sigma_C)) || (s = dw_sig_lcde_opts_set_sigma_c(o, sigma_c)) ||
        (co.threads && (s = dw_sig_lcde_opts_set_threads(o, (int)co.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_pair(co.x, co.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!co.y) {
        m = n;
        ly = lx;
    }
    if ((s = dw_core_check_alloc((double)n * (double)m * 8.0, "the LCDE kernel Gram matrix"))) {
        rc = cli_status(s);
        goto done;
    }
    K = dw_core_alloc_large(n * m * sizeof(double), "the LCDE kernel Gram matrix");
    if (!K) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    if ((s = dw_sig_lcde_kernel(o, X, n, lx, Y, m, ly, d, K))) {
        rc = cli_status(s);
        goto done;
    }
    double secs = cli_now() - t0;
    size_t shape[2] = {n, m};
    if ((s = dw_io_write_npy(co.out, K, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (co.json) {
        printf("{\"command\": \"lcde-kernel\", \"version\": \"%s\", \"n\": %zu, \"m\": %zu, \"d\": %zu, "
               "\"sigma_b\": %.17g, \"sigma_c\": %.17g, \"sigma_c0\": %.17g, \"shape\": [%zu, %zu], \"out\": ",
               dw_version(), n, m, d, sigma_B, sigma_C, sigma_c, n, m);
        cli_json_string(stdout, co.out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)co.threads), secs);
    }
    rc = 0;
done:
    free(X);
    free(Y);
    free(gate);
    free(inp);
    dw_core_free_large(K);
    dw_sig_lcde_opts_clear(o);
    return rc;
}
