/* Signature kernels: the Goursat PDE d^2 k / ds dt = k <x'(s), y'(t)>, k(0, .) = k(., 0) = 1 (theory.md 5).
 *
 * Each segment pair (I, J) of the data grid is cut into 2^lx x 2^ly cells (dyadic orders lx of X's paths, ly of
 * Y's, pySigLib's pair of orders) with the same increment product g = G_IJ / 2^(lx + ly),
 * where G_IJ is <dx_I, dy_J> (linear static kernel, times scale^2) or the second difference (k11 + k00) - (k10 + k01)
 * of kappa on the data grid (RBF), pySigLib's and sigkernel's convention. Cell update
 *   k[i+1, j+1] = (k[i+1, j] + k[i, j+1]) A - k[i, j] B,
 *   second order: A = 1 + g/2 + g^2/12, B = 1 - g^2/12;   first order: A = 1, B = 1 - g.
 * The hot kernel sweeps LANES pairs at once (same grid shape, one pair per SIMD lane): the row recursion is a
 * latency chain, and independent lanes fill the pipeline. Every lane does the same operations, so an entry does
 * not depend on its lane, group, tile or thread; the update is symmetric under transposing the grid (sums
 * commute), so with equal orders k(x, y) and k(y, x) agree bit for bit and K(X, X) is exactly symmetric.
 * Increments are formed from the points where they are used (no copy of the batch), and the pairs of a tile are
 * enumerated arithmetically (no pair list): the work space is the per-thread PDE rows, whatever the batch.
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
    return ldexp((double)(ly - 1), o->dyadic_order_y) + 1.0;
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

/* The options, and the paths of rows i0..i1-1 and columns j0..j1-1 (Y NULL: both of X); no other path is read. */
dw_status dw_sig_kernel_validate(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                 size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0, size_t j1)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL options");
    dw_status s = dw_sig_check_points_range(X, n, i0, i1 - i0, lx, d, "X");
    if (s) return s;
    if (Y) s = dw_sig_check_points_range(Y, m, j0, j1 - j0, ly, d, "Y");
    else if (j1 > i1 || j0 < i0) s = dw_sig_check_points_range(X, n, j0, j1 - j0, lx, d, "X");
    if (s) return s;
    /* the PDE grid of one pair, held one row at a time per lane and thread */
    char what[128];
    if (o->dyadic_order == o->dyadic_order_y)
        snprintf(what, sizeof what, "the PDE grid rows at dyadic order %d (2^%d cells per segment and direction)",
                 o->dyadic_order, o->dyadic_order);
    else
        snprintf(what, sizeof what, "the PDE grid rows at dyadic orders (%d, %d) (2^%d cells per segment of Y)",
                 o->dyadic_order, o->dyadic_order_y, o->dyadic_order_y);
    return dw_core_check_alloc(kernel_bytes(o, Y ? ly : lx, d), what);
}

