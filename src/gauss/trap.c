/* Trapezoidal rules for the Gaussian weight: nodes j h (|j h| <= L, a node at 0), weights h phi(x).
 *
 * For phi(sqrt(q) x) analytic in the strip |Im x| < tau the error is O(exp(-2 pi tau / h)), whatever q is (a
 * Gauss-Hermite rule of n nodes converges like exp(-tau sqrt(2n)) only: tanh(sqrt(10) z) misses 1e-5 at n = 400).
 * A kink of phi at z = 0 sits on the node x = 0, where the integrand's value is taken as the mean of its two
 * one-sided limits (dw_eval_mid): the error then has an Euler-Maclaurin expansion in h^2, h^4, ..., which
 * Richardson extrapolation over h, h/2, h/4 removes. */
#include "gauss/gauss.h"
#include "internal.h"

#include <math.h>
#include <pthread.h>

void dw_eval_sides(dw_fn f, const void *ctx, double s[2], double ds[2])
{
    const double t = 1e-300;
    ds[0] = ds[1] = 0.0;
    s[0] = f(t, &ds[0], ctx);
    s[1] = f(-t, &ds[1], ctx);
}

double dw_eval_mid(dw_fn f, double z, double *dphi, const void *ctx)
{
    if (z != 0.0) return f(z, dphi, ctx);
    double s[2], ds[2];
    dw_eval_sides(f, ctx, s, ds);
    if (dphi) *dphi = 0.5 * (ds[0] + ds[1]);
    return 0.5 * (s[0] + s[1]);
}

dw_status dw_trap_rule_init(dw_gh_rule *r, double h, double L)
{
    if (!r) return dw_fail(DW_ERR_INVALID, "trapezoidal rule: NULL rule");
    r->n = 0;
    r->x = r->w = r->sw = r->logw = NULL;
    if (!(h > 0) || !(L >= 0) || L / h > DW_GH_MAX_N)
        return dw_fail(DW_ERR_INVALID, "trapezoidal rule: step %g and half-width %g give too many nodes", h, L);
    int m = (int)floor(L / h), n = 2 * m + 1;
    dw_status st = dw_rule_alloc(r, n, "trapezoidal rule");
    if (st) return st;
    const double lsq2pi = 0.91893853320467274178; /* log sqrt(2 pi) */
    for (int j = -m; j <= m; j++) {
        double x = j * h, lw = log(h) - lsq2pi - 0.5 * x * x;
        r->x[j + m] = x;
        r->logw[j + m] = lw;
        r->w[j + m] = exp(lw);
        r->sw[j + m] = exp(0.5 * lw);
    }
    return DW_OK;
}

static dw_gh_rule shared[3];
static dw_status shared_status = DW_OK;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_init(void)
{
    /* |h_k(x)| sqrt(phi(x)) decays like a Gaussian beyond the turning point sqrt(4k + 2). */
    double L = sqrt(4.0 * (DW_GAUSS_K + 1) + 2) + 12.0;
    for (int i = 0; i < 3 && shared_status == DW_OK; i++)
        shared_status = dw_trap_rule_init(&shared[i], DW_TRAP_H / (1 << i), L);
}

dw_status dw_gauss_rules(const dw_gh_rule **r3)
{
    pthread_once(&shared_once, shared_init);
    if (shared_status != DW_OK)
        return dw_fail(shared_status, "the trapezoidal rules of step %g could not be built", DW_TRAP_H);
    for (int i = 0; i < 3; i++) r3[i] = &shared[i];
    return DW_OK;
}

double dw_extrap3(const double t[3], double *err)
{
    double d1 = fabs(t[1] - t[0]), d2 = fabs(t[2] - t[1]);
    if (d2 <= d1 / 64) { /* faster than h^6: spectral (analytic integrand); the finest value is the best */
        /* err(h) ~ A exp(-c/h) gives err(h/4) = err(h/2)^2 / A ~ d2 (d2/d1); 4x for prefactors */
        *err = d2 > 0 ? 4 * d2 * (d2 / d1) : 0.0;
        return t[2];
    }
    /* algebraic (kinks on nodes: h^2, h^4, ...): Romberg */
    double r1 = (4 * t[1] - t[0]) / 3, r2 = (4 * t[2] - t[1]) / 3, r = (16 * r2 - r1) / 15;
    *err = 2 * fabs(r - r2);
    return r;
}
