/* One sampled network's shape (from the network object) and the layout of its work space: the part every sampled
 * computation (dw_sample_run, dw_sample_bytes, dw_sample_converge) shares, apart from the driver (driver.c).
 * The net itself is validated by dw_net; this file checks only that it is a shape the sampler runs (fully
 * connected, with a readout, whole widths) against the inputs' sizes and BLAS's int dimensions. */
#include "sample/dense.h"
#include "sample/sample.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dw_snet_clear(dw_snet *t)
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

/* The widths of the hidden layers as whole numbers (the net keeps doubles): into cw[1..L]. */
static dw_status hidden_widths(const dw_net *net, int L, size_t all_width, size_t *cw)
{
    for (size_t l = 1; l <= (size_t)L; l++) {
        if (all_width) {
            cw[l] = all_width;
            continue;
        }
        const double w = dw_net_dense(net, l - 1)->width;
        if (w == 0)
            return dw_fail(DW_ERR_INVALID, "width: the hidden width(s) must be given (a sampled network of depth %d "
                           "needs the width of every hidden layer)", L);
        if (w != floor(w)) return dw_fail(DW_ERR_INVALID, "width: value %zu (%g) must be a whole number", l, w);
        if (w > (double)((size_t)1 << 40)) return dw_fail(DW_ERR_NOMEM, "width: %.17g is too large", w);
        cw[l] = (size_t)w;
    }
    return DW_OK;
}

dw_status dw_snet_init(dw_snet *t, const dw_net *net, const char *who, unsigned long long seed, size_t n, size_t d,
                       dw_sample_gram gram, size_t all_width)
{
    memset(t, 0, sizeof *t);
    dw_net_fc fc;
    dw_status s = dw_net_fc_view(net, who, 1, DW_NET_RANDOM, &fc);
    if (s) return s;
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    if (gram != DW_SAMPLE_NO_GRAM && gram != DW_SAMPLE_NNGP && gram != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "gram: unknown kind %d", (int)gram);
    const dw_law *law = &net->law;
    if (dw_law_complex(law) && gram == DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID,
                       "gram ntk: the empirical NTK is not defined for complex-gaussian weights (use the NNGP)");
    const double out_dim = dw_net_dense(net, fc.n_dense - 1)->width;
    if (!(out_dim >= 1 && out_dim == floor(out_dim)))
        return dw_fail(DW_ERR_INVALID, "out_dim: must be a whole number >= 1 (got %g)", out_dim);
    const size_t L1 = fc.n_dense;
    t->L = fc.depth;
    t->n = n;
    t->d = d;
    t->cplx = dw_law_complex(law);
    t->standard = net->param == DW_PARAM_STANDARD;
    t->law = *law;
    t->gauss1 = net->gaussian_input_layer && !t->cplx;
    t->act = fc.act;
    t->seed = seed;
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
        dw_snet_clear(t);
        return DW_ERR_NOMEM;
    }
    if (out_dim > (double)((size_t)1 << 40)) {
        dw_snet_clear(t);
        return dw_fail(DW_ERR_NOMEM, "out_dim: %.17g is too large", out_dim);
    }
    t->cw[L1] = (size_t)out_dim;
    if ((s = hidden_widths(net, t->L, all_width, t->cw))) {
        dw_snet_clear(t);
        return s;
    }
    const size_t m = t->cplx ? 2 : 1;
    t->cw[0] = t->rw[0] = d;
    for (size_t l = 1; l <= L1; l++) {
        if (t->cw[l] > ((size_t)1 << 40)) {
            dw_snet_clear(t);
            return dw_fail(DW_ERR_NOMEM, "width: %zu is too large", t->cw[l]);
        }
        const dw_net_layer *dl = dw_net_dense(net, l - 1);
        t->rw[l] = m * t->cw[l];
        t->wv[l] = dl->weight_var;
        t->bv[l] = dl->bias_var;
    }
    t->dout = t->rw[L1];
    /* BLAS takes int dimensions: the widest operand is a row of g^l, d_out * n_l doubles */
    for (size_t l = 0; l <= L1; l++)
        if ((double)t->rw[l] * (double)(l > 0 && l < L1 ? t->dout : 1) > (double)INT_MAX || n > (size_t)INT_MAX) {
            size_t bad = n > (size_t)INT_MAX ? n : t->cw[l];
            dw_snet_clear(t);
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
        dw_snet_clear(t);
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
        dw_snet_clear(t);
        dw_status big = dw_core_check_alloc(8.0 * tot, "one sampled network's work space");
        return big ? big : dw_fail(DW_ERR_NOMEM, "one sampled network's work space (%.3g doubles) is too large", tot);
    }
    t->total = off;
    return DW_OK;
}

void dw_snet_gram_rows(dw_snet *t, size_t B)
{
    const size_t delta = t->gram ? t->n * t->n - B * t->n : 0; /* the slot before the work space shrinks */
    t->offWork -= delta;
    t->total -= delta;
    t->grows = B;
}

double dw_snet_sample_bytes(const dw_snet *t)
{
    return 8.0 * ((double)t->total + 2.0 * DW_DENSE_TILE * DW_DENSE_TILE); /* + one thread's Gram tiles */
}
