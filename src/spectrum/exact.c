/* Per-layer data of the Jacobian spectrum in exact rationals (theory.md 3): q_l and mu_j = E[phi'(sqrt(q) Z)^(2j)]
 * for the piecewise-linear activations and polynomials, whose moments are rational in q (the floating-point
 * counterpart is layers.c). */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rational.h"

#include <flint/fmpz.h>

/* ---- exact rationals --------------------------------------------------------------------------------------- */

static const fmpz two[1] = {2};


int dw_spec_rational_act(const dw_act *act)
{
    return act->fam == DW_FAM_RELU || act->fam == DW_FAM_STEP || act->fam == DW_FAM_IDENTITY ||
           act->fam == DW_FAM_POLY;
}

/* E[(sqrt(q) Z)^n] exactly: q^(n/2) (n-1)!! for even n, 0 for odd n. */
static void gauss_moment(fmpq_t r, const fmpq_t q, ulong n)
{
    if (n % 2) {
        fmpq_zero(r);
        return;
    }
    fmpz_t df;
    fmpz_init(df);
    fmpz_one(df);
    for (ulong i = n - 1; i >= 1 && i < n; i -= 2) fmpz_mul_ui(df, df, i);
    fmpq_pow_si(r, q, (slong)(n / 2));
    fmpq_mul_fmpz(r, r, df);
    fmpz_clear(df);
}

/* E[p(sqrt(q) Z)] for a rational polynomial p. */
static void poly_gauss_mean(fmpq_t r, const fmpq_poly_t p, const fmpq_t q)
{
    fmpq_t c, g;
    fmpq_init(c);
    fmpq_init(g);
    fmpq_zero(r);
    for (slong n = 0; n < fmpq_poly_length(p); n += 2) {
        fmpq_poly_get_coeff_fmpq(c, p, n);
        if (fmpq_is_zero(c)) continue;
        gauss_moment(g, q, (ulong)n);
        fmpq_addmul(r, c, g);
    }
    fmpq_clear(c);
    fmpq_clear(g);
}

/* Exact V(q) and mu_j(q), j = 1..K, of a rational activation. */
static void exact_V(const dw_act *act, const fmpq_t q, fmpq_t V)
{
    fmpq_t a;
    fmpq_init(a);
    switch (act->fam) {
    case DW_FAM_RELU: /* (1 + alpha^2) q / 2 */
        dw_rational_set_shortest(a, act->alpha);
        fmpq_mul(a, a, a);
        fmpq_add_si(a, a, 1);
        fmpq_mul(V, a, q);
        fmpq_div_fmpz(V, V, two);
        break;
    case DW_FAM_STEP:
        fmpq_set_si(V, 1, 2);
        break;
    case DW_FAM_IDENTITY:
        fmpq_set(V, q);
        break;
    default: { /* poly: E[phi^2] */
        fmpq_poly_t p;
        fmpq_poly_init(p);
        for (int i = 0; i <= act->deg; i++) {
            dw_rational_set_shortest(a, act->coef[i]);
            fmpq_poly_set_coeff_fmpq(p, i, a);
        }
        fmpq_poly_mul(p, p, p);
        poly_gauss_mean(V, p, q);
        fmpq_poly_clear(p);
    }
    }
    fmpq_clear(a);
}

static void exact_mu(const dw_act *act, const fmpq_t q, int K, fmpq *mu)
{
    fmpq_t a;
    fmpq_init(a);
    switch (act->fam) {
    case DW_FAM_RELU: /* (1 + alpha^(2j)) / 2 */
        dw_rational_set_shortest(a, act->alpha);
        fmpq_mul(a, a, a);
        for (int j = 1; j <= K; j++) {
            fmpq_pow_si(mu + j - 1, a, j);
            fmpq_add_si(mu + j - 1, mu + j - 1, 1);
            fmpq_div_fmpz(mu + j - 1, mu + j - 1, two);
        }
        break;
    case DW_FAM_STEP:
        for (int j = 1; j <= K; j++) fmpq_zero(mu + j - 1);
        break;
    case DW_FAM_IDENTITY:
        for (int j = 1; j <= K; j++) fmpq_one(mu + j - 1);
        break;
    default: { /* poly: phi'^2 = p, mu_j = E[p^j] */
        fmpq_poly_t d, p, pj;
        fmpq_poly_init(d);
        fmpq_poly_init(p);
        fmpq_poly_init(pj);
        for (int i = 1; i <= act->deg; i++) {
            dw_rational_set_shortest(a, act->coef[i]);
            fmpq_mul_si(a, a, i);
            fmpq_poly_set_coeff_fmpq(d, i - 1, a);
        }
        fmpq_poly_mul(p, d, d);
        fmpq_poly_one(pj);
        for (int j = 1; j <= K; j++) {
            fmpq_poly_mul(pj, pj, p);
            poly_gauss_mean(mu + j - 1, pj, q);
        }
        fmpq_poly_clear(d);
        fmpq_poly_clear(p);
        fmpq_poly_clear(pj);
    }
    }
    fmpq_clear(a);
}

