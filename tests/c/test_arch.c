/* The architecture engine (dw_kernel_gram on nets beyond the fully connected shape, theory.md 7), each result
 * against an independent route:
 * - a fully connected net routed through the engine (an identity layer appended) vs the fully connected engine;
 * - 1x1 convolutions + Flatten = the mean over positions of the fully connected kernel of the per-position channel
 *   vectors; + GlobalAvgPool = the mean over all pairs of positions;
 * - 1-D convolutions (valid / same / circular padding, strides) and pools vs a brute-force evaluation of the layer
 *   recursion written here from its definition, with the arc-cosine formula written out;
 * - residual sums whose branch is an activation (correlated with the skip) vs one expression activation;
 * - every refusal names its layer. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

/* Relative agreement of two n-vectors: max |a - b| / max |b|. */
static double rel_diff(const double *a, const double *b, size_t n)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > e) e = fabs(a[i] - b[i]);
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return s > 0 ? e / s : e;
}

static void fill(double *x, size_t n, unsigned seed)
{
    unsigned long long st = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        x[i] = (double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

static dw_status gram(const dw_net *net, const double *X, size_t n, const double *Y, size_t m, size_t d, double *K,
                      double *T)
{
    return dw_kernel_gram(net, NULL, X, n, Y, m, d, K, T, NULL);
}

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

/* ---- 3. 1-D convolutions and pools against the recursion evaluated from its definition ---- */

/* E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for Var u = a, Var v = b, Cov = c (Cho and Saul). */
static void relu_dual(double a, double b, double c, double *v, double *vd)
{
    const double s = sqrt(a * b);
    double r = s > 0 ? c / s : 0.0;
    r = r > 1 ? 1 : r < -1 ? -1 : r;
    const double th = acos(r);
    *v = s * (sin(th) + (M_PI - th) * cos(th)) / (2 * M_PI);
    *vd = (M_PI - th) / (2 * M_PI);
}

/* Full L x L covariances of three pairs: (x, x), (y, y), (x, y), stored as S[pair][i * L + j]. */
typedef struct brute {
    size_t L;
    double S[3][64], T[3][64];
} brute;

static void brute_input(brute *b, const double *x, const double *y, size_t L, size_t C)
{
    const double *u[3] = {x, y, x}, *v[3] = {x, y, y};
    b->L = L;
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < L; i++)
            for (size_t j = 0; j < L; j++) {
                double s = 0;
                for (size_t c = 0; c < C; c++) s += u[p][i * C + c] * v[p][j * C + c];
                b->S[p][i * L + j] = s / (double)C;
                b->T[p][i * L + j] = 0.0; /* the input has no parameters */
            }
}

/* Position i of the output reads input positions i*stride - lo + a, a < w (outside: zero padding, or wrapped). */
static int src_pos(long i, size_t a, size_t stride, long lo, size_t L, int pad, size_t *out)
{
    long q = i * (long)stride - lo + (long)a;
    if (pad == DW_PAD_CIRCULAR) q = ((q % (long)L) + (long)L) % (long)L;
    if (q < 0 || q >= (long)L) return 0;
    *out = (size_t)q;
    return 1;
}

static size_t out_len(size_t L, size_t w, size_t stride, int pad, long *lo)
{
    if (pad == DW_PAD_VALID) {
        *lo = 0;
        return (L - w) / stride + 1;
    }
    const size_t Lo = (L + stride - 1) / stride; /* ceil(L / stride), NT / XLA's SAME */
    const long need = (long)((Lo - 1) * stride + w) - (long)L;
    *lo = need > 0 ? need / 2 : 0;
    return Lo;
}

/* conv (window w, weight_var wv, bias_var bv, NTK parameterisation) or, wv < 0, average pool. */
static void brute_window(brute *b, size_t w, size_t stride, int pad, double wv, double bv)
{
    long lo;
    const size_t L = b->L, Lo = out_len(L, w, stride, pad, &lo);
    brute o = {.L = Lo};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < Lo; i++)
            for (size_t j = 0; j < Lo; j++) {
                double s = 0, t = 0;
                for (size_t a = 0; a < w; a++) {
                    size_t qi, qj;
                    /* a conv's window is shifted alike in both arguments; a pool averages over both windows */
                    if (wv >= 0) {
                        if (!src_pos((long)i, a, stride, lo, L, pad, &qi) || !src_pos((long)j, a, stride, lo, L, pad, &qj))
                            continue;
                        s += b->S[p][qi * L + qj];
                        t += b->T[p][qi * L + qj];
                    } else
                        for (size_t a2 = 0; a2 < w; a2++) {
                            if (!src_pos((long)i, a, stride, lo, L, pad, &qi) ||
                                !src_pos((long)j, a2, stride, lo, L, pad, &qj))
                                continue;
                            s += b->S[p][qi * L + qj];
                            t += b->T[p][qi * L + qj];
                        }
                }
                if (wv >= 0) {
                    o.S[p][i * Lo + j] = wv * s / (double)w + bv;
                    o.T[p][i * Lo + j] = o.S[p][i * Lo + j] + wv * t / (double)w;
                } else {
                    o.S[p][i * Lo + j] = s / (double)(w * w);
                    o.T[p][i * Lo + j] = t / (double)(w * w);
                }
            }
    *b = o;
}

