/* Streams and products of signatures (theory.md 5), by independent routes:
 * - the stream's entry i is, bit for bit, the signature of the prefix through point i + 1 (computed alone);
 * - Chen's identity: sig_combine(S(x_0..x_k), S(x_k..x_M)) = S(x) for every split k, to 1e-13;
 * - the zero signature (a constant path) is the identity of sig_combine, exactly; associativity to 1e-13;
 * - threads bit for bit; level 0 and one-point paths; every error path;
 * - one-point paths (signature (1, 0, ...), kernel 1 with any path) and level 0 (no entries);
 * - the path transforms' options (setters, errors, the transformed shape), and a lead-lag + time signature against
 *   the signature of the transformed path written out here (bit for bit).
 */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static dw_sig_opts *opts(int level, int threads)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK && dw_sig_opts_set_level(o, level) == DW_OK);
    if (threads) CHECK(dw_sig_opts_set_threads(o, threads) == DW_OK);
    return o;
}

static void paths(double *X, size_t n, double amp, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++) X[i] = amp * (2.0 * urand(&seed) - 1.0);
}

static double maxdiff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static dw_status sig(const double *X, size_t batch, size_t len, size_t d, int level, int threads, double *out, int log)
{
    dw_sig_opts *o = opts(level, threads);
    dw_status s = log ? dw_sig_logsignature(o, X, batch, len, d, out) : dw_sig_signature(o, X, batch, len, d, out);
    dw_sig_opts_clear(o);
    return s;
}

/* A one-point path is constant: signature (1, 0, ...), i.e. zeros without level 0, log-signature 0, kernel 1 with
 * any path (also against the kernel of the same path given as two equal points, a zero-length segment). Level 0
 * writes nothing. */
static void test_one_point_and_level0(void)
{
    double X[3 * 1 * 2], Y[2 * 4 * 2], out[3 * 14], K[3 * 3], K2[3 * 2];
    paths(X, 6, 1.0, 41);
    paths(Y, 16, 0.7, 42);
    for (size_t i = 0; i < 3 * 14; i++) out[i] = 7.0;
    CHECK(sig(X, 3, 1, 2, 3, 1, out, 0) == DW_OK);
    CHECK(maxdiff(out, (double[42]){0}, 42) == 0.0);
    for (size_t i = 0; i < 3 * 14; i++) out[i] = 7.0;
    CHECK(sig(X, 3, 1, 2, 3, 1, out, 1) == DW_OK);
    CHECK(maxdiff(out, (double[15]){0}, 15) == 0.0 && out[15] == 7.0);
    out[0] = 7.0;
    CHECK(sig(Y, 2, 4, 2, 0, 1, out, 0) == DW_OK && out[0] == 7.0); /* level 0: no entries */
    CHECK(sig(Y, 2, 4, 2, 0, 1, out, 1) == DW_OK && out[0] == 7.0);
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK && dw_sig_kernel_opts_set_dyadic_order(o, 2) == DW_OK);
    for (int st = 0; st < 2; st++) {
        CHECK(dw_sig_kernel_opts_set_static(o, st ? DW_SIG_RBF : DW_SIG_LINEAR) == DW_OK);
        CHECK(dw_sig_kernel_gram(o, X, 3, 1, Y, 2, 4, 2, K) == DW_OK);
        double X2[3 * 2 * 2]; /* the same points twice: a zero segment, through the PDE */
        for (size_t b = 0; b < 3; b++)
            for (size_t r = 0; r < 2; r++)
                for (size_t k = 0; k < 2; k++) X2[(b * 2 + r) * 2 + k] = X[b * 2 + k];
        CHECK(dw_sig_kernel_gram(o, X2, 3, 2, Y, 2, 4, 2, K2) == DW_OK);
        CHECK(maxdiff(K, K2, 6) < 1e-15);
        for (int i = 0; i < 6; i++) CHECK(K[i] == 1.0);
        CHECK(dw_sig_kernel_gram(o, Y, 2, 4, X, 3, 1, 2, K) == DW_OK && K[5] == 1.0);
        CHECK(dw_sig_kernel_gram(o, X, 3, 1, NULL, 0, 0, 2, K) == DW_OK && K[8 - 3] == 1.0);
        K[0] = 0.0;
        CHECK(dw_sig_kernel_tile(o, X, 3, 1, NULL, 0, 0, 2, 1, 2, 0, 1, 1, K) == DW_OK && K[0] == 1.0);
        double ea = 1, er = 1;
        CHECK(dw_sig_kernel_error(o, X, 3, 1, Y, 2, 4, 2, K2, &ea, &er) == DW_OK && ea == 0.0 && er == 0.0);
    }
    double bytes = 0;
    CHECK(dw_sig_kernel_bytes(o, 1, 1, 2, &bytes) == DW_OK && bytes > 0);
    CHECK(dw_sig_kernel_bytes(o, 1, 0, 2, &bytes) == DW_ERR_INVALID);
    dw_sig_kernel_opts_clear(o);
}

