/* deepwick-mpi sample / converge: `deepwick sample` and `deepwick converge` (cli/sample.c, cli/converge.c: the same
 * options and outputs) with the networks split over the ranks (the library's dw_sample_split, sample.h): each batch
 * of networks is cut into one contiguous run per rank, and every rank's records (outputs, Gram) are gathered by all
 * ranks in network order (MPI_Allgatherv), so that every rank reduces the same networks in the same order as one
 * process: the means, standard errors and fits are bit for bit those of `deepwick`, for any number of ranks. Rank 0
 * writes the files. */
#include "mpi.h"

#include "sample/sample.h"

#include <limits.h>
#include <stdlib.h>

static dw_status exchange(void *ctx, dw_status st, const double *mine, double *all, const size_t *counts,
                          size_t record)
{
    (void)ctx;
    if (!mpi_agree(!st)) return st ? st : mpi_other_failed();
    mpi_test_abort("sample: in an exchange");
    const int P = mpi_size();
    int *cnt = malloc(2 * (size_t)P * sizeof *cnt);
    if (!cnt) return dw_fail(DW_ERR_NOMEM, "out of memory (the ranks' counts)");
    int *disp = cnt + P, at = 0;
    for (int k = 0; k < P; k++) {
        cnt[k] = (int)counts[k];
        disp[k] = at;
        at += cnt[k];
    }
    MPI_Datatype rec;
    int e = record <= INT_MAX ? MPI_Type_contiguous((int)record, MPI_DOUBLE, &rec) : MPI_ERR_COUNT;
    if (e == MPI_SUCCESS) e = MPI_Type_commit(&rec);
    if (e == MPI_SUCCESS) {
        e = MPI_Allgatherv(mine, cnt[mpi_rank()], rec, all, cnt, disp, rec, MPI_COMM_WORLD);
        MPI_Type_free(&rec);
    }
    free(cnt);
    return mpi_status(e, "gathering the networks");
}

static dw_sample_split split;

void mpi_sample_setup(cli_dist *dist)
{
    split = (dw_sample_split){mpi_rank(), mpi_size(), 0, exchange, NULL};
    dist->sample_split = &split;
}
