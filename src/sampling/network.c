/* Finite-width networks (MATH.md 1.1, 1.3, 2): weights, forward passes, empirical NNGP / NTK Gram matrices.
 *
 * Work is split into items whose results depend only on their own keys, never on the thread that runs them:
 *   A. weights: (sample, layer, row block of W) drawn from the stream (seed, sample, layer, row block);
 *   B. forward, layer by layer: (sample, DW_FWD_ROWS input rows, DW_FWD_COLS units), one GEMM each; then
 *      back-propagation: (sample, block of DW_NET_ROWS input rows), one GEMM per layer;
 *   C. Gram tiles: (sample, row tile, column tile >= row tile), a few GEMMs per layer on cached operands.
 * Results are then consumed in sample order, so outputs and reductions are bit-identical for any thread count.
 *
 * Complex-gaussian weights: the complex network h^{l+1} = W phi_c(h^l) + b with phi_c(h) = (phi(sqrt2 Re h) +
 * i phi(sqrt2 Im h))/sqrt2 is run as the real network on u = sqrt2 (Re h, Im h) (width 2N):
 *   u^1 = (sigma_w/sqrt d) [G1; G2] x + sigma_b (b1, b2),
 *   u^{l+1} = (sigma_w/sqrt(2 n_l)) [[G1, -G2], [G2, G1]] phi(u^l) + sigma_b (b1, b2),
 * with W-hat = (G1 + i G2)/sqrt2, b-hat = (b1 + i b2)/sqrt2; the outputs are f = (u_re + i u_im)/sqrt2 and the
 * NNGP Gram is Re E[f(x) conj f(y) | hidden layers] = (sigma_w^2/(2 n_L)) phi(u^L(x)).phi(u^L(y)) + sigma_b^2.
 */
#include "act/act.h"
#include "sampling/sampling.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DW_NET_ROWS 256 /* input rows per back-propagation item (large: OpenBLAS packs W once per call) */
#define DW_NET_TILE 128 /* Gram tile */
#define DW_FWD_COLS 512 /* forward pass: output units per work item */
#define DW_FWD_ROWS 512 /* forward pass: input rows per work item (each GEMM packs its block of W once for them) */
#define DW_MAX_DEPTH 10000

typedef struct {
    int L;
    size_t n, d, dout;     /* points, input dimension, real output dimension rw[L+1] */
    size_t *rw;            /* real widths rw[0..L+1] (complex: hidden and output doubled) */
    size_t *cw;            /* widths as given (complex counts) */
    double *wv, *bv;       /* per layer, index 1..L+1 */
    int cplx, standard, gauss1;
    dw_sample_law law;
    const dw_act *act;
    uint64_t seed;
    int ntk, nngp;
    /* offsets (in doubles) inside one sample's work space */
    size_t *offW, *offb, *offA, *offD, *offG, offF, offGram, total;
} net;

typedef struct {
    double *base;
} ws;

static void net_clear(net *t)
{
    free(t->rw);
    free(t->cw);
    free(t->wv);
    free(t->bv);
    free(t->offW);
    free(t->offb);
    free(t->offA);
    free(t->offD);
    free(t->offG);
    memset(t, 0, sizeof *t);
}

static dw_status check_values(const char *what, size_t count, const double *v, size_t need)
{
    if (count != 1 && count != need)
        return dw_fail(DW_ERR_INVALID, "%s: expected 1 or %zu per-layer values, got %zu", what, need, count);
    if (!v) return dw_fail(DW_ERR_INVALID, "%s: NULL values", what);
    for (size_t k = 0; k < count; k++)
        if (!isfinite(v[k]) || v[k] < 0)
            return dw_fail(DW_ERR_INVALID, "%s: value %zu (%g) must be non-negative and finite", what, k + 1, v[k]);
    return DW_OK;
}

