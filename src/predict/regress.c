/* Kernel regression from the inputs (dw_predict_regress): the network's kernels computed in C and handed to the
 * dense route (Cholesky / eigendecomposition of dw_predict) or, when the kernel would not fit or cg is asked for,
 * to the matrix-free route of cg.c; `auto` chooses by memory and records why. */
#include "predict/predict.h"

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

static dw_status dense(const dw_net *net, const dw_predict_opts *o, dw_kernel_opts *ko, const double *X, size_t n,
                       const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean, double *cov,
                       dw_predict_info *info)
{
    const bool ntk = o->ntk, want_nngp_dd = !ntk || cov;
    double *Kdd = NULL, *Tdd = NULL, *Ktd = NULL, *Ttd = NULL, *Ktt = NULL;
    dw_predict *p = NULL;
    dw_status s = DW_OK;
    if (want_nngp_dd && !(Kdd = dw_core_alloc_large(n * n * sizeof(double), "train NNGP kernel"))) s = DW_ERR_NOMEM;
    if (!s && ntk && !(Tdd = dw_core_alloc_large(n * n * sizeof(double), "train NTK"))) s = DW_ERR_NOMEM;
    if (!s) s = dw_kernel_gram(net, ko, X, n, NULL, n, d, Kdd, Tdd, NULL);
    /* the test inputs ARE the train inputs (the same array): their kernels are copies, not recomputed */
    const bool same = T == X && m == n;
    if (!s && (!ntk || cov) && !(Ktd = dw_core_alloc_large(m * n * sizeof(double), "test-train NNGP kernel")))
        s = DW_ERR_NOMEM;
    if (!s && ntk && !(Ttd = dw_core_alloc_large(m * n * sizeof(double), "test-train NTK"))) s = DW_ERR_NOMEM;
    if (!s && same) {
        if (Ktd) memcpy(Ktd, Kdd, n * n * sizeof *Ktd);
        if (Ttd) memcpy(Ttd, Tdd, n * n * sizeof *Ttd);
    } else if (!s) {
        s = dw_kernel_gram(net, ko, T, m, X, n, d, Ktd, Ttd, NULL);
    }
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
    if (!s) s = dw_predict_mean_cov(p, o->t, ntk ? Ttd : Ktd, Ktd, Ktt, m, mean, cov);
    if (!s && p && info) s = dw_pred_diagnostics(p);
    if (p && info) {
        char reason[sizeof info->reason];
        memcpy(reason, info->reason, sizeof reason);
        *info = p->info;
        memcpy(info->reason, reason, sizeof reason);
    }
    dw_predict_clear(p);
    dw_core_free_large(Kdd);
    dw_core_free_large(Tdd);
    dw_core_free_large(Ktd);
    dw_core_free_large(Ttd);
    dw_core_free_large(Ktt);
    return s;
}

dw_status dw_predict_regress(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n, const double *Y,
                             size_t k, const double *T, size_t m, size_t d, double *mean, double *cov,
                             dw_predict_info *info)
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
        else s = dense(net, o, ko, X, n, Y, k, T, m, d, mean, cov, info);
    }
    dw_kernel_opts_clear(ko);
    return s;
}
