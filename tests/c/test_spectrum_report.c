/* dw_spectrum_report, the report behind `deepwick jacobian`: its numbers against the direct calls (moments, the NC(k)
 * check, exact rationals, criticality at the fixed point, support, density grid and its trapezoid mass, sampled
 * networks), the histogram's area (1 - the sampled atom at 0), the curve, its JSON, and every error path. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

static void test_relu(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "relu") == DW_OK);
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 2, act, false) == DW_OK);
    const double two = 2.0;
    CHECK(dw_net_set_weight_var(net, 1, &two) == DW_OK);
    dw_spectrum_report *r = NULL;
    CHECK(dw_spectrum_report_init(&r, net, NULL, 0) == DW_ERR_INVALID && !r && has(dw_error_message(), "K = 0"));
    CHECK(dw_spectrum_report_init(NULL, net, NULL, 3) == DW_ERR_INVALID);
    CHECK(dw_spectrum_report_init(&r, NULL, NULL, 3) == DW_ERR_INVALID && !r);
    CHECK(dw_spectrum_report_init(&r, net, NULL, 3) == DW_OK && r);
    /* moments: those of the spectrum, m_k of two critical relu layers (1, 3, 12: Fuss-Catalan-like with atoms) */
    const double *m = dw_spectrum_report_moments(r);
    double direct[3];
    CHECK(dw_spectrum_moments(dw_spectrum_report_spectrum(r), 3, DW_SPECTRUM_ROUTE_S, direct) == DW_OK);
    CHECK(memcmp(m, direct, sizeof direct) == 0 && dw_spectrum_report_K(r) == 3);
    double maxrel, qs, chi, lo, hi;
    bool critical;
    CHECK(dw_spectrum_report_routes_agree(r, &maxrel) == -1 && maxrel <= 1e-12);
    CHECK(dw_spectrum_report_criticality(r, &qs, &chi, &critical) && chi == 1 && critical && qs == 1);
    dw_spectrum_report_support(r, &lo, &hi);
    CHECK(lo == 0 && hi > 1);
    CHECK(dw_spectrum_report_exact_result(r) == NULL);
    CHECK(dw_spectrum_report_exact(r) == DW_OK && dw_spectrum_report_routes_agree(r, NULL) == 1);
    CHECK(!strcmp(dw_spectrum_exact_m(dw_spectrum_report_exact_result(r), 2), "5")); /* 1 + 2 + 2 */
    /* density: the grid and its trapezoid mass, and the errors of the grid */
    CHECK(dw_spectrum_report_density(r, 0, 1, 10) == DW_ERR_INVALID && has(dw_error_message(), "A = 0"));
    CHECK(dw_spectrum_report_density(r, 1, 1, 10) == DW_ERR_INVALID && has(dw_error_message(), "above A"));
    CHECK(dw_spectrum_report_density(r, 0.1, 1, 1) == DW_ERR_INVALID && has(dw_error_message(), "at least 2"));
    CHECK(dw_spectrum_report_density_grid(r, NULL, NULL, NULL) == 0);
    CHECK(dw_spectrum_report_density(r, 0.05, hi, 400) == DW_OK);
    const double *t, *rho;
    double mass;
    CHECK(dw_spectrum_report_density_grid(r, &t, &rho, &mass) == 400 && t[0] == 0.05);
    double rho2[3], t2[3] = {t[1], t[7], t[300]};
    CHECK(dw_spectrum_density(dw_spectrum_report_spectrum(r), 3, t2, rho2) == DW_OK);
    /* (Newton continuation along the grid: the same values to the solver's tolerance) */
    CHECK_CLOSE(rho2[0], rho[1], 1e-9, 0);
    CHECK_CLOSE(rho2[1], rho[7], 1e-9, 0);
    CHECK_CLOSE(rho2[2], rho[300], 1e-9, 0);
    CHECK(mass > 0.3 && mass < 1 - dw_spectrum_atom0(dw_spectrum_report_spectrum(r)) + 1e-3);
    /* histogram before sampling; sampling without a width */
    double edges[11], height[10];
    CHECK(dw_spectrum_report_histogram(r, 10, false, edges, height) == DW_ERR_INVALID &&
          has(dw_error_message(), "exact mode"));
    dw_spectrum_sample_opts *so;
    CHECK(dw_spectrum_sample_opts_init(&so) == DW_OK && dw_spectrum_sample_opts_set_samples(so, 4) == DW_OK);
    CHECK(dw_spectrum_report_sample(r, so, 3) == DW_ERR_INVALID && has(dw_error_message(), "width: not set"));
    CHECK(dw_spectrum_report_sample(r, NULL, 3) == DW_ERR_INVALID);
    CHECK(!dw_spectrum_report_sampled(r, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    const double N = 20;
    CHECK(dw_net_set_widths(net, 1, &N) == DW_OK);
    CHECK(dw_spectrum_report_sample(r, so, 3) == DW_OK);
    const double *sm, *sse, *s2;
    double q0s, secs;
    size_t S, NN, zeros;
    CHECK(dw_spectrum_report_sampled(r, &sm, &sse, &q0s, &s2, &S, &NN, &zeros, &secs));
    CHECK(S == 4 && NN == 20 && q0s == 1 && s2 && zeros == dw_spectrum_count_zeros(4, 20, s2) && secs >= 0);
    /* the same networks by the sampling call itself */
    {
        double m2[3], se2[3];
        CHECK(dw_spectrum_sample_opts_set_K(so, 3) == DW_OK);
        CHECK(dw_spectrum_sample_law(net, so, 3, m2, se2, NULL) == DW_OK);
        CHECK(memcmp(m2, sm, sizeof m2) == 0 && memcmp(se2, sse, sizeof se2) == 0);
    }
    /* histogram: its area is 1 - the sampled atom at 0, linear and logarithmic */
    for (int lg = 0; lg < 2; lg++) {
        CHECK(dw_spectrum_report_histogram(r, 10, lg, edges, height) == DW_OK);
        double area = 0;
        for (int i = 0; i < 10; i++) area += height[i] * (lg ? log(edges[i + 1] / edges[i]) : edges[i + 1] - edges[i]);
        CHECK_CLOSE(area, 1 - (double)zeros / 80.0, 1e-12, 0);
    }
    CHECK(dw_spectrum_report_histogram(r, 0, false, edges, height) == DW_ERR_INVALID);
    /* the curve: on a given range, and across the support */
    double ct[5], cr[5];
    CHECK(dw_spectrum_report_curve(r, 5, false, 0.5, 2, ct, cr) == DW_OK && ct[0] == 0.5 && ct[4] == 2);
    CHECK(dw_spectrum_report_curve(r, 5, true, 0, 0, ct, cr) == DW_OK && ct[4] == hi && cr[0] >= 0);
    CHECK(dw_spectrum_report_curve(r, 1, true, 0, 0, ct, cr) == DW_ERR_INVALID);
    /* JSON: the keys, and the files recorded */
    CHECK(dw_spectrum_report_set_file(r, "nope", "x") == DW_ERR_INVALID && has(dw_error_message(), "unknown file"));
    CHECK(dw_spectrum_report_set_file(r, "density", "d.csv") == DW_OK &&
          dw_spectrum_report_set_file(r, "plot", "p\"q.svg") == DW_OK);
    const char *j = dw_spectrum_report_json(r);
    CHECK(has(j, "{\"act\": \"relu\", \"depth\": 2, \"weights\": \"gaussian\", \"q0\": 1, \"fixed_point\": false"));
    CHECK(has(j, "\"critical\": true") && has(j, "\"chi_star\": 1") && has(j, "\"routes_agree\": true"));
    CHECK(has(j, "\"density\": {\"out\": \"d.csv\", \"n\": 400") && has(j, "\"plot\": \"p\\\"q.svg\""));
    CHECK(has(j, "\"sample\": {\"law\": \"gaussian\", \"width\": 20, \"samples\": 4, \"seed\": 3, \"probes\": 0"));
    CHECK(has(j, "\"moments\": [1, 5, 33]") && j[strlen(j) - 1] == '}');
    CHECK(!strcmp(dw_spectrum_report_json(NULL), "{}"));
    dw_spectrum_sample_opts_clear(so);
    dw_spectrum_report_clear(r);
    dw_spectrum_report_clear(NULL);
    dw_net_clear(net);
    dw_act_clear(act);
}

static void test_per_layer_and_orthogonal(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 2, act, false) == DW_OK);
    const double wv[2] = {1.5, 2.0};
    CHECK(dw_net_set_weight_var(net, 2, wv) == DW_OK && dw_net_set_law(net, "orthogonal") == DW_OK);
    dw_spectrum_report *r = NULL;
    CHECK(dw_spectrum_report_init(&r, net, NULL, 4) == DW_OK);
    /* variances per layer: no criticality; orthogonal: no NC(k) check */
    CHECK(!dw_spectrum_report_criticality(r, NULL, NULL, NULL));
    double maxrel;
    CHECK(dw_spectrum_report_routes_agree(r, &maxrel) == -1 && isnan(maxrel));
    const char *j = dw_spectrum_report_json(r);
    CHECK(has(j, "\"weights\": \"orthogonal\"") && has(j, "\"q_star\": null") && !has(j, "route_nc"));
    CHECK(dw_spectrum_report_exact(r) == DW_ERR_INVALID && has(dw_error_message(), "not rational"));
    dw_spectrum_report_clear(r);
    /* the spectrum's own errors come through: a readout */
    CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
    CHECK(dw_spectrum_report_init(&r, net, NULL, 4) == DW_ERR_INVALID && !r && has(dw_error_message(), "readout"));
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    test_relu();
    test_per_layer_and_orthogonal();
    return check_done("spectrum_report");
}