/* Validate options and lay out one sample's work space. X may be NULL (size estimates). */
static dw_status net_init(net *t, const dw_sample_opts *o, size_t n, size_t d, dw_sample_gram gram)
{
    memset(t, 0, sizeof *t);
    if (!o) return dw_fail(DW_ERR_INVALID, "sample: NULL options");
    if (o->depth < 0) return dw_fail(DW_ERR_INVALID, "depth: must be >= 0 (got %d)", o->depth);
    if (o->depth > DW_MAX_DEPTH) return dw_fail(DW_ERR_INVALID, "depth: %d is above the maximum %d", o->depth, DW_MAX_DEPTH);
    if (!o->act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    if (o->out_dim < 1) return dw_fail(DW_ERR_INVALID, "out_dim: must be >= 1 (got %zu)", o->out_dim);
    if (gram != DW_SAMPLE_NO_GRAM && gram != DW_SAMPLE_NNGP && gram != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "gram: unknown kind %d", (int)gram);
    if (o->param != DW_PARAM_NTK && o->param != DW_PARAM_STANDARD)
        return dw_fail(DW_ERR_INVALID, "param: unknown parameterisation %d", (int)o->param);
    const dw_sample_law *law = &o->law;
    if ((unsigned)law->kind > DW_SAMPLE_ORTHOGONAL) return dw_fail(DW_ERR_INVALID, "law: unknown kind %d", (int)law->kind);
    if (law->kind == DW_SAMPLE_STUDENT_T && !(law->param > 2 && isfinite(law->param)))
        return dw_fail(DW_ERR_INVALID, "law student-t: nu = %g must be > 2", law->param);
    if (law->kind == DW_SAMPLE_SPARSE && !(law->param > 0 && law->param <= 1))
        return dw_fail(DW_ERR_INVALID, "law sparse: p = %g must be in (0, 1]", law->param);
    if (dw_law_complex(law) && gram == DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID,
                       "gram ntk: the empirical NTK is not defined for complex-gaussian weights (use the NNGP)");
    const size_t L1 = (size_t)o->depth + 1;
    dw_status s = check_values("weight_var", o->n_weight_var, o->weight_var, L1);
    if (!s) s = check_values("bias_var", o->n_bias_var, o->bias_var, L1);
    if (s) return s;
    if (o->depth > 0) {
        if (o->n_width != 1 && o->n_width != (size_t)o->depth)
            return dw_fail(DW_ERR_INVALID, "width: expected 1 or %d hidden widths, got %zu", o->depth, o->n_width);
        if (!o->width) return dw_fail(DW_ERR_INVALID, "width: the hidden width(s) must be given");
        for (size_t k = 0; k < o->n_width; k++)
            if (o->width[k] < 1) return dw_fail(DW_ERR_INVALID, "width: value %zu is %zu, must be >= 1", k + 1, o->width[k]);
    }
    t->L = o->depth;
    t->n = n;
    t->d = d;
    t->cplx = dw_law_complex(law);
    t->standard = o->param == DW_PARAM_STANDARD;
    t->law = *law;
    t->gauss1 = o->gaussian_input_layer && !t->cplx;
    t->act = o->act;
    t->seed = o->seed;
    t->ntk = gram == DW_SAMPLE_NTK;
    t->nngp = gram == DW_SAMPLE_NNGP;
    const size_t L2 = L1 + 1;
    t->rw = dw_alloc(L2, sizeof(size_t), "layer widths");
    t->cw = dw_alloc(L2, sizeof(size_t), "layer widths");
    t->wv = dw_alloc(L2, sizeof(double), "layer variances");
    t->bv = dw_alloc(L2, sizeof(double), "layer variances");
    t->offW = dw_alloc(L2, sizeof(size_t), "offsets");
    t->offb = dw_alloc(L2, sizeof(size_t), "offsets");
    t->offA = dw_alloc(L2, sizeof(size_t), "offsets");
    t->offD = dw_alloc(L2, sizeof(size_t), "offsets");
    t->offG = dw_alloc(L2, sizeof(size_t), "offsets");
    if (!t->rw || !t->cw || !t->wv || !t->bv || !t->offW || !t->offb || !t->offA || !t->offD || !t->offG) {
        net_clear(t);
        return DW_ERR_NOMEM;
    }
    const size_t m = t->cplx ? 2 : 1;
    t->cw[0] = t->rw[0] = d;
    for (size_t l = 1; l <= L1; l++) {
        t->cw[l] = l == L1 ? o->out_dim : o->width[o->n_width == 1 ? 0 : l - 1];
        if (t->cw[l] > ((size_t)1 << 40)) {
            net_clear(t);
            return dw_fail(DW_ERR_NOMEM, "width: %zu is too large", t->cw[l]);
        }
        t->rw[l] = m * t->cw[l];
        t->wv[l] = o->weight_var[o->n_weight_var == 1 ? 0 : l - 1];
        t->bv[l] = o->bias_var[o->n_bias_var == 1 ? 0 : l - 1];
    }
    t->dout = t->rw[L1];
    /* BLAS takes int dimensions: the widest operand is a row of g^l, d_out * n_l doubles */
    for (size_t l = 0; l <= L1; l++)
        if ((double)t->rw[l] * (double)(l > 0 && l < L1 ? t->dout : 1) > (double)INT_MAX || n > (size_t)INT_MAX) {
            size_t bad = n > (size_t)INT_MAX ? n : t->cw[l];
            net_clear(t);
            return dw_fail(DW_ERR_INVALID, "%s: %zu is above the maximum supported by BLAS (%d)",
                           n > (size_t)INT_MAX ? "X: number of points" : l == 0 ? "X: dimension" : "width", bad,
                           INT_MAX);
        }
    /* Layout (sizes checked in doubles before any allocation by the callers). */
    double tot = 0;
    size_t off = 0;
#define ADD(dst, cnt)                                                                                                 \
    do {                                                                                                              \
        double c_ = (double)(cnt);                                                                                    \
        tot += c_;                                                                                                    \
        dst = off;                                                                                                    \
        if (tot < 1e17) off += (size_t)(cnt);                                                                         \
    } while (0)
    for (size_t l = 1; l <= L1; l++) {
        ADD(t->offW[l], (double)t->rw[l] * (double)t->rw[l - 1]);
        ADD(t->offb[l], t->rw[l]);
    }
    for (size_t l = 1; l < L1; l++) {
        ADD(t->offA[l], (double)n * (double)t->rw[l]);
        ADD(t->offD[l], t->ntk ? (double)n * (double)t->rw[l] : 0.0);
        ADD(t->offG[l], t->ntk ? (double)n * (double)t->rw[l] * (double)t->dout : 0.0);
    }
    ADD(t->offF, (double)n * (double)t->dout);
    ADD(t->offGram, gram ? (double)n * (double)n : 0.0);
#undef ADD
    if (tot >= 1e17) {
        net_clear(t);
        dw_status big = dw_core_check_alloc(8.0 * tot, "one sampled network's work space");
        return big ? big : dw_fail(DW_ERR_NOMEM, "one sampled network's work space (%.3g doubles) is too large", tot);
    }
    t->total = off;
    return DW_OK;
}

static const dw_sample_law gaussian_law = {DW_SAMPLE_GAUSSIAN, 0.0};

/* The law of layer l: the run's law, or Gaussian for layer 1 with gaussian_input_layer. */
static const dw_sample_law *layer_law(const net *t, size_t l) { return l == 1 && t->gauss1 ? &gaussian_law : &t->law; }
static int layer_iid(const net *t, size_t l) { return dw_law_iid(layer_law(t, l)); }

/* Bytes of one sample's work space plus per-thread scratch. */
static double net_sample_bytes(const net *t)
{
    size_t mx = 0;
    for (int l = 0; l <= t->L + 1; l++) mx = t->rw[l] > mx ? t->rw[l] : mx;
    return 8.0 * ((double)t->total + (double)DW_NET_ROWS * (double)mx * 2.0);
}

/* ------------------------------------------------------------------------------------------------------------
 * A. weights
 * ---------------------------------------------------------------------------------------------------------- */

/* Rows [r0, r1) (complex: of the complex matrix) of layer l's effective weights, and its bias with block 0. */
static dw_status gen_block(const net *t, double *base, uint64_t sample, int l, size_t r0, size_t r1)
{
    const size_t rin = t->rw[l - 1], rout = t->rw[l];
    double *W = base + t->offW[l], *b = base + t->offb[l];
    const double sw = sqrt(t->wv[l]);
    const dw_sample_law *law = layer_law(t, (size_t)l);
    if (!dw_law_iid(law)) { /* orthogonal: the whole layer at once (r0 == 0) */
        dw_status s = dw_law_matrix(law, t->seed, sample, (uint64_t)l, rout, rin, sw / sqrt((double)rin), W);
        if (s) return s;
    } else if (!t->cplx) {
        dw_law_fill_rows(law, t->seed, sample, (uint64_t)l, r0, r1, rin, sw / sqrt((double)rin), W + r0 * rin, rin);
    } else {
        const size_t cin = t->cw[l - 1], cout = t->cw[l], rows = r1 - r0;
        double *tmp = dw_alloc(rows * 2 * cin, sizeof(double), "complex weight block");
        if (!tmp) return DW_ERR_NOMEM;
        dw_law_fill_rows(&t->law, t->seed, sample, (uint64_t)l, r0, r1, cin, sw / sqrt((double)cin), tmp, 2 * cin);
        for (size_t i = 0; i < rows; i++) {
            const double *z = tmp + i * 2 * cin;
            double *re = W + (r0 + i) * rin, *im = W + (cout + r0 + i) * rin;
            if (l == 1) { /* real inputs: u^1 = sqrt2 h^1 */
                for (size_t j = 0; j < cin; j++) {
                    re[j] = 1.4142135623730951 * z[2 * j];
                    im[j] = 1.4142135623730951 * z[2 * j + 1];
                }
            } else { /* [[Re, -Im], [Im, Re]] acting on (u_re, u_im), the 1/sqrt2 of phi_c folded in */
                for (size_t j = 0; j < cin; j++) {
                    re[j] = z[2 * j];
                    re[cin + j] = -z[2 * j + 1];
                    im[j] = z[2 * j + 1];
                    im[cin + j] = z[2 * j];
                }
            }
        }
        free(tmp);
    }
    if (r0 == 0) {
        if (t->bv[l] > 0) {
            const double sb = sqrt(t->bv[l]);
            if (t->cplx) { /* u-bias = sqrt2 sigma_b (Re b-hat, Im b-hat) */
                const size_t cout = t->cw[l];
                double *tmp = dw_alloc(2 * cout, sizeof(double), "complex bias");
                if (!tmp) return DW_ERR_NOMEM;
                dw_law_bias(&t->law, t->seed, sample, (uint64_t)l, cout, tmp);
                for (size_t j = 0; j < cout; j++) {
                    b[j] = 1.4142135623730951 * sb * tmp[2 * j];
                    b[cout + j] = 1.4142135623730951 * sb * tmp[2 * j + 1];
                }
                free(tmp);
            } else {
                dw_law_bias(law, t->seed, sample, (uint64_t)l, rout, b);
                for (size_t j = 0; j < rout; j++) b[j] *= sb;
            }
        } else {
            memset(b, 0, rout * sizeof(double));
        }
    }
    return DW_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * The hot kernel of a dense layer after its GEMM: bias and activation fused in one pass over each row (the row,
 * a few KiB, stays in L1 between the two).
 * ---------------------------------------------------------------------------------------------------------- */

/* For rows i < rows: h = H[i, :] + b (b may be NULL), written back to H; with act, A[i, :] = phi(h) (A may be H)
 * and D[i, :] = phi'(h) if D. check_h: h must be finite (catches non-finite weights or inputs, which a relu would
 * otherwise turn into 0); the outputs must always be finite. Returns the first row that is not, or SIZE_MAX. */
static size_t bias_act_rows(size_t rows, size_t cols, double *H, size_t ldh, const double *b, const dw_act *act,
                            double *A, size_t lda, double *D, size_t ldd, int check_h)
{
    const int relu = act && act->fam == DW_FAM_RELU;
    const double alpha = relu ? act->alpha : 0.0, d0 = relu ? act->d0 : 0.0;
    for (size_t i = 0; i < rows; i++) {
        double *h = H + i * ldh, *a = act ? A + i * lda : h, *d = D ? D + i * ldd : NULL;
        int bad = 0;
        if (b)
            for (size_t j = 0; j < cols; j++) h[j] += b[j];
        if (check_h || !act)
            for (size_t j = 0; j < cols; j++) bad |= !isfinite(h[j]);
        if (relu) { /* dw_act_eval's relu family, inline: relu(-inf) = 0, not 0 * -inf */
            if (alpha == 0.0 && !d) {
                for (size_t j = 0; j < cols; j++) a[j] = h[j] > 0 ? h[j] : 0.0;
            } else {
                for (size_t j = 0; j < cols; j++) {
                    const double x = h[j];
                    if (d) d[j] = x > 0 ? 1.0 : x < 0 ? alpha : d0;
                    a[j] = x > 0 ? x : alpha == 0.0 ? 0.0 : alpha * x;
                }
            }
        } else if (act) {
            (void)dw_act_eval(act, cols, h, a, d); /* cannot fail on valid arguments */
        }
        if (act && !relu)
            for (size_t j = 0; j < cols; j++) bad |= !isfinite(a[j]) || (d && !isfinite(d[j]));
        else if (act && !check_h)
            for (size_t j = 0; j < cols; j++) bad |= !isfinite(a[j]);
        if (bad) return i;
    }
    return SIZE_MAX;
}

/* ------------------------------------------------------------------------------------------------------------
 * B. forward pass and back-propagation on a block of input rows
 * ---------------------------------------------------------------------------------------------------------- */

/* Layer l of one network on input rows [r0, r1) and units [c0, c1): one GEMM straight into the layer's activations
 * (the output f for l = L + 1), then bias and activation (and phi' for the NTK) in place, in one pass over each
 * row. On overflow *row is the first input row that has it. */
static dw_status forward_block(const net *t, double *base, const double *X, int l, size_t r0, size_t r1, size_t c0,
                               size_t c1, uint64_t sample, size_t *row)
{
    const size_t rin = t->rw[l - 1], rout = t->rw[l], rows = r1 - r0, cols = c1 - c0;
    const double *in = l == 1 ? X + r0 * rin : base + t->offA[l - 1] + r0 * rin;
    double *out = (l <= t->L ? base + t->offA[l] : base + t->offF) + r0 * rout + c0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)rin, 1.0, in, (int)rin,
                base + t->offW[l] + c0 * rin, (int)rin, 0.0, out, (int)rout);
    const double *b = t->bv[l] > 0 ? base + t->offb[l] + c0 : NULL;
    if (l <= t->L) {
        double *D = t->ntk ? base + t->offD[l] + r0 * rout + c0 : NULL;
        const size_t bad = bias_act_rows(rows, cols, out, rout, b, t->act, out, rout, D, rout, 0);
        if (bad == SIZE_MAX) return DW_OK;
        *row = r0 + bad;
        return dw_fail(DW_ERR_RANGE,
                       "sample %llu: the activations of layer %d overflow at input row %zu (%s); reduce the depth or "
                       "the variances",
                       (unsigned long long)sample, l, r0 + bad + 1, dw_act_name(t->act));
    }
    const size_t bad = bias_act_rows(rows, cols, out, rout, b, NULL, NULL, 0, NULL, 0, 1);
    if (bad == SIZE_MAX) return DW_OK;
    *row = r0 + bad;
    return dw_fail(DW_ERR_RANGE, "sample %llu: the output overflows at input row %zu", (unsigned long long)sample,
                   r0 + bad + 1);
}

