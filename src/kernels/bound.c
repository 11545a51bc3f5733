/* Generic activations: the error bound of the final Gram entries, propagated through the layers (issue 21).
 *
 * Each layer's Gaussian expectations carry their own bounds (sweep_body.h, tile.c generic_fix), but an entry of
 * layer l + 1 also inherits the errors of layer l: of its covariance c (through dV/dc = Vd), of the two variances
 * a_x, a_y (through dV/da), and of Theta^l. The sharpest of these is the angle: for phi with a jump of phi' (a
 * kink), Vd = E[phi'(u) phi'(v)] moves linearly in theta (Price: with jumps J_k of phi' at the kinks c_k,
 * |dVd/dtheta| <= sum_kl J_k J_l exp(-(h_k^2 + h'_l^2) / 4) / (2 pi), h = c / sqrt(a): the bivariate density at the
 * kinks times sin theta, whose exponent is at least (h^2 + h'^2) / (1 + rho)), while
 * an error d of rho = cos theta moves theta by ~d / sin theta, or up to sqrt(6 d) near theta = 0. A near-duplicate
 * pair (1 - rho ~ 1e-13) whose rho carries an error of a few ulps then has Vd off by ~1e-10 relative: more than
 * the expectations' own bounds, and before this bound, more than the kernel reported.
 *
 * Per point and layer (fields GEN_PB.. of the plan, filled once per side): from the Hermite coefficients a_k, b_k
 * of phi(sqrt(a) Z), phi'(sqrt(a) Z) (orthonormal h_k, Z h_k = sqrt(k+1) h_{k+1} + sqrt(k) h_{k-1}),
 *   PB_M = sqrt(E[u^2 phi'(u)^2]) EA / 2,  PB_N = sqrt(E[u^2 phi''(u)^2]) EA / 2,
 *   PB_S = sqrt(a E[phi''(u)^2])
 * (the smooth part of phi'', truncated at DW_GAUSS_K terms), PB_J = sum_k J_k exp(-c_k^2 / (4a)) / sqrt(2 pi),
 * where EA (field PB_EA) is the relative error bound of a = K^l(x, x) (rules' error of E phi^2 plus
 * a dP/da = sqrt(a) E[Z phi phi'] times the previous layer's), and the square root of Theta^l(x, x) and its
 * inverse (PB_TH, PB_ITH: the scale of the NTK's relative bound). Per entry (tile.c, phi' with a jump): the
 * absolute error bounds of rho and Theta, advanced by dw_kern_bound_row; smooth phi: per tile, from per-point
 * maxima (dw_kern_bound_tile). The
 * propagation is first order (products of small errors are left out) and the jump/smooth cross terms of
 * dVd/dtheta, which vanish like theta, are taken from the truncated smooth part. */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>

#define EPS DBL_EPSILON

/* sqrt(m) for m = 0..DW_GAUSS_K + 1 */
static const double *sqrt_table(void)
{
    static double t[DW_GAUSS_K + 2];
    static int ready; /* benign: every thread writes the same values */
    if (!ready) {
        for (int m = 0; m <= DW_GAUSS_K + 1; m++) t[m] = sqrt((double)m);
        ready = 1;
    }
    return t;
}

/* sum_m (sqrt(m) g_{m-1} + sqrt(m+1) g_{m+1})^2 = E[(Z g(Z))^2] for g = sum_k g_k h_k, k = 0..K. */
static double z_norm2(const double *g, size_t stride, int K, const double *sq)
{
    double s = 0;
    for (int m = 0; m <= K + 1; m++) {
        const double lo = m >= 1 ? sq[m] * g[(size_t)(m - 1) * stride] : 0.0;
        const double hi = m + 1 <= K ? sq[m + 1] * g[(size_t)(m + 1) * stride] : 0.0;
        s += (lo + hi) * (lo + hi);
    }
    return s;
}

/* The jumps |phi'(c+) - phi'(c-)| at the kinks c of phi (0 if none); returns their number. */
static int kink_jumps(const dw_act *act, double *jump)
{
    if (act->fam != DW_FAM_GENERIC || act->nkinks <= 0 || !act->expr) return 0;
    for (int k = 0; k < act->nkinks; k++) {
        double dl = 0, dr = 0;
        dw_expr_eval_side(act->expr, act->kinks[k], &dl, -1);
        dw_expr_eval_side(act->expr, act->kinks[k], &dr, 1);
        jump[k] = isfinite(dr - dl) ? fabs(dr - dl) : INFINITY;
    }
    return act->nkinks;
}

