/* Run-time choice of the sweep implementation. */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

const dw_sweep_impl *dw_sweep_select(void)
{
    const char *env = getenv("DW_NO_SIMD");
    if (env && *env && strcmp(env, "0") != 0) return &dw_sweep_scalar;
#if defined(DW_HAVE_AVX2) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &dw_sweep_avx2;
#endif
    return &dw_sweep_scalar;
}
