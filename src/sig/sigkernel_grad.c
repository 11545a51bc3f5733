/* Gradients of signature-kernel Gram matrices with respect to the paths and the static kernel's scale (theory.md 5):
 * the discrete adjoint of the Goursat solver of sigkernel.c, so the gradient is that of the computed Gram matrix
 * (the same dyadic refinement and cell update), not of the PDE's limit.
 *
 * The forward cell update is k[p+1, q+1] = (k[p+1, q] + k[p, q+1]) A_c - k[p, q] B_c, with A_c, B_c functions of the
 * cell's increment product g_c = G_IJ / 2^(ox + oy) (dyadic orders ox of X, oy of Y; one value per segment pair
 * (I, J)). With a[p, q] = dK/dk[p, q] (a = 1 at the far corner) the adjoint sweep runs the grid backwards:
 *   a[p, q] = a[p, q+1] A_(p-1, q) + a[p+1, q] A_(p, q-1) - a[p+1, q+1] B_(p, q)   (missing cells count 0),
 * the adjoint Goursat problem of sigkernel / pySigLib, and dK/dg_c = a[p+1, q+1] ((k[p+1, q] + k[p, q+1]) A'(g_c) -
 * k[p, q] B'(g_c)). Summed over a segment pair's cells this gives dK/dG_IJ, which goes to the path points through
 * G_IJ = scale^2 <dx_I, dy_J> (linear) or the second difference of exp(-|x - y|^2 / (2 scale^2)) (RBF).
 *
 * The forward grid of a pair is kept whole ((lx-1) 2^ox + 1) x ((ly-1) 2^oy + 1) per lane), LANES pairs at
 * once as in the forward solver. Pairs go in batches of a fixed number of groups, whose per-pair gradients are
 * added into grad_X / grad_Y in pair order: the result does not depend on the thread count.
 */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANES 8

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(DW_NO_CLONES)
#define DW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DW_CLONES
#endif

typedef struct {
    const dw_sig_kernel_opts *o;
    const double *X, *Y; /* Y == X when symmetric */
    size_t lx, ly, d;
    size_t Nr, Nc;  /* refined cells per direction */
    size_t per;     /* doubles of one pair's gradient: (lx + ly) d + 1 (the scale's last) */
    size_t wsz;     /* doubles of one worker's work space */
} gplan;

typedef struct {
    size_t xi[LANES], yj[LANES];
    double w[LANES]; /* weight of the pair (the sum of its grad_K entries) */
} lanes;

/* The forward solve with every row kept: k is (Nr + 1) x (Nc + 1) x LANES; A, B per segment pair (Mx x My x LANES). */
DW_CLONES static void forward_grid(double *restrict k, const double *restrict A, const double *restrict B, size_t Nr,
                                   size_t Nc, size_t My, int lx, int ly)
{
    const size_t W = Nc + 1;
    for (size_t c = 0; c < W * LANES; c++) k[c] = 1.0;
    for (size_t r = 0; r < Nr; r++) {
        const double *up = k + r * W * LANES;
        double *nw = k + (r + 1) * W * LANES;
        const double *Ar = A + (r >> lx) * My * LANES, *Br = B + (r >> lx) * My * LANES;
        for (int l = 0; l < LANES; l++) nw[l] = 1.0;
        for (size_t c = 0; c < Nc; c++) {
            const double *a = Ar + (c >> ly) * LANES, *b = Br + (c >> ly) * LANES;
            for (int l = 0; l < LANES; l++)
                nw[(c + 1) * LANES + l] =
                    (nw[c * LANES + l] + up[(c + 1) * LANES + l]) * a[l] - up[c * LANES + l] * b[l];
        }
    }
}

/* The adjoint sweep: an = row P + 1, ac = row P of a, entries 0..Nc + 1 (entry Nc + 1 and row Nr + 1 are zero
 * padding, whose coefficients are clamped to existing cells); gg (per segment pair) += the cells' dK/dg. */
