/* The sampled networks of a call (run.c, converge.c), driven on one process (dw_snet_run / dw_asamp_run) or, with the
 * options' split, over several (sample.h): the networks of each batch cut into one contiguous run per part, each
 * part's networks computed here and their records (outputs, Gram) exchanged, then every network consumed in
 * network order on every part. A network's values depend only on its key (seed, sample, layer, row block), and the
 * consumer sees the same networks in the same order as on one process, so every sum is the same sum. */
#include "sample/arch.h"
#include "sample/sample.h"

#include <stdlib.h>
#include <string.h>

typedef struct drive_ctx {
    dw_sample_consumer consume; /* one process: the caller's consumer */
    void *cctx;
    double *rec;                /* split: this part's records */
    size_t fl, gl, have;        /* doubles of outputs and Gram per record, records collected */
} drive_ctx;

dw_status dw_sample_split_check(const dw_sample_split *split)
{
    if (split && (split->nparts < 1 || split->part < 0 || split->part >= split->nparts || !split->exchange))
        return dw_fail(DW_ERR_INVALID, "sample options: part %d of %d, or no exchange", split->part, split->nparts);
    return DW_OK;
}

static dw_status snet_pass(void *c, size_t s, const dw_snet *t, const double *base)
{
    const drive_ctx *d = c;
    return d->consume(d->cctx, s, t->outputs ? base + t->offF : NULL, t->gram ? base + t->offGram : NULL);
}

static dw_status collect(void *c, size_t s, const double *F, const double *G)
{
    drive_ctx *d = c;
    (void)s;
    double *r = d->rec + d->have * (d->fl + d->gl);
    if (d->fl) memcpy(r, F, d->fl * sizeof(double));
    if (d->gl) memcpy(r + d->fl, G, d->gl * sizeof(double));
    d->have++;
    return DW_OK;
}

static dw_status snet_collect(void *c, size_t s, const dw_snet *t, const double *base)
{
    return collect(c, s, base + t->offF, base + t->offGram);
}

static dw_status run_part(const dw_sample_opts *o, const dw_snet *t, const asamp_prog *p, const double *X, size_t n,
                          size_t S, uint64_t first, int kind, bool outputs, drive_ctx *d, bool pass,
                          const dw_snet_progress *prog)
{
    if (p)
        return dw_asamp_run(p, o->seed, X, n, S, first, o->threads, kind, outputs, pass ? d->consume : collect,
                            pass ? d->cctx : d, prog);
    return dw_snet_run(t, X, S, first, o->threads, pass ? snet_pass : snet_collect, d, prog);
}

dw_status dw_sample_drive(const dw_sample_opts *o, const dw_snet *t, const asamp_prog *p, const double *X, size_t n,
                          size_t S, uint64_t first, int kind, bool outputs, dw_sample_consumer consume, void *cctx,
                          const dw_snet_progress *prog)
{
    const dw_sample_split *sp = o->split;
    drive_ctx d = {consume, cctx, NULL, outputs ? n * (p ? p->dout : t->dout) : 0, kind ? n * n : 0, 0};
    if (!sp) return run_part(o, t, p, X, n, S, first, kind, outputs, &d, true, prog);
    /* batches of at least one network per thread of every part, more while they stay within 64 MiB */
    const size_t rec = d.fl + d.gl, P = (size_t)sp->nparts;
    size_t batch = P * (size_t)dw_core_threads(o->threads);
    const double fit = 64.0 * 1048576.0 / (8.0 * (double)rec);
    if (fit > (double)batch) batch = fit < (double)S ? (size_t)fit : S;
    if (sp->batch > 0) batch = sp->batch;
    if (batch > S) batch = S;
    double *all = dw_alloc(batch * rec, sizeof(double), "the networks' records");
    double *mine = dw_alloc((batch + P - 1) / P * rec + 1, sizeof(double), "the networks' records");
    size_t *counts = dw_alloc(P, sizeof *counts, "the parts' counts");
    dw_status st = all && mine && counts ? DW_OK : DW_ERR_NOMEM;
    d.rec = mine;
    for (size_t c0 = 0; c0 < S; c0 += batch) {
        const size_t cs = S - c0 < batch ? S - c0 : batch, k = (size_t)sp->part;
        for (size_t q = 0; counts && q < P; q++) counts[q] = cs * (q + 1) / P - cs * q / P;
        d.have = 0;
        dw_status ls = st; /* a failed allocation still takes part in the exchange (which then fails everywhere) */
        if (!ls && counts[k] > 0) ls = run_part(o, t, p, X, n, counts[k], first + c0 + cs * k / P, kind, outputs, &d,
                                                false, NULL);
        /* every part exchanges every batch (the exchange fails on all when one failed), so the parts stay in step */
        if ((st = sp->exchange(sp->ctx, ls, mine, all, counts, rec))) break;
        for (size_t s = 0; s < cs && !st; s++)
            st = consume(cctx, c0 + s, d.fl ? all + s * rec : NULL, d.gl ? all + s * rec + d.fl : NULL);
        if (!st && prog && prog->fn && prog->fn(prog->ctx, prog->offset + prog->unit * (double)(c0 + cs), prog->total))
            st = dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
        if (st) break;
    }
    free(all);
    free(mine);
    free(counts);
    return st;
}
