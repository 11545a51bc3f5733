/* Truncated signatures and log-signatures of batches of piecewise-linear paths (theory.md 5): the driver, with the
 * path utilities every route of the module shares (checks, increments, reading). */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The shape of the whole batch, and the entries of paths first .. first + count - 1 (numbered in the whole batch). */
static dw_status check_paths(const double *X, size_t batch, size_t first, size_t count, size_t len, size_t d,
                             const char *name, size_t min_len)
{
    if (!X) return dw_fail(DW_ERR_INVALID, "%s: NULL paths", name);
    if (batch == 0) return dw_fail(DW_ERR_INVALID, "%s: no paths (batch size 0)", name);
    if (d == 0) return dw_fail(DW_ERR_INVALID, "%s: path dimension d must be at least 1", name);
    if (len < 1) return dw_fail(DW_ERR_INVALID, "%s: paths need at least 1 point (got 0)", name);
    if (len < min_len)
        return dw_fail(DW_ERR_INVALID, "%s: paths need at least 2 points (got %zu): a path of one point has no "
                                       "increments",
                       name, len);
    for (size_t b = first; b < first + count; b++)
        for (size_t i = 0; i < len; i++)
            for (size_t k = 0; k < d; k++) {
                const double v = X[(b * len + i) * d + k];
                if (!isfinite(v))
                    return dw_fail(DW_ERR_INVALID, "%s: path %zu, point %zu, channel %zu is not finite (%g)", name,
                                   b + 1, i + 1, k + 1, v);
            }
    return DW_OK;
}

dw_status dw_sig_check_paths(const double *X, size_t batch, size_t len, size_t d, const char *name)
{
    return check_paths(X, batch, 0, batch, len, d, name, 2);
}

dw_status dw_sig_check_points(const double *X, size_t batch, size_t len, size_t d, const char *name)
{
    return check_paths(X, batch, 0, batch, len, d, name, 1);
}

dw_status dw_sig_check_points_range(const double *X, size_t batch, size_t first, size_t count, size_t len, size_t d,
                                    const char *name)
{
    return check_paths(X, batch, first, count, len, d, name, 1);
}

double *dw_sig_increments(const double *X, size_t n, size_t len, size_t d)
{
    double *dX = dw_alloc(n * (len - 1), d * sizeof(double), "path increments");
    if (!dX) return NULL;
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i + 1 < len; i++)
            for (size_t k = 0; k < d; k++)
                dX[(b * (len - 1) + i) * d + k] = X[(b * len + i + 1) * d + k] - X[(b * len + i) * d + k];
    return dX;
}

dw_status dw_sig_size(size_t d, int level, size_t *size)
{
    if (!size) return dw_fail(DW_ERR_INVALID, "dw_sig_size: NULL output");
    *size = 0;
    if (level == 0 && d > 0) return DW_OK; /* level 0 alone: nothing is stored */
    dw_tens t;
    dw_status s = dw_tens_init(&t, d, level);
    if (!s) *size = t.off[level + 1];
    return s;
}

dw_status dw_sig_logsig_size(size_t d, int level, size_t *size)
{
    if (!size) return dw_fail(DW_ERR_INVALID, "dw_sig_logsig_size: NULL output");
    *size = 0;
    if (d == 0) return dw_fail(DW_ERR_INVALID, "path dimension d must be at least 1");
    if (level < 0 || level > DW_SIG_MAX_LEVEL)
        return dw_fail(DW_ERR_INVALID, "level: must be between 0 and %d (got %d)", DW_SIG_MAX_LEVEL, level);
    size_t tot = 0;
    for (int k = 1; k <= level; k++) {
        size_t c = dw_lyndon_count(d, k);
        if ((!c && !(d == 1 && k > 1)) || tot > SIZE_MAX / 8 - c) /* one letter: no Lyndon words beyond length 1 */
            return dw_fail(DW_ERR_NOMEM, "level %d: the log-signature of a %zu-dimensional path has more than 2^64 / 8 "
                                         "entries (Lyndon words of length %d alone overflow)",
                           level, d, k);
        tot += c;
    }
    *size = tot;
    return DW_OK;
}

