/* deepwick jacobian: limiting spectrum of J J^T for the input-output Jacobian (theory.md 3). Parses the options and
 * runs the library's report (dw_spectrum_report: limit, checks, exact, density, sampled networks); jacobian_out.c
 * writes it (the JSON is the library's). No mathematics here. */
#include "cli.h"
#include "jacobian.h"
#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The options: one table gives the parsing and --help (the JSON is the library's report). */
typedef struct jacobian_args {
    cli_args base;
    const char *act, *weights, *out, *plot, *law;
    long depth, moments, width, samples, probes, seed, threads, bins;
    cli_reals weight_var, bias_var, residual;
    double q0, skip;
    cli_grid grid;
    bool fixed_point, exact, density, json, sample, log_t, act_first;
} jacobian_args;

#define F(field) offsetof(jacobian_args, field)
static const cli_opt opts[] = {
    {"depth", CLI_INT, F(depth), "L", "number of layers, 1 <= L <= 100000", .flags = CLI_REQUIRED, .lo = 1,
     .hi = DW_SPECTRUM_DEPTH_MAX},
    {"act", CLI_TEXT, F(act), "ACT",
     "any activation of `deepwick kernel` (relu, erf, tanh, gelu, ... or an expression\n"
     "in z); rational mu_j for identity, relu, leaky_relu:ALPHA, abs, step, poly:...", .flags = CLI_REQUIRED},
    {"moments", CLI_INT, F(moments), "K", "number of moments, 1 <= K <= 256", .flags = CLI_REQUIRED, .lo = 1,
     .hi = DW_SPECTRUM_KMAX},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L comma-separated per-layer values",
     .def = "1"},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L values", .def = "0"},
    {"q0", CLI_REAL, F(q0), "Q", "input variance |x|^2/N > 0; q_1 = sigma_w^2 Q + sigma_b^2", .def = "1"},
    {"residual", CLI_REALS, F(residual), "ALPHA",
     "residual network: L blocks x' = GAMMA x + ALPHA phi(W x + b) (branch dense; ACT),\n"
     "J = prod (GAMMA I + ALPHA D_l W_l); one ALPHA or L values; K <= 8; the moments\n"
     "(and --sample), no density", .flags = 0},
    {"skip", CLI_REAL, F(skip), "GAMMA", "the skip connection's scale of --residual", .def = "1"},
    {"act-first", CLI_FLAG, F(act_first), NULL,
     "--residual's blocks act first: x' = GAMMA x + ALPHA (W phi(x) + b) (branch ACT; dense),\n"
     "J = prod (GAMMA I + ALPHA W_l D_{l-1}); K <= 4, with an error estimate", .flags = 0},
    {"fixed-point", CLI_FLAG, F(fixed_point), NULL, "every layer at the stable fixed point q* of the variance map",
     .flags = 0},
    {"weights", CLI_CHOICE, F(weights), "W", "gaussian (any i.i.d. law: the same limit) or orthogonal (Haar)",
     .def = "gaussian", .choices = "gaussian|orthogonal"},
    {"exact", CLI_FLAG, F(exact), NULL, "also exact rationals (strings \"45/7\") where mu_j and q_l are rational:\n"
     "identity, relu, leaky_relu, abs, step, poly (decimals read as written: 0.1 = 1/10)", .flags = 0},
    {"density", CLI_FLAG, F(density), NULL, "write the density rho(t) of the squared singular values (atoms excluded;\n"
     "the atom at 0 is reported) to --out as CSV t,rho", .flags = 0},
    {"grid", CLI_GRID, F(grid), "A:B:N", "density abscissae: N >= 2 points evenly spaced on [A, B], 0 < A < B",
     .lo = 2, .hi = 100000000L},
    {"out", CLI_TEXT, F(out), "FILE.csv", "density output, written atomically", .flags = CLI_OUTPUT, .ext = ".csv"},
    {"plot", CLI_TEXT, F(plot), "FILE.svg",
     "plot the density (on --grid, else across the support) and, with --sample,\n"
     "the histogram of the sampled networks' squared singular values", .flags = CLI_OUTPUT, .ext = ".svg"},
    {"json", CLI_FLAG, F(json), NULL, "print everything as one JSON object on stdout", .flags = 0},
    /* finite networks */
    {"sample", CLI_FLAG, F(sample), NULL,
     "finite networks (compared with the limit above): draw --samples networks of\n"
     "width N (every layer N x N) and compute the moments of their J J^T: exactly\n"
     "(GEMM chain + SVD) or by Hutchinson's estimator (--probes)", .flags = 0},
    {"width", CLI_INT, F(width), "N", "hidden width, 1 <= N <= 46340 (--sample)", .lo = 1, .hi = 46340},
    {"samples", CLI_INT, F(samples), "S",
     "number of networks, S >= 2 (--sample; standard errors are over the networks)",
     .lo = 2, .hi = 100000000L},
    {"law", CLI_TEXT, F(law), "LAW",
     "gaussian, rademacher, uniform, student-t:NU, sparse:P (i.i.d.: compared with the\n"
     "--weights gaussian limit) or orthogonal (Haar: the --weights orthogonal limit);\n"
     "default: the law of --weights", .flags = 0},
    {"probes", CLI_INT, F(probes), "P", "0: exact squared singular values; P >= 2: Hutchinson with P Rademacher\n"
     "probes and Jacobian-vector products only (large N; no histogram)", .def = "0", .lo = 0, .hi = 1000000000L},
    {"seed", CLI_INT, F(seed), "SEED", "seed of the weights, biases, inputs and probes", .def = "0", .lo = 0,
     .hi = 9007199254740991L},
    {"threads", CLI_INT, F(threads), "T", "threads, one network each (0, the default: all cores); results do not "
                                          "depend on T",
     .lo = 0, .hi = 4096},
    {"bins", CLI_INT, F(bins), "B", "histogram bins for --plot", .def = "60", .lo = 1, .hi = 100000},
    {"log-t", CLI_FLAG, F(log_t), NULL, "--plot on a logarithmic t axis: t rho(t) (the density of ln t), geometric\n"
     "bins and --grid points (deep networks spread over many decades)", .flags = 0},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "jacobian", "--depth L --act ACT --moments K [options]",
    "Moments m_k = lim (1/N) E tr (J J^T)^k of the squared singular values of the input-output Jacobian\n"
    "J = D_L W^L ... D_1 W^1 of a deep network of width N -> infinity, D_l = diag(phi'(h^l))  (theory.md 3),\n"
    "by the S-transform (checked against the non-crossing-partition sum for k <= 12, i.i.d. weights), and\n"
    "the density of the squared singular values by Stieltjes inversion.\n",
    opts,
    "The input has |x|^2 / N = q0 (at the fixed point, the q0 that gives q_1 = q*). The JSON's \"sample\" holds the\n"
    "moments, their standard errors and z = (sample - limit) / SE; the finite-N bias is O(1/N), so |z| grows\n"
    "with S at fixed N. A progress bar is drawn on stderr when stderr is a terminal.\n"};

