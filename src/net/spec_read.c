/* The text spelling's tokens and values (dw_net_parse, src/net/spec_parse.c): what is at a column, the one error
 * wording "net: column C: what was expected, found what", and the argument values: decimal numbers in a range
 * (finite: no hex, inf, nan), integers, shapes such as 3x3, choices. */
#include "net/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_delim(char c) { return c == ',' || c == ';' || c == '|' || c == '(' || c == ')' || c == '='; }

void dw_net_spec_skip_ws(spec_parser *P)
{
    while (P->pos < P->len && isspace((unsigned char)P->s[P->pos])) P->pos++;
}

/* What is at `at`, for "found ...": the end, one delimiter, or the token (cut, escaped). */
static void found(const spec_parser *P, size_t at, char *out, size_t cap)
{
    if (at >= P->len) {
        snprintf(out, cap, "the end");
        return;
    }
    size_t e = at;
    if (is_delim(P->s[at])) e++;
    else
        while (e < P->len && !is_delim(P->s[e]) && !isspace((unsigned char)P->s[e])) e++;
    char ex[48];
    dw_io_excerpt(ex, sizeof ex, P->s + at, e - at);
    snprintf(out, cap, "'%s'", ex);
}

dw_status dw_net_spec_fail(const spec_parser *P, size_t at, const char *fmt, ...)
                           {
                           char msg[768], what[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    found(P, at, what, sizeof what);
    return dw_fail(DW_ERR_INVALID, "net: column %zu: %s, found %s", at + 1, msg, what);
}

/* A setter's refusal, placed at the layer's column (allocation failures pass through). */
dw_status dw_net_spec_placed(const spec_parser *P, size_t at, dw_status s)
{
    if (s != DW_ERR_INVALID) return s;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dw_error_message());
    (void)P;
    return dw_fail(DW_ERR_INVALID, "net: column %zu: %s", at + 1, msg);
}

/* The token at pos: up to a delimiter or a space. */
static size_t token_end(const spec_parser *P)
{
    size_t e = P->pos;
    while (e < P->len && !is_delim(P->s[e]) && !isspace((unsigned char)P->s[e])) e++;
    return e;
}

static dw_status read_number(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v)
{
    size_t e = token_end(P);
    if (e == P->pos) return dw_net_spec_fail(P, P->pos, "%s: expected a number for %s", who, d->key);
    char buf[64];
    if (e - P->pos >= sizeof buf) return dw_net_spec_fail(P, P->pos, "%s: expected a number for %s", who, d->key);
    memcpy(buf, P->s + P->pos, e - P->pos);
    buf[e - P->pos] = '\0';
    if (d->type == A_NUM_NONE && strcasecmp(buf, "none") == 0) {
        v->none = 1;
        P->pos = e;
        return DW_OK;
    }
    /* a decimal number: digits, '.', exponent (strtod alone would also take hex, inf and nan) */
    const char *p = buf;
    if (*p == '+' || *p == '-') p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) p++, digits++;
    if (*p == '.') p++;
    while (isdigit((unsigned char)*p)) p++, digits++;
    if (digits && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (*q == '+' || *q == '-') q++;
        if (isdigit((unsigned char)*q)) {
            while (isdigit((unsigned char)*q)) q++;
            p = q;
        }
    }
    if (!digits || *p) {
        const char *t = buf + (*buf == '+' || *buf == '-');
        if (!strcasecmp(t, "nan") || !strcasecmp(t, "inf") || !strcasecmp(t, "infinity"))
            return dw_net_spec_fail(P, P->pos, "%s: expected a finite number for %s", who, d->key);
        return dw_net_spec_fail(P, P->pos, "%s: expected a number for %s%s", who, d->key,
                                d->type == A_NUM_NONE ? " (or none)" : "");
    }
    double x = strtod(buf, NULL);
    if (!isfinite(x))
        return dw_net_spec_fail(P, P->pos, "%s: %s overflows a double (expected a finite number)", who, d->key);
    if (x < d->lo || (d->lo_open && x == d->lo) || x > d->hi) {
        char range[96];
        if (d->lo == 0 && !d->lo_open && d->hi == HUGE_VAL) snprintf(range, sizeof range, ">= 0");
        else if (d->lo == 0 && d->hi == HUGE_VAL) snprintf(range, sizeof range, "> 0");
        else snprintf(range, sizeof range, "in %s%g, %g]", d->lo_open ? "(" : "[", d->lo, d->hi);
        return dw_net_spec_fail(P, P->pos, "%s: expected %s %s", who, d->key, range);
    }
    v->x = x;
    P->pos = e;
    return DW_OK;
}

