/* Route 3: closed recursions for one-trace words of one letter (MATH.md 4.2).
 * GUE, Harer-Zagier: E tr X^{2n} = sum_g e_g(n) N^{1-2g} (E|X_ij|^2 = 1/N), with e_0(n) = Catalan(n) and
 *   (n+1) e_g(n) = 2(2n-1) e_g(n-1) + (n-1)(2n-1)(2n-3) e_{g-1}(n-2).
 * Complex Ginibre, Haagerup-Thorbjornsen (square case m = n = N, unit-variance entries):
 *   D_k = E tr (G G^*)^k,  D_0 = N, D_1 = N^2,  (k+2) D_{k+1} = 2(2k+1) N D_k + (k-1) k^2 D_{k-1},
 * a polynomial in N with powers N^{k+1-2g}; with variance 1/N divide by N^k. Both gluings are orientable:
 * chi = 2 - 2g. */
#include "wick/wick.h"

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
    return 0;
}

dw_status dw_wick_route_recursion(struct dw_wick_result *res)
{
    const dw_wick_word *w = &res->word;
    if (!dw_wick_recursion_applies(w))
        return dw_fail(DW_ERR_INVALID,
                       "route recursion: applies to one trace of one GUE letter, tr(A^2k), or of one complex "
                       "Ginibre letter alternating with its adjoint, tr((G G^*)^k); use pairings or partitions");
    res->route = "recursion";
    res->has_genus = 1;
    fmpz_zero(res->terms);
    const int n = w->n;
    const long shift = res->normalized ? -1 : 0;
    if (n % 2) return DW_OK;
    const int k = n / 2;
    fmpz *coef = malloc((size_t)(k / 2 + 1) * sizeof(fmpz)); /* coefficient of genus g */
    if (!coef) return dw_fail(DW_ERR_NOMEM, "out of memory");
    for (int g = 0; g <= k / 2; g++) fmpz_init(coef + g);
    dw_status st = DW_OK;
    if (w->laws[0].ens == DW_ENS_GUE) {
        fmpz **tab = calloc((size_t)k + 1, sizeof *tab);
        if (!tab) st = dw_fail(DW_ERR_NOMEM, "out of memory");
        else if (!(st = dw_wick_harer_zagier(tab, k))) {
            for (int g = 0; g <= k / 2; g++) fmpz_set(coef + g, tab[k] + g);
            for (int j = 0; j <= k; j++) {
                for (int g = 0; g <= j / 2; g++) fmpz_clear(tab[j] + g);
                free(tab[j]);
            }
        }
        free(tab);
    } else {
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
    }
    if (!st) {
        res->genus = calloc((size_t)(k / 2 + 1), sizeof *res->genus);
        if (!res->genus) st = dw_fail(DW_ERR_NOMEM, "out of memory");
    }
    fmpq_t c;
    fmpq_init(c);
    for (int g = 0; g <= k / 2 && !st; g++) {
        if (fmpz_is_zero(coef + g)) continue;
        dw_wick_genus *G = res->genus + res->n_genus++;
        fmpz_init(G->orientable);
        fmpz_init(G->nonorientable);
        fmpz_set(G->orientable, coef + g);
        G->chi = 2 - 2 * g;
        G->power = 1 - 2 * g + shift;
        fmpz_add(res->terms, res->terms, coef + g);
        fmpz_set(fmpq_numref(c), coef + g);
        fmpz_one(fmpq_denref(c));
        st = dw_laurent_add_term(&res->value, G->power, c);
    }
    fmpq_clear(c);
    for (int g = 0; g <= k / 2; g++) fmpz_clear(coef + g);
    free(coef);
    return st;
}
