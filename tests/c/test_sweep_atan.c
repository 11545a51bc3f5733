/* The covariance sweeps' inlined arctangent (sweep_body.h atan2_pos) for y, x >= 0: the same bits as SLEEF's
 * vector atan2 of 3.5 ulp, which it replaces (the library call, where the CPU has AVX2), the same bits from the
 * scalar and the AVX2 builds, and within 3.5 ulp of libm's atan2 (an independent implementation), on angles
 * spread over [0, pi/2], both arguments over the whole exponent range, and the edges (an argument 0, y = x,
 * subnormals, one argument 2^600 times the other). */
#include "check.h"
#include "act/sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { N = 1 << 16 };

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static double urand(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) / 9007199254740992.0;
}

/* ulps of want between got and want */
static double ulps(double got, double want)
{
    if (got == want) return 0.0;
    const double u = nextafter(want, INFINITY) - want;
    return fabs(got - want) / u;
}

#if defined(DW_HAVE_AVX2) && defined(__GNUC__) && defined(__x86_64__)
typedef double v4d __attribute__((vector_size(32), aligned(8)));
__attribute__((target("avx2,fma"))) extern v4d Sleef_atan2d4_u35avx2(v4d y, v4d x);
__attribute__((target("avx2,fma"))) static void sleef_n(size_t n, const double *y, const double *x, double *r)
{
    for (size_t j = 0; j < n; j += 4) {
        const v4d v = Sleef_atan2d4_u35avx2(*(const v4d *)(y + j), *(const v4d *)(x + j));
        memcpy(r + j, &v, sizeof v);
    }
}
#define HAVE_SLEEF_AVX2 1
#endif

static double Y[N], X[N], R[N], S[N];

static void fill(void)
{
    size_t k = 0;
    /* the edges: one argument 0, equal arguments, subnormals, far apart */
    const double edge[][2] = {{0.0, 1.0},         {1.0, 0.0},          {1.0, 1.0},      {3.5, 3.5},
                              {1e-310, 1.0},      {1.0, 1e-310},       {4.9e-324, 1e-320}, {1e-320, 4.9e-324},
                              {0x1p-300, 0x1p300}, {0x1p300, 0x1p-300}, {1e300, 1e308},  {1e308, 1e-308},
                              {0.0, 4.9e-324},    {4.9e-324, 0.0},     {0.5, 0.5000000000000001},
                              {0.5000000000000001, 0.5}};
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++, k++) {
        Y[k] = edge[e][0];
        X[k] = edge[e][1];
    }
    /* angles spread over [0, pi/2] at a unit radius, around pi/4 (the swap), and near 0 and pi/2 */
    for (; k < N / 4; k++) {
        const double a = (M_PI / 2) * urand();
        Y[k] = sin(a);
        X[k] = cos(a);
    }
    for (; k < N / 2; k++) {
        const double a = M_PI / 4 + ldexp(urand() - 0.5, -(int)(40 * urand()));
        Y[k] = sin(a);
        X[k] = cos(a);
    }
    /* both arguments over the exponent range (each from 2^-500 to 2^500) */
    for (; k < N; k++) {
        Y[k] = ldexp(0.5 + urand(), (int)(1000 * urand()) - 500);
        X[k] = ldexp(0.5 + urand(), (int)(1000 * urand()) - 500);
    }
}

static void check_impl(const dw_sweep_impl *impl)
{
    impl->atan2_pos(N, Y, X, R);
    double worst = 0.0;
    int in_range = 1;
    for (size_t k = 0; k < N; k++) {
        const double u = ulps(R[k], atan2(Y[k], X[k]));
        if (u > worst) worst = u;
        if (!(R[k] >= 0.0 && R[k] <= M_PI / 2 + 1e-15)) in_range = 0;
    }
    printf("%s: worst %.2f ulp against libm's atan2\n", impl->name, worst);
    CHECK(worst <= 3.5);
    CHECK(in_range);
#ifdef HAVE_SLEEF_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        sleef_n(N, Y, X, S);
        size_t differ = 0;
        for (size_t k = 0; k < N; k++) differ += memcmp(&R[k], &S[k], sizeof R[k]) != 0;
        printf("%s: %zu of %d entries differ from Sleef_atan2d4_u35avx2 in their bits\n", impl->name, differ, N);
        CHECK(differ == 0);
    }
#endif
}

int main(void)
{
    fill();
    check_impl(&dw_sweep_scalar);
#ifdef DW_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        check_impl(&dw_sweep_avx2);
        double A[N];
        dw_sweep_scalar.atan2_pos(N, Y, X, A);
        dw_sweep_avx2.atan2_pos(N, Y, X, R);
        CHECK(memcmp(A, R, sizeof A) == 0); /* the two builds: the same operations, the same bits */
    }
#endif
    return check_done("test_sweep_atan");
}
