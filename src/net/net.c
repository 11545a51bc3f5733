/* The network object: a list of layers with validating setters (theory.md 1.1). One place validates a network's
 * description; the computations only check that its shape is one they support (dw_net_fc_view). */
#include "net/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_net_init(dw_net **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "net: NULL output");
    *out = NULL;
    dw_net *net = dw_calloc(1, sizeof *net, "network");
    if (!net) return DW_ERR_NOMEM;
    net->param = DW_PARAM_NTK;
    net->law.kind = DW_LAW_GAUSSIAN;
    *out = net;
    return DW_OK;
}

static void clear_layers(dw_net *net)
{
    for (size_t i = 0; i < net->n; i++) dw_net_layer_free(&net->layer[i]);
    net->n = 0;
}

void dw_net_clear(dw_net *net)
{
    if (!net) return;
    clear_layers(net);
    free(net->layer);
    free(net->desc);
    free(net->spec);
    for (size_t i = 0; i < net->n_owned; i++) dw_act_clear(net->owned[i]);
    free(net->owned);
    free(net);
}

static dw_status need_net(const dw_net *net)
{
    return net ? DW_OK : dw_fail(DW_ERR_INVALID, "net: NULL network");
}

static dw_status reserve(dw_net *net, size_t more)
{
    if (net->n + more <= net->cap) return DW_OK;
    size_t cap = net->cap ? 2 * net->cap : 8;
    while (cap < net->n + more) cap *= 2;
    dw_net_layer *l = dw_alloc(cap, sizeof *l, "network layers");
    if (!l) return DW_ERR_NOMEM;
    if (net->n) memcpy(l, net->layer, net->n * sizeof *l);
    free(net->layer);
    net->layer = l;
    net->cap = cap;
    return DW_OK;
}

static dw_status check_var(const char *what, double v, size_t k)
{
    if (!isfinite(v) || v < 0)
        return dw_fail(DW_ERR_INVALID, "%s: value %zu (%g) must be non-negative and finite", what, k + 1, v);
    return DW_OK;
}

static dw_status check_width(const char *what, double v, size_t k)
{
    if (!isfinite(v) || v <= 0)
        return dw_fail(DW_ERR_INVALID, "%s: value %zu (%g) must be positive and finite", what, k + 1, v);
    return DW_OK;
}

dw_status dw_net_append(dw_net *net, const dw_net_layer *l)
{
    dw_status s = reserve(net, 1);
    if (s) return s;
    net->layer[net->n++] = *l;
    return DW_OK;
}

dw_status dw_net_add_dense(dw_net *net, double weight_var, double bias_var, double width)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (net->given) return dw_fail(DW_ERR_INVALID, "net: a network with given weights takes no random layers");
    size_t k = dw_net_dense_layers(net);
    if ((s = check_var("weight_var", weight_var, k)) || (s = check_var("bias_var", bias_var, k))) return s;
    if (width != 0 && (s = check_width("width", width, k))) return s;
    dw_net_layer l = {.kind = DW_LAYER_DENSE, .weight_var = weight_var, .bias_var = bias_var, .width = width};
    return dw_net_append(net, &l);
}

dw_status dw_net_add_act(dw_net *net, const dw_act *act)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (!act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (net->given) return dw_fail(DW_ERR_INVALID, "net: a network with given weights takes no more layers");
    dw_net_layer l = {.kind = DW_LAYER_ACT, .act = act};
    return dw_net_append(net, &l);
}

dw_status dw_net_set_fc(dw_net *net, int depth, const dw_act *act, bool readout)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (depth < 0) return dw_fail(DW_ERR_INVALID, "depth: must be >= 0 (got %d)", depth);
    if (depth > DW_NET_DEPTH_MAX)
        return dw_fail(DW_ERR_INVALID, "depth: %d is above the maximum %d", depth, DW_NET_DEPTH_MAX);
    if (!readout && depth == 0)
        return dw_fail(DW_ERR_INVALID, "depth: must be >= 1 for a network without a readout (got 0)");
    if (depth > 0 && !act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    size_t n = 2 * (size_t)depth + (readout ? 1 : 0);
    clear_layers(net);
    net->given = false;
    if ((s = reserve(net, n))) return s;
    for (int l = 0; l < depth; l++) {
        net->layer[net->n++] = (dw_net_layer){.kind = DW_LAYER_DENSE, .weight_var = 1.0, .no_bias = true};
        net->layer[net->n++] = (dw_net_layer){.kind = DW_LAYER_ACT, .act = act};
    }
    if (readout) net->layer[net->n++] = (dw_net_layer){.kind = DW_LAYER_DENSE, .weight_var = 1.0, .width = 1.0, .no_bias = true};
    return DW_OK;
}

