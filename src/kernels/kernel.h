/* The kernel module's internals, shared by its files (not installed):
 *   opts.c            the options and info objects;
 *   plan.c            the plan: per-point recursions K^l(x, x) and the fields the sweeps read;
 *   hermite_interp.c  generic activations: one Hermite expansion, and its interpolation across variances;
 *   hermite_cache.c   generic activations: the node cache, the per-layer coefficients, the series orders;
 *   tile.c            one tile: layer 1 from the inner products, then every layer while the tile is in cache;
 *   gram.c            the threaded driver over tiles, the size query and the info;
 *   ooc.c             the out-of-core driver: row blocks of tiles written into a .npy on disk (dw_kernel_gram_file);
 *   ooc_files.c       its files: the partial output, the resume side file, the lock, the hash of the run.
 * The sweeps themselves (the closed forms and the Mehler series) are the activations' (src/act/sweep.h, sweep_body.h). */
#ifndef DW_KERNELS_KERNEL_H
#define DW_KERNELS_KERNEL_H

#include "act/act.h"
#include "core/internal.h"
#include "gauss/gauss.h"
#include "act/sweep.h"
#include "net/net.h"

#include <stdbool.h>

struct dw_kernel_opts {
    bool all_layers; /* outputs hold every layer, (depth + 1) x n x m */
    int threads;     /* 0: the OpenMP default; results do not depend on it */
    /* dw_kernel_gram_file only */
    double memory; /* bytes of working memory; 0: DW_KERNEL_MEMORY_FRACTION of the available memory */
    bool resume;   /* continue an interrupted run of the same output */
    dw_kernel_progress_fn progress;
    void *progress_ctx;
};

struct dw_kernel_info {
    const char *method; /* static strings only */
    double max_bound, exp_bound, target; /* final entries' bound (bound.c), one expectation's */
    size_t evaluations, quadrature;
    int series_terms;
    bool estimate; /* max_bound holds estimated parts: coefficients interpolated across variances */
};

/* The tiles of the drivers (gram.c, ooc.c): rows x columns. */
#define TILE_I 32
#define TILE_J 256

/* Per-point fields of one layer (see dw_pts). */
enum { F_A, F_SA, F_IH, F_R, F_SP, F_POLY };
/* Generic activations: a_k at F_POLY + k, b_k at GEN_B + k (k = 0..DW_GAUSS_K), then 6 bound factors at GEN_GB
 * (sqrt E phi^2, sqrt tail_a, |da|, and the same for phi'); before the series order K of the layer is known the
 * tail slots hold the tails at DW_GAUSS_K. */
#define GEN_B (F_POLY + DW_GAUSS_K + 1)
#define GEN_GB (F_POLY + 2 * (DW_GAUSS_K + 1))
#define GEN_TC (GEN_GB + 8) /* the Parseval tails at the checkpoint orders (sweep.h), phi then phi' */
/* bound.c: per point and layer, the factors of the propagated bound (PB_M, PB_N, PB_S, PB_J), the relative error bound
 * of a = K^l(x, x) (PB_EA), sqrt(Theta^l(x, x)) (PB_TH) and its inverse (PB_ITH, 0 where Theta is 0) */
#define GEN_PB (GEN_TC + 2 * DW_GEN_NCP)
/* then (ebound_series.c) the coefficients' errors split as da_k <= GX_UA + ra_k, sqrt(sum_k ra_k^2) <= GX_RA, and
 * db_k <= sqrt(k + 1) GX_UB + rb_k, sqrt(sum_k rb_k^2) <= GX_RB, and the Parseval tails after DW_GAUSS_K terms
 * (GX_TA, GX_TB: not square roots; errors included) */
enum { PB_M = GEN_PB, PB_N, PB_S, PB_J, PB_EA, PB_TH, PB_ITH, GX_UA, GX_RA, GX_UB, GX_RB, GX_TA, GX_TB };
#define GEN_NF (GX_TB + 1)
/* One expansion record: a_k, b_k, then sqrt e2, tail_a, |da|, sqrt ed2, tail_b, |db|, and the errors of E phi^2,
 * E phi'^2 (GEN_REC values, copied to the fields F_POLY.. of a point), then the split of the errors (GX_UA..GX_RB,
 * copied to those fields). */
