#include "check.h"

#include <stdio.h>

int check_passed, check_failed;

void check_report(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

int check_close_impl(double got, double want, double rtol, double atol, const char *file, int line,
                     const char *what)
{
    int ok = fabs(got - want) <= rtol * fabs(want) + atol;
    if (!ok) fprintf(stderr, "  %s = %.17g, want %.17g (rtol %g, atol %g)\n", what, got, want, rtol, atol);
    check_report(ok, file, line, what);
    return ok;
}

int check_done(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed ? 1 : 0;
}
