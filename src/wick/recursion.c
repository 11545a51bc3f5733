/* Route 3: closed recursions for one-trace words of one letter (theory.md 4.2).
 * GUE, Harer-Zagier: E tr X^{2n} = sum_g e_g(n) N^{1-2g} (E|X_ij|^2 = 1/N), with e_0(n) = Catalan(n) and
 *   (n+1) e_g(n) = 2(2n-1) e_g(n-1) + (n-1)(2n-1)(2n-3) e_{g-1}(n-2).
 * Complex Ginibre, Haagerup-Thorbjornsen (square case m = n = N, unit-variance entries):
 *   D_k = E tr (G G^*)^k,  D_0 = N, D_1 = N^2,  (k+2) D_{k+1} = 2(2k+1) N D_k + (k-1) k^2 D_{k-1},
 * a polynomial in N with powers N^{k+1-2g}; with variance 1/N divide by N^k. Both gluings are orientable:
 * chi = 2 - 2g.
 * GOE, Ledoux (Ann. IHP 2009, Theorem 1): b_p = E tr X^{2p} with unit off-diagonal variance (diagonal 2),
 *   b_0 = N, b_1 = N^2 + N and for p >= 2
 *   (p+1) b_p = (4p-1)(2N-1) b_{p-1} + (2p-3)(10p^2 - 9p - 8N^2 + 8N) b_{p-2}
 *               - 5(2p-3)(2p-4)(2p-5)(2N-1) b_{p-3} - 2(2p-3)(2p-4)(2p-5)(2p-6)(2p-7) b_{p-4}.
 * Real Ginibre (square Laguerre orthogonal ensemble), R_k = E tr (A A^T)^k with unit variance: R_0 = N, R_1 = N^2,
 *   R_2 = 2N^3 + N^2, R_3 = 5N^4 + 6N^3 + 4N^2 and for k >= 4 the five-term recurrence of the same shape
 *   (k+1) R_k = (4k-1)(2N-1) R_{k-1} - [8(2k-3)N(N-1) - (5k^3 - 16k^2 + 13k - 1)] R_{k-2}
 *               - (10k^3 - 68k^2 + 150k - 107)(2N-1) R_{k-3} - (k-4)(k-2)^2(2k-7)^2 R_{k-4},
 *   found by solving for the polynomial coefficients from exact moments of the loop equations (Deitmar 2024,
 *   Theorem 3.2: Wick's theorem on the first letter) and verified exactly against them for k <= DW_WICK_LOE_MAX
 *   (docs/wick.md); longer words are refused. The value of a gluing with Euler characteristic chi is N^{chi-1}
 *   and, for one face, a gluing is orientable exactly when it is a GUE (complex Ginibre) gluing, so the
 *   orientable counts are the Harer-Zagier (Haagerup-Thorbjornsen) numbers and the rest is non-orientable. */
#include "wick/wick.h"

#include <flint/fmpz_poly.h>
#include <stdlib.h>

dw_status dw_wick_harer_zagier(fmpz **table, int nmax)
{
    for (int n = 0; n <= nmax; n++) {
        table[n] = malloc((size_t)(n / 2 + 1) * sizeof(fmpz));
        if (!table[n]) {
            for (int k = 0; k < n; k++) {
                for (int g = 0; g <= k / 2; g++) fmpz_clear(table[k] + g);
                free(table[k]);
                table[k] = NULL;
            }
            return dw_fail(DW_ERR_NOMEM, "out of memory (Harer-Zagier table to n = %d)", nmax);
        }
        for (int g = 0; g <= n / 2; g++) fmpz_init(table[n] + g);
    }
    fmpz_t a;
    fmpz_init(a);
    fmpz_one(table[0] + 0);
    for (int n = 1; n <= nmax; n++)
        for (int g = 0; g <= n / 2; g++) {
            fmpz *e = table[n] + g;
            if (g <= (n - 1) / 2) fmpz_mul_ui(e, table[n - 1] + g, (ulong)(2 * (2 * n - 1)));
            if (g >= 1 && n >= 2 && g - 1 <= (n - 2) / 2) {
                fmpz_mul_ui(a, table[n - 2] + g - 1, (ulong)(n - 1));
                fmpz_mul_ui(a, a, (ulong)(2 * n - 1));
                fmpz_mul_ui(a, a, (ulong)(2 * n - 3));
                fmpz_add(e, e, a);
            }
            fmpz_divexact_ui(e, e, (ulong)(n + 1));
        }
    fmpz_clear(a);
    return DW_OK;
}

/* One GOE letter in one trace (any transposes: the matrix is symmetric). */
static int goe_applies(const dw_wick_word *w) { return w->laws[0].ens == DW_ENS_GOE; }

