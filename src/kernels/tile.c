/* One tile of the Gram matrices (theory.md 1.2-1.3): X_I Y_J^T with OpenBLAS, the first layer, then every layer
 * on the tile while it sits in cache (no Gram-sized temporaries). Each entry depends only on its own inputs and
 * its inner product x.y comes from a BLAS call of one fixed shape (layer1_products), so results are bit-identical
 * for any tiling. */
#include "kernels/kernel.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

/* Layer-1 pairs this close to collinear (min(s, t) below) get s, t from the inputs directly (Kahan's chord
 * formula) instead of from the rounded K^1(x, y): the angle is then exact to rounding, not to sqrt(rounding). */
#define DW_REFINE_BELOW 0.0625

/* s = sin^2(theta/2), t = cos^2(theta/2) of the angle between the augmented inputs (sqrt(w/d) x, sqrt(b)) of a
 * nearly parallel (rho > 0) or antiparallel pair, exact to rounding of the inputs: sin^2 theta = |x~ ^ y~|^2/(ab)
 * from the wedge product written as x_k y_l - x_l y_k = m_k e_l - m_l e_k with e = y -+ x (exact by Sterbenz for
 * near-duplicates) and m = (x +- y)/2, or directly where that is more accurate (norms far apart); both forms are
 * symmetric under swapping x and y; then s = sin^2 / (2 (1 + cos)). O(d^2) per
 * refined pair; above DW_WEDGE_MAX_D the O(d) chord |xh - yh|^2 of the normalised vectors is used instead. */
#define DW_WEDGE_MAX_D 256
static void refine_pair(const dw_kernel_plan *p, size_t i, size_t j, double rho, double *s, double *t)
{
    const size_t d = p->d;
    const double *x = p->X.x + i * d, *y = p->Y.x + j * d;
    if (d > DW_WEDGE_MAX_D) {
        const double fi = p->X.fx[2 * i], fj = p->Y.fx[2 * j], bi = p->X.fx[2 * i + 1], bj = p->Y.fx[2 * j + 1];
        double S = (bi - bj) * (bi - bj), T = (bi + bj) * (bi + bj);
        for (size_t k = 0; k < d; k++) {
            double dm = fi * x[k] - fj * y[k], dp = fi * x[k] + fj * y[k];
            S += dm * dm;
            T += dp * dp;
        }
        *s = S / (S + T);
        *t = T / (S + T);
        return;
    }
    const double sg = rho >= 0 ? 1.0 : -1.0, wd = p->w[0] / (double)d, b0 = p->beta[0];
    /* Rounding error of the summands: ~eps |x||y| directly, ~eps |m||e| in the midpoint form; take the smaller. */
    double xx = 0, yy = 0, mm = 0, ee = 0;
    for (size_t k = 0; k < d; k++) {
        const double ek = y[k] - sg * x[k], mk = 0.5 * (x[k] + sg * y[k]);
        xx += x[k] * x[k];
        yy += y[k] * y[k];
        mm += mk * mk;
        ee += ek * ek;
    }
    const int midpoint = mm * ee < xx * yy;
    /* wedge = sum_{k<l} (u_k v_l - u_l v_k)^2 with (u, v) = (m, e) or (x, y): the factors once per pair (not once
     * per term), the non-negative terms summed in 8 interleaved partial sums (independent chains the compiler can
     * vectorise; a sum of non-negative terms has the same error bound in any order) */
    double u[DW_WEDGE_MAX_D], v[DW_WEDGE_MAX_D], bias = 0.0;
    for (size_t k = 0; k < d; k++) {
        u[k] = midpoint ? 0.5 * (x[k] + sg * y[k]) : x[k];
        v[k] = midpoint ? y[k] - sg * x[k] : y[k];
        const double dk = x[k] - y[k]; /* the bias coordinate's wedge components sqrt(wd b) (x_k - y_k) */
        bias += dk * dk;
    }
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t k = 0; k + 1 < d; k++) {
        const double uk = u[k], vk = v[k];
        size_t l = k + 1;
        for (; l + 8 <= d; l += 8)
            for (int r = 0; r < 8; r++) {
                const double q = uk * v[l + r] - u[l + r] * vk;
                acc[r] += q * q;
            }
        for (int r = 0; l < d; l++, r++) {
            const double q = uk * v[l] - u[l] * vk;
            acc[r] += q * q;
        }
    }
    const double wedge = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    const double a = field(p, &p->X, 0, F_A)[i], b = field(p, &p->Y, 0, F_A)[j];
    const double sin2 = fmin((wd * wd * wedge + wd * b0 * bias) / a / b, 1.0);
    const double near = sin2 / (2.0 * (1.0 + fabs(rho)));
    *s = rho >= 0 ? near : 1.0 - near;
    *t = rho >= 0 ? 1.0 - near : near;
}

