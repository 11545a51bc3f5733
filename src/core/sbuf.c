/* A growing string buffer and JSON string escaping, shared by every module that builds text (the Wick engine's JSON
 * and drawings, the activations' canonical spellings). */
#include "core/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sbuf_reserve(dw_sbuf *b, size_t extra)
{
    if (b->failed || b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void dw_sbuf_printf(dw_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        dw_sbuf_puts(b, tmp);
        return;
    }
    sbuf_reserve(b, (size_t)n);
    if (b->failed) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void dw_sbuf_put(dw_sbuf *b, const char *s, size_t n)
{
    sbuf_reserve(b, n);
    if (b->failed) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void dw_sbuf_puts(dw_sbuf *b, const char *s) { dw_sbuf_put(b, s, strlen(s)); }

void dw_sbuf_json_string(dw_sbuf *b, const char *s)
{
    dw_sbuf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            dw_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            dw_sbuf_printf(b, "\\u%04x", *p);
        else {
            char c[2] = {(char)*p, 0};
            dw_sbuf_puts(b, c);
        }
    }
    dw_sbuf_puts(b, "\"");
}
