/* The finite-network compiler (arch.h): a dw_net's layer list into a straight-line program over values, with the
 * shapes, the window index maps of convolutions and pools (Neural Tangents' / XLA's geometry, the same as the
 * kernels' engine: VALID, SAME with the extra padding after, CIRCULAR wrapping) and the layout of theta. */
#include "sample/arch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS 64

typedef struct ctx {
    asamp_prog *p;
    const dw_net *root;
    const char *who;
    size_t layer_no;
    size_t all_width, default_width;
    const dw_net_layer *readout; /* the top level's last weight layer */
} ctx;

static dw_status fail(const ctx *c, const char *msg)
{
    return dw_fail(DW_ERR_INVALID, "%s: layer %zu: %s", c->who, c->layer_no, msg);
}

void dw_asamp_clear(asamp_prog *p)
{
    for (size_t i = 0; i < p->nop; i++) {
        free(p->op[i].ins);
        free(p->op[i].idx);
        free(p->op[i].coef);
    }
    free(p->op);
    free(p->val);
    memset(p, 0, sizeof *p);
}

/* A new value of the given shape at the end of the tape; returns its index or -1 (out of memory). */
static int new_val(ctx *c, const asamp_val *shape)
{
    asamp_prog *p = c->p;
    if (p->nval == p->vcap) {
        size_t cap = p->vcap ? 2 * p->vcap : 16;
        asamp_val *v = realloc(p->val, cap * sizeof *v);
        if (!v) return (void)dw_fail(DW_ERR_NOMEM, "out of memory (network program)"), -1;
        p->val = v;
        p->vcap = cap;
    }
    asamp_val *v = &p->val[p->nval];
    *v = *shape;
    v->off = p->tape;
    p->tape += v->P * v->C;
    if (v->P * v->C > p->maxv) p->maxv = v->P * v->C;
    return (int)p->nval++;
}

static asamp_op *push(ctx *c, asamp_opk k, const dw_net_layer *l, int in)
{
    asamp_prog *p = c->p;
    if (p->nop == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        asamp_op *o = realloc(p->op, cap * sizeof *o);
        if (!o) return (void)dw_fail(DW_ERR_NOMEM, "out of memory (network program)"), NULL;
        p->op = o;
        p->cap = cap;
    }
    asamp_op *op = &p->op[p->nop++];
    memset(op, 0, sizeof *op);
    op->k = k;
    op->l = l;
    op->in = in;
    op->out = -1;
    op->layer_no = c->layer_no;
    op->pb = SIZE_MAX;
    return op;
}

/* Output size and padding before, of one axis. */
static dw_status axis(const ctx *c, size_t n, size_t f, size_t s, dw_padding pad, size_t *out, size_t *lo)
{
    if (pad == DW_PAD_VALID) {
        if (f > n) return fail(c, "the window is larger than the input (padding valid)");
        *out = (n - f) / s + 1;
        *lo = 0;
        return DW_OK;
    }
    *out = (n + s - 1) / s;
    const size_t need = (*out - 1) * s + f;
    *lo = need > n ? (need - n) / 2 : 0;
    return DW_OK;
}

