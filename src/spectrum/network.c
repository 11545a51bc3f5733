/* The Jacobian of one given finite network (theory.md 3 at finite width): the weights come from the caller (numpy,
 * a trained model, or the sampling module's dw_sample_weights), so this file draws no weights.
 *
 *   forward:     h^l = W^l a^{l-1} + b^l, a^l = phi(h^l), d^l = phi'(h^l), a^0 = x
 *   Jacobian:    J = D_L W^L ... D_1 W^1 by a GEMM chain (M <- D_l (W^l M)), then dgesdd (singular values only)
 *   Hutchinson:  Rademacher probes V (N_0 x P); a_0 = V, c_i = J a_i, a_{i+1} = J^T c_i (GEMM chains both ways);
 *                per probe v: |c_i|^2 = v^T (J^T J)^{2i+1} v and |a_{i+1}|^2 = v^T (J^T J)^{2i+2} v, unbiased for
 *                tr (J^T J)^k; m_k = that / N_0, its standard error from the spread over the probes.
 * Hot kernels (forward_layer, layer_jvp, layer_vjp, probe_norms) are plain functions on arrays; the drivers allocate.
 * Threads: below DW_NET_THREADED_WIDTH the BLAS and LAPACK calls run on one thread (inside a one-thread OpenMP region
 * whose nthreads ICV is 1, so the OpenMP build of OpenBLAS does not wake its pool): at those sizes waking and spinning
 * threads costs more than it gains (a 400 x 400 dgesdd took 4 s instead of 0.05 s on a loaded 2-core machine), and
 * callers parallelise over networks. Wider networks use OpenBLAS's threads. */
#include "spectrum/spectrum.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static dw_status check_net(const dw_spectrum_network *net, const double *x)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "network: NULL argument");
    if (net->depth < 1 || net->depth > DW_SPECTRUM_DEPTH_MAX)
        return dw_fail(DW_ERR_INVALID, "network: depth %d outside 1..%d", net->depth, DW_SPECTRUM_DEPTH_MAX);
    if (!net->width || !net->W || !net->act || !x)
        return dw_fail(DW_ERR_INVALID, "network: NULL widths, weights, activation or input");
    for (int l = 0; l <= net->depth; l++) {
        const size_t n = net->width[l];
        if (n < 1 || n > 46340) /* n^2 within a LAPACK int */
            return dw_fail(DW_ERR_INVALID, "network: width N_%d = %zu outside 1..46340", l, n);
    }
    for (int l = 0; l < net->depth; l++)
        if (!net->W[l]) return dw_fail(DW_ERR_INVALID, "network: weight matrix W^%d is NULL", l + 1);
    for (size_t i = 0; i < net->width[0]; i++)
        if (!isfinite(x[i])) return dw_fail(DW_ERR_INVALID, "network: input x[%zu] is not finite", i);
    return DW_OK;
}

/* h = W a + b, a_out = phi(h), d = phi'(h) (rows x cols, row-major W) */
static void forward_layer(const dw_act *act, size_t rows, size_t cols, const double *W, const double *b,
                          const double *a, double *h, double *a_out, double *d)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)rows, (int)cols, 1.0, W, (int)cols, a, 1, 0.0, h, 1);
    if (b)
        for (size_t i = 0; i < rows; i++) h[i] += b[i];
    dw_act_eval(act, rows, h, a_out, d);
}

/* Y (rows x P) = diag(d) W X, X (cols x P) */
static void layer_jvp(size_t rows, size_t cols, size_t P, const double *W, const double *d, const double *X, double *Y)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)P, (int)cols, 1.0, W, (int)cols, X, (int)P,
                0.0, Y, (int)P);
    for (size_t i = 0; i < rows; i++)
        for (size_t p = 0; p < P; p++) Y[i * P + p] *= d[i];
}

