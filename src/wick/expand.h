/* Internal interface of the expansion of polynomial-activation networks (theory.md 4.3), shared by its files:
 * expand.c (the network object's use, the driver and the outputs), expand_trees.c (the trees route: operator graphs
 * and their Wick pairings, residual skips included), expand_cond.c (the conditional route) and expand_residual.c
 * (the conditional route of residual networks). Not installed. */
#ifndef DW_WICK_EXPAND_H
#define DW_WICK_EXPAND_H

#include "wick/wick.h"

#define EXPAND_MAX_PAIRS 4000000.0  /* tree pairs */
#define EXPAND_MAX_EDGES 96
#define EXPAND_MAX_RECORD 20000
#define EXPAND_MAX_WORK 3e7 /* Wick pairings summed over the tree pairs */

typedef struct tnode {
    int kind;  /* 0 bias, 1 weight edge, 2 residual skip (the same unit one layer down) */
    int k;     /* children (level >= 2) */
    int first; /* into the level's pool; a skip: its child, a tree of the level below */
} tnode;

typedef struct tlevel {
    tnode *t;
    int n;
    int *pool;
    size_t npool;
    fmpq *coef; /* product of c_k over the tree's vertices */
    int *cnt;   /* n x (2 * (L + 2)): edges per (layer, kind) */
} tlevel;

typedef struct gedge {
    int layer, kind, parent, child, side;
} gedge;

typedef struct hclass {
    int power, a, b; /* N^power, q_xx^a q_xy^b q_yy^(nW1 - a - b) */
    uint64_t count;
} hclass;

typedef struct term {
    int t1, t2;
    int n_cls;
    hclass *cls;
    int *rep; /* a leading pairing: partner per edge */
    int n_edges, nW1;
    fmpq_t weight; /* coef(T1) coef(T2) sw^#W sb^#b */
} term;

struct dw_wick_expansion {
    int L, K;
    fmpq *c;
    fmpq_t sw, sb, q[3];
    int residual; /* layers 2..L are residual blocks */
    fmpq *gam, *al2; /* by layer 0..L+1: skip gamma_l and branch alpha_l^2 (0 and 1 outside the blocks) */
    int deg;
    fmpq *u; /* coefficient of N^{-k} */
    tlevel *lev;
    int record;
    term *terms;
    size_t n_terms, cap_terms;
    int truncated;
    char *coef_str, *json, *dot;
};

typedef struct graph {
    gedge ed[EXPAND_MAX_EDGES];
    int ne, nv;
    int vlayer[EXPAND_MAX_EDGES + 1];
} graph;

/* u_k += v (the coefficient of N^{-k}), growing the degree as needed. */
dw_status dw_wick_expand_add(dw_wick_expansion *e, int k, const fmpq_t v);
/* The edges of tree idx of `level` into g, below vertex `parent`, on side 0 (read at x) or 1 (at y); g->ne is
 * EXPAND_MAX_EDGES + 1 when the tree has too many edges. */
void dw_wick_expand_flatten(const dw_wick_expansion *e, graph *g, int level, int idx, int parent, int side);
/* The routes: each fills e->u (and, trees with e->record, the trees and the terms). */
dw_status dw_wick_expand_trees(dw_wick_expansion *e);
dw_status dw_wick_expand_conditional(dw_wick_expansion *e);
dw_status dw_wick_expand_residual(dw_wick_expansion *e);

#endif
