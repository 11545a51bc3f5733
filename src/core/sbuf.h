/* A growing string buffer (internal, src/core/sbuf.c). Start from dw_sbuf b = {0}; every call is a no-op once an
 * allocation failed (b.failed); the text is b.s (NUL-terminated, NULL while empty), freed with free(). */
#ifndef DW_CORE_SBUF_H
#define DW_CORE_SBUF_H

#include "core/internal.h"

#include <stddef.h>
#include <stdio.h>

typedef struct dw_sbuf {
    char *s;
    size_t len, cap;
    int failed;
} dw_sbuf;

void dw_sbuf_put(dw_sbuf *b, const char *s, size_t n);
void dw_sbuf_puts(dw_sbuf *b, const char *s);
void dw_sbuf_printf(dw_sbuf *b, const char *fmt, ...) DW_PRINTF(2, 3);
/* s as a JSON string literal, quotes included (", \ and bytes outside 0x20..0x7e escaped). */
void dw_sbuf_json_string(dw_sbuf *b, const char *s);
/* The same written to f. */
void dw_json_fput_string(FILE *f, const char *s);

#endif
