/* Kernels: tiling and thread-count invariance (bit for bit), exact symmetry, SIMD vs scalar sweeps, the
 * dual function vs one layer of the Gram recursion, Price's theorem (d/dc E[phi phi] = E[phi' phi']) by
 * central differences, special values, depth 0 (no activation), and every error path of the options, the info
 * and the network shapes the kernel takes. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *acts[] = {"identity", "relu", "leaky_relu:0.1", "abs", "step", "erf", "sin", "cos", "exp",
                             "poly:0.5,1,-0.3,0.1", "gelu"};
#define NACTS (sizeof acts / sizeof acts[0])
/* test_invariance also runs activations without closed forms: each entry's Mehler series stops at its own order,
 * which must not depend on the tile or block the entry falls in */
static const char *inv_acts[] = {"tanh", "silu", "softplus"};
#define NINV (NACTS + sizeof inv_acts / sizeof inv_acts[0])
static const char *inv_name(size_t a) { return a < NACTS ? acts[a] : inv_acts[a - NACTS]; }

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void make_inputs(double *X, size_t n, size_t d, unsigned long long seed)
{
    for (size_t i = 0; i < n * d; i++) X[i] = 2.0 * urand(&seed) - 1.0;
    /* near-duplicates, an opposite pair, a parallel pair, a zero row */
    for (size_t k = 0; k < d; k++) {
        X[1 * d + k] = X[0 * d + k] + 1e-9 * (double)k;
        X[2 * d + k] = -X[0 * d + k];
        X[3 * d + k] = 2.5 * X[0 * d + k];
        X[4 * d + k] = 0.0;
    }
}

static int bits_equal(const double *a, const double *b, size_t n) { return memcmp(a, b, n * sizeof(double)) == 0; }

/* The fully connected net with a readout: nw (nb) per-layer values or 1 for every layer. */
static dw_net *fc_net(int depth, const dw_act *act, size_t nw, const double *wv, size_t nb, const double *bv)
{
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, depth, act, true) == DW_OK);
    if (nw) CHECK(dw_net_set_weight_var(net, nw, wv) == DW_OK);
    if (nb) CHECK(dw_net_set_bias_var(net, nb, bv) == DW_OK);
    return net;
}

static dw_kernel_opts *kopts(bool all_layers, int threads)
{
    dw_kernel_opts *o = NULL;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_all_layers(o, all_layers) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, threads) == DW_OK);
    return o;
}

/* K(X, X) through the public tile API on odd tiles (across the diagonal, wholly below it, and reaching below it
 * beyond their own columns): the entries of dw_kernel_gram bit for bit, its mirrored lower triangle and its
 * diagonal of K (the per-point recursion) included. */
static void check_sym_tiles(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, size_t d,
                            size_t layers, const char *name)
{
    const size_t sz = layers * n * n;
    double *K1 = malloc(sz * sizeof(double)), *T1 = malloc(sz * sizeof(double));
    double *K2 = calloc(sz, sizeof(double)), *T2 = calloc(sz, sizeof(double));
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, K1, T1, NULL) == DW_OK);
    dw_kernel_plan *p;
    CHECK(dw_kernel_plan_init(&p, net, o, X, n, NULL, n, d) == DW_OK);
    for (size_t i0 = 0; i0 < n; i0 += 13)
        for (size_t j0 = 0; j0 < n; j0 += 7) {
            size_t i1 = i0 + 13 < n ? i0 + 13 : n, j1 = j0 + 7 < n ? j0 + 7 : n;
            CHECK(dw_kernel_tile(p, i0, i1, j0, j1, K2 + i0 * n + j0, T2 + i0 * n + j0, n, n * n) == DW_OK);
        }
    int same = bits_equal(K1, K2, sz) && bits_equal(T1, T2, sz);
    /* one tile of the whole matrix, the NNGP alone */
    memset(K2, 0, sz * sizeof(double));
    CHECK(dw_kernel_tile(p, 0, n, 0, n, K2, NULL, n, n * n) == DW_OK);
    same = same && bits_equal(K1, K2, sz);
    dw_kernel_plan_clear(p);
    if (!same) fprintf(stderr, "  symmetric tiles differ for %s\n", name);
    CHECK(same);
    free(K1);
    free(T1);
    free(K2);
    free(T2);
}

