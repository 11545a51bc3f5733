/* Gradients of truncated signatures and log-signatures with respect to the path points (theory.md 5): the driver of
 * the reverse pass (the adjoint operations are in tensor_grad.c). Per path: the signature forward, then the segments
 * last to first, each prefix rebuilt from the next by the inverse segment exponential, so that the memory is a few
 * tensors whatever the length (iisignature's sigbackprop does the same). The log-signature's gradient first goes
 * back through the Lyndon projection and the log series. Paths are independent items: the result does not depend on
 * the thread count. */
#include "sig/sig.h"

#include "core/par.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct grad_job {
    const dw_tens *t;
    const dw_lyndon *ly; /* log-signatures only */
    const double *X, *gout;
    size_t len, osz, wsz;
    double *gX, *ws; /* ws: wsz doubles per worker */
} grad_job;

static dw_status grad_path(void *ctx, size_t b, int tid)
{
    const grad_job *j = ctx;
    const dw_tens *t = j->t;
    const size_t sz = t->off[t->n + 1], d = t->d, len = j->len;
    double *P = j->ws + (size_t)tid * j->wsz, *G = P + sz, *work = G + sz, *h = work + 3 * sz + d, *gh = h + d;
    const double *x = j->X + b * len * d;
    double *gx = j->gX + b * len * d;
    memset(P, 0, sz * sizeof(double));
    for (size_t i = 0; i + 1 < len; i++) {
        for (size_t a = 0; a < d; a++) h[a] = x[(i + 1) * d + a] - x[i * d + a];
        dw_tens_chen_step(t, P, h, work);
    }
    if (j->ly) { /* dL/dS = (d log)^T (E^T-projection)^T dL/dlogsig */
        double *gL = gh + d, *y = gL + sz, *lw = y + j->osz;
        dw_lyndon_project_adjoint(j->ly, t, j->gout + b * j->osz, gL, y);
        dw_tens_log_backward(t, P, gL, G, lw);
    } else {
        memcpy(G, j->gout + b * sz, sz * sizeof(double));
    }
    memset(gx, 0, len * d * sizeof(double));
    for (size_t i = len - 1; i-- > 0;) {
        for (size_t a = 0; a < d; a++) h[a] = x[(i + 1) * d + a] - x[i * d + a];
        dw_tens_chen_step_backward(t, P, G, h, gh, work);
        for (size_t a = 0; a < d; a++) {
            gx[(i + 1) * d + a] += gh[a];
            gx[i * d + a] -= gh[a];
        }
    }
    return DW_OK;
}

static dw_status backward(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                          const double *grad_out, double *grad_X, int logsig)
{
    const char *who = logsig ? "logsignature_backward" : "signature_backward";
    if (!o) return dw_fail(DW_ERR_INVALID, "%s: NULL options", who);
    if (o->level < 0) return dw_fail(DW_ERR_INVALID, "level: not set (dw_sig_opts_set_level)");
    const int level = o->level;
    dw_status s = dw_sig_check_points(X, batch, len, d, "X");
    if (s) return s;
    if (!grad_X) return dw_fail(DW_ERR_INVALID, "%s: NULL output", who);
    size_t osz = 0;
    if ((s = logsig ? dw_sig_logsig_size(d, level, &osz) : dw_sig_size(d, level, &osz))) return s;
    if (osz && !grad_out) return dw_fail(DW_ERR_INVALID, "grad_out: NULL");
    for (size_t i = 0; i < batch * osz; i++)
        if (!isfinite(grad_out[i]))
            return dw_fail(DW_ERR_INVALID, "grad_out: entry %zu of path %zu is not finite (%g)", i % osz + 1,
                           i / osz + 1, grad_out[i]);
    memset(grad_X, 0, batch * len * d * sizeof(double));
    if (level == 0 || len == 1) return DW_OK; /* the output is constant in the paths */
    dw_tens t;
    if ((s = dw_tens_init(&t, d, level))) return s;
    const size_t sz = t.off[level + 1];
    /* per worker: P, G, the step's work (3 tensors + d), h, gh; for the log: gL, y, the log's n + 2 tensors */
    const double wsz = 5.0 * (double)sz + 3.0 * (double)d +
                       (logsig ? (double)sz + (double)osz + (double)(level + 2) * (double)sz : 0.0);
    const int nt = dw_core_threads(o->threads);
    const int thr = (double)batch * (double)len * (double)sz > 2e4 ? nt : 1;
    const int nw = dw_par_workers(batch, thr);
    s = dw_core_check_alloc(wsz * 8.0 * nw, logsig ? "the log-signature gradient's work space"
                                                   : "the signature gradient's work space");
    if (s) return s;
    dw_lyndon ly;
    memset(&ly, 0, sizeof ly);
    if (logsig && (s = dw_lyndon_init(&ly, &t))) return s;
    double *ws = dw_alloc((size_t)nw * (size_t)wsz, sizeof(double), "the signature gradient's work space");
    if (ws) {
        grad_job job = {&t, logsig ? &ly : NULL, X, grad_out, len, osz, (size_t)wsz, grad_X, ws};
        (void)dw_par_for(batch, thr, grad_path, &job);
    }
    dw_lyndon_clear(&ly);
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
