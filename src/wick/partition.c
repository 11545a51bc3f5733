/* Route 2 (theory.md 4.2): set partitions of the index slots. Distinct blocks take distinct index values, so a
 * partition with b blocks stands for N (N-1) ... (N-b+1) index assignments, each weighing the product over the
 * distinct matrix entries of their moments (each entry x / sqrt N). Exact for every entry law.
 *
 * The partitions are enumerated as restricted growth strings, slot by slot. A letter is complete once both its
 * slots are assigned; its entry's multiplicity is counted in place. The "defect" of an entry is what later letters
 * must still supply for a non-zero moment (an odd count of a real entry, |#X - #conj X| of a complex one); one
 * letter mends at most one unit, so a branch whose defect for a matrix exceeds that matrix's incomplete letters is
 * cut. The moment product of a complete partition is kept symbolically (its multiset of factor kinds) and counted
 * per number of blocks; the exact rational sum is formed once at the end. */
#include "wick/wick.h"

#include <stdlib.h>
#include <string.h>

#define PARTITION_MAX_LETTERS 20
#define SIG_LEN 16

enum { F_GAUSS = 0, F_GOE_DIAG = 1, F_COMPLEX = 2, F_IID = 3 };

typedef struct sigent {
    uint16_t key[SIG_LEN]; /* key[0] = blocks, then sorted factor ids, 0xFFFF padded */
    uint64_t count;
    int used;
} sigent;

typedef struct qstate {
    const dw_wick_word *w;
    int n, M;
    int *block;        /* slot -> block */
    int nblocks;
    int *cnt;          /* M * n * n * 2 */
    int *def;          /* per matrix */
    int *rem;          /* incomplete letters per matrix */
    int *done_start, *done_list; /* letters completed when slot t is assigned */
    int *stamp;        /* key visited stamps at leaves */
    int stampv;
    int *fid;          /* (3 + M) * (n + 1) -> factor id or -1 */
    int *fkind, *fmat, *fk;
    int nf;
    sigent *tab;
    size_t tcap, tn;
    int failed;
    uint64_t leaves;
} qstate;

static int keyidx(const qstate *s, int m, int R, int C, int cb) { return ((m * s->n + R) * s->n + C) * 2 + cb; }

/* normalised entry of letter i under the current blocks */
static void entry(const qstate *s, int i, int *R, int *C, int *cb)
{
    const dw_wick_letter *L = s->w->let + i;
    int r = s->block[L->r], c = s->block[L->c];
    *cb = 0;
    switch (s->w->laws[L->mat].ens) {
    case DW_ENS_GUE:
        if (r > c) {
            int t = r;
            r = c;
            c = t;
            *cb = 1;
        }
        break;
    case DW_ENS_GOE:
        if (r > c) {
            int t = r;
            r = c;
            c = t;
        }
        break;
    case DW_ENS_CGINIBRE: *cb = L->conj; break;
    default: break;
    }
    *R = r;
    *C = c;
}

static int defect(const qstate *s, int m, int R, int C)
{
    const int *k = s->cnt + keyidx(s, m, R, C, 0);
    dw_wick_ens e = s->w->laws[m].ens;
    if (e == DW_ENS_CGINIBRE || (e == DW_ENS_GUE && R != C)) return abs(k[0] - k[1]);
    return k[0] & 1;
}

static void add_letter(qstate *s, int i, int delta)
{
    int R, C, cb, m = s->w->let[i].mat;
    entry(s, i, &R, &C, &cb);
    int before = defect(s, m, R, C);
    s->cnt[keyidx(s, m, R, C, cb)] += delta;
    s->def[m] += defect(s, m, R, C) - before;
    s->rem[m] -= delta;
}

static uint64_t sig_hash(const uint16_t *k)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < SIG_LEN; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void sig_add(qstate *s, const uint16_t *key)
{
    if (2 * (s->tn + 1) > s->tcap) {
        size_t cap = s->tcap ? 2 * s->tcap : 256;
        sigent *t = calloc(cap, sizeof *t);
        if (!t) {
            s->failed = 1;
            return;
        }
        for (size_t i = 0; i < s->tcap; i++)
            if (s->tab[i].used) {
                size_t h = sig_hash(s->tab[i].key) & (cap - 1);
                while (t[h].used) h = (h + 1) & (cap - 1);
                t[h] = s->tab[i];
            }
        free(s->tab);
        s->tab = t;
        s->tcap = cap;
    }
    size_t h = sig_hash(key) & (s->tcap - 1);
    while (s->tab[h].used && memcmp(s->tab[h].key, key, sizeof s->tab[h].key)) h = (h + 1) & (s->tcap - 1);
    if (!s->tab[h].used) {
        s->tab[h].used = 1;
        memcpy(s->tab[h].key, key, sizeof s->tab[h].key);
        s->tn++;
    }
    s->tab[h].count++;
}

