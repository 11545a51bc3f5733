/* Out-of-core Grams (dw_kernel_gram_file): the file's array is dw_kernel_gram's result byte for byte, for row
 * blocks of 1 row, of fewer rows than a tile, of several tiles and of the whole matrix, for 1 and 3 threads,
 * symmetric and rectangular, each kind, every layer; the info is the in-memory one; an interrupted run (a progress
 * callback that stops) leaves the previous output untouched and resumes to the same bytes and info; a resume with
 * other inputs is refused and keeps the files; a locked output is refused; the error paths of the options. The same
 * for nets of the architecture engine (a convolution with a pool: pairs one by one; dense layers of two generic
 * activations: pairs in row blocks), whose blocks need not be whole tiles; a run in one block (no side file). */
#include "check.h"
#include "deepwick.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], out[128], partial[128], side[128];

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static dw_net *make_net(const char *spec, dw_act **act)
{
    dw_net *net = NULL;
    const double wv[] = {1.6, 2.0, 1.3}, bv[] = {0.1, 0.05, 0.2};
    CHECK(dw_act_init(act, spec) == DW_OK);
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, 2, *act, true) == DW_OK);
    CHECK(dw_net_set_weight_var(net, 3, wv) == DW_OK);
    CHECK(dw_net_set_bias_var(net, 3, bv) == DW_OK);
    return net;
}

/* The file's data (after the header) and its header's shape check; NULL if unreadable. */
static double *read_data(const char *path, size_t count)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char h[10];
    double *v = malloc(count * sizeof(double) + 1);
    size_t hl = 0;
    if (fread(h, 1, 10, f) == 10) hl = 10 + (size_t)h[8] + 256 * (size_t)h[9];
    int ok = v && hl % 64 == 0 && fseek(f, (long)hl, SEEK_SET) == 0 &&
             fread(v, sizeof(double), count, f) == count && fgetc(f) == EOF;
    fclose(f);
    if (!ok) {
        free(v);
        return NULL;
    }
    return v;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int stop_after; /* the progress callback stops the run after this many tiles (0: never) */
static double seen_total;
static int progress(void *ctx, double done, double total)
{
    (void)ctx;
    seen_total = total;
    return stop_after > 0 && done >= stop_after;
}

static void info_same(const dw_kernel_info *a, const dw_kernel_info *b)
{
    CHECK(!strcmp(dw_kernel_info_method(a), dw_kernel_info_method(b)));
    CHECK(dw_kernel_info_max_bound(a) == dw_kernel_info_max_bound(b));
    CHECK(dw_kernel_info_expectation_bound(a) == dw_kernel_info_expectation_bound(b));
    CHECK(dw_kernel_info_evaluations(a) == dw_kernel_info_evaluations(b));
    CHECK(dw_kernel_info_quadrature(a) == dw_kernel_info_quadrature(b));
    CHECK(dw_kernel_info_series_terms(a) == dw_kernel_info_series_terms(b));
    CHECK(dw_kernel_info_estimate(a) == dw_kernel_info_estimate(b));
}

