/* Finite networks of the architectures (src/sample/arch_*.c): the empirical NTK by back-propagation against the
 * Jacobian by central differences of the forward pass (conv, pools, residual, layernorm, dropout, standard
 * parameterisation, no bias); the NNGP's conditional form against the features of the net without its readout;
 * 1x1 convolutions against the fully connected given-weights engine on per-position vectors; sampled runs against
 * the parameter-vector calls; bit-identical results for any thread count; the error paths. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *s) { return strstr(dw_error_message(), s) != NULL; }

static dw_act *tanh_, *erf_;

/* Inputs: n points of d features, deterministic. */
static double *points(size_t n, size_t d, double shift)
{
    double *X = malloc(n * d * sizeof *X);
    for (size_t i = 0; i < n * d; i++) X[i] = sin(1.7 * (double)i + shift) + 0.3 * cos(0.37 * (double)i * (double)i);
    return X;
}

static void set_shape(dw_net *net, size_t a, size_t b, size_t c)
{
    const size_t s[3] = {a, b, c};
    CHECK(dw_net_set_input_shape(net, c ? 3 : 2, s) == DW_OK);
}

static void conv2(dw_net *net, size_t f, dw_padding pad, size_t stride, double wv, double bv, size_t out)
{
    const size_t fs[2] = {f, f}, st[2] = {stride, stride};
    CHECK(dw_net_add_conv(net, 2, fs, st, pad, wv, bv, out) == DW_OK);
}

/* 1. conv (same) > tanh > avgpool (same, normalize_edges) > conv (circular, stride 2, standard) > erf > flatten >
 *    dense readout (out 2): on 4x4x2 inputs */
static dw_net *net_conv(void)
{
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK);
    set_shape(net, 4, 4, 2);
    conv2(net, 3, DW_PAD_SAME, 1, 1.7, 0.2, 3);
    CHECK(dw_net_add_act(net, tanh_) == DW_OK);
    const size_t w[2] = {2, 2};
    CHECK(dw_net_add_pool(net, true, 2, w, NULL, DW_PAD_SAME, true) == DW_OK);
    conv2(net, 2, DW_PAD_CIRCULAR, 2, 1.3, 0.1, 2);
    CHECK(dw_net_set_last_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(net, erf_) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.1, 0.3, 2) == DW_OK);
    return net;
}

/* 2. a vector net: dense (out 4) > residual(tanh > dense(4, no bias) > layernorm, 0.8, 1.2) > dropout(train) > erf
 *    > dense readout (out 3, standard) */
static dw_net *net_res(void)
{
    dw_net *net, *b;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&b) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.5, 0.2, 4) == DW_OK);
    CHECK(dw_net_add_act(b, tanh_) == DW_OK);
    CHECK(dw_net_add_dense(b, 2.0, 0.0, 4) == DW_OK);
    CHECK(dw_net_set_last_no_bias(b) == DW_OK);
    CHECK(dw_net_add_layernorm(b, false, 0.01) == DW_OK);
    CHECK(dw_net_add_residual(net, b, 0.8, 1.2) == DW_OK);
    CHECK(dw_net_add_dropout(net, 0.7, true) == DW_OK);
    CHECK(dw_net_add_act(net, erf_) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.0, 0.1, 3) == DW_OK);
    CHECK(dw_net_set_last_param(net, DW_PARAM_STANDARD) == DW_OK);
    dw_net_clear(b);
    return net;
}

/* 3. 1-D conv (valid, stride 2) > erf > sumpool(2, stride 1) > layernorm(all) > globalavgpool > scale > dense
 *    on 7 x 2 inputs, with fanout(2) > parallel(conv | identity) > fanin_sum before the pool */
