/* Activation expressions: the parser (a recursive descent with loops for operator chains, bounded depth) and
 * dw_expr_parse, which also classifies the tree (polynomial, smooth) and spells it. Grammar and limits: expr.h. */
#include "act/expr_tree.h"

#include "core/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const dw_expr_func dw_expr_funcs[] = {
    {"exp", OP_EXP, 1},   {"log", OP_LOG, 1},         {"sqrt", OP_SQRT, 1},         {"abs", OP_ABS, 1},
    {"tanh", OP_TANH, 1}, {"sigmoid", OP_SIGMOID, 1}, {"erf", OP_ERF, 1},           {"sin", OP_SIN, 1},
    {"cos", OP_COS, 1},   {"relu", OP_RELU, 1},       {"softplus", OP_SOFTPLUS, 1}, {"max", OP_MAX, 2},
    {"min", OP_MIN, 2},
};
const size_t dw_expr_nfuncs = sizeof dw_expr_funcs / sizeof dw_expr_funcs[0];

/* ------------------------------------------------------------------------------------------------------------
 * parsing
 * ---------------------------------------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    node *nodes;
    int n, cap;
    int depth;
    int failed;
    dw_status status; /* of the first failure */
} parser;

static void fail_at(parser *P, size_t pos, const char *fmt, ...) DW_PRINTF(3, 4);
static void fail_at(parser *P, size_t pos, const char *fmt, ...)
{
    if (P->failed) return;
    P->failed = 1;
    P->status = DW_ERR_INVALID;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dw_fail(DW_ERR_INVALID, "column %zu: %s", pos + 1, msg);
}

/* "'c'", "'\xNN'" or "the end of the expression" for the byte at pos. */
static const char *describe(const parser *P, size_t pos, char *buf, size_t cap)
{
    if (pos >= P->len) return "the end of the expression";
    unsigned char c = (unsigned char)P->s[pos];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "'\\x%02X'", c);
    return buf;
}

static void skip_ws(parser *P)
{
    while (P->pos < P->len && isspace((unsigned char)P->s[P->pos])) P->pos++;
}

static int peek(parser *P)
{
    skip_ws(P);
    return P->pos < P->len ? (unsigned char)P->s[P->pos] : -1;
}

/* Appends a node, computing the value of z-free nodes once here; returns its index or -1. */
static int add_node(parser *P, int op, int a, int b, double val)
{
    if (P->n >= P->cap) { /* cannot happen: one node per character at most */
        P->failed = 1;
        P->status = dw_fail(DW_ERR_INTERNAL, "expression: node capacity %d exceeded", P->cap);
        return -1;
    }
    node *nd = &P->nodes[P->n];
    nd->op = (unsigned char)op;
    nd->a = a;
    nd->b = b;
    nd->int_pow = 0;
    nd->val = val;
    if (op == OP_Z)
        nd->has_z = 1;
    else if (op == OP_NUM || op == OP_PI || op == OP_E)
        nd->has_z = 0;
    else
        nd->has_z = (unsigned char)(P->nodes[a].has_z || (b >= 0 && P->nodes[b].has_z));
    if (op == OP_POW && !P->nodes[b].has_z) {
        double k = P->nodes[b].val;
        if (isfinite(k) && floor(k) == k && fabs(k) <= 9007199254740992.0) nd->int_pow = 1;
    }
    if (!nd->has_z && a >= 0) {
        dual da = {P->nodes[a].val, 0.0}, db = {b >= 0 ? P->nodes[b].val : 0.0, 0.0};
        nd->val = dw_expr_apply(nd, nd->int_pow ? P->nodes[b].val : 0.0, da, db, 0).v;
    }
    return P->n++;
}

static int parse_expr(parser *P);

