/* Shared pieces of the dense-network drivers (see dense.h). */
#include "sample/dense.h"

#include "core/par.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------------------------------------
 * The hot kernel of a dense layer after its GEMM: bias and activation fused in one pass over each row (the row,
 * a few KiB, stays in L1 between the two).
 * ---------------------------------------------------------------------------------------------------------- */

size_t dw_dense_bias_act_rows(size_t rows, size_t cols, double *H, size_t ldh, const double *b, const dw_act *act,
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
 * The engine
 * ---------------------------------------------------------------------------------------------------------- */

/* One network's work space: NTK: a^l and phi'(h^l) of every hidden layer, then two gradient buffers of
 * n x d_out x widest; otherwise two ping-pong activation buffers of n x widest. Returns the count in doubles and,
 * where offA, offD (n_layers + 1 entries) and offG (2) are given, the offsets (valid once the count fits). */
static double layout(const dw_dense_shape *sh, size_t n, dw_sample_gram kind, size_t *offA, size_t *offD,
                     size_t *offG)
{
    const size_t H = sh->n_layers - 1, dout = sh->widths[sh->n_layers];
    size_t mx = 0;
    for (size_t l = 1; l <= H; l++) mx = sh->widths[l] > mx ? sh->widths[l] : mx;
    const int ntk = kind == DW_SAMPLE_NTK && H > 0;
    double cnt = 0;
    for (size_t l = 1; l <= H; l++) {
        if (offA) offA[l] = ntk ? (size_t)cnt : ((l - 1) & 1) * n * mx;
        if (ntk) {
            if (offD) offD[l] = (size_t)cnt + n * sh->widths[l];
            cnt += 2.0 * (double)n * (double)sh->widths[l];
        }
    }
    if (!ntk) return 2.0 * (double)n * (double)mx;
    if (offG) offG[0] = (size_t)cnt, offG[1] = (size_t)cnt + n * dout * mx;
    return cnt + 2.0 * (double)n * (double)dout * (double)mx;
}

double dw_dense_work(const dw_dense_shape *sh, size_t n, dw_sample_gram kind)
{
    return layout(sh, n, kind, NULL, NULL, NULL);
}

/* One Gram tile T = alpha P[i0:i1] P[j0:j1]^T (rows of P, K columns, leading dimension ld), ldt = j1 - j0:
 * diagonal tiles (i0 == j0) by dsyrk, which fills the upper triangle only. */
static void gram_tile(const double *P, size_t ld, size_t K, size_t i0, size_t i1, size_t j0, size_t j1, double alpha,
                      double *T)
{
    const int ni = (int)(i1 - i0), nj = (int)(j1 - j0);
    if (i0 == j0)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, ni, (int)K, alpha, P + i0 * ld, (int)ld, 0.0, T, nj);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, nj, (int)K, alpha, P + i0 * ld, (int)ld, P + j0 * ld,
                    (int)ld, 0.0, T, nj);
}

/* The Gram's tiles (dense.h). */
size_t dw_dense_ntiles(size_t n, size_t n1, size_t T)
{
    const size_t nt = (n + T - 1) / T;
    return n1 < n ? ((n1 + T - 1) / T) * ((n - n1 + T - 1) / T) : nt * (nt + 1) / 2;
}

void dw_dense_tile_of(size_t q, size_t n, size_t n1, size_t T, size_t *i0, size_t *i1, size_t *j0, size_t *j1)
{
    if (n1 < n) {
        const size_t nt2 = (n - n1 + T - 1) / T;
        *i0 = (q / nt2) * T;
        *j0 = n1 + (q % nt2) * T;
        *i1 = *i0 + T < n1 ? *i0 + T : n1;
    } else {
        const size_t nt = (n + T - 1) / T;
        size_t r = 0;
        while (q >= nt - r) {
            q -= nt - r;
            r++;
        }
        *i0 = r * T;
        *j0 = (r + q) * T;
        *i1 = *i0 + T < n ? *i0 + T : n;
    }
    *j1 = *j0 + T < n ? *j0 + T : n;
}

