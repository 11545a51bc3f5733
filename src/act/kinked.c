/* Activations with kinks (elu, selu, max/min/relu/abs expressions, kinks anywhere): Hermite coefficients from
 * rules that end on the kinks, and the conditional 1-D route (gauss/cond.c) for the pairs the Mehler series
 * cannot certify. For the built-in elu and selu the inner expectation E[phi(m + sig Z)] is in closed form:
 * with t = m / sig, phi = lambda z (z > 0), lambda alpha (e^z - 1) (z < 0),
 *   E[W 1{W > 0}]      = m Phi(t) + sig pdf(t),
 *   E[e^W 1{W < 0}]    = e^{m + sig^2/2} Phi(-t - sig) = pdf(t) sqrt(pi/2) erfcx((t + sig)/sqrt 2)   (Mills form,
 *                        used when t + sig >= 0, so nothing overflows at variances up to 1e3 and beyond),
 *   E[phi(W)]  = lambda (E[W 1{W>0}] + alpha (E[e^W 1{W<0}] - Phi(-t))),
 *   E[phi'(W)] = lambda (Phi(t) + alpha E[e^W 1{W<0}]).
 */
#include "act/act.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define INV_SQRT_2PI 0.39894228040143267794
#define SQRT_PI_2 1.25331413731550025121

static double Phi(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }

/* erfcx(x) = exp(x^2) erfc(x) for x >= 0, relative error a few ulps: x^2 split exactly (fma) below 26, the
 * asymptotic series above (12 terms: the next is below 1e-25 there). */
double dw_erfcx_pos(double x)
{
    if (x < 26.0) {
        const double x2 = x * x, lo = fma(x, x, -x2);
        return exp(x2) * (1.0 + lo) * erfc(x);
    }
    const double t = 1.0 / (2.0 * x * x);
    double s = 1.0, term = 1.0;
    for (int k = 1; k <= 12; k++) {
        term *= -(2 * k - 1) * t;
        s += term;
    }
    return s / (x * 1.77245385090551602730);
}

static void elu_inner(double m, double sig, double *g, double *gd, double *gabs, const void *ctx)
{
    const dw_act *act = ctx;
    const double al = act->elu_alpha, la = act->elu_lambda;
    if (sig == 0.0) {
        *g = la * (m > 0 ? m : al * expm1(m));
        *gd = la * (m > 0 ? 1.0 : al * exp(m));
        gabs[0] = fabs(*g);
        gabs[1] = fabs(*gd);
        return;
    }
    const double t = m / sig, pdf = INV_SQRT_2PI * exp(-0.5 * t * t), pp = Phi(t), pm = Phi(-t);
    const double u = t + sig; /* E[e^W 1{W<0}] = e^{m + sig^2/2} Phi(-u) */
    const double T = u >= 0 ? pdf * SQRT_PI_2 * dw_erfcx_pos(u * 0.70710678118654752440)
                            : exp(m + 0.5 * sig * sig) * Phi(-u);
    *g = la * ((m * pp + sig * pdf) + al * (T - pm));
    *gd = la * (pp + al * T);
    gabs[0] = fabs(la) * (fabs(m * pp) + sig * pdf + fabs(al) * (T + pm));
    gabs[1] = fabs(la) * (pp + fabs(al) * T);
}

/* ---- piecewise linear phi (relu(z - 1), relu6, hardtanh, max(z, 0.1 z), ...) ------------------------------ */
void dw_act_detect_pwl(dw_act *act)
{
    act->pwl = 0;
    if (act->fam != DW_FAM_GENERIC || act->nkinks <= 0 || !act->expr) return;
    static const double far[] = {1e-3, 0.01, 0.1, 0.5, 1, 2, 5, 10, 100, 1e3};
    const int nf = (int)(sizeof far / sizeof far[0]);
    for (int p = 0; p <= act->nkinks; p++) {
        const double lo = p ? act->kinks[p - 1] : -INFINITY, hi = p < act->nkinks ? act->kinks[p] : INFINITY;
        double z[16];
        int nz = 0;
        if (isfinite(lo) && isfinite(hi)) {
            for (int i = 1; i <= 9; i++) z[nz++] = lo + (hi - lo) * i / 10.0;
        } else {
            for (int i = 0; i < nf; i++) z[nz++] = isfinite(lo) ? lo + far[i] : hi - far[i];
        }
        double b0, a0 = dw_expr_eval(act->expr, z[0], &b0);
        if (!isfinite(a0) || !isfinite(b0)) return;
        const double icpt = a0 - b0 * z[0];
        for (int i = 1; i < nz; i++) {
            double d, f = dw_expr_eval(act->expr, z[i], &d);
            if (!(d == b0) || !(fabs(f - (icpt + b0 * z[i])) <= 1e-14 * (fabs(f) + fabs(b0 * z[i]) + fabs(icpt))))
                return;
        }
        act->pwl_a[p] = icpt;
        act->pwl_b[p] = b0;
    }
    act->pwl = 1;
}

