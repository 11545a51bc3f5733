/* dw_net_parse: the one-line text spelling of a network (docs/architectures.md, "The text spelling"):
 *   net := layer (';' layer)*      layer := NAME ['(' args ')'] | ACTIVATION      arg := value | KEY '=' value
 * Layer names and keys after Neural Tangents' stax (case-insensitive); anything that is not a layer name is an
 * activation (dw_act_init). The layers are built into a temporary net that owns the parsed activations, and moved
 * into the caller's net only once the whole text has been read: a malformed spelling leaves the net unchanged. */
#include "net/net.h"
#include "net/spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NEST_MAX 32       /* parallel / residual nesting */
#define OUT_CHAN_MAX 9007199254740992.0 /* 2^53: a width a double holds exactly */

/* ---- the layers' arguments ---- */
typedef enum { A_NUM, A_NUM_NONE, A_POS, A_COUNT, A_SHAPE, A_CHOICE, A_NET } arg_type;

typedef struct argdef {
    const char *key;
    arg_type type;
    double lo;             /* A_NUM, A_NUM_NONE: the least value (-HUGE_VAL: any), lo_open: excluded */
    int lo_open;
    double hi;             /* the largest (HUGE_VAL: any) */
    const char *choices;   /* A_CHOICE: "a|b|c" */
} argdef;

enum { L_DENSE, L_CONV, L_AVGPOOL, L_SUMPOOL, L_GAVG, L_GSUM, L_FLATTEN, L_IDENTITY, L_LAYERNORM, L_DROPOUT, L_SCALE,
       L_FANOUT, L_PARALLEL, L_FANINSUM, L_RESIDUAL, L_ACT, L_COUNT };

#define ARGS_MAX 10
typedef struct layerdef {
    const char *name;
    int positional; /* the first `positional` args may be given without their key */
    int required;   /* the first `required` args must be given */
    argdef arg[ARGS_MAX];
} layerdef;

#define NONNEG 0.0, 0, HUGE_VAL
#define ANY -HUGE_VAL, 0, HUGE_VAL
#define AFFINE                                                                                                     \
    {"W_std", A_NUM, NONNEG, NULL}, {"W_var", A_NUM, NONNEG, NULL}, {"b_std", A_NUM_NONE, NONNEG, NULL},          \
        {"b_var", A_NUM, NONNEG, NULL}
#define PARAM {"parameterization", A_CHOICE, ANY, "ntk|standard"}
#define PAD {"padding", A_CHOICE, ANY, "valid|same|circular"}

static const layerdef layers[L_COUNT] = {
    [L_DENSE] = {"dense", 0, 0, {AFFINE, {"out_dim", A_POS, 0.0, 1, HUGE_VAL, NULL}, PARAM}},
    [L_CONV] = {"conv", 2, 1,
                {{"filter", A_SHAPE, ANY, NULL}, PAD, {"strides", A_SHAPE, ANY, NULL}, AFFINE,
                 {"out_chan", A_COUNT, 1.0, 0, OUT_CHAN_MAX, NULL}, PARAM}},
    [L_AVGPOOL] = {"avgpool", 1, 1,
                   {{"window", A_SHAPE, ANY, NULL}, {"strides", A_SHAPE, ANY, NULL}, PAD,
                    {"normalize_edges", A_CHOICE, ANY, "false|true"}}},
    [L_SUMPOOL] = {"sumpool", 1, 1, {{"window", A_SHAPE, ANY, NULL}, {"strides", A_SHAPE, ANY, NULL}, PAD}},
    [L_GAVG] = {.name = "globalavgpool"},
    [L_GSUM] = {.name = "globalsumpool"},
    [L_FLATTEN] = {.name = "flatten"},
    [L_IDENTITY] = {.name = "identity"},
    [L_LAYERNORM] = {"layernorm", 0, 0, {{"axis", A_CHOICE, ANY, "channels|all"}, {"eps", A_NUM, NONNEG, NULL}}},
    [L_DROPOUT] = {"dropout", 1, 1, {{"rate", A_NUM, 0.0, 1, 1.0, NULL}, {"mode", A_CHOICE, ANY, "train|test"}}},
    [L_SCALE] = {"scale", 1, 1, {{"c", A_NUM, ANY, NULL}}},
    [L_FANOUT] = {"fanout", 1, 1, {{"n", A_COUNT, 1.0, 0, (double)SIZE_MAX, NULL}}},
    [L_PARALLEL] = {.name = "parallel"}, /* its own syntax: NET ('|' NET)* */
    [L_FANINSUM] = {.name = "faninsum"},
    [L_RESIDUAL] = {"residual", 1, 1,
                    {{"branch", A_NET, ANY, NULL}, {"skip_scale", A_NUM, ANY, NULL},
                     {"branch_scale", A_NUM, ANY, NULL}}},
    [L_ACT] = {.name = "act"}, /* act(ACTIVATION): an activation named like a layer (identity) */
};

