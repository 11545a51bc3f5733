/** deepwick/predict.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/predict/. Arrays are row-major float64 (C order) throughout.
 *
 * Inference with scalar-output kernels (theory.md 6; Neural Tangents' predict module, same names and conventions):
 * the GP posterior (gp_inference), gradient descent on the MSE of the linearised network (gradient_descent_mse) and
 * the infinite ensemble at time t (gradient_descent_mse_ensemble), on GIVEN kernel matrices; and kernel regression
 * straight from the inputs of a network (dw_predict_regress), computing the kernel on the way.
 *
 * Conventions (Neural Tangents'):
 *   n train points, m test points, k target columns; Y is n x k.
 *   The regulariser lambda = diag_reg * tr(K_train_train) / n, or diag_reg itself with diag_reg_absolute_scale;
 *   every solve and eigendecomposition is of A = K_train_train + lambda I.
 *   Time: tau = learning_rate * t / (n k) (the MSE loss is normalised by the number of entries of Y); t = INFINITY is
 *   the limit, computed by a Cholesky solve, a finite t by the eigendecomposition A = V diag(ev) V^T (dsyevd, cached
 *   for every later t). With e(ev) = expm1(-ev tau) (ev < 0 within rounding is taken as 0, where e / ev -> -tau):
 *     f_t(train) = f_0(train) + V e V^T (f_0(train) - Y)
 *     f_t(test)  = f_0(test)  + K_test_train V (e / ev) V^T (f_0(train) - Y),      f_inf(test) uses A^{-1}.
 *   The ensemble (f_0 = 0 in the mean; the prior covariance is the NNGP K):
 *     mean_t = K*_test_train V (-e / ev) V^T Y;
 *     NNGP form: cov_t = K_test_test - K*_test_train V (-e_2 / ev) V^T K*_test_train^T, e_2 = expm1(-2 ev tau);
 *     NTK form (Theta the kernel, K the NNGP): cov_t = K_test_test + T1^T K T1 - T2 - T2^T with
 *       T1 = V (-e / ev) V^T Theta_test_train^T (n x m), T2 = Theta_test_train V (-e / ev) V^T K_test_train^T;
 *   at t = INFINITY, -e / ev = 1 / ev (A^{-1}): the GP posterior (gp_inference) in NNGP form, and the infinite
 *   ensemble of NTK-trained networks in NTK form.
 *
 * k_train_train must be symmetric to 1e-10 of its largest diagonal entry (its upper triangle is used).
 * Never a NaN: a K_train_train + lambda I that is not numerically positive definite (a failing Cholesky pivot, or an
 * eigenvalue below -n eps ||A||) is one DW_ERR_INVALID error naming lambda_min(A) and the diag_reg that would make
 * A definite; non-finite inputs are refused naming the array, row and column.
 * ---------------------------------------------------------------------------------------------------------- */
#ifndef DEEPWICK_PREDICT_H
#define DEEPWICK_PREDICT_H

#include <stdbool.h>

#include "deepwick/net.h"
#include "deepwick/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options (an opaque object, see net.h for the conventions). Defaults: diag_reg 0 (relative), learning_rate 1,
 * t INFINITY, kind nngp, solver auto, cg tolerance 1e-10, rank automatic, max_iter 10000, threads 0. */
typedef struct dw_predict_opts dw_predict_opts;
DW_API dw_status dw_predict_opts_init(dw_predict_opts **o);
DW_API void dw_predict_opts_clear(dw_predict_opts *o);
/** diag_reg >= 0, finite: the regulariser, relative to the mean diagonal tr(K)/n unless absolute (below). */
DW_API dw_status dw_predict_opts_set_diag_reg(dw_predict_opts *o, double diag_reg);
/** true: diag_reg is lambda itself (Neural Tangents' diag_reg_absolute_scale). */
DW_API dw_status dw_predict_opts_set_diag_reg_absolute_scale(dw_predict_opts *o, bool on);
/** learning_rate > 0, finite (the time unit: tau = learning_rate t / (n k)). */
DW_API dw_status dw_predict_opts_set_learning_rate(dw_predict_opts *o, double learning_rate);
/** dw_predict_regress only: t >= 0 or INFINITY (the default). */
DW_API dw_status dw_predict_opts_set_t(dw_predict_opts *o, double t);
/** dw_predict_regress only: the kernel, "nngp" or "ntk". */
DW_API dw_status dw_predict_opts_set_kind(dw_predict_opts *o, const char *kind);
/** dw_predict_regress only: "auto" (cholesky when the dense kernel fits in memory, else cg), "cholesky" or "cg"
 * (matrix-free: preconditioned CG at t = INFINITY, Lanczos at a finite t). */
