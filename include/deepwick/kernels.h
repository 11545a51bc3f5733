/* deepwick/kernels.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/kernels/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_KERNELS_H
#define DEEPWICK_KERNELS_H

#include "deepwick/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------------
 * kernel: NNGP and NTK of fully connected networks (theory.md 1.1-1.3)
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct dw_kernel_opts {
    int depth;                /* L >= 0: number of activations; depth 0 is the linear model K^1 */
    const dw_act *act;        /* the activation (borrowed) */
    size_t n_weight_var;      /* 1 (all layers) or depth + 1 */
    const double *weight_var; /* sigma_w^2 per layer l = 1..L+1 */
    size_t n_bias_var;        /* 1 or depth + 1 */
    const double *bias_var;   /* sigma_b^2 per layer */
    dw_param param;           /* tangent-kernel parameterisation (NNGP is the same for both) */
    size_t n_width;           /* DW_PARAM_STANDARD only: 1 or depth hidden widths n_1..n_L */
    const double *width;
    int all_layers;           /* 1: outputs hold every layer, (depth + 1) x n x m */
    int threads;              /* 0: the OpenMP default; results do not depend on it */
    struct dw_kernel_info *info; /* optional output: how the expectations were computed and their error bound */
} dw_kernel_opts;

/* What dw_kernel_gram reports about one call (opts.info). Bounds are on each Gaussian expectation evaluated
 * (E[phi(u)phi(v)] and E[phi'(u)phi'(v)], every entry and layer), relative to sqrt(E[phi(u)^2] E[phi(v)^2])
 * (resp. phi'), before propagation through later layers. */
typedef struct dw_kernel_info {
    const char *method;    /* "closed form ...", "Isserlis ..." or the generic route(s) used */
    double max_bound;      /* the largest such bound; 0 for closed forms (exact to rounding) */
    double target;         /* the bound aimed at (generic activations), DW_DUAL_TARGET */
    size_t evaluations;    /* Gaussian expectations evaluated by the generic route (pairs x layers) */
    size_t quadrature;     /* of those, how many the series could not certify: answered by 2-D quadrature */
    int series_terms;      /* the largest Mehler order K used (generic), else 0 */
} dw_kernel_info;

DW_API void dw_kernel_opts_init(dw_kernel_opts *o); /* depth 0, no activation, weight_var 1, bias_var 0, NTK param */

/* Gram matrices K(X, Y) (NNGP, K^{L+1}) and/or Theta(X, Y) (NTK, Theta^{L+1}); X is n x d, Y is m x d, or
 * Y == NULL for K(X, X), which is then exactly symmetric. K and Theta are caller-allocated n x m (or
 * (depth + 1) x n x m with all_layers), either may be NULL but not both. */
DW_API dw_status dw_kernel_gram(const dw_kernel_opts *o, const double *X, size_t n, const double *Y, size_t m,
                         size_t d, double *K, double *Theta);

/* Bytes a Gram computation needs (outputs + work space) for the given outputs (nngp, ntk flags). */
DW_API double dw_kernel_gram_bytes(const dw_kernel_opts *o, size_t n, size_t m, int nngp, int ntk);

/* Tiles: a plan holds the inputs' per-point recursions; a tile computes rows i0..i1-1, columns j0..j1-1 of
 * the outputs, entry (i, j) of layer l going to out[l * layer_stride + (i - i0) * ld + (j - j0)].
 * A tile's entries are bit-identical to those of dw_kernel_gram, whatever the tiling. Thread-safe. */
typedef struct dw_kernel_plan dw_kernel_plan;
DW_API dw_status dw_kernel_plan_init(dw_kernel_plan **plan, const dw_kernel_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, size_t d);
DW_API void dw_kernel_plan_clear(dw_kernel_plan *plan);
DW_API dw_status dw_kernel_tile(const dw_kernel_plan *plan, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, size_t ld, size_t layer_stride);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_KERNELS_H */
