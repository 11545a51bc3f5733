/** deepwick/net.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/net/: ONE description of a network, taken by kernels, sampling and spectrum alike (theory.md 1.1, 2, 3).
 *
 * A network is a list of layers applied in order to an input x in R^d:
 *   DW_LAYER_DENSE  h' = W h + b, W with entries of variance weight_var / fan_in (NTK parameterisation: the
 *                   1/sqrt(fan_in) sits in the forward pass; standard: in the initialisation), b of variance bias_var;
 *                   or, in a network with GIVEN weights, the caller's W and b as they are (theory.md 2);
 *   DW_LAYER_ACT    h' = phi(h), elementwise.
 * Today every computation takes the fully connected shape, `depth` activations between dense layers:
 *   Dense, Act, Dense, Act, ..., Dense            (with a readout: depth + 1 dense layers; kernels, sampling)
 *   Dense, Act, ..., Dense, Act                   (without: depth dense layers; the Jacobian spectrum)
 * with one activation for every Act layer; the computations say so, naming the layer, when a list is not of that shape.
 *
 * Object conventions (every opaque deepwick object): dw_X_init(dw_X **x, ...) allocates and returns a status (*x is
 * NULL on failure), dw_X_clear(x) frees it (NULL is a no-op). Setters validate at once and name the option as the
 * Python keyword does ("weight_var: ..."). The net BORROWS what it is given (activations, given weight arrays): they
 * must outlive every call that uses the net. A net is read-only during computations: calls may share it across
 * threads. */
#ifndef DEEPWICK_NET_H
#define DEEPWICK_NET_H

#include <stdbool.h>

#include "deepwick/act.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Tangent-kernel parameterisation (the network function and the NNGP are the same for both; theory.md 1.3). */
typedef enum dw_param { DW_PARAM_NTK = 0, DW_PARAM_STANDARD = 1 } dw_param;

/** Weight laws (theory.md 2): every law is centred with unit variance before the weight_var / fan_in scaling.
 *   gaussian; rademacher (+-1); uniform on [-sqrt 3, sqrt 3]; student-t:NU (t_nu * sqrt((nu - 2)/nu), nu > 2);
 *   sparse:P (eps g / sqrt p, eps ~ Bernoulli(p), g ~ N(0, 1)); complex-gaussian ((g1 + i g2)/sqrt 2);
 *   orthogonal (Haar: sqrt(max(rows, cols)) Q, Q with orthonormal rows or columns, not i.i.d.). */
typedef enum dw_law_kind {
    DW_LAW_GAUSSIAN = 0,
    DW_LAW_RADEMACHER = 1,
    DW_LAW_UNIFORM = 2,
    DW_LAW_STUDENT_T = 3,
    DW_LAW_SPARSE = 4,
    DW_LAW_COMPLEX_GAUSSIAN = 5,
    DW_LAW_ORTHOGONAL = 6
} dw_law_kind;

/** A weight law: a small value type (not an object). */
typedef struct dw_law {
    dw_law_kind kind;
    double param; /* student-t: nu; sparse: p; otherwise unused */
} dw_law;

/** Parse "gaussian", "rademacher", "uniform", "student-t:NU", "sparse:P", "complex-gaussian", "orthogonal".
 * Errors: unknown law, nu <= 2 (infinite variance), p outside (0, 1]. */
DW_API dw_status dw_law_parse(dw_law *law, const char *spec);
/** Canonical spelling into buf ("student-t:5"); returns buf. */
DW_API const char *dw_law_format(const dw_law *law, char *buf, size_t cap);
/** A warning for laws that are valid but outside the theory (student-t with nu <= 4: infinite fourth moment),
 * or NULL. The library never prints: the CLI and Python show it. */
DW_API const char *dw_law_warning(const dw_law *law);

typedef enum dw_layer_kind { DW_LAYER_DENSE = 0, DW_LAYER_ACT = 1 } dw_layer_kind;

typedef struct dw_net dw_net;

/** An empty network: no layers, NTK parameterisation, Gaussian weights, layer 1 of the same law as the others. */
DW_API dw_status dw_net_init(dw_net **net);
DW_API void dw_net_clear(dw_net *net);

/** ---- building the list ---- */
/** Append a dense layer: weight_var, bias_var >= 0 finite; width = its output units (> 0 finite), or 0: not set (an
 * infinite-width limit needs none; a finite network or the standard parameterisation's NTK asks for it). */