DW_CLONES static void adjoint(const double *restrict k, const double *restrict A, const double *restrict B,
                              const double *restrict DA, const double *restrict DB, double *restrict gg,
                              double *restrict an, double *restrict ac, size_t Nr, size_t Nc, size_t My, int lx,
                              int ly)
{
    const size_t W = Nc + 1;
    memset(an, 0, (W + 1) * LANES * sizeof(double));
    for (size_t P = Nr; P >= 1; P--) {
        memset(ac + Nc * LANES, 0, 2 * LANES * sizeof(double));
        const size_t bu = ((P - 1) >> lx) * My, bd = ((P < Nr ? P : Nr - 1) >> lx) * My;
        const double *kr = k + P * W * LANES, *kp = kr - W * LANES;
        for (size_t Q = Nc; Q >= 1; Q--) {
            const size_t cq = (Q < Nc ? Q : Nc - 1) >> ly, cm = (Q - 1) >> ly;
            const double *a1 = A + (bu + cq) * LANES, *a2 = A + (bd + cm) * LANES, *b3 = B + (bd + cq) * LANES;
            const double *da = DA + (bu + cm) * LANES, *db = DB + (bu + cm) * LANES;
            double *gc = gg + (bu + cm) * LANES, v[LANES];
            for (int l = 0; l < LANES; l++)
                v[l] = ac[(Q + 1) * LANES + l] * a1[l] + an[Q * LANES + l] * a2[l] - an[(Q + 1) * LANES + l] * b3[l];
            if (P == Nr && Q == Nc)
                for (int l = 0; l < LANES; l++) v[l] = 1.0; /* dK/dK */
            for (int l = 0; l < LANES; l++) { /* cell (P - 1, Q - 1) */
                ac[Q * LANES + l] = v[l];
                gc[l] += v[l] * ((kr[(Q - 1) * LANES + l] + kp[Q * LANES + l]) * da[l] - kp[(Q - 1) * LANES + l] * db[l]);
            }
        }
        double *t = an;
        an = ac;
        ac = t;
    }
}

/* Lane-interleaved points (diff = 0) or increments (diff = 1) of the paths P_l = base + idx[l] len d:
 * out[(i d + a) LANES + l]. */
static void lanes_of(const double *base, const size_t *idx, size_t len, size_t d, int diff, double *out)
{
    for (int l = 0; l < LANES; l++) {
        const double *x = base + idx[l] * len * d;
        for (size_t i = 0; i + (size_t)diff < len; i++)
            for (size_t a = 0; a < d; a++)
                out[(i * d + a) * LANES + (size_t)l] = diff ? x[(i + 1) * d + a] - x[i * d + a] : x[i * d + a];
    }
}

/* Per segment pair: g (G), the cell coefficients A, B and their derivatives in g, as the forward computes them.
 * Linear: from the lanes' increments u (Mx x d) and v (My x d); RBF: from kappa on the points (lx x ly). */
DW_CLONES static void coefficients(const double *restrict u, const double *restrict v, const double *restrict kap,
                                   size_t Mx, size_t My, size_t d, double s2, double scale4, int isrbf, int second,
                                   double *restrict G, double *restrict A, double *restrict B, double *restrict DA,
                                   double *restrict DB)
{
    for (size_t I = 0; I < Mx; I++)
        for (size_t J = 0; J < My; J++) {
            double *g = G + (I * My + J) * LANES;
            if (isrbf) {
                const double *k0 = kap + (I * (My + 1) + J) * LANES, *k1 = k0 + (My + 1) * LANES;
                for (int l = 0; l < LANES; l++) g[l] = ((k1[LANES + l] + k0[l]) - (k1[l] + k0[LANES + l])) * scale4;
            } else {
                double acc[LANES] = {0};
                for (size_t a = 0; a < d; a++)
                    for (int l = 0; l < LANES; l++) acc[l] += u[(I * d + a) * LANES + l] * v[(J * d + a) * LANES + l];
                for (int l = 0; l < LANES; l++) g[l] = acc[l] * s2 * scale4;
            }
        }
    for (size_t q = 0; q < Mx * My * LANES; q++) {
        const double g = G[q];
        if (second) {
            const double g2 = g * g / 12.0;
            A[q] = 1.0 + 0.5 * g + g2;
            B[q] = 1.0 - g2;
            DA[q] = 0.5 + g / 6.0;
            DB[q] = -g / 6.0;
        } else {
            A[q] = 1.0;
            B[q] = 1.0 - g;
            DA[q] = 0.0;
            DB[q] = -1.0;
        }
    }
}

