/* Internal helpers shared by the library's modules (not installed). */
#ifndef DW_INTERNAL_H
#define DW_INTERNAL_H

#include "deepwick.h"

#include <stddef.h>

#if defined(__GNUC__)
#define DW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DW_PRINTF(a, b)
#endif

/* Record a message for dw_error_message() and return `s`, so that errors read `return dw_fail(...)`. */
dw_status dw_fail(dw_status s, const char *fmt, ...) DW_PRINTF(2, 3);

/* Allocation that records DW_ERR_NOMEM with `what` and the size on failure (returns NULL then).
 * Sizes are checked for overflow of count * size. */
void *dw_alloc(size_t count, size_t size, const char *what);
void *dw_calloc(size_t count, size_t size, const char *what);

/* The one check of a `threads` option, every module alike: 0 (all cores, the OpenMP default, what an options object
 * starts with) to DW_THREADS_MAX, with one wording. */
dw_status dw_core_check_threads(int threads);
/* The one check of input points: DW_OK if the n x d array is finite, else DW_ERR_INVALID naming NAME, the row and
 * the column. */
dw_status dw_core_check_points(const char *name, const double *X, size_t n, size_t d);
/* A byte count for messages, "1.5 GiB" (B, KiB, ... EiB, one decimal). */
void dw_core_format_bytes(double bytes, char *buf, size_t len);

/* io helpers shared by src/io (io/files.c). */
dw_status dw_io_atomic_write(const char *path, const void *head, size_t head_len, const void *body, size_t body_len);
dw_status dw_io_slurp(const char *path, unsigned char **buf, size_t *len);
/* Read a .npy of at most max_ndim (<= 32) dimensions as a (d_0 ... d_{n-2}) x d_{n-1} matrix; ndim and dims
 * (max_ndim entries) receive its shape. Same checks and messages as dw_io_read_npy. */
dw_status dw_io_read_npy_nd(dw_matrix *m, const char *path, int max_ndim, int *ndim, size_t *dims);
/* The same from a buffer (`name` in the messages). */
dw_status dw_io_parse_npy_nd(dw_matrix *m, const unsigned char *buf, size_t len, const char *name, int max_ndim,
                             int *ndim, size_t *dims);
/* The header of a float64 little-endian C-order .npy of shape[0..ndim) (ndim 1..8) into head
 * (DW_NPY_HEADER_MAX bytes): *len bytes, a multiple of 64; *count: the number of elements. */
#define DW_NPY_HEADER_MAX 512
dw_status dw_io_npy_header(const char *path, int ndim, const size_t *shape, char *head, size_t *len, size_t *count);
/* A printable, bounded copy of s[0..n) for messages (\xNN escapes, "..." when cut); cap >= 8. */
void dw_io_excerpt(char *out, size_t cap, const char *s, size_t n);

#endif
