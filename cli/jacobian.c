/* deepwick jacobian: limiting spectrum of J J^T for the input-output Jacobian (theory.md 3). Parses options, calls
 * the spectrum module, prints JSON or a summary, writes the density CSV atomically. No mathematics here. */
#include "cli.h"

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
    "  --threads T         OpenMP threads, one network each (default: all cores); results do not depend on T\n"
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

static void json_array(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

/* The exact strings of one kind: q_l (l = 1..n), mu_j^{(row)} (j = 1..n) or m_k (k = 1..n). */
static void json_exact(FILE *f, const dw_spectrum_exact *e, char what, int row, int n)
{
    fputc('[', f);
    for (int i = 1; i <= n; i++) {
        if (i > 1) fputs(", ", f);
        cli_json_string(f, what == 'q' ? dw_spectrum_exact_q(e, i) : what == 'u' ? dw_spectrum_exact_mu(e, row, i)
                                                                         : dw_spectrum_exact_m(e, i));
    }
    fputc(']', f);
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
    double *wv = NULL, *bv = NULL, *q0v = NULL, *m = NULL, *mnc = NULL, *t = NULL, *rho = NULL;
    double *sm = NULL, *sse = NULL, *s2 = NULL, *pt = NULL, *prho = NULL, *edges = NULL, *height = NULL;
    double q0s = 0, atom_emp = 0, secs = 0;
    size_t zeros = 0;
    size_t nw = 0, nb = 0, nq = 0;
    dw_act *act = NULL;
    dw_spectrum *s = NULL;
    dw_spectrum_exact *ex = NULL, *ex2 = NULL;
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum_sample_opts *so = NULL;
    char *csv = NULL;
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
    const int kmax = (int)(K < 2 ? 2 : K);
    char lawbuf[64];
    if ((st = dw_net_init(&net)) || (st = dw_net_set_fc(net, (int)depth, act, false)) ||
        (st = dw_net_set_weight_var(net, nw, wv)) || (st = dw_net_set_bias_var(net, nb, bv)) ||
        (st = dw_net_set_law(net, sample ? dw_law_format(&law, lawbuf, sizeof lawbuf) : weights)) ||
        (st = dw_spectrum_opts_init(&o)) || (st = dw_spectrum_opts_set_q0(o, q0v[0])) ||
        (st = dw_spectrum_opts_set_fixed_point(o, fixed)) || (st = dw_spectrum_opts_set_kmax(o, kmax)) ||
        (st = dw_spectrum_init(&s, net, o))) {
        rc = cli_status(st);
        goto done;
    }
    m = malloc(sizeof(double) * (size_t)kmax);
    mnc = malloc(sizeof(double) * (size_t)kmax);
    if (!m || !mnc) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((st = dw_spectrum_moments(s, kmax, DW_SPECTRUM_ROUTE_S, m))) {
        rc = cli_status(st);
        goto done;
    }
    /* route 1 as a check where it is cheap */
    int checked = 0;
    double maxrel = 0;
    if (!orthw && K <= 12) {
        if ((st = dw_spectrum_moments(s, (int)K, DW_SPECTRUM_ROUTE_NC, mnc))) {
            rc = cli_status(st);
            goto done;
        }
        for (int k = 0; k < K; k++)
            if (m[k] != mnc[k]) maxrel = fmax(maxrel, fabs(m[k] - mnc[k]) / fmax(fabs(m[k]), 1e-300));
        checked = 1;
    }
    int exact_agree = -1;
    if (exact) {
        if ((st = dw_spectrum_exact_init(&ex, s, (int)K, DW_SPECTRUM_ROUTE_S))) {
            rc = cli_error("--exact: %s", dw_error_message());
            goto done;
        }
        if (!orthw && K <= 12) {
            if ((st = dw_spectrum_exact_init(&ex2, s, (int)K, DW_SPECTRUM_ROUTE_NC))) {
                rc = cli_status(st);
                goto done;
            }
            exact_agree = 1;
            for (int k = 1; k <= K; k++) exact_agree &= !strcmp(dw_spectrum_exact_m(ex, k), dw_spectrum_exact_m(ex2, k));
        }
    }
    /* criticality at the fixed point (one weight and bias variance) */
    int have_qs = 0, uniform = 1;
    double qs = 0, chi = 0;
    for (size_t i = 1; i < nw; i++) uniform &= wv[i] == wv[0];
    for (size_t i = 1; i < nb; i++) uniform &= bv[i] == bv[0];
    if (uniform) {
        dw_spectrum *s1 = NULL;
        dw_net *n1 = NULL;
        dw_spectrum_opts *o1 = NULL;
        if (dw_net_init(&n1) == DW_OK && dw_net_set_fc(n1, 1, act, false) == DW_OK &&
            dw_net_set_weight_var(n1, 1, wv) == DW_OK && dw_net_set_bias_var(n1, 1, bv) == DW_OK &&
            dw_spectrum_opts_init(&o1) == DW_OK && dw_spectrum_opts_set_q0(o1, q0v[0]) == DW_OK &&
            dw_spectrum_opts_set_fixed_point(o1, true) == DW_OK && dw_spectrum_opts_set_kmax(o1, 1) == DW_OK &&
            dw_spectrum_init(&s1, n1, o1) == DW_OK) {
            have_qs = 1;
            qs = dw_spectrum_q(s1)[0];
            chi = wv[0] * dw_spectrum_mu(s1)[0];
            dw_spectrum_clear(s1);
        }
        dw_net_clear(n1);
        dw_spectrum_opts_clear(o1);
        dw_error_clear();
    }
    const int critical = have_qs && fabs(chi - 1) <= 1e-9;
    double lo = 0, hi = 0;
    if ((st = dw_spectrum_support(s, &lo, &hi))) {
        rc = cli_status(st);
        goto done;
    }
    double mass = 0;
    if (density) {
        t = malloc(sizeof(double) * (size_t)gn);
        rho = malloc(sizeof(double) * (size_t)gn);
        csv = malloc((size_t)gn * 56 + 16);
        if (!t || !rho || !csv) {
            rc = cli_error("--grid: out of memory for %ld points", gn);
            goto done;
        }
        for (long i = 0; i < gn; i++) t[i] = ga + (gb - ga) * (double)i / (double)(gn - 1);
        if ((st = dw_spectrum_density(s, (size_t)gn, t, rho))) {
            rc = cli_status(st);
            goto done;
        }
        size_t len = (size_t)sprintf(csv, "t,rho\n");
        for (long i = 0; i < gn; i++) {
            len += (size_t)sprintf(csv + len, "%.17g,%.17g\n", t[i], rho[i]);
            if (i) mass += 0.5 * (t[i] - t[i - 1]) * (rho[i] + rho[i - 1]);
        }
        if ((st = dw_io_write_text(out, csv, len))) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (sample) {
        /* the input norm that gives the layer-1 variance of the limit (q* at the fixed point) */
        if (!((q0s = dw_spectrum_input_q0(s)) > 0)) {
            rc = cli_error("--sample: no input norm gives q_1 = %g (sigma_w^2 of layer 1 is %g, sigma_b^2 %g)",
                           dw_spectrum_q(s)[0], wv[0], bv[0]);
            goto done;
        }
        const char *warn = dw_law_warning(&law);
        if (warn) fprintf(stderr, "warning: --law: %s\n", warn);
        const size_t S = (size_t)samples, N = (size_t)width;
        sm = malloc(sizeof(double) * (size_t)K);
        sse = malloc(sizeof(double) * (size_t)K);
        if (!sm || !sse) {
            rc = cli_error("out of memory");
            goto done;
        }
        if (!probes) {
            if ((st = dw_core_check_alloc(8.0 * (double)S * (double)N, "--sample: the squared singular values"))) {
                rc = cli_status(st);
                goto done;
            }
            s2 = malloc(sizeof(double) * S * N);
            if (!s2) {
                rc = cli_error("--sample: out of memory for %zu x %zu squared singular values", S, N);
                goto done;
            }
        }
        const double Nd = (double)N;
        cli_progress prog;
        cli_progress_init(&prog, "jacobian --sample");
        if ((st = dw_net_set_widths(net, 1, &Nd)) || (st = dw_spectrum_sample_opts_init(&so)) ||
            (st = dw_spectrum_sample_opts_set_q0(so, q0s)) || (st = dw_spectrum_sample_opts_set_samples(so, S)) ||
            (st = dw_spectrum_sample_opts_set_K(so, (int)K)) ||
            (st = dw_spectrum_sample_opts_set_probes(so, (size_t)probes)) ||
            (st = dw_spectrum_sample_opts_set_seed(so, (unsigned long long)seed)) ||
            (st = dw_spectrum_sample_opts_set_threads(so, (int)threads)) ||
            (st = dw_spectrum_sample_opts_set_progress(so, cli_progress_cb, &prog))) {
            rc = cli_status(st);
            goto done;
        }
        double t0 = cli_now();
        st = dw_spectrum_sample_law(net, so, (unsigned long long)seed, sm, sse, s2);
        cli_progress_done(&prog);
        secs = cli_now() - t0;
        if (st) {
            rc = cli_status(st);
            goto done;
        }
        if (s2) {
            zeros = dw_spectrum_count_zeros(S, N, s2);
            atom_emp = (double)zeros / (double)(S * N);
        }
    }
    if (plot) {
        const size_t S = sample ? (size_t)samples : 0, N = sample ? (size_t)width : 0;
        /* the largest sampled value and the smallest that is not a zero: each network's values are in descending
         * order, its zeros (dw_spectrum_count_zeros) last */
        double smin = INFINITY, top = hi;
        for (size_t k = 0; s2 && k < S; k++) {
            const size_t nz = N - dw_spectrum_count_zeros(1, N, s2 + k * N);
            top = fmax(top, s2[k * N]);
            if (nz) smin = fmin(smin, s2[k * N + nz - 1]);
        }
        /* the curve: --grid if given, else 400 points across the support (log-t: from 1e-6 of the edge, or the
         * smallest sampled value) */
        size_t np = 400;
        double a = logt ? fmin(hi * 1e-6, smin) : hi / 2000, b = hi;
        if (grid) {
            np = (size_t)gn;
            a = ga;
            b = gb;
        }
        pt = malloc(sizeof(double) * np);
        prho = malloc(sizeof(double) * np);
        if (!pt || !prho) {
            rc = cli_error("--plot: out of memory");
            goto done;
        }
        for (size_t i = 0; i < np; i++) {
            const double f = (double)i / (double)(np - 1);
            pt[i] = logt ? a * pow(b / a, f) : a + (b - a) * f;
        }
        if ((st = dw_spectrum_density(s, np, pt, prho))) {
            rc = cli_status(st);
            goto done;
        }
        if (logt)
            for (size_t i = 0; i < np; i++) prho[i] *= pt[i]; /* the density of ln t */
        size_t nbins = 0;
        char hl[160] = "", title[256];
        if (s2) {
            /* histogram of the non-zero squared singular values, normalised by all of them: its area is
             * 1 - (sampled atom at 0), as the density's is 1 - atom0 */
            nbins = (size_t)bins;
            edges = malloc(sizeof(double) * (nbins + 1));
            height = calloc(nbins, sizeof(double));
            if (!edges || !height) {
                rc = cli_error("--plot: out of memory");
                goto done;
            }
            const double lo = logt ? (isfinite(smin) ? smin : top * 1e-6) : 0, r = logt ? log(top / lo) : 0;
            for (size_t i = 0; i <= nbins; i++)
                edges[i] = logt ? lo * exp(r * (double)i / (double)nbins) : top * (double)i / (double)nbins;
            for (size_t k = 0; k < S; k++) {
                const size_t nz = N - dw_spectrum_count_zeros(1, N, s2 + k * N);
                for (size_t i = 0; i < nz; i++) {
                    const double v = s2[k * N + i], u = logt ? log(v / lo) / r : v / top;
                    const double j = floor(u * (double)nbins);
                    height[j < 0 ? 0 : j >= (double)nbins ? nbins - 1 : (size_t)j] += 1;
                }
            }
            for (size_t i = 0; i < nbins; i++)
                height[i] /= (double)(S * N) * (logt ? r / (double)nbins : top / (double)nbins);
            char lb[64];
            snprintf(hl, sizeof hl, "%zu networks, N = %zu, %s (atom at 0: %.3g)", S, N,
                     dw_law_format(&law, lb, sizeof lb), atom_emp);
        }
        char cl[128];
        snprintf(cl, sizeof cl, "limit N -> inf (atom at 0: %.3g)", dw_spectrum_atom0(s));
        snprintf(title, sizeof title, "squared singular values of J: %s, depth %ld, %s limit", dw_act_name(act),
                 depth, orthw ? "orthogonal" : "i.i.d.");
        if ((st = cli_plot_density(plot, title, logt, logt ? "t rho(t)  (density of ln t)" : "rho(t)", np, pt, prho,
                                   nbins, edges, height, cl, s2 ? hl : NULL))) {
            rc = cli_error("--plot: %s", dw_error_message());
            goto done;
        }
    }
    const int L = (int)depth;
    const double *q = dw_spectrum_q(s), *mu = dw_spectrum_mu(s);
    const double var = m[1] - m[0] * m[0];
    if (json) {
        printf("{\"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"depth\": %d, \"weights\": \"%s\", \"q0\": %.17g, \"fixed_point\": %s", L, weights, q0v[0],
               fixed ? "true" : "false");
        printf(",\n \"q\": ");
        json_array(stdout, q, L);
        printf(",\n \"mu\": [");
        for (int l = 0; l < L; l++) {
            if (l) printf(", ");
            json_array(stdout, mu + (size_t)l * kmax, (int)K);
        }
        printf("],\n \"mu_error\": %.3g,\n \"moments\": ", dw_spectrum_mu_error(s));
        json_array(stdout, m, (int)K);
        printf(",\n \"variance\": %.17g, \"route\": \"S-transform\"", var);
        if (checked) printf(", \"route_nc_max_rel_diff\": %.3g", maxrel);
        if (have_qs) printf(",\n \"q_star\": %.17g, \"chi_star\": %.17g", qs, chi);
        else printf(",\n \"q_star\": null, \"chi_star\": null");
        printf(", \"critical\": %s, \"atom0\": %.17g, \"support\": [%.17g, %.17g]", critical ? "true" : "false",
               dw_spectrum_atom0(s), lo, hi);
        if (exact) {
            printf(",\n \"exact\": {\"q\": ");
            json_exact(stdout, ex, 'q', 0, L);
            printf(", \"mu\": [");
            for (int l = 0; l < L; l++) {
                if (l) printf(", ");
                json_exact(stdout, ex, 'u', l + 1, (int)K);
            }
            printf("], \"moments\": ");
            json_exact(stdout, ex, 'm', 0, (int)K);
            printf(", \"variance\": ");
            if (dw_spectrum_exact_var(ex)) cli_json_string(stdout, dw_spectrum_exact_var(ex));
            else printf("null");
            if (exact_agree >= 0) printf(", \"routes_agree\": %s", exact_agree ? "true" : "false");
            printf("}");
        }
        if (density) {
            printf(",\n \"density\": {\"out\": ");
            cli_json_string(stdout, out);
            printf(", \"n\": %ld, \"grid\": [%.17g, %.17g], \"mass_on_grid_trapezoid\": %.17g}", gn, ga, gb, mass);
        }
        if (sample) {
            char lb[64];
            printf(",\n \"sample\": {\"law\": ");
            cli_json_string(stdout, dw_law_format(&law, lb, sizeof lb));
            printf(", \"width\": %ld, \"samples\": %ld, \"seed\": %ld, \"probes\": %ld, \"q0\": %.17g, \"moments\": ",
                   width, samples, seed, probes, q0s);
            json_array(stdout, sm, (int)K);
            printf(", \"se\": ");
            json_array(stdout, sse, (int)K);
            printf(", \"z\": [");
            for (long k = 0; k < K; k++) printf("%s%.6g", k ? ", " : "", sse[k] > 0 ? (sm[k] - m[k]) / sse[k] : 0.0);
            printf("]");
            if (s2) printf(", \"atom0\": %.17g, \"zeros\": %zu", atom_emp, zeros);
            printf(", \"threads\": %d, \"seconds\": %.6f}", dw_core_threads((int)threads), secs);
        }
        if (plot) {
            printf(",\n \"plot\": ");
            cli_json_string(stdout, plot);
        }
        printf("}\n");
    } else {
        printf("activation %s, depth %d, %s weights, %s\n", dw_act_name(act), L, weights,
               fixed ? "at the fixed point" : "from q0");
        printf("q_L = %.17g%s\n", q[L - 1], have_qs ? "" : " (no stable fixed point)");
        if (have_qs) printf("q* = %.17g, chi = sigma_w^2 mu_1(q*) = %.17g: %s\n", qs, chi,
                            critical ? "critical (edge of chaos)" : chi < 1 ? "ordered" : "chaotic");
        for (int k = 0; k < K; k++) {
            printf("m_%d = %.17g", k + 1, m[k]);
            if (exact) printf("  = %s", dw_spectrum_exact_m(ex, k + 1));
            printf("\n");
        }
        if (K >= 2) printf("variance = %.17g\n", var);
        if (checked) printf("NC(k) route agrees to %.3g relative\n", maxrel);
        printf("atom at 0: %.17g; support within [%.17g, %.17g]\n", dw_spectrum_atom0(s), lo, hi);
        if (density) printf("density: %ld points on [%g, %g] -> %s (trapezoid mass on the grid %.9g)\n", gn, ga, gb, out, mass);
        if (sample) {
            char lb[64];
            printf("sampled: %ld networks of width %ld, %s weights, %s, q0 = %.6g (%.2f s)\n", samples, width,
                   dw_law_format(&law, lb, sizeof lb), probes ? "Hutchinson" : "exact SVD", q0s, secs);
            printf("  k  limit                    sample                   SE          z\n");
            for (long k = 0; k < K; k++)
                printf("%3ld  %-23.17g  %-23.17g  %-10.3g  %+.2f\n", k + 1, m[k], sm[k], sse[k],
                       sse[k] > 0 ? (sm[k] - m[k]) / sse[k] : 0.0);
            if (s2)
                printf("atom at 0: sample %.6g (%zu values zero to the SVD's resolution), limit %.6g\n", atom_emp, zeros,
                       dw_spectrum_atom0(s));
            printf("(the finite-width bias is O(1/N): |z| grows with the number of networks at fixed N)\n");
        }
        if (plot) printf("plot -> %s\n", plot);
    }
    rc = 0;
done:
    dw_spectrum_exact_clear(ex);
    dw_spectrum_exact_clear(ex2);
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_opts_clear(o);
    dw_net_clear(net);
    dw_spectrum_clear(s);
    dw_act_clear(act);
    free(wv);
    free(bv);
    free(q0v);
    free(m);
    free(mnc);
    free(t);
    free(rho);
    free(csv);
    free(sm);
    free(sse);
    free(s2);
    free(pt);
    free(prho);
    free(edges);
    free(height);
    return rc;
}
