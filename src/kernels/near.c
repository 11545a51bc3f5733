/* Near-duplicate pairs of kinked generic activations in a tile (tile.c's generic_fix): the carried half-angle and its
 * error bound from layer to layer (the expectations in act/neardup.c; theory.md 1.5). */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>

/* A near-duplicate pair (hs, ehs: its half-angle at layer l and that one's error bound): the expectations from hs,
 * the next layer's entry, its half-angle and that one's error bound (act/neardup.c). The error of the half-angle
 * moves by first-order terms: D's own bound, dD/dhs = 2 sqrt(ab) Vd times ehs, the variances' errors through
 * |dD/da| <= sqrt(E[u^2 phi'(u)^2]) sqrt(2 D) / (2a) (Cauchy-Schwarz on dD/da = E[u phi'(u) (phi(u) - phi(v))] / (2a);
 * bound.c's PB_M is that factor times the error of a), and those of a', b' in (sqrt a' - sqrt b')^2 and sqrt(a'b').
 * The bound's angle term of the pair: J_x J_y dtheta, theta = 2 asin(sqrt(hs)). *done = 0 if the route does not
 * apply (phi with a jump: hs is then dropped). */
dw_status dw_kern_near_entry(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i, size_t jj, double th0,
                             double sc, double scd, double *c, double *th, double *hs, double *ehs, double *rb,
                             double *kink, int *done)
{
    const double ai = field(p, &p->X, l, F_A)[i], aj = field(p, &p->Y, l, F_A)[jj];
    const double h0 = *hs, e0 = *ehs;
    double V, Vd, D, bv, bd, bD;
    *done = 0;
    dw_status st = dw_act_dual_near(p->act, ai, aj, h0, p->target, sc, scd, &V, &Vd, &D, &bv, &bd, &bD);
    if (st) return st;
    if (!(D >= 0)) {
        *hs = -1.0;
        return DW_OK;
    }
    const double cn = sp->w * V + sp->beta;
    *c = cn;
    if (sp->ntk) *th = (sp->standard ? sp->fan_in * V + sp->has_bias : cn) + sp->w * Vd * th0;
    /* the next layer's half-angle: ((a' + b')/2 - c' - (sqrt a' - sqrt b')^2 / 2) / (2 sqrt(a' b')), with
     * (a' + b')/2 - c' = w D */
    const double si = field(p, &p->X, l + 1, F_SA)[i], sj = field(p, &p->Y, l + 1, F_SA)[jj];
    const double ei = field(p, &p->X, l + 1, PB_EA)[i], ej = field(p, &p->Y, l + 1, PB_EA)[jj];
    const double Mi = field(p, &p->X, l, PB_M)[i], Mj = field(p, &p->Y, l, PB_M)[jj];
    const double num = sp->w * D - 0.5 * (si - sj) * (si - sj), den = 2.0 * si * sj;
    const double dD = bD + 2.0 * sqrt(ai) * sqrt(aj) * (fabs(Vd) + bd) * e0 + (Mi + Mj) * sqrt(2.0 * D);
    const double dsum = 0.5 * (si * ei + sj * ej), hn = den > 0 ? fmin(fmax(num, 0.0) / den, 0.5) : -1.0;
    const double enum_ = sp->w * dD + fabs(si - sj) * dsum + 0.5 * dsum * dsum +
                         4 * DBL_EPSILON * (sp->w * D + (si - sj) * (si - sj));
    *hs = hn;
    *ehs = hn >= 0 ? enum_ / den + hn * (0.5 * (ei + ej) + 4 * DBL_EPSILON) : INFINITY;
    *rb = fmax(sc > 0 ? bv / sc : bv > 0 ? INFINITY : 0.0, scd > 0 ? bd / scd : bd > 0 ? INFINITY : 0.0);
    const double Ji = field(p, &p->X, l, PB_J)[i], Jj = field(p, &p->Y, l, PB_J)[jj];
    *kink = Ji * Jj * 2.01 * (sqrt(h0 + e0) - sqrt(fmax(h0 - e0, 0.0))); /* asin(x) <= 1.005 x for x^2 < 1e-2 */
    *done = 1;
    return DW_OK;
}
