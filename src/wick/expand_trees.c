/* The trees route of the expansion of a network with polynomial activation (theory.md 4.3): the operator graphs.
 *
 * h^1_i = b^1_i + sum_a W^1_{ia} x_a and h^{l+1}_i = b^{l+1}_i + sum_k c_k sum_j W^{l+1}_{ij}
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
 * Residual blocks h^l = gamma_l h^{l-1} + alpha_l (W^l phi(h^{l-1}) + b^l): a level-l tree is also a skip (gamma_l
 * times a level-(l-1) tree rooted at the same unit: the skip edge is the identity, it adds no vertex and no Wick
 * edge), so a term is a choice of which branches are active. Every W^l and b^l carries alpha_l and the pairings
 * pair them within their layer, so a pairing weighs alpha_l^2 per glued layer-l pair.
 * */
#include "core/unionfind.h"
#include "wick/expand.h"

#include <stdlib.h>
#include <string.h>

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
        /* skips of the level below (none where gamma_l = 0: they would weigh 0) */
        const int nskip = l >= 2 && l <= L && e->residual && !fmpq_is_zero(e->gam + l) ? e->lev[l - 1].n : 0;
        if (l == 1) count = 2;
        else {
            count += nskip;
            for (int k = 0; k <= e->K; k++)
                if (!fmpq_is_zero(e->c + k)) count += multisets(e->lev[l - 1].n, k);
        }
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
        for (int c = 0; c < nskip; c++, idx++) {
            T->t[idx] = (tnode){2, 1, c};
            fmpq_mul(T->coef + idx, e->gam + l, S->coef + c);
            memcpy(T->cnt + (size_t)idx * nl, S->cnt + (size_t)c * nl, (size_t)nl * sizeof(int));
        }
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


void dw_wick_expand_flatten(const dw_wick_expansion *e, graph *g, int level, int idx, int parent, int side)
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
    if (nd->kind == 2) { /* the skip: the same unit, one layer down */
        dw_wick_expand_flatten(e, g, level - 1, nd->first, parent, side);
        return;
    }
    int v = g->nv++;
    g->vlayer[v] = level - 1;
    g->ed[g->ne++] = (gedge){level, 0, parent, v, side};
    for (int j = 0; j < nd->k; j++) {
        dw_wick_expand_flatten(e, g, level - 1, e->lev[level].pool[nd->first + j], v, side);
        if (g->ne > EXPAND_MAX_EDGES) return;
    }
}

typedef struct wstate {
    const graph *g;
    int partner[EXPAND_MAX_EDGES];
    int par[EXPAND_MAX_EDGES + 1], sz[EXPAND_MAX_EDGES + 1], undo[EXPAND_MAX_EDGES + 1];
    dw_uf uf; /* vertex classes over par, sz, undo */
    int nq[3];
    int n_hid; /* glued hidden-layer weight pairs */
    int nW1;
    hclass *cls;
    int n_cls, cap_cls;
    int best_power;
    int rep[EXPAND_MAX_EDGES];
    int failed;
} wstate;

static void wleaf(wstate *s)
{
    int power = (s->uf.classes - 1) - s->n_hid;
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
        const int mark = s->uf.nundo;
        dw_uf_unite(&s->uf, A->parent, B->parent);
        if (A->child >= 0) dw_uf_unite(&s->uf, A->child, B->child);
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
        dw_uf_rollback(&s->uf, mark);
    }
}

dw_status dw_wick_expand_trees(dw_wick_expansion *e)
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
            dw_wick_expand_flatten(e, g, L + 1, i, 0, 0);
            if (g->ne <= EXPAND_MAX_EDGES) dw_wick_expand_flatten(e, g, L + 1, j, 0, 1);
            if (g->ne > EXPAND_MAX_EDGES) {
                st = dw_fail(DW_ERR_INVALID, "expand: a tree pair has more than %d edges (trees route limit); use "
                                             "the conditional route", EXPAND_MAX_EDGES);
                break;
            }
            memset(s, 0, sizeof *s);
            s->g = g;
            for (int k = 0; k < g->ne; k++) s->partner[k] = -1;
            s->uf = (dw_uf){s->par, s->sz, s->undo, 0, 0};
            dw_uf_reset(&s->uf, g->nv);
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
            for (int l = 2; e->residual && l <= L; l++) { /* alpha_l^2 per glued layer-l pair */
                fmpq_pow_si(t, e->al2 + l, (ci[2 * l] + cj[2 * l] + ci[2 * l + 1] + cj[2 * l + 1]) / 2);
                fmpq_mul(w, w, t);
            }
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
                st = dw_wick_expand_add(e, -h->power, v);
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
