/* finite: the 1/N corrections of fully connected networks (theory.md 1.6). Internal, not installed.
 *
 *   prim.c         the Gaussian primitives of one layer (s, p, S2, P2, S4, P4, SS, SP, PP, Q1) from one function,
 *                  the bivariate moment E[F^(nx)(u) G^(ny)(v)] of products F = phi^i phi'^j at each point
 *   prim_series.c  that moment by the Mehler series of Hermite coefficients (any activation), as dot products
 *   prim_relu.c    that moment in closed form for the relu family (Stein form over the quadrants)
 *   recur.c        the layer step of the state (K, Theta, G1, Theta1, V, D, A, B, F) and the outputs
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

/* E[F^(nx)(u) G^(ny)(v)] with F = F_{ix jx}, G = F_{iy jy}, (u, v) ~ N(0, Sigma) (derivatives in the sense of
 * distributions; G = 1 (iy = jy = 0) makes it one-dimensional). err receives an absolute error estimate. */
typedef dw_status (*dw_fw_moment_fn)(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value,
                                     double *err);

typedef struct dw_fw_prim {
    double s[2][2], p[2][2];
    double S2[16], P2[16];      /* [a][b][e][f] */
    double S4[64], P4[64];      /* [a][b][c][d][e][f] */
    double SS[16], SP[16], PP[16];
    double Q1[8];               /* [a][c][e] */
    double err;                 /* the largest error estimate of a moment used, absolute */
} dw_fw_prim;

/* Fill every primitive for a point set of m (1 or 2) inputs from the moment function; without `deriv` only those
 * without derivatives (s, p, SS, SP, PP; the others read 0): what the step from layer 1 needs, whose corrections
 * are all zero (so a degenerate pair, x and -x, needs no derivative there). */
dw_status dw_fw_prim_fill(int m, bool deriv, dw_fw_moment_fn mom, void *ctx, dw_fw_prim *P);

/* ---- the Mehler route (prim_series.c) ---------------------------------------------------------------------- */
/* Hermite coefficients of every F_ij at one variance q: c[f][k], k = 0..K + 4 (Stein shifts up to 4). */
#define DW_FW_K 120
typedef struct dw_fw_coefs {
    double q;
    int K;
    double c[DW_FW_NF][DW_FW_K + 5];
    double err[DW_FW_NF]; /* the largest coefficient error estimate of each F */
    double rel[DW_FW_NF]; /* err relative to F's largest coefficient */
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
    double v[DW_FW_NF][5][DW_FW_K + 1];
} dw_fw_vecs;
void dw_fw_vecs_reset(dw_fw_vecs *V, const dw_fw_coefs *c, double rho);
typedef struct dw_fw_series2 {
    dw_fw_vecs *x, *y;
} dw_fw_series2;
dw_status dw_fw_series2_moment(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err);

/* ---- the relu family in closed form (prim_relu.c): phi = lam (z on z > 0, alpha z on z < 0) --------------- */
#define DW_FW_RD 5 /* powers 0..4 of the moments' tables */
typedef struct dw_fw_relu {
    double alpha, lam;
    double a, b, c;    /* Sigma (c is recomputed from a, b, theta by dw_fw_relu_prepare) */
    double theta;      /* the angle, from the state's distance (accurate near 0 and pi) */
    int m;             /* 1: one-dimensional at variance a */
    /* filled by dw_fw_relu_prepare, in the coordinates (a, b, theta) that carry the pair without cancellation:
     * full and half-line moments E[u^n], E[u^n; u > 0] (side 0: u, variance a; side 1: v, variance b), the
     * regression slopes c / a, c / b and conditional deviations sqrt(b) sin theta, sqrt(a) sin theta, the density
     * at the origin, and the (+,+) quadrant moments E[u^p v^q; u > 0, v > 0] (p + q <= 4) */
    double full[2][DW_FW_RD], half[2][DW_FW_RD], slope[2], sig[2], sqv[2], p00, sinth, costh;
    double quad[DW_FW_RD][DW_FW_RD];
} dw_fw_relu;
/* Tables of R for the moments below (after alpha, lam, a, b, theta, m are set); DW_ERR_RANGE for a degenerate
 * pair (theta = 0 or pi) where derivatives are asked for (their moments are infinite there). */
dw_status dw_fw_relu_prepare(dw_fw_relu *R, bool deriv);
dw_status dw_fw_relu_moment(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, double *value, double *err);

/* ---- the recursion (recur.c) ----------------------------------------------------------------------------------- */
typedef struct dw_fw_state {
    int m;
    double K[2][2], T[2][2], G1[2][2], T1[2][2];
    double V[16], D[16], A[16], B[16], F[16];
    double dist; /* K_xx + K_yy - 2 K_xy carried without cancellation (pairs of the relu family) */
    double err;  /* accumulated error estimate, relative to the largest |K| */
} dw_fw_state;

/* The constants of one dense layer: C_W, C_b (NNGP), lambda_W, lambda_b (NTK rates), c = n_l / N of the layer
 * whose activations it reads. */
typedef struct dw_fw_layer {
    double cw, cb, lw, lb, c;
} dw_fw_layer;

/* Layer 1 from the inputs (x, and y when m = 2) of dimension d. */
void dw_fw_state_init(dw_fw_state *s, int m, const double *x, const double *y, size_t d, const dw_fw_layer *L1);
/* One step l -> l + 1 with the layer's primitives at Sigma = K^l. */
void dw_fw_state_step(dw_fw_state *s, const dw_fw_prim *P, const dw_fw_layer *L);
/* The running error bound of a step: e holds absolute bounds on the errors of s's entries (K .. F); it becomes
 * the bound for step(s), from the magnitudes of s and P, the primitives' errors (a few ulps of each, as the relu
 * family's closed form gives them) and the rounding of the sums (first order in the errors). */
void dw_fw_state_bound_step(dw_fw_state *e, const dw_fw_state *s, const dw_fw_prim *P, const dw_fw_layer *L);
/* The output quantities (DW_FW_COUNT) of the pair (x, y) (m = 2) or (x, x) (m = 1). */
void dw_fw_state_outputs(const dw_fw_state *s, double out[]);

#endif
