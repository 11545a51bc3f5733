/* The moments E[F^(nx)(u) G^(ny)(v)] in closed form for the relu family, phi = lam z (z > 0), lam alpha z (z < 0)
 * (relu, leaky relu, abs, and expressions of that form). Products phi^i phi'^j are lam^(i+j) z^i times 1 or
 * alpha^(i+j) on either side of 0, so by the Stein form E[d^alpha F] = E[F He_alpha(z; Sigma)] every moment is a
 * sum of quadrant moments E[u^p v^q; sign u, sign v], which in polar form are
 *   a^(p/2) b^(q/2) 2^(n/2) Gamma(n/2 + 1) / (2 pi) int_arc cos^p t cos^q (t - theta) dt,   n = p + q,
 * over the arc of the quadrant (u = sqrt(a) R cos t, v = sqrt(b) R cos(t - theta)); the arcs are integrated by
 * 24-point Gauss-Legendre (a trigonometric polynomial of degree <= 8: exact to rounding). Near theta = 0 or pi the
 * Hermite weights carry Sigma^-1 and the moments of single kinked primitives diverge (theory.md 1.6, pitfall 1):
 * the error estimate is the rounding of the terms' magnitudes. */
#include "finite/finite.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "gauss/gauss.h"

#define PD 9 /* polynomial degrees 0..8 */

/* Hermite polynomial He_alpha(u, v; Sigma) for nx derivatives along u and ny along v, as coefficients P[i][j] of
 * u^i v^j: He_{alpha + e} = w_e He_alpha - d_e He_alpha, w = Sigma^-1 (u, v). */
static void hermite2(int nx, int ny, const double L[2][2], double P[PD][PD])
{
    double Q[PD][PD];
    memset(P, 0, sizeof(double) * PD * PD);
    P[0][0] = 1.0;
    for (int step = 0; step < nx + ny; step++) {
        int e = step < nx ? 0 : 1;
        memset(Q, 0, sizeof Q);
        for (int i = 0; i < PD - 1; i++)
            for (int j = 0; j < PD - 1; j++) {
                double c = P[i][j];
                if (c == 0.0) continue;
                Q[i + 1][j] += L[e][0] * c; /* w_e = L_e0 u + L_e1 v */
                Q[i][j + 1] += L[e][1] * c;
                if (e == 0 && i > 0) Q[i - 1][j] -= i * c;
                if (e == 1 && j > 0) Q[i][j - 1] -= j * c;
            }
        memcpy(P, Q, sizeof Q);
    }
}

/* int over [t0, t1] of cos^p t cos^q (t - theta), 24-point Gauss-Legendre. */
static double arc(double t0, double t1, int p, int q, double theta)
{
    const double *x, *w;
    int n = dw_gl_rule(2, &x, &w);
    double h = 0.5 * (t1 - t0), mid = 0.5 * (t1 + t0), s = 0.0;
    for (int k = 0; k < n; k++) {
        double t = mid + h * x[k];
        s += w[k] * pow(cos(t), p) * pow(cos(t - theta), q);
    }
    return h * s;
}

dw_status dw_fw_relu_moment(void *vctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err)
{
    const dw_fw_relu *R = vctx;
    const double al = R->alpha, lam = R->lam, a = R->a;
    const double sc = pow(lam, ix + jx + iy + jy);
    const double wxn = pow(al, ix + jx), wyn = pow(al, iy + jy); /* the factors' weights on z < 0 */
    if (R->m == 1 || (iy + jy == 0 && ny == 0)) {
        /* one-dimensional: E[F(u) He_n(u; a)], He_{n+1} = (u/a) He_n - d/du He_n */
        double P[PD] = {1.0}, Q[PD];
        for (int s = 0; s < nx; s++) {
            memset(Q, 0, sizeof Q);
            for (int i = 0; i < PD - 1; i++) {
                Q[i + 1] += P[i] / a;
                if (i > 0) Q[i - 1] -= i * P[i];
            }
            memcpy(P, Q, sizeof Q);
        }
        double sum = 0.0, sabs = 0.0;
        for (int i = 0; i < PD - ix; i++) {
            if (P[i] == 0.0) continue;
            int p = i + ix;
            /* E[u^p; u > 0] = a^(p/2) 2^(p/2) Gamma((p+1)/2) / (2 sqrt(pi)), and (-1)^p that on u < 0 */
            double half = pow(a, 0.5 * p) * pow(2.0, 0.5 * p) * tgamma(0.5 * (p + 1)) / (2.0 * sqrt(M_PI));
            double t = P[i] * half * (1.0 + wxn * ((p & 1) ? -1.0 : 1.0));
            sum += t;
            sabs += fabs(P[i] * half) * (1.0 + fabs(wxn));
        }
        *value = sc * sum;
        *err = 8 * DBL_EPSILON * fabs(sc) * sabs;
        return DW_OK;
    }
    const double b = R->b, c = R->c, th = R->theta;
    /* Sigma^-1 from the determinant a b sin^2 theta (accurate through theta) */
    double det = a * b * sin(th) * sin(th);
    if (!(det > 0)) {
        *value = NAN;
        *err = INFINITY;
        return dw_fail(DW_ERR_RANGE, "finite-width corrections: a pair of inputs at angle %g is degenerate", th);
    }
    double L[2][2] = {{b / det, -c / det}, {-c / det, a / det}};
    double P[PD][PD];
    hermite2(nx, ny, L, P);
    /* arcs: (+,-) [-pi/2, th - pi/2], (+,+) [th - pi/2, pi/2], (-,+) [pi/2, th + pi/2], (-,-) [th + pi/2, 3pi/2] */
    const double t0[4] = {-M_PI_2, th - M_PI_2, M_PI_2, th + M_PI_2};
    const double t1[4] = {th - M_PI_2, M_PI_2, th + M_PI_2, 1.5 * M_PI};
    const double wq[4] = {wyn, 1.0, wxn, wxn * wyn};
    double sum = 0.0, sabs = 0.0;
    for (int i = 0; i + ix < PD; i++)
        for (int j = 0; j + iy < PD; j++) {
            if (P[i][j] == 0.0) continue;
            int p = i + ix, q = j + iy, n = p + q;
            double rad = pow(a, 0.5 * p) * pow(b, 0.5 * q) * pow(2.0, 0.5 * n) * tgamma(0.5 * n + 1) / (2 * M_PI);
            double m = 0.0, mabs = 0.0;
            for (int k = 0; k < 4; k++) {
                if (wq[k] == 0.0 || t1[k] <= t0[k]) continue;
                double v = arc(t0[k], t1[k], p, q, th);
                m += wq[k] * v;
                mabs += fabs(wq[k] * v);
            }
            sum += P[i][j] * rad * m;
            sabs += fabs(P[i][j]) * rad * mabs;
        }
    *value = sc * sum;
    *err = 16 * DBL_EPSILON * fabs(sc) * sabs;
    return DW_OK;
}