static void test_bits(void)
{
    const size_t n = 100, m = 70, d = 4;
    double *X = malloc(n * d * sizeof(double)), *Y = malloc(m * d * sizeof(double));
    unsigned long long seed = 7;
    for (size_t i = 0; i < n * d; i++) X[i] = 2.0 * urand(&seed) - 1.0;
    for (size_t i = 0; i < m * d; i++) Y[i] = 2.0 * urand(&seed) - 1.0;
    for (size_t k = 0; k < d; k++) X[d + k] = X[k] + 1e-9; /* a near-duplicate pair */
    const char *acts[] = {"relu", "erf", "tanh"};
    for (size_t a = 0; a < 3; a++) {
        dw_act *act;
        dw_net *net = make_net(acts[a], &act);
        for (int sym = 0; sym < 2; sym++)
            for (int kind = 0; kind < 3; kind++)
                for (int all = 0; all < 2; all++) {
                    const bool nngp = kind != 1, ntk = kind != 0;
                    const size_t mm = sym ? n : m, L = all ? 3 : 1, one = L * n * mm, nout = nngp + ntk;
                    double *want = malloc(nout * one * sizeof(double));
                    dw_kernel_opts *o = NULL;
                    dw_kernel_info *iw = NULL, *ig = NULL;
                    CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_all_layers(o, all) == DW_OK);
                    CHECK(dw_kernel_info_init(&iw) == DW_OK && dw_kernel_info_init(&ig) == DW_OK);
                    CHECK(dw_kernel_gram(net, o, X, n, sym ? NULL : Y, mm, d, nngp ? want : NULL,
                                         ntk ? want + (nngp ? one : 0) : NULL, iw) == DW_OK);
                    double fixed, row;
                    CHECK(dw_kernel_gram_file_bytes(net, o, n, mm, nngp, ntk, &fixed, &row) == DW_OK);
                    CHECK(fixed > 0 && row >= (double)(nout * L * mm * 8));
                    const double rows[] = {1, 5, 40, 64, 1e9}; /* a row, < a tile, >= 32 (32), 64, all */
                    for (size_t b = all ? 2 : 0; b < 5; b++) { /* (blocks of 1 and 5 rows: one layer) */
                        const int threads = 1 + 2 * (int)((b + (size_t)kind + (size_t)all) % 2);
                        {
                            CHECK(dw_kernel_opts_set_threads(o, threads) == DW_OK);
                            /* the fixed part depends on the threads: query it again */
                            CHECK(dw_kernel_gram_file_bytes(net, o, n, mm, nngp, ntk, &fixed, &row) == DW_OK);
                            /* two buffers of rows[b] rows (one when all rows fit in one) */
                            CHECK(dw_kernel_opts_set_memory(o, fixed + (2 * rows[b] + 0.5) * row) == DW_OK);
                            CHECK(dw_kernel_gram_file(net, o, X, n, sym ? NULL : Y, mm, d, nngp, ntk, out, ig) ==
                                  DW_OK);
                            double *got = read_data(out, nout * one);
                            CHECK(got && !memcmp(got, want, nout * one * sizeof(double)));
                            if (rows[b] != 1 && rows[b] != 5) info_same(iw, ig); /* the same tiles */
                            CHECK(!exists(partial) && !exists(side));
                            free(got);
                            unlink(out);
                        }
                    }
                    dw_kernel_info_clear(iw);
                    dw_kernel_info_clear(ig);
                    dw_kernel_opts_clear(o);
                    free(want);
                }
        dw_net_clear(net);
        dw_act_clear(act);
    }
    free(X);
    free(Y);
}

/* Stop after some tiles, check the previous output and the kept files, resume (other memory and threads), compare. */
static void test_resume(void)
{
    const size_t n = 300, d = 3;
    double *X = malloc(n * d * sizeof(double)), *want = malloc(2 * n * n * sizeof(double));
    unsigned long long seed = 11;
    for (size_t i = 0; i < n * d; i++) X[i] = 2.0 * urand(&seed) - 1.0;
    const char *acts[] = {"relu", "tanh"};
    for (size_t a = 0; a < 2; a++) {
        dw_act *act;
        dw_net *net = make_net(acts[a], &act);
        dw_kernel_opts *o = NULL;
        dw_kernel_info *iw = NULL, *ig = NULL;
        CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_threads(o, 2) == DW_OK);
        CHECK(dw_kernel_info_init(&iw) == DW_OK && dw_kernel_info_init(&ig) == DW_OK);
        CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, want, want + n * n, iw) == DW_OK);
        double fixed, row;
        CHECK(dw_kernel_gram_file_bytes(net, o, n, n, true, true, &fixed, &row) == DW_OK);
        CHECK(dw_kernel_opts_set_memory(o, fixed + 128.5 * row) == DW_OK); /* 2 buffers of 64 rows */
        CHECK(dw_kernel_opts_set_progress(o, progress, NULL) == DW_OK);
        FILE *f = fopen(out, "wb"); /* a previous output */
        fputs("previous", f);
        fclose(f);
        stop_after = 6; /* blocks of 64 rows: 2 tile rows x 2 column tiles, 18 tiles in all: stops in block 2 */
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "cancelled") != NULL);
        char prev[16] = "";
        f = fopen(out, "rb");
        CHECK(f && fread(prev, 1, sizeof prev - 1, f) == 8 && !strcmp(prev, "previous"));
        if (f) fclose(f);
        CHECK(exists(partial) && exists(side));
        FILE *s = fopen(side, "r");
        char line[128] = "";
        size_t rows = 0;
        while (s && fgets(line, sizeof line, s))
            if (sscanf(line, "rows %zu", &rows) == 1) break;
        if (s) fclose(s);
        CHECK(rows > 0 && rows < n && rows % 64 == 0);
        /* a resume of other inputs is refused, the files kept */
        X[0] += 1.0;
        CHECK(dw_kernel_opts_set_resume(o, true) == DW_OK);
        stop_after = 0;
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "resume") != NULL);
        CHECK(exists(partial) && exists(side));
        X[0] -= 1.0;
        /* a locked output is refused */
        int fd = open(partial, O_RDWR);
        CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_IO);
        CHECK(strstr(dw_error_message(), "another run") != NULL);
        close(fd);
        /* the resume, with other blocks and threads */
        CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
        CHECK(dw_kernel_gram_file_bytes(net, o, n, n, true, true, &fixed, &row) == DW_OK);
        CHECK(dw_kernel_opts_set_memory(o, fixed + 200.5 * row) == DW_OK);
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, ig) == DW_OK);
        CHECK(seen_total > 0);
        double *got = read_data(out, 2 * n * n);
        CHECK(got && !memcmp(got, want, 2 * n * n * sizeof(double)));
        free(got);
        info_same(iw, ig); /* the statistics of the first part came from the side file */
        CHECK(!exists(partial) && !exists(side));
        /* a resume with nothing to resume starts from the beginning */
        unlink(out);
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_OK);
        got = read_data(out, 2 * n * n);
        CHECK(got && !memcmp(got, want, 2 * n * n * sizeof(double)));
        free(got);
        /* a stale partial file and side file are removed by a new start (no resume) */
        stop_after = 3;
        CHECK(dw_kernel_opts_set_resume(o, false) == DW_OK);
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
        CHECK(exists(partial) && exists(side));
        stop_after = 0;
        CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, false, true, out, NULL) == DW_OK);
        CHECK(!exists(partial) && !exists(side));
        got = read_data(out, n * n);
        CHECK(got && !memcmp(got, want + n * n, n * n * sizeof(double)));
        free(got);
        unlink(out);
        dw_kernel_info_clear(iw);
        dw_kernel_info_clear(ig);
        dw_kernel_opts_clear(o);
        dw_net_clear(net);
        dw_act_clear(act);
    }
    free(X);
    free(want);
}

