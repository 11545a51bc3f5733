/* Jacobian of one given finite network: J from the GEMM chain against central finite differences of a forward pass
 * written here; the squared singular values against the traces tr(J J^T) = |J|_F^2 and tr((J J^T)^2) = |J^T J|_F^2
 * computed here; Hutchinson's estimates against those exact traces within 4 standard errors, reproducibility for a
 * seed, and every error path. dw_spectrum_sample with a hashed-Gaussian drawing function (Haar by QR): independent of
 * the thread count, equal to the per-network route, and 2 m(2N) - m(N) within 4 standard errors of the limit. */
#include "check.h"
#include "core/internal.h" /* dw_fail, as the sampling module's drawing functions use it */
#include "deepwick.h"

#include <lapacke.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 88172645463325252ull;
static double unif(void) /* xorshift64 */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((double)(rs >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()); }

enum { L = 3 };
static const size_t width[L + 1] = {7, 9, 6, 8};

/* forward pass written independently: returns the output f(x) (width[L]) */
static void forward(const dw_act *act, double *const *W, double *const *b, const double *x, double *out)
{
    double a[16], h[16];
    memcpy(a, x, width[0] * sizeof(double));
    for (int l = 0; l < L; l++) {
        for (size_t i = 0; i < width[l + 1]; i++) {
            double s = b[l][i];
            for (size_t j = 0; j < width[l]; j++) s += W[l][i * width[l] + j] * a[j];
            h[i] = s;
        }
        dw_act_eval(act, width[l + 1], h, a, NULL);
    }
    memcpy(out, a, width[L] * sizeof(double));
}

/* A given network without a readout (the caller keeps the arrays alive), and Hutchinson through its options. */
static dw_net *given(const dw_act *act, int depth, const size_t *w, const double *const *W, const double *const *b)
{
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_given(net, act, (size_t)depth, w, W, b, false) == DW_OK);
    return net;
}

static dw_status hutchinson(const dw_net *net, const double *x, int K, size_t probes, unsigned long long seed,
                            double *m, double *se)
{
    dw_spectrum_sample_opts *o = NULL;
    dw_status st = dw_spectrum_sample_opts_init(&o);
    if (!st) st = dw_spectrum_sample_opts_set_K(o, K);
    if (!st) st = dw_spectrum_sample_opts_set_probes(o, probes);
    if (!st) st = dw_spectrum_sample_opts_set_seed(o, seed);
    if (!st) st = dw_spectrum_network_hutchinson(net, o, x, m, se);
    dw_spectrum_sample_opts_clear(o);
    return st;
}

