/* Dot products for the architecture engine's flattened input (src/kernels/arch_rows.c), included by sweep_avx2.c
 * and sweep_scalar.c after sweep_body.h (its vector macros: compiled once per instruction set with the sweeps).
 * Rows x_r (nr of them, d features each, row-major) against nl lanes of inputs stored transposed (feature k of lane
 * b at yT[k ld + b]; nl a multiple of 2 VW):
 *   out[r ldo + b] = (sum_k x_r[k] yT[k ld + b]) / d,
 * each sum by fused multiply-adds in the order of k from 0, so that every entry has the arithmetic of the scalar
 * loop s = fma(x[k], y[k], s) (dw_arch_input's, one pair): the same bits whatever the row group, the lane, the
 * block or the build. Four rows and two vectors of lanes at a time share each load. */
static inline void FN(dots_group)(const int nr, size_t d, const double *x, const double *yT, size_t ld, size_t nl,
                                  double *out, size_t ldo)
{
    const VD dv = VSET1((double)d);
    for (size_t b = 0; b < nl; b += 2 * VW) {
        VD acc[4][2];
        for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = VSET1(0.0);
        for (size_t k = 0; k < d; k++) {
            const VD y0 = VLOAD(yT + k * ld + b), y1 = VLOAD(yT + k * ld + b + VW);
            for (int r = 0; r < nr; r++) {
                const VD xr = VSET1(x[(size_t)r * d + k]);
                acc[r][0] = VFMA(xr, y0, acc[r][0]);
                acc[r][1] = VFMA(xr, y1, acc[r][1]);
            }
        }
        for (int r = 0; r < nr; r++) {
            VSTORE(out + (size_t)r * ldo + b, acc[r][0] / dv);
            VSTORE(out + (size_t)r * ldo + b + VW, acc[r][1] / dv);
        }
    }
}

static void FN(dots)(size_t nr, size_t d, const double *x, const double *yT, size_t ld, size_t nl, double *out,
                     size_t ldo)
{
    size_t r = 0;
    for (; r + 4 <= nr; r += 4) FN(dots_group)(4, d, x + r * d, yT, ld, nl, out + r * ldo, ldo);
    switch (nr - r) { /* constant row counts: the accumulators stay in registers */
    case 3:
        FN(dots_group)(3, d, x + r * d, yT, ld, nl, out + r * ldo, ldo);
        break;
    case 2:
        FN(dots_group)(2, d, x + r * d, yT, ld, nl, out + r * ldo, ldo);
        break;
    case 1:
        FN(dots_group)(1, d, x + r * d, yT, ld, nl, out + r * ldo, ldo);
        break;
    default:
        break;
    }
}
