/* Out-of-core Grams other than the kernel's (kernels/ooc_rows.c): dw_sig_kernel_gram_file, dw_sig_nsk_gram_file,
 * dw_sample_network_gram_file, dw_sample_run_file (fully connected and architecture nets),
 * dw_sample_params_gram_file. The file's array is the in-memory call's result byte for byte for blocks of 1 row,
 * of several rows and of every row (the networks': whole tiles of 128 rows, 64 for an architecture), at 1 and 2 threads, symmetric and
 * rectangular; a run stopped by its progress callback leaves the previous output untouched, keeps its completed
 * rows, and resumes (other memory and threads) to the same bytes; a resume of another computation is refused and
 * keeps the files; errors (an unwritable path, a bad or too small memory, a write that fails) leave no output and
 * the old one untouched. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

static char dir[64], out[128], partial[128], side[128];

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The file's data equals want (count doubles) and its header is padded to 64 bytes. */
static int same_data(const char *path, const double *want, size_t count)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char h[10];
    double *v = malloc(count * sizeof(double) + 1);
    size_t hl = 0;
    if (fread(h, 1, 10, f) == 10) hl = 10 + (size_t)h[8] + 256 * (size_t)h[9];
    int ok = v && hl % 64 == 0 && fseek(f, (long)hl, SEEK_SET) == 0 &&
             fread(v, sizeof(double), count, f) == count && fgetc(f) == EOF &&
             memcmp(v, want, count * sizeof(double)) == 0;
    fclose(f);
    free(v);
    return ok;
}

static void write_old(void)
{
    FILE *f = fopen(out, "wb");
    fputs("old", f);
    fclose(f);
}

static int old_untouched(void)
{
    char b[8] = "";
    FILE *f = fopen(out, "rb");
    if (!f) return 0;
    size_t k = fread(b, 1, sizeof b, f);
    fclose(f);
    return k == 3 && !memcmp(b, "old", 3);
}

/* One of the three computations: the in-memory result, or the file (with threads). */
typedef struct gram_case {
    const char *name;
    size_t n, m; /* the result's shape */
    bool sym;
    dw_status (*mem)(const struct gram_case *c, double *G);
    dw_status (*file)(const struct gram_case *c, int threads, const dw_file_opts *fo);
    double scale; /* changed for the refused resume */
    size_t blocks[3]; /* max rows: 1 (or a tile), several, all */
    size_t nout;      /* slabs of n x m (0: 1) */
} gram_case;

static double P[41 * 5 * 2], XN[300 * 4], W1[12 * 4], W2[9 * 12], W3[2 * 9], B1[12];
static dw_act *tanh_act, *erf_act; /* the network's; the nsk's (a closed form) */

static dw_status sig_mem(const gram_case *c, double *G)
{
    dw_sig_kernel_opts *o = NULL;
    dw_status s = dw_sig_kernel_opts_init(&o);
    if (!s) s = dw_sig_kernel_opts_set_dyadic_order(o, 1);
    if (!s) s = dw_sig_kernel_opts_set_scale(o, c->scale);
    if (!s) s = dw_sig_kernel_gram(o, P, c->n, 5, c->sym ? NULL : P + 30 * 10, c->m, 5, 2, G);
    dw_sig_kernel_opts_clear(o);
    return s;
}

static dw_status sig_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    dw_sig_kernel_opts *o = NULL;
    dw_status s = dw_sig_kernel_opts_init(&o);
    if (!s) s = dw_sig_kernel_opts_set_dyadic_order(o, 1);
    if (!s) s = dw_sig_kernel_opts_set_scale(o, c->scale);
    if (!s) s = dw_sig_kernel_opts_set_threads(o, threads);
    if (!s) s = dw_sig_kernel_gram_file(o, P, c->n, 5, c->sym ? NULL : P + 30 * 10, c->m, 5, 2, out, fo);
    dw_sig_kernel_opts_clear(o);
    return s;
}

static dw_sig_nsk_opts *nsk_opts(const gram_case *c, int threads)
{
    dw_sig_nsk_opts *o = NULL;
    CHECK(dw_sig_nsk_opts_init(&o) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_act(o, erf_act) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_sigma_a(o, c->scale) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_sigma_b(o, 0.3) == DW_OK);
    CHECK(dw_sig_nsk_opts_set_dyadic_order(o, 1) == DW_OK);
    if (threads) CHECK(dw_sig_nsk_opts_set_threads(o, threads) == DW_OK);
    return o;
}

