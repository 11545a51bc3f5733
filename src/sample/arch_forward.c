/* The forward pass of one input through a compiled finite network (arch.h): plain loops and one GEMM per dense or
 * conv layer (convolutions by im2col), single-threaded (the driver spreads inputs over the threads). */
#include "act/act.h"
#include "core/rng.h"
#include "sample/arch.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

double dw_asamp_scratch(const asamp_prog *p) { return 2.0 * (double)p->maxcol + 3.0 * (double)p->maxv; }

void dw_asamp_dropout_mask(const asamp_prog *p, size_t opi, uint64_t seed, uint64_t sample, uint64_t row, size_t n,
                           double *m)
{
    const double rate = p->op[opi].c;
    dw_rng r;
    dw_rng_init(&r, seed, sample, ((uint64_t)1 << 62) + opi, row); /* apart from every weight stream */
    for (size_t j = 0; j < n; j++) m[j] = dw_rng_uniform(&r) < rate ? 1.0 / rate : 0.0;
}

void dw_asamp_im2col(const asamp_op *op, size_t Pout, size_t Cin, const double *a, double *col)
{
    const size_t F = op->F;
    for (size_t q = 0; q < Pout; q++)
        for (size_t t = 0; t < F; t++) {
            const long i = op->idx[q * F + t];
            double *c = col + (q * F + t) * Cin;
            if (i < 0)
                memset(c, 0, Cin * sizeof *c);
            else
                memcpy(c, a + (size_t)i * Cin, Cin * sizeof *c);
        }
}

/* LayerNorm of n groups of g entries: (x - mean) / sqrt(eps + var), NT's LayerNorm. */
static void layernorm(const double *x, double *y, size_t n, size_t g, double eps)
{
    for (size_t k = 0; k < n; k++) {
        const double *a = x + k * g;
        double m = 0, v = 0;
        for (size_t j = 0; j < g; j++) m += a[j];
        m /= (double)g;
        for (size_t j = 0; j < g; j++) v += (a[j] - m) * (a[j] - m);
        const double s = 1.0 / sqrt(eps + v / (double)g);
        for (size_t j = 0; j < g; j++) y[k * g + j] = (a[j] - m) * s;
    }
}

size_t dw_asamp_forward(const asamp_prog *p, const double *theta, const double *x, uint64_t seed, uint64_t sample,
                        uint64_t row, double *tape, double *scratch)
{
    memcpy(tape + p->val[0].off, x, p->d * sizeof *x);
    for (size_t i = 0; i < p->nop; i++) {
        const asamp_op *op = &p->op[i];
        const asamp_val *vi = &p->val[op->in], *vo = &p->val[op->out];
        const double *a = tape + vi->off;
        double *o = tape + vo->off;
        const size_t nin = vi->P * vi->C, nout = vo->P * vo->C;
        switch (op->k) {
        case AOP_DENSE:
        case AOP_CONV: {
            const double *A = a;
            if (op->k == AOP_CONV) {
                dw_asamp_im2col(op, vo->P, vi->C, a, scratch);
                A = scratch;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)vo->P, (int)op->Cout, (int)op->R, op->sw, A,
                        (int)op->R, theta + op->pW, (int)op->Cout, 0.0, o, (int)op->Cout);
            if (op->pb != SIZE_MAX)
                for (size_t q = 0; q < vo->P; q++)
                    for (size_t c = 0; c < op->Cout; c++) o[q * op->Cout + c] += op->sb * theta[op->pb + c];
            break;
        }
        case AOP_ACT:
            (void)dw_act_eval(op->act, nin, a, o, NULL);
            break;
        case AOP_POOL:
            for (size_t q = 0; q < vo->P; q++) {
                double *oq = o + q * vo->C;
                memset(oq, 0, vo->C * sizeof *oq);
                for (size_t t = 0; t < op->F; t++) {
                    const long s = op->idx[q * op->F + t];
                    if (s < 0) continue;
                    for (size_t c = 0; c < vo->C; c++) oq[c] += a[(size_t)s * vi->C + c];
                }
                for (size_t c = 0; c < vo->C; c++) oq[c] *= op->coef[q];
            }
            break;
        case AOP_GPOOL:
            memset(o, 0, vo->C * sizeof *o);
            for (size_t q = 0; q < vi->P; q++)
                for (size_t c = 0; c < vi->C; c++) o[c] += a[q * vi->C + c];
            for (size_t c = 0; c < vo->C; c++) o[c] *= op->c;
            break;
        case AOP_LN:
            if (op->l->spatial)
                layernorm(a, o, 1, nin, op->l->eps);
            else
                layernorm(a, o, vi->P, vi->C, op->l->eps);
            break;
        case AOP_DROPOUT:
            dw_asamp_dropout_mask(p, i, seed, sample, row, nin, scratch);
            for (size_t j = 0; j < nin; j++) o[j] = scratch[j] * a[j];
            break;
        case AOP_SCALE:
            for (size_t j = 0; j < nin; j++) o[j] = op->c * a[j];
            break;
        case AOP_SUM:
            memcpy(o, tape + p->val[op->ins[0]].off, nout * sizeof *o);
            for (int b = 1; b < op->nin; b++) {
                const double *s = tape + p->val[op->ins[b]].off;
                for (size_t j = 0; j < nout; j++) o[j] += s[j];
            }
            break;
        }
        for (size_t j = 0; j < nout; j++)
            if (!isfinite(o[j])) return i + 1;
    }
    return 0;
}