int dw_net_spec_is_layer_word(const char *s, size_t n)
{
    for (int k = 0; k < L_COUNT; k++)
        if (strlen(layers[k].name) == n && strncasecmp(s, layers[k].name, n) == 0) return 1;
    return 0;
}

/* One argument's value once read. */
typedef struct argval {
    int given;
    size_t col;   /* 0-based offset of the value */
    double x;     /* A_NUM, A_NUM_NONE, A_POS */
    int none;     /* A_NUM_NONE: "none" */
    size_t count; /* A_COUNT; A_CHOICE: the index; A_SHAPE: the rank */
    size_t shape[DW_NET_SPATIAL_MAX];
    dw_net *net;  /* A_NET (owned until used) */
} argval;

/* ---- the reader ---- */
typedef struct parser {
    const char *s;
    size_t pos, len;
    dw_net *owner; /* the temporary top-level net: owns every activation read */
    int nest;
} parser;

/* Contexts: where a net ends. */
enum { CTX_TOP, CTX_PARALLEL, CTX_RESIDUAL, CTX_ACT };

static int is_delim(char c) { return c == ',' || c == ';' || c == '|' || c == '(' || c == ')' || c == '='; }
static int is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void skip_ws(parser *P)
{
    while (P->pos < P->len && isspace((unsigned char)P->s[P->pos])) P->pos++;
}

/* What is at `at`, for "found ...": the end, one delimiter, or the token (cut, escaped). */
static void found(const parser *P, size_t at, char *out, size_t cap)
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

static dw_status fail_at(const parser *P, size_t at, const char *fmt, ...) DW_PRINTF(3, 4);
static dw_status fail_at(const parser *P, size_t at, const char *fmt, ...)
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
static dw_status placed(const parser *P, size_t at, dw_status s)
{
    if (s != DW_ERR_INVALID) return s;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dw_error_message());
    (void)P;
    return dw_fail(DW_ERR_INVALID, "net: column %zu: %s", at + 1, msg);
}

/* The token at pos: up to a delimiter or a space. */
static size_t token_end(const parser *P)
{
    size_t e = P->pos;
    while (e < P->len && !is_delim(P->s[e]) && !isspace((unsigned char)P->s[e])) e++;
    return e;
}

static dw_status read_number(parser *P, const argdef *d, const char *who, argval *v)
{
    size_t e = token_end(P);
    if (e == P->pos) return fail_at(P, P->pos, "%s: expected a number for %s", who, d->key);
    char buf[64];
    if (e - P->pos >= sizeof buf) return fail_at(P, P->pos, "%s: expected a number for %s", who, d->key);
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
            return fail_at(P, P->pos, "%s: expected a finite number for %s", who, d->key);
        return fail_at(P, P->pos, "%s: expected a number for %s%s", who, d->key,
                       d->type == A_NUM_NONE ? " (or none)" : "");
    }
    errno = 0;
    double x = strtod(buf, NULL);
    if (!isfinite(x)) return fail_at(P, P->pos, "%s: %s overflows a double (expected a finite number)", who, d->key);
    if (x < d->lo || (d->lo_open && x == d->lo) || x > d->hi) {
        char range[96];
        if (d->lo == 0 && !d->lo_open && d->hi == HUGE_VAL) snprintf(range, sizeof range, ">= 0");
        else if (d->lo == 0 && d->hi == HUGE_VAL) snprintf(range, sizeof range, "> 0");
        else snprintf(range, sizeof range, "in %s%g, %g]", d->lo_open ? "(" : "[", d->lo, d->hi);
        return fail_at(P, P->pos, "%s: expected %s %s", who, d->key, range);
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

static dw_status read_count(parser *P, const argdef *d, const char *who, argval *v)
{
    size_t e = token_end(P);
    int err;
    v->count = read_uint(P->s, P->pos, e, d->hi, &err);
    if (err == 1) return fail_at(P, P->pos, "%s: expected an integer for %s", who, d->key);
    if (err) return fail_at(P, P->pos, "%s: expected %s from 1 to %.0f", who, d->key, d->hi);
    P->pos = e;
    return DW_OK;
}

static dw_status read_shape(parser *P, const argdef *d, const char *who, argval *v)
{
    size_t e = token_end(P), a = P->pos;
    v->count = 0;
    for (;;) {
        size_t b = a;
        while (b < e && P->s[b] != 'x' && P->s[b] != 'X') b++;
        if (v->count == DW_NET_SPATIAL_MAX)
            return fail_at(P, P->pos, "%s: expected %s with at most %d axes (such as 3x3)", who, d->key,
                           DW_NET_SPATIAL_MAX);
        int err;
        v->shape[v->count++] = read_uint(P->s, a, b, (double)SIZE_MAX, &err);
        if (err == 1) return fail_at(P, P->pos, "%s: expected %s, a shape such as 3 or 3x3", who, d->key);
        if (err == 2) return fail_at(P, P->pos, "%s: %s: a size overflows", who, d->key);
        if (err) return fail_at(P, P->pos, "%s: expected %s with sizes >= 1", who, d->key);
        if (b == e) break;
        a = b + 1;
    }
    P->pos = e;
    return DW_OK;
}

static dw_status read_choice(parser *P, const argdef *d, const char *who, argval *v)
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
    return fail_at(P, P->pos, "%s: expected %s = %s", who, d->key, d->choices);
}

