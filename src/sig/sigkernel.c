/* Signature kernels: the Goursat PDE d^2 k / ds dt = k <x'(s), y'(t)>, k(0, .) = k(., 0) = 1 (theory.md 5).
 *
 * Each segment pair (I, J) of the data grid is cut into 2^lambda x 2^lambda cells with the same increment product
 * g = G_IJ / 4^lambda, where G_IJ is <dx_I, dy_J> (linear static kernel, times scale^2) or the second difference
 * (k11 + k00) - (k10 + k01) of kappa on the data grid (RBF), pySigLib's and sigkernel's convention. Cell update
 *   k[i+1, j+1] = (k[i+1, j] + k[i, j+1]) A - k[i, j] B,
 *   second order: A = 1 + g/2 + g^2/12, B = 1 - g^2/12;   first order: A = 1, B = 1 - g.
 * The hot kernel sweeps LANES pairs at once (same grid shape, one pair per SIMD lane): the row recursion is a
 * latency chain, and independent lanes fill the pipeline. Every lane does the same operations, so an entry does
 * not depend on its lane, group, tile or thread; the update is symmetric under transposing the grid (sums
 * commute), so k(x, y) and k(y, x) agree bit for bit and K(X, X) is exactly symmetric.
 */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(DW_NO_CLONES)
#define DW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DW_CLONES
#endif

static double cells_per_row(const dw_sig_kernel_opts *o, size_t ly)
{
    return ldexp((double)(ly - 1), o->dyadic_order) + 1.0;
}

static double kernel_bytes(const dw_sig_kernel_opts *o, size_t ly, size_t d)
{
    const double per_thread = ((double)LANES * (cells_per_row(o, ly) + 4.0 * (double)ly + (double)ly * d) + 64.0) * 8.0;
    return per_thread * dw_core_threads(o->threads);
}

dw_status dw_sig_kernel_bytes(const dw_sig_kernel_opts *o, size_t lx, size_t ly, size_t d, double *bytes)
{
    (void)lx;
    if (!bytes) return dw_fail(DW_ERR_INVALID, "dw_sig_kernel_bytes: NULL output");
    *bytes = 0.0;
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL options");
    if (ly < 1) return dw_fail(DW_ERR_INVALID, "paths need at least 1 point (got 0)");
    *bytes = kernel_bytes(o, ly, d);
    return DW_OK;
}

static dw_status validate(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                          size_t m, size_t ly, size_t d)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL options");
    dw_status s = dw_sig_check_points(X, n, lx, d, "X");
    if (s) return s;
    if (Y && (s = dw_sig_check_points(Y, m, ly, d, "Y"))) return s;
    /* the PDE grid of one pair, held one row at a time per lane and thread */
    char what[96];
    snprintf(what, sizeof what, "the PDE grid rows at dyadic order %d (2^%d cells per segment and direction)",
             o->dyadic_order, o->dyadic_order);
    return dw_core_check_alloc(kernel_bytes(o, Y ? ly : lx, d), what);
}

typedef struct {
    const dw_sig_kernel_opts *o;
    const double *X, *Y; /* Y == X when symmetric */
    size_t lx, ly, d;
    double *dX, *dY; /* linear: increments, (n x (lx-1) x d) */
    double s2;       /* linear: scale^2; rbf: 1 / (2 scale^2) */
} plan;

typedef struct {
    double *row;       /* (cols + 1) x LANES */
    double *A, *B;     /* My x LANES */
    double *k0, *k1;   /* rbf: ly x LANES */
    double *dyl;       /* linear: the lanes' y increments, My x d x LANES */
} work;

/* One refined row: row[c] holds k[i, c] on entry and k[i+1, c] on exit (c = 0 .. My R), lanes interleaved. */
DW_CLONES static void sweep_row(double *restrict row, const double *restrict A, const double *restrict B, size_t My,
                                size_t R)
{
    double left[LANES], diag[LANES];
    for (int l = 0; l < LANES; l++) {
        left[l] = row[l];
        diag[l] = row[l];
    }
    double *r = row + LANES;
    for (size_t J = 0; J < My; J++) {
        const double *a = A + J * LANES, *b = B + J * LANES;
        for (size_t s = 0; s < R; s++) {
            for (int l = 0; l < LANES; l++) {
                const double up = r[l];
                const double nw = (left[l] + up) * a[l] - diag[l] * b[l];
                r[l] = nw;
                diag[l] = up;
                left[l] = nw;
            }
            r += LANES;
        }
    }
}

static double rbf(const double *x, const double *y, size_t d, double c)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double t = x[k] - y[k];
        s += t * t;
    }
    return exp(-s * c);
}

