/* NNGP / NTK Gram matrices (theory.md 1.2-1.3): the threaded driver over tiles, the size query and the info.
 * The driver hands tiles to dw_par_for; each entry depends only on its own inputs, so results are
 * bit-identical for any thread count. */
#include "kernels/kernel.h"

#include "core/par.h"
#include "kernels/arch.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dw_status dw_kernel_gram_bytes(const dw_net *net, const dw_kernel_opts *o, size_t n, size_t m, bool nngp, bool ntk,
                               double *bytes)
{
    if (!bytes) return dw_fail(DW_ERR_INVALID, "kernel: NULL bytes output");
    *bytes = 0.0;
    if (dw_arch_wanted(net)) return dw_arch_gram_bytes(net, o, n, m, nngp, ntk, bytes);
    dw_net_fc fc;
    const dw_act *act;
    dw_status s = dw_kern_check(net, &fc, &act);
    if (s) return s;
    const double L1 = (double)fc.depth + 1.0;
    double layers = o && o->all_layers ? L1 : 1.0;
    double out = (double)n * (double)m * layers * (double)((nngp ? 1 : 0) + (ntk ? 1 : 0)) * 8.0;
    double fields = ((double)n + (double)m + 2.0 * DW_PAD) * L1 * (double)dw_kern_nfields(act) * 8.0;
    if (act->fam == DW_FAM_GENERIC) /* one layer's coefficients of the distinct variances, and the node cache */
        fields += ((double)(n > m ? n : m) + DW_PAD + 2.0 * (GEN_M + 1) + GEN_CACHE_MAX) * GEN_PER * 8.0;
    *bytes = out + fields;
    return DW_OK;
}

void dw_kern_fill_info(const dw_kernel_plan *p, dw_kernel_info *info)
{
    memset(info, 0, sizeof *info);
    const char *method = p->act->method;
    if (p->stats) {
        info->exp_bound = p->stats->max_bound;
        const double eb = p->stats->entry_bound;
        info->max_bound = eb > p->stats->max_bound ? eb : p->stats->max_bound;
        info->target = p->target;
        info->evaluations = p->stats->evaluations;
        info->quadrature = p->stats->quadrature;
        for (int l = 0; l < p->depth; l++)
            if (p->kl[l] > info->series_terms) info->series_terms = p->kl[l];
        method = p->stats->routes ? dw_act_fix_method(p->act) : "Hermite series (Mehler) with Parseval tail bound";
        info->estimate = p->stats->interpolated > 0;
    }
    info->method = method;
}

typedef struct gram_job {
    const dw_kernel_plan *p;
    const size_t *blocks;
    size_t n, m;
    double *K, *Theta, *BK, *BT;
} gram_job;

/* One tile of the Gram matrices (an item of dw_par_for). */
static dw_status gram_tile(void *ctx, size_t k, int tid)
{
    const gram_job *g = ctx;
    (void)tid;
    const size_t n = g->n, m = g->m;
    const size_t i0 = g->blocks[2 * k] * TILE_I, j0 = g->blocks[2 * k + 1] * TILE_J;
    const size_t i1 = i0 + TILE_I < n ? i0 + TILE_I : n, j1 = j0 + TILE_J < m ? j0 + TILE_J : m;
    const size_t o = i0 * m + j0;
    return dw_kern_tile_b(g->p, i0, i1, j0, j1, g->K ? g->K + o : NULL, g->Theta ? g->Theta + o : NULL,
                          g->BK ? g->BK + o : NULL, g->BT ? g->BT + o : NULL, m, n * m, g->p->symmetric);
}

