/* The architecture engine's driver (theory.md 7): compile the net, one pass per input (its own covariances, and
 * the per-position variances the pairs read), then one pass per pair of inputs, rows of the Gram handed to
 * dw_par_for. Each entry depends only on its two inputs: results are the same for every thread count. Memory:
 * the outputs, the inputs' records (a few doubles per position and layer) and per worker the registers. */
#include "kernels/arch.h"
#include "kernels/kernel.h"

#include "core/par.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct arch_gram {
    arch_prog p;
    const double *X, *Y;
    size_t n, m, d;
    double *recX, *recY; /* records of the inputs */
    double *tX, *tY;     /* the same transposed (dw_arch_records_t), for the block runner */
    double *xT, *yT;     /* the inputs transposed, for the block runner when the input is not flattened */
    double *kx, *tx;     /* the inputs' own K(x, x), Theta(x, x) (pass 1) */
    arch_work *w;
    int W, threads;
    bool ntk, symmetric;
    /* the rows being computed: entry (i, j) at K[(i - r0) ld + j - c0] (NULL: not wanted) */
    double *K, *Theta;
    size_t r0, r1, ld, c0;
    /* progress (dw_arch_gram_rows' callers that set it): pairs done of total, from worker 0 after each row */
    const struct dw_kernel_opts *o;
    atomic_size_t pairs;
    double total;
    atomic_int cancel;
};
typedef struct arch_gram arch_job;

static dw_status pass_input(void *ctx, size_t item, int tid)
{
    arch_job *g = ctx;
    const arch_prog *p = &g->p;
    const bool isx = item < g->n;
    const size_t i = isx ? item : item - g->n;
    const double *z = (isx ? g->X : g->Y) + i * g->d;
    double *rec = (isx ? g->recX : g->recY) + i * p->rec;
    double k, t;
    dw_status s = dw_arch_run(p, &g->w[tid], z, z, g->d, rec, rec, true, true, &k, g->ntk ? &t : NULL);
    if (!s && isx) {
        g->kx[i] = k;
        if (g->ntk) g->tx[i] = t;
    }
    return s;
}

/* Rows [i0, i1) of the Gram in blocks of DW_ARCH_ROWS pairs (dw_arch_run_rows), the blocks' columns shared by the
 * rows (from i0 + 1 for the upper triangle: the first block of a later row starts at its own i + 1), so that a
 * flattened input's dot products are one call per block for the group (the sweeps' dots, each entry's sum in
 * the same order whatever the group: the same bits as row by row); the diagonal from the inputs' own pass. */
static dw_status pass_group_blocks(arch_job *g, size_t i0, size_t i1, int tid)
{
    const arch_prog *p = &g->p;
    const size_t m = g->m, d = g->d;
    const double *X = g->X;
    const double *tY = g->symmetric ? g->tX : g->tY, *yT = g->symmetric ? g->xT : g->yT;
    const size_t ld = (g->symmetric ? g->n : g->m) + DW_ARCH_ROWS;
    const bool flat = p->op[0].flat;
    double k[DW_ARCH_ROWS];                   /* the NNGP when only the NTK is wanted */
    double dots[DW_ARCH_GROUP * DW_ARCH_ROWS]; /* the group's dot products with a block (flattened input) */
    if (g->symmetric)
        for (size_t i = i0; i < i1; i++) {
            const size_t at = (i - g->r0) * g->ld - g->c0; /* entry (i, j) at [at + j] */
            if (g->K) g->K[at + i] = g->kx[i];
            if (g->Theta) g->Theta[at + i] = g->tx[i];
        }
    for (size_t j0 = g->symmetric ? i0 + 1 : 0; j0 < m; j0 += DW_ARCH_ROWS) {
        const size_t je = m - j0 < DW_ARCH_ROWS ? m : j0 + DW_ARCH_ROWS;
        if (flat) p->impl->dots(i1 - i0, d, X + i0 * d, yT + j0, ld, DW_ARCH_ROWS, dots, DW_ARCH_ROWS);
        for (size_t i = i0; i < i1; i++) {
            const size_t a = g->symmetric && i + 1 > j0 ? i + 1 : j0; /* the row's first column in the block */
            if (a >= je) continue;
            const size_t at = (i - g->r0) * g->ld - g->c0;
            dw_status s = dw_arch_run_rows(p, &g->w[tid], X + i * d, g->recX + i * p->rec,
                                           flat ? dots + (i - i0) * DW_ARCH_ROWS + (a - j0) : NULL,
                                           yT ? yT + a : NULL, tY + a, ld, je - a, d, g->K ? g->K + at + a : k,
                                           g->Theta ? g->Theta + at + a : NULL);
            if (s) return s;
        }
    }
    return DW_OK;
}

