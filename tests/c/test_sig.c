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

/* Signature options of `level` and `threads` (every setter checked). */
static dw_sig_opts *sig_opts(int level, int threads)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_opts_set_level(o, level) == DW_OK);
    if (threads) CHECK(dw_sig_opts_set_threads(o, threads) == DW_OK);
    return o;
}

static dw_status sig(const double *X, size_t batch, size_t len, size_t d, int level, int threads, double *out, int log)
{
    dw_sig_opts *o = sig_opts(level, threads);
    dw_status s = log ? dw_sig_logsignature(o, X, batch, len, d, out) : dw_sig_signature(o, X, batch, len, d, out);
    dw_sig_opts_clear(o);
    return s;
}

static size_t sig_size(size_t d, int level, int log)
{
    size_t sz = 7;
    if ((log ? dw_sig_logsig_size(d, level, &sz) : dw_sig_size(d, level, &sz)) != DW_OK) CHECK(sz == 0);
    return sz;
}

static void test_segment_and_chen(void)
{
    const size_t d = 3;
    const int n = 5;
    dw_tens t;
    CHECK(dw_tens_init(&t, d, n) == DW_OK);
    const size_t sz = t.off[n + 1];
    CHECK(sz == sig_size(d, n, 0) && sz == 3 + 9 + 27 + 81 + 243);
    /* a segment cut into 4 collinear pieces of unequal lengths */
    const double h[3] = {0.7, -0.4, 1.1}, cuts[5] = {0.0, 0.1, 0.45, 0.6, 1.0};
    double P[5 * 3];
    for (int i = 0; i < 5; i++)
        for (size_t k = 0; k < d; k++) P[i * 3 + k] = 0.3 + cuts[i] * h[k];
    double *S = malloc(sz * sizeof(double)), *E = malloc(sz * sizeof(double));
    CHECK(sig(P, 1, 5, d, n, 1, S, 0) == DW_OK);
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
    CHECK(sig(X, 1, 6, d, n, 0, SX, 0) == DW_OK);
    CHECK(sig(Y, 1, 4, d, n, 0, SY, 0) == DW_OK);
    CHECK(sig(XY, 1, 9, d, n, 0, SXY, 0) == DW_OK);
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
    CHECK(ly.count == sig_size(d, n, 1) && ly.count == 3 + 3 + 8 + 18 + 48);
    double *c = malloc(ly.count * sizeof(double)), *c2 = malloc(ly.count * sizeof(double));
    dw_lyndon_project(&ly, &t, L, c);
    dw_lyndon_expand(&ly, &t, c, R);
    CHECK(maxdiff(R, L, sz) < 1e-13);
    CHECK(sig(XY, 1, 9, d, n, 1, c2, 1) == DW_OK);
    CHECK(maxdiff(c, c2, ly.count) == 0.0);
    /* level 1 of the log-signature is the increment; level 2's [0,1] coordinate is the Levy area */
    CHECK_CLOSE(c[0], XY[8 * 3] - XY[0], 1e-14, 1e-15);
    dw_lyndon_clear(&ly);
    free(S), free(E), free(SX), free(SY), free(SXY), free(prod), free(L), free(R), free(work), free(c), free(c2);
}

