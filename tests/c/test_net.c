/* dw_net: the list built by dw_net_set_fc equals the one built layer by layer; setters validate with one wording and
 * leave the net unchanged on error; the per-dense-layer length rule; given weights; the fully connected view. */
#include "check.h"
#include "deepwick.h"
#include "net/net.h"

#include <stdio.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

static void test_fc_equals_layers(void)
{
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    dw_net *a, *b;
    CHECK(dw_net_init(&a) == DW_OK && dw_net_init(&b) == DW_OK);
    CHECK(dw_net_set_fc(a, 2, relu, true) == DW_OK);
    const double wv[3] = {2.0, 1.5, 1.0}, bv[1] = {0.1}, w[2] = {64, 32};
    CHECK(dw_net_set_weight_var(a, 3, wv) == DW_OK);
    CHECK(dw_net_set_bias_var(a, 1, bv) == DW_OK);
    CHECK(dw_net_set_widths(a, 2, w) == DW_OK);
    CHECK(dw_net_set_out_dim(a, 3) == DW_OK);
    /* The same network appended layer by layer. */
    CHECK(dw_net_add_dense(b, 2.0, 0.1, 64) == DW_OK);
    CHECK(dw_net_add_act(b, relu) == DW_OK);
    CHECK(dw_net_add_dense(b, 1.5, 0.1, 32) == DW_OK);
    CHECK(dw_net_add_act(b, relu) == DW_OK);
    CHECK(dw_net_add_dense(b, 1.0, 0.1, 3) == DW_OK);
    CHECK(dw_net_layers(a) == 5 && dw_net_layers(b) == 5);
    CHECK(dw_net_depth(a) == 2 && dw_net_dense_layers(a) == 3 && dw_net_has_readout(a));
    for (size_t i = 0; i < 5; i++) CHECK(dw_net_layer_kind(a, i) == dw_net_layer_kind(b, i));
    double va[3], vb[3];
    for (int which = 0; which < 3; which++) {
        dw_net_dense_values(a, which, va);
        dw_net_dense_values(b, which, vb);
        CHECK(memcmp(va, vb, sizeof va) == 0);
    }
    CHECK(strcmp(dw_net_describe(a), dw_net_describe(b)) == 0);
    CHECK(strcmp(dw_net_describe(a), "dense(2, 0.10000000000000001) > relu > dense(1.5, 0.10000000000000001) > relu > "
                                     "dense(1, 0.10000000000000001)") == 0);
    dw_net_fc fc;
    CHECK(dw_net_fc_view(a, "kernel", 1, DW_NET_RANDOM, &fc) == DW_OK);
    CHECK(fc.depth == 2 && fc.act == relu && fc.readout && fc.n_dense == 3);
    CHECK(dw_net_fc_view(a, "spectrum", 0, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("spectrum: ") && has("end with an activation"));
    /* Without a readout: depth dense layers, each followed by the activation. */
    CHECK(dw_net_set_fc(a, 3, relu, false) == DW_OK);
    CHECK(dw_net_layers(a) == 6 && dw_net_dense_layers(a) == 3 && !dw_net_has_readout(a));
    CHECK(dw_net_fc_view(a, "spectrum", 0, DW_NET_RANDOM, &fc) == DW_OK && fc.depth == 3 && !fc.readout);
    CHECK(dw_net_set_out_dim(a, 2) == DW_ERR_INVALID && has("no readout"));
    /* depth 0 with a readout: the linear model. */
    CHECK(dw_net_set_fc(a, 0, NULL, true) == DW_OK && dw_net_layers(a) == 1 && dw_net_depth(a) == 0);
    CHECK(dw_net_set_fc(a, 0, relu, false) == DW_ERR_INVALID && has("depth: must be >= 1"));
    dw_net_clear(a);
    dw_net_clear(b);
    dw_act_clear(relu);
}

static void test_validation(void)
{
    dw_act *tanh_, *relu;
    CHECK(dw_act_init(&tanh_, "tanh") == DW_OK && dw_act_init(&relu, "relu") == DW_OK);
    dw_net *n;
    CHECK(dw_net_init(&n) == DW_OK);
    const double one = 1.0;
    CHECK(dw_net_set_weight_var(n, 1, &one) == DW_ERR_INVALID && has("build its layers first"));
    CHECK(dw_net_set_fc(n, -1, tanh_, true) == DW_ERR_INVALID && has("depth: must be >= 0 (got -1)"));
    CHECK(dw_net_set_fc(n, DW_NET_DEPTH_MAX + 1, tanh_, true) == DW_ERR_INVALID && has("above the maximum"));
    CHECK(dw_net_set_fc(n, 2, NULL, true) == DW_ERR_INVALID && has("act: no activation"));
    CHECK(dw_net_set_fc(n, 2, tanh_, true) == DW_OK);
    const double two[2] = {1, 2}, bad[3] = {1, -1, 2}, nanv[1] = {NAN}, inf[1] = {INFINITY};
    CHECK(dw_net_set_weight_var(n, 2, two) == DW_ERR_INVALID && has("weight_var: expected 1 or 3 per-layer values, got 2"));
    CHECK(dw_net_set_bias_var(n, 3, bad) == DW_ERR_INVALID && has("bias_var: value 2 (-1) must be non-negative"));
    CHECK(dw_net_set_weight_var(n, 1, nanv) == DW_ERR_INVALID && has("weight_var: value 1 (nan)"));
    CHECK(dw_net_set_weight_var(n, 1, inf) == DW_ERR_INVALID);
    CHECK(dw_net_set_weight_var(n, 1, NULL) == DW_ERR_INVALID && has("NULL values"));
    /* A failed setter leaves the net as it was. */
    double v[3];
    dw_net_dense_values(n, 1, v);
    CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
    CHECK(dw_net_set_widths(n, 3, two) == DW_ERR_INVALID && has("width: expected 1 or 2 per-layer values, got 3"));
    const double zw[2] = {10, 0};
    CHECK(dw_net_set_widths(n, 2, zw) == DW_ERR_INVALID && has("width: value 2 (0) must be positive"));
    CHECK(dw_net_set_out_dim(n, 0) == DW_ERR_INVALID && has("out_dim: must be >= 1"));
    CHECK(dw_net_set_param(n, (dw_param)7) == DW_ERR_INVALID && has("param: unknown"));
    CHECK(dw_net_set_param(n, DW_PARAM_STANDARD) == DW_OK && dw_net_param(n) == DW_PARAM_STANDARD);
    CHECK(dw_net_set_law(n, "student-t:1.5") == DW_ERR_INVALID && has("nu = 1.5 must be > 2"));
    CHECK(dw_net_law(n).kind == DW_LAW_GAUSSIAN);
    CHECK(dw_net_set_law(n, "sparse:0.25") == DW_OK && dw_net_law(n).kind == DW_LAW_SPARSE &&
          dw_net_law(n).param == 0.25);
    {
        char lb[64];
        CHECK(strcmp(dw_net_law_format(n, lb, sizeof lb), "sparse:0.25") == 0 && dw_net_law_warning(n) == NULL);
        CHECK(dw_net_set_law(n, "student-t:3") == DW_OK && dw_net_law_warning(n) != NULL &&
              strcmp(dw_net_law_format(n, lb, sizeof lb), "student-t:3") == 0);
        CHECK(dw_net_set_law(n, "sparse:0.25") == DW_OK);
    }
    CHECK(dw_net_add_dense(n, -1, 0, 0) == DW_ERR_INVALID && has("weight_var: value 4 (-1)"));
    CHECK(dw_net_add_dense(n, 1, 0, -3) == DW_ERR_INVALID && has("width: value 4 (-3)"));
    CHECK(dw_net_add_act(n, NULL) == DW_ERR_INVALID && has("act: no activation"));
    /* Shapes the fully connected computations refuse, naming the layer. */
    dw_net_fc fc;
    CHECK(dw_net_add_dense(n, 1, 0, 0) == DW_OK); /* two dense layers in a row */
    CHECK(dw_net_fc_view(n, "kernel", 1, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("kernel: layer 6 is dense"));
    CHECK(dw_net_set_fc(n, 1, tanh_, false) == DW_OK && dw_net_add_dense(n, 1, 0, 0) == DW_OK &&
          dw_net_add_act(n, relu) == DW_OK);
    CHECK(dw_net_fc_view(n, "kernel", -1, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("layer 4's activation differs"));
    dw_net *e;
    CHECK(dw_net_init(&e) == DW_OK);
    CHECK(dw_net_fc_view(e, "kernel", 1, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("no layers"));
    CHECK(dw_net_fc_view(NULL, "kernel", 1, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("NULL network"));
    CHECK(dw_net_init(NULL) == DW_ERR_INVALID);
    dw_net_clear(e);
    dw_net_clear(NULL);
    dw_net_clear(n);
    dw_act_clear(tanh_);
    dw_act_clear(relu);
}

static void test_given(void)
{
    dw_act *relu;
    CHECK(dw_act_init(&relu, "relu") == DW_OK);
    const double W1[6] = {1, 2, 3, 4, 5, 6}, b1[3] = {0.1, 0.2, 0.3}, W2[3] = {1, -1, 0.5};
    const double *W[2] = {W1, W2}, *b[2] = {b1, NULL};
    const size_t widths[3] = {2, 3, 1};
    dw_net *n;
    CHECK(dw_net_init(&n) == DW_OK);
    CHECK(dw_net_set_given(n, relu, 2, widths, W, b, true) == DW_OK);
    CHECK(dw_net_is_given(n) && dw_net_layers(n) == 3 && dw_net_depth(n) == 1 && dw_net_has_readout(n));
    /* the fully connected view's one check of the weights, worded once for every computation */
    dw_net_fc fc;
    CHECK(dw_net_fc_view(n, "forward", 1, DW_NET_GIVEN, &fc) == DW_OK && fc.depth == 1 && fc.n_dense == 2);
    CHECK(dw_net_fc_view(n, "any", 1, DW_NET_EITHER, &fc) == DW_OK && fc.readout);
    CHECK(dw_net_fc_view(n, "kernel", 1, DW_NET_RANDOM, &fc) == DW_ERR_INVALID &&
          has("kernel: the network has given weights; this computation takes a random network (build it with "
              "dw_net_set_fc)"));
    /* the shape is checked first: a given net without a readout names the readout, not the weights */
    CHECK(dw_net_fc_view(n, "spectrum", 0, DW_NET_RANDOM, &fc) == DW_ERR_INVALID && has("no readout layer"));
    const dw_net_layer *l0 = dw_net_dense(n, 0), *l1 = dw_net_dense(n, 1);
    CHECK(l0 && l0->rows == 3 && l0->cols == 2 && l0->W == W1 && l0->b == b1 && l0->weight_var == 1 &&
          l0->bias_var == 1);
    CHECK(l1 && l1->rows == 1 && l1->cols == 3 && l1->b == NULL && dw_net_dense(n, 2) == NULL);
    CHECK(strcmp(dw_net_describe(n), "dense[3x2+b] > relu > dense[1x3]") == 0);
    const double ws[2] = {0.5, 0.25};
    CHECK(dw_net_set_weight_var(n, 2, ws) == DW_OK && l0->weight_var == 0.5 && l1->weight_var == 0.25);
    CHECK(dw_net_set_widths(n, 1, ws) == DW_ERR_INVALID && has("given weights"));
    CHECK(dw_net_add_dense(n, 1, 0, 0) == DW_ERR_INVALID && has("given weights"));
    CHECK(dw_net_set_given(n, relu, 2, widths, W, b, false) == DW_OK && dw_net_layers(n) == 4 && !dw_net_has_readout(n));
    const size_t zero[3] = {2, 0, 1};
    CHECK(dw_net_set_given(n, relu, 2, zero, W, b, true) == DW_ERR_INVALID && has("width 1 is 0"));
    const double *Wn[2] = {W1, NULL};
    CHECK(dw_net_set_given(n, relu, 2, widths, Wn, b, true) == DW_ERR_INVALID && has("matrix 2 is NULL"));
    CHECK(dw_net_set_given(n, relu, 0, widths, W, b, true) == DW_ERR_INVALID && has("at least one layer"));
    /* Rebuilding as a random network is allowed. */
    CHECK(dw_net_set_fc(n, 1, relu, true) == DW_OK && !dw_net_is_given(n));
    CHECK(dw_net_fc_view(n, "kernel", 1, DW_NET_RANDOM, &fc) == DW_OK);
    CHECK(dw_net_fc_view(n, "any", 1, DW_NET_EITHER, &fc) == DW_OK);
    CHECK(dw_net_fc_view(n, "forward", 1, DW_NET_GIVEN, &fc) == DW_ERR_INVALID &&
          has("forward: the network has no given weights (build it with dw_net_set_given)"));
    dw_net_clear(n);
    dw_act_clear(relu);
}

static void test_laws(void)
{
    static const char *specs[] = {"gaussian", "rademacher", "uniform", "student-t:5", "sparse:0.5", "complex-gaussian",
                                  "orthogonal"};
    char buf[64];
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        dw_law law, back;
        CHECK(dw_law_parse(&law, specs[k]) == DW_OK);
        CHECK(dw_law_parse(&back, dw_law_format(&law, buf, sizeof buf)) == DW_OK);
        CHECK(back.kind == law.kind && back.param == law.param);
    }
    dw_law law;
    CHECK(dw_law_parse(&law, "student-t:3") == DW_OK && dw_law_warning(&law) != NULL);
    CHECK(dw_law_parse(&law, "bogus") == DW_ERR_INVALID && has("unknown law 'bogus'"));
}

int main(void)
{
    test_fc_equals_layers();
    test_validation();
    test_given();
    test_laws();
    return check_done("net");
}
