/* The kernel as an operator (theory.md 6): products K V of the train-train and test-train kernels computed tile by
 * tile through the kernel's tiles (dw_kern_tile_direct: one BLAS call per tile, however narrow) and never stored,
 * its diagonal and single columns. Shared by the matrix-free
 * solvers (cg.c, lanczos.c). Each row block of a product is one dw_par_for item summing its column tiles in order,
 * so products are bit-identical for any thread count. */
#include "predict/predict.h"

#include "kernels/kernel.h"

#include "core/par.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RB 64  /* rows of a tile */
#define CB 512 /* columns of a tile */

dw_status dw_pred_tiles_init(dw_pred_tiles *t, const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                             const double *T, size_t m, size_t d)
{
    memset(t, 0, sizeof *t);
    t->ntk = o->ntk;
    t->n = n;
    t->m = m;
    t->threads = o->threads;
    const int workers = dw_par_workers(((n > m ? n : m) + RB - 1) / RB, o->threads);
    dw_status s = dw_kernel_opts_init(&t->ko);
    if (!s) s = dw_kernel_opts_set_threads(t->ko, o->threads);
    if (!s) s = dw_kernel_plan_init(&t->pxx, net, t->ko, X, n, NULL, n, d);
    if (!s) s = dw_kernel_plan_init(&t->ptx, net, t->ko, T, m, X, n, d);
    if (!s && !(t->scratch = dw_alloc((size_t)workers * RB * CB, sizeof *t->scratch, "kernel tiles: scratch")))
        s = DW_ERR_NOMEM;
    if (s) dw_pred_tiles_clear(t);
    return s;
}

void dw_pred_tiles_clear(dw_pred_tiles *t)
{
    free(t->scratch);
    dw_kernel_plan_clear(t->pxx);
    dw_kernel_plan_clear(t->ptx);
    dw_kernel_opts_clear(t->ko);
    memset(t, 0, sizeof *t);
}

typedef struct mv_job {
    const dw_kernel_plan *plan;
    bool ntk;
    size_t rows, cols, c; /* out (rows x c) = K(rows, cols) V (cols x c) */
    const double *V;
    double *out;
    double *scratch; /* per worker RB x CB */
} mv_job;

static dw_status mv_item(void *ctx, size_t item, int tid)
{
    const mv_job *j = ctx;
    const size_t i0 = item * RB, i1 = i0 + RB < j->rows ? i0 + RB : j->rows, c = j->c;
    double *S = j->scratch + (size_t)tid * RB * CB;
    double *out = j->out + i0 * c;
    memset(out, 0, (i1 - i0) * c * sizeof *out);
    for (size_t j0 = 0; j0 < j->cols; j0 += CB) {
        const size_t j1 = j0 + CB < j->cols ? j0 + CB : j->cols, w = j1 - j0;
        dw_status s = dw_kern_tile_direct(j->plan, i0, i1, j0, j1, j->ntk ? NULL : S, j->ntk ? S : NULL, w, RB * w);
        if (s) return s;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(i1 - i0), (int)c, (int)w, 1.0, S, (int)w,
                    j->V + j0 * c, (int)c, 1.0, out, (int)c);
    }
    return DW_OK;
}

static dw_status product(dw_pred_tiles *t, const dw_kernel_plan *plan, size_t rows, const double *V, size_t c,
                         double *out)
{
    mv_job j = {.plan = plan, .ntk = t->ntk, .rows = rows, .cols = t->n, .c = c, .V = V, .out = out,
                .scratch = t->scratch};
    return dw_par_for((rows + RB - 1) / RB, t->threads, mv_item, &j);
}

dw_status dw_pred_tiles_train(dw_pred_tiles *t, const double *V, size_t c, double shift, double *out)
{
    dw_status s = product(t, t->pxx, t->n, V, c, out);
    if (!s && shift != 0.0)
        for (size_t i = 0; i < t->n * c; i++) out[i] += shift * V[i];
    return s;
}

dw_status dw_pred_tiles_test(dw_pred_tiles *t, const double *V, size_t c, double *out)
{
    return product(t, t->ptx, t->m, V, c, out);
}

dw_status dw_pred_tiles_diag(dw_pred_tiles *t, double *diag)
{
    const size_t n = t->n;
    double *S = t->scratch;
    for (size_t i0 = 0; i0 < n; i0 += RB) {
        const size_t i1 = i0 + RB < n ? i0 + RB : n, w = i1 - i0;
        dw_status s = dw_kern_tile_direct(t->pxx, i0, i1, i0, i1, t->ntk ? NULL : S, t->ntk ? S : NULL, w, w * w);
        if (s) return s;
        for (size_t i = 0; i < w; i++) diag[i0 + i] = S[i * w + i];
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(diag[i])) return dw_fail(DW_ERR_RANGE, "kernel: diagonal entry %zu is not finite", i);
    return DW_OK;
}

dw_status dw_pred_tiles_column(dw_pred_tiles *t, size_t j, double *g)
{
    return dw_kern_tile_direct(t->pxx, 0, t->n, j, j + 1, t->ntk ? NULL : g, t->ntk ? g : NULL, 1, t->n);
}

double dw_pred_lambda(const dw_predict_opts *o, const double *diag, size_t n)
{
    double tr = 0;
    for (size_t i = 0; i < n; i++) tr += diag[i];
    return o->absolute ? o->diag_reg : o->diag_reg * tr / (double)n;
}
