/* The library's side of distributed runs (deepwick-mpi), without MPI:
 * - Gram parts (kernels/ooc_part.h): for P = 1..5 parts, the pieces of every part's blocks, put at their offsets
 *   after the header, cover every byte of the file exactly once and give the bytes of dw_kernel_gram_file's file;
 *   symmetric and rectangular, both kinds, every layer, blocks of fewer rows than a tile; the parts' tile counts are
 *   balanced; the combined statistics give dw_kernel_gram_file's info (a generic activation); resume is refused.
 * - Split sampling (sample/sample.h): P = 3 parts as threads exchanging through shared memory give every part the
 *   single-process results bit for bit (in batches of 1 or 2 networks or automatic: parts with no network in a
 *   batch included): dw_sample_run (outputs and reduced Gram, and per-network Grams) and
 *   dw_sample_converge, dw_spectrum_sample_law (the Jacobian spectrum's networks), dw_predict_regress by CG (each
 *   product's row blocks and each RPCholesky column's split); an error in one part fails the exchange of every part. */
#include "check.h"
#include "deepwick.h"
#include "kernels/ooc_part.h"
#include "sample/sample.h"
#include "spectrum/spectrum.h"
#include "predict/predict.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len + 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static dw_net *make_net(const char *spec, dw_act **act, int depth)
{
    dw_net *net = NULL;
    const double wv[] = {1.6, 2.0, 1.3}, bv[] = {0.1, 0.05, 0.2};
    CHECK(dw_act_init(act, spec) == DW_OK);
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, depth, *act, true) == DW_OK);
    CHECK(dw_net_set_weight_var(net, (size_t)depth + 1, wv) == DW_OK);
    CHECK(dw_net_set_bias_var(net, (size_t)depth + 1, bv) == DW_OK);
    return net;
}

