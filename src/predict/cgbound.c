/* The certified bound on the cg route's predictions at t = infinity (docs/predict.md "Certified bounds", "The cg
 * route"). alpha is cg's solution of A alpha = Y, A = K + lambda I with K the tile entries below
 * (dw_kern_tile_direct); A_x = K_x + lambda I with K_x the EXACT kernel of the float64 inputs, positive
 * semi-definite, so lambda_min(A_x) >= lambda and
 *
 *     ||alpha_x - alpha||_2 <= ||Y - A_x alpha||_2 / lambda,   |Y - A_x alpha| <= z = |r| + E |alpha|,
 *
 * r = Y - A alpha (computed tile by tile: |r - r_hat| <= gamma_{n+2} (|K| |alpha| + lambda |alpha|) + 2u |r_hat|),
 * E >= |K_x - K| entrywise: the kernel's per-entry bound B of the gridded tile value K_b (dw_kern_tile_b) plus
 * |K_b - K| (the diagonal: the per-point value and its bound, dw_kernel_gram_bound of the point alone). Test
 * point's row k (and Et >= |k_x - k|, likewise), mean = fl(k^T alpha):
 *
 *     |k_x^T alpha_x - mean| <= (||k||_2 + ||Et||_2) ||alpha_x - alpha||_2 + Et.|alpha| + gamma_n |k|.|alpha|.
 *
 * Every bound quantity is a sum of non-negative terms computed in double, inflated by 1 + gamma_N for its N
 * operations. Row blocks are dw_par_for items summing in a fixed order: the same bits for any thread count. */
#include "predict/predict.h"

#include "kernels/kernel.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double gam(double k) { return k * (DBL_EPSILON / 2) / (1.0 - k * (DBL_EPSILON / 2)); }

/* x rounded up past the rounding of N operations on non-negative numbers */
static double up(double x, double N) { return x * (1.0 + gam(N + 2.0)); }

typedef struct cert_job {
    const dw_kernel_plan *plan;
    bool ntk;
    size_t rows, cols, c;
    const double *x;    /* the vectors (alpha, ...), cols x c */
    const double *absx; /* |x| */
    long double *SL;    /* rows x c: K x accumulated in long double */
    const double *pa;   /* train-train: per point, its value a_i and a_i's bound (2 n), else NULL */
    double *KA, *EA;    /* rows x c: |K| |alpha| and E |alpha| */
    double *kn, *en;    /* rows: sum_j K_ij^2, sum_j E_ij^2 (NULL: not wanted) */
} cert_job;

/* The entries K are those of DW_PRED_ROWS x DW_PRED_COLS tiles (dw_kern_tile_direct; the test-train product's
 * calls, so the same bits there; the train-train product's square tiles may round the inner products differently,
 * which the bound does not need: r is recomputed from these entries); their bounds from the kernel's grid cells
 * (TILE_I x TILE_J, which divide them). */
#define RB DW_PRED_ROWS
#define CB DW_PRED_COLS

static dw_status cert_item(void *ctx, size_t item, int tid)
{
    (void)tid;
    const cert_job *j = ctx;
    const size_t i0 = item * RB, i1 = i0 + RB < j->rows ? i0 + RB : j->rows, c = j->c, ni = i1 - i0;
    double *buf = dw_alloc(3 * RB * CB, sizeof *buf, "certified bound: kernel tiles");
    if (!buf) return DW_ERR_NOMEM;
    double *Kd = buf, *Kb = Kd + RB * CB, *B = Kb + RB * CB;
    memset(j->KA + i0 * c, 0, ni * c * sizeof *j->KA);
    for (size_t o = i0 * c; o < i1 * c; o++) j->SL[o] = 0;
    memset(j->EA + i0 * c, 0, ni * c * sizeof *j->EA);
    if (j->kn) memset(j->kn + i0, 0, ni * sizeof *j->kn);
    if (j->en) memset(j->en + i0, 0, ni * sizeof *j->en);
    dw_status s = DW_OK;
    for (size_t j0 = 0; !s && j0 < j->cols; j0 += CB) {
        const size_t j1 = j0 + CB < j->cols ? j0 + CB : j->cols, w = j1 - j0;
        s = dw_kern_tile_direct(j->plan, i0, i1, j0, j1, j->ntk ? NULL : Kd, j->ntk ? Kd : NULL, w, RB * w);
        for (size_t a0 = i0; !s && a0 < i1; a0 += TILE_I)
            for (size_t b0 = j0; !s && b0 < j1; b0 += TILE_J) {
                const size_t a1 = a0 + TILE_I < i1 ? a0 + TILE_I : i1, b1 = b0 + TILE_J < j1 ? b0 + TILE_J : j1;
                const size_t o = (a0 - i0) * w + (b0 - j0);
                s = dw_kern_tile_b(j->plan, a0, a1, b0, b1, j->ntk ? NULL : Kb + o, j->ntk ? Kb + o : NULL,
                                   j->ntk ? NULL : B + o, j->ntk ? B + o : NULL, w, RB * w, 0);
            }
        for (size_t a = 0; !s && a < ni; a++) {
            const size_t i = i0 + a;
            double kn = 0, en = 0;
            double *ka = j->KA + i * c, *ea = j->EA + i * c;
            long double *sl = j->SL + i * c;
            for (size_t b = 0; b < w; b++) {
                const double kv = Kd[a * w + b];
                double e = j->pa && j0 + b == i ? up(j->pa[2 * i + 1] + fabs(j->pa[2 * i] - kv), 2.0)
                                                : up(B[a * w + b] + fabs(Kb[a * w + b] - kv), 2.0);
                if (!isfinite(kv) || !(e >= 0)) e = INFINITY;
                kn += kv * kv;
                en += e * e;
                const double *x = j->absx + (j0 + b) * c, *sx = j->x + (j0 + b) * c;
                for (size_t q = 0; q < c; q++) {
                    ka[q] += fabs(kv) * x[q];
                    ea[q] += e * x[q];
                    sl[q] += (long double)kv * (long double)sx[q];
                }
            }
            if (j->kn) j->kn[i] += kn;
            if (j->en) j->en[i] += en;
        }
    }
    free(buf);
    return s;
}