/* X (cols x P) = W^T diag(d) Y, Y (rows x P) overwritten by diag(d) Y */
static void layer_vjp(size_t rows, size_t cols, size_t P, const double *W, const double *d, double *Y, double *X)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t p = 0; p < P; p++) Y[i * P + p] *= d[i];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cols, (int)P, (int)rows, 1.0, W, (int)cols, Y, (int)P,
                0.0, X, (int)P);
}

/* The forward pass: d (sum of N_1..N_L doubles, layer l at off[l]); DW_ERR_RANGE names the layer where h or phi'
 * stops being finite. */
static dw_status forward(const dw_spectrum_network *net, const double *x, double *d, const size_t *off)
{
    size_t nmax = 0;
    for (int l = 0; l <= net->depth; l++) nmax = net->width[l] > nmax ? net->width[l] : nmax;
    double *buf = dw_alloc(3 * nmax, sizeof(double), "network forward pass");
    if (!buf) return DW_ERR_NOMEM;
    double *a = buf, *h = buf + nmax, *an = buf + 2 * nmax;
    memcpy(a, x, net->width[0] * sizeof(double));
    for (int l = 0; l < net->depth; l++) {
        const size_t r = net->width[l + 1], c = net->width[l];
        forward_layer(net->act, r, c, net->W[l], net->b ? net->b[l] : NULL, a, h, an, d + off[l]);
        for (size_t i = 0; i < r; i++)
            if (!isfinite(h[i]) || !isfinite(an[i]) || !isfinite(d[off[l] + i])) {
                free(buf);
                return dw_fail(DW_ERR_RANGE, "network: layer %d: pre-activation, phi or phi' not finite at unit %zu "
                               "(non-finite weights, biases or overflow)", l + 1, i);
            }
        double *t = a;
        a = an;
        an = t;
    }
    free(buf);
    return DW_OK;
}

static dw_status alloc_d(const dw_spectrum_network *net, double **d, size_t **off)
{
    *off = dw_alloc((size_t)net->depth + 1, sizeof(size_t), "network offsets");
    if (!*off) return DW_ERR_NOMEM;
    size_t tot = 0;
    for (int l = 0; l < net->depth; l++) {
        (*off)[l] = tot;
        tot += net->width[l + 1];
    }
    (*off)[net->depth] = tot;
    *d = dw_alloc(tot, sizeof(double), "network phi'");
    if (!*d) {
        free(*off);
        return DW_ERR_NOMEM;
    }
    return DW_OK;
}

#define DW_NET_THREADED_WIDTH 2048

static int single_threaded(const dw_spectrum_network *net)
{
    for (int l = 0; l <= net->depth; l++)
        if (net->width[l] >= DW_NET_THREADED_WIDTH) return 0;
    return 1;
}

static dw_status jacobian_body(const dw_spectrum_network *net, const double *x, double *J, double *s2);
static dw_status hutchinson_body(const dw_spectrum_network *net, const double *x, int K, size_t probes,
                                 unsigned long long seed, double *m, double *se);

dw_status dw_spectrum_network_jacobian(const dw_spectrum_network *net, const double *x, double *J, double *s2)
{
    dw_status st = check_net(net, x);
    if (st) return st;
    if (!single_threaded(net)) return jacobian_body(net, x, J, s2);
#pragma omp parallel num_threads(1)
    {
#ifdef _OPENMP
        omp_set_num_threads(1); /* this implicit task's ICV only */
#endif
        st = jacobian_body(net, x, J, s2);
    }
    return st;
}

dw_status dw_spectrum_network_hutchinson(const dw_spectrum_network *net, const double *x, int K, size_t probes,
                                         unsigned long long seed, double *m, double *se)
{
    dw_status st = check_net(net, x);
    if (st) return st;
    if (!single_threaded(net)) return hutchinson_body(net, x, K, probes, seed, m, se);
#pragma omp parallel num_threads(1)
    {
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
        st = hutchinson_body(net, x, K, probes, seed, m, se);
    }
    return st;
}

