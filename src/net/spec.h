/* The one-line text spelling of a network (dw_net_parse, src/net/spec_parse.c; dw_net_spec, src/net/spec_format.c;
 * docs/architectures.md). Not installed. */
#ifndef DW_NET_SPEC_H
#define DW_NET_SPEC_H

#include <stddef.h>

/* 1 when s[0..n) is, ignoring case, a word the spelling reads as a layer (dense, conv, ..., and act): an activation
 * of that name is then written act(NAME). */
int dw_net_spec_is_layer_word(const char *s, size_t n);

#endif
