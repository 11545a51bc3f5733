/* Truncated signatures and log-signatures of batches of piecewise-linear paths (MATH.md 5): the driver. */
#include "signatures/sig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

dw_status dw_sig_check_paths(const double *X, size_t batch, size_t len, size_t d, const char *name)
{
    if (!X) return dw_fail(DW_ERR_INVALID, "%s: NULL paths", name);
    if (batch == 0) return dw_fail(DW_ERR_INVALID, "%s: no paths (batch size 0)", name);
    if (d == 0) return dw_fail(DW_ERR_INVALID, "%s: path dimension d must be at least 1", name);
    if (len < 2)
        return dw_fail(DW_ERR_INVALID, "%s: paths need at least 2 points (got %zu): a path of one point has no "
                                       "increments",
                       name, len);
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < len; i++)
            for (size_t k = 0; k < d; k++) {
                const double v = X[(b * len + i) * d + k];
                if (!isfinite(v))
                    return dw_fail(DW_ERR_INVALID, "%s: path %zu, point %zu, channel %zu is not finite (%g)", name,
                                   b + 1, i + 1, k + 1, v);
            }
    return DW_OK;
}

size_t dw_sig_size(size_t d, int level)
{
    dw_tens t;
    if (dw_tens_init(&t, d, level)) return 0;
    return t.off[level + 1];
}

size_t dw_sig_logsig_size(size_t d, int level)
{
    if (d == 0 || level < 1 || level > DW_SIG_MAX_LEVEL) return 0;
    size_t tot = 0;
    for (int k = 1; k <= level; k++) {
        size_t c = dw_lyndon_count(d, k);
        if (!c || tot > SIZE_MAX / 8 - c) return 0;
        tot += c;
    }
    return tot;
}

/* The signature of one path into S (full size); scratch of d^(n-1). */
static void path_signature(const dw_tens *t, const double *x, size_t len, double *S, double *h, double *scratch)
{
    const size_t d = t->d;
    for (size_t k = 0; k < d; k++) h[k] = x[d + k] - x[k];
    dw_tens_exp_segment(t, h, S);
    for (size_t i = 1; i + 1 < len; i++) {
        for (size_t k = 0; k < d; k++) h[k] = x[(i + 1) * d + k] - x[i * d + k];
        dw_tens_chen_step(t, S, h, scratch);
    }
}

static dw_status run(const double *X, size_t batch, size_t len, size_t d, int level, int threads, double *out,
                     int logsig)
{
    dw_tens t;
    dw_status s = dw_tens_init(&t, d, level);
    if (s) return s;
    s = dw_sig_check_paths(X, batch, len, d, "X");
    if (s) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "%s: NULL output", logsig ? "logsignature" : "signature");
    const size_t sz = t.off[level + 1];
    dw_lyndon ly;
    memset(&ly, 0, sizeof ly);
    const int nt = dw_core_threads(threads);
    /* per thread: S (or the log's 3 tensors), scratch d^(n-1), increment d */
    const double per = (double)sz * (logsig ? 4.0 : 0.0) + (double)t.pw[level] / (double)d + (double)d;
    s = dw_core_check_alloc(per * 8.0 * nt, logsig ? "the log-signature work space" : "the signature work space");
    if (s) return s;
    if (logsig && (s = dw_lyndon_init(&ly, &t))) return s;
    const size_t osz = logsig ? ly.count : sz;
    int failed = 0;
#pragma omp parallel num_threads(nt) if ((double)batch * (double)len * (double)sz > 2e5)
    {
        const size_t wsz = (logsig ? 4 * sz : 0) + t.pw[level] / d + d;
        double *w = malloc(wsz * sizeof(double));
        if (!w) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        if (w && !failed) {
            double *scratch = w, *h = w + t.pw[level] / d, *S = h + d, *L = S + sz, *work = L + sz;
#pragma omp for schedule(dynamic, 4)
            for (size_t b = 0; b < batch; b++) {
                if (!logsig) {
                    path_signature(&t, X + b * len * d, len, out + b * sz, h, scratch);
                } else {
                    path_signature(&t, X + b * len * d, len, S, h, scratch);
                    dw_tens_log(&t, S, L, work);
                    dw_lyndon_project(&ly, &t, L, out + b * osz);
                }
            }
        }
        free(w);
    }
    dw_lyndon_clear(&ly);
    if (failed) return dw_fail(DW_ERR_NOMEM, "signature work space: out of memory");
    for (size_t i = 0; i < batch * osz; i++)
        if (!isfinite(out[i]))
            return dw_fail(DW_ERR_RANGE, "%s of path %zu overflows (entry %zu is not finite); rescale the paths",
                           logsig ? "log-signature" : "signature", i / osz + 1, i % osz + 1);
    return DW_OK;
}

dw_status dw_sig_signature(const double *X, size_t batch, size_t len, size_t d, int level, int threads, double *out)
{
    return run(X, batch, len, d, level, threads, out, 0);
}

dw_status dw_sig_logsignature(const double *X, size_t batch, size_t len, size_t d, int level, int threads,
                              double *out)
{
    return run(X, batch, len, d, level, threads, out, 1);
}

dw_status dw_sig_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d)
{
    if (!path || !data || !batch || !len || !d) return dw_fail(DW_ERR_INVALID, "read paths: NULL argument");
    *data = NULL;
    *batch = *len = *d = 0;
    dw_matrix m;
    dw_matrix_init(&m);
    const size_t pl = strlen(path);
    int ndim = 2;
    size_t dims[3] = {0, 0, 0};
    dw_status s;
    if (pl >= 4 && !strcmp(path + pl - 4, ".npy")) {
        s = dw_io_read_npy_nd(&m, path, 3, &ndim, dims);
    } else {
        s = dw_io_read_matrix(&m, path);
        dims[0] = m.rows;
        dims[1] = m.cols;
    }
    if (s) return s;
    if (ndim == 3) {
        *batch = dims[0];
        *len = dims[1];
        *d = dims[2];
    } else if (ndim == 2) {
        *batch = 1;
        *len = dims[0];
        *d = dims[1];
    } else {
        dw_matrix_clear(&m);
        return dw_fail(DW_ERR_INVALID, "%s: expected paths of shape (batch, len, d) or one path (len, d), got a %d-D "
                                       "array",
                       path, ndim);
    }
    if (*batch == 0 || *len == 0 || *d == 0) {
        dw_matrix_clear(&m);
        return dw_fail(DW_ERR_INVALID, "%s: empty paths (shape %zu x %zu x %zu)", path, *batch, *len, *d);
    }
    *data = m.data;
    return DW_OK;
}
