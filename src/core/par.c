/* dw_par_for: a parallel loop on a pool of POSIX threads. Every driver uses it, so thread-count independence,
 * first-error reporting and single-threaded BLAS in the workers hold by construction. The pool's threads are
 * created on first need and kept; between loops they block on a condition variable: unlike an OpenMP team, nobody
 * spins while waiting, which matters on shared machines (the issue measured a 3.2x slowdown of an OpenMP loop
 * beside a competing process, against 1.7x for numpy). Threads were first created per call: on a busy machine the
 * scheduler starts a new thread behind the running ones, so small loops (the sampler's layers at width 256) ran on
 * the calling thread alone, 2x slower than on two threads; a sleeping pool thread that is woken runs at once. */
#include "par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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
    /* under the pool's lock: */
    int want;               /* helpers still wanted (the caller is worker 0) */
    int active;             /* helpers inside the loop */
    int next_tid;           /* the next helper's tid */
    pthread_cond_t done;    /* signalled when active drops to 0 */
    struct par_loop *link;  /* the pool's list of loops that want helpers */
} par_loop;

#define DW_PAR_MAX_WORKERS 1024
#define DW_PAR_SPIN 4096 /* pauses (~0.1-0.3 ms) a worker watches for the next loop before it blocks */

static inline void dw_par_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* The pool: threads, the loops waiting for helpers, one lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static par_loop *pool_loops; /* loops with want > 0 */
static atomic_int pool_posted;  /* loops posted so far (a worker that just finished watches it for a moment) */
static int pool_threads, pool_idle;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* After fork the child has none of the parent's threads: it starts an empty pool. */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool_lock, NULL);
    pthread_cond_init(&pool_cv, NULL);
    pool_loops = NULL;
    pool_threads = pool_idle = 0;
}

static void pool_init(void) { pthread_atfork(NULL, NULL, pool_after_fork); }

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

/* Under the pool's lock: take this loop off the list of loops that want helpers. */
static void unlink_loop(par_loop *L)
{
    for (par_loop **q = &pool_loops; *q; q = &(*q)->link)
        if (*q == L) {
            *q = L->link;
            return;
        }
}

static void *worker_main(void *arg)
{
    (void)arg;
#ifdef _OPENMP
    omp_set_num_threads(1); /* OpenBLAS (OpenMP build) called from this thread runs single-threaded */
#endif
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        if (!pool_loops) { /* a driver's loops come in quick succession (one per layer): watch briefly, then block */
            const int seen = atomic_load(&pool_posted);
            pthread_mutex_unlock(&pool_lock);
            for (int k = 0; k < DW_PAR_SPIN && atomic_load_explicit(&pool_posted, memory_order_relaxed) == seen; k++)
                dw_par_pause();
            pthread_mutex_lock(&pool_lock);
        }
        while (!pool_loops) pthread_cond_wait(&pool_cv, &pool_lock);
        par_loop *L = pool_loops;
        const int tid = L->next_tid++;
        if (--L->want == 0) unlink_loop(L);
        L->active++;
        pool_idle--;
        pthread_mutex_unlock(&pool_lock);
        run_items(L, tid);
        pthread_mutex_lock(&pool_lock);
        pool_idle++;
        if (--L->active == 0) pthread_cond_signal(&L->done);
    }
    return NULL;
}

int dw_par_workers(size_t n, int threads)
{
    int t = dw_core_threads(threads);
    if (t < 1) t = 1;
    if ((size_t)t > n) t = n ? (int)n : 1;
    return t;
}

dw_status dw_par_for(size_t n, int threads, dw_par_fn fn, void *ctx)
{
    if (!n) return DW_OK;
    int t = dw_par_workers(n, threads);
    if (t > DW_PAR_MAX_WORKERS) t = DW_PAR_MAX_WORKERS;
    par_loop L = {.fn = fn, .ctx = ctx, .n = n, .status = DW_OK, .want = t - 1, .next_tid = 1};
    atomic_init(&L.next, 0);
    atomic_init(&L.err_item, SIZE_MAX);
    pthread_mutex_init(&L.lock, NULL);
    if (t > 1) {
        pthread_once(&pool_once, pool_init);
        pthread_cond_init(&L.done, NULL);
        pthread_mutex_lock(&pool_lock);
        /* enough idle threads for this loop's helpers (a failed start: fewer helpers, the same results) */
        while (pool_idle < t - 1 && pool_threads < DW_PAR_MAX_WORKERS) {
            pthread_t tid;
            pthread_attr_t at;
            pthread_attr_init(&at);
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            const int rc = pthread_create(&tid, &at, worker_main, NULL);
            pthread_attr_destroy(&at);
            if (rc != 0) break;
            pool_threads++;
            pool_idle++;
        }
        L.link = pool_loops;
        pool_loops = &L;
        atomic_fetch_add(&pool_posted, 1);
        if (t - 1 >= pool_idle)
            pthread_cond_broadcast(&pool_cv);
        else
            for (int k = 0; k < t - 1; k++) pthread_cond_signal(&pool_cv);
        pthread_mutex_unlock(&pool_lock);
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
    if (t > 1) { /* no helper joins from now on; wait for those inside */
        pthread_mutex_lock(&pool_lock);
        if (L.want > 0) unlink_loop(&L);
        while (L.active > 0) pthread_cond_wait(&L.done, &pool_lock);
        pthread_mutex_unlock(&pool_lock);
        pthread_cond_destroy(&L.done);
    }
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
