/* Dense layers of the architecture engine (theory.md 7; Neural Tangents' conventions): a dense layer acts on the
 * channels at every position, so every entry of the covariance moves alike; and the network's input. */
#include "kernels/arch.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Sigma^0_ij(x, y) = x_i . y_j / C, the input's covariance over positions (channels averaged); Theta^0 = 0. */
void dw_arch_input(const arch_op *op, bool full, const double *x, const double *y, size_t d, double *K, double *T)
{
    if (op->flat) { /* the input flattened: one position, all d features; the sum by fused multiply-adds in the
                     * order of the features, as the block runner's (the sweeps' dots): the same bits */
        double s = 0.0;
        for (size_t k = 0; k < d; k++) s = fma(x[k], y[k], s);
        K[0] = s / (double)d;
        if (T) T[0] = 0.0;
        return;
    }
    const size_t P = op->out.P, C = d / P;
    const double inv = 1.0 / (double)C;
    if (full) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P, (int)P, (int)C, inv, x, (int)C, y, (int)C, 0.0, K,
                    (int)P);
    } else if (C == 1) { /* one channel (grey images, sequences): a product per position */
        for (size_t i = 0; i < P; i++) K[i] = x[i] * y[i];
    } else {
        for (size_t i = 0; i < P; i++) {
            double s = 0.0;
            for (size_t c = 0; c < C; c++) s += x[i * C + c] * y[i * C + c];
            K[i] = s * inv;
        }
    }
    if (T) memset(T, 0, (full ? P * P : P) * sizeof *T);
}

/* The affine step shared with convolutions, on n entries: K' = wv K + bv; Theta' = K' + wv Theta (NTK
 * parameterisation) or fan_in K + wv Theta (+ 1 with a bias) (standard). K holds the (convolved) K before. */
DW_LANES void dw_arch_affine(const arch_op *op, size_t n, double *restrict K, double *restrict T)
{
    const double wv = op->wv, bv = op->has_bias ? op->bv : 0.0, one = op->has_bias ? 1.0 : 0.0, fan = op->fan_in;
    if (!T) {
        for (size_t j = 0; j < n; j++) K[j] = wv * K[j] + bv;
    } else if (op->standard) {
        for (size_t j = 0; j < n; j++) {
            T[j] = fan * K[j] + wv * T[j] + one;
            K[j] = wv * K[j] + bv;
        }
    } else { /* one pass: T' = K' + w T with K' = w K + b */
        for (size_t j = 0; j < n; j++) {
            const double k = wv * K[j] + bv;
            T[j] = k + wv * T[j];
            K[j] = k;
        }
    }
}

void dw_arch_dense(const arch_op *op, bool full, double *K, double *T)
{
    dw_arch_affine(op, full ? op->in.P * op->in.P : op->in.P, K, T);
}
