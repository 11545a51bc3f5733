/* Internal: finite networks of any architecture of the layer list (theory.md 7): the sampled networks of
 * dw_sample_run / dw_sample_converge and the networks of a flat parameter vector (dw_sample_params / _apply /
 * _params_gram), for nets that are not fully connected.
 *
 * A net is compiled once (arch_compile.c) into a straight-line program over VALUES (one tensor per input point:
 * P spatial positions x C channels, NHWC, row-major), each op reading values and writing a new one; every value of
 * one input lives in that input's TAPE, so the backward pass reads what the forward pass left there. FanOut only
 * names a value several times, Flatten re-reads one as a vector, Identity and test-mode Dropout do nothing.
 *
 * Parameters (theta, the flat vector, in the order of the weight layers met depth first, parallel branches in
 * order): per dense/conv layer its kernel, R x C_out row-major with R = filter size x C_in (the filter's spatial
 * offsets row-major, then the input channel: NT's HWIO layout; a dense layer has filter size 1, so C_in x C_out),
 * then its bias (C_out) unless the layer has none. The layer's effective weights are W = sw theta_W, b = sb theta_b
 * with sw = sqrt(weight_var / fan_in), sb = sqrt(bias_var) (NTK parameterisation: theta ~ the law) or sw = sb = 1
 * (standard: theta drawn with those scales), fan_in = R. The tangent kernel is with respect to theta. */
#ifndef DW_SAMPLE_ARCH_H
#define DW_SAMPLE_ARCH_H

#include "core/internal.h"
#include "deepwick/sample.h"
#include "net/net.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct asamp_val {
    int rank;                      /* spatial axes (0: a vector) */
    size_t dim[DW_NET_SPATIAL_MAX];
    size_t P, C;                   /* positions, channels */
    size_t off;                    /* offset in an input's tape (doubles) */
} asamp_val;

typedef enum asamp_opk {
    AOP_DENSE, AOP_CONV, AOP_ACT, AOP_POOL, AOP_GPOOL, AOP_LN, AOP_DROPOUT, AOP_SCALE, AOP_SUM
} asamp_opk;

typedef struct asamp_op {
    asamp_opk k;
    const dw_net_layer *l;
    size_t layer_no;   /* the top-level layer it comes from (1-based, messages) */
    int in, out;       /* values; SUM: ins[0..nin) */
    int nin;
    int *ins;
    /* CONV, POOL: for output position o and window offset t, the input position idx[o * F + t] or -1 (padding) */
    size_t F;          /* window size (1 for DENSE) */
    long *idx;
    double *coef;      /* POOL: the factor of output position o */
    /* DENSE, CONV */
    size_t R, Cout;    /* kernel rows (F x C_in), columns */
    size_t pW, pb;     /* offsets in theta; pb SIZE_MAX: no bias */
    size_t wlayer;     /* 1-based weight layer number (the stream key) */
    double sw, sb;     /* effective scales (see above) */
    double init_w, init_b; /* the scales of the draws of theta */
    bool standard;
    /* ACT */
    const dw_act *act;
    /* SCALE: c; DROPOUT: keep rate */
    double c;
} asamp_op;

typedef struct asamp_prog {
    asamp_op *op;
    size_t nop, cap;
    asamp_val *val;
    size_t nval, vcap;
    size_t tape;      /* doubles per input */
    size_t nparam;    /* length of theta */
    size_t nweight;   /* weight layers */
    int out;          /* the output value */
    size_t dout;      /* its size P x C: the output units */
    size_t maxv;      /* the largest value */
    size_t maxcol;    /* the largest im2col buffer (P_out x R) */
    int nngp_op;      /* the readout dense op (the NNGP's conditional form), or -1 */
    dw_law law;
    bool gauss1;      /* the first weight layer Gaussian (gaussian_input_layer) */
    size_t d;
    size_t g0, g1, grows; /* dw_asamp_run out of core: the Gram's slot holds grows rows, each run computes rows
                           * [g0, g1) (dw_asamp_eval_rows' layout); 0, 0, 0: the whole n x n */
} asamp_prog;

/* arch_compile.c: check the net against the inputs' dimension d and compile it; `who` names the call in messages.
 * all_width > 0: every dense/conv layer but the readout (the top level's last weight layer) has that width (the
 * convergence study); 0: the net's widths (out_dim / out_chan), or default_width (the options' width) where one
 * is unset. */
dw_status dw_asamp_compile(asamp_prog *p, const dw_net *net, const char *who, size_t d, size_t all_width,
                           size_t default_width);
void dw_asamp_clear(asamp_prog *p);

/* arch_weights.c: draw one network's theta (sample `sample` of the streams keyed by seed), sequentially. */
dw_status dw_asamp_draw(const asamp_prog *p, uint64_t seed, uint64_t sample, double *theta);
/* The same for weight layer op only (for the parallel phase of the driver). */
dw_status dw_asamp_draw_layer(const asamp_prog *p, const asamp_op *op, uint64_t seed, uint64_t sample, double *theta);

/* arch_forward.c: the forward pass of one input x (d doubles) into its tape (p->tape doubles); scratch holds
 * dw_asamp_scratch(p) doubles. `row` is the input's index (the Dropout masks are keyed by (seed, sample, op, row)).
 * Returns 0, or 1 + the op whose output is not finite. */
