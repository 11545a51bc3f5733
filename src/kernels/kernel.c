/* NNGP / NTK Gram matrices (MATH.md 1.2-1.3): plans, tiles and the threaded driver.
 *
 * A plan holds, for every input point and layer, the diagonal recursion K^l(x, x) and the per-point factors the
 * sweeps need. A tile computes X_I Y_J^T with OpenBLAS, the first layer, then runs all layers on the tile while
 * it sits in cache (no Gram-sized temporaries). The driver hands tiles to OpenMP threads; each entry depends only
 * on its own inputs, so results are bit-identical for any thread count or tiling.
 */
#include "act/act.h"
#include "core/internal.h"
#include "kernels/sweep.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Per-point fields of one layer (see dw_pts). */
enum { F_A, F_SA, F_IH, F_R, F_SP, F_POLY };

typedef struct {
    const double *x; /* n x d inputs (borrowed) */
    size_t n, np;    /* points, padded count */
    double *f;       /* fields: layer l, field k at f + (l * nf + k) * np */
    double *fx;      /* homogeneous: sqrt(w_1/d)/sqrt(a^1) and sqrt(b_1)/sqrt(a^1) per point (refinement) */
} side;

struct dw_kernel_plan {
    int depth;
    const dw_act *act;
    double *w, *beta, *fan_in; /* per layer 0..depth (layer l + 1 of MATH.md) */
    int standard, all_layers;
    size_t d, nf;
    side X, Y;
    int symmetric;
    const dw_sweep_impl *impl;
};

/* Layer-1 pairs this close to collinear (min(s, t) below) get s, t from the inputs directly (Kahan's chord
 * formula) instead of from the rounded K^1(x, y): the angle is then exact to rounding, not to sqrt(rounding). */
#define DW_REFINE_BELOW 0.0625

static double *field(const dw_kernel_plan *p, const side *sd, int layer, size_t k)
{
    return sd->f + ((size_t)layer * p->nf + k) * sd->np;
}

static dw_pts pts_of(const dw_kernel_plan *p, const side *sd, int l)
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
    return q;
}

static dw_step step_of(const dw_kernel_plan *p, int l, int ntk)
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
    st.deg = p->act->deg;
    return st;
}

