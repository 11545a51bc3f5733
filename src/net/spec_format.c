/* dw_net_spec: the canonical one-line spelling of a network's layers (docs/architectures.md, "The text spelling"),
 * which dw_net_parse reads back to the same layers bit for bit: every argument explicit, variances as W_var / b_var
 * (W_std would square a rounded root), numbers in their shortest spelling that reads back to the same double.
 * A residual block is the fanout(2); parallel(...); faninsum it is made of. */
#include "net/net.h"
#include "net/spec.h"

#include "core/sbuf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest %g spelling that strtod reads back to the same double, sign of zero included. */
static void put_number(dw_sbuf *b, double v)
{
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        double r = strtod(t, NULL);
        if (r == v && signbit(r) == signbit(v)) break;
    }
    dw_sbuf_puts(b, t);
}

static void put_shape(dw_sbuf *b, size_t rank, const size_t *v)
{
    for (size_t k = 0; k < rank; k++) dw_sbuf_printf(b, "%s%zu", k ? "x" : "", v[k]);
}

static const char *padding_name(dw_padding p)
{
    return p == DW_PAD_SAME ? "same" : p == DW_PAD_CIRCULAR ? "circular" : "valid";
}

/* The weight layers' shared tail: W_var, b_var or b_std=none, then the parameterisation when the layer has its own
 * (absent: the net's, dw_net_set_param). */
static void put_affine(dw_sbuf *b, const dw_net_layer *l)
{
    dw_sbuf_puts(b, "W_var=");
    put_number(b, l->weight_var);
    if (l->no_bias) {
        dw_sbuf_puts(b, ", b_std=none");
    } else {
        dw_sbuf_puts(b, ", b_var=");
        put_number(b, l->bias_var);
    }
}

static void put_param(dw_sbuf *b, const dw_net_layer *l)
{
    if (l->param) dw_sbuf_printf(b, ", parameterization=%s", l->param - 1 == DW_PARAM_STANDARD ? "standard" : "ntk");
}

/* An activation: its canonical name, or act(NAME) where the name's leading word reads as a layer (identity). */
static void put_act(dw_sbuf *b, const dw_act *act)
{
    const char *name = dw_act_name(act);
    size_t n = 0;
    while (isalnum((unsigned char)name[n]) || name[n] == '_') n++;
    if (dw_net_spec_is_layer_word(name, n))
        dw_sbuf_printf(b, "act(%s)", name);
    else
        dw_sbuf_puts(b, name);
}

static dw_status put_net(dw_sbuf *b, const dw_net *net, size_t depth);

static dw_status put_layer(dw_sbuf *b, const dw_net_layer *l, size_t depth)
{
    switch (l->kind) {
    case DW_LAYER_DENSE:
        if (l->W) return dw_fail(DW_ERR_INVALID, "net: a network with given weights has no text spelling");
        dw_sbuf_puts(b, "dense(");
        put_affine(b, l);
        if (l->width > 0) {
            dw_sbuf_puts(b, ", out_dim=");
            put_number(b, l->width);
        }
        put_param(b, l);
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_ACT:
        put_act(b, l->act);
        break;
    case DW_LAYER_CONV:
        dw_sbuf_puts(b, "conv(");
        put_shape(b, l->rank, l->window);
        dw_sbuf_printf(b, ", %s, strides=", padding_name(l->padding));
        put_shape(b, l->rank, l->stride);
        dw_sbuf_puts(b, ", ");
        put_affine(b, l);
        if (l->width > 0) dw_sbuf_printf(b, ", out_chan=%.0f", l->width);
        put_param(b, l);
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_POOL:
        dw_sbuf_puts(b, l->average ? "avgpool(" : "sumpool(");
        put_shape(b, l->rank, l->window);
        dw_sbuf_puts(b, ", strides=");
        put_shape(b, l->rank, l->stride);
        dw_sbuf_printf(b, ", padding=%s", padding_name(l->padding));
        if (l->average) dw_sbuf_printf(b, ", normalize_edges=%s", l->normalize_edges ? "true" : "false");
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_GLOBAL_POOL:
        dw_sbuf_puts(b, l->average ? "globalavgpool" : "globalsumpool");
        break;
    case DW_LAYER_FLATTEN:
        dw_sbuf_puts(b, "flatten");
        break;
    case DW_LAYER_LAYERNORM:
        dw_sbuf_printf(b, "layernorm(axis=%s, eps=", l->spatial ? "all" : "channels");
        put_number(b, l->eps);
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_DROPOUT:
        dw_sbuf_puts(b, "dropout(");
        put_number(b, l->rate);
        dw_sbuf_printf(b, ", mode=%s)", l->train ? "train" : "test");
        break;
    case DW_LAYER_SCALE:
        dw_sbuf_puts(b, "scale(");
        put_number(b, l->c);
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_IDENTITY:
        dw_sbuf_puts(b, "identity");
        break;
    case DW_LAYER_FANOUT:
        dw_sbuf_printf(b, "fanout(%zu)", l->n);
        break;
    case DW_LAYER_PARALLEL:
        dw_sbuf_puts(b, "parallel(");
        for (size_t k = 0; k < l->n; k++) {
            if (!l->branch[k]->n)
                return dw_fail(DW_ERR_INVALID, "net: parallel branch %zu has no layers: an empty branch has no text "
                               "spelling (identity is the same map)", k + 1);
            if (k) dw_sbuf_puts(b, " | ");
            dw_status s = put_net(b, l->branch[k], depth + 1);
            if (s) return s;
        }
        dw_sbuf_puts(b, ")");
        break;
    case DW_LAYER_FANIN_SUM:
        dw_sbuf_puts(b, "faninsum");
        break;
    default:
        return dw_fail(DW_ERR_INTERNAL, "net: layer kind %d has no text spelling", (int)l->kind);
    }
    return DW_OK;
}

static dw_status put_net(dw_sbuf *b, const dw_net *net, size_t depth)
{
    for (size_t i = 0; i < net->n; i++) {
        if (i) dw_sbuf_puts(b, "; ");
        dw_status s = put_layer(b, &net->layer[i], depth);
        if (s) return s;
    }
    return DW_OK;
}

dw_status dw_net_spec_text(const dw_net *net, char **out)
{
    *out = NULL;
    dw_sbuf b = {0};
    dw_status s = put_net(&b, net, 0);
    if (!s && !b.failed && !b.s) { /* no layers: the empty string */
        b.s = malloc(1);
        if (b.s) b.s[0] = '\0';
        else b.failed = 1;
    }
    if (s || b.failed) {
        free(b.s);
        return s ? s : dw_fail(DW_ERR_NOMEM, "out of memory (network spelling)");
    }
    *out = b.s;
    return DW_OK;
}

const char *dw_net_spec(dw_net *net)
{
    if (!net) {
        dw_fail(DW_ERR_INVALID, "net: NULL network");
        return NULL;
    }
    char *t;
    if (dw_net_spec_text(net, &t)) return NULL;
    free(net->spec);
    net->spec = t;
    return net->spec;
}
