/* predict, solver cg (src/predict/cg.c): the matrix-free route equals the dense one within cond(A) tol; the RPCholesky
 * preconditioner cuts the iterations (full rank: at most 3); thread counts agree bit for bit; the covariance (NNGP
 * and NTK forms, m above the block of test columns solved at once) equals the dense one within cond(A) tol, and is
 * refused at a finite t; a run that does not converge within max_iter is an error; auto says what it chose. A finite
 * t (Lanczos) equals the dense eigendecomposition route. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <string.h>

static int has(const char *needle) { return strstr(dw_error_message(), needle) != NULL; }

static double reldiff(const double *a, const double *b, int n)
{
    double s = 1.0, d = 0.0;
    for (int i = 0; i < n; i++) {
        s = fmax(s, fabs(b[i]));
        d = fmax(d, fabs(a[i] - b[i]));
    }
    return d / s;
}

static void test_cg(void)
{
    dw_act *act;
    dw_net *net;
    CHECK(dw_act_init(&act, "erf") == DW_OK && dw_net_init(&net) == DW_OK);
    CHECK(dw_net_set_fc(net, 3, act, true) == DW_OK);
    const double wv = 2.5, bv = 0.05;
    CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
    enum { n = 100, m = 40, d = 4, k = 3 };
    static double X[n * d], T[m * d], y[n * k], ref[m * k], got[m * k], got2[m * k];
    for (int i = 0; i < n * d; i++) X[i] = sin(0.37 * i * i + 0.1 * i);
    for (int i = 0; i < m * d; i++) T[i] = cos(0.71 * i * i);
    for (int i = 0; i < n * k; i++) y[i] = sin(1.7 * i);
    dw_predict_opts *o;
    dw_predict_info *info;
    CHECK(dw_predict_opts_init(&o) == DW_OK && dw_predict_info_init(&info) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, 1e-4) == DW_OK);
    CHECK(dw_predict_opts_set_tol(o, 1e-12) == DW_OK);
    for (int ntk = 0; ntk < 2; ntk++) {
        CHECK(dw_predict_opts_set_kind(o, ntk ? "ntk" : "nngp") == DW_OK);
        CHECK(dw_predict_opts_set_solver(o, "cholesky") == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, ref, NULL, info) == DW_OK);
        const double rcond = dw_predict_info_rcond(info);
        CHECK(dw_predict_opts_set_solver(o, "cg") == DW_OK);
        size_t iters[3];
        const size_t ranks[3] = {0, 15, 400};
        for (int r = 0; r < 3; r++) {
            CHECK(dw_predict_opts_set_rank(o, ranks[r]) == DW_OK);
            CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, info) == DW_OK);
            iters[r] = dw_predict_info_iterations(info);
            CHECK(strcmp(dw_predict_info_solver(info), "cg") == 0);
            CHECK(dw_predict_info_residual(info) <= 1e-11); /* the true residual, to the tolerance and rounding */
            CHECK(dw_predict_info_rank(info) <= (ranks[r] < n ? ranks[r] : n));
            /* |x - x*| <= cond(A) |r| / |A| -type bound: relative 1e-12 / rcond, with a margin of 10 */
            CHECK(reldiff(got, ref, m * k) < 10 * 1e-12 / rcond + 1e-12);
        }
        CHECK(iters[1] < iters[0] && iters[2] <= 3);
        /* the covariance: cg on the test columns against the dense route (m = 70 > 64: two blocks of columns) */
        enum { mc = 70 };
        static double Tc[mc * d], mref[mc * k], mcg[mc * k], cref[mc * mc], ccg[mc * mc], ccg2[mc * mc];
        for (int i = 0; i < mc * d; i++) Tc[i] = cos(0.53 * i * i + 0.2);
        CHECK(dw_predict_opts_set_solver(o, "cholesky") == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, Tc, mc, d, mref, cref, NULL) == DW_OK);
        CHECK(dw_predict_opts_set_solver(o, "cg") == DW_OK && dw_predict_opts_set_rank(o, 15) == DW_OK);
        CHECK(dw_predict_opts_set_threads(o, 1) == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, Tc, mc, d, mcg, ccg, NULL) == DW_OK);
        CHECK(reldiff(mcg, mref, mc * k) < 10 * 1e-12 / rcond + 1e-12);
        CHECK(reldiff(ccg, cref, mc * mc) < 10 * 1e-12 / rcond + 1e-12);
        CHECK(dw_predict_opts_set_threads(o, 2) == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, Tc, mc, d, mcg, ccg2, NULL) == DW_OK);
        CHECK(memcmp(ccg, ccg2, sizeof ccg) == 0);
        CHECK(dw_predict_opts_set_threads(o, 0) == DW_OK);
        /* threads: bit-identical (each row block is one work item summing its tiles in order) */
        CHECK(dw_predict_opts_set_rank(o, 15) == DW_OK);
        CHECK(dw_predict_opts_set_threads(o, 1) == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, NULL) == DW_OK);
        CHECK(dw_predict_opts_set_threads(o, 2) == DW_OK);
        CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got2, NULL, NULL) == DW_OK);
        CHECK(memcmp(got, got2, sizeof got) == 0);
    }
    /* refused: the covariance at a finite t; not converged within max_iter */
    double cov[m * m];
    CHECK(dw_predict_opts_set_t(o, 1.0) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, cov, NULL) == DW_ERR_INVALID && has("return_cov"));
    CHECK(dw_predict_opts_set_t(o, INFINITY) == DW_OK);
    CHECK(dw_predict_opts_set_rank(o, 0) == DW_OK && dw_predict_opts_set_max_iter(o, 2) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, NULL) == DW_ERR_RANGE &&
          has("not converged after 2 iterations"));
    /* auto picks cholesky when it fits, and says so */
    CHECK(dw_predict_opts_set_solver(o, "auto") == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, info) == DW_OK);
    CHECK(strstr(dw_predict_info_reason(info), "auto: cholesky (the dense route needs") != NULL);
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

