/* Per-entry bounds of the smooth closed forms (identity, erf, sin, cos, exp; docs/kernel.md "Per-entry error
 * bounds") by a reference in long double, as ebound_ref.c does for the relu family: each entry's recursion again
 * at u_L = 2^-64 with an a priori bound of its own error, and |K_exact - K| <= |K - K_ref| + bound(K_ref).
 *
 * The reference's bound, per layer: with V(a, b, c) = E[phi(u) phi(v)], Vd = E[phi'(u) phi'(v)],
 *   |dc'| <= w (|dV/dc| dc + |dV/da| da + |dV/db| db + R_V) + u_L |c'|,
 *   |dTheta'| <= |dc'| (or the standard form's) + w (|dVd| |Theta| + |Vd| dTheta) + 3 u_L |w Vd Theta|,
 * the partial derivatives in closed form (dV/dc = Vd by Price's theorem), R_V V's rounding: erf 32 u_L |V| (a few
 * operations and asinl); sin, cos, exp 8 u_L of the exponentials' magnitudes plus 2 u_L |x| for the rounding of
 * their arguments x (expl, sinhl within a few ulp: glibc's table of known maximal errors, x86 long double). The derivatives are taken at the reference's values: over the interval of
 * uncertainty (relative width below 1e-15 where the bound is used) they change by a fraction of that, covered by
 * the factor 1 + 1e-6 + 4 rel. The diagonal variances a^l carry their own bounds by the same rule at c = a. */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>

typedef long double LD;
#define UL (LDBL_EPSILON / 2)
#define PI_L 3.141592653589793238462643383279502884L

int dw_kern_ebound_smooth_ok(const dw_kernel_plan *p)
{
    const dw_family f = p->act->fam;
    return LDBL_MANT_DIG >= 64 && p->depth > 0 &&
           (f == DW_FAM_ERF || f == DW_FAM_SIN || f == DW_FAM_COS || f == DW_FAM_EXP || f == DW_FAM_IDENTITY ||
            f == DW_FAM_POLY || f == DW_FAM_GELU);
}

typedef struct {
    LD V, Vd;                         /* the expectations */
    double dVc, dVa, dVb, R;          /* |dV/dc|, |dV/da|, |dV/db|, V's rounding */
    double dVdc, dVda, dVdb, Rd;      /* the same for Vd */
} smooth_val;

static double gl(double k) { return k * UL / (1.0 - k * UL); }

/* A polynomial phi = sum_j q_j z^j (degree n): M_k(a) = E[phi^(k)(sqrt(a) Z)] = sum_{j >= k, j - k even} q_j
 * j! / (j - k)! a^((j-k)/2) (j - k - 1)!!, k = 0..n + 3 (0 above n), in long double, and the same sum of the
 * terms' magnitudes (Ma: the scale of its rounding, at most gamma_{4n+8} Ma_k relative per M_k: the falling
 * factorial, the power and the double factorial by repeated products, the sum). */
static void poly_moments(const dw_act *act, LD a, LD *M, LD *Ma)
{
    const int n = act->deg;
    for (int k = 0; k <= n + 3; k++) {
        LD s = 0, sa = 0;
        for (int j = k; j <= n; j += 2) {
            LD t = (LD)act->coef[j];
            for (int q = 0; q < k; q++) t *= (LD)(j - q);
            for (int m = j - k; m > 1; m -= 2) t *= (LD)(m - 1) * a;
            s += t;
            sa += fabsl(t);
        }
        M[k] = s;
        Ma[k] = sa;
    }
}

/* sum_k x_k y_k c^k / k! over k = 0..n (Price / Isserlis: E[f(u) g(v)] with M_k of f and g), and the sum of the
 * magnitudes with |c|. */
static LD price_sum(const LD *x, const LD *y, int n, LD c, LD *mag)
{
    LD s = 0, m = 0, p = 1;
    for (int k = 0; k <= n; k++) {
        if (k) p *= c / (LD)k;
        s += x[k] * y[k] * p;
        m += fabsl(x[k] * y[k] * p);
    }
    *mag = m;
    return s;
}

/* Polynomials: V = sum_k M_k(a) M_k(b) c^k / k!, Vd with M_{k+1}; the partial derivatives by Price and the heat
 * equation (dV/da = E[phi''(u) phi(v)] / 2, dVd/dc = E[phi''(u) phi''(v)], dVd/da = E[phi'''(u) phi'(v)] / 2) in
 * the same form, their magnitudes taken term by term (an upper bound); the rounding from the terms' magnitudes. */
