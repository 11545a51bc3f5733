/* Convolutions of the architecture engine (theory.md 7): with weights shared across positions, the covariance
 * of output positions (I, J) averages the input's over the filter offsets a applied to BOTH positions,
 * Sigma'_IJ = (1/|w|) sum_a Sigma_{Is+a-lo, Js+a-lo}, positions outside the input (zero padding) counting as
 * zeros and CIRCULAR padding wrapping around (Neural Tangents' conventions). On FULL registers the average is
 * separable over the spatial axes (one axis at a time); on DIAG ones each output position gathers its window. */
#include "kernels/arch.h"

#include <string.h>

/* The input index for output index I and offset t, or -1 outside (zero padding). */
static inline long src_index(size_t I, size_t t, size_t s, size_t lo, size_t N, bool circ)
{
    long i = (long)(I * s + t) - (long)lo;
    if (circ) {
        i %= (long)N;
        return i < 0 ? i + (long)N : i;
    }
    return i >= 0 && i < (long)N ? i : -1;
}

/* The output indices J < O whose input index src_index(J, t) exists, as runs of consecutive J on which the input
 * index is J s + off: one run with zero padding, at most three where CIRCULAR wraps (J s + t - lo spans less than
 * N + s). The inner loops then add contiguous (s = 1) segments, which the compiler vectorises. */
typedef struct conv_run {
    size_t J0, J1;
    long off;
} conv_run;
enum { RUNS_MAX = 4, RUNS_WINDOW = 64 };

static int runs_of(size_t t, size_t O, size_t s, size_t lo, size_t N, bool circ, conv_run *r)
{
    int n = 0;
    for (size_t J = 0; J < O; J++) {
        const long j = src_index(J, t, s, lo, N, circ);
        if (j < 0) continue;
        if (n && r[n - 1].J1 == J && (long)(J * s) + r[n - 1].off == j)
            r[n - 1].J1++;
        else if (n < RUNS_MAX)
            r[n++] = (conv_run){J, J + 1, j - (long)(J * s)};
    }
    return n;
}

/* out[.. I ..][.. J ..] += in[.. i ..][.. j ..] over the runs of one offset t, for every (a2, b2). */
static void add_runs(double *orow, const double *irow, size_t A, size_t N, size_t B, size_t O, size_t s,
                     const conv_run *r, int nr)
{
    for (size_t a2 = 0; a2 < A; a2++) {
        double *oa = orow + a2 * O * B;
        const double *ia = irow + a2 * N * B;
        for (int q = 0; q < nr; q++) {
            const size_t J0 = r[q].J0, J1 = r[q].J1;
            const long off = r[q].off;
            if (B == 1 && s == 1) {
                const double *src = ia + off;
                for (size_t J = J0; J < J1; J++) oa[J] += src[J];
            } else {
                for (size_t J = J0; J < J1; J++) {
                    double *od = oa + J * B;
                    const double *id = ia + (size_t)((long)(J * s) + off) * B;
                    for (size_t b2 = 0; b2 < B; b2++) od[b2] += id[b2];
                }
            }
        }
    }
}

/* FULL: in is [A][N][B] x [A][N][B], out [A][O][B] x [A][O][B]. */
static void axis_full(const double *in, double *out, size_t A, size_t N, size_t B, size_t O, size_t f, size_t s,
                      size_t lo, bool circ)
{
    const size_t Pin = A * N * B, Pout = A * O * B;
    const double inv = 1.0 / (double)f;
    conv_run R[RUNS_WINDOW * RUNS_MAX], local[RUNS_MAX];
    int nR[RUNS_WINDOW];
    const bool table = f <= RUNS_WINDOW;
    for (size_t t = 0; table && t < f; t++) nR[t] = runs_of(t, O, s, lo, N, circ, R + t * RUNS_MAX);
    memset(out, 0, Pout * Pout * sizeof *out);
    for (size_t a1 = 0; a1 < A; a1++)
        for (size_t I = 0; I < O; I++)
            for (size_t b1 = 0; b1 < B; b1++) {
                double *orow = out + ((a1 * O + I) * B + b1) * Pout;
                for (size_t t = 0; t < f; t++) {
                    const long i = src_index(I, t, s, lo, N, circ);
                    if (i < 0) continue;
                    const double *irow = in + ((a1 * N + (size_t)i) * B + b1) * Pin;
                    if (table)
                        add_runs(orow, irow, A, N, B, O, s, R + t * RUNS_MAX, nR[t]);
                    else
                        add_runs(orow, irow, A, N, B, O, s, local, runs_of(t, O, s, lo, N, circ, local));
                }
                for (size_t q = 0; q < Pout; q++) orow[q] *= inv;
            }
}

