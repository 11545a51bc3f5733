/* The out-of-core Gram's writer (ooc.h): a thread that puts a computed block of rows at its place in the .npy,
 * syncs it, and records it in the side file, while the driver (ooc.c) computes the next block into the other
 * buffer, so the disk's time hides behind the computation. With several blocks each is synced before it is
 * recorded, so the side file never claims rows that a crash of the machine could lose. A run of one block does not
 * come here: it is written like the library's other outputs (ooc_files.c dw_ooc_write_whole: header and data in one
 * sequential pass into the partial file, then the rename; no sync, no side file).
 *
 * A symmetric Gram's block [r0, r1) also owns the mirror of its columns in every later row j >= r1: a piece of
 * r1 - r0 values per row, n^2 / (2B) pieces over the run. Each write costs a system call and the file system's
 * bookkeeping whatever its size, so where the working memory has room (ooc_layout's spare) the mirror of
 * consecutive blocks [a, e) is gathered in a buffer of (m - a) rows of up to gw values, then written once: one piece
 * of e - a values per later row. The bytes are the same; only the rows of whole groups are recorded. */
#include "kernels/ooc.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TB 64                         /* transpose squares */

void dw_ooc_transpose(double *dst, size_t lddst, const double *src, size_t ldsrc, size_t ni, size_t nj, bool upper)
{
    for (size_t i0 = 0; i0 < ni; i0 += TB)
        for (size_t j0 = upper ? i0 : 0; j0 < nj; j0 += TB) {
            const size_t i1 = i0 + TB < ni ? i0 + TB : ni, j1 = j0 + TB < nj ? j0 + TB : nj;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = upper && i + 1 > j0 ? i + 1 : j0; j < j1; j++) dst[j * lddst + i] = src[i * ldsrc + j];
        }
}

#define GROUP_MAX_BLOCKS 8               /* mirror groups: at most this many blocks, */
#define GROUP_MAX_PIECE ((size_t)1 << 15) /* pieces of at most 256 KiB, */
#define GROUP_MAX_BUFFERS 4.0             /* in at most the memory of this many block buffers */

struct ooc_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending, quit;
    ooc_block blk;
    ooc_files *f;
    ooc_layout lay;
    double *stage;
    size_t stage_rows;
    double *acc;      /* the mirror group: output ol, row j (>= a), column c (in [a, e)) at acc[(ol (m - a) + j - a)
                       * gw + c - a]; NULL: no groups */
    size_t acc_len;   /* its doubles */
    size_t ga, ge, gw; /* the open group's rows [ga, ge) (ge == ga: none open), its width */
    gen_stats gstats; /* the statistics of its last block */
    dw_status status; /* the first failure, its message */
    char message[1024];
};

/* The block's own rows of output / layer ol (values v): from column r0 when symmetric, else whole. */
static dw_status put_rows(const ooc_layout *y, const ooc_block *b, const double *v, uint64_t base, dw_ooc_put_fn put,
                          void *ctx)
{
    const size_t nb = b->r1 - b->r0, m = y->m;
    if (!y->symmetric || b->r0 == 0) /* whole rows, contiguous in the buffer and in the file */
        return put(ctx, v, nb * m, base + (uint64_t)b->r0 * m * 8u);
    for (size_t i = b->r0; i < b->r1; i++) {
        const uint64_t off = base + ((uint64_t)i * m + b->r0) * 8u;
        dw_status s = put(ctx, v + (i - b->r0) * b->w + (b->r0 - b->cb), m - b->r0, off);
        if (s) return s;
    }
    return DW_OK;
}