/* The window index map of a conv or pool op on value `in`: its output shape into *o, op->F, op->idx. */
static dw_status window_map(ctx *c, asamp_op *op, const dw_net_layer *l, const asamp_val *in, asamp_val *o)
{
    if ((int)l->rank != in->rank) {
        char msg[160];
        snprintf(msg, sizeof msg, "a %zu-D window on an input with %d spatial axes", l->rank, in->rank);
        return fail(c, msg);
    }
    size_t lo[DW_NET_SPATIAL_MAX];
    *o = *in;
    o->P = 1;
    op->F = 1;
    for (int k = 0; k < in->rank; k++) {
        dw_status s = axis(c, in->dim[k], l->window[k], l->stride[k], l->padding, &o->dim[k], &lo[k]);
        if (s) return s;
        o->P *= o->dim[k];
        op->F *= l->window[k];
    }
    op->idx = dw_alloc(o->P * op->F, sizeof *op->idx, "network program");
    if (!op->idx) return DW_ERR_NOMEM;
    const bool circ = l->padding == DW_PAD_CIRCULAR;
    for (size_t q = 0; q < o->P; q++) {
        size_t oi[DW_NET_SPATIAL_MAX], r = q;
        for (int k = in->rank - 1; k >= 0; k--) {
            oi[k] = r % o->dim[k];
            r /= o->dim[k];
        }
        for (size_t t = 0; t < op->F; t++) {
            size_t ti[DW_NET_SPATIAL_MAX], rt = t;
            for (int k = in->rank - 1; k >= 0; k--) {
                ti[k] = rt % l->window[k];
                rt /= l->window[k];
            }
            long pos = 0;
            for (int k = 0; k < in->rank && pos >= 0; k++) {
                long i = (long)(oi[k] * l->stride[k] + ti[k]) - (long)lo[k];
                if (circ) {
                    i %= (long)in->dim[k];
                    if (i < 0) i += (long)in->dim[k];
                } else if (i < 0 || i >= (long)in->dim[k]) {
                    pos = -1;
                    break;
                }
                pos = pos * (long)in->dim[k] + i;
            }
            op->idx[q * op->F + t] = pos;
        }
    }
    return DW_OK;
}

/* The width (output units / channels) of weight layer l. */
static dw_status layer_width(const ctx *c, const dw_net_layer *l, size_t *w)
{
    double v = c->all_width && l != c->readout ? (double)c->all_width : l->width;
    if (v == 0) v = (double)c->default_width;
    if (v == 0)
        return fail(c, l->kind == DW_LAYER_CONV ? "a finite network needs the conv layer's out_chan (or the sampler's "
                                                  "width option)"
                                                : "a finite network needs the dense layer's width (out_dim, or the "
                                                  "sampler's width option)");
    if (v != floor(v) || v < 1) return fail(c, "the width must be a whole number");
    if (v > (double)((size_t)1 << 30)) return fail(c, "the width is too large");
    *w = (size_t)v;
    return DW_OK;
}

static dw_status weight_layer(ctx *c, const dw_net_layer *l, int *st)
{
    asamp_prog *p = c->p;
    if (l->W) return fail(c, "given weights are not taken by the architecture sampler (use a parameter vector)");
    const asamp_val in = p->val[*st];
    asamp_op *op = push(c, l->kind == DW_LAYER_DENSE ? AOP_DENSE : AOP_CONV, l, *st);
    if (!op) return DW_ERR_NOMEM;
    asamp_val o = in;
    dw_status s;
    if (l->kind == DW_LAYER_CONV) {
        if (in.rank == 0) return fail(c, "a conv layer on an input without spatial axes");
        if ((s = window_map(c, op, l, &in, &o))) return s;
    } else {
        op->F = 1;
    }
    if ((s = layer_width(c, l, &op->Cout))) return s;
    o.C = op->Cout;
    op->R = op->F * in.C;
    const double fan = (double)op->R;
    op->standard = dw_net_layer_param(c->root, l) == DW_PARAM_STANDARD;
    const double sw = sqrt(l->weight_var / fan), sb = sqrt(l->bias_var);
    op->sw = op->standard ? 1.0 : sw;
    op->sb = op->standard ? 1.0 : sb;
    op->init_w = op->standard ? sw : 1.0;
    op->init_b = op->standard ? sb : 1.0;
    op->wlayer = ++p->nweight;
    op->pW = p->nparam;
    p->nparam += op->R * op->Cout;
    if (!l->no_bias) {
        op->pb = p->nparam;
        p->nparam += op->Cout;
    }
    const size_t col = o.P * op->R;
    if (l->kind == DW_LAYER_CONV && col > p->maxcol) p->maxcol = col;
    if ((op->out = new_val(c, &o)) < 0) return DW_ERR_NOMEM;
    *st = op->out;
    return DW_OK;
}

static dw_status compile_list(ctx *c, const dw_net *net, int *sts, int *nst);

