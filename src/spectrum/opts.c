/* The options objects of the Jacobian spectrum (the limit's, and the finite networks'): allocation, defaults and the
 * validating setters, kept apart from the computations so that each validates once, by the name Python uses. */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdlib.h>

dw_status dw_spectrum_opts_init(dw_spectrum_opts **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "spectrum options: NULL output");
    dw_spectrum_opts *o = dw_calloc(1, sizeof *o, "spectrum options");
    *out = o;
    if (!o) return DW_ERR_NOMEM;
    o->q0 = 1.0;
    o->fixed_point = false;
    o->kmax = 8;
    return DW_OK;
}

void dw_spectrum_opts_clear(dw_spectrum_opts *o) { free(o); }

static dw_status need(const void *o)
{
    return o ? DW_OK : dw_fail(DW_ERR_INVALID, "spectrum options: NULL options");
}

static dw_status check_q0(double q0)
{
    if (!(q0 > 0) || !isfinite(q0))
        return dw_fail(DW_ERR_INVALID, "q0: %g; the input variance |x|^2/N must be finite and > 0", q0);
    return DW_OK;
}

static dw_status check_K(const char *name, int K)
{
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "%s: K = %d is outside 1..%d (the supported maximum)", name, K,
                       DW_SPECTRUM_KMAX);
    return DW_OK;
}

dw_status dw_spectrum_opts_set_q0(dw_spectrum_opts *o, double q0)
{
    dw_status s = need(o);
    if (s || (s = check_q0(q0))) return s;
    o->q0 = q0;
    return DW_OK;
}

dw_status dw_spectrum_opts_set_fixed_point(dw_spectrum_opts *o, bool on)
{
    dw_status s = need(o);
    if (s) return s;
    o->fixed_point = on;
    return DW_OK;
}

dw_status dw_spectrum_opts_set_kmax(dw_spectrum_opts *o, int kmax)
{
    dw_status s = need(o);
    if (s || (s = check_K("moments", kmax))) return s;
    o->kmax = kmax;
    return DW_OK;
}

/* ---- finite networks ---- */

dw_status dw_spectrum_sample_opts_init(dw_spectrum_sample_opts **out)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "sample options: NULL output");
    dw_spectrum_sample_opts *o = dw_calloc(1, sizeof *o, "sample options");
    *out = o;
    if (!o) return DW_ERR_NOMEM;
    o->samples = 10;
    o->K = 4;
    o->q0 = 1.0;
    return DW_OK;
}

void dw_spectrum_sample_opts_clear(dw_spectrum_sample_opts *o) { free(o); }

dw_status dw_spectrum_sample_opts_set_samples(dw_spectrum_sample_opts *o, size_t samples)
{
    dw_status s = need(o);
    if (s) return s;
    if (samples < 2 || samples > 100000000)
        return dw_fail(DW_ERR_INVALID, "samples: %zu; need 2..100000000 (the standard error needs two)", samples);
    o->samples = samples;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_K(dw_spectrum_sample_opts *o, int K)
{
    dw_status s = need(o);
    if (s || (s = check_K("moments", K))) return s;
    o->K = K;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_probes(dw_spectrum_sample_opts *o, size_t probes)
{
    dw_status s = need(o);
    if (s) return s;
    if (probes == 1 || probes > 1000000)
        return dw_fail(DW_ERR_INVALID, "probes: %zu; use 0 (exact SVD) or 2..1000000 (the standard error needs two)",
                       probes);
    o->probes = probes;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_seed(dw_spectrum_sample_opts *o, unsigned long long seed)
{
    dw_status s = need(o);
    if (s) return s;
    o->seed = seed;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_q0(dw_spectrum_sample_opts *o, double q0)
{
    dw_status s = need(o);
    if (s || (s = check_q0(q0))) return s;
    o->q0 = q0;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_threads(dw_spectrum_sample_opts *o, int threads)
{
    dw_status s = need(o);
    if (s) return s;
    if ((s = dw_core_check_threads(threads))) return s;
    o->threads = threads;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_draw(dw_spectrum_sample_opts *o, dw_spectrum_draw_fn draw, void *ctx)
{
    dw_status s = need(o);
    if (s) return s;
    o->draw = draw;
    o->ctx = ctx;
    return DW_OK;
}

dw_status dw_spectrum_sample_opts_set_progress(dw_spectrum_sample_opts *o,
                                               int (*progress)(void *ctx, double done, double total), void *ctx)
{
    dw_status s = need(o);
    if (s) return s;
    o->progress = progress;
    o->progress_ctx = ctx;
    return DW_OK;
}
