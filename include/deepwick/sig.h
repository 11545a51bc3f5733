/** deepwick/sig.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/sig/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_SIG_H
#define DEEPWICK_SIG_H

#include <stdbool.h>

#include "deepwick/act.h"
#include "deepwick/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ======================================================================================
 * sig: signatures, signature kernels, neural signature kernels, cResNets, linear CDEs (theory.md 5)
 * ====================================================================================== */

/** Paths are piecewise linear through `len` points in R^d, stored batch x len x d (row-major, float64); every
 * function checks d >= 1 and that every entry is finite, naming the offending path and point, and len >= 2, except
 * signatures, log-signatures, signature kernels and their gradients, which accept len >= 1: a one-point path is
 * constant, its signature is (1, 0, ..., 0) (zeros once level 0 is left out) and its kernel with any path is 1.
 *
 * Conventions of the module. Every computation takes its options object first (an opaque object, dw_X_init /
 * dw_X_clear, setters that validate at once and name the option as the Python keyword does), then its inputs, and
 * writes its outputs last. `threads` lives in each options object (dw_sig_*_opts_set_threads, 0..4096; 0, the
 * default: all cores, as in every module, core.h); results never depend on it. An options object is read-only during computations: calls
 * may share it across threads. */

#define DW_SIG_THREADS_MAX DW_THREADS_MAX

/** Read paths from .npy (3-D: batch x len x d; 2-D: one path len x d) or .csv (one path, len x d); *data is
 * malloc'ed (free()). Entries must be finite (the readers' checks). On error *data is NULL and the sizes are 0. */
DW_API dw_status dw_sig_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d);

/** ---- truncated signatures (theory.md 5) ---- */
typedef struct dw_sig_opts dw_sig_opts;
/** level unset (the computations ask for it), default threads. */
DW_API dw_status dw_sig_opts_init(dw_sig_opts **o);
DW_API void dw_sig_opts_clear(dw_sig_opts *o);
/** Truncation level n, 0..64 (level 0 is never stored: n = 0 gives no entries). */
DW_API dw_status dw_sig_opts_set_level(dw_sig_opts *o, int level);
DW_API dw_status dw_sig_opts_set_threads(dw_sig_opts *o, int threads);

/** Path transforms, applied to every path before the computation (and adjointly in the gradients), in this order:
 * basepoint (the origin prepended), lead-lag (pySigLib's transform: channels (lag, lead), 2 len - 1 points), time
 * augmentation (a last channel t_i = end_time i / (len' - 1), len' the length so far; end_time > 0, finite, default
 * 1), as pySigLib's time_aug / lead_lag / end_time. The same setters exist for dw_sig_kernel_opts. The transformed
 * paths are formed in memory (batch x len' x d'). */
DW_API dw_status dw_sig_opts_set_time_aug(dw_sig_opts *o, bool time_aug);
DW_API dw_status dw_sig_opts_set_lead_lag(dw_sig_opts *o, bool lead_lag);
DW_API dw_status dw_sig_opts_set_basepoint(dw_sig_opts *o, bool basepoint);
DW_API dw_status dw_sig_opts_set_end_time(dw_sig_opts *o, double end_time);
/** The length and dimension of the paths the computations see after the transforms: the signature's entries are
 * dw_sig_size(*d2, level), a stream's length *len2 - 1. */
DW_API dw_status dw_sig_opts_path_shape(const dw_sig_opts *o, size_t len, size_t d, size_t *len2, size_t *d2);
/** out (batch x len2 x d2, from dw_sig_opts_path_shape): the transformed paths themselves (pySigLib's
 * transform_path), the paths every computation with these options sees. X: batch x len x d finite points. */
DW_API dw_status dw_sig_transform_paths(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                        double *out);
/** gX (batch x len x d) = the adjoint of the transforms applied to gT (batch x len2 x d2): the gradient with respect
 * to the paths of <gT, transformed paths> (pySigLib's transform_path_backprop). */
DW_API dw_status dw_sig_transform_paths_backward(const dw_sig_opts *o, const double *gT, size_t batch, size_t len,
                                                 size_t d, double *gX);

/** Entries of a level-n signature without level 0: d + d^2 + ... + d^n (0 for n = 0). DW_ERR_INVALID when d = 0 or
 * the level is outside 0..64, DW_ERR_NOMEM naming the level when the count overflows; *size is 0 on error. */