dw_status dw_sig_basis_size(dw_sig_basis basis, size_t d, int level, size_t *size)
{
    if (basis != DW_SIG_LYNDON && basis != DW_SIG_HALL && basis != DW_SIG_EXPANDED) {
        if (size) *size = 0;
        return dw_fail(DW_ERR_INVALID, "basis: unknown basis %d", (int)basis);
    }
    return basis == DW_SIG_EXPANDED ? dw_sig_size(d, level, size) : dw_sig_logsig_size(d, level, size);
}

/* Chen's step for LANES paths at once, entries interleaved (entry e of lane l at e * LANES + l): every lane does
 * the same operations, so a path's signature does not depend on its lane or group, and the lane loops are SIMD.
 * The Horner form of dw_tens_chen_step (tensor.c). D: the dimension as a compile-time constant (0: t->d). */
#define LANES DW_SIG_LANES
static inline void chen_lanes_body(const dw_tens *t, double *restrict S, const double *restrict h,
                                   double *restrict B, const size_t D)
{
    const size_t d = D ? D : t->d;
    for (int k = t->n; k >= 2; k--) {
        const double ik = 1.0 / k;
        for (size_t a = 0; a < d * LANES; a++) B[a] = h[a] * ik;
        size_t sz = d;
        for (int i = 1; i <= k - 2; i++) {
            const double *Si = S + t->off[i] * LANES;
            const double c = 1.0 / (k - i);
            for (size_t w = sz; w-- > 0;) {
                double v[LANES];
                for (int l = 0; l < LANES; l++) v[l] = (B[w * LANES + l] + Si[w * LANES + l]) * c;
                double *o = B + w * d * LANES;
                for (size_t a = 0; a < d; a++)
                    for (int l = 0; l < LANES; l++) o[a * LANES + l] = v[l] * h[a * LANES + l];
            }
            sz *= d;
        }
        const double *Sp = S + t->off[k - 1] * LANES;
        double *Sk = S + t->off[k] * LANES;
        for (size_t w = 0; w < sz; w++) {
            double v[LANES];
            for (int l = 0; l < LANES; l++) v[l] = B[w * LANES + l] + Sp[w * LANES + l];
            double *o = Sk + w * d * LANES;
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++) o[a * LANES + l] += v[l] * h[a * LANES + l];
        }
    }
    for (size_t a = 0; a < d * LANES; a++) S[a] += h[a];
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void dw_sig_chen_lanes(const dw_tens *t, double *S, const double *h, double *B)
{
    switch (t->d) {
    case 1: chen_lanes_body(t, S, h, B, 1); break;
    case 2: chen_lanes_body(t, S, h, B, 2); break;
    case 3: chen_lanes_body(t, S, h, B, 3); break;
    case 4: chen_lanes_body(t, S, h, B, 4); break;
    case 5: chen_lanes_body(t, S, h, B, 5); break;
    case 6: chen_lanes_body(t, S, h, B, 6); break;
    default: chen_lanes_body(t, S, h, B, 0); break;
    }
}

/* Signatures of paths b0 .. b0 + LANES - 1 (lanes past the batch repeat path b0) into SL (interleaved); S starts at 0
 * (the signature of a constant path), so the first step gives exp(dx_1). */
static void group_signature(const dw_tens *t, const double *X, size_t batch, size_t len, size_t b0, double *SL,
                            double *h, double *B)
{
    const size_t d = t->d;
    memset(SL, 0, t->off[t->n + 1] * LANES * sizeof(double));
    for (size_t i = 0; i + 1 < len; i++) {
        for (int l = 0; l < LANES; l++) {
            const size_t b = b0 + (size_t)l < batch ? b0 + (size_t)l : b0;
            const double *x = X + (b * len + i) * d;
            for (size_t k = 0; k < d; k++) h[k * LANES + (size_t)l] = x[d + k] - x[k];
        }
        dw_sig_chen_lanes(t, SL, h, B);
    }
}

/* Groups of LANES paths, as dw_par_for items; each worker has its own work space. */
typedef struct sig_job {
    const dw_tens *t;
    const dw_liebasis *lb;
    const double *X;
    size_t batch, len;
    double *out;
    double *ws; /* per worker: wsz doubles */
    size_t wsz, sz, osz;
    int logsig;
} sig_job;

