/* Exact rationals from and to text and doubles (internal, src/core/rational.c). */
#ifndef DW_CORE_RATIONAL_H
#define DW_CORE_RATIONAL_H

#include "core/sbuf.h"

#include <flint/fmpq.h>
#include <stddef.h>

/* Exact rational from a decimal ("0.1" is 1/10, "1e-3", "-2.5") or fraction ("1/3") string s[0..len), spaces around
 * allowed; 1 on success, 0 if it is not such a number (or has more than 4000 digits or an exponent beyond 1000). */
int dw_rational_parse(fmpq_t out, const char *s, size_t len);
/* The exact binary value of a finite double (0.1 -> 3602879701896397/36028797018963968). */
void dw_rational_set_double(fmpq_t out, double x);
/* The shortest decimal that reads back as x, as an exact rational (0.1 -> 1/10): how the exact routes read the
 * decimals a user typed. */
void dw_rational_set_shortest(fmpq_t out, double x);
/* q in decimal, "p" or "p/q". */
void dw_sbuf_fmpq(dw_sbuf *b, const fmpq_t q);

#endif
