/* NNGP / NTK Gram matrices (theory.md 1.2-1.3): plans, tiles and the threaded driver.
 *
 * A plan holds, for every input point and layer, the diagonal recursion K^l(x, x) and the per-point factors the
 * sweeps need. A tile computes X_I Y_J^T with OpenBLAS, the first layer, then runs all layers on the tile while
 * it sits in cache (no Gram-sized temporaries). The driver hands tiles to OpenMP threads; each entry depends only
 * on its own inputs, so results are bit-identical for any thread count or tiling.
 */
#include "act/act.h"
#include "core/internal.h"
#include "gauss/gauss.h"
#include "kernels/sweep.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Per-point fields of one layer (see dw_pts). */
enum { F_A, F_SA, F_IH, F_R, F_SP, F_POLY };
/* Generic activations: a_k at F_POLY + k, b_k at GEN_B + k (k = 0..DW_GAUSS_K), then 6 bound factors at GEN_GB
 * (sqrt E phi^2, sqrt tail_a, |da|, and the same for phi'); before the series order K of the layer is known the
 * tail slots hold the tails at DW_GAUSS_K. */
#define GEN_B (F_POLY + DW_GAUSS_K + 1)
#define GEN_GB (F_POLY + 2 * (DW_GAUSS_K + 1))
#define GEN_TC (GEN_GB + 8) /* the Parseval tails at the checkpoint orders (sweep.h), phi then phi' */
#define GEN_NF (GEN_TC + 2 * DW_GEN_NCP)
_Static_assert(DW_GEN_NCP * DW_GEN_CK >= DW_GAUSS_K + 1 && (DW_GEN_NCP - 1) * DW_GEN_CK < DW_GAUSS_K + 1,
               "checkpoint count");
/* An entry's series stops at the first checkpoint order whose truncation bound is within this fraction of the
 * target (the rest of the target is left to the coefficients' errors and rounding). */
#define GEN_TRUNC 0.125

typedef struct {
    const double *x; /* n x d inputs (borrowed) */
    size_t n, np;    /* points, padded count */
    double *f;       /* fields: layer l, field k at f + (l * nf + k) * np */
    double *fx;      /* homogeneous: sqrt(w_1/d)/sqrt(a^1) and sqrt(b_1)/sqrt(a^1) per point (refinement) */
} side;

/* Generic activations: what the tiles found, merged under a lock (the plan is otherwise read-only). */
typedef struct {
    double max_bound;
    size_t evaluations, quadrature;
    int routes; /* bit 0: 2-D quadrature answered some entry */
} gen_stats;

struct dw_kernel_plan {
    int *kl;          /* generic: Mehler order K per layer */
    struct gen_cache *cache; /* generic: expansions at the interpolation nodes */
    gen_stats *stats; /* generic: tile statistics */
    double target;    /* generic: relative bound aimed at */
    int threads;
    int depth;
    const dw_act *act;
    double *w, *beta, *fan_in; /* per layer 0..depth (layer l + 1 of theory.md) */
    int standard, all_layers;
    size_t d, nf;
    side X, Y;
    int symmetric;
    const dw_sweep_impl *impl;
};

/* Layer-1 pairs this close to collinear (min(s, t) below) get s, t from the inputs directly (Kahan's chord
 * formula) instead of from the rounded K^1(x, y): the angle is then exact to rounding, not to sqrt(rounding). */
#define DW_REFINE_BELOW 0.0625

static double *field(const dw_kernel_plan *p, const side *sd, int layer, size_t k)
{
    return sd->f + ((size_t)layer * p->nf + k) * sd->np;
}

static dw_pts pts_of(const dw_kernel_plan *p, const side *sd, int l)
{
    dw_pts q;
    memset(&q, 0, sizeof q);
    q.a = field(p, sd, l, F_A);
    q.sa = field(p, sd, l, F_SA);
    q.r = field(p, sd, l, F_R);
    q.sp = field(p, sd, l, F_SP);
    if (l < p->depth) {
        q.sa1 = field(p, sd, l + 1, F_SA);
        q.ih1 = field(p, sd, l + 1, F_IH);
    }
    if (p->act->fam == DW_FAM_POLY) {
        q.pk = field(p, sd, l, F_POLY);
        q.qk = field(p, sd, l, F_POLY + (size_t)p->act->deg + 1);
        q.stride = sd->np;
    }
    if (p->act->fam == DW_FAM_GENERIC) {
        q.pk = field(p, sd, l, F_POLY);
        q.qk = field(p, sd, l, GEN_B);
        q.gb = field(p, sd, l, GEN_GB);
        q.ih = field(p, sd, l, F_IH);
        q.stride = sd->np;
    }
    return q;
}

static dw_step step_of(const dw_kernel_plan *p, int l, int ntk)
{
    dw_step st;
    memset(&st, 0, sizeof st);
    st.fam = p->act->fam;
    st.alpha = p->act->alpha;
    st.w = p->w[l + 1];
    st.beta = p->beta[l + 1];
    st.ntk = ntk;
    st.standard = p->standard;
    st.fan_in = p->standard ? p->fan_in[l + 1] : 0.0;
    st.has_bias = p->beta[l + 1] > 0 ? 1.0 : 0.0;
    st.deg = p->act->fam == DW_FAM_GENERIC ? p->kl[l] : p->act->deg;
    st.budget = GEN_TRUNC * p->target;
    return st;
}

/* Fill the per-point fields of layer l from its variances (field F_A), for points [0, n) and the padding. */
static void fill_layer(const dw_kernel_plan *p, side *sd, int l)
{
    double *a = field(p, sd, l, F_A), *sa = field(p, sd, l, F_SA), *ih = field(p, sd, l, F_IH);
    double *r = field(p, sd, l, F_R), *sp = field(p, sd, l, F_SP);
    for (size_t i = 0; i < sd->np; i++) {
        sa[i] = sqrt(a[i]);
        ih[i] = a[i] > 0 ? 1.0 / sa[i] : 0.0;
        double m2;
        dw_act_point(p->act, a[i], &r[i], &m2);
        sp[i] = l < p->depth ? sqrt(p->w[l + 1] * m2) : 0.0;
        if (p->act->fam == DW_FAM_POLY)
            dw_act_poly_point(p->act, a[i], field(p, sd, l, F_POLY) + i,
                              field(p, sd, l, F_POLY + (size_t)p->act->deg + 1) + i, sd->np);
    }
}

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

