/* deepwick/sampling.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/sampling/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_SAMPLING_H
#define DEEPWICK_SAMPLING_H

#include "deepwick/net.h"
#include "deepwick/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * sampling: finite-width networks: weight laws, forward passes, empirical kernels (theory.md 1.4, 2)
 * ====================================================================================== */
/* Unit-variance weight matrix W-hat (rows x cols, row-major) of one layer, drawn from the Philox streams keyed by
 * (seed, sample, layer, row block): the same bits for any thread count and any process split. Complex laws
 * write 2 * rows * cols doubles, (re, im) interleaved. */
DW_API dw_status dw_sample_weights(const dw_law *law, unsigned long long seed, unsigned long long sample,
                                   unsigned long long layer, size_t rows, size_t cols, double *W);

/* Unit-variance bias vector b-hat of one layer (length n; complex: n (re, im) pairs). Biases are Gaussian for every
 * law (complex Gaussian for complex-gaussian): one bias term per unit would keep h non-Gaussian at any width. */
DW_API dw_status dw_sample_bias(const dw_law *law, unsigned long long seed, unsigned long long sample,
                                unsigned long long layer, size_t n, double *b);

typedef enum dw_sample_gram { DW_SAMPLE_NO_GRAM = 0, DW_SAMPLE_NNGP = 1, DW_SAMPLE_NTK = 2 } dw_sample_gram;

/* Progress callback: called from the calling thread between chunks of samples with work done / total (any
 * units); return non-zero to cancel (the call then fails with DW_ERR_INVALID "cancelled"). */
typedef int (*dw_sample_progress_fn)(void *ctx, double done, double total);

typedef struct dw_sample_opts {
    int depth;                  /* L >= 0 hidden layers (activations), as in dw_kernel_opts */
    const dw_act *act;          /* borrowed */
    size_t n_width;             /* 1 or depth hidden widths n_1..n_L */
    const size_t *width;
    size_t out_dim;             /* d_out >= 1 (default 1) */
    size_t n_weight_var;        /* 1 or depth + 1: sigma_w^2 per layer */
    const double *weight_var;
    size_t n_bias_var;          /* 1 or depth + 1: sigma_b^2 per layer; 0 means no bias */
    const double *bias_var;
    dw_param param;             /* tangent-kernel parameterisation (the network function is the same) */
    dw_law law;
    int gaussian_input_layer;   /* 1: layer 1 (fan-in d, which does not grow with N) draws Gaussian weights
                                   whatever the law. With d fixed, a non-Gaussian law in layer 1 makes h^1
                                   non-Gaussian at every width, so the limits then hold only up to O(kappa_4/d)
                                   (universality needs the fan-in to grow). Complex layers 1 are Gaussian. */
    unsigned long long seed;
    unsigned long long first_sample; /* samples are first_sample .. first_sample + S - 1 (streams keyed by it) */
    int threads;                /* 0: the OpenMP default; results do not depend on it */
    dw_sample_progress_fn progress; /* optional */
    void *progress_ctx;
} dw_sample_opts;

/* depth 0, no activation, width 0 (must be set), out_dim 1, weight_var 1, bias_var 0, NTK param, gaussian,
 * seed 0. */
DW_API void dw_sample_opts_init(dw_sample_opts *o);

/* Sample S networks and evaluate them on X (n x d):
 *  F (optional): outputs f(x), S x n x out_dim (complex-gaussian: S x n x out_dim x 2, (re, im));
 *  gram: DW_SAMPLE_NNGP: w_{L+1}/n_L a^L(x).a^L(y) + b_{L+1}, the covariance of the outputs given the hidden
 *        layers (complex: its real part Re E[f(x) conj f(y) | hidden]); DW_SAMPLE_NTK: the empirical NTK by
 *        back-propagation (theory.md 1.3), averaged over the out_dim output units; not for complex weights.
 *  reduce 0: G holds the S per-sample Grams, S x n x n (Gse unused);
 *  reduce 1: G holds their mean (n x n) and Gse (optional) its standard error, sd / sqrt(S) (needs S >= 2).
 * Grams are exactly symmetric. */
DW_API dw_status dw_sample_run(const dw_sample_opts *o, const double *X, size_t n, size_t d, size_t S, double *F,
                               dw_sample_gram gram, int reduce, double *G, double *Gse);
/* Bytes dw_sample_run needs (work space plus the outputs it is asked for); compare with
 * dw_core_check_alloc before allocating. Negative if the options are invalid (dw_error_message says why),
 * infinite if the sizes overflow. */
DW_API double dw_sample_bytes(const dw_sample_opts *o, size_t n, size_t d, size_t S, int outputs,
                              dw_sample_gram gram, int reduce);