/* The lower triangle of a symmetric Gram from the upper one (the row passes write only j >= i), in tile rows of
 * 64: within a tile row, 64 columns at a time, 4 x 4 blocks transposed in registers (rows read and written 4
 * contiguous entries at a time), the entries next to the diagonal one by one. The tile rows near the bottom hold
 * the most entries, so they are handed out first. */
enum { MIRROR_TILE = 64 };
typedef double v4d __attribute__((vector_size(32), aligned(8)));

DW_LANES static void transpose4(double *A, size_t n, size_t i, size_t j)
{
    const v4d a0 = *(const v4d *)(A + j * n + i), a1 = *(const v4d *)(A + (j + 1) * n + i);
    const v4d a2 = *(const v4d *)(A + (j + 2) * n + i), a3 = *(const v4d *)(A + (j + 3) * n + i);
    typedef long long v4i __attribute__((vector_size(32)));
    const v4d t0 = __builtin_shuffle(a0, a1, (v4i){0, 4, 2, 6}), t1 = __builtin_shuffle(a0, a1, (v4i){1, 5, 3, 7});
    const v4d t2 = __builtin_shuffle(a2, a3, (v4i){0, 4, 2, 6}), t3 = __builtin_shuffle(a2, a3, (v4i){1, 5, 3, 7});
    *(v4d *)(A + i * n + j) = __builtin_shuffle(t0, t2, (v4i){0, 1, 4, 5});
    *(v4d *)(A + (i + 1) * n + j) = __builtin_shuffle(t1, t3, (v4i){0, 1, 4, 5});
    *(v4d *)(A + (i + 2) * n + j) = __builtin_shuffle(t0, t2, (v4i){2, 3, 6, 7});
    *(v4d *)(A + (i + 3) * n + j) = __builtin_shuffle(t1, t3, (v4i){2, 3, 6, 7});
}

static void mirror(double *A, size_t n, size_t i0)
{
    const size_t i1 = i0 + MIRROR_TILE < n ? i0 + MIRROR_TILE : n;
    for (size_t j0 = 0; j0 < i1; j0 += MIRROR_TILE) {
        const size_t j1 = j0 + MIRROR_TILE < i1 ? j0 + MIRROR_TILE : i1;
        for (size_t i = i0; i < i1; i += 4) {
            const size_t ie = i + 4 <= i1 ? i + 4 : i1;
            size_t j = j0;
            if (ie == i + 4) /* four whole rows: the blocks left of the diagonal (j + 3 < i) */
                for (; j + 4 <= j1 && j + 4 <= i; j += 4) transpose4(A, n, i, j);
            for (size_t r = i; r < ie; r++)
                for (size_t c = j; c < j1 && c < r; c++) A[r * n + c] = A[c * n + r];
        }
    }
}

static dw_status pass_mirror(void *ctx, size_t item, int tid)
{
    (void)tid;
    arch_job *g = ctx;
    const size_t tile = (g->n + MIRROR_TILE - 1) / MIRROR_TILE - 1 - item;
    if (g->K) mirror(g->K, g->n, tile * MIRROR_TILE);
    if (g->Theta) mirror(g->Theta, g->n, tile * MIRROR_TILE);
    return DW_OK;
}

static dw_status row_pairs(arch_job *g, size_t i, int tid)
{
    const arch_prog *p = &g->p;
    const size_t m = g->m, at = (i - g->r0) * g->ld - g->c0;
    const double *x = g->X + i * g->d;
    for (size_t j = g->symmetric ? i : 0; j < m; j++) {
        double k, t;
        if (g->symmetric && j == i) {
            k = g->kx[i];
            t = g->ntk ? g->tx[i] : 0.0;
        } else {
            const double *y = (g->symmetric ? g->X : g->Y) + j * g->d;
            const double *ry = (g->symmetric ? g->recX : g->recY) + j * p->rec;
            dw_status s = dw_arch_run(p, &g->w[tid], x, y, g->d, g->recX + i * p->rec, ry, false, false, &k,
                                      g->Theta ? &t : NULL);
            if (s) return s;
        }
        if (g->K) g->K[at + j] = k;
        if (g->Theta) g->Theta[at + j] = t;
    }
    return DW_OK;
}

