/* Operations on given signatures and log-signatures (theory.md 5), iisignature's sigjoin / sigscale / logsigtosig /
 * logsigjoin and their gradients, with the backward of sig_combine (chen.c has the forward):
 *   join:   S (x) exp(h)       (Chen's step; its adjoint is tensor_grad.c's, with the prefix S given);
 *   scale:  S_w prod_j s_{w_j}  (the signature of the path with channel i scaled by s_i, word by word);
 *   logsigtosig: exp(L), L the expansion of the coordinates in the basis (hall.c);
 *   logsigjoin:  log(exp(L) (x) exp(h)), back to coordinates.
 * One thread: each is a few tensor operations per entry of the batch. */
#include "sig/sig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES DW_SIG_LANES

/* The common prologue: options with a level, d >= 1, batch >= 1; *t set when the level is > 0 (else *sz = 0). */
static dw_status start(const dw_sig_opts *o, size_t batch, size_t d, const char *who, dw_tens *t, size_t *sz)
{
    *sz = 0;
    if (!o) return dw_fail(DW_ERR_INVALID, "%s: NULL options", who);
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "%s: dimension d must be at least 1", who);
    if (batch == 0) return dw_fail(DW_ERR_INVALID, "%s: empty batch (batch size 0)", who);
    if (o->level == 0) return DW_OK;
    dw_status s = dw_tens_init(t, d, o->level);
    if (!s) *sz = t->off[o->level + 1];
    return s;
}

/* name: n entries per item, batch items, all finite (NULL refused when n > 0). */
static dw_status check_array(const char *name, const double *A, size_t batch, size_t n, const char *item)
{
    if (!n) return DW_OK;
    if (!A) return dw_fail(DW_ERR_INVALID, "%s: NULL", name);
    for (size_t i = 0; i < batch * n; i++)
        if (!isfinite(A[i]))
            return dw_fail(DW_ERR_INVALID, "%s: entry %zu of %s %zu is not finite (%g)", name, i % n + 1, item,
                           i / n + 1, A[i]);
    return DW_OK;
}

static dw_status check_out(const char *who, const double *out, size_t batch, size_t n)
{
    for (size_t i = 0; i < batch * n; i++)
        if (!isfinite(out[i]))
            return dw_fail(DW_ERR_RANGE, "%s: result %zu overflows (entry %zu is not finite)", who, i / n + 1,
                           i % n + 1);
    return DW_OK;
}

/* The segments: h (batch x hd), hd = d or d - 1 with the fixed last channel; checks them. */
static dw_status check_segments(const double *h, size_t batch, size_t d, const double *fixed_last, size_t *hd)
{
    *hd = fixed_last ? d - 1 : d;
    if (fixed_last && !isfinite(*fixed_last))
        return dw_fail(DW_ERR_INVALID, "fixed_last: must be finite (got %g)", *fixed_last);
    return check_array("segment", h, batch, *hd, "segment");
}

static void segment(const double *h, size_t b, size_t d, size_t hd, const double *fixed_last, double *out)
{
    memcpy(out, h + b * hd, hd * sizeof(double));
    if (fixed_last) out[d - 1] = *fixed_last;
}

dw_status dw_sig_join(const dw_sig_opts *o, const double *S, const double *h, size_t batch, size_t d,
                      const double *fixed_last, double *out)
{
    dw_tens t;
    size_t sz, hd;
    dw_status s = start(o, batch, d, "sigjoin", &t, &sz);
    if (!s) s = check_segments(h, batch, d, fixed_last, &hd);
    if (s || !sz) return s;
    if ((s = check_array("sig", S, batch, sz, "signature"))) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "sigjoin: NULL output");
    double *work = dw_alloc(t.pw[t.n] / d + d, sizeof(double), "sigjoin work space");
    if (!work) return DW_ERR_NOMEM;
    double *hv = work + t.pw[t.n] / d;
    for (size_t b = 0; b < batch; b++) {
        memmove(out + b * sz, S + b * sz, sz * sizeof(double));
        segment(h, b, d, hd, fixed_last, hv);
        dw_tens_chen_step(&t, out + b * sz, hv, work);
    }
    free(work);
    return check_out("sigjoin", out, batch, sz);
}

