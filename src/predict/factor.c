/* The factorisations of A = K_train_train + lambda I (theory.md 6): Cholesky (dpotrf, condition by dpocon, lambda_min
 * estimated by inverse iteration) or the eigendecomposition (dsyevd), each made once and kept; and the diagnosis of
 * a matrix that is not positive definite: lambda_min and the diag_reg that would make it definite.
 * LAPACK is called in column-major order on the row-major arrays: A is symmetric, so no transposed copy is made. */
#include "predict/predict.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int dw_pred_threads_begin(int threads)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    if (threads > 0) omp_set_num_threads(threads);
    return saved;
#else
    (void)threads;
    return 0;
#endif
}

void dw_pred_threads_end(int saved)
{
#ifdef _OPENMP
    omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

void dw_pred_free(void *p) { dw_core_free_large(p); }

static double *alloc_nn(size_t n, size_t c, const char *what)
{
    if (c && n > SIZE_MAX / sizeof(double) / c) {
        dw_fail(DW_ERR_NOMEM, "%s: %zu x %zu doubles do not fit in memory", what, n, c);
        return NULL;
    }
    if (dw_core_check_alloc((double)n * (double)c * sizeof(double), what)) return NULL;
    return dw_core_alloc_large(n * c * sizeof(double), what);
}

/* The error for an A that is not positive definite: its eigenvalues (dsyevd, values only) give lambda_min and the
 * smallest lambda' = lambda - lambda_min + 4 n eps max|ev| for which K + lambda' I is definite with the margin the
 * Cholesky factorisation needs; `where` says what failed. */
static dw_status not_definite(dw_predict *p, const char *where)
{
    const size_t n = p->n;
    double *W = alloc_nn(n, n, "k_train_train: eigenvalues of an indefinite matrix");
    double *ev = dw_alloc(n, sizeof *ev, "k_train_train: eigenvalues");
    if (!W || !ev) {
        dw_pred_free(W);
        free(ev);
        return DW_ERR_NOMEM;
    }
    memcpy(W, p->A, n * n * sizeof *W);
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)n, W, (lapack_int)n, ev);
    dw_pred_free(W);
    if (info) {
        free(ev);
        return dw_fail(DW_ERR_INVALID, "k_train_train + lambda I is not positive definite (%s; its eigenvalues "
                                       "could not be computed: dsyevd info %d)", where, (int)info);
    }
    const double lmin = ev[0], scale = fmax(fabs(ev[0]), fabs(ev[n - 1]));
    free(ev);
    /* rounded up by 1e-6 relative, so that the value printed to 10 digits is still enough */
    const double need = (p->lambda - lmin) * (1.0 + 1e-6) + 4.0 * (double)n * DBL_EPSILON * scale;
    if (p->o.absolute)
        return dw_fail(DW_ERR_INVALID,
                       "k_train_train + lambda I is not positive definite (%s): lambda_min = %.6g at lambda = %.6g; "
                       "diag_reg >= %.10g (absolute) would make it definite", where, lmin, p->lambda, need);
    if (!(p->trace_k > 0))
        return dw_fail(DW_ERR_INVALID,
                       "k_train_train + lambda I is not positive definite (%s): lambda_min = %.6g at lambda = %.6g, "
                       "and tr(k_train_train) = %.6g <= 0, so no relative diag_reg helps; use "
                       "diag_reg_absolute_scale with diag_reg >= %.10g", where, lmin, p->lambda, p->trace_k, need);
    return dw_fail(DW_ERR_INVALID,
                   "k_train_train + lambda I is not positive definite (%s): lambda_min = %.6g at lambda = %.6g; "
                   "diag_reg >= %.10g would make it definite", where, lmin, p->lambda, need / (p->trace_k / (double)n));
}

/* solve R^T R X = B in place, B n x c row-major, R the row-major upper factor in F */
static void chol_solve(const dw_predict *p, double *B, size_t c)
{
    const int n = (int)p->n;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n, (int)c, 1.0, p->F, n, B, (int)c);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, n, (int)c, 1.0, p->F, n, B, (int)c);
}