static void test_stream_and_combine(void)
{
    const size_t b = 11, len = 9, d = 3;
    const int n = 4;
    size_t sz = 0;
    CHECK(dw_sig_size(d, n, &sz) == DW_OK);
    double *X = malloc(b * len * d * sizeof(double)), *St = malloc(b * (len - 1) * sz * sizeof(double));
    double *St3 = malloc(b * (len - 1) * sz * sizeof(double)), *S = malloc(b * sz * sizeof(double));
    double *A = malloc(b * sz * sizeof(double)), *B = malloc(b * sz * sizeof(double));
    double *C = malloc(b * sz * sizeof(double));
    double *P = malloc(b * len * d * sizeof(double));
    unsigned long long seed = 3;
    for (size_t i = 0; i < b * len * d; i++) X[i] = urand(&seed) - 0.5;
    dw_sig_opts *o = opts(n, 1), *o3 = opts(n, 3);
    CHECK(dw_sig_signature_stream(o, X, b, len, d, St) == DW_OK);
    CHECK(dw_sig_signature_stream(o3, X, b, len, d, St3) == DW_OK);
    CHECK(!memcmp(St, St3, b * (len - 1) * sz * sizeof(double)));
    for (size_t i = 0; i + 1 < len; i++) { /* prefixes x_0 .. x_{i+1} */
        for (size_t p = 0; p < b; p++) memcpy(P + p * (i + 2) * d, X + p * len * d, (i + 2) * d * sizeof(double));
        CHECK(dw_sig_signature(o, P, b, i + 2, d, S) == DW_OK);
        int same = 1;
        for (size_t p = 0; p < b; p++) same &= !memcmp(S + p * sz, St + (p * (len - 1) + i) * sz, sz * sizeof(double));
        CHECK(same);
    }
    CHECK(dw_sig_signature(o, X, b, len, d, S) == DW_OK);
    for (size_t k = 1; k + 1 < len; k++) { /* split at point k */
        for (size_t p = 0; p < b; p++) memcpy(P + p * (k + 1) * d, X + p * len * d, (k + 1) * d * sizeof(double));
        CHECK(dw_sig_signature(o, P, b, k + 1, d, A) == DW_OK);
        for (size_t p = 0; p < b; p++)
            memcpy(P + p * (len - k) * d, X + (p * len + k) * d, (len - k) * d * sizeof(double));
        CHECK(dw_sig_signature(o, P, b, len - k, d, B) == DW_OK);
        CHECK(dw_sig_combine(o, A, B, b, d, C) == DW_OK);
        double e = 0;
        for (size_t i = 0; i < b * sz; i++) e = fmax(e, fabs(C[i] - S[i]) / fmax(1.0, fabs(S[i])));
        CHECK(e < 1e-13);
    }
    /* identity and associativity */
    memset(B, 0, b * sz * sizeof(double));
    CHECK(dw_sig_combine(o, S, B, b, d, C) == DW_OK && !memcmp(C, S, b * sz * sizeof(double)));
    CHECK(dw_sig_combine(o, B, S, b, d, C) == DW_OK && !memcmp(C, S, b * sz * sizeof(double)));
    for (size_t i = 0; i < b * sz; i++) A[i] = 0.3 * (urand(&seed) - 0.5);
    const size_t bytes = b * sz * sizeof(double);
    double *AB = malloc(bytes), *BC = malloc(bytes), *L = malloc(bytes), *R = malloc(bytes);
    CHECK(dw_sig_combine(o, A, S, b, d, AB) == DW_OK && dw_sig_combine(o, AB, St, b, d, L) == DW_OK);
    CHECK(dw_sig_combine(o, S, St, b, d, BC) == DW_OK && dw_sig_combine(o, A, BC, b, d, R) == DW_OK);
    double e = 0;
    for (size_t i = 0; i < b * sz; i++) e = fmax(e, fabs(L[i] - R[i]) / fmax(1.0, fabs(R[i])));
    CHECK(e < 1e-13);
    /* level 0, one-point paths: nothing written */
    dw_sig_opts *o0 = opts(0, 1);
    St[0] = 7;
    CHECK(dw_sig_signature_stream(o0, X, b, len, d, St) == DW_OK && St[0] == 7);
    CHECK(dw_sig_signature_stream(o, X, b, 1, d, St) == DW_OK && St[0] == 7);
    CHECK(dw_sig_combine(o0, NULL, NULL, b, d, NULL) == DW_OK);
    /* errors */
    dw_sig_opts *u = NULL;
    CHECK(dw_sig_opts_init(&u) == DW_OK);
    CHECK(dw_sig_signature_stream(u, X, b, len, d, St) == DW_ERR_INVALID);
    CHECK(dw_sig_combine(u, A, B, b, d, C) == DW_ERR_INVALID);
    CHECK(dw_sig_signature_stream(NULL, X, b, len, d, St) == DW_ERR_INVALID);
    CHECK(dw_sig_signature_stream(o, X, b, len, d, NULL) == DW_ERR_INVALID);
    CHECK(dw_sig_signature_stream(o, X, b, 0, d, St) == DW_ERR_INVALID);
    CHECK(dw_sig_combine(NULL, A, B, b, d, C) == DW_ERR_INVALID);
    CHECK(dw_sig_combine(o, A, NULL, b, d, C) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sig2") != NULL);
    CHECK(dw_sig_combine(o, A, B, 0, d, C) == DW_ERR_INVALID);
    CHECK(dw_sig_combine(o, A, B, b, 0, C) == DW_ERR_INVALID);
    A[5] = NAN;
    CHECK(dw_sig_combine(o, A, B, b, d, C) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "sig1: entry 6 of signature 1 is not finite") != NULL);
    A[5] = 1e300;
    A[sz - 1] = 1e300;
    B[0] = 1e300;
    CHECK(dw_sig_combine(o, A, B, b, d, C) == DW_ERR_RANGE);
    double big[4] = {0, 0, 1e200, -1e200}, sb[14];
    dw_sig_opts *o3b = opts(3, 1);
    CHECK(dw_sig_signature_stream(o3b, big, 1, 2, 2, sb) == DW_ERR_RANGE);
    dw_sig_opts_clear(o3b);
    dw_sig_opts_clear(u);
    dw_sig_opts_clear(o0);
    dw_sig_opts_clear(o);
    dw_sig_opts_clear(o3);
    free(X);
    free(St);
    free(St3);
    free(S);
    free(A);
    free(B);
    free(C);
    free(P);
    free(AB);
    free(BC);
    free(L);
    free(R);
}