static dw_status jacobian_body(const dw_spectrum_network *net, const double *x, double *J, double *s2)
{
    dw_status st;
    double *d;
    size_t *off;
    if ((st = alloc_d(net, &d, &off))) return st;
    if ((st = forward(net, x, d, off))) goto done_d;
    const size_t n0 = net->width[0];
    size_t nmax = 0;
    for (int l = 1; l <= net->depth; l++) nmax = net->width[l] > nmax ? net->width[l] : nmax;
    double *M = dw_alloc(nmax * n0, sizeof(double), "Jacobian"), *T = dw_alloc(nmax * n0, sizeof(double), "Jacobian");
    if (!M || !T) {
        st = DW_ERR_NOMEM;
        goto done_m;
    }
    /* M = D_1 W^1, then M <- D_l W^l M */
    {
        const size_t r = net->width[1];
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < n0; j++) M[i * n0 + j] = d[i] * net->W[0][i * n0 + j];
    }
    for (int l = 1; l < net->depth; l++) {
        layer_jvp(net->width[l + 1], net->width[l], n0, net->W[l], d + off[l], M, T);
        double *t = M;
        M = T;
        T = t;
    }
    const size_t nL = net->width[net->depth];
    for (size_t i = 0; i < nL * n0; i++)
        if (!isfinite(M[i])) {
            st = dw_fail(DW_ERR_RANGE, "network: the Jacobian has a non-finite entry (%zu, %zu): overflow", i / n0,
                         i % n0);
            goto done_m;
        }
    if (J) memcpy(J, M, nL * n0 * sizeof(double));
    if (s2) {
        const size_t ns = nL < n0 ? nL : n0;
        lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)nL, (lapack_int)n0, M, (lapack_int)n0, s2,
                                         NULL, (lapack_int)nL, NULL, (lapack_int)n0); /* ld >= dims even unused */
        if (info != 0) {
            st = info < 0 ? dw_fail(DW_ERR_INTERNAL, "network: LAPACKE_dgesdd failed (info %d)", (int)info)
                          : dw_fail(DW_ERR_RANGE, "network: the SVD (dgesdd) did not converge (info %d)", (int)info);
            goto done_m;
        }
        for (size_t i = 0; i < ns; i++) s2[i] *= s2[i];
    }
done_m:
    free(M);
    free(T);
done_d:
    free(d);
    free(off);
    return st;
}

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Rademacher probes: entry (i, p) of V (n x P) from the bits of splitmix64 keyed by (seed, p, i / 64). */
static void rademacher(uint64_t seed, size_t n, size_t P, double *V)
{
    for (size_t p = 0; p < P; p++) {
        uint64_t key = splitmix64(seed ^ splitmix64((uint64_t)p + 0x632BE59BD9B4E019ull));
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 64 == 0) bits = splitmix64(key + (uint64_t)(i / 64));
            V[i * P + p] = (bits >> (i % 64)) & 1 ? 1.0 : -1.0;
        }
    }
}

/* out[p] = sum_i X[i, p]^2 / n0 */
static void probe_norms(size_t rows, size_t P, const double *X, double n0, double *out)
{
    for (size_t p = 0; p < P; p++) out[p] = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t p = 0; p < P; p++) out[p] += X[i * P + p] * X[i * P + p];
    for (size_t p = 0; p < P; p++) out[p] /= n0;
}

