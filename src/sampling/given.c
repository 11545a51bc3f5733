/* Networks with GIVEN weights (trained ones, another framework's, or sampled ones scaled by the caller):
 * the forward pass (theory.md 1.1) and the empirical NNGP / NTK Gram by back-propagation (theory.md 1.3).
 *
 * Both run on the engine of dense.c (as sampled networks do), so their results do not depend on the thread count.
 */
#include "sampling/dense.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shapes and inputs of a given network; *mx = the widest hidden layer (0 without hidden layers). */
static dw_status check_network(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                               const double *X, size_t n, size_t *mx)
{
    if (!act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (n_layers < 1) return dw_fail(DW_ERR_INVALID, "forward: at least one layer is needed (got 0)");
    if (!widths || !W || !X) return dw_fail(DW_ERR_INVALID, "forward: NULL argument");
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (n > (size_t)INT_MAX)
        return dw_fail(DW_ERR_INVALID, "X: number of points: %zu is above the maximum supported by BLAS (%d)", n,
                       INT_MAX);
    *mx = 0;
    for (size_t l = 0; l <= n_layers; l++) {
        if (widths[l] < 1)
            return dw_fail(DW_ERR_INVALID, l == 0 ? "X: input dimension d must be at least 1"
                                                  : "weights: layer %zu has no output units", l);
        if (widths[l] > (size_t)INT_MAX)
            return dw_fail(DW_ERR_INVALID, "weights: width %zu of layer %zu is above the maximum supported by BLAS (%d)",
                           widths[l], l, INT_MAX);
        if (l < n_layers && !W[l]) return dw_fail(DW_ERR_INVALID, "weights: layer %zu is NULL", l + 1);
        if (l > 0 && l < n_layers && widths[l] > *mx) *mx = widths[l];
    }
    if (!dw_dense_check_inputs("X", X, n, widths[0])) return DW_ERR_INVALID;
    return DW_OK;
}

/* Run the engine on one given network. */
static dw_status run_given(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                           const double *const *b, const double *ws, const double *bs, const double *X, size_t n,
                           size_t n1, double *F, dw_sample_gram kind, double *G, int threads_opt, const char *what)
{
    const dw_dense_shape sh = {n_layers, widths, act, ws, bs, 1};
    const double cnt = dw_dense_work(&sh, n, kind);
    dw_status st = dw_core_check_alloc(8.0 * cnt, what);
    if (st) return st;
    double *work = cnt > 0 ? dw_core_alloc_large((size_t)(8.0 * cnt), what) : NULL;
    if (cnt > 0 && !work) return DW_ERR_NOMEM;
    const dw_dense_net net = {W, b, F, G, work, 0};
    st = dw_dense_eval(&sh, &net, 1, X, n, n1, kind, dw_core_threads(threads_opt));
    dw_core_free_large(work);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_forward
 * ---------------------------------------------------------------------------------------------------------- */

dw_status dw_sample_forward(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                            const double *const *b, const double *X, size_t n, double *F, int threads_opt)
{
    size_t mx = 0;
    dw_status st = check_network(act, n_layers, widths, W, X, n, &mx);
    if (st) return st;
    if (!F) return dw_fail(DW_ERR_INVALID, "forward: NULL argument");
    return run_given(act, n_layers, widths, W, b, NULL, NULL, X, n, n, F, DW_SAMPLE_NO_GRAM, NULL, threads_opt,
                     "the forward pass's activations");
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_network_gram
 * ---------------------------------------------------------------------------------------------------------- */

dw_status dw_sample_network_gram(const dw_act *act, size_t n_layers, const size_t *widths, const double *const *W,
                                 const double *const *b, const double *weight_scale, const double *bias_scale,
                                 const double *X, size_t n, const double *Y, size_t m, dw_sample_gram kind, double *G,
                                 int threads_opt)
{
    size_t mx = 0;
    dw_status st = check_network(act, n_layers, widths, W, X, n, &mx);
    if (st) return st;
    if (Y) {
        if (m == 0) return dw_fail(DW_ERR_INVALID, "Y: no input points (0 rows)");
        if (!dw_dense_check_inputs("Y", Y, m, widths[0])) return DW_ERR_INVALID;
        if ((double)n + (double)m > (double)INT_MAX)
            return dw_fail(DW_ERR_INVALID, "X, Y: %zu + %zu points is above the maximum supported by BLAS", n, m);
    }
    const size_t nt = Y ? n + m : n; /* the stacked inputs */
    if (!G) return dw_fail(DW_ERR_INVALID, "network gram: NULL output");
    if (kind != DW_SAMPLE_NNGP && kind != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "kind: expected the nngp or ntk Gram (got %d)", (int)kind);
    for (size_t l = 0; l < n_layers; l++) {
        if (weight_scale && !(isfinite(weight_scale[l]) && weight_scale[l] >= 0))
            return dw_fail(DW_ERR_INVALID, "weight_scale: value %zu (%g) must be non-negative and finite", l + 1,
                           weight_scale[l]);
        if (bias_scale && !(isfinite(bias_scale[l]) && bias_scale[l] >= 0))
            return dw_fail(DW_ERR_INVALID, "bias_scale: value %zu (%g) must be non-negative and finite", l + 1,
                           bias_scale[l]);
    }
    const size_t dout = widths[n_layers];
    /* BLAS takes int dimensions: the back-propagation GEMM has n d_out rows, the gradients' Gram d_out n_l columns */
    if (kind == DW_SAMPLE_NTK && n_layers > 1 &&
        ((double)nt * (double)dout > (double)INT_MAX || (double)mx * (double)dout > (double)INT_MAX))
        return dw_fail(DW_ERR_INVALID, "network gram: %zu points x %zu outputs is above the maximum supported by BLAS",
                       nt, dout);
    /* with Y: one pass over the stacked points X; Y (the cross tiles only) */
    double *XY = NULL;
    if (Y) {
        const size_t d = widths[0];
        st = dw_core_check_alloc(8.0 * (double)nt * (double)d, "the stacked inputs");
        if (st) return st;
        if (!(XY = dw_core_alloc_large(nt * d * sizeof *XY, "the stacked inputs"))) return DW_ERR_NOMEM;
        memcpy(XY, X, n * d * sizeof *XY);
        memcpy(XY + n * d, Y, m * d * sizeof *XY);
    }
    st = run_given(act, n_layers, widths, W, b, weight_scale, bias_scale, Y ? XY : X, nt, n, NULL, kind, G,
                   threads_opt, "the network's activations and gradients");
    dw_core_free_large(XY);
    if (st) return st;
    const size_t cols = Y ? m : n;
    for (size_t i = 0; i < n; i++) /* gradients can overflow where the activations did not */
        for (size_t j = Y ? 0 : i; j < cols; j++)
            if (!isfinite(G[i * cols + j]))
                return dw_fail(DW_ERR_RANGE,
                               "network gram: entry (%zu, %zu) is not finite (overflow in the back-propagation)",
                               i + 1, j + 1);
    return DW_OK;
}