size_t dw_net_layers(const dw_net *net) { return net ? net->n : 0; }

dw_layer_kind dw_net_layer_kind(const dw_net *net, size_t i)
{
    return net && i < net->n ? net->layer[i].kind : DW_LAYER_DENSE;
}

size_t dw_net_dense_layers(const dw_net *net)
{
    size_t k = 0;
    for (size_t i = 0; net && i < net->n; i++) k += net->layer[i].kind == DW_LAYER_DENSE;
    return k;
}

int dw_net_depth(const dw_net *net)
{
    int k = 0;
    for (size_t i = 0; net && i < net->n; i++) k += net->layer[i].kind == DW_LAYER_ACT;
    return k;
}

bool dw_net_has_readout(const dw_net *net) { return net && net->n && net->layer[net->n - 1].kind == DW_LAYER_DENSE; }
bool dw_net_is_given(const dw_net *net) { return net && net->given; }
dw_param dw_net_param(const dw_net *net) { return net ? net->param : DW_PARAM_NTK; }

dw_law dw_net_law(const dw_net *net)
{
    dw_law g = {DW_LAW_GAUSSIAN, 0.0};
    return net ? net->law : g;
}

const char *dw_net_law_format(const dw_net *net, char *buf, size_t cap)
{
    const dw_law law = dw_net_law(net);
    return dw_law_format(&law, buf, cap);
}

const char *dw_net_law_warning(const dw_net *net)
{
    const dw_law law = dw_net_law(net);
    return dw_law_warning(&law);
}

const dw_net_layer *dw_net_dense(const dw_net *net, size_t k)
{
    for (size_t i = 0; net && i < net->n; i++)
        if (net->layer[i].kind == DW_LAYER_DENSE && k-- == 0) return &net->layer[i];
    return NULL;
}

/* Per-dense-layer setters share one length rule: 1 value for every layer, or one per layer (of `count`). */
static dw_status check_count(const char *what, size_t n, const void *v, size_t count, const char *per)
{
    if (count == 0) return dw_fail(DW_ERR_INVALID, "%s: the network has no %s layers (build its layers first)", what, per);
    if (n != 1 && n != count)
        return dw_fail(DW_ERR_INVALID, "%s: expected 1 or %zu per-layer values, got %zu", what, count, n);
    if (!v) return dw_fail(DW_ERR_INVALID, "%s: NULL values", what);
    return DW_OK;
}

static dw_status set_var(dw_net *net, size_t n, const double *v, int bias)
{
    const char *what = bias ? "bias_var" : "weight_var";
    dw_status s = need_net(net);
    if (s) return s;
    size_t count = dw_net_dense_layers(net);
    if ((s = check_count(what, n, v, count, "dense"))) return s;
    for (size_t k = 0; k < n; k++)
        if ((s = check_var(what, v[k], k))) return s;
    size_t k = 0;
    for (size_t i = 0; i < net->n; i++) {
        if (net->layer[i].kind != DW_LAYER_DENSE) continue;
        double x = v[n == 1 ? 0 : k++];
        if (bias) { /* the per-layer values' 0 is NT's b_std=None: no bias (dw_net_set_bias_var) */
            net->layer[i].bias_var = x;
            net->layer[i].no_bias = x == 0.0;
        }
        else
            net->layer[i].weight_var = x;
    }
    return DW_OK;
}

dw_status dw_net_set_weight_var(dw_net *net, size_t n, const double *v) { return set_var(net, n, v, 0); }
dw_status dw_net_set_bias_var(dw_net *net, size_t n, const double *v) { return set_var(net, n, v, 1); }

