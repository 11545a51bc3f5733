/* deepwick converge: how fast empirical Grams of finite networks approach the exact limit (theory.md 1.4).
 * Reads inputs, calls dw_sample_converge, prints a table or JSON, writes an SVG plot atomically. */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct converge_args {
    cli_args base;
    const char *x, *net, *act, *law, *kind, *param, *plot;
    long depth, samples, seed, out_dim, threads;
    cli_reals widths, weight_var, bias_var;
    bool gaussian_input_layer, json, predict;
} converge_args;

#define F(field) offsetof(converge_args, field)
static const cli_opt opts[] = {
    {"x", CLI_TEXT, F(x), "FILE", "inputs, n x d: .npy or .csv", .flags = CLI_REQUIRED},
    {"net", CLI_TEXT, F(net), "SPEC",
     "an architecture as a one-line spelling (docs/architectures.md), instead of --depth,\n"
     "--act, --weight-var, --bias-var, --out-dim: every dense / conv layer but the readout\n"
     "(the last one at the top level) gets the study's width; X of shape (n, d), (n, L, C),\n"
     "(n, H, W, C) or (n, D, H, W, C) (.npy) sets the input shape",
     .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"depth", CLI_INT, F(depth), "L", "number of hidden layers, L >= 1 (depth 0 equals its limit exactly)\n"
     "(required without --net)", .flags = 0, .lo = 1, .hi = 10000},
    {"act", CLI_TEXT, F(act), "ACT", "any activation of `deepwick kernel` (required without --net)",
     .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"widths", CLI_INTS, F(widths), "LIST", "at least 2 distinct widths, e.g. 64,128,256,512",
     .flags = CLI_REQUIRED | CLI_HIDDEN_JSON, .lo = 1, .hi = 1000000000000L}, /* "widths" holds the results */
    {"samples", CLI_INT, F(samples), "S", "networks per width, S >= 2 (for standard errors)", .flags = CLI_REQUIRED,
     .lo = 2, .hi = 1000000000L},
    {"law", CLI_TEXT, F(law), "LAW",
     "gaussian, rademacher, uniform, student-t:NU, sparse:P, complex-gaussian (nngp\nonly), orthogonal",
     .def = "gaussian", .flags = CLI_HIDDEN_JSON}, /* echoed in its canonical spelling */
    {"kind", CLI_CHOICE, F(kind), "K", "ntk or nngp", .def = "ntk", .choices = "nngp|ntk"},
    {"param", CLI_CHOICE, F(param), "P",
     "ntk or standard; the NNGP is the same in both; the standard parameterisation's NTK\n"
     "grows like the width (no limit to converge to) and is refused",
     .def = "ntk", .choices = "ntk|standard"},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 values", .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values", .def = "0"},
    {"seed", CLI_INT, F(seed), "SEED", "random seed", .def = "0", .lo = 0, .hi = 0x7fffffffffffffffL},
    {"out-dim", CLI_INT, F(out_dim), "K", "output units (the NTK is averaged over them)", .def = "1", .lo = 1,
     .hi = 1000000},
    {"gaussian-input-layer", CLI_FLAG, F(gaussian_input_layer), NULL,
     "layer 1 (fan-in d, which does not grow with N) draws Gaussian weights: with a\n"
     "non-Gaussian law there the limit is off by O(kappa_4 / d) at every width",
     .flags = 0},
    {"predict", CLI_FLAG, F(predict), NULL,
     "also the finite-width expansion's predictions (`deepwick finite-width`, theory.md 1.6): RMS error\n"
     "sqrt(C/N) and mean bias q1/N per width, measured/predicted, and their lines on the plot\n"
     "(Gaussian weights, --out-dim 1)", .flags = 0},
    {"plot", CLI_TEXT, F(plot), "FILE", "log-log plot of the relative RMS error and bias, SVG",
     .flags = CLI_OUTPUT, .ext = ".svg"},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results are bit-identical for any T",
     .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL, "print the results as one JSON object instead of the table",
     .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "converge",
    "--x X.npy (--depth L --act ACT | --net SPEC) --widths 64,128,...,4096 --samples S\n"
    "                         [--law LAW] [--kind nngp|ntk] [--json] [--plot conv.svg] [options]",
    "For each hidden width N (every hidden layer N), sample S networks and compare their empirical Gram G_s\n"
    "(`deepwick sample --gram`) with the exact limit K (`deepwick kernel`, NTK parameterisation); width i (from 0)\n"
    "uses networks i S .. (i+1) S - 1 of the seed, so that the widths are independent:\n"
    "  rms   = sqrt(mean_s |G_s - K|_F^2) with its standard error, and rms / |K|_F;\n"
    "  bias  = mean over entries of (mean_s G_s - K) with its standard error, and |mean_s G_s - K|_F beside\n"
    "          its size without bias, sqrt(sum of squared entry standard errors);\n"
    "then the slope of log rms against log N (weighted least squares, 95% interval; theory: -1/2) and the fit\n"
    "bias(N) = bias_inf + c / N (theory: bias_inf = 0). Where a fit's chi2/dof exceeds 1 its standard errors\n"
    "are scaled by sqrt(chi2/dof) (the Birge ratio).\n\n"
    "With --net SPEC, the same study for the architecture it spells (`deepwick sample --net`, `deepwick kernel\n"
    "--net`): every dense / conv layer but the readout has width N.\n",
    opts, NULL};

