/* libFuzzer harness for weight-law specs (src/sample/laws.c): any input either parses to a law whose canonical
 * spelling parses back to the same law and whose draws have the right count and are finite, or fails with a
 * one-line message; never crashes, leaks or reads out of bounds. */
#include "deepwick.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512) size = 512;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dw_law law, back;
    if (dw_law_parse(&law, text) == DW_OK) {
        char canon[128];
        dw_law_format(&law, canon, sizeof canon);
        if (dw_law_parse(&back, canon) != DW_OK || back.kind != law.kind || back.param != law.param) abort();
        double W[2 * 7 * 5];
        if (dw_sample_weights(&law, size, 1, 2, 7, 5, W) != DW_OK) abort();
        const size_t n = law.kind == DW_LAW_COMPLEX_GAUSSIAN ? 70 : 35;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(W[i])) abort();
        (void)dw_law_warning(&law);
    } else if (strchr(dw_error_message(), '\n')) {
        abort();
    }
    free(text);
    return 0;
}
