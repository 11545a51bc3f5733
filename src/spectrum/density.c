/* Density of the squared singular values by Stieltjes inversion (theory.md 3).
 *
 * G(x) = (1 + z)/x with z = psi_J(1/x), which solves chi_J(z) = 1/x. Per distinct layer law g (multiplicity
 * mult_g), u_g = chi_{D_g^2}(z) solves psi_g(u_g) = z, psi_g(u) = E[u d^2 / (1 - u d^2)] over the law's atoms, and
 *   Gaussian:    chi_J(z) = prod_g (u_g / z)^{mult_g} z / ((1 + z) prod_l sigma_l^2)
 *   orthogonal:  chi_J(z) = prod_g (u_g (1 + z) / z)^{mult_g} z / ((1 + z) prod_l sigma_l^2).
 * Newton runs on the system (log(x chi_J) = 0, psi_g(u_g) = z) at x = t + i eta, the u_g eliminated from the
 * linearisation (arrowhead). Points are visited from the right (outside the support, where z is small) to the left,
 * each starting from its neighbour's solution; where that fails or lands on the wrong sheet (Im z > 0 while
 * Im x > 0), the point is solved along x = t + i Y, Y from far above the support down to eta.
 * rho(t) = -Im((1 + z - a0)/x)/pi, the atom a0 at 0 removed. */
#include "spectrum/spectrum.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef double complex cplx;

typedef struct dsolver {
    const dw_spectrum *s;
    const dw_d2_law *law;
    int ng;
    cplx *u, *du, *save, *save2; /* ng each: unknowns, residuals, a saved copy, psi_g' */
    cplx z;
    double logsc; /* sum log sigma_l^2 */
    int orth;
} dsolver;

static void psi_eval(const dw_d2_law *law, cplx u, cplx *p, cplx *dp)
{
    /* sum w d / (1 - u d) and sum w d / (1 - u d)^2 in real arithmetic (no Annex G complex division) */
    const double ur = creal(u), ui = cimag(u);
    double ar = 0, ai = 0, br = 0, bi = 0;
    for (int i = 0; i < law->n; i++) {
        const double d = law->d2[i];
        const double xr = 1.0 - ur * d, xi = -ui * d;
        const double inv = 1.0 / (xr * xr + xi * xi);
        const double rr = xr * inv, ri = -xi * inv; /* 1 / (1 - u d) */
        const double wd = law->w[i] * d;
        const double cr = wd * rr, ci = wd * ri;
        ar += cr;
        ai += ci;
        br += cr * rr - ci * ri;
        bi += cr * ri + ci * rr;
    }
    *p = u * (ar + I * ai);
    *dp = br + I * bi;
}

static cplx wrap(cplx v) /* imaginary part into (-pi, pi] */
{
    double im = cimag(v);
    im = remainder(im, 2 * M_PI);
    return creal(v) + I * im;
}

static cplx phi_eval(const dsolver *d, cplx x, cplx z, const cplx *u, cplx *cz)
{
    const dw_spectrum *s = d->s;
    cplx v = clog(x) + clog(z) - clog(1 + z) - d->logsc;
    cplx c = 1.0 / z - 1.0 / (1 + z);
    for (int g = 0; g < d->ng; g++) {
        v += s->mult[g] * (clog(u[g]) - clog(z));
        c -= s->mult[g] / z;
        if (d->orth) {
            v += s->mult[g] * clog(1 + z);
            c += s->mult[g] / (1 + z);
        }
    }
    *cz = c;
    return wrap(v);
}

/* Newton at x from the current (z, u). Returns 1 on convergence: the step below 1e-14 relative, or (near an
 * edge, where the system is ill-conditioned like 1/sqrt(eta)) a relative residual below 1e-12 that no longer
 * decreases. */