#define GEN_REC (2 * (DW_GAUSS_K + 1) + 8)
#define GEN_PER (GEN_REC + 4)
#define GEN_NC (2 * (DW_GAUSS_K + 1)) /* interpolated coefficients: a_k, b_k */
/* An entry's series stops at the first checkpoint order whose truncation bound is within this fraction of the
 * target (the rest of the target is left to the coefficients' errors and rounding). */
#define GEN_TRUNC 0.125

typedef struct {
    const double *x; /* n x d inputs (borrowed) */
    size_t n, np;    /* points, padded count */
    double *f;       /* fields: layer l, field k at f + (l * nf + k) * np */
    double *fx;      /* homogeneous: sqrt(w_1/d)/sqrt(a^1) and sqrt(b_1)/sqrt(a^1) per point (refinement) */
} side;

/* Generic activations: what the tiles found, merged under a lock (the plan is otherwise read-only). */
typedef struct {
    double max_bound;   /* the largest bound of one expectation */
    double entry_bound; /* the largest propagated bound of a returned entry (bound.c) */
    size_t evaluations, quadrature;
    int routes; /* bit 0: 2-D quadrature answered some entry */
    size_t interpolated; /* distinct variances whose coefficients were interpolated (error estimated, not bounded) */
} gen_stats;

/* Generic activations: the expansions at the interpolation nodes, shared by both sides and all layers of a plan.
 * At most GEN_CACHE_MAX records (20 MB): once full, panels that need new nodes are expanded value by value, so the
 * cache's memory is bounded whatever the inputs (dw_kernel_gram_bytes counts it). */
#define GEN_CACHE_MAX 8192
typedef struct gen_cache {
    size_t n, cap;
    double *q, *rec; /* node variances, their GEN_PER records */
} gen_cache;

struct dw_kernel_plan {
    int *kl;          /* generic: Mehler order K per layer */
    gen_cache *cache; /* generic: expansions at the interpolation nodes */
    gen_stats *stats; /* generic: tile statistics */
    double target;    /* generic: relative bound aimed at */
    int threads;
    int depth;
    const dw_act *act; /* the net's activation; depth 0: an identity that is never applied; or &relu_view */
    dw_act relu_view;  /* an expression that is exactly a relu-family phi, as that family (dw_act_relu_form) */
    double lam2;       /* relu_view: the square of its scale lam, folded into the variances w and fan-ins n */
    double *w, *beta, *fan_in; /* per layer 0..depth (layer l + 1 of theory.md) */
    int standard, all_layers;
    size_t d, nf;
    side X, Y;
    int symmetric;
    const dw_sweep_impl *impl;
};

static inline double *field(const dw_kernel_plan *p, const side *sd, int layer, size_t k)
{
    return sd->f + ((size_t)layer * p->nf + k) * sd->np;
}

/* plan.c: the net's shape checked for this computation, and the activation the plan carries (depth 0: an
 * identity never applied). */
dw_status dw_kern_check(const dw_net *net, dw_net_fc *fc, const dw_act **act);
/* plan.c: the sweeps' view of layer l's per-point fields, and the step from layer l to l + 1. */
dw_pts dw_kern_pts(const dw_kernel_plan *p, const side *sd, int l);
dw_step dw_kern_step(const dw_kernel_plan *p, int l, int ntk);
/* Fields per point and layer for an activation (all layers alike). */
size_t dw_kern_nfields(const dw_act *act);

/* hermite_interp.c: the expansion of phi at variance q >= 0 into one GEN_PER record (thread-safe); the
 * interpolation of records across variances on one panel of GEN_M + 1 Chebyshev-Lobatto nodes in log q. */
#define GEN_M 16
dw_status dw_kern_expand_one(const dw_act *act, double q, double *rec);
/* The panel's node records (node), their node times tn (log q), and nsc, est (GEN_NC x (GEN_M + 1) and
 * 2 GEN_NC + 2 values) filled by dw_kern_interp_panel; nerr: the nodes' largest own errors. */
void dw_kern_interp_panel(const double *node, const double *tn, double *nsc, double *est);
void dw_kern_interp_one(const double *node, const double *nsc, const double *tn, const double *nerr,
                        const double *est, double q, double *rec, int *ok);

/* hermite_cache.c: layer l's coefficients for every point of a side, and the next layer's variances (generic
 * activations); after both sides, the series order of every layer. */
dw_status dw_kern_generic_layer(const dw_kernel_plan *p, side *sd, int l, const char *name);
void dw_kern_generic_orders(dw_kernel_plan *p);
void dw_kern_cache_free(gen_cache *c);

