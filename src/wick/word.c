/* Words (theory.md 4.1): the expression parser, and the attachment of the ensembles' laws (law.c) to its letters. */
#include "wick/wick.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* the parser                                                                                                 */

typedef struct rawlet {
    int mat;
    unsigned char t, c;
} rawlet;

typedef struct rawvec {
    rawlet *v;
    size_t n, cap;
} rawvec;

typedef struct parser {
    const char *s;
    size_t pos, len;
    int depth;
    int n_names;
    char (*names)[DW_WICK_MAX_NAME];
    int *first_col;
    size_t total;
} parser;

static void rv_free(rawvec *r) { free(r->v); r->v = NULL; r->n = r->cap = 0; }

static dw_status rv_push(rawvec *r, rawlet l)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        rawlet *v = realloc(r->v, cap * sizeof *v);
        if (!v) return dw_fail(DW_ERR_NOMEM, "out of memory parsing the expression");
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = l;
    return DW_OK;
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\r'))
        p->pos++;
}

static int at_trace(parser *p)
{
    size_t i = p->pos;
    if (i + 1 >= p->len || !((p->s[i] == 't' || p->s[i] == 'T') && p->s[i + 1] == 'r')) return 0;
    i += 2;
    while (i < p->len && p->s[i] == ' ') i++;
    return i < p->len && p->s[i] == '(';
}

static dw_status perr(parser *p, size_t at, const char *what)
{
    char ex[24];
    size_t n = p->len - (at < p->len ? at : p->len);
    dw_io_excerpt(ex, sizeof ex, p->s + (at < p->len ? at : p->len), n > 12 ? 12 : n);
    if (at >= p->len) return dw_fail(DW_ERR_INVALID, "expression: %s at column %zu (end of the expression)", what, at + 1);
    return dw_fail(DW_ERR_INVALID, "expression: %s at column %zu ('%s')", what, at + 1, ex);
}

static dw_status parse_word(parser *p, rawvec *out);

/* Applies ^T / ^* (reverse, toggle) or ^k (repeat) to `v`. */
static dw_status postfix(parser *p, rawvec *v, int scalar)
{
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != '^') return DW_OK;
        size_t at = p->pos++;
        skip_space(p);
        if (p->pos >= p->len) return perr(p, p->pos, "expected T, *, H or a power after '^'");
        char ch = p->s[p->pos];
        if (ch == 'T' || ch == '*' || ch == 'H' || ch == '\'') {
            if (scalar)
                return perr(p, at, "a transpose or adjoint of a trace (a scalar) is meaningless");
            p->pos++;
            int conj = ch != 'T';
            for (size_t i = 0; i < v->n / 2; i++) {
                rawlet t = v->v[i];
                v->v[i] = v->v[v->n - 1 - i];
                v->v[v->n - 1 - i] = t;
            }
            for (size_t i = 0; i < v->n; i++) {
                v->v[i].t ^= 1;
                v->v[i].c ^= (unsigned char)conj;
            }
        } else if (ch >= '0' && ch <= '9') {
            long k = 0;
            while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
                if (k < 100000) k = k * 10 + (p->s[p->pos] - '0');
                p->pos++;
            }
            if (scalar && k == 0) return perr(p, at, "a trace to the power 0 is the constant 1; drop it");
            if (k > DW_WICK_MAX_LETTERS ||
                (!scalar && k > 0 && p->total + (size_t)(k - 1) * v->n > DW_WICK_MAX_LETTERS))
                return perr(p, at, "the power makes the expression longer than 4096 letters");
            size_t n0 = v->n;
            if (k == 0) v->n = 0;
            for (long r = 1; r < k; r++)
                for (size_t i = 0; i < n0; i++) {
                    dw_status s = rv_push(v, v->v[i]);
                    if (s) return s;
                }
            if (!scalar) p->total = p->total + (size_t)(k > 0 ? k - 1 : 0) * n0 - (k == 0 ? n0 : 0);
        } else
            return perr(p, p->pos, "expected T, *, H or a power after '^'");
    }
}

