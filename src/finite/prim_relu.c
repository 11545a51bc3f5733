/* The moments E[F^(nx)(u) G^(ny)(v)] in closed form for the relu family, phi = lam z (z > 0), lam alpha z (z < 0)
 * (relu, leaky relu, abs, and expressions of that form), at every angle, without Sigma^-1 (theory.md 1.6).
 *
 * A product phi^i phi'^j is lam^(i+j) z^i (w + (1 - w) H(z)), w = alpha^(i+j), so its n-th derivative in the sense
 * of distributions is a polynomial piece w z^(i-n) (times i! / (i-n)!), a half-line piece (1 - w) z^(i-n) H(z) and,
 * for n > i, a point mass (1 - w) i! delta^(n-i-1)(z). Each moment is a sum of at most four products of such pieces,
 * each in closed form in the coordinates (a, b, theta) of the pair:
 *   no point mass: conditioning on one side (v | u ~ N(u c / a, b sin^2 theta)) gives full- and half-line moments;
 *     two half lines: the (+,+) quadrant moment, an angular integral of a positive trigonometric polynomial;
 *   delta^(r)(u) times a piece of v: (-1)^r d^r/du^r [p_u(u) E(piece | u)] at 0, Leibniz over the density's and the
 *     conditional moment's derivatives; the latter are those of M_q(t) = E[(t + Z)^q; Z > -t] (M_q' = q M_(q-1),
 *     M_0 = Phi), which bring the powers (FN(sqrt)(b) sin theta)^(q - j) that make the moment diverge as theta -> 0;
 *   delta^(r)(u) delta^(s)(v): the density at the origin times He_alpha(0), products of Sigma^-1 entries written
 *     with sin^2 theta (no difference of nearly equal numbers).
 * No term is a difference of large numbers, so each moment is accurate to a few ulps of its terms' magnitudes at any
 * angle in (0, pi); the error estimate is that magnitude. */
#include "finite/finite.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "finite/real_cfg.h"

#define RD DW_FW_RD
#define PI_ RC(3.141592653589793238462643383279502884)
#ifndef DW_FW_PIECE_KINDS
#define DW_FW_PIECE_KINDS
enum { POLY, HALF, DELTA };
#endif

static const REAL DW_FW_T(fact)[RD] = {1, 1, 2, 6, 24};
static const REAL DW_FW_T(binom)[RD][RD] = {{1}, {1, 1}, {1, 2, 1}, {1, 3, 3, 1}, {1, 4, 6, 4, 1}};
#define ISQ2PI RC(0.398942280401432677939946059934381868) /* 1 / FN(sqrt)(2 pi) */
/* standard normal: full moments E Z^n, half-line moments E[Z^n; Z > 0], density derivatives phi^(n)(0) */
static const REAL DW_FW_T(mfull)[RD] = {1, 0, 1, 0, 3};
static const REAL DW_FW_T(mhalf)[RD] = {0.5, ISQ2PI, 0.5, 2 * ISQ2PI, 1.5};
static const REAL DW_FW_T(dens0)[RD] = {ISQ2PI, 0, -ISQ2PI, 0, 3 * ISQ2PI};

/* x^k for integer k of either sign (x^0 = 1 also for x = 0) */
static REAL DW_FW_T(ipow)(REAL x, int k)
{
    REAL r = 1.0, y = k < 0 ? 1.0 / x : x;
    for (int i = 0; i < (k < 0 ? -k : k); i++) r *= y;
    return r;
}

