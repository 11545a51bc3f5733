/* libFuzzer harness for reading paths (dw_sig_read_paths: 3-D .npy (batch, len, d) or one 2-D path (len, d)), the
 * N-dimensional branch of the .npy parser that fuzz_npy does not reach. The input is written to a temporary .npy
 * file; it must give either finite paths of a non-empty shape or an error with a one-line message naming the file,
 * and never crash, leak or read out of bounds (ASan/UBSan do the latter). Replayed by ctest from
 * tests/fuzz/corpus/sigpaths; fuzzed by `FUZZ_TARGETS=fuzz_sigpaths make fuzz`. */
#include "deepwick.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/dw_fuzz_sigpaths_XXXXXX.npy", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 4);
    if (fd < 0) abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    close(fd);
    double *X = (double *)&fd; /* must be reset by the call */
    size_t batch = 7, len = 7, d = 7;
    dw_status s = dw_sig_read_paths(path, &X, &batch, &len, &d);
    unlink(path);
    if (s == DW_OK) {
        if (!X || !batch || !len || !d) abort();
        for (size_t k = 0; k < batch * len * d; k++)
            if (!isfinite(X[k])) abort();
        free(X);
    } else {
        const char *msg = dw_error_message();
        if (X || batch || len || d) abort();
        if (strncmp(msg, path, strlen(path)) != 0 || strchr(msg, '\n')) abort();
    }
    return 0;
}
