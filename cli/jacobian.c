/* deepwick jacobian: limiting spectrum of J J^T for the input-output Jacobian (theory.md 3). Parses the options and
 * runs the library's report (dw_spectrum_report: limit, checks, exact, density, sampled networks); jacobian_out.c
 * writes it (the JSON is the library's). No mathematics here. */
#include "cli.h"
#include "jacobian.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick jacobian --depth L --act ACT --moments K [options]\n"
    "\n"
    "Moments m_k = lim (1/N) E tr (J J^T)^k of the squared singular values of the input-output Jacobian\n"
    "J = D_L W^L ... D_1 W^1 of a deep network of width N -> infinity, D_l = diag(phi'(h^l))  (theory.md 3),\n"
    "by the S-transform (checked against the non-crossing-partition sum for k <= 12, i.i.d. weights), and\n"
    "the density of the squared singular values by Stieltjes inversion.\n"
    "\n"
    "required:\n"
    "  --depth L           number of layers, 1 <= L <= 100000\n"
    "  --act ACT           any activation of `deepwick kernel` (relu, erf, tanh, gelu, ... or an expression\n"
    "                      in z); rational mu_j for identity, relu, leaky_relu:ALPHA, abs, step, poly:...\n"
    "  --moments K         number of moments, 1 <= K <= 256\n"
    "options:\n"
    "  --weight-var V      sigma_w^2, one value or L comma-separated per-layer values (default 1)\n"
    "  --bias-var B        sigma_b^2, one value or L values (default 0)\n"
    "  --q0 Q              input variance |x|^2/N > 0 (default 1); q_1 = sigma_w^2 Q + sigma_b^2\n"
    "  --fixed-point       every layer at the stable fixed point q* of the variance map\n"
    "  --weights W         gaussian (any i.i.d. law: the same limit) or orthogonal (Haar); default gaussian\n"
    "  --exact             also exact rationals (strings \"45/7\") where mu_j and q_l are rational:\n"
    "                      identity, relu, leaky_relu, abs, step, poly (decimals read as written: 0.1 = 1/10)\n"
    "  --density           write the density rho(t) of the squared singular values (atoms excluded; the\n"
    "                      atom at 0 is reported) to --out as CSV t,rho\n"
    "  --grid A:B:N        density abscissae: N >= 2 points evenly spaced on [A, B], 0 < A < B\n"
    "  --out FILE.csv      density output, written atomically\n"
    "  --plot FILE.svg     plot the density (on --grid, else across the support) and, with --sample, the\n"
    "                      histogram of the sampled networks' squared singular values\n"
    "  --json              print everything as one JSON object on stdout\n"
    "  -h, --help          this help\n"
    "finite networks (compared with the limit above):\n"
    "  --sample            draw --samples networks of width N (every layer N x N) and compute the moments of\n"
    "                      their J J^T: exactly (GEMM chain + SVD) or by Hutchinson's estimator (--probes)\n"
    "  --width N           hidden width, 1 <= N <= 46340\n"
    "  --samples S         number of networks, S >= 2 (standard errors are over the networks)\n"
    "  --law LAW           gaussian, rademacher, uniform, student-t:NU, sparse:P (i.i.d.: compared with the\n"
    "                      --weights gaussian limit) or orthogonal (Haar: the --weights orthogonal limit);\n"
    "                      default: the law of --weights\n"
    "  --probes P          0: exact squared singular values (default); P >= 2: Hutchinson with P Rademacher\n"
    "                      probes and Jacobian-vector products only (large N; no histogram)\n"
    "  --seed SEED         seed of the weights, biases, inputs and probes (default 0)\n"
    "  --threads T         threads, one network each (default: all cores); results do not depend on T\n"
    "  --bins B            histogram bins for --plot (default 60)\n"
    "  --log-t             --plot on a logarithmic t axis: t rho(t) (the density of ln t), geometric bins and\n"
    "                      --grid points (deep networks spread over many decades)\n"
    "The input has |x|^2 / N = q0 (at the fixed point, the q0 that gives q_1 = q*). The JSON's \"sample\" holds the\n"
    "moments, their standard errors and z = (sample - limit) / SE; the finite-N bias is O(1/N), so |z| grows\n"
    "with S at fixed N. A progress bar is drawn on stderr when stderr is a terminal.\n";

