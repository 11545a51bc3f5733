/* The thin product mean = K* W (K* m x n, W n x k with few columns: the class columns of a mean), read once.
 * dgemm would copy (pack) all of K* for a few columns; here every entry is one sequential chain of fused
 * multiply-adds over j = 0..n-1, so its bits depend neither on the thread count nor on the instruction set (the
 * AVX2 kernel and the portable one, C's fma, round alike), and each entry is within gamma_n |K*| |W| of the exact
 * product. Rows go by blocks to the worker pool. A non-finite entry of K* makes its whole row of the product
 * non-finite (inf * 0 is NaN and a non-finite term never leaves a sum), so the finiteness check of K* costs only a
 * look at the product: only a non-finite row of it is scanned again for the entry to name. */
#include "predict/predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(DW_HAVE_AVX2) && defined(__GNUC__)
#include <immintrin.h>
#endif

#define PR_ROWS 4  /* rows of K* per kernel call */
#define PR_COLS 12 /* columns of W per kernel call: three vectors of four */
#define PR_BLOCK 32 /* rows per item of the worker pool */

typedef void (*pr_kernel)(const double *const *rows, size_t n, const double *Wp, size_t kp, double *acc);

/* acc (PR_ROWS x PR_COLS) = rows (PR_ROWS rows of n) times Wp[:, 0:PR_COLS] (row stride kp) */
static void kernel_portable(const double *const *rows, size_t n, const double *Wp, size_t kp, double *acc)
{
    for (int i = 0; i < PR_ROWS * PR_COLS; i++) acc[i] = 0.0;
    for (size_t j = 0; j < n; j++) {
        const double *w = Wp + j * kp;
        for (int r = 0; r < PR_ROWS; r++) {
            const double x = rows[r][j];
            for (int c = 0; c < PR_COLS; c++) acc[r * PR_COLS + c] = fma(x, w[c], acc[r * PR_COLS + c]);
        }
    }
}

#if defined(DW_HAVE_AVX2) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void kernel_avx2(const double *const *rows, size_t n, const double *Wp,
                                                            size_t kp, double *acc)
{
    __m256d a[PR_ROWS][3];
    for (int r = 0; r < PR_ROWS; r++)
        for (int v = 0; v < 3; v++) a[r][v] = _mm256_setzero_pd();
    const double *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
    for (size_t j = 0; j < n; j++) {
        const double *w = Wp + j * kp;
        const __m256d w0 = _mm256_loadu_pd(w), w1 = _mm256_loadu_pd(w + 4), w2 = _mm256_loadu_pd(w + 8);
        __m256d x = _mm256_broadcast_sd(r0 + j);
        a[0][0] = _mm256_fmadd_pd(x, w0, a[0][0]);
        a[0][1] = _mm256_fmadd_pd(x, w1, a[0][1]);
        a[0][2] = _mm256_fmadd_pd(x, w2, a[0][2]);
        x = _mm256_broadcast_sd(r1 + j);
        a[1][0] = _mm256_fmadd_pd(x, w0, a[1][0]);
        a[1][1] = _mm256_fmadd_pd(x, w1, a[1][1]);
        a[1][2] = _mm256_fmadd_pd(x, w2, a[1][2]);
        x = _mm256_broadcast_sd(r2 + j);
        a[2][0] = _mm256_fmadd_pd(x, w0, a[2][0]);
        a[2][1] = _mm256_fmadd_pd(x, w1, a[2][1]);
        a[2][2] = _mm256_fmadd_pd(x, w2, a[2][2]);
        x = _mm256_broadcast_sd(r3 + j);
        a[3][0] = _mm256_fmadd_pd(x, w0, a[3][0]);
        a[3][1] = _mm256_fmadd_pd(x, w1, a[3][1]);
        a[3][2] = _mm256_fmadd_pd(x, w2, a[3][2]);
    }
    for (int r = 0; r < PR_ROWS; r++)
        for (int v = 0; v < 3; v++) _mm256_storeu_pd(acc + r * PR_COLS + 4 * v, a[r][v]);
}
#endif

static pr_kernel pick_kernel(void)
{
#if defined(DW_HAVE_AVX2) && defined(__GNUC__)
    const char *env = getenv("DW_NO_SIMD");
    if (!(env && *env && strcmp(env, "0") != 0)) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernel_avx2;
    }
#endif
    return kernel_portable;
}

typedef struct {
    const double *K, *Wp;
    size_t m, n, k, kp;
    const char *what; /* NULL: K* is known finite */
    pr_kernel kern;
    double *out;
} pr_ctx;

static dw_status pr_block(void *vctx, size_t b, int tid)
{
    (void)tid;
    const pr_ctx *c = vctx;
    const size_t i0 = b * PR_BLOCK, i1 = i0 + PR_BLOCK < c->m ? i0 + PR_BLOCK : c->m;
    double acc[PR_ROWS * PR_COLS];
    for (size_t i = i0; i < i1; i += PR_ROWS) {
        const double *rows[PR_ROWS];
        for (int r = 0; r < PR_ROWS; r++) rows[r] = c->K + (i + (size_t)r < i1 ? i + (size_t)r : i) * c->n;
        for (size_t c0 = 0; c0 < c->k; c0 += PR_COLS) {
            c->kern(rows, c->n, c->Wp + c0, c->kp, acc);
            for (size_t r = 0; r < PR_ROWS && i + r < i1; r++)
                for (size_t q = 0; q < PR_COLS && c0 + q < c->k; q++)
                    c->out[(i + r) * c->k + c0 + q] = acc[r * PR_COLS + q];
        }
        for (size_t r = 0; c->what && r < PR_ROWS && i + r < i1; r++) {
            const double *o = c->out + (i + r) * c->k;
            bool finite = true;
            for (size_t q = 0; q < c->k; q++) finite = finite && isfinite(o[q]);
            for (size_t j = 0; !finite && j < c->n; j++) /* the row's first non-finite entry (none: an overflow) */
                if (!isfinite(c->K[(i + r) * c->n + j]))
                    return dw_fail(DW_ERR_INVALID, "%s: entry (%zu, %zu) is %g (every entry must be finite)", c->what,
                                   i + r, j, c->K[(i + r) * c->n + j]);
        }
    }
    return DW_OK;
}

dw_status dw_pred_product(const double *K, size_t m, size_t n, const double *W, size_t k, int threads,
                          const char *what, double *out)
{
    const size_t kp = (k + PR_COLS - 1) / PR_COLS * PR_COLS;
    double *Wp = dw_alloc(n * kp, sizeof *Wp, "product: padded right-hand side");
    if (!Wp) return DW_ERR_NOMEM;
    for (size_t j = 0; j < n; j++) {
        memcpy(Wp + j * kp, W + j * k, k * sizeof *Wp);
        for (size_t q = k; q < kp; q++) Wp[j * kp + q] = 0.0;
    }
    pr_ctx c = {K, Wp, m, n, k, kp, what, pick_kernel(), out};
    const dw_status s = dw_par_for((m + PR_BLOCK - 1) / PR_BLOCK, threads, pr_block, &c);
    free(Wp);
    return s;
}
