/* The options objects of the signatures module (theory.md 5): allocation, defaults and validating setters, kept
 * apart from the computations so that every option is checked once, where it is set, with the Python keyword's
 * name in the message. */
#include "sig/sig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEED(o, who)                                                                                                  \
    do {                                                                                                              \
        if (!(o)) return dw_fail(DW_ERR_INVALID, "%s: NULL options", who);                                            \
    } while (0)

static dw_status check_sigma(const char *name, double v)
{
    if (!isfinite(v) || v < 0) return dw_fail(DW_ERR_INVALID, "%s: must be non-negative and finite (got %g)", name, v);
    return DW_OK;
}

static dw_status check_solver(dw_sig_solver s)
{
    if (s != DW_SIG_SECOND_ORDER && s != DW_SIG_FIRST_ORDER)
        return dw_fail(DW_ERR_INVALID, "solver: unknown solver %d", (int)s);
    return DW_OK;
}

static dw_status check_dyadic(int v, int max)
{
    if (v < 0 || v > max) return dw_fail(DW_ERR_INVALID, "dyadic_order: must be between 0 and %d (got %d)", max, v);
    return DW_OK;
}

dw_status dw_sig_solver_parse(const char *name, dw_sig_solver *solver)
{
    if (!solver) return dw_fail(DW_ERR_INVALID, "solver: NULL output");
    if (name && !strcmp(name, "second-order")) *solver = DW_SIG_SECOND_ORDER;
    else if (name && !strcmp(name, "first-order")) *solver = DW_SIG_FIRST_ORDER;
    else
        return dw_fail(DW_ERR_INVALID, "solver: expected second-order or first-order (got '%.40s')",
                       name ? name : "NULL");
    return DW_OK;
}

dw_status dw_sig_static_parse(const char *name, dw_sig_static *kind)
{
    if (!kind) return dw_fail(DW_ERR_INVALID, "static: NULL output");
    if (name && !strcmp(name, "linear")) *kind = DW_SIG_LINEAR;
    else if (name && !strcmp(name, "rbf")) *kind = DW_SIG_RBF;
    else return dw_fail(DW_ERR_INVALID, "static: expected linear or rbf (got '%.40s')", name ? name : "NULL");
    return DW_OK;
}

/* ---- signatures ---- */

dw_status dw_sig_opts_init(dw_sig_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "dw_sig_opts_init: NULL pointer");
    *o = dw_calloc(1, sizeof **o, "signature options");
    if (!*o) return DW_ERR_NOMEM;
    (*o)->level = -1;
    (*o)->tr.end_time = 1.0;
    return DW_OK;
}

void dw_sig_opts_clear(dw_sig_opts *o) { free(o); }

dw_status dw_sig_opts_set_level(dw_sig_opts *o, int level)
{
    NEED(o, "level");
    if (level < 0 || level > DW_SIG_MAX_LEVEL)
        return dw_fail(DW_ERR_INVALID, "level: must be between 0 and %d (got %d)", DW_SIG_MAX_LEVEL, level);
    o->level = level;
    return DW_OK;
}

dw_status dw_sig_opts_set_threads(dw_sig_opts *o, int threads)
{
    NEED(o, "threads");
    dw_status s = dw_core_check_threads(threads);
    if (!s) o->threads = threads;
    return s;
}

dw_status dw_sig_basis_parse(const char *name, dw_sig_basis *basis)
{
    if (!basis) return dw_fail(DW_ERR_INVALID, "basis: NULL output");
    if (name && !strcmp(name, "lyndon")) *basis = DW_SIG_LYNDON;
    else if (name && !strcmp(name, "hall")) *basis = DW_SIG_HALL;
    else if (name && !strcmp(name, "expanded")) *basis = DW_SIG_EXPANDED;
    else
        return dw_fail(DW_ERR_INVALID, "basis: expected lyndon, hall or expanded (got '%.40s')", name ? name : "NULL");
    return DW_OK;
}

dw_status dw_sig_opts_set_basis(dw_sig_opts *o, dw_sig_basis basis)
{
    NEED(o, "basis");
    if (basis != DW_SIG_LYNDON && basis != DW_SIG_HALL && basis != DW_SIG_EXPANDED)
        return dw_fail(DW_ERR_INVALID, "basis: unknown basis %d", (int)basis);
    o->basis = (int)basis;
    return DW_OK;
}

/* ---- signature kernels ---- */

dw_status dw_sig_kernel_opts_init(dw_sig_kernel_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "dw_sig_kernel_opts_init: NULL pointer");
    *o = dw_calloc(1, sizeof **o, "signature-kernel options");
    if (!*o) return DW_ERR_NOMEM;
    (*o)->solver = DW_SIG_SECOND_ORDER;
    (*o)->static_kernel = DW_SIG_LINEAR;
    (*o)->scale = 1.0;
    (*o)->tr.end_time = 1.0;
    return DW_OK;
}

