/* dw_par_for: every item runs once; results independent of the thread count; the lowest failing item's status and
 * message are reported whatever the schedule; BLAS calls inside items agree with a serial loop. */
#include "check.h"
#include "core/par.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *out;
    atomic_int *runs;
    size_t fail_from; /* items >= fail_from fail (SIZE_MAX: none) */
    const double *A, *B;
    size_t dim;
} ctx_t;

static dw_status item(void *c, size_t i, int tid)
{
    ctx_t *x = c;
    (void)tid;
    atomic_fetch_add(&x->runs[i], 1);
    if (i >= x->fail_from) return dw_fail(DW_ERR_RANGE, "item %zu failed", i);
    /* A small GEMM per item: the same bits whatever the thread count. */
    double C[16 * 16];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)x->dim, (int)x->dim, (int)x->dim, 1.0 + (double)i,
                x->A, (int)x->dim, x->B, (int)x->dim, 0.0, C, (int)x->dim);
    double s = 0;
    for (size_t k = 0; k < x->dim * x->dim; k++) s += C[k];
    x->out[i] = s;
    return DW_OK;
}

/* Keyed first failure: items fail in an order unlike their keys; the lowest key wins for every thread count. */
static dw_status keyed_item(void *c, size_t i, int tid)
{
    (void)tid;
    dw_par_first *f = c;
    const size_t key = (i * 7919) % 101; /* a permutation of 0..100 */
    if (key % 3 == 1) dw_par_first_record(f, key, dw_fail(key % 2 ? DW_ERR_RANGE : DW_ERR_INVALID, "key %zu", key));
    dw_par_first_record(f, key, DW_OK); /* successes record nothing */
    return DW_OK;
}

/* tid of each item, to check that every tid of a loop is in [0, threads) and that per-worker slots are private */
typedef struct {
    atomic_int *busy; /* per tid: items running now */
    atomic_int bad;
    int threads;
    atomic_long sum;
} tid_ctx;

static dw_status tid_item(void *c, size_t i, int tid)
{
    tid_ctx *x = c;
    if (tid < 0 || tid >= x->threads || atomic_fetch_add(&x->busy[tid], 1) != 0) atomic_fetch_add(&x->bad, 1);
    atomic_fetch_add(&x->sum, (long)i);
    if (tid >= 0 && tid < x->threads) atomic_fetch_sub(&x->busy[tid], 1);
    return DW_OK;
}

/* Many small loops from several user threads at once (the pool serves them all; each loop's tids stay private). */
static void *caller(void *arg)
{
    long *bad = arg;
    atomic_int busy[3];
    for (int r = 0; r < 300; r++) {
        for (int k = 0; k < 3; k++) atomic_init(&busy[k], 0);
        tid_ctx c = {busy, 0, 3, 0};
        if (dw_par_for(40, 3, tid_item, &c) != DW_OK || atomic_load(&c.bad) || atomic_load(&c.sum) != 40 * 39 / 2)
            (*bad)++;
    }
    return NULL;
}

int main(void)
{
    {
        long bad[4] = {0};
        pthread_t t[4];
        for (int k = 0; k < 4; k++) CHECK(pthread_create(&t[k], NULL, caller, &bad[k]) == 0);
        for (int k = 0; k < 4; k++) CHECK(pthread_join(t[k], NULL) == 0);
        for (int k = 0; k < 4; k++) CHECK(bad[k] == 0);
        /* a child of fork starts with an empty pool and runs its loops */
        pid_t pid = fork();
        if (pid == 0) {
            long b = 0;
            caller(&b);
            _exit(b == 0 ? 0 : 1);
        }
        int st = 0;
        CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    enum { N = 257, D = 16 };
    double A[D * D], B[D * D];
    for (int k = 0; k < D * D; k++) {
        A[k] = sin(0.37 * k);
        B[k] = cos(0.11 * k);
    }
    double ref[N], out[N];
    atomic_int runs[N];
    for (int threads = 1; threads <= 5; threads++) {
        for (int k = 0; k < N; k++) atomic_init(&runs[k], 0);
        memset(out, 0, sizeof out);
        ctx_t c = {out, runs, SIZE_MAX, A, B, D};
        CHECK(dw_par_for(N, threads, item, &c) == DW_OK);
        int once = 1;
        for (int k = 0; k < N; k++) once &= atomic_load(&runs[k]) == 1;
        CHECK(once);
        if (threads == 1)
            memcpy(ref, out, sizeof ref);
        else
            CHECK(memcmp(ref, out, sizeof ref) == 0);
        /* Failures from item 100 on: item 100 is reported, whatever the schedule; items after it may be skipped. */
        for (int k = 0; k < N; k++) atomic_init(&runs[k], 0);
        c.fail_from = 100;
        dw_error_clear();
        CHECK(dw_par_for(N, threads, item, &c) == DW_ERR_RANGE);
        CHECK(strcmp(dw_error_message(), "item 100 failed") == 0);
        int before = 1;
        for (int k = 0; k < 100; k++) before &= atomic_load(&runs[k]) == 1;
        CHECK(before);
    }
    for (int threads = 1; threads <= 4; threads++) {
        dw_par_first f;
        dw_par_first_init(&f);
        CHECK(dw_par_for(101, threads, keyed_item, &f) == DW_OK);
        dw_error_clear();
        CHECK(dw_par_first_done(&f) == DW_ERR_RANGE);
        CHECK(strcmp(dw_error_message(), "key 1") == 0);
        dw_par_first_init(&f);
        CHECK(dw_par_first_done(&f) == DW_OK);
    }
    CHECK(dw_par_for(0, 4, item, NULL) == DW_OK);
    CHECK(dw_par_workers(3, 8) == 3 && dw_par_workers(0, 8) == 1 && dw_par_workers(100, 2) == 2);
    return check_done("par");
}
