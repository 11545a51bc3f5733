/* Residual networks' Jacobian spectrum (theory.md 3, residual networks): blocks x' = gamma x + alpha phi(W x + b),
 * J = prod_l (gamma_l I + alpha_l D_l W_l), D_l = diag(phi'(u_l)), u_l = W_l x_{l-1} + b_l.
 *
 * The layers are not free of each other (the diagonal D_l of different blocks commute and are classically
 * independent), so the S-transforms of the blocks do not multiply. The moments come from the non-crossing pairings
 * of the W's instead, one block at a time: with M_l = J_l J_l^T, the numbers c_l(pi), pi in NC(r), defined by
 *     E (1/N) tr (M_l e_1 M_l e_2 ... M_l e_r) = sum_{pi in NC(r)} c_l(pi) prod_{B in pi} E[prod_{j in B} e_j]
 * for diagonal e_j independent of M_l (c_l(pi) = the weight of the pairings inside the M_l's whose faces group the
 * gaps e_j as pi), obey a recursion in l: M_{l+1} = F M_l F^T with F = gamma + alpha D W; expanding F and F^T and
 * pairing the W's without crossings, every face of the W-pairing holds some M_l's (c_l applies to them) and
 * diagonal letters: D_{l+1} (two per arc, in the face on the D side of the arc: weight mu_n of the n arcs there)
 * and the gaps e_j of M_{l+1}. c_0 = 1 on the one-block partitions (M_0 = I); m_k = sum_pi c_L(pi) on NC(k).
 * Haar orthogonal weights: the W's of a step form non-crossing blocks of 2n letters alternating W, W^T, weighted
 * by a Haar unitary's free cumulant (blocks()); the faces' rule is the same.
 */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the net ---- */

static int is_scale(const dw_net_layer *l) { return l->kind == DW_LAYER_SCALE; }

int dw_spec_is_residual(const dw_net *net)
{
    return net && net->n > 0 && net->layer[0].kind == DW_LAYER_FANOUT;
}

dw_status dw_spec_residual_view(const dw_net *net, dw_spec_res *r)
{
    memset(r, 0, sizeof *r);
    if (net->given)
        return dw_fail(DW_ERR_INVALID, "spectrum: the residual network has given weights; the limit takes a random "
                                       "network");
    if (net->n % 3)
        return dw_fail(DW_ERR_INVALID, "spectrum: a residual network is a list of residual(dense; ACT) or "
                                       "residual(ACT; dense) blocks (fanout(2), parallel(branch; scale | scale), "
                                       "faninsum); %zu layers is not a multiple of 3", net->n);
    for (size_t i = 0; i < net->n; i += 3) {
        const int blk = (int)(i / 3) + 1;
        if (blk > DW_SPECTRUM_RES_DEPTH_MAX)
            return dw_fail(DW_ERR_INVALID, "spectrum: more than %d residual blocks", DW_SPECTRUM_RES_DEPTH_MAX);
        const dw_net_layer *fo = &net->layer[i], *par = &net->layer[i + 1], *fi = &net->layer[i + 2];
        if (fo->kind != DW_LAYER_FANOUT || fo->n != 2 || par->kind != DW_LAYER_PARALLEL || par->n != 2 ||
            fi->kind != DW_LAYER_FANIN_SUM)
            return dw_fail(DW_ERR_INVALID, "spectrum: layer %zu: a residual network's spectrum takes residual(...) "
                           "blocks only (fanout(2), parallel of two branches, faninsum)", i + 1);
        const dw_net *br = par->branch[0], *sk = par->branch[1];
        if (sk->n != 1 || !is_scale(&sk->layer[0]))
            return dw_fail(DW_ERR_INVALID, "spectrum: block %d: the skip branch must be a scale (residual's "
                           "skip_scale)", blk);
        const int dense_first = br->n == 3 && br->layer[0].kind == DW_LAYER_DENSE && br->layer[1].kind == DW_LAYER_ACT &&
                                is_scale(&br->layer[2]);
        const int act_first = br->n == 3 && br->layer[0].kind == DW_LAYER_ACT && br->layer[1].kind == DW_LAYER_DENSE &&
                              is_scale(&br->layer[2]);
        if (!dense_first && !act_first)
            return dw_fail(DW_ERR_INVALID, "spectrum: block %d: the branch must be dense; ACT or ACT; dense", blk);
        if (blk > 1 && act_first != r->act_first)
            return dw_fail(DW_ERR_INVALID, "spectrum: block %d is %s, block 1 %s; the residual spectrum takes one "
                           "block type", blk, act_first ? "ACT; dense" : "dense; ACT",
                           r->act_first ? "ACT; dense" : "dense; ACT");
        r->act_first = act_first;
        const dw_net_layer *d = &br->layer[act_first ? 1 : 0];
        if (d->W) return dw_fail(DW_ERR_INVALID, "spectrum: block %d: given weights", blk);
        if (!(d->weight_var > 0))
            return dw_fail(DW_ERR_INVALID, "weight_var: block %d has %g; the Jacobian spectrum needs it > 0", blk,
                           d->weight_var);
        const dw_act *act = br->layer[act_first ? 0 : 1].act;
        if (r->act && act != r->act && strcmp(act->name, r->act->name))
            return dw_fail(DW_ERR_INVALID, "spectrum: block %d has activation %s, block 1 %s; the residual spectrum "
                           "takes one activation", blk, act->name, r->act->name);
        r->act = act;
        const int l = blk - 1;
        r->sw2[l] = d->weight_var;
        r->sb2[l] = d->bias_var;
        r->alpha[l] = br->layer[2].c;
        r->gamma[l] = sk->layer[0].c;
        r->L = blk;
    }
    if (!r->L) return dw_fail(DW_ERR_INVALID, "spectrum: an empty network");
    return DW_OK;
}

