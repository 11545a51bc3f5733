/* deepwick cresnet: sample random controlled ResNets (theory.md 5.1). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick cresnet --x X.npy --width N [--samples S] [--seed SEED] --act ACT [--sigma0 S0]\n"
    "                        [--sigma-a SA] [--sigma-b SB] [--inhomogeneous] [--all-times] --out Y.npy\n"
    "\n"
    "Hidden states of random controlled ResNets (theory.md 5.1), one network per sample shared by all paths:\n"
    "  Y_0 = sigma0 z_0,  Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m,\n"
    "standard Gaussian z_0, A_k, b_k (shared over time; --inhomogeneous: fresh at every step, dx scaled by\n"
    "sqrt(M)). (1/N) <Y^x, Y^y> converges to `deepwick nsk --grid` as N grows.\n"
    "\n"
    "  --x FILE          paths: .npy batch x len x d, or one path len x d\n"
    "  --width N         hidden width\n"
    "  --samples S       independent networks (default 1)\n"
    "  --seed SEED       Philox seed (default 0); streams keyed by (seed, sample, step, row)\n"
    "  --act ACT         activation (as `deepwick kernel` accepts)\n"
    "  --sigma0, --sigma-a, --sigma-b   scales (defaults 1, 1, 0)\n"
    "  --inhomogeneous   fresh weights at every step\n"
    "  --all-times       output every time: samples x batch x len x N (default: final, samples x batch x N)\n"
    "  --out FILE        output .npy (float64)\n"
    "  --threads T       threads for drawing the weights (results do not depend on it)\n";

int cmd_cresnet(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},       {"width", required_argument, 0, 'N'},
        {"samples", required_argument, 0, 'S'}, {"seed", required_argument, 0, 'r'},
        {"act", required_argument, 0, 'a'},     {"sigma0", required_argument, 0, '0'},
        {"sigma-a", required_argument, 0, 'A'}, {"sigma-b", required_argument, 0, 'b'},
        {"inhomogeneous", no_argument, 0, 'i'}, {"all-times", no_argument, 0, 'T'},
        {"out", required_argument, 0, 'o'},     {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int c;
    bool all = false, inhom = false;
    double sigma0 = 1.0, sigma_a = 1.0, sigma_b = 0.0;
    long width = 0, samples = 1, seed = 0;
    cli_common co;
    cli_common_init(&co, "cresnet", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_OWN) r = cli_net_opt(c, &width, &samples, &seed);
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
        case 'T': all = true; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (!width) return cli_usage_error("cresnet", "--width is required");
    if (!co.act) return cli_usage_error("cresnet", "--act is required");
    if (!co.out) return cli_usage_error("cresnet", "--out is required");
    const double sg[3] = {sigma0, sigma_a, sigma_b};
    static const char *const sn[3] = {"--sigma0", "--sigma-a", "--sigma-b"};
    if (!cli_check_nonneg(3, sg, sn)) return 1;
    if (!cli_check_out_npy(co.out)) return 1;
    int rc = 1;
    double *X = NULL, *res = NULL;
    dw_act *act = NULL;
    dw_sig_nsk_opts *o = NULL;
    size_t b, len, d;
    dw_status s;
    if (!cli_act_init(&act, co.act)) goto done;
    if ((s = dw_sig_nsk_opts_init(&o)) || (s = dw_sig_nsk_opts_set_act(o, act)) ||
        (s = dw_sig_nsk_opts_set_sigma0(o, sigma0)) || (s = dw_sig_nsk_opts_set_sigma_a(o, sigma_a)) ||
        (s = dw_sig_nsk_opts_set_sigma_b(o, sigma_b)) || (s = dw_sig_nsk_opts_set_inhomogeneous(o, inhom)) ||
        (co.threads && (s = dw_sig_nsk_opts_set_threads(o, (int)co.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_paths(co.x, &X, &b, &len, &d)) goto done;
    const double count = (double)samples * (double)b * (double)(all ? len : 1) * (double)width;
    if ((s = dw_core_check_alloc(count * 8.0, "the cResNet states"))) {
        rc = cli_status(s);
        goto done;
    }
    res = dw_core_alloc_large((size_t)count * sizeof(double), "the cResNet states");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    if ((s = dw_sig_cresnet_sample(o, (size_t)width, (size_t)samples, (unsigned long long)seed, all, X, b, len, d,
                                   res))) {
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
    dw_core_free_large(res);
    dw_sig_nsk_opts_clear(o);
    dw_act_clear(act);
    return rc;
}
