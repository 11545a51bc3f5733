/* Activation expressions: parser (recursive descent, bounded by the nesting limit, operator chains by loops),
 * evaluator (a loop over the node array with dual numbers) and canonical printer (a loop with an explicit
 * stack). See expr.h for the grammar, the limits and the derivative conventions. */
#include "act/expr.h"

#include "core/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OP_NUM, /* a literal, or pi / e (kept apart for printing) */
    OP_PI,
    OP_E,
    OP_Z,
    OP_NEG,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_POW,
    /* functions, in the order of funcs[] */
    OP_EXP,
    OP_LOG,
    OP_SQRT,
    OP_ABS,
    OP_TANH,
    OP_SIGMOID,
    OP_ERF,
    OP_SIN,
    OP_COS,
    OP_RELU,
    OP_SOFTPLUS,
    OP_MAX,
    OP_MIN
};

static const struct {
    const char *name;
    int op, arity;
} funcs[] = {
    {"exp", OP_EXP, 1},   {"log", OP_LOG, 1},         {"sqrt", OP_SQRT, 1},         {"abs", OP_ABS, 1},
    {"tanh", OP_TANH, 1}, {"sigmoid", OP_SIGMOID, 1}, {"erf", OP_ERF, 1},           {"sin", OP_SIN, 1},
    {"cos", OP_COS, 1},   {"relu", OP_RELU, 1},       {"softplus", OP_SOFTPLUS, 1}, {"max", OP_MAX, 2},
    {"min", OP_MIN, 2},
};
#define NFUNCS (sizeof funcs / sizeof funcs[0])
#define FUNC_LIST "exp, log, sqrt, abs, tanh, sigmoid, erf, sin, cos, relu, softplus, max, min"

typedef struct node {
    unsigned char op;
    unsigned char has_z;   /* depends on z */
    unsigned char int_pow; /* OP_POW whose exponent is a constant integer, |k| <= 2^53 */
    int a, b;              /* children (indices below this node's), -1 if none */
    double val;            /* the literal, or the value of a constant (z-free) node */
} node;

struct dw_expr {
    int n;        /* nodes; the root is the last */
    node *nodes;  /* every child precedes its parent */
    char *canon;
    int poly, smooth;
};

typedef struct dual {
    double v, d;
} dual;

/* ------------------------------------------------------------------------------------------------------------
 * evaluation
 * ---------------------------------------------------------------------------------------------------------- */

/* t * x, except that a zero tangent stays zero whatever x is (symbolic zero: 0 * inf = 0). */
static inline double tz(double t, double x) { return t == 0.0 ? 0.0 : t * x; }

static double ipow(double x, long long k)
{
    int neg = k < 0;
    unsigned long long m = neg ? (unsigned long long)(-k) : (unsigned long long)k;
    double r = 1.0;
    while (m) {
        if (m & 1u) r *= x;
        m >>= 1;
        if (m) x *= x;
    }
    return neg ? 1.0 / r : r;
}

/* sigmoid(x) and sigmoid(-x) = 1 - sigmoid(x), both to full relative accuracy. */
static void sigmoid2(double x, double *s, double *sm)
{
    double e = exp(-fabs(x));
    double p = 1.0 / (1.0 + e), q = e / (1.0 + e);
    if (x >= 0) {
        *s = p;
        *sm = q;
    } else if (x < 0) {
        *s = q;
        *sm = p;
    } else {
        *s = *sm = x; /* NaN */
    }
}

/* side = +1 / -1: the one-sided limit at the point from the right / left. A tie at a kink (relu(0), abs(0),
 * max(a, b) with a = b) is then broken by the first-order terms along the direction: z = z0 + side t gives
 * a(z) ~ a + side a' t, so the branch that is larger (max) or smaller (min) for small t > 0 is taken. side = 0:
 * the autodiff convention at ties. */
