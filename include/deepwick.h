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
} dw_spectrum_sample_opts;

/* depth 1, width 100, weight_var 1, bias_var 0, q0 1, 10 samples, K 4, exact, no drawing function. */
DW_API void dw_spectrum_sample_opts_init(dw_spectrum_sample_opts *o);
/* m_k = mean over the networks of (1/N) tr (J J^T)^k, k = 1..K, and se[k] its standard error over the networks
 * (which includes the probes' noise with Hutchinson); s2 (samples x N, may be NULL; exact mode only) receives each
 * network's squared singular values in descending order. Networks run in parallel, one BLAS thread each. */
DW_API dw_status dw_spectrum_sample(const dw_spectrum_sample_opts *o, double *m, double *se, double *s2);
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
