/* deepwick/spectrum.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/spectrum/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_SPECTRUM_H
#define DEEPWICK_SPECTRUM_H

#include "deepwick/net.h"
#include "deepwick/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * spectrum: Jacobian spectrum: NC(k), S-transform, density, finite-N Jacobians (theory.md 3)
 * ====================================================================================== */

/* Weights of the square layers: i.i.d. (any law with finite moments gives the same limit) or Haar orthogonal. */
typedef enum dw_spectrum_weights { DW_SPECTRUM_GAUSSIAN = 0, DW_SPECTRUM_ORTHOGONAL = 1 } dw_spectrum_weights;

/* Routes for the moments: non-crossing partitions with Kreweras complements (Gaussian weights only, k <= 
 * DW_SPECTRUM_NC_KMAX), or the S-transform as power series. */
typedef enum dw_spectrum_route { DW_SPECTRUM_ROUTE_NC = 1, DW_SPECTRUM_ROUTE_S = 2 } dw_spectrum_route;

#define DW_SPECTRUM_KMAX 256    /* largest moment order (S-transform route) */
#define DW_SPECTRUM_NC_KMAX 16  /* largest order of the NC(k) route (Catalan(16) = 35357670 partitions) */
#define DW_SPECTRUM_DEPTH_MAX 100000

typedef struct dw_spectrum_opts {
    int depth;                    /* L >= 1 square layers: J = D_L W^L ... D_1 W^1 */
    const dw_act *act;            /* the activation (borrowed) */
    size_t n_weight_var;          /* 1 (all layers) or depth */
    const double *weight_var;     /* sigma_w^2 of W^1..W^L (entries of variance sigma_w^2 / N) */
    size_t n_bias_var;            /* 1 or depth */
    const double *bias_var;       /* sigma_b^2 of b^1..b^L */
    double q0;                    /* |x|^2 / N > 0 (also the start of the fixed-point search) */
    int fixed_point;              /* 1: every q_l = q*, the stable fixed point (one weight and bias variance) */
    dw_spectrum_weights weights;
    int kmax;                     /* largest moment order that will be asked for, 1..DW_SPECTRUM_KMAX */
} dw_spectrum_opts;

/* depth 1, no activation, weight_var 1, bias_var 0, q0 1, no fixed point, Gaussian weights, kmax 8. */
DW_API void dw_spectrum_opts_init(dw_spectrum_opts *o);

/* The per-layer data of a network: variances q_1..q_L (theory.md 3), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^{2j}] for
 * j = 1..kmax, and the law of phi'(sqrt(q_l) Z)^2 (exact atoms for identity, relu, leaky relu, abs, step; a
 * Gauss-Legendre discretisation on the two half lines otherwise). DW_ERR_RANGE names the variance where the
 * moments of phi' diverge or overflow, or where no fixed point exists. */
typedef struct dw_spectrum dw_spectrum;
DW_API dw_status dw_spectrum_init(dw_spectrum **s, const dw_spectrum_opts *o);
DW_API void dw_spectrum_clear(dw_spectrum *s);
DW_API int dw_spectrum_depth(const dw_spectrum *s);
DW_API int dw_spectrum_kmax(const dw_spectrum *s);
/* q_1..q_L (depth values); with fixed_point all equal q*. */
DW_API const double *dw_spectrum_q(const dw_spectrum *s);
/* mu_j^{(l)} at mu[(l - 1) * kmax + (j - 1)], l = 1..L, j = 1..kmax. */
DW_API const double *dw_spectrum_mu(const dw_spectrum *s);
/* Estimated absolute error of the worst mu_j (0 where exact). */
DW_API double dw_spectrum_mu_error(const dw_spectrum *s);
/* Mass of the atom at 0 of the squared singular values (max over layers of P(phi'(h) = 0)). */
DW_API double dw_spectrum_atom0(const dw_spectrum *s);
/* The input variance |x|^2 / N of a finite network with this limit: q0, or at the fixed point the one that gives
 * q_1 = q*, (q* - sigma_b^2) / sigma_w^2 of layer 1; 0 where none does (sigma_w^2 = 0 or q* = sigma_b^2). */
DW_API double dw_spectrum_input_q0(const dw_spectrum *s);