DW_API dw_status dw_predict_opts_set_solver(dw_predict_opts *o, const char *solver);
/** cg: relative residual ||A x - y|| / ||y|| per column to reach, in (0, 1); Lanczos: the relative change of the
 * result over two consecutive steps. */
DW_API dw_status dw_predict_opts_set_tol(dw_predict_opts *o, double tol);
/** cg: rank of the randomly pivoted Cholesky preconditioner (0: none, plain CG; larger than n: n). Not set: automatic,
 * min(n, 500). */
DW_API dw_status dw_predict_opts_set_rank(dw_predict_opts *o, size_t rank);
/** cg: the most iterations, >= 1 (default 10000); Lanczos: steps, at most min(n, 1000). */
DW_API dw_status dw_predict_opts_set_max_iter(dw_predict_opts *o, size_t max_iter);
/** cg progress: fn(ctx, iteration, largest relative residual) after each iteration (NULL: none); a non-zero return
 * stops the solve with DW_ERR_INVALID ("cancelled"). The library never prints: the CLI shows it on a terminal. */
typedef int (*dw_predict_progress_fn)(void *ctx, size_t iteration, double residual);
DW_API dw_status dw_predict_opts_set_progress(dw_predict_opts *o, dw_predict_progress_fn fn, void *ctx);
/** Threads (BLAS / LAPACK and the kernel tiles), 0 (the OpenMP default) to 4096. */
DW_API dw_status dw_predict_opts_set_threads(dw_predict_opts *o, int threads);

/** What a prediction did (an opaque result object). */
typedef struct dw_predict_info dw_predict_info;
DW_API dw_status dw_predict_info_init(dw_predict_info **info);
DW_API void dw_predict_info_clear(dw_predict_info *info);
/** "cholesky", "eigh", "cholesky+eigh", "cg" or "lanczos" (owned by the library; "" before any solve). */
DW_API const char *dw_predict_info_solver(const dw_predict_info *info);
/** Why the solver was chosen ("requested", or auto's reason with the sizes); "" before any call. */
DW_API const char *dw_predict_info_reason(const dw_predict_info *info);
/** lambda, the regulariser actually added to the diagonal (absolute units). */
DW_API double dw_predict_info_jitter(const dw_predict_info *info);
/** Smallest eigenvalue of A = K + lambda I: exact (dsyevd) when an eigendecomposition was computed
 * (lambda_min_exact true), else the Rayleigh-quotient estimate from 30 steps of inverse iteration with the Cholesky
 * factor, which is an upper bound up to rounding. NaN when no factorisation was made. */
DW_API double dw_predict_info_lambda_min(const dw_predict_info *info);
DW_API bool dw_predict_info_lambda_min_exact(const dw_predict_info *info);
/** Reciprocal condition number of A in the 1-norm, estimated by dpocon (Cholesky); NaN when not computed. */
DW_API double dw_predict_info_rcond(const dw_predict_info *info);
/** cg: iterations, the rank of the preconditioner and the largest final TRUE relative residual; lanczos: steps and
 * the last relative change (its lambda_min is the smallest Ritz value, an upper bound); 0 otherwise. */
