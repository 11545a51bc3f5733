/* predict: the formulas against a kernel with a known eigendecomposition (a Householder reflection Q and chosen
 * eigenvalues, so f(K) = Q f(ev) Q^T in closed form, independent of LAPACK); Cholesky vs eigendecomposition routes
 * (t = INFINITY against a large finite t); the t -> 0 limits; gradient descent from given outputs; kernel regression
 * against the Gram + dw_predict route; the indefinite-kernel diagnosis (the diag_reg it names works); every setter's
 * error path and the bad inputs of issue 23 part 6. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

#define N 6
#define M 3
#define KC 2

/* Q = I - 2 u u^T / |u|^2 (symmetric, orthogonal); K = Q diag(ev) Q^T; kt = M x N test-train, ktt = M x M. */
static double Q[N * N], EV[N] = {0.05, 0.3, 0.7, 1.1, 2.0, 3.5};
static double K[N * N], G[N * N], KT[M * N], GT[M * N], KTT[M * M], Y[N * KC];

static void setup(void)
{
    const double u[N] = {1.0, -0.5, 0.25, 2.0, -1.0, 0.75};
    double uu = 0;
    for (int i = 0; i < N; i++) uu += u[i] * u[i];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) Q[i * N + j] = (i == j) - 2.0 * u[i] * u[j] / uu;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, g = 0;
            for (int l = 0; l < N; l++) {
                s += Q[i * N + l] * EV[l] * Q[j * N + l];
                g += Q[i * N + l] * (0.5 + 0.1 * l) * Q[j * N + l]; /* a second PSD kernel: the "NNGP" */
            }
            K[i * N + j] = s;
            G[i * N + j] = g;
        }
    for (int i = 0; i < N; i++) /* exact symmetry */
        for (int j = 0; j < i; j++) K[j * N + i] = K[i * N + j], G[j * N + i] = G[i * N + j];
    for (int a = 0; a < M; a++)
        for (int j = 0; j < N; j++) {
            KT[a * N + j] = sin(1.0 + a + 2.0 * j);
            GT[a * N + j] = cos(0.5 * a - j);
        }
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) KTT[a * M + b] = (a == b ? 4.0 : 0.0) + 0.3 * cos((double)(a - b));
    for (int i = 0; i < N * KC; i++) Y[i] = cos(0.7 * i) - 0.2;
}

/* out (N x c) = Q diag(g(ev)) Q^T B */
static void apply_exact(double (*g)(double, double), double tau, const double *B, int c, double *out)
{
    double tmp[N * N];
    for (int l = 0; l < N; l++)
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int i = 0; i < N; i++) s += Q[i * N + l] * B[i * c + j];
            tmp[l * c + j] = g(EV[l], tau) * s;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int l = 0; l < N; l++) s += Q[i * N + l] * tmp[l * c + j];
            out[i * c + j] = s;
        }
}
static double g_inv(double e, double tau) { return tau > 0 ? -expm1(-e * tau) / e : 1.0 / e; }
static double g_neg_expm1(double e, double tau) { return -expm1(-e * tau); }
static double g_exp(double e, double tau) { return exp(-e * tau); }
static double g_ev_exp2(double e, double tau) { return e * exp(-2.0 * e * tau); }

static void matmul(const double *A, const double *B, int r, int k, int c, double *C)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int l = 0; l < k; l++) s += A[i * k + l] * B[l * c + j];
            C[i * c + j] = s;
        }
}

