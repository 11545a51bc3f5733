/* Public driver of the Jacobian spectrum (theory.md 3): set-up of the layers, the two routes for the moments, exact
 * rationals, criticality. */
#include "spectrum/spectrum.h"

#include "core/rational.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flint/flint.h>

void dw_spectrum_clear(dw_spectrum *s)
{
    if (!s) return;
    if (s->law)
        for (int g = 0; g < s->ng; g++) dw_spec_law_clear(&s->law[g]);
    free(s->law);
    free(s->gq);
    free(s->sw2);
    free(s->sb2);
    free(s->q);
    free(s->mu);
    free(s->group);
    free(s->mult);
    free(s->gmu);
    free(s->res_gamma);
    free(s->res_alpha);
    free(s->res_p);
    free(s);
}

int dw_spectrum_depth(const dw_spectrum *s) { return s ? s->L : 0; }
int dw_spectrum_kmax(const dw_spectrum *s) { return s ? s->kmax : 0; }
const double *dw_spectrum_q(const dw_spectrum *s) { return s ? s->q : NULL; }
const double *dw_spectrum_mu(const dw_spectrum *s) { return s ? s->mu : NULL; }
double dw_spectrum_mu_error(const dw_spectrum *s) { return s ? s->mu_err : 0; }
double dw_spectrum_atom0(const dw_spectrum *s) { return s ? s->atom0 : 0; }

double dw_spectrum_input_q0(const dw_spectrum *s)
{
    if (!s || !(s->sw2[0] > 0)) return 0;
    /* q_1 = sigma_w^2 |x|^2 / N + sigma_b^2: q0 itself, or the input norm that starts the network at q* */
    const double q0 = s->fixed_point ? (s->q[0] - s->sb2[0]) / s->sw2[0] : s->q0;
    return q0 > 0 && isfinite(q0) ? q0 : 0;
}

bool dw_spectrum_orthogonal(const dw_spectrum *s) { return s && s->orth; }

/* The net as the spectrum takes it (spectrum.h): no readout, random weights, a real law, weight_var > 0. */
static dw_status check_net(const dw_net *net, dw_net_fc *fc)
{
    dw_status st = dw_net_fc_view(net, "spectrum", 0, DW_NET_RANDOM, fc);
    if (st) return st;
    if ((st = dw_spec_check_law(net))) return st;
    for (size_t k = 0; k < fc->n_dense; k++) {
        const double w = dw_net_dense(net, k)->weight_var;
        if (!(w > 0))
            return dw_fail(DW_ERR_INVALID, "weight_var: value %zu is %g; the Jacobian spectrum needs it > 0", k + 1,
                           w);
    }
    return DW_OK;
}

