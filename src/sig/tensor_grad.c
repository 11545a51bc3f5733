/* Reverse-mode (adjoint) versions of the truncated tensor algebra's operations (theory.md 5), kept apart from
 * tensor.c, which holds the forward operations: the backward pass of Chen's step with the prefix reconstructed by
 * the inverse segment exponential (iisignature's memory-light sigbackprop), and the adjoints of the truncated
 * product, the log and exp series and the Lyndon projection (the log-signature's backward, logsigtosig's).
 *
 * Chen's step for level k in Horner form (tensor.c), with Q the prefix signature and h the segment increment:
 *   W_1 = h/k + Q_1,   W_{i+1} = W_i (x) h / (k - i) + Q_{i+1}  (i = 1 .. k-2),   P_k = Q_k + W_{k-1} (x) h.
 * Its adjoint runs the chain backwards: the gradient of W_i (x) h c is contracted with h on the last letter (to W_i)
 * and with W_i on the prefix (to h); every W_i's gradient also lands on Q_i. Level k costs O(d + ... + d^k), as the
 * forward step does, so a backward step costs a few forward steps.
 */
#include "sig/sig.h"

#include <string.h>

#define LANES DW_SIG_LANES

/* The Horner chain of level k forward (W_1 .. W_{k-1} at W + off[i] LANES), then its adjoint: G_k is the gradient of
 * P_k; on exit G_i (i < k) has the level-k contributions to dL/dQ_i added and gh those to dL/dh. GW: scratch of one
 * tensor. LANES paths at once, interleaved. D: the dimension as a compile-time constant (0: t->d). */
static inline void level_back(const dw_tens *t, int k, const double *restrict Q, double *restrict G,
                              const double *restrict h, double *restrict gh, double *restrict W, double *restrict GW,
                              const size_t D)
{
    const size_t d = D ? D : t->d;
    const size_t *off = t->off, *pw = t->pw;
    /* forward chain */
    const double ik = 1.0 / k;
    for (size_t a = 0; a < d * LANES; a++) W[a] = h[a] * ik + Q[a];
    for (int i = 1; i <= k - 2; i++) {
        const double c = 1.0 / (k - i);
        const double *Wi = W + off[i] * LANES, *Qn = Q + off[i + 1] * LANES;
        double *Wn = W + off[i + 1] * LANES;
        for (size_t w = 0; w < pw[i]; w++) {
            double v[LANES];
            for (int l = 0; l < LANES; l++) v[l] = Wi[w * LANES + l] * c;
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++)
                    Wn[(w * d + a) * LANES + l] = v[l] * h[a * LANES + l] + Qn[(w * d + a) * LANES + l];
        }
    }
    /* adjoint: R (the gradient of W_i (x) h c at level i + 1) -> gradient of W_i */
    const double *R = G + off[k] * LANES;
    double c = 1.0;
    for (int i = k - 1; i >= 1; i--) {
        const double *Wi = W + off[i] * LANES;
        double *gW = GW + off[i] * LANES, *Gi = G + off[i] * LANES;
        for (size_t w = 0; w < pw[i]; w++) {
            const double *r = R + w * d * LANES;
            double s[LANES] = {0}, wv[LANES];
            for (int l = 0; l < LANES; l++) wv[l] = Wi[w * LANES + l] * c;
            for (size_t a = 0; a < d; a++)
                for (int l = 0; l < LANES; l++) {
                    s[l] += r[a * LANES + l] * h[a * LANES + l];
                    gh[a * LANES + l] += r[a * LANES + l] * wv[l];
                }
            for (int l = 0; l < LANES; l++) {
                gW[w * LANES + l] = s[l] * c;
                Gi[w * LANES + l] += s[l] * c;
            }
        }
        R = gW;
        c = 1.0 / (k - i + 1);
    }
    /* W_1 = h / k + Q_1 */
    for (size_t a = 0; a < d * LANES; a++) gh[a] += R[a] * ik;
}

