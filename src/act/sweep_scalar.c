/* Portable scalar build of the layer sweeps (SLEEF scalar functions of the same accuracy classes as the AVX2 build:
 * atan2 3.5 ulp, asin/exp/expm1 1 ulp). */
#include "sweep.h"

#include <math.h>
#include <sleef.h>

typedef double VD;
typedef int VM;
#define VW 1
#define VLOAD(p) (*(p))
#define VSTORE(p, x) (*(p) = (x))
#define VSET1(x) ((double)(x))
#define VSQRT(x) sqrt(x)
#define VABS(x) fabs(x)
#define VMIN(a, b) fmin((a), (b))
#define VMAX(a, b) fmax((a), (b))
#define VATAN2(y, x) Sleef_atan2_u35((y), (x))
#define VASIN(x) Sleef_asin_u10(x)
#define VEXP(x) Sleef_exp_u10(x)
#define VEXPM1(x) Sleef_expm1_u10(x)
#define VLT(a, b) ((a) < (b))
#define VLE(a, b) ((a) <= (b))
#define VEQ(a, b) ((a) == (b))
#define VSEL(m, a, b) ((m) ? (a) : (b))
#define VFMA(a, b, c) fma((a), (b), (c))
#define VKEEP(m, x) ((m) ? (x) : 0.0)
#define VALL(m) (m)
#define VANY(m) (m)
#define VMAND(a, b) ((a) && (b))
#define VMANDNOT(a, b) ((a) && !(b))
#define FN(name) name##_scalar

#include "sweep_body.h"
#include "dots_body.h"

const dw_sweep_impl dw_sweep_scalar = {homog_row_scalar, smooth_row_scalar, half_row_scalar, smooth_diag_scalar,
                                       homog_direct_row_scalar, homog_direct_diag_scalar, atan2_pos_n_scalar,
                                       dots_scalar, "scalar"};
