/* Internal view of the signatures module (theory.md 5): truncated tensor algebra, Lyndon words, Goursat solvers. */
#ifndef DW_SIG_H
#define DW_SIG_H

#include "core/internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_SIG_MAX_LEVEL 64

/* Level offsets of a truncated tensor (level 0 omitted): level k (1..n) starts at off[k], off[1] = 0, and has
 * pw[k] = d^k entries; off[n + 1] is the total size. */
typedef struct {
    size_t d;
    int n;
    size_t off[DW_SIG_MAX_LEVEL + 2];
    size_t pw[DW_SIG_MAX_LEVEL + 1];
} dw_tens;

/* DW_OK, or DW_ERR_NOMEM/INVALID naming the sizes when d^1 + ... + d^n overflows. */
dw_status dw_tens_init(dw_tens *t, size_t d, int n);

/* S = exp(h) (a single linear segment with increment h, d entries). */
void dw_tens_exp_segment(const dw_tens *t, const double *h, double *S);
/* S <- S (x) exp(h) in place (Chen), Horner form; scratch holds d^(n-1) doubles. */
void dw_tens_chen_step(const dw_tens *t, double *S, const double *h, double *scratch);
/* out = A (x) B (level-0 parts taken as zero), truncated. out must not alias A or B. */
void dw_tens_mul(const dw_tens *t, const double *A, const double *B, double *out);
/* L = log(1 + X) (X with zero level 0: pass S for log S); work holds 2 tensors. */
void dw_tens_log(const dw_tens *t, const double *X, double *L, double *work);
/* E = exp(L) - 1 (L with zero level 0); work holds 2 tensors. */
void dw_tens_exp(const dw_tens *t, const double *L, double *E, double *work);

/* Chen's step for DW_SIG_LANES paths at once (sig.c), entries interleaved (entry e of lane l at e * LANES + l):
 * S <- S (x) exp(h) per lane; B: scratch of d^(n-1) LANES doubles. Every lane does the same operations. */
#define DW_SIG_LANES 8
void dw_sig_chen_lanes(const dw_tens *t, double *S, const double *h, double *B);

/* Adjoints (tensor_grad.c). One reverse step of Chen's product for DW_SIG_LANES paths at once, every array
 * interleaved as for dw_sig_chen_lanes: on entry P = Q (x) exp(h) and G = dL/dP; on exit P = Q (reconstructed as
 * P (x) exp(-h)), G = dL/dQ and gh (d) = dL/dh. work: (3 tensors + d) LANES doubles. */
void dw_tens_chen_step_backward_lanes(const dw_tens *t, double *P, double *G, const double *h, double *gh,
                                      double *work);
/* The same step's adjoint with the prefix given: Q (interleaved, unchanged), G = dL/d(Q (x) exp(h)) on entry and
 * dL/dQ on exit, gh = dL/dh. work: 2 tensors LANES doubles. */
void dw_tens_chen_adjoint_lanes(const dw_tens *t, const double *Q, double *G, const double *h, double *gh,
                                double *work);
/* For out = A (x) B (dw_tens_mul) and G = dL/dout: gA += dL/dA, gB += dL/dB. */
void dw_tens_mul_backward(const dw_tens *t, const double *A, const double *B, const double *G, double *gA, double *gB);
/* For L = log(1 + X) (dw_tens_log) and gL = dL/dL: gX = dL/dX (overwritten); work holds n + 2 tensors. */
void dw_tens_log_backward(const dw_tens *t, const double *X, const double *gL, double *gX, double *work);
/* For E = exp(L) - 1 (dw_tens_exp) and gE = dL/dE: gL = dL/dL (overwritten); work holds n + 2 tensors. */
void dw_tens_exp_backward(const dw_tens *t, const double *L, const double *gE, double *gL, double *work);

/* Lyndon basis: words of length 1..n over 0..d-1, level by level, lexicographic within a level, each with the
 * sparse expansion of its standard bracketing restricted to Lyndon words (a unitriangular system). */
typedef struct {
    size_t count;      /* number of Lyndon words */
    size_t *level_of;  /* length of word k */
    size_t *index;     /* position of word k in its level of the tensor (lexicographic index) */
    size_t *start;     /* entries of word k's expansion restricted to Lyndon words: start[k]..start[k+1]-1 */
    size_t *col;       /* Lyndon index of the entry */
    double *coef;
    double *full_coef; /* full expansion (all words): fstart[k]..fstart[k+1]-1 */
    size_t *full_word, *fstart;
} dw_lyndon;

