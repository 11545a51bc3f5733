/* The options of the Wick engine (theory.md 4.1-4.2): an opaque object with validating setters, and the route names,
 * kept apart from the driver so that every option is checked once, where it is set. */
#include "wick/wick.h"

#include <stdlib.h>
#include <string.h>

#define NEED(o, who)                                                                                                  \
    do {                                                                                                              \
        if (!(o)) return dw_fail(DW_ERR_INVALID, "%s: NULL options", who);                                            \
    } while (0)

dw_status dw_wick_opts_init(dw_wick_opts **o)
{
    if (!o) return dw_fail(DW_ERR_INVALID, "dw_wick_opts_init: NULL pointer");
    *o = dw_calloc(1, sizeof **o, "Wick options");
    if (!*o) return DW_ERR_NOMEM;
    (*o)->route = DW_WICK_AUTO;
    return DW_OK;
}

void dw_wick_opts_clear(dw_wick_opts *o)
{
    if (!o) return;
    free(o->ensembles);
    free(o);
}

dw_status dw_wick_opts_set_ensembles(dw_wick_opts *o, const char *ensembles)
{
    NEED(o, "ensembles");
    char *copy = NULL;
    if (ensembles) {
        const size_t n = strlen(ensembles);
        if (n > DW_WICK_MAX_TEXT)
            return dw_fail(DW_ERR_INVALID, "ensembles: %zu characters, above the limit of %d", n, DW_WICK_MAX_TEXT);
        copy = dw_alloc(n + 1, 1, "ensembles");
        if (!copy) return DW_ERR_NOMEM;
        memcpy(copy, ensembles, n + 1);
    }
    free(o->ensembles);
    o->ensembles = copy;
    return DW_OK;
}

dw_status dw_wick_opts_set_normalized(dw_wick_opts *o, bool normalized)
{
    NEED(o, "normalized");
    o->normalized = normalized;
    return DW_OK;
}

dw_status dw_wick_opts_set_route(dw_wick_opts *o, dw_wick_route route)
{
    NEED(o, "route");
    if (route < DW_WICK_AUTO || route > DW_WICK_RECURSION)
        return dw_fail(DW_ERR_INVALID, "route: %d is not a route (auto, pairings, partitions, recursion)", (int)route);
    o->route = route;
    return DW_OK;
}

dw_status dw_wick_opts_set_max_pairings(dw_wick_opts *o, size_t max_pairings)
{
    NEED(o, "max_pairings");
    o->max_pairings = max_pairings;
    return DW_OK;
}

dw_status dw_wick_opts_set_threads(dw_wick_opts *o, int threads)
{
    NEED(o, "threads");
    dw_status s = dw_core_check_threads(threads);
    if (s) return s;
    o->threads = threads;
    return DW_OK;
}

dw_status dw_wick_opts_set_max_letters(dw_wick_opts *o, size_t max_letters)
{
    NEED(o, "max_letters");
    o->max_letters = max_letters;
    return DW_OK;
}

dw_status dw_wick_route_parse(const char *name, dw_wick_route *route)
{
    static const char *const names[] = {"auto", "pairings", "partitions", "recursion"};
    if (!route) return dw_fail(DW_ERR_INVALID, "route: NULL output");
    for (int k = 0; k < 4; k++)
        if (name && !strcmp(name, names[k])) {
            *route = (dw_wick_route)k;
            return DW_OK;
        }
    return dw_fail(DW_ERR_INVALID, "route: expected auto, pairings, partitions or recursion (got '%.40s')",
                   name ? name : "NULL");
}

dw_status dw_wick_expand_route_parse(const char *name, dw_wick_expand_route *route)
{
    if (!route) return dw_fail(DW_ERR_INVALID, "route: NULL output");
    if (name && !strcmp(name, "trees")) *route = DW_WICK_EXPAND_TREES;
    else if (name && !strcmp(name, "conditional")) *route = DW_WICK_EXPAND_CONDITIONAL;
    else return dw_fail(DW_ERR_INVALID, "route: expected trees or conditional (got '%.40s')", name ? name : "NULL");
    return DW_OK;
}
