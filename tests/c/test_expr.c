/* act/expr: activation expressions: parsing, values against libm, derivatives (finite differences and by
 * hand), kink conventions, classification, error messages, limits, canonical spelling. */
#include "act/expr.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double grid[] = {-6.0, -3.7, -2.0, -1.25, -1.0, -0.5, -0.1, -1e-3, 0.0, 1e-3,
                              0.1,  0.3,  0.5,  1.0,   1.702, 2.0, 3.3,  5.0,  7.5};
#define NGRID (sizeof grid / sizeof grid[0])

static double sig(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

typedef double (*fn)(double);
static double f_swish(double z) { return z * sig(1.702 * z); }
static double d_swish(double z) { double s = sig(1.702 * z); return s + 1.702 * z * s * (1 - s); }
static double f_leaky(double z) { return fmax(z, 0.1 * z); }
static double d_leaky(double z) { return z >= 0 ? 1.0 : 0.1; } /* a tie takes max's first argument */
static double f_tanh2(double z) { return tanh(z) * tanh(z); }
static double d_tanh2(double z) { double t = tanh(z); return 2 * t * (1 - t * t); }
static double f_gelu(double z) { return 0.5 * z * (1 + erf(z / sqrt(2))); }
static double d_gelu(double z) { return 0.5 * (1 + erf(z / sqrt(2))) + z * exp(-0.5 * z * z) / sqrt(2 * M_PI); }
static double f_negsq(double z) { return -(z * z); }
static double d_negsq(double z) { return -2 * z; }
static double f_logistic(double z) { return 1 / (1 + exp(-z)); }
static double d_logistic(double z) { double s = sig(z); return s * (1 - s); }
static double f_softplus(double z) { return log1p(exp(z)); }
static double d_softplus(double z) { return sig(z); }
static double f_mix(double z) { return exp(-z * z / 2) * cos(3 * z) + sin(z) / (2 + z * z) + sqrt(1 + z * z); }
static double d_mix(double z)
{
    return -z * exp(-z * z / 2) * cos(3 * z) - 3 * exp(-z * z / 2) * sin(3 * z) +
           (cos(z) * (2 + z * z) - 2 * z * sin(z)) / ((2 + z * z) * (2 + z * z)) + z / sqrt(1 + z * z);
}
static double f_logcosh(double z) { return log((exp(z) + exp(-z)) / 2); }
static double d_logcosh(double z) { return tanh(z); }
static double f_cube(double z) { return 0.25 * z * z * z - z + 2; }
static double d_cube(double z) { return 0.75 * z * z - 1; }
static double f_pow(double z) { return pow(2.0, z) + pow(1 + z * z, 0.75); }
static double d_pow(double z) { return log(2.0) * pow(2.0, z) + 1.5 * z * pow(1 + z * z, -0.25); }

static const struct {
    const char *text;
    fn f, df;
    double rtol;        /* value tolerance */
    double kink;        /* skip finite differences within 1e-5 of this point (NAN: none) */
} cases[] = {
    {"z*sigmoid(1.702*z)", f_swish, d_swish, 1e-15, NAN},
    {"max(z, 0.1*z)", f_leaky, d_leaky, 0.0, 0.0},
    {"tanh(z)^2", f_tanh2, d_tanh2, 0.0, NAN},
    {"0.5*z*(1+erf(z/sqrt(2)))", f_gelu, d_gelu, 0.0, NAN},
    {"-z^2", f_negsq, d_negsq, 0.0, NAN},
    {"1/(1+exp(-z))", f_logistic, d_logistic, 0.0, NAN},
    {"softplus(z)", f_softplus, d_softplus, 1e-15, NAN},
    {"exp(-z^2/2)*cos(3*z) + sin(z)/(2+z^2) + sqrt(1+z*z)", f_mix, d_mix, 1e-15, NAN},
    {"log((exp(z)+exp(-z))/2)", f_logcosh, d_logcosh, 1e-15, NAN},
    {" 0.25 * z^3 - z + 2 ", f_cube, d_cube, 1e-15, NAN},
    {"2^z + (1+z^2)^0.75", f_pow, d_pow, 1e-15, NAN},
};

static dw_expr *parse_ok(const char *text)
{
    dw_expr *e = NULL;
    dw_status s = dw_expr_parse(&e, text);
    if (s != DW_OK) fprintf(stderr, "  parse '%s': %s\n", text, dw_error_message());
    CHECK(s == DW_OK && e != NULL);
    return e;
}

static void test_values_and_derivatives(void)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *text = cases[c].text;
        dw_expr *e = parse_ok(text);
        if (!e) continue;
        for (size_t i = 0; i < NGRID; i++) {
            double z = grid[i], d = NAN;
            double v = dw_expr_eval(e, z, &d);
            CHECK_CLOSE(v, cases[c].f(z), cases[c].rtol ? cases[c].rtol : 1e-15, 1e-300);
            if (cases[c].rtol == 0.0) CHECK(v == cases[c].f(z)); /* the same operations as the C formula */
            CHECK(dw_expr_eval(e, z, NULL) == v);
            CHECK_CLOSE(d, cases[c].df(z), 1e-12, 1e-14);
            if (!isnan(cases[c].kink) && fabs(z - cases[c].kink) < 1e-5) continue;
            double h = 1e-6;
            double fd = (dw_expr_eval(e, z + h, NULL) - dw_expr_eval(e, z - h, NULL)) / (2 * h);
            CHECK_CLOSE(d, fd, 1e-8, 1e-9);
        }
        dw_expr_free(e);
    }
    dw_expr *e = parse_ok("2^3^2");
    CHECK(dw_expr_eval(e, 0.7, NULL) == 512.0);
    dw_expr_free(e);
    e = parse_ok("-2^2");
    CHECK(dw_expr_eval(e, 0.0, NULL) == -4.0);
    dw_expr_free(e);
    e = parse_ok("2^-1 + 2^-z");
    double d;
    CHECK(dw_expr_eval(e, 2.0, &d) == 0.75);
    CHECK_CLOSE(d, -log(2.0) * 0.25, 1e-15, 0);
    dw_expr_free(e);
    e = parse_ok("(-z)^2*2 - -z - +z");
    CHECK(dw_expr_eval(e, -3.0, &d) == 18.0);
    CHECK(d == -12.0);
    dw_expr_free(e);
    e = parse_ok("pi + e + 1e-3 + .5 + 1.702 + 1E+2 + 3.");
    CHECK(dw_expr_eval(e, 0.0, &d) == M_PI + M_E + 1e-3 + .5 + 1.702 + 1E+2 + 3.);
    CHECK(d == 0.0);
    dw_expr_free(e);
}

