/* The architecture engine on a block of pairs at once (theory.md 7.1), for every program on DIAG registers (no
 * pool: the spatial axes end in Flatten, or there are none: residual MLPs, LayerNorm networks, Flatten CNNs).
 * Pair by pair such a program spends its time in per-op overhead on a few numbers; here register r holds, per
 * position, the pairs (x, y_b), b < nb, of one row of the Gram (position-major: lane b of position q at
 * q * DW_ARCH_ROWS + b), so each op is a loop over the block that the compiler vectorises, a convolution's window
 * gather adds whole lanes, and an activation is one call of the vectorised row sweeps per position (x's point
 * against the block's points). The block's per-input fields come from the inputs' records transposed (field by
 * field, inputs contiguous: dw_arch_records_t), and so do the inputs, so no gather is needed. Each entry is the
 * pair-by-pair run's arithmetic, lane by lane (the same bits), a flattened input's dot products included (the
 * caller's, for a group of rows at once: the sweeps' dots, whose sums are dw_arch_input's). */
#include "kernels/arch.h"

#include <math.h>
#include <string.h>

enum { R = DW_ARCH_ROWS, NBS = DW_ARCH_ROWS + DW_PAD, ROWS_MAX_DOUBLES = 1 << 21 };

/* Tests only: route every program pair by pair (the reference the block runner is checked against). */
bool dw_arch_rows_disabled = false;

static size_t regs_len(const arch_prog *p) { return 2 * (size_t)p->nreg * p->maxP * R; }

bool dw_arch_rows_ok(const arch_prog *p)
{
    if (p->full || dw_arch_rows_disabled) return false;
    for (size_t i = 0; i < p->nop; i++)
        if (p->op[i].k == OP_POOL) return false;
    /* per worker the registers and a convolution's scratch: the block stays a few MiB */
    return regs_len(p) + 2 * p->maxP * R <= ROWS_MAX_DOUBLES;
}

size_t dw_arch_rows_len(const arch_prog *p)
{
    /* registers K, T; a convolution's two outputs; zeros and the sweeps' state s, t */
    return regs_len(p) + 2 * p->maxP * R + 3 * (size_t)NBS;
}

void dw_arch_records_t(const double *rec, size_t n, size_t len, double *t)
{
    const size_t ld = n + R;
    for (size_t j = 0; j < ld; j++) { /* padding lanes: the last input's record (harmless values) */
        const double *r = rec + (j < n ? j : n - 1) * len;
        for (size_t f = 0; f < len; f++) t[f * ld + j] = r[f];
    }
}

/* The input's covariance per position, as dw_arch_input: flattened, the block's dot products xin (the caller's,
 * by the sweeps' dots: dw_arch_input's arithmetic); else from the inputs transposed (yt: feature f of lane b at
 * yt[f * ld + b]); lanes past the block 0 (harmless in every later op). */
static void input_block(const arch_op *op, const double *x, const double *xin, const double *yt, size_t ld,
                        size_t nb, size_t d, double *K, double *T)
{
    const size_t P = op->out.P;
    if (nb < R) /* lanes past the block */
        for (size_t q = 0; q < P; q++) memset(K + q * R + nb, 0, (R - nb) * sizeof *K);
    if (T) memset(T, 0, P * R * sizeof *T);
    if (op->flat) {
        memcpy(K, xin, nb * sizeof *K);
        return;
    }
    const size_t C = d / P;
    const double inv = 1.0 / (double)C;
    for (size_t q = 0; q < P; q++) {
        double *restrict Kq = K + q * R;
        const double *xq = x + q * C;
        if (C == 1) {
            const double *restrict y = yt + q * ld;
            for (size_t b = 0; b < nb; b++) Kq[b] = xq[0] * y[b];
            continue;
        }
        for (size_t b = 0; b < nb; b++) Kq[b] = 0.0;
        for (size_t c = 0; c < C; c++) {
            const double *restrict y = yt + (q * C + c) * ld;
            for (size_t b = 0; b < nb; b++) Kq[b] += xq[c] * y[b];
        }
        for (size_t b = 0; b < nb; b++) Kq[b] *= inv;
    }
}

