/* The architecture engine (dw_kernel_gram on nets beyond the fully connected shape, theory.md 7) against
 * independent routes through the fully connected engine:
 * - a fully connected net routed through the engine (an identity layer appended) vs the fully connected engine,
 *   also at the relu family's extreme angles;
 * - 1x1 convolutions + Flatten = the mean over positions of the fully connected kernel of the per-position channel
 *   vectors; + GlobalAvgPool = the mean over all pairs of positions;
 * - residual sums whose branch is an activation (correlated with the skip) vs one expression activation;
 * - NT's b_std=0 vs b_std=None.
 * The other checks: test_arch_conv.c (convolutions and pools against the recursion written out), test_arch_runners.c
 * (the block runner against the pair-by-pair run, thread counts), test_arch_errors.c (refusals), test_arch_rows.c
 * (the block runner's finiteness check). */
#include "arch_util.h"
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. the fully connected net through both engines ---- */
static void test_fc_both_engines(void)
{
    const char *acts[] = {"relu", "erf", "leaky_relu:0.2", "tanh", "z*sigmoid(1.702*z)"};
    enum { n = 5, m = 4, d = 3 };
    double X[n * d], Y[m * d];
    fill(X, n * d, 1);
    fill(Y, m * d, 2);
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        for (int param = 0; param < 2; param++) {
            dw_act *act;
            CHECK(dw_act_init(&act, acts[a]) == DW_OK);
            dw_net *fc, *ar;
            CHECK(dw_net_init(&fc) == DW_OK && dw_net_init(&ar) == DW_OK);
            const double wv[3] = {1.7, 2.0, 1.2}, bv[3] = {0.1, 0.0, 0.3}, w[2] = {50, 70};
            for (int k = 0; k < 2; k++) {
                dw_net *net = k ? ar : fc;
                CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
                CHECK(dw_net_set_weight_var(net, 3, wv) == DW_OK);
                CHECK(dw_net_set_bias_var(net, 3, bv) == DW_OK);
                CHECK(dw_net_set_param(net, param ? DW_PARAM_STANDARD : DW_PARAM_NTK) == DW_OK);
                if (param) {
                    CHECK(dw_net_set_widths(net, 2, w) == DW_OK);
                    CHECK(dw_net_set_out_dim(net, 1) == DW_OK);
                }
            }
            CHECK(dw_net_add_identity(ar) == DW_OK);
            /* generic activations: both engines take the same bounded series; closed forms agree to rounding */
            const double tol = acts[a][0] == 't' || acts[a][0] == 'z' ? 1e-9 : 1e-14;
            double K1[n * m], T1[n * m], K2[n * m], T2[n * m], S1[n * n], S2[n * n];
            CHECK(gram(fc, X, n, Y, m, d, K1, T1) == DW_OK);
            CHECK(gram(ar, X, n, Y, m, d, K2, T2) == DW_OK);
            CHECK(rel_diff(K2, K1, n * m) < tol);
            CHECK(rel_diff(T2, T1, n * m) < tol);
            CHECK(gram(fc, X, n, NULL, n, d, S1, NULL) == DW_OK);
            CHECK(gram(ar, X, n, NULL, n, d, S2, NULL) == DW_OK);
            CHECK(rel_diff(S2, S1, n * n) < tol);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) CHECK(S2[i * n + j] == S2[j * n + i]); /* exactly symmetric */
            dw_net_clear(fc);
            dw_net_clear(ar);
            dw_act_clear(act);
        }
}

/* ---- 1b. the relu family at extreme angles: the architecture engine's activations work from the covariance
 * (sqrt(ab - c^2) and one arctangent), the fully connected engine from the inputs' exact half-angle state: on
 * inputs whose dot products are exact (two coordinates, powers of two) they agree entry by entry, relative to
 * the entry itself, at angles 2^-26 .. pi - 2^-26 (the series branch of sin x - x cos x below x = 1, the direct
 * form above it) and with a zero input (rho = 0 by convention). ---- */
