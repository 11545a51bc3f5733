/* The posterior covariance on the matrix-free route (theory.md 6; docs/predict.md "Solvers"): the test columns of
 * the test-train kernel are solved against A = K + lambda I by cg.c's preconditioned CG, a block of them at a time,
 * and every product with a kernel is taken tile by tile (tiles.c); only the m x m test-test NNGP is dense (it is the
 * size of the answer). NNGP (the GP posterior): cov = K_tt - K_td A^{-1} K_td^T. NTK (the infinite ensemble trained
 * to convergence, the dense route's form): cov = K_tt + T1^T K T1 - T2 - T2^T, T1 = A^{-1} Theta_td^T (n x m, kept
 * whole for the cross terms), T2 = Theta_td A^{-1} K_td^T = T1^T K_td^T, K and K_td the NNGP. */
#include "predict/predict.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#define COV_CHUNK 64
#define COV_TILE 512

size_t dw_pred_cov_chunk(size_t m) { return m < COV_CHUNK ? m : COV_CHUNK; }

/* B (n x c) = the test-train kernel's rows [j0, j0 + c) transposed, of the solver's kind; S: c x COV_TILE scratch */
static dw_status test_columns(const dw_pred_tiles *t, size_t j0, size_t c, double *S, double *B)
{
    const size_t n = t->n;
    for (size_t i0 = 0; i0 < n; i0 += COV_TILE) {
        const size_t w = n - i0 < COV_TILE ? n - i0 : COV_TILE;
        dw_status s = dw_kernel_tile(t->ptx, j0, j0 + c, i0, i0 + w, t->ntk ? NULL : S, t->ntk ? S : NULL, w, c * w);
        if (s) return s;
        for (size_t a = 0; a < c; a++)
            for (size_t i = 0; i < w; i++) B[(i0 + i) * c + a] = S[a * w + i];
    }
    return DW_OK;
}

dw_status dw_pred_cg_cov(const dw_pred_cg_solver *sv, const dw_net *net, const double *X, const double *T, size_t m,
                         size_t d, double *cov)
{
    dw_pred_tiles *t = sv->tiles, g;
    const size_t n = t->n, ch = dw_pred_cov_chunk(m);
    const bool ntk = t->ntk;
    memset(&g, 0, sizeof g);
    /* the prior covariance: the NNGP at the test points (dense, m x m like the answer) */
    dw_status s = dw_kernel_gram(net, t->ko, T, m, NULL, m, d, cov, NULL, NULL);
    if (s) return s;
    double *B = dw_alloc(2 * n * ch + m * ch + ch * COV_TILE, sizeof *B, "cg covariance: test columns");
    if (!B) return DW_ERR_NOMEM;
    double *Z = B + n * ch, *R = Z + n * ch, *S = R + m * ch;
    double *T1 = NULL, *KT1 = NULL, *G2 = NULL;
    if (ntk) {
        dw_predict_opts on = *sv->o;
        on.ntk = false; /* the NNGP as an operator too */
        s = dw_pred_tiles_init(&g, net, &on, X, n, T, m, d);
        if (!s && !(T1 = dw_alloc(n * m, sizeof *T1, "cg covariance: A^{-1} Theta_td^T"))) s = DW_ERR_NOMEM;
        if (!s && !(KT1 = dw_alloc(n * m, sizeof *KT1, "cg covariance: K T1"))) s = DW_ERR_NOMEM;
        if (!s && !(G2 = dw_alloc(m * m, sizeof *G2, "cg covariance: K_td T1"))) s = DW_ERR_NOMEM;
    }
    size_t its = 0;
    double res = 0;
    for (size_t j0 = 0; !s && j0 < m; j0 += ch) {
        const size_t c = m - j0 < ch ? m - j0 : ch;
        if ((s = test_columns(t, j0, c, S, B))) break;
        if ((s = sv->solve(t, sv->precond, sv->o, sv->lambda, B, c, Z, &its, &res))) break;
        if (ntk) {
            for (size_t i = 0; i < n; i++) memcpy(T1 + i * m + j0, Z + i * c, c * sizeof *Z);
            continue;
        }
        if ((s = dw_pred_tiles_test(t, Z, c, R))) break; /* K_td A^{-1} K_td^T, columns [j0, j0 + c) */
        for (size_t a = 0; a < m; a++)
            for (size_t b = 0; b < c; b++) cov[a * m + j0 + b] -= R[a * c + b];
    }
    if (!s && ntk) {
        s = dw_pred_tiles_test(&g, T1, m, G2); /* G2 = K_td T1, T2 = G2^T */
        if (!s) s = dw_pred_tiles_train(&g, T1, m, 0.0, KT1);
        if (!s) {
            const int saved = dw_pred_threads_begin(1); /* the same bits for any thread count, as the tiles */
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)n, 1.0, T1, (int)m, KT1, (int)m,
                        1.0, cov, (int)m);
            dw_pred_threads_end(saved);
            for (size_t a = 0; a < m; a++)
                for (size_t b = 0; b < m; b++) cov[a * m + b] -= G2[a * m + b] + G2[b * m + a];
        }
    }
    if (ntk) dw_pred_tiles_clear(&g);
    free(B);
    free(T1);
    free(KT1);
    free(G2);
    return s;
}