dw_status dw_spec_exact_layers(const dw_spectrum *s, int K, fmpq *q, fmpq *mu)
{
    const dw_act *act = s->act;
    if (!dw_spec_rational_act(act))
        return dw_fail(DW_ERR_INVALID,
                       "exact: the moments of %s are not rational (exact results need identity, relu, leaky_relu, "
                       "abs, step or poly)",
                       act->name);
    const int qdep = act->fam == DW_FAM_POLY && act->deg >= 2; /* mu depends on q */
    fmpq_t sw, sb, V;
    fmpq_init(sw);
    fmpq_init(sb);
    fmpq_init(V);
    dw_status st = DW_OK;
    if (s->fixed_point) {
        /* q* is rational when V is linear in q: V = v0 + v1 q */
        if (qdep) {
            st = dw_fail(DW_ERR_INVALID, "exact: the fixed point q* of %s is a root of a polynomial of degree %d, "
                         "not a rational number (drop --fixed-point or --exact)", act->name, 2 * act->deg);
            goto done;
        }
        fmpq_t v0, v1, t;
        fmpq_init(v0);
        fmpq_init(v1);
        fmpq_init(t);
        fmpq_zero(t);
        exact_V(act, t, v0);
        fmpq_one(t);
        exact_V(act, t, v1);
        fmpq_sub(v1, v1, v0);
        dw_rational_set_shortest(sw, s->sw2[0]);
        dw_rational_set_shortest(sb, s->sb2[0]);
        /* q = sw (v0 + v1 q) + sb  ->  q (1 - sw v1) = sw v0 + sb */
        fmpq_mul(t, sw, v1);
        fmpq_sub_si(t, t, 1);
        fmpq_neg(t, t);
        if (fmpq_is_zero(t)) {
            dw_rational_set_shortest(q, s->q[0]); /* every q is a fixed point (the double one is exact here) */
        } else {
            fmpq_mul(v0, sw, v0);
            fmpq_add(v0, v0, sb);
            fmpq_div(q, v0, t);
        }
        for (int l = 1; l < s->L; l++) fmpq_set(q + l, q);
        fmpq_clear(v0);
        fmpq_clear(v1);
        fmpq_clear(t);
    } else {
        fmpq_t prev;
        fmpq_init(prev);
        dw_rational_set_shortest(prev, s->q0);
        for (int l = 0; l < s->L; l++) {
            dw_rational_set_shortest(sw, s->sw2[l]);
            dw_rational_set_shortest(sb, s->sb2[l]);
            if (l == 0)
                fmpq_set(V, prev);
            else
                exact_V(act, prev, V);
            fmpq_mul(q + l, sw, V);
            fmpq_add(q + l, q + l, sb);
            fmpq_set(prev, q + l);
        }
        fmpq_clear(prev);
    }
    for (int l = 0; l < s->L; l++) {
        if (l > 0 && (!qdep || fmpq_equal(q + l, q + l - 1))) {
            for (int j = 0; j < K; j++) fmpq_set(mu + (size_t)l * K + j, mu + (size_t)(l - 1) * K + j);
        } else {
            exact_mu(act, q + l, K, mu + (size_t)l * K);
        }
    }
done:
    fmpq_clear(sw);
    fmpq_clear(sb);
    fmpq_clear(V);
    return st;
}
