/* Chen's identity put to use (theory.md 5): the signatures of every prefix of a path (a stream, iisignature's
 * sig(..., format=2)) and the product of given signatures (pySigLib's sig_combine). Kept apart from sig.c, which
 * computes one signature per path. */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES DW_SIG_LANES

typedef struct stream_job {
    const dw_tens *t;
    const double *X;
    size_t batch, len, wsz;
    double *out, *ws;
} stream_job;

/* Paths g LANES .. in lanes (as sig.c's groups, so every entry equals dw_sig_signature's of that prefix, bit for
 * bit); after step i the lanes' signatures go to out[b, i]. */
static dw_status stream_group(void *ctx, size_t g, int tid)
{
    const stream_job *j = ctx;
    const dw_tens *t = j->t;
    const size_t sz = t->off[t->n + 1], d = t->d, len = j->len, b0 = g * LANES;
    double *SL = j->ws + (size_t)tid * j->wsz, *B = SL + sz * LANES, *h = B + t->pw[t->n] / d * LANES;
    memset(SL, 0, sz * LANES * sizeof(double));
    for (size_t i = 0; i + 1 < len; i++) {
        for (int l = 0; l < LANES; l++) {
            const size_t b = b0 + (size_t)l < j->batch ? b0 + (size_t)l : b0;
            const double *x = j->X + (b * len + i) * d;
            for (size_t k = 0; k < d; k++) h[k * LANES + (size_t)l] = x[d + k] - x[k];
        }
        dw_sig_chen_lanes(t, SL, h, B);
        for (size_t l = 0; l < LANES && b0 + l < j->batch; l++) {
            double *dst = j->out + ((b0 + l) * (len - 1) + i) * sz;
            for (size_t e = 0; e < sz; e++) dst[e] = SL[e * LANES + l];
        }
    }
    return DW_OK;
}

dw_status dw_sig_signature_stream(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                  double *out)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "signature stream: NULL options");
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    dw_status s = dw_sig_check_points(X, batch, len, d, "X");
    if (s) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "signature stream: NULL output");
    if (dw_sig_transform_active(&o->tr)) { /* the stream of the transformed paths */
        size_t len2, d2;
        dw_sig_transform_shape(&o->tr, len, d, &len2, &d2);
        double *T = dw_sig_transform_apply(&o->tr, X, batch, len, d);
        if (!T) return DW_ERR_NOMEM;
        dw_sig_opts o2 = *o;
        o2.tr.basepoint = o2.tr.lead_lag = o2.tr.time_aug = false;
        s = dw_sig_signature_stream(&o2, T, batch, len2, d2, out);
        free(T);
        return s;
    }
    if (o->level == 0 || len == 1) return DW_OK; /* no entries */
    dw_tens t;
    if ((s = dw_tens_init(&t, d, o->level))) return s;
    const size_t sz = t.off[o->level + 1], groups = (batch + LANES - 1) / LANES;
    const size_t wsz = (sz + t.pw[o->level] / d + d) * LANES;
    const int nt = dw_core_threads(o->threads);
    const int thr = (double)batch * (double)len * (double)sz > 2e5 ? nt : 1;
    const int nw = dw_par_workers(groups, thr);
    if ((s = dw_core_check_alloc((double)wsz * 8.0 * nw, "the signature work space"))) return s;
    double *ws = dw_alloc((size_t)nw * wsz, sizeof(double), "the signature work space");
    if (!ws) return DW_ERR_NOMEM;
    stream_job job = {&t, X, batch, len, wsz, out, ws};
    (void)dw_par_for(groups, thr, stream_group, &job);
    free(ws);
    const size_t n = batch * (len - 1) * sz;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return dw_fail(DW_ERR_RANGE, "signature of path %zu overflows (entry %zu is not finite); rescale the paths",
                           i / ((len - 1) * sz) + 1, i % sz + 1);
    return DW_OK;
}

/* O = A + B + A (x) B, level by level: O_k = A_k + B_k + sum_{i<k} A_i (x) B_{k-i}. Two loop orders:
 * - terms: each term an outer product of a d^i and a d^(k-i) vector added to O_k in place (k - 1 passes over O_k,
 *   the first one also writing A_k + B_k);
 *   used for d = 2 and d > 8;
 * - rows (3 <= d <= 8, D a compile-time constant): O_k as d^(k-1) rows of d entries, row P (the word's first k - 1
 *   letters) = sum_i A_i[P / d^(k-1-i)] B_{k-i}[row P mod d^(k-1-i)], summed in registers and stored once; the
 *   quotients and remainders run as counters (no division). */
