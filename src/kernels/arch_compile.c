/* The architecture engine's compiler (theory.md 7): a dw_net's layer list into a straight-line program over
 * registers (arch.h). Everything that depends on the architecture only is decided here, once: shapes, paddings,
 * FULL or DIAG covariances, which layers need Gaussian inputs, and the cross terms of sums whose branches are
 * correlated (a skip connection summed with an activation of the same stream, which Neural Tangents refuses). */
#include "kernels/arch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/arch_cc.h"

dw_status dw_acc_fail(cctx *c, const char *fmt, const char *what)
{
    return dw_fail(DW_ERR_INVALID, "kernel: %s%zu: %s", c->where, c->layer_no, fmt ? fmt : what);
}

int dw_acc_new_reg(cctx *c)
{
    if (c->nfree) return c->reg_free[--c->nfree];
    return c->p->nreg++;
}

dw_status dw_acc_free_reg(cctx *c, int r)
{
    if (c->nfree == c->free_cap) {
        int cap = c->free_cap ? 2 * c->free_cap : 16;
        int *f = realloc(c->reg_free, (size_t)cap * sizeof *f);
        if (!f) return dw_fail(DW_ERR_NOMEM, "out of memory (kernel program)");
        c->reg_free = f;
        c->free_cap = cap;
    }
    c->reg_free[c->nfree++] = r;
    return DW_OK;
}

arch_op *dw_acc_push_read(cctx *c, arch_opk k, const dw_net_layer *l, const stream *st)
{
    arch_prog *p = c->p;
    if (p->nop == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        arch_op *o = dw_alloc(cap, sizeof *o, "kernel program");
        if (!o) return NULL;
        if (p->nop) memcpy(o, p->op, p->nop * sizeof *o);
        free(p->op);
        p->op = o;
        p->cap = cap;
    }
    arch_op *op = &p->op[p->nop++];
    memset(op, 0, sizeof *op);
    op->k = k;
    op->l = l;
    op->reg = st ? st->reg : 0;
    op->slot = -1;
    if (st) op->in = op->out = st->sh;
    return op;
}

arch_op *dw_acc_push(cctx *c, arch_opk k, const dw_net_layer *l, stream *st)
{
    if (st && st->borrowed) { /* copy on write: the fanout input's register stays as it is for the others */
        stream own = *st;
        own.reg = dw_acc_new_reg(c);
        arch_op *op = dw_acc_push_read(c, OP_COPY, l, &own);
        if (!op) return NULL;
        op->src = st->reg;
        st->reg = own.reg;
        st->borrowed = false;
    }
    return dw_acc_push_read(c, k, l, st);
}

int dw_acc_add_slot(cctx *c, arch_slotk k, size_t P, int src, const dw_act *act)
{
    arch_prog *p = c->p;
    if (p->nslot == p->slot_cap) {
        size_t cap = p->slot_cap ? 2 * p->slot_cap : 16;
        arch_slot *s = dw_alloc(cap, sizeof *s, "kernel program");
        if (!s) return -1;
        if (p->nslot) memcpy(s, p->slot, p->nslot * sizeof *s);
        free(p->slot);
        p->slot = s;
        p->slot_cap = cap;
    }
    p->slot[p->nslot] = (arch_slot){.k = k, .P = P, .off = p->rec, .src = src, .act = act};
    /* an activation's own variances carry its per-position fields too (SLOT_VAR with act) */
    p->rec += k == SLOT_VAR && act ? dw_arch_act_slot_len(act, P) : k == SLOT_LN ? 2 * P : P;
    return (int)p->nslot++;
}

void dw_acc_note_act(cctx *c, const dw_act *act)
{
    if (act->fam == DW_FAM_GENERIC) c->p->generic = true;
}

/* Output size and padding of one axis (Neural Tangents' / XLA's geometry; CIRCULAR pads like SAME, by wrapping). */
static dw_status axis_geometry(cctx *c, size_t n, size_t f, size_t s, dw_padding pad, size_t *out, size_t *lo)
{
    if (pad == DW_PAD_VALID) {
        if (f > n) return dw_acc_fail(c, NULL, "the window is larger than the input (padding valid)");
        *out = (n - f) / s + 1;
        *lo = 0;
        return DW_OK;
    }
    *out = (n + s - 1) / s;
    size_t need = (*out - 1) * s + f;
    size_t total = need > n ? need - n : 0;
    *lo = total / 2;
    return DW_OK;
}

