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

int dw_act_relu_form(const dw_act *act, double *alpha, double *lam)
{
    if (act->fam != DW_FAM_GENERIC || !act->pwl || act->nkinks != 1 || act->kinks[0] != 0.0) return 0;
    const double q = act->pwl_b[0], p = act->pwl_b[1]; /* phi = p z (z > 0), q z (z < 0) */
    if (act->pwl_a[0] != 0.0 || act->pwl_a[1] != 0.0 || !isfinite(p) || !isfinite(q) || (p == 0.0 && q == 0.0))
        return 0;
    /* p = 0: phi(z) = -q relu(-z), and (-u, -v) has the law of (u, v): the kernel of -q relu */
    *alpha = p != 0.0 ? q / p : 0.0;
    *lam = p != 0.0 ? p : -q;
    return 1;
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

/* Piecewise linear phi in closed form: phi(z) = a0 + b0 z + sum_i s_i (z - c_i)_+ (slope changes s_i at the kinks
 * c_i; expressions are continuous, a jump sends the pair to the other routes), so that E[phi(u) phi(v)] and E[phi'(u) phi'(v)] are sums of
 * bivariate normal orthant moments over {X > h, Y > k} (X = u/sig_u, Y = v/sig_v, h = c_i/sig_u, k = c_j/sig_v;
 * Rosenbaum 1961), with L = P(X > h, Y > k) from gauss/bvn.c:
 *   E[X 1] = pdf(h) Q((k - rho h)/s) + rho pdf(k) Q((h - rho k)/s),  E[Y 1] likewise,
 *   E[XY 1] = rho L + rho h pdf(h) Q((k - rho h)/s) + rho k pdf(k) Q((h - rho k)/s) + s^2 f(h, k),
 * f the bivariate density, s = sqrt(1 - rho^2); and, from Stein's identity, E[X (Y - k)_+] = rho Q(k).
 * The bounds: 1e-14 times the sum of the magnitudes of the terms (rounding), L's own error estimate (bvn.c:
 * rounding of its terms and |Q24 - Q16|) times its coefficients, and, for E phi(u) phi(v), the conditioning of
 * the arguments (k - rho h)/s, whose rounding grows like 1/s as rho -> 1. Where the terms cancel (far tails) or s
 * is tiny the bound says so and the caller moves on to the series / conditional routes. */
#define PWL_CLOSED_MAX 8

/* |rho| = 1 (s = 0): v = kappa u, kappa = rho sig_v / sig_u, so E[phi(u) phi(kappa u)] is a sum over the intervals
 * between the kinks of both factors (c_i and c_j / kappa on the u axis) of quadratics in Z = u / sig_u:
 * E[1{l < Z < r}] = P, E[Z 1] = pdf(l) - pdf(r), E[Z^2 1] = P + l pdf(l) - r pdf(r). */
static int pwl_closed_degenerate(const dw_act *act, double a, double b, double rho, double *V, double *Vd, double *bv,
                                 double *bd)
{
    const int K = act->nkinks;
    const double su = sqrt(a), kap = rho * sqrt(b) / su;
    double br[2 * PWL_CLOSED_MAX + 2];
    int nb = 0;
    for (int i = 0; i < K; i++) {
        br[nb++] = act->kinks[i] / su;
        br[nb++] = act->kinks[i] / (kap * su);
    }
    for (int i = 1; i < nb; i++) /* insertion sort: a handful of points */
        for (int j = i; j > 0 && br[j] < br[j - 1]; j--) {
            const double t = br[j];
            br[j] = br[j - 1];
            br[j - 1] = t;
        }
    double v = 0, va = 0, vd = 0, vda = 0;
    for (int p = 0; p <= nb; p++) {
        const double l = p ? br[p - 1] : -INFINITY, r = p < nb ? br[p] : INFINITY;
        if (!(r > l)) continue;
        /* the pieces of phi(u) and phi(kappa u) on (l, r): evaluate at an inner point */
        const double zm = isfinite(l) && isfinite(r) ? 0.5 * (l + r) : isfinite(l) ? l + 1 : isfinite(r) ? r - 1 : 0;
        int pu = 0, pv = 0;
        while (pu < K && su * zm > act->kinks[pu]) pu++;
        while (pv < K && kap * su * zm > act->kinks[pv]) pv++;
        /* phi(u) = A + B Z, phi(kappa u) = C + D Z */
        const double A = act->pwl_a[pu], B = act->pwl_b[pu] * su, C = act->pwl_a[pv], D = act->pwl_b[pv] * kap * su;
        const double P = l >= 0 ? Phi(-l) - Phi(-r) : Phi(r) - Phi(l);
        const double dl = isfinite(l) ? INV_SQRT_2PI * exp(-0.5 * l * l) : 0.0;
        const double dr = isfinite(r) ? INV_SQRT_2PI * exp(-0.5 * r * r) : 0.0;
        const double E1 = dl - dr, E2 = P + (isfinite(l) ? l * dl : 0.0) - (isfinite(r) ? r * dr : 0.0);
        const double t0 = A * C * P, t1 = (A * D + B * C) * E1, t2 = B * D * E2;
        v += t0 + t1 + t2;
        va += fabs(t0) + fabs(t1) + fabs(B * D) * (P + fabs(isfinite(l) ? l * dl : 0.0) + fabs(isfinite(r) ? r * dr : 0.0));
        const double td = act->pwl_b[pu] * act->pwl_b[pv] * P;
        vd += td;
        vda += fabs(td);
    }
    if (!isfinite(v) || !isfinite(vd)) return 0;
    *V = v;
    *Vd = vd;
    *bv = 1e-14 * va;
    *bd = 1e-14 * vda;
    return 1;
}

static int pwl_closed(const dw_act *act, double a, double b, double rho, double s, double *V, double *Vd, double *bv,
                      double *bd)
{
    const int K = act->nkinks;
    if (!act->pwl || K > PWL_CLOSED_MAX) return 0;
    if (!(s > 0)) return pwl_closed_degenerate(act, a, b, rho, V, Vd, bv, bd);
    const double su = sqrt(a), sv = sqrt(b), a0 = act->pwl_a[0], b0 = act->pwl_b[0];
    double sl[PWL_CLOSED_MAX];
    for (int i = 0; i < K; i++) {
        const double c = act->kinks[i];
        const double left = act->pwl_a[i] + act->pwl_b[i] * c, right = act->pwl_a[i + 1] + act->pwl_b[i + 1] * c;
        if (!(fabs(right - left) <= 1e-13 * (fabs(left) + fabs(right) + fabs(c) + 1))) return 0;
        sl[i] = act->pwl_b[i + 1] - act->pwl_b[i];
    }
    double v = a0 * a0 + b0 * b0 * rho * su * sv, va = fabs(v), vd = b0 * b0, vda = vd;
    double cond = 0, lerr = 0, lerrd = 0;
#define ADD(acc, accabs, x)                                                                                           \
    do {                                                                                                              \
        const double x_ = (x);                                                                                        \
        acc += x_;                                                                                                    \
        accabs += fabs(x_);                                                                                           \
    } while (0)
    for (int i = 0; i < K; i++) {
        const double c = act->kinks[i], h = c / su, k = c / sv;
        const double Qh = Phi(-h), Qk = Phi(-k), ph = INV_SQRT_2PI * exp(-0.5 * h * h), pk = INV_SQRT_2PI * exp(-0.5 * k * k);
        /* a0 E[s (u - c)_+] + a0 E[s (v - c)_+], E[(u - c)_+] = sig (pdf(h) - h Q(h)) */
        ADD(v, va, a0 * sl[i] * su * (ph - h * Qh));
        ADD(v, va, a0 * sl[i] * sv * (pk - k * Qk));
        /* b0 E[u s (v - c)_+] + b0 E[v s (u - c)_+] */
        ADD(v, va, b0 * sl[i] * su * sv * rho * Qk);
        ADD(v, va, b0 * sl[i] * su * sv * rho * Qh);
        ADD(vd, vda, b0 * sl[i] * (Qh + Qk));
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            const double h = act->kinks[i] / su, k = act->kinks[j] / sv;
            double Le;
            const double L = dw_bvn_upper(h, k, rho, s, &Le);
            ADD(vd, vda, sl[i] * sl[j] * L);
            lerrd += fabs(sl[i] * sl[j]) * Le;
            if (rho >= 0) { /* E[(X - h)_+ (Y - k)_+] as a sum of positive terms (gauss/bvn.c) */
                double Re;
                const double R = dw_bvn_ramp(h, k, rho, s, &Re);
                ADD(v, va, sl[i] * sl[j] * su * sv * R);
                lerr += fabs(sl[i] * sl[j]) * su * sv * Re;
                continue;
            }
            /* rho < 0: Rosenbaum's moments (R then carries cancellation in the tails, which the bound shows) */
            const double ph = INV_SQRT_2PI * exp(-0.5 * h * h), pk = INV_SQRT_2PI * exp(-0.5 * k * k);
            const double qa = Phi(-(k - rho * h) / s), qb = Phi(-(h - rho * k) / s);
            const double EX = ph * qa + rho * pk * qb, EY = pk * qb + rho * ph * qa;
            const double dens = s / 6.28318530717958647693 * exp(-(h * h - 2 * rho * h * k + k * k) / (2 * s * s));
            const double EXY = rho * L + rho * h * ph * qa + rho * k * pk * qb + dens;
            const double R = EXY - k * EX - h * EY + h * k * L; /* E[(X - h)_+ (Y - k)_+] */
            const double Ra = fabs(EXY) + fabs(k * EX) + fabs(h * EY) + fabs(h * k * L);
            ADD(v, va, sl[i] * sl[j] * su * sv * R);
            va += fabs(sl[i] * sl[j]) * su * sv * Ra;
            /* L's own error enters R as (rho + h k) L */
            lerr += fabs(sl[i] * sl[j]) * su * sv * (fabs(rho) + fabs(h * k)) * Le;
            /* conditioning: (k - rho h)/s and the density's exponent carry a rounding error ~eps (1 + |h| + |k|)/s
             * (large as rho -> -1 with h != -k), which the terms' cancellation does not remove */
            const double del = 4 * DBL_EPSILON * (1 + fabs(h) + fabs(k)) / s;
            const double mag = fabs(sl[i] * sl[j]) * su * sv * (1 + fabs(h)) * (1 + fabs(k));
            cond += mag * (ph + pk) * del + fabs(sl[i] * sl[j]) * su * sv * 4 * DBL_EPSILON * (h * h + k * k + 1) / s;
        }
#undef ADD
    if (!isfinite(v) || !isfinite(vd)) return 0;
    *V = v;
    *Vd = vd;
    *bv = 1e-14 * va + cond + lerr;
    *bd = 1e-14 * vda + lerrd;
    return 1;
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

dw_fn dw_act_kinked_fn(const dw_act *act) { return act->elu ? elu_fn : act->pwl ? pwl_fn : dw_act_fn; }

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
               "bivariate normal orthant moments in closed form (piecewise linear, up to 8 kinks), else the "
               "closed-form conditional expectation (Phi, pdf) integrated by 1-D Gauss-Legendre panels ending on the "
               "kinks";
    if (act->fam == DW_FAM_GENERIC && act->nkinks > 0)
        return "Hermite series (Mehler) with Parseval tail bound, and for entries the series bound could not certify "
               "conditional 1-D Gauss-Legendre quadrature with panels ending on the kinks";
    return "Hermite series (Mehler) with Parseval tail bound, and 2-D quadrature for entries the series bound could "
           "not certify";
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
    return dw_act_dual_kinked_rs(act, a, b, rho, srho, target, series, scale, scale_d, V, Vd, bound, bound_d, route);
}

dw_status dw_act_dual_kinked_rs(const dw_act *act, double a, double b, double rho, double srho, double target,
                                int series, double scale, double scale_d, double *V, double *Vd, double *bound,
                                double *bound_d, const char **route)
{
    double vs = 0, bs = INFINITY, vds = 0, bds = INFINITY, sc = scale, scd = scale_d;
    { /* piecewise linear phi: the closed form first, where its bound meets the target */
        double V0 = 0, Vd0 = 0, b0 = 0, bd0 = 0;
        const int okc = pwl_closed(act, a, b, rho, srho, &V0, &Vd0, &b0, &bd0);
        if (okc && b0 <= target * fmax(fabs(V0), sc) && bd0 <= target * fmax(fabs(Vd0), scd)) {
            /* the same Cauchy-Schwarz clamps as the other routes' results below, where the caller knows the scales
             * (series = 0: the kernel; E phi^2 may underflow to 0 at tiny variances) */
            if (!series) {
                if (sc >= 0 && isfinite(sc)) b0 = fmin(b0, fabs(V0) + sc * (1 + 1e-12));
                if (scd >= 0 && isfinite(scd)) bd0 = fmin(bd0, fabs(Vd0) + scd * (1 + 1e-12));
                if (sc == 0.0) V0 = b0 = 0.0;
                if (scd == 0.0) Vd0 = bd0 = 0.0;
            }
            *V = V0;
            *bound = b0;
            if (Vd) *Vd = Vd0;
            if (bound_d) *bound_d = bd0;
            if (route) *route = "closed";
            return DW_OK;
        }
    }
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
        bs += dw_hermite_coef_term(ha->a, ha->da, hb->a, hb->da, K, rho);
        dw_mehler(ha->b, hb->b, K, rho, ha->tail_b, hb->tail_b, &vds, &bds);
        bds += dw_hermite_coef_term(ha->b, ha->db, hb->b, hb->db, K, rho);
        from_series = 1;
    }
    int src_v = from_series ? 0 : 1, src_d = src_v;
    /* the conditional route: for elu/selu and piecewise linear phi first with the closed-form inner expectation;
     * where that misses the target (elu's terms cancel at small variances, ~eps / sqrt(b) relative), with the
     * numeric inner one, at
     * refinement levels 0..MAX_LEVEL (panel lengths / 4^level) */
    const int has_closed = act->elu || act->pwl;
    const dw_fn fn = dw_act_kinked_fn(act);
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