static void test_network(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    double *W[L], *b[L], x[7];
    for (int l = 0; l < L; l++) {
        W[l] = malloc(width[l + 1] * width[l] * sizeof(double));
        b[l] = malloc(width[l + 1] * sizeof(double));
        for (size_t i = 0; i < width[l + 1] * width[l]; i++) W[l][i] = gauss() * sqrt(1.5 / (double)width[l]);
        for (size_t i = 0; i < width[l + 1]; i++) b[l][i] = 0.3 * gauss();
    }
    for (size_t i = 0; i < width[0]; i++) x[i] = gauss();
    dw_net *net = given(act, L, width, (const double *const *)W, (const double *const *)b);
    const size_t n0 = width[0], nL = width[L];
    double J[8 * 7], s2[7];
    CHECK(dw_spectrum_network_jacobian(net, x, J, s2) == DW_OK);
    /* central differences, step 1e-5: error O(h^2) ~ 1e-10 */
    double err = 0, scale = 0;
    for (size_t j = 0; j < n0; j++) {
        double xp[7], xm[7], fp[8], fm[8];
        memcpy(xp, x, sizeof x);
        memcpy(xm, x, sizeof x);
        xp[j] += 1e-5;
        xm[j] -= 1e-5;
        forward(act, W, b, xp, fp);
        forward(act, W, b, xm, fm);
        for (size_t i = 0; i < nL; i++) {
            double fd = (fp[i] - fm[i]) / 2e-5;
            err = fmax(err, fabs(fd - J[i * n0 + j]));
            scale = fmax(scale, fabs(J[i * n0 + j]));
        }
    }
    CHECK(scale > 0.01 && err < 1e-8 * fmax(1, scale));
    /* traces: sum s2 = |J|_F^2, sum s2^2 = |J^T J|_F^2; descending order */
    double f1 = 0, f2 = 0, t1 = 0, t2 = 0;
    for (size_t i = 0; i < nL * n0; i++) f1 += J[i] * J[i];
    for (size_t a = 0; a < n0; a++)
        for (size_t c = 0; c < n0; c++) {
            double g = 0;
            for (size_t i = 0; i < nL; i++) g += J[i * n0 + a] * J[i * n0 + c];
            f2 += g * g;
        }
    int desc = 1;
    for (size_t i = 0; i < n0; i++) {
        t1 += s2[i];
        t2 += s2[i] * s2[i];
        if (i && s2[i] > s2[i - 1]) desc = 0;
    }
    CHECK(desc);
    CHECK_CLOSE(t1, f1, 1e-13, 0);
    CHECK_CLOSE(t2, f2, 1e-13, 0);
    /* Hutchinson against the exact (1/N_0) tr (J^T J)^k within 4 standard errors; J alone (s2 NULL) */
    double J2[8 * 7];
    CHECK(dw_spectrum_network_jacobian(net, x, J2, NULL) == DW_OK && memcmp(J, J2, sizeof J) == 0);
    double m[5], se[5], m2[5], se2[5];
    CHECK(hutchinson(net, x, 5, 4000, 7, m, se) == DW_OK);
    for (int k = 1; k <= 5; k++) {
        double ex = 0;
        for (size_t i = 0; i < n0; i++) ex += pow(s2[i], k);
        ex /= (double)n0;
        CHECK(se[k - 1] > 0 && se[k - 1] < 0.05 * ex);
        if (!(fabs(m[k - 1] - ex) <= 4 * se[k - 1]))
            fprintf(stderr, "hutchinson k=%d: %g vs %g (se %g)\n", k, m[k - 1], ex, se[k - 1]);
        CHECK(fabs(m[k - 1] - ex) <= 4 * se[k - 1]);
    }
    CHECK(hutchinson(net, x, 5, 4000, 7, m2, se2) == DW_OK);
    CHECK(memcmp(m, m2, sizeof m) == 0 && memcmp(se, se2, sizeof se) == 0);
    CHECK(hutchinson(net, x, 5, 4000, 8, m2, se2) == DW_OK && m2[0] != m[0]);
    /* no biases at all (b NULL) equals zero biases */
    dw_net *nb = given(act, L, width, (const double *const *)W, NULL);
    for (int l = 0; l < L; l++) memset(b[l], 0, width[l + 1] * sizeof(double));
    CHECK(dw_spectrum_network_jacobian(net, x, J, NULL) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(nb, x, J2, NULL) == DW_OK && memcmp(J, J2, sizeof J) == 0);

    /* errors: the net's own (depth 0, a zero width, a NULL matrix: dw_net_set_given refuses them), the shapes the
     * spectrum refuses (a readout, random weights, an empty net), the input, the options */
    dw_net *e = NULL;
    CHECK(dw_net_init(&e) == DW_OK);
    CHECK(dw_net_set_given(e, act, 0, width, (const double *const *)W, NULL, false) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_jacobian(e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "no layers"));
    CHECK(dw_spectrum_network_jacobian(NULL, x, J, s2) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_jacobian(net, NULL, J, s2) == DW_ERR_INVALID);
    size_t wz[L + 1] = {7, 0, 6, 8};
    CHECK(dw_net_set_given(e, act, L, wz, (const double *const *)W, NULL, false) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "width 1 is 0"));
    const double *Wn[L] = {W[0], NULL, W[2]};
    CHECK(dw_net_set_given(e, act, L, width, Wn, NULL, false) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "matrix 2 is NULL"));
    CHECK(dw_net_set_given(e, act, L, width, (const double *const *)W, NULL, true) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(e, x, J, s2) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "network: the network must end with an activation (no readout layer)"));
    CHECK(dw_net_set_fc(e, L, act, false) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "no given weights"));
    CHECK(hutchinson(e, x, 3, 10, 1, m, se) == DW_ERR_INVALID && strstr(dw_error_message(), "no given weights"));
    size_t wide[L + 1] = {7, DW_SPECTRUM_WIDTH_MAX + 1, 6, 8};
    CHECK(dw_net_set_given(e, act, L, wide, (const double *const *)W, NULL, false) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "N_1 = 46341"));
    double xbad[7];
    memcpy(xbad, x, sizeof x);
    xbad[3] = NAN;
    CHECK(dw_spectrum_network_jacobian(net, xbad, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "x[3]"));
    CHECK(hutchinson(net, x, 0, 10, 1, m, se) == DW_ERR_INVALID && strstr(dw_error_message(), "K = 0"));
    CHECK(hutchinson(net, x, DW_SPECTRUM_KMAX + 1, 10, 1, m, se) == DW_ERR_INVALID);
    CHECK(hutchinson(net, x, 3, 1, 1, m, se) == DW_ERR_INVALID && strstr(dw_error_message(), "probes"));
    CHECK(hutchinson(net, x, 3, 0, 1, m, se) == DW_ERR_INVALID && strstr(dw_error_message(), "probes: 0"));
    CHECK(hutchinson(net, x, 3, 10, 1, NULL, se) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_hutchinson(net, NULL, x, m, se) == DW_ERR_INVALID);
    /* overflow in the forward pass: exp of a huge pre-activation */
    dw_act *ex;
    CHECK(dw_act_init(&ex, "exp") == DW_OK);
    CHECK(dw_net_set_given(e, ex, L, width, (const double *const *)W, (const double *const *)b, false) == DW_OK);
    W[0][0] = 1e300;
    x[0] = 1e10;
    CHECK(dw_spectrum_network_jacobian(e, x, J, s2) == DW_ERR_RANGE && strstr(dw_error_message(), "layer 1"));
    CHECK(hutchinson(e, x, 3, 10, 1, m, se) == DW_ERR_RANGE);
    dw_net_clear(e);
    dw_net_clear(nb);
    dw_net_clear(net);
    dw_act_clear(ex);
    for (int l = 0; l < L; l++) {
        free(W[l]);
        free(b[l]);
    }
    dw_act_clear(act);
}

