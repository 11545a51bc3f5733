/* Operator graphs and the expansion of a network with polynomial activation (theory.md 4.3).
 *
 * Trees route. h^1_i = b^1_i + sum_a W^1_{ia} x_a and h^{l+1}_i = b^{l+1}_i + sum_k c_k sum_j W^{l+1}_{ij}
 * (h^l_j)^k: every pre-activation is a finite sum of trees (a bias leaf, or a weight edge to a vertex j carrying k
 * ordered level-l subtrees and the coefficient c_k; at level 1 the edge ends at the input). Orderings of the same
 * children give equal terms, so a tree keeps its children as a multiset and its coefficient counts the orderings
 * (k! / prod of the multiplicities'  factorials). E[f(x) f(y)] is the
 * sum over pairs of level-(L+1) trees (the first read at x, the second at y, sharing the output vertex) of their
 * Wick expectation: pairings of the weight edges of one layer (and of the biases of one layer) glue the two trees
 * into a connected graph. With V its hidden vertex classes other than the output and E_h its glued hidden-layer
 * weight edges, a pairing weighs N^{V - E_h} sw^{#W} sb^{#b} prod q (q = <x,y>/d, <x,x>/d or <y,y>/d for each glued
 * input edge); the glued graph's Euler characteristic is chi = V_all - E_all = 1 + V - E_h, so the power of N is
 * chi - 1 = minus its number of independent cycles.
 *
 * Conditional route. Given layer l - 1, the units of h^l are i.i.d. N(0, sw G^{l-1} + sb) with G^{l-1} the empirical
 * Gram (G^0 = the input Gram). E[f(x) f(y)] = sw E[G^L_xy] + sb; a monomial of G^l entries has the conditional
 * expectation N^{-k} sum over set partitions of its k factors of N(N-1)...(N-|pi|+1) prod_blocks E[phi(u)^alpha
 * phi(v)^beta], a polynomial in the covariance (Isserlis), hence in G^{l-1}. Exact rational polynomials in
 * (G_xx, G_xy, G_yy, 1/N) by FLINT's fmpq_mpoly. */
#include "wick/wick.h"

#include <flint/fmpq_mpoly.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXPAND_MAX_PAIRS 4000000.0  /* tree pairs */
#define EXPAND_MAX_EDGES 96
#define EXPAND_MAX_RECORD 20000
#define EXPAND_MAX_WORK 3e7 /* Wick pairings summed over the tree pairs */

typedef struct tnode {
    int kind;  /* 0 bias, 1 weight edge */
    int k;     /* children (level >= 2) */
    int first; /* into the level's pool */
} tnode;

typedef struct tlevel {
    tnode *t;
    int n;
    int *pool;
    size_t npool;
    fmpq *coef; /* product of c_k over the tree's vertices */
    int *cnt;   /* n x (2 * (L + 2)): edges per (layer, kind) */
} tlevel;

typedef struct gedge {
    int layer, kind, parent, child, side;
} gedge;

typedef struct hclass {
    int power, a, b; /* N^power, q_xx^a q_xy^b q_yy^(nW1 - a - b) */
    uint64_t count;
} hclass;

typedef struct term {
    int t1, t2;
    int n_cls;
    hclass *cls;
    int *rep; /* a leading pairing: partner per edge */
    int n_edges, nW1;
    fmpq_t weight; /* coef(T1) coef(T2) sw^#W sb^#b */
} term;

struct dw_wick_expansion {
    int L, K;
    fmpq *c;
    fmpq_t sw, sb, q[3];
    int deg;
    fmpq *u; /* coefficient of N^{-k} */
    tlevel *lev;
    int record;
    term *terms;
    size_t n_terms, cap_terms;
    int truncated;
    char *coef_str, *json, *dot;
};

/* ---------------------------------------------------------------------------------------------------------- */

static void fmpq_set_double(fmpq_t out, double x)
{
    if (x == 0) {
        fmpq_zero(out);
        return;
    }
    int e;
    double m = frexp(x, &e);
    fmpz_t z;
    fmpz_init(z);
    fmpz_set_d(z, ldexp(m, 53));
    fmpq_set_fmpz(out, z);
    e -= 53;
    if (e > 0) fmpq_mul_2exp(out, out, (flint_bitcnt_t)e);
    else if (e < 0) fmpq_div_2exp(out, out, (flint_bitcnt_t)(-e));
    fmpz_clear(z);
}

void dw_wick_expansion_clear(dw_wick_expansion *e)
{
    if (!e) return;
    if (e->c) {
        for (int k = 0; k <= e->K; k++) fmpq_clear(e->c + k);
        free(e->c);
    }
    fmpq_clear(e->sw);
    fmpq_clear(e->sb);
    for (int i = 0; i < 3; i++) fmpq_clear(e->q[i]);
    if (e->u) {
        for (int k = 0; k <= e->deg; k++) fmpq_clear(e->u + k);
        free(e->u);
    }
    if (e->lev) {
        for (int l = 1; l <= e->L + 1; l++) {
            tlevel *t = e->lev + l;
            if (t->coef)
                for (int i = 0; i < t->n; i++) fmpq_clear(t->coef + i);
            free(t->coef);
            free(t->t);
            free(t->pool);
            free(t->cnt);
        }
        free(e->lev);
    }
    for (size_t i = 0; i < e->n_terms; i++) {
        free(e->terms[i].cls);
        free(e->terms[i].rep);
        fmpq_clear(e->terms[i].weight);
    }
    free(e->terms);
    free(e->coef_str);
    free(e->json);
    free(e->dot);
    free(e);
}

