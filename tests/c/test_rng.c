/* Philox streams: the published known-answer vector, stream independence from draw order, and the
 * moments of uniforms and normals against their exact values within 5 standard errors. */
#include "check.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>

int main(void)
{
    /* Random123 kat_vectors: philox4x64_10, zero counter and key */
    dw_rng r;
    dw_rng_init(&r, 0, 0, 0, 0);
    CHECK(dw_rng_u64(&r) == 0x16554d9eca36314cULL);
    CHECK(dw_rng_u64(&r) == 0xdb20fe9d672d0fdcULL);
    CHECK(dw_rng_u64(&r) == 0xd7e772cee186176bULL);
    CHECK(dw_rng_u64(&r) == 0x7e68b68aec7ba23bULL);

    /* a stream is a function of its identifiers only */
    dw_rng a, b;
    dw_rng_init(&a, 42, 1, 2, 3);
    double first[10];
    for (int i = 0; i < 10; i++) first[i] = dw_rng_normal(&a);
    dw_rng_init(&b, 7, 9, 9, 9);
    for (int i = 0; i < 5; i++) (void)dw_rng_normal(&b);
    dw_rng_init(&b, 42, 1, 2, 3);
    int same = 1;
    for (int i = 0; i < 10; i++) same &= dw_rng_normal(&b) == first[i];
    CHECK(same);
    dw_rng_init(&b, 42, 1, 2, 4);
    CHECK(dw_rng_normal(&b) != first[0]);

    /* moments: uniform mean 1/2, var 1/12; normal E z = 0, E z^2 = 1, E z^4 = 3 (SE from the law's own moments) */
    const size_t n = 400000;
    double su = 0, su2 = 0, s1 = 0, s2 = 0, s4 = 0, umin = 1, umax = 0;
    dw_rng_init(&a, 2026, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
        double u = dw_rng_uniform(&a);
        su += u;
        su2 += (u - 0.5) * (u - 0.5);
        umin = u < umin ? u : umin;
        umax = u > umax ? u : umax;
        double z = dw_rng_normal(&a);
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    CHECK(umin > 0 && umax < 1);
    CHECK(fabs(su / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
    CHECK(fabs(su2 / n - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / n));
    CHECK(fabs(s1 / n) < 5 * sqrt(1.0 / n));
    CHECK(fabs(s2 / n - 1) < 5 * sqrt(2.0 / n));
    CHECK(fabs(s4 / n - 3) < 5 * sqrt(96.0 / n));
    return check_done("rng");
}
