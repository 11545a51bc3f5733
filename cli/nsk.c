/* deepwick nsk: neural signature kernels (theory.md 5.1). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct nsk_args {
    cli_args base;
    const char *x, *y, *act, *solver, *out, *memory;
    double sigma0, sigma_a, sigma_b;
    long dyadic_order, threads;
    bool inhomogeneous, grid, json, resume;
} nsk_args;

#define F(field) offsetof(nsk_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "paths: .npy n x len x d, or one path len x d (.npy or .csv)", .flags = CLI_REQUIRED},
    {"act", CLI_TEXT, F(act), "ACT", "any activation (identity, relu, erf, tanh... as `deepwick kernel` accepts)",
     .flags = CLI_REQUIRED | CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"out", CLI_TEXT, F(out), "FILE",
     "output .npy (float64) n x m, written atomically: row blocks go into\n"
     ".FILE.deepwick-partial beside it, renamed when complete",
     .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second paths (default: X, exactly symmetric); --inhomogeneous needs the same len",
     .flags = 0},
    {"sigma0", CLI_REAL, F(sigma0), "S0", "initial-state scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-a", CLI_REAL, F(sigma_a), "SA", "weight scale", .def = "1", .flags = CLI_NONNEG},
    {"sigma-b", CLI_REAL, F(sigma_b), "SB", "bias scale", .def = "0", .flags = CLI_NONNEG},
    {"inhomogeneous", CLI_FLAG, F(inhomogeneous), NULL, "fresh weights at every step", .flags = 0},
    {"dyadic-order", CLI_INT, F(dyadic_order), "L", "refine every segment 2^L times", .def = "0",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 30}, /* echoed as used (0 with --grid) */
    {"solver", CLI_TEXT, F(solver), "S", "second-order (Heun cell update, ~4x per level) or first-order (~2x)",
     .def = "second-order", .flags = CLI_HIDDEN_JSON}, /* echoed as used (first-order with --grid) */
    {"grid", CLI_FLAG, F(grid), NULL, "the exact width limit of the discrete network on the data grid (first-order\n"
     "recursion, no refinement): what Monte Carlo of finite networks converges to", .flags = 0},
    CLI_OUTFILE_OPTS(nsk_args),
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores)", .flags = CLI_HIDDEN_JSON, .lo = 0,
     .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "nsk",
    "--x X.npy [--y Y.npy] --act ACT [--sigma0 S0 --sigma-a SA --sigma-b SB]\n"
    "                    [--inhomogeneous] [--dyadic-order L | --grid] --out K.npy [options]",
    "Neural signature kernel: the infinite-width limit of the random controlled ResNet\n"
    "  Y_0 = sigma0 z_0,  Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m\n"
    "(theory.md 5.1): the Goursat system d^2 K / ds dt = (sigma_a^2 V_phi(K^xx, K^xy, K^yy) + sigma_b^2) <x', y'>\n"
    "(weights shared over time), or with --inhomogeneous (fresh weights each step, scaled by dt^-1/2, t_m = m/M)\n"
    "the ODE along the diagonal.\n"
    "The result goes to disk by blocks of rows within --memory, bit for bit the in-memory entries; a progress\n"
    "bar is drawn on stderr when it is a terminal; after Ctrl-C, SIGTERM or a kill, FILE is untouched and the\n"
    "same command with --resume continues.\n",
    opts, NULL};

int cmd_nsk(int argc, char **argv)
{
    nsk_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc < 0 && a.grid && cli_given(&cmd, &a, "dyadic-order"))
        rc = cli_usage_error("nsk", "--grid and --dyadic-order exclude each other");
    if (rc >= 0) return rc;
    dw_sig_solver sv;
    if (dw_sig_solver_parse(a.solver, &sv)) return cli_error("--%s", dw_error_message());
    rc = 1;
    double *X = NULL, *Y = NULL;
    dw_act *act = NULL;
    dw_sig_nsk_opts *o = NULL;
    size_t n, lx, m = 0, ly = 0, d;
    dw_status s;
    if (!cli_act_init(&act, a.act)) goto done;
    if ((s = dw_sig_nsk_opts_init(&o)) || (s = dw_sig_nsk_opts_set_act(o, act)) ||
        (s = dw_sig_nsk_opts_set_sigma0(o, a.sigma0)) || (s = dw_sig_nsk_opts_set_sigma_a(o, a.sigma_a)) ||
        (s = dw_sig_nsk_opts_set_sigma_b(o, a.sigma_b)) ||
        (s = dw_sig_nsk_opts_set_inhomogeneous(o, a.inhomogeneous)) ||
        (s = dw_sig_nsk_opts_set_grid(o, a.grid)) || (s = dw_sig_nsk_opts_set_solver(o, sv)) ||
        (s = dw_sig_nsk_opts_set_dyadic_order(o, (int)a.dyadic_order)) ||
        (a.threads && (s = dw_sig_nsk_opts_set_threads(o, (int)a.threads)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_read_pair(a.x, a.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!a.y) {
        m = n;
        ly = lx;
    }
    cli_outfile f;
    if ((rc = cli_outfile_begin(&f, "nsk", "pairs", a.memory, a.resume, 0)) >= 0) goto done;
    double t0 = cli_now();
    s = dw_sig_nsk_gram_file(o, X, n, lx, Y, m, ly, d, a.out, f.opts);
    double secs = cli_now() - t0;
    if ((rc = cli_outfile_end(&f, s, a.out, true)) >= 0) goto done;
    if (a.json) {
        printf("{\"command\": \"nsk\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"dyadic_order\": %d, \"solver\": \"%s\", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"shape\": [%zu, %zu], "
               "\"threads\": %d, \"seconds\": %.6f}\n",
               a.grid ? 0 : (int)a.dyadic_order, a.grid ? "first-order" : a.solver, n, m, d, n, m,
               dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    free(X);
    free(Y);
    dw_sig_nsk_opts_clear(o);
    dw_act_clear(act);
    return rc;
}
