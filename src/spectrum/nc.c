/* Route 1 (theory.md 3): m_k^{(l)} = sigma_w^{2k} sum_{pi in NC(k)} prod_{B in pi} m_{|B|}^{(l-1)}
 * prod_{B' in K(pi)} mu_{|B'|}^{(l)}.
 *
 * NC(k) is enumerated recursively (the block of the first free element, then the gaps it leaves, each filled
 * independently); the Kreweras complement is the cycle type of pi^{-1} gamma, gamma = (1 2 ... k), with the
 * blocks of pi read as increasing cycles. The summand depends only on the block-size types of pi and K(pi), so
 * the enumeration is done once per k and grouped into counts per (type, Kreweras type) pair; each layer then
 * costs one pass over the distinct pairs (p(k)^2 at most, p the partition function) instead of Catalan(k) k. */
#include "spectrum/spectrum.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <flint/fmpz.h>

typedef unsigned __int128 u128;

/* A block-size type of a partition of k <= 16: counts c_1..c_k, packed 5 bits each. */
typedef struct nc_table {
    int k;
    int ntypes;
    u128 *types;     /* distinct types */
    int npairs;
    int *pi_type, *kr_type;
    long *count;
    long n_partitions;
} nc_table;

typedef struct enum_state {
    int k;
    int label[DW_SPECTRUM_NC_KMAX];
    int nblocks;
    int stack_lo[2 * DW_SPECTRUM_NC_KMAX + 2], stack_hi[2 * DW_SPECTRUM_NC_KMAX + 2];
    int sp;
    /* hash of type pairs */
    nc_table *t;
    int cap;                 /* pair hash capacity (power of 2) */
    int *slot;               /* pair index or -1 */
    int tcap;
    int *tslot;
    int fail;
} enum_state;

static u128 type_of_sizes(const int *sizes, int nb)
{
    int c[DW_SPECTRUM_NC_KMAX + 1] = {0};
    for (int b = 0; b < nb; b++) c[sizes[b]]++;
    u128 key = 0;
    for (int s = 1; s <= DW_SPECTRUM_NC_KMAX; s++) key |= (u128)c[s] << (5 * (s - 1));
    return key;
}

static uint64_t mix(u128 a)
{
    uint64_t h = (uint64_t)a ^ ((uint64_t)(a >> 64) * 0x9E3779B97F4A7C15ULL);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    return h;
}

static int type_index(enum_state *e, u128 key)
{
    uint64_t h = mix(key);
    for (int i = (int)(h & (uint64_t)(e->tcap - 1));; i = (i + 1) & (e->tcap - 1)) {
        int j = e->tslot[i];
        if (j < 0) {
            j = e->t->ntypes++;
            e->t->types[j] = key;
            e->tslot[i] = j;
            return j;
        }
        if (e->t->types[j] == key) return j;
    }
}

static void record(enum_state *e)
{
    const int k = e->k;
    int next[DW_SPECTRUM_NC_KMAX], last_of[DW_SPECTRUM_NC_KMAX], first_of[DW_SPECTRUM_NC_KMAX];
    int sizes[DW_SPECTRUM_NC_KMAX];
    for (int b = 0; b < e->nblocks; b++) first_of[b] = -1, sizes[b] = 0;
    /* pi as a permutation: i -> next element of its block (cyclically) */
    for (int i = k - 1; i >= 0; i--) {
        int b = e->label[i];
        if (first_of[b] < 0) last_of[b] = i;
        else next[i] = first_of[b];
        first_of[b] = i;
        sizes[b]++;
    }
    for (int b = 0; b < e->nblocks; b++) next[last_of[b]] = first_of[b];
    /* pi^{-1} gamma: i -> gamma(i) = i+1 mod k -> pi^{-1} */
    int inv[DW_SPECTRUM_NC_KMAX], seen[DW_SPECTRUM_NC_KMAX] = {0}, ksizes[DW_SPECTRUM_NC_KMAX], nk = 0;
    for (int i = 0; i < k; i++) inv[next[i]] = i;
    for (int i = 0; i < k; i++) {
        if (seen[i]) continue;
        int len = 0;
        for (int j = i; !seen[j]; j = inv[(j + 1) % k]) seen[j] = 1, len++;
        ksizes[nk++] = len;
    }
    int a = type_index(e, type_of_sizes(sizes, e->nblocks)), b = type_index(e, type_of_sizes(ksizes, nk));
    u128 pk = ((u128)a << 32) | (u128)b;
    uint64_t h = mix(pk + 0x1234567);
    for (int i = (int)(h & (uint64_t)(e->cap - 1));; i = (i + 1) & (e->cap - 1)) {
        int j = e->slot[i];
        if (j < 0) {
            j = e->t->npairs++;
            e->t->pi_type[j] = a;
            e->t->kr_type[j] = b;
            e->t->count[j] = 1;
            e->slot[i] = j;
            break;
        }
        if (e->t->pi_type[j] == a && e->t->kr_type[j] == b) {
            e->t->count[j]++;
            break;
        }
    }
    e->t->n_partitions++;
}

