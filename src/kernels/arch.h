/* The architecture engine (theory.md 7): NNGP and NTK of any network in the layer list (convolutions, pools,
 * normalisation, branches), not installed. A net is compiled once into a straight-line program over registers,
 * each register holding one stream's pair covariances Sigma(x, y) and Theta(x, y) over spatial positions, either
 * all P x P pairs of positions (FULL: needed when a pool averages across positions) or the P diagonal ones
 * (DIAG: enough when the spatial axes end in Flatten; O(P) instead of O(P^2) per pair of inputs). The program
 * then runs once per input (x, x), recording the per-position variances later layers need ("slots"), and once
 * per pair (x, y), which reads the two inputs' slots. Every step is a plain function on arrays. */
#ifndef DW_KERNELS_ARCH_H
#define DW_KERNELS_ARCH_H

#include "core/internal.h"
#include "net/net.h"
#include "act/act.h"

#include <stdbool.h>

/* A stream's spatial shape (rank 0: no spatial axes, P = 1) and channel count (0: unknown). */
typedef struct arch_shape {
    int rank;
    size_t dim[DW_NET_SPATIAL_MAX];
    size_t P;
    double C;
} arch_shape;

typedef enum arch_opk {
    OP_INPUT, OP_DENSE, OP_CONV, OP_ACT, OP_POOL, OP_GPOOL, OP_FLATTEN, OP_LN, OP_DROPOUT, OP_SCALE, OP_COPY, OP_SUM
} arch_opk;

/* One cross term of a sum: Cov(stream a (x), stream b (y)) for two streams that are functions of the same
 * Gaussian origin h0 without a weight layer between (theory.md 7: skip connections into activations). fa, fb:
 * NULL the identity, else the activation; s = the product of their scales. */
typedef struct arch_cross {
    int origin;                /* the register holding h0's covariances */
    const dw_act *fa, *fb;
    double s;
    int var_slot, md_slot;     /* slots of h0's variances and of E[phi'] at them (-1: not needed) */
} arch_cross;

typedef struct arch_op {
    arch_opk k;
    const dw_net_layer *l;
    int reg, src;        /* the register changed (in place), COPY's source */
    arch_shape in, out;
    bool standard;       /* DENSE / CONV: the standard parameterisation's tangent kernel */
    bool flat;           /* INPUT: followed by Flatten, fused (out: one position of all d features) */
    size_t *gptr, *gidx; /* CONV in DIAG mode: output o averages the input positions gidx[gptr[o] .. gptr[o + 1])
                          * (its window's positions inside the input; dw_arch_conv_table) */
    size_t gw;           /* the window's positions (the average's divisor, padding included) */
    bool t_zero;         /* CONV: its input's tangent kernel is 0 (it follows the input) */
    double fan_in;       /* its fan-in: channels (x filter size) */
    double wv, bv;       /* weight_var, bias_var; SCALE: c^2; DROPOUT: 1 / rate */
    bool has_bias;
    const dw_act *act;   /* ACT */
    int slot;            /* ACT, LN: the slot of the input's per-position variances */
    size_t lo[DW_NET_SPATIAL_MAX]; /* CONV, POOL: padding before each axis */
    int nsrc;            /* SUM: registers summed into reg (srcs[0] == reg) */
    int *srcs;
    int ncross;
    arch_cross *cross;
} arch_op;

/* SLOT_LN: a LayerNorm's P variances, then its factors (dw_arch_ln_fields) */
typedef enum arch_slotk { SLOT_VAR, SLOT_MDERIV, SLOT_LN } arch_slotk;
typedef struct arch_slot {
    arch_slotk k;
    size_t P, off; /* positions, offset in an input's record */
    int src;       /* SLOT_MDERIV: the variance slot it is taken at */
    const dw_act *act;
} arch_slot;

typedef struct arch_prog {
    arch_op *op;
    size_t nop, cap;
    arch_slot *slot;
    size_t nslot, slot_cap, rec; /* rec: doubles per input record */
    int nreg;
    int out_reg;     /* the register holding the result */
    bool full;
    size_t maxP;     /* the largest P of any register */
    size_t reg_len;  /* doubles per register array: maxP^2 (FULL) or maxP */
    bool generic;    /* some activation takes the generic (bounded) route */
    const char *method;
    size_t no_width_layer; /* the first standard-parameterised layer whose fan-in is unknown (0: none) */
    const dw_sweep_impl *impl; /* the vector sweeps (dw_sweep_select, once) */
    size_t act_len;  /* doubles of per-worker activation scratch (arch_act.c) */
    bool rows_ok;    /* every register holds one position after the input: pairs run in blocks (arch_rows.c) */
} arch_prog;

/* Per-thread scratch and statistics of a run. */
typedef struct arch_work {
    double *K, *T;   /* nreg registers of reg_len doubles */
    double *tmp;     /* 2 reg_len: scratch of the window steps */
    double *act;     /* act_len: one row's sweep state and the two sides' per-position fields */
    double *rows;    /* rows_ok programs: dw_arch_rows_len (arch_rows.c) */
    double max_bound;
    size_t evaluations;
} arch_work;