void dw_sig_kernel_opts_clear(dw_sig_kernel_opts *o) { free(o); }

dw_status dw_sig_kernel_opts_set_dyadic_order(dw_sig_kernel_opts *o, int dyadic_order)
{
    NEED(o, "dyadic_order");
    dw_status s = check_dyadic(dyadic_order, DW_SIG_KERNEL_DYADIC_MAX);
    if (!s) o->dyadic_order = o->dyadic_order_y = dyadic_order;
    return s;
}

dw_status dw_sig_kernel_opts_set_dyadic_order_y(dw_sig_kernel_opts *o, int dyadic_order_y)
{
    NEED(o, "dyadic_order");
    dw_status s = check_dyadic(dyadic_order_y, DW_SIG_KERNEL_DYADIC_MAX);
    if (!s) o->dyadic_order_y = dyadic_order_y;
    return s;
}

dw_status dw_sig_kernel_opts_set_solver(dw_sig_kernel_opts *o, dw_sig_solver solver)
{
    NEED(o, "solver");
    dw_status s = check_solver(solver);
    if (!s) o->solver = solver;
    return s;
}

dw_status dw_sig_kernel_opts_set_static(dw_sig_kernel_opts *o, dw_sig_static kind)
{
    NEED(o, "static");
    if (kind != DW_SIG_LINEAR && kind != DW_SIG_RBF)
        return dw_fail(DW_ERR_INVALID, "static: unknown kernel %d", (int)kind);
    o->static_kernel = kind;
    return DW_OK;
}

dw_status dw_sig_kernel_opts_set_scale(dw_sig_kernel_opts *o, double scale)
{
    NEED(o, "scale");
    if (!isfinite(scale) || scale <= 0)
        return dw_fail(DW_ERR_INVALID, "scale: must be positive and finite (got %g)", scale);
    o->scale = scale;
    return DW_OK;
}

dw_status dw_sig_kernel_opts_set_threads(dw_sig_kernel_opts *o, int threads)
{
    NEED(o, "threads");
    dw_status s = dw_core_check_threads(threads);
    if (!s) o->threads = threads;
    return s;
}

/* ---- path transforms (both options objects) ---- */

static dw_status check_end_time(double t)
{
    if (!isfinite(t) || t <= 0) return dw_fail(DW_ERR_INVALID, "end_time: must be positive and finite (got %g)", t);
    return DW_OK;
}

#define TRANSFORM_SETTERS(obj)                                                                                        \
    dw_status obj##_set_time_aug(obj *o, bool time_aug)                                                               \
    {                                                                                                                 \
        NEED(o, "time_aug");                                                                                          \
        o->tr.time_aug = time_aug;                                                                                    \
        return DW_OK;                                                                                                 \
    }                                                                                                                 \
    dw_status obj##_set_lead_lag(obj *o, bool lead_lag)                                                               \
    {                                                                                                                 \
        NEED(o, "lead_lag");                                                                                          \
        o->tr.lead_lag = lead_lag;                                                                                    \
        return DW_OK;                                                                                                 \
    }                                                                                                                 \
    dw_status obj##_set_basepoint(obj *o, bool basepoint)                                                             \
    {                                                                                                                 \
        NEED(o, "basepoint");                                                                                         \
        o->tr.basepoint = basepoint;                                                                                  \
        return DW_OK;                                                                                                 \
    }                                                                                                                 \
    dw_status obj##_set_end_time(obj *o, double end_time)                                                             \
    {                                                                                                                 \
        NEED(o, "end_time");                                                                                          \
        dw_status s = check_end_time(end_time);                                                                       \
        if (!s) o->tr.end_time = end_time;                                                                            \
        return s;                                                                                                     \
    }

TRANSFORM_SETTERS(dw_sig_opts)
TRANSFORM_SETTERS(dw_sig_kernel_opts)

dw_status dw_sig_opts_path_shape(const dw_sig_opts *o, size_t len, size_t d, size_t *len2, size_t *d2)
{
    NEED(o, "path shape");
    if (!len2 || !d2) return dw_fail(DW_ERR_INVALID, "dw_sig_opts_path_shape: NULL output");
    dw_sig_transform_shape(&o->tr, len, d, len2, d2);
    return DW_OK;
}

/* ---- neural signature kernels and controlled ResNets ---- */

dw_status dw_sig_nsk_opts_init(dw_sig_nsk_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "dw_sig_nsk_opts_init: NULL pointer");
    *o = dw_calloc(1, sizeof **o, "neural-signature-kernel options");
    if (!*o) return DW_ERR_NOMEM;
    (*o)->sigma0 = (*o)->sigma_a = 1.0;
    (*o)->sigma_b = 0.0;
    (*o)->solver = DW_SIG_SECOND_ORDER;
    return DW_OK;
}

