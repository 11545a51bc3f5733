/* dw_wick_expand of residual networks (theory.md 4.3): the trees route (skip trees: which branches are active)
 * equals the conditional route (empirical moments) exactly; gamma = 0 is the plain network (alpha^2 = 1 exactly;
 * other alpha^2 through the scaling a^2 E_res(a x) = E_plain(x) at weight variance a^2 sw); a linear network's
 * closed form; the constant term equals the architecture engine's NNGP of the same residual net (dw_net_parse,
 * an expression activation) to 1e-13; errors. */
#include "check.h"
#include "deepwick.h"

#include <flint/fmpq.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double X0[] = {1.0, 0.5, -0.25}, Y0[] = {0.5, -1.0, 2.0};

static dw_wick_net *net_of(int L, size_t nc, const char *const *c, const char *sw, const char *sb, size_t nres,
                           const char *const *g, const char *const *a2)
{
    dw_wick_net *net = NULL;
    CHECK(dw_wick_net_init(&net) == DW_OK);
    CHECK(dw_wick_net_set_depth(net, L) == DW_OK);
    CHECK(dw_wick_net_set_poly(net, nc, c) == DW_OK);
    CHECK(dw_wick_net_set_weight_var(net, sw) == DW_OK);
    CHECK(dw_wick_net_set_bias_var(net, sb) == DW_OK);
    CHECK(dw_wick_net_set_residual(net, nres, g, a2) == DW_OK);
    return net;
}

/* exact equality of two expansions (every coefficient as a string) */
static int same(dw_wick_expansion *a, dw_wick_expansion *b)
{
    if (!a || !b || dw_wick_expansion_degree(a) != dw_wick_expansion_degree(b)) return 0;
    for (int k = 0; k <= dw_wick_expansion_degree(a); k++) {
        char s[4096];
        snprintf(s, sizeof s, "%s", dw_wick_expansion_coef(a, k));
        if (strcmp(s, dw_wick_expansion_coef(b, k))) return 0;
    }
    return 1;
}

static dw_wick_expansion *run(const dw_wick_net *net, dw_wick_expand_route r, const double *x, const double *y)
{
    dw_wick_expansion *e = NULL;
    dw_status st = dw_wick_expand(net, r, false, x, y, 3, &e);
    if (st) fprintf(stderr, "%s\n", dw_error_message());
    CHECK(st == DW_OK);
    return e;
}

static void test_routes_agree(void)
{
    static const char *p1[] = {"0", "1", "1/2"}, *p2[] = {"1/5", "1", "-1/2"}, *p3[] = {"0", "0", "1"};
    static const char *const *polys[] = {p1, p2, p3};
    static const char *gs[] = {"1", "1/2", "-3/4"}, *as[] = {"1/2", "2"}, *sbs[] = {"0", "1/10"};
    int n = 0;
    for (int p = 0; p < 3; p++)
        for (int g = 0; g < 3; g++)
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    dw_wick_net *net = net_of(2, 3, polys[p], "3/2", sbs[b], 1, gs + g, as + a);
                    dw_wick_expansion *t = run(net, DW_WICK_EXPAND_TREES, X0, Y0);
                    dw_wick_expansion *c = run(net, DW_WICK_EXPAND_CONDITIONAL, X0, Y0);
                    CHECK(same(t, c));
                    CHECK(t && dw_wick_expansion_degree(t) == 1); /* one block: one 1/N term */
                    n += same(t, c);
                    dw_wick_expansion_clear(t);
                    dw_wick_expansion_clear(c);
                    dw_wick_net_clear(net);
                }
    CHECK(n == 36);
    /* deeper linear networks with per-block lists (the trees route's reach at depth >= 3) */
    static const char *lin[] = {"0", "1"}, *g3[] = {"1", "1/2", "2"}, *a3[] = {"1/3", "1", "1/4"};
    for (int L = 3; L <= 4; L++) {
        dw_wick_net *net = net_of(L, 2, lin, "1", "1/5", (size_t)L - 1, g3, a3);
        dw_wick_expansion *t = run(net, DW_WICK_EXPAND_TREES, X0, Y0);
        dw_wick_expansion *c = run(net, DW_WICK_EXPAND_CONDITIONAL, X0, Y0);
        CHECK(same(t, c));
        dw_wick_expansion_clear(t);
        dw_wick_expansion_clear(c);
        dw_wick_net_clear(net);
    }
}

/* E f f of the linear residual net phi(z) = z: K^1 = sw q + sb, K^l = gamma^2 K + alpha^2 (sw K + sb), sw K^L + sb,
 * no 1/N term (h stays Gaussian given nothing: every layer is linear in the Gaussian weights' products, and the
 * conditional second moment is linear in the Gram) */
