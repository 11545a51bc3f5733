/* Many finite networks for the Jacobian spectrum (theory.md 3 at finite width): square layers of width N drawn by the
 * caller's function (sample_law.c gives the sampling module's laws), each network's moments by an SVD of its
 * Jacobian or by Hutchinson's estimator (network.c), in parallel over networks with a reduction in index order, so
 * the results do not depend on the thread count. */
#include "spectrum/spectrum.h"

#include "core/par.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- many networks: weights from the caller's drawing function --------------------------------------------------- */

/* The sampled networks' shape: the net (dw_net_set_fc without a readout, one integer width) and the options. */
typedef struct sample_net {
    int L;
    const dw_act *act;
    size_t N;
    double *sw2, *sb2; /* L each */
    double *gamma, *alpha; /* residual blocks: L each; NULL: fully connected */
    int act_first;         /* residual(ACT; dense) blocks */
} sample_net;

static void sample_net_free(sample_net *n)
{
    free(n->sw2);
    free(n->sb2);
    free(n->gamma);
    free(n->alpha);
}

/* A residual net (dw_spec_residual_view) with one integer width N in every branch's dense layer. */
static dw_status sample_res_of(const dw_net *net, sample_net *n)
{
    dw_spec_res *r = dw_alloc(1, sizeof *r, "residual blocks");
    if (!r) return DW_ERR_NOMEM;
    dw_status st = dw_spec_residual_view(net, r);
    const double N = st ? 0 : dw_spec_residual_width(net);
    if (!st && !(N >= 1 && N == floor(N) && N <= DW_SPECTRUM_WIDTH_MAX))
        st = dw_fail(DW_ERR_INVALID, "width: the residual branches' dense layers need one integer width N in "
                     "1..%d (the residual sum keeps it); got %g", DW_SPECTRUM_WIDTH_MAX, N);
    if (!st) {
        const size_t L = (size_t)r->L;
        n->L = r->L;
        n->act = r->act;
        n->act_first = r->act_first;
        n->N = (size_t)N;
        n->sw2 = dw_alloc(L, sizeof(double), "sample layers");
        n->sb2 = dw_alloc(L, sizeof(double), "sample layers");
        n->gamma = dw_alloc(L, sizeof(double), "sample layers");
        n->alpha = dw_alloc(L, sizeof(double), "sample layers");
        if (!n->sw2 || !n->sb2 || !n->gamma || !n->alpha) st = DW_ERR_NOMEM;
        else {
            memcpy(n->sw2, r->sw2, L * sizeof(double));
            memcpy(n->sb2, r->sb2, L * sizeof(double));
            memcpy(n->gamma, r->gamma, L * sizeof(double));
            memcpy(n->alpha, r->alpha, L * sizeof(double));
        }
    }
    free(r);
    if (st) sample_net_free(n);
    return st;
}

static dw_status sample_net_of(const dw_net *net, sample_net *n)
{
    memset(n, 0, sizeof *n);
    if (dw_spec_is_residual(net)) return sample_res_of(net, n);
    dw_net_fc fc;
    dw_status st = dw_net_fc_view(net, "sample", 0, DW_NET_RANDOM, &fc);
    if (st) return st;
    const double N = dw_net_dense(net, 0)->width;
    for (size_t k = 0; k < fc.n_dense; k++)
        if (dw_net_dense(net, k)->width != N)
            return dw_fail(DW_ERR_INVALID, "width: the sampled networks have square layers: one width N for every "
                           "layer (layer %zu has %g, layer 1 %g)", k + 1, dw_net_dense(net, k)->width, N);
    if (N == 0) return dw_fail(DW_ERR_INVALID, "width: not set (dw_net_set_widths with one value N)");
    if (N != floor(N) || N > DW_SPECTRUM_WIDTH_MAX)
        return dw_fail(DW_ERR_INVALID, "width: %g; need an integer in 1..%d", N, DW_SPECTRUM_WIDTH_MAX);
    n->L = fc.depth;
    n->act = fc.act;
    n->N = (size_t)N;
    n->sw2 = dw_alloc(fc.n_dense, sizeof(double), "sample layers");
    n->sb2 = dw_alloc(fc.n_dense, sizeof(double), "sample layers");
    if (!n->sw2 || !n->sb2) {
        sample_net_free(n);
        return DW_ERR_NOMEM;
    }
    dw_net_dense_values(net, 0, n->sw2);
    dw_net_dense_values(net, 1, n->sb2);
    return DW_OK;
}