/* FULL registers: the filter average of one array, axis by axis (ping-pong between a and tmp; the result ends in a). */
static void conv_unscaled(const arch_op *op, double *a, double *tmp)
{
    size_t dims[DW_NET_SPATIAL_MAX];
    const int r = op->in.rank;
    memcpy(dims, op->in.dim, sizeof dims);
    const bool circ = op->l->padding == DW_PAD_CIRCULAR;
    double *src = a, *dst = tmp;
    for (int k = 0; k < r; k++) {
        size_t A = 1, B = 1;
        for (int q = 0; q < k; q++) A *= dims[q];
        for (int q = k + 1; q < r; q++) B *= dims[q];
        const size_t O = op->out.dim[k];
        axis_full(src, dst, A, dims[k], B, O, op->l->window[k], op->l->stride[k], op->lo[k], circ);
        dims[k] = O;
        double *x = src;
        src = dst;
        dst = x;
    }
    if (src != a) {
        memcpy(a, src, op->out.P * op->out.P * sizeof *a);
    }
}

/* DIAG registers: each output position averages the input positions its window covers, read from a table built
 * once per program (a direct gather beats the axis-by-axis passes on the short axes of images). */
dw_status dw_arch_conv_table(arch_op *op)
{
    const int r = op->in.rank;
    size_t gw = 1;
    for (int k = 0; k < r; k++) gw *= op->l->window[k];
    op->gw = gw;
    /* compressed rows: output o reads gidx[gptr[o] .. gptr[o + 1]) (padding positions left out) */
    op->gptr = dw_alloc(op->out.P + 1, sizeof *op->gptr, "kernel program");
    op->gidx = dw_alloc(op->out.P * gw + 1, sizeof *op->gidx, "kernel program");
    if (!op->gptr || !op->gidx) return DW_ERR_NOMEM;
    const bool circ = op->l->padding == DW_PAD_CIRCULAR;
    size_t n = 0;
    for (size_t o = 0; o < op->out.P; o++) {
        op->gptr[o] = n;
        for (size_t a = 0; a < gw; a++) {
            size_t orem = o, arem = a, idx = 0;
            bool inside = true;
            for (int k = r - 1; k >= 0 && inside; k--) { /* row-major: the last axis varies fastest */
                const size_t I = orem % op->out.dim[k], t = arem % op->l->window[k];
                orem /= op->out.dim[k];
                arem /= op->l->window[k];
                const long i = src_index(I, t, op->l->stride[k], op->lo[k], op->in.dim[k], circ);
                size_t stride = 1;
                for (int q = k + 1; q < r; q++) stride *= op->in.dim[q];
                if (i < 0)
                    inside = false;
                else
                    idx += (size_t)i * stride;
            }
            if (inside) op->gidx[n++] = idx;
        }
    }
    op->gptr[op->out.P] = n;
    return DW_OK;
}

/* K (and T) through the table, into tmp, then back. */
static void conv_gather(const arch_op *op, double *K, double *T, double *tmp)
{
    const size_t Po = op->out.P;
    const double inv = 1.0 / (double)op->gw;
    double *tk = tmp, *tt = tmp + Po;
    for (size_t o = 0; o < Po; o++) {
        const size_t *g = op->gidx + op->gptr[o], c = op->gptr[o + 1] - op->gptr[o];
        double s = 0.0, u = 0.0;
        if (T)
            for (size_t t = 0; t < c; t++) s += K[g[t]], u += T[g[t]];
        else
            for (size_t t = 0; t < c; t++) s += K[g[t]];
        tk[o] = s * inv;
        tt[o] = u * inv;
    }
    memcpy(K, tk, Po * sizeof *K);
    if (T) memcpy(T, tt, Po * sizeof *T);
}

void dw_arch_conv(const arch_op *op, bool full, double *K, double *T, double *tmp)
{
    if (!full) { /* DIAG: the table dw_arch_compile built */
        /* right after the input Theta is 0: its window sum too */
        conv_gather(op, K, op->t_zero ? NULL : T, tmp);
        if (T && op->t_zero) memset(T, 0, op->out.P * sizeof *T);
        dw_arch_affine(op, op->out.P, K, T);
        return;
    }
    conv_unscaled(op, K, tmp);
    if (T) conv_unscaled(op, T, tmp);
    dw_arch_affine(op, full ? op->out.P * op->out.P : op->out.P, K, T);
}
