/* dw_bvn_upper (gauss/bvn.c) against an independent route: the conditional form P(X > h, Y > k) = int_h^inf
 * pdf(x) Q((k - rho x)/s) dx by composite Gauss-Legendre in long double, with panels graded into the step of
 * Q at x = k/rho (width s/|rho|); and known values: L(0, 0, rho) = 1/4 + asin(rho)/(2 pi), L(h, k, 0) = Q(h) Q(k),
 * symmetry in (h, k), continuity across the branch switch at |rho| = 0.925. */
#include "check.h"
#include "gauss/gauss.h"

#include <math.h>
#include <stdio.h>

static long double Ql(long double x) { return 0.5L * erfcl(x * 0.70710678118654752440084436210485L); }

/* sum of GL-24 on [lo, hi] of pdf(x) Q((k - rho x)/s) */
static long double panel(long double lo, long double hi, double k, double rho, double s)
{
    const double *x, *w;
    const int n = dw_gl_rule(2, &x, &w);
    const long double m = 0.5L * (lo + hi), r = 0.5L * (hi - lo);
    long double acc = 0;
    for (int i = 0; i < n; i++) {
        const long double t = m + r * (long double)x[i];
        acc += (long double)w[i] * expl(-0.5L * t * t) * 0.39894228040143267793994605993438L *
               Ql(((long double)k - (long double)rho * t) / (long double)s);
    }
    return r * acc;
}

static double cond_ref(double h, double k, double rho, double s)
{
    const long double top = fmaxl(h, 0) + 40.0L;
    long double acc = 0, a = h;
    const long double x0 = rho != 0 ? (long double)k / rho : -1e300L, wdt = (long double)s / fabs(rho != 0 ? rho : 1);
    /* uniform panels of 0.125 away from x0; of wdt/4 within 40 wdt of it */
    while (a < top) {
        const int near = fabsl(a - x0) < 40 * wdt + 0.125L;
        long double b = a + (near && wdt < 0.5L ? wdt / 4 : 0.125L);
        if (b > top) b = top;
        acc += panel(a, b, k, rho, s);
        a = b;
    }
    return (double)acc;
}

/* E[(X - h)_+ (Y - k)_+] in conditional form: int_h^inf (x - h) pdf(x) E[(W - k)_+] dx, W ~ N(rho x, s^2),
 * E[(W - k)_+] = (m - k) Phi((m - k)/s) + s pdf((m - k)/s); same panels as cond_ref. */
static double ramp_ref(double h, double k, double rho, double s)
{
    const double *x, *w;
    const int n = dw_gl_rule(2, &x, &w);
    const long double top = fmaxl(h, 0) + 40.0L;
    const long double x0 = rho != 0 ? (long double)k / rho : -1e300L, wdt = (long double)s / fabs(rho != 0 ? rho : 1);
    long double acc = 0, a = h;
    while (a < top) {
        const int near = fabsl(a - x0) < 40 * wdt + 0.125L;
        long double b = a + (near && wdt < 0.5L ? wdt / 4 : 0.125L);
        if (b > top) b = top;
        const long double m = 0.5L * (a + b), r = 0.5L * (b - a);
        long double p = 0;
        for (int i = 0; i < n; i++) {
            const long double t = m + r * (long double)x[i], mu = (long double)rho * t - k, z = mu / s;
            const long double inner = mu * Ql(-z) + (long double)s * expl(-0.5L * z * z) * 0.39894228040143267793994605993438L;
            p += (long double)w[i] * (t - h) * expl(-0.5L * t * t) * 0.39894228040143267793994605993438L * inner;
        }
        acc += r * p;
        a = b;
    }
    return (double)acc;
}