static void test_relu_angles(void)
{
    const char *acts[] = {"relu", "leaky_relu:0.2", "abs", "step"};
    enum { n = 14, d = 2 };
    double X[n * d];
    const int ks[] = {1, 4, 13, 26};
    size_t i = 0;
    X[i++] = 1.0, X[i++] = 0.0;
    X[i++] = 0.0, X[i++] = 0.0; /* a zero input */
    X[i++] = -1.0, X[i++] = 1.0;
    X[i++] = 0.5, X[i++] = -2.0;
    for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) { /* near (1, 0) and near (-1, 0) */
        X[i++] = 1.0, X[i++] = ldexp(1.0, -ks[k]);
        X[i++] = -1.0, X[i++] = ldexp(1.0, -ks[k]);
    }
    X[i++] = -1.0, X[i++] = -0.75;
    X[i++] = -0.25, X[i++] = 1.0;
    CHECK(i == n * d);
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        for (int bias = 0; bias < 2; bias++) {
            dw_act *act;
            CHECK(dw_act_init(&act, acts[a]) == DW_OK);
            dw_net *fc, *ar;
            CHECK(dw_net_init(&fc) == DW_OK && dw_net_init(&ar) == DW_OK);
            const double wv[2] = {2.0, 1.5}, bv[2] = {bias ? 0.25 : 0.0, 0.5};
            for (int k = 0; k < 2; k++) {
                dw_net *net = k ? ar : fc;
                CHECK(dw_net_set_fc(net, 1, act, true) == DW_OK);
                CHECK(dw_net_set_weight_var(net, 2, wv) == DW_OK);
                CHECK(dw_net_set_bias_var(net, 2, bv) == DW_OK);
            }
            CHECK(dw_net_add_identity(ar) == DW_OK);
            double K1[n * n], T1[n * n], K2[n * n], T2[n * n];
            CHECK(gram(fc, X, n, NULL, n, d, K1, T1) == DW_OK);
            CHECK(gram(ar, X, n, NULL, n, d, K2, T2) == DW_OK);
            /* relative to the entry, or to 1/100 of its scale sqrt(K(x, x) K(y, y)) where the entry is smaller:
             * leaky relu's NTK can cancel to 1e-3 of its terms, in both engines alike */
            double worst = 0.0;
            for (size_t e = 0; e < n * n; e++) {
                const size_t r = e / n, c = e % n;
                const double sk = fmax(fabs(K1[e]), 1e-2 * sqrt(K1[r * n + r] * K1[c * n + c]));
                const double stt = fmax(fabs(T1[e]), 1e-2 * sqrt(T1[r * n + r] * T1[c * n + c]));
                worst = fmax(worst, fmax(fabs(K2[e] - K1[e]) / sk, fabs(T2[e] - T1[e]) / stt));
            }
            CHECK(worst < 1e-14);
            if (worst >= 1e-14) fprintf(stderr, "relu angles: %s bias %d: %.3g\n", acts[a], bias, worst);
            dw_net_clear(fc);
            dw_net_clear(ar);
            dw_act_clear(act);
        }
}

/* ---- 2. 1x1 convolutions: per-position fully connected kernels ---- */
static void test_conv1x1(void)
{
    enum { n = 3, H = 2, W = 3, C = 2, P = H * W, d = P * C };
    double X[n * d];
    fill(X, n * d, 3);
    dw_act *act;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    const size_t shape[3] = {H, W, C}, one[2] = {1, 1};
    for (int gap = 0; gap < 2; gap++) {
        dw_net *cn, *fc;
        CHECK(dw_net_init(&cn) == DW_OK && dw_net_init(&fc) == DW_OK);
        CHECK(dw_net_set_input_shape(cn, 3, shape) == DW_OK);
        CHECK(dw_net_add_conv(cn, 2, one, NULL, DW_PAD_SAME, 1.6, 0.2, 0) == DW_OK);
        CHECK(dw_net_add_act(cn, act) == DW_OK);
        CHECK(dw_net_add_conv(cn, 2, one, NULL, DW_PAD_VALID, 2.1, 0.05, 0) == DW_OK);
        CHECK(dw_net_add_act(cn, act) == DW_OK);
        CHECK((gap ? dw_net_add_global_pool(cn, true) : dw_net_add_flatten(cn)) == DW_OK);
        CHECK(dw_net_add_dense(cn, 1.3, 0.1, 0) == DW_OK);
        CHECK(dw_net_add_dense(fc, 1.6, 0.2, 0) == DW_OK);
        CHECK(dw_net_add_act(fc, act) == DW_OK);
        CHECK(dw_net_add_dense(fc, 2.1, 0.05, 0) == DW_OK);
        CHECK(dw_net_add_act(fc, act) == DW_OK);
        CHECK(dw_net_add_dense(fc, 1.3, 0.1, 0) == DW_OK);
        double K[n * n], T[n * n];
        CHECK(gram(cn, X, n, NULL, n, d, K, T) == DW_OK);
        /* the reference: the fully connected kernel of every position's channel vector (P n points) */
        double Kp[P * n * P * n], Tp[P * n * P * n];
        CHECK(gram(fc, X, P * n, NULL, P * n, C, Kp, Tp) == DW_OK); /* row a*P + p: input a, position p */
        double err = 0.0;
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++) {
                double k = 0, t = 0, cnt = 0;
                for (size_t p = 0; p < P; p++)
                    for (size_t q = 0; q < P; q++) {
                        if (!gap && p != q) continue;
                        k += Kp[(a * P + p) * P * n + b * P + q];
                        t += Tp[(a * P + p) * P * n + b * P + q];
                        cnt++;
                    }
                err = fmax(err, fabs(K[a * n + b] - k / cnt) / fabs(k / cnt));
                err = fmax(err, fabs(T[a * n + b] - t / cnt) / fabs(t / cnt));
            }
        CHECK(err < 1e-14);
        dw_net_clear(cn);
        dw_net_clear(fc);
    }
    dw_act_clear(act);
}

