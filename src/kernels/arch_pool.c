/* Pooling layers of the architecture engine (theory.md 7): AvgPool / SumPool are linear maps applied to each
 * side's positions independently (Sigma'_IJ = sum over i in window I, j in window J of c_I c_J Sigma_ij), one
 * axis and one side at a time; GlobalAvgPool / GlobalSumPool sum every pair of positions; Flatten keeps the mean of
 * the diagonal (a dense layer after it has fan-in P C). Neural Tangents' conventions, normalize_edges included. */
#include "kernels/arch.h"

#include <string.h>

/* out[a][I][b] = c_I sum_t in[a][I s + t - lo][b] over the window's positions inside the input (zero padding), or
 * wrapping (CIRCULAR); c_I = 1 (sum), 1/f (average) or 1/(positions inside) (average, normalize_edges). */
static void win1d(const double *in, double *out, size_t A, size_t N, size_t B, size_t O, const arch_op *op, int k)
{
    const size_t f = op->l->window[k], s = op->l->stride[k], lo = op->lo[k];
    const bool circ = op->l->padding == DW_PAD_CIRCULAR;
    for (size_t a = 0; a < A; a++)
        for (size_t I = 0; I < O; I++) {
            double *od = out + (a * O + I) * B;
            memset(od, 0, B * sizeof *od);
            size_t inside = 0;
            for (size_t t = 0; t < f; t++) {
                long i = (long)(I * s + t) - (long)lo;
                if (circ) {
                    i %= (long)N;
                    if (i < 0) i += (long)N;
                } else if (i < 0 || i >= (long)N) {
                    continue;
                }
                inside++;
                const double *id = in + (a * N + (size_t)i) * B;
                for (size_t b = 0; b < B; b++) od[b] += id[b];
            }
            const double c = !op->l->average ? 1.0
                             : op->l->normalize_edges && op->l->padding == DW_PAD_SAME ? 1.0 / (double)inside
                                                                                          : 1.0 / (double)f;
            for (size_t b = 0; b < B; b++) od[b] *= c;
        }
}

static void pool_one(const arch_op *op, bool full, double *a, double *tmp)
{
    size_t dims[DW_NET_SPATIAL_MAX];
    const int r = op->in.rank;
    memcpy(dims, op->in.dim, sizeof dims);
    double *src = a, *dst = tmp;
    for (int k = 0; k < r; k++) {
        size_t A = 1, B = 1, P = 1;
        for (int q = 0; q < k; q++) A *= dims[q];
        for (int q = k + 1; q < r; q++) B *= dims[q];
        for (int q = 0; q < r; q++) P *= dims[q];
        const size_t N = dims[k], O = op->out.dim[k];
        if (full) {
            /* side x: [A][N][B * P] -> [A][O][B * P]; then side y: [(A O B) A][N][B] -> [(A O B) A][O][B] */
            win1d(src, dst, A, N, B * P, O, op, k);
            win1d(dst, src, A * O * B * A, N, B, O, op, k);
        } else {
            win1d(src, dst, A, N, B, O, op, k);
            double *x = src;
            src = dst;
            dst = x;
        }
        dims[k] = O;
    }
    if (src != a) memcpy(a, src, (full ? op->out.P * op->out.P : op->out.P) * sizeof *a);
}

void dw_arch_pool(const arch_op *op, bool full, double *K, double *T, double *tmp)
{
    pool_one(op, full, K, tmp);
    if (T) pool_one(op, full, T, tmp);
}

static double reduce(const arch_op *op, bool full, const double *a)
{
    const size_t P = op->in.P;
    double s = 0.0;
    if (op->k == OP_FLATTEN || !full) { /* the diagonal */
        for (size_t i = 0; i < P; i++) s += full ? a[i * P + i] : a[i];
        return op->k == OP_FLATTEN || op->l->average ? s / (double)P : s;
    }
    for (size_t i = 0; i < P * P; i++) s += a[i];
    return op->l->average ? s / ((double)P * (double)P) : s;
}

void dw_arch_gpool(const arch_op *op, bool full, double *K, double *T)
{
    K[0] = reduce(op, full, K);
    if (T) T[0] = reduce(op, full, T);
}
