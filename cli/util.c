#include "cli.h"

#include "core/sbuf.h"

#include <errno.h>
#include <getopt.h>
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

void cli_common_init(cli_common *co, const char *cmd, const char *help)
{
    memset(co, 0, sizeof *co);
    co->cmd = cmd;
    co->help = help;
    opterr = 0;
    optind = 1;
}

int cli_common_opt(cli_common *co, int c)
{
    switch (c) {
    case 'x': co->x = optarg; return CLI_OPT_DONE;
    case 'y': co->y = optarg; return CLI_OPT_DONE;
    case 'o': co->out = optarg; return CLI_OPT_DONE;
    case 'a': co->act = optarg; return CLI_OPT_DONE;
    case 't': return cli_parse_int("--threads", optarg, 1, 4096, &co->threads) ? CLI_OPT_DONE : 1;
    case 'j': co->json = 1; return CLI_OPT_DONE;
    case 'h': fputs(co->help, stdout); return 0;
    default: return CLI_OPT_OWN;
    }
}

int cli_unknown_option(const cli_common *co, char **argv)
{
    return cli_usage_error(co->cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
}

int cli_common_end(const cli_common *co, int argc, char **argv, int need_x)
{
    if (optind < argc) return cli_usage_error(co->cmd, "unexpected argument '%s'", argv[optind]);
    if (need_x && !co->x) return cli_usage_error(co->cmd, "--x is required");
    return -1;
}

int cli_net_opt(int c, long *width, long *samples, long *seed)
{
    switch (c) {
    case 'N': return cli_parse_int("--width", optarg, 1, 1000000, width) ? CLI_OPT_DONE : 1;
    case 'S': return cli_parse_int("--samples", optarg, 1, 1L << 40, samples) ? CLI_OPT_DONE : 1;
    case 'r': return cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, seed) ? CLI_OPT_DONE : 1;
    default: return CLI_OPT_OWN;
    }
}

int cli_check_nonneg(size_t k, const double *v, const char *const *opts)
{
    for (size_t i = 0; i < k; i++)
        if (v[i] < 0) return cli_error("%s: must be non-negative (got %g)", opts[i], v[i]), 0;
    return 1;
}

int cli_npy_path(const char *opt, const char *path)
{
    size_t len = strlen(path);
    if (len < 4 || strcmp(path + len - 4, ".npy")) return cli_error("%s: '%s' must end in .npy", opt, path), 0;
    return 1;
}

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

void cli_json_path(FILE *f, const char *path)
{
    if (path)
        cli_json_string(f, path);
    else
        fputs("null", f);
}

int cli_outputs_gram(const char *cmd, const char *outputs, const char *gram, const char *out)
{
    if (!outputs && !gram) return cli_usage_error(cmd, "nothing to do: give --outputs FILE and/or --gram KIND --out FILE");
    if (!gram && out) return cli_usage_error(cmd, "--out needs --gram nngp|ntk");
    if (gram && !out) return cli_usage_error(cmd, "--gram needs --out FILE");
    if (outputs && out && !strcmp(outputs, out)) return cli_error("--outputs and --out name the same file '%s'", out);
    return -1;
}

int cli_write_outputs_gram(const char *outputs, const double *F, int fdim, const size_t *fshape, const char *out,
                           const double *G, int gdim, const size_t *gshape)
{
    dw_status s;
    if (outputs && (s = dw_io_write_npy(outputs, F, fdim, fshape))) return cli_status(s);
    if (out && (s = dw_io_write_npy(out, G, gdim, gshape))) {
        if (outputs) remove(outputs); /* no partial output */
        return cli_status(s);
    }
    return 0;
}
