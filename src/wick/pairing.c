/* Route 1 (theory.md 4.2): Wick pairings of the letters, only like with like (same matrix, a complex Ginibre
 * letter with a conjugated one), each pairing identifying index slots in a union-find with rollback. The number of
 * vertex classes V gives the power N^{V - E} (E = pairs); chi = V - E + F (F = traces, the faces of the glued
 * surface); orientability is a parity union-find over the faces: an edge glued along the faces' orientations asks
 * both faces to keep their orientation, a twisted one to flip it, and a contradiction makes the surface
 * non-orientable. The search is a depth-first enumeration; its first two levels are split into tasks run in
 * parallel, and for a one-trace word the cyclic symmetry halves the first level (integer counts, so the result does not depend on the thread count). */
#include "core/par.h"
#include "core/unionfind.h"
#include "wick/wick.h"

#include <stdlib.h>
#include <string.h>

#define PAIRINGS_LIMIT 2e9

enum { GLUE_CROSS = 0, GLUE_STRAIGHT = 1 };

typedef struct ufop {
    int kind;  /* 1 face union, 2 face contradiction */
    int child; /* root attached */
    int root;
    int size_change;
} ufop;

typedef struct pstate {
    const dw_wick_word *w;
    int n, nt;
    int *partner;
    char *glue;
    dw_uf slots;            /* index slots (V = slots.classes) */
    int *fpar, *fsz, *fpty; /* faces: parent, size, parity to parent */
    int bad;
    ufop *ops;
    int nops;
    const int *cand;        /* per letter: candidates after it (same matrix), -1 terminated lists */
    const int *cand_start;
    uint64_t *hist;         /* (n + 1) x 2: [V][non-orientable] */
    /* listing */
    size_t max_list, n_list;
    dw_wick_pairing_rec *list;
    int list_failed;
} pstate;

static int ffind(const pstate *s, int x, int *parity)
{
    int p = 0;
    while (s->fpar[x] != x) {
        p ^= s->fpty[x];
        x = s->fpar[x];
    }
    *parity = p;
    return x;
}

static void face_constraint(pstate *s, int f, int g, int parity)
{
    int pf, pg;
    f = ffind(s, f, &pf);
    g = ffind(s, g, &pg);
    if (f == g) {
        if ((pf ^ pg) != parity) {
            s->bad++;
            s->ops[s->nops++] = (ufop){2, 0, 0, 0};
        }
        return;
    }
    if (s->fsz[f] < s->fsz[g]) {
        int t = f;
        f = g;
        g = t;
    }
    s->fpar[g] = f;
    s->fpty[g] = pf ^ pg ^ parity;
    s->fsz[f] += s->fsz[g];
    s->ops[s->nops++] = (ufop){1, g, f, s->fsz[g]};
}

static void rollback(pstate *s, int to)
{
    while (s->nops > to) {
        ufop o = s->ops[--s->nops];
        if (o.kind == 1) {
            s->fpar[o.child] = o.child;
            s->fpty[o.child] = 0;
            s->fsz[o.root] -= o.size_change;
        } else
            s->bad--;
    }
}

static void glue(pstate *s, int a, int b, int g)
{
    const dw_wick_letter *A = s->w->let + a, *B = s->w->let + b;
    if (g == GLUE_CROSS) {
        dw_uf_unite(&s->slots, A->r, B->c);
        dw_uf_unite(&s->slots, A->c, B->r);
    } else {
        dw_uf_unite(&s->slots, A->r, B->r);
        dw_uf_unite(&s->slots, A->c, B->c);
    }
    face_constraint(s, A->trace, B->trace, (g == GLUE_STRAIGHT) ^ A->tflip ^ B->tflip);
    s->partner[a] = b;
    s->partner[b] = a;
    s->glue[a] = s->glue[b] = (char)g;
}

/* Undo the gluings made since the marks (of the face log and of the slots) were taken. */
static void unglue(pstate *s, int a, int b, int mark, int slot_mark)
{
    rollback(s, mark);
    dw_uf_rollback(&s->slots, slot_mark);
    s->partner[a] = s->partner[b] = -1;
}

static int glue_first(dw_wick_ens e) { return e == DW_ENS_GINIBRE || e == DW_ENS_CGINIBRE ? GLUE_STRAIGHT : GLUE_CROSS; }
static int glue_last(dw_wick_ens e) { return e == DW_ENS_GUE ? GLUE_CROSS : GLUE_STRAIGHT; }