dw_status dw_spectrum_init(dw_spectrum **out, const dw_net *net, const dw_spectrum_opts *opts)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_spectrum_init: NULL output");
    *out = NULL;
    dw_spectrum_opts defaults = {.q0 = 1.0, .fixed_point = false, .kmax = 8};
    const dw_spectrum_opts *o = opts ? opts : &defaults;
    if (!net) return dw_fail(DW_ERR_INVALID, "spectrum: NULL net");
    dw_net_fc fc = {0};
    dw_spec_res *res = NULL;
    dw_status st;
    if (dw_spec_is_residual(net)) {
        if (o->fixed_point)
            return dw_fail(DW_ERR_INVALID, "fixed point: a residual network's variance grows along the blocks; give "
                           "q0 instead");
        if ((st = dw_spec_check_law(net))) return st;
        if (o->kmax > DW_SPECTRUM_RES_KMAX)
            return dw_fail(DW_ERR_INVALID, "kmax: %d is above %d, the largest moment order of residual networks",
                           o->kmax, DW_SPECTRUM_RES_KMAX);
        res = dw_alloc(1, sizeof *res, "residual blocks");
        if (!res) return DW_ERR_NOMEM;
        if ((st = dw_spec_residual_view(net, res))) {
            free(res);
            return st;
        }
        if (res->act_first && isfinite(res->act->kink) && res->act->kink != 0) {
            const dw_act *a = res->act;
            free(res);
            return dw_fail(DW_ERR_INVALID, "spectrum: act-first residual blocks take activations smooth or kinked at 0 "
                           "only; %s has a kink at %g", a->name, a->kink);
        }
        fc.depth = res->L;
        fc.act = res->act;
    } else if ((st = check_net(net, &fc)))
        return st;
    const int L = fc.depth;
    if (o->fixed_point) {
        for (size_t k = 1; k < fc.n_dense; k++)
            if (dw_net_dense(net, k)->weight_var != dw_net_dense(net, 0)->weight_var)
                return dw_fail(DW_ERR_INVALID, "fixed point: needs one weight variance for all layers");
        for (size_t k = 1; k < fc.n_dense; k++)
            if (dw_net_dense(net, k)->bias_var != dw_net_dense(net, 0)->bias_var)
                return dw_fail(DW_ERR_INVALID, "fixed point: needs one bias variance for all layers");
    }
    const dw_act *act = fc.act;
    dw_spectrum *s = dw_calloc(1, sizeof *s, "spectrum");
    if (!s) {
        free(res);
        return DW_ERR_NOMEM;
    }
    s->L = L;
    s->kmax = o->kmax;
    s->orth = dw_net_law(net).kind == DW_LAW_ORTHOGONAL;
    s->act = act;
    s->q0 = o->q0;
    s->fixed_point = o->fixed_point;
    const int K = o->kmax;
    s->sw2 = dw_alloc((size_t)L, sizeof(double), "spectrum layers");
    s->sb2 = dw_alloc((size_t)L, sizeof(double), "spectrum layers");
    s->q = dw_alloc((size_t)L, sizeof(double), "spectrum layers");
    s->group = dw_alloc((size_t)L, sizeof(int), "spectrum layers");
    s->mult = dw_calloc((size_t)L, sizeof(int), "spectrum layers");
    s->mu = dw_alloc((size_t)L * (size_t)K, sizeof(double), "spectrum moments mu");
    if (!s->sw2 || !s->sb2 || !s->q || !s->group || !s->mult || !s->mu) {
        st = DW_ERR_NOMEM;
        goto fail;
    }
    if (res) {
        s->residual = 1;
        s->res_gamma = dw_alloc((size_t)L, sizeof(double), "spectrum layers");
        s->res_alpha = dw_alloc((size_t)L, sizeof(double), "spectrum layers");
        if (!s->res_gamma || !s->res_alpha) {
            st = DW_ERR_NOMEM;
            goto fail;
        }
        memcpy(s->sw2, res->sw2, sizeof(double) * (size_t)L);
        memcpy(s->sb2, res->sb2, sizeof(double) * (size_t)L);
        memcpy(s->res_gamma, res->gamma, sizeof(double) * (size_t)L);
        memcpy(s->res_alpha, res->alpha, sizeof(double) * (size_t)L);
        s->res_act_first = res->act_first;
        if (res->act_first && !(s->res_p = dw_alloc((size_t)L + 1, sizeof(double), "spectrum layers"))) {
            st = DW_ERR_NOMEM;
            goto fail;
        }
    } else {
        dw_net_dense_values(net, 0, s->sw2);
        dw_net_dense_values(net, 1, s->sb2);
    }
    for (int l = 0; l < L; l++) s->log_sw2_sum += log(s->sw2[l]);
    if (res) {
        if (res->act_first) { /* block l's D is phi'(x_{l-1}): q_l = p_{l-1} */
            if ((st = dw_spec_actfirst_p(res, o->q0, s->res_p))) goto fail;
            memcpy(s->q, s->res_p, sizeof(double) * (size_t)L);
        } else if ((st = dw_spec_residual_q(res, o->q0, s->q)))
            goto fail;
    } else if (o->fixed_point) {
        double qs;
        if ((st = dw_spec_fixed_point(act, s->sw2[0], s->sb2[0], o->q0, &qs))) goto fail;
        for (int l = 0; l < L; l++) s->q[l] = qs;
    } else {
        for (int l = 0; l < L; l++) {
            double V = o->q0;
            if (l > 0 && (st = dw_spec_V(act, s->q[l - 1], &V, NULL))) goto fail;
            s->q[l] = s->sw2[l] * V + s->sb2[l];
            if (!isfinite(s->q[l])) {
                st = dw_fail(DW_ERR_RANGE, "the variance q_%d overflows", l + 1);
                goto fail;
            }
        }
    }
    /* distinct variances (the law of d^2 depends on q only; the relu family not even on q) */
    const int qfree = act->fam == DW_FAM_RELU || act->fam == DW_FAM_STEP || act->fam == DW_FAM_IDENTITY ||
                      (act->fam == DW_FAM_POLY && act->deg <= 1);
    double *gq = dw_alloc((size_t)L, sizeof(double), "spectrum groups");
    if (!gq) {
        st = DW_ERR_NOMEM;
        goto fail;
    }
    s->ng = 0;
    for (int l = 0; l < L; l++) {
        int g = -1;
        if (qfree && s->ng) g = 0;
        if (g < 0 && s->ng && gq[s->ng - 1] == s->q[l]) g = s->ng - 1;
        for (int h = 0; g < 0 && h < s->ng; h++)
            if (gq[h] == s->q[l]) g = h;
        if (g < 0) {
            g = s->ng++;
            gq[g] = s->q[l];
        }
        s->group[l] = g;
        s->mult[g]++;
    }
    s->law = dw_calloc((size_t)s->ng, sizeof(dw_d2_law), "spectrum laws");
    s->gmu = dw_alloc((size_t)s->ng * (size_t)K, sizeof(double), "spectrum moments");
    if (!s->law || !s->gmu) {
        s->gq = gq;
        st = DW_ERR_NOMEM;
        goto fail;
    }
    s->gq = gq;
    s->law_lazy = 1;
    for (int g = 0; g < s->ng; g++) s->law_lazy &= gq[g] > 0 && dw_spec_closed_mu(act, gq[g], K, s->gmu + (size_t)g * K);
    for (int g = 0; g < s->ng; g++) {
        double err;
        if (s->law_lazy) {
            for (int j = 0; j < K; j++)
                if (!isfinite(s->gmu[(size_t)g * K + j])) {
                    st = dw_fail(DW_ERR_RANGE, "mu_%d = E[phi'(sqrt(q) Z)^%d] of %s overflows at variance q = %g", j + 1,
                                 2 * (j + 1), act->name, gq[g]);
                    goto fail;
                }
            continue;
        }
        if ((st = dw_spec_law(act, gq[g], K, &s->law[g], s->gmu + (size_t)g * K, &err))) goto fail;
        s->mu_err = fmax(s->mu_err, err);
        s->atom0 = fmax(s->atom0, s->law[g].atom0);
    }
    for (int l = 0; l < L; l++) memcpy(s->mu + (size_t)l * K, s->gmu + (size_t)s->group[l] * K, sizeof(double) * (size_t)K);
    free(res);
    *out = s;
    return DW_OK;
