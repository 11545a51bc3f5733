/* Networks with GIVEN weights (trained ones, another framework's, or sampled ones scaled by the caller), described
 * by a net built with dw_net_set_given: the forward pass (theory.md 1.1) and the empirical NNGP / NTK Gram by
 * back-propagation (theory.md 1.3).
 *
 * Both run on the engine of dense.c (as sampled networks do), so their results do not depend on the thread count.
 */
#include "sample/arch.h"
#include "sample/dense.h"
#include "sample/sample.h"
#include "core/par.h"
#include "kernels/ooc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A given network's arrays in the engine's form, gathered from the net's dense layers. */
typedef struct {
    size_t L;           /* dense layers */
    size_t *widths;     /* widths[0] = d, ..., widths[L] = d_out */
    const double **W, **b;
    double *ws, *bs;    /* the tangent kernel's scales: the layers' weight_var, bias_var */
    const dw_act *act;
    size_t mx;          /* the widest hidden layer (0 without hidden layers) */
} given_view;

static void view_clear(given_view *g)
{
    free(g->widths);
    free(g->W);
    free(g->b);
    free(g->ws);
    memset(g, 0, sizeof *g);
}

/* Check that net is a given network with a readout that takes X (n x d), and gather its arrays. */
static dw_status view_init(given_view *g, const dw_net *net, const char *who, const double *X, size_t n, size_t d)
{
    memset(g, 0, sizeof *g);
    dw_net_fc fc;
    dw_status s = dw_net_fc_view(net, who, 1, DW_NET_GIVEN, &fc);
    if (s) return s;
    if (!X) return dw_fail(DW_ERR_INVALID, "%s: NULL argument", who);
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (n > (size_t)INT_MAX)
        return dw_fail(DW_ERR_INVALID, "X: number of points: %zu is above the maximum supported by BLAS (%d)", n,
                       INT_MAX);
    const size_t L = fc.n_dense;
    const size_t d0 = dw_net_dense(net, 0)->cols;
    if (d != d0)
        return dw_fail(DW_ERR_INVALID, "X: %zu columns, but the network's first layer takes %zu inputs", d, d0);
    g->L = L;
    g->act = fc.act;
    g->widths = dw_alloc(L + 1, sizeof *g->widths, "layer widths");
    g->W = dw_alloc(L, sizeof *g->W, "layer pointers");
    g->b = dw_alloc(L, sizeof *g->b, "layer pointers");
    g->ws = dw_alloc(L, 2 * sizeof *g->ws, "layer scales");
    if (!g->widths || !g->W || !g->b || !g->ws) {
        view_clear(g);
        return DW_ERR_NOMEM;
    }
    g->bs = g->ws + L;
    g->widths[0] = d0;
    for (size_t l = 0; l < L; l++) {
        const dw_net_layer *dl = dw_net_dense(net, l);
        g->widths[l + 1] = dl->rows;
        g->W[l] = dl->W;
        g->b[l] = dl->b;
        g->ws[l] = dl->weight_var;
        g->bs[l] = dl->bias_var;
    }
    for (size_t l = 0; l <= L; l++) {
        if (g->widths[l] > (size_t)INT_MAX) {
            s = dw_fail(DW_ERR_INVALID, "weights: width %zu of layer %zu is above the maximum supported by BLAS (%d)",
                        g->widths[l], l, INT_MAX);
            view_clear(g);
            return s;
        }
        if (l > 0 && l < L && g->widths[l] > g->mx) g->mx = g->widths[l];
    }
    dw_status st = dw_core_check_points("X", X, n, d0);
    if (st) {
        view_clear(g);
        return st;
    }
    return DW_OK;
}