static dw_net *net_1d(void)
{
    dw_net *net, *br[2];
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&br[0]) == DW_OK && dw_net_init(&br[1]) == DW_OK);
    set_shape(net, 7, 2, 0);
    const size_t f3 = 3, s2 = 2, f1 = 1, w2 = 2;
    CHECK(dw_net_add_conv(net, 1, &f3, &s2, DW_PAD_VALID, 1.4, 0.1, 3) == DW_OK);
    CHECK(dw_net_add_act(net, erf_) == DW_OK);
    CHECK(dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(dw_net_add_conv(br[0], 1, &f1, NULL, DW_PAD_SAME, 1.2, 0.05, 3) == DW_OK);
    CHECK(dw_net_add_identity(br[1]) == DW_OK);
    CHECK(dw_net_add_parallel(net, 2, (const dw_net *const *)br) == DW_OK);
    CHECK(dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(dw_net_add_pool(net, false, 1, &w2, NULL, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_layernorm(net, true, 1e-3) == DW_OK);
    CHECK(dw_net_add_global_pool(net, true) == DW_OK);
    CHECK(dw_net_add_scale(net, 0.9) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.3, 0.2, 2) == DW_OK);
    dw_net_clear(br[0]);
    dw_net_clear(br[1]);
    return net;
}

/* The NTK by central differences of dw_sample_apply: J[i][u][p], then (1/D) sum_u J(x) . J(y). */
static void ntk_fd(dw_net *net, const dw_sample_opts *o, const double *theta, size_t np, const double *X, size_t n,
                   size_t d, size_t D, double *G)
{
    double *t = malloc(np * sizeof *t), *Fp = malloc(n * D * sizeof *Fp), *Fm = malloc(n * D * sizeof *Fm);
    double *J = calloc(n * D * np, sizeof *J);
    memcpy(t, theta, np * sizeof *t);
    for (size_t p = 0; p < np; p++) {
        const double h = 1e-5 * fmax(1.0, fabs(theta[p]));
        t[p] = theta[p] + h;
        CHECK(dw_sample_apply(net, o, t, np, X, n, d, Fp) == DW_OK);
        t[p] = theta[p] - h;
        CHECK(dw_sample_apply(net, o, t, np, X, n, d, Fm) == DW_OK);
        t[p] = theta[p];
        for (size_t r = 0; r < n * D; r++) J[r * np + p] = (Fp[r] - Fm[r]) / (2 * h);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t u = 0; u < D; u++)
                for (size_t p = 0; p < np; p++) s += J[(i * D + u) * np + p] * J[(j * D + u) * np + p];
            G[i * n + j] = s / (double)D;
        }
    free(t), free(Fp), free(Fm), free(J);
}

static void check_ntk_fd(const char *name, dw_net *net, size_t d, int dropout)
{
    const size_t n = 4;
    size_t np = 0, D = 0;
    CHECK(dw_sample_params_size(net, NULL, d, &np, &D) == DW_OK);
    double *X = points(n, d, 0.5), *theta = malloc(np * sizeof *theta), G[16], Gfd[16];
    dw_sample_opts *o;
    CHECK(dw_sample_opts_init(&o) == DW_OK && dw_sample_opts_set_seed(o, 11) == DW_OK);
    CHECK(dw_sample_opts_set_first_sample(o, 3) == DW_OK);
    CHECK(dw_sample_params(net, o, d, theta, np) == DW_OK);
    CHECK(dw_sample_params_gram(net, o, theta, np, X, n, NULL, 0, d, DW_SAMPLE_NTK, G) == DW_OK);
    ntk_fd(net, o, theta, np, X, n, d, D, Gfd);
    double worst = 0, scale = 0;
    for (size_t e = 0; e < n * n; e++) scale = fmax(scale, fabs(Gfd[e]));
    for (size_t e = 0; e < n * n; e++) worst = fmax(worst, fabs(G[e] - Gfd[e]));
    if (getenv("DW_VERBOSE") || !(worst <= 1e-7 * scale)) fprintf(stderr, "  %s: |NTK - NTK_fd| = %g of %g\n", name, worst, scale);
    CHECK(worst <= 1e-7 * scale && scale > 0);
    for (size_t i = 0; i < n; i++) /* exactly symmetric */
        for (size_t j = 0; j < n; j++) CHECK(G[i * n + j] == G[j * n + i]);
    /* the cross Gram of X against its last two rows: the same entries */
    double Gc[8];
    CHECK(dw_sample_params_gram(net, o, theta, np, X, n, X + 2 * d, 2, d, DW_SAMPLE_NTK, Gc) == DW_OK);
    /* (with train-mode dropout the masks follow the stacked rows: Y's rows are other draws) */
    for (size_t i = 0; i < n && !dropout; i++)
        for (size_t j = 0; j < 2; j++) CHECK_CLOSE(Gc[i * 2 + j], G[i * n + 2 + j], 1e-13, 1e-13);
    free(X), free(theta);
    dw_sample_opts_clear(o);
}

