/** deepwick/io.h: part of the public API of deepwick (include <deepwick.h> for all of it).
 * Mirrors src/io/. Arrays are row-major float64 (C order) throughout. */
#ifndef DEEPWICK_IO_H
#define DEEPWICK_IO_H

#include "deepwick/core.h"

#include <stdbool.h>

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

/** ------------------------------------------------------------------------------------------------------------
 * Out-of-core Gram files: the options every *_gram_file call but dw_kernel_gram_file takes (that one keeps them in
 * dw_kernel_opts, with the same meaning): dw_sig_kernel_gram_file, dw_sig_nsk_gram_file,
 * dw_sample_network_gram_file. Such a call writes the .npy row block by row block into
 * "<dir>/.<name>.deepwick-partial" within the working memory, records the completed rows in
 * "<dir>/.<name>.deepwick-resume" (with the hash of everything that decides the bits, not the memory nor the
 * threads), and renames the file when complete: `path` is never half-written; the bits are those of the in-memory
 * call for any memory and thread count. An interruption (a signal through the progress callback, SIGKILL, a full
 * disk) keeps the two files so that the same call with resume continues; a new start removes them. NULL opts:
 * the defaults (half the available memory, no resume, no progress).
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct dw_file_opts dw_file_opts;
DW_API dw_status dw_file_opts_init(dw_file_opts **o);
DW_API void dw_file_opts_clear(dw_file_opts *o);
/** Working memory in bytes (> 0), or 0 (the default): half the memory available when the call starts. */
DW_API dw_status dw_file_opts_set_memory(dw_file_opts *o, double bytes);
/** true: continue an interrupted call of the same output from its completed rows; a side file of another
 * computation is refused (DW_ERR_INVALID, the files kept). */
DW_API dw_status dw_file_opts_set_resume(dw_file_opts *o, bool on);
/** At most `rows` rows per block (0, the default: as many as the memory holds); a call whose blocks are whole tiles
 * of its engine (dw_sample_network_gram_file: 128 rows) rounds down to them, at least one. With a cap the working
 * memory stays the blocks' (no buffer gathers the mirror of several blocks into fewer writes). */
DW_API dw_status dw_file_opts_set_max_rows(dw_file_opts *o, size_t rows);
/** Called from the calling thread after every block of rows with the pairs (i, j) done and their total (a
 * symmetric Gram counts j >= i); non-zero stops the call as an interruption (resumable). fn NULL: none. */
typedef int (*dw_file_progress_fn)(void *ctx, double done, double total);
DW_API dw_status dw_file_opts_set_progress(dw_file_opts *o, dw_file_progress_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DEEPWICK_IO_H */