static inline void combine_terms(const dw_tens *t, const double *restrict A, const double *restrict B,
                                 double *restrict O, const size_t D)
{
    const size_t d = D ? D : t->d;
    for (size_t a = 0; a < d; a++) O[a] = A[a] + B[a];
    for (int k = 2; k <= t->n; k++) {
        double *restrict o = O + t->off[k];
        const double *Ak = A + t->off[k], *Bk = B + t->off[k];
        { /* the sum and the first term (i = 1: d rows of d^(k-1)) in one pass */
            const size_t nb = t->pw[k - 1];
            const double *Bj = B + t->off[k - 1];
            for (size_t u = 0; u < d; u++)
                for (size_t v = 0; v < nb; v++) o[u * nb + v] = Ak[u * nb + v] + Bk[u * nb + v] + A[u] * Bj[v];
        }
        for (int i = 2; i < k; i++) {
            const double *Ai = A + t->off[i], *Bj = B + t->off[k - i];
            const size_t nu = t->pw[i], nb = t->pw[k - i];
            if (k - i == 1) /* rows of d and d^2 entries: unrolled with D constant */
                for (size_t u = 0; u < nu; u++)
                    for (size_t v = 0; v < d; v++) o[u * d + v] += Ai[u] * Bj[v];
            else if (k - i == 2 && d <= 3)
                for (size_t u = 0; u < nu; u++)
                    for (size_t v = 0; v < d * d; v++) o[u * d * d + v] += Ai[u] * Bj[v];
            else
                for (size_t u = 0; u < nu; u++)
                    for (size_t v = 0; v < nb; v++) o[u * nb + v] += Ai[u] * Bj[v];
        }
    }
}

static inline void combine_rows(const dw_tens *t, const double *restrict A, const double *restrict B,
                                double *restrict O, const size_t D)
{
    for (size_t a = 0; a < D; a++) O[a] = A[a] + B[a];
    for (int k = 2; k <= t->n; k++) {
        double *restrict o = O + t->off[k];
        const double *Ak = A + t->off[k], *Bk = B + t->off[k], *A1 = A + t->off[k - 1];
        size_t ai[DW_SIG_MAX_LEVEL + 1], br[DW_SIG_MAX_LEVEL + 1];
        for (int i = 1; i <= k - 2; i++) ai[i] = br[i] = 0;
        for (size_t P = 0; P < t->pw[k - 1]; P++) {
            double acc[8];
            const double a = A1[P];
            for (size_t v = 0; v < D; v++) acc[v] = Ak[P * D + v] + Bk[P * D + v] + a * B[v];
            for (int i = 1; i <= k - 2; i++) {
                const double ac = A[t->off[i] + ai[i]], *row = B + t->off[k - i] + br[i] * D;
                for (size_t v = 0; v < D; v++) acc[v] += ac * row[v];
                if (++br[i] == t->pw[k - 1 - i]) {
                    br[i] = 0;
                    ai[i]++;
                }
            }
            for (size_t v = 0; v < D; v++) o[P * D + v] = acc[v];
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void combine_batch(const dw_tens *t, const double *S1, const double *S2, size_t batch, double *out)
{
    const size_t sz = t->off[t->n + 1];
    for (size_t b = 0; b < batch; b++) {
        const double *a = S1 + b * sz, *c = S2 + b * sz;
        double *o = out + b * sz;
        switch (t->d) {
        case 2: combine_terms(t, a, c, o, 2); break;
        case 3: combine_terms(t, a, c, o, 3); break;
        case 4: combine_terms(t, a, c, o, 4); break;
        case 5: combine_terms(t, a, c, o, 5); break;
        case 6: combine_terms(t, a, c, o, 6); break;
        case 7: combine_terms(t, a, c, o, 7); break;
        case 8: combine_terms(t, a, c, o, 8); break;
        default: combine_terms(t, a, c, o, 0); break;
        }
    }
}

/* whether every entry is finite: the entries whose exponent bits are all set (infinite or NaN) counted with integer
 * operations, which vectorise (a floating-point reduction would be a serial chain of additions) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static int all_finite(const double *x, size_t n)
{
    const uint64_t EXP = 0x7ff0000000000000ULL;
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, x + i, sizeof u);
        bad += (u & EXP) == EXP;
    }
    return bad == 0;
}

dw_status dw_sig_combine(const dw_sig_opts *o, const double *S1, const double *S2, size_t batch, size_t d,
                         double *out)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sig_combine: NULL options");
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "sig_combine: dimension d must be at least 1");
    if (batch == 0) return dw_fail(DW_ERR_INVALID, "sig_combine: no signatures (batch size 0)");
    if (o->level == 0) return DW_OK;
    dw_tens t;
    dw_status s = dw_tens_init(&t, d, o->level);
    if (s) return s;
    const size_t sz = t.off[o->level + 1];
    if (!S1 || !S2 || !out) return dw_fail(DW_ERR_INVALID, "sig_combine: NULL %s", !S1 ? "sig1" : !S2 ? "sig2" : "output");
    for (int w = 0; w < 2; w++) {
        const double *S = w ? S2 : S1;
        if (all_finite(S, batch * sz)) continue;
        for (size_t i = 0; i < batch * sz; i++)
            if (!isfinite(S[i]))
                return dw_fail(DW_ERR_INVALID, "sig%d: entry %zu of signature %zu is not finite (%g)", w + 1,
                               i % sz + 1, i / sz + 1, S[i]);
    }
    /* (1 + S1) (x) (1 + S2) = 1 + S1 + S2 + S1 (x) S2 */
    combine_batch(&t, S1, S2, batch, out);
    if (all_finite(out, batch * sz)) return DW_OK;
    for (size_t i = 0; i < batch * sz; i++)
        if (!isfinite(out[i]))
            return dw_fail(DW_ERR_RANGE, "sig_combine: product %zu overflows (entry %zu is not finite)", i / sz + 1,
                           i % sz + 1);
    return DW_OK;
}
