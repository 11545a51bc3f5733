/** deepwick/kernels.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/kernels/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_KERNELS_H
#define DEEPWICK_KERNELS_H

#include <stdbool.h>

#include "deepwick/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ------------------------------------------------------------------------------------------------------------
 * kernel: NNGP and NTK of fully connected networks (theory.md 1.1-1.3)
 *
 * The network is a dw_net of the fully connected shape with a readout (dw_net_set_fc(net, depth, act, true)):
 * depth L >= 0 activations, L + 1 dense layers whose weight_var / bias_var are sigma_w^2, sigma_b^2 of layers
 * 1..L+1 (depth 0 is the linear model K^1). The tangent kernel of the standard parameterisation
 * (dw_net_set_param) needs the hidden widths n_1..n_L (dw_net_set_widths); the NNGP is the same for both. Widths,
 * the weight law and the output dimension do not enter the infinite-width limits.
 * ---------------------------------------------------------------------------------------------------------- */

/** Options (an opaque object, see net.h for the conventions). Defaults: the last layer only, threads 0. */
typedef struct dw_kernel_opts dw_kernel_opts;
DW_API dw_status dw_kernel_opts_init(dw_kernel_opts **o);
DW_API void dw_kernel_opts_clear(dw_kernel_opts *o);
/** true: the outputs hold every layer K^1..K^{L+1}, (depth + 1) x n x m. */
DW_API dw_status dw_kernel_opts_set_all_layers(dw_kernel_opts *o, bool on);
/** Threads (dw_par_for workers), 0 (the OpenMP default) to 4096; results do not depend on it. */
DW_API dw_status dw_kernel_opts_set_threads(dw_kernel_opts *o, int threads);

/** Out-of-core Grams (dw_kernel_gram_file only). Working memory in bytes (> 0), or 0 (the default):
 * DW_KERNEL_MEMORY_FRACTION of the memory available when the computation starts (MemAvailable). It bounds the
 * library's own allocations (the plan, the row block, the tiles' scratch); the process adds its code, BLAS'
 * buffers and the caller's inputs. */
#define DW_KERNEL_MEMORY_FRACTION 0.5
DW_API dw_status dw_kernel_opts_set_memory(dw_kernel_opts *o, double bytes);
/** true: continue an interrupted dw_kernel_gram_file of the same output from its completed rows (see there). */
DW_API dw_status dw_kernel_opts_set_resume(dw_kernel_opts *o, bool on);
/** Progress of dw_kernel_gram_file, called from the calling thread with the tiles done and their total (tiles of
 * TILE_I = 32 rows x 256 columns; architecture nets: pairs of inputs; a resumed run starts at those already done);
 * a non-zero return stops the computation as an interruption (resumable). fn NULL: none. */
typedef int (*dw_kernel_progress_fn)(void *ctx, double done, double total);
DW_API dw_status dw_kernel_opts_set_progress(dw_kernel_opts *o, dw_kernel_progress_fn fn, void *ctx);

/** What one dw_kernel_gram call did (an opaque result object): the route, and two bounds for the generic route:
 * on the returned entries (max_bound, propagated through the layers) and on each Gaussian expectation evaluated
 * (expectation_bound: E[phi(u)phi(v)] and E[phi'(u)phi'(v)], every entry and layer, relative to
 * sqrt(E[phi(u)^2] E[phi(v)^2]) (resp. phi'), at its evaluated argument). */
typedef struct dw_kernel_info dw_kernel_info;
DW_API dw_status dw_kernel_info_init(dw_kernel_info **info);
DW_API void dw_kernel_info_clear(dw_kernel_info *info);
/** "closed form ...", "Isserlis ..." or the generic route(s) used (owned by the library; "" before any call). */
DW_API const char *dw_kernel_info_method(const dw_kernel_info *info);
/** The largest error bound of a returned entry, relative to sqrt(K(x, x) K(y, y)) for the NNGP and to
 * sqrt(Theta(x, x) Theta(y, y)) for the NTK: the expectations' bounds of every layer propagated through the
 * recursion (first order; with a kink of phi' the rounding of rho moves E[phi'(u) phi'(v)] like 1/theta, so
 * near-duplicate pairs get large bounds: docs/ACCURACY.md), and at least expectation_bound. 0 for closed forms
 * (exact to rounding). See dw_kernel_info_estimate. */