/* arch_compile.c */
dw_status dw_arch_compile(arch_prog *prog, const dw_net *net, size_t d);
void dw_arch_prog_clear(arch_prog *prog);
/* Whether the net takes the architecture engine (not the fully connected one). */
bool dw_arch_wanted(const dw_net *net);

/* arch_run.c: run the program on one pair. rx, ry: the two inputs' slot records; same: x and y are the same input
 * (Dropout's diagonal); record: fill rx (the per-input pass, x == y). Outputs: *k, *t. */
dw_status dw_arch_run(const arch_prog *prog, arch_work *w, const double *x, const double *y, size_t d, double *rx,
                      const double *ry, bool same, bool record, double *k, double *t);

/* The steps (arch_dense.c, arch_conv.c, arch_pool.c, arch_act.c, arch_norm.c, arch_branch.c): in place on
 * register arrays K, T (T may be NULL: no tangent kernel wanted). */
void dw_arch_input(const arch_op *op, bool full, const double *x, const double *y, size_t d, double *K, double *T);
void dw_arch_dense(const arch_op *op, bool full, double *K, double *T);
/* The block runner's loops over lanes are also built for AVX2, chosen when the library loads (GCC's function
 * clones; not under the sanitizers, whose start-up the clones' resolver would run before). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define DW_LANES __attribute__((target_clones("avx2", "default")))
#else
#define DW_LANES
#endif
void dw_arch_affine(const arch_op *op, size_t n, double *restrict K, double *restrict T);
void dw_arch_conv(const arch_op *op, bool full, double *K, double *T, double *tmp);
dw_status dw_arch_conv_table(arch_op *op);
void dw_arch_pool(const arch_op *op, bool full, double *K, double *T, double *tmp);
void dw_arch_gpool(const arch_op *op, bool full, double *K, double *T);
dw_status dw_arch_act(const arch_prog *prog, const arch_op *op, const double *vx, const double *vy, double *K,
                      double *T, arch_work *w);
/* One Gaussian expectation pair (V, Vd) of act; generic activations record their bound and count in w. */
dw_status dw_arch_dual(const arch_prog *prog, const dw_act *act, double a, double b, double c, double *v, double *vd,
                       arch_work *w);
/* act's closed forms on n diagonal pairs (entry j: point j of qx with point j of qy): c <- E[phi(u) phi(v)] and,
 * th not NULL, th <- E[phi'(u) phi'(v)] th, in place; s, t scratch (the homogeneous families' angle state). */
void dw_arch_sweep_diag(const dw_sweep_impl *impl, const dw_act *act, size_t n, const dw_pts *qx, const dw_pts *qy,
                        double *s, double *t, double *c, double *th);
/* An activation's slot in an input's record: its P variances, and for closed forms after them (stride P + DW_PAD)
 * sqrt, the sweeps' per-point factor and poly's moments, which dw_arch_act_fields fills in from the variances. */
size_t dw_arch_act_slot_len(const dw_act *act, size_t P);
void dw_arch_act_fields(const dw_act *act, double *v, size_t P);
/* The distance between an activation slot's fields for P positions, and the sweeps' view (sweep.h's dw_pts) of
 * fields S apart from v (a record: S = dw_arch_act_stride(P); transposed records: that times their ld). */
size_t dw_arch_act_stride(size_t P);
dw_pts dw_arch_act_pts(const dw_act *act, const double *v, size_t S, const double *zero);
/* The scratch dw_arch_act needs per worker for P positions. */
size_t dw_arch_act_len(size_t P);
/* A LayerNorm slot's factors after its P variances v: 1 / sqrt(eps + v_q) per position, or (over the spatial axes
 * too) 1 / sqrt(eps + mean v) once; the layer multiplies Sigma_ij(x, y) by the two sides' factors. */
void dw_arch_ln_fields(const arch_op *op, double *v);
void dw_arch_ln(const arch_op *op, bool full, const double *vx, const double *vy, double *K, double *T);
void dw_arch_dropout(const arch_op *op, bool full, bool same, double *K, double *T);
dw_status dw_arch_sum(const arch_prog *prog, const arch_op *op, arch_work *w, const double *rx, const double *ry,
                      bool want_t);
/* One cross term of a sum at one entry, for both runners (arch_branch.c, arch_rows.c): from h0's covariances k0,
 * t0 there, the two sides' variances vx, vy (read when both streams are activations) and their E[phi'] mx, my
 * (read when one is the identity), the term's k and t before the scale x->s. */
