/* wick: exact expectations of random-matrix words (theory.md 4.2) and polynomial networks (4.3).
 * - Route 1 (pairings) = route 2 (set partitions) exactly on every Gaussian case of a random family of words up to
 *   length 10 (one and two traces, one and two letters, transposes and adjoints), for gue, goe, ginibre and
 *   complex-ginibre; thread count does not change the pairings route.
 * - Harer-Zagier recursion = the published table e_g(n) (Harer-Zagier 1986, OEIS A035309) for n <= 10 and = pairings
 *   for n <= 8 (n = 9, 10 in the long Python tests); row sums (2n-1)!!; Catalan leading terms (GUE, GOE,
 *   Ginibre, complex Ginibre); complex Ginibre recursion = pairings for k <= 6 and at length 40 sums to k!.
 * - GOE (Ledoux) and real Ginibre recursions = pairings (value and orientable / non-orientable split) for GOE
 *   tr A^2..tr A^10 and real Ginibre k <= 6; GOE tr A^10, tr A^12 from Ledoux 2009; at length 40 the gluing counts
 *   2^20 39!! and 39!! and the Catalan(20) planar term (the loop-equation checks are in test_wick_real_recursion.py).
 * - Fuss-Catalan leading terms for products of Ginibre matrices; E (1/N) tr(J J^T) = 1 exactly.
 * - Complex ensembles: a normalised single trace has only even powers; real and complex Ginibre share the planar
 *   (leading) term. GOE: E tr A^2 = N + 1, E tr A^4 = 2N + 5 + 5/N, tr A^6 and tr A^8 from the literature.
 * - i.i.d. laws (route 2): moments:3,15,105,945 = real Ginibre (pairings); the fourth-moment shift m4 - 3 of
 *   E tr(A A^T A A^T); Rademacher and sparse against that formula.
 * - Networks: trees route = conditional route exactly; the constant term = dw_kernel_gram with poly activation.
 * - Error paths name the column / letter / limit. */
#include "check.h"
#include "deepwick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dw_wick_result *compute(const char *expr, const char *ens, dw_wick_route route, int normalized, int threads)
{
    dw_wick_opts *o = NULL;
    CHECK(dw_wick_opts_init(&o) == DW_OK);
    CHECK(dw_wick_opts_set_ensembles(o, ens) == DW_OK);
    CHECK(dw_wick_opts_set_route(o, route) == DW_OK);
    CHECK(dw_wick_opts_set_normalized(o, normalized != 0) == DW_OK);
    if (threads) CHECK(dw_wick_opts_set_threads(o, threads) == DW_OK);
    dw_wick_result *r = NULL;
    dw_status s = dw_wick_compute(o, expr, &r);
    dw_wick_opts_clear(o);
    if (s) fprintf(stderr, "compute '%s' (%s): %s\n", expr, ens ? ens : "gue", dw_error_message());
    return r;
}

/* exact equality of two Laurent polynomials */
static int same(dw_wick_result *a, dw_wick_result *b)
{
    if (!a || !b) return 0;
    long la, ha, lb, hb;
    dw_wick_result_range(a, &la, &ha);
    dw_wick_result_range(b, &lb, &hb);
    long lo = la < lb ? la : lb, hi = ha > hb ? ha : hb;
    for (long e = lo; e <= hi; e++) {
        char ca[4096];
        snprintf(ca, sizeof ca, "%s", dw_wick_result_coef(a, e));
        if (strcmp(ca, dw_wick_result_coef(b, e))) return 0;
    }
    return 1;
}

static long coef_long(dw_wick_result *r, long e) { return r ? strtol(dw_wick_result_coef(r, e), NULL, 10) : -999; }

static unsigned long long rng_state = 12345;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng_state >> 33) % n);
}

/* a random expression of `len` letters over `nl` letters in 1 or 2 traces */
static void random_word(char *buf, size_t cap, int len, int nl, int traces, int complex_pairs)
{
    static const char *ops[] = {"", "^T", "^*"};
    size_t p = 0;
    int cut = traces > 1 ? 1 + (int)rnd((unsigned)(len - 1)) : len;
    p += (size_t)snprintf(buf + p, cap - p, "tr(");
    for (int i = 0; i < len; i++) {
        if (i == cut) p += (size_t)snprintf(buf + p, cap - p, ") tr(");
        int letter = (int)rnd((unsigned)nl);
        const char *op = complex_pairs ? (rnd(2) ? "^*" : "") : ops[rnd(3)];
        p += (size_t)snprintf(buf + p, cap - p, "%s%c%s", i == cut || i == 0 ? "" : " ", 'A' + letter, op);
    }
    snprintf(buf + p, cap - p, ")");
}

