/* The predict module's objects and the linear algebra they share (not installed). */
#ifndef DW_PREDICT_INTERNAL_H
#define DW_PREDICT_INTERNAL_H

#include "core/internal.h"
#include "core/par.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { DW_PRED_AUTO = 0, DW_PRED_CHOLESKY = 1, DW_PRED_CG = 2 } dw_pred_solver;

struct dw_predict_opts {
    double diag_reg;
    bool absolute;
    double learning_rate;
    double t;
    bool ntk;              /* regress: the kernel is the NTK */
    dw_pred_solver solver; /* regress */
    double tol;            /* cg */
    size_t rank, max_iter; /* cg */
    bool rank_set;         /* cg: rank given (else automatic) */
    dw_predict_progress_fn progress;
    void *progress_ctx;
    int threads;
    const struct dw_sample_split *split; /* NULL: one process; else the products' row blocks split (tiles.c) */
};
/* Set (or with NULL clear) o's split of the matrix-free products over processes (sample/sample.h; borrowed). */
dw_status dw_predict_opts_set_split(dw_predict_opts *o, const struct dw_sample_split *split);

struct dw_predict_info {
    const char *solver; /* static string */
    char reason[256];
    double jitter, lambda_min, rcond, residual;
    double lambda_lower;   /* certified lower bound on lambda_min of the exact K + lambda I (bound.c); NaN: none */
    double kernel_bound;   /* the kernel entries' bound used by the certified bound (relative to the scales) */
    bool lambda_min_exact;
    bool bound_estimate;   /* the kernel's bound holds an estimated part (dw_kernel_info_estimate) */
    size_t iterations, rank;
};

/* Functions of A = Q^T diag(ev) Q applied by dw_pred_apply (ev+ = max(ev, 0)). */
typedef enum {
    DW_F_INV,           /* A^{-1} (Cholesky) */
    DW_F_NEG_INV_EXPM1, /* -expm1(-ev+ tau) / ev, tau where ev <= 0 (the limit) */
    DW_F_NEG_EXPM1,     /* -expm1(-ev+ tau) */
    DW_F_EXP,           /* exp(-ev+ tau) */
    DW_F_EV_EXP2        /* ev+ exp(-2 ev+ tau) */
} dw_pred_fn;

struct dw_predict {
    dw_predict_opts o;
    size_t n, k;
    double *A;    /* K + lambda I, n x n (owned) */
    double *nngp; /* n x n or NULL: NTK form (owned) */
    double *Y;    /* n x k */
    double lambda, trace_k;
    double *F;    /* Cholesky: col-major lower L of A, i.e. row-major R = L^T, A = R^T R; NULL until made */
    float *Fs;    /* float32 Cholesky factor of 2^-Fs_exp A, laid out as F (mixed.c); NULL until made */
    int Fs_exp;
    int mixed;    /* mixed.c: 0 not tried, 1 the float factor is usable, -1 not (the double factor instead) */
    double anorm; /* ||A||_inf = ||A||_1, once the float factor is made */
    double *Q;    /* eigenvectors, row i the i-th (ascending ev); NULL until made */
    double *ev;
    bool trusted;   /* kernels computed here (regress.c): finite and symmetric by construction, not checked again */
    bool diagnosed; /* rcond and the lambda_min estimate computed (on demand: dw_pred_diagnostics) */
    dw_predict_info info;
};

/* A dw_predict that takes ownership of K (n x n) and nngp (NULL or n x n), from dw_core_alloc_large; they are
 * freed on failure too. trusted: the kernels were computed here (finite, exactly symmetric): not checked again, nor
 * are the test kernels handed to dw_predict_mean_cov. */
dw_status dw_pred_init_owned(dw_predict **p, const dw_predict_opts *o, double *K, double *nngp, size_t n,
                             const double *Y, size_t k, bool trusted);
/* The mean at the train points themselves (the test array is the train array): dw_predict_mean_cov's mean with
 * k_test_train the train kernel, read from A with its diagonal kdiag (the kernel's, before lambda) restored. */
dw_status dw_pred_mean_train(dw_predict *p, double t, const double *kdiag, double *mean);
/* Make the Cholesky factor / the eigendecomposition (once); errors as predict.h says. */
dw_status dw_pred_cholesky(dw_predict *p);
dw_status dw_pred_eigh(dw_predict *p);
/* The Cholesky route's report, on demand (a few more passes over the factor): rcond by dpocon and the lambda_min
 * estimate, unless the eigendecomposition gave it exactly. */
