/* Per-layer data of the Jacobian spectrum in floating point (theory.md 3): q_l, q*, the law of d^2 = phi'(sqrt(q) Z)^2
 * and mu_j = E[d^(2j)] (the exact rationals are exact.c's). */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- floating point ---------------------------------------------------------------------------------------- */

dw_status dw_spec_V(const dw_act *act, double q, double *V, double *mu1)
{
    double v = 0, vd = 0;
    dw_status st = dw_act_dual(act, q, q, q, &v, &vd);
    if (st) return st;
    if (!isfinite(v) || !isfinite(vd))
        return dw_fail(DW_ERR_RANGE, "E[phi(sqrt(q) Z)^2] of %s is not finite at variance q = %g", act->name, q);
    if (V) *V = v;
    if (mu1) *mu1 = vd;
    return DW_OK;
}

dw_status dw_spec_fixed_point(const dw_act *act, double sw2, double sb2, double q_start, double *qstar)
{
    double q = q_start > 0 ? q_start : 1.0, V = 0;
    dw_status st;
    /* Relu-like activations: V = c q exactly. */
    if (dw_act_homogeneous(act) || act->fam == DW_FAM_IDENTITY) {
        if ((st = dw_spec_V(act, 1.0, &V, NULL))) return st;
        double c = V, v0 = 0;
        if (act->fam == DW_FAM_STEP) c = 0, v0 = V; /* step: V = 1/2 whatever q > 0 */
        double slope = sw2 * c;
        if (slope == 1.0) {
            if (sb2 + sw2 * v0 > 0)
                return dw_fail(DW_ERR_RANGE, "no fixed point: with weight variance %g and bias variance %g the "
                               "variance of %s grows without bound", sw2, sb2, act->name);
            *qstar = q; /* every q is a fixed point */
            return DW_OK;
        }
        if (slope > 1.0 && sb2 + sw2 * v0 > 0)
            return dw_fail(DW_ERR_RANGE, "no stable fixed point: with weight variance %g the variance of %s grows "
                           "without bound (bias variance %g)", sw2, act->name, sb2);
        *qstar = slope > 1.0 ? 0.0 : (sw2 * v0 + sb2) / (1.0 - slope);
        if (slope > 1.0) return dw_fail(DW_ERR_RANGE, "no stable fixed point: with weight variance %g and bias "
                                       "variance 0 the variance of %s grows without bound", sw2, act->name);
        return DW_OK;
    }
    /* Iterate the map (it converges to the stable fixed point), polishing with the secant method on
     * F(q) = sw2 V(q) + sb2 - q from the last two iterates every 16 steps. */
    for (int round = 0; round < 400; round++) {
        double qa = q, qb = q;
        for (int it = 0; it < 16; it++) {
            if ((st = dw_spec_V(act, q, &V, NULL))) return st;
            double qn = sw2 * V + sb2;
            if (!isfinite(qn) || qn > 1e150)
                return dw_fail(DW_ERR_RANGE, "no fixed point: the variance of %s grows without bound with weight "
                               "variance %g and bias variance %g", act->name, sw2, sb2);
            qa = q;
            qb = qn;
            q = qn;
            if (fabs(qb - qa) <= 1e-15 * fmax(qb, 1e-300)) {
                *qstar = qb;
                return DW_OK;
            }
        }
        if (qb < 1e-280) {
            *qstar = 0.0;
            return DW_OK;
        }
        double Fa, Fb, x0 = qa, x1 = qb;
        if ((st = dw_spec_V(act, x0, &V, NULL))) return st;
        Fa = sw2 * V + sb2 - x0;
        if ((st = dw_spec_V(act, x1, &V, NULL))) return st;
        Fb = sw2 * V + sb2 - x1;
        for (int it = 0; it < 50; it++) {
            if (Fb == 0.0 || Fb == Fa) break;
            double xn = x1 - Fb * (x1 - x0) / (Fb - Fa);
            if (!(xn >= 0) || !isfinite(xn) || fabs(xn - x1) > 0.5 * x1 + 1e-300) break;
            x0 = x1;
            Fa = Fb;
            x1 = xn;
            if ((st = dw_spec_V(act, x1, &V, NULL))) return st;
            Fb = sw2 * V + sb2 - x1;
            if (fabs(x1 - x0) <= 1e-15 * fmax(x1, 1e-300)) break;
        }
        /* accept if F vanishes there and the map is a contraction (a stable fixed point) */
        if (isfinite(Fb) && fabs(Fb) <= 1e-14 * fmax(x1, 1e-300) + 1e-300) {
            double V2 = 0;
            double h = 1e-6 * x1;
            if ((st = dw_spec_V(act, x1 + h, &V2, NULL))) return st;
            double slope = sw2 * (V2 - V) / h;
            if (fabs(slope) < 1) {
                *qstar = x1;
                return DW_OK;
            }
        }
    }
    return dw_fail(DW_ERR_RANGE, "no fixed point found for %s with weight variance %g and bias variance %g (the "
                   "iteration did not settle near q = %g)", act->name, sw2, sb2, q);
}

