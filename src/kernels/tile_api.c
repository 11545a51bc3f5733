/* The public tile (dw_kernel_tile), cut into pieces along the drivers' grid of TILE_I x TILE_J cells from (0, 0):
 * each piece's work stays in cache whatever the size of the tile, and each entry comes out as dw_kernel_gram
 * computes it. A symmetric plan's (K(X, X)) tile holds the entries as dw_kernel_gram writes them: each pair computed
 * as (i, j) with j >= i, the entries below the diagonal its mirror, and the diagonal of K the per-point recursion
 * K^l(x, x). */
#include "kernels/kernel.h"

#include <stdlib.h>

/* Rows [i0, i1) x columns [j0, j1) piece by piece (sym as dw_kern_tile; sym 2 skips the pieces wholly below the
 * diagonal, which store nothing). out points at entry (i0, j0). */
static dw_status by_cells(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                          double *Theta, size_t ld, size_t layer_stride, int sym)
{
    for (size_t a = i0; a < i1;) {
        const size_t a1 = (a / TILE_I + 1) * TILE_I < i1 ? (a / TILE_I + 1) * TILE_I : i1;
        for (size_t b = j0; b < j1;) {
            const size_t b1 = (b / TILE_J + 1) * TILE_J < j1 ? (b / TILE_J + 1) * TILE_J : j1;
            const size_t off = (a - i0) * ld + (b - j0);
            if (!(sym == 2 && a >= b1)) {
                dw_status s = dw_kern_tile(p, a, a1, b, b1, K ? K + off : NULL, Theta ? Theta + off : NULL, ld,
                                           layer_stride, sym);
                if (s) return s;
            }
            b = b1;
        }
        a = a1;
    }
    return DW_OK;
}

/* Entries (i, j), i > j, of the tile at (i0, j0) whose mirror (j, i) lies outside it: computed as the rectangle of
 * rows [r0, r1), columns [c0, c1) (all with column > row, so each as dw_kernel_gram computes it) into scratch and
 * written transposed. */
static dw_status mirror_rect(const dw_kernel_plan *p, size_t r0, size_t r1, size_t c0, size_t c1, double *K,
                             double *Theta, size_t i0, size_t j0, size_t ld, size_t layer_stride, double *scratch)
{
    const size_t w = c1 - c0, area = (r1 - r0) * w, L = p->all_layers ? (size_t)p->depth + 1 : 1;
    double *sK = K ? scratch : NULL, *sT = Theta ? scratch + (K ? L * area : 0) : NULL;
    dw_status s = by_cells(p, r0, r1, c0, c1, sK, sT, w, area, 0);
    if (s) return s;
    for (int k = 0; k < 2; k++) {
        double *out = k ? Theta : K;
        const double *src = k ? sT : sK;
        if (!out) continue;
        for (size_t l = 0; l < L; l++)
            for (size_t j = r0; j < r1; j++)
                for (size_t i = c0; i < c1; i++)
                    out[l * layer_stride + (i - i0) * ld + (j - j0)] = src[l * area + (j - r0) * w + (i - c0)];
    }
    return DW_OK;
}

dw_status dw_kernel_tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, size_t ld, size_t layer_stride)
{
    if (!p || (!K && !Theta)) return dw_fail(DW_ERR_INVALID, "kernel tile: NULL plan or no output");
    if (i1 < i0 || j1 < j0 || i1 > p->X.n || j1 > p->Y.n)
        return dw_fail(DW_ERR_INVALID, "kernel tile: range [%zu, %zu) x [%zu, %zu) outside the %zu x %zu Gram matrix",
                       i0, i1, j0, j1, p->X.n, p->Y.n);
    if (i0 == i1 || j0 == j1) return DW_OK;
    if (j1 - j0 > ld && (i1 - i0 > 1 || p->all_layers))
        return dw_fail(DW_ERR_INVALID, "kernel tile: ld %zu < %zu columns", ld, j1 - j0);
    if (!p->symmetric) return by_cells(p, i0, i1, j0, j1, K, Theta, ld, layer_stride, 0);
    /* the entries with j >= i */
    dw_status s = by_cells(p, i0, i1, j0, j1, K, Theta, ld, layer_stride, 2);
    if (s) return s;
    const size_t L = p->all_layers ? (size_t)p->depth + 1 : 1;
    /* mirrors inside the tile: (i, j) with j >= i0, i < j1, i > j */
    for (int k = 0; k < 2; k++) {
        double *out = k ? Theta : K;
        if (!out) continue;
        for (size_t l = 0; l < L; l++) {
            double *o = out + l * layer_stride;
            for (size_t i = i0; i < i1 && i < j1; i++)
                for (size_t j = i0 > j0 ? i0 : j0; j < i; j++)
                    o[(i - i0) * ld + (j - j0)] = o[(j - i0) * ld + (i - j0)];
        }
    }
    /* mirrors outside: columns j < i0 (rows [j0, min(j1, i0)), columns [i0, i1) transposed), and rows i >= j1 with
     * columns j >= i0 (rows [max(i0, j0), j1), columns [max(i0, j1), i1) transposed) */
    const size_t ar1 = j1 < i0 ? j1 : i0, br0 = i0 > j0 ? i0 : j0, bc0 = i0 > j1 ? i0 : j1;
    const int has_a = j0 < ar1, has_b = br0 < j1 && bc0 < i1;
    const size_t area_a = has_a ? (ar1 - j0) * (i1 - i0) : 0, area_b = has_b ? (j1 - br0) * (i1 - bc0) : 0;
    if (has_a || has_b) {
        const size_t nout = (K ? 1u : 0u) + (Theta ? 1u : 0u);
        double *scratch = dw_alloc(L * nout * (area_a > area_b ? area_a : area_b), sizeof(double),
                                   "kernel tile mirror");
        if (!scratch) return DW_ERR_NOMEM;
        if (has_a) s = mirror_rect(p, j0, ar1, i0, i1, K, Theta, i0, j0, ld, layer_stride, scratch);
        if (!s && has_b) s = mirror_rect(p, br0, j1, bc0, i1, K, Theta, i0, j0, ld, layer_stride, scratch);
        free(scratch);
        if (s) return s;
    }
    /* the diagonal of K: the per-point recursion, as dw_kernel_gram writes it */
    if (K)
        for (size_t l = 0; l < L; l++) {
            const double *a = field(p, &p->X, p->all_layers ? (int)l : p->depth, F_A);
            for (size_t i = i0 > j0 ? i0 : j0; i < i1 && i < j1; i++)
                K[l * layer_stride + (i - i0) * ld + (i - j0)] = a[i];
        }
    return DW_OK;
}