static dw_status check_finite(const double *v, size_t ni, size_t nj, size_t njp, size_t i0, size_t j0, int layer,
                              const char *what)
{
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            if (!isfinite(v[i * njp + j]))
                return dw_fail(DW_ERR_RANGE,
                               "kernel overflows: %s(x_%zu, y_%zu) is not finite at layer %d; reduce the depth or "
                               "the variances",
                               what, i0 + i + 1, j0 + j + 1, layer);
    return DW_OK;
}

/* Write a tile. Symmetric Gram matrices (sym 1): entries with j >= i go to (i, j) and those with j > i also to
 * (j, i), so every entry is written exactly once, from cache, with no separate mirror pass; sym 2 (the file
 * driver, ooc.c): the entries with j >= i only. out points at entry (i0, j0) with leading dimension ld. */
static void store(double *out, size_t ld, const double *v, size_t ni, size_t nj, size_t njp, int sym, size_t i0,
                  size_t j0)
{
    if (!sym) {
        for (size_t i = 0; i < ni; i++) memcpy(out + i * ld, v + i * njp, nj * sizeof(double));
        return;
    }
    for (size_t i = 0; i < ni; i++) {
        const size_t gi = i0 + i, jstart = gi > j0 ? gi - j0 : 0;
        if (jstart < nj) memcpy(out + i * ld + jstart, v + i * njp + jstart, (nj - jstart) * sizeof(double));
    }
    if (sym == 2) return;
    double *origin = out - i0 * ld - j0; /* entry (0, 0) */
    for (size_t j = 0; j < nj; j++) {
        const size_t gj = j0 + j;
        for (size_t i = 0; i < ni && i0 + i < gj; i++) origin[gj * ld + i0 + i] = v[i * njp + j];
    }
}

/* Generic activations, one row after the series step: entries whose series bound (in bnd) misses the target are
 * recomputed from their layer-l state (c0, th0) by the certified pairwise route (2-D quadrature); near-duplicate
 * pairs of a kinked phi (hsr, NULL otherwise: the row's carried half-angles, -1 where not carried) by
 * dw_kern_near_entry (near.c), which also advances their half-angle. */