/* Back-propagation (after the forward pass) on input rows [r0, r1). */
static void backprop_rows(const net *t, double *base, size_t r0, size_t r1)
{
    const size_t rows = r1 - r0;
    const int L = t->L;
    /* g^L_k = phi'(h^L) .* W^{L+1}[k, :];  g^{l-1}_k = phi'(h^{l-1}) .* (g^l_k W^l)   (MATH.md 1.3) */
    const size_t dout = t->dout;
    for (size_t k = 0; k < dout; k++) {
        {
            const size_t w = t->rw[L], ld = dout * w;
            const double *D = base + t->offD[L] + r0 * w, *Wk = base + t->offW[L + 1] + k * w;
            double *g = base + t->offG[L] + r0 * ld + k * w;
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < w; j++) g[i * ld + j] = D[i * w + j] * Wk[j];
        }
        for (int l = L; l >= 2; l--) {
            const size_t w = t->rw[l], wp = t->rw[l - 1], ld = dout * w, ldp = dout * wp;
            const double *g = base + t->offG[l] + r0 * ld + k * w, *D = base + t->offD[l - 1] + r0 * wp;
            double *gp = base + t->offG[l - 1] + r0 * ldp + k * wp;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)wp, (int)w, 1.0, g, (int)ld,
                        base + t->offW[l], (int)wp, 0.0, gp, (int)ldp);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < wp; j++) gp[i * ldp + j] *= D[i * wp + j];
        }
    }
}

