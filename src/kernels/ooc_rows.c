/* Out-of-core Gram files computed by rows through a callback (ooc.h: dw_ooc_rows_file), for the Grams that are
 * not the kernel's own (signature kernels, neural signature kernels, a given network's empirical Gram): the same
 * files (ooc_files.c), the same writer thread (ooc_write.c) and the same resume as dw_kernel_gram_file, so every
 * out-of-core result goes through one writer (the architecture engine's Grams too: arch_ooc.c). The rows are computed in blocks that fit the working memory; two
 * buffers let the next block be computed while one is written. A symmetric Gram computes each entry once: block
 * [r0, r1) sets its entries with j >= i (its buffer starts at column r0), its own lower triangle is filled here,
 * and the writer puts the mirror of its columns into the later rows (ooc.c's scheme).
 *
 * Also the options those calls take (dw_file_opts, deepwick/io.h). */
#include "kernels/ooc.h"

#include <math.h>
#include <stdlib.h>

dw_status dw_file_opts_init(dw_file_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "file options: NULL output");
    *o = dw_calloc(1, sizeof **o, "file options");
    return *o ? DW_OK : DW_ERR_NOMEM;
}

void dw_file_opts_clear(dw_file_opts *o) { free(o); }

dw_status dw_file_opts_set_memory(dw_file_opts *o, double bytes)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "file options: NULL options");
    if (!(bytes >= 0) || !isfinite(bytes))
        return dw_fail(DW_ERR_INVALID, "memory: expected a number of bytes > 0 (or 0 for the default), got %g", bytes);
    o->memory = bytes;
    return DW_OK;
}

dw_status dw_file_opts_set_resume(dw_file_opts *o, bool on)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "file options: NULL options");
    o->resume = on;
    return DW_OK;
}

dw_status dw_file_opts_set_max_rows(dw_file_opts *o, size_t rows)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "file options: NULL options");
    o->max_rows = rows;
    return DW_OK;
}

dw_status dw_file_opts_set_progress(dw_file_opts *o, dw_file_progress_fn fn, void *ctx)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "file options: NULL options");
    o->progress = fn;
    o->progress_ctx = ctx;
    return DW_OK;
}

/* Pairs of rows [0, r) (symmetric: j >= i only). */
static double pairs_before(size_t r, size_t m, bool sym)
{
    return sym ? (double)r * (double)m - (double)r * ((double)r - 1.0) / 2.0 : (double)r * (double)m;
}

static dw_status cancelled_status(void) { return dw_fail(DW_ERR_INVALID, "cancelled by the progress callback"); }

static dw_status run_blocks(const ooc_rows_job *j, const dw_file_opts *fo, ooc_files *f, size_t B, int nbuf,
                            bool *cancelled)
{
    const size_t n = j->n, m = j->m;
    const double row = (double)j->nout * (double)m * 8.0 + j->per_row;
    /* a caller who caps the rows per block (max_rows) caps the working memory with them: no mirror groups */
    const double spare = fo && fo->max_rows ? 0.0 : dw_ooc_spare(j->fixed, row, fo ? fo->memory : 0.0, B, nbuf);
    const ooc_layout lay = {n, m, 1, j->nout, B, j->symmetric, spare};
    double *bufs[2] = {NULL, NULL};
    for (int k = 0; k < nbuf; k++)
        bufs[k] = dw_core_alloc_large(j->nout * B * m * sizeof(double), "the Gram's row block");
    ooc_writer *wr = NULL;
    dw_status s = !bufs[0] || (nbuf == 2 && !bufs[1]) ? DW_ERR_NOMEM : DW_OK;
    if (!s && !f->whole) s = dw_ooc_writer_start(&wr, f, &lay); /* whole: one block, written on this thread */
    int k = 0;
    for (size_t r0 = f->rows_done, r1; !s && r0 < n; r0 = r1, k ^= nbuf - 1) {
        r1 = r0 + B < n ? r0 + B : n;
        const size_t cb = j->symmetric ? r0 : 0, w = m - cb, nb = r1 - r0;
        double *buf = bufs[k]; /* free: the block that used it was written before the last post returned */
        if ((s = j->rows(j->ctx, r0, r1, buf, w, B * w))) break;
        if (j->symmetric) /* (j, i) <- (i, j) for r0 <= i < j < r1 */
            for (size_t o = 0; o < j->nout; o++) dw_ooc_transpose(buf + o * B * w, w, buf + o * B * w, w, nb, nb, true);
        if (f->whole) { /* every row (B = n): the block is the file's data in order */
            s = dw_ooc_write_whole(f, buf, j->nout * n * m * sizeof(double));
            break;
        }
        ooc_block blk = {buf, r0, r1, cb, w, {0, 0, 0, 0, 0, 0}};
        if (j->block_stats) j->block_stats(j->ctx, &blk.stats);
        if ((s = dw_ooc_writer_post(wr, &blk))) break;
        if (nbuf == 1 && (s = dw_ooc_writer_wait(wr))) break; /* one buffer: written before it is reused */
        if (fo && fo->progress && r1 < n &&
            fo->progress(fo->progress_ctx, pairs_before(r1, m, j->symmetric), pairs_before(n, m, j->symmetric))) {
            *cancelled = true;
            s = cancelled_status();
        }
    }
    /* the blocks handed over are written and recorded before anything returns (a cancelled run resumes after them) */
    const dw_status ws = dw_ooc_writer_stop(wr);
    if (!s) s = ws;
    for (int b = 0; b < nbuf; b++) dw_core_free_large(bufs[b]);
    return s;
}