double dw_spec_residual_width(const dw_net *net)
{
    double N = -1;
    for (size_t i = 1; i < net->n; i += 3) {
        const dw_net *br = net->layer[i].branch[0];
        const double w = br->layer[br->layer[0].kind == DW_LAYER_DENSE ? 0 : 1].width;
        if (N >= 0 && w != N) return 0;
        N = w;
    }
    return N < 0 ? 0 : N;
}

/* E phi(sqrt(q) Z): the magnitude from the dual at correlation 0 ((E phi)^2), the sign from a midpoint rule. */
static dw_status mean_phi(const dw_act *act, double q, double *m)
{
    double v2 = 0, vd = 0;
    dw_status st = dw_act_dual(act, q, q, 0.0, &v2, &vd);
    if (st) return st;
    enum { NZ = 2001 };
    double z[NZ], phi[NZ], sum = 0;
    const double h = 20.0 / NZ, sq = sqrt(q);
    for (int i = 0; i < NZ; i++) z[i] = sq * (-10.0 + (i + 0.5) * h);
    if ((st = dw_act_eval(act, NZ, z, phi, NULL))) return st;
    for (int i = 0; i < NZ; i++) {
        const double t = -10.0 + (i + 0.5) * h;
        sum += phi[i] * exp(-0.5 * t * t);
    }
    const double mag = sqrt(fmax(v2, 0.0));
    *m = sum < 0 ? -mag : mag;
    if (!isfinite(*m)) return dw_fail(DW_ERR_RANGE, "E[phi(sqrt(q) Z)] of %s is not finite at q = %g", act->name, q);
    return DW_OK;
}

dw_status dw_spec_residual_q(const dw_spec_res *r, double q0, double *q)
{
    double rr = q0, e = 0; /* (1/N)|x_l|^2 and (1/N) sum_i x_l,i: the input has mean 0 */
    for (int l = 0; l < r->L; l++) {
        q[l] = r->sw2[l] * rr + r->sb2[l];
        if (!(q[l] > 0) || !isfinite(q[l]))
            return dw_fail(DW_ERR_RANGE, "the variance q_%d = %g of residual block %d is not finite and > 0", l + 1,
                           q[l], l + 1);
        double V, mphi = 0;
        dw_status st = dw_spec_V(r->act, q[l], &V, NULL);
        if (!st && r->alpha[l] != 0) st = mean_phi(r->act, q[l], &mphi);
        if (st) return st;
        rr = r->gamma[l] * r->gamma[l] * rr + r->alpha[l] * r->alpha[l] * V + 2 * r->gamma[l] * r->alpha[l] * e * mphi;
        e = r->gamma[l] * e + r->alpha[l] * mphi;
    }
    return DW_OK;
}