/* Work item: DW_ARCH_GROUP rows from r0 (the last group fewer). */
static dw_status pass_row(void *ctx, size_t item, int tid)
{
    arch_job *g = ctx;
    const struct dw_kernel_opts *o = g->o;
    if (o && atomic_load(&g->cancel)) return dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback");
    const size_t i0 = g->r0 + item * DW_ARCH_GROUP, i1 = i0 + DW_ARCH_GROUP < g->r1 ? i0 + DW_ARCH_GROUP : g->r1;
    dw_status s = DW_OK;
    if (g->p.rows_ok)
        s = pass_group_blocks(g, i0, i1, tid);
    else
        for (size_t i = i0; i < i1 && !s; i++) s = row_pairs(g, i, tid);
    if (s || !o) return s;
    size_t pairs = 0;
    for (size_t i = i0; i < i1; i++) pairs += g->symmetric ? g->m - i : g->m;
    const size_t done = atomic_fetch_add(&g->pairs, pairs) + pairs;
    if (tid == 0 && o->progress(o->progress_ctx, (double)done, g->total) != 0) atomic_store(&g->cancel, 1);
    return DW_OK;
}

dw_status dw_arch_gram_rows(arch_gram *g, size_t r0, size_t r1, double *K, double *Theta, size_t ld, size_t c0)
{
    g->K = K;
    g->Theta = Theta;
    g->r0 = r0;
    g->r1 = r1;
    g->ld = ld;
    g->c0 = c0;
    return dw_par_for((r1 - r0 + DW_ARCH_GROUP - 1) / DW_ARCH_GROUP, g->threads, pass_row, g);
}

void dw_arch_gram_progress(arch_gram *g, const struct dw_kernel_opts *o, size_t done, double total)
{
    g->o = o && o->progress ? o : NULL;
    atomic_store(&g->pairs, done);
    g->total = total;
}

bool dw_arch_gram_cancelled(const arch_gram *g) { return atomic_load(&g->cancel) != 0; }

const arch_prog *dw_arch_gram_prog(const arch_gram *g) { return &g->p; }

void dw_arch_gram_stats(const arch_gram *g, double *max_bound, size_t *evaluations)
{
    for (int t = 0; t < g->W; t++) {
        if (g->w[t].max_bound > *max_bound) *max_bound = g->w[t].max_bound;
        *evaluations += g->w[t].evaluations;
    }
}

void dw_arch_gram_info(const arch_gram *g, double max_bound, size_t evaluations, struct dw_kernel_info *info)
{
    memset(info, 0, sizeof *info);
    info->method = g->p.method;
    info->exp_bound = info->max_bound = max_bound;
    info->evaluations = evaluations;
    info->target = g->p.generic ? DW_DUAL_TARGET : 0.0;
    info->estimate = g->p.generic;
}

void dw_arch_gram_clear(arch_gram *g)
{
    if (!g) return;
    for (int t = 0; g->w && t < g->W; t++) free(g->w[t].K);
    free(g->w);
    free(g->kx);
    free(g->recX);
    free(g->recY);
    free(g->tX);
    free(g->tY);
    free(g->xT);
    free(g->yT);
    dw_arch_prog_clear(&g->p);
    free(g);
}

