/* Random linear CDEs / selective state-space models (theory.md 5.2): the LCDE kernel recursion (exact width limit on
 * the grid), forward passes with given weights, and the sampler; with the helpers the cResNet sampler (cresnet.c)
 * shares (Philox weight rows, a thread-count-independent product, the overflow check).
 *
 * Random numbers: Philox streams (src/core/rng.h) keyed by (seed, sample, b, c), one stream per matrix row, so a
 * draw does not depend on the number of threads:
 *   LCDE:    b = 0: A_i row r at c = i N + r;  b = 1: B row r;  b = 2: C row r;  b = 3: c (c = 0).
 *   cResNet: b = 0: z_0;  b = 1: shared weights (homogeneous);  b = 2 + m: the fresh weights of step m
 *            (inhomogeneous);  A_k row r at c = k (N + 1) + r, b_k at c = k (N + 1) + N.
 * Weights are plain Gaussians (dw_rng_normal); other weight laws belong to src/sampling.
 */
#include "core/par.h"
#include "core/rng.h"
#include "sig/sig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Z (batch x N) = Y (batch x K) M^T for M (N x K), rows of M in parallel blocks; plain loops with a fixed summation
 * order (4 partial sums), so results do not depend on the thread count (BLAS called outside a parallel region would
 * also spin up its own threads against ours). */
/* Contiguous row ranges, one per worker, as OpenMP's static schedule splits a loop (each row's result depends on
 * that row only, so the split changes nothing in the results). Item k of nw covers [rows k / nw, rows (k+1) / nw). */
static size_t range_lo(size_t rows, size_t k, size_t nw) { return rows / nw * k + (k < rows % nw ? k : rows % nw); }

typedef struct matmul_job {
    const double *M, *Y;
    size_t N, K, batch, nw;
    double *Z;
} matmul_job;

static dw_status matmul_rows(void *ctx, size_t it, int tid)
{
    const matmul_job *j = ctx;
    (void)tid;
    const size_t K = j->K, N = j->N;
    for (size_t r = range_lo(N, it, j->nw); r < range_lo(N, it + 1, j->nw); r++) {
        const double *m = j->M + r * K;
        for (size_t b = 0; b < j->batch; b++) {
            const double *y = j->Y + b * K;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            size_t k = 0;
            for (; k + 4 <= K; k += 4) {
                s0 += m[k] * y[k];
                s1 += m[k + 1] * y[k + 1];
                s2 += m[k + 2] * y[k + 2];
                s3 += m[k + 3] * y[k + 3];
            }
            for (; k < K; k++) s0 += m[k] * y[k];
            j->Z[b * N + r] = (s0 + s1) + (s2 + s3);
        }
    }
    return DW_OK;
}

/* Z (batch x N) = Y (batch x K) M^T for M (N x K), rows of M in parallel blocks; plain loops with a fixed summation
 * order (4 partial sums), so results do not depend on the thread count (BLAS called outside a parallel region would
 * also spin up its own threads against ours). */
void dw_sig_matmul_t(const double *M, size_t N, size_t K, const double *Y, size_t batch, double *Z, int threads)
{
    const int thr = (double)N * K * batch > 4e6 ? threads : 1;
    matmul_job job = {M, Y, N, K, batch, (size_t)dw_par_workers(N, thr), Z};
    (void)dw_par_for(job.nw, thr, matmul_rows, &job);
}

/* Resolve the channel lists (0 entries: all d channels) into owned arrays. */
static dw_status channels(const char *what, size_t n, const size_t *idx, size_t d, size_t **out, size_t *cnt)
{
    if (n && !idx) return dw_fail(DW_ERR_INVALID, "%s channels: NULL list", what);
    const size_t c = n ? n : d;
    size_t *v = dw_alloc(c, sizeof(size_t), "channel list");
    if (!v) return DW_ERR_NOMEM;
    for (size_t k = 0; k < c; k++) {
        v[k] = n ? idx[k] : k;
        if (v[k] >= d) {
            const size_t bad = v[k];
            free(v);
            return dw_fail(DW_ERR_INVALID, "%s channels: index %zu is out of range (the paths have %zu channels, "
                                           "numbered from 0)",
                           what, bad, d);
        }
    }
    *out = v;
    *cnt = c;
    return DW_OK;
}

static dw_status check_lcde_opts(const dw_sig_lcde_opts *o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "lcde: NULL options");
    return DW_OK;
}

/* Pair (i, c) = (q / m, q % m) of the LCDE kernel, as a dw_par_for item (symmetric: c >= i only); each worker has
 * its own two rows. */
