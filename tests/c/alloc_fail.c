/* SQLite's malloc test in miniature: the test binary is linked with -Wl,--wrap for the C allocator, so every
 * allocation the library makes goes through these wrappers, which can fail the k-th one and keep the set of live
 * blocks (to find leaks per call, not only at exit). Allocations inside other libraries (OpenBLAS, FLINT/GMP,
 * libgomp) are not wrapped: a block they allocate and we free is simply not in the set. */
#include "alloc_fail.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t align, size_t n);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long armed_at = 0; /* fail the allocation with this 1-based index; 0: never */
static long count = 0;     /* allocations seen since af_reset */
static int failed = 0;

/* Live blocks: open addressing over pointers (tombstones on removal). */
#define SLOTS (1u << 20)
#define TOMB ((void *)1)
static void *slot[SLOTS];
static long live = 0;

static size_t hash(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & (SLOTS - 1); }

static void track(void *p)
{
    if (!p) return;
    size_t h = hash(p);
    while (slot[h] && slot[h] != TOMB) h = (h + 1) & (SLOTS - 1);
    slot[h] = p;
    live++;
}

static int untrack(void *p)
{
    if (!p) return 0;
    size_t h = hash(p);
    for (size_t probes = 0; slot[h] && probes < SLOTS; probes++, h = (h + 1) & (SLOTS - 1))
        if (slot[h] == p) {
            slot[h] = TOMB;
            live--;
            return 1;
        }
    return 0;
}

/* 1 if this allocation is to fail. Call with the lock held. */
static int next_fails(void)
{
    count++;
    if (armed_at && count == armed_at) {
        failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    pthread_mutex_lock(&lock);
    void *p = next_fails() ? NULL : __real_malloc(n);
    track(p);
    pthread_mutex_unlock(&lock);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    pthread_mutex_lock(&lock);
    void *p = next_fails() ? NULL : __real_calloc(k, n);
    track(p);
    pthread_mutex_unlock(&lock);
    return p;
}

void *__wrap_realloc(void *q, size_t n)
{
    pthread_mutex_lock(&lock);
    void *p;
    if (next_fails()) {
        p = NULL; /* the old block stays valid, as realloc promises */
    } else {
        int ours = untrack(q);
        p = __real_realloc(q, n);
        if (p || !ours)
            track(p);
        else
            track(q); /* a real failure: q is still live */
    }
    pthread_mutex_unlock(&lock);
    return p;
}

void __wrap_free(void *p)
{
    pthread_mutex_lock(&lock);
    untrack(p);
    pthread_mutex_unlock(&lock);
    __real_free(p);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    pthread_mutex_lock(&lock);
    int r;
    if (next_fails()) {
        r = 12; /* ENOMEM */
    } else {
        r = __real_posix_memalign(out, align, n);
        if (!r) track(*out);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

void af_reset(long fail_at)
{
    pthread_mutex_lock(&lock);
    armed_at = fail_at;
    count = 0;
    failed = 0;
    pthread_mutex_unlock(&lock);
}

long af_count(void) { return count; }
int af_failed(void) { return failed; }
long af_live(void) { return live; }
