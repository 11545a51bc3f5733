/* The dense solve A X = B, A = K + lambda I, in two precisions (theory.md 6, docs/predict.md "Solvers"): a float32
 * Cholesky factor (spotrf, about twice dpotrf's flop rate) and iterative refinement in double, the scheme of LAPACK's
 * dsposv (Langou, Langou, Luszczek, Kurzak, Buttari, Dongarra 2006; Higham, Accuracy and Stability, ch. 12): the
 * residual R = B - A X in double from the double A, the correction A^{-1} R by the float factor, until every column
 * has max|R_j| <= max|X_j| ||A||_inf u sqrt(n) (dsposv's test: a backward error at the level of the double
 * Cholesky's). Refinement converges when cond(A) is well below 1 / u_float; when it does not (or stalls, or spotrf
 * fails), the double factor is made and used for this matrix from then on, so the answer is never worse than
 * dpotrf's. Used for few right-hand sides (c <= n / 16, n >= 256), where the O(n^2 c) refinement is cheap against
 * the factorisation it halves. Which route a solve takes depends only on A and B (and, once refinement has failed for
 * this A, on that: then always the double factor), not on what else was asked: a mean is the same bits with or
 * without a covariance or a certified bound. */
#include "predict/predict.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIXED_MIN_N 256
#define MIXED_RHS_RATIO 16
#define MIXED_ITERMAX 30

bool dw_pred_mixed_wanted(const dw_predict *p, size_t c)
{
    return p->mixed >= 0 && p->n >= MIXED_MIN_N && c * MIXED_RHS_RATIO <= p->n;
}

/* The float factor of 2^-a A (a power of two that brings the largest diagonal entry to [1, 2): no overflow where A
 * is definite, |A_ij| <= sqrt(A_ii A_jj)), and ||A||_inf; p->mixed = -1 when it cannot be made. */
static dw_status mixed_factor(dw_predict *p)
{
    if (p->Fs || p->mixed < 0) return DW_OK;
    const size_t n = p->n;
    const double *A = p->A;
    double dmax = 0;
    for (size_t i = 0; i < n; i++) dmax = fmax(dmax, A[i * n + i]);
    if (!(dmax > DBL_MIN) || !isfinite(dmax)) {
        p->mixed = -1;
        return DW_OK;
    }
    const int a = ilogb(dmax);
    const double sc = ldexp(1.0, -a);
    if (dw_core_check_alloc((double)n * (double)n * sizeof(float), "k_train_train: float32 Cholesky factor"))
        return DW_ERR_NOMEM;
    float *F = dw_core_alloc_large(n * n * sizeof *F, "k_train_train: float32 Cholesky factor");
    double *rs = F ? dw_calloc(n, sizeof *rs, "k_train_train: row sums") : NULL;
    if (!rs) {
        dw_core_free_large(F);
        return DW_ERR_NOMEM;
    }
    /* the upper triangle (row-major) is LAPACK's column-major lower one; row sums of |A| for ||A||_inf */
    for (size_t i = 0; i < n; i++) {
        const double *ai = A + i * n;
        float *fi = F + i * n;
        for (size_t j = i; j < n; j++) { /* no reduction here: a loop the compiler vectorises */
            fi[j] = (float)(ai[j] * sc);
            rs[j] += fabs(ai[j]);
        }
        if (i + 1 < n) rs[i] += cblas_dasum((int)(n - i - 1), ai + i + 1, 1);
    }
    double anorm = 0;
    for (size_t i = 0; i < n; i++) anorm = fmax(anorm, rs[i]);
    free(rs);
    const int saved = dw_pred_threads_begin(p->o.threads);
    lapack_int info = LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)n, F, (lapack_int)n);
    dw_pred_threads_end(saved);
    if (info) { /* not definite in float32 (or out of its range): the double route decides */
        dw_core_free_large(F);
        p->mixed = -1;
        return DW_OK;
    }
    p->Fs = F;
    p->Fs_exp = a;
    p->anorm = anorm;
    p->mixed = 1;
    p->info.solver = p->Q ? "cholesky+eigh" : "cholesky";
    return DW_OK;
}

