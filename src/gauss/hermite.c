/* Hermite coefficients, Parseval tails and the Mehler series (theory.md 1.5 (b)); the generic dual driver. */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_hermite_coeffs(const dw_gh_rule *r, dw_fn f, const void *ctx, double q, int K, double *a, double *b,
                            double *e2, double *ed2, double *drop)
{
    if (!r || !f || !a || !e2 || K < 0 || K >= r->n || !(q > 0) || !isfinite(q))
        return dw_fail(DW_ERR_INVALID, "hermite coefficients: invalid arguments (K = %d, q = %g)", K, q);
    if (K > DW_HERMITE_KMAX + 1)
        return dw_fail(DW_ERR_INVALID, "hermite coefficients: K = %d exceeds %d", K, DW_HERMITE_KMAX + 1);
    int want_d = b != NULL || ed2 != NULL;
    double sq = sqrt(q), s2 = 0, sd2 = 0;
    double rk[DW_HERMITE_KMAX + 2], rk1[DW_HERMITE_KMAX + 2]; /* sqrt(k), 1 / sqrt(k+1) */
    for (int k = 0; k <= K; k++) rk[k] = sqrt((double)k), rk1[k] = 1.0 / sqrt((double)(k + 1));
    for (int k = 0; k <= K; k++) {
        a[k] = 0;
        if (b) b[k] = 0;
    }
    /* First phi at every node: E phi^2 sets the scale below which a node's terms are dropped (|u_k| <= 1, so
     * a dropped node changes each coefficient by at most sw |phi|; their sum is added to every coefficient's
     * error through *drop). This skips the far tails of the rule for bounded or slowly growing phi. */
    double *pv = malloc(6 * (size_t)r->n * sizeof(double));
    if (!pv) return dw_fail(DW_ERR_NOMEM, "out of memory (Hermite coefficients)");
    double *dv = pv + r->n, *xs = dv + r->n, *u0 = xs + r->n, *u1 = u0 + r->n, *u2 = u1 + r->n;
    for (int i = 0; i < r->n; i++) {
        double sw = r->sw[i], d = 0.0;
        if (r->x[i] == 0.0 && sw != 0.0) {
            /* at a jump the trapezoidal rule needs the mean of the one-sided values of the integrand: phi and
             * phi' themselves for the coefficients, but for the squares (phi(0+)^2 + phi(0-)^2)/2, not the
             * square of the mean (relu': 1/2, not 1/4) */
            double s[2], ds[2];
            dw_eval_sides(f, ctx, s, ds);
            pv[i] = sw * 0.5 * (s[0] + s[1]);
            dv[i] = want_d ? sw * 0.5 * (ds[0] + ds[1]) : 0.0;
            s2 += 0.5 * sw * sw * (s[0] * s[0] + s[1] * s[1]);
            if (want_d) sd2 += 0.5 * sw * sw * (ds[0] * ds[0] + ds[1] * ds[1]);
            continue;
        }
        pv[i] = sw == 0.0 ? 0.0 : sw * f(sq * r->x[i], want_d ? &d : NULL, ctx);
        dv[i] = sw * d;
        s2 += pv[i] * pv[i];
        sd2 += dv[i] * dv[i];
    }
    const double cut = 1e-20 * sqrt(s2), cutd = 1e-20 * sqrt(sd2);
    double dropped = 0.0, dropped_d = 0.0;
    int m = 0; /* the nodes kept, compacted: x, sqrt(w) phi, sqrt(w) phi', and u_0 = sqrt(w), u_1 = x sqrt(w) */
    for (int i = 0; i < r->n; i++) {
        double sw = r->sw[i], wp = pv[i], wd = dv[i];
        if (sw == 0.0) continue;
        if (fabs(wp) <= cut && (!want_d || fabs(wd) <= cutd)) {
            dropped += fabs(wp);
            dropped_d += fabs(wd);
            continue;
        }
        xs[m] = r->x[i];
        pv[m] = wp;
        dv[m] = wd;
        u0[m] = sw;
        u1[m] = r->x[i] * sw;
        m++;
    }
    /* k outermost, nodes innermost: the recurrence u_k = sqrt(w) h_k(x) (|u_k| <= 1 for k < n,
     * x h_k = sqrt(k+1) h_{k+1} + sqrt(k) h_{k-1}) is elementwise over nodes, the sums are dot products with
     * four partial sums (a fixed order, so results do not depend on anything but the rule). */
    for (int k = 0; k <= K; k++) {
        const double *uk = k == 0 ? u0 : u1;
        double sa[4] = {0, 0, 0, 0}, sb[4] = {0, 0, 0, 0};
        int i = 0;
        for (; i + 4 <= m; i += 4)
            for (int t = 0; t < 4; t++) {
                sa[t] += pv[i + t] * uk[i + t];
                sb[t] += dv[i + t] * uk[i + t];
            }
        for (; i < m; i++) {
            sa[0] += pv[i] * uk[i];
            sb[0] += dv[i] * uk[i];
        }
        a[k] = (sa[0] + sa[1]) + (sa[2] + sa[3]);
        if (b) b[k] = (sb[0] + sb[1]) + (sb[2] + sb[3]);
        if (k == 0 || k == K) continue;
        const double c0 = rk[k], c1 = rk1[k];
        for (int j = 0; j < m; j++) u2[j] = (xs[j] * u1[j] - c0 * u0[j]) * c1;
        double *tmp = u0;
        u0 = u1;
        u1 = u2;
        u2 = tmp;
    }
    free(pv);
    if (drop) {
        drop[0] = dropped;
        drop[1] = dropped_d;
    }
    int finite = isfinite(s2) && (!want_d || isfinite(sd2));
    for (int k = 0; k <= K && finite; k++) finite = isfinite(a[k]) && (!b || isfinite(b[k]));
    if (!finite)
        return dw_fail(DW_ERR_RANGE, "E[phi(sqrt(q) Z)^2] is not finite at variance q = %g (overflow in a %d-node "
                                     "quadrature rule)", q, r->n);
    *e2 = s2;
    if (ed2) *ed2 = sd2;
    return DW_OK;
}

