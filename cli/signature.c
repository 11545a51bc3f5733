/* deepwick signature / logsignature: truncated signatures and Lyndon-basis log-signatures (theory.md 5). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_sig[] =
    "usage: deepwick signature --x X.npy --level N --out S.npy [--time-aug] [--lead-lag] [--end-time T]\n"
    "                          [--basepoint] [--threads T] [--json]\n"
    "\n"
    "Truncated signature S(x) = exp(dx_1) (x) ... (x) exp(dx_M) of piecewise-linear paths (Chen's identity),\n"
    "levels 1..N (level 0 omitted), words level by level and lexicographically within a level (iisignature's\n"
    "sig order). Output: batch x (d + d^2 + ... + d^N).\n"
    "\n"
    "  --x FILE       paths: .npy batch x len x d (float64/float32), or one path len x d (.npy or .csv); len >= 1\n"
    "  --level N      truncation level, 1..64 (refused if the output would not fit in memory)\n"
    "  --basepoint    prepend the origin to every path\n"
    "  --lead-lag     the lead-lag transform (pySigLib's: channels (lag, lead), 2 len - 1 points, d doubles)\n"
    "  --time-aug     append time as a last channel, from 0 to --end-time T (> 0, default 1); applied in this\n"
    "                 order, so d above is the transformed dimension\n"
    "  --out FILE     output .npy (float64), written atomically\n"
    "  --threads T    threads (default: all cores); results do not depend on it\n"
    "  --json         print a machine-readable summary on stdout\n";

static const char help_log[] =
    "usage: deepwick logsignature --x X.npy --level N --out L.npy [--time-aug] [--lead-lag] [--end-time T]\n"
    "                             [--basepoint] [--threads T] [--json]\n"
    "\n"
    "Log-signature of piecewise-linear paths in the Lyndon basis: coordinates c_w of log S(x) = sum_w c_w P_w,\n"
    "P_w the standard bracketing of the Lyndon word w, words level by level and lexicographic within a level\n"
    "(iisignature's logsig). Output: batch x (number of Lyndon words of length 1..N).\n"
    "\n"
    "  --x FILE       paths: .npy batch x len x d, or one path len x d (.npy or .csv); len >= 1\n"
    "  --level N      truncation level, 1..64\n"
    "  --basepoint    prepend the origin to every path\n"
    "  --lead-lag     the lead-lag transform (pySigLib's: channels (lag, lead), 2 len - 1 points, d doubles)\n"
    "  --time-aug     append time as a last channel, from 0 to --end-time T (> 0, default 1); applied in this\n"
    "                 order, so d above is the transformed dimension\n"
    "  --out FILE     output .npy (float64), written atomically\n"
    "  --threads T    threads (default: all cores)\n"
    "  --json         print a machine-readable summary on stdout\n";

static int run(int argc, char **argv, int log)
{
    const char *cmd = log ? "logsignature" : "signature";
    static const struct option opts[] = {{"x", required_argument, 0, 'x'},     {"level", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'},   {"threads", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                         {"time-aug", no_argument, 0, 'T'},    {"lead-lag", no_argument, 0, 'l'},
                                         {"end-time", required_argument, 0, 'e'},
                                         {"basepoint", no_argument, 0, 'b'},   {0, 0, 0, 0}};
    const char *xpath = NULL, *out = NULL;
    long level = 0, threads = 0;
    int json = 0, c, time_aug = 0, lead_lag = 0, basepoint = 0;
    double end_time = 1.0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'x': xpath = optarg; break;
        case 'n':
            if (!cli_parse_int("--level", optarg, 1, 64, &level)) return 1;
            break;
        case 'o': out = optarg; break;
        case 't':
            if (!cli_parse_int("--threads", optarg, 1, 4096, &threads)) return 1;
            break;
        case 'j': json = 1; break;
        case 'T': time_aug = 1; break;
        case 'l': lead_lag = 1; break;
        case 'b': basepoint = 1; break;
        case 'e':
            if (!cli_parse_double("--end-time", optarg, &end_time)) return 1;
            break;
        case 'h': fputs(log ? help_log : help_sig, stdout); return 0;
        default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!xpath) return cli_usage_error(cmd, "--x is required");
    if (!level) return cli_usage_error(cmd, "--level is required");
    if (!out) return cli_usage_error(cmd, "--out is required");
    if (!cli_check_out_npy(out)) return 1;
    int rc = 1;
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
    if (!cli_read_paths(xpath, &X, &b, &len, &d)) goto done;
    size_t len2 = len, d2 = d; /* the paths the computation sees, after the transforms */
    (void)dw_sig_opts_path_shape(o, len, d, &len2, &d2);
    if ((s = log ? dw_sig_logsig_size(d2, (int)level, &sz) : dw_sig_size(d2, (int)level, &sz))) {
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
    if (json) {
        printf("{\"command\": \"%s\", \"version\": \"%s\", \"batch\": %zu, \"len\": %zu, \"d\": %zu, \"level\": %ld, "
               "\"shape\": [%zu, %zu], \"out\": ",
               cmd, dw_version(), b, len, d, level, b, sz);
        cli_json_string(stdout, out);
        printf(", \"threads\": %d, \"seconds\": %.6f}\n", dw_core_threads((int)threads), secs);
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