static double pwl_fn(double z, double *dphi, const void *ctx)
{
    const dw_act *act = ctx;
    int p = 0;
    while (p < act->nkinks && z > act->kinks[p]) p++;
    if (z == (p < act->nkinks ? act->kinks[p] : INFINITY)) return dw_act_fn(z, dphi, ctx); /* at a kink: autodiff */
    if (dphi) *dphi = act->pwl_b[p];
    return act->pwl_a[p] + act->pwl_b[p] * z;
}

/* E[phi(W)], E[phi'(W)], W ~ N(m, sig^2): sum over the pieces (l, r) of alpha P + beta (m P + sig (pdf(l') -
 * pdf(r'))), P = Phi(r') - Phi(l'), l' = (l - m) / sig (upper-tail differences where l' > 0). */
static void pwl_inner(double m, double sig, double *g, double *gd, double *gabs, const void *ctx)
{
    const dw_act *act = ctx;
    if (sig == 0.0) {
        double d = 0.0;
        *g = pwl_fn(m, &d, act);
        *gd = d;
        gabs[0] = fabs(*g);
        gabs[1] = fabs(d);
        return;
    }
    double s = 0, sd = 0, sa = 0, sda = 0;
    for (int p = 0; p <= act->nkinks; p++) {
        const double lo = p ? (act->kinks[p - 1] - m) / sig : -INFINITY;
        const double hi = p < act->nkinks ? (act->kinks[p] - m) / sig : INFINITY;
        const double P = lo >= 0 ? Phi(-lo) - Phi(-hi) : Phi(hi) - Phi(lo);
        const double dl = isfinite(lo) ? INV_SQRT_2PI * exp(-0.5 * lo * lo) : 0.0;
        const double dh = isfinite(hi) ? INV_SQRT_2PI * exp(-0.5 * hi * hi) : 0.0;
        const double al = act->pwl_a[p], be = act->pwl_b[p];
        s += al * P + be * (m * P + sig * (dl - dh));
        sd += be * P;
        sa += fabs(al) * P + fabs(be) * (fabs(m) * P + sig * (dl + dh));
        sda += fabs(be) * P;
    }
    *g = s;
    *gd = sd;
    gabs[0] = sa;
    gabs[1] = sda;
}

static double elu_fn(double z, double *dphi, const void *ctx)
{
    const dw_act *act = ctx;
    const double al = act->elu_alpha, la = act->elu_lambda;
    if (z > 0) {
        if (dphi) *dphi = la;
        return la * z;
    }
    if (dphi) *dphi = la * al * exp(z);
    return la * al * expm1(z);
}

dw_status dw_act_expand(const dw_act *act, double q, int K, dw_hermite *h)
{
    /* any kink, 0 included: the trapezoidal rules converge only like h^2 at a jump of phi' or phi'' (elu), so
     * their error estimates leave the series uncertified at moderate |rho|; these rules do not */
    if (act->fam == DW_FAM_GENERIC && act->nkinks > 0)
        return dw_hermite_expand_pw(dw_act_fn, act, act->kinks, act->nkinks, q, K, h);
    return dw_hermite_expand_smooth(dw_act_fn, act, q, K, h);
}