/* One network: draw, scale, and its K moments (exact: from the squared singular values; else Hutchinson). */
static dw_status sample_one(const sample_net *n, const dw_spectrum_sample_opts *o, unsigned long long s, double *buf,
                            double *m, double *s2out)
{
    const int L = n->L;
    const size_t N = n->N;
    double *W = buf, *b = buf + (size_t)L * N * N, *x = b + (size_t)L * N, *s2 = x + N;
    const double **Wp = dw_alloc((size_t)L, sizeof(double *), "layers");
    const double **bp = dw_alloc((size_t)L, sizeof(double *), "layers");
    size_t *width = dw_alloc((size_t)L + 1, sizeof(size_t), "widths");
    dw_status st = DW_OK;
    if (!Wp || !bp || !width) {
        st = DW_ERR_NOMEM;
        goto done;
    }
    for (int l = 0; l < L; l++) {
        const double sw = sqrt(n->sw2[l] / (double)N), sb = sqrt(n->sb2[l]);
        double *Wl = W + (size_t)l * N * N, *bl = b + (size_t)l * N;
        if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_WEIGHTS, l, N, N, Wl))) goto done;
        if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_BIAS, l, N, 1, bl))) goto done;
        for (size_t i = 0; i < N * N; i++) Wl[i] *= sw;
        for (size_t i = 0; i < N; i++) bl[i] *= sb;
        Wp[l] = Wl;
        bp[l] = bl;
        width[l] = N;
    }
    width[L] = N;
    if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_INPUT, 0, N, 1, x))) goto done;
    double nx = 0;
    for (size_t i = 0; i < N; i++) nx += x[i] * x[i];
    if (!(nx > 0) || !isfinite(nx)) {
        st = dw_fail(DW_ERR_RANGE, "sample: the drawn input of network %llu has norm %g", s, sqrt(nx));
        goto done;
    }
    const double scale = sqrt(o->q0 * (double)N / nx);
    for (size_t i = 0; i < N; i++) x[i] *= scale;
    dw_spec_fnet net = {L, width, Wp, bp, n->act, n->gamma, n->alpha, n->act_first};
    if (o->probes == 0) {
        if ((st = dw_spec_jacobian_body(&net, x, NULL, s2))) goto done;
        for (int k = 0; k < o->K; k++) m[k] = 0;
        for (size_t i = 0; i < N; i++) {
            double p = 1;
            for (int k = 0; k < o->K; k++) {
                p *= s2[i];
                m[k] += p;
            }
        }
        for (int k = 0; k < o->K; k++) m[k] /= (double)N;
        if (s2out) memcpy(s2out, s2, N * sizeof(double));
    } else {
        double *tmp = dw_alloc((size_t)o->K, sizeof(double), "standard errors"); /* per-probe s.e., unused */
        if (!tmp) {
            st = DW_ERR_NOMEM;
            goto done;
        }
        st = dw_spec_hutchinson_body(&net, x, o->K, o->probes, o->seed ^ dw_spec_splitmix64(s), m, tmp);
        free(tmp);
    }
done:
    free(Wp);
    free(bp);
    free(width);
    return st;
}

static dw_status sample_run(const sample_net *n, const dw_spectrum_sample_opts *o, double *m, double *se, double *s2);

dw_status dw_spectrum_sample(const dw_net *net, const dw_spectrum_sample_opts *o, double *m, double *se, double *s2)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sample: NULL options");
    if (!o->draw) return dw_fail(DW_ERR_INVALID, "sample: no drawing function (dw_spectrum_sample_opts_set_draw)");
    if (!m || !se) return dw_fail(DW_ERR_INVALID, "sample: NULL output");
    sample_net n;
    dw_status st = sample_net_of(net, &n);
    if (st) return st;
    st = sample_run(&n, o, m, se, s2);
    sample_net_free(&n);
    return st;
}

