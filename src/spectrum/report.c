/* The report of `deepwick jacobian` (theory.md 3): the limit's moments with the NC(k) route as a check, exact
 * rationals, criticality at the fixed point, the density on a grid, sampled networks against the limit, and the
 * histogram and curve a plot of both needs. The CLI, Python and the demo call this one object, so the policy (which
 * checks run, the critical tolerance, the input variance of the sampled networks) lives here once; report_json.c
 * serialises it. */
#include "spectrum/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NC_CHECK_KMAX 12  /* the NC(k) route checks the S-transform up to this order (cheap there) */
#define CRITICAL_TOL 1e-9 /* |chi - 1| at or below this: critical */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dw_spectrum_report_clear(dw_spectrum_report *r)
{
    if (!r) return;
    dw_spectrum_clear(r->s);
    dw_spectrum_exact_clear(r->ex);
    free(r->m);
    free(r->merr);
    free(r->t);
    free(r->rho);
    free(r->sm);
    free(r->sse);
    free(r->s2);
    free(r->density_out);
    free(r->plot);
    free(r->json);
    free(r);
}

/* q* and chi of one layer at the fixed point; false where the variances differ per layer or there is none. */
static bool fixed_point_chi(const dw_net *net, const dw_act *act, double q0, double *qs, double *chi)
{
    const size_t nd = dw_net_dense_layers(net);
    const dw_net_layer *d0 = dw_net_dense(net, 0);
    for (size_t k = 1; k < nd; k++)
        if (dw_net_dense(net, k)->weight_var != d0->weight_var || dw_net_dense(net, k)->bias_var != d0->bias_var)
            return false;
    dw_spectrum *s1 = NULL;
    dw_net *n1 = NULL;
    dw_spectrum_opts o1 = {.q0 = q0, .fixed_point = true, .kmax = 1};
    bool ok = dw_net_init(&n1) == DW_OK && dw_net_set_fc(n1, 1, act, false) == DW_OK &&
              dw_net_set_weight_var(n1, 1, &d0->weight_var) == DW_OK &&
              dw_net_set_bias_var(n1, 1, &d0->bias_var) == DW_OK && dw_spectrum_init(&s1, n1, &o1) == DW_OK;
    if (ok) {
        *qs = dw_spectrum_q(s1)[0];
        *chi = d0->weight_var * dw_spectrum_mu(s1)[0];
    }
    dw_spectrum_clear(s1);
    dw_net_clear(n1);
    dw_error_clear();
    return ok;
}

dw_status dw_spectrum_report_init(dw_spectrum_report **out, const dw_net *net, const dw_spectrum_opts *o, int K)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "report: NULL output");
    *out = NULL;
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is outside 1..%d (the supported maximum)", K, DW_SPECTRUM_KMAX);
    dw_spectrum_opts defaults = {.q0 = 1.0, .fixed_point = false, .kmax = 8};
    if (!o) o = &defaults;
    dw_spectrum_opts ok = *o;
    ok.kmax = K < 2 ? 2 : K; /* the variance needs m_2 */
    dw_spectrum_report *r = dw_calloc(1, sizeof *r, "spectrum report");
    if (!r) return DW_ERR_NOMEM;
    r->net = net;
    r->K = K;
    r->kmax = ok.kmax;
    r->q0 = ok.q0;
    r->fixed_point = ok.fixed_point;
    r->exact_agree = -1;
    r->maxrel = NAN;
    dw_status st = dw_spectrum_init(&r->s, net, &ok);
    if (st) goto fail;
    r->L = dw_spectrum_depth(r->s);
    r->orth = dw_spectrum_orthogonal(r->s);
    r->m = dw_alloc((size_t)r->kmax, sizeof(double), "moments");
    if (!r->m) {
        st = DW_ERR_NOMEM;
        goto fail;
    }
    if (dw_spectrum_residual(r->s)) {
        /* residual blocks: the block recursion of the pairings is the one route; no criticality, no support */
        r->residual = true;
        r->act_first = dw_spectrum_residual_act_first(r->s);
        if (r->act_first) {
            if (!(r->merr = dw_alloc((size_t)r->kmax, sizeof(double), "moments"))) {
                st = DW_ERR_NOMEM;
                goto fail;
            }
            st = dw_spectrum_moments_error(r->s, r->kmax, DW_SPECTRUM_ROUTE_NC, r->m, r->merr);
        } else
            st = dw_spectrum_moments(r->s, r->kmax, DW_SPECTRUM_ROUTE_NC, r->m);
        if (st) goto fail;
        r->res_c = dw_spectrum_residual_c(r->s);
        r->lo = 0;
        r->hi = NAN;
        *out = r;
        return DW_OK;
    }
    if ((st = dw_spectrum_moments(r->s, r->kmax, DW_SPECTRUM_ROUTE_S, r->m))) goto fail;
    if (!r->orth && K <= NC_CHECK_KMAX) {
        double mnc[NC_CHECK_KMAX];
        if ((st = dw_spectrum_moments(r->s, K, DW_SPECTRUM_ROUTE_NC, mnc))) goto fail;
        r->maxrel = 0;
        for (int k = 0; k < K; k++)
            if (r->m[k] != mnc[k]) r->maxrel = fmax(r->maxrel, fabs(r->m[k] - mnc[k]) / fmax(fabs(r->m[k]), 1e-300));
    }
    dw_net_fc fc;
    dw_net_fc_view(net, "report", 0, DW_NET_RANDOM, &fc); /* checked by dw_spectrum_init */
    r->have_qs = fixed_point_chi(net, fc.act, ok.q0, &r->qs, &r->chi);
    r->critical = r->have_qs && fabs(r->chi - 1) <= CRITICAL_TOL;
    if ((st = dw_spectrum_support(r->s, &r->lo, &r->hi))) goto fail;
    *out = r;
    return DW_OK;