void dw_sig_nsk_opts_clear(dw_sig_nsk_opts *o) { free(o); }

dw_status dw_sig_nsk_opts_set_act(dw_sig_nsk_opts *o, const dw_act *act)
{
    NEED(o, "act");
    if (!act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    o->act = act;
    return DW_OK;
}

#define SIGMA_SETTER(obj, field)                                                                                      \
    dw_status dw_sig_##obj##_opts_set_##field(dw_sig_##obj##_opts *o, double field)                                   \
    {                                                                                                                 \
        NEED(o, #field);                                                                                              \
        dw_status s = check_sigma(#field, field);                                                                     \
        if (!s) o->field = field;                                                                                     \
        return s;                                                                                                     \
    }

SIGMA_SETTER(nsk, sigma0)
SIGMA_SETTER(nsk, sigma_a)
SIGMA_SETTER(nsk, sigma_b)

dw_status dw_sig_nsk_opts_set_inhomogeneous(dw_sig_nsk_opts *o, bool inhomogeneous)
{
    NEED(o, "inhomogeneous");
    o->inhomogeneous = inhomogeneous;
    return DW_OK;
}

dw_status dw_sig_nsk_opts_set_dyadic_order(dw_sig_nsk_opts *o, int dyadic_order)
{
    NEED(o, "dyadic_order");
    dw_status s = check_dyadic(dyadic_order, DW_SIG_NSK_DYADIC_MAX);
    if (!s) o->dyadic_order = dyadic_order;
    return s;
}

dw_status dw_sig_nsk_opts_set_solver(dw_sig_nsk_opts *o, dw_sig_solver solver)
{
    NEED(o, "solver");
    dw_status s = check_solver(solver);
    if (!s) o->solver = solver;
    return s;
}

dw_status dw_sig_nsk_opts_set_grid(dw_sig_nsk_opts *o, bool grid)
{
    NEED(o, "grid");
    o->grid = grid;
    return DW_OK;
}

dw_status dw_sig_nsk_opts_set_threads(dw_sig_nsk_opts *o, int threads)
{
    NEED(o, "threads");
    dw_status s = dw_core_check_threads(threads);
    if (!s) o->threads = threads;
    return s;
}

/* ---- linear CDEs ---- */

dw_status dw_sig_lcde_opts_init(dw_sig_lcde_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "dw_sig_lcde_opts_init: NULL pointer");
    *o = dw_calloc(1, sizeof **o, "linear-CDE options");
    if (!*o) return DW_ERR_NOMEM;
    (*o)->sigma_A = (*o)->sigma_B = (*o)->sigma_C = 1.0;
    (*o)->sigma_c = 0.0;
    return DW_OK;
}

void dw_sig_lcde_opts_clear(dw_sig_lcde_opts *o)
{
    if (!o) return;
    free(o->gate);
    free(o->input);
    free(o);
}

static dw_status set_channels(const char *what, size_t n, const size_t *channels, size_t **list, size_t *count)
{
    if (n && !channels) return dw_fail(DW_ERR_INVALID, "%s: NULL channel list", what);
    size_t *v = NULL;
    if (n) {
        v = dw_alloc(n, sizeof *v, "channel list");
        if (!v) return DW_ERR_NOMEM;
        memcpy(v, channels, n * sizeof *v);
    }
    free(*list);
    *list = v;
    *count = n;
    return DW_OK;
}

dw_status dw_sig_lcde_opts_set_gate(dw_sig_lcde_opts *o, size_t n, const size_t *channels)
{
    NEED(o, "gate");
    return set_channels("gate", n, channels, &o->gate, &o->n_gate);
}

dw_status dw_sig_lcde_opts_set_input(dw_sig_lcde_opts *o, size_t n, const size_t *channels)
{
    NEED(o, "input");
    return set_channels("input", n, channels, &o->input, &o->n_input);
}

SIGMA_SETTER(lcde, sigma_A)
SIGMA_SETTER(lcde, sigma_B)
SIGMA_SETTER(lcde, sigma_C)
SIGMA_SETTER(lcde, sigma_c)

dw_status dw_sig_lcde_opts_set_diagonal(dw_sig_lcde_opts *o, bool diagonal)
{
    NEED(o, "diagonal");
    o->diagonal = diagonal;
    return DW_OK;
}

dw_status dw_sig_lcde_opts_set_threads(dw_sig_lcde_opts *o, int threads)
{
    NEED(o, "threads");
    dw_status s = dw_core_check_threads(threads);
    if (!s) o->threads = threads;
    return s;
}
