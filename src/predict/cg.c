/* Kernel regression without storing the kernel (theory.md 6): preconditioned conjugate gradients on
 * (K + lambda I) alpha = Y where every product K V is computed tile by tile through the kernel's tile API (memory
 * O(n k + n r)), preconditioned by randomly pivoted Cholesky (Chen, Epperly, Tropp, Webber 2022: K ~ F F^T of rank
 * r from r kernel columns, applied by Woodbury); the k target columns are iterated together (one tiled product per
 * iteration for all columns, each column with its own step lengths). Then mean = K(T, X) alpha, tile by tile too,
 * and the covariance, if asked for, by the same solver on the test columns (cgcov.c).
 * Each row block of a product (and of a preconditioner column) is one dw_par_for item summing its column tiles in
 * order (tiles.c), and the BLAS calls outside them run on one thread (OpenBLAS otherwise splits their sums by the
 * cores it sees), so results depend neither on the thread count nor on the cores visible. */
#include "predict/predict.h"

#include "core/rng.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct precond {
    size_t n, r, ld; /* r columns in use of F's ld */
    double mu;
    double *F; /* n x r */
    double *M; /* r x r Cholesky factor of mu I + F^T F (row-major lower) */
    double *w; /* r x c work */
} precond;

/* RPCholesky: r pivots drawn with probability proportional to the residual diagonal; stops early when the
 * residual diagonal vanishes (the kernel has rank < r). diag: K's diagonal (n), overwritten. */
static dw_status rpcholesky(dw_pred_tiles *tiles, double *diag, size_t n, size_t r, double lambda, precond *P,
                            size_t c)
{
    memset(P, 0, sizeof *P);
    P->n = n;
    if (r == 0) return DW_OK;
    P->F = dw_calloc(n * r, sizeof *P->F, "cg: preconditioner factor");
    double *g = dw_alloc(n, sizeof *g, "cg: kernel column");
    if (!P->F || !g) {
        free(g);
        return DW_ERR_NOMEM;
    }
    dw_rng rng;
    dw_rng_init(&rng, 0x5250434845ULL, n, r, 0); /* fixed seed: the same preconditioner every run */
    double tr0 = 0;
    for (size_t i = 0; i < n; i++) tr0 += diag[i];
    size_t k = 0;
    dw_status s = DW_OK;
    for (; k < r; k++) {
        double tot = 0;
        for (size_t i = 0; i < n; i++) tot += diag[i];
        if (!(tot > 1e-14 * tr0)) break; /* numerically exhausted: rank k */
        double u = dw_rng_uniform(&rng) * tot, acc = 0;
        size_t piv = n - 1;
        for (size_t i = 0; i < n; i++) {
            acc += diag[i];
            if (acc >= u && diag[i] > 0) {
                piv = i;
                break;
            }
        }
        if ((s = dw_pred_tiles_column(tiles, piv, P->F, r, k, g))) break; /* K[:, piv] - F F[piv]^T */
        if (!(g[piv] > 0)) break;
        const double sc = 1.0 / sqrt(g[piv]);
        for (size_t i = 0; i < n; i++) {
            P->F[i * r + k] = g[i] * sc;
            diag[i] = fmax(diag[i] - P->F[i * r + k] * P->F[i * r + k], 0.0);
        }
        diag[piv] = 0.0;
    }
    free(g);
    if (s) return s;
    double res = 0;
    for (size_t i = 0; i < n; i++) res += diag[i];
    /* P = F F^T + mu I; mu = lambda, or (lambda = 0) the mean residual diagonal so that P stays definite */
    P->mu = lambda > 0 ? lambda : fmax(res / (double)n, DBL_EPSILON * tr0 / (double)n);
    P->ld = r;
    P->r = k; /* the leading k columns are filled */
    if (!k) return DW_OK;
    P->M = dw_calloc(k * k, sizeof *P->M, "cg: preconditioner core");
    P->w = dw_alloc(k * c, sizeof *P->w, "cg: preconditioner work");
    if (!P->M || !P->w) return DW_ERR_NOMEM;
    const int saved = dw_pred_threads_begin(1); /* one BLAS thread: the same bits however many cores are visible */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)k, (int)n, 1.0, P->F, (int)r, 0.0, P->M, (int)k);
    for (size_t i = 0; i < k; i++) P->M[i * k + i] += P->mu;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)k, P->M, (lapack_int)k);
    dw_pred_threads_end(saved);
    if (info)
        return dw_fail(DW_ERR_RANGE, "cg: the preconditioner's core matrix is not definite (dpotrf %d)", (int)info);
    return DW_OK;
}