dw_status dw_hermite_expand(dw_fn f, const void *ctx, double q, int K, dw_hermite *h)
{
    if (!f || !h || K < 0 || K > DW_GAUSS_K || K > DW_HERMITE_KMAX || !(q > 0) || !isfinite(q))
        return dw_fail(DW_ERR_INVALID, "hermite expansion: invalid arguments (K = %d, q = %g)", K, q);
    const dw_gh_rule *r[3];
    dw_status st = dw_gauss_rules(r);
    if (st != DW_OK) return st;
    enum { M = DW_HERMITE_KMAX + 2 };
    double ta[3][M], tb[3][M], te2[3], ted2[3], drop[3][2], dropa = 0.0;
    for (int i = 0; i < 3; i++) {
        if ((st = dw_hermite_coeffs(r[i], f, ctx, q, K + 1, ta[i], tb[i], &te2[i], &ted2[i], drop[i])) != DW_OK)
            return st;
        dropa = fmax(dropa, drop[i][0]);
    }
    /* Divergence: the integrand phi^2 exp(-x^2/2) must be negligible at the ends of the rule. */
    const dw_gh_rule *r0 = r[0];
    double xe = r0->x[r0->n - 1], edge = -INFINITY;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double p = f(sgn * sqrt(q) * xe, NULL, ctx);
        double l = 2 * log(fabs(p)) + r0->logw[r0->n - 1];
        if (!(l < 0) && !(l >= 0)) l = INFINITY; /* NaN */
        edge = fmax(edge, l);
    }
    if (!isfinite(te2[2]) || edge > log(1e-30 * te2[2]) || fabs(te2[2] - te2[1]) > 1e-3 * fabs(te2[2]))
        return dw_fail(DW_ERR_RANGE,
                       "E[phi(sqrt(q) Z)^2] does not converge at variance q = %g (trapezoidal rules give %g and %g; "
                       "integrand at |z| = %g: exp(%g))",
                       q, te2[1], te2[2], sqrt(q) * xe, edge);
    const double eps = DBL_EPSILON;
    double sq = sqrt(q), nn = sqrt((double)r[2]->n);
    /* Richardson: R1 from (h, h/2), R2 from (h/2, h/4), R = (16 R2 - R1) / 15; error 2 |R - R2|. */
