/* Status codes and the per-thread error message (SQLite style: a code plus a message naming the input). */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char dw_message[1024];

const char *dw_version(void) { return DW_VERSION_STRING; }

const char *dw_status_name(dw_status s)
{
    switch (s) {
    case DW_OK: return "ok";
    case DW_ERR_INVALID: return "invalid argument";
    case DW_ERR_IO: return "i/o error";
    case DW_ERR_FORMAT: return "malformed file";
    case DW_ERR_NOMEM: return "out of memory";
    case DW_ERR_RANGE: return "result out of range";
    case DW_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *dw_error_message(void) { return dw_message; }

void dw_error_clear(void) { dw_message[0] = '\0'; }

dw_status dw_fail(dw_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dw_message, sizeof dw_message, fmt, ap);
    va_end(ap);
    return s;
}