/* Tiles of any shape hold the Gram's bits although BLAS picks its kernel by the shape of a call (OpenBLAS' small-
 * matrix kernels round x.y differently from its blocked ones: a 300 x 280 x 8 product is past their threshold, the
 * driver's 32 x 256 tiles below it). Rectangular and symmetric, whole and in 100 x 150 tiles. */
static void test_tiling_blas(void)
{
    const size_t n = 300, m = 280, d = 8;
    double *X = malloc(n * d * sizeof *X), *Y = malloc(m * d * sizeof *Y);
    make_inputs(X, n, d, 3);
    make_inputs(Y, m, d, 4);
    dw_act *act;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    dw_net *net = fc_net(2, act, 0, NULL, 0, NULL);
    double *K1 = malloc(n * n * sizeof(double)), *K2 = malloc(n * n * sizeof(double));
    for (int sym = 0; sym < 2; sym++) {
        const size_t w = sym ? n : m;
        CHECK(dw_kernel_gram(net, NULL, X, n, sym ? NULL : Y, w, d, K1, NULL, NULL) == DW_OK);
        dw_kernel_plan *p;
        CHECK(dw_kernel_plan_init(&p, net, NULL, X, n, sym ? NULL : Y, w, d) == DW_OK);
        memset(K2, 0, n * w * sizeof(double));
        CHECK(dw_kernel_tile(p, 0, n, 0, w, K2, NULL, w, 0) == DW_OK);
        int same = bits_equal(K1, K2, n * w);
        memset(K2, 0, n * w * sizeof(double));
        for (size_t i0 = 0; i0 < n; i0 += 100)
            for (size_t j0 = 0; j0 < w; j0 += 150)
                CHECK(dw_kernel_tile(p, i0, i0 + 100 < n ? i0 + 100 : n, j0, j0 + 150 < w ? j0 + 150 : w,
                                     K2 + i0 * w + j0, NULL, w, 0) == DW_OK);
        same = same && bits_equal(K1, K2, n * w);
        if (!same)
            fprintf(stderr, "  %s tiles of 300 x 8 inputs differ from the Gram\n", sym ? "symmetric" : "rectangular");
        CHECK(same);
        dw_kernel_plan_clear(p);
    }
    free(K1);
    free(K2);
    dw_net_clear(net);
    dw_act_clear(act);
    free(X);
    free(Y);
}