static void poly_eval(const dw_act *act, LD a, LD b, LD c, smooth_val *r)
{
    const int n = act->deg;
    LD Mi[DW_POLY_MAX_DEGREE + 4], Ai[DW_POLY_MAX_DEGREE + 4], Mj[DW_POLY_MAX_DEGREE + 4], Aj[DW_POLY_MAX_DEGREE + 4];
    LD m, mv, md;
    poly_moments(act, a, Mi, Ai);
    poly_moments(act, b, Mj, Aj);
    const LD ac = fabsl(c);
    r->V = price_sum(Mi, Mj, n, c, &m);
    r->Vd = price_sum(Mi + 1, Mj + 1, n, c, &m);
    r->dVc = (double)fabsl(r->Vd);
    (void)price_sum(Ai + 2, Aj, n, ac, &m);
    r->dVa = 0.5 * (double)m;
    (void)price_sum(Ai, Aj + 2, n, ac, &m);
    r->dVb = 0.5 * (double)m;
    (void)price_sum(Ai + 2, Aj + 2, n, ac, &m);
    r->dVdc = (double)m;
    (void)price_sum(Ai + 3, Aj + 1, n, ac, &m);
    r->dVda = 0.5 * (double)m;
    (void)price_sum(Ai + 1, Aj + 3, n, ac, &m);
    r->dVdb = 0.5 * (double)m;
    (void)price_sum(Ai, Aj, n, ac, &mv);
    (void)price_sum(Ai + 1, Aj + 1, n, ac, &md);
    const double g = gl(8.0 * n + 24.0);
    r->R = g * (double)mv;
    r->Rd = g * (double)md;
}

/* gelu phi(z) = z Phi(z) (sweep_body.h's closed form): V = c h + (ab D + c^2) / (2 pi S sqrt D), Vd = h + c ((3 + a
 * + b) D + c^2) / (2 pi S D sqrt D), S = (1 + a)(1 + b), D = S - c^2, h = atan2(sqrt D, -c) / (2 pi). dV/dc = Vd;
 * the other partial derivatives by the heat equation and Cauchy-Schwarz: |dV/da| = |E[phi''(u) phi(v)]| / 2 <=
 * sqrt(E phi''(u)^2 E phi(v)^2) / 2, |dVd/dc| = |E[phi''(u) phi''(v)]|, |dVd/da| = |E[phi'''(u) phi'(v)]| / 2 with
 * phi'' = (2 - z^2) pdf(z), phi''' = (z^3 - 4 z) pdf(z): E[g(u) pdf(u)^2] = E[g(sqrt(s) Z)] / (2 pi sqrt(1 + 2a)),
 * s = a / (1 + 2a), so E phi''^2 = (4 - 4s + 3s^2) / (2 pi sqrt(1 + 2a)), E phi'''^2 = (15 s^3 - 24 s^2 + 16 s) /
 * (same); E phi(v)^2, E phi'(v)^2 from the closed form at c = b. Rounding: a few dozen operations and atan2l
 * (4 ulp) on sums of the terms' magnitudes. */
static void gelu_vals(LD a, LD b, LD c, LD *V, LD *Vd, LD *mag, LD *magd)
{
    const LD S = (1 + a) * (1 + b), q = fmaxl(a * b - c * c, 0.0L), D = (1 + a + b) + q, sD = sqrtl(D);
    const LD h = atan2l(sD, -c) / (2 * PI_L), den = 2 * PI_L * S * sD;
    const LD t1 = (a * b * D + c * c) / den, t2 = c * (((3 + a + b) * D + c * c) / (den * D));
    *V = c * h + t1;
    *Vd = h + t2;
    *mag = fabsl(c) * h + t1;
    *magd = h + fabsl(t2);
}

static LD gelu_d2(LD a, int third)
{
    const LD s = a / (1 + 2 * a), n = 2 * PI_L * sqrtl(1 + 2 * a);
    return third ? (15 * s * s * s - 24 * s * s + 16 * s) / n : (4 - 4 * s + 3 * s * s) / n;
}

static void gelu_eval(LD a, LD b, LD c, smooth_val *r)
{
    LD m, md, va, vda, vb, vdb, x, y;
    gelu_vals(a, b, c, &r->V, &r->Vd, &m, &md);
    gelu_vals(a, a, a, &va, &vda, &x, &y);
    gelu_vals(b, b, b, &vb, &vdb, &x, &y);
    const LD p2a = gelu_d2(a, 0), p2b = gelu_d2(b, 0), p3a = gelu_d2(a, 1), p3b = gelu_d2(b, 1);
    r->dVc = (double)fabsl(r->Vd);
    r->dVa = 0.5 * (double)sqrtl(p2a * fabsl(vb));
    r->dVb = 0.5 * (double)sqrtl(p2b * fabsl(va));
    r->dVdc = (double)sqrtl(p2a * p2b);
    r->dVda = 0.5 * (double)sqrtl(p3a * fabsl(vdb));
    r->dVdb = 0.5 * (double)sqrtl(p3b * fabsl(vda));
    r->R = gl(64.0) * (double)m;
    r->Rd = gl(64.0) * (double)md;
}

