/* deepwick network: a network with GIVEN weights (.npy files): its outputs and its empirical NNGP / NTK Gram
 * (theory.md 1.1, 1.3). Reads the arrays, calls dw_sample_forward / dw_sample_network_gram, writes .npy atomically. */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct network_args {
    cli_args base;
    const char *x, *y, *net, *params, *init_params, *law, *param, *weights, *biases, *act, *outputs, *gram, *out;
    const char *memory;
    cli_reals weight_scale, bias_scale;
    long threads, seed, sample, width;
    bool json, resume;
} network_args;

#define F(field) offsetof(network_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy (float64/float32, C order) or .csv", .flags = CLI_REQUIRED},
    {"net", CLI_TEXT, F(net), "SPEC",
     "an architecture as a one-line spelling (docs/architectures.md), instead of\n"
     "--weights, --act, --biases: its parameters are --params or drawn by --init-params;\n"
     "X of shape (n, d), (n, L, C), (n, H, W, C) or (n, D, H, W, C) (.npy) sets the\n"
     "input shape", .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"params", CLI_TEXT, F(params), "FILE",
     "with --net: the network's trainable parameters, a .npy vector in the layout of\n"
     "dw_sample_params (deepwick/sample.h; deepwick.sampling.init_params): every dense /\n"
     "conv layer in order, its kernel (filter x C_in x C_out, HWIO) then its bias", .flags = 0},
    {"init-params", CLI_TEXT, F(init_params), "FILE",
     "with --net: draw the parameters of network --sample of --seed (the networks of\n"
     "`deepwick sample --net`) and write them, .npy (n_params,); --outputs / --gram then\n"
     "evaluate that network", .flags = CLI_OUTPUT, .ext = ".npy"},
    {"seed", CLI_INT, F(seed), "SEED", "with --net: the seed of --init-params and of train-mode dropout's masks",
     .def = "0", .lo = 0, .hi = 0x7fffffffffffffffL},
    {"sample", CLI_INT, F(sample), "K", "with --net: the network's index among the seed's (as --seed)", .def = "0",
     .lo = 0, .hi = 0x7fffffffffffffffL},
    {"width", CLI_INT, F(width), "N",
     "with --net: the width of every dense / conv layer whose out_dim / out_chan the\n"
     "spelling leaves unset", .lo = 1, .hi = 1L << 30},
    {"law", CLI_TEXT, F(law), "LAW", "with --net: the weights' law of --init-params (as `deepwick sample`)",
     .def = "gaussian", .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"param", CLI_CHOICE, F(param), "P",
     "with --net: ntk or standard, the parameterisation of layers whose spelling leaves it\n"
     "unset", .def = "ntk", .choices = "ntk|standard"},
    {"weights", CLI_TEXT, F(weights), "LIST",
     "comma-separated .npy files, W_l of shape (n_l, n_{l-1}), n_0 = d, used as given\n(required without --net)",
     .flags = 0},
    {"act", CLI_TEXT, F(act), "ACT", "the activation after every layer but the last (any of `deepwick kernel`)\n"
     "(required without --net)", .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"biases", CLI_TEXT, F(biases), "LIST",
     "comma-separated .npy files of shape (n_l,), one per layer; '-' for a layer without bias\n"
     "(default: no biases)", .flags = CLI_HIDDEN_JSON}, /* "biases" reports which layers have one */
    {"outputs", CLI_TEXT, F(outputs), "FILE", "f(x), .npy (n, n_L)", .flags = CLI_OUTPUT, .ext = ".npy"},
    {"gram", CLI_CHOICE, F(gram), "KIND",
     "ntk: the tangent kernel in every weight and bias, by back-propagation, averaged over\n"
     "the n_L outputs: (1/n_L) sum_k sum_l <df_k/dh^l(x), df_k/dh^l(y)> (ws_l a.a + bs_l);\n"
     "nngp: ws_L a^{L-1}(x).a^{L-1}(y) + bs_L", .choices = "nngp|ntk"},
    {"y", CLI_TEXT, F(y), "FILE", "second inputs, m x d: the cross Gram K(x_i, y_j), (n, m)", .flags = 0},
    {"out", CLI_TEXT, F(out), "FILE", "the Gram, .npy (n, n), or (n, m) with --y: written by blocks of rows into\n"
     ".FILE.deepwick-partial beside it, renamed when complete", .flags = CLI_OUTPUT, .ext = ".npy"},
    {"memory", CLI_TEXT, F(memory), "SIZE",
     "the Gram's working memory, e.g. 2G, 512M (K, M, G, T: powers of 1024; default:\n"
     "half the available memory); the Gram goes to disk by row blocks", .flags = 0},
    {"resume", CLI_FLAG, F(resume), NULL,
     "continue an interrupted run (Ctrl-C, kill) of the same command from the Gram's\n"
     "completed rows (recorded in .FILE.deepwick-resume)", .flags = 0},
    {"weight-scale", CLI_REALS, F(weight_scale), "S",
     "ws_l: one value or L values (default 1). If the trainable parameters are theta_l with\n"
     "W_l = s_l theta_l, ws_l = s_l^2 (NTK parameterisation: weight_var / n_{l-1})", .flags = CLI_NONNEG},
    {"bias-scale", CLI_REALS, F(bias_scale), "B", "bs_l: one value or L values (default 1; NTK parameterisation: "
     "bias_var)", .flags = CLI_NONNEG},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); the result does not depend on T",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "network",
    "--x X.npy --weights W1.npy,...,WL.npy --act ACT [--biases b1.npy,...,bL.npy]\n"
    "                        [--outputs F.npy] [--gram nngp|ntk --out G.npy] [options]\n"
    "       deepwick network --x X.npy --net SPEC (--params THETA.npy | --init-params THETA.npy [--seed S])\n"
    "                        [--outputs F.npy] [--gram nngp|ntk --out G.npy] [options]",
    "The network h^1 = W_1 x + b_1, h^{l+1} = W_{l+1} phi(h^l) + b_{l+1}, f = h^L with the weights you give\n"
    "(trained ones, torch's nn.Linear weights saved with numpy.save, or sampled ones), on the rows of X.\n"
    "Give at least one of --outputs, --gram.\n\n"
    "With --net SPEC, the network of an architecture (docs/architectures.md) whose trainable parameters are the\n"
    "vector THETA (--params), or drawn (--init-params writes them: draw, then evaluate, e.g. after training them\n"
    "elsewhere): its outputs (n, out_dim), out_dim = the last layer's positions x channels, and its empirical\n"
    "NNGP / NTK Gram, as `deepwick sample --net` computes them for sampled networks.\n",
    opts, NULL};