static dw_status nsk_mem(const gram_case *c, double *G)
{
    dw_sig_nsk_opts *o = nsk_opts(c, 0);
    dw_status s = dw_sig_nsk_gram(o, P, c->n, 5, c->sym ? NULL : P + 30 * 10, c->m, 5, 2, G);
    dw_sig_nsk_opts_clear(o);
    return s;
}

static dw_status nsk_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    dw_sig_nsk_opts *o = nsk_opts(c, threads);
    dw_status s = dw_sig_nsk_gram_file(o, P, c->n, 5, c->sym ? NULL : P + 30 * 10, c->m, 5, 2, out, fo);
    dw_sig_nsk_opts_clear(o);
    return s;
}

/* A given network 4 > 12 (tanh, bias) > 9 (tanh) > 2 on 300 points, or 200 against the last 100. */
static dw_net *given_net(const gram_case *c)
{
    dw_net *net = NULL;
    const double *W[3] = {W1, W2, W3}, *b[3] = {B1, NULL, NULL};
    const size_t wd[4] = {4, 12, 9, 2};
    const double wv[3] = {c->scale, 0.5, 1.0};
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_given(net, tanh_act, 3, wd, W, b, true) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 3, wv) == DW_OK);
    return net;
}

static dw_status net_mem(const gram_case *c, double *G)
{
    dw_net *net = given_net(c);
    dw_status s = dw_sample_network_gram(net, NULL, XN, c->n, c->sym ? NULL : XN + 200 * 4, c->m, 4,
                                         c->sym ? DW_SAMPLE_NTK : DW_SAMPLE_NNGP, G);
    dw_net_clear(net);
    return s;
}

static dw_status net_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    dw_net *net = given_net(c);
    dw_sample_opts *o = NULL;
    dw_status s = dw_sample_opts_init(&o);
    if (!s) s = dw_sample_opts_set_threads(o, threads);
    if (!s) s = dw_sample_network_gram_file(net, o, XN, c->n, c->sym ? NULL : XN + 200 * 4, c->m, 4,
                                            c->sym ? DW_SAMPLE_NTK : DW_SAMPLE_NNGP, out, fo);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    return s;
}

/* Sampled networks 4 > 12 (tanh) > 9 (tanh) > 2, 3 of them, NTK: the mean and standard error of their Grams. */
static dw_net *sampled_net(const gram_case *c)
{
    dw_net *net = NULL;
    const double wv[3] = {c->scale, 1.2, 0.8}, bv[1] = {0.1};
    const double widths[2] = {12, 9};
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, 2, tanh_act, true) == DW_OK);
    CHECK(dw_net_set_widths(net, 2, widths) == DW_OK);
    CHECK(dw_net_set_out_dim(net, 2) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 3, wv) == DW_OK);
    CHECK(dw_net_set_bias_var(net, 1, bv) == DW_OK);
    return net;
}

static dw_sample_opts *sampled_opts(int threads)
{
    dw_sample_opts *o = NULL;
    CHECK(dw_sample_opts_init(&o) == DW_OK);
    CHECK(dw_sample_opts_set_seed(o, 17) == DW_OK);
    CHECK(dw_sample_opts_set_reduce(o, true) == DW_OK);
    CHECK(dw_sample_opts_set_threads(o, threads) == DW_OK);
    return o;
}

/* Three sampled networks of net (taken), the NTK's mean and standard error: in memory, or (fo) to the file */
static dw_status run_sampled(dw_net *net, const gram_case *c, int threads, const dw_file_opts *fo, double *G)
{
    dw_sample_opts *o = sampled_opts(threads);
    dw_status s = fo ? dw_sample_run_file(net, o, XN, c->n, 4, 3, DW_SAMPLE_NTK, NULL, out, fo)
                     : dw_sample_run(net, o, XN, c->n, 4, 3, DW_SAMPLE_NTK, NULL, G, G + c->n * c->n);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    return s;
}

static dw_status sample_mem(const gram_case *c, double *G) { return run_sampled(sampled_net(c), c, 0, NULL, G); }