/* The 24-point Gauss-Legendre rule (Newton on the Legendre recurrence in the real type), built once. */
#define GLN 24
static REAL DW_FW_T(glx)[GLN], DW_FW_T(glw)[GLN];
static pthread_once_t DW_FW_T(gl_once) = PTHREAD_ONCE_INIT;
static void DW_FW_T(gl_init)(void)
{
    for (int i = 0; i < GLN; i++) {
        REAL z = FN(cos)(PI_ * (i + RC(0.75)) / (GLN + RC(0.5))), dp = 1;
        for (int it = 0; it < 100; it++) {
            REAL p0 = 1, p1 = z;
            for (int k = 2; k <= GLN; k++) {
                REAL p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = GLN * (z * p1 - p0) / (z * z - 1);
            REAL dz = p1 / dp;
            z -= dz;
            if (FN(fabs)(dz) < 4 * EPS) break;
        }
        DW_FW_T(glx)[i] = z;
        DW_FW_T(glw)[i] = 2 / ((1 - z * z) * dp * dp);
    }
}

dw_status DW_FW_T(dw_fw_relu_prepare)(DW_FW_T(dw_fw_relu) *R, bool deriv)
{
    const int two = R->m == 2;
    const REAL a = R->a, b = two ? R->b : R->a, th = two ? R->theta : 0.0;
    const REAL var[2] = {a, b};
    R->sinth = FN(sin)(th);
    R->costh = FN(cos)(th);
    R->c = FN(sqrt)(a * b) * R->costh;
    if (two && deriv && !(R->sinth > 0) && R->alpha != 1) /* linear phi: no kinked piece */
        return dw_fail(DW_ERR_RANGE, "finite-width corrections: a pair of inputs at angle %g is degenerate", (double)th);
    for (int s = 0; s < 2; s++) {
        R->sqv[s] = FN(sqrt)(var[s]);
        R->slope[s] = R->c / var[s];
        R->sig[1 - s] = FN(sqrt)(var[1 - s]) * R->sinth; /* deviation of the other side given this one */
        for (int n = 0; n < RD; n++) {
            REAL pw = DW_FW_T(ipow)(R->sqv[s], n);
            R->full[s][n] = pw * DW_FW_T(mfull)[n];
            R->half[s][n] = pw * DW_FW_T(mhalf)[n];
        }
    }
    R->p00 = R->sinth > 0 ? ISQ2PI * ISQ2PI / (R->sqv[0] * R->sqv[1] * R->sinth) : (REAL)INFINITY;
    if (!two) return DW_OK;
    /* (+,+) quadrant: u = FN(sqrt)(a) R cos t, v = FN(sqrt)(b) R FN(cos)(t - theta), t in [theta - pi/2, pi/2]; E R^n over 2 pi
     * is 2^(n/2) Gamma(n/2 + 1) / (2 pi); the integrand is positive (no cancellation) */
    pthread_once(&DW_FW_T(gl_once), DW_FW_T(gl_init));
    const REAL radn[RD] = {1 / (2 * PI_), ISQ2PI / 2, 1 / PI_, 3 * ISQ2PI / 2, 4 / PI_};
    const REAL h = 0.5 * (PI_ - th), mid = 0.5 * th;
    REAL I[RD][RD];
    memset(I, 0, sizeof I);
    for (int g = 0; g < GLN; g++) {
        REAL t = mid + h * DW_FW_T(glx)[g], cu = FN(cos)(t), cv = FN(cos)(t - th), pu = DW_FW_T(glw)[g];
        for (int p = 0; p < RD; p++, pu *= cu) {
            REAL pv = pu;
            for (int q = 0; p + q < RD; q++, pv *= cv) I[p][q] += pv;
        }
    }
    for (int p = 0; p < RD; p++)
        for (int q = 0; p + q < RD; q++)
            R->quad[p][q] = DW_FW_T(ipow)(R->sqv[0], p) * DW_FW_T(ipow)(R->sqv[1], q) * radn[p + q] * h * I[p][q];
    return DW_OK;
}

/* One piece of F^(n), F = phi^i phi'^j without the factor lam^(i+j): kind, power (POLY, HALF) or delta order, and
 * its coefficient. Returns the number of pieces (0..2). */
typedef struct DW_FW_T(piece) {
    int kind, k;
    REAL coef;
} DW_FW_T(piece);
static int DW_FW_T(pieces)(REAL alpha, int i, int j, int n, DW_FW_T(piece) out[2])
{
    const REAL w = DW_FW_T(ipow)(alpha, i + j);
    int np = 0;
    if (n <= i) {
        REAL f = DW_FW_T(fact)[i] / DW_FW_T(fact)[i - n];
        if (w != 0) out[np++] = (DW_FW_T(piece)){POLY, i - n, w * f};
        if (w != 1) out[np++] = (DW_FW_T(piece)){HALF, i - n, (1 - w) * f};
    } else if (w != 1) {
        out[np++] = (DW_FW_T(piece)){DELTA, n - i - 1, (1 - w) * DW_FW_T(fact)[i]};
    }
    return np;
}

/* E[delta^(r)(side s) x piece of the other side (POLY or HALF of power q)]; *mag += the terms' magnitudes */
static REAL DW_FW_T(delta_piece)(const DW_FW_T(dw_fw_relu) *R, int s, int r, int kind, int q, REAL *mag)
{
    const int o = 1 - s;
    const REAL dens = ISQ2PI / R->sqv[s], ivar = 1.0 / (R->sqv[s] * R->sqv[s]);
    REAL sum = 0.0;
    for (int j = 0; j <= r; j++) {
        int i = r - j; /* the density's derivative order: p_s^(i)(0) = dens He_i(0) (-1)^i / var^(i/2) */
        if (i & 1) continue;
        REAL pd = dens * ((i & 2) ? -1.0 : 1.0) * (i == 4 ? 3.0 : 1.0) * DW_FW_T(ipow)(ivar, i / 2);
        REAL g; /* d^j/du^j of E[piece | u] at 0 = slope^j sig^(q - j) M_q^(j)(0) */
        if (j <= q) g = DW_FW_T(fact)[q] / DW_FW_T(fact)[q - j] * (kind == POLY ? DW_FW_T(mfull)[q - j] : DW_FW_T(mhalf)[q - j]);
        else g = kind == POLY ? 0.0 : DW_FW_T(fact)[q] * DW_FW_T(dens0)[j - q - 1];
        if (g == 0.0) continue;
        REAL t = DW_FW_T(binom)[r][j] * pd * DW_FW_T(ipow)(R->slope[s], j) * DW_FW_T(ipow)(R->sig[o], q - j) * g;
        sum += t;
        *mag += FN(fabs)(t);
    }
    return (r & 1) ? -sum : sum;
}

/* E[A(u) B(v)] for two pieces A (side 0), B (side 1) */
static REAL DW_FW_T(piece_pair)(const DW_FW_T(dw_fw_relu) *R, const DW_FW_T(piece) *A, const DW_FW_T(piece) *B, REAL *mag)
{
    const DW_FW_T(piece) *P[2] = {A, B};
    if (A->kind == DELTA && B->kind == DELTA) { /* p(0, 0) He_alpha(0) */
        int idx[4], n = 0;
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < P[s]->k && n < 4; k++) idx[n++] = s;
        if ((n & 1) || A->k + B->k > 4) return 0.0;
        const REAL is2 = 1.0 / (R->sinth * R->sinth);
        REAL Pm[2][2] = {{is2 / (R->sqv[0] * R->sqv[0]), -R->costh * is2 / (R->sqv[0] * R->sqv[1])}, {0, 0}};
        Pm[1][0] = Pm[0][1];
        Pm[1][1] = is2 / (R->sqv[1] * R->sqv[1]);
        REAL he = n == 0 ? 1.0
                  : n == 2 ? -Pm[idx[0]][idx[1]]
                           : Pm[idx[0]][idx[1]] * Pm[idx[2]][idx[3]] + Pm[idx[0]][idx[2]] * Pm[idx[1]][idx[3]] +
                                 Pm[idx[0]][idx[3]] * Pm[idx[1]][idx[2]];
        REAL t = R->p00 * he;
        *mag += FN(fabs)(t);
        return t;
    }
    for (int s = 0; s < 2; s++)
        if (P[s]->kind == DELTA) return DW_FW_T(delta_piece)(R, s, P[s]->k, P[1 - s]->kind, P[1 - s]->k, mag);
    if (A->kind == HALF && B->kind == HALF) {
        *mag += R->quad[A->k][B->k];
        return R->quad[A->k][B->k];
    }
    /* condition on side s (the half line if any): E[w^p K(w) E(x^q | w)], E(x^q | w) = sum_k C(q, k) (slope w)^k
     * sig^(q-k) E Z^(q-k) */
    const int s = B->kind == HALF ? 1 : 0, o = 1 - s, p = P[s]->k, q = P[o]->k;
    const REAL *mom = P[s]->kind == HALF ? R->half[s] : R->full[s];
    REAL sum = 0.0;
    for (int k = q & 1; k <= q; k += 2) {
        REAL t = DW_FW_T(binom)[q][k] * DW_FW_T(ipow)(R->slope[s], k) * DW_FW_T(ipow)(R->sig[o], q - k) * DW_FW_T(mfull)[q - k] * mom[p + k];
        sum += t;
        *mag += FN(fabs)(t);
    }
    return sum;
}

dw_status DW_FW_T(dw_fw_relu_moment)(void *vctx, int ix, int jx, int nx, int iy, int jy, int ny, REAL *value, REAL *err)
{
    const DW_FW_T(dw_fw_relu) *R = vctx;
    if (R->m == 1) iy = jy = ny = 0; /* one input: only moments of one side are asked for */
    DW_FW_T(piece) A[2], B[2];
    const int na = DW_FW_T(pieces)(R->alpha, ix, jx, nx, A), nb = DW_FW_T(pieces)(R->alpha, iy, jy, ny, B);
    REAL sum = 0.0, mag = 0.0;
    for (int k = 0; k < na; k++)
        for (int l = 0; l < nb; l++) {
            REAL mg = 0.0, v = DW_FW_T(piece_pair)(R, &A[k], &B[l], &mg);
            sum += A[k].coef * B[l].coef * v;
            mag += FN(fabs)(A[k].coef * B[l].coef) * mg;
        }
    const REAL sc = DW_FW_T(ipow)(R->lam, ix + jx + iy + jy);
    *value = sc * sum;
    *err = 16 * EPS * FN(fabs)(sc) * mag;
    return DW_OK;
}