/* The relations between the options (the table checks each alone); -1 if fine, else the exit code after the
 * error. *law is the sampled networks' law. */
static int check_relations(const jacobian_args *a, const char **weights, dw_law *law)
{
    int orthw = !strcmp(a->weights, "orthogonal");
    *law = (dw_law){DW_LAW_GAUSSIAN, 0};
    if (a->sample) {
        if (!cli_given(&cmd, a, "width")) return cli_usage_error("jacobian", "--sample needs --width N");
        if (!cli_given(&cmd, a, "samples")) return cli_usage_error("jacobian", "--sample needs --samples S");
        if (a->law) {
            if (dw_law_parse(law, a->law)) return cli_error("--law: %s", dw_error_message());
            if (law->kind == DW_LAW_COMPLEX_GAUSSIAN)
                return cli_error("--law: complex-gaussian: the Jacobian spectrum is for real networks");
            const int orth = law->kind == DW_LAW_ORTHOGONAL;
            if (cli_given(&cmd, a, "weights") && orth != orthw)
                return cli_error("--law %s does not go with --weights %s (orthogonal with orthogonal; every "
                                 "i.i.d. law with gaussian)", a->law, a->weights);
            orthw = orth;
            *weights = orth ? "orthogonal" : "gaussian";
        } else if (orthw) {
            law->kind = DW_LAW_ORTHOGONAL;
        }
    } else if (cli_given(&cmd, a, "width") || cli_given(&cmd, a, "samples") || a->law || a->probes || a->seed ||
               a->threads) {
        return cli_usage_error("jacobian",
                               "--width, --samples, --law, --probes, --seed and --threads go with --sample");
    }
    if (cli_given(&cmd, a, "skip") && !cli_given(&cmd, a, "residual"))
        return cli_usage_error("jacobian", "--skip goes with --residual");
    if (a->act_first && !cli_given(&cmd, a, "residual"))
        return cli_usage_error("jacobian", "--act-first goes with --residual");
    if (cli_given(&cmd, a, "residual") &&
        (a->fixed_point || a->exact || a->density || a->plot))
        return cli_usage_error("jacobian", "--residual gives the limit's moments and --sample: not with "
                               "--fixed-point, --exact, --density or --plot");
    if (cli_given(&cmd, a, "residual")) {
        const cli_reals *lists[3] = {&a->residual, &a->weight_var, &a->bias_var};
        const char *names[3] = {"residual", "weight-var", "bias-var"};
        for (int i = 0; i < 3; i++)
            if (lists[i]->n != 1 && lists[i]->n != (size_t)a->depth)
                return cli_error("--%s: %zu values; give one or L = %ld", names[i], lists[i]->n, a->depth);
    }
    if (a->probes == 1) return cli_error("--probes: 1 probe gives no standard error; use 0 (exact) or >= 2");
    if (a->plot) {
        if (a->sample && a->probes)
            return cli_usage_error("jacobian", "--plot with --sample needs exact spectra (--probes 0)");
    } else if (a->log_t) {
        return cli_usage_error("jacobian", "--log-t goes with --plot");
    }
    const bool grid = cli_given(&cmd, a, "grid");
    if (a->density) {
        if (!grid) return cli_usage_error("jacobian", "--density needs --grid A:B:N");
        if (!a->out) return cli_usage_error("jacobian", "--density needs --out FILE.csv");
    } else if (a->out || (grid && !a->plot)) {
        return cli_usage_error("jacobian", "--grid and --out go with --density (--grid also with --plot)");
    }
    if (grid && !(a->grid.a > 0))
        return cli_error("--grid: A = %g; the abscissae must be > 0 (the atom at 0 is reported apart)", a->grid.a);
    if (grid && !(a->grid.b > a->grid.a)) return cli_error("--grid: B = %g must be above A = %g", a->grid.b, a->grid.a);
    return -1;
}