dw_status dw_arch_gram_init(arch_gram **out, const dw_net *net, const struct dw_kernel_opts *o, const double *X,
                            size_t n, const double *Y, size_t m, size_t d, bool ntk)
{
    *out = NULL;
    if (o && o->all_layers)
        return dw_fail(DW_ERR_INVALID, "all_layers: not available for architectures beyond the fully connected one");
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    dw_status s = dw_core_check_points("X", X, n, d);
    if (!s && Y) s = dw_core_check_points("Y", Y, m, d);
    if (s) return s;
    arch_job *g = dw_calloc(1, sizeof *g, "kernel work space");
    if (!g) return DW_ERR_NOMEM;
    if ((s = dw_arch_compile(&g->p, net, d))) {
        free(g);
        return s;
    }
    const arch_prog *p = &g->p;
    if (ntk && p->no_width_layer) {
        s = dw_fail(DW_ERR_INVALID, "kernel: layer %zu: the standard parameterisation's NTK needs the width "
                    "(out_dim / out_chan) of the layer before", p->no_width_layer);
        dw_arch_gram_clear(g);
        return s;
    }
    const bool sym = Y == NULL;
    g->threads = o ? o->threads : 0;
    const size_t ny = sym ? 0 : m, items = n + ny;
    g->W = dw_par_workers(items > n ? items : n, g->threads);
    g->X = X;
    g->Y = Y;
    g->n = n;
    g->m = sym ? n : m;
    g->d = d;
    g->ntk = ntk;
    g->symmetric = sym;
    atomic_init(&g->pairs, 0);
    atomic_init(&g->cancel, 0);
    g->recX = dw_alloc(n * p->rec + 1, sizeof(double), "kernel records");
    g->recY = ny ? dw_alloc(ny * p->rec + 1, sizeof(double), "kernel records") : NULL;
    g->kx = dw_alloc(2 * n + 1, sizeof(double), "kernel records");
    g->w = dw_calloc((size_t)g->W, sizeof *g->w, "kernel work space");
    s = g->recX && (!ny || g->recY) && g->kx && g->w ? DW_OK : DW_ERR_NOMEM;
    if (!s) g->tx = g->kx + n;
    const size_t regs = (size_t)p->nreg * p->reg_len;
    for (int t = 0; t < g->W && !s; t++) {
        const size_t rows = p->rows_ok ? dw_arch_rows_len(p) : 0;
        arch_work *w = &g->w[t];
        w->K = dw_alloc(2 * regs + 2 * p->reg_len + p->act_len + rows, sizeof(double), "kernel registers");
        if (!w->K) s = DW_ERR_NOMEM;
        else {
            w->T = w->K + regs;
            w->tmp = w->T + regs;
            w->act = w->tmp + 2 * p->reg_len;
            w->rows = p->rows_ok ? w->act + p->act_len : NULL;
        }
    }
    if (!s) s = dw_par_for(items, g->threads, pass_input, g);
    if (!s && p->rows_ok) { /* the block runner reads the records field by field */
        g->tX = dw_alloc((n + DW_ARCH_ROWS) * p->rec + 1, sizeof(double), "kernel records");
        g->tY = ny ? dw_alloc((ny + DW_ARCH_ROWS) * p->rec + 1, sizeof(double), "kernel records") : NULL;
        if (!g->tX || (ny && !g->tY)) s = DW_ERR_NOMEM;
        if (!s && n) dw_arch_records_t(g->recX, n, p->rec, g->tX);
        if (!s && ny) dw_arch_records_t(g->recY, ny, p->rec, g->tY);
        if (!s && n) { /* the input's products (per position, or the dot products) read feature by feature */
            g->xT = dw_alloc((n + DW_ARCH_ROWS) * d, sizeof(double), "kernel inputs");
            g->yT = ny ? dw_alloc((ny + DW_ARCH_ROWS) * d, sizeof(double), "kernel inputs") : NULL;
            if (!g->xT || (ny && !g->yT)) s = DW_ERR_NOMEM;
            if (!s) dw_arch_records_t(X, n, d, g->xT);
            if (!s && ny) dw_arch_records_t(Y, ny, d, g->yT);
        }
    }
    if (s) dw_arch_gram_clear(g);
    else *out = g;
    return s;
}

dw_status dw_arch_gram(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                       size_t m, size_t d, double *K, double *Theta, dw_kernel_info *info)
{
    arch_gram *g;
    dw_status s = dw_arch_gram_init(&g, net, o, X, n, Y, m, d, Theta != NULL);
    if (s) return s;
    if (!(s = dw_arch_gram_rows(g, 0, n, K, Theta, g->m, 0)) && g->symmetric)
        s = dw_par_for((n + MIRROR_TILE - 1) / MIRROR_TILE, g->threads, pass_mirror, g);
    if (!s && info) {
        double mb = 0.0;
        size_t ev = 0;
        dw_arch_gram_stats(g, &mb, &ev);
        dw_arch_gram_info(g, mb, ev, info);
    }
    dw_arch_gram_clear(g);
    return s;
}

dw_status dw_arch_gram_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                             double *bytes)
{
    if (o && o->all_layers)
        return dw_fail(DW_ERR_INVALID, "all_layers: not available for architectures beyond the fully connected one");
    /* the program of the net's input shape (a vector input: one position, whatever its dimension) */
    size_t d = 1;
    for (size_t k = 0; k < net->in_rank; k++) d *= net->in_shape[k];
    arch_prog p;
    dw_status s = dw_arch_compile(&p, net, d);
    if (s) return s;
    const int W = dw_par_workers(n + m, o ? o->threads : 0);
    const double regs = 2.0 * (double)p.nreg * (double)p.reg_len + 2.0 * (double)p.reg_len + (double)p.act_len +
                        (p.rows_ok ? (double)dw_arch_rows_len(&p) : 0.0);
    const double recs = (double)(n + m) * ((double)p.rec + 2.0) +
                        (p.rows_ok ? (double)(n + m + 2 * DW_ARCH_ROWS) * (double)(p.rec + d) : 0.0);
    *bytes = 8.0 * ((double)n * (double)m * (double)((nngp ? 1 : 0) + (ntk ? 1 : 0)) + recs + (double)W * regs);
    dw_arch_prog_clear(&p);
    return DW_OK;
}
