/* The predict module's options and info objects (opaque, with validating setters and getters), so that no struct
 * layout crosses the library's boundary. */
#include "predict/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEED_O(o)                                                                                                  \
    do {                                                                                                           \
        if (!(o)) return dw_fail(DW_ERR_INVALID, "predict options: NULL options");                              \
    } while (0)

dw_status dw_predict_opts_init(dw_predict_opts **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "predict options: NULL output");
    *out = dw_calloc(1, sizeof **out, "predict options");
    if (!*out) return DW_ERR_NOMEM;
    (*out)->learning_rate = 1.0;
    (*out)->t = INFINITY;
    (*out)->tol = 1e-10;
    (*out)->max_iter = 10000;
    return DW_OK;
}

void dw_predict_opts_clear(dw_predict_opts *o) { free(o); }

dw_status dw_predict_opts_set_diag_reg(dw_predict_opts *o, double diag_reg)
{
    NEED_O(o);
    if (!(diag_reg >= 0) || !isfinite(diag_reg))
        return dw_fail(DW_ERR_INVALID, "diag_reg: expected a finite value >= 0, got %g", diag_reg);
    o->diag_reg = diag_reg;
    return DW_OK;
}

dw_status dw_predict_opts_set_diag_reg_absolute_scale(dw_predict_opts *o, bool on)
{
    NEED_O(o);
    o->absolute = on;
    return DW_OK;
}

dw_status dw_predict_opts_set_learning_rate(dw_predict_opts *o, double learning_rate)
{
    NEED_O(o);
    if (!(learning_rate > 0) || !isfinite(learning_rate))
        return dw_fail(DW_ERR_INVALID, "learning_rate: expected a finite value > 0, got %g", learning_rate);
    o->learning_rate = learning_rate;
    return DW_OK;
}

dw_status dw_predict_opts_set_t(dw_predict_opts *o, double t)
{
    NEED_O(o);
    dw_status s = dw_pred_check_t(t, "t");
    if (s) return s;
    o->t = t;
    return DW_OK;
}

dw_status dw_predict_opts_set_kind(dw_predict_opts *o, const char *kind)
{
    NEED_O(o);
    if (kind && !strcmp(kind, "nngp")) o->ntk = false;
    else if (kind && !strcmp(kind, "ntk")) o->ntk = true;
    else return dw_fail(DW_ERR_INVALID, "kind: expected 'nngp' or 'ntk', got '%s'", kind ? kind : "(null)");
    return DW_OK;
}

dw_status dw_predict_opts_set_solver(dw_predict_opts *o, const char *solver)
{
    NEED_O(o);
    if (solver && !strcmp(solver, "auto")) o->solver = DW_PRED_AUTO;
    else if (solver && !strcmp(solver, "cholesky")) o->solver = DW_PRED_CHOLESKY;
    else if (solver && !strcmp(solver, "cg")) o->solver = DW_PRED_CG;
    else
        return dw_fail(DW_ERR_INVALID, "solver: expected 'auto', 'cholesky' or 'cg', got '%s'",
                       solver ? solver : "(null)");
    return DW_OK;
}

dw_status dw_predict_opts_set_tol(dw_predict_opts *o, double tol)
{
    NEED_O(o);
    if (!(tol > 0 && tol < 1)) return dw_fail(DW_ERR_INVALID, "tol: expected a value in (0, 1), got %g", tol);
    o->tol = tol;
    return DW_OK;
}

dw_status dw_predict_opts_set_rank(dw_predict_opts *o, size_t rank)
{
    NEED_O(o);
    if (rank > ((size_t)1 << 40)) return dw_fail(DW_ERR_INVALID, "rank: %zu is out of range", rank);
    o->rank = rank;
    o->rank_set = true;
    return DW_OK;
}

dw_status dw_predict_opts_set_max_iter(dw_predict_opts *o, size_t max_iter)
{
    NEED_O(o);
    if (max_iter < 1) return dw_fail(DW_ERR_INVALID, "max_iter: expected >= 1, got %zu", max_iter);
    o->max_iter = max_iter;
    return DW_OK;
}

