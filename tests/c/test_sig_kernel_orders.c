/* Signature kernels with a pair of dyadic orders, the PDE grids of pairs, and tiles (theory.md 5), by independent
 * routes:
 * - orders (ox + a, oy) on (x, y) against orders (ox, oy) on (x refined by hand: 2^a - 1 equally spaced points
 *   inserted in each segment, y), linear static kernel: the same cells and the same increment products up to the
 *   rounding of the inserted points (tolerance: the cells' count times the unit roundoff); likewise on Y's side;
 * - the grid: row 0 and column 0 are 1, entry (p 2^ox, q 2^oy) is bit for bit the kernel of the prefixes
 *   x_0..x_p and y_0..y_q computed as their own Gram matrices, the last entry the Gram entry; independent of the
 *   thread count; one-point paths give one row or column of ones;
 * - K(X, X) with unequal orders = K(X, Y = a copy of X), not symmetric; tiles (with path transforms) = the Gram
 *   matrix bit for bit, and a tile reads only its own paths;
 * - the gradient with unequal orders (paths and scale, both static kernels, K(X, Y) and K(X, X)) against
 *   fourth-order central differences of the forward, within the stencil's own error estimate (the change from
 *   step 2h to h) plus the rounding floor;
 * - the errors: an order out of range, a NULL Y for the grid.
 */
#include "check.h"
#include "deepwick.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double urand(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Random-walk paths (n x len x d) with steps in [-amp, amp]. */
static void walk(double *X, size_t n, size_t len, size_t d, double amp, unsigned long long seed)
{
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < len; i++)
            for (size_t a = 0; a < d; a++)
                X[(b * len + i) * d + a] =
                    (i ? X[(b * len + i - 1) * d + a] : 0.0) + amp * (2.0 * urand(&seed) - 1.0);
}

/* Each segment of each path cut into 2^a equal pieces: (len - 1) 2^a + 1 points. */
static double *refine(const double *X, size_t n, size_t len, size_t d, int a)
{
    const size_t R = (size_t)1 << a, len2 = (len - 1) * R + 1;
    double *Z = malloc(n * len2 * d * sizeof *Z);
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < len2; i++) {
            const size_t I = i / R < len - 1 ? i / R : len - 2, k = i - I * R;
            for (size_t c = 0; c < d; c++) {
                const double x0 = X[(b * len + I) * d + c], x1 = X[(b * len + I + 1) * d + c];
                Z[(b * len2 + i) * d + c] = x0 + (x1 - x0) * ((double)k / (double)R);
            }
        }
    return Z;
}

static dw_sig_kernel_opts *kopts(int ox, int oy, dw_sig_static st, int threads)
{
    dw_sig_kernel_opts *o = NULL;
    CHECK(dw_sig_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_dyadic_order(o, ox) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_dyadic_order_y(o, oy) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_static(o, st) == DW_OK);
    if (threads) CHECK(dw_sig_kernel_opts_set_threads(o, threads) == DW_OK);
    return o;
}

