/* Signature-kernel scores from Gram matrices computed once (theory.md 5): the maximum mean discrepancy (biased and
 * unbiased), the kernel scoring rule, and the permutation two-sample test. Plain array functions, kept apart from
 * the PDE solver because they work on any positive-definite kernel's Gram matrices. */
#include "deepwick.h"
#include "core/internal.h"
#include "core/rng.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every entry finite; `name` is the argument as the Python keyword names it. */
static dw_status check_gram(const char *name, const double *K, size_t rows, size_t cols)
{
    if (!K) return dw_fail(DW_ERR_INVALID, "%s: NULL Gram matrix", name);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(K[i * cols + j]))
                return dw_fail(DW_ERR_INVALID, "%s: non-finite entry at (%zu, %zu)", name, i, j);
    return DW_OK;
}

static dw_status check_sizes(size_t n, size_t m, bool unbiased)
{
    const size_t lo = unbiased ? 2 : 1;
    if (n < lo || m < lo)
        return dw_fail(DW_ERR_INVALID, "%s: need at least %zu paths in each sample, got n = %zu, m = %zu",
                       unbiased ? "unbiased MMD" : "MMD", lo, n, m);
    return DW_OK;
}

/* The three block sums of the pooled Gram P (N x N, N = n + m) under the permutation idx (first n: the X sample),
 * row-major within each block; diagonals left out when `offdiag`. The identity on the pooled Gram adds the same
 * numbers in the same order as mmd_blocks on the three Grams, so the observed statistic is bit-identical. */
static void pooled_sums(const double *P, size_t n, size_t m, const size_t *idx, bool offdiag, double sum[3])
{
    const size_t N = n + m;
    double sxx = 0.0, syy = 0.0, sxy = 0.0;
    for (size_t a = 0; a < n; a++) {
        const double *row = P + idx[a] * N;
        for (size_t b = 0; b < n; b++)
            if (!offdiag || a != b) sxx += row[idx[b]];
    }
    for (size_t a = n; a < N; a++) {
        const double *row = P + idx[a] * N;
        for (size_t b = n; b < N; b++)
            if (!offdiag || a != b) syy += row[idx[b]];
    }
    for (size_t a = 0; a < n; a++) {
        const double *row = P + idx[a] * N;
        for (size_t b = n; b < N; b++) sxy += row[idx[b]];
    }
    sum[0] = sxx;
    sum[1] = syy;
    sum[2] = sxy;
}

static double mmd_from_sums(const double sum[3], size_t n, size_t m, bool unbiased)
{
    const double dn = (double)n, dm = (double)m;
    const double cx = unbiased ? dn * (dn - 1.0) : dn * dn, cy = unbiased ? dm * (dm - 1.0) : dm * dm;
    return sum[0] / cx + sum[1] / cy - 2.0 * sum[2] / (dn * dm);
}

static double block_sum(const double *K, size_t rows, size_t cols, bool offdiag)
{
    double s = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (!offdiag || i != j) s += K[i * cols + j];
    return s;
}

dw_status dw_sig_mmd(const double *Kxx, size_t n, const double *Kyy, size_t m, const double *Kxy, bool unbiased,
                     double *mmd2)
{
    dw_status s;
    if (!mmd2) return dw_fail(DW_ERR_INVALID, "mmd: NULL output");
    if ((s = check_sizes(n, m, unbiased)) || (s = check_gram("Kxx", Kxx, n, n)) ||
        (s = check_gram("Kyy", Kyy, m, m)) || (s = check_gram("Kxy", Kxy, n, m)))
        return s;
    const double sum[3] = {block_sum(Kxx, n, n, unbiased), block_sum(Kyy, m, m, unbiased),
                           block_sum(Kxy, n, m, false)};
    *mmd2 = mmd_from_sums(sum, n, m, unbiased);
    return DW_OK;
}

