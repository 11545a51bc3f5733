/* Certified bounds on the t = INFINITY mean (docs/predict.md "Certified bounds"): mean = K* alpha, A alpha = Y with
 * A = K + lambda I. Three rigorous ingredients: a lower bound on lambda_min of the exact A (Rump's shifted Cholesky
 * test), the true residual of the computed alpha (accumulated in long double, its rounding bounded), and the
 * kernels' entrywise error bounds. Every bound quantity is a sum of non-negative terms computed in double and then
 * inflated by 1 + gamma_N (N the operation count), so the rounding of the bound itself is covered too. */
#include "predict/predict.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* gamma_k = k u / (1 - k u), u the unit roundoff of double */
static double gamma_k(double k, double u) { return k * u / (1.0 - k * u); }

/* x rounded up past the rounding of a computation of N operations on non-negative numbers */
static double up(double x, double N) { return x * (1.0 + gamma_k(N + 2.0, DBL_EPSILON / 2)); }

/* A lower bound on lambda_min(A), A the stored matrix (Rump, BIT 46 (2006); Higham, Accuracy and Stability, Thm
 * 10.3): if LAPACK's Cholesky of B = fl(A - sigma I) runs to completion, its factor satisfies R^T R = B + dB with
 * |dB| <= gamma_{n+1} |R^T||R|, so lambda_min(B) >= -gamma_{n+1} ||R||_F^2 >= -gamma_{n+1} tr(B) / (1 -
 * gamma_{n+1}); the rounding of the shift is diagonal, <= 2u |B_ii|. dpotrf's blocked algorithm reorders the same
 * inner products (conventional matrix products), which the componentwise bound allows. Shifts from the
 * lambda_min estimate down; -INFINITY when none succeeds or a pivot comes near underflow. */
static dw_status rump_lower(dw_predict *p, double *lower)
{
    *lower = -INFINITY;
    const size_t n = p->n;
    const double est = p->info.lambda_min, u = DBL_EPSILON / 2, g = gamma_k((double)n + 1.0, u);
    if (!(est > 0) || !(g < 0.5)) return DW_OK;
    if (dw_core_check_alloc((double)n * (double)n * sizeof(double), "lambda_min certificate: shifted factor"))
        return DW_ERR_NOMEM;
    double *B = dw_core_alloc_large(n * n * sizeof *B, "lambda_min certificate: shifted factor");
    if (!B) return DW_ERR_NOMEM;
    static const double frac[] = {0.95, 0.8, 0.5, 0.2};
    for (size_t f = 0; f < sizeof frac / sizeof *frac; f++) {
        const double sigma = frac[f] * est;
        memcpy(B, p->A, n * n * sizeof *B);
        double tr = 0, dmax = 0;
        for (size_t i = 0; i < n; i++) {
            B[i * n + i] -= sigma;
            tr += fabs(B[i * n + i]);
            dmax = fmax(dmax, fabs(B[i * n + i]));
        }
        const double c = up(g / (1.0 - g) * tr + 2.0 * u * dmax, (double)n + 8.0);
        if (!(sigma - c > 0)) break; /* smaller shifts only lower sigma - c */
        const int saved = dw_pred_threads_begin(p->o.threads);
        lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, B, (lapack_int)n);
        dw_pred_threads_end(saved);
        if (info < 0) {
            dw_core_free_large(B);
            return dw_fail(DW_ERR_INTERNAL, "lambda_min certificate: dpotrf failed (info %d)", (int)info);
        }
        if (info > 0) continue;
        bool normal = true; /* the error analysis assumes no underflow: pivots far from it */
        for (size_t i = 0; i < n; i++) normal = normal && B[i * n + i] > 1e-140;
        if (normal) *lower = (sigma - c) * (1.0 - 2.0 * u);
        break;
    }
    dw_core_free_large(B);
    return DW_OK;
}

