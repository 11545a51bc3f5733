/* One pair of inputs through every layer with the relu family's closed-form moments, and the running error bound
 * of its outputs (theory.md 1.6, pitfall 1). The angle of each layer is carried from the pair's distance
 * K_xx + K_yy - 2 K_xy, updated without cancellation, so that nearly parallel and nearly opposite pairs keep it to
 * a few ulps. Compiled in double and, by quad.c, in __float128 for the pairs whose double bound is too large. */
#include "finite/finite.h"

#include <float.h>
#include <math.h>

#include "finite/real_cfg.h"

/* sin t - t cos t = sum_k>=1 (-1)^(k+1) 2k t^(2k+1) / (2k+1)!, by its series below t = 1 (no cancellation) */
static REAL DW_FW_T(sin_minus)(REAL t)
{
    if (t > 1) return FN(sin)(t) - t * FN(cos)(t);
    REAL term = t, sum = 0, t2 = t * t; /* term = t^(2k+1) / (2k+1)! */
    for (int k = 1; k < 40; k++) {
        term *= t2 / ((2 * k) * (2 * k + 1));
        REAL add = 2 * k * term;
        sum += (k & 1) ? add : -add;
        if (add < EPS * sum) break;
    }
    return sum;
}

/* the angle from the variances and the distance: 2 asin(sin(theta / 2)) near 0, acos of the correlation else */
static REAL DW_FW_T(pair_angle)(REAL a, REAL b, REAL c, REAL dist)
{
    REAL sa = FN(sqrt)(a), sb = FN(sqrt)(b);
    REAL s2 = (dist - (sa - sb) * (sa - sb)) / (4 * sa * sb); /* sin^2(theta / 2) */
    if (s2 > RC(0.5)) {
        REAL r = c / (sa * sb);
        return FN(acos)(r < -1 ? -1 : r > 1 ? 1 : r);
    }
    return 2 * FN(asin)(FN(sqrt)(s2 > 0 ? s2 : 0));
}

dw_status DW_FW_T(dw_fw_relu_pair)(double alpha, double lam, int L, const dw_fw_layer *lay, const double *x,
                                   const double *y, size_t d, double out[], double *rel, double *angle, int *layer)
{
    DW_FW_T(dw_fw_state) s, e; /* e: the running error bound */
    DW_FW_T(dw_fw_prim) P;
    DW_FW_T(dw_fw_state_init)(&s, 2, x, y, d, &lay[0]);
    e = s;
    REAL *v = &e.K[0][0];
    for (size_t k = 0; k < DW_FW_STATE_N; k++) v[k] = FN(fabs)(v[k]) * (REAL)(d + 2) * EPS; /* the inputs' dot products */
    *angle = 4.0;
    *layer = 0;
    double angle_err = 0.0;
    for (int l = 1; l <= L; l++) {
        const REAL a = s.K[0][0], b = s.K[1][1], c = s.K[0][1], th = DW_FW_T(pair_angle)(a, b, c, s.dist);
        const double dth = (double)(th < RC(1.5707963267948966) ? th : RC(3.141592653589793238462643383279502884) - th);
        if (l > 1 && dth < *angle) *angle = dth, *layer = l;
        DW_FW_T(dw_fw_relu) R = {.alpha = alpha, .lam = lam, .a = a, .b = b, .c = c, .m = 2, .theta = th};
        dw_status st = DW_FW_T(dw_fw_relu_prepare)(&R, l > 1);
        if (!st) st = DW_FW_T(dw_fw_prim_fill)(2, l > 1, DW_FW_T(dw_fw_relu_moment), &R, &P, NULL);
        if (st) return st;
        /* the distance of the next layer, E[(phi(u) - phi(v))^2] without cancellation */
        const REAL al = alpha, D = s.dist;
        const REAL ed = al * al * D +
                        (1 - al) * (1 - al) * (RC(0.5) * D - FN(sqrt)(a * b) * DW_FW_T(sin_minus)(th) /
                                                                   RC(3.141592653589793238462643383279502884)) +
                        al * (1 - al) * D;
        /* the angle's error, from sin^2(theta / 2) = (dist - (sqrt a - sqrt b)^2) / (4 sqrt(ab)) with dist carried
         * to about 8 ulps per layer: a consistent perturbation of the pair (the moments of a slightly different
         * Sigma), so it moves the outputs by their derivative in the angle (bounded: the corrections have a cusp,
         * not a pole, at theta = 0), not by the contraction's amplification of independent errors */
        const REAL sq = FN(sqrt)(a * b), dsa = FN(sqrt)(a) - FN(sqrt)(b), sn = R.sinth > 0 ? R.sinth : 1;
        const REAL ds2 = 8 * l * EPS * (s.dist + dsa * dsa) / (4 * sq), h = FN(sin)(RC(0.5) * th), s2 = h * h;
        /* theta = 2 asin(sqrt(s2)) moves by 2 (sqrt(s2 + ds2) - sqrt(s2)) / cos(theta / 2): about ds2 / sqrt(s2) but
         * at most 2 sqrt(ds2), also where the angle rounds to 0 (unequal norms: dist and (sqrt a - sqrt b)^2 cancel) */
        const REAL dth_err =
            (th < RC(1.5707963267948966) ? 2 * ds2 / ((FN(sqrt)(s2 + ds2) + h) * FN(cos)(RC(0.5) * th)) : 2 * ds2 / sn) +
            4 * EPS * th;
        if ((double)dth_err > angle_err) angle_err = (double)dth_err;
        const REAL prel = 32 * EPS;
        DW_FW_T(dw_fw_state_bound_step)(&e, &s, &P, prel, NULL, &lay[l]);
        DW_FW_T(dw_fw_state_step)(&s, &P, &lay[l]);
        s.dist = lay[l].cw * (REAL)lam * lam * ed;
    }
    REAL o[DW_FW_COUNT];
    DW_FW_T(dw_fw_state_outputs)(&s, o);
    for (int k = 0; k < DW_FW_COUNT; k++) out[k] = (double)o[k];
    /* the outputs move by at most about their scale times the angle's change (measured: Theta1 ~ 0.6 theta Theta
     * near parallel relu pairs); 100 is the margin */
    *rel = DW_FW_T(dw_fw_state_rel_bound)(&s, &e) + 100 * angle_err;
    return DW_OK;
}
