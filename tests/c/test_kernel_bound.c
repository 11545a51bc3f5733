/* Per-entry kernel bounds (dw_kernel_gram_bound): the Gram is bit for bit dw_kernel_gram's; the bounds hold
 * against the linear kernel and one relu layer written here from the textbook formulas in long double
 * (independent of the library's sweeps and of its reference), and are tight (a few eps of the scale); the generic
 * route's bounds are within its scalar max_bound; errors; dw_predict_mean_bound_entries against the scalar form. */
#include "check.h"
#include "deepwick.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 7
#define D 3

static double X[N * D];

static void inputs(void)
{
    unsigned long long s = 12345;
    for (int i = 0; i < N * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = 2.0 * (double)(s >> 11) / 9007199254740992.0 - 1.0;
    }
    for (int k = 0; k < D; k++) X[1 * D + k] = X[0 * D + k] * (1.0 + 1e-9); /* a near-duplicate pair */
    for (int k = 0; k < D; k++) X[2 * D + k] = -X[3 * D + k];               /* an antiparallel pair */
}

static dw_net *net_of(const char *spec, int depth, double w, double b, dw_act **act)
{
    dw_net *net = NULL;
    CHECK(dw_act_init(act, spec) == DW_OK);
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, depth, *act, true) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 1, &w) == DW_OK);
    CHECK(dw_net_set_bias_var(net, 1, &b) == DW_OK);
    return net;
}

/* K^1 = (w/d) x.y + b in long double (its own error below 1e-18 of the scale) */
static long double lin(const double *x, const double *y, double w, double b)
{
    long double g = 0;
    for (int k = 0; k < D; k++) g += (long double)x[k] * (long double)y[k];
    return (long double)w / D * g + (long double)b;
}

static void test_relu_reference(void)
{
    const double w = 1.7, b = 0.2, eps = DBL_EPSILON;
    for (int depth = 0; depth <= 1; depth++) {
        dw_act *act;
        dw_net *net = net_of("relu", depth, w, b, &act);
        double K[N * N], K0[N * N], B[N * N], T[N * N], BT[N * N];
        CHECK(dw_kernel_gram_bound_available(net));
        CHECK(dw_kernel_gram_bound(net, NULL, X, N, NULL, N, D, K, T, B, BT, NULL) == DW_OK);
        CHECK(dw_kernel_gram(net, NULL, X, N, NULL, N, D, K0, NULL, NULL) == DW_OK);
        CHECK(memcmp(K, K0, sizeof K) == 0);
        int held = 1, tight = 1;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                const double *x = X + i * D, *y = X + j * D;
                long double a = lin(x, x, w, b), c = lin(x, y, w, b), e = lin(y, y, w, b), ref = c;
                if (depth == 1) { /* w/(2 pi) sqrt(ab) (sin th + (pi - th) cos th) + b, th the angle */
                    const long double r = fminl(fmaxl(c / sqrtl(a * e), -1.0L), 1.0L);
                    const long double th = i == j ? 0.0L : acosl(r), pi = 3.141592653589793238462643383279502884L;
                    ref = w / (2 * pi) * sqrtl(a * e) * (sinl(th) + (pi - th) * cosl(th)) + b;
                }
                const double err = (double)fabsl((long double)K[i * N + j] - ref), sc = sqrt(K[i * N + i] * K[j * N + j]);
                /* the reference's own error: ~1e-18 of the scale (acosl near |r| = 1: 1e-9 for the near-duplicate) */
                const double slack = (i < 2 && j < 2 && i != j) ? 1e-9 * sc : 1e-17 * sc;
                held &= err <= B[i * N + j] + slack;
                tight &= B[i * N + j] <= 4 * eps * sc && B[i * N + j] >= 0;
            }
        CHECK(held);
        CHECK(tight);
        int tight_t = 1; /* the NTK's too, near-duplicate and antiparallel pairs included (the wedge product) */
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                tight_t &= BT[i * N + j] >= 0 && BT[i * N + j] <= 4 * eps * sqrt(T[i * N + i] * T[j * N + j]);
        CHECK(tight_t);
        dw_net_clear(net);
        dw_act_clear(act);
    }
}

