/* Signature-kernel scores (src/sig/scores.c), by independent routes:
 * - on Grams of explicit features K = Phi Phi^T the MMD^2 and the score have closed forms in feature space
 *   (|mean phi_X - mean phi_Y|^2, and its U-statistic correction), computed here from Phi alone;
 * - the observed statistic of the test is bit for bit dw_sig_mmd's unbiased MMD^2;
 * - with n = m = 2 the 6 relabellings can be listed: the permutation p-value converges to their exceedance
 *   fraction (binomial tolerance, 5 standard errors); clearly different samples give the smallest p-value 1/(B+1);
 * - the same seed gives the same p-value; every error path.
 */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

enum { P = 5 };

static void gram(const double *A, size_t n, const double *B, size_t m, double *K)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double s = 0;
            for (size_t k = 0; k < P; k++) s += A[i * P + k] * B[j * P + k];
            K[i * m + j] = s;
        }
}

/* mean feature, sum of feature vectors and sum of their squared norms */
static void moments(const double *A, size_t n, double *sum, double *sq)
{
    memset(sum, 0, P * sizeof(double));
    *sq = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < P; k++) {
            sum[k] += A[i * P + k];
            *sq += A[i * P + k] * A[i * P + k];
        }
}

static double dot(const double *a, const double *b)
{
    double s = 0;
    for (size_t k = 0; k < P; k++) s += a[k] * b[k];
    return s;
}

static void test_feature_space(void)
{
    enum { N = 7, M = 5 };
    double X[N * P], Y[M * P], Kxx[N * N], Kyy[M * M], Kxy[N * M];
    unsigned long long seed = 11;
    for (size_t i = 0; i < N * P; i++) X[i] = urand(&seed) - 0.5;
    for (size_t i = 0; i < M * P; i++) Y[i] = urand(&seed) - 0.3;
    gram(X, N, X, N, Kxx);
    gram(Y, M, Y, M, Kyy);
    gram(X, N, Y, M, Kxy);
    double sx[P], sy[P], qx, qy;
    moments(X, N, sx, &qx);
    moments(Y, M, sy, &qy);
    const double biased = dot(sx, sx) / (N * N) + dot(sy, sy) / (M * M) - 2 * dot(sx, sy) / (N * M);
    const double unbiased =
        (dot(sx, sx) - qx) / (N * (N - 1.0)) + (dot(sy, sy) - qy) / (M * (M - 1.0)) - 2 * dot(sx, sy) / (N * M);
    double v = NAN;
    CHECK(dw_sig_mmd(Kxx, N, Kyy, M, Kxy, false, &v) == DW_OK);
    CHECK_CLOSE(v, biased, 1e-13, 1e-15);
    CHECK(dw_sig_mmd(Kxx, N, Kyy, M, Kxy, true, &v) == DW_OK);
    CHECK_CLOSE(v, unbiased, 1e-13, 1e-15);
    /* score at y = Y[0] */
    double kxy[N];
    gram(X, N, Y, 1, kxy);
    const double score = (dot(sx, sx) - qx) / (N * (N - 1.0)) - 2 * dot(sx, Y) / N;
    CHECK(dw_sig_score(Kxx, N, kxy, &v) == DW_OK);
    CHECK_CLOSE(v, score, 1e-13, 1e-15);
    /* the test's statistic is dw_sig_mmd's, bit for bit; same seed, same p-value */
    double t, p, t2, p2;
    CHECK(dw_sig_mmd_test(Kxx, N, Kyy, M, Kxy, 200, 3, &t, &p) == DW_OK);
    CHECK(dw_sig_mmd(Kxx, N, Kyy, M, Kxy, true, &v) == DW_OK && t == v);
    CHECK(dw_sig_mmd_test(Kxx, N, Kyy, M, Kxy, 200, 3, &t2, &p2) == DW_OK && t2 == t && p2 == p);
    CHECK(p > 0 && p <= 1 && fmod(p * 201, 1.0) < 1e-9);
    /* clearly different laws: Y shifted far away, no relabelling reaches the observed MMD^2 */
    for (size_t i = 0; i < M * P; i++) Y[i] += 5.0;
    gram(Y, M, Y, M, Kyy);
    gram(X, N, Y, M, Kxy);
    CHECK(dw_sig_mmd_test(Kxx, N, Kyy, M, Kxy, 99, 0, &t, &p) == DW_OK);
    CHECK_CLOSE(p, 1.0 / 100.0, 1e-15, 0);
}

