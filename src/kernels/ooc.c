/* Out-of-core Gram matrices (dw_kernel_gram_file): the rows are computed in blocks that fit the working memory,
 * each block's tiles by dw_par_for (the tiles of dw_kernel_gram, so the same bits), then written at their place
 * in the .npy (ooc_files.c) and recorded, so that a killed run resumes from its completed blocks.
 *
 * A symmetric Gram K(X, X) computes each entry once, as dw_kernel_gram does: block [r0, r1) computes its entries
 * with j >= i (the tiles store them without the mirror, sym 2), fills its own lower triangle from them, writes
 * its rows from column r0 on, and writes the mirror of columns [r0, r1) into the later rows j >= r1 (pieces of
 * r1 - r0 values), whose columns < their own block's start are then complete when that block comes. */
#include "kernels/ooc.h"

#include "core/par.h"
#include "kernels/sweep.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE_BYTES ((size_t)1 << 16) /* the transposed mirror pieces, staged (64 KiB, or one piece) */

typedef struct ooc_run {
    const dw_kernel_plan *p;
    size_t n, m, L, nout;     /* rows, columns, layers per output, outputs (K and/or Theta) */
    size_t B;                 /* rows per block */
    double *buf;              /* nout x L x B x w: output o, layer l at buf + (o L + l) B w */
    size_t r0, r1, cb, w;     /* the block's rows, its first column (a multiple of TILE_J) and width m - cb */
    size_t *tiles;            /* the block's tiles (i0, j0) */
    size_t ntiles;
    bool ntk_only;            /* the one output is Theta */
    atomic_size_t done;       /* tiles done (progress) */
    double total;             /* tiles of the whole Gram matrix */
    const dw_kernel_opts *o;
    atomic_int cancel;        /* the progress callback asked to stop */
} ooc_run;

/* The tiles of rows [a, b) in tile rows of TILE_I from a: all column tiles, or (symmetric) those holding some
 * j >= i0, as in gram.c. */
static size_t count_tiles(const ooc_run *r, size_t a, size_t b)
{
    const size_t nbj = (r->m + TILE_J - 1) / TILE_J;
    size_t c = 0;
    for (size_t i0 = a; i0 < b; i0 += TILE_I) c += r->p->symmetric ? nbj - i0 / TILE_J : nbj;
    return c;
}

static dw_status block_tile(void *ctx, size_t k, int tid)
{
    ooc_run *r = ctx;
    if (atomic_load(&r->cancel)) return dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback");
    const size_t i0 = r->tiles[2 * k], j0 = r->tiles[2 * k + 1];
    const size_t i1 = i0 + TILE_I < r->r1 ? i0 + TILE_I : r->r1, j1 = j0 + TILE_J < r->m ? j0 + TILE_J : r->m;
    const size_t lstride = r->B * r->w, at = (i0 - r->r0) * r->w + (j0 - r->cb);
    double *K = r->ntk_only ? NULL : r->buf + at;
    double *T = r->nout == 2 ? r->buf + r->L * lstride + at : r->ntk_only ? r->buf + at : NULL;
    dw_status s = dw_kern_tile(r->p, i0, i1, j0, j1, K, T, r->w, lstride, r->p->symmetric ? 2 : 0);
    const size_t done = atomic_fetch_add(&r->done, 1) + 1;
    if (!s && tid == 0 && r->o && r->o->progress &&
        r->o->progress(r->o->progress_ctx, (double)done, r->total) != 0)
        atomic_store(&r->cancel, 1);
    return s;
}

/* Symmetric: the block's entries j < i within it from their mirror, and the diagonal of K (the per-point recursion,
 * as dw_kernel_gram). */
static void block_fill(const ooc_run *r)
{
    const dw_kernel_plan *p = r->p;
    const size_t lstride = r->B * r->w;
    for (size_t ol = 0; ol < r->nout * r->L; ol++) {
        double *v = r->buf + ol * lstride;
        for (size_t i = r->r0; i < r->r1; i++)
            for (size_t j = r->r0; j < i; j++) v[(i - r->r0) * r->w + j - r->cb] = v[(j - r->r0) * r->w + i - r->cb];
        if (ol < r->L && !r->ntk_only) {
            const double *a = field(p, &p->X, p->all_layers ? (int)ol : p->depth, F_A);
            for (size_t i = r->r0; i < r->r1; i++) v[(i - r->r0) * r->w + i - r->cb] = a[i];
        }
    }
}