/* Fill the per-point fields of layer l from its variances (field F_A), for points [0, n) and the padding. */
static void fill_layer(const dw_kernel_plan *p, side *sd, int l)
{
    double *a = field(p, sd, l, F_A), *sa = field(p, sd, l, F_SA), *ih = field(p, sd, l, F_IH);
    double *r = field(p, sd, l, F_R), *sp = field(p, sd, l, F_SP);
    for (size_t i = 0; i < sd->np; i++) {
        sa[i] = sqrt(a[i]);
        ih[i] = a[i] > 0 ? 1.0 / sa[i] : 0.0;
        double m2;
        dw_act_point(p->act, a[i], &r[i], &m2);
        sp[i] = l < p->depth ? sqrt(p->w[l + 1] * m2) : 0.0;
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
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            if (!isfinite(x[i * d + k]))
                return dw_fail(DW_ERR_INVALID, "%s: row %zu, column %zu is not finite (%g)", name, i + 1, k + 1,
                               x[i * d + k]);
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
    if (dw_act_homogeneous(p->act)) {
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
        double *an = l < p->depth ? field(p, sd, l + 1, F_A) : NULL;
        if (!an) break;
        if (dw_act_homogeneous(p->act)) {
            const double *sp = field(p, sd, l, F_SP);
            for (size_t i = 0; i < sd->np; i++) an[i] = sp[i] * sp[i] + p->beta[l + 1];
        } else {
            /* Diagonal of the smooth recursion: the sweep on the pair (x, x), so it matches the tiles. */
            dw_pts q = pts_of(p, sd, l);
            dw_step st = step_of(p, l, 0);
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

static dw_status check_values(const char *what, size_t count, const double *v, size_t need, int positive)
{
    if (count != 1 && count != need)
        return dw_fail(DW_ERR_INVALID, "%s: expected 1 or %zu per-layer values, got %zu", what, need, count);
    if (!v) return dw_fail(DW_ERR_INVALID, "%s: NULL values", what);
    for (size_t k = 0; k < count; k++) {
        if (!isfinite(v[k]) || v[k] < 0 || (positive && v[k] <= 0))
            return dw_fail(DW_ERR_INVALID, "%s: value %zu (%g) must be %s and finite", what, k + 1, v[k],
                           positive ? "positive" : "non-negative");
    }
    return DW_OK;
}

void dw_kernel_opts_init(dw_kernel_opts *o)
{
    static const double one = 1.0, zero = 0.0;
    memset(o, 0, sizeof *o);
    o->n_weight_var = 1;
    o->weight_var = &one;
    o->n_bias_var = 1;
    o->bias_var = &zero;
    o->param = DW_PARAM_NTK;
}

static dw_status validate(const dw_kernel_opts *o, const double *X, size_t d)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "kernel: NULL options");
    if (o->depth < 0) return dw_fail(DW_ERR_INVALID, "depth: must be >= 0 (got %d)", o->depth);
    if (o->depth > 100000) return dw_fail(DW_ERR_INVALID, "depth: %d is above the maximum 100000", o->depth);
    if (!o->act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (!X) return dw_fail(DW_ERR_INVALID, "X: NULL input");
    if (d == 0) return dw_fail(DW_ERR_INVALID, "X: input dimension d must be at least 1");
    size_t need = (size_t)o->depth + 1;
    dw_status s = check_values("weight_var", o->n_weight_var, o->weight_var, need, 0);
    if (s) return s;
    s = check_values("bias_var", o->n_bias_var, o->bias_var, need, 0);
    if (s) return s;
    if (o->param != DW_PARAM_NTK && o->param != DW_PARAM_STANDARD)
        return dw_fail(DW_ERR_INVALID, "param: unknown parameterisation %d", (int)o->param);
    if (o->param == DW_PARAM_STANDARD && o->depth > 0) {
        if (!o->n_width || !o->width)
            return dw_fail(DW_ERR_INVALID, "width: the standard parameterisation needs the hidden width(s)");
        s = check_values("width", o->n_width, o->width, (size_t)o->depth, 1);
        if (s) return s;
    }
    return DW_OK;
}

void dw_kernel_plan_clear(dw_kernel_plan *p)
{
    if (!p) return;
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

dw_status dw_kernel_plan_init(dw_kernel_plan **out, const dw_kernel_opts *o, const double *X, size_t n,
                              const double *Y, size_t m, size_t d)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "kernel: NULL plan output");
    *out = NULL;
    dw_status s = validate(o, X, d);
    if (s) return s;
    dw_kernel_plan *p = dw_calloc(1, sizeof *p, "kernel plan");
    if (!p) return DW_ERR_NOMEM;
    p->depth = o->depth;
    p->act = o->act;
    p->d = d;
    p->standard = o->param == DW_PARAM_STANDARD;
    p->all_layers = o->all_layers;
    p->symmetric = Y == NULL;
    p->impl = dw_sweep_select();
    p->nf = F_POLY + (o->act->fam == DW_FAM_POLY ? 2 * ((size_t)o->act->deg + 1) : 0);
    size_t L1 = (size_t)o->depth + 1;
    p->w = dw_alloc(L1, sizeof(double), "layer variances");
    p->beta = dw_alloc(L1, sizeof(double), "layer variances");
    p->fan_in = dw_alloc(L1, sizeof(double), "layer widths");
    if (!p->w || !p->beta || !p->fan_in) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t l = 0; l < L1; l++) {
        p->w[l] = o->weight_var[o->n_weight_var == 1 ? 0 : l];
        p->beta[l] = o->bias_var[o->n_bias_var == 1 ? 0 : l];
        p->fan_in[l] = l == 0 ? (double)d : p->standard ? o->width[o->n_width == 1 ? 0 : l - 1] : 0.0;
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
    *out = p;
    return DW_OK;
}

/* s = sin^2(theta/2), t = cos^2(theta/2) of the angle between the augmented inputs (sqrt(w/d) x, sqrt(b)) of a
 * nearly parallel (rho > 0) or antiparallel pair, exact to rounding of the inputs: sin^2 theta = |x~ ^ y~|^2/(ab)
 * from the wedge product written as x_k y_l - x_l y_k = m_k e_l - m_l e_k with e = y -+ x (exact by Sterbenz for
 * near-duplicates) and m = (x +- y)/2, or directly where that is more accurate (norms far apart); both forms are
 * symmetric under swapping x and y; then s = sin^2 / (2 (1 + cos)). O(d^2) per
 * refined pair; above DW_WEDGE_MAX_D the O(d) chord |xh - yh|^2 of the normalised vectors is used instead. */
#define DW_WEDGE_MAX_D 256
static void refine_pair(const dw_kernel_plan *p, size_t i, size_t j, double rho, double *s, double *t)
{
    const size_t d = p->d;
    const double *x = p->X.x + i * d, *y = p->Y.x + j * d;
    if (d > DW_WEDGE_MAX_D) {
        const double fi = p->X.fx[2 * i], fj = p->Y.fx[2 * j], bi = p->X.fx[2 * i + 1], bj = p->Y.fx[2 * j + 1];
        double S = (bi - bj) * (bi - bj), T = (bi + bj) * (bi + bj);
        for (size_t k = 0; k < d; k++) {
            double dm = fi * x[k] - fj * y[k], dp = fi * x[k] + fj * y[k];
            S += dm * dm;
            T += dp * dp;
        }
        *s = S / (S + T);
        *t = T / (S + T);
        return;
    }
    const double sg = rho >= 0 ? 1.0 : -1.0, wd = p->w[0] / (double)d, b0 = p->beta[0];
    /* Rounding error of the summands: ~eps |x||y| directly, ~eps |m||e| in the midpoint form; take the smaller. */
    double xx = 0, yy = 0, mm = 0, ee = 0;
    for (size_t k = 0; k < d; k++) {
        const double ek = y[k] - sg * x[k], mk = 0.5 * (x[k] + sg * y[k]);
        xx += x[k] * x[k];
        yy += y[k] * y[k];
        mm += mk * mk;
        ee += ek * ek;
    }
    const int midpoint = mm * ee < xx * yy;
    double wedge = 0.0, bias = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double ek = y[k] - sg * x[k], mk = 0.5 * (x[k] + sg * y[k]);
        for (size_t l = k + 1; l < d; l++) {
            double q;
            if (midpoint) {
                const double el = y[l] - sg * x[l], ml = 0.5 * (x[l] + sg * y[l]);
                q = mk * el - ml * ek;
            } else {
                q = x[k] * y[l] - x[l] * y[k];
            }
            wedge += q * q;
        }
        const double dk = x[k] - y[k]; /* the bias coordinate's wedge components sqrt(wd b) (x_k - y_k) */
        bias += dk * dk;
    }
    const double a = field(p, &p->X, 0, F_A)[i], b = field(p, &p->Y, 0, F_A)[j];
    const double sin2 = fmin((wd * wd * wedge + wd * b0 * bias) / a / b, 1.0);
    const double near = sin2 / (2.0 * (1.0 + fabs(rho)));
    *s = rho >= 0 ? near : 1.0 - near;
    *t = rho >= 0 ? 1.0 - near : near;
}

static dw_status check_finite(const double *v, size_t ni, size_t nj, size_t njp, size_t i0, size_t j0, int layer,
                              const char *what)
{
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nj; j++)
            if (!isfinite(v[i * njp + j]))
                return dw_fail(DW_ERR_RANGE,
                               "kernel overflows: %s(x_%zu, y_%zu) is not finite at layer %d; reduce the depth or "
                               "the variances",
                               what, i0 + i + 1, j0 + j + 1, layer);
    return DW_OK;
}

