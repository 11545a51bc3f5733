/* The conditional route of the expansion of a residual network (theory.md 4.3): h^1 = W^1 x + b^1, the blocks
 * h^l = gamma_l h^{l-1} + alpha_l z^l (l = 2..L) with z^l = W^l phi(h^{l-1}) + b^l, f = W phi(h^L) + b.
 *
 * Given layer l - 1 the z^l_i are i.i.d. N(0, S), S = sw G + sb with G the empirical Gram of phi(h^{l-1}); but
 * h^l_i also carries h^{l-1}_i, so the state is no longer the Gram: it is a polynomial in the empirical moments
 * m_ab = (1/N) sum_i h_i(x)^a h_i(y)^b (G is linear in them) and u = 1/N. With Y_t = (gamma h_x + alpha z_x)^a_t
 * (gamma h_y + alpha z_y)^b_t and the units independent given the layer below (moment-cumulant formula):
 *   E[prod_t m^l_{a_t b_t} | layer l-1] = sum over set partitions s of the factors of u^{k - |s|} prod_{C in s} F(C),
 *   F(C) = (1/N) sum_i kappa_z(Y_t(i) : t in C), the joint cumulant over z at a fixed unit, with the h monomials
 *   summed over the units into m^{l-1}. The cumulants come from the moments E_z[Y_C] = mu(sum a, sum b) (Isserlis) by
 *   kappa(C) = mu(C) - sum_{B ni first, B != C} kappa(B) mu(C \ B). The input layer is the step with gamma = 0,
 *   alpha^2 = 1 and S = sw <x,y>/d + sb. Exact rational polynomials by FLINT's fmpq_mpoly, memoised per multiset
 *   of factors within a layer. */
#include "wick/expand.h"
#include "wick/multiset.h"

#include <flint/fmpq_mpoly.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RES_MAX_WEIGHT 32  /* a + b of a moment m_ab: 2 K^L */
#define RES_MAX_DEPTH 3    /* nonlinear phi: depth 3 quadratic 0.03 s, depth 4 quadratic > 400 s */

static fmpq_mpoly_struct *poly_new(const fmpq_mpoly_ctx_struct *ctx)
{
    fmpq_mpoly_struct *p = malloc(sizeof *p);
    if (p) fmpq_mpoly_init(p, ctx);
    return p;
}

typedef struct res {
    const dw_wick_expansion *e;
    int W, T;                 /* moments m_ab with 1 <= a + b <= W: T of them */
    int *ta, *tb, *tix;       /* type -> (a, b); tix[a * (W + 1) + b] -> type */
    fmpq_mpoly_ctx_t ctx;     /* u = 1/N (variable 0), m_type (variable 1 + type) */
    fmpq_mpoly_ctx_t c5;      /* h_x, h_y, s_xx, s_xy, s_yy */
    /* the current step: gamma, alpha^2, S as polynomials of the layer below */
    fmpq_t g, a2;
    fmpq_mpoly_struct S[3];
    fmpq_mpoly_struct **mu;   /* (W+1)^2, lazy */
    fmpq_mpoly_struct **Spow; /* (W/2+1)^3 products of S entries, lazy */
    mset_memo kap, phi, R;
    slong *ex;
    dw_status st;
} res;

static void fail(res *r, dw_status st, const char *what)
{
    if (!r->st) r->st = st == DW_ERR_NOMEM ? dw_fail(st, "out of memory") : dw_fail(st, "expand: %s", what);
}

