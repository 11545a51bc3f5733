/* deepwick sigscore: signature-kernel scores of samples of paths (theory.md 5): MMD^2, the permutation two-sample
 * test, the kernel scoring rule. The Gram matrices by the Goursat PDE (as deepwick sigkernel), the scores by
 * dw_sig_mmd / dw_sig_mmd_test / dw_sig_score; this file only reads, checks sizes and prints. */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sigscore_args {
    cli_args base;
    const char *x, *y, *solver, *stat;
    long dyadic_order, permutations, seed, threads;
    double scale, end_time;
    bool biased, score, time_aug, lead_lag, basepoint;
} sigscore_args;

#define F(field) offsetof(sigscore_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "first sample: .npy n x len x d (float64/float32)", .flags = CLI_REQUIRED},
    {"y", CLI_TEXT, F(y), "FILE", "second sample m x len' x d; with --score one observed path len' x d",
     .flags = CLI_REQUIRED},
    {"biased", CLI_FLAG, F(biased), NULL, "the biased MMD^2 (V-statistic, diagonals kept) instead of the unbiased one",
     .flags = 0},
    {"permutations", CLI_INT, F(permutations), "B",
     "also test P_X = P_Y: the p-value of the unbiased MMD^2 over B random relabellings", .lo = 1, .hi = 1L << 40},
    {"seed", CLI_INT, F(seed), "S", "key of the relabellings' random stream", .def = "0", .lo = 0,
     .hi = 0x7fffffffffffffffL},
    {"score", CLI_FLAG, F(score), NULL,
     "the scoring rule S(P, y) = E k(X, X') - 2 E k(X, y) of the sample X at each path y of --y", .flags = 0},
    {"dyadic-order", CLI_INT, F(dyadic_order), "L", "cut every segment into 2^L pieces", .def = "0", .lo = 0,
     .hi = 40},
    {"solver", CLI_TEXT, F(solver), "S", "second-order or first-order", .def = "second-order"},
    {"static", CLI_TEXT, F(stat), "K", "linear or rbf static kernel (as deepwick sigkernel)", .def = "linear"},
    {"scale", CLI_REAL, F(scale), "S", "static-kernel scale, > 0", .def = "1", .flags = CLI_POSITIVE},
    {"basepoint", CLI_FLAG, F(basepoint), NULL, "prepend the origin to every path", .flags = 0},
    {"lead-lag", CLI_FLAG, F(lead_lag), NULL, "the lead-lag transform of every path", .flags = 0},
    {"time-aug", CLI_FLAG, F(time_aug), NULL, "append time as a last channel, from 0 to --end-time", .flags = 0},
    {"end-time", CLI_REAL, F(end_time), "T", "the time channel's end (> 0)", .def = "1", .flags = CLI_POSITIVE},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results do not depend on it",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "sigscore", "--x X.npy --y Y.npy [--biased] [--permutations B [--seed S]] [--score] [options]",
    "Signature-kernel scores on Gram matrices computed once (theory.md 5): the squared maximum mean discrepancy\n"
    "MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y) between the samples X and Y (unbiased by default), with\n"
    "--permutations its permutation p-value, or with --score the scoring rule of X at each path of Y.\n"
    "Prints one JSON line.\n",
    opts, NULL};

static double *gram(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y, size_t m,
                    size_t ly, size_t d, dw_status *s)
{
    double *K = NULL;
    if ((*s = dw_core_check_alloc((double)n * (double)m * 8.0, "a signature-kernel Gram matrix"))) return NULL;
    K = malloc(n * m * sizeof(double));
    if (!K) {
        *s = DW_ERR_NOMEM;
        return NULL;
    }
    if ((*s = dw_sig_kernel_gram(o, X, n, lx, Y, m, ly, d, K))) {
        free(K);
        return NULL;
    }
    return K;
}

