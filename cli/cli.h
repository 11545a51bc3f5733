/* The deepwick command: thin drivers over the library (no mathematics here). */
#ifndef DW_CLI_H
#define DW_CLI_H

#include "deepwick.h"

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

int cmd_kernel(int argc, char **argv);
int cmd_wick(int argc, char **argv);
int cmd_expand(int argc, char **argv);

/* signatures (cli/sigpaths.c helpers; each returns 1 on success, 0 after printing the error) */
int cli_read_paths(const char *path, double **data, size_t *batch, size_t *len, size_t *d);
int cli_read_pair(const char *xpath, const char *ypath, double **X, size_t *n, size_t *lx, double **Y, size_t *m,
                  size_t *ly, size_t *d);
int cli_parse_double(const char *opt, const char *text, double *out);
int cli_parse_channels(const char *opt, const char *text, size_t **out, size_t *count);
int cli_check_out_npy(const char *out);
int cmd_signature(int argc, char **argv);
int cmd_logsignature(int argc, char **argv);
int cmd_sigkernel(int argc, char **argv);
int cmd_nsk(int argc, char **argv);
int cmd_cresnet(int argc, char **argv);
int cmd_lcde(int argc, char **argv);
int cmd_lcde_kernel(int argc, char **argv);
int cmd_jacobian(int argc, char **argv);
int cmd_criticality(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_converge(int argc, char **argv);

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
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
int cli_progress_cb(void *ctx, double done, double total); /* a dw_sample_progress_fn */
void cli_progress_done(cli_progress *p);

#endif
