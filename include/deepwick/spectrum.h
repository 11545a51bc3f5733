/** deepwick/spectrum.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/spectrum/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_SPECTRUM_H
#define DEEPWICK_SPECTRUM_H

#include "deepwick/net.h"
#include "deepwick/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ======================================================================================
 * spectrum: Jacobian spectrum: NC(k), S-transform, density, finite-N Jacobians (theory.md 3)
 * ====================================================================================== */

/** The network (a dw_net, theory.md 3): dw_net_set_fc(net, depth, act, false), i.e. `depth` dense layers each followed
 * by the activation and NO readout: J = D_L W^L ... D_1 W^1, D_l = diag(phi'(h^l)), W^l with entries of variance
 * weight_var_l / N, b^l of variance bias_var_l (dw_net_set_weight_var / _bias_var: 1 or depth values; the spectrum
 * needs weight_var > 0). A net WITH a readout is refused (the spectrum is that of the hidden layers' Jacobian; a
 * readout would change J to W^{L+1} J): build it with readout = false. The weight law of the net
 * (dw_net_set_law) picks the limit: "orthogonal" gives the Haar orthogonal limit, every i.i.d. law (gaussian,
 * rademacher, uniform, student-t, sparse) the Gaussian one (the limit depends on the law only through its variance);
 * complex-gaussian is refused (the spectrum is for real networks), as is a Gaussian input layer with orthogonal
 * weights. The parameterisation does not matter (the network function is the same). dw_spectrum_init copies what it
 * needs of the net (the net may be cleared after it) but borrows its activation, which must outlive the spectrum. */

/** Routes for the moments: non-crossing partitions with Kreweras complements (i.i.d. weights only, k <=
 * DW_SPECTRUM_NC_KMAX), or the S-transform as power series. */
typedef enum dw_spectrum_route { DW_SPECTRUM_ROUTE_NC = 1, DW_SPECTRUM_ROUTE_S = 2 } dw_spectrum_route;

#define DW_SPECTRUM_KMAX 256    /* largest moment order (S-transform route) */
#define DW_SPECTRUM_NC_KMAX 16  /* largest order of the NC(k) route (Catalan(16) = 35357670 partitions) */
#define DW_SPECTRUM_RES_KMAX 8   /* largest moment order of residual networks (the block recursion) */
#define DW_SPECTRUM_ACTFIRST_KMAX 4 /* largest moment order of act-first residual networks (the grid route) */
#define DW_SPECTRUM_RES_DEPTH_MAX 1024 /* most residual blocks */
#define DW_SPECTRUM_DEPTH_MAX DW_NET_DEPTH_MAX
#define DW_SPECTRUM_WIDTH_MAX 46340 /* a finite network's widths: N^2 within a LAPACK int */

/** ---- options of the limit (opaque) ---- */
typedef struct dw_spectrum_opts dw_spectrum_opts;
/** Defaults: q0 1, no fixed point, kmax 8. */
DW_API dw_status dw_spectrum_opts_init(dw_spectrum_opts **o);
DW_API void dw_spectrum_opts_clear(dw_spectrum_opts *o);
/** q0 = |x|^2 / N > 0 finite, the input variance (also the start of the fixed-point search). */
DW_API dw_status dw_spectrum_opts_set_q0(dw_spectrum_opts *o, double q0);
/** true: every q_l = q*, the stable fixed point of the variance map (needs one weight and one bias variance). */
DW_API dw_status dw_spectrum_opts_set_fixed_point(dw_spectrum_opts *o, bool on);
/** The largest moment order that will be asked for, 1..DW_SPECTRUM_KMAX. */
DW_API dw_status dw_spectrum_opts_set_kmax(dw_spectrum_opts *o, int kmax);

/** The per-layer data of a network: variances q_1..q_L (theory.md 3), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^{2j}] for
 * j = 1..kmax, and the law of phi'(sqrt(q_l) Z)^2 (exact atoms for identity, relu, leaky relu, abs, step; a
 * Gauss-Legendre discretisation on the two half lines otherwise). o NULL: the defaults. DW_ERR_RANGE names the
 * variance where the moments of phi' diverge or overflow, or where no fixed point exists. */