/* Solve LANES pairs (xi[l], yj[l]); out[l] = k at the end of both paths. */
static void solve_group(const plan *p, const size_t *xi, const size_t *yj, work *w, double *out)
{
    const size_t Mx = p->lx - 1, My = p->ly - 1, d = p->d;
    const int lam = p->o->dyadic_order;
    const size_t R = (size_t)1 << lam, cols = My * R;
    const double scale = ldexp(1.0, -2 * lam);
    const int second = p->o->solver == DW_SIG_SECOND_ORDER, isrbf = p->o->static_kernel == DW_SIG_RBF;
    for (size_t c = 0; c <= cols; c++)
        for (int l = 0; l < LANES; l++) w->row[c * LANES + l] = 1.0;
    if (!isrbf)
        for (size_t J = 0; J < My; J++)
            for (size_t k = 0; k < d; k++)
                for (int l = 0; l < LANES; l++)
                    w->dyl[(J * d + k) * LANES + l] = p->dY[(yj[l] * My + J) * d + k];
    if (isrbf)
        for (size_t J = 0; J < p->ly; J++)
            for (int l = 0; l < LANES; l++)
                w->k0[J * LANES + l] = rbf(p->X + xi[l] * p->lx * d, p->Y + (yj[l] * p->ly + J) * d, d, p->s2);
    for (size_t I = 0; I < Mx; I++) {
        if (isrbf) {
            for (size_t J = 0; J < p->ly; J++)
                for (int l = 0; l < LANES; l++)
                    w->k1[J * LANES + l] =
                        rbf(p->X + (xi[l] * p->lx + I + 1) * d, p->Y + (yj[l] * p->ly + J) * d, d, p->s2);
        }
        if (isrbf) {
            for (size_t J = 0; J < My; J++)
                for (int l = 0; l < LANES; l++) {
                    const double *k0 = w->k0 + J * LANES + l, *k1 = w->k1 + J * LANES + l;
                    w->A[J * LANES + l] = ((k1[LANES] + k0[0]) - (k1[0] + k0[LANES])) * scale;
                }
        } else {
            double dxl[64 * LANES];
            const size_t dd = d < 64 ? d : 64;
            for (size_t k = 0; k < dd; k++)
                for (int l = 0; l < LANES; l++) dxl[k * LANES + l] = p->dX[(xi[l] * Mx + I) * d + k];
            for (size_t J = 0; J < My; J++) {
                double g[LANES];
                const double *yv = w->dyl + J * d * LANES;
                for (int l = 0; l < LANES; l++) g[l] = 0.0;
                for (size_t k = 0; k < dd; k++)
                    for (int l = 0; l < LANES; l++) g[l] += dxl[k * LANES + l] * yv[k * LANES + l];
                for (size_t k = dd; k < d; k++) /* d > 64: the remaining channels straight from the increments */
                    for (int l = 0; l < LANES; l++) g[l] += p->dX[(xi[l] * Mx + I) * d + k] * yv[k * LANES + l];
                for (int l = 0; l < LANES; l++) w->A[J * LANES + l] = g[l] * p->s2 * scale;
            }
        }
        for (size_t q = 0; q < My * LANES; q++) {
            const double g = w->A[q];
            if (second) {
                const double g2 = g * g / 12.0;
                w->A[q] = 1.0 + 0.5 * g + g2;
                w->B[q] = 1.0 - g2;
            } else {
                w->A[q] = 1.0;
                w->B[q] = 1.0 - g;
            }
        }
        for (size_t r = 0; r < R; r++) sweep_row(w->row, w->A, w->B, My, R);
        if (isrbf) {
            double *t = w->k0;
            w->k0 = w->k1;
            w->k1 = t;
        }
    }
    for (int l = 0; l < LANES; l++) out[l] = w->row[cols * LANES + l];
}

static void plan_clear(plan *p)
{
    free(p->dX);
    if (p->dY != p->dX) free(p->dY);
}

static dw_status plan_init(plan *p, const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                           const double *Y, size_t m, size_t ly, size_t d)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->X = X;
    p->Y = Y ? Y : X;
    p->lx = lx;
    p->ly = Y ? ly : lx;
    p->d = d;
    if (o->static_kernel == DW_SIG_RBF) {
        p->s2 = 0.5 / (o->scale * o->scale);
        return DW_OK;
    }
    p->s2 = o->scale * o->scale;
    p->dX = dw_sig_increments(X, n, lx, d);
    if (!p->dX) return DW_ERR_NOMEM;
    p->dY = Y ? dw_sig_increments(Y, m, ly, d) : p->dX;
    if (!p->dY) {
        plan_clear(p);
        return DW_ERR_NOMEM;
    }
    return DW_OK;
}