static dw_status windowed(cctx *c, arch_op *op, const dw_net_layer *l, stream *st)
{
    if ((int)l->rank != st->sh.rank) {
        char msg[160];
        snprintf(msg, sizeof msg, "a %zu-D window on an input with %d spatial axes", l->rank, st->sh.rank);
        return dw_acc_fail(c, msg, NULL);
    }
    arch_shape o = st->sh;
    o.P = 1;
    for (int k = 0; k < o.rank; k++) {
        dw_status s = axis_geometry(c, st->sh.dim[k], l->window[k], l->stride[k], l->padding, &o.dim[k], &op->lo[k]);
        if (s) return s;
        o.P *= o.dim[k];
    }
    op->out = o;
    st->sh = o;
    return DW_OK;
}

static dw_status compile_list(cctx *c, const dw_net *net, stream *sts, int *nst, int cap);

static dw_status compile_layer(cctx *c, const dw_net_layer *l, stream *sts, int *nst, int cap)
{
    const dw_net *root = c->root;
    if (l->kind == DW_LAYER_PARALLEL) {
        if ((size_t)*nst != l->n) {
            char msg[160];
            snprintf(msg, sizeof msg, "parallel with %zu branches on %d open streams (a fanout(%zu) before it?)", l->n,
                     *nst, l->n);
            return dw_acc_fail(c, msg, NULL);
        }
        for (size_t b = 0; b < l->n; b++) {
            int one = 1;
            stream sub[64];
            sub[0] = sts[b];
            dw_status s = compile_list(c, l->branch[b], sub, &one, 64);
            if (s) return s;
            if (one != 1) return dw_acc_fail(c, NULL, "a parallel branch must end with one stream (fanin_sum)");
            sts[b] = sub[0];
        }
        return DW_OK;
    }
    if (l->kind == DW_LAYER_FANIN_SUM) return dw_acc_sum(c, l, sts, nst);
    if (*nst != 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "a %s layer with %d open streams (after a fanout: parallel[...] or fanin_sum first)",
                 dw_net_kind_name(l->kind), *nst);
        return dw_acc_fail(c, msg, NULL);
    }
    stream *st = &sts[0];
    arch_op *op;
    switch (l->kind) {
    case DW_LAYER_DENSE:
    case DW_LAYER_CONV: {
        if (l->W) return dw_acc_fail(c, NULL, "given weights: the infinite-width kernel is of a random network");
        op = dw_acc_push(c, l->kind == DW_LAYER_DENSE ? OP_DENSE : OP_CONV, l, st);
        if (!op) return DW_ERR_NOMEM;
        op->wv = l->weight_var;
        op->bv = l->bias_var;
        op->has_bias = !l->no_bias;
        op->standard = dw_net_layer_param(root, l) == DW_PARAM_STANDARD;
        double fan = st->sh.C;
        if (l->kind == DW_LAYER_CONV) {
            op->t_zero = c->p->nop == 2 && c->p->op[0].k == OP_INPUT && !c->p->op[0].flat && op->reg == 0;
            dw_status s = windowed(c, op, l, st);
            if (s) return s;
            for (size_t k = 0; k < l->rank; k++) fan *= (double)l->window[k];
        }
        op->fan_in = fan;
        /* the NNGP needs no width: only a tangent kernel asked of the run is refused (dw_arch_gram) */
        if (op->standard && !(fan > 0) && !c->p->no_width_layer) c->p->no_width_layer = c->layer_no;
        st->sh.C = l->width;
        op->out.C = l->width;
        st->gaussian = true;
        st->zero_mean = true;
        st->kind = S_CENTRED;
        return DW_OK;
    }
    case DW_LAYER_ACT: {
        dw_status s = dw_acc_need_gaussian(c, st, "an activation");
        if (s) return s;
        if (l->act->fam == DW_FAM_GENERIC && dw_act_check_generic(l->act)) return DW_ERR_INVALID;
        op = dw_acc_push(c, OP_ACT, l, st);
        if (!op) return DW_ERR_NOMEM;
        op->act = l->act;
        dw_acc_note_act(c, l->act);
        if ((op->slot = dw_acc_add_slot(c, SLOT_VAR, st->sh.P, -1, l->act)) < 0) return DW_ERR_NOMEM;
        if (st->kind == S_PURE && !st->f)
            st->f = l->act;
        else
            st->kind = S_OTHER;
        st->gaussian = false;
        st->zero_mean = dw_acc_act_is_odd(l->act);
        return DW_OK;
    }
    case DW_LAYER_POOL:
        if (st->sh.rank == 0) return dw_acc_fail(c, NULL, "a pool on an input without spatial axes");
        if (!(op = dw_acc_push(c, OP_POOL, l, st))) return DW_ERR_NOMEM;
        dw_acc_linear(st);
        return windowed(c, op, l, st);
    case DW_LAYER_GLOBAL_POOL:
    case DW_LAYER_FLATTEN:
        if (l->kind == DW_LAYER_FLATTEN && c->p->nop == 1 && c->p->op[0].k == OP_INPUT && st->reg == 0) {
            /* Flatten of the input itself: one dot product x . y / d per pair instead of P (theory.md 7.2) */
            arch_op *in = &c->p->op[0];
            in->flat = true;
            st->sh.C *= (double)st->sh.P;
            st->gaussian = false;
            st->sh.rank = 0;
            st->sh.P = 1;
            in->out = st->sh;
            return DW_OK;
        }
        if (!(op = dw_acc_push(c, l->kind == DW_LAYER_FLATTEN ? OP_FLATTEN : OP_GPOOL, l, st))) return DW_ERR_NOMEM;
        dw_acc_linear(st);
        if (l->kind == DW_LAYER_FLATTEN) {
            st->sh.C *= (double)st->sh.P;
            st->gaussian = false; /* its positions have different variances: only a weight layer may follow */
        }
        st->sh.rank = 0;
        st->sh.P = 1;
        op->out = st->sh;
        return DW_OK;
    case DW_LAYER_LAYERNORM: {
        /* the channel mean and variance concentrate at 0 and Sigma_ii for any input of mean zero (NT asks for a
         * Gaussian one) */
        dw_status s = dw_acc_need_zero_mean(c, st, "layernorm");
        if (s) return s;
        if (!(op = dw_acc_push(c, OP_LN, l, st))) return DW_ERR_NOMEM;
        if ((op->slot = dw_acc_add_slot(c, SLOT_LN, st->sh.P, -1, NULL)) < 0) return DW_ERR_NOMEM;
        dw_acc_linear(st);
        return DW_OK;
    }
    case DW_LAYER_DROPOUT:
        if (!l->train) return DW_OK;
        if (!(op = dw_acc_push(c, OP_DROPOUT, l, st))) return DW_ERR_NOMEM;
        op->wv = 1.0 / l->rate;
        dw_acc_linear(st);
        st->gaussian = false;
        return DW_OK;
    case DW_LAYER_SCALE:
        if (!(op = dw_acc_push(c, OP_SCALE, l, st))) return DW_ERR_NOMEM;
        op->wv = l->c * l->c;
        st->s *= l->c;
        return DW_OK;
    case DW_LAYER_IDENTITY:
        return DW_OK;
    case DW_LAYER_FANOUT: {
        if (*nst + (int)l->n - 1 > cap) return dw_acc_fail(c, NULL, "too many open streams");
        const stream in = *st;
        /* h0 stays in its register, untouched, while the copies change */
        if (c->nfan == (int)(sizeof c->fan / sizeof *c->fan)) return dw_acc_fail(c, NULL, "too many fanouts");
        const int fan = c->nfan;
        c->fan[c->nfan++] = in;
        int vs = -1;
        if (in.gaussian) { /* h0's variances, for cross terms with activations */
            if ((vs = dw_acc_add_slot(c, SLOT_VAR, in.sh.P, -1, NULL)) < 0) return DW_ERR_NOMEM;
            if (!(op = dw_acc_push_read(c, OP_COPY, l, &in))) return DW_ERR_NOMEM; /* records the slot only */
            op->src = -1;
            op->slot = vs;
        }
        /* h0 stays in its register, untouched: the branches read it there, and one that changes its stream
         * first copies it (dw_acc_push); an identity branch needs no copy */
        for (size_t b = 0; b < l->n; b++) {
            stream *o = &sts[b];
            *o = in;
            o->borrowed = true;
            o->kind = S_PURE;
            o->origin = in.reg;
            o->origin_gaussian = in.gaussian;
            o->origin_slot = vs;
            o->f = NULL;
            o->s = 1.0;
            o->fan = fan;
        }
        *nst = (int)l->n;
        return DW_OK;
    }
    default:
        return dw_acc_fail(c, NULL, "a layer kind the kernels do not know");
    }
}

