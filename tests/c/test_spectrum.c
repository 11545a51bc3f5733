/* Jacobian spectrum (theory.md 3): the two routes for the moments (NC(k) with Kreweras complements, S-transform
 * series) against each other in floating point and exactly; Fuss-Catalan and little Schroeder numbers computed
 * here from their own formulas; mu_j against closed forms (erf, sin, relu); m_1, m_2 against their closed forms;
 * orthogonal weights against free projections (m_k = C(2k, k)/2 for two relu layers) and the identity;
 * the density against the Marchenko-Pastur and arcsine laws, its normalisation and moments; criticality against
 * closed forms; every error path. */
#include "check.h"
#include "deepwick.h"
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flint/fmpz.h>

static dw_spectrum *make(const char *act_spec, int L, double sw2, double sb2, double q0, int fixed, int orth, int K,
                         dw_act **actp)
{
    dw_act *act = NULL;
    if (dw_act_init(&act, act_spec) != DW_OK) {
        CHECK(!"activation");
        return NULL;
    }
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_spectrum_opts_init(&o) == DW_OK);
    CHECK(dw_net_set_fc(net, L, act, false) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 1, &sw2) == DW_OK && dw_net_set_bias_var(net, 1, &sb2) == DW_OK);
    if (orth) CHECK(dw_net_set_law(net, "orthogonal") == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, q0) == DW_OK && dw_spectrum_opts_set_fixed_point(o, fixed) == DW_OK &&
          dw_spectrum_opts_set_kmax(o, K) == DW_OK);
    dw_spectrum *s = NULL;
    dw_status st = dw_spectrum_init(&s, net, o);
    dw_net_clear(net); /* the spectrum keeps what it needs of the net (its activation is borrowed) */
    dw_spectrum_opts_clear(o);
    if (st) {
        fprintf(stderr, "init %s: %s\n", act_spec, dw_error_message());
        CHECK(st == DW_OK);
        dw_act_clear(act);
        return NULL;
    }
    *actp = act;
    return s;
}

static void test_nc_counts(void)
{
    /* |NC(k)| = Catalan(k) */
    long cat = 1;
    for (int k = 1; k <= 12; k++) {
        cat = cat * 2 * (2 * k - 1) / (k + 1);
        long np, npairs;
        CHECK(dw_spec_nc_stats(k, &np, &npairs) == DW_OK);
        CHECK(np == cat);
        CHECK(npairs <= np);
    }
}

/* Fuss-Catalan (1/(Lk+1)) binom((L+1)k, k) from FLINT's binomials, against both exact routes. */
static void test_fuss_catalan(void)
{
    const int K = 10;
    fmpz_t b;
    fmpz_init(b);
    for (int L = 1; L <= 10; L++) {
        dw_act *act;
        dw_spectrum *s = make("identity", L, 1.0, 0.0, 1.0, 0, 0, K, &act);
        if (!s) continue;
        dw_spectrum_exact *e1 = NULL, *e2 = NULL;
        CHECK(dw_spectrum_exact_init(&e1, s, K, DW_SPECTRUM_ROUTE_NC) == DW_OK);
        CHECK(dw_spectrum_exact_init(&e2, s, K, DW_SPECTRUM_ROUTE_S) == DW_OK);
        double m[10];
        CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_S, m) == DW_OK);
        for (int k = 1; k <= K; k++) {
            fmpz_bin_uiui(b, (ulong)((L + 1) * k), (ulong)k);
            fmpz_divexact_ui(b, b, (ulong)(L * k + 1));
            char *want = fmpz_get_str(NULL, 10, b);
            CHECK(dw_spectrum_exact_m(e1, k) && !strcmp(dw_spectrum_exact_m(e1, k), want));
            CHECK(dw_spectrum_exact_m(e2, k) && !strcmp(dw_spectrum_exact_m(e2, k), want));
            CHECK_CLOSE(m[k - 1], fmpz_get_d(b), 1e-14, 0);
            flint_free(want);
        }
        dw_spectrum_exact_clear(e1);
        dw_spectrum_exact_clear(e2);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    fmpz_clear(b);
}

/* Little Schroeder numbers s_n: (n+1) s_n = 3(2n-1) s_{n-1} - (n-2) s_{n-2}, s_1 = s_2 = 1 (A001003, offset
 * so that m_k = s_{k+1}). */
