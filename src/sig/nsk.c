/* Neural signature kernels: infinite-width limits of random controlled ResNets (theory.md 5.1).
 *
 * f(a, c, b) = sigma_A^2 V_phi(a, b, c) + sigma_b^2, V_phi from dw_act_dual (variances a, b, covariance c).
 * Homogeneous (weights shared over time): the Goursat system d^2 K^{xy} / ds dt = f(K^{xx}(s,s), K^{xy}(s,t),
 * K^{yy}(t,t)) <x', y'>, K = sigma_0^2 on the edges, on the grid refined 2^lambda times (cell increment products
 * g = <dx_I, dy_J> / 4^lambda):
 *   first order (and --grid, lambda = 0: the exact width limit of the discrete network)
 *     K[i+1,j+1] = K[i+1,j] + K[i,j+1] - K[i,j] + g f(i, j);
 *   second order (Heun, PECE): a predictor K* from the three known corners' mean source, then
 *     K[i+1,j+1] = K[i+1,j] + K[i,j+1] - K[i,j] + g (f00 + f01 + f10 + f(K*)) / 4,
 *   and f re-evaluated at the corrected value for the next cells.
 * The self-kernels K^{xx} need their own diagonal: they are solved by shells n = max(i, j) (entries (n, j),
 * j <= n, by symmetry), the unknown diagonal value predicted by a first-order pass over the shell.
 * Identity phi (second order, sigma_A > 0): the source is linear in K, and K + sigma_b^2/sigma_A^2 solves the plain
 * signature-kernel PDE with g scaled by sigma_A^2: its second-order scheme (theory.md 5) is used.
 * Inhomogeneous (fresh weights each step, scaled by dt^-1/2, t_m = m / M): the ODE along the diagonal,
 *   kappa' = f(kappa^{xx}, kappa^{xy}, kappa^{yy}) <dx_m, dy_m> M, Euler (first order, --grid) or Heun steps.
 */
#include "sig/sig.h"

#include "core/par.h"
#include "kernels/ooc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const dw_sig_nsk_opts *o;
    double sa2, sb2, s02;
    int lam, R, second, identity;
    size_t d;
    const double *X, *Y;
    size_t lx, ly;
    double *dX, *dY; /* increments */
    double *DX, *DY; /* homogeneous: diagonals of the self-kernels, (lx-1) R + 1 per path */
} nsk;

static int lambda_of(const dw_sig_nsk_opts *o) { return o->grid ? 0 : o->dyadic_order; }

static double nsk_bytes(const dw_sig_nsk_opts *o, size_t n, size_t lx, size_t m, size_t ly)
{
    const int lam = lambda_of(o);
    const double rx = ldexp((double)(lx - 1), lam) + 1.0, ry = ldexp((double)(ly - 1), lam) + 1.0;
    const double diag = o->inhomogeneous ? 0.0 : (double)n * rx + (double)m * ry;
    const double rows = 6.0 * (rx > ry ? rx : ry) * dw_core_threads(o->threads);
    return 8.0 * (diag + rows + (double)n * (double)lx + (double)m * (double)ly);
}

dw_status dw_sig_nsk_bytes(const dw_sig_nsk_opts *o, size_t n, size_t lx, size_t m, size_t ly, double *bytes)
{
    if (!bytes) return dw_fail(DW_ERR_INVALID, "dw_sig_nsk_bytes: NULL output");
    *bytes = 0.0;
    if (!o) return dw_fail(DW_ERR_INVALID, "nsk: NULL options");
    if (lx < 2 || ly < 2) return dw_fail(DW_ERR_INVALID, "paths need at least 2 points (got %zu and %zu)", lx, ly);
    *bytes = nsk_bytes(o, n, lx, m, ly);
    return DW_OK;
}

