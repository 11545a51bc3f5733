/* The convergence study (theory.md 1.4): errors of sampled networks' empirical Grams against the exact limit of
 * the kernel module, width by width, and the fits of their rates. Kept apart from dw_sample_run because it is
 * statistics on top of the driver (driver.c), with its own accumulators and least-squares fits. */
#include "sample/arch.h"
#include "sample/dense.h"
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const double *K;
    size_t n;
    double sf, sf2, sm, sm2; /* sums of |G_s - K|_F^2, its square, of the mean deviation, its square */
    double *e1, *e2;         /* per entry: sums of G_s - K and of its square */
} conv_ctx;

static dw_status conv_take(conv_ctx *c, const double *g)
{
    const size_t nn = c->n * c->n;
    double f = 0, m = 0;
    for (size_t e = 0; e < nn; e++) {
        if (!isfinite(g[e]))
            return dw_fail(DW_ERR_RANGE, "converge: the empirical Gram overflows at entry (%zu, %zu)", e / c->n + 1,
                           e % c->n + 1);
        const double dv = g[e] - c->K[e];
        f += dv * dv;
        m += dv;
        c->e1[e] += dv;
        c->e2[e] += dv * dv;
    }
    m /= (double)nn;
    c->sf += f;
    c->sf2 += f * f;
    c->sm += m;
    c->sm2 += m * m;
    return DW_OK;
}

static dw_status conv_consume(void *vc, size_t s, const dw_snet *t, const double *base)
{
    (void)s;
    return conv_take(vc, base + t->offGram);
}

static dw_status arch_conv_consume(void *vc, size_t s, const double *F, const double *G)
{
    (void)s;
    (void)F;
    return conv_take(vc, G);
}

/* Every dense / conv layer of an architecture net in the NTK parameterisation (the study's limit). */
static bool all_ntk(const dw_net *root, const dw_net *net)
{
    for (size_t i = 0; i < net->n; i++) {
        const dw_net_layer *l = &net->layer[i];
        if ((l->kind == DW_LAYER_DENSE || l->kind == DW_LAYER_CONV) && dw_net_layer_param(root, l) != DW_PARAM_NTK)
            return false;
        if (l->kind == DW_LAYER_PARALLEL)
            for (size_t b = 0; b < l->n; b++)
                if (!all_ntk(root, l->branch[b])) return false;
    }
    return true;
}

/* Weighted least squares y = a + b x with standard deviations sd; returns a, b, their standard errors and
 * chi^2 / (k - 2) (0 for k = 2). Where chi^2 / (k - 2) > 1 the data scatter more than their standard errors say
 * (estimated standard errors, or a model that is only asymptotic): the standard errors are then scaled by
 * sqrt(chi^2 / (k - 2)) (the Birge ratio, as the Particle Data Group does), never shrunk. */
static void wls(size_t k, const double *x, const double *y, const double *sd, double *a, double *b, double *sa,
                double *sb, double *chi2_dof)
{
    double S0 = 0, S1 = 0, S2 = 0, T0 = 0, T1 = 0;
    double floor = INFINITY;
    for (size_t i = 0; i < k; i++)
        if (sd[i] > 0 && sd[i] < floor) floor = sd[i];
    if (!isfinite(floor)) floor = 1.0;
    for (size_t i = 0; i < k; i++) {
        const double s = sd[i] > 0 ? sd[i] : floor, w = 1.0 / (s * s);
        S0 += w;
        S1 += w * x[i];
        S2 += w * x[i] * x[i];
        T0 += w * y[i];
        T1 += w * x[i] * y[i];
    }
    const double det = S0 * S2 - S1 * S1;
    *b = (S0 * T1 - S1 * T0) / det;
    *a = (S2 * T0 - S1 * T1) / det;
    double chi2 = 0;
    for (size_t i = 0; i < k; i++) {
        const double s = sd[i] > 0 ? sd[i] : floor, r = (y[i] - *a - *b * x[i]) / s;
        chi2 += r * r;
    }
    *chi2_dof = k > 2 ? chi2 / (double)(k - 2) : 0.0;
    const double scale = *chi2_dof > 1 ? sqrt(*chi2_dof) : 1.0;
    *sa = scale * sqrt(S2 / det);
    *sb = scale * sqrt(S0 / det);
}

