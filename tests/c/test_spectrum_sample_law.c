/* dw_spectrum_sample_law, the sampling module's weight laws behind dw_spectrum_sample: each network equals the one
 * assembled here from dw_sample_weights / dw_sample_bias and the documented streams (its squared singular values by
 * dw_spectrum_network_jacobian); results independent of the thread count; dw_spectrum_count_zeros against the rank
 * of a one-layer relu network (N minus its dead units, counted here from the pre-activations); dw_spectrum_input_q0;
 * the Gaussian input layer; the progress callback (called, and cancelling); the error paths. */
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
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_given(net, act, L, width, Wp, bp, false) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(net, x, NULL, s2) == DW_OK);
    dw_net_clear(net);
}

/* The sampled networks' net: depth, one width, the variances (1 or depth values) and the law. */
static dw_net *fc(const dw_act *act, int depth, double width, size_t nv, const double *wv, const double *bv,
                  const char *law)
{
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, depth, act, false) == DW_OK);
    CHECK(dw_net_set_weight_var(net, nv, wv) == DW_OK && dw_net_set_bias_var(net, nv, bv) == DW_OK);
    CHECK(dw_net_set_widths(net, 1, &width) == DW_OK && dw_net_set_law(net, law) == DW_OK);
    return net;
}

static dw_spectrum_sample_opts *sopts(size_t samples, int K)
{
    dw_spectrum_sample_opts *o = NULL;
    CHECK(dw_spectrum_sample_opts_init(&o) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_samples(o, samples) == DW_OK && dw_spectrum_sample_opts_set_K(o, K) == DW_OK);
    return o;
}

static void test_against_hand(const char *actname, const char *lawname)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, actname) == DW_OK);
    dw_law law; /* for the hand-made networks */
    CHECK(dw_law_parse(&law, lawname) == DW_OK);
    const double wv[L] = {1.7, 1.3, 2.0}, bv[L] = {0.1, 0.0, 0.3};
    dw_net *net = fc(act, L, N, L, wv, bv, lawname);
    dw_spectrum_sample_opts *o = sopts(S, 3);
    CHECK(dw_spectrum_sample_opts_set_q0(o, 0.7) == DW_OK);
    static double s2[S * N], s2b[S * N], hand[N];
    double m[3], se[3], m2[3], se2[3];
    CHECK(dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 99, m, se, s2) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 99, m2, se2, s2b) == DW_OK);
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
    CHECK(dw_spectrum_sample_law(net, o, 100, m2, se2, s2b) == DW_OK);
    CHECK(memcmp(s2, s2b, sizeof s2) != 0);
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_zeros_relu(void)
{
    /* depth 1: J = D W with W of full rank, so the zeros of J J^T are the dead units (h_i < 0) */
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    dw_law law = {DW_LAW_RADEMACHER, 0};
    const double wv = 2.0, bv = 0.2;
    dw_net *net = fc(act, 1, N, 1, &wv, &bv, "rademacher");
    dw_spectrum_sample_opts *o = sopts(S, 2);
    static double s2[S * N], W[N * N], b[N], x[N];
    double m[2], se[2];
    CHECK(dw_spectrum_sample_law(net, o, 7, m, se, s2) == DW_OK);
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(net);
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

/* gaussian_input_layer: layer 1 draws Gaussian weights whatever the law, the others the law's: at depth 1 the
 * networks are the Gaussian ones, at depth 2 they are not */
static void test_gaussian_input_layer(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "tanh") == DW_OK);
    const double wv = 1.5, bv = 0.2;
    static double a[S * N], b[S * N];
    double m[2], se[2];
    for (int depth = 1; depth <= 2; depth++) {
        dw_net *g = fc(act, depth, N, 1, &wv, &bv, "gaussian"), *r = fc(act, depth, N, 1, &wv, &bv, "rademacher");
        dw_spectrum_sample_opts *o = sopts(S, 2);
        CHECK(dw_spectrum_sample_law(g, o, 11, m, se, a) == DW_OK);
        CHECK(dw_spectrum_sample_law(r, o, 11, m, se, b) == DW_OK && memcmp(a, b, sizeof a) != 0);
        CHECK(dw_net_set_gaussian_input_layer(r, true) == DW_OK);
        CHECK(dw_spectrum_sample_law(r, o, 11, m, se, b) == DW_OK);
        CHECK((memcmp(a, b, sizeof a) == 0) == (depth == 1));
        dw_spectrum_sample_opts_clear(o);
        dw_net_clear(g);
        dw_net_clear(r);
    }
    dw_act_clear(act);
}

