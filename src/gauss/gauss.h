/* gauss: Gaussian expectations of arbitrary activations (theory.md 1.5 (b) and (c)). Internal, not installed.
 *
 *   rule.c     Gauss-Hermite rules for the probabilists' weight exp(-z^2/2)/sqrt(2 pi) (tested; not used by the
 *              driver: phi(sqrt(q) z) with complex singularities near the real axis converges like
 *              exp(-tau sqrt(2n)) only, e.g. tanh at q = 10 misses 1e-5 at n = 400).
 *   trap.c     Trapezoidal rules for the same weight (spectral in 1/h for any q), Richardson/spectral extrapolation.
 *   hermite.c  Hermite coefficients a_k(q), b_k(q), Parseval tails, the Mehler series, the driver.
 *   quad2d.c   2-D quadrature in conditional form (trapezoidal, grids aligned on u = 0 and v = 0).
 *   polar.c    2-D quadrature in polar form (angular panels ending on the rays u = 0, v = 0).
 *
 *   cond.c     conditional 1-D route for piecewise-smooth phi (kinks anywhere), composite Gauss-Legendre rules.
 *   pwcoef.c   Hermite coefficients of phi with kinks anywhere (Gauss-Legendre panels ending on the kinks).
 *   bvn.c      the bivariate normal orthant probability (piecewise linear phi in closed form, act/kinked.c).
 * The trapezoidal rules (hermite.c, quad2d.c, polar.c) handle kinks and jumps exactly only at z = 0; activations
 * with kinks (act/kinked.c) use cond.c and pwcoef.c instead.
 * All error estimates are absolute. Everything here is thread-safe (process-wide rules are built once, under
 * pthread_once; the driver's scratch is _Thread_local).
 */
#ifndef DW_GAUSS_H
#define DW_GAUSS_H

#include "deepwick.h"

/* An activation: returns phi(z) and stores phi'(z) into *dphi when dphi is non-NULL. */
typedef double (*dw_fn)(double z, double *dphi, const void *ctx);

/* ---- Gauss-Hermite rules ------------------------------------------------------------------------------------ */
#define DW_GH_MAX_N 4000

/* n nodes x (ascending, symmetric), weights w (sum 1), sw = sqrt(w) and logw = log(w) (w underflows to 0 for the
 * outermost nodes of large rules; sw and logw keep them). Caller-owned: init computes, clear frees. */
typedef struct dw_gh_rule {
    int n;
    double *x, *w, *sw, *logw;
} dw_gh_rule;

/* Nodes by Sturm-sequence bisection on the Jacobi matrix then Newton on the normalised recurrence; weights by
 * the Christoffel sum 1 / sum_{k<n} h_k(x)^2 (with rescaling, so no overflow). 1 <= n <= DW_GH_MAX_N. */
dw_status dw_gh_rule_init(dw_gh_rule *r, int n);
void dw_gh_rule_clear(dw_gh_rule *r);
/* Allocate the n-node arrays of a rule (freed again on failure); shared by the Gauss-Hermite and trapezoidal rules. */
dw_status dw_rule_alloc(dw_gh_rule *r, int n, const char *what);
/* Trapezoidal rule (trap.c) in the same struct: nodes j h for |j h| <= L, weights h exp(-x^2/2)/sqrt(2 pi). */
dw_status dw_trap_rule_init(dw_gh_rule *r, double h, double L);
/* f(z), except at z == 0 exactly: the mean of f(+-1e-300) (a kink or jump at 0 then costs O(h^2) only). */
double dw_eval_mid(dw_fn f, double z, double *dphi, const void *ctx);
/* The one-sided limits at 0: s = {phi(0+), phi(0-)}, ds = {phi'(0+), phi'(0-)} (what dw_eval_mid averages). */
void dw_eval_sides(dw_fn f, const void *ctx, double s[2], double ds[2]);
/* The driver's three process-wide trapezoidal rules, steps DW_TRAP_H, /2, /4, half-width sqrt(4K+6) + 12;
 * built once (pthread_once). */
