/* The polynomial network of the operator-graph expansion (theory.md 4.3): an opaque object whose setters parse the
 * exact values (decimal or fraction strings) once, naming the Python keyword in their messages. */
#include "core/rational.h"
#include "wick/wick.h"

#include <stdlib.h>
#include <string.h>

#define NEED(net, who)                                                                                                \
    do {                                                                                                              \
        if (!(net)) return dw_fail(DW_ERR_INVALID, "%s: NULL network", who);                                          \
    } while (0)

dw_status dw_wick_net_init(dw_wick_net **net)
{
    if (!net) return dw_fail(DW_ERR_INVALID, "dw_wick_net_init: NULL pointer");
    *net = dw_calloc(1, sizeof **net, "polynomial network");
    if (!*net) return DW_ERR_NOMEM;
    (*net)->depth = -1;
    fmpq_init((*net)->sw);
    fmpq_init((*net)->sb);
    fmpq_one((*net)->sw);
    return DW_OK;
}

static void free_coef(fmpq *c, int n)
{
    if (!c) return;
    for (int k = 0; k < n; k++) fmpq_clear(c + k);
    free(c);
}

void dw_wick_net_clear(dw_wick_net *net)
{
    if (!net) return;
    free_coef(net->coef, net->n_coef);
    free_coef(net->gam, net->n_res);
    free_coef(net->al2, net->n_res);
    fmpq_clear(net->sw);
    fmpq_clear(net->sb);
    free(net);
}

dw_status dw_wick_net_set_depth(dw_wick_net *net, int depth)
{
    NEED(net, "depth");
    if (depth < 0 || depth > DW_WICK_NET_DEPTH_MAX)
        return dw_fail(DW_ERR_INVALID, "depth: %d is out of range [0, %d]", depth, DW_WICK_NET_DEPTH_MAX);
    net->depth = depth;
    return DW_OK;
}

dw_status dw_wick_net_set_poly(dw_wick_net *net, size_t n_coef, const char *const *coef)
{
    NEED(net, "poly");
    if (n_coef < 1 || n_coef > DW_WICK_NET_COEF_MAX || !coef)
        return dw_fail(DW_ERR_INVALID, "poly: expected 1 to %d coefficients c0,c1,...,cK (got %zu)",
                       DW_WICK_NET_COEF_MAX, n_coef);
    fmpq *c = dw_calloc(n_coef, sizeof(fmpq), "polynomial coefficients");
    if (!c) return DW_ERR_NOMEM;
    for (size_t k = 0; k < n_coef; k++) fmpq_init(c + k);
    for (size_t k = 0; k < n_coef; k++)
        if (!coef[k] || !dw_rational_parse(c + k, coef[k], strlen(coef[k]))) {
            free_coef(c, (int)n_coef);
            return dw_fail(DW_ERR_INVALID, "poly: coefficient c%zu ('%.40s') is not a number (decimal or p/q)", k,
                           coef[k] ? coef[k] : "NULL");
        }
    free_coef(net->coef, net->n_coef);
    net->coef = c;
    net->n_coef = (int)n_coef;
    return DW_OK;
}

static dw_status set_var(fmpq_t dst, const char *name, const char *v)
{
    fmpq_t t;
    fmpq_init(t);
    if (!v || !dw_rational_parse(t, v, strlen(v)) || fmpq_sgn(t) < 0) {
        fmpq_clear(t);
        return dw_fail(DW_ERR_INVALID, "%s: '%.40s' is not a number >= 0", name, v ? v : "NULL");
    }
    fmpq_swap(dst, t);
    fmpq_clear(t);
    return DW_OK;
}

dw_status dw_wick_net_set_weight_var(dw_wick_net *net, const char *weight_var)
{
    NEED(net, "weight_var");
    return set_var(net->sw, "weight_var", weight_var);
}

dw_status dw_wick_net_set_bias_var(dw_wick_net *net, const char *bias_var)
{
    NEED(net, "bias_var");
    return set_var(net->sb, "bias_var", bias_var);
}

dw_status dw_wick_net_set_residual(dw_wick_net *net, size_t n, const char *const *gamma, const char *const *alpha2)
{
    NEED(net, "residual");
    if (n > DW_WICK_NET_DEPTH_MAX || (n && (!gamma || !alpha2)))
        return dw_fail(DW_ERR_INVALID, "residual: expected 0 to %d blocks (gamma, alpha^2), got %zu%s",
                       DW_WICK_NET_DEPTH_MAX, n, n && (!gamma || !alpha2) ? " with a NULL list" : "");
    fmpq *g = n ? dw_calloc(n, sizeof(fmpq), "residual blocks") : NULL;
    fmpq *a = n ? dw_calloc(n, sizeof(fmpq), "residual blocks") : NULL;
    if (n && (!g || !a)) {
        free(g);
        free(a);
        return DW_ERR_NOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        fmpq_init(g + k);
        fmpq_init(a + k);
    }
    for (size_t k = 0; k < n; k++) {
        if (!gamma[k] || !dw_rational_parse(g + k, gamma[k], strlen(gamma[k]))) {
            free_coef(g, (int)n);
            free_coef(a, (int)n);
            return dw_fail(DW_ERR_INVALID, "residual: gamma of block %zu ('%.40s') is not a number (decimal or p/q)",
                           k + 1, gamma[k] ? gamma[k] : "NULL");
        }
        if (!alpha2[k] || !dw_rational_parse(a + k, alpha2[k], strlen(alpha2[k])) || fmpq_sgn(a + k) < 0) {
            free_coef(g, (int)n);
            free_coef(a, (int)n);
            return dw_fail(DW_ERR_INVALID, "residual: alpha^2 of block %zu ('%.40s') is not a number >= 0", k + 1,
                           alpha2[k] ? alpha2[k] : "NULL");
        }
    }
    free_coef(net->gam, net->n_res);
    free_coef(net->al2, net->n_res);
    net->gam = g;
    net->al2 = a;
    net->n_res = (int)n;
    return DW_OK;
}