/* ---- dw_spectrum_sample with a drawing function written here ---- */

typedef struct drawer {
    int orth;
    int fail_at; /* sample index whose bias draw fails, or -1 */
    int zero_input;
} drawer;

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* standard normal number i of the stream (sample, what, layer): Box-Muller on two hashed uniforms */
static double hnormal(unsigned long long s, int what, int layer, size_t i)
{
    uint64_t k = mix(mix(mix((uint64_t)s * 3 + (uint64_t)what) + (uint64_t)layer) + (uint64_t)i);
    double u1 = ((double)(k >> 11) + 0.5) / 9007199254740992.0, u2 = ((double)(mix(k) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static dw_status draw(void *ctx, unsigned long long s, dw_spectrum_draw_what what, int layer, size_t rows, size_t cols,
                      double *out)
{
    const drawer *d = ctx;
    if (what == DW_SPECTRUM_DRAW_BIAS && (int)s == d->fail_at) return dw_fail(DW_ERR_INVALID, "test draw failed at %llu", s);
    for (size_t i = 0; i < rows * cols; i++) out[i] = d->zero_input && what == DW_SPECTRUM_DRAW_INPUT ? 0 : hnormal(s, (int)what, layer, i);
    if (what == DW_SPECTRUM_DRAW_WEIGHTS && d->orth) { /* sqrt(N) Q, Q Haar: QR with the sign fix */
        const size_t n = rows;
        double *tau = malloc(n * sizeof(double)), *diag = malloc(n * sizeof(double));
        LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, out, (lapack_int)n, tau);
        for (size_t i = 0; i < n; i++) diag[i] = out[i * n + i] < 0 ? -1 : 1;
        LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, (lapack_int)n, out, (lapack_int)n, tau);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) out[i * n + j] *= diag[j] * sqrt((double)n);
        free(tau);
        free(diag);
    }
    return DW_OK;
}

