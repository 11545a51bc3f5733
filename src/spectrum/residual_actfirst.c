/* Act-first residual blocks (theory.md 3, residual networks): x_l = gamma_l x_{l-1} + alpha_l (W_l phi(x_{l-1}) + b_l),
 * J = prod_l (gamma_l I + alpha_l W_l D_{l-1}), D_{l-1} = diag(phi'(x_{l-1})).
 *
 * In the limit one coordinate's path x_0, x_1, ... is a centred Gaussian Markov chain (x_0 ~ N(0, q0), x_l =
 * gamma x_{l-1} + xi_l, xi_l ~ N(0, alpha^2 (sw2 E phi(x_{l-1})^2 + sb2)) independent), so the D's commute but are
 * correlated across blocks. The W's are free from the diagonal algebra: a moment is a sum over the non-crossing
 * pairings of the W letters (residual.c's block recursion, dw_res_pairings with the D's beside the M's) of products
 * over the faces of E[prod_m phi'(x_m)^{a_m}] along one path. The recursion's c_l(pi) becomes a function with one
 * argument per block B of pi: the value of x_l on that face's path, times the conditional expectation of the face's
 * earlier letters given it (later letters need x_l only, by the Markov property):
 *     E (1/N) tr (M_l f_1(x_l) ... M_l f_r(x_l)) = sum_pi E[c_l(pi; y_B ...) prod_B prod_{j in B} f_j(y_B)],
 * the y_B independent N(0, p_l). It lives on a grid of G = 2h nodes per argument: Gauss rules of the Gaussian on each
 * half line, so a kink of phi at 0 (relu: phi' an indicator) falls between the rules and each one integrates a
 * smooth function. One step multiplies each face's region by its D's on the x_l grid, sums the regions without
 * gaps, then carries each gap region to x_{l+1} by the backward conditional law x_l | x_{l+1} (N(rho z, 1 - rho^2) in
 * units of the standard deviations, rho = gamma sqrt(p_l / p_{l+1})), integrated per half line by composite
 * Gauss-Legendre against the piece's interpolating polynomial (exact per piece up to the interpolation). Cost
 * ~ G^{|pi| + 1} per step: h falls with the order (ACT_H), and m_k's error estimate is |m_k(h) - m_k(3h/4)| (the
 * coarser grid's error, an overestimate of this one's where the grid converges geometrically). Hot loops: the
 * leaves' outer products walk the target tensor in order, the carries are one GEMM per argument.
 */
#include "spectrum/spectrum.h"

#include "core/par.h"
#include "gauss/gauss.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Nodes per half line for the moments of order k (index k - 1): the 4-argument tensors of k = 4 cost G^5 a step. */
static const int ACT_H[DW_SPECTRUM_ACTFIRST_KMAX] = {32, 32, 32, 16};

/* ---- the stream's variances ---- */

dw_status dw_spec_actfirst_p(const dw_spec_res *r, double q0, double *p)
{
    p[0] = q0;
    for (int l = 0; l < r->L; l++) {
        double V;
        dw_status st = dw_spec_V(r->act, p[l], &V, NULL);
        if (st) return st;
        p[l + 1] = r->gamma[l] * r->gamma[l] * p[l] + r->alpha[l] * r->alpha[l] * (r->sw2[l] * V + r->sb2[l]);
        if (!(p[l + 1] > 0) || !isfinite(p[l + 1]))
            return dw_fail(DW_ERR_RANGE, "the variance %g of the residual stream after block %d is not finite and > 0",
                           p[l + 1], l + 1);
    }
    return DW_OK;
}

/* ---- the grid: Gauss rules of N(0, 1) on each half line ---- */

typedef struct grid {
    int h, G;
    double z[2 * 64], w[2 * 64]; /* negative half (ascending), then positive; weights sum to 1 */
    double bary[64];              /* barycentric weights of the positive half's nodes (the negative: mirrored) */
} grid;

/* Discretised Stieltjes procedure (Gautschi) on composite 24-point Gauss-Legendre panels of [0, 16], then the Jacobi
 * matrix's eigenvalues (nodes) and first components (weights). */