/* Linear: with c = dK/d<u_I, v_J> (gg scaled in place), gu_I = sum_J c_IJ v_J and gv_J = sum_I c_IJ u_I. */
DW_CLONES static void to_increments(double *restrict gg, const double *restrict u, const double *restrict v,
                                    size_t Mx, size_t My, size_t d, double f, double *restrict gu,
                                    double *restrict gv)
{
    for (size_t q = 0; q < Mx * My * LANES; q++) gg[q] *= f;
    memset(gu, 0, Mx * d * LANES * sizeof(double));
    memset(gv, 0, My * d * LANES * sizeof(double));
    for (size_t I = 0; I < Mx; I++)
        for (size_t J = 0; J < My; J++) {
            const double *c = gg + (I * My + J) * LANES;
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++) {
                    gu[(I * d + a) * LANES + l] += c[l] * v[(J * d + a) * LANES + l];
                    gv[(J * d + a) * LANES + l] += c[l] * u[(I * d + a) * LANES + l];
                }
        }
}

/* RBF: dK/dkappa on the points (gk, lx x ly) from dK/dG (second differences), then through kappa = exp(-r^2 s2):
 * dkappa/dx = -2 s2 kappa (x - y), dkappa/dscale = kappa r^2 / scale^3 (summed into dsc without the 1/scale^3). */
DW_CLONES static void rbf_to_points(const double *restrict gg, const double *restrict kap, const double *restrict xl,
                                    const double *restrict yl, size_t lx, size_t ly, size_t d, double s2,
                                    double scale4, double *restrict gk, double *restrict gx, double *restrict gy,
                                    double *restrict dsc)
{
    const size_t Mx = lx - 1, My = ly - 1;
    memset(gk, 0, lx * ly * LANES * sizeof(double));
    for (size_t I = 0; I < Mx; I++)
        for (size_t J = 0; J < My; J++)
            for (int l = 0; l < LANES; l++) {
                const double v = gg[(I * My + J) * LANES + l] * scale4;
                gk[((I + 1) * ly + J + 1) * LANES + l] += v;
                gk[(I * ly + J) * LANES + l] += v;
                gk[((I + 1) * ly + J) * LANES + l] -= v;
                gk[(I * ly + J + 1) * LANES + l] -= v;
            }
    memset(gx, 0, lx * d * LANES * sizeof(double));
    memset(gy, 0, ly * d * LANES * sizeof(double));
    for (int l = 0; l < LANES; l++) dsc[l] = 0.0;
    for (size_t i = 0; i < lx; i++)
        for (size_t j = 0; j < ly; j++) {
            double c[LANES], r2[LANES] = {0};
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++) {
                    const double t = xl[(i * d + a) * LANES + l] - yl[(j * d + a) * LANES + l];
                    r2[l] += t * t;
                }
            for (int l = 0; l < LANES; l++) {
                c[l] = gk[(i * ly + j) * LANES + l] * kap[(i * ly + j) * LANES + l];
                dsc[l] += c[l] * r2[l];
            }
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++) {
                    const double t = -2.0 * s2 * c[l] * (xl[(i * d + a) * LANES + l] - yl[(j * d + a) * LANES + l]);
                    gx[(i * d + a) * LANES + l] += t;
                    gy[(j * d + a) * LANES + l] -= t;
                }
        }
}

