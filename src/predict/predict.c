/* Predictions on given kernel matrices (theory.md 6; Neural Tangents' gp_inference, gradient_descent_mse and
 * gradient_descent_mse_ensemble): the dw_predict object, which holds the train side and its cached factorisations,
 * and the mean / covariance formulas written with dw_pred_apply. */
#include "predict/predict.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* dw_pred_init_owned's body; checked: K is known finite and symmetric (and trusted implies checked) */
static dw_status init_common(dw_predict **out, const dw_predict_opts *o, double *K, double *nngp, size_t n,
                             const double *Y, size_t k, bool trusted, bool checked)
{
    dw_status s = DW_OK;
    dw_predict *p = NULL;
    if (!out) s = dw_fail(DW_ERR_INVALID, "predict: NULL output");
    else if (!K) s = dw_fail(DW_ERR_INVALID, "k_train_train: NULL");
    else if (!Y) s = dw_fail(DW_ERR_INVALID, "y_train: NULL");
    else if (n == 0) s = dw_fail(DW_ERR_INVALID, "k_train_train: no training points (n = 0)");
    else if (k == 0) s = dw_fail(DW_ERR_INVALID, "y_train: no target columns (k = 0)");
    else if (n > (size_t)1 << 31 || k > (size_t)1 << 31)
        s = dw_fail(DW_ERR_INVALID, "k_train_train: n = %zu or k = %zu is too large", n, k);
    if (!s && !checked) s = dw_pred_check_finite(K, n, n, "k_train_train");
    if (!s && nngp && !trusted) s = dw_pred_check_finite(nngp, n, n, "nngp_train_train");
    if (!s) s = dw_pred_check_finite(Y, n, k, "y_train");
    /* symmetry to 1e-10 of the largest diagonal entry (the factorisations read the upper triangle), by 32 x 32
     * blocks (both blocks stay in cache): the largest |K_ij - K_ji| of a block without branches, and only a block
     * over the tolerance scanned again for its first such entry */
    double dmax = 0;
    for (size_t i = 0; !s && i < n; i++) dmax = fmax(dmax, fabs(K[i * n + i]));
    const double tol = 1e-10 * dmax;
    for (size_t i0 = 0; i0 < n && !s && !checked; i0 += 32)
        for (size_t j0 = 0; j0 <= i0 && !s; j0 += 32) {
            double worst = 0;
            for (size_t i = i0; i < i0 + 32 && i < n; i++)
                for (size_t j = j0; j < j0 + 32 && j < i; j++) {
                    const double d = fabs(K[i * n + j] - K[j * n + i]);
                    worst = d > worst ? d : worst;
                }
            if (!(worst > tol)) continue;
            for (size_t i = i0; i < i0 + 32 && i < n && !s; i++)
                for (size_t j = j0; j < j0 + 32 && j < i; j++) {
                    const double a = K[i * n + j], b = K[j * n + i];
                    if (a != b && fabs(a - b) > tol) {
                        s = dw_fail(DW_ERR_INVALID,
                                    "k_train_train: not symmetric: entry (%zu, %zu) = %.17g but (%zu, %zu) = %.17g", i,
                                    j, a, j, i, b);
                        break;
                    }
                }
        }
    if (!s && out) {
        p = dw_calloc(1, sizeof *p, "predict object");
        if (!p) s = DW_ERR_NOMEM;
    }
    if (!s) {
        p->Y = dw_alloc(n * k, sizeof *p->Y, "y_train copy");
        if (!p->Y) s = DW_ERR_NOMEM;
    }
    if (s) {
        dw_pred_free(K);
        dw_pred_free(nngp);
        free(p);
        if (out) *out = NULL;
        return s;
    }
    if (o) p->o = *o;
    else {
        p->o.learning_rate = 1.0;
        p->o.t = INFINITY;
    }
    p->n = n;
    p->k = k;
    p->A = K;
    p->nngp = nngp;
    p->trusted = trusted;
    memcpy(p->Y, Y, n * k * sizeof *p->Y);
    double tr = 0;
    for (size_t i = 0; i < n; i++) tr += K[i * n + i];
    p->trace_k = tr;
    /* Neural Tangents: diag_reg * trace / n unless absolute */
    p->lambda = p->o.absolute ? p->o.diag_reg : p->o.diag_reg * (tr / (double)n);
    for (size_t i = 0; i < n; i++) K[i * n + i] += p->lambda;
    dw_pred_info_reset(&p->info);
    p->info.jitter = p->lambda;
    *out = p;
    return DW_OK;
}

