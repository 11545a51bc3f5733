/* The deepwick command: thin drivers over the library (no mathematics here). */
#ifndef DW_CLI_H
#define DW_CLI_H

#include "deepwick.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* Print "error: MESSAGE" on stderr and return the exit code 1 (2 for usage errors). */
int cli_error(const char *fmt, ...);
int cli_usage_error(const char *cmd, const char *fmt, ...);
int cli_status(dw_status s); /* error from the library's message */
/* Parse "v" or "v1,v2,..." into a malloc'ed array of finite doubles; returns 0 on error (message printed). */
int cli_parse_list(const char *opt, const char *text, double **out, size_t *count);
int cli_parse_int(const char *opt, const char *text, long lo, long hi, long *out);
double cli_now(void);
/* Write s as a JSON string literal (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);

/* path (if not NULL) can be written (checked before any work); 1 or 0 after "OPT: reason". */
int cli_check_writable(const char *opt, const char *path);
/* dw_act_init / dw_law_parse with "--act: " / "--law: " errors; 1 or 0 after the error. */
int cli_act_init(dw_act **act, const char *spec);
int cli_law_parse(dw_law *law, const char *spec);
/* Read points (n x d, .npy or .csv) with at least one row and one column; 1 or 0 after the error. */
int cli_read_points(const char *path, dw_matrix *X);
/* Points with feature axes: a .npy of shape (n, d), (n, L, C), (n, H, W, C) or (n, D, H, W, C) (a (k,) array: k x 1),
 * or a .csv (n, d), read as n x prod(feature axes); ndim and dims (CLI_POINTS_NDIM_MAX entries) receive the shape.
 * At least one point and one feature; 1 or 0 after the error. */
#define CLI_POINTS_NDIM_MAX 5
int cli_read_points_nd(const char *path, dw_matrix *X, int *ndim, size_t *dims);
/* "(2, 4, 4, 3)" (a static buffer: one use at a time). */
const char *cli_shape_text(int ndim, const size_t *dims);
/* The second inputs Y of a Gram K(X, Y): read, the same number of columns as X, at least one row; 0 after one error
 * line, 1 if fine. */
int cli_read_second_points(const char *ypath, const char *xpath, const dw_matrix *X, dw_matrix *Y);
/* The outputs of `sample` and `network`: at least one of --outputs and --gram, --gram with --out, two different
 * files. -1 if fine, else the exit code after the error. */
int cli_outputs_gram(const char *cmd, const char *outputs, const char *gram, const char *out);
/* Write the outputs and/or the Gram (each where its path is not NULL), atomically; if the Gram cannot be written
 * the outputs are removed again (no partial output). 0, or the exit code after the error. */
int cli_write_outputs_gram(const char *outputs, const double *F, int fdim, const size_t *fshape, const char *out,
                           const double *G, int gdim, const size_t *gshape);

/* --net SPEC (cli/netarg.c). The options of the fully connected network refused with --net, one usage line for the
 * first given: `spelled` (NULL-terminated option names without "--": what the spelling gives) and `fc_only` (what
 * has no meaning for an architecture); -1 if none is given, else the exit code. */
struct cli_cmd; /* opts.h */
int cli_net_refuse(const struct cli_cmd *cmd, const void *args, const char *const *spelled,
                   const char *const *fc_only);
/* dw_net_parse with "--net: ..." errors (and a spelling without layers refused); 1, or 0 after the error (*net
 * NULL). */
int cli_net_parse(dw_net **net, const char *spec);
/* The inputs of a --net command: X (and Y, where ypath is not NULL: the same shape after the first axis) read with
 * their feature axes (cli_read_points_nd), the net's input shape set from X's (more than 2 axes), (n, d) points
 * refused for nets with conv or pool layers. 1, or 0 after the error. */
int cli_net_points(dw_net *net, const char *xpath, const char *ypath, dw_matrix *X, dw_matrix *Y, int *ndim,
                   size_t *dims);
/* dw_sample_params_size of a --net network (its parameters and outputs per input for d features and o's width),
 * its errors as "--net: ..."; 1, or 0 after the error. */
int cli_net_size(const dw_net *net, const dw_sample_opts *o, size_t d, size_t *n_params, size_t *out_dim);
/* The JSON members `, "net": CANONICAL SPELLING, "input_shape": [...]`. */
void cli_net_json(FILE *f, dw_net *net, int ndim, const size_t *dims);

/* `PROG COMMAND [OPTIONS]` (cli/dispatch.c): usage on -h/--help (stdout) or without a command (stderr, 2), the
 * version, or the command; only (NULL-terminated, or NULL: every command) limits the commands. The exit code. */
int cli_run(int argc, char **argv, const char *prog, const char *usage, const char *const *only);

int cmd_kernel(int argc, char **argv);

