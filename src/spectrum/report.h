/* The report object's layout, shared by report.c (the computations) and report_json.c (the serializer). */
#ifndef DW_SPECTRUM_REPORT_H
#define DW_SPECTRUM_REPORT_H

#include "spectrum/spectrum.h"

struct dw_spectrum_report {
    const dw_net *net; /* borrowed */
    dw_spectrum *s;
    int L, K, kmax;
    bool orth, fixed_point;
    double q0;
    double *m;     /* kmax moments by the S-transform */
    double maxrel; /* NC(k) check, NaN when not run */
    bool have_qs, critical;
    bool residual; /* residual blocks: moments by the pairings' block recursion only */
    double res_c;  /* their large-depth parameter c */
    bool act_first; /* residual(ACT; dense) blocks */
    double *merr;   /* act first: kmax error estimates of m (the grid's); else NULL */
    double qs, chi;
    double lo, hi;
    dw_spectrum_exact *ex;
    int exact_agree; /* -1: not compared */
    /* density grid */
    size_t gn;
    double ga, gb, *t, *rho, mass;
    /* sampled networks */
    bool sampled;
    char law[64];
    size_t S, N, probes, zeros;
    unsigned long long seed;
    int threads;
    double q0s, seconds, *sm, *sse, *s2;
    char *density_out, *plot, *json;
};

#endif
