/* deepwick: infinite-width limits of random neural networks, checked against finite networks.
 *
 * One public header. Every public name is dw_<module>_<verb>; every call that can fail returns a dw_status and
 * leaves a message for dw_error_message(). The library never prints and never exits.
 * Conventions and formulas: shared/spec/MATH.md (section numbers are quoted beside each module).
 * Arrays are row-major float64 (C order) throughout.
 */
#ifndef DEEPWICK_H
#define DEEPWICK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DW_VERSION_STRING "0.1.0"

/* The library is built with hidden visibility; only these declarations are exported. */
#if defined(__GNUC__)
#define DW_API __attribute__((visibility("default")))
#else
#define DW_API
#endif

DW_API const char *dw_version(void);

/* ------------------------------------------------------------------------------------------------------------
 * core: status codes, messages, resources
 * ---------------------------------------------------------------------------------------------------------- */
typedef enum dw_status {
    DW_OK = 0,
    DW_ERR_INVALID = 1,  /* an argument or option value is invalid (names the argument) */
    DW_ERR_IO = 2,       /* a file could not be opened, read, written or renamed (names the file) */
    DW_ERR_FORMAT = 3,   /* a file's contents are malformed (names the file, and row/column where known) */
    DW_ERR_NOMEM = 4,    /* an allocation failed, or a result would not fit in memory (names the size) */
    DW_ERR_RANGE = 5,    /* a result overflowed or is not finite (names where) */
    DW_ERR_INTERNAL = 6  /* a bug: please report it */
} dw_status;

/* Short constant name of a status ("invalid argument", ...). */
DW_API const char *dw_status_name(dw_status s);
/* The message left by the last failing call on this thread ("" if none). Valid until the next failing call. */
DW_API const char *dw_error_message(void);
DW_API void dw_error_clear(void);

/* Bytes of memory that may still be allocated (MemAvailable, or physical memory if unknown). */
DW_API double dw_core_mem_available(void);
/* DW_ERR_NOMEM with a message naming `what` and its size if `bytes` exceeds 90% of the available memory. */
DW_API dw_status dw_core_check_alloc(double bytes, const char *what);
/* Allocate a large output array (from 4 MiB: 2 MiB aligned, transparent huge pages requested: the first touch of
 * fresh pages otherwise costs more than computing a Gram matrix; below: plain malloc, where a 2 MiB page would
 * only add its fault and zeroing); NULL with DW_ERR_NOMEM's message on failure. Free with dw_core_free_large. */
DW_API void *dw_core_alloc_large(size_t bytes, const char *what);
DW_API void dw_core_free_large(void *p);
/* Number of threads a parallel region uses when asked for `threads` (0 = the OpenMP default). */
DW_API int dw_core_threads(int threads);

/* ------------------------------------------------------------------------------------------------------------
 * io: .npy and .csv matrices, atomic writes
 * ---------------------------------------------------------------------------------------------------------- */
/* An owned row-major float64 matrix. */
typedef struct dw_matrix {
    double *data;
    size_t rows, cols;
} dw_matrix;

DW_API void dw_matrix_init(dw_matrix *m);  /* empty: data NULL, 0 x 0 */
DW_API void dw_matrix_clear(dw_matrix *m); /* frees data, back to empty */

/* Read a 2-D matrix (a 1-D .npy of length k reads as k x 1) from .npy (float64 or float32, little or big
 * endian, C order) or .csv (comma-separated numbers, optional header line of non-numeric names, '#' comments)
 * chosen by the file extension. Every value must be finite: NaN/Inf are an error naming row and column. */
DW_API dw_status dw_io_read_matrix(dw_matrix *m, const char *path);
DW_API dw_status dw_io_read_npy(dw_matrix *m, const char *path);
DW_API dw_status dw_io_read_csv(dw_matrix *m, const char *path);
/* The same from memory; `name` is used in messages. */
DW_API dw_status dw_io_parse_npy(dw_matrix *m, const unsigned char *buf, size_t len, const char *name);
DW_API dw_status dw_io_parse_csv(dw_matrix *m, const char *buf, size_t len, const char *name);