/* m_1..m_K of the squared singular values of J, m_k = lim (1/N) E tr (J J^T)^k, K <= kmax, by either route. */
DW_API dw_status dw_spectrum_moments(const dw_spectrum *s, int K, dw_spectrum_route route, double *m);

/* Exact rationals where the mu_j and q_l are rational (identity, relu, leaky relu, abs, step, polynomials; the
 * decimal inputs read as the shortest decimals that round to them: 0.1 is 1/10). Strings "45/7" or "1285663",
 * owned by the struct. DW_ERR_INVALID (naming why) where they are not rational. */
typedef struct dw_spectrum_exact {
    int depth, K;
    char **q;  /* depth strings */
    char **mu; /* depth * K strings, mu[(l - 1) * K + (j - 1)] */
    char **m;  /* K strings: m_1..m_K */
    char *var; /* m_2 - m_1^2 (K >= 2, else NULL) */
} dw_spectrum_exact;
DW_API dw_status dw_spectrum_exact_init(dw_spectrum_exact *e, const dw_spectrum *s, int K, dw_spectrum_route route);
DW_API void dw_spectrum_exact_clear(dw_spectrum_exact *e);

/* The squared singular values lie in [lo, hi] (hi: the right edge, where x(z) = 1/chi_J(z) is least on the real
 * branch; lo is 0 for now). */
DW_API dw_status dw_spectrum_support(const dw_spectrum *s, double *lo, double *hi);

/* Density rho(t) of the squared singular values at n abscissae t > 0 by Stieltjes inversion (theory.md 3),
 * atoms excluded (see dw_spectrum_atom0). Newton continuation along t (sorted internally), falling back to a
 * path from t + i oo down to the real axis; DW_ERR_RANGE names the abscissa where neither converged. */
DW_API dw_status dw_spectrum_density(const dw_spectrum *s, size_t n, const double *t, double *rho);

/* Edge of chaos for the bias variance sigma_b^2 >= 0: sigma_w^2 with m_1 = sigma_w^2 mu_1(q*) = 1 at the fixed
 * point q* (q* is returned too; for relu-like activations with sigma_b^2 = 0 every q is a fixed point and
 * q* = q0). DW_ERR_RANGE names the bias variance where none exists. */
DW_API dw_status dw_spectrum_criticality(const dw_act *act, double bias_var, double q0, double *weight_var,
                                         double *q_star);
/* One given finite network (the weights are the caller's: numpy, a trained model, a sampler): square or not,
 * h^l = W^l a^{l-1} + b^l, a^l = phi(h^l), a^0 = x, W^l of width[l] x width[l - 1] (row-major, already scaled),
 * J = D_L W^L ... D_1 W^1 with D_l = diag(phi'(h^l)). */
typedef struct dw_spectrum_network {
    int depth;                /* L >= 1 */
    const size_t *width;      /* L + 1 widths N_0 (input) .. N_L, each 1..46340 */
    const double *const *W;   /* L matrices */
    const double *const *b;   /* L vectors (an entry may be NULL: no bias), or NULL: no biases */
    const dw_act *act;
} dw_spectrum_network;

/* The Jacobian at x (N_0 values) by a GEMM chain: J (N_L x N_0, row-major) if not NULL, and the min(N_L, N_0)
 * squared singular values s2 in descending order (LAPACKE_dgesdd) if not NULL. DW_ERR_RANGE names the layer where
 * the forward pass stops being finite. */
DW_API dw_status dw_spectrum_network_jacobian(const dw_spectrum_network *net, const double *x, double *J,
                                              double *s2);
/* m_k = (1/N_0) tr (J^T J)^k, k = 1..K, by Hutchinson's estimator with `probes` >= 2 Rademacher vectors (the same
 * for a given seed, whatever the thread count) and Jacobian-vector products only (no J is formed): O(L N^2 probes K)
 * instead of O(L N^3) for the SVD. se[k]: the standard error over the probes (of this network, not over networks). */
DW_API dw_status dw_spectrum_network_hutchinson(const dw_spectrum_network *net, const double *x, int K,
                                                size_t probes, unsigned long long seed, double *m, double *se);