/* ---- 4. residual sums with an activation branch vs one expression activation ---- */
static void test_residual_activation(void)
{
    enum { n = 4, d = 3 };
    double X[n * d];
    fill(X, n * d, 6);
    struct { const char *act, *expr; double skip, alpha; } cases[] = {
        {"relu", "z+relu(z)", 1.0, 1.0},
        {"tanh", "0.7*z+0.5*tanh(z)", 0.7, 0.5},
        {"erf", "1.5*z+0.25*erf(z)", 1.5, 0.25},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dw_act *phi, *sum;
        CHECK(dw_act_init(&phi, cases[c].act) == DW_OK);
        CHECK(dw_act_init(&sum, cases[c].expr) == DW_OK);
        dw_net *br, *res, *fc;
        CHECK(dw_net_init(&br) == DW_OK && dw_net_init(&res) == DW_OK && dw_net_init(&fc) == DW_OK);
        CHECK(dw_net_add_act(br, phi) == DW_OK);
        CHECK(dw_net_add_dense(res, 1.9, 0.1, 0) == DW_OK);
        CHECK(dw_net_add_residual(res, br, cases[c].skip, cases[c].alpha) == DW_OK);
        CHECK(dw_net_add_dense(res, 1.2, 0.2, 0) == DW_OK);
        CHECK(dw_net_add_dense(fc, 1.9, 0.1, 0) == DW_OK);
        CHECK(dw_net_add_act(fc, sum) == DW_OK);
        CHECK(dw_net_add_dense(fc, 1.2, 0.2, 0) == DW_OK);
        double K1[n * n], T1[n * n], K2[n * n], T2[n * n];
        CHECK(gram(res, X, n, NULL, n, d, K1, T1) == DW_OK);
        CHECK(gram(fc, X, n, NULL, n, d, K2, T2) == DW_OK);
        /* the expression's series is certified to ~1e-10 relative; relu's sum has a closed form on our side */
        CHECK(rel_diff(K1, K2, n * n) < 2e-9);
        CHECK(rel_diff(T1, T2, n * n) < 2e-9);
        dw_net_clear(br);
        dw_net_clear(res);
        dw_net_clear(fc);
        dw_act_clear(phi);
        dw_act_clear(sum);
    }
}

/* ---- 7. NT's b_std=0 (a bias of variance 0, trainable) vs b_std=None (no bias): the standard NTK counts 1 ---- */
static void test_bias_none(void)
{
    enum { n = 3, d = 4 };
    double X[n * d];
    fill(X, n * d, 9);
    dw_act *act;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    double K[2][n * n], T[2][n * n];
    for (int none = 0; none < 2; none++) {
        dw_net *net;
        CHECK(dw_net_init(&net) == DW_OK && dw_net_set_param(net, DW_PARAM_STANDARD) == DW_OK);
        CHECK(dw_net_add_dense(net, 2, 0.1, 30) == DW_OK && dw_net_add_act(net, act) == DW_OK);
        CHECK(dw_net_add_dense(net, 1.5, 0, 1) == DW_OK);
        if (none) CHECK(dw_net_set_last_no_bias(net) == DW_OK);
        CHECK(gram(net, X, n, NULL, n, d, K[none], T[none]) == DW_OK);
        dw_net_clear(net);
    }
    for (size_t i = 0; i < n * n; i++) {
        CHECK_CLOSE(K[0][i], K[1][i], 1e-15, 0); /* the two engines: alike to rounding */
        CHECK_CLOSE(T[0][i], T[1][i] + 1.0, 1e-15, 0);
    }
    /* the fully connected front ends' per-layer values read 0 as none: the same as b_std=None */
    dw_net *fc;
    const double wv[2] = {2, 1.5}, bv[2] = {0.1, 0}, w[1] = {30};
    CHECK(dw_net_init(&fc) == DW_OK && dw_net_set_fc(fc, 1, act, true) == DW_OK);
    CHECK(dw_net_set_param(fc, DW_PARAM_STANDARD) == DW_OK && dw_net_set_weight_var(fc, 2, wv) == DW_OK);
    CHECK(dw_net_set_bias_var(fc, 2, bv) == DW_OK && dw_net_set_widths(fc, 1, w) == DW_OK);
    double Kf[n * n], Tf[n * n];
    CHECK(gram(fc, X, n, NULL, n, d, Kf, Tf) == DW_OK);
    CHECK(rel_diff(Kf, K[1], n * n) < 1e-14 && rel_diff(Tf, T[1], n * n) < 1e-14);
    dw_net_clear(fc);
    dw_act_clear(act);
}

int main(void)
{
    test_fc_both_engines();
    test_relu_angles();
    test_conv1x1();
    test_residual_activation();
    test_bias_none();
    return check_done("arch");
}