DW_API dw_status dw_sig_size(size_t d, int level, size_t *size);
/** Entries of a level-n log-signature: the number of Lyndon words of length 1..n; errors as dw_sig_size. */
DW_API dw_status dw_sig_logsig_size(size_t d, int level, size_t *size);
/** out (batch x dw_sig_size): S(x) = exp(dx_1) (x) ... (x) exp(dx_M) (Chen), words level by level and
 * lexicographically within a level (iisignature's order). */
DW_API dw_status dw_sig_signature(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                  double *out);
/** out (batch x dw_sig_logsig_size): coordinates of log S(x) in the Lyndon basis (standard bracketing, Lyndon words
 * level by level, lexicographic within a level): iisignature's logsig. Other bases: dw_sig_opts_set_basis (then
 * batch x dw_sig_basis_size entries, here and in the backward). */
DW_API dw_status dw_sig_logsignature(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                     double *out);

/** ---- Chen's identity: streams and products (theory.md 5) ---- */
/** out (batch x (len - 1) x dw_sig_size): the signature of every prefix, entry i = S(x_0 .. x_{i+1}) (iisignature's
 * sig(..., format=2)), each bit for bit dw_sig_signature's of that prefix. A one-point path has no entries. With
 * path transforms: the prefixes of the transformed paths (len and d from dw_sig_opts_path_shape). */
DW_API dw_status dw_sig_signature_stream(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                         double *out);
/** out (batch x dw_sig_size) = S1 (x) S2 (level 0 of each taken as 1, left out of the arrays): the signature of the
 * concatenation of two paths from theirs (pySigLib's sig_combine). S1, S2: batch x dw_sig_size(d, level), finite.
 * Only the level of o is used (one thread; the path transforms do not apply). */
DW_API dw_status dw_sig_combine(const dw_sig_opts *o, const double *S1, const double *S2, size_t batch, size_t d,
                                double *out);

/** Gradients of the above (reverse mode; grad_out finite, outputs overwritten).
 * Stream: grad_out (batch x (len - 1) x dw_sig_size) -> grad_X (batch x len x d), one reverse pass of Chen's
 * products accumulating each prefix's gradient, threaded as dw_sig_signature_backward (with path transforms: sizes
 * of the transformed paths, the gradient back through the transform). Combine (one thread): grad_S1, grad_S2 (batch x dw_sig_size) from grad_out (pySigLib's
 * sig_combine_backprop, iisignature's sigcombinebackprop). */
DW_API dw_status dw_sig_signature_stream_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len,
                                                  size_t d, const double *grad_out, double *grad_X);
DW_API dw_status dw_sig_combine_backward(const dw_sig_opts *o, const double *S1, const double *S2, size_t batch,
                                         size_t d, const double *grad_out, double *grad_S1, double *grad_S2);

/** ---- extending and transforming given signatures (iisignature's sigjoin, sigscale, logsigtosig) ----
 * out (batch x dw_sig_size) = S (x) exp(h): the signature S (batch x dw_sig_size) of a path extended by one straight
 * segment of increment h. fixed_last NULL: h is batch x d; otherwise h is batch x (d - 1) and every segment's last
 * channel moves by *fixed_last (iisignature's sigjoin(X, D, m, f)). Only the level of o is used. */
DW_API dw_status dw_sig_join(const dw_sig_opts *o, const double *S, const double *h, size_t batch, size_t d,
                             const double *fixed_last, double *out);
/** Gradient of <grad_out, dw_sig_join(...)>: grad_S (batch x dw_sig_size), grad_h (the shape of h) and, with
 * fixed_last, *grad_fixed_last summed over the batch (may be NULL). iisignature's sigjoinbackprop. */
DW_API dw_status dw_sig_join_backward(const dw_sig_opts *o, const double *S, const double *h, size_t batch, size_t d,
                                      const double *fixed_last, const double *grad_out, double *grad_S,
                                      double *grad_h, double *grad_fixed_last);
/** out (batch x dw_sig_size): the signature of the path with channel i multiplied by scales[b, i] (scales batch x
 * d): word i_1..i_k times scales_{i_1} ... scales_{i_k} (iisignature's sigscale). */
DW_API dw_status dw_sig_scale(const dw_sig_opts *o, const double *S, const double *scales, size_t batch, size_t d,
                              double *out);