dw_status dw_pred_init_owned(dw_predict **out, const dw_predict_opts *o, double *K, double *nngp, size_t n,
                             const double *Y, size_t k, bool trusted)
{
    return init_common(out, o, K, nngp, n, Y, k, trusted, trusted);
}

/* The copy of the user's train kernel and its checks in one pass (on the worker pool), by 32 x 32 blocks: block
 * row b copies the blocks (b, c) and (c, b) for c <= b, each entry read once, and says whether every entry was
 * finite and each mirrored pair within the tolerance (the checks of init_common, whose sequential scans name the
 * first failing entry when this pass finds one). */
#define CC_BLOCK 32
typedef struct {
    const double *src;
    double *dst;
    size_t n;
    double tol;
    bool *bad; /* per block row */
} cc_ctx;

static dw_status cc_row(void *vctx, size_t b, int tid)
{
    (void)tid;
    const cc_ctx *c = vctx;
    const double *src = c->src;
    const size_t n = c->n, i0 = b * CC_BLOCK, i1 = i0 + CC_BLOCK < n ? i0 + CC_BLOCK : n;
    /* per column of the block: independent chains (no serial reduction); nf becomes NaN at a non-finite entry */
    double nf[CC_BLOCK] = {0}, w[CC_BLOCK] = {0};
    for (size_t j0 = 0; j0 <= i0; j0 += CC_BLOCK) {
        const size_t j1 = j0 + CC_BLOCK < n ? j0 + CC_BLOCK : n, jb = j1 - j0;
        for (size_t i = i0; i < i1; i++) /* the block (b, c): rows of the lower triangle */
            memcpy(c->dst + i * n + j0, src + i * n + j0, jb * sizeof *src);
        for (size_t j = j0; j < j1 && j0 < i0; j++) /* its mirror (c, b), c < b */
            memcpy(c->dst + j * n + i0, src + j * n + i0, (i1 - i0) * sizeof *src);
        for (size_t i = i0; i < i1; i++) {
            const double *ar = src + i * n + j0, *tc = src + j0 * n + i;
            const size_t je = j0 == i0 ? i - i0 : jb; /* the diagonal block: the pairs below the diagonal */
            for (size_t q = 0; q < je; q++) {
                const double x = ar[q], t = tc[q * n], d = fabs(x - t);
                nf[q] += (x - x) + (t - t);
                w[q] = d > w[q] ? d : w[q];
            }
            nf[0] += src[i * n + i] - src[i * n + i];
        }
    }
    bool bad = false;
    for (size_t q = 0; q < CC_BLOCK; q++) bad = bad || !(nf[q] == 0) || w[q] > c->tol;
    c->bad[b] = bad;
    return DW_OK;
}

static dw_status check_copy(const double *src, double *dst, size_t n, int threads, bool *ok)
{
    double dmax = 0;
    for (size_t i = 0; i < n; i++) dmax = fmax(dmax, fabs(src[i * n + i]));
    const size_t blocks = (n + CC_BLOCK - 1) / CC_BLOCK;
    bool *bad = dw_alloc(blocks, sizeof *bad, "k_train_train: checks");
    if (!bad) return DW_ERR_NOMEM;
    cc_ctx c = {src, dst, n, 1e-10 * dmax, bad};
    dw_status s = dw_par_for(blocks, threads, cc_row, &c);
    *ok = true;
    for (size_t b = 0; b < blocks; b++) *ok = *ok && !bad[b];
    free(bad);
    return s;
}

static double *copy_large(const double *a, size_t count, const char *what)
{
    if (dw_core_check_alloc((double)count * sizeof(double), what)) return NULL;
    double *c = dw_core_alloc_large(count * sizeof *c, what);
    if (c) memcpy(c, a, count * sizeof *c);
    return c;
}

