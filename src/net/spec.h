/* The one-line text spelling of a network (dw_net_parse, src/net/spec_parse.c; dw_net_spec, src/net/spec_format.c;
 * docs/architectures.md). Not installed. */
#ifndef DW_NET_SPEC_H
#define DW_NET_SPEC_H

#include "net/net.h"

#include <ctype.h>
#include <stddef.h>

/* 1 when s[0..n) is, ignoring case, a word the spelling reads as a layer (dense, conv, ..., and act): an activation
 * of that name is then written act(NAME). */
int dw_net_spec_is_layer_word(const char *s, size_t n);

/* ---- the reader (spec_parse.c, spec_read.c) ---- */
typedef enum { A_NUM, A_NUM_NONE, A_POS, A_COUNT, A_SHAPE, A_CHOICE, A_NET } spec_arg_type;

typedef struct spec_argdef {
    const char *key;
    spec_arg_type type;
    double lo;             /* A_NUM, A_NUM_NONE: the least value (-HUGE_VAL: any), lo_open: excluded */
    int lo_open;
    double hi;             /* the largest (HUGE_VAL: any) */
    const char *choices;   /* A_CHOICE: "a|b|c" */
} spec_argdef;

/* One argument's value once read. */
typedef struct spec_argval {
    int given;
    size_t col;   /* 0-based offset of the value */
    double x;     /* A_NUM, A_NUM_NONE, A_POS */
    int none;     /* A_NUM_NONE: "none" */
    size_t count; /* A_COUNT; A_CHOICE: the index; A_SHAPE: the rank */
    size_t shape[DW_NET_SPATIAL_MAX];
    dw_net *net;  /* A_NET (owned until used) */
} spec_argval;

typedef struct spec_parser {
    const char *s;
    size_t pos, len;
    dw_net *owner; /* the temporary top-level net: owns every activation read */
    int nest;
} spec_parser;

/* Contexts: where a net ends. */
enum { CTX_TOP, CTX_PARALLEL, CTX_RESIDUAL, CTX_ACT };

static inline int dw_net_spec_is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }
void dw_net_spec_skip_ws(spec_parser *P);
/* DW_ERR_INVALID with "net: column C: MESSAGE, found WHAT" (what is at `at`: the end, a delimiter, a token). */
dw_status dw_net_spec_fail(const spec_parser *P, size_t at, const char *fmt, ...) DW_PRINTF(3, 4);
/* A setter's refusal placed at column at + 1 (other statuses pass through). */
dw_status dw_net_spec_placed(const spec_parser *P, size_t at, dw_status s);
/* The value of an argument of type d->type (not A_NET) at P->pos, checked against d's range or choices. */
dw_status dw_net_spec_read_value(spec_parser *P, const spec_argdef *d, const char *who, spec_argval *v);

#endif
