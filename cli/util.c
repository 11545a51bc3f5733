#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see `deepwick %s --help`)\n", cmd);
    va_end(ap);
    return 2;
}

int cli_status(dw_status s) { return s == DW_OK ? 0 : cli_error("%s", dw_error_message()); }

int cli_parse_list(const char *opt, const char *text, double **out, size_t *count)
{
    size_t n = 1;
    for (const char *p = text; *p; p++) n += *p == ',';
    double *v = malloc(n * sizeof *v);
    if (!v) return cli_error("%s: out of memory", opt), 0;
    const char *p = text;
    for (size_t k = 0; k < n; k++) {
        char *end;
        errno = 0;
        v[k] = strtod(p, &end);
        while (*end == ' ') end++;
        if (end == p || (*end != ',' && *end != '\0') || errno == ERANGE || !isfinite(v[k])) {
            size_t len = strcspn(p, ",");
            cli_error("%s: value %zu ('%.*s') is not a finite number", opt, k + 1, (int)len, p);
            free(v);
            return 0;
        }
        p = end + 1;
    }
    *out = v;
    *count = n;
    return 1;
}

int cli_parse_int(const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) return cli_error("%s: '%s' is not an integer", opt, text), 0;
    if (v < lo || v > hi) return cli_error("%s: %ld is out of range [%ld, %ld]", opt, v, lo, hi), 0;
    *out = v;
    return 1;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