static dw_status sample_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    return run_sampled(sampled_net(c), c, threads, fo, NULL);
}

/* An architecture (a convolution, an average pool, two dense layers, over inputs of 4 positions x 1 channel). */
static dw_net *arch_net(const gram_case *c)
{
    char spec[256];
    snprintf(spec, sizeof spec, "conv(3, same, W_std=%.17g, b_std=0.2, out_chan=3); tanh; avgpool(2, strides=2); "
             "flatten; dense(W_std=1.3, b_std=0.1, out_dim=5); tanh; dense(W_std=0.9, out_dim=2)", c->scale);
    dw_net *net = NULL;
    const size_t shape[2] = {4, 1};
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_parse(net, spec) == DW_OK);
    CHECK(dw_net_set_input_shape(net, 2, shape) == DW_OK);
    return net;
}

static dw_status arch_sample_mem(const gram_case *c, double *G) { return run_sampled(arch_net(c), c, 0, NULL, G); }

static dw_status arch_sample_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    return run_sampled(arch_net(c), c, threads, fo, NULL);
}

/* One network of it by its parameter vector (sample 2 of seed 17): the NTK (X, X) or the NNGP (X, Y). */
static dw_status params_call(const gram_case *c, int threads, const dw_file_opts *fo, double *G)
{
    dw_net *net = arch_net(c);
    dw_sample_opts *o = sampled_opts(threads);
    size_t np = 0;
    CHECK(dw_sample_opts_set_first_sample(o, 2) == DW_OK);
    CHECK(dw_sample_params_size(net, o, 4, &np, NULL) == DW_OK);
    double *theta = malloc((np + 1) * sizeof *theta);
    CHECK(theta && dw_sample_params(net, o, 4, theta, np) == DW_OK);
    const double *Y = c->sym ? NULL : XN + c->n * 4;
    const dw_sample_gram kind = c->sym ? DW_SAMPLE_NTK : DW_SAMPLE_NNGP;
    dw_status s = G ? dw_sample_params_gram(net, o, theta, np, XN, c->n, Y, c->m, 4, kind, G)
                    : dw_sample_params_gram_file(net, o, theta, np, XN, c->n, Y, c->m, 4, kind, out, fo);
    free(theta);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    return s;
}

static dw_status params_mem(const gram_case *c, double *G) { return params_call(c, 0, NULL, G); }
static dw_status params_file(const gram_case *c, int threads, const dw_file_opts *fo)
{
    return params_call(c, threads, fo, NULL);
}

static int stop_at, calls;
static int progress(void *ctx, double done, double total)
{
    (void)ctx;
    CHECK(done <= total && total > 0);
    return stop_at > 0 && ++calls >= stop_at;
}

static dw_file_opts *file_opts(size_t max_rows, bool resume)
{
    dw_file_opts *fo = NULL;
    CHECK(dw_file_opts_init(&fo) == DW_OK);
    CHECK(dw_file_opts_set_max_rows(fo, max_rows) == DW_OK);
    CHECK(dw_file_opts_set_resume(fo, resume) == DW_OK);
    CHECK(dw_file_opts_set_progress(fo, progress, NULL) == DW_OK);
    return fo;
}

