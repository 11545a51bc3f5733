/* Sampling: each weight law's mean, variance and fourth moment against theory (tolerance 5 standard errors from
 * the law's own eighth moment), Haar Q^T Q = I, bit-identical results for any thread count and any split of the
 * samples, reductions against per-sample Grams, the depth-0 Grams against the exact kernel, and the error paths. */
#include "check.h"
#include "deepwick.h"
#include "sample/sample.h"

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
    static const double widths[3] = {70, 130, 65};
    static const double wv[4] = {1.5, 2.0, 1.2, 0.8}, bv[4] = {0.1, 0.0, 0.2, 0.3};
    dw_act *act;
    dw_act_init(&act, actspec);
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_status s;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, 3, act, true)) || (s = dw_net_set_widths(net, 3, widths)) ||
        (s = dw_net_set_out_dim(net, 2)) || (s = dw_net_set_weight_var(net, 4, wv)) ||
        (s = dw_net_set_bias_var(net, 4, bv)) || (s = dw_net_set_law(net, lawspec)) || (s = dw_sample_opts_init(&o)) ||
        (s = dw_sample_opts_set_seed(o, 2026)) || (s = dw_sample_opts_set_first_sample(o, first)) ||
        (s = dw_sample_opts_set_threads(o, threads)) || (s = dw_sample_opts_set_reduce(o, reduce)))
        goto done;
    s = dw_sample_run(net, o, X, n, d, S, gram, r->F, r->G, se);