dw_status dw_sig_score(const double *Kxx, size_t n, const double *kxy, double *score)
{
    dw_status s;
    if (!score) return dw_fail(DW_ERR_INVALID, "score: NULL output");
    if (n < 2) return dw_fail(DW_ERR_INVALID, "score: need at least 2 paths in the sample X, got %zu", n);
    if ((s = check_gram("Kxx", Kxx, n, n)) || (s = check_gram("kxy", kxy, n, 1))) return s;
    const double dn = (double)n;
    *score = block_sum(Kxx, n, n, true) / (dn * (dn - 1.0)) - 2.0 * block_sum(kxy, n, 1, false) / dn;
    return DW_OK;
}

dw_status dw_sig_mmd_test(const double *Kxx, size_t n, const double *Kyy, size_t m, const double *Kxy,
                          size_t permutations, unsigned long long seed, double *mmd2, double *p_value)
{
    dw_status s;
    if (!mmd2 || !p_value) return dw_fail(DW_ERR_INVALID, "mmd_test: NULL output");
    if (permutations < 1) return dw_fail(DW_ERR_INVALID, "permutations: expected at least 1, got 0");
    if ((s = check_sizes(n, m, true)) || (s = check_gram("Kxx", Kxx, n, n)) || (s = check_gram("Kyy", Kyy, m, m)) ||
        (s = check_gram("Kxy", Kxy, n, m)))
        return s;
    if (n > SIZE_MAX / 2 - m) return dw_fail(DW_ERR_INVALID, "mmd_test: n + m overflows");
    const size_t N = n + m;
    if (N > SIZE_MAX / sizeof(double) / N) return dw_fail(DW_ERR_NOMEM, "mmd_test: the pooled Gram is too large");
    /* The pooled Gram [[Kxx, Kxy], [Kxy^T, Kyy]], assembled once. */
    double *P = dw_alloc(N * N, sizeof(double), "the pooled Gram matrix of the two-sample test");
    size_t *idx = dw_alloc(N, sizeof(size_t), "the permutation of the two-sample test");
    if (!P || !idx) {
        free(P);
        free(idx);
        return DW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(P + i * N, Kxx + i * n, n * sizeof(double));
        memcpy(P + i * N + n, Kxy + i * m, m * sizeof(double));
    }
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) P[(n + i) * N + j] = Kxy[j * m + i];
        memcpy(P + (n + i) * N + n, Kyy + i * m, m * sizeof(double));
    }
    /* A relabelling that only reorders the samples gives the observed statistic up to rounding: count as
     * reaching it whatever is within the rounding bound of averages of entries of size at most max |P|. */
    double maxabs = 0.0;
    for (size_t i = 0; i < N * N; i++) maxabs = fmax(maxabs, fabs(P[i]));
    const double tol = 8.0 * (double)N * DBL_EPSILON * maxabs;
    double sum[3];
    for (size_t i = 0; i < N; i++) idx[i] = i;
    pooled_sums(P, n, m, idx, true, sum);
    const double stat = mmd_from_sums(sum, n, m, true);
    /* Permutation b is a Fisher-Yates shuffle of the identity driven by the stream (seed, b): a pure function of
     * (seed, b), so the p-value depends on neither the order nor the number of threads. */
    size_t count = 0;
    for (size_t b = 0; b < permutations; b++) {
        dw_rng r;
        dw_rng_init(&r, (uint64_t)seed, (uint64_t)b, 0x5c0e5, 0);
        for (size_t i = 0; i < N; i++) idx[i] = i;
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = (size_t)(dw_rng_uniform(&r) * (double)(i + 1));
            if (j > i) j = i;
            const size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        pooled_sums(P, n, m, idx, true, sum);
        if (mmd_from_sums(sum, n, m, true) >= stat - tol) count++;
    }
    free(P);
    free(idx);
    *mmd2 = stat;
    *p_value = (1.0 + (double)count) / (1.0 + (double)permutations);
    return DW_OK;
}
