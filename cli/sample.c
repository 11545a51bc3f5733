/* deepwick sample: finite random networks, their outputs and empirical NNGP / NTK Grams (theory.md 1.1, 1.3, 2).
 * Reads inputs, calls dw_sample_run, writes .npy files atomically. */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct sample_args {
    cli_args base;
    const char *x, *net, *act, *law, *outputs, *gram, *out, *reduce, *param, *memory;
    long depth, samples, seed, first_sample, out_dim, threads;
    cli_reals width, weight_var, bias_var;
    bool gaussian_input_layer, json, resume;
} sample_args;

#define F(field) offsetof(sample_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy (float64/float32, C order) or .csv", .flags = CLI_REQUIRED},
    {"net", CLI_TEXT, F(net), "SPEC",
     "the network as a one-line spelling (docs/architectures.md), instead of --depth,\n"
     "--act, --weight-var, --bias-var, --out-dim, e.g. 'conv(3x3, same, W_std=1.4,\n"
     "out_chan=8); relu; flatten; dense(W_std=1.4, out_dim=1)'; X of shape (n, d),\n"
     "(n, L, C), (n, H, W, C) or (n, D, H, W, C) (.npy) sets the input shape",
     .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"depth", CLI_INT, F(depth), "L", "number of hidden layers (activations), L >= 0 (required without --net)",
     .flags = 0, .lo = 0, .hi = 10000},
    {"act", CLI_TEXT, F(act), "ACT", "any activation of `deepwick kernel` (relu, erf, leaky_relu:0.1, poly:..., ...)\n"
     "(required without --net)", .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"width", CLI_INTS, F(width), "N", "hidden widths: one value or L comma-separated values, each >= 1\n"
     "(required when L > 0); with --net one value, the width of every dense / conv layer\n"
     "whose out_dim / out_chan the spelling leaves unset", .lo = 1, .hi = 1000000000000L},
    {"law", CLI_TEXT, F(law), "LAW", "gaussian, rademacher, uniform, student-t:NU (NU > 2), sparse:P (0 < P <= 1),\n"
     "complex-gaussian, orthogonal (Haar)", .def = "gaussian", .flags = CLI_HIDDEN_JSON}, /* canonical spelling */
    {"samples", CLI_INT, F(samples), "S", "number of networks", .def = "1", .lo = 1, .hi = 1000000000L},
    {"seed", CLI_INT, F(seed), "SEED", "random seed; network s uses the Philox streams (SEED, s, layer, row block)",
     .def = "0", .lo = 0, .hi = 0x7fffffffffffffffL},
    {"first-sample", CLI_INT, F(first_sample), "K", "index of the first network, to split a run over processes",
     .def = "0", .lo = 0, .hi = 0x7fffffffffffffffL},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 per-layer values", .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values (0: no bias)", .def = "0"},
    {"out-dim", CLI_INT, F(out_dim), "K", "output units d_out", .def = "1", .lo = 1, .hi = 1000000},
    {"outputs", CLI_TEXT, F(outputs), "FILE",
     "f(x) of every network, .npy (S, n, d_out); complex-gaussian: (S, n, d_out, 2) = (re, im)", .flags = CLI_OUTPUT,
     .ext = ".npy"},
    {"gram", CLI_CHOICE, F(gram), "KIND",
     "nngp: V_{L+1}/n_L phi(h^L(x)).phi(h^L(y)) + B_{L+1} (complex: Re E[f(x) conj f(y) | h^L]);\n"
     "ntk: the empirical NTK by back-propagation, averaged over the output units", .choices = "nngp|ntk"},
    {"out", CLI_TEXT, F(out), "FILE", "the Gram output, .npy: (2, n, n) = [mean, standard error] with --reduce mean,\n"
     "(S, n, n) with --reduce none", .flags = CLI_OUTPUT, .ext = ".npy"},
    {"reduce", CLI_CHOICE, F(reduce), "R", "mean (needs S >= 2) or none", .def = "mean", .choices = "mean|none"},
    CLI_OUTFILE_OPTS(sample_args),
    {"param", CLI_CHOICE, F(param), "P", "ntk or standard: the NTK's parameterisation, as in `deepwick kernel`",
     .def = "ntk", .choices = "ntk|standard"},
    {"gaussian-input-layer", CLI_FLAG, F(gaussian_input_layer), NULL,
     "layer 1 (fan-in d, fixed) draws Gaussian weights whatever the law", .flags = 0},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results are bit-identical for any T",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "sample",
    "--x X.npy (--depth L --act ACT --width N | --net SPEC) --law LAW --samples S --seed SEED\n"
    "                       [--outputs F.npy] [--gram nngp|ntk --out G.npy [--reduce mean|none]] [options]",
    "Sample S finite networks h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1}, with\n"
    "W^l = sqrt(V / n_{l-1}) W-hat^l, b^l = sqrt(B) b-hat^l, W-hat of unit-variance entries drawn from LAW and\n"
    "Gaussian b-hat (theory.md 1.1, 2), and evaluate them on the rows of X. Give at least one of --outputs, --gram.\n\n"
    "With --net SPEC, the finite networks of the architecture it spells (conv, pools, layernorm, dropout,\n"
    "residual and parallel branches: docs/architectures.md, docs/sampling.md), Neural Tangents' stax\n"
    "conventions; the outputs are the last layer's positions x channels per input.\n",
    opts,
    "Memory is estimated before anything is allocated; a run that would not fit is refused. The Gram goes to\n"
    "disk by blocks of rows within --memory (every network drawn again per block, the same bits), resumable\n"
    "with --resume (deepwick-mpi: in memory).\n"
    "A progress bar with an ETA is drawn on stderr when stderr is a terminal.\n"};

