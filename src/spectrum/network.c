/* The Jacobian of one given finite network (theory.md 3 at finite width): the weights come from the caller (numpy,
 * a trained model, or the sampling module's dw_sample_weights), so this file draws no weights.
 *
 *   forward:     h^l = W^l a^{l-1} + b^l, a^l = phi(h^l), d^l = phi'(h^l), a^0 = x
 *   Jacobian:    J = D_L W^L ... D_1 W^1 by a GEMM chain (M <- D_l (W^l M)), then dgesdd (singular values only)
 *   Hutchinson:  Rademacher probes V (N_0 x P); a_0 = V, c_i = J a_i, a_{i+1} = J^T c_i (GEMM chains both ways);
 *                per probe v: |c_i|^2 = v^T (J^T J)^{2i+1} v and |a_{i+1}|^2 = v^T (J^T J)^{2i+2} v, unbiased for
 *                tr (J^T J)^k; m_k = that / N_0, its standard error from the spread over the probes.
 * Act-first residual blocks: x_l = gamma x_{l-1} + alpha (W phi(x_{l-1}) + b), d^l = phi'(x_{l-1}), and the chains
 * apply W diag(d) (forward) and diag(d) W^T (backward) instead.
 * Hot kernels (forward_layer, layer_jvp, layer_vjp, probe_norms) are plain functions on arrays; the drivers allocate.
 * Threads: below DW_NET_THREADED_WIDTH the BLAS and LAPACK calls run on one thread (as the one item of a
 * dw_par_for on one worker, which runs BLAS single-threaded, so the OpenMP build of OpenBLAS does not wake its
 * pool): at those sizes waking and spinning threads costs more than it gains (a 400 x 400 dgesdd took 4 s instead
 * of 0.05 s on a loaded 2-core machine), and callers parallelise over networks. Wider networks use OpenBLAS's threads. */
#include "spectrum/spectrum.h"

#include "core/par.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static dw_status check_fnet(const dw_spec_fnet *net, const double *x)
{
    for (int l = 0; l <= net->depth; l++) {
        const size_t n = net->width[l];
        if (n < 1 || n > DW_SPECTRUM_WIDTH_MAX) /* n^2 within a LAPACK int */
            return dw_fail(DW_ERR_INVALID, "network: width N_%d = %zu outside 1..%d", l, n, DW_SPECTRUM_WIDTH_MAX);
    }
    if (!x) return dw_fail(DW_ERR_INVALID, "network: NULL input");
    for (size_t i = 0; i < net->width[0]; i++)
        if (!isfinite(x[i])) return dw_fail(DW_ERR_INVALID, "network: input x[%zu] is not finite", i);
    return DW_OK;
}

dw_status dw_spec_fnet_of(const dw_net *net, dw_spec_fnet *f)
{
    memset(f, 0, sizeof *f);
    dw_net_fc fc;
    dw_status st = dw_net_fc_view(net, "network", 0, DW_NET_GIVEN, &fc);
    if (st) return st;
    const int L = fc.depth;
    size_t *width = dw_alloc((size_t)L + 1, sizeof(size_t), "network widths");
    const double **W = dw_alloc((size_t)L, sizeof(double *), "network layers");
    const double **b = dw_alloc((size_t)L, sizeof(double *), "network layers");
    if (!width || !W || !b) {
        free(width);
        free(W);
        free(b);
        return DW_ERR_NOMEM;
    }
    for (int l = 0; l < L; l++) {
        const dw_net_layer *d = dw_net_dense(net, (size_t)l);
        if (l == 0) width[0] = d->cols;
        width[l + 1] = d->rows;
        W[l] = d->W;
        b[l] = d->b;
    }
    *f = (dw_spec_fnet){L, width, W, b, fc.act, NULL, NULL, 0};
    return DW_OK;
}

void dw_spec_fnet_free(dw_spec_fnet *f)
{
    free((void *)f->width);
    free((void *)f->W);
    free((void *)f->b);
    memset(f, 0, sizeof *f);
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

/* Y (rows x P) = W diag(d) X, X (cols x P); tmp: cols x P (act-first blocks) */
static void layer_jvp_af(size_t rows, size_t cols, size_t P, const double *W, const double *d, const double *X,
                         double *tmp, double *Y)
{
    for (size_t i = 0; i < cols; i++)
        for (size_t p = 0; p < P; p++) tmp[i * P + p] = d[i] * X[i * P + p];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)P, (int)cols, 1.0, W, (int)cols, tmp,
                (int)P, 0.0, Y, (int)P);
}

