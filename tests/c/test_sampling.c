/* Sampling: each weight law's mean, variance and fourth moment against theory (tolerance 5 standard errors from
 * the law's own eighth moment), Haar Q^T Q = I, bit-identical results for any thread count and any split of the
 * samples, reductions against per-sample Grams, the depth-0 Grams against the exact kernel, and the error paths. */
#include "check.h"
#include "deepwick.h"
#include "sampling/sampling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* E t^{2k} of student-t(nu) scaled to unit variance: ((nu-2)/nu)^k nu^k G(k+1/2) G(nu/2-k) / (sqrt(pi) G(nu/2)). */
static double t_moment(double nu, int k)
{
    return pow(nu - 2.0, k) * exp(lgamma(k + 0.5) + lgamma(nu / 2 - k) - lgamma(nu / 2)) / sqrt(M_PI);
}

static void law_moments(const char *spec, double m4, double m8)
{
    dw_law law;
    CHECK(dw_law_parse(&law, spec) == DW_OK);
    const size_t rows = 300, cols = 700, n = rows * cols;
    double *W = malloc(n * sizeof *W);
    CHECK(dw_sample_weights(&law, 99, 3, 2, rows, cols, W) == DW_OK);
    double s1 = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        s1 += W[i];
        s2 += W[i] * W[i];
        s4 += W[i] * W[i] * W[i] * W[i];
    }
    s1 /= n;
    s2 /= n;
    s4 /= n;
    int ok = fabs(s1) < 5 * sqrt(1.0 / n) && fabs(s2 - 1) <= 5 * sqrt((m4 - 1) / n) + 1e-12 &&
             fabs(s4 - m4) <= 5 * sqrt((m8 - m4 * m4) / n) + 1e-12;
    if (!ok) fprintf(stderr, "  %s: mean %g, var %g, m4 %g (want %g)\n", spec, s1, s2, s4, m4);
    CHECK(ok);
    free(W);
}

static int haar_check(size_t rows, size_t cols)
{
    dw_law law;
    dw_law_parse(&law, "orthogonal");
    double *W = malloc(rows * cols * sizeof *W);
    if (dw_sample_weights(&law, 5, 0, 1, rows, cols, W)) return 0;
    /* W = sqrt(m) Q: W^T W = m I (tall) or W W^T = m I (wide) */
    const size_t m = rows > cols ? rows : cols, k = rows > cols ? cols : rows;
    double worst = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0;
            for (size_t i = 0; i < m; i++)
                s += rows >= cols ? W[i * cols + a] * W[i * cols + b] : W[a * cols + i] * W[b * cols + i];
            worst = fmax(worst, fabs(s / m - (a == b)));
        }
    free(W);
    if (worst > 1e-13) fprintf(stderr, "  Haar %zu x %zu: |Q^T Q - I| = %g\n", rows, cols, worst);
    return worst <= 1e-13;
}

typedef struct {
    double *F, *G;
} result;

static dw_status run(const char *lawspec, const char *actspec, int threads, unsigned long long first, size_t S,
                     dw_sample_gram gram, int reduce, const double *X, size_t n, size_t d, result *r, double *se)
{
    static const size_t widths[3] = {70, 130, 65};
    static const double wv[4] = {1.5, 2.0, 1.2, 0.8}, bv[4] = {0.1, 0.0, 0.2, 0.3};
    dw_act *act;
    dw_act_init(&act, actspec);
    dw_sample_opts o;
    dw_sample_opts_init(&o);
    o.depth = 3;
    o.act = act;
    o.n_width = 3;
    o.width = widths;
    o.out_dim = 2;
    o.n_weight_var = 4;
    o.weight_var = wv;
    o.n_bias_var = 4;
    o.bias_var = bv;
    dw_law_parse(&o.law, lawspec);
    o.seed = 2026;
    o.first_sample = first;
    o.threads = threads;
    dw_status s = dw_sample_run(&o, X, n, d, S, r->F, gram, reduce, r->G, se);
    dw_act_clear(act);
    return s;
}

