/* Generic activations: a sharper expectation bound for the entries the Mehler series answered (per-entry bounds,
 * docs/kernel.md "Per-entry error bounds"). The sweep (sweep_body.h generic_block) stops an entry's series at the
 * first checkpoint order k_c whose Cauchy-Schwarz truncation bound |rho|^(k_c+1) T_i T_j is within the budget
 * (1.25e-11 of the scale) and bounds the coefficients' errors by |da_i| sqrt(E phi(v)^2) + |da_j| sqrt(E phi(u)^2),
 * |da| = sqrt(sum_{k<=150} da_k^2). Both are worst cases far above what the entry actually misses: the terms the
 * series left out are known (every point carries its coefficients up to DW_GAUSS_K), and each da_k is mostly a
 * rounding allowance that is the same for every k (dw_hermite.unif), which weighs on the sum only through the
 * coefficients it multiplies. So, for the value V_c the series returned (recomputed here in the sweep's order of
 * operations and checked bit for bit against the entry; an entry that differs keeps the sweep's bound):
 *
 *   |V - V_c| <= |sum_{k_c < k <= N} a_k^i a_k^j rho^k|            (computed, plus its rounding)
 *              + sum_{k<=N} |rho|^k (da_k^i |a_k^j| + da_k^j |a_k^i|) + |da^i| |da^j|   (the coefficients' errors)
 *              + |rho|^(N+1) sqrt(tail_i(N) tail_j(N))                 (Cauchy-Schwarz after N = DW_GAUSS_K)
 *              + gamma_{2 k_c + 4} sum_{k<=k_c} |a_k^i a_k^j| |rho|^k   (Horner with fma: one rounding per product
 *                                                                        and per step)
 * with da_k <= u + r_k (u: the uniform allowance, sqrt(sum r_k^2) <= R): the middle sum is at most
 * u_i S_j + u_j S_i + R_i sqrt(sum_k (a_k^j)^2 rho^(2k)) + R_j (likewise), S = sum_k |rho|^k |a_k|. Vd likewise
 * with b_k and db_k <= sqrt(k + 1) u^b + r^b_k (Stein: b_k = sqrt(k + 1) a_{k+1} / sqrt(a)). The result, relative
 * to the scales as the sweep's, replaces the sweep's bound where smaller; it rests on the coefficients' error
 * bounds exactly as that one does. */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>

#define U (DBL_EPSILON / 2)

static double gam(double k) { return k * U / (1.0 - k * U); }

/* The sweep's order for one entry (sweep_body.h generic_block, the same operations in the same order): the index
 * of the first checkpoint whose truncation bounds meet the budget, else C. */
static int series_checkpoint(const dw_step *st, const double *gi, size_t si, const double *gj, size_t sj, double rho,
                             double sca, double scb)
{
    const int K = st->deg, C = K / DW_GEN_CK;
    const int k0 = K < DW_GEN_CK - 1 ? K : DW_GEN_CK - 1, kl = K - DW_GEN_CK * C + 1;
    const double ar = fabs(rho), a2 = ar * ar, a4 = a2 * a2, step = a4 * a4, bud = st->budget;
    double pw = ar, last = ar;
    for (int k = 0; k < k0; k++) pw = pw * ar;
    for (int k = 1; k < kl; k++) last = last * ar;
    for (int cc = 0; cc < C; cc++) {
        const double ta = pw * (gi[(size_t)(8 + cc) * si] * gj[(size_t)(8 + cc) * sj]);
        const double tb = pw * (gi[(size_t)(8 + DW_GEN_NCP + cc) * si] * gj[(size_t)(8 + DW_GEN_NCP + cc) * sj]);
        if (ta <= bud * sca && tb <= bud * scb) return cc;
        pw = pw * (cc + 1 == C ? last : step);
    }
    return C;
}

typedef struct {
    const double *c;  /* coefficients of the row point (stride si) and of the column point (stride sj) */
    const double *d;
    size_t si, sj;
    double ui, uj, ri, rj, di, dj, ti, tj; /* uniform parts, remainders, |d|, tails after DW_GAUSS_K (one point each) */
    int weighted;                          /* the uniform part weighs sqrt(k + 1) (the b_k) */
} series_in;

