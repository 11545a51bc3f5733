/** deepwick/sample.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/sample/: finite-width networks: weight laws, sampled networks and their empirical NNGP / NTK Grams,
 * networks with given weights, the convergence study (theory.md 1.1, 1.3, 1.4, 2).
 * Arrays are row-major float64 (C order) throughout.
 *
 * The network comes from a `const dw_net *` (deepwick/net.h): sampled networks take a fully connected net WITH a
 * readout (dw_net_set_fc(net, depth, act, true)) whose depth, activation, per-layer weight_var / bias_var, hidden
 * widths (required where depth >= 1, whole numbers), out_dim (the readout's width), parameterisation, law and
 * gaussian_input_layer describe the networks drawn; the given-weights calls take a net built by dw_net_set_given
 * with readout true. What is not the network (seed, samples, threads, progress, reduction) lives in the opaque
 * dw_sample_opts; every call accepts opts NULL for the defaults.
 *
 * ARCHITECTURES (theory.md 7): every call here also takes a net that is not fully connected (convolutions, pools,
 * flatten, layernorm, dropout, scale, fanout / parallel / fanin_sum, residual blocks, per-layer parameterisation,
 * no bias; inputs NHWC, flattened row-major per point, d = the product of the input shape). Such a net's finite
 * networks follow Neural Tangents' stax:
 *   a dense layer acts on the channels at every position; a conv layer's kernel is filter x C_in x C_out (HWIO),
 *   fan-in = filter size x C_in; per layer, NTK parameterisation W = sqrt(weight_var / fan_in) w, b = sqrt(bias_var)
 *   beta with trainable w, beta drawn from the law (biases Gaussian), or standard: W, b trainable, drawn with those
 *   scales; train-mode Dropout keeps each entry of each input with probability rate (a Bernoulli mask per network
 *   and input, keyed by the seed, the sample and the input's row) and scales it by 1 / rate.
 * Widths: every dense layer's width (out_dim) and conv layer's out_chan, or where the net leaves one unset the
 * options' width (dw_sample_opts_set_width); dw_sample_converge sets every one but the readout's (the top level's
 * last dense or conv layer) to the study's width. The outputs are the last
 * layer's P x C entries (NHWC; P = 1 without spatial axes): out_dim = P x C. Grams: NTK, the tangent kernel with
 * respect to every parameter, (1/out_dim) sum over the output units, by back-propagation through every layer (the
 * Jacobian rows, n x out_dim x parameters doubles per network); NNGP, where the net ends with a dense layer (weight_var
 * w, bias_var b, input a of C channels at P positions) the covariance of the outputs given the layers below,
 * (1/P) sum_p (w / C) a_p(x).a_p(y) + b, else (1/out_dim) f(x).f(y). Complex-gaussian weights and given weights are
 * taken by fully connected nets only. dw_sample_forward and dw_sample_network_gram evaluate the network of sample
 * first_sample (o's seed), the one dw_sample_params draws. */
#ifndef DEEPWICK_SAMPLE_H
#define DEEPWICK_SAMPLE_H

#include <stdbool.h>

#include "deepwick/net.h"
#include "deepwick/kernels.h"
#include "deepwick/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ---- weight laws: the streams every sampled network draws from ----
 * Unit-variance weight matrix W-hat (rows x cols, row-major) of one layer, drawn from the Philox streams keyed by
 * (seed, sample, layer, row block): the same bits for any thread count and any process split. Complex laws
 * write 2 * rows * cols doubles, (re, im) interleaved. */
DW_API dw_status dw_sample_weights(const dw_law *law, unsigned long long seed, unsigned long long sample,
                                   unsigned long long layer, size_t rows, size_t cols, double *W);

/** Unit-variance bias vector b-hat of one layer (length n; complex: n (re, im) pairs). Biases are Gaussian for every
 * law (complex Gaussian for complex-gaussian): one bias term per unit would keep h non-Gaussian at any width. */
DW_API dw_status dw_sample_bias(const dw_law *law, unsigned long long seed, unsigned long long sample,
                                unsigned long long layer, size_t n, double *b);

/** The same two draws with the law given by its spelling (dw_law_parse), for bindings that hold no dw_law value. */
DW_API dw_status dw_sample_law_weights(const char *law, unsigned long long seed, unsigned long long sample,
                                       unsigned long long layer, size_t rows, size_t cols, double *W);
DW_API dw_status dw_sample_law_bias(const char *law, unsigned long long seed, unsigned long long sample,
                                    unsigned long long layer, size_t n, double *b);
/** A law's spelling checked (dw_law_parse's errors), with what a binding needs to know of it: is_complex (its draws
 * are (re, im) pairs), its canonical spelling into canon (cap bytes; canon may be NULL) and dw_law_warning's
 * warning or NULL (warning may be NULL). Every output pointer may be NULL. */
