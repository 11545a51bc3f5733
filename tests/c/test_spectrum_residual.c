/* Residual networks' Jacobian spectrum (src/spectrum/residual.c) against independent computations: the one-block
 * closed forms of MATH.md 7 (linear branch: m_1 = g^2 + a^2 s, m_2 = g^4 + 4 g^2 a^2 s + 2 a^4 s^2, derived here
 * from the traces of (g + aW)(g + aW)^T), the free multiplicative convolution of linear blocks (free: D = I) and of
 * relu blocks for k <= 3 (the blocks' non-freeness shows first at k = 4), m_1 = prod_l (g^2 + a^2 s mu_1), gamma = 0
 * against the fully connected network's S-transform route, the
 * large-depth limit with its 1/L rate, the universal moments' closed forms, Haar orthogonal weights (one-block
 * closed forms, free products of linear blocks, gamma = 0 against the fully connected route), finite networks, and
 * every refusal. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* L blocks residual(dense(sw2, sb2); act, gamma, alpha[l]) with weights of `law`; NULL on failure (reported). */
static dw_spectrum *res_spec_law(const dw_act *act, int L, const double *alpha, double gamma, double sw2, double sb2,
                                 double q0, int K, const char *law)
{
    dw_net *net = NULL, *br = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum *s = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK && dw_spectrum_opts_init(&o) == DW_OK);
    CHECK(dw_net_add_dense(br, sw2, sb2, 0) == DW_OK && dw_net_add_act(br, act) == DW_OK);
    for (int l = 0; l < L; l++) CHECK(dw_net_add_residual(net, br, gamma, alpha[l]) == DW_OK);
    CHECK(dw_net_set_law(net, law) == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, q0) == DW_OK && dw_spectrum_opts_set_kmax(o, K) == DW_OK);
    if (dw_spectrum_init(&s, net, o) != DW_OK) {
        fprintf(stderr, "init: %s\n", dw_error_message());
        CHECK(!"residual spectrum init");
    }
    dw_net_clear(br);
    dw_net_clear(net); /* the spectrum keeps what it needs */
    dw_spectrum_opts_clear(o);
    return s;
}

static dw_spectrum *res_spec(const dw_act *act, int L, const double *alpha, double gamma, double sw2, double sb2,
                             double q0, int K)
{
    return res_spec_law(act, L, alpha, gamma, sw2, sb2, q0, K, "gaussian");
}

static void moments_of(const dw_spectrum *s, int K, double *m)
{
    if (dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_NC, m) != DW_OK) {
        fprintf(stderr, "moments: %s\n", dw_error_message());
        CHECK(!"moments");
    }
}

static void test_one_block_linear(void)
{
    dw_act *id = NULL;
    CHECK(dw_act_init(&id, "poly:0,1") == DW_OK);
    const double as[3] = {0.3, 0.7, 1.4}, gs[3] = {1.0, 1.0, 0.6}, ss[3] = {1.0, 2.0, 0.5};
    for (int i = 0; i < 3; i++) {
        const double a = as[i], g = gs[i], sw = ss[i];
        dw_spectrum *s = res_spec(id, 1, &a, g, sw, 0.0, 1.0, 2);
        double m[2];
        moments_of(s, 2, m);
        /* tr (g + aW)(g + aW)^T = g^2 + a^2 s; its square: g^4 + g^2 a^2 tr(W + W^T)^2 + 2 g^2 a^2 tr WW^T
         * + a^4 tr (WW^T)^2 with tr (W + W^T)^2 = 2 s, tr (WW^T)^2 = 2 s^2 (odd words vanish) */
        CHECK_CLOSE(m[0], g * g + a * a * sw, 1e-14, 0);
        CHECK_CLOSE(m[1], g * g * g * g + 4 * g * g * a * a * sw + 2 * a * a * a * a * sw * sw, 1e-14, 0);
        if (g == 1 && sw == 1) {
            CHECK_CLOSE(m[0], 1 + a * a, 1e-14, 0); /* MATH.md 7 */
            CHECK_CLOSE(m[1], 1 + 4 * a * a + 2 * pow(a, 4), 1e-14, 0);
        }
        dw_spectrum_clear(s);
    }
    dw_act_clear(id);
}

/* Free multiplicative convolution of laws with moments a = (a1, a2, a3) and b: the moments of x y,
 * m_n = sum_{pi in NC(n)} kappa_pi(x) m_{K(pi)}(y) (Kreweras complement K) for n = 1, 2, 3. */
static void free_product(const double *a, const double *b, double *m)
{
    const double k1 = a[0], k2 = a[1] - a[0] * a[0], k3 = a[2] - 3 * a[0] * a[1] + 2 * pow(a[0], 3);
    m[0] = k1 * b[0];
    m[1] = k1 * k1 * b[1] + k2 * b[0] * b[0];
    m[2] = pow(k1, 3) * b[2] + 3 * k2 * k1 * b[1] * b[0] + k3 * pow(b[0], 3);
}