static void test_routes_agree(void)
{
    static const char *ens[] = {"gue", "goe", "ginibre", "complex-ginibre", "A=gue,B=goe", "A=ginibre,B=complex-ginibre"};
    char w[512];
    int compared = 0, nonzero = 0;
    for (size_t e = 0; e < sizeof ens / sizeof ens[0]; e++)
        for (int len = 2; len <= 10; len += 2)
            for (int rep = 0; rep < 6; rep++) {
                int nl = strchr(ens[e], '=') ? 2 : 1 + (int)rnd(2);
                int traces = 1 + (int)rnd(2);
                if (len < 2 * traces) traces = 1;
                random_word(w, sizeof w, len, nl, traces, strstr(ens[e], "complex") != NULL && rnd(2));
                if (strchr(ens[e], '=') && !strchr(w, 'B')) continue;
                if (strchr(ens[e], '=') && !strchr(w, 'A')) continue;
                dw_wick_result *a = compute(w, ens[e], DW_WICK_PAIRINGS, rep % 2, 0);
                dw_wick_result *b = compute(w, ens[e], DW_WICK_PARTITIONS, rep % 2, 0);
                int ok = same(a, b);
                if (!ok) fprintf(stderr, "routes differ on %s (%s)\n", w, ens[e]);
                CHECK(ok);
                long lo, hi;
                if (a) {
                    dw_wick_result_range(a, &lo, &hi);
                    nonzero += lo <= hi;
                }
                compared++;
                dw_wick_result_clear(a);
                dw_wick_result_clear(b);
            }
    CHECK(compared > 150);
    CHECK(nonzero > 60);
    /* threads do not change the result */
    dw_wick_result *a = compute("tr(A A^T B A B^T A^T A B^T B A^T A)", "A=goe,B=ginibre", DW_WICK_PAIRINGS, 0, 1);
    dw_wick_result *b = compute("tr(A A^T B A B^T A^T A B^T B A^T A)", "A=goe,B=ginibre", DW_WICK_PAIRINGS, 0, 2);
    CHECK(same(a, b));
    dw_wick_result_clear(a);
    dw_wick_result_clear(b);
}

static long catalan(int k)
{
    long c = 1;
    for (int j = 0; j < k; j++) c = c * 2 * (2 * j + 1) / (j + 2);
    return c;
}

/* Harer-Zagier numbers e_g(n): gluings of a 2n-gon into a surface of genus g (OEIS A035309), from the literature */
static const long hz_table[11][6] = {
    {1},
    {1},
    {2, 1},
    {5, 10},
    {14, 70, 21},
    {42, 420, 483},
    {132, 2310, 6468, 1485},
    {429, 12012, 66066, 56628},
    {1430, 60060, 570570, 1169740, 225225},
    {4862, 291720, 4390386, 17454580, 12317877},
    {16796, 1385670, 31039008, 211083730, 351683046, 59520825},
};