/* One value, or value l of L (1 or L values, checked by check_relations). */
static double pick(const cli_reals *r, long l) { return r->n == 1 ? r->v[0] : r->v[l]; }

/* --residual: L blocks residual(dense(weight_var_l, bias_var_l); ACT, skip_scale = GAMMA, branch_scale = ALPHA_l),
 * with --act-first residual(ACT; dense(...)). */
static dw_status residual_net(dw_net *net, const jacobian_args *a, const dw_act *act)
{
    dw_status st = DW_OK;
    for (long l = 0; l < a->depth && !st; l++) {
        dw_net *b = NULL;
        if (!(st = dw_net_init(&b)) && !(a->act_first && (st = dw_net_add_act(b, act))) &&
            !(st = dw_net_add_dense(b, pick(&a->weight_var, l), pick(&a->bias_var, l), a->sample ? (double)a->width : 0)) &&
            !(!a->act_first && (st = dw_net_add_act(b, act))))
            st = dw_net_add_residual(net, b, a->skip, pick(&a->residual, l));
        dw_net_clear(b);
    }
    return st;
}

int cmd_jacobian(int argc, char **argv)
{
    jacobian_args a = {0};
    const char *weights = NULL;
    dw_law law;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc < 0) {
        weights = a.weights;
        rc = check_relations(&a, &weights, &law);
    }
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    const long depth = a.depth, K = a.moments, probes = a.probes, seed = a.seed;
    const bool sample = a.sample, density = a.density, grid = cli_given(&cmd, &a, "grid");
    const char *out = a.out, *plot = a.plot;
    const double ga = a.grid.a, gb = a.grid.b;
    const long gn = a.grid.n;
    rc = 1;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    dw_spectrum_sample_opts *so = NULL;
    dw_spectrum_report *r = NULL;
    dw_status st;
    if (!cli_act_init(&act, a.act)) goto done;
    /* the network (its law: the sampled one, or the limit's) and the limit's options */
    char lawbuf[64];
    if ((st = dw_net_init(&net)) ||
        (st = cli_given(&cmd, &a, "residual") ? residual_net(net, &a, act) : dw_net_set_fc(net, (int)depth, act, false)) ||
        (!cli_given(&cmd, &a, "residual") && (st = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v))) ||
        (!cli_given(&cmd, &a, "residual") && (st = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v))) ||
        (st = dw_net_set_law(net, sample ? dw_law_format(&law, lawbuf, sizeof lawbuf) : weights)) ||
        (st = dw_spectrum_opts_init(&o)) || (st = dw_spectrum_opts_set_q0(o, a.q0)) ||
        (st = dw_spectrum_opts_set_fixed_point(o, a.fixed_point)) ||
        (st = dw_spectrum_report_init(&r, net, o, (int)K))) {
        rc = cli_status(st);
        goto done;
    }
    if (a.exact && (st = dw_spectrum_report_exact(r))) {
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
        const double Nd = (double)a.width;
        cli_progress prog;
        cli_progress_init(&prog, "jacobian --sample");
        if ((!cli_given(&cmd, &a, "residual") && (st = dw_net_set_widths(net, 1, &Nd))) ||
            (st = dw_spectrum_sample_opts_init(&so)) ||
            (st = dw_spectrum_sample_opts_set_samples(so, (size_t)a.samples)) ||
            (st = dw_spectrum_sample_opts_set_probes(so, (size_t)probes)) ||
            (st = dw_spectrum_sample_opts_set_seed(so, (unsigned long long)seed)) ||
            (st = dw_spectrum_sample_opts_set_threads(so, (int)a.threads)) ||
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
        if ((rc = jacobian_plot(r, plot, a.log_t, (size_t)a.bins, grid ? ga : 0, grid ? gb : 0, grid ? (size_t)gn : 400,
                                dw_act_name(act), (int)depth, dw_law_format(&law, lb, sizeof lb))))
            goto done;
        rc = 1;
        if ((st = dw_spectrum_report_set_file(r, "plot", plot))) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (a.json) {
        const char *js = dw_spectrum_report_json(r);
        if (!js) {
            rc = cli_status(DW_ERR_NOMEM);
            goto done;
        }
        fputs(js, stdout);
        fputc('\n', stdout);
    } else {
        jacobian_summary(r, dw_act_name(act), weights, a.fixed_point, a.exact, density ? out : NULL,
                         sample ? lawbuf : NULL,
                         (size_t)probes, plot);
    }
    rc = 0;
done:
    dw_spectrum_report_clear(r);
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    cli_args_free(&cmd, &a);
    return rc;
}
