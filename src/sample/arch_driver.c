/* The driver of sampled finite networks of any architecture (arch.h): samples in chunks, each chunk's parameters
 * drawn in parallel by (sample, weight layer), then the engine (arch_engine.c) on the chunk, then the consumer in
 * sample order: outputs and reductions are the same for every thread count. */
#include "core/par.h"
#include "sample/arch.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>

/* One sample's work space: theta | F | G | the engine's tapes (and Jacobian). */
typedef struct layout {
    size_t F, G, work, total;
} layout;

static double sample_doubles(const asamp_prog *p, size_t n, int kind, bool outputs, layout *L)
{
    const size_t grows = p->grows ? p->grows : n;
    const double tot = (double)p->nparam + (outputs ? (double)n * (double)p->dout : 0.0) +
                       (kind ? (double)grows * (double)n : 0.0) + dw_asamp_work(p, n, kind);
    if (L && tot < 1e17) {
        L->F = p->nparam;
        L->G = L->F + (outputs ? n * p->dout : 0);
        L->work = L->G + (kind ? grows * n : 0);
        L->total = L->work + (size_t)dw_asamp_work(p, n, kind);
    }
    return tot;
}

double dw_asamp_sample_bytes(const asamp_prog *p, size_t n, int kind, bool outputs)
{
    return 8.0 * (sample_doubles(p, n, kind, outputs, NULL) + (double)p->tape + dw_asamp_scratch(p) + 4096.0);
}

typedef struct draw_job {
    const asamp_prog *p;
    const size_t *wops; /* the weight ops */
    size_t nw;
    double *mem;
    size_t total;
    uint64_t seed, first;
} draw_job;

static dw_status draw_item(void *ctx, size_t k, int tid)
{
    const draw_job *j = ctx;
    (void)tid;
    const size_t s = k / j->nw;
    return dw_asamp_draw_layer(j->p, &j->p->op[j->wops[k % j->nw]], j->seed, j->first + s, j->mem + s * j->total);
}

dw_status dw_asamp_run(const asamp_prog *p, uint64_t seed, const double *X, size_t n, size_t S, uint64_t first,
                       int threads_opt, int kind, bool outputs, dw_asamp_consumer consume, void *cctx,
                       const dw_snet_progress *prog)
{
    const int threads = dw_core_threads(threads_opt);
    layout L = {0};
    const double per = 8.0 * sample_doubles(p, n, kind, outputs, &L);
    dw_status st = dw_core_check_alloc(dw_asamp_sample_bytes(p, n, kind, outputs), "one sampled network's work space");
    if (st) return st;
    /* at least one sample per thread, small networks more (up to 64 MiB), never over half the free memory */
    size_t chunk = (size_t)threads < S ? (size_t)threads : S;
    if (per * (double)chunk < 64.0 * 1048576.0) {
        const double more = floor(64.0 * 1048576.0 / (per > 8 ? per : 8));
        chunk = more < (double)S ? (size_t)more : S;
        if (chunk < 1) chunk = 1;
    }
    const double avail = dw_core_mem_available();
    while (chunk > 1 && (double)chunk * per > 0.5 * avail) chunk--;
    const size_t total = L.total ? L.total : 1;
    double *mem = dw_core_alloc_large(chunk * total * sizeof(double), "sampled networks");
    size_t *wops = dw_alloc(p->nweight + 1, sizeof *wops, "work items");
    asamp_net *nets = dw_alloc(chunk, sizeof *nets, "networks");
    if (!mem || !wops || !nets) {
        dw_core_free_large(mem);
        free(wops);
        free(nets);
        return DW_ERR_NOMEM;
    }
    size_t nw = 0;
    for (size_t i = 0; i < p->nop; i++)
        if (p->op[i].k == AOP_DENSE || p->op[i].k == AOP_CONV) wops[nw++] = i;
    for (size_t c0 = 0; c0 < S && !st; c0 += chunk) {
        const size_t cs = S - c0 < chunk ? S - c0 : chunk;
        draw_job dj = {p, wops, nw, mem, total, seed, first + c0};
        if (nw && (st = dw_par_for(cs * nw, threads, draw_item, &dj))) break;
        for (size_t s = 0; s < cs; s++) {
            double *base = mem + s * total;
            nets[s] = (asamp_net){base, outputs ? base + L.F : NULL, kind ? base + L.G : NULL, base + L.work,
                                  first + c0 + s};
        }
        st = p->grows ? dw_asamp_eval_rows(p, nets, cs, X, n, n, kind, seed, threads, false, p->g0, p->g1, true)
                      : dw_asamp_eval(p, nets, cs, X, n, n, kind, seed, threads, false);
        if (st) break;
        for (size_t s = 0; s < cs && !st; s++) st = consume(cctx, c0 + s, nets[s].F, nets[s].G);
        if (!st && prog && prog->fn &&
            prog->fn(prog->ctx, prog->offset + prog->unit * (double)(c0 + cs), prog->total))
            st = dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
    }
    dw_core_free_large(mem);
    free(wops);
    free(nets);
    return st;
}
