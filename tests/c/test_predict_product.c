/* The mean's thin product (src/predict/product.c) and the one-pass copy and checks of dw_predict_init:
 * - small-integer matrices, whose products are exact in double: equal to the naive sum exactly;
 * - real entries: the same bits for 1 and 3 threads and with the portable kernel (DW_NO_SIMD=1), and within
 *   gamma_n |K||W| of a long double sum;
 * - a non-finite entry of K* is named (the first in row-major order), or not checked with what = NULL;
 * - dw_predict_init on a kernel of several 32 x 32 blocks: a non-finite entry or an asymmetric pair in any block
 *   (upper or lower triangle) gets the error naming it; a good kernel's mean equals the naive formula. */
#include "check.h"
#include "deepwick.h"
#include "predict/predict.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

static unsigned long long state = 88172645463325252ULL;
static double unif(void) /* xorshift64 in [0, 1) */
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}

static void test_exact_and_bits(void)
{
    const size_t m = 37, n = 301, ks[3] = {1, 10, 13};
    double *Km = malloc(m * n * sizeof *Km), *W = malloc(n * 13 * sizeof *W);
    double *out = malloc(m * 13 * sizeof *out), *o2 = malloc(m * 13 * sizeof *o2);
    for (int q = 0; q < 3; q++) {
        const size_t k = ks[q];
        for (size_t i = 0; i < m * n; i++) Km[i] = floor(17.0 * unif()) - 8.0;
        for (size_t i = 0; i < n * k; i++) W[i] = floor(17.0 * unif()) - 8.0;
        CHECK(dw_pred_product(Km, m, n, W, k, 2, "K", out) == DW_OK);
        int exact = 1;
        for (size_t i = 0; i < m; i++)
            for (size_t c = 0; c < k; c++) {
                double s = 0; /* |s| <= 301 * 64: every partial sum an exact integer */
                for (size_t j = 0; j < n; j++) s += Km[i * n + j] * W[j * k + c];
                exact = exact && out[i * k + c] == s;
            }
        CHECK(exact);
        for (size_t i = 0; i < m * n; i++) Km[i] = 2.0 * unif() - 1.0;
        for (size_t i = 0; i < n * k; i++) W[i] = 1e3 * (2.0 * unif() - 1.0);
        CHECK(dw_pred_product(Km, m, n, W, k, 1, NULL, out) == DW_OK);
        CHECK(dw_pred_product(Km, m, n, W, k, 3, NULL, o2) == DW_OK);
        CHECK(memcmp(out, o2, m * k * sizeof *out) == 0);
        setenv("DW_NO_SIMD", "1", 1);
        CHECK(dw_pred_product(Km, m, n, W, k, 2, NULL, o2) == DW_OK);
        unsetenv("DW_NO_SIMD");
        CHECK(memcmp(out, o2, m * k * sizeof *out) == 0);
        const double g = (double)n * DBL_EPSILON / (1.0 - (double)n * DBL_EPSILON);
        int close = 1;
        for (size_t i = 0; i < m; i++)
            for (size_t c = 0; c < k; c++) {
                long double s = 0;
                double a = 0;
                for (size_t j = 0; j < n; j++) {
                    s += (long double)Km[i * n + j] * W[j * k + c];
                    a += fabs(Km[i * n + j] * W[j * k + c]);
                }
                close = close && fabs(out[i * k + c] - (double)s) <= g * a;
            }
        CHECK(close);
    }
    /* the first non-finite entry in row-major order is named; what NULL: no check */
    const size_t k = 10;
    Km[20 * n + 3] = INFINITY;
    Km[5 * n + 17] = NAN;
    CHECK(dw_pred_product(Km, m, n, W, k, 3, "k_test_train", out) == DW_ERR_INVALID &&
          has("k_test_train: entry (5, 17) is nan"));
    CHECK(dw_pred_product(Km, m, n, W, k, 3, NULL, out) == DW_OK);
    Km[5 * n + 17] = 0.5;
    CHECK(dw_pred_product(Km, m, n, W, k, 1, "k_test_train", out) == DW_ERR_INVALID &&
          has("k_test_train: entry (20, 3) is inf"));
    free(Km);
    free(W);
    free(out);
    free(o2);
}

static void test_init_checks(void)
{
    const size_t n = 100, k = 2; /* 4 blocks of 32 a side, the last partial */
    double *Kk = malloc(n * n * sizeof *Kk), *B = malloc(n * n * sizeof *B), Y[200], mean[200];
    /* K = G G^T + n I with G of small integers: symmetric exactly, well conditioned */
    double *Gm = malloc(n * 8 * sizeof *Gm);
    for (size_t i = 0; i < n * 8; i++) Gm[i] = floor(5.0 * unif()) - 2.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = i == j ? (double)n : 0.0;
            for (size_t l = 0; l < 8; l++) s += Gm[i * 8 + l] * Gm[j * 8 + l];
            Kk[i * n + j] = s;
        }
    for (size_t i = 0; i < n * k; i++) Y[i] = 2.0 * unif() - 1.0;
    dw_predict *p = NULL;
    const size_t bad[4][2] = {{3, 70}, {90, 10}, {64, 65}, {99, 99}};
    for (int q = 0; q < 4; q++) {
        memcpy(B, Kk, n * n * sizeof *B);
        const size_t i = bad[q][0], j = bad[q][1];
        B[i * n + j] = q % 2 ? NAN : INFINITY;
        char want[64];
        snprintf(want, sizeof want, "k_train_train: entry (%zu, %zu) is %s", i, j, q % 2 ? "nan" : "inf");
        CHECK(dw_predict_init(&p, NULL, B, NULL, n, Y, k) == DW_ERR_INVALID && has(want) && !p);
        if (i != j) {
            B[i * n + j] = Kk[i * n + j] + 1.0; /* finite, not symmetric */
            CHECK(dw_predict_init(&p, NULL, B, NULL, n, Y, k) == DW_ERR_INVALID && has("not symmetric") && !p);
        }
    }
    /* the good kernel: A^{-1} Y at the train points, K (K)^{-1} Y = Y (diag_reg 0) */
    CHECK(dw_predict_init(&p, NULL, Kk, NULL, n, Y, k) == DW_OK);
    CHECK(dw_predict_mean_cov(p, INFINITY, Kk, NULL, NULL, n, mean, NULL) == DW_OK);
    double worst = 0;
    for (size_t i = 0; i < n * k; i++) worst = fmax(worst, fabs(mean[i] - Y[i]));
    CHECK(worst < 1e-12);
    dw_predict_clear(p);
    free(Kk);
    free(B);
    free(Gm);
}

int main(void)
{
    test_exact_and_bits();
    test_init_checks();
    return check_done("predict_product");
}
