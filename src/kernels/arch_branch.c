/* FanInSum of the architecture engine (theory.md 7): the streams' kernels add, plus the cross-covariances of
 * streams that are functions of the same fanout input h0 without a weight layer between (a skip connection summed
 * with phi(h0), which Neural Tangents refuses): for (u, v) the pair of h0's entries,
 *   E[u v] = Sigma0;  E[u phi(v)] = Sigma0 E[phi'(v)] (Stein's lemma);  E[phi(u) phi(v)] the dual,
 * and for the tangent kernel E[f_a'(u) f_b'(v)] Theta0 alike. */
#include "kernels/arch.h"

dw_status dw_arch_sum(const arch_prog *p, const arch_op *op, arch_work *w, const double *rx, const double *ry,
                      bool want_t)
{
    const size_t L = p->reg_len, P = op->in.P, n = p->full ? P * P : P;
    double *K = w->K + (size_t)op->reg * L, *T = want_t ? w->T + (size_t)op->reg * L : NULL;
    for (int a = 1; a < op->nsrc; a++) {
        const double *Ka = w->K + (size_t)op->srcs[a] * L, *Ta = w->T + (size_t)op->srcs[a] * L;
        for (size_t q = 0; q < n; q++) K[q] += Ka[q];
        if (T)
            for (size_t q = 0; q < n; q++) T[q] += Ta[q];
    }
    for (int c = 0; c < op->ncross; c++) {
        const arch_cross *x = &op->cross[c];
        const double *K0 = w->K + (size_t)x->origin * L, *T0 = w->T + (size_t)x->origin * L;
        const double *vx = x->var_slot >= 0 ? rx + p->slot[x->var_slot].off : NULL;
        const double *vy = x->var_slot >= 0 ? ry + p->slot[x->var_slot].off : NULL;
        const double *mx = x->md_slot >= 0 ? rx + p->slot[x->md_slot].off : NULL;
        const double *my = x->md_slot >= 0 ? ry + p->slot[x->md_slot].off : NULL;
        for (size_t i = 0; i < P; i++)
            for (size_t j = 0; j < (p->full ? P : 1); j++) {
                const size_t jj = p->full ? j : i, q = p->full ? i * P + j : i;
                double k, t;
                dw_status s = dw_arch_cross_entry(p, x, K0[q], T ? T0[q] : 0.0, vx ? vx[i] : 0.0, vy ? vy[jj] : 0.0,
                                                  mx ? mx[i] : 0.0, my ? my[jj] : 0.0, w, &k, &t);
                if (s) return s;
                K[q] += x->s * k;
                if (T) T[q] += x->s * t;
            }
    }
    return DW_OK;
}
