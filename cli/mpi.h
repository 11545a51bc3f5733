/* deepwick-mpi: the MPI driver layer over the commands of cli/ (the library never links MPI). Every rank runs the
 * same command; ranks agree on success at fixed points (mpi_agree), and at the end the first failing rank alone
 * prints its error (each rank's stderr is held until then), so one error line comes out and every rank exits
 * non-zero. */
#ifndef DW_CLI_MPI_H
#define DW_CLI_MPI_H

#include "cli.h"

#include <mpi.h>
#include <stdbool.h>

/* This rank and the number of ranks (MPI_COMM_WORLD). */
int mpi_rank(void);
int mpi_size(void);

/* Every rank calls it at the same point with its own success; true when all succeeded. Otherwise the ranks know
 * the first failing rank (whose message is the one printed), and no rank calls mpi_agree again: the sequence of
 * collectives after a failure is over. A rank that fails before a command's first mpi_agree gets there in
 * main's closing mpi_agree, which matches it. */
bool mpi_agree(bool ok);
/* DW_ERR_INVALID with "rank K failed" when another rank failed at the last mpi_agree (the message not printed). */
dw_status mpi_other_failed(void);
/* An MPI error code as a status with "what: MPI's message" (DW_ERR_IO), or DW_OK. */
dw_status mpi_status(int err, const char *what);

/* The hooks of the distributed commands (cli.h's cli_dist): `kernel`'s Gram writer (cli/mpi_kernel.c), `sample`'s
 * and `converge`'s split of the networks (cli/mpi_sample.c). */
void mpi_kernel_setup(cli_dist *dist);
void mpi_sample_setup(cli_dist *dist);

/* The test hook: the rank named by DEEPWICK_MPI_TEST_ABORT_RANK kills itself (SIGKILL) at a point `where` of a
 * command, as a crashed node would. */
void mpi_test_abort(const char *where);

#endif
