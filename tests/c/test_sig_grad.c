/* Gradients of signatures, log-signatures and signature-kernel Gram matrices (theory.md 5), by independent routes:
 * - signature backward against central finite differences (fourth-order stencil) of a long-double Chen product
 *   written here from the definition (full truncated products, no Horner, no reconstruction);
 * - log-signature backward against fourth-order central differences of the library's forward (a step study: the
 *   difference shrinks ~16x when the step halves, down to the rounding floor);
 * - signature-kernel backward (the adjoint sweep) against forward-mode differentiation of the PDE solve (a tangent
 *   solver written here: the cell update and its derivative along a random direction of X, Y and the scale), for
 *   both static kernels, both solvers, dyadic orders 0 and 2, K(X, Y) and K(X, X);
 * - K(X, X)'s gradient = the sum of K(X, Y = X)'s two gradients; results bit-identical for 1 and 3 threads;
 *   one-point paths and level 0 give zero gradients; every error path.
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

static void fill(double *X, size_t n, double amp, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++) X[i] = amp * (2.0 * urand(&seed) - 1.0);
}

static double maxabs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

static dw_sig_opts *sig_opts(int level, int threads)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_opts_set_level(o, level) == DW_OK);
    if (threads) CHECK(dw_sig_opts_set_threads(o, threads) == DW_OK);
    return o;
}

/* <G, S(x)> in long double: S <- S (x) exp(h) by full truncated products (level 0 = 1). */
static long double ld_sig_dot(const dw_tens *t, const long double *x, size_t len, const double *G)
{
    const size_t d = t->d, sz = t->off[t->n + 1];
    const int n = t->n;
    long double *S = calloc(sz, sizeof *S), *E = calloc(sz, sizeof *E), *N = calloc(sz, sizeof *N);
    for (size_t i = 0; i + 1 < len; i++) {
        for (size_t a = 0; a < d; a++) E[a] = x[(i + 1) * d + a] - x[i * d + a];
        for (int k = 2; k <= n; k++)
            for (size_t w = 0; w < t->pw[k - 1]; w++)
                for (size_t a = 0; a < d; a++) E[t->off[k] + w * d + a] = E[t->off[k - 1] + w] * E[a] / k;
        for (int k = 1; k <= n; k++) {
            long double *Nk = N + t->off[k];
            for (size_t w = 0; w < t->pw[k]; w++) Nk[w] = S[t->off[k] + w] + E[t->off[k] + w];
            for (int i1 = 1; i1 < k; i1++) {
                const size_t nb = t->pw[k - i1];
                for (size_t u = 0; u < t->pw[i1]; u++)
                    for (size_t v = 0; v < nb; v++) Nk[u * nb + v] += S[t->off[i1] + u] * E[t->off[k - i1] + v];
            }
        }
        memcpy(S, N, sz * sizeof *S);
    }
    long double r = 0;
    for (size_t e = 0; e < sz; e++) r += S[e] * G[e];
    free(S);
    free(E);
    free(N);
    return r;
}