/* Lanczos at a finite t == the dense route (eigendecomposition), both kernels, several times; the zero column. */
static void test_lanczos(void)
{
    dw_act *act;
    dw_net *net;
    CHECK(dw_act_init(&act, "gelu") == DW_OK && dw_net_init(&net) == DW_OK); /* a closed form */
    CHECK(dw_net_set_fc(net, 2, act, true) == DW_OK);
    const double wv = 1.8, bv = 0.2;
    CHECK(dw_net_set_weight_var(net, 1, &wv) == DW_OK && dw_net_set_bias_var(net, 1, &bv) == DW_OK);
    enum { n = 60, m = 20, d = 3, k = 3 };
    static double X[n * d], T[m * d], y[n * k], ref[m * k], got[m * k];
    for (int i = 0; i < n * d; i++) X[i] = sin(0.53 * i * i + 0.3);
    for (int i = 0; i < m * d; i++) T[i] = cos(0.29 * i * i);
    for (int i = 0; i < n * k; i++) y[i] = i % k == 2 ? 0.0 : cos(0.9 * i); /* column 2 is zero */
    dw_predict_opts *o;
    dw_predict_info *info;
    CHECK(dw_predict_opts_init(&o) == DW_OK && dw_predict_info_init(&info) == DW_OK);
    CHECK(dw_predict_opts_set_diag_reg(o, 1e-3) == DW_OK && dw_predict_opts_set_tol(o, 1e-13) == DW_OK);
    CHECK(dw_predict_opts_set_learning_rate(o, 0.5) == DW_OK);
    const double ts[3] = {0.5, 40.0, 3000.0};
    for (int ntk = 0; ntk < 2; ntk++)
        for (int it = 0; it < 3; it++) {
            CHECK(dw_predict_opts_set_kind(o, ntk ? "ntk" : "nngp") == DW_OK);
            CHECK(dw_predict_opts_set_t(o, ts[it]) == DW_OK);
            CHECK(dw_predict_opts_set_solver(o, "cholesky") == DW_OK);
            CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, ref, NULL, NULL) == DW_OK);
            CHECK(dw_predict_opts_set_solver(o, "cg") == DW_OK);
            CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, info) == DW_OK);
            CHECK(strcmp(dw_predict_info_solver(info), "lanczos") == 0);
            CHECK(reldiff(got, ref, m * k) < 1e-11);
            CHECK(dw_predict_info_iterations(info) >= 2 && dw_predict_info_iterations(info) < n);
            for (int a = 0; a < m; a++) CHECK(got[a * k + 2] == 0.0);
        }
    CHECK(dw_predict_opts_set_max_iter(o, 2) == DW_OK);
    CHECK(dw_predict_regress(net, o, X, n, y, k, T, m, d, got, NULL, NULL) == DW_ERR_RANGE &&
          has("lanczos: not converged after 2 steps"));
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
}

int main(void)
{
    test_cg();
    test_lanczos();
    return check_done("predict_cg");
}
