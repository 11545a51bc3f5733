/* The finite-width driver (theory.md 1.6): per point the single-input recursion (and, for generic activations,
 * the Hermite coefficients of every product phi^i phi'^j at each layer's variance, reused by all pairs of that
 * point), then per pair the two-input recursion; rows are dw_par_for items, so results do not depend on the thread
 * count. */
#include "finite/gram.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/par.h"
#include "gauss/gauss.h"
#include "net/net.h"

typedef struct job {
    const dw_act *act;
    int closed;          /* relu family in closed form */
    double alpha, lam;
    int L;
    const dw_fw_layer *lay; /* lay[0]: layer 1; lay[l]: the step l -> l + 1 */
    const double *X, *Y;
    size_t n, m, d;
    int sym;
    dw_fw_coefs *coefs;  /* series route: point p (X then Y), layer l = 1..L at [p * L + l - 1] */
    double *diag;        /* sym: per point the outputs of (x, x) */
    double *out;
    double *err;         /* per item (points, then rows) */
    double *nlim;        /* per row: its pairs answered from the degenerate limit (run_near) */
    size_t row0;         /* the block of rows dw_par_for runs: item k is row row0 + k */
    dw_fw_vecs *vecs;    /* series route: per worker, L x-side vectors (one per layer) and one y-side */
} job;

/* the largest relative error bound accepted on a pair's outputs from the relu family's closed form (each output
 * relative to its kernel's scale: K, Theta, K^2, Theta^2): the running bound of dw_fw_state_bound_step, which grows
 * like eps / theta^3 for nearly parallel pairs (the contraction of moments diverging like sin^-3 theta with
 * fluctuation tensors whose compensating components are carried only to the rounding of their largest entries).
 * A pair over it in double is run again in __float128; one over it there is refused. */
#define DW_FW_CLOSED_MAX_ERR 1e-9

/* below this layer angle a relu-family pair over the bound in double goes to the degenerate limit (near.c) without
 * the 128-bit rerun, whose bound (~2e-12 at depth 4 here, growing like theta^-3) the limit beats */
#define DW_FW_NEAR_ANGLE 1e-6

/* the largest relative error estimate accepted on a pair's outputs from the Mehler series (each output relative to
 * its scale, as above): the running bound of dw_fw_state_bound_step fed with each moment's error estimate (the
 * coefficients' quadrature errors, the series' truncation, rounding). Kinked products (abs written as an
 * expression, clamps) have slowly decaying coefficients whose derivative moments the series sums only thanks to
 * rho^k: such pairs are refused rather than returned inaccurate. */
#define DW_FW_SERIES_MAX_ERR 1e-6

static const dw_fw_coefs *coefs_of(const job *J, size_t p, int l) { return &J->coefs[p * (size_t)J->L + l - 1]; }

static dw_status finite_outputs(const double out[])
{
    for (int k = 0; k < DW_FW_COUNT; k++)
        if (!isfinite(out[k]))
            return dw_fail(DW_ERR_RANGE, "finite-width corrections: %s is not finite (%g): the network's variances "
                                         "overflow at this depth", dw_finite_quantity_name(k), out[k]);
    return DW_OK;
}

static double homogeneous_scale(const job *J, const double *x, const double *y);
static dw_status run(const job *J, int m, const double *x, const double *y, size_t p, size_t q, double out[],
                     double *err, dw_fw_vecs *vx);

/* A relu-family pair too close to a degenerate one for the 128-bit rerun (near.c): the degenerate point y0 nearest
 * y among t x (t = <x, y> / <x, x>), x and -x whose pair (x, y0) follows from the single input by positive
 * homogeneity, its outputs, then the extrapolation along the segment y0 -> y. DW_ERR_RANGE (no message) if there is
 * no such point or the bound is not met. */