static void record(pstate *s)
{
    if (s->n_list >= s->max_list || s->list_failed) return;
    dw_wick_pairing_rec *r = s->list + s->n_list;
    r->partner = malloc((size_t)s->n * sizeof(int));
    r->twist = malloc((size_t)s->n);
    if (!r->partner || !r->twist) {
        free(r->partner);
        free(r->twist);
        r->partner = NULL;
        r->twist = NULL;
        s->list_failed = 1;
        return;
    }
    memcpy(r->partner, s->partner, (size_t)s->n * sizeof(int));
    memcpy(r->twist, s->glue, (size_t)s->n);
    r->chi = s->slots.classes - s->n / 2 + s->nt;
    r->orientable = s->bad == 0;
    s->n_list++;
}

static void dfs(pstate *s, int a)
{
    while (a < s->n && s->partner[a] >= 0) a++;
    if (a >= s->n) {
        s->hist[2 * s->slots.classes + (s->bad > 0)]++;
        if (s->max_list) record(s);
        return;
    }
    const dw_wick_letter *A = s->w->let + a;
    dw_wick_ens e = s->w->laws[A->mat].ens;
    for (int k = s->cand_start[a]; s->cand[k] >= 0; k++) {
        int b = s->cand[k];
        if (s->partner[b] >= 0) continue;
        for (int g = glue_first(e); g <= glue_last(e); g++) {
            const int mark = s->nops, slot_mark = s->slots.nundo;
            glue(s, a, b, g);
            dfs(s, a + 1);
            unglue(s, a, b, mark, slot_mark);
        }
    }
}

/* Collects the choices of the first `levels` levels as tasks (pairs a-b with gluing g, flattened). */
typedef struct tasklist {
    int *v; /* levels * 3 ints per task */
    size_t n, cap;
    int levels;
    int failed;
} tasklist;

static void collect(pstate *s, int a, int level, int *prefix, tasklist *t)
{
    while (a < s->n && s->partner[a] >= 0) a++;
    if (level == t->levels || a >= s->n) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            int *v = realloc(t->v, cap * (size_t)t->levels * 3 * sizeof(int));
            if (!v) {
                t->failed = 1;
                return;
            }
            t->v = v;
            t->cap = cap;
        }
        int *dst = t->v + t->n * (size_t)t->levels * 3;
        for (int k = 0; k < t->levels * 3; k++) dst[k] = k < level * 3 ? prefix[k] : -1;
        t->n++;
        return;
    }
    const dw_wick_letter *A = s->w->let + a;
    dw_wick_ens e = s->w->laws[A->mat].ens;
    for (int k = s->cand_start[a]; s->cand[k] >= 0; k++) {
        int b = s->cand[k];
        if (s->partner[b] >= 0) continue;
        for (int g = glue_first(e); g <= glue_last(e); g++) {
            const int mark = s->nops, slot_mark = s->slots.nundo;
            glue(s, a, b, g);
            prefix[3 * level] = a;
            prefix[3 * level + 1] = b;
            prefix[3 * level + 2] = g;
            collect(s, a + 1, level + 1, prefix, t);
            unglue(s, a, b, mark, slot_mark);
        }
    }
}

static int state_init(pstate *s, const dw_wick_word *w, const int *cand, const int *cand_start, uint64_t *hist)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->n = w->n;
    s->nt = w->n_traces;
    s->cand = cand;
    s->cand_start = cand_start;
    s->hist = hist;
    size_t n = (size_t)w->n, nt = (size_t)w->n_traces;
    s->partner = malloc(n * sizeof(int));
    s->glue = calloc(n, 1);
    s->slots.par = malloc(n * sizeof(int));
    s->slots.sz = malloc(n * sizeof(int));
    s->slots.undo = malloc((n + 1) * sizeof(int));
    s->fpar = malloc(nt * sizeof(int));
    s->fsz = malloc(nt * sizeof(int));
    s->fpty = calloc(nt, sizeof(int));
    s->ops = malloc((3 * n + 4) * sizeof(ufop));
    if (!s->partner || !s->glue || !s->slots.par || !s->slots.sz || !s->slots.undo || !s->fpar || !s->fsz ||
        !s->fpty || !s->ops)
        return 0;
    for (size_t i = 0; i < n; i++) s->partner[i] = -1;
    dw_uf_reset(&s->slots, w->n);
    for (size_t i = 0; i < nt; i++) {
        s->fpar[i] = (int)i;
        s->fsz[i] = 1;
    }
    return 1;
}

static void state_clear(pstate *s)
{
    free(s->partner);
    free(s->glue);
    free(s->slots.par);
    free(s->slots.sz);
    free(s->slots.undo);
    free(s->fpar);
    free(s->fsz);
    free(s->fpty);
    free(s->ops);
}

