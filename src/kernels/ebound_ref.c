/* The relu family's and the step's per-entry bounds by a reference (docs/kernel.md "Per-entry error bounds"): each
 * entry's recursion again in long double (x87 extended: u_L = 2^-64, 2^11 times below double's), with its own rounding
 * bound from the analysis of ebound.c at u_L (dw_kern_relu_step_bound; atan2l within 4 ulp, glibc's table of
 * known maximal errors lists 1 ulp for x86 long double). Then |K_exact - K| <= |K - K_ref| + bound(K_ref): the
 * double's actual error, measured, plus the reference's, bounded a priori; the smaller of this and the a priori
 * bound of the double itself is kept. Where long double is double (other platforms), the reference is skipped. */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef long double LD;
#define UL (LDBL_EPSILON / 2)
#define PI_L 3.141592653589793238462643383279502884L
#define PI_ERR_L 1.1e-19 /* |fl_L(pi) - pi| <= ulp(pi) / 2 = 2^-63 */

static double gl(double k) { return k * UL / (1.0 - k * UL); }

/* Up by the rounding of a conversion to double (and of the bound's own few operations). */
static double up(LD x) { return (double)x * (1.0 + 4.0 * DBL_EPSILON); }

int dw_kern_ebound_ref_ok(const dw_kernel_plan *p)
{
    return LDBL_MANT_DIG >= 64 && p->lam2 == 1.0 && (p->act->fam == DW_FAM_RELU || p->act->fam == DW_FAM_STEP);
}

/* Per point (L1 = depth + 1 values each): a^l and sqrt(w_{l+1} m2 a^l) in long double, and the relative bounds
 * of a^l. */
void dw_kern_ebound_ref_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, LD *A, LD *SP,
                               double *EA)
{
    const size_t d = p->d, L1 = (size_t)p->depth + 1;
    const LD wd = (LD)p->w[0] / (LD)d, m2 = 0.5L * (1.0L + (LD)p->act->alpha * (LD)p->act->alpha);
    const int step = p->act->fam == DW_FAM_STEP; /* E[step(u)^2] = [a > 0] / 2, whatever a */
    for (size_t k = k0; k < k1; k++) {
        const double *x = sd->x + k * d;
        LD *a = A + (k - k0) * L1, *sp = SP + (k - k0) * L1;
        double *ea = EA + (k - k0) * L1;
        LD nrm = 0;
        for (size_t m = 0; m < d; m++) nrm += (LD)x[m] * (LD)x[m];
        a[0] = wd * nrm + (LD)p->beta[0];
        ea[0] = gl((double)d + 3.0);
        sp[p->depth] = 0;
        for (int l = 0; l < p->depth; l++) {
            const LD P = step ? (a[l] > 0 ? (LD)p->w[l + 1] * 0.5L : 0.0L) : (LD)p->w[l + 1] * m2 * a[l];
            sp[l] = sqrtl(P);
            a[l + 1] = P + (LD)p->beta[l + 1];
            const LD e0 = step ? 0.0L : (LD)ea[l];
            ea[l + 1] = a[l + 1] > 0 ? (double)((e0 + 5.0L * UL) * (P / a[l + 1])) * (1.0 + 1e-6) + UL : 0.0;
        }
    }
}

/* A nearly parallel or opposite pair (min(s, t) < 1/16): the state from the wedge product, as tile.c refines it,
 * in long double with its bound: sin^2 theta = ((w/d)^2 sum_{k<l} q_kl^2 + (w/d) b sum_k (x_k - y_k)^2) / (a_x a_y),
 * q_kl = x_k y_l - x_l y_k within 2 u_L (|x_k y_l| + |x_l y_k|); s = sin^2 / (2 (1 + |rho|)) (or 1 - that), whose
 * relative error adds |drho| / (1 + |rho|). Kept where its bound is the smaller. */