/* The bound of |V - V_c| above for one of V, Vd; v: the Horner value V_c (its order ks). */
static double series_bound(const series_in *s, double rho, int ks)
{
    const int N = DW_GAUSS_K;
    const double ar = fabs(rho);
    double p = 1.0, sgn = 1.0, head = 0.0, tail = 0.0, tabs = 0.0, si = 0.0, sj = 0.0, qi = 0.0, qj = 0.0;
    for (int k = 0; k <= N; k++) {
        const double ci = s->c[(size_t)k * s->si], cj = s->d[(size_t)k * s->sj], t = ci * cj * p;
        if (k <= ks) head += fabs(t);
        else {
            tail += sgn * t;
            tabs += fabs(t);
        }
        const double wk = s->weighted ? sqrt(k + 1.0) : 1.0;
        si += wk * p * fabs(ci);
        sj += wk * p * fabs(cj);
        qi += (p * ci) * (p * ci);
        qj += (p * cj) * (p * cj);
        p *= ar;
        if (rho < 0) sgn = -sgn;
    }
    /* sums of non-negative terms: within gamma_{N+3} of their exact values (the powers, products, the sum) */
    const double up = 1.0 + gam(2.0 * N + 8);
    const double coef = (s->ui * sj + s->uj * si + s->ri * sqrt(qj) + s->rj * sqrt(qi)) * up + s->di * s->dj;
    const double trunc = p * sqrt(s->ti * s->tj); /* p = |rho|^(N+1) */
    return (fabs(tail) + gam(2.0 * N + 8) * tabs + coef + trunc + gam(2.0 * ks + 4) * head * up) * (1.0 + 1e-12);
}

/* Horner with fma from order ks down, as the sweep (a lane's terms above its order are zero). */
static double horner(const double *ci, size_t si, const double *cj, size_t sj, double rho, int ks)
{
    double v = 0.0;
    for (int k = ks; k >= 0; k--) v = fma(v, rho, ci[(size_t)k * si] * cj[(size_t)k * sj]);
    return v;
}

void dw_kern_ebound_series(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                           const double *c0, const double *th0, const double *c, const double *th, double *b)
{
    const side *X = &p->X, *Y = &p->Y;
    const size_t si = X->np, sj = Y->np;
    const double *gi = field(p, X, l, GEN_GB) + i, *sai = field(p, X, l, F_SA), *ihi = field(p, X, l, F_IH);
    const double *saj = field(p, Y, l, F_SA), *ihj = field(p, Y, l, F_IH);
    const double *ai = field(p, X, l, F_POLY) + i, *bi = field(p, X, l, GEN_B) + i;
    const int K = st->deg, C = K / DW_GEN_CK;
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        if (p->symmetric && i == jj) continue; /* the pair (x, x): E phi^2 of the expansion, not the series */
        const double *gj = field(p, Y, l, GEN_GB) + jj;
        const double lim = sai[i] * saj[jj], cc = fmin(fmax(c0[j], 0.0 - lim), lim);
        const double rho = fmin(fmax(cc * (ihi[i] * ihj[jj]), 0.0 - 1.0), 1.0);
        const double sca = gi[0] * gj[0], scb = gi[3 * si] * gj[3 * sj];
        const int sel = series_checkpoint(st, gi, si, gj, sj, rho, sca, scb);
        const int ks = sel == C ? K : DW_GEN_CK * (sel + 1) - 1;
        const double *aj = field(p, Y, l, F_POLY) + jj, *bj = field(p, Y, l, GEN_B) + jj;
        const double pv = horner(ai, si, aj, sj, rho, ks), qv = horner(bi, si, bj, sj, rho, ks);
        const double cn = st->w * pv + st->beta;
        if (cn != c[j]) continue; /* not the series' value (a 2-D route or a near-duplicate answered) */
        if (st->ntk) {
            const double base = st->standard ? st->fan_in * pv + st->has_bias : cn;
            if (base + (st->w * qv) * th0[j] != th[j]) continue;
        }
#define GX(f, s, k) field(p, s, l, f)[k]
        const series_in sv = {ai, aj, si, sj, GX(GX_UA, X, i), GX(GX_UA, Y, jj), GX(GX_RA, X, i), GX(GX_RA, Y, jj),
                              gi[2 * si], gj[2 * sj], GX(GX_TA, X, i), GX(GX_TA, Y, jj), 0};
        const double bv = series_bound(&sv, rho, ks);
        double rel = sca > 0 ? bv / sca : bv > 0 ? INFINITY : 0.0;
        if (st->ntk) {
            const series_in sd = {bi, bj, si, sj, GX(GX_UB, X, i), GX(GX_UB, Y, jj), GX(GX_RB, X, i),
                                  GX(GX_RB, Y, jj), gi[5 * si], gj[5 * sj], GX(GX_TB, X, i), GX(GX_TB, Y, jj), 1};
            const double bd = series_bound(&sd, rho, ks);
            rel = fmax(rel, scb > 0 ? bd / scb : bd > 0 ? INFINITY : 0.0);
        }
#undef GX
        if (rel * (1.0 + 1e-12) < b[j]) b[j] = rel * (1.0 + 1e-12);
    }
}
