/* Shared helpers of the architecture engine's tests (test_arch*.c): error text, relative agreement, a
 * deterministic fill, the Gram of a net with the default options. */
#ifndef DW_ARCH_UTIL_H
#define DW_ARCH_UTIL_H

#include "deepwick.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static inline int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

/* Relative agreement of two n-vectors: max |a - b| / max |b|. */
static inline double rel_diff(const double *a, const double *b, size_t n)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > e) e = fabs(a[i] - b[i]);
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return s > 0 ? e / s : e;
}

static inline void fill(double *x, size_t n, unsigned seed)
{
    unsigned long long st = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        x[i] = (double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

static inline dw_status gram(const dw_net *net, const double *X, size_t n, const double *Y, size_t m, size_t d, double *K,
                      double *T)
{
    return dw_kernel_gram(net, NULL, X, n, Y, m, d, K, T, NULL);
}

#endif