static void test_generic(void)
{
    dw_act *act;
    dw_net *net = net_of("tanh", 2, 1.5, 0.1, &act);
    double K[N * 4], B[N * 4], T[N * 4], BT[N * 4];
    dw_kernel_info *info = NULL;
    CHECK(dw_kernel_info_init(&info) == DW_OK);
    CHECK(dw_kernel_gram_bound(net, NULL, X, N, X, 4, D, K, T, B, BT, info) == DW_OK);
    const double mb = dw_kernel_info_max_bound(info);
    double dk[N], dt[N], dk4[4], dt4[4];
    for (int i = 0; i < N; i++) {
        double k1, t1;
        CHECK(dw_kernel_gram(net, NULL, X + i * D, 1, NULL, 1, D, &k1, &t1, NULL) == DW_OK);
        dk[i] = k1;
        dt[i] = t1;
        if (i < 4) {
            dk4[i] = k1;
            dt4[i] = t1;
        }
    }
    int within = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 4; j++) {
            within &= B[i * 4 + j] > 0 && B[i * 4 + j] <= mb * sqrt(dk[i] * dk4[j]) * (1 + 1e-5);
            within &= BT[i * 4 + j] > 0 && BT[i * 4 + j] <= mb * sqrt(dt[i] * dt4[j]) * (1 + 1e-5);
        }
    CHECK(within);
    dw_kernel_info_clear(info);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_errors(void)
{
    dw_act *act;
    double K[N * N], B[N * N];
    dw_net *net;
    for (int k = 0; k < 3; k++) { /* every closed form has bounds where long double has 64 bits */
        net = net_of(k == 0 ? "gelu" : k == 1 ? "step" : "poly:0.5,1,0.25", 2, 1.0, 0.0, &act);
        CHECK(dw_kernel_gram_bound_available(net) == (LDBL_MANT_DIG >= 64));
        dw_net_clear(net);
        dw_act_clear(act);
    }
    net = net_of("relu", 2, 1.0, 0.0, &act);
    CHECK(dw_kernel_gram_bound(net, NULL, X, N, NULL, N, D, NULL, K, B, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "BK") != NULL);
    dw_kernel_opts *o = NULL;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_all_layers(o, true) == DW_OK);
    CHECK(dw_kernel_gram_bound(net, o, X, N, NULL, N, D, K, NULL, B, NULL, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "all_layers") != NULL);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

/* The entrywise form equals the scalar one given the same bounds (rel s_i s_j rounded up as bound.c does) and zero
 * bounds equal no bounds; a negative entry is refused. */
static void test_predict_entries(void)
{
    dw_act *act;
    dw_net *net = net_of("relu", 2, 1.5, 0.1, &act);
    double K[N * N], Kt[2 * N], BKt[2 * N], Y[N], mean[2], bound[2], mean2[2], bound2[2];
    for (int i = 0; i < N; i++) Y[i] = sin(1.0 + i);
    CHECK(dw_kernel_gram(net, NULL, X, N, NULL, N, D, K, NULL, NULL) == DW_OK);
    CHECK(dw_kernel_gram_bound(net, NULL, X, 2, X, N, D, Kt, NULL, BKt, NULL, NULL) == DW_OK);
    dw_predict_opts *o = NULL;
    dw_predict *p = NULL;
    CHECK(dw_predict_opts_init(&o) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, 1e-3) == DW_OK);
    CHECK(dw_predict_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, 1) == DW_OK);
    CHECK(dw_predict_mean_bound(p, Kt, 2, 0.0, NULL, NULL, mean, bound) == DW_OK);
    double Z[N * N] = {0}, Zt[2 * N] = {0};
    CHECK(dw_predict_mean_bound_entries(p, Kt, 2, Z, Zt, mean2, bound2) == DW_OK);
    CHECK(memcmp(mean, mean2, sizeof mean) == 0 && memcmp(bound, bound2, sizeof bound) == 0);
    const double rel = 1e-13;
    double s[N], st[2], E[N * N], Et[2 * N];
    for (int i = 0; i < N; i++) s[i] = sqrt(K[i * N + i]);
    for (int i = 0; i < 2; i++) st[i] = s[i];
    const double up = 1.0 + 4.0 * (DBL_EPSILON / 2) / (1.0 - 4.0 * (DBL_EPSILON / 2));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) E[i * N + j] = rel * s[i] * s[j] * up;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < N; j++) Et[i * N + j] = rel * st[i] * s[j] * up;
    CHECK(dw_predict_mean_bound(p, Kt, 2, rel, s, st, mean, bound) == DW_OK);
    CHECK(dw_predict_mean_bound_entries(p, Kt, 2, E, Et, mean2, bound2) == DW_OK);
    CHECK(memcmp(bound, bound2, sizeof bound) == 0);
    CHECK(bound2[0] > 0 && bound2[1] > 0);
    /* the kernels' own per-entry bounds: a smaller bound than the scalar one above */
    CHECK(dw_predict_mean_bound_entries(p, Kt, 2, NULL, BKt, mean2, bound2) == DW_OK);
    CHECK(bound2[0] < bound[0] && bound2[1] < bound[1]);
    E[3] = -1e-16;
    CHECK(dw_predict_mean_bound_entries(p, Kt, 2, E, Et, mean2, bound2) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "bound_train") != NULL);
    dw_predict_clear(p);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    inputs();
    test_relu_reference();
    test_generic();
    test_errors();
    test_predict_entries();
    return check_done("kernel_bound");
}