static void gen(enum_state *e);

/* Extend the block `b` whose last element is `last`, inside the interval ending at hi (exclusive). */
static void grow(enum_state *e, int b, int last, int hi)
{
    /* stop the block here: the rest (last+1 .. hi) is free */
    e->stack_lo[e->sp] = last + 1;
    e->stack_hi[e->sp] = hi;
    e->sp++;
    gen(e);
    e->sp--;
    for (int nx = last + 1; nx < hi; nx++) {
        /* gap (last+1 .. nx) filled independently */
        e->label[nx] = b;
        e->stack_lo[e->sp] = last + 1;
        e->stack_hi[e->sp] = nx;
        e->sp++;
        grow(e, b, nx, hi);
        e->sp--;
    }
}

static void gen(enum_state *e)
{
    /* find a non-empty pending interval */
    int sp = e->sp;
    while (sp > 0 && e->stack_lo[sp - 1] >= e->stack_hi[sp - 1]) sp--;
    if (sp == 0) {
        record(e);
        return;
    }
    int lo = e->stack_lo[sp - 1], hi = e->stack_hi[sp - 1];
    int save_sp = e->sp;
    /* consume that interval: the elements above it in the stack are empty, drop them too */
    e->sp = sp - 1;
    int b = e->nblocks++;
    e->label[lo] = b;
    grow(e, b, lo, hi);
    e->nblocks--;
    e->sp = save_sp;
    e->stack_lo[sp - 1] = lo;
    e->stack_hi[sp - 1] = hi;
}

static void table_clear(nc_table *t)
{
    free(t->types);
    free(t->pi_type);
    free(t->kr_type);
    free(t->count);
    memset(t, 0, sizeof *t);
}

static dw_status table_build(nc_table *t, int k)
{
    memset(t, 0, sizeof *t);
    if (k < 1 || k > DW_SPECTRUM_NC_KMAX)
        return dw_fail(DW_ERR_INVALID, "NC(k) route: k = %d outside 1..%d", k, DW_SPECTRUM_NC_KMAX);
    const int maxtypes = 512, maxpairs = 65536; /* p(16) = 231 */
    enum_state *e = dw_calloc(1, sizeof *e, "NC enumeration");
    if (!e) return DW_ERR_NOMEM;
    t->k = k;
    t->types = dw_alloc(maxtypes, sizeof(u128), "NC types");
    t->pi_type = dw_alloc(maxpairs, sizeof(int), "NC pairs");
    t->kr_type = dw_alloc(maxpairs, sizeof(int), "NC pairs");
    t->count = dw_alloc(maxpairs, sizeof(long), "NC pairs");
    e->cap = 2 * maxpairs;
    e->tcap = 2 * maxtypes;
    e->slot = dw_alloc((size_t)e->cap, sizeof(int), "NC hash");
    e->tslot = dw_alloc((size_t)e->tcap, sizeof(int), "NC hash");
    if (!t->types || !t->pi_type || !t->kr_type || !t->count || !e->slot || !e->tslot) {
        free(e->slot);
        free(e->tslot);
        free(e);
        table_clear(t);
        return DW_ERR_NOMEM;
    }
    for (int i = 0; i < e->cap; i++) e->slot[i] = -1;
    for (int i = 0; i < e->tcap; i++) e->tslot[i] = -1;
    e->k = k;
    e->t = t;
    e->stack_lo[0] = 0;
    e->stack_hi[0] = k;
    e->sp = 1;
    gen(e);
    free(e->slot);
    free(e->tslot);
    free(e);
    return DW_OK;
}

dw_status dw_spec_nc_stats(int k, long *n_partitions, long *n_pairs)
{
    nc_table t;
    dw_status st = table_build(&t, k);
    if (st) return st;
    *n_partitions = t.n_partitions;
    *n_pairs = t.npairs;
    table_clear(&t);
    return DW_OK;
}

static int type_count(u128 key, int s) { return (int)((key >> (5 * (s - 1))) & 31); }

static double type_prod(u128 key, const double *v) /* prod_s v[s]^{c_s}, v 1-based */
{
    double p = 1;
    for (int s = 1; s <= DW_SPECTRUM_NC_KMAX; s++) {
        int c = type_count(key, s);
        for (int i = 0; i < c; i++) p *= v[s];
    }
    return p;
}

