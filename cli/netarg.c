/* --net SPEC in the commands that take an architecture (kernel, sample, converge, network): the fully connected
 * network's options refused with one line each, the spelling parsed, the inputs read with their feature axes and
 * the input shape set from them (docs/architectures.md "The text spelling"). */
#include "cli.h"

#include "opts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int cli_net_refuse(const cli_cmd *cmd, const void *args, const char *const *spelled, const char *const *fc_only)
{
    for (size_t k = 0; spelled && spelled[k]; k++)
        if (cli_given(cmd, args, spelled[k]))
            return cli_usage_error(cmd->name, "--%s: not with --net: the spelling gives every layer and its variances",
                                   spelled[k]);
    for (size_t k = 0; fc_only && fc_only[k]; k++)
        if (cli_given(cmd, args, fc_only[k]))
            return cli_usage_error(cmd->name, "--%s: not available with --net (the fully connected network's options)",
                                   fc_only[k]);
    return -1;
}

int cli_net_parse(dw_net **net, const char *spec)
{
    dw_status s;
    *net = NULL;
    if ((s = dw_net_init(net))) return cli_status(s), 0;
    if (dw_net_parse(*net, spec)) {
        const char *msg = dw_error_message();
        cli_error("--net: %s", strncmp(msg, "net: ", 5) ? msg : msg + 5);
    } else if (!dw_net_layers(*net)) {
        cli_error("--net: the spelling has no layers");
    } else {
        return 1;
    }
    dw_net_clear(*net);
    *net = NULL;
    return 0;
}

int cli_net_points(dw_net *net, const char *xpath, const char *ypath, dw_matrix *X, dw_matrix *Y, int *ndim,
                   size_t *dims)
{
    int ndy = 0;
    size_t dy[CLI_POINTS_NDIM_MAX];
    if (!cli_read_points_nd(xpath, X, ndim, dims)) return 0;
    if (ypath) {
        if (!cli_read_points_nd(ypath, Y, &ndy, dy)) return 0;
        char xs[160];
        snprintf(xs, sizeof xs, "%s", cli_shape_text(*ndim, dims));
        if (ndy != *ndim || memcmp(dy + 1, dims + 1, (size_t)(*ndim - 1) * sizeof *dims) != 0)
            return cli_error("%s has shape %s but %s has %s: X and Y must have the same shape after the first axis",
                             ypath, cli_shape_text(ndy, dy), xpath, xs), 0;
    }
    if (*ndim > 2 && dw_net_set_input_shape(net, (size_t)*ndim - 1, dims + 1))
        return cli_error("--x: %s", dw_error_message()), 0;
    if (*ndim == 2)
        for (size_t i = 0; i < dw_net_layers(net); i++) {
            dw_layer_kind k = dw_net_layer_kind(net, i);
            if (k == DW_LAYER_CONV || k == DW_LAYER_POOL || k == DW_LAYER_GLOBAL_POOL) {
                const char *dot = strrchr(xpath, '.');
                return cli_error("%s: (n, d) points, but --net has %s layers over spatial axes: give X as a .npy of "
                                 "shape (n, L, C), (n, H, W, C) or (n, D, H, W, C)%s",
                                 xpath, k == DW_LAYER_CONV ? "conv" : "pool",
                                 dot && !strcasecmp(dot, ".csv") ? " (a .csv holds (n, d) points only)" : ""), 0;
            }
        }
    return 1;
}

void cli_net_json(FILE *f, dw_net *net, int ndim, const size_t *dims)
{
    fprintf(f, ", \"net\": ");
    const char *spec = dw_net_spec(net);
    cli_json_string(f, spec ? spec : "");
    fprintf(f, ", \"input_shape\": [");
    for (int k = 1; k < ndim; k++) fprintf(f, "%s%zu", k > 1 ? ", " : "", dims[k]);
    fprintf(f, "]");
}

int cli_net_size(const dw_net *net, const dw_sample_opts *o, size_t d, size_t *n_params, size_t *out_dim)
{
    if (!dw_sample_params_size(net, o, d, n_params, out_dim)) return 1;
    /* the library's "params: ..." names its own call; here the spelling (and --width) are at fault */
    const char *msg = dw_error_message(), *colon = strstr(msg, ": ");
    msg = colon && !strncmp(msg, "params", (size_t)(colon - msg)) ? colon + 2 : msg;
    const char *opt = strstr(msg, "the sampler's width option");
    if (opt)
        cli_error("--net: %.*s--width N%s", (int)(opt - msg), msg, opt + strlen("the sampler's width option"));
    else
        cli_error("--net: %s", msg);
    return 0;
}