static void test_linear_closed_form(void)
{
    static const char *lin[] = {"0", "1"}, *g[] = {"1/2", "1", "3"}, *a2[] = {"2", "1/3", "1/7"};
    dw_wick_net *net = net_of(4, 2, lin, "3/2", "1/4", 3, g, a2);
    const double G[] = {0.5, 1, 3}, A[] = {2, 1.0 / 3, 1.0 / 7}, sw = 1.5, sb = 0.25;
    double q = 0;
    for (int i = 0; i < 3; i++) q += X0[i] * Y0[i] / 3;
    double K = sw * q + sb;
    for (int l = 0; l < 3; l++) K = G[l] * G[l] * K + A[l] * (sw * K + sb);
    for (int r = 0; r < 2; r++) {
        dw_wick_expansion *e = run(net, (dw_wick_expand_route)r, X0, Y0);
        CHECK(e && dw_wick_expansion_degree(e) == 0);
        CHECK_CLOSE(e ? dw_wick_expansion_coef_d(e, 0) : 0, sw * K + sb, 1e-14, 1e-15);
        dw_wick_expansion_clear(e);
    }
    dw_wick_net_clear(net);
}

/* gamma = 0: alpha^2 = 1 is the plain network; alpha^2 = a^2 with sb = 0 scales: a^2 E_res(a x, a y) equals the
 * plain network of weight variance a^2 sw (every layer's W times a: the input layer through the inputs, the
 * readout through the factor a^2) */
static void test_gamma_zero(void)
{
    static const char *pc[] = {"1/5", "1", "1/2", "-1/3"}, *pq[] = {"0", "1", "1/2"}, *zero[] = {"0"},
                      *one[] = {"1"};
    for (int L = 2; L <= 3; L++)
        for (int r = 0; r < 2; r++) {
            /* the trees route's reach: depth 2, quadratic; the conditional route: cubic at depth 2 */
            const char *const *p = L == 3 || r == 0 ? pq : pc;
            const size_t np = p == pq ? 3 : 4;
            if (r == 0 && L == 3) continue;
            dw_wick_net *res = net_of(L, np, p, "3/2", "1/10", 1, zero, one), *plain = net_of(L, np, p, "3/2", "1/10",
                                                                                               0, NULL, NULL);
            dw_wick_expansion *a = run(res, (dw_wick_expand_route)r, X0, Y0), *b = run(plain, r ? DW_WICK_EXPAND_CONDITIONAL : DW_WICK_EXPAND_TREES, X0, Y0);
            CHECK(same(a, b));
            dw_wick_expansion_clear(a);
            dw_wick_expansion_clear(b);
            dw_wick_net_clear(res);
            dw_wick_net_clear(plain);
        }
    struct { const char *a2, *sw_plain; double a; } sc[] = {{"1/4", "3/8", 0.5}, {"4", "6", 2.0}};
    for (int s = 0; s < 2; s++)
        for (int L = 2; L <= 3; L++) { /* cubic at depth 2, quadratic at depth 3 (2 K^L <= 32) */
            const char *a2[] = {sc[s].a2};
            const size_t np = L == 2 ? 4 : 3;
            dw_wick_net *res = net_of(L, np, pc, "3/2", "0", 1, zero, a2),
                        *plain = net_of(L, np, pc, sc[s].sw_plain, "0", 0, NULL, NULL);
            double xa[3], ya[3];
            for (int i = 0; i < 3; i++) {
                xa[i] = X0[i] * sc[s].a; /* exact: a is a power of 2 */
                ya[i] = Y0[i] * sc[s].a;
            }
            dw_wick_expansion *a = run(res, DW_WICK_EXPAND_CONDITIONAL, xa, ya);
            dw_wick_expansion *b = run(plain, DW_WICK_EXPAND_CONDITIONAL, X0, Y0);
            CHECK(a && b && dw_wick_expansion_degree(a) == dw_wick_expansion_degree(b) &&
                  dw_wick_expansion_degree(a) >= 1);
            fmpq_t u, v, a2q;
            fmpq_init(u);
            fmpq_init(v);
            fmpq_init(a2q);
            CHECK(fmpq_set_str(a2q, sc[s].a2, 10) == 0);
            for (int k = 0; a && b && k <= dw_wick_expansion_degree(a); k++) { /* a^2 coef_a = coef_b exactly */
                CHECK(fmpq_set_str(u, dw_wick_expansion_coef(a, k), 10) == 0);
                CHECK(fmpq_set_str(v, dw_wick_expansion_coef(b, k), 10) == 0);
                fmpq_mul(u, u, a2q);
                CHECK(fmpq_equal(u, v));
            }
            fmpq_clear(u);
            fmpq_clear(v);
            fmpq_clear(a2q);
            dw_wick_expansion_clear(a);
            dw_wick_expansion_clear(b);
            dw_wick_net_clear(res);
            dw_wick_net_clear(plain);
        }
}