#define GEN_PER (2 * (DW_GAUSS_K + 1) + 8) /* a_k, b_k, then sqrt e2, tail_a, |da|, sqrt ed2, tail_b, |db|,
                                             * and the errors of E phi^2, E phi'^2 */

/* The expansion of phi at variance q (>= 0) into one record of GEN_PER values. Thread-safe. */
static dw_status expand_one(const dw_act *act, double q, double *cv)
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
    dw_status st = dw_act_expand(act, q, DW_GAUSS_K, h);
    if (st == DW_OK) {
        double da = 0, db = 0;
        for (int j = 0; j <= DW_GAUSS_K; j++) {
            cv[j] = h->a[j];
            cb[j] = h->b[j];
            da += h->da[j] * h->da[j];
            db += h->db[j] * h->db[j];
        }
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
 * estimate exceeds GEN_INTERP_TOL (relative to sqrt E phi^2) is expanded directly instead. */
#define GEN_M 16
#define GEN_INTERP_TOL 1e-13
#define GEN_NC (2 * (DW_GAUSS_K + 1)) /* interpolated coefficients: a_k, b_k */
/* Node errors enter the interpolant through the Lebesgue constant (2.8 for these 17 points); they are
 * dominated by the rounding allowance 8 eps sqrt(n) sqrt(E phi^2) given to every coefficient, which exceeds the
 * measured errors by orders of magnitude, so they are carried with factor 1 (with 2.8, softplus's NTK bounds
 * cross the target and a fifth of the entries go to quadrature; measured errors stay far below the bounds). */
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

/* est[0..GEN_NC+1]: unscaled estimates of a_k, b_k, then E phi^2, E phi'^2; est[GEN_NC+2..]: scaled a_k, b_k. */
static void interp_panel(const double *node, const double *nsc, double *est)
{
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

static void interp_one(const double *node, const double *nsc, const double *tn, const double *nerr,
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
    g[6] = de2;
    g[7] = ded2;
    g[1] = fmax(e2 - sa, 0.0) + de2 + ea + GEN_LEB * nerr[4] + 4 * eps * (DW_GAUSS_K + 2) * e2;
    g[4] = fmax(ed2 - sb, 0.0) + ded2 + eb + GEN_LEB * nerr[5] + 4 * eps * (DW_GAUSS_K + 2) * ed2;
    *ok = isfinite(g[1]) && isfinite(g[4]) && sqrt(da2) <= GEN_INTERP_TOL * g[0] && sqrt(db2) <= GEN_INTERP_TOL * g[3];
}

/* Expansions at the lattice nodes, shared by both sides and all layers of a plan. */
#define GEN_LEVELS 12 /* panels are halved at most this many times */
typedef struct gen_cache {
    size_t n, cap;
    double *q, *rec; /* node variances, their GEN_PER records */
} gen_cache;

static int gen_cache_find(const gen_cache *c, double q)
{
    for (size_t k = c->n; k-- > 0;)
        if (c->q[k] == q) return (int)k;
    return -1;
}

static int gen_cache_reserve(gen_cache *c, size_t more)
{
    if (c->n + more <= c->cap) return 0;
    size_t cap = 2 * (c->n + more) + 64;
    double *q = realloc(c->q, cap * sizeof(double));
    if (!q) return dw_fail(DW_ERR_NOMEM, "out of memory (Hermite node cache)");
    c->q = q;
    double *rec = realloc(c->rec, cap * GEN_PER * sizeof(double));
    if (!rec) return dw_fail(DW_ERR_NOMEM, "out of memory (Hermite node cache)");
    c->rec = rec;
    c->cap = cap;
    return 0;
}

/* Generic activations, layer l: Hermite coefficients of phi and phi' at each distinct variance (directly, or
 * by interpolation across variances when there are many), copied to the points, and the next layer's variances
 * a' = w E[phi^2] + beta. Parallel over values; each value's result depends on nothing else. */
static dw_status generic_layer(const dw_kernel_plan *p, side *sd, int l, const char *name)
{
    const size_t np = sd->np;
    const double *a = field(p, sd, l, F_A);
    double *u = dw_alloc(np, sizeof(double), "distinct variances");
    if (!u) return DW_ERR_NOMEM;
    memcpy(u, a, np * sizeof(double));
    qsort(u, np, sizeof(double), cmp_double);
    size_t nu = 0;
    for (size_t i = 0; i < np; i++)
        if (i == 0 || u[i] != u[nu - 1]) u[nu++] = u[i];
    const size_t per = GEN_PER;
    double *co = dw_alloc(nu + 2 * (GEN_M + 1), per * sizeof(double), "Hermite coefficient cache");
    int *done = dw_calloc(nu, sizeof(int), "Hermite coefficient cache");
    if (!co || !done) {
        free(u);
        free(co);
        free(done);
        return DW_ERR_NOMEM;
    }
    double *node = co + nu * per, *nsc = node + (GEN_M + 1) * per; /* the panel's nodes, scaled */
    dw_status err = DW_OK;
    size_t err_at = SIZE_MAX;
    char msg[1024] = "";
    const int threads = dw_core_threads(p->threads);
    /* Panels of distinct values on a fixed lattice in log2 q: level r, index m covers log2 q in [m, m + 1) 2^-r.
     * The nodes of a lattice panel depend on (r, m) only, so they are cached in the plan and reused by the other
     * side and by later layers, whose variances often fall in the same panels. A panel is interpolated when
     * that costs fewer new expansions than expanding its values directly; one where more than a tenth of the
     * values miss the interpolation tolerance is halved (level r + 1). Values left over are expanded directly
     * below. Every value's result depends on its own variance and the lattice only. */
    const size_t first = u[0] > 0 ? 0 : 1; /* a zero variance is expanded directly */
    const double ln2 = 0.69314718055994530942;
    long *stack = NULL;
    size_t top = 0;
    if (first < nu) {
        const long m0 = (long)floor(log(u[first]) / ln2) - 1, m1 = (long)floor(log(u[nu - 1]) / ln2) + 1;
        stack = dw_alloc((size_t)(m1 - m0 + 1) + 2 * GEN_LEVELS + 2, 4 * sizeof(long), "panel stack");
        if (!stack) err = DW_ERR_NOMEM;
        size_t lo = first;
        for (long m = m0; m <= m1 && !err; m++) { /* level 0: [lo, hi) with log u < (m + 1) ln 2 */
            size_t hi = lo;
            while (hi < nu && log(u[hi]) < ln2 * (double)(m + 1)) hi++;
            if (hi > lo) {
                long *e = stack + 4 * top++;
                e[0] = (long)lo, e[1] = (long)hi, e[2] = 0, e[3] = m;
            }
            lo = hi;
        }
    }
    while (top && !err) {
        const long *e = stack + 4 * --top;
        const size_t lo = (size_t)e[0], hi = (size_t)e[1];
        const int r = (int)e[2];
        const long m = e[3];
        const double W = ldexp(1.0, -r), T0 = (double)m * W, T1 = (double)(m + 1) * W;
        double tn[GEN_M + 1], nerr[6] = {0, 0, 0, 0, 0, 0};
        for (int j = 0; j <= GEN_M; j++)
            tn[j] = ln2 * (0.5 * (T0 + T1) + 0.5 * W * cos(3.14159265358979323846 * j / GEN_M));
        tn[0] = ln2 * T1;
        tn[GEN_M] = ln2 * T0;
        int at[GEN_M + 1], miss[GEN_M + 1], nmiss = 0;
        for (int j = 0; j <= GEN_M; j++) {
            at[j] = gen_cache_find(p->cache, exp(tn[j]));
            if (at[j] < 0) miss[nmiss++] = j;
        }
        if (hi - lo <= (size_t)nmiss + (size_t)nmiss / 2) continue; /* expanded directly below */
        if (nmiss) {
            if (gen_cache_reserve(p->cache, (size_t)nmiss)) {
                err = DW_ERR_NOMEM;
                break;
            }
            gen_cache *gc = p->cache;
            const size_t base = gc->n;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (nmiss > 1)
            for (int x = 0; x < nmiss; x++) {
                const double q = exp(tn[miss[x]]);
                gc->q[base + (size_t)x] = q;
                dw_status st = expand_one(p->act, q, gc->rec + (base + (size_t)x) * per);
                if (st) {
#pragma omp critical(dw_generic_err)
                    if ((size_t)x < err_at) {
                        err_at = (size_t)x;
                        err = st;
                        snprintf(msg, sizeof msg, "%s", dw_error_message());
                    }
                }
            }
            if (err) break;
            gc->n += (size_t)nmiss;
            for (int x = 0; x < nmiss; x++) at[miss[x]] = (int)(base + (size_t)x);
        }
        for (int j = 0; j <= GEN_M; j++)
            memcpy(node + (size_t)j * per, p->cache->rec + (size_t)at[j] * per, per * sizeof(double));
        for (int j = 0; j <= GEN_M; j++) { /* the nodes' own errors, largest */
            const double *nv = node + (size_t)j * per, *nb = nv + DW_GAUSS_K + 1, *g = nb + DW_GAUSS_K + 1;
            double sa = 0, sb = 0;
            for (int k = 0; k <= DW_GAUSS_K; k++) sa += nv[k] * nv[k], sb += nb[k] * nb[k];
            nerr[0] = fmax(nerr[0], g[2]);
            nerr[1] = fmax(nerr[1], g[5]);
            nerr[2] = fmax(nerr[2], g[6]); /* the nodes' errors of E phi^2, E phi'^2 */
            nerr[3] = fmax(nerr[3], g[7]);
            /* the error parts of the nodes' tails: sum_k 2 |a_k| da_k + ... (weighted by |a_k|, so much smaller
             * than the Cauchy-Schwarz 2 sqrt(E phi^2) |da| when the errors sit at large k) */
            nerr[4] = fmax(nerr[4], g[1] - fmax(g[0] * g[0] - sa, 0.0));
            nerr[5] = fmax(nerr[5], g[4] - fmax(g[3] * g[3] - sb, 0.0));
        }
        double est[2 * GEN_NC + 2];
        scale_nodes(node, tn, nsc);
        interp_panel(node, nsc, est);
        size_t ok = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : ok) if (hi - lo >= 4096)
        for (size_t k = lo; k < hi; k++) {
            interp_one(node, nsc, tn, nerr, est, u[k], co + k * per, &done[k]);
            ok += (size_t)done[k];
        }
        if (10 * (hi - lo - ok) > hi - lo && r + 1 < GEN_LEVELS) {
            for (size_t k = lo; k < hi; k++) done[k] = 0;
            size_t mid = lo;
            while (mid < hi && log(u[mid]) < ln2 * (T0 + 0.5 * W)) mid++;
            long *c0 = stack + 4 * top++;
            c0[0] = (long)lo, c0[1] = (long)mid, c0[2] = r + 1, c0[3] = 2 * m;
            long *c1 = stack + 4 * top++;
            c1[0] = (long)mid, c1[1] = (long)hi, c1[2] = r + 1, c1[3] = 2 * m + 1;
        }
    }
    free(stack);
    /* The values left (and below, those whose E phi^2 needs the 2-D routes), listed first, so that the parallel
     * loops see only real work (fewer idle threads at a barrier on a loaded machine). */
    size_t *todo = err ? NULL : dw_alloc(nu + 1, sizeof(size_t), "Hermite coefficient cache");
    size_t ntodo = 0;
    if (!err && !todo) err = DW_ERR_NOMEM;
    if (!err) {
        for (size_t k = 0; k < nu; k++)
            if (!done[k]) todo[ntodo++] = k;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (ntodo > 1)
        for (size_t x = 0; x < ntodo; x++) {
            const size_t k = todo[x];
            dw_status st = expand_one(p->act, u[k], co + k * per);
            if (st) {
#pragma omp critical(dw_generic_err)
                if (k < err_at) {
                    err_at = k;
                    err = st;
                    snprintf(msg, sizeof msg, "%s", dw_error_message());
                }
            }
        }
    }
    if (!err) {
        /* E phi^2 and E phi'^2 give the diagonal and the next layer's variances: where the rules' error estimate
         * misses the target (slow convergence at a kink: elu, selu), take them from the 2-D routes at rho = 1 */
        ntodo = 0;
        for (size_t k = first; k < nu; k++) {
            const double *g = co + k * per + GEN_NC;
            if (!(g[6] <= p->target * g[0] * g[0] && g[7] <= p->target * g[3] * g[3])) todo[ntodo++] = k;
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (ntodo > 1)
        for (size_t x = 0; x < ntodo; x++) {
            const size_t k = todo[x];
            double *g = co + k * per + GEN_NC;
            double V, Vd, bv, bd;
            dw_status st = dw_act_dual_fix(p->act, u[k], u[k], u[k], p->target, g[0] * g[0], g[3] * g[3], &V, &Vd, &bv,
                                           &bd);
            if (st) {
#pragma omp critical(dw_generic_err)
                if (k < err_at) {
                    err_at = k;
                    err = st;
                    snprintf(msg, sizeof msg, "%s", dw_error_message());
                }
                continue;
            }
            if (bv < g[6] && V >= 0) g[0] = sqrt(V), g[6] = bv;
            if (bd < g[7] && Vd >= 0) g[3] = sqrt(Vd), g[7] = bd;
        }
    }
    if (!err) {
        double *an = l < p->depth ? field(p, sd, l + 1, F_A) : NULL;
        for (size_t i = 0; i < np; i++) {
            /* binary search of a[i] among the distinct values */
            size_t lo = 0, hi = nu;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (u[mid] <= a[i]) lo = mid; else hi = mid;
            }
            const double *cv = co + lo * per;
            for (size_t f = 0; f < per; f++) field(p, sd, l, F_POLY + f)[i] = cv[f];
            if (an) {
                const double e2 = cv[GEN_NC] * cv[GEN_NC];
                an[i] = p->w[l + 1] * e2 + p->beta[l + 1];
                if (i < sd->n && !isfinite(an[i])) {
                    err = dw_fail(DW_ERR_RANGE, "kernel overflows: K(x, x) of %s row %zu is not finite at layer %d "
                                                "(activation %s)", name, i + 1, l + 2, p->act->name);
                    break;
                }
            }
        }
    } else {
        err = dw_fail(err, "activation %s: %s", p->act->name, msg);
    }
    free(u);
    free(co);
    free(done);
    free(todo);
    return err;
}

/* Generic activations, after both sides: the series order K of each layer (the smallest for which every point's
 * Parseval tails are below target * E phi^2, so that the truncation bound at |rho| = 1 meets the target; at most
 * DW_GAUSS_K, where entries with |rho| near 1 fall back to quadrature) and the tail factors at that order. */
static void generic_orders(dw_kernel_plan *p)
{
    const double tol = p->target;
    for (int l = 0; l <= p->depth; l++) {
        int K = 0;
        for (int sdi = 0; sdi < (p->symmetric ? 1 : 2); sdi++) {
            side *sd = sdi ? &p->Y : &p->X;
            const double *g = field(p, sd, l, GEN_GB);
            for (size_t i = 0; i < sd->n; i++) {
                double ta = g[sd->np + i], tb = g[4 * sd->np + i];
                const double ea = tol * g[i] * g[i], eb = tol * g[3 * sd->np + i] * g[3 * sd->np + i];
                int k = DW_GAUSS_K;
                while (k > K) { /* tails after k - 1 terms */
                    const double ak = field(p, sd, l, F_POLY + (size_t)k)[i], bk = field(p, sd, l, GEN_B + (size_t)k)[i];
                    if (ta + ak * ak > ea || tb + bk * bk > eb) break;
                    ta += ak * ak;
                    tb += bk * bk;
                    k--;
                }
                if (k > K) K = k;
            }
        }
        p->kl[l] = K;
        const int C = K / DW_GEN_CK; /* checkpoints k_c = min(DW_GEN_CK (c + 1) - 1, K), c = 0..C */
        for (int sdi = 0; sdi < (p->symmetric ? 1 : 2); sdi++) {
            side *sd = sdi ? &p->Y : &p->X;
            double *g = field(p, sd, l, GEN_GB), *tc = field(p, sd, l, GEN_TC);
            for (size_t i = 0; i < sd->np; i++) {
                /* tail after k terms = tail after DW_GAUSS_K + the computed squares above k (the errors of every
                 * coefficient up to DW_GAUSS_K are already in the tail at DW_GAUSS_K) */
                double ta = g[sd->np + i], tb = g[4 * sd->np + i];
                int c = DW_GEN_NCP - 1;
                for (int k = DW_GAUSS_K; k >= 0; k--) {
                    while (c >= 0 && (c > C || (c == C ? K : DW_GEN_CK * (c + 1) - 1) == k)) {
                        tc[(size_t)c * sd->np + i] = c > C ? 0.0 : sqrt(ta);
                        tc[(size_t)(DW_GEN_NCP + c) * sd->np + i] = c > C ? 0.0 : sqrt(tb);
                        c--;
                    }
                    if (c < 0) break;
                    const double ak = field(p, sd, l, F_POLY + (size_t)k)[i], bk = field(p, sd, l, GEN_B + (size_t)k)[i];
                    ta += ak * ak;
                    tb += bk * bk;
                }
                g[sd->np + i] = tc[(size_t)C * sd->np + i];
                g[4 * sd->np + i] = tc[(size_t)(DW_GEN_NCP + C) * sd->np + i];
            }
        }
    }
}

static dw_status side_init(dw_kernel_plan *p, side *sd, const double *x, size_t n, const char *name)
{
    const size_t d = p->d;
    sd->x = x;
    sd->n = n;
    sd->np = n + DW_PAD;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            if (!isfinite(x[i * d + k]))
                return dw_fail(DW_ERR_INVALID, "%s: row %zu, column %zu is not finite (%g)", name, i + 1, k + 1,
                               x[i * d + k]);
    sd->f = dw_alloc((size_t)(p->depth + 1) * p->nf * sd->np, sizeof(double), "per-point kernel fields");
    if (!sd->f) return DW_ERR_NOMEM;
    /* Layer 1 variances; padding points get variance 1 (safe values, never read back). */
    double *a = field(p, sd, 0, F_A);
    const double wd = p->w[0] / (double)d;
    for (size_t i = 0; i < sd->np; i++) {
        double nrm = 1.0;
        if (i < n) {
            nrm = 0.0;
            for (size_t k = 0; k < d; k++) nrm += x[i * d + k] * x[i * d + k];
            nrm = wd * nrm + p->beta[0];
        }
        a[i] = nrm;
    }
    if (dw_act_homogeneous(p->act)) {
        sd->fx = dw_alloc(2 * sd->np, sizeof(double), "per-point input factors");
        if (!sd->fx) return DW_ERR_NOMEM;
        for (size_t i = 0; i < sd->np; i++) {
            double s = sqrt(a[i]);
            sd->fx[2 * i] = s > 0 ? sqrt(wd) / s : 0.0;
            sd->fx[2 * i + 1] = s > 0 ? sqrt(p->beta[0]) / s : 0.0;
        }
    }
    for (int l = 0; l <= p->depth; l++) {
        fill_layer(p, sd, l);
        if (p->act->fam == DW_FAM_GENERIC) {
            dw_status st = generic_layer(p, sd, l, name);
            if (st) return st;
            continue;
        }
        double *an = l < p->depth ? field(p, sd, l + 1, F_A) : NULL;
        if (!an) break;
        if (dw_act_homogeneous(p->act)) {
            const double *sp = field(p, sd, l, F_SP);
            for (size_t i = 0; i < sd->np; i++) an[i] = sp[i] * sp[i] + p->beta[l + 1];
        } else {
            /* Diagonal of the smooth recursion: the sweep on the pair (x, x), so it matches the tiles. */
            dw_pts q = pts_of(p, sd, l);
            dw_step st = step_of(p, l, 0);
            for (size_t i = 0; i < sd->np - 4; i++) {
                double c[4] = {q.a[i], q.a[i], q.a[i], q.a[i]};
                p->impl->smooth(&st, 1, &q, i, &q, i, NULL, NULL, c, NULL);
                an[i] = c[0];
            }
            for (size_t i = sd->np - 4; i < sd->np; i++) an[i] = 1.0;
        }
        for (size_t i = 0; i < n; i++)
            if (!isfinite(an[i]))
                return dw_fail(DW_ERR_RANGE,
                               "kernel overflows: K(x, x) of %s row %zu is not finite at layer %d (activation %s); "
                               "reduce the depth or the variances",
                               name, i + 1, l + 2, p->act->name);
    }
    return DW_OK;
}

static dw_status check_values(const char *what, size_t count, const double *v, size_t need, int positive)
{
    if (count != 1 && count != need)
        return dw_fail(DW_ERR_INVALID, "%s: expected 1 or %zu per-layer values, got %zu", what, need, count);
    if (!v) return dw_fail(DW_ERR_INVALID, "%s: NULL values", what);
    for (size_t k = 0; k < count; k++) {
        if (!isfinite(v[k]) || v[k] < 0 || (positive && v[k] <= 0))
            return dw_fail(DW_ERR_INVALID, "%s: value %zu (%g) must be %s and finite", what, k + 1, v[k],
                           positive ? "positive" : "non-negative");
    }
    return DW_OK;
}

void dw_kernel_opts_init(dw_kernel_opts *o)
{
    static const double one = 1.0, zero = 0.0;
    memset(o, 0, sizeof *o);
    o->n_weight_var = 1;
    o->weight_var = &one;
    o->n_bias_var = 1;
    o->bias_var = &zero;
    o->param = DW_PARAM_NTK;
}

static dw_status validate(const dw_kernel_opts *o, const double *X, size_t d)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel: NULL options");
    if (o->depth < 0) return dw_fail(DW_ERR_INVALID, "depth: must be >= 0 (got %d)", o->depth);
    if (o->depth > 100000) return dw_fail(DW_ERR_INVALID, "depth: %d is above the maximum 100000", o->depth);
    if (!o->act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (dw_act_check_generic(o->act)) return DW_ERR_INVALID;
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    size_t need = (size_t)o->depth + 1;
    dw_status s = check_values("weight_var", o->n_weight_var, o->weight_var, need, 0);
    if (s) return s;
    s = check_values("bias_var", o->n_bias_var, o->bias_var, need, 0);
    if (s) return s;
    if (o->param != DW_PARAM_NTK && o->param != DW_PARAM_STANDARD)
        return dw_fail(DW_ERR_INVALID, "param: unknown parameterisation %d", (int)o->param);
    if (o->param == DW_PARAM_STANDARD && o->depth > 0) {
        if (!o->n_width || !o->width)
            return dw_fail(DW_ERR_INVALID, "width: the standard parameterisation needs the hidden width(s)");
        s = check_values("width", o->n_width, o->width, (size_t)o->depth, 1);
        if (s) return s;
    }
    return DW_OK;
}

void dw_kernel_plan_clear(dw_kernel_plan *p)
{
    if (!p) return;
    free(p->kl);
    free(p->stats);
    if (p->cache) {
        free(p->cache->q);
        free(p->cache->rec);
        free(p->cache);
    }
    free(p->w);
    free(p->beta);
    free(p->fan_in);
    free(p->X.f);
    free(p->X.fx);
    if (!p->symmetric) {
        free(p->Y.f);
        free(p->Y.fx);
    }
    free(p);
}

dw_status dw_kernel_plan_init(dw_kernel_plan **out, const dw_kernel_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, size_t d)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel: NULL plan output");
    *out = NULL;
    dw_status s = validate(o, X, d);
    if (s) return s;
    dw_kernel_plan *p = dw_calloc(1, sizeof *p, "kernel plan");
    if (!p) return DW_ERR_NOMEM;
    p->depth = o->depth;
    p->act = o->act;
    p->d = d;
    p->standard = o->param == DW_PARAM_STANDARD;
    p->all_layers = o->all_layers;
    p->symmetric = Y == NULL;
    p->impl = dw_sweep_select();
    p->nf = F_POLY + (o->act->fam == DW_FAM_POLY ? 2 * ((size_t)o->act->deg + 1) : 0);
    p->threads = o->threads;
    size_t L1 = (size_t)o->depth + 1;
    if (o->act->fam == DW_FAM_GENERIC) {
        p->nf = GEN_NF;
        p->target = DW_DUAL_TARGET;
        p->kl = dw_calloc(L1, sizeof(int), "series orders");
        p->stats = dw_calloc(1, sizeof(gen_stats), "kernel statistics");
        p->cache = dw_calloc(1, sizeof(gen_cache), "Hermite node cache");
        if (!p->kl || !p->stats || !p->cache) {
            dw_kernel_plan_clear(p);
            return DW_ERR_NOMEM;
        }
    }
    p->w = dw_alloc(L1, sizeof(double), "layer variances");
    p->beta = dw_alloc(L1, sizeof(double), "layer variances");
    p->fan_in = dw_alloc(L1, sizeof(double), "layer widths");
    if (!p->w || !p->beta || !p->fan_in) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t l = 0; l < L1; l++) {
        p->w[l] = o->weight_var[o->n_weight_var == 1 ? 0 : l];
        p->beta[l] = o->bias_var[o->n_bias_var == 1 ? 0 : l];
        p->fan_in[l] = l == 0 ? (double)d : p->standard ? o->width[o->n_width == 1 ? 0 : l - 1] : 0.0;
    }
    s = side_init(p, &p->X, X, n, "X");
    if (!s) {
        if (p->symmetric)
            p->Y = p->X;
        else
            s = side_init(p, &p->Y, Y, m, "Y");
    }
    if (s) {
        dw_kernel_plan_clear(p);
        return s;
    }
    if (p->act->fam == DW_FAM_GENERIC) generic_orders(p);
    *out = p;
    return DW_OK;
}