/* bound.c: the propagated error bound of the returned entries (generic activations): the per-point factors of a
 * side (after its layers); per tile and layer, the largest angle term of a jump of phi' over its entries (c0: the
 * layer-l covariances, row stride njp) and the step of the tile's relative bounds dr (of rho) and et (of Theta)
 * from layer l to l + 1 (B: the tile's largest expectation bound so far); *worst: the largest relative bound of a
 * reported layer. */
void dw_kern_bound_fields(const dw_kernel_plan *p, side *sd);
double dw_kern_kink_max(const dw_kernel_plan *p, int l, size_t i0, size_t i1, size_t j0, size_t j1,
                        const double *c0, const double *carried, size_t njp, int sym, double dr);
void dw_kern_bound_tile(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i0, size_t i1, size_t j0,
                        size_t j1, double B, double kink, double *dr, double *et, double *worst);

/* ebound.c: per-entry error bounds (absolute) of the returned entries, beside a tile. The points' relative bounds
 * of a^l, l = 0..depth (ea: depth + 1 per point, points k0..k1 of sd); layer 1 of the relu family (c, s, t, th:
 * one row's layer-1 values; the bounds dc, ds, dt, dth out); a relu-family step (the layer-l state s0, t0, th0
 * as read, the outputs s, t, c, th; ds, dt, dth in and out, dc out; eai: the row point's ea, eaj the columns',
 * stride eas); a generic step (b: the entries' expectation bounds, c0: the layer-l covariances; dr, et: relative
 * bounds of rho and Theta, in and out) and, after the last, the absolute bounds (in place of dr, et). */
void dw_kern_ebound_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, double *ea);
void dw_kern_ebound_first(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *c, const double *s,
                          const double *t, const double *th, double eai, const double *eaj, size_t eas, double *dc,
                          double *ds, double *dt, double *dth);
void dw_kern_ebound_relu(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                         const double *s0, const double *t0, const double *th0, const double *s, const double *t,
                         const double *c, const double *th, const double *eai, const double *eaj, size_t eas,
                         double *ds, double *dt, double *dc, double *dth);
void dw_kern_ebound_generic(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                            const double *b, const double *c0, double *dr, double *et);
/* ebound_series.c: generic activations, after generic_fix and before dw_kern_ebound_generic: the entries of one row
 * that the Mehler series answered (c, th checked against a recomputation) get the sharper expectation bound of the
 * terms the series left out, computed (b: the relative bounds, in and out; c0, th0: the layer-l state). */
void dw_kern_ebound_series(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                           const double *c0, const double *th0, const double *c, const double *th, double *b);
void dw_kern_ebound_generic_abs(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, double *dr, double *et);
/* One relu-family step's bound for one entry (ebound.c), in a precision of unit roundoff u (double for the
 * sweeps, long double for the reference of ebound_ref.c): the inputs' values and bounds, the outputs' bounds. */
typedef struct {
    double u, at, pi_err; /* unit roundoff, atan2's error in ulps, |fl(pi) - pi| */
    int series, ntk, standard, same; /* g by its series below x = 1; NTK; standard parameterisation; the pair (x, x) */
    int step;                        /* the step 1{z > 0} (degree 0: r = [a > 0]) instead of the relu family */
    int lo;                          /* the branch theta <= pi/2 taken (1, 0), or -1: s <= t */
    double alpha, w, beta, uw, fan_in; /* uw: the rounding of w (relu_view), 0 if exact */
    double a_i, a_j, sp_i, sp_j, a1_i, a1_j, ea_i, ea_j, e1_i, e1_j; /* a^l, sqrt(w m2 a^l), a^{l+1}, their bounds */
    double s, t, ds, dt, dsum;       /* the layer-l state, its bounds, a bound of |s + t - 1| */
    double th0, dth0, c, th, s1, t1; /* layer-l Theta and its bound; the outputs */
    double inv;                      /* 1 / (2 sqrt(a'_i a'_j)) as computed, 0 when a' = 0 */
} dw_relu_in;
typedef struct {
    double dc, dth, ds, dt;
} dw_relu_out;
void dw_kern_relu_step_bound(const dw_relu_in *in, dw_relu_out *out);
/* ebound_ref.c: the relu family's and the step's reference in long double (when dw_kern_ebound_ref_ok): per point,
 * a^l and sqrt(w m2 a^l) in long double with the relative bounds of a^l (depth + 1 values per point, points k0..k1 of sd);
 * for one row of a tile (row point ri, column points rj: their values from ref_points), BK, BT (in: the sweep's
 * bounds; out: the smaller of those and |K - K_ref| + the reference's bound); the per-point variance a^L(x_i, x_i)
 * (the symmetric Gram's diagonal): its bound given its value a and the a priori bound b (scratch A, SP, EA of
 * depth + 1 values). */