/* the constant term = the architecture engine's NNGP of dense; residual(phi; dense, gamma, alpha)...; phi; dense */
static void nngp_case(int L, size_t np, const char *phi, const char *const *g, const char *const *a2, const double *gd,
                      const double *a2d)
{
    static const char *pc[] = {"1/5", "1", "1/2", "-1/3"};
    dw_wick_net *net = net_of(L, np, pc, "3/2", "1/10", (size_t)L - 1, g, a2);
    dw_wick_expansion *e = run(net, DW_WICK_EXPAND_CONDITIONAL, X0, Y0);
    CHECK(e && dw_wick_expansion_degree(e) >= L - 1);
    char spec[1024] = "dense(W_var=1.5, b_var=0.1)";
    for (int l = 0; l < L - 1; l++) {
        size_t n = strlen(spec);
        snprintf(spec + n, sizeof spec - n, "; residual(%s; dense(W_var=1.5, b_var=0.1), skip_scale=%.17g, "
                 "branch_scale=%.17g)", phi, gd[l], sqrt(a2d[l]));
    }
    size_t n = strlen(spec);
    snprintf(spec + n, sizeof spec - n, "; %s; dense(W_var=1.5, b_var=0.1)", phi);
    dw_net *kn = NULL;
    CHECK(dw_net_init(&kn) == DW_OK && dw_net_parse(kn, spec) == DW_OK);
    double X[6], K[4];
    memcpy(X, X0, sizeof X0);
    memcpy(X + 3, Y0, sizeof Y0);
    CHECK(dw_kernel_gram(kn, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_OK);
    CHECK_CLOSE(e ? dw_wick_expansion_coef_d(e, 0) : 0, K[1], 1e-13, 1e-14);
    dw_net_clear(kn);
    dw_wick_expansion_clear(e);
    dw_wick_net_clear(net);
}

static void test_nngp(void)
{
    static const char *g[] = {"1", "1/2"}, *a2[] = {"1/2", "9/4"}, *g1[] = {"-1/2"}, *a21[] = {"1/3"};
    const double gd[] = {1, 0.5}, a2d[] = {0.5, 2.25}, g1d[] = {-0.5}, a21d[] = {1.0 / 3};
    nngp_case(3, 3, "0.2 + z + 0.5*z^2", g, a2, gd, a2d);
    nngp_case(2, 4, "0.2 + z + 0.5*z^2 - z^3/3", g1, a21, g1d, a21d);
    /* the JSON names the blocks */
    static const char *pc[] = {"1/5", "1", "1/2"};
    dw_wick_net *net = net_of(3, 3, pc, "3/2", "1/10", 2, g, a2);
    dw_wick_expansion *e = run(net, DW_WICK_EXPAND_CONDITIONAL, X0, Y0);
    CHECK(e && strstr(dw_wick_expansion_json(e), "\"residual\": {\"gamma\": [\"1\", \"1/2\"], \"alpha2\": "
                                                  "[\"1/2\", \"9/4\"]}"));
    dw_wick_expansion_clear(e);
    dw_wick_net_clear(net);
}

static void test_terms_and_errors(void)
{
    static const char *pq[] = {"0", "1", "1/2"}, *g[] = {"1", "1"}, *a2[] = {"1/2", "1/2"}, *neg[] = {"-1"},
                      *bad[] = {"x"}, *cub[] = {"0", "1", "0", "1"};
    dw_wick_net *net = net_of(2, 3, pq, "1", "0", 1, g, a2);
    dw_wick_expansion *e = NULL;
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, true, X0, Y0, 3, &e) == DW_OK);
    CHECK(e && strstr(dw_wick_expansion_json(e), "skip2(W1 x)")); /* the readout on the inactive branch */
    const char *dot = NULL;
    CHECK(e && dw_wick_expansion_dot(e, 0, &dot) == DW_OK && dot);
    dw_wick_expansion_clear(e);
    e = NULL;
    CHECK(dw_wick_net_set_residual(net, 1, g, neg) == DW_ERR_INVALID && strstr(dw_error_message(), "alpha^2"));
    CHECK(dw_wick_net_set_residual(net, 1, bad, a2) == DW_ERR_INVALID && strstr(dw_error_message(), "gamma"));
    CHECK(dw_wick_net_set_residual(net, 1, NULL, a2) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_residual(NULL, 1, g, a2) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_residual(net, 65, g, a2) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_residual(net, 2, g, a2) == DW_OK); /* 2 blocks for depth 2 (1 block) */
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, X0, Y0, 3, &e) == DW_ERR_INVALID && !e &&
          strstr(dw_error_message(), "2 blocks given"));
    CHECK(dw_wick_net_set_depth(net, 1) == DW_OK && dw_wick_net_set_residual(net, 1, g, a2) == DW_OK);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, X0, Y0, 3, &e) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "no residual block"));
    /* the conditional route's bound on the moments: 2 K^L = 54 */
    CHECK(dw_wick_net_set_depth(net, 3) == DW_OK && dw_wick_net_set_poly(net, 4, cub) == DW_OK);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, X0, Y0, 3, &e) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "above its limit"));
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, X0, Y0, 3, &e) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "conditional route"));
    /* and its bound on the depth for a nonlinear phi */
    CHECK(dw_wick_net_set_depth(net, 4) == DW_OK && dw_wick_net_set_poly(net, 3, pq) == DW_OK);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, X0, Y0, 3, &e) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "depth <= 3"));
    dw_wick_net_clear(net);
}

int main(void)
{
    test_routes_agree();
    test_linear_closed_form();
    test_gamma_zero();
    test_nngp();
    test_terms_and_errors();
    return check_done("expand_residual");
}