/* Write a float64 C-order .npy of ndim (1..8) dimensions atomically: a temporary file in the target directory,
 * then rename; on any failure nothing is left behind. */
DW_API dw_status dw_io_write_npy(const char *path, const double *data, int ndim, const size_t *shape);
/* Write a text file atomically (used for CSV, JSON and HTML outputs). */
DW_API dw_status dw_io_write_text(const char *path, const char *text, size_t len);
/* DW_OK if a file could be created at `path` (checked by creating and removing a temporary file beside it),
 * so that commands can refuse an unwritable output before they compute. */
DW_API dw_status dw_io_check_writable(const char *path);

/* ------------------------------------------------------------------------------------------------------------
 * act: activation functions and their Gaussian expectations (MATH.md 1.5)
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct dw_act dw_act;

/* Parse an activation spec: identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp,
 * poly:c0,c1,...,cK (phi(z) = sum_k c_k z^k) (closed forms); tanh, sigmoid, gelu (z Phi(z)), gelu_tanh, silu,
 * softplus, elu, selu, mish; or any expression in z ("z*sigmoid(1.702*z)", "tanh(z)^2", "max(z, 0.1*z)"):
 * numbers, z, pi, e, + - * / ^, parentheses, exp log sqrt abs tanh sigmoid erf sin cos relu softplus max min.
 * A malformed expression gives DW_ERR_INVALID with "column C: what was expected". */
DW_API dw_status dw_act_init(dw_act **act, const char *spec);
DW_API void dw_act_clear(dw_act *act);
/* Canonical spelling of the activation ("leaky_relu:0.1"). */
DW_API const char *dw_act_name(const dw_act *act);
/* Method used for its Gaussian expectations ("closed form", "Isserlis"). */
DW_API const char *dw_act_method(const dw_act *act);
/* Names of the built-in activations, NULL-terminated. */
DW_API const char *const *dw_act_builtins(void);

/* phi(z) and phi'(z) for n points; either output may be NULL. At kinks phi' is the one-sided value that
 * autodiff frameworks return: relu'(0) = 0, abs'(0) = 0, step'(z) = 0, leaky_relu'(0) = 1. */
DW_API dw_status dw_act_eval(const dw_act *act, size_t n, const double *z, double *phi, double *dphi);

/* Dual (Gaussian) expectations for (u, v) ~ N(0, [[a, c], [c, b]]):
 * v = E[phi(u) phi(v)], vdot = E[phi'(u) phi'(v)] (either output may be NULL).
 * Requires a, b >= 0 finite and c^2 <= a b (up to rounding: c is clipped to [-sqrt(ab), sqrt(ab)]). */
DW_API dw_status dw_act_dual(const dw_act *act, double a, double b, double c, double *v, double *vdot);
/* The same with absolute error bounds on v and vdot (0 for closed forms, exact to rounding) and the route that
 * answered ("hermite", "quadrature-2d", "quadrature-polar", "conditional" (kinked activations) or combinations;
 * closed forms: dw_act_method). target
 * is relative to sqrt(E[phi(u)^2] E[phi(v)^2]) (resp. phi'); the bound says whether it was met. route may be NULL.
 * DW_ERR_RANGE, naming the variance, where the Gaussian moments of phi or phi' diverge. */
#define DW_DUAL_TARGET 1e-10
DW_API dw_status dw_act_dual_bound(const dw_act *act, double a, double b, double c, double target, double *v,
                                   double *vdot, double *bound, double *bound_d, const char **route);
/* The same for n triples (a[i], b[i], c[i]); stops at the first invalid triple, naming its index. */
DW_API dw_status dw_act_dual_n(const dw_act *act, size_t n, const double *a, const double *b, const double *c,
                               double *v, double *vdot);