static dw_status generic_fix(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i, size_t j0, size_t nj,
                             double *bnd, const double *c0, const double *th0, double *c, double *th,
                             near_state *ns, size_t e0, gen_stats *gs)
{
    double *hsr = ns ? ns->hs + e0 : NULL, *ehr = ns ? ns->ehs + e0 : NULL;
    const double *ai = field(p, &p->X, l, F_A), *aj = field(p, &p->Y, l, F_A);
    const double *gi = field(p, &p->X, l, GEN_GB), *gj = field(p, &p->Y, l, GEN_GB);
    const size_t si = p->X.np, sj = p->Y.np;
    gs->evaluations += nj;
    for (size_t j = 0; j < nj; j++) {
        double b = bnd[j];
        if (hsr && !(p->symmetric && i == j0 + j)) {
            double hs = hsr[j], ehs = ehr[j], t;
            if (!(hs >= 0)) { /* from the covariance: rho is off by at most the tile's bound dr */
                dw_act_half_angle(ai[i], aj[j0 + j], c0[j], &hs, &t);
                ehs = 0.5 * ns->dr + 4 * DBL_EPSILON * hs;
            }
            hsr[j] = -1.0;
            if (hs < DW_NEAR_HS) {
                const double sc = gi[i] * gj[j0 + j], scd = gi[3 * si + i] * gj[3 * sj + j0 + j];
                double rb, kink;
                int done;
                dw_status st = dw_kern_near_entry(p, sp, l, i, j0 + j, th0[j], sc, scd, &c[j], &th[j], &hs, &ehs, &rb,
                                          &kink, &done);
                if (st) return st;
                if (done) {
                    hsr[j] = hs;
                    ehr[j] = ehs;
                    ns->kink = fmax(ns->kink, kink);
                    ns->dr_next = fmax(ns->dr_next, 2 * ehs);
                    gs->quadrature++;
                    gs->routes |= 1;
                    if (rb > gs->max_bound) gs->max_bound = rb;
                    bnd[j] = rb;
                    continue;
                }
            }
        } else if (hsr) {
            hsr[j] = 0.0; /* the pair (x, x) */
        }
        if (p->symmetric && i == j0 + j) {
            /* the pair (x, x): E[phi(u)^2] and E[phi'(u)^2] of the per-point expansion (no series) */
            const double V = gi[i] * gi[i], Vd = gi[3 * si + i] * gi[3 * si + i], cn = sp->w * V + sp->beta;
            c[j] = cn;
            if (sp->ntk) th[j] = (sp->standard ? sp->fan_in * V + sp->has_bias : cn) + sp->w * Vd * th0[j];
            /* bound: the errors of E phi^2, E phi'^2 (slow convergence of the rules at a kink can leave them
             * above the target: then the pair goes to the 2-D routes below, at rho = 1) */
            const double rb = fmax(V > 0 ? gi[6 * si + i] / V : 0.0, Vd > 0 ? gi[7 * si + i] / Vd : 0.0);
            if (rb <= p->target) {
                if (rb > gs->max_bound) gs->max_bound = rb;
                bnd[j] = rb;
                continue;
            }
            b = rb;
        }
        if (b > p->target) {
            double V, Vd, bv, bd;
            const double lim = sqrt(ai[i]) * sqrt(aj[j0 + j]), cc = fmin(fmax(c0[j], -lim), lim);
            const double sc = gi[i] * gj[j0 + j], scd = gi[3 * si + i] * gj[3 * sj + j0 + j];
            dw_status st = dw_act_dual_fix(p->act, ai[i], aj[j0 + j], cc, p->target, sc, scd, &V, &Vd, &bv, &bd);
            if (st) return st;
            const double rb = fmax(sc > 0 ? bv / sc : bv > 0 ? INFINITY : 0.0,
                                   scd > 0 ? bd / scd : bd > 0 ? INFINITY : 0.0);
            if (rb < b) {
                const double cn = sp->w * V + sp->beta;
                c[j] = cn;
                if (sp->ntk) {
                    const double base = sp->standard ? sp->fan_in * V + sp->has_bias : cn;
                    th[j] = base + sp->w * Vd * th0[j];
                }
                b = rb;
                gs->quadrature++;
                gs->routes |= 1;
            }
        }
        if (b > gs->max_bound) gs->max_bound = b;
        bnd[j] = b; /* the entry's own bound (ebound.c) */
    }
    return DW_OK;
}

/* A cell of the fixed grid of TILE_I x TILE_J blocks from (0, 0) that the drivers' tiles are (gram.c, ooc.c). */
static int is_cell(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1)
{
    return i0 % TILE_I == 0 && j0 % TILE_J == 0 && i1 == (i0 + TILE_I < p->X.n ? i0 + TILE_I : p->X.n) &&
           j1 == (j0 + TILE_J < p->Y.n ? j0 + TILE_J : p->Y.n);
}

/* The inner products x_i . y_j of the tile into g (row stride njp). BLAS picks its kernel by the shape of the call
 * (OpenBLAS' small-matrix kernels round differently), so with grid each product comes from the dgemm of the whole
 * grid cell holding it, whatever the tile: a cell inside the tile straight into g, one it overlaps through cell
 * (TILE_I x TILE_J scratch). Without grid (dw_kern_tile_direct): one call for the tile. */