dw_status dw_sig_join_backward(const dw_sig_opts *o, const double *S, const double *h, size_t batch, size_t d,
                               const double *fixed_last, const double *grad_out, double *grad_S, double *grad_h,
                               double *grad_fixed_last)
{
    dw_tens t;
    size_t sz, hd;
    dw_status s = start(o, batch, d, "sigjoin_backward", &t, &sz);
    if (!s) s = check_segments(h, batch, d, fixed_last, &hd);
    if (s) return s;
    if (grad_fixed_last) *grad_fixed_last = 0.0;
    if ((hd && !grad_h) || (sz && !grad_S)) return dw_fail(DW_ERR_INVALID, "sigjoin_backward: NULL output");
    if (hd) memset(grad_h, 0, batch * hd * sizeof(double));
    if (!sz) return DW_OK;
    if ((s = check_array("sig", S, batch, sz, "signature")) || (s = check_array("grad_out", grad_out, batch, sz,
                                                                                 "signature")))
        return s;
    /* in lanes: Q, G, the adjoint's 2 tensors, h, gh */
    double *Q = dw_alloc((4 * sz + 2 * d) * LANES, sizeof(double), "sigjoin_backward work space");
    if (!Q) return DW_ERR_NOMEM;
    double *G = Q + sz * LANES, *work = G + sz * LANES, *hv = work + 2 * sz * LANES, *gh = hv + d * LANES;
    double fl = 0.0;
    for (size_t b0 = 0; b0 < batch; b0 += LANES) {
        for (size_t l = 0; l < LANES; l++) {
            const size_t b = b0 + l < batch ? b0 + l : b0;
            const int live = b0 + l < batch;
            for (size_t e = 0; e < sz; e++) {
                Q[e * LANES + l] = S[b * sz + e];
                G[e * LANES + l] = live ? grad_out[b * sz + e] : 0.0;
            }
            for (size_t a = 0; a < d; a++)
                hv[a * LANES + l] = a < hd ? h[b * hd + a] : *fixed_last;
        }
        dw_tens_chen_adjoint_lanes(&t, Q, G, hv, gh, work);
        for (size_t l = 0; l < LANES && b0 + l < batch; l++) {
            const size_t b = b0 + l;
            for (size_t e = 0; e < sz; e++) grad_S[b * sz + e] = G[e * LANES + l];
            for (size_t a = 0; a < hd; a++) grad_h[b * hd + a] = gh[a * LANES + l];
            if (fixed_last) fl += gh[(d - 1) * LANES + l];
        }
    }
    free(Q);
    if (grad_fixed_last) *grad_fixed_last = fl;
    if ((s = check_out("sigjoin_backward", grad_S, batch, sz))) return s;
    return check_out("sigjoin_backward", grad_h, batch, hd);
}

/* F (one tensor) = the products prod_j s_{w_j} of every word w. */
static void scale_factors(const dw_tens *t, const double *sc, double *F)
{
    const size_t d = t->d;
    memcpy(F, sc, d * sizeof(double));
    for (int k = 2; k <= t->n; k++) {
        const double *p = F + t->off[k - 1];
        double *c = F + t->off[k];
        for (size_t w = 0; w < t->pw[k - 1]; w++)
            for (size_t a = 0; a < d; a++) c[w * d + a] = p[w] * sc[a];
    }
}

dw_status dw_sig_scale(const dw_sig_opts *o, const double *S, const double *scales, size_t batch, size_t d,
                       double *out)
{
    dw_tens t;
    size_t sz;
    dw_status s = start(o, batch, d, "sigscale", &t, &sz);
    if (!s) s = check_array("scales", scales, batch, d, "scale vector");
    if (s || !sz) return s;
    if ((s = check_array("sig", S, batch, sz, "signature"))) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "sigscale: NULL output");
    double *F = dw_alloc(sz, sizeof(double), "sigscale work space");
    if (!F) return DW_ERR_NOMEM;
    for (size_t b = 0; b < batch; b++) {
        scale_factors(&t, scales + b * d, F);
        for (size_t e = 0; e < sz; e++) out[b * sz + e] = S[b * sz + e] * F[e];
    }
    free(F);
    return check_out("sigscale", out, batch, sz);
}