#define RICH(t, R, E) ((R) = dw_extrap3((t), &(E)))
    double e2, de2, ed2, ded2, t3[3];
    for (int i = 0; i < 3; i++) t3[i] = te2[i];
    RICH(t3, e2, de2);
    for (int i = 0; i < 3; i++) t3[i] = ted2[i];
    RICH(t3, ed2, ded2);
    double rf = 8 * eps * nn * sqrt(fabs(e2)) + dropa;
    de2 += 8 * eps * nn * fabs(e2);
    ded2 += 8 * eps * nn * fabs(ed2);
    double a[M], da[M];
    for (int k = 0; k <= K + 1; k++) {
        double t[3] = {ta[0][k], ta[1][k], ta[2][k]};
        RICH(t, a[k], da[k]);
        da[k] += rf;
    }
    h->rough = fabs(te2[2] - te2[1]) > fmax(fabs(te2[1] - te2[0]) / 64, 1e-13 * fabs(te2[2])) ||
               fabs(ted2[2] - ted2[1]) > fmax(fabs(ted2[1] - ted2[0]) / 64, 1e-13 * fabs(ted2[2]));
    h->q = q;
    h->K = K;
    h->e2 = e2;
    h->ed2 = ed2;
    h->e2_err = de2;
    h->ed2_err = ded2;
    h->coef_err = 0;
    h->unif = rf;
    h->stein = 0;
    double sa = 0, sb = 0, ea = 0, eb = 0;
    for (int k = 0; k <= K; k++) {
        double t[3] = {tb[0][k], tb[1][k], tb[2][k]}, bdir, ebdir;
        RICH(t, bdir, ebdir);
        (void)ebdir;
        double c = sqrt((double)(k + 1));
        h->a[k] = a[k];
        h->da[k] = da[k];
        h->b[k] = c * a[k + 1] / sq;
        h->db[k] = c * da[k + 1] / sq;
        double stein = fabs(c * a[k + 1] - sq * bdir);
        if (stein > h->stein) h->stein = stein;
        if (h->da[k] > h->coef_err) h->coef_err = h->da[k];
        sa += a[k] * a[k];
        sb += h->b[k] * h->b[k];
        ea += 2 * fabs(a[k]) * h->da[k] + h->da[k] * h->da[k];
        eb += 2 * fabs(h->b[k]) * h->db[k] + h->db[k] * h->db[k];
    }
#undef RICH
    /* Parseval: sum_{k>K} a_k^2 = E phi^2 - sum_{k<=K} a_k^2, with the errors of every piece added. */
    h->tail_a = fmax(e2 - sa, 0.0) + de2 + ea + 4 * eps * (K + 2) * fabs(e2);
    h->tail_b = fmax(ed2 - sb, 0.0) + ded2 + eb + 4 * eps * (K + 2) * fabs(ed2);
    return DW_OK;
}

dw_status dw_mehler(const double *ka, const double *kb, int K, double rho, double tail_a, double tail_b, double *value,
                    double *bound)
{
    if (!ka || !kb || !value || !bound || K < 0 || !(fabs(rho) <= 1.0) || !(tail_a >= 0) || !(tail_b >= 0))
        return dw_fail(DW_ERR_INVALID, "mehler series: invalid arguments (K = %d, rho = %g)", K, rho);
    double s = 0, sabs = 0, p = 1;
    for (int k = 0; k <= K; k++) {
        double t = ka[k] * kb[k] * p;
        s += t;
        sabs += fabs(t);
        p *= rho;
    }
    *value = s;
    *bound = fabs(p) * sqrt(tail_a * tail_b) + 2 * DBL_EPSILON * (K + 1) * sabs;
    return DW_OK;
}

/* sum_k |rho|^k (da_k |b_k| + db_k |a_k| + da_k db_k): the effect of the coefficients' errors on the series. */
double dw_hermite_coef_term(const double *a, const double *da, const double *b, const double *db, int K, double rho)
{
    double s = 0, p = 1, r = fabs(rho);
    for (int k = 0; k <= K; k++) {
        s += p * (da[k] * fabs(b[k]) + db[k] * fabs(a[k]) + da[k] * db[k]);
        p *= r;
    }
    return s;
}