dw_status dw_predict_init(dw_predict **out, const dw_predict_opts *o, const double *k_train_train,
                          const double *nngp_train_train, size_t n, const double *y_train, size_t k)
{
    if (out) *out = NULL;
    if (!out) return dw_fail(DW_ERR_INVALID, "predict: NULL output");
    if (!k_train_train) return dw_fail(DW_ERR_INVALID, "k_train_train: NULL");
    if (n && n > SIZE_MAX / sizeof(double) / n) return dw_fail(DW_ERR_NOMEM, "k_train_train: n = %zu is too large", n);
    if (dw_core_check_alloc((double)n * (double)n * sizeof(double), "k_train_train copy")) return DW_ERR_NOMEM;
    double *K = dw_core_alloc_large(n * n * sizeof *K, "k_train_train copy");
    if (!K) return DW_ERR_NOMEM;
    bool checked = false;
    dw_status s = check_copy(k_train_train, K, n, o ? o->threads : 0, &checked);
    if (s) {
        dw_pred_free(K);
        return s;
    }
    double *G = NULL;
    if (nngp_train_train) {
        G = copy_large(nngp_train_train, n * n, "nngp_train_train copy");
        if (!G) {
            dw_pred_free(K);
            return DW_ERR_NOMEM;
        }
    }
    return init_common(out, o, K, G, n, y_train, k, false, checked);
}

void dw_predict_clear(dw_predict *p)
{
    if (!p) return;
    dw_pred_free(p->A);
    dw_pred_free(p->nngp);
    dw_pred_free(p->F);
    dw_core_free_large(p->Fs);
    dw_pred_free(p->Q);
    free(p->ev);
    free(p->Y);
    free(p);
}

dw_status dw_predict_get_info(dw_predict *p, dw_predict_info *info)
{
    if (!p || !info) return dw_fail(DW_ERR_INVALID, "predict info: NULL %s", p ? "info" : "predict object");
    dw_status s = dw_pred_diagnostics(p);
    if (s) return s;
    *info = p->info;
    return DW_OK;
}

static double tau_of(const dw_predict *p, double t)
{
    return p->o.learning_rate * t / ((double)p->n * (double)p->k);
}

/* a (r x c) transposed into a fresh c x r array */
static double *transpose(const double *a, size_t r, size_t c, const char *what)
{
    if (dw_core_check_alloc((double)r * (double)c * sizeof(double), what)) return NULL;
    double *t = dw_core_alloc_large(r * c * sizeof *t, what);
    if (!t) return NULL;
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
    return t;
}

static dw_status check_common(dw_predict *p, double t, const char *who)
{
    if (!p) return dw_fail(DW_ERR_INVALID, "%s: NULL predict object", who);
    return dw_pred_check_t(t, "t");
}

/* Train-set outputs of the ensemble (Neural Tangents' x_test = None). */
static dw_status train_mean_cov(dw_predict *p, double t, double *mean, double *cov)
{
    const size_t n = p->n, k = p->k;
    dw_status s = DW_OK;
    if (isinf(t)) {
        if (mean) memcpy(mean, p->Y, n * k * sizeof *mean);
        if (cov) memset(cov, 0, n * n * sizeof *cov);
        return DW_OK;
    }
    const double tau = tau_of(p, t);
    if (mean && (s = dw_pred_apply(p, DW_F_NEG_EXPM1, tau, p->Y, k, mean))) return s;
    if (!cov) return DW_OK;
    if (!p->nngp) {
        /* V ev+ exp(-2 ev+ tau) V^T: apply to the identity */
        memset(cov, 0, n * n * sizeof *cov);
        for (size_t i = 0; i < n; i++) cov[i * n + i] = 1.0;
        return dw_pred_apply(p, DW_F_EV_EXP2, tau, cov, n, cov);
    }
    double *E = dw_core_alloc_large(n * n * sizeof *E, "exp(-tau k_train_train)");
    double *S = E ? dw_core_alloc_large(n * n * sizeof *S, "covariance work space") : NULL;
    if (!S) {
        dw_pred_free(E);
        return DW_ERR_NOMEM;
    }
    memset(E, 0, n * n * sizeof *E);
    for (size_t i = 0; i < n; i++) E[i * n + i] = 1.0;
    s = dw_pred_apply(p, DW_F_EXP, tau, E, n, E);
    if (!s) {
        const int saved = dw_pred_threads_begin(p->o.threads);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, p->nngp, (int)n, E,
                    (int)n, 0.0, S, (int)n);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, E, (int)n, S, (int)n, 0.0,
                    cov, (int)n);
        dw_pred_threads_end(saved);
    }
    dw_pred_free(E);
    dw_pred_free(S);
    return s;
}

/* mean = k_test_train f(A) Y (m x k). kdiag: the test kernel is the train kernel itself, p->A with its diagonal
 * replaced by kdiag (the kernel before lambda was added) while the product is formed: no n x n copy, and the
 * same values, so the same bits as with a copy. */
