/* dw_act_dual: the Gaussian expectations of one pair, through the same sweep code as the Gram matrices
 * (one layer with w = 1, b = 0), so that the public pairwise function and the kernels cannot disagree. */
#include "act/act.h"
#include "gauss/gauss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void dw_act_dual_step(const dw_act *act, bool ntk, dw_step *st)
{
    memset(st, 0, sizeof *st);
    st->fam = act->fam;
    st->alpha = act->alpha;
    st->w = 1.0;
    st->ntk = ntk;
    st->standard = 1; /* theta' = fan_in 0 * E + 0 + w E[phi'phi'] theta */
    st->deg = act->deg;
}

dw_status dw_act_dual(const dw_act *act, double a, double b, double c, double *v, double *vdot)
{
    return dw_act_dual_with(dw_sweep_select(), act, a, b, c, v, vdot);
}

dw_status dw_act_dual_with(const dw_sweep_impl *impl, const dw_act *act, double a, double b, double c, double *v,
                           double *vdot)
{
    if (!act) return dw_fail(DW_ERR_INVALID, "dual: NULL activation");
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || a < 0 || b < 0)
        return dw_fail(DW_ERR_INVALID, "dual: variances must be finite and >= 0, covariance finite (a=%g, b=%g, c=%g)",
                       a, b, c);
    const double lim = sqrt(a) * sqrt(b);
    if (fabs(c) > lim * (1.0 + 1e-12) + 1e-300)
        return dw_fail(DW_ERR_INVALID, "dual: |c| = %g exceeds sqrt(ab) = %g: not a covariance matrix", fabs(c), lim);
    if (act->fam == DW_FAM_GENERIC) {
        double bv, bd;
        return dw_act_dual_bound(act, a, b, c, DW_DUAL_TARGET, v, vdot, &bv, &bd, NULL);
    }
    /* Two points (row 0: variance a, column 1: variance b), padded so vector loads stay in bounds. */
    enum { NP = 1 + DW_PAD };
    double fa[NP], fsa[NP], fr[NP], fzero[NP], pk[(DW_POLY_MAX_DEGREE + 1) * NP], qk[(DW_POLY_MAX_DEGREE + 1) * NP];
    memset(fzero, 0, sizeof fzero);
    for (int i = 0; i < NP; i++) {
        double x = i == 0 ? a : b;
        fa[i] = x;
        fsa[i] = sqrt(x);
        dw_act_point(act, x, &fr[i], NULL);
        if (act->fam == DW_FAM_POLY) dw_act_poly_point(act, x, pk + i, qk + i, NP);
    }
    dw_pts q = {fa, fsa, fr, fzero, fzero, fzero, pk, qk, NP, fzero, fzero};
    dw_step st;
    dw_act_dual_step(act, true, &st); /* theta' = E[phi'phi'] * 1 exactly */
    double s[4] = {0.5, 0.5, 0.5, 0.5}, t[4] = {0.5, 0.5, 0.5, 0.5}, cc[4] = {c, c, c, c}, th[4] = {1, 1, 1, 1};
    if (dw_act_homogeneous(act)) {
        if (lim > 0) dw_act_half_angle(a, b, c, &s[0], &t[0]);
        impl->homog(&st, 1, &q, 0, &q, 1, s, t, cc, th);
    } else {
        impl->smooth(&st, 1, &q, 0, &q, 1, s, t, cc, th);
    }
    if (!isfinite(cc[0]) || !isfinite(th[0]))
        return dw_fail(DW_ERR_RANGE, "dual: E[phi(u)phi(v)] for %s overflows at a=%g, b=%g, c=%g", act->name, a, b, c);
    if (v) *v = cc[0];
    if (vdot) *vdot = th[0];
    return DW_OK;
}

dw_status dw_act_dual_n(const dw_act *act, size_t n, const double *a, const double *b, const double *c, double *v,
                        double *vdot)
{
    if (n && (!a || !b || !c)) return dw_fail(DW_ERR_INVALID, "dual: NULL input array");
    for (size_t i = 0; i < n; i++) {
        dw_status s = dw_act_dual(act, a[i], b[i], c[i], v ? v + i : NULL, vdot ? vdot + i : NULL);
        if (s) {
            char msg[1024]; /* copy: dw_fail writes the buffer dw_error_message() points to */
            snprintf(msg, sizeof msg, "%s", dw_error_message());
            return dw_fail(s, "element %zu: %s", i, msg);
        }
    }
    return DW_OK;
}

dw_status dw_act_dual_bound(const dw_act *act, double a, double b, double c, double target, double *v, double *vdot,
                            double *bound, double *bound_d, const char **route)
{
    if (!act || !bound || !bound_d) return dw_fail(DW_ERR_INVALID, "dual: NULL argument");
    if (dw_act_check_generic(act)) return DW_ERR_INVALID;
    if (act->fam != DW_FAM_GENERIC) {
        if (route) *route = act->method;
        *bound = *bound_d = 0.0; /* closed forms: rounding only */
        return dw_act_dual(act, a, b, c, v, vdot);
    }
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || a < 0 || b < 0)
        return dw_fail(DW_ERR_INVALID, "dual: variances must be finite and >= 0, covariance finite (a=%g, b=%g, c=%g)",
                       a, b, c);
    if (a > 0 && b > 0 && act->nkinks > 0) /* kinks: series, then the conditional 1-D route (kinked.c) */
        return dw_act_dual_kinked(act, a, b, c, target, 1, 0.0, 0.0, v ? v : &(double){0}, vdot, bound, bound_d,
                                  route);
    if (a > 0 && b > 0) {
        double V, Vd, sc = 0, scd = 0;
        dw_status st = dw_dual_generic(dw_act_fn, act, a, b, c, target, &V, &Vd, bound, bound_d, &sc, &scd, route);
        if (st) return st;
        if (dw_act_dual_soft(act, a, b, c, target, sc, scd, &V, &Vd, bound, bound_d) && route) *route = "conditional";
        if (v) *v = V;
        if (vdot) *vdot = Vd;
        return DW_OK;
    }
    /* A zero variance: u = 0 identically, so E[phi(u) phi(v)] = phi(0) E[phi(v)] (a_0 of the other side). */
    double d0, p0 = dw_act_fn(0.0, &d0, act), q = fmax(a, b), m, md, em = 0.0, emd = 0.0;
    if (q > 0) {
        static _Thread_local dw_hermite h;
        dw_status st = dw_act_expand(act, q, 1, &h);
        if (st) return st;
        m = h.a[0];
        md = h.b[0];
        em = h.da[0];
        emd = h.db[0];
    } else {
        m = p0;
        md = d0;
    }
    if (!isfinite(p0) || !isfinite(d0))
        return dw_fail(DW_ERR_RANGE, "dual: %s or its derivative is not finite at 0", act->name);
    if (v) *v = p0 * m;
    if (vdot) *vdot = d0 * md;
    *bound = fabs(p0) * em;
    *bound_d = fabs(d0) * emd;
    if (route) *route = "hermite";
    return DW_OK;
}
