/* Gradients of truncated signatures and log-signatures with respect to the path points (theory.md 5): the driver of
 * the reverse pass (the adjoint operations are in tensor_grad.c). Per path: the signature forward, then the segments
 * last to first, each prefix rebuilt from the next by the inverse segment exponential, so that the memory is a few
 * tensors whatever the length (iisignature's sigbackprop does the same). The log-signature's gradient first goes
 * back through the projection onto its basis (hall.c) and the log series; a stream's gradient (every prefix's
 * signature) joins the reverse pass at each prefix's step. Eight paths go at once in SIMD lanes (as the forward
 * pass's); every lane does the same operations, so the result depends neither on the grouping nor on the thread
 * count. */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES DW_SIG_LANES

typedef struct grad_job {
    const dw_tens *t;
    const dw_liebasis *lb; /* log-signatures only */
    int stream;            /* grad_out holds every prefix's gradient (signature streams) */
    const double *X, *gout;
    size_t batch, len, osz, wsz;
    double *gX, *ws; /* ws: wsz doubles per worker */
} grad_job;

/* Paths g LANES .. g LANES + LANES - 1 in SIMD lanes (lanes past the batch repeat the group's first path, with a
 * zero gradient, and are not written back). */
static dw_status grad_group(void *ctx, size_t g, int tid)
{
    const grad_job *j = ctx;
    const dw_tens *t = j->t;
    const size_t sz = t->off[t->n + 1], d = t->d, len = j->len, b0 = g * LANES;
    double *P = j->ws + (size_t)tid * j->wsz, *G = P + sz * LANES, *work = G + sz * LANES;
    double *h = work + (3 * sz + d) * LANES, *gh = h + d * LANES;
    size_t b[LANES];
    for (int l = 0; l < LANES; l++) b[l] = b0 + (size_t)l < j->batch ? b0 + (size_t)l : b0;
    memset(P, 0, sz * LANES * sizeof(double));
    for (size_t i = 0; i + 1 < len; i++) {
        for (int l = 0; l < LANES; l++) {
            const double *x = j->X + (b[l] * len + i) * d;
            for (size_t a = 0; a < d; a++) h[a * LANES + (size_t)l] = x[d + a] - x[a];
        }
        dw_sig_chen_lanes(t, P, h, work);
    }
    for (int l = 0; l < LANES; l++) {
        const int live = b0 + (size_t)l < j->batch;
        if (!live) {
            for (size_t e = 0; e < sz; e++) G[e * LANES + (size_t)l] = 0.0;
        } else if (j->stream) { /* the full path's entry joins at the last step */
            for (size_t e = 0; e < sz; e++) G[e * LANES + (size_t)l] = 0.0;
        } else if (j->lb) { /* dL/dS = (d log)^T (the projection)^T dL/dlogsig, one lane at a time */
            double *S = gh + d * LANES, *gS = S + sz, *gL = gS + sz, *y = gL + sz, *lw = y + j->osz;
            for (size_t e = 0; e < sz; e++) S[e] = P[e * LANES + (size_t)l];
            dw_liebasis_project_adjoint(j->lb, t, j->gout + b[l] * j->osz, gL, y);
            dw_tens_log_backward(t, S, gL, gS, lw);
            for (size_t e = 0; e < sz; e++) G[e * LANES + (size_t)l] = gS[e];
        } else {
            for (size_t e = 0; e < sz; e++) G[e * LANES + (size_t)l] = j->gout[b[l] * sz + e];
        }
    }
    for (int l = 0; l < LANES && b0 + (size_t)l < j->batch; l++) memset(j->gX + b[l] * len * d, 0, len * d * sizeof(double));
    for (size_t i = len - 1; i-- > 0;) {
        for (int l = 0; l < LANES; l++) {
            const double *x = j->X + (b[l] * len + i) * d;
            for (size_t a = 0; a < d; a++) h[a * LANES + (size_t)l] = x[d + a] - x[a];
        }
        if (j->stream) /* + dL/d(prefix i + 1) */
            for (int l = 0; l < LANES && b0 + (size_t)l < j->batch; l++) {
                const double *go = j->gout + (b[l] * (len - 1) + i) * sz;
                for (size_t e = 0; e < sz; e++) G[e * LANES + (size_t)l] += go[e];
            }
        dw_tens_chen_step_backward_lanes(t, P, G, h, gh, work);
        for (int l = 0; l < LANES && b0 + (size_t)l < j->batch; l++) {
            double *gx = j->gX + (b[l] * len + i) * d;
            for (size_t a = 0; a < d; a++) {
                gx[d + a] += gh[a * LANES + (size_t)l];
                gx[a] -= gh[a * LANES + (size_t)l];
            }
        }
    }
    return DW_OK;
}