double dw_wick_pairings_estimate(const dw_wick_word *w)
{
    double total = 1;
    for (int m = 0; m < w->n_mats; m++) {
        int k = w->mat_count[m];
        dw_wick_ens e = w->laws[m].ens;
        if (e == DW_ENS_CGINIBRE) {
            int a = 0;
            for (int i = 0; i < w->n; i++) a += w->let[i].mat == m && !w->let[i].conj;
            if (2 * a != k) return 0;
            for (int j = 2; j <= a; j++) total *= j;
        } else {
            if (k % 2) return 0;
            for (int j = k - 1; j > 1; j -= 2) total *= j;
            if (e == DW_ENS_GOE)
                for (int j = 0; j < k / 2; j++) total *= 2;
        }
    }
    return total;
}

/* The enumeration's tasks (prefixes of the first levels), as dw_par_for items; each worker has its own state. */
typedef struct pairing_worker {
    pstate s;
    uint64_t *h, *ht; /* the worker's histogram, and one task's */
    int ok;
} pairing_worker;

typedef struct pairing_job {
    const tasklist *tl;
    const int *mult;
    pairing_worker *pw;
    size_t hsz;
} pairing_job;

static dw_status pairing_task(void *ctx, size_t t, int tid)
{
    const pairing_job *j = ctx;
    const tasklist *tl = j->tl;
    pairing_worker *wk = &j->pw[tid];
    pstate *s = &wk->s;
    if (!j->mult[t]) return DW_OK;
    const int *pre = tl->v + t * (size_t)tl->levels * 3;
    for (int l = 0; l < tl->levels && pre[3 * l] >= 0; l++) glue(s, pre[3 * l], pre[3 * l + 1], pre[3 * l + 2]);
    memset(wk->ht, 0, j->hsz * sizeof(uint64_t));
    dfs(s, 0);
    for (size_t i = 0; i < j->hsz; i++) wk->h[i] += (uint64_t)j->mult[t] * wk->ht[i];
    for (int l = tl->levels - 1; l >= 0; l--)
        if (pre[3 * l] >= 0) unglue(s, pre[3 * l], pre[3 * l + 1], 0, 0);
    rollback(s, 0);
    dw_uf_rollback(&s->slots, 0);
    return DW_OK;
}