static dw_status half_rule(grid *g, int h)
{
    const double *gx, *gw;
    const int ng = dw_gl_rule(2, &gx, &gw);
    enum { NP = 64 };
    const int n = NP * ng;
    double *t = dw_alloc((size_t)n * 4, sizeof(double), "act-first grid");
    if (!t) return DW_ERR_NOMEM;
    double *u = t + n, *p0 = u + n, *p1 = p0 + n, a[64], b[64], e[64], V[64 * 64];
    for (int q = 0; q < NP; q++)
        for (int i = 0; i < ng; i++) {
            const double x = 0.125 * (q + 0.5 + 0.5 * gx[i]);
            t[q * ng + i] = x;
            u[q * ng + i] = 0.125 * 0.5 * gw[i] * exp(-0.5 * x * x) * 0.79788456080286535588; /* 2 / sqrt(2 pi) */
        }
    for (int i = 0; i < n; i++) p0[i] = 0, p1[i] = 1;
    for (int j = 0; j < h; j++) {
        double nn = 0, xn = 0;
        for (int i = 0; i < n; i++) nn += u[i] * p1[i] * p1[i], xn += u[i] * t[i] * p1[i] * p1[i];
        a[j] = xn / nn;
        b[j] = j ? nn : 0; /* <pi_j, pi_j> / <pi_{j-1}, pi_{j-1}>, the latter rescaled to 1 below */
        const double sc = 1 / sqrt(nn); /* rescale the pair to keep the recurrence in range */
        for (int i = 0; i < n; i++) {
            const double next = (t[i] - a[j]) * p1[i] - b[j] * p0[i];
            p0[i] = p1[i] * sc;
            p1[i] = next * sc;
        }
    }
    free(t);
    for (int j = 0; j + 1 < h; j++) e[j] = sqrt(b[j + 1]);
    if (LAPACKE_dstev(LAPACK_ROW_MAJOR, 'V', h, a, e, V, h) != 0)
        return dw_fail(DW_ERR_INTERNAL, "act-first grid: the Jacobi matrix's eigenproblem (dstev) failed");
    g->h = h;
    g->G = 2 * h;
    for (int i = 0; i < h; i++) {
        g->z[h + i] = a[i];
        g->w[h + i] = 0.5 * V[i] * V[i]; /* row 0 of the eigenvectors */
        g->z[h - 1 - i] = -a[i];
        g->w[h - 1 - i] = g->w[h + i];
    }
    for (int i = 0; i < h; i++) {
        double pr = 1;
        for (int j = 0; j < h; j++)
            if (j != i) pr *= a[i] - a[j];
        g->bary[i] = 1 / pr;
    }
    return DW_OK;
}

/* Adds s times the interpolation row of the half line `side` (0: negative, 1: positive) at t (a normalised value
 * on that side; beyond the outermost node the value there) to row[0..G). */
static void interp_add(const grid *g, int side, double t, double s, double *row)
{
    const int h = g->h;
    double x = side ? t : -t; /* as a positive-half abscissa */
    if (x > g->z[2 * h - 1]) x = g->z[2 * h - 1];
    double c[64], sum = 0;
    for (int i = 0; i < h; i++) {
        const double d = x - g->z[h + i];
        if (d == 0) {
            row[side ? h + i : h - 1 - i] += s;
            return;
        }
        c[i] = g->bary[i] / d;
        sum += c[i];
    }
    for (int i = 0; i < h; i++) row[side ? h + i : h - 1 - i] += s * c[i] / sum;
}

/* A[j][i]: E[f(x_l) | x_{l+1} = node j] = sum_i A[j][i] f(node i), in normalised units (rho as above). */
static void transition(const grid *g, double rho, double *A)
{
    const int G = g->G;
    const double *gx, *gw;
    const int ng = dw_gl_rule(2, &gx, &gw);
    memset(A, 0, sizeof(double) * (size_t)G * G);
    const double v = 1 - rho * rho, sd = v > 0 ? sqrt(v) : 0;
    for (int j = 0; j < G; j++) {
        double *row = A + (size_t)j * G;
        const double mu = rho * g->z[j];
        if (sd < 1e-12) { /* deterministic: x_l = x_{l+1} / rho */
            interp_add(g, mu > 0, mu, 1.0, row);
            continue;
        }
        for (int side = 0; side < 2; side++) {
            const double lo = side ? fmax(0.0, mu - 10 * sd) : mu - 10 * sd,
                         hi = side ? mu + 10 * sd : fmin(0.0, mu + 10 * sd);
            if (!(hi > lo)) continue;
            const int np = (int)ceil((hi - lo) / (2.5 * sd));
            const double wp = (hi - lo) / np;
            for (int q = 0; q < np; q++)
                for (int i = 0; i < ng; i++) {
                    const double t = lo + wp * (q + 0.5 + 0.5 * gx[i]), d = (t - mu) / sd;
                    interp_add(g, side, t, 0.5 * wp * gw[i] * exp(-0.5 * d * d) * 0.39894228040143267794 / sd, row);
                }
        }
    }
}

