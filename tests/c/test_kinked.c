/* Kinked activations (issue 10): kink detection, the conditional 1-D route against the arc-cosine closed form,
 * the closed-form inner expectation of elu/selu against the numeric inner route and the expression, odd
 * symmetry, Price's theorem by finite differences, and the Gram matrices with kinks away from 0. */
#include "act/act.h"
#include "check.h"
#include "deepwick.h"
#include "gauss/gauss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_kink_detection(void)
{
    static const struct {
        const char *expr;
        int n;
        double k[3];
    } cases[] = {
        {"relu(z-1)", 1, {1}},
        {"min(max(z,0),6)", 2, {0, 6}},
        {"max(-1,min(1,z))", 2, {-1, 1}},
        {"relu(relu(z))", 1, {0}},
        {"relu(z)+min(exp(z)-1,0)", 1, {0}},
        {"max(z,0.1*z)", 1, {0}},
        {"abs(z+2.5)-relu(3-z)", 2, {-2.5, 3}},
        {"tanh(z)", 0, {0}},
        {"max(z^2, 4)", 2, {-2, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dw_expr *e;
        CHECK(dw_expr_parse(&e, cases[c].expr) == DW_OK);
        double k[DW_COND_MAX_KINKS];
        int n = dw_expr_kinks(e, k, DW_COND_MAX_KINKS);
        CHECK(n == cases[c].n);
        for (int i = 0; i < n && i < cases[c].n; i++) CHECK_CLOSE(k[i], cases[c].k[i], 1e-14, 1e-300);
        dw_expr_free(e);
    }
    dw_expr *e;
    CHECK(dw_expr_parse(&e, "abs(sin(z))") == DW_OK);
    double k[DW_COND_MAX_KINKS];
    CHECK(dw_expr_kinks(e, k, DW_COND_MAX_KINKS) == -1); /* too many */
    dw_expr_free(e);
    dw_act *act;
    CHECK(dw_act_init(&act, "abs(sin(z))") == DW_OK);
    double v, vd, bv, bd;
    CHECK(dw_act_dual_bound(act, 1, 1, 0.5, 1e-10, &v, &vd, &bv, &bd, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "more than 32 kinks") != NULL);
    dw_act_clear(act);
}

static const double vars[] = {1e-6, 0.01, 1, 30, 1e3};
static const double rhos[] = {-1, -1 + 1e-13, -0.99, -0.5, 0, 0.3, 0.9, 0.999, 1 - 1e-13, 1};
#define NV (sizeof vars / sizeof vars[0])
#define NR (sizeof rhos / sizeof rhos[0])

/* max(z, 0) through the kinked route against relu's arc-cosine closed form. */
static void test_relu_expression(void)
{
    dw_act *e, *r;
    CHECK(dw_act_init(&e, "max(z, 0)") == DW_OK);
    CHECK(dw_act_init(&r, "relu") == DW_OK);
    CHECK(e->nkinks == 1 && e->kinks[0] == 0.0);
    double worst = 0, worst_ratio = 0;
    for (size_t i = 0; i < NV; i++)
        for (size_t j = 0; j < NV; j += 2)
            for (size_t k = 0; k < NR; k++) {
                /* |rho| = 1 only where c = +-sqrt(ab) is exact (a == b): dw_corr takes ab - c^2 <= 16 eps ab as
                 * |rho| = 1, while the closed form sees the rounded c, and phi' jumps (Vd moves like 1e-9 there) */
                if (fabs(rhos[k]) == 1 && i != j) continue;
                const double a = vars[i], b = vars[j], c = rhos[k] * sqrt(a * b);
                double v, vd, bv, bd, V, Vd, rho, s;
                dw_corr(a, b, c, &rho, &s);
                const dw_cond_act A = {dw_act_fn, e, NULL, NULL, e->kinks, e->nkinks};
                const double sc = 0.5 * sqrt(a * b), scd = 0.5;
                CHECK(dw_dual_cond(&A, a, b, rho, s, 0, &v, &bv, &vd, &bd) == DW_OK);
                if (bv > 1e-10 * sc || bd > 1e-10 * scd) /* the refinement level the route would try next */
                    CHECK(dw_dual_cond(&A, a, b, rho, s, 1, &v, &bv, &vd, &bd) == DW_OK);
                CHECK(dw_act_dual(r, a, b, c, &V, &Vd) == DW_OK);
                const double ev = fabs(v - V), ed = fabs(vd - Vd);
                worst = fmax(worst, fmax(ev / sc, ed / scd));
                worst_ratio = fmax(worst_ratio, fmax(ev / (bv + 1e-15 * sc), ed / (bd + 1e-15 * scd)));
                if (!(ev <= bv + 4e-16 * sc) || !(ed <= bd + 4e-16 * scd) || !(bv <= 1e-10 * sc && bd <= 1e-10 * scd))
                    printf("  a=%g b=%g rho=%.17g: V %.17g vs %.17g (bound %.2e), Vd %.17g vs %.17g (bound %.2e)\n", a,
                           b, rhos[k], v, V, bv, vd, Vd, bd);
                CHECK(ev <= bv + 4e-16 * sc);  /* the bound is honest (up to the reference's own rounding) */
                CHECK(ed <= bd + 4e-16 * scd);
                CHECK(bv <= 1e-10 * sc && bd <= 1e-10 * scd);
            }
    printf("max(z,0) conditional vs arc-cosine: worst rel. error %.2e, worst error/bound %.2f\n", worst, worst_ratio);
    dw_act_clear(e);
    dw_act_clear(r);
}

/* elu and selu: closed-form inner expectation vs the numeric inner route on the same activation, and the
 * built-in against its expression spelled differently (generic numeric route end to end). */
static void test_elu(void)
{
    const char *names[2] = {"elu", "selu"};
    const char *exprs[2] = {"max(z,0) + min(0, exp(z) - 1)",
                            "1.0507009873554804934193349852946*(max(z,0)+1.6732632423543772848170429916717*min(0,exp(z)-1))"};
    for (int n = 0; n < 2; n++) {
        dw_act *b, *x;
        CHECK(dw_act_init(&b, names[n]) == DW_OK);
        CHECK(dw_act_init(&x, exprs[n]) == DW_OK);
        CHECK(b->elu == 1 && x->elu == 0 && x->nkinks == 1);
        double worst = 0;
        for (size_t i = 0; i < NV; i++)
            for (size_t j = 0; j < NV; j += 2)
                for (size_t k = 0; k < NR; k++) {
                    const double a = vars[i], bb = vars[j], c = rhos[k] * sqrt(a * bb);
                    double rho, s, v1, v2, d1, d2, e1, e2, f1, f2;
                    dw_corr(a, bb, c, &rho, &s);
                    const dw_cond_act A = {dw_act_fn, b, NULL, NULL, b->kinks, b->nkinks};
                    CHECK(dw_dual_cond(&A, a, bb, rho, s, 0, &v1, &e1, &d1, &f1) == DW_OK); /* numeric inner */
                    double V, Vd, bv, bd, X, Xd, bx, bxd;
                    CHECK(dw_act_dual_fix(b, a, bb, c, 1e-10, 1.0, 1.0, &V, &Vd, &bv, &bd) == DW_OK); /* closed */
                    v2 = V, d2 = Vd, e2 = bv, f2 = bd;
                    CHECK(fabs(v1 - v2) <= e1 + e2 + 1e-15 * fabs(v2));
                    CHECK(fabs(d1 - d2) <= f1 + f2 + 1e-15 * fabs(d2));
                    if (!(fabs(d1 - d2) <= f1 + f2 + 1e-15 * fabs(d2)) || !(fabs(v1 - v2) <= e1 + e2 + 1e-15 * fabs(v2)))
                        printf("  %s a=%g b=%g rho=%.17g: V %.17g vs %.17g (%.1e %.1e) Vd %.17g vs %.17g (%.1e %.1e)\n",
                               names[n], a, bb, rhos[k], v1, v2, e1, e2, d1, d2, f1, f2);
                    double e2a, e2b, ed2a, ed2b, t1, t2;
                    CHECK(dw_act_dual_fix(b, a, a, a, 1e-10, 1.0, 1.0, &e2a, &ed2a, &t1, &t2) == DW_OK);
                    CHECK(dw_act_dual_fix(b, bb, bb, bb, 1e-10, 1.0, 1.0, &e2b, &ed2b, &t1, &t2) == DW_OK);
                    const double sc = sqrt(e2a * e2b), scd = sqrt(ed2a * ed2b); /* the target's scales */
                    CHECK(e2 <= 1e-10 * sc && f2 <= 1e-10 * scd);
                    if (!(e2 <= 1e-10 * sc && f2 <= 1e-10 * scd))
                        printf("  %s a=%g b=%g rho=%.17g: bounds %.2e %.2e scales %.2e %.2e\n", names[n], a, bb, rhos[k],
                               e2, f2, sc, scd);
                    worst = fmax(worst, fmax(fabs(v1 - v2) / sc, fabs(d1 - d2) / scd));
                    CHECK(dw_act_dual_bound(x, a, bb, c, 1e-10, &X, &Xd, &bx, &bxd, NULL) == DW_OK);
                    CHECK(fabs(X - V) <= bx + bv + 1e-15 * fabs(V));
                    CHECK(fabs(Xd - Vd) <= bxd + bd + 1e-15 * fabs(Vd));
                }
        printf("%s: closed-form vs numeric inner, worst difference relative to sqrt(E phi(u)^2 E phi(v)^2) %.2e\n", names[n], worst);
        dw_act_clear(b);
        dw_act_clear(x);
    }
}

/* Piecewise-linear activations: detected as such, and the closed-form inner expectation against the numeric one. */
static void test_pwl(void)
{
    const char *names[4] = {"relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))", "max(z, 0.1*z)"};
    for (int n = 0; n < 4; n++) {
        dw_act *act;
        CHECK(dw_act_init(&act, names[n]) == DW_OK);
        CHECK(act->pwl == 1);
        double worst = 0;
        for (size_t i = 0; i < NV; i += 2)
            for (size_t j = 1; j < NV; j += 2)
                for (size_t k = 0; k < NR; k++) {
                    if (fabs(rhos[k]) == 1 && i != j) continue;
                    const double a = vars[i], b = vars[j], c = rhos[k] * sqrt(a * b);
                    double rho, s, v1, d1, e1, f1, v2, d2, e2, f2;
                    dw_corr(a, b, c, &rho, &s);
                    const dw_cond_act A = {dw_act_fn, act, NULL, NULL, act->kinks, act->nkinks};
                    CHECK(dw_dual_cond(&A, a, b, rho, s, 0, &v1, &e1, &d1, &f1) == DW_OK);
                    CHECK(dw_act_dual_fix(act, a, b, c, 1e-10, 1.0, 1.0, &v2, &d2, &e2, &f2) == DW_OK);
                    CHECK(fabs(v1 - v2) <= e1 + e2 + 1e-300);
                    CHECK(fabs(d1 - d2) <= f1 + f2 + 1e-300);
                    if (!(fabs(d1 - d2) <= f1 + f2 + 1e-300))
                        printf("  %s a=%g b=%g rho=%.17g: Vd %.17g (%.2e) vs %.17g (%.2e)\n", names[n], a, b, rhos[k], d1, f1, d2, f2);
                    worst = fmax(worst, fmax(fabs(v1 - v2), fabs(d1 - d2)));
                }
        printf("%s: closed-form (piecewise linear) vs numeric inner, worst absolute difference %.2e\n", names[n], worst);
        dw_act_clear(act);
    }
    dw_act *act;
    CHECK(dw_act_init(&act, "max(z,0) + min(0, exp(z) - 1)") == DW_OK);
    CHECK(act->pwl == 0);
    dw_act_clear(act);
    CHECK(dw_act_init(&act, "relu(z)^2") == DW_OK);
    CHECK(act->pwl == 0 && act->nkinks == 1);
    dw_act_clear(act);
}

/* Price's theorem d/dc E[phi(u) phi(v)] = E[phi'(u) phi'(v)] by central differences (step h and h/2,
 * Richardson), for elu (closed-form inner) and kinks away from 0. */
static void test_price(void)
{
    const char *names[4] = {"selu", "relu(z-1)", "max(-1,min(1,z))", "min(max(z,0),6)"};
    const double pts[4][3] = {{1, 1, 0.3}, {2, 0.5, -0.6}, {30, 30, 0.8}, {0.3, 4, 0.95}};
    for (int n = 0; n < 4; n++) {
        dw_act *act;
        CHECK(dw_act_init(&act, names[n]) == DW_OK);
        for (int p = 0; p < 4; p++) {
            const double a = pts[p][0], b = pts[p][1], c = pts[p][2] * sqrt(a * b), h = 1e-3 * sqrt(a * b);
            double V[4], Vd, bv, bd, tmp;
            const double off[4] = {-h, h, -0.5 * h, 0.5 * h};
            for (int k = 0; k < 4; k++)
                CHECK(dw_act_dual_fix(act, a, b, c + off[k], 1e-12, 1.0, 1.0, &V[k], &tmp, &bv, &bd) == DW_OK);
            CHECK(dw_act_dual_fix(act, a, b, c, 1e-12, 1.0, 1.0, &tmp, &Vd, &bv, &bd) == DW_OK);
            const double d1 = (V[1] - V[0]) / (2 * h), d2 = (V[3] - V[2]) / h, rich = (4 * d2 - d1) / 3;
            /* Richardson leaves O(h^4) ~ 1e-12; rounding / bounds of V over h ~ 1e-13 / 1e-3 */
            CHECK_CLOSE(rich, Vd, 1e-8, 1e-9);
        }
        dw_act_clear(act);
    }
}

/* Odd activations: V(a, b, -c) = -V(a, b, c) is not built into the route (panels are placed per sign). */
static void test_odd(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "max(-1,min(1,z))") == DW_OK);
    for (size_t i = 0; i < NV; i++)
        for (size_t k = 0; k < NR; k++) {
            const double a = vars[i], b = 2.0, c = rhos[k] * sqrt(a * b);
            double v1, v2, d1, d2, b1, b2, e1, e2;
            CHECK(dw_act_dual_fix(act, a, b, c, 1e-10, 1.0, 1.0, &v1, &d1, &b1, &e1) == DW_OK);
            CHECK(dw_act_dual_fix(act, a, b, -c, 1e-10, 1.0, 1.0, &v2, &d2, &b2, &e2) == DW_OK);
            CHECK(fabs(v1 + v2) <= b1 + b2 + 1e-16);
            CHECK(fabs(d1 - d2) <= e1 + e2 + 1e-16);
        }
    dw_act_clear(act);
}

