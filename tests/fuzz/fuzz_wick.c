/* libFuzzer harness for the Wick expression parser and engine (src/wick): the input is an expression, optionally
 * preceded by an ensemble specification and a newline. Any input must either compute (words of at most 10 letters;
 * pairings, partitions and, where it applies, the recursion must then agree exactly) with a JSON and a text output,
 * or fail with a one-line message; never crash, leak or read out of bounds. */
#include "deepwick.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(dw_wick_result *a, dw_wick_result *b)
{
    long la, ha, lb, hb;
    dw_wick_result_range(a, &la, &ha);
    dw_wick_result_range(b, &lb, &hb);
    if (la != lb || ha != hb) return 0;
    for (long e = la; e <= ha; e++) {
        const char *ca = dw_wick_result_coef(a, e);
        char *copy = malloc(strlen(ca) + 1);
        if (!copy) return 1;
        strcpy(copy, ca);
        int eq = !strcmp(copy, dw_wick_result_coef(b, e));
        free(copy);
        if (!eq) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) size = 4096;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *expr = text, *ens = NULL, *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        ens = text;
        expr = nl + 1;
    }
    dw_wick_opts *o = NULL;
    if (dw_wick_opts_init(&o) || dw_wick_opts_set_ensembles(o, ens) || dw_wick_opts_set_max_letters(o, 10) ||
        dw_wick_opts_set_threads(o, 1))
        abort();
    dw_wick_result *r = NULL;
    dw_status s = dw_wick_compute(o, expr, &r);
    if (s == DW_OK) {
        if (!r) abort();
        (void)dw_wick_result_json(r);
        (void)dw_wick_result_text(r, true, true);
        dw_wick_result *q = NULL;
        if (dw_wick_opts_set_route(o, DW_WICK_PARTITIONS)) abort();
        if (dw_wick_compute(o, expr, &q) == DW_OK) {
            if (!same(r, q)) abort();
            dw_wick_result_clear(q);
        }
        if (dw_wick_opts_set_route(o, DW_WICK_PAIRINGS) || dw_wick_opts_set_max_pairings(o, 50)) abort();
        if (dw_wick_compute(o, expr, &q) == DW_OK) {
            if (!same(r, q)) abort();
            (void)dw_wick_result_text(q, true, true);
            dw_wick_result_clear(q);
        }
        dw_wick_result_clear(r);
    } else {
        const char *msg = dw_error_message();
        if (r || !msg[0] || strchr(msg, '\n')) abort();
    }
    dw_wick_opts_clear(o);
    free(text);
    return 0;
}