/* The library's result arrays (dw_sample_width_col, dw_sample_fit_entry) unpacked for printing. */
typedef struct {
    double width, rms, rms_se, rel_rms, bias, bias_se, bias_fro, noise_fro;
} cv_width;

typedef struct {
    double slope, slope_se, slope_lo, slope_hi, intercept, bias_inf, bias_inf_se, bias_coef, bias_coef_se, limit_fro,
        chi2_dof, bias_chi2_dof;
} cv_fit;

static void unpack(size_t k, const double *pw, const double *f, cv_width *r, cv_fit *fit)
{
    for (size_t i = 0; i < k; i++) {
        const double *row = pw + i * DW_SAMPLE_WIDTH_COLS;
        r[i] = (cv_width){row[DW_SAMPLE_W_WIDTH],   row[DW_SAMPLE_W_RMS],      row[DW_SAMPLE_W_RMS_SE],
                          row[DW_SAMPLE_W_REL_RMS], row[DW_SAMPLE_W_BIAS],     row[DW_SAMPLE_W_BIAS_SE],
                          row[DW_SAMPLE_W_BIAS_FRO], row[DW_SAMPLE_W_NOISE_FRO]};
    }
    *fit = (cv_fit){f[DW_SAMPLE_FIT_SLOPE],       f[DW_SAMPLE_FIT_SLOPE_SE],     f[DW_SAMPLE_FIT_SLOPE_LO],
                    f[DW_SAMPLE_FIT_SLOPE_HI],    f[DW_SAMPLE_FIT_INTERCEPT],    f[DW_SAMPLE_FIT_BIAS_INF],
                    f[DW_SAMPLE_FIT_BIAS_INF_SE], f[DW_SAMPLE_FIT_BIAS_COEF],    f[DW_SAMPLE_FIT_BIAS_COEF_SE],
                    f[DW_SAMPLE_FIT_LIMIT_FRO],   f[DW_SAMPLE_FIT_CHI2_DOF],     f[DW_SAMPLE_FIT_BIAS_CHI2_DOF]};
}

/* A log-log SVG plot: relative RMS error with 2-SE bars and its fit, |bias| (relative) and the N^-1/2, N^-1
 * reference slopes. Written into a memory buffer, then atomically to path. */
