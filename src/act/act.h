/* Internal view of activations: the registry entry the sweeps dispatch on (theory.md 1.5). */
#ifndef DW_ACT_H
#define DW_ACT_H

#include "core/internal.h"
#include "act/expr.h"
#include "act/sweep.h"
#include "gauss/gauss.h"

#include <math.h>

#define DW_POLY_MAX_DEGREE 40

struct dw_act {
    dw_family fam;
    double alpha;  /* relu family slope on z < 0 (relu 0, abs -1) */
    double d0;     /* phi'(0) at the kink (autodiff convention) */
    int deg;       /* poly degree */
    double *coef;  /* poly coefficients c_0..c_deg */
    dw_expr *expr; /* generic: phi as a parsed expression (built-ins such as tanh are expressions too) */
    double kink;   /* generic: the first kink away from z = 0 (NAN if none) */
    int nkinks;    /* generic: number of kinks (0 included), -1 if more than DW_COND_MAX_KINKS */
    double kinks[DW_COND_MAX_KINKS]; /* generic: the kinks, sorted */
    int elu;       /* built-in elu / selu: phi = lambda z (z > 0), lambda alpha (e^z - 1) (z < 0) */
    double elu_alpha, elu_lambda;
    int pwl;       /* generic: phi is linear between its kinks, pwl_a[i] + pwl_b[i] z on piece i (kinks[i-1], kinks[i]) */
    double pwl_a[DW_COND_MAX_KINKS + 1], pwl_b[DW_COND_MAX_KINKS + 1];
    char name[DW_EXPR_MAX_LEN + 8];
    const char *method;
};

/* DW_ERR_INVALID, naming it, for a generic activation with a kink away from 0 (see dw_act.kink). */
dw_status dw_act_check_generic(const dw_act *act);
/* phi(z) and phi'(z) of a generic activation, in the form the gauss module integrates (dw_fn). */
double dw_act_fn(double z, double *dphi, const void *act);

/* Kinked generic activations (kinked.c): the Hermite expansion at variance q (composite Gauss-Legendre rules
 * ending on the kinks where a kink lies away from 0, else dw_hermite_expand); the pairwise expectations by the
 * series, then the conditional 1-D route where the series bound misses the target (dw_act_dual_fix skips the
 * series: the kernel has already tried it); the method string the kernel reports for such entries. */
dw_status dw_act_expand(const dw_act *act, double q, int K, dw_hermite *h);
dw_status dw_act_dual_kinked(const dw_act *act, double a, double b, double c, double target, int series,
                             double scale, double scale_d, double *v, double *vdot, double *bound, double *bound_d,
                             const char **route);
/* The same at a given rho and s = sqrt(1 - rho^2) (series = 0: no Hermite series), for callers that carry the
 * angle without cancellation (neardup.c). */
dw_status dw_act_dual_kinked_rs(const dw_act *act, double a, double b, double rho, double srho, double target,
                                int series, double scale, double scale_d, double *V, double *Vd, double *bound,
                                double *bound_d, const char **route);
/* The phi the conditional routes integrate: the closed-form pieces for elu / piecewise linear phi, else the
 * expression. */
dw_fn dw_act_kinked_fn(const dw_act *act);
/* Near-duplicate pairs of a kinked generic phi (neardup.c): V = E[phi(u) phi(v)] and Vd at rho = 1 - 2 hs from the
 * carried half-angle hs = (1 - rho)/2, and D = E[(phi(u) - phi(v))^2]/2 without cancellation (D = -1 when phi is
 * discontinuous: not available), with absolute error bounds. */
dw_status dw_act_dual_near(const dw_act *act, double a, double b, double hs, double target, double scale,
                           double scale_d, double *V, double *Vd, double *D, double *bound, double *bound_d,
                           double *bound_D);
/* scale, scale_d: sqrt(E phi(u)^2 E phi(v)^2) and the same for phi', known to the caller (the kernel). */
dw_status dw_act_dual_fix(const dw_act *act, double a, double b, double c, double target, double scale,
                          double scale_d, double *v, double *vdot, double *bound, double *bound_d);
const char *dw_act_fix_method(const dw_act *act);
/* For a smooth generic phi whose pairwise bound (bound, bound_d for v, vdot) misses the target: the conditional
 * 1-D route with a break at 0 (a soft kink: tanh at variance 1e3), keeping the smaller bounds; 1 if it answered. */
int dw_act_dual_soft(const dw_act *act, double a, double b, double c, double target, double scale, double scale_d,
                     double *v, double *vdot, double *bound, double *bound_d);
/* Sets act->pwl (and its pieces) if phi is linear between its kinks, checked at sample points of every piece. */
void dw_act_detect_pwl(dw_act *act);

/* 1 if the generic phi is lam (alpha z + (1 - alpha) relu(z)) in the Gaussian expectations of pairs (piecewise
 * linear, one kink at 0, no intercept: max(z, 0.1*z), relu(z) - 0.1*relu(-z), abs(z), 2*max(z, 0), min(z, 0)).
 * The kernel then takes the relu family's closed form, whose angle state stays exact near rho = 1. */
int dw_act_relu_form(const dw_act *act, double *alpha, double *lam);

/* Homogeneous families carry the angle state (sweep.h). */
static inline int dw_act_homogeneous(const dw_act *act)
{
    return act->fam == DW_FAM_RELU || act->fam == DW_FAM_STEP;
}

/* Per-point quantities at variance a: r (see dw_pts.r) and, for homogeneous families, E[phi(sqrt(a) Z)^2]. */
/* The sweeps' step of the pairwise expectations (one layer with w = 1, no bias, the standard parameterisation's
 * tangent form with fan-in 0): c' = E[phi(u) phi(v)], theta' = E[phi'(u) phi'(v)] theta. */
void dw_act_dual_step(const dw_act *act, bool ntk, dw_step *st);
/* dw_act_dual through a given sweep implementation (dw_sweep_select(), chosen once by a caller that asks
 * many times: the choice reads the environment). */
dw_status dw_act_dual_with(const dw_sweep_impl *impl, const dw_act *act, double a, double b, double c, double *v,
                           double *vdot);
/* The homogeneous sweeps' pair state of one entry (sweep.h): s = sin^2(theta/2), t = cos^2(theta/2) of the angle
 * between u and v (Var a, b, Cov c), with ab - c^2 exact to rounding (FMA error-free products): c / sqrt(ab)
 * rounded would put theta ~ 1e-8 off near |rho| = 1. A zero variance: s = t = 1/2 (rho = 0). */
static inline void dw_act_half_angle(double a, double b, double c, double *s, double *t)
{
    const double p = a * b;
    if (!(p > 0)) {
        *s = *t = 0.5;
        return;
    }
    const double e1 = fma(a, b, -p), q = c * c, e2 = fma(c, c, -q);
    const double disc = fmax((p - q) + (e1 - e2), 0.0);
    const double sab = sqrt(p) * sqrt(1.0 + e1 / p); /* sqrt(ab) to rounding */
    const double near = disc / (2.0 * sab * (sab + fabs(c))), far = (sab + fabs(c)) / (2.0 * sab);
    *s = fmin(c >= 0 ? near : far, 1.0);
    *t = fmin(c >= 0 ? far : near, 1.0);
}
void dw_act_point(const dw_act *act, double a, double *r, double *m2);
/* Poly: pk[k * stride] = M_k(a)/sqrt(k!), qk[k * stride] = M_{k+1}(a)/sqrt(k!), M_k(a) = E[phi^(k)(sqrt(a) Z)]. */
void dw_act_poly_point(const dw_act *act, double a, double *pk, double *qk, size_t stride);

#endif