/* Forward pass of a fully connected network on GIVEN weights (trained ones, another framework's, or those of
 * dw_sample_weights scaled by the caller), batched over inputs:
 *   h^1 = W_1 x + b_1,  h^{l+1} = W_{l+1} phi(h^l) + b_{l+1} (l = 1..n_layers - 1),  f(x) = h^{n_layers}.
 * W[l] (l = 0..n_layers - 1) is widths[l + 1] x widths[l], row-major (torch's nn.Linear layout), applied as given
 * (no sigma_w / sqrt(fan_in) scaling); b is NULL (no biases) or b[l] is NULL or has widths[l + 1] entries.
 * widths[0] = d; X is n x d, F is n x widths[n_layers]. GEMMs by OpenBLAS on blocks of rows and output units
 * spread over the threads (0: the OpenMP default); the result does not depend on the thread count. DW_ERR_RANGE
 * where a pre-activation is not finite (non-finite weights or biases, or overflow). */
DW_API dw_status dw_sample_forward(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                                   const double *const *b, const double *X, size_t n, double *F, int threads);

/* The empirical NNGP or NTK Gram (n x n, exactly symmetric) of ONE GIVEN network, the network of
 * dw_sample_forward, on the n points X; H = n_layers - 1 hidden layers, a^0 = x, a^l = phi(h^l):
 *  DW_SAMPLE_NNGP: K(x, y) = ws_H a^H(x).a^H(y) + bs_H, the covariance of the outputs if the last layer were
 *                  redrawn with variance ws_H per weight and bs_H per bias;
 *  DW_SAMPLE_NTK:  Theta(x, y) = (1/d_out) sum_k sum_{l=0..H} <df_k/dh^{l+1}(x), df_k/dh^{l+1}(y)>
 *                                 (ws_l a^l(x).a^l(y) + bs_l),
 *                  the tangent kernel with respect to every weight and bias, averaged over the d_out outputs, by
 *                  back-propagation (theory.md 1.3; one GEMM per layer, no per-example Jacobians).
 * ws_l = weight_scale[l] (NULL: all 1) and bs_l = bias_scale[l] (NULL: all 1) for layer l = 0..n_layers - 1, the
 * bias term only where b[l] is given: if the trainable parameters are theta_l with W_l = s_l theta_l, pass
 * ws_l = s_l^2. Plain (standard) parameterisation: NULL, NULL. NTK parameterisation (W_l = sqrt(w_l / n_l) W-hat,
 * b_l = sqrt(v_l) b-hat): ws_l = w_l / n_l, bs_l = v_l, which reproduces dw_sample_run's NTK of the same network.
 * Y NULL: G is the n x n Gram of X (exactly symmetric); else Y (m x d) and G the n x m cross Gram K(x_i, y_j).
 * DW_ERR_RANGE where an activation or the result is not finite; the result does not depend on the thread count. */
DW_API dw_status dw_sample_network_gram(const dw_act *act, size_t n_layers, const size_t *widths,
                                        const double *const *W, const double *const *b, const double *weight_scale,
                                        const double *bias_scale, const double *X, size_t n, const double *Y,
                                        size_t m, dw_sample_gram kind, double *G, int threads);

/* Convergence study (theory.md 1.4): for each hidden width N (all hidden layers N), S networks; errors of the
 * empirical Gram G_s against the exact limit K of dw_kernel_gram (NTK parameterisation). Width i (0-based) uses
 * networks first_sample + i S .. first_sample + (i + 1) S - 1, so the widths are independent. */
typedef struct dw_sampling_width {
    double width;
    double rms, rms_se;         /* sqrt(mean_s |G_s - K|_F^2) and its standard error (delta method) */
    double rel_rms;             /* rms / |K|_F */
    double bias, bias_se;       /* mean over entries of (mean_s G_s - K), with its standard error */
    double bias_fro;            /* |mean_s G_s - K|_F */
    double noise_fro;           /* sqrt(sum of squared entry standard errors): bias_fro's size without bias */
} dw_sampling_width;

typedef struct dw_sampling_fit {
    double slope, slope_se, slope_lo, slope_hi; /* log rms = c + slope log N (weighted LS), 95% interval */
    double intercept;
    double bias_inf, bias_inf_se;               /* bias(N) = bias_inf + bias_coef / N (weighted LS) */
    double bias_coef, bias_coef_se;
    double limit_fro;                           /* |K|_F at the largest width (K does not depend on N) */
    double chi2_dof, bias_chi2_dof;             /* chi^2 / (widths - 2) of the two fits; where > 1 the fit's
                                                   standard errors are scaled by sqrt(chi^2 / dof) (Birge ratio) */
} dw_sampling_fit;

DW_API dw_status dw_sampling_converge(const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                      dw_sample_gram gram, size_t n_widths, const size_t *widths, size_t S,
                                      dw_sampling_width *res, dw_sampling_fit *fit);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SAMPLING_H */
