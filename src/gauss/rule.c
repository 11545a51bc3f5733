/* Gauss-Hermite rules for the probabilists' weight (theory.md 1.5 (c)). */
#include "gauss/gauss.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Number of eigenvalues < x of the Jacobi matrix of h_k (diagonal 0, off-diagonal sqrt(k)). */
static int sturm_count(int n, double x)
{
    const double pivmin = 1e-290;
    int cnt = 0;
    double d = -x;
    if (d < 0) cnt++;
    for (int k = 1; k < n; k++) {
        if (fabs(d) < pivmin) d = -pivmin;
        d = -x - (double)k / d;
        if (d < 0) cnt++;
    }
    return cnt;
}

/* h_{n-1}(x), h_n(x) up to a common positive factor, and log sum_{k<n} h_k(x)^2 (exact scale). */
static void herm_eval(int n, double x, double *hn1, double *hn, double *log_s)
{
    const double big = 1e150, shrink = 1e-150, lshrink = 150.0 * 2.302585092994045684;
    double p0 = 1.0, p1 = x, s = 1.0, e = 0.0;
    for (int k = 1; k < n; k++) {
        s += p1 * p1;
        double p2 = (x * p1 - sqrt((double)k) * p0) / sqrt((double)(k + 1));
        p0 = p1;
        p1 = p2;
        if (fabs(p1) > big || fabs(p0) > big) {
            p0 *= shrink;
            p1 *= shrink;
            s *= shrink * shrink;
            e += lshrink;
        }
    }
    *hn1 = p0;
    *hn = p1;
    *log_s = log(s) + 2.0 * e;
}

void dw_gh_rule_clear(dw_gh_rule *r)
{
    if (!r) return;
    free(r->x);
    free(r->w);
    free(r->sw);
    free(r->logw);
    r->x = r->w = r->sw = r->logw = NULL;
    r->n = 0;
}

dw_status dw_rule_alloc(dw_gh_rule *r, int n, const char *what)
{
    r->x = dw_alloc((size_t)n, sizeof(double), what);
    r->w = dw_alloc((size_t)n, sizeof(double), what);
    r->sw = dw_alloc((size_t)n, sizeof(double), what);
    r->logw = dw_alloc((size_t)n, sizeof(double), what);
    if (!r->x || !r->w || !r->sw || !r->logw) {
        dw_gh_rule_clear(r);
        return DW_ERR_NOMEM;
    }
    r->n = n;
    return DW_OK;
}

dw_status dw_gh_rule_init(dw_gh_rule *r, int n)
{
    if (!r) return dw_fail(DW_ERR_INVALID, "gauss-hermite rule: NULL rule");
    r->n = 0;
    r->x = r->w = r->sw = r->logw = NULL;
    if (n < 1 || n > DW_GH_MAX_N)
        return dw_fail(DW_ERR_INVALID, "gauss-hermite rule: n = %d is outside 1..%d", n, DW_GH_MAX_N);
    dw_status st = dw_rule_alloc(r, n, "gauss-hermite rule");
    if (st) return st;
    const double bound = 2.0 * sqrt((double)(n > 1 ? n - 1 : 1)) + 1.0; /* Gershgorin */
    double lo_prev = 0.0;
    for (int j = n / 2; j < n; j++) { /* the nonnegative roots, ascending; the others by symmetry */
        double x;
        if (2 * j + 1 == n) {
            x = 0.0;
        } else {
            double lo = lo_prev, hi = bound;
            for (int it = 0; it < 200 && hi - lo > 1e-9 * fmax(1.0, fabs(lo)); it++) {
                double mid = 0.5 * (lo + hi);
                if (sturm_count(n, mid) > j)
                    hi = mid;
                else
                    lo = mid;
            }
            x = 0.5 * (lo + hi);
            for (int it = 0; it < 4; it++) { /* Newton: h_n' = sqrt(n) h_{n-1} */
                double hn1, hn, ls;
                herm_eval(n, x, &hn1, &hn, &ls);
                if (hn1 == 0.0) break;
                double dx = hn / (sqrt((double)n) * hn1);
                if (!(fabs(dx) <= hi - lo)) break; /* left the bracket: keep the bisection value */
                x -= dx;
                if (fabs(dx) <= 1e-17 * fabs(x)) break;
            }
            lo_prev = lo;
        }
        double hn1, hn, ls;
        herm_eval(n, x, &hn1, &hn, &ls);
        double lw = -ls;
        r->x[j] = x;
        r->x[n - 1 - j] = -x;
        r->logw[j] = r->logw[n - 1 - j] = lw;
        r->w[j] = r->w[n - 1 - j] = exp(lw);
        r->sw[j] = r->sw[n - 1 - j] = exp(0.5 * lw);
    }
    return DW_OK;
}