static dw_status result_add(dw_wick_expansion *e, int k, const fmpq_t v)
{
    if (k > e->deg) {
        fmpq *n = realloc(e->u, (size_t)(k + 1) * sizeof(fmpq));
        if (!n) return dw_fail(DW_ERR_NOMEM, "out of memory");
        for (int j = e->deg + 1; j <= k; j++) fmpq_init(n + j);
        e->u = n;
        e->deg = k;
    }
    fmpq_add(e->u + k, e->u + k, v);
    return DW_OK;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* trees                                                                                                      */

/* number of multisets of size k from n kinds: C(n + k - 1, k) */
static double multisets(int n, int k)
{
    double r = 1;
    for (int j = 1; j <= k; j++) r = r * (n + k - j) / j;
    return r;
}

static dw_status build_trees(dw_wick_expansion *e)
{
    const int L = e->L, nl = 2 * (L + 2);
    e->lev = calloc((size_t)L + 2, sizeof(tlevel));
    if (!e->lev) return dw_fail(DW_ERR_NOMEM, "out of memory");
    for (int l = 1; l <= L + 1; l++) {
        tlevel *T = e->lev + l;
        double count = 1;
        if (l == 1) count = 2;
        else
            for (int k = 0; k <= e->K; k++)
                if (!fmpq_is_zero(e->c + k)) count += multisets(e->lev[l - 1].n, k);
        if (count > 5e6 || count != count)
            return dw_fail(DW_ERR_INVALID,
                           "expand: %.3g trees at layer %d, above the limit 5e6 of the trees route; use the "
                           "conditional route (or a smaller depth or degree)", count, l);
        T->n = (int)count;
        T->t = calloc((size_t)T->n, sizeof(tnode));
        T->coef = calloc((size_t)T->n, sizeof(fmpq));
        T->cnt = calloc((size_t)T->n * (size_t)nl, sizeof(int));
        if (!T->t || !T->coef || !T->cnt) return dw_fail(DW_ERR_NOMEM, "out of memory (trees)");
        for (int i = 0; i < T->n; i++) {
            fmpq_init(T->coef + i);
            fmpq_one(T->coef + i);
        }
        /* node 0: the bias */
        T->t[0].kind = 0;
        T->cnt[0 * nl + 2 * l + 1] = 1;
        if (l == 1) {
            T->t[1].kind = 1;
            T->cnt[1 * nl + 2 * 1 + 0] = 1;
            continue;
        }
        size_t pool_need = 0;
        for (int k = 0; k <= e->K; k++)
            if (!fmpq_is_zero(e->c + k)) pool_need += (size_t)k * (size_t)multisets(e->lev[l - 1].n, k);
        T->pool = malloc((pool_need ? pool_need : 1) * sizeof(int));
        if (!T->pool) return dw_fail(DW_ERR_NOMEM, "out of memory (trees)");
        const tlevel *S = e->lev + l - 1;
        int idx = 1;
        int tuple[64];
        for (int k = 0; k <= e->K; k++) {
            if (fmpq_is_zero(e->c + k)) continue;
            for (int j = 0; j < k; j++) tuple[j] = 0;
            for (;;) {
                tnode *nd = T->t + idx;
                nd->kind = 1;
                nd->k = k;
                nd->first = (int)T->npool;
                int *cnt = T->cnt + (size_t)idx * nl;
                cnt[2 * l] = 1;
                fmpq_set(T->coef + idx, e->c + k);
                /* the ordered children are summed up to order: k! / prod (multiplicity)! orderings */
                fmpz_t mult;
                fmpz_init(mult);
                fmpz_fac_ui(mult, (ulong)k);
                for (int j = 0, run = 1; j < k; j++) {
                    T->pool[T->npool++] = tuple[j];
                    fmpq_mul(T->coef + idx, T->coef + idx, S->coef + tuple[j]);
                    for (int q = 0; q < nl; q++) cnt[q] += S->cnt[(size_t)tuple[j] * nl + q];
                    if (j + 1 < k && tuple[j + 1] == tuple[j]) run++;
                    else {
                        for (int r = 2; r <= run; r++) fmpz_divexact_ui(mult, mult, (ulong)r);
                        run = 1;
                    }
                }
                fmpq_mul_fmpz(T->coef + idx, T->coef + idx, mult);
                fmpz_clear(mult);
                idx++;
                /* next non-decreasing tuple */
                int j = k - 1;
                while (j >= 0 && tuple[j] == S->n - 1) j--;
                if (j < 0) break;
                tuple[j]++;
                for (int q = j + 1; q < k; q++) tuple[q] = tuple[j];
            }
        }
    }
    return DW_OK;
}

typedef struct graph {
    gedge ed[EXPAND_MAX_EDGES];
    int ne, nv;
    int vlayer[EXPAND_MAX_EDGES + 1];
} graph;

static void flatten(const dw_wick_expansion *e, graph *g, int level, int idx, int parent, int side)
{
    const tnode *nd = e->lev[level].t + idx;
    if (g->ne >= EXPAND_MAX_EDGES) {
        g->ne = EXPAND_MAX_EDGES + 1;
        return;
    }
    if (nd->kind == 0) {
        g->ed[g->ne++] = (gedge){level, 1, parent, -1, side};
        return;
    }
    if (level == 1) {
        g->ed[g->ne++] = (gedge){1, 0, parent, -1, side};
        return;
    }
    int v = g->nv++;
    g->vlayer[v] = level - 1;
    g->ed[g->ne++] = (gedge){level, 0, parent, v, side};
    for (int j = 0; j < nd->k; j++) {
        flatten(e, g, level - 1, e->lev[level].pool[nd->first + j], v, side);
        if (g->ne > EXPAND_MAX_EDGES) return;
    }
}

typedef struct wstate {
    const graph *g;
    int partner[EXPAND_MAX_EDGES];
    int par[EXPAND_MAX_EDGES + 1], sz[EXPAND_MAX_EDGES + 1];
    int stack[2 * EXPAND_MAX_EDGES], nstack;
    int classes;
    int nq[3];
    int n_hid; /* glued hidden-layer weight pairs */
    int nW1;
    hclass *cls;
    int n_cls, cap_cls;
    int best_power;
    int rep[EXPAND_MAX_EDGES];
    int failed;
} wstate;

static int wfind(const wstate *s, int x)
{
    while (s->par[x] != x) x = s->par[x];
    return x;
}

static void wunite(wstate *s, int a, int b)
{
    a = wfind(s, a);
    b = wfind(s, b);
    if (a == b) return;
    if (s->sz[a] < s->sz[b]) {
        int t = a;
        a = b;
        b = t;
    }
    s->par[b] = a;
    s->sz[a] += s->sz[b];
    s->classes--;
    s->stack[s->nstack++] = b;
}

static void wrollback(wstate *s, int to)
{
    while (s->nstack > to) {
        int b = s->stack[--s->nstack];
        int a = s->par[b];
        s->sz[a] -= s->sz[b];
        s->par[b] = b;
        s->classes++;
    }
}

static void wleaf(wstate *s)
{
    int power = (s->classes - 1) - s->n_hid;
    for (int i = 0; i < s->n_cls; i++)
        if (s->cls[i].power == power && s->cls[i].a == s->nq[0] && s->cls[i].b == s->nq[1]) {
            s->cls[i].count++;
            goto rep;
        }
    if (s->n_cls == s->cap_cls) {
        int cap = s->cap_cls ? 2 * s->cap_cls : 8;
        hclass *c = realloc(s->cls, (size_t)cap * sizeof *c);
        if (!c) {
            s->failed = 1;
            return;
        }
        s->cls = c;
        s->cap_cls = cap;
    }
    s->cls[s->n_cls++] = (hclass){power, s->nq[0], s->nq[1], 1};
rep:
    if (power > s->best_power) {
        s->best_power = power;
        memcpy(s->rep, s->partner, sizeof s->rep);
    }
}

static void wdfs(wstate *s, int a)
{
    const graph *g = s->g;
    while (a < g->ne && s->partner[a] >= 0) a++;
    if (a >= g->ne) {
        wleaf(s);
        return;
    }
    const gedge *A = g->ed + a;
    for (int b = a + 1; b < g->ne; b++) {
        const gedge *B = g->ed + b;
        if (s->partner[b] >= 0 || B->layer != A->layer || B->kind != A->kind) continue;
        int mark = s->nstack;
        wunite(s, A->parent, B->parent);
        if (A->child >= 0) wunite(s, A->child, B->child);
        int qi = -1, hid = 0;
        if (A->kind == 0 && A->layer == 1) qi = A->side + B->side;
        if (A->kind == 0 && A->layer >= 2) hid = 1;
        if (qi >= 0) s->nq[qi]++;
        s->n_hid += hid;
        s->partner[a] = b;
        s->partner[b] = a;
        wdfs(s, a + 1);
        s->partner[a] = s->partner[b] = -1;
        if (qi >= 0) s->nq[qi]--;
        s->n_hid -= hid;
        wrollback(s, mark);
    }
}

static dw_status route_trees(dw_wick_expansion *e)
{
    dw_status st = build_trees(e);
    if (st) return st;
    const int L = e->L, nl = 2 * (L + 2);
    const tlevel *T = e->lev + L + 1;
    if ((double)T->n * T->n > EXPAND_MAX_PAIRS)
        return dw_fail(DW_ERR_INVALID,
                       "expand: %d trees make %.3g tree pairs, above the limit %.0e of the trees route; use the "
                       "conditional route", T->n, (double)T->n * T->n, EXPAND_MAX_PAIRS);
    /* the work: sum over tree pairs of prod over (layer, kind) of (m - 1)!! pairings */
    double work = 0;
    for (int i = 0; i < T->n; i++)
        for (int j = 0; j < T->n; j++) {
            const int *ci = T->cnt + (size_t)i * nl, *cj = T->cnt + (size_t)j * nl;
            double p = 1;
            for (int q = 0; q < nl && p > 0; q++) {
                int m = ci[q] + cj[q];
                if (m % 2) p = 0;
                for (int r = m - 1; r > 1; r -= 2) p *= r;
            }
            work += p;
        }
    if (work > EXPAND_MAX_WORK)
        return dw_fail(DW_ERR_INVALID,
                       "expand: the trees route would enumerate %.3g Wick pairings, above its limit %.0e; use the "
                       "conditional route", work, EXPAND_MAX_WORK);
    fmpq_t w, v, qp, t;
    fmpq_init(w);
    fmpq_init(v);
    fmpq_init(qp);
    fmpq_init(t);
    graph *g = malloc(sizeof *g);
    wstate *s = malloc(sizeof *s);
    if (!g || !s) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < T->n && !st; i++)
        for (int j = 0; j < T->n && !st; j++) {
            const int *ci = T->cnt + (size_t)i * nl, *cj = T->cnt + (size_t)j * nl;
            int odd = 0, nW = 0, nb = 0, nW1 = (ci[2] + cj[2]) / 2;
            for (int q = 0; q < nl; q++) {
                odd |= (ci[q] + cj[q]) & 1;
                if (q % 2) nb += ci[q] + cj[q];
                else nW += ci[q] + cj[q];
            }
            if (odd) continue;
            g->ne = 0;
            g->nv = 1; /* vertex 0: the output unit */
            g->vlayer[0] = L + 1;
            flatten(e, g, L + 1, i, 0, 0);
            if (g->ne <= EXPAND_MAX_EDGES) flatten(e, g, L + 1, j, 0, 1);
            if (g->ne > EXPAND_MAX_EDGES) {
                st = dw_fail(DW_ERR_INVALID, "expand: a tree pair has more than %d edges (trees route limit); use "
                                             "the conditional route", EXPAND_MAX_EDGES);
                break;
            }
            memset(s, 0, sizeof *s);
            s->g = g;
            for (int k = 0; k < g->ne; k++) s->partner[k] = -1;
            for (int k = 0; k < g->nv; k++) {
                s->par[k] = k;
                s->sz[k] = 1;
            }
            s->classes = g->nv;
            s->nW1 = nW1;
            s->best_power = -1000000;
            wdfs(s, 0);
            if (s->failed) {
                free(s->cls);
                st = dw_fail(DW_ERR_NOMEM, "out of memory");
                break;
            }
            /* weight: coef(T1) coef(T2) sw^{#W pairs} sb^{#b pairs} */
            fmpq_mul(w, T->coef + i, T->coef + j);
            fmpq_pow_si(t, e->sw, nW / 2);
            fmpq_mul(w, w, t);
            fmpq_pow_si(t, e->sb, nb / 2);
            fmpq_mul(w, w, t);
            for (int c = 0; c < s->n_cls && !st; c++) {
                const hclass *h = s->cls + c;
                fmpq_pow_si(qp, e->q[0], h->a);
                fmpq_pow_si(t, e->q[1], h->b);
                fmpq_mul(qp, qp, t);
                fmpq_pow_si(t, e->q[2], nW1 - h->a - h->b);
                fmpq_mul(qp, qp, t);
                fmpz_mul_ui(fmpq_numref(qp), fmpq_numref(qp), h->count);
                fmpq_canonicalise(qp);
                fmpq_mul(v, qp, w);
                st = result_add(e, -h->power, v);
            }
            if (e->record && s->n_cls && !st && !fmpq_is_zero(w)) {
                if (e->n_terms >= EXPAND_MAX_RECORD) {
                    e->truncated = 1;
                    free(s->cls);
                    continue;
                }
                if (e->n_terms == e->cap_terms) {
                    size_t cap = e->cap_terms ? 2 * e->cap_terms : 64;
                    term *nt = realloc(e->terms, cap * sizeof *nt);
                    if (!nt) {
                        free(s->cls);
                        st = dw_fail(DW_ERR_NOMEM, "out of memory");
                        break;
                    }
                    e->terms = nt;
                    e->cap_terms = cap;
                }
                term *tm = e->terms + e->n_terms++;
                tm->t1 = i;
                tm->t2 = j;
                tm->n_cls = s->n_cls;
                tm->cls = s->cls;
                tm->n_edges = g->ne;
                tm->nW1 = nW1;
                tm->rep = malloc((size_t)g->ne * sizeof(int));
                if (tm->rep) memcpy(tm->rep, s->rep, (size_t)g->ne * sizeof(int));
                fmpq_init(tm->weight);
                fmpq_set(tm->weight, w);
                s->cls = NULL;
            }
            free(s->cls);
        }
done:
    free(g);
    free(s);
    fmpq_clear(w);
    fmpq_clear(v);
    fmpq_clear(qp);
    fmpq_clear(t);
    return st;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* conditional route                                                                                          */

typedef struct cond {
    fmpq_mpoly_ctx_t ctx; /* variables g_xx, g_xy, g_yy, u = 1/N */
    int K;
    const fmpq *c;
    int amax;             /* memo dimension */
    fmpq_mpoly_struct **mom2; /* E[phi(u)^alpha phi(v)^beta] by alpha * (amax+1) + beta (lazy) */
    fmpq_mpoly_struct **R;    /* R(a,b,c)[nb] (lazy) */
    int *Rlen;
    int dim;
} cond;

static fmpq *phi_power(const cond *C, int alpha, int *deg)
{
    *deg = C->K * alpha;
    fmpq *p = malloc((size_t)(*deg + 1) * sizeof(fmpq)), *t = malloc((size_t)(*deg + 1) * sizeof(fmpq));
    if (!p || !t) {
        free(p);
        free(t);
        return NULL;
    }
    for (int i = 0; i <= *deg; i++) {
        fmpq_init(p + i);
        fmpq_init(t + i);
    }
    fmpq_one(p + 0);
    int cur = 0;
    fmpq_t x;
    fmpq_init(x);
    for (int a = 0; a < alpha; a++) {
        for (int i = 0; i <= cur + C->K; i++) fmpq_zero(t + i);
        for (int i = 0; i <= cur; i++)
            for (int k = 0; k <= C->K; k++) {
                fmpq_mul(x, p + i, C->c + k);
                fmpq_add(t + i + k, t + i + k, x);
            }
        cur += C->K;
        for (int i = 0; i <= cur; i++) fmpq_set(p + i, t + i);
    }
    fmpq_clear(x);
    for (int i = 0; i <= *deg; i++) fmpq_clear(t + i);
    free(t);
    return p;
}

static void free_qvec(fmpq *p, int deg)
{
    if (!p) return;
    for (int i = 0; i <= deg; i++) fmpq_clear(p + i);
    free(p);
}

/* E[phi(u)^alpha phi(v)^beta] as a polynomial in the covariance (s_uu, s_uv, s_vv) = variables 0, 1, 2 */
static const fmpq_mpoly_struct *moment2(cond *C, int alpha, int beta)
{
    int key = alpha * (C->amax + 1) + beta;
    if (C->mom2[key]) return C->mom2[key];
    fmpq_mpoly_struct *M = malloc(sizeof *M);
    if (!M) return NULL;
    fmpq_mpoly_init(M, C->ctx);
    int da, db;
    fmpq *A = phi_power(C, alpha, &da), *B = phi_power(C, beta, &db);
    if (!A || !B) {
        free_qvec(A, da);
        free_qvec(B, db);
        fmpq_mpoly_clear(M, C->ctx);
        free(M);
        return NULL;
    }
    fmpq_t x;
    fmpz_t z, bin;
    fmpq_init(x);
    fmpz_init(z);
    fmpz_init(bin);
    ulong ex[4] = {0, 0, 0, 0};
    fmpq_mpoly_t term;
    fmpq_mpoly_init(term, C->ctx);
    for (int i = 0; i <= da; i++) {
        if (fmpq_is_zero(A + i)) continue;
        for (int j = 0; j <= db; j++) {
            if (fmpq_is_zero(B + j)) continue;
            /* E[u^i v^j] = sum_m C(i,m) C(j,m) m! (i-m-1)!! (j-m-1)!! s_uu^{(i-m)/2} s_uv^m s_vv^{(j-m)/2} */
            for (int m = (i % 2); m <= i && m <= j; m += 2) {
                if ((j - m) % 2) continue;
                fmpz_bin_uiui(z, (ulong)i, (ulong)m);
                fmpz_bin_uiui(bin, (ulong)j, (ulong)m);
                fmpz_mul(z, z, bin);
                fmpz_fac_ui(bin, (ulong)m);
                fmpz_mul(z, z, bin);
                for (int r = i - m - 1; r > 1; r -= 2) fmpz_mul_ui(z, z, (ulong)r);
                for (int r = j - m - 1; r > 1; r -= 2) fmpz_mul_ui(z, z, (ulong)r);
                fmpq_mul(x, A + i, B + j);
                fmpq_mul_fmpz(x, x, z);
                ex[0] = (ulong)((i - m) / 2);
                ex[1] = (ulong)m;
                ex[2] = (ulong)((j - m) / 2);
                ex[3] = 0;
                fmpq_mpoly_zero(term, C->ctx);
                fmpq_mpoly_set_coeff_fmpq_ui(term, x, ex, C->ctx);
                fmpq_mpoly_add(M, M, term, C->ctx);
            }
        }
    }
    fmpq_mpoly_clear(term, C->ctx);
    fmpq_clear(x);
    fmpz_clear(z);
    fmpz_clear(bin);
    free_qvec(A, da);
    free_qvec(B, db);
    C->mom2[key] = M;
    return M;
}

/* R(a,b,c)[nb]: sum over set partitions into nb blocks of the product of block moments */
static fmpq_mpoly_struct *Rget(cond *C, int a, int b, int c)
{
    int key = (a * C->dim + b) * C->dim + c;
    if (C->R[key]) return C->R[key];
    int k = a + b + c;
    fmpq_mpoly_struct *R = malloc((size_t)(k + 1) * sizeof *R);
    if (!R) return NULL;
    for (int i = 0; i <= k; i++) fmpq_mpoly_init(R + i, C->ctx);
    if (k == 0) {
        fmpq_mpoly_one(R + 0, C->ctx);
        C->R[key] = R;
        C->Rlen[key] = 1;
        return R;
    }
    int t0 = a ? 0 : b ? 1 : 2;
    fmpq_mpoly_t prod;
    fmpq_mpoly_init(prod, C->ctx);
    fmpz_t mult, bin;
    fmpz_init(mult);
    fmpz_init(bin);
    int ok = 1;
    for (int a2 = (t0 == 0); a2 <= a && ok; a2++)
        for (int b2 = (t0 == 1); b2 <= b && ok; b2++)
            for (int c2 = (t0 == 2); c2 <= c && ok; c2++) {
                fmpz_bin_uiui(mult, (ulong)(a - (t0 == 0)), (ulong)(a2 - (t0 == 0)));
                fmpz_bin_uiui(bin, (ulong)(b - (t0 == 1)), (ulong)(b2 - (t0 == 1)));
                fmpz_mul(mult, mult, bin);
                fmpz_bin_uiui(bin, (ulong)(c - (t0 == 2)), (ulong)(c2 - (t0 == 2)));
                fmpz_mul(mult, mult, bin);
                const fmpq_mpoly_struct *M = moment2(C, 2 * a2 + b2, b2 + 2 * c2);
                const fmpq_mpoly_struct *S = Rget(C, a - a2, b - b2, c - c2);
                if (!M || !S) {
                    ok = 0;
                    break;
                }
                int ks = (a - a2) + (b - b2) + (c - c2);
                for (int nb = 0; nb <= ks; nb++) {
                    if (fmpq_mpoly_is_zero(S + nb, C->ctx)) continue;
                    fmpq_mpoly_mul(prod, M, S + nb, C->ctx);
                    fmpq_mpoly_scalar_mul_fmpz(prod, prod, mult, C->ctx);
                    fmpq_mpoly_add(R + nb + 1, R + nb + 1, prod, C->ctx);
                }
            }
    fmpz_clear(mult);
    fmpz_clear(bin);
    fmpq_mpoly_clear(prod, C->ctx);
    if (!ok) {
        for (int i = 0; i <= k; i++) fmpq_mpoly_clear(R + i, C->ctx);
        free(R);
        return NULL;
    }
    C->R[key] = R;
    C->Rlen[key] = k + 1;
    return R;
}

static dw_status route_conditional(dw_wick_expansion *e)
{
    const int L = e->L;
    dw_status st = DW_OK;
    cond C;
    memset(&C, 0, sizeof C);
    fmpq_mpoly_ctx_init(C.ctx, 4, ORD_LEX);
    C.K = e->K;
    C.c = e->c;
    /* degrees: P at layer l has degree <= K^(L-l) in the G's */
    double dmax = pow((double)(e->K > 0 ? e->K : 1), L);
    if (dmax > 64) {
        fmpq_mpoly_ctx_clear(C.ctx);
        return dw_fail(DW_ERR_INVALID, "expand: degree %d^%d = %.0f of the conditional route is above its limit 64",
                       e->K, L, dmax);
    }
    C.dim = (int)dmax + 1;
    C.amax = 2 * C.dim + 2;
    size_t nR = (size_t)C.dim * C.dim * C.dim, nM = (size_t)(C.amax + 1) * (C.amax + 1);
    C.R = calloc(nR, sizeof *C.R);
    C.Rlen = calloc(nR, sizeof *C.Rlen);
    C.mom2 = calloc(nM, sizeof *C.mom2);
    fmpq_mpoly_t P, Q, mom, tmp, lin[4];
    fmpq_mpoly_init(P, C.ctx);
    fmpq_mpoly_init(Q, C.ctx);
    fmpq_mpoly_init(mom, C.ctx);
    fmpq_mpoly_init(tmp, C.ctx);
    for (int i = 0; i < 4; i++) fmpq_mpoly_init(lin[i], C.ctx);
    fmpq_t x;
    fmpq_init(x);
    if (!C.R || !C.Rlen || !C.mom2) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* P = sw g_xy + sb, in the Gram of layer L */
    fmpq_mpoly_gen(P, 1, C.ctx);
    fmpq_mpoly_scalar_mul_fmpq(P, P, e->sw, C.ctx);
    fmpq_mpoly_add_fmpq(P, P, e->sb, C.ctx);
    for (int i = 0; i < 3; i++) {
        fmpq_mpoly_gen(lin[i], i, C.ctx);
        fmpq_mpoly_scalar_mul_fmpq(lin[i], lin[i], e->sw, C.ctx);
        fmpq_mpoly_add_fmpq(lin[i], lin[i], e->sb, C.ctx);
    }
    fmpq_mpoly_gen(lin[3], 3, C.ctx);
    for (int l = L; l >= 1 && !st; l--) {
        fmpq_mpoly_zero(Q, C.ctx);
        slong len = fmpq_mpoly_length(P, C.ctx);
        for (slong t = 0; t < len && !st; t++) {
            slong ex[4];
            fmpq_mpoly_get_term_exp_si(ex, P, t, C.ctx);
            fmpq_mpoly_get_term_coeff_fmpq(x, P, t, C.ctx);
            int a = (int)ex[0], b = (int)ex[1], c = (int)ex[2], k = a + b + c;
            if (a >= C.dim || b >= C.dim || c >= C.dim) {
                st = dw_fail(DW_ERR_INTERNAL, "expand: degree bound exceeded");
                break;
            }
            const fmpq_mpoly_struct *R = Rget(&C, a, b, c);
            if (!R) {
                st = dw_fail(DW_ERR_NOMEM, "out of memory");
                break;
            }
            /* moment = sum_nb u^{k - nb} prod_{j < nb} (1 - j u) R[nb] */
            fmpq_mpoly_zero(mom, C.ctx);
            for (int nb = 0; nb <= k; nb++) {
                if (fmpq_mpoly_is_zero(R + nb, C.ctx)) continue;
                fmpq_mpoly_one(tmp, C.ctx);
                fmpq_mpoly_t f;
                fmpq_mpoly_init(f, C.ctx);
                for (int j = 1; j < nb; j++) {
                    fmpq_mpoly_gen(f, 3, C.ctx);
                    fmpq_mpoly_scalar_mul_si(f, f, -j, C.ctx);
                    fmpq_mpoly_add_si(f, f, 1, C.ctx);
                    fmpq_mpoly_mul(tmp, tmp, f, C.ctx);
                }
                fmpq_mpoly_gen(f, 3, C.ctx);
                fmpq_mpoly_pow_ui(f, f, (ulong)(k - nb), C.ctx);
                fmpq_mpoly_mul(tmp, tmp, f, C.ctx);
                fmpq_mpoly_clear(f, C.ctx);
                fmpq_mpoly_mul(tmp, tmp, R + nb, C.ctx);
                fmpq_mpoly_add(mom, mom, tmp, C.ctx);
            }
            /* times the term's coefficient and its u power */
            fmpq_mpoly_gen(tmp, 3, C.ctx);
            fmpq_mpoly_pow_ui(tmp, tmp, (ulong)ex[3], C.ctx);
            fmpq_mpoly_mul(mom, mom, tmp, C.ctx);
            fmpq_mpoly_scalar_mul_fmpq(mom, mom, x, C.ctx);
            fmpq_mpoly_add(Q, Q, mom, C.ctx);
        }
        if (st) break;
        /* covariance of layer l: s = sw G^{l-1} + sb */
        fmpq_mpoly_struct *subs[4] = {lin[0], lin[1], lin[2], lin[3]};
        if (!fmpq_mpoly_compose_fmpq_mpoly(P, Q, subs, C.ctx, C.ctx)) {
            st = dw_fail(DW_ERR_RANGE, "expand: exponent overflow in the conditional route");
            break;
        }
    }
    if (!st) {
        /* G^0 = the input Gram */
        for (int i = 0; i < 3; i++) {
            fmpq_mpoly_evaluate_one_fmpq(P, P, i, e->q[i], C.ctx);
        }
        slong len = fmpq_mpoly_length(P, C.ctx);
        for (slong t = 0; t < len && !st; t++) {
            slong ex[4];
            fmpq_mpoly_get_term_exp_si(ex, P, t, C.ctx);
            fmpq_mpoly_get_term_coeff_fmpq(x, P, t, C.ctx);
            st = result_add(e, (int)ex[3], x);
        }
    }
done:
    fmpq_clear(x);
    fmpq_mpoly_clear(P, C.ctx);
    fmpq_mpoly_clear(Q, C.ctx);
    fmpq_mpoly_clear(mom, C.ctx);
    fmpq_mpoly_clear(tmp, C.ctx);
    for (int i = 0; i < 4; i++) fmpq_mpoly_clear(lin[i], C.ctx);
    if (C.R)
        for (size_t i = 0; i < nR; i++)
            if (C.R[i]) {
                for (int j = 0; j < C.Rlen[i]; j++) fmpq_mpoly_clear(C.R[i] + j, C.ctx);
                free(C.R[i]);
            }
    if (C.mom2)
        for (size_t i = 0; i < nM; i++)
            if (C.mom2[i]) {
                fmpq_mpoly_clear(C.mom2[i], C.ctx);
                free(C.mom2[i]);
            }
    free(C.R);
    free(C.Rlen);
    free(C.mom2);
    fmpq_mpoly_ctx_clear(C.ctx);
    return st;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* driver and outputs                                                                                         */

dw_status dw_wick_expand(dw_wick_expansion **out, const dw_wick_net *net, const double *x, const double *y,
                         size_t d, dw_wick_expand_route route, int record)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_wick_expand: result pointer is NULL");
    *out = NULL;
    if (!net || !x || !y) return dw_fail(DW_ERR_INVALID, "dw_wick_expand: NULL argument");
    if (net->depth < 0 || net->depth > 64) return dw_fail(DW_ERR_INVALID, "depth: %d is out of range [0, 64]", net->depth);
    if (net->n_coef < 1 || net->n_coef > 33 || !net->coef)
        return dw_fail(DW_ERR_INVALID, "poly: expected 1 to 33 coefficients c0,c1,...,cK (got %zu)", net->n_coef);
    if (d == 0) return dw_fail(DW_ERR_INVALID, "inputs: dimension d is 0");
    if (route != DW_WICK_EXPAND_TREES && route != DW_WICK_EXPAND_CONDITIONAL)
        return dw_fail(DW_ERR_INVALID, "route: %d is not an expansion route", (int)route);
    dw_wick_expansion *e = calloc(1, sizeof *e);
    if (!e) return dw_fail(DW_ERR_NOMEM, "out of memory");
    fmpq_init(e->sw);
    fmpq_init(e->sb);
    for (int i = 0; i < 3; i++) fmpq_init(e->q[i]);
    e->L = net->depth;
    e->K = (int)net->n_coef - 1;
    e->deg = -1;
    e->record = record;
    dw_status st = DW_OK;
    e->c = calloc(net->n_coef, sizeof(fmpq));
    if (!e->c) {
        e->K = -1;
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int k = 0; k <= e->K; k++) fmpq_init(e->c + k);
    for (int k = 0; k <= e->K; k++)
        if (!net->coef[k] || !dw_wick_parse_rational(e->c + k, net->coef[k], strlen(net->coef[k]))) {
            st = dw_fail(DW_ERR_INVALID, "poly: coefficient c%d ('%.40s') is not a number (decimal or p/q)", k,
                         net->coef[k] ? net->coef[k] : "NULL");
            goto fail;
        }
    while (e->K > 0 && fmpq_is_zero(e->c + e->K)) e->K--; /* trailing zeros do not change phi */
    if (!net->weight_var || !dw_wick_parse_rational(e->sw, net->weight_var, strlen(net->weight_var)) ||
        fmpq_sgn(e->sw) < 0) {
        st = dw_fail(DW_ERR_INVALID, "weight-var: '%.40s' is not a number >= 0", net->weight_var ? net->weight_var : "NULL");
        goto fail;
    }
    if (!net->bias_var || !dw_wick_parse_rational(e->sb, net->bias_var, strlen(net->bias_var)) ||
        fmpq_sgn(e->sb) < 0) {
        st = dw_fail(DW_ERR_INVALID, "bias-var: '%.40s' is not a number >= 0", net->bias_var ? net->bias_var : "NULL");
        goto fail;
    }
    {
        fmpq_t a, b;
        fmpq_init(a);
        fmpq_init(b);
        for (size_t i = 0; i < d; i++) {
            if (!isfinite(x[i]) || !isfinite(y[i])) {
                fmpq_clear(a);
                fmpq_clear(b);
                st = dw_fail(DW_ERR_INVALID, "inputs: entry %zu is not finite", i);
                goto fail;
            }
            fmpq_set_double(a, x[i]);
            fmpq_set_double(b, y[i]);
            fmpq_addmul(e->q[1], a, b);
            fmpq_addmul(e->q[0], a, a);
            fmpq_addmul(e->q[2], b, b);
        }
        fmpz_t dz;
        fmpz_init(dz);
        fmpz_set_ui(dz, (ulong)d);
        for (int i = 0; i < 3; i++) fmpq_div_fmpz(e->q[i], e->q[i], dz);
        fmpz_clear(dz);
        fmpq_clear(a);
        fmpq_clear(b);
    }
    st = route == DW_WICK_EXPAND_TREES ? route_trees(e) : route_conditional(e);
    if (st) goto fail;
    while (e->deg >= 0 && fmpq_is_zero(e->u + e->deg)) fmpq_clear(e->u + e->deg--);
    *out = e;
    return DW_OK;
fail:
    dw_wick_expansion_clear(e);
    return st;
}

int dw_wick_expansion_degree(const dw_wick_expansion *e) { return e->deg < 0 ? 0 : e->deg; }

const char *dw_wick_expansion_coef(dw_wick_expansion *e, int k)
{
    free(e->coef_str);
    e->coef_str = NULL;
    if (k < 0 || k > e->deg) return "0";
    char *s = fmpq_get_str(NULL, 10, e->u + k);
    if (!s) return "0";
    e->coef_str = malloc(strlen(s) + 1);
    if (e->coef_str) strcpy(e->coef_str, s);
    flint_free(s);
    return e->coef_str ? e->coef_str : "0";
}

double dw_wick_expansion_coef_d(const dw_wick_expansion *e, int k)
{
    if (k < 0 || k > e->deg) return 0.0;
    return fmpq_get_d(e->u + k);
}

size_t dw_wick_expansion_terms(const dw_wick_expansion *e) { return e->n_terms; }

static void put_tree(const dw_wick_expansion *e, dw_sbuf *b, int level, int idx)
{
    const tnode *nd = e->lev[level].t + idx;
    if (nd->kind == 0) {
        dw_sbuf_printf(b, "b%d", level);
        return;
    }
    if (level == 1) {
        dw_sbuf_puts(b, "W1 x");
        return;
    }
    dw_sbuf_printf(b, "W%d c%d(", level, nd->k);
    for (int j = 0; j < nd->k; j++) {
        if (j) dw_sbuf_puts(b, ", ");
        put_tree(e, b, level - 1, e->lev[level].pool[nd->first + j]);
    }
    dw_sbuf_puts(b, ")");
}

const char *dw_wick_expansion_json(dw_wick_expansion *e)
{
    free(e->json);
    e->json = NULL;
    dw_sbuf b = {0};
    dw_sbuf_puts(&b, "{\"value\": {");
    for (int k = 0; k <= e->deg; k++) {
        dw_sbuf_printf(&b, "%s\"N^%d\": \"", k ? ", " : "", -k);
        dw_sbuf_fmpq(&b, e->u + k);
        dw_sbuf_puts(&b, "\"");
    }
    dw_sbuf_puts(&b, "}");
    if (e->lev && e->record) {
        const tlevel *T = e->lev + e->L + 1;
        dw_sbuf_puts(&b, ", \"trees\": [");
        for (int i = 0; i < T->n; i++) {
            dw_sbuf_printf(&b, "%s{\"id\": %d, \"tree\": \"", i ? ", " : "", i);
            put_tree(e, &b, e->L + 1, i);
            dw_sbuf_puts(&b, "\", \"coef\": \"");
            dw_sbuf_fmpq(&b, T->coef + i);
            dw_sbuf_puts(&b, "\"}");
        }
        dw_sbuf_printf(&b, "], \"terms_truncated\": %s, \"terms\": [", e->truncated ? "true" : "false");
        for (size_t t = 0; t < e->n_terms; t++) {
            const term *tm = e->terms + t;
            dw_sbuf_printf(&b, "%s{\"trees\": [%d, %d], \"weight\": \"", t ? ", " : "", tm->t1, tm->t2);
            dw_sbuf_fmpq(&b, tm->weight);
            dw_sbuf_puts(&b, "\", \"pairings\": [");
            for (int c = 0; c < tm->n_cls; c++) {
                const hclass *h = tm->cls + c;
                dw_sbuf_printf(&b, "%s{\"power\": %d, \"chi\": %d, \"q\": [%d, %d, %d], \"count\": %llu}", c ? ", " : "",
                               h->power, 1 + h->power, h->a, h->b,
                               tm->nW1 - h->a - h->b,
                               (unsigned long long)h->count);
            }
            dw_sbuf_puts(&b, "]}");
        }
        dw_sbuf_puts(&b, "]");
    }
    dw_sbuf_puts(&b, "}");
    if (b.failed) {
        free(b.s);
        return "{}";
    }
    e->json = b.s;
    return e->json;
}

dw_status dw_wick_expansion_dot(dw_wick_expansion *e, size_t k, const char **dot)
{
    *dot = NULL;
    if (k >= e->n_terms)
        return dw_fail(DW_ERR_INVALID, "term %zu does not exist (%zu terms recorded; the trees route records them)", k,
                       e->n_terms);
    const term *tm = e->terms + k;
    graph *g = malloc(sizeof *g);
    if (!g) return dw_fail(DW_ERR_NOMEM, "out of memory");
    g->ne = 0;
    g->nv = 1;
    g->vlayer[0] = e->L + 1;
    flatten(e, g, e->L + 1, tm->t1, 0, 0);
    flatten(e, g, e->L + 1, tm->t2, 0, 1);
    dw_sbuf b = {0};
    dw_sbuf_puts(&b, "graph term {\n  label=\"");
    put_tree(e, &b, e->L + 1, tm->t1);
    dw_sbuf_puts(&b, "  x  ");
    put_tree(e, &b, e->L + 1, tm->t2);
    int best = -1000000;
    for (int c = 0; c < tm->n_cls; c++)
        if (tm->cls[c].power > best) best = tm->cls[c].power;
    dw_sbuf_printf(&b, "\\nleading pairing: N^%d, chi = %d (dashed: Wick pairs)\";\n  labelloc=t;\n", best, 1 + best);
    dw_sbuf_puts(&b, "  node [shape=circle, fontsize=10];\n  v0 [label=\"out\", shape=doublecircle];\n");
    for (int v = 1; v < g->nv; v++) dw_sbuf_printf(&b, "  v%d [label=\"j%d\\nl=%d\"];\n", v, v, g->vlayer[v]);
    for (int i = 0; i < g->ne; i++) {
        const gedge *E = g->ed + i;
        const char *col = E->side ? "blue" : "black";
        dw_sbuf_printf(&b, "  e%d [shape=box, fontsize=9, label=\"%s%d\", color=%s];\n", i, E->kind ? "b" : "W",
                       E->layer, col);
        dw_sbuf_printf(&b, "  v%d -- e%d [color=%s];\n", E->parent, i, col);
        if (E->child >= 0) dw_sbuf_printf(&b, "  e%d -- v%d [color=%s];\n", i, E->child, col);
        else if (E->kind == 0)
            dw_sbuf_printf(&b, "  in%d [shape=plaintext, label=\"%s\"];\n  e%d -- in%d [color=%s];\n", i,
                           E->side ? "y" : "x", i, i, col);
    }
    if (tm->rep)
        for (int i = 0; i < g->ne && i < tm->n_edges; i++)
            if (tm->rep[i] > i) dw_sbuf_printf(&b, "  e%d -- e%d [style=dashed, color=red, constraint=false];\n", i, tm->rep[i]);
    dw_sbuf_puts(&b, "}\n");
    free(g);
    if (b.failed) {
        free(b.s);
        return dw_fail(DW_ERR_NOMEM, "out of memory");
    }
    free(e->dot);
    e->dot = b.s;
    *dot = e->dot;
    return DW_OK;
}