/* Write a tile. Symmetric Gram matrices (sym): entries with j >= i go to (i, j) and those with j > i also to
 * (j, i), so every entry is written exactly once, from cache, with no separate mirror pass. out points at entry
 * (i0, j0) with leading dimension ld. */
static void store(double *out, size_t ld, const double *v, size_t ni, size_t nj, size_t njp, int sym, size_t i0,
                  size_t j0)
{
    if (!sym) {
        for (size_t i = 0; i < ni; i++) memcpy(out + i * ld, v + i * njp, nj * sizeof(double));
        return;
    }
    double *origin = out - i0 * ld - j0; /* entry (0, 0) */
    for (size_t i = 0; i < ni; i++) {
        const size_t gi = i0 + i, jstart = gi > j0 ? gi - j0 : 0;
        if (jstart < nj) memcpy(origin + gi * ld + j0 + jstart, v + i * njp + jstart, (nj - jstart) * sizeof(double));
    }
    for (size_t j = 0; j < nj; j++) {
        const size_t gj = j0 + j;
        for (size_t i = 0; i < ni && i0 + i < gj; i++) origin[gj * ld + i0 + i] = v[i * njp + j];
    }
}

static dw_status tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K, double *Theta,
                      size_t ld, size_t layer_stride, int sym)
{
    if (!p || (!K && !Theta)) return dw_fail(DW_ERR_INVALID, "kernel tile: NULL plan or no output");
    if (i1 < i0 || j1 < j0 || i1 > p->X.n || j1 > p->Y.n)
        return dw_fail(DW_ERR_INVALID, "kernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram matrix",
                       i0, i1, j0, j1, p->X.n, p->Y.n);
    const size_t ni = i1 - i0, nj = j1 - j0, njp = (nj + 3) & ~(size_t)3;
    if (!ni || !nj) return DW_OK;
    if (nj > ld && (ni > 1 || p->all_layers)) return dw_fail(DW_ERR_INVALID, "kernel tile: ld %zu < %zu columns", ld, nj);
    const int ntk = Theta != NULL, homog = dw_act_homogeneous(p->act);
    const size_t sz = ni * njp;
    double *buf = dw_alloc(5 * sz, sizeof(double), "kernel tile");
    if (!buf) return DW_ERR_NOMEM;
    double *g = buf, *s = buf + sz, *t = buf + 2 * sz, *c = buf + 3 * sz, *th = buf + 4 * sz;

    /* Layer 1 from the inner products. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ni, (int)nj, (int)p->d, 1.0, p->X.x + i0 * p->d,
                (int)p->d, p->Y.x + j0 * p->d, (int)p->d, 0.0, g, (int)njp);
    const double wd = p->w[0] / (double)p->d, b0 = p->beta[0], hb0 = b0 > 0 ? 1.0 : 0.0;
    const double *ihx = field(p, &p->X, 0, F_IH), *ihy = field(p, &p->Y, 0, F_IH);
    for (size_t i = 0; i < ni; i++) {
        for (size_t j = 0; j < njp; j++) {
            const size_t e = i * njp + j;
            if (j >= nj) { /* padding lanes: harmless values */
                c[e] = th[e] = 0.0;
                s[e] = t[e] = 0.5;
                continue;
            }
            c[e] = wd * g[e] + b0;
            th[e] = p->standard ? g[e] + hb0 : c[e];
            if (homog) {
                const double ih = ihx[i0 + i] * ihy[j0 + j];
                if (ih == 0.0) {
                    s[e] = t[e] = 0.5;
                    continue;
                }
                const double rho = c[e] * ih;
                s[e] = fmin(fmax(0.5 - 0.5 * rho, 0.0), 1.0);
                t[e] = fmin(fmax(0.5 + 0.5 * rho, 0.0), 1.0);
                if (fmin(s[e], t[e]) < DW_REFINE_BELOW) refine_pair(p, i0 + i, j0 + j, rho, &s[e], &t[e]);
            }
        }
    }
    dw_status st = DW_OK;
    for (int l = 0;; l++) {
        if (p->all_layers || l == p->depth) {
            size_t off = p->all_layers ? (size_t)l * layer_stride : 0;
            if (K) {
                if ((st = check_finite(c, ni, nj, njp, i0, j0, l + 1, "K"))) break;
                store(K + off, ld, c, ni, nj, njp, sym, i0, j0);
            }
            if (Theta) {
                if ((st = check_finite(th, ni, nj, njp, i0, j0, l + 1, "Theta"))) break;
                store(Theta + off, ld, th, ni, nj, njp, sym, i0, j0);
            }
        }
        if (l == p->depth) break;
        dw_pts px = pts_of(p, &p->X, l), py = pts_of(p, &p->Y, l);
        dw_step sp = step_of(p, l, ntk);
        dw_row_fn fn = homog ? p->impl->homog : p->impl->smooth;
        for (size_t i = 0; i < ni; i++) {
            /* Symmetric Gram: only entries with j >= i are stored, so start each row there (4-aligned). */
            const size_t js = sym && i0 + i > j0 ? ((i0 + i - j0) & ~(size_t)3) : 0;
            if (js >= nj) continue;
            fn(&sp, nj - js, &px, i0 + i, &py, j0 + js, s + i * njp + js, t + i * njp + js, c + i * njp + js,
               th + i * njp + js);
        }
    }
    free(buf);
    return st;
}

