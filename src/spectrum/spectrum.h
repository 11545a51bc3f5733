/* spectrum: the limiting singular-value law of the input-output Jacobian (theory.md 3). Internal, not installed.
 *
 *   layers.c   variances q_l, the fixed point q*, the law of d^2 = phi'(sqrt(q) Z)^2 per layer and its moments
 *              mu_j; exact rationals for the piecewise-linear activations and polynomials.
 *   nc.c       route 1: NC(k) with Kreweras complements, grouped by the pair of block-size types.
 *   series.c   route 2: S-transforms as power series (long double, and exact rationals with fmpq_poly).
 *   density.c  Stieltjes inversion: Newton on (z, u_g) for x = t + i eta, support edges.
 *   pushforward.c  orthogonal weights with one continuous layer law: the push-forward density and its edge.
 *   exact.c    exact rationals of q_l and mu_j (layers.c: floating point).
 *   spectrum.c public driver: set-up of the layers from the net, the routes, exact rationals.
 *   network.c  one given finite network: its Jacobian (GEMM chain + SVD) and Hutchinson's moments.
 *   sample.c   many sampled networks (the caller's drawing function), in parallel; sample_law.c: the sampling
 *              module's laws as that drawing function.
 *   opts.c     the options objects (limit and finite networks) and their setters.
 */
#ifndef DW_SPECTRUM_H
#define DW_SPECTRUM_H

#include "act/act.h"
#include "core/internal.h"
#include "net/net.h"

#include <stdbool.h>
#include <stdint.h>

#include <flint/fmpq.h>
#include <flint/fmpq_poly.h>

/* The law of d^2 at one variance: atoms d2[i] with weights w[i] (sum 1). */
typedef struct dw_d2_law {
    double q;
    int n;
    double *d2, *w;
    int exact;    /* 1: the atoms are the exact law (piecewise-linear activations), 0: a quadrature rule */
    double atom0; /* P(d^2 = 0) */
    double dmax;  /* max d2 */
} dw_d2_law;

struct dw_spectrum {
    int L, kmax;
    int orth;        /* 1: Haar orthogonal weights, 0: i.i.d. */
    const dw_act *act;
    double *sw2, *sb2, *q, *mu; /* L, L, L, L * kmax */
    double q0, mu_err, atom0, log_sw2_sum;
    int fixed_point;
    int ng;          /* distinct variances */
    int *group;      /* layer -> group */
    int *mult;       /* group multiplicities */
    double *gq;      /* ng variances */
    dw_d2_law *law;     /* ng laws, built at set-up unless law_lazy (closed-form mu_j: built by density/support) */
    int law_lazy;
    double *gmu;     /* ng * kmax moments of each group */
    int residual;    /* 1: residual blocks x' = gamma x + alpha phi(W x + b) (residual.c) */
    double *res_gamma, *res_alpha; /* L each (residual only) */
    int res_act_first;  /* 1: act-first blocks x' = gamma x + alpha (W phi(x) + b) (residual_actfirst.c) */
    double *res_p;      /* act first: L + 1 variances of the stream x_0..x_L */
};

/* A residual network's blocks (residual.c): residual(dense; ACT, skip_scale = gamma, branch_scale = alpha). */
typedef struct dw_spec_res {
    int L;
    int act_first; /* 1: residual(ACT; dense) blocks, x' = gamma x + alpha (W phi(x) + b) */
    const dw_act *act;
    double gamma[DW_SPECTRUM_RES_DEPTH_MAX], alpha[DW_SPECTRUM_RES_DEPTH_MAX];
    double sw2[DW_SPECTRUM_RES_DEPTH_MAX], sb2[DW_SPECTRUM_RES_DEPTH_MAX];
} dw_spec_res;
/* 1 if the net starts with a fanout (the residual networks' form; dw_spec_residual_view checks the rest). */
int dw_spec_is_residual(const dw_net *net);
/* The blocks, or DW_ERR_INVALID naming the layer or block that is not of the form. */
dw_status dw_spec_residual_view(const dw_net *net, dw_spec_res *r);
/* The one width of the branches' dense layers (after dw_spec_residual_view), 0 if unset or not one. */
double dw_spec_residual_width(const dw_net *net);
/* q_l = sw2_l (1/N)|x_{l-1}|^2 + sb2_l, l = 1..L, from (1/N)|x_0|^2 = q0 and an input of mean 0. */
dw_status dw_spec_residual_q(const dw_spec_res *r, double q0, double *q);
/* m_1..m_K (K <= DW_SPECTRUM_RES_KMAX) by the block recursion of the non-crossing pairings. */
dw_status dw_spec_residual_moments(const dw_spectrum *s, int K, double *m);