/* The loop over networks, as dw_par_for items: network s into all + s K (and s2 + s N). */
typedef struct sample_job {
    const sample_net *n;
    const dw_spectrum_sample_opts *o;
    double *all, *s2;
    double **bufs; /* per worker: one network's weights */
    size_t S;
    atomic_size_t done;
    atomic_int cancel; /* set by the progress callback: the remaining networks are skipped */
} sample_job;

static dw_status sample_item(void *ctx, size_t s, int tid)
{
    sample_job *j = ctx;
    const dw_spectrum_sample_opts *o = j->o;
    const size_t K = (size_t)o->K, N = j->n->N;
    if (atomic_load(&j->cancel)) return DW_OK;
    dw_status r = sample_one(j->n, o, s, j->bufs[tid], j->all + s * K, j->s2 ? j->s2 + s * N : NULL);
    if (r) return r;
    const size_t d = atomic_fetch_add(&j->done, 1) + 1;
    /* progress from the calling thread only (worker 0) */
    if (o->progress && tid == 0 && o->progress(o->progress_ctx, (double)d, (double)j->S)) atomic_store(&j->cancel, 1);
    return DW_OK;
}

static dw_status sample_run(const sample_net *n, const dw_spectrum_sample_opts *o, double *m, double *se, double *s2)
{
    dw_status st;
    const size_t S = o->samples, N = n->N, K = (size_t)o->K;
    const size_t per = (size_t)n->L * N * N + (size_t)n->L * N + 2 * N;
    const int threads = dw_core_threads(o->threads);
    /* one network per thread in flight: L N^2 weights each (plus the SVD's work space, about 5 N^2) */
    if ((st = dw_core_check_alloc(8.0 * (double)threads * ((double)per + 6.0 * (double)N * (double)N) +
                                      8.0 * (double)S * (double)K,
                                  "sample: the networks in flight (one per thread)")))
        return st;
    double *all = dw_alloc(S * K, sizeof(double), "per-network moments");
    if (!all) return DW_ERR_NOMEM;
    /* one network's weights per worker */
    const int nw = dw_par_workers(S, threads);
    double **bufs = dw_calloc((size_t)nw, sizeof *bufs, "network weights");
    if (!bufs) {
        free(all);
        return DW_ERR_NOMEM;
    }
    for (int k = 0; k < nw && !st; k++)
        if (!(bufs[k] = dw_alloc(per, sizeof(double), "network weights"))) st = DW_ERR_NOMEM;
    /* networks are the unit of parallelism (BLAS and LAPACK single-threaded inside); each network's draws are keyed
     * by its index and the reduction below runs in index order, so the results do not depend on the thread count */
    sample_job job = {.n = n, .o = o, .all = all, .s2 = s2, .bufs = bufs, .S = S};
    atomic_init(&job.done, 0);
    atomic_init(&job.cancel, 0);
    if (!st) st = dw_par_for(S, threads, sample_item, &job);
    for (int k = 0; k < nw; k++) free(bufs[k]);
    free(bufs);
    if (st) {
        free(all);
        return st;
    }
    int cancel = atomic_load(&job.cancel);
    if (!cancel && o->progress && o->progress(o->progress_ctx, (double)S, (double)S)) cancel = 1;
    if (cancel) {
        free(all);
        return dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
    }
    for (size_t k = 0; k < K; k++) {
        double mean = 0, var = 0;
        for (size_t s = 0; s < S; s++) mean += all[s * K + k];
        mean /= (double)S;
        for (size_t s = 0; s < S; s++) var += (all[s * K + k] - mean) * (all[s * K + k] - mean);
        m[k] = mean;
        se[k] = sqrt(var / (double)(S - 1) / (double)S);
        if (!isfinite(m[k]) || !isfinite(se[k])) {
            free(all);
            return dw_fail(DW_ERR_RANGE, "sample: moment %zu overflows", k + 1);
        }
    }
    free(all);
    return DW_OK;
}
