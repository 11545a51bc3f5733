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
#define RHO_SWITCH 0.925

static double Q(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }

/* The two integrands, with a weight w = 1 (for L) or rho - r (for the ramp moment R):
 *   Sheppard (t in [0, asin rho], r = sin t):  w exp(-(h^2 + k^2 - 2 h k r) / (2 cos^2 t)) / (2 pi),
 *   high (t = sqrt(1 - r^2)):                 w exp(-c^2/(2 t^2) - h k/(1 + r)) / (2 pi r),  c = |h - k|. */
typedef struct {
    double h, k, rho;
    int high, ramp;
} bvn_f;

static double integrand(double t, const bvn_f *f)
{
    if (!f->high) {
        const double sn = sin(t), cs2 = (1 - sn) * (1 + sn);
        return (f->ramp ? f->rho - sn : 1.0) * exp(-(f->h * f->h + f->k * f->k - 2 * f->h * f->k * sn) / (2 * cs2));
    }
    const double r = sqrt((1 - t) * (1 + t)), c = fabs(f->h - f->k);
    const double e = (c > 0 ? -c * c / (2 * t * t) : 0.0) - f->h * f->k / (1 + r);
    return (f->ramp ? f->rho - r : 1.0) * exp(e) / r;
}

/* Gauss-Legendre 24 on [lo, hi] (returned, / 2 pi) and |Q24 - Q16| added to *d. */
static double gl_pair(double lo, double hi, const bvn_f *f, double *d)
{
    double v[2];
    for (int q = 0; q < 2; q++) {
        const double *x, *w;
        const int n = dw_gl_rule(q + 1, &x, &w);
        const double m = 0.5 * (lo + hi), r = 0.5 * (hi - lo);
        double acc = 0;
        for (int i = 0; i < n; i++) acc += w[i] * integrand(m + r * x[i], f);
        v[q] = r * acc / TWO_PI;
    }
    *d += fabs(v[1] - v[0]);
    return v[1];
}

/* The high form on [lo, s0]: geometric panels from lo (or from c/32, below which the layer is under e^{-512}). */
static double high_panels(double lo, double s0, const bvn_f *f, double *d)
{
    const double c = fabs(f->h - f->k);
    double a = c / 32 > lo ? c / 32 : lo, b = 2 * a < s0 ? 2 * a : s0, I = 0;
    while (a < s0) {
        I += gl_pair(a, b, f, d);
        a = b;
        b = 2 * a < s0 ? 2 * a : s0;
    }
    return I;
}

double dw_bvn_upper(double h, double k, double rho, double s, double *err)
{
    double e = 0;
    if (rho < -RHO_SWITCH) {
        const double q = Q(h), L = dw_bvn_upper(h, -k, -rho, s, &e);
        if (err) *err = e + 4 * DBL_EPSILON * (1 + h * h) * q;
        return q - L;
    }
    if (rho <= RHO_SWITCH) {
        const bvn_f f = {h, k, rho, 0, 0};
        const double I = gl_pair(0, asin(rho), &f, &e), q2 = Q(h) * Q(k);
        /* rounding: exp(-E) with E up to (|h| + |k|)^2 / (2 cos^2) carries E times E's relative error */
        if (err) *err = e + 4 * DBL_EPSILON * (1 + 4 * (fabs(h) + fabs(k)) * (fabs(h) + fabs(k))) * (q2 + fabs(I));
        return q2 + I;
    }
    /* L = Q(max(h, k)) - int_0^s (high form) */
    const bvn_f f = {h, k, rho, 1, 0};
    const double c = fabs(h - k);
    double I;
    if (c == 0) {
        I = gl_pair(0, s, &f, &e);
    } else if (c < 1e-9 * s) { /* the layer's effect: -c sqrt(pi/2) g(0) + O(c^2 log c) */
        const bvn_f f0 = {0.5 * (h + k), 0.5 * (h + k), rho, 1, 0};
        I = gl_pair(0, s, &f0, &e) - 1.25331413731550025121 * c * exp(-h * k / 2) / TWO_PI;
        e += c * c * (1 + fabs(log(c))) * exp(fabs(h * k));
    } else if (c >= 8 * s) { /* the layer keeps the integrand below e^{-32} of its size: one rule from 0 */
        I = gl_pair(0, s, &f, &e);
    } else {
        I = high_panels(c < s ? c / 32 : s / 32, s, &f, &e);
    }
    const double q = Q(h > k ? h : k);
    if (err) *err = e + 4 * DBL_EPSILON * (2 + h * h + k * k) * (q + fabs(I));
    return q - I;
}

/* E[(X - h)_+ (Y - k)_+] for 0 <= rho < 1 as a sum of positive terms (Price's theorem: dR/drho = L):
 *   R = m1(h) m1(k) + rho Q(h) Q(k) + int_0^rho (rho - r) f(h, k; r) dr,   m1(x) = pdf(x) - x Q(x),
 * f the bivariate density; the integral in Sheppard's variable r = sin t up to min(rho, 0.925), and above in
 * t = sqrt(1 - r^2) from s to s0 = sqrt(1 - 0.925^2). No cancellation between the terms, so far tails keep their
 * relative accuracy (the Rosenbaum form subtracts terms 1e5 times larger there). */
static double m1(double x) { return 0.39894228040143267794 * exp(-0.5 * x * x) - x * Q(x); }

double dw_bvn_ramp(double h, double k, double rho, double s, double *err)
{
    double e = 0;
    const bvn_f fs = {h, k, rho, 0, 1}, fh = {h, k, rho, 1, 1};
    double I = gl_pair(0, asin(rho < RHO_SWITCH ? rho : RHO_SWITCH), &fs, &e);
    if (rho > RHO_SWITCH) I += high_panels(s, sqrt((1 - RHO_SWITCH) * (1 + RHO_SWITCH)), &fh, &e);
    const double mh = m1(h), mk = m1(k), qq = Q(h) * Q(k);
    if (err)
        *err = e + 4 * DBL_EPSILON * (1 + 4 * (fabs(h) + fabs(k)) * (fabs(h) + fabs(k))) *
                       (fabs(mh * mk) + rho * qq + fabs(I));
    return mh * mk + rho * qq + I;
}
