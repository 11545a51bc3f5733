/* Weight laws (theory.md 2): unit-variance draws, row-block streams, Haar orthogonal matrices. */
#include "sample/sample.h"

#include <Random123/philox.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double gamma_draw(double k, dw_rng *r)
{
    const double dd = k - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double z = dw_rng_normal(r), v = 1.0 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        double u = dw_rng_uniform(r);
        if (log(u) < 0.5 * z * z + dd - dd * v + dd * log(v)) return dd * v;
    }
}

double dw_law_draw(const dw_law *law, dw_rng *r)
{
    switch (law->kind) {
    case DW_LAW_RADEMACHER: return (dw_rng_u64(r) >> 63) ? 1.0 : -1.0;
    case DW_LAW_UNIFORM: return 1.7320508075688772 * (2.0 * dw_rng_uniform(r) - 1.0);
    case DW_LAW_STUDENT_T: {
        /* t_nu sqrt((nu - 2)/nu) = z sqrt((nu - 2) / chi2_nu), chi2_nu = 2 Gamma(nu/2) */
        const double nu = law->param;
        double z = dw_rng_normal(r), chi2 = 2.0 * gamma_draw(0.5 * nu, r);
        return z * sqrt((nu - 2.0) / chi2);
    }
    case DW_LAW_SPARSE: {
        double u = dw_rng_uniform(r), g = dw_rng_normal(r); /* always both: a fixed number of draws per entry */
        return u < law->param ? g / sqrt(law->param) : 0.0;
    }
    default: return dw_rng_normal(r);
    }
}

/* Standard normals by the ziggurat method (Marsaglia and Tsang 2000) in Doornik's corrected form (ZIGNOR,
 * Doornik 2005): 128 blocks, one Philox word per draw in about 98.8% of the cases (7 bits choose the block, 52
 * disjoint bits give the abscissa, so block and value are independent), exact wedge and tail corrections. About
 * twice as fast as the polar method (which needs a log, a square root and 2.5 words per pair). */
#define ZIG_C 128
#define ZIG_R 3.442619855899             /* start of the tail */
#define ZIG_V 9.91256303526217e-3        /* the common block area, (R phi(R) + P(X >= R)) sqrt(2 pi) */

typedef struct {
    double x[ZIG_C + 1], r[ZIG_C];
} zig_table;

static void zig_build(zig_table *z)
{
    double f = exp(-0.5 * ZIG_R * ZIG_R);
    z->x[0] = ZIG_V / f; /* the bottom block (rectangle plus tail) as a rectangle of area V */
    z->x[1] = ZIG_R;
    z->x[ZIG_C] = 0.0;
    for (int i = 2; i < ZIG_C; i++) {
        z->x[i] = sqrt(-2.0 * log(ZIG_V / z->x[i - 1] + f));
        f = exp(-0.5 * z->x[i] * z->x[i]);
    }
    for (int i = 0; i < ZIG_C; i++) z->r[i] = z->x[i + 1] / z->x[i];
}

/* The table, built once per process. */
static zig_table zig_tab;
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;
static void zig_build_once(void) { zig_build(&zig_tab); }
static const zig_table *zig_get(void)
{
    pthread_once(&zig_once, zig_build_once);
    return &zig_tab;
}

/* dw_rng_u64, inlined (the same stream: Philox4x64-10 blocks of 4 words). */
static inline uint64_t next_u64(dw_rng *r)
{
    if (r->avail == 0) {
        philox4x64_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
        philox4x64_key_t k = {{r->key[0], r->key[1]}};
        philox4x64_ctr_t o = philox4x64(c, k);
        for (int i = 0; i < 4; i++) r->out[i] = o.v[i];
        r->avail = 4;
        if (++r->ctr[0] == 0) ++r->ctr[1];
    }
    return r->out[4 - r->avail--];
}

static inline double next_uniform(dw_rng *r) /* in (0, 1): (k + 1/2) 2^-52, k on 52 bits (exact) */
{
    return ((double)(next_u64(r) >> 12) + 0.5) * 0x1p-52;
}

static double zig_normal(const zig_table *z, dw_rng *r)
{
    for (;;) {
        const uint64_t w = next_u64(r);
        const unsigned i = (unsigned)(w & (ZIG_C - 1));
        const double u = ((double)(w >> 12) + 0.5) * 0x1p-51 - 1.0; /* (-1, 1), symmetric, exact */
        if (fabs(u) < z->r[i]) return u * z->x[i];                  /* inside the block's core rectangle */
        if (i == 0) {                                                /* the tail beyond R (Marsaglia 1964) */
            double x, y;
            do {
                x = log(next_uniform(r)) / ZIG_R;
                y = log(next_uniform(r));
            } while (-2.0 * y < x * x);
            return u < 0 ? x - ZIG_R : ZIG_R - x;
        }
        const double x = u * z->x[i]; /* the wedge: accept under the density */
        const double f0 = exp(-0.5 * (z->x[i] * z->x[i] - x * x));
        const double f1 = exp(-0.5 * (z->x[i + 1] * z->x[i + 1] - x * x));
        if (f1 + next_uniform(r) * (f0 - f1) < 1.0) return x;
    }
}