/* f = sigma_A^2 V(a, b, c) + sigma_b^2 */
static dw_status src(const nsk *p, double a, double c, double b, double *f)
{
    double v = 0.0;
    if (p->sa2 != 0.0) {
        /* The exact kernel is a covariance (a, b >= 0, c^2 <= ab); discretisation errors of coarse grids can step
         * outside that set, so the arguments are projected back onto it (an O(error) change, no loss of order). */
        if (!isfinite(a) || !isfinite(b) || !isfinite(c))
            return dw_fail(DW_ERR_RANGE, "neural signature kernel overflows (K = (%g, %g, %g)); reduce sigma_A or "
                                         "the path increments",
                           a, c, b);
        a = a > 0 ? a : 0.0;
        b = b > 0 ? b : 0.0;
        const double r = sqrt(a * b);
        c = c > r ? r : c < -r ? -r : c;
        dw_status s = dw_act_dual(p->o->act, a, b, c, &v, NULL);
        if (s) return s;
    }
    *f = p->sa2 * v + p->sb2;
    if (!isfinite(*f))
        return dw_fail(DW_ERR_RANGE, "neural signature kernel overflows: the source at K = (%g, %g, %g) is not "
                                     "finite; reduce sigma_A or the path increments",
                       a, c, b);
    return DW_OK;
}

static double gcell(const nsk *p, const double *dx, const double *dy)
{
    double g = 0.0;
    for (size_t k = 0; k < p->d; k++) g += dx[k] * dy[k];
    return ldexp(g, -2 * p->lam);
}

/* Self-kernel of one path by shells; D receives the diagonal K(s_n, s_n), n = 0..N. Work: 5 (N + 1). */
static dw_status self_shells(const nsk *p, const double *dx, size_t M, double *D, double *work)
{
    const size_t R = (size_t)p->R, N = M * R;
    double *P = work, *FP = P + (N + 1), *Q = FP + (N + 1), *Q1 = Q + (N + 1), *FQ = Q1 + (N + 1);
    dw_status s;
    D[0] = p->s02;
    P[0] = p->s02;
    if ((s = src(p, p->s02, p->s02, p->s02, &FP[0]))) return s;
    for (size_t n = 1; n <= N; n++) {
        const double *dxn = dx + ((n - 1) / R) * p->d;
        Q[0] = Q1[0] = p->s02;
        if (!p->second) {
            for (size_t j = 1; j <= n; j++) {
                const double g = gcell(p, dxn, dx + ((j - 1) / R) * p->d);
                const double up = j < n ? P[j] : Q[n - 1];
                Q[j] = Q[j - 1] + up - P[j - 1] + g * FP[j - 1];
            }
        } else {
            for (size_t j = 1; j <= n; j++) {
                const double g = gcell(p, dxn, dx + ((j - 1) / R) * p->d);
                const double up = j < n ? P[j] : Q1[n - 1];
                Q1[j] = Q1[j - 1] + up - P[j - 1] + g * FP[j - 1];
            }
            const double Dp = Q1[n];
            double F10;
            if ((s = src(p, Dp, p->s02, D[0], &F10))) return s;
            for (size_t j = 1; j <= n; j++) {
                const double g = gcell(p, dxn, dx + ((j - 1) / R) * p->d);
                const double up = j < n ? P[j] : Q[n - 1];
                const double f01 = j < n ? FP[j] : F10;
                double f11;
                if ((s = j < n ? src(p, Dp, Q1[j], D[j], &f11) : src(p, Dp, Dp, Dp, &f11))) return s;
                Q[j] = Q[j - 1] + up - P[j - 1] + g * (((FP[j - 1] + f01) + (F10 + f11)) * 0.25);
                if (j < n && (s = src(p, Dp, Q[j], D[j], &F10))) return s;
            }
        }
        D[n] = Q[n];
        for (size_t j = 0; j < n; j++)
            if ((s = src(p, D[n], Q[j], D[j], &FQ[j]))) return s;
        if ((s = src(p, D[n], D[n], D[n], &FQ[n]))) return s;
        memcpy(P, Q, (n + 1) * sizeof(double));
        memcpy(FP, FQ, (n + 1) * sizeof(double));
    }
    return DW_OK;
}