DW_API dw_status dw_sample_law_query(const char *law, bool *is_complex, char *canon, size_t cap,
                                     const char **warning);

/** ---- options (not the network: what to draw and how to run) ---- */
typedef enum dw_sample_gram { DW_SAMPLE_NO_GRAM = 0, DW_SAMPLE_NNGP = 1, DW_SAMPLE_NTK = 2 } dw_sample_gram;

/** Progress callback: called from the calling thread between chunks of samples with work done / total (any
 * units); return non-zero to cancel (the call then fails with DW_ERR_INVALID "cancelled"). */
typedef int (*dw_sample_progress_fn)(void *ctx, double done, double total);

typedef struct dw_sample_opts dw_sample_opts;

/** Defaults: seed 0, first_sample 0, threads 0 (all cores, core.h), no progress callback, reduce false. */
DW_API dw_status dw_sample_opts_init(dw_sample_opts **o);
DW_API void dw_sample_opts_clear(dw_sample_opts *o);
/** The random seed of the Philox streams (any value). */
DW_API dw_status dw_sample_opts_set_seed(dw_sample_opts *o, unsigned long long seed);
/** Samples are first_sample .. first_sample + S - 1 (streams keyed by the index): a run may be split across calls
 * or processes and gives the same networks (any value). */
DW_API dw_status dw_sample_opts_set_first_sample(dw_sample_opts *o, unsigned long long first_sample);
/** Threads (dw_par_for workers), 0 (all cores, core.h) to DW_SAMPLE_THREADS_MAX; results never depend on it. */
#define DW_SAMPLE_THREADS_MAX DW_THREADS_MAX
DW_API dw_status dw_sample_opts_set_threads(dw_sample_opts *o, int threads);
/** fn NULL: none. ctx is borrowed. */
DW_API dw_status dw_sample_opts_set_progress(dw_sample_opts *o, dw_sample_progress_fn fn, void *ctx);
/** dw_sample_run's Gram: false, the S per-sample Grams; true, their mean and its standard error. */
DW_API dw_status dw_sample_opts_set_reduce(dw_sample_opts *o, bool reduce);
/** Architecture nets (not fully connected): the width of every dense / conv layer whose width (out_dim / out_chan)
 * the net leaves unset; 0 (the default): none, such a layer is an error. At most 2^30. */
DW_API dw_status dw_sample_opts_set_width(dw_sample_opts *o, size_t width);

/** ---- sampled networks (a random net: dw_net_set_fc with readout) ----
 * Sample S networks and evaluate them on X (n x d):
 *  F (optional): outputs f(x), S x n x out_dim (complex-gaussian: S x n x out_dim x 2, (re, im));
 *  gram: DW_SAMPLE_NNGP: w_{L+1}/n_L a^L(x).a^L(y) + b_{L+1}, the covariance of the outputs given the hidden
 *        layers (complex: its real part Re E[f(x) conj f(y) | hidden]); DW_SAMPLE_NTK: the empirical NTK by
 *        back-propagation (theory.md 1.3), averaged over the out_dim output units; not for complex weights.
 *  reduce false: G holds the S per-sample Grams, S x n x n (Gse unused);
 *  reduce true: G holds their mean (n x n) and Gse (optional) its standard error, sd / sqrt(S) (needs S >= 2).
 * Grams are exactly symmetric. */
DW_API dw_status dw_sample_run(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                               size_t S, dw_sample_gram gram, double *F, double *G, double *Gse);
/** dw_sample_run's Gram written to the .npy `path` out of core (any net, one process): (2, n, n) =
 * [mean, standard error] with o's reduce, else (S, n, n); row block by row block within the working memory of fo,
 * resumable (deepwick/io.h, dw_file_opts), the bits of dw_sample_run. For each block (whole tiles of the engine: 128
 * rows fully connected, 64 for an architecture) every network is drawn and evaluated again (the same keyed streams),
 * only the block's Gram tiles computed and reduced in network order. F (optional): the outputs, as dw_sample_run's. The progress callback of o is not called (fo's is). */
DW_API dw_status dw_sample_run_file(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                    size_t S, dw_sample_gram gram, double *F, const char *path,
                                    const dw_file_opts *fo);
/** *bytes = what dw_sample_run needs (work space plus the outputs it is asked for: F if outputs, the Gram of kind
 * gram); compare with dw_core_check_alloc before allocating. Invalid settings: their status and message
 * (*bytes = 0); sizes that overflow: DW_OK with *bytes infinite. */
DW_API dw_status dw_sample_bytes(const dw_net *net, const dw_sample_opts *o, size_t n, size_t d, size_t S,
                                 dw_sample_gram gram, bool outputs, double *bytes);