/* o[b] += a[b] over the lanes (distinct arrays): the loop of sums. The lane loops are also built for AVX2. */
DW_LANES static void add_lanes(double *restrict o, const double *restrict a)
{
    for (size_t b = 0; b < R; b++) o[b] += a[b];
}

DW_LANES static void scale_lanes(double *restrict o, double c)
{
    for (size_t b = 0; b < R; b++) o[b] *= c;
}

/* One output position of a convolution: the mean of its window's c input positions g[.] of in, lane by lane (a
 * call per position: inlined, GCC unrolls and jams the two loops into gathers). */
static void window_lanes(const size_t *g, size_t c, double inv, const double *in, double *o)
{
    memset(o, 0, R * sizeof *o);
    for (size_t a = 0; a < c; a++) add_lanes(o, in + g[a] * R);
    scale_lanes(o, inv);
}

/* Whether the first n lanes are all finite: a * 0 is 0 for finite a and NaN otherwise, summed on 8 chains. */
DW_LANES static bool lanes_finite(const double *restrict a, size_t n)
{
    double acc[8] = {0.0};
    size_t b = 0;
    for (; b + 8 <= n; b += 8)
        for (size_t u = 0; u < 8; u++) acc[u] += a[b + u] * 0.0;
    for (; b < n; b++) acc[0] += a[b] * 0.0;
    double s = 0.0;
    for (size_t u = 0; u < 8; u++) s += acc[u];
    return s == 0.0;
}

/* A convolution on DIAG registers through its window table (dw_arch_conv_table), whole lanes at a time. */
static void conv_block(const arch_op *op, double *K, double *T, double *tmp)
{
    const size_t Po = op->out.P;
    const double inv = 1.0 / (double)op->gw;
    const bool t = T && !op->t_zero;
    double *tk = tmp, *tt = tmp + Po * R;
    for (size_t o = 0; o < Po; o++) {
        const size_t *g = op->gidx + op->gptr[o], c = op->gptr[o + 1] - op->gptr[o];
        window_lanes(g, c, inv, K, tk + o * R);
        if (t) window_lanes(g, c, inv, T, tt + o * R);
    }
    memcpy(K, tk, Po * R * sizeof *K);
    if (T) {
        if (t)
            memcpy(T, tt, Po * R * sizeof *T);
        else
            memset(T, 0, Po * R * sizeof *T);
    }
    dw_arch_affine(op, Po * R, K, T);
}

/* Flatten, or a global pool of DIAG registers: the mean (sum) over positions, lane by lane. */
static void flatten_block(const arch_op *op, double *K)
{
    const size_t P = op->in.P;
    for (size_t q = 1; q < P; q++) add_lanes(K, K + q * R);
    if (op->k == OP_FLATTEN || op->l->average)
        for (size_t b = 0; b < R; b++) K[b] /= (double)P;
}

/* check: look for a non-finite entry after the closed forms (the error naming the activation); the fast run does
 * not, and looks once at the program's output instead (dw_arch_run_rows). */
