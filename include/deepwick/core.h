/** deepwick/core.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/core/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_CORE_H
#define DEEPWICK_CORE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version: the one place it is written. CMakeLists.txt and pyproject.toml read these three lines. */
#define DW_VERSION_MAJOR 0
#define DW_VERSION_MINOR 1
#define DW_VERSION_PATCH 0
#define DW_VERSION_STR_(x) #x
#define DW_VERSION_XSTR_(x) DW_VERSION_STR_(x)
#define DW_VERSION_STRING                                                                                          \
    DW_VERSION_XSTR_(DW_VERSION_MAJOR) "." DW_VERSION_XSTR_(DW_VERSION_MINOR) "." DW_VERSION_XSTR_(DW_VERSION_PATCH)

/** The library is built with hidden visibility; only these declarations are exported. */
#if defined(__GNUC__)
#define DW_API __attribute__((visibility("default")))
#else
#define DW_API
#endif

DW_API const char *dw_version(void);

/** ------------------------------------------------------------------------------------------------------------
 * core: status codes, messages, resources
 * ---------------------------------------------------------------------------------------------------------- */
typedef enum dw_status {
    DW_OK = 0,
    DW_ERR_INVALID = 1,  /* an argument or option value is invalid (names the argument) */
    DW_ERR_IO = 2,       /* a file could not be opened, read, written or renamed (names the file) */
    DW_ERR_FORMAT = 3,   /* a file's contents are malformed (names the file, and row/column where known) */
    DW_ERR_NOMEM = 4,    /* an allocation failed, or a result would not fit in memory (names the size) */
    DW_ERR_RANGE = 5,    /* a result overflowed or is not finite (names where) */
    DW_ERR_INTERNAL = 6  /* a bug: please report it */
} dw_status;

/** Short constant name of a status ("invalid argument", ...). */
DW_API const char *dw_status_name(dw_status s);
/** The message left by the last failing call on this thread ("" if none). Valid until the next failing call. */
DW_API const char *dw_error_message(void);
DW_API void dw_error_clear(void);

/** Bytes of memory that may still be allocated (MemAvailable, or physical memory if unknown). */
DW_API double dw_core_mem_available(void);
/** DW_ERR_NOMEM with a message naming `what` and its size if `bytes` exceeds 90% of the available memory. */
DW_API dw_status dw_core_check_alloc(double bytes, const char *what);
/** Allocate a large output array (from 4 MiB: 2 MiB aligned, transparent huge pages requested: the first touch of
 * fresh pages otherwise costs more than computing a Gram matrix; below: plain malloc, where a 2 MiB page would
 * only add its fault and zeroing); NULL with DW_ERR_NOMEM's message on failure. Free with dw_core_free_large. */
DW_API void *dw_core_alloc_large(size_t bytes, const char *what);
DW_API void dw_core_free_large(void *p);
/** Number of threads a parallel region uses when asked for `threads` (0 = all cores, the OpenMP default).
 * The `threads` option means the same in every module's options object (dw_X_opts_set_threads): 0, the default,
 * all cores (the OpenMP default, OMP_NUM_THREADS where set); 1 to DW_THREADS_MAX, that many; anything else is
 * DW_ERR_INVALID. Results never depend on it. */
DW_API int dw_core_threads(int threads);
/** The most threads an options object takes. */
#define DW_THREADS_MAX 4096

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_CORE_H */