fail:
    dw_spectrum_report_clear(r);
    return st;
}

dw_status dw_spectrum_report_exact(dw_spectrum_report *r)
{
    if (!r) return dw_fail(DW_ERR_INVALID, "report: NULL report");
    if (r->ex) return DW_OK;
    dw_status st = dw_spectrum_exact_init(&r->ex, r->s, r->K, DW_SPECTRUM_ROUTE_S);
    if (st) return st;
    free(r->json);
    r->json = NULL;
    if (!r->orth && r->K <= NC_CHECK_KMAX) {
        dw_spectrum_exact *e2 = NULL;
        if ((st = dw_spectrum_exact_init(&e2, r->s, r->K, DW_SPECTRUM_ROUTE_NC))) return st;
        r->exact_agree = 1;
        for (int k = 1; k <= r->K; k++)
            r->exact_agree &= !strcmp(dw_spectrum_exact_m(r->ex, k), dw_spectrum_exact_m(e2, k));
        dw_spectrum_exact_clear(e2);
    }
    return DW_OK;
}

dw_status dw_spectrum_report_density(dw_spectrum_report *r, double a, double b, size_t n)
{
    if (!r) return dw_fail(DW_ERR_INVALID, "report: NULL report");
    if (!(a > 0) || !isfinite(a))
        return dw_fail(DW_ERR_INVALID, "grid: A = %g; the abscissae must be > 0 (the atom at 0 is reported apart)", a);
    if (n < 2) return dw_fail(DW_ERR_INVALID, "grid: N = %zu; at least 2 points are needed", n);
    if (n > 100000000) return dw_fail(DW_ERR_INVALID, "grid: N = %zu is above 100000000", n);
    if (!(b > a) || !isfinite(b)) return dw_fail(DW_ERR_INVALID, "grid: B = %g must be above A = %g", b, a);
    double *t = dw_alloc(n, sizeof(double), "density grid"), *rho = dw_alloc(n, sizeof(double), "density grid");
    if (!t || !rho) {
        free(t);
        free(rho);
        return DW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) t[i] = a + (b - a) * (double)i / (double)(n - 1);
    dw_status st = dw_spectrum_density(r->s, n, t, rho);
    if (st) {
        free(t);
        free(rho);
        return st;
    }
    double mass = 0;
    for (size_t i = 1; i < n; i++) mass += 0.5 * (t[i] - t[i - 1]) * (rho[i] + rho[i - 1]);
    free(r->t);
    free(r->rho);
    r->t = t;
    r->rho = rho;
    r->gn = n;
    r->ga = a;
    r->gb = b;
    r->mass = mass;
    free(r->json);
    r->json = NULL;
    return DW_OK;
}