#define DW_TRAP_H 0.1
#define DW_GAUSS_K 150
dw_status dw_gauss_rules(const dw_gh_rule **r3);
/* From values with steps h, h/2, h/4 (d1 = |t1 - t0|, d2 = |t2 - t1|): if d2 <= d1/64 (spectral) the finest
 * value with err 4 d2 (d2/d1); else the Romberg value with err 2 |R - R'| (R' from the two finer steps). */
double dw_extrap3(const double t[3], double *err);

/* ---- Hermite coefficients ----------------------------------------------------------------------------------- */
/* h_k = He_k / sqrt(k!). With one rule: a_k = E[phi(sqrt(q) Z) h_k(Z)], b_k = E[phi'(sqrt(q) Z) h_k(Z)],
 * k = 0..K (K < r->n), e2 = E[phi(sqrt q Z)^2], ed2 = E[phi'(sqrt q Z)^2]. b, ed2 may be NULL. q > 0.
 * Nodes whose weighted |phi| and |phi'| are below 1e-20 sqrt(E phi^2) (resp. phi') are skipped; drop (may be NULL)
 * receives the sums of the skipped weighted |phi| and |phi'|, bounds on what that changes in any coefficient.
 * DW_ERR_RANGE (naming q) if a value is not finite. */
dw_status dw_hermite_coeffs(const dw_gh_rule *r, dw_fn f, const void *ctx, double q, int K, double *a, double *b,
                            double *e2, double *ed2, double *drop);

#define DW_HERMITE_KMAX 256
/* Coefficients from the three trapezoidal rules through dw_extrap3 (spectral or Romberg), with its error
 * estimates plus rounding, and Parseval tails with every error added. The b_k used are the Stein ones,
 * b_k = sqrt(k+1) a_{k+1} / sqrt(q) (phi' may jump where phi kinks); the directly computed ones serve as a
 * self-check (stein). */
typedef struct dw_hermite {
    double q;
    int K;
    double a[DW_HERMITE_KMAX + 1], b[DW_HERMITE_KMAX + 1];
    double da[DW_HERMITE_KMAX + 1], db[DW_HERMITE_KMAX + 1]; /* error estimates */
    double e2, ed2;                                          /* E phi^2, E phi'^2 */
    double e2_err, ed2_err;                                  /* their error estimates */
    double tail_a, tail_b; /* upper bounds on sum_{k>K} a_k^2 and sum_{k>K} b_k^2 (Parseval, errors included) */
    double coef_err;       /* max_k da_k (for reports) */
    double unif;           /* the part of every da_k that is the same for all k (the rounding allowance; 0 if none):
                            * da_k - unif is the rules' own error of a_k (per-entry bounds, ebound_series.c) */
    double stein;          /* max_k |sqrt(k+1) a_{k+1} - sqrt(q) b_k^direct| (self-check) */
    int rough;             /* E phi^2 or E phi'^2 converged algebraically in h (a kink or jump): try polar first */
} dw_hermite;

/* Fills h for variance q, K <= DW_GAUSS_K. DW_ERR_RANGE with a message naming the variance when E[phi^2] is not
 * finite or the rules disagree by more than 1e-3 relative (no convergence: e.g. phi = exp(z^2) at q >= 1/4). */
dw_status dw_hermite_expand(dw_fn f, const void *ctx, double q, int K, dw_hermite *h);

/* sum_{k<=K} |rho|^k (da_k |b_k| + db_k |a_k| + da_k db_k): what the errors da, db of two coefficient vectors a, b
 * can change in their Mehler series at rho (the series bounds of hermite.c and act's kinked route). */
double dw_hermite_coef_term(const double *a, const double *da, const double *b, const double *db, int K, double rho);

/* Mehler series sum_{k<=K} ka_k kb_k rho^k and the Cauchy-Schwarz truncation bound
 * |rho|^{K+1} sqrt(tail_a tail_b) (+ a rounding term). |rho| <= 1. */
