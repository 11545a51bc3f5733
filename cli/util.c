#include "cli.h"

#include "core/internal.h"
#include "core/sbuf.h"
#include "sample/sample.h"
#include "spectrum/spectrum.h"
#include "predict/predict.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

cli_dist cli_distributed = {NULL, NULL, true};

int cli_sample_opts_dist(dw_sample_opts *o)
{
    if (cli_distributed.sample_split && dw_sample_opts_set_split(o, cli_distributed.sample_split))
        return cli_status(DW_ERR_INVALID), 0;
    return 1;
}

int cli_spectrum_opts_dist(dw_spectrum_sample_opts *o)
{
    if (cli_distributed.sample_split && dw_spectrum_sample_opts_set_split(o, cli_distributed.sample_split))
        return cli_status(DW_ERR_INVALID), 0;
    return 1;
}

int cli_predict_opts_dist(dw_predict_opts *o)
{
    if (cli_distributed.sample_split && dw_predict_opts_set_split(o, cli_distributed.sample_split))
        return cli_status(DW_ERR_INVALID), 0;
    return 1;
}

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
    if (v < lo) return cli_error("%s: must be >= %ld (got %ld)", opt, lo, v), 0;
    if (v > hi) return cli_error("%s: must be <= %ld (got %ld)", opt, hi, v), 0;
    *out = v;
    return 1;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_json_string(FILE *f, const char *s) { dw_json_fput_string(f, s); }

int cli_check_writable(const char *opt, const char *path)
{
    if (path && dw_io_check_writable(path)) return cli_error("%s: %s", opt, dw_error_message()), 0;
    return 1;
}

int cli_act_init(dw_act **act, const char *spec)
{
    if (dw_act_init(act, spec)) return cli_error("--act: %s", dw_error_message()), 0;
    return 1;
}

int cli_law_parse(dw_law *law, const char *spec)
{
    if (dw_law_parse(law, spec)) return cli_error("--law: %s", dw_error_message()), 0;
    return 1;
}

int cli_read_points(const char *path, dw_matrix *X)
{
    dw_status s = dw_io_read_matrix(X, path);
    if (s) return cli_status(s), 0;
    if (X->rows == 0 || X->cols == 0)
        return cli_error("%s: no input %s (the array is %zu x %zu)", path,
                         X->rows == 0 ? "points (0 rows)" : "features (0 columns)", X->rows, X->cols),
               0;
    return 1;
}

int cli_read_points_nd(const char *path, dw_matrix *X, int *ndim, size_t *dims)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strcasecmp(dot, ".npy") != 0) { /* .csv (or an unsupported extension: read_matrix says so) */
        if (!cli_read_points(path, X)) return 0;
        *ndim = 2;
        dims[0] = X->rows;
        dims[1] = X->cols;
        return 1;
    }
    dw_status s = dw_io_read_npy_nd(X, path, CLI_POINTS_NDIM_MAX, ndim, dims);
    if (s) return cli_status(s), 0;
    if (*ndim == 0) return cli_error("%s: a scalar array holds no input points", path), 0;
    if (*ndim == 1) { /* (k,): k points of one feature, as dw_io_read_matrix */
        *ndim = 2;
        dims[1] = 1;
    }
    size_t count = X->rows * X->cols;
    X->rows = dims[0];
    X->cols = dims[0] ? count / dims[0] : 0;
    for (int k = 1; k < *ndim; k++)
        if (dims[k] == 0) X->cols = 0;
    if (X->rows == 0 || X->cols == 0)
        return cli_error("%s: no input %s (shape %s)", path,
                         X->rows == 0 ? "points (0 rows)" : "features (an axis of size 0)", cli_shape_text(*ndim, dims)),
               0;
    return 1;
}

const char *cli_shape_text(int ndim, const size_t *dims)
{
    static char buf[160];
    size_t o = 0;
    buf[o++] = '(';
    for (int k = 0; k < ndim && o + 24 < sizeof buf; k++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%zu", k ? ", " : "", dims[k]);
    snprintf(buf + o, sizeof buf - o, ")");
    return buf;
}

int cli_read_second_points(const char *ypath, const char *xpath, const dw_matrix *X, dw_matrix *Y)
{
    dw_status s = dw_io_read_matrix(Y, ypath);
    if (s) return cli_status(s), 0;
    if (Y->cols != X->cols)
        return cli_error("%s has %zu columns but %s has %zu: X and Y must have the same dimension", ypath, Y->cols,
                         xpath, X->cols),
               0;
    if (Y->rows == 0) return cli_error("%s: no input points (0 rows)", ypath), 0;
    return 1;
}

int cli_outputs_gram(const char *cmd, const char *outputs, const char *gram, const char *out)
{
    if (!outputs && !gram)
        return cli_usage_error(cmd, "nothing to do: give --outputs FILE and/or --gram KIND --out FILE");
    if (!gram && out) return cli_usage_error(cmd, "--out needs --gram nngp|ntk");
    if (gram && !out) return cli_usage_error(cmd, "--gram needs --out FILE");
    if (outputs && out && !strcmp(outputs, out)) return cli_error("--outputs and --out name the same file '%s'", out);
    return -1;
}

int cli_write_outputs_gram(const char *outputs, const double *F, int fdim, const size_t *fshape, const char *out,
                           const double *G, int gdim, const size_t *gshape)
{
    dw_status s;
    if (!cli_distributed.writer) return 0; /* deepwick-mpi: rank 0 writes */
    if (outputs && (s = dw_io_write_npy(outputs, F, fdim, fshape))) return cli_status(s);
    if (out && (s = dw_io_write_npy(out, G, gdim, gshape))) {
        if (outputs) remove(outputs); /* no partial output */
        return cli_status(s);
    }
    return 0;
}
