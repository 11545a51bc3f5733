/* The out-of-core Gram driver's files (ooc_files.c), shared with the driver (ooc.c). Not installed.
 *
 * For an output "<dir>/<name>" the run writes "<dir>/.<name>.deepwick-partial" (the .npy being filled, locked with
 * flock while a run writes it) and keeps "<dir>/.<name>.deepwick-resume" (a few text lines: the hash of the
 * computation, the rows completed, the tile statistics so far), replaced through "<dir>/.<name>.deepwick-resume.tmp".
 * The suffixes name them as deepwick's, so the next start recognises and removes (or resumes) them. */
#ifndef DW_KERNELS_OOC_H
#define DW_KERNELS_OOC_H

#include "kernels/kernel.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ooc_files {
    const char *path;             /* the final output (borrowed) */
    char *partial, *side, *sidetmp;
    int fd;                       /* the partial file, locked; -1 when not open */
    char head[DW_NPY_HEADER_MAX]; /* the .npy header */
    size_t head_len;
    uint64_t data_bytes;          /* after the header */
    uint64_t hash;                /* of the computation (ooc.c) */
    size_t n;                     /* rows of the Gram matrix */
    size_t rows_done;             /* completed rows (from the side file when resumed) */
    bool sync;                    /* several blocks: each is synced before it is recorded, the file before the rename */
    bool whole;                   /* one block holds every row (set before dw_ooc_open, cleared by a resume of some
                                   * rows): no side file, no sized file; the header and the data go in one sequential
                                   * pass on the calling thread (dw_ooc_write_whole), as dw_io_write_npy writes */
    gen_stats stats;              /* generic activations: the tile statistics of the completed rows */
} ooc_files;

/* FNV-1a over bytes, continuing from h (start with DW_OOC_HASH0). */
#define DW_OOC_HASH0 0xcbf29ce484222325ULL
uint64_t dw_ooc_hash(uint64_t h, const void *p, size_t len);

/* Names beside `path`, the header of shape[0..ndim); fd -1. Nothing is created. */
dw_status dw_ooc_names(ooc_files *f, const char *path, int ndim, const size_t *shape, size_t n);
/* DW_OK if the file system of the output has room for what the run still has to write ("needs ... on disk"). */
dw_status dw_ooc_check_space(const ooc_files *f);
/* Open and lock the partial file. resume: continue from the side file when its hash is f->hash (else
 * DW_ERR_INVALID, the files kept), from row 0 when there is none; otherwise the old files are removed. Then the
 * header and the size are set and the side file records the start; f->whole with nothing to resume: the partial
 * file is left empty for dw_ooc_write_whole and no side file is written (a run in one block has no rows to resume). */
dw_status dw_ooc_open(ooc_files *f, bool resume);
/* f->whole: the header, then `bytes` of data, written sequentially from the start of the empty partial file (the
 * bytes of the block-by-block route: the data of one block of every row is the whole array in file order). */
dw_status dw_ooc_write_whole(ooc_files *f, const void *data, size_t bytes);
/* Write bytes at offset `off` of the data (after the header). */
dw_status dw_ooc_write(ooc_files *f, const void *buf, size_t bytes, uint64_t off);
/* Record rows_done and stats in the side file (atomically: .tmp then rename). */
dw_status dw_ooc_record(ooc_files *f);
/* fsync (f->sync), rename the partial file to the output, remove the side file (if not f->whole: none). */
dw_status dw_ooc_finish(ooc_files *f);
/* Release everything; keep: leave the partial and side files for a resume, else remove them. */
void dw_ooc_close(ooc_files *f, bool keep);

/* ooc_write.c: one block of rows in memory and where it goes. Output o, layer l, entry (i, j) of the block is at
 * buf[(o L + l) B w + (i - r0) w + (j - cb)]; a symmetric Gram's block holds the entries with j >= r0 (cb: r0
 * rounded down to a tile column), a rectangular one every column (cb 0, w m). */
