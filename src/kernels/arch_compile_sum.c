/* The architecture compiler's streams (theory.md 7.2, 7.3): which layers a stream may enter (Gaussian, zero mean),
 * and FanInSum: the sum of the open streams with the cross terms of those that are correlated (a skip connection
 * summed with an activation of the same stream, which Neural Tangents refuses). */
#include "kernels/arch_cc.h"

#include <stdio.h>
#include <string.h>

dw_status dw_acc_need_gaussian(cctx *c, const stream *st, const char *what)
{
    if (st->gaussian) return DW_OK;
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s needs a Gaussian input: put a dense or conv layer before it (its input is an activation's output, "
             "a flatten's, a train-mode dropout's or a sum with such a branch)", what);
    return dw_acc_fail(c, msg, NULL);
}

/* Whether phi is odd, so that phi of a centred Gaussian has mean zero: by family, or for expressions phi(-z) ==
 * -phi(z) exactly at a spread of points (odd formulas such as tanh evaluate exactly so). */
bool dw_acc_act_is_odd(const dw_act *act)
{
    switch (act->fam) {
    case DW_FAM_IDENTITY:
    case DW_FAM_ERF:
    case DW_FAM_SIN:
        return true;
    case DW_FAM_POLY:
        for (int k = 0; k <= act->deg; k += 2)
            if (act->coef[k] != 0.0) return false;
        return true;
    case DW_FAM_GENERIC: {
        static const double z[] = {0.0, 0.03125, 0.1, 0.3, 0.7, 1.1, 1.7, 2.3, 3.1, 4.7, 6.1, 9.3};
        for (size_t i = 0; i < sizeof z / sizeof z[0]; i++) {
            double a, b, m = -z[i];
            if (dw_act_eval(act, 1, &z[i], &a, NULL) || dw_act_eval(act, 1, &m, &b, NULL) || a != -b) return false;
        }
        return true;
    }
    default:
        return false;
    }
}

dw_status dw_acc_need_zero_mean(cctx *c, const stream *st, const char *what)
{
    if (st->zero_mean) return DW_OK;
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s needs an input of mean zero: put a dense or conv layer before it (or an odd activation such as "
             "erf or tanh after one); its input is the data or a non-odd activation's output", what);
    return dw_acc_fail(c, msg, NULL);
}

/* A linear layer: CENTRED streams stay so; PURE ones become OTHER (a pool of phi(h0) is not of the form s f(h0)). */
void dw_acc_linear(stream *st)
{
    if (st->kind == S_PURE) st->kind = S_OTHER;
}


/* FanInSum: the streams' kernels plus the cross terms of every ordered pair of PURE streams (theory.md 7). */
dw_status dw_acc_sum(cctx *c, const dw_net_layer *l, stream *sts, int *nst)
{
    const int n = *nst;
    /* the sum is written into the first stream's register; when that is a fanout input's (an identity branch) and
     * the second stream has its own, into the second's: K_1 + K_0 + K_2 + ... adds in the same order, so the same
     * bits (else the first stream is copied) */
    const int tgt = n > 1 && sts[0].borrowed && !sts[1].borrowed ? 1 : 0;
    arch_op *op = dw_acc_push(c, OP_SUM, l, &sts[tgt]);
    if (!op) return DW_ERR_NOMEM;
    op->srcs = dw_alloc((size_t)n, sizeof(int), "kernel program");
    op->cross = dw_alloc((size_t)n * (size_t)n, sizeof(arch_cross), "kernel program");
    if (!op->srcs || !op->cross) return DW_ERR_NOMEM;
    op->nsrc = n;
    bool gaussian = true, zero_mean = true, all_centred = true, id_only = true;
    double S = 0.0; /* the identity branches' total scale: the sum is S h0 + centred streams when id_only */
    int fan = -1;
    for (int a = 0; a < n; a++) {
        const stream *A = &sts[a];
        op->srcs[a == tgt ? 0 : a == 0 ? tgt : a] = A->reg;
        if (A->sh.rank != sts[0].sh.rank || A->sh.P != sts[0].sh.P)
            return dw_acc_fail(c, NULL, "fanin_sum of streams of different spatial shapes");
        gaussian = gaussian && A->gaussian;
        zero_mean = zero_mean && A->zero_mean;
        if (A->kind != S_CENTRED) all_centred = false;
        if (A->kind == S_OTHER || (A->kind == S_PURE && A->f)) id_only = false;
        if (A->kind == S_PURE) {
            S += A->s;
            fan = A->fan;
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            const stream *A = &sts[a], *B = &sts[b];
            if (a == b || A->kind == S_CENTRED || B->kind == S_CENTRED) continue;
            if (A->kind == S_OTHER || B->kind == S_OTHER || A->origin != B->origin)
                return dw_acc_fail(c, NULL,
                                  "fanin_sum of two branches whose correlation is not known (each branch needs a "
                                  "dense or conv layer after its last activation, or to be s h or s phi(h) of the "
                                  "fanout's input h)");
            if (A->f && B->f && strcmp(dw_act_name(A->f), dw_act_name(B->f)))
                return dw_acc_fail(c, NULL, "fanin_sum of two branches with different activations of the same "
                                           "stream (their cross-covariance is not supported)");
            if ((A->f || B->f) && A->origin_slot < 0)
                return dw_acc_fail(c, NULL, "fanin_sum: a branch applies an activation to a non-Gaussian stream");
            if ((A->f && A->f->fam == DW_FAM_STEP && !B->f) || (B->f && B->f->fam == DW_FAM_STEP && !A->f))
                return dw_acc_fail(c, NULL, "fanin_sum of a step activation and its own input is not supported");
            arch_cross *x = &op->cross[op->ncross++];
            *x = (arch_cross){.origin = A->origin, .fa = A->f, .fb = B->f, .s = A->s * B->s, .var_slot = -1,
                              .md_slot = -1};
            if (A->f || B->f) {
                x->var_slot = A->origin_slot;
                if (!A->f || !B->f) {
                    x->md_slot = dw_acc_add_slot(c, SLOT_MDERIV, A->sh.P, A->origin_slot, A->f ? A->f : B->f);
                    if (x->md_slot < 0) return DW_ERR_NOMEM;
                }
            }
        }
    stream r = sts[0];
    r.reg = sts[tgt].reg;
    r.borrowed = false;
    r.gaussian = gaussian;
    r.zero_mean = zero_mean;
    if (all_centred) {
        r.kind = S_CENTRED;
    } else if (id_only && fan >= 0) {
        /* S h0 + centred streams: for the sums further out it is h0 scaled by S */
        const stream *M = &c->fan[fan];
        r.kind = M->kind;
        r.origin = M->origin;
        r.origin_gaussian = M->origin_gaussian;
        r.origin_slot = M->origin_slot;
        r.f = M->f;
        r.s = M->s * S;
        r.fan = M->fan;
    } else {
        r.kind = S_OTHER;
    }
    for (int a = 0; a < n; a++)
        if (a != tgt && !sts[a].borrowed && dw_acc_free_reg(c, sts[a].reg)) return DW_ERR_NOMEM;
    sts[0] = r;
    *nst = 1;
    return DW_OK;
}

