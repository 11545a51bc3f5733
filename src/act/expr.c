/* Activation expressions: the evaluator (a loop over the node array with dual numbers, one-sided at kinks) and the
 * kink finder, which shares its node operations. The parser is expr_parse.c, the printer expr_print.c. See expr.h
 * for the grammar, the limits and the derivative conventions. */
#include "act/expr_tree.h"

#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

dual dw_expr_apply(const node *nd, double k, dual a, dual b, int side) { return apply(nd, k, a, b, side); }

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

/* Every kink of the expression: where the sign (-1, 0 or +1) of a switch (relu/abs argument, max/min
 * difference) changes between neighbours of the geometric grid of dw_expr_kinks (on both sides of
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
    if (!cur) return -2;
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