static void test_schroeder(void)
{
    const int K = 12;
    dw_act *act;
    dw_spectrum *s = make("relu", 1, 2.0, 0.0, 1.0, 0, 0, K, &act);
    if (!s) return;
    double sch[16];
    sch[1] = sch[2] = 1;
    for (int n = 3; n <= K + 1; n++) sch[n] = (3.0 * (2 * n - 3) * sch[n - 1] - (n - 3) * sch[n - 2]) / n;
    dw_spectrum_exact *e = NULL;
    CHECK(dw_spectrum_exact_init(&e, s, K, DW_SPECTRUM_ROUTE_NC) == DW_OK);
    double m[12];
    CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_NC, m) == DW_OK);
    for (int k = 1; k <= K; k++) {
        char want[64];
        snprintf(want, sizeof want, "%.0f", sch[k + 1]);
        CHECK(dw_spectrum_exact_m(e, k) && !strcmp(dw_spectrum_exact_m(e, k), want));
        CHECK(m[k - 1] == sch[k + 1]);
    }
    CHECK(dw_spectrum_exact_var(e) && !strcmp(dw_spectrum_exact_var(e), "2")); /* 3 - 1^2 */
    dw_spectrum_exact_clear(e);
    dw_spectrum_clear(s);
    dw_act_clear(act);
}

/* Route 1 = route 2: 1e-12 relative in floating point for 6 activations and depths 1..8, k <= 10; exactly for
 * the rational ones. */
static void test_routes(void)
{
    const char *acts[] = {"relu", "erf", "sin", "leaky_relu:0.2", "poly:0,1,0,-0.1", "cos", "abs"};
    const int K = 10;
    double worst = 0;
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int L = 1; L <= 8; L++) {
            dw_act *act;
            const double sw2 = 1.3 + 0.1 * (double)a, sb2 = 0.05 * (double)(a % 3);
            dw_spectrum *s = make(acts[a], L, sw2, sb2, 0.7, 0, 0, K, &act);
            if (!s) continue;
            double m1[10], m2[10];
            CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_NC, m1) == DW_OK);
            CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_S, m2) == DW_OK);
            for (int k = 0; k < K; k++) {
                double r = fabs(m1[k] - m2[k]) / fabs(m1[k]);
                worst = fmax(worst, r);
                if (!(r <= 1e-12)) fprintf(stderr, "routes %s L=%d k=%d: %.17g vs %.17g\n", acts[a], L, k + 1, m1[k], m2[k]);
                CHECK(r <= 1e-12);
            }
            /* exact: the q_l of a cubic grow 3x in size per layer; keep its depth small */
            if (dw_spec_rational_act(act) && (act->fam != DW_FAM_POLY || L <= 3)) {
                dw_spectrum_exact *e1 = NULL, *e2 = NULL;
                CHECK(dw_spectrum_exact_init(&e1, s, K, DW_SPECTRUM_ROUTE_NC) == DW_OK);
                CHECK(dw_spectrum_exact_init(&e2, s, K, DW_SPECTRUM_ROUTE_S) == DW_OK);
                for (int k = 0; k < K; k++) {
                    CHECK(dw_spectrum_exact_m(e1, k + 1) && dw_spectrum_exact_m(e2, k + 1) &&
                          !strcmp(dw_spectrum_exact_m(e1, k + 1), dw_spectrum_exact_m(e2, k + 1)));
                    /* the floating-point moments round the exact ones */
                    fmpq_t x;
                    fmpq_init(x);
                    if (dw_spectrum_exact_m(e1, k + 1)) fmpq_set_str(x, dw_spectrum_exact_m(e1, k + 1), 10);
                    CHECK_CLOSE(m2[k], fmpq_get_d(x), 1e-12, 0);
                    fmpq_clear(x);
                }
                dw_spectrum_exact_clear(e1);
                dw_spectrum_exact_clear(e2);
            }
            dw_spectrum_clear(s);
            dw_act_clear(act);
        }
    printf("route 1 vs route 2: worst relative difference %.3g\n", worst);
}

/* mu_j by the quadrature law (dw_spec_law: Gauss-Legendre panels on both half lines) against closed forms:
 * erf E[phi'^2j] = (4/pi)^j / sqrt(1 + 4 j q); sin: E cos^2j(sqrt(q) Z) = 4^-j sum_m binom(2j, m)
 * exp(-(2j - 2m)^2 q / 2); exp: exp(2 j^2 q); mu_1 = E[phi'(u)phi'(u)] of dw_act_dual. The set-up uses these
 * closed forms (dw_spec_closed_mu), so the quadrature is what the density runs on. */