/** grad_S (batch x dw_sig_size) and grad_scales (batch x d) of <grad_out, dw_sig_scale(...)> (sigscalebackprop). */
DW_API dw_status dw_sig_scale_backward(const dw_sig_opts *o, const double *S, const double *scales, size_t batch,
                                       size_t d, const double *grad_out, double *grad_S, double *grad_scales);

/** ---- ways of writing log-signatures ----
 * lyndon (default): the Lyndon basis above; hall: the Hall basis of libalgebra / CoRoPa, iisignature's prepare(d,
 * m, 'H') (elements by degree; [h_i, h_j] with i < j in that order and, when h_j = [h_k, h_l], k <= i; basis(s)
 * lists them); expanded: log S itself in the tensor algebra, dw_sig_size entries (iisignature's 'X' method,
 * pySigLib's log_sig method 0). The Hall projection solves, level by level, a dense system on the Hall elements'
 * foliage words (memory and set-up O(c_k^2) and O(c_k^3) for c_k elements of level k). */
typedef enum dw_sig_basis { DW_SIG_LYNDON = 0, DW_SIG_HALL = 1, DW_SIG_EXPANDED = 2 } dw_sig_basis;
/** "lyndon" / "hall" / "expanded"; DW_ERR_INVALID naming `basis` otherwise. */
DW_API dw_status dw_sig_basis_parse(const char *name, dw_sig_basis *basis);
/** The basis of dw_sig_logsignature, its backward, dw_sig_logsig_to_sig and dw_sig_logsig_join. */
DW_API dw_status dw_sig_opts_set_basis(dw_sig_opts *o, dw_sig_basis basis);
/** The Lyndon or Hall basis of o (level and basis) in dimension d as brackets, iisignature's basis(s): one element
 * a line ("1", "[1,2]", "[1,[1,2]]": letters numbered from 1; Lyndon words with their standard bracketing), in
 * the log-signature's order, NUL-terminated. *len = the bytes needed (the NUL included); buf NULL asks only for
 * that, otherwise cap must be at least *len. The expanded basis has no brackets (DW_ERR_INVALID). */
DW_API dw_status dw_sig_basis_labels(const dw_sig_opts *o, size_t d, char *buf, size_t cap, size_t *len);
/** Entries of a level-n log-signature in the basis (expanded: dw_sig_size; else dw_sig_logsig_size). */
DW_API dw_status dw_sig_basis_size(dw_sig_basis basis, size_t d, int level, size_t *size);
/** out (batch x dw_sig_size) = exp(L) - 1 for the log-signatures L (batch x dw_sig_basis_size, basis of o): the
 * signature whose log-signature L is (iisignature's logsigtosig). */
DW_API dw_status dw_sig_logsig_to_sig(const dw_sig_opts *o, const double *L, size_t batch, size_t d, double *out);
/** out = log(exp(L) (x) exp(h)) in the basis of o: a log-signature extended by one segment (h and fixed_last as for
 * dw_sig_join; iisignature's logsigjoin). */
DW_API dw_status dw_sig_logsig_join(const dw_sig_opts *o, const double *L, const double *h, size_t batch, size_t d,
                                    const double *fixed_last, double *out);
/** Their gradients (iisignature's logsigtosigbackprop / logsigjoinbackprop): grad_L (batch x dw_sig_basis_size) of
 * <grad_out, dw_sig_logsig_to_sig(L)> for grad_out (batch x dw_sig_size); for the join grad_out has L's shape, and
 * grad_h (the shape of h) and *grad_fixed_last (summed over the batch; may be NULL) come too. Only the level and the
 * basis of o are used (one thread). */
DW_API dw_status dw_sig_logsig_to_sig_backward(const dw_sig_opts *o, const double *L, size_t batch, size_t d,
                                               const double *grad_out, double *grad_L);
DW_API dw_status dw_sig_logsig_join_backward(const dw_sig_opts *o, const double *L, const double *h, size_t batch,
                                             size_t d, const double *fixed_last, const double *grad_out,
                                             double *grad_L, double *grad_h, double *grad_fixed_last);

/** ---- gradients of signatures with respect to the paths (theory.md 5) ----
 * grad_X (batch x len x d) = d<grad_out, S(X)>/dX for grad_out (batch x dw_sig_size): the reverse pass of Chen's
 * products, each prefix rebuilt from the next by the inverse segment exponential (memory: a few tensors per thread,
 * whatever the length; iisignature's sigbackprop). The log-signature's version takes grad_out (batch x
 * dw_sig_basis_size, the basis of o) back through the projection onto the basis and the log series first. grad_out may be NULL when the
 * output has no entries (level 0); its entries must be finite. With path transforms the output sizes are those of
 * the transformed dimension and the gradient goes back through the transform. Results do not depend on the thread
 * count. */