/* relu: the conv's T holds the tangent kernel before the layer; the next conv adds its own Sigma' (above). */
static void brute_relu(brute *b)
{
    const size_t L = b->L;
    brute o = *b;
    for (int p = 0; p < 3; p++) {
        const int px = p == 1 ? 1 : 0, py = p == 0 ? 0 : 1; /* the pairs whose diagonals give the variances */
        for (size_t i = 0; i < L; i++)
            for (size_t j = 0; j < L; j++) {
                double v, vd;
                relu_dual(b->S[px][i * L + i], b->S[py][j * L + j], b->S[p][i * L + j], &v, &vd);
                o.S[p][i * L + j] = v;
                o.T[p][i * L + j] = b->T[p][i * L + j] * vd;
            }
    }
    *b = o;
}

static void test_conv1d_brute(void)
{
    enum { L = 7, C = 2, d = L * C };
    double x[d], y[d];
    fill(x, d, 4);
    fill(y, d, 5);
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    const int pads[3] = {DW_PAD_VALID, DW_PAD_SAME, DW_PAD_CIRCULAR};
    const size_t shape[2] = {L, C};
    for (int pc = 0; pc < 3; pc++)
        for (size_t stride = 1; stride <= 2; stride++)
            for (int pool = 0; pool < 3; pool++) { /* 0: global pool, 1: avg pool then global, 2: flatten (DIAG) */
                const int pad = pads[pc];
                const size_t w = 3, st[1] = {stride}, win[1] = {w}, pw[1] = {2};
                dw_net *net;
                CHECK(dw_net_init(&net) == DW_OK);
                CHECK(dw_net_set_input_shape(net, 2, shape) == DW_OK);
                CHECK(dw_net_add_conv(net, 1, win, st, (dw_padding)pad, 1.8, 0.15, 0) == DW_OK);
                CHECK(dw_net_add_act(net, relu) == DW_OK);
                CHECK(dw_net_add_conv(net, 1, win, NULL, (dw_padding)pad, 2.0, 0.05, 0) == DW_OK);
                CHECK(dw_net_add_act(net, relu) == DW_OK);
                if (pool == 1) CHECK(dw_net_add_pool(net, true, 1, pw, pw, DW_PAD_VALID, false) == DW_OK);
                CHECK((pool == 2 ? dw_net_add_flatten(net) : dw_net_add_global_pool(net, true)) == DW_OK);
                CHECK(dw_net_add_dense(net, 1.4, 0.3, 0) == DW_OK);
                double XY[2 * d], K[4], T[4];
                memcpy(XY, x, sizeof x);
                memcpy(XY + d, y, sizeof y);
                dw_status s = gram(net, XY, 2, NULL, 2, d, K, T);
                if (pad == DW_PAD_VALID && stride == 2 && pool == 1) { /* 7 -> 3 -> 1 position: no 2-window fits */
                    CHECK(s == DW_ERR_INVALID && has("layer 5: the window is larger than the input"));
                    dw_net_clear(net);
                    continue;
                }
                CHECK(s == DW_OK);
                brute b;
                brute_input(&b, x, y, L, C);
                brute_window(&b, w, stride, pad, 1.8, 0.15);
                brute_relu(&b);
                brute_window(&b, w, 1, pad, 2.0, 0.05);
                brute_relu(&b);
                if (pool == 1) brute_window(&b, 2, 2, DW_PAD_VALID, -1.0, 0.0);
                double kb[3], tb[3];
                for (int p = 0; p < 3; p++) {
                    double s = 0, t = 0;
                    if (pool == 2) { /* flatten: the mean of the diagonal */
                        for (size_t i = 0; i < b.L; i++) s += b.S[p][i * b.L + i], t += b.T[p][i * b.L + i];
                        s /= (double)b.L, t /= (double)b.L;
                    } else {
                        for (size_t i = 0; i < b.L * b.L; i++) s += b.S[p][i], t += b.T[p][i];
                        s /= (double)(b.L * b.L), t /= (double)(b.L * b.L);
                    }
                    kb[p] = 1.4 * s + 0.3;
                    tb[p] = kb[p] + 1.4 * t;
                }
                CHECK_CLOSE(K[0], kb[0], 1e-14, 0);
                CHECK_CLOSE(K[3], kb[1], 1e-14, 0);
                CHECK_CLOSE(K[1], kb[2], 1e-14, 0);
                CHECK_CLOSE(T[0], tb[0], 1e-14, 0);
                CHECK_CLOSE(T[3], tb[1], 1e-14, 0);
                CHECK_CLOSE(T[1], tb[2], 1e-14, 0);
                CHECK(K[1] == K[2] && T[1] == T[2]);
                dw_net_clear(net);
            }
    dw_act_clear(relu);
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

/* ---- 5. refusals ---- */
static void test_refusals(void)
{
    dw_act *relu, *tanh_;
    CHECK(dw_act_init(&relu, "relu") == DW_OK && dw_act_init(&tanh_, "tanh") == DW_OK);
    double X[2 * 12];
    fill(X, 24, 7);
    double K[4];
    const size_t shape[3] = {2, 2, 3}, f2[2] = {2, 2}, f1[1] = {2};
    dw_net *net;

    /* an activation of an activation's output */
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_add_identity(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK && dw_net_add_act(net, relu) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("needs a Gaussian input") && has("layer"));
    dw_net_clear(net);

    /* spatial axes left at the output */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f2, NULL, DW_PAD_SAME, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("spatial axes"));
    /* a 1-D window on a 2-D image */
    CHECK(dw_net_add_pool(net, true, 1, f1, NULL, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("1-D window"));
    dw_net_clear(net);

    /* the data's features vs the input shape */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 11, K, NULL) == DW_ERR_INVALID && has("X: 11 features"));
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_OK);
    dw_net_clear(net);

    /* streams: a fanout never summed; parallel with the wrong count */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK && dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("2 open streams"));
    dw_net *br[3];
    for (int i = 0; i < 3; i++) CHECK(dw_net_init(&br[i]) == DW_OK && dw_net_add_identity(br[i]) == DW_OK);
    CHECK(dw_net_add_parallel(net, 3, (const dw_net *const *)br) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("parallel with 3 branches on 2 open streams"));
    dw_net_clear(net);

    /* a sum of two different activations of one stream, then an activation of the (non-Gaussian) sum */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK && dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(dw_net_add_act(br[0], relu) == DW_OK && dw_net_add_act(br[1], tanh_) == DW_OK);
    CHECK(dw_net_add_parallel(net, 2, (const dw_net *const *)br) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("different activations"));
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br[0], 1.0, 1.0) == DW_OK && dw_net_add_act(net, relu) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("needs a Gaussian input"));
    dw_net_clear(net);

    /* the standard parameterisation's NTK without a width */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_identity(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_set_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, NULL, K) == DW_ERR_INVALID && has("width"));
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_OK); /* the NNGP needs none */
    /* every layer at once is a fully connected option */
    dw_kernel_opts *o;
    CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_all_layers(o, true) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID && has("all_layers"));
    dw_kernel_opts_clear(o);
    dw_net_clear(net);

    for (int i = 0; i < 3; i++) dw_net_clear(br[i]);
    dw_act_clear(relu);
    dw_act_clear(tanh_);
}