DW_API double dw_kernel_info_max_bound(const dw_kernel_info *info);
/** The largest error bound of one Gaussian expectation at its evaluated argument, relative to
 * sqrt(E phi(u)^2 E phi(v)^2) (what the generic route's target applies to); 0 for closed forms. */
DW_API double dw_kernel_info_expectation_bound(const dw_kernel_info *info);
/** true when max_bound holds an ESTIMATED part: a Gram over inputs of many distinct norms takes the Hermite
 * coefficients at most variances from an interpolant in log q, whose error is estimated from its last Chebyshev
 * coefficients, with the nodes' own errors carried with factor 1 where the Lebesgue constant of the 17 nodes is
 * ~2.8: an estimate, not a bound. false: every coefficient was expanded at its own variance. */
DW_API bool dw_kernel_info_estimate(const dw_kernel_info *info);
/** The bound aimed at by the generic route (DW_DUAL_TARGET), 0 for closed forms. */
DW_API double dw_kernel_info_target(const dw_kernel_info *info);
/** Gaussian expectations evaluated by the generic route (pairs x layers). */
DW_API size_t dw_kernel_info_evaluations(const dw_kernel_info *info);
/** Of those, how many the series could not certify: answered by 2-D quadrature. */
DW_API size_t dw_kernel_info_quadrature(const dw_kernel_info *info);
/** The largest Mehler order K used (generic), else 0. */
DW_API int dw_kernel_info_series_terms(const dw_kernel_info *info);

/** Gram matrices K(X, Y) (NNGP, K^{L+1}) and/or Theta(X, Y) (NTK, Theta^{L+1}); X is n x d, Y is m x d, or
 * Y == NULL for K(X, X), which is then exactly symmetric (m is then n). K and Theta are caller-allocated
 * n x m (or (depth + 1) x n x m with all_layers), either may be NULL but not both. o NULL: the defaults.
 * info (NULL: not wanted) receives how the expectations were computed. */
DW_API dw_status dw_kernel_gram(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                                const double *Y, size_t m, size_t d, double *K, double *Theta, dw_kernel_info *info);

/** dw_kernel_gram with a certified error bound beside every returned entry: BK[i, j] >= |K_exact(x_i, y_j) -
 * K[i, j]| and BTheta likewise (absolute, the layout of K and Theta; either may be NULL, each needs its Gram
 * matrix), K_exact the kernel of the float64 inputs in exact arithmetic (docs/kernel.md "Per-entry error
 * bounds"). The Gram matrices are bit for bit those of dw_kernel_gram. Closed forms (the relu family: relu,
 * leaky_relu, abs and expressions that are one; identity, erf, sin, cos, exp): the double's error measured against a
 * long-double reference plus the reference's own a priori rounding bound (where long double is double, or for
 * relu-family expressions with a rounded scale: a forward analysis of the sweep's operations); activations of the
 * generic route: each entry's own expectation bound
 * propagated through the layers (its estimated part, if any, as dw_kernel_info_estimate says); depth 0: any
 * activation. Dense networks only, final layer only (not with all_layers); gelu, poly, step: DW_ERR_INVALID naming
 * them. */
DW_API dw_status dw_kernel_gram_bound(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                                      const double *Y, size_t m, size_t d, double *K, double *Theta, double *BK,
                                      double *BTheta, dw_kernel_info *info);

/** true when dw_kernel_gram_bound has per-entry bounds for this network (see there). */
DW_API bool dw_kernel_gram_bound_available(const dw_net *net);