/* Split a comma-separated list of paths (in place in a copy); count in *n. */
static char **split_paths(const char *opt, const char *text, size_t *n)
{
    char *copy = strdup(text);
    size_t k = 1;
    for (const char *p = text; *p; p++) k += *p == ',';
    char **v = copy ? malloc((k + 1) * sizeof *v) : NULL;
    if (!v) {
        free(copy);
        cli_error("%s: out of memory", opt);
        return NULL;
    }
    size_t i = 0;
    for (char *p = copy, *e; i < k; p = e + 1) {
        e = strchr(p, ',');
        if (e) *e = '\0';
        if (!*p) {
            cli_error("%s: entry %zu is empty", opt, i + 1);
            free(copy);
            free(v);
            return NULL;
        }
        v[i++] = p;
        if (!e) break;
    }
    v[k] = copy; /* the storage, freed by free_paths */
    *n = k;
    return v;
}

static void free_paths(char **v, size_t n)
{
    if (!v) return;
    free(v[n]);
    free(v);
}

/* Per-layer scales: one value (repeated) or L; NULL for the default. 1, or 0 after the error. */
static int layer_scales(const char *opt, const cli_reals *r, size_t L, double **out)
{
    *out = NULL;
    if (!r->v) return 1;
    if (r->n != 1 && r->n != L)
        return cli_error("%s: expected 1 or %zu values (one per layer), got %zu", opt, L, r->n), 0;
    double *w = malloc(L * sizeof *w);
    if (!w) return cli_error("%s: out of memory", opt), 0;
    for (size_t i = 0; i < L; i++) w[i] = r->v[r->n == 1 ? 0 : i];
    *out = w;
    return 1;
}