/* Cross kernel of (x, y) given the self-kernels' diagonals; work: 4 (Ny + 1). */
static dw_status cross(const nsk *p, const double *dx, size_t Mx, const double *Dx, const double *dy, size_t My,
                       const double *Dy, double *work, double *out)
{
    const size_t R = (size_t)p->R, Nx = Mx * R, Ny = My * R;
    double *P = work, *FP = P + (Ny + 1), *Q = FP + (Ny + 1), *FQ = Q + (Ny + 1);
    dw_status s;
    if (p->identity) {
        /* K~ = K + sigma_b^2 / sigma_A^2 solves the signature-kernel PDE with g scaled by sigma_A^2 */
        const double shift = p->sb2 / p->sa2;
        for (size_t j = 0; j <= Ny; j++) P[j] = p->s02 + shift;
        for (size_t i = 0; i < Nx; i++) {
            const double *dxi = dx + (i / R) * p->d;
            Q[0] = p->s02 + shift;
            for (size_t j = 0; j < Ny; j++) {
                const double G = p->sa2 * gcell(p, dxi, dy + (j / R) * p->d), G2 = G * G / 12.0;
                Q[j + 1] = (Q[j] + P[j + 1]) * (1.0 + 0.5 * G + G2) - P[j] * (1.0 - G2);
            }
            memcpy(P, Q, (Ny + 1) * sizeof(double));
        }
        *out = P[Ny] - shift;
        return DW_OK;
    }
    for (size_t j = 0; j <= Ny; j++) {
        P[j] = p->s02;
        if ((s = src(p, Dx[0], p->s02, Dy[j], &FP[j]))) return s;
    }
    for (size_t i = 0; i < Nx; i++) {
        const double *dxi = dx + (i / R) * p->d, Dn = Dx[i + 1];
        Q[0] = p->s02;
        if ((s = src(p, Dn, p->s02, Dy[0], &FQ[0]))) return s;
        for (size_t j = 0; j < Ny; j++) {
            const double g = gcell(p, dxi, dy + (j / R) * p->d);
            const double base = Q[j] + P[j + 1] - P[j];
            if (!p->second) {
                Q[j + 1] = base + g * FP[j];
            } else {
                const double pred = base + g * ((FP[j] + FP[j + 1] + FQ[j]) / 3.0);
                double f11;
                if ((s = src(p, Dn, pred, Dy[j + 1], &f11))) return s;
                Q[j + 1] = base + g * (((FP[j] + FP[j + 1]) + (FQ[j] + f11)) * 0.25);
            }
            if ((s = src(p, Dn, Q[j + 1], Dy[j + 1], &FQ[j + 1]))) return s;
        }
        double *t = P;
        P = Q;
        Q = t;
        t = FP;
        FP = FQ;
        FQ = t;
    }
    *out = P[Ny];
    return DW_OK;
}

/* Inhomogeneous: the diagonal ODE for (kappa^{xx}, kappa^{xy}, kappa^{yy}). */
static dw_status diagonal_ode(const nsk *p, const double *dx, const double *dy, size_t M, double *out)
{
    double a = p->s02, c = p->s02, b = p->s02;
    const double scale = (double)M / p->R;
    dw_status s;
    for (size_t m = 0; m < M; m++) {
        const double *u = dx + m * p->d, *v = dy + m * p->d;
        double hxx = 0, hxy = 0, hyy = 0;
        for (size_t k = 0; k < p->d; k++) {
            hxx += u[k] * u[k];
            hxy += u[k] * v[k];
            hyy += v[k] * v[k];
        }
        hxx *= scale;
        hxy *= scale;
        hyy *= scale;
        for (int r = 0; r < p->R; r++) {
            double fa, fc, fb;
            if ((s = src(p, a, a, a, &fa)) || (s = src(p, a, c, b, &fc)) || (s = src(p, b, b, b, &fb))) return s;
            if (!p->second) {
                a += fa * hxx;
                c += fc * hxy;
                b += fb * hyy;
            } else {
                const double a1 = a + fa * hxx, c1 = c + fc * hxy, b1 = b + fb * hyy;
                double ga, gc, gb;
                if ((s = src(p, a1, a1, a1, &ga)) || (s = src(p, a1, c1, b1, &gc)) || (s = src(p, b1, b1, b1, &gb)))
                    return s;
                a += 0.5 * (fa + ga) * hxx;
                c += 0.5 * (fc + gc) * hxy;
                b += 0.5 * (fb + gb) * hyy;
            }
        }
    }
    *out = c;
    return DW_OK;
}

