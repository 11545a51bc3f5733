/* The architecture engine's 1-D convolutions (valid / same / circular padding, strides) and pools, then
 * GlobalAvgPool or Flatten, against a brute-force evaluation of the layer recursion written here from its
 * definition (theory.md 7), with the arc-cosine formula written out. */
#include "arch_util.h"
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 3. 1-D convolutions and pools against the recursion evaluated from its definition ---- */

/* E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for Var u = a, Var v = b, Cov = c (Cho and Saul). */
static void relu_dual(double a, double b, double c, double *v, double *vd)
{
    const double s = sqrt(a * b);
    double r = s > 0 ? c / s : 0.0;
    r = r > 1 ? 1 : r < -1 ? -1 : r;
    const double th = acos(r);
    *v = s * (sin(th) + (M_PI - th) * cos(th)) / (2 * M_PI);
    *vd = (M_PI - th) / (2 * M_PI);
}

/* Full L x L covariances of three pairs: (x, x), (y, y), (x, y), stored as S[pair][i * L + j]. */
typedef struct brute {
    size_t L;
    double S[3][64], T[3][64];
} brute;

static void brute_input(brute *b, const double *x, const double *y, size_t L, size_t C)
{
    const double *u[3] = {x, y, x}, *v[3] = {x, y, y};
    b->L = L;
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < L; i++)
            for (size_t j = 0; j < L; j++) {
                double s = 0;
                for (size_t c = 0; c < C; c++) s += u[p][i * C + c] * v[p][j * C + c];
                b->S[p][i * L + j] = s / (double)C;
                b->T[p][i * L + j] = 0.0; /* the input has no parameters */
            }
}

/* Position i of the output reads input positions i*stride - lo + a, a < w (outside: zero padding, or wrapped). */
static int src_pos(long i, size_t a, size_t stride, long lo, size_t L, int pad, size_t *out)
{
    long q = i * (long)stride - lo + (long)a;
    if (pad == DW_PAD_CIRCULAR) q = ((q % (long)L) + (long)L) % (long)L;
    if (q < 0 || q >= (long)L) return 0;
    *out = (size_t)q;
    return 1;
}

static size_t out_len(size_t L, size_t w, size_t stride, int pad, long *lo)
{
    if (pad == DW_PAD_VALID) {
        *lo = 0;
        return (L - w) / stride + 1;
    }
    const size_t Lo = (L + stride - 1) / stride; /* ceil(L / stride), NT / XLA's SAME */
    const long need = (long)((Lo - 1) * stride + w) - (long)L;
    *lo = need > 0 ? need / 2 : 0;
    return Lo;
}

/* conv (window w, weight_var wv, bias_var bv, NTK parameterisation) or, wv < 0, average pool. */
static void brute_window(brute *b, size_t w, size_t stride, int pad, double wv, double bv)
{
    long lo;
    const size_t L = b->L, Lo = out_len(L, w, stride, pad, &lo);
    brute o = {.L = Lo};
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < Lo; i++)
            for (size_t j = 0; j < Lo; j++) {
                double s = 0, t = 0;
                for (size_t a = 0; a < w; a++) {
                    size_t qi, qj;
                    /* a conv's window is shifted alike in both arguments; a pool averages over both windows */
                    if (wv >= 0) {
                        if (!src_pos((long)i, a, stride, lo, L, pad, &qi) || !src_pos((long)j, a, stride, lo, L, pad, &qj))
                            continue;
                        s += b->S[p][qi * L + qj];
                        t += b->T[p][qi * L + qj];
                    } else
                        for (size_t a2 = 0; a2 < w; a2++) {
                            if (!src_pos((long)i, a, stride, lo, L, pad, &qi) ||
                                !src_pos((long)j, a2, stride, lo, L, pad, &qj))
                                continue;
                            s += b->S[p][qi * L + qj];
                            t += b->T[p][qi * L + qj];
                        }
                }
                if (wv >= 0) {
                    o.S[p][i * Lo + j] = wv * s / (double)w + bv;
                    o.T[p][i * Lo + j] = o.S[p][i * Lo + j] + wv * t / (double)w;
                } else {
                    o.S[p][i * Lo + j] = s / (double)(w * w);
                    o.T[p][i * Lo + j] = t / (double)(w * w);
                }
            }
    *b = o;
}