/* residual.c's pieces shared with residual_actfirst.c. NC(r), r <= DW_SPECTRUM_RES_KMAX, as restricted growth
 * strings (labels by first appearance) in lexicographic order; dw_res_nc_build returns 0 on allocation failure
 * (the caller frees lab and key). */
typedef struct dw_res_nc {
    int r, n;
    unsigned char *lab; /* n * r labels */
    unsigned long *key; /* sorted keys */
} dw_res_nc;
int dw_res_nc_build(dw_res_nc *s, int r);
unsigned long dw_res_rgs_key(const unsigned char *lab, int r);
int dw_res_nc_index(const dw_res_nc *s, unsigned long key); /* -1 if absent */
/* A face of one block step's W pairing on the word M e_0 M e_1 ... M e_{k-1} (M = F M_l F^T): its M's in order
 * and, after each, the D letters and the gaps e_i (bit i) up to the next M; nm == 0: all in insertion 0. */
enum { DW_RES_PMAX = 2 * DW_SPECTRUM_RES_KMAX };
typedef struct dw_res_face {
    int nm;
    int m[DW_SPECTRUM_RES_KMAX];
    int gapD[DW_SPECTRUM_RES_KMAX + 1];
    unsigned gapB[DW_SPECTRUM_RES_KMAX + 1];
} dw_res_face;
typedef void (*dw_res_faces_fn)(void *ctx, const dw_res_face *f, int nf, double w);
/* Every pairing (orth: Haar blocks) of the W's of F = gamma + alpha D W (act_first: gamma + alpha W D) in the k
 * copies of F M F^T, with its weight (gamma, alpha, sw2^n kappa_2n) and faces. */
void dw_res_pairings(int k, double gam, double alp, int orth, double sw2, int act_first, dw_res_faces_fn fn,
                     void *ctx);
/* Act-first blocks x_l = gamma x_{l-1} + alpha (W phi(x_{l-1}) + b) (residual_actfirst.c): the variances
 * p_l of x_l, l = 0..L (p_0 = q0), and m_1..m_K with an absolute error estimate per moment (err may be NULL). */
dw_status dw_spec_actfirst_p(const dw_spec_res *r, double q0, double *p);
dw_status dw_spec_actfirst_moments(const dw_spectrum *s, int K, double *m, double *err);

/* The weight laws the spectrum takes (real; orthogonal without a Gaussian input layer), with the error naming why. */
dw_status dw_spec_check_law(const dw_net *net);
/* 1 if the mu_j of this activation are rational polynomials in q (relu family, step, identity, poly). */
int dw_spec_rational_act(const dw_act *act);
/* Exact q_1..q_L and mu (L * K) for a rational activation; DW_ERR_INVALID if not rational. */
dw_status dw_spec_exact_layers(const dw_spectrum *s, int K, fmpq *q, fmpq *mu);

/* V(q) = E[phi(sqrt q Z)^2] (dw_act_dual at a = b = c = q), mu_1(q) = E[phi'(sqrt q Z)^2]. */
dw_status dw_spec_V(const dw_act *act, double q, double *V, double *mu1);
/* Stable fixed point of q -> sw2 V(q) + sb2 from q_start. */
dw_status dw_spec_fixed_point(const dw_act *act, double sw2, double sb2, double q_start, double *qstar);
/* Law of phi'(sqrt(q) Z)^2 and its moments mu_1..mu_K; err: estimated absolute error of the worst mu_j. */
dw_status dw_spec_law(const dw_act *act, double q, int K, dw_d2_law *law, double *mu, double *err);
void dw_spec_law_clear(dw_d2_law *law);
/* mu_1..mu_K in closed form where phi' allows (erf, sin, exp); returns 0 otherwise. */
int dw_spec_closed_mu(const dw_act *act, double q, int K, double *mu);
/* The s->ng laws: s->law, or (law_lazy) freshly built ones that the caller frees with dw_spec_laws_free. */
dw_status dw_spec_laws(const dw_spectrum *s, dw_d2_law **laws);
void dw_spec_laws_free(const dw_spectrum *s, dw_d2_law *laws);

