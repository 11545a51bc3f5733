/* Activation expressions: the canonical spelling (a loop with an explicit stack, the fewest parentheses that keep
 * the tree, numbers in their shortest exact form). */
#include "act/expr_tree.h"

#include "core/sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------------------
 * canonical spelling
 * ---------------------------------------------------------------------------------------------------------- */

/* The shortest %g spelling that reads back exactly, with the exponent written without '+' and leading zeros. */
static void put_number(dw_sbuf *b, double v)
{
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    char out[40];
    size_t o = 0;
    for (const char *p = t; *p; p++) {
        out[o++] = *p;
        if (*p == 'e') {
            p++;
            if (*p == '-') out[o++] = *p++;
            else if (*p == '+') p++;
            while (*p == '0' && p[1]) p++;
            while (*p) out[o++] = *p++;
            break;
        }
    }
    out[o] = '\0';
    dw_sbuf_puts(b, out);
}

static int level(const node *nd)
{
    switch (nd->op) {
    case OP_ADD:
    case OP_SUB: return 1;
    case OP_MUL:
    case OP_DIV: return 2;
    case OP_NEG: return 3;
    case OP_POW: return 4;
    default: return 5;
    }
}

static const char *func_name(int op)
{
    for (size_t f = 0; f < dw_expr_nfuncs; f++)
        if (dw_expr_funcs[f].op == op) return dw_expr_funcs[f].name;
    return "?";
}

typedef struct frame {
    int node;
    unsigned char state, paren;
} frame;

char *dw_expr_print(const node *nodes, int n)
{
    frame *st = malloc((size_t)(n + 1) * sizeof *st);
    if (!st) return NULL;
    dw_sbuf b = {NULL, 0, 0, 0};
    int sp = 0;
    st[sp++] = (frame){n - 1, 0, 0};
    while (sp > 0 && !b.failed) {
        frame *f = &st[sp - 1];
        const node *nd = &nodes[f->node];
        int lv = level(nd), done = 0;
        if (f->state == 0) {
            if (f->paren) dw_sbuf_put(&b, "(", 1);
            f->state = 1;
            switch (nd->op) {
            case OP_NUM: put_number(&b, nd->val); done = 1; break;
            case OP_PI: dw_sbuf_puts(&b, "pi"); done = 1; break;
            case OP_E: dw_sbuf_puts(&b, "e"); done = 1; break;
            case OP_Z: dw_sbuf_puts(&b, "z"); done = 1; break;
            case OP_NEG:
                dw_sbuf_put(&b, "-", 1);
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < 3};
                break;
            case OP_ADD:
            case OP_SUB:
            case OP_MUL:
            case OP_DIV:
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < lv};
                break;
            case OP_POW:
                st[sp++] = (frame){nd->a, 0, level(&nodes[nd->a]) < 5};
                break;
            default:
                dw_sbuf_puts(&b, func_name(nd->op));
                dw_sbuf_put(&b, "(", 1);
                st[sp++] = (frame){nd->a, 0, 0};
                break;
            }
        } else if (f->state == 1 && nd->b >= 0) {
            f->state = 2;
            switch (nd->op) {
            case OP_ADD: dw_sbuf_put(&b, "+", 1); break;
            case OP_SUB: dw_sbuf_put(&b, "-", 1); break;
            case OP_MUL: dw_sbuf_put(&b, "*", 1); break;
            case OP_DIV: dw_sbuf_put(&b, "/", 1); break;
            case OP_POW: dw_sbuf_put(&b, "^", 1); break;
            default: dw_sbuf_put(&b, ",", 1); break;
            }
            int rl = level(&nodes[nd->b]);
            int paren = nd->op == OP_POW ? rl < 3 : lv == 5 ? 0 : rl <= lv;
            st[sp++] = (frame){nd->b, 0, (unsigned char)paren};
        } else {
            done = 1;
        }
        if (done) {
            if (lv == 5 && nd->a >= 0) dw_sbuf_put(&b, ")", 1); /* a call */
            if (f->paren) dw_sbuf_put(&b, ")", 1);
            sp--;
        }
    }
    free(st);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
