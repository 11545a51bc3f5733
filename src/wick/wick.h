/* Internal interface of the Wick and genus engine (theory.md 4). Not installed.
 *
 * A parsed expression is a product of traces of words; every letter occurrence is reduced, for its ensemble, to
 * an entry X_{r c} (or its conjugate) of matrix m between two index slots r, c. Slot s is the index between
 * position s - 1 and position s of its trace, so the occurrence at position s runs from slot s to slot next(s)
 * (the next position of the same trace, cyclically). */
#ifndef DW_WICK_INTERNAL_H
#define DW_WICK_INTERNAL_H

#include "core/internal.h"
#include "core/rational.h"
#include "core/sbuf.h"

#include <flint/fmpq.h>
#include <flint/fmpz.h>
#include <stdbool.h>
#include <stdint.h>

#define DW_WICK_MAX_LETTERS 4096 /* letters of an expression after powers are expanded */
#define DW_WICK_MAX_DEPTH 64     /* nesting of parentheses */
#define DW_WICK_MAX_TEXT 65536   /* characters of an expression */
#define DW_WICK_MAX_NAME 32
#define DW_WICK_LOE_MAX 50     /* real Ginibre recurrence: verified against the loop equations for k <= this */

typedef enum dw_wick_ens {
    DW_ENS_GUE = 0,
    DW_ENS_GOE,
    DW_ENS_GINIBRE,         /* real Ginibre */
    DW_ENS_CGINIBRE,        /* complex Ginibre */
    DW_ENS_IID              /* real i.i.d. entries xi / sqrt N with given even moments (symmetric law) */
} dw_wick_ens;

/* The law of one matrix. For DW_ENS_IID, mom[k] = E xi^{2k} (mom[0] = mom[1] = 1) for k < n_mom; when all_mom
 * is set the moments are known for every k (rademacher: 1; sparse: (2k-1)!! p^{1-k}). */
typedef struct dw_wick_law {
    dw_wick_ens ens;
    char spec[64]; /* canonical spelling */
    int all_mom;   /* 1 rademacher, 2 sparse */
    fmpq_t p;      /* sparse probability */
    int n_mom;
    fmpq *mom;
} dw_wick_law;

typedef struct dw_wick_letter {
    int mat;       /* matrix id (index into names / laws) */
    int trace;     /* trace it belongs to */
    int from, to;  /* slots (from = its own position) */
    int r, c;      /* entry X_{r c} after transposes */
    int conj;      /* complex conjugate of the entry (complex Ginibre only; GUE folds it into r, c) */
    int tflip;     /* r == to: the entry is read against the trace's orientation (for orientability) */
    int op_t, op_c;/* the letter's transpose / conjugation bits as written (for printing) */
} dw_wick_letter;

typedef struct dw_wick_word {
    int n;                   /* letters = slots */
    int n_traces;
    int n_mats;
    dw_wick_letter *let;     /* n */
    int *trace_start;        /* n_traces + 1 */
    char (*names)[DW_WICK_MAX_NAME]; /* n_mats */
    dw_wick_law *laws;       /* n_mats */
    int *mat_count;          /* letters per matrix */
    int gaussian;            /* every law Gaussian */
} dw_wick_word;

/* Parse `expr` (see dw_wick_compute) and attach the laws of `ensembles` ("A=goe,B=gue", or one ensemble for all
 * letters, NULL for GUE). Errors name the column. */
dw_status dw_wick_word_parse(dw_wick_word *w, const char *expr, const char *ensembles);
void dw_wick_word_clear(dw_wick_word *w);
/* Parse one law ("gue", "sparse:0.1", "moments:3,15"). */
dw_status dw_wick_law_parse(dw_wick_law *law, const char *spec);
void dw_wick_law_clear(dw_wick_law *law);
/* E xi^{k} of an i.i.d. law as an exact rational (k even), or an error if the law does not give it. */
dw_status dw_wick_law_moment(fmpq_t out, const dw_wick_law *law, int k, const char *name);

/* A Laurent polynomial in N: coef[e - lo] for exponents lo..hi. */
typedef struct dw_laurent {
    long lo, hi;
    fmpq *coef; /* hi - lo + 1 entries, NULL when zero */
} dw_laurent;
void dw_laurent_init(dw_laurent *p);
void dw_laurent_clear(dw_laurent *p);
dw_status dw_laurent_add_term(dw_laurent *p, long e, const fmpq_t c); /* p += c N^e */
void dw_laurent_normalise(dw_laurent *p);                            /* trims zero ends */

/* Route 1 output per Euler characteristic: counts of orientable and non-orientable gluings. */
typedef struct dw_wick_genus {
    long chi;
    long power;         /* exponent of N of each such gluing */
    fmpz_t orientable, nonorientable;
} dw_wick_genus;

typedef struct dw_wick_pairing_rec {
    int *partner;  /* n: partner of every letter */
    char *twist;   /* n: gluing type per pair (GOE: 1 = straight r~r, c~c) */
    long chi, power;
    int orientable;
} dw_wick_pairing_rec;

struct dw_wick_result {
    dw_wick_word word;
    dw_laurent value;
    const char *route;
    int normalized;
    int has_genus;
    size_t n_genus;
    dw_wick_genus *genus;
    size_t n_pairings;
    dw_wick_pairing_rec *pairings;
    fmpz_t terms; /* pairings or partitions summed (0 for the recursion) */
    char *json, *text, *coef_str;
};

/* The options object (opts.c). */
struct dw_wick_opts {
    char *ensembles; /* owned; NULL: every letter GUE */
    bool normalized;
    dw_wick_route route;
    size_t max_pairings;
    int threads; /* 0: the OpenMP default */
    size_t max_letters;
};

/* The polynomial network of the operator-graph expansion (polynet.c): exact values, parsed by the setters. */
struct dw_wick_net {
    int depth;     /* -1: not set */
    int n_coef;    /* 0: not set */
    fmpq *coef;    /* n_coef */
    fmpq_t sw, sb; /* weight and bias variances */
    int n_res;     /* residual blocks given: 0 none, 1 the same at every layer, else one per block */
    fmpq *gam, *al2; /* n_res skip factors gamma and branch variances alpha^2 */
};

/* Routes: each fills res->value (and genus where it has one); the word is res->word. */
dw_status dw_wick_route_pairings(struct dw_wick_result *res, size_t max_list, int threads);
dw_status dw_wick_route_partitions(struct dw_wick_result *res);
/* 1 when the recursion applies (one trace of one GUE or GOE letter, or of one complex (real) Ginibre letter
 * alternating with its adjoint (transpose), the latter up to k = DW_WICK_LOE_MAX); then fills res. */
int dw_wick_recursion_applies(const dw_wick_word *w);
dw_status dw_wick_route_recursion(struct dw_wick_result *res);
/* Harer-Zagier numbers e_g(n), g = 0..n/2, for n = 0..nmax: table[n][g] (caller clears with the sizes). */
dw_status dw_wick_harer_zagier(fmpz **table, int nmax);

/* Upper estimates of the work (number of pairings / partition-tree nodes) of each route. */
double dw_wick_pairings_estimate(const dw_wick_word *w);

#endif
