/* Internal: the pieces shared by the dense-network drivers (sampled networks in network.c, given networks in
 * given.c): the fused bias + activation kernel, input checks, the blocking. Parallel loops run through dw_par_for
 * (src/core/par.h).
 */
#ifndef DW_SAMPLE_DENSE_H
#define DW_SAMPLE_DENSE_H

#include "act/act.h"
#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DW_FWD_COLS 512 /* forward pass: output units per work item */
#define DW_FWD_ROWS 512 /* forward pass: input rows per work item (each GEMM packs its block of W once for them) */

/* For rows i < rows: h = H[i, :] + b (b may be NULL), written back to H; with act, A[i, :] = phi(h) (A may be H)
 * and D[i, :] = phi'(h) if D. check_h: h must be finite (catches non-finite weights or inputs, which a relu would
 * otherwise turn into 0); the outputs must always be finite. Returns the first row that is not, or SIZE_MAX. */
size_t dw_dense_bias_act_rows(size_t rows, size_t cols, double *H, size_t ldh, const double *b, const dw_act *act,
                              double *A, size_t lda, double *D, size_t ldd, int check_h);


/* ------------------------------------------------------------------------------------------------------------
 * The engine: forward pass, outputs, empirical NNGP / NTK Gram of m networks of one shape on the same inputs
 * (sampled networks: network.c; given ones: given.c). Items are (network, block of rows x units) or (network,
 * Gram tile), each one single-threaded BLAS call on a fixed block, so results do not depend on the threads.
 *
 *  NNGP: K(x, y) = ws_H a^H(x).a^H(y) + bs_H (H = n_layers - 1 hidden layers, a^0 = x);
 *  NTK:  Theta(x, y) = (1/d_out) sum_k sum_{l=0..H} <df_k/dh^{l+1}(x), df_k/dh^{l+1}(y)> (ws_l a^l(x).a^l(y) + bs_l)
 * by back-propagation (theory.md 1.3); bs_l counts only where the layer has a bias.
 * ---------------------------------------------------------------------------------------------------------- */

#define DW_DENSE_TILE 128 /* Gram tile (diagonal tiles by dsyrk: half the work) */
/* The Gram's tiles of side T over the stacked inputs: symmetric (n1 >= n), the upper triangle of an nt x nt tiling
 * (j0 >= i0); cross (n1 < n), rows 0..n1-1 against rows n1..n-1, a full nt1 x nt2 tiling. How many, and tile q's
 * rows [i0, i1) and columns [j0, j1). Shared by the dense and the architecture samplers. */
size_t dw_dense_ntiles(size_t n, size_t n1, size_t T);
void dw_dense_tile_of(size_t q, size_t n, size_t n1, size_t T, size_t *i0, size_t *i1, size_t *j0, size_t *j1);
/* The tiles of tile rows [R0, R1) (of side T): the first one's number *qoff, how many. */
size_t dw_dense_tiles_of_rows(size_t n, size_t n1, size_t T, size_t R0, size_t R1, size_t *qoff);

typedef struct {
    size_t n_layers;      /* weight matrices: hidden layers + 1 */
    const size_t *widths; /* widths[0] = d, ..., widths[n_layers] = d_out */
    const dw_act *act;
    const double *ws, *bs; /* per-layer Gram scales (n_layers each; NULL: 1) */
    int given;             /* given weights: check pre-activations too, and word errors for a given network */
} dw_dense_shape;

typedef struct {
    const double *const *W; /* W[l]: widths[l+1] x widths[l], row-major */
    const double *const *b; /* NULL, or b[l] NULL where layer l has no bias */
    double *F;              /* n x d_out outputs, or NULL */
    double *G;              /* n x n Gram of the run's kind, or NULL */
    double *work;           /* dw_dense_work(shape, n, kind) doubles */
    unsigned long long label; /* sample number, for messages */
} dw_dense_net;

/* Doubles of work space one network needs (NTK: every hidden layer's a^l and phi'(h^l), two gradient buffers of
 * n x d_out x widest; otherwise two activation buffers). */
double dw_dense_work(const dw_dense_shape *sh, size_t n, dw_sample_gram kind);

/* Evaluate the m networks on X (n x widths[0]): F where asked, the Gram where kind is set: with n1 >= n the
 * n x n Gram of all rows (upper triangle mirrored: exactly symmetric), with n1 < n the n1 x (n - n1) cross Gram of
 * rows 0..n1-1 against rows n1..n-1 (finiteness of the Gram is the caller's to check). The first failure in
 * (network, layer, row) order is reported. */
dw_status dw_dense_eval(const dw_dense_shape *sh, const dw_dense_net *nets, size_t m, const double *X, size_t n,
                        size_t n1, dw_sample_gram kind, int threads);
/* The same with only the Gram's rows [g0, g1) (g0 a multiple of DW_DENSE_TILE, g1 too or the last row): their tiles
 * of dw_dense_eval, the same bits. Symmetric: entry (i, j), j >= i, at G[(i - g0)(n - g0) + j - g0] (the rest
 * unset); cross: G[(i - g0)(n - n1) + j - n1]. */
dw_status dw_dense_eval_rows(const dw_dense_shape *sh, const dw_dense_net *nets, size_t m, const double *X, size_t n,
                             size_t n1, dw_sample_gram kind, int threads, size_t g0, size_t g1);

#endif
