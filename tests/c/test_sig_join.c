/* Operations on given signatures (theory.md 5): sigjoin, sigscale, logsigtosig, logsigjoin, the Hall and expanded
 * log-signatures, and the gradients of streams, sig_combine, sigjoin and sigscale, by independent routes:
 * - sigjoin(S(x_0..x_{M-1}), x_M - x_{M-1}) = S(x_0..x_M) (Chen), also with the last channel fixed; logsigjoin
 *   likewise against the log-signature of the longer path; sigscale(S(x), s) = S(x with channel i times s_i);
 * - logsigtosig(logsignature(X)) = signature(X) to 1e-13 in every basis; Hall and Lyndon coordinates expand to the
 *   same tensor log (the expanded log-signature), and for d = 2, n = 3 the closed form of the change of basis
 *   (Hall [2,[1,2]] = -(Lyndon [[1,2],2]), the others equal);
 * - every backward against fourth-order central differences of long-double forwards written here from the
 *   definitions (full truncated products, no Horner): S (x) exp(h), S1 (x) S2, the scaled words, the prefixes;
 *   the Hall log-signature's backward against differences of the library's forward; the stream's backward
 *   bit for bit on 1 and 3 threads; every error path.
 */
#include "check.h"
#include "deepwick.h"
#include "sig/sig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef long double ld;

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void fill(double *X, size_t n, double amp, unsigned long long seed)
{
    for (size_t i = 0; i < n; i++) X[i] = amp * (2.0 * urand(&seed) - 1.0);
}

/* a random walk: batch paths of len points */
static void walk(double *X, size_t batch, size_t len, size_t d, unsigned long long seed)
{
    fill(X, batch * len * d, 0.5, seed);
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 1; i < len; i++)
            for (size_t a = 0; a < d; a++) X[(b * len + i) * d + a] += X[(b * len + i - 1) * d + a];
}

static double maxdiff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i])));
    return m;
}

static dw_sig_opts *opts(int level, dw_sig_basis basis)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_opts_set_level(o, level) == DW_OK);
    CHECK(dw_sig_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_sig_opts_set_basis(o, basis) == DW_OK);
    return o;
}

static void test_join_scale(void)
{
    const size_t B = 3, len = 7;
    for (size_t d = 2; d <= 3; d++) {
        const int n = d == 2 ? 5 : 4;
        size_t sz;
        CHECK(dw_sig_size(d, n, &sz) == DW_OK);
        double X[3 * 7 * 3], Xs[3 * 7 * 3], h[3 * 3], sc[3 * 3], fl;
        double *S0 = malloc(B * sz * sizeof(double)), *S = malloc(B * sz * sizeof(double));
        double *J = malloc(B * sz * sizeof(double));
        walk(X, B, len, d, 10 + d);
        dw_sig_opts *o = opts(n, DW_SIG_LYNDON);
        double *Xp = malloc(B * (len - 1) * d * sizeof(double)); /* the first len - 1 points */
        for (size_t b = 0; b < B; b++) {
            memcpy(Xp + b * (len - 1) * d, X + b * len * d, (len - 1) * d * sizeof(double));
            for (size_t a = 0; a < d; a++) h[b * d + a] = X[(b * len + len - 1) * d + a] - X[(b * len + len - 2) * d + a];
        }
        CHECK(dw_sig_signature(o, Xp, B, len - 1, d, S0) == DW_OK);
        CHECK(dw_sig_signature(o, X, B, len, d, S) == DW_OK);
        CHECK(dw_sig_join(o, S0, h, B, d, NULL, J) == DW_OK);
        CHECK(maxdiff(J, S, B * sz) < 1e-14);
        /* the last channel fixed: the same when every segment's last increment is that value */
        fl = 0.3;
        double hf[3 * 2];
        for (size_t b = 0; b < B; b++) {
            h[b * d + d - 1] = fl;
            for (size_t a = 0; a + 1 < d; a++) hf[b * (d - 1) + a] = h[b * d + a];
        }
        double *J2 = malloc(B * sz * sizeof(double));
        CHECK(dw_sig_join(o, S0, h, B, d, NULL, J) == DW_OK);
        CHECK(dw_sig_join(o, S0, hf, B, d, &fl, J2) == DW_OK);
        CHECK(memcmp(J, J2, B * sz * sizeof(double)) == 0);
        /* sigscale against the scaled paths */
        fill(sc, B * d, 1.5, 20 + d);
        for (size_t b = 0; b < B; b++)
            for (size_t i = 0; i < len; i++)
                for (size_t a = 0; a < d; a++) Xs[(b * len + i) * d + a] = X[(b * len + i) * d + a] * sc[b * d + a];
        CHECK(dw_sig_signature(o, Xs, B, len, d, J) == DW_OK);
        CHECK(dw_sig_scale(o, S, sc, B, d, J2) == DW_OK);
        CHECK(maxdiff(J2, J, B * sz) < 1e-13);
        dw_sig_opts_clear(o);
        free(S0);
        free(S);
        free(J);
        free(J2);
        free(Xp);
    }
}

