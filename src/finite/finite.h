/* finite: the 1/N corrections of fully connected networks (theory.md 1.6). Internal, not installed.
 *
 *   prim.c         the Gaussian primitives of one layer (s, p, S2, P2, S4, P4, SS, SP, PP, Q1) from one function,
 *                  the bivariate moment E[F^(nx)(u) G^(ny)(v)] of products F = phi^i phi'^j at each point
 *   prim_series.c  that moment by the Mehler series of Hermite coefficients (any activation), as dot products
 *   prim_relu.c    that moment in closed form for the relu family (Stein form over the quadrants)
 *   recur.c        the layer step of the state (K, Theta, G1, Theta1, V, D, A, B, F) and the outputs
 *   near.c         the relu family's pairs too close to a degenerate one for the 128-bit rerun: the limit there plus
 *                  the linear cusp term, by extrapolation along the segment from the degenerate point
 *   gram.c         the driver over the pairs of a data set, options and info
 *
 * A point set I has one input (single-input recursion, m = 1) or two (a pair, m = 2). Tensors over I are stored as
 * 2 x 2 x 2 x 2 arrays whatever m (only indices < m are used). */
#ifndef DW_FINITE_INTERNAL_H
#define DW_FINITE_INTERNAL_H

#include "core/internal.h"
#include "act/act.h"

#include <stdbool.h>

#define DW_FW_I4(a, b, c, d) ((((a) * 2 + (b)) * 2 + (c)) * 2 + (d))
#define DW_FW_I6(a, b, c, d, e, f) (DW_FW_I4(a, b, c, d) * 4 + (e) * 2 + (f))

/* Products F_ij = phi^i phi'^j, i + j <= DW_FW_POW, indexed by dw_fw_fidx(i, j). */
#define DW_FW_POW 4
#define DW_FW_NF 15
static inline int dw_fw_fidx(int i, int j) { return (i + j) * (i + j + 1) / 2 + j; }

#define DW_FW_RD 5 /* powers 0..4 of the relu family's moment tables */

/* The constants of one dense layer: C_W, C_b (NNGP), lambda_W, lambda_b (NTK rates: C_W, C_b in the NTK
 * parameterisation; n_{l-1} and [bias] in the standard one), c = n_l / N of the layer whose activations it reads,
 * kap the fourth cumulant kappa_4 = E w^4 - 3 of its unit-variance weights (0: Gaussian). */
typedef struct dw_fw_layer {
    double cw, cb, lw, lb, c, kap;
} dw_fw_layer;

/* The number of REAL entries of a state from K to Bk (contiguous; recur.c checks it). */
#define DW_FW_STATE_N 144

/* The Gaussian primitives, the relu family's closed form and the recursion, in a real type: double (the names
 * below) and, for the relu family's nearly parallel pairs, __float128 (the same names with the suffix _q; quad.c
 * compiles prim.c, prim_relu.c, recur.c and pair.c again in that type). */
#define DW_FW_REAL double
#define DW_FW_T(name) name
#include "finite/real.h"
#undef DW_FW_REAL
#undef DW_FW_T
#define DW_FW_REAL __float128
#define DW_FW_T(name) name##_q
#include "finite/real.h"
#undef DW_FW_REAL
#undef DW_FW_T

/* The relu family's pair (x, y) near a degenerate point y0 whose outputs o0 (DW_FW_COUNT, relative error bound e0)
 * are known (near.c): the cubic in s through o0 and the 128-bit pair at three points y0 + s (y - y0) whose first
 * layer's angle is about 1e-3, evaluated at s = 1. *rel: the bound relative to each output's scale (the samples'
 * and the anchor's bounds times their weights, plus the cubic's difference to the quadratic); yk: d doubles of
 * scratch. */
dw_status dw_fw_relu_near(double alpha, double lam, int L, const dw_fw_layer *lay, const double *x, const double *y,
                          const double *y0, size_t d, const double o0[], double e0, double *yk, double out[],
                          double *rel);

/* ---- the Mehler route (prim_series.c) ---------------------------------------------------------------------- */
/* Hermite coefficients of every F_ij at one variance q: c[f][k], k = 0..K + 4 (Stein shifts up to 4). */
#define DW_FW_K (DW_GAUSS_K - 4) /* 146: the per-product expansions (dw_hermite_expand_pw, _smooth) reach DW_GAUSS_K */
typedef struct dw_fw_coefs {
    double q;
    int K;
    double c[DW_FW_NF][DW_FW_K + 5];
    double err[DW_FW_NF]; /* the largest coefficient error estimate of each F */
    int last[DW_FW_NF];   /* the last k with |c_k| > 1e-20 max |c| */
} dw_fw_coefs;
dw_status dw_fw_coefs_compute(const dw_act *act, double q, dw_fw_coefs *c);
/* The moments as dot products of cached vectors: per point and layer, the Stein-shifted coefficients
 * v_k = sqrt((k+1)...(k+n)) F_{k+n}(q) / q^(n/2) of each product F and shift n (the x side, reused along a row of
 * the Gram matrix), and on the y side the same times rho^k (per pair and layer). Vectors are built on first use;
 * a new generation (dw_fw_vecs_reset) invalidates them without clearing. */
typedef struct dw_fw_vecs {
    const dw_fw_coefs *c;
    double rho; /* 1 on the x side */
    unsigned gen;
    unsigned stamp[DW_FW_NF][5];
    int kmax[DW_FW_NF][5]; /* the last k whose term is not negligible (|v_k| > 1e-20 max |v|) */
    bool cut[DW_FW_NF][5]; /* kmax is DW_FW_K with coefficients not negligible beyond: the series is truncated */
    double wnorm[DW_FW_NF][5], vnorm[DW_FW_NF][5]; /* ||(v_k / c_{k+n})_k||_2 and ||v||_2 over k <= kmax */
    double v[DW_FW_NF][5][DW_FW_K + 1];
    /* shared by the vectors (built on first use): rho^k (a running product) up to pcut - 1, pcut the first k with
     * |rho^k| <= 1e-20 (DW_FW_K + 1: none), and q^(-n/2) for each shift n */
    unsigned pgen;
    int pcut;
    double pw[DW_FW_K + 1], ps[5];
} dw_fw_vecs;
void dw_fw_vecs_reset(dw_fw_vecs *V, const dw_fw_coefs *c, double rho);
typedef struct dw_fw_series2 {
    dw_fw_vecs *x, *y;
} dw_fw_series2;
dw_status dw_fw_series2_moment(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err);

#endif
