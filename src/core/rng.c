/* Philox4x64-10 streams (see rng.h). */
#include "rng.h"

#include <Random123/philox.h>
#include <math.h>

void dw_rng_init(dw_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    r->key[0] = seed;
    r->key[1] = a;
    r->ctr[0] = 0;
    r->ctr[1] = 0;
    r->ctr[2] = b;
    r->ctr[3] = c;
    r->avail = 0;
    r->has_spare = 0;
    r->spare = 0.0;
}

static void refill(dw_rng *r)
{
    philox4x64_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
    philox4x64_key_t k = {{r->key[0], r->key[1]}};
    philox4x64_ctr_t o = philox4x64(c, k);
    for (int i = 0; i < 4; i++) r->out[i] = o.v[i];
    r->avail = 4;
    if (++r->ctr[0] == 0) ++r->ctr[1]; /* 2^128 blocks per stream */
}

uint64_t dw_rng_u64(dw_rng *r)
{
    if (r->avail == 0) refill(r);
    return r->out[4 - r->avail--];
}

double dw_rng_uniform(dw_rng *r)
{
    return ((double)(dw_rng_u64(r) >> 11) + 0.5) * 0x1p-53;
}

double dw_rng_normal(dw_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = dw_rng_uniform(r), u2 = dw_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double s, c;
    /* sin/cos of 2 pi u2 from the half-turn forms: exact at the quarter turns, no large-argument reduction */
    double t = 2.0 * u2;
    s = sin(M_PI * t);
    c = cos(M_PI * t);
    r->spare = rad * s;
    r->has_spare = 1;
    return rad * c;
}

void dw_rng_normals(dw_rng *r, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = dw_rng_normal(r);
}