/* The blocks of an R x C layer output: DW_FWD_ROWS x DW_FWD_COLS (each GEMM packs its block of W once for all
 * its rows), halved (the larger side first, down to 64) until one network's layer has at least DW_MIN_ITEMS of
 * them, so that a small layer still spreads over the threads. From the shape alone, never from the thread count
 * (which would change the blocks and the rounding). */
#define DW_MIN_ITEMS 4
static void block_dims(size_t R, size_t C, size_t *br, size_t *bc)
{
    size_t r = DW_FWD_ROWS, c = DW_FWD_COLS;
    while (((R + r - 1) / r) * ((C + c - 1) / c) < DW_MIN_ITEMS && (r > 64 || c > 64)) {
        const size_t er = r < R ? r : R, ec = c < C ? c : C; /* the sides that count */
        if (r > 64 && (er >= ec || c <= 64))
            r /= 2;
        else
            c /= 2;
    }
    *br = r;
    *bc = c;
}

/* Block k of an R x C layer output: rows [r0, r0 + rows) x units [c0, c0 + cols). */
static void block_of(size_t k, size_t R, size_t C, size_t *r0, size_t *rows, size_t *c0, size_t *cols)
{
    size_t br, bc;
    block_dims(R, C, &br, &bc);
    const size_t ncb = (C + bc - 1) / bc;
    *r0 = (k / ncb) * br;
    *c0 = (k % ncb) * bc;
    *rows = *r0 + br < R ? br : R - *r0;
    *cols = *c0 + bc < C ? bc : C - *c0;
}

static size_t blocks(size_t R, size_t C)
{
    size_t br, bc;
    block_dims(R, C, &br, &bc);
    return ((R + br - 1) / br) * ((C + bc - 1) / bc);
}

/* One block of a layer: o = in W^T (rows x cols, W's rows c0.. as given), then bias and activation (phi' into D
 * where asked) in one pass over each row; returns the first row that is not finite, or SIZE_MAX. */
static size_t layer_block(const double *in, size_t rin, const double *W, const double *b, double *o, size_t ldo,
                          size_t rows, size_t cols, const dw_act *act, double *D, int check_h)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)rin, 1.0, in, (int)rin, W,
                (int)rin, 0.0, o, (int)ldo);
    return dw_dense_bias_act_rows(rows, cols, o, ldo, b, act, act ? o : NULL, ldo, D, ldo, check_h);
}

/* The error for layer l (1-based; L1 = the output layer) not finite at input row `row` (0-based). */
static dw_status layer_fail(const dw_dense_shape *sh, const dw_dense_net *net, size_t l, size_t row)
{
    if (sh->given)
        return dw_fail(DW_ERR_RANGE,
                       "forward: layer %zu is not finite at input row %zu (non-finite weights or biases, or overflow)",
                       l, row + 1);
    if (l == sh->n_layers)
        return dw_fail(DW_ERR_RANGE, "sample %llu: the output overflows at input row %zu", net->label, row + 1);
    return dw_fail(DW_ERR_RANGE,
                   "sample %llu: the activations of layer %zu overflow at input row %zu (%s); reduce the depth or the "
                   "variances",
                   net->label, l, row + 1, dw_act_name(sh->act));
}

/* The engine's loops as dw_par_for items: one loop per phase (each phase reads what the previous one wrote). A
 * failure is recorded with its key (network, layer, input row) and every item runs, so the first failure in that
 * order is reported whatever the schedule, as the phases' items do not come in that order. */
typedef struct eval_job {
    const dw_dense_shape *sh;
    const dw_dense_net *nets;
    const double *X;
    size_t n, n1, L1, H, dout;
    int ntk, cross;
    const size_t *offA, *offD;
    size_t offG[2];
    double ws_top, bs_top, inv;
    size_t ldg, jg, ntiles;
    size_t g0, qoff;     /* the Gram's rows from g0: its tiles from number qoff */
    double *tiles;       /* per worker: two DW_DENSE_TILE^2 tiles */
    size_t l, per;       /* the current loop: layer, items per network */
    size_t nout, ngb;    /* phase 2: output blocks, gradient row blocks per network */
    size_t nbb;          /* phase 3: gradient blocks per network */
    double ws, bs;       /* phase 3: the layer's Gram scales */
    dw_par_first err;
} eval_job;