/* Batches of Philox words for fill_normals. */
#define ZIG_BATCH 64 /* Philox blocks per batch: 256 words, 2 KiB */

/* The fast path on every word of a batch (branch-free; AVX2 where the CPU has it): u = (k + 1/2) 2^-51 - 1 with
 * k = w >> 12 is computed as 2 (1 + k 2^-52) - 3 (exact) + 2^-52 (one rounding, as in zig_normal), so both
 * versions give zig_normal's bits. */
static void zig_fast_generic(const zig_table *z, const uint64_t *buf, size_t nw, double scale, double *cand,
                             unsigned char *ok)
{
    for (size_t q = 0; q < nw; q++) {
        const uint64_t w = buf[q];
        const uint64_t b = w & (ZIG_C - 1);
        const uint64_t bits = (w >> 12) | UINT64_C(0x3FF0000000000000);
        double m;
        memcpy(&m, &bits, sizeof m);
        const double u = (m + m - 3.0) + 0x1p-52;
        ok[q] = fabs(u) < z->r[b];
        cand[q] = scale * (u * z->x[b]);
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define ZIG_HAVE_AVX2 1
__attribute__((target("avx2"))) static void zig_fast_avx2(const zig_table *z, const uint64_t *buf, size_t nw,
                                                          double scale, double *cand, unsigned char *ok)
{
    const __m256i mask = _mm256_set1_epi64x(ZIG_C - 1), one = _mm256_set1_epi64x(0x3FF0000000000000LL);
    const __m256d three = _mm256_set1_pd(3.0), eps = _mm256_set1_pd(0x1p-52), sc = _mm256_set1_pd(scale);
    const __m256d sign = _mm256_set1_pd(-0.0);
    for (size_t q = 0; q < nw; q += 4) {
        const __m256i w = _mm256_loadu_si256((const __m256i *)(buf + q));
        const __m256i b = _mm256_and_si256(w, mask);
        const __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(w, 12), one));
        const __m256d u = _mm256_add_pd(_mm256_sub_pd(_mm256_add_pd(m, m), three), eps);
        const __m256d xr = _mm256_i64gather_pd(z->r, b, 8), xx = _mm256_i64gather_pd(z->x, b, 8);
        const int bits = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, u), xr, _CMP_LT_OQ));
        _mm256_storeu_pd(cand + q, _mm256_mul_pd(sc, _mm256_mul_pd(u, xx)));
        ok[q] = (unsigned char)(bits & 1);
        ok[q + 1] = (unsigned char)(bits >> 1 & 1);
        ok[q + 2] = (unsigned char)(bits >> 2 & 1);
        ok[q + 3] = (unsigned char)(bits >> 3 & 1);
    }
}
#endif

static void zig_fast(const zig_table *z, const uint64_t *buf, size_t nw, double scale, double *cand, unsigned char *ok)
{
#ifdef ZIG_HAVE_AVX2
    static int avx2 = -1; /* benign race: every thread computes the same value */
    if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    if (avx2) {
        zig_fast_avx2(z, buf, nw, scale, cand, ok);
        return;
    }
#endif
    zig_fast_generic(z, buf, nw, scale, cand, ok);
}

/* n standard normals times scale; a row's values depend only on the stream.
 *
 * The same values as x[i] = scale * zig_normal(z, r) in turn, computed faster: Philox blocks are generated up to ZIG_BATCH
 * at a time (as many as the normals still to draw need) (independent counters, so the CPU overlaps their multiplications), and the words are then scanned
 * in stream order by the ziggurat's fast path; a word that fails it (about 1.2%) hands the stream, positioned at
 * that word, to zig_normal, which consumes exactly the words the sequential method would, and the scan goes on
 * from wherever that left the stream. */
