/* deepwick lcde-kernel: the width limit of random linear CDEs on the data grid (theory.md 5.2). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct lcde_kernel_args {
    cli_args base;
    const char *x, *y, *out;
    cli_reals gate, input;
    double sigma_b, sigma_c, sigma_c0;
    long threads;
    bool json;
} lcde_kernel_args;

#define F(field) offsetof(lcde_kernel_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "paths: .npy n x len x d, or one path len x d", .flags = CLI_REQUIRED},
    {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64) n x m", .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second paths (default: X, exactly symmetric)", .flags = 0},
    {"gate", CLI_INTS, F(gate), "LIST", "channels (from 0) forming omega (default: all)", .lo = 0,
     .hi = 1000000000000000L},
    {"input", CLI_INTS, F(input), "LIST", "channels forming xi (default: all)", .lo = 0, .hi = 1000000000000000L},
    {"sigma-b", CLI_REAL, F(sigma_b), "SB", "scale of B", .def = "1", .flags = CLI_NONNEG},
    {"sigma-c", CLI_REAL, F(sigma_c), "SC", "scale of C", .def = "1", .flags = CLI_NONNEG},
    {"sigma-c0", CLI_REAL, F(sigma_c0), "S", "scale of c", .def = "0", .flags = CLI_NONNEG},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores)", .flags = CLI_HIDDEN_JSON, .lo = 0,
     .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "lcde-kernel",
    "--x X.npy [--y Y.npy] [--gate LIST] [--input LIST] [--sigma-b SB]\n"
    "                            [--sigma-c SC] [--sigma-c0 S] --out K.npy",
    "Width limit of (1/N) <Y^x_M, Y^y_M'> for the random dense linear CDE of `deepwick lcde` (theory.md 5.2),\n"
    "exact on the data grid:\n"
    "  K[m+1,n+1] = K[m+1,n] + K[m,n+1] - K[m,n] + <d omega^x_m, d omega^y_n> K[m,n]\n"
    "               + sigma_b^2 <d xi^x_m, d xi^y_n>,   K[0,.] = K[.,0] = sigma_c^2 <x_0, y_0> + sigma_c0^2.\n",
    opts, NULL};

int cmd_lcde_kernel(int argc, char **argv)
{
    lcde_kernel_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    rc = 1;
    double *X = NULL, *Y = NULL, *K = NULL;
    size_t *gate = NULL, *inp = NULL, n_gate = 0, n_inp = 0, n, lx, m = 0, ly = 0, d;
    dw_sig_lcde_opts *o = NULL;
    dw_status s;
    if (!cli_channels("--gate", &a.gate, &gate, &n_gate) || !cli_channels("--input", &a.input, &inp, &n_inp)) goto done;
    if ((s = dw_sig_lcde_opts_init(&o)) || (s = dw_sig_lcde_opts_set_gate(o, n_gate, gate)) ||
        (s = dw_sig_lcde_opts_set_input(o, n_inp, inp)) || (s = dw_sig_lcde_opts_set_sigma_B(o, a.sigma_b)) ||
        (s = dw_sig_lcde_opts_set_sigma_C(o, a.sigma_c)) || (s = dw_sig_lcde_opts_set_sigma_c(o, a.sigma_c0)) ||
        (a.threads && (s = dw_sig_lcde_opts_set_threads(o, (int)a.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_pair(a.x, a.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!a.y) {
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
    if ((s = dw_io_write_npy(a.out, K, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        printf("{\"command\": \"lcde-kernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"shape\": [%zu, %zu], \"threads\": %d, \"seconds\": %.6f}\n",
               n, m, d, n, m, dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    cli_args_free(&cmd, &a);
    free(X);
    free(Y);
    free(gate);
    free(inp);
    dw_core_free_large(K);
    dw_sig_lcde_opts_clear(o);
    return rc;
}