/* R := (2^-a A)^{-1} R by the float factor, R n x c row-major */
static void solve_float(const dw_predict *p, float *R, size_t c)
{
    const int n = (int)p->n;
    cblas_strsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n, (int)c, 1.0f, p->Fs, n, R, (int)c);
    cblas_strsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, n, (int)c, 1.0f, p->Fs, n, R,
                (int)c);
}

/* X += A^{-1} R, approximately (the float factor): each column of R scaled by a power of two to max|R_j| in [1, 2)
 * before rounding to float (no underflow of small residuals), scaled back after. false: a scale out of range. */
static bool correct(const dw_predict *p, const double *R, size_t c, float *Rs, int *e, double *X)
{
    const size_t n = p->n;
    for (size_t j = 0; j < c; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m = fmax(m, fabs(R[i * c + j]));
        e[j] = m > 0 ? ilogb(m) : INT_MIN;
        if (m > 0 && (e[j] < -1000 || e[j] - p->Fs_exp > 1000 || e[j] - p->Fs_exp < -1000)) return false;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++)
            Rs[i * c + j] = e[j] == INT_MIN ? 0.0f : (float)ldexp(R[i * c + j], -e[j]);
    solve_float(p, Rs, c);
    for (size_t j = 0; j < c; j++) { /* A^{-1} r = 2^(e - a) (2^-a A)^{-1} (2^-e r) */
        if (e[j] == INT_MIN) continue;
        const double f = ldexp(1.0, e[j] - p->Fs_exp);
        for (size_t i = 0; i < n; i++) X[i * c + j] += (double)Rs[i * c + j] * f;
    }
    return true;
}

/* R = B - A X in double (n x c), Xt (c x n) work space. A thin product: dgemm would copy (pack) all of A for a few
 * columns, and the product is bound by reading A, so only its upper triangle is read, once, by blocks of RES_ROWS
 * rows (in cache) each applied to every column by dgemv twice: U_blk X for the block's rows, U_blk^T X for the rows
 * to the right of its diagonal block. Each entry is still a sum of the n products A_ij x_j, rounded within
 * gamma_n |A||X| as with dgemm. */
#define RES_ROWS 32
static void residual(const dw_predict *p, const double *B, const double *X, size_t c, double *Xt, double *R)
{
    const size_t n = p->n;
    double *Rt = Xt + n * c;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++) {
            Xt[j * n + i] = X[i * c + j];
            Rt[j * n + i] = B[i * c + j];
        }
    for (size_t i0 = 0; i0 < n; i0 += RES_ROWS) {
        const size_t rows = n - i0 < RES_ROWS ? n - i0 : RES_ROWS, i1 = i0 + rows;
        const double *U = p->A + i0 * n + i0; /* rows [i0, i1), columns [i0, n) */
        for (size_t j = 0; j < c; j++) {
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)rows, (int)(n - i0), -1.0, U, (int)n, Xt + j * n + i0, 1,
                        1.0, Rt + j * n + i0, 1);
            if (i1 < n)
                cblas_dgemv(CblasRowMajor, CblasTrans, (int)rows, (int)(n - i1), -1.0, U + rows, (int)n,
                            Xt + j * n + i0, 1, 1.0, Rt + j * n + i1, 1);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++) R[i * c + j] = Rt[j * n + i];
}

/* B := A^{-1} B by the float factor and refinement; *done false (B untouched) when this route does not apply or did
 * not converge (then p->mixed = -1: the double factor from now on). */
