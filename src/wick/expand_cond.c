/* The conditional route of the expansion of a network with polynomial activation (theory.md 4.3).
 *
 * Given layer l - 1, the units of h^l are i.i.d. N(0, sw G^{l-1} + sb) with G^{l-1} the empirical
 * Gram (G^0 = the input Gram). E[f(x) f(y)] = sw E[G^L_xy] + sb; a monomial of G^l entries has the conditional
 * expectation N^{-k} sum over set partitions of its k factors of N(N-1)...(N-|pi|+1) prod_blocks E[phi(u)^alpha
 * phi(v)^beta], a polynomial in the covariance (Isserlis), hence in G^{l-1}. Exact rational polynomials in
 * (G_xx, G_xy, G_yy, 1/N) by FLINT's fmpq_mpoly. */
#include "wick/expand.h"

#include <flint/fmpq_mpoly.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* conditional route                                                                                          */

typedef struct cond {
    fmpq_mpoly_ctx_t ctx; /* variables g_xx, g_xy, g_yy, u = 1/N */
    int K;
    const fmpq *c;
    int amax;             /* memo dimension */
    fmpq_mpoly_struct **mom2; /* E[phi(u)^alpha phi(v)^beta] by alpha * (amax+1) + beta (lazy) */
    fmpq_mpoly_struct **R;    /* R(a,b,c)[nb] (lazy) */
    int *Rlen;
    int dim;
} cond;

static fmpq *phi_power(const cond *C, int alpha, int *deg)
{
    *deg = C->K * alpha;
    fmpq *p = malloc((size_t)(*deg + 1) * sizeof(fmpq)), *t = malloc((size_t)(*deg + 1) * sizeof(fmpq));
    if (!p || !t) {
        free(p);
        free(t);
        return NULL;
    }
    for (int i = 0; i <= *deg; i++) {
        fmpq_init(p + i);
        fmpq_init(t + i);
    }
    fmpq_one(p + 0);
    int cur = 0;
    fmpq_t x;
    fmpq_init(x);
    for (int a = 0; a < alpha; a++) {
        for (int i = 0; i <= cur + C->K; i++) fmpq_zero(t + i);
        for (int i = 0; i <= cur; i++)
            for (int k = 0; k <= C->K; k++) {
                fmpq_mul(x, p + i, C->c + k);
                fmpq_add(t + i + k, t + i + k, x);
            }
        cur += C->K;
        for (int i = 0; i <= cur; i++) fmpq_set(p + i, t + i);
    }
    fmpq_clear(x);
    for (int i = 0; i <= *deg; i++) fmpq_clear(t + i);
    free(t);
    return p;
}

static void free_qvec(fmpq *p, int deg)
{
    if (!p) return;
    for (int i = 0; i <= deg; i++) fmpq_clear(p + i);
    free(p);
}