/* n = m = 2: the p-value tends to the share of the 6 labellings (X = {a, b}) whose statistic reaches the observed. */
static void test_enumeration(void)
{
    const double pts[4 * P] = {0.1, 0.2, -0.3, 0.5, 0.0, 0.4, -0.1, 0.2, 0.3, -0.2,
                               0.9, 0.1, 0.2, -0.4, 0.6, 0.2, 0.5, -0.6, 0.1, 0.3};
    double Kp[16];
    gram(pts, 4, pts, 4, Kp);
    const int pairs[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
    double stat[6];
    for (int c = 0; c < 6; c++) {
        int x[2] = {pairs[c][0], pairs[c][1]}, y[2], k = 0;
        for (int i = 0; i < 4; i++)
            if (i != x[0] && i != x[1]) y[k++] = i;
        double Kxx[4], Kyy[4], Kxy[4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                Kxx[i * 2 + j] = Kp[x[i] * 4 + x[j]];
                Kyy[i * 2 + j] = Kp[y[i] * 4 + y[j]];
                Kxy[i * 2 + j] = Kp[x[i] * 4 + y[j]];
            }
        CHECK(dw_sig_mmd(Kxx, 2, Kyy, 2, Kxy, true, &stat[c]) == DW_OK);
    }
    for (int c = 0; c < 6; c++) {
        int reach = 0;
        for (int e = 0; e < 6; e++) reach += stat[e] >= stat[c] - 1e-12;
        const double q = reach / 6.0;
        int x[2] = {pairs[c][0], pairs[c][1]}, y[2], k = 0;
        for (int i = 0; i < 4; i++)
            if (i != x[0] && i != x[1]) y[k++] = i;
        double Kxx[4], Kyy[4], Kxy[4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                Kxx[i * 2 + j] = Kp[x[i] * 4 + x[j]];
                Kyy[i * 2 + j] = Kp[y[i] * 4 + y[j]];
                Kxy[i * 2 + j] = Kp[x[i] * 4 + y[j]];
            }
        const size_t B = 20000;
        double t, p;
        CHECK(dw_sig_mmd_test(Kxx, 2, Kyy, 2, Kxy, B, 7, &t, &p) == DW_OK);
        const double se = sqrt(q * (1 - q) / B);
        CHECK_CLOSE(p, q, 0, 5 * se + 2.0 / B);
    }
}

static void test_errors(void)
{
    double K4[4] = {1, 0.5, 0.5, 1}, K1 = 1, v, p;
    CHECK(dw_sig_mmd(K4, 2, K4, 2, K4, true, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_mmd(&K1, 1, K4, 2, K4, true, &v) == DW_ERR_INVALID && strstr(dw_error_message(), "n = 1"));
    CHECK(dw_sig_mmd(&K1, 1, &K1, 1, &K1, false, &v) == DW_OK && v == 0.0);
    CHECK(dw_sig_mmd(K4, 2, K4, 2, NULL, true, &v) == DW_ERR_INVALID && strstr(dw_error_message(), "Kxy"));
    CHECK(dw_sig_mmd(K4, 0, K4, 2, K4, false, &v) == DW_ERR_INVALID);
    double bad[4] = {1, NAN, 0.5, 1};
    CHECK(dw_sig_mmd(K4, 2, bad, 2, K4, true, &v) == DW_ERR_INVALID && strstr(dw_error_message(), "Kyy: non-finite"));
    CHECK(dw_sig_score(K4, 2, NULL, &v) == DW_ERR_INVALID && strstr(dw_error_message(), "kxy"));
    CHECK(dw_sig_score(&K1, 1, &K1, &v) == DW_ERR_INVALID && strstr(dw_error_message(), "at least 2"));
    CHECK(dw_sig_score(K4, 2, K4, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_mmd_test(K4, 2, K4, 2, K4, 0, 0, &v, &p) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "permutations"));
    CHECK(dw_sig_mmd_test(&K1, 1, K4, 2, K4, 10, 0, &v, &p) == DW_ERR_INVALID);
    CHECK(dw_sig_mmd_test(K4, 2, K4, 2, K4, 10, 0, &v, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_mmd_test(K4, 2, K4, 2, bad, 10, 0, &v, &p) == DW_ERR_INVALID);
}

int main(void)
{
    test_feature_space();
    test_enumeration();
    test_errors();
    return check_done("sig_scores");
}
