/* The finite-width options and info objects (opaque, with validating setters and getters). */
#include "finite/gram.h"

#include <math.h>
#include <stdlib.h>

static const char *const names[DW_FW_COUNT] = {"nngp",     "ntk",      "nngp_1",   "ntk_1", "nngp_var",
                                               "ntk_var",  "nngp_cov", "ntk_cov",  "kappa4"};

const char *dw_finite_quantity_name(int q) { return q >= 0 && q < DW_FW_COUNT ? names[q] : NULL; }

dw_status dw_finite_opts_init(dw_finite_opts **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "finite-width options: NULL output");
    *out = dw_calloc(1, sizeof **out, "finite-width options");
    return *out ? DW_OK : DW_ERR_NOMEM;
}

void dw_finite_opts_clear(dw_finite_opts *o) { free(o); }

dw_status dw_finite_opts_set_threads(dw_finite_opts *o, int threads)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "finite-width options: NULL options");
    dw_status s = dw_core_check_threads(threads);
    if (s) return s;
    o->threads = threads;
    return DW_OK;
}

dw_status dw_finite_opts_set_width(dw_finite_opts *o, double N)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "finite-width options: NULL options");
    if (!(N > 0) || !isfinite(N)) return dw_fail(DW_ERR_INVALID, "width: must be a positive number (got %g)", N);
    o->width = N;
    return DW_OK;
}

dw_status dw_finite_opts_set_progress(dw_finite_opts *o, dw_finite_progress_fn fn, void *ctx)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "finite-width options: NULL options");
    o->progress = fn;
    o->progress_ctx = ctx;
    return DW_OK;
}

dw_status dw_finite_info_init(dw_finite_info **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "finite-width info: NULL output");
    *out = dw_calloc(1, sizeof **out, "finite-width info");
    if (!*out) return DW_ERR_NOMEM;
    (*out)->method = "";
    return DW_OK;
}

void dw_finite_info_clear(dw_finite_info *info) { free(info); }

const char *dw_finite_info_method(const dw_finite_info *i) { return i && i->method ? i->method : ""; }
double dw_finite_info_frobenius_nngp(const dw_finite_info *i) { return i ? i->frob_nngp : 0.0; }
double dw_finite_info_frobenius_ntk(const dw_finite_info *i) { return i ? i->frob_ntk : 0.0; }
double dw_finite_info_moment_error(const dw_finite_info *i) { return i ? i->moment_error : 0.0; }
size_t dw_finite_info_pairs_closed(const dw_finite_info *i) { return i ? i->pairs_closed : 0; }
size_t dw_finite_info_pairs_series(const dw_finite_info *i) { return i ? i->pairs_series : 0; }
size_t dw_finite_info_pairs_limit(const dw_finite_info *i) { return i ? i->pairs_limit : 0; }

dw_status dw_finite_at_width(const double *q, size_t count, double N, double *out)
{
    if (!q || !out) return dw_fail(DW_ERR_INVALID, "finite-width at width N: NULL argument");
    if (!(N > 0) || !isfinite(N)) return dw_fail(DW_ERR_INVALID, "width: must be a positive number (got %g)", N);
    for (size_t k = 0; k < count; k++) {
        out[k] = q[DW_FW_NNGP * count + k] + q[DW_FW_NNGP_1 * count + k] / N;
        out[count + k] = q[DW_FW_NTK * count + k] + q[DW_FW_NTK_1 * count + k] / N;
        out[2 * count + k] = sqrt(fmax(q[DW_FW_NNGP_VAR * count + k], 0.0) / N);
        out[3 * count + k] = sqrt(fmax(q[DW_FW_NTK_VAR * count + k], 0.0) / N);
    }
    return DW_OK;
}

dw_status dw_finite_predict_widths(const double *q, size_t count, int which, size_t k, const double *widths,
                                   double *out)
{
    if (!q || !widths || !out || count == 0) return dw_fail(DW_ERR_INVALID, "finite-width predictions: NULL argument");
    if (which != DW_FW_NNGP && which != DW_FW_NTK)
        return dw_fail(DW_ERR_INVALID, "finite-width predictions: `which` must be the NNGP or the NTK (got %d)", which);
    const double *var = q + (size_t)(which == DW_FW_NNGP ? DW_FW_NNGP_VAR : DW_FW_NTK_VAR) * count;
    const double *q1 = q + (size_t)(which == DW_FW_NNGP ? DW_FW_NNGP_1 : DW_FW_NTK_1) * count;
    double C = 0.0, mean = 0.0, fro = 0.0;
    for (size_t e = 0; e < count; e++) {
        C += var[e];
        mean += q1[e];
        fro += q1[e] * q1[e];
    }
    mean /= (double)count;
    fro = sqrt(fro);
    for (size_t i = 0; i < k; i++) {
        const double N = widths[i];
        if (!(N > 0) || !isfinite(N)) return dw_fail(DW_ERR_INVALID, "widths: must be positive (got %g)", N);
        out[3 * i] = sqrt(fmax(C, 0.0) / N);
        out[3 * i + 1] = mean / N;
        out[3 * i + 2] = fro / N;
    }
    return DW_OK;
}