static void fill_normals(const zig_table *z, dw_rng *r, double *x, size_t n, double scale)
{
    uint64_t buf[4 * ZIG_BATCH];
    size_t i = 0;
    while (i < n) {
        while (i < n && r->avail > 0) x[i++] = scale * zig_normal(z, r); /* finish the current block */
        if (i >= n) break;
        const uint64_t c0 = r->ctr[0];
        if (c0 > UINT64_MAX - ZIG_BATCH) { /* the counter would carry inside the batch: one block at a time */
            x[i++] = scale * zig_normal(z, r);
            continue;
        }
        const philox4x64_key_t k = {{r->key[0], r->key[1]}};
        const size_t need = (n - i + 3) / 4 + (n - i > 64), nb = need < ZIG_BATCH ? need : ZIG_BATCH, nw = 4 * nb;
        for (size_t b = 0; b < nb; b++) {
            const philox4x64_ctr_t c = {{c0 + (uint64_t)b, r->ctr[1], r->ctr[2], r->ctr[3]}};
            const philox4x64_ctr_t o = philox4x64(c, k);
            buf[4 * b] = o.v[0];
            buf[4 * b + 1] = o.v[1];
            buf[4 * b + 2] = o.v[2];
            buf[4 * b + 3] = o.v[3];
        }
        double cand[4 * ZIG_BATCH];
        unsigned char ok[4 * ZIG_BATCH];
        zig_fast(z, buf, nw, scale, cand, ok);
        size_t p = 0; /* next word of the batch */
        while (i < n && p < nw) {
            if (ok[p]) {
                x[i++] = cand[p++];
                continue;
            }
            /* slow path: position the stream at word p and let zig_normal finish this draw */
            const size_t blk = p / 4;
            for (int q = 0; q < 4; q++) r->out[q] = buf[4 * blk + (size_t)q];
            r->avail = (int)(4 - p % 4);
            r->ctr[0] = c0 + blk + 1;
            x[i++] = scale * zig_normal(z, r);
            /* words consumed so far, counted from the batch's first word */
            if (r->ctr[0] < c0 || 4 * (r->ctr[0] - c0) - (uint64_t)r->avail > nw) {
                p = SIZE_MAX; /* past the batch: r holds the stream */
                break;
            }
            p = (size_t)(4 * (r->ctr[0] - c0) - (uint64_t)r->avail);
        }
        if (p == SIZE_MAX) continue;
        /* hand the stream back positioned after word p */
        if (p % 4 == 0) {
            r->avail = 0;
            r->ctr[0] = c0 + p / 4;
        } else {
            const size_t blk = p / 4;
            for (int q = 0; q < 4; q++) r->out[q] = buf[4 * blk + (size_t)q];
            r->avail = (int)(4 - p % 4);
            r->ctr[0] = c0 + blk + 1;
        }
    }
}

void dw_law_fill_rows(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t r0,
                      size_t r1, size_t cols, double scale, double *out, size_t ld)
{
    const int cplx = dw_law_complex(law);
    dw_law g = {DW_LAW_GAUSSIAN, 0.0};
    const dw_law *lw = law->kind == DW_LAW_ORTHOGONAL ? &g : law;
    const zig_table *z = cplx || lw->kind == DW_LAW_GAUSSIAN ? zig_get() : NULL;
    for (size_t b0 = r0; b0 < r1; b0 += DW_SAMPLE_ROWBLOCK) {
        dw_rng r;
        dw_rng_init(&r, seed, sample, layer, b0 / DW_SAMPLE_ROWBLOCK);
        size_t b1 = b0 + DW_SAMPLE_ROWBLOCK < r1 ? b0 + DW_SAMPLE_ROWBLOCK : r1;
        if (!cplx && lw->kind == DW_LAW_GAUSSIAN && ld == cols) { /* contiguous rows: one run of the stream */
            fill_normals(z, &r, out + (b0 - r0) * ld, (b1 - b0) * cols, scale);
            continue;
        }
        for (size_t i = b0; i < b1; i++) {
            double *row = out + (i - r0) * ld;
            if (cplx) {
                fill_normals(z, &r, row, 2 * cols, scale * 0.7071067811865476);
            } else if (lw->kind == DW_LAW_GAUSSIAN) {
                fill_normals(z, &r, row, cols, scale);
            } else {
                for (size_t j = 0; j < cols; j++) row[j] = scale * dw_law_draw(lw, &r);
            }
        }
    }
}

dw_status dw_law_haar_q(double *A, size_t m, size_t k)
{
    if (k == 0) return DW_OK;
    double *tau = dw_alloc(k, sizeof(double), "QR reflectors");
    double *rd = dw_alloc(k, sizeof(double), "QR diagonal");
    if (!tau || !rd) {
        free(tau);
        free(rd);
        return DW_ERR_NOMEM;
    }
    dw_status st = DW_OK;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)k, A, (lapack_int)k, tau);
    if (info == 0) {
        for (size_t j = 0; j < k; j++) rd[j] = A[j * k + j];
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)k, (lapack_int)k, A, (lapack_int)k, tau);
    }
    if (info != 0) {
        st = dw_fail(info < 0 ? DW_ERR_INTERNAL : DW_ERR_NOMEM, "orthogonal law: LAPACK QR of a %zu x %zu matrix failed (info %d)",
                     m, k, (int)info);
    } else {
        /* Q R = A with R_jj > 0 makes Q Haar (Mezzadri 2007): flip column j where R_jj < 0. */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++)
                if (rd[j] < 0) A[i * k + j] = -A[i * k + j];
    }
    free(tau);
    free(rd);
    return st;
}