void dw_spec_law_clear(dw_d2_law *law)
{
    if (!law) return;
    free(law->d2);
    free(law->w);
    law->d2 = law->w = NULL;
    law->n = 0;
}

/* Gauss-Legendre on [-1, 1], m points. */
#define GL_M 16
static void gl_rule(double *x, double *w)
{
    for (int i = 0; i < GL_M; i++) {
        double z = cos(M_PI * (i + 0.75) / (GL_M + 0.5)), dp = 0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;
            for (int k = 2; k <= GL_M; k++) {
                double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = GL_M * (z * p1 - p0) / (z * z - 1);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        x[i] = z;
        w[i] = 2 / ((1 - z * z) * dp * dp);
    }
}

static dw_status law_alloc(dw_d2_law *law, int n)
{
    law->d2 = dw_alloc((size_t)n, sizeof(double), "law of phi'^2");
    law->w = dw_alloc((size_t)n, sizeof(double), "law of phi'^2");
    if (!law->d2 || !law->w) {
        dw_spec_law_clear(law);
        return DW_ERR_NOMEM;
    }
    law->n = n;
    return DW_OK;
}

/* At most this many panels per half line (2 x 32768 x 16 = 1M atoms, 24 MB while built): the width
 * min(1, 1/sqrt q) would otherwise grow without bound with q (a polynomial network reaches q = 1e11 in 3 layers). */
#define LAW_MAX_PANELS 32768

/* Composite Gauss-Legendre rule on both half lines, panel width hp (at least zmax / LAW_MAX_PANELS; *capped set
 * when that floor applied), |z| <= zmax: nodes d2, weights w. */
static dw_status quad_law(const dw_act *act, double q, double hp, double zmax, dw_d2_law *law, int *capped)
{
    double gx[GL_M], gw[GL_M];
    gl_rule(gx, gw);
    if (capped) *capped = 0;
    if (!(zmax / hp <= LAW_MAX_PANELS)) {
        hp = zmax / LAW_MAX_PANELS;
        if (capped) *capped = 1;
    }
    int np = (int)ceil(zmax / hp);
    hp = zmax / np;
    int n = 2 * np * GL_M;
    dw_status st = law_alloc(law, n);
    if (st) return st;
    double *z = dw_alloc((size_t)n, sizeof(double), "quadrature nodes");
    if (!z) {
        dw_spec_law_clear(law);
        return DW_ERR_NOMEM;
    }
    const double c = 1.0 / sqrt(2 * M_PI), sq = sqrt(q);
    int k = 0;
    for (int side = 0; side < 2; side++)
        for (int p = 0; p < np; p++)
            for (int i = 0; i < GL_M; i++) {
                double zz = hp * (p + 0.5 * (gx[i] + 1.0));
                law->w[k] = 0.5 * hp * gw[i] * c * exp(-0.5 * zz * zz);
                z[k++] = (side ? -zz : zz) * sq;
            }
    st = dw_act_eval(act, (size_t)n, z, NULL, law->d2);
    free(z);
    if (st) {
        dw_spec_law_clear(law);
        return st;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(law->d2[i])) {
            dw_spec_law_clear(law);
            return dw_fail(DW_ERR_RANGE, "phi' of %s is not finite at z = %g (variance q = %g)", act->name,
                           (i < n / 2 ? 1 : -1) * 1.0, q);
        }
        law->d2[i] *= law->d2[i];
    }
    return DW_OK;
}