fail:
    free(res);
    dw_spectrum_clear(s);
    return st;
}

/* The arguments of dw_spectrum_moments; residual blocks: their one route. */
static dw_status moments_check(const dw_spectrum *s, int K, dw_spectrum_route route, const double *m)
{
    if (!s || !m) return dw_fail(DW_ERR_INVALID, "moments: NULL argument");
    if (K < 1 || K > s->kmax)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is outside 1..%d (the kmax of this spectrum)", K, s->kmax);
    if (s->residual) {
        if (route != DW_SPECTRUM_ROUTE_NC && route != DW_SPECTRUM_ROUTE_S)
            return dw_fail(DW_ERR_INVALID, "moments: unknown route %d (1: NC(k), 2: S-transform)", (int)route);
        if (route == DW_SPECTRUM_ROUTE_S)
            return dw_fail(DW_ERR_INVALID, "moments: the S-transform route multiplies free layers; a residual "
                           "network's blocks are not free of each other (their diagonal D_l commute): use the NC route");
    }
    return DW_OK;
}

dw_status dw_spectrum_moments_error(const dw_spectrum *s, int K, dw_spectrum_route route, double *m, double *err)
{
    if (!err) return dw_fail(DW_ERR_INVALID, "moments: NULL argument");
    dw_status st = moments_check(s, K, route, m);
    if (st) return st;
    if (s->residual && s->res_act_first) return dw_spec_actfirst_moments(s, K, m, err);
    for (int k = 0; k < K; k++) err[k] = 0;
    return dw_spectrum_moments(s, K, route, m);
}

