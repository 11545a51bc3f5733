/* deepwick sample: finite random networks, their outputs and empirical NNGP / NTK Grams (theory.md 1.1, 1.3, 2).
 * Reads inputs, calls dw_sample_run, writes .npy files atomically. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick sample --x X.npy --depth L --act ACT --width N --law LAW --samples S --seed SEED\n"
    "                       [--outputs F.npy] [--gram nngp|ntk --out G.npy [--reduce mean|none]] [options]\n"
    "\n"
    "Sample S finite networks h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1}, with\n"
    "W^l = sqrt(V / n_{l-1}) W-hat^l, b^l = sqrt(B) b-hat^l, W-hat of unit-variance entries drawn from LAW and\n"
    "Gaussian b-hat (theory.md 1.1, 2), and evaluate them on the rows of X.\n"
    "\n"
    "required:\n"
    "  --x FILE            inputs, n x d: .npy (float64/float32, C order) or .csv\n"
    "  --depth L           number of hidden layers (activations), L >= 0\n"
    "  --act ACT           any activation of `deepwick kernel` (relu, erf, leaky_relu:0.1, poly:..., ...)\n"
    "  --width N           hidden widths: one value or L comma-separated values, each >= 1\n"
    "  and at least one of --outputs, --gram\n"
    "options:\n"
    "  --law LAW           gaussian (default), rademacher, uniform, student-t:NU (NU > 2), sparse:P (0 < P <= 1),\n"
    "                      complex-gaussian, orthogonal (Haar)\n"
    "  --samples S         number of networks (default 1)\n"
    "  --seed SEED         random seed (default 0); network s uses the Philox streams (SEED, s, layer, row block)\n"
    "  --first-sample K    index of the first network (default 0), to split a run over processes\n"
    "  --weight-var V      sigma_w^2, one value or L+1 per-layer values (default 1)\n"
    "  --bias-var B        sigma_b^2, one value or L+1 values (default 0: no bias)\n"
    "  --out-dim K         output units d_out (default 1)\n"
    "  --outputs FILE      f(x) of every network, .npy (S, n, d_out); complex-gaussian: (S, n, d_out, 2) = (re, im)\n"
    "  --gram KIND         nngp: V_{L+1}/n_L phi(h^L(x)).phi(h^L(y)) + B_{L+1} (complex: Re E[f(x) conj f(y) | h^L]);\n"
    "                      ntk: the empirical NTK by back-propagation, averaged over the output units\n"
    "  --out FILE          the Gram output, .npy: (2, n, n) = [mean, standard error] with --reduce mean,\n"
    "                      (S, n, n) with --reduce none\n"
    "  --reduce R          mean (default; needs S >= 2) or none\n"
    "  --param P           ntk (default) or standard: the NTK's parameterisation, as in `deepwick kernel`\n"
    "  --gaussian-input-layer  layer 1 (fan-in d, fixed) draws Gaussian weights whatever the law\n"
    "  --threads T         threads (default: all cores); results are bit-identical for any T\n"
    "  --json              print a machine-readable summary on stdout\n"
    "  -h, --help          this help\n"
    "\n"
    "Memory is estimated before anything is allocated; a run that would not fit is refused.\n"
    "A progress bar with an ETA is drawn on stderr when stderr is a terminal.\n";

/* Parse a list of positive integer widths (kept as doubles, the network object's type). */
static int parse_widths(const char *opt, const char *text, double **out, size_t *count)
{
    double *v;
    size_t n;
    if (!cli_parse_list(opt, text, &v, &n)) return 0;
    for (size_t k = 0; k < n; k++) {
        if (v[k] < 1 || v[k] != floor(v[k]) || v[k] > 1e12) {
            cli_error("%s: value %zu (%g) must be an integer >= 1", opt, k + 1, v[k]);
            free(v);
            return 0;
        }
    }
    *out = v;
    *count = n;
    return 1;
}

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},          {"depth", required_argument, 0, 'L'},
        {"act", required_argument, 0, 'a'},        {"width", required_argument, 0, 'W'},
        {"weight-var", required_argument, 0, 'w'}, {"bias-var", required_argument, 0, 'b'},
        {"law", required_argument, 0, 'l'},        {"samples", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 's'},       {"first-sample", required_argument, 0, 'F'},
        {"outputs", required_argument, 0, 'O'},    {"gram", required_argument, 0, 'g'},
        {"out", required_argument, 0, 'o'},        {"reduce", required_argument, 0, 'r'},
        {"out-dim", required_argument, 0, 'D'},    {"param", required_argument, 0, 'p'},
        {"gaussian-input-layer", no_argument, 0, 'G'}, {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *widtext = NULL, *lawtext = "gaussian", *outputs = NULL;
    const char *gramtext = NULL, *reduce = "mean", *param = "ntk", *wtext = "1", *btext = "0";
    long depth = -1, samples = 1, outdim = 1, seed = 0, first = 0;
    int gauss1 = 0, c;
    cli_common co;
    cli_common_init(&co, "sample", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'L':
            if (!cli_parse_int("--depth", optarg, -1000000, 10000, &depth)) return 1;
            if (depth < 0) return cli_error("--depth: must be >= 0 (got %ld)", depth);
            break;
        case 'W': widtext = optarg; break;
        case 'w': wtext = optarg; break;
        case 'b': btext = optarg; break;
        case 'l': lawtext = optarg; break;
        case 'S':
            if (!cli_parse_int("--samples", optarg, -1000000000L, 1000000000L, &samples)) return 1;
            if (samples < 1) return cli_error("--samples: must be >= 1 (got %ld)", samples);
            break;
        case 's':
            if (!cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 1;
            break;
        case 'F':
            if (!cli_parse_int("--first-sample", optarg, 0, 0x7fffffffffffffffL, &first)) return 1;
            break;
        case 'O': outputs = optarg; break;
        case 'g': gramtext = optarg; break;
        case 'r': reduce = optarg; break;
        case 'D':
            if (!cli_parse_int("--out-dim", optarg, -1000000, 1000000, &outdim)) return 1;
            if (outdim < 1) return cli_error("--out-dim: must be >= 1 (got %ld)", outdim);
            break;
        case 'p': param = optarg; break;
        case 'G': gauss1 = 1; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (depth < 0) return cli_usage_error("sample", "--depth is required");
    if (!co.act) return cli_usage_error("sample", "--act is required");
    if (!widtext && depth > 0) return cli_usage_error("sample", "--width is required");
    if (!outputs && !gramtext) return cli_usage_error("sample", "nothing to do: give --outputs FILE and/or --gram KIND --out FILE");
    dw_sample_gram gram;
    if ((c = cli_parse_gram(&co, gramtext, &gram)) >= 0) return c;
    if (strcmp(reduce, "mean") && strcmp(reduce, "none")) return cli_error("--reduce: expected mean or none (got '%s')", reduce);
    const int red = !strcmp(reduce, "mean");
    if (gram && red && samples < 2)
        return cli_error("--samples: the mean's standard error needs at least 2 samples (got %ld); use --reduce none", samples);
    if (strcmp(param, "ntk") && strcmp(param, "standard")) return cli_error("--param: expected ntk or standard (got '%s')", param);
    if (outputs && !cli_npy_path("--outputs", outputs)) return 1;
    if (co.out && !cli_npy_path("--out", co.out)) return 1;
    if (outputs && co.out && !strcmp(outputs, co.out)) return cli_error("--outputs and --out name the same file '%s'", co.out);

    int rc = 1;
    double *wv = NULL, *bv = NULL, *F = NULL, *G = NULL, *wid = NULL;
    size_t nw = 0, nb = 0, nwid = 0;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_matrix X;
    dw_matrix_init(&X);
    dw_status s;
    dw_law law;
    cli_progress prog;
    cli_progress_init(&prog, "sample");
    if (!cli_parse_list("--weight-var", wtext, &wv, &nw) || !cli_parse_list("--bias-var", btext, &bv, &nb)) goto done;
    if (widtext && !parse_widths("--width", widtext, &wid, &nwid)) goto done;
    if (!cli_law_parse(&law, lawtext) || !cli_act_init(&act, co.act)) goto done;
    if (!cli_check_writable("--outputs", outputs) || !cli_check_writable("--out", co.out)) goto done;
    if (!cli_read_points(co.x, &X)) goto done;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, nw, wv)) || (s = dw_net_set_bias_var(net, nb, bv)) ||
        (depth > 0 && wid && (s = dw_net_set_widths(net, nwid, wid))) ||
        (s = dw_net_set_out_dim(net, (size_t)outdim)) ||
        (s = dw_net_set_param(net, strcmp(param, "standard") ? DW_PARAM_NTK : DW_PARAM_STANDARD)) ||
        (s = dw_net_set_law(net, lawtext)) || (s = dw_net_set_gaussian_input_layer(net, gauss1))) {
        rc = cli_status(s);
        goto done;
    }
    if ((s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_seed(o, (unsigned long long)seed)) ||
        (s = dw_sample_opts_set_first_sample(o, (unsigned long long)first)) ||
        (s = dw_sample_opts_set_threads(o, (int)co.threads)) ||
        (s = dw_sample_opts_set_progress(o, cli_progress_cb, &prog)) ||
        (s = dw_sample_opts_set_reduce(o, red))) {
        rc = cli_status(s);
        goto done;
    }
    const size_t n = X.rows, S = (size_t)samples;
    double need;
    if ((s = dw_sample_bytes(net, o, n, X.cols, S, gram, outputs != NULL, &need)) ||
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
    if (gram && !(G = dw_core_alloc_large(gsize * sizeof(double), "the Gram matrices"))) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    const char *warn = dw_law_warning(&law);
    if (warn) fprintf(stderr, "warning: --law %s: %s\n", lawtext, warn);
    double t0 = cli_now();
    s = dw_sample_run(net, o, X.data, n, X.cols, S, gram, F, G, gram && red ? G + n * n : NULL);
    double secs = cli_now() - t0;
    cli_progress_done(&prog);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t fshape[4] = {S, n, (size_t)outdim, 2}, gshape[3] = {red ? 2 : S, n, n};
    if ((rc = cli_write_outputs_gram(outputs, F, cplx ? 4 : 3, fshape, gram ? co.out : NULL, G, 3, gshape))) goto done;
    if (co.json) {
        char lname[128];
        printf("{\"command\": \"sample\", \"version\": \"%s\", \"act\": ", dw_version());
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"law\": ");
        cli_json_string(stdout, dw_law_format(&law, lname, sizeof lname));
        printf(", \"depth\": %ld, \"width\": [", depth);
        for (size_t k = 0; k < nwid; k++) printf("%s%.0f", k ? ", " : "", wid[k]);
        printf("], \"samples\": %zu, \"seed\": %ld, \"first_sample\": %ld, \"n\": %zu, \"d\": %zu, \"out_dim\": %ld, "
               "\"param\": \"%s\", \"gaussian_input_layer\": %s, \"gram\": %s%s%s, \"reduce\": \"%s\", \"outputs\": ",
               S, seed, first, n, X.cols, outdim, param, gauss1 ? "true" : "false", gram ? "\"" : "",
               gram ? gramtext : "null", gram ? "\"" : "", reduce);
        cli_json_path(stdout, outputs);
        printf(", \"out\": ");
        cli_json_path(stdout, co.out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)co.threads), secs);
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    free(wv);
    free(bv);
    free(wid);
    dw_core_free_large(F);
    dw_core_free_large(G);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    return rc;
}
