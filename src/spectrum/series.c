/* Route 2 (theory.md 3): S-transforms as truncated power series.
 *
 * psi(z) = sum_k m_k z^k, chi = psi^{<-1>}, S(z) = chi(z) (1 + z) / z. For each distinct layer law
 * psi_D2(z) = sum_j mu_j z^j is reverted; S_{JJ^T} = prod_l S_{D_l^2} S_{WW^T} with S_{WW^T} = 1 / (sigma_w^2 (1+z))
 * (i.i.d.) or 1 / sigma_w^2 (Haar orthogonal); then chi_J = S_J z / (1 + z) is reverted back into psi_J.
 * Floating point in long double (Lagrange inversion, O(K^3)); exact in rationals with FLINT's fmpq_poly. */
#include "spectrum/spectrum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef long double ld;

static void ser_mul(const ld *a, const ld *b, ld *out, int n)
{
    ld tmp[DW_SPECTRUM_KMAX + 2];
    for (int k = 0; k < n; k++) {
        ld s = 0;
        for (int i = 0; i <= k; i++) s += a[i] * b[k - i];
        tmp[k] = s;
    }
    memcpy(out, tmp, sizeof(ld) * (size_t)n);
}

static void ser_inv(const ld *a, ld *out, int n) /* a[0] != 0 */
{
    ld tmp[DW_SPECTRUM_KMAX + 2];
    tmp[0] = 1 / a[0];
    for (int k = 1; k < n; k++) {
        ld s = 0;
        for (int i = 1; i <= k; i++) s += a[i] * tmp[k - i];
        tmp[k] = -s / a[0];
    }
    memcpy(out, tmp, sizeof(ld) * (size_t)n);
}

static void ser_pow(const ld *a, long e, ld *out, int n)
{
    ld base[DW_SPECTRUM_KMAX + 2], res[DW_SPECTRUM_KMAX + 2];
    memcpy(base, a, sizeof(ld) * (size_t)n);
    for (int k = 0; k < n; k++) res[k] = k == 0;
    while (e > 0) {
        if (e & 1) ser_mul(res, base, res, n);
        e >>= 1;
        if (e) ser_mul(base, base, base, n);
    }
    memcpy(out, res, sizeof(ld) * (size_t)n);
}

/* g = f^{<-1>} mod z^n, f[0] = 0, f[1] != 0: g_k = [z^{k-1}] (z/f)^k / k (Lagrange). */
static void ser_revert(const ld *f, ld *g, int n)
{
    ld h[DW_SPECTRUM_KMAX + 2], p[DW_SPECTRUM_KMAX + 2];
    ser_inv(f + 1, h, n - 1); /* z/f = 1/(f1 + f2 z + ...) */
    for (int k = 0; k < n - 1; k++) p[k] = k == 0;
    g[0] = 0;
    for (int k = 1; k < n; k++) {
        ser_mul(p, h, p, n - 1); /* p = h^k */
        g[k] = p[k - 1] / k;
    }
}

