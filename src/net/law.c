/* Weight laws (theory.md 2): parsing and spelling. A law belongs to the network's description (dw_net_set_law);
 * drawing from it is the sampling module's (src/sample/laws.c). */
#include "net/net.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_number(const char *p, double *out)
{
    char *end;
    errno = 0;
    while (isspace((unsigned char)*p)) p++;
    double v = strtod(p, &end);
    if (end == p) return 0;
    while (isspace((unsigned char)*end)) end++;
    if (*end || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

dw_status dw_law_parse(dw_law *law, const char *spec)
{
    if (!law) return dw_fail(DW_ERR_INVALID, "law: NULL output");
    if (!spec) return dw_fail(DW_ERR_INVALID, "law: missing (NULL) spec");
    char buf[128];
    size_t len = strlen(spec);
    if (len >= sizeof buf) return dw_fail(DW_ERR_INVALID, "law: spec longer than %zu characters", sizeof buf - 1);
    for (size_t i = 0; i <= len; i++) buf[i] = (char)tolower((unsigned char)spec[i]);
    for (char *p = buf; *p; p++)
        if (*p == '_') *p = '-';
    char *colon = strchr(buf, ':');
    const char *param = NULL;
    if (colon) {
        *colon = '\0';
        param = colon + 1;
    }
    static const struct {
        const char *name;
        dw_law_kind kind;
        int has_param;
    } table[] = {
        {"gaussian", DW_LAW_GAUSSIAN, 0},   {"normal", DW_LAW_GAUSSIAN, 0},
        {"rademacher", DW_LAW_RADEMACHER, 0}, {"uniform", DW_LAW_UNIFORM, 0},
        {"student-t", DW_LAW_STUDENT_T, 1}, {"t", DW_LAW_STUDENT_T, 1},
        {"sparse", DW_LAW_SPARSE, 1},       {"complex-gaussian", DW_LAW_COMPLEX_GAUSSIAN, 0},
        {"orthogonal", DW_LAW_ORTHOGONAL, 0}, {"haar", DW_LAW_ORTHOGONAL, 0},
    };
    size_t k, nt = sizeof table / sizeof table[0];
    for (k = 0; k < nt; k++)
        if (!strcmp(buf, table[k].name)) break;
    if (k == nt)
        return dw_fail(DW_ERR_INVALID,
                       "unknown law '%s' (laws: gaussian, rademacher, uniform, student-t:NU, sparse:P, "
                       "complex-gaussian, orthogonal)",
                       spec);
    law->kind = table[k].kind;
    law->param = 0.0;
    if (!table[k].has_param) {
        if (param) return dw_fail(DW_ERR_INVALID, "law '%s' takes no parameter (got ':%s')", table[k].name, param);
        return DW_OK;
    }
    const char *what = law->kind == DW_LAW_STUDENT_T ? "student-t:NU (degrees of freedom, NU > 2)"
                                                        : "sparse:P (density, 0 < P <= 1)";
    if (!param || !*param) return dw_fail(DW_ERR_INVALID, "law '%s' needs a parameter: %s", spec, what);
    double v;
    if (!parse_number(param, &v))
        return dw_fail(DW_ERR_INVALID, "law '%s': parameter '%s' is not a finite number", spec, param);
    if (law->kind == DW_LAW_STUDENT_T && !(v > 2))
        return dw_fail(DW_ERR_INVALID,
                       "law '%s': nu = %g must be > 2 (the variance of a student-t law is infinite for nu <= 2)",
                       spec, v);
    if (law->kind == DW_LAW_SPARSE && !(v > 0 && v <= 1))
        return dw_fail(DW_ERR_INVALID, "law '%s': p = %g must be in (0, 1] (the probability of a non-zero weight)",
                       spec, v);
    law->param = v;
    return DW_OK;
}

const char *dw_law_format(const dw_law *law, char *buf, size_t cap)
{
    if (!buf || !cap) return "";
    if (!law) {
        buf[0] = '\0';
        return buf;
    }
    switch (law->kind) {
    case DW_LAW_GAUSSIAN: snprintf(buf, cap, "gaussian"); break;
    case DW_LAW_RADEMACHER: snprintf(buf, cap, "rademacher"); break;
    case DW_LAW_UNIFORM: snprintf(buf, cap, "uniform"); break;
    case DW_LAW_STUDENT_T: snprintf(buf, cap, "student-t:%.17g", law->param); break;
    case DW_LAW_SPARSE: snprintf(buf, cap, "sparse:%.17g", law->param); break;
    case DW_LAW_COMPLEX_GAUSSIAN: snprintf(buf, cap, "complex-gaussian"); break;
    case DW_LAW_ORTHOGONAL: snprintf(buf, cap, "orthogonal"); break;
    default: snprintf(buf, cap, "unknown"); break;
    }
    return buf;
}

const char *dw_law_warning(const dw_law *law)
{
    if (law && law->kind == DW_LAW_STUDENT_T && law->param <= 4)
        return "student-t with nu <= 4 has an infinite fourth moment: the limits still hold, but the fluctuations "
               "are heavy-tailed and the standard errors and the 1/N corrections are unreliable";
    return NULL;
}

dw_status dw_law_kappa4(const dw_law *law, double *kappa4)
{
    if (!law || !kappa4) return dw_fail(DW_ERR_INVALID, "law: NULL argument");
    switch (law->kind) {
    case DW_LAW_GAUSSIAN: *kappa4 = 0.0; return DW_OK;
    case DW_LAW_RADEMACHER: *kappa4 = -2.0; return DW_OK;         /* E w^4 = 1 */
    case DW_LAW_UNIFORM: *kappa4 = -1.2; return DW_OK;            /* E w^4 = 9/5 on [-sqrt 3, sqrt 3] */
    case DW_LAW_SPARSE: *kappa4 = 3.0 / law->param - 3.0; return DW_OK; /* E w^4 = 3/p */
    case DW_LAW_STUDENT_T:                                         /* E w^4 = 3 (nu - 2)/(nu - 4) */
        if (!(law->param > 4))
            return dw_fail(DW_ERR_INVALID, "law student-t:%g has an infinite fourth moment (nu <= 4): its fourth "
                                           "cumulant, which the 1/N corrections need, does not exist", law->param);
        *kappa4 = 6.0 / (law->param - 4.0);
        return DW_OK;
    case DW_LAW_COMPLEX_GAUSSIAN:
        return dw_fail(DW_ERR_INVALID, "law complex-gaussian: a complex law has no real fourth cumulant (complex "
                                       "networks are not covered by the finite-width corrections)");
    case DW_LAW_ORTHOGONAL:
        return dw_fail(DW_ERR_INVALID, "law orthogonal: the entries are not independent, so the corrections are "
                                       "not a fourth cumulant's (Haar weights are not covered)");
    default: return dw_fail(DW_ERR_INVALID, "law: unknown kind %d", (int)law->kind);
    }
}

/* Gamma(k, 1) for k >= 1 by Marsaglia and Tsang (2000). */

dw_status dw_law_spec_kappa4(const char *spec, double *kappa4)
{
    dw_law law;
    dw_status s = dw_law_parse(&law, spec);
    return s ? s : dw_law_kappa4(&law, kappa4);
}
