/* deepwick cresnet: sample random controlled ResNets (theory.md 5.1). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing and --help (cresnet prints no summary). */
typedef struct cresnet_args {
    cli_args base;
    const char *x, *act, *out;
    long width, samples, seed, threads;
    double sigma0, sigma_a, sigma_b;
    bool inhomogeneous, all_times;
} cresnet_args;

#define F(field) offsetof(cresnet_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "paths: .npy batch x len x d, or one path len x d", .flags = CLI_REQUIRED},
    {"width", CLI_INT, F(width), "N", "hidden width, 1 <= N <= 1000000", .flags = CLI_REQUIRED, .lo = 1, .hi = 1000000},
    {"act", CLI_TEXT, F(act), "ACT", "activation (as `deepwick kernel` accepts)", .flags = CLI_REQUIRED},
    {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64)", .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"samples", CLI_INT, F(samples), "S", "independent networks", .def = "1", .lo = 1, .hi = 1L << 40},
    {"seed", CLI_INT, F(seed), "SEED", "Philox seed; streams keyed by (seed, sample, step, row)", .def = "0", .lo = 0,
     .hi = 0x7fffffffffffffffL},
    {"sigma0", CLI_REAL, F(sigma0), "S0", "initial-state scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-a", CLI_REAL, F(sigma_a), "SA", "weight scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-b", CLI_REAL, F(sigma_b), "SB", "bias scale", .def = "0", .flags = CLI_NONNEG},
    {"inhomogeneous", CLI_FLAG, F(inhomogeneous), NULL, "fresh weights at every step", .flags = 0},
    {"all-times", CLI_FLAG, F(all_times), NULL,
     "output every time: samples x batch x len x N (default: final, samples x batch x N)", .flags = 0},
    {"threads", CLI_INT, F(threads), "T", "threads for drawing the weights (results do not depend on it)",
     .lo = 0, .hi = 4096},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "cresnet",
    "--x X.npy --width N [--samples S] [--seed SEED] --act ACT [--sigma0 S0]\n"
    "                        [--sigma-a SA] [--sigma-b SB] [--inhomogeneous] [--all-times] --out Y.npy",
    "Hidden states of random controlled ResNets (theory.md 5.1), one network per sample shared by all paths:\n"
    "  Y_0 = sigma0 z_0,  Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m,\n"
    "standard Gaussian z_0, A_k, b_k (shared over time; --inhomogeneous: fresh at every step, dx scaled by\n"
    "sqrt(M)). (1/N) <Y^x, Y^y> converges to `deepwick nsk --grid` as N grows.\n",
    opts, NULL};

int cmd_cresnet(int argc, char **argv)
{
    cresnet_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    const long width = a.width, samples = a.samples;
    const bool all = a.all_times;
    rc = 1;
    double *X = NULL, *res = NULL;
    dw_act *act = NULL;
    dw_sig_nsk_opts *o = NULL;
    size_t b, len, d;
    dw_status s;
    if (!cli_act_init(&act, a.act)) goto done;
    if ((s = dw_sig_nsk_opts_init(&o)) || (s = dw_sig_nsk_opts_set_act(o, act)) ||
        (s = dw_sig_nsk_opts_set_sigma0(o, a.sigma0)) || (s = dw_sig_nsk_opts_set_sigma_a(o, a.sigma_a)) ||
        (s = dw_sig_nsk_opts_set_sigma_b(o, a.sigma_b)) ||
        (s = dw_sig_nsk_opts_set_inhomogeneous(o, a.inhomogeneous)) ||
        (a.threads && (s = dw_sig_nsk_opts_set_threads(o, (int)a.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_paths(a.x, &X, &b, &len, &d)) goto done;
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
    if ((s = dw_sig_cresnet_sample(o, (size_t)width, (size_t)samples, (unsigned long long)a.seed, all, X, b, len, d,
                                   res))) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[4], nd = 0;
    shape[nd++] = (size_t)samples;
    shape[nd++] = b;
    if (all) shape[nd++] = len;
    shape[nd++] = (size_t)width;
    if ((s = dw_io_write_npy(a.out, res, (int)nd, shape))) {
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
