/* The kernel plan (theory.md 1.2-1.3): for every input point and layer the diagonal recursion K^l(x, x) and the
 * per-point factors the sweeps need, computed once and read by every tile. */
#include "kernels/kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dw_pts dw_kern_pts(const dw_kernel_plan *p, const side *sd, int l)
{
    dw_pts q;
    memset(&q, 0, sizeof q);
    q.a = field(p, sd, l, F_A);
    q.sa = field(p, sd, l, F_SA);
    q.r = field(p, sd, l, F_R);
    q.sp = field(p, sd, l, F_SP);
    if (l < p->depth) {
        q.sa1 = field(p, sd, l + 1, F_SA);
        q.ih1 = field(p, sd, l + 1, F_IH);
    }
    if (p->act->fam == DW_FAM_POLY) {
        q.pk = field(p, sd, l, F_POLY);
        q.qk = field(p, sd, l, F_POLY + (size_t)p->act->deg + 1);
        q.stride = sd->np;
    }
    if (p->act->fam == DW_FAM_GENERIC) {
        q.pk = field(p, sd, l, F_POLY);
        q.qk = field(p, sd, l, GEN_B);
        q.gb = field(p, sd, l, GEN_GB);
        q.ih = field(p, sd, l, F_IH);
        q.stride = sd->np;
    }
    return q;
}

dw_step dw_kern_step(const dw_kernel_plan *p, int l, int ntk)
{
    dw_step st;
    memset(&st, 0, sizeof st);
    st.fam = p->act->fam;
    st.alpha = p->act->alpha;
    st.w = p->w[l + 1];
    st.beta = p->beta[l + 1];
    st.ntk = ntk;
    st.standard = p->standard;
    st.fan_in = p->standard ? p->fan_in[l + 1] : 0.0;
    st.has_bias = p->beta[l + 1] > 0 ? 1.0 : 0.0;
    st.deg = p->act->fam == DW_FAM_GENERIC ? p->kl[l] : p->act->deg;
    st.budget = GEN_TRUNC * p->target;
    return st;
}

/* Fill the per-point fields of layer l from its variances (field F_A), for points [0, n) and the padding. The
 * output layer (l = depth) has no activation: the readout only scales the kernel, so nothing of phi is evaluated
 * at its variance K^{L+1}(x, x) (only sqrt and its inverse, which the layer before reads). */
static void fill_layer(const dw_kernel_plan *p, side *sd, int l)
{
    double *a = field(p, sd, l, F_A), *sa = field(p, sd, l, F_SA), *ih = field(p, sd, l, F_IH);
    double *r = field(p, sd, l, F_R), *sp = field(p, sd, l, F_SP);
    for (size_t i = 0; i < sd->np; i++) {
        sa[i] = sqrt(a[i]);
        ih[i] = a[i] > 0 ? 1.0 / sa[i] : 0.0;
        if (l == p->depth) {
            r[i] = sp[i] = 0.0;
            continue;
        }
        double m2;
        dw_act_point(p->act, a[i], &r[i], &m2);
        sp[i] = sqrt(p->w[l + 1] * m2);
        if (p->act->fam == DW_FAM_POLY)
            dw_act_poly_point(p->act, a[i], field(p, sd, l, F_POLY) + i,
                              field(p, sd, l, F_POLY + (size_t)p->act->deg + 1) + i, sd->np);
    }
}