/* E_z[(g h_x + alpha z_x)^A (g h_y + alpha z_y)^B] for z ~ N(0, s) */
static const fmpq_mpoly_struct *mu(res *r, int A, int B)
{
    if (A > r->W || B > r->W) { /* the degree bound 2 K^L makes this unreachable */
        fail(r, DW_ERR_INTERNAL, "residual route: a moment above the degree bound");
        return NULL;
    }
    const int key = A * (r->W + 1) + B;
    if (r->mu[key]) return r->mu[key];
    fmpq_mpoly_struct *M = poly_new(r->c5);
    if (!M) return NULL;
    fmpq_t x, gp;
    fmpz_t z, t;
    fmpq_init(x);
    fmpq_init(gp);
    fmpz_init(z);
    fmpz_init(t);
    ulong ex[5];
    for (int i = 0; i <= A; i++)     /* i = power of z_x */
        for (int j = i % 2; j <= B; j += 2) { /* i + j even */
            fmpq_pow_si(gp, r->g, A - i + B - j);
            fmpq_pow_si(x, r->a2, (i + j) / 2);
            fmpq_mul(gp, gp, x);
            fmpz_bin_uiui(z, (ulong)A, (ulong)i);
            fmpz_bin_uiui(t, (ulong)B, (ulong)j);
            fmpz_mul(z, z, t);
            fmpq_mul_fmpz(gp, gp, z);
            if (fmpq_is_zero(gp)) continue;
            /* E[z_x^i z_y^j] = sum_m C(i,m) C(j,m) m! (i-m-1)!! (j-m-1)!! s_xx^{(i-m)/2} s_xy^m s_yy^{(j-m)/2} */
            for (int m = i % 2; m <= i && m <= j; m += 2) {
                fmpz_bin_uiui(z, (ulong)i, (ulong)m);
                fmpz_bin_uiui(t, (ulong)j, (ulong)m);
                fmpz_mul(z, z, t);
                fmpz_fac_ui(t, (ulong)m);
                fmpz_mul(z, z, t);
                for (int q = i - m - 1; q > 1; q -= 2) fmpz_mul_ui(z, z, (ulong)q);
                for (int q = j - m - 1; q > 1; q -= 2) fmpz_mul_ui(z, z, (ulong)q);
                fmpq_mul_fmpz(x, gp, z);
                ex[0] = (ulong)(A - i);
                ex[1] = (ulong)(B - j);
                ex[2] = (ulong)((i - m) / 2);
                ex[3] = (ulong)m;
                ex[4] = (ulong)((j - m) / 2);
                fmpq_mpoly_set_coeff_fmpq_ui(M, x, ex, r->c5); /* (i, j, m) is one monomial each */
            }
        }
    fmpq_clear(x);
    fmpq_clear(gp);
    fmpz_clear(z);
    fmpz_clear(t);
    r->mu[key] = M;
    return M;
}


/* S_xx^i S_xy^j S_yy^k in the state's ring (lazy, i, j, k <= W / 2) */
static const fmpq_mpoly_struct *sprod(res *r, int i, int j, int k)
{
    const int H = r->W / 2 + 1;
    fmpq_mpoly_struct **slot = r->Spow + (i * H + j) * H + k;
    if (*slot) return *slot;
    fmpq_mpoly_struct *q = poly_new(r->ctx);
    if (!q) return NULL;
    if (!i && !j && !k) fmpq_mpoly_one(q, r->ctx);
    else { /* one factor times a memoised product of one fewer */
        const int w = k ? 2 : j ? 1 : 0;
        const fmpq_mpoly_struct *p = sprod(r, i - (w == 0), j - (w == 1), k - (w == 2));
        if (!p) {
            fmpq_mpoly_clear(q, r->ctx);
            free(q);
            return NULL;
        }
        fmpq_mpoly_mul(q, p, r->S + w, r->ctx);
    }
    return *slot = q;
}

static void sums(const res *r, const int *key, int k, int *A, int *B)
{
    *A = *B = 0;
    for (int i = 0; i < k; i++) {
        *A += r->ta[key[i]];
        *B += r->tb[key[i]];
    }
}

/* kappa_z(Y_t : t in key) in (h_x, h_y, s) */
static const fmpq_mpoly_struct *kappa(res *r, const int *key, int k)
{
    fmpq_mpoly_struct *K = mset_memo_get(&r->kap, key, k);
    if (K) return K;
    int A, B, kb[MSET_MAX], kr[MSET_MAX], nb, nr;
    sums(r, key, k, &A, &B);
    const fmpq_mpoly_struct *M = mu(r, A, B);
    if (!M || !(K = poly_new(r->c5))) return NULL;
    fmpq_mpoly_set(K, M, r->c5);
    fmpq_mpoly_t t;
    fmpq_mpoly_init(t, r->c5);
    fmpz_t mult;
    fmpz_init(mult);
    mset_split s;
    mset_split_init(&s, key, k);
    int ok = 1;
    do {
        mset_split_keys(&s, kb, &nb, kr, &nr, mult);
        if (!nr) continue; /* B = C: the cumulant itself */
        const fmpq_mpoly_struct *kB = kappa(r, kb, nb);
        int Ar, Br;
        sums(r, kr, nr, &Ar, &Br);
        const fmpq_mpoly_struct *mR = kB ? mu(r, Ar, Br) : NULL;
        if (!mR) {
            ok = 0;
            break;
        }
        fmpq_mpoly_mul(t, kB, mR, r->c5);
        fmpq_mpoly_scalar_mul_fmpz(t, t, mult, r->c5);
        fmpq_mpoly_sub(K, K, t, r->c5);
    } while (mset_split_next(&s));
    fmpz_clear(mult);
    fmpq_mpoly_clear(t, r->c5);
    if (!ok) {
        fmpq_mpoly_clear(K, r->c5);
        free(K);
        return NULL;
    }
    return mset_memo_put(&r->kap, key, k, K);
}