/* ------------------------------------------------------------------------------------------------------------
 * kernel: NNGP and NTK of fully connected networks (MATH.md 1.1-1.3)
 * ---------------------------------------------------------------------------------------------------------- */
typedef enum dw_param { DW_PARAM_NTK = 0, DW_PARAM_STANDARD = 1 } dw_param;

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

/* ======================================================================================
 * sampling: finite-width networks: weight laws, forward passes, empirical kernels (MATH.md 1.4, 2)
 * ====================================================================================== */
/* Weight laws (MATH.md 2): every law is centred with unit variance before the sigma_w / sqrt(fan_in) scaling.
 *   gaussian; rademacher (+-1); uniform on [-sqrt 3, sqrt 3]; student-t:NU (t_nu * sqrt((nu - 2)/nu), nu > 2);
 *   sparse:P (eps g / sqrt p, eps ~ Bernoulli(p), g ~ N(0, 1)); complex-gaussian ((g1 + i g2)/sqrt 2);
 *   orthogonal (Haar: sqrt(max(rows, cols)) Q, Q with orthonormal rows or columns, not i.i.d.). */
typedef enum dw_sample_law_kind {
    DW_SAMPLE_GAUSSIAN = 0,
    DW_SAMPLE_RADEMACHER = 1,
    DW_SAMPLE_UNIFORM = 2,
    DW_SAMPLE_STUDENT_T = 3,
    DW_SAMPLE_SPARSE = 4,
    DW_SAMPLE_COMPLEX_GAUSSIAN = 5,
    DW_SAMPLE_ORTHOGONAL = 6
} dw_sample_law_kind;

typedef struct dw_sample_law {
    dw_sample_law_kind kind;
    double param; /* student-t: nu; sparse: p; otherwise unused */
} dw_sample_law;

/* Parse "gaussian", "rademacher", "uniform", "student-t:NU", "sparse:P", "complex-gaussian", "orthogonal".
 * Errors: unknown law, nu <= 2 (infinite variance), p outside (0, 1]. */
DW_API dw_status dw_sample_law_parse(dw_sample_law *law, const char *spec);
/* Canonical spelling into buf ("student-t:5"). */
DW_API const char *dw_sample_law_format(const dw_sample_law *law, char *buf, size_t cap);
/* A warning for laws that are valid but outside the theory (student-t with nu <= 4: infinite fourth moment),
 * or NULL. The library never prints: the CLI and Python show it. */
DW_API const char *dw_sample_law_warning(const dw_sample_law *law);
/* Unit-variance weight matrix W-hat (rows x cols, row-major) of one layer, drawn from the Philox streams keyed by
 * (seed, sample, layer, row block): the same bits for any thread count and any process split. Complex laws
 * write 2 * rows * cols doubles, (re, im) interleaved. */
DW_API dw_status dw_sample_weights(const dw_sample_law *law, unsigned long long seed, unsigned long long sample,
                                   unsigned long long layer, size_t rows, size_t cols, double *W);

/* Unit-variance bias vector b-hat of one layer (length n; complex: n (re, im) pairs). Biases are Gaussian for every
 * law (complex Gaussian for complex-gaussian): one bias term per unit would keep h non-Gaussian at any width. */