/* The sampled networks' net: depth L without a readout, one width N, one weight and bias variance. */
static dw_net *fc(const dw_act *act, int L, double N, double sw2, double sb2, int orth)
{
    dw_net *net = NULL;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, L, act, false) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 1, &sw2) == DW_OK && dw_net_set_bias_var(net, 1, &sb2) == DW_OK);
    if (N > 0) CHECK(dw_net_set_widths(net, 1, &N) == DW_OK);
    if (orth) CHECK(dw_net_set_law(net, "orthogonal") == DW_OK);
    return net;
}

/* 2 m(2N) - m(N) against the limit within 4 standard errors */
static void check_limit(const char *spec, int L, double sw2, double sb2, int orth, size_t N, size_t S)
{
    dw_act *act;
    CHECK(dw_act_init(&act, spec) == DW_OK);
    drawer d = {orth, -1, 0};
    dw_spectrum_sample_opts *o = NULL;
    CHECK(dw_spectrum_sample_opts_init(&o) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_samples(o, S) == DW_OK && dw_spectrum_sample_opts_set_K(o, 3) == DW_OK &&
          dw_spectrum_sample_opts_set_draw(o, draw, &d) == DW_OK);
    double m1[3], e1[3], m2[3], e2[3], lim[3];
    dw_net *n1 = fc(act, L, (double)N, sw2, sb2, orth), *n2 = fc(act, L, 2.0 * (double)N, sw2, sb2, orth);
    CHECK(dw_spectrum_sample(n1, o, m1, e1, NULL) == DW_OK);
    CHECK(dw_spectrum_sample(n2, o, m2, e2, NULL) == DW_OK);
    dw_spectrum_opts *so = NULL;
    CHECK(dw_spectrum_opts_init(&so) == DW_OK && dw_spectrum_opts_set_kmax(so, 3) == DW_OK);
    dw_spectrum *sp = NULL;
    CHECK(dw_spectrum_init(&sp, n1, so) == DW_OK && dw_spectrum_moments(sp, 3, DW_SPECTRUM_ROUTE_S, lim) == DW_OK);
    for (int k = 0; k < 3; k++) {
        double ext = 2 * m2[k] - m1[k], se = sqrt(4 * e2[k] * e2[k] + e1[k] * e1[k]);
        if (!(fabs(ext - lim[k]) <= 4 * se))
            fprintf(stderr, "%s L=%d orth=%d k=%d: limit %g, extrapolated %g, se %g\n", spec, L, orth, k + 1, lim[k], ext, se);
        CHECK(fabs(ext - lim[k]) <= 4 * se);
    }
    dw_spectrum_clear(sp);
    dw_spectrum_opts_clear(so);
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(n1);
    dw_net_clear(n2);
    dw_act_clear(act);
}