/** The Gram matrices of dw_kernel_gram written into the .npy file `path` (float64, little endian, C order) row
 * block by row block, so that only the working memory of dw_kernel_opts_set_memory is resident, whatever n and
 * m: shape (n, m), (depth + 1, n, m) with all_layers, and with nngp and ntk both (2, n, m) or (2, depth + 1, n, m),
 * index 0 the NNGP (the CLI's --kind both). The bytes of the array are those of dw_kernel_gram's result.
 *
 * The rows go into "<dir>/.<name>.deepwick-partial" beside `path`, renamed to `path` once complete (after an
 * fsync when there were several blocks, each block synced before it is recorded; a run of one block is written like
 * dw_io_write_npy's outputs, without a sync), so `path` is never half-written: an interrupted run (a signal, SIGKILL, a full disk, a progress callback
 * returning non-zero) leaves the previous `path` untouched. A side file "<dir>/.<name>.deepwick-resume" records
 * the completed rows and a hash of the computation (library version, network, kind, layers, inputs; not the
 * memory nor the threads, which do not change a bit): with dw_kernel_opts_set_resume the next run continues from
 * there (a run with another hash is refused, DW_ERR_INVALID, and the files are kept); without it, or after a
 * failure that a rerun would repeat (bad input, overflow), the next start removes them. The partial file is
 * locked (flock) while a run writes it: a second run on the same output fails at once. Space on the disk is
 * checked before any work. Y NULL: K(X, X), exactly symmetric, each entry computed once. info as dw_kernel_gram
 * (across a resume too: the side file carries the statistics of the completed rows). Nets of the architecture
 * engine (beyond the fully connected shape) are written the same way (not all_layers); their hash covers the net's
 * canonical spelling (dw_net_spec), parameterisation and input shape, and their progress counts pairs of inputs
 * (a symmetric Gram's pairs j >= i) instead of tiles. */
DW_API dw_status dw_kernel_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                                     const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                                     dw_kernel_info *info);

/** The working memory of dw_kernel_gram_file: `fixed` bytes (the plan, the tiles' scratch, staging) plus
 * `per_row` bytes per row of a block (a block of B rows needs fixed + B per_row; dw_kernel_opts_set_memory then
 * gives blocks of floor((memory - fixed) / per_row) rows, rounded down to a multiple of 32 from 32 on). */
DW_API dw_status dw_kernel_gram_file_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m,
                                           bool nngp, bool ntk, double *fixed, double *per_row);

/** Bytes a Gram computation needs (outputs + work space) for the outputs asked for (nngp, ntk), into *bytes. */
DW_API dw_status dw_kernel_gram_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp,
                                      bool ntk, double *bytes);

/** Tiles: a plan holds the inputs' per-point recursions; a tile computes rows i0..i1-1, columns j0..j1-1 of
 * the outputs, entry (i, j) of layer l going to out[l * layer_stride + (i - i0) * ld + (j - j0)].
 * A tile's entries are bit-identical to those of dw_kernel_gram, whatever the tiling: for K(X, X) (Y NULL) the
 * entries below the diagonal are the mirrors of those above it and K's diagonal the per-point recursion, as
 * dw_kernel_gram writes them (so a tile reaching below the diagonal also computes the mirrors of its entries there
 * that lie outside it). Thread-safe. The plan
 * borrows the net's activation and the inputs X, Y: they must outlive it. */
typedef struct dw_kernel_plan dw_kernel_plan;
DW_API dw_status dw_kernel_plan_init(dw_kernel_plan **plan, const dw_net *net, const dw_kernel_opts *o,
                                     const double *X, size_t n, const double *Y, size_t m, size_t d);
DW_API void dw_kernel_plan_clear(dw_kernel_plan *plan);
DW_API dw_status dw_kernel_tile(const dw_kernel_plan *plan, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                                double *Theta, size_t ld, size_t layer_stride);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_KERNELS_H */
