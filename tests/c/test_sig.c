/* Signatures (theory.md 5): independent routes.
 * - Chen on collinear pieces = the direct exponential of the whole segment; one segment = exp(dx).
 * - Chen's identity for concatenation: S(x * y) = S(x) (x) S(y).
 * - Shuffle identity <S, u><S, v> = <S, u sh v>; antisymmetric level 2 = Levy area.
 * - log / exp round trip, and the Lyndon coordinates re-expanded give back log S.
 * - Signature kernel: the PDE against the truncated-signature inner product, the error falling ~4x per dyadic level
 *   (second order) and ~2x (first order); one segment against sum_n c^n / (n!)^2 (I_0(2 sqrt c), J_0 for c < 0);
 *   exact symmetry, tiles and thread counts bit for bit; RBF symmetry.
 * - Neural signature kernel: identity phi = the scaled signature kernel (theory.md 5.1); first- and second-order
 *   solutions converge to the same limit; the inhomogeneous ReLU self-kernel on one segment = its closed form.
 * - Every error path of the options and inputs.
 */
#include "check.h"
#include "deepwick.h"
#include "sig/sig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void paths(double *X, size_t n, double amp, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++) X[i] = amp * (2.0 * urand(&seed) - 1.0);
}

static double maxdiff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void test_segment_and_chen(void)
{
    const size_t d = 3;
    const int n = 5;
    dw_tens t;
    CHECK(dw_tens_init(&t, d, n) == DW_OK);
    const size_t sz = t.off[n + 1];
    CHECK(sz == dw_sig_size(d, n) && sz == 3 + 9 + 27 + 81 + 243);
    /* a segment cut into 4 collinear pieces of unequal lengths */
    const double h[3] = {0.7, -0.4, 1.1}, cuts[5] = {0.0, 0.1, 0.45, 0.6, 1.0};
    double P[5 * 3];
    for (int i = 0; i < 5; i++)
        for (size_t k = 0; k < d; k++) P[i * 3 + k] = 0.3 + cuts[i] * h[k];
    double *S = malloc(sz * sizeof(double)), *E = malloc(sz * sizeof(double));
    CHECK(dw_sig_signature(P, 1, 5, d, n, 1, S) == DW_OK);
    dw_tens_exp_segment(&t, h, E);
    CHECK(maxdiff(S, E, sz) < 1e-15);
    /* exp(h) level k entries = h_i1 ... h_ik / k! */
    CHECK_CLOSE(E[t.off[3] + 0 * 9 + 1 * 3 + 2], h[0] * h[1] * h[2] / 6.0, 1e-15, 0);
    /* Chen's identity for concatenation */
    double X[6 * 3], Y[4 * 3], XY[9 * 3];
    paths(X, 18, 0.8, 11);
    paths(Y, 12, 0.8, 12);
    for (size_t k = 0; k < 3; k++) Y[k] = X[5 * 3 + k]; /* y starts where x ends */
    memcpy(XY, X, sizeof X);
    memcpy(XY + 18, Y + 3, 9 * sizeof(double));
    double *SX = malloc(sz * sizeof(double)), *SY = malloc(sz * sizeof(double)), *SXY = malloc(sz * sizeof(double));
    double *prod = malloc(sz * sizeof(double));
    CHECK(dw_sig_signature(X, 1, 6, d, n, 0, SX) == DW_OK);
    CHECK(dw_sig_signature(Y, 1, 4, d, n, 0, SY) == DW_OK);
    CHECK(dw_sig_signature(XY, 1, 9, d, n, 0, SXY) == DW_OK);
    dw_tens_mul(&t, SX, SY, prod);
    for (size_t i = 0; i < sz; i++) prod[i] += SX[i] + SY[i];
    CHECK(maxdiff(prod, SXY, sz) < 1e-13);
    /* Levy area: (S^{01} - S^{10}) / 2 = (1/2) int (x0 - x0(0)) dx1 - (x1 - x1(0)) dx0 */
    double area = 0.0;
    for (int i = 0; i + 1 < 6; i++) {
        const double a0 = X[i * 3] - X[0], a1 = X[i * 3 + 1] - X[1];
        const double d0 = X[(i + 1) * 3] - X[i * 3], d1 = X[(i + 1) * 3 + 1] - X[i * 3 + 1];
        area += 0.5 * (a0 * d1 - a1 * d0);
    }
    CHECK_CLOSE(0.5 * (SX[t.off[2] + 1] - SX[t.off[2] + 3]), area, 1e-13, 1e-15);
    /* shuffle identity: <S, 0><S, 12> = <S, 012> + <S, 102> + <S, 120>; <S, 01><S, 2> likewise */
    const double *S1 = SX, *S2 = SX + t.off[2], *S3 = SX + t.off[3];
    CHECK_CLOSE(S1[0] * S2[1 * 3 + 2], S3[0 * 9 + 1 * 3 + 2] + S3[1 * 9 + 0 * 3 + 2] + S3[1 * 9 + 2 * 3 + 0], 1e-13,
                1e-15);
    /* <S,01><S,21> = 0121 + 0211 + 2011 + 0211 + 2011 + 2101 (u sh v with repeats) */
    const double *S4 = SX + t.off[4];
#define W4(a, b, c, e) S4[(a)*27 + (b)*9 + (c)*3 + (e)]
    CHECK_CLOSE(S2[0 * 3 + 1] * S2[2 * 3 + 1],
                W4(0, 1, 2, 1) + 2 * W4(0, 2, 1, 1) + 2 * W4(2, 0, 1, 1) + W4(2, 1, 0, 1), 1e-13, 1e-15);
    /* exp(log S) = S; the Lyndon coordinates re-expanded = log S */
    double *L = malloc(sz * sizeof(double)), *R = malloc(sz * sizeof(double)), *work = malloc(2 * sz * sizeof(double));
    dw_tens_log(&t, SXY, L, work);
    dw_tens_exp(&t, L, R, work);
    CHECK(maxdiff(R, SXY, sz) < 1e-13);
    dw_lyndon ly;
    CHECK(dw_lyndon_init(&ly, &t) == DW_OK);
    CHECK(ly.count == dw_sig_logsig_size(d, n) && ly.count == 3 + 3 + 8 + 18 + 48);
    double *c = malloc(ly.count * sizeof(double)), *c2 = malloc(ly.count * sizeof(double));
    dw_lyndon_project(&ly, &t, L, c);
    dw_lyndon_expand(&ly, &t, c, R);
    CHECK(maxdiff(R, L, sz) < 1e-13);
    CHECK(dw_sig_logsignature(XY, 1, 9, d, n, 1, c2) == DW_OK);
    CHECK(maxdiff(c, c2, ly.count) == 0.0);
    /* level 1 of the log-signature is the increment; level 2's [0,1] coordinate is the Levy area */
    CHECK_CLOSE(c[0], XY[8 * 3] - XY[0], 1e-14, 1e-15);
    dw_lyndon_clear(&ly);
    free(S), free(E), free(SX), free(SY), free(SXY), free(prod), free(L), free(R), free(work), free(c), free(c2);
}

