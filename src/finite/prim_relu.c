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

#define PD 9    /* polynomial degrees 0..8 */
#define HD 5    /* Hermite weights: degree <= 4 */
#define MAXPQ 6 /* the moments' degrees: 2 factors z^i and a Hermite weight of degree 4 */

/* Hermite polynomial He_alpha(u, v; Sigma) for nx derivatives along u and ny along v, as coefficients P[i][j] of
 * u^i v^j: He_{alpha + e} = w_e He_alpha - d_e He_alpha, w = Sigma^-1 (u, v). */
static void hermite2(int nx, int ny, const double L[2][2], double P[HD][HD])
{
    double Q[HD][HD];
    memset(P, 0, sizeof(double) * HD * HD);
    P[0][0] = 1.0;
    for (int step = 0; step < nx + ny; step++) {
        int e = step < nx ? 0 : 1;
        memset(Q, 0, sizeof Q);
        for (int i = 0; i <= step; i++)
            for (int j = 0; i + j <= step; j++) {
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

dw_status dw_fw_relu_prepare(dw_fw_relu *R, bool deriv)
{
    const double a = R->a, b = R->b, th = R->theta;
    memset(R->have_he, 0, sizeof R->have_he);
    for (int p = 0; p < PD; p++)
        R->half[p] = pow(2 * a, 0.5 * p) * tgamma(0.5 * (p + 1)) / (2.0 * sqrt(M_PI));
    if (R->m == 1) return DW_OK;
    /* Sigma^-1 from the determinant a b sin^2 theta (accurate through theta) */
    double det = a * b * sin(th) * sin(th);
    if (!(det > 0) && deriv)
        return dw_fail(DW_ERR_RANGE, "finite-width corrections: a pair of inputs at angle %g is degenerate", th);
    R->L[0][0] = det > 0 ? b / det : 0.0; /* not used without derivatives */
    R->L[0][1] = R->L[1][0] = det > 0 ? -R->c / det : 0.0;
    R->L[1][1] = det > 0 ? a / det : 0.0;
    /* arcs: (+,-) [-pi/2, th - pi/2], (+,+) [th - pi/2, pi/2], (-,+) [pi/2, th + pi/2], (-,-) [th + pi/2, 3pi/2];
     * 24-point Gauss-Legendre on each (a trigonometric polynomial of degree <= 8: exact to rounding) */
    const double t0[4] = {-M_PI_2, th - M_PI_2, M_PI_2, th + M_PI_2};
    const double t1[4] = {th - M_PI_2, M_PI_2, th + M_PI_2, 1.5 * M_PI};
    const double *x, *w;
    int n = dw_gl_rule(2, &x, &w);
    /* 2^(n/2) Gamma(n/2 + 1) / (2 pi), the radial moments E R^n of the Rayleigh law over 2 pi */
    static const double radn[PD] = {0.15915494309189535, 0.19947114020071635, 0.3183098861837907,
                                    0.5984134206021492,  1.2732395447351628,  2.992067103010745,
                                    7.639437268410976,   20.944469721075215,  61.11549814728781};
    double sa[PD], sb[PD];
    sa[0] = sb[0] = 1.0;
    for (int p = 1; p < PD; p++) sa[p] = sa[p - 1] * sqrt(a), sb[p] = sb[p - 1] * sqrt(b);
    for (int k = 0; k < 4; k++) {
        double h = 0.5 * (t1[k] - t0[k]), mid = 0.5 * (t1[k] + t0[k]);
        double I[PD][PD];
        memset(I, 0, sizeof I);
        for (int g = 0; g < n; g++) {
            double t = mid + h * x[g], cu = cos(t), cv = cos(t - th), pu[PD], pv[PD];
            pu[0] = w[g];
            pv[0] = 1.0;
            for (int p = 1; p <= MAXPQ; p++) pu[p] = pu[p - 1] * cu, pv[p] = pv[p - 1] * cv;
            for (int p = 0; p <= MAXPQ; p++)
                for (int q = 0; p + q <= MAXPQ; q++) I[p][q] += pu[p] * pv[q];
        }
        for (int p = 0; p <= MAXPQ; p++)
            for (int q = 0; p + q <= MAXPQ; q++) {
                double rad = sa[p] * sb[q] * radn[p + q] * h;
                R->mq[p][q][k] = rad * I[p][q];
            }
    }
    return DW_OK;
}

dw_status dw_fw_relu_moment(void *vctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err)
{
    dw_fw_relu *R = vctx;
    const double al = R->alpha, lam = R->lam, a = R->a;
    double sc = 1.0, wxn = 1.0, wyn = 1.0; /* lam^(factors), and the factors' weights on z < 0 */
    for (int k = 0; k < ix + jx + iy + jy; k++) sc *= lam;
    for (int k = 0; k < ix + jx; k++) wxn *= al;
    for (int k = 0; k < iy + jy; k++) wyn *= al;
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
            int p = i + ix; /* E[u^p; u > 0] and (-1)^p that on u < 0 */
            sum += P[i] * R->half[p] * (1.0 + wxn * ((p & 1) ? -1.0 : 1.0));
            sabs += fabs(P[i] * R->half[p]) * (1.0 + fabs(wxn));
        }
        *value = sc * sum;
        *err = 8 * DBL_EPSILON * fabs(sc) * sabs;
        return DW_OK;
    }
    if (!R->have_he[nx][ny]) {
        hermite2(nx, ny, R->L, R->he[nx][ny]);
        R->have_he[nx][ny] = 1;
    }
    double (*P)[HD] = R->he[nx][ny];
    const double wq[4] = {wyn, 1.0, wxn, wxn * wyn};
    double sum = 0.0, sabs = 0.0;
    for (int i = 0; i + ix <= MAXPQ && i <= nx + ny; i++)
        for (int j = 0; i + ix + j + iy <= MAXPQ && i + j <= nx + ny; j++) {
            if (P[i][j] == 0.0) continue;
            const double *mq = R->mq[i + ix][j + iy];
            double m = 0.0, mabs = 0.0;
            for (int k = 0; k < 4; k++) {
                m += wq[k] * mq[k];
                mabs += fabs(wq[k] * mq[k]);
            }
            sum += P[i][j] * m;
            sabs += fabs(P[i][j]) * mabs;
        }
    *value = sc * sum;
    *err = 16 * DBL_EPSILON * fabs(sc) * sabs;
    return DW_OK;
}
