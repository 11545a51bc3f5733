/* Kernel regression from the inputs (dw_predict_regress): the network's kernels computed in C and handed to the
 * dense route (Cholesky / eigendecomposition of dw_predict) or, when the kernel would not fit or cg is asked for,
 * to the matrix-free route of cg.c; `auto` chooses by memory and records why. */
#include "predict/predict.h"

#include "kernels/kernel.h"

#include "net/net.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes the dense route holds at its peak: the train kernel(s) with the factor (and eigenvectors plus dsyevd's
 * 2 n^2 work space for a finite t), the test-train kernel(s) with their transposed copies, the test-test kernel. */
static double dense_bytes(size_t n, size_t m, bool ntk, bool cov, bool finite_t)
{
    const double N = (double)n, M = (double)m;
    double nn = 2.0 + (ntk && cov ? 1.0 : 0.0) + (finite_t ? 3.0 : 0.0);
    double nm = cov ? (ntk ? 6.0 : 3.0) : 1.0;
    double mm = cov ? (ntk ? 2.0 : 1.0) : 0.0;
    return 8.0 * (nn * N * N + nm * N * M + mm * M * M);
}

/* The certified bound's kernel side: the entries' relative bound (the Grams' max_bound; closed forms, whose
 * bound is 0, get the inner product's gamma_{d+2} and 8 eps of rounding per layer of the net, docs/predict.md) and the scales sqrt(K(x, x)) of the
 * train points (from the train Gram's diagonal) and of the test points (1 x 1 tiles), raised by the diagonal's own
 * error. */
typedef struct kside {
    dw_kernel_info *train, *test;
    double *s_train, *s_test; /* n + m, one allocation */
} kside;

static dw_status kside_scales(kside *ks, const dw_net *net, const dw_kernel_opts *ko, bool ntk, const double *diag_src,
                              size_t n, const double *T, size_t m, size_t d, dw_pred_kerr *e, dw_predict_info *info)
{
    double kb = dw_kernel_info_max_bound(ks->train);
    if (ks->test) kb = fmax(kb, dw_kernel_info_max_bound(ks->test));
    const bool est = dw_kernel_info_estimate(ks->train) || (ks->test && dw_kernel_info_estimate(ks->test));
    if (!(kb > 0)) { /* closed form: the layer-1 inner product's gamma_{d+2}, then 8 eps per layer */
        const double u = DBL_EPSILON / 2, g = ((double)d + 2.0) * u / (1.0 - ((double)d + 2.0) * u);
        kb = g + 8.0 * DBL_EPSILON * (double)net->n;
    }
    if (!(ks->s_train = dw_alloc(n + m, sizeof *ks->s_train, "certified bound: kernel scales"))) return DW_ERR_NOMEM;
    ks->s_test = ks->s_train + n;
    const double raise = (1.0 + 2.0 * kb) * (1.0 + 4.0 * DBL_EPSILON);
    for (size_t i = 0; i < n; i++) ks->s_train[i] = sqrt(fmax(diag_src[i * n + i], 0.0) * raise);
    dw_kernel_plan *plan = NULL;
    dw_status s = dw_kernel_plan_init(&plan, net, ko, T, m, NULL, m, d);
    for (size_t i = 0; !s && i < m; i++) {
        double v = 0;
        s = dw_kern_tile_direct(plan, i, i + 1, i, i + 1, ntk ? NULL : &v, ntk ? &v : NULL, 1, 1);
        ks->s_test[i] = sqrt(fmax(v, 0.0) * raise);
    }
    dw_kernel_plan_clear(plan);
    *e = (dw_pred_kerr){kb, ks->s_train, ks->s_test, NULL, NULL, true};
    if (info) {
        info->kernel_bound = kb;
        info->bound_estimate = est;
    }
    return s;
}

/* The per-entry form: the kernels' own bounds entry by entry (docs/predict.md); kernel_bound reports the largest
 * train entry's bound relative to sqrt(K(x, x) K(y, y)). */
static dw_status entry_bounds(const double *Kdd, const double *Edd, const double *Etd, size_t n, const kside *ks,
                              dw_pred_kerr *e, dw_predict_info *info)
{
    double kb = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            const double sc = sqrt(fabs(Kdd[i * n + i])) * sqrt(fabs(Kdd[j * n + j]));
            if (Edd[i * n + j] > 0) kb = fmax(kb, sc > 0 ? Edd[i * n + j] / sc : INFINITY);
        }
    *e = (dw_pred_kerr){0.0, NULL, NULL, Edd, Etd, true};
    if (info) {
        info->kernel_bound = kb;
        info->bound_estimate = dw_kernel_info_estimate(ks->train) || (ks->test && dw_kernel_info_estimate(ks->test));
    }
    return DW_OK;
}