DW_API size_t dw_predict_info_iterations(const dw_predict_info *info);
DW_API size_t dw_predict_info_rank(const dw_predict_info *info);
DW_API double dw_predict_info_residual(const dw_predict_info *info);
/** Certified bounds (dw_predict_mean_bound, dw_predict_regress_bound; docs/predict.md "Certified bounds"): a
 * rigorous lower bound on lambda_min of the EXACT K + lambda I (Rump's shifted Cholesky test on the computed A,
 * minus the kernel's error, and lambda itself for a network's kernel, which is positive semi-definite); -INFINITY
 * when none could be proved, NaN when no bound was asked for. */
DW_API double dw_predict_info_lambda_lower(const dw_predict_info *info);
/** The kernel entries' error bound the certified bound used, relative to sqrt(K(x, x) K(y, y)) (the kernel's
 * max_bound, or for closed forms their rounding, see dw_predict_regress_bound; 0 for given kernel matrices). */
DW_API double dw_predict_info_kernel_bound(const dw_predict_info *info);
/** true when that kernel bound holds an estimated part (dw_kernel_info_estimate): the bound is then an estimate. */
DW_API bool dw_predict_info_bound_estimate(const dw_predict_info *info);

/** ---- predictions on given kernel matrices ----
 * A dw_predict holds the train side: A = k_train_train + lambda I (n x n, copied) with its factorisations, made
 * when first needed and kept, and a copy of y_train (n x k). nngp_train_train (n x n, copied; NULL: none) makes it
 * the NTK form, whose covariances need the NNGP; without it the covariance is the NNGP form (also Neural
 * Tangents' 'ntkgp', with the NTK given as the kernel). o NULL: the defaults (t, kind and solver do not apply). */
typedef struct dw_predict dw_predict;
DW_API dw_status dw_predict_init(dw_predict **p, const dw_predict_opts *o, const double *k_train_train,
                                 const double *nngp_train_train, size_t n, const double *y_train, size_t k);
DW_API void dw_predict_clear(dw_predict *p);
/** The info of the factorisations made so far (jitter, lambda_min, rcond, solver); the Cholesky route's rcond and
 * lambda_min estimate are computed here, on the first call after the factorisation (a few passes over the factor). */
DW_API dw_status dw_predict_get_info(dw_predict *p, dw_predict_info *info);

/** Mean (m x k) and, if cov is not NULL, covariance (m x m) of gp_inference (t = INFINITY) or of the infinite
 * ensemble at time t >= 0 (gradient_descent_mse_ensemble), see the conventions above.
 * k_test_train: m x n, of the kernel of the dw_predict; NULL: the train set itself (m = n), where Neural Tangents
 * returns mean V (-e) V^T Y and covariance V max(ev, 0) exp(-2 ev tau) V^T (NNGP form) or E K E, E = V exp(-ev tau)
 * V^T (NTK form), and at t = INFINITY the mean Y and covariance 0 (non-regularised train-set outputs).
 * For cov: k_test_test (m x m, the prior covariance: the NNGP, or the kernel itself in NNGP form) and in NTK form
 * nngp_test_train (m x n). */
DW_API dw_status dw_predict_mean_cov(dw_predict *p, double t, const double *k_test_train,
                                     const double *nngp_test_train, const double *k_test_test, size_t m, double *mean,
                                     double *cov);

/** The mean of dw_predict_mean_cov at t = INFINITY (m x k; k_test_train m x n, m >= 1) with a certified bound
 * (m x k): |mean_exact - mean| <= bound entry by entry, where mean_exact = K*_exact (K_exact + lambda I)^{-1} Y in
 * exact arithmetic, for kernels within |K_exact - K|_ij <= kernel_bound s_i s_j of the given ones (train-train:
 * s = scale_train both sides, n entries; test-train: scale_test_i (m entries) times scale_train_j). kernel_bound 0
 * (scales may then be NULL): the given matrices are exact and the bound covers the solve and the products'
 * rounding. An entry is +INFINITY when no positive lower bound on lambda_min could be proved. Costs a second
 * Cholesky factorisation (of A shifted, for lambda_min) and two passes over A. */