/* The forward pass: d (sum of N_1..N_L doubles, layer l at off[l]); DW_ERR_RANGE names the layer where h or phi'
 * stops being finite. Act-first blocks: d^l = phi'(x_{l-1}) (square layers). */
static dw_status forward(const dw_spec_fnet *net, const double *x, double *d, const size_t *off)
{
    size_t nmax = 0;
    for (int l = 0; l <= net->depth; l++) nmax = net->width[l] > nmax ? net->width[l] : nmax;
    double *buf = dw_alloc(3 * nmax, sizeof(double), "network forward pass");
    if (!buf) return DW_ERR_NOMEM;
    double *a = buf, *h = buf + nmax, *an = buf + 2 * nmax;
    memcpy(a, x, net->width[0] * sizeof(double));
    for (int l = 0; l < net->depth; l++) {
        const size_t r = net->width[l + 1], c = net->width[l];
        if (net->act_first) { /* h = phi(x), d = phi'(x); x' = gamma x + alpha (W h + b) */
            dw_act_eval(net->act, c, a, h, d + off[l]);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)r, (int)c, 1.0, net->W[l], (int)c, h, 1, 0.0, an, 1);
            for (size_t i = 0; i < r; i++)
                an[i] = net->gamma[l] * a[i] + net->alpha[l] * (an[i] + (net->b && net->b[l] ? net->b[l][i] : 0));
        } else
            forward_layer(net->act, r, c, net->W[l], net->b ? net->b[l] : NULL, a, h, an, d + off[l]);
        if (net->gamma && !net->act_first)
            for (size_t i = 0; i < r; i++) an[i] = net->gamma[l] * a[i] + net->alpha[l] * an[i];
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

static dw_status alloc_d(const dw_spec_fnet *net, double **d, size_t **off)
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

static int single_threaded(const dw_spec_fnet *net)
{
    for (int l = 0; l <= net->depth; l++)
        if (net->width[l] >= DW_NET_THREADED_WIDTH) return 0;
    return 1;
}

/* One network's Jacobian or Hutchinson estimate, as the one item of a dw_par_for on one worker (BLAS
 * single-threaded). */
typedef struct body_job {
    const dw_spec_fnet *f;
    const double *x;
    double *J, *s2;                   /* Jacobian */
    const dw_spectrum_sample_opts *o; /* Hutchinson (NULL: Jacobian) */
    double *m, *se;
} body_job;

static dw_status body_item(void *ctx, size_t i, int tid)
{
    const body_job *j = ctx;
    (void)i, (void)tid;
    if (!j->o) return dw_spec_jacobian_body(j->f, j->x, j->J, j->s2);
    return dw_spec_hutchinson_body(j->f, j->x, j->o->K, j->o->probes, j->o->seed, j->m, j->se);
}

dw_status dw_spectrum_network_jacobian(const dw_net *net, const double *x, double *J, double *s2)
{
    dw_spec_fnet f;
    dw_status st = dw_spec_fnet_of(net, &f);
    if (st) return st;
    if ((st = check_fnet(&f, x))) goto done;
    if (!single_threaded(&f)) {
        st = dw_spec_jacobian_body(&f, x, J, s2);
        goto done;
    }
    body_job job = {.f = &f, .x = x, .J = J, .s2 = s2};
    st = dw_par_for(1, 1, body_item, &job);
done:
    dw_spec_fnet_free(&f);
    return st;
}

dw_status dw_spectrum_network_hutchinson(const dw_net *net, const dw_spectrum_sample_opts *o, const double *x,
                                         double *m, double *se)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "hutchinson: NULL options");
    dw_spec_fnet f;
    dw_status st = dw_spec_fnet_of(net, &f);
    if (st) return st;
    if ((st = check_fnet(&f, x))) goto done;
    if (!single_threaded(&f)) {
        st = dw_spec_hutchinson_body(&f, x, o->K, o->probes, o->seed, m, se);
        goto done;
    }
    body_job job = {.f = &f, .x = x, .o = o, .m = m, .se = se};
    st = dw_par_for(1, 1, body_item, &job);
done:
    dw_spec_fnet_free(&f);
    return st;
}