static void test_mu(void)
{
    const int K = 12;
    const double qs[] = {0.01, 0.3, 1.0, 4.0, 30.0};
    const char *names[] = {"erf", "sin", "exp"};
    for (int a = 0; a < 3; a++) {
        dw_act *act;
        CHECK(dw_act_init(&act, names[a]) == DW_OK);
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            double q = qs[i], mu[12], want[12], err, v, vd;
            if (a == 2 && q > 1) continue; /* exp(2 j^2 q) overflows */
            dw_d2_law law;
            CHECK(dw_spec_law(act, q, K, &law, mu, &err) == DW_OK);
            CHECK(dw_spec_closed_mu(act, q, K, want) == 1);
            for (int j = 0; j < K; j++) {
                if (a == 0) CHECK_CLOSE(want[j], pow(4 / M_PI, j + 1) / sqrt(1 + 4 * (j + 1) * q), 1e-15, 0);
                CHECK_CLOSE(mu[j], want[j], a == 2 ? 1e-11 : 1e-13, 1e-300);
                double sum = 0;
                for (int n = 0; n < law.n; n++)
                    if (law.d2[n] > 0) sum += exp(log(law.w[n]) + (j + 1) * log(law.d2[n]));
                CHECK_CLOSE(sum, mu[j], 1e-13, 0);
            }
            CHECK(err < 1e-10 * want[K - 1] + 1e-15);
            CHECK(dw_act_dual(act, q, q, q, &v, &vd) == DW_OK);
            CHECK_CLOSE(want[0], vd, 1e-13, 0);
            dw_spec_law_clear(&law);
        }
        dw_act_clear(act);
    }
    /* cos: no closed form used; the set-up's quadrature against the 2-D route of dw_act_dual for mu_1 */
    dw_act *act;
    dw_spectrum *s = make("cos", 1, 1.0, 0.0, 0.7, 0, 0, 4, &act);
    if (s) {
        double v, vd;
        CHECK(dw_act_dual(act, 0.7, 0.7, 0.7, &v, &vd) == DW_OK);
        CHECK_CLOSE(dw_spectrum_mu(s)[0], vd, 1e-13, 0);
        CHECK_CLOSE(dw_spectrum_mu(s)[0], 0.5 * (1 - exp(-1.4)), 1e-13, 0);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    /* leaky relu: (1 + alpha^2j) / 2 exactly, as a rational string */
    s = make("leaky_relu:0.1", 2, 1.5, 0.1, 2.0, 0, 0, 3, &act);
    if (s) {
        dw_spectrum_exact *e = NULL;
        CHECK(dw_spectrum_exact_init(&e, s, 3, DW_SPECTRUM_ROUTE_S) == DW_OK);
        CHECK(dw_spectrum_exact_mu(e, 1, 1) && !strcmp(dw_spectrum_exact_mu(e, 1, 1), "101/200") &&
              !strcmp(dw_spectrum_exact_mu(e, 1, 3), "1000001/2000000"));
        /* q_1 = 1.5 * 2 + 0.1 = 31/10, q_2 = 1.5 * (1.01/2) * 3.1 + 0.1 */
        CHECK(dw_spectrum_exact_q(e, 1) && !strcmp(dw_spectrum_exact_q(e, 1), "31/10") &&
              !strcmp(dw_spectrum_exact_q(e, 2), "9793/4000"));
        /* the getters' ranges: 1-based, NULL outside */
        CHECK(dw_spectrum_exact_depth(e) == 2 && dw_spectrum_exact_K(e) == 3);
        CHECK(!dw_spectrum_exact_q(e, 0) && !dw_spectrum_exact_q(e, 3) && !dw_spectrum_exact_mu(e, 1, 4) &&
              !dw_spectrum_exact_mu(e, 0, 1) && !dw_spectrum_exact_m(e, 0) && !dw_spectrum_exact_m(e, 4));
        CHECK(dw_spectrum_exact_m(e, 3) != NULL && dw_spectrum_exact_var(e) != NULL);
        dw_spectrum_exact_clear(e);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
}

/* m_1 = prod sigma^2 mu_1 and, at a fixed point, m_2 = m_1^2 (1 + L mu_2 / mu_1^2) (from the k = 2 recursion
 * m2_l = sigma^4 (mu_2 m1_{l-1}^2 + mu_1^2 m2_{l-1})), with mu from closed forms. */
static void test_m1_m2(void)
{
    const char *acts[] = {"erf", "sin", "relu"};
    for (int a = 0; a < 3; a++)
        for (int L = 1; L <= 6; L += 5) {
            dw_act *act;
            const double sw2 = a == 2 ? 1.7 : 1.4, sb2 = 0.2;
            dw_spectrum *s = make(acts[a], L, sw2, sb2, 1.0, 1, 0, 4, &act);
            if (!s) continue;
            double q = dw_spectrum_q(s)[0], mu1, mu2;
            if (a == 0) {
                mu1 = (4 / M_PI) / sqrt(1 + 4 * q);
                mu2 = pow(4 / M_PI, 2) / sqrt(1 + 8 * q);
                /* the fixed point of the closed-form map */
                CHECK_CLOSE(sw2 * (2 / M_PI) * asin(2 * q / (1 + 2 * q)) + sb2, q, 1e-13, 0);
            } else if (a == 1) {
                mu1 = 0.5 * (1 + exp(-2 * q));
                mu2 = (3 + 4 * exp(-2 * q) + exp(-8 * q)) / 8;
                CHECK_CLOSE(sw2 * 0.5 * (1 - exp(-2 * q)) + sb2, q, 1e-13, 0);
            } else {
                mu1 = mu2 = 0.5;
            }
            double m[4];
            for (int r = 1; r <= 2; r++) {
                CHECK(dw_spectrum_moments(s, 4, (dw_spectrum_route)r, m) == DW_OK);
                double m1 = pow(sw2 * mu1, L);
                CHECK_CLOSE(m[0], m1, 1e-12, 0);
                CHECK_CLOSE(m[1], m1 * m1 * (1 + L * mu2 / (mu1 * mu1)), 1e-12, 0);
            }
            dw_spectrum_clear(s);
            dw_act_clear(act);
        }
}

/* Orthogonal weights: identity gives sigma^(2Lk); relu with sigma^2 = 2: one layer 2^(k-1) (the law
 * (delta_0 + delta_2)/2), two layers C(2k, k)/2 (two free projections of trace 1/2: PQP is half arcsine on [0, 1]). */
static void test_orthogonal(void)
{
    const int K = 10;
    dw_act *act;
    dw_spectrum *s = make("identity", 3, 1.3, 0.0, 1.0, 0, 1, K, &act);
    if (s) {
        double m[10];
        CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_S, m) == DW_OK);
        for (int k = 1; k <= K; k++) CHECK_CLOSE(m[k - 1], pow(1.3, 3.0 * k), 1e-13, 0);
        CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_NC, m) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "orthogonal") != NULL);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    for (int L = 1; L <= 2; L++) {
        s = make("relu", L, 2.0, 0.0, 1.0, 0, 1, K, &act);
        if (!s) continue;
        dw_spectrum_exact *e = NULL;
        CHECK(dw_spectrum_exact_init(&e, s, K, DW_SPECTRUM_ROUTE_S) == DW_OK);
        double m[10], bin = 1;
        CHECK(dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_S, m) == DW_OK);
        for (int k = 1; k <= K; k++) {
            bin = bin * (2 * k) * (2 * k - 1) / (k * k); /* C(2k, k) */
            double want = L == 1 ? pow(2, k - 1) : bin / 2;
            char ws[64];
            snprintf(ws, sizeof ws, "%.0f", want);
            CHECK(dw_spectrum_exact_m(e, k) && !strcmp(dw_spectrum_exact_m(e, k), ws));
            CHECK_CLOSE(m[k - 1], want, 1e-13, 0);
        }
        dw_spectrum_exact_clear(e);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
}