/* lambda_min(A) estimated by 30 steps of inverse iteration from a fixed start, then the Rayleigh quotient v^T A v of
 * the last unit vector (an upper bound on lambda_min up to rounding). With the double factor every step is a
 * Cholesky solve; with only the float32 factor (mixed.c) the first 28 steps use it alone and the last two are
 * refined solves, which remove the float factor's bias from the direction. */
static dw_status estimate_lambda_min(dw_predict *p, double *out)
{
    const size_t n = p->n;
    double *v = dw_alloc(2 * n, sizeof *v, "lambda_min estimate");
    if (!v) return DW_ERR_NOMEM;
    double *w = v + n;
    for (size_t i = 0; i < n; i++) v[i] = 1.0 + 0.5 * sin(1.0 + (double)i); /* deterministic, no sign pattern */
    double nv = cblas_dnrm2((int)n, v, 1);
    cblas_dscal((int)n, 1.0 / nv, v, 1);
    dw_status s = DW_OK;
    for (int it = 0; it < 30 && !s; it++) {
        bool done = true;
        if (p->F) chol_solve(p, v, 1);
        else if (it < 28) s = dw_pred_mixed_inverse_step(p, v);
        else s = dw_pred_mixed_solve(p, v, 1, &done);
        if (!s && !done) { /* refinement no longer converges: the double factor */
            if (!(s = dw_pred_cholesky(p))) chol_solve(p, v, 1);
        }
        nv = cblas_dnrm2((int)n, v, 1);
        if (!(nv > 0) || !isfinite(nv)) break;
        cblas_dscal((int)n, 1.0 / nv, v, 1);
    }
    if (!s) {
        cblas_dsymv(CblasRowMajor, CblasUpper, (int)n, 1.0, p->A, (int)n, v, 1, 0.0, w, 1);
        *out = cblas_ddot((int)n, v, 1, w, 1);
    }
    free(v);
    return s;
}

dw_status dw_pred_cholesky(dw_predict *p)
{
    if (p->F) return DW_OK;
    const size_t n = p->n;
    double *F = alloc_nn(n, n, "k_train_train: Cholesky factor");
    if (!F) return DW_ERR_NOMEM;
    memcpy(F, p->A, n * n * sizeof *F);
    const int saved = dw_pred_threads_begin(p->o.threads);
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)n, F, (lapack_int)n); /* A is finite */
    dw_pred_threads_end(saved);
    dw_status s = DW_OK;
    if (info > 0) {
        char where[96];
        snprintf(where, sizeof where, "Cholesky pivot %d of %zu failed", (int)info, n);
        s = not_definite(p, where);
    } else if (info < 0) {
        s = dw_fail(DW_ERR_INTERNAL, "k_train_train: dpotrf failed (info %d)", (int)info);
    }
    if (s) {
        dw_pred_free(F);
        return s;
    }
    p->F = F;
    p->info.solver = p->Q ? "cholesky+eigh" : "cholesky";
    return DW_OK;
}

dw_status dw_pred_diagnostics(dw_predict *p)
{
    if ((!p->F && !p->Fs) || p->diagnosed) return DW_OK;
    const size_t n = p->n;
    const int saved = dw_pred_threads_begin(p->o.threads);
    double rcond = NAN;
    bool done = false;
    dw_status s = p->F ? DW_OK : dw_pred_mixed_rcond(p, &rcond, &done); /* no double factor: refined solves */
    if (!s && !done && !(s = dw_pred_cholesky(p))) {
        const double anorm = LAPACKE_dlansy(LAPACK_COL_MAJOR, '1', 'L', (lapack_int)n, p->A, (lapack_int)n);
        lapack_int info = LAPACKE_dpocon(LAPACK_COL_MAJOR, 'L', (lapack_int)n, p->F, (lapack_int)n, anorm, &rcond);
        if (info) s = dw_fail(DW_ERR_INTERNAL, "k_train_train: dpocon failed (info %d)", (int)info);
    }
    double lm = NAN;
    if (!s && !p->info.lambda_min_exact) s = estimate_lambda_min(p, &lm);
    dw_pred_threads_end(saved);
    if (s) return s;
    p->info.rcond = rcond;
    if (!p->info.lambda_min_exact) p->info.lambda_min = lm;
    p->diagnosed = true;
    return DW_OK;
}