/* F(C): the cumulant with its h monomials summed over the units (h_x^p h_y^q -> m_pq) and s -> S */
static const fmpq_mpoly_struct *block(res *r, const int *key, int k)
{
    fmpq_mpoly_struct *F = mset_memo_get(&r->phi, key, k);
    if (F) return F;
    const fmpq_mpoly_struct *K = kappa(r, key, k);
    if (!K || !(F = poly_new(r->ctx))) return NULL;
    const slong n = fmpq_mpoly_length(K, r->c5);
    char *done = calloc((size_t)(n ? n : 1), 1);
    fmpq_mpoly_t lin, m;
    fmpq_mpoly_init(lin, r->ctx);
    fmpq_mpoly_init(m, r->ctx);
    fmpq_t c;
    fmpq_init(c);
    slong ex[5], ey[5];
    int ok = done != NULL;
    /* the terms grouped by their power of S: (sum of c m_pq) times one product of S entries per group */
    for (slong i = 0; i < n && ok; i++) {
        if (done[i]) continue;
        fmpq_mpoly_get_term_exp_si(ex, K, i, r->c5);
        fmpq_mpoly_zero(lin, r->ctx);
        for (slong j = i; j < n && ok; j++) {
            fmpq_mpoly_get_term_exp_si(ey, K, j, r->c5);
            if (done[j] || ey[2] != ex[2] || ey[3] != ex[3] || ey[4] != ex[4]) continue;
            done[j] = 1;
            if (ey[0] + ey[1] > r->W) {
                fail(r, DW_ERR_INTERNAL, "residual route: a moment above the degree bound");
                ok = 0;
                break;
            }
            fmpq_mpoly_get_term_coeff_fmpq(c, K, j, r->c5);
            if (ey[0] + ey[1]) fmpq_mpoly_gen(m, 1 + r->tix[ey[0] * (r->W + 1) + ey[1]], r->ctx);
            else fmpq_mpoly_one(m, r->ctx);
            fmpq_mpoly_scalar_mul_fmpq(m, m, c, r->ctx);
            fmpq_mpoly_add(lin, lin, m, r->ctx);
        }
        const fmpq_mpoly_struct *p = ok ? sprod(r, (int)ex[2], (int)ex[3], (int)ex[4]) : NULL;
        if (!p) {
            ok = 0;
            break;
        }
        fmpq_mpoly_mul(lin, lin, p, r->ctx);
        fmpq_mpoly_add(F, F, lin, r->ctx);
    }
    free(done);
    fmpq_clear(c);
    fmpq_mpoly_clear(lin, r->ctx);
    fmpq_mpoly_clear(m, r->ctx);
    if (!ok) {
        fmpq_mpoly_clear(F, r->ctx);
        free(F);
        return NULL;
    }
    return mset_memo_put(&r->phi, key, k, F);
}

/* R(C) = sum over set partitions s of C of u^{|C| - |s|} prod_{blocks} F: by the block of the first factor */
static const fmpq_mpoly_struct *Rget(res *r, const int *key, int k)
{
    fmpq_mpoly_struct *R = mset_memo_get(&r->R, key, k);
    if (R) return R;
    if (!(R = poly_new(r->ctx))) return NULL;
    if (!k) {
        fmpq_mpoly_one(R, r->ctx);
        return mset_memo_put(&r->R, key, k, R);
    }
    int kb[MSET_MAX], kr[MSET_MAX], nb, nr, ok = 1;
    fmpq_mpoly_t t, u;
    fmpq_mpoly_init(t, r->ctx);
    fmpq_mpoly_init(u, r->ctx);
    fmpz_t mult;
    fmpz_init(mult);
    mset_split s;
    mset_split_init(&s, key, k);
    do {
        mset_split_keys(&s, kb, &nb, kr, &nr, mult);
        const fmpq_mpoly_struct *F = block(r, kb, nb), *S = F ? Rget(r, kr, nr) : NULL;
        if (!S) {
            ok = 0;
            break;
        }
        fmpq_mpoly_mul(t, F, S, r->ctx);
        fmpq_mpoly_gen(u, 0, r->ctx);
        fmpq_mpoly_pow_ui(u, u, (ulong)(nb - 1), r->ctx);
        fmpq_mpoly_mul(t, t, u, r->ctx);
        fmpq_mpoly_scalar_mul_fmpz(t, t, mult, r->ctx);
        fmpq_mpoly_add(R, R, t, r->ctx);
    } while (mset_split_next(&s));
    fmpz_clear(mult);
    fmpq_mpoly_clear(t, r->ctx);
    fmpq_mpoly_clear(u, r->ctx);
    if (!ok) {
        fmpq_mpoly_clear(R, r->ctx);
        free(R);
        return NULL;
    }
    return mset_memo_put(&r->R, key, k, R);
}