static void test_orders_vs_refinement(void)
{
    enum { N = 3, M = 4, LX = 6, LY = 5, D = 3 };
    double X[N * LX * D], Y[M * LY * D], K1[N * M], K2[N * M];
    walk(X, N, LX, D, 0.4, 11);
    walk(Y, M, LY, D, 0.4, 12);
    const int cases[][3] = {{0, 0, 2}, {1, 2, 1}, {2, 0, 3}}; /* ox, oy, a */
    for (int c = 0; c < 3; c++) {
        const int ox = cases[c][0], oy = cases[c][1], a = cases[c][2];
        const size_t lx2 = (LX - 1) * ((size_t)1 << a) + 1, ly2 = (LY - 1) * ((size_t)1 << a) + 1;
        double *Xr = refine(X, N, LX, D, a), *Yr = refine(Y, M, LY, D, a);
        const double cells = ldexp((double)((LX - 1) * (LY - 1)), ox + oy + a);
        const double tol = cells * DBL_EPSILON;
        /* X's side: orders (ox + a, oy) on X = (ox, oy) on X refined by 2^a */
        dw_sig_kernel_opts *o1 = kopts(ox + a, oy, DW_SIG_LINEAR, 0), *o2 = kopts(ox, oy, DW_SIG_LINEAR, 0);
        CHECK(dw_sig_kernel_gram(o1, X, N, LX, Y, M, LY, D, K1) == DW_OK);
        CHECK(dw_sig_kernel_gram(o2, Xr, N, lx2, Y, M, LY, D, K2) == DW_OK);
        for (int e = 0; e < N * M; e++) CHECK_CLOSE(K1[e], K2[e], tol, 0.0);
        dw_sig_kernel_opts_clear(o1);
        /* Y's side */
        o1 = kopts(ox, oy + a, DW_SIG_LINEAR, 0);
        CHECK(dw_sig_kernel_gram(o1, X, N, LX, Y, M, LY, D, K1) == DW_OK);
        CHECK(dw_sig_kernel_gram(o2, X, N, LX, Yr, M, ly2, D, K2) == DW_OK);
        for (int e = 0; e < N * M; e++) CHECK_CLOSE(K1[e], K2[e], tol, 0.0);
        dw_sig_kernel_opts_clear(o1);
        dw_sig_kernel_opts_clear(o2);
        free(Xr);
        free(Yr);
    }
}

static void test_grid(void)
{
    enum { N = 18, LX = 4, LY = 3, D = 2, OX = 1, OY = 2 }; /* 18 pairs: two groups of lanes and a ragged one */
    const size_t H = ((LX - 1) << OX) + 1, W = ((LY - 1) << OY) + 1;
    double X[N * LX * D], Y[N * LY * D], K[N * N];
    walk(X, N, LX, D, 0.5, 21);
    walk(Y, N, LY, D, 0.5, 22);
    double *G = malloc(N * H * W * sizeof *G), *G3 = malloc(N * H * W * sizeof *G3);
    for (int st = 0; st < 2; st++) {
        dw_sig_kernel_opts *o = kopts(OX, OY, st ? DW_SIG_RBF : DW_SIG_LINEAR, 1);
        dw_sig_kernel_opts *o3 = kopts(OX, OY, st ? DW_SIG_RBF : DW_SIG_LINEAR, 3);
        size_t rows = 0, cols = 0;
        CHECK(dw_sig_kernel_grid_shape(o, LX, LY, D, &rows, &cols) == DW_OK && rows == H && cols == W);
        CHECK(dw_sig_kernel_grid(o, X, Y, N, LX, LY, D, G) == DW_OK);
        CHECK(dw_sig_kernel_grid(o3, X, Y, N, LX, LY, D, G3) == DW_OK);
        CHECK(memcmp(G, G3, N * H * W * sizeof *G) == 0);
        CHECK(dw_sig_kernel_gram(o, X, N, LX, Y, N, LY, D, K) == DW_OK);
        int edges = 1, ends = 1, prefixes = 1;
        for (size_t b = 0; b < N; b++) {
            const double *g = G + b * H * W;
            for (size_t q = 0; q < W; q++) edges &= g[q] == 1.0;
            for (size_t p = 0; p < H; p++) edges &= g[p * W] == 1.0;
            ends &= g[H * W - 1] == K[b * N + b];
            for (size_t p = 1; p < LX; p++) /* the prefixes' kernels, each its own 1 x 1 Gram matrix */
                for (size_t q = 1; q < LY; q++) {
                    double k;
                    CHECK(dw_sig_kernel_gram(o, X + b * LX * D, 1, p + 1, Y + b * LY * D, 1, q + 1, D, &k) == DW_OK);
                    prefixes &= g[(p << OX) * W + (q << OY)] == k;
                }
        }
        CHECK(edges);
        CHECK(ends);
        CHECK(prefixes);
        dw_sig_kernel_opts_clear(o);
        dw_sig_kernel_opts_clear(o3);
    }
    /* one-point paths: one row of ones; with lead-lag the shape follows the transformed length */
    dw_sig_kernel_opts *o = kopts(OX, OY, DW_SIG_LINEAR, 0);
    size_t rows, cols;
    CHECK(dw_sig_kernel_grid_shape(o, 1, LY, D, &rows, &cols) == DW_OK && rows == 1 && cols == W);
    for (size_t e = 0; e < 2 * W; e++) G[e] = 0.0;
    CHECK(dw_sig_kernel_grid(o, X, Y, 2, 1, LY, D, G) == DW_OK);
    int ones = 1;
    for (size_t e = 0; e < 2 * W; e++) ones &= G[e] == 1.0;
    CHECK(ones);
    CHECK(dw_sig_kernel_opts_set_lead_lag(o, true) == DW_OK);
    CHECK(dw_sig_kernel_grid_shape(o, LX, LY, D, &rows, &cols) == DW_OK);
    CHECK(rows == ((2 * LX - 2) << OX) + 1 && cols == ((2 * LY - 2) << OY) + 1);
    /* errors */
    CHECK(dw_sig_kernel_grid(o, X, NULL, N, LX, LY, D, G) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "NULL Y") != NULL);
    CHECK(dw_sig_kernel_grid_shape(o, 0, LY, D, &rows, &cols) == DW_ERR_INVALID);
    CHECK(dw_sig_kernel_opts_set_dyadic_order_y(o, 41) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "dyadic_order: must be between 0 and 40 (got 41)") != NULL);
    CHECK(dw_sig_kernel_opts_set_dyadic_order_y(NULL, 1) == DW_ERR_INVALID);
    dw_sig_kernel_opts_clear(o);
    free(G);
    free(G3);
}

