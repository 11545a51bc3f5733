/* The activation registry: parsing specs, canonical names, point evaluation. The closed-form Gaussian
 * expectations live in the sweeps (act/sweep_body.h) and are exposed one pair at a time by dual.c. */
#include "act/act.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtins[] = {"identity", "relu", "leaky_relu:ALPHA", "abs", "step", "erf", "sin", "cos",
                                       "exp", "poly:c0,c1,...", "tanh", "sigmoid", "gelu", "gelu_tanh", "silu",
                                       "softplus", "elu", "selu", "mish", NULL};

#define GENERIC_METHOD "Hermite series with Parseval tail bound; 2-D quadrature where the bound misses"

/* Built-ins without a closed form: their formulas, integrated by the generic route (gauss/). */
#define SELU_LAMBDA 1.0507009873554804934193349852946
#define SELU_ALPHA 1.6732632423543772848170429916717
static const struct {
    const char *name, *canonical, *formula;
} formulas[] = {
    {"tanh", "tanh", "tanh(z)"},
    {"sigmoid", "sigmoid", "sigmoid(z)"},
    {"logistic", "sigmoid", "sigmoid(z)"},
    {"gelu", "gelu", "0.5*z*(1+erf(z/sqrt(2)))"}, /* z Phi(z), exact */
    {"gelu_tanh", "gelu_tanh", "0.5*z*(1+tanh(0.7978845608028654*(z+0.044715*z^3)))"}, /* sqrt(2/pi) */
    {"silu", "silu", "z*sigmoid(z)"},
    {"swish", "silu", "z*sigmoid(z)"},
    {"softplus", "softplus", "softplus(z)"},
    {"elu", "elu", "relu(z)+min(exp(z)-1,0)"},
    /* SELU constants of Klambauer et al. (2017), as in PyTorch and JAX */
    {"selu", "selu", "1.0507009873554804934193349852946*(relu(z)+1.6732632423543772848170429916717*min(exp(z)-1,0))"},
    {"mish", "mish", "z*tanh(softplus(z))"},
};

static dw_status init_generic(dw_act *act, const char *canonical, const char *formula)
{
    dw_status st = dw_expr_parse(&act->expr, formula);
    if (st) return st;
    act->fam = DW_FAM_GENERIC;
    act->method = GENERIC_METHOD;
    act->nkinks = dw_expr_kinks(act->expr, act->kinks, DW_COND_MAX_KINKS);
    if (act->nkinks == -2) return dw_fail(DW_ERR_NOMEM, "activation %s: out of memory locating its kinks", formula);
    act->kink = NAN;
    for (int k = 0; k < act->nkinks; k++)
        if (act->kinks[k] != 0.0 && isnan(act->kink)) act->kink = act->kinks[k];
    snprintf(act->name, sizeof act->name, "%s", canonical ? canonical : dw_expr_canonical(act->expr));
    dw_act_detect_pwl(act);
    if (canonical && (!strcmp(canonical, "elu") || !strcmp(canonical, "selu"))) {
        /* closed-form inner expectations (kinked.c) for the entries the series cannot certify */
        act->elu = 1;
        act->elu_alpha = canonical[0] == 's' ? SELU_ALPHA : 1.0;
        act->elu_lambda = canonical[0] == 's' ? SELU_LAMBDA : 1.0;
    }
    return DW_OK;
}

double dw_act_fn(double z, double *dphi, const void *ctx)
{
    /* The quadrature rules ask for one-sided limits at a kink at 0 as f(+-1e-300) (dw_eval_mid); inside an
     * expression rounding turns such a z into exact ties (exp(1e-300) - 1 == 0), so evaluate the limit at 0
     * along the side instead. */
    if (z != 0 && fabs(z) < 1e-290) return dw_expr_eval_side(((const dw_act *)ctx)->expr, 0.0, dphi, z > 0 ? 1 : -1);
    return dw_expr_eval(((const dw_act *)ctx)->expr, z, dphi);
}

const char *const *dw_act_builtins(void) { return builtins; }