static dw_status parse_factor(parser *p, rawvec *out)
{
    rawvec v = {0};
    dw_status s = DW_OK;
    size_t at = p->pos;
    char ch = p->s[p->pos];
    if (ch == '(') {
        if (++p->depth > DW_WICK_MAX_DEPTH) return perr(p, at, "parentheses nested deeper than 64");
        p->pos++;
        if ((s = parse_word(p, &v))) goto done;
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != ')') {
            s = perr(p, p->pos >= p->len ? p->len : p->pos, p->pos >= p->len ? "unbalanced parenthesis: missing ')'" : "expected ')'");
            goto done;
        }
        if (v.n == 0) {
            s = perr(p, at, "empty parentheses");
            goto done;
        }
        p->pos++;
        p->depth--;
    } else if (isalpha((unsigned char)ch)) {
        if (at_trace(p)) {
            s = perr(p, at, "a trace inside a trace; write a product of traces tr(..) tr(..)");
            goto done;
        }
        size_t b = p->pos++;
        while (p->pos < p->len && (isdigit((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_')) p->pos++;
        size_t nl = p->pos - b;
        if (nl >= DW_WICK_MAX_NAME) {
            s = perr(p, b, "letter name longer than 31 characters");
            goto done;
        }
        int id = -1;
        for (int k = 0; k < p->n_names; k++)
            if (strlen(p->names[k]) == nl && !memcmp(p->names[k], p->s + b, nl)) id = k;
        if (id < 0) {
            if (p->n_names >= 256) {
                s = perr(p, b, "more than 256 distinct letters");
                goto done;
            }
            void *nn = realloc(p->names, (size_t)(p->n_names + 1) * sizeof *p->names);
            if (!nn) {
                s = dw_fail(DW_ERR_NOMEM, "out of memory parsing the expression");
                goto done;
            }
            p->names = nn;
            int *fc = realloc(p->first_col, (size_t)(p->n_names + 1) * sizeof *fc);
            if (!fc) {
                s = dw_fail(DW_ERR_NOMEM, "out of memory parsing the expression");
                goto done;
            }
            p->first_col = fc;
            memcpy(p->names[p->n_names], p->s + b, nl);
            p->names[p->n_names][nl] = '\0';
            p->first_col[p->n_names] = (int)b + 1;
            id = p->n_names++;
        }
        if (++p->total > DW_WICK_MAX_LETTERS) {
            s = perr(p, b, "the expression is longer than 4096 letters");
            goto done;
        }
        if ((s = rv_push(&v, (rawlet){id, 0, 0}))) goto done;
    } else {
        s = perr(p, at, ch == ')' ? "unbalanced parenthesis: unexpected ')'" : "unexpected character");
        goto done;
    }
    if ((s = postfix(p, &v, 0))) goto done;
    for (size_t i = 0; i < v.n; i++)
        if ((s = rv_push(out, v.v[i]))) goto done;
done:
    rv_free(&v);
    return s;
}

static dw_status parse_word(parser *p, rawvec *out)
{
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len) return DW_OK;
        char ch = p->s[p->pos];
        if (ch == ')') return DW_OK;
        if (ch == '*' || ch == '.') {
            p->pos++;
            continue;
        }
        dw_status s = parse_factor(p, out);
        if (s) return s;
    }
}

void dw_wick_word_clear(dw_wick_word *w)
{
    free(w->let);
    free(w->trace_start);
    free(w->names);
    if (w->laws)
        for (int m = 0; m < w->n_mats; m++) dw_wick_law_clear(w->laws + m);
    free(w->laws);
    free(w->mat_count);
    memset(w, 0, sizeof *w);
}

/* Splits "A=goe,B=moments:3,15" into assignments: a comma starts a new one only when NAME= follows. */
static dw_status attach_laws(dw_wick_word *w, const char *ens, const int *first_col)
{
    int *set = calloc((size_t)w->n_mats, sizeof *set);
    if (!set) return dw_fail(DW_ERR_NOMEM, "out of memory");
    dw_status s = DW_OK;
    char buf[512];
    if (!ens || !*ens) ens = "gue";
    if (strlen(ens) >= 4096) {
        free(set);
        return dw_fail(DW_ERR_INVALID, "ensembles: the specification is longer than 4096 characters");
    }
    if (!strchr(ens, '=')) {
        for (int m = 0; m < w->n_mats; m++) {
            if ((s = dw_wick_law_parse(w->laws + m, ens))) goto done;
            set[m] = 1;
        }
        goto done;
    }
    const char *p = ens;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq) {
            char ex[40];
            dw_io_excerpt(ex, sizeof ex, p, strlen(p));
            s = dw_fail(DW_ERR_INVALID, "ensembles: expected LETTER=ENSEMBLE at '%s'", ex);
            goto done;
        }
        /* the value ends at a ',' or ';' followed by NAME '=' */
        const char *v = eq + 1, *end = v;
        for (;;) {
            end += strcspn(end, ",;");
            if (!*end) break;
            const char *q = end + 1;
            while (*q == ' ') q++;
            const char *nb = q;
            while (isalnum((unsigned char)*q) || *q == '_') q++;
            while (*q == ' ') q++;
            if (q > nb && *q == '=') break;
            end++;
        }
        const char *nb = p, *ne = eq;
        while (*nb == ' ') nb++;
        while (ne > nb && ne[-1] == ' ') ne--;
        size_t vl = (size_t)(end - v);
        if (vl >= sizeof buf || ne - nb >= DW_WICK_MAX_NAME) {
            s = dw_fail(DW_ERR_INVALID, "ensembles: an assignment is too long");
            goto done;
        }
        memcpy(buf, v, vl);
        buf[vl] = '\0';
        int id = -1;
        for (int m = 0; m < w->n_mats; m++)
            if ((size_t)(ne - nb) == strlen(w->names[m]) && !memcmp(w->names[m], nb, (size_t)(ne - nb))) id = m;
        if (id < 0) {
            s = dw_fail(DW_ERR_INVALID, "ensembles: '%.*s' is not a letter of the expression", (int)(ne - nb), nb);
            goto done;
        }
        if (set[id]) {
            s = dw_fail(DW_ERR_INVALID, "ensembles: letter '%s' is given twice", w->names[id]);
            goto done;
        }
        dw_wick_law_clear(w->laws + id);
        if ((s = dw_wick_law_parse(w->laws + id, buf))) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", dw_error_message());
            s = dw_fail(s, "ensembles: letter %s: %s", w->names[id], msg);
            goto done;
        }
        set[id] = 1;
        p = *end ? end + 1 : end;
    }
    for (int m = 0; m < w->n_mats; m++)
        if (!set[m]) {
            s = dw_fail(DW_ERR_INVALID,
                        "unknown letter '%s' at column %d: no ensemble is given for it (add %s=ENSEMBLE)",
                        w->names[m], first_col[m], w->names[m]);
            goto done;
        }
