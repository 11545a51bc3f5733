/* Activation expressions: a small, safe parser and evaluator for phi(z) written as a formula (internal).
 *
 * Grammar (whitespace allowed between any two tokens; names are case-sensitive lowercase):
 *   expr    := term (('+' | '-') term)*                     left-associative
 *   term    := unary (('*' | '/') unary)*                   left-associative
 *   unary   := ('-' | '+') unary | power
 *   power   := primary ('^' unary)?                         right-associative: 2^3^2 = 2^(3^2) = 512,
 *                                                           tighter than unary minus: -z^2 = -(z^2), 2^-z = 2^(-z)
 *   primary := NUMBER | 'z' | 'pi' | 'e' | '(' expr ')' | NAME '(' expr (',' expr)* ')'
 *   NUMBER  := digits ['.' digits] | '.' digits, then optionally [eE] [+-] digits   (1, 0.5, .5, 1e-3, 1.702)
 *   NAME    := exp log sqrt abs tanh sigmoid erf sin cos relu softplus (one argument), max min (two)
 * There is no implicit multiplication ("2z" is an error). softplus(x) = log(1 + e^x), computed stably;
 * sigmoid(x) = 1 / (1 + e^-x), computed stably on both sides.
 *
 * Limits: at most 4096 characters of text and nesting (parentheses and calls) at most 64 deep; the syntax
 * tree has at most one node per character. Parsing recurses at most a bounded number of frames per nesting
 * level (operator chains such as z+z+...+z, z^z^...^z and ---z are parsed by loops); evaluation and the
 * canonical spelling walk the node array with loops, so no input can exhaust the stack.
 *
 * Errors are DW_ERR_INVALID with a one-line message (no prefix) naming the 1-based column (in bytes) and what
 * was expected, e.g. "column 9: expected ')' after argument", "column 3: unknown variable 'x' (the variable
 * is z)", "column 7: unexpected 'q' after the end of the expression", "empty expression".
 *
 * Derivatives: phi'(z) comes from forward-mode differentiation (dual numbers) of the tree. A sub-expression
 * that does not depend on z has a derivative of exactly 0, and a zero derivative is never multiplied into an
 * infinite or NaN factor (0 * inf counts as 0, as with symbolic zeros). At kinks the one-sided value that
 * autodiff frameworks return is used:
 *   abs'(0) = 0 (the sign function), relu'(0) = 0;
 *   max(a, b) takes the derivative of a where a > b, of b where b > a, and at a tie (a == b) that of the FIRST
 *     argument, so max(z, 0.1*z) has derivative 1 at 0 like deepwick's leaky_relu'(0) = 1 (PyTorch's
 *     torch.maximum and JAX's jax.numpy.maximum instead split a tie 0.5/0.5, which would give 0.55 there and
 *     match no built-in activation); min(a, b) likewise takes the first argument at a tie;
 *   sqrt'(0) = +inf propagates (callers check finiteness); log of a negative number gives NaN (callers check).
 * a^b with b a constant integer (no z in it, |b| <= 2^53) is computed by repeated multiplication (binary
 * powering: exact for z^2 and z^3, the right sign for negative z; a negative b gives 1 / a^|b|), and its
 * derivative is b a^(b-1) a'. Any other exponent means exp(b log a), computed with pow(): NaN for a < 0, with
 * derivative a^b (b' log a + b a'/a) (written b a^(b-1) a' so that it is finite at a = 0 where it should be).
 * max and min of a NaN are NaN; relu(NaN) is NaN.
 */
#ifndef DW_EXPR_H
#define DW_EXPR_H

#include "deepwick.h"

#define DW_EXPR_MAX_LEN 4096
#define DW_EXPR_MAX_DEPTH 64

typedef struct dw_expr dw_expr;

/* Parse `text` into *out (NULL on failure): DW_ERR_INVALID with the message described above, or DW_ERR_NOMEM. */
dw_status dw_expr_parse(dw_expr **out, const char *text);
void dw_expr_free(dw_expr *e);

/* phi(z), and phi'(z) into *dphi unless dphi is NULL. Thread-safe (e is not modified). Results may be
 * non-finite (log of a negative, sqrt'(0), overflow): callers check. Expressions of more than 256 nodes use a
 * heap work array; if that allocation fails the result is NaN. */
double dw_expr_eval(const dw_expr *e, double z, double *dphi);
/* The one-sided limits of phi and phi' at z from the right (side > 0) or the left (side < 0): ties at kinks are
 * broken along the direction, so that e.g. relu(z) + min(exp(z) - 1, 0) has phi'(0+) = phi'(0-) = 1 exactly
 * (evaluating at z = 1e-300 instead would see exp(z) - 1 == 0, a tie, and take the wrong branch). */
double dw_expr_eval_side(const dw_expr *e, double z, double *dphi, int side);

/* 1 if the expression uses only numbers, the constants pi and e, z, + - * (binary and unary minus) and ^ with
 * a constant non-negative integer exponent (such as z^3 or z^(1+1)); else 0. Division is never polynomial
 * here, even by a constant. */
int dw_expr_is_polynomial(const dw_expr *e);
/* 0 if abs, relu, max or min appear (possible kinks), else 1. */
int dw_expr_is_smooth(const dw_expr *e);
/* All kinks (relu/abs arguments or max/min differences changing sign; 0 included), sorted, at most max of them,
 * searched on |z| in [1e-6, 1e4] on a geometric grid (ratio 10^0.002) and refined by bisection, so two crossings
 * closer than the grid spacing can be missed; returns their number, or -1 if there are
 * more than max, -2 if out of memory. A switch that vanishes on a whole grid point run (e.g. relu(z) - relu(z)) counts
 * each zero it meets. */
int dw_expr_kinks(const dw_expr *e, double *where, int max);
/* A normalised spelling: no spaces, the fewest parentheses that keep the same tree, unary plus dropped,
 * numbers in the shortest form that reads back exactly ("z*sigmoid(1.702*z)"). Parsing it gives a tree that
 * evaluates bit-identically. Owned by e. */
const char *dw_expr_canonical(const dw_expr *e);

#endif