static void wedge_state(const dw_kernel_plan *p, const double *x, const double *y, LD rho, double drho, LD ax, LD ay,
                        double eax, double eay, LD *S, LD *T, double *ds, double *dt)
{
    const size_t d = p->d;
    const LD wd = (LD)p->w[0] / (LD)d, b0 = (LD)p->beta[0];
    LD W = 0, B = 0;
    double eW = 0, eB = 0;
    for (size_t k = 0; k < d; k++) {
        for (size_t l = k + 1; l < d; l++) {
            const LD a = (LD)x[k] * (LD)y[l], b = (LD)x[l] * (LD)y[k], q = a - b;
            const double e = 2 * UL * (double)(fabsl(a) + fabsl(b));
            W += q * q;
            eW += e * (2 * (double)fabsl(q) + e);
        }
        const LD df = (LD)x[k] - (LD)y[k];
        B += df * df;
        eB += 3 * UL * (double)(df * df);
    }
    const double nt = (double)(d * d + d) * 0.5 + 2.0; /* the sums' accumulation: gamma_nt of their magnitudes */
    eW += nt * UL * (double)W * 1.01;
    eB += nt * UL * (double)B * 1.01;
    const LD num = wd * wd * W + wd * b0 * B;
    if (!(ax * ay > 0)) return;
    const LD sin2 = fminl(num / ax / ay, 1.0L), den = 2.0L * (1.0L + fabsl(rho)), near = sin2 / den;
    /* the sums' errors absolutely (a pair with W = 0 computed keeps a bound of order u_L^2), the rest relatively */
    const double dnum = (double)(wd * wd) * eW + (double)(wd * b0) * eB;
    const double rel = eax + eay + 8 * UL + drho / (1.0 + fabs((double)rho));
    const double dn = (dnum / (double)(ax * ay * den) + (double)near * rel) * (1.0 + 1e-6);
    const LD s1 = rho >= 0 ? near : 1.0L - near, t1 = rho >= 0 ? 1.0L - near : near;
    const double d1 = rho >= 0 ? dn : dn + UL * (double)s1, d2 = rho >= 0 ? dn + UL * (double)t1 : dn;
    if (fmax(d1, d2) < fmax(*ds, *dt)) {
        *S = s1;
        *T = t1;
        *ds = d1;
        *dt = d2;
    }
}