int main(void)
{
    /* ---- laws ---- */
    law_moments("gaussian", 3, 105);
    law_moments("rademacher", 1, 1);
    law_moments("uniform", 9.0 / 5, 9);
    law_moments("student-t:12", t_moment(12, 2), t_moment(12, 4));
    law_moments("sparse:0.25", 3 / 0.25, 105 / pow(0.25, 3));
    law_moments("sparse:1", 3, 105);
    {
        /* orthogonal: entries sqrt(m) Q_ij with E = 1, E^4 = 3m/(m+2) (Haar column of length m) */
        const double m = 700;
        law_moments("orthogonal", 3 * m / (m + 2), 105);
    }
    {
        /* complex: E|w|^2 = 1, E w^2 = 0, E|w|^4 = 2 (|w|^2 ~ Exp(1)), var(|w|^4) = 24 - 4 */
        dw_law law;
        CHECK(dw_law_parse(&law, "complex-gaussian") == DW_OK);
        const size_t n = 100000;
        double *W = malloc(2 * n * sizeof *W), a2 = 0, re2 = 0, reim = 0, a4 = 0;
        CHECK(dw_sample_weights(&law, 1, 2, 3, 250, 400, W) == DW_OK);
        for (size_t i = 0; i < n; i++) {
            double x = W[2 * i], y = W[2 * i + 1], q = x * x + y * y;
            a2 += q;
            re2 += x * x - y * y;
            reim += x * y;
            a4 += q * q;
        }
        CHECK(fabs(a2 / n - 1) < 5 * sqrt(1.0 / n));
        CHECK(fabs(re2 / n) < 5 * sqrt(1.0 / n) && fabs(reim / n) < 5 * sqrt(0.25 / n));
        CHECK(fabs(a4 / n - 2) < 5 * sqrt(20.0 / n));
        free(W);
    }
    CHECK(haar_check(90, 90));
    CHECK(haar_check(120, 33));
    CHECK(haar_check(17, 150));
    {
        /* the same block of a law is the same whatever the matrix it sits in (row-block streams) */
        dw_law law;
        dw_law_parse(&law, "student-t:5");
        double *A = malloc(200 * 10 * sizeof *A), *B = malloc(70 * 10 * sizeof *B);
        dw_sample_weights(&law, 4, 1, 1, 200, 10, A);
        dw_sample_weights(&law, 4, 1, 1, 70, 10, B);
        CHECK(memcmp(A, B, 70 * 10 * sizeof *A) == 0);
        dw_sample_weights(&law, 4, 2, 1, 70, 10, B);
        CHECK(memcmp(A, B, 70 * 10 * sizeof *A) != 0);
        free(A);
        free(B);
    }
    /* law errors and the warning */
    {
        dw_law law;
        char buf[64];
        CHECK(dw_law_parse(&law, "cauchy") == DW_ERR_INVALID && strstr(dw_error_message(), "unknown law"));
        CHECK(dw_law_parse(&law, "student-t:2") == DW_ERR_INVALID && strstr(dw_error_message(), "nu"));
        CHECK(dw_law_parse(&law, "student-t") == DW_ERR_INVALID);
        CHECK(dw_law_parse(&law, "student-t:abc") == DW_ERR_INVALID);
        CHECK(dw_law_parse(&law, "sparse:0") == DW_ERR_INVALID && strstr(dw_error_message(), "(0, 1]"));
        CHECK(dw_law_parse(&law, "sparse:1.5") == DW_ERR_INVALID);
        CHECK(dw_law_parse(&law, "gaussian:3") == DW_ERR_INVALID);
        CHECK(dw_law_parse(&law, NULL) == DW_ERR_INVALID);
        CHECK(dw_law_parse(&law, "student-t:3.5") == DW_OK && dw_law_warning(&law) != NULL);
        CHECK(!strcmp(dw_law_format(&law, buf, sizeof buf), "student-t:3.5"));
        CHECK(dw_law_parse(&law, "Student_T:5") == DW_OK && dw_law_warning(&law) == NULL);
        CHECK(dw_law_parse(&law, "Sparse:0.5") == DW_OK && !strcmp(dw_law_format(&law, buf, sizeof buf), "sparse:0.5"));
    }

    /* ---- networks: thread-count and split invariance, bit for bit ---- */
    const size_t n = 70, d = 5, S = 4;
    double *X = malloc(n * d * sizeof *X);
    {
        dw_rng r;
        dw_rng_init(&r, 1, 2, 3, 4);
        dw_rng_normals(&r, X, n * d);
    }
    const char *laws[] = {"gaussian", "rademacher", "uniform", "student-t:5", "sparse:0.3", "orthogonal"};
    for (size_t k = 0; k < sizeof laws / sizeof laws[0]; k++) {
        result r1 = {malloc(S * n * 2 * sizeof(double)), malloc(S * n * n * sizeof(double))};
        result r2 = {malloc(S * n * 2 * sizeof(double)), malloc(S * n * n * sizeof(double))};
        CHECK(run(laws[k], "erf", 1, 0, S, DW_SAMPLE_NTK, 0, X, n, d, &r1, NULL) == DW_OK);
        for (int th = 2; th <= 3; th++) {
            CHECK(run(laws[k], "erf", th, 0, S, DW_SAMPLE_NTK, 0, X, n, d, &r2, NULL) == DW_OK);
            int same = !memcmp(r1.F, r2.F, S * n * 2 * sizeof(double)) && !memcmp(r1.G, r2.G, S * n * n * sizeof(double));
            if (!same) fprintf(stderr, "  %s: threads 1 vs %d differ\n", laws[k], th);
            CHECK(same);
        }
        /* samples 2..3 on their own (first_sample = 2) are samples 2..3 of the whole run */
        CHECK(run(laws[k], "erf", 2, 2, 2, DW_SAMPLE_NTK, 0, X, n, d, &r2, NULL) == DW_OK);
        CHECK(!memcmp(r1.G + 2 * n * n, r2.G, 2 * n * n * sizeof(double)));
        CHECK(!memcmp(r1.F + 2 * n * 2, r2.F, 2 * n * 2 * sizeof(double)));
        /* exact symmetry */
        int sym = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) sym &= r1.G[i * n + j] == r1.G[j * n + i];
        CHECK(sym);
        /* the reduction: mean and SE of the per-sample Grams */
        double *mean = malloc(n * n * sizeof *mean), *se = malloc(n * n * sizeof *se);
        result rm = {NULL, mean};
        CHECK(run(laws[k], "erf", 3, 0, S, DW_SAMPLE_NTK, 1, X, n, d, &rm, se) == DW_OK);
        double worst = 0, worst_se = 0;
        for (size_t e = 0; e < n * n; e++) {
            double m = 0, v = 0;
            for (size_t s = 0; s < S; s++) m += r1.G[s * n * n + e] / S;
            for (size_t s = 0; s < S; s++) v += (r1.G[s * n * n + e] - m) * (r1.G[s * n * n + e] - m) / (S - 1);
            worst = fmax(worst, fabs(mean[e] - m) / fmax(fabs(m), 1));
            worst_se = fmax(worst_se, fabs(se[e] - sqrt(v / S)) / fmax(sqrt(v / S), 1e-3));
        }
        CHECK(worst < 1e-13);
        CHECK(worst_se < 1e-8);
        free(mean);
        free(se);
        free(r1.F);
        free(r1.G);
        free(r2.F);
        free(r2.G);
    }
    /* complex: thread invariance of outputs and NNGP */
    {
        result r1 = {malloc(S * n * 4 * sizeof(double)), malloc(S * n * n * sizeof(double))};
        result r2 = {malloc(S * n * 4 * sizeof(double)), malloc(S * n * n * sizeof(double))};
        CHECK(run("complex-gaussian", "relu", 1, 0, S, DW_SAMPLE_NNGP, 0, X, n, d, &r1, NULL) == DW_OK);
        CHECK(run("complex-gaussian", "relu", 3, 0, S, DW_SAMPLE_NNGP, 0, X, n, d, &r2, NULL) == DW_OK);
        CHECK(!memcmp(r1.F, r2.F, S * n * 4 * sizeof(double)) && !memcmp(r1.G, r2.G, S * n * n * sizeof(double)));
        CHECK(run("complex-gaussian", "relu", 1, 0, S, DW_SAMPLE_NTK, 0, X, n, d, &r1, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "complex") != NULL);
        free(r1.F);
        free(r1.G);
        free(r2.F);
        free(r2.G);
    }

    /* ---- depth 0: the empirical NNGP and NTK are the exact K^1 (no randomness left) ---- */
    {
        dw_act *act;
        dw_act_init(&act, "relu");
        const double wv = 1.7, bv = 0.3;
        dw_sample_opts o;
        dw_sample_opts_init(&o);
        o.act = act;
        o.weight_var = &wv;
        o.bias_var = &bv;
        dw_net *kn = NULL;
        CHECK(dw_net_init(&kn) == DW_OK && dw_net_set_fc(kn, 0, NULL, true) == DW_OK);
        CHECK(dw_net_set_weight_var(kn, 1, &wv) == DW_OK && dw_net_set_bias_var(kn, 1, &bv) == DW_OK);
        double *K = malloc(n * n * sizeof *K), *G = malloc(2 * n * n * sizeof *G);
        CHECK(dw_kernel_gram(kn, NULL, X, n, NULL, n, d, K, NULL, NULL) == DW_OK);
        dw_net_clear(kn);
        for (int g = 1; g <= 2; g++) {
            CHECK(dw_sample_run(&o, X, n, d, 2, NULL, (dw_sample_gram)g, 0, G, NULL) == DW_OK);
            double worst = 0;
            for (size_t e = 0; e < n * n; e++) worst = fmax(worst, fabs(G[e] - K[e]) / fmax(fabs(K[e]), 1));
            CHECK(worst < 1e-14);
        }
        /* errors */
        size_t w0 = 0, wbig = (size_t)1 << 30, whuge = (size_t)1 << 36;
        o.depth = 2;
        o.n_width = 1;
        o.width = &w0;
        CHECK(dw_sample_run(&o, X, n, d, 2, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "width") != NULL);
        o.width = &wbig;
        CHECK(dw_sample_run(&o, X, n, d, 2, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_NOMEM);
        CHECK(strstr(dw_error_message(), "needs") != NULL);
        CHECK(isinf(dw_sample_bytes(&o, n, d, 2, 1, DW_SAMPLE_NO_GRAM, 0)) || dw_sample_bytes(&o, n, d, 2, 1, DW_SAMPLE_NO_GRAM, 0) > 1e12);
        o.width = &whuge; /* beyond BLAS's int dimensions */
        CHECK(dw_sample_run(&o, X, n, d, 2, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "maximum") != NULL);
        CHECK(dw_sample_bytes(&o, n, d, 2, 1, DW_SAMPLE_NO_GRAM, 0) < 0);
        size_t w5 = 5;
        o.width = &w5;
        CHECK(dw_sample_run(&o, X, n, d, 0, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "samples") != NULL);
        CHECK(dw_sample_run(&o, X, n, d, 1, NULL, DW_SAMPLE_NNGP, 1, G, G + n * n) == DW_ERR_INVALID);
        CHECK(dw_sample_run(&o, X, n, d, 1, NULL, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        const double bad[2] = {1, 2};
        o.n_weight_var = 2;
        o.weight_var = bad;
        CHECK(dw_sample_run(&o, X, n, d, 1, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "weight_var") != NULL);
        o.n_weight_var = 1;
        o.law.kind = DW_LAW_SPARSE;
        o.law.param = 2;
        CHECK(dw_sample_run(&o, X, n, d, 1, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        o.law.kind = DW_LAW_GAUSSIAN;
        X[7] = NAN;
        CHECK(dw_sample_run(&o, X, n, d, 1, G, DW_SAMPLE_NO_GRAM, 0, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "not finite") != NULL);
        X[7] = 0.5;
        /* overflow: exp at huge variance is an error, never Inf/NaN */
        dw_act *ex;
        dw_act_init(&ex, "exp");
        const double huge = 1e4;
        o.act = ex;
        o.weight_var = &huge;
        o.depth = 2;
        CHECK(dw_sample_run(&o, X, n, d, 1, G, DW_SAMPLE_NNGP, 0, G, NULL) == DW_ERR_RANGE);
        dw_act_clear(ex);
        /* convergence study: argument errors, and a small run whose numbers are finite and sane */
        dw_sampling_width res[3];
        dw_sampling_fit fit;
        const size_t ws[3] = {16, 32, 64}, dup[2] = {16, 16};
        o.act = act;
        o.weight_var = &wv;
        o.depth = 0;
        CHECK(dw_sampling_converge(&o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 10, res, &fit) == DW_ERR_INVALID);
        o.depth = 2;
        CHECK(dw_sampling_converge(&o, X, 8, d, DW_SAMPLE_NTK, 1, ws, 10, res, &fit) == DW_ERR_INVALID);
        CHECK(dw_sampling_converge(&o, X, 8, d, DW_SAMPLE_NTK, 2, dup, 10, res, &fit) == DW_ERR_INVALID);
        CHECK(dw_sampling_converge(&o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 1, res, &fit) == DW_ERR_INVALID);
        CHECK(dw_sampling_converge(&o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 40, res, &fit) == DW_OK);
        CHECK(fit.slope < 0 && fit.slope_lo < fit.slope && fit.slope < fit.slope_hi && res[0].rms > res[2].rms);
        free(K);
        free(G);
        dw_act_clear(act);
    }
    free(X);
    {
        /* dw_sample_forward: a 2-3-2 network by hand (relu; biases on layer 1 only), 1 and 2 threads, error paths */
        dw_act *act = NULL;
        CHECK(dw_act_init(&act, "relu") == DW_OK);
        const double W1[] = {1, -1, 0.5, 2, -3, 1}, W2[] = {1, 2, -1, 0.5, 0.25, 1}, b1[] = {0.1, -0.2, 0.3};
        const double X[] = {1, 2, -1, 0.5, 0, 0};
        const double *W[] = {W1, W2}, *b[] = {b1, NULL};
        const size_t widths[] = {2, 3, 2};
        double F[6], G[6], want[6];
        for (int i = 0; i < 3; i++) {
            double a[3];
            for (int j = 0; j < 3; j++) {
                const double h = W1[2 * j] * X[2 * i] + W1[2 * j + 1] * X[2 * i + 1] + b1[j];
                a[j] = h > 0 ? h : 0;
            }
            for (int k = 0; k < 2; k++) want[2 * i + k] = W2[3 * k] * a[0] + W2[3 * k + 1] * a[1] + W2[3 * k + 2] * a[2];
        }
        CHECK(dw_sample_forward(act, 2, widths, W, b, X, 3, F, 1) == DW_OK);
        for (int e = 0; e < 6; e++) CHECK_CLOSE(F[e], want[e], 1e-15, 1e-15);
        CHECK(dw_sample_forward(act, 2, widths, W, b, X, 3, G, 2) == DW_OK);
        CHECK(memcmp(F, G, sizeof F) == 0);
        CHECK(dw_sample_forward(NULL, 2, widths, W, b, X, 3, F, 1) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(act, 0, widths, W, b, X, 3, F, 1) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(act, 2, widths, W, b, X, 0, F, 1) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(act, 2, widths, NULL, b, X, 3, F, 1) == DW_ERR_INVALID);
        const size_t bad_widths[] = {2, 0, 2};
        CHECK(dw_sample_forward(act, 2, bad_widths, W, b, X, 3, F, 1) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "layer 1 has no output units") != NULL);
        const double *Wn[] = {W1, NULL};
        CHECK(dw_sample_forward(act, 2, widths, Wn, b, X, 3, F, 1) == DW_ERR_INVALID);
        const double Xn[] = {1, 2, NAN, 0.5, 0, 0};
        CHECK(dw_sample_forward(act, 2, widths, W, b, Xn, 3, F, 1) == DW_ERR_INVALID);
        const double W2n[] = {1, 2, -1, 0.5, INFINITY, 1};
        const double *Wi[] = {W1, W2n};
        CHECK(dw_sample_forward(act, 2, widths, Wi, b, X, 3, F, 2) == DW_ERR_RANGE);
        CHECK(strstr(dw_error_message(), "forward: layer 2 is not finite at input row 1") != NULL);
        dw_act_clear(act);
    }
    return check_done("sampling");
}