/* E[phi(u)^alpha phi(v)^beta] as a polynomial in the covariance (s_uu, s_uv, s_vv) = variables 0, 1, 2 */
static const fmpq_mpoly_struct *moment2(cond *C, int alpha, int beta)
{
    int key = alpha * (C->amax + 1) + beta;
    if (C->mom2[key]) return C->mom2[key];
    fmpq_mpoly_struct *M = malloc(sizeof *M);
    if (!M) return NULL;
    fmpq_mpoly_init(M, C->ctx);
    int da, db;
    fmpq *A = phi_power(C, alpha, &da), *B = phi_power(C, beta, &db);
    if (!A || !B) {
        free_qvec(A, da);
        free_qvec(B, db);
        fmpq_mpoly_clear(M, C->ctx);
        free(M);
        return NULL;
    }
    fmpq_t x;
    fmpz_t z, bin;
    fmpq_init(x);
    fmpz_init(z);
    fmpz_init(bin);
    ulong ex[4] = {0, 0, 0, 0};
    fmpq_mpoly_t term;
    fmpq_mpoly_init(term, C->ctx);
    for (int i = 0; i <= da; i++) {
        if (fmpq_is_zero(A + i)) continue;
        for (int j = 0; j <= db; j++) {
            if (fmpq_is_zero(B + j)) continue;
            /* E[u^i v^j] = sum_m C(i,m) C(j,m) m! (i-m-1)!! (j-m-1)!! s_uu^{(i-m)/2} s_uv^m s_vv^{(j-m)/2} */
            for (int m = (i % 2); m <= i && m <= j; m += 2) {
                if ((j - m) % 2) continue;
                fmpz_bin_uiui(z, (ulong)i, (ulong)m);
                fmpz_bin_uiui(bin, (ulong)j, (ulong)m);
                fmpz_mul(z, z, bin);
                fmpz_fac_ui(bin, (ulong)m);
                fmpz_mul(z, z, bin);
                for (int r = i - m - 1; r > 1; r -= 2) fmpz_mul_ui(z, z, (ulong)r);
                for (int r = j - m - 1; r > 1; r -= 2) fmpz_mul_ui(z, z, (ulong)r);
                fmpq_mul(x, A + i, B + j);
                fmpq_mul_fmpz(x, x, z);
                ex[0] = (ulong)((i - m) / 2);
                ex[1] = (ulong)m;
                ex[2] = (ulong)((j - m) / 2);
                ex[3] = 0;
                fmpq_mpoly_zero(term, C->ctx);
                fmpq_mpoly_set_coeff_fmpq_ui(term, x, ex, C->ctx);
                fmpq_mpoly_add(M, M, term, C->ctx);
            }
        }
    }
    fmpq_mpoly_clear(term, C->ctx);
    fmpq_clear(x);
    fmpz_clear(z);
    fmpz_clear(bin);
    free_qvec(A, da);
    free_qvec(B, db);
    C->mom2[key] = M;
    return M;
}

/* R(a,b,c)[nb]: sum over set partitions into nb blocks of the product of block moments */
static fmpq_mpoly_struct *Rget(cond *C, int a, int b, int c)
{
    int key = (a * C->dim + b) * C->dim + c;
    if (C->R[key]) return C->R[key];
    int k = a + b + c;
    fmpq_mpoly_struct *R = malloc((size_t)(k + 1) * sizeof *R);
    if (!R) return NULL;
    for (int i = 0; i <= k; i++) fmpq_mpoly_init(R + i, C->ctx);
    if (k == 0) {
        fmpq_mpoly_one(R + 0, C->ctx);
        C->R[key] = R;
        C->Rlen[key] = 1;
        return R;
    }
    int t0 = a ? 0 : b ? 1 : 2;
    fmpq_mpoly_t prod;
    fmpq_mpoly_init(prod, C->ctx);
    fmpz_t mult, bin;
    fmpz_init(mult);
    fmpz_init(bin);
    int ok = 1;
    for (int a2 = (t0 == 0); a2 <= a && ok; a2++)
        for (int b2 = (t0 == 1); b2 <= b && ok; b2++)
            for (int c2 = (t0 == 2); c2 <= c && ok; c2++) {
                fmpz_bin_uiui(mult, (ulong)(a - (t0 == 0)), (ulong)(a2 - (t0 == 0)));
                fmpz_bin_uiui(bin, (ulong)(b - (t0 == 1)), (ulong)(b2 - (t0 == 1)));
                fmpz_mul(mult, mult, bin);
                fmpz_bin_uiui(bin, (ulong)(c - (t0 == 2)), (ulong)(c2 - (t0 == 2)));
                fmpz_mul(mult, mult, bin);
                const fmpq_mpoly_struct *M = moment2(C, 2 * a2 + b2, b2 + 2 * c2);
                const fmpq_mpoly_struct *S = Rget(C, a - a2, b - b2, c - c2);
                if (!M || !S) {
                    ok = 0;
                    break;
                }
                int ks = (a - a2) + (b - b2) + (c - c2);
                for (int nb = 0; nb <= ks; nb++) {
                    if (fmpq_mpoly_is_zero(S + nb, C->ctx)) continue;
                    fmpq_mpoly_mul(prod, M, S + nb, C->ctx);
                    fmpq_mpoly_scalar_mul_fmpz(prod, prod, mult, C->ctx);
                    fmpq_mpoly_add(R + nb + 1, R + nb + 1, prod, C->ctx);
                }
            }
    fmpz_clear(mult);
    fmpz_clear(bin);
    fmpq_mpoly_clear(prod, C->ctx);
    if (!ok) {
        for (int i = 0; i <= k; i++) fmpq_mpoly_clear(R + i, C->ctx);
        free(R);
        return NULL;
    }
    C->R[key] = R;
    C->Rlen[key] = k + 1;
    return R;
}