/* One group of LANES pairs: out[l * per ..] = w_l (dK/dx (lx x d), dK/dy (ly x d), dK/dscale). */
static void solve_group(const gplan *p, const lanes *L, double *ws, double *out)
{
    const dw_sig_kernel_opts *o = p->o;
    const size_t lx = p->lx, ly = p->ly, d = p->d, Mx = lx - 1, My = ly - 1, Nr = p->Nr, Nc = p->Nc;
    const int ox = o->dyadic_order, oy = o->dyadic_order_y;
    const int second = o->solver == DW_SIG_SECOND_ORDER, isrbf = o->static_kernel == DW_SIG_RBF;
    const double scale4 = ldexp(1.0, -(ox + oy));
    const double s2 = isrbf ? 0.5 / (o->scale * o->scale) : o->scale * o->scale;
    const size_t nb = Mx * My * LANES, W = Nc + 1;
    double *G = ws, *A = G + nb, *B = A + nb, *DA = B + nb, *DB = DA + nb, *gg = DB + nb;
    double *xl = gg + nb, *yl = xl + lx * d * LANES, *gx = yl + ly * d * LANES, *gy = gx + lx * d * LANES;
    double *kap = gy + ly * d * LANES, *gk = kap + lx * ly * LANES;
    double *k = gk + lx * ly * LANES, *an = k + (Nr + 1) * W * LANES, *ac = an + (W + 1) * LANES;
    double dsc[LANES];
    /* linear: xl, yl hold the increments; RBF: the points, and kappa on them */
    lanes_of(p->X, L->xi, lx, d, !isrbf, xl);
    lanes_of(p->Y, L->yj, ly, d, !isrbf, yl);
    if (isrbf)
        for (size_t i = 0; i < lx; i++)
            for (size_t j = 0; j < ly; j++)
                for (int l = 0; l < LANES; l++) {
                    double r2 = 0.0;
                    for (size_t a = 0; a < d; a++) {
                        const double t = xl[(i * d + a) * LANES + (size_t)l] - yl[(j * d + a) * LANES + (size_t)l];
                        r2 += t * t;
                    }
                    kap[(i * ly + j) * LANES + (size_t)l] = exp(-r2 * s2);
                }
    coefficients(xl, yl, kap, Mx, My, d, s2, scale4, isrbf, second, G, A, B, DA, DB);
    memset(gg, 0, nb * sizeof(double));
    forward_grid(k, A, B, Nr, Nc, My, ox, oy);
    adjoint(k, A, B, DA, DB, gg, an, ac, Nr, Nc, My, ox, oy);
    /* dK/dG_IJ (the cells' g are G_IJ 2^-(ox + oy)) to the points */
    if (isrbf) {
        rbf_to_points(gg, kap, xl, yl, lx, ly, d, s2, scale4, gk, gx, gy, dsc);
        for (int l = 0; l < LANES; l++) dsc[l] /= o->scale * o->scale * o->scale;
    } else {
        /* G_IJ = scale^2 <dx_I, dy_J>: dK/d<dx_I, dy_J> = scale^2 2^-(ox + oy) gg_IJ; dK/dscale = 2 sum gg G / scale */
        for (int l = 0; l < LANES; l++) dsc[l] = 0.0;
        for (size_t q = 0; q < nb; q++) dsc[q % LANES] += gg[q] * G[q];
        for (int l = 0; l < LANES; l++) dsc[l] *= 2.0 / o->scale;
        to_increments(gg, xl, yl, Mx, My, d, s2 * scale4, gx, gy);
    }
    for (int l = 0; l < LANES; l++) {
        double *ox = out + (size_t)l * p->per, *oy = ox + lx * d;
        memset(ox, 0, p->per * sizeof(double));
        const double w = L->w[l];
        if (w == 0.0) continue;
        for (size_t i = 0; i < (isrbf ? lx : Mx); i++)
            for (size_t a = 0; a < d; a++) {
                const double t = gx[(i * d + a) * LANES + (size_t)l] * w;
                if (isrbf) ox[i * d + a] = t;
                else {
                    ox[(i + 1) * d + a] += t;
                    ox[i * d + a] -= t;
                }
            }
        for (size_t j = 0; j < (isrbf ? ly : My); j++)
            for (size_t a = 0; a < d; a++) {
                const double t = gy[(j * d + a) * LANES + (size_t)l] * w;
                if (isrbf) oy[j * d + a] = t;
                else {
                    oy[(j + 1) * d + a] += t;
                    oy[j * d + a] -= t;
                }
            }
        oy[ly * d] = dsc[l] * w;
    }
}

/* The pairs with a non-zero weight in row-major order, one batch of groups at a time (the pair list of one batch
 * only); symmetric: (i <= j) once, weight grad_K[i, j] + grad_K[j, i]. */
typedef struct {
    const double *grad_K;
    size_t n, m;
    int sym;
    size_t i, j; /* the next pair to look at */
} pair_cursor;

static void next_groups(pair_cursor *c, lanes *groups, size_t ng)
{
    size_t q = 0;
    while (q < ng * LANES && c->i < c->n) {
        const size_t i = c->i, j = c->j;
        const double w = c->grad_K[i * c->m + j] + (c->sym && j > i ? c->grad_K[j * c->m + i] : 0.0);
        if (++c->j == c->m) {
            c->i++;
            c->j = c->sym ? c->i : 0;
        }
        if (w == 0.0) continue;
        lanes *g = &groups[q / LANES];
        g->xi[q % LANES] = i;
        g->yj[q % LANES] = j;
        g->w[q % LANES] = w;
        q++;
    }
    for (; q % LANES; q++) { /* padding lanes repeat the group's first pair with weight 0 */
        lanes *g = &groups[q / LANES];
        g->xi[q % LANES] = g->xi[0];
        g->yj[q % LANES] = g->yj[0];
        g->w[q % LANES] = 0.0;
    }
}