static dw_status dense(const dw_net *net, const dw_predict_opts *o, dw_kernel_opts *ko, const double *X, size_t n,
                       const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean, double *cov,
                       double *bound, dw_predict_info *info)
{
    kside ks = {NULL, NULL, NULL, NULL};
    dw_pred_kerr kerr = {0, NULL, NULL, NULL, NULL, true};
    const bool ntk = o->ntk, want_nngp_dd = !ntk || cov;
    double *Kdd = NULL, *Tdd = NULL, *Ktd = NULL, *Ttd = NULL, *Ktt = NULL;
    dw_predict *p = NULL;
    dw_status s = DW_OK;
    if (want_nngp_dd && !(Kdd = dw_core_alloc_large(n * n * sizeof(double), "train NNGP kernel"))) s = DW_ERR_NOMEM;
    if (!s && ntk && !(Tdd = dw_core_alloc_large(n * n * sizeof(double), "train NTK"))) s = DW_ERR_NOMEM;
    if (!s && bound) s = dw_kernel_info_init(&ks.train);
    /* per-entry kernel bounds where the kernel has them (dw_kernel_gram_bound), else its scalar bound */
    double *Edd = NULL, *Etd = NULL;
    const bool entry = bound && dw_kernel_gram_bound_available(net);
    if (!s && entry && (dw_core_check_alloc((double)n * (double)(n + m) * sizeof(double), "kernel bounds") ||
                        !(Edd = dw_core_alloc_large(n * (n + m) * sizeof(double), "kernel bounds"))))
        s = DW_ERR_NOMEM;
    if (Edd) Etd = Edd + n * n;
    if (!s && entry) s = dw_kernel_gram_bound(net, ko, X, n, NULL, n, d, Kdd, Tdd, ntk ? NULL : Edd, ntk ? Edd : NULL,
                                              ks.train);
    else if (!s) s = dw_kernel_gram(net, ko, X, n, NULL, n, d, Kdd, Tdd, ks.train);
    /* the test inputs ARE the train inputs (the same array): their kernels are copies, not recomputed */
    const bool same = T == X && m == n;
    if (!s && (!ntk || cov) && !(Ktd = dw_core_alloc_large(m * n * sizeof(double), "test-train NNGP kernel")))
        s = DW_ERR_NOMEM;
    if (!s && ntk && !(Ttd = dw_core_alloc_large(m * n * sizeof(double), "test-train NTK"))) s = DW_ERR_NOMEM;
    if (!s && same) {
        if (Ktd) memcpy(Ktd, Kdd, n * n * sizeof *Ktd);
        if (Ttd) memcpy(Ttd, Tdd, n * n * sizeof *Ttd);
        if (Etd) memcpy(Etd, Edd, n * n * sizeof *Etd);
    } else if (!s) {
        if (bound) s = dw_kernel_info_init(&ks.test);
        if (!s && entry)
            s = dw_kernel_gram_bound(net, ko, T, m, X, n, d, Ktd, Ttd, ntk ? NULL : Etd, ntk ? Etd : NULL, ks.test);
        else if (!s) s = dw_kernel_gram(net, ko, T, m, X, n, d, Ktd, Ttd, ks.test);
    }
    if (!s && entry) s = entry_bounds(ntk ? Tdd : Kdd, Edd, Etd, n, &ks, &kerr, info);
    else if (!s && bound) s = kside_scales(&ks, net, ko, ntk, ntk ? Tdd : Kdd, n, T, m, d, &kerr, info);
    if (!s && cov && !(Ktt = dw_core_alloc_large(m * m * sizeof(double), "test NNGP kernel"))) s = DW_ERR_NOMEM;
    if (!s && cov && same) memcpy(Ktt, Kdd, n * n * sizeof *Ktt);
    else if (!s && cov) s = dw_kernel_gram(net, ko, T, m, NULL, m, d, Ktt, NULL, NULL);
    if (!s) {
        /* ownership of the train kernels passes to p (freed by it, on failure too) */
        double *kernel = ntk ? Tdd : Kdd, *second = ntk && cov ? Kdd : NULL;
        if (ntk && !cov) dw_core_free_large(Kdd);
        Kdd = Tdd = NULL;
        s = dw_pred_init_owned(&p, o, kernel, second, n, Y, k);
    }
    if (!s && bound) s = dw_pred_mean_bound(p, ntk ? Ttd : Ktd, m, &kerr, mean, bound);
    if (!s && (cov || !bound)) s = dw_predict_mean_cov(p, o->t, ntk ? Ttd : Ktd, Ktd, Ktt, m, bound ? NULL : mean, cov);
    if (!s && p && info) s = dw_pred_diagnostics(p);
    if (p && info) {
        char reason[sizeof info->reason];
        memcpy(reason, info->reason, sizeof reason);
        const double kb = info->kernel_bound;
        const bool est = info->bound_estimate;
        *info = p->info;
        memcpy(info->reason, reason, sizeof reason);
        info->kernel_bound = kb;
        info->bound_estimate = est;
    }
    dw_kernel_info_clear(ks.train);
    dw_kernel_info_clear(ks.test);
    free(ks.s_train);
    dw_predict_clear(p);
    dw_core_free_large(Kdd);
    dw_core_free_large(Tdd);
    dw_core_free_large(Ktd);
    dw_core_free_large(Ttd);
    dw_core_free_large(Ktt);
    dw_core_free_large(Edd);
    return s;
}

