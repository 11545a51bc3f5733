/* The network object's architecture layers (Neural Tangents' stax; theory.md 7): convolutions, pools,
 * normalisation, branches. One validating setter per layer kind; the kernels module walks the list. */
#include "net/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dw_status need(dw_net *net, const char *who)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (net->given) return dw_fail(DW_ERR_INVALID, "%s: a network with given weights takes no more layers", who);
    return DW_OK;
}

const char *dw_net_kind_name(dw_layer_kind k)
{
    static const char *const name[] = {"dense",  "activation", "conv",     "pool",   "global pool",
                                       "flatten", "layernorm", "dropout",  "scale",  "identity",
                                       "fanout", "parallel",   "fanin_sum"};
    return (unsigned)k < sizeof name / sizeof *name ? name[k] : "unknown";
}

void dw_net_layer_free(dw_net_layer *l)
{
    if (l->kind == DW_LAYER_PARALLEL && l->branch) {
        for (size_t k = 0; k < l->n; k++) dw_net_clear(l->branch[k]);
        free(l->branch);
    }
    l->branch = NULL;
}

dw_status dw_net_own_act(dw_net *net, dw_act *act)
{
    dw_act **o = realloc(net->owned, (net->n_owned + 1) * sizeof *o);
    if (!o) {
        dw_act_clear(act);
        return dw_fail(DW_ERR_NOMEM, "out of memory (network activations)");
    }
    net->owned = o;
    net->owned[net->n_owned++] = act;
    return DW_OK;
}

bool dw_net_is_fc(const dw_net *net)
{
    if (!net || net->in_rank > 1) return false;
    for (size_t i = 0; i < net->n; i++) {
        const dw_net_layer *l = &net->layer[i];
        if (l->kind != (i % 2 ? DW_LAYER_ACT : DW_LAYER_DENSE)) return false;
        if (l->kind == DW_LAYER_ACT && l->act != net->layer[1].act) return false;
        if (l->kind != DW_LAYER_DENSE) continue;
        /* the fully connected engine reads bias_var 0 as no bias: a zero-variance bias that is there (NT's
         * b_std=0, whose standard-parameterisation NTK counts it) takes the architecture engine */
        if (l->param || (l->bias_var == 0.0 && !l->no_bias && net->param == DW_PARAM_STANDARD)) return false;
    }
    return true;
}

dw_status dw_net_set_input_shape(dw_net *net, size_t rank, const size_t *shape)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (rank < 1 || rank > DW_NET_SPATIAL_MAX + 1)
        return dw_fail(DW_ERR_INVALID, "input_shape: %zu axes (1 to %d: spatial sizes, then the channels)", rank,
                       DW_NET_SPATIAL_MAX + 1);
    if (!shape) return dw_fail(DW_ERR_INVALID, "input_shape: NULL shape");
    for (size_t k = 0; k < rank; k++)
        if (shape[k] == 0) return dw_fail(DW_ERR_INVALID, "input_shape: axis %zu has size 0", k + 1);
    net->in_rank = rank;
    memcpy(net->in_shape, shape, rank * sizeof *shape);
    return DW_OK;
}

static dw_status check_window(const char *who, const char *what, size_t rank, const size_t *w, const size_t *st)
{
    if (rank < 1 || rank > DW_NET_SPATIAL_MAX)
        return dw_fail(DW_ERR_INVALID, "%s: %zu spatial axes (1 to %d)", who, rank, DW_NET_SPATIAL_MAX);
    if (!w) return dw_fail(DW_ERR_INVALID, "%s: NULL %s", who, what);
    for (size_t k = 0; k < rank; k++) {
        if (w[k] == 0) return dw_fail(DW_ERR_INVALID, "%s: %s size %zu is 0", who, what, k + 1);
        if (st && st[k] == 0) return dw_fail(DW_ERR_INVALID, "%s: stride %zu is 0", who, k + 1);
    }
    return DW_OK;
}

static dw_status check_padding(const char *who, dw_padding p)
{
    if (p != DW_PAD_VALID && p != DW_PAD_SAME && p != DW_PAD_CIRCULAR)
        return dw_fail(DW_ERR_INVALID, "%s: unknown padding %d", who, (int)p);
    return DW_OK;
}

static dw_status check_vars(const char *who, double wv, double bv)
{
    if (!isfinite(wv) || wv < 0)
        return dw_fail(DW_ERR_INVALID, "%s: weight_var (%g) must be non-negative and finite", who, wv);
    if (!isfinite(bv) || bv < 0)
        return dw_fail(DW_ERR_INVALID, "%s: bias_var (%g) must be non-negative and finite", who, bv);
    return DW_OK;
}