static void test_harer_zagier(void)
{
    char w[256];
    for (int n = 1; n <= 10; n++) {
        snprintf(w, sizeof w, "tr(A^%d)", 2 * n);
        dw_wick_result *r = compute(w, "gue", DW_WICK_RECURSION, 0, 0);
        /* E tr A^2n = sum_g e_g(n) N^{n + 1 - 2g} with the GUE scaling E|A_ij|^2 = 1/N: exponent 1 - 2g */
        long lo, hi;
        CHECK(r != NULL);
        if (r) {
            dw_wick_result_range(r, &lo, &hi);
            CHECK(hi == 1 && lo == 1 - 2 * (n / 2));
        }
        for (int g = 0; g <= n / 2; g++) {
            int ok = coef_long(r, 1 - 2 * g) == hz_table[n][g];
            if (!ok) fprintf(stderr, "Harer-Zagier e_%d(%d) differs from the table\n", g, n);
            CHECK(ok);
        }
        for (long e = 0; r && e >= -2 * n; e -= 2) CHECK(!strcmp(dw_wick_result_coef(r, e), "0"));
        dw_wick_result *p = n <= 8 ? compute(w, "gue", DW_WICK_PAIRINGS, 0, 0) : NULL;
        if (n <= 8) CHECK(same(r, p));
        /* row sum (2n-1)!! and Catalan leading term */
        long sum = 0, df = 1;
        for (int j = 2 * n - 1; j > 1; j -= 2) df *= j;
        for (long e = 1; e >= 1 - n; e -= 2) sum += coef_long(r, e);
        CHECK(sum == df);
        CHECK(coef_long(r, 1) == catalan(n));
        dw_wick_result_clear(r);
        dw_wick_result_clear(p);
    }
    /* complex Ginibre recursion = pairings; leading Catalan */
    for (int k = 1; k <= 6; k++) {
        snprintf(w, sizeof w, "tr((G G^*)^%d)", k);
        dw_wick_result *r = compute(w, "complex-ginibre", DW_WICK_RECURSION, 0, 0);
        dw_wick_result *p = compute(w, "complex-ginibre", DW_WICK_PAIRINGS, 0, 0);
        CHECK(same(r, p));
        CHECK(coef_long(r, 1) == catalan(k));
        dw_wick_result_clear(r);
        dw_wick_result_clear(p);
    }
    /* length 40: GUE sum 39!!, leading Catalan(20); complex Ginibre sum 20! */
    dw_wick_result *r = compute("tr(A^40)", "gue", DW_WICK_AUTO, 0, 0);
    CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
    CHECK(!strcmp(dw_wick_result_coef(r, 1), "6564120420"));
    CHECK(strstr(dw_wick_result_json(r), "\"terms\": \"319830986772877770815625\"") != NULL); /* 39!! */
    dw_wick_result_clear(r);
    r = compute("tr((G G^*)^20)", "complex-ginibre", DW_WICK_AUTO, 0, 0);
    CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
    CHECK(!strcmp(dw_wick_result_coef(r, 1), "6564120420"));
    CHECK(strstr(dw_wick_result_json(r), "\"terms\": \"2432902008176640000\"") != NULL); /* 20! */
    dw_wick_result_clear(r);
}

static void test_known_values(void)
{
    dw_wick_result *r = compute("tr(A^2)", "goe", DW_WICK_AUTO, 0, 0);
    CHECK(coef_long(r, 1) == 1 && coef_long(r, 0) == 1);
    dw_wick_result_clear(r);
    r = compute("tr(A^4)", "goe", DW_WICK_AUTO, 0, 0);
    CHECK(coef_long(r, 1) == 2 && coef_long(r, 0) == 5 && coef_long(r, -1) == 5);
    dw_wick_result_clear(r);
    /* GOE moments from the literature (Goulden-Jackson 1997, Ledoux 2009): N^2 E tr A^6 = 5N^3 + 22N^2 + 52N + 41,
     * N^3 E tr A^8 = 14N^4 + 93N^3 + 374N^2 + 690N + 509 */
    r = compute("tr(A^6)", "goe", DW_WICK_PARTITIONS, 0, 0);
    CHECK(coef_long(r, 1) == 5 && coef_long(r, 0) == 22 && coef_long(r, -1) == 52 && coef_long(r, -2) == 41);
    dw_wick_result_clear(r);
    r = compute("tr(A^8)", "goe", DW_WICK_PAIRINGS, 0, 0);
    CHECK(coef_long(r, 1) == 14 && coef_long(r, 0) == 93 && coef_long(r, -1) == 374 && coef_long(r, -2) == 690 &&
          coef_long(r, -3) == 509);
    dw_wick_result_clear(r);
    /* Catalan leading terms for GOE and real Ginibre */
    char w[256];
    for (int k = 1; k <= 5; k++) {
        snprintf(w, sizeof w, "tr(A^%d)", 2 * k);
        r = compute(w, "goe", DW_WICK_AUTO, 1, 0);
        CHECK(coef_long(r, 0) == catalan(k));
        dw_wick_result_clear(r);
        snprintf(w, sizeof w, "tr((G G^T)^%d)", k);
        r = compute(w, "ginibre", DW_WICK_AUTO, 1, 0);
        CHECK(coef_long(r, 0) == catalan(k));
        dw_wick_result *c = compute(w, "ginibre", DW_WICK_PARTITIONS, 1, 0);
        CHECK(same(r, c));
        dw_wick_result_clear(c);
        dw_wick_result_clear(r);
    }
    /* Fuss-Catalan: (1/N) tr((W2 W1 W1^T W2^T)^k) -> (1/(2k+1)) C(3k, k) = 1, 3, 12 */
    static const long fc[] = {0, 1, 3, 12};
    for (int k = 1; k <= 3; k++) {
        snprintf(w, sizeof w, "tr((W2 W1 W1^T W2^T)^%d)", k);
        r = compute(w, "ginibre", DW_WICK_AUTO, 1, 0);
        CHECK(coef_long(r, 0) == fc[k]);
        dw_wick_result_clear(r);
    }
    /* E (1/N) tr(J J^T) = 1 exactly for J = W3 W2 W1 */
    r = compute("tr(W3 W2 W1 W1^T W2^T W3^T)", "ginibre", DW_WICK_AUTO, 1, 0);
    long lo, hi;
    dw_wick_result_range(r, &lo, &hi);
    CHECK(lo == 0 && hi == 0 && coef_long(r, 0) == 1);
    dw_wick_result_clear(r);
    /* complex ensembles: only even powers for a normalised single trace; same planar term as real Ginibre */
    static const char *words[] = {"tr(A A A^* A A^* A^*)", "tr(A A^* A A^* A A^*)", "tr(A B A^* B^*)",
                                  "tr(A A^* B B^* A B A^* B^*)", "tr(A^2 A^*^2 A A^*)"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        r = compute(words[i], "complex-ginibre", DW_WICK_AUTO, 1, 0);
        dw_wick_result_range(r, &lo, &hi);
        for (long e = lo; e <= hi; e++)
            if (e % 2) CHECK(!strcmp(dw_wick_result_coef(r, e), "0"));
        char rw[256];
        snprintf(rw, sizeof rw, "%s", words[i]);
        for (char *p = rw; (p = strstr(p, "^*")); p++) p[1] = 'T';
        dw_wick_result *q = compute(rw, "ginibre", DW_WICK_AUTO, 1, 0);
        CHECK(!strcmp(dw_wick_result_coef(q, 0), dw_wick_result_coef(r, 0)));
        dw_wick_result_clear(q);
        dw_wick_result_clear(r);
        r = compute(words[i], "gue", DW_WICK_AUTO, 1, 0);
        dw_wick_result_range(r, &lo, &hi);
        for (long e = lo; e <= hi; e++)
            if (e % 2) CHECK(!strcmp(dw_wick_result_coef(r, e), "0"));
        dw_wick_result_clear(r);
    }
    /* genus split: GUE tr(A^4) has chi 2 (2 gluings) and chi 0 (1), all orientable; GOE adds projective planes */
    r = compute("tr(A^4)", "goe", DW_WICK_PAIRINGS, 0, 0);
    const char *js = dw_wick_result_json(r);
    CHECK(strstr(js, "{\"chi\": 2, \"power\": 1, \"orientable\": \"2\", \"nonorientable\": \"0\"}") != NULL);
    CHECK(strstr(js, "{\"chi\": 1, \"power\": 0, \"orientable\": \"0\", \"nonorientable\": \"5\"}") != NULL);
    dw_wick_result_clear(r);
}

