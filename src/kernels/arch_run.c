/* The architecture engine's interpreter: one pass of the compiled program (arch_compile.c) over one pair of
 * inputs, each step a plain function on the registers' arrays (arch_*.c). */
#include "kernels/arch.h"

#include <string.h>

/* The per-position variances of a register: its diagonal (FULL) or the array itself (DIAG). */
static void diag_of(const double *K, size_t P, bool full, double *v)
{
    for (size_t i = 0; i < P; i++) v[i] = full ? K[i * P + i] : K[i];
}

static size_t len_of(const arch_shape *sh, bool full) { return full ? sh->P * sh->P : sh->P; }

dw_status dw_arch_run(const arch_prog *p, arch_work *w, const double *x, const double *y, size_t d, double *rx,
                      const double *ry, bool same, bool record, double *k, double *t)
{
    const size_t L = p->reg_len;
    const bool full = p->full, want_t = t != NULL;
    if (record) ry = rx;
    for (size_t i = 0; i < p->nop; i++) {
        const arch_op *op = &p->op[i];
        double *K = w->K + (size_t)op->reg * L, *T = want_t ? w->T + (size_t)op->reg * L : NULL;
        dw_status s = DW_OK;
        switch (op->k) {
        case OP_INPUT:
            dw_arch_input(op, full, x, y, d, K, T);
            break;
        case OP_DENSE:
            dw_arch_dense(op, full, K, T);
            break;
        case OP_CONV:
            dw_arch_conv(op, full, K, T, w->tmp);
            break;
        case OP_POOL:
            dw_arch_pool(op, full, K, T, w->tmp);
            break;
        case OP_GPOOL:
        case OP_FLATTEN:
            dw_arch_gpool(op, full, K, T);
            break;
        case OP_ACT:
        case OP_LN: {
            const arch_slot *sl = &p->slot[op->slot];
            if (record) {
                diag_of(K, op->in.P, full, rx + sl->off);
                if (op->k == OP_ACT) dw_arch_act_fields(op->act, rx + sl->off, op->in.P);
                else dw_arch_ln_fields(op, rx + sl->off);
            }
            if (op->k == OP_ACT)
                s = dw_arch_act(p, op, rx + sl->off, ry + sl->off, K, T, w);
            else
                dw_arch_ln(op, full, rx + sl->off, ry + sl->off, K, T);
            break;
        }
        case OP_DROPOUT:
            dw_arch_dropout(op, full, same, K, T);
            break;
        case OP_SCALE: {
            const size_t n = len_of(&op->in, full);
            for (size_t j = 0; j < n; j++) K[j] *= op->wv;
            if (T)
                for (size_t j = 0; j < n; j++) T[j] *= op->wv;
            break;
        }
        case OP_COPY:
            if (op->src < 0) { /* a fanout's input: record its variances */
                if (record) diag_of(K, op->in.P, full, rx + p->slot[op->slot].off);
            } else {
                const size_t n = len_of(&op->in, full);
                memcpy(K, w->K + (size_t)op->src * L, n * sizeof *K);
                if (T) memcpy(T, w->T + (size_t)op->src * L, n * sizeof *T);
            }
            break;
        case OP_SUM:
            if (record)
                for (int c = 0; c < op->ncross; c++) {
                    const arch_cross *x2 = &op->cross[c];
                    if (x2->md_slot < 0) continue;
                    const arch_slot *ms = &p->slot[x2->md_slot], *vs = &p->slot[ms->src];
                    for (size_t j = 0; j < ms->P && !s; j++)
                        s = dw_arch_mean_deriv(ms->act, rx[vs->off + j], &rx[ms->off + j], NULL);
                }
            if (!s) s = dw_arch_sum(p, op, w, rx, ry, want_t);
            break;
        }
        if (s) return s;
    }
    *k = w->K[(size_t)p->out_reg * L];
    if (t) *t = w->T[(size_t)p->out_reg * L];
    return DW_OK;
}
