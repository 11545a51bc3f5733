/* The public driver of the Wick engine: route choice, results, JSON and text (theory.md 4.2). */
#include "wick/wick.h"

#include <stdlib.h>
#include <string.h>

void dw_wick_result_clear(dw_wick_result *res)
{
    if (!res) return;
    dw_wick_word_clear(&res->word);
    dw_laurent_clear(&res->value);
    for (size_t i = 0; i < res->n_genus; i++) {
        fmpz_clear(res->genus[i].orientable);
        fmpz_clear(res->genus[i].nonorientable);
    }
    free(res->genus);
    for (size_t i = 0; i < res->n_pairings; i++) {
        free(res->pairings[i].partner);
        free(res->pairings[i].twist);
    }
    free(res->pairings);
    fmpz_clear(res->terms);
    free(res->json);
    free(res->text);
    free(res->coef_str);
    free(res);
}

dw_status dw_wick_compute(const dw_wick_opts *o, const char *expr, dw_wick_result **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_wick_compute: result pointer is NULL");
    *out = NULL;
    static const dw_wick_opts def = {NULL, false, DW_WICK_AUTO, 0, 0, 0};
    if (!o) o = &def;
    dw_wick_result *res = calloc(1, sizeof *res);
    if (!res) return dw_fail(DW_ERR_NOMEM, "out of memory");
    fmpz_init(res->terms);
    dw_laurent_init(&res->value);
    dw_status s = dw_wick_word_parse(&res->word, expr, o->ensembles);
    if (s) {
        fmpz_clear(res->terms);
        free(res);
        return s;
    }
    if (o->max_letters && (size_t)res->word.n > o->max_letters) {
        int n = res->word.n;
        dw_wick_word_clear(&res->word);
        fmpz_clear(res->terms);
        free(res);
        return dw_fail(DW_ERR_INVALID, "expression: %d letters, above the limit of %zu set by max_letters", n,
                       o->max_letters);
    }
    res->normalized = o->normalized != 0;
    dw_wick_route route = o->route;
    const dw_wick_word *w = &res->word;
    if (route == DW_WICK_AUTO) {
        if (o->max_pairings && w->gaussian) route = DW_WICK_PAIRINGS;
        else if (dw_wick_recursion_applies(w)) route = DW_WICK_RECURSION;
        else if (w->gaussian && dw_wick_pairings_estimate(w) <= 1e8) route = DW_WICK_PAIRINGS;
        else if (w->n <= 16) route = DW_WICK_PARTITIONS;
        else if (w->gaussian) route = DW_WICK_PAIRINGS; /* refused with its limit when too long */
        else route = DW_WICK_PARTITIONS;
    }
    if (o->max_pairings && route != DW_WICK_PAIRINGS)
        s = dw_fail(DW_ERR_INVALID, "listing pairings needs the pairings route (Gaussian ensembles)");
    else if (route == DW_WICK_PAIRINGS)
        s = dw_wick_route_pairings(res, o->max_pairings, o->threads);
    else if (route == DW_WICK_PARTITIONS)
        s = dw_wick_route_partitions(res);
    else
        s = dw_wick_route_recursion(res);
    if (s) {
        dw_wick_result_clear(res);
        return s;
    }
    dw_laurent_normalise(&res->value);
    *out = res;
    return DW_OK;
}

const char *dw_wick_result_route(const dw_wick_result *res) { return res ? res->route : ""; }

void dw_wick_result_range(const dw_wick_result *res, long *lo, long *hi)
{
    *lo = res->value.lo;
    *hi = res->value.hi;
}

const char *dw_wick_result_coef(dw_wick_result *res, long e)
{
    free(res->coef_str);
    res->coef_str = NULL;
    if (!res->value.coef || e < res->value.lo || e > res->value.hi) return "0";
    char *s = fmpq_get_str(NULL, 10, res->value.coef + (e - res->value.lo));
    if (!s) return "0";
    res->coef_str = malloc(strlen(s) + 1);
    if (res->coef_str) strcpy(res->coef_str, s);
    flint_free(s);
    return res->coef_str ? res->coef_str : "0";
}