static void test_two_blocks_free(void)
{
    /* Linear branches (D = I): the blocks are free, so the two-block moments are the free product of the
     * one-block ones; relu branches: also for k <= 3 (the commuting D_l of different blocks meet first at k = 4) */
    const char *acts[2] = {"poly:0,1", "relu"};
    for (int i = 0; i < 2; i++) {
        dw_act *act = NULL;
        CHECK(dw_act_init(&act, acts[i]) == DW_OK);
        const double a1 = 0.6, a2 = 1.1, al[2] = {a1, a2};
        dw_spectrum *s1 = res_spec(act, 1, &a1, 0.9, 1.3, 0.0, 1.0, 4);
        dw_spectrum *s2 = res_spec(act, 1, &a2, 0.9, 1.3, 0.0, 1.0, 4);
        dw_spectrum *s12 = res_spec(act, 2, al, 0.9, 1.3, 0.0, 1.0, 4);
        double m1[4], m2[4], m12[4], f[3];
        moments_of(s1, 4, m1);
        moments_of(s2, 4, m2);
        moments_of(s12, 4, m12);
        free_product(m2, m1, f); /* J J^T of F2 F1 ~ (F2^T F2)(F1 F1^T): free product of the blocks' laws */
        for (int k = 0; k < 3; k++) CHECK_CLOSE(m12[k], f[k], 1e-13, 0);
        /* m_1 = prod_l (g^2 + a_l^2 sw2 mu_1) whatever the activation */
        const double mu1 = dw_spectrum_mu(s12)[0];
        CHECK_CLOSE(m12[0], (0.81 + a1 * a1 * 1.3 * mu1) * (0.81 + a2 * a2 * 1.3 * mu1), 1e-14, 0);
        dw_spectrum_clear(s1);
        dw_spectrum_clear(s2);
        dw_spectrum_clear(s12);
        dw_act_clear(act);
    }
}

/* gamma = 0, alpha = 1: x_l = phi(W x_{l-1} + b), the fully connected network (its S-transform route), with i.i.d.
 * or Haar orthogonal weights. */
static void test_gamma0_is_fc(int orth)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "tanh") == DW_OK);
    const double one[3] = {1, 1, 1}, sw2 = 1.7, sb2 = 0.2;
    dw_spectrum *r = res_spec_law(act, 3, one, 0.0, sw2, sb2, 0.8, 5, orth ? "orthogonal" : "gaussian");
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum *f = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 3, act, false) == DW_OK);
    CHECK(dw_net_set_law(net, orth ? "orthogonal" : "gaussian") == DW_OK);
    CHECK(dw_net_set_weight_var(net, 1, &sw2) == DW_OK && dw_net_set_bias_var(net, 1, &sb2) == DW_OK);
    CHECK(dw_spectrum_opts_init(&o) == DW_OK && dw_spectrum_opts_set_q0(o, 0.8) == DW_OK &&
          dw_spectrum_opts_set_kmax(o, 5) == DW_OK && dw_spectrum_init(&f, net, o) == DW_OK);
    double mr[5], mf[5];
    moments_of(r, 5, mr);
    CHECK(dw_spectrum_moments(f, 5, DW_SPECTRUM_ROUTE_S, mf) == DW_OK);
    for (int l = 0; l < 3; l++) CHECK_CLOSE(dw_spectrum_q(r)[l], dw_spectrum_q(f)[l], 1e-15, 0);
    for (int k = 0; k < 5; k++) CHECK_CLOSE(mr[k], mf[k], 1e-13, 0);
    dw_spectrum_clear(r);
    dw_spectrum_clear(f);
    dw_spectrum_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

/* Haar orthogonal W = sigma O, one linear block: (g + aO)(g + aO)^T = g^2 + a^2 s + g a (O + O^T), so
 * m_1 = g^2 + a^2 s, m_2 = m_1^2 + 2 g^2 a^2 s (tr (O + O^T)^2 = 2 s), m_3 = m_1^3 + 6 m_1 g^2 a^2 s (the odd
 * traces of O + O^T vanish); two linear blocks are free: their free product. */
