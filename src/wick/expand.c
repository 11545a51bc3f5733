/* The expansion of a network with polynomial activation (theory.md 4.3): the driver (the exact inputs, the route),
 * the expansion object and its outputs (coefficients, JSON, Graphviz drawings). The routes live in expand_trees.c
 * and expand_cond.c. */
#include "core/rational.h"
#include "wick/expand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    for (int l = 0; e->gam && l <= e->L + 1; l++) fmpq_clear(e->gam + l);
    for (int l = 0; e->al2 && l <= e->L + 1; l++) fmpq_clear(e->al2 + l);
    free(e->gam);
    free(e->al2);
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

dw_status dw_wick_expand_add(dw_wick_expansion *e, int k, const fmpq_t v)
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
/* driver and outputs                                                                                         */

dw_status dw_wick_expand(const dw_wick_net *net, dw_wick_expand_route route, bool record, const double *x,
                         const double *y, size_t d, dw_wick_expansion **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_wick_expand: result pointer is NULL");
    *out = NULL;
    if (!net || !x || !y) return dw_fail(DW_ERR_INVALID, "dw_wick_expand: NULL argument");
    if (net->depth < 0) return dw_fail(DW_ERR_INVALID, "depth: not set (dw_wick_net_set_depth)");
    if (net->n_coef < 1) return dw_fail(DW_ERR_INVALID, "poly: not set (dw_wick_net_set_poly)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "inputs: dimension d is 0");
    if (route != DW_WICK_EXPAND_TREES && route != DW_WICK_EXPAND_CONDITIONAL)
        return dw_fail(DW_ERR_INVALID, "route: %d is not an expansion route", (int)route);
    dw_wick_expansion *e = calloc(1, sizeof *e);
    if (!e) return dw_fail(DW_ERR_NOMEM, "out of memory");
    fmpq_init(e->sw);
    fmpq_init(e->sb);
    for (int i = 0; i < 3; i++) fmpq_init(e->q[i]);
    e->L = net->depth;
    e->K = net->n_coef - 1;
    e->deg = -1;
    e->record = record;
    dw_status st = DW_OK;
    e->c = calloc((size_t)net->n_coef, sizeof(fmpq));
    if (!e->c) {
        e->K = -1;
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int k = 0; k <= e->K; k++) {
        fmpq_init(e->c + k);
        fmpq_set(e->c + k, net->coef + k);
    }
    while (e->K > 0 && fmpq_is_zero(e->c + e->K)) e->K--; /* trailing zeros do not change phi */
    fmpq_set(e->sw, net->sw);
    fmpq_set(e->sb, net->sb);
    if (net->n_res) {
        if (e->L < 2) {
            st = dw_fail(DW_ERR_INVALID, "residual: a network of depth %d has no residual block (blocks are the "
                         "hidden layers 2..L: depth >= 2)", e->L);
            goto fail;
        }
        if (net->n_res != 1 && net->n_res != e->L - 1) {
            st = dw_fail(DW_ERR_INVALID, "residual: %d blocks given, the network of depth %d has %d (or give one "
                         "for all)", net->n_res, e->L, e->L - 1);
            goto fail;
        }
        e->gam = calloc((size_t)e->L + 2, sizeof(fmpq));
        e->al2 = calloc((size_t)e->L + 2, sizeof(fmpq));
        if (!e->gam || !e->al2) {
            free(e->gam);
            free(e->al2);
            e->gam = e->al2 = NULL;
            st = dw_fail(DW_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (int l = 0; l <= e->L + 1; l++) {
            fmpq_init(e->gam + l);
            fmpq_init(e->al2 + l);
            fmpq_one(e->al2 + l);
        }
        for (int l = 2; l <= e->L; l++) {
            int b = net->n_res == 1 ? 0 : l - 2;
            fmpq_set(e->gam + l, net->gam + b);
            fmpq_set(e->al2 + l, net->al2 + b);
        }
        e->residual = 1;
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
            dw_rational_set_double(a, x[i]);
            dw_rational_set_double(b, y[i]);
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
    st = route == DW_WICK_EXPAND_TREES ? dw_wick_expand_trees(e)
         : e->residual               ? dw_wick_expand_residual(e)
                                     : dw_wick_expand_conditional(e);
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
    if (nd->kind == 2) {
        dw_sbuf_printf(b, "skip%d(", level);
        put_tree(e, b, level - 1, nd->first);
        dw_sbuf_puts(b, ")");
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
    if (e->residual) {
        for (int w = 0; w < 2; w++) {
            dw_sbuf_puts(&b, w ? "], \"alpha2\": [" : ", \"residual\": {\"gamma\": [");
            for (int l = 2; l <= e->L; l++) {
                dw_sbuf_puts(&b, l > 2 ? ", \"" : "\"");
                dw_sbuf_fmpq(&b, w ? e->al2 + l : e->gam + l);
                dw_sbuf_puts(&b, "\"");
            }
        }
        dw_sbuf_puts(&b, "]}");
    }
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
        dw_fail(DW_ERR_NOMEM, "expansion: out of memory writing its JSON");
        return NULL;
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
    dw_wick_expand_flatten(e, g, e->L + 1, tm->t1, 0, 0);
    dw_wick_expand_flatten(e, g, e->L + 1, tm->t2, 0, 1);
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