/* ---- non-crossing partitions of 1..r, r <= DW_SPECTRUM_RES_KMAX, as restricted growth strings ---- */

unsigned long dw_res_rgs_key(const unsigned char *lab, int r)
{
    unsigned long k = 0;
    for (int i = 0; i < r; i++) k = k * 16 + lab[i];
    return k;
}

static int is_nc(const unsigned char *lab, int r)
{
    for (int a = 0; a < r; a++)
        for (int b = a + 1; b < r; b++)
            if (lab[b] != lab[a])
                for (int c = b + 1; c < r; c++)
                    if (lab[c] == lab[a])
                        for (int d = c + 1; d < r; d++)
                            if (lab[d] == lab[b]) return 0;
    return 1;
}

/* Restricted growth strings in lexicographic order, which is also the order of their keys. */
int dw_res_nc_build(dw_res_nc *s, int r)
{
    if (r < 1 || r > DW_SPECTRUM_RES_KMAX) return 0; /* callers pass 1..K */
    s->r = r;
    s->n = 0;
    int cap = 1;
    for (int i = 0; i < r; i++) cap = cap * 4 + 1; /* > Catalan(r) */
    s->lab = dw_alloc((size_t)cap, (size_t)r, "residual spectrum partitions");
    s->key = dw_alloc((size_t)cap, sizeof(unsigned long), "residual spectrum partitions");
    if (!s->lab || !s->key) return 0;
    unsigned char a[DW_SPECTRUM_RES_KMAX] = {0}, mx[DW_SPECTRUM_RES_KMAX] = {0};
    for (;;) {
        if (is_nc(a, r)) {
            memcpy(s->lab + (size_t)s->n * r, a, (size_t)r);
            s->key[s->n++] = dw_res_rgs_key(a, r);
        }
        int i = r - 1;
        while (i > 0 && a[i] > mx[i - 1]) i--;
        if (i <= 0) break;
        a[i]++;
        for (int j = i + 1; j < r; j++) a[j] = 0;
        for (int j = i; j < r; j++) mx[j] = (unsigned char)(a[j] > mx[j - 1] ? a[j] : mx[j - 1]);
    }
    return 1;
}

