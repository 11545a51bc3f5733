/* deepwick sigkernel: signature-kernel Gram matrices by the Goursat PDE (theory.md 5). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct sigkernel_args {
    cli_args base;
    const char *x, *y, *out, *solver, *stat, *memory;
    long dyadic_order, dyadic_order_y, max_batch, threads;
    double scale, end_time;
    bool json, time_aug, lead_lag, basepoint, resume;
} sigkernel_args;

#define F(field) offsetof(sigkernel_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "paths: .npy n x len x d (float64/float32), or one path len x d (.npy or .csv)",
     .flags = CLI_REQUIRED},
    {"out", CLI_TEXT, F(out), "FILE",
     "output .npy (float64) n x m, written atomically: row blocks go into\n"
     ".FILE.deepwick-partial beside it, renamed when complete",
     .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second paths, m x len' x d (default: X; K(X, X) is then exactly symmetric)",
     .flags = 0},
    {"dyadic-order", CLI_INT, F(dyadic_order), "L",
     "cut every segment into 2^L pieces; refused if the PDE rows would not fit in memory", .def = "0", .lo = 0,
     .hi = 40},
    {"dyadic-order-y", CLI_INT, F(dyadic_order_y), "L2",
     "a different order for the second paths (--y, or the second slot of K(X, X), then not\nsymmetric): "
     "pySigLib's dyadic_order = (L, L2); default L", .lo = 0, .hi = 40},
    {"solver", CLI_TEXT, F(solver), "S", "second-order (error falls ~4x per dyadic level) or first-order (~2x)",
     .def = "second-order"},
    {"static", CLI_TEXT, F(stat), "K", "linear (kappa = scale^2 <x, y>) or rbf (kappa = exp(-|x-y|^2 / (2 scale^2)),\n"
     "second differences on the data grid as in pySigLib)", .def = "linear"},
    {"scale", CLI_REAL, F(scale), "S", "static-kernel scale, > 0", .def = "1", .flags = CLI_POSITIVE},
    {"max-batch", CLI_INT, F(max_batch), "B", "compute the Gram matrix in blocks of at most B rows (same entries,\n"
     "bit for bit)", .lo = 1, .hi = 1L << 40},
    CLI_OUTFILE_OPTS(sigkernel_args),
    {"basepoint", CLI_FLAG, F(basepoint), NULL, "prepend the origin to every path", .flags = 0},
    {"lead-lag", CLI_FLAG, F(lead_lag), NULL,
     "the lead-lag transform of every path (pySigLib's: channels (lag, lead), 2 len - 1\npoints, d doubles)",
     .flags = 0},
    {"time-aug", CLI_FLAG, F(time_aug), NULL,
     "append time as a last channel, from 0 to --end-time; in this order", .flags = 0},
    {"end-time", CLI_REAL, F(end_time), "T", "the time channel's end (> 0)", .def = "1", .flags = CLI_POSITIVE},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results do not depend on it",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a summary on stdout, with a Richardson-style error estimate from the\n"
     "Gram matrix at the neighbouring dyadic order (|K_L - K_{L-1}| / 3 second order,\n/ 1 first order; "
     "the result is read back into memory for it)",
     .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "sigkernel", "--x X.npy [--y Y.npy] [--dyadic-order L] --out K.npy [options]",
    "Gram matrix of signature kernels k(x, y) = <S(x), S(y)> (all levels), the solution at the end of both paths\n"
    "of the Goursat problem d^2 k / ds dt = k <x'(s), y'(t)>, k = 1 on the edges (theory.md 5).\n"
    "The result goes to disk by blocks of rows within --memory, bit for bit the in-memory entries; a progress\n"
    "bar is drawn on stderr when it is a terminal; after Ctrl-C, SIGTERM or a kill, FILE is untouched and the\n"
    "same command with --resume continues.\n",
    opts, NULL};

int cmd_sigkernel(int argc, char **argv)
{
    sigkernel_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    const long lam = a.dyadic_order, maxb = a.max_batch;
    const bool has_y_order = cli_given(&cmd, &a, "dyadic-order-y");
    dw_sig_solver sv;
    dw_sig_static sk;
    if (dw_sig_solver_parse(a.solver, &sv) || dw_sig_static_parse(a.stat, &sk))
        return cli_error("--%s", dw_error_message());
    rc = 1;
    double *X = NULL, *Y = NULL;
    dw_matrix Km;
    dw_matrix_init(&Km);
    size_t n, lx, m = 0, ly = 0, d;
    dw_sig_kernel_opts *o = NULL;
    dw_status s;
    if ((s = dw_sig_kernel_opts_init(&o)) || (s = dw_sig_kernel_opts_set_solver(o, sv)) ||
        (s = dw_sig_kernel_opts_set_static(o, sk)) || (s = dw_sig_kernel_opts_set_dyadic_order(o, (int)lam)) ||
        (has_y_order && (s = dw_sig_kernel_opts_set_dyadic_order_y(o, (int)a.dyadic_order_y))) ||
        (s = dw_sig_kernel_opts_set_scale(o, a.scale)) ||
        (a.threads && (s = dw_sig_kernel_opts_set_threads(o, (int)a.threads))) ||
        (s = dw_sig_kernel_opts_set_time_aug(o, a.time_aug)) || (s = dw_sig_kernel_opts_set_lead_lag(o, a.lead_lag)) ||
        (s = dw_sig_kernel_opts_set_basepoint(o, a.basepoint)) || (s = dw_sig_kernel_opts_set_end_time(o, a.end_time))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    if (!cli_read_pair(a.x, a.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!a.y) {
        m = n;
        ly = lx;
    }
    char what[96];
    snprintf(what, sizeof what, "the PDE grid rows at dyadic order %ld (2^%ld cells per segment and direction)", lam,
             lam);
    double work = 0.0;
    if ((s = dw_sig_kernel_bytes(o, lx, ly, d, &work)) || (s = dw_core_check_alloc(work, what))) {
        rc = cli_status(s);
        goto done;
    }
    cli_outfile f;
    if ((rc = cli_outfile_begin(&f, "sigkernel", "pairs", a.memory, a.resume, (size_t)maxb)) >= 0) goto done;
    double t0 = cli_now();
    s = dw_sig_kernel_gram_file(o, X, n, lx, Y, m, ly, d, a.out, f.opts);
    double secs = cli_now() - t0;
    if ((rc = cli_outfile_end(&f, s, a.out, true)) >= 0) goto done;
    rc = 1;
    double eabs = 0, erel = 0;
    if (a.json) { /* the estimate needs the result in memory: read back */
        if ((s = dw_io_read_npy(&Km, a.out)) ||
            (s = dw_sig_kernel_error(o, X, n, lx, Y, m, ly, d, Km.data, &eabs, &erel))) {
            rc = cli_status(s);
            goto done;
        }
    }
    if (a.json) {
        /* the orders the error estimate compared with: both one lower, or both one higher when either is 0 */
        const long ly_ord = has_y_order ? a.dyadic_order_y : lam, step = (lam < ly_ord ? lam : ly_ord) == 0 ? 1 : -1;
        char cmp[48];
        if (ly_ord == lam) snprintf(cmp, sizeof cmp, "%ld", lam + step);
        else snprintf(cmp, sizeof cmp, "[%ld, %ld]", lam + step, ly_ord + step);
        printf("{\"command\": \"sigkernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"n\": %zu, \"m\": %zu, \"len_x\": %zu, \"len_y\": %zu, \"d\": %zu, \"symmetric\": %s, "
               "\"error_estimate\": {\"max_abs\": %.6g, \"max_rel\": %.6g, \"compared_with_dyadic_order\": %s}, "
               "\"shape\": [%zu, %zu], \"threads\": %d, \"seconds\": %.6f}\n",
               n, m, lx, ly, d, a.y || ly_ord != lam ? "false" : "true", eabs, erel, cmp, n, m,
               dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    free(X);
    free(Y);
    dw_matrix_clear(&Km);
    dw_sig_kernel_opts_clear(o);
    return rc;
}