/* ---- 6. thread count independence ---- */
static void test_threads(void)
{
    enum { n = 9, H = 4, C = 2, d = H * H * C };
    double X[n * d];
    fill(X, n * d, 8);
    dw_act *act;
    CHECK(dw_act_init(&act, "gelu") == DW_OK);
    const size_t shape[3] = {H, H, C}, f[2] = {3, 3}, pw[2] = {2, 2};
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f, NULL, DW_PAD_SAME, 2, 0.1, 0) == DW_OK && dw_net_add_act(net, act) == DW_OK);
    CHECK(dw_net_add_pool(net, true, 2, pw, pw, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f, NULL, DW_PAD_CIRCULAR, 2, 0.1, 0) == DW_OK && dw_net_add_act(net, act) == DW_OK);
    CHECK(dw_net_add_global_pool(net, true) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    double K1[n * n], T1[n * n], K2[n * n], T2[n * n];
    dw_kernel_opts *o;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, K1, T1, NULL) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, K2, T2, NULL) == DW_OK);
    CHECK(memcmp(K1, K2, sizeof K1) == 0 && memcmp(T1, T2, sizeof T1) == 0);
    /* the memory a run needs: at least its outputs, and more per worker (the P x P registers) */
    double b1, b3, b0;
    CHECK(dw_kernel_gram_bytes(net, o, n, n, true, true, &b3) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_kernel_gram_bytes(net, o, n, n, true, true, &b1) == DW_OK);
    CHECK(dw_kernel_gram_bytes(net, o, n, n, false, false, &b0) == DW_OK);
    CHECK(b0 > 0 && b1 >= b0 + 2.0 * 8 * n * n && b3 > b1);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
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