dw_status dw_wick_route_pairings(struct dw_wick_result *res, size_t max_list, int threads)
{
    const dw_wick_word *w = &res->word;
    for (int m = 0; m < w->n_mats; m++)
        if (w->laws[m].ens == DW_ENS_IID)
            return dw_fail(DW_ERR_INVALID,
                           "route pairings: Wick pairings are exact only for Gaussian ensembles, but letter '%s' is "
                           "%s (use the partitions route)", w->names[m], w->laws[m].spec);
    double est = dw_wick_pairings_estimate(w);
    if (est > PAIRINGS_LIMIT)
        return dw_fail(DW_ERR_INVALID,
                       "route pairings: the word has %.3g Wick pairings, above the limit %.0e; use the recursion "
                       "(one-trace GUE tr(A^2k) or complex Ginibre tr((G G^*)^k)) or a shorter word",
                       est, PAIRINGS_LIMIT);
    res->route = "pairings";
    res->has_genus = 1;
    const int n = w->n, nt = w->n_traces;
    dw_status st = DW_OK;
    int *cand = malloc((size_t)(n * (n + 1) / 2 + n + 1) * sizeof(int)), *cand_start = malloc((size_t)n * sizeof(int));
    uint64_t *hist = calloc((size_t)(n + 1) * 2, sizeof(uint64_t));
    tasklist tl = {0};
    if (!cand || !cand_start || !hist) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory (pairings of %d letters)", n);
        goto done;
    }
    int k = 0;
    for (int a = 0; a < n; a++) {
        cand_start[a] = k;
        const dw_wick_letter *A = w->let + a;
        for (int b = a + 1; b < n; b++) {
            const dw_wick_letter *B = w->let + b;
            if (B->mat != A->mat) continue;
            if (w->laws[A->mat].ens == DW_ENS_CGINIBRE && A->conj == B->conj) continue;
            cand[k++] = b;
        }
        cand[k++] = -1;
    }
    if (est > 0) {
        if (max_list) {
            pstate s;
            if (!state_init(&s, w, cand, cand_start, hist)) {
                state_clear(&s);
                st = dw_fail(DW_ERR_NOMEM, "out of memory (pairings)");
                goto done;
            }
            s.max_list = max_list;
            s.list = calloc(max_list, sizeof *s.list);
            if (!s.list) s.list_failed = 1;
            dfs(&s, 0);
            res->pairings = s.list;
            res->n_pairings = s.n_list;
            for (size_t i = 0; i < s.n_list; i++) {
                long V = s.list[i].chi + n / 2 - nt;
                s.list[i].power = V - n / 2 - (res->normalized ? nt : 0);
            }
            state_clear(&s);
        } else {
            pstate s0;
            int prefix[6];
            tl.levels = est > 1e4 ? 2 : 1;
            if (!state_init(&s0, w, cand, cand_start, hist)) {
                state_clear(&s0);
                st = dw_fail(DW_ERR_NOMEM, "out of memory (pairings)");
                goto done;
            }
            collect(&s0, 0, 0, prefix, &tl);
            state_clear(&s0);
            if (tl.failed) {
                st = dw_fail(DW_ERR_NOMEM, "out of memory (pairing tasks)");
                goto done;
            }
            /* cyclic symmetry of a one-trace word: if rotating by r = n - b maps the word to itself, the pairings
             * with 0 ~ b and those with 0 ~ n - b correspond one to one with the same gluings and the same V, so
             * only b <= n/2 is enumerated, b < n/2 counted twice. */
            int *mult = malloc(tl.n * sizeof(int));
            if (!mult) {
                st = dw_fail(DW_ERR_NOMEM, "out of memory (pairing tasks)");
                goto done;
            }
            for (size_t t = 0; t < tl.n; t++) {
                const int *pre = tl.v + t * (size_t)tl.levels * 3;
                int b = pre[1];
                mult[t] = 1;
                if (nt != 1 || b <= 0 || 2 * b == n) continue;
                int r = n - b, sym = 1;
                for (int i = 0; i < n && sym; i++) {
                    const dw_wick_letter *A = w->let + i, *B = w->let + (i + r) % n;
                    sym = A->mat == B->mat && A->tflip == B->tflip && A->conj == B->conj;
                }
                if (!sym) continue;
                mult[t] = 2 * b < n ? 2 : 0;
            }
            /* per worker: its search state and histograms (integer counts, summed in any order: exact) */
            const size_t hsz = (size_t)(n + 1) * 2;
            const int thr = est > 1e4 ? threads : 1, nw = dw_par_workers(tl.n, thr);
            pairing_worker *pw = calloc((size_t)nw, sizeof *pw);
            int failed = !pw;
            for (int k = 0; k < nw && !failed; k++) {
                pw[k].h = calloc(hsz, sizeof(uint64_t));
                pw[k].ht = calloc(hsz, sizeof(uint64_t));
                pw[k].ok = pw[k].h && pw[k].ht && state_init(&pw[k].s, w, cand, cand_start, pw[k].ht);
                if (!pw[k].ok) failed = 1;
            }
            if (!failed) {
                pairing_job job = {&tl, mult, pw, hsz};
                (void)dw_par_for(tl.n, thr, pairing_task, &job);
                for (int k = 0; k < nw; k++)
                    for (size_t i = 0; i < hsz; i++) hist[i] += pw[k].h[i];
            }
            for (int k = 0; pw && k < nw; k++) {
                if (pw[k].h && pw[k].ht) state_clear(&pw[k].s);
                free(pw[k].h);
                free(pw[k].ht);
            }
            free(pw);
            free(mult);
            if (failed) {
                st = dw_fail(DW_ERR_NOMEM, "out of memory (pairings)");
                goto done;
            }
        }
    }
    /* histogram -> polynomial and genus table */
    const long E = n / 2, shift = res->normalized ? nt : 0;
    fmpq_t c;
    fmpq_init(c);
    fmpz_zero(res->terms);
    size_t ng = 0;
    for (int V = 0; V <= n; V++) ng += (hist[2 * V] || hist[2 * V + 1]);
    res->genus = ng ? calloc(ng, sizeof *res->genus) : NULL;
    if (ng && !res->genus) {
        fmpq_clear(c);
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int V = n; V >= 0; V--) {
        if (!hist[2 * V] && !hist[2 * V + 1]) continue;
        dw_wick_genus *g = res->genus + res->n_genus++;
        fmpz_init(g->orientable);
        fmpz_init(g->nonorientable);
        fmpz_set_ui(g->orientable, hist[2 * V]);
        fmpz_set_ui(g->nonorientable, hist[2 * V + 1]);
        g->chi = V - E + nt;
        g->power = V - E - shift;
        fmpz_add(fmpq_numref(c), g->orientable, g->nonorientable);
        fmpz_one(fmpq_denref(c));
        fmpz_add(res->terms, res->terms, fmpq_numref(c));
        if ((st = dw_laurent_add_term(&res->value, g->power, c))) break;
    }
    fmpq_clear(c);
done:
    free(cand);
    free(cand_start);
    free(hist);
    free(tl.v);
    return st;
}