DW_API dw_status dw_sample_bias(const dw_sample_law *law, unsigned long long seed, unsigned long long sample,
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
    dw_sample_law law;
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
 *        back-propagation (MATH.md 1.3), averaged over the out_dim output units; not for complex weights.
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
 *                  back-propagation (MATH.md 1.3; one GEMM per layer, no per-example Jacobians).
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

/* Convergence study (MATH.md 1.4): for each hidden width N (all hidden layers N), S networks; errors of the
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

/* end of sampling */


/* ======================================================================================
 * spectrum: Jacobian spectrum: NC(k), S-transform, density, finite-N Jacobians (MATH.md 3)
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

/* The per-layer data of a network: variances q_1..q_L (MATH.md 3), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^{2j}] for
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

/* Density rho(t) of the squared singular values at n abscissae t > 0 by Stieltjes inversion (MATH.md 3),
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
DW_API dw_status dw_spectrum_sample_law(const dw_spectrum_sample_opts *o, const dw_sample_law *law,
                                        unsigned long long seed, double *m, double *se, double *s2);
/* How many of the samples x N squared singular values (each network's in descending order, as dw_spectrum_sample
 * writes them) are zero to the SVD's resolution: at or below (16 N eps)^2 times their network's largest, the size
 * an SVD of the formed J gives a zero singular value. These are the exact zeros of a rank-deficient J (a relu
 * layer's dead units: the atom at 0 of the limit) and, for deep products, genuine values too small to resolve
 * (the limit's mass below that level). */
DW_API size_t dw_spectrum_count_zeros(size_t samples, size_t N, const double *s2);
/* end of spectrum */


/* ======================================================================================
 * wick: Wick and genus engine: words, pairings, set partitions, operator graphs (MATH.md 4)
 * ====================================================================================== */

/* Exact expectations of products of traces of random-matrix words as Laurent polynomials in N (MATH.md 4.1-4.2).
 *
 * Expression: a product of traces, "tr(A A^T B) tr(B^* B)": letters are names ([A-Za-z][A-Za-z0-9_]*, not "tr"),
 * each optionally followed by ^T (transpose), ^* (adjoint), ^H (= ^*) or ^k (a power k >= 0); parentheses group
 * letters, "(A B^T)^3", "(A B)^T" = B^T A^T; a trace may be raised to a power, "tr(A^2)^2". Letters are
 * separated by spaces or '*'.
 * Ensembles ("A=ginibre,B=gue", or one name for every letter; NULL: gue): gue, goe, ginibre (real),
 * complex-ginibre, rademacher, sparse:P (0 < P <= 1), moments:m4,m6,... (E xi^4, E xi^6, ... of a symmetric
 * law with E xi^2 = 1, entries xi / sqrt N). Real laws read ^* as ^T; GUE reads ^* as itself and ^T as the
 * conjugate.
 * Routes: pairings (Wick, union-find of index slots, Gaussian laws only, with the Euler characteristic and
 * orientability of every gluing), partitions (set partitions of the index slots with falling factorials and
 * entry moments, every law), recursion (Harer-Zagier for one-trace GUE words tr(A^{2k}), Haagerup-Thorbjornsen
 * for one-trace complex Ginibre words tr((G G^*)^k)), or auto (recursion where it applies, pairings for
 * Gaussian laws, otherwise partitions). A word too long for the chosen route is refused with its limit. */
typedef enum dw_wick_route {
    DW_WICK_AUTO = 0,
    DW_WICK_PAIRINGS = 1,
    DW_WICK_PARTITIONS = 2,
    DW_WICK_RECURSION = 3
} dw_wick_route;

typedef struct dw_wick_opts {
    const char *ensembles; /* see above; NULL: every letter GUE */
    int normalized;        /* 1: every trace is the normalised trace (1/N) tr */
    dw_wick_route route;
    size_t max_pairings;   /* list up to this many pairings (pairings route; 0: none) */
    int threads;           /* 0: the OpenMP default; the result does not depend on it */
    size_t max_letters;    /* refuse longer expressions (0: only the routes' own limits) */
} dw_wick_opts;

typedef struct dw_wick_result dw_wick_result;

DW_API void dw_wick_opts_init(dw_wick_opts *o); /* GUE, unnormalised, auto route, no listing, default threads */
/* Compute E[prod tr(w_i)]; *res is NULL on failure. */
DW_API dw_status dw_wick_compute(dw_wick_result **res, const char *expr, const dw_wick_opts *o);
DW_API void dw_wick_result_clear(dw_wick_result *res);
/* Route used: "pairings", "partitions" or "recursion". */
DW_API const char *dw_wick_result_route(const dw_wick_result *res);
/* Exponents lo..hi of the Laurent polynomial (lo > hi when the expectation is 0) and the exact coefficient of
 * N^e as a decimal string "p" or "p/q" (valid until the next call on the result; "0" outside lo..hi). */
DW_API void dw_wick_result_range(const dw_wick_result *res, long *lo, long *hi);
DW_API const char *dw_wick_result_coef(dw_wick_result *res, long e);
/* Everything as one JSON object: {"expression", "ensembles", "route", "normalized", "value": {"N^1": "2", ...},
 * "terms", "by_genus": [{"chi", "power", "orientable", "nonorientable"}...] (pairings and recursion routes),
 * "pairings": [...] (when listed)}; and a human-readable text. Owned by the result. */
DW_API const char *dw_wick_result_json(dw_wick_result *res);
DW_API const char *dw_wick_result_text(dw_wick_result *res, int by_genus, int pairings);

/* Operator-graph (tree) expansion of a network with polynomial activation phi(z) = sum_k c_k z^k (MATH.md 4.3):
 * h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1} (one output), hidden width N, W^1 entries
 * of variance sigma_w^2 / d, later W^l of variance sigma_w^2 / N, biases sigma_b^2, all Gaussian.
 * E[f(x) f(y)] is an exact polynomial in 1/N. Numbers are exact: the coefficients and variances are decimal or
 * fraction strings ("0.1", "1/3"), the inputs doubles taken at their exact binary value. */
typedef struct dw_wick_net {
    int depth;               /* L >= 0 activations */
    size_t n_coef;           /* polynomial degree + 1 (>= 1) */
    const char *const *coef; /* c_0..c_K as strings */
    const char *weight_var;  /* sigma_w^2 */
    const char *bias_var;    /* sigma_b^2 */
} dw_wick_net;

typedef enum dw_wick_expand_route {
    DW_WICK_EXPAND_TREES = 0,      /* sum over pairs of trees of their Wick pairings */
    DW_WICK_EXPAND_CONDITIONAL = 1 /* layer recursion conditioned on the layer below */
} dw_wick_expand_route;

typedef struct dw_wick_expansion dw_wick_expansion;
/* E[f(x) f(y)] for two inputs of dimension d by the chosen route. The trees route also records the trees and
 * the tree pairs with their pairings (power of N, Euler characteristic of the glued graph) when `record` is 1. */
DW_API dw_status dw_wick_expand(dw_wick_expansion **e, const dw_wick_net *net, const double *x, const double *y,
                                size_t d, dw_wick_expand_route route, int record);
DW_API void dw_wick_expansion_clear(dw_wick_expansion *e);
/* Degree D in 1/N and the coefficient of N^{-k}, k = 0..D, as a decimal "p" or "p/q" string (valid until the
 * next call on the expansion), and as the nearest double. */
DW_API int dw_wick_expansion_degree(const dw_wick_expansion *e);
DW_API const char *dw_wick_expansion_coef(dw_wick_expansion *e, int k);
DW_API double dw_wick_expansion_coef_d(const dw_wick_expansion *e, int k);
/* JSON: {"value": {"N^0": ..., "N^-1": ...}, "trees": [...], "terms": [...]} (trees/terms when recorded). */
DW_API const char *dw_wick_expansion_json(dw_wick_expansion *e);
/* Number of recorded terms (tree pairs with a non-zero expectation) and a Graphviz DOT drawing of term k. */
DW_API size_t dw_wick_expansion_terms(const dw_wick_expansion *e);
DW_API dw_status dw_wick_expansion_dot(dw_wick_expansion *e, size_t k, const char **dot);

/* end of wick */


/* ======================================================================================
 * sig: signatures, signature kernels, neural signature kernels, cResNets, linear CDEs (MATH.md 5)
 * ====================================================================================== */

/* Paths are piecewise linear through `len` points in R^d, stored batch x len x d (row-major, float64); every
 * function checks len >= 2, d >= 1 and that every entry is finite, naming the offending path and point.
 * threads: 0 = the OpenMP default; results never depend on it. */

/* Read paths from .npy (3-D: batch x len x d; 2-D: one path len x d) or .csv (one path, len x d); *data is
 * malloc'ed (free()). Entries must be finite (the readers' checks). On error *data is NULL and the sizes are 0. */
DW_API dw_status dw_sig_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d);

