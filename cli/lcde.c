/* deepwick lcde: sample random linear CDEs / selective state-space models (theory.md 5.2). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick lcde --x X.npy --width N [--samples S] [--seed SEED] [--diagonal] [--gate LIST]\n"
    "                     [--input LIST] [--sigma-a SA] [--sigma-b SB] [--sigma-c SC] [--sigma-c0 S]\n"
    "                     [--all-times] --out Y.npy\n"
    "\n"
    "Hidden states of random linear CDEs (theory.md 5.2), one model per sample shared by all paths:\n"
    "  Y_{m+1} = (I + sum_i A_i d omega^i_m) Y_m + B d xi_m,   Y_0 = C x_0 + c,\n"
    "dense A_i with entries N(0, 1/N), or --diagonal (Mamba-like) A_i with entries N(0, sigma_a^2); B, C, c\n"
    "with entries N(0, sigma_b^2), N(0, sigma_c^2), N(0, sigma_c0^2).\n"
    "\n"
    "  --x FILE          paths: .npy batch x len x d, or one path len x d\n"
    "  --width N         state dimension\n"
    "  --samples S       independent models (default 1)\n"
    "  --seed SEED       Philox seed (default 0)\n"
    "  --diagonal        diagonal A_i\n"
    "  --gate LIST       channels (from 0) forming the gate path omega (default: all)\n"
    "  --input LIST      channels forming the input path xi (default: all)\n"
    "  --sigma-a SA      diagonal A_i entries' scale (default 1)\n"
    "  --sigma-b SB      B entries' scale (default 1; 0: no input term)\n"
    "  --sigma-c SC      C entries' scale (default 1)\n"
    "  --sigma-c0 S      c entries' scale (default 0)\n"
    "  --all-times       output every time: samples x batch x len x N (default: samples x batch x N)\n"
    "  --out FILE        output .npy (float64)\n"
    "  --threads T       threads for drawing the weights\n";

int cmd_lcde(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},        {"width", required_argument, 0, 'N'},
        {"samples", required_argument, 0, 'S'},  {"seed", required_argument, 0, 'r'},
        {"diagonal", no_argument, 0, 'D'},       {"gate", required_argument, 0, 'g'},
        {"input", required_argument, 0, 'u'},    {"sigma-a", required_argument, 0, 'A'},
        {"sigma-b", required_argument, 0, 'b'},  {"sigma-c", required_argument, 0, 'c'},
        {"sigma-c0", required_argument, 0, 'z'}, {"all-times", no_argument, 0, 'T'},
        {"out", required_argument, 0, 'o'},      {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *gtext = NULL, *itext = NULL;
    int c;
    bool all = false, diagonal = false;
    double sigma_A = 1.0, sigma_B = 1.0, sigma_C = 1.0, sigma_c = 0.0;
    long width = 0, samples = 1, seed = 0;
    cli_common co;
    cli_common_init(&co, "lcde", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_OWN) r = cli_net_opt(c, &width, &samples, &seed);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'D': diagonal = true; break;
        case 'g': gtext = optarg; break;
        case 'u': itext = optarg; break;
        case 'A':
            if (!cli_parse_double("--sigma-a", optarg, &sigma_A)) return 1;
            break;
        case 'b':
            if (!cli_parse_double("--sigma-b", optarg, &sigma_B)) return 1;
            break;
        case 'c':
            if (!cli_parse_double("--sigma-c", optarg, &sigma_C)) return 1;
            break;
        case 'z':
            if (!cli_parse_double("--sigma-c0", optarg, &sigma_c)) return 1;
            break;
        case 'T': all = true; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (!width) return cli_usage_error("lcde", "--width is required");
    if (!co.out) return cli_usage_error("lcde", "--out is required");
    const double sg[4] = {sigma_A, sigma_B, sigma_C, sigma_c};
    static const char *const sn[4] = {"--sigma-a", "--sigma-b", "--sigma-c", "--sigma-c0"};
    if (!cli_check_nonneg(4, sg, sn)) return 1;
    if (!cli_check_out_npy(co.out)) return 1;
    int rc = 1;
    double *X = NULL, *res = NULL;
    size_t *gate = NULL, *inp = NULL, n_gate = 0, n_inp = 0, b, len, d;
    dw_sig_lcde_opts *o = NULL;
    dw_status s;
    if (gtext && !cli_parse_channels("--gate", gtext, &gate, &n_gate)) goto done;
    if (itext && !cli_parse_channels("--input", itext, &inp, &n_inp)) goto done;
    if ((s = dw_sig_lcde_opts_init(&o)) || (s = dw_sig_lcde_opts_set_gate(o, n_gate, gate)) ||
        (s = dw_sig_lcde_opts_set_input(o, n_inp, inp)) || (s = dw_sig_lcde_opts_set_sigma_A(o, sigma_A)) ||
        (s = dw_sig_lcde_opts_set_sigma_B(o, sigma_B)) || (s = dw_sig_lcde_opts_set_sigma_C(o, sigma_C)) ||
        (s = dw_sig_lcde_opts_set_sigma_c(o, sigma_c)) || (s = dw_sig_lcde_opts_set_diagonal(o, diagonal)) ||
        (co.threads && (s = dw_sig_lcde_opts_set_threads(o, (int)co.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_paths(co.x, &X, &b, &len, &d)) goto done;
    const double count = (double)samples * (double)b * (double)(all ? len : 1) * (double)width;
    if ((s = dw_core_check_alloc(count * 8.0, "the LCDE states"))) {
        rc = cli_status(s);
        goto done;
    }
    res = dw_core_alloc_large((size_t)count * sizeof(double), "the LCDE states");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    if ((s = dw_sig_lcde_sample(o, (size_t)width, (size_t)samples, (unsigned long long)seed, all, X, b, len, d, res))) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[4], nd = 0;
    shape[nd++] = (size_t)samples;
    shape[nd++] = b;
    if (all) shape[nd++] = len;
    shape[nd++] = (size_t)width;
    if ((s = dw_io_write_npy(co.out, res, (int)nd, shape))) {
        rc = cli_status(s);
        goto done;
    }
    rc = 0;
done:
    free(X);
    free(gate);
    free(inp);
    dw_core_free_large(res);
    dw_sig_lcde_opts_clear(o);
    return rc;
}
