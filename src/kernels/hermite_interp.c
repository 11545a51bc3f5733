/* Generic activations (theory.md 1.5b): the Hermite expansion of phi and phi' at one variance, and its
 * interpolation across variances (a Gram over inputs of many norms needs expansions at many variances; most of
 * them come from interpolation between a few cached nodes). hermite_cache.c decides where each comes from. */
#include "kernels/kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_kern_expand_one(const dw_act *act, double q, double *cv)
{
    double *cb = cv + DW_GAUSS_K + 1, *g = cb + DW_GAUSS_K + 1;
    memset(cv, 0, GEN_PER * sizeof(double));
    if (q == 0.0) { /* u = 0 identically: phi(0) is the only coefficient */
        double d0, p0 = dw_act_fn(0.0, &d0, act);
        cv[0] = p0;
        cb[0] = d0;
        g[0] = fabs(p0);
        g[3] = fabs(d0);
        if (isfinite(p0) && isfinite(d0)) return DW_OK;
        return dw_fail(DW_ERR_RANGE, "%s or its derivative is not finite at 0", act->name);
    }
    dw_hermite *h = malloc(sizeof *h);
    if (!h) return dw_fail(DW_ERR_NOMEM, "out of memory (Hermite expansion)");
    h->unif = 0.0;
    dw_status st = dw_act_expand(act, q, DW_GAUSS_K, h);
    if (st == DW_OK) {
        double da = 0, db = 0, ra = 0, rb = 0;
        const double ua = h->unif, ub = ua / sqrt(q);
        for (int j = 0; j <= DW_GAUSS_K; j++) {
            cv[j] = h->a[j];
            cb[j] = h->b[j];
            da += h->da[j] * h->da[j];
            db += h->db[j] * h->db[j];
            const double xa = fmax(h->da[j] - ua, 0.0), xb = fmax(h->db[j] - sqrt(j + 1.0) * ub, 0.0);
            ra += xa * xa;
            rb += xb * xb;
        }
        /* the split of the errors (ebound_series.c), a few ulps up for the rounding of the sums and roots */
        g[8] = ua;
        g[9] = sqrt(ra) * (1 + 1e-12);
        g[10] = ub * (1 + 1e-12);
        g[11] = sqrt(rb) * (1 + 1e-12);
        g[0] = sqrt(h->e2);
        g[1] = h->tail_a;
        g[2] = sqrt(da);
        g[3] = sqrt(h->ed2);
        g[4] = h->tail_b;
        g[5] = sqrt(db);
        g[6] = h->e2_err;
        g[7] = h->ed2_err;
    }
    free(h);
    return st;
}

/* Interpolation of the expansions across variances (many distinct values, e.g. inputs of different norms):
 * Chebyshev-Lobatto nodes in log q, M + 1 of them, barycentric formula. Error estimate per coefficient and
 * panel from the interpolant's last two Chebyshev coefficients, 2 (|c_{M-1}| + |c_M|) (geometric decay with
 * ratio >= 1.5 makes this exceed the truncation error 2 sum_{m > M} |c_m|), plus the nodes' own errors times
 * the Lebesgue constant (< 3 for M = 16). Two interpolants per coefficient, keeping per value the one with the
 * smaller estimate: of a_k(q) itself (right for homogeneous phi, a_k ~ sqrt(q)), and of the scaled
 * a_k(q) (q_c/q)^(k/2) (q_c the panel's centre), which for analytic phi is E[phi^(k)(sqrt(q) Z)] (q_c)^(k/2)/sqrt(k!)
 * and removes the growth q^(k/2) that a polynomial in log q cannot follow at k ~ 150 (b_k likewise). The
 * tails are then recomputed by Parseval from the interpolated values with every error added. A value whose
 * error estimate exceeds GEN_INTERP_TOL (relative to sqrt E phi^2) is expanded directly instead. */