void dw_kern_bound_fields(const dw_kernel_plan *p, side *sd)
{
    const size_t np = sd->np, d = p->d;
    const int K = DW_GAUSS_K;
    const double wd = p->w[0] / (double)d, hb0 = p->beta[0] > 0 ? 1.0 : 0.0;
    double cp[DW_GAUSS_K + 1]; /* sqrt(m + 1) b_{m+1}: the coefficients of sqrt(a) phi''(sqrt(a) Z) */
    double jump[DW_COND_MAX_KINKS];
    const int nk = kink_jumps(p->act, jump);
    const double *sq = sqrt_table();
    for (size_t i = 0; i < np; i++) {
        double nx = 0;
        if (i < sd->n)
            for (size_t k = 0; k < d; k++) nx += sd->x[i * d + k] * sd->x[i * d + k];
        field(p, sd, 0, PB_EA)[i] = (double)(d + 2) * EPS;
        const double th = sqrt(p->standard ? nx + hb0 : wd * nx + p->beta[0]);
        field(p, sd, 0, PB_TH)[i] = th;
        field(p, sd, 0, PB_ITH)[i] = th > 0 ? 1.0 / th : 0.0;
    }
    for (int l = 0; l < p->depth; l++) {
        const double *a = field(p, sd, l, F_A), *an = field(p, sd, l + 1, F_A);
        const double *ak = field(p, sd, l, F_POLY), *bk = field(p, sd, l, GEN_B), *g = field(p, sd, l, GEN_GB);
        double *M = field(p, sd, l, PB_M), *N = field(p, sd, l, PB_N), *S = field(p, sd, l, PB_S);
        double *Jk = field(p, sd, l, PB_J);
        const double *ea = field(p, sd, l, PB_EA), *th = field(p, sd, l, PB_TH);
        double *ean = field(p, sd, l + 1, PB_EA), *thn = field(p, sd, l + 1, PB_TH);
        const double w = p->w[l + 1], beta = p->beta[l + 1], hb = beta > 0 ? 1.0 : 0.0;
        for (size_t i = 0; i < np; i++) {
            const double *ai = ak + i, *bi = bk + i;
            double s2 = 0, zpp = 0;
            for (int m = 0; m < K; m++) {
                cp[m] = sq[m + 1] * bi[(size_t)(m + 1) * np];
                s2 += cp[m] * cp[m];
            }
            cp[K] = 0.0;
            for (int m = 0; m <= K; m++) /* E[Z phi phi'] = sum_m (sqrt(m) a_{m-1} + sqrt(m+1) a_{m+1}) b_m */
                zpp += ((m >= 1 ? sq[m] * ai[(size_t)(m - 1) * np] : 0.0) +
                        (m + 1 <= K ? sq[m + 1] * ai[(size_t)(m + 1) * np] : 0.0)) *
                       bi[(size_t)m * np];
            M[i] = 0.5 * sqrt(a[i] * z_norm2(bi, np, K, sq)) * ea[i];
            N[i] = 0.5 * sqrt(z_norm2(cp, 1, K, sq)) * ea[i];
            S[i] = sqrt(s2);
            double jk = 0;
            for (int k = 0; k < nk; k++) /* the density factor at the kink: see dw_kern_bound_row */
                jk += jump[k] * (a[i] > 0 ? exp(-p->act->kinks[k] * p->act->kinks[k] / (4 * a[i])) : 0.0);
            Jk[i] = jk / sqrt(2.0 * 3.14159265358979323846);
            const double P = g[i] * g[i], Pd = g[3 * np + i] * g[3 * np + i], errP = g[6 * np + i];
            const double dPa = sqrt(a[i]) * fabs(zpp); /* a dP/da */
            ean[i] = an[i] > 0 ? (w * (errP + dPa * ea[i])) / an[i] + 2 * EPS : 0.0;
            thn[i] = sqrt((p->standard ? p->fan_in[l + 1] * P + hb : an[i]) + w * Pd * th[i] * th[i]);
            field(p, sd, l + 1, PB_ITH)[i] = thn[i] > 0 ? 1.0 / thn[i] : 0.0;
        }
    }
}

#define MIN(x, y) ((x) < (y) ? (x) : (y))
#define MAX(x, y) ((x) > (y) ? (x) : (y))

/* The propagation for a whole tile at once: every per-entry factor replaced by its largest value over the tile's
 * rows times its largest over the tile's columns (each term is a product of a row factor and a column factor, so
 * the maximum of a term is that product and the maximum of a sum at most the sum of the maxima), each entry's
 * expectation bound by the tile's largest so far (B), and the angle term of a jump of phi' by its largest over
 * the tile's entries (kink, from dw_kern_kink_max). dr, et: the tile's relative bounds of rho and of Theta
 * (relative to sqrt(Theta(x, x) Theta(y, y))); O(rows + columns) per layer. */
enum { Q_P1, Q_P2, Q_P3, Q_EAN, Q_Q1, Q_Q2, Q_Q3, Q_R1, Q_R2, Q_R3, Q_RT, Q_TH, Q_N };

