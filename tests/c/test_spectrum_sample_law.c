/* dw_spectrum_sample_law, the sampling module's weight laws behind dw_spectrum_sample: each network equals the one
 * assembled here from dw_sample_weights / dw_sample_bias and the documented streams (its squared singular values by
 * dw_spectrum_network_jacobian); results independent of the thread count; dw_spectrum_count_zeros against the rank
 * of a one-layer relu network (N minus its dead units, counted here from the pre-activations); dw_spectrum_input_q0;
 * the progress callback (called, and cancelling); the error paths. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 24
#define S 5
#define L 3

typedef struct {
    int calls, cancel_at;
} prog_t;
static int progress(void *ctx, double done, double total)
{
    prog_t *p = ctx;
    p->calls++;
    CHECK(done >= 1 && done <= total && total == S);
    return p->cancel_at && p->calls >= p->cancel_at;
}

/* network s assembled from the documented streams; its squared singular values into s2 */
static void by_hand(const dw_act *act, const dw_law *law, unsigned long long seed, unsigned long long s,
                    const double *wv, const double *bv, double q0, double *s2)
{
    static double W[L][N * N], b[L][N], x[N];
    const double *Wp[L], *bp[L];
    size_t width[L + 1];
    for (int l = 0; l < L; l++) {
        CHECK(dw_sample_weights(law, seed, s, (unsigned long long)l, N, N, W[l]) == DW_OK);
        CHECK(dw_sample_bias(law, seed, s, (unsigned long long)l, N, b[l]) == DW_OK);
        for (int i = 0; i < N * N; i++) W[l][i] *= sqrt(wv[l] / N);
        for (int i = 0; i < N; i++) b[l][i] *= sqrt(bv[l]);
        Wp[l] = W[l];
        bp[l] = b[l];
        width[l] = N;
    }
    width[L] = N;
    const dw_law g = {DW_LAW_GAUSSIAN, 0};
    CHECK(dw_sample_bias(&g, seed, s, 0x7fffffffULL, N, x) == DW_OK);
    double nx = 0;
    for (int i = 0; i < N; i++) nx += x[i] * x[i];
    for (int i = 0; i < N; i++) x[i] *= sqrt(q0 * N / nx);
    dw_spectrum_network net = {L, width, Wp, bp, act};
    CHECK(dw_spectrum_network_jacobian(&net, x, NULL, s2) == DW_OK);
}

static void test_against_hand(const char *actname, const char *lawname)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, actname) == DW_OK);
    dw_law law;
    CHECK(dw_law_parse(&law, lawname) == DW_OK);
    const double wv[L] = {1.7, 1.3, 2.0}, bv[L] = {0.1, 0.0, 0.3};
    dw_spectrum_sample_opts o;
    dw_spectrum_sample_opts_init(&o);
    o.depth = L;
    o.act = act;
    o.width = N;
    o.n_weight_var = L;
    o.weight_var = wv;
    o.n_bias_var = L;
    o.bias_var = bv;
    o.q0 = 0.7;
    o.samples = S;
    o.K = 3;
    static double s2[S * N], s2b[S * N], hand[N];
    double m[3], se[3], m2[3], se2[3];
    o.threads = 1;
    CHECK(dw_spectrum_sample_law(&o, &law, 99, m, se, s2) == DW_OK);
    o.threads = 3;
    CHECK(dw_spectrum_sample_law(&o, &law, 99, m2, se2, s2b) == DW_OK);
    CHECK(!memcmp(m, m2, sizeof m) && !memcmp(se, se2, sizeof se) && !memcmp(s2, s2b, sizeof s2));
    double mean[3] = {0, 0, 0};
    for (int s = 0; s < S; s++) {
        by_hand(act, &law, 99, (unsigned long long)s, wv, bv, 0.7, hand);
        double worst = 0;
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(hand[i] - s2[s * N + i]) / s2[s * N]);
        CHECK(worst <= 1e-13);
        for (int k = 0; k < 3; k++) {
            double t = 0;
            for (int i = 0; i < N; i++) t += pow(hand[i], k + 1);
            mean[k] += t / N / S;
        }
    }
    for (int k = 0; k < 3; k++) CHECK_CLOSE(m[k], mean[k], 1e-12, 0);
    /* another seed is another network */
    CHECK(dw_spectrum_sample_law(&o, &law, 100, m2, se2, s2b) == DW_OK);
    CHECK(memcmp(s2, s2b, sizeof s2) != 0);
    dw_act_clear(act);
}