static void law_moments(const dw_d2_law *law, int K, double *mu, double *tail)
{
    for (int j = 0; j < K; j++) mu[j] = 0;
    if (tail) *tail = 0;
    int half = law->n / 2, per = 0;
    if (tail) per = half; /* quadrature: the last panel of each side is the last GL_M nodes of each half */
    for (int i = 0; i < law->n; i++) {
        double p = law->w[i];
        for (int j = 0; j < K; j++) {
            p *= law->d2[i];
            mu[j] += p;
        }
        if (tail && ((i >= per - GL_M && i < per) || i >= law->n - GL_M)) *tail = fmax(*tail, p);
    }
}

/* Merge mirrored nodes with equal d2 (even phi'^2), drop zero weights. */
static void law_compress(dw_d2_law *law)
{
    int half = law->n / 2, sym = 1;
    for (int i = 0; i < half && sym; i++) sym = law->d2[i] == law->d2[half + i];
    int k = 0;
    if (sym) {
        for (int i = 0; i < half; i++) law->w[i] *= 2;
        law->n = half;
    }
    for (int i = 0; i < law->n; i++)
        if (law->w[i] > 0) {
            law->d2[k] = law->d2[i];
            law->w[k++] = law->w[i];
        }
    law->n = k;
}

dw_status dw_spec_law(const dw_act *act, double q, int K, dw_d2_law *law, double *mu, double *err)
{
    memset(law, 0, sizeof *law);
    law->q = q;
    *err = 0;
    dw_status st;
    double c0 = -1, a = 0, b = 0; /* exact laws: constant c0, or the relu family {alpha^2, 1} */
    if (act->fam == DW_FAM_IDENTITY) c0 = 1;
    if (act->fam == DW_FAM_STEP) c0 = 0;
    if (act->fam == DW_FAM_POLY && act->deg <= 1) c0 = act->deg == 1 ? act->coef[1] * act->coef[1] : 0;
    if (act->fam == DW_FAM_RELU) {
        a = act->alpha * act->alpha;
        b = 1;
        if (a == b) c0 = 1;
    }
    if (c0 >= 0 || act->fam == DW_FAM_RELU) {
        int n = c0 >= 0 ? 1 : 2;
        if ((st = law_alloc(law, n))) return st;
        law->exact = 1;
        if (n == 1) {
            law->d2[0] = c0;
            law->w[0] = 1;
        } else {
            law->d2[0] = a;
            law->d2[1] = b;
            law->w[0] = law->w[1] = 0.5;
        }
        law_moments(law, K, mu, NULL);
    } else {
        /* The rule is chosen from mu_1..mu_Kc, Kc = max(K, 8), so that it (and the density built on it) does
         * not depend on K <= 8; orders above K only steer the choice where they are finite. */
        const int Kc = K > 8 ? K : 8;
        double hp = fmin(1.0, 1.0 / sqrt(fmax(q, 1e-300))), zmax = 12;
        double *mu1 = dw_alloc((size_t)Kc, sizeof(double), "moments");
        double *mu2 = dw_alloc((size_t)Kc, sizeof(double), "moments");
        if (!mu1 || !mu2) {
            free(mu1);
            free(mu2);
            return DW_ERR_NOMEM;
        }
        dw_d2_law coarse;
        memset(&coarse, 0, sizeof coarse);
        int capped = 0;
        for (;;) {
            if ((st = quad_law(act, q, hp, zmax, law, &capped))) break;
            int bad = -1, top = Kc;
            double tail;
            law_moments(law, Kc, mu1, NULL);
            for (int j = 0; j < Kc; j++)
                if (!isfinite(mu1[j])) {
                    if (j < K) bad = j;
                    top = j;
                    break;
                }
            if (bad >= 0) {
                st = dw_fail(DW_ERR_RANGE, "mu_%d = E[phi'(sqrt(q) Z)^%d] of %s overflows at variance q = %g", bad + 1,
                             2 * (bad + 1), act->name, q);
                break;
            }
            law_moments(law, top, mu1, &tail);
            if (tail > 1e-18 * mu1[top - 1]) {
                if (zmax >= 48) {
                    if (top > K) {
                        top = K; /* the extra orders are not resolved: decide on 1..K alone */
                        law_moments(law, top, mu1, &tail);
                    }
                    if (tail > 1e-18 * mu1[top - 1]) {
                        st = dw_fail(DW_ERR_RANGE, "the moments E[phi'(sqrt(q) Z)^(2j)] of %s diverge (or are not "
                                     "resolved on |Z| <= 48) at variance q = %g (j = %d)", act->name, q, top);
                        break;
                    }
                } else {
                    dw_spec_law_clear(law);
                    zmax *= 2;
                    continue;
                }
            }
            /* error estimate: the same with panels twice as wide */
            if ((st = quad_law(act, q, 2 * hp, zmax, &coarse, NULL))) break;
            law_moments(&coarse, top, mu2, NULL);
            dw_spec_law_clear(&coarse);
            /* The coarse rule's error is about |fine - coarse| = rel |mu|; the fine rule (half the panel width, 16
             * points per panel) converges geometrically, its error about rel^2 |mu| (rounding 1e-16 |mu| added).
             * Refine while the coarse rule is off by more than 1e-7 (kinks away from 0 converge algebraically
             * and end on the panel-width floor, with the coarse-fine difference as their estimate). */
            double e = 0, rel = 0;
            for (int j = 0; j < top; j++) rel = fmax(rel, fabs(mu1[j] - mu2[j]) / fmax(fabs(mu1[j]), 1e-300));
            const int floor_hit = hp < 1e-3 / sqrt(fmax(q, 1e-300)) || capped;
            for (int j = 0; j < top && j < K; j++) {
                double d = fabs(mu1[j] - mu2[j]);
                e = fmax(e, (floor_hit && rel > 1e-7 ? d : d * rel) + 1e-16 * fabs(mu1[j]));
            }
            *err = e;
            if (rel <= 1e-7 || floor_hit) break;
            dw_spec_law_clear(law);
            hp *= 0.25;
        }
        if (!st) memcpy(mu, mu1, sizeof(double) * (size_t)K);
        free(mu1);
        free(mu2);
        if (st) {
            dw_spec_law_clear(law);
            return st;
        }
        law_compress(law);
        /* exact zero derivative on a set of positive measure (e.g. a flat piece) */
    }
    law->atom0 = 0;
    law->dmax = 0;
    for (int i = 0; i < law->n; i++) {
        if (law->d2[i] == 0) law->atom0 += law->w[i];
        law->dmax = fmax(law->dmax, law->d2[i]);
    }
    if (law->exact == 0 && law->atom0 < 1e-12) law->atom0 = 0;
    return DW_OK;
}