/* The NNGP with a dense readout: (w / C) a(x).a(y) + b, a = the output of the net without the readout. */
static void check_nngp_conditional(void)
{
    dw_net *net = net_conv();
    const size_t d = 32, n = 5;
    size_t np, D;
    CHECK(dw_sample_params_size(net, NULL, d, &np, &D) == DW_OK && D == 2);
    double *X = points(n, d, 1.0), *theta = malloc(np * sizeof *theta), G[25];
    CHECK(dw_sample_params(net, NULL, d, theta, np) == DW_OK);
    CHECK(dw_sample_params_gram(net, NULL, theta, np, X, n, NULL, 0, d, DW_SAMPLE_NNGP, G) == DW_OK);
    /* the body: the same layers but the readout, the same first parameters */
    dw_net *b;
    CHECK(dw_net_init(&b) == DW_OK);
    set_shape(b, 4, 4, 2);
    conv2(b, 3, DW_PAD_SAME, 1, 1.7, 0.2, 3);
    CHECK(dw_net_add_act(b, tanh_) == DW_OK);
    const size_t w[2] = {2, 2};
    CHECK(dw_net_add_pool(b, true, 2, w, NULL, DW_PAD_SAME, true) == DW_OK);
    conv2(b, 2, DW_PAD_CIRCULAR, 2, 1.3, 0.1, 2);
    CHECK(dw_net_set_last_param(b, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(b, erf_) == DW_OK);
    CHECK(dw_net_add_flatten(b) == DW_OK);
    size_t nb, C;
    CHECK(dw_sample_params_size(b, NULL, d, &nb, &C) == DW_OK && nb < np);
    double *A = malloc(n * C * sizeof *A);
    CHECK(dw_sample_apply(b, NULL, theta, nb, X, n, d, A) == DW_OK);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += A[i * C + c] * A[j * C + c];
            worst = fmax(worst, fabs(G[i * n + j] - (1.1 / (double)C * s + 0.3)));
        }
    CHECK(worst < 1e-13);
    free(A), free(X), free(theta);
    dw_net_clear(b);
    dw_net_clear(net);
}

/* 1x1 convolutions on P positions = the fully connected given network on each position's vector: outputs, and the
 * NTK as the mean over positions of the dense NTK of (x_p, y_p) (weights shared across positions). */
