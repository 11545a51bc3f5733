/* deepwick/sig.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/sig/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_SIG_H
#define DEEPWICK_SIG_H

#include "deepwick/act.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * sig: signatures, signature kernels, neural signature kernels, cResNets, linear CDEs (theory.md 5)
 * ====================================================================================== */

/* Paths are piecewise linear through `len` points in R^d, stored batch x len x d (row-major, float64); every
 * function checks len >= 2, d >= 1 and that every entry is finite, naming the offending path and point.
 * threads: 0 = the OpenMP default; results never depend on it. */

/* Read paths from .npy (3-D: batch x len x d; 2-D: one path len x d) or .csv (one path, len x d); *data is
 * malloc'ed (free()). Entries must be finite (the readers' checks). On error *data is NULL and the sizes are 0. */
DW_API dw_status dw_sig_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d);

/* ---- truncated signatures (theory.md 5) ---- */
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

/* ---- signature kernels: the Goursat PDE (theory.md 5) ---- */
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

/* ---- neural signature kernels (theory.md 5.1) ---- */
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

/* ---- random linear CDEs / selective state-space models (theory.md 5.2) ---- */
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

/* ---- random controlled ResNets (theory.md 5.1) ---- */
/* Hidden states of `samples` random controlled ResNets of width N (options as for the kernel: act, sigmas,
 * inhomogeneous; dyadic_order, solver and grid are ignored): out is samples x batch x N, or samples x batch x
 * len x N with all_times. The same network for the whole batch. */
DW_API dw_status dw_sig_cresnet_sample(const dw_sig_nsk_opts *o, size_t width, size_t samples, unsigned long long seed,
                                       int all_times, const double *X, size_t batch, size_t len, size_t d,
                                       double *out);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SIG_H */