int dw_spec_closed_mu(const dw_act *act, double q, int K, double *mu)
{
    switch (act->fam) {
    case DW_FAM_ERF: /* phi'^2j = (4/pi)^j exp(-2j z^2): E = (4/pi)^j / sqrt(1 + 4 j q) */
        for (int j = 1; j <= K; j++) mu[j - 1] = pow(4 / M_PI, j) / sqrt(1 + 4.0 * j * q);
        return 1;
    case DW_FAM_SIN: /* cos^2j x = 4^-j sum_m C(2j, m) cos((2j - 2m) x), E cos(a Z) = exp(-a^2/2): positive terms */
        for (int j = 1; j <= K; j++) {
            double sum = 0, bin = 1;
            for (int m = 0; m <= 2 * j; m++) {
                const double a = 2.0 * j - 2.0 * m;
                sum += bin * exp(-0.5 * a * a * q);
                bin = bin * (2 * j - m) / (m + 1);
            }
            mu[j - 1] = sum / pow(4, j);
        }
        return 1;
    case DW_FAM_EXP: /* E exp(2 j sqrt(q) Z) = exp(2 j^2 q) */
        for (int j = 1; j <= K; j++) mu[j - 1] = exp(2.0 * j * j * q);
        return 1;
    default:
        return 0;
    }
}

dw_status dw_spec_laws(const dw_spectrum *s, dw_d2_law **laws)
{
    if (!s->law_lazy) {
        *laws = s->law;
        return DW_OK;
    }
    dw_d2_law *l = dw_calloc((size_t)s->ng, sizeof(dw_d2_law), "laws of phi'^2");
    if (!l) return DW_ERR_NOMEM;
    double mu[8], err;
    for (int g = 0; g < s->ng; g++) {
        dw_status st = dw_spec_law(s->act, s->gq[g], 8, &l[g], mu, &err);
        if (st) {
            for (int h = 0; h < g; h++) dw_spec_law_clear(&l[h]);
            free(l);
            return st;
        }
    }
    *laws = l;
    return DW_OK;
}

void dw_spec_laws_free(const dw_spectrum *s, dw_d2_law *laws)
{
    if (!laws || !s->law_lazy) return;
    for (int g = 0; g < s->ng; g++) dw_spec_law_clear(&laws[g]);
    free(laws);
}