static void test_orthogonal_block(void)
{
    dw_act *id = NULL;
    CHECK(dw_act_init(&id, "poly:0,1") == DW_OK);
    const double g = 0.9, a = 0.7, sw = 1.3, a2[2] = {0.7, 1.2};
    dw_spectrum *s = res_spec_law(id, 1, &a, g, sw, 0, 1, 3, "orthogonal");
    double m[3], m1[3], m2[3], m12[3], f[3];
    moments_of(s, 3, m);
    const double t = g * g + a * a * sw, u = g * g * a * a * sw;
    CHECK_CLOSE(m[0], t, 1e-14, 0);
    CHECK_CLOSE(m[1], t * t + 2 * u, 1e-14, 0);
    CHECK_CLOSE(m[2], t * t * t + 6 * t * u, 1e-14, 0);
    dw_spectrum_clear(s);
    dw_spectrum *s1 = res_spec_law(id, 1, &a2[0], g, sw, 0, 1, 3, "orthogonal");
    dw_spectrum *s2 = res_spec_law(id, 1, &a2[1], g, sw, 0, 1, 3, "orthogonal");
    dw_spectrum *s12 = res_spec_law(id, 2, a2, g, sw, 0, 1, 3, "orthogonal");
    moments_of(s1, 3, m1);
    moments_of(s2, 3, m2);
    moments_of(s12, 3, m12);
    free_product(m2, m1, f);
    for (int k = 0; k < 3; k++) CHECK_CLOSE(m12[k], f[k], 1e-13, 0);
    dw_spectrum_clear(s1);
    dw_spectrum_clear(s2);
    dw_spectrum_clear(s12);
    dw_act_clear(id);
}

static void test_universal(void)
{
    double m[4];
    CHECK(dw_spectrum_residual_universal(0.0, 4, m) == DW_OK);
    for (int k = 0; k < 4; k++) CHECK_CLOSE(m[k], 1.0, 0, 1e-15);
    const double c = 0.37;
    CHECK(dw_spectrum_residual_universal(c, 3, m) == DW_OK);
    /* Lagrange inversion of chi(z) = z exp(-c(1 + 2z)) / (1 + z), by hand for n = 1, 2, 3 */
    CHECK_CLOSE(m[0], exp(c), 1e-15, 0);
    CHECK_CLOSE(m[1], exp(2 * c) * (1 + 2 * c), 1e-15, 0);
    CHECK_CLOSE(m[2], exp(3 * c) * (1 + 6 * c + 6 * c * c), 1e-15, 0);
    CHECK(dw_spectrum_residual_universal(-1, 3, m) == DW_ERR_INVALID);
    CHECK(dw_spectrum_residual_universal(1, 0, m) == DW_ERR_INVALID);
}

/* alpha^2 = c / L: the moments approach the universal ones at c_eff = sum_l alpha^2 sw2 mu_1, the error ~ 1/L. */
static void test_large_depth(void)
{
    const char *acts[2] = {"relu", "tanh"};
    for (int i = 0; i < 2; i++) {
        dw_act *act = NULL;
        CHECK(dw_act_init(&act, acts[i]) == DW_OK);
        double err_prev[4] = {0};
        for (int L = 8; L <= 64; L *= 2) {
            double alpha[64], m[4], u[4];
            for (int l = 0; l < L; l++) alpha[l] = sqrt(1.0 / L);
            dw_spectrum *s = res_spec(act, L, alpha, 1.0, 1.0, 0.0, 1.0, 4);
            moments_of(s, 4, m);
            const double c = dw_spectrum_residual_c(s);
            CHECK(dw_spectrum_residual_universal(c, 4, u) == DW_OK);
            for (int k = 0; k < 4; k++) {
                const double err = fabs(m[k] / u[k] - 1);
                CHECK(err < 2.0 / L); /* measured: 0.15 at L = 8 for m_4, halving with L */
                if (L > 8) CHECK(err_prev[k] / err > 1.8 && err_prev[k] / err < 2.2);
                err_prev[k] = err;
            }
            dw_spectrum_clear(s);
        }
        dw_act_clear(act);
    }
}