static void run_case(gram_case *c)
{
    const size_t count = (c->nout ? c->nout : 1) * c->n * c->m;
    double *want = malloc(count * sizeof *want);
    CHECK(want && c->mem(c, want) == DW_OK);
    /* the bits, for every block size and thread count */
    for (int b = 0; b < 3; b++)
        for (int t = 1; t <= 2; t++) {
            dw_file_opts *fo = file_opts(c->blocks[b], false);
            stop_at = 0;
            CHECK(c->file(c, t, fo) == DW_OK);
            if (!same_data(out, want, count)) fprintf(stderr, "%s: blocks of %zu, %d threads\n", c->name, c->blocks[b], t);
            CHECK(same_data(out, want, count));
            CHECK(!exists(partial) && !exists(side));
            dw_file_opts_clear(fo);
        }
    /* stopped after two blocks: the old output untouched, the rows kept */
    write_old();
    dw_file_opts *fo = file_opts(c->blocks[1], false);
    stop_at = 2; /* the first call is at the start */
    calls = 0;
    CHECK(c->file(c, 1, fo) == DW_ERR_INVALID && strstr(dw_error_message(), "cancelled"));
    CHECK(old_untouched() && exists(partial) && exists(side));
    dw_file_opts_clear(fo);
    /* a resume of another computation: refused, the files kept */
    fo = file_opts(0, true);
    stop_at = 0;
    c->scale *= 1.5;
    CHECK(c->file(c, 2, fo) == DW_ERR_INVALID && strstr(dw_error_message(), "resume"));
    c->scale /= 1.5;
    CHECK(old_untouched() && exists(partial) && exists(side));
    /* the resume, with other blocks and threads: the bytes of an uninterrupted run */
    const dw_status rs = c->file(c, 2, fo);
    if (rs) fprintf(stderr, "%s: resume: %s\n", c->name, dw_error_message());
    CHECK(rs == DW_OK);
    CHECK(same_data(out, want, count) && !exists(partial) && !exists(side));
    dw_file_opts_clear(fo);
    /* a failed write (the file-size limit as a full disk): an I/O error, the old output untouched */
    write_old();
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 256;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    fo = file_opts(c->blocks[1], false);
    CHECK(c->file(c, 1, fo) == DW_ERR_IO && strstr(dw_error_message(), "too large"));
    CHECK(setrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    CHECK(old_untouched());
    /* a new start removes what the failed one left */
    CHECK(c->file(c, 1, fo) == DW_OK && same_data(out, want, count) && !exists(partial) && !exists(side));
    dw_file_opts_clear(fo);
    free(want);
}

static void test_errors(void)
{
    gram_case c = {"sigkernel", 4, 4, true, sig_mem, sig_file, 1.0, {1, 2, 0}, 1};
    dw_file_opts *fo = NULL;
    CHECK(dw_file_opts_init(&fo) == DW_OK);
    CHECK(dw_file_opts_init(NULL) == DW_ERR_INVALID);
    CHECK(dw_file_opts_set_memory(NULL, 1e6) == DW_ERR_INVALID);
    CHECK(dw_file_opts_set_resume(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_file_opts_set_max_rows(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_file_opts_set_progress(NULL, progress, NULL) == DW_ERR_INVALID);
    CHECK(dw_file_opts_set_memory(fo, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "memory"));
    CHECK(dw_file_opts_set_memory(fo, NAN) == DW_ERR_INVALID);
    write_old();
    CHECK(dw_file_opts_set_memory(fo, 1000) == DW_OK);
    CHECK(sig_file(&c, 1, fo) == DW_ERR_NOMEM && strstr(dw_error_message(), "give at least"));
    CHECK(old_untouched() && !exists(partial) && !exists(side));
    CHECK(dw_file_opts_set_memory(fo, 0) == DW_OK);
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_sig_kernel_gram_file(o, P, 4, 5, NULL, 4, 5, 2, "/nonexistent-dir/K.npy", fo) == DW_ERR_IO);
    CHECK(dw_sig_kernel_gram_file(o, P, 4, 5, NULL, 4, 5, 2, dir, fo) == DW_ERR_IO);
    CHECK(dw_sig_kernel_gram_file(o, P, 4, 5, NULL, 4, 5, 2, "", fo) == DW_ERR_INVALID);
    double bad[4 * 5 * 2];
    memcpy(bad, P, sizeof bad);
    bad[7] = NAN;
    CHECK(dw_sig_kernel_gram_file(o, bad, 4, 5, NULL, 4, 5, 2, out, fo) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite") != NULL);
    CHECK(old_untouched() && !exists(partial) && !exists(side));
    dw_sig_kernel_opts_clear(o);
    /* an architecture net by the network's file route: the network dw_sample_network_gram draws */
    gram_case a = {"arch", 40, 40, true, params_mem, params_file, 1.5, {1, 1, 0}, 1};
    dw_net *net = arch_net(&a);
    double *want = malloc(40 * 40 * sizeof *want);
    CHECK(want && dw_sample_network_gram(net, NULL, XN, 40, NULL, 0, 4, DW_SAMPLE_NTK, want) == DW_OK);
    CHECK(dw_sample_network_gram_file(net, NULL, XN, 40, NULL, 0, 4, DW_SAMPLE_NTK, out, fo) == DW_OK);
    CHECK(same_data(out, want, 40 * 40) && !exists(partial) && !exists(side));
    free(want);
    /* a parameter vector of the wrong length, a bad kind, bad Y: refused, the old output untouched */
    write_old();
    double theta[4] = {0, 0, 0, 0};
    CHECK(dw_sample_params_gram_file(net, NULL, theta, 4, XN, 40, NULL, 0, 4, DW_SAMPLE_NTK, out, fo) ==
          DW_ERR_INVALID && strstr(dw_error_message(), "parameters"));
    size_t np = 0;
    CHECK(dw_sample_params_size(net, NULL, 4, &np, NULL) == DW_OK);
    double *th = calloc(np, sizeof *th);
    CHECK(th && dw_sample_params_gram_file(net, NULL, th, np, XN, 40, NULL, 0, 4, DW_SAMPLE_NO_GRAM, out, fo) ==
                    DW_ERR_INVALID);
    CHECK(dw_sample_params_gram_file(net, NULL, th, np, XN, 40, XN, 0, 4, DW_SAMPLE_NTK, out, fo) == DW_ERR_INVALID);
    CHECK(dw_sample_params_gram_file(net, NULL, th, np, XN, 40, NULL, 0, 4, DW_SAMPLE_NTK, "/nonexistent-dir/G.npy",
                                     fo) == DW_ERR_IO);
    /* non-finite parameters: the forward pass fails, no file */
    th[0] = NAN;
    CHECK(dw_sample_params_gram_file(net, NULL, th, np, XN, 40, NULL, 0, 4, DW_SAMPLE_NTK, out, fo) == DW_ERR_RANGE);
    CHECK(old_untouched() && !exists(partial) && !exists(side));
    free(th);
    dw_net_clear(net);
    dw_file_opts_clear(fo);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dw_gram_ooc_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(out, sizeof out, "%s/G.npy", dir);
    snprintf(partial, sizeof partial, "%s/.G.npy.deepwick-partial", dir);
    snprintf(side, sizeof side, "%s/.G.npy.deepwick-resume", dir);
    unsigned long long r = 12345;
    double *arrays[] = {P, XN, W1, W2, W3, B1};
    const size_t sizes[] = {41 * 5 * 2, 300 * 4, 12 * 4, 9 * 12, 2 * 9, 12};
    const double scales[] = {0.4, 1.0, 0.5, 0.3, 0.3, 0.1};
    for (int a = 0; a < 6; a++)
        for (size_t i = 0; i < sizes[a]; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            arrays[a][i] = scales[a] * ((double)(r >> 11) / 9007199254740992.0 - 0.5);
        }
    CHECK(dw_act_init(&tanh_act, "tanh") == DW_OK);
    CHECK(dw_act_init(&erf_act, "erf") == DW_OK);
    gram_case cases[] = {
        {"sigkernel X, X", 23, 23, true, sig_mem, sig_file, 1.0, {1, 5, 0}, 1},
        {"sigkernel X, Y", 23, 11, false, sig_mem, sig_file, 1.0, {1, 5, 0}, 1},
        {"nsk X, X", 17, 17, true, nsk_mem, nsk_file, 1.0, {1, 4, 0}, 1},
        {"nsk X, Y", 17, 11, false, nsk_mem, nsk_file, 1.0, {1, 4, 0}, 1},
        {"network X, X", 300, 300, true, net_mem, net_file, 1.0, {1, 128, 0}, 1},
        {"network X, Y", 200, 100, false, net_mem, net_file, 1.0, {1, 128, 0}, 1},
        {"sample mean", 300, 300, true, sample_mem, sample_file, 1.5, {1, 128, 0}, 2},
        {"arch sample mean", 150, 150, true, arch_sample_mem, arch_sample_file, 1.5, {1, 64, 0}, 2},
        {"arch params X, X", 200, 200, true, params_mem, params_file, 1.5, {1, 64, 0}, 1},
        {"arch params X, Y", 150, 100, false, params_mem, params_file, 1.5, {1, 64, 0}, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) run_case(&cases[k]);
    test_errors();
    dw_act_clear(tanh_act);
    dw_act_clear(erf_act);
    unlink(out);
    rmdir(dir);
    return check_done("gram_ooc");
}
