/* Near-duplicate pairs of kinked generic activations (theory.md 1.5, "Near-duplicate pairs"; issue 21).
 *
 * For phi with a jump of phi' (a kink), Vd = E[phi'(u) phi'(v)] moves like sqrt(1 - rho) near rho = 1, so an error
 * of rho costs ~1/theta more in Vd. The kernel therefore carries, for nearly parallel pairs, the half-angle
 * s = (1 - rho)/2 itself (from the inputs at the first layer, tile.c), evaluates the expectations at rho = 1 - 2 s,
 * sqrt(1 - rho^2) = 2 sqrt(s (1 - s)), and forms the next layer's half-angle from
 *   D = E[(phi(u) - phi(v))^2] / 2 = (E phi(u)^2 + E phi(v)^2) / 2 - E[phi(u) phi(v)]
 * computed without cancellation: with Price's theorem dE[phi(u) phi(v)]/d rho = sqrt(ab) E[phi'(u) phi'(v)],
 *   D = D1 + sqrt(ab) (1 - rho) int_0^1 2 tau Vd(1 - (1 - rho) tau^2) d tau,
 *   D1 = E[(phi(sqrt(a) Z) - phi(sqrt(b) Z))^2] / 2   (the pair at rho = 1, a 1-D integral of a square),
 * the tau integral smooth (the sqrt(1 - r) of Vd becomes linear in tau). Then, with a' = w E phi(u)^2 + beta,
 * b' likewise and c' = w E phi(u) phi(v) + beta, (a' + b')/2 - c' = w D, so
 *   s' = (w D - (sqrt(a') - sqrt(b'))^2 / 2) / (2 sqrt(a' b')),
 * whose second term is second order in the difference of the variances (no catastrophic cancellation).
 * Price's theorem needs phi continuous (phi' without Dirac parts): a phi with a jump is left to the other routes.
 */
#include "act/act.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define EPS DBL_EPSILON
#define INV_SQRT_2PI 0.39894228040143267794
#define TAU_PANELS 48

static double Qf(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }
static double npdf(double x) { return INV_SQRT_2PI * exp(-0.5 * x * x); }

/* phi continuous at its kinks (to rounding), so that Price's theorem holds without Dirac terms. */
static int continuous(const dw_act *act)
{
    if (act->elu) return 1;
    if (!act->expr || act->nkinks <= 0 || act->nkinks > DW_COND_MAX_KINKS) return 0;
    for (int k = 0; k < act->nkinks; k++) {
        double dl = 0, dr = 0;
        const double l = dw_expr_eval_side(act->expr, act->kinks[k], &dl, -1);
        const double r = dw_expr_eval_side(act->expr, act->kinks[k], &dr, 1);
        if (!(fabs(r - l) <= 1e-13 * (fabs(l) + fabs(r) + fabs(act->kinks[k]) + 1))) return 0;
    }
    return 1;
}

/* E[phi'(u) phi'(v)] of a piecewise-linear phi, phi' = b_0 + sum_i sl_i 1{z > c_i}: b_0^2 + b_0 sum_i sl_i (Q(h_i) +
 * Q(k_i)) + sum_ij sl_i sl_j P(X > h_i, Y > k_j), h = c / sqrt(a), k = c / sqrt(b) (as in kinked.c's closed form). */
static double pwl_vd(const dw_act *act, double a, double b, double rho, double s, double *err)
{
    const int K = act->nkinks;
    const double su = sqrt(a), sv = sqrt(b), b0 = act->pwl_b[0];
    double vd = b0 * b0, va = fabs(vd), le = 0;
    for (int i = 0; i < K; i++) {
        const double sl = act->pwl_b[i + 1] - act->pwl_b[i], c = act->kinks[i];
        const double t = b0 * sl * (Qf(c / su) + Qf(c / sv));
        vd += t;
        va += fabs(t);
        for (int j = 0; j < K; j++) {
            const double sj = act->pwl_b[j + 1] - act->pwl_b[j];
            double e;
            const double L = dw_bvn_upper(c / su, act->kinks[j] / sv, rho, s, &e), u = sl * sj * L;
            vd += u;
            va += fabs(u);
            le += fabs(sl * sj) * e;
        }
    }
    *err = 1e-14 * va + le;
    return vd;
}

