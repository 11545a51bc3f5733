/* The finite-width driver's objects (gram.c, opts.c). Internal, not installed. */
#ifndef DW_FINITE_GRAM_H
#define DW_FINITE_GRAM_H

#include "finite/finite.h"

struct dw_finite_opts {
    int threads;
    double width; /* the reference width N (0: not given); the standard parameterisation needs it */
    dw_finite_progress_fn progress;
    void *progress_ctx;
};

struct dw_finite_info {
    const char *method;
    double frob_nngp, frob_ntk;
    double moment_error;
    size_t pairs_closed, pairs_series, pairs_limit;
};

#endif
