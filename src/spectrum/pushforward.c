/* The density of the squared singular values where J J^T = c D^2 for one layer's continuous law (orthogonal weights,
 * theory.md 3): the push-forward of the Gaussian by g(z) = c phi'(sqrt(q) z)^2, found from the roots of g(z) = t rather
 * than by Stieltjes inversion (density.c), whose fixed-point equations degenerate there. */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Orthogonal weights and one layer with a continuous law: J J^T = c D^2, the law of g(Z) = c phi'(sqrt(q) Z)^2 itself,
 * c = prod sigma_l^2 (times the constant d^2 of the other layers). rho(t) = sum over the roots z of g(z) = t of
 * phi(z) / |g'(z)|: roots bracketed on a grid of step min(0.005, 0.005/sqrt q) over |z| <= 12 and refined by
 * bisection, g' by central differences (relative accuracy ~1e-9; two roots closer than the grid step, next to an
 * extremum of g where rho is singular, are missed). */
static double g_eval(const dw_act *act, double sq, double c, double z)
{
    double x = sq * z, d = 0;
    dw_act_eval(act, 1, &x, NULL, &d);
    return c * d * d;
}

/* The breakpoints of g: the grid and the extrema of g between grid points (golden section), so that two roots on
 * either side of an extremum fall in different intervals. *nb points (bz, bg) that the caller frees; *sq = sqrt(q). */
typedef struct pushf {
    const dw_act *act;
    double sq, c, q;
    long nb;
    double *bz, *bg;
} pushf;

static void pushf_clear(pushf *p)
{
    free(p->bz);
    free(p->bg);
}

static dw_status pushf_init(pushf *p, const dw_spectrum *s)
{
    int g0 = -1;
    double c = exp(s->log_sw2_sum);
    for (int g = 0; g < s->ng; g++) {
        if (s->law_lazy || s->law[g].n > 1) {
            g0 = g;
        } else {
            c *= pow(s->law[g].d2[0], s->mult[g]);
        }
    }
    p->act = s->act;
    p->sq = p->c = p->q = 0;
    p->nb = 0;
    p->bz = p->bg = NULL;
    if (g0 < 0) return DW_OK;
    const double q = s->gq[g0], sq = sqrt(q);
    p->sq = sq;
    p->c = c;
    p->q = q;
    /* at most 2^21 grid points (48 MB with the breakpoints): beyond q = 4e4 the grid step stops shrinking like
     * 1/sqrt q, and roots of g closer than a step (oscillating phi' at such variances) may be missed */
    const double zmax = 12, h = fmax(fmin(0.005, 0.005 / fmax(sq, 1e-300)), 2 * zmax / 2097152.0);
    const long m = (long)ceil(2 * zmax / h) + 1;
    double *gz = dw_alloc((size_t)m, sizeof(double), "density grid");
    if (!gz) return DW_ERR_NOMEM;
    for (long k = 0; k < m; k++) {
        gz[k] = g_eval(s->act, sq, c, -zmax + (double)k * h);
        if (!isfinite(gz[k])) {
            free(gz);
            return dw_fail(DW_ERR_RANGE, "density: phi' of %s is not finite at z = %g (variance q = %g)", s->act->name,
                           -zmax + (double)k * h, q);
        }
    }
    double *bz = dw_alloc((size_t)(2 * m), sizeof(double), "density grid"),
           *bg = dw_alloc((size_t)(2 * m), sizeof(double), "density grid");
    if (!bz || !bg) {
        free(gz);
        free(bz);
        free(bg);
        return DW_ERR_NOMEM;
    }
    long nb = 0;
    for (long k = 0; k < m; k++) {
        const double zk = -zmax + (double)k * h;
        if (k > 0 && k + 1 < m && (gz[k] - gz[k - 1]) * (gz[k + 1] - gz[k]) <= 0) {
            const int mx = gz[k] >= gz[k - 1];
            double a = zk - h, b = zk + h;
            const double r = 0.6180339887498949;
            for (int it = 0; it < 100 && b - a > 1e-15 * fmax(1, fabs(a)); it++) {
                double x1 = b - r * (b - a), x2 = a + r * (b - a);
                double f1 = g_eval(s->act, sq, c, x1), f2 = g_eval(s->act, sq, c, x2);
                if (mx ? f1 > f2 : f1 < f2) b = x2;
                else a = x1;
            }
            const double ze = 0.5 * (a + b);
            if (ze < zk) {
                bz[nb] = ze;
                bg[nb++] = g_eval(s->act, sq, c, ze);
            }
            bz[nb] = zk;
            bg[nb++] = gz[k];
            if (ze > zk) {
                bz[nb] = ze;
                bg[nb++] = g_eval(s->act, sq, c, ze);
            }
            continue;
        }
        bz[nb] = zk;
        bg[nb++] = gz[k];
    }
    free(gz);
    p->nb = nb;
    p->bz = bz;
    p->bg = bg;
    return DW_OK;
}

/* sup of g over |z| <= 12 (the right edge of the push-forward law; its mass beyond |z| = 12 is below 1e-32) */
dw_status dw_spec_pushforward_support(const dw_spectrum *s, double *hi)
{
    pushf p;
    dw_status st = pushf_init(&p, s);
    if (st) return st;
    double m = 0;
    for (long k = 0; k < p.nb; k++) m = fmax(m, p.bg[k]);
    pushf_clear(&p);
    *hi = m;
    return DW_OK;
}

dw_status dw_spec_pushforward_density(const dw_spectrum *s, size_t n, const double *t, double *rho)
{
    pushf p;
    dw_status st = pushf_init(&p, s);
    if (st) return st;
    const double sq = p.sq, c = p.c;
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (long k = 0; k + 1 < p.nb; k++) {
            double a = p.bg[k] - t[i], b = p.bg[k + 1] - t[i];
            if ((a < 0) == (b < 0) || a == 0) continue;
            double lo = p.bz[k], hi = p.bz[k + 1], flo = a;
            for (int it = 0; it < 80 && hi - lo > 1e-15 * fmax(1, fabs(lo)); it++) {
                double mid = 0.5 * (lo + hi), fm = g_eval(s->act, sq, c, mid) - t[i];
                if ((fm < 0) == (flo < 0)) lo = mid, flo = fm;
                else hi = mid;
            }
            double z = 0.5 * (lo + hi), dz = 1e-6 * fmax(1.0, fabs(z)) * fmin(1.0, 1 / fmax(sq, 1e-300));
            double dg = (g_eval(s->act, sq, c, z + dz) - g_eval(s->act, sq, c, z - dz)) / (2 * dz);
            if (dg != 0) sum += exp(-0.5 * z * z) / sqrt(2 * M_PI) / fabs(dg);
        }
        if (!isfinite(sum)) {
            pushf_clear(&p);
            return dw_fail(DW_ERR_RANGE, "density: not finite at t = %.17g", t[i]);
        }
        rho[i] = sum;
    }
    pushf_clear(&p);
    return DW_OK;
}