static int factor_id(qstate *s, int kind, int m, int k)
{
    int slot = kind < F_IID ? kind : F_IID + m;
    int *p = s->fid + slot * (s->n + 1) + k;
    if (*p < 0) {
        *p = s->nf;
        s->fkind[s->nf] = kind;
        s->fmat[s->nf] = m;
        s->fk[s->nf] = k;
        s->nf++;
    }
    return *p;
}

static void leaf(qstate *s)
{
    uint16_t key[SIG_LEN];
    int nk = 1;
    key[0] = (uint16_t)s->nblocks;
    s->stampv++;
    for (int i = 0; i < s->n; i++) {
        int R, C, cb, m = s->w->let[i].mat;
        entry(s, i, &R, &C, &cb);
        int ki = keyidx(s, m, R, C, 0);
        if (s->stamp[ki] == s->stampv) continue;
        s->stamp[ki] = s->stampv;
        const int *k = s->cnt + ki;
        int kind, mult;
        switch (s->w->laws[m].ens) {
        case DW_ENS_GUE:
            if (R == C) kind = F_GAUSS, mult = k[0];
            else kind = F_COMPLEX, mult = k[0];
            break;
        case DW_ENS_CGINIBRE: kind = F_COMPLEX, mult = k[0]; break;
        case DW_ENS_GOE: kind = R == C ? F_GOE_DIAG : F_GAUSS, mult = k[0]; break;
        case DW_ENS_GINIBRE: kind = F_GAUSS, mult = k[0]; break;
        default: kind = F_IID, mult = k[0]; break;
        }
        if (kind == F_GAUSS && mult == 2) continue; /* factor 1 */
        if (kind == F_COMPLEX && mult == 1) continue;
        if (kind == F_IID && mult == 2) continue;
        key[nk++] = (uint16_t)factor_id(s, kind, m, mult);
    }
    /* insertion sort of the ids */
    for (int i = 2; i < nk; i++)
        for (int j = i; j > 1 && key[j - 1] > key[j]; j--) {
            uint16_t t = key[j];
            key[j] = key[j - 1];
            key[j - 1] = t;
        }
    for (int i = nk; i < SIG_LEN; i++) key[i] = 0xFFFF;
    s->leaves++;
    sig_add(s, key);
}

static void dfs(qstate *s, int t)
{
    if (s->failed) return;
    if (t == s->n) {
        leaf(s);
        return;
    }
    int nb = s->nblocks;
    for (int b = 0; b <= nb; b++) {
        s->block[t] = b;
        if (b == nb) s->nblocks++;
        int ok = 1, k;
        for (k = s->done_start[t]; k < s->done_start[t + 1]; k++) {
            int i = s->done_list[k], m = s->w->let[i].mat;
            add_letter(s, i, 1);
            if (s->def[m] > s->rem[m]) {
                ok = 0;
                k++;
                break;
            }
        }
        if (ok) dfs(s, t + 1);
        for (int j = k - 1; j >= s->done_start[t]; j--) add_letter(s, s->done_list[j], -1);
        if (b == nb) s->nblocks--;
    }
    s->block[t] = -1;
}

/* (k-1)!! for even k */
static void dfact(fmpz_t r, int k)
{
    fmpz_one(r);
    for (int j = k - 1; j > 1; j -= 2) fmpz_mul_ui(r, r, (ulong)j);
}