DW_API dw_status dw_predict_mean_bound(dw_predict *p, const double *k_test_train, size_t m, double kernel_bound,
                                       const double *scale_train, const double *scale_test, double *mean,
                                       double *bound);
/** dw_predict_mean_bound with the kernels' errors entry by entry: |K_exact - K|_ij <= bound_train[i, j] (n x n)
 * and |K*_exact - k_test_train|_ij <= bound_test[i, j] (m x n), absolute (NULL: that kernel is exact), e.g. the
 * bounds of dw_kernel_gram_bound. The bound uses them through E |alpha|, E^T |w| and ||E|| (docs/predict.md);
 * the given kernel is not assumed positive semi-definite. kernel_bound in the info: the largest train entry's bound
 * relative to sqrt(K_ii K_jj). */
DW_API dw_status dw_predict_mean_bound_entries(dw_predict *p, const double *k_test_train, size_t m,
                                               const double *bound_train, const double *bound_test, double *mean,
                                               double *bound);

/** gradient_descent_mse: outputs of the linearised network at time t (INFINITY: the limit) from its outputs at t = 0.
 * fx_train_0 (n x k) and fx_train_t (n x k) may be NULL together (no train outputs; the train-side right-hand side
 * is then -Y as Neural Tangents' fx_train_0 = None); fx_test_0 (m x k), k_test_train (m x n) and fx_test_t (m x k)
 * may be NULL together (no test outputs). At t = INFINITY the train outputs are Y (Neural Tangents' convention). */
DW_API dw_status dw_predict_gd_mse(dw_predict *p, double t, const double *fx_train_0, const double *k_test_train,
                                   const double *fx_test_0, size_t m, double *fx_train_t, double *fx_test_t);

/** ---- kernel regression from the inputs ----
 * The infinite ensemble's mean (m x k) at the options' t (default INFINITY: kernel ridge regression) and, if
 * cov is not NULL, its covariance (m x m), for the net's kernel of the options' kind (nngp or ntk; the net as for
 * dw_kernel_gram), train inputs X (n x d) with targets Y (n x k), test inputs T (m x d). The kernels are computed in
 * C (dw_kernel_gram for cholesky; tile by tile, never stored, for cg and Lanczos). info (NULL: not wanted) says what
 * was done; the Cholesky route's rcond and lambda_min estimate are computed only when info is given. */
DW_API dw_status dw_predict_regress(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                                    const double *Y, size_t k, const double *T, size_t m, size_t d, double *mean,
                                    double *cov, dw_predict_info *info);

/** dw_predict_regress with a certified bound (m x k) on every entry of the mean: |mean_exact - mean| <= bound,
 * mean_exact the exact-arithmetic prediction with the exact kernel (t = INFINITY and the dense route only: with a
 * finite t or the cg solver every entry is +INFINITY, no certificate). The kernel's error is its max_bound (dw_kernel_info), or for the
 * closed forms their rounding, gamma_{d+2} (the inputs' inner product) + 8 eps per layer of the net
 * (docs/predict.md); info (NULL: not wanted) also gets
 * lambda_lower, kernel_bound and bound_estimate. */
DW_API dw_status dw_predict_regress_bound(const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                                          const double *Y, size_t k, const double *T, size_t m, size_t d,
                                          double *mean, double *cov, double *bound, dw_predict_info *info);

/** ---- class labels ----
 * Integer class labels 0..C-1 as targets: one-hot and centred, Y[i][c] = [labels[i] == c] - 1/C (Lee et al. 2018's
 * -0.1 / 0.9 for ten classes). The mean prediction is linear in Y, so the centring shifts every class column
 * equally and leaves the argmax unchanged. dw_predict_classes checks the labels (finite integers in [0, 2^31)) and
 * gives C = max + 1; dw_predict_one_hot writes Y (n x C). */
DW_API dw_status dw_predict_classes(const double *labels, size_t n, size_t *classes);
DW_API dw_status dw_predict_one_hot(const double *labels, size_t n, size_t classes, double *Y);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_PREDICT_H */