typedef struct lcde_kernel_job {
    const double *X, *Y;
    size_t m, lx, ly, d;
    const size_t *gate, *inp;
    size_t ng, ni;
    double sB2, sC2, sc2;
    int sym;
    double *K;
    double *rows; /* per worker: 2 ly doubles */
} lcde_kernel_job;

static dw_status lcde_kernel_pair(void *ctx, size_t q, int tid)
{
    const lcde_kernel_job *j = ctx;
    const size_t m = j->m, lx = j->lx, ly = j->ly, d = j->d, i = q / m, c = q % m;
    const size_t *gate = j->gate, *inp = j->inp, ng = j->ng, ni = j->ni;
    const double sB2 = j->sB2, sC2 = j->sC2, sc2 = j->sc2;
    if (j->sym && c < i) return DW_OK;
    double *P = j->rows + (size_t)tid * 2 * ly;
    double *Q = P + ly;
    const double *x = j->X + i * lx * d, *y = j->Y + c * ly * d;
    double x0y0 = 0.0;
    for (size_t k = 0; k < d; k++) x0y0 += x[k] * y[k];
    const double edge = sC2 * x0y0 + sc2;
    for (size_t b = 0; b < ly; b++) P[b] = edge;
    for (size_t a = 0; a + 1 < lx; a++) {
        const double *xa = x + a * d, *xa1 = xa + d;
        Q[0] = edge;
        for (size_t b = 0; b + 1 < ly; b++) {
            const double *yb = y + b * d, *yb1 = yb + d;
            double go = 0.0, gi = 0.0;
            for (size_t k = 0; k < ng; k++) go += (xa1[gate[k]] - xa[gate[k]]) * (yb1[gate[k]] - yb[gate[k]]);
            for (size_t k = 0; k < ni; k++) gi += (xa1[inp[k]] - xa[inp[k]]) * (yb1[inp[k]] - yb[inp[k]]);
            Q[b + 1] = Q[b] + P[b + 1] - P[b] + go * P[b] + sB2 * gi;
        }
        memcpy(P, Q, ly * sizeof(double));
    }
    j->K[i * m + c] = P[ly - 1];
    if (j->sym) j->K[c * m + i] = P[ly - 1];
    return DW_OK;
}

dw_status dw_sig_lcde_kernel(const dw_sig_lcde_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                             size_t m, size_t ly, size_t d, double *K)
{
    dw_status s = check_lcde_opts(o);
    if (s) return s;
    if (o->diagonal)
        return dw_fail(DW_ERR_INVALID, "lcde kernel: the recursion of theory.md 5.2 is the width limit of dense A "
                                       "(entries N(0, 1/N)); diagonal models have no such limit here");
    if ((s = dw_sig_check_paths(X, n, lx, d, "X"))) return s;
    if (Y && (s = dw_sig_check_paths(Y, m, ly, d, "Y"))) return s;
    if (!K) return dw_fail(DW_ERR_INVALID, "lcde kernel: NULL output");
    const int sym = Y == NULL;
    if (sym) {
        Y = X;
        m = n;
        ly = lx;
    }
    size_t *gate = NULL, *inp = NULL, ng = 0, ni = 0;
    if ((s = channels("gate", o->n_gate, o->gate, d, &gate, &ng))) return s;
    if ((s = channels("input", o->n_input, o->input, d, &inp, &ni))) {
        free(gate);
        return s;
    }
    if ((s = dw_core_check_alloc(16.0 * (double)(ly + 1) * dw_core_threads(o->threads), "the LCDE kernel rows"))) {
        free(gate);
        free(inp);
        return s;
    }
    const double sB2 = o->sigma_B * o->sigma_B, sC2 = o->sigma_C * o->sigma_C, sc2 = o->sigma_c * o->sigma_c;
    const int thr = (double)n * m * lx * ly > 1e5 ? dw_core_threads(o->threads) : 1;
    double *rows = malloc((size_t)dw_par_workers(n * m, thr) * 2 * ly * sizeof(double));
    const int failed = !rows;
    if (rows) {
        lcde_kernel_job job = {X, Y, m, lx, ly, d, gate, inp, ng, ni, sB2, sC2, sc2, sym, K, rows};
        (void)dw_par_for(n * m, thr, lcde_kernel_pair, &job);
    }
    free(rows);
    free(gate);
    free(inp);
    if (failed) return dw_fail(DW_ERR_NOMEM, "lcde kernel work space: out of memory");
    for (size_t q = 0; q < n * m; q++)
        if (!isfinite(K[q]))
            return dw_fail(DW_ERR_RANGE, "LCDE kernel of pair (%zu, %zu) overflows (not finite); rescale the paths",
                           q / m + 1, q % m + 1);
    return DW_OK;
}

