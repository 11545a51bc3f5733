/* Activations of the architecture engine (theory.md 7): every entry of the covariance of positions (i, j) is the
 * Gaussian expectation of its 2 x 2 covariance [[Sigma_ii(x, x), Sigma_ij(x, y)], [., Sigma_jj(y, y)]]: the NNGP
 * E[phi(u) phi(v)] and, multiplying the tangent kernel, E[phi'(u) phi'(v)]. The per-position variances come from
 * the two inputs' own passes. Closed forms are exact to rounding; the generic route reports its bounds. */
#include "kernels/arch.h"

#include <math.h>
#include <string.h>

/* One entry; for the generic route also its bound relative to sqrt(E phi(u)^2 E phi(v)^2). */
dw_status dw_arch_dual(const arch_prog *p, const dw_act *act, double a, double b, double c, double *v, double *vd,
                       arch_work *w)
{
    if (act->fam != DW_FAM_GENERIC) return dw_act_dual_with(p->impl, act, a, b, c, v, vd);
    double bd, bdd;
    dw_status s = dw_act_dual_bound(act, a, b, c, DW_DUAL_TARGET, v, vd, &bd, &bdd, NULL);
    if (s) return s;
    double ea, eb;
    if ((s = dw_act_dual(act, a, a, a, &ea, NULL)) || (s = dw_act_dual(act, b, b, b, &eb, NULL))) return s;
    const double scale = sqrt(fabs(ea * eb));
    const double rel = scale > 0 ? bd / scale : bd;
    if (rel > w->max_bound) w->max_bound = rel;
    w->evaluations++;
    return DW_OK;
}

/* The row sweeps' layout of the scratch for P positions: a stride of P + DW_PAD per array; per side a, sqrt(a),
 * r and (poly) the 2 (deg + 1) moment fields; shared zeros; the row's s, t, c, theta. */
static size_t stride_of(size_t P) { return P + DW_PAD; }
size_t dw_arch_act_stride(size_t P) { return stride_of(P); }
size_t dw_arch_act_len(size_t P) { return 5 * stride_of(P); }

size_t dw_arch_act_slot_len(const dw_act *act, size_t P)
{
    if (act->fam == DW_FAM_GENERIC) return P;
    return stride_of(P) * (3 + (act->fam == DW_FAM_POLY ? 2 * (size_t)(act->deg + 1) : 0));
}

void dw_arch_act_fields(const dw_act *act, double *v, size_t P)
{
    if (act->fam == DW_FAM_GENERIC) return;
    const size_t S = stride_of(P);
    double *sa = v + S, *r = sa + S, *pk = r + S, *qk = pk + (size_t)(act->deg + 1) * S;
    for (size_t i = 0; i < S; i++) {
        if (i >= P) v[i] = 0.0;
        sa[i] = sqrt(v[i]);
        dw_act_point(act, v[i], &r[i], NULL);
        if (act->fam == DW_FAM_POLY) dw_act_poly_point(act, v[i], pk + i, qk + i, S);
    }
}

/* One side's per-position fields (sweep.h's dw_pts) from its record (dw_arch_act_fields). */
dw_pts dw_arch_act_pts(const dw_act *act, const double *v, size_t S, const double *zero)
{
    const double *pk = v + 3 * S;
    return (dw_pts){v, v + S, v + 2 * S, zero, zero, zero, pk, pk + (size_t)(act->deg + 1) * S, S, zero, zero};
}

static dw_pts side(const dw_act *act, const double *v, size_t P, const double *zero)
{
    return dw_arch_act_pts(act, v, stride_of(P), zero);
}

void dw_arch_sweep_diag(const dw_sweep_impl *impl, const dw_act *act, size_t n, const dw_pts *qx, const dw_pts *qy,
                        double *s, double *t, double *c, double *th)
{
    dw_step st;
    dw_act_dual_step(act, th != NULL, &st);
    if (dw_act_homogeneous(act)) {
        impl->homog_cov_diag(&st, n, qx, 0, qy, 0, c, th);
    } else {
        impl->smooth_diag(&st, n, qx, 0, qy, 0, s, t, c, th);
    }
}

/* Closed forms, by the Gram sweeps (one layer with w = 1, no bias, the standard parameterisation's
 * theta' = 0 E + 0 + E[phi' phi'] theta): the same code as dw_act_dual and the fully connected kernels, vectorised.
 * FULL registers: row i of the P x P covariance is one row call; DIAG registers: the diagonal forms, entry i
 * pairing position i of x with position i of y. */