/* Groups of LANES pairs, as dw_par_for items; each worker has its own work space. */
typedef struct pairs_job {
    const plan *p;
    const size_t *pairs;
    size_t npairs;
    int sym, mirror;
    size_t i0, j0;
    double *K;
    size_t ld;
    work *ws; /* per worker */
} pairs_job;

static dw_status pairs_group(void *ctx, size_t g, int tid)
{
    const pairs_job *j = ctx;
    const size_t *pairs = j->pairs;
    size_t xi[LANES], yj[LANES];
    double out[LANES];
    int nl = 0;
    for (int l = 0; l < LANES; l++) {
        size_t q = g * LANES + (size_t)l;
        if (q >= j->npairs) q = g * LANES; /* padding lanes repeat the first pair */
        else nl++;
        size_t a = pairs[2 * q], b = pairs[2 * q + 1];
        if (j->sym && a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        xi[l] = a;
        yj[l] = b;
    }
    solve_group(j->p, xi, yj, &j->ws[tid], out);
    for (int l = 0; l < nl; l++) {
        const size_t q = g * LANES + (size_t)l, i = pairs[2 * q], c = pairs[2 * q + 1];
        j->K[(i - j->i0) * j->ld + (c - j->j0)] = out[l];
        if (j->mirror && i != c) j->K[(c - j->i0) * j->ld + (i - j->j0)] = out[l];
    }
    return DW_OK;
}

/* Pairs (i, j) of the tile in row-major order; symmetric pairs are solved as (min, max). Entries go to
 * K[(i - i0) * ld + (j - j0)]; with mirror, only j >= i are solved and (j, i) is filled from (i, j). */
static dw_status compute(const plan *p, int sym, size_t i0, size_t i1, size_t j0, size_t j1, double *K, size_t ld,
                         int mirror)
{
    size_t npairs = 0;
    for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++)
            if (!mirror || j >= i) npairs++;
    if (!npairs) return DW_OK;
    size_t *pairs = dw_alloc(npairs, 2 * sizeof(size_t), "signature-kernel pair list");
    if (!pairs) return DW_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++)
            if (!mirror || j >= i) {
                pairs[2 * k] = i;
                pairs[2 * k + 1] = j;
                k++;
            }
    const size_t ngroups = (npairs + LANES - 1) / LANES;
    const size_t cols = ((p->ly - 1) << p->o->dyadic_order) + 1;
    const int nt = dw_core_threads(p->o->threads);
    const int thr =
        ngroups > 1 && (double)ngroups * (double)cols * (double)((p->lx - 1) << p->o->dyadic_order) > 1e5 ? nt : 1;
    /* per worker: its rows and lanes (one block), and its work pointers */
    const int nw = dw_par_workers(ngroups, thr);
    const size_t per = (cols + 1 + 4 * p->ly + (p->ly - 1) * p->d) * LANES;
    double *buf = malloc((size_t)nw * per * sizeof(double));
    work *ws = calloc((size_t)nw, sizeof *ws);
    const int failed = !buf || !ws;
    if (!failed) {
        for (int k = 0; k < nw; k++) {
            work *w = &ws[k];
            w->row = buf + (size_t)k * per;
            w->A = w->row + (cols + 1) * LANES;
            w->B = w->A + p->ly * LANES;
            w->k0 = w->B + p->ly * LANES;
            w->k1 = w->k0 + p->ly * LANES;
            w->dyl = w->k1 + p->ly * LANES;
        }
        pairs_job job = {p, pairs, npairs, sym, mirror, i0, j0, K, ld, ws};
        (void)dw_par_for(ngroups, thr, pairs_group, &job);
    }
    free(buf);
    free(ws);
    free(pairs);
    if (failed) return dw_fail(DW_ERR_NOMEM, "signature-kernel work space: out of memory");
    return DW_OK;
}

static dw_status check_out(const double *K, size_t ni, size_t nj, size_t ld, size_t i0, size_t j0)
{
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            if (!isfinite(K[i * ld + j]))
                return dw_fail(DW_ERR_RANGE,
                               "signature kernel of pair (%zu, %zu) overflows (not finite); rescale the paths "
                               "(--scale)",
                               i0 + i + 1, j0 + j + 1);
    return DW_OK;
}