dw_status dw_spec_jacobian_body(const dw_spec_fnet *net, const double *x, double *J, double *s2)
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
    double *U = net->act_first ? dw_alloc(nmax * n0, sizeof(double), "Jacobian") : NULL;
    if (!M || !T || (net->act_first && !U)) {
        st = DW_ERR_NOMEM;
        goto done_m;
    }
    /* M = D_1 W^1, then M <- D_l W^l M (residual: M = I, then M <- gamma M + alpha D_l W^l M) */
    if (net->gamma) {
        for (size_t i = 0; i < n0 * n0; i++) M[i] = 0;
        for (size_t i = 0; i < n0; i++) M[i * n0 + i] = 1;
    } else {
        const size_t r = net->width[1];
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < n0; j++) M[i * n0 + j] = d[i] * net->W[0][i * n0 + j];
    }
    for (int l = net->gamma ? 0 : 1; l < net->depth; l++) {
        if (net->act_first) layer_jvp_af(net->width[l + 1], net->width[l], n0, net->W[l], d + off[l], M, U, T);
        else layer_jvp(net->width[l + 1], net->width[l], n0, net->W[l], d + off[l], M, T);
        if (net->gamma)
            for (size_t i = 0; i < n0 * n0; i++) T[i] = net->gamma[l] * M[i] + net->alpha[l] * T[i];
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
    free(U);
done_d:
    free(d);
    free(off);
    return st;
}

uint64_t dw_spec_splitmix64(uint64_t z)
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
        uint64_t key = dw_spec_splitmix64(seed ^ dw_spec_splitmix64((uint64_t)p + 0x632BE59BD9B4E019ull));
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 64 == 0) bits = dw_spec_splitmix64(key + (uint64_t)(i / 64));
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

dw_status dw_spec_hutchinson_body(const dw_spec_fnet *net, const double *x, int K, size_t probes,
                                 unsigned long long seed, double *m, double *se)
{
    dw_status st;
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is outside 1..%d (the supported maximum)", K, DW_SPECTRUM_KMAX);
    if (probes < 2 || probes > 1000000)
        return dw_fail(DW_ERR_INVALID, "probes: %zu; Hutchinson needs 2..1000000 (the standard error needs two)",
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
    double *C = net->gamma ? dw_alloc(nmax * P, sizeof(double), "probes") : NULL; /* residual: the skip's copy */
    if (!A || !B || !est || (net->gamma && !C)) {
        st = DW_ERR_NOMEM;
        goto done;
    }
    if ((st = forward(net, x, d, off))) goto done;
    rademacher((uint64_t)seed, n0, P, A);
    for (int k = 0; k < K;) {
        /* B = J A (A: N_0 x P), then A = J^T B */
        for (int l = 0; l < net->depth; l++) {
            if (net->act_first) layer_jvp_af(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], A, C, B);
            else layer_jvp(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], A, B);
            if (net->gamma)
                for (size_t i = 0; i < n0 * P; i++) B[i] = net->gamma[l] * A[i] + net->alpha[l] * B[i];
            double *t = A;
            A = B;
            B = t;
        }
        probe_norms(net->width[net->depth], P, A, (double)n0, est + (size_t)k * P);
        if (++k == K) break;
        for (int l = net->depth - 1; l >= 0; l--) {
            if (net->act_first) { /* B = gamma A + alpha D W^T A */
                const size_t r = net->width[l + 1], c = net->width[l];
                const double *dl = d + off[l];
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c, (int)P, (int)r, 1.0, net->W[l], (int)c, A,
                            (int)P, 0.0, B, (int)P);
                for (size_t i = 0; i < c; i++)
                    for (size_t p = 0; p < P; p++)
                        B[i * P + p] = net->gamma[l] * A[i * P + p] + net->alpha[l] * dl[i] * B[i * P + p];
            } else if (net->gamma) {
                memcpy(C, A, n0 * P * sizeof(double)); /* layer_vjp scales its input by D in place */
                layer_vjp(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], C, B);
                for (size_t i = 0; i < n0 * P; i++) B[i] = net->gamma[l] * A[i] + net->alpha[l] * B[i];
            } else {
                layer_vjp(net->width[l + 1], net->width[l], P, net->W[l], d + off[l], A, B);
            }
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
    free(C);
    free(est);
    free(d);
    free(off);
    return st;
}
