/* dw_sample_network_gram on a given network (dw_net_set_given; the scales ws_l, bs_l are the layers'
 * weight_var, bias_var): the empirical NTK / NNGP of a given network against two independent routes: the
 * parameter derivatives of a 2-layer relu network written out by hand, and central finite differences of
 * dw_sample_forward in every parameter of a deeper tanh network (no back-propagation); thread independence,
 * symmetry, error paths. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Theta of a d-H-K relu network by hand: df_k/dW2[k, j] = a_j, df_k/db2[k] = 1, df_k/dW1[j, m] = W2[k, j] 1[h_j > 0]
 * x_m, df_k/db1[j] = W2[k, j] 1[h_j > 0]; scales ws, bs per layer; averaged over k. */
static void relu2_by_hand(const double *W1, const double *b1, const double *W2, const double *X, size_t n, size_t d,
                          size_t H, size_t K, const double *ws, const double *bs, double *T)
{
    double *a = calloc(n * H, sizeof *a), *m = calloc(n * H, sizeof *m);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < H; j++) {
            double h = b1[j];
            for (size_t q = 0; q < d; q++) h += W1[j * d + q] * X[i * d + q];
            a[i * H + j] = h > 0 ? h : 0;
            m[i * H + j] = h > 0;
        }
    for (size_t x = 0; x < n; x++)
        for (size_t y = 0; y < n; y++) {
            double aa = 0, xx = 0, t = 0;
            for (size_t j = 0; j < H; j++) aa += a[x * H + j] * a[y * H + j];
            for (size_t q = 0; q < d; q++) xx += X[x * d + q] * X[y * d + q];
            for (size_t k = 0; k < K; k++) {
                t += ws[1] * aa + bs[1];
                for (size_t j = 0; j < H; j++)
                    t += W2[k * H + j] * W2[k * H + j] * m[x * H + j] * m[y * H + j] * (ws[0] * xx + bs[0]);
            }
            T[x * n + y] = t / (double)K;
        }
    free(a);
    free(m);
}

/* The given network (act, L dense layers of the given widths, W, b; scales ws, bs: NULL for 1) as a dw_net, and
 * the calls on it: the old loose-argument form of these tests, kept so that each check reads as before. */
static dw_status given(dw_net **net, dw_sample_opts **o, const dw_act *act, size_t L, const size_t *widths,
                       const double *const *W, const double *const *b, const double *ws, const double *bs, int threads)
{
    dw_status s;
    *net = NULL;
    *o = NULL;
    if ((s = dw_net_init(net)) || (s = dw_net_set_given(*net, act, L, widths, W, b, true)) ||
        (ws && (s = dw_net_set_weight_var(*net, L, ws))) || (bs && (s = dw_net_set_bias_var(*net, L, bs))) ||
        (s = dw_sample_opts_init(o)) || (s = dw_sample_opts_set_threads(*o, threads)))
        return s;
    return DW_OK;
}

static dw_status gram(const dw_act *act, size_t L, const size_t *widths, const double *const *W,
                      const double *const *b, const double *ws, const double *bs, const double *X, size_t n,
                      const double *Y, size_t m, dw_sample_gram kind, double *G, int threads)
{
    dw_net *net;
    dw_sample_opts *o;
    dw_status s = given(&net, &o, act, L, widths, W, b, ws, bs, threads);
    if (!s) s = dw_sample_network_gram(net, o, X, n, Y, m, widths[0], kind, G);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    return s;
}

static dw_status forward(const dw_act *act, size_t L, const size_t *widths, const double *const *W,
                         const double *const *b, const double *X, size_t n, double *F, int threads)
{
    dw_net *net;
    dw_sample_opts *o;
    dw_status s = given(&net, &o, act, L, widths, W, b, NULL, NULL, threads);
    if (!s) s = dw_sample_forward(net, o, X, n, widths[0], F);
    dw_sample_opts_clear(o);
    dw_net_clear(net);
    return s;
}

