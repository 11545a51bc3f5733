/* libFuzzer harness for the text spelling of networks (src/net/spec_parse.c, spec_format.c): any input either
 * parses to layers whose canonical spelling (dw_net_spec) parses back to the same layers and the same spelling, or
 * fails with one line "net: column C: ..." and leaves the net as it was; never crashes, leaks or reads out of
 * bounds (ASan/UBSan do the latter). */
#include "deepwick.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) size = 4096;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dw_net *net = NULL, *back = NULL;
    if (dw_net_init(&net) != DW_OK || dw_net_parse(net, "relu") != DW_OK) abort();
    dw_status s = dw_net_parse(net, text);
    if (s == DW_OK) {
        const char *spec = dw_net_spec(net);
        if (!spec) abort();
        char *canon = strdup(spec);
        if (!canon || dw_net_init(&back) != DW_OK) abort();
        /* the canonical spelling reads back, unless an activation's canonical form outgrew the activations' limit
         * of 4096 characters (".5" is written "0.5"), which only a spelling over that length can hold */
        if (dw_net_parse(back, canon) != DW_OK) {
            if (strlen(canon) <= 4096) abort();
            dw_net_clear(back);
            dw_net_clear(net);
            free(canon);
            free(text);
            return 0;
        }
        if (dw_net_layers(back) != dw_net_layers(net)) abort();
        for (size_t i = 0; i < dw_net_layers(net); i++)
            if (dw_net_layer_kind(back, i) != dw_net_layer_kind(net, i)) abort();
        const char *again = dw_net_spec(back);
        if (!again || strcmp(again, canon) != 0) abort();
        (void)dw_net_describe(net);
        free(canon);
    } else {
        const char *msg = dw_error_message();
        if (s != DW_ERR_INVALID || strncmp(msg, "net: column ", 12) != 0 || strchr(msg, '\n')) abort();
        const char *spec = dw_net_spec(net);
        if (dw_net_layers(net) != 1 || !spec || strcmp(spec, "relu") != 0) abort();
    }
    dw_net_clear(back);
    dw_net_clear(net);
    free(text);
    return 0;
}
