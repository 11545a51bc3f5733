/* libFuzzer harness for the .npy parser: any input must give either a valid matrix or an error with a one-line
 * message naming the input, and never crash, leak or read out of bounds (ASan/UBSan do the latter). Read both as a
 * matrix and as an array of up to 5 dimensions (the CLI's (n, D, H, W, C) inputs), whose shape must account for
 * the matrix's entries. */
#include "../../src/core/internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dw_matrix m;
    dw_matrix_init(&m);
    dw_status s = dw_io_parse_npy(&m, data, size, "fuzz.npy");
    if (s == DW_OK) {
        if (!m.data) abort();
        for (size_t k = 0; k < m.rows * m.cols; k++)
            if (!isfinite(m.data[k])) abort();
    } else {
        const char *msg = dw_error_message();
        if (m.data || m.rows || m.cols) abort();
        if (strncmp(msg, "fuzz.npy: ", 10) != 0 || strchr(msg, '\n')) abort();
    }
    dw_matrix_clear(&m);
    int ndim = -1;
    size_t dims[5];
    s = dw_io_parse_npy_nd(&m, data, size, "fuzz.npy", 5, &ndim, dims);
    if (s == DW_OK) {
        if (!m.data || ndim < 0 || ndim > 5) abort();
        size_t count = 1;
        for (int k = 0; k < ndim; k++) count *= dims[k];
        if (count != m.rows * m.cols || (ndim >= 1 && dims[0] && m.rows % dims[0])) abort();
        for (size_t k = 0; k < m.rows * m.cols; k++)
            if (!isfinite(m.data[k])) abort();
    } else {
        const char *msg = dw_error_message();
        if (m.data || m.rows || m.cols) abort();
        if (strncmp(msg, "fuzz.npy: ", 10) != 0 || strchr(msg, '\n')) abort();
    }
    dw_matrix_clear(&m);
    return 0;
}
