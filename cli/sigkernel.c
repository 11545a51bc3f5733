/* deepwick sigkernel: signature-kernel Gram matrices by the Goursat PDE (theory.md 5). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick sigkernel --x X.npy [--y Y.npy] [--dyadic-order L] --out K.npy [options]\n"
    "\n"
    "Gram matrix of signature kernels k(x, y) = <S(x), S(y)> (all levels), the solution at the end of both paths\n"
    "of the Goursat problem d^2 k / ds dt = k <x'(s), y'(t)>, k = 1 on the edges (theory.md 5).\n"
    "\n"
    "  --x FILE             paths: .npy n x len x d (float64/float32), or one path len x d (.npy or .csv)\n"
    "  --y FILE             second paths, m x len' x d (default: X; K(X, X) is then exactly symmetric)\n"
    "  --out FILE           output .npy (float64) n x m, written atomically\n"
    "  --dyadic-order L     cut every segment into 2^L pieces (default 0); refused if the PDE rows would not fit\n"
    "                       in memory\n"
    "  --solver S           second-order (default; error falls ~4x per dyadic level) or first-order (~2x)\n"
    "  --static K           linear (default; kappa = scale^2 <x, y>) or rbf (kappa = exp(-|x-y|^2 / (2 scale^2)),\n"
    "                       second differences on the data grid as in pySigLib)\n"
    "  --scale S            static-kernel scale, > 0 (default 1)\n"
    "  --max-batch B        compute the Gram matrix in tiles of at most B x B pairs (same entries, bit for bit)\n"
    "  --basepoint          prepend the origin to every path\n"
    "  --lead-lag           the lead-lag transform of every path (pySigLib's: channels (lag, lead), 2 len - 1\n"
    "                       points)\n"
    "  --time-aug           append time as a last channel, from 0 to --end-time T (> 0, default 1); in this order\n"
    "  --threads T          threads (default: all cores); results do not depend on it\n"
    "  --json               print a summary on stdout, with a Richardson-style error estimate from the Gram matrix\n"
    "                       at the neighbouring dyadic order (|K_L - K_{L-1}| / 3 second order, / 1 first order)\n";

int cmd_sigkernel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},         {"y", required_argument, 0, 'y'},
        {"out", required_argument, 0, 'o'},       {"dyadic-order", required_argument, 0, 'L'},
        {"solver", required_argument, 0, 's'},    {"static", required_argument, 0, 'k'},
        {"scale", required_argument, 0, 'c'},     {"max-batch", required_argument, 0, 'B'},
        {"threads", required_argument, 0, 't'},   {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},            {"time-aug", no_argument, 0, 'T'},
        {"lead-lag", no_argument, 0, 'l'},        {"end-time", required_argument, 0, 'e'},
        {"basepoint", no_argument, 0, 'b'},       {0, 0, 0, 0}};
    const char *solver = "second-order", *stat = "linear";
    long lam = 0, maxb = 0;
    double scale = 1.0, end_time = 1.0;
    int c, time_aug = 0, lead_lag = 0, basepoint = 0;
    cli_common co;
    cli_common_init(&co, "sigkernel", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'L':
            if (!cli_parse_int("--dyadic-order", optarg, 0, 40, &lam)) return 1;
            break;
        case 's': solver = optarg; break;
        case 'k': stat = optarg; break;
        case 'c':
            if (!cli_parse_double("--scale", optarg, &scale)) return 1;
            if (!(scale > 0)) return cli_error("--scale: must be positive (got %g)", scale);
            break;
        case 'B':
            if (!cli_parse_int("--max-batch", optarg, 1, 1L << 40, &maxb)) return 1;
            break;
        case 'T': time_aug = 1; break;
        case 'l': lead_lag = 1; break;
        case 'b': basepoint = 1; break;
        case 'e':
            if (!cli_parse_double("--end-time", optarg, &end_time)) return 1;
            break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (!co.out) return cli_usage_error("sigkernel", "--out is required");
    dw_sig_solver sv;
    dw_sig_static sk;
    if (dw_sig_solver_parse(solver, &sv) || dw_sig_static_parse(stat, &sk))
        return cli_error("--%s", dw_error_message());
    if (!cli_check_out_npy(co.out)) return 1;
    int rc = 1;
    double *X = NULL, *Y = NULL, *K = NULL;
    size_t n, lx, m = 0, ly = 0, d;
    dw_sig_kernel_opts *o = NULL;
    dw_status s;
    if ((s = dw_sig_kernel_opts_init(&o)) || (s = dw_sig_kernel_opts_set_solver(o, sv)) ||
        (s = dw_sig_kernel_opts_set_static(o, sk)) || (s = dw_sig_kernel_opts_set_dyadic_order(o, (int)lam)) ||
        (s = dw_sig_kernel_opts_set_scale(o, scale)) ||
        (co.threads && (s = dw_sig_kernel_opts_set_threads(o, (int)co.threads))) ||
        (s = dw_sig_kernel_opts_set_time_aug(o, time_aug)) || (s = dw_sig_kernel_opts_set_lead_lag(o, lead_lag)) ||
        (s = dw_sig_kernel_opts_set_basepoint(o, basepoint)) || (s = dw_sig_kernel_opts_set_end_time(o, end_time))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    if (!cli_read_pair(co.x, co.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    if (!co.y) {
        m = n;
        ly = lx;
    }
    char what[96];
    snprintf(what, sizeof what, "the PDE grid rows at dyadic order %ld (2^%ld cells per segment and direction)", lam,
             lam);
    double work = 0.0;
    if ((s = dw_sig_kernel_bytes(o, lx, ly, d, &work)) || (s = dw_core_check_alloc(work, what)) ||
        (s = dw_core_check_alloc((double)n * (double)m * 8.0, "the signature-kernel Gram matrix"))) {
        rc = cli_status(s);
        goto done;
    }
    K = dw_core_alloc_large(n * m * sizeof(double), "the signature-kernel Gram matrix");
    if (!K) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    if (!maxb) {
        s = dw_sig_kernel_gram(o, X, n, lx, Y, m, ly, d, K);
    } else {
        s = DW_OK;
        const size_t B = (size_t)maxb;
        for (size_t i0 = 0; i0 < n && !s; i0 += B)
            for (size_t j0 = 0; j0 < m && !s; j0 += B) {
                const size_t i1 = i0 + B < n ? i0 + B : n, j1 = j0 + B < m ? j0 + B : m;
                s = dw_sig_kernel_tile(o, X, n, lx, Y, m, ly, d, i0, i1, j0, j1, m, K + i0 * m + j0);
            }
    }
    double secs = cli_now() - t0;
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    double eabs = 0, erel = 0;
    if (co.json && (s = dw_sig_kernel_error(o, X, n, lx, Y, m, ly, d, K, &eabs, &erel))) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[2] = {n, m};
    if ((s = dw_io_write_npy(co.out, K, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (co.json) {
        printf("{\"command\": \"sigkernel\", \"version\": \"%s\", \"n\": %zu, \"m\": %zu, \"len_x\": %zu, "
               "\"len_y\": %zu, \"d\": %zu, \"dyadic_order\": %ld, \"solver\": \"%s\", \"static\": \"%s\", "
               "\"scale\": %.17g, \"symmetric\": %s, \"error_estimate\": {\"max_abs\": %.6g, \"max_rel\": %.6g, "
               "\"compared_with_dyadic_order\": %ld}, \"shape\": [%zu, %zu], \"out\": ",
               dw_version(), n, m, lx, ly, d, lam, solver, stat, scale, co.y ? "false" : "true", eabs, erel,
               lam == 0 ? 1L : lam - 1, n, m);
        cli_json_string(stdout, co.out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)co.threads), secs);
    }
    rc = 0;
done:
    free(X);
    free(Y);
    dw_core_free_large(K);
    dw_sig_kernel_opts_clear(o);
    return rc;
}
