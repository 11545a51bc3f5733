/* The bivariate normal upper orthant P(X > h, Y > k), (X, Y) standard with correlation rho, |rho| < 1, and
 * s = sqrt(1 - rho^2) given by the caller (from the covariance itself: near |rho| = 1, 1 - rho from a rounded rho
 * would lose the digits that decide L); *err, an absolute error estimate: rounding (4 eps (1 + O(h^2 + k^2)) of
 * the magnitudes of the terms that formed L, which can be far larger than L: a tail, or two nearly equal terms;
 * the factor is exp's amplification of its argument's rounding) plus |Q24 - Q16|
 * of every Gauss-Legendre rule (peaked integrands: far tails). tests/c/test_bvn.c: against the conditional 1-D
 * integral in long double and known values.
 *
 *   |rho| <= 0.925: Sheppard's form  L = Q(h) Q(k) + (1/2pi) int_0^{asin rho} exp(-(h^2 + k^2 - 2hk sin t) /
 *                   (2 cos^2 t)) dt, a smooth integrand (cos t >= 0.38): one 24-point Gauss-Legendre rule.
 *   rho > 0.925:    Plackett's dL/drho = density, integrated from rho to 1, where L(1) = Q(max(h, k)); with
 *                   t = sqrt(1 - r^2) the integrand is exp(-(h-k)^2/(2t^2) - hk/(1+r)) / (2 pi r) on [0, s],
 *                   s = sqrt(1 - rho^2) <= 0.38: smooth except for the layer exp(-c^2/(2t^2)), c = |h - k|, which
 *                   rises from 0 on the scale c: panels graded geometrically from c/32 (where the layer is
 *                   e^{-512}) so every panel sees a smooth function; for c < 1e-9 s the layer's effect is the
 *                   known -c sqrt(pi/2) g(0) + O(c^2 log c).
 *   rho < -0.925:   L(h, k, rho) = Q(h) - L(h, -k, -rho).
 */
#include "gauss/gauss.h"

#include <float.h>
#include <math.h>

#define TWO_PI 6.28318530717958647693

static double Q(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }

/* Gauss-Legendre rules 16 and 24 on [lo, hi] of the high-correlation integrand: the 24-point value, and the
 * difference to the 16-point one in *d. */
static double hi_panel(double lo, double hi, double c, double hk, double *d)
{
    double v[2];
    for (int q = 0; q < 2; q++) {
        const double *x, *w;
        const int n = dw_gl_rule(q + 1, &x, &w);
        const double m = 0.5 * (lo + hi), r = 0.5 * (hi - lo);
        double s = 0;
        for (int i = 0; i < n; i++) {
            const double t = m + r * x[i], rr = sqrt((1 - t) * (1 + t));
            const double e = (c > 0 ? -c * c / (2 * t * t) : 0.0) - hk / (1 + rr);
            s += w[i] * exp(e) / rr;
        }
        v[q] = r * s / TWO_PI;
    }
    *d = fabs(v[1] - v[0]);
    return v[1];
}

double dw_bvn_upper(double h, double k, double rho, double s, double *err)
{
    double e = 0;
    if (rho < -0.925) {
        const double q = Q(h), L = dw_bvn_upper(h, -k, -rho, s, &e);
        if (err) *err = e + 4 * DBL_EPSILON * (1 + h * h) * q;
        return q - L;
    }
    if (rho <= 0.925) {
        const double th = asin(rho), m = 0.5 * th, hh = h * h + k * k, hk2 = 2 * h * k;
        double v[2];
        for (int q = 0; q < 2; q++) {
            const double *x, *w;
            const int n = dw_gl_rule(q + 1, &x, &w);
            double acc = 0;
            for (int i = 0; i < n; i++) {
                const double t = m + m * x[i], sn = sin(t), cs2 = (1 - sn) * (1 + sn);
                acc += w[i] * exp(-(hh - hk2 * sn) / (2 * cs2));
            }
            v[q] = m * acc / TWO_PI;
        }
        const double q2 = Q(h) * Q(k);
        /* rounding: exp(-E) with E up to (|h| + |k|)^2 / (2 cos^2) carries E times E's relative error */
        if (err) *err = fabs(v[1] - v[0]) + 4 * DBL_EPSILON * (1 + 4 * (fabs(h) + fabs(k)) * (fabs(h) + fabs(k))) * (q2 + fabs(v[1]));
        return q2 + v[1];
    }
    const double sr = s, c = fabs(h - k), hk = h * k;
    double I = 0, d = 0;
    if (c == 0) {
        I = hi_panel(0, sr, 0, hk, &d);
        e += d;
    } else if (c < 1e-9 * sr) {
        I = hi_panel(0, sr, 0, hk, &d) - 1.25331413731550025121 * c * exp(-hk / 2) / TWO_PI;
        e += d + c * c * (1 + fabs(log(c))) * exp(fabs(hk)); /* the O(c^2 log c) remainder, generously */
    } else {
        /* panels [c/32, c/16], ..., up to s (or from s/32 when c >= s; from 0 when the layer is below e^{-32}) */
        const double top = c < sr ? c : sr;
        double a = c >= 8 * sr ? 0.0 : top / 32;
        if (a == 0.0) {
            I = hi_panel(0, sr, c, hk, &d);
            e += d;
        } else {
            while (a < sr) {
                const double b = 2 * a < sr ? 2 * a : sr;
                I += hi_panel(a, b, c, hk, &d);
                e += d;
                a = b;
            }
        }
    }
    const double q = Q(h > k ? h : k);
    if (err) *err = e + 4 * DBL_EPSILON * (2 + h * h + k * k) * (q + fabs(I));
    return q - I;
}

