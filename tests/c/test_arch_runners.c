/* The architecture engine's runners: the block runner (programs on DIAG registers, 64 pairs of a row per op) bit
 * for bit against the pair-by-pair run, and the results of a pooled net the same for every thread count. */
#include "arch_util.h"
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- 1. the block runner (programs on DIAG registers) against the pair-by-pair run ----
 * dw_arch_rows_disabled (the engine's test switch) routes the same program pair by pair. Each net twice: on vectors
 * (dense layers) and on sequences of one position (1-wide convolutions); then a Flatten CNN on 2-D images (SAME /
 * VALID / CIRCULAR convolutions, strides, two channels, LayerNorm per position and over the image, a residual
 * convolution branch with an activation on it), and the images flattened first (the dot products over all
 * features, in row groups: the sweeps' dots against the pair run's loop). The same bits in every case. Every op
 * kind a DIAG program has. */
extern bool dw_arch_rows_disabled;

static void build_rows_net(dw_net *net, bool conv, dw_act *const *acts)
{
    const size_t one[1] = {1};
    dw_net *br[2];
    CHECK(dw_net_init(&br[0]) == DW_OK && dw_net_init(&br[1]) == DW_OK);
    CHECK(dw_net_add_act(br[0], acts[0]) == DW_OK && dw_net_add_scale(br[0], 0.7) == DW_OK);
    CHECK(dw_net_add_act(br[1], acts[0]) == DW_OK);
    for (int layer = 0; layer < 4; layer++) {
        const double wv = 1.2 + 0.3 * layer, bv = layer == 2 ? 0.0 : 0.1 * (layer + 1);
        if (conv)
            CHECK(dw_net_add_conv(net, 1, one, NULL, DW_PAD_VALID, wv, bv, 0) == DW_OK);
        else
            CHECK(dw_net_add_dense(net, wv, bv, 0) == DW_OK);
        if (layer == 1) CHECK(dw_net_add_layernorm(net, false, 1e-12) == DW_OK);
        if (layer == 2) { /* two equal activations of one stream and the stream itself: every cross term */
            CHECK(dw_net_add_fanout(net, 3) == DW_OK);
            dw_net *id;
            CHECK(dw_net_init(&id) == DW_OK && dw_net_add_identity(id) == DW_OK);
            const dw_net *three[3] = {br[0], br[1], id};
            CHECK(dw_net_add_parallel(net, 3, three) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
            dw_net_clear(id);
            continue;
        }
        CHECK(dw_net_add_act(net, acts[layer % 4]) == DW_OK);
        if (layer == 3) CHECK(dw_net_add_dropout(net, 0.8, true) == DW_OK);
    }
    if (conv) CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.0, 0.0, 0) == DW_OK);
    dw_net_clear(br[0]);
    dw_net_clear(br[1]);
}

/* H x W images of 2 channels: conv 3x3 SAME, LN per position, residual(act; conv 3x3 CIRCULAR), residual(act), conv 2x2
 * stride 2 VALID, LN over the image, act, Flatten, dense. */
static void build_image_net(dw_net *net, dw_act *const *acts, size_t H, size_t W)
{
    const size_t shape[3] = {H, W, 2}, f3[2] = {3, 3}, f2[2] = {2, 2}, s2[2] = {2, 2};
    CHECK(dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f3, NULL, DW_PAD_SAME, 1.7, 0.2, 0) == DW_OK);
    CHECK(dw_net_add_layernorm(net, false, 1e-12) == DW_OK);
    dw_net *br;
    CHECK(dw_net_init(&br) == DW_OK && dw_net_add_act(br, acts[1]) == DW_OK);
    CHECK(dw_net_add_conv(br, 2, f3, NULL, DW_PAD_CIRCULAR, 1.3, 0.1, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br, 1.0, 0.5) == DW_OK);
    dw_net_clear(br);
    CHECK(dw_net_init(&br) == DW_OK && dw_net_add_act(br, acts[0]) == DW_OK); /* h + 0.6 phi(h): cross terms */
    CHECK(dw_net_add_residual(net, br, 1.0, 0.6) == DW_OK);
    dw_net_clear(br);
    CHECK(dw_net_add_conv(net, 2, f2, s2, DW_PAD_VALID, 2.0, 0.0, 0) == DW_OK);
    CHECK(dw_net_add_layernorm(net, true, 1e-12) == DW_OK);
    CHECK(dw_net_add_act(net, acts[2]) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.1, 0.3, 0) == DW_OK);
}

/* The net's Gram (X, Y) and (X, X) by both runners: rel_diff within tol (0: the same bits), symmetric. */
static void rows_vs_pairs(const dw_net *net, const double *X, size_t rows, const double *Y, size_t m, size_t d,
                          double tol)
{
    static double K1[70 * 70], T1[70 * 70], K2[70 * 70], T2[70 * 70];
    CHECK(gram(net, X, rows, Y, m, d, K1, T1) == DW_OK);
    dw_arch_rows_disabled = true;
    CHECK(gram(net, X, rows, Y, m, d, K2, T2) == DW_OK);
    dw_arch_rows_disabled = false;
    CHECK(rel_diff(K1, K2, rows * m) <= tol && rel_diff(T1, T2, rows * m) <= tol);
    CHECK(gram(net, X, rows, NULL, rows, d, K1, T1) == DW_OK);
    dw_arch_rows_disabled = true;
    CHECK(gram(net, X, rows, NULL, rows, d, K2, NULL) == DW_OK);
    dw_arch_rows_disabled = false;
    CHECK(rel_diff(K1, K2, rows * rows) <= tol);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < rows; j++) CHECK(K1[i * rows + j] == K1[j * rows + i]);
}