static void test_signature_backward(void)
{
    const struct {
        size_t d, len;
        int n;
    } cases[] = {{2, 6, 5}, {3, 5, 4}, {1, 4, 6}, {5, 7, 3}, {7, 3, 2}, {2, 60, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d, len = cases[c].len;
        const int n = cases[c].n;
        dw_tens t;
        CHECK(dw_tens_init(&t, d, n) == DW_OK);
        const size_t sz = t.off[n + 1];
        double *X = malloc(len * d * sizeof(double)), *G = malloc(sz * sizeof(double));
        double *gX = malloc(len * d * sizeof(double));
        long double *xl = malloc(len * d * sizeof *xl);
        fill(X, len * d, 0.6, 100 + c);
        fill(G, sz, 1.0, 200 + c);
        dw_sig_opts *o = sig_opts(n, 1);
        CHECK(dw_sig_signature_backward(o, X, 1, len, d, G, gX) == DW_OK);
        const long double h = 1e-3L;
        double err = 0;
        for (size_t i = 0; i < len * d; i++) {
            for (size_t e = 0; e < len * d; e++) xl[e] = X[e];
            long double f[4];
            const long double st[4] = {2 * h, h, -h, -2 * h};
            for (int q = 0; q < 4; q++) {
                xl[i] = (long double)X[i] + st[q];
                f[q] = ld_sig_dot(&t, xl, len, G);
            }
            const long double fd = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
            err = fmax(err, fabs((double)(fd - gX[i])));
        }
        if (!(err <= 1e-11 * fmax(1.0, maxabs(gX, len * d))))
            printf("signature backward d=%zu n=%d len=%zu: |fd - grad| = %.3g\n", d, n, len, err);
        CHECK(err <= 1e-11 * fmax(1.0, maxabs(gX, len * d)));
        dw_sig_opts_clear(o);
        free(X);
        free(G);
        free(gX);
        free(xl);
    }
}

static void test_logsignature_backward(void)
{
    const struct {
        size_t d, len;
        int n;
    } cases[] = {{2, 5, 5}, {3, 4, 4}, {1, 4, 3}, {4, 6, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d, len = cases[c].len;
        const int n = cases[c].n;
        size_t osz = 0;
        CHECK(dw_sig_logsig_size(d, n, &osz) == DW_OK);
        double *X = malloc(len * d * sizeof(double)), *G = malloc(osz * sizeof(double));
        double *gX = malloc(len * d * sizeof(double)), *Xp = malloc(len * d * sizeof(double));
        double *L = malloc(osz * sizeof(double));
        fill(X, len * d, 0.5, 300 + c);
        fill(G, osz, 1.0, 400 + c);
        dw_sig_opts *o = sig_opts(n, 1);
        CHECK(dw_sig_logsignature_backward(o, X, 1, len, d, G, gX) == DW_OK);
        double errs[2] = {0, 0};
        for (int hs = 0; hs < 2; hs++) {
            const double h = hs ? 2e-3 : 4e-3;
            for (size_t i = 0; i < len * d; i++) {
                double f[4];
                const double st[4] = {2 * h, h, -h, -2 * h};
                for (int q = 0; q < 4; q++) {
                    memcpy(Xp, X, len * d * sizeof(double));
                    Xp[i] += st[q];
                    CHECK(dw_sig_logsignature(o, Xp, 1, len, d, L) == DW_OK);
                    f[q] = 0;
                    for (size_t e = 0; e < osz; e++) f[q] += L[e] * G[e];
                }
                errs[hs] = fmax(errs[hs], fabs((-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h) - gX[i]));
            }
        }
        const double scale = fmax(1.0, maxabs(gX, len * d));
        /* the fourth-order truncation error falls 16x per halving, unless both are at the rounding floor */
        CHECK(errs[1] <= 1e-8 * scale);
        CHECK(errs[1] < errs[0] / 8 || errs[0] < 1e-11 * scale);
        dw_sig_opts_clear(o);
        free(X);
        free(G);
        free(gX);
        free(Xp);
        free(L);
    }
}

static void test_threads_and_trivial(void)
{
    const size_t b = 21, len = 9, d = 3;
    const int n = 4;
    size_t sz = 0, lsz = 0;
    CHECK(dw_sig_size(d, n, &sz) == DW_OK && dw_sig_logsig_size(d, n, &lsz) == DW_OK);
    double *X = malloc(b * len * d * sizeof(double)), *G = malloc(b * sz * sizeof(double));
    double *g1 = malloc(b * len * d * sizeof(double)), *g3 = malloc(b * len * d * sizeof(double));
    fill(X, b * len * d, 0.7, 5);
    fill(G, b * sz, 1.0, 6);
    for (int log = 0; log < 2; log++) {
        dw_sig_opts *o1 = sig_opts(n, 1), *o3 = sig_opts(n, 3);
        dw_status (*fn)(const dw_sig_opts *, const double *, size_t, size_t, size_t, const double *, double *) =
            log ? dw_sig_logsignature_backward : dw_sig_signature_backward;
        CHECK(fn(o1, X, b, len, d, G, g1) == DW_OK && fn(o3, X, b, len, d, G, g3) == DW_OK);
        CHECK(memcmp(g1, g3, b * len * d * sizeof(double)) == 0);
        /* a path's gradient is its own: path 4 alone gives the same bits */
        CHECK(fn(o1, X + 4 * len * d, 1, len, d, G + 4 * (log ? lsz : sz), g3) == DW_OK);
        CHECK(memcmp(g1 + 4 * len * d, g3, len * d * sizeof(double)) == 0);
        /* one-point paths: constant output, zero gradient */
        g1[0] = 7;
        CHECK(fn(o1, X, 3, 1, d, G, g1) == DW_OK && maxabs(g1, 3 * d) == 0.0);
        dw_sig_opts *o0 = sig_opts(0, 1);
        g1[0] = 7;
        CHECK(fn(o0, X, b, len, d, NULL, g1) == DW_OK && maxabs(g1, b * len * d) == 0.0);
        dw_sig_opts_clear(o0);
        dw_sig_opts_clear(o1);
        dw_sig_opts_clear(o3);
    }
    free(X);
    free(G);
    free(g1);
    free(g3);
}

static void test_signature_backward_errors(void)
{
    double X[6] = {0, 1, 2, 3, 4, 5}, G[64] = {0}, gX[6];
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_signature_backward(o, X, 1, 3, 2, G, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "level: not set") != NULL);
    CHECK(dw_sig_opts_set_level(o, 2) == DW_OK);
    CHECK(dw_sig_signature_backward(NULL, X, 1, 3, 2, G, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "signature_backward: NULL options") != NULL);
    CHECK(dw_sig_logsignature_backward(o, X, 1, 3, 2, NULL, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_out") != NULL);
    CHECK(dw_sig_signature_backward(o, X, 1, 3, 2, G, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_signature_backward(o, X, 1, 0, 2, G, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "at least 1 point") != NULL);
    G[3] = NAN;
    CHECK(dw_sig_signature_backward(o, X, 1, 3, 2, G, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_out: entry 4 of path 1 is not finite") != NULL);
    G[3] = 0;
    X[2] = INFINITY;
    CHECK(dw_sig_logsignature_backward(o, X, 1, 3, 2, G, gX) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite") != NULL);
    double big[4] = {0, 0, 1e200, -1e200};
    G[13] = 1.0; /* level 3, word (2, 2, 2): gradient h_2^2 / 2 = 5e399 */
    CHECK(dw_sig_opts_set_level(o, 3) == DW_OK);
    CHECK(dw_sig_signature_backward(o, big, 1, 2, 2, G, gX) == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "overflows") != NULL);
    CHECK(dw_sig_opts_set_level(o, 40) == DW_OK);
    X[2] = 2;
    CHECK(dw_sig_signature_backward(o, X, 1, 3, 2, G, gX) != DW_OK); /* 2^40 entries: refused before allocating */
    dw_sig_opts_clear(o);
}

/* ---- signature kernels: a tangent (forward-mode) solver of the same scheme ---- */
typedef struct {
    int rbf, second, lam;
    double scale;
} kparams;

/* kappa and its derivative along (v, w, ds) at the points x, y */
static void kap(const kparams *p, const double *x, const double *y, const double *v, const double *w, double ds,
                size_t d, double *k, double *dk)
{
    const double c = 0.5 / (p->scale * p->scale);
    double r2 = 0, dr2 = 0;
    for (size_t a = 0; a < d; a++) {
        r2 += (x[a] - y[a]) * (x[a] - y[a]);
        dr2 += 2 * (x[a] - y[a]) * (v[a] - w[a]);
    }
    *k = exp(-r2 * c);
    *dk = *k * (-c * dr2 + r2 * ds / (p->scale * p->scale * p->scale));
}

static void tangent(const kparams *p, const double *x, size_t lx, const double *y, size_t ly, size_t d,
                    const double *v, const double *w, double ds, double *K, double *dK)
{
    const size_t Mx = lx - 1, My = ly - 1, R = (size_t)1 << p->lam, Nc = My * R;
    const double s4 = ldexp(1.0, -2 * p->lam);
    double *G = malloc(Mx * My * sizeof(double)), *dG = malloc(Mx * My * sizeof(double));
    for (size_t I = 0; I < Mx; I++)
        for (size_t J = 0; J < My; J++) {
            double g = 0, dg = 0;
            if (p->rbf) {
                double k[4], dk[4];
                kap(p, x + (I + 1) * d, y + (J + 1) * d, v + (I + 1) * d, w + (J + 1) * d, ds, d, &k[0], &dk[0]);
                kap(p, x + I * d, y + J * d, v + I * d, w + J * d, ds, d, &k[1], &dk[1]);
                kap(p, x + (I + 1) * d, y + J * d, v + (I + 1) * d, w + J * d, ds, d, &k[2], &dk[2]);
                kap(p, x + I * d, y + (J + 1) * d, v + I * d, w + (J + 1) * d, ds, d, &k[3], &dk[3]);
                g = (k[0] + k[1]) - (k[2] + k[3]);
                dg = dk[0] + dk[1] - dk[2] - dk[3];
            } else {
                for (size_t a = 0; a < d; a++) {
                    const double dx = x[(I + 1) * d + a] - x[I * d + a], dy = y[(J + 1) * d + a] - y[J * d + a];
                    const double dv = v[(I + 1) * d + a] - v[I * d + a], dw = w[(J + 1) * d + a] - w[J * d + a];
                    g += dx * dy;
                    dg += p->scale * p->scale * (dv * dy + dx * dw) + 2 * p->scale * ds * dx * dy;
                }
                g *= p->scale * p->scale;
            }
            G[I * My + J] = g * s4;
            dG[I * My + J] = dg * s4;
        }
    double *k0 = malloc((Nc + 1) * sizeof(double)), *k1 = malloc((Nc + 1) * sizeof(double));
    double *d0 = calloc(Nc + 1, sizeof(double)), *d1 = calloc(Nc + 1, sizeof(double));
    for (size_t c = 0; c <= Nc; c++) k0[c] = 1.0;
    for (size_t r = 0; r < Mx * R; r++) {
        k1[0] = 1.0;
        d1[0] = 0.0;
        for (size_t c = 0; c < Nc; c++) {
            const double g = G[(r / R) * My + c / R], dg = dG[(r / R) * My + c / R];
            double A, B, dA, dB;
            if (p->second) {
                A = 1 + g / 2 + g * g / 12;
                B = 1 - g * g / 12;
                dA = (0.5 + g / 6) * dg;
                dB = -g / 6 * dg;
            } else {
                A = 1;
                B = 1 - g;
                dA = 0;
                dB = -dg;
            }
            k1[c + 1] = (k1[c] + k0[c + 1]) * A - k0[c] * B;
            d1[c + 1] = (d1[c] + d0[c + 1]) * A + (k1[c] + k0[c + 1]) * dA - d0[c] * B - k0[c] * dB;
        }
        double *t = k0;
        k0 = k1;
        k1 = t;
        t = d0;
        d0 = d1;
        d1 = t;
    }
    *K = k0[Nc];
    *dK = d0[Nc];
    free(G);
    free(dG);
    free(k0);
    free(k1);
    free(d0);
    free(d1);
}

static dw_sig_kernel_opts *kopts(const kparams *p, int threads)
{
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, p->lam) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_solver(o, p->second ? DW_SIG_SECOND_ORDER : DW_SIG_FIRST_ORDER) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_static(o, p->rbf ? DW_SIG_RBF : DW_SIG_LINEAR) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_scale(o, p->scale) == DW_OK);
    if (threads) CHECK(dw_sig_kernel_opts_set_threads(o, threads) == DW_OK);
    return o;
}

static void test_sigkernel_backward(void)
{
    const size_t n = 5, m = 4, lx = 5, ly = 6, d = 3;
    double X[5 * 5 * 3], Y[4 * 6 * 3], V[5 * 5 * 3], W[4 * 6 * 3], GK[5 * 5], K[5 * 5];
    double gX[5 * 5 * 3], gY[4 * 6 * 3], gX3[5 * 5 * 3], gY3[4 * 6 * 3], hX[5 * 5 * 3], hY[5 * 5 * 3];
    fill(X, sizeof X / 8, 0.5, 11);
    fill(Y, sizeof Y / 8, 0.5, 12);
    fill(V, sizeof V / 8, 1.0, 13);
    fill(W, sizeof W / 8, 1.0, 14);
    fill(GK, 25, 1.0, 15);
    const double ds = 0.7;
    for (int rbf = 0; rbf < 2; rbf++)
        for (int second = 0; second < 2; second++)
            for (int lam = 0; lam <= 2; lam += 2) {
                const kparams p = {rbf, second, lam, rbf ? 0.8 : 1.3};
                dw_sig_kernel_opts *o = kopts(&p, 1), *o3 = kopts(&p, 3);
                double gs = 0, gs3 = 0;
                /* K(X, Y) */
                CHECK(dw_sig_kernel_gram_backward(o, X, n, lx, Y, m, ly, d, GK, gX, gY, &gs) == DW_OK);
                CHECK(dw_sig_kernel_gram(o, X, n, lx, Y, m, ly, d, K) == DW_OK);
                double lhs = 0, rhs = gs * ds, mag = 0;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < m; j++) {
                        double k, dk;
                        tangent(&p, X + i * lx * d, lx, Y + j * ly * d, ly, d, V + i * lx * d, W + j * ly * d, ds,
                                &k, &dk);
                        CHECK(fabs(k - K[i * m + j]) <= 1e-14 * fabs(k)); /* the same scheme */
                        lhs += GK[i * m + j] * dk;
                        mag += fabs(GK[i * m + j] * dk);
                    }
                for (size_t e = 0; e < n * lx * d; e++) rhs += gX[e] * V[e];
                for (size_t e = 0; e < m * ly * d; e++) rhs += gY[e] * W[e];
                if (!(fabs(lhs - rhs) <= 1e-12 * mag))
                    printf("sigkernel backward rbf=%d second=%d lam=%d: tangent %.17g, adjoint %.17g\n", rbf, second,
                           lam, lhs, rhs);
                CHECK(fabs(lhs - rhs) <= 1e-12 * mag);
                CHECK(dw_sig_kernel_gram_backward(o3, X, n, lx, Y, m, ly, d, GK, gX3, gY3, &gs3) == DW_OK);
                CHECK(!memcmp(gX, gX3, sizeof gX) && !memcmp(gY, gY3, sizeof gY) && gs == gs3);
                /* K(X, X): both slots move with V */
                CHECK(dw_sig_kernel_gram_backward(o, X, n, lx, NULL, 0, 0, d, GK, gX, NULL, &gs) == DW_OK);
                lhs = 0;
                rhs = gs * ds;
                mag = 0;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++) {
                        double k, dk;
                        tangent(&p, X + i * lx * d, lx, X + j * lx * d, lx, d, V + i * lx * d, V + j * lx * d, ds,
                                &k, &dk);
                        lhs += GK[i * n + j] * dk;
                        mag += fabs(GK[i * n + j] * dk);
                    }
                for (size_t e = 0; e < n * lx * d; e++) rhs += gX[e] * V[e];
                CHECK(fabs(lhs - rhs) <= 1e-12 * mag);
                /* = the two gradients of K(X, Y = X) added */
                CHECK(dw_sig_kernel_gram_backward(o, X, n, lx, X, n, lx, d, GK, hX, hY, &gs3) == DW_OK);
                double e2 = 0;
                for (size_t e = 0; e < n * lx * d; e++) e2 = fmax(e2, fabs(hX[e] + hY[e] - gX[e]));
                CHECK(e2 <= 1e-13 * fmax(1.0, maxabs(gX, n * lx * d)));
                CHECK(fabs(gs3 - gs) <= 1e-13 * fmax(1.0, fabs(gs)));
                dw_sig_kernel_opts_clear(o);
                dw_sig_kernel_opts_clear(o3);
            }
}

static void test_sigkernel_backward_trivial_and_errors(void)
{
    const size_t d = 2;
    double X[3 * 4 * 2], Y[2 * 4 * 2], GK[6] = {1, 2, 3, 4, 5, 6}, gX[3 * 4 * 2], gY[2 * 4 * 2], gs = 7;
    fill(X, 24, 0.5, 31);
    fill(Y, 16, 0.5, 32);
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    /* one-point paths: k = 1, zero gradients */
    gX[0] = 7;
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 1, Y, 2, 4, d, GK, gX, gY, &gs) == DW_OK);
    CHECK(maxabs(gX, 6) == 0.0 && maxabs(gY, 16) == 0.0 && gs == 0.0);
    /* zero weights: nothing to solve */
    const double Z[6] = {0};
    gX[0] = 7;
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, Z, gX, gY, NULL) == DW_OK && maxabs(gX, 24) == 0.0);
    CHECK(dw_sig_kernel_gram_backward(NULL, X, 3, 4, Y, 2, 4, d, GK, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sigkernel_backward: NULL options") != NULL);
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, NULL, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_K") != NULL);
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, GK, NULL, gY, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, GK, gX, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_Y (Y given)") != NULL);
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, NULL, 0, 0, d, GK, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "Y (grad_Y given)") != NULL);
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 0, Y, 2, 4, d, GK, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "at least 1 point") != NULL);
    double bad[6] = {1, 2, NAN, 4, 5, 6};
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, bad, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_K: entry (2, 1) is not finite") != NULL);
    Y[3] = INFINITY;
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, Y, 2, 4, d, GK, gX, gY, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "Y: path 1, point 2, channel 2 is not finite") != NULL);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 30) == DW_OK); /* the whole grid of 2^60 cells: refused */
    const double GK9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* K(X, X): 3 x 3 */
    CHECK(dw_sig_kernel_gram_backward(o, X, 3, 4, NULL, 0, 0, d, GK9, gX, NULL, NULL) != DW_OK);
    CHECK(strstr(dw_error_message(), "dyadic order 30") != NULL);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, 0) == DW_OK);
    double huge[4] = {0, 0, 1e200, 1e200}, g1 = 1.0, gh[4];
    CHECK(dw_sig_kernel_gram_backward(o, huge, 1, 2, NULL, 0, 0, 2, &g1, gh, NULL, NULL) == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "overflows") != NULL);
    dw_sig_kernel_opts_clear(o);
}

int main(void)
{
    test_signature_backward();
    test_logsignature_backward();
    test_threads_and_trivial();
    test_signature_backward_errors();
    test_sigkernel_backward();
    test_sigkernel_backward_trivial_and_errors();
    return check_done("sig_grad");
}