static dw_status gram(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                      size_t m, size_t d, double *K, double *Theta, double *BK, double *BT, dw_kernel_info *info)
{
    if (!K && !Theta) return dw_fail(DW_ERR_INVALID, "kernel: no output requested (K and Theta are both NULL)");
    if (!Y) m = n;
    const bool eb = BK || BT;
    if (eb && ((BK && !K) || (BT && !Theta)))
        return dw_fail(DW_ERR_INVALID, "kernel bounds: %s requested without its Gram matrix", BK && !K ? "BK" : "BTheta");
    if (eb && o && o->all_layers) return dw_fail(DW_ERR_INVALID, "kernel bounds: not available with all_layers");
    if (dw_arch_wanted(net)) {
        if (eb) return dw_fail(DW_ERR_INVALID, "kernel bounds: not available for architectures (dense networks only)");
        return dw_arch_gram(net, o, X, n, Y, m, d, K, Theta, info);
    }
    dw_kernel_plan *p;
    dw_status s = dw_kernel_plan_init(&p, net, o, X, n, Y, m, d);
    if (s) return s;
    if (eb && !dw_kern_ebound_supported(p)) {
        s = dw_fail(DW_ERR_INVALID, "kernel bounds: not available for the activation '%s' (closed forms: the "
                                    "relu family; step, identity, erf, sin, cos, exp, gelu, poly where long double "
                                    "has 64 bits; and the generic route)", p->act->name);
        dw_kernel_plan_clear(p);
        return s;
    }
    const size_t bi = (n + TILE_I - 1) / TILE_I, bj = (m + TILE_J - 1) / TILE_J;
    size_t nb = 0;
    size_t *blocks = dw_alloc(bi * bj + 1, 2 * sizeof(size_t), "tile list");
    if (!blocks) {
        dw_kernel_plan_clear(p);
        return DW_ERR_NOMEM;
    }
    for (size_t a = 0; a < bi; a++)
        for (size_t b = 0; b < bj; b++)
            if (!p->symmetric || (b + 1) * TILE_J > a * TILE_I) { /* symmetric: blocks holding some j >= i */
                blocks[2 * nb] = a;
                blocks[2 * nb + 1] = b;
                nb++;
            }
    const size_t lstride = n * m;
    gram_job job = {p, blocks, n, m, K, Theta, BK, BT};
    dw_status err = dw_par_for(nb, p->threads, gram_tile, &job);
    if (!err && p->symmetric && K) {
        /* The diagonal is the per-point recursion itself (the tiles agree with it to rounding). */
        const size_t L1 = p->all_layers ? (size_t)p->depth + 1 : 1;
        for (size_t l = 0; l < L1; l++) {
            const double *a = field(p, &p->X, p->all_layers ? (int)l : p->depth, F_A);
            for (size_t i = 0; i < n; i++) K[l * lstride + i * n + i] = a[i];
        }
        if (BK) { /* their bounds: the per-point relative bound of a^L (and the reference's, relu family) */
            const size_t L1n = (size_t)p->depth + 1;
            long double *A = dw_alloc(2 * L1n, sizeof *A + sizeof(double), "kernel bounds: the diagonal");
            if (!A) err = DW_ERR_NOMEM;
            double *e = A ? (double *)(A + 2 * L1n) : NULL;
            const int smooth = dw_kern_ebound_smooth_ok(p);
            for (size_t i = 0; A && i < n; i++) {
                const double a = field(p, &p->X, p->depth, F_A)[i];
                if (smooth) { /* the reference's variance and its bound */
                    dw_kern_ebound_smooth_points(p, &p->X, i, i + 1, A, e);
                    BK[i * n + i] = (double)fabsl((long double)a - A[p->depth]) * (1.0 + 4.0 * DBL_EPSILON) +
                                    e[p->depth] * (1.0 + 1e-6);
                    continue;
                }
                dw_kern_ebound_points(p, &p->X, i, i + 1, e);
                const double b = e[p->depth] * a * (1.0 + 1e-6);
                BK[i * n + i] = dw_kern_ebound_ref_ok(p) ? dw_kern_ebound_ref_diag(p, i, a, b, A, A + L1n, e) : b;
            }
            free(A);
        }
    }
    if (!err && info) dw_kern_fill_info(p, info);
    free(blocks);
    dw_kernel_plan_clear(p);
    return err; /* dw_par_for left the first failing tile's message */
}

dw_status dw_kernel_gram(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                         size_t m, size_t d, double *K, double *Theta, dw_kernel_info *info)
{
    return gram(net, o, X, n, Y, m, d, K, Theta, NULL, NULL, info);
}

dw_status dw_kernel_gram_bound(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                               const double *Y, size_t m, size_t d, double *K, double *Theta, double *BK,
                               double *BTheta, dw_kernel_info *info)
{
    return gram(net, o, X, n, Y, m, d, K, Theta, BK, BTheta, info);
}

bool dw_kernel_gram_bound_available(const dw_net *net)
{
    dw_net_fc fc;
    const dw_act *act;
    if (!net || dw_arch_wanted(net) || dw_kern_check(net, &fc, &act)) return false;
    const dw_family f = act->fam;
    const bool smooth = LDBL_MANT_DIG >= 64 && (f == DW_FAM_ERF || f == DW_FAM_SIN || f == DW_FAM_COS ||
                                                f == DW_FAM_EXP || f == DW_FAM_IDENTITY || f == DW_FAM_POLY ||
                                                f == DW_FAM_GELU || f == DW_FAM_STEP);
    return fc.depth == 0 || f == DW_FAM_RELU || f == DW_FAM_GENERIC || smooth;
}
