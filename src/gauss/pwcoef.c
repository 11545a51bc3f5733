/* Hermite coefficients of an activation with kinks anywhere (dw_hermite_expand_pw): composite Gauss-Legendre
 * rules whose panels end exactly on the kinks k / sqrt(q), so that every panel's integrand is analytic and the
 * rules converge geometrically (the trapezoidal rules of dw_hermite_expand are exact only for kinks at 0). Same
 * output as dw_hermite_expand: a_k from the 24-point rule, errors |a_k(24) - a_k(16)| plus rounding, Stein's
 * b_k = sqrt(k+1) a_{k+1} / sqrt(q), Parseval tails with every error added. */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PW_H 0.25 /* panel length: ~1 period of h_150 near 0 */
/* The most nodes one composite rule may have: the rule and the coefficient pass keep ~10 doubles per node, so one
 * expansion stays under ~340 MB whatever the variance (tanh's panels of 2 / sqrt(q) reach it at q ~ 2e7). */
#define PW_MAX_NODES (1 << 22)

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The composite rule (rule index `which`) for weight pdf(z) on [-L, L], panels ending on the points br. */
static dw_status pw_rule(dw_gh_rule *r, int which, const double *br, int nb, double H)
{
    const double *gx, *gw;
    const int p = dw_gl_rule(which, &gx, &gw);
    double nd = 0;
    for (int j = 0; j + 1 < nb; j++) nd += p * ceil((br[j + 1] - br[j]) / H);
    if (nd > PW_MAX_NODES)
        return dw_fail(DW_ERR_NOMEM,
                       "hermite expansion: panels of length %.3g need %.3g quadrature nodes, above the limit %d that "
                       "bounds the memory of one expansion (phi(sqrt(q) z) varies on too fine a scale at this "
                       "variance: reduce the variances)", H, nd, PW_MAX_NODES);
    const int n = (int)nd;
    dw_status st = dw_rule_alloc(r, n, "piecewise Gauss-Legendre rule");
    if (st) return st;
    int t = 0;
    for (int j = 0; j + 1 < nb; j++) {
        const double len = br[j + 1] - br[j];
        const int np = (int)ceil(len / H);
        const double h = len / np;
        for (int q = 0; q < np; q++)
            for (int i = 0; i < p; i++, t++) {
                const double x = br[j] + (q + 0.5) * h + 0.5 * h * gx[i];
                const double lw = log(0.5 * h * gw[i]) - 0.5 * x * x - 0.91893853320467274178; /* log sqrt(2 pi) */
                r->x[t] = x;
                r->logw[t] = lw;
                r->w[t] = exp(lw);
                r->sw[t] = exp(0.5 * lw);
            }
    }
    return DW_OK;
}

dw_status dw_hermite_expand_pw(dw_fn f, const void *ctx, const double *kinks, int nk, double q, int K, dw_hermite *h)
{
    return dw_hermite_expand_pw_h(f, ctx, kinks, nk, q, K, PW_H, h);
}