dw_status dw_ooc_rows_file(const ooc_rows_job *j, const dw_file_opts *fo)
{
    const uint16_t one = 1;
    if (!j->path || !*j->path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    if (*(const unsigned char *)&one != 1)
        return dw_fail(DW_ERR_INVALID, "%s: out-of-core Gram files are written on little-endian hosts only", j->path);
    ooc_files f;
    size_t B = 1;
    int nbuf = 1;
    dw_status s;
    if ((s = dw_ooc_names(&f, j->path, j->ndim, j->shape, j->n)) || (s = dw_ooc_check_space(&f)) ||
        (s = dw_ooc_rows_fit(j->fixed, (double)j->nout * (double)j->m * 8.0 + j->per_row, fo ? fo->memory : 0.0,
                             j->n, 0, j->round, &B, &nbuf))) {
        dw_ooc_close(&f, true);
        return s;
    }
    if (fo && fo->max_rows > 0 && B > fo->max_rows) { /* at most max_rows, whole tiles of round rows */
        B = fo->max_rows;
        if (j->round > 1) B = B < j->round ? j->round : B - B % j->round;
    }
    if (j->prepare && (s = j->prepare(j->ctx, B))) {
        dw_ooc_close(&f, true);
        return s;
    }
    f.hash = dw_ooc_hash(j->hash, f.head, f.head_len);
    f.whole = B >= j->n;
    bool cancelled = false, keep = true; /* a refused resume keeps the files */
    if (!(s = dw_ooc_open(&f, fo && fo->resume))) {
        keep = false;
        f.sync = (j->n + B - 1) / B > 1;
        if (j->started) j->started(j->ctx, &f);
        const double total = pairs_before(j->n, j->m, j->symmetric);
        cancelled = fo && fo->progress &&
                    fo->progress(fo->progress_ctx, pairs_before(f.rows_done, j->m, j->symmetric), total) != 0;
        s = cancelled ? cancelled_status() : run_blocks(j, fo, &f, B, nbuf, &cancelled);
        cancelled = cancelled || (j->cancelled && j->cancelled(j->ctx));
        if (!s && fo && fo->progress) fo->progress(fo->progress_ctx, total, total);
        if (!s) s = dw_ooc_finish(&f);
    }
    /* an interruption or a failed write (a full disk) keeps the files for a resume; any other failure (bad values,
     * memory, another run's side file) removes them, as ooc.c */
    dw_ooc_close(&f, keep || s == DW_ERR_IO || cancelled);
    return s;
}

double dw_ooc_spare(double fixed, double row, double memory, size_t B, int nbuf)
{
    const double mem = memory > 0 ? memory : DW_KERNEL_MEMORY_FRACTION * dw_core_mem_available();
    const double left = mem - fixed - (double)nbuf * (double)B * row;
    return left > 0 ? left : 0.0;
}

dw_status dw_ooc_rows_fit(double fixed, double row, double memory, size_t n, int nbuf_fixed, size_t round, size_t *B,
                          int *nbuf)
{
    const double mem = memory > 0 ? memory : DW_KERNEL_MEMORY_FRACTION * dw_core_mem_available();
    const double cap = fmax(1024.0, 64.0 * 1048576.0 / row);
    *nbuf = nbuf_fixed > 0 ? nbuf_fixed : (mem - fixed) / row >= (double)n && (double)n <= cap ? 1 : 2;
    const double rows = fmin((mem - fixed) / (row * *nbuf), cap);
    const size_t least = round > 1 && round < n ? round : 1;
    if (!(rows >= (double)least) && n > 0) {
        char a[32], b[32], c[32];
        dw_core_format_bytes(mem, a, sizeof a);
        dw_core_format_bytes(fixed, b, sizeof b);
        dw_core_format_bytes(fixed + 2.0 * (double)least * row, c, sizeof c);
        return dw_fail(DW_ERR_NOMEM, "memory: %s is too small for this Gram matrix: the plan and scratch need %s and "
                                     "%s more; give at least %s", a, b,
                       least > 1 ? "two blocks of rows of the result" : "two rows of the result", c);
    }
    size_t k = rows >= (double)n ? n : (size_t)rows;
    if (round > 1 && k < n) k -= k % round;
    else if (round == 0 && k < n && k >= TILE_I) k -= k % TILE_I; /* every row in one block stays one block */
    *B = k > 0 ? k : 1;
    return DW_OK;
}
