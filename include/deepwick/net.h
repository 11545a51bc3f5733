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
/** The fourth cumulant (excess kurtosis) kappa_4 = E w^4 - 3 of the unit-variance law, what the finite-width
 * corrections need (theory.md 1.6): gaussian 0, rademacher -2, uniform -6/5, student-t:NU 6/(NU - 4) (NU > 4),
 * sparse:P 3/P - 3. Errors (one message): student-t with NU <= 4 (infinite fourth moment), complex-gaussian and
 * orthogonal (not real i.i.d. laws: their corrections are not a fourth cumulant's). */
DW_API dw_status dw_law_kappa4(const dw_law *law, double *kappa4);
/** dw_law_kappa4 of the law spelled spec ("sparse:0.1"): dw_law_parse's errors, then dw_law_kappa4's. */
DW_API dw_status dw_law_spec_kappa4(const char *spec, double *kappa4);

/** Layer kinds. Beyond the fully connected pair (dense, act), the architectures of Neural Tangents' stax
 * (theory.md 7): the infinite-width kernels (dw_kernel_gram) take every kind; the other computations say so, naming
 * the layer, where they take only the fully connected shape. Inputs with spatial axes (dw_net_set_input_shape) are
 * NHWC as in NT: spatial axes first, channels last; a dense layer acts on the channels at every position. */
typedef enum dw_layer_kind {
    DW_LAYER_DENSE = 0,
    DW_LAYER_ACT = 1,
    DW_LAYER_CONV = 2,        /* convolution over the spatial axes, weights shared across positions */
    DW_LAYER_POOL = 3,        /* AvgPool / SumPool over windows */
    DW_LAYER_GLOBAL_POOL = 4, /* GlobalAvgPool / GlobalSumPool: removes the spatial axes */
    DW_LAYER_FLATTEN = 5,     /* spatial axes and channels into one feature axis */
    DW_LAYER_LAYERNORM = 6,   /* normalisation over the channels (and optionally the spatial axes) */
    DW_LAYER_DROPOUT = 7,     /* NT's Dropout(rate, mode) */
    DW_LAYER_SCALE = 8,       /* h' = c h */
    DW_LAYER_IDENTITY = 9,
    DW_LAYER_FANOUT = 10,     /* one stream into n copies */
    DW_LAYER_PARALLEL = 11,   /* branch k applied to stream k */
    DW_LAYER_FANIN_SUM = 12   /* the streams summed into one */
} dw_layer_kind;

/** Padding of convolutions and pools (NT's names). */
typedef enum dw_padding { DW_PAD_VALID = 0, DW_PAD_SAME = 1, DW_PAD_CIRCULAR = 2 } dw_padding;
/** The most spatial axes an input may have. */
#define DW_NET_SPATIAL_MAX 3

typedef struct dw_net dw_net;

/** An empty network: no layers, NTK parameterisation, Gaussian weights, layer 1 of the same law as the others. */
DW_API dw_status dw_net_init(dw_net **net);
DW_API void dw_net_clear(dw_net *net);

/** ---- building the list ---- */
/** Append a dense layer: weight_var, bias_var >= 0 finite (a bias of variance 0 is still a trainable bias, NT's
 * b_std=0, counted by the standard parameterisation's NTK; none at all: dw_net_set_last_no_bias); width = its output units (> 0 finite), or 0: not set (an
 * infinite-width limit needs none; a finite network or the standard parameterisation's NTK asks for it). */
DW_API dw_status dw_net_add_dense(dw_net *net, double weight_var, double bias_var, double width);
/** Append an activation layer (act borrowed). */
DW_API dw_status dw_net_add_act(dw_net *net, const dw_act *act);
/** Replace the list by the fully connected network of `depth` >= 0 activations (at most DW_NET_DEPTH_MAX): Dense, act,
 * ..., and with `readout` a last Dense (depth + 1 dense layers; without, depth >= 1 dense layers). Every dense layer
 * gets weight_var 1, no bias (bias_var 0), width unset (a readout: width 1, the output dimension). */
#define DW_NET_DEPTH_MAX 100000
DW_API dw_status dw_net_set_fc(dw_net *net, int depth, const dw_act *act, bool readout);