/* ---- the tensors c_l(pi) on the grid ---- */

typedef struct tens {
    int nb;    /* blocks = arguments */
    int nz;    /* 0: identically 0 (skipped) */
    size_t n;  /* G^nb */
    double *v; /* row-major, block 0 first */
} tens;

typedef struct afctx {
    const grid *g;
    int K;
    dw_res_nc nc[DW_SPECTRUM_ACTFIRST_KMAX];
    tens *t[DW_SPECTRUM_ACTFIRST_KMAX], *tn[DW_SPECTRUM_ACTFIRST_KMAX]; /* c_l and (before the transition) c_{l+1} */
    double *dp;                                /* (2K + 1) * G: phi'(x_l node)^d */
    double *wdp;                               /* the same times the weights */
    double *scratch[DW_RES_PMAX + 1];          /* per face: its factor (G^K) */
    int k;
    const dw_res_face *f;
    int nf;
    dw_status st;
} afctx;

static double *dpow(const afctx *c, int d) { return c->dp + (size_t)d * c->g->G; }
static double *wdpow(const afctx *c, int d) { return c->wdp + (size_t)d * c->g->G; }

/* A face's factor: its tensor (nm == 0: the constant 1 on one argument) with each argument multiplied by its
 * region's D's, the arguments without gaps summed against the weights; the kept arguments stay in order. */
static void face_factor(const afctx *c, const tens *T, int nb, const int *dcnt, const int *keep, double *out)
{
    const int G = c->g->G;
    size_t n = 1;
    for (int b = 0; b < nb; b++) n *= (size_t)G;
    /* contract the last arguments first, in place into out (copy in) */
    const double *src = T ? T->v : NULL;
    if (T) memcpy(out, src, n * sizeof(double));
    else for (int i = 0; i < G; i++) out[i] = 1;
    size_t cur = n; /* current size; arguments b..nb-1 processed from the back */
    for (int b = nb - 1; b >= 0; b--) {
        size_t inner = 1; /* size of the kept arguments after b */
        for (int b2 = b + 1; b2 < nb; b2++)
            if (keep[b2]) inner *= (size_t)G;
        const size_t outer = cur / ((size_t)G * inner);
        if (keep[b]) {
            const double *d = dpow(c, dcnt[b]);
            if (dcnt[b])
                for (size_t o = 0; o < outer; o++)
                    for (int i = 0; i < G; i++)
                        for (size_t r = 0; r < inner; r++) out[(o * G + i) * inner + r] *= d[i];
        } else {
            const double *wd = wdpow(c, dcnt[b]);
            for (size_t o = 0; o < outer; o++)
                for (size_t r = 0; r < inner; r++) {
                    double s = 0;
                    for (int i = 0; i < G; i++) s += wd[i] * out[(o * G + i) * inner + r];
                    out[o * inner + r] = s; /* o * inner + r <= (o * G + i) * inner + r: no overwrite ahead */
                }
            cur /= (size_t)G;
        }
    }
}

/* The leaf of the choices: the regions' gap sets give pi'; the faces' factors go into c_{l+1}(pi') as an outer
 * product, the kept arguments placed at their blocks of pi'. */
