/* dw_net_parse: the one-line text spelling of a network (docs/architectures.md, "The text spelling"):
 *   net := layer (';' layer)*      layer := NAME ['(' args ')'] | ACTIVATION      arg := value | KEY '=' value
 * Layer names and keys after Neural Tangents' stax (case-insensitive); anything that is not a layer name is an
 * activation (dw_act_init). The layers are built into a temporary net that owns the parsed activations, and moved
 * into the caller's net only once the whole text has been read: a malformed spelling leaves the net unchanged. */
#include "net/net.h"
#include "net/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NEST_MAX 32       /* parallel / residual nesting */
#define OUT_CHAN_MAX 9007199254740992.0 /* 2^53: a width a double holds exactly */

/* ---- the layers' arguments ---- */

enum { L_DENSE, L_CONV, L_AVGPOOL, L_SUMPOOL, L_GAVG, L_GSUM, L_FLATTEN, L_IDENTITY, L_LAYERNORM, L_DROPOUT, L_SCALE,
       L_FANOUT, L_PARALLEL, L_FANINSUM, L_RESIDUAL, L_ACT, L_COUNT };

#define ARGS_MAX 10
typedef struct layerdef {
    const char *name;
    int positional; /* the first `positional` args may be given without their key */
    int required;   /* the first `required` args must be given */
    spec_argdef arg[ARGS_MAX];
} layerdef;

#define NONNEG 0.0, 0, HUGE_VAL
#define ANY -HUGE_VAL, 0, HUGE_VAL
#define AFFINE                                                                                                     \
    {"W_std", A_NUM, NONNEG, NULL}, {"W_var", A_NUM, NONNEG, NULL}, {"b_std", A_NUM_NONE, NONNEG, NULL},          \
        {"b_var", A_NUM, NONNEG, NULL}
#define PARAM {"parameterization", A_CHOICE, ANY, "ntk|standard"}
#define PAD {"padding", A_CHOICE, ANY, "valid|same|circular"}

static const layerdef layers[L_COUNT] = {
    [L_DENSE] = {"dense", 0, 0, {AFFINE, {"out_dim", A_POS, 0.0, 1, HUGE_VAL, NULL}, PARAM}},
    [L_CONV] = {"conv", 2, 1,
                {{"filter", A_SHAPE, ANY, NULL}, PAD, {"strides", A_SHAPE, ANY, NULL}, AFFINE,
                 {"out_chan", A_COUNT, 1.0, 0, OUT_CHAN_MAX, NULL}, PARAM}},
    [L_AVGPOOL] = {"avgpool", 1, 1,
                   {{"window", A_SHAPE, ANY, NULL}, {"strides", A_SHAPE, ANY, NULL}, PAD,
                    {"normalize_edges", A_CHOICE, ANY, "false|true"}}},
    [L_SUMPOOL] = {"sumpool", 1, 1, {{"window", A_SHAPE, ANY, NULL}, {"strides", A_SHAPE, ANY, NULL}, PAD}},
    [L_GAVG] = {.name = "globalavgpool"},
    [L_GSUM] = {.name = "globalsumpool"},
    [L_FLATTEN] = {.name = "flatten"},
    [L_IDENTITY] = {.name = "identity"},
    [L_LAYERNORM] = {"layernorm", 0, 0, {{"axis", A_CHOICE, ANY, "channels|all"}, {"eps", A_NUM, NONNEG, NULL}}},
    [L_DROPOUT] = {"dropout", 1, 1, {{"rate", A_NUM, 0.0, 1, 1.0, NULL}, {"mode", A_CHOICE, ANY, "train|test"}}},
    [L_SCALE] = {"scale", 1, 1, {{"c", A_NUM, ANY, NULL}}},
    [L_FANOUT] = {"fanout", 1, 1, {{"n", A_COUNT, 1.0, 0, (double)SIZE_MAX, NULL}}},
    [L_PARALLEL] = {.name = "parallel"}, /* its own syntax: NET ('|' NET)* */
    [L_FANINSUM] = {.name = "faninsum"},
    [L_RESIDUAL] = {"residual", 1, 1,
                    {{"branch", A_NET, ANY, NULL}, {"skip_scale", A_NUM, ANY, NULL},
                     {"branch_scale", A_NUM, ANY, NULL}}},
    [L_ACT] = {.name = "act"}, /* act(ACTIVATION): an activation named like a layer (identity) */
};

