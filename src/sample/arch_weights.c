/* One finite network's parameter vector theta (arch.h), drawn from the weight streams of the sample module: weight
 * layer k (1-based, depth first) of sample s is the matrix of dw_sample_weights(law, seed, s, k, R, C_out) (R = filter
 * size x C_in rows, NT's HWIO kernel), its bias dw_sample_bias(law, seed, s, k, C_out); both times the layer's
 * initial scales (NTK parameterisation: 1; standard: sqrt(weight_var / fan_in), sqrt(bias_var)). */
#include "sample/arch.h"
#include "sample/sample.h"

static const dw_law gaussian_law = {DW_LAW_GAUSSIAN, 0.0};

dw_status dw_asamp_draw_layer(const asamp_prog *p, const asamp_op *op, uint64_t seed, uint64_t sample, double *theta)
{
    const dw_law *law = op->wlayer == 1 && p->gauss1 ? &gaussian_law : &p->law;
    dw_status s = dw_law_matrix(law, seed, sample, op->wlayer, op->R, op->Cout, op->init_w, theta + op->pW);
    if (s || op->pb == SIZE_MAX) return s;
    double *b = theta + op->pb;
    dw_law_bias(law, seed, sample, op->wlayer, op->Cout, b);
    for (size_t j = 0; j < op->Cout; j++) b[j] *= op->init_b;
    return DW_OK;
}

dw_status dw_asamp_draw(const asamp_prog *p, uint64_t seed, uint64_t sample, double *theta)
{
    for (size_t i = 0; i < p->nop; i++) {
        const asamp_op *op = &p->op[i];
        if (op->k != AOP_DENSE && op->k != AOP_CONV) continue;
        dw_status s = dw_asamp_draw_layer(p, op, seed, sample, theta);
        if (s) return s;
    }
    return DW_OK;
}