/* ---- 8. the block runner (programs on DIAG registers) against the pair-by-pair run ----
 * dw_arch_rows_disabled (the engine's test switch) routes the same program pair by pair. Each net twice: on vectors
 * (dense layers) and on sequences of one position (1-wide convolutions); then a Flatten CNN on 2-D images (SAME /
 * VALID / CIRCULAR convolutions, strides, two channels, LayerNorm per position and over the image, a residual
 * convolution branch with an activation on it), and the images flattened first (the dot products over all
 * features, in row groups: the sweeps' dots against the pair run's loop). The same bits in every case. Every op
 * kind a DIAG program has. */
extern bool dw_arch_rows_disabled;

static void build_rows_net(dw_net *net, bool conv, dw_act *const *acts)
{
    const size_t one[1] = {1};
    dw_net *br[2];
    CHECK(dw_net_init(&br[0]) == DW_OK && dw_net_init(&br[1]) == DW_OK);
    CHECK(dw_net_add_act(br[0], acts[0]) == DW_OK && dw_net_add_scale(br[0], 0.7) == DW_OK);
    CHECK(dw_net_add_act(br[1], acts[0]) == DW_OK);
    for (int layer = 0; layer < 4; layer++) {
        const double wv = 1.2 + 0.3 * layer, bv = layer == 2 ? 0.0 : 0.1 * (layer + 1);
        if (conv)
            CHECK(dw_net_add_conv(net, 1, one, NULL, DW_PAD_VALID, wv, bv, 0) == DW_OK);
        else
            CHECK(dw_net_add_dense(net, wv, bv, 0) == DW_OK);
        if (layer == 1) CHECK(dw_net_add_layernorm(net, false, 1e-12) == DW_OK);
        if (layer == 2) { /* two equal activations of one stream and the stream itself: every cross term */
            CHECK(dw_net_add_fanout(net, 3) == DW_OK);
            dw_net *id;
            CHECK(dw_net_init(&id) == DW_OK && dw_net_add_identity(id) == DW_OK);
            const dw_net *three[3] = {br[0], br[1], id};
            CHECK(dw_net_add_parallel(net, 3, three) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
            dw_net_clear(id);
            continue;
        }
        CHECK(dw_net_add_act(net, acts[layer % 4]) == DW_OK);
        if (layer == 3) CHECK(dw_net_add_dropout(net, 0.8, true) == DW_OK);
    }
    if (conv) CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.0, 0.0, 0) == DW_OK);
    dw_net_clear(br[0]);
    dw_net_clear(br[1]);
}

/* H x W images of 2 channels: conv 3x3 SAME, LN per position, residual(act; conv 3x3 CIRCULAR), residual(act), conv 2x2
 * stride 2 VALID, LN over the image, act, Flatten, dense. */
static void build_image_net(dw_net *net, dw_act *const *acts, size_t H, size_t W)
{
    const size_t shape[3] = {H, W, 2}, f3[2] = {3, 3}, f2[2] = {2, 2}, s2[2] = {2, 2};
    CHECK(dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f3, NULL, DW_PAD_SAME, 1.7, 0.2, 0) == DW_OK);
    CHECK(dw_net_add_layernorm(net, false, 1e-12) == DW_OK);
    dw_net *br;
    CHECK(dw_net_init(&br) == DW_OK && dw_net_add_act(br, acts[1]) == DW_OK);
    CHECK(dw_net_add_conv(br, 2, f3, NULL, DW_PAD_CIRCULAR, 1.3, 0.1, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1.0, 0.5) == DW_OK);
    dw_net_clear(br);
    CHECK(dw_net_init(&br) == DW_OK && dw_net_add_act(br, acts[0]) == DW_OK); /* h + 0.6 phi(h): cross terms */
    CHECK(dw_net_add_residual(net, br, 1.0, 0.6) == DW_OK);
    dw_net_clear(br);
    CHECK(dw_net_add_conv(net, 2, f2, s2, DW_PAD_VALID, 2.0, 0.0, 0) == DW_OK);
    CHECK(dw_net_add_layernorm(net, true, 1e-12) == DW_OK);
    CHECK(dw_net_add_act(net, acts[2]) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.1, 0.3, 0) == DW_OK);
}