dw_status dw_ooc_pieces(const ooc_layout *y, const ooc_block *b, double *stage, size_t stage_rows,
                        dw_ooc_put_fn put, void *ctx)
{
    const size_t lstride = y->B * b->w, nb = b->r1 - b->r0, n = y->n, m = y->m;
    for (size_t ol = 0; ol < y->nout * y->L; ol++) {
        const double *v = b->buf + ol * lstride;
        const uint64_t base = (uint64_t)ol * n * m * 8u;
        dw_status s = put_rows(y, b, v, base, put, ctx);
        if (s || !y->symmetric) {
            if (s) return s;
            continue;
        }
        for (size_t j0 = b->r1; j0 < m; j0 += stage_rows) {
            const size_t j1 = j0 + stage_rows < m ? j0 + stage_rows : m;
            dw_ooc_transpose(stage, nb, v + (j0 - b->cb), b->w, nb, j1 - j0, false);
            for (size_t j = j0; j < j1; j++)
                if ((s = put(ctx, stage + (j - j0) * nb, nb, base + ((uint64_t)j * m + b->r0) * 8u))) return s;
        }
    }
    return DW_OK;
}

static dw_status put_file(void *ctx, const double *v, size_t count, uint64_t off)
{
    return dw_ooc_write(ctx, v, count * 8u, off);
}

/* Sync, then record the rows [0, rows) and their statistics. */
static dw_status record(ooc_writer *w, size_t rows, const gen_stats *stats)
{
    if (w->f->sync && fdatasync(w->f->fd) != 0) return dw_fail(DW_ERR_IO, "%s: %s", w->f->partial, strerror(errno));
    w->f->rows_done = rows;
    w->f->stats = *stats;
    return dw_ooc_record(w->f);
}

/* Write the open group's mirror: row j of [ga, ge) its columns [ga, the start of j's block), every later row its
 * columns [ga, ge); then sync and record the group's rows. */
static dw_status flush_group(ooc_writer *w)
{
    const ooc_layout *y = &w->lay;
    const size_t a = w->ga, e = w->ge, m = y->m, gw = w->gw;
    w->ge = w->ga; /* closed, whatever happens */
    for (size_t ol = 0; ol < y->nout * y->L; ol++) {
        const uint64_t base = (uint64_t)ol * y->n * m * 8u;
        const double *g = w->acc + ol * (m - a) * gw;
        for (size_t j = a + y->B; j < m; j++) {
            const size_t len = j < e ? (j - a) / y->B * y->B : e - a;
            dw_status s = put_file(w->f, g + (j - a) * gw, len, base + ((uint64_t)j * m + a) * 8u);
            if (s) return s;
        }
    }
    return record(w, e, &w->gstats);
}

/* The width of a group starting at row a (a multiple of B, at least 2 B), or 0 where the buffer has no room for two
 * blocks' mirror (or a single block is left). */
static size_t group_width(const ooc_writer *w, size_t a)
{
    const ooc_layout *y = &w->lay;
    if (!w->acc || y->n - a <= y->B) return 0;
    const size_t per = y->nout * y->L * (y->m - a); /* doubles per column of the group */
    size_t gw = w->acc_len / per;
    if (gw > GROUP_MAX_PIECE) gw = GROUP_MAX_PIECE;
    if (gw > GROUP_MAX_BLOCKS * y->B) gw = GROUP_MAX_BLOCKS * y->B;
    if (gw > y->n - a + y->B) gw = y->n - a + y->B; /* no wider than the rows left */
    gw -= gw % y->B;
    return gw >= 2 * y->B ? gw : 0;
}

/* Write the block's rows (from column r0 when symmetric) and, symmetric, their mirror into the later rows (directly,
 * or gathered into the open group); sync; record (a group: when it is complete). */