static dw_net *arch_net(const char *spec, bool image)
{
    dw_net *net = NULL;
    const size_t shape[] = {2, 2, 2};
    CHECK(dw_net_init(&net) == DW_OK);
    if (image) CHECK(dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_parse(net, spec) == DW_OK);
    return net;
}

static void test_arch(void)
{
    const size_t n = 45, m = 20, d = 8, nn = n * n;
    double *X = malloc(n * d * sizeof(double)), *Y = malloc(m * d * sizeof(double));
    double *want = malloc(2 * nn * sizeof(double));
    unsigned long long seed = 5;
    for (size_t i = 0; i < n * d; i++) X[i] = 2.0 * urand(&seed) - 1.0;
    for (size_t i = 0; i < m * d; i++) Y[i] = 2.0 * urand(&seed) - 1.0;
    const char *specs[] = {"conv(2x2, same, W_std=1.4, b_std=0.1); relu; avgpool(2x2); flatten; dense(W_std=1.2)",
                           "dense(W_std=1.3, b_std=0.2); tanh; dense(W_std=1.1); relu; dense()"};
    dw_kernel_info *iw = NULL, *ig = NULL;
    CHECK(dw_kernel_info_init(&iw) == DW_OK && dw_kernel_info_init(&ig) == DW_OK);
    for (int a = 0; a < 2; a++) {
        dw_net *net = arch_net(specs[a], a == 0);
        for (int sym = 0; sym < 2; sym++)
            for (int kind = a ? 2 : 0; kind < 3; kind++) { /* the generic net (slow under ASan): both kinds only */
                const bool nngp = kind != 1, ntk = kind != 0;
                const size_t mm = sym ? n : m, one = n * mm, nout = nngp + ntk;
                dw_kernel_opts *o = NULL;
                CHECK(dw_kernel_opts_init(&o) == DW_OK);
                CHECK(dw_kernel_gram(net, o, X, n, sym ? NULL : Y, mm, d, nngp ? want : NULL,
                                     ntk ? want + (nngp ? one : 0) : NULL, iw) == DW_OK);
                const double rows[] = {1, 7, 1e9};
                for (size_t b = 0; b < 3; b++) {
                    double fixed, row;
                    CHECK(dw_kernel_opts_set_threads(o, 1 + 2 * (int)((b + (size_t)kind) % 2)) == DW_OK);
                    CHECK(dw_kernel_gram_file_bytes(net, o, n, mm, nngp, ntk, &fixed, &row) == DW_OK);
                    CHECK(row == (double)(nout * mm * 8));
                    CHECK(dw_kernel_opts_set_memory(o, fixed + (2 * rows[b] + 0.5) * row) == DW_OK);
                    CHECK(dw_kernel_gram_file(net, o, X, n, sym ? NULL : Y, mm, d, nngp, ntk, out, ig) == DW_OK);
                    double *got = read_data(out, nout * one);
                    CHECK(got && !memcmp(got, want, nout * one * sizeof(double)));
                    info_same(iw, ig);
                    CHECK(!exists(partial) && !exists(side));
                    free(got);
                    unlink(out);
                }
                dw_kernel_opts_clear(o);
            }
        dw_net_clear(net);
    }
    /* stop in the second block of 8 rows (blocks of 332 and 268 pairs), resume with other blocks and threads */
    dw_net *net = arch_net(specs[0], true);
    dw_net *other = arch_net("conv(2x2, same, W_std=1.4, b_std=0.1); relu; avgpool(2x2); flatten; dense(W_std=1.3)", true);
    dw_kernel_opts *o = NULL;
    double fixed, row;
    CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, want, want + nn, iw) == DW_OK);
    CHECK(dw_kernel_gram_file_bytes(net, o, n, n, true, true, &fixed, &row) == DW_OK);
    CHECK(dw_kernel_opts_set_memory(o, fixed + 16.5 * row) == DW_OK);
    CHECK(dw_kernel_opts_set_progress(o, progress, NULL) == DW_OK);
    stop_after = 500;
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "cancelled") != NULL);
    CHECK(!exists(out) && exists(partial) && exists(side) && seen_total == (double)(n * (n + 1) / 2));
    stop_after = 0;
    CHECK(dw_kernel_opts_set_resume(o, true) == DW_OK);
    CHECK(dw_kernel_gram_file(other, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "resume") != NULL && exists(partial) && exists(side));
    CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_kernel_gram_file_bytes(net, o, n, n, true, true, &fixed, &row) == DW_OK);
    CHECK(dw_kernel_opts_set_memory(o, fixed + 10.5 * row) == DW_OK);
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, ig) == DW_OK);
    double *got = read_data(out, 2 * nn);
    CHECK(got && !memcmp(got, want, 2 * nn * sizeof(double)));
    info_same(iw, ig); /* the rows' statistics of the first part came from the side file */
    CHECK(!exists(partial) && !exists(side));
    free(got);
    unlink(out);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_net_clear(other);
    dw_kernel_info_clear(iw);
    dw_kernel_info_clear(ig);
    free(X);
    free(Y);
    free(want);
}

