/* The real type of prim.c, prim_relu.c, recur.c and pair.c: double, unless quad.c has set these for __float128
 * (REAL the type, DW_FW_T(name) the names, FN(f) the math functions, EPS the unit roundoff, RC(x) a literal) before
 * including those files again. No include guard: each of those files includes it. */
#include <float.h>
#ifndef DW_FW_REAL
#define REAL double
#define DW_FW_T(name) name
#define FN(f) f
#define EPS DBL_EPSILON
#define RC(x) x
#endif