typedef struct dw_spectrum dw_spectrum;
DW_API dw_status dw_spectrum_init(dw_spectrum **s, const dw_net *net, const dw_spectrum_opts *o);
DW_API void dw_spectrum_clear(dw_spectrum *s);
DW_API int dw_spectrum_depth(const dw_spectrum *s);
DW_API int dw_spectrum_kmax(const dw_spectrum *s);
/** true: the Haar orthogonal limit (the net's law is orthogonal); false: the i.i.d. one. */
DW_API bool dw_spectrum_orthogonal(const dw_spectrum *s);
/** q_1..q_L (depth values); with fixed_point all equal q*. */
DW_API const double *dw_spectrum_q(const dw_spectrum *s);
/** mu_j^{(l)} at mu[(l - 1) * kmax + (j - 1)], l = 1..L, j = 1..kmax. */
DW_API const double *dw_spectrum_mu(const dw_spectrum *s);
/** Estimated absolute error of the worst mu_j (0 where exact). */
DW_API double dw_spectrum_mu_error(const dw_spectrum *s);
/** Mass of the atom at 0 of the squared singular values (max over layers of P(phi'(h) = 0)). */
DW_API double dw_spectrum_atom0(const dw_spectrum *s);
/** The input variance |x|^2 / N of a finite network with this limit: q0, or at the fixed point the one that gives
 * q_1 = q*, (q* - sigma_b^2) / sigma_w^2 of layer 1; 0 where none does (sigma_w^2 = 0 or q* = sigma_b^2). */
DW_API double dw_spectrum_input_q0(const dw_spectrum *s);

/** Residual networks (theory.md 3, residual networks): a net of L >= 1 blocks
 * dw_net_add_residual(net, branch, gamma_l, alpha_l), each branch dense; ACT (one activation for all blocks; per-block
 * weight and bias variances in the dense layers), i.e. x_l = gamma_l x_{l-1} + alpha_l phi(W_l x_{l-1} + b_l),
 * J = prod_l (gamma_l I + alpha_l D_l W_l), D_l = diag(phi'(u_l)), u_l = W_l x_{l-1} + b_l of variance
 * q_l = sigma_w,l^2 (1/N)|x_{l-1}|^2 + sigma_b,l^2 (the input: (1/N)|x_0|^2 = q0 and mean 0, e.g. a random
 * direction). The moments m_k, k <= DW_SPECTRUM_RES_KMAX, come from the non-crossing pairings of the W's, one block
 * at a time (DW_SPECTRUM_ROUTE_NC; the S-transform route is refused: the blocks are not free of each other), i.i.d.
 * or Haar orthogonal weights (the net's law); no fixed point, no exact rationals, density or support yet; the branch
 * ACT; dense (D_l correlated along the residual stream) is refused. Finite residual networks: dw_spectrum_sample /
 * dw_spectrum_sample_law on the same net, the branches' dense layers of one width N (dw_net_add_dense's width). */
/** The large-depth limit (alpha_l^2 = O(1/L), gamma = 1): S(z) = exp(-c (1 + 2 z)), c = sum_l alpha_l^2 sigma_w,l^2
 * mu_1^{(l)} (the free multiplicative Brownian motion at time 2c; Tarnowski et al. 2019's universality): its moments
 * m_1..m_K (K <= DW_SPECTRUM_KMAX). */
DW_API dw_status dw_spectrum_residual_universal(double c, int K, double *m);
/** c of a residual spectrum (sum_l alpha_l^2 sigma_w,l^2 mu_1^{(l)}); 0 (and false from dw_spectrum_residual) for
 * a fully connected one. */
