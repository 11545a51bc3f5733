/* Counter-based random numbers (Philox4x64-10, Random123): a stream is a pure function of its identifiers,
 * so results do not depend on the number of threads or on the order in which streams are drawn. */
#ifndef DW_CORE_RNG_H
#define DW_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t key[2];   /* (seed, a) */
    uint64_t ctr[4];   /* (block index, 0, b, c) */
    uint64_t out[4];   /* the current block of 4 words */
    int avail;         /* words of out not yet used */
    int has_spare;     /* Box-Muller gives normals in pairs */
    double spare;
} dw_rng;

/* The stream identified by (seed, a, b, c), e.g. (seed, sample, layer, row block). */
void dw_rng_init(dw_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
uint64_t dw_rng_u64(dw_rng *r);
/* Uniform on the open interval (0, 1): (k + 1/2) 2^-53, k uniform on 0..2^53-1. */
double dw_rng_uniform(dw_rng *r);
/* Standard normal by Box-Muller (exact up to libm rounding; no rejection, so a fixed number of words). */
double dw_rng_normal(dw_rng *r);
void dw_rng_normals(dw_rng *r, double *x, size_t n);

#endif