static void check_conv1x1(void)
{
    const size_t n = 3, P = 5, C = 3, d = P * C, H = 6, O = 2;
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK);
    set_shape(net, P, C, 0);
    const size_t f1 = 1;
    CHECK(dw_net_add_conv(net, 1, &f1, NULL, DW_PAD_VALID, 1.3, 0.2, H) == DW_OK);
    CHECK(dw_net_add_act(net, tanh_) == DW_OK);
    CHECK(dw_net_add_conv(net, 1, &f1, NULL, DW_PAD_SAME, 1.1, 0.3, O) == DW_OK);
    size_t np, D;
    CHECK(dw_sample_params_size(net, NULL, d, &np, &D) == DW_OK && np == C * H + H + H * O + O && D == P * O);
    double *X = points(n, d, 2.0), *theta = malloc(np * sizeof *theta);
    dw_sample_opts *o;
    CHECK(dw_sample_opts_init(&o) == DW_OK && dw_sample_opts_set_seed(o, 5) == DW_OK);
    CHECK(dw_sample_params(net, o, d, theta, np) == DW_OK);
    double F[3 * 10], G[9];
    CHECK(dw_sample_apply(net, o, theta, np, X, n, d, F) == DW_OK);
    CHECK(dw_sample_params_gram(net, o, theta, np, X, n, NULL, 0, d, DW_SAMPLE_NTK, G) == DW_OK);
    /* the given network: W1 = sqrt(1.3 / C) theta_1^T (H x C), b1 = sqrt(0.2) beta_1, ... */
    double W1[6 * 3], W2[2 * 6], b1[6], b2[2];
    const double s1 = sqrt(1.3 / C), s2 = sqrt(1.1 / H);
    for (size_t h = 0; h < H; h++) {
        for (size_t c = 0; c < C; c++) W1[h * C + c] = s1 * theta[c * H + h];
        b1[h] = sqrt(0.2) * theta[C * H + h];
    }
    const double *t2 = theta + C * H + H;
    for (size_t k = 0; k < O; k++) {
        for (size_t h = 0; h < H; h++) W2[k * H + h] = s2 * t2[h * O + k];
        b2[k] = sqrt(0.3) * t2[H * O + k];
    }
    dw_net *g;
    const double *W[2] = {W1, W2}, *b[2] = {b1, b2};
    const size_t wd[3] = {C, H, O};
    CHECK(dw_net_init(&g) == DW_OK && dw_net_set_given(g, tanh_, 2, wd, W, b, true) == DW_OK);
    const double ws[2] = {1.3 / C, 1.1 / H}, bs[2] = {0.2, 0.3};
    CHECK(dw_net_set_weight_var(g, 2, ws) == DW_OK && dw_net_set_bias_var(g, 2, bs) == DW_OK);
    double Fd[3 * 10], Gd[15 * 15];
    CHECK(dw_sample_forward(g, o, X, n * P, C, Fd) == DW_OK);
    for (size_t e = 0; e < n * D; e++) CHECK_CLOSE(F[e], Fd[e], 1e-13, 1e-14);
    CHECK(dw_sample_network_gram(g, o, X, n * P, NULL, 0, C, DW_SAMPLE_NTK, Gd) == DW_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < P; p++) s += Gd[(i * P + p) * n * P + j * P + p];
            CHECK_CLOSE(G[i * n + j], s / (double)P, 1e-12, 1e-14);
        }
    dw_net_clear(g);
    dw_net_clear(net);
    dw_sample_opts_clear(o);
    free(X), free(theta);
}

/* dw_sample_run: sample s's outputs and Grams = those of dw_sample_params (first_sample s) with the parameter calls,
 * dw_sample_forward / _network_gram = the network of first_sample; bit-identical for 1 and 3 threads; the reduced
 * mean = the mean of the per-sample Grams. */