dw_status dw_lyndon_init(dw_lyndon *ly, const dw_tens *t);
void dw_lyndon_clear(dw_lyndon *ly);
/* Lyndon coordinates of a Lie element L (full tensor): out[k] for k < count. */
void dw_lyndon_project(const dw_lyndon *ly, const dw_tens *t, const double *L, double *out);
/* Adjoint of dw_lyndon_project: gL (full tensor, overwritten) = dL/dL for g = dL/dout; y: count doubles of scratch. */
void dw_lyndon_project_adjoint(const dw_lyndon *ly, const dw_tens *t, const double *g, double *gL, double *y);
/* The Lie element sum_k c[k] P_k as a full tensor. */
void dw_lyndon_expand(const dw_lyndon *ly, const dw_tens *t, const double *c, double *L);

/* A Lie polynomial as a sparse list of words of one level (lexicographic indices, sorted) with coefficients. */
typedef struct {
    size_t *word;
    double *c;
    size_t n;
} dw_lie_poly;
/* out = [u, v] = u v - v u for u of pu = d^|u| words and v of pv = d^|v| words (concatenation: u's word times pv
 * plus v's); out's arrays malloc'ed. 0 when out of memory (nothing recorded). */
int dw_lie_bracket(const dw_lie_poly *u, size_t pu, const dw_lie_poly *v, size_t pv, dw_lie_poly *out);

/* The coordinates of log-signatures (opts.c's basis): Lyndon (dw_lyndon), Hall (the Hall set of libalgebra /
 * iisignature's 'H', hall.c: the same dw_lyndon fields, words being the Hall elements' foliages, with a dense LU
 * per level of the change of basis from Lyndon) or expanded (the full tensor, no basis). */
typedef struct {
    int basis;     /* dw_sig_basis */
    size_t count;  /* coordinates */
    dw_lyndon ly;  /* Lyndon / Hall: the elements' levels, words (Hall: foliages) and expansions */
    dw_lyndon lyn; /* Hall: the Lyndon basis, through which coordinates are found */
    double *lu;    /* Hall: per level k the LU factors of the Hall elements' Lyndon coordinates */
    size_t *piv;   /* row permutation of each level's factors */
    size_t first[DW_SIG_MAX_LEVEL + 2]; /* Hall: index of the first element of level k */
    size_t *left, *right; /* Hall: element m = [h_left[m], h_right[m]]; a letter: left[m] = SIZE_MAX, right[m] */
    size_t lu_off[DW_SIG_MAX_LEVEL + 2];
} dw_liebasis;
dw_status dw_liebasis_init(dw_liebasis *b, const dw_tens *t, int basis);
void dw_liebasis_clear(dw_liebasis *b);
/* Coordinates of a Lie element L (full tensor) into out (count); work: 2 count doubles. */
void dw_liebasis_project(const dw_liebasis *b, const dw_tens *t, const double *L, double *out, double *work);
/* Its adjoint: gL (full tensor, overwritten) from g (count); work: 2 count doubles. */
void dw_liebasis_project_adjoint(const dw_liebasis *b, const dw_tens *t, const double *g, double *gL, double *work);
/* The Lie element with coordinates c as a full tensor. */
void dw_liebasis_expand(const dw_liebasis *b, const dw_tens *t, const double *c, double *L);
/* Its adjoint: gc (count, overwritten) = dL/dc for gL = dL/dL (full tensor). */
void dw_liebasis_expand_adjoint(const dw_liebasis *b, const dw_tens *t, const double *gL, double *gc);
/* Hall (hall.c): fills b->ly with the Hall set and b->lu / piv with the factors. */
dw_status dw_hall_init(dw_liebasis *b, const dw_tens *t);

/* Checks a batch of paths (batch x len x d): non-NULL, batch >= 1, len >= 2, d >= 1, finite entries. */
dw_status dw_sig_check_paths(const double *X, size_t batch, size_t len, size_t d, const char *name);
/* The same with len >= 1: signatures and signature kernels accept one-point (constant) paths. */
dw_status dw_sig_check_points(const double *X, size_t batch, size_t len, size_t d, const char *name);
/* The same, reading only paths first .. first + count - 1 of the batch (a tile's; numbered in the whole batch). */
dw_status dw_sig_check_points_range(const double *X, size_t batch, size_t first, size_t count, size_t len, size_t d,
                                    const char *name);

/* Number of Lyndon words of length k over d letters (Witt's formula); 0 on overflow. */
size_t dw_lyndon_count(size_t d, int k);

/* Increments of a batch of paths: (n x (len - 1) x d), dX[b, i] = X[b, i + 1] - X[b, i]; NULL (DW_ERR_NOMEM
 * recorded) on failure; free(). */
double *dw_sig_increments(const double *X, size_t n, size_t len, size_t d);

/* Shared by the samplers (lcde.c, cresnet.c). Z (batch x N) = Y (batch x K) M^T for M (N x K) with a fixed
 * summation order (results independent of the thread count); rows r of M (rows x cols) drawn from the Philox stream
 * (seed, sample, b, c0 + r) times sd; DW_ERR_RANGE naming `what` if an entry of out is not finite. */