static void test_unsymmetric_and_tiles(void)
{
    enum { N = 5, L = 4, D = 2 };
    double X[N * L * D], Xc[N * L * D], K[N * N], Kc[N * N], T[N * N];
    walk(X, N, L, D, 0.5, 31);
    memcpy(Xc, X, sizeof X);
    dw_sig_kernel_opts *o = kopts(0, 2, DW_SIG_LINEAR, 0);
    CHECK(dw_sig_kernel_gram(o, X, N, L, NULL, 0, 0, D, K) == DW_OK);
    CHECK(dw_sig_kernel_gram(o, X, N, L, Xc, N, L, D, Kc) == DW_OK);
    CHECK(memcmp(K, Kc, sizeof K) == 0);
    CHECK(K[1] != K[N]); /* k(x_0, x_1) refines x_0 by 1 and x_1 by 4: not k(x_1, x_0) */
    CHECK(dw_sig_kernel_opts_set_time_aug(o, true) == DW_OK);
    CHECK(dw_sig_kernel_opts_set_basepoint(o, true) == DW_OK);
    for (int sym = 0; sym < 2; sym++) {
        const double *Y = sym ? NULL : Xc;
        CHECK(dw_sig_kernel_gram(o, X, N, L, Y, N, L, D, K) == DW_OK);
        for (size_t i0 = 0; i0 < N; i0 += 2) /* 2 x 3 tiles, ragged at the edges */
            for (size_t j0 = 0; j0 < N; j0 += 3)
                CHECK(dw_sig_kernel_tile(o, X, N, L, Y, N, L, D, i0, i0 + 2 < N ? i0 + 2 : N, j0,
                                         j0 + 3 < N ? j0 + 3 : N, N, T + i0 * N + j0) == DW_OK);
        CHECK(memcmp(K, T, sizeof K) == 0);
    }
    /* a tile reads only its own paths: a NaN outside it goes unnoticed, inside it is named in the whole batch */
    X[3 * L * D + 1] = NAN;
    CHECK(dw_sig_kernel_tile(o, X, N, L, NULL, 0, 0, D, 0, 2, 1, 3, N, T) == DW_OK);
    CHECK(dw_sig_kernel_tile(o, X, N, L, Xc, N, L, D, 3, 4, 0, 1, N, T) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "X: path 4, point 1, channel 2 is not finite") != NULL);
    CHECK(dw_sig_kernel_tile(o, X, N, L, NULL, 0, 0, D, 0, 1, 2, 5, N, T) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "X: path 4,") != NULL);
    dw_sig_kernel_opts_clear(o);
}