static dw_status write_plot(const char *path, const char *title, size_t k, const cv_width *r, const cv_fit *fit,
                            const double *pred)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return DW_ERR_NOMEM;
    const double W = 640, H = 440, x0 = 70, x1 = 610, y0 = 380, y1 = 50;
    double lx0 = INFINITY, lx1 = -INFINITY, ly0 = INFINITY, ly1 = -INFINITY;
    const double kf = fit->limit_fro > 0 ? fit->limit_fro : 1.0;
    for (size_t i = 0; i < k; i++) {
        double lx = log10(r[i].width);
        lx0 = fmin(lx0, lx);
        lx1 = fmax(lx1, lx);
        double vals[2] = {r[i].rel_rms + 2 * r[i].rms_se / kf, fmax(r[i].rel_rms - 2 * r[i].rms_se / kf, r[i].rel_rms / 3)};
        for (int j = 0; j < 2; j++)
            if (vals[j] > 0) {
                ly0 = fmin(ly0, log10(vals[j]));
                ly1 = fmax(ly1, log10(vals[j]));
            }
        double b = r[i].bias_fro / kf;
        if (b > 0) {
            ly0 = fmin(ly0, log10(b));
            ly1 = fmax(ly1, log10(b));
        }
        for (int j = 0; pred && j < 3; j += 2)
            if (pred[3 * i + j] > 0) {
                ly0 = fmin(ly0, log10(pred[3 * i + j] / kf));
                ly1 = fmax(ly1, log10(pred[3 * i + j] / kf));
            }
    }
    lx0 = floor(lx0 * 10) / 10 - 0.05;
    lx1 = ceil(lx1 * 10) / 10 + 0.05;
    ly0 = floor(ly0) - 0.1;
    ly1 = ceil(ly1) + 0.1;
#define PX(lx) (x0 + ((lx) - lx0) / (lx1 - lx0) * (x1 - x0))
#define PY(ly) (y0 - ((ly) - ly0) / (ly1 - ly0) * (y0 - y1))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"25\" text-anchor=\"middle\" font-size=\"14\">", W / 2);
    cli_svg_escape(f, title);
    fputs("</text>\n", f);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", x0, y1,
            x1 - x0, y0 - y1);
    for (int e = (int)ceil(ly0); e <= (int)floor(ly1); e++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, PY(e), x1, PY(e));
        cli_svg_text(f, x0 - 6, PY(e) + 4, "end", "1e%.0f", (double)e);
    }
    for (size_t i = 0; i < k; i++) {
        double px = PX(log10(r[i].width));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", px, y0, px, y1);
        cli_svg_text(f, px, y0 + 16, "middle", "%.0f", r[i].width);
    }
    cli_svg_text(f, (x0 + x1) / 2, H - 12, "middle", "hidden width N");
    /* references through the first point: N^-1/2 (RMS) and N^-1 (bias) */
    double ax = log10(r[0].width), ay = log10(r[0].rel_rms);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n",
            PX(lx0), PY(ay - 0.5 * (lx0 - ax)), PX(lx1), PY(ay - 0.5 * (lx1 - ax)));
    /* the fit */
    double c = fit->intercept - log(kf);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\"/>\n", PX(lx0),
            PY((c + fit->slope * lx0 * log(10)) / log(10)), PX(lx1), PY((c + fit->slope * lx1 * log(10)) / log(10)));
    for (size_t i = 0; i < k; i++) {
        double px = PX(log10(r[i].width)), v = r[i].rel_rms, e = 2 * r[i].rms_se / kf;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\"/>\n", px,
                PY(log10(v + e)), px, PY(log10(fmax(v - e, v / 3))));
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", px, PY(log10(v)));
        double b = r[i].bias_fro / kf;
        if (b > 0) fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"#d62728\"/>\n", px - 3.5, PY(log10(b)) - 3.5);
    }
    if (pred) { /* the predictions: sqrt(C/N) and |q1|_F / N, relative to |K|_F, as dashed polylines */
        for (int j = 0; j < 3; j += 2) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\" points=\"",
                    j ? "#d62728" : "#1f77b4");
            for (size_t i = 0; i < k; i++)
                if (pred[3 * i + j] > 0) fprintf(f, "%.1f,%.1f ", PX(log10(r[i].width)), PY(log10(pred[3 * i + j] / kf)));
            fputs("\"/>\n", f);
        }
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#1f77b4\" stroke-dasharray=\"6 3\"/>",
                x0 + 5, y1 + 75.0, x0 + 22, y1 + 75.0);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">predicted by the 1/N expansion: RMS sqrt(C/N); "
                   "bias (red)</text>\n", x0 + 25, y1 + 79.0);
    }
    fprintf(f, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"#1f77b4\"/>", x0 + 15, y1 + 15.0);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">RMS |G - K|_F / |K|_F (2 SE bars); fit slope %.3f "
               "[%.3f, %.3f]</text>\n", x0 + 25, y1 + 19.0, fit->slope, fit->slope_lo, fit->slope_hi);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"7\" height=\"7\" fill=\"#d62728\"/>", x0 + 11.5, y1 + 31.5);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">|mean G - K|_F / |K|_F</text>\n", x0 + 25, y1 + 39.0);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>",
            x0 + 5, y1 + 55.0, x0 + 22, y1 + 55.0);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">slope -1/2</text>\n", x0 + 25, y1 + 59.0);
    fputs("</svg>\n", f);
