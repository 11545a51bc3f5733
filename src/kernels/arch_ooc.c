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
#include "kernels/sweep.h"

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
 * input shape, the vector code chosen, the outputs, the inputs. Not the memory nor the threads. */
static uint64_t run_hash(const dw_net *net, const arch_prog *p, const char *spec, const ooc_files *f, const double *X,
                         size_t n, const double *Y, size_t m, size_t d, bool nngp, bool ntk)
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
    h = dw_ooc_hash(h, f->head, f->head_len);
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
    size_t n, m, nout, B;
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

static dw_status run_blocks(const arch_ooc *r, ooc_files *f, int nbuf, bool *cancelled)
{
    const size_t n = r->n, m = r->m, B = r->B;
    const ooc_layout lay = {n, m, 1, r->nout, B, r->sym};
    double *bufs[2] = {NULL, NULL};
    for (int k = 0; k < nbuf; k++)
        bufs[k] = dw_core_alloc_large(r->nout * B * m * sizeof(double), "the kernel's row block");
    ooc_writer *wr = NULL;
    dw_status s = !bufs[0] || (nbuf == 2 && !bufs[1]) ? DW_ERR_NOMEM : DW_OK;
    if (!s) s = dw_ooc_writer_start(&wr, f, &lay);
    int k = 0;
    for (size_t r0 = f->rows_done, r1; !s && r0 < n; r0 = r1, k ^= nbuf - 1) {
        r1 = r0 + B < n ? r0 + B : n;
        const size_t cb = r->sym ? r0 : 0, w = m - cb, nb = r1 - r0;
        double *buf = bufs[k]; /* free: the block that used it was written before the last post returned */
        double *K = r->ntk_only ? NULL : buf, *T = r->nout == 2 ? buf + B * w : r->ntk_only ? buf : NULL;
        if ((s = dw_arch_gram_rows(r->g, r0, r1, K, T, w, cb))) break;
        if (r->sym) /* (j, i) <- (i, j) for r0 <= i < j < r1 */
            for (size_t ol = 0; ol < r->nout; ol++) {
                double *v = buf + ol * B * w;
                dw_ooc_transpose(v, w, v, w, nb, nb, true);
            }
        ooc_block blk = {buf, r0, r1, cb, w, {0, 0, 0, 0, 0, 0}};
        stats_now(r, &blk.stats.max_bound, &blk.stats.evaluations);
        if ((s = dw_ooc_writer_post(wr, &blk))) break;
        if (nbuf == 1 && (s = dw_ooc_writer_wait(wr))) break; /* one buffer: written before it is reused */
        /* from the calling thread after every block too (the workers may have taken every row) */
        if (r->o && r->o->progress && r1 < n &&
            r->o->progress(r->o->progress_ctx, pairs_before(r1, m, r->sym), pairs_before(n, m, r->sym)) != 0) {
            s = dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback");
            *cancelled = true;
        }
    }
    /* the blocks handed over are written and recorded before anything returns (a cancelled run resumes after them) */
    const dw_status ws = dw_ooc_writer_stop(wr);
    if (!s) s = ws;
    for (int b = 0; b < nbuf; b++) dw_core_free_large(bufs[b]);
    return s;
}

dw_status dw_arch_gram_file(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                            size_t m, size_t d, bool nngp, bool ntk, const char *path, dw_kernel_info *info)
{
    if (!Y) m = n;
    if (o && o->all_layers)
        return dw_fail(DW_ERR_INVALID, "all_layers: not available for architectures beyond the fully connected one");
    const size_t nout = (size_t)nngp + (size_t)ntk;
    size_t shape[3], nd = 0, B = 1;
    int nbuf = 1;
    if (nout == 2) shape[nd++] = 2;
    shape[nd++] = n;
    shape[nd++] = m;
    ooc_files f;
    arch_gram *g = NULL;
    char *spec = NULL;
    dw_status s;
    if ((s = dw_ooc_names(&f, path, (int)nd, shape, n)) || (s = dw_ooc_check_space(&f)) ||
        (s = dw_ooc_block_rows(net, o, n, m, nngp, ntk, 0, &B, &nbuf)) ||
        (s = dw_arch_gram_init(&g, net, o, X, n, Y, m, d, ntk)) || (s = dw_net_spec_text(net, &spec))) {
        dw_ooc_close(&f, true);
        dw_arch_gram_clear(g);
        return s;
    }
    f.hash = run_hash(net, dw_arch_gram_prog(g), spec, &f, X, n, Y, m, d, nngp, ntk);
    free(spec);
    arch_ooc r = {.g = g, .o = o, .n = n, .m = m, .nout = nout, .B = B, .sym = !Y, .ntk_only = !nngp};
    double mb = 0.0;
    dw_arch_gram_stats(g, &mb, &r.ev_inputs);
    bool cancelled = false, keep = true; /* a refused resume keeps the files, as ooc.c */
    if (!(s = dw_ooc_open(&f, o && o->resume))) {
        keep = false;
        r.max_bound = f.stats.max_bound;
        r.evaluations = f.stats.evaluations;
        f.sync = (n + B - 1) / B > 1;
        const double total = pairs_before(n, m, r.sym), done = pairs_before(f.rows_done, m, r.sym);
        dw_arch_gram_progress(g, o, (size_t)done, total);
        cancelled = o && o->progress && o->progress(o->progress_ctx, done, total) != 0;
        s = cancelled ? dw_fail(DW_ERR_INVALID, "kernel: cancelled by the progress callback")
                      : run_blocks(&r, &f, nbuf, &cancelled);
        cancelled = cancelled || dw_arch_gram_cancelled(g);
        if (!s && o && o->progress) o->progress(o->progress_ctx, total, total);
    }
    if (!s) s = dw_ooc_finish(&f);
    if (!s && info) {
        size_t ev;
        stats_now(&r, &mb, &ev);
        dw_arch_gram_info(g, mb, r.ev_inputs + ev, info);
    }
    /* an interruption or a failed write (a full disk) keeps the files for a resume; any other failure (bad values,
     * memory, another run's side file) removes them, as ooc.c */
    dw_ooc_close(&f, keep || s == DW_ERR_IO || cancelled);
    dw_arch_gram_clear(g);
    return s;
}