static dw_status hutchinson_body(const dw_spectrum_network *net, const double *x, int K, size_t probes,
                                 unsigned long long seed, double *m, double *se)
{
    dw_status st;
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "hutchinson: K = %d outside 1..%d", K, DW_SPECTRUM_KMAX);
    if (probes < 2 || probes > 1000000)
        return dw_fail(DW_ERR_INVALID, "hutchinson: %zu probes; need 2..1000000 (the standard error needs two)",
                       probes);
    if (!m || !se) return dw_fail(DW_ERR_INVALID, "hutchinson: NULL output");
    const size_t P = probes, n0 = net->width[0];
    size_t nmax = 0;
    for (int l = 0; l <= net->depth; l++) nmax = net->width[l] > nmax ? net->width[l] : nmax;
    if (nmax > (size_t)INT_MAX / P)
        return dw_fail(DW_ERR_INVALID, "hutchinson: width x probes = %zu x %zu exceeds a BLAS int", nmax, P);
    double *d;
    size_t *off;
    if ((st = alloc_d(net, &d, &off))) return st;
    double *A = dw_alloc(nmax * P, sizeof(double), "probes"), *B = dw_alloc(nmax * P, sizeof(double), "probes"),
           *est = dw_alloc((size_t)K * P, sizeof(double), "probe estimates");
    if (!A || !B || !est) {
        st = DW_ERR_NOMEM;
        goto done;
    }
    if ((st = forward(net, x, d, off))) goto done;
    rademacher((uint64_t)seed, n0, P, A);
    for (int k = 0; k < K;) {
        /* B = J A (A: N_0 x P), then A = J^T B */
        for (int l = 0; l < net->depth; l++) {
            layer_jvp(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], A, B);
            double *t = A;
            A = B;
            B = t;
        }
        probe_norms(net->width[net->depth], P, A, (double)n0, est + (size_t)k * P);
        if (++k == K) break;
        for (int l = net->depth - 1; l >= 0; l--) {
            layer_vjp(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], A, B);
            double *t = A;
            A = B;
            B = t;
        }
        probe_norms(n0, P, A, (double)n0, est + (size_t)k * P);
        ++k;
    }
    for (int k = 0; k < K; k++) {
        const double *e = est + (size_t)k * P;
        double mean = 0, var = 0;
        for (size_t p = 0; p < P; p++) mean += e[p];
        mean /= (double)P;
        for (size_t p = 0; p < P; p++) var += (e[p] - mean) * (e[p] - mean);
        var /= (double)(P - 1);
        if (!isfinite(mean) || !isfinite(var)) {
            st = dw_fail(DW_ERR_RANGE, "hutchinson: moment %d overflows", k + 1);
            goto done;
        }
        m[k] = mean;
        se[k] = sqrt(var / (double)P);
    }
done:
    free(A);
    free(B);
    free(est);
    free(d);
    free(off);
    return st;
}

static int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- many networks: weights from the caller's drawing function ---------------------------------------------------- */

void dw_spectrum_sample_opts_init(dw_spectrum_sample_opts *o)
{
    static const double one = 1.0, zero = 0.0;
    memset(o, 0, sizeof *o);
    o->depth = 1;
    o->width = 100;
    o->n_weight_var = 1;
    o->weight_var = &one;
    o->n_bias_var = 1;
    o->bias_var = &zero;
    o->q0 = 1;
    o->samples = 10;
    o->K = 4;
}

static dw_status check_sample_opts(const dw_spectrum_sample_opts *o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "sample: NULL options");
    if (o->depth < 1 || o->depth > DW_SPECTRUM_DEPTH_MAX)
        return dw_fail(DW_ERR_INVALID, "sample: depth %d outside 1..%d", o->depth, DW_SPECTRUM_DEPTH_MAX);
    if (!o->act || !o->draw) return dw_fail(DW_ERR_INVALID, "sample: NULL activation or drawing function");
    if (o->width < 1 || o->width > 46340) return dw_fail(DW_ERR_INVALID, "sample: width %zu outside 1..46340", o->width);
    if (o->samples < 2 || o->samples > 100000000)
        return dw_fail(DW_ERR_INVALID, "sample: %zu samples; need at least 2 (for the standard error)", o->samples);
    if (o->K < 1 || o->K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "sample: K = %d outside 1..%d", o->K, DW_SPECTRUM_KMAX);
    if (o->probes == 1) return dw_fail(DW_ERR_INVALID, "sample: 1 probe; use 0 (exact SVD) or at least 2");
    if (!(o->q0 > 0) || !isfinite(o->q0)) return dw_fail(DW_ERR_INVALID, "sample: q0 = %g must be > 0", o->q0);
    const struct {
        const char *name;
        size_t n;
        const double *v;
    } vv[2] = {{"weight_var", o->n_weight_var, o->weight_var}, {"bias_var", o->n_bias_var, o->bias_var}};
    for (int k = 0; k < 2; k++) {
        if (!vv[k].v || (vv[k].n != 1 && vv[k].n != (size_t)o->depth))
            return dw_fail(DW_ERR_INVALID, "sample: %s needs 1 or depth = %d values, got %zu", vv[k].name, o->depth,
                           vv[k].v ? vv[k].n : 0);
        for (size_t i = 0; i < vv[k].n; i++)
            if (!(vv[k].v[i] >= 0) || !isfinite(vv[k].v[i]))
                return dw_fail(DW_ERR_INVALID, "sample: %s[%zu] = %g must be finite and >= 0", vv[k].name, i,
                               vv[k].v[i]);
    }
    return DW_OK;
}