static void test_iid(void)
{
    char w[256];
    /* Gaussian moments through route 2 = real Ginibre through route 1 */
    for (int rep = 0; rep < 30; rep++) {
        int len = 2 + 2 * (int)rnd(5);
        random_word(w, sizeof w, len, 1 + (int)rnd(2), 1 + (len > 2 ? (int)rnd(2) : 0), 0);
        char ens[128];
        snprintf(ens, sizeof ens, "%s", strchr(w, 'B') && strchr(w, 'A') ? "A=moments:3,15,105,945,B=moments:3,15,105,945"
                                        : "moments:3,15,105,945");
        dw_wick_result *a = compute(w, ens, DW_WICK_AUTO, 0, 0);
        dw_wick_result *b = compute(w, "ginibre", DW_WICK_PAIRINGS, 0, 0);
        CHECK(a && !strcmp(dw_wick_result_route(a), "partitions"));
        CHECK(same(a, b));
        dw_wick_result_clear(a);
        dw_wick_result_clear(b);
    }
    /* E tr(A A^T A A^T) = 2N + 1 + (m4 - 3): rademacher m4 = 1, sparse:p m4 = 3/p, moments:7 */
    static const char *laws[] = {"rademacher", "sparse:0.25", "moments:7", "sparse:1"};
    static const char *c0[] = {"-1", "10", "5", "1"};
    for (int i = 0; i < 4; i++) {
        dw_wick_result *r = compute("tr(A A^T A A^T)", laws[i], DW_WICK_AUTO, 0, 0);
        CHECK(coef_long(r, 1) == 2);
        CHECK(r && !strcmp(dw_wick_result_coef(r, 0), c0[i]));
        dw_wick_result_clear(r);
    }
}