/* The net's Gram (X, Y) and (X, X) by both runners: rel_diff within tol (0: the same bits), symmetric. */
static void rows_vs_pairs(const dw_net *net, const double *X, size_t rows, const double *Y, size_t m, size_t d,
                          double tol)
{
    static double K1[70 * 70], T1[70 * 70], K2[70 * 70], T2[70 * 70];
    CHECK(gram(net, X, rows, Y, m, d, K1, T1) == DW_OK);
    dw_arch_rows_disabled = true;
    CHECK(gram(net, X, rows, Y, m, d, K2, T2) == DW_OK);
    dw_arch_rows_disabled = false;
    CHECK(rel_diff(K1, K2, rows * m) <= tol && rel_diff(T1, T2, rows * m) <= tol);
    CHECK(gram(net, X, rows, NULL, rows, d, K1, T1) == DW_OK);
    dw_arch_rows_disabled = true;
    CHECK(gram(net, X, rows, NULL, rows, d, K2, NULL) == DW_OK);
    dw_arch_rows_disabled = false;
    CHECK(rel_diff(K1, K2, rows * rows) <= tol);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < rows; j++) CHECK(K1[i * rows + j] == K1[j * rows + i]);
}

static void test_rows_vs_pairs(void)
{
    enum { n = 70, m = 67, d = 3, di = 7 * 6 * 2 }; /* more than one block of 64, and a ragged last one */
    static double X[n * d], Y[m * d], XI[n * di], YI[m * di];
    fill(X, n * d, 10);
    fill(Y, m * d, 11);
    fill(XI, n * di, 12);
    fill(YI, m * di, 13);
    const char *sets[2][4] = {{"relu", "poly:0.1,1,0.3", "erf", "step"}, {"gelu", "tanh", "leaky_relu:0.1", "sin"}};
    for (int set = 0; set < 2; set++) {
        dw_act *acts[4];
        for (int a = 0; a < 4; a++) CHECK(dw_act_init(&acts[a], sets[set][a]) == DW_OK);
        dw_net *vec, *seq, *img;
        CHECK(dw_net_init(&vec) == DW_OK && dw_net_init(&seq) == DW_OK && dw_net_init(&img) == DW_OK);
        const size_t shape[2] = {1, d};
        CHECK(dw_net_set_input_shape(seq, 2, shape) == DW_OK);
        build_rows_net(vec, false, acts);
        build_rows_net(seq, true, acts);
        /* the set with a generic activation (tanh: the certified series, its Hermite coefficients per position pair
         * of every entry in both runs, 30 s here and 200 s under the sanitizers on 7 x 6 images) on 3 rows, and on
         * 4 x 3 images (the same ops: ragged VALID stride, circular wrap in both axes) one row: one full block and a
         * ragged one per row all the same */
        const size_t rows = set ? 3 : n, H = set ? 4 : 7, W = set ? 3 : 6;
        build_image_net(img, acts, H, W);
        rows_vs_pairs(vec, X, rows, Y, m, d, 0.0);
        rows_vs_pairs(seq, X, rows, Y, m, d, 0.0);
        rows_vs_pairs(img, XI, set ? 1 : 20, YI, m, H * W * 2, 0.0);
        dw_net *flat; /* flatten; the vector net */
        const size_t ishape[3] = {H, W, 2};
        CHECK(dw_net_init(&flat) == DW_OK && dw_net_set_input_shape(flat, 3, ishape) == DW_OK);
        CHECK(dw_net_add_flatten(flat) == DW_OK);
        build_rows_net(flat, false, acts);
        rows_vs_pairs(flat, XI, rows, YI, m, H * W * 2, 0.0);
        dw_net_clear(flat);
        dw_net_clear(vec);
        dw_net_clear(seq);
        dw_net_clear(img);
        for (int a = 0; a < 4; a++) dw_act_clear(acts[a]);
    }
}

int main(void)
{
    test_fc_both_engines();
    test_relu_angles();
    test_conv1x1();
    test_conv1d_brute();
    test_residual_activation();
    test_refusals();
    test_threads();
    test_bias_none();
    test_rows_vs_pairs();
    return check_done("arch");
}