int dw_net_spec_is_layer_word(const char *s, size_t n)
{
    for (int k = 0; k < L_COUNT; k++)
        if (strlen(layers[k].name) == n && strncasecmp(s, layers[k].name, n) == 0) return 1;
    return 0;
}


static dw_status parse_net(spec_parser *P, dw_net *net, int ctx);

/* An activation: the text up to the next ';' (or '|', ')', or in a residual's branch a ',' before KEY=) outside
 * parentheses. */
static dw_status parse_act(spec_parser *P, dw_net *net, int ctx)
{
    size_t a = P->pos, e = a;
    int depth = 0;
    for (; e < P->len; e++) {
        char c = P->s[e];
        if (c == '(') depth++;
        else if (c == ')' && depth) depth--;
        else if (depth == 0 && (c == ';' || c == '|' || c == ')')) break;
        else if (depth == 0 && c == ',' && ctx == CTX_RESIDUAL) {
            size_t q = e + 1;
            while (q < P->len && isspace((unsigned char)P->s[q])) q++;
            size_t w = q;
            while (w < P->len && dw_net_spec_is_word(P->s[w])) w++;
            while (w < P->len && isspace((unsigned char)P->s[w])) w++;
            if (w > q && w < P->len && P->s[w] == '=') break;
        }
    }
    size_t b = e;
    while (b > a && isspace((unsigned char)P->s[b - 1])) b--;
    if (b == a) return dw_net_spec_fail(P, a, "expected a layer or an activation");
    char *text = dw_alloc(b - a + 1, 1, "network spelling");
    if (!text) return DW_ERR_NOMEM;
    memcpy(text, P->s + a, b - a);
    text[b - a] = '\0';
    int word = 1;
    for (size_t i = 0; i < b - a; i++) word &= dw_net_spec_is_word(text[i]);
    dw_act *act = NULL;
    dw_status s = dw_act_init(&act, text);
    if (s == DW_ERR_INVALID) {
        char msg[512]; /* one printable line: dw_act_init may echo the text as it is */
        const char *m = dw_error_message();
        dw_io_excerpt(msg, sizeof msg, m, strlen(m));
        size_t col;
        int used = 0;
        if (word && ctx != CTX_ACT && strncmp(msg, "unknown activation", 18) == 0)
            s = dw_net_spec_fail(P, a, "expected a layer (dense, conv, avgpool, sumpool, globalavgpool, globalsumpool, "
                                 "flatten, identity, layernorm, dropout, scale, fanout, parallel, faninsum, residual) "
                                 "or an activation (relu, erf, tanh, ..., or an expression in z)");
        else if (sscanf(msg, "column %zu: %n", &col, &used) == 1 && used > 0)
            s = dw_fail(DW_ERR_INVALID, "net: column %zu: activation: %s", a + col, msg + used);
        else
            s = dw_fail(DW_ERR_INVALID, "net: column %zu: %s", a + 1, msg);
    }
    free(text);
    if (s) return s;
    if ((s = dw_net_own_act(P->owner, act))) return s;
    if ((s = dw_net_add_act(net, act))) return dw_net_spec_placed(P, a, s);
    P->pos = e;
    return DW_OK;
}

/* After a value: ',' (another argument follows) or ')' (the end); 1 when the list goes on. */
static dw_status after_value(spec_parser *P, size_t open, const char *who, int *more)
{
    dw_net_spec_skip_ws(P);
    if (P->pos < P->len && P->s[P->pos] == ',') {
        P->pos++;
        *more = 1;
        return DW_OK;
    }
    if (P->pos < P->len && P->s[P->pos] == ')') {
        P->pos++;
        *more = 0;
        return DW_OK;
    }
    return dw_net_spec_fail(P, P->pos, "%s: expected ',' or ')' to close the '(' at column %zu", who, open + 1);
}

