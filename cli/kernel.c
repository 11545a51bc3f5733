/* deepwick kernel: NNGP / NTK Gram matrices (theory.md 1.2-1.3). Reads inputs, calls dw_kernel_gram_file, which
 * writes the .npy row block by row block within --memory (out of core), resumable with --resume. */
#include "cli.h"

#include "opts.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct kernel_args {
    cli_args base;
    const char *x, *y, *act, *out, *kind, *param, *memory, *net, *bound;
    long depth, threads;
    cli_reals weight_var, bias_var, width;
    bool all_layers, json, resume;
} kernel_args;

#define F(field) offsetof(kernel_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy (float64/float32, C order) or .csv", .flags = CLI_REQUIRED},
    {"net", CLI_TEXT, F(net), "SPEC",
     "the network as a one-line spelling (docs/architectures.md), instead of --depth,\n"
     "--act, --weight-var, --bias-var, --width, e.g. 'conv(3x3, same, W_std=1.4);\n"
     "relu; avgpool(2x2); flatten; dense(W_std=1.4)'; X of shape (n, d), (n, L, C),\n"
     "(n, H, W, C) or (n, D, H, W, C) (.npy) sets the input shape",
     .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"depth", CLI_INT, F(depth), "L",
     "number of activations (hidden layers), L >= 0; 0 is the linear model K^1\n(required without --net)",
     .flags = 0, .lo = INT_MIN, .hi = INT_MAX}, /* the range is the network's to check (one wording) */
    {"act", CLI_TEXT, F(act), "ACT",
     "identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...,\n"
     "gelu (closed forms); tanh, sigmoid, gelu_tanh, silu, softplus, elu, selu, mish;\n"
     "or an expression in z, e.g. 'tanh(z)^2', 'z*sigmoid(1.702*z)', 'max(z, 0.1*z)'\n"
     "(+ - * / ^, exp log sqrt abs tanh sigmoid erf sin cos relu softplus max min)\n(required without --net)",
     .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"out", CLI_TEXT, F(out), "FILE",
     "output .npy (float64), written atomically: row blocks go into .FILE.deepwick-partial\n"
     "beside it, renamed when complete; a previous FILE stays untouched until then",
     .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"bound", CLI_TEXT, F(bound), "FILE",
     "also write a certified error bound of every entry, the shape of --out (every\n"
     "activation: closed forms and the generic route); computed in memory: not with --all-layers,\n"
     "--memory, --resume (docs/kernel.md \"Per-entry error bounds\")",
     .flags = CLI_OUTPUT, .ext = ".npy"},
    {"y", CLI_TEXT, F(y), "FILE", "second inputs, m x d (default: X; K(X, X) is then exactly symmetric)",
     .flags = 0},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 comma-separated per-layer values",
     .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values", .def = "0"},
    {"kind", CLI_CHOICE, F(kind), "K", "nngp, ntk or both; both writes one stacked array,\nindex 0 = NNGP, 1 = NTK: "
     "shape (2, n, m)", .def = "nngp", .choices = "nngp|ntk|both"},
    {"param", CLI_CHOICE, F(param), "P", "NTK parameterisation: ntk or standard; the NNGP is the same", .def = "ntk",
     .choices = "ntk|standard"},
    {"width", CLI_REALS, F(width), "N", "hidden widths n_1..n_L for --param standard (one value or L values)",
     .flags = 0},
    {"all-layers", CLI_FLAG, F(all_layers), NULL,
     "output every layer: (L+1, n, m), or (2, L+1, n, m) with --kind both", .flags = 0},
    CLI_OUTFILE_OPTS(kernel_args),
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results do not depend on it",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "kernel", "--x X.npy [--y Y.npy] (--depth L --act ACT | --net SPEC) --out K.npy [options]",
    "Infinite-width NNGP kernel K^{L+1} and/or neural tangent kernel Theta^{L+1} of the network\n"
    "  h^1 = W^1 x + b^1,  h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},  f = h^{L+1}   (theory.md 1.1-1.3)\n"
    "on every pair of rows of X (and Y). The result goes to disk by blocks of rows, so n and m are\n"
    "limited by the disk, not the memory; the bits are those of the in-memory computation whatever\n"
    "--memory and --threads. A progress bar is drawn on stderr when it is a terminal. After Ctrl-C,\n"
    "SIGTERM or a kill, FILE is untouched and the same command with --resume continues.\n\n"
    "With --net SPEC, the kernels of the architecture it spells (conv, pools, layernorm, dropout,\n"
    "residual and parallel branches: docs/architectures.md), written the same way.\n",
    opts, "weight_var = W_std**2 of Neural Tangents' stax.Dense; a layer with bias-var 0 has no bias.\n"};

