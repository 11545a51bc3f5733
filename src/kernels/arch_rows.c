/* The architecture engine on a block of pairs at once (theory.md 7.1), for programs whose registers all hold one
 * position after the input (Flatten first, or vector inputs: residual MLPs, per-layer parameterisations, LayerNorm
 * networks). Pair by pair such a program spends its time in per-op overhead on single numbers; here register r
 * holds the pairs (x, y_b), b < nb, of one row of the Gram, so each op is one loop over the block and each
 * activation one call of the vectorised sweeps (their diagonal form: x's fields tiled, y_b's gathered from the
 * inputs' records). Each entry is the pair-by-pair run's arithmetic, lane by lane, but for the input's dot product
 * (one matrix-vector product per block: the summation order differs by rounding). */
#include "kernels/arch.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

enum { NBS = DW_ARCH_ROWS + DW_PAD }; /* the gathered fields' stride */

bool dw_arch_rows_ok(const arch_prog *p)
{
    for (size_t i = 0; i < p->nop; i++) {
        const arch_op *op = &p->op[i];
        if (op->k == OP_CONV || op->k == OP_POOL) return false;
        if (op->k == OP_INPUT) {
            if (!op->flat && op->out.P != 1) return false;
        } else if (op->in.P != 1 || op->out.P != 1) {
            return false;
        }
    }
    return true;
}

size_t dw_arch_rows_len(const arch_prog *p)
{
    /* registers K, T; per side a, sqrt(a), r and poly's 2 (deg + 1) fields; zeros; the state s, t */
    return 2 * (size_t)p->nreg * DW_ARCH_ROWS + (2 * (3 + 2 * (DW_POLY_MAX_DEGREE + 1)) + 3) * (size_t)NBS;
}

/* One side's fields for the block: x's record tiled (ry NULL) or y_b's gathered; padding lanes copy lane 0. */
static dw_pts fields(const dw_act *act, const double *rx, const double *const *ry, size_t off, size_t nb,
                     double *buf, const double *zero)
{
    const size_t S = 1 + DW_PAD; /* a record's stride for one position (dw_arch_act_fields) */
    const int nf = 3 + (act->fam == DW_FAM_POLY ? 2 * (act->deg + 1) : 0);
    for (int f = 0; f < nf; f++)
        for (size_t b = 0; b < NBS; b++) {
            const double *rec = ry ? ry[b < nb ? b : 0] : rx;
            buf[(size_t)f * NBS + b] = rec[off + (size_t)f * S];
        }
    const double *pk = buf + 3 * NBS;
    return (dw_pts){buf, buf + NBS, buf + 2 * NBS, zero, zero, zero, pk, pk + (size_t)(act->deg + 1) * NBS, NBS,
                    zero, zero};
}

static dw_status act_block(const arch_prog *p, const arch_op *op, const double *rx, const double *const *ry,
                           size_t nb, double *K, double *T, arch_work *w)
{
    const dw_act *act = op->act;
    const size_t off = p->slot[op->slot].off;
    if (act->fam == DW_FAM_GENERIC) { /* entry by entry, each with its certified bound */
        for (size_t b = 0; b < nb; b++) {
            double v, vd;
            dw_status s = dw_arch_dual(p, act, rx[off], ry[b][off], K[b], &v, &vd, w);
            if (s) return s;
            K[b] = v;
            if (T) T[b] *= vd;
        }
        return DW_OK;
    }
    const size_t side = (3 + 2 * (DW_POLY_MAX_DEGREE + 1)) * (size_t)NBS;
    double *base = w->rows + 2 * (size_t)p->nreg * DW_ARCH_ROWS;
    double *zero = base + 2 * side, *rs = zero + NBS, *rt = rs + NBS;
    memset(zero, 0, NBS * sizeof *zero);
    const dw_pts qx = fields(act, rx, NULL, off, nb, base, zero), qy = fields(act, rx, ry, off, nb, base + side, zero);
    for (size_t b = nb; b < DW_ARCH_ROWS; b++) { /* lanes past the block: harmless values */
        K[b] = 0.0;
        if (T) T[b] = 0.0;
    }
    dw_arch_sweep_diag(p->impl, act, nb, &qx, &qy, rs, rt, K, T);
    for (size_t b = 0; b < nb; b++)
        if (!isfinite(K[b]) || (T && !isfinite(T[b])))
            return dw_fail(DW_ERR_RANGE, "kernel: E[phi(u)phi(v)] for %s overflows at a=%g, b=%g", act->name,
                           rx[off], ry[b][off]);
    return DW_OK;
}