static void test_input_q0(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    const double wv = 1.6, bv = 0.1;
    dw_net *net = fc(act, 2, 10, 1, &wv, &bv, "gaussian");
    dw_spectrum_opts *o = NULL;
    CHECK(dw_spectrum_opts_init(&o) == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, 0.3) == DW_OK && dw_spectrum_opts_set_kmax(o, 2) == DW_OK);
    dw_spectrum *sp = NULL;
    CHECK(dw_spectrum_init(&sp, net, o) == DW_OK);
    CHECK(dw_spectrum_input_q0(sp) == 0.3);
    dw_spectrum_clear(sp);
    CHECK(dw_spectrum_opts_set_fixed_point(o, true) == DW_OK);
    CHECK(dw_spectrum_init(&sp, net, o) == DW_OK);
    const double qs = dw_spectrum_q(sp)[0], q0 = dw_spectrum_input_q0(sp);
    CHECK_CLOSE(wv * q0 + bv, qs, 1e-15, 0);
    /* and q* is the fixed point: sigma_w^2 E erf(sqrt(q*) Z)^2 + sigma_b^2, E erf^2 = (2/pi) asin(2q/(1+2q)) */
    CHECK_CLOSE(wv * (2 / M_PI) * asin(2 * qs / (1 + 2 * qs)) + bv, qs, 1e-12, 0);
    dw_spectrum_clear(sp);
    dw_spectrum_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_progress_and_errors(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "tanh") == DW_OK);
    const double one = 1, zero = 0;
    dw_net *net = fc(act, 2, 10, 1, &one, &zero, "uniform");
    dw_spectrum_sample_opts *o = sopts(S, 2);
    double m[2], se[2];
    prog_t p = {0, 0};
    CHECK(dw_spectrum_sample_opts_set_progress(o, progress, &p) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_OK);
    CHECK(p.calls >= 1);
    prog_t c = {0, 1};
    CHECK(dw_spectrum_sample_opts_set_progress(o, progress, &c) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "cancelled") != NULL);
    CHECK(dw_spectrum_sample_opts_set_progress(o, NULL, NULL) == DW_OK);
    CHECK(dw_net_set_law(net, "complex-gaussian") == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "complex-gaussian") != NULL);
    CHECK(dw_net_set_law(net, "student-t:1.5") == DW_ERR_INVALID); /* the net's own check of a law */
    CHECK(dw_net_set_law(net, "orthogonal") == DW_OK && dw_net_set_gaussian_input_layer(net, true) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "gaussian_input_layer"));
    CHECK(dw_net_set_law(net, "uniform") == DW_OK);
    CHECK(dw_spectrum_sample_law(NULL, o, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_law(net, NULL, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_opts_set_samples(o, 1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "the standard error needs two") != NULL);
    const double wide = 46341, big = 40000;
    CHECK(dw_net_set_widths(net, 1, &wide) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_net_set_fc(net, 1000, act, false) == DW_OK && dw_net_set_widths(net, 1, &big) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 1, m, se, NULL) == DW_ERR_NOMEM); /* 12.8 TB of weights: refused first */
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(net);
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
    test_gaussian_input_layer();
    test_progress_and_errors();
    return check_done("spectrum_sample_law");
}
