/** deepwick/wick.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/wick/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_WICK_H
#define DEEPWICK_WICK_H

#include <stdbool.h>

#include "deepwick/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ======================================================================================
 * wick: Wick and genus engine: words, pairings, set partitions, operator graphs (theory.md 4)
 * ====================================================================================== */

/** Exact expectations of products of traces of random-matrix words as Laurent polynomials in N (theory.md 4.1-4.2).
 *
 * Expression: a product of traces, "tr(A A^T B) tr(B^* B)": letters are names ([A-Za-z][A-Za-z0-9_]*, not "tr"),
 * each optionally followed by ^T (transpose), ^* (adjoint), ^H (= ^*) or ^k (a power k >= 0); parentheses group
 * letters, "(A B^T)^3", "(A B)^T" = B^T A^T; a trace may be raised to a power, "tr(A^2)^2". Letters are
 * separated by spaces or '*'.
 * Ensembles ("A=ginibre,B=gue", or one name for every letter; NULL: gue): gue, goe, ginibre (real),
 * complex-ginibre, rademacher, sparse:P (0 < P <= 1), moments:m4,m6,... (E xi^4, E xi^6, ... of a symmetric
 * law with E xi^2 = 1, entries xi / sqrt N). Real laws read ^* as ^T; GUE reads ^* as itself and ^T as the
 * conjugate.
 * Routes: pairings (Wick, union-find of index slots, Gaussian laws only, with the Euler characteristic and
 * orientability of every gluing), partitions (set partitions of the index slots with falling factorials and
 * entry moments, every law), recursion (Harer-Zagier for one-trace GUE words tr(A^{2k}), Haagerup-Thorbjornsen
 * for one-trace complex Ginibre words tr((G G^*)^k)), or auto (recursion where it applies, pairings for
 * Gaussian laws, otherwise partitions). A word too long for the chosen route is refused with its limit. */
typedef enum dw_wick_route {
    DW_WICK_AUTO = 0,
    DW_WICK_PAIRINGS = 1,
    DW_WICK_PARTITIONS = 2,
    DW_WICK_RECURSION = 3
} dw_wick_route;

#define DW_WICK_THREADS_MAX DW_THREADS_MAX

/** Options (an opaque object: dw_wick_opts_init / _clear; setters validate at once and name the Python keyword). */
typedef struct dw_wick_opts dw_wick_opts;
/** every letter GUE, unnormalised traces, auto route, no listing, threads 0 (all cores, core.h), no letter limit. */
DW_API dw_status dw_wick_opts_init(dw_wick_opts **o);
DW_API void dw_wick_opts_clear(dw_wick_opts *o);
/** The ensembles (see above; copied; NULL: every letter GUE). Checked against the expression's letters by
 * dw_wick_compute, which names the column. */
DW_API dw_status dw_wick_opts_set_ensembles(dw_wick_opts *o, const char *ensembles);
/** true: every trace is the normalised trace (1/N) tr. */
DW_API dw_status dw_wick_opts_set_normalized(dw_wick_opts *o, bool normalized);
DW_API dw_status dw_wick_opts_set_route(dw_wick_opts *o, dw_wick_route route);
/** List up to this many pairings (pairings route; 0: none). */
DW_API dw_status dw_wick_opts_set_max_pairings(dw_wick_opts *o, size_t max_pairings);
/** 0 (the default: all cores) to DW_WICK_THREADS_MAX, as in every module (core.h); the result does not depend on it. */
DW_API dw_status dw_wick_opts_set_threads(dw_wick_opts *o, int threads);
/** Refuse longer expressions (0: only the routes' own limits). */
DW_API dw_status dw_wick_opts_set_max_letters(dw_wick_opts *o, size_t max_letters);
/** "auto", "pairings", "partitions", "recursion"; DW_ERR_INVALID naming `route` otherwise. */
DW_API dw_status dw_wick_route_parse(const char *name, dw_wick_route *route);

typedef struct dw_wick_result dw_wick_result;

/** Compute E[prod tr(w_i)] (o NULL: the defaults); *res is NULL on failure. */
DW_API dw_status dw_wick_compute(const dw_wick_opts *o, const char *expr, dw_wick_result **res);
DW_API void dw_wick_result_clear(dw_wick_result *res);
/** Route used: "pairings", "partitions" or "recursion". */
DW_API const char *dw_wick_result_route(const dw_wick_result *res);
/** Exponents lo..hi of the Laurent polynomial (lo > hi when the expectation is 0) and the exact coefficient of
 * N^e as a decimal string "p" or "p/q" (valid until the next call on the result; "0" outside lo..hi). */
DW_API void dw_wick_result_range(const dw_wick_result *res, long *lo, long *hi);
DW_API const char *dw_wick_result_coef(dw_wick_result *res, long e);
/** Everything as one JSON object: {"expression", "ensembles", "route", "normalized", "value": {"N^1": "2", ...},
 * "terms", "by_genus": [{"chi", "power", "orientable", "nonorientable"}...] (pairings and recursion routes),
 * "pairings": [...] (when listed)}; and a human-readable text. Owned by the result. */
/** NULL if out of memory (DW_ERR_NOMEM's message then says so). */
DW_API const char *dw_wick_result_json(dw_wick_result *res);
DW_API const char *dw_wick_result_text(dw_wick_result *res, bool by_genus, bool pairings);