DW_API dw_status dw_sig_signature_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                           const double *grad_out, double *grad_X);
DW_API dw_status dw_sig_logsignature_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len,
                                              size_t d, const double *grad_out, double *grad_X);

/** ---- signature kernels: the Goursat PDE (theory.md 5) ---- */
typedef enum dw_sig_solver { DW_SIG_SECOND_ORDER = 0, DW_SIG_FIRST_ORDER = 1 } dw_sig_solver;
typedef enum dw_sig_static { DW_SIG_LINEAR = 0, DW_SIG_RBF = 1 } dw_sig_static;
/** "second-order" / "first-order"; "linear" / "rbf". DW_ERR_INVALID naming `solver` / `static` otherwise. */
DW_API dw_status dw_sig_solver_parse(const char *name, dw_sig_solver *solver);
DW_API dw_status dw_sig_static_parse(const char *name, dw_sig_static *kind);

#define DW_SIG_KERNEL_DYADIC_MAX 40
typedef struct dw_sig_kernel_opts dw_sig_kernel_opts;
/** dyadic order 0, second order, linear static kernel, scale 1, default threads. */
DW_API dw_status dw_sig_kernel_opts_init(dw_sig_kernel_opts **o);
DW_API void dw_sig_kernel_opts_clear(dw_sig_kernel_opts *o);
/** lambda in 0..DW_SIG_KERNEL_DYADIC_MAX: each segment of both path sets cut into 2^lambda pieces (sets both
 * orders). */
DW_API dw_status dw_sig_kernel_opts_set_dyadic_order(dw_sig_kernel_opts *o, int dyadic_order);
/** The order of the second path set Y alone (pySigLib's dyadic_order = (order_x, order_y)), set after
 * dw_sig_kernel_opts_set_dyadic_order: a segment pair (I, J) is cut into 2^order_x x 2^order_y cells with
 * g = G_IJ / 2^(order_x + order_y). With unequal orders K(X, X) (Y == NULL) is not symmetric: entry (i, j) refines
 * x_i by 2^order_x and x_j by 2^order_y. Refining x_i by 2^a (order_x + a) is refining the path itself: inserting
 * 2^a - 1 equally spaced points in each of its segments (linear static kernel). */
DW_API dw_status dw_sig_kernel_opts_set_dyadic_order_y(dw_sig_kernel_opts *o, int dyadic_order_y);
/** Second order (default) or first order (for comparison). */
DW_API dw_status dw_sig_kernel_opts_set_solver(dw_sig_kernel_opts *o, dw_sig_solver solver);
/** linear: kappa = scale^2 <x, y>; rbf: exp(-|x - y|^2 / (2 scale^2)). */
DW_API dw_status dw_sig_kernel_opts_set_static(dw_sig_kernel_opts *o, dw_sig_static kind);
/** scale > 0, finite. */
DW_API dw_status dw_sig_kernel_opts_set_scale(dw_sig_kernel_opts *o, double scale);
DW_API dw_status dw_sig_kernel_opts_set_threads(dw_sig_kernel_opts *o, int threads);
/** Path transforms of both path sets, as for dw_sig_opts (dw_sig_opts_set_time_aug). */
DW_API dw_status dw_sig_kernel_opts_set_time_aug(dw_sig_kernel_opts *o, bool time_aug);
DW_API dw_status dw_sig_kernel_opts_set_lead_lag(dw_sig_kernel_opts *o, bool lead_lag);
DW_API dw_status dw_sig_kernel_opts_set_basepoint(dw_sig_kernel_opts *o, bool basepoint);
DW_API dw_status dw_sig_kernel_opts_set_end_time(dw_sig_kernel_opts *o, double end_time);

/** Work-space bytes of a Gram computation (the output excluded) into *bytes: the PDE rows of each thread, whatever
 * the number of paths (no per-pair or per-path buffers; path transforms add the transformed paths of the call). */