static dual apply(const node *nd, double k, dual a, dual b, int side)
{
    dual r;
    switch (nd->op) {
    case OP_NEG:
        r.v = -a.v;
        r.d = -a.d;
        break;
    case OP_ADD:
        r.v = a.v + b.v;
        r.d = a.d + b.d;
        break;
    case OP_SUB:
        r.v = a.v - b.v;
        r.d = a.d - b.d;
        break;
    case OP_MUL:
        r.v = a.v * b.v;
        r.d = tz(a.d, b.v) + tz(b.d, a.v);
        break;
    case OP_DIV: {
        r.v = a.v / b.v;
        double num = a.d - tz(b.d, r.v);
        r.d = num == 0.0 ? 0.0 : num / b.v;
        break;
    }
    case OP_POW:
        if (nd->int_pow) {
            long long ki = (long long)k;
            r.v = ipow(a.v, ki);
            r.d = ki == 0 ? 0.0 : tz(a.d, k * ipow(a.v, ki - 1));
        } else if (a.v < 0) {
            r.v = NAN;
            r.d = (a.d == 0.0 && b.d == 0.0) ? 0.0 : NAN;
        } else {
            r.v = pow(a.v, b.v);
            r.d = tz(a.d, b.v * pow(a.v, b.v - 1.0)) + tz(b.d, r.v * log(a.v));
        }
        break;
    case OP_EXP:
        r.v = exp(a.v);
        r.d = tz(a.d, r.v);
        break;
    case OP_LOG:
        r.v = log(a.v);
        r.d = tz(a.d, 1.0 / a.v);
        break;
    case OP_SQRT:
        r.v = sqrt(a.v);
        r.d = tz(a.d, 0.5 / r.v);
        break;
    case OP_ABS:
        r.v = fabs(a.v);
        r.d = a.v > 0 ? a.d : a.v < 0 ? -a.d : a.v == 0 ? (side * a.d > 0 ? a.d : side * a.d < 0 ? -a.d : 0.0)
                                                   : tz(a.d, NAN);
        break;
    case OP_TANH: {
        r.v = tanh(a.v);
        double c = cosh(a.v);
        r.d = tz(a.d, 1.0 / (c * c));
        break;
    }
    case OP_SIGMOID: {
        double s, sm;
        sigmoid2(a.v, &s, &sm);
        r.v = s;
        r.d = tz(a.d, s * sm);
        break;
    }
    case OP_ERF:
        r.v = erf(a.v);
        r.d = tz(a.d, 1.1283791670955126 * exp(-a.v * a.v)); /* 2/sqrt(pi) */
        break;
    case OP_SIN:
        r.v = sin(a.v);
        r.d = tz(a.d, cos(a.v));
        break;
    case OP_COS:
        r.v = cos(a.v);
        r.d = tz(a.d, -sin(a.v));
        break;
    case OP_RELU:
        if (a.v > 0 || (a.v == 0 && side * a.d > 0)) {
            r = a;
            if (a.v == 0) r.v = 0.0; /* not -0 */
        } else if (a.v <= 0) {
            r.v = 0.0;
            r.d = 0.0;
        } else {
            r.v = a.v;
            r.d = tz(a.d, NAN);
        }
        break;
    case OP_SOFTPLUS: {
        double s, sm;
        r.v = a.v > 0 ? a.v + log1p(exp(-a.v)) : log1p(exp(a.v));
        sigmoid2(a.v, &s, &sm);
        r.d = tz(a.d, s);
        break;
    }
    case OP_MAX:
        if (a.v > b.v || (a.v == b.v && side * (a.d - b.d) >= 0))
            r = a; /* a tie takes the first argument (side = 0) */
        else if (b.v >= a.v)
            r = b;
        else
            r.v = r.d = NAN;
        break;
    case OP_MIN:
        if (a.v < b.v || (a.v == b.v && side * (a.d - b.d) <= 0))
            r = a;
        else if (b.v <= a.v)
            r = b;
        else
            r.v = r.d = NAN;
        break;
    default: /* leaves are handled by the caller */
        r.v = r.d = NAN;
        break;
    }
    return r;
}

static double eval_side(const dw_expr *e, double z, double *dphi, int side);

double dw_expr_eval(const dw_expr *e, double z, double *dphi) { return eval_side(e, z, dphi, 0); }

double dw_expr_eval_side(const dw_expr *e, double z, double *dphi, int side)
{
    return eval_side(e, z, dphi, side > 0 ? 1 : side < 0 ? -1 : 0);
}