static int parse_grid(const char *text, double *a, double *b, long *n)
{
    char *end;
    *a = strtod(text, &end);
    if (end == text || *end != ':') return 0;
    const char *p = end + 1;
    *b = strtod(p, &end);
    if (end == p || *end != ':') return 0;
    p = end + 1;
    *n = strtol(p, &end, 10);
    if (end == p || *end) return 0;
    return isfinite(*a) && isfinite(*b);
}

/* Parse and check --grid; 0 if fine, else the exit code after the error line. */
static int check_grid(const char *grid, double *a, double *b, long *n)
{
    if (!parse_grid(grid, a, b, n))
        return cli_error("--grid: '%s' is not A:B:N (two finite numbers and an integer)", grid);
    if (!(*a > 0)) return cli_error("--grid: A = %g; the abscissae must be > 0 (the atom at 0 is reported apart)", *a);
    if (*n < 2) return cli_error("--grid: N = %ld; at least 2 points are needed", *n);
    if (*n > 100000000L) return cli_error("--grid: N = %ld is above 100000000", *n);
    if (!(*b > *a)) return cli_error("--grid: B = %g must be above A = %g", *b, *a);
    return 0;
}

int cmd_jacobian(int argc, char **argv)
{
    static const struct option opts[] = {
        {"depth", required_argument, 0, 'L'},      {"act", required_argument, 0, 'a'},
        {"weight-var", required_argument, 0, 'w'}, {"bias-var", required_argument, 0, 'b'},
        {"q0", required_argument, 0, 'q'},         {"weights", required_argument, 0, 'W'},
        {"moments", required_argument, 0, 'K'},    {"fixed-point", no_argument, 0, 'F'},
        {"exact", no_argument, 0, 'E'},            {"density", no_argument, 0, 'D'},
        {"grid", required_argument, 0, 'g'},       {"out", required_argument, 0, 'o'},
        {"json", no_argument, 0, 'j'},             {"sample", no_argument, 0, 'S'},
        {"width", required_argument, 0, 'N'},      {"samples", required_argument, 0, 'M'},
        {"law", required_argument, 0, 'l'},        {"probes", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},       {"threads", required_argument, 0, 't'},
        {"plot", required_argument, 0, 'P'},       {"bins", required_argument, 0, 'B'},
        {"log-t", no_argument, 0, 'X'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *actspec = NULL, *wtext = "1", *btext = "0", *weights = "gaussian", *grid = NULL, *out = NULL;
    const char *q0text = "1", *lawtext = NULL, *plot = NULL;
    long depth = -1, K = 0, width = -1, samples = -1, probes = 0, seed = 0, threads = 0, bins = 60;
    int fixed = 0, exact = 0, density = 0, json = 0, have_k = 0, sample = 0, weights_given = 0, logt = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'L':
            if (!cli_parse_int("--depth", optarg, -1000000000L, 1000000000L, &depth)) return 1;
            if (depth < 1 || depth > DW_SPECTRUM_DEPTH_MAX)
                return cli_error("--depth: %ld is outside 1..%d", depth, DW_SPECTRUM_DEPTH_MAX);
            break;
        case 'a': actspec = optarg; break;
        case 'w': wtext = optarg; break;
        case 'b': btext = optarg; break;
        case 'q': q0text = optarg; break;
        case 'W':
            weights = optarg;
            weights_given = 1;
            break;
        case 'K':
            if (!cli_parse_int("--moments", optarg, -1000000000L, 1000000000L, &K)) return 1;
            if (K < 1) return cli_error("--moments: K = %ld; K must be >= 1", K);
            if (K > DW_SPECTRUM_KMAX)
                return cli_error("--moments: K = %ld is above the supported maximum %d", K, DW_SPECTRUM_KMAX);
            have_k = 1;
            break;
        case 'F': fixed = 1; break;
        case 'E': exact = 1; break;
        case 'D': density = 1; break;
        case 'g': grid = optarg; break;
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case 'S': sample = 1; break;
        case 'N':
            if (!cli_parse_int("--width", optarg, 1, 46340, &width)) return 1;
            break;
        case 'M':
            if (!cli_parse_int("--samples", optarg, 2, 100000000L, &samples)) return 1;
            break;
        case 'l': lawtext = optarg; break;
        case 'p':
            if (!cli_parse_int("--probes", optarg, 0, 1000000000L, &probes)) return 1;
            if (probes == 1) return cli_error("--probes: 1 probe gives no standard error; use 0 (exact) or >= 2");
            break;
        case 's':
            if (!cli_parse_int("--seed", optarg, 0, 9007199254740991L, &seed)) return 1;
            break;
        case 't':
            if (!cli_parse_int("--threads", optarg, 1, 4096, &threads)) return 1;
            break;
        case 'P': plot = optarg; break;
        case 'X': logt = 1; break;
        case 'B':
            if (!cli_parse_int("--bins", optarg, 1, 100000, &bins)) return 1;
            break;
        case 'h': fputs(help, stdout); return 0;
        default:
            return cli_usage_error("jacobian", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("jacobian", "unexpected argument '%s'", argv[optind]);
    if (depth < 0) return cli_usage_error("jacobian", "--depth is required");
    if (!actspec) return cli_usage_error("jacobian", "--act is required");
    if (!have_k) return cli_usage_error("jacobian", "--moments is required");
    int orthw;
    if (!strcmp(weights, "gaussian")) orthw = 0;
    else if (!strcmp(weights, "orthogonal")) orthw = 1;
    else return cli_error("--weights: expected gaussian or orthogonal (got '%s')", weights);
    dw_law law = {DW_LAW_GAUSSIAN, 0};
    if (sample) {
        if (width < 0) return cli_usage_error("jacobian", "--sample needs --width N");
        if (samples < 0) return cli_usage_error("jacobian", "--sample needs --samples S");
        if (lawtext) {
            if (dw_law_parse(&law, lawtext)) return cli_error("--law: %s", dw_error_message());
            if (law.kind == DW_LAW_COMPLEX_GAUSSIAN)
                return cli_error("--law: complex-gaussian: the Jacobian spectrum is for real networks");
            const int orth = law.kind == DW_LAW_ORTHOGONAL;
            if (weights_given && orth != orthw)
                return cli_error("--law %s does not go with --weights %s (orthogonal with orthogonal; every "
                                 "i.i.d. law with gaussian)", lawtext, weights);
            orthw = orth;
            weights = orth ? "orthogonal" : "gaussian";
        } else if (orthw) {
            law.kind = DW_LAW_ORTHOGONAL;
        }
        if (K > DW_SPECTRUM_KMAX)
            return cli_error("--moments: K = %ld is above the supported maximum %d", K, DW_SPECTRUM_KMAX);
    } else if (width >= 0 || samples >= 0 || lawtext || probes || seed || threads) {
        return cli_usage_error("jacobian", "--width, --samples, --law, --probes, --seed and --threads go with --sample");
    }
    if (plot) {
        size_t pl = strlen(plot);
        if (pl < 4 || strcmp(plot + pl - 4, ".svg")) return cli_error("--plot: '%s' must end in .svg", plot);
        if (sample && probes) return cli_usage_error("jacobian", "--plot with --sample needs exact spectra (--probes 0)");
    } else if (logt) {
        return cli_usage_error("jacobian", "--log-t goes with --plot");
    }
    double ga = 0, gb = 0;
    long gn = 0;
    if (density) {
        if (!grid) return cli_usage_error("jacobian", "--density needs --grid A:B:N");
        if (!out) return cli_usage_error("jacobian", "--density needs --out FILE.csv");
        int e = check_grid(grid, &ga, &gb, &gn);
        if (e) return e;
        size_t ol = strlen(out);
        if (ol < 4 || strcmp(out + ol - 4, ".csv")) return cli_error("--out: '%s' must end in .csv", out);
    } else if (out || (grid && !plot)) {
        return cli_usage_error("jacobian", "--grid and --out go with --density (--grid also with --plot)");
    } else if (grid) {
        int e = check_grid(grid, &ga, &gb, &gn);
        if (e) return e;
    }

    int rc = 1;
    double *wv = NULL, *bv = NULL, *q0v = NULL;
    size_t nw = 0, nb = 0, nq = 0;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum_sample_opts *so = NULL;
    dw_spectrum_report *r = NULL;
    dw_status st;
    if (!cli_parse_list("--weight-var", wtext, &wv, &nw) || !cli_parse_list("--bias-var", btext, &bv, &nb) ||
        !cli_parse_list("--q0", q0text, &q0v, &nq))
        goto done;
    if (nq != 1) {
        rc = cli_error("--q0: one value expected (got %zu)", nq);
        goto done;
    }
    if ((st = dw_act_init(&act, actspec))) {
        rc = cli_error("--act: %s", dw_error_message());
        goto done;
    }
    if (density && (st = dw_io_check_writable(out))) {
        rc = cli_error("--out: %s", dw_error_message());
        goto done;
    }
    if (plot && (st = dw_io_check_writable(plot))) {
        rc = cli_error("--plot: %s", dw_error_message());
        goto done;
    }
    /* the network (its law: the sampled one, or the limit's) and the limit's options */
    char lawbuf[64];
    if ((st = dw_net_init(&net)) || (st = dw_net_set_fc(net, (int)depth, act, false)) ||
        (st = dw_net_set_weight_var(net, nw, wv)) || (st = dw_net_set_bias_var(net, nb, bv)) ||
        (st = dw_net_set_law(net, sample ? dw_law_format(&law, lawbuf, sizeof lawbuf) : weights)) ||
        (st = dw_spectrum_opts_init(&o)) || (st = dw_spectrum_opts_set_q0(o, q0v[0])) ||
        (st = dw_spectrum_opts_set_fixed_point(o, fixed)) || (st = dw_spectrum_report_init(&r, net, o, (int)K))) {
        rc = cli_status(st);
        goto done;
    }
    if (exact && (st = dw_spectrum_report_exact(r))) {
        rc = cli_error("--exact: %s", dw_error_message());
        goto done;
    }
    if (density) {
        if ((st = dw_spectrum_report_density(r, ga, gb, (size_t)gn)) ||
            (st = dw_spectrum_report_set_file(r, "density", out))) {
            rc = cli_status(st);
            goto done;
        }
        if ((rc = jacobian_write_csv(r, out))) goto done;
        rc = 1;
    }
    if (sample) {
        const char *warn = dw_law_warning(&law);
        if (warn) fprintf(stderr, "warning: --law: %s\n", warn);
        const double Nd = (double)width;
        cli_progress prog;
        cli_progress_init(&prog, "jacobian --sample");
        if ((st = dw_net_set_widths(net, 1, &Nd)) || (st = dw_spectrum_sample_opts_init(&so)) ||
            (st = dw_spectrum_sample_opts_set_samples(so, (size_t)samples)) ||
            (st = dw_spectrum_sample_opts_set_probes(so, (size_t)probes)) ||
            (st = dw_spectrum_sample_opts_set_seed(so, (unsigned long long)seed)) ||
            (st = dw_spectrum_sample_opts_set_threads(so, (int)threads)) ||
            (st = dw_spectrum_sample_opts_set_progress(so, cli_progress_cb, &prog))) {
            rc = cli_status(st);
            goto done;
        }
        st = dw_spectrum_report_sample(r, so, (unsigned long long)seed);
        cli_progress_done(&prog);
        if (st) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (plot) {
        char lb[64];
        if ((rc = jacobian_plot(r, plot, logt, (size_t)bins, grid ? ga : 0, grid ? gb : 0, grid ? (size_t)gn : 400,
                                dw_act_name(act), (int)depth, dw_law_format(&law, lb, sizeof lb))))
            goto done;
        rc = 1;
        if ((st = dw_spectrum_report_set_file(r, "plot", plot))) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (json) {
        const char *js = dw_spectrum_report_json(r);
        if (!js) {
            rc = cli_status(DW_ERR_NOMEM);
            goto done;
        }
        fputs(js, stdout);
        fputc('\n', stdout);
    } else {
        jacobian_summary(r, dw_act_name(act), weights, fixed, exact, density ? out : NULL, sample ? lawbuf : NULL,
                         (size_t)probes, plot);
    }
    rc = 0;
done:
    dw_spectrum_report_clear(r);
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    free(wv);
    free(bv);
    free(q0v);
    return rc;
}