static int newton(dsolver *d, cplx x)
{
    const dw_spectrum *s = d->s;
    const int ng = d->ng;
    double prev_res = INFINITY;
    for (int it = 0; it < 60; it++) {
        cplx cz, F = phi_eval(d, x, d->z, d->u, &cz);
        cplx num = F, den = cz;
        double res = cabs(F);
        for (int g = 0; g < ng; g++) {
            cplx ps, dps;
            psi_eval(&d->law[g], d->u[g], &ps, &dps);
            cplx r = ps - d->z;
            res += cabs(r) / fmax(cabs(d->z), 1e-300);
            cplx a = 1.0 / (dps * d->u[g]);
            num -= s->mult[g] * r * a;
            den += s->mult[g] * a;
            d->du[g] = r;
            d->save2[g] = dps;
        }
        if (!isfinite(res)) return 0;
        /* near z = -1 (t -> 0) log(1 + z) carries the rounding of 1 + z, relative 1e-16 |z| / |1 + z| */
        const double amp = fmax(1.0, cabs(d->z) / fmax(cabs(1.0 + d->z), 1e-300));
        if (res < 1e-12 * amp && res >= 0.5 * prev_res) return 1; /* stagnation at rounding level */
        prev_res = res;
        cplx dz = -num / den;
        if (!isfinite(creal(dz)) || !isfinite(cimag(dz))) return 0;
        /* damping: no step larger than half of |z| (z stays away from 0 and -1 crossings) */
        double lam = 1.0, az = cabs(d->z);
        if (cabs(dz) > 0.5 * az) lam = 0.5 * az / cabs(dz);
        double maxrel = 0;
        cplx znew = d->z + lam * dz;
        for (int g = 0; g < ng; g++) {
            cplx du = (lam * dz - d->du[g]) / d->save2[g];
            double au = cabs(d->u[g]);
            if (cabs(du) > 0.5 * au) du *= 0.5 * au / cabs(du);
            maxrel = fmax(maxrel, cabs(du) / au);
            d->u[g] += du;
            if (!isfinite(creal(d->u[g])) || !isfinite(cimag(d->u[g]))) return 0;
        }
        maxrel = fmax(maxrel, cabs(znew - d->z) / fmax(az, 1e-300));
        d->z = znew;
        if (maxrel < 1e-14 * amp && lam == 1.0) return 1;
    }
    return 0;
}

static void start_far(dsolver *d, cplx x)
{
    const dw_spectrum *s = d->s;
    double m1 = exp(d->logsc);
    for (int g = 0; g < d->ng; g++) m1 *= pow(s->gmu[(size_t)g * s->kmax], s->mult[g]);
    d->z = m1 / x;
    for (int g = 0; g < d->ng; g++) d->u[g] = d->z / s->gmu[(size_t)g * s->kmax];
}

/* From far above down to t + i eta. */
static int vertical(dsolver *d, double t, double eta, double top)
{
    double Y = top;
    start_far(d, t + I * Y);
    if (!newton(d, t + I * Y)) return 0;
    double ratio = 0.5;
    while (Y > eta) {
        double Yn = fmax(Y * ratio, eta);
        cplx z0 = d->z;
        cplx *u0 = d->save;
        memcpy(u0, d->u, sizeof(cplx) * (size_t)d->ng);
        if (newton(d, t + I * Yn) && cimag(d->z) <= 1e-9 * cabs(d->z)) {
            Y = Yn;
            ratio = fmax(ratio * ratio, 0.01);
        } else {
            d->z = z0;
            memcpy(d->u, u0, sizeof(cplx) * (size_t)d->ng);
            ratio = sqrt(ratio);
            if (ratio > 0.999) return 0;
        }
    }
    return 1;
}

/* Real branch for the edge: u_g(z) for real z > 0 on (0, 1/dmax). */
static int real_u(const dw_d2_law *law, double z, double *u, double *du)
{
    double lo = 0, hi = 1.0 / law->dmax, x = *u;
    if (!(x > lo && x < hi)) x = 0.5 * hi;
    for (int it = 0; it < 200; it++) {
        double p = 0, dp = 0;
        for (int i = 0; i < law->n; i++) {
            double dd = law->d2[i];
            if (dd == 0) continue;
            double r = 1.0 / (1.0 - x * dd);
            p += law->w[i] * dd * r;
            dp += law->w[i] * dd * r * r;
        }
        double f = x * p - z;
        if (f > 0) hi = x;
        else lo = x;
        double xn = x - f / dp;
        if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
        *du = 1.0 / dp;
        if (fabs(xn - x) <= 1e-15 * x || hi - lo <= 1e-16 * hi) {
            *u = xn;
            *du = 1.0 / dp;
            return 1;
        }
        x = xn;
    }
    *u = x;
    return 1;
}