/* A one-point path is constant: its signature is (1, 0, 0, ...) and its kernel with any path is 1 (no PDE cells). */
static int constant_pairs(size_t lx, size_t ly, size_t i0, size_t i1, size_t j0, size_t j1, double *K, size_t ld)
{
    if (lx > 1 && ly > 1) return 0;
    for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++) K[(i - i0) * ld + (j - j0)] = 1.0;
    return 1;
}

dw_status dw_sig_kernel_gram(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                             size_t m, size_t ly, size_t d, double *K)
{
    dw_status s = validate(o, X, n, lx, Y, m, ly, d);
    if (s) return s;
    if (!K) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL output");
    if (dw_sig_transform_active(&o->tr)) { /* the Gram matrix of the transformed paths */
        dw_sig_kernel_paths t;
        if ((s = dw_sig_kernel_transform(o, X, n, lx, Y, m, ly, d, &t))) return s;
        s = dw_sig_kernel_gram(&t.o, t.X, n, t.lx, t.Y, m, t.ly, t.d, K);
        free(t.X);
        free(t.Y);
        return s;
    }
    if (!Y) m = n;
    if (constant_pairs(lx, Y ? ly : lx, 0, n, 0, m, K, m)) return DW_OK;
    plan p;
    if ((s = plan_init(&p, o, X, n, lx, Y, m, ly, d))) return s;
    s = compute(&p, Y == NULL, 0, n, 0, m, K, m, Y == NULL);
    plan_clear(&p);
    if (!s) s = check_out(K, n, m, m, 0, 0);
    return s;
}

dw_status dw_sig_kernel_tile(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                             size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0, size_t j1, size_t ld,
                             double *K)
{
    dw_status s = validate(o, X, n, lx, Y, m, ly, d);
    if (s) return s;
    if (!Y) m = n;
    if (!K) return dw_fail(DW_ERR_INVALID, "sigkernel tile: NULL output");
    if (i1 < i0 || j1 < j0 || i1 > n || j1 > m)
        return dw_fail(DW_ERR_INVALID, "sigkernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram "
                                       "matrix",
                       i0, i1, j0, j1, n, m);
    if (j1 - j0 > ld && i1 - i0 > 1)
        return dw_fail(DW_ERR_INVALID, "sigkernel tile: ld %zu < %zu columns", ld, j1 - j0);
    if (dw_sig_transform_active(&o->tr)) { /* the tile of the transformed paths' Gram matrix */
        dw_sig_kernel_paths t;
        if ((s = dw_sig_kernel_transform(o, X, n, lx, Y, m, ly, d, &t))) return s;
        s = dw_sig_kernel_tile(&t.o, t.X, n, t.lx, t.Y, m, t.ly, t.d, i0, i1, j0, j1, ld, K);
        free(t.X);
        free(t.Y);
        return s;
    }
    if (constant_pairs(lx, Y ? ly : lx, i0, i1, j0, j1, K, ld)) return DW_OK;
    plan p;
    if ((s = plan_init(&p, o, X, n, lx, Y, m, ly, d))) return s;
    s = compute(&p, Y == NULL, i0, i1, j0, j1, K, ld, 0);
    plan_clear(&p);
    if (!s) s = check_out(K, i1 - i0, j1 - j0, ld, i0, j0);
    return s;
}

dw_status dw_sig_kernel_error(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                              size_t m, size_t ly, size_t d, const double *K, double *max_abs, double *max_rel)
{
    if (!o || !K || !max_abs || !max_rel) return dw_fail(DW_ERR_INVALID, "sigkernel error: NULL argument");
    dw_sig_kernel_opts o2 = *o;
    const int up = o->dyadic_order == 0;
    o2.dyadic_order = up ? 1 : o->dyadic_order - 1;
    if (!Y) m = n;
    double *K2 = dw_alloc(n * m, sizeof(double), "the coarser Gram matrix (error estimate)");
    if (!K2) return DW_ERR_NOMEM;
    dw_status s = dw_sig_kernel_gram(&o2, X, n, lx, Y, m, ly, d, K2);
    if (s) {
        free(K2);
        return s;
    }
    const double r = o->solver == DW_SIG_SECOND_ORDER ? 4.0 : 2.0;
    const double f = up ? r / (r - 1.0) : 1.0 / (r - 1.0);
    double ea = 0.0, er = 0.0;
    for (size_t i = 0; i < n * m; i++) {
        const double e = fabs(K[i] - K2[i]) * f;
        if (e > ea) ea = e;
        const double rel = K[i] != 0 ? e / fabs(K[i]) : e;
        if (rel > er) er = rel;
    }
    free(K2);
    *max_abs = ea;
    *max_rel = er;
    return DW_OK;
}