static dw_status write_block(ooc_writer *w, const ooc_block *b)
{
    const ooc_layout *y = &w->lay;
    if (w->ge == w->ga && y->symmetric) { /* a new group, if there is room for one */
        w->gw = group_width(w, b->r0);
        w->ga = w->ge = b->r0;
    }
    if (!y->symmetric || !w->gw) {
        dw_status s = dw_ooc_pieces(y, b, w->stage, w->stage_rows, put_file, w->f);
        return s ? s : record(w, b->r1, &b->stats);
    }
    const size_t a = w->ga, m = y->m, nb = b->r1 - b->r0;
    for (size_t ol = 0; ol < y->nout * y->L; ol++) {
        const double *v = b->buf + ol * y->B * b->w;
        dw_status s = put_rows(y, b, v, (uint64_t)ol * y->n * m * 8u, put_file, w->f);
        if (s) return s;
        if (b->r1 < m) /* the mirror: rows j >= r1, columns [r0, r1) of the group */
            dw_ooc_transpose(w->acc + (ol * (m - a) + b->r1 - a) * w->gw + (b->r0 - a), w->gw, v + (b->r1 - b->cb),
                             b->w, nb, m - b->r1, false);
    }
    w->ge = b->r1;
    w->gstats = b->stats;
    return b->r1 == y->n || b->r1 + y->B - a > w->gw ? flush_group(w) : DW_OK;
}

static void *writer_main(void *arg)
{
    ooc_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending) break;
        const ooc_block b = w->blk;
        const bool failed = w->status != DW_OK;
        pthread_mutex_unlock(&w->mu);
        const dw_status s = failed ? DW_OK : write_block(w, &b); /* after a failure nothing more is written */
        pthread_mutex_lock(&w->mu);
        if (s && !w->status) {
            w->status = s;
            snprintf(w->message, sizeof w->message, "%s", dw_error_message());
        }
        w->pending = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dw_status dw_ooc_writer_start(ooc_writer **out, ooc_files *f, const ooc_layout *lay)
{
    *out = NULL;
    ooc_writer *w = dw_calloc(1, sizeof *w, "the kernel's file writer");
    if (!w) return DW_ERR_NOMEM;
    w->f = f;
    w->lay = *lay;
    const size_t rows = DW_OOC_STAGE_BYTES / (8 * lay->B);
    w->stage_rows = rows > 0 ? rows : 1;
    if (lay->symmetric && !(w->stage = dw_alloc(w->stage_rows * lay->B, sizeof(double), "the mirror staging"))) {
        free(w);
        return DW_ERR_NOMEM;
    }
    /* the mirror groups (optional: without them, the same bytes in more writes) */
    const double slabs = (double)lay->nout * (double)lay->L, B = (double)lay->B;
    const double spare = lay->symmetric && lay->n > 2 * lay->B ? floor(lay->spare / 8.0) : 0.0;
    const double want = fmin(spare, GROUP_MAX_BUFFERS * slabs * B * (double)lay->m);
    if (want >= 4.0 * slabs * B * B && /* room for a group of two blocks near the bottom at least */
        (w->acc = dw_core_alloc_large((size_t)want * sizeof(double), "the mirror groups")))
        w->acc_len = (size_t)want;
    else
        dw_error_clear();
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        dw_core_free_large(w->acc);
        free(w->stage);
        free(w);
        return dw_fail(DW_ERR_NOMEM, "kernel: cannot start the file writer thread");
    }
    *out = w;
    return DW_OK;
}

/* Under the lock: wait until no block is pending; the first failure, re-posted on this thread. */
static dw_status wait_idle(ooc_writer *w)
{
    while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
    return w->status ? dw_fail(w->status, "%s", w->message) : DW_OK;
}

dw_status dw_ooc_writer_post(ooc_writer *w, const ooc_block *b)
{
    pthread_mutex_lock(&w->mu);
    dw_status s = wait_idle(w);
    if (!s) {
        w->blk = *b;
        w->pending = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return s;
}

dw_status dw_ooc_writer_wait(ooc_writer *w)
{
    pthread_mutex_lock(&w->mu);
    dw_status s = wait_idle(w);
    pthread_mutex_unlock(&w->mu);
    return s;
}

dw_status dw_ooc_writer_stop(ooc_writer *w)
{
    if (!w) return DW_OK;
    pthread_mutex_lock(&w->mu);
    dw_status s = wait_idle(w);
    w->quit = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    /* a group still open (the run stopped early): written and recorded, so that a resume continues after it */
    if (!s && w->ge > w->ga) s = flush_group(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    dw_core_free_large(w->acc);
    free(w->stage);
    free(w);
    return s;
}
