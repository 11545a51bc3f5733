/* dw_sample_run_file: the sampled networks' Grams out of core, row block by row block (kernels/ooc_rows.c): for
 * each block of whole Gram tiles every network is drawn and evaluated again (its keyed streams give the same
 * network), only the block's tiles of its Gram computed (dw_snet_gram_rows for the fully connected engine, the
 * architecture engine's dw_asamp_eval_rows through asamp_prog's row range), and the block reduced over the networks
 * in network order with dw_sample_run's operations (the mean and standard error from the first Gram and the sums of
 * the deviations from it), so the file holds dw_sample_run's bits. The outputs, if asked, come with the first block
 * this call computes. */
#include "kernels/ooc.h"
#include "sample/arch.h"
#include "sample/dense.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const dw_sample_opts *o;
    dw_snet *t;         /* the fully connected engine, or */
    asamp_prog *p;      /* the architecture engine */
    size_t dout;        /* real outputs per point */
    int cplx, kind;
    const double *X;
    size_t n, S;
    double *F;          /* outputs, filled by the first block computed (then NULL) */
    double *buf;        /* the block being computed */
    size_t r0, r1, w, slab;
    double *shift, *s1, *s2; /* reduce: per entry of a block (B x n each) */
} file_ctx;

static dw_status take(void *vc, size_t s, const double *F, const double *G)
{
    file_ctx *c = vc;
    if (c->F) dw_sample_take_outputs(c->F, s, c->n, c->dout, c->cplx, F);
    const size_t w = c->w;
    for (size_t i = c->r0; i < c->r1; i++)
        for (size_t j = i; j < c->n; j++) {
            const size_t e = (i - c->r0) * w + (j - c->r0);
            if (!isfinite(G[e]))
                return dw_fail(DW_ERR_RANGE, "sample %zu: the empirical Gram overflows at entry (%zu, %zu)", s + 1,
                               i + 1, j + 1);
            if (!c->o->reduce) {
                c->buf[s * c->slab + e] = G[e];
            } else if (s == 0) {
                c->shift[e] = G[e];
                c->s1[e] = c->s2[e] = 0.0;
            } else {
                const double dv = G[e] - c->shift[e];
                c->s1[e] += dv;
                c->s2[e] += dv * dv;
            }
        }
    return DW_OK;
}

/* The rows per block known: each network's Gram slot and the accumulators for blocks of B rows. */
static dw_status prepare(void *ctx, size_t B)
{
    file_ctx *c = ctx;
    if (c->t) dw_snet_gram_rows(c->t, B);
    else c->p->grows = B;
    if (!c->o->reduce) return DW_OK;
    c->shift = dw_core_alloc_large(3 * B * c->n * sizeof(double), "the Gram accumulators");
    if (!c->shift) return DW_ERR_NOMEM;
    c->s1 = c->shift + B * c->n;
    c->s2 = c->s1 + B * c->n;
    return DW_OK;
}

static dw_status block_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    file_ctx *c = ctx;
    c->r0 = r0;
    c->r1 = r1;
    if (c->t) {
        c->t->g0 = r0;
        c->t->g1 = r1;
        c->t->outputs = c->F != NULL;
    } else {
        c->p->g0 = r0;
        c->p->g1 = r1;
    }
    c->w = w;
    c->slab = slab;
    c->buf = buf;
    dw_status st = dw_sample_drive(c->o, c->t, c->p, c->X, c->n, c->S, c->o->first_sample, c->kind, c->F != NULL,
                                   take, c, NULL);
    c->F = NULL;
    if (st || !c->o->reduce) return st;
    const double Sd = (double)c->S;
    for (size_t i = r0; i < r1; i++) /* dw_sample_run's mean and standard error */
        for (size_t j = i; j < c->n; j++) {
            const size_t e = (i - r0) * w + (j - r0);
            const double m1 = c->s1[e] / Sd, var = (c->s2[e] - c->s1[e] * m1) / (Sd - 1.0);
            buf[e] = c->shift[e] + m1;
            buf[slab + e] = sqrt(var > 0 ? var / Sd : 0.0);
        }
    return DW_OK;
}

/* The hash of a fully connected run: the network as drawn (its shape, law, scales), the seed and samples, the
 * reduction, the inputs. */