DW_API dw_status dw_sig_kernel_bytes(const dw_sig_kernel_opts *o, size_t lx, size_t ly, size_t d, double *bytes);
/** K (n x m) = k(x_i, y_j) for X (n x lx x d), Y (m x ly x d); Y == NULL gives K(X, X), exactly symmetric. */
DW_API dw_status dw_sig_kernel_gram(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, double *K);
/** Rows i0..i1-1 and columns j0..j1-1 of the Gram matrix into K (leading dimension ld), bit-identical to
 * dw_sig_kernel_gram's entries (Y == NULL: the symmetric Gram's entries). Only the tile's paths (x_i0..x_i1-1 and
 * y_j0..y_j1-1) are read, checked and transformed, so a loop over the tiles costs what the Gram matrix costs. */
DW_API dw_status dw_sig_kernel_tile(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0,
                                    size_t j1, size_t ld, double *K);
/** dw_sig_kernel_gram's K written to the .npy `path` (float64, n x m) out of core: row block by row block within the
 * working memory of fo (the blocks' pairs by dw_sig_kernel_tile), resumable, the bits of dw_sig_kernel_gram
 * (deepwick/io.h, dw_file_opts). */
DW_API dw_status dw_sig_kernel_gram_file(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                         const double *Y, size_t m, size_t ly, size_t d, const char *path,
                                         const dw_file_opts *fo);
/* Kernel scores on Gram matrices computed once (theory.md 5; any kernel's Grams, row-major, finite entries).
 * MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y) from Kxx (n x n), Kyy (m x m), Kxy (n x m): the unbiased form
 * (U-statistic) leaves out the diagonals of Kxx and Kyy (needs n, m >= 2), the biased form (V-statistic) keeps them. */
DW_API dw_status dw_sig_mmd(const double *Kxx, size_t n, const double *Kyy, size_t m, const double *Kxy, bool unbiased,
                            double *mmd2);
/** The scoring rule S(P, y) = E k(X, X') - 2 E k(X, y) of the sample X (n >= 2 paths, Kxx n x n, unbiased form of the
 * first term) at the observation y (kxy: the n values k(x_i, y)). Lower is better; E_y S(P, y) is minimal at y ~ P. */
DW_API dw_status dw_sig_score(const double *Kxx, size_t n, const double *kxy, double *score);
/** Two-sample test of P_X = P_Y: *mmd2 the unbiased MMD^2, *p_value = (1 + #{b : MMD^2_b >= MMD^2 - tol}) / (1 + B)
 * (tol = 8 (n + m) DBL_EPSILON max |K|, the rounding bound, so that mere reorderings tie) over
 * B = permutations >= 1 random relabellings of the pooled sample (its Gram assembled once; permutation b drawn from
 * the keyed stream (seed, b), so the result is a pure function of the inputs and the seed). */
DW_API dw_status dw_sig_mmd_test(const double *Kxx, size_t n, const double *Kyy, size_t m, const double *Kxy,
                                 size_t permutations, unsigned long long seed, double *mmd2, double *p_value);

/** The full PDE grid of n pairs (x_b, y_b) (pySigLib's sig_kernel(..., return_grid=True)): grid (n x rows x cols),
 * grid[b, p, q] = k(x_b on its first p refined pieces, y_b on its first q), rows = ((lx' - 1) << order_x) + 1,
 * cols = ((ly' - 1) << order_y) + 1 (lx', ly' the lengths after the path transforms; dw_sig_kernel_grid_shape).
 * Row 0 and column 0 are 1; grid[b, rows - 1, cols - 1] is bit for bit the Gram matrix's entry k(x_b, y_b).
 * X (n x lx x d), Y (n x ly x d), both required. */
DW_API dw_status dw_sig_kernel_grid_shape(const dw_sig_kernel_opts *o, size_t lx, size_t ly, size_t d, size_t *rows,
                                          size_t *cols);
DW_API dw_status dw_sig_kernel_grid(const dw_sig_kernel_opts *o, const double *X, const double *Y, size_t n,
                                    size_t lx, size_t ly, size_t d, double *grid);

/** Richardson-style error estimate of a Gram matrix K computed with options o: the Gram matrix at the next lower
 * dyadic orders (both orders one lower; both one higher when either is 0) K', and err = |K - K'| / (r - 1)
 * (r = 4 second order, 2 first order; an order 0: |K - K'| r / (r - 1)). Writes the largest absolute and relative
 * (to |K|) values. */
DW_API dw_status dw_sig_kernel_error(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                     const double *Y, size_t m, size_t ly, size_t d, const double *K,
                                     double *max_abs, double *max_rel);