/* Route 1 for Gaussian weights: m (K) from per-layer sw2 (L) and mu (L * ldmu). */
dw_status dw_spec_nc_moments(int L, int K, const double *sw2, const double *mu, int ldmu, double *m);
dw_status dw_spec_nc_moments_exact(int L, int K, const fmpq *sw2, const fmpq *mu, int ldmu, fmpq *m);
/* Number of partitions in NC(k) seen and distinct (type, Kreweras type) pairs (for tests and documentation). */
dw_status dw_spec_nc_stats(int k, long *n_partitions, long *n_pairs);

/* Route 2. Groups: ng distinct laws with moments gmu (ng * ldmu), multiplicities mult, sum of log sw2 handled
 * through sw2 per layer (L). */
dw_status dw_spec_series_moments(const dw_spectrum *s, int K, double *m);
dw_status dw_spec_series_moments_exact(int L, int K, int orth, const fmpq *sw2, const fmpq *mu, int ldmu,
                                       fmpq *m);

/* Orthogonal weights with one continuous layer law (pushforward.c): the right edge and the density of the push-forward
 * of the Gaussian by g(z) = c phi'(sqrt(q) z)^2. */
dw_status dw_spec_pushforward_support(const dw_spectrum *s, double *hi);
dw_status dw_spec_pushforward_density(const dw_spectrum *s, size_t n, const double *t, double *rho);

/* One finite network with given weights (network.c), the view both a given dw_net and a sampled network take:
 * L layers, widths N_0..N_L, W[l] N_{l+1} x N_l row-major, b[l] NULL or N_{l+1} values. */
typedef struct dw_spec_fnet {
    int depth;
    const size_t *width;
    const double *const *W;
    const double *const *b;
    const dw_act *act;
    /* residual blocks (square layers): x_l = gamma_l x_{l-1} + alpha_l phi(W x + b), J = prod (gamma + alpha D W);
     * NULL: the fully connected x_l = phi(W x + b) */
    const double *gamma, *alpha;
    int act_first; /* residual blocks x_l = gamma_l x_{l-1} + alpha_l (W phi(x_{l-1}) + b), J = prod (gamma + alpha W D) */
} dw_spec_fnet;
/* The view of a given net (dw_net_set_given without a readout); its arrays are freed by dw_spec_fnet_free. */
dw_status dw_spec_fnet_of(const dw_net *net, dw_spec_fnet *f);
void dw_spec_fnet_free(dw_spec_fnet *f);
/* J and its squared singular values (either may be NULL), and Hutchinson's moments; the caller checked the net. */
dw_status dw_spec_jacobian_body(const dw_spec_fnet *net, const double *x, double *J, double *s2);
dw_status dw_spec_hutchinson_body(const dw_spec_fnet *net, const double *x, int K, size_t probes,
                                  unsigned long long seed, double *m, double *se);
uint64_t dw_spec_splitmix64(uint64_t z);

/* The options objects (opts.c). */
struct dw_spectrum_opts {
    double q0;
    bool fixed_point;
    int kmax;
};

struct dw_spectrum_sample_opts {
    size_t samples;
    int K;
    size_t probes;
    unsigned long long seed;
    double q0;
    int threads;
    dw_spectrum_draw_fn draw;
    void *ctx;
    int (*progress)(void *ctx, double done, double total);
    void *progress_ctx;
    const struct dw_sample_split *split; /* NULL: one process; else the networks split over the parts (sample.c) */
};
/* Set (or with NULL clear) o's split of the networks over processes (sample/sample.h; borrowed). */
dw_status dw_spectrum_sample_opts_set_split(dw_spectrum_sample_opts *o, const struct dw_sample_split *split);

#endif
