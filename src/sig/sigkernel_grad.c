/* Gradients of signature-kernel Gram matrices with respect to the paths and the static kernel's scale (theory.md 5):
 * the discrete adjoint of the Goursat solver of sigkernel.c, so the gradient is that of the computed Gram matrix
 * (the same dyadic refinement and cell update), not of the PDE's limit.
 *
 * The forward cell update is k[p+1, q+1] = (k[p+1, q] + k[p, q+1]) A_c - k[p, q] B_c, with A_c, B_c functions of the
 * cell's increment product g_c = G_IJ / 4^lambda (one value per segment pair (I, J)). With a[p, q] = dK/dk[p, q]
 * (a = 1 at the far corner) the adjoint sweep runs the grid backwards:
 *   a[p, q] = a[p, q+1] A_(p-1, q) + a[p+1, q] A_(p, q-1) - a[p+1, q+1] B_(p, q)   (missing cells count 0),
 * the adjoint Goursat problem of sigkernel / pySigLib, and dK/dg_c = a[p+1, q+1] ((k[p+1, q] + k[p, q+1]) A'(g_c) -
 * k[p, q] B'(g_c)). Summed over a segment pair's cells this gives dK/dG_IJ, which goes to the path points through
 * G_IJ = scale^2 <dx_I, dy_J> (linear) or the second difference of exp(-|x - y|^2 / (2 scale^2)) (RBF).
 *
 * The forward grid of a pair is kept whole ((lx-1) 2^lambda + 1) x ((ly-1) 2^lambda + 1) per lane), LANES pairs at
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

static double sq_dist(const double *x, const double *y, size_t d)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double t = x[k] - y[k];
        s += t * t;
    }
    return s;
}

/* One group of LANES pairs: out[l * per ..] = w_l (dK/dx (lx x d), dK/dy (ly x d), dK/dscale). */
static void solve_group(const gplan *p, const lanes *L, double *ws, double *out)
{
    const dw_sig_kernel_opts *o = p->o;
    const size_t lx = p->lx, ly = p->ly, d = p->d, Mx = lx - 1, My = ly - 1, Nr = p->Nr, Nc = p->Nc;
    const int lam = o->dyadic_order, second = o->solver == DW_SIG_SECOND_ORDER, isrbf = o->static_kernel == DW_SIG_RBF;
    const double scale4 = ldexp(1.0, -2 * lam);
    const double s2 = isrbf ? 0.5 / (o->scale * o->scale) : o->scale * o->scale;
    const size_t nb = Mx * My * LANES, W = Nc + 1;
    double *G = ws, *A = G + nb, *B = A + nb, *gg = B + nb, *kap = gg + nb, *gk = kap + lx * ly * LANES;
    double *k = gk + lx * ly * LANES, *an = k + (Nr + 1) * W * LANES, *ac = an + (W + 1) * LANES;
    /* increment products per segment pair, as the forward computes them */
    for (size_t I = 0; I < Mx; I++)
        for (size_t J = 0; J < My; J++)
            for (int l = 0; l < LANES; l++) {
                const double *x = p->X + L->xi[l] * lx * d, *y = p->Y + L->yj[l] * ly * d;
                double g = 0.0;
                if (isrbf) {
                    g = (exp(-sq_dist(x + (I + 1) * d, y + (J + 1) * d, d) * s2) + exp(-sq_dist(x + I * d, y + J * d,
                                                                                                   d) * s2)) -
                        (exp(-sq_dist(x + (I + 1) * d, y + J * d, d) * s2) +
                         exp(-sq_dist(x + I * d, y + (J + 1) * d, d) * s2));
                    g *= scale4;
                } else {
                    for (size_t c = 0; c < d; c++)
                        g += (x[(I + 1) * d + c] - x[I * d + c]) * (y[(J + 1) * d + c] - y[J * d + c]);
                    g = g * s2 * scale4;
                }
                const size_t q = (I * My + J) * LANES + (size_t)l;
                G[q] = g;
                if (second) {
                    const double g2 = g * g / 12.0;
                    A[q] = 1.0 + 0.5 * g + g2;
                    B[q] = 1.0 - g2;
                } else {
                    A[q] = 1.0;
                    B[q] = 1.0 - g;
                }
                gg[q] = 0.0;
            }
    /* forward: the whole grid */
    for (size_t c = 0; c < W * LANES; c++) k[c] = 1.0;
    for (size_t r = 0; r < Nr; r++) {
        const double *up = k + r * W * LANES;
        double *nw = k + (r + 1) * W * LANES;
        const double *Ar = A + (r >> lam) * My * LANES, *Br = B + (r >> lam) * My * LANES;
        for (int l = 0; l < LANES; l++) nw[l] = 1.0;
        for (size_t c = 0; c < Nc; c++) {
            const double *a = Ar + (c >> lam) * LANES, *b = Br + (c >> lam) * LANES;
            for (int l = 0; l < LANES; l++)
                nw[(c + 1) * LANES + l] =
                    (nw[c * LANES + l] + up[(c + 1) * LANES + l]) * a[l] - up[c * LANES + l] * b[l];
        }
    }
    /* adjoint sweep: an = row p + 1, ac = row p, entries 0..Nc + 1 (Nc + 1 and row Nr + 1: zero padding) */
    memset(an, 0, (W + 1) * LANES * sizeof(double));
    for (size_t P = Nr; P >= 1; P--) {
        memset(ac + Nc * LANES, 0, 2 * LANES * sizeof(double));
        const size_t bu = ((P - 1) >> lam) * My, bd = ((P < Nr ? P : Nr - 1) >> lam) * My;
        const double *kr = k + P * W * LANES, *kp = kr - W * LANES;
        for (size_t Q = Nc; Q >= 1; Q--) {
            const size_t cq = (Q < Nc ? Q : Nc - 1) >> lam, cm = (Q - 1) >> lam;
            const double *a1 = A + (bu + cq) * LANES, *a2 = A + (bd + cm) * LANES, *b3 = B + (bd + cq) * LANES;
            double *gc = gg + (bu + cm) * LANES;
            const double *Gc = G + (bu + cm) * LANES;
            for (int l = 0; l < LANES; l++) {
                double v = ac[(Q + 1) * LANES + l] * a1[l] + an[Q * LANES + l] * a2[l] - an[(Q + 1) * LANES + l] * b3[l];
                if (P == Nr && Q == Nc) v = 1.0;
                ac[Q * LANES + l] = v;
                /* cell (P - 1, Q - 1) */
                const double g = Gc[l];
                const double dA = second ? 0.5 + g / 6.0 : 0.0, dB = second ? -g / 6.0 : -1.0;
                gc[l] += v * ((kr[(Q - 1) * LANES + l] + kp[Q * LANES + l]) * dA - kp[(Q - 1) * LANES + l] * dB);
            }
        }
        double *t = an;
        an = ac;
        ac = t;
    }
    /* dK/dG_IJ (the cells' g are G_IJ 4^-lambda) to the points */
    for (int l = 0; l < LANES; l++) {
        double *gx = out + (size_t)l * p->per, *gy = gx + lx * d, *gs = gy + ly * d;
        memset(gx, 0, p->per * sizeof(double));
        if (L->w[l] == 0.0) continue;
        const double *x = p->X + L->xi[l] * lx * d, *y = p->Y + L->yj[l] * ly * d;
        if (isrbf) {
            for (size_t i = 0; i < lx * ly; i++) gk[i] = 0.0;
            for (size_t I = 0; I < Mx; I++)
                for (size_t J = 0; J < My; J++) {
                    const double v = gg[(I * My + J) * LANES + (size_t)l] * scale4;
                    gk[(I + 1) * ly + J + 1] += v;
                    gk[I * ly + J] += v;
                    gk[(I + 1) * ly + J] -= v;
                    gk[I * ly + J + 1] -= v;
                }
            /* kappa = exp(-|x - y|^2 s2), s2 = 1 / (2 scale^2): dkappa/dx = -2 s2 kappa (x - y),
             * dkappa/dscale = kappa |x - y|^2 / scale^3 */
            double dsc = 0.0;
            for (size_t i = 0; i < lx; i++)
                for (size_t j = 0; j < ly; j++) {
                    const double *xi = x + i * d, *yj = y + j * d;
                    const double r2 = sq_dist(xi, yj, d), kv = exp(-r2 * s2), c = gk[i * ly + j] * kv;
                    for (size_t a = 0; a < d; a++) {
                        const double t = -2.0 * s2 * c * (xi[a] - yj[a]);
                        gx[i * d + a] += t;
                        gy[j * d + a] -= t;
                    }
                    dsc += c * r2;
                }
            *gs = dsc / (o->scale * o->scale * o->scale);
        } else {
            /* G_IJ = scale^2 <dx_I, dy_J>: dK/d<dx_I, dy_J> = scale^2 4^-lambda gg_IJ; dK/dscale = 2 sum gg G / scale */
            double dsc = 0.0;
            for (size_t I = 0; I < Mx; I++)
                for (size_t J = 0; J < My; J++) {
                    const size_t q = (I * My + J) * LANES + (size_t)l;
                    const double v = gg[q] * s2 * scale4;
                    dsc += gg[q] * G[q];
                    for (size_t a = 0; a < d; a++) {
                        const double dx = x[(I + 1) * d + a] - x[I * d + a], dy = y[(J + 1) * d + a] - y[J * d + a];
                        gx[(I + 1) * d + a] += v * dy;
                        gx[I * d + a] -= v * dy;
                        gy[(J + 1) * d + a] += v * dx;
                        gy[J * d + a] -= v * dx;
                    }
                }
            *gs = 2.0 * dsc / o->scale;
        }
        for (size_t i = 0; i < p->per; i++) gx[i] *= L->w[l];
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
    memset(grad_X, 0, n * lx * d * sizeof(double));
    if (grad_Y) memset(grad_Y, 0, m * ly * d * sizeof(double));
    if (grad_scale) *grad_scale = 0.0;
    if (lx == 1 || ly == 1) return DW_OK; /* k = 1 whatever the paths */
    gplan p = {o, X, Y ? Y : X, lx, ly, d, (lx - 1) << o->dyadic_order, (ly - 1) << o->dyadic_order,
               (lx + ly) * d + 1, 0};
    const double nbl = (double)(lx - 1) * (double)(ly - 1) * LANES;
    const double wsz = 4.0 * nbl + 2.0 * (double)lx * (double)ly * LANES +
                       ((double)p.Nr + 1.0) * ((double)p.Nc + 1.0) * LANES + 2.0 * ((double)p.Nc + 2.0) * LANES;
    const int nt = dw_core_threads(o->threads);
    char what[128];
    snprintf(what, sizeof what, "the PDE grids of the signature-kernel gradient at dyadic order %d (kept whole per "
                                "pair and thread)",
             o->dyadic_order);
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
    lanes *groups = dw_alloc(ngroups, sizeof(lanes), "signature-kernel gradient pair list");
    double *buf = groups ? dw_alloc(per_batch * LANES, p.per * sizeof(double), "signature-kernel gradient buffer")
                         : NULL;
    double *ws = buf ? dw_alloc((size_t)nw, p.wsz * sizeof(double), "signature-kernel gradient work space") : NULL;
    if (!ws) {
        free(groups);
        free(buf);
        return DW_ERR_NOMEM;
    }
    size_t q = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = Y ? 0 : i; j < m; j++) {
            const double w = grad_K[i * m + j] + (!Y && j > i ? grad_K[j * m + i] : 0.0);
            if (w == 0.0) continue;
            lanes *g = &groups[q / LANES];
            const int l = (int)(q % LANES);
            g->xi[l] = i;
            g->yj[l] = j;
            g->w[l] = w;
            q++;
        }
    for (; q % LANES; q++) { /* padding lanes repeat the group's first pair with weight 0 */
        lanes *g = &groups[q / LANES];
        g->xi[q % LANES] = g->xi[0];
        g->yj[q % LANES] = g->yj[0];
        g->w[q % LANES] = 0.0;
    }
    double dscale = 0.0;
    for (size_t g0 = 0; g0 < ngroups; g0 += per_batch) {
        const size_t nbg = ngroups - g0 < per_batch ? ngroups - g0 : per_batch;
        batch_job job = {&p, groups, g0, buf, ws};
        (void)dw_par_for(nbg, thr, batch_group, &job);
        for (size_t g = 0; g < nbg; g++)
            for (int l = 0; l < LANES; l++) {
                const lanes *L = &groups[g0 + g];
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
