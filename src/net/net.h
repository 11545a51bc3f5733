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
} dw_net_layer;

struct dw_net {
    dw_net_layer *layer;
    size_t n, cap;
    dw_param param;
    dw_law law;
    bool gaussian_input_layer;
    bool given;
    char *desc; /* dw_net_describe's string */
};

/* The k-th dense layer (0-based among the dense layers), or NULL. */
const dw_net_layer *dw_net_dense(const dw_net *net, size_t k);

/* The fully connected view of a net, what every computation walks today. */
typedef struct dw_net_fc {
    int depth;          /* activations */
    const dw_act *act;  /* the one activation (NULL when depth is 0) */
    bool readout;       /* the list ends with a dense layer */
    size_t n_dense;     /* depth + readout */
} dw_net_fc;

/* Check that `net` is Dense, Act, ..., Dense[, Act] with one activation for every Act layer (need_readout: 1 the list
 * must end with a dense layer, 0 it must end with an activation, -1 either), not empty; the message names `who` and
 * the offending layer. */
dw_status dw_net_fc_view(const dw_net *net, const char *who, int need_readout, dw_net_fc *fc);

/* The dense layers' values as arrays of n_dense entries (out has n_dense entries):
 * which 0: weight_var, 1: bias_var, 2: width. */
void dw_net_dense_values(const dw_net *net, int which, double *out);

#endif