/* E[(X - h)_+ (Y - k)_+] for 0 <= rho < 1 as a sum of positive terms (Price's theorem: dR/drho = L):
 *   R = m1(h) m1(k) + rho Q(h) Q(k) + int_0^rho (rho - r) f(h, k; r) dr,   m1(x) = pdf(x) - x Q(x),
 * f the bivariate density; the integral in Sheppard's variable r = sin t up to min(rho, 0.925), and above in
 * t = sqrt(1 - r^2) (panels graded into the layer exp(-(h-k)^2/(2t^2))). No cancellation between the terms, so
 * far tails keep their relative accuracy (the Rosenbaum form subtracts terms 1e5 times larger there). */
#define RHO_SWITCH 0.925
static double m1(double x)
{
    return 0.39894228040143267794 * exp(-0.5 * x * x) - x * Q(x);
}

/* Gauss-Legendre 24 (value) and 16 (difference into *d) on [lo, hi] of g(t; ...) for the two forms. */
static double r_sheppard(double lo, double hi, double h, double k, double rho, double *d)
{
    double v[2];
    for (int q = 0; q < 2; q++) {
        const double *x, *w;
        const int n = dw_gl_rule(q + 1, &x, &w);
        const double m = 0.5 * (lo + hi), r = 0.5 * (hi - lo);
        double acc = 0;
        for (int i = 0; i < n; i++) {
            const double t = m + r * x[i], sn = sin(t), cs2 = (1 - sn) * (1 + sn);
            acc += w[i] * (rho - sn) * exp(-(h * h + k * k - 2 * h * k * sn) / (2 * cs2));
        }
        v[q] = r * acc / TWO_PI;
    }
    *d = fabs(v[1] - v[0]);
    return v[1];
}

static double r_high(double lo, double hi, double c, double hk, double rho, double *d)
{
    double v[2];
    for (int q = 0; q < 2; q++) {
        const double *x, *w;
        const int n = dw_gl_rule(q + 1, &x, &w);
        const double m = 0.5 * (lo + hi), r = 0.5 * (hi - lo);
        double acc = 0;
        for (int i = 0; i < n; i++) {
            const double t = m + r * x[i], rr = sqrt((1 - t) * (1 + t));
            const double e = (c > 0 ? -c * c / (2 * t * t) : 0.0) - hk / (1 + rr);
            acc += w[i] * (rho - rr) * exp(e) / rr;
        }
        v[q] = r * acc / TWO_PI;
    }
    *d = fabs(v[1] - v[0]);
    return v[1];
}

double dw_bvn_ramp(double h, double k, double rho, double s, double *err)
{
    double e = 0, d = 0, I;
    const double top = rho < RHO_SWITCH ? rho : RHO_SWITCH;
    I = r_sheppard(0, asin(top), h, k, rho, &d);
    e += d;
    if (rho > RHO_SWITCH) { /* (rho - r) f dr for r in (0.925, rho): t from s to s0 */
        const double s0 = sqrt((1 - RHO_SWITCH) * (1 + RHO_SWITCH)), c = fabs(h - k), hk = h * k;
        /* geometric panels from s (or from c/32, below which the layer is under e^{-512}) up to s0 */
        double a = c / 32 > s ? c / 32 : s, b = 2 * a < s0 ? 2 * a : s0;
        while (a < s0) {
            I += r_high(a, b, c, hk, rho, &d);
            e += d;
            a = b;
            b = 2 * a < s0 ? 2 * a : s0;
        }
    }
    const double mh = m1(h), mk = m1(k), qq = Q(h) * Q(k);
    const double R = mh * mk + rho * qq + I;
    if (err)
        *err = e + 4 * DBL_EPSILON * (1 + 4 * (fabs(h) + fabs(k)) * (fabs(h) + fabs(k))) * (fabs(mh * mk) + rho * qq + fabs(I));
    return R;
}