/** ---- networks with GIVEN weights (a net built by dw_net_set_given with readout true) ----
 * Forward pass, batched over the n inputs X (n x d, d the net's input width):
 *   h^1 = W_1 x + b_1,  h^{l+1} = W_{l+1} phi(h^l) + b_{l+1},  f(x) = h^{n_dense}  into F (n x d_out).
 * The weights are applied as given (no weight_var / fan_in scaling). GEMMs by OpenBLAS on blocks of rows and output
 * units spread over the threads of o; the result does not depend on the thread count. DW_ERR_RANGE where a
 * pre-activation is not finite (non-finite weights or biases, or overflow). */
DW_API dw_status dw_sample_forward(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                   double *F);

/** The empirical NNGP or NTK Gram of ONE given network on the points X (n x d); H = n_dense - 1 hidden layers,
 * a^0 = x, a^l = phi(h^l):
 *  DW_SAMPLE_NNGP: K(x, y) = ws_H a^H(x).a^H(y) + bs_H, the covariance of the outputs if the last layer were
 *                  redrawn with variance ws_H per weight and bs_H per bias;
 *  DW_SAMPLE_NTK:  Theta(x, y) = (1/d_out) sum_k sum_{l=0..H} <df_k/dh^{l+1}(x), df_k/dh^{l+1}(y)>
 *                                 (ws_l a^l(x).a^l(y) + bs_l),
 *                  the tangent kernel with respect to every weight and bias, averaged over the d_out outputs, by
 *                  back-propagation (theory.md 1.3; one GEMM per layer, no per-example Jacobians).
 * ws_l, bs_l are dense layer l's weight_var and bias_var in the net (dw_net_set_given sets 1: the plain, standard
 * parameterisation), the bias term only where the layer has a bias: if the trainable parameters are theta_l with
 * W_l = s_l theta_l, set ws_l = s_l^2. NTK parameterisation (W_l = sqrt(w_l / n_l) W-hat, b_l = sqrt(v_l) b-hat):
 * ws_l = w_l / n_l, bs_l = v_l, which reproduces dw_sample_run's NTK of the same network.
 * Y NULL: G is the n x n Gram of X (exactly symmetric); else Y (m x d) and G the n x m cross Gram K(x_i, y_j).
 * DW_ERR_RANGE where an activation or the result is not finite; the result does not depend on the thread count. */
DW_API dw_status dw_sample_network_gram(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                        const double *Y, size_t m, size_t d, dw_sample_gram kind, double *G);
/** dw_sample_network_gram's G written to the .npy `path` (float64, n x n or n x m) out of core: row block by row
 * block (whole tiles of 128 rows of the engine, so the bits of dw_sample_network_gram), within the working memory of
 * fo, resumable (deepwick/io.h, dw_file_opts). Every block runs the network's forward and backward passes over all
 * the points again: the features (activations and gradients) are the fixed part of the memory. A net that is not
 * fully connected: dw_sample_params_gram_file's route on the network dw_sample_network_gram draws. */
DW_API dw_status dw_sample_network_gram_file(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                             const double *Y, size_t m, size_t d, dw_sample_gram kind,
                                             const char *path, const dw_file_opts *fo);

/** ---- finite networks as a flat parameter vector (any net but given or complex ones; deepwick.stax's init_fn and
 * apply_fn) ----
 * theta holds, for every dense and conv layer in order (depth first: parallel branches in order, residual blocks'
 * branches where they stand), its kernel as R x C_out row-major (R = filter size x C_in: the filter's spatial offsets
 * row-major, then the input channel, NT's HWIO layout; a dense layer's is C_in x C_out, NT's Dense kernel) and then
 * its bias (C_out entries) unless the layer has none (dw_net_set_last_no_bias). These are the TRAINABLE parameters:
 * NTK parameterisation, the layer applies W = sqrt(weight_var / fan_in) theta_W, b = sqrt(bias_var) theta_b;
 * standard, W = theta_W, b = theta_b. A fully connected net is taken too (by the same engine, its kernels C_in x
 * C_out: not the streams of dw_sample_run's fully connected sampler).
 * dw_sample_params_size: *n_params = theta's length and *out_dim = the outputs per input (P x C), for inputs of d
 * features and o's width (either pointer may be NULL). */
DW_API dw_status dw_sample_params_size(const dw_net *net, const dw_sample_opts *o, size_t d, size_t *n_params,
                                      size_t *out_dim);
/** Draw the parameters of sample o->first_sample with o->seed (weight layer k, 1-based, from the streams of
 * dw_sample_weights(law, seed, sample, k, R, C_out) and dw_sample_bias(law, seed, sample, k, C_out), times the
 * initial scales: 1 (NTK parameterisation) or sqrt(weight_var / fan_in), sqrt(bias_var) (standard)) into theta
 * (n_params doubles, as dw_sample_params_size says). */