static dw_status sig_group(void *ctx, size_t g, int tid)
{
    const sig_job *j = ctx;
    const dw_tens *t = j->t;
    const size_t sz = j->sz, d = t->d;
    double *SL = j->ws + (size_t)tid * j->wsz, *B = SL + sz * LANES, *h = B + t->pw[t->n] / d * LANES;
    double *S = h + d * LANES, *L = S + sz, *work = L + sz;
    const size_t b0 = g * LANES;
    group_signature(t, j->X, j->batch, j->len, b0, SL, h, B);
    for (size_t l = 0; l < LANES && b0 + l < j->batch; l++) {
        double *dst = j->logsig ? S : j->out + (b0 + l) * sz;
        for (size_t e = 0; e < sz; e++) dst[e] = SL[e * LANES + l];
        if (j->logsig) {
            dw_tens_log(t, S, L, work);
            dw_liebasis_project(j->lb, t, L, j->out + (b0 + l) * j->osz, work);
        }
    }
    return DW_OK;
}

static dw_status run(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d, double *out,
                     int logsig)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "%s: NULL options", logsig ? "logsignature" : "signature");
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    const int level = o->level, threads = o->threads;
    dw_status s = dw_sig_check_points(X, batch, len, d, "X");
    if (s) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "%s: NULL output", logsig ? "logsignature" : "signature");
    if (dw_sig_transform_active(&o->tr)) { /* the same computation on the transformed paths */
        size_t len2, d2;
        dw_sig_transform_shape(&o->tr, len, d, &len2, &d2);
        double *T = dw_sig_transform_apply(&o->tr, X, batch, len, d);
        if (!T) return DW_ERR_NOMEM;
        dw_sig_opts o2 = *o;
        o2.tr.basepoint = o2.tr.lead_lag = o2.tr.time_aug = false;
        s = run(&o2, T, batch, len2, d2, out, logsig);
        free(T);
        return s;
    }
    if (level == 0) return DW_OK; /* no entries to write */
    dw_tens t;
    if ((s = dw_tens_init(&t, d, level))) return s;
    const size_t sz = t.off[level + 1];
    dw_liebasis lb;
    memset(&lb, 0, sizeof lb);
    const int nt = dw_core_threads(threads);
    /* per worker: the interleaved signatures, the Horner scratch (d^(n-1) lanes), increments, and for the log its
     * three tensors */
    const size_t wsz = (sz + t.pw[level] / d + d) * LANES + (logsig ? 4 * sz : 0);
    s = dw_core_check_alloc((double)wsz * 8.0 * nt, logsig ? "the log-signature work space" : "the signature work space");
    if (s) return s;
    if (logsig && (s = dw_liebasis_init(&lb, &t, o->basis))) return s;
    const size_t osz = logsig ? lb.count : sz, groups = (batch + LANES - 1) / LANES;
    /* per worker: the work space (one block) */
    const int thr = (double)batch * (double)len * (double)sz > 2e5 ? nt : 1;
    double *ws = malloc((size_t)dw_par_workers(groups, thr) * wsz * sizeof(double));
    const int failed = !ws;
    if (ws) {
        sig_job job = {&t, &lb, X, batch, len, out, ws, wsz, sz, osz, logsig};
        (void)dw_par_for(groups, thr, sig_group, &job);
    }
    dw_liebasis_clear(&lb);
    free(ws);
    if (failed) return dw_fail(DW_ERR_NOMEM, "signature work space: out of memory");
    for (size_t i = 0; i < batch * osz; i++)
        if (!isfinite(out[i]))
            return dw_fail(DW_ERR_RANGE, "%s of path %zu overflows (entry %zu is not finite); rescale the paths",
                           logsig ? "log-signature" : "signature", i / osz + 1, i % osz + 1);
    return DW_OK;
}

dw_status dw_sig_signature(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d, double *out)
{
    return run(o, X, batch, len, d, out, 0);
}

dw_status dw_sig_logsignature(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d, double *out)
{
    return run(o, X, batch, len, d, out, 1);
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
        s = dw_fail(DW_ERR_INVALID,
                    "%s: expected paths of shape (batch, len, d) or one path (len, d), got a %d-D array", path, ndim);
        *batch = *len = *d = 0;
        return s;
    }
    if (*batch == 0 || *len == 0 || *d == 0) {
        dw_matrix_clear(&m);
        s = dw_fail(DW_ERR_INVALID, "%s: empty paths (shape %zu x %zu x %zu)", path, *batch, *len, *d);
        *batch = *len = *d = 0;
        return s;
    }
    *data = m.data;
    return DW_OK;
}