static dw_status mean_of(dw_predict *p, dw_pred_fn f, double tau, const double *k_test_train, size_t m,
                         const double *kdiag, double *mean)
{
    const size_t n = p->n, k = p->k;
    double *W = dw_alloc(n * k, sizeof *W, "A^{-1} y_train");
    if (!W) return DW_ERR_NOMEM;
    dw_status s = dw_pred_apply(p, f, tau, p->Y, k, W);
    if (!s) {
        if (kdiag)
            for (size_t i = 0; i < n; i++) p->A[i * n + i] = kdiag[i];
        /* the test kernel checked finite on the way unless trusted (or it is A itself) */
        s = dw_pred_product(kdiag ? p->A : k_test_train, m, n, W, k, p->o.threads,
                            kdiag || p->trusted ? NULL : "k_test_train", mean);
        if (kdiag)
            for (size_t i = 0; i < n; i++) p->A[i * n + i] = kdiag[i] + p->lambda;
    }
    free(W);
    return s;
}

dw_status dw_pred_mean_train(dw_predict *p, double t, const double *kdiag, double *mean)
{
    dw_status s = check_common(p, t, "predict");
    if (s) return s;
    const bool inf = isinf(t);
    return mean_of(p, inf ? DW_F_INV : DW_F_NEG_INV_EXPM1, inf ? 0.0 : tau_of(p, t), NULL, p->n, kdiag, mean);
}

dw_status dw_predict_mean_cov(dw_predict *p, double t, const double *k_test_train, const double *nngp_test_train,
                              const double *k_test_test, size_t m, double *mean, double *cov)
{
    dw_status s = check_common(p, t, "predict");
    if (s) return s;
    if (!mean && !cov) return dw_fail(DW_ERR_INVALID, "predict: neither mean nor cov asked for");
    const size_t n = p->n;
    if (!k_test_train) {
        if (m != n)
            return dw_fail(DW_ERR_INVALID, "k_test_train: none (train-set outputs) but m = %zu != n = %zu", m, n);
        return train_mean_cov(p, t, mean, cov);
    }
    if (m == 0) return dw_fail(DW_ERR_INVALID, "k_test_train: no test points (m = 0)");
    /* with a mean, its product checks k_test_train on the way (product.c) */
    if (!p->trusted && !mean && (s = dw_pred_check_finite(k_test_train, m, n, "k_test_train"))) return s;
    if (cov) {
        if (!k_test_test) return dw_fail(DW_ERR_INVALID, "k_test_test: needed for the covariance");
        if (p->nngp && !nngp_test_train)
            return dw_fail(DW_ERR_INVALID, "nngp_test_train: the NTK covariance needs the NNGP test-train kernel");
        if ((s = dw_pred_check_finite(k_test_test, m, m, "k_test_test"))) return s;
        if (p->nngp && (s = dw_pred_check_finite(nngp_test_train, m, n, "nngp_test_train"))) return s;
    }
    const bool inf = isinf(t);
    const double tau = inf ? 0.0 : tau_of(p, t);
    const dw_pred_fn f = inf ? DW_F_INV : DW_F_NEG_INV_EXPM1;
    if (mean && (s = mean_of(p, f, tau, k_test_train, m, NULL, mean))) return s;
    if (!cov) return DW_OK;
    double *Kt = transpose(k_test_train, m, n, "k_test_train transposed");
    if (!Kt) return DW_ERR_NOMEM;
    if (!p->nngp) {
        /* cov = K_tt - K_td g(A) K_td^T with g = A^{-1} or -expm1(-2 ev tau)/ev */
        double *Z = dw_core_alloc_large(n * m * sizeof *Z, "covariance work space");
        if (!Z) s = DW_ERR_NOMEM;
        if (!s) s = dw_pred_apply(p, f, 2.0 * tau, Kt, m, Z);
        if (!s) {
            memcpy(cov, k_test_test, m * m * sizeof *cov);
            const int saved = dw_pred_threads_begin(p->o.threads);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)m, (int)n, -1.0, k_test_train, (int)n,
                        Z, (int)m, 1.0, cov, (int)m);
            dw_pred_threads_end(saved);
        }
        dw_pred_free(Z);
        dw_pred_free(Kt);
        return s;
    }
    /* NTK form: cov = K_tt + T1^T K T1 - T2 - T2^T, T1 = g(A) Theta_td^T, T2 = Theta_td g(A) K_td^T */
    double *Gt = transpose(nngp_test_train, m, n, "nngp_test_train transposed");
    double *T1 = Gt ? dw_core_alloc_large(n * m * sizeof *T1, "covariance work space") : NULL;
    double *S = T1 ? dw_core_alloc_large(n * m * sizeof *S, "covariance work space") : NULL;
    double *T2 = S ? dw_core_alloc_large(m * m * sizeof *T2, "covariance work space") : NULL;
    if (!T2) s = DW_ERR_NOMEM;
    if (!s) s = dw_pred_apply(p, f, tau, Kt, m, T1);
    if (!s) s = dw_pred_apply(p, f, tau, Gt, m, S); /* S = g(A) K_td^T */
    if (!s) {
        const int saved = dw_pred_threads_begin(p->o.threads);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)m, (int)n, 1.0, k_test_train, (int)n, S,
                    (int)m, 0.0, T2, (int)m);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)n, 1.0, p->nngp, (int)n, T1,
                    (int)m, 0.0, S, (int)m);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)n, 1.0, T1, (int)m, S, (int)m, 0.0,
                    cov, (int)m);
        dw_pred_threads_end(saved);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++) cov[i * m + j] += k_test_test[i * m + j] - T2[i * m + j] - T2[j * m + i];
    }
    dw_pred_free(Kt);
    dw_pred_free(Gt);
    dw_pred_free(T1);
    dw_pred_free(S);
    dw_pred_free(T2);
    return s;
}

