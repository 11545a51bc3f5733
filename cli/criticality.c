/* deepwick criticality: the edge of chaos sigma_w^2(sigma_b^2), where m_1 = sigma_w^2 E[phi'(sqrt(q*) Z)^2] = 1 at
 * the fixed point q* of the variance map (theory.md 3). A thin driver over dw_spectrum_criticality. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: deepwick criticality --act ACT [--bias-var B] [--curve B0:B1:N] [--q0 Q] [--json]\n"
    "\n"
    "Weight variance sigma_w^2 on the edge of chaos for the bias variance sigma_b^2: the mean squared singular\n"
    "value of the layer-to-layer Jacobian, chi = sigma_w^2 E[phi'(sqrt(q*) Z)^2], equals 1 at the fixed point\n"
    "q* = sigma_w^2 E[phi(sqrt(q*) Z)^2] + sigma_b^2 (theory.md 3).\n"
    "\n"
    "  --act ACT           identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...\n"
    "  --bias-var B        sigma_b^2 >= 0 (default 0)\n"
    "  --curve B0:B1:N     the curve (sigma_b^2, sigma_w^2, q*) at N >= 2 bias variances evenly spaced on [B0, B1]\n"
    "  --q0 Q              start of the fixed-point iteration (default 1); relu-like activations at B = 0 have\n"
    "                      every q as a fixed point, and q* = Q is reported\n"
    "  --json              JSON on stdout\n"
    "  -h, --help          this help\n";

int cmd_criticality(int argc, char **argv)
{
    static const struct option opts[] = {{"act", required_argument, 0, 'a'},  {"bias-var", required_argument, 0, 'b'},
                                         {"curve", required_argument, 0, 'c'}, {"q0", required_argument, 0, 'q'},
                                         {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *actspec = NULL, *btext = "0", *curve = NULL, *q0text = "1";
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': actspec = optarg; break;
        case 'b': btext = optarg; break;
        case 'c': curve = optarg; break;
        case 'q': q0text = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default:
            return cli_usage_error("criticality", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("criticality", "unexpected argument '%s'", argv[optind]);
    if (!actspec) return cli_usage_error("criticality", "--act is required");
    double *b = NULL, *q0 = NULL;
    size_t nb = 0, nq = 0;
    int rc = 1;
    dw_act *act = NULL;
    double *bs = NULL, *ws = NULL, *qs = NULL;
    long n = 1;
    if (!cli_parse_list("--bias-var", btext, &b, &nb) || !cli_parse_list("--q0", q0text, &q0, &nq)) goto done;
    if (nb != 1 || nq != 1) {
        rc = cli_error("%s: one value expected", nb != 1 ? "--bias-var" : "--q0");
        goto done;
    }
    double b0 = b[0], b1 = b[0];
    if (curve) {
        char *end;
        b0 = strtod(curve, &end);
        int ok = end != curve && *end == ':';
        const char *p = end + 1;
        if (ok) {
            b1 = strtod(p, &end);
            ok = end != p && *end == ':';
            p = end + 1;
        }
        if (ok) {
            n = strtol(p, &end, 10);
            ok = end != p && !*end && isfinite(b0) && isfinite(b1);
        }
        if (!ok) {
            rc = cli_error("--curve: '%s' is not B0:B1:N", curve);
            goto done;
        }
        if (n < 2 || n > 1000000) {
            rc = cli_error("--curve: N = %ld; expected 2..1000000 points", n);
            goto done;
        }
        if (b0 < 0 || b1 < b0) {
            rc = cli_error("--curve: expected 0 <= B0 <= B1 (got %g:%g)", b0, b1);
            goto done;
        }
    }
    if (dw_act_init(&act, actspec)) {
        rc = cli_error("--act: %s", dw_error_message());
        goto done;
    }
    bs = malloc(sizeof(double) * (size_t)n);
    ws = malloc(sizeof(double) * (size_t)n);
    qs = malloc(sizeof(double) * (size_t)n);
    if (!bs || !ws || !qs) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (long i = 0; i < n; i++) {
        bs[i] = n == 1 ? b0 : b0 + (b1 - b0) * (double)i / (double)(n - 1);
        dw_status st = dw_spectrum_criticality(act, bs[i], q0[0], &ws[i], &qs[i]);
        if (st) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (json) {
        printf("{\"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        if (!curve) {
            printf(", \"bias_var\": %.17g, \"weight_var\": %.17g, \"q_star\": %.17g}\n", bs[0], ws[0], qs[0]);
        } else {
            printf(", \"curve\": [");
            for (long i = 0; i < n; i++)
                printf("%s\n  {\"bias_var\": %.17g, \"weight_var\": %.17g, \"q_star\": %.17g}", i ? "," : "", bs[i], ws[i],
                       qs[i]);
            printf("]}\n");
        }
    } else if (!curve) {
        printf("%s: sigma_b^2 = %.17g -> sigma_w^2 = %.17g (q* = %.17g)\n", dw_act_name(act), bs[0], ws[0], qs[0]);
    } else {
        printf("bias_var,weight_var,q_star\n");
        for (long i = 0; i < n; i++) printf("%.17g,%.17g,%.17g\n", bs[i], ws[i], qs[i]);
    }
    rc = 0;
done:
    dw_act_clear(act);
    free(b);
    free(q0);
    free(bs);
    free(ws);
    free(qs);
    return rc;
}