/* The expression as parsed: tr(A A^T ...) tr(...) */
static void put_expression(dw_sbuf *b, const dw_wick_word *w)
{
    for (int t = 0; t < w->n_traces; t++) {
        dw_sbuf_puts(b, t ? " tr(" : "tr(");
        for (int i = w->trace_start[t]; i < w->trace_start[t + 1]; i++) {
            const dw_wick_letter *L = w->let + i;
            dw_sbuf_printf(b, "%s%s%s", i > w->trace_start[t] ? " " : "", w->names[L->mat],
                           L->op_t && L->op_c ? "^*" : L->op_t ? "^T" : L->op_c ? "^T^*" : "");
        }
        dw_sbuf_puts(b, ")");
    }
}

static void put_value_json(dw_sbuf *b, const dw_laurent *v)
{
    dw_sbuf_puts(b, "{");
    int first = 1;
    for (long e = v->hi; v->coef && e >= v->lo; e--) {
        const fmpq *c = v->coef + (e - v->lo);
        if (fmpq_is_zero(c)) continue;
        dw_sbuf_printf(b, "%s\"N^%ld\": \"", first ? "" : ", ", e);
        dw_sbuf_fmpq(b, c);
        dw_sbuf_puts(b, "\"");
        first = 0;
    }
    dw_sbuf_puts(b, "}");
}

const char *dw_wick_result_json(dw_wick_result *res)
{
    if (res->json) return res->json;
    dw_sbuf b = {0};
    const dw_wick_word *w = &res->word;
    dw_sbuf_puts(&b, "{\"expression\": ");
    dw_sbuf sx = {0};
    put_expression(&sx, w);
    dw_sbuf_json_string(&b, sx.s ? sx.s : "");
    free(sx.s);
    dw_sbuf_puts(&b, ", \"ensembles\": {");
    for (int m = 0; m < w->n_mats; m++) {
        dw_sbuf_puts(&b, m ? ", " : "");
        dw_sbuf_json_string(&b, w->names[m]);
        dw_sbuf_puts(&b, ": ");
        dw_sbuf_json_string(&b, w->laws[m].spec);
    }
    dw_sbuf_printf(&b, "}, \"letters\": %d, \"traces\": %d, \"route\": \"%s\", \"normalized\": %s, \"value\": ", w->n,
                   w->n_traces, res->route, res->normalized ? "true" : "false");
    put_value_json(&b, &res->value);
    dw_sbuf_puts(&b, ", \"terms\": \"");
    char *ts = fmpz_get_str(NULL, 10, res->terms);
    dw_sbuf_puts(&b, ts ? ts : "0");
    flint_free(ts);
    dw_sbuf_puts(&b, "\"");
    if (res->has_genus) {
        dw_sbuf_puts(&b, ", \"by_genus\": [");
        for (size_t i = 0; i < res->n_genus; i++) {
            const dw_wick_genus *g = res->genus + i;
            char *o = fmpz_get_str(NULL, 10, g->orientable), *no = fmpz_get_str(NULL, 10, g->nonorientable);
            dw_sbuf_printf(&b, "%s{\"chi\": %ld, \"power\": %ld, \"orientable\": \"%s\", \"nonorientable\": \"%s\"}",
                           i ? ", " : "", g->chi, g->power, o ? o : "0", no ? no : "0");
            flint_free(o);
            flint_free(no);
        }
        dw_sbuf_puts(&b, "]");
    }
    if (res->pairings) {
        dw_sbuf_puts(&b, ", \"pairings\": [");
        for (size_t i = 0; i < res->n_pairings; i++) {
            const dw_wick_pairing_rec *p = res->pairings + i;
            dw_sbuf_puts(&b, i ? ", {\"pairs\": [" : "{\"pairs\": [");
            int first = 1;
            for (int a = 0; a < w->n; a++)
                if (p->partner[a] > a) {
                    dw_sbuf_printf(&b, "%s[%d, %d, \"%s\"]", first ? "" : ", ", a + 1, p->partner[a] + 1,
                                   p->twist[a] ? "straight" : "cross");
                    first = 0;
                }
            dw_sbuf_printf(&b, "], \"chi\": %ld, \"power\": %ld, \"orientable\": %s}", p->chi, p->power,
                           p->orientable ? "true" : "false");
        }
        dw_sbuf_puts(&b, "]");
    }
    dw_sbuf_puts(&b, "}");
    if (b.failed) {
        free(b.s);
        dw_fail(DW_ERR_NOMEM, "wick result: out of memory writing its JSON");
        return NULL;
    }
    res->json = b.s;
    return res->json;
}