static void step_clear(res *r)
{
    mset_memo_clear(&r->kap);
    mset_memo_clear(&r->phi);
    mset_memo_clear(&r->R);
    const int n = (r->W + 1) * (r->W + 1);
    for (int i = 0; i < n; i++)
        if (r->mu[i]) {
            fmpq_mpoly_clear(r->mu[i], r->c5);
            free(r->mu[i]);
            r->mu[i] = NULL;
        }
    for (int i = 0; i < (r->W / 2 + 1) * (r->W / 2 + 1) * (r->W / 2 + 1); i++)
        if (r->Spow[i]) {
            fmpq_mpoly_clear(r->Spow[i], r->ctx);
            free(r->Spow[i]);
            r->Spow[i] = NULL;
        }
}

/* sw sum_ab c_a c_b m(a, b) + sb with m(a, b) the moment of (a, b) (the empirical Gram of phi, plus the bias) */
static void gram(res *r, fmpq_mpoly_t out, int which)
{
    const dw_wick_expansion *e = r->e;
    fmpq_mpoly_t m;
    fmpq_mpoly_init(m, r->ctx);
    fmpq_t c;
    fmpq_init(c);
    fmpq_mpoly_zero(out, r->ctx);
    for (int a = 0; a <= e->K; a++)
        for (int b = 0; b <= e->K; b++) {
            const int p = which == 0 ? a + b : which == 1 ? a : 0, q = which == 0 ? 0 : which == 1 ? b : a + b;
            fmpq_mul(c, e->c + a, e->c + b);
            fmpq_mul(c, c, e->sw);
            if (p + q) fmpq_mpoly_gen(m, 1 + r->tix[p * (r->W + 1) + q], r->ctx);
            else fmpq_mpoly_one(m, r->ctx);
            fmpq_mpoly_scalar_mul_fmpq(m, m, c, r->ctx);
            fmpq_mpoly_add(out, out, m, r->ctx);
        }
    fmpq_mpoly_add_fmpq(out, out, e->sb, r->ctx);
    fmpq_clear(c);
    fmpq_mpoly_clear(m, r->ctx);
}

/* P (moments of layer l) -> E[P | layer l - 1] (moments of layer l - 1) */
static void step(res *r, fmpq_mpoly_t P)
{
    fmpq_mpoly_t Q, t;
    fmpq_mpoly_init(Q, r->ctx);
    fmpq_mpoly_init(t, r->ctx);
    fmpq_t c;
    fmpq_init(c);
    int key[MSET_MAX];
    for (slong i = 0; i < fmpq_mpoly_length(P, r->ctx) && !r->st; i++) {
        fmpq_mpoly_get_term_exp_si(r->ex, P, i, r->ctx);
        fmpq_mpoly_get_term_coeff_fmpq(c, P, i, r->ctx);
        int k = 0;
        for (int v = 0; v < r->T && k <= MSET_MAX; v++)
            for (slong j = 0; j < r->ex[1 + v] && k <= MSET_MAX; j++)
                if (k < MSET_MAX) key[k++] = v;
                else k = MSET_MAX + 1;
        if (k > MSET_MAX) {
            fail(r, DW_ERR_INVALID, "residual route: a product of more than 48 moments (a smaller depth or degree)");
            break;
        }
        const fmpq_mpoly_struct *R = Rget(r, key, k);
        if (!R) {
            fail(r, DW_ERR_NOMEM, NULL);
            break;
        }
        fmpq_mpoly_gen(t, 0, r->ctx);
        fmpq_mpoly_pow_ui(t, t, (ulong)r->ex[0], r->ctx);
        fmpq_mpoly_mul(t, t, R, r->ctx);
        fmpq_mpoly_scalar_mul_fmpq(t, t, c, r->ctx);
        fmpq_mpoly_add(Q, Q, t, r->ctx);
    }
    fmpq_mpoly_swap(P, Q, r->ctx);
    fmpq_clear(c);
    fmpq_mpoly_clear(Q, r->ctx);
    fmpq_mpoly_clear(t, r->ctx);
    step_clear(r);
}

