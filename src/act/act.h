/* Internal view of activations: the registry entry the sweeps dispatch on (MATH.md 1.5). */
#ifndef DW_ACT_H
#define DW_ACT_H

#include "core/internal.h"
#include "act/expr.h"
#include "kernels/sweep.h"

#define DW_POLY_MAX_DEGREE 40

struct dw_act {
    dw_family fam;
    double alpha;  /* relu family slope on z < 0 (relu 0, abs -1) */
    double d0;     /* phi'(0) at the kink (autodiff convention) */
    int deg;       /* poly degree */
    double *coef;  /* poly coefficients c_0..c_deg */
    dw_expr *expr; /* generic: phi as a parsed expression (built-ins such as tanh are expressions too) */
    double kink;   /* generic: a kink away from z = 0 (NAN if none): its expectations are refused */
    char name[DW_EXPR_MAX_LEN + 8];
    const char *method;
};

/* DW_ERR_INVALID, naming it, for a generic activation with a kink away from 0 (see dw_act.kink). */
dw_status dw_act_check_generic(const dw_act *act);
/* phi(z) and phi'(z) of a generic activation, in the form the gauss module integrates (dw_fn). */
double dw_act_fn(double z, double *dphi, const void *act);

/* Homogeneous families carry the angle state (sweep.h). */
static inline int dw_act_homogeneous(const dw_act *act)
{
    return act->fam == DW_FAM_RELU || act->fam == DW_FAM_STEP;
}

/* Per-point quantities at variance a: r (see dw_pts.r) and, for homogeneous families, E[phi(sqrt(a) Z)^2]. */
void dw_act_point(const dw_act *act, double a, double *r, double *m2);
/* Poly: pk[k * stride] = M_k(a)/sqrt(k!), qk[k * stride] = M_{k+1}(a)/sqrt(k!), M_k(a) = E[phi^(k)(sqrt(a) Z)]. */
void dw_act_poly_point(const dw_act *act, double a, double *pk, double *qk, size_t stride);

#endif