static dw_status side_init(dw_kernel_plan *p, side *sd, const double *x, size_t n, const char *name)
{
    const size_t d = p->d;
    sd->x = x;
    sd->n = n;
    sd->np = n + DW_PAD;
    dw_status st = dw_core_check_points(name, x, n, d);
    if (st) return st;
    sd->f = dw_alloc((size_t)(p->depth + 1) * p->nf * sd->np, sizeof(double), "per-point kernel fields");
    if (!sd->f) return DW_ERR_NOMEM;
    /* Layer 1 variances; padding points get variance 1 (safe values, never read back). */
    double *a = field(p, sd, 0, F_A);
    const double wd = p->w[0] / (double)d;
    for (size_t i = 0; i < sd->np; i++) {
        double nrm = 1.0;
        if (i < n) {
            nrm = 0.0;
            for (size_t k = 0; k < d; k++) nrm += x[i * d + k] * x[i * d + k];
            nrm = wd * nrm + p->beta[0];
        }
        a[i] = nrm;
    }
    if (dw_act_homogeneous(p->act) || (p->act->fam == DW_FAM_GENERIC && p->act->nkinks > 0)) {
        sd->fx = dw_alloc(2 * sd->np, sizeof(double), "per-point input factors");
        if (!sd->fx) return DW_ERR_NOMEM;
        for (size_t i = 0; i < sd->np; i++) {
            double s = sqrt(a[i]);
            sd->fx[2 * i] = s > 0 ? sqrt(wd) / s : 0.0;
            sd->fx[2 * i + 1] = s > 0 ? sqrt(p->beta[0]) / s : 0.0;
        }
    }
    for (int l = 0; l <= p->depth; l++) {
        fill_layer(p, sd, l);
        if (l == p->depth) {
            if (p->act->fam == DW_FAM_GENERIC) dw_kern_bound_fields(p, sd);
            break;
        }
        if (p->act->fam == DW_FAM_GENERIC) {
            dw_status st = dw_kern_generic_layer(p, sd, l, name);
            if (st) return st;
            continue;
        }
        double *an = field(p, sd, l + 1, F_A);
        if (dw_act_homogeneous(p->act)) {
            const double *sp = field(p, sd, l, F_SP);
            for (size_t i = 0; i < sd->np; i++) an[i] = sp[i] * sp[i] + p->beta[l + 1];
        } else {
            /* Diagonal of the smooth recursion: the sweep on the pair (x, x), so it matches the tiles. */
            dw_pts q = dw_kern_pts(p, sd, l);
            dw_step st = dw_kern_step(p, l, 0);
            for (size_t i = 0; i < sd->np - 4; i++) {
                double c[4] = {q.a[i], q.a[i], q.a[i], q.a[i]};
                p->impl->smooth(&st, 1, &q, i, &q, i, NULL, NULL, c, NULL);
                an[i] = c[0];
            }
            for (size_t i = sd->np - 4; i < sd->np; i++) an[i] = 1.0;
        }
        for (size_t i = 0; i < n; i++)
            if (!isfinite(an[i]))
                return dw_fail(DW_ERR_RANGE,
                               "kernel overflows: K(x, x) of %s row %zu is not finite at layer %d (activation %s); "
                               "reduce the depth or the variances",
                               name, i + 1, l + 2, p->act->name);
    }
    return DW_OK;
}

void dw_kernel_plan_clear(dw_kernel_plan *p)
{
    if (!p) return;
    free(p->kl);
    free(p->stats);
    dw_kern_cache_free(p->cache);
    free(p->w);
    free(p->beta);
    free(p->fan_in);
    free(p->X.f);
    free(p->X.fx);
    if (!p->symmetric) {
        free(p->Y.f);
        free(p->Y.fx);
    }
    free(p);
}

/* Depth 0 (the linear model K^1) applies no activation: the plan then carries this one, never evaluated. */
static const dw_act linear = {.fam = DW_FAM_IDENTITY, .alpha = 1.0, .d0 = 1.0, .name = "identity",
                              .method = "closed form (depth 0: the linear model, no activation)"};

size_t dw_kern_nfields(const dw_act *act)
{
    if (act->fam == DW_FAM_GENERIC) return GEN_NF;
    return F_POLY + (act->fam == DW_FAM_POLY ? 2 * ((size_t)act->deg + 1) : 0);
}

/* The network's shape and what this computation needs of it beyond dw_net's own checks. */
static dw_status check_net(const dw_net *net, dw_net_fc *fc)
{
    dw_status s = dw_net_fc_view(net, "kernel", 1, DW_NET_RANDOM, fc);
    if (s) return s;
    if (fc->act && dw_act_check_generic(fc->act)) return DW_ERR_INVALID;
    if (net->param == DW_PARAM_STANDARD)
        for (int l = 0; l < fc->depth; l++)
            if (!(dw_net_dense(net, (size_t)l)->width > 0))
                return dw_fail(DW_ERR_INVALID, "width: the standard parameterisation needs the hidden width(s)");
    return DW_OK;
}

dw_status dw_kern_check(const dw_net *net, dw_net_fc *fc, const dw_act **act)
{
    dw_status s = check_net(net, fc);
    if (s) return s;
    *act = fc->depth > 0 ? fc->act : &linear;
    return DW_OK;
}

/* An expression that is exactly lam (alpha z + (1 - alpha) relu(z)) (max(z, 0.1*z), abs(z), 2*relu(z), ...) takes
 * the relu family's closed form, lam^2 folded into the variances of the layers after an activation (and into the
 * standard parameterisation's fan-ins): the same Gaussian expectations without truncation or quadrature, and an
 * angle state that stays exact for near-duplicate inputs, where the generic route loses ~eps/theta of the angle at
 * every layer (issue 21). Not where a layer-1 variance is 0 (a zero input without bias): there the two routes'
 * conventions for E[phi'(0) phi'(v)] differ, and the expression keeps its generic one. DW_GENERIC_ONLY=1 in the
 * environment turns this off (tests check the generic route against the closed forms with it). */