/* the reference mean / covariance: tau 0 means t = INFINITY (g = 1/ev) */
static void reference(double tau, bool ntk, double *mean, double *cov)
{
    double W[N * KC], KTt[N * M], Z[N * M], S[N * M], T2[M * M], C1[M * M];
    apply_exact(g_inv, tau, Y, KC, W);
    matmul(KT, W, M, N, KC, mean);
    for (int a = 0; a < M; a++)
        for (int j = 0; j < N; j++) KTt[j * M + a] = KT[a * N + j];
    if (!ntk) {
        apply_exact(g_inv, 2.0 * tau, KTt, M, Z);
        matmul(KT, Z, M, N, M, C1);
        for (int i = 0; i < M * M; i++) cov[i] = KTT[i] - C1[i];
        return;
    }
    double GTt[N * M], T1t[M * N];
    for (int a = 0; a < M; a++)
        for (int j = 0; j < N; j++) GTt[j * M + a] = GT[a * N + j];
    apply_exact(g_inv, tau, KTt, M, Z);  /* T1 */
    apply_exact(g_inv, tau, GTt, M, S);  /* g(A) nngp_td^T */
    matmul(KT, S, M, N, M, T2);
    matmul(G, Z, N, N, M, S);
    for (int a = 0; a < M; a++)
        for (int j = 0; j < N; j++) T1t[a * N + j] = Z[j * M + a];
    matmul(T1t, S, M, N, M, C1);
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) cov[a * M + b] = KTT[a * M + b] + C1[a * M + b] - T2[a * M + b] - T2[b * M + a];
}

