/* The moments E[F^(nx)(u) G^(ny)(v)] by the Mehler series (theory.md 1.5 (b), 1.6): Hermite coefficients of the
 * products F_ij = phi^i phi'^j at each point's variance, derivatives by Stein's shift
 * E[F^(n)(sqrt(q) Z) h_k(Z)] = sqrt((k+1)...(k+n)) F_{k+n}(q) / q^(n/2), so no derivative of phi beyond the first
 * is ever evaluated (the derivative-free form, which is what kinked activations need). */
#include "finite/finite.h"

#include <float.h>
#include <math.h>

typedef struct prod_ctx {
    const dw_act *act;
    int i, j;
} prod_ctx;

/* F_ij(z); its derivative is not needed by the coefficients (the expansion's self-check then reads 0). */
static double prod_fn(double z, double *dphi, const void *vctx)
{
    const prod_ctx *p = vctx;
    double f, d;
    if (p->act->fam == DW_FAM_GENERIC || p->act->fam == DW_FAM_GELU)
        f = dw_act_fn(z, &d, p->act);
    else
        dw_act_eval(p->act, 1, &z, &f, &d);
    double v = 1.0;
    for (int k = 0; k < p->i; k++) v *= f;
    for (int k = 0; k < p->j; k++) v *= d;
    if (dphi) *dphi = 0.0;
    return v;
}

dw_status dw_fw_coefs_compute(const dw_act *act, double q, dw_fw_coefs *c)
{
    static _Thread_local dw_hermite h; /* 8 KB: off the stack */
    c->q = q;
    c->K = DW_FW_K;
    for (int i = 0; i <= DW_FW_POW; i++)
        for (int j = 0; i + j <= DW_FW_POW; j++) {
            int f = dw_fw_fidx(i, j);
            if (i + j == 0) {
                for (int k = 0; k <= DW_FW_K + 4; k++) c->c[f][k] = k == 0;
                c->err[f] = 0.0;
                continue;
            }
            prod_ctx p = {act, i, j};
            dw_status st;
            if (act->fam == DW_FAM_GENERIC && act->nkinks > 0)
                st = dw_hermite_expand_pw(prod_fn, &p, act->kinks, act->nkinks, q, DW_FW_K + 4, &h);
            else
                st = dw_hermite_expand_smooth(prod_fn, &p, q, DW_FW_K + 4, &h);
            if (st) return st;
            double e = 0.0;
            for (int k = 0; k <= DW_FW_K + 4; k++) {
                c->c[f][k] = h.a[k];
                if (h.da[k] > e) e = h.da[k];
            }
            c->err[f] = e;
        }
    return DW_OK;
}

dw_status dw_fw_series_moment(void *vctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err)
{
    const dw_fw_series *S = vctx;
    const double *cx = S->x->c[dw_fw_fidx(ix, jx)], *cy = S->y->c[dw_fw_fidx(iy, jy)];
    const double ex = S->x->err[dw_fw_fidx(ix, jx)], ey = S->y->err[dw_fw_fidx(iy, jy)];
    const double sx = pow(S->x->q, -0.5 * nx), sy = pow(S->y->q, -0.5 * ny);
    const int K = S->x->K;
    double sum = 0.0, sabs = 0.0, serr = 0.0, p = 1.0, last = 0.0; /* last: max |term| over the last 8 */
    for (int k = 0; k <= K; k++) {
        double w = 1.0;
        for (int t = 1; t <= nx; t++) w *= (double)(k + t);
        for (int t = 1; t <= ny; t++) w *= (double)(k + t);
        w = sqrt(w);
        double u = cx[k + nx], v = cy[k + ny];
        double t = w * u * v * p;
        sum += t;
        sabs += fabs(t);
        serr += w * fabs(p) * (ex * fabs(v) + ey * fabs(u) + ex * ey);
        if (k > K - 8) last = fmax(last, fabs(t));
        p *= S->rho;
    }
    sum *= sx * sy;
    /* truncation: the last terms' size carried on geometrically, at most K more of them (an estimate: the
     * coefficients of a kinked product decay algebraically, those of a smooth one faster) */
    double r = fabs(S->rho);
    double tail = last * (r < 1.0 ? fmin(r / (1.0 - r), (double)K) : (double)K);
    *value = sum;
    *err = (serr + tail + 4 * DBL_EPSILON * (K + 1) * sabs) * sx * sy;
    return DW_OK;
}