/* ------------------------------------------------------------------------------------------------------------
 * C. Gram tiles
 * ---------------------------------------------------------------------------------------------------------- */

static void gram_tile(const net *t, double *base, const double *X, size_t i0, size_t i1, size_t j0, size_t j1,
                      double *T1, double *T2)
{
    const size_t ni = i1 - i0, nj = j1 - j0, n = t->n;
    const int L = t->L;
    double *out = base + t->offGram;
#define LAYER_A(l) ((l) == 0 ? X : base + t->offA[l])
    {
        const size_t w = t->rw[L];
        const double *A = LAYER_A(L);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)w, 1.0, A + i0 * w, (int)w,
                    A + j0 * w, (int)w, 0.0, T1, (int)nj);
        const double c = (t->ntk && t->standard) ? 1.0 : t->wv[L + 1] / (double)w;
        const double b = (t->ntk && t->standard) ? (t->bv[L + 1] > 0 ? 1.0 : 0.0) : t->bv[L + 1];
        for (size_t e = 0; e < ni * nj; e++) T1[e] = c * T1[e] + b;
    }
    if (t->ntk) {
        const double inv = 1.0 / (double)t->dout;
        for (int l = 1; l <= L; l++) {
            const size_t wa = t->rw[l - 1], wg = t->dout * t->rw[l];
            const double *A = LAYER_A(l - 1), *G = base + t->offG[l];
            const double c = t->standard ? 1.0 : t->wv[l] / (double)wa;
            const double b = t->standard ? (t->bv[l] > 0 ? 1.0 : 0.0) : t->bv[l];
            double *Tg = T2 + ni * nj;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)wa, 1.0, A + i0 * wa, (int)wa,
                        A + j0 * wa, (int)wa, 0.0, T2, (int)nj);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)wg, inv, G + i0 * wg, (int)wg,
                        G + j0 * wg, (int)wg, 0.0, Tg, (int)nj);
            for (size_t e = 0; e < ni * nj; e++) T1[e] += Tg[e] * (c * T2[e] + b);
        }
    }
#undef LAYER_A
    /* store: upper part (j >= i) from the tile, mirrored, so the Gram is exactly symmetric */
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++) {
            const size_t gi = i0 + i, gj = j0 + j;
            if (gj < gi) continue;
            out[gi * n + gj] = T1[i * nj + j];
            out[gj * n + gi] = T1[i * nj + j];
        }
}

/* ------------------------------------------------------------------------------------------------------------
 * The driver: chunks of samples, three parallel phases, then the consumer in sample order.
 * ---------------------------------------------------------------------------------------------------------- */

typedef dw_status (*consumer_fn)(void *ctx, size_t s, const net *t, const double *base);

typedef struct {
    dw_sample_progress_fn fn;
    void *ctx;
    double offset, unit, total; /* progress = offset + unit * samples done, out of total */
} progress_t;

#define ERR_DECL                                                                                                      \
    dw_status err = DW_OK;                                                                                            \
    size_t err_item = SIZE_MAX;                                                                                       \
    char err_msg[1024] = ""
