/* Multisets of factor types (sorted int arrays) for the residual conditional route (expand_residual.c): a mset_memo from
 * multisets to polynomials, and the splits of a multiset into the block holding its first element and the rest.
 * Not installed. */
#ifndef DW_WICK_MULTISET_H
#define DW_WICK_MULTISET_H

#include <flint/fmpq_mpoly.h>
#include <flint/fmpz.h>

#define MSET_MAX 48 /* elements of a multiset (m factors of one monomial) */

/* memo: sorted multiset -> polynomial (open addressing; the polynomials are owned, cleared in ctx) */
typedef struct mset_entry {
    int k;
    int *key;
    fmpq_mpoly_struct *val;
} mset_entry;

typedef struct mset_memo {
    mset_entry *e;
    size_t cap, n;
    const fmpq_mpoly_ctx_struct *ctx;
} mset_memo;

/* the value stored for key, or NULL */
fmpq_mpoly_struct *mset_memo_get(const mset_memo *m, const int *key, int k);
/* stores val (heap, initialised in m->ctx) under key and returns it; NULL if out of memory (val is then freed) */
fmpq_mpoly_struct *mset_memo_put(mset_memo *m, const int *key, int k, fmpq_mpoly_struct *val);
void mset_memo_clear(mset_memo *m);

/* The sub-multisets B of a sorted multiset that hold its first element, one by one: init (B = the first element),
 * then keys (B and the rest, sorted, and the number of ways to pick B's positions among equal elements) until
 * next returns 0. */
typedef struct mset_split {
    int D, dv[MSET_MAX], dn[MSET_MAX], b[MSET_MAX];
} mset_split;

void mset_split_init(mset_split *s, const int *key, int k);
int mset_split_next(mset_split *s);
void mset_split_keys(const mset_split *s, int *kb, int *nb, int *kr, int *nr, fmpz_t mult);

#endif