void dw_kern_ebound_ref(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *K, const double *T,
                        double *BK, double *BT, const dw_ref_pts *ri, const dw_ref_pts *rj)
{
    const size_t d = p->d, L1 = (size_t)p->depth + 1;
    const int L = p->depth, ntk = T != NULL;
    const LD alpha = (LD)p->act->alpha, k = (1.0L - alpha) * (1.0L - alpha) / (2.0L * PI_L);
    const int step = p->act->fam == DW_FAM_STEP; /* V = (pi - theta) / (2 pi), Vd = 0, r = [a > 0] */
    const LD ip = 1.0L / (2.0L * PI_L);
    const LD wd = (LD)p->w[0] / (LD)d, b0 = (LD)p->beta[0], hb0 = p->beta[0] > 0 ? 1.0L : 0.0L;
    const double *xi = p->X.x + i * d;
    const LD *ai = ri->a, *spi = ri->sp;
    const double *eai = ri->ea;
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        const double *yj = p->Y.x + jj * d;
        const LD *aj = rj->a + j * L1, *spj = rj->sp + j * L1;
        const double *eaj = rj->ea + j * L1;
        const int same = (p->symmetric && i == jj) || !memcmp(xi, yj, d * sizeof *xi);
        LD g = 0, ga = 0;
        for (size_t m = 0; m < d; m++) {
            g += (LD)xi[m] * (LD)yj[m];
            ga += fabsl((LD)xi[m] * (LD)yj[m]);
        }
        /* layer 1: |g_L - g| <= gamma_d sum |x y| */
        LD c = wd * g + b0, th = p->standard ? g + hb0 : c;
        double dc = gl((double)d + 3.0) * (double)(wd * ga + b0) * (1.0 + 1e-6);
        double dth = p->standard ? gl((double)d + 1.0) * (double)(ga + hb0) * (1.0 + 1e-6) : dc;
        LD S = 0.5L, Tt = 0.5L;
        double ds = 0, dt = 0;
        const LD ab = ai[0] * aj[0];
        if (same) {
            S = 0.0L;
            Tt = 1.0L;
        } else if (ab > 0) {
            const LD rho = c / sqrtl(ab);
            const double drho = dc / (double)sqrtl(ab) * (1.0 + 1e-6) +
                                fabs((double)rho) * (0.5 * (eai[0] + eaj[0]) + 3.0 * UL);
            S = fminl(fmaxl(0.5L - 0.5L * rho, 0.0L), 1.0L);
            Tt = fminl(fmaxl(0.5L + 0.5L * rho, 0.0L), 1.0L);
            ds = 0.5 * drho + UL * (double)S;
            dt = 0.5 * drho + UL * (double)Tt;
            if (fminl(S, Tt) < 0.0625L && d <= 256) wedge_state(p, xi, yj, rho, drho, ai[0], aj[0], eai[0], eaj[0],
                                                               &S, &Tt, &ds, &dt);
        }
        for (int l = 0; l < L; l++) {
            const LD w = (LD)p->w[l + 1], beta = (LD)p->beta[l + 1], hb = beta > 0 ? 1.0L : 0.0L;
            const int lo = S <= Tt;
            const LD x = 2.0L * atan2l(sqrtl(fminl(S, Tt)), sqrtl(fmaxl(S, Tt)));
            const LD theta = lo ? x : PI_L - x, phi = lo ? PI_L - x : x; /* as the sweep: x exact, the other fl(pi - x) */
            const LD sn = 2.0L * sqrtl(S) * sqrtl(Tt), cs = Tt - S;
            const LD gpi = sn + phi * cs, gth = sn - theta * cs;
            const LD V = step ? phi * ip : alpha * cs + k * gpi, Vd = step ? 0.0L : alpha + k * phi;
            const LD R = step ? (ai[l] > 0 && aj[l] > 0 ? 1.0L : 0.0L) : sqrtl(ai[l]) * sqrtl(aj[l]);
            const LD cn = w * R * V + beta;
            const LD thn = (p->standard ? (LD)p->fan_in[l + 1] * R * V + hb : cn) + w * Vd * th;
            const LD Em = step ? theta * ip
                               : lo ? (1.0L + alpha * alpha) * S - k * gth
                                    : 0.5L * (1.0L + alpha) * (1.0L + alpha) - 2.0L * alpha * Tt - k * gpi;
            const LD Ep = step ? 0.5L + phi * ip : 0.5L * (1.0L - alpha) * (1.0L - alpha) + 2.0L * alpha * Tt + k * gpi;
            LD gap = 0;
            if (beta > 0 && !same) {
                const LD df = spi[l] - spj[l];
                gap = beta * df * df / (sqrtl(ai[l + 1]) * sqrtl(aj[l + 1]) + spi[l] * spj[l] + beta);
            }
            const LD a1 = ai[l + 1] * aj[l + 1];
            const LD inv = a1 > 0 ? 1.0L / (2.0L * sqrtl(ai[l + 1]) * sqrtl(aj[l + 1])) : 0.0L;
            const LD S1 = inv > 0 ? fminl(fmaxl((w * R * Em + gap) * inv, 0.0L), 1.0L) : 0.5L;
            const LD T1 = inv > 0 ? fminl(fmaxl((w * R * Ep + gap + 2.0L * beta) * inv, 0.0L), 1.0L) : 0.5L;
            dw_relu_in in = {.u = UL, .at = 4.0, .pi_err = PI_ERR_L, .series = 0, .lo = lo, .step = step,
                             .alpha = (double)alpha,
                             .w = (double)w, .beta = (double)beta, .uw = 0.0, .ntk = ntk, .standard = p->standard,
                             .fan_in = p->fan_in[l + 1], .same = same,
                             .a_i = (double)ai[l], .a_j = (double)aj[l], .sp_i = (double)spi[l],
                             .sp_j = (double)spj[l], .a1_i = (double)ai[l + 1], .a1_j = (double)aj[l + 1],
                             .ea_i = eai[l], .ea_j = eaj[l], .e1_i = eai[l + 1], .e1_j = eaj[l + 1],
                             .s = (double)S, .t = (double)Tt, .ds = ds, .dt = dt,
                             .dsum = (double)fabsl((S - 1.0L) + Tt) + 2.0 * UL, .th0 = (double)th, .dth0 = dth,
                             .c = (double)cn, .th = (double)thn, .s1 = (double)S1, .t1 = (double)T1,
                             .inv = (double)inv};
            dw_relu_out o = {0, 0, 0, 0};
            dw_kern_relu_step_bound(&in, &o);
            c = cn;
            th = thn;
            S = S1;
            Tt = T1;
            dc = o.dc;
            dth = ntk ? o.dth : 0.0;
            ds = o.ds;
            dt = o.dt;
        }
        if (BK) BK[j] = fmin(BK[j], up(fabsl((LD)K[j] - c)) + dc * (1.0 + 1e-6));
        if (BT && ntk) BT[j] = fmin(BT[j], up(fabsl((LD)T[j] - th)) + dth * (1.0 + 1e-6));
    }
}

double dw_kern_ebound_ref_diag(const dw_kernel_plan *p, size_t i, double a, double b, LD *A, LD *SP, double *EA)
{
    dw_kern_ebound_ref_points(p, &p->X, i, i + 1, A, SP, EA);
    const size_t L = (size_t)p->depth;
    return fmin(b, up(fabsl((LD)a - A[L])) + EA[L] * (double)A[L] * (1.0 + 1e-6));
}
