/* Path transforms of the signature computations (theory.md 5), applied to the paths before a computation and, for
 * gradients, adjointly after it: the basepoint (the origin prepended), the lead-lag transform (pySigLib's: channels
 * (lag, lead), 2 len - 1 points) and time augmentation (a last channel t_i = end_time i / (len' - 1)), in this order,
 * as pySigLib applies time after lead-lag. Kept apart from the computations, which see ordinary paths. */
#include "sig/sig.h"

#include <stdlib.h>
#include <string.h>

void dw_sig_transform_shape(const dw_sig_transform *tr, size_t len, size_t d, size_t *len2, size_t *d2)
{
    size_t L = len + (tr->basepoint ? 1 : 0), D = d;
    if (tr->lead_lag) {
        L = 2 * L - 1;
        D = 2 * d;
    }
    *len2 = L;
    *d2 = D + (tr->time_aug ? 1 : 0);
}

/* Copies the point of index i of the basepointed path x to dst: the origin or x[i - 1]. */
static void copy_point(const dw_sig_transform *tr, const double *x, size_t i, size_t d, double *dst)
{
    if (tr->basepoint && i == 0)
        memset(dst, 0, d * sizeof(double));
    else
        memcpy(dst, x + (i - (tr->basepoint ? 1 : 0)) * d, d * sizeof(double));
}

/* The transformed paths into T (batch x len2 x d2). */
static void transform_fill(const dw_sig_transform *tr, const double *X, size_t batch, size_t len, size_t d,
                           double *T)
{
    size_t L2, D2;
    dw_sig_transform_shape(tr, len, d, &L2, &D2);
    for (size_t b = 0; b < batch; b++) {
        const double *x = X + b * len * d;
        for (size_t i = 0; i < L2; i++) {
            double *t = T + (b * L2 + i) * D2;
            if (tr->lead_lag) { /* lag = point floor(i / 2), lead = point ceil(i / 2) */
                copy_point(tr, x, i / 2, d, t);
                copy_point(tr, x, (i + 1) / 2, d, t + d);
            } else {
                copy_point(tr, x, i, d, t);
            }
            if (tr->time_aug) t[D2 - 1] = L2 > 1 ? tr->end_time * (double)i / (double)(L2 - 1) : 0.0;
        }
    }
}

double *dw_sig_transform_apply(const dw_sig_transform *tr, const double *X, size_t batch, size_t len, size_t d)
{
    size_t L2, D2;
    dw_sig_transform_shape(tr, len, d, &L2, &D2);
    if (dw_core_check_alloc((double)batch * (double)L2 * (double)D2 * 8.0, "the transformed paths")) return NULL;
    double *T = dw_alloc(batch * L2, D2 * sizeof(double), "the transformed paths");
    if (T) transform_fill(tr, X, batch, len, d, T);
    return T;
}

dw_status dw_sig_transform_paths(const dw_sig_opts *o, const double *X, size_t batch, size_t len, size_t d,
                                 double *out)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "transform paths: NULL options");
    dw_status s = dw_sig_check_points(X, batch, len, d, "X");
    if (s) return s;
    if (!out) return dw_fail(DW_ERR_INVALID, "transform paths: NULL output");
    transform_fill(&o->tr, X, batch, len, d, out);
    return DW_OK;
}

dw_status dw_sig_transform_paths_backward(const dw_sig_opts *o, const double *gT, size_t batch, size_t len,
                                          size_t d, double *gX)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "transform paths backward: NULL options");
    if (batch == 0 || len == 0 || d == 0)
        return dw_fail(DW_ERR_INVALID, "transform paths backward: batch, len and d must be positive");
    size_t L2, D2;
    dw_sig_transform_shape(&o->tr, len, d, &L2, &D2);
    dw_status s = dw_sig_check_points(gT, batch, L2, D2, "grad_out");
    if (s) return s;
    if (!gX) return dw_fail(DW_ERR_INVALID, "transform paths backward: NULL output");
    dw_sig_transform_backward(&o->tr, gT, batch, len, d, gX);
    return DW_OK;
}

void dw_sig_transform_backward(const dw_sig_transform *tr, const double *gT, size_t batch, size_t len, size_t d,
                               double *gX)
{
    size_t L2, D2;
    dw_sig_transform_shape(tr, len, d, &L2, &D2);
    const size_t off = tr->basepoint ? 1 : 0; /* the origin's gradient is dropped */
    memset(gX, 0, batch * len * d * sizeof(double));
    for (size_t b = 0; b < batch; b++) {
        double *gx = gX + b * len * d;
        for (size_t i = 0; i < L2; i++) {
            const double *g = gT + (b * L2 + i) * D2;
            for (int part = 0; part < (tr->lead_lag ? 2 : 1); part++) {
                const size_t p = tr->lead_lag ? (part ? (i + 1) / 2 : i / 2) : i;
                if (p < off) continue;
                for (size_t a = 0; a < d; a++) gx[(p - off) * d + a] += g[(size_t)part * d + a];
            }
        }
    }
}

dw_status dw_sig_kernel_transform(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                  size_t m, size_t ly, size_t d, dw_sig_kernel_paths *t)
{
    memset(t, 0, sizeof *t);
    t->o = *o;
    t->o.tr.basepoint = t->o.tr.lead_lag = t->o.tr.time_aug = false;
    size_t d2 = d;
    dw_sig_transform_shape(&o->tr, lx, d, &t->lx, &d2);
    t->d = d2;
    t->X = dw_sig_transform_apply(&o->tr, X, n, lx, d);
    if (!t->X) return DW_ERR_NOMEM;
    if (Y) {
        dw_sig_transform_shape(&o->tr, ly, d, &t->ly, &d2);
        t->Y = dw_sig_transform_apply(&o->tr, Y, m, ly, d);
        if (!t->Y) {
            free(t->X);
            t->X = NULL;
            return DW_ERR_NOMEM;
        }
    }
    return DW_OK;
}