static dw_status backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                          const double *grad_out, double *grad_X, int mode)
{
    /* mode 0: signature, 1: log-signature, 2: signature stream */
    const int logsig = mode == 1, stream = mode == 2;
    const char *who = logsig ? "logsignature_backward" : stream ? "signature_stream_backward" : "signature_backward";
    if (!o) return dw_fail(DW_ERR_INVALID, "%s: NULL options", who);
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    const int level = o->level;
    dw_status s = dw_sig_check_points(X, batch, len, d, "X");
    if (s) return s;
    if (!grad_X) return dw_fail(DW_ERR_INVALID, "%s: NULL output", who);
    if (dw_sig_transform_active(&o->tr)) { /* the gradient on the transformed paths, then the transform's adjoint */
        size_t len2, d2;
        dw_sig_transform_shape(&o->tr, len, d, &len2, &d2);
        double *T = dw_sig_transform_apply(&o->tr, X, batch, len, d);
        double *gT = T ? dw_alloc(batch * len2, d2 * sizeof(double), "the transformed paths' gradient") : NULL;
        if (!gT) {
            free(T);
            return DW_ERR_NOMEM;
        }
        dw_sig_opts o2 = *o;
        o2.tr.basepoint = o2.tr.lead_lag = o2.tr.time_aug = false;
        s = backward(&o2, T, batch, len2, d2, grad_out, gT, mode);
        if (!s) dw_sig_transform_backward(&o->tr, gT, batch, len, d, grad_X);
        free(T);
        free(gT);
        return s;
    }
    size_t osz = 0;
    if ((s = logsig ? dw_sig_basis_size((dw_sig_basis)o->basis, d, level, &osz) : dw_sig_size(d, level, &osz)))
        return s;
    const size_t per = stream ? (len - 1) * osz : osz; /* grad_out entries per path */
    if (per && !grad_out) return dw_fail(DW_ERR_INVALID, "grad_out: NULL");
    if (level == 0) {
        memset(grad_X, 0, batch * len * d * sizeof(double));
        return DW_OK; /* no output */
    }
    dw_tens t;
    if ((s = dw_tens_init(&t, d, level))) return s;
    const size_t sz = t.off[level + 1];
    /* per worker, in lanes: P, G, the step's work (3 tensors + d), h, gh; for the log, one lane at a time: S, gS,
     * gL, y, the log's n + 2 tensors; refused before grad_out (batch x osz) is read */
    const double wsz = (5.0 * (double)sz + 3.0 * (double)d) * LANES +
                       (logsig ? 3.0 * (double)sz + (double)osz + (double)(level + 2) * (double)sz : 0.0);
    const size_t groups = (batch + LANES - 1) / LANES;
    const int nt = dw_core_threads(o->threads);
    const int thr = (double)batch * (double)len * (double)sz > 2e4 ? nt : 1;
    const int nw = dw_par_workers(groups, thr);
    s = dw_core_check_alloc(wsz * 8.0 * nw, logsig ? "the log-signature gradient's work space"
                                                   : "the signature gradient's work space");
    if (s) return s;
    for (size_t i = 0; i < batch * per; i++)
        if (!isfinite(grad_out[i]))
            return dw_fail(DW_ERR_INVALID, "grad_out: entry %zu of path %zu is not finite (%g)", i % per + 1,
                           i / per + 1, grad_out[i]);
    memset(grad_X, 0, batch * len * d * sizeof(double));
    if (len == 1) return DW_OK; /* the output is constant in the paths */
    dw_liebasis lb;
    memset(&lb, 0, sizeof lb);
    if (logsig && (s = dw_liebasis_init(&lb, &t, o->basis))) return s;
    double *ws = dw_alloc((size_t)nw * (size_t)wsz, sizeof(double), "the signature gradient's work space");
    if (ws) {
        grad_job job = {&t, logsig ? &lb : NULL, stream, X, grad_out, batch, len, osz, (size_t)wsz, grad_X, ws};
        (void)dw_par_for(groups, thr, grad_group, &job);
    }
    dw_liebasis_clear(&lb);
    free(ws);
    if (!ws) return DW_ERR_NOMEM;
    for (size_t i = 0; i < batch * len * d; i++)
        if (!isfinite(grad_X[i]))
            return dw_fail(DW_ERR_RANGE, "%s: the gradient of path %zu overflows (entry %zu is not finite); rescale "
                                         "the paths",
                           who, i / (len * d) + 1, i % (len * d) + 1);
    return DW_OK;
}

dw_status dw_sig_signature_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                    const double *grad_out, double *grad_X)
{
    return backward(o, X, batch, len, d, grad_out, grad_X, 0);
}

dw_status dw_sig_logsignature_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                       const double *grad_out, double *grad_X)
{
    return backward(o, X, batch, len, d, grad_out, grad_X, 1);
}

dw_status dw_sig_signature_stream_backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                           const double *grad_out, double *grad_X)
{
    return backward(o, X, batch, len, d, grad_out, grad_X, 2);
}