typedef struct {
    const gplan *p;
    const lanes *groups;
    size_t g0;
    double *buf, *ws;
} batch_job;

static dw_status batch_group(void *ctx, size_t g, int tid)
{
    const batch_job *j = ctx;
    solve_group(j->p, &j->groups[j->g0 + g], j->ws + (size_t)tid * j->p->wsz, j->buf + g * LANES * j->p->per);
    return DW_OK;
}

dw_status dw_sig_kernel_gram_backward(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx,
                                      const double *Y, size_t m, size_t ly, size_t d, const double *grad_K,
                                      double *grad_X, double *grad_Y, double *grad_scale)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sigkernel_backward: NULL options");
    dw_status s = dw_sig_check_points(X, n, lx, d, "X");
    if (s) return s;
    if (Y && (s = dw_sig_check_points(Y, m, ly, d, "Y"))) return s;
    if (!Y) {
        m = n;
        ly = lx;
    }
    if (!grad_K || !grad_X || (Y != NULL) != (grad_Y != NULL))
        return dw_fail(DW_ERR_INVALID, "sigkernel_backward: NULL %s", !grad_K ? "grad_K" : !grad_X ? "grad_X" :
                                                                      Y ? "grad_Y (Y given)" : "Y (grad_Y given)");
    for (size_t i = 0; i < n * m; i++)
        if (!isfinite(grad_K[i]))
            return dw_fail(DW_ERR_INVALID, "grad_K: entry (%zu, %zu) is not finite (%g)", i / m + 1, i % m + 1,
                           grad_K[i]);
    if (!Y && o->dyadic_order != o->dyadic_order_y) { /* no symmetry: K(X, Y = X), both gradients to X */
        double *gY = dw_alloc(n * lx, d * sizeof(double), "the second slot's gradient");
        if (!gY) return DW_ERR_NOMEM;
        s = dw_sig_kernel_gram_backward(o, X, n, lx, X, n, lx, d, grad_K, grad_X, gY, grad_scale);
        if (!s)
            for (size_t e = 0; e < n * lx * d; e++) grad_X[e] += gY[e];
        free(gY);
        return s;
    }
    if (dw_sig_transform_active(&o->tr)) { /* the gradient on the transformed paths, then the transform's adjoint */
        dw_sig_kernel_paths t;
        if ((s = dw_sig_kernel_transform(o, X, n, lx, Y, m, Y ? ly : 0, d, &t))) return s;
        double *gX = dw_alloc(n * t.lx, t.d * sizeof(double), "the transformed paths' gradient");
        double *gY = Y && gX ? dw_alloc(m * t.ly, t.d * sizeof(double), "the transformed paths' gradient") : NULL;
        if (!gX || (Y && !gY)) s = DW_ERR_NOMEM;
        else s = dw_sig_kernel_gram_backward(&t.o, t.X, n, t.lx, t.Y, m, t.ly, t.d, grad_K, gX, gY, grad_scale);
        if (!s) {
            dw_sig_transform_backward(&o->tr, gX, n, lx, d, grad_X);
            if (Y) dw_sig_transform_backward(&o->tr, gY, m, ly, d, grad_Y);
        }
        free(gX);
        free(gY);
        free(t.X);
        free(t.Y);
        return s;
    }
    memset(grad_X, 0, n * lx * d * sizeof(double));
    if (grad_Y) memset(grad_Y, 0, m * ly * d * sizeof(double));
    if (grad_scale) *grad_scale = 0.0;
    if (lx == 1 || ly == 1) return DW_OK; /* k = 1 whatever the paths */
    gplan p = {o, X, Y ? Y : X, lx, ly, d, (lx - 1) << o->dyadic_order, (ly - 1) << o->dyadic_order_y,
               (lx + ly) * d + 1, 0};
    const double nbl = (double)(lx - 1) * (double)(ly - 1) * LANES;
    /* the refined grid's sizes in floating point: (lx - 1) 2^ox may not fit a size_t before the check */
    const double Nr = ldexp((double)(lx - 1), o->dyadic_order), Nc = ldexp((double)(ly - 1), o->dyadic_order_y);
    const double wsz = 6.0 * nbl + 2.0 * (double)(lx + ly) * (double)d * LANES + 2.0 * (double)lx * (double)ly * LANES +
                       (Nr + 1.0) * (Nc + 1.0) * LANES + 2.0 * (Nc + 2.0) * LANES;
    const int nt = dw_core_threads(o->threads);
    char what[128];
    if (o->dyadic_order == o->dyadic_order_y)
        snprintf(what, sizeof what, "the PDE grids of the signature-kernel gradient at dyadic order %d (kept whole "
                                    "per pair and thread)", o->dyadic_order);
    else
        snprintf(what, sizeof what, "the PDE grids of the signature-kernel gradient at dyadic orders (%d, %d) (kept "
                                    "whole per pair and thread)", o->dyadic_order, o->dyadic_order_y);
    if ((s = dw_core_check_alloc(wsz * 8.0 * nt, what))) return s;
    p.wsz = (size_t)wsz;
    /* the pairs with a non-zero weight; symmetric: (i <= j) once, weight grad_K[i, j] + grad_K[j, i] */
    size_t npairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = Y ? 0 : i; j < m; j++) {
            const double w = grad_K[i * m + j] + (!Y && j > i ? grad_K[j * m + i] : 0.0);
            npairs += w != 0.0;
        }
    if (!npairs) return DW_OK;
    const size_t ngroups = (npairs + LANES - 1) / LANES;
    /* groups per batch: fixed by the sizes only (about 8 MB of per-pair gradients), and so is the order of the sums */
    size_t per_batch = (size_t)(1e6 / ((double)p.per * LANES));
    if (per_batch < 1) per_batch = 1;
    if (per_batch > ngroups) per_batch = ngroups;
    const int thr = (double)npairs * (double)p.Nr * (double)p.Nc > 1e5 ? nt : 1;
    const int nw = dw_par_workers(per_batch, thr);
    lanes *groups = dw_alloc(per_batch, sizeof(lanes), "signature-kernel gradient pair list");
    double *buf = groups ? dw_alloc(per_batch * LANES, p.per * sizeof(double), "signature-kernel gradient buffer")
                         : NULL;
    double *ws = buf ? dw_alloc((size_t)nw, p.wsz * sizeof(double), "signature-kernel gradient work space") : NULL;
    if (!ws) {
        free(groups);
        free(buf);
        return DW_ERR_NOMEM;
    }
    double dscale = 0.0;
    pair_cursor cur = {grad_K, n, m, Y == NULL, 0, 0};
    for (size_t g0 = 0; g0 < ngroups; g0 += per_batch) {
        const size_t nbg = ngroups - g0 < per_batch ? ngroups - g0 : per_batch;
        next_groups(&cur, groups, nbg);
        batch_job job = {&p, groups, 0, buf, ws};
        (void)dw_par_for(nbg, thr, batch_group, &job);
        for (size_t g = 0; g < nbg; g++)
            for (int l = 0; l < LANES; l++) {
                const lanes *L = &groups[g];
                if (L->w[l] == 0.0) continue;
                const double *src = buf + (g * LANES + (size_t)l) * p.per;
                double *dx = grad_X + L->xi[l] * lx * d, *dy = (Y ? grad_Y : grad_X) + L->yj[l] * ly * d;
                for (size_t e = 0; e < lx * d; e++) dx[e] += src[e];
                for (size_t e = 0; e < ly * d; e++) dy[e] += src[lx * d + e];
                dscale += src[(lx + ly) * d];
            }
    }
    free(groups);
    free(buf);
    free(ws);
    if (grad_scale) *grad_scale = dscale;
    for (size_t i = 0; i < n * lx * d; i++)
        if (!isfinite(grad_X[i]))
            return dw_fail(DW_ERR_RANGE, "sigkernel_backward: the gradient of path %zu of X overflows (not finite); "
                                         "rescale the paths",
                           i / (lx * d) + 1);
    if (grad_Y)
        for (size_t i = 0; i < m * ly * d; i++)
            if (!isfinite(grad_Y[i]))
                return dw_fail(DW_ERR_RANGE, "sigkernel_backward: the gradient of path %zu of Y overflows (not "
                                             "finite); rescale the paths",
                               i / (ly * d) + 1);
    return DW_OK;
}
