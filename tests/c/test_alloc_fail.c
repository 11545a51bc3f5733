/* Every public entry point under allocation failure: for each scenario, count its allocations, then fail each one in
 * turn (k = 1..count). Each run must return DW_OK (an allocation it can do without) or DW_ERR_NOMEM with a message,
 * never crash, leave no live block behind once the scenario has freed its results, and leave no output file.
 * Runs single-threaded so that the k-th allocation is the same one every time. Under ASan the same sweep also
 * catches use of a NULL block and any leak at exit. */
#include "alloc_fail.h"
#include "check.h"
#include "deepwick.h"
#include "kernels/ooc_part.h"
#include "sample/sample.h"
#include "predict/predict.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef dw_status (*scenario_fn)(void);

static char tmpdir[256];

static dw_status sc_act(void)
{
    static const char *specs[] = {"relu", "leaky_relu:0.1", "poly:0,1,0.5", "tanh", "max(z, 0.1*z)",
                                  "z*sigmoid(1.702*z) + sin(z)^2", "erf", "gelu"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        dw_act *a;
        dw_status s = dw_act_init(&a, specs[i]);
        if (s) return s;
        double v, vd, b, bd;
        s = dw_act_dual_bound(a, 1.3, 0.7, 0.4, 1e-10, &v, &vd, &b, &bd, NULL);
        if (!s) s = dw_act_dual(a, 1.0, 1.0, 0.999999, &v, &vd);
        dw_act_clear(a);
        if (s) return s;
    }
    return DW_OK;
}

static dw_status sc_net(void)
{
    dw_act *a;
    dw_status s = dw_act_init(&a, "relu");
    if (s) return s;
    dw_net *n;
    if ((s = dw_net_init(&n))) {
        dw_act_clear(a);
        return s;
    }
    const double wv[4] = {2, 1, 1.5, 1}, w[3] = {10, 20, 30};
    if (!s) s = dw_net_set_fc(n, 3, a, true);
    if (!s) s = dw_net_set_weight_var(n, 4, wv);
    if (!s) s = dw_net_set_widths(n, 3, w);
    if (!s) s = dw_net_add_act(n, a);
    if (!s) s = dw_net_add_dense(n, 1, 0, 5);
    if (!s) s = dw_net_set_law(n, "sparse:0.5");
    if (!s && !dw_net_describe(n)[0]) s = DW_ERR_INTERNAL;
    dw_net_clear(n);
    dw_act_clear(a);
    return s;
}

/* The text spelling: parse (activations owned by the net, branches copied), the canonical spelling, a failed parse
 * (the net unchanged, the temporary net freed), and the Gram of a parsed spatial net. */
static dw_status sc_net_spec(void)
{
    dw_net *n;
    dw_status s = dw_net_init(&n);
    if (s) return s;
    const size_t shape[2] = {3, 2};
    s = dw_net_set_input_shape(n, 2, shape);
    if (!s) s = dw_net_parse(n, "conv(2, same, W_std=1.2, b_std=0.1); relu; residual(conv(3, circular); "
                                "erf; conv(1), branch_scale=0.5); fanout(3); parallel(dense(W_var=2); "
                                "poly:0,1,0.5; dense | scale(2) | dense(W_var=0.5); act(identity); dense); faninsum; avgpool(2, padding=same); "
                                "flatten; dense(W_var=1.5, b_var=0.1)");
    const size_t layers = dw_net_layers(n);
    if (!s) { /* a refused spelling (after allocations) leaves the net as it was */
        dw_status r = dw_net_parse(n, "relu; parallel(erf | dense(W_std=-1))");
        if (r == DW_ERR_NOMEM) s = r;
        else if (r != DW_ERR_INVALID || dw_net_layers(n) != layers) s = DW_ERR_INTERNAL;
    }
    const char *spec = s ? NULL : dw_net_spec(n);
    if (!s && !spec) s = DW_ERR_NOMEM;
    dw_net *m = NULL;
    if (!s) s = dw_net_init(&m);
    if (!s) s = dw_net_set_input_shape(m, 2, shape);
    if (!s) s = dw_net_parse(m, spec);
    const double X[2 * 6] = {0.1, -0.3, 0.5, 0.2, -0.7, 0.4, 0.3, 0.3, -0.2, 0.6, 0.1, -0.5};
    double K[4], T[4];
    if (!s) s = dw_kernel_gram(m, NULL, X, 2, NULL, 2, 6, K, T, NULL);
    dw_net_clear(m);
    dw_net_clear(n);
    if (s) return s;
    /* an expression's spelling (not computed: the generic route is slow under the sweep) */
    if ((s = dw_net_init(&n))) return s;
    s = dw_net_parse(n, "dense; z*sigmoid(1.702*z); parallel(max(z, 0.1*z) | leaky_relu:0.1)");
    if (!s && !dw_net_spec(n)) s = DW_ERR_NOMEM;
    dw_net_clear(n);
    return s;
}

static dw_status sc_io(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m.npy", tmpdir);
    const double data[6] = {1, 2, 3, 4, 5, 6};
    const size_t shape[2] = {2, 3};
    dw_status s = dw_io_write_npy(path, data, 2, shape);
    if (s) return s;
    dw_matrix m;
    dw_matrix_init(&m);
    s = dw_io_read_matrix(&m, path);
    dw_matrix_clear(&m);
    remove(path);
    if (s) return s;
    const char csv[] = "a,b\n1,2\n3,4\n";
    s = dw_io_parse_csv(&m, csv, sizeof csv - 1, "mem.csv");
    dw_matrix_clear(&m);
    if (s) return s;
    snprintf(path, sizeof path, "%s/t.json", tmpdir);
    s = dw_io_write_text(path, "{}\n", 3);
    remove(path);
    return s;
}

/* A fully connected net of the given depth and activation (caller frees both), or a status. */
static dw_status make_net(dw_net **net, dw_act **act, const char *spec, int depth, bool readout, double width)
{
    *net = NULL;
    *act = NULL;
    dw_status s = dw_act_init(act, spec);
    if (!s) s = dw_net_init(net);
    if (!s) s = dw_net_set_fc(*net, depth, *act, readout);
    const double wv = 1.7, bv = 0.1;
    if (!s) s = dw_net_set_weight_var(*net, 1, &wv);
    if (!s) s = dw_net_set_bias_var(*net, 1, &bv);
    if (!s && width > 0) s = dw_net_set_widths(*net, 1, &width);
    return s;
}

static const double PTS[4 * 3] = {0.3, -1.2, 0.8, 1.1, 0.4, -0.5, -0.7, 0.9, 0.2, 0.31, -1.19, 0.8};

/* One activation per sweep: a scenario's cost is (its allocations) x (its work), so sweeping the activations apart
 * costs the sum of the parts instead of the product of the sums. */
static const char *kernel_act;

/* The symmetric Gram and the rectangular one are swept apart: each run of a sweep repeats the work before the failing
 * allocation, so a sweep over both calls would redo the whole symmetric Gram for every allocation of the second. */
static int kernel_rect;