dw_status dw_pred_mixed_solve(dw_predict *p, double *B, size_t c, bool *done)
{
    *done = false;
    dw_status s = mixed_factor(p);
    if (s || p->mixed < 0) return s;
    const size_t n = p->n;
    double *X = dw_alloc(4 * n * c + c, sizeof *X, "mixed-precision solve: work space");
    float *Rs = X ? dw_alloc(n * c, sizeof *Rs, "mixed-precision solve: float residual") : NULL;
    int *e = Rs ? dw_alloc(c, sizeof *e, "mixed-precision solve: scales") : NULL;
    if (!e) {
        free(X);
        free(Rs);
        return DW_ERR_NOMEM;
    }
    double *R = X + n * c, *Xt = R + n * c, *xm = Xt + 2 * n * c;
    const double cte = p->anorm * (DBL_EPSILON / 2) * sqrt((double)n);
    const int saved = dw_pred_threads_begin(p->o.threads);
    memset(X, 0, n * c * sizeof *X);
    bool ok = correct(p, B, c, Rs, e, X);
    double prev = INFINITY;
    size_t it = 0;
    while (ok) {
        /* one BLAS thread: ~2 n / 32 small dgemv calls, each a fork and join when threaded (and bound by memory) */
        const int saved1 = dw_pred_threads_begin(1);
        residual(p, B, X, c, Xt, R);
        dw_pred_threads_end(saved1);
        /* the worst column's max|R_j| / (max|X_j| cte): <= 1 everywhere is convergence */
        for (size_t j = 0; j < c; j++) xm[j] = 0;
        double worst = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < c; j++) xm[j] = fmax(xm[j], fabs(X[i * c + j]));
        for (size_t j = 0; j < c; j++) {
            double rm = 0;
            for (size_t i = 0; i < n; i++) rm = fmax(rm, fabs(R[i * c + j]));
            const double q = rm == 0 ? 0.0 : xm[j] > 0 ? rm / (xm[j] * cte) : INFINITY;
            worst = fmax(worst, q);
        }
        if (worst == 0) break; /* exact */
        if (worst <= 1.0) { /* dsposv's test passed: one more correction from this residual (no residual after it)
                             * takes the error from this backward-error level down to the double solve's */
            ok = correct(p, R, c, Rs, e, X);
            it++;
            break;
        }
        /* not a number, too many steps, or less than halving per step: cond(A) u_float is too close to 1 */
        if (!(worst < 0.5 * prev) || it == MIXED_ITERMAX) {
            ok = false;
            break;
        }
        prev = worst;
        ok = correct(p, R, c, Rs, e, X);
        it++;
    }
    dw_pred_threads_end(saved);
    if (ok) {
        memcpy(B, X, n * c * sizeof *B);
        if (it > p->info.iterations) p->info.iterations = it;
        *done = true;
    } else {
        p->mixed = -1;
    }
    free(X);
    free(Rs);
    free(e);
    return DW_OK;
}

/* v := (2^-a A)^{-1} v by the float factor alone (inverse iteration, where only the direction matters) */
dw_status dw_pred_mixed_inverse_step(dw_predict *p, double *v)
{
    const size_t n = p->n;
    float *w = dw_alloc(n, sizeof *w, "lambda_min estimate: float vector");
    if (!w) return DW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) w[i] = (float)v[i];
    solve_float(p, w, 1);
    for (size_t i = 0; i < n; i++) v[i] = (double)w[i];
    free(w);
    return DW_OK;
}

/* rcond = 1 / (||A||_1 ||A^{-1}||_1) with ||A^{-1}||_1 estimated by Hager and Higham's dlacn2 (as dpocon does), each
 * product with A^{-1} (= A^{-T}) a refined solve; *done false when the refinement no longer converges. */
dw_status dw_pred_mixed_rcond(dw_predict *p, double *rcond, bool *done)
{
    *done = false;
    const size_t n = p->n;
    double *v = dw_calloc(2 * n, sizeof *v, "condition estimate");
    lapack_int *isgn = v ? dw_alloc(n, sizeof *isgn, "condition estimate: signs") : NULL;
    if (!isgn) {
        free(v);
        return DW_ERR_NOMEM;
    }
    double *x = v + n, est = 0;
    lapack_int kase = 0, isave[3] = {0, 0, 0};
    dw_status s = DW_OK;
    bool ok = true;
    for (;;) {
        LAPACKE_dlacn2_work((lapack_int)n, v, x, isgn, &est, &kase, isave); /* no NaN check of x's first value */
        if (kase == 0) break;
        if ((s = dw_pred_mixed_solve(p, x, 1, &ok)) || !ok) break;
    }
    if (!s && ok) {
        *rcond = est > 0 && p->anorm > 0 ? (1.0 / est) / p->anorm : 0.0;
        *done = true;
    }
    free(v);
    free(isgn);
    return s;
}