static void test_errors(void)
{
    static const struct { const char *expr, *ens, *needle; } bad[] = {
        {"tr(A A", NULL, "column 7"},
        {"tr(A))", NULL, "column 6"},
        {"tr(A)^T", NULL, "meaningless"},
        {"tr(A $)", NULL, "column 6"},
        {"A B", NULL, "expected a trace"},
        {"tr(A B)", "A=gue", "unknown letter 'B'"},
        {"tr(A B)", "A=gue,B=foo", "unknown ensemble 'foo'"},
        {"tr(A A)", "moments:0.5", "m4 < 1"},
        {"tr(A A)", "moments:2,3", "Hankel"},
        {"tr(A A)", "sparse:1.5", "(0, 1]"},
        {"tr(A^8)", "moments:3", "E xi^8"},
        {"tr(A^5000)", NULL, "4096"},
        {"", NULL, "no trace"},
        {"tr()", NULL, "empty word"},
        {"tr(A^)", NULL, "after '^'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dw_wick_opts *o = NULL;
        CHECK(dw_wick_opts_init(&o) == DW_OK);
        CHECK(dw_wick_opts_set_ensembles(o, bad[i].ens) == DW_OK);
        dw_wick_result *r = (dw_wick_result *)1;
        dw_status s = dw_wick_compute(o, bad[i].expr, &r);
        dw_wick_opts_clear(o);
        CHECK(s == DW_ERR_INVALID && r == NULL);
        int ok = strstr(dw_error_message(), bad[i].needle) != NULL;
        if (!ok) fprintf(stderr, "'%s': message '%s' lacks '%s'\n", bad[i].expr, dw_error_message(), bad[i].needle);
        CHECK(ok);
    }
    dw_wick_opts *o = NULL;
    CHECK(dw_wick_opts_init(&o) == DW_OK);
    dw_wick_result *r = NULL;
    CHECK(dw_wick_opts_set_route(o, DW_WICK_PAIRINGS) == DW_OK);
    CHECK(dw_wick_opts_set_ensembles(o, "goe") == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A^30)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "limit"));
    CHECK(dw_wick_opts_set_route(o, DW_WICK_PARTITIONS) == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A^30)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "limit 20"));
    CHECK(dw_wick_opts_set_route(o, DW_WICK_RECURSION) == DW_OK);
    CHECK(dw_wick_opts_set_ensembles(o, "ginibre") == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A A)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "recursion"));
    CHECK(dw_wick_compute(o, "tr((A A^T)^2000)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "verified"));
    CHECK(dw_wick_opts_set_ensembles(o, "A=goe,B=goe") == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A B)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "recursion"));
    CHECK(dw_wick_opts_set_route(o, DW_WICK_PAIRINGS) == DW_OK);
    CHECK(dw_wick_opts_set_ensembles(o, "rademacher") == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A^4)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "Gaussian"));
    /* the setters' own errors; a refused value leaves the option as it was */
    CHECK(dw_wick_opts_set_route(o, (dw_wick_route)9) == DW_ERR_INVALID && strstr(dw_error_message(), "route"));
    CHECK(dw_wick_opts_set_threads(o, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "threads: expected 0"));
    CHECK(dw_wick_opts_set_threads(o, 0) == DW_OK); /* all cores, as in every module (core.h) */
    CHECK(dw_wick_opts_set_threads(o, DW_WICK_THREADS_MAX + 1) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_threads(o, 2) == DW_OK);
    CHECK(dw_wick_opts_set_max_letters(o, 3) == DW_OK);
    CHECK(dw_wick_opts_set_ensembles(o, NULL) == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A^4)", &r) == DW_ERR_INVALID && strstr(dw_error_message(), "max_letters"));
    CHECK(dw_wick_opts_set_max_letters(o, 0) == DW_OK);
    CHECK(dw_wick_opts_set_max_pairings(o, 5) == DW_OK);
    CHECK(dw_wick_compute(o, "tr(A^4)", &r) == DW_OK && r);
    CHECK(strstr(dw_wick_result_json(r), "\"pairings\"") != NULL);
    dw_wick_result_clear(r);
    r = NULL;
    CHECK(dw_wick_opts_set_ensembles(NULL, "gue") == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_normalized(NULL, true) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_route(NULL, DW_WICK_AUTO) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_max_pairings(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_threads(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_set_max_letters(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_wick_opts_init(NULL) == DW_ERR_INVALID);
    dw_wick_opts_clear(NULL);
    CHECK(dw_wick_compute(o, "tr(A^4)", NULL) == DW_ERR_INVALID);
    CHECK(dw_wick_compute(NULL, "tr(A^4)", &r) == DW_OK && r); /* NULL options: the defaults */
    CHECK(!strcmp(dw_wick_result_coef(r, 1), "2"));
    dw_wick_result_clear(r);
    dw_wick_opts_clear(o);
    dw_wick_route rt = DW_WICK_AUTO;
    CHECK(dw_wick_route_parse("partitions", &rt) == DW_OK && rt == DW_WICK_PARTITIONS);
    CHECK(dw_wick_route_parse("x", &rt) == DW_ERR_INVALID && rt == DW_WICK_PARTITIONS);
    CHECK(strstr(dw_error_message(), "route: expected auto, pairings, partitions or recursion"));
    CHECK(dw_wick_route_parse(NULL, &rt) == DW_ERR_INVALID);
    dw_wick_expand_route er = DW_WICK_EXPAND_TREES;
    CHECK(dw_wick_expand_route_parse("conditional", &er) == DW_OK && er == DW_WICK_EXPAND_CONDITIONAL);
    CHECK(dw_wick_expand_route_parse("forest", &er) == DW_ERR_INVALID && er == DW_WICK_EXPAND_CONDITIONAL);
}

/* A polynomial network (every setter checked). */
static dw_wick_net *poly_net(int L, size_t nc, const char *const *c, const char *sw, const char *sb)
{
    dw_wick_net *net = NULL;
    CHECK(dw_wick_net_init(&net) == DW_OK);
    CHECK(dw_wick_net_set_depth(net, L) == DW_OK);
    CHECK(dw_wick_net_set_poly(net, nc, c) == DW_OK);
    CHECK(dw_wick_net_set_weight_var(net, sw) == DW_OK);
    CHECK(dw_wick_net_set_bias_var(net, sb) == DW_OK);
    return net;
}

static void test_expand(void)
{
    static const char *c1[] = {"0.5", "1", "0.5"}, *c2[] = {"0", "1", "0", "-0.25"}, *c3[] = {"1", "0", "1"};
    struct { int L; size_t nc; const char *const *c; const char *sw, *sb; } nets[] = {
        {0, 3, c1, "1.5", "0.25"}, {1, 3, c1, "1.5", "0.25"}, {2, 3, c1, "1", "0.1"},
        {1, 4, c2, "2", "0"},      {2, 3, c3, "0.5", "0.5"},  {1, 3, c3, "1/3", "2/7"}};
    const double x[] = {1.0, 0.5, -0.25}, y[] = {0.5, -1.0, 2.0};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        dw_wick_net *net = poly_net(nets[i].L, nets[i].nc, nets[i].c, nets[i].sw, nets[i].sb);
        dw_wick_expansion *a = NULL, *b = NULL;
        CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, true, x, y, 3, &a) == DW_OK);
        CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 3, &b) == DW_OK);
        dw_wick_net_clear(net);
        if (!a || !b) continue;
        CHECK(dw_wick_expansion_degree(a) == dw_wick_expansion_degree(b));
        CHECK(dw_wick_expansion_degree(a) == (nets[i].L >= 2 ? (nets[i].L - 1) * 1 + 0 : 0) ||
              dw_wick_expansion_degree(a) >= 1);
        for (int k = 0; k <= dw_wick_expansion_degree(a); k++) {
            char s[8192];
            snprintf(s, sizeof s, "%s", dw_wick_expansion_coef(a, k));
            CHECK(!strcmp(s, dw_wick_expansion_coef(b, k)));
        }
        /* constant term = the NNGP kernel */
        char spec[128];
        snprintf(spec, sizeof spec, "poly:%s", nets[i].c[0]);
        for (size_t k = 1; k < nets[i].nc; k++) {
            size_t l = strlen(spec);
            snprintf(spec + l, sizeof spec - l, ",%s", nets[i].c[k]);
        }
        dw_act *act = NULL;
        CHECK(dw_act_init(&act, spec) == DW_OK);
        double sw = strchr(nets[i].sw, '/') ? 1.0 / 3 : atof(nets[i].sw), sb = strchr(nets[i].sb, '/') ? 2.0 / 7 : atof(nets[i].sb);
        dw_net *kn = NULL;
        CHECK(dw_net_init(&kn) == DW_OK && dw_net_set_fc(kn, nets[i].L, act, true) == DW_OK);
        CHECK(dw_net_set_weight_var(kn, 1, &sw) == DW_OK && dw_net_set_bias_var(kn, 1, &sb) == DW_OK);
        double X[6], K[4];
        memcpy(X, x, sizeof x);
        memcpy(X + 3, y, sizeof y);
        CHECK(dw_kernel_gram(kn, NULL, X, 2, NULL, 2, 3, K, NULL, NULL) == DW_OK);
        dw_net_clear(kn);
        CHECK_CLOSE(dw_wick_expansion_coef_d(a, 0), K[1], 1e-12, 1e-14);
        dw_act_clear(act);
        /* a DOT drawing of the first term */
        const char *dot = NULL;
        CHECK(dw_wick_expansion_terms(a) > 0);
        CHECK(dw_wick_expansion_dot(a, 0, &dot) == DW_OK && dot && strstr(dot, "graph term {"));
        CHECK(dw_wick_expansion_dot(a, 1u << 30, &dot) == DW_ERR_INVALID);
        CHECK(strstr(dw_wick_expansion_json(a), "\"trees\"") != NULL);
        dw_wick_expansion_clear(a);
        dw_wick_expansion_clear(b);
    }
    /* a linear network has no 1/N terms: E f f = sw^{L+1} q + bias terms, exactly */
    static const char *lin[] = {"0", "1"};
    dw_wick_net *net = poly_net(3, 2, lin, "2", "0");
    dw_wick_expansion *a = NULL;
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 3, &a) == DW_OK);
    CHECK(a && dw_wick_expansion_degree(a) == 0);
    CHECK(a && !strcmp(dw_wick_expansion_coef(a, 0), "-8/3")); /* 2^4 <x,y>/3 = 16 (-1/2) / 3 */
    dw_wick_expansion_clear(a);
    /* errors */
    static const char *badc[] = {"1", "x"};
    CHECK(dw_wick_net_set_poly(net, 2, badc) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "poly: coefficient c1"));
    CHECK(dw_wick_net_set_poly(net, 0, lin) == DW_ERR_INVALID && strstr(dw_error_message(), "poly: expected 1 to 33"));
    CHECK(dw_wick_net_set_poly(net, 34, lin) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_poly(net, 2, NULL) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_weight_var(net, "-1") == DW_ERR_INVALID && strstr(dw_error_message(), "weight_var"));
    CHECK(dw_wick_net_set_bias_var(net, "1/0") == DW_ERR_INVALID && strstr(dw_error_message(), "bias_var"));
    CHECK(dw_wick_net_set_bias_var(net, NULL) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_depth(net, -1) == DW_ERR_INVALID && strstr(dw_error_message(), "depth"));
    CHECK(dw_wick_net_set_depth(net, 65) == DW_ERR_INVALID);
    /* refused values left the network as it was */
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 3, &a) == DW_OK);
    CHECK(a && !strcmp(dw_wick_expansion_coef(a, 0), "-8/3"));
    dw_wick_expansion_clear(a);
    a = (dw_wick_expansion *)1;
    CHECK(dw_wick_expand(net, (dw_wick_expand_route)5, false, x, y, 3, &a) == DW_ERR_INVALID && !a);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 0, &a) == DW_ERR_INVALID);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, NULL, 3, &a) == DW_ERR_INVALID);
    CHECK(dw_wick_expand(NULL, DW_WICK_EXPAND_TREES, false, x, y, 3, &a) == DW_ERR_INVALID);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 3, NULL) == DW_ERR_INVALID);
    const double nan_x[3] = {1.0, NAN, 0.0};
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, nan_x, y, 3, &a) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "not finite"));
    dw_wick_net_clear(net);
    CHECK(dw_wick_net_init(&net) == DW_OK);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 3, &a) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "depth: not set"));
    CHECK(dw_wick_net_set_depth(net, 1) == DW_OK);
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 3, &a) == DW_ERR_INVALID);
    CHECK(strstr(dw_error_message(), "poly: not set"));
    dw_wick_net_clear(net);
    dw_wick_net_clear(NULL);
    CHECK(dw_wick_net_init(NULL) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_depth(NULL, 1) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_poly(NULL, 2, lin) == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_weight_var(NULL, "1") == DW_ERR_INVALID);
    CHECK(dw_wick_net_set_bias_var(NULL, "1") == DW_ERR_INVALID);
    static const char *cube[] = {"0", "1", "1", "1"};
    net = poly_net(5, 4, cube, "1", "0");
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_TREES, false, x, y, 3, &a) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "conditional"));
    CHECK(dw_wick_expand(net, DW_WICK_EXPAND_CONDITIONAL, false, x, y, 3, &a) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "limit"));
    dw_wick_net_clear(net);
}

