/* The Richardson-style error estimate of a signature-kernel Gram matrix (theory.md 5): the Gram matrix at the
 * neighbouring dyadic orders (both orders moved by one, so both refinements' leading errors scale together). */
#include "sig/sig.h"

#include <math.h>
#include <stdlib.h>

dw_status dw_sig_kernel_error(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                              size_t m, size_t ly, size_t d, const double *K, double *max_abs, double *max_rel)
{
    if (!o || !K || !max_abs || !max_rel) return dw_fail(DW_ERR_INVALID, "sigkernel error: NULL argument");
    dw_sig_kernel_opts o2 = *o;
    const int lo = o->dyadic_order < o->dyadic_order_y ? o->dyadic_order : o->dyadic_order_y;
    const int up = lo == 0;
    o2.dyadic_order = o->dyadic_order + (up ? 1 : -1);
    o2.dyadic_order_y = o->dyadic_order_y + (up ? 1 : -1);
    if (o2.dyadic_order > DW_SIG_KERNEL_DYADIC_MAX || o2.dyadic_order_y > DW_SIG_KERNEL_DYADIC_MAX)
        return dw_fail(DW_ERR_INVALID, "sigkernel error: no neighbouring dyadic order above %d",
                       DW_SIG_KERNEL_DYADIC_MAX);
    if (!Y) m = n;
    double *K2 = dw_alloc(n * m, sizeof(double), "the coarser Gram matrix (error estimate)");
    if (!K2) return DW_ERR_NOMEM;
    dw_status s = dw_sig_kernel_gram(&o2, X, n, lx, Y, m, ly, d, K2);
    if (s) {
        free(K2);
        return s;
    }
    const double r = o->solver == DW_SIG_SECOND_ORDER ? 4.0 : 2.0;
    const double f = up ? r / (r - 1.0) : 1.0 / (r - 1.0);
    double ea = 0.0, er = 0.0;
    for (size_t i = 0; i < n * m; i++) {
        const double e = fabs(K[i] - K2[i]) * f;
        if (e > ea) ea = e;
        const double rel = K[i] != 0 ? e / fabs(K[i]) : e;
        if (rel > er) er = rel;
    }
    free(K2);
    *max_abs = ea;
    *max_rel = er;
    return DW_OK;
}