dw_status dw_spectrum_moments(const dw_spectrum *s, int K, dw_spectrum_route route, double *m)
{
    dw_status st = moments_check(s, K, route, m);
    if (st) return st;
    if (s->residual)
        return s->res_act_first ? dw_spec_actfirst_moments(s, K, m, NULL) : dw_spec_residual_moments(s, K, m);
    if (route == DW_SPECTRUM_ROUTE_NC) {
        if (s->orth)
            return dw_fail(DW_ERR_INVALID, "moments: the NC(k) route applies to i.i.d. weights only; orthogonal "
                           "weights need the S-transform route");
        return dw_spec_nc_moments(s->L, K, s->sw2, s->mu, s->kmax, m);
    }
    if (route == DW_SPECTRUM_ROUTE_S) return dw_spec_series_moments(s, K, m);
    return dw_fail(DW_ERR_INVALID, "moments: unknown route %d (1: NC(k), 2: S-transform)", (int)route);
}

static char *qstr(const fmpq_t x)
{
    char *f = fmpq_get_str(NULL, 10, x);
    if (!f) return NULL;
    size_t n = strlen(f) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, f, n);
    flint_free(f);
    return c;
}

/* The exact result: strings owned by it. */
struct dw_spectrum_exact {
    int depth, K;
    char **q;  /* depth strings */
    char **mu; /* depth * K strings, mu[(l - 1) * K + (j - 1)] */
    char **m;  /* K strings: m_1..m_K */
    char *var; /* m_2 - m_1^2 (K >= 2, else NULL) */
};

void dw_spectrum_exact_clear(dw_spectrum_exact *e)
{
    if (!e) return;
    if (e->q)
        for (int i = 0; i < e->depth; i++) free(e->q[i]);
    if (e->mu)
        for (int i = 0; i < e->depth * e->K; i++) free(e->mu[i]);
    if (e->m)
        for (int i = 0; i < e->K; i++) free(e->m[i]);
    free(e->q);
    free(e->mu);
    free(e->m);
    free(e->var);
    free(e);
}

int dw_spectrum_exact_depth(const dw_spectrum_exact *e) { return e ? e->depth : 0; }
int dw_spectrum_exact_K(const dw_spectrum_exact *e) { return e ? e->K : 0; }
const char *dw_spectrum_exact_q(const dw_spectrum_exact *e, int l)
{
    return e && l >= 1 && l <= e->depth ? e->q[l - 1] : NULL;
}
const char *dw_spectrum_exact_mu(const dw_spectrum_exact *e, int l, int j)
{
    return e && l >= 1 && l <= e->depth && j >= 1 && j <= e->K ? e->mu[(size_t)(l - 1) * (size_t)e->K + (size_t)(j - 1)]
                                                               : NULL;
}
const char *dw_spectrum_exact_m(const dw_spectrum_exact *e, int k)
{
    return e && k >= 1 && k <= e->K ? e->m[k - 1] : NULL;
}
const char *dw_spectrum_exact_var(const dw_spectrum_exact *e) { return e ? e->var : NULL; }

/* The strings of the rationals into e (allocated here). */
static dw_status exact_strings(dw_spectrum_exact *e, int L, int K, const fmpq *q, const fmpq *mu, const fmpq *m)
{
    e->depth = L;
    e->K = K;
    e->q = calloc((size_t)L, sizeof(char *));
    e->mu = calloc((size_t)L * (size_t)K, sizeof(char *));
    e->m = calloc((size_t)K, sizeof(char *));
    int bad = !e->q || !e->mu || !e->m;
    for (int l = 0; l < L && !bad; l++) bad = !(e->q[l] = qstr(q + l));
    for (int i = 0; i < L * K && !bad; i++) bad = !(e->mu[i] = qstr(mu + i));
    for (int k = 0; k < K && !bad; k++) bad = !(e->m[k] = qstr(m + k));
    if (!bad && K >= 2) {
        fmpq_t v;
        fmpq_init(v);
        fmpq_mul(v, m, m);
        fmpq_sub(v, m + 1, v);
        bad = !(e->var = qstr(v));
        fmpq_clear(v);
    }
    return bad ? dw_fail(DW_ERR_NOMEM, "exact: out of memory for the rational strings") : DW_OK;
}

