/* Generic activations (theory.md 1.5b), per layer of a plan: the Hermite coefficients of phi and phi' at every
 * point's variance (directly, or interpolated on a lattice of panels whose node expansions are cached in the
 * plan), the next layer's variances, and the Mehler order of every layer. */
#include "kernels/kernel.h"

#include "core/par.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Expansions at the lattice nodes, shared by both sides and all layers of a plan. */
#define GEN_LEVELS 12 /* panels are halved at most this many times */

void dw_kern_cache_free(gen_cache *c)
{
    if (!c) return;
    free(c->q);
    free(c->rec);
    free(c);
}

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

/* The parallel loops below, as dw_par_for items (each result depends on its own variance only). */
typedef struct expand_job {
    const dw_kernel_plan *p;
    const double *q;      /* variances to expand, or NULL: u[idx[x]] */
    const double *u;
    const size_t *idx;
    double *out;          /* records, GEN_PER each: out + (base + x) * GEN_PER, or out + idx[x] * GEN_PER */
    double *out_q;        /* where to store the variance expanded (node cache), or NULL */
    size_t base;
} expand_job;

static dw_status expand_item(void *ctx, size_t x, int tid)
{
    const expand_job *j = ctx;
    (void)tid;
    if (j->q) { /* lattice nodes into the cache */
        j->out_q[j->base + x] = j->q[x];
        return dw_kern_expand_one(j->p->act, j->q[x], j->out + (j->base + x) * GEN_PER);
    }
    const size_t k = j->idx[x];
    return dw_kern_expand_one(j->p->act, j->u[k], j->out + k * GEN_PER);
}

typedef struct interp_job {
    const double *node, *nsc, *tn, *nerr, *est, *u;
    double *co;
    int *done;
    size_t lo, hi;
} interp_job;

#define INTERP_CHUNK 1024

static dw_status interp_item(void *ctx, size_t x, int tid)
{
    const interp_job *j = ctx;
    (void)tid;
    const size_t k0 = j->lo + x * INTERP_CHUNK, k1 = k0 + INTERP_CHUNK < j->hi ? k0 + INTERP_CHUNK : j->hi;
    for (size_t k = k0; k < k1; k++)
        dw_kern_interp_one(j->node, j->nsc, j->tn, j->nerr, j->est, j->u[k], j->co + k * GEN_PER, &j->done[k]);
    return DW_OK;
}

typedef struct fix_job {
    const dw_kernel_plan *p;
    const double *u;
    const size_t *idx;
    double *co;
} fix_job;

/* E phi^2 and E phi'^2 at rho = 1 from the certified 2-D routes, where the rules' estimate misses the target. */
static dw_status fix_item(void *ctx, size_t x, int tid)
{
    const fix_job *j = ctx;
    (void)tid;
    const size_t k = j->idx[x];
    double *g = j->co + k * GEN_PER + GEN_NC;
    double V, Vd, bv, bd;
    dw_status st = dw_act_dual_fix(j->p->act, j->u[k], j->u[k], j->u[k], j->p->target, g[0] * g[0], g[3] * g[3], &V,
                                   &Vd, &bv, &bd);
    if (st) return st;
    if (bv < g[6] && V >= 0) g[0] = sqrt(V), g[6] = bv;
    if (bd < g[7] && Vd >= 0) g[3] = sqrt(Vd), g[7] = bd;
    return DW_OK;
}

/* Generic activations, layer l: Hermite coefficients of phi and phi' at each distinct variance (directly, or
 * by interpolation across variances when there are many), copied to the points, and the next layer's variances
 * a' = w E[phi^2] + beta. Parallel over values; each value's result depends on nothing else. */
