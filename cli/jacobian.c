/* deepwick jacobian: limiting spectrum of J J^T for the input-output Jacobian (MATH.md 3). Parses options, calls
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
    "J = D_L W^L ... D_1 W^1 of a deep network of width N -> infinity, D_l = diag(phi'(h^l))  (MATH.md 3),\n"
    "by the S-transform (checked against the non-crossing-partition sum for k <= 12, i.i.d. weights), and\n"
    "the density of the squared singular values by Stieltjes inversion.\n"
    "\n"
    "required:\n"
    "  --depth L           number of layers, 1 <= L <= 100000\n"
    "  --act ACT           identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...\n"
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
    "  --json              print everything as one JSON object on stdout\n"
    "  -h, --help          this help\n"
    "\n"
    "Finite-network sampling (--sample) is not available yet: it needs the sampling module.\n";

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

static void json_array(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void json_strings(FILE *f, char *const *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        cli_json_string(f, v[i]);
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
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *actspec = NULL, *wtext = "1", *btext = "0", *weights = "gaussian", *grid = NULL, *out = NULL;
    const char *q0text = "1";
    long depth = -1, K = 0;
    int fixed = 0, exact = 0, density = 0, json = 0, have_k = 0, c;
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
        case 'W': weights = optarg; break;
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
        case 'S':
            return cli_error("--sample: finite-network sampling is not available yet (it needs the sampling module)");
        case 'h': fputs(help, stdout); return 0;
        default:
            return cli_usage_error("jacobian", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("jacobian", "unexpected argument '%s'", argv[optind]);
    if (depth < 0) return cli_usage_error("jacobian", "--depth is required");
    if (!actspec) return cli_usage_error("jacobian", "--act is required");
    if (!have_k) return cli_usage_error("jacobian", "--moments is required");
    dw_spectrum_weights wlaw;
    if (!strcmp(weights, "gaussian")) wlaw = DW_SPECTRUM_GAUSSIAN;
    else if (!strcmp(weights, "orthogonal")) wlaw = DW_SPECTRUM_ORTHOGONAL;
    else return cli_error("--weights: expected gaussian or orthogonal (got '%s')", weights);
    double ga = 0, gb = 0;
    long gn = 0;
    if (density) {
        if (!grid) return cli_usage_error("jacobian", "--density needs --grid A:B:N");
        if (!out) return cli_usage_error("jacobian", "--density needs --out FILE.csv");
        if (!parse_grid(grid, &ga, &gb, &gn))
            return cli_error("--grid: '%s' is not A:B:N (two finite numbers and an integer)", grid);
        if (!(ga > 0)) return cli_error("--grid: A = %g; the abscissae must be > 0 (the atom at 0 is reported apart)", ga);
        if (gn < 2) return cli_error("--grid: N = %ld; at least 2 points are needed", gn);
        if (gn > 100000000L) return cli_error("--grid: N = %ld is above 100000000", gn);
        if (!(gb > ga)) return cli_error("--grid: B = %g must be above A = %g", gb, ga);
        size_t ol = strlen(out);
        if (ol < 4 || strcmp(out + ol - 4, ".csv")) return cli_error("--out: '%s' must end in .csv", out);
    } else if (grid || out) {
        return cli_usage_error("jacobian", "--grid and --out go with --density");
    }

    int rc = 1;
    double *wv = NULL, *bv = NULL, *q0v = NULL, *m = NULL, *mnc = NULL, *t = NULL, *rho = NULL;
    size_t nw = 0, nb = 0, nq = 0;
    dw_act *act = NULL;
    dw_spectrum *s = NULL;
    dw_spectrum_exact ex, ex2;
    memset(&ex, 0, sizeof ex);
    memset(&ex2, 0, sizeof ex2);
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
    dw_spectrum_opts o;
    dw_spectrum_opts_init(&o);
    o.depth = (int)depth;
    o.act = act;
    o.n_weight_var = nw;
    o.weight_var = wv;
    o.n_bias_var = nb;
    o.bias_var = bv;
    o.q0 = q0v[0];
    o.fixed_point = fixed;
    o.weights = wlaw;
    o.kmax = (int)(K < 2 ? 2 : K);
    if ((st = dw_spectrum_init(&s, &o))) {
        rc = cli_status(st);
        goto done;
    }
    m = malloc(sizeof(double) * (size_t)o.kmax);
    mnc = malloc(sizeof(double) * (size_t)o.kmax);
    if (!m || !mnc) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((st = dw_spectrum_moments(s, o.kmax, DW_SPECTRUM_ROUTE_S, m))) {
        rc = cli_status(st);
        goto done;
    }
    /* route 1 as a check where it is cheap */
    int checked = 0;
    double maxrel = 0;
    if (wlaw == DW_SPECTRUM_GAUSSIAN && K <= 12) {
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
        if (wlaw == DW_SPECTRUM_GAUSSIAN && K <= 12) {
            if ((st = dw_spectrum_exact_init(&ex2, s, (int)K, DW_SPECTRUM_ROUTE_NC))) {
                rc = cli_status(st);
                goto done;
            }
            exact_agree = 1;
            for (int k = 0; k < K; k++) exact_agree &= !strcmp(ex.m[k], ex2.m[k]);
        }
    }
    /* criticality at the fixed point (one weight and bias variance) */
    int have_qs = 0, uniform = 1;
    double qs = 0, chi = 0;
    for (size_t i = 1; i < nw; i++) uniform &= wv[i] == wv[0];
    for (size_t i = 1; i < nb; i++) uniform &= bv[i] == bv[0];
    if (uniform) {
        dw_spectrum *s1 = NULL;
        dw_spectrum_opts o1 = o;
        o1.depth = 1;
        o1.n_weight_var = o1.n_bias_var = 1;
        o1.fixed_point = 1;
        o1.kmax = 1;
        if (dw_spectrum_init(&s1, &o1) == DW_OK) {
            have_qs = 1;
            qs = dw_spectrum_q(s1)[0];
            chi = wv[0] * dw_spectrum_mu(s1)[0];
            dw_spectrum_clear(s1);
        }
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
    const int L = (int)depth;
    const double *q = dw_spectrum_q(s), *mu = dw_spectrum_mu(s);
    const double var = m[1] - m[0] * m[0];
    if (json) {
        printf("{\"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"depth\": %d, \"weights\": \"%s\", \"q0\": %.17g, \"fixed_point\": %s", L, weights, o.q0,
               fixed ? "true" : "false");
        printf(",\n \"q\": ");
        json_array(stdout, q, L);
        printf(",\n \"mu\": [");
        for (int l = 0; l < L; l++) {
            if (l) printf(", ");
            json_array(stdout, mu + (size_t)l * o.kmax, (int)K);
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
            json_strings(stdout, ex.q, L);
            printf(", \"mu\": [");
            for (int l = 0; l < L; l++) {
                if (l) printf(", ");
                json_strings(stdout, ex.mu + (size_t)l * K, (int)K);
            }
            printf("], \"moments\": ");
            json_strings(stdout, ex.m, (int)K);
            printf(", \"variance\": ");
            if (ex.var) cli_json_string(stdout, ex.var);
            else printf("null");
            if (exact_agree >= 0) printf(", \"routes_agree\": %s", exact_agree ? "true" : "false");
            printf("}");
        }
        if (density) {
            printf(",\n \"density\": {\"out\": ");
            cli_json_string(stdout, out);
            printf(", \"n\": %ld, \"grid\": [%.17g, %.17g], \"mass_on_grid_trapezoid\": %.17g}", gn, ga, gb, mass);
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
            if (exact) printf("  = %s", ex.m[k]);
            printf("\n");
        }
        if (K >= 2) printf("variance = %.17g\n", var);
        if (checked) printf("NC(k) route agrees to %.3g relative\n", maxrel);
        printf("atom at 0: %.17g; support within [%.17g, %.17g]\n", dw_spectrum_atom0(s), lo, hi);
        if (density) printf("density: %ld points on [%g, %g] -> %s (trapezoid mass on the grid %.9g)\n", gn, ga, gb, out, mass);
    }
    rc = 0;
done:
    dw_spectrum_exact_clear(&ex);
    dw_spectrum_exact_clear(&ex2);
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
    return rc;
}
