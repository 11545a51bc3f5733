/* Act-first residual blocks' Jacobian spectrum (src/spectrum/residual_actfirst.c) against independent routes:
 * one block is the dense-first block transposed (J = g + a W D vs g + a D W^T, W^T distributed as W), so its
 * moments are dense-first ones at the same variance (i.i.d. and Haar orthogonal, relu and tanh); relu's one block
 * in closed form (D a projection of trace 1/2: m_1 = g^2 + a^2 s / 2, m_2 = g^4 + 2 g^2 a^2 s + 3 a^4 s^2 / 4, from
 * the two non-crossing pairings of W P W^T W P W^T); gamma = 0 against the fully connected chain's S-transform route;
 * identity branches against the dense-first recursion and one linear block's closed form; the error estimates; finite networks (SVD vs Hutchinson on
 * the same networks, thread independence, near the limit); the refusals. (Multi-block relu against orthant
 * probabilities and numpy Monte Carlo: tests/python/test_spectrum_actfirst.py.) */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* L blocks residual(ACT; dense) (act_first) or residual(dense; ACT) with weights of `law`; NULL on failure. */
static dw_spectrum *spec(const dw_act *act, int act_first, int L, const double *alpha, double gamma, double sw2,
                         double sb2, double q0, int K, const char *law)
{
    dw_net *net = NULL, *br = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum *s = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK && dw_spectrum_opts_init(&o) == DW_OK);
    if (act_first) CHECK(dw_net_add_act(br, act) == DW_OK);
    CHECK(dw_net_add_dense(br, sw2, sb2, 0) == DW_OK);
    if (!act_first) CHECK(dw_net_add_act(br, act) == DW_OK);
    for (int l = 0; l < L; l++) CHECK(dw_net_add_residual(net, br, gamma, alpha[l]) == DW_OK);
    CHECK(dw_net_set_law(net, law) == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, q0) == DW_OK && dw_spectrum_opts_set_kmax(o, K) == DW_OK);
    if (dw_spectrum_init(&s, net, o) != DW_OK) {
        fprintf(stderr, "init: %s\n", dw_error_message());
        CHECK(!"spectrum init");
    }
    dw_net_clear(br);
    dw_net_clear(net);
    dw_spectrum_opts_clear(o);
    return s;
}

static void moments_err(const dw_spectrum *s, int K, double *m, double *err)
{
    if (dw_spectrum_moments_error(s, K, DW_SPECTRUM_ROUTE_NC, m, err) != DW_OK) {
        fprintf(stderr, "moments: %s\n", dw_error_message());
        CHECK(!"moments");
    }
    for (int k = 0; k < K; k++) { /* the grid's h: 32 nodes a half line for k <= 3, 16 for k = 4 */
        const int ok = err[k] >= 0 && err[k] <= (k < 3 ? 1e-8 : 1e-4) * fabs(m[k]);
        if (!ok) fprintf(stderr, "m_%d = %.17g, error estimate %g\n", k + 1, m[k], err[k]);
        CHECK(ok);
    }
}

static void test_one_block(void)
{
    const char *names[2] = {"relu", "tanh"}, *laws[2] = {"gaussian", "orthogonal"};
    for (int a = 0; a < 2; a++)
        for (int w = 0; w < 2; w++) {
            dw_act *act = NULL;
            CHECK(dw_act_init(&act, names[a]) == DW_OK);
            const double alpha = 0.8, g = 0.9, sw2 = 0.8, sb2 = 0.2; /* q_1 = sw2 q0 + sb2 = q0 = 1 */
            dw_spectrum *af = spec(act, 1, 1, &alpha, g, sw2, sb2, 1.0, 4, laws[w]);
            dw_spectrum *df = spec(act, 0, 1, &alpha, g, sw2, sb2, 1.0, 4, laws[w]);
            CHECK(dw_spectrum_residual_act_first(af) && !dw_spectrum_residual_act_first(df));
            double ma[4], ea[4], md[4], ed[4];
            moments_err(af, 4, ma, ea);
            CHECK(dw_spectrum_moments_error(df, 4, DW_SPECTRUM_ROUTE_NC, md, ed) == DW_OK);
            for (int k = 0; k < 4; k++) {
                CHECK(ed[k] == 0);
                CHECK(fabs(ma[k] - md[k]) <= 1e-12 * md[k] + 4 * ea[k]);
                if (getenv("DW_TEST_VERBOSE"))
                    fprintf(stderr, "%s %s m_%d: |diff| %.3g, estimate %.3g\n", names[a], laws[w], k + 1,
                            fabs(ma[k] - md[k]), ea[k]);
            }
            if (a == 0 && w == 0) { /* relu's closed form */
                const double s = sw2, m1 = g * g + alpha * alpha * s / 2,
                             m2 = pow(g, 4) + 2 * g * g * alpha * alpha * s + 0.75 * pow(alpha, 4) * s * s;
                CHECK(fabs(ma[0] - m1) <= 1e-14 * m1 && fabs(ma[1] - m2) <= 1e-13 * m2);
            }
            dw_spectrum_clear(af);
            dw_spectrum_clear(df);
            dw_act_clear(act);
        }
}