static dw_status parse_net(parser *P, dw_net *net, int ctx);

/* An activation: the text up to the next ';' (or '|', ')', or in a residual's branch a ',' before KEY=) outside
 * parentheses. */
static dw_status parse_act(parser *P, dw_net *net, int ctx)
{
    size_t a = P->pos, e = a;
    int depth = 0;
    for (; e < P->len; e++) {
        char c = P->s[e];
        if (c == '(') depth++;
        else if (c == ')' && depth) depth--;
        else if (depth == 0 && (c == ';' || c == '|' || c == ')')) break;
        else if (depth == 0 && c == ',' && ctx == CTX_RESIDUAL) {
            size_t q = e + 1;
            while (q < P->len && isspace((unsigned char)P->s[q])) q++;
            size_t w = q;
            while (w < P->len && is_word(P->s[w])) w++;
            while (w < P->len && isspace((unsigned char)P->s[w])) w++;
            if (w > q && w < P->len && P->s[w] == '=') break;
        }
    }
    size_t b = e;
    while (b > a && isspace((unsigned char)P->s[b - 1])) b--;
    if (b == a) return fail_at(P, a, "expected a layer or an activation");
    char *text = dw_alloc(b - a + 1, 1, "network spelling");
    if (!text) return DW_ERR_NOMEM;
    memcpy(text, P->s + a, b - a);
    text[b - a] = '\0';
    int word = 1;
    for (size_t i = 0; i < b - a; i++) word &= is_word(text[i]);
    dw_act *act = NULL;
    dw_status s = dw_act_init(&act, text);
    if (s == DW_ERR_INVALID) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dw_error_message());
        size_t col;
        int used = 0;
        if (word && ctx != CTX_ACT)
            s = fail_at(P, a, "expected a layer (dense, conv, avgpool, sumpool, globalavgpool, globalsumpool, "
                              "flatten, identity, layernorm, dropout, scale, fanout, parallel, faninsum, residual) "
                              "or an activation (relu, erf, tanh, ..., or an expression in z)");
        else if (sscanf(msg, "column %zu: %n", &col, &used) == 1 && used > 0)
            s = dw_fail(DW_ERR_INVALID, "net: column %zu: activation: %s", a + col, msg + used);
        else
            s = dw_fail(DW_ERR_INVALID, "net: column %zu: %s", a + 1, msg);
    }
    free(text);
    if (s) return s;
    if ((s = dw_net_own_act(P->owner, act))) return s;
    if ((s = dw_net_add_act(net, act))) return placed(P, a, s);
    P->pos = e;
    return DW_OK;
}

/* After a value: ',' (another argument follows) or ')' (the end); 1 when the list goes on. */
static dw_status after_value(parser *P, size_t open, const char *who, int *more)
{
    skip_ws(P);
    if (P->pos < P->len && P->s[P->pos] == ',') {
        P->pos++;
        *more = 1;
        return DW_OK;
    }
    if (P->pos < P->len && P->s[P->pos] == ')') {
        P->pos++;
        *more = 0;
        return DW_OK;
    }
    return fail_at(P, P->pos, "%s: expected ',' or ')' to close the '(' at column %zu", who, open + 1);
}

