/* The conditional 1-D route for piecewise-smooth activations (kinks anywhere) and composite Gauss-Legendre rules.
 *
 * E[phi(u) phi(v)] = int pdf(x) phi(sqrt(a) x) G(x) dx,  G(x) = E[phi(m + sig Z)],  m = sqrt(b) rho x,
 * sig = sqrt(b) s (s = sqrt(1 - rho^2)); likewise with phi' for E[phi'(u) phi'(v)]. The outer integral runs over
 * [-L, L] (L = DW_COND_L = 10, extended to 8 past a kink lying within 30, at most 37) in composite
 * Gauss-Legendre panels that end exactly on the kinks k / sqrt(a) of phi(sqrt(a) x) (so each panel's integrand
 * is analytic there) and on the points k / (sqrt(b) rho) where G has its kinks smoothed over a width
 * ~ s / |rho|, towards which the panels are graded geometrically (ratio 4 from the width up to 1; ratio 2 from
 * half the width at refinement levels >= 1). G is either given in closed form (an inner callback: elu, selu,
 * piecewise-linear phi) or integrated the same way in z, with panels ending on the kinks (k - m) / sig. Next to
 * every breakpoint the panels start at the scale on which phi(sqrt(a) x) (resp. G, phi(m + sig z)) varies,
 * 1.5 / max(1, sqrt(a), sqrt(b) |rho|) (resp. 1.5 / max(1, sig)), and double up to the panel length, 1.5
 * divided by 4 at level 2. Everything is computed twice, with 10 and with 16 points per panel; the error
 * estimate is the difference plus the neglected Gaussian tails plus rounding (64 eps times the sum of the
 * magnitudes of all terms, cancelling ones included).
 */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static const int gl_sizes[DW_GL_RULES] = {10, 16, 24};
static double gl_x[DW_GL_RULES][24], gl_w[DW_GL_RULES][24];
static pthread_once_t gl_once = PTHREAD_ONCE_INIT;