/* The options' combinations, one usage line for the first wrong one; -1 if fine. */
static int network_check(const network_args *a)
{
    static const char *const net_only[] = {"params", "init-params", "seed", "sample", "width", "law", "param", NULL};
    if (!a->net) {
        for (size_t k = 0; net_only[k]; k++)
            if (cli_given(&cmd, a, net_only[k]))
                return cli_usage_error("network", "--%s: only with --net SPEC (an architecture's parameter vector)",
                                       net_only[k]);
        if (!a->weights || !a->act)
            return cli_usage_error("network", "--%s is required (or --net SPEC)", a->weights ? "act" : "weights");
    }
    if ((a->memory || a->resume) && !a->gram)
        return cli_usage_error("network", "--%s: applies to the Gram (--gram nngp|ntk --out G.npy)",
                               a->memory ? "memory" : "resume");
    if (!a->net) return cli_outputs_gram(cmd.name, a->outputs, a->gram, a->out);
    static const char *const spelled[] = {"act", NULL};
    static const char *const given_only[] = {"weights", "biases", "weight-scale", "bias-scale", NULL};
    int rc = cli_net_refuse(&cmd, a, spelled, given_only);
    if (rc >= 0) return rc;
    if (!a->params == !a->init_params)
        return cli_usage_error("network", a->params ? "--params and --init-params: give one (evaluate a vector, or "
                                                      "draw one)"
                                                    : "--net needs --params THETA.npy or --init-params THETA.npy");
    if (a->params && cli_given(&cmd, a, "law"))
        return cli_usage_error("network", "--law: only with --init-params (it draws the parameters)");
    if (a->params || a->outputs || a->gram || a->out)
        if ((rc = cli_outputs_gram(cmd.name, a->outputs, a->gram, a->out)) >= 0) return rc;
    if (a->init_params && ((a->outputs && !strcmp(a->outputs, a->init_params)) ||
                           (a->out && !strcmp(a->out, a->init_params))))
        return cli_error("--init-params and --%s name the same file '%s'",
                         a->outputs && !strcmp(a->outputs, a->init_params) ? "outputs" : "out", a->init_params);
    return -1;
}

static int network_net(network_args *a);