int dw_res_nc_index(const dw_res_nc *s, unsigned long key)
{
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (s->key[mid] == key) return mid;
        if (s->key[mid] < key) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* ---- one block's step for M-words of length k ---- */

typedef struct stepctx {
    int k;
    const dw_res_nc *nc;        /* nc[r - 1]: NC(r) */
    const double *const *cl; /* cl[r - 1][pi]: c_l on NC(r) */
    double *cn;             /* c_{l+1} on NC(k) */
    const double *mu;       /* mu[0..k] of block l + 1 (mu[0] = 1) */
    const dw_res_face *f;
    int nf;
} stepctx;

/* Regions: for each face, a choice of pi in NC(nm); each region's b's join one block of pi'. */
static void combine(stepctx *c, int fi, double w, int *blockof, int nblk, int *dcount)
{
    if (w == 0) return;
    if (fi == c->nf) {
        /* the weight of the regions' D's, and pi' from blockof */
        double wd = w;
        for (int b = 0; b < nblk; b++) wd *= c->mu[dcount[b] / 2];
        unsigned char lab[DW_SPECTRUM_RES_KMAX], map[DW_RES_PMAX + DW_SPECTRUM_RES_KMAX + 2];
        memset(map, 0xff, sizeof map);
        unsigned char next = 0;
        for (int i = 0; i < c->k; i++) {
            const int b = blockof[i];
            if (map[b] == 0xff) map[b] = next++;
            lab[i] = map[b];
        }
        const int idx = dw_res_nc_index(&c->nc[c->k - 1], dw_res_rgs_key(lab, c->k));
        if (idx >= 0) c->cn[idx] += wd;
        return;
    }
    const dw_res_face *f = &c->f[fi];
    if (f->nm == 0) {
        const int b = nblk;
        dcount[b] = f->gapD[0];
        for (int i = 0; i < c->k; i++)
            if (f->gapB[0] >> i & 1) blockof[i] = b;
        combine(c, fi + 1, w, blockof, nblk + 1, dcount);
        return;
    }
    const dw_res_nc *s = &c->nc[f->nm - 1];
    const double *cl = c->cl[f->nm - 1];
    for (int p = 0; p < s->n; p++) {
        if (cl[p] == 0) continue;
        const unsigned char *lab = s->lab + (size_t)p * f->nm;
        int nb = 0;
        for (int j = 0; j < f->nm; j++) nb = lab[j] + 1 > nb ? lab[j] + 1 : nb;
        for (int b = 0; b < nb; b++) dcount[nblk + b] = 0;
        for (int j = 0; j < f->nm; j++) {
            const int b = nblk + lab[j];
            dcount[b] += f->gapD[j];
            for (int i = 0; i < c->k; i++)
                if (f->gapB[j] >> i & 1) blockof[i] = b;
        }
        combine(c, fi + 1, w * cl[p], blockof, nblk + nb, dcount);
    }
}

static void step_faces(void *ctx, const dw_res_face *f, int nf, double w)
{
    stepctx *c = ctx;
    c->f = f;
    c->nf = nf;
    int blockof[DW_SPECTRUM_RES_KMAX], dcount[DW_RES_PMAX + DW_SPECTRUM_RES_KMAX + 2];
    combine(c, 0, w, blockof, 0, dcount);
}

/* The enumeration's state: the pairing's faces and the open blocks. */
typedef struct pairctx {
    int k, orth, act_first;
    double gam, alp;
    double kappa[DW_SPECTRUM_RES_KMAX + 1]; /* kappa[n]: sw2^n times the free cumulant of a block of 2n */
    dw_res_face f[DW_RES_PMAX + 1];
    dw_res_faces_fn fn;
    void *ctx;
} pairctx;

/* The faces of one pairing of the 2k points (point 2i: F of copy i, its W; point 2i + 1: F^T of copy i, its W^T;
 * gap 2i holds M_i, gap 2i + 1 holds b_i). The D of an active point sits on its W's far side from the point's
 * neighbour gap in F = D W (dense first: in the odd gaps, beside the b's) or F = W D (act first: in the even gaps,
 * D^a M_i D^b, so before and after M_i). */
static void faces_of(pairctx *c, const int *mate, double w)
{
    const int P = 2 * c->k;
    int seen[DW_RES_PMAX] = {0}, nf = 0;
    for (int g0 = 0; g0 < P; g0++) {
        if (seen[g0]) continue;
        dw_res_face *f = &c->f[nf++];
        memset(f, 0, sizeof *f);
        /* walk the face from gap g0; insertions before the first M go after the last one (cyclic) */
        int pendD = 0;
        unsigned pendB = 0;
        int g = g0;
        do {
            seen[g] = 1;
            if (g % 2 == 0) {
                if (c->act_first) { /* D of point g before M, of point g + 1 after it */
                    if (f->nm == 0) pendD += mate[g] >= 0;
                    else f->gapD[f->nm - 1] += mate[g] >= 0;
                }
                f->m[f->nm++] = g / 2;
                if (c->act_first) f->gapD[f->nm - 1] += mate[g + 1] >= 0;
            } else {
                const int i = g / 2, nd = c->act_first ? 0 : (mate[g] >= 0) + (mate[(g + 1) % P] >= 0);
                if (f->nm == 0) pendD += nd, pendB |= 1u << i;
                else f->gapD[f->nm - 1] += nd, f->gapB[f->nm - 1] |= 1u << i;
            }
            const int p = (g + 1) % P;
            g = mate[p] >= 0 ? mate[p] : p;
        } while (g != g0);
        if (f->nm == 0) f->gapD[0] = pendD, f->gapB[0] = pendB;
        else f->gapD[f->nm - 1] += pendD, f->gapB[f->nm - 1] |= pendB;
    }
    c->fn(c->ctx, c->f, nf, w);
}

/* Partial non-crossing partitions of the W (even) and W^T (odd) points into blocks that alternate W, W^T in cyclic
 * order, by a stack of open blocks (only the top one may grow): i.i.d. weights pair them (blocks of 2, the circular
 * element's one cumulant); Haar orthogonal ones take blocks of 2n with the Haar unitary's free cumulant
 * kappa_2n = (-1)^(n-1) Catalan(n-1). mate[p]: the previous point of p's block, cyclically (faces_of's jump).
 * Each active point weighs alpha, each inactive gamma, each block of 2n sw2^n kappa_2n. */
typedef struct blockstack {
    int first[DW_RES_PMAX], last[DW_RES_PMAX], size[DW_RES_PMAX];
} blockstack;

static void blocks(pairctx *c, int p, int sp, blockstack *b, int *mate, double w)
{
    const int P = 2 * c->k;
    if (p == P) {
        if (sp == 0) faces_of(c, mate, w);
        return;
    }
    if (sp < 0 || sp >= DW_RES_PMAX || sp > P - p) return; /* more open blocks than points left: none closes */
    mate[p] = -1;
    blocks(c, p + 1, sp, b, mate, w * c->gam); /* inactive: gamma */
    const int f0 = b->first[sp], l0 = b->last[sp], s0 = b->size[sp];
    b->first[sp] = b->last[sp] = p;
    b->size[sp] = 1;
    blocks(c, p + 1, sp + 1, b, mate, w * c->alp); /* opens a block */
    b->first[sp] = f0, b->last[sp] = l0, b->size[sp] = s0;
    if (sp > 0 && (b->last[sp - 1] - p) % 2 != 0) {
        const int t = sp - 1, ft = b->first[t], lt = b->last[t], st = b->size[t];
        mate[p] = lt;
        if (c->orth) { /* grows and stays open */
            b->last[t] = p;
            b->size[t] = st + 1;
            blocks(c, p + 1, sp, b, mate, w * c->alp);
            b->last[t] = lt;
            b->size[t] = st;
        }
        if ((st + 1) % 2 == 0) { /* closes: 2n points */
            const int n = (st + 1) / 2;
            mate[ft] = p;
            blocks(c, p + 1, t, b, mate, w * c->alp * c->kappa[n]);
            b->first[t] = ft, b->last[t] = lt, b->size[t] = st; /* deeper blocks may have reused slot t */
            mate[ft] = -1; /* a block's first point gets its mate when the block closes */
        }
        mate[p] = -1;
    }
}

void dw_res_pairings(int k, double gam, double alp, int orth, double sw2, int act_first, dw_res_faces_fn fn,
                     void *ctx)
{
    pairctx c = {.k = k, .orth = orth, .act_first = act_first, .gam = gam, .alp = alp, .fn = fn, .ctx = ctx};
    /* kappa_2n of the circular element (1, 0, 0, ...) or of a Haar unitary ((-1)^(n-1) Catalan(n-1)) */
    double cat = 1, pw = 1;
    for (int n = 1; n <= DW_SPECTRUM_RES_KMAX; n++) {
        pw *= sw2;
        c.kappa[n] = orth ? (n % 2 ? 1 : -1) * cat * pw : (n == 1 ? pw : 0);
        cat = cat * 2 * (2 * n - 1) / (n + 1); /* Catalan(n) from Catalan(n - 1) */
    }
    int mate[DW_RES_PMAX];
    blockstack bs;
    memset(&bs, 0, sizeof bs);
    for (int p = 0; p < DW_RES_PMAX; p++) mate[p] = -1;
    blocks(&c, 0, 0, &bs, mate, 1.0);
}

dw_status dw_spec_residual_moments(const dw_spectrum *s, int K, double *m)
{
    if (K > DW_SPECTRUM_RES_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is above %d, the largest order of the residual networks' "
                       "route", K, DW_SPECTRUM_RES_KMAX);
    dw_res_nc nc[DW_SPECTRUM_RES_KMAX];
    memset(nc, 0, sizeof nc);
    double *c[DW_SPECTRUM_RES_KMAX] = {0}, *cn[DW_SPECTRUM_RES_KMAX] = {0};
    dw_status st = DW_OK;
    for (int r = 1; r <= K && !st; r++) {
        if (!dw_res_nc_build(&nc[r - 1], r)) st = DW_ERR_NOMEM;
        else {
            c[r - 1] = dw_calloc((size_t)nc[r - 1].n, sizeof(double), "residual spectrum");
            cn[r - 1] = dw_calloc((size_t)nc[r - 1].n, sizeof(double), "residual spectrum");
            if (!c[r - 1] || !cn[r - 1]) st = DW_ERR_NOMEM;
            else c[r - 1][0] = 1; /* the one-block partition (all labels 0) is first */
        }
    }
    for (int l = 0; l < s->L && !st; l++) {
        double mu[DW_SPECTRUM_RES_KMAX + 1];
        mu[0] = 1;
        for (int j = 1; j <= K; j++) mu[j] = s->mu[(size_t)l * s->kmax + (j - 1)];
        for (int k = 1; k <= K; k++) {
            stepctx ctx = {.k = k, .nc = nc, .cl = (const double *const *)c, .cn = cn[k - 1], .mu = mu};
            memset(cn[k - 1], 0, sizeof(double) * (size_t)nc[k - 1].n);
            dw_res_pairings(k, s->res_gamma[l], s->res_alpha[l], s->orth, s->sw2[l], 0, step_faces, &ctx);
        }
        for (int k = 1; k <= K; k++) {
            double *t = c[k - 1];
            c[k - 1] = cn[k - 1];
            cn[k - 1] = t;
        }
    }
    for (int k = 1; k <= K && !st; k++) {
        double sum = 0;
        for (int p = 0; p < nc[k - 1].n; p++) sum += c[k - 1][p];
        m[k - 1] = sum;
        if (!isfinite(sum)) st = dw_fail(DW_ERR_RANGE, "moments: m_%d of the residual network overflows", k);
    }
    for (int r = 0; r < DW_SPECTRUM_RES_KMAX; r++) {
        free(nc[r].lab);
        free(nc[r].key);
        free(c[r]);
        free(cn[r]);
    }
    return st;
}

/* ---- the large-depth limit ---- */

dw_status dw_spectrum_residual_universal(double c, int K, double *m)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "universal: NULL argument");
    if (!(c >= 0) || !isfinite(c)) return dw_fail(DW_ERR_INVALID, "universal: c = %g must be finite and >= 0", c);
    if (K < 1 || K > DW_SPECTRUM_KMAX)
        return dw_fail(DW_ERR_INVALID, "universal: K = %d is outside 1..%d", K, DW_SPECTRUM_KMAX);
    /* S(z) = exp(-c (1 + 2 z)); Lagrange inversion of chi(z) = z S(z) / (1 + z):
     * m_n = (e^{n c} / n) sum_{j=0}^{n-1} binom(n, j) (2 n c)^{n-1-j} / (n-1-j)! */
    for (int n = 1; n <= K; n++) {
        long double sum = 0, binom = 1;
        for (int j = 0; j < n; j++) {
            const int e = n - 1 - j;
            long double t = binom;
            for (int i = 1; i <= e; i++) t *= 2.0L * n * c / i;
            sum += t;
            binom = binom * (n - j) / (j + 1);
        }
        m[n - 1] = (double)(expl((long double)n * c) * sum / n);
        if (!isfinite(m[n - 1])) return dw_fail(DW_ERR_RANGE, "universal: m_%d overflows at c = %g", n, c);
    }
    return DW_OK;
}

bool dw_spectrum_residual(const dw_spectrum *s) { return s && s->residual; }

bool dw_spectrum_residual_act_first(const dw_spectrum *s) { return s && s->residual && s->res_act_first; }

double dw_spectrum_residual_c(const dw_spectrum *s)
{
    if (!s || !s->residual) return 0;
    double c = 0;
    for (int l = 0; l < s->L; l++) c += s->res_alpha[l] * s->res_alpha[l] * s->sw2[l] * s->mu[(size_t)l * s->kmax];
    return c;
}
