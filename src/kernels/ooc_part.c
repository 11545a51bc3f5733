/* A Gram file written by several processes (ooc_part.h): this process's part of the rows, computed block by block
 * as dw_kernel_gram_file computes them (dw_ooc_compute), and each block's pieces packed for the caller's I/O in the
 * order and at the offsets that dw_kernel_gram_file's writer uses (dw_ooc_pieces). */
#include "kernels/ooc_part.h"

#include "kernels/ooc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dw_gram_part {
    dw_kernel_plan *p;
    ooc_files f;
    ooc_run r;
    ooc_layout lay;
    size_t row0, row1, nblocks; /* this part's rows, its blocks of B rows */
    double *buf, *pack, *stage;
    size_t stage_rows;
    uint64_t *off;
    size_t *len;
    dw_gram_pieces pc; /* the block being packed */
};

/* This part's tile rows: the first t with prefix(t) * P >= part * total, where prefix(t) counts the tiles of tile
 * rows < t (each row's tiles: every column tile, or for a symmetric Gram those holding some j >= i). */
static size_t part_start(const ooc_run *r, size_t tile_rows, int part, int nparts)
{
    const size_t total = dw_ooc_count_tiles(r, 0, r->n);
    size_t t = 0, prefix = 0;
    while (t < tile_rows && (double)prefix * nparts < (double)part * (double)total) {
        prefix += dw_ooc_count_tiles(r, t * TILE_I, t * TILE_I + 1);
        t++;
    }
    return t;
}

static dw_status put_pack(void *ctx, const double *v, size_t count, uint64_t off)
{
    dw_gram_part *g = ctx;
    dw_gram_pieces *pc = &g->pc;
    memcpy(g->pack + pc->total, v, count * sizeof(double));
    if (pc->count > 0 && g->off[pc->count - 1] + 8u * g->len[pc->count - 1] == off) { /* contiguous: one run */
        g->len[pc->count - 1] += count;
    } else {
        g->off[pc->count] = off;
        g->len[pc->count] = count;
        pc->count++;
    }
    pc->total += count;
    return DW_OK;
}

dw_status dw_gram_part_init(dw_gram_part **out, const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                            const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path, int part,
                            int nparts)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel: NULL output");
    *out = NULL;
    if (nparts < 1 || part < 0 || part >= nparts)
        return dw_fail(DW_ERR_INVALID, "kernel: part %d of %d does not exist", part, nparts);
    if (o && o->resume)
        return dw_fail(DW_ERR_INVALID, "resume: a distributed run cannot resume; run it again without resume");
    if (!Y) m = n;
    size_t shape[4], L = 1, nout = 1, B = 1;
    int nd = 0, nbuf;
    dw_status s = dw_ooc_shape(net, o, n, m, nngp, ntk, path, shape, &nd, &L, &nout);
    if (s) return s;
    dw_gram_part *g = dw_calloc(1, sizeof *g, "the kernel's part");
    if (!g) return DW_ERR_NOMEM;
    *out = g;
    /* three block-sized buffers: the block, and its pieces packed (at most twice the block: a symmetric Gram's rows
     * and their mirror) */
    if ((s = dw_ooc_names(&g->f, path, nd, shape, n)) ||
        (s = dw_ooc_block_rows(net, o, n, m, nngp, ntk, 3, &B, &nbuf)) ||
        (s = dw_kernel_plan_init(&g->p, net, o, X, n, Y, m, d)))
        return s;
    g->r = (ooc_run){.p = g->p, .n = n, .m = m, .L = L, .nout = nout, .B = B, .ntk_only = !nngp, .o = o};
    atomic_init(&g->r.done, 0);
    atomic_init(&g->r.cancel, 0);
    const size_t tile_rows = (n + TILE_I - 1) / TILE_I;
    g->row0 = part_start(&g->r, tile_rows, part, nparts) * TILE_I;
    g->row1 = part_start(&g->r, tile_rows, part + 1, nparts) * TILE_I;
    if (g->row0 > n) g->row0 = n;
    if (g->row1 > n) g->row1 = n;
    g->nblocks = (g->row1 - g->row0 + B - 1) / B;
    g->r.total = (double)dw_ooc_count_tiles(&g->r, g->row0, g->row1);
    g->lay = (ooc_layout){n, m, L, nout, B, g->p->symmetric, 0.0};
    const size_t block = nout * L * B * m, pieces = nout * L * (g->p->symmetric ? B + m : 1);
    const size_t srows = DW_OOC_STAGE_BYTES / (8 * B);
    g->stage_rows = srows > 0 ? srows : 1;
    if (g->nblocks == 0) return DW_OK; /* more parts than tile rows: this one writes nothing */
    g->buf = dw_core_alloc_large(block * sizeof(double), "the kernel's row block");
    g->pack = dw_core_alloc_large(2 * block * sizeof(double), "the kernel's packed block");
    g->r.tiles = dw_alloc(dw_ooc_tile_slots(B, m), sizeof(size_t), "tile list");
    g->off = dw_alloc(pieces, sizeof *g->off, "the kernel's pieces");
    g->len = dw_alloc(pieces, sizeof *g->len, "the kernel's pieces");
    if (g->p->symmetric) g->stage = dw_alloc(g->stage_rows * B, sizeof(double), "the mirror staging");
    if (!g->buf || !g->pack || !g->r.tiles || !g->off || !g->len || (g->p->symmetric && !g->stage))
        return DW_ERR_NOMEM;
    return DW_OK;
}

