/* predict: the certified bound (dw_predict_mean_bound, dw_predict_regress_bound) on problems whose exact answer is
 * known in closed form: an integer kernel K = J + 3 I (J the all-ones matrix) with lambda = 1, so A = J + 4 I has
 * lambda_min = 4 exactly, integer alpha and y = A alpha, integer test kernel, so the exact mean K* alpha is an
 * integer; the same with a perturbed kernel handed over with its entrywise bound; the route's refusals and bad
 * input. (tests/python/test_predict_bound.py checks against 50-digit mpmath solves of network kernels.) */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 24
#define M 5
#define KC 2

static double K[N * N], KT[M * N], Y[N * KC], ALPHA[N * KC], EXACT[M * KC];

static void setup(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) K[i * N + j] = 1.0 + (i == j ? 3.0 : 0.0);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < KC; c++) ALPHA[i * KC + c] = (double)((i * 7 + c * 3) % 11) - 5.0;
    /* y = (K + I) alpha, exact in double (small integers) */
    for (int i = 0; i < N; i++)
        for (int c = 0; c < KC; c++) {
            double s = ALPHA[i * KC + c];
            for (int j = 0; j < N; j++) s += K[i * N + j] * ALPHA[j * KC + c];
            Y[i * KC + c] = s;
        }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) KT[i * N + j] = (double)((i + 2 * j) % 5) - 1.0;
    for (int i = 0; i < M; i++)
        for (int c = 0; c < KC; c++) {
            double s = 0;
            for (int j = 0; j < N; j++) s += KT[i * N + j] * ALPHA[j * KC + c];
            EXACT[i * KC + c] = s;
        }
}

static dw_predict_opts *absolute_opts(double lambda)
{
    dw_predict_opts *o = NULL;
    CHECK(dw_predict_opts_init(&o) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, lambda) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg_absolute_scale(o, true) == DW_OK);
    return o;
}

/* exact kernels: the bound covers the solve's error, is small, and lambda_lower is a lower bound close to 4 */
static void test_exact_kernel(void)
{
    dw_predict_opts *o = absolute_opts(1.0);
    dw_predict *p = NULL;
    dw_predict_info *info = NULL;
    double mean[M * KC], bound[M * KC];
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, KC) == DW_OK);
    CHECK(dw_predict_mean_bound(p, KT, M, 0.0, NULL, NULL, mean, bound) == DW_OK);
    for (int i = 0; i < M * KC; i++) {
        const double err = fabs(mean[i] - EXACT[i]);
        CHECK(err <= bound[i]);
        CHECK(bound[i] < 1e-12 * 200.0); /* the mean entries are O(100): a few hundred ulps at most */
    }
    CHECK(dw_predict_info_init(&info) == DW_OK);
    CHECK(dw_predict_get_info(p, info) == DW_OK);
    const double low = dw_predict_info_lambda_lower(info);
    CHECK(low <= 4.0 && low >= 0.8 * 4.0);
    CHECK(dw_predict_info_kernel_bound(info) == 0.0);
    dw_predict_info_clear(info);
    dw_predict_clear(p);
    dw_predict_opts_clear(o);
}

/* a perturbed kernel with its entrywise bound: the exact answer of the unperturbed problem is covered */
static void test_perturbed_kernel(void)
{
    const double kb = 1e-7;
    static double Kp[N * N], KTp[M * N];
    double s_train[N], s_test[M], mean[M * KC], bound[M * KC];
    for (int i = 0; i < N; i++) s_train[i] = sqrt(K[i * N + i]);
    for (int i = 0; i < M; i++) {
        double mx = 0; /* any scale with |K*_ij| <= kb-relative room: take the largest entry of the row */
        for (int j = 0; j < N; j++) mx = fmax(mx, fabs(KT[i * N + j]));
        s_test[i] = mx + 1.0;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) /* symmetric, |dK_ij| <= 0.9 kb s_i s_j, no sign pattern */
            Kp[i * N + j] = Kp[j * N + i] = K[i * N + j] + 0.9 * kb * s_train[i] * s_train[j] * sin(1.0 + i * 3 + j);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) KTp[i * N + j] = KT[i * N + j] + 0.9 * kb * s_test[i] * s_train[j] * cos(2.0 + i + j);
    dw_predict_opts *o = absolute_opts(1.0);
    dw_predict *p = NULL;
    CHECK(dw_predict_init(&p, o, Kp, NULL, N, Y, KC) == DW_OK);
    CHECK(dw_predict_mean_bound(p, KTp, M, kb, s_train, s_test, mean, bound) == DW_OK);
    double worst = 0, bmax = 0;
    for (int i = 0; i < M * KC; i++) {
        const double err = fabs(mean[i] - EXACT[i]);
        CHECK(err <= bound[i]);
        worst = fmax(worst, err);
        bmax = fmax(bmax, bound[i]);
    }
    CHECK(worst > 1e-9); /* the perturbation is visible, far above rounding */
    CHECK(bmax < 1e4 * worst);
    /* the exact kernels' bound would not cover it: the kernel term is what does */
    CHECK(dw_predict_mean_bound(p, KTp, M, 0.0, NULL, NULL, mean, bound) == DW_OK);
    int missed = 0;
    for (int i = 0; i < M * KC; i++) missed += fabs(mean[i] - EXACT[i]) > bound[i];
    CHECK(missed > 0);
    dw_predict_clear(p);
    dw_predict_opts_clear(o);
}

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

