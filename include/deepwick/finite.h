/** deepwick/finite.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/finite/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_FINITE_H
#define DEEPWICK_FINITE_H

#include <stdbool.h>

#include "deepwick/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ------------------------------------------------------------------------------------------------------------
 * finite: the next order in 1/N of fully connected networks at width N, for any activation (theory.md 1.6)
 *
 * The network is a dw_net of the fully connected shape with a readout (dw_net_set_fc(net, depth, act, true)),
 * one output unit, NTK or standard parameterisation (the standard one needs dw_finite_opts_set_width), any i.i.d.
 * real law of dw_law_kappa4 (a non-Gaussian law needs dw_net_set_gaussian_input_layer: the first layer's fan-in d
 * is fixed, so its non-Gaussianity is not a 1/N effect; its fourth cumulant enters G1, Theta1, the NTK's
 * variances and kappa_4, docs/finite.md). Hidden widths are n_l = c_l N: the net's widths
 * (dw_net_set_widths) are read as the ratios c_l (default 1), N is the reference width. For every pair of inputs
 * (x, y) the results are, with G(x, y) = sigma_b^2 + sigma_w^2 (1/N) sum_j phi(h_j(x)) phi(h_j(y)) the empirical
 * NNGP entry of the output layer (mean E f(x) f(y)) and Theta_N(x, y) the empirical NTK:
 *   DW_FW_NNGP      K(x, y)                          the limit of E G(x, y)
 *   DW_FW_NTK       Theta(x, y)                      the limit of E Theta_N(x, y)
 *   DW_FW_NNGP_1    G1:     E G(x, y)        = K + G1 / N + O(1/N^2)
 *   DW_FW_NTK_1     Theta1: E Theta_N(x, y)  = Theta + Theta1 / N + O(1/N^2)
 *   DW_FW_NNGP_VAR  N Var G(x, y)                    (leading order, likewise below)
 *   DW_FW_NTK_VAR   N Var Theta_N(x, y)
 *   DW_FW_NNGP_COV  N Cov(G(x, x), G(y, y))
 *   DW_FW_NTK_COV   N Cov(Theta_N(x, x), Theta_N(y, y))
 *   DW_FW_KAPPA4    N kappa_4(f(x), f(x), f(y), f(y)), the fourth joint cumulant of the outputs
 * and over the whole Gram block the Frobenius constants C_nngp = lim N E||G - K||_F^2 and
 * C_ntk = lim N E||Theta_N - Theta||_F^2 (the RMS error of a width-N Gram is sqrt(C / N)).
 * ---------------------------------------------------------------------------------------------------------- */

/** The quantities, in the order of the stacked output (DW_FW_COUNT x n x m). */
typedef enum dw_fw_quantity {
    DW_FW_NNGP,
    DW_FW_NTK,
    DW_FW_NNGP_1,
    DW_FW_NTK_1,
    DW_FW_NNGP_VAR,
    DW_FW_NTK_VAR,
    DW_FW_NNGP_COV,
    DW_FW_NTK_COV,
    DW_FW_KAPPA4,
    DW_FW_COUNT
} dw_fw_quantity;

/** The quantity's name as the Python keys and the CLI's JSON spell it ("nngp", "ntk_1", ...), NULL if unknown. */
DW_API const char *dw_finite_quantity_name(int q);

/** Options (an opaque object, see net.h for the conventions). Defaults: threads 0. */
typedef struct dw_finite_opts dw_finite_opts;
DW_API dw_status dw_finite_opts_init(dw_finite_opts **o);
DW_API void dw_finite_opts_clear(dw_finite_opts *o);
/** Threads (dw_par_for workers), 0 (the default) to 4096; results do not depend on it. */
DW_API dw_status dw_finite_opts_set_threads(dw_finite_opts *o, int threads);
/** The reference width N (> 0). The standard parameterisation needs it: its NTK scales with the hidden widths
 * n_l = c_l N (each weight layer's term is n_{l-1} times its feature inner product), so Theta, Theta1 and the
 * NTK's variances are evaluated at this N (E Theta_N = Theta + Theta1 / N with Theta1 of order N, the remainder
 * O(Theta / N^2)); the NTK parameterisation does not use it. */
