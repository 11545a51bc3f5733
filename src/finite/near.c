/* Nearly degenerate pairs of the relu family (theory.md 1.6, pitfall 1): the limit at the degenerate point plus the
 * linear cusp term, for pairs whose layer angle is too small even for the 128-bit rerun.
 *
 * Along the segment y(s) = y0 + s (y - y0) from a degenerate point y0 (y0 = x, or t x where positive homogeneity
 * gives the pair (x, t x) from the single input, gram.c) every output g(s) of the pair (x, y(s)) is analytic in s on
 * s > 0 up to s = 0, where it takes the anchor's value g(0): the layer angles are analytic multiples of s (their
 * cosines are 1 - O(s^2)), and the diverging moments multiply fluctuation components that vanish with the angle, so
 * the limit is finite and the corrections have a cusp (a nonzero one-sided slope), not a pole. The pair itself, at
 * s = 1, is much closer to y0 than any point where the recursion can be run accurately; so g(1) is taken from the
 * cubic through g(0) and three samples g(S), g(2 S), g(3 S), where S puts the first layer's angle at about
 * DW_FW_NEAR_TARGET (there the 128-bit recursion's error bound is ~1e-21 at depth 4). At s = 1 the samples' Lagrange
 * weights are about 1 / (k S) (tiny), the anchor's is about 1, and the remainder is of order
 * g''''(0) S^3 (S = the samples' angle over the pair's, so the remainder relative to the linear term is about the
 * samples' angle cubed); the quadratic through g(0), g(S), g(2 S) gives the truncation estimate that enters the
 * bound. */
#include "finite/finite.h"

#include <math.h>
#include <string.h>

#define DW_FW_NEAR_TARGET 1e-3 /* the samples' first-layer angle: 1, 2, 3 times this */

/* The first layer's angle of the pair (x, y), |ytilde_perp| / |ytilde| with xtilde = (sqrt(cw / d) x, sqrt(cb)):
 * the component of ytilde orthogonal to xtilde formed elementwise (no difference of norms). */
static double first_angle(const dw_fw_layer *L1, const double *x, const double *y, size_t d)
{
    const double sw = sqrt(L1->cw / (double)d), sb = sqrt(L1->cb);
    double xx = sb * sb, xy = sb * sb, yy = sb * sb;
    for (size_t k = 0; k < d; k++) {
        xx += sw * x[k] * sw * x[k];
        xy += sw * x[k] * sw * y[k];
        yy += sw * y[k] * sw * y[k];
    }
    if (!(xx > 0) || !(yy > 0)) return 0.0;
    const double t = xy / xx;
    double pp = (sb - t * sb) * (sb - t * sb);
    for (size_t k = 0; k < d; k++) {
        const double r = sw * (y[k] - t * x[k]);
        pp += r * r;
    }
    return asin(fmin(1.0, sqrt(pp / yy)));
}

dw_status dw_fw_relu_near(double alpha, double lam, int L, const dw_fw_layer *lay, const double *x, const double *y,
                          const double *y0, size_t d, const double o0[], double e0, double *yk, double out[],
                          double *rel)
{
    enum { NS = 3 };
    const double th = first_angle(&lay[0], x, y, d);
    if (!(th > 0)) { /* y equals y0 to the inputs' rounding: the anchor itself */
        memcpy(out, o0, DW_FW_COUNT * sizeof(double));
        *rel = e0;
        return DW_OK;
    }
    const double S = DW_FW_NEAR_TARGET / th;
    double g[NS + 1][DW_FW_COUNT], t[NS + 1], eg[NS + 1];
    memcpy(g[0], o0, sizeof g[0]);
    t[0] = 0.0;
    eg[0] = e0;
    for (int k = 1; k <= NS; k++) {
        double ang;
        int at;
        t[k] = k * S;
        for (size_t i = 0; i < d; i++) yk[i] = y0[i] + t[k] * (y[i] - y0[i]);
        dw_status st = dw_fw_relu_pair_q(alpha, lam, L, lay, x, yk, d, g[k], &eg[k], &ang, &at);
        if (st) return st;
    }
    /* Lagrange weights at s = 1: of the cubic (all four nodes) and of the quadratic (the first three) */
    double w3[NS + 1], w2[NS];
    for (int j = 0; j <= NS; j++) {
        w3[j] = 1.0;
        for (int i = 0; i <= NS; i++)
            if (i != j) w3[j] *= (1.0 - t[i]) / (t[j] - t[i]);
        if (j < NS) {
            w2[j] = 1.0;
            for (int i = 0; i < NS; i++)
                if (i != j) w2[j] *= (1.0 - t[i]) / (t[j] - t[i]);
        }
    }
    double bound = 0.0;
    for (int j = 0; j <= NS; j++) bound += fabs(w3[j]) * eg[j];
    double o2[DW_FW_COUNT];
    for (int q = 0; q < DW_FW_COUNT; q++) {
        double v = 0.0, v2 = 0.0;
        for (int j = 0; j <= NS; j++) v += w3[j] * g[j][q];
        for (int j = 0; j < NS; j++) v2 += w2[j] * g[j][q];
        out[q] = v;
        o2[q] = v2;
    }
    /* the truncation estimate, relative to each output's scale (K, Theta, squared for the second moments; the
     * pair's own entries, within a factor of the largest of the pair's Gram block) */
    const double k = fabs(out[DW_FW_NNGP]), tt = fabs(out[DW_FW_NTK]);
    double trunc = 0.0;
    for (int q = 0; q < DW_FW_COUNT; q++) {
        const int ntk = q == DW_FW_NTK || q == DW_FW_NTK_1 || q == DW_FW_NTK_VAR || q == DW_FW_NTK_COV;
        const int second = q == DW_FW_NNGP_VAR || q == DW_FW_NTK_VAR || q == DW_FW_NNGP_COV || q == DW_FW_NTK_COV ||
                           q == DW_FW_KAPPA4;
        double sc = ntk ? tt : k;
        if (second) sc *= sc;
        if (sc > 0) trunc = fmax(trunc, fabs(out[q] - o2[q]) / sc);
    }
    *rel = bound + trunc;
    return DW_OK;
}