/* Vd at the half-angle h (rho = 1 - 2h) with its absolute error bound. */
static dw_status vd_at(const dw_act *act, double a, double b, double h, double target, double sc, double scd,
                       double *vd, double *err)
{
    const double rho = 1.0 - 2.0 * h, s = 2.0 * sqrt(h * (1.0 - h));
    if (act->pwl && s > 0) {
        *vd = pwl_vd(act, a, b, rho, s, err);
        if (isfinite(*vd) && *err <= target * fmax(fabs(*vd), scd)) return DW_OK;
    }
    double V, bv;
    return dw_act_dual_kinked_rs(act, a, b, rho, s, target, 0, sc, scd, &V, vd, &bv, err, NULL);
}

/* I = int_0^1 2 tau Vd(s tau^2) d tau by Gauss-Legendre 10 and 16 on panels bisected where they differ by more than
 * a hundredth of the target (relative to scd or the panel's mean, per unit length); err: their differences plus
 * the nodes' errors. */
static dw_status tau_integral(const dw_act *act, double a, double b, double hs, double target, double sc,
                              double scd, double *I, double *err)
{
    double lo[TAU_PANELS], hi[TAU_PANELS];
    int n = 0;
    lo[n] = 0.0;
    hi[n++] = 1.0;
    double sum = 0, e = 0;
    while (n > 0) {
        const double l = lo[n - 1], r = hi[n - 1];
        n--;
        double q[2], qe = 0;
        for (int rule = 0; rule < 2; rule++) {
            const double *x, *w;
            const int m = dw_gl_rule(rule, &x, &w);
            double acc = 0;
            for (int k = 0; k < m; k++) {
                const double tau = 0.5 * (l + r) + 0.5 * (r - l) * x[k], wk = 0.5 * (r - l) * w[k] * 2.0 * tau;
                double vd, ve;
                dw_status st = vd_at(act, a, b, hs * tau * tau, target, sc, scd, &vd, &ve);
                if (st) return st;
                acc += wk * vd;
                if (rule == 1) qe += wk * ve;
            }
            q[rule] = acc;
        }
        const double d = fabs(q[1] - q[0]);
        if (d > 0.01 * target * fmax(scd, fabs(q[1]) / (r - l)) * (r - l) && n + 2 <= TAU_PANELS &&
            r - l > 1.0 / 4096) {
            lo[n] = l;
            hi[n++] = 0.5 * (l + r);
            lo[n] = 0.5 * (l + r);
            hi[n++] = r;
            continue;
        }
        sum += q[1];
        e += d + qe + 4 * EPS * fabs(q[1]);
    }
    *I = sum;
    *err = e;
    return isfinite(sum) ? DW_OK : dw_fail(DW_ERR_RANGE, "near-duplicate pair: E[phi'(u) phi'(v)] is not finite");
}

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* D1 = E[(phi(sqrt(a) Z) - phi(sqrt(b) Z))^2] / 2 by composite Gauss-Legendre 16 and 24 on panels ending on 0 and
 * the kinks / sqrt(a), / sqrt(b), graded next to them on the scale 1 / max(sqrt a, sqrt b); err: |Q24 - Q16|, the
 * Gaussian tails, and the rounding of each difference (4 eps (|phi| + 2 |u phi'|) per value, which covers a + b z
 * of a piece, plus fscale for an expression's own rounding) entering the square. */
static dw_status diff_square(const dw_act *act, double a, double b, double fscale, double *d1, double *err)
{
    const dw_fn f = dw_act_kinked_fn(act);
    const double sa = sqrt(a), sb = sqrt(b), smin = fmin(sa, sb);
    double L = DW_COND_L;
    for (int k = 0; k < act->nkinks; k++) {
        const double x = fabs(act->kinks[k]) / smin;
        if (x < 30) L = fmax(L, fmin(x + 8, 37.0));
    }
    double br[2 * DW_COND_MAX_KINKS + 3];
    int nb = 0;
    br[nb++] = -L;
    br[nb++] = 0.0;
    br[nb++] = L;
    for (int k = 0; k < act->nkinks; k++) {
        const double xa = act->kinks[k] / sa, xb = act->kinks[k] / sb;
        if (xa > -L && xa < L) br[nb++] = xa;
        if (xb > -L && xb < L) br[nb++] = xb;
    }
    qsort(br, (size_t)nb, sizeof(double), cmp_double);
    const double hx = 0.75, h0 = hx / fmax(1.0, fmax(sa, sb));
    double q[2] = {0, 0}, rnd = 0;
    for (int rule = 0; rule < 2; rule++) {
        const double *gx, *gw;
        const int m = dw_gl_rule(rule + 1, &gx, &gw);
        for (int j = 0; j + 1 < nb; j++) {
            if (!(br[j + 1] > br[j])) continue;
            double e[256];
            const int ne = dw_gl_panel_edges(br[j], br[j + 1], h0, hx, e, 256);
            for (int p = 0; p + 1 < ne; p++) {
                const double h = e[p + 1] - e[p], c = 0.5 * (e[p] + e[p + 1]);
                for (int i = 0; i < m; i++) {
                    const double z = c + 0.5 * h * gx[i], w = 0.5 * h * gw[i] * npdf(z);
                    double da = 0, db = 0;
                    const double fa = f(sa * z, &da, act), fb = f(sb * z, &db, act), d = fa - fb;
                    q[rule] += w * d * d;
                    if (rule == 1) {
                        const double ed =
                            4 * EPS * (fabs(fa) + fabs(fb) + 2 * fabs(sa * z * da) + 2 * fabs(sb * z * db)) +
                            2 * fscale;
                        rnd += w * (2 * fabs(d) + ed) * ed;
                    }
                }
            }
        }
    }
    double tail = 0;
    for (int sg = -1; sg <= 1; sg += 2) {
        const double d = f(sg * sa * L, NULL, act) - f(sg * sb * L, NULL, act);
        tail += 4 * npdf(L) / L * d * d;
    }
    if (!isfinite(q[1]) || !isfinite(tail))
        return dw_fail(DW_ERR_RANGE, "near-duplicate pair: E[(phi(u) - phi(v))^2] is not finite at variances a = %g, "
                                     "b = %g", a, b);
    *d1 = 0.5 * q[1];
    *err = 0.5 * (fabs(q[1] - q[0]) + rnd + tail) + 4 * EPS * *d1;
    return DW_OK;
}

dw_status dw_act_dual_near(const dw_act *act, double a, double b, double hs, double target, double scale,
                           double scale_d, double *V, double *Vd, double *D, double *bound, double *bound_d,
                           double *bound_D)
{
    if (!(a > 0) || !(b > 0) || !(hs >= 0 && hs <= 0.5) || !(target > 0))
        return dw_fail(DW_ERR_INVALID, "near-duplicate pair: invalid arguments (a = %g, b = %g, s = %g)", a, b, hs);
    const double rho = 1.0 - 2.0 * hs, srho = 2.0 * sqrt(hs * (1.0 - hs));
    dw_status st =
        dw_act_dual_kinked_rs(act, a, b, rho, srho, target, 0, scale, scale_d, V, Vd, bound, bound_d, NULL);
    if (st) return st;
    *D = -1.0; /* not available: phi has a jump */
    *bound_D = INFINITY;
    if (!continuous(act)) return DW_OK;
    double d1 = 0, e1 = 0, I = 0, eI = 0;
    const double fscale = act->pwl || act->elu ? 0.0 : 16 * EPS * sqrt(fmax(scale, 0.0));
    if (a != b && (st = diff_square(act, a, b, fscale, &d1, &e1))) return st;
    if (hs > 0 && (st = tau_integral(act, a, b, hs, target, scale, scale_d, &I, &eI))) return st;
    const double k = sqrt(a) * sqrt(b) * 2.0 * hs;
    *D = d1 + k * I;
    *bound_D = e1 + k * eI + 4 * EPS * *D;
    return DW_OK;
}
