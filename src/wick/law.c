/* Laws of the random matrices (theory.md 4.1): the ensemble specs ("gue", "sparse:0.1", "moments:3,15"), their
 * checks (the moments of a law must form a positive semidefinite Hankel matrix) and their exact entry moments. */
#include "core/rational.h"
#include "wick/wick.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* laws                                                                                                       */

void dw_wick_law_clear(dw_wick_law *law)
{
    if (law->mom) {
        for (int k = 0; k < law->n_mom; k++) fmpq_clear(law->mom + k);
        free(law->mom);
    }
    fmpq_clear(law->p);
    memset(law, 0, sizeof *law);
}

/* PSD test of a symmetric rational matrix by symmetric elimination: a zero pivot needs a zero row. */
static int hankel_psd(const fmpq *mu, int size)
{
    fmpq *a = malloc((size_t)size * (size_t)size * sizeof(fmpq));
    if (!a) return 1; /* cannot check: accept */
    for (int i = 0; i < size; i++)
        for (int j = 0; j < size; j++) {
            fmpq_init(a + i * size + j);
            fmpq_set(a + i * size + j, mu + i + j);
        }
    int ok = 1;
    fmpq_t f, t;
    fmpq_init(f);
    fmpq_init(t);
    for (int k = 0; k < size && ok; k++) {
        const fmpq *piv = a + k * size + k;
        if (fmpq_sgn(piv) < 0) ok = 0;
        else if (fmpq_is_zero(piv)) {
            for (int j = k + 1; j < size; j++)
                if (!fmpq_is_zero(a + k * size + j)) ok = 0;
        } else {
            for (int i = k + 1; i < size; i++) {
                fmpq_div(f, a + i * size + k, piv);
                for (int j = k; j < size; j++) {
                    fmpq_mul(t, f, a + k * size + j);
                    fmpq_sub(a + i * size + j, a + i * size + j, t);
                }
            }
        }
    }
    fmpq_clear(f);
    fmpq_clear(t);
    for (int i = 0; i < size * size; i++) fmpq_clear(a + i);
    free(a);
    return ok;
}