typedef struct {
    const dw_sig_kernel_opts *o;
    const double *X, *Y; /* Y == X when symmetric */
    size_t lx, ly, d;
    int ox, oy;          /* dyadic orders along X's and Y's paths */
    double s2;           /* linear: scale^2; rbf: 1 / (2 scale^2) */
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

/* Refined row r of the lanes' grids (grid[l] NULL: not kept), rows of W entries. */
static void store_row(double *const *grid, const double *row, size_t W, size_t r)
{
    for (int l = 0; l < LANES; l++)
        if (grid[l])
            for (size_t c = 0; c < W; c++) grid[l][r * W + c] = row[c * LANES + l];
}

/* Solve LANES pairs (xi[l], yj[l]); out[l] = k at the end of both paths; grid (optional): every refined row. */
static void solve_group(const plan *p, const size_t *xi, const size_t *yj, work *w, double *out, double *const *grid)
{
    const size_t lx = p->lx, ly = p->ly, Mx = lx - 1, My = ly - 1, d = p->d;
    const size_t Rx = (size_t)1 << p->ox, Ry = (size_t)1 << p->oy, cols = My * Ry;
    const double scale = ldexp(1.0, -(p->ox + p->oy));
    const int second = p->o->solver == DW_SIG_SECOND_ORDER, isrbf = p->o->static_kernel == DW_SIG_RBF;
    for (size_t c = 0; c <= cols; c++)
        for (int l = 0; l < LANES; l++) w->row[c * LANES + l] = 1.0;
    if (grid) store_row(grid, w->row, cols + 1, 0);
    if (!isrbf) /* the lanes' y increments, formed from the points */
        for (size_t J = 0; J < My; J++)
            for (size_t k = 0; k < d; k++)
                for (int l = 0; l < LANES; l++) {
                    const double *y = p->Y + (yj[l] * ly + J) * d + k;
                    w->dyl[(J * d + k) * LANES + l] = y[d] - y[0];
                }
    if (isrbf)
        for (size_t J = 0; J < ly; J++)
            for (int l = 0; l < LANES; l++)
                w->k0[J * LANES + l] = rbf(p->X + xi[l] * lx * d, p->Y + (yj[l] * ly + J) * d, d, p->s2);
    for (size_t I = 0; I < Mx; I++) {
        if (isrbf) {
            for (size_t J = 0; J < ly; J++)
                for (int l = 0; l < LANES; l++)
                    w->k1[J * LANES + l] = rbf(p->X + (xi[l] * lx + I + 1) * d, p->Y + (yj[l] * ly + J) * d, d, p->s2);
            for (size_t J = 0; J < My; J++)
                for (int l = 0; l < LANES; l++) {
                    const double *k0 = w->k0 + J * LANES + l, *k1 = w->k1 + J * LANES + l;
                    w->A[J * LANES + l] = ((k1[LANES] + k0[0]) - (k1[0] + k0[LANES])) * scale;
                }
        } else {
            double dxl[64 * LANES];
            const size_t dd = d < 64 ? d : 64;
            for (size_t k = 0; k < dd; k++)
                for (int l = 0; l < LANES; l++) {
                    const double *x = p->X + (xi[l] * lx + I) * d + k;
                    dxl[k * LANES + l] = x[d] - x[0];
                }
            for (size_t J = 0; J < My; J++) {
                double g[LANES];
                const double *yv = w->dyl + J * d * LANES;
                for (int l = 0; l < LANES; l++) g[l] = 0.0;
                for (size_t k = 0; k < dd; k++)
                    for (int l = 0; l < LANES; l++) g[l] += dxl[k * LANES + l] * yv[k * LANES + l];
                for (size_t k = dd; k < d; k++) /* d > 64: the remaining channels straight from the points */
                    for (int l = 0; l < LANES; l++) {
                        const double *x = p->X + (xi[l] * lx + I) * d + k;
                        g[l] += (x[d] - x[0]) * yv[k * LANES + l];
                    }
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
        for (size_t r = 0; r < Rx; r++) {
            sweep_row(w->row, w->A, w->B, My, Ry);
            if (grid) store_row(grid, w->row, cols + 1, I * Rx + r + 1);
        }
        if (isrbf) {
            double *t = w->k0;
            w->k0 = w->k1;
            w->k1 = t;
        }
    }
    for (int l = 0; l < LANES; l++) out[l] = w->row[cols * LANES + l];
}

static void plan_init(plan *p, const dw_sig_kernel_opts *o, const double *X, size_t lx, const double *Y, size_t ly,
                      size_t d)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->X = X;
    p->Y = Y ? Y : X;
    p->lx = lx;
    p->ly = Y ? ly : lx;
    p->d = d;
    p->ox = o->dyadic_order;
    p->oy = o->dyadic_order_y;
    p->s2 = o->static_kernel == DW_SIG_RBF ? 0.5 / (o->scale * o->scale) : o->scale * o->scale;
}

/* Per-worker work spaces for ngroups groups of LANES pairs (*ws and *buf to free()); *thr: the threads to use. */
static dw_status work_init(const plan *p, size_t ngroups, work **ws, double **buf, int *thr, int *nw)
{
    const size_t cols = ((p->ly - 1) << p->oy) + 1;
    const int nt = dw_core_threads(p->o->threads);
    *thr = ngroups > 1 && (double)ngroups * (double)cols * ldexp((double)(p->lx - 1), p->ox) > 1e5 ? nt : 1;
    *nw = dw_par_workers(ngroups, *thr);
    const size_t per = (cols + 1 + 4 * p->ly + (p->ly - 1) * p->d) * LANES;
    *buf = malloc((size_t)*nw * per * sizeof(double));
    *ws = calloc((size_t)*nw, sizeof **ws);
    if (!*buf || !*ws) {
        free(*buf);
        free(*ws);
        return dw_fail(DW_ERR_NOMEM, "signature-kernel work space: out of memory");
    }
    for (int k = 0; k < *nw; k++) {
        work *w = &(*ws)[k];
        w->row = *buf + (size_t)k * per;
        w->A = w->row + (cols + 1) * LANES;
        w->B = w->A + p->ly * LANES;
        w->k0 = w->B + p->ly * LANES;
        w->k1 = w->k0 + p->ly * LANES;
        w->dyl = w->k1 + p->ly * LANES;
    }
    return DW_OK;
}

/* Groups of LANES pairs, as dw_par_for items; each worker has its own work space. Pair q of the tile
 * [i0, i1) x [j0, j1): row-major, or with mirror (the whole square Gram, i0 = j0 = 0) the upper triangle row by row,
 * row i holding the pairs (i, i..n-1) from q = i n - i (i - 1) / 2 on. */
typedef struct pairs_job {
    const plan *p;
    size_t npairs, i0, j0, ni, nj;
    int sym, mirror;
    double *K;
    size_t ld;
    work *ws; /* per worker */
} pairs_job;

static size_t tri_start(size_t i, size_t n) { return i * n - i * (i - 1) / 2; }

static void pair_of(const pairs_job *j, size_t q, size_t *i, size_t *c)
{
    if (!j->mirror) {
        *i = j->i0 + q / j->nj;
        *c = j->j0 + q % j->nj;
        return;
    }
    size_t lo = 0, hi = j->ni; /* the last row whose first pair is <= q */
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (tri_start(mid, j->ni) <= q) lo = mid;
        else hi = mid;
    }
    *i = lo;
    *c = lo + (q - tri_start(lo, j->ni));
}

static dw_status pairs_group(void *ctx, size_t g, int tid)
{
    const pairs_job *j = ctx;
    size_t xi[LANES], yj[LANES], pi[LANES], pj[LANES];
    double out[LANES];
    int nl = 0;
    for (int l = 0; l < LANES; l++) {
        size_t q = g * LANES + (size_t)l;
        if (q >= j->npairs) q = g * LANES; /* padding lanes repeat the first pair */
        else nl++;
        pair_of(j, q, &pi[l], &pj[l]);
        const int swap = j->sym && pi[l] > pj[l];
        xi[l] = swap ? pj[l] : pi[l];
        yj[l] = swap ? pi[l] : pj[l];
    }
    solve_group(j->p, xi, yj, &j->ws[tid], out, NULL);
    for (int l = 0; l < nl; l++) {
        const size_t i = pi[l], c = pj[l];
        j->K[(i - j->i0) * j->ld + (c - j->j0)] = out[l];
        if (j->mirror && i != c) j->K[(c - j->i0) * j->ld + (i - j->j0)] = out[l];
    }
    return DW_OK;
}

/* The pairs of the tile (see pairs_job); symmetric pairs are solved as (min, max). Entries go to
 * K[(i - i0) * ld + (j - j0)]; with mirror, only j >= i are solved and (j, i) is filled from (i, j). */
static dw_status compute(const plan *p, int sym, size_t i0, size_t i1, size_t j0, size_t j1, double *K, size_t ld,
                         int mirror)
{
    const size_t ni = i1 - i0, nj = j1 - j0;
    const size_t npairs = mirror ? ni * (ni + 1) / 2 : ni * nj;
    if (!npairs) return DW_OK;
    const size_t ngroups = (npairs + LANES - 1) / LANES;
    work *ws;
    double *buf;
    int thr, nw;
    dw_status s = work_init(p, ngroups, &ws, &buf, &thr, &nw);
    if (s) return s;
    pairs_job job = {p, npairs, i0, j0, ni, nj, sym, mirror, K, ld, ws};
    (void)dw_par_for(ngroups, thr, pairs_group, &job);
    free(buf);
    free(ws);
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
    dw_status s = dw_sig_kernel_validate(o, X, n, lx, Y, m, ly, d, 0, n, 0, Y ? m : n);
    if (s) return s;
    if (!K) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL output");
    if (!Y && o->dyadic_order != o->dyadic_order_y) /* unequal orders: no symmetry, both slots solved */
        return dw_sig_kernel_gram(o, X, n, lx, X, n, lx, d, K);
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
    plan_init(&p, o, X, lx, Y, ly, d);
    s = compute(&p, Y == NULL, 0, n, 0, m, K, m, Y == NULL);
    if (!s) s = check_out(K, n, m, m, 0, 0);
    return s;
}

dw_status dw_sig_kernel_tile(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                             size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0, size_t j1, size_t ld,
                             double *K)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL options");
    const size_t mm = Y ? m : n;
    if (!K) return dw_fail(DW_ERR_INVALID, "sigkernel tile: NULL output");
    if (i1 < i0 || j1 < j0 || i1 > n || j1 > mm)
        return dw_fail(DW_ERR_INVALID, "sigkernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram "
                                       "matrix",
                       i0, i1, j0, j1, n, mm);
    if (j1 - j0 > ld && i1 - i0 > 1)
        return dw_fail(DW_ERR_INVALID, "sigkernel tile: ld %zu < %zu columns", ld, j1 - j0);
    dw_status s = dw_sig_kernel_validate(o, X, n, lx, Y, m, ly, d, i0, i1, j0, j1); /* the tile's paths only */
    if (s) return s;
    if (!Y) m = n;
    if (i1 == i0 || j1 == j0) return DW_OK;
    if (dw_sig_transform_active(&o->tr)) { /* the tile's own paths transformed: rows i0.. of X, columns j0.. */
        const double *Ys = Y ? Y : X;
        const size_t lys = Y ? ly : lx;
        dw_sig_kernel_paths t;
        if ((s = dw_sig_kernel_transform(o, X + i0 * lx * d, i1 - i0, lx, Ys + j0 * lys * d, j1 - j0, lys, d, &t)))
            return s;
        s = dw_sig_kernel_tile(&t.o, t.X, i1 - i0, t.lx, t.Y, j1 - j0, t.ly, t.d, 0, i1 - i0, 0, j1 - j0, ld, K);
        free(t.X);
        free(t.Y);
        if (s == DW_ERR_RANGE) /* name the pair of the whole Gram matrix */
            s = check_out(K, i1 - i0, j1 - j0, ld, i0, j0);
        return s;
    }
    if (constant_pairs(lx, Y ? ly : lx, i0, i1, j0, j1, K, ld)) return DW_OK;
    plan p;
    plan_init(&p, o, X, lx, Y, ly, d);
    s = compute(&p, Y == NULL && o->dyadic_order == o->dyadic_order_y, i0, i1, j0, j1, K, ld, 0);
    if (!s) s = check_out(K, i1 - i0, j1 - j0, ld, i0, j0);
    return s;
}