static dw_status compile_list(cctx *c, const dw_net *net, stream *sts, int *nst, int cap)
{
    for (size_t i = 0; i < net->n; i++) {
        if (net == c->root) c->layer_no = i + 1;
        dw_status s = compile_layer(c, &net->layer[i], sts, nst, cap);
        if (s) return s;
    }
    return DW_OK;
}

static bool has_pool(const dw_net *net)
{
    for (size_t i = 0; i < net->n; i++) {
        const dw_net_layer *l = &net->layer[i];
        if (l->kind == DW_LAYER_POOL || l->kind == DW_LAYER_GLOBAL_POOL) return true;
        if (l->kind == DW_LAYER_PARALLEL)
            for (size_t b = 0; b < l->n; b++)
                if (has_pool(l->branch[b])) return true;
    }
    return false;
}

/* Nets beyond the fully connected shape, and fully connected ones without a readout (NT's kernel of the last
 * activation's output), which the fully connected engine does not take. */
bool dw_arch_wanted(const dw_net *net)
{
    return net && (!dw_net_is_fc(net) || (dw_net_layers(net) && !dw_net_has_readout(net) && !dw_net_is_given(net)));
}

void dw_arch_prog_clear(arch_prog *p)
{
    for (size_t i = 0; i < p->nop; i++) {
        free(p->op[i].srcs);
        free(p->op[i].cross);
        free(p->op[i].gidx);
        free(p->op[i].gptr);
    }
    free(p->op);
    free(p->slot);
    memset(p, 0, sizeof *p);
}

