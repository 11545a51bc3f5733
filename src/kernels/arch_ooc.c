/* Out-of-core Gram matrices of the architecture engine (dw_kernel_gram_file for nets beyond the fully connected
 * shape): the rows are computed in blocks that fit the working memory by the in-memory driver's own row pass
 * (dw_arch_gram_rows, so the same bits), then handed to the out-of-core writer (ooc_write.c), which puts them at
 * their place in the .npy, syncs and records them for a resume, while the next block is computed.
 *
 * A symmetric Gram K(X, X) computes each entry once, as dw_arch_gram does: block [r0, r1) computes its entries
 * with j >= i (its buffer starts at column r0), fills its own lower triangle from them, and the writer puts the
 * mirror of its columns into the later rows (ooc.c's scheme, with blocks that need not start on a tile). */
#include "kernels/arch.h"
#include "kernels/kernel.h"
#include "kernels/ooc.h"
#include "act/sweep.h"

#include <stdlib.h>
#include <string.h>

dw_status dw_arch_gram_file_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp,
                                  bool ntk, double *fixed, double *per_row)
{
    /* the records and the workers' registers (dw_arch_gram_bytes without the outputs), the mirror staging */
    dw_status s = dw_arch_gram_bytes(net, o, n, m, false, false, fixed);
    if (s) return s;
    *fixed += (double)(DW_OOC_STAGE_BYTES > 8 * n ? DW_OOC_STAGE_BYTES : 8 * n);
    *per_row = ((double)nngp + (double)ntk) * (double)m * 8.0;
    return DW_OK;
}

/* The hash of everything that decides the bits: the library, the net's canonical spelling, parameterisation and
 * input shape, the vector code chosen, the outputs, the inputs (the driver adds the .npy header). Not the memory nor
 * the threads. */
static uint64_t run_hash(const dw_net *net, const arch_prog *p, const char *spec, const double *X, size_t n,
                         const double *Y, size_t m, size_t d, bool nngp, bool ntk)
{
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    h = dw_ooc_hash(h, "arch", 4);
    h = dw_ooc_hash(h, spec, strlen(spec));
    int lanes = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    lanes = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    const int ints[] = {(int)net->param, nngp, ntk, Y == NULL, p->impl == &dw_sweep_scalar, lanes};
    h = dw_ooc_hash(h, ints, sizeof ints);
    h = dw_ooc_hash(h, &net->in_rank, sizeof net->in_rank);
    h = dw_ooc_hash(h, net->in_shape, net->in_rank * sizeof net->in_shape[0]);
    const size_t dims[] = {n, m, d};
    h = dw_ooc_hash(h, dims, sizeof dims);
    h = dw_ooc_hash(h, X, n * d * sizeof(double));
    if (Y) h = dw_ooc_hash(h, Y, m * d * sizeof(double));
    return h;
}

/* Pairs of inputs in rows [0, r) (symmetric: j >= i only). */
static double pairs_before(size_t r, size_t m, bool sym)
{
    return sym ? (double)r * (double)m - (double)r * ((double)r - 1.0) / 2.0 : (double)r * (double)m;
}

typedef struct arch_ooc {
    arch_gram *g;
    const dw_kernel_opts *o;
    size_t n, m, nout;
    bool sym, ntk_only;
    double max_bound;   /* the statistics of a resumed run's earlier blocks (their rows only) */
    size_t evaluations;
    size_t ev_inputs;   /* this run's evaluations of the inputs' own pass (every run makes it) */
} arch_ooc;

/* The statistics so far: the largest bound, and the evaluations of the rows (every run's) into *ev_rows. */
static void stats_now(const arch_ooc *r, double *max_bound, size_t *ev_rows)
{
    size_t ev = 0;
    *max_bound = r->max_bound;
    dw_arch_gram_stats(r->g, max_bound, &ev);
    *ev_rows = r->evaluations + (ev - r->ev_inputs);
}

/* The driver's callbacks (ooc.h, ooc_rows_job). */
static dw_status arch_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    const arch_ooc *r = ctx;
    double *K = r->ntk_only ? NULL : buf, *T = r->nout == 2 ? buf + slab : r->ntk_only ? buf : NULL;
    return dw_arch_gram_rows(r->g, r0, r1, K, T, w, r->m - w);
}

static void arch_started(void *ctx, const ooc_files *f)
{
    arch_ooc *r = ctx;
    r->max_bound = f->stats.max_bound;
    r->evaluations = f->stats.evaluations;
    dw_arch_gram_progress(r->g, r->o, (size_t)pairs_before(f->rows_done, r->m, r->sym), pairs_before(r->n, r->m, r->sym));
}

static void arch_stats(void *ctx, gen_stats *st) { stats_now(ctx, &st->max_bound, &st->evaluations); }

static bool arch_cancelled(void *ctx) { return dw_arch_gram_cancelled(((const arch_ooc *)ctx)->g); }

dw_status dw_arch_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                            size_t m, size_t d, bool nngp, bool ntk, const char *path, dw_kernel_info *info)
{
    if (!Y) m = n;
    if (o && o->all_layers)
        return dw_fail(DW_ERR_INVALID, "all_layers: not available for architectures beyond the fully connected one");
    const size_t nout = (size_t)nngp + (size_t)ntk;
    size_t shape[3], nd = 0;
    if (nout == 2) shape[nd++] = 2;
    shape[nd++] = n;
    shape[nd++] = m;
    double fixed = 0.0, per_row = 0.0;
    arch_gram *g = NULL;
    char *spec = NULL;
    dw_status s;
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    if ((s = dw_arch_gram_file_bytes(net, o, n, m, nngp, ntk, &fixed, &per_row)) ||
        (s = dw_arch_gram_init(&g, net, o, X, n, Y, m, d, ntk)) || (s = dw_net_spec_text(net, &spec))) {
        dw_arch_gram_clear(g);
        return s;
    }
    const uint64_t h = run_hash(net, dw_arch_gram_prog(g), spec, X, n, Y, m, d, nngp, ntk);
    free(spec);
    arch_ooc r = {.g = g, .o = o, .n = n, .m = m, .nout = nout, .sym = !Y, .ntk_only = !nngp};
    double mb = 0.0;
    dw_arch_gram_stats(g, &mb, &r.ev_inputs);
    /* the block's values are the driver's (per_row: 8 bytes per entry and output) */
    const ooc_rows_job job = {path, (int)nd, shape, n, m, nout, !Y, 0, fixed, per_row - (double)nout * (double)m * 8.0,
                              h, arch_rows, &r, arch_started, arch_stats, arch_cancelled, NULL};
    const dw_file_opts fo = {o ? o->memory : 0.0, o && o->resume, 0, o ? o->progress : NULL, o ? o->progress_ctx : NULL};
    s = dw_ooc_rows_file(&job, &fo);
    if (!s && info) {
        size_t ev;
        stats_now(&r, &mb, &ev);
        dw_arch_gram_info(g, mb, r.ev_inputs + ev, info);
    }
    dw_arch_gram_clear(g);
    return s;
}