/** Gradient of the Gram matrix: grad_X (n x lx x d) = d(sum_ij grad_K[i, j] K[i, j])/dX, grad_Y (m x ly x d) likewise
 * (NULL exactly when Y is NULL: then K = K(X, X) and both slots of every entry count towards grad_X), and
 * *grad_scale = the derivative with respect to the static kernel's scale (grad_scale may be NULL). grad_K (n x m)
 * must be finite. The discrete adjoint of the Goursat solver above (the adjoint PDE of sigkernel / pySigLib, at the
 * same dyadic orders and solver): the exact gradient of the computed K. Work space: the refined PDE grid of one pair
 * ((lx-1) 2^order_x + 1) x ((ly-1) 2^order_y + 1) kept whole, for 8 pairs per thread, and the pair list and
 * per-pair gradients of one batch of pairs (about 8 MB), whatever n x m. Independent of the thread count. */
DW_API dw_status dw_sig_kernel_gram_backward(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                             const double *Y, size_t m, size_t ly, size_t d, const double *grad_K,
                                             double *grad_X, double *grad_Y, double *grad_scale);

/** ---- neural signature kernels and random controlled ResNets (theory.md 5.1) ----
 * The controlled ResNet Y_0 = sigma0 z_0, dY = sum_k ((sigma_a / sqrt N) A_k phi(Y) + sigma_b b_k) dx^k with
 * standard Gaussian z_0, A_k, b_k. sigma0, sigma_a and sigma_b are standard deviations, as in the papers (Cirone et
 * al. 2023); they are not the variances weight_var / bias_var of dw_net, whose layers these networks do not have. */
#define DW_SIG_NSK_DYADIC_MAX 30
typedef struct dw_sig_nsk_opts dw_sig_nsk_opts;
/** no activation (the computations ask for one), sigma0 = sigma_a = 1, sigma_b = 0, homogeneous, dyadic order 0,
 * second order, not on the grid, default threads. */
DW_API dw_status dw_sig_nsk_opts_init(dw_sig_nsk_opts **o);
DW_API void dw_sig_nsk_opts_clear(dw_sig_nsk_opts *o);
/** phi (borrowed: it must outlive the options' use); its Gaussian expectations come from dw_act_dual. */
DW_API dw_status dw_sig_nsk_opts_set_act(dw_sig_nsk_opts *o, const dw_act *act);
/** Each >= 0, finite. */
DW_API dw_status dw_sig_nsk_opts_set_sigma0(dw_sig_nsk_opts *o, double sigma0);
DW_API dw_status dw_sig_nsk_opts_set_sigma_a(dw_sig_nsk_opts *o, double sigma_a);
DW_API dw_status dw_sig_nsk_opts_set_sigma_b(dw_sig_nsk_opts *o, double sigma_b);
/** false: weights shared over time (Goursat system); true: fresh weights at every step (diagonal ODE). */
DW_API dw_status dw_sig_nsk_opts_set_inhomogeneous(dw_sig_nsk_opts *o, bool inhomogeneous);
/** lambda in 0..DW_SIG_NSK_DYADIC_MAX (ignored with grid). */
DW_API dw_status dw_sig_nsk_opts_set_dyadic_order(dw_sig_nsk_opts *o, int dyadic_order);
/** Second order (Heun cell update) or first order. */
DW_API dw_status dw_sig_nsk_opts_set_solver(dw_sig_nsk_opts *o, dw_sig_solver solver);
/** true: the exact width limit of the discrete network on the data grid. */
DW_API dw_status dw_sig_nsk_opts_set_grid(dw_sig_nsk_opts *o, bool grid);
DW_API dw_status dw_sig_nsk_opts_set_threads(dw_sig_nsk_opts *o, int threads);

/** Work-space bytes of a Gram computation (n x m pairs; m = 0 for K(X, X)) into *bytes. */
DW_API dw_status dw_sig_nsk_bytes(const dw_sig_nsk_opts *o, size_t n, size_t lx, size_t m, size_t ly, double *bytes);
/** K (n x m) of the neural signature kernel; the inhomogeneous kernel needs lx == ly (one time grid, t_m = m/M). */
DW_API dw_status dw_sig_nsk_gram(const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                 size_t m, size_t ly, size_t d, double *K);
/** dw_sig_nsk_gram's K written to the .npy `path` (float64, n x m) out of core: row block by row block within the
 * working memory of fo, resumable, the bits of dw_sig_nsk_gram (deepwick/io.h, dw_file_opts). The self-kernels'
 * diagonals of every path stay in memory ((lx - 1) 2^dyadic_order + 1 doubles per path). */