static int is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_ident_char(int c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *P)
{
    size_t start = P->pos, p = start;
    const char *s = P->s;
    size_t mant = 0;
    while (p < P->len && is_digit(s[p])) p++, mant++;
    if (p < P->len && s[p] == '.') {
        p++;
        while (p < P->len && is_digit(s[p])) p++, mant++;
    }
    if (mant == 0) {
        fail_at(P, start, "expected digits in a number, found '.'");
        return -1;
    }
    if (p < P->len && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < P->len && (s[q] == '+' || s[q] == '-')) q++;
        if (q >= P->len || !is_digit(s[q])) {
            fail_at(P, start, "number '%.*s' needs digits after its exponent mark", (int)(q - start < 40 ? q - start : 40),
                    s + start);
            return -1;
        }
        while (q < P->len && is_digit(s[q])) q++;
        p = q;
    }
    size_t n = p - start;
    char *buf = malloc(n + 1);
    if (!buf) {
        P->failed = 1;
        P->status = dw_fail(DW_ERR_NOMEM, "expression: cannot allocate %zu bytes", n + 1);
        return -1;
    }
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    free(buf);
    if (!isfinite(v)) {
        fail_at(P, start, "number '%.*s%s' is not finite", (int)(n < 40 ? n : 40), s + start, n > 40 ? "..." : "");
        return -1;
    }
    P->pos = p;
    return add_node(P, OP_NUM, -1, -1, v);
}

static int parse_call(parser *P, size_t name_pos, size_t name_len)
{
    const char *name = P->s + name_pos;
    size_t f;
    for (f = 0; f < dw_expr_nfuncs; f++)
        if (strlen(dw_expr_funcs[f].name) == name_len && memcmp(dw_expr_funcs[f].name, name, name_len) == 0) break;
    int shown = (int)(name_len < 40 ? name_len : 40);
    const char *more = name_len > 40 ? "..." : "";
    if (f == dw_expr_nfuncs) {
        if ((name_len == 1 && name[0] == 'z') || (name_len == 2 && memcmp(name, "pi", 2) == 0) ||
            (name_len == 1 && name[0] == 'e')) {
            fail_at(P, name_pos, "'%.*s' is not a function (no implicit multiplication: write %.*s*(...))", shown,
                    name, shown, name);
            return -1;
        }
        const char *lower = NULL;
        for (size_t g = 0; g < dw_expr_nfuncs && !lower; g++)
            if (strlen(dw_expr_funcs[g].name) == name_len && strncasecmp(dw_expr_funcs[g].name, name, name_len) == 0)
                lower = dw_expr_funcs[g].name;
        if (lower)
            fail_at(P, name_pos, "unknown function '%.*s' (functions: " FUNC_LIST "; names are lowercase: '%s')", shown, name,
                    lower);
        else
            fail_at(P, name_pos, "unknown function '%.*s%s' (functions: " FUNC_LIST ")", shown, name, more);
        return -1;
    }
    size_t open = P->pos; /* at '(' */
    if (++P->depth > DW_EXPR_MAX_DEPTH) {
        fail_at(P, open, "nesting deeper than %d", DW_EXPR_MAX_DEPTH);
        return -1;
    }
    P->pos++;
    int args[2] = {-1, -1}, nargs = 0, arity = dw_expr_funcs[f].arity;
    const char *plural = arity == 1 ? "" : "s";
    if (peek(P) == ')') {
        fail_at(P, name_pos, "%s takes %d argument%s, got 0", dw_expr_funcs[f].name, arity, plural);
        return -1;
    }
    for (;;) {
        int a = parse_expr(P);
        if (a < 0) return -1;
        if (nargs < 2) args[nargs] = a;
        nargs++;
        int c = peek(P);
        if (c == ',') {
            P->pos++;
            continue;
        }
        if (c == ')') break;
        char buf[16];
        const char *what = describe(P, P->pos, buf, sizeof buf);
        if (nargs < arity)
            fail_at(P, P->pos, "expected ',' after argument %d of %s (it takes %d arguments), found %s", nargs,
                    dw_expr_funcs[f].name, arity, what);
        else
            fail_at(P, P->pos, "expected ')' after argument %d of %s, found %s", nargs, dw_expr_funcs[f].name, what);
        return -1;
    }
    if (nargs != arity) {
        fail_at(P, name_pos, "%s takes %d argument%s, got %d", dw_expr_funcs[f].name, arity, plural, nargs);
        return -1;
    }
    P->pos++; /* ')' */
    P->depth--;
    return add_node(P, dw_expr_funcs[f].op, args[0], args[1], 0.0);
}