done:
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* A depth-`depth` net with readout, one hidden width (0: none set), one weight_var, one bias_var. */
static dw_net *fc(int depth, const dw_act *act, double width, double wv, double bv)
{
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, depth, act, true) == DW_OK);
    if (width > 0) CHECK(dw_net_set_widths(net, 1, &width) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK);
    CHECK(dw_net_set_bias_var(net, 1, &bv) == DW_OK);
    return net;
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
        dw_net *net0 = fc(0, act, 0, wv, bv);
        double *K = malloc(n * n * sizeof *K), *G = malloc(2 * n * n * sizeof *G);
        CHECK(dw_kernel_gram(net0, NULL, X, n, NULL, n, d, K, NULL, NULL) == DW_OK);
        for (int g = 1; g <= 2; g++) {
            CHECK(dw_sample_run(net0, NULL, X, n, d, 2, (dw_sample_gram)g, NULL, G, NULL) == DW_OK);
            double worst = 0;
            for (size_t e = 0; e < n * n; e++) worst = fmax(worst, fabs(G[e] - K[e]) / fmax(fabs(K[e]), 1));
            CHECK(worst < 1e-14);
        }
        dw_net_clear(net0);
        /* errors */
        dw_sample_opts *o = NULL, *red = NULL;
        CHECK(dw_sample_opts_init(&o) == DW_OK && dw_sample_opts_init(&red) == DW_OK);
        CHECK(dw_sample_opts_set_reduce(red, true) == DW_OK);
        double bytes = -1;
        dw_net *net = fc(2, act, 0, wv, bv); /* no width set */
        CHECK(dw_sample_run(net, o, X, n, d, 2, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "width") != NULL);
        CHECK(dw_sample_bytes(net, o, n, d, 2, DW_SAMPLE_NO_GRAM, true, &bytes) == DW_ERR_INVALID && bytes == 0);
        CHECK(strstr(dw_error_message(), "width") != NULL);
        const double wbig = (double)((size_t)1 << 30), whuge = (double)((size_t)1 << 36), wfrac = 2.5;
        CHECK(dw_net_set_widths(net, 1, &wfrac) == DW_OK);
        CHECK(dw_sample_run(net, o, X, n, d, 2, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "width: value 1 (2.5) must be a whole number") != NULL);
        CHECK(dw_net_set_widths(net, 1, &wbig) == DW_OK);
        CHECK(dw_sample_run(net, o, X, n, d, 2, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_NOMEM);
        CHECK(strstr(dw_error_message(), "needs") != NULL);
        CHECK(dw_sample_bytes(net, o, n, d, 2, DW_SAMPLE_NO_GRAM, true, &bytes) == DW_OK);
        CHECK(isinf(bytes) || bytes > 1e12);
        CHECK(dw_net_set_widths(net, 1, &whuge) == DW_OK); /* beyond BLAS's int dimensions */
        CHECK(dw_sample_run(net, o, X, n, d, 2, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "maximum") != NULL);
        CHECK(dw_sample_bytes(net, o, n, d, 2, DW_SAMPLE_NO_GRAM, true, &bytes) == DW_ERR_INVALID);
        CHECK(dw_sample_bytes(net, o, n, d, 2, DW_SAMPLE_NO_GRAM, true, NULL) == DW_ERR_INVALID);
        const double w5 = 5;
        CHECK(dw_net_set_widths(net, 1, &w5) == DW_OK);
        CHECK(dw_sample_bytes(net, NULL, n, d, 2, DW_SAMPLE_NNGP, true, &bytes) == DW_OK && bytes > 0);
        CHECK(dw_sample_run(net, o, X, n, d, 0, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "samples") != NULL);
        CHECK(dw_sample_run(net, red, X, n, d, 1, DW_SAMPLE_NNGP, NULL, G, G + n * n) == DW_ERR_INVALID);
        CHECK(dw_sample_run(net, o, X, n, d, 1, DW_SAMPLE_NO_GRAM, NULL, NULL, NULL) == DW_ERR_INVALID);
        CHECK(dw_sample_run(net, o, X, n, d, 1, (dw_sample_gram)7, NULL, G, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "gram") != NULL);
        const double bad[2] = {1, 2};
        CHECK(dw_net_set_weight_var(net, 2, bad) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "weight_var") != NULL);
        CHECK(dw_net_set_law(net, "sparse:2") == DW_ERR_INVALID);
        X[7] = NAN;
        CHECK(dw_sample_run(net, o, X, n, d, 1, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "not finite") != NULL);
        X[7] = 0.5;
        /* the shapes the sampler takes: a readout, no given weights */
        {
            dw_net *nr = NULL;
            CHECK(dw_net_init(&nr) == DW_OK && dw_net_set_fc(nr, 2, act, false) == DW_OK);
            CHECK(dw_sample_run(nr, o, X, n, d, 1, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
            CHECK(strstr(dw_error_message(), "sample: the network must end with a dense (readout) layer") != NULL);
            const double W1[10] = {0}, *Wg[1] = {W1};
            const size_t wg[2] = {5, 2};
            CHECK(dw_net_set_given(nr, act, 1, wg, Wg, NULL, true) == DW_OK);
            CHECK(dw_sample_run(nr, o, X, n, d, 1, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
            CHECK(strstr(dw_error_message(), "given weights") != NULL);
            CHECK(dw_sample_run(NULL, o, X, n, d, 1, DW_SAMPLE_NO_GRAM, G, NULL, NULL) == DW_ERR_INVALID);
            dw_net_clear(nr);
        }
        /* overflow: exp at huge variance is an error, never Inf/NaN */
        dw_act *ex;
        dw_act_init(&ex, "exp");
        dw_net *nex = fc(2, ex, 5, 1e4, bv);
        CHECK(dw_sample_run(nex, o, X, n, d, 1, DW_SAMPLE_NNGP, G, G, NULL) == DW_ERR_RANGE);
        dw_net_clear(nex);
        dw_act_clear(ex);
        /* convergence study: argument errors, and a small run whose numbers are finite and sane */
        double res[3 * DW_SAMPLE_WIDTH_COLS], fit[DW_SAMPLE_FIT_LEN];
        const size_t ws[3] = {16, 32, 64}, dup[2] = {16, 16};
        dw_net *n0 = fc(0, act, 0, wv, bv), *n2 = fc(2, act, 0, wv, bv);
        CHECK(dw_sample_converge(n0, o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 10, res, fit) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "depth") != NULL);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 1, ws, 10, res, fit) == DW_ERR_INVALID);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 2, dup, 10, res, fit) == DW_ERR_INVALID);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 1, res, fit) == DW_ERR_INVALID);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NO_GRAM, 3, ws, 10, res, fit) == DW_ERR_INVALID);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 10, res, NULL) == DW_ERR_INVALID);
        CHECK(dw_net_set_param(n2, DW_PARAM_STANDARD) == DW_OK);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 10, res, fit) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "param") != NULL);
        CHECK(dw_net_set_param(n2, DW_PARAM_NTK) == DW_OK);
        CHECK(dw_sample_converge(n2, o, X, 8, d, DW_SAMPLE_NTK, 3, ws, 40, res, fit) == DW_OK);
        CHECK(fit[DW_SAMPLE_FIT_SLOPE] < 0 && fit[DW_SAMPLE_FIT_SLOPE_LO] < fit[DW_SAMPLE_FIT_SLOPE] &&
              fit[DW_SAMPLE_FIT_SLOPE] < fit[DW_SAMPLE_FIT_SLOPE_HI] &&
              res[DW_SAMPLE_W_RMS] > res[2 * DW_SAMPLE_WIDTH_COLS + DW_SAMPLE_W_RMS]);
        CHECK(res[DW_SAMPLE_W_WIDTH] == 16 && res[2 * DW_SAMPLE_WIDTH_COLS + DW_SAMPLE_W_WIDTH] == 64);
        /* the same study with opts NULL (the defaults: seed 0, first sample 0) gives the same numbers */
        {
            double res2[3 * DW_SAMPLE_WIDTH_COLS], fit2[DW_SAMPLE_FIT_LEN];
            CHECK(dw_sample_converge(n2, NULL, X, 8, d, DW_SAMPLE_NTK, 3, ws, 40, res2, fit2) == DW_OK);
            CHECK(!memcmp(res, res2, sizeof res) && !memcmp(fit, fit2, sizeof fit));
        }
        dw_net_clear(n0);
        dw_net_clear(n2);
        dw_net_clear(net);
        /* the options' setters and their error paths */
        CHECK(dw_sample_opts_init(NULL) == DW_ERR_INVALID);
        CHECK(dw_sample_opts_set_threads(o, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "threads") != NULL);
        CHECK(dw_sample_opts_set_threads(o, 4097) == DW_ERR_INVALID &&
              strstr(dw_error_message(), "threads: expected 0 (all cores, the OpenMP default) to 4096, got 4097") != NULL);
        CHECK(dw_sample_opts_set_threads(o, 0) == DW_OK && dw_sample_opts_set_threads(o, 3) == DW_OK);
        CHECK(dw_sample_opts_set_seed(NULL, 1) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "sample options") != NULL);
        CHECK(dw_sample_opts_set_first_sample(NULL, 1) == DW_ERR_INVALID);
        CHECK(dw_sample_opts_set_threads(NULL, 1) == DW_ERR_INVALID);
        CHECK(dw_sample_opts_set_progress(NULL, NULL, NULL) == DW_ERR_INVALID);
        CHECK(dw_sample_opts_set_reduce(NULL, true) == DW_ERR_INVALID);
        CHECK(dw_sample_opts_set_progress(o, NULL, NULL) == DW_OK);
        dw_sample_opts_clear(NULL);
        dw_sample_opts_clear(o);
        dw_sample_opts_clear(red);
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
        dw_net *net = NULL;
        dw_sample_opts *o1 = NULL, *o2 = NULL;
        CHECK(dw_net_init(&net) == DW_OK && dw_net_set_given(net, act, 2, widths, W, b, true) == DW_OK);
        CHECK(dw_sample_opts_init(&o1) == DW_OK && dw_sample_opts_set_threads(o1, 1) == DW_OK);
        CHECK(dw_sample_opts_init(&o2) == DW_OK && dw_sample_opts_set_threads(o2, 2) == DW_OK);
        CHECK(dw_sample_forward(net, o1, X, 3, 2, F) == DW_OK);
        for (int e = 0; e < 6; e++) CHECK_CLOSE(F[e], want[e], 1e-15, 1e-15);
        CHECK(dw_sample_forward(net, o2, X, 3, 2, G) == DW_OK);
        CHECK(memcmp(F, G, sizeof F) == 0);
        CHECK(dw_sample_forward(net, NULL, X, 3, 2, G) == DW_OK);
        CHECK(memcmp(F, G, sizeof F) == 0);
        /* the net's own checks (dw_net_set_given) and the call's */
        dw_net *bad = NULL;
        CHECK(dw_net_init(&bad) == DW_OK);
        CHECK(dw_net_set_given(bad, NULL, 2, widths, W, b, true) == DW_ERR_INVALID);
        CHECK(dw_net_set_given(bad, act, 0, widths, W, b, true) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(net, o1, X, 0, 2, F) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(net, o1, X, 3, 3, F) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "X: 3 columns, but the network's first layer takes 2 inputs") != NULL);
        CHECK(dw_sample_forward(net, o1, X, 3, 2, NULL) == DW_ERR_INVALID);
        CHECK(dw_sample_forward(net, o1, NULL, 3, 2, F) == DW_ERR_INVALID);
        CHECK(dw_net_set_given(bad, act, 2, widths, NULL, b, true) == DW_ERR_INVALID);
        const size_t bad_widths[] = {2, 0, 2};
        CHECK(dw_net_set_given(bad, act, 2, bad_widths, W, b, true) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "weights: width 1 is 0") != NULL);
        const double *Wn[] = {W1, NULL};
        CHECK(dw_net_set_given(bad, act, 2, widths, Wn, b, true) == DW_ERR_INVALID);
        /* a random net, or a given one without a readout, is not a given network with a readout */
        CHECK(dw_net_set_fc(bad, 1, act, true) == DW_OK);
        CHECK(dw_sample_forward(bad, o1, X, 3, 2, F) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "forward: the network has no given weights") != NULL);
        CHECK(dw_net_set_given(bad, act, 2, widths, W, b, false) == DW_OK);
        CHECK(dw_sample_forward(bad, o1, X, 3, 2, F) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "readout") != NULL);
        CHECK(dw_sample_forward(NULL, o1, X, 3, 2, F) == DW_ERR_INVALID);
        const double Xn[] = {1, 2, NAN, 0.5, 0, 0};
        CHECK(dw_sample_forward(net, o1, Xn, 3, 2, F) == DW_ERR_INVALID);
        const double W2n[] = {1, 2, -1, 0.5, INFINITY, 1};
        const double *Wi[] = {W1, W2n};
        CHECK(dw_net_set_given(bad, act, 2, widths, Wi, b, true) == DW_OK);
        CHECK(dw_sample_forward(bad, o2, X, 3, 2, F) == DW_ERR_RANGE);
        CHECK(strstr(dw_error_message(), "forward: layer 2 is not finite at input row 1") != NULL);
        dw_net_clear(bad);
        dw_net_clear(net);
        dw_sample_opts_clear(o1);
        dw_sample_opts_clear(o2);
        dw_act_clear(act);
    }
    return check_done("sampling");
}