/* the by-genus part of a result's JSON (same layout for every route) */
static const char *genus_json(dw_wick_result *r)
{
    const char *j = r ? dw_wick_result_json(r) : NULL;
    const char *g = j ? strstr(j, "\"by_genus\"") : NULL;
    return g ? g : "(none)";
}

/* GOE (Ledoux) and real Ginibre recursions: = pairings with the same orientable / non-orientable split, the
 * published GOE moments (Ledoux 2009, p. 3), the gluing counts at length 40 and the Catalan leading term. */
static void test_real_recursions(void)
{
    char w[256];
    for (int p = 1; p <= 5; p++) {
        snprintf(w, sizeof w, "tr(A^%d)", 2 * p);
        dw_wick_result *r = compute(w, "goe", DW_WICK_RECURSION, 0, 0);
        dw_wick_result *q = compute(w, "goe", DW_WICK_PAIRINGS, 0, 0);
        CHECK(same(r, q));
        char g[4096];
        snprintf(g, sizeof g, "%s", genus_json(r));
        int ok = !strcmp(g, genus_json(q)) && strstr(g, "orientable");
        if (!ok) fprintf(stderr, "GOE %s: recursion and pairings split by genus differently\n", w);
        CHECK(ok);
        dw_wick_result_clear(r);
        dw_wick_result_clear(q);
    }
    for (int k = 1; k <= 6; k++) {
        snprintf(w, sizeof w, k % 2 ? "tr((A A^T)^%d)" : "tr((A^T A)^%d)", k);
        dw_wick_result *r = compute(w, "ginibre", DW_WICK_AUTO, k % 3 == 0, 0);
        dw_wick_result *q = compute(w, "ginibre", DW_WICK_PAIRINGS, k % 3 == 0, 0);
        CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
        CHECK(same(r, q));
        char g[4096];
        snprintf(g, sizeof g, "%s", genus_json(r));
        int ok = !strcmp(g, genus_json(q));
        if (!ok) fprintf(stderr, "real Ginibre %s: recursion and pairings split by genus differently\n", w);
        CHECK(ok);
        dw_wick_result_clear(r);
        dw_wick_result_clear(q);
    }
    /* N^4 E tr A^10 = 42N^5 + 386N^4 + 2290N^3 + 7150N^2 + 12143N + 8229 and N^5 E tr A^12 (Ledoux 2009) */
    static const long lit10[] = {42, 386, 2290, 7150, 12143, 8229}, lit12[] = {132, 1586, 12798, 58760, 167148, 258479, 166377};
    dw_wick_result *r = compute("tr(A^10)", "goe", DW_WICK_AUTO, 0, 0);
    CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
    for (int i = 0; i < 6; i++) CHECK(coef_long(r, 1 - i) == lit10[i]);
    dw_wick_result_clear(r);
    r = compute("tr(A^12)", "goe", DW_WICK_AUTO, 0, 0);
    for (int i = 0; i < 7; i++) CHECK(coef_long(r, 1 - i) == lit12[i]);
    dw_wick_result_clear(r);
    /* length 40: 2^20 39!! GOE gluings, 39!! real Ginibre pairings, Catalan(20) planar ones */
    r = compute("tr(A^40)", "goe", DW_WICK_AUTO, 0, 0);
    CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
    CHECK(!strcmp(dw_wick_result_coef(r, 1), "6564120420"));
    CHECK(strstr(dw_wick_result_json(r), "\"terms\": \"335367096786357081410764800000\"") != NULL);
    dw_wick_result_clear(r);
    r = compute("tr((A A^T)^20)", "ginibre", DW_WICK_AUTO, 0, 0);
    CHECK(r && !strcmp(dw_wick_result_route(r), "recursion"));
    CHECK(!strcmp(dw_wick_result_coef(r, 1), "6564120420"));
    CHECK(strstr(dw_wick_result_json(r), "\"terms\": \"319830986772877770815625\"") != NULL);
    dw_wick_result_clear(r);
    /* odd GOE words vanish */
    r = compute("tr(A A^T A)", "goe", DW_WICK_RECURSION, 0, 0);
    long lo = 0, hi = -1;
    if (r) dw_wick_result_range(r, &lo, &hi);
    CHECK(r && lo > hi);
    dw_wick_result_clear(r);
}

int main(void)
{
    test_routes_agree();
    test_harer_zagier();
    test_real_recursions();
    test_known_values();
    test_iid();
    test_errors();
    test_expand();
    return check_done("wick");
}