#define ERR_RECORD(k, s)                                                                                              \
    do {                                                                                                              \
        if (s) {                                                                                                      \
            _Pragma("omp critical(dw_sample_err)") if ((k) < err_item)                                               \
            {                                                                                                         \
                err_item = (k);                                                                                       \
                err = (s);                                                                                            \
                snprintf(err_msg, sizeof err_msg, "%s", dw_error_message());                                         \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

/* Inside our parallel regions every BLAS/LAPACK call must run single-threaded, also in a team of one thread
 * (which OpenMP does not count as parallel): OpenBLAS's OpenMP build takes its thread count from this task's
 * nthreads ICV. Otherwise threads = 1 would let OpenBLAS split GEMMs its own way (other rounding, and its
 * threads spinning against ours). */
static void serial_blas(void)
{
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
}

static dw_status run_core(const net *t, const double *X, size_t S, uint64_t first, int threads_opt,
                          consumer_fn consume, void *cctx, const progress_t *prog)
{
    const int threads = dw_core_threads(threads_opt);
    const double per = net_sample_bytes(t);
    dw_status st = dw_core_check_alloc(per, "one sampled network's work space");
    if (st) return st;
    /* Samples per chunk: at least one per thread; small networks many more (up to 64 MiB of work space), so that
     * the three parallel phases have enough work between their barriers. The chunking changes nothing in the
     * results (every item is keyed by its sample, and the consumer sees the samples in order). */
    const double wsb = 8.0 * (double)(t->total ? t->total : 1);
    size_t chunk = (size_t)threads < S ? (size_t)threads : S;
    if (wsb * (double)chunk < 64.0 * 1048576.0) {
        const double more = floor(64.0 * 1048576.0 / wsb);
        chunk = more < (double)S ? (size_t)more : S;
        if (chunk < 1) chunk = 1;
    }
    const double avail = dw_core_mem_available();
    while (chunk > 1 && (double)chunk * per > 0.5 * avail) chunk--;
    /* huge pages where the kernel gives them: the weights are written once and read by every GEMM */
    if ((double)chunk * (double)(t->total ? t->total : 1) * 8.0 > (double)SIZE_MAX)
        return dw_fail(DW_ERR_NOMEM, "sampled networks: the work space does not fit in memory");
    double *mem = dw_core_alloc_large(chunk * (t->total ? t->total : 1) * sizeof(double), "sampled networks");
    if (!mem) return DW_ERR_NOMEM;
    const int L = t->L;
    const size_t L1 = (size_t)L + 1, n = t->n;
    /* item lists */
    size_t nA = 0, maxA = 0;
    for (size_t l = 1; l <= L1; l++) {
        size_t rows = t->cw[l];
        maxA += layer_iid(t, l) ? (rows + DW_SAMPLE_ROWBLOCK - 1) / DW_SAMPLE_ROWBLOCK : 1;
    }
    const size_t nrb = (n + DW_NET_ROWS - 1) / DW_NET_ROWS, nt = (n + DW_NET_TILE - 1) / DW_NET_TILE;
    const size_t ntiles = nt * (nt + 1) / 2;
    size_t *itA = dw_alloc(maxA, 2 * sizeof(size_t), "work items");
    if (!itA) {
        dw_core_free_large(mem);
        return DW_ERR_NOMEM;
    }
    for (size_t l = 1; l <= L1; l++) {
        size_t rows = t->cw[l], nb = layer_iid(t, l) ? (rows + DW_SAMPLE_ROWBLOCK - 1) / DW_SAMPLE_ROWBLOCK : 1;
        for (size_t b = 0; b < nb; b++) {
            itA[2 * nA] = l;
            itA[2 * nA + 1] = b;
            nA++;
        }
    }
    st = DW_OK;
    for (size_t c0 = 0; c0 < S && !st; c0 += chunk) {
        const size_t cs = S - c0 < chunk ? S - c0 : chunk;
        ERR_DECL;
        /* A: weights */
        const size_t totA = cs * nA;
#pragma omp parallel num_threads(threads)
        {
            serial_blas();
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < totA; k++) {
                const size_t s = k / nA, it = k % nA, l = itA[2 * it], b = itA[2 * it + 1];
                const size_t rows = t->cw[l];
                const int iid = layer_iid(t, l);
                const size_t r0 = iid ? b * DW_SAMPLE_ROWBLOCK : 0;
                const size_t r1 = iid && r0 + DW_SAMPLE_ROWBLOCK < rows ? r0 + DW_SAMPLE_ROWBLOCK : rows;
                dw_status ts = gen_block(t, mem + s * t->total, first + c0 + s, (int)l, r0, r1);
                ERR_RECORD(k, ts);
            }
        }
        if (err) {
            st = dw_fail(err, "%s", err_msg);
            break;
        }
        /* B: the forward pass layer by layer (items: network, DW_FWD_ROWS input rows, DW_FWD_COLS units; each block
         * of W is packed once for all the rows), then back-propagation (items: network, DW_NET_ROWS input rows).
         * The first failure in (network, layer, row) order is reported, whatever the threads; one parallel region a
         * layer, with the check for failures between them. */
        const size_t nrf = (n + DW_FWD_ROWS - 1) / DW_FWD_ROWS, totB = cs * nrb;
        for (int l = 1; l <= L + 1 && !err; l++) {
            const size_t ncb = (t->rw[l] + DW_FWD_COLS - 1) / DW_FWD_COLS, per = nrf * ncb;
#pragma omp parallel num_threads(threads)
            {
                serial_blas();
#pragma omp for schedule(dynamic, 1)
                for (size_t k = 0; k < cs * per; k++) {
                    const size_t s = k / per, rb = k % per / ncb, cb = k % ncb;
                    const size_t r0 = rb * DW_FWD_ROWS, r1 = r0 + DW_FWD_ROWS < n ? r0 + DW_FWD_ROWS : n;
                    const size_t q0 = cb * DW_FWD_COLS, q1 = q0 + DW_FWD_COLS < t->rw[l] ? q0 + DW_FWD_COLS : t->rw[l];
                    size_t row = 0;
                    dw_status ts = forward_block(t, mem + s * t->total, X, l, r0, r1, q0, q1, first + c0 + s, &row);
                    ERR_RECORD((s * (L1 + 1) + (size_t)l) * n + row, ts);
                }
            }
        }
        if (!err && t->ntk && L > 0) {
#pragma omp parallel num_threads(threads)
            {
                serial_blas();
#pragma omp for schedule(dynamic, 1)
                for (size_t k = 0; k < totB; k++) {
                    const size_t s = k / nrb, rb = k % nrb;
                    const size_t r0 = rb * DW_NET_ROWS, r1 = r0 + DW_NET_ROWS < n ? r0 + DW_NET_ROWS : n;
                    backprop_rows(t, mem + s * t->total, r0, r1);
                }
            }
        }
        if (err) {
            st = dw_fail(err, "%s", err_msg);
            break;
        }
        /* C: Gram tiles */
        if (t->nngp || t->ntk) {
            const size_t totC = cs * ntiles;
#pragma omp parallel num_threads(threads)
            {
                serial_blas();
                double *T = dw_alloc(3 * DW_NET_TILE * DW_NET_TILE, sizeof(double), "Gram tile");
#pragma omp for schedule(dynamic, 1)
                for (size_t k = 0; k < totC; k++) {
                    if (!T) {
                        ERR_RECORD(k, DW_ERR_NOMEM);
                        continue;
                    }
                    const size_t s = k / ntiles;
                    size_t q = k % ntiles, ti = 0;
                    while (q >= nt - ti) { /* tile q of the upper triangle: row ti, column tj >= ti */
                        q -= nt - ti;
                        ti++;
                    }
                    const size_t tj = ti + q;
                    const size_t i0 = ti * DW_NET_TILE, i1 = i0 + DW_NET_TILE < n ? i0 + DW_NET_TILE : n;
                    const size_t j0 = tj * DW_NET_TILE, j1 = j0 + DW_NET_TILE < n ? j0 + DW_NET_TILE : n;
                    gram_tile(t, mem + s * t->total, X, i0, i1, j0, j1, T, T + DW_NET_TILE * DW_NET_TILE);
                }
                free(T);
            }
            if (err) {
                st = dw_fail(err, "%s", err_msg);
                break;
            }
        }
        for (size_t s = 0; s < cs && !st; s++) st = consume(cctx, c0 + s, t, mem + s * t->total);
        if (!st && prog && prog->fn &&
            prog->fn(prog->ctx, prog->offset + prog->unit * (double)(c0 + cs), prog->total))
            st = dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
    }
    free(itA);
    dw_core_free_large(mem);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_run
 * ---------------------------------------------------------------------------------------------------------- */

void dw_sample_opts_init(dw_sample_opts *o)
{
    static const double one = 1.0, zero = 0.0;
    memset(o, 0, sizeof *o);
    o->out_dim = 1;
    o->n_weight_var = 1;
    o->weight_var = &one;
    o->n_bias_var = 1;
    o->bias_var = &zero;
    o->param = DW_PARAM_NTK;
    o->law.kind = DW_SAMPLE_GAUSSIAN;
}

typedef struct {
    double *F, *G, *Gse;
    int reduce;
    size_t S;
    double *shift, *s1, *s2; /* reduce: first Gram, sums of deviations from it and of their squares */
} run_ctx;

static dw_status run_consume(void *vc, size_t s, const net *t, const double *base)
{
    run_ctx *c = vc;
    const size_t n = t->n, dout = t->dout;
    if (c->F) {
        const double *u = base + t->offF;
        double *f = c->F + s * n * dout;
        if (!t->cplx) {
            memcpy(f, u, n * dout * sizeof(double));
        } else { /* f = (u_re + i u_im)/sqrt2, (re, im) interleaved */
            const size_t co = dout / 2;
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < co; k++) {
                    f[(i * co + k) * 2] = 0.7071067811865476 * u[i * dout + k];
                    f[(i * co + k) * 2 + 1] = 0.7071067811865476 * u[i * dout + co + k];
                }
        }
    }
    if (!c->G) return DW_OK;
    const double *g = base + t->offGram;
    const size_t nn = n * n;
    for (size_t e = 0; e < nn; e++)
        if (!isfinite(g[e]))
            return dw_fail(DW_ERR_RANGE, "sample %zu: the empirical Gram overflows at entry (%zu, %zu)", s + 1,
                           e / n + 1, e % n + 1);
    if (!c->reduce) {
        memcpy(c->G + s * nn, g, nn * sizeof(double));
        return DW_OK;
    }
    if (s == 0) memcpy(c->shift, g, nn * sizeof(double));
    for (size_t e = 0; e < nn; e++) {
        const double dv = g[e] - c->shift[e];
        c->s1[e] += dv;
        c->s2[e] += dv * dv;
    }
    return DW_OK;
}

static int check_inputs(const double *X, size_t n, size_t d)
{
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i])) {
            dw_fail(DW_ERR_INVALID, "X: row %zu, column %zu is not finite (%g)", i / d + 1, i % d + 1, X[i]);
            return 0;
        }
    return 1;
}

