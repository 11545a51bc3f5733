/* libFuzzer harness for the .csv parser: any input must give either a valid matrix or an error with a one-line
 * message naming the input, and never crash, leak or read out of bounds (ASan/UBSan do the latter). */
#include "deepwick.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dw_matrix m;
    dw_matrix_init(&m);
    dw_status s = dw_io_parse_csv(&m, (const char *)data, size, "fuzz.csv");
    if (s == DW_OK) {
        if (!m.data || !m.rows || !m.cols) abort();
        for (size_t k = 0; k < m.rows * m.cols; k++)
            if (!isfinite(m.data[k])) abort();
    } else {
        const char *msg = dw_error_message();
        if (m.data || m.rows || m.cols) abort();
        if (strncmp(msg, "fuzz.csv: ", 10) != 0 || strchr(msg, '\n')) abort();
    }
    dw_matrix_clear(&m);
    return 0;
}