/* args := arg (',' arg)* ')' after the '(' at `open`. */
static dw_status parse_args(parser *P, const layerdef *L, size_t open, argval *v)
{
    skip_ws(P);
    if (P->pos < P->len && P->s[P->pos] == ')' && L->required == 0) {
        P->pos++;
        return DW_OK;
    }
    int n_pos = 0, keyed = 0, more = 1;
    while (more) {
        skip_ws(P);
        size_t at = P->pos, w = at;
        if (at >= P->len)
            return fail_at(P, at, "%s: expected an argument and ')' to close the '(' at column %zu", L->name, open + 1);
        while (w < P->len && is_word(P->s[w])) w++;
        size_t q = w;
        while (q < P->len && isspace((unsigned char)P->s[q])) q++;
        int k = -1;
        if (w > at && q < P->len && P->s[q] == '=') {
            for (int j = 0; j < ARGS_MAX && L->arg[j].key; j++)
                if (strlen(L->arg[j].key) == w - at && strncasecmp(L->arg[j].key, P->s + at, w - at) == 0) k = j;
            if (k < 0) {
                char keys[256] = "";
                for (int j = 0; j < ARGS_MAX && L->arg[j].key; j++)
                    snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", j ? ", " : "", L->arg[j].key);
                return fail_at(P, at, "%s: expected an argument of %s (%s)", L->name, L->name, keys);
            }
            if (v[k].given) return fail_at(P, at, "%s: %s given twice: expected each argument once", L->name,
                                           L->arg[k].key);
            P->pos = q + 1;
            skip_ws(P);
            keyed = 1;
        } else {
            if (keyed) return fail_at(P, at, "%s: expected KEY=value after a keyword argument", L->name);
            if (n_pos >= L->positional) {
                if (L->positional == 0)
                    return fail_at(P, at, "%s: expected KEY=value (%s takes keyword arguments only)", L->name,
                                   L->name);
                return fail_at(P, at, "%s: expected ')' after %d positional argument%s", L->name, L->positional,
                               L->positional > 1 ? "s" : "");
            }
            k = n_pos++;
            if (v[k].given) return fail_at(P, at, "%s: %s given twice", L->name, L->arg[k].key);
        }
        const argdef *d = &L->arg[k];
        v[k].given = 1;
        v[k].col = P->pos;
        dw_status s = DW_OK;
        switch (d->type) {
        case A_NUM:
        case A_NUM_NONE:
        case A_POS: s = read_number(P, d, L->name, &v[k]); break;
        case A_COUNT: s = read_count(P, d, L->name, &v[k]); break;
        case A_SHAPE: s = read_shape(P, d, L->name, &v[k]); break;
        case A_CHOICE: s = read_choice(P, d, L->name, &v[k]); break;
        case A_NET:
            if ((s = dw_net_init(&v[k].net))) return s;
            P->nest++;
            s = parse_net(P, v[k].net, CTX_RESIDUAL);
            P->nest--;
            break;
        }
        if (s || (s = after_value(P, open, L->name, &more))) return s;
    }
    for (int j = 0; j < L->required; j++)
        if (!v[j].given) return fail_at(P, P->pos - 1, "%s: expected %s (a required argument)", L->name, L->arg[j].key);
    return DW_OK;
}

/* parallel(NET | NET | ...) after the '(' at `open`. */
static dw_status parse_parallel(parser *P, dw_net *net, size_t at, size_t open)
{
    dw_net **b = NULL;
    size_t n = 0;
    dw_status s = DW_OK;
    for (;;) {
        dw_net **nb = realloc(b, (n + 1) * sizeof *nb);
        if (!nb) {
            s = dw_fail(DW_ERR_NOMEM, "out of memory (network spelling)");
            break;
        }
        b = nb;
        if ((s = dw_net_init(&b[n]))) break;
        n++;
        skip_ws(P);
        if (P->pos >= P->len || P->s[P->pos] == '|' || P->s[P->pos] == ')') {
            s = fail_at(P, P->pos, "parallel: branch %zu is empty: expected a layer or an activation", n);
            break;
        }
        P->nest++;
        s = parse_net(P, b[n - 1], CTX_PARALLEL);
        P->nest--;
        if (s) break;
        skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == '|') {
            P->pos++;
            continue;
        }
        if (P->pos < P->len && P->s[P->pos] == ')') {
            P->pos++;
            s = placed(P, at, dw_net_add_parallel(net, n, (const dw_net *const *)b));
            break;
        }
        s = fail_at(P, P->pos, "parallel: expected ';', '|' or ')' to close the '(' at column %zu", open + 1);
        break;
    }
    for (size_t k = 0; k < n; k++) dw_net_clear(b[k]);
    free(b);
    return s;
}