/* ---- the whole PDE grid of pairs (x_b, y_b) ---- */

typedef struct {
    const plan *p;
    size_t n, W, H;
    double *grid;
    work *ws;
} grid_job;

static dw_status grid_group(void *ctx, size_t g, int tid)
{
    const grid_job *j = ctx;
    size_t idx[LANES];
    double *gp[LANES], out[LANES];
    for (int l = 0; l < LANES; l++) {
        const size_t b = g * LANES + (size_t)l;
        idx[l] = b < j->n ? b : g * LANES;
        gp[l] = b < j->n ? j->grid + b * j->H * j->W : NULL;
    }
    solve_group(j->p, idx, idx, &j->ws[tid], out, gp);
    return DW_OK;
}

dw_status dw_sig_kernel_grid_shape(const dw_sig_kernel_opts *o, size_t lx, size_t ly, size_t d, size_t *rows,
                                   size_t *cols)
{
    if (!rows || !cols) return dw_fail(DW_ERR_INVALID, "sigkernel grid shape: NULL output");
    *rows = *cols = 0;
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel: NULL options");
    if (lx < 1 || ly < 1 || d < 1)
        return dw_fail(DW_ERR_INVALID, "sigkernel grid: paths need at least 1 point and 1 channel (got len %zu, %zu, "
                                       "d = %zu)", lx, ly, d);
    size_t lx2, ly2, d2;
    dw_sig_transform_shape(&o->tr, lx, d, &lx2, &d2);
    dw_sig_transform_shape(&o->tr, ly, d, &ly2, &d2);
    const double r = ldexp((double)(lx2 - 1), o->dyadic_order) + 1.0;
    const double c = ldexp((double)(ly2 - 1), o->dyadic_order_y) + 1.0;
    if (r * c * 8.0 > (double)(SIZE_MAX / 2))
        return dw_fail(DW_ERR_NOMEM, "sigkernel grid: %g x %g entries per pair do not fit in memory", r, c);
    *rows = (size_t)r;
    *cols = (size_t)c;
    return DW_OK;
}