static dw_status compile_layer(ctx *c, const dw_net_layer *l, int *sts, int *nst)
{
    asamp_prog *p = c->p;
    if (l->kind == DW_LAYER_PARALLEL) {
        if ((size_t)*nst != l->n) {
            char msg[160];
            snprintf(msg, sizeof msg, "parallel with %zu branches on %d open streams (a fanout(%zu) before it?)", l->n,
                     *nst, l->n);
            return fail(c, msg);
        }
        for (size_t b = 0; b < l->n; b++) {
            int sub[MAX_STREAMS], one = 1;
            sub[0] = sts[b];
            dw_status s = compile_list(c, l->branch[b], sub, &one);
            if (s) return s;
            if (one != 1) return fail(c, "a parallel branch must end with one stream (fanin_sum)");
            sts[b] = sub[0];
        }
        return DW_OK;
    }
    if (l->kind == DW_LAYER_FANIN_SUM) {
        for (int a = 1; a < *nst; a++)
            if (p->val[sts[a]].P != p->val[sts[0]].P || p->val[sts[a]].C != p->val[sts[0]].C)
                return fail(c, "fanin_sum of streams of different shapes");
        if (*nst == 1) return DW_OK;
        asamp_op *op = push(c, AOP_SUM, l, sts[0]);
        if (!op) return DW_ERR_NOMEM;
        if (!(op->ins = dw_alloc((size_t)*nst, sizeof(int), "network program"))) return DW_ERR_NOMEM;
        memcpy(op->ins, sts, (size_t)*nst * sizeof(int));
        op->nin = *nst;
        const asamp_val shape = p->val[sts[0]];
        if ((op->out = new_val(c, &shape)) < 0) return DW_ERR_NOMEM;
        sts[0] = op->out;
        *nst = 1;
        return DW_OK;
    }
    if (*nst != 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "a %s layer with %d open streams (after a fanout: parallel or fanin_sum first)",
                 dw_net_kind_name(l->kind), *nst);
        return fail(c, msg);
    }
    int *st = &sts[0];
    const asamp_val in = p->val[*st];
    asamp_val o = in;
    asamp_op *op;
    switch (l->kind) {
    case DW_LAYER_DENSE:
    case DW_LAYER_CONV:
        return weight_layer(c, l, st);
    case DW_LAYER_ACT:
        if (!(op = push(c, AOP_ACT, l, *st))) return DW_ERR_NOMEM;
        op->act = l->act;
        break;
    case DW_LAYER_POOL: {
        if (in.rank == 0) return fail(c, "a pool on an input without spatial axes");
        if (!(op = push(c, AOP_POOL, l, *st))) return DW_ERR_NOMEM;
        dw_status s = window_map(c, op, l, &in, &o);
        if (s) return s;
        if (!(op->coef = dw_alloc(o.P, sizeof(double), "network program"))) return DW_ERR_NOMEM;
        for (size_t q = 0; q < o.P; q++) {
            size_t inside = 0;
            for (size_t t = 0; t < op->F; t++) inside += op->idx[q * op->F + t] >= 0;
            op->coef[q] = !l->average ? 1.0
                          : l->normalize_edges && l->padding == DW_PAD_SAME ? 1.0 / (double)(inside ? inside : 1)
                                                                           : 1.0 / (double)op->F;
        }
        break;
    }
    case DW_LAYER_GLOBAL_POOL:
        if (!(op = push(c, AOP_GPOOL, l, *st))) return DW_ERR_NOMEM;
        o.rank = 0;
        o.P = 1;
        op->c = l->average ? 1.0 / (double)in.P : 1.0;
        break;
    case DW_LAYER_FLATTEN: { /* the same numbers read as one vector: a value sharing the tape */
        asamp_val f = in;
        f.rank = 0;
        f.C = in.P * in.C;
        f.P = 1;
        if (p->nval == p->vcap) {
            size_t cap = 2 * p->vcap;
            asamp_val *v = realloc(p->val, cap * sizeof *v);
            if (!v) return dw_fail(DW_ERR_NOMEM, "out of memory (network program)");
            p->val = v;
            p->vcap = cap;
        }
        p->val[p->nval] = f;
        *st = (int)p->nval++;
        return DW_OK;
    }
    case DW_LAYER_LAYERNORM:
        if (!(op = push(c, AOP_LN, l, *st))) return DW_ERR_NOMEM;
        break;
    case DW_LAYER_DROPOUT:
        if (!l->train || l->rate == 1.0) return DW_OK;
        if (!(op = push(c, AOP_DROPOUT, l, *st))) return DW_ERR_NOMEM;
        op->c = l->rate;
        break;
    case DW_LAYER_SCALE:
        if (!(op = push(c, AOP_SCALE, l, *st))) return DW_ERR_NOMEM;
        op->c = l->c;
        break;
    case DW_LAYER_IDENTITY:
        return DW_OK;
    case DW_LAYER_FANOUT:
        if (*nst + (int)l->n - 1 > MAX_STREAMS) return fail(c, "too many open streams");
        for (size_t b = 1; b < l->n; b++) sts[b] = sts[0];
        *nst = (int)l->n;
        return DW_OK;
    default:
        return fail(c, "a layer kind the sampler does not know");
    }
    if ((op->out = new_val(c, &o)) < 0) return DW_ERR_NOMEM;
    *st = op->out;
    return DW_OK;
}

