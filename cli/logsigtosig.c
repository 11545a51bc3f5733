/* deepwick logsigtosig: signatures from log-signatures (exp of the Lie element; iisignature's logsigtosig,
 * theory.md 5). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct l2s_args {
    cli_args base;
    const char *in, *out, *basis;
    long level, dimension;
    bool json;
} l2s_args;

#define F(field) offsetof(l2s_args, field)
static const cli_opt opts[] = {
    {"logsig", CLI_TEXT, F(in), "FILE",
     "log-signatures: .npy or .csv, batch x L (or one log-signature of L entries), as\n"
     "`deepwick logsignature --basis B` writes them",
     .flags = CLI_REQUIRED},
    {"dimension", CLI_INT, F(dimension), "D", "the paths' dimension d", .flags = CLI_REQUIRED, .lo = 1,
     .hi = 1L << 30},
    {"level", CLI_INT, F(level), "N", "truncation level, 1..64", .flags = CLI_REQUIRED, .lo = 1, .hi = 64},
    {"basis", CLI_CHOICE, F(basis), "B", "the log-signatures' basis: lyndon, hall or expanded", .def = "lyndon",
     .choices = "lyndon|hall|expanded"},
    {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64), batch x (d + ... + d^N), written atomically",
     .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "logsigtosig", "--logsig L.npy --dimension D --level N --out S.npy [--basis B] [options]",
    "The signatures whose log-signatures are given: exp of the Lie element the coordinates stand for, truncated\n"
    "at level N (level 0 omitted; iisignature's logsigtosig). The inverse of `deepwick logsignature`.\n",
    opts, NULL};

int cmd_logsigtosig(int argc, char **argv)
{
    l2s_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    rc = 1;
    const size_t d = (size_t)a.dimension;
    dw_matrix L;
    dw_matrix_init(&L);
    double *res = NULL;
    dw_sig_opts *o = NULL;
    dw_sig_basis basis;
    size_t lsz, sz;
    dw_status s;
    if ((s = dw_sig_basis_parse(a.basis, &basis)) || (s = dw_sig_opts_init(&o)) ||
        (s = dw_sig_opts_set_level(o, (int)a.level)) || (s = dw_sig_opts_set_basis(o, basis)) ||
        (s = dw_sig_basis_size(basis, d, (int)a.level, &lsz)) || (s = dw_sig_size(d, (int)a.level, &sz))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    if (!cli_read_points(a.in, &L)) goto done;
    if (L.cols != lsz && L.rows * L.cols == lsz) { /* one log-signature stored as a column */
        L.cols = lsz;
        L.rows = 1;
    }
    if (L.cols != lsz) {
        rc = cli_error("%s: expected log-signatures of %zu entries (d = %zu, level %ld, basis %s), got %zu x %zu",
                       a.in, lsz, d, a.level, a.basis, L.rows, L.cols);
        goto done;
    }
    if (dw_core_check_alloc((double)L.rows * (double)sz * 8.0, "the signature output")) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    res = dw_core_alloc_large(L.rows * sz * sizeof(double), "the signature output");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    if ((s = dw_sig_logsig_to_sig(o, L.data, L.rows, d, res))) {
        rc = cli_status(s);
        goto done;
    }
    double secs = cli_now() - t0;
    size_t shape[2] = {L.rows, sz};
    if ((s = dw_io_write_npy(a.out, res, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        printf("{\"command\": \"logsigtosig\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"shape\": [%zu, %zu], \"seconds\": %.6f}\n", L.rows, sz, secs);
    }
    rc = 0;
done:
    dw_matrix_clear(&L);
    dw_core_free_large(res);
    dw_sig_opts_clear(o);
    return rc;
}
