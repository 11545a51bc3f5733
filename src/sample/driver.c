/* The driver of sampled networks (theory.md 1.1, 2): draws every sample's weights and runs the dense engine, in
 * chunks of samples, for dw_sample_run and dw_sample_converge alike.
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
#include "core/par.h"
#include "sample/dense.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const dw_law gaussian_law = {DW_LAW_GAUSSIAN, 0.0};

/* The law of layer l: the run's law, or Gaussian for layer 1 with gaussian_input_layer. */
static const dw_law *layer_law(const dw_snet *t, size_t l) { return l == 1 && t->gauss1 ? &gaussian_law : &t->law; }
static int layer_iid(const dw_snet *t, size_t l) { return dw_law_iid(layer_law(t, l)); }

/* ------------------------------------------------------------------------------------------------------------
 * A. weights
 * ---------------------------------------------------------------------------------------------------------- */

/* Rows [r0, r1) (complex: of the complex matrix) of layer l's effective weights, and its bias with block 0. */
static dw_status gen_block(const dw_snet *t, double *base, uint64_t sample, int l, size_t r0, size_t r1)
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

/* Item k of a chunk's weights: sample k / nA of the chunk, (layer, row block) itA[k % nA]. */
typedef struct weights_job {
    const dw_snet *t;
    const size_t *itA; /* (layer, row block) pairs */
    size_t nA;
    double *mem;    /* the chunk's work spaces, t->total doubles each */
    uint64_t first; /* the chunk's first sample number */
} weights_job;

static dw_status weights_item(void *ctx, size_t k, int tid)
{
    const weights_job *j = ctx;
    const dw_snet *t = j->t;
    (void)tid;
    const size_t s = k / j->nA, it = k % j->nA, l = j->itA[2 * it], b = j->itA[2 * it + 1];
    const size_t rows = t->cw[l];
    const int iid = layer_iid(t, l);
    const size_t r0 = iid ? b * DW_SAMPLE_ROWBLOCK : 0;
    const size_t r1 = iid && r0 + DW_SAMPLE_ROWBLOCK < rows ? r0 + DW_SAMPLE_ROWBLOCK : rows;
    return gen_block(t, j->mem + s * t->total, j->first + s, (int)l, r0, r1);
}

/* ------------------------------------------------------------------------------------------------------------
 * The driver: chunks of samples, three parallel phases, then the consumer in sample order.
 * ---------------------------------------------------------------------------------------------------------- */

dw_status dw_snet_run(const dw_snet *t, const double *X, size_t S, uint64_t first, int threads_opt,
                      dw_snet_consumer consume, void *cctx, const dw_snet_progress *prog)
{
    const int threads = dw_core_threads(threads_opt);
    const double per = dw_snet_sample_bytes(t);
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
        /* A: weights (the first failure in item order, i.e. by sample, then layer and row block) */
        weights_job wj = {t, itA, nA, mem, first + c0};
        st = dw_par_for(cs * nA, threads, weights_item, &wj);
        if (st) break;
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
            st = t->grows ? dw_dense_eval_rows(&sh, nets, cs, X, n, n, t->gram, threads, t->g0, t->g1)
                          : dw_dense_eval(&sh, nets, cs, X, n, n, t->gram, threads);
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

