/* Out-of-core Gram matrices (dw_kernel_gram_file): the rows are computed in blocks that fit the working memory,
 * each block's tiles by dw_par_for (the tiles of dw_kernel_gram, so the same bits), then handed to the writer
 * thread (ooc_write.c), which puts them at their place in the .npy (ooc_files.c) and records them, so that a killed
 * run resumes from its completed blocks; two buffers let the next block be computed while one is written.
 *
 * A symmetric Gram K(X, X) computes each entry once, as dw_kernel_gram does: block [r0, r1) computes its entries
 * with j >= i (the tiles store them without the mirror, sym 2), fills its own lower triangle from them, writes
 * its rows from column r0 on, and writes the mirror of columns [r0, r1) into the later rows j >= r1 (pieces of
 * r1 - r0 values), whose columns < their own block's start are then complete when that block comes. */
#include "kernels/ooc.h"

#include "core/par.h"
#include "kernels/arch.h"
#include "act/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The tiles of rows [a, b) in tile rows of TILE_I from a: all column tiles, or (symmetric) those holding some
 * j >= i0, as in gram.c. */
size_t dw_ooc_count_tiles(const ooc_run *r, size_t a, size_t b)
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
    dw_status s = dw_kern_tile(r->p, i0, i1, j0, j1, K, T, r->w, lstride, r->p->symmetric ? (r->whole ? 1 : 2) : 0);
    const size_t done = atomic_fetch_add(&r->done, 1) + 1;
    if (!s && tid == 0 && r->o && r->o->progress &&
        r->o->progress(r->o->progress_ctx, (double)done, r->total) != 0)
        atomic_store(&r->cancel, 1);
    return s;
}

/* Symmetric: the block's entries j < i within it from their mirror (stored by the tiles already when whole), and
 * the diagonal of K (the per-point recursion, as dw_kernel_gram). */
static void block_fill(const ooc_run *r)
{
    const dw_kernel_plan *p = r->p;
    const size_t lstride = r->B * r->w, nb = r->r1 - r->r0, c0 = r->r0 - r->cb;
    for (size_t ol = 0; ol < r->nout * r->L; ol++) {
        double *v = r->buf + ol * lstride;
        /* (j, i) <- (i, j) for r0 <= i < j < r1: the upper triangle transposed into the lower one */
        if (!r->whole) dw_ooc_transpose(v + c0, r->w, v + c0, r->w, nb, nb, true);
        if (ol < r->L && !r->ntk_only) {
            const double *a = field(p, &p->X, p->all_layers ? (int)ol : p->depth, F_A);
            for (size_t i = r->r0; i < r->r1; i++) v[(i - r->r0) * r->w + i - r->cb] = a[i];
        }
    }
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
    if (dw_arch_wanted(net)) return dw_arch_gram_file_bytes(net, o, n, m, nngp, ntk, fixed, per_row);
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (!s) s = dw_kernel_gram_bytes(net, o, n, m, false, false, fixed);
    if (s) return s;
    const double L = o && o->all_layers ? (double)fc.depth + 1.0 : 1.0, nout = (double)nngp + (double)ntk;
    const int workers = dw_par_workers(SIZE_MAX, o ? o->threads : 0);
    *fixed += (double)workers * 5.0 * TILE_I * (TILE_J + 4) * 8.0;  /* dw_kern_tile's scratch */
    *fixed += (double)(DW_OOC_STAGE_BYTES > 8 * n ? DW_OOC_STAGE_BYTES : 8 * n); /* the mirror staging */
    *fixed += 2.0 * (double)n * 8.0 + 2.0 * (double)m * 8.0;       /* per-point factors of homogeneous phi */
    *per_row = nout * L * (double)m * 8.0 + 2.0 * 8.0 * ((double)m / TILE_J + 1.0); /* values, tile list */
    return DW_OK;
}