static dw_status run_near(const job *J, const double *x, const double *y, size_t p, double out[], double *rel)
{
    const size_t d = J->d;
    double xx = 0.0, xy = 0.0;
    for (size_t k = 0; k < d; k++) xx += x[k] * x[k], xy += x[k] * y[k];
    if (!(xx > 0)) return DW_ERR_RANGE;
    double *buf = dw_alloc(3 * d, sizeof(double), "finite-width nearly parallel pair");
    if (!buf) return DW_ERR_NOMEM;
    double *y0 = buf, *yc = buf + d, *yk = buf + 2 * d, best = INFINITY, t = 0.0;
    const double cand[3] = {xy / xx, 1.0, -1.0};
    for (int c = 0; c < 3; c++) {
        double dist = 0.0;
        for (size_t k = 0; k < d; k++) {
            yc[k] = cand[c] * x[k];
            dist += (y[k] - yc[k]) * (y[k] - yc[k]);
        }
        const double tc = homogeneous_scale(J, x, yc);
        if (tc != 0.0 && dist < best) {
            best = dist;
            t = tc;
            memcpy(y0, yc, d * sizeof(double));
        }
    }
    double o0[DW_FW_COUNT], e0 = 0.0;
    dw_status st = t == 0.0 ? DW_ERR_RANGE : run(J, 1, x, x, p, p, o0, &e0, NULL);
    if (st) {
        free(buf);
        return st;
    }
    for (int k = 0; k < DW_FW_COUNT; k++) {
        int second = k == DW_FW_NNGP_VAR || k == DW_FW_NTK_VAR || k == DW_FW_NNGP_COV || k == DW_FW_NTK_COV ||
                     k == DW_FW_KAPPA4;
        o0[k] *= second ? t * t : t;
    }
    st = dw_fw_relu_near(J->alpha, J->lam, J->L, J->lay, x, y, y0, d, o0, e0, yk, out, rel);
    free(buf);
    if (st) return st;
    return *rel <= DW_FW_CLOSED_MAX_ERR ? DW_OK : DW_ERR_RANGE;
}

/* One recursion through the layers; p, q: the points' indices into coefs (q == p for m = 1); vx: the worker's
 * series vectors (series route only), their x side reset to point p. */
