/* Memory budget, checked allocation and thread counts. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

double dw_core_mem_available(void)
{
    /* MemAvailable counts reclaimable caches, unlike sysconf's free pages. */
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned long long kb;
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return (double)kb * 1024.0;
            }
        }
        fclose(f);
    }
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && size > 0) return (double)pages * (double)size;
    return 1e18; /* unknown: let malloc decide */
}

void dw_core_format_bytes(double b, char *buf, size_t len)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (b >= 1024.0 && u < 6) {
        b /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", b, unit[u]);
}

dw_status dw_core_check_alloc(double bytes, const char *what)
{
    double avail = dw_core_mem_available();
    if (!(bytes <= 0.9 * avail) || bytes > (double)SIZE_MAX / 2) {
        char need[32], have[32];
        dw_core_format_bytes(bytes, need, sizeof need);
        dw_core_format_bytes(avail, have, sizeof have);
        return dw_fail(DW_ERR_NOMEM, "%s needs %s but only %s of memory is available", what, need, have);
    }
    return DW_OK;
}

void *dw_alloc(size_t count, size_t size, const char *what)
{
    if (size && count > SIZE_MAX / size) {
        dw_fail(DW_ERR_NOMEM, "%s: size overflows (%zu x %zu bytes)", what, count, size);
        return NULL;
    }
    size_t bytes = count * size;
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        char b[32];
        dw_core_format_bytes((double)bytes, b, sizeof b);
        dw_fail(DW_ERR_NOMEM, "%s: cannot allocate %s", what, b);
    }
    return p;
}

void *dw_calloc(size_t count, size_t size, const char *what)
{
    void *p = dw_alloc(count, size, what);
    if (p) memset(p, 0, count * size);
    return p;
}

dw_status dw_core_check_points(const char *name, const double *X, size_t n, size_t d)
{
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return dw_fail(DW_ERR_INVALID, "%s: row %zu, column %zu is not finite (%g)", name, i / d + 1, i % d + 1,
                           X[i]);
    return DW_OK;
}

dw_status dw_core_check_threads(int threads)
{
    if (threads >= 0 && threads <= DW_THREADS_MAX) return DW_OK;
    return dw_fail(DW_ERR_INVALID, "threads: expected 0 (all cores, the OpenMP default) to %d, got %d", DW_THREADS_MAX,
                   threads);
}

int dw_core_threads(int threads)
{
#ifdef _OPENMP
    if (threads > 0) return threads;
    return omp_get_max_threads();
#else
    (void)threads;
    return 1;
#endif
}

void *dw_core_alloc_large(size_t bytes, const char *what)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return dw_alloc(bytes, 1, what); /* huge pages would only add a 2 MiB fault and zeroing */
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = NULL;
    if (rounded < bytes || posix_memalign(&p, huge, rounded ? rounded : huge) != 0) {
        char b[32];
        dw_core_format_bytes((double)bytes, b, sizeof b);
        dw_fail(DW_ERR_NOMEM, "%s: cannot allocate %s", what, b);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}

void dw_core_free_large(void *p) { free(p); }
