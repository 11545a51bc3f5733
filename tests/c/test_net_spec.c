/* dw_net_parse / dw_net_spec: the canonical spelling reads back to the same layers bit for bit (every field, every
 * layer kind, nested branches); a spelling gives the same net as the setters (the independent route) and the same
 * Gram matrices; every malformed spelling fails with one line "net: column C: ..." at the right column and leaves
 * the net unchanged. */
#include "check.h"
#include "deepwick.h"
#include "net/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Two activations are the same when their canonical names and their values at a few points are. */
static int same_act(const dw_act *a, const dw_act *b)
{
    if (strcmp(dw_act_name(a), dw_act_name(b)) != 0 || strcmp(dw_act_method(a), dw_act_method(b)) != 0) return 0;
    static const double z[5] = {-2.5, -0.3, 0.0, 0.7, 3.0};
    double pa[5], pb[5], da[5], db[5];
    if (dw_act_eval(a, 5, z, pa, da) || dw_act_eval(b, 5, z, pb, db)) return 0;
    return memcmp(pa, pb, sizeof pa) == 0 && memcmp(da, db, sizeof da) == 0;
}

/* Every field of every layer, branches recursively. */
static int same_net(const dw_net *a, const dw_net *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const dw_net_layer *x = &a->layer[i], *y = &b->layer[i];
        if (x->kind != y->kind || !same_double(x->weight_var, y->weight_var) ||
            !same_double(x->bias_var, y->bias_var) || !same_double(x->width, y->width) || x->W != y->W ||
            x->b != y->b || x->rows != y->rows || x->cols != y->cols || x->param != y->param ||
            x->no_bias != y->no_bias || x->rank != y->rank || memcmp(x->window, y->window, sizeof x->window) ||
            memcmp(x->stride, y->stride, sizeof x->stride) || x->padding != y->padding || x->average != y->average ||
            x->normalize_edges != y->normalize_edges || x->spatial != y->spatial || x->train != y->train ||
            !same_double(x->eps, y->eps) || !same_double(x->rate, y->rate) || !same_double(x->c, y->c) ||
            x->n != y->n)
            return 0;
        if ((x->act == NULL) != (y->act == NULL) || (x->act && !same_act(x->act, y->act))) return 0;
        if (x->kind == DW_LAYER_PARALLEL)
            for (size_t k = 0; k < x->n; k++)
                if (!same_net(x->branch[k], y->branch[k])) return 0;
    }
    return 1;
}

/* spec(net) parses back to the same layers, and its own spelling is the same text. */
static void check_round_trip(dw_net *net, const char *what)
{
    const char *spec = dw_net_spec(net);
    CHECK(spec != NULL);
    if (!spec) {
        fprintf(stderr, "%s: %s\n", what, dw_error_message());
        return;
    }
    char *copy = strdup(spec);
    dw_net *back;
    CHECK(dw_net_init(&back) == DW_OK);
    dw_status s = dw_net_parse(back, copy);
    CHECK(s == DW_OK);
    int same = s == DW_OK && same_net(net, back);
    CHECK(same);
    const char *again = dw_net_spec(back);
    CHECK(again && strcmp(again, copy) == 0);
    if (s || !same) fprintf(stderr, "%s: '%s' -> %s\n", what, copy, s ? dw_error_message() : "different layers");
    dw_net_clear(back);
    free(copy);
}

static dw_act *act(const char *spec)
{
    dw_act *a = NULL;
    CHECK(dw_act_init(&a, spec) == DW_OK);
    return a;
}