static dw_status closed_forms(const arch_prog *p, const arch_op *op, const double *vx, const double *vy, double *K,
                              double *T, arch_work *w)
{
    const dw_act *act = op->act;
    const size_t P = op->in.P, S = stride_of(P);
    double *zero = w->act, *rs = zero + S, *rt = rs + S, *rc = rt + S, *rth = rc + S;
    memset(zero, 0, S * sizeof *zero);
    const dw_pts qx = side(act, vx, P, zero), qy = side(act, vy, P, zero);
    dw_step st;
    dw_act_dual_step(act, T != NULL, &st);
    const bool homog = dw_act_homogeneous(act), full = p->full;
    for (size_t j = P; j < S; j++) rs[j] = rt[j] = 0.5, rc[j] = 0.0, rth[j] = 0.0;
    for (size_t i = 0; i < (full ? P : 1); i++) {
        double *Ki = K + (full ? i * P : 0), *Ti = T ? T + (full ? i * P : 0) : NULL;
        memcpy(rc, Ki, P * sizeof *rc);
        if (Ti) memcpy(rth, Ti, P * sizeof *rth);
        if (!full) {
            dw_arch_sweep_diag(p->impl, act, P, &qx, &qy, rs, rt, rc, Ti ? rth : NULL);
        } else if (homog) {
            p->impl->homog_cov_row(&st, P, &qx, i, &qy, 0, rc, Ti ? rth : NULL);
        } else {
            p->impl->smooth(&st, P, &qx, i, &qy, 0, rs, rt, rc, rth);
        }
        for (size_t j = 0; j < P; j++)
            if (!isfinite(rc[j]) || (Ti && !isfinite(rth[j])))
                return dw_fail(DW_ERR_RANGE, "kernel: E[phi(u)phi(v)] for %s overflows at a=%g, b=%g, c=%g",
                               act->name, full ? vx[i] : vx[j], vy[j], Ki[j]);
        memcpy(Ki, rc, P * sizeof *rc);
        if (Ti) memcpy(Ti, rth, P * sizeof *rth);
    }
    return DW_OK;
}

dw_status dw_arch_act(const arch_prog *p, const arch_op *op, const double *vx, const double *vy, double *K,
                      double *T, arch_work *w)
{
    if (op->act->fam != DW_FAM_GENERIC) return closed_forms(p, op, vx, vy, K, T, w);
    /* generic activations: entry by entry, each with its certified bound */
    const size_t P = op->in.P;
    double v, vd;
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < (p->full ? P : 1); j++) {
            const size_t q = p->full ? i * P + j : i, jj = p->full ? j : i;
            dw_status s = dw_arch_dual(p, op->act, vx[i], vy[jj], K[q], &v, &vd, w);
            if (s) return s;
            K[q] = v;
            if (T) T[q] *= vd;
        }
    return DW_OK;
}

dw_status dw_arch_mean_deriv(const dw_act *act, double q, double *m, double *err)
{
    if (err) *err = 0.0;
    if (!(q >= 0) || !isfinite(q)) return dw_fail(DW_ERR_RANGE, "kernel: variance %g is not finite", q);
    switch (act->fam) {
    case DW_FAM_IDENTITY:
        *m = 1.0;
        return DW_OK;
    case DW_FAM_RELU: /* alpha z + (1 - alpha) relu(z) */
        *m = q > 0 ? 0.5 * (1.0 + act->alpha) : act->d0;
        return DW_OK;
    case DW_FAM_ERF:
        *m = 2.0 / sqrt(M_PI * (1.0 + 2.0 * q));
        return DW_OK;
    case DW_FAM_SIN:
        *m = exp(-0.5 * q);
        return DW_OK;
    case DW_FAM_COS:
        *m = 0.0;
        return DW_OK;
    case DW_FAM_EXP:
        *m = exp(0.5 * q);
        return DW_OK;
    case DW_FAM_GELU: /* Phi(z) + z pdf(z): 1/2 + 0 (odd) */
        *m = 0.5;
        return DW_OK;
    case DW_FAM_POLY: { /* sum_k k c_k E[v^(k-1)], E[v^(2m)] = (2m-1)!! q^m */
        double s = 0.0, mom = 1.0;
        for (int k = 1; k <= act->deg; k += 2) {
            s += k * act->coef[k] * mom;
            mom *= (double)k * q; /* E v^(k+1) = k q E v^(k-1) */
        }
        *m = s;
        return DW_OK;
    }
    case DW_FAM_STEP: /* Stein: E[v 1{v > 0}] / q = 1 / sqrt(2 pi q) */
        if (!(q > 0)) return dw_fail(DW_ERR_RANGE, "kernel: E[step'] at variance 0 is not finite");
        *m = 1.0 / sqrt(2.0 * M_PI * q);
        return DW_OK;
    default:
        break;
    }
    if (!(q > 0)) {
        double d;
        dw_status s = dw_act_eval(act, 1, &(double){0.0}, NULL, &d);
        *m = d;
        return s;
    }
    static _Thread_local dw_hermite h;
    dw_status s = dw_act_expand(act, q, 1, &h);
    if (s) return s;
    const double r = sqrt(q);
    *m = h.a[1] / r; /* a_1 = E[phi(sqrt(q) Z) Z] = sqrt(q) E[phi'] */
    if (err) *err = h.da[1] / r;
    return DW_OK;
}