dw_status dw_kern_generic_layer(const dw_kernel_plan *p, side *sd, int l, const char *name)
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
    char msg[1024] = "";
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
        double tn[GEN_M + 1], nerr[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
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
        if (p->cache->n + (size_t)nmiss > GEN_CACHE_MAX) continue;  /* the cache is full: likewise */
        if (nmiss) {
            if (gen_cache_reserve(p->cache, (size_t)nmiss)) {
                err = DW_ERR_NOMEM;
                break;
            }
            gen_cache *gc = p->cache;
            const size_t base = gc->n;
double qs[GEN_M + 1];
            for (int x = 0; x < nmiss; x++) qs[x] = exp(tn[miss[x]]);
            expand_job job = {p, qs, NULL, NULL, gc->rec, gc->q, base};
            err = dw_par_for((size_t)nmiss, p->threads, expand_item, &job);
            if (err) snprintf(msg, sizeof msg, "%s", dw_error_message());
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
            for (int f = 0; f < 4; f++) nerr[6 + f] = fmax(nerr[6 + f], g[8 + f]); /* their split (ebound_series.c) */
            nerr[2] = fmax(nerr[2], g[6]); /* the nodes' errors of E phi^2, E phi'^2 */
            nerr[3] = fmax(nerr[3], g[7]);
            /* the error parts of the nodes' tails: sum_k 2 |a_k| da_k + ... (weighted by |a_k|, so much smaller
             * than the Cauchy-Schwarz 2 sqrt(E phi^2) |da| when the errors sit at large k) */
            nerr[4] = fmax(nerr[4], g[1] - fmax(g[0] * g[0] - sa, 0.0));
            nerr[5] = fmax(nerr[5], g[4] - fmax(g[3] * g[3] - sb, 0.0));
        }
        double est[2 * GEN_NC + 2];
        dw_kern_interp_panel(node, tn, nsc, est);
        interp_job ij = {node, nsc, tn, nerr, est, u, co, done, lo, hi};
        (void)dw_par_for((hi - lo + INTERP_CHUNK - 1) / INTERP_CHUNK, hi - lo >= 4096 ? p->threads : 1, interp_item,
                         &ij); /* cannot fail */
        size_t ok = 0;
        for (size_t k = lo; k < hi; k++) ok += (size_t)done[k];
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
    for (size_t k = 0; k < nu; k++) p->stats->interpolated += (size_t)done[k];
    /* The values left (and below, those whose E phi^2 needs the 2-D routes), listed first, so that the parallel
     * loops see only real work (fewer idle threads at a barrier on a loaded machine). */
    size_t *todo = err ? NULL : dw_alloc(nu + 1, sizeof(size_t), "Hermite coefficient cache");
    size_t ntodo = 0;
    if (!err && !todo) err = DW_ERR_NOMEM;
    if (!err) {
        for (size_t k = 0; k < nu; k++)
            if (!done[k]) todo[ntodo++] = k;
expand_job job = {p, NULL, u, todo, co, NULL, 0};
        err = dw_par_for(ntodo, p->threads, expand_item, &job);
        if (err) snprintf(msg, sizeof msg, "%s", dw_error_message());
    }
    if (!err) {
        /* E phi^2 and E phi'^2 give the diagonal and the next layer's variances: where the rules' error estimate
         * misses the target (slow convergence at a kink: elu, selu), take them from the 2-D routes at rho = 1 */
        ntodo = 0;
        for (size_t k = first; k < nu; k++) {
            const double *g = co + k * per + GEN_NC;
            if (!(g[6] <= p->target * g[0] * g[0] && g[7] <= p->target * g[3] * g[3])) todo[ntodo++] = k;
        }
fix_job fj = {p, u, todo, co};
        err = dw_par_for(ntodo, p->threads, fix_item, &fj);
        if (err) snprintf(msg, sizeof msg, "%s", dw_error_message());
    }
    if (!err) {
        double *an = field(p, sd, l + 1, F_A); /* l < depth: the output layer has no activation */
        for (size_t i = 0; i < np; i++) {
            /* binary search of a[i] among the distinct values */
            size_t lo = 0, hi = nu;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (u[mid] <= a[i]) lo = mid; else hi = mid;
            }
            const double *cv = co + lo * per;
            for (size_t f = 0; f < GEN_REC; f++) field(p, sd, l, F_POLY + f)[i] = cv[f];
            for (size_t f = 0; f < 4; f++) field(p, sd, l, GX_UA + f)[i] = cv[GEN_REC + f];
            field(p, sd, l, GX_TA)[i] = cv[GEN_NC + 1]; /* the tails after DW_GAUSS_K terms (orders rewrites them) */
            field(p, sd, l, GX_TB)[i] = cv[GEN_NC + 4];
            const double e2 = cv[GEN_NC] * cv[GEN_NC];
            an[i] = p->w[l + 1] * e2 + p->beta[l + 1];
            if (i < sd->n && !isfinite(an[i])) {
                err = dw_fail(DW_ERR_RANGE, "kernel overflows: K(x, x) of %s row %zu is not finite at layer %d "
                                            "(activation %s)", name, i + 1, l + 2, p->act->name);
                break;
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

/* Generic activations, after both sides: the series order K of each layer with an activation (l < depth; the
 * smallest for which every point's Parseval tails are below target * E phi^2, so that the truncation bound at
 * |rho| = 1 meets the target; at most DW_GAUSS_K, where entries with |rho| near 1 fall back to quadrature) and the
 * tail factors at that order. */
void dw_kern_generic_orders(dw_kernel_plan *p)
{
    const double tol = p->target;
    for (int l = 0; l < p->depth; l++) {
        int K = 0;
        for (int sdi = 0; sdi < (p->symmetric ? 1 : 2); sdi++) {
            side *sd = sdi ? &p->Y : &p->X;
            const double *g = field(p, sd, l, GEN_GB);
            for (size_t i = 0; i < sd->n; i++) {
                double ta = g[sd->np + i], tb = g[4 * sd->np + i];
                const double ea = tol * g[i] * g[i], eb = tol * g[3 * sd->np + i] * g[3 * sd->np + i];
                int k = DW_GAUSS_K;
                while (k > K) { /* tails after k - 1 terms */
                    const double ak = field(p, sd, l, F_POLY + (size_t)k)[i];
                    const double bk = field(p, sd, l, GEN_B + (size_t)k)[i];
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
                    const double ak = field(p, sd, l, F_POLY + (size_t)k)[i];
                    const double bk = field(p, sd, l, GEN_B + (size_t)k)[i];
                    ta += ak * ak;
                    tb += bk * bk;
                }
                g[sd->np + i] = tc[(size_t)C * sd->np + i];
                g[4 * sd->np + i] = tc[(size_t)(DW_GEN_NCP + C) * sd->np + i];
            }
        }
    }
}