dw_status dw_net_set_widths(dw_net *net, size_t n, const double *width)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (net->given) return dw_fail(DW_ERR_INVALID, "width: a network with given weights has the widths of its weights");
    size_t count = dw_net_dense_layers(net) - (dw_net_has_readout(net) ? 1 : 0);
    if ((s = check_count("width", n, width, count, "hidden dense"))) return s;
    for (size_t k = 0; k < n; k++)
        if ((s = check_width("width", width[k], k))) return s;
    size_t k = 0;
    for (size_t i = 0; i + (dw_net_has_readout(net) ? 1 : 0) < net->n; i++) {
        if (net->layer[i].kind != DW_LAYER_DENSE) continue;
        net->layer[i].width = width[n == 1 ? 0 : k++];
    }
    return DW_OK;
}

dw_status dw_net_set_out_dim(dw_net *net, size_t out_dim)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (!dw_net_has_readout(net)) return dw_fail(DW_ERR_INVALID, "out_dim: the network has no readout layer");
    if (net->given) return dw_fail(DW_ERR_INVALID, "out_dim: a network with given weights has the widths of its weights");
    if (out_dim < 1) return dw_fail(DW_ERR_INVALID, "out_dim: must be >= 1 (got %zu)", out_dim);
    net->layer[net->n - 1].width = (double)out_dim;
    return DW_OK;
}

dw_status dw_net_set_param(dw_net *net, dw_param param)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (param != DW_PARAM_NTK && param != DW_PARAM_STANDARD)
        return dw_fail(DW_ERR_INVALID, "param: unknown parameterisation %d", (int)param);
    net->param = param;
    return DW_OK;
}

dw_status dw_net_set_law(dw_net *net, const char *spec)
{
    dw_status s = need_net(net);
    if (s) return s;
    dw_law law;
    if ((s = dw_law_parse(&law, spec))) return s;
    net->law = law;
    return DW_OK;
}

dw_status dw_net_set_gaussian_input_layer(dw_net *net, bool on)
{
    dw_status s = need_net(net);
    if (s) return s;
    net->gaussian_input_layer = on;
    return DW_OK;
}

dw_status dw_net_set_given(dw_net *net, const dw_act *act, size_t n_dense, const size_t *widths,
                           const double *const *W, const double *const *b, bool readout)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (n_dense < 1) return dw_fail(DW_ERR_INVALID, "weights: at least one layer is needed");
    if (n_dense > DW_NET_DEPTH_MAX)
        return dw_fail(DW_ERR_INVALID, "weights: %zu layers is above the maximum %d", n_dense, DW_NET_DEPTH_MAX);
    if (!widths || !W) return dw_fail(DW_ERR_INVALID, "weights: NULL widths or weights");
    if (!act && (n_dense > 1 || !readout)) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    for (size_t k = 0; k <= n_dense; k++)
        if (widths[k] == 0) return dw_fail(DW_ERR_INVALID, "weights: width %zu is 0", k);
    for (size_t k = 0; k < n_dense; k++)
        if (!W[k]) return dw_fail(DW_ERR_INVALID, "weights: matrix %zu is NULL", k + 1);
    size_t n = readout ? 2 * n_dense - 1 : 2 * n_dense;
    clear_layers(net);
    if ((s = reserve(net, n))) return s;
    for (size_t k = 0; k < n_dense; k++) {
        net->layer[net->n++] = (dw_net_layer){.kind = DW_LAYER_DENSE, .weight_var = 1.0, .bias_var = 1.0,
                                              .width = (double)widths[k + 1], .W = W[k], .b = b ? b[k] : NULL,
                                              .rows = widths[k + 1], .cols = widths[k]};
        if (k + 1 < n_dense || !readout) net->layer[net->n++] = (dw_net_layer){.kind = DW_LAYER_ACT, .act = act};
    }
    net->given = true;
    return DW_OK;
}