dw_status dw_net_add_conv(dw_net *net, size_t rank, const size_t *filter, const size_t *strides, dw_padding padding,
                          double weight_var, double bias_var, size_t out_chan)
{
    dw_status s = need(net, "conv");
    if (s || (s = check_window("conv", "filter", rank, filter, strides)) || (s = check_padding("conv", padding)) ||
        (s = check_vars("conv", weight_var, bias_var)))
        return s;
    dw_net_layer l = {.kind = DW_LAYER_CONV, .weight_var = weight_var, .bias_var = bias_var,
                      .width = (double)out_chan, .rank = rank, .padding = padding};
    for (size_t k = 0; k < rank; k++) {
        l.window[k] = filter[k];
        l.stride[k] = strides ? strides[k] : 1;
    }
    return dw_net_append(net, &l);
}

static dw_net_layer *last_weight_layer(dw_net *net, const char *who, dw_status *s)
{
    *s = need(net, who);
    if (*s) return NULL;
    if (!net->n || (net->layer[net->n - 1].kind != DW_LAYER_DENSE && net->layer[net->n - 1].kind != DW_LAYER_CONV)) {
        *s = dw_fail(DW_ERR_INVALID, "%s: the last layer is not a dense or conv layer", who);
        return NULL;
    }
    return &net->layer[net->n - 1];
}

dw_status dw_net_set_last_param(dw_net *net, dw_param param)
{
    dw_status s;
    dw_net_layer *l = last_weight_layer(net, "parameterization", &s);
    if (!l) return s;
    if (param != DW_PARAM_NTK && param != DW_PARAM_STANDARD)
        return dw_fail(DW_ERR_INVALID, "parameterization: unknown parameterisation %d", (int)param);
    l->param = 1 + (int)param;
    return DW_OK;
}

dw_status dw_net_set_last_no_bias(dw_net *net)
{
    dw_status s;
    dw_net_layer *l = last_weight_layer(net, "b_std", &s);
    if (!l) return s;
    l->no_bias = true;
    l->bias_var = 0.0;
    return DW_OK;
}

dw_status dw_net_add_pool(dw_net *net, bool average, size_t rank, const size_t *window, const size_t *strides,
                          dw_padding padding, bool normalize_edges)
{
    const char *who = average ? "avgpool" : "sumpool";
    dw_status s = need(net, who);
    if (s || (s = check_window(who, "window", rank, window, strides)) || (s = check_padding(who, padding))) return s;
    dw_net_layer l = {.kind = DW_LAYER_POOL, .rank = rank, .padding = padding, .average = average,
                      .normalize_edges = average && normalize_edges};
    for (size_t k = 0; k < rank; k++) {
        l.window[k] = window[k];
        l.stride[k] = strides ? strides[k] : 1;
    }
    return dw_net_append(net, &l);
}

dw_status dw_net_add_global_pool(dw_net *net, bool average)
{
    dw_status s = need(net, average ? "global_avg_pool" : "global_sum_pool");
    if (s) return s;
    dw_net_layer l = {.kind = DW_LAYER_GLOBAL_POOL, .average = average};
    return dw_net_append(net, &l);
}

static dw_status add_simple(dw_net *net, dw_layer_kind kind)
{
    dw_status s = need(net, dw_net_kind_name(kind));
    if (s) return s;
    dw_net_layer l = {.kind = kind};
    return dw_net_append(net, &l);
}

dw_status dw_net_add_flatten(dw_net *net) { return add_simple(net, DW_LAYER_FLATTEN); }
dw_status dw_net_add_identity(dw_net *net) { return add_simple(net, DW_LAYER_IDENTITY); }
dw_status dw_net_add_fanin_sum(dw_net *net) { return add_simple(net, DW_LAYER_FANIN_SUM); }

dw_status dw_net_add_layernorm(dw_net *net, bool spatial, double eps)
{
    dw_status s = need(net, "layernorm");
    if (s) return s;
    if (!isfinite(eps) || eps < 0) return dw_fail(DW_ERR_INVALID, "layernorm: eps (%g) must be >= 0 and finite", eps);
    dw_net_layer l = {.kind = DW_LAYER_LAYERNORM, .spatial = spatial, .eps = eps};
    return dw_net_append(net, &l);
}

dw_status dw_net_add_dropout(dw_net *net, double rate, bool train)
{
    dw_status s = need(net, "dropout");
    if (s) return s;
    if (!(rate > 0 && rate <= 1)) return dw_fail(DW_ERR_INVALID, "dropout: rate (%g) must be in (0, 1]", rate);
    dw_net_layer l = {.kind = DW_LAYER_DROPOUT, .rate = rate, .train = train};
    return dw_net_append(net, &l);
}

