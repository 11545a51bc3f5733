/* The public face of the finite networks of any architecture (arch.h): the checks every call shares, networks as a
 * flat parameter vector (dw_sample_params_size, dw_sample_params, dw_sample_apply, dw_sample_params_gram: what
 * deepwick.stax's init_fn / apply_fn call), and dw_sample_forward / dw_sample_network_gram on a net that is not
 * fully connected (the network of sample first_sample). */
#include "sample/arch.h"
#include "sample/sample.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_asamp_init(asamp_prog *p, const dw_net *net, const dw_sample_opts *o, const char *who, size_t n,
                        size_t d, int kind, size_t all_width)
{
    memset(p, 0, sizeof *p);
    if (n == 0) return dw_fail(DW_ERR_INVALID, "X: no input points (0 rows)");
    if (n > (size_t)INT_MAX)
        return dw_fail(DW_ERR_INVALID, "X: number of points: %zu is above the maximum supported by BLAS (%d)", n,
                       INT_MAX);
    if (kind != DW_SAMPLE_NO_GRAM && kind != DW_SAMPLE_NNGP && kind != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "gram: unknown kind %d", kind);
    dw_status s = dw_asamp_compile(p, net, who, d, all_width, dw_sample_opts_or_default(o)->width);
    if (s) return s;
    if ((double)p->tape > (double)INT_MAX || (double)p->maxcol > (double)INT_MAX ||
        (double)p->dout * (double)p->nparam > (double)INT_MAX) {
        dw_asamp_clear(p);
        return dw_fail(DW_ERR_INVALID, "%s: the network's activations or parameters per input are above the maximum "
                       "supported by BLAS (%d)", who, INT_MAX);
    }
    return DW_OK;
}

dw_status dw_sample_params_size(const dw_net *net, const dw_sample_opts *o, size_t d, size_t *n_params,
                                size_t *out_dim)
{
    if (n_params) *n_params = 0;
    if (out_dim) *out_dim = 0;
    asamp_prog p;
    dw_status s = dw_asamp_init(&p, net, o, "params", 1, d, DW_SAMPLE_NO_GRAM, 0);
    if (s) return s;
    if (n_params) *n_params = p.nparam;
    if (out_dim) *out_dim = p.dout;
    dw_asamp_clear(&p);
    return DW_OK;
}

dw_status dw_asamp_params_prog(asamp_prog *p, const dw_net *net, const dw_sample_opts *o, const char *who, size_t n,
                               size_t d, int kind, const double *theta, size_t n_params)
{
    if (!theta && n_params) return dw_fail(DW_ERR_INVALID, "%s: NULL parameters", who);
    dw_status s = dw_asamp_init(p, net, o, who, n, d, kind, 0);
    if (s) return s;
    if (n_params != p->nparam) {
        s = dw_fail(DW_ERR_INVALID, "%s: %zu parameters given where the network has %zu", who, n_params, p->nparam);
        dw_asamp_clear(p);
    }
    return s;
}

dw_status dw_sample_params(const dw_net *net, const dw_sample_opts *o, size_t d, double *theta, size_t n_params)
{
    o = dw_sample_opts_or_default(o);
    asamp_prog p;
    dw_status s = dw_asamp_params_prog(&p, net, o, "params", 1, d, DW_SAMPLE_NO_GRAM, theta, n_params);
    if (s) return s;
    s = dw_asamp_draw(&p, o->seed, o->first_sample, theta);
    dw_asamp_clear(&p);
    return s;
}

/* One network of theta on X (n x d; with Y, m more rows): F and/or the Gram (cross Gram with Y). */
static dw_status eval_one(const asamp_prog *p, const dw_sample_opts *o, const double *theta, const double *X,
                          size_t n, const double *Y, size_t m, int kind, double *F, double *G, bool given)
{
    const size_t d = p->d, nt = n + (Y ? m : 0);
    double *XY = NULL;
    dw_status st;
    if (Y) {
        if ((st = dw_core_check_alloc(8.0 * (double)nt * (double)d, "the stacked inputs"))) return st;
        if (!(XY = dw_core_alloc_large(nt * d * sizeof *XY, "the stacked inputs"))) return DW_ERR_NOMEM;
        memcpy(XY, X, n * d * sizeof *XY);
        memcpy(XY + n * d, Y, m * d * sizeof *XY);
    }
    const double cnt = dw_asamp_work(p, nt, kind);
    const int threads = dw_core_threads(o->threads);
    st = dw_core_check_alloc(8.0 * (cnt + (double)threads * (dw_asamp_scratch(p) + (double)p->tape + 4096.0)),
                             "the network's activations and gradients");
    double *work = NULL;
    if (!st && !(work = dw_core_alloc_large((size_t)cnt * sizeof(double) + 8, "the network's activations")))
        st = DW_ERR_NOMEM;
    if (!st) {
        const asamp_net net = {theta, F, G, work, o->first_sample};
        st = dw_asamp_eval(p, &net, 1, Y ? XY : X, nt, n, kind, o->seed, o->threads, given);
    }
    dw_core_free_large(work);
    dw_core_free_large(XY);
    if (st || !G) return st;
    const size_t cols = Y ? m : n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = Y ? 0 : i; j < cols; j++)
            if (!isfinite(G[i * cols + j]))
                return dw_fail(DW_ERR_RANGE, "network gram: entry (%zu, %zu) is not finite (overflow in the "
                               "back-propagation)", i + 1, j + 1);
    return DW_OK;
}

