/* The report of `deepwick jacobian` as one JSON object (the layout is documented in deepwick/spectrum.h): the one
 * serializer the CLI and Python use. Numbers print as %.17g (round-trip), except the diagnostics as before. */
#include "spectrum/report.h"

#include "core/sbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void jstring(FILE *f, const char *s) { dw_json_fput_string(f, s ? s : ""); }

static void jarray(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

/* q_l (l = 1..n), mu_j^{(row)} (j = 1..n) or m_k (k = 1..n) of the exact result. */
static void jexact(FILE *f, const dw_spectrum_exact *e, char what, int row, int n)
{
    fputc('[', f);
    for (int i = 1; i <= n; i++) {
        if (i > 1) fputs(", ", f);
        jstring(f, what == 'q' ? dw_spectrum_exact_q(e, i) : what == 'u' ? dw_spectrum_exact_mu(e, row, i)
                                                                : dw_spectrum_exact_m(e, i));
    }
    fputc(']', f);
}

static void put_sample(FILE *f, const dw_spectrum_report *r)
{
    const int K = r->K;
    fputs(",\n \"sample\": {\"law\": ", f);
    jstring(f, r->law);
    fprintf(f, ", \"width\": %zu, \"samples\": %zu, \"seed\": %llu, \"probes\": %zu, \"q0\": %.17g, \"moments\": ",
            r->N, r->S, r->seed, r->probes, r->q0s);
    jarray(f, r->sm, K);
    fputs(", \"se\": ", f);
    jarray(f, r->sse, K);
    fputs(", \"z\": [", f);
    for (int k = 0; k < K; k++)
        fprintf(f, "%s%.6g", k ? ", " : "", r->sse[k] > 0 ? (r->sm[k] - r->m[k]) / r->sse[k] : 0.0);
    fputs("]", f);
    if (r->s2) fprintf(f, ", \"atom0\": %.17g, \"zeros\": %zu", (double)r->zeros / (double)(r->S * r->N), r->zeros);
    fprintf(f, ", \"threads\": %d, \"seconds\": %.6f}", r->threads, r->seconds);
}

/* The residual blocks' scales, the large-depth parameter c and the universal limit's moments at that c. */
static void put_residual(FILE *f, const dw_spectrum_report *r)
{
    const dw_spectrum *s = r->s;
    fputs(",\n \"residual\": {\"gamma\": ", f);
    jarray(f, s->res_gamma, r->L);
    fputs(", \"alpha\": ", f);
    jarray(f, s->res_alpha, r->L);
    fprintf(f, ", \"act_first\": %s, \"error\": ", r->act_first ? "true" : "false");
    if (r->merr) jarray(f, r->merr, r->K);
    else fputs("null", f);
    fprintf(f, ", \"c\": %.17g, \"universal\": ", r->res_c);
    double m[DW_SPECTRUM_RES_KMAX];
    bool skip1 = !r->act_first; /* the universal limit is that of dense-first blocks with gamma = 1 */
    for (int l = 0; l < r->L; l++) skip1 &= s->res_gamma[l] == 1.0;
    if (skip1 && dw_spectrum_residual_universal(r->res_c, r->K, m) == DW_OK) jarray(f, m, r->K);
    else fputs("null", f);
    fputs("}", f);
}

const char *dw_spectrum_report_json(dw_spectrum_report *r)
{
    if (!r) return "{}";
    if (r->json) return r->json;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        dw_fail(DW_ERR_NOMEM, "report: out of memory writing its JSON");
        return NULL;
    }
    const int L = r->L, K = r->K;
    fputs("{\"act\": ", f);
    jstring(f, dw_act_name(r->s->act));
    fprintf(f, ", \"depth\": %d, \"weights\": \"%s\", \"q0\": %.17g, \"fixed_point\": %s", L,
            r->orth ? "orthogonal" : "gaussian", r->q0, r->fixed_point ? "true" : "false");
    fputs(",\n \"q\": ", f);
    jarray(f, dw_spectrum_q(r->s), L);
    fputs(",\n \"mu\": [", f);
    for (int l = 0; l < L; l++) {
        if (l) fputs(", ", f);
        jarray(f, dw_spectrum_mu(r->s) + (size_t)l * (size_t)r->kmax, K);
    }
    fprintf(f, "],\n \"mu_error\": %.3g,\n \"moments\": ", dw_spectrum_mu_error(r->s));
    jarray(f, r->m, K);
    fprintf(f, ",\n \"variance\": %.17g, \"route\": \"%s\"", r->m[1] - r->m[0] * r->m[0],
            r->residual ? "residual blocks" : "S-transform");
    if (r->residual) put_residual(f, r);
    if (!isnan(r->maxrel)) fprintf(f, ", \"route_nc_max_rel_diff\": %.3g", r->maxrel);
    if (r->have_qs) fprintf(f, ",\n \"q_star\": %.17g, \"chi_star\": %.17g", r->qs, r->chi);
    else fputs(",\n \"q_star\": null, \"chi_star\": null", f);
    fprintf(f, ", \"critical\": %s", r->critical ? "true" : "false");
    if (r->residual) fputs(", \"atom0\": null, \"support\": null", f);
    else fprintf(f, ", \"atom0\": %.17g, \"support\": [%.17g, %.17g]", dw_spectrum_atom0(r->s), r->lo, r->hi);
    if (r->ex) {
        fputs(",\n \"exact\": {\"q\": ", f);
        jexact(f, r->ex, 'q', 0, L);
        fputs(", \"mu\": [", f);
        for (int l = 0; l < L; l++) {
            if (l) fputs(", ", f);
            jexact(f, r->ex, 'u', l + 1, K);
        }
        fputs("], \"moments\": ", f);
        jexact(f, r->ex, 'm', 0, K);
        fputs(", \"variance\": ", f);
        if (dw_spectrum_exact_var(r->ex)) jstring(f, dw_spectrum_exact_var(r->ex));
        else fputs("null", f);
        if (r->exact_agree >= 0) fprintf(f, ", \"routes_agree\": %s", r->exact_agree ? "true" : "false");
        fputs("}", f);
    }
    if (r->t) {
        fputs(",\n \"density\": {", f);
        if (r->density_out) {
            fputs("\"out\": ", f);
            jstring(f, r->density_out);
            fputs(", ", f);
        }
        fprintf(f, "\"n\": %zu, \"grid\": [%.17g, %.17g], \"mass_on_grid_trapezoid\": %.17g}", r->gn, r->ga, r->gb,
                r->mass);
    }
    if (r->sampled) put_sample(f, r);
    if (r->plot) {
        fputs(",\n \"plot\": ", f);
        jstring(f, r->plot);
    }
    fputs("}", f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        dw_fail(DW_ERR_NOMEM, "report: out of memory writing its JSON");
        return NULL;
    }
    r->json = buf;
    return buf;
}