/* |B - A X| entrywise, bounded: column c of X (n x c_count row-major, stride ld) against column c of B (the same
 * layout; NULL with bcol: the vector bcol). Accumulated in long double, whose rounding is <= gamma^L_{n+1} (|b| +
 * |A||x|), plus u |r| for the conversion to double. */
static void residual(const dw_predict *p, const double *b, size_t ldb, const double *x, size_t ldx, double *out)
{
    const size_t n = p->n;
    const double uL = LDBL_EPSILON / 2, gL = gamma_k((double)n + 1.0, uL);
    for (size_t i = 0; i < n; i++) {
        const double *a = p->A + i * n;
        long double acc = b[i * ldb];
        double absacc = fabs(b[i * ldb]);
        for (size_t j = 0; j < n; j++) {
            acc -= (long double)a[j] * (long double)x[j * ldx];
            absacc += fabs(a[j]) * fabs(x[j * ldx]);
        }
        const double r = (double)acc;
        out[i] = fabs(r) * (1.0 + DBL_EPSILON) + up(gL * absacc, (double)n + 4.0);
    }
}

static double norm2(const double *v, size_t n, size_t stride)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i * stride] * v[i * stride];
    return up(sqrt(up(s, (double)n)), 2.0);
}

/* sum_j |v_j| s_j (s NULL: 0) */
static double sdot(const double *s, const double *v, size_t n, size_t stride)
{
    if (!s) return 0.0;
    double acc = 0;
    for (size_t j = 0; j < n; j++) acc += s[j] * fabs(v[j * stride]);
    return up(acc, (double)n);
}

/* The adjoint form of the error (docs/predict.md): with w = A_exact^{-1} k_exact, mean_exact - k^T alpha =
 * w^T (r - dA alpha) + dk^T alpha, r = Y - A alpha the computed alpha's residual, bounded by
 * |w_hat|^T z + ||w - w_hat||_2 ||z||_2 + Et_i.|alpha|, z >= |r - dA alpha| entrywise; w_hat solves with the
 * Cholesky factor, ||w - w_hat||_2 <= (its residual + ||Et_i||_2 + ||(E + 2u diag|A|) |w_hat| ||_2) / lambda_lower.
 * E (n x n), Et (m x n): the kernel entries' absolute bounds (NULL: exact kernels). */