/* ---- truncated signatures (MATH.md 5) ---- */
/* Entries of a level-n signature without level 0: d + d^2 + ... + d^n (0 if that overflows). */
DW_API size_t dw_sig_size(size_t d, int level);
/* Entries of a level-n log-signature: the number of Lyndon words of length 1..n (0 if that overflows). */
DW_API size_t dw_sig_logsig_size(size_t d, int level);
/* out (batch x dw_sig_size): S(x) = exp(dx_1) (x) ... (x) exp(dx_M) (Chen), words level by level and
 * lexicographically within a level (iisignature's order). */
DW_API dw_status dw_sig_signature(const double *X, size_t batch, size_t len, size_t d, int level, int threads,
                                  double *out);
/* out (batch x dw_sig_logsig_size): coordinates of log S(x) in the Lyndon basis (standard bracketing, Lyndon words
 * level by level, lexicographic within a level): iisignature's logsig. */
DW_API dw_status dw_sig_logsignature(const double *X, size_t batch, size_t len, size_t d, int level, int threads,
                                     double *out);

/* ---- signature kernels: the Goursat PDE (MATH.md 5) ---- */
typedef enum dw_sig_solver { DW_SIG_SECOND_ORDER = 0, DW_SIG_FIRST_ORDER = 1 } dw_sig_solver;
typedef enum dw_sig_static { DW_SIG_LINEAR = 0, DW_SIG_RBF = 1 } dw_sig_static;