dw_status dw_sig_scale_backward(const dw_sig_opts *o, const double *S, const double *scales, size_t batch, size_t d,
                                const double *grad_out, double *grad_S, double *grad_scales)
{
    dw_tens t;
    size_t sz;
    dw_status s = start(o, batch, d, "sigscale_backward", &t, &sz);
    if (!s) s = check_array("scales", scales, batch, d, "scale vector");
    if (s) return s;
    if (!grad_scales || (sz && !grad_S)) return dw_fail(DW_ERR_INVALID, "sigscale_backward: NULL output");
    memset(grad_scales, 0, batch * d * sizeof(double));
    if (!sz) return DW_OK;
    if ((s = check_array("sig", S, batch, sz, "signature")) || (s = check_array("grad_out", grad_out, batch, sz,
                                                                                 "signature")))
        return s;
    double *F = dw_alloc(2 * sz, sizeof(double), "sigscale_backward work space");
    if (!F) return DW_ERR_NOMEM;
    double *gF = F + sz;
    for (size_t b = 0; b < batch; b++) {
        const double *sc = scales + b * d, *g = grad_out + b * sz, *Sb = S + b * sz;
        double *gs = grad_scales + b * d;
        scale_factors(&t, sc, F);
        for (size_t e = 0; e < sz; e++) {
            grad_S[b * sz + e] = g[e] * F[e];
            gF[e] = g[e] * Sb[e];
        }
        /* back through F_k[w d + a] = F_{k-1}[w] s_a, top level first */
        for (int k = t.n; k >= 2; k--) {
            const double *p = F + t.off[k - 1], *gc = gF + t.off[k];
            double *gp = gF + t.off[k - 1];
            for (size_t w = 0; w < t.pw[k - 1]; w++) {
                double acc = 0.0;
                for (size_t a = 0; a < d; a++) {
                    acc += gc[w * d + a] * sc[a];
                    gs[a] += gc[w * d + a] * p[w];
                }
                gp[w] += acc;
            }
        }
        for (size_t a = 0; a < d; a++) gs[a] += gF[a];
    }
    free(F);
    if ((s = check_out("sigscale_backward", grad_S, batch, sz))) return s;
    return check_out("sigscale_backward", grad_scales, batch, d);
}

dw_status dw_sig_combine_backward(const dw_sig_opts *o, const double *S1, const double *S2, size_t batch, size_t d,
                                  const double *grad_out, double *grad_S1, double *grad_S2)
{
    dw_tens t;
    size_t sz;
    dw_status s = start(o, batch, d, "sig_combine_backward", &t, &sz);
    if (s || !sz) return s;
    if ((s = check_array("sig1", S1, batch, sz, "signature")) || (s = check_array("sig2", S2, batch, sz, "signature")) ||
        (s = check_array("grad_out", grad_out, batch, sz, "signature")))
        return s;
    if (!grad_S1 || !grad_S2) return dw_fail(DW_ERR_INVALID, "sig_combine_backward: NULL output");
    /* out = S1 + S2 + S1 (x) S2 */
    memcpy(grad_S1, grad_out, batch * sz * sizeof(double));
    memcpy(grad_S2, grad_out, batch * sz * sizeof(double));
    for (size_t b = 0; b < batch; b++)
        dw_tens_mul_backward(&t, S1 + b * sz, S2 + b * sz, grad_out + b * sz, grad_S1 + b * sz, grad_S2 + b * sz);
    if ((s = check_out("sig_combine_backward", grad_S1, batch, sz))) return s;
    return check_out("sig_combine_backward", grad_S2, batch, sz);
}