dw_status dw_kernel_tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, size_t ld, size_t layer_stride)
{
    return tile(p, i0, i1, j0, j1, K, Theta, ld, layer_stride, 0);
}

double dw_kernel_gram_bytes(const dw_kernel_opts *o, size_t n, size_t m, int nngp, int ntk)
{
    if (!o) return 0.0;
    double layers = o->all_layers ? (double)o->depth + 1.0 : 1.0;
    double out = (double)n * (double)m * layers * (double)((nngp ? 1 : 0) + (ntk ? 1 : 0)) * 8.0;
    double nf = F_POLY + (o->act && o->act->fam == DW_FAM_POLY ? 2.0 * (o->act->deg + 1) : 0.0);
    double fields = ((double)n + (double)m + 2.0 * DW_PAD) * ((double)o->depth + 1.0) * nf * 8.0;
    return out + fields;
}

#define TILE_I 32
#define TILE_J 256

dw_status dw_kernel_gram(const dw_kernel_opts *o, const double *X, size_t n, const double *Y, size_t m, size_t d,
                         double *K, double *Theta)
{
    if (!K && !Theta) return dw_fail(DW_ERR_INVALID, "kernel: no output requested (K and Theta are both NULL)");
    if (!Y) m = n;
    dw_kernel_plan *p;
    dw_status s = dw_kernel_plan_init(&p, o, X, n, Y, m, d);
    if (s) return s;
    const size_t bi = (n + TILE_I - 1) / TILE_I, bj = (m + TILE_J - 1) / TILE_J;
    size_t nb = 0;
    size_t *blocks = dw_alloc(bi * bj + 1, 2 * sizeof(size_t), "tile list");
    if (!blocks) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t a = 0; a < bi; a++)
        for (size_t b = 0; b < bj; b++)
            if (!p->symmetric || (b + 1) * TILE_J > a * TILE_I) { /* symmetric: blocks holding some j >= i */
                blocks[2 * nb] = a;
                blocks[2 * nb + 1] = b;
                nb++;
            }
    const size_t lstride = n * m;
    dw_status err = DW_OK;
    size_t err_block = SIZE_MAX;
    char err_msg[1024] = "";
    const int threads = dw_core_threads(o->threads);
    /* Tiles are the unit of parallelism; OpenBLAS (OpenMP build) runs single-threaded inside this region. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t k = 0; k < nb; k++) {
        const size_t i0 = blocks[2 * k] * TILE_I, j0 = blocks[2 * k + 1] * TILE_J;
        const size_t i1 = i0 + TILE_I < n ? i0 + TILE_I : n, j1 = j0 + TILE_J < m ? j0 + TILE_J : m;
        dw_status ts = tile(p, i0, i1, j0, j1, K ? K + i0 * m + j0 : NULL, Theta ? Theta + i0 * m + j0 : NULL, m,
                            lstride, p->symmetric);
        if (ts) {
#pragma omp critical(dw_kernel_err)
            if (k < err_block) { /* report the first failing tile, whatever the schedule */
                err_block = k;
                err = ts;
                snprintf(err_msg, sizeof err_msg, "%s", dw_error_message());
            }
        }
    }
    if (!err && p->symmetric && K) {
        /* The diagonal is the per-point recursion itself (the tiles agree with it to rounding). */
        const size_t L1 = p->all_layers ? (size_t)p->depth + 1 : 1;
        for (size_t l = 0; l < L1; l++) {
            const double *a = field(p, &p->X, p->all_layers ? (int)l : p->depth, F_A);
            for (size_t i = 0; i < n; i++) K[l * lstride + i * n + i] = a[i];
        }
    }
    free(blocks);
    dw_kernel_plan_clear(p);
    if (err) return dw_fail(err, "%s", err_msg);
    return DW_OK;
}
