/* deepwick lcde: sample random linear CDEs / selective state-space models (theory.md 5.2). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing and --help (lcde prints no summary). */
typedef struct lcde_args {
    cli_args base;
    const char *x, *out;
    long width, samples, seed, threads;
    cli_reals gate, input;
    double sigma_a, sigma_b, sigma_c, sigma_c0;
    bool diagonal, all_times;
} lcde_args;

#define F(field) offsetof(lcde_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "paths: .npy batch x len x d, or one path len x d", .flags = CLI_REQUIRED},
    {"width", CLI_INT, F(width), "N", "state dimension, 1 <= N <= 1000000", .flags = CLI_REQUIRED, .lo = 1,
     .hi = 1000000},
    {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64)", .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"samples", CLI_INT, F(samples), "S", "independent models", .def = "1", .lo = 1, .hi = 1L << 40},
    {"seed", CLI_INT, F(seed), "SEED", "Philox seed", .def = "0", .lo = 0, .hi = 0x7fffffffffffffffL},
    {"diagonal", CLI_FLAG, F(diagonal), NULL, "diagonal A_i", .flags = 0},
    {"gate", CLI_INTS, F(gate), "LIST", "channels (from 0) forming the gate path omega (default: all)", .lo = 0,
     .hi = 1000000000000000L},
    {"input", CLI_INTS, F(input), "LIST", "channels forming the input path xi (default: all)", .lo = 0,
     .hi = 1000000000000000L},
    {"sigma-a", CLI_REAL, F(sigma_a), "SA", "diagonal A_i entries' scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-b", CLI_REAL, F(sigma_b), "SB", "B entries' scale (0: no input term)", .def = "1", .flags = CLI_NONNEG},
    {"sigma-c", CLI_REAL, F(sigma_c), "SC", "C entries' scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-c0", CLI_REAL, F(sigma_c0), "S", "c entries' scale", .def = "0", .flags = CLI_NONNEG},
    {"all-times", CLI_FLAG, F(all_times), NULL,
     "output every time: samples x batch x len x N (default: samples x batch x N)", .flags = 0},
    {"threads", CLI_INT, F(threads), "T", "threads for drawing the weights", .lo = 0, .hi = 4096},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "lcde",
    "--x X.npy --width N [--samples S] [--seed SEED] [--diagonal] [--gate LIST]\n"
    "                     [--input LIST] [--sigma-a SA] [--sigma-b SB] [--sigma-c SC] [--sigma-c0 S]\n"
    "                     [--all-times] --out Y.npy",
    "Hidden states of random linear CDEs (theory.md 5.2), one model per sample shared by all paths:\n"
    "  Y_{m+1} = (I + sum_i A_i d omega^i_m) Y_m + B d xi_m,   Y_0 = C x_0 + c,\n"
    "dense A_i with entries N(0, 1/N), or --diagonal (Mamba-like) A_i with entries N(0, sigma_a^2); B, C, c\n"
    "with entries N(0, sigma_b^2), N(0, sigma_c^2), N(0, sigma_c0^2).\n",
    opts, NULL};

int cmd_lcde(int argc, char **argv)
{
    lcde_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const long width = a.width, samples = a.samples;
    const bool all = a.all_times;
    rc = 1;
    double *X = NULL, *res = NULL;
    size_t *gate = NULL, *inp = NULL, n_gate = 0, n_inp = 0, b, len, d;
    dw_sig_lcde_opts *o = NULL;
    dw_status s;
    if (!cli_channels("--gate", &a.gate, &gate, &n_gate) || !cli_channels("--input", &a.input, &inp, &n_inp)) goto done;
    if ((s = dw_sig_lcde_opts_init(&o)) || (s = dw_sig_lcde_opts_set_gate(o, n_gate, gate)) ||
        (s = dw_sig_lcde_opts_set_input(o, n_inp, inp)) || (s = dw_sig_lcde_opts_set_sigma_A(o, a.sigma_a)) ||
        (s = dw_sig_lcde_opts_set_sigma_B(o, a.sigma_b)) || (s = dw_sig_lcde_opts_set_sigma_C(o, a.sigma_c)) ||
        (s = dw_sig_lcde_opts_set_sigma_c(o, a.sigma_c0)) || (s = dw_sig_lcde_opts_set_diagonal(o, a.diagonal)) ||
        (a.threads && (s = dw_sig_lcde_opts_set_threads(o, (int)a.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_paths(a.x, &X, &b, &len, &d)) goto done;
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
    if ((s = dw_sig_lcde_sample(o, (size_t)width, (size_t)samples, (unsigned long long)a.seed, all, X, b, len, d,
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
    cli_args_free(&cmd, &a);
    free(X);
    free(gate);
    free(inp);
    dw_core_free_large(res);
    dw_sig_lcde_opts_clear(o);
    return rc;
}