/* One real Ginibre letter alternating with its transpose: tr((A A^T)^k) or tr((A^T A)^k). */
static int ginibre_applies(const dw_wick_word *w)
{
    if (w->laws[0].ens != DW_ENS_GINIBRE || w->n % 2) return 0;
    for (int i = 0; i < w->n; i++)
        if (w->let[i].tflip != ((i & 1) ^ w->let[0].tflip)) return 0;
    return 1;
}

int dw_wick_recursion_applies(const dw_wick_word *w)
{
    if (w->n_traces != 1 || w->n_mats != 1) return 0;
    dw_wick_ens e = w->laws[0].ens;
    if (e == DW_ENS_GUE) {
        for (int i = 1; i < w->n; i++)
            if (w->let[i].tflip != w->let[0].tflip) return 0;
        return 1;
    }
    if (e == DW_ENS_CGINIBRE) {
        if (w->n % 2) return 0;
        /* G and G^* alternate: entries G_{s, s+1} conj(G_{s+2, s+1}) ... i.e. conj alternates and tflip = conj */
        for (int i = 0; i < w->n; i++) {
            const dw_wick_letter *L = w->let + i;
            if (L->conj != ((i & 1) ^ w->let[0].conj)) return 0;
            if (L->tflip != L->conj) return 0;
        }
        return 1;
    }
    if (goe_applies(w)) return 1;
    if (ginibre_applies(w)) return w->n / 2 <= DW_WICK_LOE_MAX;
    return 0;
}

/* coef[g], g = 0..k/2: Harer-Zagier e_g(k) (gue != 0) or Haagerup-Thorbjornsen (complex Ginibre, k = D index). */
static dw_status orientable_counts(fmpz *coef, int k, int gue)
{
    dw_status st = DW_OK;
    if (gue) {
        fmpz **tab = calloc((size_t)k + 1, sizeof *tab);
        if (!tab) return dw_fail(DW_ERR_NOMEM, "out of memory");
        if (!(st = dw_wick_harer_zagier(tab, k))) {
            for (int g = 0; g <= k / 2; g++) fmpz_set(coef + g, tab[k] + g);
            for (int j = 0; j <= k; j++) {
                for (int g = 0; g <= j / 2; g++) fmpz_clear(tab[j] + g);
                free(tab[j]);
            }
        }
        free(tab);
        return st;
    }
    /* D_j as coefficient arrays over genus: D_j = sum_g d_j[g] N^{j+1-2g} */
    fmpz *prev = calloc((size_t)(k / 2 + 2), sizeof(fmpz)), *cur = calloc((size_t)(k / 2 + 2), sizeof(fmpz)),
         *next = calloc((size_t)(k / 2 + 2), sizeof(fmpz));
    if (!prev || !cur || !next) st = dw_fail(DW_ERR_NOMEM, "out of memory");
    else {
        fmpz_one(prev + 0); /* D_0 = N */
        fmpz_one(cur + 0);  /* D_1 = N^2 */
        for (int j = 1; j < k; j++) {
            /* (j+2) D_{j+1} = 2(2j+1) N D_j + (j-1) j^2 D_{j-1}; powers: N D_j has N^{j+2-2g},
             * D_{j-1} has N^{j-2g} = N^{(j+2) - 2(g+1)} */
            for (int g = 0; g <= (j + 1) / 2; g++) {
                fmpz_mul_ui(next + g, cur + g, (ulong)(2 * (2 * j + 1)));
                if (g >= 1) fmpz_addmul_ui(next + g, prev + g - 1, (ulong)(j - 1) * (ulong)j * (ulong)j);
                fmpz_divexact_ui(next + g, next + g, (ulong)(j + 2));
            }
            fmpz *t = prev;
            prev = cur;
            cur = next;
            next = t;
        }
        for (int g = 0; g <= k / 2; g++) fmpz_set(coef + g, cur + g);
    }
    for (int g = 0; g < k / 2 + 2; g++) {
        if (prev) fmpz_clear(prev + g);
        if (cur) fmpz_clear(cur + g);
        if (next) fmpz_clear(next + g);
    }
    free(prev);
    free(cur);
    free(next);
    return st;
}

/* out += c * (a0 + a1 N + a2 N^2) * p, with small polynomial coefficients given as fmpz */
static void addmul_quad(fmpz_poly_t out, const fmpz_poly_t p, const fmpz_t a0, const fmpz_t a1, const fmpz_t a2,
                        fmpz_poly_t tmp)
{
    if (!fmpz_is_zero(a0)) {
        fmpz_poly_scalar_mul_fmpz(tmp, p, a0);
        fmpz_poly_add(out, out, tmp);
    }
    if (!fmpz_is_zero(a1)) {
        fmpz_poly_scalar_mul_fmpz(tmp, p, a1);
        fmpz_poly_shift_left(tmp, tmp, 1);
        fmpz_poly_add(out, out, tmp);
    }
    if (!fmpz_is_zero(a2)) {
        fmpz_poly_scalar_mul_fmpz(tmp, p, a2);
        fmpz_poly_shift_left(tmp, tmp, 2);
        fmpz_poly_add(out, out, tmp);
    }
}