static void check_run(dw_net *net, size_t d, int kind)
{
    const size_t n = 5, S = 3;
    size_t np, D;
    CHECK(dw_sample_params_size(net, NULL, d, &np, &D) == DW_OK);
    double *X = points(n, d, 0.1), *theta = malloc(np * sizeof *theta);
    double *F1 = malloc(S * n * D * sizeof *F1), *F3 = malloc(S * n * D * sizeof *F3), G1[3 * 25], G3[3 * 25];
    double F[50], G[25], M[25], Mse[25];
    dw_sample_opts *o;
    CHECK(dw_sample_opts_init(&o) == DW_OK && dw_sample_opts_set_seed(o, 21) == DW_OK);
    CHECK(dw_sample_opts_set_first_sample(o, 4) == DW_OK && dw_sample_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_sample_run(net, o, X, n, d, S, kind, F1, G1, NULL) == DW_OK);
    CHECK(dw_sample_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_sample_run(net, o, X, n, d, S, kind, F3, G3, NULL) == DW_OK);
    CHECK(memcmp(F1, F3, S * n * D * sizeof *F1) == 0 && memcmp(G1, G3, S * n * n * sizeof *G1) == 0);
    CHECK(dw_sample_opts_set_reduce(o, true) == DW_OK);
    CHECK(dw_sample_run(net, o, X, n, d, S, kind, NULL, M, Mse) == DW_OK);
    for (size_t e = 0; e < n * n; e++)
        CHECK_CLOSE(M[e], (G1[e] + G1[n * n + e] + G1[2 * n * n + e]) / 3.0, 1e-13, 1e-15);
    CHECK(dw_sample_opts_set_first_sample(o, 5) == DW_OK); /* sample 5 = run's second */
    CHECK(dw_sample_params(net, o, d, theta, np) == DW_OK);
    CHECK(dw_sample_apply(net, o, theta, np, X, n, d, F) == DW_OK);
    CHECK(memcmp(F, F1 + n * D, n * D * sizeof *F) == 0);
    CHECK(dw_sample_params_gram(net, o, theta, np, X, n, NULL, 0, d, kind, G) == DW_OK);
    CHECK(memcmp(G, G1 + n * n, n * n * sizeof *G) == 0);
    CHECK(dw_sample_forward(net, o, X, n, d, F) == DW_OK && memcmp(F, F1 + n * D, n * D * sizeof *F) == 0);
    CHECK(dw_sample_network_gram(net, o, X, n, NULL, 0, d, kind, G) == DW_OK && memcmp(G, G1 + n * n, sizeof G) == 0);
    double bytes = 0;
    CHECK(dw_sample_bytes(net, o, n, d, S, kind, true, &bytes) == DW_OK && bytes > 8.0 * (double)(S * n * D));
    dw_sample_opts_clear(o);
    free(X), free(theta), free(F1), free(F3);
}