static void type_prod_q(fmpq_t p, u128 key, const fmpq *v) /* v 1-based */
{
    fmpq_one(p);
    fmpq_t t;
    fmpq_init(t);
    for (int s = 1; s <= DW_SPECTRUM_NC_KMAX; s++) {
        int c = type_count(key, s);
        if (c) {
            fmpq_pow_si(t, v + s, c);
            fmpq_mul(p, p, t);
        }
    }
    fmpq_clear(t);
}

dw_status dw_spec_nc_moments(int L, int K, const double *sw2, const double *mu, int ldmu, double *m)
{
    if (K < 1 || K > DW_SPECTRUM_NC_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments by NC(k): K = %d outside 1..%d (use the S-transform route above %d)",
                       K, DW_SPECTRUM_NC_KMAX, DW_SPECTRUM_NC_KMAX);
    nc_table tab[DW_SPECTRUM_NC_KMAX + 1];
    memset(tab, 0, sizeof tab);
    dw_status st = DW_OK;
    for (int k = 1; k <= K && !st; k++) st = table_build(&tab[k], k);
    double prev[DW_SPECTRUM_NC_KMAX + 1], cur[DW_SPECTRUM_NC_KMAX + 1], muv[DW_SPECTRUM_NC_KMAX + 1];
    double tp[512], tk[512];
    for (int k = 0; k <= K; k++) prev[k] = 1.0; /* m^{(0)} = 1: J^0 = I */
    for (int l = 0; l < L && !st; l++) {
        for (int j = 1; j <= K; j++) muv[j] = mu[(size_t)l * ldmu + j - 1];
        cur[0] = 1;
        for (int k = 1; k <= K; k++) {
            const nc_table *t = &tab[k];
            for (int i = 0; i < t->ntypes; i++) {
                tp[i] = type_prod(t->types[i], prev);
                tk[i] = type_prod(t->types[i], muv);
            }
            double sum = 0;
            for (int p = 0; p < t->npairs; p++) sum += (double)t->count[p] * tp[t->pi_type[p]] * tk[t->kr_type[p]];
            cur[k] = pow(sw2[l], k) * sum;
        }
        memcpy(prev, cur, sizeof(double) * (size_t)(K + 1));
    }
    for (int k = 1; k <= K; k++) table_clear(&tab[k]);
    if (st) return st;
    for (int k = 1; k <= K; k++) m[k - 1] = prev[k];
    return DW_OK;
}

dw_status dw_spec_nc_moments_exact(int L, int K, const fmpq *sw2, const fmpq *mu, int ldmu, fmpq *m)
{
    if (K < 1 || K > DW_SPECTRUM_NC_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments by NC(k): K = %d outside 1..%d", K, DW_SPECTRUM_NC_KMAX);
    nc_table tab[DW_SPECTRUM_NC_KMAX + 1];
    memset(tab, 0, sizeof tab);
    dw_status st = DW_OK;
    for (int k = 1; k <= K && !st; k++) st = table_build(&tab[k], k);
    fmpq *prev = _fmpq_vec_init(K + 1), *cur = _fmpq_vec_init(K + 1), *muv = _fmpq_vec_init(K + 1);
    fmpq *tp = _fmpq_vec_init(512), *tk = _fmpq_vec_init(512);
    fmpq_t sum, term, pw;
    fmpq_init(sum);
    fmpq_init(term);
    fmpq_init(pw);
    for (int k = 0; k <= K; k++) fmpq_one(prev + k);
    for (int l = 0; l < L && !st; l++) {
        for (int j = 1; j <= K; j++) fmpq_set(muv + j, mu + (size_t)l * ldmu + j - 1);
        fmpq_one(cur);
        for (int k = 1; k <= K; k++) {
            const nc_table *t = &tab[k];
            for (int i = 0; i < t->ntypes; i++) {
                type_prod_q(tp + i, t->types[i], prev);
                type_prod_q(tk + i, t->types[i], muv);
            }
            fmpq_zero(sum);
            for (int p = 0; p < t->npairs; p++) {
                fmpq_mul(term, tp + t->pi_type[p], tk + t->kr_type[p]);
                fmpq_mul_si(term, term, t->count[p]);
                fmpq_add(sum, sum, term);
            }
            fmpq_pow_si(pw, sw2 + l, k);
            fmpq_mul(cur + k, sum, pw);
        }
        for (int k = 0; k <= K; k++) fmpq_set(prev + k, cur + k);
    }
    for (int k = 1; k <= K; k++) table_clear(&tab[k]);
    if (!st)
        for (int k = 1; k <= K; k++) fmpq_set(m + k - 1, prev + k);
    _fmpq_vec_clear(prev, K + 1);
    _fmpq_vec_clear(cur, K + 1);
    _fmpq_vec_clear(muv, K + 1);
    _fmpq_vec_clear(tp, 512);
    _fmpq_vec_clear(tk, 512);
    fmpq_clear(sum);
    fmpq_clear(term);
    fmpq_clear(pw);
    return st;
}
