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

#endif