/* relu: the conv's T holds the tangent kernel before the layer; the next conv adds its own Sigma' (above). */
static void brute_relu(brute *b)
{
    const size_t L = b->L;
    brute o = *b;
    for (int p = 0; p < 3; p++) {
        const int px = p == 1 ? 1 : 0, py = p == 0 ? 0 : 1; /* the pairs whose diagonals give the variances */
        for (size_t i = 0; i < L; i++)
            for (size_t j = 0; j < L; j++) {
                double v, vd;
                relu_dual(b->S[px][i * L + i], b->S[py][j * L + j], b->S[p][i * L + j], &v, &vd);
                o.S[p][i * L + j] = v;
                o.T[p][i * L + j] = b->T[p][i * L + j] * vd;
            }
    }
    *b = o;
}

static void test_conv1d_brute(void)
{
    enum { L = 7, C = 2, d = L * C };
    double x[d], y[d];
    fill(x, d, 4);
    fill(y, d, 5);
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    const int pads[3] = {DW_PAD_VALID, DW_PAD_SAME, DW_PAD_CIRCULAR};
    const size_t shape[2] = {L, C};
    for (int pc = 0; pc < 3; pc++)
        for (size_t stride = 1; stride <= 2; stride++)
            for (int pool = 0; pool < 3; pool++) { /* 0: global pool, 1: avg pool then global, 2: flatten (DIAG) */
                const int pad = pads[pc];
                const size_t w = 3, st[1] = {stride}, win[1] = {w}, pw[1] = {2};
                dw_net *net;
                CHECK(dw_net_init(&net) == DW_OK);
                CHECK(dw_net_set_input_shape(net, 2, shape) == DW_OK);
                CHECK(dw_net_add_conv(net, 1, win, st, (dw_padding)pad, 1.8, 0.15, 0) == DW_OK);
                CHECK(dw_net_add_act(net, relu) == DW_OK);
                CHECK(dw_net_add_conv(net, 1, win, NULL, (dw_padding)pad, 2.0, 0.05, 0) == DW_OK);
                CHECK(dw_net_add_act(net, relu) == DW_OK);
                if (pool == 1) CHECK(dw_net_add_pool(net, true, 1, pw, pw, DW_PAD_VALID, false) == DW_OK);
                CHECK((pool == 2 ? dw_net_add_flatten(net) : dw_net_add_global_pool(net, true)) == DW_OK);
                CHECK(dw_net_add_dense(net, 1.4, 0.3, 0) == DW_OK);
                double XY[2 * d], K[4], T[4];
                memcpy(XY, x, sizeof x);
                memcpy(XY + d, y, sizeof y);
                dw_status s = gram(net, XY, 2, NULL, 2, d, K, T);
                if (pad == DW_PAD_VALID && stride == 2 && pool == 1) { /* 7 -> 3 -> 1 position: no 2-window fits */
                    CHECK(s == DW_ERR_INVALID && has("layer 5: the window is larger than the input"));
                    dw_net_clear(net);
                    continue;
                }
                CHECK(s == DW_OK);
                brute b;
                brute_input(&b, x, y, L, C);
                brute_window(&b, w, stride, pad, 1.8, 0.15);
                brute_relu(&b);
                brute_window(&b, w, 1, pad, 2.0, 0.05);
                brute_relu(&b);
                if (pool == 1) brute_window(&b, 2, 2, DW_PAD_VALID, -1.0, 0.0);
                double kb[3], tb[3];
                for (int p = 0; p < 3; p++) {
                    double s = 0, t = 0;
                    if (pool == 2) { /* flatten: the mean of the diagonal */
                        for (size_t i = 0; i < b.L; i++) s += b.S[p][i * b.L + i], t += b.T[p][i * b.L + i];
                        s /= (double)b.L, t /= (double)b.L;
                    } else {
                        for (size_t i = 0; i < b.L * b.L; i++) s += b.S[p][i], t += b.T[p][i];
                        s /= (double)(b.L * b.L), t /= (double)(b.L * b.L);
                    }
                    kb[p] = 1.4 * s + 0.3;
                    tb[p] = kb[p] + 1.4 * t;
                }
                CHECK_CLOSE(K[0], kb[0], 1e-14, 0);
                CHECK_CLOSE(K[3], kb[1], 1e-14, 0);
                CHECK_CLOSE(K[1], kb[2], 1e-14, 0);
                CHECK_CLOSE(T[0], tb[0], 1e-14, 0);
                CHECK_CLOSE(T[3], tb[1], 1e-14, 0);
                CHECK_CLOSE(T[1], tb[2], 1e-14, 0);
                CHECK(K[1] == K[2] && T[1] == T[2]);
                dw_net_clear(net);
            }
    dw_act_clear(relu);
}

int main(void)
{
    test_conv1d_brute();
    return check_done("arch_conv");
}