/* Gauss-Legendre nodes on [-1, 1] for the tests' integrals. */
static void gl(int n, double *x, double *w)
{
    for (int i = 0; i < n; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        x[i] = z;
        w[i] = 2 / ((1 - z * z) * dp * dp);
    }
}

/* int t^p rho(t) dt, p = 0..4, over (hi e^-S, hi]: log-t panels below hi/2, t = hi - (hi/2)(1-u)^2 above. */
static int density_moments(const dw_spectrum *s, double S, double *I)
{
    double lo, hi;
    if (dw_spectrum_support(s, &lo, &hi) != DW_OK) return 0;
    enum { NG = 12 };
    double gx[NG], gw[NG];
    gl(NG, gx, gw);
    int npan = (int)ceil(S), n = (npan + 8) * NG;
    double *t = malloc(sizeof(double) * n), *w = malloc(sizeof(double) * n), *rho = malloc(sizeof(double) * n);
    int k = 0;
    const double a = log(hi / 2) - npan;
    for (int p = 0; p < npan; p++)
        for (int i = 0; i < NG; i++) {
            double sv = a + p + 0.5 * (gx[i] + 1);
            t[k] = exp(sv);
            w[k] = 0.5 * gw[i] * t[k];
            k++;
        }
    for (int p = 0; p < 8; p++)
        for (int i = 0; i < NG; i++) {
            double u = (p + 0.5 * (gx[i] + 1)) / 8;
            t[k] = hi - 0.5 * hi * (1 - u) * (1 - u);
            w[k] = 0.5 * gw[i] / 8 * hi * (1 - u);
            k++;
        }
    int ok = dw_spectrum_density(s, (size_t)n, t, rho) == DW_OK;
    if (!ok) fprintf(stderr, "density: %s\n", dw_error_message());
    for (int p = 0; p <= 4; p++) I[p] = 0;
    for (int i = 0; i < n && ok; i++) {
        CHECK(isfinite(rho[i]) && rho[i] >= 0);
        double tp = 1;
        for (int p = 0; p <= 4; p++) {
            I[p] += w[i] * rho[i] * tp;
            tp *= t[i];
        }
    }
    free(t);
    free(w);
    free(rho);
    return ok;
}