dw_status dw_dual_generic(dw_fn f, const void *ctx, double a, double b, double c, double target, double *V,
                          double *Vd, double *bound, double *bound_d, double *scale, double *scale_d,
                          const char **route)
{
    if (!f || !V || !bound)
        return dw_fail(DW_ERR_INVALID, "dual: NULL argument");
    if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b) || !isfinite(c))
        return dw_fail(DW_ERR_INVALID, "dual: variances must be positive and finite (a = %g, b = %g, c = %g)", a, b, c);
    if (!(target > 0)) return dw_fail(DW_ERR_INVALID, "dual: target = %g must be positive", target);
    if (fabs(c / sqrt(a * b)) > 1 + 1e-12)
        return dw_fail(DW_ERR_INVALID, "dual: |c| = %g exceeds sqrt(ab) = %g", fabs(c), sqrt(a * b));
    double rho, srho;
    dw_corr(a, b, c, &rho, &srho);
    dw_status st;
    static _Thread_local dw_hermite ha_store, hb_store; /* 33 KB: off the stack */
    dw_hermite *ha = &ha_store, *hb = &hb_store;
    const int K = DW_GAUSS_K;
    st = dw_hermite_expand_smooth(f, ctx, a, K, ha);
    if (st != DW_OK) return st;
    if (b == a)
        hb = ha;
    else if ((st = dw_hermite_expand_smooth(f, ctx, b, K, hb)) != DW_OK)
        return st;

    double sc = sqrt(ha->e2 * hb->e2), scd = sqrt(ha->ed2 * hb->ed2);
    double vs, bs, vds = 0, bds = 0;
    dw_mehler(ha->a, hb->a, K, rho, ha->tail_a, hb->tail_a, &vs, &bs);
    bs += dw_hermite_coef_term(ha->a, ha->da, hb->a, hb->da, K, rho);
    if (Vd) {
        dw_mehler(ha->b, hb->b, K, rho, ha->tail_b, hb->tail_b, &vds, &bds);
        bds += dw_hermite_coef_term(ha->b, ha->db, hb->b, hb->db, K, rho);
    }
    int src_v = 0, src_d = 0; /* 0 hermite, 1 quadrature-2d, 2 quadrature-polar */
    int rough = ha->rough || hb->rough;
    for (int step = 0; step < 2; step++) {
        int route_k = (step == 0) == !rough ? 1 : 2; /* smooth: conditional first; rough: polar first */
        int ok_v = bs <= target * fmax(fabs(vs), sc);
        int ok_d = !Vd || bds <= target * fmax(fabs(vds), scd);
        if (ok_v && ok_d) break;
        double vq, evq, vdq = 0, edq = INFINITY;
        if (route_k == 1)
            st = dw_dual_quad_both(f, ctx, a, b, rho, srho, &vq, &evq, Vd ? &vdq : NULL, Vd ? &edq : NULL);
        else
            st = dw_dual_quad_polar(f, ctx, a, b, rho, srho, &vq, &evq, Vd ? &vdq : NULL, Vd ? &edq : NULL);
        if (st != DW_OK) return st;
        if (evq < bs) {
            vs = vq;
            bs = evq;
            src_v = route_k;
        }
        if (Vd && edq < bds) {
            vds = vdq;
            bds = edq;
            src_d = route_k;
        }
    }
    *V = vs;
    *bound = bs;
    if (Vd) *Vd = vds;
    if (bound_d) *bound_d = Vd ? bds : 0.0;
    if (scale) *scale = sc;
    if (scale_d) *scale_d = scd;
    if (route) {
        static const char *const names[3][3] = {
            {"hermite", "hermite+quadrature-2d", "hermite+quadrature-polar"},
            {"quadrature-2d+hermite", "quadrature-2d", "quadrature-2d+quadrature-polar"},
            {"quadrature-polar+hermite", "quadrature-polar+quadrature-2d", "quadrature-polar"}};
        *route = names[src_v][Vd ? src_d : src_v];
    }
    return DW_OK;
}
