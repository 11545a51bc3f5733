/** deepwick/act.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/act/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_ACT_H
#define DEEPWICK_ACT_H

#include "deepwick/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ------------------------------------------------------------------------------------------------------------
 * act: activation functions and their Gaussian expectations (theory.md 1.5)
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct dw_act dw_act;

/** Parse an activation spec: identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp,
 * poly:c0,c1,...,cK (phi(z) = sum_k c_k z^k) (closed forms); tanh, sigmoid, gelu (z Phi(z)), gelu_tanh, silu,
 * softplus, elu, selu, mish; or any expression in z ("z*sigmoid(1.702*z)", "tanh(z)^2", "max(z, 0.1*z)"):
 * numbers, z, pi, e, + - * / ^, parentheses, exp log sqrt abs tanh sigmoid erf sin cos relu softplus max min.
 * A malformed expression gives DW_ERR_INVALID with "column C: what was expected". */
DW_API dw_status dw_act_init(dw_act **act, const char *spec);
DW_API void dw_act_clear(dw_act *act);
/** Canonical spelling of the activation ("leaky_relu:0.1"). */
DW_API const char *dw_act_name(const dw_act *act);
/** Method used for its Gaussian expectations ("closed form", "Isserlis"). */
DW_API const char *dw_act_method(const dw_act *act);
/** Names of the built-in activations, NULL-terminated. */
DW_API const char *const *dw_act_builtins(void);

/** phi(z) and phi'(z) for n points; either output may be NULL. At kinks phi' is the one-sided value that
 * autodiff frameworks return: relu'(0) = 0, abs'(0) = 0, step'(z) = 0, leaky_relu'(0) = 1. */
DW_API dw_status dw_act_eval(const dw_act *act, size_t n, const double *z, double *phi, double *dphi);

/** Dual (Gaussian) expectations for (u, v) ~ N(0, [[a, c], [c, b]]):
 * v = E[phi(u) phi(v)], vdot = E[phi'(u) phi'(v)] (either output may be NULL).
 * Requires a, b >= 0 finite and c^2 <= a b (up to rounding: c is clipped to [-sqrt(ab), sqrt(ab)]). */
DW_API dw_status dw_act_dual(const dw_act *act, double a, double b, double c, double *v, double *vdot);
/** The same with absolute error bounds on v and vdot (0 for closed forms, exact to rounding) and the route that
 * answered ("hermite", "quadrature-2d", "quadrature-polar", "conditional" (kinked activations) or combinations;
 * closed forms: dw_act_method). target
 * is relative to sqrt(E[phi(u)^2] E[phi(v)^2]) (resp. phi'); the bound says whether it was met. route may be NULL.
 * DW_ERR_RANGE, naming the variance, where the Gaussian moments of phi or phi' diverge. */
#define DW_DUAL_TARGET 1e-10
DW_API dw_status dw_act_dual_bound(const dw_act *act, double a, double b, double c, double target, double *v,
                                   double *vdot, double *bound, double *bound_d, const char **route);
/** The same for n triples (a[i], b[i], c[i]); stops at the first invalid triple, naming its index. */
DW_API dw_status dw_act_dual_n(const dw_act *act, size_t n, const double *a, const double *b, const double *c,
                               double *v, double *vdot);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_ACT_H */
