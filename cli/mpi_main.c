/* deepwick-mpi: the entry point. `mpirun -n P deepwick-mpi COMMAND [OPTIONS]` runs COMMAND on P ranks (cli/mpi.h):
 * the same options as `deepwick COMMAND`, the work split over the ranks, the output written once, bit for bit the
 * single-process one. Each rank's stderr goes to a temporary file until the end; then the first failing rank's
 * (or, when all succeeded, rank 0's) is copied to the real stderr. Only rank 0 writes stdout. */
#include "mpi.h"

#include "core/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank_, size_;
static int first_failed = -1; /* after a failed mpi_agree: the first failing rank */

int mpi_rank(void) { return rank_; }
int mpi_size(void) { return size_; }

bool mpi_agree(bool ok)
{
    int mine = ok ? size_ : rank_, first = size_;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first < size_) first_failed = first;
    return first == size_;
}

dw_status mpi_other_failed(void)
{
    return dw_fail(DW_ERR_INVALID, "rank %d failed", first_failed >= 0 ? first_failed : 0);
}

dw_status mpi_status(int err, const char *what)
{
    if (err == MPI_SUCCESS) return DW_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, text, &len);
    return dw_fail(DW_ERR_IO, "%s: %.*s", what, len, text);
}

void mpi_test_abort(const char *where)
{
    const char *e = getenv("DEEPWICK_MPI_TEST_ABORT_RANK");
    if (!e || atoi(e) != rank_) return;
    fprintf(stderr, "rank %d: test abort at %s\n", rank_, where);
    fflush(stderr);
    raise(SIGKILL);
}

static const char usage[] =
    "deepwick-mpi " DW_VERSION_STRING " - deepwick's commands over MPI ranks\n"
    "\n"
    "usage: mpirun -n P deepwick-mpi COMMAND [OPTIONS]\n"
    "\n"
    "commands (the options of `deepwick COMMAND`; docs/scaling.md):\n"
    "  kernel    NNGP / NTK Gram matrices: tile rows split over the ranks, one .npy written with MPI-IO\n"
    "  sample    sampled finite networks: the networks split over the ranks, reduced in network order\n"
    "  converge  the convergence study of empirical Grams: likewise, width by width\n"
    "  jacobian  the Jacobian spectrum; with --sample the networks split over the ranks likewise\n"
    "  predict   kernel regression; --solver cg: each product K V's row blocks split over the ranks\n"
    "\n"
    "The output is bit for bit that of `deepwick COMMAND`, whatever the number of ranks and threads.\n";

/* The held stderr: copy it to fd, then drop it. */
static void release(FILE *held, int fd)
{
    fflush(stderr);
    if (!held) return;
    char buf[4096];
    size_t got;
    rewind(held);
    while (fd >= 0 && (got = fread(buf, 1, sizeof buf, held)) > 0)
        if (write(fd, buf, got) < 0) break;
    fclose(held);
}

int main(int argc, char **argv)
{
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fputs("error: MPI_Init failed\n", stderr);
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    /* stderr held in a temporary file (not a terminal: no progress bars), stdout kept by rank 0 only */
    fflush(stdout);
    fflush(stderr);
    const int err = dup(STDERR_FILENO);
    FILE *held = tmpfile();
    if (held && err >= 0) dup2(fileno(held), STDERR_FILENO);
    if (rank_ != 0 && !freopen("/dev/null", "w", stdout)) errno = 0; /* stdout closed: nothing printed either way */
    mpi_kernel_setup(&cli_distributed);
    mpi_sample_setup(&cli_distributed);
    cli_distributed.writer = rank_ == 0;
    static const char *const distributed[] = {"kernel", "sample", "converge", "jacobian", "predict", NULL};
    int rc = cli_run(argc, argv, "deepwick-mpi", usage, distributed);
    fflush(stdout);
    if (first_failed < 0 && !mpi_agree(rc == 0) && rc == 0) rc = 1;
    if (first_failed >= 0 && rc == 0) rc = 1;
    fflush(stderr);
    if (err >= 0) dup2(err, STDERR_FILENO);
    release(held, (first_failed >= 0 ? rank_ == first_failed : rank_ == 0) ? STDERR_FILENO : -1);
    if (err >= 0) close(err);
    MPI_Finalize();
    return rc;
}