/* <S(x), S(y)> to level n, 1 + sum over levels */
static double sig_inner(const double *x, size_t lx, const double *y, size_t ly, size_t d, int n)
{
    const size_t sz = sig_size(d, n, 0);
    double *a = malloc(sz * sizeof(double)), *b = malloc(sz * sizeof(double));
    CHECK(sig(x, 1, lx, d, n, 1, a, 0) == DW_OK);
    CHECK(sig(y, 1, ly, d, n, 1, b, 0) == DW_OK);
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
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    double err2[8], err1[8];
    for (int lam = 0; lam <= 7; lam++) {
        double K[6];
        CHECK(dw_sig_kernel_opts_set_dyadic_order(o, lam) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_solver(o, DW_SIG_SECOND_ORDER) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, X, 3, lx, Y, 2, ly, d, K) == DW_OK);
        err2[lam] = fabs(K[0] - ref);
        CHECK(dw_sig_kernel_opts_set_solver(o, DW_SIG_FIRST_ORDER) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, X, 3, lx, Y, 2, ly, d, K) == DW_OK);
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
            CHECK(dw_sig_kernel_opts_set_dyadic_order(o, lam) == DW_OK);
            CHECK(dw_sig_kernel_opts_set_solver(o, DW_SIG_SECOND_ORDER) == DW_OK);
            CHECK(dw_sig_kernel_gram(o, P, 1, 2, Q, 1, 2, 2, &K) == DW_OK);
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
        dw_sig_kernel_opts_clear(o);
        CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 2) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_static(o, st ? DW_SIG_RBF : DW_SIG_LINEAR) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_scale(o, st ? 0.7 : 1.3) == DW_OK);
        double G[49], G1[49], T[49];
        CHECK(dw_sig_kernel_opts_set_threads(o, 1) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, Z, 7, 6, NULL, 0, 0, 3, G1) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_threads(o, 3) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, Z, 7, 6, NULL, 0, 0, 3, G) == DW_OK);
        CHECK(memcmp(G, G1, sizeof G) == 0);
        int sym = 1;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++) sym &= G[i * 7 + j] == G[j * 7 + i];
        CHECK(sym);
        for (size_t i0 = 0; i0 < 7; i0 += 3)
            for (size_t j0 = 0; j0 < 7; j0 += 2)
                CHECK(dw_sig_kernel_tile(o, Z, 7, 6, NULL, 0, 0, 3, i0, i0 + 3 < 7 ? i0 + 3 : 7, j0,
                                         j0 + 2 < 7 ? j0 + 2 : 7, 7, T + i0 * 7 + j0) == DW_OK);
        CHECK(memcmp(G, T, sizeof G) == 0);
        /* K(X, Y) with Y = X equals the symmetric Gram (the update is symmetric under transposition) */
        CHECK(dw_sig_kernel_gram(o, Z, 7, 6, Z, 7, 6, 3, T) == DW_OK);
        CHECK(memcmp(G, T, sizeof G) == 0);
        /* the Richardson estimate predicts the distance to a much finer solution within a factor 1.5 */
        double ea, er, F[9];
        /* the asymptotic regime of these increments (at lambda <= 5 it can be off 3x) */
        CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 7) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, Z, 3, 6, NULL, 0, 0, 3, G) == DW_OK);
        CHECK(dw_sig_kernel_error(o, Z, 3, 6, NULL, 0, 0, 3, G, &ea, &er) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 9) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, Z, 3, 6, NULL, 0, 0, 3, F) == DW_OK);
        double true_abs = maxdiff(F, G, 9);
        if (!(ea > true_abs / 1.5 && ea < 1.5 * true_abs)) printf("  Richardson %g vs actual %g\n", ea, true_abs);
        CHECK(ea > true_abs / 1.5 && ea < 1.5 * true_abs && er > 0);
    }
    /* errors */
    dw_sig_kernel_opts_clear(o);
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    double K[9];
    /* a refused setter leaves the option as it was */
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "dyadic_order") != NULL);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 41) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_gram(o, X, 3, lx, NULL, 0, 0, d, K) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 38) == DW_OK);
    CHECK(dw_sig_kernel_gram(o, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_NOMEM);
    CHECK(strstr(dw_error_message(), "dyadic order 38") != NULL);
    double bytes = -1;
    CHECK(dw_sig_kernel_bytes(o, lx, lx, d, &bytes) == DW_OK && bytes > 1e12);
    CHECK(dw_sig_kernel_bytes(o, lx, 0, d, &bytes) == DW_ERR_INVALID && bytes == 0.0);
    CHECK(dw_sig_kernel_bytes(NULL, lx, lx, d, &bytes) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_bytes(o, lx, lx, d, NULL) == DW_ERR_INVALID);
    dw_sig_kernel_opts_clear(o);
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_scale(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "scale") != NULL);
    CHECK(dw_sig_kernel_opts_set_scale(o, NAN) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_opts_set_solver(o, (dw_sig_solver)7) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "solver") != NULL);
    CHECK(dw_sig_kernel_opts_set_static(o, (dw_sig_static)7) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "static") != NULL);
    CHECK(dw_sig_kernel_opts_set_threads(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "threads") != NULL);
    CHECK(dw_sig_kernel_opts_set_threads(o, DW_SIG_THREADS_MAX + 1) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_opts_set_scale(NULL, 1.0) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_opts_init(NULL) == DW_ERR_INVALID);
    dw_sig_kernel_opts_clear(NULL);
    dw_sig_solver sv = DW_SIG_SECOND_ORDER;
    dw_sig_static sk = DW_SIG_LINEAR;
    CHECK(dw_sig_solver_parse("first-order", &sv) == DW_OK && sv == DW_SIG_FIRST_ORDER);
    CHECK(dw_sig_solver_parse("third-order", &sv) == DW_ERR_INVALID && sv == DW_SIG_FIRST_ORDER);
    CHECK(strstr(dw_error_message(), "solver: expected second-order or first-order") != NULL);
    CHECK(dw_sig_solver_parse(NULL, &sv) == DW_ERR_INVALID);
    CHECK(dw_sig_static_parse("rbf", &sk) == DW_OK && sk == DW_SIG_RBF);
    CHECK(dw_sig_static_parse("cubic", &sk) == DW_ERR_INVALID && sk == DW_SIG_RBF);
    CHECK(dw_sig_kernel_gram(NULL, X, 3, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_gram(o, X, 3, 0, NULL, 0, 0, d, K) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "at least 1 point") != NULL);
    double bad[4] = {0, 0, NAN, 1};
    CHECK(dw_sig_kernel_gram(o, X, 1, lx, bad, 1, 2, d, K) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite") != NULL);
    CHECK(dw_sig_kernel_tile(o, X, 3, lx, NULL, 0, 0, d, 0, 4, 0, 1, 1, K) == DW_ERR_INVALID);
    double huge[4] = {0, 0, 1e200, 1e200};
    CHECK(dw_sig_kernel_gram(o, huge, 1, 2, NULL, 0, 0, 2, K) == DW_ERR_RANGE);
    dw_sig_kernel_opts_clear(o);
}