typedef struct ooc_block {
    double *buf;
    size_t r0, r1, cb, w;
    gen_stats stats; /* the tile statistics once this block is done (recorded with it) */
} ooc_block;

typedef struct ooc_layout {
    size_t n, m, L, nout, B; /* rows, columns, layers per output, outputs, rows per block */
    bool symmetric;
    double spare;            /* bytes of the working memory the writer may take to group a symmetric Gram's mirror
                              * pieces (dw_ooc_spare; 0: none) */
} ooc_layout;

/* The writer's staging of the transposed mirror pieces: 64 KiB, or one piece. */
#define DW_OOC_STAGE_BYTES ((size_t)1 << 16)

/* dst[j * lddst + i] = src[i * ldsrc + j] for i < ni, j < nj (upper: only j > i), in cache-sized squares. */
void dw_ooc_transpose(double *dst, size_t lddst, const double *src, size_t ldsrc, size_t ni, size_t nj, bool upper);

/* The pieces of a computed block in the file, in increasing offset order: put(ctx, v, count, off) for each run of
 * count doubles v that goes at byte offset off of the data (after the header); a symmetric Gram's mirror pieces are
 * transposed into stage (stage_rows rows of the block's height) first, so put must consume v before it returns. */
typedef dw_status (*dw_ooc_put_fn)(void *ctx, const double *v, size_t count, uint64_t off);
dw_status dw_ooc_pieces(const ooc_layout *lay, const ooc_block *b, double *stage, size_t stage_rows,
                        dw_ooc_put_fn put, void *ctx);

/* The writer: a thread that writes a block's rows (and a symmetric Gram's mirror of them into the later rows),
 * syncs them to the disk, then records them in the side file, while the caller computes the next block.
 * With lay->spare room for two blocks' mirror or more, the mirror of consecutive blocks is gathered (transposed)
 * into one buffer and written once per group, each later row's piece as wide as the group's rows instead of one
 * block's (fewer, larger writes; the same bytes); the group's rows are recorded in the side file when it is
 * written, so a resume starts at the group's first row. */
typedef struct ooc_writer ooc_writer;
dw_status dw_ooc_writer_start(ooc_writer **w, ooc_files *f, const ooc_layout *lay);
/* Wait until the previous block is written (its status: a failure is returned here and ends the run), then hand
 * over b (its buffer is the writer's until the next post or wait returns). */
dw_status dw_ooc_writer_post(ooc_writer *w, const ooc_block *b);
/* Wait until every posted block is written and recorded; the first failure. */
dw_status dw_ooc_writer_wait(ooc_writer *w);
/* Wait, stop the thread, free; the first failure. NULL-safe. */
dw_status dw_ooc_writer_stop(ooc_writer *w);

/* ooc.c: one run's state; dw_ooc_compute computes rows [r0, r1) into buf (ooc_block's layout, B rows of w = m - cb
 * values per output and layer), setting cb and w, the tiles by dw_par_for into tiles (dw_ooc_tile_slots(B, m)
 * entries), then (symmetric) the block's lower triangle and diagonal. */
typedef struct ooc_run {
    const dw_kernel_plan *p;
    size_t n, m, L, nout;     /* rows, columns, layers per output, outputs (K and/or Theta) */
    size_t B;                 /* rows per block */
    double spare;             /* the writer's mirror groups (ooc_layout) */
    double *buf;              /* the block being computed (ooc_block's layout) */
    size_t r0, r1, cb, w;     /* the block's rows, its first column (a multiple of TILE_J) and width m - cb */
    size_t *tiles;            /* the block's tiles (i0, j0) */
    size_t ntiles;
    bool ntk_only;            /* the one output is Theta */
    bool whole;               /* one block of every row (ooc_files.whole): a symmetric Gram's tiles store their mirror
                               * from cache (dw_kern_tile's sym 1, as dw_kernel_gram), not by a serial transpose */
    atomic_size_t done;       /* tiles done (progress) */
    double total;             /* tiles of the whole Gram matrix */
    const dw_kernel_opts *o;
    atomic_int cancel;        /* the progress callback asked to stop */
} ooc_run;
dw_status dw_ooc_compute(ooc_run *r);
/* The checks of an out-of-core Gram (outputs asked for, a path, a little-endian host, the net) and the output's
 * shape (nd axes: [2,] [L,] n, m), its layers per output L and outputs nout. */
