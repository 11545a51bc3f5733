/* Laurent polynomials in N with exact rational coefficients (theory.md 4.2): the values of the Wick engine. */
#include "wick/wick.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* Laurent polynomials                                                                                        */

void dw_laurent_init(dw_laurent *p)
{
    p->lo = 1;
    p->hi = 0;
    p->coef = NULL;
}

void dw_laurent_clear(dw_laurent *p)
{
    if (p->coef) {
        for (long e = p->lo; e <= p->hi; e++) fmpq_clear(p->coef + (e - p->lo));
        free(p->coef);
    }
    dw_laurent_init(p);
}

dw_status dw_laurent_add_term(dw_laurent *p, long e, const fmpq_t c)
{
    if (fmpq_is_zero(c)) return DW_OK;
    if (!p->coef || e < p->lo || e > p->hi) {
        long lo = p->coef ? (e < p->lo ? e : p->lo) : e, hi = p->coef ? (e > p->hi ? e : p->hi) : e;
        fmpq *n = dw_alloc((size_t)(hi - lo + 1), sizeof(fmpq), "a Laurent polynomial");
        if (!n) return DW_ERR_NOMEM;
        for (long k = lo; k <= hi; k++) fmpq_init(n + (k - lo));
        if (p->coef) {
            for (long k = p->lo; k <= p->hi; k++) fmpq_swap(n + (k - lo), p->coef + (k - p->lo));
            dw_laurent_clear(p);
        }
        p->coef = n;
        p->lo = lo;
        p->hi = hi;
    }
    fmpq_add(p->coef + (e - p->lo), p->coef + (e - p->lo), c);
    return DW_OK;
}

void dw_laurent_normalise(dw_laurent *p)
{
    if (!p->coef) return;
    long lo = p->lo, hi = p->hi;
    while (lo <= hi && fmpq_is_zero(p->coef + (lo - p->lo))) lo++;
    while (hi >= lo && fmpq_is_zero(p->coef + (hi - p->lo))) hi--;
    if (lo > hi) {
        dw_laurent_clear(p);
        return;
    }
    if (lo == p->lo && hi == p->hi) return;
    fmpq *n = malloc((size_t)(hi - lo + 1) * sizeof(fmpq));
    if (!n) return; /* keeps the untrimmed form, still correct */
    for (long k = lo; k <= hi; k++) {
        fmpq_init(n + (k - lo));
        fmpq_swap(n + (k - lo), p->coef + (k - p->lo));
    }
    dw_laurent_clear(p);
    p->coef = n;
    p->lo = lo;
    p->hi = hi;
}