/* An integer >= 1 (at most hi) from s[a..b): 0 and *err set if not. */
static size_t read_uint(const char *s, size_t a, size_t b, double hi, int *err)
{
    size_t v = 0;
    *err = a == b;
    for (size_t i = a; i < b && !*err; i++) {
        if (!isdigit((unsigned char)s[i])) *err = 1;
        else if (v > (SIZE_MAX - 9) / 10) *err = 2; /* overflow */
        else v = 10 * v + (size_t)(s[i] - '0');
    }
    if (!*err && (v < 1 || (double)v > hi)) *err = 3;
    return *err ? 0 : v;
}

static dw_status read_count(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v)
{
    size_t e = token_end(P);
    int err;
    v->count = read_uint(P->s, P->pos, e, d->hi, &err);
    if (err == 1) return dw_net_spec_fail(P, P->pos, "%s: expected an integer for %s", who, d->key);
    if (err) return dw_net_spec_fail(P, P->pos, "%s: expected %s from 1 to %.0f", who, d->key, d->hi);
    P->pos = e;
    return DW_OK;
}

static dw_status read_shape(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v)
{
    size_t e = token_end(P), a = P->pos;
    v->count = 0;
    for (;;) {
        size_t b = a;
        while (b < e && P->s[b] != 'x' && P->s[b] != 'X') b++;
        if (v->count == DW_NET_SPATIAL_MAX)
            return dw_net_spec_fail(P, P->pos, "%s: expected %s with at most %d axes (such as 3x3)", who, d->key,
                                    DW_NET_SPATIAL_MAX);
        int err;
        v->shape[v->count++] = read_uint(P->s, a, b, (double)SIZE_MAX, &err);
        if (err == 1) return dw_net_spec_fail(P, P->pos, "%s: expected %s, a shape such as 3 or 3x3", who, d->key);
        if (err == 2) return dw_net_spec_fail(P, P->pos, "%s: %s: a size overflows", who, d->key);
        if (err) return dw_net_spec_fail(P, P->pos, "%s: expected %s with sizes >= 1", who, d->key);
        if (b == e) break;
        a = b + 1;
    }
    P->pos = e;
    return DW_OK;
}

static dw_status read_choice(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v)
{
    size_t e = token_end(P), n = e - P->pos, k = 0;
    for (const char *c = d->choices; *c; k++) {
        const char *bar = strchr(c, '|');
        size_t m = bar ? (size_t)(bar - c) : strlen(c);
        if (m == n && n && strncasecmp(c, P->s + P->pos, n) == 0) {
            v->count = k;
            P->pos = e;
            return DW_OK;
        }
        c += m + (bar ? 1 : 0);
    }
    return dw_net_spec_fail(P, P->pos, "%s: expected %s = %s", who, d->key, d->choices);
}

dw_status dw_net_spec_read_value(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v)
{
    switch (d->type) {
    case A_COUNT: return read_count(P, d, who, v);
    case A_SHAPE: return read_shape(P, d, who, v);
    case A_CHOICE: return read_choice(P, d, who, v);
    case A_NET: return dw_fail(DW_ERR_INTERNAL, "net: a net is not a value");
    default: return read_number(P, d, who, v);
    }
}
