/* Gradients of logsigtosig and logsigjoin (join.c; iisignature's logsigtosigbackprop / logsigjoinbackprop), by
 * independent routes:
 * - expanded basis: fourth-order central differences (step 1e-3, truncation ~1e-12) of long-double forwards written
 *   here from the definitions: exp(L) = sum_k L^k / k!, log(1 + X) = sum_k (-1)^(k+1) X^k / k with full truncated
 *   products (no Horner), S (x) exp(h);
 * - Lyndon and Hall bases: the same differences of the library's forward in double (rounding ~1e-13 relative);
 * - the fixed last channel's derivative is the last entry of the full segment gradient; level 0 and the errors.
 */
#include "check.h"
#include "deepwick.h"
#include "sig/sig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef long double ld;

static void fill(double *X, size_t n, double amp, unsigned long long s)
{
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        X[i] = amp * (2.0 * ((double)(s >> 11) / 9007199254740992.0) - 1.0);
    }
}

static dw_sig_opts *opts(int level, dw_sig_basis basis)
{
    dw_sig_opts *o = NULL;
    CHECK(dw_sig_opts_init(&o) == DW_OK);
    CHECK(dw_sig_opts_set_level(o, level) == DW_OK);
    CHECK(dw_sig_opts_set_basis(o, basis) == DW_OK);
    return o;
}

/* out = A (x) B, both with zero level 0 (full products) */
static void ld_mul(const dw_tens *t, const ld *A, const ld *B, ld *out)
{
    memset(out, 0, t->off[t->n + 1] * sizeof(ld));
    for (int k = 2; k <= t->n; k++)
        for (int i = 1; i < k; i++) {
            const size_t nb = t->pw[k - i];
            for (size_t u = 0; u < t->pw[i]; u++)
                for (size_t v = 0; v < nb; v++)
                    out[t->off[k] + u * nb + v] += A[t->off[i] + u] * B[t->off[k - i] + v];
        }
}

/* out = sum_k c_k X^k, c_k = 1/k! (exp - 1) or (-1)^(k+1)/k (log(1 + X)) */
static void ld_series(const dw_tens *t, const ld *X, int log, ld *out)
{
    const size_t sz = t->off[t->n + 1];
    ld *P = malloc(sz * sizeof(ld)), *Q = malloc(sz * sizeof(ld)), f = 1;
    memcpy(P, X, sz * sizeof(ld));
    memset(out, 0, sz * sizeof(ld));
    for (int k = 1; k <= t->n; k++) {
        f = log ? (k % 2 ? 1.0L : -1.0L) / k : f / k;
        for (size_t e = 0; e < sz; e++) out[e] += f * P[e];
        ld_mul(t, P, X, Q);
        memcpy(P, Q, sz * sizeof(ld));
    }
    free(P), free(Q);
}

/* <G, logsigtosig(p)> (join == 0) or <G, logsigjoin(p[0..sz), p[sz..sz+d))> in the expanded basis */
static ld ref_dot(const dw_tens *t, int join, const ld *p, const double *G)
{
    const size_t sz = t->off[t->n + 1], d = t->d;
    ld *E = malloc(sz * sizeof(ld)), *H = calloc(sz, sizeof(ld)), *P = malloc(sz * sizeof(ld)), s = 0;
    ld_series(t, p, 0, E);
    if (join) {
        for (size_t a = 0; a < d; a++) H[a] = p[sz + a];
        ld_series(t, H, 0, P); /* exp(h) - 1 */
        ld_mul(t, E, P, H);    /* (1 + E)(1 + P) - 1 = E + P + E P */
        for (size_t e = 0; e < sz; e++) H[e] += E[e] + P[e];
        ld_series(t, H, 1, E);
    }
    for (size_t e = 0; e < sz; e++) s += E[e] * G[e];
    free(E), free(H), free(P);
    return s;
}

static double rel_err(double err, const double *g, size_t n)
{
    double m = 1;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(g[i]));
    return err / m;
}