/* args := arg (',' arg)* ')' after the '(' at `open`. */
static dw_status parse_args(spec_parser *P, const layerdef *L, size_t open, spec_argval *v)
{
    dw_net_spec_skip_ws(P);
    if (P->pos < P->len && P->s[P->pos] == ')' && L->required == 0) {
        P->pos++;
        return DW_OK;
    }
    int n_pos = 0, keyed = 0, more = 1;
    while (more) {
        dw_net_spec_skip_ws(P);
        size_t at = P->pos, w = at;
        if (at >= P->len)
            return dw_net_spec_fail(P, at, "%s: expected an argument and ')' to close the '(' at column %zu",
                                    L->name, open + 1);
        while (w < P->len && dw_net_spec_is_word(P->s[w])) w++;
        size_t q = w;
        while (q < P->len && isspace((unsigned char)P->s[q])) q++;
        int k = -1;
        if (w > at && q < P->len && P->s[q] == '=') {
            for (int j = 0; j < ARGS_MAX && L->arg[j].key; j++)
                if (strlen(L->arg[j].key) == w - at && strncasecmp(L->arg[j].key, P->s + at, w - at) == 0) k = j;
            if (k < 0) {
                char keys[256] = "";
                for (int j = 0; j < ARGS_MAX && L->arg[j].key; j++)
                    snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", j ? ", " : "", L->arg[j].key);
                return dw_net_spec_fail(P, at, "%s: expected an argument of %s (%s)", L->name, L->name, keys);
            }
            if (v[k].given) return dw_net_spec_fail(P, at, "%s: %s given twice: expected each argument once", L->name,
                                                    L->arg[k].key);
            P->pos = q + 1;
            dw_net_spec_skip_ws(P);
            keyed = 1;
        } else {
            if (keyed) return dw_net_spec_fail(P, at, "%s: expected KEY=value after a keyword argument", L->name);
            if (n_pos >= L->positional) {
                if (L->positional == 0)
                    return dw_net_spec_fail(P, at, "%s: expected KEY=value (%s takes keyword arguments only)", L->name,
                                            L->name);
                return dw_net_spec_fail(P, at, "%s: expected ')' after %d positional argument%s", L->name,
                                        L->positional, L->positional > 1 ? "s" : "");
            }
            k = n_pos++;
            if (v[k].given) return dw_net_spec_fail(P, at, "%s: %s given twice", L->name, L->arg[k].key);
        }
        const spec_argdef *d = &L->arg[k];
        v[k].given = 1;
        v[k].col = P->pos;
        dw_status s = DW_OK;
        switch (d->type) {
        default: s = dw_net_spec_read_value(P, d, L->name, &v[k]); break;
        case A_NET:
            if ((s = dw_net_init(&v[k].net))) return s;
            P->nest++;
            s = parse_net(P, v[k].net, CTX_RESIDUAL);
            P->nest--;
            break;
        }
        if (s || (s = after_value(P, open, L->name, &more))) return s;
    }
    for (int j = 0; j < L->required; j++)
        if (!v[j].given)
            return dw_net_spec_fail(P, P->pos - 1, "%s: expected %s (a required argument)", L->name, L->arg[j].key);
    return DW_OK;
}

/* parallel(NET | NET | ...) after the '(' at `open`. */
static dw_status parse_parallel(spec_parser *P, dw_net *net, size_t at, size_t open)
{
    dw_net **b = NULL;
    size_t n = 0;
    dw_status s = DW_OK;
    for (;;) {
        dw_net **nb = realloc(b, (n + 1) * sizeof *nb);
        if (!nb) {
            s = dw_fail(DW_ERR_NOMEM, "out of memory (network spelling)");
            break;
        }
        b = nb;
        if ((s = dw_net_init(&b[n]))) break;
        n++;
        dw_net_spec_skip_ws(P);
        if (P->pos >= P->len || P->s[P->pos] == '|' || P->s[P->pos] == ')') {
            s = dw_net_spec_fail(P, P->pos, "parallel: branch %zu is empty: expected a layer or an activation", n);
            break;
        }
        P->nest++;
        s = parse_net(P, b[n - 1], CTX_PARALLEL);
        P->nest--;
        if (s) break;
        dw_net_spec_skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == '|') {
            P->pos++;
            continue;
        }
        if (P->pos < P->len && P->s[P->pos] == ')') {
            P->pos++;
            s = dw_net_spec_placed(P, at, dw_net_add_parallel(net, n, (const dw_net *const *)b));
            break;
        }
        s = dw_net_spec_fail(P, P->pos, "parallel: expected ';', '|' or ')' to close the '(' at column %zu", open + 1);
        break;
    }
    for (size_t k = 0; k < n; k++) dw_net_clear(b[k]);
    free(b);
    return s;
}

static dw_status build(spec_parser *P, dw_net *net, int k, size_t at, spec_argval *v);

