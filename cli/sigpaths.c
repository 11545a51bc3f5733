/* Helpers shared by the signature commands (signature, logsignature, sigkernel, nsk, cresnet, lcde, lcde-kernel). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d)
{
    dw_status s = dw_sig_read_paths(path, data, batch, len, d);
    if (s) return cli_status(s), 0;
    return 1;
}

int cli_parse_double(const char *opt, const char *text, double *out)
{
    double *v = NULL;
    size_t n = 0;
    if (!cli_parse_list(opt, text, &v, &n)) return 0;
    if (n != 1) {
        free(v);
        return cli_error("%s: expected one number, got %zu", opt, n), 0;
    }
    *out = v[0];
    free(v);
    return 1;
}

int cli_parse_channels(const char *opt, const char *text, size_t **out, size_t *count)
{
    double *v = NULL;
    size_t n = 0;
    if (!cli_parse_list(opt, text, &v, &n)) return 0;
    size_t *c = malloc(n * sizeof *c);
    if (!c) {
        free(v);
        return cli_error("%s: out of memory", opt), 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (v[k] < 0 || v[k] != floor(v[k]) || v[k] > 1e15) {
            cli_error("%s: value %zu (%g) is not a channel index (an integer >= 0)", opt, k + 1, v[k]);
            free(v);
            free(c);
            return 0;
        }
        c[k] = (size_t)v[k];
    }
    free(v);
    *out = c;
    *count = n;
    return 1;
}

int cli_check_out_npy(const char *out)
{
    return cli_npy_path("--out", out) && cli_check_writable("--out", out);
}

int cli_read_pair(const char *xpath, const char *ypath, double **X, size_t *n, size_t *lx, double **Y, size_t *m,
                  size_t *ly, size_t *d)
{
    size_t dy = 0;
    if (!cli_read_paths(xpath, X, n, lx, d)) return 0;
    if (!ypath) return 1;
    if (!cli_read_paths(ypath, Y, m, ly, &dy)) return 0;
    if (dy != *d)
        return cli_error("%s has paths of d = %zu channels but %s has d = %zu: X and Y must have the same dimension",
                         ypath, dy, xpath, *d),
               0;
    return 1;
}