static double eval_side(const dw_expr *e, double z, double *dphi, int side)
{
    if (!e || e->n <= 0) {
        if (dphi) *dphi = NAN;
        return NAN;
    }
    dual small[256];
    dual *v = small;
    const int heap = e->n > (int)(sizeof small / sizeof small[0]);
    if (heap) {
        v = malloc((size_t)e->n * sizeof *v);
        if (!v) {
            if (dphi) *dphi = NAN;
            return NAN;
        }
    }
    const dual zero = {0.0, 0.0};
    for (int i = 0; i < e->n; i++) {
        const node *nd = &e->nodes[i];
        if (!nd->has_z) {
            v[i].v = nd->val;
            v[i].d = 0.0;
        } else if (nd->op == OP_Z) {
            v[i].v = z;
            v[i].d = 1.0;
        } else {
            double k = nd->int_pow ? e->nodes[nd->b].val : 0.0;
            v[i] = apply(nd, k, v[nd->a], nd->b >= 0 ? v[nd->b] : zero, side);
        }
    }
    /* e->n >= 1 for every parsed expression and the loop above writes v[0..n-1]; gcc -O3 with ASan cannot see
     * that and warns about small[] being read uninitialised. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    dual r = v[e->n - 1];
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    if (heap) free(v); /* a flag, not v != small: gcc -O3 + ASan misreads that as a read of small */
    if (dphi) *dphi = r.d;
    return r.v;
}

int dw_expr_is_polynomial(const dw_expr *e) { return e ? e->poly : 0; }
int dw_expr_is_smooth(const dw_expr *e) { return e ? e->smooth : 0; }
const char *dw_expr_canonical(const dw_expr *e) { return e && e->canon ? e->canon : ""; }

void dw_expr_free(dw_expr *e)
{
    if (!e) return;
    free(e->nodes);
    free(e->canon);
    free(e);
}

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
        nd->val = apply(nd, nd->int_pow ? P->nodes[b].val : 0.0, da, db, 0).v;
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
    for (f = 0; f < NFUNCS; f++)
        if (strlen(funcs[f].name) == name_len && memcmp(funcs[f].name, name, name_len) == 0) break;
    int shown = (int)(name_len < 40 ? name_len : 40);
    const char *more = name_len > 40 ? "..." : "";
    if (f == NFUNCS) {
        if ((name_len == 1 && name[0] == 'z') || (name_len == 2 && memcmp(name, "pi", 2) == 0) ||
            (name_len == 1 && name[0] == 'e')) {
            fail_at(P, name_pos, "'%.*s' is not a function (no implicit multiplication: write %.*s*(...))", shown,
                    name, shown, name);
            return -1;
        }
        const char *lower = NULL;
        for (size_t g = 0; g < NFUNCS && !lower; g++)
            if (strlen(funcs[g].name) == name_len && strncasecmp(funcs[g].name, name, name_len) == 0)
                lower = funcs[g].name;
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
    int args[2] = {-1, -1}, nargs = 0, arity = funcs[f].arity;
    const char *plural = arity == 1 ? "" : "s";
    if (peek(P) == ')') {
        fail_at(P, name_pos, "%s takes %d argument%s, got 0", funcs[f].name, arity, plural);
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
                    funcs[f].name, arity, what);
        else
            fail_at(P, P->pos, "expected ')' after argument %d of %s, found %s", nargs, funcs[f].name, what);
        return -1;
    }
    if (nargs != arity) {
        fail_at(P, name_pos, "%s takes %d argument%s, got %d", funcs[f].name, arity, plural, nargs);
        return -1;
    }
    P->pos++; /* ')' */
    P->depth--;
    return add_node(P, funcs[f].op, args[0], args[1], 0.0);
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
        for (size_t f = 0; f < NFUNCS; f++)
            if (strlen(funcs[f].name) == n && memcmp(funcs[f].name, name, n) == 0) {
                fail_at(P, start, "expected '(' after the function name '%s'", funcs[f].name);
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
 * canonical spelling
 * ---------------------------------------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (b->n + n + 1 > nc) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* The shortest %g spelling that reads back exactly, with the exponent written without '+' and leading zeros. */
static void put_number(sbuf *b, double v)
{
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    char out[40];
    size_t o = 0;
    for (const char *p = t; *p; p++) {
        out[o++] = *p;
        if (*p == 'e') {
            p++;
            if (*p == '-') out[o++] = *p++;
            else if (*p == '+') p++;
            while (*p == '0' && p[1]) p++;
            while (*p) out[o++] = *p++;
            break;
        }
    }
    out[o] = '\0';
    puts_(b, out);
}

static int level(const node *nd)
{
    switch (nd->op) {
    case OP_ADD:
    case OP_SUB: return 1;
    case OP_MUL:
    case OP_DIV: return 2;
    case OP_NEG: return 3;
    case OP_POW: return 4;
    default: return 5;
    }
}

static const char *func_name(int op)
{
    for (size_t f = 0; f < NFUNCS; f++)
        if (funcs[f].op == op) return funcs[f].name;
    return "?";
}

typedef struct frame {
    int node;
    unsigned char state, paren;
} frame;

static char *canonical(const node *nodes, int n)
{
    frame *st = malloc((size_t)(n + 1) * sizeof *st);
    if (!st) return NULL;
    sbuf b = {NULL, 0, 0, 0};
    int sp = 0;
    st[sp++] = (frame){n - 1, 0, 0};
    while (sp > 0 && !b.failed) {
        frame *f = &st[sp - 1];
        const node *nd = &nodes[f->node];
        int lv = level(nd), done = 0;
        if (f->state == 0) {
            if (f->paren) put(&b, "(", 1);
            f->state = 1;
            switch (nd->op) {
            case OP_NUM: put_number(&b, nd->val); done = 1; break;
            case OP_PI: puts_(&b, "pi"); done = 1; break;
            case OP_E: puts_(&b, "e"); done = 1; break;
            case OP_Z: puts_(&b, "z"); done = 1; break;
            case OP_NEG:
                put(&b, "-", 1);
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < 3};
                break;
            case OP_ADD:
            case OP_SUB:
            case OP_MUL:
            case OP_DIV:
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < lv};
                break;
            case OP_POW:
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < 5};
                break;
            default:
                puts_(&b, func_name(nd->op));
                put(&b, "(", 1);
                st[sp++] = (frame){nd->a, 0, 0};
                break;
            }
        } else if (f->state == 1 && nd->b >= 0) {
            f->state = 2;
            switch (nd->op) {
            case OP_ADD: put(&b, "+", 1); break;
            case OP_SUB: put(&b, "-", 1); break;
            case OP_MUL: put(&b, "*", 1); break;
            case OP_DIV: put(&b, "/", 1); break;
            case OP_POW: put(&b, "^", 1); break;
            default: put(&b, ",", 1); break;
            }
            int rl = level(&nodes[nd->b]);
            int paren = nd->op == OP_POW ? rl < 3 : lv == 5 ? 0 : rl <= lv;
            st[sp++] = (frame){nd->b, 0, (unsigned char)paren};
        } else {
            done = 1;
        }
        if (done) {
            if (lv == 5 && nd->a >= 0) put(&b, ")", 1); /* a call */
            if (f->paren) put(&b, ")", 1);
            sp--;
        }
    }
    free(st);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
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
    e->canon = canonical(e->nodes, e->n);
    if (!e->canon) {
        dw_expr_free(e);
        return dw_fail(DW_ERR_NOMEM, "expression: cannot allocate its canonical spelling");
    }
    *out = e;
    return DW_OK;
}