/* Each train point's kernel value a_i and its bound, as the Gram's diagonal is computed (the 1 x 1 Gram). */
static dw_status point_values(const dw_net *net, const dw_kernel_opts *ko, bool ntk, const double *X, size_t n,
                              size_t d, double *pa)
{
    for (size_t i = 0; i < n; i++) {
        double K = 0, T = 0, BK = 0, BT = 0;
        dw_status s = dw_kernel_gram_bound(net, ko, X + i * d, 1, NULL, 1, d, &K, ntk ? &T : NULL, ntk ? NULL : &BK,
                                           ntk ? &BT : NULL, NULL);
        if (s) return s;
        pa[2 * i] = ntk ? T : K;
        pa[2 * i + 1] = ntk ? BT : BK;
    }
    return DW_OK;
}

bool dw_pred_cg_bound_available(const dw_net *net, const dw_pred_tiles *t)
{
    return dw_kernel_gram_bound_available(net) && t->pxx && dw_kern_ebound_supported(t->pxx) &&
           t->pxx->act->fam != DW_FAM_GENERIC;
}

/* out (n x c) = the test-train rows [j0, j0 + c) transposed, computed by the very calls of the products' tiles
 * (the same bits as the k the mean used); S: c x CB scratch */
static dw_status test_rows(const dw_pred_tiles *t, size_t j0, size_t c, double *S, double *out)
{
    for (size_t i0 = 0; i0 < t->n; i0 += CB) {
        const size_t w = t->n - i0 < CB ? t->n - i0 : CB;
        dw_status s = dw_kern_tile_direct(t->ptx, j0, j0 + c, i0, i0 + w, t->ntk ? NULL : S, t->ntk ? S : NULL, w,
                                          RB * w);
        if (s) return s;
        for (size_t a = 0; a < c; a++)
            for (size_t i = 0; i < w; i++) out[(i0 + i) * c + a] = S[a * w + i];
    }
    return DW_OK;
}

/* The adjoint solutions W = A^{-1} k^T (n x m, by the solver, blocks of DW_PRED_ROWS test points) and the test
 * rows themselves, transposed (Bt, n x m). */
static dw_status adjoints(const dw_pred_cg_solver *sv, double *W, double *Bt)
{
    dw_pred_tiles *t = sv->tiles;
    const size_t n = t->n, m = t->m, ch = dw_pred_cov_chunk(m);
    double *B = dw_alloc(2 * n * ch + RB * CB, sizeof *B, "certified bound: test columns");
    if (!B) return DW_ERR_NOMEM;
    double *Z = B + n * ch, *S = Z + n * ch;
    size_t its = 0;
    double res = 0;
    dw_status s = DW_OK;
    for (size_t j0 = 0; !s && j0 < m; j0 += ch) {
        const size_t c = m - j0 < ch ? m - j0 : ch;
        if ((s = test_rows(t, j0, c, S, B))) break;
        if ((s = sv->solve(t, sv->precond, sv->o, sv->lambda, B, c, Z, &its, &res))) break;
        for (size_t i = 0; i < n; i++) {
            memcpy(W + i * m + j0, Z + i * c, c * sizeof *Z);
            memcpy(Bt + i * m + j0, B + i * c, c * sizeof *B);
        }
    }
    free(B);
    return s;
}

static double norm_up(double sq, size_t n) { return up(sqrt(up(sq, (double)n)), 2.0); }

/* |b - (S + lambda x)| for S = K x in long double (its rounding <= gL (|K||x|)), bounded in double */
static double resid(double b, long double S, double lambda, double x, double kax, double gL)
{
    const long double r = (long double)b - S - (long double)lambda * (long double)x;
    return fabs((double)r) * (1.0 + DBL_EPSILON) + up(gL * (fabs(b) + kax + lambda * fabs(x)), 4.0);
}