/* s = sin^2(theta/2), t = cos^2(theta/2) of the angle between the augmented inputs (sqrt(w/d) x, sqrt(b)) of a
 * nearly parallel (rho > 0) or antiparallel pair, exact to rounding of the inputs: sin^2 theta = |x~ ^ y~|^2/(ab)
 * from the wedge product written as x_k y_l - x_l y_k = m_k e_l - m_l e_k with e = y -+ x (exact by Sterbenz for
 * near-duplicates) and m = (x +- y)/2, or directly where that is more accurate (norms far apart); both forms are
 * symmetric under swapping x and y; then s = sin^2 / (2 (1 + cos)). O(d^2) per
 * refined pair; above DW_WEDGE_MAX_D the O(d) chord |xh - yh|^2 of the normalised vectors is used instead. */
#define DW_WEDGE_MAX_D 256
static void refine_pair(const dw_kernel_plan *p, size_t i, size_t j, double rho, double *s, double *t)
{
    const size_t d = p->d;
    const double *x = p->X.x + i * d, *y = p->Y.x + j * d;
    if (d > DW_WEDGE_MAX_D) {
        const double fi = p->X.fx[2 * i], fj = p->Y.fx[2 * j], bi = p->X.fx[2 * i + 1], bj = p->Y.fx[2 * j + 1];
        double S = (bi - bj) * (bi - bj), T = (bi + bj) * (bi + bj);
        for (size_t k = 0; k < d; k++) {
            double dm = fi * x[k] - fj * y[k], dp = fi * x[k] + fj * y[k];
            S += dm * dm;
            T += dp * dp;
        }
        *s = S / (S + T);
        *t = T / (S + T);
        return;
    }
    const double sg = rho >= 0 ? 1.0 : -1.0, wd = p->w[0] / (double)d, b0 = p->beta[0];
    /* Rounding error of the summands: ~eps |x||y| directly, ~eps |m||e| in the midpoint form; take the smaller. */
    double xx = 0, yy = 0, mm = 0, ee = 0;
    for (size_t k = 0; k < d; k++) {
        const double ek = y[k] - sg * x[k], mk = 0.5 * (x[k] + sg * y[k]);
        xx += x[k] * x[k];
        yy += y[k] * y[k];
        mm += mk * mk;
        ee += ek * ek;
    }
    const int midpoint = mm * ee < xx * yy;
    double wedge = 0.0, bias = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double ek = y[k] - sg * x[k], mk = 0.5 * (x[k] + sg * y[k]);
        for (size_t l = k + 1; l < d; l++) {
            double q;
            if (midpoint) {
                const double el = y[l] - sg * x[l], ml = 0.5 * (x[l] + sg * y[l]);
                q = mk * el - ml * ek;
            } else {
                q = x[k] * y[l] - x[l] * y[k];
            }
            wedge += q * q;
        }
        const double dk = x[k] - y[k]; /* the bias coordinate's wedge components sqrt(wd b) (x_k - y_k) */
        bias += dk * dk;
    }
    const double a = field(p, &p->X, 0, F_A)[i], b = field(p, &p->Y, 0, F_A)[j];
    const double sin2 = fmin((wd * wd * wedge + wd * b0 * bias) / a / b, 1.0);
    const double near = sin2 / (2.0 * (1.0 + fabs(rho)));
    *s = rho >= 0 ? near : 1.0 - near;
    *t = rho >= 0 ? 1.0 - near : near;
}

