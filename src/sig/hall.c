/* Bases of the free Lie algebra for log-signatures (theory.md 5): the Hall basis beside the Lyndon basis
 * (tensor.c), and the expanded form (log S itself), behind one interface (dw_liebasis) for the log-signature, its
 * gradient, logsigtosig and logsigjoin.
 *
 * The Hall set is libalgebra's (CoRoPa), which iisignature's prepare(d, m, 'H') uses: the letters, then degree by
 * degree the pairs (i, j) of earlier elements with deg i + deg j = k, enumerated by the degree of i, then i, then j,
 * kept when i < j and either j is a letter or j = (l, r) with l <= i; element (i, j) is the bracket [h_i, h_j].
 * Unlike the Lyndon basis, its expansions are not triangular on the foliage words (the words read off the brackets:
 * in this mirrored convention the foliage of [2,[1,[1,2]]] cancels in its expansion), so coordinates go through the
 * Lyndon basis: the level-k Hall elements' Lyndon coordinates form a square matrix M_k (both are bases of the
 * degree-k Lie polynomials), factored once (LU, partial pivoting); the Hall coordinates of a Lie element are
 * M_k^{-1} (its Lyndon coordinates).
 */
#include "sig/sig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LU factorisation of the n x n matrix A (row-major, in place) with partial pivoting; perm[i] = the original row
 * now at row i. 0 when a pivot vanishes. */
static int lu_factor(double *A, size_t n, size_t *perm)
{
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t c = 0; c < n; c++) {
        size_t p = c;
        for (size_t r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        if (fabs(A[p * n + c]) < 1e-12) return 0;
        if (p != c) {
            for (size_t k = 0; k < n; k++) {
                const double x = A[c * n + k];
                A[c * n + k] = A[p * n + k];
                A[p * n + k] = x;
            }
            const size_t x = perm[c];
            perm[c] = perm[p];
            perm[p] = x;
        }
        const double inv = 1.0 / A[c * n + c];
        for (size_t r = c + 1; r < n; r++) {
            const double f = A[r * n + c] * inv;
            if (f == 0.0) continue;
            A[r * n + c] = f;
            for (size_t k = c + 1; k < n; k++) A[r * n + k] -= f * A[c * n + k];
        }
    }
    return 1;
}