static void test_sample(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    drawer d = {0, -1, 0};
    double sw2 = 1.5, sb2 = 0.1;
    dw_net *net = fc(act, 2, 30, sw2, sb2, 0);
    dw_spectrum_sample_opts *o = NULL;
    CHECK(dw_spectrum_sample_opts_init(&o) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_q0(o, 0.8) == DW_OK && dw_spectrum_sample_opts_set_samples(o, 6) == DW_OK &&
          dw_spectrum_sample_opts_set_K(o, 4) == DW_OK && dw_spectrum_sample_opts_set_draw(o, draw, &d) == DW_OK);
    double m[4], se[4], m2[4], se2[4], s2[6 * 30];
    CHECK(dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_spectrum_sample(net, o, m, se, s2) == DW_OK);
    CHECK(dw_spectrum_sample_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_spectrum_sample(net, o, m2, se2, NULL) == DW_OK);
    CHECK(memcmp(m, m2, sizeof m) == 0 && memcmp(se, se2, sizeof se) == 0); /* whatever the thread count */
    /* the mean of the per-network moments of s2, and network 3 rebuilt here by hand */
    double mm[4] = {0, 0, 0, 0};
    for (size_t s = 0; s < 6; s++)
        for (int k = 0; k < 4; k++) {
            double t = 0;
            for (size_t i = 0; i < 30; i++) t += pow(s2[s * 30 + i], k + 1);
            mm[k] += t / 30 / 6;
        }
    for (int k = 0; k < 4; k++) CHECK_CLOSE(m[k], mm[k], 1e-13, 0);
    {
        double W[2][900], b[2][30], x[30], nx = 0, r[30];
        for (int l = 0; l < 2; l++) {
            draw(&d, 3, DW_SPECTRUM_DRAW_WEIGHTS, l, 30, 30, W[l]);
            draw(&d, 3, DW_SPECTRUM_DRAW_BIAS, l, 30, 1, b[l]);
            for (int i = 0; i < 900; i++) W[l][i] *= sqrt(sw2 / 30);
            for (int i = 0; i < 30; i++) b[l][i] *= sqrt(sb2);
        }
        draw(&d, 3, DW_SPECTRUM_DRAW_INPUT, 0, 30, 1, x);
        for (int i = 0; i < 30; i++) nx += x[i] * x[i];
        for (int i = 0; i < 30; i++) x[i] *= sqrt(0.8 * 30 / nx);
        const size_t w[3] = {30, 30, 30};
        const double *Wp[2] = {W[0], W[1]}, *bp[2] = {b[0], b[1]};
        dw_net *g = given(act, 2, w, Wp, bp);
        CHECK(dw_spectrum_network_jacobian(g, x, NULL, r) == DW_OK);
        dw_net_clear(g);
        double diff = 0;
        for (int i = 0; i < 30; i++) diff = fmax(diff, fabs(r[i] - s2[3 * 30 + i]));
        CHECK(diff <= 1e-13 * r[0]);
    }
    /* Hutchinson on the same networks: within its standard error (networks' spread plus the probes') */
    CHECK(dw_spectrum_sample_opts_set_probes(o, 64) == DW_OK && dw_spectrum_sample_opts_set_seed(o, 5) == DW_OK);
    CHECK(dw_spectrum_sample(net, o, m2, se2, NULL) == DW_OK);
    for (int k = 0; k < 4; k++) CHECK(fabs(m2[k] - m[k]) <= 4 * se2[k] && se2[k] > 0);
    CHECK(dw_spectrum_sample_opts_set_probes(o, 0) == DW_OK);
    /* errors: the setters (each leaves the options as they were) */
    CHECK(dw_spectrum_sample_opts_set_samples(o, 1) == DW_ERR_INVALID && strstr(dw_error_message(), "samples: 1"));
    CHECK(dw_spectrum_sample_opts_set_probes(o, 1) == DW_ERR_INVALID && strstr(dw_error_message(), "probes: 1"));
    CHECK(dw_spectrum_sample_opts_set_K(o, 0) == DW_ERR_INVALID && strstr(dw_error_message(), "K = 0"));
    CHECK(dw_spectrum_sample_opts_set_K(o, DW_SPECTRUM_KMAX + 1) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_opts_set_q0(o, 0) == DW_ERR_INVALID && strstr(dw_error_message(), "q0"));
    CHECK(dw_spectrum_sample_opts_set_q0(o, NAN) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_opts_set_threads(o, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "threads"));
    CHECK(dw_spectrum_sample_opts_set_samples(NULL, 3) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_K(NULL, 3) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_probes(NULL, 0) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_seed(NULL, 0) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_q0(NULL, 1) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_threads(NULL, 0) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_draw(NULL, draw, &d) == DW_ERR_INVALID &&
          dw_spectrum_sample_opts_set_progress(NULL, NULL, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample_opts_init(NULL) == DW_ERR_INVALID);
    dw_spectrum_sample_opts_clear(NULL);
    {
        double m3[4], se3[4]; /* the options are unchanged by the failed setters: the same numbers as above */
        CHECK(dw_spectrum_sample_opts_set_threads(o, 1) == DW_OK);
        CHECK(dw_spectrum_sample(net, o, m3, se3, NULL) == DW_OK && memcmp(m, m3, sizeof m) == 0);
    }
    /* errors: the net (width unset, not square, not an integer; a negative variance is the net's own error; a
     * readout; given weights) */
    dw_net *e = fc(act, 2, 0, sw2, sb2, 0);
    CHECK(dw_spectrum_sample(e, o, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "width: not set"));
    const double w2[2] = {30, 31}, wf = 30.5;
    CHECK(dw_net_set_widths(e, 2, w2) == DW_OK);
    CHECK(dw_spectrum_sample(e, o, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "square layers"));
    CHECK(dw_net_set_widths(e, 1, &wf) == DW_OK);
    CHECK(dw_spectrum_sample(e, o, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "integer"));
    double neg = -1;
    CHECK(dw_net_set_weight_var(e, 1, &neg) == DW_ERR_INVALID && strstr(dw_error_message(), "weight_var: value 1"));
    const double three[3] = {1, 1, 1};
    CHECK(dw_net_set_bias_var(e, 3, three) == DW_ERR_INVALID && strstr(dw_error_message(), "bias_var"));
    CHECK(dw_net_set_fc(e, 2, act, true) == DW_OK);
    CHECK(dw_spectrum_sample(e, o, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "no readout"));
    {
        const size_t w[3] = {2, 2, 2};
        const double Id[4] = {1, 0, 0, 1}, *Wp[2] = {Id, Id};
        CHECK(dw_net_set_given(e, act, 2, w, Wp, NULL, false) == DW_OK);
        CHECK(dw_spectrum_sample(e, o, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "given weights"));
    }
    dw_net_clear(e);
    /* errors: the call (no drawing function, NULL outputs or options), and the drawing function's failures */
    dw_spectrum_sample_opts *nd = NULL;
    CHECK(dw_spectrum_sample_opts_init(&nd) == DW_OK);
    CHECK(dw_spectrum_sample(net, nd, m, se, NULL) == DW_ERR_INVALID && strstr(dw_error_message(), "drawing"));
    dw_spectrum_sample_opts_clear(nd);
    CHECK(dw_spectrum_sample(net, o, NULL, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample(net, NULL, m, se, NULL) == DW_ERR_INVALID);
    CHECK(dw_spectrum_sample(NULL, o, m, se, NULL) == DW_ERR_INVALID);
    drawer bad = {0, 4, 0};
    CHECK(dw_spectrum_sample_opts_set_draw(o, draw, &bad) == DW_OK &&
          dw_spectrum_sample_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_spectrum_sample(net, o, m, se, NULL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "test draw failed at 4"));
    drawer zero = {0, -1, 1};
    CHECK(dw_spectrum_sample_opts_set_draw(o, draw, &zero) == DW_OK);
    CHECK(dw_spectrum_sample(net, o, m, se, NULL) == DW_ERR_RANGE && strstr(dw_error_message(), "norm 0"));
    dw_spectrum_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);

    /* against the limit: i.i.d. and Haar weights */
    check_limit("relu", 2, 2.0, 0.0, 0, 80, 100);
    check_limit("erf", 2, 1.5, 0.1, 0, 80, 100);
    check_limit("erf", 3, 1.5, 0.1, 1, 80, 100);
}

int main(void)
{
    test_network();
    test_sample();
    return check_done("test_spectrum_network");
}
