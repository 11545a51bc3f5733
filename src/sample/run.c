/* dw_sample_run and dw_sample_bytes: S sampled networks on the inputs, their outputs and per-sample or reduced
 * empirical Grams (theory.md 1.1, 1.3, 2); and the options object they take. The drawing and the engine are
 * driver.c's, the network's shape snet.c's. */
#include "sample/arch.h"
#include "sample/dense.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------------------------------------------- */

static const dw_sample_opts defaults = {0, 0, 0, NULL, NULL, false, 0, NULL};

const dw_sample_opts *dw_sample_opts_or_default(const dw_sample_opts *o) { return o ? o : &defaults; }

dw_status dw_sample_opts_init(dw_sample_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sample options: NULL output");
    *o = dw_alloc(1, sizeof **o, "sample options");
    if (!*o) return DW_ERR_NOMEM;
    **o = defaults;
    return DW_OK;
}

void dw_sample_opts_clear(dw_sample_opts *o) { free(o); }

static dw_status need_opts(const dw_sample_opts *o)
{
    return o ? DW_OK : dw_fail(DW_ERR_INVALID, "sample options: NULL options");
}

dw_status dw_sample_opts_set_seed(dw_sample_opts *o, unsigned long long seed)
{
    dw_status s = need_opts(o);
    if (!s) o->seed = seed;
    return s;
}

dw_status dw_sample_opts_set_first_sample(dw_sample_opts *o, unsigned long long first_sample)
{
    dw_status s = need_opts(o);
    if (!s) o->first_sample = first_sample;
    return s;
}

dw_status dw_sample_opts_set_threads(dw_sample_opts *o, int threads)
{
    dw_status s = need_opts(o);
    if (s) return s;
    if ((s = dw_core_check_threads(threads))) return s;
    o->threads = threads;
    return DW_OK;
}

dw_status dw_sample_opts_set_progress(dw_sample_opts *o, dw_sample_progress_fn fn, void *ctx)
{
    dw_status s = need_opts(o);
    if (s) return s;
    o->progress = fn;
    o->progress_ctx = ctx;
    return DW_OK;
}

dw_status dw_sample_opts_set_reduce(dw_sample_opts *o, bool reduce)
{
    dw_status s = need_opts(o);
    if (!s) o->reduce = reduce;
    return s;
}

dw_status dw_sample_opts_set_split(dw_sample_opts *o, const dw_sample_split *split)
{
    dw_status s = need_opts(o);
    if (s) return s;
    if ((s = dw_sample_split_check(split))) return s;
    o->split = split;
    return DW_OK;
}

dw_status dw_sample_opts_set_width(dw_sample_opts *o, size_t width)
{
    dw_status s = need_opts(o);
    if (s) return s;
    if (width > ((size_t)1 << 30)) return dw_fail(DW_ERR_INVALID, "width: %zu is too large", width);
    o->width = width;
    return DW_OK;
}

/* ------------------------------------------------------------------------------------------------------------
 * dw_sample_run
 * ---------------------------------------------------------------------------------------------------------- */

typedef struct {
    double *F, *G, *Gse;
    int reduce;
    size_t S;
    double *shift, *s1, *s2; /* reduce: first Gram, sums of deviations from it and of their squares */
    size_t n, dout;          /* the sizes: points, real outputs per point */
    int cplx;                /* complex law: (u_re, u_im) outputs */
} run_ctx;

void dw_sample_take_outputs(double *F, size_t s, size_t n, size_t dout, int cplx, const double *u)
{
    double *f = F + s * n * dout;
    if (!cplx) {
        memcpy(f, u, n * dout * sizeof(double));
        return;
    }
    const size_t co = dout / 2; /* f = (u_re + i u_im)/sqrt2, (re, im) interleaved */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < co; k++) {
            f[(i * co + k) * 2] = 0.7071067811865476 * u[i * dout + k];
            f[(i * co + k) * 2 + 1] = 0.7071067811865476 * u[i * dout + co + k];
        }
}

/* One sample's outputs u (real layout; complex: the real network's (u_re, u_im)) and Gram g, into the results. */
static dw_status run_take(run_ctx *c, size_t s, size_t n, size_t dout, int cplx, const double *u, const double *g)
{
    if (c->F) dw_sample_take_outputs(c->F, s, n, dout, cplx, u);
    if (!c->G) return DW_OK;
    const size_t nn = n * n;
    for (size_t e = 0; e < nn; e++)
        if (!isfinite(g[e]))
            return dw_fail(DW_ERR_RANGE, "sample %zu: the empirical Gram overflows at entry (%zu, %zu)", s + 1,
                           e / n + 1, e % n + 1);
    if (!c->reduce) {
        memcpy(c->G + s * nn, g, nn * sizeof(double));
        return DW_OK;
    }
    if (s == 0) memcpy(c->shift, g, nn * sizeof(double));
    for (size_t e = 0; e < nn; e++) {
        const double dv = g[e] - c->shift[e];
        c->s1[e] += dv;
        c->s2[e] += dv * dv;
    }
    return DW_OK;
}

