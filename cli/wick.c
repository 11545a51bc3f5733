/* deepwick wick: exact finite-N expectations of products of traces of random-matrix words (theory.md 4.1-4.2). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick wick \"tr(A A^T A A^T)\" [--ensemble A=ginibre,B=gue,...] [--normalized] [--by-genus]\n"
    "                     [--pairings] [--route R] [--json]\n"
    "\n"
    "Exact E[prod_i tr(w_i)] as a Laurent polynomial in N with exact integer or rational coefficients\n"
    "(theory.md 4.1-4.2: N x N matrices, E|X_ij|^2 = 1/N off the diagonal).\n"
    "\n"
    "expression: a product of traces tr(...) of words; a letter is a name (A, B, W1, ...), optionally followed by\n"
    "  ^T (transpose), ^* or ^H (adjoint) or ^k (power); parentheses group, (A B^T)^3, (A B)^T; tr(A^2)^2 is a\n"
    "  product of two traces. Letters may be written together (ABAB) or apart (A B A B).\n"
    "options:\n"
    "  --ensemble SPEC     one ensemble for every letter, or LETTER=ENSEMBLE,... (default gue):\n"
    "                      gue, goe, ginibre (real), complex-ginibre, rademacher, sparse:P,\n"
    "                      moments:m4,m6,... (E xi^4, E xi^6, ... of the entries xi / sqrt N)\n"
    "  --normalized        normalised traces (1/N) tr\n"
    "  --by-genus          split by the Euler characteristic chi = V - E + F of the glued surface, with\n"
    "                      orientable and non-orientable counts (pairings and recursion routes)\n"
    "  --pairings          list the pairings (up to --max-pairings, default 200) with chi and the power of N\n"
    "  --max-pairings K    how many pairings to list\n"
    "  --route R           auto (default), pairings (Wick, Gaussian laws), partitions (set partitions of the\n"
    "                      index slots, every law), recursion (one-trace GUE tr(A^2k) by Harer-Zagier, GOE\n"
    "                      tr(A^2k) by Ledoux, complex Ginibre tr((G G^*)^k) by Haagerup-Thorbjornsen, real\n"
    "                      Ginibre tr((A A^T)^k), k <= 50, by a five-term recurrence; see docs/wick.md)\n"
    "  --threads T         threads for the pairings route (the result does not depend on it)\n"
    "  --json              one JSON object: {\"value\": {\"N^1\": \"2\", \"N^-1\": \"1\"}, \"route\": ..., ...}\n"
    "  -h, --help          this help\n"
    "\n"
    "Limits (docs/wick.md): pairings up to 2e9 Wick pairings, partitions up to 20 letters, the recursion up to\n"
    "4096 letters.\n";

int cmd_wick(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ensemble", required_argument, 0, 'e'}, {"normalized", no_argument, 0, 'n'},
        {"by-genus", no_argument, 0, 'g'},       {"pairings", no_argument, 0, 'p'},
        {"max-pairings", required_argument, 0, 'm'}, {"route", required_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'},  {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *ens = NULL, *route = "auto", *expr = NULL;
    bool normalized = false, by_genus = false, pairings = false, json = false;
    int c;
    long max_pairings = 200, threads = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': ens = optarg; break;
        case 'n': normalized = true; break;
        case 'g': by_genus = true; break;
        case 'p': pairings = true; break;
        case 'm':
            if (!cli_parse_int("--max-pairings", optarg, 1, 1000000, &max_pairings)) return 1;
            break;
        case 'r': route = optarg; break;
        case 't':
            if (!cli_parse_int("--threads", optarg, 1, 4096, &threads)) return 1;
            break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return 0;
        default: return cli_usage_error("wick", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++) {
        if (expr) return cli_usage_error("wick", "unexpected argument '%s' (quote the expression)", argv[optind]);
        expr = argv[optind];
    }
    if (!expr) return cli_usage_error("wick", "an expression such as \"tr(A A^T)\" is required");
    dw_wick_route r;
    if (dw_wick_route_parse(route, &r)) return cli_error("--%s", dw_error_message());
    dw_wick_opts *o = NULL;
    dw_wick_result *res = NULL;
    dw_status s;
    if ((s = dw_wick_opts_init(&o)) || (s = dw_wick_opts_set_ensembles(o, ens)) ||
        (s = dw_wick_opts_set_normalized(o, normalized)) ||
        (threads && (s = dw_wick_opts_set_threads(o, (int)threads))) ||
        (s = dw_wick_opts_set_max_pairings(o, pairings ? (size_t)max_pairings : 0)) ||
        (s = dw_wick_opts_set_route(o, r)) || (s = dw_wick_compute(o, expr, &res))) {
        dw_wick_opts_clear(o);
        return cli_status(s);
    }
    dw_wick_opts_clear(o);
    const char *out = json ? dw_wick_result_json(res) : dw_wick_result_text(res, by_genus, pairings);
    if (!out) {
        dw_wick_result_clear(res);
        return cli_status(DW_ERR_NOMEM);
    }
    fputs(out, stdout);
    if (json) fputc('\n', stdout);
    dw_wick_result_clear(res);
    return 0;
}