static void test_transform_options(void)
{
    dw_sig_opts *o = opts(3, 1);
    dw_sig_kernel_opts *k = NULL;
    CHECK(dw_sig_kernel_opts_init(&k) == DW_OK);
    size_t l2 = 0, d2 = 0;
    CHECK(dw_sig_opts_path_shape(o, 5, 2, &l2, &d2) == DW_OK && l2 == 5 && d2 == 2);
    CHECK(dw_sig_opts_set_lead_lag(o, true) == DW_OK && dw_sig_opts_set_time_aug(o, true) == DW_OK);
    CHECK(dw_sig_opts_path_shape(o, 5, 2, &l2, &d2) == DW_OK && l2 == 9 && d2 == 5);
    CHECK(dw_sig_opts_set_basepoint(o, true) == DW_OK);
    CHECK(dw_sig_opts_path_shape(o, 5, 2, &l2, &d2) == DW_OK && l2 == 11 && d2 == 5);
    CHECK(dw_sig_opts_set_basepoint(o, false) == DW_OK);
    CHECK(dw_sig_opts_set_end_time(o, 0.0) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "end_time: must be positive and finite (got 0)") != NULL);
    CHECK(dw_sig_kernel_opts_set_end_time(k, INFINITY) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_set_end_time(o, 2.0) == DW_OK && dw_sig_kernel_opts_set_end_time(k, 2.0) == DW_OK);
    CHECK(dw_sig_opts_set_time_aug(NULL, true) == DW_ERR_INVALID && dw_sig_kernel_opts_set_lead_lag(NULL, 1) != 0);
    CHECK(dw_sig_kernel_opts_set_basepoint(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_opts_set_time_aug(k, true) == DW_OK && dw_sig_kernel_opts_set_basepoint(k, true) == DW_OK);
    CHECK(dw_sig_opts_path_shape(NULL, 5, 2, &l2, &d2) == DW_ERR_INVALID);
    CHECK(dw_sig_opts_path_shape(o, 5, 2, NULL, &d2) == DW_ERR_INVALID);
    /* x = (0, 1), (2, 3), (5, 4): lead-lag (lag, lead) then time 0 .. 2 over the 5 points */
    const double x[6] = {0, 1, 2, 3, 5, 4};
    double T[5 * 5];
    for (int i = 0; i < 5; i++) {
        const int lag = i / 2, lead = (i + 1) / 2;
        T[i * 5 + 0] = x[2 * lag];
        T[i * 5 + 1] = x[2 * lag + 1];
        T[i * 5 + 2] = x[2 * lead];
        T[i * 5 + 3] = x[2 * lead + 1];
        T[i * 5 + 4] = 2.0 * i / 4.0;
    }
    dw_sig_opts *p = opts(3, 1);
    double S1[155], S2[155];
    CHECK(dw_sig_signature(o, x, 1, 3, 2, S1) == DW_OK && dw_sig_signature(p, T, 1, 5, 5, S2) == DW_OK);
    CHECK(!memcmp(S1, S2, sizeof S1));
    /* the transformed path itself = T built by hand; its adjoint on all-ones counts each point's copies: the
     * ends appear 3 times (lag twice, lead once or the converse), the middle point 4 times */
    double U[5 * 5], ones[5 * 5], gx[6];
    CHECK(dw_sig_transform_paths(o, x, 1, 3, 2, U) == DW_OK && !memcmp(U, T, sizeof T));
    for (int i = 0; i < 25; i++) ones[i] = 1.0;
    CHECK(dw_sig_transform_paths_backward(o, ones, 1, 3, 2, gx) == DW_OK);
    CHECK(gx[0] == 3 && gx[1] == 3 && gx[2] == 4 && gx[3] == 4 && gx[4] == 3 && gx[5] == 3);
    CHECK(dw_sig_transform_paths(NULL, x, 1, 3, 2, U) == DW_ERR_INVALID);
    CHECK(dw_sig_transform_paths(o, x, 1, 3, 2, NULL) == DW_ERR_INVALID);
    ones[7] = NAN;
    CHECK(dw_sig_transform_paths_backward(o, ones, 1, 3, 2, gx) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "grad_out") != NULL);
    CHECK(dw_sig_transform_paths_backward(o, ones, 0, 3, 2, gx) == DW_ERR_INVALID);
    dw_sig_opts_clear(p);
    dw_sig_opts_clear(o);
    dw_sig_kernel_opts_clear(k);
}

int main(void)
{
    test_stream_and_combine();
    test_transform_options();
    test_one_point_and_level0();
    return check_done("sig_chen");
}
