/* Finite-width networks (theory.md 1.1, 1.3, 2): weights, forward passes, empirical NNGP / NTK Gram matrices.
 *
 * Work is split into items whose results depend only on their own keys, never on the thread that runs them:
 *   A. weights: (sample, layer, row block of W) drawn from the stream (seed, sample, layer, row block);
 *   B. the networks, by the engine of dense.c: forward blocks (sample, rows, units), Gram tiles (sample, row tile,
 *      column tile >= row tile) and back-propagation blocks, one single-threaded BLAS call each.
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
#include "sampling/dense.h"
#include "sampling/sampling.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DW_MAX_DEPTH 10000

typedef struct {
    int L;
    size_t n, d, dout;     /* points, input dimension, real output dimension rw[L+1] */
    size_t *rw;            /* real widths rw[0..L+1] (complex: hidden and output doubled) */
    size_t *cw;            /* widths as given (complex counts) */
    double *wv, *bv;       /* per layer, index 1..L+1 */
    int cplx, standard, gauss1;
    dw_law law;
    const dw_act *act;
    uint64_t seed;
    int ntk, outputs; /* outputs: the engine computes f (set by the caller; net_init sets 1) */
    dw_sample_gram gram;
    double *gws, *gbs;      /* the Gram's per-layer scales (index 0..L) */
    /* offsets (in doubles) inside one sample's work space */
    size_t *offW, *offb, offF, offGram, offWork, total;
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
    free(t->gws);
    free(t->gbs);
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
    const dw_law *law = &o->law;
    if ((unsigned)law->kind > DW_LAW_ORTHOGONAL) return dw_fail(DW_ERR_INVALID, "law: unknown kind %d", (int)law->kind);
    if (law->kind == DW_LAW_STUDENT_T && !(law->param > 2 && isfinite(law->param)))
        return dw_fail(DW_ERR_INVALID, "law student-t: nu = %g must be > 2", law->param);
    if (law->kind == DW_LAW_SPARSE && !(law->param > 0 && law->param <= 1))
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
    const size_t L2 = L1 + 1;
    t->rw = dw_alloc(L2, sizeof(size_t), "layer widths");
    t->cw = dw_alloc(L2, sizeof(size_t), "layer widths");
    t->wv = dw_alloc(L2, sizeof(double), "layer variances");
    t->bv = dw_alloc(L2, sizeof(double), "layer variances");
    t->offW = dw_alloc(L2, sizeof(size_t), "offsets");
    t->offb = dw_alloc(L2, sizeof(size_t), "offsets");
    t->gws = dw_alloc(L2, sizeof(double), "layer scales");
    t->gbs = dw_alloc(L2, sizeof(double), "layer scales");
    if (!t->rw || !t->cw || !t->wv || !t->bv || !t->offW || !t->offb || !t->gws || !t->gbs) {
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
    /* The Gram's scales (dense.h): NNGP w_{L+1}/n_L a.a + b_{L+1} in both parameterisations; the NTK's layer terms
     * w_l/n_{l-1} and b_l (NTK parameterisation, derivatives in W-hat, b-hat) or 1 (standard, in W, b). */
    t->gram = gram;
    t->outputs = 1;
    for (size_t l = 0; l < L1; l++) {
        const int std_ntk = t->ntk && t->standard;
        t->gws[l] = std_ntk ? 1.0 : t->wv[l + 1] / (double)t->rw[l];
        t->gbs[l] = std_ntk ? 1.0 : t->bv[l + 1];
    }
    if (t->ntk && (double)n * (double)t->dout > (double)INT_MAX) {
        net_clear(t);
        return dw_fail(DW_ERR_INVALID, "X: %zu points x %zu outputs is above the maximum supported by BLAS", n,
                       t->dout);
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
    ADD(t->offF, (double)n * (double)t->dout);
    ADD(t->offGram, gram ? (double)n * (double)n : 0.0);
    {
        const dw_dense_shape sh = {L1, t->rw, t->act, NULL, NULL, 0};
        ADD(t->offWork, dw_dense_work(&sh, n, gram));
    }
#undef ADD
    if (tot >= 1e17) {
        net_clear(t);
        dw_status big = dw_core_check_alloc(8.0 * tot, "one sampled network's work space");
        return big ? big : dw_fail(DW_ERR_NOMEM, "one sampled network's work space (%.3g doubles) is too large", tot);
    }
    t->total = off;
    return DW_OK;
}

static const dw_law gaussian_law = {DW_LAW_GAUSSIAN, 0.0};

/* The law of layer l: the run's law, or Gaussian for layer 1 with gaussian_input_layer. */
static const dw_law *layer_law(const net *t, size_t l) { return l == 1 && t->gauss1 ? &gaussian_law : &t->law; }
static int layer_iid(const net *t, size_t l) { return dw_law_iid(layer_law(t, l)); }

/* Bytes of one sample's work space plus per-thread scratch. */
static double net_sample_bytes(const net *t)
{
    return 8.0 * ((double)t->total + 2.0 * DW_DENSE_TILE * DW_DENSE_TILE); /* + one thread's Gram tiles */
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
    const dw_law *law = layer_law(t, (size_t)l);
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
 * The driver: chunks of samples, three parallel phases, then the consumer in sample order.
 * ---------------------------------------------------------------------------------------------------------- */

typedef dw_status (*consumer_fn)(void *ctx, size_t s, const net *t, const double *base);

typedef struct {
    dw_sample_progress_fn fn;
    void *ctx;
    double offset, unit, total; /* progress = offset + unit * samples done, out of total */
} progress_t;

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
    size_t *itA = dw_alloc(maxA, 2 * sizeof(size_t), "work items");
    const double **Wp = dw_alloc(chunk * L1, sizeof *Wp, "layer pointers"), **bp = dw_alloc(chunk * L1, sizeof *bp, "layer pointers");
    dw_dense_net *nets = dw_alloc(chunk, sizeof *nets, "networks");
    if (!itA || !Wp || !bp || !nets) {
        free(itA), free(Wp), free(bp), free(nets);
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
            dw_dense_serial_blas();
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
        /* B: the networks (the engine); its first failure in (network, layer, row) order is reported */
        {
            const dw_dense_shape sh = {(size_t)L + 1, t->rw, t->act, t->gws, t->gbs, 0};
            for (size_t s = 0; s < cs; s++) {
                double *base = mem + s * t->total;
                for (size_t l = 0; l <= (size_t)L; l++) {
                    Wp[s * L1 + l] = base + t->offW[l + 1];
                    bp[s * L1 + l] = t->bv[l + 1] > 0 ? base + t->offb[l + 1] : NULL;
                }
                nets[s] = (dw_dense_net){Wp + s * L1, bp + s * L1, t->outputs ? base + t->offF : NULL,
                                         t->gram ? base + t->offGram : NULL, base + t->offWork,
                                         (unsigned long long)(first + c0 + s)};
            }
            st = dw_dense_eval(&sh, nets, cs, X, n, n, t->gram, threads);
            if (st) break;
        }
        for (size_t s = 0; s < cs && !st; s++) st = consume(cctx, c0 + s, t, mem + s * t->total);
        if (!st && prog && prog->fn &&
            prog->fn(prog->ctx, prog->offset + prog->unit * (double)(c0 + cs), prog->total))
            st = dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
    }
    free(itA), free(Wp), free(bp), free(nets);
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
    o->law.kind = DW_LAW_GAUSSIAN;
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
    if (!dw_dense_check_inputs("X", X, n, d)) {
        net_clear(&t);
        return DW_ERR_INVALID;
    }
    t.outputs = F != NULL;
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
 * Convergence study (theory.md 1.4)
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
    if (!dw_dense_check_inputs("X", X, n, d)) return DW_ERR_INVALID;
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
    dw_net *kn = NULL;
    dw_kernel_opts *ko = NULL;
    if (!(st = dw_net_init(&kn)) && !(st = dw_net_set_fc(kn, o->depth, o->act, true)) &&
        !(st = dw_net_set_weight_var(kn, o->n_weight_var, o->weight_var)) &&
        !(st = dw_net_set_bias_var(kn, o->n_bias_var, o->bias_var)) && !(st = dw_kernel_opts_init(&ko)) &&
        !(st = dw_kernel_opts_set_threads(ko, o->threads)))
        st = dw_kernel_gram(kn, ko, X, n, NULL, n, d, gram == DW_SAMPLE_NNGP ? K : NULL,
                            gram == DW_SAMPLE_NTK ? K : NULL, NULL);
    dw_kernel_opts_clear(ko);
    dw_net_clear(kn);
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
        t.outputs = 0; /* the study needs the Grams only */
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