static void layer1_products(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *g,
                            size_t njp, int grid, double *cell)
{
    const int d = (int)p->d;
    if (!grid || is_cell(p, i0, i1, j0, j1)) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(i1 - i0), (int)(j1 - j0), d, 1.0,
                    p->X.x + i0 * p->d, d, p->Y.x + j0 * p->d, d, 0.0, g, (int)njp);
        return;
    }
    for (size_t a0 = i0 / TILE_I * TILE_I; a0 < i1; a0 += TILE_I) {
        const size_t a1 = a0 + TILE_I < p->X.n ? a0 + TILE_I : p->X.n, r0 = a0 > i0 ? a0 : i0, r1 = a1 < i1 ? a1 : i1;
        for (size_t b0 = j0 / TILE_J * TILE_J; b0 < j1; b0 += TILE_J) {
            const size_t b1 = b0 + TILE_J < p->Y.n ? b0 + TILE_J : p->Y.n, c0 = b0 > j0 ? b0 : j0;
            const size_t c1 = b1 < j1 ? b1 : j1;
            const int inside = r0 == a0 && r1 == a1 && c0 == b0 && c1 == b1;
            double *dst = inside ? g + (a0 - i0) * njp + (b0 - j0) : cell;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(a1 - a0), (int)(b1 - b0), d, 1.0,
                        p->X.x + a0 * p->d, d, p->Y.x + b0 * p->d, d, 0.0, dst, inside ? (int)njp : TILE_J);
            if (!inside)
                for (size_t i = r0; i < r1; i++)
                    memcpy(g + (i - i0) * njp + (c0 - j0), cell + (i - a0) * TILE_J + (c0 - b0),
                           (c1 - c0) * sizeof(double));
        }
    }
}

/* Layer 1's state of the tile from the inner products g (row stride njp): the covariances c, the NTK th and, for
 * a homogeneous phi (homog), s = sin^2, t = cos^2 of the half-angle, refined from the inputs for nearly
 * (anti)parallel pairs; for a kinked generic phi (hs non-NULL) the refined half-angles of the nearly parallel pairs
 * (-1 elsewhere) and their bounds ehs. Padding lanes get harmless values. Each quantity is a separate pass over a
 * row without branches on the activation (vectorisable), with the same operations per entry as one loop, so the
 * same bits: the clamp to [0, 1] is fmin(fmax(x, 0), 1) (a NaN goes to 0) written inline. */
static void layer1_state(const dw_kernel_plan *p, size_t i0, size_t ni, size_t j0, size_t nj, size_t njp,
                         const double *g, double *c, double *th, double *s, double *t, int homog, double *hs,
                         double *ehs)
{
    const double wd = p->w[0] / (double)p->d, b0 = p->beta[0], hb0 = b0 > 0 ? 1.0 : 0.0;
    const double *ihx = field(p, &p->X, 0, F_IH), *ihy = field(p, &p->Y, 0, F_IH) + j0;
    for (size_t i = 0; i < ni; i++) {
        const size_t r = i * njp;
        const double *gr = g + r, ihi = ihx[i0 + i];
        double *cr = c + r, *thr = th + r;
        for (size_t j = 0; j < nj; j++) cr[j] = wd * gr[j] + b0;
        if (p->standard)
            for (size_t j = 0; j < nj; j++) thr[j] = gr[j] + hb0;
        else
            memcpy(thr, cr, nj * sizeof(double));
        for (size_t j = nj; j < njp; j++) cr[j] = thr[j] = 0.0; /* padding lanes */
        if (hs) { /* the half-angle of nearly parallel pairs from the inputs, exact to their rounding */
            for (size_t j = 0; j < njp; j++) hs[r + j] = -1.0;
            for (size_t j = 0; j < nj; j++) {
                const double ih = ihi * ihy[j], rho = cr[j] * ih;
                if (ih > 0.0 && 0.5 - 0.5 * rho < DW_REFINE_BELOW) {
                    double sr, tr;
                    refine_pair(p, i0 + i, j0 + j, rho, &sr, &tr);
                    hs[r + j] = sr;
                    ehs[r + j] = sr * (double)(4 * p->d + 16) * DBL_EPSILON;
                }
            }
        }
        double *sr = s + r, *tr = t + r;
        for (size_t j = nj; j < njp; j++) sr[j] = tr[j] = 0.5;
        if (!homog) continue;
        for (size_t j = 0; j < nj; j++) {
            const double ih = ihi * ihy[j], rho = cr[j] * ih, a = 0.5 - 0.5 * rho, b = 0.5 + 0.5 * rho;
            const double ca = a > 0.0 ? (a < 1.0 ? a : 1.0) : 0.0, cb = b > 0.0 ? (b < 1.0 ? b : 1.0) : 0.0;
            sr[j] = ih == 0.0 ? 0.5 : ca;
            tr[j] = ih == 0.0 ? 0.5 : cb;
        }
        for (size_t j = 0; j < nj; j++) /* nearly (anti)parallel pairs: s, t from the inputs (ih = 0 gave 0.5) */
            if (sr[j] < DW_REFINE_BELOW || tr[j] < DW_REFINE_BELOW)
                refine_pair(p, i0 + i, j0 + j, cr[j] * (ihi * ihy[j]), &sr[j], &tr[j]);
    }
}