static const double *act_of(const eval_job *j, size_t s, size_t l)
{
    return l == 0 ? j->X : j->nets[s].work + j->offA[l];
}

static size_t err_key(const eval_job *j, size_t s, size_t l, size_t row)
{
    return (s * (j->L1 + 1) + l) * (j->n + 1) + row;
}

/* 1. forward through hidden layer l: a^l = phi(W_l a^{l-1} + b_l), with phi' for the NTK */
static dw_status forward_item(void *ctx, size_t k, int tid)
{
    eval_job *j = ctx;
    (void)tid;
    const dw_dense_shape *sh = j->sh;
    const size_t l = j->l, n = j->n, s = k / j->per;
    const size_t rin = sh->widths[l - 1], rout = sh->widths[l];
    size_t r0, rows, c0, cols;
    block_of(k % j->per, n, rout, &r0, &rows, &c0, &cols);
    const dw_dense_net *net = &j->nets[s];
    const size_t bad = layer_block(act_of(j, s, l - 1) + r0 * rin, rin, net->W[l - 1] + c0 * rin,
                                   net->b && net->b[l - 1] ? net->b[l - 1] + c0 : NULL,
                                   net->work + j->offA[l] + r0 * rout + c0, rout, rows, cols, sh->act,
                                   j->ntk ? net->work + j->offD[l] + r0 * rout + c0 : NULL, sh->given);
    if (bad != SIZE_MAX) dw_par_first_record(&j->err, err_key(j, s, l, r0 + bad), layer_fail(sh, net, l, r0 + bad));
    return DW_OK;
}

/* 2. the outputs; the top layer's Gram term ws <a^H, a^H> + bs; the gradients at layer H,
 *    df_k/dh^H = phi'(h^H) .* W_{H+1}[k, :] (row i of the buffer: k = 0..d_out-1 side by side) */
static dw_status top_item(void *ctx, size_t k, int tid)
{
    eval_job *j = ctx;
    const dw_dense_shape *sh = j->sh;
    const size_t n = j->n, H = j->H, L1 = j->L1, dout = j->dout, wH = sh->widths[H];
    const size_t s = k / j->per, q = k % j->per;
    const dw_dense_net *net = &j->nets[s];
    if (q < j->nout) {
        size_t r0, rows, c0, cols;
        block_of(q, n, dout, &r0, &rows, &c0, &cols);
        const size_t bad = layer_block(act_of(j, s, H) + r0 * wH, wH, net->W[H] + c0 * wH,
                                       net->b && net->b[H] ? net->b[H] + c0 : NULL, net->F + r0 * dout + c0, dout,
                                       rows, cols, NULL, NULL, 1);
        if (bad != SIZE_MAX)
            dw_par_first_record(&j->err, err_key(j, s, L1, r0 + bad), layer_fail(sh, net, L1, r0 + bad));
    } else if (q < j->nout + j->ngb) {
        const size_t r0 = (q - j->nout) * DW_FWD_ROWS, r1 = r0 + DW_FWD_ROWS < n ? r0 + DW_FWD_ROWS : n;
        double *g0 = net->work + j->offG[H & 1];
        for (size_t i = r0; i < r1; i++)
            for (size_t o = 0; o < dout; o++) {
                const double *d = net->work + j->offD[H] + i * wH, *w = net->W[H] + o * wH;
                double *g = g0 + (i * dout + o) * wH;
                for (size_t c = 0; c < wH; c++) g[c] = d[c] * w[c];
            }
    } else {
        double *T1 = j->tiles + (size_t)tid * 2 * DW_DENSE_TILE * DW_DENSE_TILE;
        size_t i0, i1, j0, j1;
        dw_dense_tile_of(q - j->nout - j->ngb + j->qoff, n, j->cross ? j->n1 : n, DW_DENSE_TILE, &i0, &i1, &j0, &j1);
        const size_t nj = j1 - j0;
        const double bsh = net->b && net->b[H] ? j->bs_top : 0.0;
        gram_tile(act_of(j, s, H), wH, wH, i0, i1, j0, j1, 1.0, T1);
        for (size_t i = i0; i < i1; i++)
            for (size_t c = i0 == j0 ? i : j0; c < j1; c++)
                net->G[(i - j->g0) * j->ldg + c - j->jg] = j->ws_top * T1[(i - i0) * nj + (c - j0)] + bsh;
    }
    return DW_OK;
}

