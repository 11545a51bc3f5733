/* Internal view of the sampling module (theory.md 2): weight laws and their streams, reusable by other modules
 * (cResNet / linear-CDE samplers, finite-Jacobian spectra).
 *
 * Streams: a matrix of one layer of one sample is drawn in blocks of DW_SAMPLE_ROWBLOCK rows, block k from the
 * Philox stream (seed, sample, layer, k); a bias vector from the stream (seed, sample, layer, DW_SAMPLE_BIAS_STREAM).
 * A block's values depend only on its key, so any thread may draw any block in any order.
 */
#ifndef DW_SAMPLING_H
#define DW_SAMPLING_H

#include "core/internal.h"
#include "core/rng.h"

#include <stdint.h>

#define DW_SAMPLE_ROWBLOCK 64
#define DW_SAMPLE_BIAS_STREAM UINT64_MAX

/* Is the law i.i.d. (every law but orthogonal)? Complex? */
static inline int dw_law_iid(const dw_law *law) { return law->kind != DW_LAW_ORTHOGONAL; }
static inline int dw_law_complex(const dw_law *law) { return law->kind == DW_LAW_COMPLEX_GAUSSIAN; }

/* One unit-variance real draw of an i.i.d. real law (not complex, not orthogonal). */
double dw_law_draw(const dw_law *law, dw_rng *r);

/* Rows [r0, r1) of an i.i.d. matrix with `cols` columns, times `scale`, into out (row-major, leading dimension ld):
 * row block by row block, so r0 must be a multiple of DW_SAMPLE_ROWBLOCK. Complex laws write (re, im) pairs:
 * out must hold 2 * cols doubles per row then (ld counts doubles). */
void dw_law_fill_rows(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t r0,
                      size_t r1, size_t cols, double scale, double *out, size_t ld);

/* A whole rows x cols unit-variance matrix times scale (any law; orthogonal by Householder QR of a Gaussian with
 * the sign fix, needs LAPACK work space). Sequential; DW_ERR_NOMEM / DW_ERR_INTERNAL with a message on failure. */
dw_status dw_law_matrix(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t rows,
                        size_t cols, double scale, double *W);

/* Unit-variance bias vector of a layer (length n; complex: n (re, im) pairs), from the bias stream: Gaussian for
 * every law (a bias enters each unit as one term, so a non-Gaussian bias would keep the pre-activations
 * non-Gaussian at every width). */
void dw_law_bias(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t n, double *b);

/* Haar orthogonal: overwrite the m x k (m >= k, row-major) Gaussian matrix A by the Q factor of its QR
 * factorisation with R's diagonal made positive (Mezzadri's sign fix), i.e. a Haar-distributed matrix with
 * orthonormal columns. */
dw_status dw_law_haar_q(double *A, size_t m, size_t k);

#endif