static void test_invariance(void)
{
    const size_t n = 70, m = 45, d = 6;
    const int L = 3;
    double *X = malloc(n * d * sizeof *X), *Y = malloc(m * d * sizeof *Y);
    make_inputs(X, n, d, 1);
    make_inputs(Y, m, d, 2);
    const double wv[4] = {1.7, 2.0, 1.2, 0.9}, bv[4] = {0.1, 0.0, 0.3, 0.05};
    for (size_t a = 0; a < NINV; a++) {
        dw_act *act;
        CHECK(dw_act_init(&act, inv_name(a)) == DW_OK);
        static const double we[4] = {0.5, 0.3, 0.3, 0.3}; /* keep exp's variances moderate */
        const double *w = !strcmp(inv_name(a), "exp") ? we : wv;
        dw_net *net = fc_net(L, act, 4, w, 4, bv);
        dw_kernel_opts *o1 = kopts(true, 1), *o2 = kopts(true, 2);
        const size_t sz = (size_t)(L + 1) * n * m;
        double *K1 = malloc(sz * sizeof(double)), *T1 = malloc(sz * sizeof(double));
        double *K2 = malloc(sz * sizeof(double)), *T2 = malloc(sz * sizeof(double));
        CHECK(dw_kernel_gram(net, o1, X, n, Y, m, d, K1, T1, NULL) == DW_OK);
        CHECK(dw_kernel_gram(net, o2, X, n, Y, m, d, K2, T2, NULL) == DW_OK);
        CHECK(bits_equal(K1, K2, sz) && bits_equal(T1, T2, sz));
        /* odd tiles through the public tile API */
        dw_kernel_plan *p;
        CHECK(dw_kernel_plan_init(&p, net, o2, X, n, Y, m, d) == DW_OK);
        memset(K2, 0, sz * sizeof(double));
        memset(T2, 0, sz * sizeof(double));
        for (size_t i0 = 0; i0 < n; i0 += 7)
            for (size_t j0 = 0; j0 < m; j0 += 13) {
                size_t i1 = i0 + 7 < n ? i0 + 7 : n, j1 = j0 + 13 < m ? j0 + 13 : m;
                CHECK(dw_kernel_tile(p, i0, i1, j0, j1, K2 + i0 * m + j0, T2 + i0 * m + j0, m, n * m) == DW_OK);
            }
        dw_kernel_plan_clear(p);
        int same = bits_equal(K1, K2, sz) && bits_equal(T1, T2, sz);
        if (!same) fprintf(stderr, "  tiles differ for %s\n", inv_name(a));
        CHECK(same);
        check_sym_tiles(net, o2, X, n, d, (size_t)L + 1, inv_name(a));
        /* the last layer of all_layers equals the plain output (default options: NULL) */
        CHECK(dw_kernel_gram(net, NULL, X, n, Y, m, d, K2, T2, NULL) == DW_OK);
        CHECK(bits_equal(K1 + (size_t)L * n * m, K2, n * m) && bits_equal(T1 + (size_t)L * n * m, T2, n * m));
        /* scalar and SIMD sweeps (SLEEF functions of the same accuracy classes) agree to rounding after one
         * sweep (deeper layers amplify ulps by the recursion's own condition number, not what this checks) */
        dw_net_clear(net);
        net = fc_net(1, act, 2, w, 2, bv); /* the first two per-layer values */
        CHECK(dw_kernel_gram(net, o2, X, n, Y, m, d, K2, T2, NULL) == DW_OK);
        setenv("DW_NO_SIMD", "1", 1);
        CHECK(dw_kernel_gram(net, o2, X, n, Y, m, d, K1, T1, NULL) == DW_OK);
        unsetenv("DW_NO_SIMD");
        dw_net_clear(net);
        dw_kernel_opts_clear(o1);
        dw_kernel_opts_clear(o2);
        /* relative error, or absolute at the matrix's scale for entries near zero */
        double worst = 0, kmax = 0, tmax = 0;
        for (size_t e = 0; e < n * m; e++) {
            kmax = fmax(kmax, fabs(K1[e]));
            tmax = fmax(tmax, fabs(T1[e]));
        }
        for (size_t e = 0; e < n * m; e++) {
            double e1 = fabs(K1[e] - K2[e]) / (fabs(K1[e]) + 1e-14 * kmax);
            double e2 = fabs(T1[e] - T2[e]) / (fabs(T1[e]) + 1e-14 * tmax);
            worst = fmax(worst, fmax(e1, e2));
        }
        if (worst > 1e-13) fprintf(stderr, "  %s: SIMD vs scalar %g\n", inv_name(a), worst);
        CHECK(worst <= 1e-13);
        free(K1);
        free(T1);
        free(K2);
        free(T2);
        dw_act_clear(act);
    }
    free(X);
    free(Y);
}

static void test_symmetry(void)
{
    const size_t n = 300, d = 5;
    double *X = malloc(n * d * sizeof *X);
    make_inputs(X, n, d, 7);
    for (size_t a = 0; a < NACTS; a++) {
        dw_act *act;
        dw_act_init(&act, acts[a]);
        dw_net *net = fc_net(2, act, 0, NULL, 0, NULL);
        double *K = malloc(n * n * sizeof *K), *T = malloc(n * n * sizeof *T), *K2 = malloc(n * n * sizeof *K2);
        CHECK(dw_kernel_gram(net, NULL, X, n, NULL, n, d, K, T, NULL) == DW_OK);
        int sym = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++) sym &= K[i * n + j] == K[j * n + i] && T[i * n + j] == T[j * n + i];
        CHECK(sym);
        /* with Y = a copy of X: the same numbers up to rounding of the diagonal route */
        CHECK(dw_kernel_gram(net, NULL, X, n, X, n, d, K2, NULL, NULL) == DW_OK);
        dw_net_clear(net);
        double worst = 0;
        /* relative to sqrt(K(x,x) K(y,y)): gelu's kernel passes through 0 (E[phi(u) phi(v)] changes sign) */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                worst = fmax(worst, fabs(K[i * n + j] - K2[i * n + j]) /
                                        (sqrt(fabs(K[i * n + i]) * fabs(K[j * n + j])) + 1e-14));
        if (worst >= 1e-14) fprintf(stderr, "  %s: symmetric vs Y = X %g\n", acts[a], worst);
        CHECK(worst < 1e-14);
        free(K);
        free(T);
        free(K2);
        dw_act_clear(act);
    }
    free(X);
}