static void relu_view(dw_kernel_plan *p, const dw_net *net, const double *X, size_t n, const double *Y, size_t m,
                      size_t d)
{
    double alpha, lam;
    p->lam2 = 1.0;
    if (p->depth < 1 || !dw_act_relu_form(p->act, &alpha, &lam)) return;
    const char *env = getenv("DW_GENERIC_ONLY"); /* tests: keep the generic route, to check it on these phi */
    if (env && env[0] == '1') return;
    const double b0 = dw_net_dense(net, 0)->bias_var, wd = dw_net_dense(net, 0)->weight_var / (double)d;
    if (!(b0 > 0)) /* the layer-1 variances as side_init forms them */
        for (int side = 0; side < 2; side++) {
            const double *Z = side ? Y : X;
            const size_t nz = side ? m : n;
            for (size_t i = 0; Z && i < nz; i++) {
                double nrm = 0.0;
                for (size_t k = 0; k < d; k++) nrm += Z[i * d + k] * Z[i * d + k];
                if (!(wd * nrm + b0 > 0)) return;
            }
        }
    p->relu_view = *p->act;
    p->relu_view.fam = DW_FAM_RELU;
    p->relu_view.alpha = alpha;
    p->relu_view.d0 = 1.0;
    p->relu_view.method = "closed form (arc-cosine): the expression is lam (alpha z + (1 - alpha) relu(z))";
    p->lam2 = lam * lam;
    p->act = &p->relu_view;
}

dw_status dw_kernel_plan_init(dw_kernel_plan **out, const dw_net *net, const dw_kernel_opts *o, const double *X,
                              size_t n, const double *Y, size_t m, size_t d)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel: NULL plan output");
    *out = NULL;
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (s) return s;
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    dw_kernel_plan *p = dw_calloc(1, sizeof *p, "kernel plan");
    if (!p) return DW_ERR_NOMEM;
    p->depth = fc.depth;
    p->act = act;
    relu_view(p, net, X, n, Y, m, d);
    act = p->act;
    p->d = d;
    p->standard = net->param == DW_PARAM_STANDARD;
    p->all_layers = o ? o->all_layers : 0;
    p->symmetric = Y == NULL;
    p->impl = dw_sweep_select();
    p->nf = dw_kern_nfields(act);
    p->threads = o ? o->threads : 0;
    size_t L1 = (size_t)p->depth + 1;
    if (act->fam == DW_FAM_GENERIC) {
        p->target = DW_DUAL_TARGET;
        p->kl = dw_calloc(L1, sizeof(int), "series orders");
        p->stats = dw_calloc(1, sizeof(gen_stats), "kernel statistics");
        p->cache = dw_calloc(1, sizeof(gen_cache), "Hermite node cache");
        if (!p->kl || !p->stats || !p->cache) {
            dw_kernel_plan_clear(p);
            return DW_ERR_NOMEM;
        }
    }
    p->w = dw_alloc(L1, sizeof(double), "layer variances");
    p->beta = dw_alloc(L1, sizeof(double), "layer variances");
    p->fan_in = dw_alloc(L1, sizeof(double), "layer widths");
    if (!p->w || !p->beta || !p->fan_in) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t l = 0; l < L1; l++) {
        const dw_net_layer *dl = dw_net_dense(net, l);
        p->w[l] = dl->weight_var;
        p->beta[l] = dl->bias_var;
        p->fan_in[l] = l == 0 ? (double)d : p->standard ? dw_net_dense(net, l - 1)->width : 0.0;
        if (l > 0 && p->lam2 != 1.0) { /* E[phi phi] and E[phi' phi'] of lam psi are lam^2 those of psi */
            p->w[l] *= p->lam2;
            p->fan_in[l] *= p->lam2;
        }
    }
    s = side_init(p, &p->X, X, n, "X");
    if (!s) {
        if (p->symmetric)
            p->Y = p->X;
        else
            s = side_init(p, &p->Y, Y, m, "Y");
    }
    if (s) {
        dw_kernel_plan_clear(p);
        return s;
    }
    if (act->fam == DW_FAM_GENERIC) dw_kern_generic_orders(p);
    *out = p;
    return DW_OK;
}