dw_status dw_sig_kernel_grid(const dw_sig_kernel_opts *o, const double *X, const double *Y, size_t n, size_t lx,
                             size_t ly, size_t d, double *grid)
{
    dw_status s = dw_sig_kernel_validate(o, X, n, lx, Y, n, ly, d, 0, n, 0, n);
    if (s) return s;
    if (!Y || !grid) return dw_fail(DW_ERR_INVALID, "sigkernel grid: NULL %s", !Y ? "Y" : "output");
    size_t H, W;
    if ((s = dw_sig_kernel_grid_shape(o, lx, ly, d, &H, &W))) return s;
    if (dw_sig_transform_active(&o->tr)) {
        dw_sig_kernel_paths t;
        if ((s = dw_sig_kernel_transform(o, X, n, lx, Y, n, ly, d, &t))) return s;
        s = dw_sig_kernel_grid(&t.o, t.X, t.Y, n, t.lx, t.ly, t.d, grid);
        free(t.X);
        free(t.Y);
        return s;
    }
    if (lx == 1 || ly == 1) { /* a one-point path: one row or column, k = 1 throughout */
        for (size_t e = 0; e < n * H * W; e++) grid[e] = 1.0;
        return DW_OK;
    }
    plan p;
    plan_init(&p, o, X, lx, Y, ly, d);
    const size_t ngroups = (n + LANES - 1) / LANES;
    work *ws;
    double *buf;
    int thr, nw;
    if ((s = work_init(&p, ngroups, &ws, &buf, &thr, &nw))) return s;
    grid_job job = {&p, n, W, H, grid, ws};
    (void)dw_par_for(ngroups, thr, grid_group, &job);
    free(buf);
    free(ws);
    for (size_t e = 0; e < n * H * W; e++)
        if (!isfinite(grid[e]))
            return dw_fail(DW_ERR_RANGE, "signature-kernel grid of pair %zu overflows (not finite); rescale the paths",
                           e / (H * W) + 1);
    return DW_OK;
}