static double legendre(int n, double x, double *dp)
{
    double p0 = 1, p1 = x;
    for (int k = 2; k <= n; k++) {
        double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    *dp = n * (x * p1 - p0) / (x * x - 1);
    return p1;
}

static void gl_init(void)
{
    for (int r = 0; r < DW_GL_RULES; r++) {
        const int n = gl_sizes[r];
        for (int i = 0; i < n; i++) {
            double x = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
            for (int it = 0; it < 100; it++) {
                double dx = legendre(n, x, &dp) / dp;
                x -= dx;
                if (fabs(dx) < 1e-16) break;
            }
            legendre(n, x, &dp);
            gl_x[r][i] = x;
            gl_w[r][i] = 2 / ((1 - x * x) * dp * dp);
        }
    }
}

int dw_gl_rule(int which, const double **x, const double **w)
{
    pthread_once(&gl_once, gl_init);
    *x = gl_x[which];
    *w = gl_w[which];
    return gl_sizes[which];
}

#define INV_SQRT_2PI 0.39894228040143267794

static double npdf(double x) { return INV_SQRT_2PI * exp(-0.5 * x * x); }

/* Sorted breakpoints of [lo, hi] with the points in pts[0..n) strictly inside added. */
static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Panel edges of [lo, hi]: graded from both ends, h0, 2 h0, 4 h0, ... up to hmax, uniform (<= hmax) between
 * (phi(sqrt(q) z) varies on the scale 1/sqrt(q) next to a kink: e^{sqrt(q) z} - 1 of elu). Returns the count of
 * edges written to e (at most max). */
int dw_gl_panel_edges(double lo, double hi, double h0, double hmax, double *e, int max)
{
    int n = 0, m = 0;
    double left[64], right[64];
    double a = lo, b = hi, h = fmin(h0, hmax);
    left[n++] = a;
    right[m++] = b;
    while (b - a > 2 * h && h < hmax && n < 60 && m < 60) {
        a += h;
        b -= h;
        left[n++] = a;
        right[m++] = b;
        h *= 2;
    }
    int k = 0;
    for (int i = 0; i < n && k < max; i++) e[k++] = left[i];
    const int nu = (int)ceil((b - a) / hmax);
    for (int i = 1; i < nu && k < max; i++) e[k++] = a + (b - a) * i / nu;
    for (int i = m - 1; i >= 0 && k < max; i--) e[k++] = right[i];
    return k;
}

/* Numeric inner expectation: E[phi(m + sig Z)], E[phi'(m + sig Z)] with rule `which`, panels of length <= hz on
 * [-L, L] ending on the kinks; *tail: the neglected Gaussian tails (estimate); *gabs: sum of |terms|. */
static void inner_numeric(const dw_cond_act *A, double m, double sig, int which, double hz, double *g, double *gd,
                          double gabs[2], double tail[2])
{
    if (sig == 0.0) {
        double d = 0.0, p = A->f(m, &d, A->ctx);
        *g = p;
        *gd = d;
        gabs[0] = fabs(p);
        gabs[1] = fabs(d);
        tail[0] = tail[1] = 0.0;
        return;
    }
    /* [-L, L] with L = 10, or up to 8 past the farthest kink within 30 (the mass of phi may sit beyond a far
     * kink, e.g. relu(z - 1) at a small variance), at most 37 (the density underflows beyond) */
    double L = DW_COND_L;
    for (int k = 0; k < A->nk; k++) {
        const double z = fabs((A->kinks[k] - m) / sig);
        if (z < 30) L = fmax(L, fmin(z + 8, 37.0));
    }
    double br[DW_COND_MAX_KINKS + 2];
    int nb = 0;
    br[nb++] = -L;
    for (int k = 0; k < A->nk; k++) { /* kinks are sorted and sig > 0: the z are increasing */
        const double z = (A->kinks[k] - m) / sig;
        if (z > -L && z < L) br[nb++] = z;
    }
    br[nb++] = L;
    const double *gx, *gw;
    const int p = dw_gl_rule(which, &gx, &gw);
    double s = 0, sd = 0, sabs = 0, sdabs = 0;
    const double h0 = hz / fmax(1.0, sig);
    for (int j = 0; j + 1 < nb; j++) {
        if (!(br[j + 1] > br[j])) continue;
        double e[256];
        const int ne = dw_gl_panel_edges(br[j], br[j + 1], h0, hz, e, 256);
        for (int q = 0; q + 1 < ne; q++) {
            const double h = e[q + 1] - e[q], c = 0.5 * (e[q] + e[q + 1]);
            for (int i = 0; i < p; i++) {
                const double z = c + 0.5 * h * gx[i], w = 0.5 * h * gw[i] * npdf(z);
                double d = 0.0;
                const double f = A->f(m + sig * z, &d, A->ctx);
                s += w * f;
                sd += w * d;
                sabs += w * fabs(f);
                sdabs += w * fabs(d);
            }
        }
    }
    double d1 = 0, d2 = 0;
    const double f1 = A->f(m - sig * L, &d1, A->ctx), f2 = A->f(m + sig * L, &d2, A->ctx);
    *g = s;
    *gd = sd;
    gabs[0] = sabs;
    gabs[1] = sdabs;
    tail[0] = npdf(L) / L * (fabs(f1) + fabs(f2));
    tail[1] = npdf(L) / L * (fabs(d1) + fabs(d2));
}

dw_status dw_dual_cond(const dw_cond_act *A, double a, double b, double rho, double s, int level, double *v,
                       double *ev, double *vd, double *evd)
{
    if (!A || !A->f || !v || !ev || !(a > 0) || !(b > 0) || !(fabs(rho) <= 1.0) || !(s >= 0 && s <= 1) ||
        A->nk < 0 || A->nk > DW_COND_MAX_KINKS || level < 0 || level > 8)
        return dw_fail(DW_ERR_INVALID, "conditional quadrature: invalid arguments (a = %g, b = %g, rho = %g)", a, b,
                       rho);
    const double sa = sqrt(a), sb = sqrt(b), sig = sb * s;
    double L = DW_COND_L; /* extended past far kinks as in inner_numeric */
    for (int k = 0; k < A->nk; k++) {
        const double x = fabs(A->kinks[k] / sa);
        if (x < 30) L = fmax(L, fmin(x + 8, 37.0));
        if (rho != 0) {
            const double x0 = fabs(A->kinks[k] / (sb * rho));
            if (x0 < 30) L = fmax(L, fmin(x0 + 8, 37.0));
        }
    }
    const double hx = 1.5 / pow(4.0, level / 2), hz = hx; /* level 1 refines only the grading (below) */
    const double h0 = hx / fmax(1.0, fmax(sa, sb * fabs(rho))); /* first panels next to a breakpoint */
    /* outer breakpoints */
    enum { MAXB = 4 * DW_COND_MAX_KINKS * 40 + 4 };
    double br[MAXB];
    int nb = 0;
    br[nb++] = -L;
    br[nb++] = L;
    for (int k = 0; k < A->nk; k++) {
        const double x = A->kinks[k] / sa;
        if (x > -L && x < L) br[nb++] = x;
    }
    if (rho != 0.0 && s > 0) {
        const double w0 = s / fabs(rho);
        for (int k = 0; k < A->nk; k++) {
            const double x0 = A->kinks[k] / (sb * rho);
            if (!(x0 > -L - 1 && x0 < L + 1)) continue;
            if (x0 > -L && x0 < L) br[nb++] = x0;
            /* graded towards x0 with ratio 4 (level 0) or 2 (refinements), from w0 / 2^level */
            for (double w = w0 / (1 << level); w < 1.0 && nb + 2 < MAXB; w *= level ? 2 : 4) {
                if (x0 - w > -L && x0 - w < L) br[nb++] = x0 - w;
                if (x0 + w > -L && x0 + w < L) br[nb++] = x0 + w;
            }
        }
    }
    qsort(br, (size_t)nb, sizeof(double), cmp_double);
    double res[2], resd[2], vabs = 0, vdabs = 0, tail = 0, taild = 0;
    for (int lev = 0; lev < 2; lev++) {
        const double *gx, *gw;
        const int p = dw_gl_rule(lev, &gx, &gw);
        double S = 0, SD = 0, SABS = 0, SDABS = 0, TAIL = 0, TAILD = 0;
        for (int j = 0; j + 1 < nb; j++) {
            if (!(br[j + 1] > br[j])) continue;
            double e[256];
            const int ne = dw_gl_panel_edges(br[j], br[j + 1], h0, hx, e, 256);
            for (int q = 0; q + 1 < ne; q++) {
                const double h = e[q + 1] - e[q], c = 0.5 * (e[q] + e[q + 1]);
                for (int i = 0; i < p; i++) {
                    const double x = c + 0.5 * h * gx[i], w = 0.5 * h * gw[i] * npdf(x);
                    double d = 0.0, g, gd, gabs[2], gt[2] = {0, 0};
                    const double f = A->f(sa * x, &d, A->ctx);
                    const double m = sb * rho * x;
                    if (A->inner) {
                        A->inner(m, sig, &g, &gd, gabs, A->ictx);
                    } else {
                        inner_numeric(A, m, sig, lev, hz, &g, &gd, gabs, gt);
                    }
                    S += w * f * g;
                    SD += w * d * gd;
                    SABS += w * fabs(f) * gabs[0];
                    SDABS += w * fabs(d) * gabs[1];
                    TAIL += w * fabs(f) * gt[0];
                    TAILD += w * fabs(d) * gt[1];
                }
            }
        }
        res[lev] = S;
        resd[lev] = SD;
        vabs = SABS;
        vdabs = SDABS;
        tail = fmax(tail, TAIL);
        taild = fmax(taild, TAILD);
    }
    /* the outer tails beyond +-L */
    double otail = 0, otaild = 0;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double d = 0.0, g, gd, gabs[2], gt[2];
        const double f = A->f(sgn * sa * L, &d, A->ctx);
        if (A->inner)
            A->inner(sgn * sb * rho * L, sig, &g, &gd, gabs, A->ictx);
        else
            inner_numeric(A, sgn * sb * rho * L, sig, 1, hz, &g, &gd, gabs, gt);
        otail += npdf(L) / L * fabs(f * g);
        otaild += npdf(L) / L * fabs(d * gd);
    }
    if (!isfinite(res[1]) || !isfinite(resd[1]) || !isfinite(vabs) || !isfinite(vdabs) || !isfinite(otail) ||
        !isfinite(tail) ||
        !isfinite(otaild) || !isfinite(taild))
        return dw_fail(DW_ERR_RANGE,
                       "conditional quadrature: E[phi(u) phi(v)] is not finite at variances a = %g, b = %g", a, b);
    /* tails: 4 x the Mills-ratio estimate pdf(L) / L |integrand(L)| */
    *v = res[1];
    *ev = fabs(res[1] - res[0]) + 64 * DBL_EPSILON * vabs + 4 * (tail + otail);
    if (vd) *vd = resd[1];
    if (evd) *evd = fabs(resd[1] - resd[0]) + 64 * DBL_EPSILON * vdabs + 4 * (taild + otaild);
    return DW_OK;
}