/* The recursion with given weights; out is batch x len x N; tmp holds (ni + 1) + 2 N batch doubles. */
static void lcde_run(const dw_sig_lcde_opts *o, size_t N, const double *A, const double *B, const double *C,
                     const double *c, const size_t *gate, size_t ng, const size_t *inp, size_t ni, const double *X,
                     size_t batch, size_t len, size_t d, double *out, double *tmp)
{
    const int nt = dw_core_threads(o->threads);
    double *Yt = tmp + ni + 1, *Z = Yt + N * batch, *u = tmp;
    /* Y_0 = C x_0 + c for every path */
    for (size_t b = 0; b < batch; b++) {
        double *y = out + b * len * N;
        for (size_t r = 0; r < N; r++) {
            double v = c ? c[r] : 0.0;
            for (size_t k = 0; k < d; k++) v += C[r * d + k] * X[b * len * d + k];
            y[r] = v;
        }
    }
    for (size_t t = 0; t + 1 < len; t++) {
        for (size_t b = 0; b < batch; b++) memcpy(Yt + b * N, out + (b * len + t) * N, N * sizeof(double));
        for (size_t b = 0; b < batch; b++) memcpy(out + (b * len + t + 1) * N, Yt + b * N, N * sizeof(double));
        for (size_t i = 0; i < ng; i++) {
            if (o->diagonal) {
                const double *a = A + i * N;
                for (size_t b = 0; b < batch; b++) {
                    const double *x = X + (b * len + t) * d;
                    const double dw = x[d + gate[i]] - x[gate[i]];
                    double *yn = out + (b * len + t + 1) * N;
                    const double *y = Yt + b * N;
                    for (size_t r = 0; r < N; r++) yn[r] += dw * a[r] * y[r];
                }
            } else {
                dw_sig_matmul_t(A + i * N * N, N, N, Yt, batch, Z, nt);
                for (size_t b = 0; b < batch; b++) {
                    const double *x = X + (b * len + t) * d;
                    const double dw = x[d + gate[i]] - x[gate[i]];
                    double *yn = out + (b * len + t + 1) * N;
                    for (size_t r = 0; r < N; r++) yn[r] += dw * Z[b * N + r];
                }
            }
        }
        if (B) {
            for (size_t b = 0; b < batch; b++) {
                const double *x = X + (b * len + t) * d;
                double *yn = out + (b * len + t + 1) * N;
                for (size_t k = 0; k < ni; k++) u[k] = x[d + inp[k]] - x[inp[k]];
                for (size_t r = 0; r < N; r++) {
                    double v = 0.0;
                    for (size_t k = 0; k < ni; k++) v += B[r * ni + k] * u[k];
                    yn[r] += v;
                }
            }
        }
    }
}

static dw_status lcde_prepare(const dw_sig_lcde_opts *o, size_t N, const double *X, size_t batch, size_t len,
                              size_t d, size_t **gate, size_t *ng, size_t **inp, size_t *ni)
{
    dw_status s = check_lcde_opts(o);
    if (s) return s;
    if (N == 0) return dw_fail(DW_ERR_INVALID, "width: must be at least 1");
    if (N > 1000000) return dw_fail(DW_ERR_INVALID, "width: %zu is above the maximum 1000000", N);
    if ((s = dw_sig_check_paths(X, batch, len, d, "X"))) return s;
    if ((s = channels("gate", o->n_gate, o->gate, d, gate, ng))) return s;
    if ((s = channels("input", o->n_input, o->input, d, inp, ni))) {
        free(*gate);
        return s;
    }
    return DW_OK;
}

dw_status dw_sig_check_states(const double *out, size_t count, const char *what)
{
    for (size_t q = 0; q < count; q++)
        if (!isfinite(out[q]))
            return dw_fail(DW_ERR_RANGE, "%s: the hidden state overflows (entry %zu is not finite); rescale the paths "
                                         "or the variances",
                           what, q + 1);
    return DW_OK;
}

dw_status dw_sig_lcde_forward(const dw_sig_lcde_opts *o, size_t N, const double *A, const double *B, const double *C,
                              const double *c, const double *X, size_t batch, size_t len, size_t d, double *out)
{
    size_t *gate, *inp, ng, ni;
    dw_status s = lcde_prepare(o, N, X, batch, len, d, &gate, &ng, &inp, &ni);
    if (s) return s;
    if (!A || !C || !out) {
        free(gate);
        free(inp);
        return dw_fail(DW_ERR_INVALID, "lcde forward: NULL A, C or output");
    }
    double *tmp = dw_alloc(ni + 1 + 2 * N * batch, sizeof(double), "LCDE work space");
    if (!tmp) {
        free(gate);
        free(inp);
        return DW_ERR_NOMEM;
    }
    lcde_run(o, N, A, B, C, c, gate, ng, inp, ni, X, batch, len, d, out, tmp);
    free(tmp);
    free(gate);
    free(inp);
    return dw_sig_check_states(out, batch * len * N, "lcde");
}