dw_status dw_law_matrix(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t rows,
                        size_t cols, double scale, double *W)
{
    if (law->kind != DW_LAW_ORTHOGONAL) {
        dw_law_fill_rows(law, seed, sample, layer, 0, rows, cols, scale, W, dw_law_complex(law) ? 2 * cols : cols);
        return DW_OK;
    }
    /* A tall m x k Gaussian (m = max, k = min), its Haar Q, scaled by sqrt(m) so that entries have unit variance;
     * W = Q (rows >= cols, orthonormal columns) or Q^T (rows < cols, orthonormal rows). */
    const size_t m = rows >= cols ? rows : cols, k = rows >= cols ? cols : rows;
    double *A = rows >= cols ? W : dw_alloc(m * k, sizeof(double), "orthogonal law work space");
    if (!A) return DW_ERR_NOMEM;
    dw_law_fill_rows(law, seed, sample, layer, 0, m, k, 1.0, A, k);
    dw_status st = dw_law_haar_q(A, m, k);
    const double s = scale * sqrt((double)m);
    if (!st) {
        if (rows >= cols) {
            for (size_t i = 0; i < m * k; i++) W[i] *= s;
        } else {
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < k; j++) W[j * cols + i] = s * A[i * k + j];
        }
    }
    if (A != W) free(A);
    return st;
}

dw_status dw_sample_weights(const dw_law *law, unsigned long long seed, unsigned long long sample,
                            unsigned long long layer, size_t rows, size_t cols, double *W)
{
    if (!law || (!W && rows && cols)) return dw_fail(DW_ERR_INVALID, "dw_sample_weights: NULL argument");
    if ((unsigned)law->kind > DW_LAW_ORTHOGONAL) return dw_fail(DW_ERR_INVALID, "law: unknown kind %d", (int)law->kind);
    if (law->kind == DW_LAW_STUDENT_T && !(law->param > 2 && isfinite(law->param)))
        return dw_fail(DW_ERR_INVALID, "law student-t: nu = %g must be > 2", law->param);
    if (law->kind == DW_LAW_SPARSE && !(law->param > 0 && law->param <= 1))
        return dw_fail(DW_ERR_INVALID, "law sparse: p = %g must be in (0, 1]", law->param);
    if (!rows || !cols) return DW_OK;
    return dw_law_matrix(law, seed, sample, layer, rows, cols, 1.0, W);
}

void dw_law_bias(const dw_law *law, uint64_t seed, uint64_t sample, uint64_t layer, size_t n, double *b)
{
    dw_rng r;
    dw_rng_init(&r, seed, sample, layer, DW_SAMPLE_BIAS_STREAM);
    if (dw_law_complex(law)) {
        for (size_t j = 0; j < 2 * n; j++) b[j] = 0.7071067811865476 * dw_rng_normal(&r);
    } else {
        for (size_t j = 0; j < n; j++) b[j] = dw_rng_normal(&r);
    }
}

dw_status dw_sample_bias(const dw_law *law, unsigned long long seed, unsigned long long sample,
                         unsigned long long layer, size_t n, double *b)
{
    if (!law || (!b && n)) return dw_fail(DW_ERR_INVALID, "dw_sample_bias: NULL argument");
    dw_status s = dw_sample_weights(law, seed, sample, layer, 0, 0, NULL);
    if (s) return s;
    dw_law_bias(law, seed, sample, layer, n, b);
    return DW_OK;
}

/* The law by its spelling, for bindings that hold no dw_law value. */
dw_status dw_sample_law_weights(const char *law, unsigned long long seed, unsigned long long sample,
                                unsigned long long layer, size_t rows, size_t cols, double *W)
{
    dw_law l;
    dw_status s = dw_law_parse(&l, law);
    return s ? s : dw_sample_weights(&l, seed, sample, layer, rows, cols, W);
}

dw_status dw_sample_law_bias(const char *law, unsigned long long seed, unsigned long long sample,
                             unsigned long long layer, size_t n, double *b)
{
    dw_law l;
    dw_status s = dw_law_parse(&l, law);
    return s ? s : dw_sample_bias(&l, seed, sample, layer, n, b);
}

dw_status dw_sample_law_query(const char *law, bool *is_complex, char *canon, size_t cap, const char **warning)
{
    dw_law l;
    dw_status s = dw_law_parse(&l, law);
    if (s) return s;
    if (is_complex) *is_complex = dw_law_complex(&l);
    if (canon && cap) dw_law_format(&l, canon, cap);
    if (warning) *warning = dw_law_warning(&l);
    return DW_OK;
}