/* sum_ij GK[i, j] K[i, j] (Y NULL: K(X, X)) */
static double loss(const dw_sig_kernel_opts *o, const double *X, size_t n, const double *Y, size_t m, size_t lx,
                   size_t ly, size_t d, const double *GK)
{
    double K[16], s = 0.0;
    CHECK(dw_sig_kernel_gram(o, X, n, lx, Y, m, ly, d, K) == DW_OK);
    for (size_t e = 0; e < n * m; e++) s += GK[e] * K[e];
    return s;
}

/* Fourth-order central difference of loss along coordinate v[e] (step h), v = X or Y, or the scale (v NULL). */
static double fd(dw_sig_kernel_opts *o, double *X, size_t n, double *Y, size_t m, size_t lx, size_t ly, size_t d,
                 const double *GK, double *v, double h, double scale)
{
    const double w[4] = {1.0, -8.0, 8.0, -1.0}, t[4] = {-2.0, -1.0, 1.0, 2.0};
    double s = 0.0;
    for (int k = 0; k < 4; k++) {
        double keep = 0.0;
        if (v) {
            keep = *v;
            *v = keep + t[k] * h;
        } else CHECK(dw_sig_kernel_opts_set_scale(o, scale + t[k] * h) == DW_OK);
        s += w[k] * loss(o, X, n, Y, m, lx, ly, d, GK);
        if (v) *v = keep;
    }
    if (!v) CHECK(dw_sig_kernel_opts_set_scale(o, scale) == DW_OK);
    return s / (12.0 * h);
}

static void test_gradient_vs_differences(void)
{
    enum { N = 2, M = 3, LX = 4, LY = 3, D = 2 };
    double X[N * LX * D], Y[M * LY * D], GK[N * M], gX[N * LX * D], gY[M * LY * D], gs;
    walk(X, N, LX, D, 0.5, 41);
    walk(Y, M, LY, D, 0.5, 42);
    for (int e = 0; e < N * M; e++) GK[e] = 0.3 * e - 0.7;
    const double h = 1e-3, scale = 0.8;
    for (int st = 0; st < 2; st++)
        for (int sym = 0; sym < 2; sym++) {
            dw_sig_kernel_opts *o = kopts(sym ? 2 : 1, sym ? 0 : 3, st ? DW_SIG_RBF : DW_SIG_LINEAR, 0);
            CHECK(dw_sig_kernel_opts_set_scale(o, scale) == DW_OK);
            double *Yp = sym ? NULL : Y;
            const size_t m = sym ? N : M, ly = sym ? LX : LY;
            CHECK(dw_sig_kernel_gram_backward(o, X, N, LX, Yp, m, ly, D, GK, gX, sym ? NULL : gY, &gs) == DW_OK);
            const double floor = 100.0 * DBL_EPSILON * (1.0 + fabs(loss(o, X, N, Yp, m, LX, ly, D, GK))) / h;
            int ok = 1;
            const size_t nv = N * LX * D + (sym ? 0 : M * LY * D) + 1;
            for (size_t e = 0; e < nv; e++) {
                double *v = e < N * LX * D ? X + e : e + 1 < nv ? Y + (e - N * LX * D) : NULL;
                const double g = e < N * LX * D ? gX[e] : e + 1 < nv ? gY[e - N * LX * D] : gs;
                const double f1 = fd(o, X, N, Yp, m, LX, ly, D, GK, v, h, scale);
                const double f2 = fd(o, X, N, Yp, m, LX, ly, D, GK, v, 2 * h, scale);
                if (!(fabs(g - f1) <= fabs(f2 - f1) + floor)) {
                    ok = 0;
                    fprintf(stderr, "static %d sym %d coordinate %zu: adjoint %.15g, differences %.15g (2h: %.15g)\n",
                            st, sym, e, g, f1, f2);
                }
            }
            CHECK(ok);
            dw_sig_kernel_opts_clear(o);
        }
}

int main(void)
{
    test_orders_vs_refinement();
    test_grid();
    test_unsymmetric_and_tiles();
    test_gradient_vs_differences();
    return check_done("sig_kernel_orders");
}