static dw_status build(parser *P, dw_net *net, int k, size_t at, argval *v);

static dw_status parse_layer(parser *P, dw_net *net, int ctx)
{
    skip_ws(P);
    if (P->nest > NEST_MAX) return fail_at(P, P->pos, "expected at most %d nested parallel or residual layers", NEST_MAX);
    const size_t at = P->pos;
    size_t w = at;
    while (w < P->len && is_word(P->s[w])) w++;
    int k = 0;
    while (k < L_COUNT && !(strlen(layers[k].name) == w - at && strncasecmp(layers[k].name, P->s + at, w - at) == 0))
        k++;
    if (w == at || k == L_COUNT) return parse_act(P, net, ctx);
    const layerdef *L = &layers[k];
    P->pos = w;
    skip_ws(P);
    const int open = P->pos < P->len && P->s[P->pos] == '(';
    const size_t open_at = P->pos;
    if (!open) {
        if (L->required || k == L_PARALLEL || k == L_ACT)
            return fail_at(P, P->pos, "%s: expected '(' and its arguments", L->name);
        argval none[ARGS_MAX] = {{0}};
        return build(P, net, k, at, none);
    }
    P->pos++;
    if (k == L_PARALLEL) return parse_parallel(P, net, at, open_at);
    if (k == L_ACT) {
        skip_ws(P);
        dw_status s = parse_act(P, net, CTX_ACT);
        if (s) return s;
        skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == ')') {
            P->pos++;
            return DW_OK;
        }
        return fail_at(P, P->pos, "act: expected ')' to close the '(' at column %zu", open_at + 1);
    }
    argval v[ARGS_MAX] = {{0}};
    dw_status s = parse_args(P, L, open_at, v);
    if (!s) s = build(P, net, k, at, v);
    for (int j = 0; j < ARGS_MAX; j++) dw_net_clear(v[j].net);
    return s;
}

/* The affine layers' variances: W_var or W_std^2 (default 1), b_var or b_std^2, or no bias (b_std=none, the
 * default as NT's b_std=None). v[0..3] = W_std, W_var, b_std, b_var. */
static dw_status affine(parser *P, const argval *v, double *wv, double *bv, int *no_bias)
{
    if (v[0].given && v[1].given) return fail_at(P, v[1].col, "expected W_std or W_var, not both");
    if (v[2].given && v[3].given) return fail_at(P, v[3].col, "expected b_std or b_var, not both");
    *wv = v[1].given ? v[1].x : v[0].given ? v[0].x * v[0].x : 1.0;
    *no_bias = !(v[3].given || (v[2].given && !v[2].none));
    *bv = v[3].given ? v[3].x : v[2].given && !v[2].none ? v[2].x * v[2].x : 0.0;
    if (!isfinite(*wv)) return fail_at(P, v[0].col, "W_std squared overflows a double: expected a smaller W_std");
    if (!isfinite(*bv)) return fail_at(P, v[2].col, "b_std squared overflows a double: expected a smaller b_std");
    return DW_OK;
}

static dw_status finish_affine(parser *P, dw_net *net, size_t at, int no_bias, const argval *param)
{
    dw_status s = DW_OK;
    if (no_bias) s = dw_net_set_last_no_bias(net);
    if (!s && param->given) s = dw_net_set_last_param(net, param->count ? DW_PARAM_STANDARD : DW_PARAM_NTK);
    return placed(P, at, s);
}

