/* The engine of finite networks of any architecture (arch.h): m networks of one program on the same inputs, their
 * outputs and empirical NNGP / NTK Grams, in three parallel loops whose items depend only on their keys:
 *   1. forward (network, input): the input's tape and outputs;
 *   2. NTK only, back-propagation (network, input): the Jacobian rows of the input's d_out output units;
 *   3. Gram tiles (network, row tile, column tile):
 *        NTK:  Theta(x, y) = (1/d_out) sum_u <df_u/dtheta (x), df_u/dtheta (y)>;
 *        NNGP: with a dense readout (weight_var w, bias_var b, input a of C channels at P positions), the covariance
 *              of the outputs given the layers below, (1/P) sum_p (w / C) a_p(x).a_p(y) + b (as the fully connected
 *              sampler's); otherwise the outputs' (1/d_out) f(x).f(y).
 * so results do not depend on the thread count. */
#include "core/par.h"
#include "sample/arch.h"
#include "sample/dense.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TILE DW_ASAMP_TILE

double dw_asamp_work(const asamp_prog *p, size_t n, int kind)
{
    double w = (double)n * (double)p->tape;
    if (kind == 2) w += (double)n * (double)p->dout * (double)p->nparam;
    return w;
}

typedef struct job {
    const asamp_prog *p;
    const asamp_net *nets;
    const double *X;
    size_t n, n1, ntiles, ldg, jg;
    size_t g0, qoff; /* the Gram's rows from g0: its tiles from number qoff */
    int kind, cross;
    uint64_t seed;
    bool given;
    double *wk;      /* per worker: grad (tape) + scratch + tile */
    size_t wk_len;
    dw_par_first err;
} job;

static double *worker(const job *j, int tid) { return j->wk + (size_t)tid * j->wk_len; }

static dw_status forward_item(void *ctx, size_t k, int tid)
{
    job *j = ctx;
    const asamp_prog *p = j->p;
    const size_t s = k / j->n, i = k % j->n;
    const asamp_net *net = &j->nets[s];
    double *tape = net->work + i * p->tape;
    const size_t bad = dw_asamp_forward(p, net->theta, j->X + i * p->d, j->seed, net->sample, i, tape,
                                        worker(j, tid) + p->tape);
    if (bad) {
        const asamp_op *op = &p->op[bad - 1];
        dw_status e = j->given ? dw_fail(DW_ERR_RANGE, "forward: layer %zu (%s) is not finite at input row %zu "
                                         "(non-finite parameters, or overflow)", op->layer_no,
                                         dw_net_kind_name(op->l->kind), i + 1)
                               : dw_fail(DW_ERR_RANGE, "sample %llu: layer %zu (%s) overflows at input row %zu; "
                                         "reduce the depth or the variances", (unsigned long long)net->sample,
                                         op->layer_no, dw_net_kind_name(op->l->kind), i + 1);
        dw_par_first_record(&j->err, k, e);
        return DW_OK;
    }
    if (net->F) memcpy(net->F + i * p->dout, tape + p->val[p->out].off, p->dout * sizeof(double));
    return DW_OK;
}

static dw_status backward_item(void *ctx, size_t k, int tid)
{
    job *j = ctx;
    const asamp_prog *p = j->p;
    const size_t s = k / j->n, i = k % j->n;
    const asamp_net *net = &j->nets[s];
    const double *tape = net->work + i * p->tape;
    double *J = net->work + j->n * p->tape + i * p->dout * p->nparam, *w = worker(j, tid);
    for (size_t u = 0; u < p->dout; u++)
        dw_asamp_backward(p, net->theta, tape, j->seed, net->sample, i, u, J + u * p->nparam, w, w + p->tape);
    return DW_OK;
}

