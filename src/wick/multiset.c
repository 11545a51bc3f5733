/* Multisets of factor types for the residual conditional route: the mset_memo and the splits (multiset.h). */
#include "wick/multiset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t mslot(const mset_memo *m, const int *key, int k)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)k;
    for (int i = 0; i < k; i++) h = (h ^ (uint64_t)key[i]) * 1099511628211ull;
    size_t j = (size_t)h & (m->cap - 1);
    while (m->e[j].val && (m->e[j].k != k || memcmp(m->e[j].key, key, (size_t)k * sizeof(int))))
        j = (j + 1) & (m->cap - 1);
    return j;
}

fmpq_mpoly_struct *mset_memo_get(const mset_memo *m, const int *key, int k)
{
    return m->cap ? m->e[mslot(m, key, k)].val : NULL;
}

/* takes val (NULL on failure, val freed) */
fmpq_mpoly_struct *mset_memo_put(mset_memo *m, const int *key, int k, fmpq_mpoly_struct *val)
{
    if (2 * (m->n + 1) > m->cap) {
        mset_memo g = {calloc(m->cap ? 2 * m->cap : 64, sizeof(mset_entry)), m->cap ? 2 * m->cap : 64, m->n, m->ctx};
        if (!g.e) goto fail;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].val) g.e[mslot(&g, m->e[i].key, m->e[i].k)] = m->e[i];
        free(m->e);
        *m = g;
    }
    int *kc = malloc((size_t)(k ? k : 1) * sizeof(int));
    if (!kc) goto fail;
    memcpy(kc, key, (size_t)k * sizeof(int));
    m->e[mslot(m, key, k)] = (mset_entry){k, kc, val};
    m->n++;
    return val;
fail:
    fmpq_mpoly_clear(val, m->ctx);
    free(val);
    return NULL;
}

void mset_memo_clear(mset_memo *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].val) {
            fmpq_mpoly_clear(m->e[i].val, m->ctx);
            free(m->e[i].val);
            free(m->e[i].key);
        }
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}

void mset_split_init(mset_split *s, const int *key, int k)
{
    s->D = 0;
    for (int i = 0; i < k; i++) {
        if (!s->D || s->dv[s->D - 1] != key[i]) {
            s->dv[s->D] = key[i];
            s->dn[s->D] = 0;
            s->b[s->D++] = 0;
        }
        s->dn[s->D - 1]++;
    }
    s->b[0] = 1;
}

int mset_split_next(mset_split *s)
{
    for (int i = s->D - 1; i >= 0; i--) {
        if (s->b[i] < s->dn[i]) {
            s->b[i]++;
            return 1;
        }
        s->b[i] = i == 0 ? 1 : 0;
    }
    return 0;
}

void mset_split_keys(const mset_split *s, int *kb, int *nb, int *kr, int *nr, fmpz_t mult)
{
    fmpz_t t;
    fmpz_init(t);
    fmpz_one(mult);
    *nb = *nr = 0;
    for (int i = 0; i < s->D; i++) {
        for (int j = 0; j < s->dn[i]; j++) {
            if (j < s->b[i]) kb[(*nb)++] = s->dv[i];
            else kr[(*nr)++] = s->dv[i];
        }
        fmpz_bin_uiui(t, (ulong)(s->dn[i] - (i == 0)), (ulong)(s->b[i] - (i == 0)));
        fmpz_mul(mult, mult, t);
    }
    fmpz_clear(t);
}