int cmd_sigscore(int argc, char **argv)
{
    sigscore_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    if (a.score && (a.biased || a.permutations))
        return cli_error("--score: cannot be combined with --biased or --permutations");
    if (a.biased && a.permutations) return cli_error("--permutations: the test uses the unbiased MMD^2, not --biased");
    dw_sig_solver sv;
    dw_sig_static sk;
    if (dw_sig_solver_parse(a.solver, &sv) || dw_sig_static_parse(a.stat, &sk))
        return cli_error("--%s", dw_error_message());
    rc = 1;
    double *X = NULL, *Y = NULL, *Kxx = NULL, *Kyy = NULL, *Kxy = NULL;
    size_t n, lx, m = 0, ly = 0, d;
    dw_sig_kernel_opts *o = NULL;
    dw_status s;
    if ((s = dw_sig_kernel_opts_init(&o)) || (s = dw_sig_kernel_opts_set_solver(o, sv)) ||
        (s = dw_sig_kernel_opts_set_static(o, sk)) ||
        (s = dw_sig_kernel_opts_set_dyadic_order(o, (int)a.dyadic_order)) ||
        (s = dw_sig_kernel_opts_set_scale(o, a.scale)) ||
        (a.threads && (s = dw_sig_kernel_opts_set_threads(o, (int)a.threads))) ||
        (s = dw_sig_kernel_opts_set_time_aug(o, a.time_aug)) || (s = dw_sig_kernel_opts_set_lead_lag(o, a.lead_lag)) ||
        (s = dw_sig_kernel_opts_set_basepoint(o, a.basepoint)) ||
        (s = dw_sig_kernel_opts_set_end_time(o, a.end_time))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    if (!cli_read_pair(a.x, a.y, &X, &n, &lx, &Y, &m, &ly, &d)) goto done;
    double work = 0.0;
    if ((s = dw_sig_kernel_bytes(o, lx > ly ? lx : ly, lx > ly ? lx : ly, d, &work)) ||
        (s = dw_core_check_alloc(work, "the PDE grid rows")) || !(Kxx = gram(o, X, n, lx, NULL, n, lx, d, &s)) ||
        (!a.score && !(Kyy = gram(o, Y, m, ly, NULL, m, ly, d, &s))) ||
        !(Kxy = gram(o, X, n, lx, Y, m, ly, d, &s))) {
        rc = cli_status(s);
        goto done;
    }
    /* every number first, then the one line: nothing is printed after an error */
    double mmd2 = 0.0, p = 0.0, *sc = NULL;
    if (a.score) {
        /* one score per path of Y: column j of Kxy (Kyy, unused, holds the column) */
        if (!(sc = malloc(m * sizeof(double))) || !(Kyy = malloc(n * sizeof(double)))) {
            free(sc);
            rc = cli_status(DW_ERR_NOMEM);
            goto done;
        }
        s = DW_OK;
        for (size_t j = 0; j < m && !s; j++) {
            for (size_t i = 0; i < n; i++) Kyy[i] = Kxy[i * m + j];
            s = dw_sig_score(Kxx, n, Kyy, &sc[j]);
        }
    } else if (a.permutations) {
        s = dw_sig_mmd_test(Kxx, n, Kyy, m, Kxy, (size_t)a.permutations, (unsigned long long)a.seed, &mmd2, &p);
    } else {
        s = dw_sig_mmd(Kxx, n, Kyy, m, Kxy, !a.biased, &mmd2);
    }
    if (s) {
        free(sc);
        rc = cli_status(s);
        goto done;
    }
    printf("{\"command\": \"sigscore\", \"version\": \"%s\", ", dw_version());
    cli_json_options(stdout, &cmd, &a);
    printf(", \"n\": %zu, \"m\": %zu, \"len_x\": %zu, \"len_y\": %zu, \"d\": %zu", n, m, lx, ly, d);
    if (a.score) {
        printf(", \"scores\": [");
        for (size_t j = 0; j < m; j++) printf("%s%.17g", j ? ", " : "", sc[j]);
        printf("]");
        free(sc);
    } else {
        printf(", \"unbiased\": %s, \"mmd2\": %.17g", a.biased && !a.permutations ? "false" : "true", mmd2);
        if (a.permutations) printf(", \"p_value\": %.17g", p);
    }
    printf("}\n");
    rc = 0;
done:
    free(X);
    free(Y);
    free(Kxx);
    free(Kyy);
    free(Kxy);
    dw_sig_kernel_opts_clear(o);
    return rc;
}