static void test_rows_vs_pairs(void)
{
    enum { n = 70, m = 67, d = 3, di = 7 * 6 * 2 }; /* more than one block of 64, and a ragged last one */
    static double X[n * d], Y[m * d], XI[n * di], YI[m * di];
    fill(X, n * d, 10);
    fill(Y, m * d, 11);
    fill(XI, n * di, 12);
    fill(YI, m * di, 13);
    const char *sets[2][4] = {{"relu", "poly:0.1,1,0.3", "erf", "step"}, {"gelu", "tanh", "leaky_relu:0.1", "sin"}};
    for (int set = 0; set < 2; set++) {
        dw_act *acts[4];
        for (int a = 0; a < 4; a++) CHECK(dw_act_init(&acts[a], sets[set][a]) == DW_OK);
        dw_net *vec, *seq, *img;
        CHECK(dw_net_init(&vec) == DW_OK && dw_net_init(&seq) == DW_OK && dw_net_init(&img) == DW_OK);
        const size_t shape[2] = {1, d};
        CHECK(dw_net_set_input_shape(seq, 2, shape) == DW_OK);
        build_rows_net(vec, false, acts);
        build_rows_net(seq, true, acts);
        /* the set with a generic activation (tanh: the certified series, its Hermite coefficients per position pair
         * of every entry in both runs, 30 s here and 200 s under the sanitizers on 7 x 6 images) on 3 rows, and on
         * 4 x 3 images (the same ops: ragged VALID stride, circular wrap in both axes) one row: one full block and a
         * ragged one per row all the same */
        const size_t rows = set ? 3 : n, H = set ? 4 : 7, W = set ? 3 : 6;
        build_image_net(img, acts, H, W);
        rows_vs_pairs(vec, X, rows, Y, m, d, 0.0);
        rows_vs_pairs(seq, X, rows, Y, m, d, 0.0);
        rows_vs_pairs(img, XI, set ? 1 : 20, YI, m, H * W * 2, 0.0);
        dw_net *flat; /* flatten; the vector net */
        const size_t ishape[3] = {H, W, 2};
        CHECK(dw_net_init(&flat) == DW_OK && dw_net_set_input_shape(flat, 3, ishape) == DW_OK);
        CHECK(dw_net_add_flatten(flat) == DW_OK);
        build_rows_net(flat, false, acts);
        rows_vs_pairs(flat, XI, rows, YI, m, H * W * 2, 0.0);
        dw_net_clear(flat);
        dw_net_clear(vec);
        dw_net_clear(seq);
        dw_net_clear(img);
        for (int a = 0; a < 4; a++) dw_act_clear(acts[a]);
    }
}

/* ---- 2. thread count independence ---- */
static void test_threads(void)
{
    enum { n = 9, H = 4, C = 2, d = H * H * C };
    double X[n * d];
    fill(X, n * d, 8);
    dw_act *act;
    CHECK(dw_act_init(&act, "gelu") == DW_OK);
    const size_t shape[3] = {H, H, C}, f[2] = {3, 3}, pw[2] = {2, 2};
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f, NULL, DW_PAD_SAME, 2, 0.1, 0) == DW_OK && dw_net_add_act(net, act) == DW_OK);
    CHECK(dw_net_add_pool(net, true, 2, pw, pw, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f, NULL, DW_PAD_CIRCULAR, 2, 0.1, 0) == DW_OK && dw_net_add_act(net, act) == DW_OK);
    CHECK(dw_net_add_global_pool(net, true) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    double K1[n * n], T1[n * n], K2[n * n], T2[n * n];
    dw_kernel_opts *o;
    CHECK(dw_kernel_opts_init(&o) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, K1, T1, NULL) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 3) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, n, NULL, n, d, K2, T2, NULL) == DW_OK);
    CHECK(memcmp(K1, K2, sizeof K1) == 0 && memcmp(T1, T2, sizeof T1) == 0);
    /* the memory a run needs: at least its outputs, and more per worker (the P x P registers) */
    double b1, b3, b0;
    CHECK(dw_kernel_gram_bytes(net, o, n, n, true, true, &b3) == DW_OK);
    CHECK(dw_kernel_opts_set_threads(o, 1) == DW_OK);
    CHECK(dw_kernel_gram_bytes(net, o, n, n, true, true, &b1) == DW_OK);
    CHECK(dw_kernel_gram_bytes(net, o, n, n, false, false, &b0) == DW_OK);
    CHECK(b0 > 0 && b1 >= b0 + 2.0 * 8 * n * n && b3 > b1);
    dw_kernel_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}


int main(void)
{
    test_rows_vs_pairs();
    test_threads();
    return check_done("arch_runners");
}