static dw_status check_finite(const double *v, size_t ni, size_t nj, size_t njp, size_t i0, size_t j0, int layer,
                              const char *what)
{
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            if (!isfinite(v[i * njp + j]))
                return dw_fail(DW_ERR_RANGE,
                               "kernel overflows: %s(x_%zu, y_%zu) is not finite at layer %d; reduce the depth or "
                               "the variances",
                               what, i0 + i + 1, j0 + j + 1, layer);
    return DW_OK;
}

/* Write a tile. Symmetric Gram matrices (sym): entries with j >= i go to (i, j) and those with j > i also to
 * (j, i), so every entry is written exactly once, from cache, with no separate mirror pass. out points at entry
 * (i0, j0) with leading dimension ld. */
static void store(double *out, size_t ld, const double *v, size_t ni, size_t nj, size_t njp, int sym, size_t i0,
                  size_t j0)
{
    if (!sym) {
        for (size_t i = 0; i < ni; i++) memcpy(out + i * ld, v + i * njp, nj * sizeof(double));
        return;
    }
    double *origin = out - i0 * ld - j0; /* entry (0, 0) */
    for (size_t i = 0; i < ni; i++) {
        const size_t gi = i0 + i, jstart = gi > j0 ? gi - j0 : 0;
        if (jstart < nj) memcpy(origin + gi * ld + j0 + jstart, v + i * njp + jstart, (nj - jstart) * sizeof(double));
    }
    for (size_t j = 0; j < nj; j++) {
        const size_t gj = j0 + j;
        for (size_t i = 0; i < ni && i0 + i < gj; i++) origin[gj * ld + i0 + i] = v[i * njp + j];
    }
}

