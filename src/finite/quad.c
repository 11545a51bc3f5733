/* The relu family's pair recursion in __float128 (libquadmath): prim.c, prim_relu.c, recur.c and pair.c compiled
 * again with REAL = __float128 and the suffix _q on their names. The driver (gram.c) runs a pair here when the
 * double run's error bound is too large (nearly parallel pairs: the bound grows like eps / theta^3), which moves
 * the limit from eps = 1.1e-16 to 9.6e-35. */
#include "finite/finite.h"

#include <quadmath.h>

#define DW_FW_REAL __float128
#define REAL __float128
#define DW_FW_T(name) name##_q
#define FN(f) f##q
#define EPS FLT128_EPSILON
#define RC(x) x##Q

#include "finite/prim.c"
#include "finite/prim_relu.c"
#include "finite/recur.c"
#include "finite/pair.c"
