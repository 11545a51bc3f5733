/* deepwick criticality: the edge of chaos sigma_w^2(sigma_b^2), where m_1 = sigma_w^2 E[phi'(sqrt(q*) Z)^2] = 1 at
 * the fixed point q* of the variance map (theory.md 3). A thin driver over dw_spectrum_criticality. */
#include "cli.h"

#include "opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options: one table gives the parsing and --help (the JSON holds the results). */
typedef struct criticality_args {
    cli_args base;
    const char *act;
    double bias_var, q0;
    cli_grid curve;
    bool json;
} criticality_args;

#define F(field) offsetof(criticality_args, field)
static const cli_opt opts[] = {
    {"act", CLI_TEXT, F(act), "ACT", "identity, relu, leaky_relu:ALPHA, abs, step, erf, sin, cos, exp, poly:c0,c1,...",
     .flags = CLI_REQUIRED},
    {"bias-var", CLI_REAL, F(bias_var), "B", "sigma_b^2 >= 0", .def = "0"},
    {"curve", CLI_GRID, F(curve), "B0:B1:N",
     "the curve (sigma_b^2, sigma_w^2, q*) at N >= 2 bias variances evenly spaced on\n[B0, B1]", .lo = 2,
     .hi = 1000000},
    {"q0", CLI_REAL, F(q0), "Q", "start of the fixed-point iteration; relu-like activations at B = 0 have\n"
     "every q as a fixed point, and q* = Q is reported", .def = "1"},
    {"json", CLI_FLAG, F(json), NULL, "JSON on stdout", .flags = 0},
    {NULL, CLI_FLAG, .offset = 0}};
#undef F

static const cli_cmd cmd = {
    "criticality", "--act ACT [--bias-var B] [--curve B0:B1:N] [--q0 Q] [--json]",
    "Weight variance sigma_w^2 on the edge of chaos for the bias variance sigma_b^2: the mean squared singular\n"
    "value of the layer-to-layer Jacobian, chi = sigma_w^2 E[phi'(sqrt(q*) Z)^2], equals 1 at the fixed point\n"
    "q* = sigma_w^2 E[phi(sqrt(q*) Z)^2] + sigma_b^2 (theory.md 3).\n",
    opts, NULL};

int cmd_criticality(int argc, char **argv)
{
    criticality_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    const bool curve = rc < 0 && cli_given(&cmd, &a, "curve");
    if (curve && (a.curve.a < 0 || a.curve.b < a.curve.a))
        rc = cli_error("--curve: expected 0 <= B0 <= B1 (got %g:%g)", a.curve.a, a.curve.b);
    if (rc >= 0) return rc;
    const double b0 = curve ? a.curve.a : a.bias_var, b1 = curve ? a.curve.b : a.bias_var;
    const long n = curve ? a.curve.n : 1;
    rc = 1;
    dw_act *act = NULL;
    double *bs = NULL, *ws = NULL, *qs = NULL;
    if (!cli_act_init(&act, a.act)) goto done;
    bs = malloc(sizeof(double) * (size_t)n);
    ws = malloc(sizeof(double) * (size_t)n);
    qs = malloc(sizeof(double) * (size_t)n);
    if (!bs || !ws || !qs) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (long i = 0; i < n; i++) {
        bs[i] = n == 1 ? b0 : b0 + (b1 - b0) * (double)i / (double)(n - 1);
        dw_status st = dw_spectrum_criticality(act, bs[i], a.q0, &ws[i], &qs[i]);
        if (st) {
            rc = cli_status(st);
            goto done;
        }
    }
    if (a.json) {
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
    free(bs);
    free(ws);
    free(qs);
    return rc;
}
