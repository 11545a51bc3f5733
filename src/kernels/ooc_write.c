/* The out-of-core Gram's writer (ooc.h): a thread that puts a computed block of rows at its place in the .npy,
 * syncs it, and records it in the side file, while the driver (ooc.c) computes the next block into the other
 * buffer, so the disk's time hides behind the computation. With several blocks each is synced before it is
 * recorded, so the side file never claims rows that a crash of the machine could lose. A run of one block does not
 * come here: it is written like the library's other outputs (ooc_files.c dw_ooc_write_whole: header and data in one
 * sequential pass into the partial file, then the rename; no sync, no side file). */
#include "kernels/ooc.h"

#include <errno.h>
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
    dw_status status; /* the first failure, its message */
    char message[1024];
};

dw_status dw_ooc_pieces(const ooc_layout *y, const ooc_block *b, double *stage, size_t stage_rows,
                        dw_ooc_put_fn put, void *ctx)
{
    const size_t lstride = y->B * b->w, nb = b->r1 - b->r0, n = y->n, m = y->m;
    for (size_t ol = 0; ol < y->nout * y->L; ol++) {
        const double *v = b->buf + ol * lstride;
        const uint64_t base = (uint64_t)ol * n * m * 8u;
        dw_status s;
        if (!y->symmetric) {
            if ((s = put(ctx, v, nb * m, base + (uint64_t)b->r0 * m * 8u))) return s;
            continue;
        }
        if (b->r0 == 0) { /* the first block's rows are whole rows, contiguous in the buffer and in the file */
            if ((s = put(ctx, v, nb * m, base))) return s;
        } else
            for (size_t i = b->r0; i < b->r1; i++)
                if ((s = put(ctx, v + (i - b->r0) * b->w + (b->r0 - b->cb), m - b->r0,
                             base + ((uint64_t)i * m + b->r0) * 8u)))
                    return s;
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

/* Write the block's rows (from column r0 when symmetric) and, symmetric, their mirror into the later rows; sync;
 * record. */
static dw_status write_block(ooc_writer *w, const ooc_block *b)
{
    dw_status s = dw_ooc_pieces(&w->lay, b, w->stage, w->stage_rows, put_file, w->f);
    if (s) return s;
    if (w->f->sync && fdatasync(w->f->fd) != 0) return dw_fail(DW_ERR_IO, "%s: %s", w->f->partial, strerror(errno));
    w->f->rows_done = b->r1;
    w->f->stats = b->stats;
    return dw_ooc_record(w->f);
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
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
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
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->stage);
    free(w);
    return s;
}