dw_status dw_spectrum_exact_init(dw_spectrum_exact **out, const dw_spectrum *s, int K, dw_spectrum_route route)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "exact: NULL output");
    *out = NULL;
    if (!s) return dw_fail(DW_ERR_INVALID, "exact: NULL argument");
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is outside 1..%d (the supported maximum)", K, DW_SPECTRUM_KMAX);
    if (route != DW_SPECTRUM_ROUTE_NC && route != DW_SPECTRUM_ROUTE_S)
        return dw_fail(DW_ERR_INVALID, "exact: unknown route %d (1: NC(k), 2: S-transform)", (int)route);
    if (s->residual)
        return dw_fail(DW_ERR_INVALID, "exact: not available for residual networks (floating point only: "
                       "dw_spectrum_moments)");
    if (route == DW_SPECTRUM_ROUTE_NC && s->orth)
        return dw_fail(DW_ERR_INVALID, "exact: the NC(k) route applies to i.i.d. weights only; orthogonal weights "
                       "need the S-transform route");
    if (route == DW_SPECTRUM_ROUTE_NC && K > DW_SPECTRUM_NC_KMAX)
        return dw_fail(DW_ERR_INVALID, "exact: K = %d is above %d, the largest order of the NC(k) route", K,
                       DW_SPECTRUM_NC_KMAX);
    const int L = s->L;
    fmpq *q = _fmpq_vec_init(L), *mu = _fmpq_vec_init((slong)L * K), *sw = _fmpq_vec_init(L), *m = _fmpq_vec_init(K);
    dw_status st = dw_spec_exact_layers(s, K, q, mu);
    if (!st) {
        for (int l = 0; l < L; l++) dw_rational_set_shortest(sw + l, s->sw2[l]);
        st = route == DW_SPECTRUM_ROUTE_NC ? dw_spec_nc_moments_exact(L, K, sw, mu, K, m)
                                           : dw_spec_series_moments_exact(L, K, s->orth, sw, mu, K, m);
    }
    dw_spectrum_exact *e = NULL;
    if (!st) {
        e = dw_calloc(1, sizeof *e, "exact result");
        if (!e) st = DW_ERR_NOMEM;
    }
    if (!st && (st = exact_strings(e, L, K, q, mu, m))) {
        dw_spectrum_exact_clear(e);
        e = NULL;
    }
    _fmpq_vec_clear(q, L);
    _fmpq_vec_clear(mu, (slong)L * K);
    _fmpq_vec_clear(sw, L);
    _fmpq_vec_clear(m, K);
    *out = e;
    return st;
}

/* f(s) = s mu_1(q*(s)) - 1 */
static dw_status crit_f(const dw_act *act, double sw2, double sb2, double q0, double *f, double *qs)
{
    dw_status st = dw_spec_fixed_point(act, sw2, sb2, q0, qs);
    if (st) return st;
    double mu1;
    if (*qs > 0) {
        if ((st = dw_spec_V(act, *qs, NULL, &mu1))) return st;
    } else {
        double d, z = 0;
        if ((st = dw_act_eval(act, 1, &z, NULL, &d))) return st;
        mu1 = d * d;
    }
    *f = sw2 * mu1 - 1;
    return DW_OK;
}

