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
/* Allocate a large output array (2 MiB aligned, transparent huge pages requested: the first touch of fresh pages
 * otherwise costs more than computing a Gram matrix); NULL with DW_ERR_NOMEM's message on failure. Free with
 * dw_core_free_large. */
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
 * poly:c0,c1,...,cK (phi(z) = sum_k c_k z^k). */
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
} dw_kernel_opts;

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

/* end of spectrum */


/* ======================================================================================
 * wick: Wick and genus engine: words, pairings, set partitions, operator graphs (MATH.md 4)
 * ====================================================================================== */

/* end of wick */


/* ======================================================================================
 * sig: signatures, signature kernels, neural signature kernels, cResNets, linear CDEs (MATH.md 5)
 * ====================================================================================== */

/* end of sig */


#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_H */