static int kernel_net(kernel_args *a);

/* The JSON fields of what the library reports, after the options: how the expectations were computed (the method,
 * the largest error bound of a returned entry (relative to sqrt(K(x,x) K(y,y)), propagated through the layers), of
 * any Gaussian expectation evaluated (relative to its scale), and the target of the latter; null for closed forms,
 * exact to rounding), the sizes, the result's shape, the threads and the time; the closing brace. */
static void json_result(const dw_kernel_info *info, size_t n, size_t m, size_t d, bool symmetric, const size_t *shape,
                        size_t nd, int threads, double secs)
{
    printf(", \"method\": ");
    cli_json_string(stdout, dw_kernel_info_method(info));
    if (dw_kernel_info_target(info) > 0)
        printf(", \"max_error_bound\": %.3g, \"expectation_error_bound\": %.3g, \"error_bound_is_estimate\": %s, "
               "\"error_target\": %.3g, \"series_terms\": %d, \"evaluations\": %zu, \"quadrature_evaluations\": %zu",
               dw_kernel_info_max_bound(info), dw_kernel_info_expectation_bound(info),
               dw_kernel_info_estimate(info) ? "true" : "false", dw_kernel_info_target(info),
               dw_kernel_info_series_terms(info), dw_kernel_info_evaluations(info), dw_kernel_info_quadrature(info));
    else
        printf(", \"max_error_bound\": null, \"expectation_error_bound\": null");
    printf(", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"symmetric\": %s, \"shape\": [", n, m, d,
           symmetric ? "true" : "false");
    for (size_t k = 0; k < nd; k++) printf("%s%zu", k ? ", " : "", shape[k]);
    printf("], \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads(threads), secs);
}

/* The memory, resume and progress options, the signals, then the file function (dw_kernel_gram_file, or the
 * distributed one of deepwick-mpi) into a->out: -1 when written (with the seconds it took), else the exit status
 * (one error line said). */
static int run_file(const kernel_args *a, cli_gram_file_fn gram_file, const dw_net *net, dw_kernel_opts *o,
                    const dw_matrix *X, const dw_matrix *Y, bool nngp, bool ntk, dw_kernel_info *info, double *secs)
{
    cli_outfile f;
    int rc = cli_outfile_begin(&f, "kernel", a->net ? "pairs" : "tiles", a->memory, a->resume, 0);
    if (rc >= 0) return rc;
    dw_status s;
    if ((s = dw_kernel_opts_set_memory(o, f.memory)) || (s = dw_kernel_opts_set_resume(o, a->resume)) ||
        (s = dw_kernel_opts_set_progress(o, cli_outfile_progress, &f.prog)))
        return cli_outfile_end(&f, s, a->out, true);
    const double t0 = cli_now();
    s = (gram_file ? gram_file : dw_kernel_gram_file)(net, o, X->data, X->rows, Y ? Y->data : NULL,
                                                       Y ? Y->rows : X->rows, X->cols, nngp, ntk, a->out, info);
    *secs = cli_now() - t0;
    return cli_outfile_end(&f, s, a->out, gram_file == NULL);
}

/* --bound: the Gram matrices and their per-entry bounds in memory (dw_kernel_gram_bound), the bounds written first
 * and removed again if the Gram cannot be written, so that no output exists alone. */
static int kernel_bound_mem(kernel_args *a, const dw_net *net, const dw_kernel_opts *o, dw_kernel_info *info,
                            const dw_matrix *X, const dw_matrix *Y, bool nngp, bool ntk, const dw_act *act)
{
    const size_t n = X->rows, m = Y ? Y->rows : X->rows, nm = n * m;
    const double entries = (double)(nngp + ntk) * (double)n * (double)m;
    dw_status s = dw_core_check_alloc(16.0 * entries, "the Gram matrices and their bounds");
    double *out = s ? NULL : dw_core_alloc_large(2 * (size_t)entries * sizeof *out, "the Gram matrices and bounds");
    if (!out) return cli_status(s ? s : DW_ERR_NOMEM);
    double *b = out + (size_t)entries;
    const double t0 = cli_now();
    s = dw_kernel_gram_bound(net, o, X->data, n, Y ? Y->data : NULL, m, X->cols, nngp ? out : NULL,
                             ntk ? out + (nngp ? nm : 0) : NULL, nngp ? b : NULL, ntk ? b + (nngp ? nm : 0) : NULL,
                             info);
    const double secs = cli_now() - t0;
    size_t shape[3], nd = 0;
    if (nngp && ntk) shape[nd++] = 2;
    shape[nd++] = n;
    shape[nd++] = m;
    if (!s && !(s = dw_io_write_npy(a->bound, b, (int)nd, shape)) && (s = dw_io_write_npy(a->out, out, (int)nd, shape)))
        remove(a->bound);
    if (!s && a->json) {
        double bmax = 0;
        for (size_t i = 0; i < (size_t)entries; i++) bmax = fmax(bmax, b[i]);
        printf("{\"command\": \"kernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"bound_max\": %.6g", bmax);
        json_result(info, n, m, X->cols, !Y, shape, nd, (int)a->threads, secs);
    }
    dw_core_free_large(out);
    return s ? cli_status(s) : 0;
}

int cmd_kernel(int argc, char **argv)
{
    const cli_gram_file_fn gram_file = cli_distributed.gram_file;
    kernel_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    if (a.net && gram_file) {
        cli_args_free(&cmd, &a);
        return cli_usage_error("kernel", "--net: the architectures' Grams are computed in memory by one process; "
                                         "use `deepwick kernel --net`");
    }
    if (a.net || !a.act || !cli_given(&cmd, &a, "depth")) {
        rc = a.net ? kernel_net(&a) : cli_usage_error("kernel", "--%s is required (or --net SPEC)",
                                                      a.act ? "depth" : "act");
        cli_args_free(&cmd, &a);
        return rc;
    }
    const bool nngp = strcmp(a.kind, "ntk") != 0, ntk = strcmp(a.kind, "nngp") != 0;
    const bool standard = !strcmp(a.param, "standard");
    if (a.width.v && !standard) {
        cli_args_free(&cmd, &a);
        return cli_error("--width: applies only to --param standard (the NTK parameterisation needs no widths)");
    }
    const long depth = a.depth;
    rc = 1;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    dw_matrix X, Y;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_status s;
    if (!cli_act_init(&act, a.act) || !cli_read_points(a.x, &X)) goto done;
    if (a.y && !cli_read_second_points(a.y, a.x, &X, &Y)) goto done;
    const size_t n = X.rows, m = a.y ? Y.rows : X.rows;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
        (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) ||
        (s = dw_net_set_param(net, standard ? DW_PARAM_STANDARD : DW_PARAM_NTK)) ||
        (a.width.v && depth > 0 && (s = dw_net_set_widths(net, a.width.n, a.width.v))) || /* depth 0: no hidden layer */
        (s = dw_kernel_opts_init(&o)) || (s = dw_kernel_opts_set_all_layers(o, a.all_layers)) ||
        (s = dw_kernel_opts_set_threads(o, (int)a.threads)) || (s = dw_kernel_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.bound) {
        const char *no = a.all_layers ? "all-layers" : a.memory ? "memory" : a.resume ? "resume" : NULL;
        if (no) {
            rc = cli_error("--bound: not with --%s (the bounds are computed in memory, for the last layer)", no);
            goto done;
        }
        if (!dw_kernel_gram_bound_available(net)) {
            rc = cli_error("--bound: no per-entry bounds for the activation '%s' (closed forms: the relu family, "
                           "identity, erf, sin, cos, exp; and the generic route)", dw_act_name(act));
            goto done;
        }
        rc = kernel_bound_mem(&a, net, o, info, &X, a.y ? &Y : NULL, nngp, ntk, act);
        goto done;
    }
    double secs;
    if ((rc = run_file(&a, gram_file, net, o, &X, a.y ? &Y : NULL, nngp, ntk, info, &secs)) >= 0) goto done;
    const size_t layers = a.all_layers ? (size_t)depth + 1 : 1;
    size_t shape[4], nd = 0;
    if (nngp && ntk) shape[nd++] = 2;
    if (a.all_layers) shape[nd++] = layers;
    shape[nd++] = n;
    shape[nd++] = m;
    if (a.json) {
        /* the options as parsed (one table), then what the library reports */
        printf("{\"command\": \"kernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        json_result(info, n, m, X.cols, !a.y, shape, nd, (int)a.threads, secs);
    }
    rc = 0;
done:
    cli_args_free(&cmd, &a);
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}

/* --net SPEC: the Gram of an architecture (dw_net_parse), written out of core as the fully connected one. */
static int kernel_net(kernel_args *a)
{
    static const char *const spelled[] = {"depth", "act", "weight-var", "bias-var", "width", NULL};
    static const char *const fc_only[] = {"all-layers", "bound", NULL};
    int rc = cli_net_refuse(&cmd, a, spelled, fc_only);
    if (rc >= 0) return rc;
    const bool nngp = strcmp(a->kind, "ntk") != 0, ntk = strcmp(a->kind, "nngp") != 0;
    int ndim = 0;
    size_t dims[CLI_POINTS_NDIM_MAX];
    dw_net *net = NULL;
    dw_kernel_opts *o = NULL;
    dw_kernel_info *info = NULL;
    dw_matrix X, Y;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_status s;
    rc = 1;
    if (!cli_net_parse(&net, a->net) || !cli_net_points(net, a->x, a->y, &X, &Y, &ndim, dims)) goto done;
    const size_t n = X.rows, m = a->y ? Y.rows : X.rows, d = X.cols;
    if ((s = dw_net_set_param(net, strcmp(a->param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (s = dw_kernel_opts_init(&o)) || (s = dw_kernel_opts_set_threads(o, (int)a->threads)) ||
        (s = dw_kernel_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    double secs;
    if ((rc = run_file(a, NULL, net, o, &X, a->y ? &Y : NULL, nngp, ntk, info, &secs)) >= 0) goto done;
    size_t shape[3], nd = 0;
    if (nngp && ntk) shape[nd++] = 2;
    shape[nd++] = n;
    shape[nd++] = m;
    if (a->json) {
        /* the fully connected network's variances are not this net's: echoed as null */
        free(a->weight_var.v);
        free(a->bias_var.v);
        a->weight_var = a->bias_var = (cli_reals){NULL, 0};
        printf("{\"command\": \"kernel\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, a);
        cli_net_json(stdout, net, ndim, dims);
        json_result(info, n, m, d, !a->y, shape, nd, (int)a->threads, secs);
    }
    rc = 0;
done:
    dw_kernel_info_clear(info);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}