DW_API dw_status dw_sample_params(const dw_net *net, const dw_sample_opts *o, size_t d, double *theta, size_t n_params);
/** The forward pass of the network theta on X (n x d) into F (n x out_dim). Train-mode Dropout draws its masks from
 * (o->seed, o->first_sample, input row). DW_ERR_RANGE where a layer's output is not finite. */
DW_API dw_status dw_sample_apply(const dw_net *net, const dw_sample_opts *o, const double *theta, size_t n_params,
                                 const double *X, size_t n, size_t d, double *F);
/** The empirical NNGP or NTK Gram (as described at the top) of the network theta: Y NULL, the n x n Gram of X
 * (exactly symmetric); else the n x m cross Gram of X against Y (m x d). */
DW_API dw_status dw_sample_params_gram(const dw_net *net, const dw_sample_opts *o, const double *theta,
                                       size_t n_params, const double *X, size_t n, const double *Y, size_t m,
                                       size_t d, dw_sample_gram kind, double *G);
/** dw_sample_params_gram's G written to the .npy `path` (float64, n x n or n x m) out of core: row block by row block
 * (whole tiles of 64 rows of the engine, so the bits of dw_sample_params_gram) within the working memory of fo,
 * resumable (deepwick/io.h, dw_file_opts). The network's features (every input's activations and, NTK, its
 * gradients) are computed once and are the fixed part of the memory; each block computes its rows' Gram tiles. */
DW_API dw_status dw_sample_params_gram_file(const dw_net *net, const dw_sample_opts *o, const double *theta,
                                            size_t n_params, const double *X, size_t n, const double *Y, size_t m,
                                            size_t d, dw_sample_gram kind, const char *path, const dw_file_opts *fo);

/** ---- convergence study (theory.md 1.4) ----
 * For each hidden width N (every hidden layer N; the net's own widths are not used), S networks; errors of the
 * empirical Gram G_s against the exact limit K of the kernel module (NTK parameterisation; the net's param must be
 * NTK). Width i (0-based) uses networks first_sample + i S .. first_sample + (i + 1) S - 1, so the widths are
 * independent. Results are written to caller-provided arrays:
 *  per_width: n_widths rows of DW_SAMPLE_WIDTH_COLS doubles (row i: widths[i]), columns dw_sample_width_col;
 *  fit: DW_SAMPLE_FIT_LEN doubles, entries dw_sample_fit_entry. */
typedef enum dw_sample_width_col {
    DW_SAMPLE_W_WIDTH = 0,     /* N */
    DW_SAMPLE_W_RMS = 1,       /* sqrt(mean_s |G_s - K|_F^2) */
    DW_SAMPLE_W_RMS_SE = 2,    /* its standard error (delta method) */
    DW_SAMPLE_W_REL_RMS = 3,   /* rms / |K|_F */
    DW_SAMPLE_W_BIAS = 4,      /* mean over entries of (mean_s G_s - K) */
    DW_SAMPLE_W_BIAS_SE = 5,   /* its standard error */
    DW_SAMPLE_W_BIAS_FRO = 6,  /* |mean_s G_s - K|_F */
    DW_SAMPLE_W_NOISE_FRO = 7, /* sqrt(sum of squared entry standard errors): bias_fro's size without bias */
    DW_SAMPLE_WIDTH_COLS = 8
} dw_sample_width_col;

typedef enum dw_sample_fit_entry {
    DW_SAMPLE_FIT_SLOPE = 0,         /* log rms = intercept + slope log N (weighted least squares) */
    DW_SAMPLE_FIT_SLOPE_SE = 1,
    DW_SAMPLE_FIT_SLOPE_LO = 2,      /* its 95% interval */
    DW_SAMPLE_FIT_SLOPE_HI = 3,
    DW_SAMPLE_FIT_INTERCEPT = 4,
    DW_SAMPLE_FIT_BIAS_INF = 5,      /* bias(N) = bias_inf + bias_coef / N (weighted least squares) */
    DW_SAMPLE_FIT_BIAS_INF_SE = 6,
    DW_SAMPLE_FIT_BIAS_COEF = 7,
    DW_SAMPLE_FIT_BIAS_COEF_SE = 8,
    DW_SAMPLE_FIT_LIMIT_FRO = 9,     /* |K|_F (K does not depend on N) */
    DW_SAMPLE_FIT_CHI2_DOF = 10,     /* chi^2 / (widths - 2) of the two fits; where > 1 the fit's standard errors */
    DW_SAMPLE_FIT_BIAS_CHI2_DOF = 11, /* are scaled by sqrt(chi^2 / dof) (the Birge ratio) */
    DW_SAMPLE_FIT_LEN = 12
} dw_sample_fit_entry;

DW_API dw_status dw_sample_converge(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                    dw_sample_gram gram, size_t n_widths, const size_t *widths, size_t S,
                                    double *per_width, double *fit);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SAMPLE_H */