/* Run the engine on one given network. */
static dw_status run_given(const given_view *g, const double *X, size_t n, size_t n1, double *F, dw_sample_gram kind,
                           double *G, int threads_opt, const char *what)
{
    const dw_dense_shape sh = {g->L, g->widths, g->act, g->ws, g->bs, 1};
    const double cnt = dw_dense_work(&sh, n, kind);
    dw_status st = dw_core_check_alloc(8.0 * cnt, what);
    if (st) return st;
    double *work = cnt > 0 ? dw_core_alloc_large((size_t)(8.0 * cnt), what) : NULL;
    if (cnt > 0 && !work) return DW_ERR_NOMEM;
    const dw_dense_net net = {g->W, g->b, F, G, work, 0};
    st = dw_dense_eval(&sh, &net, 1, X, n, n1, kind, dw_core_threads(threads_opt));
    dw_core_free_large(work);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_forward
 * ---------------------------------------------------------------------------------------------------------- */

dw_status dw_sample_forward(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                            double *F)
{
    o = dw_sample_opts_or_default(o);
    if (net && !dw_net_is_fc(net)) return dw_asamp_forward_drawn(net, o, X, n, d, F);
    given_view g;
    dw_status st = view_init(&g, net, "forward", X, n, d);
    if (st) return st;
    if (!F)
        st = dw_fail(DW_ERR_INVALID, "forward: NULL argument");
    else
        st = run_given(&g, X, n, n, F, DW_SAMPLE_NO_GRAM, NULL, o->threads, "the forward pass's activations");
    view_clear(&g);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_network_gram
 * ---------------------------------------------------------------------------------------------------------- */

static dw_status network_gram(const given_view *g, const dw_sample_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, dw_sample_gram kind, double *G)
{
    const size_t *widths = g->widths;
    const size_t n_layers = g->L;
    if (Y) {
        if (m == 0) return dw_fail(DW_ERR_INVALID, "Y: no input points (0 rows)");
        dw_status st = dw_core_check_points("Y", Y, m, widths[0]);
        if (st) return st;
        if ((double)n + (double)m > (double)INT_MAX)
            return dw_fail(DW_ERR_INVALID, "X, Y: %zu + %zu points is above the maximum supported by BLAS", n, m);
    }
    const size_t nt = Y ? n + m : n; /* the stacked inputs */
    if (!G) return dw_fail(DW_ERR_INVALID, "network gram: NULL output");
    if (kind != DW_SAMPLE_NNGP && kind != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "kind: expected the nngp or ntk Gram (got %d)", (int)kind);
    const size_t dout = widths[n_layers];
    /* BLAS takes int dimensions: the back-propagation GEMM has n d_out rows, the gradients' Gram d_out n_l columns */
    if (kind == DW_SAMPLE_NTK && n_layers > 1 &&
        ((double)nt * (double)dout > (double)INT_MAX || (double)g->mx * (double)dout > (double)INT_MAX))
        return dw_fail(DW_ERR_INVALID, "network gram: %zu points x %zu outputs is above the maximum supported by BLAS",
                       nt, dout);
    /* with Y: one pass over the stacked points X; Y (the cross tiles only) */
    double *XY = NULL;
    dw_status st;
    if (Y) {
        const size_t d = widths[0];
        st = dw_core_check_alloc(8.0 * (double)nt * (double)d, "the stacked inputs");
        if (st) return st;
        if (!(XY = dw_core_alloc_large(nt * d * sizeof *XY, "the stacked inputs"))) return DW_ERR_NOMEM;
        memcpy(XY, X, n * d * sizeof *XY);
        memcpy(XY + n * d, Y, m * d * sizeof *XY);
    }
    st = run_given(g, Y ? XY : X, nt, n, NULL, kind, G, o->threads, "the network's activations and gradients");
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

dw_status dw_sample_network_gram(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                 const double *Y, size_t m, size_t d, dw_sample_gram kind, double *G)
{
    o = dw_sample_opts_or_default(o);
    if (net && !dw_net_is_fc(net)) return dw_asamp_gram_drawn(net, o, X, n, Y, m, d, kind, G);
    given_view g;
    dw_status st = view_init(&g, net, "network gram", X, n, d);
    if (st) return st;
    st = network_gram(&g, o, X, n, Y, m, kind, G);
    view_clear(&g);
    return st;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_network_gram_file: the Gram's rows in blocks of whole tiles of the engine (dw_dense_eval_rows: the bits
 * of dw_sample_network_gram), written by the out-of-core driver (kernels/ooc_rows.c). Each block runs the forward
 * and backward passes over every point again (the Gram's rows need every column's features); the features are the
 * fixed part of the memory, the rows the rest.
 * ---------------------------------------------------------------------------------------------------------- */

typedef struct {
    const given_view *g;
    const double *X; /* the stacked points X; Y (Y given) */
    size_t nt, n1, m;
    dw_sample_gram kind;
    double *work;
    int threads;
    bool cross;
} given_rows;

static dw_status given_file_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    const given_rows *r = ctx;
    (void)slab;
    (void)w;
    const dw_dense_shape sh = {r->g->L, r->g->widths, r->g->act, r->g->ws, r->g->bs, 1};
    const dw_dense_net net = {r->g->W, r->g->b, NULL, buf, r->work, 0};
    dw_status st = dw_dense_eval_rows(&sh, &net, 1, r->X, r->nt, r->n1, r->kind, r->threads, r0, r1);
    if (st) return st;
    const size_t cb = r->cross ? 0 : r0, ld = r->m - cb;
    for (size_t i = r0; i < r1; i++) /* gradients can overflow where the activations did not */
        for (size_t j = r->cross ? 0 : i; j < r->m; j++)
            if (!isfinite(buf[(i - r0) * ld + j - cb]))
                return dw_fail(DW_ERR_RANGE,
                               "network gram: entry (%zu, %zu) is not finite (overflow in the back-propagation)",
                               i + 1, j + 1);
    return DW_OK;
}

static uint64_t given_hash(const given_view *g, const double *X, size_t n, const double *Y, size_t m,
                           dw_sample_gram kind)
{
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    const size_t dims[] = {g->L, n, Y ? m : 0, (size_t)kind};
    h = dw_ooc_hash(dw_ooc_hash(h, "network", 8), dims, sizeof dims);
    h = dw_ooc_hash(h, g->widths, (g->L + 1) * sizeof *g->widths);
    h = dw_ooc_hash(h, dw_act_name(g->act), strlen(dw_act_name(g->act)) + 1);
    h = dw_ooc_hash(h, g->ws, 2 * g->L * sizeof *g->ws);
    for (size_t l = 0; l < g->L; l++) {
        h = dw_ooc_hash(h, g->W[l], g->widths[l + 1] * g->widths[l] * sizeof(double));
        const unsigned char has = g->b[l] != NULL;
        h = dw_ooc_hash(h, &has, 1);
        if (g->b[l]) h = dw_ooc_hash(h, g->b[l], g->widths[l + 1] * sizeof(double));
    }
    h = dw_ooc_hash(h, X, n * g->widths[0] * sizeof(double));
    if (Y) h = dw_ooc_hash(h, Y, m * g->widths[0] * sizeof(double));
    return h;
}

dw_status dw_sample_network_gram_file(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                      const double *Y, size_t m, size_t d, dw_sample_gram kind, const char *path,
                                      const dw_file_opts *fo)
{
    o = dw_sample_opts_or_default(o);
    if (net && !dw_net_is_fc(net)) return dw_asamp_gram_file_drawn(net, o, X, n, Y, m, d, kind, path, fo);
    given_view g;
    dw_status st = view_init(&g, net, "network gram", X, n, d);
    if (st) return st;
    if (kind != DW_SAMPLE_NNGP && kind != DW_SAMPLE_NTK)
        st = dw_fail(DW_ERR_INVALID, "kind: expected the nngp or ntk Gram (got %d)", (int)kind);
    else if (Y && m == 0)
        st = dw_fail(DW_ERR_INVALID, "Y: no input points (0 rows)");
    else if (Y)
        st = dw_core_check_points("Y", Y, m, d);
    const size_t nt = Y ? n + m : n, dout = g.widths[g.L];
    if (!st && Y && (double)n + (double)m > (double)INT_MAX)
        st = dw_fail(DW_ERR_INVALID, "X, Y: %zu + %zu points is above the maximum supported by BLAS", n, m);
    if (!st && kind == DW_SAMPLE_NTK && g.L > 1 &&
        ((double)nt * (double)dout > (double)INT_MAX || (double)g.mx * (double)dout > (double)INT_MAX))
        st = dw_fail(DW_ERR_INVALID, "network gram: %zu points x %zu outputs is above the maximum supported by BLAS",
                     nt, dout);
    const dw_dense_shape sh = {g.L, g.widths, g.act, g.ws, g.bs, 1};
    const double cnt = dw_dense_work(&sh, nt, kind);
    double *XY = NULL, *work = NULL;
    if (!st && Y && !(XY = dw_core_alloc_large(nt * d * sizeof *XY, "the stacked inputs"))) st = DW_ERR_NOMEM;
    if (!st && cnt > 0 && !(work = dw_core_alloc_large((size_t)(8.0 * cnt), "the network's activations and gradients")))
        st = DW_ERR_NOMEM;
    if (!st) {
        if (Y) {
            memcpy(XY, X, n * d * sizeof *XY);
            memcpy(XY + n * d, Y, m * d * sizeof *XY);
        }
        const size_t cols = Y ? m : n, shape[2] = {n, cols};
        const given_rows r = {&g, Y ? XY : X, nt, Y ? n : nt, cols, kind, work, dw_core_threads(o->threads), Y != NULL};
        const double tiles = (double)dw_par_workers(SIZE_MAX, o->threads) * 2.0 * DW_DENSE_TILE * DW_DENSE_TILE * 8.0;
        const ooc_rows_job job = {path, 2, shape, n, cols, 1, Y == NULL, DW_DENSE_TILE,
                                  8.0 * cnt + (Y ? 8.0 * (double)nt * (double)d : 0.0) + tiles + DW_OOC_STAGE_BYTES,
                                  0.0, given_hash(&g, X, n, Y, m, kind), given_file_rows, (void *)&r, NULL, NULL, NULL, NULL};
        st = dw_ooc_rows_file(&job, fo);
    }
    dw_core_free_large(XY);
    dw_core_free_large(work);
    view_clear(&g);
    return st;
}
