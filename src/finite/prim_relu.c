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
#include <pthread.h>
#include <math.h>
#include <string.h>

#include "gauss/gauss.h"

#define PD 9    /* polynomial degrees 0..8 */
#define HD 5    /* Hermite weights: degree <= 4 */
#define MAXPQ 6 /* the moments' degrees: 2 factors z^i and a Hermite weight of degree 4 */

/* Hermite polynomial He_alpha(u, v; Sigma) for nx derivatives along u and ny along v, as coefficients P[i][j] of
 * u^i v^j: He_{alpha + e} = w_e He_alpha - d_e He_alpha, w = Sigma^-1 (u, v). */
static void hermite2(int nx, int ny, const long double L[2][2], long double P[HD][HD])
{
    long double Q[HD][HD];
    memset(P, 0, sizeof(long double) * HD * HD);
    P[0][0] = 1.0;
    for (int step = 0; step < nx + ny; step++) {
        int e = step < nx ? 0 : 1;
        memset(Q, 0, sizeof Q);
        for (int i = 0; i <= step; i++)
            for (int j = 0; i + j <= step; j++) {
                long double c = P[i][j];
                if (c == 0.0) continue;
                Q[i + 1][j] += L[e][0] * c; /* w_e = L_e0 u + L_e1 v */
                Q[i][j + 1] += L[e][1] * c;
                if (e == 0 && i > 0) Q[i - 1][j] -= i * c;
                if (e == 1 && j > 0) Q[i][j - 1] -= j * c;
            }
        memcpy(P, Q, sizeof Q);
    }
}

/* The 24-point Gauss-Legendre rule in long double (Newton on the Legendre recurrence), built once. */
#define GLN 24
static long double glx[GLN], glw[GLN];
static pthread_once_t gl_once = PTHREAD_ONCE_INIT;
static void gl_init(void)
{
    const long double pi = 3.141592653589793238462643383279502884L;
    for (int i = 0; i < GLN; i++) {
        long double z = cosl(pi * (i + 0.75L) / (GLN + 0.5L)), dp = 1.0L;
        for (int it = 0; it < 100; it++) {
            long double p0 = 1.0L, p1 = z;
            for (int k = 2; k <= GLN; k++) {
                long double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = GLN * (z * p1 - p0) / (z * z - 1.0L);
            long double dz = p1 / dp;
            z -= dz;
            if (fabsl(dz) < 1e-21L * fabsl(z) + 1e-24L) break;
        }
        glx[i] = z;
        glw[i] = 2.0L / ((1.0L - z * z) * dp * dp);
    }
}

dw_status dw_fw_relu_prepare(dw_fw_relu *R, bool deriv)
{
    const double a = R->a, b = R->b, th = R->theta;
    memset(R->have_he, 0, sizeof R->have_he);
    for (int p = 0; p < PD; p++)
        R->half[p] = pow(2 * a, 0.5 * p) * tgamma(0.5 * (p + 1)) / (2.0 * sqrt(M_PI));
    if (R->m == 1) return DW_OK;
    /* Sigma^-1 from the determinant a b sin^2 theta (accurate through theta), in long double */
    const long double thl = th, st = sinl(thl), det = (long double)a * b * st * st;
    if (!(det > 0) && deriv)
        return dw_fail(DW_ERR_RANGE, "finite-width corrections: a pair of inputs at angle %g is degenerate", th);
    R->L[0][0] = det > 0 ? b / det : 0.0L; /* not used without derivatives */
    R->L[0][1] = R->L[1][0] = det > 0 ? -(long double)R->c / det : 0.0L;
    R->L[1][1] = det > 0 ? a / det : 0.0L;
    /* arcs: (+,-) [-pi/2, th - pi/2], (+,+) [th - pi/2, pi/2], (-,+) [pi/2, th + pi/2], (-,-) [th + pi/2, 3pi/2];
     * 24-point Gauss-Legendre on each (a trigonometric polynomial of degree <= 6: exact to rounding) */
    pthread_once(&gl_once, gl_init);
    const long double hp = 1.570796326794896619231321691639751442L;
    const long double t0[4] = {-hp, thl - hp, hp, thl + hp};
    const long double t1[4] = {thl - hp, hp, thl + hp, 3 * hp};
    long double sa[PD], sb[PD], radn[PD];
    sa[0] = sb[0] = 1.0L;
    for (int p = 1; p < PD; p++) sa[p] = sa[p - 1] * sqrtl(a), sb[p] = sb[p - 1] * sqrtl(b);
    /* 2^(n/2) Gamma(n/2 + 1) / (2 pi), the radial moments E R^n of the Rayleigh law over 2 pi */
    for (int q = 0; q < PD; q++) radn[q] = powl(2.0L, 0.5L * q) * tgammal(0.5L * q + 1) / (4 * hp);
    for (int k = 0; k < 4; k++) {
        long double h = 0.5L * (t1[k] - t0[k]), mid = 0.5L * (t1[k] + t0[k]);
        long double I[PD][PD];
        memset(I, 0, sizeof I);
        for (int g = 0; g < GLN; g++) {
            long double t = mid + h * glx[g], cu = cosl(t), cv = cosl(t - thl), pu[PD], pv[PD];
            pu[0] = glw[g];
            pv[0] = 1.0L;
            for (int p = 1; p <= MAXPQ; p++) pu[p] = pu[p - 1] * cu, pv[p] = pv[p - 1] * cv;
            for (int p = 0; p <= MAXPQ; p++)
                for (int q = 0; p + q <= MAXPQ; q++) I[p][q] += pu[p] * pv[q];
        }
        for (int p = 0; p <= MAXPQ; p++)
            for (int q = 0; p + q <= MAXPQ; q++) R->mq[p][q][k] = sa[p] * sb[q] * radn[p + q] * h * I[p][q];
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
    long double (*P)[HD] = R->he[nx][ny];
    const long double wq[4] = {wyn, 1.0, wxn, wxn * wyn};
    long double sum = 0.0L, sabs = 0.0L;
    for (int i = 0; i + ix <= MAXPQ && i <= nx + ny; i++)
        for (int j = 0; i + ix + j + iy <= MAXPQ && i + j <= nx + ny; j++) {
            if (P[i][j] == 0.0) continue;
            const long double *mq = R->mq[i + ix][j + iy];
            long double m = 0.0L, mabs = 0.0L;
            for (int k = 0; k < 4; k++) {
                m += wq[k] * mq[k];
                mabs += fabsl(wq[k] * mq[k]);
            }
            sum += P[i][j] * m;
            sabs += fabsl(P[i][j]) * mabs;
        }
    /* rounding of the extended-precision sum, then of the result to double */
    *value = (double)(sc * sum);
    *err = (double)(16 * LDBL_EPSILON * fabsl(sc * sabs)) + DBL_EPSILON * fabs(*value);
    return DW_OK;
}
