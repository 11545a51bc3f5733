/* Helpers shared by the signature commands (signature, logsignature, sigkernel, nsk, cresnet, lcde, lcde-kernel). */
#include "cli.h"

#include "opts.h"

#include <stdlib.h>
#include <string.h>

int cli_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d)
{
    dw_status s = dw_sig_read_paths(path, data, batch, len, d);
    if (s) return cli_status(s), 0;
    return 1;
}

int cli_channels(const char *opt, const cli_reals *r, size_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!r->v) return 1;
    size_t *c = malloc(r->n * sizeof *c);
    if (!c) return cli_error("%s: out of memory", opt), 0;
    for (size_t k = 0; k < r->n; k++) c[k] = (size_t)r->v[k];
    *out = c;
    *count = r->n;
    return 1;
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