static dw_status parse_layer(spec_parser *P, dw_net *net, int ctx)
{
    dw_net_spec_skip_ws(P);
    if (P->nest > NEST_MAX)
        return dw_net_spec_fail(P, P->pos, "expected at most %d nested parallel or residual layers", NEST_MAX);
    const size_t at = P->pos;
    size_t w = at;
    while (w < P->len && dw_net_spec_is_word(P->s[w])) w++;
    int k = 0;
    while (k < L_COUNT && !(strlen(layers[k].name) == w - at && strncasecmp(layers[k].name, P->s + at, w - at) == 0))
        k++;
    if (w == at || k == L_COUNT) return parse_act(P, net, ctx);
    const layerdef *L = &layers[k];
    P->pos = w;
    dw_net_spec_skip_ws(P);
    const int open = P->pos < P->len && P->s[P->pos] == '(';
    const size_t open_at = P->pos;
    if (!open) {
        if (L->required || k == L_PARALLEL || k == L_ACT)
            return dw_net_spec_fail(P, P->pos, "%s: expected '(' and its arguments", L->name);
        spec_argval none[ARGS_MAX] = {{0}};
        return build(P, net, k, at, none);
    }
    P->pos++;
    if (k == L_PARALLEL) return parse_parallel(P, net, at, open_at);
    if (k == L_ACT) {
        dw_net_spec_skip_ws(P);
        dw_status s = parse_act(P, net, CTX_ACT);
        if (s) return s;
        dw_net_spec_skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == ')') {
            P->pos++;
            return DW_OK;
        }
        return dw_net_spec_fail(P, P->pos, "act: expected ')' to close the '(' at column %zu", open_at + 1);
    }
    spec_argval v[ARGS_MAX] = {{0}};
    dw_status s = parse_args(P, L, open_at, v);
    if (!s) s = build(P, net, k, at, v);
    for (int j = 0; j < ARGS_MAX; j++) dw_net_clear(v[j].net);
    return s;
}

/* The affine layers' variances: W_var or W_std^2 (default 1), b_var or b_std^2, or no bias (b_std=none, the
 * default as NT's b_std=None). v[0..3] = W_std, W_var, b_std, b_var. */
static dw_status affine(spec_parser *P, const spec_argval *v, double *wv, double *bv, int *no_bias)
{
    if (v[0].given && v[1].given) return dw_net_spec_fail(P, v[1].col, "expected W_std or W_var, not both");
    if (v[2].given && v[3].given) return dw_net_spec_fail(P, v[3].col, "expected b_std or b_var, not both");
    *wv = v[1].given ? v[1].x : v[0].given ? v[0].x * v[0].x : 1.0;
    *no_bias = !(v[3].given || (v[2].given && !v[2].none));
    *bv = v[3].given ? v[3].x : v[2].given && !v[2].none ? v[2].x * v[2].x : 0.0;
    if (!isfinite(*wv))
        return dw_net_spec_fail(P, v[0].col, "W_std squared overflows a double: expected a smaller W_std");
    if (!isfinite(*bv))
        return dw_net_spec_fail(P, v[2].col, "b_std squared overflows a double: expected a smaller b_std");
    return DW_OK;
}

static dw_status finish_affine(spec_parser *P, dw_net *net, size_t at, int no_bias, const spec_argval *param)
{
    dw_status s = DW_OK;
    if (no_bias) s = dw_net_set_last_no_bias(net);
    if (!s && param->given) s = dw_net_set_last_param(net, param->count ? DW_PARAM_STANDARD : DW_PARAM_NTK);
    return dw_net_spec_placed(P, at, s);
}