/** Operator-graph (tree) expansion of a network with polynomial activation phi(z) = sum_k c_k z^k (theory.md 4.3):
 * h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1} (one output), hidden width N, W^1 entries
 * of variance sigma_w^2 / d, later W^l of variance sigma_w^2 / N, biases sigma_b^2, all Gaussian.
 * E[f(x) f(y)] is an exact polynomial in 1/N. Numbers are exact: the coefficients and variances are decimal or
 * fraction strings ("0.1", "1/3"), the inputs doubles taken at their exact binary value. */
/** The polynomial network: an opaque object with setters (dw_wick_net_init / _clear). It is NOT a dw_net: dw_net
 * describes a network in floating point (variances as doubles, any activation), for the infinite-width limits and
 * the samplers; this one holds EXACT rationals (the activation's polynomial coefficients and the variances) for the
 * exact finite-N arithmetic of the expansion, and only the shape that expansion supports (Gaussian weights, one
 * polynomial activation, one output). Values are decimal or fraction strings ("0.1" is 1/10, "1/3"), parsed and
 * checked by the setters. */
typedef struct dw_wick_net dw_wick_net;
/** depth and poly unset (the expansion asks for them), weight_var 1, bias_var 0. */
DW_API dw_status dw_wick_net_init(dw_wick_net **net);
DW_API void dw_wick_net_clear(dw_wick_net *net);
#define DW_WICK_NET_DEPTH_MAX 64
#define DW_WICK_NET_COEF_MAX 33
/** L in 0..DW_WICK_NET_DEPTH_MAX activations. */
DW_API dw_status dw_wick_net_set_depth(dw_wick_net *net, int depth);
/** phi's coefficients c_0..c_K, 1..DW_WICK_NET_COEF_MAX strings. */
DW_API dw_status dw_wick_net_set_poly(dw_wick_net *net, size_t n_coef, const char *const *coef);
/** sigma_w^2, sigma_b^2 >= 0. */
DW_API dw_status dw_wick_net_set_weight_var(dw_wick_net *net, const char *weight_var);
DW_API dw_status dw_wick_net_set_bias_var(dw_wick_net *net, const char *bias_var);
/** Residual blocks (theory.md 4.3): the hidden layers 2..L become h^l = gamma_l h^{l-1} + alpha_l (W^l phi(h^{l-1})
 * + b^l) (the act-first branch, N x N weights of variance sigma_w^2 / N, biases sigma_b^2), the input layer
 * h^1 = W^1 x + b^1 and the readout f = W^{L+1} phi(h^L) + b^{L+1} stay as they are. gamma_l and alpha_l^2 >= 0
 * are exact (decimal or p/q strings): the expansion is a polynomial in them. n = 1: the same block at every layer;
 * otherwise one per block, n = L - 1 (checked by dw_wick_expand, which refuses a residual network with no block,
 * L < 2); n = 0: the plain network again. */
DW_API dw_status dw_wick_net_set_residual(dw_wick_net *net, size_t n, const char *const *gamma,
                                          const char *const *alpha2);

typedef enum dw_wick_expand_route {
    DW_WICK_EXPAND_TREES = 0,      /* sum over pairs of trees of their Wick pairings */
    DW_WICK_EXPAND_CONDITIONAL = 1 /* layer recursion conditioned on the layer below */
} dw_wick_expand_route;
/** "trees" or "conditional"; DW_ERR_INVALID naming `route` otherwise. */
DW_API dw_status dw_wick_expand_route_parse(const char *name, dw_wick_expand_route *route);

typedef struct dw_wick_expansion dw_wick_expansion;
/** E[f(x) f(y)] for two inputs of dimension d by the chosen route. The trees route also records the trees and
 * the tree pairs with their pairings (power of N, Euler characteristic of the glued graph) when `record` is set.
 * *e is NULL on failure. */
DW_API dw_status dw_wick_expand(const dw_wick_net *net, dw_wick_expand_route route, bool record, const double *x,
                                const double *y, size_t d, dw_wick_expansion **e);
DW_API void dw_wick_expansion_clear(dw_wick_expansion *e);
/** Degree D in 1/N and the coefficient of N^{-k}, k = 0..D, as a decimal "p" or "p/q" string (valid until the
 * next call on the expansion), and as the nearest double. */
DW_API int dw_wick_expansion_degree(const dw_wick_expansion *e);
DW_API const char *dw_wick_expansion_coef(dw_wick_expansion *e, int k);
DW_API double dw_wick_expansion_coef_d(const dw_wick_expansion *e, int k);
/** JSON: {"value": {"N^0": ..., "N^-1": ...}, "trees": [...], "terms": [...]} (trees/terms when recorded), and for a
 * residual network "residual": {"gamma": [...], "alpha2": [...]} (per block, layers 2..L, exact strings). */
/** NULL if out of memory (DW_ERR_NOMEM's message then says so). */
DW_API const char *dw_wick_expansion_json(dw_wick_expansion *e);
/** Number of recorded terms (tree pairs with a non-zero expectation) and a Graphviz DOT drawing of term k. */
DW_API size_t dw_wick_expansion_terms(const dw_wick_expansion *e);
DW_API dw_status dw_wick_expansion_dot(dw_wick_expansion *e, size_t k, const char **dot);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_WICK_H */