#undef PX
#undef PY
    fclose(f);
    dw_status s = dw_io_write_text(path, buf, len);
    free(buf);
    return s;
}

int cmd_converge(int argc, char **argv)
{
    converge_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc < 0 && !a.net && (!a.act || !cli_given(&cmd, &a, "depth")))
        rc = cli_usage_error("converge", "--%s is required (or --net SPEC)", a.act ? "depth" : "act");
    if (rc < 0 && a.net) {
        static const char *const spelled[] = {"depth", "act", "weight-var", "bias-var", "out-dim", "param", NULL};
        static const char *const fc_only[] = {"predict", NULL};
        rc = cli_net_refuse(&cmd, &a, spelled, fc_only);
    }
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const long depth = a.depth, samples = a.samples;
    const bool gauss1 = a.gaussian_input_layer;
    const size_t nwid = a.widths.n;
    dw_sample_gram gram = strcmp(a.kind, "ntk") ? DW_SAMPLE_NNGP : DW_SAMPLE_NTK;
    rc = 1;
    size_t *wid = NULL;
    cv_width *res = NULL;
    double *pw = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_finite_opts *fo = NULL;
    double *pred = NULL, *q = NULL; /* --predict: per width sqrt(C/N), bias, |q1|_F/N; the stacked quantities */
    dw_matrix X;
    dw_matrix_init(&X);
    dw_status s;
    dw_law law;
    int ndim = 0;
    size_t dims[CLI_POINTS_NDIM_MAX];
    char what[512]; /* "depth 2, act relu" or "net SPEC" for the plot's title and the table's header */
    cli_progress prog;
    cli_progress_init(&prog, "converge");
    if (nwid < 2) {
        rc = cli_error("--widths: a convergence study needs at least 2 widths (got %zu)", nwid);
        goto done;
    }
    if (gram == DW_SAMPLE_NTK && !strcmp(a.param, "standard")) {
        /* Theta_N = Theta(N) + O(N^{1/2}) with Theta(N) of order N: no limit for the study (nor for --predict's
         * sqrt(C/N) line); the NNGP does not depend on the parameterisation and runs as it is */
        rc = cli_error("--param standard: the standard parameterisation's NTK grows like the width, so it has no "
                       "limit to converge to (use --param ntk, --kind nngp, or `deepwick finite-width --param "
                       "standard --width N` for its width-N mean and spread)");
        goto done;
    }
    if (!(wid = malloc(nwid * sizeof *wid))) {
        rc = cli_error("--widths: out of memory");
        goto done;
    }
    for (size_t k = 0; k < nwid; k++) wid[k] = (size_t)a.widths.v[k];
    if (!cli_law_parse(&law, a.law)) goto done;
    if (a.net ? !cli_net_parse(&net, a.net) || !cli_net_points(net, a.x, NULL, &X, NULL, &ndim, dims)
              : !cli_act_init(&act, a.act) || !cli_read_points(a.x, &X))
        goto done;
    if (!(res = calloc(nwid, sizeof *res)) || !(pw = calloc(nwid, DW_SAMPLE_WIDTH_COLS * sizeof *pw))) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((a.net ? (s = dw_net_set_param(net, DW_PARAM_NTK))
               : (s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
                     (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
                     (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) ||
                     (s = dw_net_set_out_dim(net, (size_t)a.out_dim))) ||
        (s = dw_net_set_law(net, a.law)) || (s = dw_net_set_gaussian_input_layer(net, gauss1))) {
        rc = cli_status(s);
        goto done;
    }
    if ((s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_seed(o, (unsigned long long)a.seed)) ||
        (s = dw_sample_opts_set_threads(o, (int)a.threads)) ||
        (s = dw_sample_opts_set_progress(o, cli_progress_cb, &prog))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_sample_opts_dist(o)) goto done;
    if (a.net) {
        const char *spec = dw_net_spec(net);
        snprintf(what, sizeof what, "net %s", spec ? spec : a.net);
    } else {
        snprintf(what, sizeof what, "depth %ld, act %s", depth, dw_act_name(act));
    }
    const char *warn = dw_law_warning(&law);
    if (warn) fprintf(stderr, "warning: --law %s: %s\n", a.law, warn);
    cv_fit fit;
    double fitv[DW_SAMPLE_FIT_LEN];
    double t0 = cli_now();
    s = dw_sample_converge(net, o, X.data, X.rows, X.cols, gram, nwid, wid, (size_t)samples, pw, fitv);
    double secs = cli_now() - t0;
    cli_progress_done(&prog);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    unpack(nwid, pw, fitv, res, &fit);
    if (a.predict) {
        /* the finite-width expansion on the same inputs and network (theory.md 1.6) */
        const size_t nm = X.rows * X.rows;
        double *wd = malloc(nwid * sizeof *wd);
        if (!wd || !(pred = malloc(3 * nwid * sizeof *pred)) ||
            !(q = dw_core_alloc_large((size_t)DW_FW_COUNT * nm * sizeof *q, "the finite-width prediction"))) {
            free(wd);
            rc = cli_error("--predict: out of memory");
            goto done;
        }
        for (size_t k = 0; k < nwid; k++) wd[k] = (double)wid[k];
        if ((s = dw_finite_opts_init(&fo)) || (s = dw_finite_opts_set_threads(fo, (int)a.threads)) ||
            (s = dw_finite_gram(net, fo, X.data, X.rows, NULL, X.rows, X.cols, q, NULL)) ||
            (s = dw_finite_predict_widths(q, nm, gram == DW_SAMPLE_NTK ? DW_FW_NTK : DW_FW_NNGP, nwid, wd, pred))) {
            free(wd);
            rc = cli_status(s);
            goto done;
        }
        free(wd);
    }
    char lname[128];
    dw_law_format(&law, lname, sizeof lname);
    if (a.plot && cli_distributed.writer) {
        char title[1024];
        snprintf(title, sizeof title, "%s, %s, %s weights%s, %ld samples per width", a.kind, what, lname,
                 gauss1 ? " (Gaussian input layer)" : "", samples);
        if ((s = write_plot(a.plot, title, nwid, res, &fit, pred))) {
            rc = cli_status(s);
            goto done;
        }
    }
    if (a.json) {
        /* the options as parsed (one table), then the results */
        size_t dout = 0;
        if (a.net) {
            /* the fully connected network's variances are not this net's (null); out_dim: the net's outputs per
             * input at the first width */
            free(a.weight_var.v);
            free(a.bias_var.v);
            a.weight_var = a.bias_var = (cli_reals){NULL, 0};
            if (!(s = dw_sample_opts_set_width(o, wid[0]))) s = dw_sample_params_size(net, o, X.cols, NULL, &dout);
            if (s || dout > (size_t)1000000000) {
                rc = cli_status(s ? s : DW_ERR_RANGE);
                goto done;
            }
            a.out_dim = (long)dout;
        }
        printf("{\"command\": \"converge\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        if (a.net) {
            cli_net_json(stdout, net, ndim, dims);
        } else {
            printf(", \"act\": ");
            cli_json_string(stdout, dw_act_name(act));
        }
        printf(", \"law\": ");
        cli_json_string(stdout, lname);
        printf(", \"n\": %zu, \"d\": %zu, \"widths\": [", X.rows, X.cols);
        for (size_t k = 0; k < nwid; k++)
            printf("%s{\"width\": %zu, \"rms\": %.9g, \"rms_se\": %.4g, \"rel_rms\": %.9g, \"bias\": %.6g, "
                   "\"bias_se\": %.4g, \"bias_fro\": %.6g, \"noise_fro\": %.6g}",
                   k ? ", " : "", wid[k], res[k].rms, res[k].rms_se, res[k].rel_rms, res[k].bias, res[k].bias_se,
                   res[k].bias_fro, res[k].noise_fro);
        printf("]");
        if (pred) {
            printf(", \"predicted\": [");
            for (size_t k = 0; k < nwid; k++)
                printf("%s{\"width\": %zu, \"rms\": %.9g, \"rel_rms\": %.9g, \"bias\": %.6g, \"bias_fro\": %.6g, "
                       "\"rms_ratio\": %.6g, \"bias_ratio\": %.6g}",
                       k ? ", " : "", wid[k], pred[3 * k], pred[3 * k] / fit.limit_fro, pred[3 * k + 1],
                       pred[3 * k + 2], res[k].rms / pred[3 * k],
                       pred[3 * k + 1] != 0 ? res[k].bias / pred[3 * k + 1] : 0.0);
            printf("], \"predicted_bias_coef\": %.6g", pred[1] * (double)wid[0]);
        }
        printf(", \"slope\": %.6f, \"slope_se\": %.6f, \"slope_ci95\": [%.6f, %.6f], \"bias_inf\": %.6g, "
               "\"bias_inf_se\": %.4g, \"bias_coef\": %.6g, \"bias_coef_se\": %.4g, \"limit_fro\": %.9g, "
               "\"chi2_dof\": %.4g, \"bias_chi2_dof\": %.4g",
               fit.slope, fit.slope_se, fit.slope_lo, fit.slope_hi, fit.bias_inf, fit.bias_inf_se, fit.bias_coef,
               fit.bias_coef_se, fit.limit_fro, fit.chi2_dof, fit.bias_chi2_dof);
        printf(", \"threads\": %d, \"seconds\": %.3f}\n", dw_core_threads((int)a.threads), secs);
    } else {
        printf("# %s, %s, law %s%s, %ld samples per width, n = %zu, |K|_F = %.6g\n", a.kind, what, lname,
               gauss1 ? " (Gaussian input layer)" : "", samples, X.rows, fit.limit_fro);
        printf("%8s %13s %10s %11s %12s %10s %11s %11s\n", "width", "rms", "rms_se", "rel_rms", "bias", "bias_se",
               "bias_fro", "noise_fro");
        for (size_t k = 0; k < nwid; k++)
            printf("%8zu %13.6g %10.3g %11.4g %12.4g %10.3g %11.4g %11.4g\n", wid[k], res[k].rms, res[k].rms_se,
                   res[k].rel_rms, res[k].bias, res[k].bias_se, res[k].bias_fro, res[k].noise_fro);
        printf("slope of log rms vs log N: %.4f +- %.4f (95%% interval [%.4f, %.4f]; theory -0.5), chi2/dof %.2f\n",
               fit.slope, fit.slope_se, fit.slope_lo, fit.slope_hi, fit.chi2_dof);
        printf("bias(N) = %.4g (+- %.2g) + %.4g (+- %.2g) / N   (theory: bias_inf = 0)\n", fit.bias_inf,
               fit.bias_inf_se, fit.bias_coef, fit.bias_coef_se);
        if (pred) {
            printf("# predicted by the 1/N expansion (theory.md 1.6): rms = sqrt(C/N), bias = mean(q1)/N, "
                   "bias coefficient %.4g\n", pred[1] * (double)wid[0]);
            printf("%8s %13s %11s %12s %11s %11s\n", "width", "rms_pred", "rms/pred", "bias_pred", "bias/pred",
                   "bias_fro_pr");
            for (size_t k = 0; k < nwid; k++)
                printf("%8zu %13.6g %11.4f %12.4g %11.4f %11.4g\n", wid[k], pred[3 * k], res[k].rms / pred[3 * k],
                       pred[3 * k + 1], pred[3 * k + 1] != 0 ? res[k].bias / pred[3 * k + 1] : 0.0, pred[3 * k + 2]);
        }
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    cli_args_free(&cmd, &a);
    free(wid);
    free(res);
    free(pw);
    free(pred);
    dw_core_free_large(q);
    dw_finite_opts_clear(fo);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    return rc;
}