/* Every function against libm, value and derivative. */
static void test_functions(void)
{
    static const struct {
        const char *text;
        double z, v, d;
    } t[] = {
        {"exp(z)", 0.7, 2.0137527074704766, 2.0137527074704766},
        {"log(z)", 2.5, 0.91629073187415511, 0.4},
        {"sqrt(z)", 2.25, 1.5, 1.0 / 3.0},
        {"abs(z)", -1.5, 1.5, -1.0},
        {"abs(z)", 2.0, 2.0, 1.0},
        {"tanh(z)", 0.5, 0.46211715726000974, 0.78644773296592741},
        {"sigmoid(z)", -40.0, 4.2483542552915889e-18, 4.2483542552915889e-18},
        {"sigmoid(z)", 40.0, 1.0, 4.2483542552915889e-18},
        {"erf(z)", 0.3, 0.32862675945912742, 1.031260909618963},
        {"sin(z)", 1.1, 0.89120736006143531, 0.45359612142557731},
        {"cos(z)", 1.1, 0.45359612142557731, -0.89120736006143531},
        {"relu(z)", -2.0, 0.0, 0.0},
        {"relu(z)", 3.0, 3.0, 1.0},
        {"softplus(z)", 800.0, 800.0, 1.0},
        {"softplus(z)", -800.0, 0.0, 0.0},
        {"softplus(z)", -40.0, 4.2483542552915889e-18, 4.2483542552915889e-18},
        {"max(z, 1)", 0.5, 1.0, 0.0},
        {"max(z, 1)", 1.5, 1.5, 1.0},
        {"min(z, 1)", 0.5, 0.5, 1.0},
        {"min(z, 1)", 1.5, 1.0, 0.0},
        {"z^3", -1.5, -3.375, 6.75},
        {"z^-2", -2.0, 0.25, 0.25},
        {"z^0", 0.0, 1.0, 0.0},
        {"z^(1+1)", -3.0, 9.0, -6.0},
        {"z^z", 2.0, 4.0, 6.7725887222397811}, /* 4 (log 2 + 1) */
        {"z^0.5", 4.0, 2.0, 0.25},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dw_expr *e = parse_ok(t[i].text);
        if (!e) continue;
        double d = NAN, v = dw_expr_eval(e, t[i].z, &d);
        if (!(fabs(v - t[i].v) <= 2e-16 * fabs(t[i].v) + 1e-300 && fabs(d - t[i].d) <= 1e-15 * fabs(t[i].d) + 1e-300))
            fprintf(stderr, "  %s at %g: %.17g %.17g, want %.17g %.17g\n", t[i].text, t[i].z, v, d, t[i].v, t[i].d);
        CHECK_CLOSE(v, t[i].v, 2e-16, 1e-300);
        CHECK_CLOSE(d, t[i].d, 1e-15, 1e-300);
        dw_expr_free(e);
    }
    /* exact repeated multiplication: z^2, z^3 bit-identical to z*z, z*z*z, with the right sign */
    dw_expr *e2 = parse_ok("z^2"), *e3 = parse_ok("z^3");
    for (size_t i = 0; i < NGRID; i++) {
        double z = grid[i] * 1.37;
        CHECK(dw_expr_eval(e2, z, NULL) == z * z);
        CHECK(dw_expr_eval(e3, z, NULL) == z * z * z);
    }
    dw_expr_free(e2);
    dw_expr_free(e3);
}