/* The per-width results before they are written out (dw_sample_width_col order). */
typedef struct {
    double width, rms, rms_se, rel_rms, bias, bias_se, bias_fro, noise_fro;
} width_res;

/* The exact limit K (n x n) of the kernel module for the net's depth, activation and variances. */
static dw_status exact_limit(const dw_net *net, const dw_net_fc *fc, int threads, const double *X, size_t n,
                             size_t d, dw_sample_gram gram, double *K)
{
    if (!fc) { /* an architecture: its own limit (NTK parameterisation, which does not depend on the widths) */
        dw_kernel_opts *ko = NULL;
        dw_status st = dw_kernel_opts_init(&ko);
        if (!st) st = dw_kernel_opts_set_threads(ko, threads);
        if (!st)
            st = dw_kernel_gram(net, ko, X, n, NULL, n, d, gram == DW_SAMPLE_NNGP ? K : NULL,
                                gram == DW_SAMPLE_NTK ? K : NULL, NULL);
        dw_kernel_opts_clear(ko);
        return st;
    }
    /* The limit of the NTK parameterisation, as the empirical Grams are (a fresh net: the sampled one may carry
     * finite widths and another parameterisation, which the limit does not take). */
    double *wv = dw_alloc(fc->n_dense, 2 * sizeof(double), "layer variances");
    if (!wv) return DW_ERR_NOMEM;
    double *bv = wv + fc->n_dense;
    dw_net_dense_values(net, 0, wv);
    dw_net_dense_values(net, 1, bv);
    dw_net *lim = NULL;
    dw_kernel_opts *ko = NULL;
    dw_status st = dw_net_init(&lim);
    if (!st) st = dw_net_set_fc(lim, fc->depth, fc->act, true);
    if (!st) st = dw_net_set_weight_var(lim, fc->n_dense, wv);
    if (!st) st = dw_net_set_bias_var(lim, fc->n_dense, bv);
    if (!st) st = dw_kernel_opts_init(&ko);
    if (!st) st = dw_kernel_opts_set_threads(ko, threads);
    if (!st)
        st = dw_kernel_gram(lim, ko, X, n, NULL, n, d, gram == DW_SAMPLE_NNGP ? K : NULL,
                            gram == DW_SAMPLE_NTK ? K : NULL, NULL);
    dw_kernel_opts_clear(ko);
    dw_net_clear(lim);
    free(wv);
    return st;
}

/* The two fits over the widths into fit (dw_sample_fit_entry order). */
static dw_status fit_rates(size_t n_widths, const width_res *res, double kf, double *fit)
{
    double *x = dw_alloc(n_widths, 4 * sizeof(double), "fit");
    if (!x) return DW_ERR_NOMEM;
    double *y = x + n_widths, *sd = y + n_widths, *z = sd + n_widths;
    int zero = 0;
    for (size_t i = 0; i < n_widths; i++) {
        x[i] = log(res[i].width);
        zero |= !(res[i].rms > 0);
        y[i] = zero ? 0 : log(res[i].rms);
        sd[i] = zero ? 0 : res[i].rms_se / res[i].rms;
    }
    if (zero) {
        free(x);
        return dw_fail(DW_ERR_INVALID,
                       "converge: the empirical Gram equals the limit exactly at some width (no rate to fit)");
    }
    memset(fit, 0, DW_SAMPLE_FIT_LEN * sizeof *fit);
    wls(n_widths, x, y, sd, &fit[DW_SAMPLE_FIT_INTERCEPT], &fit[DW_SAMPLE_FIT_SLOPE], &z[0],
        &fit[DW_SAMPLE_FIT_SLOPE_SE], &fit[DW_SAMPLE_FIT_CHI2_DOF]);
    fit[DW_SAMPLE_FIT_SLOPE_LO] = fit[DW_SAMPLE_FIT_SLOPE] - 1.959963984540054 * fit[DW_SAMPLE_FIT_SLOPE_SE];
    fit[DW_SAMPLE_FIT_SLOPE_HI] = fit[DW_SAMPLE_FIT_SLOPE] + 1.959963984540054 * fit[DW_SAMPLE_FIT_SLOPE_SE];
    for (size_t i = 0; i < n_widths; i++) {
        x[i] = 1.0 / res[i].width;
        y[i] = res[i].bias;
        sd[i] = res[i].bias_se;
    }
    wls(n_widths, x, y, sd, &fit[DW_SAMPLE_FIT_BIAS_INF], &fit[DW_SAMPLE_FIT_BIAS_COEF],
        &fit[DW_SAMPLE_FIT_BIAS_INF_SE], &fit[DW_SAMPLE_FIT_BIAS_COEF_SE], &fit[DW_SAMPLE_FIT_BIAS_CHI2_DOF]);
    fit[DW_SAMPLE_FIT_LIMIT_FRO] = kf;
    free(x);
    return DW_OK;
}

