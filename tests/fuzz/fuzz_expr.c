/* libFuzzer harness for activation expressions (src/act/expr.c): any input must either parse, evaluate at a few
 * points and spell a canonical form that parses back to the same values, or fail with a one-line message; never
 * crash, leak or read out of bounds (ASan/UBSan do the latter). */
#include "../../src/act/expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) size = 8192;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dw_expr *e = NULL;
    dw_status s = dw_expr_parse(&e, text);
    if (s == DW_OK) {
        static const double zs[] = {-2.0, 0.0, 0.5, 3.0};
        const char *canon = dw_expr_canonical(e);
        dw_expr *f = NULL;
        /* the canonical spelling reads back (unless number spellings made it longer than the limit) */
        if (strlen(canon) <= 4096 && dw_expr_parse(&f, canon) != DW_OK) abort();
        for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
            double d, v = dw_expr_eval(e, zs[i], &d);
            if (!same(v, dw_expr_eval(e, zs[i], NULL))) abort();
            if (f) {
                double d2, v2 = dw_expr_eval(f, zs[i], &d2);
                if (!same(v, v2) || !same(d, d2)) abort();
            }
        }
        if (f && strcmp(dw_expr_canonical(f), canon) != 0) abort();
        (void)dw_expr_is_polynomial(e);
        (void)dw_expr_is_smooth(e);
        dw_expr_free(f);
        dw_expr_free(e);
    } else {
        const char *msg = dw_error_message();
        if (e || !msg[0] || strchr(msg, '\n')) abort();
    }
    free(text);
    return 0;
}