/* One layer of the Gram recursion equals the dual function at K^1; Price's theorem by central differences. */
static void test_dual(void)
{
    const double a = 1.3, b = 0.7;
    for (size_t k = 0; k < NACTS; k++) {
        dw_act *act;
        dw_act_init(&act, acts[k]);
        const int kinked_deriv = !strcmp(acts[k], "step");
        for (double rho = -0.9; rho < 0.95; rho += 0.3) {
            double c = rho * sqrt(a * b), v, vd, vp, vm;
            CHECK(dw_act_dual(act, a, b, c, &v, &vd) == DW_OK);
            const double h = 1e-5;
            dw_act_dual(act, a, b, c + h, &vp, NULL);
            dw_act_dual(act, a, b, c - h, &vm, NULL);
            double deriv = (vp - vm) / (2 * h);
            if (kinked_deriv) { /* phi' = 0 a.e.; the distributional derivative is 1/(2 pi sqrt(ab - c^2)) */
                CHECK(vd == 0.0);
                CHECK_CLOSE(deriv, 1.0 / (2 * M_PI * sqrt(a * b - c * c)), 1e-8, 0);
            } else {
                CHECK_CLOSE(deriv, vd, 1e-8, 1e-10); /* O(h^2) ~ 1e-10 truncation, 1e-11 rounding */
            }
        }
        /* the Gram recursion with depth 1, w = 1, b = 0 on points whose K^1 = (a, b, c) */
        double X[4] = {sqrt(a), 0, 0.4 * sqrt(b), sqrt(b) * sqrt(1 - 0.16)};
        static const double w2 = 2.0; /* w/d with d = 2 gives K^1 = <x, y> */
        dw_net *net = fc_net(1, act, 1, &w2, 0, NULL);
        double K[4], T[4], v, vd;
        CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 2, K, T, NULL) == DW_OK);
        dw_net_clear(net);
        CHECK(dw_act_dual(act, a, b, 0.4 * sqrt(a * b), &v, &vd) == DW_OK);
        CHECK_CLOSE(K[1], 2.0 * v, 1e-14, 1e-15);
        CHECK_CLOSE(T[1], 2.0 * v + 2.0 * vd * 0.4 * sqrt(a * b), 1e-14, 1e-15);
        dw_act_clear(act);
    }
    /* special values: relu at c = 0 is sqrt(ab)/(2 pi), at c = sqrt(ab) it is sqrt(ab)/2; erf at c = 0 is 0 */
    dw_act *relu, *erfa;
    dw_act_init(&relu, "relu");
    dw_act_init(&erfa, "erf");
    double v, vd;
    dw_act_dual(relu, 4.0, 9.0, 0.0, &v, &vd);
    CHECK_CLOSE(v, 6.0 / (2 * M_PI), 1e-15, 0);
    CHECK_CLOSE(vd, 0.25, 1e-15, 0);
    dw_act_dual(relu, 4.0, 9.0, 6.0, &v, &vd);
    CHECK_CLOSE(v, 3.0, 1e-15, 0);
    CHECK_CLOSE(vd, 0.5, 1e-15, 0);
    dw_act_dual(relu, 4.0, 9.0, -6.0, &v, &vd);
    CHECK(v == 0.0 || fabs(v) < 1e-15);
    CHECK(fabs(vd) < 1e-15);
    dw_act_dual(erfa, 2.0, 3.0, 0.0, &v, &vd);
    CHECK(v == 0.0);
    CHECK(dw_act_dual(relu, -1.0, 1.0, 0.0, &v, &vd) == DW_ERR_INVALID);
    CHECK(dw_act_dual(relu, 1.0, 1.0, 2.0, &v, &vd) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "covariance") != NULL);
    /* the array form equals the pairwise calls bit for bit, and names the first bad element */
    double aa[3] = {1.0, 0.5, 2.0}, bb[3] = {2.0, 0.5, 3.0}, cc[3] = {0.5, -0.5, 2.4}, vv[3], dd[3];
    CHECK(dw_act_dual_n(erfa, 3, aa, bb, cc, vv, dd) == DW_OK);
    for (int k = 0; k < 3; k++) {
        double v1, d1;
        dw_act_dual(erfa, aa[k], bb[k], cc[k], &v1, &d1);
        CHECK(v1 == vv[k] && d1 == dd[k]);
    }
    aa[1] = -1.0;
    CHECK(dw_act_dual_n(erfa, 3, aa, bb, cc, vv, dd) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "element 1: dual: variances") != NULL);
    dw_act_clear(relu);
    dw_act_clear(erfa);
}