/* One block of every row (the memory holds the whole result): written in one sequential pass with no side file (the
 * progress callback never sees one), the bytes of dw_kernel_gram; a resume of an interrupted block-by-block run
 * continues from its rows although the memory now holds every row; an interrupted one-block run leaves the previous
 * output and no side file, and a resume of it starts again. */
static int side_seen;
static int progress_side(void *ctx, double done, double total)
{
    side_seen |= exists(side);
    return progress(ctx, done, total);
}

static void test_whole(void)
{
    const size_t n = 300, d = 3;
    double *X = malloc(n * d * sizeof(double)), *want = malloc(2 * n * n * sizeof(double)), *got;
    unsigned long long seed = 5;
    for (size_t i = 0; i < n * d; i++) X[i] = 2.0 * urand(&seed) - 1.0;
    dw_act *act;
    dw_net *net = make_net("erf", &act);
    dw_kernel_opts *o = NULL;
    dw_kernel_info *iw = NULL, *ig = NULL;
    CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_kernel_info_init(&iw) == DW_OK && dw_kernel_info_init(&ig) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, want, want + n * n, iw) == DW_OK);
    CHECK(dw_kernel_opts_set_progress(o, progress_side, NULL) == DW_OK);
    double fixed, row;
    CHECK(dw_kernel_gram_file_bytes(net, o, n, n, true, true, &fixed, &row) == DW_OK);
    const double all = fixed + (n + 0.5) * row;
    side_seen = 0;
    stop_after = 0;
    CHECK(dw_kernel_opts_set_memory(o, all) == DW_OK);
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, ig) == DW_OK);
    CHECK((got = read_data(out, 2 * n * n)) && !memcmp(got, want, 2 * n * n * sizeof(double)));
    free(got);
    info_same(iw, ig);
    CHECK(!side_seen && !exists(partial) && !exists(side));
    /* interrupted in blocks of 64 rows, resumed with memory for every row */
    CHECK(dw_kernel_opts_set_memory(o, fixed + 128.5 * row) == DW_OK);
    stop_after = 6;
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
    CHECK(exists(partial) && exists(side));
    CHECK(dw_kernel_opts_set_memory(o, all) == DW_OK && dw_kernel_opts_set_resume(o, true) == DW_OK);
    stop_after = 0;
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, ig) == DW_OK);
    CHECK((got = read_data(out, 2 * n * n)) && !memcmp(got, want, 2 * n * n * sizeof(double)));
    free(got);
    info_same(iw, ig);
    CHECK(!exists(partial) && !exists(side));
    /* a one-block run interrupted: the previous output stays, no side file; the resume starts again */
    FILE *f = fopen(out, "wb");
    fputs("previous", f);
    fclose(f);
    CHECK(dw_kernel_opts_set_resume(o, false) == DW_OK && dw_kernel_opts_set_threads(o, 1) == DW_OK);
    side_seen = 0;
    stop_after = 1; /* one thread: the progress is called after every tile (with two, the caller may take none) */
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_ERR_INVALID);
    char prev[16] = "";
    CHECK((f = fopen(out, "rb")) && fread(prev, 1, sizeof prev - 1, f) == 8 && !strcmp(prev, "previous"));
    if (f) fclose(f);
    CHECK(!side_seen && !exists(side));
    CHECK(dw_kernel_opts_set_resume(o, true) == DW_OK);
    stop_after = 0;
    CHECK(dw_kernel_gram_file(net, o, X, n, NULL, n, d, true, true, out, NULL) == DW_OK);
    CHECK((got = read_data(out, 2 * n * n)) && !memcmp(got, want, 2 * n * n * sizeof(double)));
    free(got);
    CHECK(!side_seen && !exists(partial) && !exists(side));
    unlink(out);
    dw_kernel_info_clear(iw);
    dw_kernel_info_clear(ig);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    free(X);
    free(want);
}