typedef struct fill_job {
    double *M;
    size_t rows, cols, nw;
    double sd;
    uint64_t seed, sample, b, c0;
} fill_job;

static dw_status fill_item(void *ctx, size_t it, int tid)
{
    const fill_job *j = ctx;
    (void)tid;
    for (size_t r = range_lo(j->rows, it, j->nw); r < range_lo(j->rows, it + 1, j->nw); r++) {
        dw_rng g;
        dw_rng_init(&g, j->seed, j->sample, j->b, j->c0 + r);
        dw_rng_normals(&g, j->M + r * j->cols, j->cols);
        for (size_t k = 0; k < j->cols; k++) j->M[r * j->cols + k] *= j->sd;
    }
    return DW_OK;
}

void dw_sig_fill_rows(double *M, size_t rows, size_t cols, double sd, uint64_t seed, uint64_t sample, uint64_t b,
                      uint64_t c0, int threads)
{
    const int thr = (double)rows * cols > 1e6 ? threads : 1;
    fill_job job = {M, rows, cols, (size_t)dw_par_workers(rows, thr), sd, seed, sample, b, c0};
    (void)dw_par_for(job.nw, thr, fill_item, &job);
}

dw_status dw_sig_lcde_sample(const dw_sig_lcde_opts *o, size_t N, size_t samples, unsigned long long seed,
                             bool all_times, const double *X, size_t batch, size_t len, size_t d, double *out)
{
    size_t *gate, *inp, ng, ni;
    dw_status s = lcde_prepare(o, N, X, batch, len, d, &gate, &ng, &inp, &ni);
    if (s) return s;
    if (!out || samples == 0) {
        free(gate);
        free(inp);
        return dw_fail(DW_ERR_INVALID, "lcde sample: NULL output or no samples");
    }
    const double asz = o->diagonal ? (double)ng * N : (double)ng * N * N;
    const double bytes = 8.0 * (asz + (double)N * (ni + d + 1) + (double)batch * len * N + ni + 1 + 2.0 * N * batch);
    if ((s = dw_core_check_alloc(bytes, "the LCDE weights and states"))) {
        free(gate);
        free(inp);
        return s;
    }
    const size_t na = (size_t)asz;
    double *A = dw_alloc(na + 1, sizeof(double), "LCDE weights A");
    double *B = dw_alloc(N * ni + 1, sizeof(double), "LCDE weights B");
    double *C = dw_alloc(N * d, sizeof(double), "LCDE weights C");
    double *c = dw_alloc(N, sizeof(double), "LCDE weights c");
    double *st = dw_alloc(batch * len, N * sizeof(double), "LCDE states");
    double *tmp = dw_alloc(ni + 1 + 2 * N * batch, sizeof(double), "LCDE work space");
    const int nt = dw_core_threads(o->threads);
    if (!A || !B || !C || !c || !st || !tmp) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    for (size_t smp = 0; smp < samples; smp++) {
        if (o->diagonal) dw_sig_fill_rows(A, ng, N, o->sigma_A, seed, smp, 0, 0, nt);
        else dw_sig_fill_rows(A, ng * N, N, 1.0 / sqrt((double)N), seed, smp, 0, 0, nt);
        dw_sig_fill_rows(B, N, ni, o->sigma_B, seed, smp, 1, 0, nt);
        dw_sig_fill_rows(C, N, d, o->sigma_C, seed, smp, 2, 0, nt);
        dw_sig_fill_rows(c, 1, N, o->sigma_c, seed, smp, 3, 0, 1);
        lcde_run(o, N, A, o->sigma_B > 0 ? B : NULL, C, c, gate, ng, inp, ni, X, batch, len, d, st, tmp);
        for (size_t b = 0; b < batch; b++) {
            if (all_times)
                memcpy(out + (smp * batch + b) * len * N, st + b * len * N, len * N * sizeof(double));
            else
                memcpy(out + (smp * batch + b) * N, st + (b * len + len - 1) * N, N * sizeof(double));
        }
    }
    s = dw_sig_check_states(out, samples * batch * (all_times ? len : 1) * N, "lcde");
done:
    free(A);
    free(B);
    free(C);
    free(c);
    free(st);
    free(tmp);
    free(gate);
    free(inp);
    return s;
}