dw_status dw_hall_init(dw_liebasis *b, const dw_tens *t)
{
    const size_t d = t->d;
    const int n = t->n;
    dw_lyndon *ly = &b->ly;
    size_t count = 0;
    double lu = 0.0, entries = 0.0;
    for (int k = 1; k <= n; k++) {
        const size_t c = dw_lyndon_count(d, k); /* Witt's formula counts the Hall elements of degree k as well */
        if ((!c && !(d == 1 && k > 1)) || count > SIZE_MAX / 64 - c)
            return dw_fail(DW_ERR_NOMEM, "level %d: too many Hall elements", n);
        count += c;
        lu += (double)c * (double)c;
        entries += (double)c * (k < 60 ? (double)(1ULL << (k - 1)) : 1e18);
    }
    dw_status s = dw_core_check_alloc(lu * 8.0 + entries * 40.0 + (double)count * 80.0 + (double)t->off[n + 1] * 8.0,
                                      "the Hall basis (log-signature)");
    if (s) return s;
    ly->count = b->count = count;
    ly->level_of = dw_alloc(count, sizeof(size_t), "Hall basis");
    ly->index = dw_alloc(count, sizeof(size_t), "Hall basis");
    ly->fstart = dw_alloc(count + 1, sizeof(size_t), "Hall basis");
    ly->start = dw_calloc(count + 1, sizeof(size_t), "Hall basis"); /* no triangular system: start[] all 0 */
    size_t *left = dw_alloc(count, sizeof(size_t), "Hall basis"), *right = dw_alloc(count, sizeof(size_t), "Hall basis");
    dw_lie_poly *ex = dw_calloc(count, sizeof(dw_lie_poly), "Hall expansions");
    double *T = dw_alloc(t->off[n + 1] + count, sizeof(double), "Hall basis"), *y = T ? T + t->off[n + 1] : NULL;
    b->lu = dw_alloc((size_t)lu + 1, sizeof(double), "Hall basis factors");
    b->piv = dw_alloc(count, sizeof(size_t), "Hall basis factors");
    if (!ly->level_of || !ly->index || !ly->fstart || !ly->start || !left || !right || !ex || !T || !b->lu ||
        !b->piv) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    size_t m = 0, tot = 0;
    for (int k = 1; k <= n; k++) {
        b->first[k] = m;
        if (k == 1) {
            for (size_t a = 0; a < d; a++, m++) {
                left[m] = SIZE_MAX;
                right[m] = a;
                ly->level_of[m] = 1;
                ly->index[m] = a;
                ex[m].word = malloc(sizeof(size_t));
                ex[m].c = malloc(sizeof(double));
                if (!ex[m].word || !ex[m].c) goto nomem;
                ex[m].word[0] = a;
                ex[m].c[0] = 1.0;
                ex[m].n = 1;
            }
        } else {
            for (int e = 1; 2 * e <= k; e++)
                for (size_t i = b->first[e]; i < b->first[e + 1]; i++) {
                    const size_t j0 = b->first[k - e] > i + 1 ? b->first[k - e] : i + 1;
                    for (size_t j = j0; j < b->first[k - e + 1]; j++) {
                        if (left[j] != SIZE_MAX && left[j] > i) continue;
                        left[m] = i;
                        right[m] = j;
                        ly->level_of[m] = (size_t)k;
                        ly->index[m] = ly->index[i] * t->pw[k - e] + ly->index[j];
                        if (!dw_lie_bracket(&ex[i], t->pw[e], &ex[j], t->pw[k - e], &ex[m])) goto nomem;
                        m++;
                    }
                }
        }
        b->first[k + 1] = m;
        if (m - b->first[k] != dw_lyndon_count(d, k)) {
            s = dw_fail(DW_ERR_INTERNAL, "Hall basis: %zu elements of degree %d, expected %zu", m - b->first[k], k,
                        dw_lyndon_count(d, k));
            goto done;
        }
    }
    for (size_t i = 0; i < count; i++) tot += ex[i].n;
    ly->full_word = dw_alloc(tot + 1, sizeof(size_t), "Hall expansions");
    ly->full_coef = dw_alloc(tot + 1, sizeof(double), "Hall expansions");
    if (!ly->full_word || !ly->full_coef) {
        s = DW_ERR_NOMEM;
        goto done;
    }
    tot = 0;
    for (size_t i = 0; i < count; i++) {
        ly->fstart[i] = tot;
        memcpy(ly->full_word + tot, ex[i].word, ex[i].n * sizeof(size_t));
        memcpy(ly->full_coef + tot, ex[i].c, ex[i].n * sizeof(double));
        tot += ex[i].n;
    }
    ly->fstart[count] = tot;
    /* per level: column j of M_k = the Lyndon coordinates of P_j, factored */
    if ((s = dw_lyndon_init(&b->lyn, t))) goto done;
    size_t off = 0;
    for (int k = 1; k <= n; k++) {
        const size_t f = b->first[k], nk = b->first[k + 1] - f;
        b->lu_off[k] = off;
        double *A = b->lu + off;
        for (size_t j = 0; j < nk; j++) {
            memset(T, 0, t->off[n + 1] * sizeof(double));
            for (size_t e = 0; e < ex[f + j].n; e++) T[t->off[k] + ex[f + j].word[e]] = ex[f + j].c[e];
            dw_lyndon_project(&b->lyn, t, T, y);
            for (size_t r = 0; r < nk; r++) A[r * nk + j] = y[f + r];
        }
        if (!lu_factor(A, nk, b->piv + f)) {
            s = dw_fail(DW_ERR_INTERNAL, "Hall basis: the level-%d change of basis is singular", k);
            goto done;
        }
        off += nk * nk;
    }
    b->lu_off[n + 1] = off;
    b->left = left; /* kept for the labels (basis_labels.c) */
    b->right = right;
    left = right = NULL;
    s = DW_OK;
    goto done;
nomem:
    s = dw_fail(DW_ERR_NOMEM, "Hall expansions: out of memory");
done:
    if (ex)
        for (size_t i = 0; i < count; i++) {
            free(ex[i].word);
            free(ex[i].c);
        }
    free(ex);
    free(left);
    free(right);
    free(T);
    return s;
}