size_t dw_asamp_forward(const asamp_prog *p, const double *theta, const double *x, uint64_t seed, uint64_t sample,
                        uint64_t row, double *tape, double *scratch);
double dw_asamp_scratch(const asamp_prog *p);
/* Dropout's keep mask of one op on one input (n entries of 0 or 1/rate) into m. */
void dw_asamp_dropout_mask(const asamp_prog *p, size_t opi, uint64_t seed, uint64_t sample, uint64_t row, size_t n,
                           double *m);
/* Column k of the im2col matrix of a CONV / DENSE op: the P_out x R patches of its input value. */
void dw_asamp_im2col(const asamp_op *op, size_t Pout, size_t Cin, const double *a, double *col);

/* arch_backward.c: the gradients of output unit u of one input with respect to theta (nparam doubles into J), by
 * back-propagation through the tape. scratch: dw_asamp_scratch(p) doubles, grad: p->tape doubles. */
void dw_asamp_backward(const asamp_prog *p, const double *theta, const double *tape, uint64_t seed, uint64_t sample,
                       uint64_t row, size_t u, double *J, double *grad, double *scratch);

/* arch_engine.c: m networks (thetas) on the n inputs X: outputs F (n x dout each, or NULL), the Gram of kind
 * (NULL or n x n; with n1 < n the n1 x (n - n1) cross block of rows 0..n1-1 against n1..n-1). Items are per
 * (network, input) and per (network, Gram tile), so results do not depend on the threads. */
typedef struct asamp_net {
    const double *theta;
    double *F, *G;
    double *work;   /* dw_asamp_work(p, n, kind) doubles */
    uint64_t sample; /* the dropout streams' sample, and messages */
} asamp_net;
double dw_asamp_work(const asamp_prog *p, size_t n, int kind);
dw_status dw_asamp_eval(const asamp_prog *p, const asamp_net *nets, size_t m, const double *X, size_t n, size_t n1,
                        int kind, uint64_t seed, int threads, bool given);
/* The same in parts: features, the forward (and NTK: backward) passes into the nets' work; then the Gram's rows
 * [g0, g1) only (g0 a multiple of DW_ASAMP_TILE, g1 too or the last row; g1 == g0: none), their tiles of
 * dw_asamp_eval (the same bits). Symmetric: entry (i, j), j >= i, at G[(i - g0)(n - g0) + j - g0] (the rest unset);
 * cross: G[(i - g0)(n - n1) + j - n1]. Without features, the work must hold them from an earlier call. */
#define DW_ASAMP_TILE 64
dw_status dw_asamp_eval_rows(const asamp_prog *p, const asamp_net *nets, size_t m, const double *X, size_t n,
                             size_t n1, int kind, uint64_t seed, int threads, bool given, size_t g0, size_t g1,
                             bool features);

/* arch_driver.c: the sampled networks first .. first + S - 1 in chunks (weights drawn in parallel, then the engine),
 * each handed to consume(ctx, s, F, G) in sample order. */
typedef dw_status (*dw_asamp_consumer)(void *ctx, size_t s, const double *F, const double *G);
struct dw_snet_progress;
dw_status dw_asamp_run(const asamp_prog *p, uint64_t seed, const double *X, size_t n, size_t S, uint64_t first,
                       int threads, int kind, bool outputs, dw_asamp_consumer consume, void *cctx,
                       const struct dw_snet_progress *prog);
/* Bytes of one sample's work space (and one thread's scratch). */
double dw_asamp_sample_bytes(const asamp_prog *p, size_t n, int kind, bool outputs);

/* arch_params.c: the checks of every call (n inputs of dimension d, the Gram kind, BLAS's int sizes) and the
 * compilation; dw_sample_forward / dw_sample_network_gram for a net that is not fully connected. */
dw_status dw_asamp_init(asamp_prog *p, const dw_net *net, const dw_sample_opts *o, const char *who, size_t n,
                        size_t d, int kind, size_t all_width);
/* The program of a parameter-vector call, with the vector's length checked; the Gram calls' checks of their
 * arguments on top of the program's (G: the output, any non-NULL pointer where there is none). */
dw_status dw_asamp_params_prog(asamp_prog *p, const dw_net *net, const dw_sample_opts *o, const char *who, size_t n,
                               size_t d, int kind, const double *theta, size_t n_params);
dw_status dw_asamp_gram_args(const double *X, size_t n, const double *Y, size_t m, size_t d, int kind, double *G);
dw_status dw_asamp_forward_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, size_t d,
                                 double *F);
dw_status dw_asamp_gram_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n, const double *Y,
                              size_t m, size_t d, int kind, double *G);
/* arch_file.c: the out-of-core files' hash (kernels/ooc.h) of what a net decides: the library's version, `tag`, the
 * net's canonical spelling, parameterisation and input shape. */
dw_status dw_asamp_hash_net(const dw_net *net, const char *tag, uint64_t *h);
/* arch_file.c: dw_sample_network_gram_file on a net that is not fully connected (the network of sample
 * first_sample of seed, drawn here): dw_sample_params_gram_file's route. */
dw_status dw_asamp_gram_file_drawn(const dw_net *net, const dw_sample_opts *o, const double *X, size_t n,
                                   const double *Y, size_t m, size_t d, dw_sample_gram kind, const char *path,
                                   const dw_file_opts *fo);

#endif
