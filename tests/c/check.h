/* Minimal test harness for the C tests: CHECK records a failure with file:line and goes on; check_done()
 * prints "N passed, N failed" and returns the exit code. */
#ifndef DW_CHECK_H
#define DW_CHECK_H

#include <math.h>

extern int check_passed, check_failed;
void check_report(int ok, const char *file, int line, const char *what);
int check_done(const char *suite);
/* |got - want| <= rtol |want| + atol */
int check_close_impl(double got, double want, double rtol, double atol, const char *file, int line,
                     const char *what);

#define CHECK(cond) check_report(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_CLOSE(got, want, rtol, atol) check_close_impl((got), (want), (rtol), (atol), __FILE__, __LINE__, #got)

#endif