static dw_status act_block(const arch_prog *p, const arch_op *op, const double *rx, const double *ty, size_t ld,
                           size_t nb, double *K, double *T, arch_work *w, bool check)
{
    const dw_act *act = op->act;
    const size_t P = op->in.P, off = p->slot[op->slot].off;
    const double *vx = rx + off;
    if (act->fam == DW_FAM_GENERIC) { /* entry by entry, each with its certified bound */
        for (size_t q = 0; q < P; q++)
            for (size_t b = 0; b < nb; b++) {
                double v, vd;
                dw_status s = dw_arch_dual(p, act, vx[q], ty[(off + q) * ld + b], K[q * R + b], &v, &vd, w);
                if (s) return s;
                K[q * R + b] = v;
                if (T) T[q * R + b] *= vd;
            }
        return DW_OK;
    }
    double *zero = w->rows + regs_len(p) + 2 * p->maxP * R, *rs = zero + NBS, *rt = rs + NBS; /* dw_arch_rows_len */
    const bool homog = dw_act_homogeneous(act);
    if (!homog) memset(zero, 0, NBS * sizeof *zero); /* the smooth sweeps read zero fields; the covariance form not */
    const size_t S = dw_arch_act_stride(P);
    const dw_pts qx = dw_arch_act_pts(act, vx, S, zero);
    dw_step st;
    dw_act_dual_step(act, T != NULL, &st);
    for (size_t q = 0; q < P; q++) {
        /* x's point q against the block's points q: the row sweeps (as a FULL register's row) */
        const dw_pts qy = dw_arch_act_pts(act, ty + (off + q) * ld, S * ld, zero);
        double *c = K + q * R, *th = T ? T + q * R : NULL;
        if (homog) {
            p->impl->homog_cov_row(&st, nb, &qx, q, &qy, 0, c, th);
        } else {
            p->impl->smooth(&st, nb, &qx, q, &qy, 0, rs, rt, c, th);
        }
        if (check && (!lanes_finite(c, nb) || (th && !lanes_finite(th, nb))))
            for (size_t b = 0; b < nb; b++)
                if (!isfinite(c[b]) || (th && !isfinite(th[b])))
                    return dw_fail(DW_ERR_RANGE, "kernel: E[phi(u)phi(v)] for %s overflows at a=%g, b=%g",
                                   act->name, vx[q], ty[(off + q) * ld + b]);
    }
    return DW_OK;
}

/* LayerNorm: the lanes times the two sides' factors (dw_arch_ln_fields), fx of x's point, fy[b] of the block's. */
DW_LANES static void ln_lanes(double fx, const double *restrict fy, size_t nb, double *restrict K,
                              double *restrict T)
{
    for (size_t b = 0; b < nb; b++) {
        const double c = fx * fy[b];
        K[b] *= c;
        if (T) T[b] *= c;
    }
}

static void ln_block(const arch_prog *p, const arch_op *op, const double *rx, const double *ty, size_t ld,
                     size_t nb, double *K, double *T)
{
    const size_t P = op->in.P, off = p->slot[op->slot].off + P; /* the factors */
    if (op->l->spatial) { /* one factor per input */
        for (size_t q = 0; q < P; q++) ln_lanes(rx[off], ty + off * ld, nb, K + q * R, T ? T + q * R : NULL);
        return;
    }
    for (size_t q = 0; q < P; q++)
        ln_lanes(rx[off + q], ty + (off + q) * ld, nb, K + q * R, T ? T + q * R : NULL);
}

/* A sum's cross terms on the block (dw_arch_cross_entry, as arch_branch.c for one pair). */
static dw_status cross_block(const arch_prog *p, const arch_op *op, const double *rx, const double *ty, size_t ld,
                             size_t nb, double *K, double *T, arch_work *w)
{
    const size_t P = op->in.P, len = p->maxP * R;
    for (int c = 0; c < op->ncross; c++) {
        const arch_cross *x = &op->cross[c];
        const double *K0 = w->rows + (size_t)x->origin * len;
        const double *T0 = w->rows + ((size_t)p->nreg + (size_t)x->origin) * len;
        const size_t voff = x->var_slot >= 0 ? p->slot[x->var_slot].off : 0;
        const size_t moff = x->md_slot >= 0 ? p->slot[x->md_slot].off : 0;
        const bool v = x->var_slot >= 0, m = x->md_slot >= 0;
        for (size_t q = 0; q < P; q++)
            for (size_t b = 0; b < nb; b++) {
                const size_t e = q * R + b;
                double k, t;
                dw_status s = dw_arch_cross_entry(p, x, K0[e], T ? T0[e] : 0.0, v ? rx[voff + q] : 0.0,
                                                  v ? ty[(voff + q) * ld + b] : 0.0, m ? rx[moff + q] : 0.0,
                                                  m ? ty[(moff + q) * ld + b] : 0.0, w, &k, &t);
                if (s) return s;
                K[e] += x->s * k;
                if (T) T[e] += x->s * t;
            }
    }
    return DW_OK;
}