dw_status dw_wick_route_partitions(struct dw_wick_result *res)
{
    const dw_wick_word *w = &res->word;
    const int n = w->n, M = w->n_mats;
    if (n > PARTITION_MAX_LETTERS)
        return dw_fail(DW_ERR_INVALID,
                       "route partitions: the expression has %d letters, above the limit %d of set partitions of the "
                       "index slots; for Gaussian ensembles use the pairings route or the recursion", n,
                       PARTITION_MAX_LETTERS);
    res->route = "partitions";
    res->has_genus = 0;
    dw_status st = DW_OK;
    qstate s;
    memset(&s, 0, sizeof s);
    s.w = w;
    s.n = n;
    s.M = M;
    size_t nkeys = (size_t)M * (size_t)n * (size_t)n * 2;
    s.block = malloc((size_t)n * sizeof(int));
    s.cnt = calloc(nkeys, sizeof(int));
    s.stamp = calloc(nkeys, sizeof(int));
    s.def = calloc((size_t)M, sizeof(int));
    s.rem = calloc((size_t)M, sizeof(int));
    s.done_start = calloc((size_t)n + 1, sizeof(int));
    s.done_list = malloc((size_t)n * sizeof(int));
    s.fid = malloc((size_t)(3 + M) * (size_t)(n + 1) * sizeof(int));
    s.fkind = malloc((size_t)(3 + M) * (size_t)(n + 1) * sizeof(int));
    s.fmat = malloc((size_t)(3 + M) * (size_t)(n + 1) * sizeof(int));
    s.fk = malloc((size_t)(3 + M) * (size_t)(n + 1) * sizeof(int));
    fmpz *fall = NULL;
    fmpq *fval = NULL;
    fmpq_t c, t;
    fmpq_init(c);
    fmpq_init(t);
    if (!s.block || !s.cnt || !s.stamp || !s.def || !s.rem || !s.done_start || !s.done_list || !s.fid || !s.fkind ||
        !s.fmat || !s.fk) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory (partitions of %d slots)", n);
        goto done;
    }
    for (int i = 0; i < (3 + M) * (n + 1); i++) s.fid[i] = -1;
    for (int i = 0; i < n; i++) {
        s.block[i] = -1;
        s.rem[w->let[i].mat]++;
    }
    /* letter i completes when slot max(from, to) is assigned */
    for (int i = 0; i < n; i++) {
        int at = w->let[i].to > i ? w->let[i].to : i;
        s.done_start[at + 1]++;
    }
    for (int t2 = 0; t2 < n; t2++) s.done_start[t2 + 1] += s.done_start[t2];
    {
        int *fill = calloc((size_t)n, sizeof(int));
        if (!fill) {
            st = dw_fail(DW_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < n; i++) {
            int at = w->let[i].to > i ? w->let[i].to : i;
            s.done_list[s.done_start[at] + fill[at]++] = i;
        }
        free(fill);
    }
    if (n % 2 == 0) dfs(&s, 0);
    if (s.failed) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory (moment signatures)");
        goto done;
    }
    fmpz_set_ui(res->terms, s.leaves);
    /* factor values */
    fval = malloc((size_t)(s.nf ? s.nf : 1) * sizeof(fmpq));
    if (!fval) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int f = 0; f < s.nf; f++) fmpq_init(fval + f);
    for (int f = 0; f < s.nf && !st; f++) {
        int k = s.fk[f];
        switch (s.fkind[f]) {
        case F_GAUSS:
            dfact(fmpq_numref(fval + f), k);
            break;
        case F_GOE_DIAG:
            dfact(fmpq_numref(fval + f), k);
            fmpz_mul_2exp(fmpq_numref(fval + f), fmpq_numref(fval + f), (ulong)(k / 2));
            break;
        case F_COMPLEX: fmpz_fac_ui(fmpq_numref(fval + f), (ulong)k); break;
        default: st = dw_wick_law_moment(fval + f, w->laws + s.fmat[f], k, w->names[s.fmat[f]]); break;
        }
    }
    if (st) goto done;
    /* falling factorials: N (N-1) ... (N-b+1) = sum_j fall[b][j] N^j */
    fall = malloc((size_t)(n + 1) * (size_t)(n + 1) * sizeof(fmpz));
    if (!fall) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < (n + 1) * (n + 1); i++) fmpz_init(fall + i);
    fmpz_one(fall + 0);
    for (int b = 1; b <= n; b++)
        for (int j = 0; j <= b; j++) {
            fmpz *dst = fall + b * (n + 1) + j;
            if (j > 0) fmpz_set(dst, fall + (b - 1) * (n + 1) + j - 1);
            fmpz_submul_ui(dst, fall + (b - 1) * (n + 1) + j, (ulong)(b - 1));
        }
    const long shift = -(long)(n / 2) - (res->normalized ? w->n_traces : 0);
    for (size_t h = 0; h < s.tcap && !st; h++) {
        if (!s.tab[h].used) continue;
        const uint16_t *key = s.tab[h].key;
        fmpq_one(c);
        for (int i = 1; i < SIG_LEN && key[i] != 0xFFFF; i++) fmpq_mul(c, c, fval + key[i]);
        fmpz_mul_ui(fmpq_numref(c), fmpq_numref(c), s.tab[h].count);
        fmpq_canonicalise(c);
        int b = key[0];
        for (int j = 0; j <= b && !st; j++) {
            fmpq_mul_fmpz(t, c, fall + b * (n + 1) + j);
            st = dw_laurent_add_term(&res->value, j + shift, t);
        }
    }
    dw_laurent_normalise(&res->value);
done:
    fmpq_clear(c);
    fmpq_clear(t);
    if (fval) {
        for (int f = 0; f < s.nf; f++) fmpq_clear(fval + f);
        free(fval);
    }
    if (fall) {
        for (int i = 0; i < (n + 1) * (n + 1); i++) fmpz_clear(fall + i);
        free(fall);
    }
    free(s.block);
    free(s.cnt);
    free(s.stamp);
    free(s.def);
    free(s.rem);
    free(s.done_start);
    free(s.done_list);
    free(s.fid);
    free(s.fkind);
    free(s.fmat);
    free(s.fk);
    free(s.tab);
    return st;
}