DW_API dw_status dw_net_add_dense(dw_net *net, double weight_var, double bias_var, double width);
/** Append an activation layer (act borrowed). */
DW_API dw_status dw_net_add_act(dw_net *net, const dw_act *act);
/** Replace the list by the fully connected network of `depth` >= 0 activations (at most DW_NET_DEPTH_MAX): Dense, act,
 * ..., and with `readout` a last Dense (depth + 1 dense layers; without, depth >= 1 dense layers). Every dense layer
 * gets weight_var 1, bias_var 0, width unset (a readout: width 1, the output dimension). */
#define DW_NET_DEPTH_MAX 100000
DW_API dw_status dw_net_set_fc(dw_net *net, int depth, const dw_act *act, bool readout);

/** ---- per-dense-layer values: n = 1 (every dense layer) or one per dense layer, in order ---- */
DW_API dw_status dw_net_set_weight_var(dw_net *net, size_t n, const double *v);
DW_API dw_status dw_net_set_bias_var(dw_net *net, size_t n, const double *v);
/** Widths of the HIDDEN dense layers (every dense layer but a readout): n = 1 or one per hidden layer, each > 0. */
DW_API dw_status dw_net_set_widths(dw_net *net, size_t n, const double *width);
/** The readout's width (the output dimension d_out >= 1); DW_ERR_INVALID if the net has no readout. */
DW_API dw_status dw_net_set_out_dim(dw_net *net, size_t out_dim);

/** ---- network-wide settings ---- */
DW_API dw_status dw_net_set_param(dw_net *net, dw_param param);
/** The weight law, from its spelling (dw_law_parse); the biases are Gaussian for every law. */
DW_API dw_status dw_net_set_law(dw_net *net, const char *spec);
/** true: layer 1 (fan-in d, which does not grow with the width) draws Gaussian weights whatever the law. With d fixed,
 * a non-Gaussian law in layer 1 keeps h^1 non-Gaussian at every width, so the limits then hold only up to
 * O(kappa_4 / d). */
DW_API dw_status dw_net_set_gaussian_input_layer(dw_net *net, bool on);

/** ---- given weights (a trained network, another framework's, or a sampler's) ----
 * Replace the list by n_dense >= 1 dense layers with the caller's weights and `act` between them (readout: the last
 * dense layer is not followed by act; without: every dense layer is). widths[0] = d (the input dimension), W[k] is
 * widths[k + 1] x widths[k] row-major (torch's nn.Linear layout) applied as given (no weight_var / fan_in scaling),
 * b NULL (no biases) or b[k] NULL (none in that layer) or widths[k + 1] entries. Everything is borrowed. The layers'
 * weight_var and bias_var are set to 1: for a given network they are the SCALES ws_k, bs_k of its tangent kernel
 * (W_k = s_k theta_k for trainable theta_k: ws_k = s_k^2; theory.md 1.3), set with dw_net_set_weight_var / _bias_var. */
DW_API dw_status dw_net_set_given(dw_net *net, const dw_act *act, size_t n_dense, const size_t *widths,
                                  const double *const *W, const double *const *b, bool readout);

/** ---- queries ---- */
DW_API size_t dw_net_layers(const dw_net *net);                     /* number of layers in the list */
DW_API dw_layer_kind dw_net_layer_kind(const dw_net *net, size_t i); /* i < dw_net_layers */
DW_API size_t dw_net_dense_layers(const dw_net *net);
DW_API int dw_net_depth(const dw_net *net);                         /* number of activation layers */
DW_API bool dw_net_has_readout(const dw_net *net);                  /* the list ends with a dense layer */
DW_API bool dw_net_is_given(const dw_net *net);                     /* built by dw_net_set_given */
DW_API dw_param dw_net_param(const dw_net *net);
DW_API dw_law dw_net_law(const dw_net *net);
/** The net's law as text, for bindings that hold no dw_law: its canonical spelling into buf (dw_law_format; returns buf)
 * and its warning (dw_law_warning: NULL or a static string). */
DW_API const char *dw_net_law_format(const dw_net *net, char *buf, size_t cap);
DW_API const char *dw_net_law_warning(const dw_net *net);
/** A one-line description, "dense(2, 0.1) > relu > dense(1, 0)" (owned by the net, valid until it changes). */
DW_API const char *dw_net_describe(dw_net *net);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_NET_H */