/* Value of node i's switch (relu/abs: its argument; max/min: a - b) given all node values vals[]. */
static double switch_value(const dw_expr *e, int i, const double *vals)
{
    const node *nd = &e->nodes[i];
    return nd->op == OP_MAX || nd->op == OP_MIN ? vals[nd->a] - vals[nd->b] : vals[nd->a];
}

static void eval_all(const dw_expr *e, double z, double *vals)
{
    for (int i = 0; i < e->n; i++) {
        const node *nd = &e->nodes[i];
        dual a = {nd->a >= 0 ? vals[nd->a] : 0.0, 0.0}, b = {nd->b >= 0 ? vals[nd->b] : 0.0, 0.0};
        if (!nd->has_z)
            vals[i] = nd->val;
        else if (nd->op == OP_Z)
            vals[i] = z;
        else
            vals[i] = apply(nd, nd->int_pow ? e->nodes[nd->b].val : 0.0, a, b, 0).v;
    }
}

int dw_expr_kink_away_from_zero(const dw_expr *e, double *where)
{
    if (!e || e->smooth) return 0;
    double *cur = malloc(2 * (size_t)e->n * sizeof(double));
    if (!cur) return 0;
    double *prev = cur + e->n;
    int found = 0;
    /* z = -10^4 .. -10^-6, then 10^-6 .. 10^4, geometric (ratio 10^0.002), skipping 0 itself */
    enum { PER_SIDE = 5000 };
    double zprev = 0.0;
    for (int side = -1; side <= 1 && !found; side += 2) {
        for (int t = 0; t <= PER_SIDE && !found; t++) {
            const int tt = side < 0 ? t : PER_SIDE - t;
            const double z = side * pow(10.0, 4.0 - 10.0 * tt / PER_SIDE);
            eval_all(e, z, cur);
            for (int i = 0; i < e->n && !found; i++) {
                const node *nd = &e->nodes[i];
                if (!nd->has_z || (nd->op != OP_RELU && nd->op != OP_ABS && nd->op != OP_MAX && nd->op != OP_MIN))
                    continue;
                const double s1 = switch_value(e, i, cur);
                if (s1 == 0.0) {
                    found = 1;
                    *where = z;
                    break;
                }
                if (t == 0) continue;
                const double s0 = switch_value(e, i, prev);
                if ((s0 < 0) != (s1 < 0) && isfinite(s0) && isfinite(s1) && (zprev < 0) == (z < 0)) {
                    /* bisect the crossing between zprev and z */
                    double lo = zprev, hi = z, slo = s0;
                    for (int it = 0; it < 200 && lo != hi; it++) {
                        const double mid = 0.5 * (lo + hi);
                        if (mid == lo || mid == hi) break;
                        eval_all(e, mid, prev);
                        const double sm = switch_value(e, i, prev);
                        if ((sm < 0) == (slo < 0)) {
                            lo = mid;
                            slo = sm;
                        } else {
                            hi = mid;
                        }
                    }
                    found = 1;
                    *where = 0.5 * (lo + hi);
                }
            }
            if (!found) {
                memcpy(prev, cur, (size_t)e->n * sizeof(double));
                zprev = z;
            }
        }
    }
    free(cur);
    return found;
}