/* Generic activations, one row after the series step: entries whose series bound (in bnd) misses the target are
 * recomputed from their layer-l state (c0, th0) by the certified pairwise route (2-D quadrature). */
static dw_status generic_fix(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i, size_t j0, size_t nj,
                             const double *bnd, const double *c0, const double *th0, double *c, double *th,
                             gen_stats *gs)
{
    const double *ai = field(p, &p->X, l, F_A), *aj = field(p, &p->Y, l, F_A);
    const double *gi = field(p, &p->X, l, GEN_GB), *gj = field(p, &p->Y, l, GEN_GB);
    const size_t si = p->X.np, sj = p->Y.np;
    gs->evaluations += nj;
    for (size_t j = 0; j < nj; j++) {
        double b = bnd[j];
        if (p->symmetric && i == j0 + j) {
            /* the pair (x, x): E[phi(u)^2] and E[phi'(u)^2] of the per-point expansion (no series) */
            const double V = gi[i] * gi[i], Vd = gi[3 * si + i] * gi[3 * si + i], cn = sp->w * V + sp->beta;
            c[j] = cn;
            if (sp->ntk) th[j] = (sp->standard ? sp->fan_in * V + sp->has_bias : cn) + sp->w * Vd * th0[j];
            /* bound: the errors of E phi^2, E phi'^2 (slow convergence of the rules at a kink can leave them
             * above the target: then the pair goes to the 2-D routes below, at rho = 1) */
            const double rb = fmax(V > 0 ? gi[6 * si + i] / V : 0.0, Vd > 0 ? gi[7 * si + i] / Vd : 0.0);
            if (rb <= p->target) {
                if (rb > gs->max_bound) gs->max_bound = rb;
                continue;
            }
            b = rb;
        }
        if (b > p->target) {
            double V, Vd, bv, bd;
            const double lim = sqrt(ai[i]) * sqrt(aj[j0 + j]), cc = fmin(fmax(c0[j], -lim), lim);
            const double sc = gi[i] * gj[j0 + j], scd = gi[3 * si + i] * gj[3 * sj + j0 + j];
            dw_status st = dw_act_dual_fix(p->act, ai[i], aj[j0 + j], cc, p->target, sc, scd, &V, &Vd, &bv, &bd);
            if (st) return st;
            const double rb = fmax(sc > 0 ? bv / sc : bv > 0 ? INFINITY : 0.0,
                                   scd > 0 ? bd / scd : bd > 0 ? INFINITY : 0.0);
            if (rb < b) {
                const double cn = sp->w * V + sp->beta;
                c[j] = cn;
                if (sp->ntk) {
                    const double base = sp->standard ? sp->fan_in * V + sp->has_bias : cn;
                    th[j] = base + sp->w * Vd * th0[j];
                }
                b = rb;
                gs->quadrature++;
                gs->routes |= 1;
            }
        }
        if (b > gs->max_bound) gs->max_bound = b;
    }
    return DW_OK;
}