dw_status dw_wick_expand_residual(dw_wick_expansion *e)
{
    const int K = e->K, L = e->L;
    const double w = K <= 1 ? 2 : 2 * pow(K, L);
    if (K >= 2 && L > RES_MAX_DEPTH)
        return dw_fail(DW_ERR_INVALID, "expand: the residual conditional route takes depth <= %d for a nonlinear phi "
                       "(depth %d given; depth 4 quadratic takes more than 6 minutes)", RES_MAX_DEPTH, L);
    if (w > RES_MAX_WEIGHT)
        return dw_fail(DW_ERR_INVALID, "expand: the residual conditional route needs the moments m_ab up to a + b = "
                       "2 K^L = %.0f, above its limit %d (a smaller depth or degree, or the trees route)", w,
                       RES_MAX_WEIGHT);
    res r;
    memset(&r, 0, sizeof r);
    r.e = e;
    r.W = (int)w;
    const int W1 = r.W + 1;
    r.ta = malloc((size_t)W1 * W1 * sizeof(int));
    r.tb = malloc((size_t)W1 * W1 * sizeof(int));
    r.tix = malloc((size_t)W1 * W1 * sizeof(int));
    r.mu = calloc((size_t)W1 * W1, sizeof *r.mu);
    r.Spow = calloc((size_t)(r.W / 2 + 1) * (r.W / 2 + 1) * (r.W / 2 + 1), sizeof *r.Spow);
    r.ex = malloc((size_t)W1 * W1 * sizeof(slong));
    if (!r.ta || !r.tb || !r.tix || !r.mu || !r.Spow || !r.ex) {
        free(r.ta);
        free(r.tb);
        free(r.tix);
        free(r.mu);
        free(r.Spow);
        free(r.ex);
        return dw_fail(DW_ERR_NOMEM, "out of memory");
    }
    for (int a = 0; a <= r.W; a++)
        for (int b = 0; a + b <= r.W; b++)
            if (a + b) {
                r.ta[r.T] = a;
                r.tb[r.T] = b;
                r.tix[a * W1 + b] = r.T++;
            }
    fmpq_mpoly_ctx_init(r.ctx, 1 + r.T, ORD_LEX);
    fmpq_mpoly_ctx_init(r.c5, 5, ORD_LEX);
    r.kap.ctx = r.c5;
    r.phi.ctx = r.R.ctx = r.ctx;
    fmpq_init(r.g);
    fmpq_init(r.a2);
    for (int i = 0; i < 3; i++) fmpq_mpoly_init(r.S + i, r.ctx);
    fmpq_mpoly_t P;
    fmpq_mpoly_init(P, r.ctx);
    gram(&r, P, 1); /* the readout: E[f(x) f(y) | h^L] = sw G_xy + sb */
    for (int l = L; l >= 1 && !r.st; l--) {
        if (l >= 2) { /* the block: gamma_l h^{l-1} + alpha_l N(0, sw G^{l-1} + sb) */
            fmpq_set(r.g, e->gam + l);
            fmpq_set(r.a2, e->al2 + l);
            for (int i = 0; i < 3; i++) gram(&r, r.S + i, i);
        } else { /* the input layer: N(0, sw <x,y>/d + sb) */
            fmpq_zero(r.g);
            fmpq_one(r.a2);
            for (int i = 0; i < 3; i++) {
                fmpq_t v;
                fmpq_init(v);
                fmpq_mul(v, e->sw, e->q[i]);
                fmpq_add(v, v, e->sb);
                fmpq_mpoly_set_fmpq(r.S + i, v, r.ctx);
                fmpq_clear(v);
            }
        }
        step(&r, P);
    }
    fmpq_t c;
    fmpq_init(c);
    for (slong i = 0; i < fmpq_mpoly_length(P, r.ctx) && !r.st; i++) {
        fmpq_mpoly_get_term_exp_si(r.ex, P, i, r.ctx);
        fmpq_mpoly_get_term_coeff_fmpq(c, P, i, r.ctx);
        r.st = dw_wick_expand_add(e, (int)r.ex[0], c);
    }
    fmpq_clear(c);
    dw_status st = r.st;
    step_clear(&r);
    fmpq_mpoly_clear(P, r.ctx);
    for (int i = 0; i < 3; i++) fmpq_mpoly_clear(r.S + i, r.ctx);
    fmpq_clear(r.g);
    fmpq_clear(r.a2);
    fmpq_mpoly_ctx_clear(r.ctx);
    fmpq_mpoly_ctx_clear(r.c5);
    free(r.ta);
    free(r.tb);
    free(r.tix);
    free(r.mu);
    free(r.Spow);
    free(r.ex);
    return st;
}