dw_status dw_pred_diagnostics(dw_predict *p);
/* out = f(A) B for B n x c row-major (out may be B): DW_F_INV by Cholesky, the others by the eigendecomposition. */
dw_status dw_pred_apply(dw_predict *p, dw_pred_fn fn, double tau, const double *B, size_t c, double *out);
/* B := A^{-1} B (n x c): by the float32 factor with refinement in double where that applies (mixed.c), else by
 * the double Cholesky factor. */
dw_status dw_pred_solve(dw_predict *p, double *B, size_t c);
/* out (m x k) = K W, K m x n and W n x k row-major, read once (product.c): every entry one sequential chain of
 * fused multiply-adds over j, the same bits for any thread count and instruction set. what not NULL: K is checked
 * finite on the way (the error names `what` and its first non-finite entry; out is then unspecified). */
dw_status dw_pred_product(const double *K, size_t m, size_t n, const double *W, size_t k, int threads,
                          const char *what, double *out);
/* mixed.c: whether c right-hand sides take the float32 route; the refined solve (*done false: B untouched, use the
 * double route); one unrefined inverse-iteration step with the float factor; rcond by dlacn2 with refined solves. */
bool dw_pred_mixed_wanted(const dw_predict *p, size_t c);
dw_status dw_pred_mixed_solve(dw_predict *p, double *B, size_t c, bool *done);
dw_status dw_pred_mixed_inverse_step(dw_predict *p, double *v);
dw_status dw_pred_mixed_rcond(dw_predict *p, double *rcond, bool *done);
/* Check that every entry of a (rows x cols) is finite; the message names `what`, row and column. */
dw_status dw_pred_check_finite(const double *a, size_t rows, size_t cols, const char *what);
/* tau = learning_rate t / (n k); t must be >= 0 (INFINITY allowed: the caller takes the limit route). */
dw_status dw_pred_check_t(double t, const char *who);
/* BLAS/LAPACK thread count for the options (0: unchanged): set, returning the previous one to restore. */
int dw_pred_threads_begin(int threads);
void dw_pred_threads_end(int saved);
/* A fresh info: no solve yet (lambda_min, rcond NaN). */
void dw_pred_info_reset(dw_predict_info *info);
/* Free large n x n arrays. */
void dw_pred_free(void *p);

/* The kernel as an operator, never stored (tiles.c): products with the train-train kernel (plus shift I) and the
 * test-train kernel, its diagonal and its columns, for the kind of the options. */
typedef struct dw_pred_tiles {
    dw_kernel_opts *ko;
    dw_kernel_plan *pxx, *ptx;
    bool ntk;
    size_t n, m;
    int threads;
    double *scratch;
    const struct dw_sample_split *split; /* o's: each part computes its row blocks of a product, then all exchange */
} dw_pred_tiles;
dw_status dw_pred_tiles_init(dw_pred_tiles *t, const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                             const double *T, size_t m, size_t d);
void dw_pred_tiles_clear(dw_pred_tiles *t);
dw_status dw_pred_tiles_train(dw_pred_tiles *t, const double *V, size_t c, double shift, double *out); /* n x c */
dw_status dw_pred_tiles_test(dw_pred_tiles *t, const double *V, size_t c, double *out);               /* m x c */
dw_status dw_pred_tiles_diag(dw_pred_tiles *t, double *diag);
/* out (n x c) = K V for the train-train kernel, each off-diagonal tile computed once for its rows and its columns
 * (tiles_sym.c; with a split, each part its row blocks from the same tiles: the same bits) */
dw_status dw_pred_tiles_sym(dw_pred_tiles *t, const double *V, size_t c, double *out);
/* g (n) = column j of the train kernel minus F[:, :k] F[j, :k]^T (F n x ld row-major; k 0: the column itself):
 * RPCholesky's step, by row blocks like the products (with a split, each part its row blocks, then exchanged). */
dw_status dw_pred_tiles_column(dw_pred_tiles *t, size_t j, const double *F, size_t ld, size_t k, double *g);
/* Run fn(ctx, b, tid) on every row block b (DW_PRED_ROWS rows each) of a rows x c row-local result out: by
 * dw_par_for here, or with t's split each part its contiguous run of blocks, then every part's rows exchanged into
 * out on every part. The single process's bits for any split and thread count when fn's rows depend only on b. */
