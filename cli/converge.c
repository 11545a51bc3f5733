/* deepwick converge: how fast empirical Grams of finite networks approach the exact limit (theory.md 1.4).
 * Reads inputs, calls dw_sample_converge, prints a table or JSON, writes an SVG plot atomically. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick converge --x X.npy --depth L --act ACT --widths 64,128,...,4096 --samples S\n"
    "                         [--law LAW] [--kind nngp|ntk] [--json] [--plot conv.svg] [options]\n"
    "\n"
    "For each hidden width N (every hidden layer N), sample S networks and compare their empirical Gram G_s\n"
    "(`deepwick sample --gram`) with the exact limit K (`deepwick kernel`, NTK parameterisation); width i (from 0)\n"
    "uses networks i S .. (i+1) S - 1 of the seed, so that the widths are independent:\n"
    "  rms   = sqrt(mean_s |G_s - K|_F^2) with its standard error, and rms / |K|_F;\n"
    "  bias  = mean over entries of (mean_s G_s - K) with its standard error, and |mean_s G_s - K|_F beside\n"
    "          its size without bias, sqrt(sum of squared entry standard errors);\n"
    "then the slope of log rms against log N (weighted least squares, 95% interval; theory: -1/2) and the fit\n"
    "bias(N) = bias_inf + c / N (theory: bias_inf = 0). Where a fit's chi2/dof exceeds 1 its standard errors\n"
    "are scaled by sqrt(chi2/dof) (the Birge ratio).\n"
    "\n"
    "required:\n"
    "  --x FILE            inputs, n x d: .npy or .csv\n"
    "  --depth L           number of hidden layers, L >= 1\n"
    "  --act ACT           any activation of `deepwick kernel`\n"
    "  --widths LIST       at least 2 distinct widths, e.g. 64,128,256,512\n"
    "  --samples S         networks per width, S >= 2\n"
    "options:\n"
    "  --law LAW           gaussian (default), rademacher, uniform, student-t:NU, sparse:P, complex-gaussian (nngp\n"
    "                      only), orthogonal\n"
    "  --kind K            ntk (default) or nngp\n"
    "  --weight-var V      sigma_w^2, one value or L+1 values (default 1)\n"
    "  --bias-var B        sigma_b^2, one value or L+1 values (default 0)\n"
    "  --seed SEED         random seed (default 0)\n"
    "  --out-dim K         output units (default 1; the NTK is averaged over them)\n"
    "  --gaussian-input-layer  layer 1 (fan-in d, which does not grow with N) draws Gaussian weights: with a\n"
    "                      non-Gaussian law there the limit is off by O(kappa_4 / d) at every width\n"
    "  --plot FILE         log-log plot of the relative RMS error and bias, SVG\n"
    "  --threads T         threads (default: all cores); results are bit-identical for any T\n"
    "  --json              print the results as one JSON object instead of the table\n"
    "  -h, --help          this help\n";

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
static dw_status write_plot(const char *path, const char *title, size_t k, const cv_width *r, const cv_fit *fit)
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
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},          {"depth", required_argument, 0, 'L'},
        {"act", required_argument, 0, 'a'},        {"widths", required_argument, 0, 'W'},
        {"samples", required_argument, 0, 'S'},    {"law", required_argument, 0, 'l'},
        {"kind", required_argument, 0, 'k'},       {"weight-var", required_argument, 0, 'w'},
        {"bias-var", required_argument, 0, 'b'},   {"seed", required_argument, 0, 's'},
        {"out-dim", required_argument, 0, 'D'},    {"gaussian-input-layer", no_argument, 0, 'G'},
        {"plot", required_argument, 0, 'P'},       {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *widtext = NULL, *lawtext = "gaussian", *kind = "ntk", *plot = NULL;
    const char *wtext = "1", *btext = "0";
    long depth = -1, samples = -1, outdim = 1, seed = 0;
    int gauss1 = 0, c;
    cli_common co;
    cli_common_init(&co, "converge", help);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_common_opt(&co, c);
        if (r == CLI_OPT_DONE) continue;
        if (r != CLI_OPT_OWN) return r;
        switch (c) {
        case 'L':
            if (!cli_parse_int("--depth", optarg, -1000000, 10000, &depth)) return 1;
            if (depth < 1) return cli_error("--depth: must be >= 1 (got %ld; depth 0 equals its limit exactly)", depth);
            break;
        case 'W': widtext = optarg; break;
        case 'S':
            if (!cli_parse_int("--samples", optarg, -1000000000L, 1000000000L, &samples)) return 1;
            if (samples < 2) return cli_error("--samples: must be >= 2 for standard errors (got %ld)", samples);
            break;
        case 'l': lawtext = optarg; break;
        case 'k': kind = optarg; break;
        case 'w': wtext = optarg; break;
        case 'b': btext = optarg; break;
        case 's':
            if (!cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 1;
            break;
        case 'D':
            if (!cli_parse_int("--out-dim", optarg, -1000000, 1000000, &outdim)) return 1;
            if (outdim < 1) return cli_error("--out-dim: must be >= 1 (got %ld)", outdim);
            break;
        case 'G': gauss1 = 1; break;
        case 'P': plot = optarg; break;
        default: return cli_unknown_option(&co, argv);
        }
    }
    if ((c = cli_common_end(&co, argc, argv, 1)) >= 0) return c;
    if (depth < 0) return cli_usage_error("converge", "--depth is required");
    if (!co.act) return cli_usage_error("converge", "--act is required");
    if (!widtext) return cli_usage_error("converge", "--widths is required");
    if (samples < 0) return cli_usage_error("converge", "--samples is required");
    dw_sample_gram gram;
    if (!strcmp(kind, "ntk")) gram = DW_SAMPLE_NTK;
    else if (!strcmp(kind, "nngp")) gram = DW_SAMPLE_NNGP;
    else return cli_error("--kind: expected nngp or ntk (got '%s')", kind);
    if (plot) {
        size_t len = strlen(plot);
        if (len < 4 || strcmp(plot + len - 4, ".svg")) return cli_error("--plot: '%s' must end in .svg", plot);
    }

    int rc = 1;
    double *wv = NULL, *bv = NULL, *wd = NULL;
    size_t *wid = NULL, nw = 0, nb = 0, nwid = 0;
    cv_width *res = NULL;
    double *pw = NULL;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_sample_opts *o = NULL;
    dw_matrix X;
    dw_matrix_init(&X);
    dw_status s;
    dw_law law;
    cli_progress prog;
    cli_progress_init(&prog, "converge");
    if (!cli_parse_list("--weight-var", wtext, &wv, &nw) || !cli_parse_list("--bias-var", btext, &bv, &nb)) goto done;
    if (!cli_parse_list("--widths", widtext, &wd, &nwid)) goto done;
    if (nwid < 2) {
        rc = cli_error("--widths: a convergence study needs at least 2 widths (got %zu)", nwid);
        goto done;
    }
    if (!(wid = malloc(nwid * sizeof *wid))) {
        rc = cli_error("--widths: out of memory");
        goto done;
    }
    for (size_t k = 0; k < nwid; k++) {
        if (wd[k] < 1 || wd[k] != floor(wd[k]) || wd[k] > 1e12) {
            rc = cli_error("--widths: value %zu (%g) must be an integer >= 1", k + 1, wd[k]);
            goto done;
        }
        wid[k] = (size_t)wd[k];
    }
    if (!cli_law_parse(&law, lawtext) || !cli_act_init(&act, co.act)) goto done;
    if (!cli_check_writable("--plot", plot) || !cli_read_points(co.x, &X)) goto done;
    if (!(res = calloc(nwid, sizeof *res)) || !(pw = calloc(nwid, DW_SAMPLE_WIDTH_COLS * sizeof *pw))) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)depth, act, true)) ||
        (s = dw_net_set_weight_var(net, nw, wv)) || (s = dw_net_set_bias_var(net, nb, bv)) ||
        (s = dw_net_set_out_dim(net, (size_t)outdim)) || (s = dw_net_set_law(net, lawtext)) ||
        (s = dw_net_set_gaussian_input_layer(net, gauss1))) {
        rc = cli_status(s);
        goto done;
    }
    if ((s = dw_sample_opts_init(&o)) || (s = dw_sample_opts_set_seed(o, (unsigned long long)seed)) ||
        (s = dw_sample_opts_set_threads(o, (int)co.threads)) ||
        (s = dw_sample_opts_set_progress(o, cli_progress_cb, &prog))) {
        rc = cli_status(s);
        goto done;
    }
    const char *warn = dw_law_warning(&law);
    if (warn) fprintf(stderr, "warning: --law %s: %s\n", lawtext, warn);
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
    char lname[128];
    dw_law_format(&law, lname, sizeof lname);
    if (plot) {
        char title[512];
        snprintf(title, sizeof title, "%s, depth %ld, %s, %s weights%s, %ld samples per width", kind, depth,
                 dw_act_name(act), lname, gauss1 ? " (Gaussian input layer)" : "", samples);
        if ((s = write_plot(plot, title, nwid, res, &fit))) {
            rc = cli_status(s);
            goto done;
        }
    }
    if (co.json) {
        printf("{\"command\": \"converge\", \"version\": \"%s\", \"kind\": \"%s\", \"act\": ", dw_version(), kind);
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"law\": ");
        cli_json_string(stdout, lname);
        printf(", \"gaussian_input_layer\": %s, \"depth\": %ld, \"samples\": %ld, \"seed\": %ld, \"n\": %zu, "
               "\"d\": %zu, \"widths\": [", gauss1 ? "true" : "false", depth, samples, seed, X.rows, X.cols);
        for (size_t k = 0; k < nwid; k++)
            printf("%s{\"width\": %zu, \"rms\": %.9g, \"rms_se\": %.4g, \"rel_rms\": %.9g, \"bias\": %.6g, "
                   "\"bias_se\": %.4g, \"bias_fro\": %.6g, \"noise_fro\": %.6g}",
                   k ? ", " : "", wid[k], res[k].rms, res[k].rms_se, res[k].rel_rms, res[k].bias, res[k].bias_se,
                   res[k].bias_fro, res[k].noise_fro);
        printf("], \"slope\": %.6f, \"slope_se\": %.6f, \"slope_ci95\": [%.6f, %.6f], \"bias_inf\": %.6g, "
               "\"bias_inf_se\": %.4g, \"bias_coef\": %.6g, \"bias_coef_se\": %.4g, \"limit_fro\": %.9g, "
               "\"chi2_dof\": %.4g, \"bias_chi2_dof\": %.4g, \"plot\": ",
               fit.slope, fit.slope_se, fit.slope_lo, fit.slope_hi, fit.bias_inf, fit.bias_inf_se, fit.bias_coef,
               fit.bias_coef_se, fit.limit_fro, fit.chi2_dof, fit.bias_chi2_dof);
        if (plot)
            cli_json_string(stdout, plot);
        else
            printf("null");
        printf(", \"threads\": %d, \"seconds\": %.3f}\n", dw_core_threads((int)co.threads), secs);
    } else {
        printf("# %s, depth %ld, act %s, law %s%s, %ld samples per width, n = %zu, |K|_F = %.6g\n", kind, depth,
               dw_act_name(act), lname, gauss1 ? " (Gaussian input layer)" : "", samples, X.rows, fit.limit_fro);
        printf("%8s %13s %10s %11s %12s %10s %11s %11s\n", "width", "rms", "rms_se", "rel_rms", "bias", "bias_se",
               "bias_fro", "noise_fro");
        for (size_t k = 0; k < nwid; k++)
            printf("%8zu %13.6g %10.3g %11.4g %12.4g %10.3g %11.4g %11.4g\n", wid[k], res[k].rms, res[k].rms_se,
                   res[k].rel_rms, res[k].bias, res[k].bias_se, res[k].bias_fro, res[k].noise_fro);
        printf("slope of log rms vs log N: %.4f +- %.4f (95%% interval [%.4f, %.4f]; theory -0.5), chi2/dof %.2f\n",
               fit.slope, fit.slope_se, fit.slope_lo, fit.slope_hi, fit.chi2_dof);
        printf("bias(N) = %.4g (+- %.2g) + %.4g (+- %.2g) / N   (theory: bias_inf = 0)\n", fit.bias_inf,
               fit.bias_inf_se, fit.bias_coef, fit.bias_coef_se);
    }
    rc = 0;
done:
    cli_progress_done(&prog);
    free(wv);
    free(bv);
    free(wd);
    free(wid);
    free(res);
    free(pw);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    return rc;
}