/* The two loops (self-kernels, pairs) as dw_par_for items; each worker has its own work space. */
typedef struct nsk_job {
    const nsk *p;
    const dw_sig_nsk_opts *o;
    size_t n, m, Mx, My, Nx, Ny, d;
    int sym, need_diag, mirror;
    size_t r0, cb, ld;      /* pairs: rows from r0, entry (i, j) at K[(i - r0) ld + j - cb] */
    const size_t *rowstart; /* sym: pairs q -> (i, j), j >= i, row-major over the upper triangle of rows r0.. */
    size_t nrows;
    double *K;
    double *ws; /* per worker: wsz doubles */
    size_t wsz;
} nsk_job;

/* 1. self-kernel q: path q of X (q < n), else path q - n of Y */
static dw_status self_item(void *ctx, size_t q, int tid)
{
    const nsk_job *j = ctx;
    const nsk *p = j->p;
    const int isx = q < j->n;
    const size_t b = isx ? q : q - j->n, M = isx ? j->Mx : j->My, N = isx ? j->Nx : j->Ny;
    return self_shells(p, (isx ? p->dX : p->dY) + b * M * j->d, M, (isx ? p->DX : p->DY) + b * (N + 1),
                       j->ws + (size_t)tid * j->wsz);
}

/* 2. pair q */
static dw_status pair_item(void *ctx, size_t q, int tid)
{
    const nsk_job *jb = ctx;
    const nsk *p = jb->p;
    const size_t m = jb->m, Mx = jb->Mx, My = jb->My, Nx = jb->Nx, Ny = jb->Ny, d = jb->d;
    size_t i, j;
    if (jb->sym) {
        size_t lo = 0, hi = jb->nrows; /* the row i with rowstart[i - r0] <= q < rowstart[i - r0 + 1] */
        while (hi - lo > 1) {
            const size_t mid = (lo + hi) / 2;
            if (jb->rowstart[mid] <= q) lo = mid;
            else hi = mid;
        }
        i = jb->r0 + lo;
        j = i + (q - jb->rowstart[lo]);
    } else {
        i = jb->r0 + q / m;
        j = q % m;
    }
    double v = 0.0;
    dw_status ss;
    const double *dxi = p->dX + i * Mx * d, *dyj = p->dY + j * My * d;
    if (jb->o->inhomogeneous) ss = diagonal_ode(p, dxi, dyj, Mx, &v);
    else if (jb->sym && i == j && jb->need_diag) {
        v = p->DX[i * (Nx + 1) + Nx];
        ss = DW_OK;
    } else
        ss = cross(p, dxi, Mx, jb->need_diag ? p->DX + i * (Nx + 1) : NULL, dyj, My,
                   jb->need_diag ? p->DY + j * (Ny + 1) : NULL, jb->ws + (size_t)tid * jb->wsz, &v);
    if (ss) return ss;
    jb->K[(i - jb->r0) * jb->ld + j - jb->cb] = v;
    if (jb->mirror) jb->K[(j - jb->r0) * jb->ld + i - jb->cb] = v;
    return DW_OK;
}

struct dw_nsk_plan {
    nsk p;
    nsk_job job;
    int nt;
};

void dw_sig_nsk_plan_clear(dw_nsk_plan *g)
{
    if (!g) return;
    free(g->p.dX);
    if (!g->job.sym) free(g->p.dY);
    free(g->p.DX);
    if (!g->job.sym) free(g->p.DY);
    free(g);
}