dw_status dw_predict_gd_mse(dw_predict *p, double t, const double *fx_train_0, const double *k_test_train,
                            const double *fx_test_0, size_t m, double *fx_train_t, double *fx_test_t)
{
    dw_status s = check_common(p, t, "gradient_descent_mse");
    if (s) return s;
    const size_t n = p->n, k = p->k;
    if (!fx_train_0 != !fx_train_t)
        return dw_fail(DW_ERR_INVALID, "fx_train_0: give it together with fx_train_t (or neither)");
    if (!fx_test_0 != !fx_test_t || !fx_test_0 != !k_test_train)
        return dw_fail(DW_ERR_INVALID, "fx_test_0: give it together with k_test_train and fx_test_t (or none of them)");
    if (!fx_train_t && !fx_test_t) return dw_fail(DW_ERR_INVALID, "gradient_descent_mse: no output asked for");
    if (fx_train_0 && (s = dw_pred_check_finite(fx_train_0, n, k, "fx_train_0"))) return s;
    if (fx_test_0) {
        if (m == 0) return dw_fail(DW_ERR_INVALID, "k_test_train: no test points (m = 0)");
        if ((s = dw_pred_check_finite(fx_test_0, m, k, "fx_test_0"))) return s;
        if ((s = dw_pred_check_finite(k_test_train, m, n, "k_test_train"))) return s;
    }
    /* R = f_0(train) - Y (fx_train_0 None: -Y) */
    double *R = dw_alloc(2 * n * k, sizeof *R, "gradient descent work space");
    if (!R) return DW_ERR_NOMEM;
    double *W = R + n * k;
    for (size_t i = 0; i < n * k; i++) R[i] = (fx_train_0 ? fx_train_0[i] : 0.0) - p->Y[i];
    const bool inf = isinf(t);
    const double tau = inf ? 0.0 : tau_of(p, t);
    if (fx_train_t) {
        if (inf) memcpy(fx_train_t, p->Y, n * k * sizeof *fx_train_t);
        else if (!(s = dw_pred_apply(p, DW_F_NEG_EXPM1, tau, R, k, W)))
            for (size_t i = 0; i < n * k; i++) fx_train_t[i] = fx_train_0[i] - W[i];
    }
    if (!s && fx_test_t) {
        /* f_0(test) - K_td g(A) R, g = A^{-1} (t infinite) or -expm1(-ev tau)/ev */
        s = dw_pred_apply(p, inf ? DW_F_INV : DW_F_NEG_INV_EXPM1, tau, R, k, W);
        if (!s) {
            memcpy(fx_test_t, fx_test_0, m * k * sizeof *fx_test_t);
            const int saved = dw_pred_threads_begin(p->o.threads);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)k, (int)n, -1.0, k_test_train, (int)n,
                        W, (int)k, 1.0, fx_test_t, (int)k);
            dw_pred_threads_end(saved);
        }
    }
    free(R);
    return s;
}
