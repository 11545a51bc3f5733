/* deepwick-mpi kernel: `deepwick kernel` (cli/kernel.c: the same options, inputs and checks) with a distributed
 * Gram writer. Rank k computes part k of the tile rows (dw_gram_part_*, balanced by tiles) block by block; every
 * block's pieces go into the temporary .npy beside the output with collective MPI-IO (a file view of the pieces,
 * MPI_File_write_all), rank 0 having set the size and written the header; after the ranks agree that every write
 * and the close succeeded, rank 0 renames the file to the output, else removes it. */
#include "mpi.h"

#include "kernels/ooc_part.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

/* Pieces longer than this many doubles are split (MPI counts are ints). */
#define RUN_MAX ((size_t)1 << 28)

/* The view of this block's pieces (doubles at byte displacements from the data's start), or of nothing. */
static int piece_type(const dw_gram_pieces *pc, MPI_Datatype *t)
{
    size_t runs = 0;
    for (size_t k = 0; k < pc->count; k++) runs += (pc->len[k] + RUN_MAX - 1) / RUN_MAX;
    int *len = malloc((runs ? runs : 1) * sizeof *len);
    MPI_Aint *disp = malloc((runs ? runs : 1) * sizeof *disp);
    if (!len || !disp) {
        free(len);
        free(disp);
        return MPI_ERR_NO_MEM;
    }
    size_t r = 0;
    for (size_t k = 0; k < pc->count; k++)
        for (size_t done = 0; done < pc->len[k]; done += RUN_MAX, r++) {
            len[r] = (int)(pc->len[k] - done < RUN_MAX ? pc->len[k] - done : RUN_MAX);
            disp[r] = (MPI_Aint)(pc->off[k] + 8u * done);
        }
    int e = MPI_Type_create_hindexed((int)runs, len, disp, MPI_DOUBLE, t);
    if (e == MPI_SUCCESS) e = MPI_Type_commit(t);
    free(len);
    free(disp);
    return e;
}

/* One round: this rank's block (pc NULL: none) written collectively at the data's start `data0`. */
static int write_round(MPI_File fh, MPI_Offset data0, const dw_gram_pieces *pc)
{
    static const dw_gram_pieces none = {NULL, NULL, NULL, 0, 0};
    if (!pc) pc = &none;
    if (pc->total > INT_MAX) return MPI_ERR_COUNT; /* a block over 16 GiB: a smaller --memory */
    MPI_Datatype t;
    int e = piece_type(pc, &t);
    if (e != MPI_SUCCESS) return e;
    e = MPI_File_set_view(fh, data0, MPI_DOUBLE, t, "native", MPI_INFO_NULL);
    if (e == MPI_SUCCESS) e = MPI_File_write_all(fh, pc->data, (int)pc->total, MPI_DOUBLE, MPI_STATUS_IGNORE);
    MPI_Type_free(&t);
    return e;
}

/* After open: size, header, the rounds, sync; the first failure of this rank (s) or of any (agreed). */
static dw_status write_parts(dw_gram_part *g, MPI_File fh)
{
    const char *partial = dw_gram_part_partial(g);
    size_t head_len;
    const void *head = dw_gram_part_header(g, &head_len);
    dw_status s = mpi_status(MPI_File_set_size(fh, (MPI_Offset)dw_gram_part_file_bytes(g)), partial);
    if (!s && mpi_rank() == 0)
        s = mpi_status(MPI_File_write_at(fh, 0, head, (int)head_len, MPI_BYTE, MPI_STATUS_IGNORE), partial);
    unsigned long mine = dw_gram_part_blocks(g), rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
    for (size_t k = 0; k < rounds; k++) {
        dw_gram_pieces pc;
        if (!s && k < mine) s = dw_gram_part_block(g, k, &pc);
        if (!mpi_agree(!s)) return s ? s : mpi_other_failed();
        s = mpi_status(write_round(fh, (MPI_Offset)head_len, k < mine ? &pc : NULL), partial);
        if (k == 0) mpi_test_abort("kernel: after the first block");
    }
    if (!mpi_agree(!s)) return s ? s : mpi_other_failed();
    return mpi_status(MPI_File_sync(fh), partial);
}

static dw_status mpi_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                               const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                               dw_kernel_info *info)
{
    dw_gram_part *g = NULL;
    dw_status s = dw_gram_part_init(&g, net, o, X, n, Y, m, d, nngp, ntk, path, mpi_rank(), mpi_size());
    if (!s && mpi_rank() == 0) s = dw_gram_part_prepare(g);
    if (!mpi_agree(!s)) { /* the first agreement: a rank that failed before it meets it in main's closing one */
        dw_gram_part_clear(g);
        return s ? s : mpi_other_failed();
    }
    const char *partial = dw_gram_part_partial(g);
    MPI_File fh = MPI_FILE_NULL;
    s = mpi_status(MPI_File_open(MPI_COMM_WORLD, partial, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh),
                   partial);
    if (mpi_agree(!s)) {
        s = write_parts(g, fh);
        const dw_status cs = mpi_status(MPI_File_close(&fh), partial);
        if (!s) s = cs;
    } else if (!s) {
        MPI_File_close(&fh);
        s = mpi_other_failed();
    }
    /* every rank's writes and close, then the statistics and the rename (rank 0) */
    const bool ok = !s && mpi_agree(true);
    if (!ok && !s) s = mpi_other_failed();
    double mx[DW_GRAM_PART_MAX], sum[DW_GRAM_PART_SUM], amx[DW_GRAM_PART_MAX], asum[DW_GRAM_PART_SUM];
    if (ok) {
        dw_gram_part_stats(g, mx, sum);
        MPI_Allreduce(mx, amx, DW_GRAM_PART_MAX, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        MPI_Allreduce(sum, asum, DW_GRAM_PART_SUM, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        dw_gram_part_info(g, amx, asum, info);
    }
    if (mpi_rank() == 0) {
        const dw_status fs = dw_gram_part_finish(g, ok);
        if (!s) s = fs;
    }
    dw_gram_part_clear(g);
    return s;
}

void mpi_kernel_setup(cli_dist *dist) { dist->gram_file = mpi_gram_file; }
