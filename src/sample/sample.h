/* Internal view of the sample module (theory.md 2): weight laws and their streams, reusable by other modules
 * (cResNet / linear-CDE samplers, finite-Jacobian spectra).
 *
 * Streams: a matrix of one layer of one sample is drawn in blocks of DW_SAMPLE_ROWBLOCK rows, block k from the
 * Philox stream (seed, sample, layer, k); a bias vector from the stream (seed, sample, layer, DW_SAMPLE_BIAS_STREAM).
 * A block's values depend only on its key, so any thread may draw any block in any order.
 */
#ifndef DW_SAMPLE_INTERNAL_H
#define DW_SAMPLE_INTERNAL_H

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

/* ------------------------------------------------------------------------------------------------------------
 * Sampled networks: the options object, one sampled network's layout (snet.c) and the driver (driver.c) that the
 * public calls (run.c, converge.c) share.
 * ---------------------------------------------------------------------------------------------------------- */
#include "net/net.h"

#include <stdbool.h>

/* A run whose networks are split over several processes (deepwick-mpi's cli/mpi_sample.c; the library does no
 * message passing). Each batch of networks (split.c) is cut into nparts contiguous runs, counts[k] networks for
 * part k; this process (part) computes its run into mine, then exchange(ctx, st, mine, all, counts, record) must
 * fail on every part if any part's st failed, else gather every part's records (record doubles per network: its
 * outputs, then its Gram) into all, in network order, on every part. Every part then consumes every network in
 * order, as one process would: the results are the single process's bit for bit, for any nparts. */
typedef struct dw_sample_split {
    int part, nparts;
    size_t batch; /* networks per batch; 0: at least one per thread of every part, more within 64 MiB of records */
    dw_status (*exchange)(void *ctx, dw_status st, const double *mine, double *all, const size_t *counts,
                          size_t record);
    void *ctx;
} dw_sample_split;

struct dw_sample_opts {
    unsigned long long seed, first_sample;
    int threads;
    dw_sample_progress_fn progress;
    void *progress_ctx;
    bool reduce;
    size_t width; /* the architecture sampler's width where a layer's is unset (0: none) */
    const dw_sample_split *split; /* NULL: one process */
};

/* Set (or with NULL clear) o's split (borrowed). */
dw_status dw_sample_opts_set_split(dw_sample_opts *o, const dw_sample_split *split);
/* DW_OK for NULL or a split with its part among nparts >= 1 and an exchange (split.c). */
dw_status dw_sample_split_check(const dw_sample_split *split);

/* o, or the defaults where o is NULL. */
const dw_sample_opts *dw_sample_opts_or_default(const dw_sample_opts *o);

/* One sampled network's shape and the layout of its work space (every sample of a run has the same). */
typedef struct dw_snet {
    int L;
    size_t n, d, dout;     /* points, input dimension, real output dimension rw[L+1] */
    size_t *rw;            /* real widths rw[0..L+1] (complex: hidden and output doubled) */
    size_t *cw;            /* widths as given (complex counts) */
    double *wv, *bv;       /* per layer, index 1..L+1 */
    int cplx, standard, gauss1;
    dw_law law;
    const dw_act *act;
    uint64_t seed;
    int ntk, outputs; /* outputs: the engine computes f (set by the caller; dw_snet_init sets 1) */
    dw_sample_gram gram;
    double *gws, *gbs;      /* the Gram's per-layer scales (index 0..L) */
    /* offsets (in doubles) inside one sample's work space */
    size_t *offW, *offb, offF, offGram, offWork, total;
    size_t g0, g1, grows; /* dw_snet_gram_rows: only the Gram's rows [g0, g1) (0, 0, 0: the whole n x n) */
} dw_snet;

/* Check the net (fully connected with a readout; `who` names the call in messages) against the inputs' sizes and
 * lay out one sample's work space. all_width > 0: every hidden layer has that width (the convergence study);
 * 0: the net's widths, which must be set. */
dw_status dw_snet_init(dw_snet *t, const dw_net *net, const char *who, unsigned long long seed, size_t n, size_t d,
                       dw_sample_gram gram, size_t all_width);
void dw_snet_clear(dw_snet *t);
/* Out of core (run_file.c): the Gram's slot shrunk to blocks of at most B rows (B x n doubles); each dw_snet_run
 * then computes the rows [t->g0, t->g1) only (whole tiles of the engine: the bits of the whole Gram), entry (i, j),
 * j >= i, at (i - g0)(n - g0) + j - g0 of the slot. */
void dw_snet_gram_rows(dw_snet *t, size_t B);
/* run.c: sample s's outputs u (the engine's real layout; complex: (u_re, u_im)) into F (S x n x out_dim, complex:
 * (re, im) pairs), as dw_sample_run writes them. */
void dw_sample_take_outputs(double *F, size_t s, size_t n, size_t dout, int cplx, const double *u);
/* Bytes of one sample's work space plus one thread's scratch. */
double dw_snet_sample_bytes(const dw_snet *t);

/* The driver: samples first .. first + S - 1 in chunks, three parallel phases per chunk (weights, then the dense
 * engine), then `consume` called on the calling thread for every sample in order, with its work space. */
typedef dw_status (*dw_snet_consumer)(void *ctx, size_t s, const dw_snet *t, const double *base);

typedef struct dw_snet_progress {
    dw_sample_progress_fn fn;
    void *ctx;
    double offset, unit, total; /* progress = offset + unit * samples done, out of total */
} dw_snet_progress;

dw_status dw_snet_run(const dw_snet *t, const double *X, size_t S, uint64_t first, int threads,
                      dw_snet_consumer consume, void *cctx, const dw_snet_progress *prog);

/* split.c: samples first .. first + S - 1 of the fully connected t (p NULL) or of the architecture p (t NULL), with
 * its outputs (outputs) and its Gram of kind, each handed to consume(ctx, s, F, G) in sample order (F: the real
 * layout, t->dout or p->dout per input; NULL when not asked for): dw_snet_run / dw_asamp_run, or with o->split
 * the networks split over the parts and exchanged. */
typedef dw_status (*dw_sample_consumer)(void *ctx, size_t s, const double *F, const double *G);
struct asamp_prog;
dw_status dw_sample_drive(const dw_sample_opts *o, const dw_snet *t, const struct asamp_prog *p, const double *X,
                          size_t n, size_t S, uint64_t first, int kind, bool outputs, dw_sample_consumer consume,
                          void *cctx, const dw_snet_progress *prog);

#endif