static void test_signature_errors(void)
{
    double X[6] = {0, 1, 2, 3, 4, 5}, out[64];
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_signature(o, X, 1, 3, 2, out) == DW_ERR_INVALID); /* no level set */
    CHECK(strstr(dw_error_message(), "level") != NULL);
    CHECK(dw_sig_opts_set_level(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "level: must be between 0 and 64") != NULL);
    CHECK(dw_sig_opts_set_level(o, 65) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_set_threads(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "threads: expected 0 (all cores") != NULL);
    CHECK(dw_sig_opts_set_threads(o, 4097) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_set_level(NULL, 2) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_set_threads(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_init(NULL) == DW_ERR_INVALID);
    dw_sig_opts_clear(NULL);
    CHECK(dw_sig_opts_set_level(o, 2) == DW_OK);
    CHECK(dw_sig_signature(NULL, X, 1, 3, 2, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(o, X, 1, 0, 2, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(o, NULL, 1, 3, 2, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(o, X, 1, 3, 0, out) == DW_ERR_INVALID);
    CHECK(dw_sig_signature(o, X, 1, 3, 2, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_set_level(o, 40) == DW_OK);
    CHECK(dw_sig_signature(o, X, 1, 3, 2, out) != DW_OK); /* 2^40 entries per path: refused before allocating */
    size_t sz = 7;
    CHECK(dw_sig_size(1000, 10, &sz) == DW_ERR_NOMEM && sz == 0);
    sz = 7;
    CHECK(dw_sig_logsig_size(1000, 10, &sz) == DW_ERR_NOMEM && sz == 0);
    CHECK(dw_sig_size(0, 2, &sz) == DW_ERR_INVALID && dw_sig_logsig_size(2, -1, &sz) == DW_ERR_INVALID);
    CHECK(dw_sig_size(0, 0, &sz) == DW_ERR_INVALID && dw_sig_logsig_size(0, 0, &sz) == DW_ERR_INVALID);
    CHECK(dw_sig_size(3, 0, &sz) == DW_OK && sz == 0 && dw_sig_logsig_size(3, 0, &sz) == DW_OK && sz == 0);
    CHECK(dw_sig_size(2, 2, NULL) == DW_ERR_INVALID && dw_sig_logsig_size(2, 2, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_size(2, 3, &sz) == DW_OK && sz == 14 && dw_sig_logsig_size(2, 3, &sz) == DW_OK && sz == 5);
    X[3] = INFINITY;
    CHECK(dw_sig_opts_set_level(o, 2) == DW_OK);
    CHECK(dw_sig_logsignature(o, X, 1, 3, 2, out) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "point 2, channel 2") != NULL);
    double big[4] = {0, 0, 1e300, -1e300};
    CHECK(dw_sig_opts_set_level(o, 3) == DW_OK);
    CHECK(dw_sig_signature(o, big, 1, 2, 2, out) == DW_ERR_RANGE);
    dw_sig_opts_clear(o);
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
    const double sigma0 = 0.9, sigma_a = 1.4, sigma_b = 0.6;
    dw_sig_nsk_opts *o = NULL;
    CHECK(dw_sig_nsk_opts_init(&o) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_sigma0(o, sigma0) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_sigma_a(o, sigma_a) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_sigma_b(o, sigma_b) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_dyadic_order(o, 3) == DW_OK);
    /* identity: K = (s0^2 + sb^2/sa^2) k_sig(sa x, sa y) - sb^2/sa^2 */
    dw_sig_kernel_opts *ko = NULL;
    CHECK(dw_sig_kernel_opts_init(&ko) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(ko, 3) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_scale(ko, sigma_a) == DW_OK);
    double K[4], Ks[4], Kl[4];
    CHECK(dw_sig_nsk_opts_set_act(o, id) == DW_OK);
    CHECK(dw_sig_nsk_gram(o, X, 2, lx, Y, 2, ly, d, K) == DW_OK);
    CHECK(dw_sig_kernel_gram(ko, X, 2, lx, Y, 2, ly, d, Ks) == DW_OK);
    const double sh = sigma_b * sigma_b / (sigma_a * sigma_a), c0 = sigma0 * sigma0 + sh;
    for (int i = 0; i < 4; i++) CHECK_CLOSE(K[i], c0 * Ks[i] - sh, 1e-12, 1e-12);
    /* the generic Heun route for phi(z) = z converges to the same limit, ~4x per level */
    double e_prev = 0;
    for (int lam = 2; lam <= 5; lam++) {
        CHECK(dw_sig_nsk_opts_set_dyadic_order(o, lam) == DW_OK);
        CHECK(dw_sig_nsk_opts_set_act(o, lin) == DW_OK);
        CHECK(dw_sig_nsk_gram(o, X, 2, lx, NULL, 0, 0, d, Kl) == DW_OK);
        CHECK(dw_sig_kernel_opts_set_dyadic_order(ko, 9) == DW_OK);
        double G[4];
        CHECK(dw_sig_kernel_gram(ko, X, 2, lx, NULL, 0, 0, d, G) == DW_OK);
        const double e = fabs(Kl[0] - (c0 * G[0] - sh));
        if (lam > 2) CHECK(e < e_prev / 2.5);
        e_prev = e;
    }
    CHECK(e_prev < 1e-4);
    /* ReLU homogeneous: first and second order approach one limit; differences between levels shrink 4x / 2x */
    CHECK(dw_sig_nsk_opts_set_act(o, relu) == DW_OK);
    double K2[5][4], K1[5][4];
    for (int lam = 2; lam <= 6; lam++) {
        CHECK(dw_sig_nsk_opts_set_dyadic_order(o, lam) == DW_OK);
        CHECK(dw_sig_nsk_opts_set_solver(o, DW_SIG_SECOND_ORDER) == DW_OK);
        CHECK(dw_sig_nsk_gram(o, X, 2, lx, Y, 2, ly, d, K2[lam - 2]) == DW_OK);
        CHECK(dw_sig_nsk_opts_set_solver(o, DW_SIG_FIRST_ORDER) == DW_OK);
        CHECK(dw_sig_nsk_gram(o, X, 2, lx, Y, 2, ly, d, K1[lam - 2]) == DW_OK);
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
    const double a2 = 0.6 * 0.6 + 0.6 * 0.6, sa2 = sigma_a * sigma_a, sb2 = sigma_b * sigma_b;
    const double exact = (sigma0 * sigma0 + 2 * sb2 / sa2) * exp(sa2 * a2 / 2) - 2 * sb2 / sa2;
    CHECK(dw_sig_nsk_opts_set_inhomogeneous(o, true) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_solver(o, DW_SIG_SECOND_ORDER) == DW_OK);
    double ep = 0;
    for (int lam = 2; lam <= 6; lam++) {
        CHECK(dw_sig_nsk_opts_set_dyadic_order(o, lam) == DW_OK);
        CHECK(dw_sig_nsk_gram(o, seg, 1, 2, NULL, 0, 0, 2, K) == DW_OK);
        const double e = fabs(K[0] - exact);
        if (lam > 2) CHECK(e < ep / 3.5 && e > ep / 4.5);
        ep = e;
    }
    CHECK(ep < 2e-5 * exact);
    /* symmetric Gram: exact symmetry; threads bit for bit */
    CHECK(dw_sig_nsk_opts_set_inhomogeneous(o, false) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_dyadic_order(o, 2) == DW_OK);
    double Z[5 * 4 * 2], G[25], G1[25];
    paths(Z, 40, 0.5, 5);
    CHECK(dw_sig_nsk_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_sig_nsk_gram(o, Z, 5, 4, NULL, 0, 0, 2, G1) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_sig_nsk_gram(o, Z, 5, 4, NULL, 0, 0, 2, G) == DW_OK);
    CHECK(memcmp(G, G1, sizeof G) == 0);
    int sym = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) sym &= G[i * 5 + j] == G[j * 5 + i];
    CHECK(sym);
    /* errors */
    CHECK(dw_sig_nsk_opts_set_sigma_b(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigma_b: must be non-negative") != NULL);
    CHECK(dw_sig_nsk_opts_set_sigma0(o, NAN) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigma0") != NULL);
    CHECK(dw_sig_nsk_opts_set_sigma_a(o, INFINITY) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigma_a") != NULL);
    CHECK(dw_sig_nsk_opts_set_sigma_b(o, 0.5) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_inhomogeneous(o, true) == DW_OK);
    CHECK(dw_sig_nsk_gram(o, X, 2, lx, Y, 2, ly, d, K) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_opts_set_inhomogeneous(o, false) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_act(o, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "act") != NULL);
    dw_sig_nsk_opts *fresh = NULL;
    CHECK(dw_sig_nsk_opts_init(&fresh) == DW_OK);
    CHECK(dw_sig_nsk_gram(fresh, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_INVALID); /* no activation set */
    CHECK(strstr(dw_error_message(), "act: no activation") != NULL);
    double bytes = -1;
    CHECK(dw_sig_nsk_bytes(fresh, 2, lx, 0, lx, &bytes) == DW_OK && bytes > 0);
    CHECK(dw_sig_nsk_bytes(fresh, 2, 1, 0, lx, &bytes) == DW_ERR_INVALID && bytes == 0.0);
    CHECK(dw_sig_nsk_bytes(fresh, 2, lx, 0, lx, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_bytes(NULL, 2, lx, 0, lx, &bytes) == DW_ERR_INVALID);
    dw_sig_nsk_opts_clear(fresh);
    dw_sig_nsk_opts_clear(NULL);
    CHECK(dw_sig_nsk_opts_init(NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_opts_set_grid(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_opts_set_solver(o, (dw_sig_solver)-1) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_opts_set_threads(o, -1) == DW_ERR_INVALID);
    CHECK(dw_sig_nsk_opts_set_dyadic_order(o, 31) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "dyadic_order: must be between 0 and 30") != NULL);
    CHECK(dw_sig_nsk_opts_set_dyadic_order(o, 29) == DW_OK);
    CHECK(dw_sig_nsk_gram(o, X, 2, lx, NULL, 0, 0, d, K) == DW_ERR_NOMEM);
    CHECK(dw_sig_nsk_opts_set_grid(o, true) == DW_OK); /* the grid ignores the dyadic order */
    CHECK(dw_sig_nsk_gram(o, X, 2, lx, NULL, 0, 0, d, K) == DW_OK);
    dw_sig_nsk_opts_clear(o);
    dw_sig_kernel_opts_clear(ko);
    dw_act_clear(id);
    dw_act_clear(relu);
    dw_act_clear(lin);
}

static void test_lcde(void)
{
    /* one-step grid: K[1,1] = e + <dw, dw'> e + sB^2 <dxi, dxi'> with e = sC^2 <x0, y0> + sc^2 */
    const double x[4] = {0.5, -0.2, 1.0, 0.4}, y[4] = {0.1, 0.3, -0.2, 0.9};
    dw_sig_lcde_opts *o = NULL;
    CHECK(dw_sig_lcde_opts_init(&o) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_sigma_B(o, 0.7) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_sigma_C(o, 1.2) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_sigma_c(o, 0.4) == DW_OK);
    size_t g[1] = {0}, in[1] = {1};
    CHECK(dw_sig_lcde_opts_set_gate(o, 1, g) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_input(o, 1, in) == DW_OK);
    g[0] = 5; /* the options hold a copy */
    double K;
    CHECK(dw_sig_lcde_kernel(o, x, 1, 2, y, 1, 2, 2, &K) == DW_OK);
    const double e = 1.44 * (0.05 - 0.06) + 0.16;
    CHECK_CLOSE(K, e + (0.5 * -0.3) * e + 0.49 * (0.6 * 0.6), 1e-14, 1e-15);
    size_t bad[1] = {2};
    CHECK(dw_sig_lcde_opts_set_gate(o, 1, bad) == DW_OK); /* checked against d by the computations */
    CHECK(dw_sig_lcde_kernel(o, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "gate channels: index 2 is out of range") != NULL);
    g[0] = 0;
    CHECK(dw_sig_lcde_opts_set_gate(o, 1, g) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_gate(o, 1, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_input(o, 2, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "input") != NULL);
    CHECK(dw_sig_lcde_opts_set_diagonal(o, true) == DW_OK);
    CHECK(dw_sig_lcde_kernel(o, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_diagonal(o, false) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_sigma_C(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigma_C: must be non-negative") != NULL);
    CHECK(dw_sig_lcde_opts_set_sigma_A(o, NAN) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigma_A") != NULL);
    CHECK(dw_sig_lcde_opts_set_sigma_B(o, -0.5) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_sigma_c(o, INFINITY) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_threads(o, 5000) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_sigma_C(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_init(NULL) == DW_ERR_INVALID);
    dw_sig_lcde_opts_clear(NULL);
    CHECK(dw_sig_lcde_kernel(o, x, 1, 2, y, 1, 2, 2, &K) == DW_OK); /* refused setters changed nothing */
    CHECK(dw_sig_lcde_kernel(NULL, x, 1, 2, y, 1, 2, 2, &K) == DW_ERR_INVALID);
    CHECK(dw_sig_lcde_opts_set_sigma_C(o, 1) == DW_OK);
    double out[2 * 4];
    CHECK(dw_sig_lcde_sample(o, 0, 1, 0, false, x, 1, 2, 2, out) == DW_ERR_INVALID);
    /* the sampler is a pure function of (seed, sample): two calls agree, threads do not matter */
    double a[3 * 8], b[3 * 8];
    CHECK(dw_sig_lcde_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_sig_lcde_sample(o, 8, 3, 42, false, x, 1, 2, 2, a) == DW_OK);
    CHECK(dw_sig_lcde_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_sig_lcde_sample(o, 8, 3, 42, false, x, 1, 2, 2, b) == DW_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    dw_sig_lcde_opts_clear(o);
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    dw_sig_nsk_opts *no = NULL;
    CHECK(dw_sig_nsk_opts_init(&no) == DW_OK);
    CHECK(dw_sig_cresnet_sample(no, 8, 3, 42, false, x, 1, 2, 2, a) == DW_ERR_INVALID); /* no activation */
    CHECK(dw_sig_nsk_opts_set_act(no, relu) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_threads(no, 1) == DW_OK);
    CHECK(dw_sig_cresnet_sample(no, 8, 3, 42, false, x, 1, 2, 2, a) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_threads(no, 2) == DW_OK);
    CHECK(dw_sig_cresnet_sample(no, 8, 3, 42, false, x, 1, 2, 2, b) == DW_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(dw_sig_nsk_opts_set_sigma0(no, -1) == DW_ERR_INVALID);
    CHECK(dw_sig_cresnet_sample(no, 0, 3, 42, false, x, 1, 2, 2, a) == DW_ERR_INVALID);
    CHECK(dw_sig_cresnet_sample(NULL, 8, 3, 42, false, x, 1, 2, 2, a) == DW_ERR_INVALID);
    dw_sig_nsk_opts_clear(no);
    dw_act_clear(relu);
}

/* threads 0 means all cores here as in every module (core.h): accepted by each options object, and the same bits
 * as one thread (signatures of a batch, a signature-kernel Gram). */
static void test_threads_zero(void)
{
    double X[2 * 5 * 2], S0[2 * 15] = {0}, S1[2 * 15] = {0}, K0[4], K1[4]; /* dw_sig_size(2, 3) <= 15 */
    for (int i = 0; i < 20; i++) X[i] = sin(1.3 * i + 0.2);
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK && dw_sig_opts_set_level(o, 3) == DW_OK);
    CHECK(dw_sig_opts_set_threads(o, 0) == DW_OK && dw_sig_signature(o, X, 2, 5, 2, S0) == DW_OK);
    CHECK(dw_sig_opts_set_threads(o, 1) == DW_OK && dw_sig_signature(o, X, 2, 5, 2, S1) == DW_OK);
    CHECK(memcmp(S0, S1, sizeof S0) == 0);
    dw_sig_opts_clear(o);
    dw_sig_kernel_opts *k = NULL;
    CHECK(dw_sig_kernel_opts_init(&k) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_threads(k, 0) == DW_OK && dw_sig_kernel_gram(k, X, 2, 5, NULL, 0, 0, 2, K0) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_threads(k, 1) == DW_OK && dw_sig_kernel_gram(k, X, 2, 5, NULL, 0, 0, 2, K1) == DW_OK);
    CHECK(memcmp(K0, K1, sizeof K0) == 0 && K0[1] == K0[2]);
    dw_sig_kernel_opts_clear(k);
    dw_sig_nsk_opts *n = NULL;
    CHECK(dw_sig_nsk_opts_init(&n) == DW_OK && dw_sig_nsk_opts_set_threads(n, 0) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_threads(n, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "threads: expected 0"));
    dw_sig_nsk_opts_clear(n);
    dw_sig_lcde_opts *l = NULL;
    CHECK(dw_sig_lcde_opts_init(&l) == DW_OK && dw_sig_lcde_opts_set_threads(l, 0) == DW_OK);
    dw_sig_lcde_opts_clear(l);
}

int main(void)
{
    test_threads_zero();
    test_segment_and_chen();
    test_signature_errors();
    test_sigkernel();
    test_nsk();
    test_lcde();
    return check_done("sig");
}