#define DW_PRED_ROWS 64
#define DW_PRED_COLS 512 /* columns of a product's tile */
dw_status dw_pred_tiles_rows(const dw_pred_tiles *t, size_t rows, size_t c, dw_par_fn fn, void *ctx, double *out);
/* lambda from the options and the kernel's diagonal (n entries) */
double dw_pred_lambda(const dw_predict_opts *o, const double *diag, size_t n);

/* Kernel regression by matrix-free preconditioned CG (cg.c), t infinite: the mean and, cov not NULL, the covariance
 * (cgcov.c), bound not NULL, the certified bound (cgbound.c; +INFINITY everywhere and info's lambda_lower NaN where
 * the kernel has no per-entry bounds). */
dw_status dw_pred_regress_cg(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n, const double *Y,
                             size_t k, const double *T, size_t m, size_t d, double *mean, double *cov, double *bound,
                             dw_predict_info *info);
/* cg.c's solver handed to cgcov.c: X (n x c) = (K + lambda I)^{-1} B by preconditioned CG; iterations added to
 * *iters, the worst true relative residual into *res. */
typedef struct dw_pred_cg_solver {
    dw_pred_tiles *tiles;
    const void *precond;
    const dw_predict_opts *o;
    double lambda;
    dw_status (*solve)(dw_pred_tiles *tiles, const void *precond, const dw_predict_opts *o, double lambda,
                       const double *B, size_t c, double *X, size_t *iters, double *res);
} dw_pred_cg_solver;
/* Test columns solved at once by the covariance (the preconditioner's work space is sized for them). */
size_t dw_pred_cov_chunk(size_t m);
/* The covariance (m x m) on the matrix-free route: NNGP, K_tt - K_td A^{-1} K_td^T by blocks of test columns; NTK,
 * K_tt + T1^T K T1 - T2 - T2^T with T1 = A^{-1} Theta_td^T (n x m, kept) and T2 = T1^T K_td^T (K the NNGP). */
dw_status dw_pred_cg_cov(const dw_pred_cg_solver *sv, const dw_net *net, const double *X, const double *T, size_t m,
                         size_t d, double *cov);
/* The certified bound of the cg route (cgbound.c): whether the kernel has per-entry tile bounds (the relu family,
 * the smooth closed forms; not the generic route, whose bounds hold estimated parts), and the bound (m x k) on
 * |mean_exact - mean| for mean = the tiled K(T, X) alpha, alpha cg's solution of (K + lambda I) alpha = Y. */
struct dw_pred_cg_solver;
bool dw_pred_cg_bound_available(const dw_net *net, const dw_pred_tiles *t);
dw_status dw_pred_cg_bound(const struct dw_pred_cg_solver *sv, const dw_net *net, const double *X, size_t d,
                           const double *Y, const double *alpha, size_t k, const double *mean, double *bound);
/* The same at a finite t by Lanczos (lanczos.c): f(A) Y with f(x) = -expm1(-x tau) / x, no eigendecomposition. */
dw_status dw_pred_regress_lanczos(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                                  const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean,
                                  dw_predict_info *info);

/* The kernel's errors for the certified bound (bound.c): |K_exact - K|_ij <= rel * s_i s_j (train-train: s_train
 * both sides; test-train: s_test_i s_train_j); rel 0: the kernel matrices are exact. psd: the exact train kernel is
 * positive semi-definite (a network's kernel), so lambda_min(K_exact + lambda I) >= lambda. */
typedef struct dw_pred_kerr {
    double rel;
    const double *s_train, *s_test;
    const double *E_train, *E_test; /* entrywise absolute bounds (n x n, m x n) instead of rel s s^T; NULL: none */
    bool psd;
} dw_pred_kerr;
/* mean = k_test_train A^{-1} Y (m x k, as dw_predict_mean_cov at t = INFINITY) and bound (m x k) >= its distance from
 * the exact K*_exact (K_exact + lambda I)^{-1} Y; sets p->info.lambda_lower. */
dw_status dw_pred_mean_bound(dw_predict *p, const double *k_test_train, size_t m, const dw_pred_kerr *e, double *mean,
                             double *bound);

#endif
