/* Back-propagation through a compiled finite network (arch.h): the gradient of one output unit of one input with
 * respect to every parameter (a row of the Jacobian), reading the input's tape. The tangent kernel is then the
 * Gram of these rows (arch_engine.c). Each op adds its input's gradient (values read by several ops, after a
 * fanout, collect every contribution) and writes its own parameters' gradient. */
#include "act/act.h"
#include "sample/arch.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* LayerNorm backward on n groups of g entries: gx += (g - mean(g) - xh mean(g xh)) / s, xh = (x - mean) / s. */
static void layernorm_back(const double *x, const double *go, double *gx, size_t n, size_t g, double eps)
{
    for (size_t k = 0; k < n; k++) {
        const double *a = x + k * g, *gk = go + k * g;
        double m = 0, v = 0;
        for (size_t j = 0; j < g; j++) m += a[j];
        m /= (double)g;
        for (size_t j = 0; j < g; j++) v += (a[j] - m) * (a[j] - m);
        const double is = 1.0 / sqrt(eps + v / (double)g);
        double mg = 0, mgx = 0;
        for (size_t j = 0; j < g; j++) {
            mg += gk[j];
            mgx += gk[j] * (a[j] - m) * is;
        }
        mg /= (double)g;
        mgx /= (double)g;
        for (size_t j = 0; j < g; j++) gx[k * g + j] += is * (gk[j] - mg - (a[j] - m) * is * mgx);
    }
}

void dw_asamp_backward(const asamp_prog *p, const double *theta, const double *tape, uint64_t seed, uint64_t sample,
                       uint64_t row, size_t u, double *J, double *grad, double *scratch)
{
    memset(grad, 0, p->tape * sizeof *grad);
    grad[p->val[p->out].off + u] = 1.0;
    for (size_t i = p->nop; i-- > 0;) {
        const asamp_op *op = &p->op[i];
        const asamp_val *vi = &p->val[op->in], *vo = &p->val[op->out];
        const double *a = tape + vi->off, *go = grad + vo->off;
        double *ga = grad + vi->off;
        const size_t nin = vi->P * vi->C, nout = vo->P * vo->C;
        switch (op->k) {
        case AOP_DENSE:
        case AOP_CONV: {
            const double *A = a;
            double *gA = ga;
            const int Pq = (int)vo->P, R = (int)op->R, C = (int)op->Cout;
            if (op->k == AOP_CONV) {
                dw_asamp_im2col(op, vo->P, vi->C, a, scratch);
                A = scratch;
                gA = scratch + p->maxcol;
            }
            /* d/dtheta_W = sw A^T g_o, d/dtheta_b = sb sum_q g_o[q], d/dA = sw g_o theta_W^T */
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, C, Pq, op->sw, A, R, go, C, 0.0, J + op->pW, C);
            if (op->pb != SIZE_MAX) {
                double *jb = J + op->pb;
                memset(jb, 0, op->Cout * sizeof *jb);
                for (size_t q = 0; q < vo->P; q++)
                    for (size_t c = 0; c < op->Cout; c++) jb[c] += go[q * op->Cout + c];
                for (size_t c = 0; c < op->Cout; c++) jb[c] *= op->sb;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Pq, R, C, op->sw, go, C, theta + op->pW, C,
                        op->k == AOP_CONV ? 0.0 : 1.0, gA, R);
            if (op->k == AOP_CONV) /* col2im: every patch entry back to its input position */
                for (size_t q = 0; q < vo->P; q++)
                    for (size_t t = 0; t < op->F; t++) {
                        const long s = op->idx[q * op->F + t];
                        if (s < 0) continue;
                        const double *g = gA + (q * op->F + t) * vi->C;
                        double *d = ga + (size_t)s * vi->C;
                        for (size_t c = 0; c < vi->C; c++) d[c] += g[c];
                    }
            break;
        }
        case AOP_ACT: {
            double *phi = scratch, *dphi = scratch + p->maxv;
            (void)dw_act_eval(op->act, nin, a, phi, dphi);
            for (size_t j = 0; j < nin; j++) ga[j] += go[j] * dphi[j];
            break;
        }
        case AOP_POOL:
            for (size_t q = 0; q < vo->P; q++)
                for (size_t t = 0; t < op->F; t++) {
                    const long s = op->idx[q * op->F + t];
                    if (s < 0) continue;
                    for (size_t c = 0; c < vo->C; c++) ga[(size_t)s * vi->C + c] += op->coef[q] * go[q * vo->C + c];
                }
            break;
        case AOP_GPOOL:
            for (size_t q = 0; q < vi->P; q++)
                for (size_t c = 0; c < vi->C; c++) ga[q * vi->C + c] += op->c * go[c];
            break;
        case AOP_LN:
            if (op->l->spatial)
                layernorm_back(a, go, ga, 1, nin, op->l->eps);
            else
                layernorm_back(a, go, ga, vi->P, vi->C, op->l->eps);
            break;
        case AOP_DROPOUT:
            dw_asamp_dropout_mask(p, i, seed, sample, row, nin, scratch);
            for (size_t j = 0; j < nin; j++) ga[j] += scratch[j] * go[j];
            break;
        case AOP_SCALE:
            for (size_t j = 0; j < nin; j++) ga[j] += op->c * go[j];
            break;
        case AOP_SUM:
            for (int b = 0; b < op->nin; b++) {
                double *g = grad + p->val[op->ins[b]].off;
                for (size_t j = 0; j < nout; j++) g[j] += go[j];
            }
            break;
        }
    }
}