static double maxdiff(const double *a, const double *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* maxdiff relative to the largest reference entry (at least 1) */
static double reldiff(const double *a, const double *b, int n)
{
    double s = 1.0;
    for (int i = 0; i < n; i++) s = fmax(s, fabs(b[i]));
    return maxdiff(a, b, n) / s;
}

static void test_formulas(void)
{
    dw_predict_opts *o;
    CHECK(dw_predict_opts_init(&o) == DW_OK);
    CHECK(dw_predict_opts_set_learning_rate(o, 2.0) == DW_OK);
    for (int ntk = 0; ntk < 2; ntk++) {
        dw_predict *p;
        CHECK(dw_predict_init(&p, o, K, ntk ? G : NULL, N, Y, KC) == DW_OK);
        const double ts[3] = {INFINITY, 0.7, 25.0};
        for (int it = 0; it < 3; it++) {
            const double tau = isinf(ts[it]) ? 0.0 : 2.0 * ts[it] / (N * KC);
            double mean[M * KC], cov[M * M], rm[M * KC], rc[M * M];
            CHECK(dw_predict_mean_cov(p, ts[it], KT, ntk ? GT : NULL, KTT, M, mean, cov) == DW_OK);
            reference(tau, ntk, rm, rc);
            CHECK(maxdiff(mean, rm, M * KC) < 1e-13);
            CHECK(reldiff(cov, rc, M * M) < 1e-13);
        }
        /* train set at finite t: mean Q (-e) Q^T Y; cov Q ev exp(-2 ev tau) Q^T (NNGP form) or E G E */
        const double t = 3.0, tau = 2.0 * t / (N * KC);
        double mean[N * KC], cov[N * N], rm[N * KC], rc[N * N], I[N * N] = {0}, E[N * N], S[N * N];
        for (int i = 0; i < N; i++) I[i * N + i] = 1.0;
        CHECK(dw_predict_mean_cov(p, t, NULL, NULL, NULL, N, mean, cov) == DW_OK);
        apply_exact(g_neg_expm1, tau, Y, KC, rm);
        if (!ntk) apply_exact(g_ev_exp2, tau, I, N, rc);
        else {
            apply_exact(g_exp, tau, I, N, E);
            matmul(G, E, N, N, N, S);
            matmul(E, S, N, N, N, rc);
        }
        CHECK(maxdiff(mean, rm, N * KC) < 1e-13);
        CHECK(maxdiff(cov, rc, N * N) < 1e-13);
        /* t = INFINITY on the train set: Y and 0 */
        CHECK(dw_predict_mean_cov(p, INFINITY, NULL, NULL, NULL, N, mean, cov) == DW_OK);
        CHECK(maxdiff(mean, Y, N * KC) == 0 && cov[0] == 0 && cov[N * N - 1] == 0);
        /* the limits: t -> 0 gives mean 0 and the prior covariance; a large t the Cholesky route's t = INFINITY */
        double m0[M * KC], c0[M * M], mi[M * KC], ci[M * M];
        CHECK(dw_predict_mean_cov(p, 0.0, KT, GT, KTT, M, m0, c0) == DW_OK);
        for (int i = 0; i < M * KC; i++) CHECK(m0[i] == 0.0);
        CHECK(maxdiff(c0, KTT, M * M) < 1e-14);
        CHECK(dw_predict_mean_cov(p, 1e6, KT, GT, KTT, M, m0, c0) == DW_OK);
        CHECK(dw_predict_mean_cov(p, INFINITY, KT, GT, KTT, M, mi, ci) == DW_OK);
        CHECK(maxdiff(m0, mi, M * KC) < 1e-12);
        CHECK(maxdiff(c0, ci, M * M) < 1e-12);
        dw_predict_info *info;
        CHECK(dw_predict_info_init(&info) == DW_OK);
        CHECK(dw_predict_get_info(p, info) == DW_OK);
        CHECK(strcmp(dw_predict_info_solver(info), "cholesky+eigh") == 0);
        CHECK(dw_predict_info_lambda_min_exact(info));
        CHECK_CLOSE(dw_predict_info_lambda_min(info), EV[0], 1e-12, 0);
        CHECK(dw_predict_info_jitter(info) == 0.0);
        /* dpocon estimates 1/(||A||_1 ||A^{-1}||_1) within a factor n of the 2-norm condition's reciprocal */
        const double r = dw_predict_info_rcond(info), r2 = EV[0] / EV[N - 1];
        CHECK(r > r2 / N && r < r2 * N);
        dw_predict_info_clear(info);
        dw_predict_clear(p);
    }
    dw_predict_opts_clear(o);
}

static void test_regulariser_and_estimate(void)
{
    dw_predict_opts *o;
    dw_predict *p;
    dw_predict_info *info;
    CHECK(dw_predict_opts_init(&o) == DW_OK && dw_predict_info_init(&info) == DW_OK);
    double tr = 0;
    for (int i = 0; i < N; i++) tr += EV[i];
    CHECK(dw_predict_opts_set_diag_reg(o, 0.01) == DW_OK);
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, KC) == DW_OK);
    double mean[M * KC];
    CHECK(dw_predict_mean_cov(p, INFINITY, KT, NULL, NULL, M, mean, NULL) == DW_OK);
    CHECK(dw_predict_get_info(p, info) == DW_OK);
    CHECK_CLOSE(dw_predict_info_jitter(info), 0.01 * tr / N, 1e-14, 0);
    /* the Cholesky route's estimate: an upper bound close to the exact lambda_min */
    const double lm = EV[0] + 0.01 * tr / N, est = dw_predict_info_lambda_min(info);
    CHECK(!dw_predict_info_lambda_min_exact(info));
    CHECK(est >= lm * (1 - 1e-12) && est < lm * 1.01);
    CHECK(strcmp(dw_predict_info_solver(info), "cholesky") == 0);
    dw_predict_clear(p);
    CHECK(dw_predict_opts_set_diag_reg_absolute_scale(o, true) == DW_OK);
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, KC) == DW_OK);
    CHECK(dw_predict_mean_cov(p, INFINITY, KT, NULL, NULL, M, mean, NULL) == DW_OK);
    CHECK(dw_predict_get_info(p, info) == DW_OK);
    CHECK(dw_predict_info_jitter(info) == 0.01);
    dw_predict_clear(p);
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
}