static void test_kinks(void)
{
    static const struct {
        const char *text;
        double z, v, d;
    } t[] = {
        {"abs(z)", 0.0, 0.0, 0.0},       {"relu(z)", 0.0, 0.0, 0.0},       {"max(z, 0.1*z)", 0.0, 0.0, 1.0},
        {"max(0.1*z, z)", 0.0, 0.0, 0.1}, {"min(z, 0.1*z)", 0.0, 0.0, 1.0}, {"min(0.1*z, z)", 0.0, 0.0, 0.1},
        {"max(z, 0)", 0.0, 0.0, 1.0},     {"max(0, z)", 0.0, 0.0, 0.0},     {"abs(z - 1)", 1.0, 0.0, 0.0},
        {"sqrt(z^2)", 0.0, 0.0, 0.0},     {"z*abs(z)", 0.0, 0.0, 0.0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dw_expr *e = parse_ok(t[i].text);
        if (!e) continue;
        double d = NAN, v = dw_expr_eval(e, t[i].z, &d);
        CHECK(v == t[i].v);
        if (d != t[i].d) fprintf(stderr, "  %s: d = %g at %g, want %g\n", t[i].text, d, t[i].z, t[i].d);
        CHECK(d == t[i].d);
        dw_expr_free(e);
    }
    double d;
    dw_expr *e = parse_ok("sqrt(z)");
    CHECK(dw_expr_eval(e, 0.0, &d) == 0.0);
    CHECK(isinf(d) && d > 0);
    dw_expr_free(e);
    e = parse_ok("log(z)");
    CHECK(isnan(dw_expr_eval(e, -1.0, &d)));
    CHECK(isinf(dw_expr_eval(e, 0.0, &d)));
    dw_expr_free(e);
    e = parse_ok("z^0.5");
    CHECK(isnan(dw_expr_eval(e, -1.0, &d)));
    dw_expr_free(e);
    e = parse_ok("relu(z) + max(z, 1) + abs(z)");
    CHECK(isnan(dw_expr_eval(e, NAN, &d)));
    CHECK(isnan(d));
    dw_expr_free(e);
    e = parse_ok("relu(z)");
    CHECK(dw_expr_eval(e, -INFINITY, &d) == 0.0);
    dw_expr_free(e);
}

static void test_classify(void)
{
    static const struct {
        const char *text;
        int poly, smooth;
    } t[] = {
        {"z", 1, 1},          {"3", 1, 1},
        {"1 + 2*z - z^3", 1, 1}, {"-(z - 1)^2 * pi", 1, 1},
        {"z^(1+1)", 1, 1},    {"z^0", 1, 1},
        {"z^-1", 0, 1},       {"z^0.5", 0, 1},
        {"z^z", 0, 1},        {"z/2", 0, 1},
        {"exp(z)", 0, 1},     {"tanh(z)^2", 0, 1},
        {"z*sigmoid(1.702*z)", 0, 1}, {"softplus(z)", 0, 1},
        {"abs(z)", 0, 0},     {"relu(z)", 0, 0},
        {"max(z, 0.1*z)", 0, 0}, {"min(z, 0)", 0, 0},
        {"z^2 + abs(1)", 0, 0}, {"2^3", 1, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dw_expr *e = parse_ok(t[i].text);
        if (!e) continue;
        if (dw_expr_is_polynomial(e) != t[i].poly || dw_expr_is_smooth(e) != t[i].smooth)
            fprintf(stderr, "  classify '%s': poly %d smooth %d\n", t[i].text, dw_expr_is_polynomial(e),
                    dw_expr_is_smooth(e));
        CHECK(dw_expr_is_polynomial(e) == t[i].poly);
        CHECK(dw_expr_is_smooth(e) == t[i].smooth);
        dw_expr_free(e);
    }
}

/* Parsing must fail with DW_ERR_INVALID and a one-line message containing every one of the words. */
static void expect_error(const char *text, const char *w1, const char *w2, const char *w3)
{
    dw_expr *e = (dw_expr *)1;
    dw_status s = dw_expr_parse(&e, text);
    const char *msg = dw_error_message();
    int ok = s == DW_ERR_INVALID && e == NULL && !strchr(msg, '\n') && strncmp(msg, "error", 5) != 0 &&
             strstr(msg, w1) && (!w2 || strstr(msg, w2)) && (!w3 || strstr(msg, w3));
    if (!ok) fprintf(stderr, "  '%.60s': status %d, message \"%s\"\n", text, (int)s, msg);
    CHECK(ok);
    if (s == DW_OK) dw_expr_free(e);
}

static void test_errors(void)
{
    expect_error("max(z, 1", "column 9: ", "expected ')' after argument", NULL);
    expect_error("exp(z 1)", "column 7: ", "expected ')' after argument", NULL);
    expect_error("foo(z)", "column 1: ",
                 "unknown function 'foo' (functions: exp, log, sqrt, abs, tanh, sigmoid, erf, sin, cos, relu, "
                 "softplus, max, min)",
                 NULL);
    expect_error("Exp(z)", "column 1: ", "unknown function 'Exp'", "lowercase");
    expect_error("2*x", "column 3: ", "unknown variable 'x' (the variable is z)", NULL);
    expect_error("Z + 1", "column 1: ", "unknown variable 'Z'", NULL);
    expect_error("z + max(z)", "column 5: ", "max takes 2 arguments, got 1", NULL);
    expect_error("min(z, 1, 2)", "column 1: ", "min takes 2 arguments, got 3", NULL);
    expect_error("exp(z, 1)", "column 1: ", "exp takes 1 argument, got 2", NULL);
    expect_error("exp()", "column 1: ", "exp takes 1 argument, got 0", NULL);
    expect_error("z + 1 q", "column 7: ", "unexpected 'q' after the end of the expression", NULL);
    expect_error("2z", "column 2: ", "unexpected 'z' after the end", NULL);
    expect_error("z)", "column 2: ", "unexpected ')'", NULL);
    expect_error("z + \xc3\xa9", "column 5: ", "\\xC3", NULL);
    expect_error("z+ 1e999", "column 4: ", "number '1e999' is not finite", NULL);
    expect_error("1e", "column 1: ", "number '1e'", "exponent");
    expect_error("z + .", "column 5: ", "expected digits", NULL);
    expect_error("", "empty expression", NULL, NULL);
    expect_error(" \t\n ", "empty expression", NULL, NULL);
    expect_error("(z + 1", "column 7: ", "expected ')' to close the '(' at column 1", NULL);
    expect_error("z +", "column 4: ", "expected a number, z, a constant, a function call or '('", "end of the expression");
    expect_error("z * * z", "column 5: ", "found '*'", NULL);
    expect_error("()", "column 2: ", "expected an expression", NULL);
    expect_error("exp + 1", "column 1: ", "expected '(' after the function name 'exp'", NULL);
    expect_error("z(1)", "column 1: ", "'z' is not a function", NULL);
    expect_error("z ^ ^ 2", "column 5: ", "found '^'", NULL);
    expect_error("max(z 1)", "column 7: ", "expected ','", NULL);
    expect_error(NULL, "empty expression", NULL, NULL);
}

static char *repeat(const char *head, const char *unit, int n, const char *mid, const char *unit2, int n2)
{
    size_t len = strlen(head) + strlen(unit) * (size_t)n + strlen(mid) + strlen(unit2) * (size_t)n2 + 1;
    char *s = malloc(len), *p = s;
    p += sprintf(p, "%s", head);
    for (int i = 0; i < n; i++) p += sprintf(p, "%s", unit);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < n2; i++) p += sprintf(p, "%s", unit2);
    return s;
}

static void test_limits(void)
{
    char *s = repeat("z", "+0", 2048, "", "", 0); /* 4097 characters */
    CHECK(strlen(s) == 4097);
    expect_error(s, "expression longer than 4096 characters", NULL, NULL);
    free(s);
    s = repeat("z", "+1", 2047, " ", "", 0); /* 4096: fine */
    CHECK(strlen(s) == 4096);
    dw_expr *e = parse_ok(s);
    CHECK(dw_expr_eval(e, 0.5, NULL) == 2047.5);
    dw_expr_free(e);
    free(s);

    s = repeat("", "(", 65, "z", ")", 65);
    expect_error(s, "column 65: nesting deeper than 64", NULL, NULL);
    free(s);
    s = repeat("", "(", 64, "z", ")", 64);
    e = parse_ok(s);
    CHECK(dw_expr_eval(e, 1.5, NULL) == 1.5);
    CHECK(strcmp(dw_expr_canonical(e), "z") == 0);
    dw_expr_free(e);
    free(s);
    s = repeat("", "exp(", 64, "z", ")", 64);
    e = parse_ok(s);
    dw_expr_free(e);
    free(s);
    s = repeat("", "sin(", 65, "z", ")", 65);
    expect_error(s, "column 260: nesting deeper than 64", NULL, NULL);
    free(s);

    /* long operator chains are loops, not recursion: 2048-deep trees evaluate and print */
    s = repeat("", "-", 4095, "z", "", 0);
    e = parse_ok(s);
    double d;
    CHECK(dw_expr_eval(e, 2.0, &d) == -2.0 && d == -1.0);
    CHECK(strcmp(dw_expr_canonical(e), s) == 0);
    dw_expr_free(e);
    free(s);
    s = repeat("z", "^z", 2047, "", "", 0);
    e = parse_ok(s);
    CHECK(dw_expr_eval(e, 1.0, &d) == 1.0);
    CHECK(strcmp(dw_expr_canonical(e), s) == 0);
    dw_expr_free(e);
    free(s);
    s = repeat("z", "-z", 2047, "", "", 0);
    e = parse_ok(s);
    CHECK(dw_expr_eval(e, 1.0, &d) == -2046.0 && d == -2046.0);
    CHECK(strcmp(dw_expr_canonical(e), s) == 0);
    dw_expr_free(e);
    free(s);
}

static void test_canonical(void)
{
    static const struct {
        const char *text, *canon;
    } t[] = {
        {"z * sigmoid( 1.702 * z )", "z*sigmoid(1.702*z)"},
        {"max(z, 0.1*z)", "max(z,0.1*z)"},
        {"tanh(z)^2", "tanh(z)^2"},
        {"0.5*z*(1+erf(z/sqrt(2)))", "0.5*z*(1+erf(z/sqrt(2)))"},
        {"-z^2", "-z^2"},
        {"(-z)^2", "(-z)^2"},
        {"2^3^2", "2^3^2"},
        {"(2^3)^2", "(2^3)^2"},
        {"2^(-z)", "2^-z"},
        {"1/(1+exp(-z))", "1/(1+exp(-z))"},
        {"((z))+(1)", "z+1"},
        {"z-(1-z)", "z-(1-z)"},
        {"(z-1)-z", "z-1-z"},
        {"z/(2*z)", "z/(2*z)"},
        {"+z", "z"},
        {"- -z", "--z"},
        {"-(z*2)", "-(z*2)"},
        {"(-z)*2", "-z*2"},
        {"z*(-2)", "z*-2"},
        {"1e-3 + .5 + 1E5 + 1e300 + 1e-5", "0.001+0.5+1e5+1e300+1e-5"},
        {"pi*e", "pi*e"},
        {"0.1", "0.1"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dw_expr *e = parse_ok(t[i].text);
        if (!e) continue;
        if (strcmp(dw_expr_canonical(e), t[i].canon) != 0)
            fprintf(stderr, "  canonical('%s') = '%s', want '%s'\n", t[i].text, dw_expr_canonical(e), t[i].canon);
        CHECK(strcmp(dw_expr_canonical(e), t[i].canon) == 0);
        dw_expr_free(e);
    }
    /* round trips: parse(canonical(e)) evaluates bit-identically, and its canonical is the same */
    static const char *rt[] = {
        "z*sigmoid(1.702*z)", "max(z, 0.1*z)", "tanh(z)^2", "0.5*z*(1+erf(z/sqrt(2)))", "-z^2", "2^3^2",
        "1/(1+exp(-z))", "-(-z)^-(2)^-z", "z - (z - (z - 1/3))", "((z/3)/7)*(z/(3/7))", "z^-z^-2 * -z",
        "min(max(z, -1), 1) + abs(z)^1.5 - relu(-z) + softplus(z/0.1)", "log(1 + z^2) + sqrt(abs(z)) + cos(pi*z)",
        "0.30000000000000004*z + 1e-310 + 123456789012345678", "2^-3^-z", "-(2^-z)^2",
    };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        dw_expr *e = parse_ok(rt[i]);
        if (!e) continue;
        dw_expr *f = parse_ok(dw_expr_canonical(e));
        if (!f) {
            dw_expr_free(e);
            continue;
        }
        CHECK(strcmp(dw_expr_canonical(e), dw_expr_canonical(f)) == 0);
        int same = 1;
        for (size_t k = 0; k < NGRID; k++) {
            double d1, d2, v1 = dw_expr_eval(e, grid[k], &d1), v2 = dw_expr_eval(f, grid[k], &d2);
            if (memcmp(&v1, &v2, sizeof v1) != 0 || memcmp(&d1, &d2, sizeof d1) != 0) same = 0;
        }
        if (!same) fprintf(stderr, "  round trip of '%s' via '%s' differs\n", rt[i], dw_expr_canonical(e));
        CHECK(same);
        dw_expr_free(f);
        dw_expr_free(e);
    }
    CHECK(dw_expr_eval(NULL, 0.0, NULL) != dw_expr_eval(NULL, 0.0, NULL)); /* NaN */
    CHECK(strcmp(dw_expr_canonical(NULL), "") == 0);
    dw_expr_free(NULL);
}

int main(void)
{
    test_values_and_derivatives();
    test_functions();
    test_kinks();
    test_classify();
    test_errors();
    test_limits();
    test_canonical();
    return check_done("test_expr");
}
