/* Finite networks for the Jacobian spectrum with weights from the sampling module's laws (theory.md 2, 3): the glue
 * between dw_spectrum_sample (which takes any drawing function) and dw_sample_weights / dw_sample_bias. */
#include "spectrum/spectrum.h"

#include <float.h>
#include <string.h>

/* Streams of the sampling module are keyed by (seed, network, layer): the biases use the layer index, the input a
 * layer index no network reaches (depth <= DW_SPECTRUM_DEPTH_MAX). */
#define INPUT_LAYER 0x7fffffffULL

typedef struct law_ctx {
    dw_law law;
    bool gaussian_input_layer; /* layer 0 Gaussian whatever the law */
    unsigned long long seed;
} law_ctx;

static dw_status draw_law(void *ctx, unsigned long long s, dw_spectrum_draw_what what, int layer, size_t rows,
                          size_t cols, double *out)
{
    const law_ctx *c = ctx;
    switch (what) {
    case DW_SPECTRUM_DRAW_WEIGHTS: {
        const dw_law g = {DW_LAW_GAUSSIAN, 0};
        return dw_sample_weights(layer == 0 && c->gaussian_input_layer ? &g : &c->law, c->seed, s,
                                 (unsigned long long)layer, rows, cols, out);
    }
    case DW_SPECTRUM_DRAW_BIAS:
        return dw_sample_bias(&c->law, c->seed, s, (unsigned long long)layer, rows * cols, out);
    case DW_SPECTRUM_DRAW_INPUT:
    default: {
        /* the input direction is Gaussian whatever the law (it is rescaled to |x|^2 / N = q0) */
        const dw_law g = {DW_LAW_GAUSSIAN, 0};
        return dw_sample_bias(&g, c->seed, s, INPUT_LAYER, rows * cols, out);
    }
    }
}

dw_status dw_spectrum_sample_law(const dw_net *net, const dw_spectrum_sample_opts *o, unsigned long long seed,
                                 double *m, double *se, double *s2)
{
    if (!net || !o) return dw_fail(DW_ERR_INVALID, "sample: NULL network or options");
    dw_status cs = dw_spec_check_law(net);
    if (cs) return cs;
    const dw_law law = dw_net_law(net);
    law_ctx c = {law, net->gaussian_input_layer, seed};
    dw_spectrum_sample_opts oo = *o;
    oo.draw = draw_law;
    oo.ctx = &c;
    return dw_spectrum_sample(net, &oo, m, se, s2);
}

size_t dw_spectrum_count_zeros(size_t samples, size_t N, const double *s2)
{
    if (!s2 || !N) return 0;
    const double e = 16.0 * (double)N * DBL_EPSILON, cut = e * e;
    size_t z = 0;
    for (size_t s = 0; s < samples; s++)
        for (size_t i = 0; i < N; i++) z += s2[s * N + i] <= cut * s2[s * N];
    return z;
}