#define GEN_INTERP_TOL 1e-13
/* Node errors enter the interpolant through the Lebesgue constant (about 2.8 for these 17 points). They are carried
 * with factor 1, not 2.8: they are dominated by the rounding allowance 8 eps sqrt(n) sqrt(E phi^2) given to every
 * coefficient, which exceeds the measured errors by orders of magnitude (with 2.8, softplus's NTK bounds cross the
 * target and a fifth of the entries go to quadrature; measured errors stay far below the bounds). With this
 * factor, and the truncation term 2 (|c_{M-1}| + |c_M|) which assumes geometric decay, an interpolated value's
 * error is an ESTIMATE, not a bound: the kernel's info says so (dw_kernel_info_estimate) whenever one was used. */
#define GEN_LEB 1.0

/* The scaled node values a_k(q_j) (q_c/q_j)^(k/2) (and b_k likewise, k restarting at 0), node j at
 * nsc[j * GEN_NC]: exp(-(t_j - t_c)/2)^k by repeated products. */
static void scale_nodes(const double *node, const double *tn, double *nsc)
{
    const double tc = 0.5 * (tn[0] + tn[GEN_M]);
    for (int j = 0; j <= GEN_M; j++) {
        const double rj = exp(-0.5 * (tn[j] - tc));
        const double *v = node + (size_t)j * GEN_PER;
        double *w = nsc + (size_t)j * GEN_NC, pj = 1.0;
        for (int k = 0; k < GEN_NC; k++) {
            if (k == DW_GAUSS_K + 1) pj = 1.0;
            w[k] = v[k] * pj;
            pj *= rj;
        }
    }
}

/* est[0..GEN_NC+1]: unscaled estimates of a_k, b_k, then E phi^2, E phi'^2; est[GEN_NC+2..]: scaled a_k, b_k.
 * nsc: the scaled node values (scale_nodes). */
void dw_kern_interp_panel(const double *node, const double *tn, double *nsc, double *est)
{
    scale_nodes(node, tn, nsc);
    double cs1[GEN_M + 1], sg[GEN_M + 1];
    for (int j = 0; j <= GEN_M; j++) {
        const double h = (j == 0 || j == GEN_M) ? 0.5 : 1.0;
        cs1[j] = h * cos(3.14159265358979323846 * (GEN_M - 1) * j / GEN_M) * 2.0 / GEN_M;
        sg[j] = h * (j % 2 ? -1.0 : 1.0) / GEN_M;
    }
    double c1[GEN_NC + 2], c0[GEN_NC + 2], s1[GEN_NC], s0[GEN_NC];
    for (int k = 0; k < GEN_NC + 2; k++) c1[k] = c0[k] = 0.0;
    for (int k = 0; k < GEN_NC; k++) s1[k] = s0[k] = 0.0;
    for (int j = 0; j <= GEN_M; j++) {
        const double *v = node + (size_t)j * GEN_PER, *w = nsc + (size_t)j * GEN_NC;
        for (int k = 0; k < GEN_NC; k++) {
            c1[k] += cs1[j] * v[k];
            c0[k] += sg[j] * v[k];
            s1[k] += cs1[j] * w[k];
            s0[k] += sg[j] * w[k];
        }
        for (int f = 0; f < 2; f++) {
            const double gv = v[GEN_NC + 3 * f], v2 = gv * gv;
            c1[GEN_NC + f] += cs1[j] * v2;
            c0[GEN_NC + f] += sg[j] * v2;
        }
    }
    for (int k = 0; k < GEN_NC + 2; k++) est[k] = 2 * (fabs(c1[k]) + fabs(c0[k]));
    for (int k = 0; k < GEN_NC; k++) est[GEN_NC + 2 + k] = 2 * (fabs(s1[k]) + fabs(s0[k]));
}

