/* The moments E[F^(nx)(u) G^(ny)(v)] by the Mehler series (theory.md 1.5 (b), 1.6): Hermite coefficients of the
 * products F_ij = phi^i phi'^j at each point's variance, derivatives by Stein's shift
 * E[F^(n)(sqrt(q) Z) h_k(Z)] = sqrt((k+1)...(k+n)) F_{k+n}(q) / q^(n/2), so no derivative of phi beyond the first
 * is ever evaluated (the derivative-free form, which is what kinked activations need). */
#include "finite/finite.h"

#include <stdlib.h>
#include <string.h>

#include <float.h>
#include <math.h>
#include <pthread.h>

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

/* Every product at once from one pass over the shared trapezoidal rule of step h/2 (its even nodes are the rule
 * of step h): phi and phi' evaluated once per node, one Hermite recurrence for all 14 products. The error
 * estimate |T(h/2) - T(h)| (plus rounding) is that of the coarser rule, so it bounds the error of T(h/2) for
 * integrands analytic in a strip, which is returned. 1 if this route answered, 0 if the caller must take the per-product one (a kink, or a
 * variance whose integrands are not negligible at the rule's ends). */
static int coefs_onepass(const dw_act *act, double q, dw_fw_coefs *c, dw_status *st)
{
    enum { NF = DW_FW_NF - 1 }; /* the constant F_00 is not integrated */
    const dw_gh_rule *r3[3];
    if ((*st = dw_gauss_rules(r3))) return 1;
    const dw_gh_rule *r = r3[1]; /* step 0.05: tanh at q = 16 (poles pi / 8 from the axis) converges like e^-49 */
    const int n = r->n, K = DW_FW_K + 4;
    /* node-major: val[g * NF + f] = sqrt(w_g) F_f(sqrt(q) x_g) */
    double *buf = dw_alloc((size_t)(NF + 4) * n, sizeof(double), "finite-width Hermite coefficients");
    if (!buf) {
        *st = DW_ERR_NOMEM;
        return 1;
    }
    double *val = buf, *u0 = val + (size_t)NF * n, *u1 = u0 + n, *xs = u1 + n;
    const double sq = sqrt(q);
    const int mid = n / 2;
    double e2[NF] = {0};
    int ok = 1, kept = 0;
    /* two sweeps, the nodes of the rule of step 2h first (slots 0..ne-1), the others after (from the end) */
    int ne = 0;
    for (int g = 0; g < n; g++)
        if (!((g - mid) & 1)) ne++;
    int top_e = 0, top_o = ne;
    for (int g = 0; g < n && ok; g++) {
        double z = sq * r->x[g], f, d;
        if (act->fam == DW_FAM_GENERIC || act->fam == DW_FAM_GELU)
            f = dw_act_fn(z, &d, act);
        else
            dw_act_eval(act, 1, &z, &f, &d);
        if (!isfinite(f) || !isfinite(d)) ok = 0;
        const int even = !((g - mid) & 1), at = even ? top_e : top_o;
        double pf[DW_FW_POW + 1], pd[DW_FW_POW + 1], *v = val + (size_t)at * NF, big = 0.0;
        pf[0] = pd[0] = 1.0;
        for (int k = 1; k <= DW_FW_POW; k++) pf[k] = pf[k - 1] * f, pd[k] = pd[k - 1] * d;
        for (int i = 0; i <= DW_FW_POW; i++)
            for (int j = 0; i + j <= DW_FW_POW; j++)
                if (i + j) {
                    double t = r->sw[g] * pf[i] * pd[j];
                    v[dw_fw_fidx(i, j) - 1] = t;
                    e2[dw_fw_fidx(i, j) - 1] += t * t;
                    big = fmax(big, fabs(t));
                }
        if ((g == 0 || g == n - 1) && big > 1e-25) ok = 0; /* the integrands are not negligible at the ends */
        /* |u_k| <= 1: a node whose every sqrt(w) F is below 1e-22 changes no coefficient by more than that */
        if (big < 1e-22) continue;
        xs[at] = r->x[g];
        u0[at] = r->sw[g];
        u1[at] = r->x[g] * r->sw[g];
        if (even)
            top_e++;
        else
            top_o++;
    }
    kept = top_o;
    if (!ok) {
        free(buf);
        return 0;
    }
    /* compact the odd nodes down to top_e (they were placed from slot ne on) */
    if (top_e < ne) {
        const int nodd = top_o - ne;
        memmove(val + (size_t)top_e * NF, val + (size_t)ne * NF, (size_t)nodd * NF * sizeof(double));
        memmove(xs + top_e, xs + ne, (size_t)nodd * sizeof(double));
        memmove(u0 + top_e, u0 + ne, (size_t)nodd * sizeof(double));
        memmove(u1 + top_e, u1 + ne, (size_t)nodd * sizeof(double));
        kept = top_e + nodd;
    }
    ne = top_e;
    for (int f = 0; f < NF; f++) c->err[f + 1] = 0.0;
    for (int k = 0; k <= K; k++) {
        double se[NF] = {0}, sa[NF] = {0}, so[NF] = {0};
        const double c0 = sqrt((double)k), c1 = 1.0 / sqrt((double)(k + 1));
        const double *uk = k == 0 ? u0 : u1;
        for (int g = 0; g < ne; g++) {
            const double u = uk[g], *v = val + (size_t)g * NF;
            for (int f = 0; f < NF; f++) se[f] += v[f] * u;
        }
        for (int g = ne; g < kept; g++) {
            const double u = uk[g], *v = val + (size_t)g * NF;
            for (int f = 0; f < NF; f++) so[f] += v[f] * u;
        }
        if (k > 0) /* advance the recurrence u_{k+1} = (x u_k - sqrt(k) u_{k-1}) / sqrt(k+1) in place */
            for (int g = 0; g < kept; g++) {
                const double u2 = (xs[g] * u1[g] - c0 * u0[g]) * c1;
                u0[g] = u1[g];
                u1[g] = u2;
            }
        for (int f = 0; f < NF; f++) sa[f] = se[f] + so[f];
        for (int f = 0; f < NF; f++) {
            /* T(h) = sa, T(2h) = 2 se; rounding: sum |v u| <= sqrt(sum v^2) (sum u^2 <= 1) */
            double e = fabs(sa[f] - 2 * se[f]) + 8 * DBL_EPSILON * sqrt((double)kept * e2[f]) + 1e-22 * n;
            c->c[f + 1][k] = sa[f];
            if (e > c->err[f + 1]) c->err[f + 1] = e;
        }
    }
    free(buf);
    return 1;
}