dw_status dw_arch_compile(arch_prog *p, const dw_net *net, size_t d)
{
    memset(p, 0, sizeof *p);
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (!net->n) return dw_fail(DW_ERR_INVALID, "kernel: the network has no layers");
    if (net->given) return dw_fail(DW_ERR_INVALID, "kernel: the infinite-width kernel is of a random network (the net "
                                                   "has given weights)");
    stream st = {.reg = 0, .gaussian = false, .kind = S_OTHER, .origin = -1, .origin_slot = -1, .s = 1.0, .fan = -1};
    if (net->in_rank > 1) {
        size_t prod = 1;
        for (size_t k = 0; k < net->in_rank; k++) prod *= net->in_shape[k];
        if (prod != d)
            return dw_fail(DW_ERR_INVALID, "X: %zu features per input where the input shape set on the network has "
                                           "%zu", d, prod);
        st.sh.rank = (int)net->in_rank - 1;
        st.sh.P = 1;
        for (int k = 0; k < st.sh.rank; k++) {
            st.sh.dim[k] = net->in_shape[k];
            st.sh.P *= net->in_shape[k];
        }
        st.sh.C = (double)net->in_shape[net->in_rank - 1];
    } else {
        if (net->in_rank == 1 && net->in_shape[0] != d)
            return dw_fail(DW_ERR_INVALID, "X: %zu features per input where the input shape set on the network has %zu",
                           d, net->in_shape[0]);
        st.sh.rank = 0;
        st.sh.P = 1;
        st.sh.C = (double)d;
    }
    p->full = st.sh.rank > 0 && has_pool(net);
    cctx c = {.p = p, .root = net, .where = "layer "};
    p->nreg = 1;
    arch_op *op = dw_acc_push(&c, OP_INPUT, NULL, &st);
    dw_status s = op ? DW_OK : DW_ERR_NOMEM;
    stream sts[64];
    int nst = 1;
    sts[0] = st;
    if (!s) s = compile_list(&c, net, sts, &nst, 64);
    if (!s && nst != 1) s = dw_fail(DW_ERR_INVALID, "kernel: the network ends with %d open streams (fanin_sum them)", nst);
    if (!s && sts[0].sh.rank > 0)
        s = dw_fail(DW_ERR_INVALID, "kernel: the network's output has spatial axes: end it with flatten or a global "
                                    "pool before the readout (per-position kernels are not returned)");
    if (!s) p->out_reg = sts[0].reg; /* the result's register */
    free(c.reg_free);
    if (s) {
        dw_arch_prog_clear(p);
        return s;
    }
    p->maxP = 1;
    for (size_t i = 0; i < p->nop; i++) {
        if (p->op[i].in.P > p->maxP) p->maxP = p->op[i].in.P;
        if (p->op[i].out.P > p->maxP) p->maxP = p->op[i].out.P;
    }
    p->reg_len = p->full ? p->maxP * p->maxP : p->maxP;
    for (size_t i = 0; i < p->nop && !p->full; i++) /* DIAG convolutions: one gather table each */
        if (p->op[i].k == OP_CONV && (s = dw_arch_conv_table(&p->op[i]))) {
            dw_arch_prog_clear(p);
            return s;
        }
    p->impl = dw_sweep_select();
    p->act_len = dw_arch_act_len(p->maxP);
    p->rows_ok = dw_arch_rows_ok(p);
    p->method = p->generic ? "architecture engine: closed forms, and for generic activations the Hermite series with "
                             "certified bounds per expectation"
                           : "architecture engine: closed-form Gaussian expectations (exact to rounding)";
    return DW_OK;
}