/* log x(z) = -log chi_J(z) on the real branch and its derivative. */
static void logx_real(const dsolver *d, double z, double *ug, double *lx, double *dlx)
{
    const dw_spectrum *s = d->s;
    double v = log(z) - log1p(z) - d->logsc, c = 1 / z - 1 / (1 + z);
    for (int g = 0; g < d->ng; g++) {
        double du = 0;
        real_u(&d->law[g], z, &ug[g], &du);
        v += s->mult[g] * (log(ug[g]) - log(z));
        c += s->mult[g] * (du / ug[g] - 1 / z);
        if (d->orth) {
            v += s->mult[g] * log1p(z);
            c += s->mult[g] / (1 + z);
        }
    }
    *lx = -v;
    *dlx = -c;
}

static dw_status solver_init(dsolver *d, const dw_spectrum *s, const dw_d2_law *law)
{
    memset(d, 0, sizeof *d);
    d->s = s;
    d->law = law;
    d->ng = s->ng;
    d->orth = s->orth;
    d->logsc = s->log_sw2_sum;
    d->u = dw_alloc((size_t)(4 * s->ng), sizeof(cplx), "density solver");
    if (!d->u) return DW_ERR_NOMEM;
    d->du = d->u + s->ng;
    d->save = d->u + 2 * s->ng;
    d->save2 = d->u + 3 * s->ng;
    return DW_OK;
}

static int degenerate(const dw_spectrum *s)
{
    /* J = 0 (some layer has phi' = 0 a.s.), or Haar weights with at most one non-constant layer: the law is
     * then atomic or the law of one layer's sigma^2 d^2 itself */
    for (int g = 0; g < s->ng; g++)
        if (s->gmu[(size_t)g * s->kmax] == 0) return 1;
    if (!s->orth) return 0;
    int nonconst = 0;
    for (int g = 0; g < s->ng; g++)
        if (s->law_lazy || s->law[g].n > 1) nonconst += s->mult[g];
    return nonconst <= 1 ? 2 : 0;
}

static int all_exact(const dw_spectrum *s)
{
    int exact = 1;
    for (int g = 0; g < s->ng; g++) exact &= !s->law_lazy && s->law[g].exact;
    return exact;
}

static dw_status support_with(const dw_spectrum *s, const dw_d2_law *law, double *lo, double *hi)
{
    dsolver d;
    dw_status st = solver_init(&d, s, law);
    if (st) return st;
    double *ug = dw_alloc((size_t)s->ng, sizeof(double), "support");
    if (!ug) {
        free(d.u);
        return DW_ERR_NOMEM;
    }
    for (int g = 0; g < s->ng; g++) ug[g] = 0;
    double lx, dlx, z = 1e-8, zprev = z;
    logx_real(&d, z, ug, &lx, &dlx);
    int found = 0;
    double best = lx;
    for (int k = 0; k < 4 * 80; k++) {
        zprev = z;
        z *= 1.1892071150027210667; /* 2^(1/4) */
        logx_real(&d, z, ug, &lx, &dlx);
        best = fmin(best, lx);
        if (dlx >= 0) {
            found = 1;
            break;
        }
    }
    if (found) { /* bisect on the sign of d log x / dz */
        double a = zprev, b = z;
        for (int it = 0; it < 200 && b - a > 1e-15 * b; it++) {
            double mid = 0.5 * (a + b);
            logx_real(&d, mid, ug, &lx, &dlx);
            if (dlx < 0) a = mid;
            else b = mid;
        }
        logx_real(&d, 0.5 * (a + b), ug, &lx, &dlx);
        best = lx;
    }
    *hi = exp(best);
    *lo = 0; /* the support lies in [0, hi] */
    free(ug);
    free(d.u);
    return DW_OK;
}