/* gamma = 0, alpha = 1: x_l = W phi(x_{l-1}) + b, J = W_L D_{L-1} ... W_1 D_0 with independent D's: the fully connected
 * chain with q_l = p_{l-1}, i.e. its input q0' = (q0 - sb2) / sw2. */
static void test_gamma0_is_fc(void)
{
    const char *names[2] = {"relu", "erf"};
    for (int a = 0; a < 2; a++) {
        dw_act *act = NULL;
        CHECK(dw_act_init(&act, names[a]) == DW_OK);
        const double ones[2] = {1, 1}, sw2 = 1.6, sb2 = 0.2, q0 = 1.0;
        dw_spectrum *af = spec(act, 1, 2, ones, 0.0, sw2, sb2, q0, 4, "gaussian");
        double m[4], err[4], f[4];
        moments_err(af, 4, m, err);
        dw_net *net = NULL;
        dw_spectrum_opts *o = NULL;
        dw_spectrum *fc = NULL;
        CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 2, act, false) == DW_OK);
        CHECK(dw_net_set_weight_var(net, 1, &sw2) == DW_OK && dw_net_set_bias_var(net, 1, &sb2) == DW_OK);
        CHECK(dw_spectrum_opts_init(&o) == DW_OK && dw_spectrum_opts_set_q0(o, (q0 - sb2) / sw2) == DW_OK);
        CHECK(dw_spectrum_init(&fc, net, o) == DW_OK);
        CHECK(dw_spectrum_moments(fc, 4, DW_SPECTRUM_ROUTE_S, f) == DW_OK);
        for (int l = 0; l < 2; l++) CHECK(fabs(dw_spectrum_q(af)[l] - dw_spectrum_q(fc)[l]) <= 1e-14);
        for (int k = 0; k < 4; k++) CHECK(fabs(m[k] - f[k]) <= 1e-12 * f[k] + 4 * err[k]);
        dw_spectrum_clear(fc);
        dw_spectrum_opts_clear(o);
        dw_net_clear(net);
        dw_spectrum_clear(af);
        dw_act_clear(act);
    }
}

static void test_identity(void)
{
    dw_act *id = NULL;
    CHECK(dw_act_init(&id, "poly:0,1") == DW_OK);
    const double alpha[2] = {0.6, 1.1};
    dw_spectrum *af = spec(id, 1, 2, alpha, 0.8, 1.3, 0.4, 0.7, 4, "gaussian");
    dw_spectrum *df = spec(id, 0, 2, alpha, 0.8, 1.3, 0.4, 0.7, 4, "gaussian");
    double ma[4], ea[4], md[4];
    moments_err(af, 4, ma, ea);
    CHECK(dw_spectrum_moments(df, 4, DW_SPECTRUM_ROUTE_NC, md) == DW_OK);
    for (int k = 0; k < 4; k++) CHECK(fabs(ma[k] - md[k]) <= 1e-12 * md[k]);
    CHECK(fabs(dw_spectrum_residual_c(af) - dw_spectrum_residual_c(df)) <= 1e-15);
    dw_spectrum_clear(af);
    dw_spectrum_clear(df);
    /* one linear block (MATH.md 7): m_1 = g^2 + a^2 s, m_2 = g^4 + 4 g^2 a^2 s + 2 a^4 s^2 */
    const double a1 = 0.7, g = 0.9, sw = 1.3;
    af = spec(id, 1, 1, &a1, g, sw, 0.2, 1.0, 2, "gaussian");
    moments_err(af, 2, ma, ea);
    const double m1 = g * g + a1 * a1 * sw, m2 = pow(g, 4) + 4 * g * g * a1 * a1 * sw + 2 * pow(a1, 4) * sw * sw;
    CHECK(fabs(ma[0] - m1) <= 1e-14 * m1 && fabs(ma[1] - m2) <= 1e-14 * m2);
    dw_spectrum_clear(af);
    dw_act_clear(id);
}

