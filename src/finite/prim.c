/* The Gaussian primitives of one layer (theory.md 1.6) from one bivariate moment function. Every primitive is
 * E[d^alpha (product of phi and phi' at the points of I)] with derivatives in the sense of distributions; the
 * factors at x form F = phi^i phi'^j, those at y form G, so each entry is one moment E[F^(nx)(u) G^(ny)(v)].
 * Entries share moments (S4 has 64 entries and at most 9 distinct moments per pair), so moments are cached per
 * fill. */
#include "finite/finite.h"

#include <float.h>
#include <string.h>

#include "finite/real_cfg.h"

#ifndef DW_FW_PRIM_KEYS
#define DW_FW_PRIM_KEYS
enum { SIDE = DW_FW_NF * 5, KEYS = SIDE * SIDE };
#endif

typedef struct DW_FW_T(fill_ctx) {
    int m;
    DW_FW_T(dw_fw_moment_fn) mom;
    void *ctx;
    REAL val[KEYS], err_of[KEYS];
    int want_err; /* a second pass over the cache: each moment's error estimate instead of its value */
    unsigned stamp[KEYS]; /* == gen: computed in this fill (no clearing between fills) */
    unsigned gen;
    REAL err;
    dw_status st;
} DW_FW_T(fill_ctx);

/* phis[k]: point of the k-th phi factor, dphis likewise, derivs: points of the derivatives. */
static REAL DW_FW_T(moment)(DW_FW_T(fill_ctx) *F, const int *phis, int np, const int *dphis, int nd, const int *derivs, int nv)
{
    if (F->st) return 0.0;
    int i[2] = {0, 0}, j[2] = {0, 0}, n[2] = {0, 0};
    for (int k = 0; k < np; k++) i[phis[k]]++;
    for (int k = 0; k < nd; k++) j[dphis[k]]++;
    for (int k = 0; k < nv; k++) n[derivs[k]]++;
    if (i[1] + j[1] == 0 && n[1] > 0) return 0.0; /* a derivative of the constant 1 */
    int key = (dw_fw_fidx(i[0], j[0]) * 5 + n[0]) * SIDE + dw_fw_fidx(i[1], j[1]) * 5 + n[1];
    if (F->stamp[key] != F->gen) {
        REAL v, e;
        dw_status st = F->mom(F->ctx, i[0], j[0], n[0], i[1], j[1], n[1], &v, &e);
        if (st) {
            F->st = st;
            return 0.0;
        }
        F->val[key] = v;
        F->err_of[key] = e;
        F->stamp[key] = F->gen;
        if (e > F->err) F->err = e;
    }
    return F->want_err ? F->err_of[key] : F->val[key];
}

static void DW_FW_T(fill_pass)(DW_FW_T(fill_ctx) *Fp, int m, bool deriv, DW_FW_T(dw_fw_prim) *P)
{
#define F (*Fp)
    memset(P, 0, sizeof *P);
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            int ab[2] = {a, b};
            P->s[a][b] = DW_FW_T(moment)(&F, ab, 2, NULL, 0, NULL, 0);
            P->p[a][b] = DW_FW_T(moment)(&F, NULL, 0, ab, 2, NULL, 0);
            for (int e = 0; e < m && deriv; e++) {
                for (int f = 0; f < m; f++) {
                    int ef[2] = {e, f};
                    P->S2[DW_FW_I4(a, b, e, f)] = DW_FW_T(moment)(&F, ab, 2, NULL, 0, ef, 2);
                    P->P2[DW_FW_I4(a, b, e, f)] = DW_FW_T(moment)(&F, NULL, 0, ab, 2, ef, 2);
                    for (int c = 0; c < m; c++)
                        for (int d = 0; d < m; d++) {
                            int cdef[4] = {c, d, e, f};
                            P->S4[DW_FW_I6(a, b, c, d, e, f)] = DW_FW_T(moment)(&F, ab, 2, NULL, 0, cdef, 4);
                            P->P4[DW_FW_I6(a, b, c, d, e, f)] = DW_FW_T(moment)(&F, NULL, 0, ab, 2, cdef, 4);
                        }
                }
                /* Q1_{a b e} = <d_e (sigma'_a sigma_b)> (theory's Q1_ace with c renamed b) */
                int pa[1] = {a}, pb[1] = {b}, pe[1] = {e};
                P->Q1[(a * 2 + b) * 2 + e] = DW_FW_T(moment)(&F, pb, 1, pa, 1, pe, 1);
            }
            for (int c = 0; c < m; c++)
                for (int d = 0; d < m; d++) {
                    int abcd[4] = {a, b, c, d}, cd[2] = {c, d};
                    P->SS[DW_FW_I4(a, b, c, d)] = DW_FW_T(moment)(&F, abcd, 4, NULL, 0, NULL, 0);
                    P->SP[DW_FW_I4(a, b, c, d)] = DW_FW_T(moment)(&F, ab, 2, cd, 2, NULL, 0);
                    P->PP[DW_FW_I4(a, b, c, d)] = DW_FW_T(moment)(&F, NULL, 0, abcd, 4, NULL, 0);
                }
        }
    P->err = F.err;
#undef F
}

dw_status DW_FW_T(dw_fw_prim_fill)(int m, bool deriv, DW_FW_T(dw_fw_moment_fn) mom, void *ctx, DW_FW_T(dw_fw_prim) *P,
                                   DW_FW_T(dw_fw_prim) *E)
{
    static _Thread_local DW_FW_T(fill_ctx) F; /* 75 KB: off the stack */
    F.m = m;
    F.mom = mom;
    F.ctx = ctx;
    F.err = 0.0;
    F.st = DW_OK;
    F.want_err = 0;
    if (++F.gen == 0) { /* wrapped: every stamp is stale again */
        memset(F.stamp, 0, sizeof F.stamp);
        F.gen = 1;
    }
    DW_FW_T(fill_pass)(&F, m, deriv, P);
    if (!F.st && E) { /* every moment is cached now: the same entries, their errors */
        F.want_err = 1;
        DW_FW_T(fill_pass)(&F, m, deriv, E);
        F.want_err = 0;
    }
    return F.st;
}