double dw_sample_bytes(const dw_sample_opts *o, size_t n, size_t d, size_t S, int outputs, dw_sample_gram gram,
                       int reduce)
{
    net t;
    dw_status st = net_init(&t, o, n, d, gram);
    if (st) return st == DW_ERR_NOMEM ? INFINITY : -1.0;
    const int threads = dw_core_threads(o->threads);
    const double chunk = (double)(S < (size_t)threads ? S : (size_t)threads);
    double b = chunk * net_sample_bytes(&t);
    const double nn = (double)n * (double)n * 8.0;
    if (outputs) b += (double)S * (double)n * (double)t.dout * 8.0;
    if (gram) b += reduce ? 5.0 * nn : (double)S * nn;
    net_clear(&t);
    return b;
}

dw_status dw_sample_run(const dw_sample_opts *o, const double *X, size_t n, size_t d, size_t S, double *F,
                        dw_sample_gram gram, int reduce, double *G, double *Gse)
{
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (S < 1) return dw_fail(DW_ERR_INVALID, "samples: must be >= 1 (got %zu)", S);
    if (gram && !G) return dw_fail(DW_ERR_INVALID, "gram: no output array G given");
    if (!gram && !F) return dw_fail(DW_ERR_INVALID, "sample: no output requested (F is NULL and no Gram)");
    if (gram && reduce && Gse && S < 2)
        return dw_fail(DW_ERR_INVALID, "samples: the standard error of the mean needs at least 2 samples (got 1)");
    net t;
    dw_status st = net_init(&t, o, n, d, gram);
    if (st) return st;
    if (!check_inputs(X, n, d)) {
        net_clear(&t);
        return DW_ERR_INVALID;
    }
    run_ctx c = {F, gram ? G : NULL, Gse, reduce, S, NULL, NULL, NULL};
    const size_t nn = n * n;
    if (gram && reduce) {
        c.shift = dw_alloc(nn, sizeof(double), "Gram accumulator");
        c.s1 = dw_calloc(nn, sizeof(double), "Gram accumulator");
        c.s2 = dw_calloc(nn, sizeof(double), "Gram accumulator");
        if (!c.shift || !c.s1 || !c.s2) st = DW_ERR_NOMEM;
    }
    progress_t prog = {o->progress, o->progress_ctx, 0.0, 1.0, (double)S};
    if (!st) st = run_core(&t, X, S, o->first_sample, o->threads, run_consume, &c, &prog);
    if (!st && gram && reduce) {
        const double Sd = (double)S;
        for (size_t e = 0; e < nn; e++) {
            const double m1 = c.s1[e] / Sd;
            G[e] = c.shift[e] + m1;
            if (Gse) {
                double var = S > 1 ? (c.s2[e] - c.s1[e] * m1) / (Sd - 1.0) : 0.0;
                Gse[e] = sqrt(var > 0 ? var / Sd : 0.0);
            }
        }
    }
    free(c.shift);
    free(c.s1);
    free(c.s2);
    net_clear(&t);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_forward: the forward pass on given weights
 * ---------------------------------------------------------------------------------------------------------- */


dw_status dw_sample_forward(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                            const double *const *b, const double *X, size_t n, double *F, int threads_opt)
{
    if (!act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (n_layers < 1) return dw_fail(DW_ERR_INVALID, "forward: at least one layer is needed (got 0)");
    if (!widths || !W || !X || !F) return dw_fail(DW_ERR_INVALID, "forward: NULL argument");
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (n > (size_t)INT_MAX)
        return dw_fail(DW_ERR_INVALID, "X: number of points: %zu is above the maximum supported by BLAS (%d)", n,
                       INT_MAX);
    size_t mx = 0;
    for (size_t l = 0; l <= n_layers; l++) {
        if (widths[l] < 1)
            return dw_fail(DW_ERR_INVALID, l == 0 ? "X: input dimension d must be at least 1"
                                                  : "weights: layer %zu has no output units", l);
        if (widths[l] > (size_t)INT_MAX)
            return dw_fail(DW_ERR_INVALID, "weights: width %zu of layer %zu is above the maximum supported by BLAS (%d)",
                           widths[l], l, INT_MAX);
        if (l < n_layers && !W[l]) return dw_fail(DW_ERR_INVALID, "weights: layer %zu is NULL", l + 1);
        if (l > 0 && l < n_layers && widths[l] > mx) mx = widths[l];
    }
    if (!check_inputs(X, n, widths[0])) return DW_ERR_INVALID;
    /* two activation buffers of n x (widest hidden layer), ping-pong */
    const double bytes = 2.0 * 8.0 * (double)n * (double)mx;
    dw_status st = dw_core_check_alloc(bytes, "the forward pass's activations");
    if (st) return st;
    double *buf[2] = {NULL, NULL};
    if (mx) {
        buf[0] = dw_core_alloc_large((size_t)bytes, "the forward pass's activations");
        if (!buf[0]) return DW_ERR_NOMEM;
        buf[1] = buf[0] + n * mx;
    }
    const int threads = dw_core_threads(threads_opt);
    const size_t nrb = (n + DW_FWD_ROWS - 1) / DW_FWD_ROWS;
    ERR_DECL;
#pragma omp parallel num_threads(threads)
    {
        serial_blas();
        for (size_t l = 0; l < n_layers; l++) {
            const size_t rin = widths[l], rout = widths[l + 1], ncb = (rout + DW_FWD_COLS - 1) / DW_FWD_COLS;
            const double *in = l == 0 ? X : buf[(l - 1) & 1];
            double *out = l + 1 == n_layers ? F : buf[l & 1];
            const int last = l + 1 == n_layers;
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < nrb * ncb; k++) {
                const size_t r0 = (k / ncb) * DW_FWD_ROWS, c0 = (k % ncb) * DW_FWD_COLS;
                const size_t rows = r0 + DW_FWD_ROWS < n ? DW_FWD_ROWS : n - r0;
                const size_t cols = c0 + DW_FWD_COLS < rout ? DW_FWD_COLS : rout - c0;
                double *o = out + r0 * rout + c0;
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)rin, 1.0,
                            in + r0 * rin, (int)rin, W[l] + c0 * rin, (int)rin, 0.0, o, (int)rout);
                const size_t bad = bias_act_rows(rows, cols, o, rout, b && b[l] ? b[l] + c0 : NULL,
                                                 last ? NULL : act, o, rout, NULL, 0, 1);
                if (bad != SIZE_MAX)
                    ERR_RECORD(l * nrb * ncb + k,
                               dw_fail(DW_ERR_RANGE,
                                       "forward: layer %zu is not finite at input row %zu (non-finite weights or "
                                       "biases, or overflow)",
                                       l + 1, r0 + bad + 1));
            }
        }
    }
    dw_core_free_large(buf[0]);
    if (err) return dw_fail(err, "%s", err_msg);
    return DW_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * Convergence study (MATH.md 1.4)
 * ---------------------------------------------------------------------------------------------------------- */