static inline dw_status dw_arch_cross_entry(const arch_prog *p, const arch_cross *x, double k0, double t0, double vx,
                                            double vy, double mx, double my, arch_work *w, double *k, double *t)
{
    if (!x->fa && !x->fb) {
        *k = k0;
        *t = t0;
    } else if (!x->fa || !x->fb) { /* E[u phi(v)] = Sigma0 E[phi'(v)] (Stein), or its mirror */
        const double m = !x->fa ? my : mx;
        *k = k0 * m;
        *t = t0 * m;
    } else {
        double vd;
        dw_status s = dw_arch_dual(p, x->fa, vx, vy, k0, k, &vd, w);
        if (s) return s;
        *t = vd * t0;
    }
    return DW_OK;
}
/* arch_rows.c: programs on DIAG registers (no pool) run DW_ARCH_ROWS pairs (x, y_b) of a row at once: xin, for a
 * flattened input, x's dot products with the block's inputs over d (the sweeps' dots, nb of them; else unused), yt
 * the block's inputs (unused for a flattened input) and ty their records, both transposed (dw_arch_records_t:
 * feature / field f of input b at [f * ld + b], valid to b < nb + DW_ARCH_ROWS); k, t receive nb entries. */
#define DW_ARCH_ROWS 64
/* rows per work item of dw_arch_gram_rows (the block runner's rows share their blocks' columns) */
#define DW_ARCH_GROUP 4
extern bool dw_arch_rows_disabled; /* tests only: every program pair by pair */
bool dw_arch_rows_ok(const arch_prog *prog);
size_t dw_arch_rows_len(const arch_prog *prog);
/* n records of len doubles transposed into t (len x (n + DW_ARCH_ROWS), the padding copies the last record). */
void dw_arch_records_t(const double *rec, size_t n, size_t len, double *t);
dw_status dw_arch_run_rows(const arch_prog *prog, arch_work *w, const double *x, const double *rx, const double *xin,
                           const double *yt, const double *ty, size_t ld, size_t nb, size_t d, double *k, double *t);
/* arch_gram.c: dw_kernel_gram for nets that are not fully connected (same contract). */
struct dw_kernel_opts;
struct dw_kernel_info;
dw_status dw_arch_gram(const dw_net *net, const struct dw_kernel_opts *o, const double *X, size_t n, const double *Y,
                       size_t m, size_t d, double *K, double *Theta, struct dw_kernel_info *info);
/* The driver's state (the compiled net, the inputs' records, the workers' registers), shared by dw_arch_gram and the
 * out-of-core writer (arch_ooc.c). init: ntk says whether tangent kernels will be asked of the rows. */
typedef struct arch_gram arch_gram;
dw_status dw_arch_gram_init(arch_gram **g, const dw_net *net, const struct dw_kernel_opts *o, const double *X,
                            size_t n, const double *Y, size_t m, size_t d, bool ntk);
void dw_arch_gram_clear(arch_gram *g);
const arch_prog *dw_arch_gram_prog(const arch_gram *g);
/* Rows [r0, r1) of the Gram (symmetric, Y NULL: only the entries j >= i), entry (i, j) to K[(i - r0) ld + j - c0]
 * and Theta alike (either NULL: not wanted); the bits of dw_arch_gram's. */
dw_status dw_arch_gram_rows(arch_gram *g, size_t r0, size_t r1, double *K, double *Theta, size_t ld, size_t c0);
/* The rows report o->progress (pairs of inputs done, from `done`, of `total`; o NULL or no callback: none); a
 * non-zero return stops them (DW_ERR_INVALID, "cancelled") and dw_arch_gram_cancelled says so. */
void dw_arch_gram_progress(arch_gram *g, const struct dw_kernel_opts *o, size_t done, double total);
bool dw_arch_gram_cancelled(const arch_gram *g);
/* The generic route's statistics so far merged into *max_bound (max) and *evaluations (sum); the info from them. */
void dw_arch_gram_stats(const arch_gram *g, double *max_bound, size_t *evaluations);
void dw_arch_gram_info(const arch_gram *g, double max_bound, size_t evaluations, struct dw_kernel_info *info);
/* arch_ooc.c: dw_kernel_gram_file and dw_kernel_gram_file_bytes for those nets (same contracts). */
dw_status dw_arch_gram_file(const dw_net *net, const struct dw_kernel_opts *o, const double *X, size_t n,
                            const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                            struct dw_kernel_info *info);
dw_status dw_arch_gram_file_bytes(const dw_net *net, const struct dw_kernel_opts *o, size_t n, size_t m, bool nngp,
                                  bool ntk, double *fixed, double *per_row);
/* dw_kernel_gram_bytes for those nets: the outputs, the inputs' records and the workers' registers. */
dw_status dw_arch_gram_bytes(const dw_net *net, const struct dw_kernel_opts *o, size_t n, size_t m, bool nngp,
                             bool ntk, double *bytes);
/* E[phi'(sqrt(q) Z)] in Stein's sense (E[Z phi(sqrt(q) Z)] / sqrt(q)), and an error bound. */
dw_status dw_arch_mean_deriv(const dw_act *act, double q, double *m, double *err);

#endif