DW_API bool dw_spectrum_residual(const dw_spectrum *s);
DW_API double dw_spectrum_residual_c(const dw_spectrum *s);
/** Act-first residual blocks (theory.md 3): dw_net_add_residual(net, branch, gamma_l, alpha_l) with each branch
 * ACT; dense, i.e. x_l = gamma_l x_{l-1} + alpha_l (W_l phi(x_{l-1}) + b_l), J = prod_l (gamma_l I + alpha_l W_l
 * D_{l-1}), D_{l-1} = diag(phi'(x_{l-1})); the input x_0 with coordinates N(0, q0) in the limit (a random
 * direction of |x_0|^2 / N = q0). One coordinate's path is a Gaussian Markov chain of variances p_0 = q0,
 * p_l = gamma_l^2 p_{l-1} + alpha_l^2 (sigma_w,l^2 E phi(sqrt(p_{l-1}) Z)^2 + sigma_b,l^2), so the D's are
 * correlated across blocks; dw_spectrum_q gives q_l = p_{l-1} (block l's D) and mu_j^{(l)} the moments there. The
 * moments m_k, k <= DW_SPECTRUM_ACTFIRST_KMAX, come from the same pairings with each face's expectation along one
 * path, on a grid of Gauss nodes per half line (a kink of phi at 0 lies between them; activations with kinks away
 * from 0 are refused): dw_spectrum_moments_error gives its error estimate. m_1 = prod_l (gamma_l^2 + alpha_l^2
 * sigma_w,l^2 mu_1^{(l)}) as for dense-first blocks, but at large depth (alpha_l^2 = c / L) the higher moments do not
 * approach the universal limit unless phi is linear (the D's along the slowly moving stream stay correlated). i.i.d.
 * or Haar orthogonal weights; no fixed point, density, support or exact rationals; finite networks: dw_spectrum_sample
 * on the same net. */
DW_API bool dw_spectrum_residual_act_first(const dw_spectrum *s);

/** m_1..m_K of the squared singular values of J, m_k = lim (1/N) E tr (J J^T)^k, K <= kmax, by either route. */
DW_API dw_status dw_spectrum_moments(const dw_spectrum *s, int K, dw_spectrum_route route, double *m);
/** The same moments and err[k - 1], an absolute error estimate of m_k: for act-first residual blocks (a quadrature
 * grid, see below) |m_k(h) - m_k(3h/4)| between the grid and a coarser one (conservative where the grid converges
 * geometrically); 0 for the other routes (exact given the mu_j, whose own error is dw_spectrum_mu_error). */
DW_API dw_status dw_spectrum_moments_error(const dw_spectrum *s, int K, dw_spectrum_route route, double *m,
                                           double *err);

/** Exact rationals where the mu_j and q_l are rational (identity, relu, leaky relu, abs, step, polynomials; the
 * decimal inputs read as the shortest decimals that round to them: 0.1 is 1/10), as strings "45/7" or "1285663"
 * owned by the result. DW_ERR_INVALID (naming why) where they are not rational. */
typedef struct dw_spectrum_exact dw_spectrum_exact;
DW_API dw_status dw_spectrum_exact_init(dw_spectrum_exact **e, const dw_spectrum *s, int K, dw_spectrum_route route);
DW_API void dw_spectrum_exact_clear(dw_spectrum_exact *e);
DW_API int dw_spectrum_exact_depth(const dw_spectrum_exact *e); /* L */
DW_API int dw_spectrum_exact_K(const dw_spectrum_exact *e);     /* K */
/** Indices are 1-based as in the theory; NULL out of range. q_l (l = 1..L); mu_j^{(l)} (j = 1..K); m_k (k = 1..K);
 * the variance m_2 - m_1^2 (NULL when K < 2). */
DW_API const char *dw_spectrum_exact_q(const dw_spectrum_exact *e, int l);
DW_API const char *dw_spectrum_exact_mu(const dw_spectrum_exact *e, int l, int j);
DW_API const char *dw_spectrum_exact_m(const dw_spectrum_exact *e, int k);
DW_API const char *dw_spectrum_exact_var(const dw_spectrum_exact *e);

/** The squared singular values lie in [lo, hi] (hi: the right edge, where x(z) = 1/chi_J(z) is least on the real
 * branch; lo is 0 for now). */
DW_API dw_status dw_spectrum_support(const dw_spectrum *s, double *lo, double *hi);

/** Density rho(t) of the squared singular values at n abscissae t > 0 by Stieltjes inversion (theory.md 3),
 * atoms excluded (see dw_spectrum_atom0). Newton continuation along t (sorted internally), falling back to a
 * path from t + i oo down to the real axis; DW_ERR_RANGE names the abscissa where neither converged. */
DW_API dw_status dw_spectrum_density(const dw_spectrum *s, size_t n, const double *t, double *rho);