DW_API dw_status dw_sig_nsk_gram_file(const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx,
                                      const double *Y, size_t m, size_t ly, size_t d, const char *path,
                                      const dw_file_opts *fo);
/** Hidden states of `samples` random controlled ResNets of width N (options as for the kernel: act, sigmas,
 * inhomogeneous; dyadic_order, solver and grid are ignored): out is samples x batch x N, or samples x batch x
 * len x N with all_times. The same network for the whole batch. */
DW_API dw_status dw_sig_cresnet_sample(const dw_sig_nsk_opts *o, size_t width, size_t samples, unsigned long long seed,
                                       bool all_times, const double *X, size_t batch, size_t len, size_t d,
                                       double *out);

/** ---- random linear CDEs / selective state-space models (theory.md 5.2) ----
 * Y_{m+1} = (I + sum_i A_i d omega^i_m) Y_m + B d xi_m, Y_0 = C x_0 + c. sigma_A, sigma_B, sigma_C, sigma_c are the
 * standard deviations of the entries of A (diagonal models), B, C, c, the papers' notation (Cirone et al. 2024). */
typedef struct dw_sig_lcde_opts dw_sig_lcde_opts;
/** all channels for the gate and the input, sigma_A = sigma_B = sigma_C = 1, sigma_c = 0, dense, default threads. */
DW_API dw_status dw_sig_lcde_opts_init(dw_sig_lcde_opts **o);
DW_API void dw_sig_lcde_opts_clear(dw_sig_lcde_opts *o);
/** Channels of the path forming the gate path omega / the input path xi (copied; n = 0: all channels). Indices are
 * checked against the paths' d by the computations. */
DW_API dw_status dw_sig_lcde_opts_set_gate(dw_sig_lcde_opts *o, size_t n, const size_t *channels);
DW_API dw_status dw_sig_lcde_opts_set_input(dw_sig_lcde_opts *o, size_t n, const size_t *channels);
/** Each >= 0, finite: B entries N(0, sigma_B^2), C entries N(0, sigma_C^2), c entries N(0, sigma_c^2); sigma_A:
 * diagonal models only, diagonal entries N(0, sigma_A^2) (dense A: N(0, 1/N)). */
DW_API dw_status dw_sig_lcde_opts_set_sigma_A(dw_sig_lcde_opts *o, double sigma_A);
DW_API dw_status dw_sig_lcde_opts_set_sigma_B(dw_sig_lcde_opts *o, double sigma_B);
DW_API dw_status dw_sig_lcde_opts_set_sigma_C(dw_sig_lcde_opts *o, double sigma_C);
DW_API dw_status dw_sig_lcde_opts_set_sigma_c(dw_sig_lcde_opts *o, double sigma_c);
/** true: diagonal (Mamba-like) A_i. */
DW_API dw_status dw_sig_lcde_opts_set_diagonal(dw_sig_lcde_opts *o, bool diagonal);
DW_API dw_status dw_sig_lcde_opts_set_threads(dw_sig_lcde_opts *o, int threads);

/** The width limit of (1/N) <Y^x_M, Y^y_M'> on the data grid (exact for dense A). K is n x m. */
DW_API dw_status dw_sig_lcde_kernel(const dw_sig_lcde_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, double *K);
/** States of `samples` independent random models of width N applied to every path (the same weights for the whole
 * batch): out is samples x batch x N (final states) or samples x batch x len x N (all_times). Random numbers:
 * Philox streams keyed by (seed, sample, matrix, row block). */
DW_API dw_status dw_sig_lcde_sample(const dw_sig_lcde_opts *o, size_t width, size_t samples, unsigned long long seed,
                                    bool all_times, const double *X, size_t batch, size_t len, size_t d, double *out);
/** The same recursion with given weights: A (p x N x N, p gate channels; diagonal: p x N), B (N x q, or NULL),
 * C (N x d), c (N, or NULL); out is batch x len x N. */
DW_API dw_status dw_sig_lcde_forward(const dw_sig_lcde_opts *o, size_t width, const double *A, const double *B,
                                     const double *C, const double *c, const double *X, size_t batch, size_t len,
                                     size_t d, double *out);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SIG_H */