/* deepwick-mpi's hooks (cli/mpi_main.c sets them on every rank; deepwick keeps the defaults {NULL, NULL, true}):
 *  gram_file     the Gram writer of `kernel` (NULL: dw_kernel_gram_file), distributed; `kernel --net` is refused
 *  sample_split  the split of the networks over the ranks, set on the sampling options of `sample` and `converge`
 *  writer        false on the ranks that write no output file (all but rank 0) */
typedef dw_status (*cli_gram_file_fn)(const dw_net *net, const dw_kernel_opts *o, const double *X, size_t n,
                                      const double *Y, size_t m, size_t d, bool nngp, bool ntk, const char *path,
                                      dw_kernel_info *info);
struct dw_sample_split;
typedef struct cli_dist {
    cli_gram_file_fn gram_file;
    const struct dw_sample_split *sample_split;
    bool writer;
} cli_dist;
extern cli_dist cli_distributed;
/* o's split from cli_distributed (none for deepwick); 1, or 0 after the error. */
int cli_sample_opts_dist(dw_sample_opts *o);
int cli_spectrum_opts_dist(dw_spectrum_sample_opts *o); /* likewise for `jacobian --sample` */
int cli_predict_opts_dist(dw_predict_opts *o);          /* `predict`: the matrix-free products' rows */
int cmd_finite(int argc, char **argv);
int cmd_wick(int argc, char **argv);
int cmd_expand(int argc, char **argv);

/* signatures (cli/sigpaths.c helpers; each returns 1 on success, 0 after printing the error) */
int cli_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d);
int cli_read_pair(const char *xpath, const char *ypath, double **X, size_t *n, size_t *lx, double **Y, size_t *m,
                  size_t *ly, size_t *d);
struct cli_reals; /* opts.h */
/* The channel indices of an integer-list option (CLI_INTS, already >= 0) as size_t; none when not given. */
int cli_channels(const char *opt, const struct cli_reals *r, size_t **out, size_t *count);
int cmd_signature(int argc, char **argv);
int cmd_logsignature(int argc, char **argv);
int cmd_logsigtosig(int argc, char **argv);
int cmd_sigkernel(int argc, char **argv);
int cmd_sigscore(int argc, char **argv);
int cmd_nsk(int argc, char **argv);
int cmd_cresnet(int argc, char **argv);
int cmd_lcde(int argc, char **argv);
int cmd_lcde_kernel(int argc, char **argv);
int cmd_jacobian(int argc, char **argv);
int cmd_criticality(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_converge(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/* SVG text (cli/plot.c): s with <, >, & escaped; a printf-formatted label at (x, y), 12 px. */
void cli_svg_escape(FILE *f, const char *s);
void cli_svg_text(FILE *f, double x, double y, const char *anchor, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* SVG plot of a curve (t, rho: n points) over a histogram (nbins bars, edges: nbins + 1), atomically written;
 * either part may be empty (n = 0 or nbins = 0); logx: a logarithmic t axis (t and the edges > 0). cli/plot.c. */
dw_status cli_plot_density(const char *path, const char *title, int logx, const char *ylabel, size_t n,
                           const double *t, const double *rho, size_t nbins, const double *edges,
                           const double *height, const char *curve_label, const char *hist_label);

/* Progress bar with ETA on stderr, only when stderr is a terminal (cli/progress.c). */
typedef struct cli_progress {
    const char *label;
    double start, last;
    int shown, enabled;
    const char *unit; /* NULL (cli_progress_init): a percentage; else "12/345 UNIT, 6.7 UNIT/s" with the rate and ETA
                       * of this run (counted from the first call: a resumed run starts there) */
    double base;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
int cli_progress_cb(void *ctx, double done, double total); /* a dw_sample_progress_fn */
void cli_progress_done(cli_progress *p);

/* Out-of-core outputs (cli/outfile.c): --memory's sizes ("2G", "512M", "1.5GiB", "1000000": bytes, K M G T powers of
 * 1024; 0 if not one), the progress bar, SIGINT / SIGTERM as a resumable stop (cli_outfile_progress stops the run
 * at its next call). begin: f->memory, f->opts (a dw_file_opts of the memory, resume, max_rows and progress), the
 * signals; -1, or the exit status after the one error line (a bad --memory). end (after the library call): the
 * signals restored, f->opts freed; -1 if s is DW_OK, else the exit status after the one error line (128 + the
 * signal of an interruption). */
typedef struct cli_outfile {
    cli_progress prog;
    double memory;
    dw_file_opts *opts;
    struct sigaction old_int, old_term;
    bool active;
} cli_outfile;
double cli_parse_size(const char *text);
int cli_outfile_begin(cli_outfile *f, const char *label, const char *unit, const char *memory_text, bool resume,
                      size_t max_rows);
int cli_outfile_progress(void *ctx, double done, double total);
int cli_outfile_end(cli_outfile *f, dw_status s, const char *out, bool resumable);

#endif