typedef struct {
    const double *K;
    size_t n;
    double sf, sf2, sm, sm2; /* sums of |G_s - K|_F^2, its square, of the mean deviation, its square */
    double *e1, *e2;         /* per entry: sums of G_s - K and of its square */
} conv_ctx;

static dw_status conv_consume(void *vc, size_t s, const net *t, const double *base)
{
    (void)s;
    conv_ctx *c = vc;
    const double *g = base + t->offGram;
    const size_t nn = c->n * c->n;
    double f = 0, m = 0;
    for (size_t e = 0; e < nn; e++) {
        if (!isfinite(g[e]))
            return dw_fail(DW_ERR_RANGE, "converge: the empirical Gram overflows at entry (%zu, %zu)", e / c->n + 1,
                           e % c->n + 1);
        const double dv = g[e] - c->K[e];
        f += dv * dv;
        m += dv;
        c->e1[e] += dv;
        c->e2[e] += dv * dv;
    }
    m /= (double)nn;
    c->sf += f;
    c->sf2 += f * f;
    c->sm += m;
    c->sm2 += m * m;
    return DW_OK;
}

/* Weighted least squares y = a + b x with standard deviations sd; returns a, b, their standard errors and
 * chi^2 / (k - 2) (0 for k = 2). Where chi^2 / (k - 2) > 1 the data scatter more than their standard errors say
 * (estimated standard errors, or a model that is only asymptotic): the standard errors are then scaled by
 * sqrt(chi^2 / (k - 2)) (the Birge ratio, as the Particle Data Group does), never shrunk. */
static void wls(size_t k, const double *x, const double *y, const double *sd, double *a, double *b, double *sa,
                double *sb, double *chi2_dof)
{
    double S0 = 0, S1 = 0, S2 = 0, T0 = 0, T1 = 0;
    double floor = INFINITY;
    for (size_t i = 0; i < k; i++)
        if (sd[i] > 0 && sd[i] < floor) floor = sd[i];
    if (!isfinite(floor)) floor = 1.0;
    for (size_t i = 0; i < k; i++) {
        const double s = sd[i] > 0 ? sd[i] : floor, w = 1.0 / (s * s);
        S0 += w;
        S1 += w * x[i];
        S2 += w * x[i] * x[i];
        T0 += w * y[i];
        T1 += w * x[i] * y[i];
    }
    const double det = S0 * S2 - S1 * S1;
    *b = (S0 * T1 - S1 * T0) / det;
    *a = (S2 * T0 - S1 * T1) / det;
    double chi2 = 0;
    for (size_t i = 0; i < k; i++) {
        const double s = sd[i] > 0 ? sd[i] : floor, r = (y[i] - *a - *b * x[i]) / s;
        chi2 += r * r;
    }
    *chi2_dof = k > 2 ? chi2 / (double)(k - 2) : 0.0;
    const double scale = *chi2_dof > 1 ? sqrt(*chi2_dof) : 1.0;
    *sa = scale * sqrt(S2 / det);
    *sb = scale * sqrt(S0 / det);
}