/* The unit-variance moment polynomial in N: GOE b_k (goe != 0) or real Ginibre R_k, by the five-term recurrences
 * above. out has degree k + 1. */
static dw_status real_moment_poly(fmpz_poly_t out, int k, int goe)
{
    fmpz_poly_t b[5], tmp; /* b[j % 5] = b_j */
    for (int j = 0; j < 5; j++) fmpz_poly_init(b[j]);
    fmpz_poly_init(tmp);
    fmpz_t a0, a1, a2, c;
    fmpz_init(a0);
    fmpz_init(a1);
    fmpz_init(a2);
    fmpz_init(c);
    dw_status st = DW_OK;
    /* seeds */
    fmpz_poly_set_coeff_ui(b[0], 1, 1); /* N */
    if (goe) {
        fmpz_poly_set_coeff_ui(b[1], 1, 1);
        fmpz_poly_set_coeff_ui(b[1], 2, 1); /* N^2 + N */
    } else {
        fmpz_poly_set_coeff_ui(b[1], 2, 1); /* N^2 */
        fmpz_poly_set_coeff_ui(b[2], 2, 1);
        fmpz_poly_set_coeff_ui(b[2], 3, 2); /* 2N^3 + N^2 */
        fmpz_poly_set_coeff_ui(b[3], 2, 4);
        fmpz_poly_set_coeff_ui(b[3], 3, 6);
        fmpz_poly_set_coeff_ui(b[3], 4, 5); /* 5N^4 + 6N^3 + 4N^2 */
    }
    const int first = goe ? 2 : 4;
    for (long p = first; p <= k && !st; p++) {
        fmpz_poly_struct *o = b[p % 5], *p1 = b[(p - 1) % 5], *p2 = b[(p - 2) % 5], *p3 = p >= 3 ? b[(p - 3) % 5] : NULL,
                         *p4 = p >= 4 ? b[(p - 4) % 5] : NULL;
        fmpz_poly_zero(o);
        /* (4p-1)(2N-1) */
        fmpz_set_si(a0, -(4 * p - 1));
        fmpz_set_si(a1, 2 * (4 * p - 1));
        fmpz_zero(a2);
        addmul_quad(o, p1, a0, a1, a2, tmp);
        if (goe) {
            /* (2p-3)(10p^2 - 9p) + (2p-3) 8 N - (2p-3) 8 N^2 */
            fmpz_set_si(a0, (2 * p - 3) * (10 * p * p - 9 * p));
            fmpz_set_si(a1, 8 * (2 * p - 3));
            fmpz_set_si(a2, -8 * (2 * p - 3));
            addmul_quad(o, p2, a0, a1, a2, tmp);
            if (p3) { /* -5(2p-3)(2p-4)(2p-5)(2N-1) */
                fmpz_set_si(c, 5 * (2 * p - 3));
                fmpz_mul_si(c, c, (2 * p - 4) * (2 * p - 5));
                fmpz_set(a0, c);
                fmpz_mul_si(a1, c, -2);
                fmpz_zero(a2);
                addmul_quad(o, p3, a0, a1, a2, tmp);
            }
            if (p4) { /* -2(2p-3)(2p-4)(2p-5)(2p-6)(2p-7) */
                fmpz_set_si(c, -2 * (2 * p - 3));
                fmpz_mul_si(c, c, (2 * p - 4) * (2 * p - 5));
                fmpz_mul_si(c, c, (2 * p - 6) * (2 * p - 7));
                fmpz_poly_scalar_addmul_fmpz(o, p4, c);
            }
        } else {
            /* -[8(2p-3)N(N-1) - (5p^3 - 16p^2 + 13p - 1)] */
            fmpz_set_si(a0, 5 * p * p * p - 16 * p * p + 13 * p - 1);
            fmpz_set_si(a1, 8 * (2 * p - 3));
            fmpz_set_si(a2, -8 * (2 * p - 3));
            addmul_quad(o, p2, a0, a1, a2, tmp);
            /* -(10p^3 - 68p^2 + 150p - 107)(2N-1) */
            fmpz_set_si(c, 10 * p * p * p - 68 * p * p + 150 * p - 107);
            fmpz_set(a0, c);
            fmpz_mul_si(a1, c, -2);
            fmpz_zero(a2);
            addmul_quad(o, p3, a0, a1, a2, tmp);
            /* -(p-4)(p-2)^2(2p-7)^2 */
            fmpz_set_si(c, -(p - 4) * (p - 2) * (p - 2));
            fmpz_mul_si(c, c, (2 * p - 7) * (2 * p - 7));
            fmpz_poly_scalar_addmul_fmpz(o, p4, c);
        }
        /* divide by p + 1: exact for the true moments; a remainder would mean a wrong recurrence */
        for (slong i = 0; i < fmpz_poly_length(o); i++)
            if (fmpz_fdiv_ui(o->coeffs + i, (ulong)(p + 1)))
                st = dw_fail(DW_ERR_INTERNAL, "recursion: %s moment %ld is not integral (please report)",
                             goe ? "GOE" : "real Ginibre", p);
        fmpz_poly_scalar_divexact_ui(o, o, (ulong)(p + 1));
    }
    if (!st) fmpz_poly_set(out, b[k % 5]);
    for (int j = 0; j < 5; j++) fmpz_poly_clear(b[j]);
    fmpz_poly_clear(tmp);
    fmpz_clear(a0);
    fmpz_clear(a1);
    fmpz_clear(a2);
    fmpz_clear(c);
    return st;
}