typedef struct dw_sig_kernel_opts {
    int dyadic_order;            /* lambda >= 0: each segment cut into 2^lambda pieces */
    dw_sig_solver solver;        /* second order (default) or first order (for comparison) */
    dw_sig_static static_kernel; /* linear: kappa = scale^2 <x, y>; rbf: exp(-|x - y|^2 / (2 scale^2)) */
    double scale;                /* > 0 (default 1) */
    int threads;
} dw_sig_kernel_opts;

DW_API void dw_sig_kernel_opts_init(dw_sig_kernel_opts *o); /* lambda 0, second order, linear, scale 1 */
/* Work-space bytes of a Gram computation (the output excluded); refuses nothing. */
DW_API double dw_sig_kernel_bytes(const dw_sig_kernel_opts *o, size_t lx, size_t ly, size_t d);
/* K (n x m) = k(x_i, y_j) for X (n x lx x d), Y (m x ly x d); Y == NULL gives K(X, X), exactly symmetric. */
DW_API dw_status dw_sig_kernel_gram(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, double *K);
/* Rows i0..i1-1 and columns j0..j1-1 of the Gram matrix into K (leading dimension ld), bit-identical to
 * dw_sig_kernel_gram's entries (Y == NULL: the symmetric Gram's entries). */
DW_API dw_status dw_sig_kernel_tile(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0,
                                    size_t j1, double *K, size_t ld);
/* Richardson-style error estimate of a Gram matrix K computed with options o: the Gram matrix at the next lower
 * dyadic order (the next higher one when lambda = 0) K', and err = |K - K'| / (r - 1) (r = 4 second order,
 * 2 first order; lambda = 0: |K - K'| r / (r - 1)). Writes the largest absolute and relative (to |K|) values. */
DW_API dw_status dw_sig_kernel_error(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                     const double *Y, size_t m, size_t ly, size_t d, const double *K,
                                     double *max_abs, double *max_rel);