static inline void back_body(const dw_tens *t, const double *P, double *G, const double *h, double *gh, double *W,
                             double *GW, const size_t D)
{
    const size_t d = D ? D : t->d;
    for (size_t a = 0; a < d * LANES; a++) gh[a] = G[a]; /* level 1: P_1 = Q_1 + h */
    /* ascending levels: level k reads G_k, which only higher levels have not yet modified, and writes G_i, i < k */
    for (int k = 2; k <= t->n; k++) level_back(t, k, P, G, h, gh, W, GW, D);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void back_levels(const dw_tens *t, const double *P, double *G, const double *h, double *gh, double *W, double *GW)
{
    switch (t->d) {
    case 1: back_body(t, P, G, h, gh, W, GW, 1); break;
    case 2: back_body(t, P, G, h, gh, W, GW, 2); break;
    case 3: back_body(t, P, G, h, gh, W, GW, 3); break;
    case 4: back_body(t, P, G, h, gh, W, GW, 4); break;
    case 5: back_body(t, P, G, h, gh, W, GW, 5); break;
    case 6: back_body(t, P, G, h, gh, W, GW, 6); break;
    default: back_body(t, P, G, h, gh, W, GW, 0); break;
    }
}

void dw_tens_chen_step_backward_lanes(const dw_tens *t, double *P, double *G, const double *h, double *gh,
                                      double *work)
{
    const size_t sz = t->off[t->n + 1], d = t->d;
    double *W = work, *GW = W + sz * LANES, *mh = GW + sz * LANES, *B = mh + d * LANES;
    for (size_t a = 0; a < d * LANES; a++) mh[a] = -h[a];
    dw_sig_chen_lanes(t, P, mh, B); /* P (x) exp(-h) = Q, lane by lane */
    back_levels(t, P, G, h, gh, W, GW);
}

void dw_tens_chen_adjoint_lanes(const dw_tens *t, const double *Q, double *G, const double *h, double *gh,
                                double *work)
{
    const size_t sz = t->off[t->n + 1];
    back_levels(t, Q, G, h, gh, work, work + sz * LANES);
}

void dw_tens_mul_backward(const dw_tens *t, const double *A, const double *B, const double *G, double *gA, double *gB)
{
    for (int k = 2; k <= t->n; k++) {
        const double *Gk = G + t->off[k];
        for (int i = 1; i < k; i++) {
            const double *Ai = A + t->off[i], *Bj = B + t->off[k - i];
            double *gAi = gA + t->off[i], *gBj = gB + t->off[k - i];
            const size_t nb = t->pw[k - i];
            for (size_t u = 0; u < t->pw[i]; u++) {
                const double *g = Gk + u * nb;
                const double a = Ai[u];
                double s = 0.0;
                for (size_t v = 0; v < nb; v++) {
                    s += g[v] * Bj[v];
                    gBj[v] += a * g[v];
                }
                gAi[u] += s;
            }
        }
    }
}

/* Adjoint of tensor.c's series R = sum_k coef[k] X^k in Horner form: R_n = c_n X; R_k = c_k X + X (x) R_{k+1}
 * (k = n-1 .. 1), R = R_1. The R_k are kept at work + (k - 1) sz, then two tensors for the adjoint of R. */
static void series_backward(const dw_tens *t, const double *X, const double *coef, const double *gL, double *gX,
                            double *work)
{
    const int n = t->n;
    const size_t sz = t->off[n + 1];
    double *R = work, *gR = work + (size_t)n * sz, *gN = gR + sz;
    for (size_t i = 0; i < sz; i++) R[(size_t)(n - 1) * sz + i] = coef[n] * X[i];
    for (int k = n - 1; k >= 1; k--) {
        double *Rk = R + (size_t)(k - 1) * sz;
        dw_tens_mul(t, X, Rk + sz, Rk);
        for (size_t i = 0; i < sz; i++) Rk[i] = coef[k] * X[i] + Rk[i];
    }
    memset(gX, 0, sz * sizeof(double));
    memcpy(gR, gL, sz * sizeof(double));
    for (int k = 1; k <= n - 1; k++) {
        for (size_t i = 0; i < sz; i++) gX[i] += coef[k] * gR[i];
        memset(gN, 0, sz * sizeof(double));
        dw_tens_mul_backward(t, X, R + (size_t)k * sz, gR, gX, gN);
        double *tmp = gR;
        gR = gN;
        gN = tmp;
    }
    for (size_t i = 0; i < sz; i++) gX[i] += coef[n] * gR[i];
}

void dw_tens_log_backward(const dw_tens *t, const double *X, const double *gL, double *gX, double *work)
{
    double coef[DW_SIG_MAX_LEVEL + 1];
    for (int k = 1; k <= t->n; k++) coef[k] = (k % 2 ? 1.0 : -1.0) / k;
    series_backward(t, X, coef, gL, gX, work);
}

void dw_tens_exp_backward(const dw_tens *t, const double *L, const double *gE, double *gL, double *work)
{
    double coef[DW_SIG_MAX_LEVEL + 1], f = 1.0;
    for (int k = 1; k <= t->n; k++) {
        f /= k;
        coef[k] = f;
    }
    series_backward(t, L, coef, gE, gL, work);
}

void dw_lyndon_project_adjoint(const dw_lyndon *ly, const dw_tens *t, const double *g, double *gL, double *y)
{
    /* project: out = E L, then for u ascending out[col] -= out[u] coef; the adjoint runs the eliminations in reverse
     * order, transposed, then scatters with E^T */
    memcpy(y, g, ly->count * sizeof(double));
    for (size_t u = ly->count; u-- > 0;) {
        double s = 0.0;
        for (size_t e = ly->start[u]; e < ly->start[u + 1]; e++) s += ly->coef[e] * y[ly->col[e]];
        y[u] -= s;
    }
    memset(gL, 0, t->off[t->n + 1] * sizeof(double));
    for (size_t i = 0; i < ly->count; i++) gL[t->off[ly->level_of[i]] + ly->index[i]] = y[i];
}