/** ---- architectures (Neural Tangents' stax; theory.md 7) ----
 * The input's shape without the batch axis: `rank` - 1 <= DW_NET_SPATIAL_MAX spatial sizes then the channels
 * ((H, W, C), (L, C)); rank 1 (d): a vector (the default, d taken from the data). The kernels check the data's
 * feature count against it. */
DW_API dw_status dw_net_set_input_shape(dw_net *net, size_t rank, const size_t *shape);
/** Convolution over the `rank` spatial axes (as many as the input has): filter sizes, strides (NULL: 1), padding,
 * weight_var = W_std^2 (fan-in: filter size x input channels, NT's convention), bias_var = b_std^2, out_chan the
 * output channels (0: not set; a finite network and the standard parameterisation's NTK ask for it). */
DW_API dw_status dw_net_add_conv(dw_net *net, size_t rank, const size_t *filter, const size_t *strides,
                                 dw_padding padding, double weight_var, double bias_var, size_t out_chan);
/** The last dense or conv layer: its own parameterisation (NT's per-layer `parameterization`; default: the
 * net's, dw_net_set_param), and no bias at all (NT's b_std=None, which differs from b_std=0 in the standard
 * parameterisation's NTK). */
DW_API dw_status dw_net_set_last_param(dw_net *net, dw_param param);
DW_API dw_status dw_net_set_last_no_bias(dw_net *net);
/** AvgPool (average true) or SumPool over windows of the spatial axes: window sizes, strides (NULL: 1), padding;
 * normalize_edges (AvgPool with SAME padding): divide by the window's positions inside the image, as NT. */
DW_API dw_status dw_net_add_pool(dw_net *net, bool average, size_t rank, const size_t *window, const size_t *strides,
                                 dw_padding padding, bool normalize_edges);
/** GlobalAvgPool (average true) or GlobalSumPool. */
DW_API dw_status dw_net_add_global_pool(dw_net *net, bool average);
DW_API dw_status dw_net_add_flatten(dw_net *net);
/** LayerNorm over the channels (spatial false: NT's axis=-1) or over the channels and every spatial axis; eps >= 0
 * is added to the variance (NT's default 1e-12). */
DW_API dw_status dw_net_add_layernorm(dw_net *net, bool spatial, double eps);
/** Dropout with keep probability rate in (0, 1]; train false: the test mode, an identity. */
DW_API dw_status dw_net_add_dropout(dw_net *net, double rate, bool train);
/** h' = c h (c finite). */
DW_API dw_status dw_net_add_scale(dw_net *net, double c);
DW_API dw_status dw_net_add_identity(dw_net *net);
/** NT's FanOut(n >= 1), parallel(branch_1, ..., branch_n) (the branches are copied: the net does not keep the
 * pointers; their activations stay borrowed) and FanInSum. */
DW_API dw_status dw_net_add_fanout(dw_net *net, size_t n);
DW_API dw_status dw_net_add_parallel(dw_net *net, size_t n, const dw_net *const *branches);
DW_API dw_status dw_net_add_fanin_sum(dw_net *net);
/** h' = skip_scale h + branch_scale branch(h): FanOut(2), parallel(branch then Scale(branch_scale),
 * Scale(skip_scale)), FanInSum. */
DW_API dw_status dw_net_add_residual(dw_net *net, const dw_net *branch, double skip_scale, double branch_scale);

/** The layers of a one-line text spelling appended to the net (docs/architectures.md gives the grammar), e.g.
 * "conv(3x3, same, W_std=1.4, b_std=0.1); relu; avgpool(2x2); flatten; dense(W_std=1.4)". Activations spelt
 * in the text are owned by the net. A malformed spelling: DW_ERR_INVALID with "net: column C: what was expected",
 * the net unchanged. The empty spelling appends no layers. */
DW_API dw_status dw_net_parse(dw_net *net, const char *spec);
/** The canonical spelling of the net's layers, which dw_net_parse reads back to the same layers bit for bit (owned by
 * the net, valid until it changes; "" for no layers). NULL, with the message, for what has no spelling (given
 * weights, an empty parallel branch) and on allocation failure. */
DW_API const char *dw_net_spec(dw_net *net);

/** ---- per-dense-layer values: n = 1 (every dense layer) or one per dense layer, in order ---- */
DW_API dw_status dw_net_set_weight_var(dw_net *net, size_t n, const double *v);
/* bias_var: a value 0 means no bias (NT's b_std=None), as the fully connected front ends have always read it. */
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