static void put_value_text(dw_sbuf *b, const dw_laurent *v)
{
    if (!v->coef) {
        dw_sbuf_puts(b, "0");
        return;
    }
    int first = 1;
    fmpq_t a;
    fmpq_init(a);
    for (long e = v->hi; e >= v->lo; e--) {
        const fmpq *c = v->coef + (e - v->lo);
        if (fmpq_is_zero(c)) continue;
        fmpq_abs(a, c);
        dw_sbuf_puts(b, first ? (fmpq_sgn(c) < 0 ? "-" : "") : (fmpq_sgn(c) < 0 ? " - " : " + "));
        int one = fmpq_is_one(a);
        if (!one || e == 0) dw_sbuf_fmpq(b, a);
        if (e != 0) dw_sbuf_printf(b, "%sN%s", one ? "" : " ", "");
        if (e != 0 && e != 1) dw_sbuf_printf(b, "^%ld", e);
        first = 0;
    }
    fmpq_clear(a);
}

const char *dw_wick_result_text(dw_wick_result *res, bool by_genus, bool pairings)
{
    free(res->text);
    res->text = NULL;
    dw_sbuf b = {0};
    const dw_wick_word *w = &res->word;
    dw_sbuf_puts(&b, res->normalized ? "E[ (1/N^k) " : "E[ ");
    put_expression(&b, w);
    dw_sbuf_puts(&b, " ] = ");
    put_value_text(&b, &res->value);
    dw_sbuf_puts(&b, "\n  ensembles:");
    for (int m = 0; m < w->n_mats; m++) dw_sbuf_printf(&b, " %s=%s", w->names[m], w->laws[m].spec);
    char *ts = fmpz_get_str(NULL, 10, res->terms);
    dw_sbuf_printf(&b, "; route: %s (%s %s)\n", res->route, ts ? ts : "?",
                   !strcmp(res->route, "partitions") ? "non-zero partitions" : "pairings");
    flint_free(ts);
    if (by_genus && res->has_genus) {
        dw_sbuf_puts(&b, "  by Euler characteristic of the glued surface (chi = V - E + F):\n");
        dw_sbuf_puts(&b, "       chi  power of N      orientable  non-orientable\n");
        for (size_t i = 0; i < res->n_genus; i++) {
            const dw_wick_genus *g = res->genus + i;
            char *o = fmpz_get_str(NULL, 10, g->orientable), *no = fmpz_get_str(NULL, 10, g->nonorientable);
            dw_sbuf_printf(&b, "  %8ld  %10ld  %14s  %14s\n", g->chi, g->power, o ? o : "?", no ? no : "?");
            flint_free(o);
            flint_free(no);
        }
    } else if (by_genus)
        dw_sbuf_puts(&b, "  (no genus split: the partitions route sums entry moments, not gluings)\n");
    if (pairings && res->pairings) {
        dw_sbuf_printf(&b, "  pairings (positions 1..%d; cross = glued along the faces, straight = GOE/Ginibre):\n", w->n);
        for (size_t i = 0; i < res->n_pairings; i++) {
            const dw_wick_pairing_rec *p = res->pairings + i;
            dw_sbuf_puts(&b, "    ");
            for (int a = 0; a < w->n; a++)
                if (p->partner[a] > a)
                    dw_sbuf_printf(&b, "(%d %d%s)", a + 1, p->partner[a] + 1,
                                   w->laws[w->let[a].mat].ens == DW_ENS_GOE ? (p->twist[a] ? "s" : "c") : "");
            dw_sbuf_printf(&b, "  chi %ld, %s, N^%ld\n", p->chi, p->orientable ? "orientable" : "non-orientable",
                           p->power);
        }
    }
    if (b.failed) {
        free(b.s);
        dw_fail(DW_ERR_NOMEM, "wick result: out of memory writing its text");
        return NULL;
    }
    res->text = b.s;
    return res->text;
}
