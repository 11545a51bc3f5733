/* gauss: Gauss-Hermite rules, Hermite coefficients, Mehler series with honest bounds, 2-D quadrature, driver.
 * Every check compares two independent routes (closed forms of theory.md 1.5 (a), exact Hermite expansions,
 * double-factorial moments, composite Gauss-Legendre, finite differences). */
#include "check.h"
#include "deepwick.h"
#include "gauss/gauss.h"

#include <float.h>
#include <gmp.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- activations --------------------------------------------------------------------------------------------- */
static double f_erf(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = 1.1283791670955126 * exp(-z * z);
    return erf(z);
}
static double f_sin(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = cos(z);
    return sin(z);
}
static double f_cos(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = -sin(z);
    return cos(z);
}
static double f_exp(double z, double *d, const void *ctx)
{
    (void)ctx;
    double e = exp(z);
    if (d) *d = e;
    return e;
}
static double f_relu(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = z > 0 ? 1.0 : 0.0;
    return z > 0 ? z : 0.0;
}
static double f_tanh(double z, double *d, const void *ctx)
{
    (void)ctx;
    double t = tanh(z);
    if (d) *d = 1.0 - t * t;
    return t;
}
static double f_abs(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = z > 0 ? 1.0 : z < 0 ? -1.0 : 0.0;
    return fabs(z);
}
static double f_leaky(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = z > 0 ? 1.0 : 0.1;
    return z > 0 ? z : 0.1 * z;
}
static double f_cube(double z, double *d, const void *ctx)
{
    (void)ctx;
    if (d) *d = 3 * z * z;
    return z * z * z;
}
static double f_expsq(double z, double *d, const void *ctx)
{
    (void)ctx;
    double e = exp(z * z);
    if (d) *d = 2 * z * e;
    return e;
}

/* ---- closed forms (theory.md 1.5 (a)) ------------------------------------------------------------------------ */
static double clamp1(double r) { return r > 1 ? 1 : r < -1 ? -1 : r; }

static void exact(int act, double a, double b, double c, double *v, double *vd)
{
    /* the angle from ab - c^2 in exact rationals (GMP): near |rho| = 1 a rounded rho would move acos(rho) by
     * ~1e-16/th, and the derivative kernels of kinked activations grow like th */
    mpq_t qa, qb, qc;
    mpq_inits(qa, qb, qc, NULL);
    mpq_set_d(qa, a), mpq_set_d(qb, b), mpq_set_d(qc, c);
    mpq_mul(qa, qa, qb), mpq_mul(qc, qc, qc), mpq_sub(qa, qa, qc);
    double det = fmax(mpq_get_d(qa), 0.0);
    if (det <= 16 * DBL_EPSILON * a * b) det = 0.0; /* the documented convention: within ~8 ulp of |rho| = 1 is 1 */
    mpq_clears(qa, qb, qc, NULL);
    double th = atan2(sqrt(det), c), rho = cos(th), srho = sin(th), e = exp(-(a + b) / 2);
    switch (act) {
    case 0: { /* erf */
        double p = (1 + 2 * a) * (1 + 2 * b);
        *v = 2 / M_PI * asin(clamp1(2 * c / sqrt(p)));
        *vd = 4 / M_PI / sqrt(p - 4 * c * c);
        break;
    }
    case 1: *v = e * sinh(c), *vd = e * cosh(c); break;
    case 2: *v = e * cosh(c), *vd = e * sinh(c); break;
    case 3: *v = exp((a + b) / 2 + c), *vd = *v; break;
    case 4:
        *v = sqrt(a * b) / (2 * M_PI) * (sin(th) + (M_PI - th) * cos(th));
        *vd = (M_PI - th) / (2 * M_PI);
        break;
    case 6: /* abs */
        *v = 2 / M_PI * sqrt(a * b) * (srho + rho * (M_PI / 2 - th));
        *vd = 2 / M_PI * (M_PI / 2 - th);
        break;
    case 7: { /* leaky relu, slope 0.1: phi = 0.1 z + 0.9 relu(z) (theory.md 1.5 (a)) */
        double al = 0.1, vr, vdr;
        exact(4, a, b, c, &vr, &vdr);
        *v = al * al * c + al * (1 - al) * c + (1 - al) * (1 - al) * vr;
        *vd = al * al + al * (1 - al) + (1 - al) * (1 - al) * vdr;
        break;
    }
    default: *v = *vd = NAN;
    }
}