/* One network: draw, scale, and its K moments (exact: from the squared singular values; else Hutchinson). */
static dw_status sample_one(const dw_spectrum_sample_opts *o, unsigned long long s, double *buf, double *m,
                            double *s2out)
{
    const int L = o->depth;
    const size_t N = o->width;
    double *W = buf, *b = buf + (size_t)L * N * N, *x = b + (size_t)L * N, *s2 = x + N;
    const double **Wp = dw_alloc((size_t)L, sizeof(double *), "layers");
    const double **bp = dw_alloc((size_t)L, sizeof(double *), "layers");
    size_t *width = dw_alloc((size_t)L + 1, sizeof(size_t), "widths");
    dw_status st = DW_OK;
    if (!Wp || !bp || !width) {
        st = DW_ERR_NOMEM;
        goto done;
    }
    for (int l = 0; l < L; l++) {
        const double sw = sqrt(o->weight_var[o->n_weight_var == 1 ? 0 : l] / (double)N),
                     sb = sqrt(o->bias_var[o->n_bias_var == 1 ? 0 : l]);
        double *Wl = W + (size_t)l * N * N, *bl = b + (size_t)l * N;
        if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_WEIGHTS, l, N, N, Wl))) goto done;
        if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_BIAS, l, N, 1, bl))) goto done;
        for (size_t i = 0; i < N * N; i++) Wl[i] *= sw;
        for (size_t i = 0; i < N; i++) bl[i] *= sb;
        Wp[l] = Wl;
        bp[l] = bl;
        width[l] = N;
    }
    width[L] = N;
    if ((st = o->draw(o->ctx, s, DW_SPECTRUM_DRAW_INPUT, 0, N, 1, x))) goto done;
    double nx = 0;
    for (size_t i = 0; i < N; i++) nx += x[i] * x[i];
    if (!(nx > 0) || !isfinite(nx)) {
        st = dw_fail(DW_ERR_RANGE, "sample: the drawn input of network %llu has norm %g", s, sqrt(nx));
        goto done;
    }
    const double scale = sqrt(o->q0 * (double)N / nx);
    for (size_t i = 0; i < N; i++) x[i] *= scale;
    dw_spectrum_network net = {L, width, Wp, bp, o->act};
    if (o->probes == 0) {
        if ((st = jacobian_body(&net, x, NULL, s2))) goto done;
        for (int k = 0; k < o->K; k++) m[k] = 0;
        for (size_t i = 0; i < N; i++) {
            double p = 1;
            for (int k = 0; k < o->K; k++) {
                p *= s2[i];
                m[k] += p;
            }
        }
        for (int k = 0; k < o->K; k++) m[k] /= (double)N;
        if (s2out) memcpy(s2out, s2, N * sizeof(double));
    } else {
        double *tmp = dw_alloc((size_t)o->K, sizeof(double), "standard errors"); /* per-probe s.e., unused */
        if (!tmp) {
            st = DW_ERR_NOMEM;
            goto done;
        }
        st = hutchinson_body(&net, x, o->K, o->probes, o->seed ^ splitmix64(s), m, tmp);
        free(tmp);
    }
