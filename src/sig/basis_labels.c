/* The log-signature bases' elements written as brackets (iisignature's basis(s)): "1", "[1,2]", "[1,[1,2]]", letters
 * numbered from 1. Lyndon words carry their standard bracketing, [u, v] with v the longest proper suffix of the
 * word that is itself a Lyndon word; Hall elements the pairs the Hall set was built from (hall.c). Two passes over
 * the same writer: the first only counts, so the caller can size the buffer. */
#include "sig/sig.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *buf; /* NULL: count only */
    size_t pos;
} writer;

static void put(writer *w, const char *s)
{
    const size_t n = strlen(s);
    if (w->buf) memcpy(w->buf + w->pos, s, n);
    w->pos += n;
}

static void letter(writer *w, size_t a)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%zu", a + 1);
    put(w, tmp);
}

/* whether w[a..b) is a Lyndon word: strictly smaller than each of its proper suffixes */
static int is_lyndon(const size_t *word, size_t a, size_t b)
{
    for (size_t s = a + 1; s < b; s++) {
        size_t j = 0;
        while (s + j < b && word[a + j] == word[s + j]) j++;
        if (s + j == b || word[a + j] > word[s + j]) return 0; /* the suffix is a prefix, or smaller */
    }
    return 1;
}

static void lyndon_bracket(writer *w, const size_t *word, size_t a, size_t b)
{
    if (b - a == 1) {
        letter(w, word[a]);
        return;
    }
    size_t s = a + 1;
    while (!is_lyndon(word, s, b)) s++; /* the first start is the longest suffix; a single letter always is */
    put(w, "[");
    lyndon_bracket(w, word, a, s);
    put(w, ",");
    lyndon_bracket(w, word, s, b);
    put(w, "]");
}

static void hall_bracket(writer *w, const dw_liebasis *lb, size_t m)
{
    if (lb->left[m] == SIZE_MAX) {
        letter(w, lb->right[m]);
        return;
    }
    put(w, "[");
    hall_bracket(w, lb, lb->left[m]);
    put(w, ",");
    hall_bracket(w, lb, lb->right[m]);
    put(w, "]");
}

static void write_all(writer *w, const dw_liebasis *lb, const dw_tens *t)
{
    size_t word[DW_SIG_MAX_LEVEL];
    for (size_t m = 0; m < lb->count; m++) {
        if (m) put(w, "\n");
        if (lb->basis == DW_SIG_HALL) {
            hall_bracket(w, lb, m);
            continue;
        }
        const size_t k = lb->ly.level_of[m];
        for (size_t j = k, idx = lb->ly.index[m]; j-- > 0; idx /= t->d) word[j] = idx % t->d;
        lyndon_bracket(w, word, 0, k);
    }
    if (w->buf) w->buf[w->pos] = '\0';
    w->pos++;
}

dw_status dw_sig_basis_labels(const dw_sig_opts *o, size_t d, char *buf, size_t cap, size_t *len)
{
    if (len) *len = 0;
    if (!o || !len) return dw_fail(DW_ERR_INVALID, "basis labels: NULL %s", o ? "length" : "options");
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "basis labels: dimension d must be at least 1");
    if (o->basis == DW_SIG_EXPANDED)
        return dw_fail(DW_ERR_INVALID, "basis labels: the expanded log-signature has no Lie basis (its entries are "
                                       "the signature's words)");
    if (o->level == 0) {
        if (buf && cap) buf[0] = '\0';
        *len = 1;
        return DW_OK;
    }
    dw_tens t;
    dw_liebasis lb;
    dw_status s = dw_tens_init(&t, d, o->level);
    if (s || (s = dw_liebasis_init(&lb, &t, o->basis))) return s;
    writer w = {NULL, 0};
    write_all(&w, &lb, &t);
    *len = w.pos;
    if (buf) {
        if (cap < w.pos) s = dw_fail(DW_ERR_INVALID, "basis labels: buffer of %zu bytes, %zu needed", cap, w.pos);
        else {
            w = (writer){buf, 0};
            write_all(&w, &lb, &t);
        }
    }
    dw_liebasis_clear(&lb);
    return s;
}