dw_status dw_predict_opts_set_progress(dw_predict_opts *o, dw_predict_progress_fn fn, void *ctx)
{
    NEED_O(o);
    o->progress = fn;
    o->progress_ctx = ctx;
    return DW_OK;
}

dw_status dw_predict_opts_set_threads(dw_predict_opts *o, int threads)
{
    NEED_O(o);
    dw_status s = dw_core_check_threads(threads);
    if (s) return s;
    o->threads = threads;
    return DW_OK;
}

static void info_reset(dw_predict_info *info)
{
    memset(info, 0, sizeof *info);
    info->solver = "";
    info->lambda_min = NAN;
    info->rcond = NAN;
    info->lambda_lower = NAN;
}

dw_status dw_predict_info_init(dw_predict_info **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "predict info: NULL output");
    *out = dw_calloc(1, sizeof **out, "predict info");
    if (!*out) return DW_ERR_NOMEM;
    info_reset(*out);
    return DW_OK;
}

void dw_predict_info_clear(dw_predict_info *info) { free(info); }

const char *dw_predict_info_solver(const dw_predict_info *info) { return info && info->solver ? info->solver : ""; }
const char *dw_predict_info_reason(const dw_predict_info *info) { return info ? info->reason : ""; }
double dw_predict_info_jitter(const dw_predict_info *info) { return info ? info->jitter : NAN; }
double dw_predict_info_lambda_min(const dw_predict_info *info) { return info ? info->lambda_min : NAN; }
bool dw_predict_info_lambda_min_exact(const dw_predict_info *info) { return info && info->lambda_min_exact; }
double dw_predict_info_rcond(const dw_predict_info *info) { return info ? info->rcond : NAN; }
size_t dw_predict_info_iterations(const dw_predict_info *info) { return info ? info->iterations : 0; }
size_t dw_predict_info_rank(const dw_predict_info *info) { return info ? info->rank : 0; }
double dw_predict_info_residual(const dw_predict_info *info) { return info ? info->residual : 0.0; }
double dw_predict_info_lambda_lower(const dw_predict_info *info) { return info ? info->lambda_lower : NAN; }
double dw_predict_info_kernel_bound(const dw_predict_info *info) { return info ? info->kernel_bound : NAN; }
bool dw_predict_info_bound_estimate(const dw_predict_info *info) { return info && info->bound_estimate; }

void dw_pred_info_reset(dw_predict_info *info) { info_reset(info); }

dw_status dw_pred_check_t(double t, const char *who)
{
    if (!(t >= 0)) return dw_fail(DW_ERR_INVALID, "%s: expected a time t >= 0 (or infinity), got %g", who, t);
    return DW_OK;
}

dw_status dw_pred_check_finite(const double *a, size_t rows, size_t cols, const char *what)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(a[i * cols + j]))
                return dw_fail(DW_ERR_INVALID, "%s: entry (%zu, %zu) is %g (every entry must be finite)", what, i, j,
                               a[i * cols + j]);
    return DW_OK;
}

dw_status dw_predict_classes(const double *labels, size_t n, size_t *classes)
{
    if (!classes) return dw_fail(DW_ERR_INVALID, "labels: NULL output");
    *classes = 0;
    if (!labels || n == 0) return dw_fail(DW_ERR_INVALID, "labels: no labels (n = 0)");
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = labels[i];
        if (!(v >= 0 && v < 2147483648.0) || v != floor(v))
            return dw_fail(DW_ERR_INVALID, "labels: entry %zu is %g, not a class label (an integer >= 0)", i, v);
        if (v > mx) mx = v;
    }
    *classes = (size_t)mx + 1;
    return DW_OK;
}

dw_status dw_predict_one_hot(const double *labels, size_t n, size_t classes, double *Y)
{
    size_t c;
    dw_status s = dw_predict_classes(labels, n, &c);
    if (s) return s;
    if (!Y) return dw_fail(DW_ERR_INVALID, "labels: NULL output");
    if (classes < c)
        return dw_fail(DW_ERR_INVALID, "labels: a label is %zu but there are %zu classes", c - 1, classes);
    const double off = 1.0 / (double)classes;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < classes; j++) Y[i * classes + j] = (labels[i] == (double)j ? 1.0 : 0.0) - off;
    return DW_OK;
}
