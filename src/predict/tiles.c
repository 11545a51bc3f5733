/* The kernel as an operator (theory.md 6): products K V of the train-train and test-train kernels computed tile by
 * tile through the kernel's tiles (dw_kern_tile_direct: one BLAS call per tile, however narrow) and never stored,
 * its diagonal and single columns. Shared by the matrix-free
 * solvers (cg.c, lanczos.c). The train-train product uses K's symmetry (tiles_sym.c); each row block of the
 * test-train product is one dw_par_for item summing its column tiles in order. Products are bit-identical for any
 * thread count. */
#include "predict/predict.h"
#include "sample/sample.h"

#include "kernels/kernel.h"

#include "core/par.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RB DW_PRED_ROWS /* rows of a tile */
#define CB DW_PRED_COLS /* columns of a tile */

dw_status dw_pred_tiles_init(dw_pred_tiles *t, const dw_net *net, const dw_predict_opts *o, const double *X, size_t n,
                             const double *T, size_t m, size_t d)
{
    memset(t, 0, sizeof *t);
    t->ntk = o->ntk;
    t->n = n;
    t->m = m;
    t->threads = o->threads;
    t->split = o->split;
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

typedef struct rows_job {
    dw_par_fn fn;
    void *ctx;
    size_t first; /* item k is row block first + k */
} rows_job;

static dw_status rows_item(void *ctx, size_t item, int tid)
{
    const rows_job *j = ctx;
    return j->fn(j->ctx, item + j->first, tid);
}

/* Split over processes (t->split): this part's row blocks (a contiguous run), then every part's rows exchanged
 * into out (records of c doubles): every part holds the whole result, the single process's bit for bit. */
static dw_status split_rows(const dw_sample_split *sp, size_t rows, size_t c, dw_par_fn fn, void *ctx, int threads,
                            double *out)
{
    const size_t items = (rows + RB - 1) / RB, P = (size_t)sp->nparts, k = (size_t)sp->part;
    const size_t a = items * k / P, b = items * (k + 1) / P;
    const size_t r0 = a * RB < rows ? a * RB : rows, r1 = b * RB < rows ? b * RB : rows;
    size_t *counts = dw_alloc(P, sizeof *counts, "the parts' counts");
    double *mine = dw_alloc((r1 - r0) * c + 1, sizeof *mine, "the part's rows");
    dw_status s = counts && mine ? DW_OK : DW_ERR_NOMEM;
    for (size_t q = 0; counts && q < P; q++) {
        const size_t qa = items * q / P * RB, qb = items * (q + 1) / P * RB;
        counts[q] = (qb < rows ? qb : rows) - (qa < rows ? qa : rows);
    }
    rows_job rj = {fn, ctx, a};
    if (!s && b > a) s = dw_par_for(b - a, threads, rows_item, &rj);
    if (!s) memcpy(mine, out + r0 * c, (r1 - r0) * c * sizeof *mine);
    s = sp->exchange(sp->ctx, s, mine, out, counts, c);
    free(counts);
    free(mine);
    return s;
}

dw_status dw_pred_tiles_rows(const dw_pred_tiles *t, size_t rows, size_t c, dw_par_fn fn, void *ctx, double *out)
{
    if (!t->split) return dw_par_for((rows + RB - 1) / RB, t->threads, fn, ctx);
    return split_rows(t->split, rows, c, fn, ctx, t->threads, out);
}

static dw_status product(dw_pred_tiles *t, const dw_kernel_plan *plan, size_t rows, const double *V, size_t c,
                         double *out)
{
    mv_job j = {.plan = plan, .ntk = t->ntk, .rows = rows, .cols = t->n, .c = c, .V = V, .out = out,
                .scratch = t->scratch};
    return dw_pred_tiles_rows(t, rows, c, mv_item, &j, out);
}

dw_status dw_pred_tiles_train(dw_pred_tiles *t, const double *V, size_t c, double shift, double *out)
{
    dw_status s = dw_pred_tiles_sym(t, V, c, out);
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

typedef struct col_job {
    const dw_pred_tiles *t;
    const double *F;
    size_t ld, k, j;
    double *g;
} col_job;

static dw_status col_item(void *ctx, size_t item, int tid)
{
    (void)tid;
    const col_job *c = ctx;
    const size_t n = c->t->n, i0 = item * RB, i1 = i0 + RB < n ? i0 + RB : n;
    double *g = c->g + i0;
    dw_status s = dw_kern_tile_direct(c->t->pxx, i0, i1, c->j, c->j + 1, c->t->ntk ? NULL : g, c->t->ntk ? g : NULL,
                                      1, i1 - i0);
    if (!s && c->k)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)(i1 - i0), (int)c->k, -1.0, c->F + i0 * c->ld, (int)c->ld,
                    c->F + c->j * c->ld, 1, 1.0, g, 1);
    return s;
}

dw_status dw_pred_tiles_column(dw_pred_tiles *t, size_t j, const double *F, size_t ld, size_t k, double *g)
{
    col_job c = {t, F, ld, k, j, g};
    return dw_pred_tiles_rows(t, t->n, 1, col_item, &c, g);
}

double dw_pred_lambda(const dw_predict_opts *o, const double *diag, size_t n)
{
    double tr = 0;
    for (size_t i = 0; i < n; i++) tr += diag[i];
    return o->absolute ? o->diag_reg : o->diag_reg * tr / (double)n;
}