void dw_kern_interp_one(const double *node, const double *nsc, const double *tn, const double *nerr,
                        const double *est, double q, double *cv, int *ok)
{
    const double t = log(q);
    double wf[GEN_M + 1], sf = 0;
    for (int j = 0; j <= GEN_M; j++) {
        const double dt = t - tn[j];
        if (dt == 0.0) { /* a node itself */
            memcpy(cv, node + (size_t)j * GEN_PER, GEN_PER * sizeof(double));
            *ok = 1;
            return;
        }
        double w = (j % 2 ? -1.0 : 1.0) * (j == 0 || j == GEN_M ? 0.5 : 1.0) / dt;
        wf[j] = w;
        sf += w;
    }
    double *cb = cv + DW_GAUSS_K + 1, *g = cb + DW_GAUSS_K + 1;
    double sa = 0, sb = 0, ea = 0, eb = 0, da2 = 0, db2 = 0;
    double e2f = 0, ed2f = 0;
    double vf[GEN_NC], uf[GEN_NC];
    for (int k = 0; k < GEN_NC; k++) vf[k] = uf[k] = 0.0;
    for (int j = 0; j <= GEN_M; j++) { /* barycentric sums, vectorised over the coefficients */
        const double *v = node + (size_t)j * GEN_PER, *w = nsc + (size_t)j * GEN_NC, x = wf[j];
        for (int k = 0; k < GEN_NC; k++) {
            vf[k] += x * v[k];
            uf[k] += x * w[k];
        }
        e2f += x * v[GEN_NC] * v[GEN_NC];
        ed2f += x * v[GEN_NC + 3] * v[GEN_NC + 3];
    }
    const double e2 = e2f / sf, ed2 = ed2f / sf;
    const double de2 = est[GEN_NC] + GEN_LEB * nerr[2], ded2 = est[GEN_NC + 1] + GEN_LEB * nerr[3];
    const double tc = 0.5 * (tn[0] + tn[GEN_M]);
    const double rt = exp(0.5 * (t - tc)), isf = 1.0 / sf;
    double pt = 1.0;
    for (int k = 0; k < GEN_NC; k++) {
        if (k == DW_GAUSS_K + 1) pt = 1.0; /* powers of the scale factor, restarting for the b_k */
        double val = vf[k] * isf, d = est[k];
        const double ds = pt * est[GEN_NC + 2 + k];
        if (ds < d) {
            val = pt * (uf[k] * isf);
            d = ds;
        }
        pt *= rt;
        cv[k] = val;
        if (k <= DW_GAUSS_K) {
            sa += val * val;
            ea += 2 * fabs(val) * d + d * d;
            da2 += d * d;
        } else {
            sb += val * val;
            eb += 2 * fabs(val) * d + d * d;
            db2 += d * d;
        }
    }
    const double eps = 2.220446049250313e-16;
    g[0] = sqrt(fmax(e2, 0.0));
    g[3] = sqrt(fmax(ed2, 0.0));
    g[2] = sqrt(da2) + GEN_LEB * nerr[0];
    g[5] = sqrt(db2) + GEN_LEB * nerr[1];
    /* the split of the errors: the nodes' uniform parts (the largest; the b_k's at the panel's smallest variance)
     * and the interpolation's estimates with the nodes' remainders */
    g[8] = GEN_LEB * nerr[6];
    g[9] = sqrt(da2) + GEN_LEB * nerr[7];
    g[10] = GEN_LEB * nerr[8];
    g[11] = sqrt(db2) + GEN_LEB * nerr[9];
    g[6] = de2;
    g[7] = ded2;
    g[1] = fmax(e2 - sa, 0.0) + de2 + ea + GEN_LEB * nerr[4] + 4 * eps * (DW_GAUSS_K + 2) * e2;
    g[4] = fmax(ed2 - sb, 0.0) + ded2 + eb + GEN_LEB * nerr[5] + 4 * eps * (DW_GAUSS_K + 2) * ed2;
    *ok = isfinite(g[1]) && isfinite(g[4]) && sqrt(da2) <= GEN_INTERP_TOL * g[0] && sqrt(db2) <= GEN_INTERP_TOL * g[3];
}
