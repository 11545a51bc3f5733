"""deepwick.dual for the activations without closed forms against the mpmath reference mpgeneric.py (30 digits).

E[phi(u) phi(v)] and E[phi'(u) phi'(v)] at |rho| = 0.999 and rho = -0.5 (and one unequal-variance pair): the
error against mpmath never exceeds deepwick's reported bound (return_bound=True), which must itself meet the
target 1e-10 of sqrt(E phi(u)^2 E phi(v)^2). Long: the smooth activations' nested mpmath integrals take
20-200 s each on the 2-core test machine (elu, selu: 3-8 s, inner expectation in closed form).
"""
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import mpgeneric  # noqa: E402

TRIPLES = [(1.0, 2.0, 0.999 * math.sqrt(2.0)), (0.5, 3.0, -0.5 * math.sqrt(1.5)), (2.0, 0.7, -0.999 * math.sqrt(1.4))]
TRIPLE_IDS = ["rho0.999", "rho-0.5", "rho-0.999"]  # bench/accuracy_generic_mp.py selects cases by these


@pytest.mark.long
@pytest.mark.parametrize("name", mpgeneric.NAMES)
@pytest.mark.parametrize("abc", TRIPLES, ids=TRIPLE_IDS)
def test_dual_against_mpmath(name, abc):
    a, b, c = abc
    V, Vd, bV, bVd, route = dw.dual(name, a, b, c, return_bound=True)
    for deriv, val, bnd in ((False, V, bV), (True, Vd, bVd)):
        ref, qerr = mpgeneric.dual_mp(name, a, b, c, deriv=deriv)
        assert qerr < 1e-20
        err = abs(float(val) - float(ref))
        scale = math.sqrt(float(dw.dual(name, a, a, a)[deriv]) * float(dw.dual(name, b, b, b)[deriv]))
        rounding = 1e-14 * scale if "closed form" in str(route) else 0.0  # gelu: bound 0 (rounding only)
        assert err <= float(bnd) + rounding, (name, a, b, c, deriv, err, float(bnd), str(route))
        assert float(bnd) <= dw.kernels.DUAL_TARGET * scale, (name, a, b, c, deriv, float(bnd), scale)