dw_status dw_net_fc_view(const dw_net *net, const char *who, int need_readout, dw_net_weights weights,
                         dw_net_fc *fc)
{
    dw_status s = need_net(net);
    if (s) return s;
    if (!net->n) return dw_fail(DW_ERR_INVALID, "%s: the network has no layers", who);
    if (net->in_rank > 1)
        return dw_fail(DW_ERR_INVALID, "%s: the input has spatial axes: this computation takes vectors only", who);
    memset(fc, 0, sizeof *fc);
    for (size_t i = 0; i < net->n; i++) {
        const dw_net_layer *l = &net->layer[i];
        dw_layer_kind want = i % 2 == 0 ? DW_LAYER_DENSE : DW_LAYER_ACT;
        if (l->kind != DW_LAYER_DENSE && l->kind != DW_LAYER_ACT)
            return dw_fail(DW_ERR_INVALID,
                           "%s: layer %zu is a %s layer: this computation takes fully connected networks only "
                           "(dense and activation layers)",
                           who, i + 1, dw_net_kind_name(l->kind));
        if (l->kind != want)
            return dw_fail(DW_ERR_INVALID,
                           "%s: layer %zu is %s where a fully connected network has %s (dense and activation "
                           "layers alternate, starting with a dense one)",
                           who, i + 1, l->kind == DW_LAYER_DENSE ? "dense" : "an activation",
                           want == DW_LAYER_DENSE ? "a dense layer" : "an activation");
        /* no_bias (NT's b_std=None) is bias_var 0 here: this engine reads a zero bias variance as no bias */
        if (l->kind == DW_LAYER_DENSE && l->param)
            return dw_fail(DW_ERR_INVALID, "%s: layer %zu has its own parameterization: this computation takes the "
                           "network's parameterization in every layer", who, i + 1);
        if (l->kind == DW_LAYER_ACT) {
            if (!fc->act) fc->act = l->act;
            if (l->act != fc->act)
                return dw_fail(DW_ERR_INVALID, "%s: layer %zu's activation differs from layer 2's (one activation for "
                               "every layer is supported)", who, i + 1);
            fc->depth++;
        } else {
            fc->n_dense++;
        }
    }
    fc->readout = net->layer[net->n - 1].kind == DW_LAYER_DENSE;
    if (need_readout == 1 && !fc->readout)
        return dw_fail(DW_ERR_INVALID, "%s: the network must end with a dense (readout) layer", who);
    if (need_readout == 0 && fc->readout)
        return dw_fail(DW_ERR_INVALID, "%s: the network must end with an activation (no readout layer)", who);
    if (weights == DW_NET_RANDOM && net->given)
        return dw_fail(DW_ERR_INVALID, "%s: the network has given weights; this computation takes a random network "
                       "(build it with dw_net_set_fc)", who);
    if (weights == DW_NET_GIVEN && !net->given)
        return dw_fail(DW_ERR_INVALID, "%s: the network has no given weights (build it with dw_net_set_given)", who);
    return DW_OK;
}

void dw_net_dense_values(const dw_net *net, int which, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < net->n; i++) {
        const dw_net_layer *l = &net->layer[i];
        if (l->kind != DW_LAYER_DENSE) continue;
        out[k++] = which == 0 ? l->weight_var : which == 1 ? l->bias_var : l->width;
    }
}

/* One layer's text into buf (cap may be 0: returns the length only). */
static size_t describe_layer(const dw_net_layer *l, const char *sep, char *buf, size_t cap)
{
    int r;
    if (l->kind == DW_LAYER_ACT)
        r = snprintf(buf, cap, "%s%s", sep, dw_act_name(l->act));
    else if (l->kind != DW_LAYER_DENSE)
        r = snprintf(buf, cap, "%s%s", sep, dw_net_kind_name(l->kind));
    else if (l->W)
        r = snprintf(buf, cap, "%sdense[%zux%zu%s]", sep, l->rows, l->cols, l->b ? "+b" : "");
    else
        r = snprintf(buf, cap, "%sdense(%.17g, %.17g)", sep, l->weight_var, l->bias_var);
    return r > 0 ? (size_t)r : 0;
}

const char *dw_net_describe(dw_net *net)
{
    if (!net) return "";
    size_t cap = 1;
    for (size_t i = 0; i < net->n; i++) cap += describe_layer(&net->layer[i], i ? " > " : "", NULL, 0);
    char *buf = malloc(cap);
    if (!buf) return "(out of memory)";
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < net->n; i++) len += describe_layer(&net->layer[i], i ? " > " : "", buf + len, cap - len);
    free(net->desc);
    net->desc = buf;
    return buf;
}