static dw_status sc_kernels(void)
{
    dw_net *net;
    dw_act *act;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    double K[4 * 4], T[4 * 4];
    dw_status s = make_net(&net, &act, kernel_act, 1, true, 0);
    if (!s) s = dw_kernel_opts_init(&o);
    if (!s) s = dw_kernel_opts_set_threads(o, 1);
    if (!s) s = dw_kernel_info_init(&info);
    if (!s && !kernel_rect) s = dw_kernel_gram(net, o, PTS, 4, NULL, 4, 3, K, T, info);
    if (!s && kernel_rect) s = dw_kernel_gram(net, o, PTS, 2, PTS + 6, 2, 3, K, T, NULL);
    /* a symmetric plan's tile reaching below the diagonal beyond its columns (mirrors computed into scratch) */
    dw_kernel_plan *p = NULL;
    if (!s && !kernel_rect) s = dw_kernel_plan_init(&p, net, o, PTS, 4, NULL, 4, 3);
    if (!s && !kernel_rect) s = dw_kernel_tile(p, 2, 4, 0, 3, K, T, 3, 6);
    dw_kernel_plan_clear(p);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static dw_status sc_finite(void)
{
    dw_net *net;
    dw_act *act;
    dw_finite_opts *o = NULL;
    dw_finite_info *info = NULL;
    double out[DW_FW_COUNT * 4 * 4];
    dw_status s = make_net(&net, &act, kernel_act, 2, true, 0);
    if (!s) s = dw_finite_opts_init(&o);
    if (!s) s = dw_finite_opts_set_threads(o, 1);
    if (!s) s = dw_finite_info_init(&info);
    static const double X[3 * 3] = {0.3, -1.2, 0.8, 1.1, 0.4, -0.5, -0.7, 0.9, 0.2}; /* no nearly parallel pair */
    if (!s) s = dw_finite_gram(net, o, X, 3, NULL, 3, 3, out, info);
    if (!s) s = dw_finite_gram(net, o, X, 1, X + 3, 2, 3, out, NULL);
    /* rows 1e-10 apart: the relu family's degenerate limit (its scratch vector) */
    static const double Xn[2 * 3] = {0.3, -1.2, 0.8, 0.3, -1.2, 0.8000000001};
    if (!s) s = dw_finite_gram(net, o, Xn, 2, NULL, 2, 3, out, NULL);
    dw_finite_info_clear(info);
    dw_finite_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* The out-of-core Gram: a symmetric and a rectangular one in several row blocks (memory for a few rows). */
static dw_status sc_kernels_file(void)
{
    dw_net *net;
    dw_act *act;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/K.npy", tmpdir);
    double X[40 * 3];
    for (size_t i = 0; i < 40 * 3; i++) X[i] = PTS[i % 12] + 0.01 * (double)i;
    dw_status s = make_net(&net, &act, kernel_act, 1, true, 0);
    if (!s) s = dw_kernel_opts_init(&o);
    if (!s) s = dw_kernel_opts_set_threads(o, 1);
    double fixed = 0, row = 0;
    if (!s) s = dw_kernel_gram_file_bytes(net, o, 40, 40, true, true, &fixed, &row);
    if (!s) s = dw_kernel_opts_set_memory(o, fixed + 12.5 * row); /* blocks of 12 rows */
    if (!s) s = dw_kernel_info_init(&info);
    if (!s) s = dw_kernel_gram_file(net, o, X, 40, NULL, 40, 3, true, true, path, info);
    if (!s) s = dw_kernel_gram_file(net, o, X, 40, X + 9, 30, 3, false, true, path, NULL);
    unlink(path);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* The other out-of-core Grams (kernels/ooc_rows.c): a signature-kernel and a neural-signature-kernel Gram in two
 * blocks of rows, a given network's NTK and cross NNGP Gram, sampled networks' reduced NTK (fully connected and an
 * architecture) and an architecture's network by its parameters (blocks of whole tiles: one here). */
static dw_status sc_grams_file(void)
{
    double P[7 * 4 * 2];
    for (size_t i = 0; i < 7 * 4 * 2; i++) P[i] = 0.1 * (double)((i * 7) % 11) - 0.4;
    char path[300];
    snprintf(path, sizeof path, "%s/G.npy", tmpdir);
    dw_file_opts *fo = NULL;
    dw_sig_kernel_opts *ko = NULL;
    dw_sig_nsk_opts *no = NULL;
    dw_sample_opts *so = NULL;
    dw_net *net = NULL;
    dw_act *act = NULL;
    dw_status s = dw_file_opts_init(&fo);
    if (!s) s = dw_file_opts_set_max_rows(fo, 3);
    if (!s) s = dw_sig_kernel_opts_init(&ko);
    if (!s) s = dw_sig_kernel_opts_set_threads(ko, 1);
    if (!s) s = dw_sig_kernel_gram_file(ko, P, 5, 4, NULL, 5, 4, 2, path, fo);
    if (!s) s = dw_act_init(&act, "erf");
    if (!s) s = dw_sig_nsk_opts_init(&no);
    if (!s) s = dw_sig_nsk_opts_set_act(no, act);
    if (!s) s = dw_sig_nsk_opts_set_threads(no, 1);
    if (!s) s = dw_sig_nsk_gram_file(no, P, 5, 4, NULL, 5, 4, 2, path, fo);
    const double W1[4 * 3] = {1, 0.5, -0.3, 0.2, -1, 0.4, 0.7, 0.1, 0.9, -0.6, 0.3, 0.2}, W2[4] = {0.5, -0.2, 0.3, 1};
    const double *W[2] = {W1, W2}, *b[2] = {NULL, NULL};
    const size_t wd[3] = {3, 4, 1};
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_set_given(net, act, 2, wd, W, b, true);
    if (!s) s = dw_sample_opts_init(&so);
    if (!s) s = dw_sample_opts_set_threads(so, 1);
    if (!s) s = dw_sample_network_gram_file(net, so, PTS, 4, NULL, 0, 3, DW_SAMPLE_NTK, path, fo);
    if (!s) s = dw_sample_network_gram_file(net, so, PTS, 4, PTS + 3, 2, 3, DW_SAMPLE_NNGP, path, fo);
    /* sampled networks, reduced */
    const double hw[1] = {4};
    if (!s) s = dw_net_set_fc(net, 1, act, true);
    if (!s) s = dw_net_set_widths(net, 1, hw);
    if (!s) s = dw_sample_opts_set_reduce(so, true);
    if (!s) s = dw_sample_run_file(net, so, PTS, 4, 3, 2, DW_SAMPLE_NTK, NULL, path, fo);
    /* an architecture's sampled networks, and one network of its parameter vector (X, X and X, Y) */
    dw_net *an = NULL;
    const size_t ashape[2] = {3, 1};
    double theta[64];
    size_t np = 0;
    if (!s) s = dw_net_init(&an);
    if (!s) s = dw_net_parse(an, "conv(3, same, out_chan=2); tanh; flatten; dense(out_dim=1)");
    if (!s) s = dw_net_set_input_shape(an, 2, ashape);
    if (!s) s = dw_sample_run_file(an, so, PTS, 4, 3, 2, DW_SAMPLE_NTK, NULL, path, fo);
    if (!s) s = dw_sample_params_size(an, so, 3, &np, NULL);
    if (!s && np > 64) s = dw_fail(DW_ERR_INVALID, "test: %zu parameters", np);
    if (!s) s = dw_sample_params(an, so, 3, theta, np);
    if (!s) s = dw_sample_params_gram_file(an, so, theta, np, PTS, 4, NULL, 0, 3, DW_SAMPLE_NTK, path, fo);
    if (!s) s = dw_sample_params_gram_file(an, so, theta, np, PTS, 3, PTS + 9, 1, 3, DW_SAMPLE_NNGP, path, fo);
    dw_net_clear(an);
    unlink(path);
    dw_sample_opts_clear(so);
    dw_net_clear(net);
    dw_sig_nsk_opts_clear(no);
    dw_act_clear(act);
    dw_sig_kernel_opts_clear(ko);
    dw_file_opts_clear(fo);
    return s;
}

/* Distributed runs' library side (deepwick-mpi): both parts of a Gram in blocks, a sampling run split into one part
 * (the exchange a copy) in batches of two networks, and CG kernel regression with its products split likewise. */
static dw_status one_part(void *ctx, dw_status st, const double *mine, double *all, const size_t *counts, size_t rec)
{
    (void)ctx;
    if (!st) memcpy(all, mine, counts[0] * rec * sizeof(double));
    return st;
}

static dw_status sc_dist(void)
{
    dw_net *net;
    dw_act *act;
    dw_kernel_opts *o = NULL;
    dw_sample_opts *so = NULL;
    double X[40 * 3], fixed = 0, row = 0, G[16], Gse[16];
    for (size_t i = 0; i < 40 * 3; i++) X[i] = PTS[i % 12] + 0.01 * (double)i;
    dw_status s = make_net(&net, &act, "erf", 1, true, 16);
    if (!s) s = dw_kernel_opts_init(&o);
    if (!s) s = dw_kernel_opts_set_threads(o, 1);
    if (!s) s = dw_kernel_gram_file_bytes(net, o, 40, 40, true, true, &fixed, &row);
    if (!s) s = dw_kernel_opts_set_memory(o, fixed + 3 * 12.5 * row); /* blocks of 12 rows */
    for (int k = 0; k < 2 && !s; k++) {
        dw_gram_part *g = NULL;
        dw_gram_pieces pc;
        s = dw_gram_part_init(&g, net, o, X, 40, NULL, 40, 3, true, true, "/nonexistent/K.npy", k, 2);
        for (size_t b = 0; !s && b < dw_gram_part_blocks(g); b++) s = dw_gram_part_block(g, b, &pc);
        dw_gram_part_clear(g);
    }
    const dw_sample_split split = {0, 1, 2, one_part, NULL};
    if (!s) s = dw_sample_opts_init(&so);
    if (!s) s = dw_sample_opts_set_threads(so, 1);
    if (!s) s = dw_sample_opts_set_reduce(so, true);
    if (!s) s = dw_sample_opts_set_split(so, &split);
    if (!s) s = dw_sample_run(net, so, PTS, 4, 3, 3, DW_SAMPLE_NTK, NULL, G, Gse);
    dw_predict_opts *po = NULL; /* CG's products split */
    if (!s) s = dw_predict_opts_init(&po);
    if (!s) s = dw_predict_opts_set_solver(po, "cg");
    if (!s) s = dw_predict_opts_set_threads(po, 1);
    if (!s) s = dw_predict_opts_set_diag_reg(po, 1e-2);
    if (!s) s = dw_predict_opts_set_split(po, &split);
    if (!s) s = dw_predict_regress(net, po, X, 40, X + 3, 1, PTS, 4, 3, G, NULL, NULL);
    dw_predict_opts_clear(po);
    dw_sample_opts_clear(so);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static dw_status sc_sample(void)
{
    dw_net *net;
    dw_act *act;
    dw_sample_opts *o = NULL;
    double G[4 * 4], Gse[4 * 4], F[3 * 4];
    dw_status s = make_net(&net, &act, "tanh", 2, true, 16);
    if (!s) s = dw_sample_opts_init(&o);
    if (!s) s = dw_sample_opts_set_threads(o, 1);
    if (!s) s = dw_sample_opts_set_reduce(o, true);
    if (!s) s = dw_sample_run(net, o, PTS, 4, 3, 3, DW_SAMPLE_NTK, NULL, G, Gse);
    if (!s) s = dw_net_set_law(net, "orthogonal");
    if (!s) s = dw_sample_opts_set_reduce(o, false);
    if (!s) s = dw_sample_run(net, o, PTS, 4, 3, 1, DW_SAMPLE_NNGP, F, G, NULL);
    if (!s) s = dw_net_set_law(net, "gaussian");
    const size_t widths[2] = {8, 16};
    double per[2 * DW_SAMPLE_WIDTH_COLS], fit[DW_SAMPLE_FIT_LEN];
    if (!s) s = dw_sample_converge(net, o, PTS, 4, 3, DW_SAMPLE_NNGP, 2, widths, 2, per, fit);
    /* a given network */
    const double W1[4 * 3] = {1, 0.5, -0.3, 0.2, -1, 0.4, 0.7, 0.1, 0.9, -0.6, 0.3, 0.2}, W2[4] = {0.5, -0.2, 0.3, 1};
    const double b1[4] = {0.1, 0, -0.1, 0.2};
    const double *W[2] = {W1, W2}, *b[2] = {b1, NULL};
    const size_t wd[3] = {3, 4, 1};
    if (!s) s = dw_net_set_given(net, act, 2, wd, W, b, true);
    if (!s) s = dw_sample_network_gram(net, o, PTS, 4, NULL, 0, 3, DW_SAMPLE_NTK, G);
    if (!s) s = dw_sample_forward(net, o, PTS, 4, 3, F);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* Finite networks of the architectures (src/sample/arch_*.c): conv > residual > erf > avgpool > flatten > dense with
 * train-mode dropout, sampled runs (NTK reduced, outputs), the convergence study, the parameter calls. */
static dw_status sc_sample_arch(void)
{
    dw_net *net = NULL, *br = NULL;
    dw_act *act = NULL;
    dw_sample_opts *o = NULL;
    double X[4 * 12], G[16], Gse[16], F[2 * 4 * 2], th[256];
    for (size_t i = 0; i < 48; i++) X[i] = sin(0.9 * (double)i);
    const size_t shape[2] = {6, 2}, f3 = 3, w2 = 2;
    dw_status s = dw_act_init(&act, "erf"); /* closed-form duals: the limit of converge is cheap */
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_init(&br);
    if (!s) s = dw_net_set_input_shape(net, 2, shape);
    if (!s) s = dw_net_add_conv(net, 1, &f3, NULL, DW_PAD_SAME, 1.5, 0.1, 3);
    if (!s) s = dw_net_add_conv(br, 1, &f3, NULL, DW_PAD_SAME, 1.2, 0.1, 3);
    if (!s) s = dw_net_add_act(br, act);
    if (!s) s = dw_net_add_conv(br, 1, &f3, NULL, DW_PAD_CIRCULAR, 1.2, 0.0, 3);
    if (!s) s = dw_net_add_residual(net, br, 1.0, 0.5);
    if (!s) s = dw_net_add_act(net, act);
    if (!s) s = dw_net_add_pool(net, true, 1, &w2, NULL, DW_PAD_VALID, false);
    if (!s) s = dw_net_add_dropout(net, 0.9, true);
    if (!s) s = dw_net_add_flatten(net);
    if (!s) s = dw_net_add_dense(net, 1.0, 0.1, 2);
    if (!s) s = dw_sample_opts_init(&o);
    if (!s) s = dw_sample_opts_set_threads(o, 2);
    if (!s) s = dw_sample_opts_set_reduce(o, true);
    if (!s) s = dw_sample_run(net, o, X, 4, 12, 3, DW_SAMPLE_NTK, NULL, G, Gse);
    if (!s) s = dw_sample_opts_set_reduce(o, false);
    if (!s) s = dw_sample_run(net, o, X, 4, 12, 2, DW_SAMPLE_NO_GRAM, F, NULL, NULL);
    const size_t widths[2] = {3, 5};
    double per[2 * DW_SAMPLE_WIDTH_COLS], fit[DW_SAMPLE_FIT_LEN];
    if (!s) s = dw_sample_converge(net, o, X, 4, 12, DW_SAMPLE_NNGP, 2, widths, 2, per, fit);
    size_t np = 0, dout = 0;
    if (!s) s = dw_sample_params_size(net, o, 12, &np, &dout);
    if (!s && np > 256) s = DW_ERR_INVALID; /* the buffer th is too small */
    if (!s) s = dw_sample_params(net, o, 12, th, np);
    if (!s) s = dw_sample_apply(net, o, th, np, X, 4, 12, F);
    if (!s) s = dw_sample_params_gram(net, o, th, np, X, 2, X + 24, 2, 12, DW_SAMPLE_NTK, G);
    if (!s) s = dw_sample_forward(net, o, X, 4, 12, F);
    if (!s) s = dw_sample_network_gram(net, o, X, 4, NULL, 0, 12, DW_SAMPLE_NTK, G);
    dw_sample_opts_clear(o);
    dw_net_clear(br);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static dw_status sc_spectrum(void)
{
    static const char *specs[] = {"relu", "erf", "tanh"};
    dw_status s = DW_OK;
    for (size_t a = 0; a < sizeof specs / sizeof specs[0] && !s; a++) {
        dw_net *net;
        dw_act *act;
        dw_spectrum *sp = NULL;
        dw_spectrum_exact *ex = NULL;
        dw_spectrum_sample_opts *so = NULL;
        double m[6], se[6], t[3] = {0.1, 0.5, 1.5}, rho[3];
        s = make_net(&net, &act, specs[a], 2, false, 0);
        if (!s) s = dw_spectrum_init(&sp, net, NULL);
        if (!s) s = dw_spectrum_moments(sp, 4, DW_SPECTRUM_ROUTE_S, m);
        if (!s) s = dw_spectrum_moments(sp, 4, DW_SPECTRUM_ROUTE_NC, m);
        if (!s) s = dw_spectrum_density(sp, 3, t, rho);
        if (!s && a == 0) s = dw_spectrum_exact_init(&ex, sp, 3, DW_SPECTRUM_ROUTE_S);
        const double N = 12;
        if (!s) s = dw_net_set_widths(net, 1, &N);
        if (!s) s = dw_spectrum_sample_opts_init(&so);
        if (!s) s = dw_spectrum_sample_opts_set_threads(so, 1);
        if (!s) s = dw_spectrum_sample_opts_set_samples(so, 2);
        if (!s) s = dw_spectrum_sample_law(net, so, 7, m, se, NULL);
        dw_spectrum_sample_opts_clear(so);
        dw_spectrum_exact_clear(ex);
        dw_spectrum_clear(sp);
        dw_net_clear(net);
        dw_act_clear(act);
    }
    return s;
}

/* Act-first residual blocks: the grid route with its error estimate, the report, finite networks (SVD, Hutchinson). */
static dw_status sc_spectrum_actfirst(void)
{
    dw_act *act = NULL;
    dw_net *net = NULL, *br = NULL;
    dw_spectrum *sp = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum_report *r = NULL;
    dw_spectrum_sample_opts *so = NULL;
    double m[2], err[2], sm[2], sse[2];
    dw_status s = dw_act_init(&act, "relu");
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_init(&br);
    if (!s) s = dw_net_add_act(br, act);
    if (!s) s = dw_net_add_dense(br, 1.5, 0.1, 6);
    if (!s) s = dw_net_add_residual(net, br, 1.0, 0.5); /* one block reaches every allocation */
    if (!s) s = dw_spectrum_opts_init(&o);
    if (!s) s = dw_spectrum_opts_set_kmax(o, 2);
    if (!s) s = dw_spectrum_init(&sp, net, o);
    if (!s) s = dw_spectrum_moments_error(sp, 2, DW_SPECTRUM_ROUTE_NC, m, err);
    if (!s) s = dw_spectrum_report_init(&r, net, o, 2);
    if (!s && !dw_spectrum_report_json(r)) s = DW_ERR_NOMEM;
    if (!s) s = dw_spectrum_sample_opts_init(&so);
    if (!s) s = dw_spectrum_sample_opts_set_threads(so, 1);
    if (!s) s = dw_spectrum_sample_opts_set_samples(so, 2);
    if (!s) s = dw_spectrum_sample_opts_set_K(so, 2);
    if (!s) s = dw_spectrum_sample_law(net, so, 7, sm, sse, NULL);
    if (!s) s = dw_spectrum_sample_opts_set_probes(so, 2);
    if (!s) s = dw_spectrum_sample_law(net, so, 7, sm, sse, NULL);
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_report_clear(r);
    dw_spectrum_clear(sp);
    dw_spectrum_opts_clear(o);
    dw_net_clear(br);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static dw_status sc_spectrum_residual(void)
{
    dw_act *act = NULL;
    dw_net *net = NULL, *br = NULL;
    dw_spectrum *sp = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum_report *r = NULL;
    double m[5];
    dw_status s = dw_act_init(&act, "tanh");
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_init(&br);
    if (!s) s = dw_net_add_dense(br, 1.5, 0.1, 0);
    if (!s) s = dw_net_add_act(br, act);
    for (int l = 0; l < 2 && !s; l++) s = dw_net_add_residual(net, br, 1.0, 0.5);
    if (!s) s = dw_spectrum_opts_init(&o);
    if (!s) s = dw_spectrum_opts_set_kmax(o, 5);
    if (!s) s = dw_spectrum_init(&sp, net, o);
    if (!s) s = dw_spectrum_moments(sp, 5, DW_SPECTRUM_ROUTE_NC, m);
    if (!s) s = dw_spectrum_report_init(&r, net, NULL, 3);
    if (!s && !dw_spectrum_report_json(r)) s = DW_ERR_NOMEM;
    dw_spectrum_sample_opts *so = NULL;
    dw_net *nw = NULL, *bw = NULL;
    double sm[3], sse[3];
    if (!s) s = dw_net_init(&nw);
    if (!s) s = dw_net_init(&bw);
    if (!s) s = dw_net_add_dense(bw, 1.5, 0.1, 6);
    if (!s) s = dw_net_add_act(bw, act);
    for (int l = 0; l < 2 && !s; l++) s = dw_net_add_residual(nw, bw, 1.0, 0.5);
    if (!s) s = dw_spectrum_sample_opts_init(&so);
    if (!s) s = dw_spectrum_sample_opts_set_threads(so, 1);
    if (!s) s = dw_spectrum_sample_opts_set_samples(so, 2);
    if (!s) s = dw_spectrum_sample_opts_set_K(so, 3);
    if (!s) s = dw_spectrum_sample_law(nw, so, 7, sm, sse, NULL);
    if (!s) s = dw_spectrum_sample_opts_set_probes(so, 2);
    if (!s) s = dw_spectrum_sample_law(nw, so, 7, sm, sse, NULL);
    dw_spectrum_sample_opts_clear(so);
    dw_net_clear(bw);
    dw_net_clear(nw);
    dw_spectrum_report_clear(r);
    dw_spectrum_clear(sp);
    dw_spectrum_opts_clear(o);
    dw_net_clear(br);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static dw_status sc_wick(void)
{
    dw_wick_opts *o = NULL;
    dw_wick_result *r = NULL;
    dw_status s = dw_wick_opts_init(&o);
    if (!s) s = dw_wick_opts_set_threads(o, 1);
    if (!s) s = dw_wick_opts_set_max_pairings(o, 3);
    if (!s) s = dw_wick_compute(o, "tr(A A^T A A^T) tr(B B)", &r);
    if (!s && !dw_wick_result_json(r)) s = DW_ERR_NOMEM;
    dw_wick_result_clear(r);
    r = NULL;
    if (!s) s = dw_wick_opts_set_ensembles(o, "A=sparse:0.5,B=goe");
    if (!s) s = dw_wick_opts_set_route(o, DW_WICK_PARTITIONS);
    if (!s) s = dw_wick_opts_set_max_pairings(o, 0);
    if (!s) s = dw_wick_compute(o, "tr(A B A^T B)", &r);
    if (!s && !dw_wick_result_text(r, true, false)) s = DW_ERR_NOMEM;
    dw_wick_result_clear(r);
    dw_wick_opts_clear(o);
    if (s) return s;
    dw_wick_net *net = NULL;
    dw_wick_expansion *e = NULL;
    const char *coef[3] = {"0", "1", "1/2"};
    const double x[2] = {0.5, -1}, y[2] = {1, 0.25};
    s = dw_wick_net_init(&net);
    if (!s) s = dw_wick_net_set_depth(net, 1);
    if (!s) s = dw_wick_net_set_poly(net, 3, coef);
    if (!s) s = dw_wick_net_set_bias_var(net, "0.1");
    if (!s) s = dw_wick_expand(net, DW_WICK_EXPAND_TREES, true, x, y, 2, &e);
    const char *dot;
    if (!s && dw_wick_expansion_terms(e) > 0) s = dw_wick_expansion_dot(e, 0, &dot);
    if (!s && !dw_wick_expansion_json(e)) s = DW_ERR_NOMEM;
    dw_wick_expansion_clear(e);
    e = NULL;
    if (!s) s = dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 2, &e);
    dw_wick_expansion_clear(e);
    dw_wick_net_clear(net);
    return s;
}

static dw_status sc_wick_residual(void)
{
    dw_wick_net *net = NULL;
    dw_wick_expansion *e = NULL;
    const char *coef[3] = {"0", "1", "1/2"}, *g[2] = {"1", "1/2"}, *a2[2] = {"1/2", "2"};
    const double x[2] = {0.5, -1}, y[2] = {1, 0.25};
    dw_status s = dw_wick_net_init(&net);
    if (!s) s = dw_wick_net_set_depth(net, 2);
    if (!s) s = dw_wick_net_set_poly(net, 3, coef);
    if (!s) s = dw_wick_net_set_bias_var(net, "0.1");
    if (!s) s = dw_wick_net_set_residual(net, 1, g, a2);
    if (!s) s = dw_wick_expand(net, DW_WICK_EXPAND_TREES, true, x, y, 2, &e);
    if (!s && !dw_wick_expansion_json(e)) s = DW_ERR_NOMEM;
    dw_wick_expansion_clear(e);
    e = NULL;
    if (!s) s = dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 2, &e);
    if (!s && !dw_wick_expansion_json(e)) s = DW_ERR_NOMEM;
    dw_wick_expansion_clear(e);
    e = NULL;
    if (!s) s = dw_wick_net_set_depth(net, 3); /* per-block lists, a linear phi (few allocations to sweep) */
    if (!s) s = dw_wick_net_set_poly(net, 2, coef);
    if (!s) s = dw_wick_net_set_residual(net, 2, g, a2);
    if (!s) s = dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 2, &e);
    if (!s && !dw_wick_expansion_json(e)) s = DW_ERR_NOMEM;
    dw_wick_expansion_clear(e);
    dw_wick_net_clear(net);
    return s;
}

static dw_status sc_sig_scores(void)
{
    const double Kxx[4] = {1, 0.5, 0.5, 1}, Kyy[4] = {2, 0.1, 0.1, 1}, Kxy[4] = {0.3, 0.2, 0.1, 0.4};
    double t, p;
    return dw_sig_mmd_test(Kxx, 2, Kyy, 2, Kxy, 5, 1, &t, &p);
}

static dw_status sc_sig(void)
{
    /* two paths of 4 points in R^2 */
    const double P[2 * 4 * 2] = {0, 0, 1, 0.5, 0.3, 1.2, 1, 1, 0, 0, -0.4, 0.2, 0.6, 0.9, 1.3, 0.1};
    double out[2 * 64], K[4];
    dw_sig_opts *so = NULL;
    dw_sig_kernel_opts *ko = NULL;
    dw_sig_nsk_opts *no = NULL;
    dw_sig_lcde_opts *lo = NULL;
    dw_act *act = NULL;
    dw_status s = dw_sig_opts_init(&so);
    if (!s) s = dw_sig_opts_set_level(so, 3);
    if (!s) s = dw_sig_opts_set_threads(so, 1);
    if (!s) s = dw_sig_signature(so, P, 2, 4, 2, out);
    if (!s) s = dw_sig_logsignature(so, P, 2, 4, 2, out);
    if (!s) s = dw_sig_kernel_opts_init(&ko);
    if (!s) s = dw_sig_kernel_opts_set_threads(ko, 1);
    if (!s) s = dw_sig_kernel_opts_set_dyadic_order(ko, 1);
    if (!s) s = dw_sig_kernel_gram(ko, P, 2, 4, NULL, 2, 4, 2, K);
    if (!s) s = dw_act_init(&act, "relu");
    if (!s) s = dw_sig_nsk_opts_init(&no);
    if (!s) s = dw_sig_nsk_opts_set_act(no, act);
    if (!s) s = dw_sig_nsk_opts_set_threads(no, 1);
    if (!s) s = dw_sig_nsk_gram(no, P, 2, 4, NULL, 2, 4, 2, K);
    if (!s) s = dw_sig_cresnet_sample(no, 4, 2, 3, false, P, 2, 4, 2, out);
    if (!s) s = dw_sig_lcde_opts_init(&lo);
    if (!s) s = dw_sig_lcde_opts_set_threads(lo, 1);
    if (!s) s = dw_sig_lcde_kernel(lo, P, 2, 4, NULL, 2, 4, 2, K);
    if (!s) s = dw_sig_lcde_sample(lo, 4, 2, 3, false, P, 2, 4, 2, out);
    dw_sig_lcde_opts_clear(lo);
    dw_sig_nsk_opts_clear(no);
    dw_act_clear(act);
    dw_sig_kernel_opts_clear(ko);
    dw_sig_opts_clear(so);
    return s;
}

static dw_status sc_sig_grad(void)
{
    const double P[2 * 4 * 2] = {0, 0, 1, 0.5, 0.3, 1.2, 1, 1, 0, 0, -0.4, 0.2, 0.6, 0.9, 1.3, 0.1};
    double g[2 * 14], gX[2 * 4 * 2], gY[2 * 4 * 2], gs, GK[4] = {1, 0.5, -0.3, 2};
    for (int i = 0; i < 28; i++) g[i] = 0.1 * i - 1.0;
    dw_sig_opts *so = NULL;
    dw_sig_kernel_opts *ko = NULL;
    dw_status s = dw_sig_opts_init(&so);
    if (!s) s = dw_sig_opts_set_level(so, 3);
    if (!s) s = dw_sig_opts_set_threads(so, 1);
    if (!s) s = dw_sig_signature_backward(so, P, 2, 4, 2, g, gX);
    if (!s) s = dw_sig_logsignature_backward(so, P, 2, 4, 2, g, gX);
    if (!s) s = dw_sig_kernel_opts_init(&ko);
    if (!s) s = dw_sig_kernel_opts_set_threads(ko, 1);
    if (!s) s = dw_sig_kernel_opts_set_dyadic_order(ko, 1);
    if (!s) s = dw_sig_kernel_gram_backward(ko, P, 2, 4, NULL, 0, 0, 2, GK, gX, NULL, &gs);
    if (!s) s = dw_sig_kernel_gram_backward(ko, P, 2, 4, P, 2, 4, 2, GK, gX, gY, NULL);
    /* streams, products and the path transforms (lead-lag, time, basepoint: 4 points -> 9 in d = 5) */
    double St[2 * 3 * 14], T[2 * 155], gT[2 * 155], K[4];
    if (!s) s = dw_sig_signature_stream(so, P, 2, 4, 2, St);
    if (!s) s = dw_sig_combine(so, g, g, 2, 2, St);
    if (!s) s = dw_sig_opts_set_lead_lag(so, true);
    if (!s) s = dw_sig_opts_set_time_aug(so, true);
    if (!s) s = dw_sig_opts_set_basepoint(so, true);
    if (!s) s = dw_sig_signature(so, P, 2, 4, 2, T);
    for (int i = 0; i < 2 * 155; i++) gT[i] = 0.01 * i;
    if (!s) s = dw_sig_signature_backward(so, P, 2, 4, 2, gT, gX);
    if (!s) s = dw_sig_kernel_opts_set_lead_lag(ko, true);
    if (!s) s = dw_sig_kernel_gram(ko, P, 2, 4, NULL, 0, 0, 2, K);
    if (!s) s = dw_sig_kernel_gram_backward(ko, P, 2, 4, P, 2, 4, 2, GK, gX, gY, NULL);
    /* unequal orders (K(X, X) through K(X, Y = X)), tiles of transformed paths, the PDE grids of pairs */
    double grid[2 * 13 * 25];
    if (!s) s = dw_sig_kernel_opts_set_dyadic_order_y(ko, 2);
    if (!s) s = dw_sig_kernel_gram(ko, P, 2, 4, NULL, 0, 0, 2, K);
    if (!s) s = dw_sig_kernel_tile(ko, P, 2, 4, NULL, 0, 0, 2, 1, 2, 0, 2, 2, K);
    if (!s) s = dw_sig_kernel_gram_backward(ko, P, 2, 4, NULL, 0, 0, 2, GK, gX, NULL, NULL);
    if (!s) s = dw_sig_kernel_grid(ko, P, P, 2, 4, 4, 2, grid); /* lead-lag: 7 points, 13 x 25 cells */
    if (!s) s = dw_sig_kernel_opts_set_lead_lag(ko, false);
    if (!s) s = dw_sig_kernel_grid(ko, P, P, 2, 4, 4, 2, grid);
    dw_sig_kernel_opts_clear(ko);
    dw_sig_opts_clear(so);
    return s;
}

/* operations on given signatures and their gradients (join.c, hall.c), streams' backward, the Hall and expanded
 * log-signatures */
static dw_status sc_sig_join(void)
{
    const double P[2 * 4 * 2] = {0, 0, 1, 0.5, 0.3, 1.2, 1, 1, 0, 0, -0.4, 0.2, 0.6, 0.9, 1.3, 0.1};
    const double h[4] = {0.3, -0.2, 0.5, 0.1}, fl = 0.2;
    double S[2 * 14], G[2 * 3 * 14], o1[2 * 14], o2[2 * 14], gL[2 * 14], gh[4], gX[16], gf;
    for (int i = 0; i < 2 * 3 * 14; i++) G[i] = 0.05 * i - 1.0;
    dw_sig_opts *so = NULL;
    dw_status s = dw_sig_opts_init(&so);
    if (!s) s = dw_sig_opts_set_level(so, 3);
    if (!s) s = dw_sig_opts_set_threads(so, 1);
    if (!s) s = dw_sig_signature(so, P, 2, 4, 2, S);
    if (!s) s = dw_sig_join(so, S, h, 2, 2, NULL, o1);
    if (!s) s = dw_sig_join_backward(so, S, h, 2, 2, &fl, G, o1, gh, &gf);
    if (!s) s = dw_sig_scale(so, S, h, 2, 2, o1);
    if (!s) s = dw_sig_scale_backward(so, S, h, 2, 2, G, o1, gh);
    if (!s) s = dw_sig_combine_backward(so, S, S, 2, 2, G, o1, o2);
    if (!s) s = dw_sig_signature_stream_backward(so, P, 2, 4, 2, G, gX);
    for (int b = DW_SIG_LYNDON; !s && b <= DW_SIG_EXPANDED; b++) {
        s = dw_sig_opts_set_basis(so, (dw_sig_basis)b);
        if (!s) s = dw_sig_logsignature(so, P, 2, 4, 2, o2);
        if (!s) s = dw_sig_logsignature_backward(so, P, 2, 4, 2, G, gX);
        if (!s) s = dw_sig_logsig_to_sig(so, o2, 2, 2, o1);
        if (!s) s = dw_sig_logsig_join(so, o2, h, 2, 2, NULL, o1);
        if (!s) s = dw_sig_logsig_to_sig_backward(so, o2, 2, 2, G, gL);
        if (!s) s = dw_sig_logsig_join_backward(so, o2, h, 2, 2, &fl, G, gL, gh, &gf);
        size_t len;
        char lab[64];
        if (!s && b != DW_SIG_EXPANDED) s = dw_sig_basis_labels(so, 2, lab, sizeof lab, &len);
    }
    dw_sig_opts_clear(so);
    return s;
}

/* predict: the dense routes on given kernels (Cholesky, eigendecomposition, both covariance forms, gradient
 * descent), the indefinite-kernel diagnosis, kernel regression from inputs, the labels. */
static dw_status sc_predict(void)
{
    dw_net *net;
    dw_act *act;
    dw_predict_opts *o = NULL;
    dw_predict_info *info = NULL;
    dw_predict *p = NULL;
    double K[4 * 4], G[4 * 4], Kt[2 * 4], Ktt[2 * 2], Y[4 * 2], mean[4 * 2], cov[4 * 4], ft[4 * 2];
    const double lab[4] = {0, 1, 2, 1};
    dw_status s = make_net(&net, &act, "relu", 1, true, 0);
    if (!s) s = dw_kernel_gram(net, NULL, PTS, 4, NULL, 4, 3, G, K, NULL);
    if (!s) s = dw_kernel_gram(net, NULL, PTS, 2, PTS, 4, 3, Kt, NULL, NULL);
    if (!s) s = dw_kernel_gram(net, NULL, PTS, 2, NULL, 2, 3, Ktt, NULL, NULL);
    if (!s) s = dw_predict_opts_init(&o);
    if (!s) s = dw_predict_opts_set_diag_reg(o, 1e-3);
    if (!s) s = dw_predict_opts_set_threads(o, 1);
    if (!s) s = dw_predict_info_init(&info);
    double Y3[4 * 3];
    if (!s) s = dw_predict_one_hot(lab, 4, 3, Y3); /* 3 columns: the first two are the targets below */
    for (int i = 0; !s && i < 4; i++) Y[2 * i] = Y3[3 * i], Y[2 * i + 1] = Y3[3 * i + 1];
    if (!s) s = dw_predict_init(&p, o, K, G, 4, Y, 2);
    if (!s) s = dw_predict_mean_cov(p, INFINITY, Kt, Kt, Ktt, 2, mean, cov);
    if (!s) s = dw_predict_mean_cov(p, 1.5, Kt, Kt, Ktt, 2, mean, cov);
    if (!s) s = dw_predict_mean_cov(p, 1.5, NULL, NULL, NULL, 4, mean, cov);
    if (!s) s = dw_predict_gd_mse(p, 2.0, Y, Kt, mean, 2, ft, cov);
    if (!s) s = dw_predict_get_info(p, info);
    dw_predict_clear(p);
    p = NULL;
    if (!s) {
        for (int i = 0; i < 4; i++) K[5 * i] -= 10.0; /* indefinite: the diagnosis allocates too */
        s = dw_predict_init(&p, NULL, K, NULL, 4, Y, 2);
        if (!s) s = dw_predict_mean_cov(p, INFINITY, Kt, NULL, NULL, 2, mean, NULL);
        if (s == DW_ERR_INVALID) s = DW_OK;
        dw_predict_clear(p);
    }
    if (!s) s = dw_predict_opts_set_kind(o, "ntk");
    if (!s) s = dw_predict_regress(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, cov, info);
    if (!s) s = dw_predict_opts_set_solver(o, "cg");
    if (!s) s = dw_predict_opts_set_rank(o, 2);
    if (!s) s = dw_predict_regress(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, NULL, info);
    if (!s) s = dw_predict_opts_set_t(o, 3.0); /* cg at a finite t: Lanczos */
    if (!s) s = dw_predict_regress(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, NULL, info);
    if (!s) s = dw_predict_opts_set_solver(o, "cholesky");
    if (!s) s = dw_predict_regress(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, NULL, info);
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* predict: the covariance on the matrix-free route (NTK form: the NNGP tiles, T1, K T1, K_td T1); then cg's
 * certified bound (the adjoint solves, the kernel's tile bounds, the long-double products). */
static dw_status sc_predict_cgcov(void)
{
    dw_net *net;
    dw_act *act;
    dw_predict_opts *o = NULL;
    double Y[4 * 2] = {1, 0, 0, 1, -1, 0.5, 0.25, 2}, mean[2 * 2], cov[2 * 2], bound[2 * 2];
    dw_status s = make_net(&net, &act, "relu", 1, true, 0);
    if (!s) s = dw_predict_opts_init(&o);
    if (!s) s = dw_predict_opts_set_diag_reg(o, 1e-3);
    if (!s) s = dw_predict_opts_set_threads(o, 1);
    if (!s) s = dw_predict_opts_set_kind(o, "ntk");
    if (!s) s = dw_predict_opts_set_solver(o, "cg");
    if (!s) s = dw_predict_regress(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, cov, NULL);
    if (!s) s = dw_predict_regress_bound(net, o, PTS, 4, Y, 2, PTS + 3, 2, 3, mean, NULL, bound, NULL);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* predict: the float32 Cholesky with refinement (n >= 256, few columns): the solve, the condition estimate and
 * lambda_min by its refined solves; then a matrix too ill-conditioned for it (cond 1e12), which falls back. */
static dw_status sc_predict_mixed(void)
{
    enum { N = 256 };
    static double A[N * N];
    double Y[N * 2], mean[2 * 2];
    dw_predict *p = NULL;
    dw_predict_info *info = NULL;
    dw_predict_opts *o = NULL;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) A[i * N + j] = (i == j ? 2.0 * N : 0.0) + (double)(((i + 1) * (j + 1)) % 5) - 2.0;
    for (int i = 0; i < N; i++) Y[2 * i] = 1.0, Y[2 * i + 1] = (double)(i % 3);
    dw_status s = dw_predict_info_init(&info);
    if (!s) s = dw_predict_opts_init(&o);
    if (!s) s = dw_predict_opts_set_threads(o, 1);
    for (int round = 0; round < 2 && !s; round++) {
        if (round == 1) /* 1e6 v v^T + 1e-6 I */
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++)
                    A[i * N + j] = 1e6 * (1.0 + 0.001 * i) * (1.0 + 0.001 * j) + (i == j ? 1e-6 : 0.0);
        s = dw_predict_init(&p, o, A, NULL, N, Y, 2);
        if (!s) s = dw_predict_mean_cov(p, INFINITY, A, NULL, NULL, 2, mean, NULL);
        if (!s && round == 0) s = dw_predict_get_info(p, info); /* the fallback's dpocon: covered above */
        dw_predict_clear(p);
        p = NULL;
    }
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    return s;
}

/* predict: the certified bounds (given kernels; kernel regression with the kernel's bound and scales). */
static dw_status sc_predict_bound(void)
{
    dw_net *net;
    dw_act *act;
    dw_predict_opts *o = NULL;
    dw_predict_info *info = NULL;
    dw_predict *p = NULL;
    double K[4 * 4], Kt[2 * 4], Y[4 * 2] = {1, 0, 0, 1, -1, 0.5, 0.25, 2}, mean[2 * 2], bound[2 * 2];
    dw_status s = make_net(&net, &act, "erf", 1, true, 0);
    if (!s) s = dw_kernel_gram(net, NULL, PTS, 4, NULL, 4, 3, K, NULL, NULL);
    if (!s) s = dw_kernel_gram(net, NULL, PTS, 2, PTS, 4, 3, Kt, NULL, NULL);
    if (!s) s = dw_predict_opts_init(&o);
    if (!s) s = dw_predict_opts_set_diag_reg(o, 1e-3);
    if (!s) s = dw_predict_opts_set_threads(o, 1);
    if (!s) s = dw_predict_info_init(&info);
    if (!s) s = dw_predict_init(&p, o, K, NULL, 4, Y, 2);
    if (!s) s = dw_predict_mean_bound(p, Kt, 2, 0.0, NULL, NULL, mean, bound);
    dw_predict_clear(p);
    if (!s) s = dw_predict_regress_bound(net, o, PTS, 4, Y, 2, PTS, 2, 3, mean, NULL, bound, info);
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

/* Per-entry kernel bounds (relu: the sweep's analysis and the long-double reference) and the certified bound that
 * takes them entry by entry (given bounds; kernel regression through dw_kernel_gram_bound). */
static dw_status sc_kernel_bound(void)
{
    dw_net *net;
    dw_act *act;
    dw_predict_opts *o = NULL;
    dw_predict *p = NULL;
    double K[4 * 4], B[4 * 4], Kt[2 * 4], Bt[2 * 4], Y[4] = {1, 0, -1, 0.5}, mean[2], bound[2];
    dw_status s = make_net(&net, &act, kernel_act, 1, true, 0);
    if (!s) s = dw_kernel_gram_bound(net, NULL, PTS, 4, NULL, 4, 3, K, NULL, B, NULL, NULL);
    if (!s) s = dw_kernel_gram_bound(net, NULL, PTS, 2, PTS, 4, 3, Kt, NULL, Bt, NULL, NULL);
    if (!s) s = dw_predict_opts_init(&o);
    if (!s) s = dw_predict_opts_set_diag_reg(o, 1e-3);
    if (!s) s = dw_predict_opts_set_threads(o, 1);
    if (!s) s = dw_predict_init(&p, o, K, NULL, 4, Y, 1);
    if (!s) s = dw_predict_mean_bound_entries(p, Kt, 2, B, Bt, mean, bound);
    dw_predict_clear(p);
    if (!s) s = dw_predict_regress_bound(net, o, PTS, 4, Y, 1, PTS + 3, 2, 3, mean, NULL, bound, NULL);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    return s;
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

/* Run one scenario through the sweep. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sweep(const char *name, scenario_fn fn)
{
    const double t0 = now();
    /* A warm-up run first: one-time caches (quadrature rules, tables) stay allocated by design. */
    af_reset(0);
    dw_status s = fn();
    CHECK(s == DW_OK);
    long base = af_live();
    af_reset(0);
    s = fn();
    long total = af_count();
    CHECK(s == DW_OK);
    CHECK(af_live() == base);
    int bad = 0;
    for (long k = 1; k <= total; k++) {
        af_reset(k);
        dw_error_clear();
        s = fn();
        int failed = af_failed();
        af_reset(0);
        int ok = s == DW_OK || (s == DW_ERR_NOMEM && dw_error_message()[0] != '\0');
        int clean = af_live() == base && dir_is_empty(tmpdir);
        if (!ok || !clean || !failed) {
            if (bad++ < 5)
                fprintf(stderr, "%s: allocation %ld of %ld: status %d (%s), %s (live %+ld), %s\n", name, k, total, (int)s,
                        dw_error_message(), clean ? "clean" : "LEAK or file left", af_live() - base, failed ? "failed" : "not reached");
        }
        CHECK(ok);
        CHECK(clean);
    }
    fprintf(stderr, "%s: %ld allocations swept%s (%.1f s)\n", name, total, bad ? " WITH FAILURES" : "", now() - t0);
}

/* The architecture engine: every layer kind of the list, both register modes (FULL with a pool, DIAG with flatten),
 * a residual branch with an activation (cross terms, mean-derivative slots) and a generic activation. */
static dw_status sc_arch(void)
{
    dw_act *relu = NULL, *tanh_ = NULL;
    dw_net *net = NULL, *br = NULL, *br2[2] = {NULL, NULL};
    dw_status s = dw_act_init(&relu, "relu");
    if (!s) s = dw_act_init(&tanh_, "erf"); /* closed forms: the generic route's allocations are swept above */
    if (!s) s = dw_net_init(&br);
    if (!s) s = dw_net_add_act(br, tanh_);
    for (int i = 0; i < 2 && !s; i++) s = dw_net_init(&br2[i]);
    if (!s) s = dw_net_add_dense(br2[0], 1.5, 0.1, 0);
    if (!s) s = dw_net_add_identity(br2[1]);
    const size_t shape[3] = {3, 3, 2}, f[2] = {2, 2}, w[2] = {2, 2};
    double X[3 * 18];
    for (size_t i = 0; i < 3 * 18; i++) X[i] = 0.1 * (double)(i % 7) - 0.3;
    double K[9], T[9];
    for (int pooled = 0; pooled < 2 && !s; pooled++) {
        if (!s) s = dw_net_init(&net);
        if (!s) s = dw_net_set_input_shape(net, 3, shape);
        if (!s) s = dw_net_add_conv(net, 2, f, NULL, DW_PAD_SAME, 2, 0.1, 0);
        if (!s) s = dw_net_add_layernorm(net, false, 1e-12);
        if (!s) s = dw_net_add_conv(net, 2, f, NULL, DW_PAD_CIRCULAR, 2, 0.1, 0);
        if (!s) s = dw_net_add_residual(net, br, 1.0, 0.5);
        if (!s) s = dw_net_add_conv(net, 2, f, NULL, DW_PAD_SAME, 2, 0.1, 0);
        if (!s) s = dw_net_add_act(net, relu);
        if (!s) s = dw_net_add_dropout(net, 0.8, true);
        if (!s && pooled) s = dw_net_add_pool(net, true, 2, w, NULL, DW_PAD_VALID, false);
        if (!s) s = pooled ? dw_net_add_global_pool(net, true) : dw_net_add_flatten(net);
        if (!s) s = dw_net_add_dense(net, 1, 0, 0);
        if (!s) s = dw_net_add_fanout(net, 2);
        if (!s) s = dw_net_add_parallel(net, 2, (const dw_net *const *)br2);
        if (!s) s = dw_net_add_fanin_sum(net);
        if (!s) s = dw_net_add_scale(net, 0.5);
        if (!s) s = dw_kernel_gram(net, NULL, X, 3, NULL, 3, 18, K, T, NULL);
        if (!s) s = dw_kernel_gram(net, NULL, X, 2, X + 18, 1, 18, K, T, NULL);
        dw_net_clear(net);
        net = NULL;
    }
    /* the input flattened first (the block runner's dot products read the inputs transposed) */
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_set_input_shape(net, 3, shape);
    if (!s) s = dw_net_add_flatten(net);
    if (!s) s = dw_net_add_dense(net, 2, 0.1, 0);
    if (!s) s = dw_net_add_residual(net, br, 1.0, 0.5);
    if (!s) s = dw_net_add_dense(net, 1, 0, 0);
    if (!s) s = dw_kernel_gram(net, NULL, X, 3, NULL, 3, 18, K, T, NULL);
    dw_net_clear(net);
    dw_net_clear(br);
    for (int i = 0; i < 2; i++) dw_net_clear(br2[i]);
    dw_act_clear(relu);
    dw_act_clear(tanh_);
    return s;
}

/* The architecture engine out of core: dense > erf > dense > relu > dense, symmetric and rectangular, blocks of 3. */
static dw_status sc_arch_file(void)
{
    dw_act *erf_ = NULL, *relu = NULL;
    dw_net *net = NULL;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/A.npy", tmpdir);
    double X[8 * 3], fixed = 0, row = 0;
    for (size_t i = 0; i < 8 * 3; i++) X[i] = PTS[i % 12] + 0.01 * (double)i;
    dw_status s = dw_act_init(&erf_, "erf");
    if (!s) s = dw_act_init(&relu, "relu");
    if (!s) s = dw_net_init(&net);
    if (!s) s = dw_net_add_dense(net, 1.5, 0.1, 0);
    if (!s) s = dw_net_add_act(net, erf_);
    if (!s) s = dw_net_add_dense(net, 1.2, 0, 0);
    if (!s) s = dw_net_add_act(net, relu);
    if (!s) s = dw_net_add_dense(net, 1, 0, 0);
    if (!s) s = dw_kernel_opts_init(&o);
    if (!s) s = dw_kernel_opts_set_threads(o, 1);
    if (!s) s = dw_kernel_gram_file_bytes(net, o, 8, 8, true, true, &fixed, &row);
    if (!s) s = dw_kernel_opts_set_memory(o, fixed + 6.5 * row);
    if (!s) s = dw_kernel_info_init(&info);
    if (!s) s = dw_kernel_gram_file(net, o, X, 8, NULL, 8, 3, true, true, path, info);
    if (!s) s = dw_kernel_gram_file(net, o, X, 8, X + 6, 5, 3, false, true, path, NULL);
    unlink(path);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(erf_);
    dw_act_clear(relu);
    return s;
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw_alloc_fail_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    sweep("act", sc_act);
    sweep("net", sc_net);
    sweep("net_spec", sc_net_spec);
    sweep("io", sc_io);
    static const char *kernel_acts[] = {"relu", "erf", "tanh", "max(z, 0.1*z)", "relu(z - 0.5) + 0.1*z", "sin(z)^2"};
    for (size_t a = 0; a < sizeof kernel_acts / sizeof kernel_acts[0]; a++) {
        char name[64];
        kernel_act = kernel_acts[a];
        for (kernel_rect = 0; kernel_rect < 2; kernel_rect++) {
            snprintf(name, sizeof name, "kernels %s %s", kernel_acts[a], kernel_rect ? "X, Y" : "X, X");
            sweep(name, sc_kernels);
        }
    }
    kernel_rect = 0;
    static const char *finite_acts[] = {"relu", "tanh"};
    for (size_t a = 0; a < sizeof finite_acts / sizeof finite_acts[0]; a++) {
        char name[64];
        snprintf(name, sizeof name, "finite %s", finite_acts[a]);
        kernel_act = finite_acts[a];
        sweep(name, sc_finite);
    }
    static const char *bound_acts[] = {"relu", "tanh", "erf"};
    for (size_t a = 0; a < sizeof bound_acts / sizeof bound_acts[0]; a++) {
        char name[64];
        snprintf(name, sizeof name, "kernel bound %s", bound_acts[a]);
        kernel_act = bound_acts[a];
        sweep(name, sc_kernel_bound);
    }
    kernel_act = "relu"; /* the file route's own allocations are the same for every activation */
    sweep("kernels file", sc_kernels_file);
    sweep("grams file", sc_grams_file);
    sweep("arch", sc_arch);
    sweep("arch file", sc_arch_file);
    sweep("sample", sc_sample);
    sweep("dist", sc_dist);
    sweep("sample arch", sc_sample_arch);
    sweep("spectrum", sc_spectrum);
    sweep("spectrum_residual", sc_spectrum_residual);
    sweep("spectrum_actfirst", sc_spectrum_actfirst);
    sweep("wick", sc_wick);
    sweep("wick_residual", sc_wick_residual);
    sweep("sig", sc_sig);
    sweep("sig_scores", sc_sig_scores);
    sweep("sig_grad", sc_sig_grad);
    sweep("sig_join", sc_sig_join);
    sweep("predict", sc_predict);
    sweep("predict bound", sc_predict_bound);
    sweep("predict mixed", sc_predict_mixed);
    sweep("predict cg cov", sc_predict_cgcov);
    rmdir(tmpdir);
    return check_done("alloc_fail");
}
