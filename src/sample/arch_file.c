/* dw_sample_params_gram_file (and dw_sample_network_gram_file on an architecture): one finite network's empirical
 * NNGP / NTK Gram out of core, row block by row block, through the out-of-core driver (kernels/ooc_rows.c).
 *
 * The network's features (every input's tape and, NTK, its Jacobian rows: dw_asamp_eval_rows' first part) are
 * computed once, at the first block, and kept: they are the fixed part of the memory, as in dw_sample_params_gram.
 * Each block then computes its rows' Gram tiles only (whole tiles of the engine, so the bits of the in-memory Gram),
 * is checked for finiteness, and goes to the writer. */
#include "kernels/ooc.h"
#include "sample/arch.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct params_rows {
    const asamp_prog *p;
    const dw_sample_opts *o;
    const double *theta, *XY; /* the parameters; the points (X, then Y when given) */
    size_t nt, n1, m;         /* stacked points, the engine's n1 (nt: symmetric), the Gram's columns */
    int kind;
    double *work;             /* the features */
    bool cross, given, ready; /* ready: the features are computed */
} params_rows;

static dw_status params_file_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    params_rows *r = ctx;
    (void)slab;
    const asamp_net net = {r->theta, NULL, buf, r->work, r->o->first_sample};
    dw_status st = dw_asamp_eval_rows(r->p, &net, 1, r->XY, r->nt, r->n1, r->kind, r->o->seed, r->o->threads,
                                      r->given, r0, r1, !r->ready);
    if (st) return st;
    r->ready = true;
    const size_t cb = r->cross ? 0 : r0;
    for (size_t i = r0; i < r1; i++) /* gradients can overflow where the activations did not */
        for (size_t j = r->cross ? 0 : i; j < r->m; j++)
            if (!isfinite(buf[(i - r0) * w + j - cb]))
                return dw_fail(DW_ERR_RANGE, "network gram: entry (%zu, %zu) is not finite (overflow in the "
                               "back-propagation)", i + 1, j + 1);
    return DW_OK;
}

dw_status dw_asamp_hash_net(const dw_net *net, const char *tag, uint64_t *out)
{
    char *spec = NULL;
    dw_status st = dw_net_spec_text(net, &spec);
    if (st) return st;
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    h = dw_ooc_hash(dw_ooc_hash(h, tag, strlen(tag)), spec, strlen(spec));
    free(spec);
    const unsigned long long param = (unsigned long long)net->param;
    h = dw_ooc_hash(h, &param, sizeof param);
    h = dw_ooc_hash(h, &net->in_rank, sizeof net->in_rank);
    *out = dw_ooc_hash(h, net->in_shape, net->in_rank * sizeof net->in_shape[0]);
    return DW_OK;
}

/* Everything that decides the bits: the net (dw_asamp_hash_net), the default width, the dropout streams (seed,
 * sample), the kind, the parameters and the points. */
static dw_status params_hash(const dw_net *net, const dw_sample_opts *o, const double *theta, size_t npar,
                             const double *X, size_t n, const double *Y, size_t m, size_t d, int kind, uint64_t *out)
{
    uint64_t h;
    dw_status st = dw_asamp_hash_net(net, "params gram", &h);
    if (st) return st;
    const unsigned long long keys[] = {o->seed, o->first_sample, o->width, (unsigned long long)kind, n, Y ? m : 0, d,
                                       npar};
    h = dw_ooc_hash(h, keys, sizeof keys);
    h = dw_ooc_hash(h, theta, npar * sizeof(double));
    h = dw_ooc_hash(h, X, n * d * sizeof(double));
    *out = Y ? dw_ooc_hash(h, Y, m * d * sizeof(double)) : h;
    return DW_OK;
}

/* The file of the network theta of the compiled p. */
static dw_status gram_file(const dw_net *net, const asamp_prog *p, const dw_sample_opts *o, const double *theta,
                           const double *X, size_t n, const double *Y, size_t m, size_t d, dw_sample_gram kind,
                           const char *path, const dw_file_opts *fo, bool given)
{
    double one = 0.0; /* dw_asamp_gram_args wants an output */
    dw_status st = dw_asamp_gram_args(X, n, Y, m, d, (int)kind, &one);
    uint64_t h = 0;
    if (st || (st = params_hash(net, o, theta, p->nparam, X, n, Y, m, d, (int)kind, &h))) return st;
    const size_t nt = Y ? n + m : n, cols = Y ? m : n, shape[2] = {n, cols};
    const double cnt = dw_asamp_work(p, nt, (int)kind);
    const int threads = dw_core_threads(o->threads);
    double *XY = NULL, *work = NULL;
    if (Y && !(XY = dw_core_alloc_large(nt * d * sizeof *XY, "the stacked inputs"))) st = DW_ERR_NOMEM;
    if (!st && !(work = dw_core_alloc_large((size_t)cnt * sizeof(double) + 8, "the network's activations")))
        st = DW_ERR_NOMEM;
    if (!st) {
        if (Y) {
            memcpy(XY, X, n * d * sizeof *XY);
            memcpy(XY + n * d, Y, m * d * sizeof *XY);
        }
        params_rows r = {p, o, theta, Y ? XY : X, nt, Y ? n : nt, cols, (int)kind, work, Y != NULL, given, false};
        /* the features, the stacked inputs and the workers' tapes, scratch and tiles are fixed */
        const double fixed = 8.0 * (cnt + (Y ? (double)nt * (double)d : 0.0) +
                                    (double)threads * ((double)p->tape + dw_asamp_scratch(p) +
                                                       DW_ASAMP_TILE * DW_ASAMP_TILE + 4096.0)) +
                             DW_OOC_STAGE_BYTES;
        const ooc_rows_job job = {path, 2, shape, n, cols, 1, Y == NULL, DW_ASAMP_TILE, fixed, 0.0, h,
                                  params_file_rows, &r, NULL, NULL, NULL, NULL};
        st = dw_ooc_rows_file(&job, fo);
    }
    dw_core_free_large(XY);
    dw_core_free_large(work);
    return st;
}

dw_status dw_sample_params_gram_file(const dw_net *net, const dw_sample_opts *o, const double *theta,
                                     size_t n_params, const double *X, size_t n, const double *Y, size_t m, size_t d,
                                     dw_sample_gram kind, const char *path, const dw_file_opts *fo)
{
    o = dw_sample_opts_or_default(o);
    asamp_prog p;
    dw_status s = dw_asamp_params_prog(&p, net, o, "network gram", n, d, (int)kind, theta, n_params);
    if (s) return s;
    s = gram_file(net, &p, o, theta, X, n, Y, m, d, kind, path, fo, true);
    dw_asamp_clear(&p);
    return s;
}

dw_status dw_asamp_gram_file_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                   const double *Y, size_t m, size_t d, dw_sample_gram kind, const char *path,
                                   const dw_file_opts *fo)
{
    o = dw_sample_opts_or_default(o);
    asamp_prog p;
    dw_status s = dw_asamp_init(&p, net, o, "network gram", n, d, (int)kind, 0);
    if (s) return s;
    double *theta = dw_alloc(p.nparam + 1, sizeof(double), "network parameters");
    if (!theta) s = DW_ERR_NOMEM;
    if (!s) s = dw_asamp_draw(&p, o->seed, o->first_sample, theta);
    if (!s) s = gram_file(net, &p, o, theta, X, n, Y, m, d, kind, path, fo, false);
    free(theta);
    dw_asamp_clear(&p);
    return s;
}