#define BLOCK 64
static dw_status test_bounds(dw_predict *p, const double *k_test_train, size_t m, const double *Et, const double *E,
                             double lam, const double *alpha, const double *z, const double *znorm, const double *mean,
                             double *bound)
{
    const size_t n = p->n, k = p->k;
    const double u = DBL_EPSILON / 2, gLn = gamma_k((double)n, LDBL_EPSILON / 2);

    /* the adjoint residuals enter only through ||w - w_hat||, a second-order term: computed in double by BLAS,
     * |fl(A W) - A W| <= gamma_n |A||W| (and the subtraction of k: u per entry) */
    double *W = dw_alloc(5 * n * BLOCK + n, sizeof *W, "certified bound: adjoint solutions");
    if (!W) return DW_ERR_NOMEM;
    double *AW = W + n * BLOCK, *Wa = AW + n * BLOCK, *AWa = Wa + n * BLOCK, *EWa = AWa + n * BLOCK;
    double *rw = EWa + n * BLOCK;
    double *absA = dw_core_check_alloc((double)n * (double)n * sizeof(double), "certified bound: |A|")
                       ? NULL
                       : dw_core_alloc_large(n * n * sizeof *absA, "certified bound: |A|");
    if (!absA) {
        free(W);
        return DW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n * n; i++) absA[i] = fabs(p->A[i]);
    const double gn1 = gamma_k((double)n + 1.0, u);
    dw_status s = DW_OK;
    for (size_t i0 = 0; !s && i0 < m; i0 += BLOCK) {
        const size_t b = m - i0 < BLOCK ? m - i0 : BLOCK;
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < b; i++) W[j * b + i] = k_test_train[(i0 + i) * n + j];
        if ((s = dw_pred_apply(p, DW_F_INV, 0.0, W, b, W))) break;
        for (size_t j = 0; j < n * b; j++) Wa[j] = fabs(W[j]);
        const int saved = dw_pred_threads_begin(p->o.threads);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)n, 1.0, p->A, (int)n, W, (int)b,
                    0.0, AW, (int)b);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)n, 1.0, absA, (int)n, Wa, (int)b,
                    0.0, AWa, (int)b);
        if (E) /* E |W|: non-negative, within gamma_n of the exact product */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)b, (int)n, 1.0, E, (int)n, Wa,
                        (int)b, 0.0, EWa, (int)b);
        dw_pred_threads_end(saved);
        for (size_t i = 0; i < b; i++) {
            const double *kt = k_test_train + (i0 + i) * n, *w = W + i, *et = Et ? Et + (i0 + i) * n : NULL;
            for (size_t j = 0; j < n; j++) {
                const double d = AW[j * b + i] - kt[j];
                rw[j] = fabs(d) * (1.0 + 2.0 * u) + up(gn1 * (AWa[j * b + i] + fabs(kt[j])), (double)n + 4.0);
            }
            double d2 = 0, e2 = 0;
            for (size_t j = 0; j < n; j++) d2 += (p->A[j * n + j] * w[j * b]) * (p->A[j * n + j] * w[j * b]);
            if (E)
                for (size_t j = 0; j < n; j++) e2 += EWa[j * b + i] * EWa[j * b + i];
            const double num = norm2(rw, n, 1) + (et ? norm2(et, n, 1) : 0.0) +
                               up(sqrt(up(e2, (double)n)), (double)n + 2.0) +
                               2.0 * u * up(sqrt(up(d2, (double)n)), 2.0);
            const double omega = lam > 0 ? up(up(num, 6.0) / lam, 2.0) * (1.0 + 2.0 * u) : INFINITY;
            for (size_t c = 0; c < k; c++) {
                /* the product again in long double (rounding <= gamma^L_n |k|.|alpha|); the returned mean, the
                 * BLAS product (bit for bit that of dw_predict_mean_cov), is within |mean - acc| of it */
                long double acc = 0;
                double wz = 0, dot = 0;
                for (size_t j = 0; j < n; j++) {
                    acc += (long double)kt[j] * (long double)alpha[j * k + c];
                    wz += fabs(w[j * b]) * z[j * k + c];
                    dot += fabs(kt[j]) * fabs(alpha[j * k + c]);
                }
                const double gap = fabs((double)(acc - (long double)mean[(i0 + i) * k + c])) * (1.0 + 2.0 * u);
                const double v = up(wz, (double)n) + omega * znorm[c] + (et ? sdot(et, alpha + c, n, k) : 0.0) +
                                 gap + gLn * up(dot, (double)n);
                bound[(i0 + i) * k + c] = isfinite(v) ? up(v, 8.0) : INFINITY;
            }
        }
    }
    free(W);
    dw_core_free_large(absA);
    return s;
}

