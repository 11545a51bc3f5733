/* dw_par_for: a parallel loop on POSIX threads created per call. Every driver uses it, so thread-count
 * independence, first-error reporting and single-threaded BLAS in the workers hold by construction. Threads are
 * created per call (tens of microseconds, negligible beside the work of a driver) and joined by blocking: unlike an
 * OpenMP team, nobody spins while waiting, which matters on shared machines (the issue measured a 3.2x slowdown of
 * an OpenMP loop beside a competing process, against 1.7x for numpy). */
#include "par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct par_loop {
    dw_par_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;     /* next item to hand out */
    atomic_size_t err_item; /* lowest failing item so far (SIZE_MAX: none) */
    pthread_mutex_t lock;   /* guards status and message */
    dw_status status;
    char message[1024];
} par_loop;

typedef struct par_worker {
    par_loop *loop;
    int tid;
} par_worker;

static void run_items(par_loop *L, int tid)
{
    for (;;) {
        size_t i = atomic_fetch_add(&L->next, 1);
        if (i >= L->n || i > atomic_load(&L->err_item)) return; /* items after a failure are not started */
        dw_status s = L->fn(L->ctx, i, tid);
        if (s) {
            pthread_mutex_lock(&L->lock);
            if (i < atomic_load(&L->err_item)) {
                atomic_store(&L->err_item, i);
                L->status = s;
                snprintf(L->message, sizeof L->message, "%s", dw_error_message());
            }
            pthread_mutex_unlock(&L->lock);
        }
    }
}

static void *worker_main(void *arg)
{
    par_worker *w = arg;
#ifdef _OPENMP
    omp_set_num_threads(1); /* OpenBLAS (OpenMP build) called from this thread runs single-threaded */
#endif
    run_items(w->loop, w->tid);
    return NULL;
}

int dw_par_workers(size_t n, int threads)
{
    int t = dw_core_threads(threads);
    if (t < 1) t = 1;
    if ((size_t)t > n) t = n ? (int)n : 1;
    return t;
}

#define DW_PAR_MAX_WORKERS 1024

dw_status dw_par_for(size_t n, int threads, dw_par_fn fn, void *ctx)
{
    if (!n) return DW_OK;
    int t = dw_par_workers(n, threads);
    if (t > DW_PAR_MAX_WORKERS) t = DW_PAR_MAX_WORKERS;
    par_loop L = {.fn = fn, .ctx = ctx, .n = n, .status = DW_OK};
    atomic_init(&L.next, 0);
    atomic_init(&L.err_item, SIZE_MAX);
    pthread_mutex_init(&L.lock, NULL);
    pthread_t tids[DW_PAR_MAX_WORKERS];
    par_worker w[DW_PAR_MAX_WORKERS];
    int started = 0;
    for (int k = 1; k < t; k++) {
        w[k] = (par_worker){&L, k};
        if (pthread_create(&tids[k], NULL, worker_main, &w[k]) != 0) break; /* fewer workers: same results */
        started = k;
    }
#ifdef _OPENMP
    /* The caller is a worker too: BLAS single-threaded in here as well, restored afterwards. */
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    run_items(&L, 0);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    for (int k = 1; k <= started; k++) pthread_join(tids[k], NULL);
    pthread_mutex_destroy(&L.lock);
    if (L.status) return dw_fail(L.status, "%s", L.message);
    return DW_OK;
}

void dw_par_first_init(dw_par_first *f)
{
    pthread_mutex_init(&f->lock, NULL);
    f->key = SIZE_MAX;
    f->status = DW_OK;
    f->message[0] = 0;
}

void dw_par_first_record(dw_par_first *f, size_t key, dw_status s)
{
    if (!s) return;
    pthread_mutex_lock(&f->lock);
    if (f->status == DW_OK || key < f->key) {
        f->key = key;
        f->status = s;
        snprintf(f->message, sizeof f->message, "%s", dw_error_message());
    }
    pthread_mutex_unlock(&f->lock);
}

dw_status dw_par_first_done(dw_par_first *f)
{
    pthread_mutex_destroy(&f->lock);
    if (f->status) return dw_fail(f->status, "%s", f->message);
    return DW_OK;
}