dw_status dw_hermite_expand_pw_h(dw_fn f, const void *ctx, const double *kinks, int nk, double q, int K, double H,
                                 dw_hermite *h)
{
    if (!f || !h || K < 0 || K > DW_GAUSS_K || K > DW_HERMITE_KMAX || !(q > 0) || !isfinite(q) || nk < 0 ||
        nk > DW_COND_MAX_KINKS || (nk && !kinks) || !(H > 1e-6) || !(H <= PW_H))
        return dw_fail(DW_ERR_INVALID, "hermite expansion: invalid arguments (K = %d, q = %g)", K, q);
    const double L = sqrt(4.0 * DW_GAUSS_K + 6.0) + 12.0, sq = sqrt(q); /* as the trapezoidal rules, any K */
    double br[DW_COND_MAX_KINKS + 2];
    int nb = 0;
    br[nb++] = -L;
    br[nb++] = L;
    for (int k = 0; k < nk; k++) {
        const double z = kinks[k] / sq;
        if (z > -L && z < L) br[nb++] = z;
    }
    qsort(br, (size_t)nb, sizeof(double), cmp_double);
    enum { M = DW_HERMITE_KMAX + 2 };
    double ta[2][M], tb[2][M], te2[2], ted2[2], drop[2][2];
    dw_status st = DW_OK;
    int nn = 0;
    for (int i = 0; i < 2 && !st; i++) {
        dw_gh_rule r = {0, NULL, NULL, NULL, NULL};
        st = pw_rule(&r, i + 1, br, nb, H);
        if (!st) st = dw_hermite_coeffs(&r, f, ctx, q, K + 1, ta[i], tb[i], &te2[i], &ted2[i], drop[i]);
        if (r.n > nn) nn = r.n;
        dw_gh_rule_clear(&r);
    }
    if (st) return st;
    /* divergence: the integrand phi^2 pdf must be negligible at the ends */
    double edge = -INFINITY;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double p = f(sgn * sq * L, NULL, ctx);
        double l = 2 * log(fabs(p)) - 0.5 * L * L;
        if (isnan(l)) l = INFINITY;
        edge = fmax(edge, l);
    }
    /* the neglected tail beyond |z| = L, estimated by the integrand there (its Gaussian factor decays by e^-L per
     * unit step), is added to the errors below; it must be negligible (1e-14 of E phi^2, or below 1e-250) or
     * the moments are taken to diverge. (A kink beyond ~30 / sqrt(q), relu(z - 1) at q < 1e-3, puts all of E phi^2 ~ 1e-260
     * near the end of the range.) */
    const double etail = exp(edge);
    if (!isfinite(te2[1]) || !(etail <= 1e-14 * te2[1] || etail < 1e-250) ||
        fabs(te2[1] - te2[0]) > 1e-3 * fabs(te2[1]))
        return dw_fail(DW_ERR_RANGE,
                       "E[phi(sqrt(q) Z)^2] does not converge at variance q = %g (Gauss-Legendre rules give %g and %g; "
                       "integrand at |z| = %g: exp(%g))",
                       q, te2[0], te2[1], sq * L, edge);
    const double eps = DBL_EPSILON, rn = sqrt((double)nn);
    const double dropa = fmax(drop[0][0], drop[1][0]);
    const double rf = 8 * eps * rn * sqrt(fabs(te2[1])) + dropa + sqrt(etail);
    const double e2 = te2[1], ed2 = ted2[1];
    const double de2 = fabs(te2[1] - te2[0]) + 8 * eps * rn * fabs(e2) + etail;
    const double ded2 = fabs(ted2[1] - ted2[0]) + 8 * eps * rn * fabs(ed2) + fmax(drop[0][1], drop[1][1]);
    double a[M], da[M];
    for (int k = 0; k <= K + 1; k++) {
        a[k] = ta[1][k];
        da[k] = fabs(ta[1][k] - ta[0][k]) + rf;
    }
    h->rough = 1;
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
        const double c = sqrt((double)(k + 1));
        h->a[k] = a[k];
        h->da[k] = da[k];
        h->b[k] = c * a[k + 1] / sq;
        h->db[k] = c * da[k + 1] / sq;
        const double stein = fabs(c * a[k + 1] - sq * tb[1][k]);
        if (stein > h->stein) h->stein = stein;
        if (h->da[k] > h->coef_err) h->coef_err = h->da[k];
        sa += a[k] * a[k];
        sb += h->b[k] * h->b[k];
        ea += 2 * fabs(a[k]) * h->da[k] + h->da[k] * h->da[k];
        eb += 2 * fabs(h->b[k]) * h->db[k] + h->db[k] * h->db[k];
    }
    h->tail_a = fmax(e2 - sa, 0.0) + de2 + ea + 4 * eps * (K + 2) * fabs(e2);
    h->tail_b = fmax(ed2 - sb, 0.0) + ded2 + eb + 4 * eps * (K + 2) * fabs(ed2);
    return DW_OK;
}

dw_status dw_hermite_expand_smooth(dw_fn f, const void *ctx, double q, int K, dw_hermite *h)
{
    dw_status st = dw_hermite_expand(f, ctx, q, K, h);
    if (st != DW_ERR_RANGE || !(q > 16)) return st;
    /* A smooth phi whose transition near 0 is narrower than the trapezoidal rules' step at this variance (tanh,
     * sigmoid at q ~ 1e3: tanh(31.6 z) is a step of width 0.03): Gauss-Legendre panels of length 2 / sqrt(q) with a
     * break at 0 (the poles of tanh(sqrt(q) z) lie pi / (2 sqrt(q)) from the real axis: the 16- and 24-point rules
     * converge like 3^-n on every panel). A phi whose moments truly diverge fails here too: its first error stands. */
    char first[1024];
    snprintf(first, sizeof first, "%s", dw_error_message());
    const double zero = 0.0;
    const dw_status st2 = dw_hermite_expand_pw_h(f, ctx, &zero, 1, q, K, fmin(PW_H, 2.0 / sqrt(q)), h);
    if (st2 == DW_OK) {
        dw_error_clear();
        return DW_OK;
    }
    if (st2 == DW_ERR_NOMEM) { /* the memory bound: say so, not the trapezoidal rules' failure */
        snprintf(first, sizeof first, "%s", dw_error_message());
        return dw_fail(st2, "variance q = %g: %s", q, first);
    }
    return dw_fail(st, "%s", first);
}