dw_status dw_ooc_shape(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                       const char *path, size_t *shape, int *nd, size_t *L, size_t *nout);
size_t dw_ooc_tile_slots(size_t B, size_t m);
/* The tiles of rows [a, b) in tile rows of TILE_I from a. */
size_t dw_ooc_count_tiles(const ooc_run *r, size_t a, size_t b);
/* ooc.c: rows per block B and buffers nbuf (1, or 2: one computed while the other is written; nbuf_fixed > 0: that
 * many block-sized buffers) of a Gram run within o's working memory (dw_kernel_gram_file_bytes; DW_ERR_NOMEM
 * "memory: ... too small"). */
dw_status dw_ooc_block_rows(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                            int nbuf_fixed, size_t *B, int *nbuf);

/* ooc_rows.c: a Gram file computed by rows through a callback (sigkernel, nsk, a given network's Gram), on the
 * writer above. rows(ctx, r0, r1, buf, w, slab) computes rows [r0, r1): output o's entry (i, j) at
 * buf[o slab + (i - r0) w + (j - (m - w))], every column (w = m), or for a symmetric Gram the columns from r0
 * (w = m - r0) of which only j >= i need be set (the driver fills the block's own lower triangle by transposing,
 * the writer the mirror in the later rows). */
typedef dw_status (*dw_ooc_rows_fn)(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab);
typedef struct ooc_rows_job {
    const char *path;
    int ndim;
    const size_t *shape;  /* the .npy: nout slabs of n x m */
    size_t n, m, nout;
    bool symmetric;
    size_t round;         /* rows per block: a multiple of round, or every row (1: any) */
    double fixed, per_row; /* working memory besides the blocks' values (dw_ooc_rows_fit) */
    uint64_t hash;        /* of the computation; the header is added */
    dw_ooc_rows_fn rows;
    void *ctx;
    /* optional (NULL: none): once the files are open (f->rows_done, and f->stats of a resumed run); the statistics
     * to record with a block just computed; whether the rows callback stopped on the progress callback (the files
     * are then kept for a resume) */
    void (*started)(void *ctx, const ooc_files *f);
    void (*block_stats)(void *ctx, gen_stats *stats);
    bool (*cancelled)(void *ctx);
    dw_status (*prepare)(void *ctx, size_t B); /* once the rows per block B are known: the caller's block buffers */
} ooc_rows_job;
/* dw_file_opts (deepwick/io.h); dw_kernel_gram_file's driver fills one from its dw_kernel_opts. */
struct dw_file_opts {
    double memory;
    bool resume;
    size_t max_rows;
    dw_file_progress_fn progress;
    void *progress_ctx;
};
dw_status dw_ooc_rows_file(const ooc_rows_job *j, const dw_file_opts *fo);
/* Rows per block B and buffers nbuf (as dw_ooc_block_rows) for `fixed` bytes plus `row` per row of a block within
 * mem (0: the default fraction of the available memory); round > 1: B a multiple of round or n (else too small),
 * round 0: a multiple of TILE_I once there is room for one. */
dw_status dw_ooc_rows_fit(double fixed, double row, double mem, size_t n, int nbuf_fixed, size_t round, size_t *B,
                          int *nbuf);
/* The working memory left to the writer's mirror groups once nbuf buffers of B rows are taken: mem (0: the default
 * fraction of the available memory) less fixed and nbuf B row, at least 0. */
double dw_ooc_spare(double fixed, double row, double mem, size_t B, int nbuf);

#endif