/* V, Vd and their sensitivities at (a, b, c), |c| <= sqrt(ab) (clipped as the sweep does). */
static void smooth_eval(const dw_act *act, LD a, LD b, LD c, smooth_val *r)
{
    const dw_family f = act->fam;
    const LD lim = sqrtl(a) * sqrtl(b);
    c = fminl(fmaxl(c, -lim), lim);
    switch (f) {
    case DW_FAM_POLY:
        poly_eval(act, a, b, c, r);
        break;
    case DW_FAM_GELU:
        gelu_eval(a, b, c, r);
        break;
    case DW_FAM_ERF: {
        const LD pa = 1 + 2 * a, pb = 1 + 2 * b, P = pa * pb, q = P - 4 * c * c, z = 2 * c / sqrtl(P);
        const LD sq = sqrtl(q), k = 2 / PI_L;
        r->V = k * asinl(z);
        r->Vd = 2 * k / sq;
        /* dV/dc = Vd; dV/da = -k z / ((1 + 2a) sqrt(1 - z^2)) = -k z sqrt(P) / ((1 + 2a) sq) */
        r->dVc = (double)r->Vd;
        r->dVa = (double)(k * fabsl(z) * sqrtl(P) / (pa * sq));
        r->dVb = (double)(k * fabsl(z) * sqrtl(P) / (pb * sq));
        /* Vd = 2k q^(-1/2): dq/dc = -8c, dq/da = 2 pb, dq/db = 2 pa */
        const LD d3 = k / (q * sq);
        r->dVdc = (double)(d3 * 8 * fabsl(c));
        r->dVda = (double)(d3 * 2 * pb);
        r->dVdb = (double)(d3 * 2 * pa);
        r->R = 32 * UL * (double)fabsl(r->V);
        r->Rd = 32 * UL * (double)r->Vd;
        break;
    }
    case DW_FAM_SIN:
    case DW_FAM_COS: {
        const LD m = 0.5L * (a + b), ep = expl(c - m), em = expl(-c - m), small = fabsl(c) < 0.5L;
        /* sinh(c) e^-m without cancellation where |c| is small (sinhl), else from the two exponentials */
        const LD ch = 0.5L * (ep + em), sh = small ? sinhl(c) * expl(-m) : 0.5L * (ep - em);
        const int sn = f == DW_FAM_SIN;
        r->V = sn ? sh : ch;
        r->Vd = sn ? ch : sh;
        r->dVc = (double)fabsl(r->Vd);
        r->dVa = r->dVb = 0.5 * (double)fabsl(r->V);
        r->dVdc = (double)fabsl(r->V);
        r->dVda = r->dVdb = 0.5 * (double)fabsl(r->Vd);
        /* expl, sinhl within a few ulp; the arguments c -+ m, -m rounded (relative u_L): e^x moves by u_L |x|;
         * the sum / difference and the halving: 2 u_L of the magnitude */
        const double arg = (double)(fabsl(c) + m), mag = (double)(ep + em);
        const double rch = mag * (8 * UL + 2 * UL * arg);
        const double rsh = small ? (double)fabsl(sh) * (8 * UL + 2 * UL * (double)m) : rch;
        r->R = sn ? rsh : rch;
        r->Rd = sn ? rch : rsh;
        break;
    }
    case DW_FAM_EXP: {
        const LD e = expl(0.5L * (a + b) + c);
        r->V = r->Vd = e;
        r->dVc = r->dVdc = (double)e;
        r->dVa = r->dVb = r->dVda = r->dVdb = 0.5 * (double)e;
        r->R = r->Rd = (double)e * (8 * UL + 2 * UL * (double)(0.5L * (a + b) + fabsl(c)));
        break;
    }
    default: /* identity */
        r->V = c;
        r->Vd = 1;
        r->dVc = 1;
        r->dVa = r->dVb = r->dVdc = r->dVda = r->dVdb = 0;
        r->R = (double)(UL * fabsl(c));
        r->Rd = 0;
        break;
    }
}

static double up(LD x) { return (double)x * (1.0 + 4.0 * DBL_EPSILON); }
static double slack(double rel) { return 1.0 + 1e-6 + 4.0 * rel; }