done:
    free(Wp);
    free(bp);
    free(width);
    return st;
}

dw_status dw_spectrum_sample(const dw_spectrum_sample_opts *o, double *m, double *se, double *s2)
{
    dw_status st = check_sample_opts(o);
    if (st) return st;
    if (!m || !se) return dw_fail(DW_ERR_INVALID, "sample: NULL output");
    const size_t S = o->samples, N = o->width, K = (size_t)o->K;
    const size_t per = (size_t)o->depth * N * N + (size_t)o->depth * N + 2 * N;
    const int threads = dw_core_threads(o->threads);
    /* one network per thread in flight: L N^2 weights each (plus the SVD's work space, about 5 N^2) */
    if ((st = dw_core_check_alloc(8.0 * (double)threads * ((double)per + 6.0 * (double)N * (double)N) +
                                      8.0 * (double)S * (double)K,
                                  "sample: the networks in flight (one per thread)")))
        return st;
    double *all = dw_alloc(S * K, sizeof(double), "per-network moments");
    if (!all) return DW_ERR_NOMEM;
    dw_status err = DW_OK;
    size_t err_s = SIZE_MAX;
    char err_msg[1024] = "";
    size_t done_count = 0;
    int cancel = 0;
    /* networks are the unit of parallelism: BLAS and LAPACK run single-threaded inside (OpenMP build of OpenBLAS);
     * each network's draws are keyed by its index and the reduction below runs in index order, so the results do
     * not depend on the thread count */
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
        omp_set_num_threads(1); /* BLAS inside a network: one thread, even in a team of one */
#endif
        double *buf = dw_alloc(per, sizeof(double), "network weights");
        dw_status ts = buf ? DW_OK : DW_ERR_NOMEM;
        if (ts) {
#pragma omp critical(dw_spectrum_sample_err)
            if (err_s == SIZE_MAX || err == DW_OK) {
                err = ts;
                err_s = 0;
                snprintf(err_msg, sizeof err_msg, "%s", dw_error_message());
            }
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < S; s++) {
            int stop;
#pragma omp atomic read
            stop = cancel;
            if (!buf || stop) continue;
            dw_status r = sample_one(o, s, buf, all + s * K, s2 ? s2 + s * N : NULL);
            if (r) {
#pragma omp critical(dw_spectrum_sample_err)
                if (s < err_s) {
                    err_s = s;
                    err = r;
                    snprintf(err_msg, sizeof err_msg, "%s", dw_error_message());
                }
            }
            size_t d;
#pragma omp atomic capture
            d = ++done_count;
            /* progress from the calling thread only (thread 0 of the team) */
            if (o->progress && thread_num() == 0 && o->progress(o->progress_ctx, (double)d, (double)S)) {
#pragma omp atomic write
                cancel = 1;
            }
        }
        free(buf);
    }
    if (err) {
        free(all);
        return dw_fail(err, "%s", err_msg);
    }
    if (!cancel && o->progress && o->progress(o->progress_ctx, (double)S, (double)S)) cancel = 1;
    if (cancel) {
        free(all);
        return dw_fail(DW_ERR_INVALID, "sample: cancelled by the progress callback");
    }
    for (size_t k = 0; k < K; k++) {
        double mean = 0, var = 0;
        for (size_t s = 0; s < S; s++) mean += all[s * K + k];
        mean /= (double)S;
        for (size_t s = 0; s < S; s++) var += (all[s * K + k] - mean) * (all[s * K + k] - mean);
        m[k] = mean;
        se[k] = sqrt(var / (double)(S - 1) / (double)S);
        if (!isfinite(m[k]) || !isfinite(se[k])) {
            free(all);
            return dw_fail(DW_ERR_RANGE, "sample: moment %zu overflows", k + 1);
        }
    }
    free(all);
    return DW_OK;
}