/* Many networks of width N (square layers), drawn by the caller's function: `what` says which array, `sample` is the
 * network's index (0..samples-1) and `layer` 0-based; it fills rows x cols doubles of unit variance (weights: i.i.d.
 * of any law, or sqrt(N) times a Haar orthogonal matrix; the input x may have any norm: it is rescaled to
 * |x|^2 / N = q0). The same (sample, layer) must give the same numbers whatever the thread (the sampling module's
 * dw_sample_weights and dw_sample_bias are such functions). Returns DW_OK or an error with its message set. */
typedef enum dw_spectrum_draw_what {
    DW_SPECTRUM_DRAW_WEIGHTS = 0,
    DW_SPECTRUM_DRAW_BIAS = 1,
    DW_SPECTRUM_DRAW_INPUT = 2
} dw_spectrum_draw_what;
typedef dw_status (*dw_spectrum_draw_fn)(void *ctx, unsigned long long sample, dw_spectrum_draw_what what, int layer,
                                         size_t rows, size_t cols, double *out);

typedef struct dw_spectrum_sample_opts {
    int depth;                 /* L >= 1 */
    const dw_act *act;
    size_t width;              /* N, 1..46340 */
    size_t n_weight_var;       /* 1 or depth: W^l = sqrt(sigma_w^2 / N) x the drawn matrix */
    const double *weight_var;
    size_t n_bias_var;         /* 1 or depth: b^l = sigma_b x the drawn vector */
    const double *bias_var;
    double q0;                 /* |x|^2 / N > 0 */
    size_t samples;            /* S >= 2 networks */
    int K;                     /* moments 1..DW_SPECTRUM_KMAX */
    size_t probes;             /* 0: exact (SVD of each J); >= 2: Hutchinson with that many probes per network */
    unsigned long long seed;   /* Hutchinson probes */
    int threads;               /* 0: the OpenMP default; results do not depend on it */
    dw_spectrum_draw_fn draw;
    void *ctx;
    dw_sample_progress_fn progress; /* optional: networks done / samples, from the calling thread; non-zero cancels */
    void *progress_ctx;
} dw_spectrum_sample_opts;

/* depth 1, width 100, weight_var 1, bias_var 0, q0 1, 10 samples, K 4, exact, no drawing function. */
DW_API void dw_spectrum_sample_opts_init(dw_spectrum_sample_opts *o);
/* m_k = mean over the networks of (1/N) tr (J J^T)^k, k = 1..K, and se[k] its standard error over the networks
 * (which includes the probes' noise with Hutchinson); s2 (samples x N, may be NULL; exact mode only) receives each
 * network's squared singular values in descending order. Networks run in parallel, one BLAS thread each. */
DW_API dw_status dw_spectrum_sample(const dw_spectrum_sample_opts *o, double *m, double *se, double *s2);
/* The same with the weights drawn by the sampling module, so a network is the same whatever the thread count:
 * network s, layer l (0-based) has W-hat = dw_sample_weights(law, seed, s, l, N, N) (orthogonal: sqrt(N) x Haar),
 * b-hat = dw_sample_bias(law, seed, s, l, N) (Gaussian) and the input direction
 * dw_sample_bias(gaussian, seed, s, 2^31 - 1, N). o->draw and o->ctx are ignored; o->seed keys the Hutchinson probes. Real laws only (complex-gaussian is refused). The limit to compare with is
 * the i.i.d. one (dw_spectrum_opts.weights = DW_SPECTRUM_GAUSSIAN) for every law but orthogonal. */
DW_API dw_status dw_spectrum_sample_law(const dw_spectrum_sample_opts *o, const dw_law *law,
                                        unsigned long long seed, double *m, double *se, double *s2);
/* How many of the samples x N squared singular values (each network's in descending order, as dw_spectrum_sample
 * writes them) are zero to the SVD's resolution: at or below (16 N eps)^2 times their network's largest, the size
 * an SVD of the formed J gives a zero singular value. These are the exact zeros of a rank-deficient J (a relu
 * layer's dead units: the atom at 0 of the limit) and, for deep products, genuine values too small to resolve
 * (the limit's mass below that level). */
DW_API size_t dw_spectrum_count_zeros(size_t samples, size_t N, const double *s2);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SPECTRUM_H */