dw_status dw_sample_converge(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                             dw_sample_gram gram, size_t n_widths, const size_t *widths, size_t S, double *per_width,
                             double *fit)
{
    o = dw_sample_opts_or_default(o);
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (!per_width || !fit) return dw_fail(DW_ERR_INVALID, "converge: NULL result arrays");
    if (gram != DW_SAMPLE_NNGP && gram != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "kind: the convergence study needs the nngp or ntk Gram");
    if (n_widths < 2 || !widths)
        return dw_fail(DW_ERR_INVALID, "widths: a convergence study needs at least 2 widths (got %zu)", n_widths);
    if (S < 2) return dw_fail(DW_ERR_INVALID, "samples: a convergence study needs at least 2 samples (got %zu)", S);
    dw_net_fc fc = {0};
    const bool arch = net && !dw_net_is_fc(net);
    dw_status st = arch ? DW_OK : dw_net_fc_view(net, "converge", 1, DW_NET_RANDOM, &fc);
    if (st) return st;
    if (!arch && fc.depth == 0)
        return dw_fail(DW_ERR_INVALID, "depth: a depth-0 network equals its limit exactly (nothing converges)");
    if (arch && !all_ntk(net, net))
        return dw_fail(DW_ERR_INVALID, "param: the convergence study uses the NTK parameterisation in every layer (the "
                       "standard one has no limit)");
    if (dw_net_param(net) != DW_PARAM_NTK)
        return dw_fail(DW_ERR_INVALID,
                       "param: the convergence study uses the NTK parameterisation (the standard one has no limit)");
    for (size_t i = 0; i < n_widths; i++) {
        if (widths[i] < 1) return dw_fail(DW_ERR_INVALID, "widths: value %zu is %zu, must be >= 1", i + 1, widths[i]);
        for (size_t j = 0; j < i; j++)
            if (widths[j] == widths[i])
                return dw_fail(DW_ERR_INVALID, "widths: %zu appears twice (widths must be distinct)", widths[i]);
    }
    /* validate everything (largest width) before the long run, and get the limit */
    size_t wmax = 0;
    for (size_t i = 0; i < n_widths; i++) wmax = widths[i] > wmax ? widths[i] : wmax;
    dw_snet t = {0};
    asamp_prog p = {0};
    if ((st = arch ? dw_asamp_init(&p, net, o, "converge", n, d, gram, wmax)
                   : dw_snet_init(&t, net, "converge", o->seed, n, d, gram, wmax)))
        return st;
    {
        const int threads = dw_core_threads(o->threads);
        const double chunk = (double)(S < (size_t)threads ? S : (size_t)threads);
        const double need = chunk * (arch ? dw_asamp_sample_bytes(&p, n, gram, false) : dw_snet_sample_bytes(&t)) +
                            5.0 * (double)n * (double)n * 8.0;
        dw_snet_clear(&t);
        dw_asamp_clear(&p);
        if ((st = dw_core_check_points("X", X, n, d))) return st;
        if ((st = dw_core_check_alloc(need, "the convergence study"))) return st;
    }
    const size_t nn = n * n;
    double *K = dw_alloc(nn, sizeof(double), "exact limit");
    double *e1 = dw_alloc(nn, sizeof(double), "Gram accumulator");
    double *e2 = dw_alloc(nn, sizeof(double), "Gram accumulator");
    width_res *res = dw_calloc(n_widths, sizeof *res, "per-width results");
    if (!K || !e1 || !e2 || !res) {
        free(K);
        free(e1);
        free(e2);
        free(res);
        return DW_ERR_NOMEM;
    }
    st = exact_limit(net, arch ? NULL : &fc, o->threads, X, n, d, gram, K);
    double kf = 0;
    for (size_t e = 0; e < nn && !st; e++) kf += K[e] * K[e];
    kf = sqrt(kf);
    double total = 0;
    for (size_t i = 0; i < n_widths; i++) total += (double)S * ((double)widths[i] + 64.0) * ((double)widths[i] + 64.0);
    double done = 0;
    const double Sd = (double)S;
    for (size_t i = 0; i < n_widths && !st; i++) {
        if ((st = arch ? dw_asamp_init(&p, net, o, "converge", n, d, gram, widths[i])
                       : dw_snet_init(&t, net, "converge", o->seed, n, d, gram, widths[i])))
            break;
        t.outputs = 0; /* the study needs the Grams only */
        memset(e1, 0, nn * sizeof(double));
        memset(e2, 0, nn * sizeof(double));
        conv_ctx c = {K, n, 0, 0, 0, 0, e1, e2};
        const double unit = ((double)widths[i] + 64.0) * ((double)widths[i] + 64.0);
        dw_snet_progress prog = {o->progress, o->progress_ctx, done, unit, total};
        /* width i samples networks first_sample + i S .. + S - 1: streams are keyed by the sample index, so reusing
         * the same indices at every width would correlate the widths (layer 1's first units would be identical)
         * and void the independence the fit's standard errors assume. */
        const uint64_t first = o->first_sample + (uint64_t)i * (uint64_t)S;
        st = arch ? dw_asamp_run(&p, o->seed, X, n, S, first, o->threads, gram, false, arch_conv_consume, &c, &prog)
                  : dw_snet_run(&t, X, S, first, o->threads, conv_consume, &c, &prog);
        dw_snet_clear(&t);
        dw_asamp_clear(&p);
        done += Sd * unit;
        if (st) break;
        width_res *r = &res[i];
        r->width = (double)widths[i];
        const double mf = c.sf / Sd, vf = (c.sf2 - c.sf * mf) / (Sd - 1.0);
        r->rms = sqrt(mf);
        r->rms_se = r->rms > 0 ? sqrt((vf > 0 ? vf : 0) / Sd) / (2.0 * r->rms) : 0.0;
        r->rel_rms = kf > 0 ? r->rms / kf : 0.0;
        const double mm = c.sm / Sd, vm = (c.sm2 - c.sm * mm) / (Sd - 1.0);
        r->bias = mm;
        r->bias_se = sqrt((vm > 0 ? vm : 0) / Sd);
        double bf = 0, nf = 0;
        for (size_t e = 0; e < nn; e++) {
            const double m1 = e1[e] / Sd, v = (e2[e] - e1[e] * m1) / (Sd - 1.0);
            bf += m1 * m1;
            nf += (v > 0 ? v : 0) / Sd;
        }
        r->bias_fro = sqrt(bf);
        r->noise_fro = sqrt(nf);
    }
    if (!st) st = fit_rates(n_widths, res, kf, fit);
    if (!st)
        for (size_t i = 0; i < n_widths; i++) {
            double *row = per_width + i * DW_SAMPLE_WIDTH_COLS;
            row[DW_SAMPLE_W_WIDTH] = res[i].width;
            row[DW_SAMPLE_W_RMS] = res[i].rms;
            row[DW_SAMPLE_W_RMS_SE] = res[i].rms_se;
            row[DW_SAMPLE_W_REL_RMS] = res[i].rel_rms;
            row[DW_SAMPLE_W_BIAS] = res[i].bias;
            row[DW_SAMPLE_W_BIAS_SE] = res[i].bias_se;
            row[DW_SAMPLE_W_BIAS_FRO] = res[i].bias_fro;
            row[DW_SAMPLE_W_NOISE_FRO] = res[i].noise_fro;
        }
    free(K);
    free(e1);
    free(e2);
    free(res);
    return st;
}