/** Edge of chaos for the bias variance sigma_b^2 >= 0: sigma_w^2 with m_1 = sigma_w^2 mu_1(q*) = 1 at the fixed
 * point q* (q* is returned too; for relu-like activations with sigma_b^2 = 0 every q is a fixed point and
 * q* = q0). DW_ERR_RANGE names the bias variance where none exists. */
DW_API dw_status dw_spectrum_criticality(const dw_act *act, double bias_var, double q0, double *weight_var,
                                         double *q_star);

/** ---- finite networks: options (opaque) ----
 * samples S >= 2 networks (default 10), K moments 1..DW_SPECTRUM_KMAX (default 4), probes (0: exact SVD of each J,
 * the default; >= 2: Hutchinson with that many Rademacher probes), seed of the probes (default 0), q0 = |x|^2 / N > 0
 * of the drawn inputs (default 1), threads (0: all cores, core.h; results do not depend on it), the drawing
 * function (dw_spectrum_sample) and a progress callback (networks done / samples, from the calling thread; non-zero
 * cancels). dw_spectrum_network_hutchinson reads K, probes (>= 2) and seed. */
typedef struct dw_spectrum_sample_opts dw_spectrum_sample_opts;
DW_API dw_status dw_spectrum_sample_opts_init(dw_spectrum_sample_opts **o);
DW_API void dw_spectrum_sample_opts_clear(dw_spectrum_sample_opts *o);
DW_API dw_status dw_spectrum_sample_opts_set_samples(dw_spectrum_sample_opts *o, size_t samples);
DW_API dw_status dw_spectrum_sample_opts_set_K(dw_spectrum_sample_opts *o, int K);
DW_API dw_status dw_spectrum_sample_opts_set_probes(dw_spectrum_sample_opts *o, size_t probes);
DW_API dw_status dw_spectrum_sample_opts_set_seed(dw_spectrum_sample_opts *o, unsigned long long seed);
DW_API dw_status dw_spectrum_sample_opts_set_q0(dw_spectrum_sample_opts *o, double q0);
DW_API dw_status dw_spectrum_sample_opts_set_threads(dw_spectrum_sample_opts *o, int threads);

/** Many networks of width N (square layers), drawn by the caller's function: `what` says which array, `sample` is the
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
/** draw NULL: none (dw_spectrum_sample then refuses to run). */
DW_API dw_status dw_spectrum_sample_opts_set_draw(dw_spectrum_sample_opts *o, dw_spectrum_draw_fn draw, void *ctx);
/** progress NULL: none. */
DW_API dw_status dw_spectrum_sample_opts_set_progress(dw_spectrum_sample_opts *o,
                                                      int (*progress)(void *ctx, double done, double total),
                                                      void *ctx);

/** ---- one given finite network ----
 * net: dw_net_set_given(net, act, L, widths, W, b, false) (no readout: every dense layer is followed by the
 * activation), square or not, h^l = W^l a^{l-1} + b^l, a^l = phi(h^l), a^0 = x, W^l of N_l x N_{l-1} (row-major,
 * used as given: the net's weight_var / bias_var scales play no part), widths 1..DW_SPECTRUM_WIDTH_MAX,
 * J = D_L W^L ... D_1 W^1 with D_l = diag(phi'(h^l)).
 * The Jacobian at x (N_0 values) by a GEMM chain: J (N_L x N_0, row-major) if not NULL, and the min(N_L, N_0)
 * squared singular values s2 in descending order (LAPACKE_dgesdd) if not NULL. DW_ERR_RANGE names the layer where
 * the forward pass stops being finite. */
DW_API dw_status dw_spectrum_network_jacobian(const dw_net *net, const double *x, double *J, double *s2);
/** m_k = (1/N_0) tr (J^T J)^k, k = 1..K (o's K), by Hutchinson's estimator with o's probes >= 2 Rademacher vectors
 * (the same for o's seed, whatever the thread count) and Jacobian-vector products only (no J is formed):
 * O(L N^2 probes K) instead of O(L N^3) for the SVD. se[k]: the standard error over the probes (of this network, not
 * over networks). m and se have K entries. */
DW_API dw_status dw_spectrum_network_hutchinson(const dw_net *net, const dw_spectrum_sample_opts *o, const double *x,
                                                double *m, double *se);