dw_status dw_spectrum_support(const dw_spectrum *s, double *lo, double *hi)
{
    if (!s || !lo || !hi) return dw_fail(DW_ERR_INVALID, "support: NULL argument");
    if (s->residual)
        return dw_fail(DW_ERR_INVALID, "support: not available for residual networks (their blocks are not free: "
                       "no S-transform); their moments are (dw_spectrum_moments, NC route)");
    const int dg = degenerate(s);
    if (dg == 1) {
        *lo = *hi = 0;
        return DW_OK;
    }
    if (dg == 2 && !all_exact(s)) {
        *lo = 0;
        return dw_spec_pushforward_support(s, hi);
    }
    dw_d2_law *law;
    dw_status st = dw_spec_laws(s, &law);
    if (st) return st;
    st = support_with(s, law, lo, hi);
    dw_spec_laws_free(s, law);
    return st;
}

static dw_status density_with(const dw_spectrum *s, const dw_d2_law *law, size_t n, const double *t, double *rho);


dw_status dw_spectrum_density(const dw_spectrum *s, size_t n, const double *t, double *rho)
{
    if (!s || (n && (!t || !rho))) return dw_fail(DW_ERR_INVALID, "density: NULL argument");
    if (s->residual)
        return dw_fail(DW_ERR_INVALID, "density: not available for residual networks (their blocks are not free: "
                       "no S-transform); their moments are (dw_spectrum_moments, NC route)");
    for (size_t i = 0; i < n; i++)
        if (!(t[i] > 0) || !isfinite(t[i]))
            return dw_fail(DW_ERR_INVALID, "density: abscissa %zu is %g; the abscissae must be finite and > 0 (the atom "
                           "at 0 is reported separately)", i, t[i]);
    int dg = degenerate(s);
    if (dg == 1) {
        for (size_t i = 0; i < n; i++) rho[i] = 0;
        return DW_OK;
    }
    if (dg == 2) {
        if (all_exact(s)) { /* purely atomic */
            for (size_t i = 0; i < n; i++) rho[i] = 0;
            return DW_OK;
        }
        return dw_spec_pushforward_density(s, n, t, rho);
    }
    dw_d2_law *law;
    dw_status st = dw_spec_laws(s, &law);
    if (st) return st;
    st = density_with(s, law, n, t, rho);
    dw_spec_laws_free(s, law);
    return st;
}

static dw_status density_with(const dw_spectrum *s, const dw_d2_law *law, size_t n, const double *t, double *rho)
{
    double lo, hi;
    dw_status st = support_with(s, law, &lo, &hi);
    if (st) return st;
    dsolver d;
    if ((st = solver_init(&d, s, law))) return st;
    size_t *order = dw_alloc(n ? n : 1, sizeof(size_t), "density order");
    if (!order) {
        free(d.u);
        return DW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) order[i] = i;
    /* sort descending by t (shell sort) */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && t[order[j - gap]] < t[order[j]]; j -= gap) {
                size_t tmp = order[j];
                order[j] = order[j - gap];
                order[j - gap] = tmp;
            }
    const double a0 = dw_spectrum_atom0(s);
    const double scale = fmax(hi, 1e-300);
    int have = 0;
    for (size_t k = 0; k < n; k++) {
        double tt = t[order[k]];
        if (tt > hi * (1 + 1e-9)) { /* beyond the right edge of the support */
            rho[order[k]] = 0.0;
            continue;
        }
        const double eta = 1e-10 * tt;
        cplx x = tt + I * eta;
        int ok = 0;
        if (have) {
            cplx z0 = d.z;
            cplx *u0 = d.save;
            memcpy(u0, d.u, sizeof(cplx) * (size_t)d.ng);
            ok = newton(&d, x) && cimag(d.z) <= 1e-9 * cabs(d.z);
            if (!ok) {
                d.z = z0;
                memcpy(d.u, u0, sizeof(cplx) * (size_t)d.ng);
            }
        }
        if (!ok) ok = vertical(&d, tt, eta, 100 * fmax(scale, tt));
        if (!ok) {
            free(order);
            free(d.u);
            return dw_fail(DW_ERR_RANGE, "density: the Stieltjes-transform solver did not converge at t = %.17g", tt);
        }
        have = 1;
        cplx G = (1.0 + d.z - a0) / x;
        double r = -cimag(G) / M_PI;
        if (!isfinite(r)) {
            free(order);
            free(d.u);
            return dw_fail(DW_ERR_RANGE, "density: not finite at t = %.17g", tt);
        }
        rho[order[k]] = r > 0 ? r : 0.0;
    }
    free(order);
    free(d.u);
    return DW_OK;
}
