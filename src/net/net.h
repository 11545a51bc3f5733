/* The network object's layout, for the modules that walk it (kernels, sampling, spectrum). Not installed. */
#ifndef DW_NET_INTERNAL_H
#define DW_NET_INTERNAL_H

#include "core/internal.h"

#include <stdbool.h>

typedef struct dw_net_layer {
    dw_layer_kind kind;
    /* DW_LAYER_DENSE */
    double weight_var, bias_var; /* sigma_w^2, sigma_b^2; given weights: the tangent kernel's scales ws, bs */
    double width;                /* output units; 0: not set */
    const double *W, *b;         /* given weights (borrowed): W rows x cols; b NULL: no bias. W NULL: random */
    size_t rows, cols;
    /* DW_LAYER_ACT */
    const dw_act *act;
    /* DW_LAYER_DENSE and DW_LAYER_CONV: the layer's own parameterisation (0: the net's, else 1 + dw_param), and
     * no bias (NT's b_std=None; bias_var is then 0) */
    int param;
    bool no_bias;
    /* DW_LAYER_CONV, DW_LAYER_POOL: `rank` spatial axes; window = filter or pool window */
    size_t rank;
    size_t window[DW_NET_SPATIAL_MAX], stride[DW_NET_SPATIAL_MAX];
    dw_padding padding;
    bool average;         /* POOL, GLOBAL_POOL: average (else sum) */
    bool normalize_edges; /* POOL */
    /* DW_LAYER_LAYERNORM: spatial axes too; eps. DW_LAYER_DROPOUT: rate, train. DW_LAYER_SCALE: c */
    bool spatial, train;
    double eps, rate, c;
    /* DW_LAYER_FANOUT: n. DW_LAYER_PARALLEL: n branches (owned copies) */
    size_t n;
    struct dw_net **branch;
} dw_net_layer;

struct dw_net {
    dw_net_layer *layer;
    size_t n, cap;
    dw_param param;
    dw_law law;
    bool gaussian_input_layer;
    bool given;
    char *desc; /* dw_net_describe's string */
    char *spec; /* dw_net_spec's string */
    size_t in_rank; /* input shape (dw_net_set_input_shape); 0: a vector of the data's dimension */
    size_t in_shape[DW_NET_SPATIAL_MAX + 1];
    dw_act **owned; /* activations the net owns (parsed from text), freed by dw_net_clear */
    size_t n_owned;
};

/* dw_net_spec's spelling into *out, allocated (the caller frees it), for a const net. */
dw_status dw_net_spec_text(const dw_net *net, char **out);
/* The parameterisation layer l uses. */
static inline dw_param dw_net_layer_param(const dw_net *net, const dw_net_layer *l)
{
    return l->param ? (dw_param)(l->param - 1) : net->param;
}
/* "conv", "pool", ... */
const char *dw_net_kind_name(dw_layer_kind k);
/* Frees what a layer owns (its branches). */
void dw_net_layer_free(dw_net_layer *l);
/* Appends a layer (the net takes what it owns). */
dw_status dw_net_append(dw_net *net, const dw_net_layer *l);
/* A deep copy of `src` (branches copied, activations shared) into a new net. */
dw_status dw_net_copy(dw_net **out, const dw_net *src);
/* The net takes ownership of `act` (freed by dw_net_clear, also on failure here). */
dw_status dw_net_own_act(dw_net *net, dw_act *act);
/* true when the list is the fully connected shape dw_net_fc_view accepts and the input has no spatial axes (the
 * dense kernel engine's case). */
bool dw_net_is_fc(const dw_net *net);

/* The k-th dense layer (0-based among the dense layers), or NULL. */
const dw_net_layer *dw_net_dense(const dw_net *net, size_t k);

/* The fully connected view of a net, what every computation walks today. */
typedef struct dw_net_fc {
    int depth;          /* activations */
    const dw_act *act;  /* the one activation (NULL when depth is 0) */
    bool readout;       /* the list ends with a dense layer */
    size_t n_dense;     /* depth + readout */
} dw_net_fc;

/* What a computation takes of the weights: a random network (it draws them or integrates over them), given
 * weights (dw_net_set_given), or either. */
typedef enum { DW_NET_RANDOM = 0, DW_NET_GIVEN = 1, DW_NET_EITHER = -1 } dw_net_weights;

/* Check that `net` is Dense, Act, ..., Dense[, Act] with one activation for every Act layer (need_readout: 1 the list
 * must end with a dense layer, 0 it must end with an activation, -1 either), not empty, with weights as `weights`
 * asks; the message names `who` and the offending layer (one wording of every refusal for all computations). */
dw_status dw_net_fc_view(const dw_net *net, const char *who, int need_readout, dw_net_weights weights,
                         dw_net_fc *fc);

/* The dense layers' values as arrays of n_dense entries (out has n_dense entries):
 * which 0: weight_var, 1: bias_var, 2: width. */
void dw_net_dense_values(const dw_net *net, int which, double *out);

#endif
