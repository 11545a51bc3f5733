/* deepwick expand: exact finite-width E[f(x) f(y)] of a polynomial-activation network (theory.md 4.3). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing, --help and the JSON echo. */
typedef struct expand_args {
    cli_args base;
    const char *poly, *weight_var, *bias_var, *inputs, *route, *dot, *residual;
    long depth, term;
    bool terms, json;
} expand_args;

#define F(field) offsetof(expand_args, field)
static const cli_opt opts[] = {
    {"depth", CLI_INT, F(depth), "L", "number of activations, L >= 0", .flags = CLI_REQUIRED, .lo = 0,
     .hi = DW_WICK_NET_DEPTH_MAX},
    {"poly", CLI_TEXT, F(poly), "C", "coefficients c0,c1,...,cK (exact: decimals such as 0.1 mean 1/10, or p/q)",
     .flags = CLI_REQUIRED | CLI_HIDDEN_JSON}, /* echoed as a list of exact strings */
    {"inputs", CLI_TEXT, F(inputs), "FILE", "n x d inputs (.npy or .csv); every pair i <= j of rows is expanded",
     .flags = CLI_REQUIRED},
    {"weight-var", CLI_TEXT, F(weight_var), "V", "sigma_w^2, exact decimal or p/q", .def = "1"},
    {"bias-var", CLI_TEXT, F(bias_var), "B", "sigma_b^2", .def = "0"},
    {"residual", CLI_TEXT, F(residual), "G,A2", "residual blocks: the hidden layers 2..L become\n"
     "h^l = G h^{l-1} + alpha (W^l phi(h^{l-1}) + b^l), alpha^2 = A2 (exact);\n"
     "one pair for every block or L-1 pairs G2,A2_2,G3,A2_3,...; the constant term\n"
     "is the NNGP of `deepwick kernel --net 'dense; residual(phi; dense,\n"
     "skip_scale=G, branch_scale=alpha); ...; phi; dense'`", .def = NULL},
    {"route", CLI_TEXT, F(route), "R", "trees (the operator-graph expansion, a sum over pairs of trees of their\n"
     "Wick pairings) or conditional (the layer recursion conditioned on the layer below)", .def = "trees"},
    {"terms", CLI_FLAG, F(terms), NULL, "list the trees with their coefficients and, per pair of trees, the pairings'\n"
     "powers of N and Euler characteristics (first pair of inputs; trees route)", .flags = 0},
    {"dot", CLI_TEXT, F(dot), "FILE", "write a Graphviz drawing of term K of the first pair of inputs",
     .flags = CLI_OUTPUT},
    {"term", CLI_INT, F(term), "K", "which term --dot draws", .def = "0", .lo = 0, .hi = 1000000000},
    {"json", CLI_FLAG, F(json), NULL, "one JSON object on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "expand",
    "--depth L --poly c0,c1,c2,... --inputs X.npy [--weight-var V] [--bias-var B]\n"
    "                       [--residual G,A2[,...]] [--route trees|conditional] [--terms] [--dot term.dot [--term K]]\n"
    "                       [--json]",
    "E[f(x) f(y)] at finite hidden width N, exactly, as a polynomial in 1/N, for the network\n"
    "  h^1 = W^1 x + b^1,  h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},  f = h^{L+1},  phi(z) = c0 + c1 z + c2 z^2 + ...\n"
    "with Gaussian weights of variance V / fan_in and biases of variance B (theory.md 4.3). The constant term is the\n"
    "NNGP kernel of `deepwick kernel --act poly:c0,c1,...`. With --residual the hidden layers 2..L are residual\n"
    "blocks h^l = G h^{l-1} + alpha (W^l phi(h^{l-1}) + b^l).\n",
    opts, "The first pair of inputs is (0, 1) when X has two or more rows, else (0, 0).\n"};

static char **split_list(const char *text, size_t *n)
{
    size_t k = 1;
    for (const char *p = text; *p; p++) k += *p == ',';
    char **v = calloc(k + 1, sizeof *v);
    char *copy = malloc(strlen(text) + 1);
    if (!v || !copy) {
        free(v);
        free(copy);
        return NULL;
    }
    strcpy(copy, text);
    v[k] = copy; /* owner of the storage */
    char *p = copy;
    for (size_t i = 0; i < k; i++) {
        v[i] = p;
        p += strcspn(p, ",");
        if (*p) *p++ = '\0';
    }
    *n = k;
    return v;
}

int cmd_expand(int argc, char **argv)
{
    expand_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    const long depth = a.depth;
    const bool terms = a.terms, json = a.json;
    const char *dotpath = a.dot, *xpath = a.inputs;
    dw_wick_expand_route r;
    if (dw_wick_expand_route_parse(a.route, &r)) return cli_error("--%s", dw_error_message());
    if ((terms || dotpath) && r != DW_WICK_EXPAND_TREES)
        return cli_error("--terms and --dot need the trees route");
    rc = 1;
    size_t ncoef = 0;
    char **coef = split_list(a.poly, &ncoef);
    dw_matrix X;
    dw_matrix_init(&X);
    dw_wick_expansion **ex = NULL;
    dw_wick_net *net = NULL;
    size_t npairs = 0;
    dw_status s;
    if (!coef) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((s = dw_io_read_matrix(&X, xpath))) {
        rc = cli_status(s);
        goto done;
    }
    if (X.rows == 0 || X.cols == 0) {
        rc = cli_error("%s: no inputs (the array is %zu x %zu)", xpath, X.rows, X.cols);
        goto done;
    }
    if (X.rows > 64) {
        rc = cli_error("%s: %zu rows; expand takes at most 64 inputs (2080 pairs)", xpath, X.rows);
        goto done;
    }
    if ((s = dw_wick_net_init(&net)) || (s = dw_wick_net_set_depth(net, (int)depth)) ||
        (s = dw_wick_net_set_poly(net, ncoef, (const char *const *)coef)) ||
        (s = dw_wick_net_set_weight_var(net, a.weight_var)) || (s = dw_wick_net_set_bias_var(net, a.bias_var))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.residual) {
        size_t nres = 0;
        char **rv = split_list(a.residual, &nres);
        if (!rv) {
            rc = cli_error("out of memory");
            goto done;
        }
        if (nres % 2) {
            free(rv[nres]);
            free(rv);
            rc = cli_error("--residual: expected pairs GAMMA,ALPHA2 (an even number of values), got %zu values", nres);
            goto done;
        }
        const char **g = malloc((nres / 2 + 1) * sizeof *g), **a2 = malloc((nres / 2 + 1) * sizeof *a2);
        for (size_t k = 0; g && a2 && k < nres / 2; k++) {
            g[k] = rv[2 * k];
            a2[k] = rv[2 * k + 1];
        }
        s = g && a2 ? dw_wick_net_set_residual(net, nres / 2, g, a2) : DW_ERR_NOMEM;
        free(g);
        free(a2);
        free(rv[nres]);
        free(rv);
        if (s) {
            rc = s == DW_ERR_NOMEM ? cli_error("out of memory") : cli_error("--%s", dw_error_message());
            goto done;
        }
    }
    const size_t n = X.rows;
    ex = calloc(n * (n + 1) / 2, sizeof *ex);
    if (!ex) {
        rc = cli_error("out of memory");
        goto done;
    }
    const size_t fi = 0, fj = n > 1 ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            const bool rec = (terms || dotpath) && i == fi && j == fj;
            s = dw_wick_expand(net, r, rec, X.data + i * X.cols, X.data + j * X.cols, X.cols, &ex[npairs]);
            if (s) {
                rc = cli_status(s);
                goto done;
            }
            npairs++;
        }
    size_t first = fj; /* index of pair (0, fj) in the i <= j order */
    if (dotpath) {
        const char *dot;
        if ((s = dw_wick_expansion_dot(ex[first], (size_t)a.term, &dot))) {
            rc = cli_error("--term: %s", dw_error_message());
            goto done;
        }
        if ((s = dw_io_write_text(dotpath, dot, strlen(dot)))) {
            rc = cli_status(s);
            goto done;
        }
    }
    /* The JSON texts are built (and cached) before anything is printed: no half-written output if one fails. */
    for (size_t p = 0; p < npairs && (json || terms); p++)
        if ((json || p == first) && !dw_wick_expansion_json(ex[p])) {
            rc = cli_status(DW_ERR_NOMEM);
            goto done;
        }
    if (json) {
        printf("{\"command\": \"expand\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"poly\": [");
        for (size_t k = 0; k < ncoef; k++) {
            printf(k ? ", " : "");
            cli_json_string(stdout, coef[k]);
        }
        printf("], \"pairs\": [");
        size_t p = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i; j < n; j++, p++) {
                printf("%s{\"i\": %zu, \"j\": %zu, \"float\": {", p ? ", " : "", i, j);
                int D = dw_wick_expansion_degree(ex[p]);
                for (int k = 0; k <= D; k++) printf("%s\"N^%d\": %.17g", k ? ", " : "", -k, dw_wick_expansion_coef_d(ex[p], k));
                printf("}, \"expansion\": %s}", dw_wick_expansion_json(ex[p]));
            }
        printf("]}\n");
    } else {
        size_t p = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i; j < n; j++, p++) {
                printf("E[f(x%zu) f(x%zu)] =", i, j);
                int D = dw_wick_expansion_degree(ex[p]);
                for (int k = 0; k <= D; k++) {
                    const char *cs = dw_wick_expansion_coef(ex[p], k);
                    if (k) printf(" %s %s N^-%d", cs[0] == '-' ? "-" : "+", cs + (cs[0] == '-'), k);
                    else printf(" %s", cs);
                }
                printf("   (");
                for (int k = 0; k <= D; k++) printf("%s%.10g", k ? ", " : "", dw_wick_expansion_coef_d(ex[p], k));
                printf(" per power of 1/N)\n");
            }
        if (terms) printf("terms of the first pair (JSON): %s\n", dw_wick_expansion_json(ex[first]));
    }
    rc = 0;
done:
    if (ex)
        for (size_t k = 0; k < npairs; k++) dw_wick_expansion_clear(ex[k]);
    free(ex);
    dw_wick_net_clear(net);
    if (coef) {
        free(coef[ncoef]);
        free(coef);
    }
    dw_matrix_clear(&X);
    return rc;
}