/* A sum's cross terms on the block (arch_branch.c for one pair, P = 1). */
static dw_status cross_block(const arch_prog *p, const arch_op *op, const double *rx, const double *const *ry,
                             size_t nb, double *K, double *T, arch_work *w)
{
    for (int c = 0; c < op->ncross; c++) {
        const arch_cross *x = &op->cross[c];
        const double *K0 = w->rows + (size_t)x->origin * DW_ARCH_ROWS;
        const double *T0 = w->rows + ((size_t)p->nreg + (size_t)x->origin) * DW_ARCH_ROWS;
        const size_t voff = x->var_slot >= 0 ? p->slot[x->var_slot].off : 0;
        const size_t moff = x->md_slot >= 0 ? p->slot[x->md_slot].off : 0;
        for (size_t b = 0; b < nb; b++) {
            double k, t;
            if (!x->fa && !x->fb) {
                k = K0[b];
                t = T ? T0[b] : 0.0;
            } else if (!x->fa || !x->fb) { /* E[u phi(v)] = Sigma0 E[phi'(v)], or its mirror */
                const double m = !x->fa ? ry[b][moff] : rx[moff];
                k = K0[b] * m;
                t = T ? T0[b] * m : 0.0;
            } else {
                double v, vd;
                dw_status s = dw_arch_dual(p, x->fa, rx[voff], ry[b][voff], K0[b], &v, &vd, w);
                if (s) return s;
                k = v;
                t = T ? vd * T0[b] : 0.0;
            }
            K[b] += x->s * k;
            if (T) T[b] += x->s * t;
        }
    }
    return DW_OK;
}

dw_status dw_arch_run_rows(const arch_prog *p, arch_work *w, const double *x, const double *rx, const double *Yb,
                           const double *const *ry, size_t nb, size_t d, double *k, double *t)
{
    const bool want_t = t != NULL;
    for (size_t i = 0; i < p->nop; i++) {
        const arch_op *op = &p->op[i];
        double *K = w->rows + (size_t)op->reg * DW_ARCH_ROWS;
        double *T = want_t ? w->rows + ((size_t)p->nreg + (size_t)op->reg) * DW_ARCH_ROWS : NULL;
        dw_status s = DW_OK;
        switch (op->k) {
        case OP_INPUT: /* x . y_b / d: the flattened input, or a vector input (one position of d channels) */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, (int)d, 1.0 / (double)d, Yb, (int)d, x, 1, 0.0, K, 1);
            if (T) memset(T, 0, nb * sizeof *T);
            break;
        case OP_DENSE:
            dw_arch_affine(op, nb, K, T);
            break;
        case OP_ACT:
            s = act_block(p, op, rx, ry, nb, K, T, w);
            break;
        case OP_LN: {
            const size_t off = p->slot[op->slot].off;
            for (size_t b = 0; b < nb; b++) dw_arch_ln(op, false, rx + off, ry[b] + off, K + b, T ? T + b : NULL);
            break;
        }
        case OP_SCALE:
            for (size_t b = 0; b < nb; b++) K[b] *= op->wv;
            if (T)
                for (size_t b = 0; b < nb; b++) T[b] *= op->wv;
            break;
        case OP_COPY:
            if (op->src >= 0) {
                memcpy(K, w->rows + (size_t)op->src * DW_ARCH_ROWS, nb * sizeof *K);
                if (T) memcpy(T, w->rows + ((size_t)p->nreg + (size_t)op->src) * DW_ARCH_ROWS, nb * sizeof *T);
            }
            break;
        case OP_SUM:
            for (int a = 1; a < op->nsrc; a++) {
                const double *Ka = w->rows + (size_t)op->srcs[a] * DW_ARCH_ROWS;
                const double *Ta = w->rows + ((size_t)p->nreg + (size_t)op->srcs[a]) * DW_ARCH_ROWS;
                for (size_t b = 0; b < nb; b++) K[b] += Ka[b];
                if (T)
                    for (size_t b = 0; b < nb; b++) T[b] += Ta[b];
            }
            s = cross_block(p, op, rx, ry, nb, K, T, w);
            break;
        default: /* DROPOUT between distinct inputs, GPOOL / FLATTEN of one position: the identity */
            break;
        }
        if (s) return s;
    }
    memcpy(k, w->rows, nb * sizeof *k);
    if (t) memcpy(t, w->rows + (size_t)p->nreg * DW_ARCH_ROWS, nb * sizeof *t);
    return DW_OK;
}