/* Finite act-first networks: the SVD and Hutchinson's moments of the same networks, 1 and 2 threads alike, near the
 * limit. */
static void test_sampler(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    dw_net *net = NULL, *br = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK);
    CHECK(dw_net_add_act(br, act) == DW_OK && dw_net_add_dense(br, 1.2, 0.1, 80) == DW_OK);
    for (int l = 0; l < 2; l++) CHECK(dw_net_add_residual(net, br, 0.9, 0.7) == DW_OK);
    dw_spectrum_sample_opts *o = NULL;
    CHECK(dw_spectrum_sample_opts_init(&o) == DW_OK && dw_spectrum_sample_opts_set_samples(o, 6) == DW_OK &&
          dw_spectrum_sample_opts_set_K(o, 3) == DW_OK && dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
    double me[3], se[3], mh[3], sh[3], m2[3], s2[3], lim[3], err[3];
    CHECK(dw_spectrum_sample_law(net, o, 5, me, se, NULL) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 5, m2, s2, NULL) == DW_OK);
    for (int k = 0; k < 3; k++) CHECK(me[k] == m2[k] && se[k] == s2[k]);
    CHECK(dw_spectrum_sample_opts_set_probes(o, 200) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 5, mh, sh, NULL) == DW_OK);
    dw_spectrum_opts *so = NULL;
    dw_spectrum *s = NULL;
    CHECK(dw_spectrum_opts_init(&so) == DW_OK && dw_spectrum_opts_set_kmax(so, 3) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, so) == DW_OK);
    moments_err(s, 3, lim, err);
    for (int k = 0; k < 3; k++) {
        CHECK(fabs(me[k] - mh[k]) < 4 * sh[k]);
        CHECK(fabs(me[k] / lim[k] - 1) < 0.1); /* N = 80: a 1/N bias of a few per cent */
    }
    dw_spectrum_clear(s);
    dw_spectrum_opts_clear(so);
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(br);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_refusals(void)
{
    dw_act *relu = NULL, *kinked = NULL;
    CHECK(dw_act_init(&relu, "relu") == DW_OK && dw_act_init(&kinked, "max(z, 1)") == DW_OK);
    const double a = 0.5;
    dw_spectrum *s = spec(relu, 1, 1, &a, 1.0, 1.0, 0.0, 1.0, 8, "gaussian");
    double m[8], err[8];
    CHECK(dw_spectrum_moments(s, 5, DW_SPECTRUM_ROUTE_NC, m) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "K = 5 is above 4"));
    CHECK(dw_spectrum_moments_error(s, 3, DW_SPECTRUM_ROUTE_S, m, err) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "not free"));
    CHECK(dw_spectrum_moments_error(s, 3, DW_SPECTRUM_ROUTE_NC, m, NULL) == DW_ERR_INVALID);
    dw_spectrum_report *r = NULL;
    dw_net *net = NULL, *br = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK);
    CHECK(dw_net_add_act(br, relu) == DW_OK && dw_net_add_dense(br, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1, 0.5) == DW_OK);
    CHECK(dw_spectrum_report_init(&r, net, NULL, 2) == DW_OK);
    CHECK(strstr(dw_spectrum_report_json(r), "\"act_first\": true, \"error\": [") != NULL);
    CHECK(strstr(dw_spectrum_report_json(r), "\"universal\": null") != NULL);
    CHECK(dw_spectrum_report_moments_error(r) != NULL);
    dw_spectrum_report_clear(r);
    dw_net_clear(net);
    dw_net_clear(br);
    /* a kink away from 0 */
    dw_net *n2 = NULL, *b2 = NULL;
    dw_spectrum *s2 = NULL;
    CHECK(dw_net_init(&n2) == DW_OK && dw_net_init(&b2) == DW_OK);
    CHECK(dw_net_add_act(b2, kinked) == DW_OK && dw_net_add_dense(b2, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_residual(n2, b2, 1, 0.5) == DW_OK);
    CHECK(dw_spectrum_init(&s2, n2, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "kinked at 0 only"));
    dw_net_clear(n2);
    dw_net_clear(b2);
    dw_spectrum_clear(s);
    dw_act_clear(relu);
    dw_act_clear(kinked);
}

int main(void)
{
    test_one_block();
    test_gamma0_is_fc();
    test_identity();
    test_sampler();
    test_refusals();
    return check_done("test_spectrum_actfirst");
}