dw_status dw_sampling_converge(const dw_sample_opts *o, const double *X, size_t n, size_t d, dw_sample_gram gram,
                               size_t n_widths, const size_t *widths, size_t S, dw_sampling_width *res,
                               dw_sampling_fit *fit)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "converge: NULL options");
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (!res || !fit) return dw_fail(DW_ERR_INVALID, "converge: NULL result arrays");
    if (gram != DW_SAMPLE_NNGP && gram != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "kind: the convergence study needs the nngp or ntk Gram");
    if (n_widths < 2 || !widths)
        return dw_fail(DW_ERR_INVALID, "widths: a convergence study needs at least 2 widths (got %zu)", n_widths);
    if (S < 2) return dw_fail(DW_ERR_INVALID, "samples: a convergence study needs at least 2 samples (got %zu)", S);
    if (o->depth == 0)
        return dw_fail(DW_ERR_INVALID, "depth: a depth-0 network equals its limit exactly (nothing converges)");
    if (o->param != DW_PARAM_NTK)
        return dw_fail(DW_ERR_INVALID,
                       "param: the convergence study uses the NTK parameterisation (the standard one has no limit)");
    for (size_t i = 0; i < n_widths; i++) {
        if (widths[i] < 1) return dw_fail(DW_ERR_INVALID, "widths: value %zu is %zu, must be >= 1", i + 1, widths[i]);
        for (size_t j = 0; j < i; j++)
            if (widths[j] == widths[i])
                return dw_fail(DW_ERR_INVALID, "widths: %zu appears twice (widths must be distinct)", widths[i]);
    }
    /* validate everything (largest width) before the long run, and get the limit */
    size_t wmax = 0;
    for (size_t i = 0; i < n_widths; i++) wmax = widths[i] > wmax ? widths[i] : wmax;
    dw_sample_opts oo = *o;
    oo.n_width = 1;
    oo.width = &wmax;
    net t;
    dw_status st = net_init(&t, &oo, n, d, gram);
    if (st) return st;
    net_clear(&t);
    if (!check_inputs(X, n, d)) return DW_ERR_INVALID;
    if ((st = dw_core_check_alloc(dw_sample_bytes(&oo, n, d, S, 0, gram, 1), "the convergence study"))) return st;
    const size_t nn = n * n;
    double *K = dw_alloc(nn, sizeof(double), "exact limit");
    double *e1 = dw_alloc(nn, sizeof(double), "Gram accumulator");
    double *e2 = dw_alloc(nn, sizeof(double), "Gram accumulator");
    if (!K || !e1 || !e2) {
        free(K);
        free(e1);
        free(e2);
        return DW_ERR_NOMEM;
    }
    dw_kernel_opts ko;
    dw_kernel_opts_init(&ko);
    ko.depth = o->depth;
    ko.act = o->act;
    ko.n_weight_var = o->n_weight_var;
    ko.weight_var = o->weight_var;
    ko.n_bias_var = o->n_bias_var;
    ko.bias_var = o->bias_var;
    ko.threads = o->threads;
    st = dw_kernel_gram(&ko, X, n, NULL, n, d, gram == DW_SAMPLE_NNGP ? K : NULL, gram == DW_SAMPLE_NTK ? K : NULL);
    double kf = 0;
    for (size_t e = 0; e < nn && !st; e++) kf += K[e] * K[e];
    kf = sqrt(kf);
    double total = 0;
    for (size_t i = 0; i < n_widths; i++) total += (double)S * ((double)widths[i] + 64.0) * ((double)widths[i] + 64.0);
    double done = 0;
    const double Sd = (double)S;
    for (size_t i = 0; i < n_widths && !st; i++) {
        oo.width = &widths[i];
        if ((st = net_init(&t, &oo, n, d, gram))) break;
        memset(e1, 0, nn * sizeof(double));
        memset(e2, 0, nn * sizeof(double));
        conv_ctx c = {K, n, 0, 0, 0, 0, e1, e2};
        const double unit = ((double)widths[i] + 64.0) * ((double)widths[i] + 64.0);
        progress_t prog = {o->progress, o->progress_ctx, done, unit, total};
        /* width i samples networks first_sample + i S .. + S - 1: streams are keyed by the sample index, so reusing
         * the same indices at every width would correlate the widths (layer 1's first units would be identical)
         * and void the independence the fit's standard errors assume. */
        st = run_core(&t, X, S, o->first_sample + (uint64_t)i * (uint64_t)S, o->threads, conv_consume, &c, &prog);
        net_clear(&t);
        done += Sd * unit;
        if (st) break;
        dw_sampling_width *r = &res[i];
        r->width = (double)widths[i];
        const double mf = c.sf / Sd, vf = (c.sf2 - c.sf * mf) / (Sd - 1.0);
        r->rms = sqrt(mf);
        r->rms_se = r->rms > 0 ? sqrt((vf > 0 ? vf : 0) / Sd) / (2.0 * r->rms) : 0.0;
        r->rel_rms = kf > 0 ? r->rms / kf : 0.0;
        const double mm = c.sm / Sd, vm = (c.sm2 - c.sm * mm) / (Sd - 1.0);
        r->bias = mm;
        r->bias_se = sqrt((vm > 0 ? vm : 0) / Sd);
        double bf = 0, nf = 0;
        for (size_t e = 0; e < nn; e++) {
            const double m1 = e1[e] / Sd, v = (e2[e] - e1[e] * m1) / (Sd - 1.0);
            bf += m1 * m1;
            nf += (v > 0 ? v : 0) / Sd;
        }
        r->bias_fro = sqrt(bf);
        r->noise_fro = sqrt(nf);
    }
    if (!st) {
        double *x = dw_alloc(n_widths, 4 * sizeof(double), "fit");
        if (!x) {
            st = DW_ERR_NOMEM;
        } else {
            double *y = x + n_widths, *sd = y + n_widths, *z = sd + n_widths;
            int zero = 0;
            for (size_t i = 0; i < n_widths; i++) {
                x[i] = log(res[i].width);
                zero |= !(res[i].rms > 0);
                y[i] = zero ? 0 : log(res[i].rms);
                sd[i] = zero ? 0 : res[i].rms_se / res[i].rms;
            }
            if (zero) {
                st = dw_fail(DW_ERR_INVALID,
                             "converge: the empirical Gram equals the limit exactly at some width (no rate to fit)");
            } else {
                memset(fit, 0, sizeof *fit);
                wls(n_widths, x, y, sd, &fit->intercept, &fit->slope, &z[0], &fit->slope_se, &fit->chi2_dof);
                fit->slope_lo = fit->slope - 1.959963984540054 * fit->slope_se;
                fit->slope_hi = fit->slope + 1.959963984540054 * fit->slope_se;
                for (size_t i = 0; i < n_widths; i++) {
                    x[i] = 1.0 / res[i].width;
                    y[i] = res[i].bias;
                    sd[i] = res[i].bias_se;
                }
                wls(n_widths, x, y, sd, &fit->bias_inf, &fit->bias_coef, &fit->bias_inf_se, &fit->bias_coef_se,
                    &fit->bias_chi2_dof);
                fit->limit_fro = kf;
            }
            free(x);
        }
    }
    free(K);
    free(e1);
    free(e2);
    return st;
}
