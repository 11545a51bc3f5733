/* deepwick wick: exact finite-N expectations of products of traces of random-matrix words (theory.md 4.1-4.2). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing and --help (the JSON is the library's result). */
typedef struct wick_args {
    cli_args base;
    const char *expr, *ensemble, *route;
    long max_pairings, threads;
    bool normalized, by_genus, pairings, json;
} wick_args;

#define F(field) offsetof(wick_args, field)
static const cli_opt opts[] = {
    {"expression", CLI_TEXT, F(expr), "EXPR",
     "a product of traces tr(...) of words; a letter is a name (A, B, W1, ...), optionally\n"
     "followed by ^T (transpose), ^* or ^H (adjoint) or ^k (power); parentheses group,\n"
     "(A B^T)^3, (A B)^T; tr(A^2)^2 is a product of two traces. Letters may be written\n"
     "together (ABAB) or apart (A B A B); quote the expression.",
     .flags = CLI_POSITIONAL | CLI_REQUIRED},
    {"ensemble", CLI_TEXT, F(ensemble), "SPEC", "one ensemble for every letter, or LETTER=ENSEMBLE,... (default gue):\n"
     "gue, goe, ginibre (real), complex-ginibre, rademacher, sparse:P,\n"
     "moments:m4,m6,... (E xi^4, E xi^6, ... of the entries xi / sqrt N)", .flags = 0},
    {"normalized", CLI_FLAG, F(normalized), NULL, "normalised traces (1/N) tr", .flags = 0},
    {"by-genus", CLI_FLAG, F(by_genus), NULL,
     "split by the Euler characteristic chi = V - E + F of the glued surface,\n"
     "with orientable and non-orientable counts (pairings and recursion routes)", .flags = 0},
    {"pairings", CLI_FLAG, F(pairings), NULL, "list the pairings (up to --max-pairings) with chi and the power of N",
     .flags = 0},
    {"max-pairings", CLI_INT, F(max_pairings), "K", "how many pairings to list", .def = "200", .lo = 1,
     .hi = 1000000},
    {"route", CLI_TEXT, F(route), "R", "auto, pairings (Wick, Gaussian laws), partitions (set partitions of the\n"
     "index slots, every law), recursion (one-trace GUE tr(A^2k) by Harer-Zagier, GOE\n"
     "tr(A^2k) by Ledoux, complex Ginibre tr((G G^*)^k) by Haagerup-Thorbjornsen, real\n"
     "Ginibre tr((A A^T)^k), k <= 50, by a five-term recurrence; see docs/wick.md)", .def = "auto"},
    {"threads", CLI_INT, F(threads), "T", "threads for the pairings route (the result does not depend on it)", .lo = 0,
     .hi = 4096},
    {"json", CLI_FLAG, F(json), NULL,
     "one JSON object: {\"value\": {\"N^1\": \"2\", \"N^-1\": \"1\"}, \"route\": ..., ...}", .flags = 0},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "wick",
    "\"tr(A A^T A A^T)\" [--ensemble A=ginibre,B=gue,...] [--normalized] [--by-genus]\n"
    "                     [--pairings] [--route R] [--json]",
    "Exact E[prod_i tr(w_i)] as a Laurent polynomial in N with exact integer or rational coefficients\n"
    "(theory.md 4.1-4.2: N x N matrices, E|X_ij|^2 = 1/N off the diagonal).\n",
    opts,
    "Limits (docs/wick.md): pairings up to 2e9 Wick pairings, partitions up to 20 letters, the recursion up to\n"
    "4096 letters.\n"};

int cmd_wick(int argc, char **argv)
{
    wick_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    const bool json = a.json, pairings = a.pairings;
    dw_wick_route r;
    if (dw_wick_route_parse(a.route, &r)) return cli_error("--%s", dw_error_message());
    dw_wick_opts *o = NULL;
    dw_wick_result *res = NULL;
    dw_status s;
    if ((s = dw_wick_opts_init(&o)) || (s = dw_wick_opts_set_ensembles(o, a.ensemble)) ||
        (s = dw_wick_opts_set_normalized(o, a.normalized)) ||
        (a.threads && (s = dw_wick_opts_set_threads(o, (int)a.threads))) ||
        (s = dw_wick_opts_set_max_pairings(o, pairings ? (size_t)a.max_pairings : 0)) ||
        (s = dw_wick_opts_set_route(o, r)) || (s = dw_wick_compute(o, a.expr, &res))) {
        dw_wick_opts_clear(o);
        return cli_status(s);
    }
    dw_wick_opts_clear(o);
    const char *out = json ? dw_wick_result_json(res) : dw_wick_result_text(res, a.by_genus, pairings);
    if (!out) {
        dw_wick_result_clear(res);
        return cli_status(DW_ERR_NOMEM);
    }
    fputs(out, stdout);
    if (json) fputc('\n', stdout);
    dw_wick_result_clear(res);
    return 0;
}