static dw_status build(spec_parser *P, dw_net *net, int k, size_t at, spec_argval *v)
{
    double wv, bv;
    int nb;
    dw_status s;
    switch (k) {
    case L_DENSE:
        if ((s = affine(P, v, &wv, &bv, &nb))) return s;
        if ((s = dw_net_spec_placed(P, at, dw_net_add_dense(net, wv, bv, v[4].given ? v[4].x : 0.0)))) return s;
        return finish_affine(P, net, at, nb, &v[5]);
    case L_CONV: {
        const size_t rank = v[0].count;
        if (v[2].given && v[2].count != rank)
            return dw_net_spec_fail(P, v[2].col, "conv: expected strides with %zu axes as the filter, not %zu", rank,
                                    v[2].count);
        if ((s = affine(P, v + 3, &wv, &bv, &nb))) return s;
        s = dw_net_add_conv(net, rank, v[0].shape, v[2].given ? v[2].shape : NULL, (dw_padding)v[1].count, wv, bv,
                            v[7].given ? v[7].count : 0);
        if ((s = dw_net_spec_placed(P, at, s))) return s;
        return finish_affine(P, net, at, nb, &v[8]);
    }
    case L_AVGPOOL:
    case L_SUMPOOL:
        if (v[1].given && v[1].count != v[0].count)
            return dw_net_spec_fail(P, v[1].col, "%s: expected strides with %zu axes as the window, not %zu",
                                    layers[k].name, v[0].count, v[1].count);
        return dw_net_spec_placed(P, at, dw_net_add_pool(net, k == L_AVGPOOL, v[0].count, v[0].shape,
                                             v[1].given ? v[1].shape : NULL, (dw_padding)v[2].count,
                                             k == L_AVGPOOL && v[3].count == 1));
    case L_GAVG:
    case L_GSUM: return dw_net_spec_placed(P, at, dw_net_add_global_pool(net, k == L_GAVG));
    case L_FLATTEN: return dw_net_spec_placed(P, at, dw_net_add_flatten(net));
    case L_IDENTITY: return dw_net_spec_placed(P, at, dw_net_add_identity(net));
    case L_FANINSUM: return dw_net_spec_placed(P, at, dw_net_add_fanin_sum(net));
    case L_LAYERNORM:
        return dw_net_spec_placed(P, at, dw_net_add_layernorm(net, v[0].count == 1, v[1].given ? v[1].x : 1e-12));
    case L_DROPOUT: return dw_net_spec_placed(P, at, dw_net_add_dropout(net, v[0].x, v[1].count == 0));
    case L_SCALE: return dw_net_spec_placed(P, at, dw_net_add_scale(net, v[0].x));
    case L_FANOUT: return dw_net_spec_placed(P, at, dw_net_add_fanout(net, v[0].count));
    case L_RESIDUAL:
        return dw_net_spec_placed(P, at, dw_net_add_residual(net, v[0].net, v[1].given ? v[1].x : 1.0,
                                                 v[2].given ? v[2].x : 1.0));
    default: return dw_fail(DW_ERR_INTERNAL, "net: column %zu: layer %d has no builder", at + 1, k);
    }
}

/* layer (';' layer)*, up to what ends the context (the caller checks it). */
static dw_status parse_net(spec_parser *P, dw_net *net, int ctx)
{
    for (;;) {
        dw_status s = parse_layer(P, net, ctx);
        if (s) return s;
        dw_net_spec_skip_ws(P);
        if (P->pos < P->len && P->s[P->pos] == ';') {
            const size_t semi = P->pos++;
            dw_net_spec_skip_ws(P);
            if (P->pos >= P->len || P->s[P->pos] == ';' || P->s[P->pos] == '|' || P->s[P->pos] == ')' ||
                (P->s[P->pos] == ',' && ctx == CTX_RESIDUAL))
                return dw_net_spec_fail(P, P->pos, "expected a layer or an activation after the ';' at column %zu",
                                        semi + 1);
            continue;
        }
        return DW_OK;
    }
}

dw_status dw_net_parse(dw_net *net, const char *spec)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "net: NULL network");
    if (!spec) return dw_fail(DW_ERR_INVALID, "net: NULL spelling");
    if (net->given) return dw_fail(DW_ERR_INVALID, "net: a network with given weights takes no more layers");
    dw_net *tmp = NULL;
    dw_status s = dw_net_init(&tmp);
    if (s) return s;
    spec_parser P = {spec, 0, strlen(spec), tmp, 0};
    dw_net_spec_skip_ws(&P);
    if (P.pos < P.len) s = parse_net(&P, tmp, CTX_TOP); /* an empty spelling: no layers (dw_net_spec's for none) */
    if (!s && P.pos < P.len) s = dw_net_spec_fail(&P, P.pos, "expected ';' or the end of the spelling");
    /* move the layers and the activations in: all or nothing */
    const size_t n0 = net->n;
    if (!s && tmp->n_owned) {
        dw_act **o = realloc(net->owned, (net->n_owned + tmp->n_owned) * sizeof *o);
        if (!o) s = dw_fail(DW_ERR_NOMEM, "out of memory (network activations)");
        else net->owned = o;
    }
    for (size_t i = 0; !s && i < tmp->n; i++) s = dw_net_append(net, &tmp->layer[i]);
    if (s) {
        net->n = n0; /* the appended copies still belong to tmp */
    } else {
        if (tmp->n_owned) memcpy(net->owned + net->n_owned, tmp->owned, tmp->n_owned * sizeof *tmp->owned);
        net->n_owned += tmp->n_owned;
        tmp->n_owned = 0;
        tmp->n = 0;
    }
    dw_net_clear(tmp);
    return s;
}
