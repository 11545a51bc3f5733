/* deepwick jacobian's writers: the density CSV (atomically), the SVG plot of the limit's density against the sampled
 * networks' histogram, and the text summary. The numbers all come from the library's report (dw_spectrum_report);
 * the JSON is the library's own serializer. */
#include "cli.h"
#include "jacobian.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int jacobian_write_csv(const dw_spectrum_report *r, const char *out)
{
    const double *t, *rho;
    const size_t n = dw_spectrum_report_density_grid(r, &t, &rho, NULL);
    char *csv = malloc(n * 56 + 16);
    if (!csv) return cli_error("--grid: out of memory for %zu points", n);
    size_t len = (size_t)sprintf(csv, "t,rho\n");
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(csv + len, "%.17g,%.17g\n", t[i], rho[i]);
    dw_status st = dw_io_write_text(out, csv, len);
    free(csv);
    return cli_status(st);
}

int jacobian_plot(const dw_spectrum_report *r, const char *path, bool log_t, size_t bins, double a, double b,
                  size_t n, const char *act, int depth, const char *law)
{
    const dw_spectrum *s = dw_spectrum_report_spectrum(r);
    const double *s2;
    size_t S = 0, N = 0, zeros = 0;
    dw_spectrum_report_sampled(r, NULL, NULL, NULL, &s2, &S, &N, &zeros, NULL);
    double *pt = malloc(sizeof(double) * n), *prho = malloc(sizeof(double) * n);
    double *edges = s2 ? malloc(sizeof(double) * (bins + 1)) : NULL;
    double *height = s2 ? malloc(sizeof(double) * bins) : NULL;
    dw_status st = DW_OK;
    if (!pt || !prho || (s2 && (!edges || !height))) {
        free(pt);
        free(prho);
        free(edges);
        free(height);
        return cli_error("--plot: out of memory");
    }
    if ((st = dw_spectrum_report_curve(r, n, log_t, a, b, pt, prho))) goto done;
    if (s2 && (st = dw_spectrum_report_histogram(r, bins, log_t, edges, height))) goto done;
    char hl[160] = "", cl[128], title[256];
    if (s2)
        snprintf(hl, sizeof hl, "%zu networks, N = %zu, %s (atom at 0: %.3g)", S, N, law,
                 (double)zeros / (double)(S * N));
    snprintf(cl, sizeof cl, "limit N -> inf (atom at 0: %.3g)", dw_spectrum_atom0(s));
    snprintf(title, sizeof title, "squared singular values of J: %s, depth %d, %s limit", act, depth,
             dw_spectrum_orthogonal(s) ? "orthogonal" : "i.i.d.");
    st = cli_plot_density(path, title, log_t, log_t ? "t rho(t)  (density of ln t)" : "rho(t)", n, pt, prho,
                          s2 ? bins : 0, edges, height, cl, s2 ? hl : NULL);
done:
    free(pt);
    free(prho);
    free(edges);
    free(height);
    return st ? cli_error("--plot: %s", dw_error_message()) : 0;
}

void jacobian_summary(const dw_spectrum_report *r, const char *act, const char *weights, bool fixed, bool exact,
                      const char *density_out, const char *law, size_t probes, const char *plot)
{
    const dw_spectrum *s = dw_spectrum_report_spectrum(r);
    const int L = dw_spectrum_depth(s), K = dw_spectrum_report_K(r);
    const double *m = dw_spectrum_report_moments(r);
    double qs = 0, chi = 0, maxrel, lo, hi;
    bool critical = false;
    const bool have_qs = dw_spectrum_report_criticality(r, &qs, &chi, &critical);
    dw_spectrum_report_routes_agree(r, &maxrel);
    dw_spectrum_report_support(r, &lo, &hi);
    const bool res = dw_spectrum_residual(s);
    printf("activation %s, depth %d%s, %s weights, %s\n", act, L, res ? " residual blocks" : "", weights,
           fixed ? "at the fixed point" : "from q0");
    printf("q_L = %.17g%s\n", dw_spectrum_q(s)[L - 1], have_qs || res ? "" : " (no stable fixed point)");
    if (have_qs)
        printf("q* = %.17g, chi = sigma_w^2 mu_1(q*) = %.17g: %s\n", qs, chi,
               critical ? "critical (edge of chaos)" : chi < 1 ? "ordered" : "chaotic");
    const double *merr = dw_spectrum_report_moments_error(r);
    for (int k = 0; k < K; k++) {
        printf("m_%d = %.17g", k + 1, m[k]);
        if (merr) printf("  (error estimate %.3g)", merr[k]);
        if (exact) printf("  = %s", dw_spectrum_exact_m(dw_spectrum_report_exact_result(r), k + 1));
        printf("\n");
    }
    if (K >= 2) printf("variance = %.17g\n", m[1] - m[0] * m[0]);
    if (!isnan(maxrel)) printf("NC(k) route agrees to %.3g relative\n", maxrel);
    if (res) {
        double u[DW_SPECTRUM_RES_KMAX];
        const double c = dw_spectrum_residual_c(s);
        printf("large-depth parameter c = sum_l alpha_l^2 sigma_w^2 mu_1 = %.17g", c);
        if (dw_spectrum_residual_act_first(s)) printf(" (act-first blocks: m_1 -> e^c, no universal limit)");
        else if (dw_spectrum_residual_universal(c, K, u) == DW_OK) printf("; universal limit (gamma = 1) m_%d = %.17g", K,
                                                                     u[K - 1]);
        printf("\n");
    } else {
        printf("atom at 0: %.17g; support within [%.17g, %.17g]\n", dw_spectrum_atom0(s), lo, hi);
    }
    if (density_out) {
        const double *t;
        double mass;
        const size_t n = dw_spectrum_report_density_grid(r, &t, NULL, &mass);
        printf("density: %zu points on [%g, %g] -> %s (trapezoid mass on the grid %.9g)\n", n, t[0], t[n - 1],
               density_out, mass);
    }
    const double *sm, *sse, *s2;
    double q0s, secs;
    size_t S, N, zeros;
    if (law && dw_spectrum_report_sampled(r, &sm, &sse, &q0s, &s2, &S, &N, &zeros, &secs)) {
        printf("sampled: %zu networks of width %zu, %s weights, %s, q0 = %.6g (%.2f s)\n", S, N, law,
               probes ? "Hutchinson" : "exact SVD", q0s, secs);
        printf("  k  limit                    sample                   SE          z\n");
        for (int k = 0; k < K; k++)
            printf("%3d  %-23.17g  %-23.17g  %-10.3g  %+.2f\n", k + 1, m[k], sm[k], sse[k],
                   sse[k] > 0 ? (sm[k] - m[k]) / sse[k] : 0.0);
        if (s2 && res)
            printf("atom at 0: sample %.6g (%zu values zero to the SVD's resolution)\n",
                   (double)zeros / (double)(S * N), zeros);
        else if (s2)
            printf("atom at 0: sample %.6g (%zu values zero to the SVD's resolution), limit %.6g\n",
                   (double)zeros / (double)(S * N), zeros, dw_spectrum_atom0(s));
        printf("(the finite-width bias is O(1/N): |z| grows with the number of networks at fixed N)\n");
    }
    if (plot) printf("plot -> %s\n", plot);
}
