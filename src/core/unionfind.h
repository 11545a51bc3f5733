/* A union-find with rollback (internal, header only: it sits in the inner loops of the Wick engine's pairing
 * enumerations). Union by size without path compression, so that every union can be undone in reverse order: a
 * depth-first search unites, recurses, and rolls back to the mark it took before. The caller owns the arrays:
 * par and sz (n each), undo (room for every union in flight, at most n - 1). */
#ifndef DW_CORE_UNIONFIND_H
#define DW_CORE_UNIONFIND_H

typedef struct dw_uf {
    int *par, *sz; /* parent and class size per element */
    int *undo;     /* the roots attached, in order */
    int nundo;
    int classes; /* number of classes */
} dw_uf;

/* n singletons. */
static inline void dw_uf_reset(dw_uf *u, int n)
{
    for (int i = 0; i < n; i++) {
        u->par[i] = i;
        u->sz[i] = 1;
    }
    u->nundo = 0;
    u->classes = n;
}

static inline int dw_uf_find(const dw_uf *u, int x)
{
    while (u->par[x] != x) x = u->par[x];
    return x;
}

/* Joins the classes of a and b (1 if they were apart). */
static inline int dw_uf_unite(dw_uf *u, int a, int b)
{
    a = dw_uf_find(u, a);
    b = dw_uf_find(u, b);
    if (a == b) return 0;
    if (u->sz[a] < u->sz[b]) {
        const int t = a;
        a = b;
        b = t;
    }
    u->par[b] = a;
    u->sz[a] += u->sz[b];
    u->classes--;
    u->undo[u->nundo++] = b;
    return 1;
}

/* Undoes the unions made since u->nundo was `mark`. */
static inline void dw_uf_rollback(dw_uf *u, int mark)
{
    while (u->nundo > mark) {
        const int b = u->undo[--u->nundo], a = u->par[b];
        u->sz[a] -= u->sz[b];
        u->par[b] = b;
        u->classes++;
    }
}

#endif