/* ---- tanh reference: composite 20-point Gauss-Legendre on [-L, L]^2 (independent of Gauss-Hermite) ---------- */
#define GL_N 20
#define PANELS 28
#define GL_L 10.5
static double gl_x[PANELS * GL_N], gl_w[PANELS * GL_N]; /* nodes on [-L, L], weights times the normal density */

static void gl_init(void)
{
    double t[GL_N], w[GL_N];
    for (int i = 0; i < GL_N; i++) {
        double x = cos(M_PI * (i + 0.75) / (GL_N + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = x;
            for (int k = 2; k <= GL_N; k++) {
                double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = GL_N * (x * p1 - p0) / (x * x - 1);
            double dx = p1 / dp;
            x -= dx;
            if (fabs(dx) < 1e-16) break;
        }
        t[i] = x;
        w[i] = 2 / ((1 - x * x) * dp * dp);
    }
    double h = 2 * GL_L / PANELS;
    for (int p = 0; p < PANELS; p++)
        for (int i = 0; i < GL_N; i++) {
            double x = -GL_L + h * (p + 0.5 * (t[i] + 1));
            gl_x[p * GL_N + i] = x;
            gl_w[p * GL_N + i] = 0.5 * h * w[i] * exp(-0.5 * x * x) / sqrt(2 * M_PI);
        }
}

static void gl_dual(dw_fn f, double a, double b, double c, double *v, double *vd)
{
    const int n = PANELS * GL_N;
    double rho = clamp1(c / sqrt(a * b)), s = sqrt((1 - rho) * (1 + rho)), sv = 0, svd = 0;
    for (int i = 0; i < n; i++) {
        double du, pu = f(sqrt(a) * gl_x[i], &du, NULL), g = 0, gd = 0;
        for (int j = 0; j < n; j++) {
            double dv, pv = f(sqrt(b) * (rho * gl_x[i] + s * gl_x[j]), &dv, NULL);
            g += gl_w[j] * pv;
            gd += gl_w[j] * dv;
        }
        sv += gl_w[i] * pu * g;
        svd += gl_w[i] * du * gd;
    }
    *v = sv;
    *vd = svd;
}

/* ---- tests --------------------------------------------------------------------------------------------------- */
static void test_rules(void)
{
    const int ns[] = {1, 2, 3, 5, 20, 101, 400, 1000};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        dw_gh_rule r;
        CHECK(dw_gh_rule_init(&r, n) == DW_OK);
        double sw = 0, worst = 0;
        int sorted = 1;
        for (int i = 0; i < n; i++) {
            sw += r.w[i];
            if (i && !(r.x[i] > r.x[i - 1])) sorted = 0;
        }
        CHECK(sorted);
        CHECK_CLOSE(sw, 1.0, 1e-14, 0);
        /* E[Z^{2k}] = (2k-1)!! for k <= n-1, compared in logs (log-sum-exp over the nodes) */
        for (int k = 1; k <= n - 1; k++) {
            double m = -INFINITY;
            for (int i = 0; i < n; i++)
                if (r.x[i] != 0) m = fmax(m, r.logw[i] + 2 * k * log(fabs(r.x[i])));
            double s = 0;
            for (int i = 0; i < n; i++)
                if (r.x[i] != 0) s += exp(r.logw[i] + 2 * k * log(fabs(r.x[i])) - m);
            double lm = m + log(s), want = lgamma(2.0 * k + 1) - k * log(2.0) - lgamma(k + 1.0);
            double rel = fabs(expm1(lm - want));
            if (rel > worst) worst = rel;
        }
        /* odd moments vanish (symmetry) and orthonormality of h_0..h_3 at the nodes */
        double m1 = 0, m3 = 0;
        for (int i = 0; i < n; i++) m1 += r.w[i] * r.x[i], m3 += r.w[i] * r.x[i] * r.x[i] * r.x[i];
        CHECK(fabs(m1) < 1e-15 && fabs(m3) < 1e-14);
        printf("  GH rule n = %4d: |sum w - 1| = %.1e, worst relative moment error (k <= n-1) = %.1e\n", n,
               fabs(sw - 1), worst);
        CHECK(worst < 5e-15 * n + 1e-14);
        dw_gh_rule_clear(&r);
    }
    dw_gh_rule r;
    CHECK(dw_gh_rule_init(&r, 0) == DW_ERR_INVALID);
    CHECK(dw_gh_rule_init(&r, DW_GH_MAX_N + 1) == DW_ERR_INVALID);
}

static void test_cube(void)
{
    dw_gh_rule r;
    CHECK(dw_gh_rule_init(&r, 20) == DW_OK);
    const double qs[] = {1e-3, 0.3, 1, 10};
    for (int t = 0; t < 4; t++) {
        double q = qs[t], a[11], b[11], e2, ed2, q32 = pow(q, 1.5);
        CHECK(dw_hermite_coeffs(&r, f_cube, NULL, q, 10, a, b, &e2, &ed2, NULL) == DW_OK);
        /* z^3 = He_3 + 3 He_1 = sqrt(6) h_3 + 3 h_1; 3 z^2 = 3 (sqrt(2) h_2 + h_0) */
        double wa[11] = {0}, wb[11] = {0};
        wa[1] = 3 * q32, wa[3] = sqrt(6.0) * q32, wb[0] = 3 * q, wb[2] = 3 * sqrt(2.0) * q;
        for (int k = 0; k <= 10; k++) {
            CHECK_CLOSE(a[k], wa[k], 1e-13, 1e-13 * q32);
            CHECK_CLOSE(b[k], wb[k], 1e-13, 1e-13 * q);
        }
        CHECK_CLOSE(e2, 15 * q * q * q, 1e-13, 0);   /* E Z^6 = 15 */
        CHECK_CLOSE(ed2, 9 * 3 * q * q, 1e-13, 0);   /* 9 E Z^4 */
    }
    dw_gh_rule_clear(&r);
}

static const char *act_name[] = {"erf", "sin", "cos", "exp", "relu", "tanh", "abs", "leaky"};
static dw_fn act_fn[] = {f_erf, f_sin, f_cos, f_exp, f_relu, f_tanh, f_abs, f_leaky};

static void test_grid(void)
{
    const double vars[] = {1e-3, 0.3, 1, 10};
    const double rhos[] = {-0.99, -0.5, 0, 0.3, 0.9, 0.999, 1 - 1e-9, 1};
    const double target = 1e-10;
    for (int act = 0; act < 8; act++) {
        clock_t t0 = clock();
        double worst = 0, worst_d = 0, min_ratio = INFINITY, max_bound = 0;
        int n_herm = 0, n_quad = 0, n_polar = 0, n_mixed = 0, n_cases = 0, missed = 0, dishonest = 0;
        for (int ia = 0; ia < 4; ia++)
            for (int ib = 0; ib < 4; ib++)
                for (int ir = 0; ir < 8; ir++) {
                    double a = vars[ia], b = vars[ib], c = rhos[ir] * sqrt(a * b);
                    double v, vd, bd, bdd, sc, scd, ev, evd, s1, s2, sd1, sd2;
                    const char *route = "";
                    dw_status st = dw_dual_generic(act_fn[act], NULL, a, b, c, target, &v, &vd, &bd, &bdd, &sc, &scd,
                                                   &route);
                    CHECK(st == DW_OK);
                    if (st != DW_OK) {
                        fprintf(stderr, "  %s a=%g b=%g rho=%.10g: %s\n", act_name[act], a, b, rhos[ir],
                                dw_error_message());
                        continue;
                    }
                    if (act != 5) {
                        exact(act, a, b, c, &ev, &evd);
                        exact(act, a, a, a, &s1, &sd1);
                        exact(act, b, b, b, &s2, &sd2);
                        sc = sqrt(s1 * s2);
                        scd = sqrt(fabs(sd1 * sd2));
                    } else {
                        gl_dual(f_tanh, a, b, c, &ev, &evd);
                    }
                    n_cases++;
                    if (!strcmp(route, "hermite"))
                        n_herm++;
                    else if (!strcmp(route, "quadrature-2d"))
                        n_quad++;
                    else if (!strcmp(route, "quadrature-polar"))
                        n_polar++;
                    else
                        n_mixed++;
                    double err = fabs(v - ev), errd = fabs(vd - evd);
                    double relv = err / fmax(fabs(ev), sc), reld = errd / fmax(fabs(evd), scd);
                    double claim = bd / fmax(fabs(ev), sc), claimd = bdd / fmax(fabs(evd), scd);
                    worst = fmax(worst, relv);
                    worst_d = fmax(worst_d, reld);
                    max_bound = fmax(max_bound, fmax(claim, claimd));
                    /* honesty: the reference itself is good to ~1e-14 relative; allow that slack */
                    double slack = 1e-14 * fmax(fabs(ev), sc), slackd = 1e-14 * fmax(fabs(evd), scd);
                    int honest = err <= bd + slack && errd <= bdd + slackd;
                    if (err > slack) min_ratio = fmin(min_ratio, bd / err);
                    if (errd > slackd) min_ratio = fmin(min_ratio, bdd / errd);
                    CHECK(honest);
                    if (!honest) {
                        dishonest++;
                        fprintf(stderr, "  DISHONEST %s a=%g b=%g rho=%.10g [%s]: V err %.2e bound %.2e, Vd err %.2e "
                                        "bound %.2e\n", act_name[act], a, b, rhos[ir], route, err, bd, errd, bdd);
                    }
                    int met = claim <= target && claimd <= target;
                    if (!met) {
                        missed++;
                        printf("  target missed (bound says so): %s a=%g b=%g rho=%.10g [%s] rel err V %.1e "
                               "(bound %.1e), Vd %.1e (bound %.1e)\n", act_name[act], a, b, rhos[ir], route, relv,
                               claim, reld, claimd);
                    }
                    /* accuracy: 1e-10 relative to scale wherever the bound claims the target */
                    if (met) CHECK(relv <= target && reld <= target);
                    CHECK(met); /* every activation here (smooth, or kinked at 0 only) meets the target */
                }
        printf("  %-4s: %d cases, worst rel err V %.1e Vd %.1e, worst claimed %.1e, min bound/err %.2g, routes "
               "hermite %d quadrature-2d %d polar %d mixed %d, target missed %d, dishonest %d\n", act_name[act],
               n_cases, worst, worst_d, max_bound, min_ratio, n_herm, n_quad, n_polar, n_mixed, missed, dishonest);
        printf("        (%.2f s)\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    }
}

static void test_price(void)
{
    /* d/dc E[phi(u) phi(v)] = E[phi'(u) phi'(v)] (Price), by central differences of the driver's V. */
    const double rhos[] = {-0.5, 0.3, 0.9};
    dw_fn fs[] = {f_erf, f_tanh, f_sin};
    for (int t = 0; t < 3; t++)
        for (int ir = 0; ir < 3; ir++) {
            double a = 0.3, b = 1.0, c = rhos[ir] * sqrt(a * b), h = 1e-3 * sqrt(a * b);
            double vp, vm, v0, vd, bd, bdd, sc, scd;
            const char *route;
            CHECK(dw_dual_generic(fs[t], NULL, a, b, c + h, 1e-12, &vp, NULL, &bd, NULL, &sc, NULL, &route) == DW_OK);
            CHECK(dw_dual_generic(fs[t], NULL, a, b, c - h, 1e-12, &vm, NULL, &bd, NULL, &sc, NULL, &route) == DW_OK);
            CHECK(dw_dual_generic(fs[t], NULL, a, b, c, 1e-12, &v0, &vd, &bd, &bdd, &sc, &scd, &route) == DW_OK);
            CHECK_CLOSE((vp - vm) / (2 * h), vd, 0, 1e-6 * fmax(fabs(vd), scd));
        }
    /* Stein's identity between the two coefficient sets: sqrt(k+1) a_{k+1} = sqrt(q) b_k */
    static dw_hermite h;
    CHECK(dw_hermite_expand(f_tanh, NULL, 1.0, 100, &h) == DW_OK);
    CHECK(h.stein < 1e-13);
    CHECK(dw_hermite_expand(f_erf, NULL, 10.0, 100, &h) == DW_OK);
    CHECK(h.stein < 1e-13);
    printf("  Stein self-check (tanh q=1, erf q=10): max |sqrt(k+1) a_(k+1) - sqrt(q) b_k| = %.1e\n", h.stein);
}

static void test_mehler(void)
{
    /* phi = exp: a_k(q) = exp(q/2) q^{k/2} / sqrt(k!), exact tails; sum = exp((a+b)/2 + c) */
    double a = 0.7, b = 2.0, ka[41], kb[41], ta = exp(2 * a), tb = exp(2 * b);
    for (int k = 0; k <= 40; k++) {
        ka[k] = exp(a / 2 + 0.5 * k * log(a) - 0.5 * lgamma(k + 1.0));
        kb[k] = exp(b / 2 + 0.5 * k * log(b) - 0.5 * lgamma(k + 1.0));
    }
    for (int K = 5; K <= 40; K += 5)
        for (double rho = -1; rho <= 1.0001; rho += 0.25) {
            double sa = 0, sb = 0, v, bd;
            for (int k = 0; k <= K; k++) sa += ka[k] * ka[k], sb += kb[k] * kb[k];
            CHECK(dw_mehler(ka, kb, K, rho, fmax(ta - sa, 0) + 1e-15 * ta, fmax(tb - sb, 0) + 1e-15 * tb, &v, &bd) ==
                  DW_OK);
            double want = exp((a + b) / 2 + rho * sqrt(a * b));
            CHECK(fabs(v - want) <= bd + 1e-15 * want);
            if (K == 40) CHECK_CLOSE(v, want, 1e-13, 0);
        }
    /* the polar route alone on relu at rho = 1 - 1e-12 (theta ~ 1.4e-6) */
    double v, ev, vd, evd, c = (1 - 1e-12) * sqrt(0.3 * 2.0), w, wd, r, sr;
    dw_corr(0.3, 2.0, c, &r, &sr);
    CHECK(fabs(sr - sqrt(2e-12)) <= 1e-3 * sqrt(2e-12)); /* ab - c^2 from the exact products: c is not rounded again */
    CHECK(dw_dual_quad_polar(f_relu, NULL, 0.3, 2.0, r, sr, &v, &ev, &vd, &evd) == DW_OK);
    exact(4, 0.3, 2.0, c, &w, &wd);
    CHECK(fabs(v - w) <= 1e-13 * w && fabs(v - w) <= ev + 1e-16);
    CHECK(fabs(vd - wd) <= 1e-13 && fabs(vd - wd) <= evd + 1e-16);
}

static void test_quad_and_divergence(void)
{
    /* dw_dual_quad alone against closed forms (smooth: erf, sin) */
    double v, e;
    CHECK(dw_dual_quad(f_erf, NULL, 0.3, 1.0, 0.4, 0, &v, &e) == DW_OK);
    double ev, evd;
    exact(0, 0.3, 1.0, 0.4, &ev, &evd);
    CHECK(fabs(v - ev) <= 1e-13 && fabs(v - ev) <= e + 1e-15);
    CHECK(dw_dual_quad(f_sin, NULL, 1.0, 10.0, -2.0, 1, &v, &e) == DW_OK);
    exact(1, 1.0, 10.0, -2.0, &ev, &evd);
    CHECK(fabs(v - evd) <= 1e-13 && fabs(v - evd) <= e + 1e-15);

    /* phi = exp(z^2): E[phi(u) phi(v)] = det(I - 2 Sigma)^{-1/2} while 2 max(a, b) < 1/2 ... */
    double a = 0.1, b = 0.05, c = 0.04, bd, sc;
    const char *route;
    CHECK(dw_dual_generic(f_expsq, NULL, a, b, c, 1e-10, &v, NULL, &bd, NULL, &sc, NULL, &route) == DW_OK);
    double want = 1 / sqrt((1 - 2 * a) * (1 - 2 * b) - 4 * c * c);
    CHECK_CLOSE(v, want, 1e-10, 0);
    CHECK(fabs(v - want) <= bd + 1e-15);
    /* ... and diverges at q = 1: DW_ERR_RANGE naming the variance */
    dw_status st = dw_dual_generic(f_expsq, NULL, 1.0, 1.0, 0.5, 1e-10, &v, NULL, &bd, NULL, &sc, NULL, &route);
    CHECK(st == DW_ERR_RANGE);
    CHECK(strstr(dw_error_message(), "variance q = 1") != NULL);
    printf("  exp(z^2) at q = 1: %s\n", dw_error_message());
    st = dw_dual_generic(f_expsq, NULL, 0.3, 0.3, 0.1, 1e-10, &v, NULL, &bd, NULL, &sc, NULL, &route);
    CHECK(st == DW_ERR_RANGE); /* E exp(2 q Z^2) = inf for q >= 1/4 */
    CHECK(strstr(dw_error_message(), "variance q = 0.3") != NULL);
    /* invalid arguments */
    CHECK(dw_dual_generic(f_erf, NULL, -1.0, 1.0, 0.0, 1e-10, &v, NULL, &bd, NULL, &sc, NULL, &route) ==
          DW_ERR_INVALID);
    CHECK(dw_dual_generic(f_erf, NULL, 1.0, 1.0, 1.5, 1e-10, &v, NULL, &bd, NULL, &sc, NULL, &route) ==
          DW_ERR_INVALID);
}

/* E phi^2 and E phi'^2 of the per-variance expansion against the closed forms of activations with a jump of phi'
 * at 0 (the trapezoidal node at 0 must carry the mean of the one-sided squares), and the Parseval tails. */
static void test_jump_moments(void)
{
    static dw_hermite h;
    const double qs[] = {1e-3, 0.3, 1, 7};
    for (int t = 0; t < 4; t++) {
        double q = qs[t];
        CHECK(dw_hermite_expand(f_relu, NULL, q, 100, &h) == DW_OK);
        CHECK_CLOSE(h.e2, q / 2, 1e-14, 0);
        CHECK_CLOSE(h.ed2, 0.5, 1e-14, 0);
        /* relu' = step: b_0 = 1/2, b_{2m+1} = (-1)^m (2m-1)!! / sqrt(2 pi (2m+1)!), so the tail after K = 100 is
         * 1/4 - sum_{2m+1 <= 100} b_{2m+1}^2; the reported tail must cover it */
        double tail = 0.25;
        for (int m = 0; 2 * m + 1 <= 100; m++) {
            double l = lgamma(2.0 * m + 1) - m * log(2.0) - lgamma(m + 1.0); /* log (2m-1)!! */
            tail -= exp(2 * l - lgamma(2.0 * m + 2)) / (2 * M_PI);
        }
        /* upper side: the coefficients' own error estimates (a kink converges slowly) add about 1e-4 of it */
        CHECK(h.tail_b >= tail - 1e-15 && h.tail_b <= 1.001 * tail);
        CHECK(dw_hermite_expand(f_abs, NULL, q, 100, &h) == DW_OK);
        CHECK_CLOSE(h.e2, q, 1e-14, 0);
        CHECK_CLOSE(h.ed2, 1.0, 1e-14, 0);
        CHECK(dw_hermite_expand(f_leaky, NULL, q, 100, &h) == DW_OK);
        CHECK_CLOSE(h.e2, q * (1 + 0.01) / 2, 1e-14, 0);
        CHECK_CLOSE(h.ed2, (1 + 0.01) / 2, 1e-14, 0);
    }
}

int main(void)
{
    clock_t t0 = clock();
    gl_init();
    test_rules();
    test_cube();
    test_grid();
    test_price();
    test_mehler();
    test_quad_and_divergence();
    test_jump_moments();
    printf("  time %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    return check_done("gauss");
}