dw_status dw_pred_eigh(dw_predict *p)
{
    if (p->Q) return DW_OK;
    const size_t n = p->n;
    double *Q = alloc_nn(n, n, "k_train_train: eigenvectors");
    double *ev = Q ? dw_alloc(n, sizeof *ev, "k_train_train: eigenvalues") : NULL;
    if (!ev) {
        dw_pred_free(Q);
        return DW_ERR_NOMEM;
    }
    memcpy(Q, p->A, n * n * sizeof *Q);
    const int saved = dw_pred_threads_begin(p->o.threads);
    /* column-major 'V': eigenvector j in column j, i.e. in row j of the row-major array */
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, Q, (lapack_int)n, ev);
    dw_pred_threads_end(saved);
    dw_status s = DW_OK;
    if (info) {
        s = info < 0 ? dw_fail(DW_ERR_INTERNAL, "k_train_train: dsyevd failed (info %d)", (int)info)
                     : dw_fail(DW_ERR_RANGE, "k_train_train: the eigendecomposition did not converge (dsyevd info %d)",
                               (int)info);
    } else {
        const double tol = 4.0 * (double)n * DBL_EPSILON * fmax(fabs(ev[0]), fabs(ev[n - 1]));
        if (ev[0] < -tol) {
            char where[96];
            snprintf(where, sizeof where, "an eigenvalue %.3g below -%.3g, its rounding", ev[0], tol);
            s = not_definite(p, where);
        }
    }
    if (s) {
        dw_pred_free(Q);
        free(ev);
        return s;
    }
    p->Q = Q;
    p->ev = ev;
    p->info.lambda_min = ev[0];
    p->info.lambda_min_exact = true;
    p->info.solver = p->F || p->Fs ? "cholesky+eigh" : "eigh";
    return DW_OK;
}

static double fn_of(dw_pred_fn fn, double ev, double tau)
{
    const double e = ev > 0 ? ev : 0.0;
    switch (fn) {
    case DW_F_NEG_INV_EXPM1: return e > 0 ? -expm1(-e * tau) / e : tau;
    case DW_F_NEG_EXPM1: return -expm1(-e * tau);
    case DW_F_EXP: return exp(-e * tau);
    case DW_F_EV_EXP2: return e * exp(-2.0 * e * tau);
    case DW_F_INV: return 1.0 / ev;
    }
    return NAN;
}

dw_status dw_pred_solve(dw_predict *p, double *B, size_t c)
{
    dw_status s;
    if (dw_pred_mixed_wanted(p, c)) {
        bool done = false;
        if ((s = dw_pred_mixed_solve(p, B, c, &done)) || done) return s;
    }
    if ((s = dw_pred_cholesky(p))) return s;
    const int saved = dw_pred_threads_begin(p->o.threads);
    chol_solve(p, B, c);
    dw_pred_threads_end(saved);
    return DW_OK;
}

dw_status dw_pred_apply(dw_predict *p, dw_pred_fn fn, double tau, const double *B, size_t c, double *out)
{
    const size_t n = p->n;
    dw_status s;
    if (fn == DW_F_INV) {
        if (out != B) memcpy(out, B, n * c * sizeof *out);
        return dw_pred_solve(p, out, c);
    }
    if ((s = dw_pred_eigh(p))) return s;
    double *tmp = alloc_nn(n, c, "f(k_train_train) applied to a matrix");
    if (!tmp) return DW_ERR_NOMEM;
    const int saved = dw_pred_threads_begin(p->o.threads);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)c, (int)n, 1.0, p->Q, (int)n, B, (int)c, 0.0,
                tmp, (int)c);
    for (size_t i = 0; i < n; i++) {
        const double g = fn_of(fn, p->ev[i], tau);
        for (size_t j = 0; j < c; j++) tmp[i * c + j] *= g;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)c, (int)n, 1.0, p->Q, (int)n, tmp, (int)c, 0.0,
                out, (int)c);
    dw_pred_threads_end(saved);
    dw_pred_free(tmp);
    return DW_OK;
}