static void test_errors(void)
{
    const double X[6] = {0.1, 0.2, 0.3, -0.4, 0.5, 0.6}, Xnan[6] = {0.1, 0.2, NAN, -0.4, 0.5, 0.6};
    dw_act *act;
    dw_net *net = make_net("relu", &act);
    dw_kernel_opts *o = NULL;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_memory(NULL, 1e6) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_resume(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_progress(NULL, progress, NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_memory(o, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "memory"));
    CHECK(dw_kernel_opts_set_memory(o, NAN) == DW_ERR_INVALID);
    CHECK(dw_kernel_opts_set_memory(o, 0) == DW_OK);
    double fixed, row;
    CHECK(dw_kernel_gram_file_bytes(net, o, 2, 2, true, false, NULL, &row) == DW_ERR_INVALID);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, false, false, out, NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, true, false, NULL, NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, true, false, "", NULL) == DW_ERR_INVALID);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, true, false, dir, NULL) == DW_ERR_IO);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, true, false, "/nonexistent-dir/K.npy", NULL) == DW_ERR_IO);
    CHECK(dw_kernel_gram_file(net, o, Xnan, 2, NULL, 2, 3, true, false, out, NULL) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite") != NULL);
    CHECK(dw_kernel_opts_set_memory(o, 1000) == DW_OK);
    CHECK(dw_kernel_gram_file(net, o, X, 2, NULL, 2, 3, true, false, out, NULL) == DW_ERR_NOMEM);
    CHECK(strstr(dw_error_message(), "memory: ") != NULL && strstr(dw_error_message(), "give at least"));
    CHECK(!exists(out) && !exists(partial) && !exists(side));
    /* an overflow (found by the plan) leaves no file */
    const double big[1] = {1e200};
    CHECK(dw_kernel_gram_file_bytes(net, o, 1, 1, true, false, &fixed, &row) == DW_OK);
    CHECK(dw_kernel_opts_set_memory(o, fixed + 1.5 * row) == DW_OK);
    CHECK(dw_kernel_gram_file(net, o, big, 1, NULL, 1, 1, true, false, out, NULL) == DW_ERR_RANGE);
    CHECK(!exists(out) && !exists(partial) && !exists(side));
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dw_ooc_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(out, sizeof out, "%s/K.npy", dir);
    snprintf(partial, sizeof partial, "%s/.K.npy.deepwick-partial", dir);
    snprintf(side, sizeof side, "%s/.K.npy.deepwick-resume", dir);
    test_bits();
    test_resume();
    test_whole();
    test_errors();
    test_arch();
    unlink(out);
    rmdir(dir);
    return check_done("kernel_ooc");
}
