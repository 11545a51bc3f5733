/* The kernel's options and info objects (opaque, with validating setters and getters), so that no struct layout
 * crosses the library's boundary. */
#include "kernels/kernel.h"

#include <math.h>
#include <stdlib.h>


dw_status dw_kernel_opts_init(dw_kernel_opts **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel options: NULL output");
    *out = dw_calloc(1, sizeof **out, "kernel options");
    return *out ? DW_OK : DW_ERR_NOMEM;
}

void dw_kernel_opts_clear(dw_kernel_opts *o) { free(o); }

dw_status dw_kernel_opts_set_all_layers(dw_kernel_opts *o, bool on)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel options: NULL options");
    o->all_layers = on;
    return DW_OK;
}

dw_status dw_kernel_opts_set_threads(dw_kernel_opts *o, int threads)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel options: NULL options");
    dw_status s = dw_core_check_threads(threads);
    if (s) return s;
    o->threads = threads;
    return DW_OK;
}

dw_status dw_kernel_opts_set_memory(dw_kernel_opts *o, double bytes)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel options: NULL options");
    if (!(bytes >= 0) || !isfinite(bytes))
        return dw_fail(DW_ERR_INVALID, "memory: expected a number of bytes > 0 (or 0 for the default), got %g", bytes);
    o->memory = bytes;
    return DW_OK;
}

dw_status dw_kernel_opts_set_resume(dw_kernel_opts *o, bool on)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel options: NULL options");
    o->resume = on;
    return DW_OK;
}

dw_status dw_kernel_opts_set_progress(dw_kernel_opts *o, dw_kernel_progress_fn fn, void *ctx)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel options: NULL options");
    o->progress = fn;
    o->progress_ctx = ctx;
    return DW_OK;
}

dw_status dw_kernel_info_init(dw_kernel_info **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel info: NULL output");
    *out = dw_calloc(1, sizeof **out, "kernel info");
    if (!*out) return DW_ERR_NOMEM;
    (*out)->method = "";
    return DW_OK;
}

void dw_kernel_info_clear(dw_kernel_info *info) { free(info); }

const char *dw_kernel_info_method(const dw_kernel_info *info) { return info && info->method ? info->method : ""; }
double dw_kernel_info_max_bound(const dw_kernel_info *info) { return info ? info->max_bound : 0.0; }
double dw_kernel_info_expectation_bound(const dw_kernel_info *info) { return info ? info->exp_bound : 0.0; }
double dw_kernel_info_target(const dw_kernel_info *info) { return info ? info->target : 0.0; }
size_t dw_kernel_info_evaluations(const dw_kernel_info *info) { return info ? info->evaluations : 0; }
size_t dw_kernel_info_quadrature(const dw_kernel_info *info) { return info ? info->quadrature : 0; }
int dw_kernel_info_series_terms(const dw_kernel_info *info) { return info ? info->series_terms : 0; }
bool dw_kernel_info_estimate(const dw_kernel_info *info) { return info && info->estimate; }