static void test_gd_mse(void)
{
    dw_predict *p;
    CHECK(dw_predict_init(&p, NULL, K, NULL, N, Y, KC) == DW_OK);
    double f0[N * KC], g0[M * KC], ft[N * KC], gt[M * KC], R[N * KC], W[N * KC], ref[M * KC];
    for (int i = 0; i < N * KC; i++) f0[i] = 0.1 * sin(3.0 * i);
    for (int i = 0; i < M * KC; i++) g0[i] = 0.2 * cos(2.0 * i);
    for (int i = 0; i < N * KC; i++) R[i] = f0[i] - Y[i];
    const double t = 4.0, tau = t / (N * KC);
    CHECK(dw_predict_gd_mse(p, t, f0, KT, g0, M, ft, gt) == DW_OK);
    apply_exact(g_neg_expm1, tau, R, KC, W);
    for (int i = 0; i < N * KC; i++) CHECK(fabs(ft[i] - (f0[i] - W[i])) < 1e-13);
    apply_exact(g_inv, tau, R, KC, W);
    matmul(KT, W, M, N, KC, ref);
    for (int i = 0; i < M * KC; i++) CHECK(fabs(gt[i] - (g0[i] - ref[i])) < 1e-13);
    /* t = 0: the initial outputs; t = INFINITY: Y on the train set, f0 + K_td K^{-1} (Y - f0) on the test set */
    CHECK(dw_predict_gd_mse(p, 0.0, f0, KT, g0, M, ft, gt) == DW_OK);
    CHECK(maxdiff(ft, f0, N * KC) == 0 && maxdiff(gt, g0, M * KC) == 0);
    CHECK(dw_predict_gd_mse(p, INFINITY, f0, KT, g0, M, ft, gt) == DW_OK);
    CHECK(maxdiff(ft, Y, N * KC) == 0);
    apply_exact(g_inv, 0.0, R, KC, W);
    matmul(KT, W, M, N, KC, ref);
    for (int i = 0; i < M * KC; i++) CHECK(fabs(gt[i] - (g0[i] - ref[i])) < 1e-12);
    /* test outputs only (fx_train_0 None: the right-hand side is -Y) */
    CHECK(dw_predict_gd_mse(p, INFINITY, NULL, KT, g0, M, NULL, gt) == DW_OK);
    double m2[M * KC];
    CHECK(dw_predict_mean_cov(p, INFINITY, KT, NULL, NULL, M, m2, NULL) == DW_OK);
    for (int i = 0; i < M * KC; i++) CHECK(fabs(gt[i] - (g0[i] + m2[i])) < 1e-13);
    /* pairing errors */
    CHECK(dw_predict_gd_mse(p, 1.0, f0, NULL, g0, M, ft, gt) == DW_ERR_INVALID && has("k_test_train"));
    CHECK(dw_predict_gd_mse(p, 1.0, f0, NULL, NULL, 0, NULL, NULL) == DW_ERR_INVALID && has("fx_train_0"));
    CHECK(dw_predict_gd_mse(p, 1.0, NULL, NULL, NULL, 0, NULL, NULL) == DW_ERR_INVALID && has("no output"));
    CHECK(dw_predict_gd_mse(p, -1.0, f0, NULL, NULL, 0, ft, NULL) == DW_ERR_INVALID && has("t: expected"));
    dw_predict_clear(p);
}

/* The indefinite kernel: one error naming lambda_min and a diag_reg; that diag_reg makes it definite. */
static void test_indefinite(void)
{
    double B[N * N];
    memcpy(B, K, sizeof B);
    for (int i = 0; i < N; i++) B[i * N + i] -= 0.25; /* lambda_min = 0.05 - 0.25 = -0.2 */
    for (int absolute = 0; absolute < 2; absolute++)
        for (int route = 0; route < 2; route++) {
            dw_predict_opts *o;
            dw_predict *p;
            CHECK(dw_predict_opts_init(&o) == DW_OK);
            CHECK(dw_predict_opts_set_diag_reg_absolute_scale(o, absolute) == DW_OK);
            CHECK(dw_predict_init(&p, o, B, NULL, N, Y, KC) == DW_OK);
            double mean[M * KC];
            for (int i = 0; i < M * KC; i++) mean[i] = 12345.0;
            dw_status s = dw_predict_mean_cov(p, route ? 2.0 : INFINITY, KT, NULL, NULL, M, mean, NULL);
            CHECK(s == DW_ERR_INVALID);
            CHECK(has("not positive definite") && has("lambda_min = -0.2") && has("diag_reg >= "));
            CHECK(mean[0] == 12345.0); /* nothing written */
            const char *at = strstr(dw_error_message(), "diag_reg >= ");
            double need = at ? strtod(at + 12, NULL) : 0;
            dw_predict_clear(p);
            /* the named diag_reg works, and a tenth of its excess over the exact threshold does not */
            CHECK(dw_predict_opts_set_diag_reg(o, need) == DW_OK);
            CHECK(dw_predict_init(&p, o, B, NULL, N, Y, KC) == DW_OK);
            CHECK(dw_predict_mean_cov(p, route ? 2.0 : INFINITY, KT, NULL, NULL, M, mean, NULL) == DW_OK);
            dw_predict_clear(p);
            const double exact = absolute ? 0.2 : 0.2 / ((0.05 + 0.3 + 0.7 + 1.1 + 2.0 + 3.5 - 6 * 0.25) / N);
            CHECK(need > exact && need < exact * (1 + 1e-5));
            CHECK(dw_predict_opts_set_diag_reg(o, exact * 0.9) == DW_OK);
            CHECK(dw_predict_init(&p, o, B, NULL, N, Y, KC) == DW_OK);
            CHECK(dw_predict_mean_cov(p, route ? 2.0 : INFINITY, KT, NULL, NULL, M, mean, NULL) == DW_ERR_INVALID);
            dw_predict_clear(p);
            dw_predict_opts_clear(o);
        }
}

