/* The Gaussian primitives of one layer (theory.md 1.6) from one bivariate moment function. Every primitive is
 * E[d^alpha (product of phi and phi' at the points of I)] with derivatives in the sense of distributions; the
 * factors at x form F = phi^i phi'^j, those at y form G, so each entry is one moment E[F^(nx)(u) G^(ny)(v)].
 * Entries share moments (S4 has 64 entries and at most 15 distinct moments per pair): which entry reads which
 * moment depends only on m and on whether derivatives are wanted, so that map (a plan) is built once, and a fill
 * evaluates each distinct moment once and scatters it. */
#include "finite/finite.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "finite/real_cfg.h"

#ifndef DW_FW_PRIM_PLAN
#define DW_FW_PRIM_PLAN
/* the primitives as one array (recur.c checks that s .. Q1 are contiguous): the offset of each member */
enum { O_S = 0, O_P = 4, O_S2 = 8, O_P2 = 24, O_S4 = 40, O_P4 = 104, O_SS = 168, O_SP = 184, O_PP = 200, O_Q1 = 216,
       PRIM_SLOTS = 224, SIDE = DW_FW_NF * 5, KEYS = SIDE * SIDE, PLAN_MOMS = 128 };

/* For m inputs, with or without derivatives: the distinct moments (their arguments ix, jx, nx, iy, jy, ny) and, for
 * every non-zero entry, its offset and its moment. Entries that are the derivative of the constant 1 (at either
 * point) stay 0, with error 0. */
typedef struct fill_plan {
    int nmom, nent;
    signed char arg[PLAN_MOMS][6];
    short slot[PRIM_SLOTS], mom[PRIM_SLOTS];
} fill_plan;

static fill_plan plans[2][2]; /* [m - 1][deriv] */
static pthread_once_t plans_once = PTHREAD_ONCE_INIT;

/* Record entry `slot`: the product of phi at the points phis, phi' at dphis, differentiated at derivs. */
static void plan_entry(fill_plan *pl, short *key_mom, int slot, const int *phis, int np, const int *dphis, int nd,
                       const int *derivs, int nv)
{
    int i[2] = {0, 0}, j[2] = {0, 0}, n[2] = {0, 0};
    for (int k = 0; k < np; k++) i[phis[k]]++;
    for (int k = 0; k < nd; k++) j[dphis[k]]++;
    for (int k = 0; k < nv; k++) n[derivs[k]]++;
    if ((i[0] + j[0] == 0 && n[0] > 0) || (i[1] + j[1] == 0 && n[1] > 0)) return; /* a derivative of the constant 1 */
    const int key = (dw_fw_fidx(i[0], j[0]) * 5 + n[0]) * SIDE + dw_fw_fidx(i[1], j[1]) * 5 + n[1];
    if (key_mom[key] < 0) {
        if (pl->nmom == PLAN_MOMS) abort(); /* cannot happen: 9 + 9 + 15 + 15 + 8 + 5 + 9 + 5 + 3 + 3 at most */
        const signed char a[6] = {(signed char)i[0], (signed char)j[0], (signed char)n[0],
                                  (signed char)i[1], (signed char)j[1], (signed char)n[1]};
        memcpy(pl->arg[pl->nmom], a, sizeof a);
        key_mom[key] = (short)pl->nmom++;
    }
    pl->slot[pl->nent] = (short)slot;
    pl->mom[pl->nent++] = key_mom[key];
}