static void leaf(afctx *c, double w, const int *choice)
{
    const int G = c->g->G, k = c->k;
    int blockof[DW_SPECTRUM_RES_KMAX], nreg = 0;
    int fdim[DW_RES_PMAX + 1]; /* each face's kept arguments (regions nreg.. in order) */
    double scal = w;
    for (int fi = 0; fi < c->nf; fi++) {
        const dw_res_face *f = &c->f[fi];
        int nb = 1, dcnt[DW_SPECTRUM_RES_KMAX] = {0}, keep[DW_SPECTRUM_RES_KMAX] = {0};
        unsigned eset[DW_SPECTRUM_RES_KMAX] = {0};
        const tens *T = NULL;
        if (f->nm == 0) {
            dcnt[0] = f->gapD[0];
            eset[0] = f->gapB[0];
        } else {
            const dw_res_nc *s = &c->nc[f->nm - 1];
            const unsigned char *lab = s->lab + (size_t)choice[fi] * f->nm;
            T = &c->t[f->nm - 1][choice[fi]];
            nb = T->nb;
            for (int j = 0; j < f->nm; j++) dcnt[lab[j]] += f->gapD[j], eset[lab[j]] |= f->gapB[j];
        }
        fdim[fi] = 0;
        for (int b = 0; b < nb; b++) {
            keep[b] = eset[b] != 0;
            if (!keep[b]) continue;
            for (int i = 0; i < k; i++)
                if (eset[b] >> i & 1) blockof[i] = nreg;
            fdim[fi]++;
            nreg++;
        }
        double *out = c->scratch[fi];
        face_factor(c, T, nb, dcnt, keep, out);
        if (fdim[fi] == 0) {
            scal *= out[0];
            fdim[fi] = -1; /* a scalar: done */
        }
    }
    if (scal == 0) return;
    /* pi' in canonical labels; region r -> block lab'[r] */
    unsigned char lab[DW_SPECTRUM_RES_KMAX], map[DW_RES_PMAX + DW_SPECTRUM_RES_KMAX + 2];
    memset(map, 0xff, sizeof map);
    unsigned char next = 0;
    for (int i = 0; i < k; i++) {
        if (map[blockof[i]] == 0xff) map[blockof[i]] = next++;
        lab[i] = map[blockof[i]];
    }
    const int idx = dw_res_nc_index(&c->nc[k - 1], dw_res_rgs_key(lab, k));
    if (idx < 0) return;
    tens *T = &c->tn[k - 1][idx];
    /* T += scal times the outer product of the factors, walked in T's order (contiguous writes): factor q holds
     * regions r0[q] .. r0[q] + fdim - 1, region r lies on T's argument map[r] */
    int qof[DW_SPECTRUM_RES_KMAX];
    size_t sF[DW_SPECTRUM_RES_KMAX], offF[DW_RES_PMAX + 1] = {0};
    const double *F[DW_RES_PMAX + 1];
    int nq = 0;
    for (int fi = 0, r = 0; fi < c->nf; fi++) {
        if (fdim[fi] <= 0) continue;
        F[nq] = c->scratch[fi];
        for (int a = 0; a < fdim[fi]; a++, r++) {
            size_t sz = 1;
            for (int a2 = a + 1; a2 < fdim[fi]; a2++) sz *= (size_t)G;
            qof[map[r]] = nq;
            sF[map[r]] = sz;
        }
        nq++;
    }
    const int last = T->nb - 1, ql = qof[last];
    const size_t sl = sF[last];
    int id[DW_SPECTRUM_RES_KMAX] = {0};
    for (size_t e = 0; e < T->n; e += (size_t)G) {
        double c0 = scal;
        for (int q = 0; q < nq; q++)
            if (q != ql) c0 *= F[q][offF[q]];
        double *dst = T->v + e;
        const double *src = F[ql] + offF[ql];
        if (sl == 1)
            for (int i = 0; i < G; i++) dst[i] += c0 * src[i];
        else
            for (int i = 0; i < G; i++) dst[i] += c0 * src[(size_t)i * sl];
        for (int t = last - 1; t >= 0; t--) {
            offF[qof[t]] += sF[t];
            if (++id[t] < G) break;
            offF[qof[t]] -= (size_t)G * sF[t];
            id[t] = 0;
        }
    }
}

static void choose(afctx *c, int fi, double w, int *choice)
{
    if (fi == c->nf) {
        leaf(c, w, choice);
        return;
    }
    const dw_res_face *f = &c->f[fi];
    if (f->nm == 0) {
        choose(c, fi + 1, w, choice);
        return;
    }
    const dw_res_nc *s = &c->nc[f->nm - 1];
    for (int p = 0; p < s->n; p++) {
        if (!c->t[f->nm - 1][p].nz) continue;
        choice[fi] = p;
        choose(c, fi + 1, w, choice);
    }
}