/* logsigtosig (h NULL) and logsigjoin (h the segments) */
static dw_status from_log(const dw_sig_opts *o, const double *L, const double *h, size_t batch, size_t d,
                          const double *fixed_last, double *out, const char *who)
{
    dw_tens t;
    size_t sz, hd = d, osz;
    dw_status s = start(o, batch, d, who, &t, &sz);
    if (!s && h) s = check_segments(h, batch, d, fixed_last, &hd);
    if (s || !sz) return s;
    dw_liebasis lb;
    if ((s = dw_liebasis_init(&lb, &t, o->basis))) return s;
    const size_t csz = lb.count;
    osz = h ? csz : sz;
    if ((s = check_array("logsig", L, batch, csz, "log-signature"))) goto done;
    if (!out) {
        s = dw_fail(DW_ERR_INVALID, "%s: NULL output", who);
        goto done;
    }
    /* the expansion, the signature, the exp/log series' 2 tensors, Horner's scratch (d^(n-1)), the segment */
    double *E = dw_alloc(4 * sz + t.pw[t.n] / d + d, sizeof(double), "the log-signature work space");
    if (!E) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    double *Sg = E + sz, *work = Sg + sz, *scr = work + 2 * sz, *hv = scr + t.pw[t.n] / d;
    for (size_t b = 0; b < batch; b++) {
        dw_liebasis_expand(&lb, &t, L + b * csz, E);
        dw_tens_exp(&t, E, h ? Sg : out + b * sz, work);
        if (!h) continue;
        segment(h, b, d, hd, fixed_last, hv);
        dw_tens_chen_step(&t, Sg, hv, scr);
        dw_tens_log(&t, Sg, E, work);
        dw_liebasis_project(&lb, &t, E, out + b * osz, work);
    }
    free(E);
    s = check_out(who, out, batch, osz);
done:
    dw_liebasis_clear(&lb);
    return s;
}

dw_status dw_sig_logsig_to_sig(const dw_sig_opts *o, const double *L, size_t batch, size_t d, double *out)
{
    return from_log(o, L, NULL, batch, d, NULL, out, "logsigtosig");
}

dw_status dw_sig_logsig_join(const dw_sig_opts *o, const double *L, const double *h, size_t batch, size_t d,
                             const double *fixed_last, double *out)
{
    if (!h) return dw_fail(DW_ERR_INVALID, "logsigjoin: NULL segment");
    return from_log(o, L, h, batch, d, fixed_last, out, "logsigjoin");
}

/* Gradients of logsigtosig (h NULL) and logsigjoin. Per item the forward is recomputed: E = expand(L), Q = exp(E),
 * then with a segment P = Q (x) exp(h) and out = project(log P). Backward: the projection's and log's adjoints give
 * dL/dP, Chen's adjoint with the prefix Q given (LANES items at once, as sigjoin_backward) gives dL/dQ and dL/dh,
 * then the exp series' and the expansion's adjoints give dL/dL. */
