/* The one helper that runs every parallel loop of the library (BLIS style: drivers thread, kernels do not).
 * Internal, not installed. */
#ifndef DW_PAR_H
#define DW_PAR_H

#include "internal.h"

#include <pthread.h>

/* One item of a loop: `tid` in [0, threads) says which worker runs it (for per-worker scratch space and
 * statistics that merge exactly: integer counts, max, min; a floating-point SUM must be kept per item and added
 * in item order by the caller, or it would depend on the schedule). Return DW_OK or dw_fail(...). */
typedef dw_status (*dw_par_fn)(void *ctx, size_t item, int tid);

/* Run fn(ctx, i, tid) for every i in [0, n) on min(dw_core_threads(threads), n) workers, the calling thread among
 * them, items handed out one at a time in increasing order. Inside the workers BLAS runs single-threaded. After a
 * failure no further item is started; the status and message of the LOWEST failing item index are returned and
 * re-posted on the calling thread (so the error does not depend on the schedule or the thread count). The workers
 * are a pool kept between calls (any number of callers may use it at once; a child of fork starts an empty one);
 * a worker that finishes watches for the next loop for ~0.1-0.3 ms, then blocks: on a machine whose cores are
 * busy with other processes no thread burns a core for long, and a driver's quick succession of loops (one per
 * layer) still finds its workers awake. Results are the same for every thread count as
 * long as each item's result depends only on its index. An item must not start a dw_par_for of its own (that
 * would multiply the threads); it may call BLAS, which is single-threaded there. */
dw_status dw_par_for(size_t n, int threads, dw_par_fn fn, void *ctx);

/* Number of workers dw_par_for would use for n items (for sizing per-worker scratch space). */
int dw_par_workers(size_t n, int threads);

/* The first failure by a KEY of the caller's choosing, for loops whose error order is not their item order (the
 * dense engine reports the first failure in (network, layer, input row) order across several loops): such items
 * record their failure here and return DW_OK, so every item runs and the lowest key wins whatever the schedule.
 * dw_par_first_init before the loops, dw_par_first_done after them (returns DW_OK, or the failure with the lowest
 * key and its message re-posted on the calling thread). */
typedef struct dw_par_first {
    pthread_mutex_t lock;
    size_t key; /* SIZE_MAX: none */
    dw_status status;
    char message[1024];
} dw_par_first;

void dw_par_first_init(dw_par_first *f);
/* Keep (key, s, the thread's current error message) if s is a failure with the lowest key so far. */
void dw_par_first_record(dw_par_first *f, size_t key, dw_status s);
dw_status dw_par_first_done(dw_par_first *f);

#endif