dw_status dw_spectrum_report_sample(dw_spectrum_report *r, const dw_spectrum_sample_opts *o, unsigned long long seed)
{
    if (!r || !o) return dw_fail(DW_ERR_INVALID, "report: NULL report or options");
    const double q0s = dw_spectrum_input_q0(r->s);
    if (!(q0s > 0))
        return dw_fail(DW_ERR_INVALID,
                       "sample: no input norm gives q_1 = %g (sigma_w^2 of layer 1 is %g, sigma_b^2 %g)",
                       dw_spectrum_q(r->s)[0], r->s->sw2[0], r->s->sb2[0]);
    const double width = r->residual ? dw_spec_residual_width(r->net) : dw_net_dense(r->net, 0)->width;
    if (!(width >= 1))
        return dw_fail(DW_ERR_INVALID, r->residual ? "width: not set (the branches' dense layers' width N)"
                                                   : "width: not set (dw_net_set_widths with one value N)");
    const size_t S = o->samples, N = (size_t)width, K = (size_t)r->K;
    dw_spectrum_sample_opts oo = *o;
    oo.q0 = q0s;
    oo.K = r->K;
    double *sm = dw_alloc(K, sizeof(double), "sampled moments"), *sse = dw_alloc(K, sizeof(double), "sampled moments");
    double *s2 = NULL;
    dw_status st = sm && sse ? DW_OK : DW_ERR_NOMEM;
    if (!st && !o->probes &&
        !(st = dw_core_check_alloc(8.0 * (double)S * (double)N, "sample: the squared singular values"))) {
        s2 = dw_alloc(S * N, sizeof(double), "squared singular values");
        if (!s2) st = DW_ERR_NOMEM;
    }
    const double t0 = now();
    if (!st) st = dw_spectrum_sample_law(r->net, &oo, seed, sm, sse, s2);
    if (st) {
        free(sm);
        free(sse);
        free(s2);
        return st;
    }
    free(r->sm);
    free(r->sse);
    free(r->s2);
    r->sm = sm;
    r->sse = sse;
    r->s2 = s2;
    r->seconds = now() - t0;
    r->sampled = true;
    r->q0s = q0s;
    r->S = S;
    r->N = N;
    r->probes = o->probes;
    r->seed = seed;
    r->threads = dw_core_threads(o->threads);
    dw_net_law_format(r->net, r->law, sizeof r->law);
    r->zeros = s2 ? dw_spectrum_count_zeros(S, N, s2) : 0;
    free(r->json);
    r->json = NULL;
    return DW_OK;
}

dw_status dw_spectrum_report_set_file(dw_spectrum_report *r, const char *what, const char *path)
{
    if (!r || !what || !path) return dw_fail(DW_ERR_INVALID, "report: NULL argument");
    char **slot = !strcmp(what, "density") ? &r->density_out : !strcmp(what, "plot") ? &r->plot : NULL;
    if (!slot) return dw_fail(DW_ERR_INVALID, "report: unknown file '%s' (density or plot)", what);
    char *c = dw_alloc(strlen(path) + 1, 1, "file name");
    if (!c) return DW_ERR_NOMEM;
    strcpy(c, path);
    free(*slot);
    *slot = c;
    free(r->json);
    r->json = NULL;
    return DW_OK;
}

/* The smallest non-zero sampled value (each network's in descending order, its zeros last) and the largest of the
 * sampled values and the limit's right edge. */
static void sample_range(const dw_spectrum_report *r, double *smin, double *top)
{
    *smin = INFINITY;
    *top = r->hi;
    for (size_t k = 0; r->s2 && k < r->S; k++) {
        const size_t nz = r->N - dw_spectrum_count_zeros(1, r->N, r->s2 + k * r->N);
        *top = fmax(*top, r->s2[k * r->N]);
        if (nz) *smin = fmin(*smin, r->s2[k * r->N + nz - 1]);
    }
}