typedef struct {
    const long double *a, *sp;
    const double *ea;
} dw_ref_pts;
int dw_kern_ebound_ref_ok(const dw_kernel_plan *p);
void dw_kern_ebound_ref_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, long double *A,
                               long double *SP, double *EA);
void dw_kern_ebound_ref(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *K, const double *T,
                        double *BK, double *BT, const dw_ref_pts *ri, const dw_ref_pts *rj);
double dw_kern_ebound_ref_diag(const dw_kernel_plan *p, size_t i, double a, double b, long double *A, long double *SP,
                               double *EA);
/* ebound_smooth.c: the same for the smooth closed forms (identity, erf, sin, cos, exp; when
 * dw_kern_ebound_smooth_ok): per point a^l in long double and their absolute bounds (depth + 1 each); one row
 * (Ai, DAi: the row point's; Aj, DAj: the columns', depth + 1 per point). */
int dw_kern_ebound_smooth_ok(const dw_kernel_plan *p);
void dw_kern_ebound_smooth_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, long double *A,
                                  double *DA);
void dw_kern_ebound_smooth(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *K, const double *T,
                           double *BK, double *BT, const long double *Ai, const double *DAi, const long double *Aj,
                           const double *DAj);
/* 1 if the activation has per-entry bounds (relu family, generic, the smooth closed forms above, depth 0). */
int dw_kern_ebound_supported(const dw_kernel_plan *p);

/* Kinked generic activations: pairs with a half-angle s = (1 - rho)/2 below this carry s from layer to layer
 * (act/neardup.c) instead of recomputing rho from the rounded covariance, whose error would move Vd by ~eps/theta;
 * above it that recomputation costs at most eps / sqrt(DW_NEAR_HS) ~ 2e-13 of Vd. */
#define DW_NEAR_HS 1e-6

/* The near-duplicate pairs of one tile and layer: their carried half-angles hs (-1: not carried) and the absolute
 * error bounds ehs of those (tile layout), the tile's bound of rho's error at layer l (dr, for pairs whose
 * half-angle is recomputed from the covariance), and what the layer found: the largest angle term of the bound
 * (kink, as dw_kern_kink_max, which skips these pairs) and of the next layer's rho error (dr_next). */
typedef struct {
    double *hs, *ehs;
    double dr, kink, dr_next;
} near_state;

/* near.c: a near-duplicate pair (hs, ehs: its half-angle at layer l and that one's error bound): the expectations
 * from hs, the next layer's entry (c, th), its half-angle and that one's error bound, the entry's relative
 * expectation bound rb and the bound's angle term kink; *done = 0 if the route does not apply (phi with a jump). */
dw_status dw_kern_near_entry(const dw_kernel_plan *p, const dw_step *sp, int l, size_t i, size_t jj, double th0,
                             double sc, double scd, double *c, double *th, double *hs, double *ehs, double *rb,
                             double *kink, int *done);

/* gram.c: the info of a finished computation over plan p. */
void dw_kern_fill_info(const dw_kernel_plan *p, dw_kernel_info *info);

/* tile.c: one tile (sym 1: write a symmetric Gram's entries j >= i to both halves; 2: to (i, j) only), each entry
 * as dw_kernel_gram computes it. dw_kern_tile_direct: every entry (i, j) of any plan computed as such, the inner
 * products from one BLAS call for the tile (equal to the Gram's to rounding; the matrix-free products of
 * src/predict, whose narrow tiles would otherwise compute whole grid cells). */
dw_status dw_kern_tile(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                       double *Theta, size_t ld, size_t layer_stride, int sym);
dw_status dw_kern_tile_direct(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                              double *Theta, size_t ld, size_t layer_stride);
/* dw_kern_tile with per-entry bounds of the final layer (BK, BT: NULL or as K, Theta; not with all_layers). */
dw_status dw_kern_tile_b(const dw_kernel_plan *p, size_t i0, size_t i1, size_t j0, size_t j1, double *K,
                         double *Theta, double *BK, double *BT, size_t ld, size_t layer_stride, int sym);

#endif
