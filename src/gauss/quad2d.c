/* 2-D quadrature of E[phi(u) phi(v)] in conditional form (theory.md 1.5 (c)):
 *   u = sqrt(a) Z1, v = sqrt(b)(rho Z1 + s Z2), s = sqrt((1-rho)(1+rho)),
 * outer trapezoidal rule over Z1 (a node at u = 0), inner trapezoidal rule over Z2 shifted so that v = 0 is a
 * node (kinks and jumps of phi at 0 then cost even powers of h only: see trap.c); steps 0.2, 0.1, 0.05 through
 * dw_extrap3 (spectral or Romberg). */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>

#define QUAD_L 16.0
#define QUAD_H 0.2

void dw_corr(double a, double b, double c, double *rho, double *s)
{
    double p = a * b, ep = fma(a, b, -p), q = c * c, eq = fma(c, c, -q);
    double det = (p - q) + (ep - eq), sab = sqrt(p);
    double r = c / sab;
    *rho = fmax(-1.0, fmin(1.0, r));
    /* Convention: |rho| within ~8 ulp of 1 (ab - c^2 <= 16 eps ab) is |rho| = 1. A c computed as sqrt(ab), or
     * from the same point by another rounding path (duplicate inputs in a Gram matrix), means rho = +-1, and
     * the derivative kernels of kinked activations, which move like sqrt(1 - rho), would otherwise differ from
     * the diagonal by ~1e-9. Farther from 1, s comes from the exact products. */
    *s = det > 16 * DBL_EPSILON * p ? fmin(1.0, sqrt(det) / sab) : 0.0;
    if (*s == 0.0) *rho = r < 0 ? -1.0 : 1.0;
}

dw_status dw_dual_quad_trap(double h, double L, dw_fn f, const void *ctx, double a, double b, double rho, double s,
                            double *v, double *vd, double *abs_sum)
{
    if (!f || !v || !(h > 0) || !(L > 0) || L / h > 1e6 || !(a > 0) || !(b > 0) || !(fabs(rho) <= 1.0) ||
        !(s >= 0 && s <= 1))
        return dw_fail(DW_ERR_INVALID, "2-d quadrature: invalid arguments (a = %g, b = %g, rho = %g)", a, b, rho);
    const double c0 = h / sqrt(2 * M_PI);
    double sa = sqrt(a), sb = sqrt(b);
    int m = (int)floor(L / h);
    double tv = 0, tvd = 0, tabs = 0;
    for (int i = -m; i <= m; i++) {
        double x = i * h, wi = c0 * exp(-0.5 * x * x), du = 0.0;
        double pu = dw_eval_mid(f, sa * x, vd ? &du : NULL, ctx);
        double g = 0, gd = 0, gabs = 0;
        if (s == 0.0) {
            double dv = 0.0;
            g = dw_eval_mid(f, i == 0 ? 0.0 : sb * rho * x, vd ? &dv : NULL, ctx);
            gd = dv;
            gabs = fabs(g);
        } else {
            double zs = -rho * x / s; /* where v = 0 */
            long j0 = 0;
            double off = 0.0;
            if (fabs(zs) <= L) {
                j0 = lround(zs / h);
                off = zs - (double)j0 * h;
            }
            long jlo = (long)ceil((-L - off) / h), jhi = (long)floor((L - off) / h);
            for (long j = jlo; j <= jhi; j++) {
                double z = off + (double)j * h, wj = c0 * exp(-0.5 * z * z), dv = 0.0;
                double arg = (fabs(zs) <= L && j == j0) ? 0.0 : sb * (rho * x + s * z);
                double pv = dw_eval_mid(f, arg, vd ? &dv : NULL, ctx);
                g += wj * pv;
                gd += wj * dv;
                gabs += wj * fabs(pv);
            }
        }
        tv += wi * pu * g;
        tvd += wi * du * gd;
        tabs += wi * fabs(pu) * gabs;
    }
    if (!isfinite(tv) || !isfinite(tvd) || !isfinite(tabs))
        return dw_fail(DW_ERR_RANGE, "2-d quadrature: E[phi(u) phi(v)] is not finite at variances a = %g, b = %g", a,
                       b);
    *v = tv;
    if (vd) *vd = tvd;
    if (abs_sum) *abs_sum = tabs;
    return DW_OK;
}

dw_status dw_dual_quad_both(dw_fn f, const void *ctx, double a, double b, double rho, double s, double *v,
                            double *ev, double *vd, double *evd)
{
    double tv[3], td[3], ts[3];
    for (int i = 0; i < 3; i++) {
        dw_status st = dw_dual_quad_trap(QUAD_H / (1 << i), QUAD_L, f, ctx, a, b, rho, s, &tv[i], &td[i], &ts[i]);
        if (st != DW_OK) return st;
    }
    const double rnd = 8 * DBL_EPSILON * (2 * QUAD_L / QUAD_H);
    double e, ed;
    *v = dw_extrap3(tv, &e);
    *ev = e + rnd * ts[2];
    double r = dw_extrap3(td, &ed);
    if (vd) *vd = r;
    if (evd) *evd = ed + rnd * (fabs(td[2]) + fabs(td[1]));
    return DW_OK;
}

dw_status dw_dual_quad(dw_fn f, const void *ctx, double a, double b, double c, int want_deriv, double *value,
                       double *err)
{
    if (!f || !value || !err) return dw_fail(DW_ERR_INVALID, "2-d quadrature: NULL argument");
    if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b) || !isfinite(c))
        return dw_fail(DW_ERR_INVALID, "2-d quadrature: variances must be positive and finite (a = %g, b = %g)", a, b);
    if (fabs(c / sqrt(a * b)) > 1 + 1e-12)
        return dw_fail(DW_ERR_INVALID, "2-d quadrature: |c| = %g exceeds sqrt(ab) = %g", fabs(c), sqrt(a * b));
    double rho, s;
    dw_corr(a, b, c, &rho, &s);
    double v = 0, ev = 0, vd = 0, evd = 0;
    dw_status st = dw_dual_quad_both(f, ctx, a, b, rho, s, &v, &ev, &vd, &evd);
    if (st != DW_OK) return st;
    *value = want_deriv ? vd : v;
    *err = want_deriv ? evd : ev;
    return DW_OK;
}
