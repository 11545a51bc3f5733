/* libFuzzer harness for the Jacobian spectrum (src/spectrum): the bytes choose an activation, depth, K, the
 * variances (from tiny to large, including 0 and negative ones), the weight law and a few density abscissae. Any
 * input must either fail with a one-line message or give finite, non-negative moments (route 1 = route 2 to 1e-9
 * relative where both apply, K <= 10), a finite support edge and a finite non-negative density; never crash, hang, leak or
 * read out of bounds (ASan/UBSan do the latter). */
#include "deepwick.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

static unsigned byte(bytes *b)
{
    if (!b->n) return 0;
    b->n--;
    return *b->p++;
}

/* a value in {0, +-2^(e/8)}, e from -64 to 63 (2^-8 .. 2^7.9), negative with probability 1/16 */
static double value(bytes *b)
{
    unsigned s = byte(b), e = byte(b);
    if (s == 0) return 0.0;
    double v = exp2(((double)(e % 128) - 64.0) / 8.0);
    return s % 16 == 1 ? -v : v;
}

static void one_line(void)
{
    const char *msg = dw_error_message();
    if (!msg[0] || strchr(msg, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const acts[] = {"identity", "relu",  "leaky_relu:0.2", "abs", "step",
                                       "erf",      "sin",   "cos",            "exp", "poly:0,1,0,-0.05",
                                       "poly:0.5,1,0.25"};
    bytes b = {data, size};
    const unsigned ai = byte(&b) % (sizeof acts / sizeof acts[0]);
    const int L = 1 + (int)(byte(&b) % 6), K = 1 + (int)(byte(&b) % 12);
    const unsigned flags = byte(&b);
    double sw2 = value(&b), sb2 = value(&b), q0 = value(&b);
    double t[4];
    for (int i = 0; i < 4; i++) t[i] = value(&b);
    dw_act *act = NULL;
    if (dw_act_init(&act, acts[ai]) != DW_OK) abort();
    dw_net *net = NULL;
    dw_spectrum_opts *o = NULL;
    if (dw_net_init(&net) != DW_OK || dw_spectrum_opts_init(&o) != DW_OK) abort();
    dw_spectrum *s = NULL;
    const int orth = (flags & 2) != 0;
    /* each setter validates its value; the first refusal ends the input as the init's did */
    dw_status st = dw_net_set_fc(net, L, act, false);
    if (!st) st = dw_net_set_weight_var(net, 1, &sw2);
    if (!st) st = dw_net_set_bias_var(net, 1, &sb2);
    if (!st && orth) st = dw_net_set_law(net, "orthogonal");
    if (!st) st = dw_spectrum_opts_set_q0(o, q0);
    if (!st) st = dw_spectrum_opts_set_fixed_point(o, (flags & 1) != 0);
    if (!st) st = dw_spectrum_opts_set_kmax(o, K);
    if (!st) st = dw_spectrum_init(&s, net, o);
    dw_net_clear(net);
    dw_spectrum_opts_clear(o);
    if (st != DW_OK) {
        if (s) abort();
        one_line();
        dw_act_clear(act);
        return 0;
    }
    double m[12], m1[12];
    st = dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_S, m);
    if (st == DW_OK) {
        for (int k = 0; k < K; k++)
            if (!isfinite(m[k]) || m[k] < 0) abort();
        if (!orth && K <= 10 && dw_spectrum_moments(s, K, DW_SPECTRUM_ROUTE_NC, m1) == DW_OK)
            for (int k = 0; k < K; k++)
                if (!(fabs(m1[k] - m[k]) <= 1e-9 * fabs(m[k]) + 1e-300) && m[k] < 1e250) abort();
    } else {
        one_line();
    }
    if ((flags & 4) && L <= 3) {
        dw_spectrum_exact *e = NULL;
        if (dw_spectrum_exact_init(&e, s, K < 6 ? K : 6, DW_SPECTRUM_ROUTE_S) == DW_OK) dw_spectrum_exact_clear(e);
        else one_line();
    }
    /* support and density cost O(atoms of the laws of phi'^2), about 24 sqrt(q) x 16 per layer for the activations
     * without a closed form: above q = 1e3 an input takes seconds under the sanitizers (not a hang) */
    double qmax = 0;
    for (int l = 0; l < L; l++) qmax = fmax(qmax, dw_spectrum_q(s)[l]);
    if ((flags & 8) && qmax <= 1e3) {
        double lo, hi, rho[4];
        if (dw_spectrum_support(s, &lo, &hi) == DW_OK) {
            if (!isfinite(hi) || hi < 0) abort();
        } else {
            one_line();
        }
        if (dw_spectrum_density(s, 4, t, rho) == DW_OK) {
            for (int i = 0; i < 4; i++)
                if (!isfinite(rho[i]) || rho[i] < 0) abort();
        } else {
            one_line();
        }
    }
    dw_spectrum_clear(s);
    dw_act_clear(act);
    return 0;
}