/* a^l in long double and their absolute bounds, l = 0..depth (L1 each), points k0..k1 of sd */
void dw_kern_ebound_smooth_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, long double *A,
                                  double *DA)
{
    const size_t d = p->d, L1 = (size_t)p->depth + 1;
    const LD wd = (LD)p->w[0] / (LD)d;
    for (size_t k = k0; k < k1; k++) {
        const double *x = sd->x + k * d;
        LD *a = A + (k - k0) * L1;
        double *da = DA + (k - k0) * L1;
        LD nrm = 0;
        for (size_t m = 0; m < d; m++) nrm += (LD)x[m] * (LD)x[m];
        a[0] = wd * nrm + (LD)p->beta[0];
        da[0] = (double)a[0] * ((double)d + 3.0) * UL * 1.01;
        for (int l = 0; l < p->depth; l++) {
            smooth_val v;
            smooth_eval(p->act, a[l], a[l], a[l], &v);
            const LD w = (LD)p->w[l + 1];
            a[l + 1] = w * v.V + (LD)p->beta[l + 1];
            const double rel = a[l] > 0 ? da[l] / (double)a[l] : 0.0;
            da[l + 1] = ((double)w * ((v.dVc + v.dVa + v.dVb) * da[l] + v.R) + UL * (double)fabsl(a[l + 1])) *
                        slack(rel);
        }
    }
}

/* One row: BK, BT (in: +inf or a bound; out: the smaller of that and |K - K_ref| + the reference's bound). */
void dw_kern_ebound_smooth(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *K, const double *T,
                           double *BK, double *BT, const long double *Ai, const double *DAi, const long double *Aj,
                           const double *DAj)
{
    const size_t d = p->d, L1 = (size_t)p->depth + 1;
    const LD wd = (LD)p->w[0] / (LD)d, b0 = (LD)p->beta[0], hb0 = p->beta[0] > 0 ? 1.0L : 0.0L;
    const double *xi = p->X.x + i * d;
    for (size_t j = 0; j < nj; j++) {
        const double *yj = p->Y.x + (j0 + j) * d;
        const LD *aj = Aj + j * L1;
        const double *daj = DAj + j * L1;
        LD g = 0, ga = 0;
        for (size_t m = 0; m < d; m++) {
            g += (LD)xi[m] * (LD)yj[m];
            ga += fabsl((LD)xi[m] * (LD)yj[m]);
        }
        LD c = wd * g + b0, th = p->standard ? g + hb0 : c;
        double dc = ((double)d + 3.0) * UL * 1.01 * (double)(wd * ga + b0);
        double dth = p->standard ? ((double)d + 1.0) * UL * 1.01 * (double)(ga + hb0) : dc;
        for (int l = 0; l < p->depth; l++) {
            smooth_val v;
            smooth_eval(p->act, Ai[l], aj[l], c, &v);
            const LD w = (LD)p->w[l + 1], beta = (LD)p->beta[l + 1], hb = beta > 0 ? 1.0L : 0.0L;
            const double sc = sqrt((double)Ai[l] * (double)aj[l]);
            const double rel = fmax(sc > 0 ? dc / sc : 0.0, fmax(Ai[l] > 0 ? DAi[l] / (double)Ai[l] : 0.0,
                                                                 aj[l] > 0 ? daj[l] / (double)aj[l] : 0.0));
            const double dV = v.dVc * dc + v.dVa * DAi[l] + v.dVb * daj[l] + v.R;
            const double dVd = v.dVdc * dc + v.dVda * DAi[l] + v.dVdb * daj[l] + v.Rd;
            const LD cn = w * v.V + beta;
            const LD thn = (p->standard ? (LD)p->fan_in[l + 1] * v.V + hb : cn) + w * v.Vd * th;
            const double dcn = ((double)w * dV + 2 * UL * (double)fabsl(cn)) * slack(rel);
            const double db = p->standard ? (p->fan_in[l + 1] * dV + 2 * UL * (double)fabsl(thn)) : dcn;
            dth = (db + (double)w * (dVd * (double)fabsl(th) + (double)fabsl(v.Vd) * dth) +
                   3 * UL * (double)fabsl(w * v.Vd * th) + UL * (double)fabsl(thn)) *
                  slack(rel);
            dc = dcn;
            c = cn;
            th = thn;
        }
        if (BK) BK[j] = fmin(BK[j], up(fabsl((LD)K[j] - c)) + dc * (1.0 + 1e-6));
        if (BT) BT[j] = fmin(BT[j], up(fabsl((LD)T[j] - th)) + dth * (1.0 + 1e-6));
    }
}