/* One configuration: dw_kernel_gram_file's bytes against the union of P parts' pieces. */
static void check_parts(const char *act_spec, size_t n, size_t m, bool rect, bool nngp, bool ntk, bool all,
                        double mem_rows)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/dw_test_dist_%d.npy", (int)getpid());
    dw_act *act;
    dw_net *net = make_net(act_spec, &act, 2);
    double *X = malloc((n + m) * 3 * sizeof(double));
    for (size_t i = 0; i < (n + m) * 3; i++) X[i] = 0.7 * sin(1.3 * (double)i) + 0.1 * (double)(i % 5);
    const double *Y = rect ? X + 3 * n : NULL;
    dw_kernel_opts *o;
    dw_kernel_info *ref_info, *info;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_kernel_opts_set_all_layers(o, all) == DW_OK);
    CHECK(dw_kernel_info_init(&ref_info) == DW_OK);
    CHECK(dw_kernel_info_init(&info) == DW_OK);
    double fixed, row;
    CHECK(dw_kernel_gram_file_bytes(net, o, n, rect ? m : n, nngp, ntk, &fixed, &row) == DW_OK);
    CHECK(dw_kernel_opts_set_memory(o, fixed + mem_rows * 3 * row) == DW_OK); /* the parts keep three blocks */
    CHECK(dw_kernel_gram_file(net, o, X, n, Y, m, 3, nngp, ntk, path, ref_info) == DW_OK);
    size_t len = 0;
    unsigned char *want = read_file(path, &len);
    CHECK(want != NULL);
    unlink(path);
    unsigned char *got = calloc(len + 1, 1);
    unsigned char *hits = calloc(len + 1, 1);
    for (int P = 1; P <= 5 && want; P++) {
        memset(got, 0, len);
        memset(hits, 0, len);
        double mx[DW_GRAM_PART_MAX] = {0}, sum[DW_GRAM_PART_SUM] = {0};
        size_t next = 0, tiles_lo = (size_t)-1, tiles_hi = 0;
        dw_gram_part *parts[5] = {NULL};
        for (int k = 0; k < P; k++) {
            dw_gram_part *g = NULL;
            CHECK(dw_gram_part_init(&g, net, o, X, n, Y, m, 3, nngp, ntk, path, k, P) == DW_OK);
            parts[k] = g;
            if (!g) continue;
            CHECK(dw_gram_part_file_bytes(g) == len);
            size_t hl, r0, r1;
            const unsigned char *head = dw_gram_part_header(g, &hl);
            CHECK(hl < len && memcmp(head, want, hl) == 0);
            if (k == 0) {
                memcpy(got, head, hl);
                memset(hits, 1, hl);
            }
            dw_gram_part_rows(g, &r0, &r1);
            CHECK(r0 == next && r1 >= r0 && (k < P - 1 || r1 == n)); /* contiguous, all rows */
            next = r1;
            size_t tiles = 0;
            for (size_t b = 0; b < dw_gram_part_blocks(g); b++) {
                dw_gram_pieces pc;
                CHECK(dw_gram_part_block(g, b, &pc) == DW_OK);
                const double *v = pc.data;
                uint64_t last = 0;
                for (size_t q = 0; q < pc.count; q++) {
                    CHECK(q == 0 || pc.off[q] > last);
                    last = pc.off[q];
                    for (size_t e = 0; e < 8 * pc.len[q]; e++) hits[hl + pc.off[q] + e]++;
                    memcpy(got + hl + pc.off[q], v, 8 * pc.len[q]);
                    v += pc.len[q];
                }
                CHECK(v == pc.data + pc.total);
            }
            /* balance: a symmetric part's tiles (i0 / 256 column tiles on from its row's) within one tile row */
            for (size_t i0 = r0; i0 < r1; i0 += 32) tiles += ((rect ? m : n) + 255) / 256 - (rect ? 0 : i0 / 256);
            if (tiles < tiles_lo) tiles_lo = tiles;
            if (tiles > tiles_hi) tiles_hi = tiles;
            double a[DW_GRAM_PART_MAX], s[DW_GRAM_PART_SUM];
            dw_gram_part_stats(g, a, s);
            for (int q = 0; q < DW_GRAM_PART_MAX; q++) mx[q] = a[q] > mx[q] ? a[q] : mx[q];
            for (int q = 0; q < DW_GRAM_PART_SUM; q++) sum[q] += s[q];
        }
        size_t bad = 0;
        for (size_t e = 0; e < len; e++) bad += hits[e] != 1;
        CHECK(bad == 0);
        CHECK(memcmp(got, want, len) == 0);
        const size_t row_tiles = ((rect ? m : n) + 255) / 256;
        CHECK(tiles_hi - tiles_lo <= row_tiles || n < 32 * (size_t)P);
        if (parts[0]) {
            dw_gram_part_info(parts[0], mx, sum, info);
            CHECK(dw_kernel_info_max_bound(info) == dw_kernel_info_max_bound(ref_info));
            CHECK(dw_kernel_info_evaluations(info) == dw_kernel_info_evaluations(ref_info));
            CHECK(strcmp(dw_kernel_info_method(info), dw_kernel_info_method(ref_info)) == 0);
        }
        for (int k = 0; k < P; k++) dw_gram_part_clear(parts[k]);
    }
    free(want);
    free(got);
    free(hits);
    free(X);
    dw_kernel_info_clear(info);
    dw_kernel_info_clear(ref_info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_parts(void)
{
    check_parts("relu", 100, 100, false, true, true, false, 20.5); /* blocks of 20 rows */
    check_parts("erf", 90, 45, true, false, true, true, 7.5);
    check_parts("tanh", 70, 70, false, true, false, false, 40.5); /* a generic activation: its statistics */
    check_parts("relu", 300, 300, false, true, false, false, 1000);  /* one block a part, several tile rows */
    dw_act *act;
    dw_net *net = make_net("relu", &act, 2);
    dw_kernel_opts *o;
    dw_gram_part *g = NULL;
    double X[6] = {1, 2, 3, 4, 5, 6};
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_resume(o, true) == DW_OK);
    CHECK(dw_gram_part_init(&g, net, o, X, 2, NULL, 2, 3, true, false, "/tmp/x.npy", 0, 2) == DW_ERR_INVALID);
    dw_gram_part_clear(g);
    CHECK(dw_gram_part_init(&g, net, NULL, X, 2, NULL, 2, 3, true, false, "/tmp/x.npy", 2, 2) == DW_ERR_INVALID);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

/* ---- split sampling: P threads, an exchange through shared memory with barriers ---- */

#define NP 3
typedef struct shared {
    pthread_barrier_t bar;
    double *all;       /* every part's records, in network order */
    size_t cap;
    int failed;        /* some part failed this round */
    int part_fail;     /* the part that fails its first exchange (-1: none) */
} shared;

typedef struct part_arg {
    shared *sh;
    dw_sample_split split;
    int mode; /* 0: sample reduced, 1: per-network Grams and outputs, 2: converge, 3: Jacobian spectrum, 4: CG */
    double *out;
    dw_status st;
} part_arg;

static dw_status exchange(void *ctx, dw_status st, const double *mine, double *all, const size_t *counts,
                          size_t record)
{
    part_arg *a = ctx;
    shared *sh = a->sh;
    if (a->split.part == sh->part_fail) st = DW_ERR_RANGE;
    if (st) sh->failed = 1;
    pthread_barrier_wait(&sh->bar);
    const int failed = sh->failed;
    size_t at = 0, total = 0;
    for (int k = 0; k < a->split.nparts; k++) {
        if (k < a->split.part) at += counts[k];
        total += counts[k];
    }
    if (!failed) memcpy(sh->all + at * record, mine, counts[a->split.part] * record * sizeof(double));
    pthread_barrier_wait(&sh->bar);
    if (!failed) memcpy(all, sh->all, total * record * sizeof(double));
    pthread_barrier_wait(&sh->bar);
    if (a->split.part == 0) sh->failed = 0;
    pthread_barrier_wait(&sh->bar);
    return failed ? (st ? st : DW_ERR_INVALID) : DW_OK;
}

static const double PX[5 * 3] = {0.3, -1.2, 0.8, 1.1, 0.4, -0.5, -0.7, 0.9, 0.2, 0.31, -1.19, 0.8, 0, 0.5, -0.4};
enum { S_NETS = 7, OUT_LEN = 2 * 25 + S_NETS * 5 * 2 + S_NETS * 25 };

static dw_status run_mode(const dw_sample_split *split, int mode, double *out)
{
    dw_act *act;
    dw_net *net = make_net(mode == 1 ? "erf" : "tanh", &act, 2);
    const double w[2] = {24, 40};
    dw_sample_opts *o;
    dw_status s = dw_net_set_widths(net, 2, w);
    if (!s) s = dw_net_set_out_dim(net, 2);
    if (!s) s = dw_sample_opts_init(&o);
    if (!s) s = dw_sample_opts_set_threads(o, 1);
    if (!s) s = dw_sample_opts_set_seed(o, 11);
    if (!s) s = dw_sample_opts_set_first_sample(o, 5);
    if (!s) s = dw_sample_opts_set_reduce(o, mode == 0);
    if (!s) s = dw_sample_opts_set_split(o, split);
    if (!s && mode == 0) s = dw_sample_run(net, o, PX, 5, 3, S_NETS, DW_SAMPLE_NTK, NULL, out, out + 25);
    if (!s && mode == 1) s = dw_sample_run(net, o, PX, 5, 3, S_NETS, DW_SAMPLE_NNGP, out, out + S_NETS * 10, NULL);
    if (!s && mode == 3) { /* the Jacobian spectrum's sampled networks: moments, errors, squared singular values */
        dw_net *sq = NULL;
        dw_spectrum_sample_opts *so = NULL;
        const double N = 12;
        s = dw_net_init(&sq);
        if (!s) s = dw_net_set_fc(sq, 3, act, false);
        if (!s) s = dw_net_set_widths(sq, 1, &N);
        if (!s) s = dw_spectrum_sample_opts_init(&so);
        if (!s) s = dw_spectrum_sample_opts_set_samples(so, S_NETS);
        if (!s) s = dw_spectrum_sample_opts_set_K(so, 3);
        if (!s) s = dw_spectrum_sample_opts_set_threads(so, 1);
        if (!s) s = dw_spectrum_sample_opts_set_split(so, split);
        if (!s) s = dw_spectrum_sample_law(sq, so, 4, out, out + 3, out + 6);
        dw_spectrum_sample_opts_clear(so);
        dw_net_clear(sq);
    }
    if (!s && mode == 4) { /* kernel regression by CG: the products' and the preconditioner's columns' row blocks split (200 train points:
                            * 4 blocks; rank 200) */
        dw_predict_opts *po = NULL;
        double X[200 * 3], Y[200], T[10 * 3];
        for (size_t i = 0; i < 600; i++) X[i] = sin(0.37 * (double)i) + 0.01 * (double)(i % 7);
        for (size_t i = 0; i < 200; i++) Y[i] = cos(X[3 * i]) - X[3 * i + 1];
        for (size_t i = 0; i < 30; i++) T[i] = cos(0.71 * (double)i);
        s = dw_predict_opts_init(&po);
        if (!s) s = dw_predict_opts_set_solver(po, "cg");
        if (!s) s = dw_predict_opts_set_threads(po, 1);
        if (!s) s = dw_predict_opts_set_diag_reg(po, 1e-3);
        if (!s) s = dw_predict_opts_set_split(po, split);
        if (!s) s = dw_predict_regress(net, po, X, 200, Y, 1, T, 10, 3, out, NULL, NULL);
        dw_predict_opts_clear(po);
    }
    const size_t widths[3] = {8, 16, 32};
    if (!s && mode == 2)
        s = dw_sample_converge(net, o, PX, 5, 3, DW_SAMPLE_NTK, 3, widths, S_NETS, out, out + 3 * DW_SAMPLE_WIDTH_COLS);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static void *part_main(void *v)
{
    part_arg *a = v;
    a->st = run_mode(&a->split, a->mode, a->out);
    return NULL;
}

static void test_split(void)
{
    shared sh;
    sh.cap = 64 * S_NETS * 64;
    sh.all = malloc(sh.cap * sizeof(double));
    pthread_barrier_init(&sh.bar, NULL, NP);
    for (int mode = 0; mode < 5; mode++)
        for (int variant = 0; variant < (mode == 0 ? 5 : 3); variant++) {
            /* batches: automatic (one), 1, 2 networks; then part 0 / part 2 failing, batches of 3 */
            const size_t batch = variant < 3 ? (size_t)variant : 3;
            const int fail = variant < 3 ? -1 : variant == 3 ? 0 : 2;
            double *want = calloc(OUT_LEN, sizeof(double));
            CHECK(run_mode(NULL, mode, want) == DW_OK);
            part_arg args[NP];
            pthread_t th[NP];
            sh.failed = 0;
            sh.part_fail = fail;
            for (int k = 0; k < NP; k++) {
                args[k] = (part_arg){&sh, {k, NP, batch, exchange, &args[k]}, mode, calloc(OUT_LEN, sizeof(double)), DW_OK};
                pthread_create(&th[k], NULL, part_main, &args[k]);
            }
            for (int k = 0; k < NP; k++) pthread_join(th[k], NULL);
            for (int k = 0; k < NP; k++) {
                if (fail < 0) {
                    CHECK(args[k].st == DW_OK);
                    CHECK(memcmp(args[k].out, want, OUT_LEN * sizeof(double)) == 0);
                } else {
                    CHECK(args[k].st != DW_OK); /* one part's failure fails every part */
                }
                free(args[k].out);
            }
            free(want);
        }
    pthread_barrier_destroy(&sh.bar);
    free(sh.all);
    /* the split's own checks */
    dw_sample_opts *o;
    CHECK(dw_sample_opts_init(&o) == DW_OK);
    const dw_sample_split bad = {3, 3, 0, exchange, NULL}, none = {0, 2, 0, NULL, NULL};
    CHECK(dw_sample_opts_set_split(o, &bad) == DW_ERR_INVALID);
    CHECK(dw_sample_opts_set_split(o, &none) == DW_ERR_INVALID);
    CHECK(dw_sample_opts_set_split(o, NULL) == DW_OK);
    dw_sample_opts_clear(o);
}

int main(void)
{
    test_parts();
    test_split();
    return check_done("dist");
}