dw_status dw_net_add_scale(dw_net *net, double c)
{
    dw_status s = need(net, "scale");
    if (s) return s;
    if (!isfinite(c)) return dw_fail(DW_ERR_INVALID, "scale: factor (%g) must be finite", c);
    dw_net_layer l = {.kind = DW_LAYER_SCALE, .c = c};
    return dw_net_append(net, &l);
}

dw_status dw_net_add_fanout(dw_net *net, size_t n)
{
    dw_status s = need(net, "fanout");
    if (s) return s;
    if (n < 1) return dw_fail(DW_ERR_INVALID, "fanout: the number of copies must be >= 1");
    dw_net_layer l = {.kind = DW_LAYER_FANOUT, .n = n};
    return dw_net_append(net, &l);
}

dw_status dw_net_copy(dw_net **out, const dw_net *src)
{
    dw_status s = dw_net_init(out);
    if (s) return s;
    dw_net *c = *out;
    c->param = src->param;
    c->law = src->law;
    c->gaussian_input_layer = src->gaussian_input_layer;
    c->given = src->given;
    c->in_rank = src->in_rank;
    memcpy(c->in_shape, src->in_shape, sizeof c->in_shape);
    for (size_t i = 0; i < src->n; i++) {
        dw_net_layer l = src->layer[i];
        if (l.kind == DW_LAYER_PARALLEL) {
            dw_net **b = dw_calloc(l.n, sizeof *b, "network branches");
            s = b ? DW_OK : DW_ERR_NOMEM;
            for (size_t k = 0; !s && k < l.n; k++) s = dw_net_copy(&b[k], src->layer[i].branch[k]);
            l.branch = b;
            if (s) {
                dw_net_layer_free(&l);
                break;
            }
        }
        if ((s = dw_net_append(c, &l))) {
            dw_net_layer_free(&l);
            break;
        }
    }
    /* activations parsed into src stay owned by src: the copy borrows them like any other */
    if (s) {
        dw_net_clear(c);
        *out = NULL;
    }
    return s;
}

dw_status dw_net_add_parallel(dw_net *net, size_t n, const dw_net *const *branches)
{
    dw_status s = need(net, "parallel");
    if (s) return s;
    if (n < 1) return dw_fail(DW_ERR_INVALID, "parallel: at least one branch is needed");
    if (!branches) return dw_fail(DW_ERR_INVALID, "parallel: NULL branches");
    for (size_t k = 0; k < n; k++) {
        if (!branches[k]) return dw_fail(DW_ERR_INVALID, "parallel: branch %zu is NULL", k + 1);
        if (branches[k]->given) return dw_fail(DW_ERR_INVALID, "parallel: branch %zu has given weights", k + 1);
        if (branches[k] == net) return dw_fail(DW_ERR_INVALID, "parallel: branch %zu is the network itself", k + 1);
    }
    dw_net_layer l = {.kind = DW_LAYER_PARALLEL, .n = n};
    l.branch = dw_calloc(n, sizeof *l.branch, "network branches");
    if (!l.branch) return DW_ERR_NOMEM;
    for (size_t k = 0; k < n && !s; k++) s = dw_net_copy(&l.branch[k], branches[k]);
    if (!s) s = dw_net_append(net, &l);
    if (s) dw_net_layer_free(&l);
    return s;
}

dw_status dw_net_add_residual(dw_net *net, const dw_net *branch, double skip_scale, double branch_scale)
{
    dw_status s = need(net, "residual");
    if (s) return s;
    if (!branch) return dw_fail(DW_ERR_INVALID, "residual: NULL branch");
    if (!isfinite(skip_scale) || !isfinite(branch_scale))
        return dw_fail(DW_ERR_INVALID, "residual: skip_scale and branch_scale must be finite");
    dw_net *b[2] = {NULL, NULL};
    const size_t n0 = net->n;
    if (!(s = dw_net_copy(&b[0], branch)) && !(s = dw_net_add_scale(b[0], branch_scale)) &&
        !(s = dw_net_init(&b[1])) && !(s = dw_net_add_scale(b[1], skip_scale)) && !(s = dw_net_add_fanout(net, 2)) &&
        !(s = dw_net_add_parallel(net, 2, (const dw_net *const *)b)))
        s = dw_net_add_fanin_sum(net);
    dw_net_clear(b[0]);
    dw_net_clear(b[1]);
    while (s && net->n > n0) dw_net_layer_free(&net->layer[--net->n]); /* all or nothing */
    return s;
}