done:
    free(set);
    return s;
}

dw_status dw_wick_word_parse(dw_wick_word *w, const char *expr, const char *ensembles)
{
    memset(w, 0, sizeof *w);
    if (!expr) return dw_fail(DW_ERR_INVALID, "expression: NULL");
    size_t len = strlen(expr);
    if (len > DW_WICK_MAX_TEXT) return dw_fail(DW_ERR_INVALID, "expression: longer than 65536 characters");
    parser p = {expr, 0, len, 0, 0, NULL, NULL, 0};
    rawvec all = {0};
    int *tstart = NULL;
    size_t nt = 0, tcap = 0;
    dw_status s = DW_OK;
    for (;;) {
        skip_space(&p);
        if (p.pos >= p.len) break;
        if (p.s[p.pos] == '*' || p.s[p.pos] == '.') {
            p.pos++;
            continue;
        }
        if (!at_trace(&p)) {
            s = perr(&p, p.pos, p.s[p.pos] == ')' ? "unbalanced parenthesis: unexpected ')'"
                                                  : "expected a trace tr(...)");
            goto fail;
        }
        size_t at = p.pos;
        p.pos += 2;
        skip_space(&p);
        p.pos++; /* '(' */
        rawvec v = {0};
        if ((s = parse_word(&p, &v))) {
            rv_free(&v);
            goto fail;
        }
        skip_space(&p);
        if (p.pos >= p.len || p.s[p.pos] != ')') {
            rv_free(&v);
            s = perr(&p, p.pos, p.pos >= p.len ? "unbalanced parenthesis: missing ')'" : "expected ')'");
            goto fail;
        }
        p.pos++;
        if (v.n == 0) {
            rv_free(&v);
            s = perr(&p, at, "trace of an empty word (tr(I) = N is not random)");
            goto fail;
        }
        /* a power of the trace repeats it as separate traces */
        rawvec one = {0};
        if ((s = rv_push(&one, (rawlet){0, 0, 0}))) {
            rv_free(&v);
            goto fail;
        }
        s = postfix(&p, &one, 1);
        size_t reps = one.n;
        rv_free(&one);
        if (s) {
            rv_free(&v);
            goto fail;
        }
        if (reps * v.n + all.n > DW_WICK_MAX_LETTERS) {
            rv_free(&v);
            s = perr(&p, at, "the expression is longer than 4096 letters");
            goto fail;
        }
        for (size_t r = 0; r < reps; r++) {
            if (nt + 2 > tcap) {
                tcap = tcap ? 2 * tcap : 8;
                int *t = realloc(tstart, tcap * sizeof *t);
                if (!t) {
                    rv_free(&v);
                    s = dw_fail(DW_ERR_NOMEM, "out of memory");
                    goto fail;
                }
                tstart = t;
            }
            tstart[nt++] = (int)all.n;
            for (size_t i = 0; i < v.n && !s; i++) s = rv_push(&all, v.v[i]);
        }
        p.total = all.n;
        rv_free(&v);
        if (s) goto fail;
    }
    if (nt == 0) {
        s = dw_fail(DW_ERR_INVALID, "expression: no trace (expected a product of traces such as 'tr(A A^T)')");
        goto fail;
    }
    w->n = (int)all.n;
    w->n_traces = (int)nt;
    w->n_mats = p.n_names;
    w->let = dw_calloc(all.n, sizeof *w->let, "letters");
    w->trace_start = dw_calloc(nt + 1, sizeof(int), "traces");
    w->names = dw_calloc((size_t)p.n_names, sizeof *w->names, "letters");
    w->laws = dw_calloc((size_t)p.n_names, sizeof *w->laws, "laws");
    w->mat_count = dw_calloc((size_t)p.n_names, sizeof(int), "letters");
    if (!w->let || !w->trace_start || !w->names || !w->laws || !w->mat_count) {
        s = DW_ERR_NOMEM;
        goto fail;
    }
    for (int m = 0; m < w->n_mats; m++) fmpq_init(w->laws[m].p);
    memcpy(w->names, p.names, (size_t)p.n_names * sizeof *w->names);
    memcpy(w->trace_start, tstart, nt * sizeof(int));
    w->trace_start[nt] = (int)all.n;
    if ((s = attach_laws(w, ensembles, p.first_col))) goto fail;
    w->gaussian = 1;
    for (int m = 0; m < w->n_mats; m++) w->gaussian &= w->laws[m].ens != DW_ENS_IID;
    for (int t = 0; t < w->n_traces; t++)
        for (int i = w->trace_start[t]; i < w->trace_start[t + 1]; i++) {
            dw_wick_letter *L = w->let + i;
            rawlet r = all.v[i];
            L->mat = r.mat;
            L->trace = t;
            L->from = i;
            L->to = i + 1 < w->trace_start[t + 1] ? i + 1 : w->trace_start[t];
            L->op_t = r.t;
            L->op_c = r.c;
            w->mat_count[r.mat]++;
            int tr = r.t, cj = 0;
            switch (w->laws[r.mat].ens) {
            case DW_ENS_GUE: tr = r.t ^ r.c; break;   /* A^* = A, conj(A) = A^T */
            case DW_ENS_GOE: tr = 0; break;           /* symmetric: either reading */
            case DW_ENS_CGINIBRE: cj = r.c; break;
            default: break;                           /* real: ^* = ^T */
            }
            L->tflip = tr;
            L->conj = cj;
            L->r = tr ? L->to : L->from;
            L->c = tr ? L->from : L->to;
        }
    rv_free(&all);
    free(tstart);
    free(p.names);
    free(p.first_col);
    return DW_OK;
fail:
    rv_free(&all);
    free(tstart);
    free(p.names);
    free(p.first_col);
    dw_wick_word_clear(w);
    return s;
}