static void test_errors(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "softmax") == DW_ERR_INVALID && act == NULL);
    CHECK(strstr(dw_error_message(), "unknown activation 'softmax'") != NULL);
    CHECK(dw_act_init(&act, "leaky_relu") == DW_ERR_INVALID);
    CHECK(dw_act_init(&act, "leaky_relu:abc") == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "abc") != NULL);
    CHECK(dw_act_init(&act, "relu:2") == DW_ERR_INVALID);
    CHECK(dw_act_init(&act, "poly:1,,2") == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "coefficient 2") != NULL);
    CHECK(dw_act_init(&act, "poly:nan") == DW_ERR_INVALID);
    CHECK(dw_act_init(&act, "") == DW_ERR_INVALID);
    CHECK(dw_act_init(&act, "  ReLU ") == DW_OK && !strcmp(dw_act_name(act), "relu"));

    double X[6] = {1, 2, 3, 4, 5, 6}, K[4];
    /* the network's own checks (dw_net), with the wording the kernel had */
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, -1, act, true) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "depth") != NULL);
    CHECK(dw_net_set_fc(net, 2, NULL, true) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "act") != NULL);
    CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
    double w2[2] = {1, 2};
    CHECK(dw_net_set_weight_var(net, 2, w2) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "expected 1 or 3 per-layer values, got 2") != NULL);
    double neg = -1, nanv = NAN;
    CHECK(dw_net_set_weight_var(net, 1, &neg) == DW_ERR_INVALID);
    CHECK(dw_net_set_weight_var(net, 1, &nanv) == DW_ERR_INVALID);
    /* the kernel's own: widths for the standard parameterisation, the inputs, the outputs */
    CHECK(dw_net_set_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "width: the standard parameterisation needs the hidden width(s)") != NULL);
    double bytes = -1;
    CHECK(dw_kernel_gram_bytes(net, NULL, 2, 2, true, false, &bytes) == DW_ERR_INVALID && bytes == 0.0);
    double wid = 10;
    CHECK(dw_net_set_widths(net, 1, &wid) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_OK);
    CHECK(dw_net_set_param(net, DW_PARAM_NTK) == DW_OK);
    X[4] = INFINITY;
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "X: row 2, column 2") != NULL);
    X[4] = 5;
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, NULL, NULL, NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_gram(net, NULL, NULL, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "X: NULL") != NULL);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 0, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "dimension") != NULL);
    CHECK(dw_kernel_gram(NULL, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    /* no readout: the kernel of the last activation's output (NT's, for a net ending in an activation), taken by
     * the architecture engine; a readout dense(1, 0) after it (the fully connected engine) gives the same NNGP and
     * Theta_act + K (theory.md 1.3); the tiled plan stays fully connected only */
    CHECK(dw_net_set_fc(net, 2, act, false) == DW_OK);
    {
        double Ka[4], Ta[4], Kr[4], Tr[4];
        dw_net *ro;
        CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, Ka, Ta, NULL) == DW_OK);
        CHECK(dw_net_init(&ro) == DW_OK && dw_net_set_fc(ro, 2, act, true) == DW_OK);
        CHECK(dw_kernel_gram(ro, NULL, X, 2, NULL, 2, 3, Kr, Tr, NULL) == DW_OK);
        for (int e = 0; e < 4; e++) {
            CHECK_CLOSE(Ka[e], Kr[e], 1e-14, 0);
            CHECK_CLOSE(Ta[e] + Ka[e], Tr[e], 1e-14, 0);
        }
        CHECK(dw_kernel_gram_bytes(net, NULL, 2, 2, true, false, &bytes) == DW_OK && bytes > 0);
        dw_net_clear(ro);
    }
    dw_kernel_plan *plan = (dw_kernel_plan *)&bytes;
    CHECK(dw_kernel_plan_init(&plan, net, NULL, X, 2, NULL, 2, 3) == DW_ERR_INVALID && plan == NULL);
    CHECK(dw_kernel_plan_init(NULL, net, NULL, X, 2, NULL, 2, 3) == DW_ERR_INVALID);
    const size_t widths[3] = {3, 2, 1};
    const double W1[6] = {1, 0, 0, 0, 1, 0}, W2[2] = {1, 1}, *Ws[2] = {W1, W2};
    CHECK(dw_net_set_given(net, act, 2, widths, Ws, NULL, true) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "given weights") != NULL);
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "no layers") != NULL);
    /* depth 0, the linear model, needs no activation: K = w/d <x, y> + b, Theta = K (NTK), Theta = <x, y> + 1
     * (standard) */
    CHECK(dw_net_set_fc(net, 0, NULL, true) == DW_OK);
    const double w3 = 3.0, b05 = 0.5;
    CHECK(dw_net_set_weight_var(net, 1, &w3) == DW_OK && dw_net_set_bias_var(net, 1, &b05) == DW_OK);
    double T[4];
    dw_kernel_info *info = NULL;
    CHECK(dw_kernel_info_init(&info) == DW_OK && !strcmp(dw_kernel_info_method(info), ""));
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, T, info) == DW_OK);
    CHECK(K[0] == 14.0 + 0.5 && K[1] == 32.0 + 0.5 && K[2] == K[1] && K[3] == 77.0 + 0.5);
    CHECK(bits_equal(K, T, 4));
    CHECK(strstr(dw_kernel_info_method(info), "depth 0") != NULL && dw_kernel_info_max_bound(info) == 0.0);
    CHECK(dw_kernel_info_target(info) == 0.0 && dw_kernel_info_evaluations(info) == 0);
    CHECK(dw_kernel_info_quadrature(info) == 0 && dw_kernel_info_series_terms(info) == 0);
    CHECK(!dw_kernel_info_estimate(info));
    CHECK(dw_net_set_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, NULL, T, NULL) == DW_OK);
    CHECK(T[0] == 15.0 && T[1] == 33.0 && T[3] == 78.0);
    dw_kernel_info_clear(info);
    dw_net_clear(net);
    dw_act_clear(act);
    /* the options' and info's own errors; NULL getters and clears are harmless */
    dw_kernel_opts *o = NULL;
    CHECK(dw_kernel_opts_init(NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_info_init(NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, -1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "threads: expected 0 (all cores, the OpenMP default) to 4096, got -1") != NULL);
    CHECK(dw_kernel_opts_set_threads(o, 4097) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_threads(o, 4096) == DW_OK && dw_kernel_opts_set_threads(o, 0) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_all_layers(NULL, true) == DW_ERR_INVALID);
    dw_kernel_opts_clear(o);
    dw_kernel_opts_clear(NULL);
    dw_kernel_info_clear(NULL);
    CHECK(!strcmp(dw_kernel_info_method(NULL), "") && dw_kernel_info_max_bound(NULL) == 0.0);
    CHECK(dw_kernel_info_expectation_bound(NULL) == 0.0);
    CHECK(dw_kernel_info_series_terms(NULL) == 0 && dw_kernel_info_evaluations(NULL) == 0);
    CHECK(!dw_kernel_info_estimate(NULL) && dw_kernel_info_target(NULL) == 0.0 && dw_kernel_info_quadrature(NULL) == 0);
    /* sizes: the outputs asked for plus the per-point fields; a NULL output is refused */
    dw_act_init(&act, "relu");
    net = fc_net(2, act, 0, NULL, 0, NULL);
    CHECK(dw_kernel_gram_bytes(net, NULL, 10, 20, false, false, NULL) == DW_ERR_INVALID);
    double b0, b1, b2;
    o = kopts(true, 0);
    CHECK(dw_kernel_gram_bytes(net, NULL, 10, 20, false, false, &b0) == DW_OK && b0 > 0);
    CHECK(dw_kernel_gram_bytes(net, NULL, 10, 20, true, true, &b1) == DW_OK && b1 == b0 + 2 * 200 * 8);
    CHECK(dw_kernel_gram_bytes(net, o, 10, 20, true, false, &b2) == DW_OK && b2 == b0 + 3 * 200 * 8);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    /* generic activations: the bounded Hermite node cache (8192 records of 310 doubles) is counted */
    dw_act_init(&act, "tanh");
    net = fc_net(2, act, 0, NULL, 0, NULL);
    CHECK(dw_kernel_gram_bytes(net, NULL, 10, 20, false, false, &b2) == DW_OK && b2 > 8192.0 * 310 * 8);
    /* and a generic Gram's info: the series, its target, its order (the output layer needs none) */
    dw_kernel_info *ti = NULL;
    double Kt[4], Tt[4];
    CHECK(dw_kernel_info_init(&ti) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, Kt, Tt, ti) == DW_OK);
    CHECK(strstr(dw_kernel_info_method(ti), "Hermite") != NULL && dw_kernel_info_target(ti) == DW_DUAL_TARGET);
    CHECK(dw_kernel_info_series_terms(ti) > 0 && dw_kernel_info_evaluations(ti) > 0 && !dw_kernel_info_estimate(ti));
    CHECK(dw_kernel_info_expectation_bound(ti) <= DW_DUAL_TARGET);
    CHECK(dw_kernel_info_max_bound(ti) >= dw_kernel_info_expectation_bound(ti) && dw_kernel_info_max_bound(ti) < 1e-8);
    dw_kernel_info_clear(ti);
    dw_net_clear(net);
    dw_act_clear(act);
    /* overflow is reported, never returned as inf */
    dw_act_init(&act, "exp");
    static const double big = 3.0;
    net = fc_net(4, act, 1, &big, 0, NULL);
    CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "overflows") != NULL);
    dw_net_clear(net);
    dw_act_clear(act);
    /* a too-large request is refused before allocating */
    CHECK(dw_core_check_alloc(1e18, "the kernel result") == DW_ERR_NOMEM);
    CHECK(strstr(dw_error_message(), "the kernel result needs") != NULL);
}