static void test_expanded_long_double(void)
{
    const struct {
        size_t d;
        int n;
    } cases[] = {{2, 4}, {3, 3}, {1, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d;
        const int n = cases[c].n;
        dw_tens t;
        CHECK(dw_tens_init(&t, d, n) == DW_OK);
        const size_t sz = t.off[n + 1], np = sz + d;
        double *p = malloc(np * sizeof(double)), *G = malloc(sz * sizeof(double)), *g = malloc(np * sizeof(double));
        ld *q = malloc(np * sizeof(ld));
        fill(p, np, 0.6, 10 + c);
        fill(G, sz, 1.0, 20 + c);
        dw_sig_opts *o = opts(n, DW_SIG_EXPANDED);
        for (int join = 0; join <= 1; join++) {
            if (join) CHECK(dw_sig_logsig_join_backward(o, p, p + sz, 1, d, NULL, G, g, g + sz, NULL) == DW_OK);
            else CHECK(dw_sig_logsig_to_sig_backward(o, p, 1, d, G, g) == DW_OK);
            const size_t m = join ? np : sz;
            const ld h = 1e-3L, st[4] = {2 * h, h, -h, -2 * h};
            double err = 0;
            for (size_t i = 0; i < m; i++) {
                ld f[4];
                for (int s = 0; s < 4; s++) {
                    for (size_t e = 0; e < np; e++) q[e] = p[e];
                    q[i] += st[s];
                    f[s] = ref_dot(&t, join, q, G);
                }
                err = fmax(err, fabs((double)((-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)) - g[i]));
            }
            CHECK(rel_err(err, g, m) < 1e-11);
        }
        /* the fixed last channel: the last entry of the full segment gradient */
        double *g2 = malloc(np * sizeof(double)), gf;
        const double fl = p[sz + d - 1];
        CHECK(dw_sig_logsig_join_backward(o, p, p + sz, 1, d, &fl, G, g2, g2 + sz, &gf) == DW_OK);
        CHECK(memcmp(g2, g, (np - 1) * sizeof(double)) == 0 && gf == g[np - 1]);
        dw_sig_opts_clear(o);
        free(p), free(G), free(g), free(g2), free(q);
    }
}

/* Lyndon and Hall: differences of the library's forward in double, a batch of 3 (lanes partly filled) */
static void test_bases_double(void)
{
    const size_t d = 3, B = 3;
    const int n = 4;
    size_t sz, lsz;
    CHECK(dw_sig_size(d, n, &sz) == DW_OK);
    CHECK(dw_sig_logsig_size(d, n, &lsz) == DW_OK);
    double *L = malloc(B * lsz * sizeof(double)), *hv = malloc(B * d * sizeof(double));
    double *Gs = malloc(B * sz * sizeof(double)), *Gl = malloc(B * lsz * sizeof(double));
    double *out = malloc(B * sz * sizeof(double)), *gL = malloc(B * lsz * sizeof(double));
    double *gh = malloc(B * d * sizeof(double));
    fill(L, B * lsz, 0.4, 30);
    fill(hv, B * d, 0.5, 31);
    fill(Gs, B * sz, 1.0, 32);
    fill(Gl, B * lsz, 1.0, 33);
    for (int basis = DW_SIG_LYNDON; basis <= DW_SIG_HALL; basis++) {
        dw_sig_opts *o = opts(n, (dw_sig_basis)basis);
        for (int join = 0; join <= 1; join++) {
            if (join) CHECK(dw_sig_logsig_join_backward(o, L, hv, B, d, NULL, Gl, gL, gh, NULL) == DW_OK);
            else CHECK(dw_sig_logsig_to_sig_backward(o, L, B, d, Gs, gL) == DW_OK);
            const size_t osz = join ? lsz : sz, m = B * lsz + (join ? B * d : 0);
            double err = 0;
            for (size_t i = 0; i < m; i++) {
                double *x = i < B * lsz ? L + i : hv + (i - B * lsz), x0 = *x, f[4];
                const double st[4] = {2e-3, 1e-3, -1e-3, -2e-3};
                for (int s = 0; s < 4; s++) {
                    *x = x0 + st[s];
                    if (join) CHECK(dw_sig_logsig_join(o, L, hv, B, d, NULL, out) == DW_OK);
                    else CHECK(dw_sig_logsig_to_sig(o, L, B, d, out) == DW_OK);
                    f[s] = 0;
                    for (size_t e = 0; e < B * osz; e++) f[s] += out[e] * (join ? Gl : Gs)[e];
                }
                *x = x0;
                const double gi = i < B * lsz ? gL[i] : gh[i - B * lsz];
                err = fmax(err, fabs((-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / 12e-3 - gi));
            }
            CHECK(rel_err(err, gL, B * lsz) < 1e-9);
        }
        dw_sig_opts_clear(o);
    }
    free(L), free(hv), free(Gs), free(Gl), free(out), free(gL), free(gh);
}

static void test_errors(void)
{
    dw_sig_opts *o = opts(2, DW_SIG_LYNDON);
    double L[3] = {1, 2, 0.5}, h[2] = {1, 1}, G[6] = {1, 1, 1, 1, 1, 1}, gL[6], gh[2] = {5, 5}, gf = 3;
    CHECK(dw_sig_logsig_join_backward(o, L, NULL, 1, 2, NULL, G, gL, gh, NULL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "NULL segment"));
    CHECK(dw_sig_logsig_to_sig_backward(o, L, 1, 2, G, NULL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "logsigtosig_backward: NULL output"));
    G[4] = NAN;
    CHECK(dw_sig_logsig_to_sig_backward(o, L, 1, 2, G, gL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "grad_out: entry 5 of signature 1 is not finite"));
    L[1] = INFINITY;
    CHECK(dw_sig_logsig_join_backward(o, L, h, 1, 2, NULL, G, gL, gh, NULL) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "logsig: entry 2 of log-signature 1"));
    CHECK(dw_sig_logsig_to_sig_backward(o, L, 0, 2, G, gL) == DW_ERR_INVALID);
    dw_sig_opts_clear(o);
    o = opts(0, DW_SIG_LYNDON); /* level 0: no entries, zero segment gradients */
    const double fl = 1;
    CHECK(dw_sig_logsig_join_backward(o, NULL, h, 1, 2, &fl, NULL, NULL, gh, &gf) == DW_OK && gh[0] == 0 && gf == 0);
    dw_sig_opts_clear(o);
}

int main(void)
{
    test_expanded_long_double();
    test_bases_double();
    test_errors();
    return check_done("test_sig_logjoin_grad");
}