/* out = P^{-1} v = (v - F (mu I + F^T F)^{-1} F^T v) / mu, or v without a preconditioner (n x c) */
static void precond_apply(const precond *P, const double *v, size_t c, double *out)
{
    const size_t n = P->n, r = P->r, ld = P->ld;
    if (!r) {
        memcpy(out, v, n * c * sizeof *out);
        return;
    }
    const int saved = dw_pred_threads_begin(1); /* one BLAS thread: threaded BLAS reorders the sums by core count */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)c, (int)n, 1.0, P->F, (int)ld, v, (int)c, 0.0,
                P->w, (int)c);
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', (lapack_int)r, (lapack_int)c, P->M, (lapack_int)r, P->w, (lapack_int)c);
    memcpy(out, v, n * c * sizeof *out);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)c, (int)r, -1.0, P->F, (int)ld, P->w, (int)c,
                1.0, out, (int)c);
    dw_pred_threads_end(saved);
    const double inv = 1.0 / P->mu;
    for (size_t i = 0; i < n * c; i++) out[i] *= inv;
}

static void precond_free(precond *P)
{
    free(P->F);
    free(P->M);
    free(P->w);
}

/* Preconditioned CG on (K + lambda I) x = Y (n x k), the k columns iterated together (one tiled product per
 * iteration for all of them, each with its own step lengths); x n x k; the true relative residual of the answer,
 * max_j ||Y_j - A x_j|| / ||Y_j||, recomputed at the end. */
static dw_status pcg(dw_pred_tiles *tiles, const void *precond_, const dw_predict_opts *o, double lambda,
                     const double *Y, size_t k, double *x, size_t *iters, double *true_res)
{
    const precond *P = precond_;
    const size_t n = tiles->n;
    double *work = dw_alloc(4 * n * k + 4 * k, sizeof *work, "cg: vectors");
    bool *active = work ? dw_alloc(k, sizeof *active, "cg: column flags") : NULL;
    if (!active) {
        free(work);
        return DW_ERR_NOMEM;
    }
    double *r = work, *z = r + n * k, *p = z + n * k, *q = p + n * k, *ynorm = q + n * k;
    double *rz = ynorm + k, *alpha = rz + k, *beta = alpha + k;
    dw_status s = DW_OK;
    for (size_t c = 0; c < k; c++) {
        double s2 = 0;
        for (size_t i = 0; i < n; i++) s2 += Y[i * k + c] * Y[i * k + c];
        ynorm[c] = sqrt(s2);
        active[c] = ynorm[c] > 0;
    }
    memset(x, 0, n * k * sizeof *x);
    memcpy(r, Y, n * k * sizeof *r);
    precond_apply(P, r, k, z);
    memcpy(p, z, n * k * sizeof *p);
    for (size_t c = 0; c < k; c++) {
        double a = 0;
        for (size_t i = 0; i < n; i++) a += r[i * k + c] * z[i * k + c];
        rz[c] = a;
    }
    size_t it = 0;
    double worst = 0;
    for (size_t c = 0; c < k; c++) worst = fmax(worst, active[c] ? 1.0 : 0.0);
    while (worst > o->tol && it < o->max_iter) {
        if ((s = dw_pred_tiles_train(tiles, p, k, lambda, q))) break;
        it++;
        for (size_t c = 0; c < k && !s; c++) {
            double pq = 0;
            for (size_t i = 0; i < n; i++) pq += p[i * k + c] * q[i * k + c];
            if (active[c] && !(pq > 0))
                s = dw_fail(DW_ERR_INVALID,
                            "k_train_train + lambda I is not positive definite (cg: p^T A p = %.3g at iteration %zu, "
                            "lambda = %.6g); raise diag_reg", pq, it, lambda);
            alpha[c] = active[c] ? rz[c] / pq : 0.0;
        }
        if (s) break;
        worst = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < k; c++) {
                x[i * k + c] += alpha[c] * p[i * k + c];
                r[i * k + c] -= alpha[c] * q[i * k + c];
            }
        for (size_t c = 0; c < k; c++) {
            if (!active[c]) continue;
            double s2 = 0;
            for (size_t i = 0; i < n; i++) s2 += r[i * k + c] * r[i * k + c];
            const double rel = sqrt(s2) / ynorm[c];
            if (rel <= o->tol) active[c] = false;
            worst = fmax(worst, rel);
        }
        if (o->progress && o->progress(o->progress_ctx, it, worst)) {
            s = dw_fail(DW_ERR_INVALID, "cg: cancelled at iteration %zu", it);
            break;
        }
        precond_apply(P, r, k, z);
        for (size_t c = 0; c < k; c++) {
            double a = 0;
            for (size_t i = 0; i < n; i++) a += r[i * k + c] * z[i * k + c];
            beta[c] = active[c] && rz[c] > 0 ? a / rz[c] : 0.0;
            rz[c] = a;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < k; c++) p[i * k + c] = active[c] ? z[i * k + c] + beta[c] * p[i * k + c] : 0.0;
    }
    if (!s) {
        /* the true residual of the answer, not the recursively updated one */
        double res = 0;
        s = dw_pred_tiles_train(tiles, x, k, lambda, q);
        for (size_t c = 0; !s && c < k; c++) {
            if (!(ynorm[c] > 0)) continue;
            double s2 = 0;
            for (size_t i = 0; i < n; i++) s2 += (Y[i * k + c] - q[i * k + c]) * (Y[i * k + c] - q[i * k + c]);
            res = fmax(res, sqrt(s2) / ynorm[c]);
        }
        if (!s && worst > o->tol)
            s = dw_fail(DW_ERR_RANGE,
                        "cg: not converged after %zu iterations (relative residual %.3g > tol %.3g); raise max_iter, "
                        "rank or diag_reg", it, worst, o->tol);
        *true_res = fmax(*true_res, res);
    }
    *iters += it;
    free(work);
    free(active);
    return s;
}