/** ---- many sampled networks ----
 * net: dw_net_set_fc(net, depth, act, false) with ONE width N (dw_net_set_widths(net, 1, &N), an integer
 * 1..DW_SPECTRUM_WIDTH_MAX) and its variances: W^l = sqrt(weight_var_l / N) x the drawn matrix, b^l = sqrt(bias_var_l)
 * x the drawn vector. m_k = mean over the networks of (1/N) tr (J J^T)^k, k = 1..K, and se[k] its standard error over
 * the networks (which includes the probes' noise with Hutchinson); s2 (samples x N, may be NULL; exact mode only)
 * receives each network's squared singular values in descending order. Networks run in parallel, one BLAS thread
 * each. The weights come from o's drawing function (the net's law is not used). */
DW_API dw_status dw_spectrum_sample(const dw_net *net, const dw_spectrum_sample_opts *o, double *m, double *se,
                                    double *s2);
/** The same with the weights drawn by the sampling module from the net's law, so a network is the same whatever the
 * thread count: network s, layer l (0-based) has W-hat = dw_sample_weights(law, seed, s, l, N, N) (orthogonal:
 * sqrt(N) x Haar; layer 0 Gaussian with dw_net_set_gaussian_input_layer), b-hat = dw_sample_bias(law, seed, s, l, N)
 * (Gaussian) and the input direction dw_sample_bias(gaussian, seed, s, 2^31 - 1, N). o's drawing function is
 * ignored; o's seed keys the Hutchinson probes. Real laws only (complex-gaussian is refused). The limit to compare
 * with is dw_spectrum_init on the same net (the i.i.d. limit for every law but orthogonal). */
DW_API dw_status dw_spectrum_sample_law(const dw_net *net, const dw_spectrum_sample_opts *o, unsigned long long seed,
                                        double *m, double *se, double *s2);
/** How many of the samples x N squared singular values (each network's in descending order, as dw_spectrum_sample
 * writes them) are zero to the SVD's resolution: at or below (16 N eps)^2 times their network's largest, the size
 * an SVD of the formed J gives a zero singular value. These are the exact zeros of a rank-deficient J (a relu
 * layer's dead units: the atom at 0 of the limit) and, for deep products, genuine values too small to resolve
 * (the limit's mass below that level). */
DW_API size_t dw_spectrum_count_zeros(size_t samples, size_t N, const double *s2);

/** ---- the report of `deepwick jacobian` (the CLI, Python and the demo share it) ----
 * Built step by step from a net (borrowed until the report is cleared) and the limit's options (q0, fixed point; o NULL:
 * the defaults; their kmax is ignored: K sets it):
 *   init:     the moments m_1..m_K by the S-transform, the NC(k) route as a check (i.i.d. weights, K <= 12: its
 *             largest relative difference), q_l and mu_j, the criticality at the fixed point of ONE weight and bias
 *             variance (q*, chi = sigma_w^2 mu_1(q*), critical when |chi - 1| <= 1e-9; none when the variances
 *             differ per layer or no stable fixed point exists), the atom at 0 and the support;
 *   exact:    the exact rationals by the S-transform, and whether the NC(k) route gives the same (i.i.d., K <= 12);
 *   density:  rho on n >= 2 evenly spaced abscissae of [a, b], 0 < a < b, and its trapezoid mass on the grid;
 *   sample:   networks of the net's width (set it with dw_net_set_widths(net, 1, &N) before) and law, started at the
 *             input variance that gives the limit's q_1 (dw_spectrum_input_q0), by dw_spectrum_sample_law with
 *             o (samples, probes, seed of the probes, threads, progress) and `seed` for the weights; the z-scores
 *             (sample - limit) / se, and in exact mode the spectra and their zeros (dw_spectrum_count_zeros).
 * dw_spectrum_report_json gives everything as one JSON object (owned by the report, valid until it changes):
 * {"act", "depth", "weights", "q0", "fixed_point", "q", "mu", "mu_error", "moments", "variance", "route",
 *  ["route_nc_max_rel_diff"], "q_star", "chi_star", "critical", "atom0", "support", ["exact": {"q", "mu", "moments",
 *  "variance", ["routes_agree"]}], ["density": {["out"], "n", "grid", "mass_on_grid_trapezoid"}], ["sample": {"law",
 *  "width", "samples", "seed", "probes", "q0", "moments", "se", "z", ["atom0", "zeros"], "threads", "seconds"}],
 *  ["plot"]}, with the file names the caller recorded (dw_spectrum_report_set_file: "density" or "plot"). */