const char *dw_act_fix_method(const dw_act *act)
{
    if (act->fam == DW_FAM_GENERIC && act->elu)
        return "Hermite series (Mehler) with Parseval tail bound, and for entries the series bound could not certify "
               "the closed-form conditional expectation (Phi, erfcx) integrated by 1-D Gauss-Legendre panels";
    if (act->fam == DW_FAM_GENERIC && act->pwl)
        return "Hermite series (Mehler) with Parseval tail bound, and for entries the series bound could not certify "
               "the closed-form conditional expectation (piecewise linear: Phi, pdf) integrated by 1-D Gauss-Legendre "
               "panels ending on the kinks";
    if (act->fam == DW_FAM_GENERIC && act->nkinks > 0)
        return "Hermite series (Mehler) with Parseval tail bound, and for entries the series bound could not certify "
               "conditional 1-D Gauss-Legendre quadrature with panels ending on the kinks";
    return "Hermite series (Mehler) with Parseval tail bound, and 2-D quadrature for entries the series bound could "
           "not certify";
}

/* sum_k |rho|^k (da_k |b_k| + db_k |a_k| + da_k db_k) (as in hermite.c). */
static double coef_term(const double *a, const double *da, const double *b, const double *db, int K, double rho)
{
    double s = 0, p = 1, r = fabs(rho);
    for (int k = 0; k <= K; k++) {
        s += p * (da[k] * fabs(b[k]) + db[k] * fabs(a[k]) + da[k] * db[k]);
        p *= r;
    }
    return s;
}

#define MAX_LEVEL 2

dw_status dw_act_dual_kinked(const dw_act *act, double a, double b, double c, double target, int series,
                             double scale, double scale_d, double *V, double *Vd, double *bound, double *bound_d,
                             const char **route)
{
    if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b) || !isfinite(c))
        return dw_fail(DW_ERR_INVALID, "dual: variances must be positive and finite (a = %g, b = %g, c = %g)", a, b, c);
    if (!(target > 0)) return dw_fail(DW_ERR_INVALID, "dual: target = %g must be positive", target);
    if (fabs(c / sqrt(a * b)) > 1 + 1e-12)
        return dw_fail(DW_ERR_INVALID, "dual: |c| = %g exceeds sqrt(ab) = %g", fabs(c), sqrt(a * b));
    double rho, srho;
    dw_corr(a, b, c, &rho, &srho);
    double vs = 0, bs = INFINITY, vds = 0, bds = INFINITY, sc = scale, scd = scale_d;
    int from_series = 0;
    if (series) {
        static _Thread_local dw_hermite ha_store, hb_store;
        dw_hermite *ha = &ha_store, *hb = &hb_store;
        const int K = DW_GAUSS_K;
        dw_status st = dw_act_expand(act, a, K, ha);
        if (st) return st;
        if (b == a)
            hb = ha;
        else if ((st = dw_act_expand(act, b, K, hb)))
            return st;
        sc = sqrt(ha->e2 * hb->e2);
        scd = sqrt(ha->ed2 * hb->ed2);
        dw_mehler(ha->a, hb->a, K, rho, ha->tail_a, hb->tail_a, &vs, &bs);
        bs += coef_term(ha->a, ha->da, hb->a, hb->da, K, rho);
        dw_mehler(ha->b, hb->b, K, rho, ha->tail_b, hb->tail_b, &vds, &bds);
        bds += coef_term(ha->b, ha->db, hb->b, hb->db, K, rho);
        from_series = 1;
    }
    int src_v = from_series ? 0 : 1, src_d = src_v;
    /* the conditional route: for elu/selu and piecewise linear phi first with the closed-form inner expectation;
     * where that misses the target (elu's terms cancel at small variances, ~eps / sqrt(b) relative), with the
     * numeric inner one, at
     * refinement levels 0..MAX_LEVEL (panel lengths / 4^level) */
    const int has_closed = act->elu || act->pwl;
    const dw_fn fn = act->elu ? elu_fn : act->pwl ? pwl_fn : dw_act_fn;
    const dw_cond_act closed = {fn, act, act->elu ? elu_inner : pwl_inner, act, act->kinks, act->nkinks};
    const dw_cond_act numeric = {fn, act, NULL, NULL, act->kinks, act->nkinks};
    /* steps: closed-form inner at levels 0..MAX_LEVEL (if any), then the numeric inner at levels 0..MAX_LEVEL */
    const int first = has_closed ? 0 : MAX_LEVEL + 1, last = 2 * MAX_LEVEL + 1;
    for (int step = first; step <= last; step++) {
        const int ok_v = bs <= target * fmax(fabs(vs), sc), ok_d = bds <= target * fmax(fabs(vds), scd);
        if ((from_series || step > first) && ok_v && ok_d) break;
        const int numeric_step = step > MAX_LEVEL, level = numeric_step ? step - MAX_LEVEL - 1 : step;
        double vq, evq, vdq, edq;
        dw_status st = dw_dual_cond(numeric_step ? &numeric : &closed, a, b, rho, srho, level, &vq, &evq, &vdq, &edq);
        if (st) return st;
        if (evq < bs) {
            vs = vq;
            bs = evq;
            src_v = 1;
        }
        if (edq < bds) {
            vds = vdq;
            bds = edq;
            src_d = 1;
        }
    }
    /* Cauchy-Schwarz: |E phi(u) phi(v)| <= sc, so the error is at most |V| + sc (E phi^2 underflowing to 0, as
     * for relu(z - 1) at variance 1e-4, then gives the bound 0 it deserves) */
    if (sc >= 0 && isfinite(sc)) bs = fmin(bs, fabs(vs) + sc * (1 + 1e-12));
    if (scd >= 0 && isfinite(scd)) bds = fmin(bds, fabs(vds) + scd * (1 + 1e-12));
    if (sc == 0.0) vs = bs = 0.0; /* |V| <= sc = 0 (E phi^2 below the smallest double) */
    if (scd == 0.0) vds = bds = 0.0;
    *V = vs;
    *bound = bs;
    if (Vd) *Vd = vds;
    if (bound_d) *bound_d = bds;
    if (route) {
        static const char *const names[2][2] = {{"hermite", "hermite+conditional"},
                                                {"conditional+hermite", "conditional"}};
        *route = names[src_v][src_d];
    }
    return DW_OK;
}

