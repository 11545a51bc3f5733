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

/* One byte of a JSON string: quote and backslash escaped, control bytes as \u00XX; every other byte as it is (UTF-8
 * passes through: escaping its bytes one by one would name other code points). Returns the text's length. */
static int json_char(unsigned char c, char out[8])
{
    if (c == '"' || c == '\\') return snprintf(out, 8, "\\%c", c);
    if (c < 0x20 || c == 0x7f) return snprintf(out, 8, "\\u%04x", c);
    out[0] = (char)c;
    out[1] = '\0';
    return 1;
}

void dw_sbuf_json_string(dw_sbuf *b, const char *s)
{
    char c[8];
    dw_sbuf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) dw_sbuf_put(b, c, (size_t)json_char(*p, c));
    dw_sbuf_puts(b, "\"");
}

void dw_json_fput_string(FILE *f, const char *s)
{
    char c[8];
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) fwrite(c, 1, (size_t)json_char(*p, c), f);
    fputc('"', f);
}