static uint64_t fc_hash(const dw_snet *t, const dw_sample_opts *o, const double *X, size_t n, size_t d, size_t S,
                        dw_sample_gram gram)
{
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    const unsigned long long keys[] = {o->seed, o->first_sample, S, (unsigned long long)gram, o->reduce, (unsigned)t->L,
                                       n, d, (unsigned long long)t->cplx, (unsigned long long)t->standard,
                                       (unsigned long long)t->gauss1, (unsigned long long)t->law.kind};
    h = dw_ooc_hash(dw_ooc_hash(h, "sample", 7), keys, sizeof keys);
    if (t->law.kind == DW_LAW_STUDENT_T || t->law.kind == DW_LAW_SPARSE)
        h = dw_ooc_hash(h, &t->law.param, sizeof t->law.param);
    h = dw_ooc_hash(h, t->cw, ((size_t)t->L + 2) * sizeof *t->cw);
    h = dw_ooc_hash(h, t->wv + 1, ((size_t)t->L + 1) * sizeof *t->wv); /* index 1..L+1 */
    h = dw_ooc_hash(h, t->bv + 1, ((size_t)t->L + 1) * sizeof *t->bv);
    h = dw_ooc_hash(h, dw_act_name(t->act), strlen(dw_act_name(t->act)) + 1);
    return dw_ooc_hash(h, X, n * d * sizeof(double));
}

/* The hash of an architecture's run: the net (dw_asamp_hash_net), its law, the default width, the seed and samples,
 * the reduction, the inputs. */
static dw_status arch_hash(const dw_net *net, const asamp_prog *p, const dw_sample_opts *o, const double *X, size_t n,
                           size_t d, size_t S, dw_sample_gram gram, uint64_t *out)
{
    uint64_t h;
    dw_status st = dw_asamp_hash_net(net, "sample arch", &h);
    if (st) return st;
    const unsigned long long keys[] = {o->seed, o->first_sample, S, (unsigned long long)gram, o->reduce, o->width,
                                       n, d, (unsigned long long)p->gauss1, (unsigned long long)p->law.kind};
    h = dw_ooc_hash(h, keys, sizeof keys);
    h = dw_ooc_hash(h, &p->law.param, sizeof p->law.param);
    *out = dw_ooc_hash(h, X, n * d * sizeof(double));
    return DW_OK;
}

dw_status dw_sample_run_file(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                             size_t S, dw_sample_gram gram, double *F, const char *path, const dw_file_opts *fo)
{
    o = dw_sample_opts_or_default(o);
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (o->split) return dw_fail(DW_ERR_INVALID, "sample: a distributed run's Grams are computed in memory");
    if (S < 1) return dw_fail(DW_ERR_INVALID, "samples: must be >= 1 (got %zu)", S);
    if (gram != DW_SAMPLE_NNGP && gram != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "gram: expected the nngp or ntk Gram (got %d)", (int)gram);
    if (o->reduce && S < 2)
        return dw_fail(DW_ERR_INVALID, "samples: the standard error of the mean needs at least 2 samples (got 1)");
    const bool arch = net && !dw_net_is_fc(net);
    dw_snet t = {0};
    asamp_prog p = {0};
    dw_status st = arch ? dw_asamp_init(&p, net, o, "sample", n, d, gram, 0)
                        : dw_snet_init(&t, net, "sample", o->seed, n, d, gram, 0);
    uint64_t h = 0;
    if (!st) st = dw_core_check_points("X", X, n, d);
    if (!st && arch) st = arch_hash(net, &p, o, X, n, d, S, gram, &h);
    if (!st && !arch) h = fc_hash(&t, o, X, n, d, S, gram);
    if (!st) {
        /* the memory: every network of a chunk (one per thread, or 64 MiB of work spaces) holds its block of the
         * Gram */
        const double threads = (double)dw_core_threads(o->threads), chunk = fmin(threads, (double)S);
        const double nn = 8.0 * (double)n * (double)n;
        const double base = arch ? dw_asamp_sample_bytes(&p, n, gram, F != NULL) - nn : dw_snet_sample_bytes(&t) - nn;
        const size_t nout = o->reduce ? 2 : S, shape[3] = {nout, n, n};
        /* the block size is the driver's (prepare) */
        file_ctx c = {.o = o, .t = arch ? NULL : &t, .p = arch ? &p : NULL, .dout = arch ? p.dout : t.dout,
                      .cplx = arch ? 0 : t.cplx, .kind = (int)gram, .X = X, .n = n, .S = S, .F = F};
        const ooc_rows_job job = {path, 3, shape, n, n, nout, true, arch ? DW_ASAMP_TILE : DW_DENSE_TILE,
                                  chunk * base + 64.0 * 1048576.0 + DW_OOC_STAGE_BYTES,
                                  8.0 * (double)n * (chunk + (o->reduce ? 3.0 : 0.0)), h, block_rows, &c, NULL, NULL,
                                  NULL, prepare};
        st = dw_ooc_rows_file(&job, fo);
        dw_core_free_large(c.shift);
    }
    dw_snet_clear(&t);
    dw_asamp_clear(&p);
    return st;
}