static void coefs_last(dw_fw_coefs *c)
{
    for (int f = 0; f < DW_FW_NF; f++) {
        double big = 0.0;
        for (int k = 0; k <= DW_FW_K + 4; k++) big = fmax(big, fabs(c->c[f][k]));
        int last = DW_FW_K + 4;
        while (last > 0 && !(fabs(c->c[f][last]) > 1e-20 * big)) last--;
        c->last[f] = last;
    }
}

dw_status dw_fw_coefs_compute(const dw_act *act, double q, dw_fw_coefs *c)
{
    static _Thread_local dw_hermite h; /* 8 KB: off the stack */
    c->q = q;
    c->K = DW_FW_K;
    for (int k = 0; k <= DW_FW_K + 4; k++) c->c[0][k] = k == 0;
    c->err[0] = 0.0;
    dw_status st = DW_OK;
    int kinked = act->fam == DW_FAM_GENERIC && act->nkinks > 0;
    if (!kinked && q <= 16 && coefs_onepass(act, q, c, &st)) {
        if (!st) coefs_last(c);
        return st;
    }
    for (int i = 0; i <= DW_FW_POW; i++)
        for (int j = 0; i + j <= DW_FW_POW; j++) {
            int f = dw_fw_fidx(i, j);
            if (i + j == 0) continue;
            prod_ctx p = {act, i, j};
            if (kinked)
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
    coefs_last(c);
    return DW_OK;
}

/* sqrt((k+1)(k+2)...(k+n)), n = 0..4, k = 0..DW_FW_K: Stein's shift weights, built once */
static double shift[5][DW_FW_K + 1];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;
static void shift_init(void)
{
    for (int k = 0; k <= DW_FW_K; k++) {
        double w = 1.0;
        shift[0][k] = 1.0;
        for (int n = 1; n <= 4; n++) {
            w *= (double)(k + n);
            shift[n][k] = sqrt(w);
        }
    }
}

void dw_fw_vecs_reset(dw_fw_vecs *V, const dw_fw_coefs *c, double rho)
{
    V->c = c;
    V->rho = rho;
    if (++V->gen == 0) { /* wrapped: every stamp is stale again */
        memset(V->stamp, 0, sizeof V->stamp);
        V->pgen = 0;
        V->gen = 1;
    }
}

/* The vectors' loops are also built for AVX2, chosen when the library loads (GCC's function clones; not under the
 * sanitizers, whose start-up the clones' resolver would run before). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define DW_FW_LANES __attribute__((target_clones("avx2", "default")))
#else
#define DW_FW_LANES
#endif

/* The powers shared by every vector of one side: the coefficients of smooth products decay fast, and rho^k too,
 * so the vectors stop where rho^k is below 1e-20 (a change far below the coefficients' own errors). */
static void powers(dw_fw_vecs *V)
{
    const double q = V->c->q, r = 1.0 / sqrt(q);
    V->ps[0] = 1.0;
    V->ps[1] = r;
    V->ps[2] = 1.0 / q;
    V->ps[3] = r / q;
    V->ps[4] = 1.0 / (q * q);
    double p = 1.0;
    int cut = DW_FW_K + 1;
    for (int k = 0; k <= DW_FW_K; k++) {
        V->pw[k] = p;
        p *= V->rho;
        if (!(fabs(p) > 1e-20)) {
            cut = k + 1;
            break;
        }
    }
    V->pcut = cut;
    V->pgen = V->gen;
}

/* v_k = w_k c_k (s p_k) for k <= end, and the sums of (w_k s p_k)^2 and v_k^2 */
DW_FW_LANES static void vec_fill(int end, const double *restrict w, const double *restrict c,
                                 const double *restrict p, double s, double *restrict out, double sums[2])
{
    double w2 = 0.0, v2 = 0.0;
#pragma omp simd reduction(+ : w2, v2)
    for (int k = 0; k <= end; k++) {
        const double wp = w[k] * (s * p[k]), v = c[k] * wp;
        out[k] = v;
        w2 += wp * wp;
        v2 += v * v;
    }
    sums[0] = w2;
    sums[1] = v2;
}

/* sum_k (w_k s p_k)^2 over k <= end */
DW_FW_LANES static double wsum(int end, const double *restrict w, const double *restrict p, double s)
{
    double w2 = 0.0;
#pragma omp simd reduction(+ : w2)
    for (int k = 0; k <= end; k++) {
        const double wp = w[k] * (s * p[k]);
        w2 += wp * wp;
    }
    return w2;
}

/* The last k of the vector of product f with shift n: km, where the coefficients become negligible (below 1e-20
 * of the largest), and *end, where rho^k ends the series first (*rcut) or km; *cut: truncated (the coefficients
 * are not negligible up to the last one computed, or beyond DW_FW_K). */
static int vec_len(dw_fw_vecs *V, int f, int n, int *end, int *rcut, bool *cut)
{
    pthread_once(&shift_once, shift_init);
    if (V->pgen != V->gen) powers(V);
    int km = V->c->last[f] - n;
    *cut = V->c->last[f] == DW_FW_K + 4 || km > DW_FW_K;
    if (km > DW_FW_K) km = DW_FW_K;
    if (km < 0) km = 0;
    *rcut = V->pcut <= km;
    *end = *rcut ? V->pcut - 1 : km;
    return km;
}

/* The vector of product f with shift n, built on first use. */
static const double *vec(dw_fw_vecs *V, int f, int n)
{
    if (V->stamp[f][n] == V->gen) return V->v[f][n];
    double *out = V->v[f][n], sums[2];
    int end, rcut;
    bool cut;
    int km = vec_len(V, f, n, &end, &rcut, &cut);
    vec_fill(end, shift[n], V->c->c[f] + n, V->pw, V->ps[n], out, sums);
    if (rcut) {
        km = V->pcut;
        out[km] = 0.0;
        cut = false;
    }
    V->kmax[f][n] = km;
    V->cut[f][n] = cut;
    V->wnorm[f][n] = sqrt(sums[0]);
    V->vnorm[f][n] = sqrt(sums[1]);
    V->stamp[f][n] = V->gen;
    return out;
}

/* sum_k u_k v_k and sum_k |u_k v_k| over k <= ke */
DW_FW_LANES static void dot2(int ke, const double *restrict u, const double *restrict v, double sums[2])
{
    double sv = 0.0, sa = 0.0;
#pragma omp simd reduction(+ : sv, sa)
    for (int k = 0; k <= ke; k++) {
        const double uv = u[k] * v[k];
        sv += uv;
        sa += fabs(uv);
    }
    sums[0] = sv;
    sums[1] = sa;
}

dw_status dw_fw_series2_moment(void *vctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err)
{
    const dw_fw_series2 *S = vctx;
    const int fx = dw_fw_fidx(ix, jx), fy = dw_fw_fidx(iy, jy), K = DW_FW_K;
    const dw_fw_vecs *X = S->x, *Y = S->y;
    if (fx == 0 && nx == 0 && Y->stamp[fy][ny] != Y->gen) {
        /* F = 1: only the first term of G's vector enters (no need to build it); the coefficients' error bound
         * over its whole length as for any other moment (F's own error is 0) */
        const double u0 = vec(S->x, 0, 0)[0];
        int end, rcut;
        bool cut;
        vec_len(S->y, fy, ny, &end, &rcut, &cut);
        const double s = Y->ps[ny];
        const double v0 = Y->c->c[fy][ny] * (shift[ny][0] * (s * Y->pw[0]));
        *value = u0 * v0;
        *err = Y->c->err[fy] * sqrt(wsum(end, shift[ny], Y->pw, s)) * X->vnorm[0][0] +
               4 * DBL_EPSILON * (K + 1) * fabs(u0 * v0);
        return DW_OK;
    }
    const double *u = vec(S->x, fx, nx), *v = vec(S->y, fy, ny);
    const int ke = S->x->kmax[fx][nx] < S->y->kmax[fy][ny] ? S->x->kmax[fx][nx] : S->y->kmax[fy][ny];
    /* the one hot loop: a dot product (a fixed order for a given build and CPU, whatever the thread count) */
    double sums[2];
    dot2(ke, u, v, sums);
    const double sv = sums[0], sa = sums[1];
    double last = 0.0;
    if (X->cut[fx][nx] && Y->cut[fy][ny]) /* both series run to DW_FW_K: the sum is truncated */
        for (int k = ke - 7 > 0 ? ke - 7 : 0; k <= ke; k++) {
            const double t = fabs(u[k] * v[k]);
            last = t > last ? t : last;
        }
    const double r = fabs(Y->rho);
    /* the coefficients' errors: each of F's within err_x, so by Cauchy-Schwarz their effect on the sum is at most
     * err_x ||weights_x|| ||v|| (and likewise for G); truncation (an estimate): the last terms' size carried on
     * geometrically, at most K more of them (the coefficients of a kinked product's derivatives decay
     * algebraically, so only rho^k makes the sum converge); rounding */
    *value = sv;
    *err = X->c->err[fx] * X->wnorm[fx][nx] * Y->vnorm[fy][ny] + Y->c->err[fy] * Y->wnorm[fy][ny] * X->vnorm[fx][nx] +
           4 * DBL_EPSILON * (K + 1) * sa + last * (r < 1.0 ? fmin(r / (1.0 - r), (double)K) : (double)K);
    return DW_OK;
}
