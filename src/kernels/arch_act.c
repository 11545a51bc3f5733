/* Activations of the architecture engine (theory.md 7): every entry of the covariance of positions (i, j) is the
 * Gaussian expectation of its 2 x 2 covariance [[Sigma_ii(x, x), Sigma_ij(x, y)], [., Sigma_jj(y, y)]]: the NNGP
 * E[phi(u) phi(v)] and, multiplying the tangent kernel, E[phi'(u) phi'(v)]. The per-position variances come from
 * the two inputs' own passes. Closed forms are exact to rounding; the generic route reports its bounds. */
#include "kernels/arch.h"

#include <math.h>

/* One entry; for the generic route also its bound relative to sqrt(E phi(u)^2 E phi(v)^2). */
static dw_status entry(const arch_op *op, double a, double b, double c, double *v, double *vd, arch_work *w)
{
    const dw_act *act = op->act;
    if (act->fam != DW_FAM_GENERIC) return dw_act_dual(act, a, b, c, v, vd);
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

dw_status dw_arch_act(const arch_op *op, bool full, const double *vx, const double *vy, double *K, double *T,
                      arch_work *w)
{
    const size_t P = op->in.P;
    double v, vd;
    if (!full) {
        for (size_t i = 0; i < P; i++) {
            dw_status s = entry(op, vx[i], vy[i], K[i], &v, &vd, w);
            if (s) return s;
            K[i] = v;
            if (T) T[i] *= vd;
        }
        return DW_OK;
    }
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < P; j++) {
            const size_t q = i * P + j;
            dw_status s = entry(op, vx[i], vy[j], K[q], &v, &vd, w);
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
