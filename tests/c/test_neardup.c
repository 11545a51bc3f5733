/* Near-duplicate pairs of kinked generic activations (act/neardup.c): D = E[(phi(u) - phi(v))^2]/2 from the
 * Price-integral form against the direct (E phi(u)^2 + E phi(v)^2)/2 - E[phi(u) phi(v)] of the pairwise routes
 * at half-angles where that subtraction still keeps 10 digits, both within their bounds; D = 0 exactly for the
 * pair (x, x); V and Vd equal to the pairwise route at the same (rho, s); a bad argument is refused. The accuracy
 * at tiny angles, where the direct form fails, is checked end to end against a 40-digit layer recursion
 * (tests/python/test_near_dup_kinked.py). */
#include "act/act.h"
#include "check.h"
#include "deepwick.h"
#include "gauss/gauss.h"

#include <math.h>
#include <stdio.h>

static const char *const acts[] = {"relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))", "selu", "max(z, 0.1*z)",
                                   "abs(z+0.5) - 0.3*relu(z-2)"};

static double second_moment(const dw_act *act, double a, double *err)
{
    double v, vd, bv, bd;
    CHECK(dw_act_dual_kinked(act, a, a, a, 1e-13, 0, -1, -1, &v, &vd, &bv, &bd, NULL) == DW_OK);
    *err = bv;
    return v;
}

static void test_against_direct(void)
{
    static const double ab[][2] = {{1.3, 1.3}, {1.3, 1.3 * (1 + 1e-4)}, {2.0, 2.1}, {0.4, 0.38}, {7.0, 7.0}};
    static const double hss[] = {1e-3, 1e-2, 0.05};
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        dw_act *act;
        CHECK(dw_act_init(&act, acts[k]) == DW_OK);
        for (size_t m = 0; m < sizeof ab / sizeof ab[0]; m++) {
            const double a = ab[m][0], b = ab[m][1];
            double ea, eb;
            const double Pa = second_moment(act, a, &ea), Pb = second_moment(act, b, &eb);
            for (size_t h = 0; h < sizeof hss / sizeof hss[0]; h++) {
                const double hs = hss[h], rho = 1 - 2 * hs, s = 2 * sqrt(hs * (1 - hs));
                double V, Vd, D, bv, bd, bD, V2, Vd2, bv2, bd2;
                CHECK(dw_act_dual_near(act, a, b, hs, 1e-12, -1, -1, &V, &Vd, &D, &bv, &bd, &bD) == DW_OK);
                CHECK(dw_act_dual_kinked_rs(act, a, b, rho, s, 1e-12, 0, -1, -1, &V2, &Vd2, &bv2, &bd2, NULL) ==
                      DW_OK);
                CHECK(V == V2 && Vd == Vd2); /* the same route at the same (rho, s) */
                const double direct = 0.5 * (Pa + Pb) - V2;
                const double tol = bD + bv2 + 0.5 * (ea + eb) + 8e-16 * (Pa + Pb);
                CHECK(D > 0);
                if (!(fabs(D - direct) <= tol))
                    printf("  %s a %g b %g s %g: D %.17g direct %.17g (diff %.2e, tol %.2e)\n", acts[k], a, b, hs, D,
                           direct, fabs(D - direct), tol);
                CHECK(fabs(D - direct) <= tol);
                CHECK(bD <= 1e-9 * D); /* the Price form keeps D's relative accuracy */
            }
        }
        /* the pair (x, x): D = 0 exactly, V = E phi^2 */
        double V, Vd, D, bv, bd, bD, e;
        CHECK(dw_act_dual_near(act, 1.7, 1.7, 0.0, 1e-12, -1, -1, &V, &Vd, &D, &bv, &bd, &bD) == DW_OK);
        CHECK(D == 0.0 && bD == 0.0);
        CHECK_CLOSE(V, second_moment(act, 1.7, &e), 1e-12, 1e-300);
        dw_act_clear(act);
    }
}

static void test_bad_arguments(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "relu(z-1)") == DW_OK);
    double V, Vd, D, bv, bd, bD;
    CHECK(dw_act_dual_near(act, 1, 1, -1e-3, 1e-10, -1, -1, &V, &Vd, &D, &bv, &bd, &bD) == DW_ERR_INVALID);
    CHECK(dw_act_dual_near(act, 0, 1, 1e-3, 1e-10, -1, -1, &V, &Vd, &D, &bv, &bd, &bD) == DW_ERR_INVALID);
    CHECK(dw_act_dual_near(act, 1, 1, NAN, 1e-10, -1, -1, &V, &Vd, &D, &bv, &bd, &bD) == DW_ERR_INVALID);
    dw_act_clear(act);
}

int main(void)
{
    test_against_direct();
    test_bad_arguments();
    return check_done("neardup");
}
