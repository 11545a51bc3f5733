/* The layer step of the finite-width state (theory.md 1.6): the leading-order kernels K, Theta, the mean
 * corrections G1, Theta1, and the covariance tensors V, D, A, B, F of a point set I, from layer l to l + 1 by
 * conditioning on layer l. Plain functions on arrays; the driver (gram.c) supplies the primitives. */
#include "finite/finite.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "finite/real_cfg.h"

#define I4 DW_FW_I4
#define I6 DW_FW_I6

void DW_FW_T(dw_fw_state_init)(DW_FW_T(dw_fw_state) *s, int m, const double *x, const double *y, size_t d, const dw_fw_layer *L1)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    const double *pt[2] = {x, m == 2 ? y : x};
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            REAL dot = 0.0;
            for (size_t k = 0; k < d; k++) dot += (REAL)pt[a][k] * pt[b][k];
            dot /= (REAL)d;
            s->K[a][b] = L1->cb + L1->cw * dot;
            s->T[a][b] = L1->lb + L1->lw * dot;
        }
    REAL dist = 0.0;
    if (m == 2)
        for (size_t k = 0; k < d; k++) dist += ((REAL)x[k] - y[k]) * ((REAL)x[k] - y[k]);
    s->dist = L1->cw * dist / (REAL)d;
}

/* The step and its contractions are inlined into one copy per m (1 or 2, a constant there), so that the compiler
 * unrolls the 2 x 2 x 2 x 2 loops; the sums keep their order. */
#ifndef DW_FW_INLINE
#define DW_FW_INLINE static inline __attribute__((always_inline))
#endif

/* out_abcd = sum_efgh X_abef V_efgh Y_cdgh over indices < m (X, Y, V: 2x2x2x2). */
DW_FW_INLINE void DW_FW_T(sandwich)(const int m, const REAL *X, const REAL *V, const REAL *Y, REAL *out)
{
    REAL XV[16];
    memset(XV, 0, sizeof XV);
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++)
            for (int g = 0; g < m; g++)
                for (int h = 0; h < m; h++) {
                    REAL t = 0.0;
                    for (int e = 0; e < m; e++)
                        for (int f = 0; f < m; f++) t += X[I4(a, b, e, f)] * V[I4(e, f, g, h)];
                    XV[I4(a, b, g, h)] = t;
                }
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++)
            for (int c = 0; c < m; c++)
                for (int d = 0; d < m; d++) {
                    REAL t = 0.0;
                    for (int g = 0; g < m; g++)
                        for (int h = 0; h < m; h++) t += XV[I4(a, b, g, h)] * Y[I4(c, d, g, h)];
                    out[I4(a, b, c, d)] = t;
                }
}

/* sg = -1: the step; sg = +1: the same sums on magnitudes (the centred products SS - s s, ... turned into sums),
 * for the running error bound (DW_FW_T(dw_fw_state_bound_step)) */