static void test_bad_input(void)
{
    dw_predict_opts *o = absolute_opts(1.0);
    dw_predict *p = NULL;
    double mean[M * KC], bound[M * KC], s[N];
    for (int i = 0; i < N; i++) s[i] = 2.0;
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, KC) == DW_OK);
    CHECK(dw_predict_mean_bound(p, KT, M, -1.0, NULL, NULL, mean, bound) == DW_ERR_INVALID && has("kernel_bound"));
    CHECK(dw_predict_mean_bound(p, KT, M, 1e-9, s, NULL, mean, bound) == DW_ERR_INVALID && has("scale_test"));
    CHECK(dw_predict_mean_bound(p, KT, 0, 0.0, NULL, NULL, mean, bound) == DW_ERR_INVALID && has("m = 0"));
    CHECK(dw_predict_mean_bound(p, KT, M, 0.0, NULL, NULL, mean, NULL) == DW_ERR_INVALID && has("bound"));
    CHECK(dw_predict_mean_bound(NULL, KT, M, 0.0, NULL, NULL, mean, bound) == DW_ERR_INVALID);
    dw_predict_clear(p);
    dw_predict_opts_clear(o);
}

/* kernel regression: a finite t has no certificate (every entry +INFINITY); at t = INFINITY the bound is finite and
 * the mean equals dw_predict_regress' to rounding */
static void test_regress(void)
{
    double X[10 * 3], T[3 * 3], Yr[10], mean[3], mean2[3], bound[3];
    for (int i = 0; i < 30; i++) X[i] = sin(1.0 + 0.7 * i);
    for (int i = 0; i < 9; i++) T[i] = cos(0.3 + 1.3 * i);
    for (int i = 0; i < 10; i++) Yr[i] = sin(2.0 * i);
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_predict_opts *o = NULL;
    dw_predict_info *info = NULL;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 2, act, true) == DW_OK);
    CHECK(dw_predict_opts_init(&o) == DW_OK && dw_predict_opts_set_diag_reg(o, 1e-2) == DW_OK);
    CHECK(dw_predict_info_init(&info) == DW_OK);
    CHECK(dw_predict_regress_bound(net, o, X, 10, Yr, 1, T, 3, 3, mean, NULL, bound, info) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, 10, Yr, 1, T, 3, 3, mean2, NULL, NULL) == DW_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(isfinite(bound[i]) && bound[i] > 0 && bound[i] < 1e-8);
        CHECK(fabs(mean[i] - mean2[i]) <= bound[i]);
    }
    CHECK(dw_predict_info_kernel_bound(info) > 0); /* closed form: its rounding */
    CHECK(dw_predict_info_lambda_lower(info) >= dw_predict_info_jitter(info));
    CHECK(!dw_predict_info_bound_estimate(info));
    CHECK(dw_predict_opts_set_t(o, 2.0) == DW_OK);
    CHECK(dw_predict_regress_bound(net, o, X, 10, Yr, 1, T, 3, 3, mean, NULL, bound, info) == DW_OK);
    for (int i = 0; i < 3; i++) CHECK(isinf(bound[i]));
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    setup();
    test_exact_kernel();
    test_perturbed_kernel();
    test_bad_input();
    test_regress();
    return check_done("predict_bound");
}