static void test_density(void)
{
    /* Marchenko-Pastur (linear, one layer): rho = sqrt((4 - t)/t) / (2 pi) pointwise */
    dw_act *act;
    dw_spectrum *s = make("identity", 1, 1.0, 0.0, 1.0, 0, 0, 4, &act);
    if (s) {
        double t[5] = {1e-6, 0.01, 1.0, 2.5, 3.999}, rho[5];
        CHECK(dw_spectrum_density(s, 5, t, rho) == DW_OK);
        for (int i = 0; i < 5; i++) CHECK_CLOSE(rho[i], sqrt((4 - t[i]) / t[i]) / (2 * M_PI), 1e-8, 0);
        double lo, hi;
        CHECK(dw_spectrum_support(s, &lo, &hi) == DW_OK);
        CHECK_CLOSE(hi, 4.0, 1e-12, 0);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    /* two orthogonal relu layers, sigma^2 = 2: half of the arcsine law on [0, 4], rho = 1/(2 pi sqrt(t (4 - t))) */
    s = make("relu", 2, 2.0, 0.0, 1.0, 0, 1, 4, &act);
    if (s) {
        double t[4] = {1e-4, 0.5, 2.0, 3.9}, rho[4];
        CHECK(dw_spectrum_density(s, 4, t, rho) == DW_OK);
        for (int i = 0; i < 4; i++) CHECK_CLOSE(rho[i], 1 / (2 * M_PI * sqrt(t[i] * (4 - t[i]))), 1e-8, 0);
        CHECK(dw_spectrum_atom0(s) == 0.5);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    /* one relu layer, sigma^2 = 2: the continuous part is (1/2) Marchenko-Pastur of ratio 1/2 scaled by 2, on
     * [3 - 2 sqrt 2, 3 + 2 sqrt 2]; t = a + (b - a) sin^2(theta) makes both square-root edges smooth */
    s = make("relu", 1, 2.0, 0.0, 1.0, 0, 0, 4, &act);
    if (s) {
        enum { NG = 40 };
        double gx[NG], gw[NG], t[NG], rho[NG], a = 3 - 2 * sqrt(2), b = 3 + 2 * sqrt(2), I[5] = {0}, m[4];
        gl(NG, gx, gw);
        for (int i = 0; i < NG; i++) {
            double th = M_PI / 4 * (gx[i] + 1);
            t[i] = a + (b - a) * sin(th) * sin(th);
        }
        CHECK(dw_spectrum_density(s, NG, t, rho) == DW_OK);
        for (int i = 0; i < NG; i++) {
            double th = M_PI / 4 * (gx[i] + 1), tp = 1;
            for (int p = 0; p <= 4; p++) {
                I[p] += M_PI / 4 * gw[i] * 2 * (b - a) * sin(th) * cos(th) * rho[i] * tp;
                tp *= t[i];
            }
        }
        CHECK(dw_spectrum_moments(s, 4, DW_SPECTRUM_ROUTE_NC, m) == DW_OK);
        CHECK_CLOSE(I[0] + dw_spectrum_atom0(s), 1.0, 1e-6, 0);
        for (int k = 1; k <= 4; k++) CHECK_CLOSE(I[k], m[k - 1], 1e-6, 0);
        double lo, hi, t0[2] = {a * 0.99, b * 1.01}, r0[2];
        CHECK(dw_spectrum_support(s, &lo, &hi) == DW_OK);
        CHECK_CLOSE(hi, b, 1e-12, 0);
        CHECK(dw_spectrum_density(s, 2, t0, r0) == DW_OK);
        CHECK(r0[0] < 1e-6 && r0[1] < 1e-6); /* outside the support (eta = 1e-10 t smooths by that much) */
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    /* normalisation (with the atom at 0) and m_1..m_4 to 1e-6 */
    struct {
        const char *act;
        int L, orth, fixed;
        double sw2, sb2, S;
    } cases[] = {
        {"identity", 2, 0, 0, 1.0, 0.0, 60},
        {"erf", 2, 0, 1, 1.55211785533364, 0.1, 200}, {"erf", 4, 1, 1, 1.55211785533364, 0.1, 300},
        {"sin", 3, 0, 0, 1.5, 0.1, 200},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        s = make(cases[c].act, cases[c].L, cases[c].sw2, cases[c].sb2, 1.0, cases[c].fixed, cases[c].orth, 4, &act);
        if (!s) continue;
        double I[5], m[4];
        CHECK(dw_spectrum_moments(s, 4, DW_SPECTRUM_ROUTE_S, m) == DW_OK);
        if (density_moments(s, cases[c].S, I)) {
            double a0 = dw_spectrum_atom0(s);
            if (fabs(I[0] + a0 - 1) > 1e-6 || fabs(I[4] / m[3] - 1) > 1e-6)
                fprintf(stderr, "density case %zu: mass %.10g, m %.10g %.10g %.10g %.10g vs %.10g %.10g %.10g %.10g\n", c,
                        I[0] + a0, I[1], I[2], I[3], I[4], m[0], m[1], m[2], m[3]);
            CHECK_CLOSE(I[0] + a0, 1.0, 1e-6, 0);
            for (int k = 1; k <= 4; k++) CHECK_CLOSE(I[k], m[k - 1], 1e-6, 0);
        } else {
            CHECK(!"density");
        }
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
}

static void test_criticality(void)
{
    dw_act *act;
    double w, q;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    CHECK(dw_spectrum_criticality(act, 0.0, 1.0, &w, &q) == DW_OK);
    CHECK_CLOSE(w, M_PI / 4, 1e-15, 0); /* phi'(0)^2 = 4/pi */
    CHECK(q == 0);
    for (double b = 0.05; b < 1; b *= 3) {
        CHECK(dw_spectrum_criticality(act, b, 1.0, &w, &q) == DW_OK);
        /* closed forms: q = w (2/pi) asin(2q/(1+2q)) + b, w (4/pi)/sqrt(1+4q) = 1 */
        CHECK_CLOSE(w * (2 / M_PI) * asin(2 * q / (1 + 2 * q)) + b, q, 1e-12, 0);
        CHECK_CLOSE(w * (4 / M_PI) / sqrt(1 + 4 * q), 1.0, 1e-12, 0);
    }
    dw_act_clear(act);
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    CHECK(dw_spectrum_criticality(act, 0.0, 1.0, &w, &q) == DW_OK);
    CHECK(w == 2.0);
    CHECK(dw_spectrum_criticality(act, 0.1, 1.0, &w, &q) == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "bias variance") != NULL);
    CHECK(dw_spectrum_criticality(act, -1, 1.0, &w, &q) == DW_ERR_INVALID);
    dw_act_clear(act);
    CHECK(dw_act_init(&act, "step") == DW_OK);
    CHECK(dw_spectrum_criticality(act, 0.0, 1.0, &w, &q) == DW_ERR_RANGE);
    dw_act_clear(act);
    CHECK(dw_act_init(&act, "sin") == DW_OK);
    CHECK(dw_spectrum_criticality(act, 0.2, 1.0, &w, &q) == DW_OK);
    CHECK_CLOSE(w * 0.5 * (1 - exp(-2 * q)) + 0.2, q, 1e-12, 0);
    CHECK_CLOSE(w * 0.5 * (1 + exp(-2 * q)), 1.0, 1e-12, 0);
    dw_act_clear(act);
}

static void test_errors(void)
{
    dw_act *relu, *act;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    act = relu;
    dw_spectrum_opts *o = NULL;
    CHECK(dw_spectrum_opts_init(&o) == DW_OK && o != NULL);
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK);
    dw_spectrum *s = NULL;
    /* the options' setters validate at once, naming the option */
    CHECK(dw_spectrum_opts_set_kmax(o, 0) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "K = 0") != NULL);
    CHECK(dw_spectrum_opts_set_kmax(o, DW_SPECTRUM_KMAX + 1) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "supported maximum") != NULL);
    CHECK(dw_spectrum_opts_set_kmax(o, 4) == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, 0) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "q0") != NULL);
    CHECK(dw_spectrum_opts_set_q0(o, NAN) == DW_ERR_INVALID && dw_spectrum_opts_set_q0(o, INFINITY) == DW_ERR_INVALID);
    CHECK(dw_spectrum_opts_set_q0(o, 1) == DW_OK);
    CHECK(dw_spectrum_opts_set_kmax(NULL, 4) == DW_ERR_INVALID && dw_spectrum_opts_set_q0(NULL, 1) == DW_ERR_INVALID &&
          dw_spectrum_opts_set_fixed_point(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_spectrum_opts_init(NULL) == DW_ERR_INVALID);
    dw_spectrum_opts_clear(NULL);
    /* the network: depth 0, an empty net, a readout, given weights, a complex law, weight_var 0 */
    CHECK(dw_net_set_fc(net, 0, act, false) == DW_ERR_INVALID);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && s == NULL && strstr(dw_error_message(), "no layers"));
    CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && s == NULL);
    CHECK(strstr(dw_error_message(), "spectrum: the network must end with an activation (no readout layer)") != NULL);
    {
        const size_t widths[3] = {2, 2, 2};
        const double W[4] = {1, 0, 0, 1}, *Ws[2] = {W, W};
        CHECK(dw_net_set_given(net, act, 2, widths, Ws, NULL, false) == DW_OK);
        CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "given weights"));
    }
    CHECK(dw_net_set_fc(net, 2, act, false) == DW_OK);
    CHECK(dw_net_set_law(net, "complex-gaussian") == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "real networks"));
    CHECK(dw_net_set_law(net, "orthogonal") == DW_OK && dw_net_set_gaussian_input_layer(net, true) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "gaussian_input_layer"));
    CHECK(dw_net_set_gaussian_input_layer(net, false) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_OK && dw_spectrum_orthogonal(s));
    dw_spectrum_clear(s);
    s = NULL;
    CHECK(dw_net_set_law(net, "rademacher") == DW_OK); /* any i.i.d. law: the Gaussian limit */
    CHECK(dw_spectrum_init(&s, net, o) == DW_OK && !dw_spectrum_orthogonal(s));
    dw_spectrum_clear(s);
    s = NULL;
    const double zero = 0;
    CHECK(dw_net_set_weight_var(net, 1, &zero) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "weight_var: value 1 is 0"));
    double wv[3] = {1, 2, 3};
    CHECK(dw_net_set_weight_var(net, 3, wv) == DW_ERR_INVALID);
    CHECK(dw_net_set_weight_var(net, 2, wv) == DW_OK);
    CHECK(dw_spectrum_opts_set_fixed_point(o, true) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_INVALID && strstr(dw_error_message(), "one weight variance"));
    CHECK(dw_spectrum_opts_set_fixed_point(o, false) == DW_OK);
    wv[0] = -1;
    CHECK(dw_net_set_weight_var(net, 2, wv) == DW_ERR_INVALID);
    wv[0] = 3;
    double bv = 1;
    CHECK(dw_net_set_weight_var(net, 1, wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
    CHECK(dw_spectrum_opts_set_fixed_point(o, true) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_RANGE); /* relu, sigma^2 = 3 > 2 with a bias: no fixed point */
    CHECK(strstr(dw_error_message(), "fixed point") != NULL);
    CHECK(dw_spectrum_opts_set_fixed_point(o, false) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_OK);
    double m[8], t[2] = {1.0, 0.0}, rho[2];
    CHECK(dw_spectrum_moments(s, 5, 3, m) == DW_ERR_INVALID);
    CHECK(dw_spectrum_moments(s, 5, DW_SPECTRUM_ROUTE_S, m) == DW_ERR_INVALID); /* above kmax */
    CHECK(dw_spectrum_density(s, 2, t, rho) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "abscissa 1") != NULL);
    dw_spectrum_exact *e = NULL;
    CHECK(dw_spectrum_exact_init(&e, s, DW_SPECTRUM_NC_KMAX + 1, DW_SPECTRUM_ROUTE_NC) == DW_ERR_INVALID && !e);
    CHECK(dw_spectrum_exact_init(&e, s, 0, DW_SPECTRUM_ROUTE_S) == DW_ERR_INVALID && !e);
    CHECK(dw_spectrum_exact_init(&e, s, 3, (dw_spectrum_route)7) == DW_ERR_INVALID && !e);
    CHECK(dw_spectrum_exact_init(NULL, s, 3, DW_SPECTRUM_ROUTE_S) == DW_ERR_INVALID);
    dw_spectrum_exact_clear(NULL);
    CHECK(dw_spectrum_exact_m(NULL, 1) == NULL && dw_spectrum_exact_var(NULL) == NULL);
    dw_spectrum_clear(s);
    /* exact for a non-rational activation; exact fixed point of a nonlinear polynomial */
    s = make("erf", 2, 1.0, 0.0, 1.0, 0, 0, 3, &act);
    if (s) {
        CHECK(dw_spectrum_exact_init(&e, s, 3, DW_SPECTRUM_ROUTE_S) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "not rational") != NULL);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    s = make("poly:0,1,0,-0.05", 2, 1.0, 0.1, 1.0, 1, 0, 3, &act);
    if (s) {
        CHECK(dw_spectrum_exact_init(&e, s, 3, DW_SPECTRUM_ROUTE_S) == DW_ERR_INVALID);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    /* moments of phi' overflow: exp at a large variance */
    dw_act *ex;
    CHECK(dw_act_init(&ex, "exp") == DW_OK);
    CHECK(dw_net_set_fc(net, 1, ex, false) == DW_OK && dw_net_set_law(net, "gaussian") == DW_OK);
    CHECK(dw_spectrum_opts_set_q0(o, 50) == DW_OK && dw_spectrum_opts_set_kmax(o, 12) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, o) == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "variance q = 50") != NULL);
    dw_act_clear(ex);
    /* step: J = 0, all moments 0, density 0, atom 1 */
    s = make("step", 2, 1.0, 0.0, 1.0, 0, 0, 3, &act);
    if (s) {
        CHECK(dw_spectrum_moments(s, 3, DW_SPECTRUM_ROUTE_S, m) == DW_OK && m[0] == 0 && m[2] == 0);
        CHECK(dw_spectrum_moments(s, 3, DW_SPECTRUM_ROUTE_NC, m) == DW_OK && m[0] == 0);
        CHECK(dw_spectrum_density(s, 1, t, rho) == DW_OK && rho[0] == 0);
        CHECK(dw_spectrum_atom0(s) == 1);
        dw_spectrum_clear(s);
        dw_act_clear(act);
    }
    CHECK(dw_spectrum_init(NULL, net, o) == DW_ERR_INVALID);
    CHECK(dw_spectrum_init(&s, NULL, o) == DW_ERR_INVALID && s == NULL);
    /* no options: the defaults (q0 1, kmax 8) */
    CHECK(dw_net_set_fc(net, 2, relu, false) == DW_OK);
    CHECK(dw_spectrum_init(&s, net, NULL) == DW_OK && dw_spectrum_kmax(s) == 8 && dw_spectrum_depth(s) == 2);
    dw_spectrum_clear(s);
    dw_net_clear(net);
    dw_spectrum_opts_clear(o);
    dw_act_clear(relu);
}

int main(void)
{
    test_nc_counts();
    test_fuss_catalan();
    test_schroeder();
    test_routes();
    test_mu();
    test_m1_m2();
    test_orthogonal();
    test_density();
    test_criticality();
    test_errors();
    return check_done("spectrum");
}