static int parse_primary(parser *P)
{
    int c = peek(P);
    size_t start = P->pos;
    if (is_digit(c) || c == '.') return parse_number(P);
    if (c == '(') {
        if (++P->depth > DW_EXPR_MAX_DEPTH) {
            fail_at(P, start, "nesting deeper than %d", DW_EXPR_MAX_DEPTH);
            return -1;
        }
        P->pos++;
        if (peek(P) == ')') {
            fail_at(P, P->pos, "expected an expression inside '()'");
            return -1;
        }
        int r = parse_expr(P);
        if (r < 0) return -1;
        if (peek(P) != ')') {
            char buf[16];
            fail_at(P, P->pos, "expected ')' to close the '(' at column %zu, found %s", start + 1,
                    describe(P, P->pos, buf, sizeof buf));
            return -1;
        }
        P->pos++;
        P->depth--;
        return r;
    }
    if (c >= 0 && is_ident_start(c)) {
        size_t p = start;
        while (p < P->len && is_ident_char((unsigned char)P->s[p])) p++;
        size_t n = p - start;
        const char *name = P->s + start;
        P->pos = p;
        if (peek(P) == '(') return parse_call(P, start, n);
        if (n == 1 && name[0] == 'z') return add_node(P, OP_Z, -1, -1, 0.0);
        if (n == 2 && memcmp(name, "pi", 2) == 0) return add_node(P, OP_PI, -1, -1, 3.14159265358979323846);
        if (n == 1 && name[0] == 'e') return add_node(P, OP_E, -1, -1, 2.71828182845904523536);
        int shown = (int)(n < 40 ? n : 40);
        const char *more = n > 40 ? "..." : "";
        for (size_t f = 0; f < dw_expr_nfuncs; f++)
            if (strlen(dw_expr_funcs[f].name) == n && memcmp(dw_expr_funcs[f].name, name, n) == 0) {
                fail_at(P, start, "expected '(' after the function name '%s'", dw_expr_funcs[f].name);
                return -1;
            }
        fail_at(P, start, "unknown variable '%.*s%s' (the variable is z)", shown, name, more);
        return -1;
    }
    char buf[16];
    const char *what = describe(P, start, buf, sizeof buf);
    if (c == ')')
        fail_at(P, start, "expected a number, z, a constant, a function call or '(', found ')'");
    else
        fail_at(P, start, "expected a number, z, a constant, a function call or '(', found %s", what);
    return -1;
}

/* Unary signs before an operand: returns the number of minus signs (plus signs are dropped). */
static int parse_signs(parser *P)
{
    int neg = 0;
    for (int c = peek(P); c == '-' || c == '+'; c = peek(P)) {
        neg += c == '-';
        P->pos++;
    }
    return neg;
}

static int apply_negs(parser *P, int r, int negs)
{
    while (r >= 0 && negs-- > 0) r = add_node(P, OP_NEG, r, -1, 0.0);
    return r;
}

/* unary := ('-' | '+')* power;  power := primary ('^' unary)?, parsed as one loop over the chain
 * p0 ^ s1 p1 ^ s2 p2 ... (s_i the signs before p_i), folded from the right. */
static int parse_unary(parser *P)
{
    int negs0 = parse_signs(P);
    int first = parse_primary(P);
    if (first < 0) return -1;
    if (peek(P) != '^') return apply_negs(P, first, negs0);

    int *prim = NULL, *sign = NULL, n = 0, cap = 0, r = -1;
    for (;;) {
        if (n == cap) {
            int nc = cap ? 2 * cap : 8;
            int *np = realloc(prim, (size_t)nc * 2 * sizeof *np);
            if (!np) {
                P->failed = 1;
                P->status = dw_fail(DW_ERR_NOMEM, "expression: cannot allocate the power chain");
                goto done;
            }
            /* prim[0..cap) then sign[0..cap): move the signs up to their new place */
            if (cap) memmove(np + nc, np + cap, (size_t)cap * sizeof *np);
            prim = np;
            sign = np + nc;
            cap = nc;
        }
        if (n == 0) {
            prim[0] = first;
            sign[0] = 0;
        } else {
            sign[n] = parse_signs(P);
            prim[n] = parse_primary(P);
            if (prim[n] < 0) goto done;
        }
        n++;
        if (peek(P) != '^') break;
        P->pos++;
    }
    r = apply_negs(P, prim[n - 1], sign[n - 1]);
    for (int i = n - 2; i >= 0 && r >= 0; i--) {
        r = add_node(P, OP_POW, prim[i], r, 0.0);
        if (i > 0) r = apply_negs(P, r, sign[i]);
    }
    r = apply_negs(P, r, negs0);
done:
    free(prim);
    return r;
}