static dw_status tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K, double *Theta,
                      size_t ld, size_t layer_stride, int sym)
{
    if (!p || (!K && !Theta)) return dw_fail(DW_ERR_INVALID, "kernel tile: NULL plan or no output");
    if (i1 < i0 || j1 < j0 || i1 > p->X.n || j1 > p->Y.n)
        return dw_fail(DW_ERR_INVALID, "kernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram matrix",
                       i0, i1, j0, j1, p->X.n, p->Y.n);
    const size_t ni = i1 - i0, nj = j1 - j0, njp = (nj + 3) & ~(size_t)3;
    if (!ni || !nj) return DW_OK;
    if (nj > ld && (ni > 1 || p->all_layers)) return dw_fail(DW_ERR_INVALID, "kernel tile: ld %zu < %zu columns", ld, nj);
    const int ntk = Theta != NULL, homog = dw_act_homogeneous(p->act), generic = p->act->fam == DW_FAM_GENERIC;
    gen_stats gs = {0, 0, 0, 0};
    const size_t sz = ni * njp;
    double *buf = dw_alloc(5 * sz, sizeof(double), "kernel tile");
    if (!buf) return DW_ERR_NOMEM;
    double *g = buf, *s = buf + sz, *t = buf + 2 * sz, *c = buf + 3 * sz, *th = buf + 4 * sz;

    /* Layer 1 from the inner products. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)p->d, 1.0, p->X.x + i0 * p->d,
                (int)p->d, p->Y.x + j0 * p->d, (int)p->d, 0.0, g, (int)njp);
    const double wd = p->w[0] / (double)p->d, b0 = p->beta[0], hb0 = b0 > 0 ? 1.0 : 0.0;
    const double *ihx = field(p, &p->X, 0, F_IH), *ihy = field(p, &p->Y, 0, F_IH);
    for (size_t i = 0; i < ni; i++) {
        for (size_t j = 0; j < njp; j++) {
            const size_t e = i * njp + j;
            if (j >= nj) { /* padding lanes: harmless values */
                c[e] = th[e] = 0.0;
                s[e] = t[e] = 0.5;
                continue;
            }
            c[e] = wd * g[e] + b0;
            th[e] = p->standard ? g[e] + hb0 : c[e];
            if (homog) {
                const double ih = ihx[i0 + i] * ihy[j0 + j];
                if (ih == 0.0) {
                    s[e] = t[e] = 0.5;
                    continue;
                }
                const double rho = c[e] * ih;
                s[e] = fmin(fmax(0.5 - 0.5 * rho, 0.0), 1.0);
                t[e] = fmin(fmax(0.5 + 0.5 * rho, 0.0), 1.0);
                if (fmin(s[e], t[e]) < DW_REFINE_BELOW) refine_pair(p, i0 + i, j0 + j, rho, &s[e], &t[e]);
            }
        }
    }
    dw_status st = DW_OK;
    for (int l = 0;; l++) {
        if (p->all_layers || l == p->depth) {
            size_t off = p->all_layers ? (size_t)l * layer_stride : 0;
            if (K) {
                if ((st = check_finite(c, ni, nj, njp, i0, j0, l + 1, "K"))) break;
                store(K + off, ld, c, ni, nj, njp, sym, i0, j0);
            }
            if (Theta) {
                if ((st = check_finite(th, ni, nj, njp, i0, j0, l + 1, "Theta"))) break;
                store(Theta + off, ld, th, ni, nj, njp, sym, i0, j0);
            }
        }
        if (l == p->depth) break;
        dw_pts px = pts_of(p, &p->X, l), py = pts_of(p, &p->Y, l);
        dw_step sp = step_of(p, l, ntk);
        dw_row_fn fn = homog ? p->impl->homog : p->impl->smooth;
        for (size_t i = 0; i < ni; i++) {
            /* Symmetric Gram: only entries with j >= i are stored, so start each row there (4-aligned). */
            const size_t js = sym && i0 + i > j0 ? ((i0 + i - j0) & ~(size_t)3) : 0;
            if (js >= nj) continue;
            if (generic) { /* keep the layer-l state of the row for entries the series cannot certify */
                memcpy(g + i * njp + js, c + i * njp + js, (nj - js) * sizeof(double));
                if (ntk) memcpy(t + i * njp + js, th + i * njp + js, (nj - js) * sizeof(double));
            }
            fn(&sp, nj - js, &px, i0 + i, &py, j0 + js, s + i * njp + js, t + i * njp + js, c + i * njp + js,
               th + i * njp + js);
            if (generic && (st = generic_fix(p, &sp, l, i0 + i, j0 + js, nj - js, s + i * njp + js, g + i * njp + js,
                                             t + i * njp + js, c + i * njp + js, th + i * njp + js, &gs)))
                break;
        }
        if (st) break;
    }
    if (generic) {
#pragma omp critical(dw_kernel_stats)
        {
            gen_stats *S = p->stats;
            if (gs.max_bound > S->max_bound) S->max_bound = gs.max_bound;
            S->evaluations += gs.evaluations;
            S->quadrature += gs.quadrature;
            S->routes |= gs.routes;
        }
    }
    free(buf);
    return st;
}

