/* The syntax tree of an activation expression (internal to src/act/expr*.c): the node array that the parser
 * (expr_parse.c) builds, the evaluator and kink finder (expr.c) walk and the printer (expr_print.c) spells. */
#ifndef DW_EXPR_TREE_H
#define DW_EXPR_TREE_H

#include "act/expr.h"

#include <stddef.h>

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

typedef struct dw_expr_func {
    const char *name;
    int op, arity;
} dw_expr_func;

/* The functions, in the order of their ops (expr_parse.c). */
extern const dw_expr_func dw_expr_funcs[];
extern const size_t dw_expr_nfuncs;
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

/* One node's operation on its children's values and derivatives (k: the integer exponent of an int_pow node; side:
 * the one-sided tie rule of expr.c); the parser folds constant nodes with it. */
dual dw_expr_apply(const node *nd, double k, dual a, dual b, int side);
/* The canonical spelling of a parsed tree (nodes[n - 1] the root), malloc'ed; NULL if out of memory. */
char *dw_expr_print(const node *nodes, int n);

#endif