/* Every kink of the expression: where the sign (-1, 0 or +1) of a switch (relu/abs argument, max/min
 * difference) changes between neighbours of the geometric grid of dw_expr_kink_away_from_zero (on both sides of
 * 0, and across [-1e-6, 1e-6]), located by bisection on the sign; sorted, positions within 1e-12 relative merged,
 * |z| < 1e-9 taken as 0. */
static int sign_class(double v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }

static double kink_bisect(const dw_expr *e, int i, double lo, double hi, int clo, double *tmp)
{
    for (int it = 0; it < 2200; it++) {
        const double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi) break;
        eval_all(e, mid, tmp);
        if (sign_class(switch_value(e, i, tmp)) == clo)
            lo = mid;
        else
            hi = mid;
    }
    const double at = 0.5 * (lo + hi);
    return fabs(at) < 1e-9 ? 0.0 : at; /* rounding ties (exp(z) - 1 == 0 for |z| < 1e-16): 0; misplacing a
                                          * kink by 1e-9 changes the integrals by O(1e-18) */
}

static int cmp_dbl(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int dw_expr_kinks(const dw_expr *e, double *where, int max)
{
    if (!e || e->smooth || max <= 0) return 0;
    double *cur = malloc(3 * (size_t)e->n * sizeof(double));
    if (!cur) return -1;
    double *prev = cur + e->n, *tmp = prev + e->n;
    int nk = 0;
    enum { PER_SIDE = 5000 };
    /* z from -10^4 up to -10^-6, then 10^-6 up to 10^4; the step from -10^-6 to 10^-6 crosses 0 */
    double zprev = 0.0;
    for (int t = 0; t <= 2 * PER_SIDE + 1; t++) {
        const int side = t <= PER_SIDE ? -1 : 1, tt = side < 0 ? t : 2 * PER_SIDE + 1 - t;
        const double z = side * pow(10.0, 4.0 - 10.0 * tt / PER_SIDE);
        eval_all(e, z, cur);
        for (int i = 0; t > 0 && i < e->n; i++) {
            const node *nd = &e->nodes[i];
            if (!nd->has_z || (nd->op != OP_RELU && nd->op != OP_ABS && nd->op != OP_MAX && nd->op != OP_MIN))
                continue;
            const double s0 = switch_value(e, i, prev), s1 = switch_value(e, i, cur);
            if (!isfinite(s0) || !isfinite(s1) || sign_class(s0) == sign_class(s1)) continue;
            const double at = kink_bisect(e, i, zprev, z, sign_class(s0), tmp);
            int dup = 0;
            for (int k = 0; k < nk; k++) dup |= fabs(where[k] - at) <= 1e-12 * fabs(at);
            if (dup) continue;
            if (nk == max) {
                free(cur);
                return -1;
            }
            where[nk++] = at;
        }
        memcpy(prev, cur, (size_t)e->n * sizeof(double));
        zprev = z;
    }
    free(cur);
    qsort(where, (size_t)nk, sizeof(double), cmp_dbl);
    return nk;
}
