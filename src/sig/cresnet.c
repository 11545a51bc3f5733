/* Random controlled ResNets (theory.md 5.1): the sampler whose width limit is the neural signature kernel on the
 * data grid. Random numbers: Philox streams (src/core/rng.h) keyed by (seed, sample, b, c), one stream per matrix
 * row (see lcde.c for the LCDE's): b = 0: z_0;  b = 1: shared weights (homogeneous);  b = 2 + m: the fresh weights
 * of step m (inhomogeneous);  A_k row r at c = k (N + 1) + r, b_k at c = k (N + 1) + N. */
#include "sig/sig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_sig_cresnet_sample(const dw_sig_nsk_opts *o, size_t N, size_t samples, unsigned long long seed,
                                bool all_times, const double *X, size_t batch, size_t len, size_t d, double *out)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "cresnet: NULL options");
    if (!o->act) return dw_fail(DW_ERR_INVALID, "act: no activation given");
    if (N == 0) return dw_fail(DW_ERR_INVALID, "width: must be at least 1");
    if (N > 1000000) return dw_fail(DW_ERR_INVALID, "width: %zu is above the maximum 1000000", N);
    dw_status s = dw_sig_check_paths(X, batch, len, d, "X");
    if (s) return s;
    if (!out || samples == 0) return dw_fail(DW_ERR_INVALID, "cresnet: NULL output or no samples");
    const double bytes = 8.0 * ((double)d * N * (N + 1) + 3.0 * (double)batch * N + (double)batch * len * N);
    if ((s = dw_core_check_alloc(bytes, "the controlled-ResNet weights and states"))) return s;
    const size_t M = len - 1;
    double *W = dw_alloc(d * (N + 1), N * sizeof(double), "cResNet weights"); /* A_k rows then b_k, per k */
    double *Yc = dw_alloc(batch, N * sizeof(double), "cResNet states");
    double *Ph = dw_alloc(batch, N * sizeof(double), "cResNet states");
    double *Z = dw_alloc(batch, N * sizeof(double), "cResNet states");
    double *z0 = dw_alloc(N, sizeof(double), "cResNet states");
    const int nt = dw_core_threads(o->threads);
    if (!W || !Yc || !Ph || !Z || !z0) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    const double sa = o->sigma_a / sqrt((double)N);
    const double tscale = o->inhomogeneous ? sqrt((double)M) : 1.0; /* dt^-1/2 with t_m = m / M */
    for (size_t smp = 0; smp < samples && !s; smp++) {
        dw_sig_fill_rows(z0, 1, N, o->sigma0, seed, smp, 0, 0, 1);
        for (size_t b = 0; b < batch; b++) {
            memcpy(Yc + b * N, z0, N * sizeof(double));
            if (all_times) memcpy(out + ((smp * batch + b) * len) * N, z0, N * sizeof(double));
        }
        if (!o->inhomogeneous) dw_sig_fill_rows(W, d * (N + 1), N, 1.0, seed, smp, 1, 0, nt);
        for (size_t t = 0; t < M && !s; t++) {
            if (o->inhomogeneous) dw_sig_fill_rows(W, d * (N + 1), N, 1.0, seed, smp, 2 + t, 0, nt);
            if ((s = dw_act_eval(o->act, batch * N, Yc, Ph, NULL))) break;
            for (size_t k = 0; k < d; k++) {
                /* Z = phi(Y) A_k^T; Y += (sa Z + sigma_b b_k) dx^k tscale, per path */
                dw_sig_matmul_t(W + k * (N + 1) * N, N, N, Ph, batch, Z, nt);
                const double *bk = W + (k * (N + 1) + N) * N;
                for (size_t b = 0; b < batch; b++) {
                    const double dx = (X[(b * len + t + 1) * d + k] - X[(b * len + t) * d + k]) * tscale;
                    if (dx == 0.0) continue;
                    double *y = Yc + b * N;
                    const double *z = Z + b * N;
                    for (size_t r = 0; r < N; r++) y[r] += (sa * z[r] + o->sigma_b * bk[r]) * dx;
                }
            }
            if (all_times)
                for (size_t b = 0; b < batch; b++)
                    memcpy(out + ((smp * batch + b) * len + t + 1) * N, Yc + b * N, N * sizeof(double));
        }
        if (!s && !all_times) memcpy(out + smp * batch * N, Yc, batch * N * sizeof(double));
    }
    if (!s) s = dw_sig_check_states(out, samples * batch * (all_times ? len : 1) * N, "cresnet");
done:
    free(W);
    free(Yc);
    free(Ph);
    free(Z);
    free(z0);
    return s;
}