dw_status dw_mehler(const double *ka, const double *kb, int K, double rho, double tail_a, double tail_b, double *value,
                    double *bound);

/* ---- 2-D quadrature ------------------------------------------------------------------------------------------ */
/* rho = c / sqrt(ab) clipped to [-1, 1] and s = sqrt(1 - rho^2) = sqrt(ab - c^2) / sqrt(ab), with ab - c^2 formed
 * from the products' exact rounding errors (fma): near |rho| = 1 forming 1 - rho^2 from a rounded rho would lose
 * digits (1e-3 relative in s at rho = 1 - 1e-13), and a jump of phi' turns that into errors of order 1e-10.
 * ab - c^2 <= 16 eps ab counts as |rho| = 1 (s = 0, rho = +-1): see quad2d.c. */
void dw_corr(double a, double b, double c, double *rho, double *s);

/* E[phi(u) phi(v)] (want_deriv = 0) or E[phi'(u) phi'(v)] (want_deriv = 1) for (u, v) ~ N(0, [[a, c], [c, b]]),
 * a, b > 0, |c| <= sqrt(ab): u = sqrt(a) Z1, v = sqrt(b)(rho Z1 + sqrt((1-rho)(1+rho)) Z2), outer and inner
 * trapezoidal rules (see dw_dual_quad_both); err is an estimate, not a proof (kinks away from 0 converge
 * algebraically). */
dw_status dw_dual_quad(dw_fn f, const void *ctx, double a, double b, double c, int want_deriv, double *value,
                       double *err);
/* Both at once by the trapezoidal rule of step h on [-L, L]^2, the inner grid aligned so that v = 0 is a node
 * (no error estimate). vd may be NULL. */
dw_status dw_dual_quad_trap(double h, double L, dw_fn f, const void *ctx, double a, double b, double rho, double s,
                            double *v, double *vd, double *abs_sum);
/* V, Vd from steps 0.2, 0.1, 0.05 on [-16, 16]^2 through dw_extrap3 (what dw_dual_quad and the driver use). */
dw_status dw_dual_quad_both(dw_fn f, const void *ctx, double a, double b, double rho, double s, double *v,
                            double *ev, double *vd, double *evd);

/* Polar coordinates (polar.c), angular panels ending on the rays where u = 0 or v = 0: accurate for phi smooth
 * except at 0 (relu, abs, step), at any rho. Error estimate |Q_16 - Q_10| (Gauss-Legendre points per panel). */
dw_status dw_dual_quad_polar(dw_fn f, const void *ctx, double a, double b, double rho, double s, double *v,
                             double *ev, double *vd, double *evd);

/* ---- driver -------------------------------------------------------------------------------------------------- */
/* V = E[phi(u) phi(v)], Vd = E[phi'(u) phi'(v)] (Vd may be NULL) with absolute error bounds bound, bound_d
 * (bound_d may be NULL). Tries the Mehler series (route "hermite"); where its bound exceeds
 * target * max(|V|, scale), scale = sqrt(E[phi(u)^2] E[phi(v)^2]) (and likewise for Vd with phi'), falls back to
 * 2-D quadrature in conditional form ("quadrature-2d") and in polar form ("quadrature-polar"), polar first when
 * the coefficient pass saw a kink or jump (dw_hermite.rough), stopping once the target is met, and keeps per
 * quantity whichever bound is smallest (route "<V's route>+<Vd's route>" when they differ). The result may miss
 * the target (bound says so): the caller checks bound. scale, scale_d may be NULL. DW_ERR_RANGE (naming the
 * variance) when the expectations diverge; DW_ERR_INVALID for a, b <= 0, |c| > sqrt(ab) (1 + 1e-12), target <= 0. */
dw_status dw_dual_generic(dw_fn f, const void *ctx, double a, double b, double c, double target, double *V,
                          double *Vd, double *bound, double *bound_d, double *scale, double *scale_d,
                          const char **route);