dw_status dw_sig_nsk_plan_init(dw_nsk_plan **out, const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx,
                               const double *Y, size_t m, size_t ly, size_t d)
{
    *out = NULL;
    if (!o) return dw_fail(DW_ERR_INVALID, "nsk: NULL options");
    if (!o->act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    dw_status s = dw_sig_check_paths(X, n, lx, d, "X");
    if (s) return s;
    if (Y && (s = dw_sig_check_paths(Y, m, ly, d, "Y"))) return s;
    const int sym = Y == NULL;
    if (sym) {
        Y = X;
        m = n;
        ly = lx;
    }
    if (o->inhomogeneous && lx != ly)
        return dw_fail(DW_ERR_INVALID, "inhomogeneous kernel: X and Y must share the time grid (same length), got %zu "
                                       "and %zu points",
                       lx, ly);
    if ((s = dw_core_check_alloc(nsk_bytes(o, n, lx, sym ? 0 : m, ly), "the neural-signature-kernel grid")))
        return s;
    dw_nsk_plan *g = dw_calloc(1, sizeof *g, "the neural-signature-kernel plan");
    if (!g) return DW_ERR_NOMEM;
    nsk *p = &g->p;
    p->o = o;
    p->sa2 = o->sigma_a * o->sigma_a;
    p->sb2 = o->sigma_b * o->sigma_b;
    p->s02 = o->sigma0 * o->sigma0;
    p->lam = lambda_of(o);
    p->R = 1 << p->lam;
    p->second = o->solver == DW_SIG_SECOND_ORDER && !o->grid;
    p->identity = p->second && !o->inhomogeneous && p->sa2 > 0 && !strcmp(dw_act_name(o->act), "identity");
    p->d = d;
    const size_t Mx = lx - 1, My = ly - 1, Nx = Mx * (size_t)p->R, Ny = My * (size_t)p->R;
    p->dX = dw_sig_increments(X, n, lx, d);
    p->dY = sym ? p->dX : dw_sig_increments(Y, m, ly, d);
    const int need_diag = !o->inhomogeneous && !p->identity;
    g->job = (nsk_job){p, o, n, m, Mx, My, Nx, Ny, d, sym, need_diag, 0, 0, 0, 0, NULL, 0, NULL, NULL,
                       6 * ((Nx > Ny ? Nx : Ny) + 1)};
    if (need_diag) {
        p->DX = dw_alloc(n, (Nx + 1) * sizeof(double), "self-kernel diagonals");
        p->DY = sym ? p->DX : dw_alloc(m, (Ny + 1) * sizeof(double), "self-kernel diagonals");
    }
    if (!p->dX || !p->dY || (need_diag && (!p->DX || !p->DY))) {
        dw_sig_nsk_plan_clear(g);
        return DW_ERR_NOMEM;
    }
    g->nt = dw_core_threads(o->threads);
    /* 1. self-kernels (homogeneous) */
    if (need_diag) {
        nsk_job *job = &g->job;
        const size_t tot = sym ? n : n + m;
        const int thr = tot > 1 && (double)tot * (double)Nx * (double)Nx > 2e4 ? g->nt : 1;
        if (!(job->ws = malloc((size_t)dw_par_workers(tot, thr) * job->wsz * sizeof(double))))
            s = dw_fail(DW_ERR_NOMEM, "nsk work space: out of memory");
        else
            s = dw_par_for(tot, thr, self_item, job);
        free(job->ws);
        job->ws = NULL;
        if (s) {
            dw_sig_nsk_plan_clear(g);
            return s;
        }
    }
    *out = g;
    return DW_OK;
}

dw_status dw_sig_nsk_rows(dw_nsk_plan *g, size_t r0, size_t r1, double *K, size_t ld, size_t cb, bool mirror)
{
    nsk_job *job = &g->job;
    const size_t n = r1 - r0, m = job->m;
    const int sym = job->sym;
    size_t npairs = 0;
    size_t *rowstart = NULL;
    if (sym) { /* q -> (i, j), j >= i, row-major over the upper triangle of the rows */
        rowstart = dw_alloc(n + 1, sizeof(size_t), "pair list");
        if (!rowstart) return DW_ERR_NOMEM;
        rowstart[0] = 0;
        for (size_t i = 0; i < n; i++) rowstart[i + 1] = rowstart[i] + (m - r0 - i);
        npairs = rowstart[n];
    } else {
        npairs = n * m;
    }
    job->rowstart = rowstart;
    job->nrows = n;
    job->r0 = r0;
    job->cb = cb;
    job->ld = ld;
    job->K = K;
    job->mirror = mirror;
    const int thr = npairs > 1 && (double)npairs * (double)job->Nx * (double)job->Ny > 2e4 ? g->nt : 1;
    dw_status s;
    if (!(job->ws = malloc((size_t)dw_par_workers(npairs, thr) * job->wsz * sizeof(double))))
        s = dw_fail(DW_ERR_NOMEM, "nsk work space: out of memory");
    else
        s = dw_par_for(npairs, thr, pair_item, job);
    free(job->ws);
    job->ws = NULL;
    free(rowstart);
    if (s) return s;
    for (size_t i = r0; i < r1; i++) /* the entries set: j >= i when symmetric */
        for (size_t j = sym ? i : 0; j < m; j++)
            if (!isfinite(K[(i - r0) * ld + j - cb]))
                return dw_fail(DW_ERR_RANGE, "neural signature kernel of pair (%zu, %zu) overflows (not finite); "
                                             "reduce sigma_A or the path increments",
                               i + 1, j + 1);
    return DW_OK;
}

dw_status dw_sig_nsk_gram(const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx, const double *Y, size_t m,
                          size_t ly, size_t d, double *K)
{
    dw_nsk_plan *g;
    dw_status s = dw_sig_nsk_plan_init(&g, o, X, n, lx, Y, m, ly, d);
    if (s) return s;
    if (!K) s = dw_fail(DW_ERR_INVALID, "nsk: NULL output");
    else s = dw_sig_nsk_rows(g, 0, n, K, g->job.m, 0, g->job.sym);
    dw_sig_nsk_plan_clear(g);
    return s;
}

/* The out-of-core Gram (deepwick/sig.h). */
static dw_status nsk_file_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    dw_nsk_plan *g = ctx;
    (void)slab;
    return dw_sig_nsk_rows(g, r0, r1, buf, w, g->job.m - w, false);
}

