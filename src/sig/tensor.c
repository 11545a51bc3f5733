/* Truncated tensor algebra T^n(R^d) (level 0 omitted) and the Lyndon basis of its free Lie algebra (theory.md 5).
 *
 * Words are ordered level by level and lexicographically within a level (iisignature's order): the word
 * i_1 ... i_k (letters 0..d-1) sits at off[k] + sum_j i_j d^(k-j). Chen's step S <- S (x) exp(h) is written in
 * Horner form, level n down to 1, so that every level costs d^k multiply-adds:
 *   (S (x) e^h)_k = S_k + ((...((h/k + S_1) (x) h/(k-1) + S_2) (x) h/(k-2) ...) + S_{k-1}) (x) h.
 * The log-signature's Lyndon coordinates c_w solve log S = sum_w c_w P_w, where P_w is the standard bracketing of
 * the Lyndon word w; P_w = w + (words lexicographically larger than w), so the system is unitriangular.
 */
#include "sig/sig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_tens_init(dw_tens *t, size_t d, int n)
{
    memset(t, 0, sizeof *t);
    if (d == 0) return dw_fail(DW_ERR_INVALID, "path dimension d must be at least 1");
    if (n < 1 || n > DW_SIG_MAX_LEVEL)
        return dw_fail(DW_ERR_INVALID, "level: must be between 1 and %d (got %d)", DW_SIG_MAX_LEVEL, n);
    t->d = d;
    t->n = n;
    size_t p = 1, total = 0;
    for (int k = 1; k <= n; k++) {
        if (p > SIZE_MAX / d / 8 || total > SIZE_MAX / 8 - p * d)
            return dw_fail(DW_ERR_NOMEM, "level %d: the truncated signature of a %zu-dimensional path has more than "
                                         "2^64 / 8 entries (d^%d alone overflows)",
                           n, d, k);
        p *= d;
        t->off[k] = total;
        t->pw[k] = p;
        total += p;
    }
    t->off[n + 1] = total;
    return DW_OK;
}

void dw_tens_exp_segment(const dw_tens *t, const double *h, double *S)
{
    const size_t d = t->d;
    memcpy(S, h, d * sizeof(double));
    for (int k = 2; k <= t->n; k++) {
        const double *prev = S + t->off[k - 1];
        double *cur = S + t->off[k];
        const double inv = 1.0 / k;
        for (size_t w = 0; w < t->pw[k - 1]; w++) {
            const double v = prev[w] * inv;
            for (size_t a = 0; a < d; a++) cur[w * d + a] = v * h[a];
        }
    }
}

/* The Horner step with the dimension as a compile-time constant D (0: use t->d), so the short inner loops over the
 * letters unroll. */