static dw_status from_log_backward(const dw_sig_opts *o, const double *L, const double *h, size_t batch, size_t d,
                                   const double *fixed_last, const double *grad_out, double *grad_L,
                                   double *grad_h, double *grad_fixed_last, const char *who)
{
    dw_tens t;
    size_t sz, hd = 0;
    dw_status s = start(o, batch, d, who, &t, &sz);
    if (!s && h) s = check_segments(h, batch, d, fixed_last, &hd);
    if (s) return s;
    if (grad_fixed_last) *grad_fixed_last = 0.0;
    if (hd && !grad_h) return dw_fail(DW_ERR_INVALID, "%s: NULL output", who);
    if (hd) memset(grad_h, 0, batch * hd * sizeof(double));
    if (!sz) return DW_OK;
    dw_liebasis lb;
    if ((s = dw_liebasis_init(&lb, &t, o->basis))) return s;
    const size_t csz = lb.count, osz = h ? csz : sz, n = (size_t)t.n;
    double *Es = NULL;
    if ((s = check_array("logsig", L, batch, csz, "log-signature")) ||
        (s = check_array("grad_out", grad_out, batch, osz, h ? "log-signature" : "signature")))
        goto done;
    if (!grad_L) {
        s = dw_fail(DW_ERR_INVALID, "%s: NULL output", who);
        goto done;
    }
    /* in lanes: the expansions, Q, G, Chen's adjoint's 2 tensors, h, gh; then one item's P, gP, gE, the series'
     * n + 2 tensors, the projection's 2 csz, Horner's scratch and one segment */
    Es = dw_alloc((5 * sz + 2 * d) * LANES + (n + 5) * sz + 2 * csz + t.pw[t.n] / d + d, sizeof(double),
                  "the log-signature gradient's work space");
    if (!Es) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    double *Q = Es + sz * LANES, *G = Q + sz * LANES, *cw = G + sz * LANES, *hv = cw + 2 * sz * LANES;
    double *gh = hv + d * LANES, *P = gh + d * LANES, *gP = P + sz, *gE = gP + sz, *sw = gE + sz;
    double *y = sw + (n + 2) * sz, *scr = y + 2 * csz, *hs = scr + t.pw[t.n] / d;
    double fl = 0.0;
    for (size_t b0 = 0; b0 < batch; b0 += LANES) {
        for (size_t l = 0; l < LANES; l++) {
            const size_t b = b0 + l < batch ? b0 + l : b0;
            const int live = b0 + l < batch;
            double *E = Es + l * sz;
            dw_liebasis_expand(&lb, &t, L + b * csz, E);
            dw_tens_exp(&t, E, P, sw);
            for (size_t e = 0; e < sz; e++) Q[e * LANES + l] = P[e];
            if (h) {
                segment(h, b, d, hd, fixed_last, hs);
                for (size_t a = 0; a < d; a++) hv[a * LANES + l] = hs[a];
                dw_tens_chen_step(&t, P, hs, scr);
            }
            const double *g = live ? grad_out + b * osz : NULL;
            for (size_t e = 0; e < sz; e++) G[e * LANES + l] = (g && !h) ? g[e] : 0.0;
            if (h && g) {
                dw_liebasis_project_adjoint(&lb, &t, g, gE, y);
                dw_tens_log_backward(&t, P, gE, gP, sw);
                for (size_t e = 0; e < sz; e++) G[e * LANES + l] = gP[e];
            }
        }
        if (h) dw_tens_chen_adjoint_lanes(&t, Q, G, hv, gh, cw);
        for (size_t l = 0; l < LANES && b0 + l < batch; l++) {
            const size_t b = b0 + l;
            for (size_t e = 0; e < sz; e++) gP[e] = G[e * LANES + l];
            dw_tens_exp_backward(&t, Es + l * sz, gP, gE, sw);
            dw_liebasis_expand_adjoint(&lb, &t, gE, grad_L + b * csz);
            for (size_t a = 0; a < hd; a++) grad_h[b * hd + a] = gh[a * LANES + l];
            if (fixed_last) fl += gh[(d - 1) * LANES + l];
        }
    }
    if (grad_fixed_last) *grad_fixed_last = fl;
    if (!(s = check_out(who, grad_L, batch, csz))) s = check_out(who, grad_h, batch, hd);
done:
    free(Es);
    dw_liebasis_clear(&lb);
    return s;
}

dw_status dw_sig_logsig_to_sig_backward(const dw_sig_opts *o, const double *L, size_t batch, size_t d,
                                        const double *grad_out, double *grad_L)
{
    return from_log_backward(o, L, NULL, batch, d, NULL, grad_out, grad_L, NULL, NULL, "logsigtosig_backward");
}

dw_status dw_sig_logsig_join_backward(const dw_sig_opts *o, const double *L, const double *h, size_t batch,
                                      size_t d, const double *fixed_last, const double *grad_out, double *grad_L,
                                      double *grad_h, double *grad_fixed_last)
{
    if (!h) return dw_fail(DW_ERR_INVALID, "logsigjoin_backward: NULL segment");
    return from_log_backward(o, L, h, batch, d, fixed_last, grad_out, grad_L, grad_h, grad_fixed_last,
                             "logsigjoin_backward");
}
