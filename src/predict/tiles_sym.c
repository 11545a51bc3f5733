/* The train-train product K V (theory.md 6) using K's symmetry: each off-diagonal B x B tile (B = DW_PRED_ROWS) is
 * computed once and applied to both its row block and its column block, half the kernel entries of the plain
 * row-by-row product.
 *
 * Fixed summation order, whatever the threads or the split: row block I of the result is
 *     out_I = ((0 + P_0) + P_1) + ... + P_{nb-1},   P_K = K(I, K) V_K,
 * each P_K summed over the columns of block K in ascending order (tile_rows, tile_cols below: the same sequence of
 * operations per entry), the entries of K(I, K) taken from the tile (I, K) for K >= I and from the transposed tile
 * (K, I) for K < I. Without a split the tiles are computed in waves I = 0, 1, ...: wave I runs the tiles (I, J),
 * J >= I, in parallel; tile (I, J) adds P_I to out_J (no other tile of the wave writes there) and leaves K(I, J) V_J
 * in slot J, and the slots are added into out_I in order after the wave. With a split (several processes) each
 * part computes its row blocks' P_K from the same tiles, row block by row block (no saving). */
#include "predict/predict.h"

#include "kernels/kernel.h"

#include "core/par.h"

#include <stdlib.h>
#include <string.h>

#define B DW_PRED_ROWS

/* p (c) = sum_x T[x stride] V[x c..], x = 0, 1, ..., len - 1 in order, each entry from 0 by p = p + k v: the
 * one sequence of operations of both tile products below (eight columns at a time in registers) */
static void combine(const double *T, size_t stride, size_t len, const double *V, size_t c, double *p)
{
    size_t q0 = 0;
    for (; q0 + 8 <= c; q0 += 8) {
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t x = 0; x < len; x++) {
            const double k = T[x * stride], *v = V + x * c + q0;
            for (int r = 0; r < 8; r++) acc[r] = acc[r] + k * v[r];
        }
        memcpy(p + q0, acc, sizeof acc);
    }
    if (q0 < c) {
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const size_t w = c - q0;
        for (size_t x = 0; x < len; x++) {
            const double k = T[x * stride], *v = V + x * c + q0;
            for (size_t r = 0; r < w; r++) acc[r] = acc[r] + k * v[r];
        }
        memcpy(p + q0, acc, w * sizeof *acc);
    }
}

/* P (ni x c) = T V, T ni x nk row-major, V nk x c */
static void tile_rows(const double *T, size_t ni, size_t nk, const double *V, size_t c, double *P)
{
    for (size_t a = 0; a < ni; a++) combine(T + a * nk, 1, nk, V, c, P + a * c);
}

/* P (nk x c) = T^T V, T ni x nk row-major, V ni x c: the same operations as tile_rows on the transposed tile */
static void tile_cols(const double *T, size_t ni, size_t nk, const double *V, size_t c, double *P)
{
    for (size_t b = 0; b < nk; b++) combine(T + b, nk, ni, V, c, P + b * c);
}

static void add_rows(double *out, const double *P, size_t len)
{
    for (size_t i = 0; i < len; i++) out[i] = out[i] + P[i];
}

typedef struct sym_job {
    const dw_kernel_plan *plan;
    bool ntk;
    size_t n, c, I;  /* I: the wave (tiles (I, J), J >= I) */
    const double *V; /* n x c */
    double *out;     /* n x c */
    double *slots;   /* nb x B x c: slot J holds K(I, J) V_J */
    double *tmp;     /* per worker B x c */
    double *scratch; /* per worker, the tile (B x B at least) */
} sym_job;

static size_t blk_end(size_t k, size_t n) { return (k + 1) * B < n ? (k + 1) * B : n; }

/* the tile rows [i0, i1) x columns [j0, j1) into S (leading dimension j1 - j0) */
static dw_status tile(const sym_job *j, size_t i0, size_t i1, size_t j0, size_t j1, double *S)
{
    const size_t w = j1 - j0;
    return dw_kern_tile_direct(j->plan, i0, i1, j0, j1, j->ntk ? NULL : S, j->ntk ? S : NULL, w, B * w);
}

static dw_status wave_item(void *ctx, size_t item, int tid)
{
    const sym_job *j = ctx;
    const size_t I = j->I, J = I + item, c = j->c;
    const size_t i0 = I * B, i1 = blk_end(I, j->n), j0 = J * B, j1 = blk_end(J, j->n);
    double *S = j->scratch + (size_t)tid * B * B, *tmp = j->tmp + (size_t)tid * B * c;
    dw_status s = tile(j, i0, i1, j0, j1, S);
    if (s) return s;
    tile_rows(S, i1 - i0, j1 - j0, j->V + j0 * c, c, j->slots + J * B * c);
    if (J > I) {
        tile_cols(S, i1 - i0, j1 - j0, j->V + i0 * c, c, tmp);
        add_rows(j->out + j0 * c, tmp, (j1 - j0) * c);
    }
    return DW_OK;
}

/* row block I from every P_K (the split's route: the same tiles and sums, nothing shared between row blocks) */
static dw_status row_item(void *ctx, size_t I, int tid)
{
    const sym_job *j = ctx;
    const size_t c = j->c, i0 = I * B, i1 = blk_end(I, j->n), ni = i1 - i0;
    double *S = j->scratch + (size_t)tid * B * B, *tmp = j->tmp + (size_t)tid * B * c;
    memset(j->out + i0 * c, 0, ni * c * sizeof *j->out);
    for (size_t K = 0; K * B < j->n; K++) {
        const size_t k0 = K * B, k1 = blk_end(K, j->n), nk = k1 - k0;
        dw_status s = K < I ? tile(j, k0, k1, i0, i1, S) : tile(j, i0, i1, k0, k1, S);
        if (s) return s;
        if (K < I) tile_cols(S, nk, ni, j->V + k0 * c, c, tmp);
        else tile_rows(S, ni, nk, j->V + k0 * c, c, tmp);
        add_rows(j->out + i0 * c, tmp, ni * c);
    }
    return DW_OK;
}

dw_status dw_pred_tiles_sym(dw_pred_tiles *t, const double *V, size_t c, double *out)
{
    const size_t n = t->n, nb = (n + B - 1) / B;
    const int workers = dw_par_workers(nb, t->threads);
    double *tmp = dw_alloc((size_t)workers * B * c + (t->split ? 0 : nb * B * c), sizeof *tmp,
                           "kernel tiles: the symmetric product's blocks");
    if (!tmp) return DW_ERR_NOMEM;
    sym_job j = {.plan = t->pxx, .ntk = t->ntk, .n = n, .c = c, .V = V, .out = out,
                 .slots = tmp + (size_t)workers * B * c, .tmp = tmp, .scratch = t->scratch};
    dw_status s = DW_OK;
    if (t->split) s = dw_pred_tiles_rows(t, n, c, row_item, &j, out);
    else {
        memset(out, 0, n * c * sizeof *out);
        for (size_t I = 0; !s && I < nb; I++) {
            j.I = I;
            s = dw_par_for(nb - I, t->threads, wave_item, &j);
            const size_t len = (blk_end(I, n) - I * B) * c;
            for (size_t J = I; !s && J < nb; J++) add_rows(out + I * B * c, j.slots + J * B * c, len);
        }
    }
    free(tmp);
    return s;
}