static dw_status mean_bound(dw_predict *p, const double *k_test_train, size_t m, const double *E, const double *Et,
                            bool psd, double *mean, double *bound)
{
    const size_t n = p->n, k = p->k;
    const double u = DBL_EPSILON / 2;
    dw_status s = dw_pred_cholesky(p);
    if (!s) s = dw_pred_diagnostics(p); /* the lambda_min estimate the shifts start from */
    double lr = -INFINITY;
    if (!s) s = rump_lower(p, &lr);
    if (s) return s;
    double *alpha = dw_alloc(3 * n * k + k, sizeof *alpha, "certified bound: A^{-1} y_train");
    if (!alpha) return DW_ERR_NOMEM;
    double *z = alpha + n * k, *ea = z + n * k, *znorm = ea + n * k;
    if ((s = dw_pred_apply(p, DW_F_INV, 0.0, p->Y, k, alpha))) {
        free(alpha);
        return s;
    }
    /* the exact A = K_exact + lambda I differs from the stored one by dA, |dA| <= E + 2u diag|A_ii| (the rounding
     * of K_ii + lambda); ||dA||_2 <= || |dA| ||_2 <= min(||E||_F, max row sum of E) + 2u max|A_ii| */
    double amax = 0;
    for (size_t j = 0; j < n; j++) amax = fmax(amax, fabs(p->A[j * n + j]));
    double fro = 0, rmax = 0;
    if (E)
        for (size_t i = 0; i < n; i++) {
            double r = 0;
            for (size_t j = 0; j < n; j++) {
                fro += E[i * n + j] * E[i * n + j];
                r += E[i * n + j];
            }
            rmax = fmax(rmax, up(r, (double)n));
        }
    /* the product of dw_predict_mean_cov, the same bits (k_test_train was checked by check_call) */
    if ((s = dw_pred_product(k_test_train, m, n, alpha, k, p->o.threads, NULL, mean))) {
        free(alpha);
        return s;
    }
    /* E |alpha|: non-negative sums, within gamma_n of the exact product; in order (the same bits whatever BLAS) */
    if (E)
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < k; c++) ea[i * k + c] = sdot(E + i * n, alpha + c, n, k);
    const double dA = up(fmin(up(sqrt(up(fro, (double)n * (double)n)), 2.0), rmax) + 2.0 * u * amax, 4.0);
    double lam = lr > -INFINITY ? (lr - dA) * (1.0 - 2.0 * u) : -INFINITY;
    if (psd) lam = fmax(lam, p->lambda); /* K_exact is positive semi-definite */
    p->info.lambda_lower = lam;
    /* z >= |r - dA alpha| entrywise, column by column */
    double *r = dw_alloc(n, sizeof *r, "certified bound: residual");
    if (!r) {
        free(alpha);
        return DW_ERR_NOMEM;
    }
    for (size_t c = 0; c < k; c++) {
        residual(p, p->Y + c, k, alpha + c, k, r);
        for (size_t j = 0; j < n; j++)
            z[j * k + c] = up(r[j] + (E ? ea[j * k + c] : 0.0) +
                                  2.0 * u * fabs(p->A[j * n + j] * alpha[j * k + c]),
                              6.0);
        znorm[c] = norm2(z + c, n, k);
    }
    free(r);
    s = test_bounds(p, k_test_train, m, Et, E, lam, alpha, z, znorm, mean, bound);
    free(alpha);
    return s;
}

/* The scalar form of the kernel's error (rel s_i s_j) as entrywise bounds, rounded up. */
static double *outer(double rel, const double *a, size_t m, const double *b, size_t n, const char *what)
{
    if (dw_core_check_alloc((double)m * (double)n * sizeof(double), what)) return NULL;
    double *E = dw_core_alloc_large(m * n * sizeof *E, what);
    if (!E) return NULL;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) E[i * n + j] = up(rel * a[i] * b[j], 2.0);
    return E;
}

dw_status dw_pred_mean_bound(dw_predict *p, const double *k_test_train, size_t m, const dw_pred_kerr *e, double *mean,
                             double *bound)
{
    const size_t n = p->n;
    const double rel = e ? e->rel : 0.0;
    const double *ss = rel > 0 ? e->s_train : NULL, *st = rel > 0 ? e->s_test : NULL;
    const double *E = e ? e->E_train : NULL, *Et = e ? e->E_test : NULL;
    if (!E && rel > 0 && (!ss || !st))
        return dw_fail(DW_ERR_INVALID, "certified bound: a kernel bound needs the train and test scales");
    double *own = NULL, *ownt = NULL;
    if (!E && rel > 0) {
        if (!(own = outer(rel, ss, n, ss, n, "certified bound: kernel bounds")) ||
            !(ownt = outer(rel, st, m, ss, n, "certified bound: kernel bounds"))) {
            dw_core_free_large(own);
            return DW_ERR_NOMEM;
        }
        E = own;
        Et = ownt;
    }
    dw_status s = mean_bound(p, k_test_train, m, E, Et, e && e->psd, mean, bound);
    dw_core_free_large(own);
    dw_core_free_large(ownt);
    return s;
}