static inline void chen_body(const dw_tens *t, double *S, const double *h, double *B, const size_t D)
{
    const size_t d = D ? D : t->d;
    for (int k = t->n; k >= 2; k--) {
        const double ik = 1.0 / k;
        for (size_t a = 0; a < d; a++) B[a] = h[a] * ik;
        size_t sz = d;
        for (int i = 1; i <= k - 2; i++) {
            /* B <- (B + S_i) (x) h / (k - i), expanded in place from the top (writes land above what is read). */
            const double *Si = S + t->off[i];
            const double c = 1.0 / (k - i);
            for (size_t w = sz; w-- > 0;) {
                const double v = (B[w] + Si[w]) * c;
                double *o = B + w * d;
                for (size_t a = 0; a < d; a++) o[a] = v * h[a];
            }
            sz *= d;
        }
        const double *Sp = S + t->off[k - 1];
        double *Sk = S + t->off[k];
        for (size_t w = 0; w < sz; w++) {
            const double v = B[w] + Sp[w];
            double *o = Sk + w * d;
            for (size_t a = 0; a < d; a++) o[a] += v * h[a];
        }
    }
    for (size_t a = 0; a < d; a++) S[a] += h[a];
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void dw_tens_chen_step(const dw_tens *t, double *S, const double *h, double *B)
{
    switch (t->d) {
    case 2: chen_body(t, S, h, B, 2); break;
    case 3: chen_body(t, S, h, B, 3); break;
    case 4: chen_body(t, S, h, B, 4); break;
    case 5: chen_body(t, S, h, B, 5); break;
    case 6: chen_body(t, S, h, B, 6); break;
    case 8: chen_body(t, S, h, B, 8); break;
    default: chen_body(t, S, h, B, 0); break;
    }
}

void dw_tens_mul(const dw_tens *t, const double *A, const double *B, double *out)
{
    memset(out, 0, t->off[t->n + 1] * sizeof(double));
    for (int k = 2; k <= t->n; k++) {
        double *o = out + t->off[k];
        for (int i = 1; i < k; i++) {
            const double *Ai = A + t->off[i], *Bj = B + t->off[k - i];
            const size_t nb = t->pw[k - i];
            for (size_t u = 0; u < t->pw[i]; u++) {
                const double a = Ai[u];
                if (a == 0.0) continue;
                double *ou = o + u * nb;
                for (size_t v = 0; v < nb; v++) ou[v] += a * Bj[v];
            }
        }
    }
}

/* R = sum_k coef[k] X^k (k = 1..n) by Horner: R = c_n X; R <- c_k X + X (x) R. */
static void series(const dw_tens *t, const double *X, const double *coef, double *R, double *work)
{
    const size_t sz = t->off[t->n + 1];
    for (size_t i = 0; i < sz; i++) R[i] = coef[t->n] * X[i];
    for (int k = t->n - 1; k >= 1; k--) {
        dw_tens_mul(t, X, R, work);
        for (size_t i = 0; i < sz; i++) R[i] = coef[k] * X[i] + work[i];
    }
}

void dw_tens_log(const dw_tens *t, const double *X, double *L, double *work)
{
    double coef[DW_SIG_MAX_LEVEL + 1];
    for (int k = 1; k <= t->n; k++) coef[k] = (k % 2 ? 1.0 : -1.0) / k;
    series(t, X, coef, L, work);
}

void dw_tens_exp(const dw_tens *t, const double *L, double *E, double *work)
{
    double coef[DW_SIG_MAX_LEVEL + 1], f = 1.0;
    for (int k = 1; k <= t->n; k++) {
        f /= k;
        coef[k] = f;
    }
    series(t, L, coef, E, work);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Lyndon words                                                                                                */

size_t dw_lyndon_count(size_t d, int k)
{
    /* (1/k) sum_{e | k} mu(e) d^(k/e), in 128-bit arithmetic where d^k fits. */
    unsigned __int128 pos = 0, neg = 0;
    for (int e = 1; e <= k; e++) {
        if (k % e) continue;
        int mu = 1, m = e;
        for (int p = 2; p * p <= m; p++) {
            if (m % p == 0) {
                m /= p;
                if (m % p == 0) {
                    mu = 0;
                    break;
                }
                mu = -mu;
            }
        }
        if (!mu) continue;
        if (m > 1) mu = -mu;
        unsigned __int128 pw = 1;
        for (int j = 0; j < k / e; j++) {
            pw *= d;
            if (pw > (unsigned __int128)SIZE_MAX * 64) return 0;
        }
        if (mu > 0) pos += pw;
        else neg += pw;
    }
    unsigned __int128 r = (pos - neg) / (unsigned)k;
    return r > SIZE_MAX ? 0 : (size_t)r;
}

typedef dw_lie_poly sparse;

static int cmp_entry(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* [u, v] = P_u P_v - P_v P_u with |v| = q letters and |u| = p letters; entries sorted, duplicates merged. */
int dw_lie_bracket(const sparse *u, size_t pu, const sparse *v, size_t pv, sparse *out)
{
    const size_t n = 2 * u->n * v->n;
    size_t *buf = malloc(n * 2 * sizeof(size_t)); /* pairs (word, signed slot) sorted together */
    double *cv = malloc(n * sizeof(double));
    out->word = malloc(n * sizeof(size_t));
    out->c = malloc(n * sizeof(double));
    if (!buf || !cv || !out->word || !out->c) {
        free(buf);
        free(cv);
        return 0;
    }
    size_t k = 0;
    for (size_t a = 0; a < u->n; a++)
        for (size_t b = 0; b < v->n; b++) {
            buf[2 * k] = u->word[a] * pv + v->word[b];
            buf[2 * k + 1] = k;
            cv[k] = u->c[a] * v->c[b];
            k++;
            buf[2 * k] = v->word[b] * pu + u->word[a];
            buf[2 * k + 1] = k;
            cv[k] = -u->c[a] * v->c[b];
            k++;
        }
    qsort(buf, k, 2 * sizeof(size_t), cmp_entry);
    size_t m = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        double s = 0.0;
        while (j < k && buf[2 * j] == buf[2 * i]) s += cv[buf[2 * j++ + 1]];
        if (s != 0.0) {
            out->word[m] = buf[2 * i];
            out->c[m] = s;
            m++;
        }
        i = j;
    }
    out->n = m;
    free(buf);
    free(cv);
    return 1;
}

void dw_lyndon_clear(dw_lyndon *ly)
{
    if (!ly) return;
    free(ly->level_of);
    free(ly->index);
    free(ly->start);
    free(ly->col);
    free(ly->coef);
    free(ly->full_coef);
    free(ly->full_word);
    free(ly->fstart);
    memset(ly, 0, sizeof *ly);
}

dw_status dw_lyndon_init(dw_lyndon *ly, const dw_tens *t)
{
    memset(ly, 0, sizeof *ly);
    const size_t d = t->d;
    const int n = t->n;
    size_t count = 0;
    for (int k = 1; k <= n; k++) {
        size_t c = dw_lyndon_count(d, k);
        if ((!c && !(d == 1 && k > 1)) || count > SIZE_MAX / 64 - c) return dw_fail(DW_ERR_NOMEM, "level %d: too many Lyndon words", n);
        count += c;
    }
    /* Sparse expansions hold at most 2^(k-1) words each (distinct words of a bracketing of k letters). */
    double entries = 0.0;
    for (int k = 1; k <= n; k++) entries += (double)dw_lyndon_count(d, k) * (k < 60 ? (double)(1ULL << (k - 1)) : 1e18);
    dw_status s = dw_core_check_alloc(entries * 40.0 + (double)count * 40.0, "the Lyndon basis (log-signature)");
    if (s) return s;
    ly->count = count;
    ly->level_of = dw_alloc(count, sizeof(size_t), "Lyndon words");
    ly->index = dw_alloc(count, sizeof(size_t), "Lyndon words");
    ly->fstart = dw_alloc(count + 1, sizeof(size_t), "Lyndon words");
    ly->start = dw_alloc(count + 1, sizeof(size_t), "Lyndon words");
    sparse *ex = dw_calloc(count, sizeof(sparse), "Lyndon expansions");
    /* lookup from (level, lexicographic index) to the Lyndon index, for the factors of the standard bracketing */
    size_t *lookup = dw_alloc(t->off[n + 1], sizeof(size_t), "Lyndon lookup");
    int *w = dw_alloc((size_t)n + 1, sizeof(int), "Lyndon word");
    if (!ly->level_of || !ly->index || !ly->fstart || !ly->start || !ex || !lookup || !w) {
        s = DW_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < t->off[n + 1]; i++) lookup[i] = SIZE_MAX;
    size_t idx = 0;
    for (int k = 1; k <= n; k++) {
        /* Duval's algorithm: all Lyndon words of length <= k in lexicographic order; keep those of length k. */
        int len = 1;
        w[0] = -1;
        for (;;) {
            w[len - 1]++;
            if (len == k) {
                size_t lex = 0;
                for (int j = 0; j < k; j++) lex = lex * d + (size_t)w[j];
                ly->level_of[idx] = (size_t)k;
                ly->index[idx] = lex;
                lookup[t->off[k] + lex] = idx;
                if (k == 1) {
                    ex[idx].word = malloc(sizeof(size_t));
                    ex[idx].c = malloc(sizeof(double));
                    if (!ex[idx].word || !ex[idx].c) {
                        s = dw_fail(DW_ERR_NOMEM, "Lyndon expansions: out of memory");
                        goto fail;
                    }
                    ex[idx].word[0] = lex;
                    ex[idx].c[0] = 1.0;
                    ex[idx].n = 1;
                } else {
                    /* standard factorisation w = u v, v the longest proper Lyndon suffix */
                    int split = -1;
                    for (int j = 1; j < k && split < 0; j++) {
                        size_t sl = 0;
                        for (int q = j; q < k; q++) sl = sl * d + (size_t)w[q];
                        if (lookup[t->off[k - j] + sl] != SIZE_MAX) split = j;
                    }
                    size_t ul = 0, vl = 0;
                    for (int q = 0; q < split; q++) ul = ul * d + (size_t)w[q];
                    for (int q = split; q < k; q++) vl = vl * d + (size_t)w[q];
                    const size_t iu = lookup[t->off[split] + ul], iv = lookup[t->off[k - split] + vl];
                    if (!dw_lie_bracket(&ex[iu], t->pw[split], &ex[iv], t->pw[k - split], &ex[idx])) {
                        s = dw_fail(DW_ERR_NOMEM, "Lyndon expansions: out of memory");
                        goto fail;
                    }
                }
                idx++;
            }
            /* next word: repeat the prefix to length k, drop trailing maximal letters */
            int m = len;
            while (len < k) {
                w[len] = w[len - m];
                len++;
            }
            while (len > 0 && w[len - 1] == (int)d - 1) len--;
            if (len == 0) break;
        }
    }
    if (idx != count) {
        s = dw_fail(DW_ERR_INTERNAL, "Lyndon words: generated %zu, expected %zu", idx, count);
        goto fail;
    }
    size_t tot = 0, rtot = 0;
    for (size_t i = 0; i < count; i++) {
        tot += ex[i].n;
        for (size_t e = 0; e < ex[i].n; e++) rtot += lookup[t->off[ly->level_of[i]] + ex[i].word[e]] != SIZE_MAX;
    }
    ly->full_word = dw_alloc(tot + 1, sizeof(size_t), "Lyndon expansions");
    ly->full_coef = dw_alloc(tot + 1, sizeof(double), "Lyndon expansions");
    ly->col = dw_alloc(rtot + 1, sizeof(size_t), "Lyndon expansions");
    ly->coef = dw_alloc(rtot + 1, sizeof(double), "Lyndon expansions");
    if (!ly->full_word || !ly->full_coef || !ly->col || !ly->coef) {
        s = DW_ERR_NOMEM;
        goto fail;
    }
    tot = rtot = 0;
    for (size_t i = 0; i < count; i++) {
        ly->fstart[i] = tot;
        ly->start[i] = rtot;
        for (size_t e = 0; e < ex[i].n; e++) {
            ly->full_word[tot] = ex[i].word[e];
            ly->full_coef[tot++] = ex[i].c[e];
            const size_t j = lookup[t->off[ly->level_of[i]] + ex[i].word[e]];
            if (j != SIZE_MAX && j != i) { /* the diagonal is 1 */
                ly->col[rtot] = j;
                ly->coef[rtot++] = ex[i].c[e];
            }
        }
    }
    ly->fstart[count] = tot;
    ly->start[count] = rtot;
    s = DW_OK;
fail:
    if (ex)
        for (size_t i = 0; i < count; i++) {
            free(ex[i].word);
            free(ex[i].c);
        }
    free(ex);
    free(lookup);
    free(w);
    if (s) dw_lyndon_clear(ly);
    return s;
}

void dw_lyndon_project(const dw_lyndon *ly, const dw_tens *t, const double *L, double *out)
{
    for (size_t i = 0; i < ly->count; i++) out[i] = L[t->off[ly->level_of[i]] + ly->index[i]];
    /* forward substitution: P_u holds only words >= u, so the coefficient of u is final once the smaller
     * Lyndon words' contributions have been removed */
    for (size_t u = 0; u < ly->count; u++) {
        const double cu = out[u];
        for (size_t e = ly->start[u]; e < ly->start[u + 1]; e++) out[ly->col[e]] -= cu * ly->coef[e];
    }
}

void dw_lyndon_expand(const dw_lyndon *ly, const dw_tens *t, const double *c, double *L)
{
    memset(L, 0, t->off[t->n + 1] * sizeof(double));
    for (size_t u = 0; u < ly->count; u++) {
        double *Lk = L + t->off[ly->level_of[u]];
        for (size_t e = ly->fstart[u]; e < ly->fstart[u + 1]; e++) Lk[ly->full_word[e]] += c[u] * ly->full_coef[e];
    }
}