dw_status dw_spec_series_moments(const dw_spectrum *s, int K, double *m)
{
    if (K < 1 || K > s->kmax)
        return dw_fail(DW_ERR_INVALID, "moments: K = %d outside 1..%d (the kmax given when the spectrum was set up)",
                       K, s->kmax);
    for (int g = 0; g < s->ng; g++)
        if (s->gmu[(size_t)g * s->kmax] == 0) { /* D = 0 in some layer: J = 0 */
            for (int k = 0; k < K; k++) m[k] = 0;
            return DW_OK;
        }
    const int n = K + 1;
    ld P[DW_SPECTRUM_KMAX + 2], f[DW_SPECTRUM_KMAX + 2], c[DW_SPECTRUM_KMAX + 2], T[DW_SPECTRUM_KMAX + 2];
    for (int k = 0; k < n; k++) P[k] = k == 0;
    for (int g = 0; g < s->ng; g++) {
        f[0] = 0;
        for (int j = 1; j <= K; j++) f[j] = s->gmu[(size_t)g * s->kmax + j - 1];
        ser_revert(f, c, n);
        for (int k = 0; k < K; k++) T[k] = c[k + 1]; /* chi_D2 / z */
        ser_pow(T, s->mult[g], T, K);
        ser_mul(P, T, P, K);
    }
    ld scale = 1;
    for (int l = 0; l < s->L; l++) scale /= s->sw2[l];
    for (int k = 0; k < K; k++) P[k] *= scale;
    if (s->orth) {
        /* prod (chi_g/z)(1+z)/sw2 times z/(1+z): (1+z)^(L-1) */
        ld b[DW_SPECTRUM_KMAX + 2];
        for (int k = 0; k < K; k++) b[k] = k == 0 ? 1 : k == 1 ? 1 : 0;
        ser_pow(b, s->L - 1, b, K);
        ser_mul(P, b, P, K);
    } else {
        /* times 1/(1+z) */
        for (int k = 1; k < K; k++) P[k] -= P[k - 1];
    }
    /* chi_J = z P */
    f[0] = 0;
    for (int k = 1; k <= K; k++) f[k] = P[k - 1];
    ser_revert(f, c, n);
    for (int k = 1; k <= K; k++) {
        m[k - 1] = (double)c[k];
        if (!isfinite(m[k - 1]))
            return dw_fail(DW_ERR_RANGE, "moment m_%d of the squared singular values overflows a double", k);
    }
    return DW_OK;
}

dw_status dw_spec_series_moments_exact(int L, int K, int orth, const fmpq *sw2, const fmpq *mu, int ldmu,
                                       fmpq *m)
{
    for (int l = 0; l < L; l++)
        if (fmpq_is_zero(mu + (size_t)l * ldmu)) {
            for (int k = 0; k < K; k++) fmpq_zero(m + k);
            return DW_OK;
        }
    const slong n = K + 1;
    fmpq_poly_t P, f, c, T, b;
    fmpq_poly_init(P);
    fmpq_poly_init(f);
    fmpq_poly_init(c);
    fmpq_poly_init(T);
    fmpq_poly_init(b);
    fmpq_poly_one(P);
    fmpq_t sc;
    fmpq_init(sc);
    fmpq_one(sc);
    for (int l = 0; l < L; l++) {
        fmpq_mul(sc, sc, sw2 + l);
        int same = l > 0;
        for (int j = 0; j < K && same; j++) same = fmpq_equal(mu + (size_t)l * ldmu + j, mu + (size_t)(l - 1) * ldmu + j);
        if (!same) {
            fmpq_poly_zero(f);
            for (int j = 1; j <= K; j++) fmpq_poly_set_coeff_fmpq(f, j, mu + (size_t)l * ldmu + j - 1);
            fmpq_poly_revert_series(c, f, n);
            fmpq_poly_shift_right(T, c, 1);
        }
        fmpq_poly_mullow(P, P, T, K);
    }
    fmpq_inv(sc, sc);
    fmpq_poly_scalar_mul_fmpq(P, P, sc);
    fmpq_poly_zero(b);
    fmpq_poly_set_coeff_si(b, 0, 1);
    fmpq_poly_set_coeff_si(b, 1, 1); /* 1 + z */
    if (orth) {
        fmpq_poly_pow_trunc(b, b, L - 1, K);
        fmpq_poly_mullow(P, P, b, K);
    } else {
        fmpq_poly_inv_series(b, b, K);
        fmpq_poly_mullow(P, P, b, K);
    }
    fmpq_poly_shift_left(f, P, 1);
    fmpq_poly_revert_series(c, f, n);
    for (int k = 1; k <= K; k++) fmpq_poly_get_coeff_fmpq(m + k - 1, c, k);
    fmpq_clear(sc);
    fmpq_poly_clear(P);
    fmpq_poly_clear(f);
    fmpq_poly_clear(c);
    fmpq_poly_clear(T);
    fmpq_poly_clear(b);
    return DW_OK;
}