int main(void)
{
    const double hs[] = {-4.5, -1.3, -0.2, 0.0, 0.3, 1.0, 2.2, 5.0};
    const double rhos[] = {-0.9999999, -0.99, -0.93, -0.9, -0.5, 0.0, 0.3, 0.92, 0.926, 0.97, 0.999, 0.9999999};
    double worst = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            for (int r = 0; r < 12; r++) {
                const double h = hs[i], k = hs[j] + (j % 3 == 0 ? 1e-7 : 0.0), rho = rhos[r];
                const double s = sqrt((1 - rho) * (1 + rho));
                double e;
                const double L = dw_bvn_upper(h, k, rho, s, &e), R = cond_ref(h, k, rho, s);
                if (fabs(L - R) > worst) worst = fabs(L - R);
                CHECK(fabs(L - R) <= 1e-15);
                CHECK(fabs(L - R) <= e + 1e-300); /* the error estimate is honest, also for tiny L */
                CHECK(fabs(L - dw_bvn_upper(k, h, rho, s, NULL)) <= 4e-16);
            }
    printf("bvn: worst |L - conditional route| = %.2e over 768 cases\n", worst);
    for (int r = 0; r < 12; r++) {
        const double rho = rhos[r], s = sqrt((1 - rho) * (1 + rho));
        CHECK_CLOSE(dw_bvn_upper(0, 0, rho, s, NULL), 0.25 + asin(rho) / (2 * M_PI), 0, 4e-16);
    }
    for (int i = 0; i < 8; i++)
        CHECK_CLOSE(dw_bvn_upper(hs[i], 0.7, 0.0, 1.0, NULL), 0.25 * erfc(hs[i] / sqrt(2)) * erfc(0.7 / sqrt(2)), 0, 4e-16);
    /* the branch switch: just below and above 0.925 */
    const double lo = 0.925, hi = nextafter(0.925, 1.0);
    CHECK(fabs(dw_bvn_upper(0.4, -0.8, lo, sqrt((1 - lo) * (1 + lo)), NULL) -
               dw_bvn_upper(0.4, -0.8, hi, sqrt((1 - hi) * (1 + hi)), NULL)) <= 1e-15);
    /* nearly equal thresholds at high correlation (the layer branch c < 1e-9 s and the graded panels) */
    const double rh = 0.99999, sh = sqrt((1 - rh) * (1 + rh));
    for (int e = 2; e <= 14; e += 3) {
        const double k = 0.6 + pow(10, -e);
        CHECK(fabs(dw_bvn_upper(0.6, k, rh, sh, NULL) - cond_ref(0.6, k, rh, sh)) <= 1e-15);
    }
    /* far tails, where L is many orders below the terms that form it: the estimate must still cover the error */
    const double tails[][3] = {{1, 10, -0.5}, {1, 10, 0.9}, {-2, 8, 0.3}, {6, 6, 0.5}, {3, 9, 0.99}, {4, -4, -0.97}};
    for (int t = 0; t < 6; t++) {
        const double h = tails[t][0], k = tails[t][1], rho = tails[t][2], s = sqrt((1 - rho) * (1 + rho));
        double e;
        const double L = dw_bvn_upper(h, k, rho, s, &e), R = cond_ref(h, k, rho, s);
        CHECK(fabs(L - R) <= e + 1e-300);
        CHECK(e <= 1e-12 * fmax(R, 1e-300) || e <= 1e-30); /* and not absurdly pessimistic */
    }
    /* the ramp moment R (rho >= 0, positive terms): relative accuracy, also in the far tails */
    const double rr[] = {0.0, 0.3, 0.9, 0.925, 0.93, 0.99, 0.99999, 1 - 1e-9};
    double wr = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            for (int r = 0; r < 8; r++) {
                const double h = hs[i], k = hs[j] + (j % 3 == 1 ? 1e-6 : 0.0), rho = rr[r], s = sqrt((1 - rho) * (1 + rho));
                double e;
                const double R = dw_bvn_ramp(h, k, rho, s, &e), Rf = ramp_ref(h, k, rho, s);
                CHECK(fabs(R - Rf) <= e + 1e-300);
                /* and the estimate's own size: 4 eps (1 + 4 (|h| + |k|)^2) relative is 3.6e-13 at |h| + |k| = 10,
                 * the largest here (rule differences are far below it) */
                CHECK(fabs(R - Rf) <= 1e-12 * Rf + 1e-300);
                if (Rf > 0 && fabs(R - Rf) / Rf > wr) wr = fabs(R - Rf) / Rf;
            }
    printf("bvn: ramp moment, worst relative error %.2e over 512 cases\n", wr);
    return check_done("bvn");
}