dw_status dw_spectrum_criticality(const dw_act *act, double bias_var, double q0, double *weight_var, double *q_star)
{
    if (!act || !weight_var) return dw_fail(DW_ERR_INVALID, "criticality: NULL argument");
    if (!(bias_var >= 0) || !isfinite(bias_var))
        return dw_fail(DW_ERR_INVALID, "criticality: bias variance %g must be finite and >= 0", bias_var);
    if (!(q0 > 0) || !isfinite(q0)) return dw_fail(DW_ERR_INVALID, "criticality: q0 = %g must be finite and > 0", q0);
    dw_status st;
    double qs = q0;
    if (dw_act_homogeneous(act) || act->fam == DW_FAM_IDENTITY) {
        double V, mu1;
        if ((st = dw_spec_V(act, 1.0, &V, &mu1))) return st;
        if (mu1 == 0)
            return dw_fail(DW_ERR_RANGE, "criticality: %s has phi' = 0 almost everywhere: m_1 = 0 for every weight "
                           "variance", act->name);
        if (bias_var > 0 && act->fam != DW_FAM_STEP)
            return dw_fail(DW_ERR_RANGE, "criticality: for %s the edge of chaos is weight variance %.17g, where the "
                           "variance grows without bound when the bias variance (%g) is > 0: no fixed point",
                           act->name, 1 / mu1, bias_var);
        *weight_var = 1 / mu1;
        if (q_star) *q_star = qs;
        return DW_OK;
    }
    if (bias_var == 0) {
        /* phi(0) = 0: q* = 0 is a fixed point, and the edge of chaos is sigma_w^2 phi'(0)^2 = 1 there */
        double z = 0, p0, d0;
        if ((st = dw_act_eval(act, 1, &z, &p0, &d0))) return st;
        if (p0 == 0) {
            if (d0 == 0)
                return dw_fail(DW_ERR_RANGE, "criticality: %s has phi(0) = phi'(0) = 0: at bias variance 0 the "
                               "fixed point q* = 0 has m_1 = 0 for every weight variance", act->name);
            *weight_var = 1 / (d0 * d0);
            if (q_star) *q_star = 0;
            return DW_OK;
        }
    }
    double lo = 1e-4, hi = 1e-4, flo, fhi, qlo, qhi;
    if ((st = crit_f(act, lo, bias_var, q0, &flo, &qlo))) return st;
    if (flo > 0)
        return dw_fail(DW_ERR_RANGE, "criticality: m_1 > 1 already at weight variance %g (bias variance %g)", lo,
                       bias_var);
    fhi = flo;
    while (fhi <= 0) {
        lo = hi;
        flo = fhi;
        hi *= 2;
        if (hi > 1e8)
            return dw_fail(DW_ERR_RANGE, "criticality: m_1 stays below 1 for weight variances up to 1e8 (bias "
                           "variance %g)", bias_var);
        if ((st = crit_f(act, hi, bias_var, q0, &fhi, &qhi))) return st;
    }
    for (int it = 0; it < 200 && hi - lo > 4e-16 * hi; it++) {
        /* Illinois-free: bisection in the log with a secant guess when it lands inside */
        double mid = lo - flo * (hi - lo) / (fhi - flo);
        if (!(mid > lo && mid < hi) || it % 3 == 2) mid = 0.5 * (lo + hi);
        double fm, qm;
        if ((st = crit_f(act, mid, bias_var, q0, &fm, &qm))) return st;
        if (fm == 0) {
            lo = hi = mid;
            qhi = qm;
            break;
        }
        if (fm < 0) lo = mid, flo = fm;
        else hi = mid, fhi = fm, qhi = qm;
    }
    *weight_var = fabs(fhi) < fabs(flo) ? hi : lo;
    if ((st = crit_f(act, *weight_var, bias_var, q0, &fhi, &qhi))) return st;
    if (q_star) *q_star = qhi;
    return DW_OK;
}

dw_status dw_spec_check_law(const dw_net *net)
{
    const dw_law law = dw_net_law(net);
    if (law.kind == DW_LAW_COMPLEX_GAUSSIAN)
        return dw_fail(DW_ERR_INVALID, "law: complex-gaussian weights: the Jacobian spectrum is for real networks; "
                                       "use gaussian, rademacher, uniform, student-t:NU, sparse:P or orthogonal");
    if (law.kind == DW_LAW_ORTHOGONAL && net->gaussian_input_layer)
        return dw_fail(DW_ERR_INVALID, "gaussian_input_layer: the orthogonal limit needs every layer orthogonal");
    return DW_OK;
}