static void test_bad_input(void)
{
    dw_predict_opts *o;
    CHECK(dw_predict_opts_init(&o) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, -1e-3) == DW_ERR_INVALID && has("diag_reg: expected a finite value >= 0"));
    CHECK(dw_predict_opts_set_diag_reg(o, NAN) == DW_ERR_INVALID && has("diag_reg"));
    CHECK(dw_predict_opts_set_learning_rate(o, 0) == DW_ERR_INVALID && has("learning_rate"));
    CHECK(dw_predict_opts_set_t(o, -1) == DW_ERR_INVALID && has("t: expected a time t >= 0"));
    CHECK(dw_predict_opts_set_t(o, NAN) == DW_ERR_INVALID && has("t: expected"));
    CHECK(dw_predict_opts_set_t(o, INFINITY) == DW_OK);
    CHECK(dw_predict_opts_set_kind(o, "both") == DW_ERR_INVALID && has("kind: expected 'nngp' or 'ntk'"));
    CHECK(dw_predict_opts_set_kind(o, NULL) == DW_ERR_INVALID && has("kind"));
    CHECK(dw_predict_opts_set_solver(o, "lu") == DW_ERR_INVALID && has("solver: expected 'auto', 'cholesky' or 'cg'"));
    CHECK(dw_predict_opts_set_tol(o, 0) == DW_ERR_INVALID && has("tol"));
    CHECK(dw_predict_opts_set_tol(o, 1) == DW_ERR_INVALID && has("tol"));
    CHECK(dw_predict_opts_set_max_iter(o, 0) == DW_ERR_INVALID && has("max_iter"));
    CHECK(dw_predict_opts_set_rank(o, (size_t)1 << 50) == DW_ERR_INVALID && has("rank"));
    CHECK(dw_predict_opts_set_threads(o, -1) == DW_ERR_INVALID && has("threads"));
    CHECK(dw_predict_opts_set_progress(o, NULL, NULL) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(NULL, 0) == DW_ERR_INVALID && has("NULL options"));
    CHECK(dw_predict_opts_init(NULL) == DW_ERR_INVALID);
    dw_predict *p = (dw_predict *)1;
    double B[N * N];
    memcpy(B, K, sizeof B);
    B[2 * N + 3] = NAN;
    CHECK(dw_predict_init(&p, o, B, NULL, N, Y, KC) == DW_ERR_INVALID && has("k_train_train: entry (2, 3) is nan"));
    CHECK(p == NULL);
    memcpy(B, K, sizeof B);
    B[1] += 1e-3; /* not symmetric */
    CHECK(dw_predict_init(&p, o, B, NULL, N, Y, KC) == DW_ERR_INVALID && has("not symmetric"));
    double y2[N * KC];
    memcpy(y2, Y, sizeof y2);
    y2[5] = NAN;
    CHECK(dw_predict_init(&p, o, K, NULL, N, y2, KC) == DW_ERR_INVALID && has("y_train: entry (2, 1) is nan"));
    CHECK(dw_predict_init(&p, o, K, NULL, 0, Y, KC) == DW_ERR_INVALID && has("n = 0"));
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, 0) == DW_ERR_INVALID && has("k = 0"));
    CHECK(dw_predict_init(&p, o, K, NULL, N, Y, KC) == DW_OK);
    double mean[M * KC], cov[M * M], kt[M * N];
    CHECK(dw_predict_mean_cov(p, -0.5, KT, NULL, KTT, M, mean, cov) == DW_ERR_INVALID && has("t: expected"));
    CHECK(dw_predict_mean_cov(p, 1, KT, NULL, KTT, 0, mean, cov) == DW_ERR_INVALID && has("no test points"));
    CHECK(dw_predict_mean_cov(p, 1, KT, NULL, NULL, M, mean, cov) == DW_ERR_INVALID && has("k_test_test"));
    CHECK(dw_predict_mean_cov(p, 1, NULL, NULL, NULL, M, mean, NULL) == DW_ERR_INVALID && has("m = 3 != n = 6"));
    CHECK(dw_predict_mean_cov(p, 1, KT, NULL, NULL, M, NULL, NULL) == DW_ERR_INVALID && has("neither"));
    memcpy(kt, KT, sizeof kt);
    kt[4] = INFINITY;
    CHECK(dw_predict_mean_cov(p, 1, kt, NULL, NULL, M, mean, NULL) == DW_ERR_INVALID && has("k_test_train: entry"));
    dw_predict_clear(p);
    CHECK(dw_predict_init(&p, o, K, G, N, Y, KC) == DW_OK);
    CHECK(dw_predict_mean_cov(p, 1, KT, NULL, KTT, M, mean, cov) == DW_ERR_INVALID && has("nngp_test_train"));
    dw_predict_clear(p);
    dw_predict_clear(NULL);
    dw_predict_opts_clear(NULL);
    dw_predict_info_clear(NULL);
    dw_predict_opts_clear(o);
    /* labels */
    const double lab[5] = {0, 2, 1, 2, 0}, badlab[2] = {0, 1.5};
    size_t C;
    double oh[5 * 3];
    CHECK(dw_predict_classes(lab, 5, &C) == DW_OK && C == 3);
    CHECK(dw_predict_one_hot(lab, 5, 3, oh) == DW_OK);
    CHECK(oh[0] == 1.0 - 1.0 / 3 && oh[1] == -1.0 / 3 && oh[5] == 1.0 - 1.0 / 3 && oh[3 + 0] == -1.0 / 3);
    CHECK(dw_predict_classes(badlab, 2, &C) == DW_ERR_INVALID && has("entry 1 is 1.5, not a class label"));
    CHECK(dw_predict_one_hot(lab, 5, 2, oh) == DW_ERR_INVALID && has("a label is 2 but there are 2 classes"));
}