/* 3. back-propagation at layer l: the Gram of the gradients at layer l times the layer's input kernel, and in the
 *    same loop the gradients at layer l - 1 (both only read those at layer l) */
static dw_status back_item(void *ctx, size_t k, int tid)
{
    eval_job *j = ctx;
    const dw_dense_shape *sh = j->sh;
    const size_t n = j->n, l = j->l, dout = j->dout, wl = sh->widths[l], wp = sh->widths[l - 1], R = n * dout;
    const size_t s = k / j->per, q = k % j->per;
    const dw_dense_net *net = &j->nets[s];
    const double *Gl = net->work + j->offG[l & 1];
    if (q < j->nbb) { /* df/dh^{l-1} = phi'(h^{l-1}) .* (df/dh^l W_l): rows x units of (n d_out) x n_{l-1} */
        size_t r0, rows, c0, cols;
        block_of(q, R, wp, &r0, &rows, &c0, &cols);
        double *o = net->work + j->offG[(l - 1) & 1] + r0 * wp + c0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)cols, (int)wl, 1.0, Gl + r0 * wl,
                    (int)wl, net->W[l - 1] + c0, (int)wp, 0.0, o, (int)wp);
        const double *D = net->work + j->offD[l - 1];
        for (size_t r = 0; r < rows; r++) {
            const double *d = D + ((r0 + r) / dout) * wp + c0;
            double *g = o + r * wp;
            for (size_t c = 0; c < cols; c++) g[c] *= d[c];
        }
    } else {
        double *T1 = j->tiles + (size_t)tid * 2 * DW_DENSE_TILE * DW_DENSE_TILE;
        double *T2 = T1 + DW_DENSE_TILE * DW_DENSE_TILE;
        size_t i0, i1, j0, j1;
        dw_dense_tile_of(q - j->nbb + j->qoff, n, j->cross ? j->n1 : n, DW_DENSE_TILE, &i0, &i1, &j0, &j1);
        const size_t nj = j1 - j0;
        const double bsl = net->b && net->b[l - 1] ? j->bs : 0.0;
        gram_tile(Gl, dout * wl, dout * wl, i0, i1, j0, j1, j->inv, T1);
        gram_tile(act_of(j, s, l - 1), wp, wp, i0, i1, j0, j1, j->ws, T2);
        for (size_t i = i0; i < i1; i++)
            for (size_t c = i0 == j0 ? i : j0; c < j1; c++) {
                const size_t e = (i - i0) * nj + (c - j0);
                net->G[(i - j->g0) * j->ldg + c - j->jg] += T1[e] * (T2[e] + bsl);
            }
    }
    return DW_OK;
}

size_t dw_dense_tiles_of_rows(size_t n, size_t n1, size_t T, size_t R0, size_t R1, size_t *qoff)
{
    if (n1 < n) {
        const size_t nt2 = (n - n1 + T - 1) / T;
        *qoff = R0 * nt2;
        return (R1 - R0) * nt2;
    }
    const size_t nt = (n + T - 1) / T;
    *qoff = R0 * nt - (R0 > 0 ? R0 * (R0 - 1) / 2 : 0);
    return (R1 - R0) * nt - (R1 * (R1 - 1) / 2 - (R0 > 0 ? R0 * (R0 - 1) / 2 : 0));
}