static void on_faces(void *ctx, const dw_res_face *f, int nf, double w)
{
    afctx *c = ctx;
    if (w == 0) return;
    c->f = f;
    c->nf = nf;
    int choice[DW_RES_PMAX + 1] = {0};
    choose(c, 0, w, choice);
}

/* T <- A applied to every argument (x_l grid -> x_{l+1} grid); tmp: T->n doubles. One GEMM per argument: with T as
 * (rest x G), tmp (G x rest) = A T^T applies A to the last argument and makes it the first, so nb of them end in
 * the original order. */
static void carry(const double *A, int G, tens *T, double *tmp)
{
    const int rest = (int)(T->n / (size_t)G);
    for (int b = 0; b < T->nb; b++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, G, rest, G, 1.0, A, G, T->v, G, 0.0, tmp, rest);
        memcpy(T->v, tmp, T->n * sizeof(double));
    }
}

/* m_1..m_K on the grid of h nodes per half line. */
static dw_status run(const dw_spectrum *s, int h, int K, double *m)
{
    afctx c;
    memset(&c, 0, sizeof c);
    grid g;
    dw_status st = half_rule(&g, h);
    if (st) return st;
    const int G = g.G;
    c.g = &g;
    c.K = K;
    size_t big = 1;
    for (int r = 0; r < K; r++) big *= (size_t)G;
    double *A = dw_alloc((size_t)G * G, sizeof(double), "act-first transition"),
           *tmp = dw_alloc(big, sizeof(double), "act-first tensors"),
           *y = dw_alloc((size_t)G * 3, sizeof(double), "act-first grid");
    c.dp = dw_alloc((size_t)(2 * K + 1) * G, sizeof(double), "act-first grid");
    c.wdp = dw_alloc((size_t)(2 * K + 1) * G, sizeof(double), "act-first grid");
    if (!A || !tmp || !y || !c.dp || !c.wdp) st = DW_ERR_NOMEM;
    for (int f = 0; f <= 2 * K && !st; f++)
        if (!(c.scratch[f] = dw_alloc(big, sizeof(double), "act-first tensors"))) st = DW_ERR_NOMEM;
    for (int r = 1; r <= K && !st; r++) {
        dw_res_nc *nc = &c.nc[r - 1];
        if (!dw_res_nc_build(nc, r) || !(c.t[r - 1] = dw_calloc((size_t)nc->n, sizeof(tens), "act-first tensors")) ||
            !(c.tn[r - 1] = dw_calloc((size_t)nc->n, sizeof(tens), "act-first tensors"))) {
            st = DW_ERR_NOMEM;
            break;
        }
        for (int p = 0; p < nc->n && !st; p++) {
            int nb = 0;
            for (int j = 0; j < r; j++) nb = nc->lab[(size_t)p * r + j] + 1 > nb ? nc->lab[(size_t)p * r + j] + 1 : nb;
            size_t n = 1;
            for (int b = 0; b < nb; b++) n *= (size_t)G;
            c.t[r - 1][p] = (tens){.nb = nb, .n = n, .v = dw_calloc(n, sizeof(double), "act-first tensors")};
            c.tn[r - 1][p] = (tens){.nb = nb, .n = n, .v = dw_calloc(n, sizeof(double), "act-first tensors")};
            if (!c.t[r - 1][p].v || !c.tn[r - 1][p].v) st = DW_ERR_NOMEM;
        }
        if (!st) { /* M_0 = I: one face, the one-block partition (first), the constant 1 */
            c.t[r - 1][0].nz = 1;
            for (int i = 0; i < G; i++) c.t[r - 1][0].v[i] = 1;
        }
    }
    for (int l = 0; l < s->L && !st; l++) {
        const double pl = s->res_p[l], pn = s->res_p[l + 1], sq = sqrt(pl);
        for (int i = 0; i < G; i++) y[i] = sq * g.z[i];
        if ((st = dw_act_eval(s->act, (size_t)G, y, y + G, y + 2 * G))) break;
        for (int i = 0; i < G; i++) {
            double pw = 1;
            for (int d = 0; d <= 2 * K; d++, pw *= y[2 * G + i]) {
                c.dp[(size_t)d * G + i] = pw;
                c.wdp[(size_t)d * G + i] = g.w[i] * pw;
            }
        }
        for (int k = 1; k <= K; k++) {
            for (int p = 0; p < c.nc[k - 1].n; p++) memset(c.tn[k - 1][p].v, 0, c.tn[k - 1][p].n * sizeof(double));
            c.k = k;
            dw_res_pairings(k, s->res_gamma[l], s->res_alpha[l], s->orth, s->sw2[l], 1, on_faces, &c);
        }
        transition(&g, s->res_gamma[l] * sqrt(pl / pn), A);
        for (int k = 1; k <= K; k++)
            for (int p = 0; p < c.nc[k - 1].n; p++) {
                tens *T = &c.tn[k - 1][p];
                carry(A, G, T, tmp);
                T->nz = 0;
                for (size_t e = 0; e < T->n && !T->nz; e++) T->nz = T->v[e] != 0;
                const tens t0 = c.t[k - 1][p];
                c.t[k - 1][p] = *T;
                *T = t0;
            }
    }
    for (int k = 1; k <= K && !st; k++) { /* m_k = sum_pi E c_L(pi; y ...) */
        double sum = 0;
        for (int p = 0; p < c.nc[k - 1].n; p++) {
            tens *T = &c.t[k - 1][p];
            int keep[DW_SPECTRUM_RES_KMAX] = {0}, dc[DW_SPECTRUM_RES_KMAX] = {0}; /* all summed, no D's */
            if (!T->nz) continue;
            face_factor(&c, T, T->nb, dc, keep, tmp);
            sum += tmp[0];
        }
        m[k - 1] = sum;
        if (!isfinite(sum)) st = dw_fail(DW_ERR_RANGE, "moments: m_%d of the residual network overflows", k);
    }
    for (int r = 0; r < K; r++) {
        for (int p = 0; p < c.nc[r].n && c.t[r] && c.tn[r]; p++) free(c.t[r][p].v), free(c.tn[r][p].v);
        free(c.t[r]);
        free(c.tn[r]);
        free(c.nc[r].lab);
        free(c.nc[r].key);
    }
    for (int f = 0; f <= 2 * K; f++) free(c.scratch[f]);
    free(A);
    free(tmp);
    free(y);
    free(c.dp);
    free(c.wdp);
    return st;
}