dw_status dw_sample_apply(const dw_net *net, const dw_sample_opts *o, const double *theta, size_t n_params,
                          const double *X, size_t n, size_t d, double *F)
{
    o = dw_sample_opts_or_default(o);
    if (!X || !F) return dw_fail(DW_ERR_INVALID, "apply: NULL argument");
    asamp_prog p;
    dw_status s = dw_asamp_params_prog(&p, net, o, "apply", n, d, DW_SAMPLE_NO_GRAM, theta, n_params);
    if (s) return s;
    if (!(s = dw_core_check_points("X", X, n, d))) s = eval_one(&p, o, theta, X, n, NULL, 0, 0, F, NULL, true);
    dw_asamp_clear(&p);
    return s;
}

dw_status dw_asamp_gram_args(const double *X, size_t n, const double *Y, size_t m, size_t d, int kind, double *G)
{
    if (!X || !G) return dw_fail(DW_ERR_INVALID, "network gram: NULL argument");
    if (kind != DW_SAMPLE_NNGP && kind != DW_SAMPLE_NTK)
        return dw_fail(DW_ERR_INVALID, "kind: expected the nngp or ntk Gram (got %d)", kind);
    dw_status s = dw_core_check_points("X", X, n, d);
    if (s || !Y) return s;
    if (m == 0) return dw_fail(DW_ERR_INVALID, "Y: no input points (0 rows)");
    if ((double)n + (double)m > (double)INT_MAX)
        return dw_fail(DW_ERR_INVALID, "X, Y: %zu + %zu points is above the maximum supported by BLAS", n, m);
    return dw_core_check_points("Y", Y, m, d);
}

dw_status dw_sample_params_gram(const dw_net *net, const dw_sample_opts *o, const double *theta, size_t n_params,
                                const double *X, size_t n, const double *Y, size_t m, size_t d, dw_sample_gram kind,
                                double *G)
{
    o = dw_sample_opts_or_default(o);
    asamp_prog p;
    dw_status s = dw_asamp_params_prog(&p, net, o, "network gram", n, d, kind, theta, n_params);
    if (s) return s;
    if (!(s = dw_asamp_gram_args(X, n, Y, m, d, kind, G)))
        s = eval_one(&p, o, theta, X, n, Y, m, kind, NULL, G, true);
    dw_asamp_clear(&p);
    return s;
}

/* dw_sample_forward / dw_sample_network_gram on a net that is not fully connected: the network of sample
 * first_sample (seed), drawn here. */
static dw_status drawn(const dw_net *net, const dw_sample_opts *o, const char *who, size_t n, size_t d, int kind,
                       asamp_prog *p, double **theta)
{
    *theta = NULL;
    dw_status s = dw_asamp_init(p, net, o, who, n, d, kind, 0);
    if (s) return s;
    if (!(*theta = dw_alloc(p->nparam + 1, sizeof(double), "network parameters"))) s = DW_ERR_NOMEM;
    if (!s) s = dw_asamp_draw(p, o->seed, o->first_sample, *theta);
    if (s) {
        free(*theta);
        *theta = NULL;
        dw_asamp_clear(p);
    }
    return s;
}

dw_status dw_asamp_forward_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                 double *F)
{
    o = dw_sample_opts_or_default(o);
    if (!X || !F) return dw_fail(DW_ERR_INVALID, "forward: NULL argument");
    asamp_prog p;
    double *theta;
    dw_status s = drawn(net, o, "forward", n, d, DW_SAMPLE_NO_GRAM, &p, &theta);
    if (s) return s;
    if (!(s = dw_core_check_points("X", X, n, d))) s = eval_one(&p, o, theta, X, n, NULL, 0, 0, F, NULL, false);
    free(theta);
    dw_asamp_clear(&p);
    return s;
}

dw_status dw_asamp_gram_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, const double *Y,
                              size_t m, size_t d, int kind, double *G)
{
    o = dw_sample_opts_or_default(o);
    asamp_prog p;
    double *theta;
    dw_status s = dw_asamp_gram_args(X, n, Y, m, d, kind, G);
    if (s || (s = drawn(net, o, "network gram", n, d, kind, &p, &theta))) return s;
    s = eval_one(&p, o, theta, X, n, Y, m, kind, NULL, G, false);
    free(theta);
    dw_asamp_clear(&p);
    return s;
}