static dw_status gram_item(void *ctx, size_t k, int tid)
{
    job *j = ctx;
    const asamp_prog *p = j->p;
    const size_t s = k / j->ntiles;
    const asamp_net *net = &j->nets[s];
    size_t i0, i1, j0, j1;
    dw_dense_tile_of(k % j->ntiles + j->qoff, j->n, j->cross ? j->n1 : j->n, TILE, &i0, &i1, &j0, &j1);
    const int ni = (int)(i1 - i0), nj = (int)(j1 - j0);
    double *T = worker(j, tid) + p->tape + (size_t)dw_asamp_scratch(p);
    double alpha, c = 0.0;
    if (j->kind == 2) {
        const size_t ld = p->dout * p->nparam;
        const double *Jb = net->work + j->n * p->tape;
        for (size_t u = 0; u < p->dout; u++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, nj, (int)p->nparam, 1.0,
                        Jb + i0 * ld + u * p->nparam, (int)ld, Jb + j0 * ld + u * p->nparam, (int)ld,
                        u ? 1.0 : 0.0, T, nj);
        alpha = 1.0 / (double)p->dout;
    } else {
        size_t off, len;
        if (p->nngp_op >= 0) {
            const asamp_op *op = &p->op[p->nngp_op];
            const asamp_val *v = &p->val[op->in];
            off = v->off;
            len = v->P * v->C;
            alpha = op->l->weight_var / ((double)v->C * (double)v->P);
            c = op->pb != SIZE_MAX ? op->l->bias_var : 0.0;
        } else {
            off = p->val[p->out].off;
            len = p->dout;
            alpha = 1.0 / (double)p->dout;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ni, nj, (int)len, 1.0, net->work + i0 * p->tape + off,
                    (int)p->tape, net->work + j0 * p->tape + off, (int)p->tape, 0.0, T, nj);
    }
    for (size_t i = i0; i < i1; i++)
        for (size_t q = j->cross || i0 != j0 ? j0 : i; q < j1; q++)
            net->G[(i - j->g0) * j->ldg + q - j->jg] = alpha * T[(i - i0) * (size_t)nj + (q - j0)] + c;
    return DW_OK;
}

dw_status dw_asamp_eval_rows(const asamp_prog *p, const asamp_net *nets, size_t m, const double *X, size_t n,
                             size_t n1, int kind, uint64_t seed, int threads, bool given, size_t g0, size_t g1,
                             bool features)
{
    job j = {.p = p, .nets = nets, .X = X, .n = n, .n1 = n1, .kind = kind, .seed = seed, .given = given};
    j.cross = n1 < n;
    j.ldg = j.cross ? n - n1 : n - g0;
    j.jg = j.cross ? n1 : g0;
    j.g0 = g0;
    j.ntiles = kind && g1 > g0 ? dw_dense_tiles_of_rows(n, n1, TILE, g0 / TILE, (g1 + TILE - 1) / TILE, &j.qoff) : 0;
    j.wk_len = p->tape + (size_t)dw_asamp_scratch(p) + TILE * TILE;
    const size_t nw = (size_t)dw_par_workers(SIZE_MAX, threads);
    j.wk = dw_alloc(nw, j.wk_len * sizeof(double), "network work space");
    if (!j.wk) return DW_ERR_NOMEM;
    dw_status st = DW_OK;
    if (features) {
        dw_par_first_init(&j.err);
        (void)dw_par_for(m * n, threads, forward_item, &j);
        st = dw_par_first_done(&j.err);
        if (!st && kind == 2 && p->nparam) st = dw_par_for(m * n, threads, backward_item, &j);
    }
    if (!st && kind == 2 && !p->nparam)
        for (size_t s = 0; s < m; s++) memset(nets[s].G, 0, (g1 - g0) * j.ldg * sizeof(double));
    else if (!st && j.ntiles)
        st = dw_par_for(m * j.ntiles, threads, gram_item, &j);
    free(j.wk);
    return st;
}

dw_status dw_asamp_eval(const asamp_prog *p, const asamp_net *nets, size_t m, const double *X, size_t n, size_t n1,
                        int kind, uint64_t seed, int threads, bool given)
{
    const bool cross = n1 < n;
    dw_status st = dw_asamp_eval_rows(p, nets, m, X, n, n1, kind, seed, threads, given, 0, cross ? n1 : n, true);
    if (st || !kind || cross) return st;
    for (size_t s = 0; s < m; s++)
        for (size_t i = 0; i < n; i++)
            for (size_t q = i + 1; q < n; q++) nets[s].G[q * n + i] = nets[s].G[i * n + q];
    return DW_OK;
}