DW_FW_INLINE void DW_FW_T(step_m)(DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P, const dw_fw_layer *L,
                                  REAL sg, const int m)
{
    const REAL cw = L->cw, cb = L->cb, lw = L->lw, lb = L->lb, ic = 1.0 / L->c;
    const REAL k4 = sg > 0 ? FN(fabs)((REAL)L->kap) : (REAL)L->kap; /* the law's kappa_4 (on magnitudes: its size) */
    DW_FW_T(dw_fw_state) o;
    memset(&o, 0, sizeof o);
    o.m = m;
    o.dist = s->dist;
    o.err = s->err;
    REAL Jg[16] = {0}, Jf[16] = {0}, kap[2][2] = {{0}};
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            kap[a][b] = cw * P->p[a][b];
            for (int e = 0; e < m; e++)
                for (int f = 0; f < m; f++) {
                    Jg[I4(a, b, e, f)] = 0.5 * cw * P->S2[I4(a, b, e, f)];
                    Jf[I4(a, b, e, f)] = 0.5 * (lw * P->S2[I4(a, b, e, f)] + cw * s->T[a][b] * P->P2[I4(a, b, e, f)]);
                }
        }
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            o.K[a][b] = cb + cw * P->s[a][b];
            o.T[a][b] = lb + lw * P->s[a][b] + cw * P->p[a][b] * s->T[a][b];
            REAL ds = 0.0, dp = 0.0, dd = 0.0;
            for (int e = 0; e < m; e++)
                for (int f = 0; f < m; f++) {
                    ds += 0.5 * s->G1[e][f] * P->S2[I4(a, b, e, f)];
                    dp += 0.5 * s->G1[e][f] * P->P2[I4(a, b, e, f)];
                    dd += (0.5 * (s->D[I4(a, b, e, f)] + s->Fk[I4(a, b, e, f)]) + s->F[I4(a, b, e, f)]) *
                          P->P2[I4(a, b, e, f)];
                    for (int c = 0; c < m; c++)
                        for (int d = 0; d < m; d++) { /* the covariance's fluctuation and the law's cumulant */
                            const REAL w4 = 0.125 * s->V[I4(c, d, e, f)] + s->U[I4(c, d, e, f)] / 24;
                            ds += w4 * P->S4[I6(a, b, c, d, e, f)];
                            dp += w4 * P->P4[I6(a, b, c, d, e, f)];
                        }
                }
            o.G1[a][b] = cw * ds;
            o.T1[a][b] = lw * ds + cw * (P->p[a][b] * s->T1[a][b] + s->T[a][b] * dp + dd);
        }
    /* the fluctuation tensors: sources (1/c) plus the propagation of layer l's fluctuations */
    REAL JgVJg[16], JfVJg[16], JfVJf[16];
    DW_FW_T(sandwich)(m, Jg, s->V, Jg, JgVJg);
    DW_FW_T(sandwich)(m, Jf, s->V, Jg, JfVJg);
    DW_FW_T(sandwich)(m, Jf, s->V, Jf, JfVJf);
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++)
            for (int c = 0; c < m; c++)
                for (int d = 0; d < m; d++) {
                    const int i = I4(a, b, c, d);
                    const REAL sab = P->s[a][b], scd = P->s[c][d], pab = P->p[a][b], pcd = P->p[c][d];
                    const REAL Tab = s->T[a][b], Tcd = s->T[c][d];
                    const REAL ss = P->SS[i] + sg * sab * scd;
                    const REAL sp_abcd = P->SP[i] + sg * sab * pcd, sp_cdab = P->SP[I4(c, d, a, b)] + sg * pab * scd;
                    const REAL pp = P->PP[i] + sg * pab * pcd;
                    REAL DJg = 0.0, JfD = 0.0, DJf = 0.0, FQQ = 0.0;
                    for (int g = 0; g < m; g++)
                        for (int h = 0; h < m; h++) {
                            DJg += s->D[I4(a, b, g, h)] * Jg[I4(c, d, g, h)];
                            JfD += Jf[I4(a, b, g, h)] * s->D[I4(c, d, g, h)];
                            DJf += s->D[I4(a, b, g, h)] * Jf[I4(c, d, g, h)];
                            FQQ += s->F[I4(a, b, g, h)] * P->Q1[(a * 2 + c) * 2 + g] * P->Q1[(b * 2 + d) * 2 + h];
                        }
                    o.V[i] = ic * cw * cw * ss + JgVJg[i];
                    o.D[i] = ic * cw * (lw * ss + cw * Tab * sp_cdab) + JfVJg[i] + kap[a][b] * DJg;
                    o.A[i] = ic * (lw * lw * ss + lw * cw * Tcd * sp_abcd + lw * cw * Tab * sp_cdab +
                                   cw * cw * Tab * Tcd * pp) +
                             JfVJf[i] + kap[c][d] * JfD + kap[a][b] * DJf + kap[a][b] * kap[c][d] * s->A[i];
                    o.B[i] = ic * cw * cw * Tab * Tcd * P->PP[i] + cw * cw * P->p[a][c] * P->p[b][d] * s->B[i];
                    o.F[i] = ic * cw * cw * Tab * P->SP[I4(c, d, a, b)] + cw * cw * FQQ;
                    /* within one weight row: kappa_4 times the diagonal (j = j') parts of the sources of V, F, B */
                    o.U[i] = ic * k4 * cw * cw * P->SS[i];
                    o.Fk[i] = ic * k4 * cw * cw * Tab * P->SP[I4(c, d, a, b)];
                    o.Bk[i] = ic * k4 * cw * cw * Tab * Tcd * P->PP[i];
                }
    *s = o;
}

static void DW_FW_T(step)(DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P, const dw_fw_layer *L, REAL sg)
{
    if (s->m == 2)
        DW_FW_T(step_m)(s, P, L, sg, 2);
    else
        DW_FW_T(step_m)(s, P, L, sg, 1);
}

void DW_FW_T(dw_fw_state_step)(DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P, const dw_fw_layer *L) { DW_FW_T(step)(s, P, L, -1.0); }

/* The state's and the primitives' numbers as flat arrays (their REAL members are contiguous) */
#ifndef STATE_N
#define STATE_N DW_FW_STATE_N
#define PRIM_N 224
#endif
_Static_assert(offsetof(DW_FW_T(dw_fw_state), Bk) + sizeof(REAL[16]) - offsetof(DW_FW_T(dw_fw_state), K) == STATE_N * sizeof(REAL),
               "DW_FW_T(dw_fw_state): K .. Bk contiguous");
