/* 2-D quadrature in polar coordinates, for kinks and jumps of phi at 0 when |rho| is near 1.
 *
 * With Z1 = r cos(al), Z2 = r sin(al), u = sqrt(a) r cos(al) and v = sqrt(b) r cos(al - th), th = atan2(s, rho):
 *   E[phi(u) phi(v)] = (1/2 pi) int_0^{2 pi} d al int_0^inf r exp(-r^2/2) phi(sqrt(a) r cos al)
 *                      phi(sqrt(b) r cos(al - th)) dr.
 * A kink (or jump) of phi at 0 lies on the four rays al = pi/2, 3pi/2, th + pi/2, th + 3pi/2: the angular panels
 * end there (graded geometrically towards them, so a wedge of width th ~ 1e-5 is resolved), and along a ray the
 * integrand is smooth for r > 0. Composite Gauss-Legendre in both variables, p = 10 and p = 16 points per panel;
 * the error estimate is |Q16 - Q10| (Gauss-Legendre converges geometrically in p on analytic pieces). */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define R_MAX 16.0
#define R_PANEL 0.5
#define GRADE 0.2
#define LEVELS 6

typedef struct {
    dw_fn f;
    const void *ctx;
    double sa, sb, th;
    int p;
    const double *t, *w;
    double v, vd, vabs;
} polar_ctx;

/* Radial integral along the ray al, added with weight wa. */
static void ray(polar_ctx *c, double al, double wa)
{
    double ca = c->sa * cos(al), cb = c->sb * cos(al - c->th);
    double s = 0, sd = 0, sabs = 0;
    int np = (int)(R_MAX / R_PANEL);
    for (int k = 0; k < np; k++) {
        double lo = k * R_PANEL;
        for (int i = 0; i < c->p; i++) {
            double r = lo + 0.5 * R_PANEL * (c->t[i] + 1), w = 0.5 * R_PANEL * c->w[i] * r * exp(-0.5 * r * r);
            double du = 0, dv = 0;
            double pu = c->f(ca * r, &du, c->ctx), pv = c->f(cb * r, &dv, c->ctx);
            s += w * pu * pv;
            sd += w * du * dv;
            sabs += w * fabs(pu * pv);
        }
    }
    c->v += wa * s;
    c->vd += wa * sd;
    c->vabs += wa * sabs;
}

static void panel(polar_ctx *c, double lo, double hi)
{
    double h = hi - lo;
    if (!(h > 0)) return;
    for (int i = 0; i < c->p; i++) ray(c, lo + 0.5 * h * (c->t[i] + 1), 0.5 * h * c->w[i]);
}

/* [lo, hi] graded geometrically towards both ends. */
static void interval(polar_ctx *c, double lo, double hi)
{
    double mid = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
    double e = half * GRADE;
    panel(c, lo + e, mid);
    panel(c, mid, hi - e);
    for (int j = 1; j <= LEVELS; j++) {
        double e2 = e * GRADE;
        if (j == LEVELS) e2 = 0;
        panel(c, lo + e2, lo + e);
        panel(c, hi - e, hi - e2);
        e = e2;
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

dw_status dw_dual_quad_polar(dw_fn f, const void *ctx, double a, double b, double rho, double s, double *v,
                             double *ev, double *vd, double *evd)
{
    if (!f || !v || !ev || !(a > 0) || !(b > 0) || !(fabs(rho) <= 1.0) || !(s >= 0 && s <= 1))
        return dw_fail(DW_ERR_INVALID, "polar quadrature: invalid arguments (a = %g, b = %g, rho = %g)", a, b, rho);
    double th = atan2(s, rho); /* th in [0, pi] */
    double br[5] = {0.5 * M_PI, 1.5 * M_PI, th + 0.5 * M_PI, fmod(th + 1.5 * M_PI, 2 * M_PI), 0};
    qsort(br, 4, sizeof(double), cmp_double);
    br[4] = br[0] + 2 * M_PI;
    double res[2], resd[2], rabs = 0;
    for (int lev = 0; lev < 2; lev++) {
        const double *gt, *gw;
        const int np = dw_gl_rule(lev, &gt, &gw); /* 10, then 16 Gauss-Legendre points (cond.c's rules) */
        polar_ctx c = {f, ctx, sqrt(a), sqrt(b), th, np, gt, gw, 0, 0, 0};
        for (int k = 0; k < 4; k++) interval(&c, br[k], br[k + 1]);
        res[lev] = c.v / (2 * M_PI);
        resd[lev] = c.vd / (2 * M_PI);
        rabs = c.vabs / (2 * M_PI);
    }
    if (!isfinite(res[1]) || !isfinite(resd[1]) || !isfinite(rabs))
        return dw_fail(DW_ERR_RANGE, "polar quadrature: E[phi(u) phi(v)] is not finite at variances a = %g, b = %g",
                       a, b);
    const double rnd = 64 * DBL_EPSILON;
    *v = res[1];
    *ev = fabs(res[1] - res[0]) + rnd * rabs;
    if (vd) *vd = resd[1];
    if (evd) *evd = fabs(resd[1] - resd[0]) + rnd * fabs(resd[1]);
    return DW_OK;
}