static void test_zeros_relu(void)
{
    /* depth 1: J = D W with W of full rank, so the zeros of J J^T are the dead units (h_i < 0) */
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    dw_law law = {DW_LAW_RADEMACHER, 0};
    const double wv = 2.0, bv = 0.2;
    dw_spectrum_sample_opts o;
    dw_spectrum_sample_opts_init(&o);
    o.depth = 1;
    o.act = act;
    o.width = N;
    o.weight_var = &wv;
    o.bias_var = &bv;
    o.samples = S;
    o.K = 2;
    static double s2[S * N], W[N * N], b[N], x[N];
    double m[2], se[2];
    CHECK(dw_spectrum_sample_law(&o, &law, 7, m, se, s2) == DW_OK);
    size_t dead = 0;
    const dw_law g = {DW_LAW_GAUSSIAN, 0};
    for (int s = 0; s < S; s++) {
        CHECK(dw_sample_weights(&law, 7, (unsigned long long)s, 0, N, N, W) == DW_OK);
        CHECK(dw_sample_bias(&law, 7, (unsigned long long)s, 0, N, b) == DW_OK);
        CHECK(dw_sample_bias(&g, 7, (unsigned long long)s, 0x7fffffffULL, N, x) == DW_OK);
        for (int i = 0; i < N; i++) {
            double h = sqrt(bv) * b[i]; /* the sign of W x + b does not depend on the scale of x... */
            double wx = 0;
            for (int j = 0; j < N; j++) wx += W[i * N + j] * x[j];
            double nx = 0;
            for (int j = 0; j < N; j++) nx += x[j] * x[j];
            h += sqrt(wv / N) * wx * sqrt(1.0 * N / nx); /* ...but of its size relative to b: q0 = 1 */
            dead += h < 0;
        }
    }
    CHECK(dead > 0);
    CHECK(dw_spectrum_count_zeros(S, N, s2) == dead);
    dw_act_clear(act);
}

static void test_input_q0(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    const double wv = 1.6, bv = 0.1;
    dw_spectrum_opts o;
    dw_spectrum_opts_init(&o);
    o.depth = 2;
    o.act = act;
    o.weight_var = &wv;
    o.bias_var = &bv;
    o.q0 = 0.3;
    o.kmax = 2;
    dw_spectrum *sp = NULL;
    CHECK(dw_spectrum_init(&sp, &o) == DW_OK);
    CHECK(dw_spectrum_input_q0(sp) == 0.3);
    dw_spectrum_clear(sp);
    o.fixed_point = 1;
    CHECK(dw_spectrum_init(&sp, &o) == DW_OK);
    const double qs = dw_spectrum_q(sp)[0], q0 = dw_spectrum_input_q0(sp);
    CHECK_CLOSE(wv * q0 + bv, qs, 1e-15, 0);
    /* and q* is the fixed point: sigma_w^2 E erf(sqrt(q*) Z)^2 + sigma_b^2, E erf^2 = (2/pi) asin(2q/(1+2q)) */
    CHECK_CLOSE(wv * (2 / M_PI) * asin(2 * qs / (1 + 2 * qs)) + bv, qs, 1e-12, 0);
    dw_spectrum_clear(sp);
    dw_act_clear(act);
}

static void test_progress_and_errors(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "tanh") == DW_OK);
    dw_spectrum_sample_opts o;
    dw_spectrum_sample_opts_init(&o);
    o.depth = 2;
    o.act = act;
    o.width = 10;
    o.samples = S;
    o.K = 2;
    double m[2], se[2];
    dw_law law = {DW_LAW_UNIFORM, 0};
    prog_t p = {0, 0};
    o.progress = progress;
    o.progress_ctx = &p;
    o.threads = 2;
    CHECK(dw_spectrum_sample_law(&o, &law, 1, m, se, NULL) == DW_OK);
    CHECK(p.calls >= 1);
    prog_t c = {0, 1};
    o.progress_ctx = &c;
    o.threads = 1;
    CHECK(dw_spectrum_sample_law(&o, &law, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "cancelled") != NULL);
    o.progress = NULL;
    dw_law cg = {DW_LAW_COMPLEX_GAUSSIAN, 0};
    CHECK(dw_spectrum_sample_law(&o, &cg, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "complex-gaussian") != NULL);
    dw_law bad = {DW_LAW_STUDENT_T, 1.5};
    CHECK(dw_spectrum_sample_law(&o, &bad, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_law(&o, NULL, 1, m, se, NULL) == DW_ERR_INVALID);
    o.samples = 1;
    CHECK(dw_spectrum_sample_law(&o, &law, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "at least 2") != NULL);
    o.samples = S;
    o.width = 46341;
    CHECK(dw_spectrum_sample_law(&o, &law, 1, m, se, NULL) == DW_ERR_INVALID);
    o.width = 40000; /* 12.8 TB of weights per network: refused before allocating */
    o.depth = 1000;
    CHECK(dw_spectrum_sample_law(&o, &law, 1, m, se, NULL) == DW_ERR_NOMEM);
    CHECK(dw_spectrum_count_zeros(3, 0, NULL) == 0);
    dw_act_clear(act);
}

int main(void)
{
    test_against_hand("tanh", "gaussian");
    test_against_hand("relu", "rademacher");
    test_against_hand("erf", "orthogonal");
    test_against_hand("gelu", "sparse:0.5");
    test_zeros_relu();
    test_input_q0();
    test_progress_and_errors();
    return check_done("spectrum_sample_law");
}