static dw_status run(const job *J, int m, const double *x, const double *y, size_t p, size_t q, double out[],
                     double *err, dw_fw_vecs *vx)
{
    if (J->closed && m == 2) { /* a pair of the relu family: double, else __float128, else the degenerate limit */
        double rel, ang;
        int at;
        dw_status st = dw_fw_relu_pair(J->alpha, J->lam, J->L, J->lay, x, y, J->d, out, &rel, &ang, &at);
        if (st == DW_ERR_RANGE) { /* the layer angle rounds to 0 in double (unequal norms): the degenerate limit */
            st = DW_OK;
            rel = INFINITY;
            ang = 0.0;
            at = 0;
        }
        if (!st && !(rel <= DW_FW_CLOSED_MAX_ERR) && ang >= DW_FW_NEAR_ANGLE)
            st = dw_fw_relu_pair_q(J->alpha, J->lam, J->L, J->lay, x, y, J->d, out, &rel, &ang, &at);
        if (st) return st;
        if (!(rel <= DW_FW_CLOSED_MAX_ERR)) {
            double o[DW_FW_COUNT], r = INFINITY;
            st = run_near(J, x, y, p, o, &r);
            if (st && st != DW_ERR_RANGE) return st;
            if (!st) {
                memcpy(out, o, sizeof o);
                rel = r;
                J->nlim[p]++;
            }
        }
        if (rel > *err) *err = rel;
        if (!(rel <= DW_FW_CLOSED_MAX_ERR))
            return dw_fail(DW_ERR_RANGE,
                           "finite-width corrections: inputs %zu and %zu are nearly parallel (angle %.3g at layer %d): "
                           "the error bound of the relu family's corrections reaches %.2g relative there even in "
                           "128-bit arithmetic and from the degenerate limit (above %g: the Gaussian moments diverge "
                           "like sin^-3 of the angle and their contraction cancels; theory.md 1.6, pitfall 1)",
                           p + 1, (J->sym ? q : q - J->n) + 1, ang, at, rel, DW_FW_CLOSED_MAX_ERR);
        return finite_outputs(out);
    }
    dw_fw_state s, e; /* e: the running error bound (series route) */
    dw_fw_prim P, E;
    dw_fw_state_init(&s, m, x, y, J->d, &J->lay[0]);
    e = s;
    double *ev = &e.K[0][0];
    for (int k = 0; k < DW_FW_STATE_N; k++) ev[k] = fabs(ev[k]) * (double)(J->d + 2) * DBL_EPSILON; /* the inputs' dot products */
    for (int l = 1; l <= J->L; l++) {
        const double a = s.K[0][0], b = s.K[m - 1][m - 1], c = s.K[0][m - 1];
        dw_status st;
        if (J->closed) {
            dw_fw_relu R = {.alpha = J->alpha, .lam = J->lam, .a = a, .b = b, .c = c, .m = 1}; /* one input */
            st = dw_fw_relu_prepare(&R, l > 1);
            if (!st) st = dw_fw_prim_fill(m, l > 1, dw_fw_relu_moment, &R, &P, NULL);
            if (!st) dw_fw_state_bound_step(&e, &s, &P, 32 * DBL_EPSILON, NULL, &J->lay[l]);
        } else {
            double rho = 1.0, sr;
            if (m == 2) dw_corr(a, b, c, &rho, &sr);
            /* vx[l - 1]: point p's x-side vectors at layer l (the caller resets them; kept along a row); vx[L]: the
             * y side of this pair (for one input: the same point, rho = 1, where only the constant is used) */
            dw_fw_vecs *vy = &vx[J->L];
            dw_fw_vecs_reset(vy, coefs_of(J, q, l), rho);
            dw_fw_series2 S2 = {&vx[l - 1], vy};
            st = dw_fw_prim_fill(m, l > 1, dw_fw_series2_moment, &S2, &P, &E);
            if (!st) dw_fw_state_bound_step(&e, &s, &P, 4 * DBL_EPSILON, &E, &J->lay[l]);
        }
        if (st) return st;
        dw_fw_state_step(&s, &P, &J->lay[l]);
    }
    const double rel = dw_fw_state_rel_bound(&s, &e);
    if (rel > *err) *err = rel;
    if (!J->closed && !(rel <= DW_FW_SERIES_MAX_ERR)) {
        size_t qy = J->sym ? q : q - J->n;
        if (m == 1) qy = p % J->n;
        return dw_fail(DW_ERR_RANGE,
                       "finite-width corrections: activation %s: the Mehler series reaches only %.2g relative accuracy "
                       "on inputs %zu and %zu (above %g): %s",
                       J->act->name, rel, p % J->n + 1, qy + 1, DW_FW_SERIES_MAX_ERR,
                       J->act->fam == DW_FAM_GENERIC && J->act->nkinks > 0
                           ? "a kinked activation's derivative moments converge only like rho^k, too slowly at this "
                             "correlation (theory.md 1.6)"
                           : "its Hermite coefficients do not converge (a kink not located in the expression? write "
                             "kinks with abs, max, min or relu)");
    }
    dw_fw_state_outputs(&s, out);
    return finite_outputs(out);
}

/* Item p < n + m': point p's coefficients at every layer (series route) and, for X against itself, its
 * single-input outputs. */
