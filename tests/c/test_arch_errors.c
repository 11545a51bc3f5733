/* The architecture engine's refusals: every unsupported net or bad input gets DW_ERR_INVALID with a message
 * naming its layer or argument. */
#include "arch_util.h"
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- refusals ---- */
static void test_refusals(void)
{
    dw_act *relu, *tanh_;
    CHECK(dw_act_init(&relu, "relu") == DW_OK && dw_act_init(&tanh_, "tanh") == DW_OK);
    double X[2 * 12];
    fill(X, 24, 7);
    double K[4];
    const size_t shape[3] = {2, 2, 3}, f2[2] = {2, 2}, f1[1] = {2};
    dw_net *net;

    /* an activation of an activation's output */
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_add_identity(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK && dw_net_add_act(net, relu) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("needs a Gaussian input") && has("layer"));
    dw_net_clear(net);

    /* spatial axes left at the output */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f2, NULL, DW_PAD_SAME, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("spatial axes"));
    /* a 1-D window on a 2-D image */
    CHECK(dw_net_add_pool(net, true, 1, f1, NULL, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_ERR_INVALID && has("1-D window"));
    dw_net_clear(net);

    /* the data's features vs the input shape */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_input_shape(net, 3, shape) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 11, K, NULL) == DW_ERR_INVALID && has("X: 11 features"));
    CHECK(gram(net, X, 2, NULL, 2, 12, K, NULL) == DW_OK);
    dw_net_clear(net);

    /* streams: a fanout never summed; parallel with the wrong count */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK && dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("2 open streams"));
    dw_net *br[3];
    for (int i = 0; i < 3; i++) CHECK(dw_net_init(&br[i]) == DW_OK && dw_net_add_identity(br[i]) == DW_OK);
    CHECK(dw_net_add_parallel(net, 3, (const dw_net *const *)br) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("parallel with 3 branches on 2 open streams"));
    dw_net_clear(net);

    /* a sum of two different activations of one stream, then an activation of the (non-Gaussian) sum */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK && dw_net_add_fanout(net, 2) == DW_OK);
    CHECK(dw_net_add_act(br[0], relu) == DW_OK && dw_net_add_act(br[1], tanh_) == DW_OK);
    CHECK(dw_net_add_parallel(net, 2, (const dw_net *const *)br) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("different activations"));
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_add_residual(net, br[0], 1.0, 1.0) == DW_OK && dw_net_add_act(net, relu) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_ERR_INVALID && has("needs a Gaussian input"));
    dw_net_clear(net);

    /* the standard parameterisation's NTK without a width */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_identity(net) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(dw_net_set_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK && dw_net_add_dense(net, 1, 0, 0) == DW_OK);
    CHECK(gram(net, X, 2, NULL, 2, 3, NULL, K) == DW_ERR_INVALID && has("width"));
    CHECK(gram(net, X, 2, NULL, 2, 3, K, NULL) == DW_OK); /* the NNGP needs none */
    /* every layer at once is a fully connected option */
    dw_kernel_opts *o;
    CHECK(dw_kernel_opts_init(&o) == DW_OK && dw_kernel_opts_set_all_layers(o, true) == DW_OK);
    CHECK(dw_kernel_gram(net, o, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_ERR_INVALID && has("all_layers"));
    dw_kernel_opts_clear(o);
    dw_net_clear(net);

    for (int i = 0; i < 3; i++) dw_net_clear(br[i]);
    dw_act_clear(relu);
    dw_act_clear(tanh_);
}

int main(void)
{
    test_refusals();
    return check_done("arch_errors");
}