static int parse_term(parser *P)
{
    int r = parse_unary(P);
    for (int c = peek(P); r >= 0 && (c == '*' || c == '/'); c = peek(P)) {
        P->pos++;
        int b = parse_unary(P);
        if (b < 0) return -1;
        r = add_node(P, c == '*' ? OP_MUL : OP_DIV, r, b, 0.0);
    }
    return r;
}

static int parse_expr(parser *P)
{
    int r = parse_term(P);
    for (int c = peek(P); r >= 0 && (c == '+' || c == '-'); c = peek(P)) {
        P->pos++;
        int b = parse_term(P);
        if (b < 0) return -1;
        r = add_node(P, c == '+' ? OP_ADD : OP_SUB, r, b, 0.0);
    }
    return r;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_expr_parse
 * ---------------------------------------------------------------------------------------------------------- */

dw_status dw_expr_parse(dw_expr **out, const char *text)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_expr_parse: NULL output");
    *out = NULL;
    if (!text) return dw_fail(DW_ERR_INVALID, "empty expression (NULL text)");
    size_t len = strnlen(text, DW_EXPR_MAX_LEN + 1);
    if (len > DW_EXPR_MAX_LEN) return dw_fail(DW_ERR_INVALID, "expression longer than %d characters", DW_EXPR_MAX_LEN);
    parser P = {text, len, 0, NULL, 0, 0, 0, 0, DW_OK};
    if (peek(&P) < 0) return dw_fail(DW_ERR_INVALID, "empty expression");

    P.cap = (int)len;
    P.nodes = dw_alloc(len, sizeof *P.nodes, "expression nodes");
    if (!P.nodes) return DW_ERR_NOMEM;
    int root = parse_expr(&P);
    if (root >= 0 && peek(&P) >= 0) {
        char buf[16];
        const char *what = describe(&P, P.pos, buf, sizeof buf);
        if (P.s[P.pos] == ')')
            fail_at(&P, P.pos, "unexpected ')' after the end of the expression (no matching '(')");
        else
            fail_at(&P, P.pos, "unexpected %s after the end of the expression", what);
        root = -1;
    }
    if (root >= 0 && root != P.n - 1) {
        P.status = dw_fail(DW_ERR_INTERNAL, "expression: the root is not the last node");
        root = -1;
    }
    if (root < 0) {
        free(P.nodes);
        return P.status != DW_OK ? P.status : dw_fail(DW_ERR_INTERNAL, "expression: parse failed without a message");
    }

    dw_expr *e = dw_calloc(1, sizeof *e, "expression");
    if (!e) {
        free(P.nodes);
        return DW_ERR_NOMEM;
    }
    e->n = P.n;
    e->nodes = P.nodes;
    node *shrunk = realloc(e->nodes, (size_t)e->n * sizeof *shrunk);
    if (shrunk) e->nodes = shrunk;
    e->poly = 1;
    e->smooth = 1;
    for (int i = 0; i < e->n; i++) {
        const node *nd = &e->nodes[i];
        switch (nd->op) {
        case OP_NUM:
        case OP_PI:
        case OP_E:
        case OP_Z:
        case OP_NEG:
        case OP_ADD:
        case OP_SUB:
        case OP_MUL: break;
        case OP_POW:
            if (!nd->int_pow || e->nodes[nd->b].val < 0) e->poly = 0;
            break;
        case OP_ABS:
        case OP_RELU:
        case OP_MAX:
        case OP_MIN:
            e->smooth = 0;
            e->poly = 0;
            break;
        default: e->poly = 0; break;
        }
    }
    e->canon = dw_expr_print(e->nodes, e->n);
    if (!e->canon) {
        dw_expr_free(e);
        return dw_fail(DW_ERR_NOMEM, "expression: cannot allocate its canonical spelling");
    }
    *out = e;
    return DW_OK;
}
