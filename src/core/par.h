/* The one helper that runs every parallel loop of the library (BLIS style: drivers thread, kernels do not).
 * Internal, not installed. */
#ifndef DW_PAR_H
#define DW_PAR_H

#include "internal.h"

/* One item of a loop: `tid` in [0, threads) says which worker runs it (for per-worker scratch space and
 * statistics that merge exactly: integer counts, max, min; a floating-point SUM must be kept per item and added
 * in item order by the caller, or it would depend on the schedule). Return DW_OK or dw_fail(...). */
typedef dw_status (*dw_par_fn)(void *ctx, size_t item, int tid);

/* Run fn(ctx, i, tid) for every i in [0, n) on min(dw_core_threads(threads), n) workers, the calling thread among
 * them, items handed out one at a time in increasing order. Inside the workers BLAS runs single-threaded. After a
 * failure no further item is started; the status and message of the LOWEST failing item index are returned and
 * re-posted on the calling thread (so the error does not depend on the schedule or the thread count). Workers
 * block, never spin, while they wait: on a machine whose cores are busy with other processes the loop loses no
 * time to threads burning the cores that the working ones need. Results are the same for every thread count as
 * long as each item's result depends only on its index. An item must not start a dw_par_for of its own (that
 * would multiply the threads); it may call BLAS, which is single-threaded there. */
dw_status dw_par_for(size_t n, int threads, dw_par_fn fn, void *ctx);

/* Number of workers dw_par_for would use for n items (for sizing per-worker scratch space). */
int dw_par_workers(size_t n, int threads);

#endif