dw_status dw_wick_law_parse(dw_wick_law *law, const char *spec)
{
    memset(law, 0, sizeof *law);
    fmpq_init(law->p);
    char shown[48];
    dw_io_excerpt(shown, sizeof shown, spec, strlen(spec));
    static const struct { const char *name; dw_wick_ens ens; const char *canon; } plain[] = {
        {"gue", DW_ENS_GUE, "gue"},
        {"goe", DW_ENS_GOE, "goe"},
        {"ginibre", DW_ENS_GINIBRE, "ginibre"},
        {"real-ginibre", DW_ENS_GINIBRE, "ginibre"},
        {"gaussian", DW_ENS_GINIBRE, "ginibre"},
        {"complex-ginibre", DW_ENS_CGINIBRE, "complex-ginibre"},
        {"cginibre", DW_ENS_CGINIBRE, "complex-ginibre"},
    };
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
        if (!strcmp(spec, plain[k].name)) {
            law->ens = plain[k].ens;
            snprintf(law->spec, sizeof law->spec, "%s", plain[k].canon);
            return DW_OK;
        }
    if (!strcmp(spec, "rademacher")) {
        law->ens = DW_ENS_IID;
        law->all_mom = 1;
        snprintf(law->spec, sizeof law->spec, "rademacher");
        return DW_OK;
    }
    if (!strncmp(spec, "sparse:", 7)) {
        law->ens = DW_ENS_IID;
        law->all_mom = 2;
        if (!dw_rational_parse(law->p, spec + 7, strlen(spec + 7)))
            return dw_fail(DW_ERR_INVALID, "ensemble '%s': sparse:P needs a number P in (0, 1]", shown);
        if (fmpq_sgn(law->p) <= 0 || fmpz_cmp(fmpq_numref(law->p), fmpq_denref(law->p)) > 0)
            return dw_fail(DW_ERR_INVALID, "ensemble '%s': the probability P must be in (0, 1]", shown);
        char *ps = fmpq_get_str(NULL, 10, law->p);
        snprintf(law->spec, sizeof law->spec, "sparse:%.50s", ps ? ps : "?");
        flint_free(ps);
        return DW_OK;
    }
    if (!strncmp(spec, "moments:", 8)) {
        law->ens = DW_ENS_IID;
        const char *p = spec + 8;
        int n = 1;
        for (const char *q = p; *q; q++) n += *q == ',';
        if (n > 64) return dw_fail(DW_ERR_INVALID, "ensemble '%s': at most 64 moments", shown);
        law->n_mom = n + 2;
        law->mom = dw_alloc((size_t)law->n_mom, sizeof(fmpq), "moments");
        if (!law->mom) {
            law->n_mom = 0;
            return DW_ERR_NOMEM;
        }
        for (int k = 0; k < law->n_mom; k++) fmpq_init(law->mom + k);
        fmpq_one(law->mom + 0);
        fmpq_one(law->mom + 1);
        for (int k = 0; k < n; k++) {
            size_t len = strcspn(p, ",");
            if (!dw_rational_parse(law->mom + k + 2, p, len))
                return dw_fail(DW_ERR_INVALID, "ensemble '%s': moment m%d ('%.*s') is not a number", shown,
                               2 * (k + 2), (int)(len > 20 ? 20 : len), p);
            p += len + (p[len] == ',');
        }
        fmpq_t one;
        fmpq_init(one);
        fmpq_one(one);
        int bad4 = fmpq_cmp(law->mom + 2, one) < 0;
        fmpq_clear(one);
        if (bad4)
            return dw_fail(DW_ERR_INVALID,
                           "ensemble '%s': m4 < 1 is not a valid law (E xi^4 >= (E xi^2)^2 = 1)", shown);
        /* Hamburger: the Hankel matrix [E xi^{i+j}] of a law is positive semi-definite */
        int K = law->n_mom - 1, size = K + 1;
        fmpq *mu = malloc((size_t)(2 * K + 1) * sizeof(fmpq));
        if (!mu) return dw_fail(DW_ERR_NOMEM, "out of memory checking the moments");
        for (int j = 0; j <= 2 * K; j++) {
            fmpq_init(mu + j);
            if (j % 2 == 0) fmpq_set(mu + j, law->mom + j / 2);
        }
        int ok = hankel_psd(mu, size);
        for (int j = 0; j <= 2 * K; j++) fmpq_clear(mu + j);
        free(mu);
        if (!ok)
            return dw_fail(DW_ERR_INVALID,
                           "ensemble '%s': the Hankel matrix of the moments (1, 0, 1, 0, m4, ...) is not positive "
                           "semi-definite: no law has these moments", shown);
        snprintf(law->spec, sizeof law->spec, "%.63s", spec);
        return DW_OK;
    }
    return dw_fail(DW_ERR_INVALID,
                   "unknown ensemble '%s' (expected gue, goe, ginibre, complex-ginibre, rademacher, sparse:P or "
                   "moments:m4,m6,...)", shown);
}

dw_status dw_wick_law_moment(fmpq_t out, const dw_wick_law *law, int k, const char *name)
{
    if (k % 2) {
        fmpq_zero(out);
        return DW_OK;
    }
    int m = k / 2;
    if (law->all_mom == 1 || m == 0) {
        fmpq_one(out);
        return DW_OK;
    }
    if (law->all_mom == 2) { /* (2m-1)!! p^{1-m} */
        fmpz_t df;
        fmpz_init(df);
        fmpz_one(df);
        for (int j = 2 * m - 1; j > 1; j -= 2) fmpz_mul_ui(df, df, (ulong)j);
        fmpq_t pp;
        fmpq_init(pp);
        fmpq_pow_si(pp, law->p, 1 - m);
        fmpz_set(fmpq_numref(out), df);
        fmpz_one(fmpq_denref(out));
        fmpq_mul(out, out, pp);
        fmpq_clear(pp);
        fmpz_clear(df);
        return DW_OK;
    }
    if (m < law->n_mom) {
        fmpq_set(out, law->mom + m);
        return DW_OK;
    }
    return dw_fail(DW_ERR_INVALID,
                   "letter '%s' needs the moment E xi^%d, but its law '%s' gives moments only up to E xi^%d", name, k,
                   law->spec, 2 * (law->n_mom - 1));
}