static int sample_net(sample_args *a);

int cmd_sample(int argc, char **argv)
{
    sample_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc < 0 && !a.net && (!a.act || !cli_given(&cmd, &a, "depth")))
        rc = cli_usage_error("sample", "--%s is required (or --net SPEC)", a.act ? "depth" : "act");
    if (rc < 0 && a.net) {
        static const char *const spelled[] = {"depth", "act", "weight-var", "bias-var", "out-dim", NULL};
        rc = cli_net_refuse(&cmd, &a, spelled, NULL);
        if (rc < 0 && a.width.v && a.width.n != 1)
            rc = cli_usage_error("sample", "--width: one value with --net (the width of every dense / conv layer "
                                 "whose width the spelling leaves unset), got %zu", a.width.n);
    }
    if (rc < 0 && !a.net && !a.width.v && a.depth > 0) rc = cli_usage_error("sample", "--width is required");
    if (rc < 0) rc = cli_outputs_gram(cmd.name, a.outputs, a.gram, a.out);
    if (rc < 0 && !a.gram && (a.memory || a.resume))
        rc = cli_usage_error("sample", "--%s: applies to the Gram (--gram nngp|ntk --out G.npy)",
                             a.memory ? "memory" : "resume");
    const bool red = a.reduce && !strcmp(a.reduce, "mean");
    if (rc < 0 && a.gram && red && a.samples < 2)
        rc = cli_error("--samples: the mean's standard error needs at least 2 samples (got %ld); use --reduce none",
                       a.samples);
    if (rc < 0 && a.net) rc = sample_net(&a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const long depth = a.depth, outdim = a.out_dim;
    const dw_sample_gram gram = !a.gram ? DW_SAMPLE_NO_GRAM : strcmp(a.gram, "ntk") ? DW_SAMPLE_NNGP : DW_SAMPLE_NTK;
    const char *outputs = a.outputs;
    rc = 1;
    double *F = NULL, *G = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_matrix X;
    dw_matrix_init(&X);
    dw_status s;
    dw_law law;
    cli_progress prog;
    cli_progress_init(&prog, "sample");
    if (!cli_law_parse(&law, a.law) || !cli_act_init(&act, a.act) || !cli_read_points(a.x, &X)) goto done;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
        (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) ||
        (depth > 0 && a.width.v && (s = dw_net_set_widths(net, a.width.n, a.width.v))) ||
        (s = dw_net_set_out_dim(net, (size_t)outdim)) ||
        (s = dw_net_set_param(net, strcmp(a.param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (s = dw_net_set_law(net, a.law)) || (s = dw_net_set_gaussian_input_layer(net, a.gaussian_input_layer))) {
        rc = cli_status(s);
        goto done;
    }
    if ((s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_seed(o, (unsigned long long)a.seed)) ||
        (s = dw_sample_opts_set_first_sample(o, (unsigned long long)a.first_sample)) ||
        (s = dw_sample_opts_set_threads(o, (int)a.threads)) ||
        (s = dw_sample_opts_set_progress(o, cli_progress_cb, &prog)) ||
        (s = dw_sample_opts_set_reduce(o, red))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_sample_opts_dist(o)) goto done;
    const size_t n = X.rows, S = (size_t)a.samples;
    /* one process: the Gram out of core (its own memory bound); deepwick-mpi: in memory */
    const bool file = gram && !cli_distributed.sample_split;
    double need;
    if ((s = dw_sample_bytes(net, o, n, X.cols, S, file ? DW_SAMPLE_NO_GRAM : gram, outputs != NULL, &need)) ||
        (s = dw_core_check_alloc(need, "this sampling run"))) {
        rc = cli_status(s);
        goto done;
    }
    const int cplx = law.kind == DW_LAW_COMPLEX_GAUSSIAN;
    const size_t fsize = S * n * (size_t)outdim * (cplx ? 2 : 1), gsize = red ? 2 * n * n : S * n * n;
    if (outputs && !(F = dw_core_alloc_large(fsize * sizeof(double), "the outputs"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    if (gram && !file && !(G = dw_core_alloc_large(gsize * sizeof(double), "the Gram matrices"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    const char *warn = dw_law_warning(&law);
    if (warn) fprintf(stderr, "warning: --law %s: %s\n", a.law, warn);
    double t0 = cli_now();
    if (file) {
        cli_outfile f;
        if ((rc = cli_outfile_begin(&f, "sample", "pairs", a.memory, a.resume, 0)) >= 0) goto done;
        s = dw_sample_run_file(net, o, X.data, n, X.cols, S, gram, F, a.out, f.opts);
        if ((rc = cli_outfile_end(&f, s, a.out, true)) >= 0) goto done;
        rc = 1;
    } else {
        s = dw_sample_run(net, o, X.data, n, X.cols, S, gram, F, G, gram && red ? G + n * n : NULL);
    }
    double secs = cli_now() - t0;
    cli_progress_done(&prog);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t fshape[4] = {S, n, (size_t)outdim, 2}, gshape[3] = {red ? 2 : S, n, n};
    if ((rc = cli_write_outputs_gram(outputs, F, cplx ? 4 : 3, fshape, gram && !file ? a.out : NULL, G, 3, gshape))) {
        if (file) remove(a.out); /* no output alone */
        goto done;
    }
    if (a.json) {
        /* the options as parsed (one table), then what the run reports */
        char lname[128];
        printf("{\"command\": \"sample\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"law\": ");
        cli_json_string(stdout, dw_law_format(&law, lname, sizeof lname));
        printf(", \"n\": %zu, \"d\": %zu, \"threads\": %d, \"seconds\": %.6f}\n", n, X.cols,
               dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    cli_args_free(&cmd, &a);
    dw_core_free_large(F);
    dw_core_free_large(G);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    return rc;
}

/* --net SPEC: the finite networks of an architecture (dw_net_parse; dw_sample_run takes any net). */
static int sample_net(sample_args *a)
{
    const dw_sample_gram gram = !a->gram ? DW_SAMPLE_NO_GRAM : strcmp(a->gram, "ntk") ? DW_SAMPLE_NNGP : DW_SAMPLE_NTK;
    const bool red = !strcmp(a->reduce, "mean");
    int rc = 1, ndim = 0;
    size_t dims[CLI_POINTS_NDIM_MAX], dout = 0;
    double *F = NULL, *G = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_matrix X;
    dw_matrix_init(&X);
    dw_status s;
    dw_law law;
    cli_progress prog;
    cli_progress_init(&prog, "sample");
    if (!cli_law_parse(&law, a->law) || !cli_net_parse(&net, a->net) ||
        !cli_net_points(net, a->x, NULL, &X, NULL, &ndim, dims))
        goto done;
    if ((s = dw_net_set_param(net, strcmp(a->param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (s = dw_net_set_law(net, a->law)) || (s = dw_net_set_gaussian_input_layer(net, a->gaussian_input_layer)) ||
        (s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_seed(o, (unsigned long long)a->seed)) ||
        (s = dw_sample_opts_set_first_sample(o, (unsigned long long)a->first_sample)) ||
        (s = dw_sample_opts_set_threads(o, (int)a->threads)) ||
        (s = dw_sample_opts_set_progress(o, cli_progress_cb, &prog)) || (s = dw_sample_opts_set_reduce(o, red)) ||
        (a->width.v && (s = dw_sample_opts_set_width(o, (size_t)a->width.v[0])))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_sample_opts_dist(o)) goto done;
    if (!cli_net_size(net, o, X.cols, NULL, &dout)) goto done;
    const size_t n = X.rows, S = (size_t)a->samples;
    /* one process: the Gram out of core (its own memory bound); deepwick-mpi: in memory */
    const bool file = gram && !cli_distributed.sample_split;
    double need;
    if ((s = dw_sample_bytes(net, o, n, X.cols, S, file ? DW_SAMPLE_NO_GRAM : gram, a->outputs != NULL, &need)) ||
        (s = dw_core_check_alloc(need, "this sampling run"))) {
        rc = cli_status(s);
        goto done;
    }
    if (a->outputs && !(F = dw_core_alloc_large(S * n * dout * sizeof(double), "the outputs"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    if (gram && !file && !(G = dw_core_alloc_large((red ? 2 : S) * n * n * sizeof(double), "the Gram matrices"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    const char *warn = dw_law_warning(&law);
    if (warn) fprintf(stderr, "warning: --law %s: %s\n", a->law, warn);
    double t0 = cli_now();
    if (file) {
        cli_outfile f;
        if ((rc = cli_outfile_begin(&f, "sample", "pairs", a->memory, a->resume, 0)) >= 0) goto done;
        s = dw_sample_run_file(net, o, X.data, n, X.cols, S, gram, F, a->out, f.opts);
        if ((rc = cli_outfile_end(&f, s, a->out, true)) >= 0) goto done;
        rc = 1;
    } else {
        s = dw_sample_run(net, o, X.data, n, X.cols, S, gram, F, G, gram && red ? G + n * n : NULL);
    }
    double secs = cli_now() - t0;
    cli_progress_done(&prog);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t fshape[3] = {S, n, dout}, gshape[3] = {red ? 2 : S, n, n};
    if ((rc = cli_write_outputs_gram(a->outputs, F, 3, fshape, gram && !file ? a->out : NULL, G, 3, gshape))) {
        if (file) remove(a->out); /* no output alone */
        goto done;
    }
    if (a->json) {
        /* the fully connected network's variances are not this net's (null); out_dim: the net's outputs per input */
        char lname[128];
        free(a->weight_var.v);
        free(a->bias_var.v);
        a->weight_var = a->bias_var = (cli_reals){NULL, 0};
        a->out_dim = (long)dout;
        printf("{\"command\": \"sample\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, a);
        cli_net_json(stdout, net, ndim, dims);
        printf(", \"law\": ");
        cli_json_string(stdout, dw_law_format(&law, lname, sizeof lname));
        printf(", \"n\": %zu, \"d\": %zu, \"threads\": %d, \"seconds\": %.6f}\n", n, X.cols,
               dw_core_threads((int)a->threads), secs);
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    dw_core_free_large(F);
    dw_core_free_large(G);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_matrix_clear(&X);
    return rc;
}