typedef struct dw_spectrum_report dw_spectrum_report;
DW_API dw_status dw_spectrum_report_init(dw_spectrum_report **r, const dw_net *net, const dw_spectrum_opts *o, int K);
DW_API void dw_spectrum_report_clear(dw_spectrum_report *r);
DW_API dw_status dw_spectrum_report_exact(dw_spectrum_report *r);
DW_API dw_status dw_spectrum_report_density(dw_spectrum_report *r, double a, double b, size_t n);
DW_API dw_status dw_spectrum_report_sample(dw_spectrum_report *r, const dw_spectrum_sample_opts *o,
                                           unsigned long long seed);
/** Record a file name for the JSON ("density": the CSV of the density, "plot": a picture); copied. */
DW_API dw_status dw_spectrum_report_set_file(dw_spectrum_report *r, const char *what, const char *path);
/** NULL if out of memory (DW_ERR_NOMEM's message then says so); "{}" for a NULL report. */
DW_API const char *dw_spectrum_report_json(dw_spectrum_report *r);
/** Getters (NULL / 0 where the part was not computed). */
DW_API const dw_spectrum *dw_spectrum_report_spectrum(const dw_spectrum_report *r);
DW_API int dw_spectrum_report_K(const dw_spectrum_report *r);
DW_API const double *dw_spectrum_report_moments(const dw_spectrum_report *r);     /* K values */
/** Their error estimates (dw_spectrum_moments_error; act-first residual blocks), NULL for the exact routes. */
DW_API const double *dw_spectrum_report_moments_error(const dw_spectrum_report *r);
DW_API const dw_spectrum_exact *dw_spectrum_report_exact_result(const dw_spectrum_report *r);
/** -1: not compared (orthogonal, or K > 12); 1 the routes agree; 0 they do not (floating point: the largest relative
 * difference in *maxrel, NaN when not compared). */
DW_API int dw_spectrum_report_routes_agree(const dw_spectrum_report *r, double *maxrel);
/** q*, chi; returns false where the criticality is not reported. */
DW_API bool dw_spectrum_report_criticality(const dw_spectrum_report *r, double *q_star, double *chi, bool *critical);
DW_API void dw_spectrum_report_support(const dw_spectrum_report *r, double *lo, double *hi);
/** The density grid: n points t and rho (NULL before dw_spectrum_report_density), and its trapezoid mass. */
DW_API size_t dw_spectrum_report_density_grid(const dw_spectrum_report *r, const double **t, const double **rho,
                                              double *mass);
/** The sampled moments and standard errors (K values each), the input variance used, the spectra (samples x N,
 * exact mode) and their zeros; returns false before dw_spectrum_report_sample. */
DW_API bool dw_spectrum_report_sampled(const dw_spectrum_report *r, const double **m, const double **se, double *q0,
                                       const double **s2, size_t *samples, size_t *N, size_t *zeros, double *seconds);
/** The histogram of the sampled non-zero squared singular values in `bins` bins (edges: bins + 1 values, height:
 * bins), normalised by all the values so that its area is 1 - (the sampled atom at 0): on [0, top] (log_t false),
 * or with geometric bins from the smallest non-zero value (log_t: the density of ln t). top is the largest of the
 * sampled values and the limit's right edge. DW_ERR_INVALID before an exact-mode sample. */
DW_API dw_status dw_spectrum_report_histogram(const dw_spectrum_report *r, size_t bins, bool log_t, double *edges,
                                              double *height);
/** The limit's density curve on n >= 2 points: [a, b] if a < b, else across the support (log_t: from 1e-6 of the right
 * edge, or the smallest non-zero sampled value; else from 1/2000 of it), evenly or (log_t) geometrically spaced;
 * log_t gives t rho(t) (the density of ln t). */
DW_API dw_status dw_spectrum_report_curve(const dw_spectrum_report *r, size_t n, bool log_t, double a, double b,
                                          double *t, double *rho);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_SPECTRUM_H */
