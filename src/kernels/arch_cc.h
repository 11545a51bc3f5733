/* The architecture compiler's internal state (arch_compile.c, arch_compile_sum.c; not installed): what it knows of
 * each open stream while it walks the layer list, and the helpers both files use. */
#ifndef DW_KERNELS_ARCH_CC_H
#define DW_KERNELS_ARCH_CC_H

#include "kernels/arch.h"

/* What the compiler knows of one open stream, for the cross terms of sums (theory.md 7): CENTRED streams (a
 * weight layer's output, then only linear layers) have mean zero and are independent of every other open stream in
 * the limit, so their cross terms vanish; PURE streams are s f(h0) of the fanout's input h0 with f the identity or
 * one activation, whose cross terms are Gaussian expectations of h0; anything else is OTHER, and a sum that would
 * need its cross term is refused. */
typedef enum skind { S_CENTRED, S_PURE, S_OTHER } skind;
typedef struct stream {
    int reg;
    arch_shape sh;
    bool gaussian; /* its entries are jointly Gaussian (an activation may follow) */
    bool zero_mean; /* its entries have mean zero (a layernorm may follow: its channel mean vanishes) */
    skind kind;
    int origin;      /* PURE: the register of h0 */
    bool origin_gaussian;
    int origin_slot; /* PURE: the variance slot of h0 (-1: h0 not Gaussian) */
    const dw_act *f; /* PURE: NULL for s h0, else s phi(h0) */
    double s;
    int fan;         /* PURE: the fanout that opened it (index into cctx.fan) */
    bool borrowed;   /* reg is the fanout input's (read only): the first op that changes the stream copies it */
} stream;

typedef struct cctx {
    arch_prog *p;
    const dw_net *root;
    int *reg_free; /* register allocation: a stack of free registers */
    int nfree, free_cap;
    size_t layer_no; /* the current layer's position in the top-level list (messages) */
    const char *where;
    stream fan[256]; /* the input stream of every fanout, for the sums that close it */
    int nfan;
} cctx;

/* A refusal naming the current layer ("kernel: layer N: ..."): fmt, else what. */
dw_status dw_acc_fail(cctx *c, const char *fmt, const char *what);
/* Append an op that changes stream st in place (NULL: none), after the copy of a borrowed register (the stream
 * then owns the copy); NULL when out of memory. */
arch_op *dw_acc_push(cctx *c, arch_opk k, const dw_net_layer *l, stream *st);
/* The same for an op that only reads st's register (no copy). */
arch_op *dw_acc_push_read(cctx *c, arch_opk k, const dw_net_layer *l, const stream *st);
/* A fresh register. */
int dw_acc_new_reg(cctx *c);
/* A slot of P positions in every input's record (an activation's own: with its per-position fields); -1: no memory. */
int dw_acc_add_slot(cctx *c, arch_slotk k, size_t P, int src, const dw_act *act);
void dw_acc_note_act(cctx *c, const dw_act *act);
/* Return register r to the free list (DW_ERR_NOMEM if the list cannot grow). */
dw_status dw_acc_free_reg(cctx *c, int r);
/* arch_compile_sum.c: the stream properties and FanInSum with its cross terms (theory.md 7.3). */
dw_status dw_acc_need_gaussian(cctx *c, const stream *st, const char *what);
dw_status dw_acc_need_zero_mean(cctx *c, const stream *st, const char *what);
bool dw_acc_act_is_odd(const dw_act *act);
void dw_acc_linear(stream *st);
dw_status dw_acc_sum(cctx *c, const dw_net_layer *l, stream *sts, int *nst);

#endif
