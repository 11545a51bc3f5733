/* Kernel regression at a finite time t without storing the kernel or decomposing it (theory.md 6): the ensemble mean
 * K(T, X) f(A) Y with f(x) = -expm1(-x tau) / x, A = K + lambda I, by the Lanczos approximation
 * f(A) y ~ |y| Q_j f(T_j) e_1 on the Krylov space of y (one Lanczos process per target column, the products of all
 * columns computed together, tile by tile: tiles.c), with full reorthogonalisation (twice). T_j's eigendecomposition
 * (dstev) gives f(T_j) e_1; as Q_j is orthonormal, the change of the approximation between steps is the change of
 * its coefficients, and the process stops when it falls below tol (relative) for two steps in a row: an estimate of
 * the error, not a bound. Memory O(n k j) for j steps. */
#include "predict/predict.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANCZOS_MAX 1000 /* steps at most (memory n k steps) */

static double f_of(double x, double tau) { return x > 0 ? -expm1(-x * tau) / x : tau; }

/* coef (j) = f(T_j) e_1 for the tridiagonal T_j (diagonal a, off-diagonal b); work 3 j + j^2 doubles.
 * DW_ERR_INVALID if a Ritz value is negative beyond rounding (A is then not positive definite). */
static dw_status ritz_coef(const double *a, const double *b, size_t j, double tau, double *coef, double *work,
                           double *theta_min)
{
    double *d = work, *e = d + j, *Z = e + j;
    memcpy(d, a, j * sizeof *d);
    if (j > 1) memcpy(e, b, (j - 1) * sizeof *e);
    lapack_int info = LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', (lapack_int)j, d, e, Z, (lapack_int)j);
    if (info)
        return dw_fail(DW_ERR_RANGE, "lanczos: the tridiagonal eigenproblem did not converge (dstev %d)", (int)info);
    const double scale = fmax(fabs(d[0]), fabs(d[j - 1]));
    *theta_min = d[0];
    if (d[0] < -4.0 * (double)j * DBL_EPSILON * scale)
        return dw_fail(DW_ERR_INVALID,
                       "k_train_train + lambda I is not positive definite (lanczos: a Ritz value %.6g < 0); raise "
                       "diag_reg", d[0]);
    for (size_t i = 0; i < j; i++) {
        double s = 0;
        for (size_t l = 0; l < j; l++) s += Z[i + l * j] * f_of(d[l], tau) * Z[l * j]; /* Z[0, l] = Z[l * j] */
        coef[i] = s;
    }
    return DW_OK;
}