static void side_max(const dw_kernel_plan *p, const side *sd, int l, size_t a, size_t b, double *mx)
{
    const size_t np = sd->np;
    const double *g = field(p, sd, l, GEN_GB), *sa = field(p, sd, l, F_SA), *th = field(p, sd, l, PB_TH);
    const double *m = field(p, sd, l, PB_M), *n = field(p, sd, l, PB_N), *S = field(p, sd, l, PB_S);
    const double *ih1 = field(p, sd, l + 1, F_IH), *sa1 = field(p, sd, l + 1, F_SA);
    const double *ean = field(p, sd, l + 1, PB_EA), *ith1 = field(p, sd, l + 1, PB_ITH);
    for (int q = 0; q < Q_N; q++) mx[q] = 0.0;
    for (size_t k = a; k < b; k++) {
        const double v[Q_N] = {g[k] * ih1[k],          sa[k] * g[3 * np + k] * ih1[k], m[k] * ih1[k],
                               ean[k],                 g[3 * np + k] * th[k] * ith1[k], S[k] * th[k] * ith1[k],
                               n[k] * th[k] * ith1[k], g[k] * ith1[k],                  sa[k] * g[3 * np + k] * ith1[k],
                               m[k] * ith1[k],         sa1[k] * ith1[k],               th[k] * ith1[k]};
        for (int q = 0; q < Q_N; q++) mx[q] = MAX(mx[q], v[q]);
    }
}

void dw_kern_bound_tile(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i0, size_t i1, size_t j0,
                        size_t j1, double B, double kink, double *dr, double *et, double *worst)
{
    double x[Q_N], y[Q_N];
    side_max(p, &p->X, l, i0, i1, x);
    side_max(p, &p->Y, l, j0, j1, y);
    const double w = sp->w, D = *dr, T = *et;
    const double dV_c = B * x[Q_P1] * y[Q_P1] + D * x[Q_P2] * y[Q_P2] + x[Q_P3] * y[Q_P1] + x[Q_P1] * y[Q_P3];
    const double rel_c = MIN(w * dV_c + 2 * EPS, 2.0); /* |c| <= sqrt(a'_x a'_y): at most twice that */
    *dr = rel_c + 0.5 * (x[Q_EAN] + y[Q_EAN]) + 4 * EPS;
    double rel = rel_c;
    if (sp->ntk) {
        const double dV_t = B * x[Q_R1] * y[Q_R1] + D * x[Q_R2] * y[Q_R2] + x[Q_R3] * y[Q_R1] + x[Q_R1] * y[Q_R3];
        const double base = sp->standard ? sp->fan_in * dV_t : rel_c * x[Q_RT] * y[Q_RT];
        const double dVd = B * x[Q_Q1] * y[Q_Q1] + 11 * D * x[Q_Q2] * y[Q_Q2] + x[Q_Q3] * y[Q_Q1] +
                           x[Q_Q1] * y[Q_Q3];
        const double dk = kink * x[Q_TH] * y[Q_TH]; /* |Theta^l(x, y)| <= sqrt(Theta^l(x, x) Theta^l(y, y)) */
        *et = MIN(base + w * (dVd + dk + T * x[Q_Q1] * y[Q_Q1]) + 4 * EPS, 2.0);
        rel = MAX(rel, *et);
    }
    if (p->all_layers || l + 1 == p->depth) *worst = isnan(rel) ? INFINITY : MAX(*worst, rel);
}

/* The largest over a tile's entries (rows i0..i1, columns j0..j1; c0: their layer-l covariances, row stride njp;
 * sym: only entries j >= i, the pairs (x, x) left out, whose angle is exactly 0) of the angle term
 * J_x J_y dtheta, dtheta <= 2 dr / sin(theta) while dr <= (1 - |rho|) / 2, else sqrt(6 dr) (dr: the tile's bound
 * of rho's error). 0 where phi' has no jump. Entries with carried >= 0 (tile layout, may be NULL: near-duplicate
 * pairs that carry their half-angle, tile.c) are left out: their term comes with their own error bound. */
double dw_kern_kink_max(const dw_kernel_plan *p, int l, size_t i0, size_t i1, size_t j0, size_t j1,
                        const double *c0, const double *carried, size_t njp, int sym, double dr)
{
    if (!(dr > 0)) return 0.0;
    const double *Jx = field(p, &p->X, l, PB_J), *Jy = field(p, &p->Y, l, PB_J) + j0;
    const double *ihx = field(p, &p->X, l, F_IH), *ihy = field(p, &p->Y, l, F_IH) + j0;
    const double far = sqrt(6 * dr);
    double mx = 0.0;
    for (size_t i = i0; i < i1; i++) {
        if (!(Jx[i] > 0)) continue;
        const double *cr = c0 + (i - i0) * njp, *hr = carried ? carried + (i - i0) * njp : NULL;
        const size_t js = sym && i > j0 ? ((i - j0) & ~(size_t)3) : 0; /* the rows the sweep computed */
        const double ji = Jx[i], ih = ihx[i];
        double m = 0.0;
#pragma omp simd reduction(max : m)
        for (size_t j = js; j < j1 - j0; j++) {
            const double r = cr[j] * (ih * ihy[j]), rho = MIN(MAX(r, -1.0), 1.0);
            const double gap = 1 - (rho < 0 ? -rho : rho), sn = sqrt((1 - rho) * (1 + rho));
            const double dth = dr <= 0.5 * gap ? 2 * dr / (sn > 0 ? sn : 1.0) : far;
            const double v = (sym && i == j0 + j) || (hr && hr[j] >= 0) ? 0.0 : ji * Jy[j] * dth;
            m = MAX(m, v);
        }
        mx = MAX(mx, m);
    }
    return mx;
}