static dw_status point_item(void *ctx, size_t p, int tid)
{
    job *J = ctx;
    const double *x = p < J->n ? J->X + p * J->d : J->Y + (p - J->n) * J->d;
    if (!J->closed) {
        /* the variances K^l(x, x) by the single-input recursion's leading order, the coefficients at each */
        double q = J->lay[0].cb, dot = 0.0;
        for (size_t k = 0; k < J->d; k++) dot += x[k] * x[k];
        q += J->lay[0].cw * dot / (double)J->d;
        for (int l = 1; l <= J->L; l++) {
            if (!(q > 0) || !isfinite(q))
                return dw_fail(DW_ERR_RANGE, "finite-width corrections: K(x, x) = %g at layer %d for input row %zu "
                                             "(a variance must be positive and finite)", q, l, p % J->n + 1);
            dw_fw_coefs *c = &J->coefs[p * (size_t)J->L + l - 1];
            dw_status st = dw_fw_coefs_compute(J->act, q, c);
            if (st) return st;
            q = J->lay[l].cb + J->lay[l].cw * c->c[dw_fw_fidx(2, 0)][0];
        }
    }
    if (J->sym) {
        double e = 0.0;
        dw_fw_vecs *vx = J->vecs ? J->vecs + (size_t)tid * (J->L + 1) : NULL;
        for (int l = 1; vx && l <= J->L; l++) dw_fw_vecs_reset(&vx[l - 1], coefs_of(J, p, l), 1.0);
        dw_status st = run(J, 1, x, x, p, p, J->diag + p * DW_FW_COUNT, &e, vx);
        J->err[p] = e;
        return st;
    }
    return DW_OK;
}

/* Exactly parallel rows of the relu family, y = t x up to the inputs' rounding, where the pair's Gaussians are
 * degenerate (their moments infinite) from the first layer whose derivatives enter: by positive homogeneity,
 * without biases f(t x) = t f(x) for every weight draw (t > 0), so G(x, t x) = t G(x, x), Theta_N(x, t x) =
 * t Theta_N(x, x), and every output of the pair is t (means) or t^2 (second moments) times that of (x, x). For an even
 * activation (abs: alpha = -1), f(t x) = |t| f(x) also for t < 0, and for y = -x only the first layer's bias must
 * vanish. Returns that factor, or 0 where the rule does not apply (relu and leaky relu at t < 0 are not degenerate
 * after the first layer, which needs no derivative moments). */
static double homogeneous_scale(const job *J, const double *x, const double *y)
{
    size_t k0 = 0;
    for (size_t k = 1; k < J->d; k++)
        if (fabs(x[k]) > fabs(x[k0])) k0 = k;
    if (x[k0] == 0.0) return 0.0;
    const double t = y[k0] / x[k0];
    for (size_t k = 0; k < J->d; k++)
        if (!(fabs(y[k] - t * x[k]) <= 4 * DBL_EPSILON * (fabs(y[k]) + fabs(t * x[k])))) return 0.0;
    if (!(t > 0) && J->alpha != -1.0) return 0.0;
    int bias = 0;
    for (int l = 0; l <= J->L; l++) bias |= J->lay[l].cb != 0.0 || J->lay[l].lb != 0.0;
    if (!bias) return fabs(t);
    int bias1 = J->lay[0].cb != 0.0 || J->lay[0].lb != 0.0;
    /* t = 1: a repeated row up to rounding; t = -1 (abs): f(-x) = f(x) when the first layer has no bias */
    return fabs(t) == 1.0 && (t > 0 || !bias1) ? 1.0 : 0.0;
}

static dw_status row_item(void *ctx, size_t item, int tid)
{
    job *J = ctx;
    const size_t i = J->row0 + item;
    dw_fw_vecs *vx = NULL;
    if (J->vecs) { /* a new row: its x-side vectors are rebuilt on first use */
        vx = J->vecs + (size_t)tid * (J->L + 1);
        for (int l = 1; l <= J->L; l++) dw_fw_vecs_reset(&vx[l - 1], coefs_of(J, i, l), 1.0);
    }
    const size_t n = J->n, m = J->m, nm = n * m;
    const double *x = J->X + i * J->d;
    double o[DW_FW_COUNT], e = 0.0;
    for (size_t j = J->sym ? i : 0; j < m; j++) {
        dw_status st;
        if (J->sym && j == i) {
            memcpy(o, J->diag + i * DW_FW_COUNT, sizeof o);
        } else {
            const double *y = J->sym ? J->X + j * J->d : J->Y + j * J->d;
            size_t q = J->sym ? j : n + j;
            int same = !memcmp(x, y, J->d * sizeof(double));
            double t = same ? 1.0 : J->closed ? homogeneous_scale(J, x, y) : 0.0;
            if ((st = run(J, t != 0.0 ? 1 : 2, x, y, i, t != 0.0 ? i : q, o, &e, vx))) return st;
            if (t != 0.0 && !same)
                for (int k = 0; k < DW_FW_COUNT; k++) {
                    int second = k == DW_FW_NNGP_VAR || k == DW_FW_NTK_VAR || k == DW_FW_NNGP_COV ||
                                 k == DW_FW_NTK_COV || k == DW_FW_KAPPA4;
                    o[k] *= second ? t * t : t;
                }
        }
        for (int k = 0; k < DW_FW_COUNT; k++) {
            J->out[k * nm + i * m + j] = o[k];
            if (J->sym) J->out[k * nm + j * m + i] = o[k];
        }
    }
    J->err[J->n + (J->sym ? 0 : J->m) + i] = e;
    return DW_OK;
}