dw_status dw_liebasis_init(dw_liebasis *b, const dw_tens *t, int basis)
{
    memset(b, 0, sizeof *b);
    b->basis = basis;
    dw_status s = DW_OK;
    if (basis == DW_SIG_EXPANDED) b->count = t->off[t->n + 1];
    else if (basis == DW_SIG_HALL) s = dw_hall_init(b, t);
    else if (!(s = dw_lyndon_init(&b->ly, t))) b->count = b->ly.count;
    if (s) dw_liebasis_clear(b);
    return s;
}

void dw_liebasis_clear(dw_liebasis *b)
{
    if (!b) return;
    dw_lyndon_clear(&b->ly);
    dw_lyndon_clear(&b->lyn);
    free(b->lu);
    free(b->piv);
    free(b->left);
    free(b->right);
    memset(b, 0, sizeof *b);
}

void dw_liebasis_project(const dw_liebasis *b, const dw_tens *t, const double *L, double *out, double *work)
{
    if (b->basis == DW_SIG_EXPANDED) {
        memcpy(out, L, b->count * sizeof(double));
        return;
    }
    if (b->basis == DW_SIG_LYNDON) {
        dw_lyndon_project(&b->ly, t, L, out);
        return;
    }
    double *cl = work, *y = work + b->count; /* M c = the Lyndon coordinates: P M = LU, so L U c = P cl */
    dw_lyndon_project(&b->lyn, t, L, cl);
    for (int k = 1; k <= t->n; k++) {
        const size_t f = b->first[k], nk = b->first[k + 1] - f;
        const double *A = b->lu + b->lu_off[k];
        double *c = out + f;
        for (size_t i = 0; i < nk; i++) {
            double v = cl[f + b->piv[f + i]];
            for (size_t j = 0; j < i; j++) v -= A[i * nk + j] * y[j];
            y[i] = v;
        }
        for (size_t i = nk; i-- > 0;) {
            double v = y[i];
            for (size_t j = i + 1; j < nk; j++) v -= A[i * nk + j] * c[j];
            c[i] = v / A[i * nk + i];
        }
    }
}

void dw_liebasis_project_adjoint(const dw_liebasis *b, const dw_tens *t, const double *g, double *gL, double *work)
{
    if (b->basis == DW_SIG_EXPANDED) {
        memcpy(gL, g, b->count * sizeof(double));
        return;
    }
    if (b->basis == DW_SIG_LYNDON) {
        dw_lyndon_project_adjoint(&b->ly, t, g, gL, work);
        return;
    }
    double *gc = work, *z = work + b->count; /* gc = M^-T g = P^T L^-T U^-T g, then the Lyndon adjoint */
    for (int k = 1; k <= t->n; k++) {
        const size_t f = b->first[k], nk = b->first[k + 1] - f;
        const double *A = b->lu + b->lu_off[k], *gk = g + f;
        for (size_t i = 0; i < nk; i++) {
            double v = gk[i];
            for (size_t j = 0; j < i; j++) v -= A[j * nk + i] * z[j];
            z[i] = v / A[i * nk + i];
        }
        for (size_t i = nk; i-- > 0;) {
            double v = z[i];
            for (size_t j = i + 1; j < nk; j++) v -= A[j * nk + i] * z[j];
            z[i] = v;
            gc[f + b->piv[f + i]] = v;
        }
    }
    dw_lyndon_project_adjoint(&b->lyn, t, gc, gL, z);
}

void dw_liebasis_expand(const dw_liebasis *b, const dw_tens *t, const double *c, double *L)
{
    if (b->basis == DW_SIG_EXPANDED) memcpy(L, c, b->count * sizeof(double));
    else dw_lyndon_expand(&b->ly, t, c, L);
}

void dw_liebasis_expand_adjoint(const dw_liebasis *b, const dw_tens *t, const double *gL, double *gc)
{
    if (b->basis == DW_SIG_EXPANDED) {
        memcpy(gc, gL, b->count * sizeof(double));
        return;
    }
    const dw_lyndon *ly = &b->ly;
    for (size_t u = 0; u < ly->count; u++) {
        const double *gk = gL + t->off[ly->level_of[u]];
        double s = 0.0;
        for (size_t e = ly->fstart[u]; e < ly->fstart[u + 1]; e++) s += gk[ly->full_word[e]] * ly->full_coef[e];
        gc[u] = s;
    }
}