/* Rows per block, and buffers (1 when one block holds every row, else 2: one computed while the other is
 * written), in the working memory: a multiple of TILE_I when there is room for one tile row, and at most
 * max(1024 rows, 64 MiB), so that the writer has blocks to overlap with the computation, while a symmetric
 * Gram's mirror pieces (a block's rows wide) stay >= 8 KiB. */
dw_status dw_ooc_block_rows(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                            int nbuf_fixed, size_t *B, int *nbuf)
{
    double fixed, row;
    dw_status s = dw_kernel_gram_file_bytes(net, o, n, m, nngp, ntk, &fixed, &row);
    if (s) return s;
    return dw_ooc_rows_fit(fixed, row, o ? o->memory : 0.0, n, nbuf_fixed, 0, B, nbuf);
}

size_t dw_ooc_tile_slots(size_t B, size_t m) { return 2 * ((B + TILE_I - 1) / TILE_I) * ((m + TILE_J - 1) / TILE_J) + 2; }

dw_status dw_ooc_compute(ooc_run *r)
{
    const bool sym = r->p->symmetric;
    const size_t nbj = (r->m + TILE_J - 1) / TILE_J;
    r->cb = sym ? r->r0 / TILE_J * TILE_J : 0;
    r->w = r->m - r->cb;
    r->ntiles = 0;
    for (size_t i0 = r->r0; i0 < r->r1; i0 += TILE_I)
        for (size_t b = sym ? i0 / TILE_J : 0; b < nbj; b++) {
            r->tiles[2 * r->ntiles] = i0;
            r->tiles[2 * r->ntiles + 1] = b * TILE_J;
            r->ntiles++;
        }
    dw_status s = dw_par_for(r->ntiles, r->p->threads, block_tile, r);
    if (!s && sym) block_fill(r);
    return s;
}

static dw_status run_blocks(ooc_run *r, ooc_files *f, int nbuf)
{
    dw_kernel_plan *p = (dw_kernel_plan *)r->p;
    const ooc_layout lay = {r->n, r->m, r->L, r->nout, r->B, p->symmetric, r->spare};
    double *bufs[2] = {NULL, NULL};
    const size_t count = r->nout * r->L * r->B * r->m;
    for (int k = 0; k < nbuf; k++) bufs[k] = dw_core_alloc_large(count * sizeof(double), "the kernel's row block");
    r->tiles = dw_alloc(dw_ooc_tile_slots(r->B, r->m), sizeof(size_t), "tile list");
    ooc_writer *wr = NULL;
    dw_status s = !bufs[0] || (nbuf == 2 && !bufs[1]) || !r->tiles ? DW_ERR_NOMEM : DW_OK;
    if (!s && f->whole) { /* one block of every row: computed, then written in one pass on this thread */
        r->r0 = 0;
        r->r1 = r->n;
        r->buf = bufs[0];
        if (!(s = dw_ooc_compute(r))) s = dw_ooc_write_whole(f, r->buf, count * sizeof(double));
        free(r->tiles);
        dw_core_free_large(bufs[0]);
        return s;
    }
    if (!s) s = dw_ooc_writer_start(&wr, f, &lay);
    int k = 0;
    for (r->r0 = f->rows_done; !s && r->r0 < r->n; r->r0 = r->r1, k ^= nbuf - 1) {
        r->r1 = r->r0 + r->B < r->n ? r->r0 + r->B : r->n;
        r->buf = bufs[k]; /* free: the block that used it was written before the last post returned */
        if ((s = dw_ooc_compute(r))) break;
        ooc_block blk = {r->buf, r->r0, r->r1, r->cb, r->w, {0, 0, 0, 0, 0, 0}};
        if (p->stats) blk.stats = *p->stats;
        if ((s = dw_ooc_writer_post(wr, &blk))) break;
        if (nbuf == 1 && (s = dw_ooc_writer_wait(wr))) break; /* one buffer: written before it is reused */
        /* from the calling thread after every block too (the workers may have taken every tile) */
        if (r->o && r->o->progress && r->r1 < r->n &&
            r->o->progress(r->o->progress_ctx, (double)atomic_load(&r->done), r->total) != 0) {
            atomic_store(&r->cancel, 1);
            s = dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback");
        }
    }
    /* the blocks handed over are written and recorded before anything returns (a cancelled run resumes after them) */
    const dw_status ws = dw_ooc_writer_stop(wr);
    if (!s) s = ws;
    free(r->tiles);
    for (int b = 0; b < nbuf; b++) dw_core_free_large(bufs[b]);
    return s;
}