static void test_round_trips(void)
{
    dw_act *relu = act("relu"), *leaky = act("leaky_relu:0.1"), *poly = act("poly:0,1,0.5"),
           *swish = act("z*sigmoid(1.702*z)"), *ident = act("identity"), *mx = act("max(z, 0.1*z)"), *erf = act("erf");
    dw_net *net, *b1, *b2, *inner;
    CHECK(dw_net_init(&net) == DW_OK);
    check_round_trip(net, "empty");
    /* dense: bias, no bias, widths (a fraction too), per-layer parameterisation, awkward doubles */
    CHECK(dw_net_add_dense(net, 2.0, 0.1, 0) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK);
    CHECK(dw_net_add_dense(net, 1.0 / 3.0, 0, 64) == DW_OK && dw_net_set_last_no_bias(net) == DW_OK);
    CHECK(dw_net_add_act(net, leaky) == DW_OK);
    CHECK(dw_net_add_dense(net, 5e-324, 1e300, 2.5) == DW_OK && dw_net_set_last_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(net, poly) == DW_OK);
    CHECK(dw_net_add_dense(net, 0.0, 0.0, 1) == DW_OK && dw_net_set_last_param(net, DW_PARAM_NTK) == DW_OK);
    CHECK(dw_net_add_act(net, swish) == DW_OK);
    CHECK(dw_net_add_act(net, ident) == DW_OK); /* an activation named like a layer */
    CHECK(dw_net_add_identity(net) == DW_OK);
    CHECK(dw_net_add_act(net, mx) == DW_OK);
    check_round_trip(net, "dense and activations");
    dw_net_clear(net);

    /* the fully connected network of dw_net_set_fc and its per-layer setters */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_set_fc(net, 3, erf, true) == DW_OK);
    check_round_trip(net, "set_fc");
    const double wv[4] = {2, 1.5, 1, 0.5}, bv[4] = {0.1, 0, 0.2, 0.3}, widths[3] = {64, 32, 16};
    CHECK(dw_net_set_weight_var(net, 4, wv) == DW_OK && dw_net_set_bias_var(net, 4, bv) == DW_OK);
    CHECK(dw_net_set_widths(net, 3, widths) == DW_OK && dw_net_set_out_dim(net, 3) == DW_OK);
    check_round_trip(net, "set_fc with per-layer values");
    dw_net_clear(net);

    /* convolutions and pools of 1, 2 and 3 axes, every padding */
    CHECK(dw_net_init(&net) == DW_OK);
    const size_t f1[1] = {3}, f2[2] = {3, 2}, f3[3] = {2, 2, 3}, s2[2] = {2, 1}, s3[3] = {1, 2, 3};
    CHECK(dw_net_add_conv(net, 1, f1, NULL, DW_PAD_VALID, 1.96, 0.01, 0) == DW_OK);
    CHECK(dw_net_add_conv(net, 2, f2, s2, DW_PAD_SAME, 2.0, 0.0, 16) == DW_OK && dw_net_set_last_no_bias(net) == 0);
    CHECK(dw_net_add_conv(net, 3, f3, s3, DW_PAD_CIRCULAR, 0.5, 0.25, 7) == DW_OK &&
          dw_net_set_last_param(net, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_pool(net, true, 2, f2, NULL, DW_PAD_SAME, true) == DW_OK);
    CHECK(dw_net_add_pool(net, true, 3, f3, s3, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_pool(net, false, 1, f1, f1, DW_PAD_CIRCULAR, false) == DW_OK);
    CHECK(dw_net_add_global_pool(net, true) == DW_OK && dw_net_add_global_pool(net, false) == DW_OK);
    CHECK(dw_net_add_flatten(net) == DW_OK);
    CHECK(dw_net_add_layernorm(net, false, 1e-12) == DW_OK && dw_net_add_layernorm(net, true, 0.0) == DW_OK);
    CHECK(dw_net_add_dropout(net, 0.9, true) == DW_OK && dw_net_add_dropout(net, 1.0, false) == DW_OK);
    CHECK(dw_net_add_scale(net, -0.0) == DW_OK && dw_net_add_scale(net, 0.1) == DW_OK);
    CHECK(dw_net_add_scale(net, -1.7976931348623157e308) == DW_OK);
    check_round_trip(net, "spatial layers");
    dw_net_clear(net);

    /* parallel in residual in parallel, fanout / faninsum around them */
    CHECK(dw_net_init(&b1) == DW_OK && dw_net_init(&b2) == DW_OK && dw_net_init(&inner) == DW_OK);
    CHECK(dw_net_add_dense(b1, 1.5, 0.05, 0) == DW_OK && dw_net_add_act(b1, erf) == DW_OK);
    CHECK(dw_net_add_scale(b2, 2.0) == DW_OK && dw_net_add_act(b2, poly) == DW_OK);
    const dw_net *br[2] = {b1, b2};
    CHECK(dw_net_add_fanout(inner, 2) == DW_OK && dw_net_add_parallel(inner, 2, br) == DW_OK &&
          dw_net_add_fanin_sum(inner) == DW_OK && dw_net_add_dense(inner, 1, 0, 0) == DW_OK);
    dw_net *res;
    CHECK(dw_net_init(&res) == DW_OK && dw_net_add_residual(res, inner, 0.5, 2.0) == DW_OK);
    const dw_net *br2[3] = {res, b1, b2};
    CHECK(dw_net_init(&net) == DW_OK && dw_net_add_fanout(net, 3) == DW_OK &&
          dw_net_add_parallel(net, 3, br2) == DW_OK && dw_net_add_fanin_sum(net) == DW_OK);
    CHECK(dw_net_add_act(net, relu) == DW_OK);
    check_round_trip(net, "nested branches");
    /* the spelling of a residual block is its fanout / parallel / faninsum */
    dw_net *r2;
    CHECK(dw_net_init(&r2) == DW_OK && dw_net_parse(r2, "residual(relu; dense(W_var=2), skip_scale=0.5)") == DW_OK);
    CHECK(strcmp(dw_net_spec(r2), "fanout(2); parallel(relu; dense(W_var=2, b_std=none); scale(1) | scale(0.5)); "
                                  "faninsum") == 0);
    dw_net_clear(r2);
    dw_net_clear(net);
    dw_net_clear(res);
    dw_net_clear(inner);
    dw_net_clear(b1);
    dw_net_clear(b2);

    /* what has no spelling says so: given weights, an empty branch */
    CHECK(dw_net_init(&net) == DW_OK && dw_net_init(&b1) == DW_OK);
    const double W[2] = {1, 2};
    const double *Ws[1] = {W};
    const size_t given_widths[2] = {2, 1};
    CHECK(dw_net_set_given(net, NULL, 1, given_widths, Ws, NULL, true) == DW_OK);
    CHECK(dw_net_spec(net) == NULL && has("given weights"));
    CHECK(dw_net_parse(net, "relu") == DW_ERR_INVALID && has("given weights"));
    dw_net_clear(net);
    CHECK(dw_net_init(&net) == DW_OK);
    const dw_net *br3[1] = {b1};
    CHECK(dw_net_add_parallel(net, 1, br3) == DW_OK);
    CHECK(dw_net_spec(net) == NULL && has("branch 1 has no layers"));
    dw_net_clear(net);
    dw_net_clear(b1);
    dw_act_clear(relu);
    dw_act_clear(leaky);
    dw_act_clear(poly);
    dw_act_clear(swish);
    dw_act_clear(ident);
    dw_act_clear(mx);
    dw_act_clear(erf);
}

/* A spelling and the setters' calls build the same layers. */
static void test_against_setters(void)
{
    dw_act *relu = act("relu"), *tanh_ = act("tanh"), *mx = act("max(z, 0.1*z)"), *poly = act("poly:0,1,0.5");
    dw_net *p, *q;
    CHECK(dw_net_init(&p) == DW_OK && dw_net_init(&q) == DW_OK);
    CHECK(dw_net_parse(p, "  Conv(3x3, SAME, W_std=1.5, b_std=0.1) ;relu; avgpool(2x2, strides=2x2, padding=same, "
                          "normalize_edges=true);sumpool(2, padding=circular);flatten; dense(W_std=1.4, b_var=0.3, "
                          "out_dim=10, parameterization=standard);tanh ;max(z, 0.1*z);poly:0,1,0.5  ") == DW_OK);
    const size_t f[2] = {3, 3}, w[2] = {2, 2}, w1[1] = {2};
    CHECK(dw_net_add_conv(q, 2, f, NULL, DW_PAD_SAME, 1.5 * 1.5, 0.1 * 0.1, 0) == DW_OK);
    CHECK(dw_net_add_act(q, relu) == DW_OK);
    CHECK(dw_net_add_pool(q, true, 2, w, w, DW_PAD_SAME, true) == DW_OK);
    CHECK(dw_net_add_pool(q, false, 1, w1, NULL, DW_PAD_CIRCULAR, false) == DW_OK);
    CHECK(dw_net_add_flatten(q) == DW_OK);
    CHECK(dw_net_add_dense(q, 1.4 * 1.4, 0.3, 10) == DW_OK && dw_net_set_last_param(q, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_add_act(q, tanh_) == DW_OK && dw_net_add_act(q, mx) == DW_OK && dw_net_add_act(q, poly) == DW_OK);
    CHECK(same_net(p, q));
    dw_net_clear(p);
    dw_net_clear(q);

    /* defaults: NT's (W_std 1, b_std None, VALID, strides 1, eps 1e-12, mode train, skip and branch scale 1) */
    CHECK(dw_net_init(&p) == DW_OK && dw_net_init(&q) == DW_OK);
    CHECK(dw_net_parse(p, "dense; conv(2x2); avgpool(3); layernorm; layernorm(axis=all, eps=0.5); dropout(0.5); "
                          "globalavgpool; globalsumpool; identity; fanout(2); parallel(scale(2) | identity); faninsum; "
                          "residual(relu); act(identity); dense()") == DW_OK);
    const size_t f2[2] = {2, 2}, w3[1] = {3};
    CHECK(dw_net_add_dense(q, 1, 0, 0) == DW_OK && dw_net_set_last_no_bias(q) == DW_OK);
    CHECK(dw_net_add_conv(q, 2, f2, NULL, DW_PAD_VALID, 1, 0, 0) == DW_OK && dw_net_set_last_no_bias(q) == DW_OK);
    CHECK(dw_net_add_pool(q, true, 1, w3, NULL, DW_PAD_VALID, false) == DW_OK);
    CHECK(dw_net_add_layernorm(q, false, 1e-12) == DW_OK && dw_net_add_layernorm(q, true, 0.5) == DW_OK);
    CHECK(dw_net_add_dropout(q, 0.5, true) == DW_OK);
    CHECK(dw_net_add_global_pool(q, true) == DW_OK && dw_net_add_global_pool(q, false) == DW_OK);
    CHECK(dw_net_add_identity(q) == DW_OK && dw_net_add_fanout(q, 2) == DW_OK);
    dw_net *s2, *id, *rb;
    dw_act *ident = act("identity");
    CHECK(dw_net_init(&s2) == DW_OK && dw_net_add_scale(s2, 2) == DW_OK);
    CHECK(dw_net_init(&id) == DW_OK && dw_net_add_identity(id) == DW_OK);
    CHECK(dw_net_init(&rb) == DW_OK && dw_net_add_act(rb, relu) == DW_OK);
    const dw_net *br[2] = {s2, id};
    CHECK(dw_net_add_parallel(q, 2, br) == DW_OK && dw_net_add_fanin_sum(q) == DW_OK);
    CHECK(dw_net_add_residual(q, rb, 1.0, 1.0) == DW_OK);
    CHECK(dw_net_add_act(q, ident) == DW_OK);
    CHECK(dw_net_add_dense(q, 1, 0, 0) == DW_OK && dw_net_set_last_no_bias(q) == DW_OK);
    CHECK(same_net(p, q));
    /* appended to what is there: the net's other settings untouched */
    const size_t n0 = dw_net_layers(p);
    CHECK(dw_net_set_param(p, DW_PARAM_STANDARD) == DW_OK);
    CHECK(dw_net_parse(p, "relu") == DW_OK && dw_net_layers(p) == n0 + 1 && dw_net_param(p) == DW_PARAM_STANDARD);
    dw_net_clear(s2);
    dw_net_clear(id);
    dw_net_clear(rb);
    dw_net_clear(p);
    dw_net_clear(q);
    dw_act_clear(ident);
    dw_act_clear(relu);
    dw_act_clear(tanh_);
    dw_act_clear(mx);
    dw_act_clear(poly);
}

/* spec must fail at column col with a message containing want, one line, the net unchanged. */
static void check_error(const char *spec, size_t col, const char *want)
{
    dw_net *net;
    CHECK(dw_net_init(&net) == DW_OK);
    CHECK(dw_net_parse(net, "dense(W_var=2); relu") == DW_OK);
    char before[256];
    snprintf(before, sizeof before, "%s", dw_net_spec(net));
    dw_error_clear();
    dw_status s = dw_net_parse(net, spec);
    char head[48];
    snprintf(head, sizeof head, "net: column %zu: ", col);
    const char *msg = dw_error_message();
    int ok = s == DW_ERR_INVALID && strncmp(msg, head, strlen(head)) == 0 && strstr(msg, want) &&
             !strchr(msg, '\n');
    CHECK(ok);
    if (!ok) fprintf(stderr, "spelling '%s': status %d, message '%s' (wanted '%s...%s')\n", spec, (int)s, msg, head,
                     want);
    CHECK(dw_net_layers(net) == 2 && strcmp(dw_net_spec(net), before) == 0);
    dw_net_clear(net);
}

static void test_errors(void)
{
    /* unknown keys and layers, bad activations */
    check_error("dense(W_sd=1)", 7, "dense: expected an argument of dense (W_std, W_var, b_std, b_var, out_dim, "
                                    "parameterization), found 'W_sd'");
    check_error("relu; flaten", 7, "expected a layer (dense, conv,");
    check_error("relu; flaten", 7, "found 'flaten'");
    check_error("relu; leaky_relu", 7, "activation 'leaky_relu' needs a slope");
    check_error("leaky_relu:x", 1, "slope 'x' is not a finite number");
    check_error("relu; z*+", 10, "activation: ");
    check_error("relu; tanh(z", 13, "activation: ");
    check_error("act(relu", 9, "act: expected ')' to close the '(' at column 4, found the end");
    check_error("act()", 5, "expected a layer or an activation, found ')'");
    /* shapes */
    check_error("conv(3y3)", 6, "conv: expected filter, a shape such as 3 or 3x3, found '3y3'");
    check_error("conv(3x0)", 6, "conv: expected filter with sizes >= 1");
    check_error("conv(3x3x3x3)", 6, "at most 3 axes");
    check_error("conv(3x)", 6, "a shape such as 3 or 3x3");
    check_error("conv(3x3, strides=2)", 19, "conv: expected strides with 2 axes as the filter, not 1");
    check_error("avgpool(2, strides=1x1)", 20, "avgpool: expected strides with 1 axes as the window, not 2");
    check_error("conv(99999999999999999999999)", 6, "a size overflows");
    check_error("conv(3x3, valid, out_chan=0)", 27, "conv: expected out_chan from 1 to 9007199254740992, found '0'");
    check_error("fanout(99999999999999999999999)", 8, "fanout: expected n from 1 to");
    check_error("fanout(1.5)", 8, "fanout: expected an integer for n");
    /* choices */
    check_error("conv(3x3, full)", 11, "conv: expected padding = valid|same|circular, found 'full'");
    check_error("avgpool(2, normalize_edges=yes)", 28, "normalize_edges = false|true");
    check_error("dense(parameterization=mean_field)", 7 + 17, "parameterization = ntk|standard");
    check_error("sumpool(2, normalize_edges=true)", 12, "sumpool: expected an argument of sumpool");
    /* parentheses, separators, branches */
    check_error("dense(", 7, "dense: expected an argument and ')' to close the '(' at column 6, found the end");
    check_error("conv(3x3, ", 11, "conv: expected an argument and ')' to close the '(' at column 5, found the end");
    check_error("conv(3x3, same", 15, "conv: expected ',' or ')' to close the '(' at column 5, found the end");
    check_error("dense(W_std=1 b_std=1)", 15, "dense: expected ',' or ')' to close the '(' at column 6, found 'b_std'");
    check_error("parallel(relu | erf", 20, "parallel: expected ';', '|' or ')' to close the '(' at column 9");
    check_error("parallel(relu | | erf)", 17, "parallel: branch 2 is empty");
    check_error("parallel()", 10, "parallel: branch 1 is empty");
    check_error("parallel(relu |)", 16, "parallel: branch 2 is empty");
    check_error("parallel", 9, "parallel: expected '(' and its arguments, found the end");
    check_error("relu;", 6, "expected a layer or an activation after the ';' at column 5, found the end");
    check_error("relu; ; erf", 7, "after the ';' at column 5, found ';'");
    check_error("relu)", 5, "expected ';' or the end of the spelling, found ')'");
    check_error("relu | erf", 6, "expected ';' or the end of the spelling, found '|'");
    check_error("residual(relu;)", 15, "after the ';' at column 14, found ')'");
    check_error("residual(relu, skip_scale=)", 27, "residual: expected a number for skip_scale, found ')'");
    check_error("conv", 5, "conv: expected '(' and its arguments");
    check_error("conv()", 6, "conv: expected filter, a shape such as 3 or 3x3, found ')'");
    check_error("dropout(mode=test)", 18, "dropout: expected rate (a required argument), found ')'");
    check_error("conv(3x3, same, valid)", 17, "conv: expected ')' after 2 positional arguments, found 'valid'");
    check_error("dense(1)", 7, "dense: expected KEY=value (dense takes keyword arguments only), found '1'");
    check_error("conv(strides=2, 3)", 17, "conv: expected KEY=value after a keyword argument, found '3'");
    check_error("dense(W_std=1, W_std=2)", 16, "dense: W_std given twice");
    check_error("dense(W_std=1, W_var=2)", 22, "expected W_std or W_var, not both, found '2'");
    check_error("dense(b_std=none, b_var=2)", 25, "expected b_std or b_var, not both");
    /* numbers: range, NaN, infinity, overflow, not a number */
    check_error("dense(W_std=-1)", 13, "dense: expected W_std >= 0, found '-1'");
    check_error("dense(out_dim=0)", 15, "dense: expected out_dim > 0, found '0'");
    check_error("dropout(0)", 9, "dropout: expected rate in (0, 1], found '0'");
    check_error("dropout(1.5)", 9, "dropout: expected rate in (0, 1], found '1.5'");
    check_error("dropout(0.5, mode=eval)", 19, "dropout: expected mode = train|test");
    check_error("layernorm(eps=-1e-3)", 15, "layernorm: expected eps >= 0");
    check_error("layernorm(axis=1)", 16, "layernorm: expected axis = channels|all");
    check_error("scale(nan)", 7, "scale: expected a finite number for c, found 'nan'");
    check_error("scale(-inf)", 7, "scale: expected a finite number for c, found '-inf'");
    check_error("scale(1e999)", 7, "scale: c overflows a double (expected a finite number), found '1e999'");
    check_error("scale(0x10)", 7, "scale: expected a number for c, found '0x10'");
    check_error("scale(1e)", 7, "scale: expected a number for c, found '1e'");
    check_error("dense(W_std=1e200)", 13, "W_std squared overflows a double");
    check_error("dense(b_std=nan)", 13, "dense: expected a finite number for b_std");
    check_error("dense(b_std=no)", 13, "dense: expected a number for b_std (or none), found 'no'");
    /* errors inside branches name the column in the whole spelling */
    check_error("relu; parallel(relu; dense(W_std=-2) | erf)", 34, "dense: expected W_std >= 0");
    check_error("residual(parallel(relu | residual(conv(3x3, same, W_var=x))))", 57, "expected a number for W_var");
    /* nesting depth */
    char deep[512] = "";
    for (int k = 0; k < 40; k++) strcat(deep, "residual(");
    strcat(deep, "relu");
    for (int k = 0; k < 40; k++) strcat(deep, ")");
    check_error(deep, 33 * 9 + 1, "expected at most 32 nested parallel or residual layers");
    /* an activation's message echoing the text stays one line */
    check_error("relu; a\nb:c", 7, "unknown activation 'a\\x0ab'");
    /* a non-printable byte is shown escaped */
    check_error("relu; dense(W_std=\x01)", 19, "found '\\x01'");
}

/* The Gram matrices of a parsed net equal those of the setters' net (bit for bit: the same layers). */
static void test_gram(void)
{
    const size_t shape[3] = {4, 4, 2}, n = 3, d = 32;
    double X[3 * 32];
    for (size_t i = 0; i < n * d; i++) X[i] = sin(0.37 * (double)i + 0.1) + 0.2 * cos(1.3 * (double)i);
    dw_act *relu = act("relu"), *erf = act("erf");
    dw_net *p, *q, *rb;
    CHECK(dw_net_init(&p) == DW_OK && dw_net_init(&q) == DW_OK && dw_net_init(&rb) == DW_OK);
    CHECK(dw_net_set_input_shape(p, 3, shape) == DW_OK && dw_net_set_input_shape(q, 3, shape) == DW_OK);
    CHECK(dw_net_parse(p, "conv(3x3, circular, W_std=1.2, b_std=0.1); relu; residual(conv(3x3, same, W_var=1.5, "
                          "b_var=0.02); erf; conv(1x1, valid, W_var=0.8), skip_scale=1, branch_scale=0.5); "
                          "conv(2x2, valid, W_var=2); "
                          "avgpool(2x2, padding=same, normalize_edges=true); layernorm; relu; flatten; "
                          "dense(W_var=1.3, b_var=0.05)") == DW_OK);
    const size_t f3[2] = {3, 3}, f2[2] = {2, 2};
    CHECK(dw_net_add_conv(q, 2, f3, NULL, DW_PAD_CIRCULAR, 1.2 * 1.2, 0.1 * 0.1, 0) == DW_OK);
    CHECK(dw_net_add_act(q, relu) == DW_OK);
    const size_t f1[2] = {1, 1};
    CHECK(dw_net_add_conv(rb, 2, f3, NULL, DW_PAD_SAME, 1.5, 0.02, 0) == DW_OK && dw_net_add_act(rb, erf) == DW_OK);
    CHECK(dw_net_add_conv(rb, 2, f1, NULL, DW_PAD_VALID, 0.8, 0, 0) == DW_OK && dw_net_set_last_no_bias(rb) == 0);
    CHECK(dw_net_add_residual(q, rb, 1.0, 0.5) == DW_OK);
    CHECK(dw_net_add_conv(q, 2, f2, NULL, DW_PAD_VALID, 2.0, 0, 0) == DW_OK && dw_net_set_last_no_bias(q) == DW_OK);
    CHECK(dw_net_add_pool(q, true, 2, f2, NULL, DW_PAD_SAME, true) == DW_OK);
    CHECK(dw_net_add_layernorm(q, false, 1e-12) == DW_OK && dw_net_add_act(q, relu) == DW_OK);
    CHECK(dw_net_add_flatten(q) == DW_OK && dw_net_add_dense(q, 1.3, 0.05, 0) == DW_OK);
    double Kp[9], Tp[9], Kq[9], Tq[9];
    dw_status s = dw_kernel_gram(p, NULL, X, n, NULL, n, d, Kp, Tp, NULL);
    CHECK(s == DW_OK);
    if (s) fprintf(stderr, "gram: %s\n", dw_error_message());
    CHECK(dw_kernel_gram(q, NULL, X, n, NULL, n, d, Kq, Tq, NULL) == DW_OK);
    CHECK(memcmp(Kp, Kq, sizeof Kp) == 0 && memcmp(Tp, Tq, sizeof Tp) == 0);
    CHECK(Kp[0] > 0 && Tp[0] > Kp[0]); /* a non-trivial result */
    dw_net_clear(p);
    dw_net_clear(q);
    dw_net_clear(rb);
    dw_act_clear(relu);
    dw_act_clear(erf);
}

int main(void)
{
    test_round_trips();
    test_against_setters();
    test_errors();
    test_gram();
    return check_done("net_spec");
}