/* Gram matrices with kinks away from 0: no refusal, the route reported, the diagonal equal to the direct
 * E[phi(u)^2] at rho = 1, and the NNGP symmetric positive semidefinite in the sense of its 2 x 2 minors. */
static void test_gram(void)
{
    const char *names[3] = {"relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))"};
    enum { N = 12, D = 3 };
    double X[N * D];
    for (int i = 0; i < N * D; i++) X[i] = sin(1.7 * i + 0.3) * (1 + (i % 5));
    for (int k = 0; k < D; k++) X[1 * D + k] = X[k] * (1 + 1e-12); /* nearly parallel pair */
    for (int n = 0; n < 3; n++) {
        dw_act *act;
        CHECK(dw_act_init(&act, names[n]) == DW_OK);
        const double wv = 2.0, bv = 0.1;
        dw_net *net = NULL;
        CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 3, act, true) == DW_OK);
        CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
        dw_kernel_info *info = NULL;
        CHECK(dw_kernel_info_init(&info) == DW_OK);
        double K[N * N], T[N * N];
        CHECK(dw_kernel_gram(net, NULL, X, N, NULL, N, D, K, T, info) == DW_OK);
        /* each expectation meets the target; the returned entries' bound (propagated through the layers) is at
         * least that, and finite (the nearly parallel pair, 1 - rho ~ 1e-24, carries its half-angle through the
         * layers: act/neardup.c; the per-tile propagation over the other pairs keeps the bound above 1e-10) */
        CHECK(dw_kernel_info_expectation_bound(info) <= 1e-10);
        CHECK(dw_kernel_info_max_bound(info) >= dw_kernel_info_expectation_bound(info));
        CHECK(dw_kernel_info_max_bound(info) > 1e-10 && dw_kernel_info_max_bound(info) < 1e-4);
        dw_kernel_info_clear(info);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                CHECK(K[i * N + j] == K[j * N + i]);
                CHECK(K[i * N + j] * K[i * N + j] <= K[i * N + i] * K[j * N + j] * (1 + 1e-12));
            }
        /* the layer-2 diagonal of row 0 by hand: K^2 = wv E[phi(u)^2] + bv */
        double x2 = 0;
        for (int k = 0; k < D; k++) x2 += X[k] * X[k];
        const double a1 = wv * x2 / D + bv;
        double V, Vd, b1, b2;
        CHECK(dw_act_dual_bound(act, a1, a1, a1, 1e-10, &V, &Vd, &b1, &b2, NULL) == DW_OK);
        CHECK(dw_net_set_fc(net, 1, act, true) == DW_OK);
        CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
        double K1[N * N];
        CHECK(dw_kernel_gram(net, NULL, X, N, NULL, N, D, K1, NULL, NULL) == DW_OK);
        CHECK_CLOSE(K1[0], wv * V + bv, 1e-12, 0);
        dw_net_clear(net);
        dw_act_clear(act);
    }
}

int main(void)
{
    test_kink_detection();
    test_relu_expression();
    test_elu();
    test_pwl();
    test_price();
    test_odd();
    test_gram();
    return check_done("test_kinked");
}
