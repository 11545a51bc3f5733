/** deepwick/io.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/io/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_IO_H
#define DEEPWICK_IO_H

#include "deepwick/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ------------------------------------------------------------------------------------------------------------
 * io: .npy and .csv matrices, atomic writes
 * ---------------------------------------------------------------------------------------------------------- */
/** An owned row-major float64 matrix. */
typedef struct dw_matrix {
    double *data;
    size_t rows, cols;
} dw_matrix;

DW_API void dw_matrix_init(dw_matrix *m);  /* empty: data NULL, 0 x 0 */
DW_API void dw_matrix_clear(dw_matrix *m); /* frees data, back to empty */

/** Read a 2-D matrix (a 1-D .npy of length k reads as k x 1) from .npy (float64 or float32, little or big
 * endian, C order) or .csv (comma-separated numbers, optional header line of non-numeric names, '#' comments)
 * chosen by the file extension. Every value must be finite: NaN/Inf are an error naming row and column. */
DW_API dw_status dw_io_read_matrix(dw_matrix *m, const char *path);
DW_API dw_status dw_io_read_npy(dw_matrix *m, const char *path);
DW_API dw_status dw_io_read_csv(dw_matrix *m, const char *path);
/** The same from memory; `name` is used in messages. */
DW_API dw_status dw_io_parse_npy(dw_matrix *m, const unsigned char *buf, size_t len, const char *name);
DW_API dw_status dw_io_parse_csv(dw_matrix *m, const char *buf, size_t len, const char *name);

/** Write a float64 C-order .npy of ndim (1..8) dimensions atomically: a temporary file in the target directory,
 * then rename; on any failure nothing is left behind. */
DW_API dw_status dw_io_write_npy(const char *path, const double *data, int ndim, const size_t *shape);
/** Write a text file atomically (used for CSV, JSON and HTML outputs). */
DW_API dw_status dw_io_write_text(const char *path, const char *text, size_t len);
/** DW_OK if a file could be created at `path` (checked by creating and removing a temporary file beside it),
 * so that commands can refuse an unwritable output before they compute. */
DW_API dw_status dw_io_check_writable(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_IO_H */