static void plan_build(fill_plan *pl, int m, bool deriv)
{
    static short key_mom[KEYS]; /* under pthread_once */
    for (int k = 0; k < KEYS; k++) key_mom[k] = -1;
    pl->nmom = pl->nent = 0;
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            int ab[2] = {a, b};
            plan_entry(pl, key_mom, O_S + a * 2 + b, ab, 2, NULL, 0, NULL, 0);
            plan_entry(pl, key_mom, O_P + a * 2 + b, NULL, 0, ab, 2, NULL, 0);
            for (int e = 0; e < m && deriv; e++) {
                for (int f = 0; f < m; f++) {
                    int ef[2] = {e, f};
                    plan_entry(pl, key_mom, O_S2 + DW_FW_I4(a, b, e, f), ab, 2, NULL, 0, ef, 2);
                    plan_entry(pl, key_mom, O_P2 + DW_FW_I4(a, b, e, f), NULL, 0, ab, 2, ef, 2);
                    for (int c = 0; c < m; c++)
                        for (int d = 0; d < m; d++) {
                            int cdef[4] = {c, d, e, f};
                            plan_entry(pl, key_mom, O_S4 + DW_FW_I6(a, b, c, d, e, f), ab, 2, NULL, 0, cdef, 4);
                            plan_entry(pl, key_mom, O_P4 + DW_FW_I6(a, b, c, d, e, f), NULL, 0, ab, 2, cdef, 4);
                        }
                }
                /* Q1_{a b e} = <d_e (sigma'_a sigma_b)> (theory's Q1_ace with c renamed b) */
                int pa[1] = {a}, pb[1] = {b}, pe[1] = {e};
                plan_entry(pl, key_mom, O_Q1 + (a * 2 + b) * 2 + e, pb, 1, pa, 1, pe, 1);
            }
            for (int c = 0; c < m; c++)
                for (int d = 0; d < m; d++) {
                    int abcd[4] = {a, b, c, d}, cd[2] = {c, d};
                    plan_entry(pl, key_mom, O_SS + DW_FW_I4(a, b, c, d), abcd, 4, NULL, 0, NULL, 0);
                    plan_entry(pl, key_mom, O_SP + DW_FW_I4(a, b, c, d), ab, 2, cd, 2, NULL, 0);
                    plan_entry(pl, key_mom, O_PP + DW_FW_I4(a, b, c, d), NULL, 0, abcd, 4, NULL, 0);
                }
        }
}

static void plans_init(void)
{
    for (int m = 1; m <= 2; m++)
        for (int deriv = 0; deriv < 2; deriv++) plan_build(&plans[m - 1][deriv], m, deriv);
}
#endif

_Static_assert(offsetof(DW_FW_T(dw_fw_prim), S4) - offsetof(DW_FW_T(dw_fw_prim), s) == O_S4 * sizeof(REAL) &&
                   offsetof(DW_FW_T(dw_fw_prim), SS) - offsetof(DW_FW_T(dw_fw_prim), s) == O_SS * sizeof(REAL) &&
                   offsetof(DW_FW_T(dw_fw_prim), Q1) - offsetof(DW_FW_T(dw_fw_prim), s) == O_Q1 * sizeof(REAL),
               "DW_FW_T(dw_fw_prim): the plan's offsets");

dw_status DW_FW_T(dw_fw_prim_fill)(int m, bool deriv, DW_FW_T(dw_fw_moment_fn) mom, void *ctx, DW_FW_T(dw_fw_prim) *P,
                                   DW_FW_T(dw_fw_prim) *E)
{
    pthread_once(&plans_once, plans_init);
    const fill_plan *pl = &plans[m - 1][deriv];
    REAL val[PLAN_MOMS], err[PLAN_MOMS], emax = 0.0;
    for (int k = 0; k < pl->nmom; k++) {
        const signed char *a = pl->arg[k];
        dw_status st = mom(ctx, a[0], a[1], a[2], a[3], a[4], a[5], &val[k], &err[k]);
        if (st) return st;
        if (err[k] > emax) emax = err[k];
    }
    memset(P, 0, sizeof *P);
    REAL *pv = &P->s[0][0];
    for (int k = 0; k < pl->nent; k++) pv[pl->slot[k]] = val[pl->mom[k]];
    P->err = emax;
    if (E) { /* the same entries, their errors */
        memset(E, 0, sizeof *E);
        REAL *ev = &E->s[0][0];
        for (int k = 0; k < pl->nent; k++) ev[pl->slot[k]] = err[pl->mom[k]];
        E->err = emax;
    }
    return DW_OK;
}
