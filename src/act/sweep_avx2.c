/* AVX2+FMA build of the layer sweeps with SLEEF vector functions (atan2 3.5 ulp: the angle only needs absolute
 * accuracy, and it is the hot call; asin/exp/expm1 1 ulp) (compiled with -mavx2 -mfma; only
 * called when the CPU has both, see sweep_select.c). */
#include "sweep.h"

#include <immintrin.h>
#include <sleef.h>

typedef __m256d VD;
typedef __m256d VM;
#define VW 4
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, x) _mm256_storeu_pd((p), (x))
#define VSET1(x) _mm256_set1_pd(x)
#define VSQRT(x) _mm256_sqrt_pd(x)
#define VABS(x) _mm256_andnot_pd(_mm256_set1_pd(-0.0), (x))
#define VMIN(a, b) _mm256_min_pd((a), (b))
#define VMAX(a, b) _mm256_max_pd((a), (b))
#define VATAN2(y, x) Sleef_atan2d4_u35avx2((y), (x))
#define VASIN(x) Sleef_asind4_u10avx2(x)
#define VEXP(x) Sleef_expd4_u10avx2(x)
#define VEXPM1(x) Sleef_expm1d4_u10avx2(x)
#define VLT(a, b) _mm256_cmp_pd((a), (b), _CMP_LT_OQ)
#define VLE(a, b) _mm256_cmp_pd((a), (b), _CMP_LE_OQ)
#define VEQ(a, b) _mm256_cmp_pd((a), (b), _CMP_EQ_OQ)
#define VSEL(m, a, b) _mm256_blendv_pd((b), (a), (m))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VKEEP(m, x) _mm256_and_pd((m), (x)) /* x where m, else +0 */
#define VALL(m) (_mm256_movemask_pd(m) == 15)
#define VANY(m) _mm256_movemask_pd(m)
#define VMAND(a, b) _mm256_and_pd((a), (b))
#define VMANDNOT(a, b) _mm256_andnot_pd((b), (a))
#define FN(name) name##_avx2

#include "sweep_body.h"
#include "dots_body.h"

const dw_sweep_impl dw_sweep_avx2 = {homog_row_avx2, smooth_row_avx2, half_row_avx2, smooth_diag_avx2,
                                     homog_direct_row_avx2, homog_direct_diag_avx2, atan2_pos_n_avx2,
                                     dots_avx2, "avx2"};