/* Expressions that spell a relu-family activation (lam (alpha z + (1 - alpha) relu(z))) take its closed form:
 * bit-identical to the built-in (lam = 1), near-duplicate pairs included (issue 21); a scaled one equals the
 * built-in at weight variances / lam^2. */
static void test_relu_expressions(void)
{
    const double x[3] = {0.12573022, -0.13210486, 0.64042265};
    double X[6];
    for (int k = 0; k < 3; k++) X[k] = x[k], X[3 + k] = x[k] * (1 + 1e-7 * (k + 1));
    const double wv[3] = {2, 1.8, 2.1}, bv[3] = {0.1, 0, 0.2}, wv4[3] = {2, 0.45, 0.525};
    const char *exprs[3] = {"max(z, 0.1*z)", "relu(z) - 0.1*relu(-z)", "2*max(z, 0.1*z)"};
    dw_act *ref;
    CHECK(dw_act_init(&ref, "leaky_relu:0.1") == DW_OK);
    dw_net *rnet = fc_net(2, ref, 3, wv, 3, bv);
    double K0[4], T0[4];
    CHECK(dw_kernel_gram(rnet, NULL, X, 2, NULL, 2, 3, K0, T0, NULL) == DW_OK);
    for (int e = 0; e < 3; e++) {
        dw_act *act;
        CHECK(dw_act_init(&act, exprs[e]) == DW_OK);
        dw_net *net = fc_net(2, act, 3, e == 2 ? wv4 : wv, 3, bv);
        dw_kernel_info *info = NULL;
        CHECK(dw_kernel_info_init(&info) == DW_OK);
        double K[4], T[4];
        CHECK(dw_kernel_gram(net, NULL, X, 2, NULL, 2, 3, K, T, info) == DW_OK);
        CHECK(strstr(dw_kernel_info_method(info), "closed form") != NULL && dw_kernel_info_max_bound(info) == 0.0);
        for (int k = 0; k < 4; k++) {
            if (e < 2) CHECK(K[k] == K0[k] && T[k] == T0[k]);
            CHECK_CLOSE(K[k], K0[k], 1e-14, 0);
            CHECK_CLOSE(T[k], T0[k], 1e-14, 0);
        }
        dw_kernel_info_clear(info);
        dw_net_clear(net);
        dw_act_clear(act);
    }
    dw_net_clear(rnet);
    dw_act_clear(ref);
}

int main(void)
{
    test_relu_expressions();
    test_invariance();
    test_tiling_blas();
    test_symmetry();
    test_dual();
    test_errors();
    return check_done("test_kernel");
}
