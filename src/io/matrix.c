/* dw_matrix: an owned row-major float64 matrix. */
#include "core/internal.h"

#include <stdlib.h>

void dw_matrix_init(dw_matrix *m)
{
    if (!m) return;
    m->data = NULL;
    m->rows = 0;
    m->cols = 0;
}

void dw_matrix_clear(dw_matrix *m)
{
    if (!m) return;
    free(m->data);
    dw_matrix_init(m);
}