dw_status dw_pred_cg_bound(const dw_pred_cg_solver *sv, const dw_net *net, const double *X, size_t d,
                           const double *Y, const double *alpha, size_t k, const double *mean, double *bound)
{
    dw_pred_tiles *t = sv->tiles;
    const size_t n = t->n, m = t->m, c = k + m;
    const double lambda = sv->lambda;
    if (!(lambda > 0)) { /* no certified lambda_min: no certificate */
        for (size_t i = 0; i < m * k; i++) bound[i] = INFINITY;
        return DW_OK;
    }
    double *w = dw_alloc(4 * n * c + 2 * n * m + n * k + 2 * n + 2 * m * k + 2 * m + k, sizeof *w,
                         "certified bound: cg");
    long double *SL = w ? dw_alloc(n * c + m * k, sizeof *SL, "certified bound: long double products") : NULL;
    if (!SL) {
        free(w);
        return DW_ERR_NOMEM;
    }
    double *V = w, *AV = V + n * c, *KA = AV + n * c, *EA = KA + n * c, *W = EA + n * c, *Bt = W + n * m;
    double *z = Bt + n * m, *pa = z + n * k, *KAt = pa + 2 * n, *EAt = KAt + m * k, *en = EAt + m * k;
    double *dw = en + m, *zn = dw + m;
    long double *SLt = SL + n * c;
    dw_status s = point_values(net, t->ko, t->ntk, X, n, d, pa);
    if (!s) s = adjoints(sv, W, Bt);
    for (size_t i = 0; !s && i < n; i++) { /* V = [alpha W], AV = |V| */
        memcpy(V + i * c, alpha + i * k, k * sizeof *V);
        memcpy(V + i * c + k, W + i * m, m * sizeof *V);
        for (size_t a = 0; a < c; a++) AV[i * c + a] = fabs(V[i * c + a]);
    }
    cert_job tr = {t->pxx, t->ntk, n, n, c, V, AV, SL, pa, KA, EA, NULL, NULL};
    if (!s) s = dw_par_for((n + RB - 1) / RB, t->threads, cert_item, &tr);
    /* the test side, with alpha */
    double *ax = dw_alloc(n * k, sizeof *ax, "certified bound: |alpha|");
    if (!s && !ax) s = DW_ERR_NOMEM;
    for (size_t i = 0; !s && i < n * k; i++) ax[i] = fabs(alpha[i]);
    cert_job te = {t->ptx, t->ntk, m, n, k, alpha, ax, SLt, NULL, KAt, EAt, NULL, en};
    if (!s) s = dw_par_for((m + RB - 1) / RB, t->threads, cert_item, &te);
    free(ax);
    const double gL = gam((double)n + 3.0) * (LDBL_EPSILON / DBL_EPSILON);
    for (size_t a = 0; !s && a < k; a++) { /* z >= |Y - A_x alpha| entrywise, and its norm */
        double z2 = 0;
        for (size_t i = 0; i < n; i++) {
            const size_t o = i * k + a, oc = i * c + a;
            z[o] = up(resid(Y[o], SL[oc], lambda, alpha[o], up(KA[oc], (double)n), gL) + up(EA[oc], (double)n), 2.0);
            z2 += z[o] * z[o];
        }
        zn[a] = norm_up(z2, n);
    }
    for (size_t j = 0; !s && j < m; j++) { /* ||w_j - w_hat_j||_2 <= (||k - A w_hat|| + ||Et|| + ||E|w_hat|||) / lambda */
        double r2 = 0, e2 = 0;
        for (size_t i = 0; i < n; i++) {
            const size_t oc = i * c + k + j;
            const double r = resid(Bt[i * m + j], SL[oc], lambda, V[oc], up(KA[oc], (double)n), gL);
            const double e = up(EA[oc], (double)n);
            r2 += r * r;
            e2 += e * e;
        }
        dw[j] = up(up(norm_up(r2, n) + norm_up(en[j], n) + norm_up(e2, n), 4.0) / lambda, 2.0);
    }
    /* the mean: fl(k^T alpha) against k^T alpha, by the long-double sum (rounding <= gL |k|.|alpha|) */
    for (size_t j = 0; !s && j < m; j++)
        for (size_t a = 0; a < k; a++) {
            double wz = 0; /* |w_hat_j| . z_a */
            for (size_t i = 0; i < n; i++) wz += AV[i * c + k + j] * z[i * k + a];
            const size_t o = j * k + a;
            const double gap = fabs((double)((long double)mean[o] - SLt[o])) * (1.0 + DBL_EPSILON);
            bound[o] = up(up(wz, (double)n) + dw[j] * zn[a] + up(EAt[o], (double)n) + gap +
                          gL * up(KAt[o], (double)n), 8.0);
            bound[o] = bound[o] >= 0 ? bound[o] : INFINITY;
        }
    free(SL);
    free(w);
    return s;
}