static void check_errors(void)
{
    dw_net *net;
    double X[32] = {0}, th[4], F[64], G[4]; /* F: up to 18 outputs (3 x 3 positions x 2 channels) */
    size_t np;
    CHECK(dw_net_init(&net) == DW_OK);
    set_shape(net, 4, 4, 2);
    CHECK(dw_sample_params_size(net, NULL, 32, &np, NULL) == DW_ERR_INVALID && has("no layers"));
    conv2(net, 3, DW_PAD_VALID, 1, 1, 0, 0);
    CHECK(dw_sample_params_size(net, NULL, 32, &np, NULL) == DW_ERR_INVALID && has("out_chan") && has("layer 1"));
    {   /* the options' width where the net leaves one unset */
        dw_sample_opts *o;
        size_t D;
        CHECK(dw_sample_opts_init(&o) == DW_OK && dw_sample_opts_set_width(o, 5) == DW_OK);
        CHECK(dw_sample_opts_set_width(o, (size_t)1 << 31) == DW_ERR_INVALID && has("width"));
        CHECK(dw_sample_params_size(net, o, 32, &np, &D) == DW_OK && np == 9 * 2 * 5 + 5 && D == 2 * 2 * 5);
        double *Xp = points(1, 32, 0.0);
        CHECK(dw_sample_run(net, o, Xp, 1, 32, 1, DW_SAMPLE_NTK, NULL, G, NULL) == DW_OK && G[0] > 0);
        free(Xp);
        dw_sample_opts_clear(o);
    }
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK);
    set_shape(net, 4, 4, 2);
    conv2(net, 5, DW_PAD_VALID, 1, 1, 0, 2);
    CHECK(dw_sample_params_size(net, NULL, 32, &np, NULL) == DW_ERR_INVALID && has("larger than the input"));
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK);
    set_shape(net, 4, 4, 2);
    conv2(net, 2, DW_PAD_VALID, 1, 1, 0, 2);
    CHECK(dw_sample_params_size(net, NULL, 31, &np, NULL) == DW_ERR_INVALID && has("31 features"));
    CHECK(dw_sample_params_size(net, NULL, 32, &np, NULL) == DW_OK && np == 2 * 2 * 2 * 2 + 2);
    CHECK(dw_sample_params(net, NULL, 32, th, 4) == DW_ERR_INVALID && has("4 parameters given") && has("18"));
    CHECK(dw_sample_run(net, NULL, X, 1, 32, 1, DW_SAMPLE_NTK, NULL, G, NULL) == DW_OK);
    CHECK(dw_sample_run(net, NULL, X, 1, 32, 1, 7, NULL, G, NULL) == DW_ERR_INVALID && has("unknown kind"));
    CHECK(dw_sample_run(net, NULL, X, 0, 32, 1, DW_SAMPLE_NTK, NULL, G, NULL) == DW_ERR_INVALID && has("0 rows"));
    CHECK(dw_net_set_law(net, "complex-gaussian") == DW_OK);
    CHECK(dw_sample_run(net, NULL, X, 1, 32, 1, DW_SAMPLE_NNGP, NULL, G, NULL) == DW_ERR_INVALID &&
          has("complex-gaussian"));
    CHECK(dw_net_set_law(net, "gaussian") == DW_OK);
    X[3] = NAN;
    CHECK(dw_sample_run(net, NULL, X, 1, 32, 1, DW_SAMPLE_NNGP, NULL, G, NULL) == DW_ERR_INVALID);
    X[3] = 0;
    CHECK(dw_sample_network_gram(net, NULL, X, 1, NULL, 0, 32, DW_SAMPLE_NO_GRAM, G) == DW_ERR_INVALID &&
          has("kind"));
    CHECK(dw_sample_apply(net, NULL, NULL, 18, X, 1, 32, F) == DW_ERR_INVALID && has("NULL"));
    {
        double big[18];
        for (size_t k = 0; k < 18; k++) big[k] = 1e308;
        CHECK(dw_sample_apply(net, NULL, big, 18, X, 1, 32, F) == DW_OK); /* X = 0: the bias only (variance 0) */
        X[0] = X[2] = 10;
        CHECK(dw_sample_apply(net, NULL, big, 18, X, 1, 32, F) == DW_ERR_RANGE && has("not finite") &&
              has("layer 1 (conv)"));
        X[0] = X[2] = 0;
    }
    /* open streams; windows on a vector; converge with a standard layer */
    CHECK(dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(dw_sample_params_size(net, NULL, 32, &np, NULL) == DW_ERR_INVALID && has("2 open streams"));
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK);
    conv2(net, 1, DW_PAD_VALID, 1, 1, 0, 2);
    CHECK(dw_sample_params_size(net, NULL, 3, &np, NULL) == DW_ERR_INVALID && has("without spatial axes"));
    dw_net_clear(net);
    net = net_res();
    const size_t widths[2] = {4, 8};
    double per[2 * DW_SAMPLE_WIDTH_COLS], fit[DW_SAMPLE_FIT_LEN];
    CHECK(dw_sample_converge(net, NULL, X, 2, 3, DW_SAMPLE_NTK, 2, widths, 2, per, fit) == DW_ERR_INVALID &&
          has("NTK parameterisation in every layer"));
    dw_net_clear(net);
}

int main(void)
{
    CHECK(dw_act_init(&tanh_, "tanh") == DW_OK && dw_act_init(&erf_, "erf") == DW_OK);
    {
        dw_net *a = net_conv(), *b = net_res(), *c = net_1d();
        check_ntk_fd("conv/pool/flatten", a, 32, 0);
        check_ntk_fd("residual/layernorm/dropout", b, 3, 1);
        check_ntk_fd("1-D conv/parallel/sumpool/layernorm/gap", c, 14, 0);
        dw_net_clear(a), dw_net_clear(b), dw_net_clear(c);
    }
    check_nngp_conditional();
    check_conv1x1();
    {
        dw_net *a = net_conv(), *b = net_res(), *c = net_1d();
        check_run(a, 32, DW_SAMPLE_NTK);
        check_run(b, 3, DW_SAMPLE_NTK);
        check_run(c, 14, DW_SAMPLE_NNGP);
        CHECK(dw_net_set_law(a, "orthogonal") == DW_OK);
        check_run(a, 32, DW_SAMPLE_NNGP);
        dw_net_clear(a), dw_net_clear(b), dw_net_clear(c);
    }
    check_errors();
    dw_act_clear(tanh_);
    dw_act_clear(erf_);
    return check_done("sample_arch");
}