/* The arguments every form of the certified bound checks (DW_OK or the failure). */
static dw_status check_call(const dw_predict *p, const double *k_test_train, size_t m, const double *mean,
                            const double *bound)
{
    if (!p) return dw_fail(DW_ERR_INVALID, "certified bound: NULL predict object");
    if (!k_test_train || !mean || !bound)
        return dw_fail(DW_ERR_INVALID, "certified bound: NULL %s", !k_test_train ? "k_test_train"
                                                                   : !mean        ? "mean"
                                                                                  : "bound");
    if (m == 0) return dw_fail(DW_ERR_INVALID, "k_test_train: no test points (m = 0)");
    return dw_pred_check_finite(k_test_train, m, p->n, "k_test_train");
}

dw_status dw_predict_mean_bound(dw_predict *p, const double *k_test_train, size_t m, double kernel_bound,
                                const double *scale_train, const double *scale_test, double *mean, double *bound)
{
    dw_status s = check_call(p, k_test_train, m, mean, bound);
    if (s) return s;
    if (!(kernel_bound >= 0) || !isfinite(kernel_bound))
        return dw_fail(DW_ERR_INVALID, "kernel_bound: expected a finite number >= 0, got %g", kernel_bound);
    if (!s && kernel_bound > 0) {
        if (!scale_train || !scale_test)
            return dw_fail(DW_ERR_INVALID, "kernel_bound: %g needs scale_train and scale_test", kernel_bound);
        if ((s = dw_pred_check_finite(scale_train, 1, p->n, "scale_train"))) return s;
        if ((s = dw_pred_check_finite(scale_test, 1, m, "scale_test"))) return s;
    }
    if (s) return s;
    const dw_pred_kerr e = {kernel_bound, scale_train, scale_test, NULL, NULL, false};
    p->info.kernel_bound = kernel_bound;
    return dw_pred_mean_bound(p, k_test_train, m, &e, mean, bound);
}

dw_status dw_predict_mean_bound_entries(dw_predict *p, const double *k_test_train, size_t m, const double *bound_train,
                                        const double *bound_test, double *mean, double *bound)
{
    dw_status s = check_call(p, k_test_train, m, mean, bound);
    const double *E[2] = {bound_train, bound_test};
    const size_t rows[2] = {p->n, m};
    static const char *const name[2] = {"bound_train", "bound_test"};
    for (int q = 0; !s && q < 2; q++)
        for (size_t i = 0; E[q] && i < rows[q] * p->n; i++)
            if (!(E[q][i] >= 0) || !isfinite(E[q][i]))
                return dw_fail(DW_ERR_INVALID, "%s: entry (%zu, %zu) is %g, expected a finite number >= 0", name[q],
                               i / p->n + 1, i % p->n + 1, E[q][i]);
    if (s) return s;
    double kb = 0; /* the largest train entry's bound relative to sqrt(K_ii K_jj), reported as kernel_bound */
    for (size_t i = 0; bound_train && i < p->n; i++)
        for (size_t j = 0; j < p->n; j++) {
            const double sc = sqrt(fabs(p->A[i * p->n + i] - p->lambda)) * sqrt(fabs(p->A[j * p->n + j] - p->lambda));
            if (bound_train[i * p->n + j] > 0) kb = fmax(kb, sc > 0 ? bound_train[i * p->n + j] / sc : INFINITY);
        }
    p->info.kernel_bound = kb;
    return mean_bound(p, k_test_train, m, bound_train, bound_test, false, mean, bound);
}