static void test_log_bases(void)
{
    const size_t B = 2, len = 6;
    const struct {
        size_t d;
        int n;
    } cases[] = {{2, 6}, {3, 4}, {4, 3}, {1, 3}, {2, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d;
        const int n = cases[c].n;
        size_t sz, lsz;
        CHECK(dw_sig_size(d, n, &sz) == DW_OK);
        CHECK(dw_sig_logsig_size(d, n, &lsz) == DW_OK);
        double *X = malloc(B * len * d * sizeof(double)), *S = malloc(B * sz * sizeof(double));
        double *T = malloc(B * sz * sizeof(double)), *E = malloc(B * sz * sizeof(double));
        double *L = malloc(B * sz * sizeof(double)), *L2 = malloc(B * sz * sizeof(double));
        double *h = malloc(B * d * sizeof(double)), *Xp = malloc(B * (len - 1) * d * sizeof(double));
        walk(X, B, len, d, 30 + c);
        dw_sig_opts *ex = opts(n, DW_SIG_EXPANDED);
        CHECK(dw_sig_signature(ex, X, B, len, d, S) == DW_OK);
        CHECK(dw_sig_logsignature(ex, X, B, len, d, E) == DW_OK); /* log S in the tensor algebra */
        for (size_t b = 0; b < B; b++) {
            memcpy(Xp + b * (len - 1) * d, X + b * len * d, (len - 1) * d * sizeof(double));
            for (size_t a = 0; a < d; a++) h[b * d + a] = X[(b * len + len - 1) * d + a] - X[(b * len + len - 2) * d + a];
        }
        for (int basis = DW_SIG_LYNDON; basis <= DW_SIG_EXPANDED; basis++) {
            dw_sig_opts *o = opts(n, (dw_sig_basis)basis);
            size_t csz;
            CHECK(dw_sig_basis_size((dw_sig_basis)basis, d, n, &csz) == DW_OK);
            CHECK(csz == (basis == DW_SIG_EXPANDED ? sz : lsz));
            CHECK(dw_sig_logsignature(o, X, B, len, d, L) == DW_OK);
            CHECK(dw_sig_logsig_to_sig(o, L, B, d, T) == DW_OK);
            CHECK(maxdiff(T, S, B * sz) < 1e-13);
            /* the coordinates expand to the tensor log */
            dw_tens t;
            dw_liebasis lb;
            CHECK(dw_tens_init(&t, d, n) == DW_OK);
            CHECK(dw_liebasis_init(&lb, &t, basis) == DW_OK);
            for (size_t b = 0; b < B; b++) {
                dw_liebasis_expand(&lb, &t, L + b * csz, T);
                CHECK(maxdiff(T, E + b * sz, sz) < 1e-13);
            }
            dw_liebasis_clear(&lb);
            /* logsigjoin = the log-signature of the longer path */
            CHECK(dw_sig_logsignature(o, Xp, B, len - 1, d, L2) == DW_OK);
            CHECK(dw_sig_logsig_join(o, L2, h, B, d, NULL, T) == DW_OK);
            CHECK(maxdiff(T, L, B * csz) < 1e-13);
            dw_sig_opts_clear(o);
        }
        dw_sig_opts_clear(ex);
        free(X), free(S), free(T), free(E), free(L), free(L2), free(h), free(Xp);
    }
    /* d = 2, n = 3: Lyndon 1, 2, [1,2], [1,[1,2]], [[1,2],2]; Hall 1, 2, [1,2], [1,[1,2]], [2,[1,2]] */
    double X[2 * 5], Ly[5], Ha[5];
    walk(X, 1, 5, 2, 7);
    dw_sig_opts *o = opts(3, DW_SIG_LYNDON), *oh = opts(3, DW_SIG_HALL);
    CHECK(dw_sig_logsignature(o, X, 1, 5, 2, Ly) == DW_OK);
    CHECK(dw_sig_logsignature(oh, X, 1, 5, 2, Ha) == DW_OK);
    for (int i = 0; i < 4; i++) CHECK(fabs(Ha[i] - Ly[i]) <= 1e-15 * fmax(1, fabs(Ly[i])));
    CHECK(fabs(Ha[4] + Ly[4]) <= 1e-15 * fmax(1, fabs(Ly[4])));
    dw_sig_opts_clear(o);
    dw_sig_opts_clear(oh);
}

/* long-double references: A * B with level 0 = 1 (out = A + B + A (x) B), exp of a segment */
static void ld_mul(const dw_tens *t, const ld *A, const ld *B, ld *out)
{
    for (int k = 1; k <= t->n; k++) {
        ld *o = out + t->off[k];
        for (size_t w = 0; w < t->pw[k]; w++) o[w] = A[t->off[k] + w] + B[t->off[k] + w];
        for (int i = 1; i < k; i++) {
            const size_t nb = t->pw[k - i];
            for (size_t u = 0; u < t->pw[i]; u++)
                for (size_t v = 0; v < nb; v++) o[u * nb + v] += A[t->off[i] + u] * B[t->off[k - i] + v];
        }
    }
}

static void ld_exp(const dw_tens *t, const ld *h, ld *E)
{
    for (size_t a = 0; a < t->d; a++) E[a] = h[a];
    for (int k = 2; k <= t->n; k++)
        for (size_t w = 0; w < t->pw[k - 1]; w++)
            for (size_t a = 0; a < t->d; a++) E[t->off[k] + w * t->d + a] = E[t->off[k - 1] + w] * h[a] / k;
}

/* <G, f(p)> for the operation `op` on the parameters p (long double) */
enum { OP_JOIN, OP_COMBINE, OP_SCALE, OP_STREAM };
typedef struct {
    const dw_tens *t;
    int op;
    size_t len; /* OP_STREAM: the path's points; p holds the path */
    const double *G;
} ref;

static ld ref_dot(const ref *r, const ld *p)
{
    const dw_tens *t = r->t;
    const size_t sz = t->off[t->n + 1], d = t->d;
    ld *A = calloc(sz, sizeof(ld)), *E = calloc(sz, sizeof(ld)), *O = calloc(sz, sizeof(ld)), s = 0;
    if (r->op == OP_JOIN || r->op == OP_COMBINE) {
        if (r->op == OP_JOIN) ld_exp(t, p + sz, E);
        ld_mul(t, p, r->op == OP_JOIN ? E : p + sz, O);
    } else if (r->op == OP_SCALE) {
        for (int k = 1; k <= t->n; k++)
            for (size_t w = 0; w < t->pw[k]; w++) {
                ld f = 1;
                for (size_t q = w, j = 0; j < (size_t)k; j++, q /= d) f *= p[sz + q % d];
                O[t->off[k] + w] = p[t->off[k] + w] * f;
            }
    }
    if (r->op != OP_STREAM)
        for (size_t e = 0; e < sz; e++) s += O[e] * r->G[e];
    else
        for (size_t i = 0; i + 1 < r->len; i++) { /* the prefixes: A <- A * exp(x_{i+1} - x_i) */
            ld hv[16];
            for (size_t a = 0; a < d; a++) hv[a] = p[(i + 1) * d + a] - p[i * d + a];
            ld_exp(t, hv, E);
            ld_mul(t, A, E, O);
            memcpy(A, O, sz * sizeof(ld));
            for (size_t e = 0; e < sz; e++) s += A[e] * r->G[i * sz + e];
        }
    free(A), free(E), free(O);
    return s;
}

/* max |fourth-order central difference - grad| over the np parameters p, relative to max(1, max |grad|) */
static double fd_err(const ref *r, const double *p, size_t np, const double *grad)
{
    ld *q = malloc(np * sizeof(ld));
    const ld h = 1e-3L, st[4] = {2 * h, h, -h, -2 * h};
    double err = 0, m = 1;
    for (size_t i = 0; i < np; i++) {
        for (size_t e = 0; e < np; e++) q[e] = p[e];
        ld f[4];
        for (int s = 0; s < 4; s++) {
            q[i] = (ld)p[i] + st[s];
            f[s] = ref_dot(r, q);
        }
        err = fmax(err, fabs((double)((-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)) - grad[i]));
        m = fmax(m, fabs(grad[i]));
    }
    free(q);
    return err / m;
}

static void test_backward(void)
{
    const struct {
        size_t d;
        int n;
    } cases[] = {{2, 4}, {3, 3}, {1, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d, len = 5;
        const int n = cases[c].n;
        dw_tens t;
        CHECK(dw_tens_init(&t, d, n) == DW_OK);
        const size_t sz = t.off[n + 1];
        dw_sig_opts *o = opts(n, DW_SIG_LYNDON);
        double *p = malloc(2 * sz * sizeof(double)), *G = malloc((len - 1) * sz * sizeof(double));
        double *g = malloc(2 * sz * sizeof(double)), X[5 * 3];
        fill(p, 2 * sz, 0.7, 40 + c);
        fill(G, (len - 1) * sz, 1.0, 50 + c);
        /* sigjoin: parameters (S, h) */
        ref r = {&t, OP_JOIN, 0, G};
        CHECK(dw_sig_join_backward(o, p, p + sz, 1, d, NULL, G, g, g + sz, NULL) == DW_OK);
        CHECK(fd_err(&r, p, sz + d, g) < 1e-11);
        /* fixed last channel: its derivative is the last entry of the full gradient */
        double gf, g2[64 + 3];
        const double fl = p[sz + d - 1];
        CHECK(dw_sig_join_backward(o, p, p + sz, 1, d, &fl, G, g2, g2 + sz, &gf) == DW_OK);
        CHECK(memcmp(g2, g, (sz + d - 1) * sizeof(double)) == 0 && gf == g[sz + d - 1]);
        r.op = OP_COMBINE;
        CHECK(dw_sig_combine_backward(o, p, p + sz, 1, d, G, g, g + sz) == DW_OK);
        CHECK(fd_err(&r, p, 2 * sz, g) < 1e-11);
        r.op = OP_SCALE;
        CHECK(dw_sig_scale_backward(o, p, p + sz, 1, d, G, g, g + sz) == DW_OK);
        CHECK(fd_err(&r, p, sz + d, g) < 1e-11);
        /* streams: parameters the path's points */
        walk(X, 1, len, d, 60 + c);
        double gX[5 * 3];
        r.op = OP_STREAM;
        r.len = len;
        CHECK(dw_sig_signature_stream_backward(o, X, 1, len, d, G, gX) == DW_OK);
        CHECK(fd_err(&r, X, len * d, gX) < 1e-11);
        dw_sig_opts_clear(o);
        free(p), free(G), free(g);
    }
    /* the Hall log-signature's backward: fourth-order differences of the forward in double (step 1e-3: truncation
     * ~1e-12, rounding ~1e-13 relative) */
    const size_t d = 3, len = 5;
    const int n = 4;
    size_t lsz;
    CHECK(dw_sig_logsig_size(d, n, &lsz) == DW_OK);
    double X[5 * 3], gX[5 * 3], *G = malloc(lsz * sizeof(double)), *L = malloc(lsz * sizeof(double));
    walk(X, 1, len, d, 70);
    fill(G, lsz, 1.0, 71);
    dw_sig_opts *o = opts(n, DW_SIG_HALL);
    CHECK(dw_sig_logsignature_backward(o, X, 1, len, d, G, gX) == DW_OK);
    double err = 0, m = 1;
    for (size_t i = 0; i < len * d; i++) {
        double f[4];
        const double st[4] = {2e-3, 1e-3, -1e-3, -2e-3}, x0 = X[i];
        for (int s = 0; s < 4; s++) {
            X[i] = x0 + st[s];
            CHECK(dw_sig_logsignature(o, X, 1, len, d, L) == DW_OK);
            f[s] = 0;
            for (size_t e = 0; e < lsz; e++) f[s] += L[e] * G[e];
        }
        X[i] = x0;
        err = fmax(err, fabs((-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / 12e-3 - gX[i]));
        m = fmax(m, fabs(gX[i]));
    }
    CHECK(err / m < 1e-9);
    dw_sig_opts_clear(o);
    free(G), free(L);
}

/* the stream's backward does not depend on the thread count (groups of paths in lanes, as the signature's) */
static void test_stream_threads(void)
{
    const size_t B = 20, len = 40, d = 2, sz = 30;
    double *X = malloc(B * len * d * sizeof(double)), *G = malloc(B * (len - 1) * sz * sizeof(double));
    double *g1 = malloc(B * len * d * sizeof(double)), *g3 = malloc(B * len * d * sizeof(double));
    walk(X, B, len, d, 80);
    fill(G, B * (len - 1) * sz, 1.0, 81);
    dw_sig_opts *o = opts(4, DW_SIG_LYNDON);
    CHECK(dw_sig_signature_stream_backward(o, X, B, len, d, G, g1) == DW_OK);
    CHECK(dw_sig_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_sig_signature_stream_backward(o, X, B, len, d, G, g3) == DW_OK);
    CHECK(memcmp(g1, g3, B * len * d * sizeof(double)) == 0);
    dw_sig_opts_clear(o);
    free(X), free(G), free(g1), free(g3);
}

static void test_errors(void)
{
    dw_sig_opts *o = opts(2, DW_SIG_LYNDON);
    double S[6] = {1, 2, 0.5, 1, 1, 2}, h[2] = {1, 1}, out[6], g[6], bad = NAN;
    dw_sig_basis b;
    CHECK(dw_sig_basis_parse("hall", &b) == DW_OK && b == DW_SIG_HALL);
    CHECK(dw_sig_basis_parse("hal", &b) == DW_ERR_INVALID && strstr(dw_error_message(), "basis: expected lyndon"));
    CHECK(dw_sig_opts_set_basis(o, (dw_sig_basis)7) == DW_ERR_INVALID);
    CHECK(dw_sig_join(o, S, h, 1, 2, &bad, out) == DW_ERR_INVALID && strstr(dw_error_message(), "fixed_last"));
    S[3] = INFINITY;
    CHECK(dw_sig_join(o, S, h, 1, 2, NULL, out) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "sig: entry 4 of signature 1 is not finite"));
    CHECK(dw_sig_scale_backward(o, S, h, 1, 2, S, g, out) == DW_ERR_INVALID);
    S[3] = 1;
    h[1] = NAN;
    CHECK(dw_sig_scale(o, S, h, 1, 2, out) == DW_ERR_INVALID && strstr(dw_error_message(), "scales: entry 2"));
    CHECK(dw_sig_logsig_join(o, S, NULL, 1, 2, NULL, out) == DW_ERR_INVALID);
    CHECK(dw_sig_combine_backward(o, S, S, 0, 2, S, g, out) == DW_ERR_INVALID);
    CHECK(dw_sig_logsig_to_sig(o, S, 1, 0, out) == DW_ERR_INVALID);
    dw_sig_opts_clear(o);
    dw_sig_opts *u = NULL;
    CHECK(dw_sig_opts_init(&u) == DW_OK);
    CHECK(dw_sig_join(u, S, h, 1, 2, NULL, out) == DW_ERR_INVALID && strstr(dw_error_message(), "level: not set"));
    dw_sig_opts_clear(u);
    /* level 0: nothing to write, zero gradients of the segments */
    o = opts(0, DW_SIG_LYNDON);
    h[1] = 2;
    double gh[2] = {5, 5}, gf = 1;
    const double fl = 1;
    CHECK(dw_sig_join_backward(o, NULL, h, 1, 2, &fl, NULL, NULL, gh, &gf) == DW_OK && gh[0] == 0 && gf == 0);
    dw_sig_opts_clear(o);
}

int main(void)
{
    test_join_scale();
    test_log_bases();
    test_backward();
    test_stream_threads();
    test_errors();
    return check_done("test_sig_join");
}