dw_status dw_wick_route_recursion(struct dw_wick_result *res)
{
    const dw_wick_word *w = &res->word;
    if (!dw_wick_recursion_applies(w)) {
        if (w->n_traces == 1 && w->n_mats == 1 && ginibre_applies(w))
            return dw_fail(DW_ERR_INVALID,
                           "route recursion: the real Ginibre recurrence is verified for tr((A A^T)^k) with k <= %d "
                           "only (got k = %d); use pairings or partitions",
                           DW_WICK_LOE_MAX, w->n / 2);
        return dw_fail(DW_ERR_INVALID,
                       "route recursion: applies to one trace of one GUE or GOE letter, tr(A^n), or of one real "
                       "(complex) Ginibre letter alternating with its transpose (adjoint), tr((A A^T)^k); use "
                       "pairings or partitions");
    }
    res->route = "recursion";
    res->has_genus = 1;
    fmpz_zero(res->terms);
    const int n = w->n;
    const long shift = res->normalized ? -1 : 0;
    if (n % 2) return DW_OK;
    const int k = n / 2;
    const dw_wick_ens ens = w->laws[0].ens;
    const int real = ens == DW_ENS_GOE || ens == DW_ENS_GINIBRE;
    fmpz *coef = malloc((size_t)(k / 2 + 1) * sizeof(fmpz)); /* orientable count of genus g */
    if (!coef) return dw_fail(DW_ERR_NOMEM, "out of memory");
    for (int g = 0; g <= k / 2; g++) fmpz_init(coef + g);
    dw_status st = orientable_counts(coef, k, ens == DW_ENS_GUE || ens == DW_ENS_GOE);
    fmpz_poly_t tot; /* real ensembles: all gluings, coefficient of N^m in the unit-variance moment */
    fmpz_poly_init(tot);
    if (!st && real) st = real_moment_poly(tot, k, ens == DW_ENS_GOE);
    /* gluings with power N^e, e = chi - 1 in 1, 0, ..., -k */
    const int n_chi = real ? k + 2 : k / 2 + 1;
    if (!st) {
        res->genus = calloc((size_t)n_chi, sizeof *res->genus);
        if (!res->genus) st = dw_fail(DW_ERR_NOMEM, "out of memory");
    }
    fmpq_t c;
    fmpq_init(c);
    fmpz_t all;
    fmpz_init(all);
    for (int i = 0; i < n_chi && !st; i++) {
        const long e = real ? 1 - i : 1 - 2 * i; /* exponent of N with variance 1/N */
        if (real) fmpz_poly_get_coeff_fmpz(all, tot, e + k);
        else fmpz_set(all, coef + i);
        if (fmpz_is_zero(all)) continue;
        dw_wick_genus *G = res->genus + res->n_genus++;
        fmpz_init(G->orientable);
        fmpz_init(G->nonorientable);
        if ((e - 1) % 2 == 0 && (1 - e) / 2 <= k / 2) fmpz_set(G->orientable, coef + (1 - e) / 2);
        fmpz_sub(G->nonorientable, all, G->orientable);
        G->chi = e + 1;
        G->power = e + shift;
        fmpz_add(res->terms, res->terms, all);
        fmpz_set(fmpq_numref(c), all);
        fmpz_one(fmpq_denref(c));
        st = dw_laurent_add_term(&res->value, G->power, c);
    }
    fmpz_clear(all);
    fmpq_clear(c);
    fmpz_poly_clear(tot);
    for (int g = 0; g <= k / 2; g++) fmpz_clear(coef + g);
    free(coef);
    return st;
}