/* Write the block's rows (from column r0 when symmetric) and, symmetric, their mirror into the later rows. */
static dw_status block_write(const ooc_run *r, ooc_files *f, double *stage, size_t stage_rows)
{
    const size_t lstride = r->B * r->w, nb = r->r1 - r->r0, n = r->n, m = r->m;
    for (size_t ol = 0; ol < r->nout * r->L; ol++) {
        const double *v = r->buf + ol * lstride;
        const uint64_t base = (uint64_t)ol * n * m * 8u;
        dw_status s;
        if (!r->p->symmetric) {
            if ((s = dw_ooc_write(f, v, nb * m * 8u, base + (uint64_t)r->r0 * m * 8u))) return s;
            continue;
        }
        for (size_t i = r->r0; i < r->r1; i++)
            if ((s = dw_ooc_write(f, v + (i - r->r0) * r->w + (r->r0 - r->cb), (m - r->r0) * 8u,
                                  base + ((uint64_t)i * m + r->r0) * 8u)))
                return s;
        for (size_t j0 = r->r1; j0 < m; j0 += stage_rows) {
            const size_t j1 = j0 + stage_rows < m ? j0 + stage_rows : m;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = 0; i < nb; i++) stage[(j - j0) * nb + i] = v[i * r->w + j - r->cb];
            for (size_t j = j0; j < j1; j++)
                if ((s = dw_ooc_write(f, stage + (j - j0) * nb, nb * 8u, base + ((uint64_t)j * m + r->r0) * 8u)))
                    return s;
        }
    }
    return DW_OK;
}

/* The hash of everything that decides the bits: the library, the plan's network and route, the outputs, the
 * inputs. Not the memory nor the threads. */
static uint64_t run_hash(const dw_kernel_plan *p, const ooc_files *f, bool nngp, bool ntk)
{
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    const size_t L1 = (size_t)p->depth + 1;
    const int ints[] = {p->depth, p->act->fam, p->standard, p->all_layers, p->symmetric, nngp, ntk,
                        p->impl == &dw_sweep_scalar, p->act->deg};
    h = dw_ooc_hash(h, ints, sizeof ints);
    h = dw_ooc_hash(h, p->act->name, strlen(p->act->name));
    const double reals[] = {p->act->alpha, p->lam2, p->target};
    h = dw_ooc_hash(h, reals, sizeof reals);
    h = dw_ooc_hash(h, p->w, L1 * sizeof(double));
    h = dw_ooc_hash(h, p->beta, L1 * sizeof(double));
    h = dw_ooc_hash(h, p->fan_in, L1 * sizeof(double));
    h = dw_ooc_hash(h, f->head, f->head_len);
    const size_t dims[] = {p->X.n, p->Y.n, p->d};
    h = dw_ooc_hash(h, dims, sizeof dims);
    h = dw_ooc_hash(h, p->X.x, p->X.n * p->d * sizeof(double));
    if (!p->symmetric) h = dw_ooc_hash(h, p->Y.x, p->Y.n * p->d * sizeof(double));
    return h;
}

dw_status dw_kernel_gram_file_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp,
                                   bool ntk, double *fixed, double *per_row)
{
    if (!fixed || !per_row) return dw_fail(DW_ERR_INVALID, "kernel: NULL bytes output");
    *fixed = *per_row = 0.0;
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (!s) s = dw_kernel_gram_bytes(net, o, n, m, false, false, fixed);
    if (s) return s;
    const double L = o && o->all_layers ? (double)fc.depth + 1.0 : 1.0, nout = (double)nngp + (double)ntk;
    const int workers = dw_par_workers(SIZE_MAX, o ? o->threads : 0);
    *fixed += (double)workers * 5.0 * TILE_I * (TILE_J + 4) * 8.0;  /* dw_kern_tile's scratch */
    *fixed += (double)(STAGE_BYTES > 8 * n ? STAGE_BYTES : 8 * n); /* the mirror staging */
    *fixed += 2.0 * (double)n * 8.0 + 2.0 * (double)m * 8.0;       /* per-point factors of homogeneous phi */
    *per_row = nout * L * (double)m * 8.0 + 2.0 * 8.0 * ((double)m / TILE_J + 1.0); /* values, tile list */
    return DW_OK;
}

/* Rows per block in the working memory: a multiple of TILE_I when there is room for one tile row. */
static dw_status block_rows(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                            size_t *B)
{
    double fixed, row;
    dw_status s = dw_kernel_gram_file_bytes(net, o, n, m, nngp, ntk, &fixed, &row);
    if (s) return s;
    const double mem = o && o->memory > 0 ? o->memory : DW_KERNEL_MEMORY_FRACTION * dw_core_mem_available();
    const double rows = (mem - fixed) / row;
    if (!(rows >= 1.0) && n > 0) {
        char a[32], b[32], c[32];
        dw_ooc_format_size(mem, a, sizeof a);
        dw_ooc_format_size(fixed, b, sizeof b);
        dw_ooc_format_size(fixed + row, c, sizeof c);
        return dw_fail(DW_ERR_NOMEM, "memory: %s is too small for this Gram matrix: the plan and scratch need %s and "
                                     "one row of the result more; give at least %s", a, b, c);
    }
    size_t k = rows >= (double)n ? n : (size_t)rows;
    if (k >= TILE_I) k -= k % TILE_I;
    *B = k > 0 ? k : 1;
    return DW_OK;
}