static dw_status build(parser *P, dw_net *net, int k, size_t at, argval *v)
{
    double wv, bv;
    int nb;
    dw_status s;
    switch (k) {
    case L_DENSE:
        if ((s = affine(P, v, &wv, &bv, &nb))) return s;
        if ((s = placed(P, at, dw_net_add_dense(net, wv, bv, v[4].given ? v[4].x : 0.0)))) return s;
        return finish_affine(P, net, at, nb, &v[5]);
    case L_CONV: {
        const size_t rank = v[0].count;
        if (v[2].given && v[2].count != rank)
            return fail_at(P, v[2].col, "conv: expected strides with %zu axes as the filter, not %zu", rank,
                           v[2].count);
        if ((s = affine(P, v + 3, &wv, &bv, &nb))) return s;
        s = dw_net_add_conv(net, rank, v[0].shape, v[2].given ? v[2].shape : NULL, (dw_padding)v[1].count, wv, bv,
                            v[7].given ? v[7].count : 0);
        if ((s = placed(P, at, s))) return s;
        return finish_affine(P, net, at, nb, &v[8]);
    }
    case L_AVGPOOL:
    case L_SUMPOOL:
        if (v[1].given && v[1].count != v[0].count)
            return fail_at(P, v[1].col, "%s: expected strides with %zu axes as the window, not %zu", layers[k].name,
                           v[0].count, v[1].count);
        return placed(P, at, dw_net_add_pool(net, k == L_AVGPOOL, v[0].count, v[0].shape,
                                             v[1].given ? v[1].shape : NULL, (dw_padding)v[2].count,
                                             k == L_AVGPOOL && v[3].count == 1));
    case L_GAVG:
    case L_GSUM: return placed(P, at, dw_net_add_global_pool(net, k == L_GAVG));
    case L_FLATTEN: return placed(P, at, dw_net_add_flatten(net));
    case L_IDENTITY: return placed(P, at, dw_net_add_identity(net));
    case L_FANINSUM: return placed(P, at, dw_net_add_fanin_sum(net));
    case L_LAYERNORM: return placed(P, at, dw_net_add_layernorm(net, v[0].count == 1, v[1].given ? v[1].x : 1e-12));
    case L_DROPOUT: return placed(P, at, dw_net_add_dropout(net, v[0].x, v[1].count == 0));
    case L_SCALE: return placed(P, at, dw_net_add_scale(net, v[0].x));
    case L_FANOUT: return placed(P, at, dw_net_add_fanout(net, v[0].count));
    case L_RESIDUAL:
        return placed(P, at, dw_net_add_residual(net, v[0].net, v[1].given ? v[1].x : 1.0,
                                                 v[2].given ? v[2].x : 1.0));
    default: return dw_fail(DW_ERR_INTERNAL, "net: column %zu: layer %d has no builder", at + 1, k);
    }
}

/* layer (';' layer)*, up to what ends the context (the caller checks it). */
static dw_status parse_net(parser *P, dw_net *net, int ctx)
{
    for (;;) {
        dw_status s = parse_layer(P, net, ctx);
        if (s) return s;
        skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == ';') {
            const size_t semi = P->pos++;
            skip_ws(P);
            if (P->pos >= P->len || P->s[P->pos] == ';' || P->s[P->pos] == '|' || P->s[P->pos] == ')' ||
                (P->s[P->pos] == ',' && ctx == CTX_RESIDUAL))
                return fail_at(P, P->pos, "expected a layer or an activation after the ';' at column %zu",
                               semi + 1);
            continue;
        }
        return DW_OK;
    }
}

dw_status dw_net_parse(dw_net *net, const char *spec)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (!spec) return dw_fail(DW_ERR_INVALID, "net: NULL spelling");
    if (net->given) return dw_fail(DW_ERR_INVALID, "net: a network with given weights takes no more layers");
    dw_net *tmp = NULL;
    dw_status s = dw_net_init(&tmp);
    if (s) return s;
    parser P = {spec, 0, strlen(spec), tmp, 0};
    skip_ws(&P);
    if (P.pos < P.len) s = parse_net(&P, tmp, CTX_TOP); /* an empty spelling: no layers (dw_net_spec's for none) */
    if (!s && P.pos < P.len) s = fail_at(&P, P.pos, "expected ';' or the end of the spelling");
    /* move the layers and the activations in: all or nothing */
    const size_t n0 = net->n;
    if (!s && tmp->n_owned) {
        dw_act **o = realloc(net->owned, (net->n_owned + tmp->n_owned) * sizeof *o);
        if (!o) s = dw_fail(DW_ERR_NOMEM, "out of memory (network activations)");
        else net->owned = o;
    }
    for (size_t i = 0; !s && i < tmp->n; i++) s = dw_net_append(net, &tmp->layer[i]);
    if (s) {
        net->n = n0; /* the appended copies still belong to tmp */
    } else {
        memcpy(net->owned + net->n_owned, tmp->owned, tmp->n_owned * sizeof *tmp->owned);
        net->n_owned += tmp->n_owned;
        tmp->n_owned = 0;
        tmp->n = 0;
    }
    dw_net_clear(tmp);
    return s;
}