/* The grids' runs as items of one dw_par_for: BLAS single-threaded inside (the OpenMP build of OpenBLAS would
 * otherwise wake and spin its pool for every small GEMM, most of the CPU time), the runs side by side. */
typedef struct afjob {
    const dw_spectrum *s;
    int h[2 * DW_SPECTRUM_ACTFIRST_KMAX], k[2 * DW_SPECTRUM_ACTFIRST_KMAX];
    double m[2 * DW_SPECTRUM_ACTFIRST_KMAX][DW_SPECTRUM_ACTFIRST_KMAX];
} afjob;

static dw_status run_item(void *ctx, size_t i, int tid)
{
    afjob *j = ctx;
    (void)tid;
    return run(j->s, j->h[i], j->k[i], j->m[i]);
}

dw_status dw_spec_actfirst_moments(const dw_spectrum *s, int K, double *m, double *err)
{
    if (K > DW_SPECTRUM_ACTFIRST_KMAX)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d is above %d, the largest order of act-first residual "
                       "networks (the grid route's tensors grow like G^K)", K, DW_SPECTRUM_ACTFIRST_KMAX);
    afjob *job = dw_alloc(1, sizeof *job, "act-first moments");
    if (!job) return DW_ERR_NOMEM;
    job->s = s;
    size_t n = 0;
    for (int k = 1; k <= K; k++) { /* one run per distinct h, to the highest order that takes it */
        if (k < K && ACT_H[k] == ACT_H[k - 1]) continue;
        job->h[n] = ACT_H[k - 1], job->k[n++] = k;
        if (err) job->h[n] = 3 * ACT_H[k - 1] / 4, job->k[n++] = k;
    }
    dw_status st = dw_par_for(n, 0, run_item, job);
    for (size_t i = 0; i < n && !st; i += err ? 2 : 1)
        for (int j = job->k[i]; j >= 1 && ACT_H[j - 1] == job->h[i]; j--) {
            m[j - 1] = job->m[i][j - 1];
            if (err) err[j - 1] = fabs(job->m[i][j - 1] - job->m[i + 1][j - 1]);
        }
    free(job);
    return st;
}
