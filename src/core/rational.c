/* Exact rationals (FLINT fmpq) from and to text and doubles, shared by the modules that compute exactly (the Wick
 * engine: expression laws, the polynomial network, the inputs of the expansion, the JSON outputs). */
#include "core/rational.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

int dw_rational_parse(fmpq_t out, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] == ' ') i++;
    while (len > i && s[len - 1] == ' ') len--;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    fmpz_t num, den, t;
    fmpz_init(num);
    fmpz_init(den);
    fmpz_init(t);
    int ok = 0, digits = 0;
    long exp10 = 0;
    fmpz_one(den);
    while (i < len && isdigit((unsigned char)s[i])) {
        if (digits < 4000) {
            fmpz_mul_ui(num, num, 10);
            fmpz_add_ui(num, num, (ulong)(s[i] - '0'));
        } else
            goto done;
        digits++;
        i++;
    }
    if (i < len && s[i] == '/') {
        if (!digits) goto done;
        i++;
        int dd = 0;
        fmpz_zero(den);
        while (i < len && isdigit((unsigned char)s[i]) && dd < 4000) {
            fmpz_mul_ui(den, den, 10);
            fmpz_add_ui(den, den, (ulong)(s[i] - '0'));
            dd++;
            i++;
        }
        if (!dd || i != len || fmpz_is_zero(den)) goto done;
    } else {
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && isdigit((unsigned char)s[i])) {
                if (digits >= 4000) goto done;
                fmpz_mul_ui(num, num, 10);
                fmpz_add_ui(num, num, (ulong)(s[i] - '0'));
                exp10--;
                digits++;
                i++;
            }
        }
        if (!digits) goto done;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            int eneg = 0, ed = 0;
            long ev = 0;
            if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
            while (i < len && isdigit((unsigned char)s[i])) {
                if (ev < 100000) ev = ev * 10 + (s[i] - '0');
                ed++;
                i++;
            }
            if (!ed || ev > 1000) goto done;
            exp10 += eneg ? -ev : ev;
        }
        if (i != len || exp10 > 1000 || exp10 < -5000) goto done;
        if (exp10 >= 0) {
            fmpz_set_ui(t, 10);
            fmpz_pow_ui(t, t, (ulong)exp10);
            fmpz_mul(num, num, t);
        } else
            {
            fmpz_set_ui(den, 10);
            fmpz_pow_ui(den, den, (ulong)(-exp10));
        }
    }
    if (neg) fmpz_neg(num, num);
    fmpq_set_fmpz_frac(out, num, den);
    ok = 1;
done:
    fmpz_clear(num);
    fmpz_clear(den);
    fmpz_clear(t);
    return ok;
}

void dw_rational_set_double(fmpq_t out, double x)
{
    if (x == 0) {
        fmpq_zero(out);
        return;
    }
    int e;
    double m = frexp(x, &e);
    fmpz_t z;
    fmpz_init(z);
    fmpz_set_d(z, ldexp(m, 53));
    fmpq_set_fmpz(out, z);
    e -= 53;
    if (e > 0) fmpq_mul_2exp(out, out, (flint_bitcnt_t)e);
    else if (e < 0) fmpq_div_2exp(out, out, (flint_bitcnt_t)(-e));
    fmpz_clear(z);
}

void dw_sbuf_fmpq(dw_sbuf *b, const fmpq_t q)
{
    char *s = fmpq_get_str(NULL, 10, q);
    if (!s) {
        b->failed = 1;
        return;
    }
    dw_sbuf_puts(b, s);
    flint_free(s);
}

void dw_rational_set_shortest(fmpq_t out, double x)
{
    char buf[64];
    for (int p = 1; p <= 17; p++) { /* the fewest significant digits that round-trip */
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (!dw_rational_parse(out, buf, strlen(buf))) dw_rational_set_double(out, x); /* not finite: cannot happen */
}