void dw_sig_matmul_t(const double *M, size_t N, size_t K, const double *Y, size_t batch, double *Z, int threads);
void dw_sig_fill_rows(double *M, size_t rows, size_t cols, double sd, uint64_t seed, uint64_t sample, uint64_t b,
                      uint64_t c0, int threads);
dw_status dw_sig_check_states(const double *out, size_t count, const char *what);

/* Path transforms (transform.c): the basepoint (origin prepended), lead-lag (pySigLib's: channels (lag, lead),
 * 2 len - 1 points), time augmentation (last channel end_time i / (len' - 1)), in this order. */
typedef struct {
    bool basepoint, lead_lag, time_aug;
    double end_time;
} dw_sig_transform;

static inline bool dw_sig_transform_active(const dw_sig_transform *tr)
{
    return tr->basepoint || tr->lead_lag || tr->time_aug;
}
/* The transformed paths' length and dimension. */
void dw_sig_transform_shape(const dw_sig_transform *tr, size_t len, size_t d, size_t *len2, size_t *d2);
/* The transformed paths (batch x len2 x d2), malloc'ed; NULL (failure recorded) when they do not fit. */
double *dw_sig_transform_apply(const dw_sig_transform *tr, const double *X, size_t batch, size_t len, size_t d);
/* gX (batch x len x d, overwritten) = the transform's adjoint applied to gT (batch x len2 x d2). */
void dw_sig_transform_backward(const dw_sig_transform *tr, const double *gT, size_t batch, size_t len, size_t d,
                               double *gX);

/* ---- the options objects (opts.c); the public header keeps them opaque ---- */
struct dw_sig_opts {
    int level; /* -1: unset; 0: the empty truncation (no entries) */
    int threads;
    int basis; /* dw_sig_basis of log-signatures */
    dw_sig_transform tr;
};

struct dw_sig_kernel_opts {
    int dyadic_order, dyadic_order_y; /* along X's paths (the grid's rows) and Y's (its columns) */
    dw_sig_solver solver;
    dw_sig_static static_kernel;
    double scale;
    int threads;
    dw_sig_transform tr;
};

/* Kernel computations with path transforms run on the transformed paths with options o (transforms off);
 * X, Y malloc'ed (Y NULL when the input Y is NULL), free() both. */
typedef struct {
    double *X, *Y;
    size_t lx, ly, d;
    dw_sig_kernel_opts o;
} dw_sig_kernel_paths;
dw_status dw_sig_kernel_transform(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                  size_t m, size_t ly, size_t d, dw_sig_kernel_paths *t);

struct dw_sig_nsk_opts {
    const dw_act *act; /* borrowed */
    double sigma0, sigma_a, sigma_b;
    bool inhomogeneous;
    int dyadic_order;
    dw_sig_solver solver;
    bool grid;
    int threads;
};

struct dw_sig_lcde_opts {
    size_t n_gate, n_input; /* 0: every channel */
    size_t *gate, *input;   /* owned copies */
    double sigma_A, sigma_B, sigma_C, sigma_c;
    bool diagonal;
    int threads;
};


/* Neural signature kernels by rows (nsk.c): the plan holds the increments and the self-kernels' diagonals (every
 * path's); dw_sig_nsk_rows computes rows [r0, r1) of the Gram, entry (i, j) at K[(i - r0) ld + j - cb], every
 * column (cb 0) or, symmetric (Y NULL), the columns j >= i only, and with mirror (the whole matrix, r0 = cb = 0)
 * also (j, i); then checks them finite. dw_sig_nsk_gram is plan + rows [0, n) with mirror. */
typedef struct dw_nsk_plan dw_nsk_plan;
dw_status dw_sig_nsk_plan_init(dw_nsk_plan **g, const dw_sig_nsk_opts *o, const double *X, size_t n, size_t lx,
                               const double *Y, size_t m, size_t ly, size_t d);
dw_status dw_sig_nsk_rows(dw_nsk_plan *g, size_t r0, size_t r1, double *K, size_t ld, size_t cb, bool mirror);
void dw_sig_nsk_plan_clear(dw_nsk_plan *g);

/* sigkernel.c: the checks of a Gram's options and of the paths of its tile [i0, i1) x [j0, j1). */
dw_status dw_sig_kernel_validate(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                 size_t m, size_t ly, size_t d, size_t i0, size_t i1, size_t j0, size_t j1);

/* The hash (kernels/ooc.h) of an out-of-core path Gram's inputs: the library, what (a name), the sizes, X and Y
 * (NULL: K(X, X)). gram_file.c. */
uint64_t dw_sig_gram_hash(const char *what, const double *X, size_t n, size_t lx, const double *Y, size_t m, size_t ly,
                          size_t d);

#endif