static void test_refusals(void)
{
    dw_act *relu = NULL, *tanh_ = NULL;
    CHECK(dw_act_init(&relu, "relu") == DW_OK && dw_act_init(&tanh_, "tanh") == DW_OK);
    dw_net *net = NULL, *br = NULL, *br2 = NULL;
    dw_spectrum *s = NULL;
    dw_spectrum_opts *o = NULL;
    CHECK(dw_spectrum_opts_init(&o) == DW_OK);
    /* an act; dense block after a dense; ACT one (act-first blocks: test_spectrum_actfirst.c) */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK && dw_net_init(&br2) == DW_OK);
    CHECK(dw_net_add_dense(br, 1, 0, 0) == DW_OK && dw_net_add_act(br, relu) == DW_OK);
    CHECK(dw_net_add_act(br2, relu) == DW_OK && dw_net_add_dense(br2, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1, 0.5) == DW_OK && dw_net_add_residual(net, br2, 1, 0.5) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "one block type"));
    dw_net_clear(net);
    dw_net_clear(br);
    dw_net_clear(br2);
    /* two activations */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK && dw_net_init(&br2) == DW_OK);
    CHECK(dw_net_add_dense(br, 1, 0, 0) == DW_OK && dw_net_add_act(br, relu) == DW_OK);
    CHECK(dw_net_add_dense(br2, 1, 0, 0) == DW_OK && dw_net_add_act(br2, tanh_) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1, 0.5) == DW_OK && dw_net_add_residual(net, br2, 1, 0.5) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "one activation"));
    dw_net_clear(net);
    /* a dense layer after the blocks */
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1, 0.5) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_ERR_INVALID);
    dw_net_clear(net);
    /* fixed point, kmax */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_residual(net, br, 1, 0.5) == DW_OK);
    CHECK(dw_spectrum_opts_set_fixed_point(o, true) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "fixed point"));
    CHECK(dw_spectrum_opts_set_fixed_point(o, false) == DW_OK && dw_spectrum_opts_set_kmax(o, 9) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "kmax"));
    /* the routes and parts that need free layers */
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_OK);
    CHECK(dw_spectrum_residual(s) && dw_spectrum_residual_c(s) > 0);
    double m[3], lo, hi, t = 1, rho;
    CHECK(dw_spectrum_moments(s, 3, DW_SPECTRUM_ROUTE_S, m) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "not free"));
    CHECK(dw_spectrum_support(s, &lo, &hi) == DW_ERR_INVALID);
    CHECK(dw_spectrum_density(s, 1, &t, &rho) == DW_ERR_INVALID);
    dw_spectrum_exact *e = NULL;
    CHECK(dw_spectrum_exact_init(&e, s, 3, DW_SPECTRUM_ROUTE_NC) == DW_ERR_INVALID);
    dw_spectrum_clear(s);
    /* the report: moments, no sampling */
    dw_spectrum_report *r = NULL;
    CHECK(dw_spectrum_report_init(&r, net, NULL, 3) == DW_OK);
    CHECK(strstr(dw_spectrum_report_json(r), "\"residual\": {") != NULL);
    dw_spectrum_sample_opts *so = NULL;
    CHECK(dw_spectrum_sample_opts_init(&so) == DW_OK);
    CHECK(dw_spectrum_report_sample(r, so, 1) == DW_ERR_INVALID && strstr(dw_error_message(), "width"));
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_report_clear(r);
    dw_net_clear(net);
    dw_net_clear(br);
    dw_net_clear(br2);
    dw_spectrum_opts_clear(o);
    dw_act_clear(relu);
    dw_act_clear(tanh_);
}

/* Finite residual networks (the library's sampler): the exact SVD moments and Hutchinson's on the same networks
 * (only the probes differ), the same numbers for 1 and 2 threads, and both near the limit. */
static void test_sampler(void)
{
    dw_act *act = NULL;
    CHECK(dw_act_init(&act, "tanh") == DW_OK);
    dw_net *net = NULL, *br = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br) == DW_OK);
    CHECK(dw_net_add_dense(br, 1.2, 0.1, 80) == DW_OK && dw_net_add_act(br, act) == DW_OK);
    for (int l = 0; l < 2; l++) CHECK(dw_net_add_residual(net, br, 0.9, 0.7) == DW_OK);
    dw_spectrum_sample_opts *o = NULL;
    CHECK(dw_spectrum_sample_opts_init(&o) == DW_OK && dw_spectrum_sample_opts_set_samples(o, 6) == DW_OK &&
          dw_spectrum_sample_opts_set_K(o, 3) == DW_OK && dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
    double me[3], se[3], mh[3], sh[3], m2[3], s2[3], lim[3];
    CHECK(dw_spectrum_sample_law(net, o, 5, me, se, NULL) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 5, m2, s2, NULL) == DW_OK);
    for (int k = 0; k < 3; k++) CHECK(me[k] == m2[k] && se[k] == s2[k]);
    CHECK(dw_spectrum_sample_opts_set_probes(o, 200) == DW_OK);
    CHECK(dw_spectrum_sample_law(net, o, 5, mh, sh, NULL) == DW_OK);
    dw_spectrum *s = NULL;
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_OK);
    moments_of(s, 3, lim);
    for (int k = 0; k < 3; k++) {
        CHECK(fabs(me[k] - mh[k]) < 4 * sh[k]);
        CHECK(fabs(me[k] / lim[k] - 1) < 0.1); /* N = 80: a 1/N bias of a few per cent */
    }
    dw_spectrum_clear(s);
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(br);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    test_sampler();
    test_one_block_linear();
    test_two_blocks_free();
    test_gamma0_is_fc(0);
    test_gamma0_is_fc(1);
    test_orthogonal_block();
    test_universal();
    test_large_depth();
    test_refusals();
    return check_done("test_spectrum_residual");
}
