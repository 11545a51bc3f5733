/* deepwick signature / logsignature: truncated signatures and log-signatures (Lyndon, Hall or expanded; theory.md 5). */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options of both commands: one table gives the parsing, --help and the JSON echo. */
typedef struct sig_args {
    cli_args base;
    const char *x, *out, *basis;
    long level, threads;
    double end_time;
    bool json, time_aug, lead_lag, basepoint;
} sig_args;

#define F(field) offsetof(sig_args, field)
/* the options of both commands; logsignature adds --basis */
#define SIG_OPTS                                                                                                      \
    {"x", CLI_TEXT, F(x), "FILE",                                                                                     \
     "paths: .npy batch x len x d (float64/float32), or one path len x d (.npy or .csv); len >= 1",                   \
     .flags = CLI_REQUIRED},                                                                                          \
        {"level", CLI_INT, F(level), "N", "truncation level, 1..64 (refused if the output would not fit in memory)",  \
         .flags = CLI_REQUIRED, .lo = 1, .hi = 64},                                                                   \
        {"out", CLI_TEXT, F(out), "FILE", "output .npy (float64), written atomically",                                \
         .flags = CLI_REQUIRED | CLI_OUTPUT, .ext = ".npy"},                                                          \
        {"basepoint", CLI_FLAG, F(basepoint), NULL, "prepend the origin to every path", .flags = 0},                  \
        {"lead-lag", CLI_FLAG, F(lead_lag), NULL,                                                                     \
         "the lead-lag transform (pySigLib's: channels (lag, lead), 2 len - 1 points, d doubles)", .flags = 0},       \
        {"time-aug", CLI_FLAG, F(time_aug), NULL,                                                                     \
         "append time as a last channel, from 0 to --end-time; applied in this order, so d\n"                         \
         "above is the transformed dimension",                                                                        \
         .flags = 0},                                                                                                 \
        {"end-time", CLI_REAL, F(end_time), "T", "the time channel's end (> 0)", .def = "1", .flags = CLI_POSITIVE},  \
        {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores); results do not depend on it",     \
         .flags = CLI_HIDDEN_JSON, .lo = 0, .hi = 4096},                                                              \
    {                                                                                                                 \
        "json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", .flags = CLI_HIDDEN_JSON       \
    }
static const cli_opt opts[] = {SIG_OPTS, {NULL, CLI_FLAG, .offset = 0}};
static const cli_opt log_opts[] = {
    SIG_OPTS,
    {"basis", CLI_CHOICE, F(basis), "B",
     "lyndon (iisignature's logsig), hall (libalgebra's Hall basis, iisignature's prepare(d, N, 'H')) or\n"
     "expanded (log S itself in the tensor algebra, d + ... + d^N entries)",
     .def = "lyndon", .choices = "lyndon|hall|expanded"},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd_sig = {
    "signature", "--x X.npy --level N --out S.npy [--time-aug] [--lead-lag] [--end-time T] [--basepoint] [options]",
    "Truncated signature S(x) = exp(dx_1) (x) ... (x) exp(dx_M) of piecewise-linear paths (Chen's identity),\n"
    "levels 1..N (level 0 omitted), words level by level and lexicographically within a level (iisignature's\n"
    "sig order). Output: batch x (d + d^2 + ... + d^N).\n",
    opts, NULL};

static const cli_cmd cmd_log = {
    "logsignature",
    "--x X.npy --level N --out L.npy [--basis B] [--time-aug] [--lead-lag] [--end-time T] [--basepoint] [options]",
    "Log-signature of piecewise-linear paths in the Lyndon basis: coordinates c_w of log S(x) = sum_w c_w P_w,\n"
    "P_w the standard bracketing of the Lyndon word w, words level by level and lexicographic within a level\n"
    "(iisignature's logsig). Output: batch x (number of Lyndon words of length 1..N). --basis hall: the Hall\n"
    "basis (same count); --basis expanded: log S in the tensor algebra (batch x (d + ... + d^N)).\n",
    log_opts, NULL};

static int run(int argc, char **argv, int log)
{
    const cli_cmd *cmd = log ? &cmd_log : &cmd_sig;
    sig_args a = {0};
    int rc = cli_parse(cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    const long level = a.level, threads = a.threads;
    const char *out = a.out;
    const int time_aug = a.time_aug, lead_lag = a.lead_lag, basepoint = a.basepoint;
    const double end_time = a.end_time;
    rc = 1;
    double *X = NULL, *res = NULL;
    size_t b, len, d, sz = 0;
    dw_sig_opts *o = NULL;
    dw_status s;
    if ((s = dw_sig_opts_init(&o)) || (s = dw_sig_opts_set_level(o, (int)level)) ||
        (threads && (s = dw_sig_opts_set_threads(o, (int)threads))) || (s = dw_sig_opts_set_time_aug(o, time_aug)) ||
        (s = dw_sig_opts_set_lead_lag(o, lead_lag)) || (s = dw_sig_opts_set_basepoint(o, basepoint)) ||
        (s = dw_sig_opts_set_end_time(o, end_time))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    dw_sig_basis basis = DW_SIG_LYNDON;
    if (log && ((s = dw_sig_basis_parse(a.basis, &basis)) || (s = dw_sig_opts_set_basis(o, basis)))) {
        rc = s == DW_ERR_INVALID ? cli_error("--%s", dw_error_message()) : cli_status(s);
        goto done;
    }
    if (!cli_read_paths(a.x, &X, &b, &len, &d)) goto done;
    size_t len2 = len, d2 = d; /* the paths the computation sees, after the transforms */
    (void)dw_sig_opts_path_shape(o, len, d, &len2, &d2);
    if ((s = log ? dw_sig_basis_size(basis, d2, (int)level, &sz) : dw_sig_size(d2, (int)level, &sz))) {
        rc = cli_error("--%s", dw_error_message());
        goto done;
    }
    if (dw_core_check_alloc((double)b * (double)sz * 8.0, log ? "the log-signature output" : "the signature output")) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    res = dw_core_alloc_large(b * sz * sizeof(double), "the signature output");
    if (!res) {
        rc = cli_status(DW_ERR_NOMEM);
        goto done;
    }
    double t0 = cli_now();
    s = log ? dw_sig_logsignature(o, X, b, len, d, res) : dw_sig_signature(o, X, b, len, d, res);
    double secs = cli_now() - t0;
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    size_t shape[2] = {b, sz};
    if ((s = dw_io_write_npy(out, res, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        printf("{\"command\": \"%s\", \"version\": \"%s\", ", cmd->name, dw_version());
        cli_json_options(stdout, cmd, &a);
        printf(", \"batch\": %zu, \"len\": %zu, \"d\": %zu, \"shape\": [%zu, %zu], \"threads\": %d, "
               "\"seconds\": %.6f}\n",
               b, len, d, b, sz, dw_core_threads((int)threads), secs);
    }
    rc = 0;
done:
    free(X);
    dw_core_free_large(res);
    dw_sig_opts_clear(o);
    return rc;
}

int cmd_signature(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_logsignature(int argc, char **argv) { return run(argc, argv, 1); }