static dw_status run_consume(void *vc, size_t s, const double *F, const double *G)
{
    run_ctx *c = vc;
    return run_take(c, s, c->n, c->dout, c->cplx, F, G);
}

dw_status dw_sample_bytes(const dw_net *net, const dw_sample_opts *o, size_t n, size_t d, size_t S,
                          dw_sample_gram gram, bool outputs, double *bytes)
{
    if (!bytes) return dw_fail(DW_ERR_INVALID, "sample bytes: NULL output");
    *bytes = 0;
    o = dw_sample_opts_or_default(o);
    if (!dw_net_is_fc(net)) {
        asamp_prog p;
        dw_status st = dw_asamp_init(&p, net, o, "sample", n, d, gram, 0);
        if (st) return st;
        const int threads = dw_core_threads(o->threads);
        const double chunk = (double)(S < (size_t)threads ? S : (size_t)threads);
        const double nn = (double)n * (double)n * 8.0;
        double b = chunk * dw_asamp_sample_bytes(&p, n, gram, outputs);
        if (outputs) b += (double)S * (double)n * (double)p.dout * 8.0;
        if (gram) b += o->reduce ? 5.0 * nn : (double)S * nn;
        dw_asamp_clear(&p);
        *bytes = b;
        return DW_OK;
    }
    dw_snet t;
    dw_status st = dw_snet_init(&t, net, "sample", o->seed, n, d, gram, 0);
    if (st == DW_ERR_NOMEM) { /* sizes beyond any memory: the caller's dw_core_check_alloc says so */
        *bytes = INFINITY;
        return DW_OK;
    }
    if (st) return st;
    const int threads = dw_core_threads(o->threads);
    const double chunk = (double)(S < (size_t)threads ? S : (size_t)threads);
    double b = chunk * dw_snet_sample_bytes(&t);
    const double nn = (double)n * (double)n * 8.0;
    if (outputs) b += (double)S * (double)n * (double)t.dout * 8.0;
    if (gram) b += o->reduce ? 5.0 * nn : (double)S * nn;
    dw_snet_clear(&t);
    *bytes = b;
    return DW_OK;
}

dw_status dw_sample_run(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d, size_t S,
                        dw_sample_gram gram, double *F, double *G, double *Gse)
{
    o = dw_sample_opts_or_default(o);
    const int reduce = o->reduce;
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (S < 1) return dw_fail(DW_ERR_INVALID, "samples: must be >= 1 (got %zu)", S);
    if (gram && !G) return dw_fail(DW_ERR_INVALID, "gram: no output array G given");
    if (!gram && !F) return dw_fail(DW_ERR_INVALID, "sample: no output requested (F is NULL and no Gram)");
    if (gram && reduce && Gse && S < 2)
        return dw_fail(DW_ERR_INVALID, "samples: the standard error of the mean needs at least 2 samples (got 1)");
    const bool arch = !dw_net_is_fc(net);
    dw_snet t = {0};
    asamp_prog p = {0};
    dw_status st = arch ? dw_asamp_init(&p, net, o, "sample", n, d, gram, 0)
                        : dw_snet_init(&t, net, "sample", o->seed, n, d, gram, 0);
    if (st) return st;
    if ((st = dw_core_check_points("X", X, n, d))) {
        dw_snet_clear(&t);
        dw_asamp_clear(&p);
        return st;
    }
    t.outputs = F != NULL;
    run_ctx c = {F, gram ? G : NULL, Gse, reduce, S, NULL, NULL, NULL, n, arch ? p.dout : t.dout, arch ? 0 : t.cplx};
    const size_t nn = n * n;
    if (gram && reduce) {
        c.shift = dw_alloc(nn, sizeof(double), "Gram accumulator");
        c.s1 = dw_calloc(nn, sizeof(double), "Gram accumulator");
        c.s2 = dw_calloc(nn, sizeof(double), "Gram accumulator");
        if (!c.shift || !c.s1 || !c.s2) st = DW_ERR_NOMEM;
    }
    dw_snet_progress prog = {o->progress, o->progress_ctx, 0.0, 1.0, (double)S};
    if (!st)
        st = dw_sample_drive(o, arch ? NULL : &t, arch ? &p : NULL, X, n, S, o->first_sample, gram, F != NULL,
                             run_consume, &c, &prog);
    if (!st && gram && reduce) {
        const double Sd = (double)S;
        for (size_t e = 0; e < nn; e++) {
            const double m1 = c.s1[e] / Sd;
            G[e] = c.shift[e] + m1;
            if (Gse) {
                double var = S > 1 ? (c.s2[e] - c.s1[e] * m1) / (Sd - 1.0) : 0.0;
                Gse[e] = sqrt(var > 0 ? var / Sd : 0.0);
            }
        }
    }
    free(c.shift);
    free(c.s1);
    free(c.s2);
    dw_snet_clear(&t);
    dw_asamp_clear(&p);
    return st;
}