void dw_gram_part_clear(dw_gram_part *g)
{
    if (!g) return;
    dw_ooc_close(&g->f, true); /* nothing is open: the names only */
    dw_kernel_plan_clear(g->p);
    dw_core_free_large(g->buf);
    dw_core_free_large(g->pack);
    free(g->r.tiles);
    free(g->stage);
    free(g->off);
    free(g->len);
    free(g);
}

const char *dw_gram_part_partial(const dw_gram_part *g) { return g->f.partial; }

const void *dw_gram_part_header(const dw_gram_part *g, size_t *len)
{
    *len = g->f.head_len;
    return g->f.head;
}

uint64_t dw_gram_part_file_bytes(const dw_gram_part *g) { return (uint64_t)g->f.head_len + g->f.data_bytes; }

void dw_gram_part_rows(const dw_gram_part *g, size_t *r0, size_t *r1)
{
    *r0 = g->row0;
    *r1 = g->row1;
}

size_t dw_gram_part_blocks(const dw_gram_part *g) { return g->nblocks; }

dw_status dw_gram_part_block(dw_gram_part *g, size_t k, dw_gram_pieces *pc)
{
    if (k >= g->nblocks) return dw_fail(DW_ERR_INVALID, "kernel: block %zu of a part of %zu blocks", k, g->nblocks);
    ooc_run *r = &g->r;
    r->r0 = g->row0 + k * r->B;
    r->r1 = r->r0 + r->B < g->row1 ? r->r0 + r->B : g->row1;
    r->buf = g->buf;
    dw_status s = dw_ooc_compute(r);
    if (s) return s;
    const ooc_block b = {r->buf, r->r0, r->r1, r->cb, r->w, {0, 0, 0, 0, 0, 0}};
    g->pc = (dw_gram_pieces){g->pack, g->off, g->len, 0, 0};
    s = dw_ooc_pieces(&g->lay, &b, g->stage, g->stage_rows, put_pack, g);
    *pc = g->pc;
    return s;
}

dw_status dw_gram_part_prepare(const dw_gram_part *g)
{
    dw_status s = dw_ooc_check_space(&g->f);
    if (s) return s;
    unlink(g->f.partial);
    unlink(g->f.side);
    unlink(g->f.sidetmp);
    return DW_OK;
}

dw_status dw_gram_part_finish(const dw_gram_part *g, bool ok)
{
    if (!ok) {
        unlink(g->f.partial);
        return DW_OK;
    }
    if (rename(g->f.partial, g->f.path) != 0) {
        const int e = errno;
        unlink(g->f.partial);
        return dw_fail(DW_ERR_IO, "%s: %s", g->f.path, strerror(e));
    }
    return DW_OK;
}

void dw_gram_part_stats(const dw_gram_part *g, double *mx, double *sum)
{
    const gen_stats z = {0, 0, 0, 0, 0, 0}, *t = g->p->stats ? g->p->stats : &z;
    mx[0] = t->max_bound;
    mx[1] = t->entry_bound;
    mx[2] = (double)t->routes;
    mx[3] = (double)t->interpolated;
    sum[0] = (double)t->evaluations;
    sum[1] = (double)t->quadrature;
}

void dw_gram_part_info(dw_gram_part *g, const double *mx, const double *sum, dw_kernel_info *info)
{
    gen_stats *t = g->p->stats;
    if (t) {
        t->max_bound = mx[0];
        t->entry_bound = mx[1];
        t->routes = (int)mx[2];
        t->interpolated = (size_t)mx[3];
        t->evaluations = (size_t)sum[0];
        t->quadrature = (size_t)sum[1];
    }
    if (info) dw_kern_fill_info(g->p, info);
}