int cmd_network(int argc, char **argv)
{
    network_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc < 0) rc = network_check(&a);
    if (rc < 0 && a.y && !a.gram)
        rc = cli_usage_error("network", "--y needs --gram nngp|ntk (it gives the cross Gram)");
    if (rc < 0 && a.net) rc = network_net(&a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const dw_sample_gram gram = !a.gram ? DW_SAMPLE_NO_GRAM : strcmp(a.gram, "ntk") ? DW_SAMPLE_NNGP : DW_SAMPLE_NTK;
    const char *outputs = a.outputs;
    rc = 1;
    size_t L = 0, nbias = 0;
    char **wp = NULL, **bp = NULL;
    dw_matrix *Wm = NULL, *bm = NULL, X, Y;
    const double **W = NULL, **b = NULL;
    size_t *widths = NULL;
    double *ws = NULL, *bs = NULL, *F = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_status s;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    if (!(wp = split_paths("--weights", a.weights, &L))) goto done;
    if (a.biases && !(bp = split_paths("--biases", a.biases, &nbias))) goto done;
    if (bp && nbias != L) {
        cli_error("--biases: expected %zu entries (one per layer, '-' for none), got %zu", L, nbias);
        goto done;
    }
    if (!layer_scales("--weight-scale", &a.weight_scale, L, &ws) ||
        !layer_scales("--bias-scale", &a.bias_scale, L, &bs))
        goto done;
    if (!cli_act_init(&act, a.act) || !cli_read_points(a.x, &X)) goto done;
    if (a.y && !cli_read_points(a.y, &Y)) goto done;
    if (a.y && Y.cols != X.cols) {
        cli_error("--y: %s has %zu columns, but --x has %zu", a.y, Y.cols, X.cols);
        goto done;
    }
    Wm = calloc(L, sizeof *Wm), bm = calloc(L, sizeof *bm);
    W = calloc(L, sizeof *W), b = calloc(L, sizeof *b), widths = calloc(L + 1, sizeof *widths);
    if (!Wm || !bm || !W || !b || !widths) {
        cli_error("network: out of memory");
        goto done;
    }
    widths[0] = X.cols;
    for (size_t l = 0; l < L; l++) {
        dw_matrix_init(&Wm[l]);
        dw_matrix_init(&bm[l]);
    }
    for (size_t l = 0; l < L; l++) {
        if ((s = dw_io_read_npy(&Wm[l], wp[l]))) {
            rc = cli_status(s);
            goto done;
        }
        if (Wm[l].cols != widths[l]) {
            cli_error("--weights: %s has shape (%zu, %zu): it expects %zu inputs, but %s %zu %s", wp[l], Wm[l].rows,
                      Wm[l].cols, Wm[l].cols, l == 0 ? "X has" : "the layer before has", widths[l],
                      l == 0 ? "columns" : "outputs");
            goto done;
        }
        if (Wm[l].rows == 0) {
            cli_error("--weights: %s has no rows (output units)", wp[l]);
            goto done;
        }
        widths[l + 1] = Wm[l].rows;
        W[l] = Wm[l].data;
        if (bp && strcmp(bp[l], "-")) {
            if ((s = dw_io_read_npy(&bm[l], bp[l]))) {
                rc = cli_status(s);
                goto done;
            }
            if (bm[l].rows * bm[l].cols != widths[l + 1] || (bm[l].rows != 1 && bm[l].cols != 1)) {
                cli_error("--biases: %s has shape (%zu, %zu), expected (%zu,) for layer %zu", bp[l], bm[l].rows,
                          bm[l].cols, widths[l + 1], l + 1);
                goto done;
            }
            b[l] = bm[l].data;
        }
    }
    const size_t n = X.rows, dout = widths[L], m = a.y ? Y.rows : n;
    if (outputs && !(F = malloc(n * dout * sizeof *F))) {
        cli_error("--outputs: out of memory (%zu x %zu doubles)", n, dout);
        goto done;
    }
    if ((s = dw_net_init(&net)) || (s = dw_net_set_given(net, act, L, widths, W, b, true)) ||
        (ws && (s = dw_net_set_weight_var(net, L, ws))) || (bs && (s = dw_net_set_bias_var(net, L, bs))) ||
        (s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_threads(o, (int)a.threads))) {
        rc = cli_status(s);
        goto done;
    }
    const double t0 = cli_now();
    if (outputs && (s = dw_sample_forward(net, o, X.data, n, X.cols, F))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t fshape[2] = {n, dout};
    if (outputs && (s = dw_io_write_npy(outputs, F, 2, fshape))) {
        rc = cli_status(s);
        goto done;
    }
    if (gram) { /* out of core, after the outputs: a failure removes them (no output alone) */
        cli_outfile f;
        if ((rc = cli_outfile_begin(&f, "network", "pairs", a.memory, a.resume, 0)) < 0) {
            s = dw_sample_network_gram_file(net, o, X.data, n, a.y ? Y.data : NULL, m, X.cols, gram, a.out, f.opts);
            rc = cli_outfile_end(&f, s, a.out, true);
        }
        if (rc >= 0) {
            if (outputs) remove(outputs);
            goto done;
        }
    }
    const double secs = cli_now() - t0;
    if (a.json) {
        /* the options as parsed (one table), then what the network is */
        printf("{\"command\": \"network\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"widths\": [");
        for (size_t l = 0; l <= L; l++) printf("%s%zu", l ? ", " : "", widths[l]);
        printf("], \"n\": %zu, \"m\": %zu, \"biases\": [", n, m);
        for (size_t l = 0; l < L; l++) printf("%s%s", l ? ", " : "", b[l] ? "true" : "false");
        printf("], \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    for (size_t l = 0; Wm && l < L; l++) dw_matrix_clear(&Wm[l]);
    for (size_t l = 0; bm && l < L; l++) dw_matrix_clear(&bm[l]);
    free(Wm), free(bm), free(W), free(b), free(widths), free(ws), free(bs), free(F);
    cli_args_free(&cmd, &a);
    free_paths(wp, L);
    free_paths(bp, nbias);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}

/* --net SPEC: one network of an architecture, its parameters the flat vector of dw_sample_params (given or drawn). */
static int network_net(network_args *a)
{
    const dw_sample_gram gram = !a->gram ? DW_SAMPLE_NO_GRAM : strcmp(a->gram, "ntk") ? DW_SAMPLE_NNGP : DW_SAMPLE_NTK;
    int rc = 1, ndim = 0;
    size_t dims[CLI_POINTS_NDIM_MAX], npar = 0, dout = 0;
    double *theta = NULL, *F = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_matrix X, Y, T;
    dw_matrix_init(&X);
    dw_matrix_init(&Y);
    dw_matrix_init(&T);
    dw_status s;
    dw_law law;
    if (!cli_law_parse(&law, a->law) || !cli_net_parse(&net, a->net) ||
        !cli_net_points(net, a->x, a->y, &X, &Y, &ndim, dims))
        goto done;
    const size_t n = X.rows, m = a->y ? Y.rows : n, d = X.cols;
    if ((s = dw_net_set_param(net, strcmp(a->param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (s = dw_net_set_law(net, a->law)) || (s = dw_sample_opts_init(&o)) ||
        (s = dw_sample_opts_set_seed(o, (unsigned long long)a->seed)) ||
        (s = dw_sample_opts_set_first_sample(o, (unsigned long long)a->sample)) ||
        (s = dw_sample_opts_set_threads(o, (int)a->threads)) ||
        (a->width && (s = dw_sample_opts_set_width(o, (size_t)a->width)))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_net_size(net, o, d, &npar, &dout)) goto done;
    if (a->params) {
        if ((s = dw_io_read_npy(&T, a->params))) {
            rc = cli_status(s);
            goto done;
        }
        if ((T.rows != 1 && T.cols != 1) || T.rows * T.cols != npar) {
            rc = cli_error("--params: %s has shape (%zu, %zu): the network has %zu parameters "
                           "(dw_sample_params_size), a vector (%zu,)", a->params, T.rows, T.cols, npar, npar);
            goto done;
        }
        theta = T.data;
    } else {
        if ((s = dw_core_check_alloc(8.0 * (double)npar, "the parameters"))) {
            rc = cli_status(s);
            goto done;
        }
        if (!(theta = T.data = dw_core_alloc_large((npar ? npar : 1) * sizeof *theta, "the parameters"))) {
            rc = cli_status(DW_ERR_NOMEM);
            goto done;
        }
        const char *warn = dw_law_warning(&law);
        if (warn) fprintf(stderr, "warning: --law %s: %s\n", a->law, warn);
        if ((s = dw_sample_params(net, o, d, theta, npar))) {
            rc = cli_status(s);
            goto done;
        }
    }
    if (a->outputs && (s = dw_core_check_alloc(8.0 * (double)n * (double)dout, "the outputs"))) {
        rc = cli_status(s);
        goto done;
    }
    if (a->outputs && !(F = dw_core_alloc_large(n * dout * sizeof *F, "the outputs"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    const double t0 = cli_now();
    if (a->outputs && (s = dw_sample_apply(net, o, theta, npar, X.data, n, d, F))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t fshape[2] = {n, dout}, tshape[1] = {npar};
    if (a->init_params && (s = dw_io_write_npy(a->init_params, theta, 1, tshape))) {
        rc = cli_status(s);
        goto done;
    }
    if ((rc = cli_write_outputs_gram(a->outputs, F, 2, fshape, NULL, NULL, 2, fshape)) == 0 && gram) {
        /* out of core, after the other outputs: a failure removes them (no output alone) */
        cli_outfile f;
        if ((rc = cli_outfile_begin(&f, "network", "pairs", a->memory, a->resume, 0)) < 0) {
            s = dw_sample_params_gram_file(net, o, theta, npar, X.data, n, a->y ? Y.data : NULL, m, d, gram, a->out,
                                           f.opts);
            rc = cli_outfile_end(&f, s, a->out, true);
        }
        if (rc >= 0 && a->outputs) remove(a->outputs);
        rc = rc < 0 ? 0 : rc;
    }
    const double secs = cli_now() - t0;
    if (rc) {
        if (a->init_params) remove(a->init_params); /* no partial output */
        goto done;
    }
    if (a->json) {
        char lname[128];
        printf("{\"command\": \"network\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, a);
        cli_net_json(stdout, net, ndim, dims);
        printf(", \"law\": ");
        cli_json_string(stdout, dw_law_format(&law, lname, sizeof lname));
        printf(", \"n_params\": %zu, \"out_dim\": %zu, \"n\": %zu, \"m\": %zu, \"d\": %zu, \"threads\": %d, "
               "\"seconds\": %.6f}\n", npar, dout, n, m, d, dw_core_threads((int)a->threads), secs);
    }
    rc = 0;
done:
    if (a->params) dw_matrix_clear(&T);
    else dw_core_free_large(T.data);
    dw_core_free_large(F);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_matrix_clear(&X);
    dw_matrix_clear(&Y);
    return rc;
}