static dw_status run_blocks(ooc_run *r, ooc_files *f)
{
    dw_kernel_plan *p = (dw_kernel_plan *)r->p;
    const size_t nbj = (r->m + TILE_J - 1) / TILE_J, stage_rows_max = STAGE_BYTES / (8 * r->B);
    const size_t stage_rows = stage_rows_max > 0 ? stage_rows_max : 1;
    r->buf = dw_core_alloc_large(r->nout * r->L * r->B * r->m * sizeof(double), "the kernel's row block");
    r->tiles = dw_alloc(2 * ((r->B + TILE_I - 1) / TILE_I) * nbj + 2, sizeof(size_t), "tile list");
    double *stage = p->symmetric ? dw_alloc(stage_rows * r->B, sizeof(double), "the mirror staging") : NULL;
    dw_status s = !r->buf || !r->tiles || (p->symmetric && !stage) ? DW_ERR_NOMEM : DW_OK;
    for (r->r0 = f->rows_done; !s && r->r0 < r->n; r->r0 = r->r1) {
        r->r1 = r->r0 + r->B < r->n ? r->r0 + r->B : r->n;
        r->cb = p->symmetric ? r->r0 / TILE_J * TILE_J : 0;
        r->w = r->m - r->cb;
        r->ntiles = 0;
        for (size_t i0 = r->r0; i0 < r->r1; i0 += TILE_I)
            for (size_t b = p->symmetric ? i0 / TILE_J : 0; b < nbj; b++) {
                r->tiles[2 * r->ntiles] = i0;
                r->tiles[2 * r->ntiles + 1] = b * TILE_J;
                r->ntiles++;
            }
        if ((s = dw_par_for(r->ntiles, p->threads, block_tile, r))) break;
        if (p->symmetric) block_fill(r);
        if ((s = block_write(r, f, stage, stage_rows))) break;
        f->rows_done = r->r1;
        if (p->stats) f->stats = *p->stats;
        if ((s = dw_ooc_record(f))) break;
        /* from the calling thread after every block too (the workers may have taken every tile) */
        if (r->o && r->o->progress && r->r1 < r->n &&
            r->o->progress(r->o->progress_ctx, (double)atomic_load(&r->done), r->total) != 0) {
            atomic_store(&r->cancel, 1);
            s = dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback");
        }
    }
    free(stage);
    free(r->tiles);
    dw_core_free_large(r->buf);
    return s;
}

dw_status dw_kernel_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                              dw_kernel_info *info)
{
    if (!nngp && !ntk) return dw_fail(DW_ERR_INVALID, "kernel: no output requested (nngp and ntk are both false)");
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    const uint16_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return dw_fail(DW_ERR_INVALID, "%s: out-of-core Gram files are written on little-endian hosts only", path);
    if (!Y) m = n;
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (s) return s;
    const bool all = o && o->all_layers;
    const size_t L = all ? (size_t)fc.depth + 1 : 1, nout = (size_t)nngp + (size_t)ntk;
    size_t shape[4], nd = 0, B = 1;
    if (nout == 2) shape[nd++] = 2;
    if (all) shape[nd++] = L;
    shape[nd++] = n;
    shape[nd++] = m;
    ooc_files f;
    if ((s = dw_ooc_names(&f, path, (int)nd, shape, n)) || (s = dw_ooc_check_space(&f)) ||
        (s = block_rows(net, o, n, m, nngp, ntk, &B))) {
        dw_ooc_close(&f, true);
        return s;
    }
    dw_kernel_plan *p;
    if ((s = dw_kernel_plan_init(&p, net, o, X, n, Y, m, d))) {
        dw_ooc_close(&f, true);
        return s;
    }
    f.hash = run_hash(p, &f, nngp, ntk);
    if ((s = dw_ooc_open(&f, o && o->resume))) {
        dw_ooc_close(&f, true);
        dw_kernel_plan_clear(p);
        return s;
    }
    if (p->stats) { /* the tiles' statistics of the completed rows (interpolated is the plan's own) */
        p->stats->max_bound = f.stats.max_bound;
        p->stats->entry_bound = f.stats.entry_bound;
        p->stats->evaluations = f.stats.evaluations;
        p->stats->quadrature = f.stats.quadrature;
        p->stats->routes = f.stats.routes;
    }
    ooc_run r = {.p = p, .n = n, .m = m, .L = L, .nout = nout, .B = B, .ntk_only = !nngp, .o = o};
    atomic_init(&r.done, 0);
    atomic_init(&r.cancel, 0);
    size_t total = count_tiles(&r, 0, f.rows_done);
    atomic_store(&r.done, total);
    for (size_t r0 = f.rows_done; r0 < n; r0 += B) total += count_tiles(&r, r0, r0 + B < n ? r0 + B : n);
    r.total = (double)total;
    if (o && o->progress && o->progress(o->progress_ctx, (double)atomic_load(&r.done), r.total) != 0)
        atomic_store(&r.cancel, 1);
    s = atomic_load(&r.cancel) ? dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback")
                               : run_blocks(&r, &f);
    if (!s && o && o->progress) o->progress(o->progress_ctx, r.total, r.total);
    if (!s) s = dw_ooc_finish(&f);
    if (!s && info) dw_kern_fill_info(p, info);
    /* an interruption or a failed write (a full disk) keeps the files for a resume; any other failure (bad values,
     * overflow, memory) removes them */
    dw_ooc_close(&f, s == DW_ERR_IO || atomic_load(&r.cancel));
    dw_kernel_plan_clear(p);
    return s;
}