dw_status dw_finite_gram(const dw_net *net, const dw_finite_opts *o, const double *X, size_t n, const double *Y,
                         size_t m, size_t d, double *out, dw_finite_info *info)
{
    const char *who = "finite-width corrections";
    if (!net || !X || !out) return dw_fail(DW_ERR_INVALID, "%s: NULL argument", who);
    if (n == 0 || d == 0 || (Y && m == 0)) return dw_fail(DW_ERR_INVALID, "%s: empty input (n = %zu, d = %zu)", who, n, d);
    dw_net_fc fc;
    dw_status st = dw_net_fc_view(net, who, 1, DW_NET_RANDOM, &fc);
    if (st) return st;
    const int standard = net->param == DW_PARAM_STANDARD;
    const double N = o ? o->width : 0.0;
    if (standard && !(N > 0))
        return dw_fail(DW_ERR_INVALID, "%s: the standard parameterisation needs the width N (its NTK scales with the "
                                       "hidden widths n_l = c_l N)", who);
    double kap = 0.0;
    if ((st = dw_law_kappa4(&net->law, &kap))) return st;
    if (kap != 0.0 && !net->gaussian_input_layer) {
        char buf[64];
        return dw_fail(DW_ERR_INVALID, "%s: law %s in the first layer (fan-in d = %zu, fixed) keeps h^1 non-Gaussian "
                                       "at every width, an effect of order kappa_4 / d that is not a 1/N correction: "
                                       "draw layer 1 Gaussian (gaussian_input_layer, as in deepwick.sample)", who,
                       dw_law_format(&net->law, buf, sizeof buf), d);
    }
    if (fc.depth > 0 && fc.act->fam == DW_FAM_STEP)
        return dw_fail(DW_ERR_INVALID, "%s: activation %s has no derivative as a function (phi' is a delta), so "
                                       "its NTK is not defined", who, fc.act->name);
    if ((st = dw_core_check_points("x", X, n, d)) || (Y && (st = dw_core_check_points("y", Y, m, d)))) return st;
    const int L = fc.depth;
    dw_fw_layer lay[L + 1];
    double wv[L + 1], bv[L + 1], wd[L + 1];
    dw_net_dense_values(net, 0, wv);
    dw_net_dense_values(net, 1, bv);
    dw_net_dense_values(net, 2, wd);
    if (wd[L] > 1)
        return dw_fail(DW_ERR_INVALID, "%s: one output unit only (out_dim = %.0f): with several, the NTK's "
                                       "between-output terms are not reported yet", who, wd[L]);
    for (int l = 0; l <= L; l++) {
        lay[l] = (dw_fw_layer){wv[l], bv[l], wv[l], bv[l], 1.0, l > 0 ? kap : 0.0};
        if (l > 0 && wd[l - 1] > 0) lay[l].c = wd[l - 1];
        if (standard) { /* derivatives in W and b themselves: n_{l-1} <a, a> / n_{l-1} and 1 per biased layer */
            lay[l].lw = l == 0 ? (double)d : lay[l].c * N;
            lay[l].lb = bv[l] > 0 ? 1.0 : 0.0;
        }
    }
    job J = {.act = fc.act, .L = L, .lay = lay, .X = X, .Y = Y, .n = n, .m = Y ? m : n, .d = d, .sym = Y == NULL,
             .out = out};
    J.closed = L == 0 || fc.act->fam == DW_FAM_RELU || fc.act->fam == DW_FAM_IDENTITY;
    J.alpha = L == 0 ? 1.0 : fc.act->fam == DW_FAM_RELU ? fc.act->alpha : 1.0;
    J.lam = 1.0;
    if (L > 0 && fc.act->fam == DW_FAM_GENERIC && dw_act_relu_form(fc.act, &J.alpha, &J.lam)) J.closed = 1;
    const size_t npts = n + (Y ? J.m : 0), threads = o ? (size_t)o->threads : 0;
    J.err = dw_calloc(npts + 2 * n, sizeof(double), "finite-width error estimates");
    if (!J.err) return DW_ERR_NOMEM;
    J.nlim = J.err + npts + n;
    if (!J.closed && !(J.coefs = dw_alloc(npts * (size_t)L, sizeof(dw_fw_coefs), "finite-width Hermite coefficients"))) {
        free(J.err);
        return DW_ERR_NOMEM;
    }
    if (J.sym && !(J.diag = dw_alloc(n, DW_FW_COUNT * sizeof(double), "finite-width diagonal"))) {
        free(J.err);
        free(J.coefs);
        return DW_ERR_NOMEM;
    }
    st = DW_OK;
    if (!J.closed && L > 0) { /* per worker of either loop: L x-side vectors and one y side */
        const size_t workers = (size_t)dw_par_workers(npts > n ? npts : n, (int)threads);
        if (!(J.vecs = dw_calloc(workers * (size_t)(L + 1), sizeof(dw_fw_vecs), "finite-width series vectors")))
            st = DW_ERR_NOMEM;
    }
    if (!st) st = dw_par_for(npts, (int)threads, point_item, &J);
    /* rows in blocks of about 1/64 of the pairs, so that progress is reported from the calling thread */
    const double total = J.sym ? 0.5 * (double)n * (double)(n + 1) : (double)n * (double)J.m;
    double done = 0.0;
    for (size_t r0 = 0; r0 < n && !st;) {
        size_t r1 = r0;
        double pairs = 0.0;
        while (r1 < n && (r1 == r0 || pairs < total / 64)) {
            pairs += J.sym ? (double)(n - r1) : (double)J.m;
            r1++;
        }
        J.row0 = r0;
        st = dw_par_for(r1 - r0, (int)threads, row_item, &J);
        done += pairs;
        r0 = r1;
        if (!st && o && o->progress && o->progress(o->progress_ctx, done, total))
            st = dw_fail(DW_ERR_INVALID, "finite-width corrections: cancelled by the progress callback");
    }
    if (!st && info) {
        const size_t nm = n * J.m;
        double fn = 0.0, ft = 0.0, e = 0.0, lim = 0.0;
        for (size_t k = 0; k < nm; k++) {
            fn += out[DW_FW_NNGP_VAR * nm + k];
            ft += out[DW_FW_NTK_VAR * nm + k];
        }
        for (size_t k = 0; k < npts + n; k++) e = fmax(e, J.err[k]);
        for (size_t k = 0; k < n; k++) lim += J.nlim[k];
        info->frob_nngp = fn;
        info->frob_ntk = ft;
        info->moment_error = e;
        size_t pairs = J.sym ? n * (n + 1) / 2 : nm;
        info->pairs_closed = J.closed ? pairs : 0;
        info->pairs_series = J.closed ? 0 : pairs;
        info->pairs_limit = (size_t)lim;
        info->method = J.closed ? "closed form (quadrant moments of the relu family, Stein form)"
                                : "Mehler series of Hermite coefficients of the products phi^i phi'^j (Stein shifts)";
    }
    free(J.err);
    free(J.coefs);
    free(J.diag);
    free(J.vecs);
    return st;
}