dw_status dw_sig_nsk_gram_file(const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                               size_t m, size_t ly, size_t d, const char *path, const dw_file_opts *fo)
{
    dw_nsk_plan *g;
    dw_status s = dw_sig_nsk_plan_init(&g, o, X, n, lx, Y, m, ly, d);
    if (s) return s;
    if (!Y) {
        m = n;
        ly = lx;
    }
    uint64_t h = dw_sig_gram_hash("nsk", X, n, lx, Y, m, ly, d);
    const int ints[] = {o->inhomogeneous, lambda_of(o), (int)o->solver, o->grid};
    const double reals[] = {o->sigma0, o->sigma_a, o->sigma_b};
    h = dw_ooc_hash(h, ints, sizeof ints);
    h = dw_ooc_hash(h, reals, sizeof reals);
    h = dw_ooc_hash(h, dw_act_name(o->act), strlen(dw_act_name(o->act)));
    const size_t shape[2] = {n, m};
    const ooc_rows_job job = {path, 2, shape, n, m, 1, Y == NULL, 1,
                              nsk_bytes(o, n, lx, Y ? m : 0, ly) + 8.0 * (double)(n + 1) + DW_OOC_STAGE_BYTES,
                              0.0, h, nsk_file_rows, g, NULL, NULL, NULL, NULL};
    s = dw_ooc_rows_file(&job, fo);
    dw_sig_nsk_plan_clear(g);
    return s;
}