dw_status dw_kernel_tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, size_t ld, size_t layer_stride)
{
    return tile(p, i0, i1, j0, j1, K, Theta, ld, layer_stride, 0);
}

double dw_kernel_gram_bytes(const dw_kernel_opts *o, size_t n, size_t m, int nngp, int ntk)
{
    if (!o) return 0.0;
    double layers = o->all_layers ? (double)o->depth + 1.0 : 1.0;
    double out = (double)n * (double)m * layers * (double)((nngp ? 1 : 0) + (ntk ? 1 : 0)) * 8.0;
    double nf = F_POLY + (o->act && o->act->fam == DW_FAM_POLY ? 2.0 * (o->act->deg + 1) : 0.0);
    if (o->act && o->act->fam == DW_FAM_GENERIC) nf = GEN_NF;
    double fields = ((double)n + (double)m + 2.0 * DW_PAD) * ((double)o->depth + 1.0) * nf * 8.0;
    return out + fields;
}

#define TILE_I 32
#define TILE_J 256

dw_status dw_kernel_gram(const dw_kernel_opts *o, const double *X, size_t n, const double *Y, size_t m, size_t d,
                         double *K, double *Theta)
{
    if (!K && !Theta) return dw_fail(DW_ERR_INVALID, "kernel: no output requested (K and Theta are both NULL)");
    if (!Y) m = n;
    dw_kernel_plan *p;
    dw_status s = dw_kernel_plan_init(&p, o, X, n, Y, m, d);
    if (s) return s;
    const size_t bi = (n + TILE_I - 1) / TILE_I, bj = (m + TILE_J - 1) / TILE_J;
    size_t nb = 0;
    size_t *blocks = dw_alloc(bi * bj + 1, 2 * sizeof(size_t), "tile list");
    if (!blocks) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t a = 0; a < bi; a++)
        for (size_t b = 0; b < bj; b++)
            if (!p->symmetric || (b + 1) * TILE_J > a * TILE_I) { /* symmetric: blocks holding some j >= i */
                blocks[2 * nb] = a;
                blocks[2 * nb + 1] = b;
                nb++;
            }
    const size_t lstride = n * m;
    dw_status err = DW_OK;
    size_t err_block = SIZE_MAX;
    char err_msg[1024] = "";
    const int threads = dw_core_threads(o->threads);
    /* Tiles are the unit of parallelism; OpenBLAS (OpenMP build) runs single-threaded inside this region. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t k = 0; k < nb; k++) {
        const size_t i0 = blocks[2 * k] * TILE_I, j0 = blocks[2 * k + 1] * TILE_J;
        const size_t i1 = i0 + TILE_I < n ? i0 + TILE_I : n, j1 = j0 + TILE_J < m ? j0 + TILE_J : m;
        dw_status ts = tile(p, i0, i1, j0, j1, K ? K + i0 * m + j0 : NULL, Theta ? Theta + i0 * m + j0 : NULL, m,
                            lstride, p->symmetric);
        if (ts) {
#pragma omp critical(dw_kernel_err)
            if (k < err_block) { /* report the first failing tile, whatever the schedule */
                err_block = k;
                err = ts;
                snprintf(err_msg, sizeof err_msg, "%s", dw_error_message());
            }
        }
    }
    if (!err && p->symmetric && K) {
        /* The diagonal is the per-point recursion itself (the tiles agree with it to rounding). */
        const size_t L1 = p->all_layers ? (size_t)p->depth + 1 : 1;
        for (size_t l = 0; l < L1; l++) {
            const double *a = field(p, &p->X, p->all_layers ? (int)l : p->depth, F_A);
            for (size_t i = 0; i < n; i++) K[l * lstride + i * n + i] = a[i];
        }
    }
    if (!err && o->info) {
        dw_kernel_info *info = o->info;
        memset(info, 0, sizeof *info);
        info->method = p->act->method;
        if (p->stats) {
            info->max_bound = p->stats->max_bound;
            info->target = p->target;
            info->evaluations = p->stats->evaluations;
            info->quadrature = p->stats->quadrature;
            for (int l = 0; l <= p->depth; l++)
                if (p->kl[l] > info->series_terms) info->series_terms = p->kl[l];
            info->method = p->stats->routes ? dw_act_fix_method(p->act) : "Hermite series (Mehler) with Parseval tail bound";
        }
    }
    free(blocks);
    dw_kernel_plan_clear(p);
    if (err) return dw_fail(err, "%s", err_msg);
    return DW_OK;
}