/* ---- piecewise-smooth activations (cond.c, pwcoef.c) ----------------------------------------------------------- */
/* Gauss-Legendre rules on [-1, 1]: which = 0, 1, 2 gives 10, 16, 24 points (returned); built once. */
#define DW_GL_RULES 3
int dw_gl_rule(int which, const double **x, const double **w);
/* Panel edges of [lo, hi] for composite rules (cond.c): graded from both ends, h0, 2 h0, 4 h0, ... up to hmax,
 * uniform (<= hmax) between; returns the count of edges written to e (at most max). */
int dw_gl_panel_edges(double lo, double hi, double h0, double hmax, double *e, int max);

/* P(X > h, Y > k) for standard (X, Y) with correlation |rho| < 1 and s = sqrt(1 - rho^2) (accurate: from
 * dw_corr); *err (may be NULL): an absolute error estimate, rounding plus the rules' |Q24 - Q16| (bvn.c). */
double dw_bvn_upper(double h, double k, double rho, double s, double *err);
/* E[(X - h)_+ (Y - k)_+] for 0 <= rho < 1 (s = sqrt(1 - rho^2)) as a sum of positive terms (Price's theorem), with
 * an absolute error estimate in *err (bvn.c). */
double dw_bvn_ramp(double h, double k, double rho, double s, double *err);

#define DW_COND_MAX_KINKS 32
#define DW_COND_L 10.0
/* Closed-form inner expectations g = E[phi(m + sig Z)], gd = E[phi'(m + sig Z)], sig >= 0, and in gabs[0..1]
 * the sums of the magnitudes of the terms that formed them (their rounding scale: terms may cancel). */
typedef void (*dw_inner_fn)(double m, double sig, double *g, double *gd, double *gabs, const void *ctx);
/* A piecewise-smooth activation: phi (f, ctx), its kinks (sorted, any number up to DW_COND_MAX_KINKS, 0
 * included where phi kinks there), and optionally its inner expectations in closed form (inner, ictx). */
typedef struct dw_cond_act {
    dw_fn f;
    const void *ctx;
    dw_inner_fn inner;
    const void *ictx;
    const double *kinks;
    int nk;
} dw_cond_act;
/* E[phi(u) phi(v)] and E[phi'(u) phi'(v)] (vd, evd may be NULL) in conditional form by composite Gauss-Legendre
 * panels ending on the kinks (see cond.c), with error estimates |Q16 - Q10| + tails + rounding; level >= 0
 * divides the panel lengths by 4^level. a, b > 0, rho and s = sqrt(1 - rho^2) as from dw_corr. */
dw_status dw_dual_cond(const dw_cond_act *A, double a, double b, double rho, double s, int level, double *v,
                       double *ev, double *vd, double *evd);
/* dw_hermite_expand for phi with kinks at kinks[0..nk): composite Gauss-Legendre rules (16 and 24 points per
 * panel of length <= 1/4) ending on the kinks / sqrt(q). */
dw_status dw_hermite_expand_pw(dw_fn f, const void *ctx, const double *kinks, int nk, double q, int K, dw_hermite *h);
/* The same with panels of length H (1e-6 < H <= 1/4) in z: a smooth phi(sqrt(q) z) whose transition near 0 is
 * narrower than the trapezoidal rules resolve (tanh at q ~ 1e3) is integrated with H ~ 1/sqrt(q). */
dw_status dw_hermite_expand_pw_h(dw_fn f, const void *ctx, const double *kinks, int nk, double q, int K, double H,
                                 dw_hermite *h);
/* dw_hermite_expand, and where its trapezoidal rules do not converge at a variance q > 16, the piecewise
 * Gauss-Legendre rules with panels of 2 / sqrt(q) and a break at 0 (a smooth activation, tanh at q = 1e3). */
dw_status dw_hermite_expand_smooth(dw_fn f, const void *ctx, double q, int K, dw_hermite *h);

#endif