dw_status dw_wick_expand_conditional(dw_wick_expansion *e)
{
    const int L = e->L;
    dw_status st = DW_OK;
    cond C;
    memset(&C, 0, sizeof C);
    fmpq_mpoly_ctx_init(C.ctx, 4, ORD_LEX);
    C.K = e->K;
    C.c = e->c;
    /* degrees: P at layer l has degree <= K^(L-l) in the G's */
    double dmax = pow((double)(e->K > 0 ? e->K : 1), L);
    if (dmax > 64) {
        fmpq_mpoly_ctx_clear(C.ctx);
        return dw_fail(DW_ERR_INVALID, "expand: degree %d^%d = %.0f of the conditional route is above its limit 64",
                       e->K, L, dmax);
    }
    C.dim = (int)dmax + 1;
    C.amax = 2 * C.dim + 2;
    size_t nR = (size_t)C.dim * C.dim * C.dim, nM = (size_t)(C.amax + 1) * (C.amax + 1);
    C.R = calloc(nR, sizeof *C.R);
    C.Rlen = calloc(nR, sizeof *C.Rlen);
    C.mom2 = calloc(nM, sizeof *C.mom2);
    fmpq_mpoly_t P, Q, mom, tmp, lin[4];
    fmpq_mpoly_init(P, C.ctx);
    fmpq_mpoly_init(Q, C.ctx);
    fmpq_mpoly_init(mom, C.ctx);
    fmpq_mpoly_init(tmp, C.ctx);
    for (int i = 0; i < 4; i++) fmpq_mpoly_init(lin[i], C.ctx);
    fmpq_t x;
    fmpq_init(x);
    if (!C.R || !C.Rlen || !C.mom2) {
        st = dw_fail(DW_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* P = sw g_xy + sb, in the Gram of layer L */
    fmpq_mpoly_gen(P, 1, C.ctx);
    fmpq_mpoly_scalar_mul_fmpq(P, P, e->sw, C.ctx);
    fmpq_mpoly_add_fmpq(P, P, e->sb, C.ctx);
    for (int i = 0; i < 3; i++) {
        fmpq_mpoly_gen(lin[i], i, C.ctx);
        fmpq_mpoly_scalar_mul_fmpq(lin[i], lin[i], e->sw, C.ctx);
        fmpq_mpoly_add_fmpq(lin[i], lin[i], e->sb, C.ctx);
    }
    fmpq_mpoly_gen(lin[3], 3, C.ctx);
    for (int l = L; l >= 1 && !st; l--) {
        fmpq_mpoly_zero(Q, C.ctx);
        slong len = fmpq_mpoly_length(P, C.ctx);
        for (slong t = 0; t < len && !st; t++) {
            slong ex[4];
            fmpq_mpoly_get_term_exp_si(ex, P, t, C.ctx);
            fmpq_mpoly_get_term_coeff_fmpq(x, P, t, C.ctx);
            int a = (int)ex[0], b = (int)ex[1], c = (int)ex[2], k = a + b + c;
            if (a >= C.dim || b >= C.dim || c >= C.dim) {
                st = dw_fail(DW_ERR_INTERNAL, "expand: degree bound exceeded");
                break;
            }
            const fmpq_mpoly_struct *R = Rget(&C, a, b, c);
            if (!R) {
                st = dw_fail(DW_ERR_NOMEM, "out of memory");
                break;
            }
            /* moment = sum_nb u^{k - nb} prod_{j < nb} (1 - j u) R[nb] */
            fmpq_mpoly_zero(mom, C.ctx);
            for (int nb = 0; nb <= k; nb++) {
                if (fmpq_mpoly_is_zero(R + nb, C.ctx)) continue;
                fmpq_mpoly_one(tmp, C.ctx);
                fmpq_mpoly_t f;
                fmpq_mpoly_init(f, C.ctx);
                for (int j = 1; j < nb; j++) {
                    fmpq_mpoly_gen(f, 3, C.ctx);
                    fmpq_mpoly_scalar_mul_si(f, f, -j, C.ctx);
                    fmpq_mpoly_add_si(f, f, 1, C.ctx);
                    fmpq_mpoly_mul(tmp, tmp, f, C.ctx);
                }
                fmpq_mpoly_gen(f, 3, C.ctx);
                fmpq_mpoly_pow_ui(f, f, (ulong)(k - nb), C.ctx);
                fmpq_mpoly_mul(tmp, tmp, f, C.ctx);
                fmpq_mpoly_clear(f, C.ctx);
                fmpq_mpoly_mul(tmp, tmp, R + nb, C.ctx);
                fmpq_mpoly_add(mom, mom, tmp, C.ctx);
            }
            /* times the term's coefficient and its u power */
            fmpq_mpoly_gen(tmp, 3, C.ctx);
            fmpq_mpoly_pow_ui(tmp, tmp, (ulong)ex[3], C.ctx);
            fmpq_mpoly_mul(mom, mom, tmp, C.ctx);
            fmpq_mpoly_scalar_mul_fmpq(mom, mom, x, C.ctx);
            fmpq_mpoly_add(Q, Q, mom, C.ctx);
        }
        if (st) break;
        /* covariance of layer l: s = sw G^{l-1} + sb */
        fmpq_mpoly_struct *subs[4] = {lin[0], lin[1], lin[2], lin[3]};
        if (!fmpq_mpoly_compose_fmpq_mpoly(P, Q, subs, C.ctx, C.ctx)) {
            st = dw_fail(DW_ERR_RANGE, "expand: exponent overflow in the conditional route");
            break;
        }
    }
    if (!st) {
        /* G^0 = the input Gram */
        for (int i = 0; i < 3; i++) {
            fmpq_mpoly_evaluate_one_fmpq(P, P, i, e->q[i], C.ctx);
        }
        slong len = fmpq_mpoly_length(P, C.ctx);
        for (slong t = 0; t < len && !st; t++) {
            slong ex[4];
            fmpq_mpoly_get_term_exp_si(ex, P, t, C.ctx);
            fmpq_mpoly_get_term_coeff_fmpq(x, P, t, C.ctx);
            st = dw_wick_expand_add(e, (int)ex[3], x);
        }
    }
done:
    fmpq_clear(x);
    fmpq_mpoly_clear(P, C.ctx);
    fmpq_mpoly_clear(Q, C.ctx);
    fmpq_mpoly_clear(mom, C.ctx);
    fmpq_mpoly_clear(tmp, C.ctx);
    for (int i = 0; i < 4; i++) fmpq_mpoly_clear(lin[i], C.ctx);
    if (C.R)
        for (size_t i = 0; i < nR; i++)
            if (C.R[i]) {
                for (int j = 0; j < C.Rlen[i]; j++) fmpq_mpoly_clear(C.R[i] + j, C.ctx);
                free(C.R[i]);
            }
    if (C.mom2)
        for (size_t i = 0; i < nM; i++)
            if (C.mom2[i]) {
                fmpq_mpoly_clear(C.mom2[i], C.ctx);
                free(C.mom2[i]);
            }
    free(C.R);
    free(C.Rlen);
    free(C.mom2);
    fmpq_mpoly_ctx_clear(C.ctx);
    return st;
}