dw_status dw_predict_regress(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n, const double *Y,
                             size_t k, const double *T, size_t m, size_t d, double *mean, double *cov,
                             dw_predict_info *info)
{
    return dw_predict_regress_bound(net, o, X, n, Y, k, T, m, d, mean, cov, NULL, info);
}

dw_status dw_predict_regress_bound(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                                   const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean,
                                   double *cov, double *bound, dw_predict_info *info)
{
    dw_predict_opts def;
    if (!o) {
        memset(&def, 0, sizeof def);
        def.learning_rate = 1.0;
        def.t = INFINITY;
        def.tol = 1e-10;
        def.max_iter = 10000;
        o = &def;
    }
    if (!X || !Y || !T || !mean)
        return dw_fail(DW_ERR_INVALID, "kernel_regression: NULL %s", !X ? "X_train" : !Y ? "y_train" : !T ? "X_test"
                                                                                                        : "output");
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X_train: no training points (0 rows)");
    if (m == 0) return dw_fail(DW_ERR_INVALID, "X_test: no test points (0 rows)");
    if (k == 0) return dw_fail(DW_ERR_INVALID, "y_train: no target columns");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X_train: no features (0 columns)");
    dw_status s;
    if ((s = dw_pred_check_finite(X, n, d, "X_train"))) return s;
    if ((s = dw_pred_check_finite(T, m, d, "X_test"))) return s;
    if ((s = dw_pred_check_finite(Y, n, k, "y_train"))) return s;
    if (info) dw_pred_info_reset(info);
    const bool finite_t = !isinf(o->t);
    const double need = dense_bytes(n, m, o->ntk, cov != NULL, finite_t), avail = dw_core_mem_available();
    dw_pred_solver solver = o->solver;
    char reason[256];
    if (solver == DW_PRED_AUTO) {
        const bool fits = need <= 0.8 * avail;
        solver = fits || cov ? DW_PRED_CHOLESKY : DW_PRED_CG;
        snprintf(reason, sizeof reason, "auto: %s (the dense route needs %.3g GB of %.3g GB available%s)",
                 solver == DW_PRED_CHOLESKY ? "cholesky" : finite_t ? "cg (lanczos at a finite t)" : "cg",
                 need / 1e9, avail / 1e9, !fits && cov ? "; the covariance needs it" : "");
    } else {
        snprintf(reason, sizeof reason, "requested");
    }
    if (solver == DW_PRED_CG && cov)
        return dw_fail(DW_ERR_INVALID, "return_cov: the covariance needs solver 'cholesky' (cg gives the mean)");
    if (bound && (solver == DW_PRED_CG || finite_t)) { /* no certificate on these routes (docs/predict.md) */
        for (size_t i = 0; i < m * k; i++) bound[i] = INFINITY;
        bound = NULL;
    }
    if (info) info->solver = solver == DW_PRED_CG ? (finite_t ? "lanczos" : "cg") : "cholesky";
    if (solver == DW_PRED_CHOLESKY && (s = dw_core_check_alloc(need, "kernel_regression: the dense kernel route")))
        return s;
    dw_kernel_opts *ko = NULL;
    if ((s = dw_kernel_opts_init(&ko))) return s;
    s = dw_kernel_opts_set_threads(ko, o->threads);
    if (info) snprintf(info->reason, sizeof info->reason, "%s", reason);
    if (!s) {
        if (solver == DW_PRED_CG && finite_t) s = dw_pred_regress_lanczos(net, o, X, n, Y, k, T, m, d, mean, info);
        else if (solver == DW_PRED_CG) s = dw_pred_regress_cg(net, o, X, n, Y, k, T, m, d, mean, info);
        else s = dense(net, o, ko, X, n, Y, k, T, m, d, mean, cov, bound, info);
    }
    dw_kernel_opts_clear(ko);
    return s;
}