_Static_assert(offsetof(DW_FW_T(dw_fw_prim), Q1) + sizeof(REAL[8]) - offsetof(DW_FW_T(dw_fw_prim), s) == PRIM_N * sizeof(REAL),
               "DW_FW_T(dw_fw_prim): s .. Q1 contiguous");

void DW_FW_T(dw_fw_state_bound_step)(DW_FW_T(dw_fw_state) *e, const DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_prim) *P,
                                     REAL prel, const DW_FW_T(dw_fw_prim) *Perr, const dw_fw_layer *L)
{
    /* every output of the step is a sum of products of state entries, primitives and non-negative constants; on
     * magnitudes the step is monotone, so DW_FW_T(step)(|s| + e, |P| (1 + 32 eps)) - DW_FW_T(step)(|s|, |P|) bounds the propagated error
     * to first order (each relu-family moment is accurate to a few ulps of itself: a sum of a few terms of one sign
     * or of one scale, prim_relu.c), and a multiple of DW_FW_T(step)(|s|, |P|) the rounding of the sums (at most 64 terms) */
    DW_FW_T(dw_fw_state) xa = *s, xp;
    DW_FW_T(dw_fw_prim) pa = *P, pp;
    REAL *va = &xa.K[0][0], *ve = &e->K[0][0], *qa = &pa.s[0][0];
    for (int k = 0; k < STATE_N; k++) va[k] = FN(fabs)(va[k]);
    for (int k = 0; k < PRIM_N; k++) qa[k] = FN(fabs)(qa[k]);
    xp = xa;
    pp = pa;
    REAL *vp = &xp.K[0][0], *qp = &pp.s[0][0];
    for (int k = 0; k < STATE_N; k++) vp[k] += ve[k];
    for (int k = 0; k < PRIM_N; k++) qp[k] += prel * qp[k];
    if (Perr)
        for (int k = 0; k < PRIM_N; k++) qp[k] += FN(fabs)((&Perr->s[0][0])[k]);
    DW_FW_T(step)(&xa, &pa, L, 1.0);
    DW_FW_T(step)(&xp, &pp, L, 1.0);
    for (int k = 0; k < STATE_N; k++) ve[k] = (vp[k] - va[k]) + 64 * EPS * va[k];
}

void DW_FW_T(dw_fw_state_outputs)(const DW_FW_T(dw_fw_state) *s, REAL out[])
{
    const int x = 0, y = s->m - 1;
    out[DW_FW_NNGP] = s->K[x][y];
    out[DW_FW_NTK] = s->T[x][y];
    out[DW_FW_NNGP_1] = s->G1[x][y];
    out[DW_FW_NTK_1] = s->T1[x][y];
    out[DW_FW_NNGP_VAR] = s->V[I4(x, y, x, y)];
    out[DW_FW_NTK_VAR] = s->A[I4(x, y, x, y)] + s->B[I4(x, y, x, y)] + s->B[I4(x, y, y, x)] + s->Bk[I4(x, y, x, y)];
    out[DW_FW_NNGP_COV] = s->V[I4(x, x, y, y)];
    out[DW_FW_NTK_COV] = s->A[I4(x, x, y, y)] + 2.0 * s->B[I4(x, x, y, y)] + s->Bk[I4(x, x, y, y)];
    out[DW_FW_KAPPA4] = s->V[I4(x, x, y, y)] + 2.0 * s->V[I4(x, y, x, y)] + s->U[I4(x, x, y, y)];
}

double DW_FW_T(dw_fw_state_rel_bound)(const DW_FW_T(dw_fw_state) *s, const DW_FW_T(dw_fw_state) *e)
{
    REAL o[DW_FW_COUNT], eo[DW_FW_COUNT], k = 0, t = 0;
    double r = 0.0;
    DW_FW_T(dw_fw_state_outputs)(s, o);
    DW_FW_T(dw_fw_state_outputs)(e, eo);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            if (FN(fabs)(s->K[a][b]) > k) k = FN(fabs)(s->K[a][b]);
            if (FN(fabs)(s->T[a][b]) > t) t = FN(fabs)(s->T[a][b]);
        }
    for (int q = 0; q < DW_FW_COUNT; q++) {
        int ntk = q == DW_FW_NTK || q == DW_FW_NTK_1 || q == DW_FW_NTK_VAR || q == DW_FW_NTK_COV;
        int second = q == DW_FW_NNGP_VAR || q == DW_FW_NTK_VAR || q == DW_FW_NNGP_COV || q == DW_FW_NTK_COV ||
                     q == DW_FW_KAPPA4;
        REAL sc = ntk ? t : k;
        if (second) sc *= sc;
        if (sc > 0 && (double)(eo[q] / sc) > r) r = (double)(eo[q] / sc);
    }
    return r;
}