dw_status dw_pred_regress_cg(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n, const double *Y,
                             size_t k, const double *T, size_t m, size_t d, double *mean, double *cov, double *bound,
                             dw_predict_info *info)
{
    dw_pred_tiles tiles;
    precond P = {0};
    double *x = NULL;
    dw_status s = dw_pred_tiles_init(&tiles, net, o, X, n, T, m, d);
    if (s) return s;
    if (!(x = dw_alloc(n * k + n, sizeof *x, "cg: solution"))) s = DW_ERR_NOMEM;
    if (s) goto done;
    double *diag = x + n * k;
    if ((s = dw_pred_tiles_diag(&tiles, diag))) goto done;
    const double lambda = dw_pred_lambda(o, diag, n);
    size_t rank = o->rank_set ? o->rank : (n < 500 ? n : 500);
    if (rank > n) rank = n;
    const size_t cmax = (cov || bound) && dw_pred_cov_chunk(m) > k ? dw_pred_cov_chunk(m) : k;
    if ((s = rpcholesky(&tiles, diag, n, rank, lambda, &P, cmax))) goto done;
    size_t it = 0;
    double true_res = 0;
    s = pcg(&tiles, &P, o, lambda, Y, k, x, &it, &true_res);
    if (!s && info) { /* the mean's solve: what is reported */
        info->solver = "cg";
        info->jitter = lambda;
        info->iterations = it;
        info->rank = P.r;
        info->residual = true_res;
    }
    if (!s) s = dw_pred_tiles_test(&tiles, x, k, mean);
    if (!s && bound) { /* the certificate (cgbound.c), where the kernel has per-entry bounds */
        const bool cert = dw_pred_cg_bound_available(net, &tiles);
        const dw_pred_cg_solver sv = {&tiles, &P, o, lambda, pcg};
        if (cert) s = dw_pred_cg_bound(&sv, net, X, d, Y, x, k, mean, bound); /* +inf without a ridge */
        else
            for (size_t i = 0; i < m * k; i++) bound[i] = INFINITY;
        if (!s && info) info->lambda_lower = cert ? lambda : NAN; /* lambda_min(K_x + lambda I) >= lambda */
    }
    if (!s && cov) {
        dw_pred_cg_solver sv = {&tiles, &P, o, lambda, pcg};
        s = dw_pred_cg_cov(&sv, net, X, T, m, d, cov);
    }
done:
    precond_free(&P);
    free(x);
    dw_pred_tiles_clear(&tiles);
    return s;
}