dw_status dw_dense_eval(const dw_dense_shape *sh, const dw_dense_net *nets, size_t m, const double *X, size_t n,
                        size_t n1, dw_sample_gram kind, int threads)
{
    dw_status s = dw_dense_eval_rows(sh, nets, m, X, n, n1, kind, threads, 0, n1 < n ? n1 : n);
    if (s || kind == DW_SAMPLE_NO_GRAM || n1 < n) return s;
    for (size_t k = 0; k < m; k++) /* the lower triangle by symmetry */
        for (size_t i = 0; i < n; i++)
            for (size_t c = i + 1; c < n; c++) nets[k].G[c * n + i] = nets[k].G[i * n + c];
    return DW_OK;
}

dw_status dw_dense_eval_rows(const dw_dense_shape *sh, const dw_dense_net *nets, size_t m, const double *X, size_t n,
                             size_t n1, dw_sample_gram kind, int threads, size_t g0, size_t g1)
{
    const size_t L1 = sh->n_layers, H = L1 - 1, dout = sh->widths[L1];
    const int ntk = kind == DW_SAMPLE_NTK && H > 0, gram = kind != DW_SAMPLE_NO_GRAM;
    const int outputs = nets[0].F != NULL;
    /* per-layer pointers, shared by all networks as offsets into their work spaces */
    size_t *offA = calloc(L1 + 1, sizeof *offA), *offD = calloc(L1 + 1, sizeof *offD);
    if (!offA || !offD) {
        free(offA), free(offD);
        return dw_fail(DW_ERR_NOMEM, "network evaluation: out of memory");
    }
    eval_job j = {.sh = sh, .nets = nets, .X = X, .n = n, .n1 = n1, .L1 = L1, .H = H, .dout = dout, .ntk = ntk,
                  .offA = offA, .offD = offD};
    (void)layout(sh, n, kind, offA, offD, j.offG);
    j.ws_top = sh->ws ? sh->ws[H] : 1.0;
    j.bs_top = sh->bs ? sh->bs[H] : 1.0;
    /* the Gram: symmetric n x n (n1 >= n), or the cross block n1 x (n - n1), leading dimension ldg, columns from jg */
    j.cross = n1 < n;
    j.ldg = j.cross ? n - n1 : n - g0;
    j.jg = j.cross ? n1 : g0;
    j.g0 = g0;
    const size_t T = DW_DENSE_TILE;
    j.ntiles = gram ? dw_dense_tiles_of_rows(n, n1, T, g0 / T, (g1 + T - 1) / T, &j.qoff) : 0;
    j.inv = 1.0 / (double)dout;
    if (gram) { /* every worker's tiles (no loop has more workers than dw_par_workers(SIZE_MAX, threads)) */
        const size_t nw = (size_t)dw_par_workers(SIZE_MAX, threads);
        j.tiles = malloc(nw * 2 * DW_DENSE_TILE * DW_DENSE_TILE * sizeof(double));
        if (!j.tiles) {
            free(offA), free(offD);
            return dw_fail(DW_ERR_NOMEM, "network evaluation: out of memory (Gram tile)");
        }
    }
    dw_par_first_init(&j.err);
    for (size_t l = 1; l <= H; l++) {
        j.l = l;
        j.per = blocks(n, sh->widths[l]);
        (void)dw_par_for(m * j.per, threads, forward_item, &j);
    }
    j.nout = outputs ? blocks(n, dout) : 0;
    j.ngb = ntk ? (n + DW_FWD_ROWS - 1) / DW_FWD_ROWS : 0;
    j.per = j.nout + j.ntiles + j.ngb;
    (void)dw_par_for(m * j.per, threads, top_item, &j);
    for (size_t l = H; ntk && l >= 1; l--) {
        j.l = l;
        j.ws = sh->ws ? sh->ws[l - 1] : 1.0;
        j.bs = sh->bs ? sh->bs[l - 1] : 1.0;
        j.nbb = l >= 2 ? blocks(n * dout, sh->widths[l - 1]) : 0;
        j.per = j.nbb + j.ntiles;
        (void)dw_par_for(m * j.per, threads, back_item, &j);
    }
    free(j.tiles);
    free(offA), free(offD);
    return dw_par_first_done(&j.err);
}