/* <S(x), S(y)> to level n, 1 + sum over levels */
static double sig_inner(const double *x, size_t lx, const double *y, size_t ly, size_t d, int n)
{
    const size_t sz = dw_sig_size(d, n);
    double *a = malloc(sz * sizeof(double)), *b = malloc(sz * sizeof(double));
    dw_sig_signature(x, 1, lx, d, n, 1, a);
    dw_sig_signature(y, 1, ly, d, n, 1, b);
    double s = 1.0;
    for (size_t i = 0; i < sz; i++) s += a[i] * b[i];
    free(a);
    free(b);
    return s;
}

static void test_sigkernel(void)
{
    const size_t d = 2, lx = 5, ly = 4;
    double X[3 * 5 * 2], Y[2 * 4 * 2];
    paths(X, 30, 0.5, 3);
    paths(Y, 16, 0.5, 4);
    const double ref = sig_inner(X, lx, Y, ly, d, 14);
    dw_sig_kernel_opts o;
    dw_sig_kernel_opts_init(&o);
    double err2[8], err1[8];
    for (int lam = 0; lam <= 7; lam++) {
        double K[6];
        o.dyadic_order = lam;
        o.solver = DW_SIG_SECOND_ORDER;
        CHECK(dw_sig_kernel_gram(&o, X, 3, lx, Y, 2, ly, d, K) == DW_OK);
        err2[lam] = fabs(K[0] - ref);
        o.solver = DW_SIG_FIRST_ORDER;
        CHECK(dw_sig_kernel_gram(&o, X, 3, lx, Y, 2, ly, d, K) == DW_OK);
        err1[lam] = fabs(K[0] - ref);
    }
    for (int lam = 5; lam <= 7; lam++) { /* (the error changes sign near lambda = 3) */
        const double r2 = err2[lam - 1] / err2[lam], r1 = err1[lam - 1] / err1[lam];
        if (!(r2 > 3.0 && r2 < 5.5 && r1 > 1.6 && r1 < 2.6))
            printf("  dyadic %d: second-order ratio %.3f (err %.3g), first-order ratio %.3f\n", lam, r2, err2[lam], r1);
        CHECK(r2 > 3.0 && r2 < 5.5);
        CHECK(r1 > 1.6 && r1 < 2.6);
    }
    CHECK(err2[7] < 1e-7 * ref);
    /* one segment: sum_n c^n / (n!)^2 for c = <a, b> of both signs */
    const double cs[3] = {0.8, -0.6, -2.5};
    for (int k = 0; k < 3; k++) {
        const double P[4] = {0, 0, 1.0, 0.0}, Q[4] = {0.3, 0.1, 0.3 + cs[k], 0.1 + 0.7};
        double series = 0, term = 1;
        for (int j = 0; j < 40; j++) {
            series += term;
            term *= cs[k] / ((j + 1.0) * (j + 1.0));
        }
        double K = 0, e_prev = 0;
        for (int lam = 3; lam <= 7; lam++) {
            o.dyadic_order = lam;
            o.solver = DW_SIG_SECOND_ORDER;
            CHECK(dw_sig_kernel_gram(&o, P, 1, 2, Q, 1, 2, 2, &K) == DW_OK);
            const double e = fabs(K - series);
            if (lam > 3) CHECK(e < e_prev / 3.5 && e > e_prev / 4.5);
            e_prev = e;
        }
        CHECK(e_prev < 5e-5 * fabs(series));
    }
    /* symmetry, tiles, threads: bit for bit */
    double Z[7 * 6 * 3];
    paths(Z, sizeof Z / sizeof Z[0], 0.6, 9);
    for (int st = 0; st < 2; st++) {
        dw_sig_kernel_opts_init(&o);
        o.dyadic_order = 2;
        o.static_kernel = st ? DW_SIG_RBF : DW_SIG_LINEAR;
        o.scale = st ? 0.7 : 1.3;
        double G[49], G1[49], T[49];
        o.threads = 1;
        CHECK(dw_sig_kernel_gram(&o, Z, 7, 6, NULL, 0, 0, 3, G1) == DW_OK);
        o.threads = 3;
        CHECK(dw_sig_kernel_gram(&o, Z, 7, 6, NULL, 0, 0, 3, G) == DW_OK);
        CHECK(memcmp(G, G1, sizeof G) == 0);
        int sym = 1;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++) sym &= G[i * 7 + j] == G[j * 7 + i];
        CHECK(sym);
        for (size_t i0 = 0; i0 < 7; i0 += 3)
            for (size_t j0 = 0; j0 < 7; j0 += 2)
                CHECK(dw_sig_kernel_tile(&o, Z, 7, 6, NULL, 0, 0, 3, i0, i0 + 3 < 7 ? i0 + 3 : 7, j0,
                                         j0 + 2 < 7 ? j0 + 2 : 7, T + i0 * 7 + j0, 7) == DW_OK);
        CHECK(memcmp(G, T, sizeof G) == 0);
        /* K(X, Y) with Y = X equals the symmetric Gram (the update is symmetric under transposition) */
        CHECK(dw_sig_kernel_gram(&o, Z, 7, 6, Z, 7, 6, 3, T) == DW_OK);
        CHECK(memcmp(G, T, sizeof G) == 0);
        /* the Richardson estimate predicts the distance to a much finer solution within a factor 1.5 */
        double ea, er, F[9];
        o.dyadic_order = 7; /* the asymptotic regime of these increments (at lambda <= 5 it can be off 3x) */
        CHECK(dw_sig_kernel_gram(&o, Z, 3, 6, NULL, 0, 0, 3, G) == DW_OK);
        CHECK(dw_sig_kernel_error(&o, Z, 3, 6, NULL, 0, 0, 3, G, &ea, &er) == DW_OK);
        o.dyadic_order = 9;
        CHECK(dw_sig_kernel_gram(&o, Z, 3, 6, NULL, 0, 0, 3, F) == DW_OK);
        double true_abs = maxdiff(F, G, 9);
        if (!(ea > true_abs / 1.5 && ea < 1.5 * true_abs)) printf("  Richardson %g vs actual %g\n", ea, true_abs);
        CHECK(ea > true_abs / 1.5 && ea < 1.5 * true_abs && er > 0);
    }
    /* errors */
    dw_sig_kernel_opts_init(&o);
    double K[4];
    o.dyadic_order = -1;
    CHECK(dw_sig_kernel_gram(&o, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    o.dyadic_order = 41;
    CHECK(dw_sig_kernel_gram(&o, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    o.dyadic_order = 38;
    CHECK(dw_sig_kernel_gram(&o, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_NOMEM);
    CHECK(strstr(dw_error_message(), "dyadic order 38") != NULL);
    dw_sig_kernel_opts_init(&o);
    o.scale = -1;
    CHECK(dw_sig_kernel_gram(&o, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    dw_sig_kernel_opts_init(&o);
    CHECK(dw_sig_kernel_gram(&o, X, 3, 1, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "at least 2 points") != NULL);
    double bad[4] = {0, 0, NAN, 1};
    CHECK(dw_sig_kernel_gram(&o, X, 1, lx, bad, 1, 2, d, K) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite") != NULL);
    CHECK(dw_sig_kernel_tile(&o, X, 3, lx, NULL, 0, 0, d, 0, 4, 0, 1, K, 1) == DW_ERR_INVALID);
    double huge[4] = {0, 0, 1e200, 1e200};
    CHECK(dw_sig_kernel_gram(&o, huge, 1, 2, NULL, 0, 0, 2, K) == DW_ERR_RANGE);
}

static void test_signature_errors(void)
{
    double X[6] = {0, 1, 2, 3, 4, 5}, out[64];
    CHECK(dw_sig_signature(X, 1, 3, 2, 0, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(X, 1, 3, 2, 65, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(X, 1, 1, 2, 2, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(NULL, 1, 3, 2, 2, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(X, 1, 3, 0, 2, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(X, 1, 3, 2, 2, 0, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(X, 1, 3, 2, 40, 0, out) != DW_OK); /* 2^40 entries per path: refused before allocating */
    CHECK(dw_sig_size(1000, 10) == 0 && dw_sig_logsig_size(1000, 10) == 0);
    X[3] = INFINITY;
    CHECK(dw_sig_logsignature(X, 1, 3, 2, 2, 0, out) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "point 2, channel 2") != NULL);
    double big[4] = {0, 0, 1e300, -1e300};
    CHECK(dw_sig_signature(big, 1, 2, 2, 3, 0, out) == DW_ERR_RANGE);
}

static void test_nsk(void)
{
    const size_t d = 2, lx = 4, ly = 5;
    double X[2 * 4 * 2], Y[2 * 5 * 2];
    paths(X, 16, 0.5, 21);
    paths(Y, 20, 0.5, 22);
    dw_act *id, *relu, *lin;
    CHECK(dw_act_init(&id, "identity") == DW_OK);
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    CHECK(dw_act_init(&lin, "poly:0,1") == DW_OK); /* identity through the generic (Heun) route */
    dw_sig_nsk_opts o;
    dw_sig_nsk_opts_init(&o);
    o.sigma0 = 0.9;
    o.sigma_a = 1.4;
    o.sigma_b = 0.6;
    o.dyadic_order = 3;
    /* identity: K = (s0^2 + sb^2/sa^2) k_sig(sa x, sa y) - sb^2/sa^2 */
    dw_sig_kernel_opts ko;
    dw_sig_kernel_opts_init(&ko);
    ko.dyadic_order = 3;
    ko.scale = o.sigma_a;
    double K[4], Ks[4], Kl[4];
    o.act = id;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, Y, 2, ly, d, K) == DW_OK);
    CHECK(dw_sig_kernel_gram(&ko, X, 2, lx, Y, 2, ly, d, Ks) == DW_OK);
    const double sh = o.sigma_b * o.sigma_b / (o.sigma_a * o.sigma_a), c0 = o.sigma0 * o.sigma0 + sh;
    for (int i = 0; i < 4; i++) CHECK_CLOSE(K[i], c0 * Ks[i] - sh, 1e-12, 1e-12);
    /* the generic Heun route for phi(z) = z converges to the same limit, ~4x per level */
    double e_prev = 0;
    for (int lam = 2; lam <= 5; lam++) {
        o.dyadic_order = lam;
        o.act = lin;
        CHECK(dw_sig_nsk_gram(&o, X, 2, lx, NULL, 0, 0, d, Kl) == DW_OK);
        ko.dyadic_order = 9;
        double G[4];
        CHECK(dw_sig_kernel_gram(&ko, X, 2, lx, NULL, 0, 0, d, G) == DW_OK);
        const double e = fabs(Kl[0] - (c0 * G[0] - sh));
        if (lam > 2) CHECK(e < e_prev / 2.5);
        e_prev = e;
    }
    CHECK(e_prev < 1e-4);
    /* ReLU homogeneous: first and second order approach one limit; differences between levels shrink 4x / 2x */
    o.act = relu;
    double K2[5][4], K1[5][4];
    for (int lam = 2; lam <= 6; lam++) {
        o.dyadic_order = lam;
        o.solver = DW_SIG_SECOND_ORDER;
        CHECK(dw_sig_nsk_gram(&o, X, 2, lx, Y, 2, ly, d, K2[lam - 2]) == DW_OK);
        o.solver = DW_SIG_FIRST_ORDER;
        CHECK(dw_sig_nsk_gram(&o, X, 2, lx, Y, 2, ly, d, K1[lam - 2]) == DW_OK);
    }
    const double r2 = fabs(K2[3][0] - K2[2][0]) / fabs(K2[4][0] - K2[3][0]);
    const double r1 = fabs(K1[3][0] - K1[2][0]) / fabs(K1[4][0] - K1[3][0]);
    CHECK(r2 > 3.0 && r2 < 5.5);
    CHECK(r1 > 1.6 && r1 < 2.6);
    /* Richardson limits agree */
    const double lim2 = K2[4][0] + (K2[4][0] - K2[3][0]) / 3.0, lim1 = 2 * K1[4][0] - K1[3][0];
    CHECK_CLOSE(lim1, lim2, 2e-3, 0);
    /* inhomogeneous ReLU self-kernel on one segment: kappa = (s0^2 + 2 sb^2/sa^2) exp(sa^2 |a|^2 / 2) - 2 sb^2/sa^2 */
    const double seg[4] = {0.2, -0.1, 0.8, 0.5};
    const double a2 = 0.6 * 0.6 + 0.6 * 0.6, sa2 = o.sigma_a * o.sigma_a, sb2 = o.sigma_b * o.sigma_b;
    const double exact = (o.sigma0 * o.sigma0 + 2 * sb2 / sa2) * exp(sa2 * a2 / 2) - 2 * sb2 / sa2;
    o.inhomogeneous = 1;
    o.solver = DW_SIG_SECOND_ORDER;
    double ep = 0;
    for (int lam = 2; lam <= 6; lam++) {
        o.dyadic_order = lam;
        CHECK(dw_sig_nsk_gram(&o, seg, 1, 2, NULL, 0, 0, 2, K) == DW_OK);
        const double e = fabs(K[0] - exact);
        if (lam > 2) CHECK(e < ep / 3.5 && e > ep / 4.5);
        ep = e;
    }
    CHECK(ep < 2e-5 * exact);
    /* symmetric Gram: exact symmetry; threads bit for bit */
    o.inhomogeneous = 0;
    o.dyadic_order = 2;
    double Z[5 * 4 * 2], G[25], G1[25];
    paths(Z, 40, 0.5, 5);
    o.threads = 1;
    CHECK(dw_sig_nsk_gram(&o, Z, 5, 4, NULL, 0, 0, 2, G1) == DW_OK);
    o.threads = 3;
    CHECK(dw_sig_nsk_gram(&o, Z, 5, 4, NULL, 0, 0, 2, G) == DW_OK);
    CHECK(memcmp(G, G1, sizeof G) == 0);
    int sym = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) sym &= G[i * 5 + j] == G[j * 5 + i];
    CHECK(sym);
    /* errors */
    o.sigma_b = -1;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    o.sigma_b = 0.5;
    o.inhomogeneous = 1;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, Y, 2, ly, d, K) == DW_ERR_INVALID);
    o.inhomogeneous = 0;
    o.act = NULL;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    o.act = relu;
    o.dyadic_order = 31;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    o.dyadic_order = 29;
    CHECK(dw_sig_nsk_gram(&o, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_NOMEM);
    dw_act_clear(id);
    dw_act_clear(relu);
    dw_act_clear(lin);
}

static void test_lcde(void)
{
    /* one-step grid: K[1,1] = e + <dw, dw'> e + sB^2 <dxi, dxi'> with e = sC^2 <x0, y0> + sc^2 */
    const double x[4] = {0.5, -0.2, 1.0, 0.4}, y[4] = {0.1, 0.3, -0.2, 0.9};
    dw_sig_lcde_opts o;
    dw_sig_lcde_opts_init(&o);
    o.sigma_B = 0.7;
    o.sigma_C = 1.2;
    o.sigma_c = 0.4;
    size_t g[1] = {0}, in[1] = {1};
    o.n_gate = 1;
    o.gate = g;
    o.n_input = 1;
    o.input = in;
    double K;
    CHECK(dw_sig_lcde_kernel(&o, x, 1, 2, y, 1, 2, 2, &K) == DW_OK);
    const double e = 1.44 * (0.05 - 0.06) + 0.16;
    CHECK_CLOSE(K, e + (0.5 * -0.3) * e + 0.49 * (0.6 * 0.6), 1e-14, 1e-15);
    size_t bad[1] = {2};
    o.gate = bad;
    CHECK(dw_sig_lcde_kernel(&o, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    o.gate = g;
    o.diagonal = 1;
    CHECK(dw_sig_lcde_kernel(&o, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    o.diagonal = 0;
    o.sigma_C = -1;
    CHECK(dw_sig_lcde_kernel(&o, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    o.sigma_C = 1;
    double out[2 * 4];
    CHECK(dw_sig_lcde_sample(&o, 0, 1, 0, 0, x, 1, 2, 2, out) == DW_ERR_INVALID);
    /* the sampler is a pure function of (seed, sample): two calls agree, threads do not matter */
    double a[3 * 8], b[3 * 8];
    o.threads = 1;
    CHECK(dw_sig_lcde_sample(&o, 8, 3, 42, 0, x, 1, 2, 2, a) == DW_OK);
    o.threads = 2;
    CHECK(dw_sig_lcde_sample(&o, 8, 3, 42, 0, x, 1, 2, 2, b) == DW_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    dw_sig_nsk_opts no;
    dw_sig_nsk_opts_init(&no);
    no.act = relu;
    no.threads = 1;
    CHECK(dw_sig_cresnet_sample(&no, 8, 3, 42, 0, x, 1, 2, 2, a) == DW_OK);
    no.threads = 2;
    CHECK(dw_sig_cresnet_sample(&no, 8, 3, 42, 0, x, 1, 2, 2, b) == DW_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    no.sigma0 = -1;
    CHECK(dw_sig_cresnet_sample(&no, 8, 3, 42, 0, x, 1, 2, 2, a) == DW_ERR_INVALID);
    dw_act_clear(relu);
}

int main(void)
{
    test_segment_and_chen();
    test_signature_errors();
    test_sigkernel();
    test_nsk();
    test_lcde();
    return check_done("sig");
}