int main(void)
{
    dw_act *relu = NULL, *tanh_ = NULL;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    CHECK(dw_act_init(&tanh_, "tanh") == DW_OK);
    {
        /* 2-layer relu, n = 150 (two Gram tiles, one ragged), d = 3, H = 7, K = 2 */
        const size_t n = 150, d = 3, H = 7, K = 2;
        double *X = malloc(n * d * sizeof *X), W1[21], b1[7], W2[14], b2[2];
        unsigned s = 12345;
#define U() ((s = s * 1103515245u + 12345u), ((double)(s >> 8) / 16777216.0 - 0.5))
        for (size_t e = 0; e < n * d; e++) X[e] = 4 * U();
        for (size_t e = 0; e < 21; e++) W1[e] = U();
        for (size_t e = 0; e < 7; e++) b1[e] = 0.5 * U();
        for (size_t e = 0; e < 14; e++) W2[e] = U();
        b2[0] = 0.1, b2[1] = -0.2;
        const double *W[] = {W1, W2}, *b[] = {b1, b2};
        const size_t widths[] = {3, 7, 2};
        const double ws[] = {0.6, 1.7}, bs[] = {0.25, 0.9};
        double *T = malloc(n * n * sizeof *T), *R = malloc(n * n * sizeof *R), *T2 = malloc(n * n * sizeof *T2);
        CHECK(gram(relu, 2, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T, 1) == DW_OK);
        relu2_by_hand(W1, b1, W2, X, n, d, H, K, ws, bs, R);
        double worst = 0, big = 0;
        for (size_t e = 0; e < n * n; e++) {
            worst = fmax(worst, fabs(T[e] - R[e]));
            big = fmax(big, fabs(R[e]));
        }
        CHECK(worst <= 1e-14 * big);
        CHECK(gram(relu, 2, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T2, 2) == DW_OK);
        CHECK(memcmp(T, T2, n * n * sizeof *T) == 0);
        int sym = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) sym &= T[i * n + j] == T[j * n + i];
        CHECK(sym);
        /* the cross Gram of rows 0..99 against rows 100..149 (tiles 128 x 50): the by-hand NTK's block */
        {
            double *C = malloc(100 * 50 * sizeof *C);
            CHECK(gram(relu, 2, widths, W, b, ws, bs, X, 100, X + 100 * d, 50, DW_SAMPLE_NTK, C,
                                         2) == DW_OK);
            double wc = 0;
            for (size_t i = 0; i < 100; i++)
                for (size_t j = 0; j < 50; j++) wc = fmax(wc, fabs(C[i * 50 + j] - R[i * n + 100 + j]));
            CHECK(wc <= 1e-14 * big);
            const double Yn[3] = {0, NAN, 0};
            CHECK(gram(relu, 2, widths, W, b, ws, bs, X, 100, Yn, 1, DW_SAMPLE_NTK, C, 1) ==
                  DW_ERR_INVALID);
            CHECK(strstr(dw_error_message(), "Y: row 1, column 2") != NULL);
            CHECK(gram(relu, 2, widths, W, b, ws, bs, X, 100, X, 0, DW_SAMPLE_NTK, C, 1) ==
                  DW_ERR_INVALID);
            free(C);
        }
        /* NNGP: ws_1 a.a + bs_1 (the top term alone) */
        CHECK(gram(relu, 2, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NNGP, T2, 2) == DW_OK);
        {
            /* W2 = 0 and no layer-1 scales leave the by-hand sum with the top term alone */
            const double ws0[] = {0.0, 1.7}, bs0[] = {0.0, 0.9};
            double Wz[14] = {0};
            relu2_by_hand(W1, b1, Wz, X, n, d, H, K, ws0, bs0, R);
            double w2 = 0;
            for (size_t e = 0; e < n * n; e++) w2 = fmax(w2, fabs(T2[e] - R[e]));
            CHECK(w2 <= 1e-14 * big);
        }
        /* without scales: plain parameterisation (all 1); without biases: no bias terms */
        const double one[] = {1, 1};
        const double *bn[] = {b1, NULL};
        CHECK(gram(relu, 2, widths, W, bn, NULL, NULL, X, n, NULL, 0, DW_SAMPLE_NTK, T, 2) == DW_OK);
        {
            const double bsx[] = {1, 0};
            relu2_by_hand(W1, b1, W2, X, n, d, H, K, one, bsx, R);
        }
        worst = 0;
        for (size_t e = 0; e < n * n; e++) worst = fmax(worst, fabs(T[e] - R[e]));
        CHECK(worst <= 1e-14 * big);
        /* error paths */
        CHECK(gram(relu, 2, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NO_GRAM, T, 1) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "kind") != NULL);
        CHECK(gram(relu, 2, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, NULL, 1) == DW_ERR_INVALID);
        const double neg[] = {1, -0.5};
        CHECK(gram(relu, 2, widths, W, b, neg, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T, 1) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "weight_var: value 2") != NULL);
        const double nan_[] = {NAN, 1};
        CHECK(gram(relu, 2, widths, W, b, ws, nan_, X, n, NULL, 0, DW_SAMPLE_NTK, T, 1) == DW_ERR_INVALID);
        CHECK(strstr(dw_error_message(), "bias_var: value 1") != NULL);
        double W1n[21];
        memcpy(W1n, W1, sizeof W1n);
        W1n[4] = INFINITY;
        const double *Wn[] = {W1n, W2};
        CHECK(gram(relu, 2, widths, Wn, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T, 2) == DW_ERR_RANGE);
        CHECK(strstr(dw_error_message(), "layer 1 is not finite at input row 1") != NULL);
        double W2h[14];
        for (size_t e = 0; e < 14; e++) W2h[e] = 1e200 * W2[e]; /* f overflows only through the squares of W2 */
        const double *Wh[] = {W1, W2h};
        CHECK(gram(relu, 2, widths, Wh, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T, 2) == DW_ERR_RANGE);
        CHECK(strstr(dw_error_message(), "overflow in the back-propagation") != NULL);
        free(X), free(T), free(R), free(T2);
    }
    {
        /* 3 hidden tanh layers (widths 4, 5, 3), d = 2, K = 2, n = 4: central differences of f in every parameter */
        const size_t n = 4, widths[] = {2, 4, 5, 3, 2}, L = 4;
        double X[8], P[4][20], B[4][5];
        unsigned s = 99;
        for (size_t e = 0; e < 8; e++) X[e] = 2 * U();
        for (size_t l = 0; l < L; l++) {
            for (size_t e = 0; e < widths[l] * widths[l + 1]; e++) P[l][e] = 1.5 * U();
            for (size_t e = 0; e < widths[l + 1]; e++) B[l][e] = 0.4 * U();
        }
        const double *W[] = {P[0], P[1], P[2], P[3]}, *b[] = {B[0], B[1], B[2], B[3]};
        const double ws[] = {0.9, 1.1, 0.5, 2.0}, bs[] = {0.3, 0.7, 1.2, 0.05};
        double T[16], R[16] = {0}, Fp[8], Fm[8];
        CHECK(gram(tanh_, L, widths, W, b, ws, bs, X, n, NULL, 0, DW_SAMPLE_NTK, T, 2) == DW_OK);
        const double eps = 1e-5;
        for (size_t l = 0; l < L; l++)
            for (int isb = 0; isb < 2; isb++) {
                double *p = isb ? B[l] : P[l];
                const size_t cnt = isb ? widths[l + 1] : widths[l] * widths[l + 1];
                const double sc = isb ? bs[l] : ws[l];
                for (size_t e = 0; e < cnt; e++) {
                    const double old = p[e];
                    p[e] = old + eps;
                    CHECK(forward(tanh_, L, widths, W, b, X, n, Fp, 1) == DW_OK);
                    p[e] = old - eps;
                    CHECK(forward(tanh_, L, widths, W, b, X, n, Fm, 1) == DW_OK);
                    p[e] = old;
                    for (size_t x = 0; x < n; x++)
                        for (size_t y = 0; y < n; y++)
                            for (size_t k = 0; k < 2; k++)
                                R[x * n + y] += sc * 0.5 * ((Fp[x * 2 + k] - Fm[x * 2 + k]) / (2 * eps)) *
                                                ((Fp[y * 2 + k] - Fm[y * 2 + k]) / (2 * eps));
                }
            }
        double worst = 0, big = 0;
        for (size_t e = 0; e < 16; e++) {
            worst = fmax(worst, fabs(T[e] - R[e]));
            big = fmax(big, fabs(R[e]));
        }
        /* central differences: O(eps^2) truncation + O(1e-16 / eps) rounding, ~1e-10 relative */
        CHECK(worst <= 1e-8 * big);
    }
    dw_act_clear(relu);
    dw_act_clear(tanh_);
    return check_done("network_gram");
}