/* Kernel regression from inputs equals the Gram + dw_predict route, bit for bit; bad inputs. */
static void test_regress(void)
{
    dw_act *act;
    dw_net *net;
    CHECK(dw_act_init(&act, "relu") == DW_OK && dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
    const double wv = 2.0, bv = 0.1;
    CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
    enum { n = 12, m = 5, d = 3 };
    double X[n * d], T[m * d], y[n * KC];
    for (int i = 0; i < n * d; i++) X[i] = sin(1.3 * i + 0.2);
    for (int i = 0; i < m * d; i++) T[i] = cos(0.9 * i);
    for (int i = 0; i < n * KC; i++) y[i] = sin(0.4 * i);
    double Kdd[n * n], Tdd[n * n], Ktd[m * n], Ttd[m * n], Ktt[m * m];
    CHECK(dw_kernel_gram(net, NULL, X, n, NULL, n, d, Kdd, Tdd, NULL) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, T, m, X, n, d, Ktd, Ttd, NULL) == DW_OK);
    CHECK(dw_kernel_gram(net, NULL, T, m, NULL, m, d, Ktt, NULL, NULL) == DW_OK);
    dw_predict_opts *o;
    dw_predict_info *info;
    CHECK(dw_predict_opts_init(&o) == DW_OK && dw_predict_info_init(&info) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, 1e-4) == DW_OK);
    for (int ntk = 0; ntk < 2; ntk++)
        for (int finite = 0; finite < 2; finite++) {
            CHECK(dw_predict_opts_set_kind(o, ntk ? "ntk" : "nngp") == DW_OK);
            CHECK(dw_predict_opts_set_t(o, finite ? 50.0 : INFINITY) == DW_OK);
            double mean[m * KC], cov[m * m], rm[m * KC], rc[m * m];
            CHECK(dw_predict_regress(net, o, X, n, y, KC, T, m, d, mean, cov, info) == DW_OK);
            dw_predict *p;
            CHECK(dw_predict_init(&p, o, ntk ? Tdd : Kdd, ntk ? Kdd : NULL, n, y, KC) == DW_OK);
            CHECK(dw_predict_mean_cov(p, finite ? 50.0 : INFINITY, ntk ? Ttd : Ktd, Ktd, Ktt, m, rm, rc) == DW_OK);
            dw_predict_clear(p);
            CHECK(memcmp(mean, rm, sizeof mean) == 0);
            CHECK(memcmp(cov, rc, sizeof cov) == 0);
            CHECK(strstr(dw_predict_info_reason(info), "auto: cholesky") != NULL);
            CHECK(dw_predict_info_jitter(info) > 0);
        }
    /* the test inputs being the train array itself (kernels copied, not recomputed) == a copy of it */
    {
        double Xc[n * d], a1[n * KC], a2[n * KC], c1[n * n], c2[n * n];
        memcpy(Xc, X, sizeof Xc);
        CHECK(dw_predict_opts_set_kind(o, "ntk") == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, KC, X, n, d, a1, c1, NULL) == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, KC, Xc, n, d, a2, c2, NULL) == DW_OK);
        CHECK(reldiff(a1, a2, n * KC) < 1e-13 && reldiff(c1, c2, n * n) < 1e-13);
    }
    /* threads: the kernels are bit-identical for any thread count; OpenBLAS's threaded LAPACK / BLAS reorder sums,
     * so the solve agrees to rounding (relative 1e-13 here, cond(A) ~ 1e3) */
    double m1[m * KC], m2[m * KC];
    CHECK(dw_predict_opts_set_t(o, 10.0) == DW_OK);
    CHECK(dw_predict_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, KC, T, m, d, m1, NULL, NULL) == DW_OK);
    CHECK(dw_predict_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, KC, T, m, d, m2, NULL, NULL) == DW_OK);
    CHECK(reldiff(m1, m2, m * KC) < 1e-13);
    /* bad input */
    double Xb[n * d];
    memcpy(Xb, X, sizeof Xb);
    Xb[4] = NAN;
    CHECK(dw_predict_regress(net, o, Xb, n, y, KC, T, m, d, m1, NULL, NULL) == DW_ERR_INVALID &&
          has("X_train: entry (1, 1) is nan"));
    CHECK(dw_predict_regress(net, o, X, n, y, KC, T, 0, d, m1, NULL, NULL) == DW_ERR_INVALID && has("X_test: no test"));
    CHECK(dw_predict_regress(net, o, X, 0, y, KC, T, m, d, m1, NULL, NULL) == DW_ERR_INVALID && has("X_train: no"));
    double yb[n * KC];
    memcpy(yb, y, sizeof yb);
    yb[3] = NAN;
    CHECK(dw_predict_regress(net, o, X, n, yb, KC, T, m, d, m1, NULL, NULL) == DW_ERR_INVALID && has("y_train: entry"));
    /* the matrix-free routes (tests/c/test_predict_cg.c) check the same inputs first */
    CHECK(dw_predict_opts_set_solver(o, "cg") == DW_OK);
    CHECK(dw_predict_regress(net, o, Xb, n, y, KC, T, m, d, m1, NULL, NULL) == DW_ERR_INVALID &&
          has("X_train: entry (1, 1) is nan"));
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    setup();
    test_formulas();
    test_regulariser_and_estimate();
    test_gd_mse();
    test_indefinite();
    test_bad_input();
    test_regress();
    return check_done("predict");
}