dw_status dw_ooc_shape(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                       const char *path, size_t *shape, int *nd, size_t *L, size_t *nout)
{
    if (!nngp && !ntk) return dw_fail(DW_ERR_INVALID, "kernel: no output requested (nngp and ntk are both false)");
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    const uint16_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return dw_fail(DW_ERR_INVALID, "%s: out-of-core Gram files are written on little-endian hosts only", path);
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (s) return s;
    const bool all = o && o->all_layers;
    *L = all ? (size_t)fc.depth + 1 : 1;
    *nout = (size_t)nngp + (size_t)ntk;
    *nd = 0;
    if (*nout == 2) shape[(*nd)++] = 2;
    if (all) shape[(*nd)++] = *L;
    shape[(*nd)++] = n;
    shape[(*nd)++] = m;
    return DW_OK;
}

dw_status dw_kernel_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                              dw_kernel_info *info)
{
    if (dw_arch_wanted(net)) return dw_arch_gram_file(net, o, X, n, Y, m, d, nngp, ntk, path, info);
    if (!Y) m = n;
    size_t shape[4], L = 1, nout = 1, B = 1;
    int nd = 0, nbuf = 1;
    dw_status s = dw_ooc_shape(net, o, n, m, nngp, ntk, path, shape, &nd, &L, &nout);
    if (s) return s;
    ooc_files f;
    if ((s = dw_ooc_names(&f, path, nd, shape, n)) || (s = dw_ooc_check_space(&f)) ||
        (s = dw_ooc_block_rows(net, o, n, m, nngp, ntk, 0, &B, &nbuf))) {
        dw_ooc_close(&f, true);
        return s;
    }
    dw_kernel_plan *p;
    if ((s = dw_kernel_plan_init(&p, net, o, X, n, Y, m, d))) {
        dw_ooc_close(&f, true);
        return s;
    }
    f.hash = run_hash(p, &f, nngp, ntk);
    f.whole = B >= n;
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
    f.sync = (n + B - 1) / B > 1;
    ooc_run r = {.p = p, .n = n, .m = m, .L = L, .nout = nout, .B = B, .ntk_only = !nngp, .whole = f.whole, .o = o};
    double fixed = 0.0, row = 0.0;
    if (!dw_kernel_gram_file_bytes(net, o, n, m, nngp, ntk, &fixed, &row))
        r.spare = dw_ooc_spare(fixed, row, o ? o->memory : 0.0, B, nbuf);
    atomic_init(&r.done, 0);
    atomic_init(&r.cancel, 0);
    size_t total = dw_ooc_count_tiles(&r, 0, f.rows_done);
    atomic_store(&r.done, total);
    for (size_t r0 = f.rows_done; r0 < n; r0 += B) total += dw_ooc_count_tiles(&r, r0, r0 + B < n ? r0 + B : n);
    r.total = (double)total;
    if (o && o->progress && o->progress(o->progress_ctx, (double)atomic_load(&r.done), r.total) != 0)
        atomic_store(&r.cancel, 1);
    s = atomic_load(&r.cancel) ? dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback")
                               : run_blocks(&r, &f, nbuf);
    if (!s && o && o->progress) o->progress(o->progress_ctx, r.total, r.total);
    if (!s) s = dw_ooc_finish(&f);
    if (!s && info) dw_kern_fill_info(p, info);
    /* an interruption or a failed write (a full disk) keeps the files for a resume; any other failure (bad values,
     * overflow, memory) removes them */
    dw_ooc_close(&f, s == DW_ERR_IO || atomic_load(&r.cancel));
    dw_kernel_plan_clear(p);
    return s;
}
