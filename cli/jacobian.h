/* deepwick jacobian's writers (jacobian_out.c): the density CSV, the plot and the text summary of a report. */
#ifndef DW_CLI_JACOBIAN_H
#define DW_CLI_JACOBIAN_H

#include "deepwick.h"

#include <stdbool.h>
#include <stddef.h>

/* The density grid of the report as CSV "t,rho", written atomically. 0, or the exit code after the error line. */
int jacobian_write_csv(const dw_spectrum_report *r, const char *out);
/* The SVG plot: the limit's density on [a, b] (n points; a = b = 0: across the support, 400 points) and, with
 * sampled spectra, their histogram in `bins` bins. 0, or the exit code after the error line. */
int jacobian_plot(const dw_spectrum_report *r, const char *path, bool log_t, size_t bins, double a, double b,
                  size_t n, const char *act, int depth, const char *law);
/* The human-readable summary on stdout (density_out, law: NULL when not computed). */
void jacobian_summary(const dw_spectrum_report *r, const char *act, const char *weights, bool fixed, bool exact,
                      const char *density_out, const char *law, size_t probes, const char *plot);

#endif