int dw_act_dual_soft(const dw_act *act, double a, double b, double c, double target, double scale, double scale_d,
                     double *v, double *vdot, double *bound, double *bound_d)
{
    /* A smooth phi at a large variance is a soft kink at 0 (tanh(31.6 z) at a = 1e3): the 2-D trapezoidal and polar
     * rules miss the target there, the conditional route with a break at 0 and panels of 1/sqrt(a) next to it
     * does not. Keeps whichever bound is smaller; returns 1 if this route answered either. */
    if (!(a > 0) || !(b > 0)) return 0;
    const int ok_v = *bound <= target * fmax(fabs(*v), scale), ok_d = *bound_d <= target * fmax(fabs(*vdot), scale_d);
    if (ok_v && ok_d) return 0;
    double rho, srho;
    dw_corr(a, b, c, &rho, &srho);
    static const double zero = 0.0;
    const dw_cond_act numeric = {dw_act_fn, act, NULL, NULL, &zero, 1};
    int used = 0;
    for (int level = 0; level <= MAX_LEVEL; level++) {
        double vq, evq, vdq, edq;
        if (dw_dual_cond(&numeric, a, b, rho, srho, level, &vq, &evq, &vdq, &edq)) {
            dw_error_clear();
            break;
        }
        if (evq < *bound) {
            *v = vq;
            *bound = evq;
            used = 1;
        }
        if (edq < *bound_d) {
            *vdot = vdq;
            *bound_d = edq;
            used = 1;
        }
        if (*bound <= target * fmax(fabs(*v), scale) && *bound_d <= target * fmax(fabs(*vdot), scale_d)) break;
    }
    return used;
}

dw_status dw_act_dual_fix(const dw_act *act, double a, double b, double c, double target, double scale,
                          double scale_d, double *v, double *vdot, double *bound, double *bound_d)
{
    if (act->fam == DW_FAM_GENERIC && act->nkinks > 0 && a > 0 && b > 0)
        return dw_act_dual_kinked(act, a, b, c, target, 0, scale, scale_d, v, vdot, bound, bound_d, NULL);
    dw_status st = dw_act_dual_bound(act, a, b, c, target, v, vdot, bound, bound_d, NULL);
    if (!st && act->fam == DW_FAM_GENERIC)
        dw_act_dual_soft(act, a, b, c, target, scale, scale_d, v, vdot, bound, bound_d);
    return st;
}