dw_status dw_spectrum_report_histogram(const dw_spectrum_report *r, size_t bins, bool log_t, double *edges,
                                       double *height)
{
    if (!r || !edges || !height || !bins) return dw_fail(DW_ERR_INVALID, "histogram: NULL argument or no bins");
    if (!r->s2) return dw_fail(DW_ERR_INVALID, "histogram: needs sampled spectra (exact mode)");
    const size_t S = r->S, N = r->N;
    double smin, top;
    sample_range(r, &smin, &top);
    const double lo = log_t ? (isfinite(smin) ? smin : top * 1e-6) : 0, rr = log_t ? log(top / lo) : 0;
    for (size_t i = 0; i <= bins; i++)
        edges[i] = log_t ? lo * exp(rr * (double)i / (double)bins) : top * (double)i / (double)bins;
    for (size_t i = 0; i < bins; i++) height[i] = 0;
    for (size_t k = 0; k < S; k++) {
        const size_t nz = N - dw_spectrum_count_zeros(1, N, r->s2 + k * N);
        for (size_t i = 0; i < nz; i++) {
            const double v = r->s2[k * N + i], u = log_t ? log(v / lo) / rr : v / top;
            const double j = floor(u * (double)bins);
            height[j < 0 ? 0 : j >= (double)bins ? bins - 1 : (size_t)j] += 1;
        }
    }
    for (size_t i = 0; i < bins; i++)
        height[i] /= (double)(S * N) * (log_t ? rr / (double)bins : top / (double)bins);
    return DW_OK;
}

dw_status dw_spectrum_report_curve(const dw_spectrum_report *r, size_t n, bool log_t, double a, double b, double *t,
                                   double *rho)
{
    if (!r || !t || !rho || n < 2) return dw_fail(DW_ERR_INVALID, "curve: NULL argument or fewer than 2 points");
    if (!(a < b)) {
        double smin, top;
        sample_range(r, &smin, &top);
        a = log_t ? fmin(r->hi * 1e-6, smin) : r->hi / 2000;
        b = r->hi;
    }
    for (size_t i = 0; i < n; i++) {
        const double f = (double)i / (double)(n - 1);
        t[i] = log_t ? a * pow(b / a, f) : a + (b - a) * f;
    }
    dw_status st = dw_spectrum_density(r->s, n, t, rho);
    if (st) return st;
    if (log_t)
        for (size_t i = 0; i < n; i++) rho[i] *= t[i]; /* the density of ln t */
    return DW_OK;
}

/* ---- getters ---- */
const dw_spectrum *dw_spectrum_report_spectrum(const dw_spectrum_report *r) { return r ? r->s : NULL; }
int dw_spectrum_report_K(const dw_spectrum_report *r) { return r ? r->K : 0; }
const double *dw_spectrum_report_moments(const dw_spectrum_report *r) { return r ? r->m : NULL; }
const double *dw_spectrum_report_moments_error(const dw_spectrum_report *r) { return r ? r->merr : NULL; }
const dw_spectrum_exact *dw_spectrum_report_exact_result(const dw_spectrum_report *r) { return r ? r->ex : NULL; }

int dw_spectrum_report_routes_agree(const dw_spectrum_report *r, double *maxrel)
{
    if (maxrel) *maxrel = r ? r->maxrel : NAN;
    return r ? r->exact_agree : -1;
}

bool dw_spectrum_report_criticality(const dw_spectrum_report *r, double *q_star, double *chi, bool *critical)
{
    if (!r || !r->have_qs) return false;
    if (q_star) *q_star = r->qs;
    if (chi) *chi = r->chi;
    if (critical) *critical = r->critical;
    return true;
}

void dw_spectrum_report_support(const dw_spectrum_report *r, double *lo, double *hi)
{
    if (lo) *lo = r ? r->lo : 0;
    if (hi) *hi = r ? r->hi : 0;
}

size_t dw_spectrum_report_density_grid(const dw_spectrum_report *r, const double **t, const double **rho, double *mass)
{
    if (t) *t = r ? r->t : NULL;
    if (rho) *rho = r ? r->rho : NULL;
    if (mass) *mass = r ? r->mass : 0;
    return r && r->t ? r->gn : 0;
}

bool dw_spectrum_report_sampled(const dw_spectrum_report *r, const double **m, const double **se, double *q0,
                                const double **s2, size_t *samples, size_t *N, size_t *zeros, double *seconds)
{
    const bool ok = r && r->sampled;
    if (m) *m = ok ? r->sm : NULL;
    if (se) *se = ok ? r->sse : NULL;
    if (q0) *q0 = ok ? r->q0s : 0;
    if (s2) *s2 = ok ? r->s2 : NULL;
    if (samples) *samples = ok ? r->S : 0;
    if (N) *N = ok ? r->N : 0;
    if (zeros) *zeros = ok ? r->zeros : 0;
    if (seconds) *seconds = ok ? r->seconds : 0;
    return ok;
}