static dw_status run_rows(const arch_prog *p, arch_work *w, const double *x, const double *rx, const double *xin,
                          const double *yt, const double *ty, size_t ld, size_t nb, size_t d, double *k, double *t,
                          bool check, bool *finite)
{
    const bool want_t = t != NULL;
    const size_t len = p->maxP * R;
    double *conv_tmp = w->rows + regs_len(p);
    for (size_t i = 0; i < p->nop; i++) {
        const arch_op *op = &p->op[i];
        double *K = w->rows + (size_t)op->reg * len;
        double *T = want_t ? w->rows + ((size_t)p->nreg + (size_t)op->reg) * len : NULL;
        const size_t n = op->in.P * R;
        dw_status s = DW_OK;
        switch (op->k) {
        case OP_INPUT: /* Theta^0 = 0, unread when a convolution that knows it follows (t_zero) */
            input_block(op, x, xin, yt, ld, nb, d, K,
                        i + 1 < p->nop && p->op[i + 1].k == OP_CONV && p->op[i + 1].t_zero ? NULL : T);
            break;
        case OP_DENSE:
            dw_arch_affine(op, n, K, T);
            break;
        case OP_CONV:
            conv_block(op, K, T, conv_tmp);
            break;
        case OP_GPOOL:
        case OP_FLATTEN:
            flatten_block(op, K);
            if (T) flatten_block(op, T);
            break;
        case OP_ACT:
            s = act_block(p, op, rx, ty, ld, nb, K, T, w, check);
            break;
        case OP_LN:
            ln_block(p, op, rx, ty, ld, nb, K, T);
            break;
        case OP_SCALE:
            for (size_t b = 0; b < n; b++) K[b] *= op->wv;
            if (T)
                for (size_t b = 0; b < n; b++) T[b] *= op->wv;
            break;
        case OP_COPY:
            if (op->src >= 0) {
                memcpy(K, w->rows + (size_t)op->src * len, n * sizeof *K);
                if (T) memcpy(T, w->rows + ((size_t)p->nreg + (size_t)op->src) * len, n * sizeof *T);
            }
            break;
        case OP_SUM:
            for (int a = 1; a < op->nsrc; a++) {
                const double *Ka = w->rows + (size_t)op->srcs[a] * len;
                const double *Ta = w->rows + ((size_t)p->nreg + (size_t)op->srcs[a]) * len;
                for (size_t q = 0; q < op->in.P; q++) {
                    add_lanes(K + q * R, Ka + q * R);
                    if (T) add_lanes(T + q * R, Ta + q * R);
                }
            }
            s = cross_block(p, op, rx, ty, ld, nb, K, T, w);
            break;
        default: /* DROPOUT between distinct inputs: the identity (POOL never reaches the block runner) */
            break;
        }
        if (s) return s;
    }
    const double *ko = w->rows + (size_t)p->out_reg * len;
    const double *to = w->rows + ((size_t)p->nreg + (size_t)p->out_reg) * len;
    memcpy(k, ko, nb * sizeof *k);
    if (t) memcpy(t, to, nb * sizeof *t);
    *finite = lanes_finite(ko, nb) && (!t || lanes_finite(to, nb));
    return DW_OK;
}

/* The program without a finiteness check per activation: a closed form's entry is finite when its inputs' own
 * passes were (which checked theirs: Cauchy-Schwarz bounds a pair's covariances by the two variances), so a
 * non-finite entry is all but impossible here, and one that appears stays non-finite through the later steps (an
 * activation whose input variance is 0 on one side would set it to 0: a net with such a layer after an overflow
 * then returns its finite output). When the output has a non-finite entry the block runs again with the checks,
 * for the error naming the activation where it first appeared (or, if none has one, the same output). */
dw_status dw_arch_run_rows(const arch_prog *p, arch_work *w, const double *x, const double *rx, const double *xin,
                           const double *yt, const double *ty, size_t ld, size_t nb, size_t d, double *k, double *t)
{
    bool finite;
    dw_status s = run_rows(p, w, x, rx, xin, yt, ty, ld, nb, d, k, t, false, &finite);
    if (s || finite) return s;
    return run_rows(p, w, x, rx, xin, yt, ty, ld, nb, d, k, t, true, &finite);
}