DW_API dw_status dw_finite_opts_set_width(dw_finite_opts *o, double N);
/** Progress: fn(ctx, done, total) is called on the calling thread after each block of rows (done and total count
 * the pairs); a non-zero return cancels the computation (DW_ERR_INVALID, "cancelled"). fn NULL: none. */
typedef int (*dw_finite_progress_fn)(void *ctx, double done, double total);
DW_API dw_status dw_finite_opts_set_progress(dw_finite_opts *o, dw_finite_progress_fn fn, void *ctx);

/** What one dw_finite_gram call did (an opaque result object). */
typedef struct dw_finite_info dw_finite_info;
DW_API dw_status dw_finite_info_init(dw_finite_info **info);
DW_API void dw_finite_info_clear(dw_finite_info *info);
/** How the Gaussian expectations were computed (owned by the library; "" before any call). */
DW_API const char *dw_finite_info_method(const dw_finite_info *info);
/** C_nngp and C_ntk of the Gram block (see above). */
DW_API double dw_finite_info_frobenius_nngp(const dw_finite_info *info);
DW_API double dw_finite_info_frobenius_ntk(const dw_finite_info *info);
/** The largest error estimate of any pair's outputs, each relative to its scale (K or Theta of the pair; their
 * squares for the second moments): the running bound of the recursion fed with each Gaussian moment's error
 * (rounding for the relu family's closed form; for the Mehler series the coefficients' quadrature errors, the
 * series' truncation (an estimate) and rounding). The series route refuses a pair above 1e-6 (DW_ERR_RANGE). */
DW_API double dw_finite_info_moment_error(const dw_finite_info *info);
/** Pairs whose Gaussian moments came from the closed form (relu family) and from the Mehler series. */
DW_API size_t dw_finite_info_pairs_closed(const dw_finite_info *info);
DW_API size_t dw_finite_info_pairs_series(const dw_finite_info *info);
/** Of the closed-form pairs, those answered from the degenerate limit: relu-family pairs too close to a repeated
 * row (or to y = t x, where positive homogeneity gives the pair from one input) for the recursion in 128-bit
 * arithmetic, taken as the limit there plus the linear cusp term (extrapolated along the segment). */
DW_API size_t dw_finite_info_pairs_limit(const dw_finite_info *info);

/** The stacked quantities for all pairs (X_i, Y_j): X is n x d, Y is m x d, or Y == NULL for X against itself
 * (then m is n and every quantity is exactly symmetric). out is caller-allocated DW_FW_COUNT x n x m. o, info may
 * be NULL. */
DW_API dw_status dw_finite_gram(const dw_net *net, const dw_finite_opts *o, const double *X, size_t n,
                                const double *Y, size_t m, size_t d, double *out, dw_finite_info *info);

/** At width N, from the stacked quantities q (DW_FW_COUNT x count, as dw_finite_gram writes them for count = n m
 * entries): out (4 x count) receives the corrected means K + G1/N and Theta + Theta1/N, and the standard deviations
 * sqrt(nngp_var / N) and sqrt(ntk_var / N) of the empirical entries (leading order); N > 0. */
DW_API dw_status dw_finite_at_width(const double *q, size_t count, double N, double *out);

/** What a convergence study of width-N Grams should measure (theory.md 1.4), from the stacked quantities q of one
 * Gram block (DW_FW_COUNT x count): for which = DW_FW_NNGP or DW_FW_NTK and each of the k widths N, out[3 i] =
 * sqrt(C / N) (the RMS of |G - K|_F, C the Frobenius constant), out[3 i + 1] = the mean over entries of the
 * mean correction divided by N (the bias), out[3 i + 2] = its Frobenius norm divided by N. */
DW_API dw_status dw_finite_predict_widths(const double *q, size_t count, int which, size_t k, const double *widths,
                                          double *out);

#ifdef __cplusplus
}
#endif

#endif