/* ---- neural signature kernels (MATH.md 5.1) ---- */
typedef struct dw_sig_nsk_opts {
    const dw_act *act;    /* phi (borrowed); its Gaussian expectations come from dw_act_dual */
    double sigma0;        /* Y_0 = sigma_0 z_0 */
    double sigma_a;       /* A_k entries N(0, sigma_A^2 / N) */
    double sigma_b;       /* b_k entries N(0, sigma_b^2) */
    int inhomogeneous;    /* 0: weights shared over time (Goursat system); 1: fresh weights (diagonal ODE) */
    int dyadic_order;     /* lambda >= 0 (ignored with grid) */
    dw_sig_solver solver; /* second order (Heun cell update) or first order */
    int grid;             /* 1: the exact width limit of the discrete network on the data grid */
    int threads;
} dw_sig_nsk_opts;

DW_API void dw_sig_nsk_opts_init(dw_sig_nsk_opts *o); /* sigma0 = sigma_a = 1, sigma_b = 0, homogeneous, lambda 0, second order */
DW_API double dw_sig_nsk_bytes(const dw_sig_nsk_opts *o, size_t n, size_t lx, size_t m, size_t ly);
/* K (n x m) of the neural signature kernel; the inhomogeneous kernel needs lx == ly (one time grid, t_m = m/M). */
DW_API dw_status dw_sig_nsk_gram(const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                 size_t m, size_t ly, size_t d, double *K);

/* ---- random linear CDEs / selective state-space models (MATH.md 5.2) ---- */
typedef struct dw_sig_lcde_opts {
    size_t n_gate;         /* channels of the path forming the gate path omega (0: all) */
    const size_t *gate;
    size_t n_input;        /* channels forming the input path xi (0: all) */
    const size_t *input;
    double sigma_B;        /* B entries N(0, sigma_B^2) */
    double sigma_C;        /* C entries N(0, sigma_C^2); Y_0 = C x_0 + c */
    double sigma_c;        /* c entries N(0, sigma_c^2) */
    double sigma_A;        /* diagonal models only: diagonal entries N(0, sigma_A^2) (dense: N(0, 1/N)) */
    int diagonal;          /* 1: diagonal (Mamba-like) A_i */
    int threads;
} dw_sig_lcde_opts;

DW_API void dw_sig_lcde_opts_init(dw_sig_lcde_opts *o); /* all channels, sigma_B = sigma_C = 1, sigma_c = 0 */
/* The width limit of (1/N) <Y^x_M, Y^y_M'> on the data grid (exact for dense A). K is n x m. */
DW_API dw_status dw_sig_lcde_kernel(const dw_sig_lcde_opts *o, const double *X, size_t n, size_t lx,
                                    const double *Y, size_t m, size_t ly, size_t d, double *K);
/* States of `samples` independent random models of width N applied to every path (the same weights for the whole
 * batch): out is samples x batch x N (final states) or samples x batch x len x N (all_times). Random numbers:
 * Philox streams keyed by (seed, sample, matrix, row block). */
DW_API dw_status dw_sig_lcde_sample(const dw_sig_lcde_opts *o, size_t width, size_t samples, unsigned long long seed,
                                    int all_times, const double *X, size_t batch, size_t len, size_t d, double *out);
/* The same recursion with given weights: A (p x N x N, p gate channels; diagonal: p x N), B (N x q), C (N x d),
 * c (N); out is batch x len x N. */
DW_API dw_status dw_sig_lcde_forward(const dw_sig_lcde_opts *o, size_t width, const double *A, const double *B,
                                     const double *C, const double *c, const double *X, size_t batch, size_t len,
                                     size_t d, double *out);

/* ---- random controlled ResNets (MATH.md 5.1) ---- */
/* Hidden states of `samples` random controlled ResNets of width N (options as for the kernel: act, sigmas,
 * inhomogeneous; dyadic_order, solver and grid are ignored): out is samples x batch x N, or samples x batch x
 * len x N with all_times. The same network for the whole batch. */
DW_API dw_status dw_sig_cresnet_sample(const dw_sig_nsk_opts *o, size_t width, size_t samples, unsigned long long seed,
                                       int all_times, const double *X, size_t batch, size_t len, size_t d,
                                       double *out);

/* end of sig */


#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_H */
