/* The real-typed part of finite.h (included twice, see there): DW_FW_REAL the type, DW_FW_T(name) its names. */

/* E[F^(nx)(u) G^(ny)(v)] with F = F_{ix jx}, G = F_{iy jy}, (u, v) ~ N(0, Sigma) (derivatives in the sense of
 * distributions; G = 1 (iy = jy = 0) makes it one-dimensional). err receives an absolute error estimate. */
typedef dw_status (*DW_FW_T(dw_fw_moment_fn))(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, DW_FW_REAL *value,
                                     DW_FW_REAL *err);

typedef struct DW_FW_T(dw_fw_prim) {
    DW_FW_REAL s[2][2], p[2][2];
    DW_FW_REAL S2[16], P2[16];      /* [a][b][e][f] */
    DW_FW_REAL S4[64], P4[64];      /* [a][b][c][d][e][f] */
    DW_FW_REAL SS[16], SP[16], PP[16];
    DW_FW_REAL Q1[8];               /* [a][c][e] */
    DW_FW_REAL err;                 /* the largest error estimate of a moment used, absolute */
} DW_FW_T(dw_fw_prim);

/* Fill every primitive for a point set of m (1 or 2) inputs from the moment function; without `deriv` only those
 * without derivatives (s, p, SS, SP, PP; the others read 0): what the step from layer 1 needs, whose corrections
 * are all zero (so a degenerate pair, x and -x, needs no derivative there). E (optional): each entry's absolute
 * error estimate, from the moment function's err. */
dw_status DW_FW_T(dw_fw_prim_fill)(int m, bool deriv, DW_FW_T(dw_fw_moment_fn) mom, void *ctx, DW_FW_T(dw_fw_prim) *P,
                                   DW_FW_T(dw_fw_prim) *E);

/* ---- the relu family in closed form (prim_relu.c): phi = lam (z on z > 0, alpha z on z < 0) --------------- */
typedef struct DW_FW_T(dw_fw_relu) {
    DW_FW_REAL alpha, lam;
    DW_FW_REAL a, b, c;    /* Sigma (c is recomputed from a, b, theta by DW_FW_T(dw_fw_relu_prepare)) */
    DW_FW_REAL theta;      /* the angle, from the state's distance (accurate near 0 and pi) */
    int m;             /* 1: one-dimensional at variance a */
    /* filled by DW_FW_T(dw_fw_relu_prepare), in the coordinates (a, b, theta) that carry the pair without cancellation:
     * full and half-line moments E[u^n], E[u^n; u > 0] (side 0: u, variance a; side 1: v, variance b), the
     * regression slopes c / a, c / b and conditional deviations sqrt(b) sin theta, sqrt(a) sin theta, the density
     * at the origin, and the (+,+) quadrant moments E[u^p v^q; u > 0, v > 0] (p + q <= 4) */
    DW_FW_REAL full[2][DW_FW_RD], half[2][DW_FW_RD], slope[2], sig[2], sqv[2], p00, sinth, costh;
    DW_FW_REAL quad[DW_FW_RD][DW_FW_RD];
} DW_FW_T(dw_fw_relu);
/* Tables of R for the moments below (after alpha, lam, a, b, theta, m are set); DW_ERR_RANGE for a degenerate
 * pair (theta = 0 or pi) where derivatives are asked for (their moments are infinite there). */
dw_status DW_FW_T(dw_fw_relu_prepare)(DW_FW_T(dw_fw_relu) *R, bool deriv);
dw_status DW_FW_T(dw_fw_relu_moment)(void *ctx, int ix, int jx, int nx, int iy, int jy, int ny, DW_FW_REAL *value, DW_FW_REAL *err);

/* ---- the recursion (recur.c) ----------------------------------------------------------------------------------- */
typedef struct DW_FW_T(dw_fw_state) {
    int m;
    DW_FW_REAL K[2][2], T[2][2], G1[2][2], T1[2][2];
    DW_FW_REAL V[16], D[16], A[16], B[16], F[16];
    /* the weight law's fourth cumulant kappa_4 (theory.md 1.6), terms of this layer's own weights that do not
     * propagate: U = N kappa_4(z_i(a), z_i(b), z_i(c), z_i(d)) (one unit's mean conditional fourth cumulant),
     * Fk = N times the extra covariance of Theta_ii(a, b) with z_i(c) z_i(d) within one unit's weight row, Bk = N
     * times the extra Cov(Theta_ii(a, b), Theta_ii(c, d)) within one row; all 0 for Gaussian weights */
    DW_FW_REAL U[16], Fk[16], Bk[16];
    DW_FW_REAL dist; /* K_xx + K_yy - 2 K_xy carried without cancellation (pairs of the relu family) */
    DW_FW_REAL err;  /* accumulated error estimate, relative to the largest |K| */
} DW_FW_T(dw_fw_state);

/* Layer 1 from the inputs (x, and y when m = 2) of dimension d. */
void DW_FW_T(dw_fw_state_init)(DW_FW_T(dw_fw_state) *s, int m, const double *x, const double *y, size_t d, const dw_fw_layer *L1);
/* One step l -> l + 1 with the layer's primitives at Sigma = K^l. */
void DW_FW_T(dw_fw_state_step)(DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P, const dw_fw_layer *L);
/* The running error bound of a step: e holds absolute bounds on the errors of s's entries (K .. F); it becomes
 * the bound for step(s), from the magnitudes of s and P, the primitives' relative error prel (a few ulps of each
 * from the relu family's closed form, plus the effect of the angle's error) plus, if Perr is not NULL, each entry's
 * absolute error (the series route), and the rounding of the sums (first order in the errors). */
void DW_FW_T(dw_fw_state_bound_step)(DW_FW_T(dw_fw_state) *e, const DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P,
                                     DW_FW_REAL prel, const DW_FW_T(dw_fw_prim) *Perr, const dw_fw_layer *L);
/* The largest ratio of the error bound e's outputs to each output's scale (K, Theta; K^2, Theta^2 for the second
 * moments) of the state s. */
double DW_FW_T(dw_fw_state_rel_bound)(const DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_state) *e);
/* The output quantities (DW_FW_COUNT) of the pair (x, y) (m = 2) or (x, x) (m = 1). */
void DW_FW_T(dw_fw_state_outputs)(const DW_FW_T(dw_fw_state) *s, DW_FW_REAL out[]);


/* ---- one pair of the relu family through every layer (pair.c) ------------------------------------------------ */
/* The outputs (DW_FW_COUNT, double) of the pair (x, y) (m = 2), phi = lam (z; alpha z), lay[0..L], and the running
 * error bound relative to each output's scale (*rel); *angle, *layer: the smallest angle met and its layer. */
dw_status DW_FW_T(dw_fw_relu_pair)(double alpha, double lam, int L, const dw_fw_layer *lay, const double *x,
                                   const double *y, size_t d, double out[], double *rel, double *angle, int *layer);