/* One tile (grid: layer 1's products as the grid cells compute them); BK, BT: per-entry bounds (ebound.c) or NULL. */
static dw_status tile_run(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                          double *Theta, double *BK, double *BT, size_t ld, size_t layer_stride, int sym, int grid)
{
    if (!p || (!K && !Theta)) return dw_fail(DW_ERR_INVALID, "kernel tile: NULL plan or no output");
    if (i1 < i0 || j1 < j0 || i1 > p->X.n || j1 > p->Y.n)
        return dw_fail(DW_ERR_INVALID, "kernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram matrix",
                       i0, i1, j0, j1, p->X.n, p->Y.n);
    const size_t ni = i1 - i0, nj = j1 - j0, njp = (nj + 3) & ~(size_t)3;
    if (!ni || !nj) return DW_OK;
    if (nj > ld && (ni > 1 || p->all_layers))
        return dw_fail(DW_ERR_INVALID, "kernel tile: ld %zu < %zu columns", ld, nj);
    const int ntk = Theta != NULL, homog = dw_act_homogeneous(p->act), generic = p->act->fam == DW_FAM_GENERIC;
    gen_stats gs = {0, 0, 0, 0, 0, 0};
    const size_t sz = ni * njp;
    const int eb = BK || BT; /* per-entry bounds (ebound.c): final layer only */
    grid = grid && !is_cell(p, i0, i1, j0, j1);
    const size_t L1 = (size_t)p->depth + 1, nb = eb ? 7 * sz + (ni + nj) * L1 : 0;
    const size_t ncell = grid ? (size_t)TILE_I * TILE_J : 0;
    const int kinked = generic && p->act->nkinks > 0;
    const size_t nh = kinked ? 2 * sz : 0; /* kinked generic phi: near-duplicate pairs' half-angles (generic_fix) */
    double *buf = dw_alloc(5 * sz + ncell + nb + nh, sizeof(double), "kernel tile");
    if (!buf) return DW_ERR_NOMEM;
    double *g = buf, *s = buf + sz, *t = buf + 2 * sz, *c = buf + 3 * sz, *th = buf + 4 * sz;
    /* bounds: the layer-l state as the sweep read it (os, ot, oth), the entries' bounds (generic: dsb holds the
     * relative bound of rho, dthb Theta's), the points' relative bounds of a^l (eax, eay: L1 per point) */
    double *os = buf + 5 * sz + ncell, *ot = os + sz, *oth = ot + sz, *dcb = oth + sz, *dsb = dcb + sz;
    double *dtb = dsb + sz;
    double *dthb = dtb + sz, *eax = dthb + sz, *eay = eax + ni * L1;
    double *hs = kinked ? buf + 5 * sz + ncell + nb : NULL; /* then their error bounds, sz further */
    near_state ns = {hs, kinked ? hs + sz : NULL, 0, 0, 0};
    long double *ref = NULL; /* the relu family's long-double reference (ebound_ref.c): per point a, sp (L1 each) */
    double *rea = NULL;
    if (eb) {
        dw_kern_ebound_points(p, &p->X, i0, i1, eax);
        dw_kern_ebound_points(p, &p->Y, j0, j1, eay);
        if (!generic && dw_kern_ebound_smooth_ok(p)) { /* smooth closed forms: a, and its absolute bound */
            ref = dw_alloc((ni + nj) * L1, sizeof *ref + sizeof *rea, "kernel tile: bound reference");
            if (!ref) {
                free(buf);
                return DW_ERR_NOMEM;
            }
            rea = (double *)(ref + (ni + nj) * L1);
            dw_kern_ebound_smooth_points(p, &p->X, i0, i1, ref, rea);
            dw_kern_ebound_smooth_points(p, &p->Y, j0, j1, ref + ni * L1, rea + ni * L1);
        } else if (!generic && dw_kern_ebound_ref_ok(p)) {
            ref = dw_alloc(2 * (ni + nj) * L1, sizeof *ref + sizeof *rea, "kernel tile: bound reference");
            if (!ref) {
                free(buf);
                return DW_ERR_NOMEM;
            }
            rea = (double *)(ref + 2 * (ni + nj) * L1);
            dw_kern_ebound_ref_points(p, &p->X, i0, i1, ref, ref + ni * L1, rea);
            dw_kern_ebound_ref_points(p, &p->Y, j0, j1, ref + 2 * ni * L1, ref + (2 * ni + nj) * L1, rea + ni * L1);
        }
    }
    /* bound.c: the tile's relative error bounds of rho and Theta, from the rounding of the first layer */
    double tdr = (double)(2 * p->d + 4) * DBL_EPSILON, tet = (double)(p->d + 2) * DBL_EPSILON;

    /* Layer 1 from the inner products. */
    layer1_products(p, i0, i1, j0, j1, g, njp, grid, buf + 5 * sz);
    layer1_state(p, i0, ni, j0, nj, njp, g, c, th, s, t, homog, kinked ? hs : NULL, kinked ? ns.ehs : NULL);
    /* the relu family's a priori analysis of the sweep (ebound.c), where no long-double reference answers */
    const int apriori = eb && !generic && !ref;
    if (eb)
        for (size_t i = 0; i < ni; i++) {
            const size_t e = i * njp;
            if (ref)
                for (size_t j = 0; j < nj; j++) dcb[e + j] = dthb[e + j] = INFINITY;
            else if (generic)
                for (size_t j = 0; j < nj; j++) {
                    dsb[e + j] = tdr;
                    dthb[e + j] = tet;
                }
            else
                dw_kern_ebound_first(p, i0 + i, j0, nj, c + e, s + e, t + e, ntk ? th + e : NULL, eax[i * L1], eay,
                                     L1, dcb + e, dsb + e, dtb + e, dthb + e);
        }
    dw_status st = DW_OK;
    for (int l = 0;; l++) {
        if (eb && l == p->depth) {
            for (size_t i = 0; i < ni; i++) {
                const size_t e = i * njp;
                if (generic) dw_kern_ebound_generic_abs(p, i0 + i, j0, nj, dsb + e, dthb + e);
                else if (ref && dw_kern_ebound_smooth_ok(p)) {
                    const size_t js = sym && i0 + i > j0 ? ((i0 + i - j0) & ~(size_t)3) : 0, f = e + js;
                    if (js < nj)
                        dw_kern_ebound_smooth(p, i0 + i, j0 + js, nj - js, c + f, ntk ? th + f : NULL, dcb + f,
                                              ntk ? dthb + f : NULL, ref + i * L1, rea + i * L1,
                                              ref + (ni + js) * L1, rea + (ni + js) * L1);
                } else if (ref) { /* a symmetric Gram stores the entries j >= i of a row (4-aligned start) */
                    const size_t js = sym && i0 + i > j0 ? ((i0 + i - j0) & ~(size_t)3) : 0, f = e + js;
                    const long double *ry = ref + 2 * ni * L1;
                    const dw_ref_pts ri = {ref + i * L1, ref + (ni + i) * L1, rea + i * L1};
                    const dw_ref_pts rj = {ry + js * L1, ry + (nj + js) * L1, rea + (ni + js) * L1};
                    if (js < nj)
                        dw_kern_ebound_ref(p, i0 + i, j0 + js, nj - js, c + f, ntk ? th + f : NULL, dcb + f,
                                           ntk ? dthb + f : NULL, &ri, &rj);
                }
            }
            if (BK) store(BK, ld, generic ? dsb : dcb, ni, nj, njp, sym, i0, j0);
            if (BT) store(BT, ld, dthb, ni, nj, njp, sym, i0, j0);
        }
        if (p->all_layers || l == p->depth) {
            size_t off = p->all_layers ? (size_t)l * layer_stride : 0;
            if (K) {
                if ((st = check_finite(c, ni, nj, njp, i0, j0, l + 1, "K"))) break;
                store(K + off, ld, c, ni, nj, njp, sym, i0, j0);
            }
            if (Theta) {
                if ((st = check_finite(th, ni, nj, njp, i0, j0, l + 1, "Theta"))) break;
                store(Theta + off, ld, th, ni, nj, njp, sym, i0, j0);
            }
        }
        if (l == p->depth) break;
        ns.dr = tdr;
        ns.kink = ns.dr_next = 0.0;
        dw_pts px = dw_kern_pts(p, &p->X, l), py = dw_kern_pts(p, &p->Y, l);
        dw_step sp = dw_kern_step(p, l, ntk);
        dw_row_fn fn = homog ? p->impl->homog : p->impl->smooth;
        for (size_t i = 0; i < ni; i++) {
            /* Symmetric Gram: only entries with j >= i are stored, so start each row there (4-aligned). */
            const size_t js = sym && i0 + i > j0 ? ((i0 + i - j0) & ~(size_t)3) : 0;
            if (js >= nj) continue;
            if (generic) { /* keep the layer-l state of the row for entries the series cannot certify */
                memcpy(g + i * njp + js, c + i * njp + js, (nj - js) * sizeof(double));
                if (ntk) memcpy(t + i * njp + js, th + i * njp + js, (nj - js) * sizeof(double));
            }
            const size_t e = i * njp + js, ne = nj - js;
            if (apriori) {
                memcpy(os + e, s + e, ne * sizeof(double));
                memcpy(ot + e, t + e, ne * sizeof(double));
                if (ntk) memcpy(oth + e, th + e, ne * sizeof(double));
            }
            fn(&sp, ne, &px, i0 + i, &py, j0 + js, s + e, t + e, c + e, th + e);
            if (generic && (st = generic_fix(p, &sp, l, i0 + i, j0 + js, ne, s + e, g + e, t + e, c + e, th + e,
                                             kinked ? &ns : NULL, e, &gs)))
                break;
            if (eb && generic) {
                dw_kern_ebound_series(p, &sp, l, i0 + i, j0 + js, ne, g + e, t + e, c + e, th + e, s + e);
                dw_kern_ebound_generic(p, &sp, l, i0 + i, j0 + js, ne, s + e, g + e, dsb + e, dthb + e);
            }
            if (apriori)
                dw_kern_ebound_relu(p, &sp, l, i0 + i, j0 + js, ne, os + e, ot + e, oth + e, s + e, t + e, c + e,
                                    th + e, eax + i * L1, eay + js * L1, L1, dsb + e, dtb + e, dcb + e, dthb + e);
        }
        if (st) break;
        if (generic) { /* bound.c: the tile's propagated bounds (g holds the layer-l covariances) */
            const double kink = kinked ? fmax(dw_kern_kink_max(p, l, i0, i1, j0, j1, g, hs, njp, sym, tdr), ns.kink)
                                       : 0.0;
            dw_kern_bound_tile(p, &sp, l, i0, i1, j0, j1, gs.max_bound, kink, &tdr, &tet, &gs.entry_bound);
            tdr = fmax(tdr, ns.dr_next); /* the carried half-angles' errors, as errors of rho */
        }
    }
    if (generic) { /* max, integer sums and a bitwise or: the same whatever the order of the tiles */
        pthread_mutex_lock(&stats_lock);
        gen_stats *S = p->stats;
        if (gs.max_bound > S->max_bound) S->max_bound = gs.max_bound;
        if (gs.entry_bound > S->entry_bound) S->entry_bound = gs.entry_bound;
        S->evaluations += gs.evaluations;
        S->quadrature += gs.quadrature;
        S->routes |= gs.routes;
        pthread_mutex_unlock(&stats_lock);
    }
    free(ref);
    free(buf);
    return st;
}

dw_status dw_kern_tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                       double *Theta, size_t ld, size_t layer_stride, int sym)
{
    return tile_run(p, i0, i1, j0, j1, K, Theta, NULL, NULL, ld, layer_stride, sym, 1);
}

dw_status dw_kern_tile_direct(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                              double *Theta, size_t ld, size_t layer_stride)
{
    return tile_run(p, i0, i1, j0, j1, K, Theta, NULL, NULL, ld, layer_stride, 0, 0);
}

dw_status dw_kern_tile_b(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, double *BK, double *BT, size_t ld, size_t layer_stride, int sym)
{
    return tile_run(p, i0, i1, j0, j1, K, Theta, BK, BT, ld, layer_stride, sym, 1);
}