static const struct {
    const char *name, *canonical;
    dw_family fam;
    double alpha, d0;
    const char *method;
} table[] = {
    {"identity", "identity", DW_FAM_IDENTITY, 1.0, 1.0, "closed form"},
    {"linear", "identity", DW_FAM_IDENTITY, 1.0, 1.0, "closed form"},
    {"relu", "relu", DW_FAM_RELU, 0.0, 0.0, "closed form (arc-cosine)"},
    {"abs", "abs", DW_FAM_RELU, -1.0, 0.0, "closed form (arc-cosine)"},
    {"step", "step", DW_FAM_STEP, 0.0, 0.0, "closed form (arc-cosine, degree 0)"},
    {"heaviside", "step", DW_FAM_STEP, 0.0, 0.0, "closed form (arc-cosine, degree 0)"},
    {"erf", "erf", DW_FAM_ERF, 0.0, 0.0, "closed form (arcsine)"},
    {"sin", "sin", DW_FAM_SIN, 0.0, 0.0, "closed form"},
    {"cos", "cos", DW_FAM_COS, 0.0, 0.0, "closed form"},
    {"exp", "exp", DW_FAM_EXP, 0.0, 0.0, "closed form"},
};

/* Parse a finite number occupying exactly [p, end), for parameters like "0.1". */
static int parse_number(const char *p, const char *end, double *out)
{
    char buf[128];
    while (p < end && isspace((unsigned char)*p)) p++;
    while (end > p && isspace((unsigned char)end[-1])) end--;
    size_t len = (size_t)(end - p);
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *stop;
    errno = 0;
    double v = strtod(buf, &stop);
    if (*stop != '\0' || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static dw_status parse_poly(dw_act *act, const char *spec, const char *params)
{
    double c[DW_POLY_MAX_DEGREE + 2];
    int n = 0;
    const char *p = params;
    for (;;) {
        const char *q = strchr(p, ',');
        const char *end = q ? q : p + strlen(p);
        if (n > DW_POLY_MAX_DEGREE)
            return dw_fail(DW_ERR_INVALID, "activation '%s': degree above the maximum %d", spec,
                           DW_POLY_MAX_DEGREE);
        if (!parse_number(p, end, &c[n]))
            return dw_fail(DW_ERR_INVALID, "activation '%s': coefficient %d ('%.*s') is not a finite number",
                           spec, n + 1, (int)(end - p), p);
        n++;
        if (!q) break;
        p = q + 1;
    }
    while (n > 1 && c[n - 1] == 0.0) n--; /* trailing zeros do not change phi */
    act->coef = dw_alloc((size_t)n, sizeof(double), "polynomial coefficients");
    if (!act->coef) return DW_ERR_NOMEM;
    memcpy(act->coef, c, (size_t)n * sizeof(double));
    act->deg = n - 1;
    act->fam = DW_FAM_POLY;
    act->method = "Isserlis (exact for polynomials)";
    int len = snprintf(act->name, sizeof act->name, "poly:");
    for (int k = 0; k < n && len < (int)sizeof act->name; k++)
        len += snprintf(act->name + len, sizeof act->name - (size_t)len, "%s%.17g", k ? "," : "", c[k]);
    return DW_OK;
}

dw_status dw_act_init(dw_act **out, const char *spec)
{
    if (!out) return dw_fail(DW_ERR_INVALID, "dw_act_init: NULL output");
    *out = NULL;
    if (!spec) return dw_fail(DW_ERR_INVALID, "activation: missing (NULL) spec");
    if (strlen(spec) > 4096) return dw_fail(DW_ERR_INVALID, "activation: spec longer than 4096 characters");
    while (isspace((unsigned char)*spec)) spec++;
    size_t len = strlen(spec);
    while (len && isspace((unsigned char)spec[len - 1])) len--;
    char buf[4100];
    memcpy(buf, spec, len);
    buf[len] = '\0';
    if (len == 0) return dw_fail(DW_ERR_INVALID, "activation: empty name");

    char *colon = strchr(buf, ':');
    const char *params = NULL;
    if (colon) {
        *colon = '\0';
        params = colon + 1;
    }
    for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);

    dw_act *act = dw_calloc(1, sizeof *act, "activation");
    if (!act) return DW_ERR_NOMEM;
    dw_status st = DW_OK;
    if (strcmp(buf, "leaky_relu") == 0) {
        double a;
        if (!params)
            st = dw_fail(DW_ERR_INVALID, "activation 'leaky_relu' needs a slope: leaky_relu:ALPHA (e.g. leaky_relu:0.1)");
        else if (!parse_number(params, params + strlen(params), &a))
            st = dw_fail(DW_ERR_INVALID, "activation '%s': slope '%s' is not a finite number", spec, params);
        else {
            act->fam = DW_FAM_RELU;
            act->alpha = a;
            act->d0 = 1.0;
            act->method = "closed form (arc-cosine)";
            snprintf(act->name, sizeof act->name, "leaky_relu:%.17g", a);
        }
    } else if (strcmp(buf, "poly") == 0) {
        if (!params || !*params)
            st = dw_fail(DW_ERR_INVALID, "activation 'poly' needs coefficients: poly:c0,c1,c2,... (phi = c0 + c1 z + ...)");
        else
            st = parse_poly(act, spec, params);
    } else {
        size_t k, nt = sizeof table / sizeof table[0], kf, nf = sizeof formulas / sizeof formulas[0];
        for (k = 0; k < nt; k++)
            if (strcmp(buf, table[k].name) == 0) break;
        for (kf = 0; kf < nf; kf++)
            if (strcmp(buf, formulas[kf].name) == 0) break;
        if (k == nt && kf < nf && !params) {
            st = init_generic(act, formulas[kf].canonical, formulas[kf].formula);
            if (!st && strcmp(formulas[kf].canonical, "gelu") == 0) {
                /* evaluated through its formula (as the expression is), Gaussian expectations in closed form */
                act->fam = DW_FAM_GELU;
                act->method = "closed form (arcsine)";
            }
        } else if (k == nt && kf == nf) {
            /* Not a name: an expression in z (case-sensitive, so parsed from the original text). */
            int plain = 1;
            for (const char *c = buf; *c; c++) plain &= isalnum((unsigned char)*c) || *c == '_';
            plain = colon || (plain && strcmp(buf, "z") != 0 && strcmp(buf, "pi") != 0 && strcmp(buf, "e") != 0 &&
                              !isdigit((unsigned char)buf[0]));
            if (plain)
                st = dw_fail(DW_ERR_INVALID,
                             "unknown activation '%s' (built-ins: identity, relu, leaky_relu:ALPHA, abs, step, erf, "
                             "sin, cos, exp, poly:c0,c1,..., tanh, sigmoid, gelu, gelu_tanh, silu, softplus, elu, "
                             "selu, mish; or an expression in z such as 'z*sigmoid(1.702*z)')",
                             buf);
            else {
                memcpy(buf, spec, len);
                buf[len] = '\0';
                st = init_generic(act, NULL, buf);
            }
        } else if (params) {
            st = dw_fail(DW_ERR_INVALID, "activation '%s' takes no parameter (got ':%s')", buf, params);
        } else {
            act->fam = table[k].fam;
            act->alpha = table[k].alpha;
            act->d0 = table[k].d0;
            act->method = table[k].method;
            snprintf(act->name, sizeof act->name, "%s", table[k].canonical);
        }
    }
    if (st != DW_OK) {
        dw_act_clear(act);
        return st;
    }
    *out = act;
    return DW_OK;
}

void dw_act_clear(dw_act *act)
{
    if (!act) return;
    free(act->coef);
    dw_expr_free(act->expr);
    free(act);
}

const char *dw_act_name(const dw_act *act) { return act ? act->name : ""; }
const char *dw_act_method(const dw_act *act) { return act ? act->method : ""; }

static double poly_eval(const double *c, int deg, double z, double *dp)
{
    double p = 0.0, d = 0.0;
    for (int k = deg; k >= 0; k--) {
        d = d * z + p;
        p = p * z + c[k];
    }
    if (dp) *dp = d;
    return p;
}

dw_status dw_act_eval(const dw_act *act, size_t n, const double *z, double *phi, double *dphi)
{
    if (!act || (n && !z)) return dw_fail(DW_ERR_INVALID, "dw_act_eval: NULL argument");
    for (size_t i = 0; i < n; i++) {
        double x = z[i], f, d;
        switch (act->fam) {
        case DW_FAM_RELU:
            f = x > 0 ? x : act->alpha == 0.0 ? 0.0 : act->alpha * x; /* relu(-inf) = 0, not 0 * -inf */
            d = x > 0 ? 1.0 : x < 0 ? act->alpha : act->d0;
            break;
        case DW_FAM_STEP:
            f = x > 0 ? 1.0 : 0.0;
            d = 0.0;
            break;
        case DW_FAM_ERF:
            f = erf(x);
            d = 1.1283791670955126 * exp(-x * x); /* 2/sqrt(pi) */
            break;
        case DW_FAM_SIN:
            f = sin(x);
            d = cos(x);
            break;
        case DW_FAM_COS:
            f = cos(x);
            d = -sin(x);
            break;
        case DW_FAM_EXP:
            f = d = exp(x);
            break;
        case DW_FAM_POLY:
            f = poly_eval(act->coef, act->deg, x, &d);
            break;
        case DW_FAM_GELU:
        case DW_FAM_GENERIC:
            f = dw_expr_eval(act->expr, x, &d);
            break;
        default:
            f = x;
            d = 1.0;
        }
        if (phi) phi[i] = f;
        if (dphi) dphi[i] = d;
    }
    return DW_OK;
}

void dw_act_point(const dw_act *act, double a, double *r, double *m2)
{
    double rv = 0.0, m = 0.0;
    switch (act->fam) {
    case DW_FAM_RELU:
        rv = sqrt(a);
        m = 0.5 * (1.0 + act->alpha * act->alpha) * a;
        break;
    case DW_FAM_STEP:
        rv = a > 0 ? 1.0 : 0.0;
        m = a > 0 ? 0.5 : 0.0;
        break;
    case DW_FAM_ERF:
        rv = 1.0 / sqrt(1.0 + 2.0 * a);
        break;
    case DW_FAM_SIN:
    case DW_FAM_COS:
        rv = exp(-0.5 * a);
        break;
    default:
        break;
    }
    if (r) *r = rv;
    if (m2) *m2 = m;
}

void dw_act_poly_point(const dw_act *act, double a, double *pk, double *qk, size_t stride)
{
    /* Gaussian moments E[(sqrt(a) Z)^j] = a^(j/2) (j-1)!! for even j. */
    double mom[DW_POLY_MAX_DEGREE + 2];
    mom[0] = 1.0;
    for (int j = 1; j <= act->deg + 1; j++) mom[j] = (j % 2) ? 0.0 : mom[j - 2] * (double)(j - 1) * a;
    double M[DW_POLY_MAX_DEGREE + 2];
    for (int k = 0; k <= act->deg + 1; k++) {
        double sum = 0.0;
        for (int j = act->deg; j >= k; j--) {
            if ((j - k) % 2) continue;
            double ff = 1.0; /* j!/(j-k)! */
            for (int q = 0; q < k; q++) ff *= (double)(j - q);
            sum += act->coef[j] * ff * mom[j - k];
        }
        M[k] = sum;
    }
    double fact = 1.0;
    for (int k = 0; k <= act->deg; k++) {
        if (k) fact *= (double)k;
        double is = 1.0 / sqrt(fact);
        pk[(size_t)k * stride] = M[k] * is;
        qk[(size_t)k * stride] = M[k + 1] * is;
    }
}

dw_status dw_act_check_generic(const dw_act *act)
{
    if (act->fam == DW_FAM_GENERIC && act->nkinks < 0)
        return dw_fail(DW_ERR_INVALID,
                       "activation %s has more than %d kinks (or they could not be located): its Gaussian "
                       "expectations are not supported; it can still be evaluated and sampled",
                       act->name, DW_COND_MAX_KINKS);
    return DW_OK;
}