dw_status dw_pred_regress_lanczos(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                                  const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean,
                                  dw_predict_info *info)
{
    size_t steps = o->max_iter < n ? o->max_iter : n;
    if (steps > LANCZOS_MAX) steps = LANCZOS_MAX;
    const double qbytes = (double)(steps + 1) * (double)n * (double)k * sizeof(double);
    dw_status s = dw_core_check_alloc(qbytes, "lanczos: the Krylov basis");
    if (s) return s;
    dw_pred_tiles tiles;
    if ((s = dw_pred_tiles_init(&tiles, net, o, X, n, T, m, d))) return s;
    double *Q = dw_core_alloc_large((size_t)qbytes, "lanczos: the Krylov basis");
    double *W = dw_alloc(2 * n * k + n, sizeof *W, "lanczos: vectors");
    double *ab = dw_alloc(2 * steps * k, sizeof *ab, "lanczos: the tridiagonal matrices");
    double *cw = dw_alloc(2 * k * steps + 3 * steps + steps * steps + 2 * k, sizeof *cw, "lanczos: coefficients");
    size_t *size = dw_calloc(k, sizeof *size, "lanczos: column sizes"), *calm = dw_calloc(k, sizeof *calm, "lanczos");
    if (!Q || !W || !ab || !cw || !size || !calm) s = DW_ERR_NOMEM;
    double *U = W + n * k, *diag = U + n * k, *alpha = ab, *beta = ab + steps * k;
    double *coef = cw, *prev = coef + k * steps, *work = prev + k * steps, *ynorm = work + 3 * steps + steps * steps;
    double *change = ynorm + k;
    const double tau = o->learning_rate * o->t / ((double)n * (double)k);
    double lambda = 0, worst = 0, theta_min = INFINITY;
    size_t j = 0;
    if (!s) s = dw_pred_tiles_diag(&tiles, diag);
    if (!s) {
        lambda = dw_pred_lambda(o, diag, n);
        memset(prev, 0, k * steps * sizeof *prev);
        for (size_t c = 0; c < k; c++) {
            double s2 = 0;
            for (size_t i = 0; i < n; i++) s2 += Y[i * k + c] * Y[i * k + c];
            ynorm[c] = sqrt(s2);
            for (size_t i = 0; i < n; i++) Q[i * k + c] = ynorm[c] > 0 ? Y[i * k + c] / ynorm[c] : 0.0;
            if (!(ynorm[c] > 0)) size[c] = SIZE_MAX; /* a zero column: f(A) 0 = 0 */
        }
    }
    bool active = true;
    for (j = 0; !s && active && j < steps; j++) {
        const double *q = Q + j * n * k;
        if ((s = dw_pred_tiles_train(&tiles, q, k, lambda, W))) break;
        active = false;
        worst = 0;
        for (size_t c = 0; c < k; c++) {
            if (size[c]) continue; /* finished */
            double a = 0;
            for (size_t i = 0; i < n; i++) a += q[i * k + c] * W[i * k + c];
            alpha[c * steps + j] = a;
            for (size_t i = 0; i < n; i++) {
                W[i * k + c] -= a * q[i * k + c];
                if (j) W[i * k + c] -= beta[c * steps + j - 1] * Q[(j - 1) * n * k + i * k + c];
            }
            for (int pass = 0; pass < 2; pass++) /* full reorthogonalisation, twice */
                for (size_t l = 0; l <= j; l++) {
                    const double *ql = Q + l * n * k;
                    double h = 0;
                    for (size_t i = 0; i < n; i++) h += ql[i * k + c] * W[i * k + c];
                    for (size_t i = 0; i < n; i++) W[i * k + c] -= h * ql[i * k + c];
                }
            double b = 0;
            for (size_t i = 0; i < n; i++) b += W[i * k + c] * W[i * k + c];
            b = sqrt(b);
            beta[c * steps + j] = b;
            double th = INFINITY;
            if ((s = ritz_coef(alpha + c * steps, beta + c * steps, j + 1, tau, coef + c * steps, work, &th))) break;
            theta_min = fmin(theta_min, th);
            double dn = 0, cn = 0;
            for (size_t i = 0; i <= j; i++) {
                dn += (coef[c * steps + i] - prev[c * steps + i]) * (coef[c * steps + i] - prev[c * steps + i]);
                cn += coef[c * steps + i] * coef[c * steps + i];
                prev[c * steps + i] = coef[c * steps + i];
            }
            change[c] = cn > 0 ? sqrt(dn / cn) : 0.0;
            calm[c] = j > 0 && change[c] <= o->tol ? calm[c] + 1 : 0;
            const bool invariant = !(b > 64.0 * DBL_EPSILON * fabs(alpha[c * steps + j])) || j + 1 == n;
            if (calm[c] >= 2 || invariant) {
                size[c] = j + 1;
                if (invariant) change[c] = 0.0;
            } else {
                active = true;
                worst = fmax(worst, change[c]);
                if (j + 1 < steps)
                    for (size_t i = 0; i < n; i++) Q[(j + 1) * n * k + i * k + c] = W[i * k + c] / b;
            }
        }
        if (!s && o->progress && o->progress(o->progress_ctx, j + 1, worst))
            s = dw_fail(DW_ERR_INVALID, "lanczos: cancelled at step %zu", j + 1);
    }
    if (!s && active)
        s = dw_fail(DW_ERR_RANGE,
                    "lanczos: not converged after %zu steps (relative change %.3g > tol %.3g); raise max_iter or "
                    "diag_reg, or use solver 'cholesky'", j, worst, o->tol);
    if (!s) {
        /* U = |y| Q_size coef, column by column */
        memset(U, 0, n * k * sizeof *U);
        for (size_t c = 0; c < k; c++) {
            if (size[c] == SIZE_MAX) continue;
            for (size_t l = 0; l < size[c]; l++) {
                const double w = ynorm[c] * coef[c * steps + l];
                const double *ql = Q + l * n * k;
                for (size_t i = 0; i < n; i++) U[i * k + c] += w * ql[i * k + c];
            }
        }
        s = dw_pred_tiles_test(&tiles, U, k, mean);
    }
    if (!s && info) {
        info->solver = "lanczos";
        info->jitter = lambda;
        info->iterations = j;
        info->lambda_min = theta_min; /* the smallest Ritz value: an upper bound on lambda_min */
        info->lambda_min_exact = false;
        double w = 0;
        for (size_t c = 0; c < k; c++)
            if (size[c] != SIZE_MAX) w = fmax(w, change[c]);
        info->residual = w;
    }
    dw_core_free_large(Q);
    free(W);
    free(ab);
    free(cw);
    free(size);
    free(calm);
    dw_pred_tiles_clear(&tiles);
    return s;
}