static dw_status compile_list(ctx *c, const dw_net *net, int *sts, int *nst)
{
    for (size_t i = 0; i < net->n; i++) {
        if (net == c->root) c->layer_no = i + 1;
        dw_status s = compile_layer(c, &net->layer[i], sts, nst);
        if (s) return s;
    }
    return DW_OK;
}

dw_status dw_asamp_compile(asamp_prog *p, const dw_net *net, const char *who, size_t d, size_t all_width,
                           size_t default_width)
{
    memset(p, 0, sizeof *p);
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (!net->n) return dw_fail(DW_ERR_INVALID, "%s: the network has no layers", who);
    if (net->given)
        return dw_fail(DW_ERR_INVALID, "%s: given weights are taken by fully connected networks only", who);
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    if (net->law.kind == DW_LAW_COMPLEX_GAUSSIAN)
        return dw_fail(DW_ERR_INVALID, "%s: complex-gaussian weights are taken by fully connected networks only", who);
    asamp_val x = {.rank = 0, .P = 1, .C = d};
    if (net->in_rank > 1) {
        size_t prod = 1;
        for (size_t k = 0; k < net->in_rank; k++) prod *= net->in_shape[k];
        if (prod != d)
            return dw_fail(DW_ERR_INVALID, "X: %zu features per input where the input shape set on the network has %zu",
                           d, prod);
        x.rank = (int)net->in_rank - 1;
        for (int k = 0; k < x.rank; k++) {
            x.dim[k] = net->in_shape[k];
            x.P *= net->in_shape[k];
        }
        x.C = net->in_shape[net->in_rank - 1];
    } else if (net->in_rank == 1 && net->in_shape[0] != d) {
        return dw_fail(DW_ERR_INVALID, "X: %zu features per input where the input shape set on the network has %zu", d,
                       net->in_shape[0]);
    }
    ctx c = {.p = p, .root = net, .who = who, .all_width = all_width, .default_width = default_width};
    for (size_t i = 0; i < net->n; i++)
        if (net->layer[i].kind == DW_LAYER_DENSE || net->layer[i].kind == DW_LAYER_CONV) c.readout = &net->layer[i];
    p->law = net->law;
    p->gauss1 = net->gaussian_input_layer;
    p->d = d;
    p->nngp_op = -1;
    int sts[MAX_STREAMS], nst = 1;
    dw_status s = DW_OK;
    if ((sts[0] = new_val(&c, &x)) < 0) s = DW_ERR_NOMEM;
    if (!s) s = compile_list(&c, net, sts, &nst);
    if (!s && nst != 1) s = dw_fail(DW_ERR_INVALID, "%s: the network ends with %d open streams (fanin_sum them)", who, nst);
    if (s) {
        dw_asamp_clear(p);
        return s;
    }
    p->out = sts[0];
    p->dout = p->val[p->out].P * p->val[p->out].C;
    if (p->nop && p->op[p->nop - 1].k == AOP_DENSE && p->op[p->nop - 1].out == p->out &&
        p->op[p->nop - 1].l == &net->layer[net->n - 1])
        p->nngp_op = (int)p->nop - 1;
    if (p->maxv > p->maxcol) p->maxcol = p->maxv;
    return DW_OK;
}
