/* Layer sweeps: an activation's Gaussian expectations E[phi(u) phi(v)], E[phi'(u) phi'(v)] for a row of pairs, and
 * the NNGP/NTK step they make (theory.md 1.2, 1.3, 1.5a), as plain functions on arrays: the hot kernels of every
 * Gram. They live with the activations (dw_act_dual is one pair of them) and are called by the kernels' tile
 * driver and the architectures' engine, which own allocation, threading and I/O (src/kernels/). The body
 * (sweep_body.h) is compiled twice: AVX2+FMA with SLEEF, and portable scalar.
 *
 * Two state representations, chosen by the activation:
 * - homogeneous (relu, leaky_relu, abs: degree 1; step: degree 0): the pair state is s = sin^2(theta/2),
 *   t = cos^2(theta/2) of the angle theta between u and v, carried with full relative accuracy so that
 *   theta near 0 or pi is exact to rounding (a naive arccos(c / sqrt(ab)) loses half the digits there).
 * - smooth (identity, erf, sin, cos, exp, poly): the pair state is the covariance c; the closed forms are
 *   well conditioned in c.
 */
#ifndef DW_SWEEP_H
#define DW_SWEEP_H

#include <stddef.h>

/* Activation families as the sweeps see them. */
typedef enum {
    DW_FAM_RELU,   /* alpha z + (1 - alpha) relu(z): relu (0), leaky (alpha), abs (-1), identity is not here */
    DW_FAM_STEP,   /* 1{z > 0} */
    DW_FAM_IDENTITY,
    DW_FAM_ERF,
    DW_FAM_SIN,
    DW_FAM_COS,
    DW_FAM_EXP,
    DW_FAM_POLY,
    DW_FAM_GELU,   /* z Phi(z): arcsine closed form (theory.md 1.5 a; see docs/ACCURACY.md) */
    DW_FAM_GENERIC /* any other activation: the Mehler series of cached Hermite coefficients (theory.md 1.5b) */
} dw_family;

/* Per-point fields of one layer, each an array over points (padded by DW_PAD entries that are safe to read).
 * For the transition from layer l to l + 1 the row/column point data come from layer l (and l + 1 for sa1, ih1). */
typedef struct {
    const double *a;   /* K^l(x, x) */
    const double *sa;  /* sqrt(a) */
    const double *r;   /* homogeneous: sqrt(a) (degree 1) or [a > 0] (step); erf: 1/sqrt(1 + 2a); sin/cos: exp(-a/2) */
    const double *sp;  /* homogeneous: sqrt(w_{l+1} E[phi(u)^2]) (the next layer's variance without bias) */
    const double *sa1; /* homogeneous: sqrt(a^{l+1}) */
    const double *ih1; /* homogeneous: 1/sqrt(a^{l+1}), or 0 where a^{l+1} = 0 */
    const double *pk;  /* poly: M_k(a)/sqrt(k!) for k = 0..deg, field k at pk[k * stride] */
    const double *qk;  /* poly: M_{k+1}(a)/sqrt(k!) */
    size_t stride;     /* distance between poly fields */
    /* generic: pk, qk hold a_k(a), b_k(a) (Hermite coefficients of phi(sqrt(a) Z), phi'(sqrt(a) Z)), k = 0..deg, and */
    const double *ih;  /* 1/sqrt(a), or 0 where a = 0 (then rho = 0) */
    const double *gb;  /* 6 bound factors at gb[f * stride]: sqrt E phi^2, sqrt tail_a, |da|, and the same for phi';
                        * the errors of E phi^2, E phi'^2 at f = 6, 7; then the Parseval tails (square roots, errors
                        * included) after the checkpoint orders k_c = min(DW_GEN_CK (c + 1) - 1, K), c = 0..
                        * DW_GEN_NCP - 1: of phi at gb[(8 + c) * stride], of phi' at gb[(8 + DW_GEN_NCP + c) * stride] */
} dw_pts;

/* Generic activations: each entry's Mehler series stops at the first checkpoint order k_c whose truncation bound
 * |rho|^(k_c + 1) T_i(k_c) T_j(k_c) is within dw_step.budget of the scale (or at the layer's K). */
#define DW_GEN_CK 8
#define DW_GEN_NCP 19 /* ceil((DW_GAUSS_K + 1) / DW_GEN_CK) */

#define DW_PAD 8

/* One layer transition for one row: point i (index into the row side) against points j0..j0+nj-1 of the
 * column side. All in/out arrays have at least nj rounded up to a multiple of 4 entries. */
typedef struct {
    dw_family fam;
    double alpha;      /* DW_FAM_RELU slope */
    double w, beta;    /* sigma_w^2, sigma_b^2 of layer l + 1 */
    int ntk;           /* advance theta */
    int standard;      /* standard parameterisation: theta' = n_l E + [bias] + w E[phi'phi'] theta */
    double fan_in;     /* n_l (standard only) */
    double has_bias;   /* 1 if the layer has a bias (standard only) */
    int deg;           /* poly degree (its coefficients enter through dw_pts.pk, qk); generic: series order K */
    double budget;     /* generic: relative truncation bound at which an entry's series may stop early */
} dw_step;

/* Row kernels. s, t: homogeneous state (in/out); c: covariance (smooth: in/out; homogeneous: out);
 * th: NTK (in/out, may be NULL when !ntk). Generic family: s receives, per entry, the relative error bound
 * max(bound(V) / sqrt(E phi(u)^2 E phi(v)^2), bound(Vd) / sqrt(E phi'(u)^2 E phi'(v)^2)) of the series. */
typedef void (*dw_row_fn)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                          double *s, double *t, double *c, double *th);

/* The homogeneous pair state of n entries of one row (a: the row's variance; b, c, s, t: n rounded up to a
 * multiple of 4 entries): as dw_act_half_angle, entry by entry. */
typedef void (*dw_half_fn)(double a, const double *b, const double *c, size_t n, double *s, double *t);

/* The homogeneous families from the covariance alone (no angle state in or out): c in/out, th in/out (NULL when
 * !ntk). The architecture engine's activations, which take each pair afresh from its covariance. */
typedef void (*dw_cov_fn)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                          double *c, double *th);

typedef struct {
    dw_row_fn homog;
    dw_row_fn smooth;
    dw_half_fn half;
    /* the diagonal form (row index i unused: entry j pairs point j0 + j of pi with point j0 + j of pj; the closed
     * forms only, not the generic family) */
    dw_row_fn smooth_diag;
    dw_cov_fn homog_cov_row, homog_cov_diag; /* the covariance forms: a row (point i), the diagonal */
    /* the arctangent the covariance forms inline, atan2(y_j, x_j) for y, x >= 0 on n entries (a multiple of 4):
     * the tests' view of it */
    void (*atan2_pos)(size_t n, const double *y, const double *x, double *r);
    /* the architecture engine's flattened input: dot products of nr rows of x with nl lanes of transposed inputs
     * (dots_body.h) */
    void (*dots)(size_t nr, size_t d, const double *x, const double *yT, size_t ld, size_t nl, double *out,
                 size_t ldo);
    const char *name;
} dw_sweep_impl;

extern const dw_sweep_impl dw_sweep_scalar;
#ifdef DW_HAVE_AVX2
extern const dw_sweep_impl dw_sweep_avx2;
#endif

/* The implementation for this CPU (AVX2+FMA when present, else scalar; DW_NO_SIMD=1 forces scalar). */
const dw_sweep_impl *dw_sweep_select(void);

#endif
