/* LayerNorm and Dropout of the architecture engine (theory.md 7; Neural Tangents' conventions). LayerNorm over the
 * channels divides Sigma_ij(x, y) by sqrt((eps + Sigma_ii(x, x)) (eps + Sigma_jj(y, y))) (over the channels and the
 * spatial axes: by the positions' mean variances); Theta alike. The two factors 1 / sqrt(eps + Sigma) are each
 * input's, computed once with its record (dw_arch_ln_fields). Dropout (train mode, keep rate r) multiplies the
 * variance of each position of an input by 1 / r: the diagonal of a pair of the same input. */
#include "kernels/arch.h"

#include <math.h>

void dw_arch_ln_fields(const arch_op *op, double *v)
{
    const size_t P = op->in.P;
    const double eps = op->l->eps;
    if (op->l->spatial) {
        double m = 0.0;
        for (size_t i = 0; i < P; i++) m += v[i];
        v[P] = 1.0 / sqrt(eps + m / (double)P);
        return;
    }
    for (size_t i = 0; i < P; i++) v[P + i] = 1.0 / sqrt(eps + v[i]);
}

void dw_arch_ln(const arch_op *op, bool full, const double *vx, const double *vy, double *K, double *T)
{
    const size_t P = op->in.P;
    const double *fx = vx + P, *fy = vy + P;
    if (op->l->spatial) {
        const double c = fx[0] * fy[0];
        const size_t n = full ? P * P : P;
        for (size_t q = 0; q < n; q++) K[q] *= c;
        if (T)
            for (size_t q = 0; q < n; q++) T[q] *= c;
        return;
    }
    for (size_t i = 0; i < P; i++) {
        if (!full) {
            const double c = fx[i] * fy[i];
            K[i] *= c;
            if (T) T[i] *= c;
            continue;
        }
        for (size_t j = 0; j < P; j++) {
            const double c = fx[i] * fy[j];
            K[i * P + j] *= c;
            if (T) T[i * P + j] *= c;
        }
    }
}

void dw_arch_dropout(const arch_op *op, bool full, bool same, double *K, double *T)
{
    if (!same) return;
    const size_t P = op->in.P;
    for (size_t i = 0; i < P; i++) {
        const size_t q = full ? i * P + i : i;
        K[q] *= op->wv;
        if (T) T[q] *= op->wv;
    }
}
