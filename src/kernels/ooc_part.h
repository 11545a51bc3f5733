/* A Gram file written by several processes at once (ooc_part.c), for a distributed driver (deepwick-mpi's
 * cli/mpi_kernel.c). Not installed. The library does no message passing: part k of P computes blocks of its own
 * rows and hands back each block's pieces (where they go in the file, the values packed in that order), and the
 * caller writes them with its own I/O (MPI-IO) and reduces the statistics.
 *
 * The parts' rows are contiguous runs of tile rows, balanced by tile count (a symmetric Gram's tile rows shrink
 * towards the bottom). Each block is computed and laid out exactly as dw_kernel_gram_file does (ooc.c,
 * dw_ooc_pieces), so the union of every part's pieces is the file dw_kernel_gram_file writes, bit for bit, for any
 * P, memory and thread count. */
#ifndef DW_KERNELS_OOC_PART_H
#define DW_KERNELS_OOC_PART_H

#include "deepwick.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dw_gram_part dw_gram_part;

/* One block's pieces: count runs, run k of len[k] doubles going to byte offset off[k] of the data (after the
 * header; increasing), its values at data + (sum of the earlier lengths); total doubles in all. Valid until the
 * next block. */
typedef struct dw_gram_pieces {
    const double *data;
    const uint64_t *off;
    const size_t *len;
    size_t count, total;
} dw_gram_pieces;

/* Part `part` of `nparts` of the Gram dw_kernel_gram_file(net, o, X, n, Y, m, d, nngp, ntk, path) would write:
 * checks, plan, this part's rows and blocks within o's working memory (per process). resume is refused. */
dw_status dw_gram_part_init(dw_gram_part **g, const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                            const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path, int part,
                            int nparts);
void dw_gram_part_clear(dw_gram_part *g);

/* The temporary file the parts write (beside the output; renamed by dw_gram_part_finish), the .npy header that
 * goes at its start, its size in bytes. */
const char *dw_gram_part_partial(const dw_gram_part *g);
const void *dw_gram_part_header(const dw_gram_part *g, size_t *len);
uint64_t dw_gram_part_file_bytes(const dw_gram_part *g);
/* This part's rows [*r0, *r1) and its number of blocks. */
void dw_gram_part_rows(const dw_gram_part *g, size_t *r0, size_t *r1);
size_t dw_gram_part_blocks(const dw_gram_part *g);

/* Compute block k (< dw_gram_part_blocks) of this part; its pieces into *pc. */
dw_status dw_gram_part_block(dw_gram_part *g, size_t k, dw_gram_pieces *pc);

/* One process (the first), before any part opens the temporary file: the disk-space check, and whatever an earlier
 * run left beside the output (its temporary and resume files) removed. */
dw_status dw_gram_part_prepare(const dw_gram_part *g);
/* One process, after every part has written and closed the file: ok, rename it to the output; else remove it. */
dw_status dw_gram_part_finish(const dw_gram_part *g, bool ok);

/* The statistics of this part's tiles (generic activations), to be combined over the parts: mx (the largest
 * bound of an expectation, of an entry, the routes taken) by maximum, sum (evaluations, quadrature evaluations)
 * by sum; dw_gram_part_info fills info from the combined values. */
#define DW_GRAM_PART_MAX 4
#define DW_GRAM_PART_SUM 2
void dw_gram_part_stats(const dw_gram_part *g, double *mx, double *sum);
void dw_gram_part_info(dw_gram_part *g, const double *mx, const double *sum, dw_kernel_info *info);

#endif
