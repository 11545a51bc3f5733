"""Jacobian spectrum (theory.md 3), from Python and from the command line.

* Fuss-Catalan numbers (math.comb) for linear networks, depths 1..10, k <= 10, exactly (strings) and in floating
  point; little Schroeder numbers for one relu layer; route 1 (NC(k)) = route 2 (S-transform).
* Orthogonal weights against Monte Carlo of finite networks with numpy Haar matrices: widths N and 2N, the 1/N
  bias removed by Richardson extrapolation 2 m(2N) - m(N), agreement within 4 standard errors of that estimate
  (fixed seeds; false-alarm rate ~6e-5 per comparison for Gaussian errors).
* Gaussian weights against Monte Carlo (long): relu, erf, sin, k = 1..4, N = 500 and 1000, the same extrapolation.
* The density: normalisation and moments against the moments (1e-6); the CLI's CSV equals the Python values.
* Criticality: closed forms for erf; the CLI curve equals the Python curve.
* Bad input: one `error:` line naming the problem, non-zero exit, no output file.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def fail(*args, code=None):
    p = run(*args)
    assert p.returncode != 0, p.stdout
    if code is not None:
        assert p.returncode == code
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


# ---- exact sequences ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("L", range(1, 11))
def test_fuss_catalan(L):
    r = dw.jacobian_moments(L, "identity", K=10, exact=True)
    want = [math.comb((L + 1) * k, k) // (L * k + 1) for k in range(1, 11)]
    assert r["exact"]["moments"] == [str(w) for w in want]
    assert np.allclose(r["moments"], want, rtol=1e-14, atol=0)
    r1 = dw.jacobian_moments(L, "identity", K=10, exact=True, route="nc")
    assert r1["exact"]["moments"] == r["exact"]["moments"]


def test_little_schroeder():
    r = dw.jacobian_moments(1, "relu", K=10, weight_var=2, exact=True, route="nc")
    assert r["exact"]["moments"] == ["1", "3", "11", "45", "197", "903", "4279", "20793", "103049", "518859"]
    assert r["exact"]["variance"] == "2"
    assert r["atom0"] == 0.5


@pytest.mark.parametrize("act", ["relu", "erf", "sin", "leaky_relu:0.3", "poly:0,1,0,-0.05"])
def test_routes_agree(act):
    for L in (1, 3, 8):
        a = dw.jacobian_moments(L, act, K=10, weight_var=1.6, bias_var=0.1, q0=0.8, route="nc")["moments"]
        b = dw.jacobian_moments(L, act, K=10, weight_var=1.6, bias_var=0.1, q0=0.8, route="s")["moments"]
        assert np.max(np.abs(a - b) / np.abs(a)) <= 1e-12


def test_mu_erf_closed_form():
    r = dw.jacobian_moments(3, "erf", K=6, weight_var=1.3, bias_var=0.2, q0=0.5)
    q = r["q"]
    assert q[0] == pytest.approx(1.3 * 0.5 + 0.2, rel=1e-15)
    # q_{l+1} = sw2 (2/pi) asin(2q/(1+2q)) + sb2 (theory.md 1.5)
    assert q[1] == pytest.approx(1.3 * 2 / np.pi * np.arcsin(2 * q[0] / (1 + 2 * q[0])) + 0.2, rel=1e-14)
    j = np.arange(1, 7)
    for l in range(3):
        assert np.allclose(r["mu"][l], (4 / np.pi) ** j / np.sqrt(1 + 4 * j * q[l]), rtol=1e-13, atol=0)
    # m_1 = prod sw2 mu_1
    assert r["moments"][0] == pytest.approx(np.prod(1.3 * r["mu"][:, 0]), rel=1e-13)


# ---- Monte Carlo of finite networks (numpy) ------------------------------------------------------------------------

def mc_moments(act, L, sw2, sb2, q0, N, S, K, orth, seed):
    """Means and standard errors of (1/N) tr (J J^T)^k from tests/python/mc_jacobian.py (numpy, one BLAS thread)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    args = [act, L, sw2, sb2, q0, N, S, K, "1" if orth else "0", seed]
    p = subprocess.run([sys.executable, str(Path(__file__).with_name("mc_jacobian.py")), *map(str, args)], capture_output=True, text=True, env=env, timeout=1800)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    return np.array(r["mean"]), np.array(r["se"])


def check_mc(act, L, sw2, sb2, q0, N, S, K, orth, seed):
    lim = dw.jacobian_moments(L, act, K=K, weight_var=sw2, bias_var=sb2, q0=q0,
                              weights="orthogonal" if orth else "gaussian")["moments"]
    m1, e1 = mc_moments(act, L, sw2, sb2, q0, N, S, K, orth, seed)
    m2, e2 = mc_moments(act, L, sw2, sb2, q0, 2 * N, S, K, orth, seed + 1)
    ext = 2 * m2 - m1                       # removes the O(1/N) bias
    se = np.sqrt(4 * e2 ** 2 + e1 ** 2)
    z = np.abs(ext - lim) / se
    print(act, "L=%d" % L, "orthogonal" if orth else "gaussian", "N=%d/%d" % (N, 2 * N), "limit", lim,
          "extrapolated", ext, "z", z)
    assert np.all(z < 4), (act, L, lim, ext, se, z)
    return z


def test_orthogonal_vs_haar_monte_carlo():
    check_mc("relu", 3, 2.0, 0.0, 1.0, 100, 40, 3, True, 11)
    check_mc("erf", 2, 1.8, 0.1, 1.0, 100, 40, 3, True, 12)


@pytest.mark.long
@pytest.mark.parametrize("act,sw2,sb2", [("relu", 2.0, 0.0), ("erf", 1.55211785533364, 0.1), ("sin", 1.5, 0.1)])
def test_gaussian_vs_monte_carlo(act, sw2, sb2):
    check_mc(act, 3, sw2, sb2, 1.0, 500, 40, 4, False, 21)


@pytest.mark.long
def test_orthogonal_vs_haar_monte_carlo_wide():
    check_mc("erf", 4, 1.55211785533364, 0.1, 1.0, 400, 40, 4, True, 31)
    check_mc("relu", 4, 2.0, 0.0, 1.0, 400, 40, 4, True, 32)


# ---- density -------------------------------------------------------------------------------------------------------

def gl_moments(rho_fn, a, b, n=60):
    """int t^p rho(t) dt over [a, b] with t = a + (b - a) sin^2(theta) (square-root edges become smooth)."""
    x, w = np.polynomial.legendre.leggauss(n)
    th = np.pi / 4 * (x + 1)
    t = a + (b - a) * np.sin(th) ** 2
    wt = np.pi / 4 * w * 2 * (b - a) * np.sin(th) * np.cos(th)
    r = rho_fn(t)
    return np.array([np.sum(wt * r * t ** p) for p in range(5)])


def test_density_arcsine_and_moments():
    # two orthogonal relu layers, sigma_w^2 = 2: half an arcsine law on [0, 4] plus an atom 1/2 at 0
    f = lambda t: dw.jacobian_density(t, 2, "relu", weight_var=2, weights="orthogonal")
    I = gl_moments(f, 0.0 + 1e-300, 4.0)
    m = dw.jacobian_moments(2, "relu", K=4, weight_var=2, weights="orthogonal", exact=True)
    assert m["exact"]["moments"] == ["1", "3", "10", "35"]
    assert I[0] + m["atom0"] == pytest.approx(1, abs=1e-6)
    assert np.allclose(I[1:], m["moments"], rtol=1e-6)
    t = np.array([0.1, 1.0, 3.0])
    assert np.allclose(f(t), 1 / (2 * np.pi * np.sqrt(t * (4 - t))), rtol=1e-8)
    assert np.all(f(np.array([4.5, 9.0])) == 0)


def test_density_single_orthogonal_layer():
    # one Haar layer: the law of t = sigma_w^2 phi'(sqrt(q) Z)^2 itself (push-forward, no free convolution)
    sw2, q0 = 1.5, 0.7
    q, c = sw2 * q0, sw2 * 4 / np.pi                  # erf: phi'(x)^2 = (4/pi) exp(-2 x^2)
    f = lambda t: dw.jacobian_density(t, 1, "erf", weight_var=sw2, q0=q0, weights="orthogonal")
    t = np.array([0.01, 0.1, 0.5, 1.0, 1.5, 1.9])
    y = np.log(c / t) / (2 * q)                        # Z^2 as a function of t: a chi-square(1) change of variable
    assert np.allclose(f(t), np.exp(-y / 2) / np.sqrt(2 * np.pi * y) / (2 * q * t), rtol=1e-8)
    assert np.all(f(np.array([c * (1 + 1e-6), 5.0])) == 0)
    m = dw.jacobian_moments(1, "erf", K=4, weight_var=sw2, q0=q0, weights="orthogonal", support=True)
    assert m["support"][1] == pytest.approx(c, rel=1e-12)
    # moments in the variable z: t = c exp(-2 q z^2), rho(t) |dt/dz| = 2 N(z) is smooth on (0, 12]
    x, w = np.polynomial.legendre.leggauss(200)
    z, wz = 6 * (x + 1), 6 * w
    tz = c * np.exp(-2 * q * z ** 2)
    keep = tz > 1e-300
    dens = f(tz[keep]) * 4 * q * z[keep] * tz[keep]
    I = [np.sum(wz[keep] * dens * tz[keep] ** p) for p in range(5)]
    assert I[0] == pytest.approx(1, abs=1e-6)
    assert np.allclose(I[1:], m["moments"], rtol=1e-6)
    # sin: t = c cos^2(sqrt(q) z) has infinitely many roots per level; normalisation and moments on [0, c]
    f = lambda t: dw.jacobian_density(t, 1, "sin", weight_var=1.5, bias_var=0.1, weights="orthogonal")
    m = dw.jacobian_moments(1, "sin", K=4, weight_var=1.5, bias_var=0.1, weights="orthogonal", support=True)
    I = gl_moments(f, 1e-300, m["support"][1], 60)
    assert I[0] + m["atom0"] == pytest.approx(1, abs=1e-6)
    assert np.allclose(I[1:], m["moments"], rtol=1e-6)


def test_density_shape_and_errors():
    t = np.linspace(0.1, 5, 12).reshape(3, 4)
    r = dw.jacobian_density(t, 2, "erf", weight_var=1.5, bias_var=0.1)
    assert r.shape == (3, 4) and np.all(np.isfinite(r)) and np.all(r >= 0)
    with pytest.raises(dw.InputError, match="abscissa"):
        dw.jacobian_density([1.0, -1.0], 2, "erf")


# ---- criticality ---------------------------------------------------------------------------------------------------

def test_criticality_erf():
    w, q = dw.criticality("erf", 0.0)
    assert w == pytest.approx(np.pi / 4, rel=1e-15) and q == 0
    b = np.array([0.05, 0.2, 0.7])
    w, q = dw.criticality("erf", b)
    assert np.allclose(w * 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)) + b, q, rtol=1e-12)
    assert np.allclose(w * 4 / np.pi / np.sqrt(1 + 4 * q), 1, rtol=1e-12)
    # at that point the network is critical: m_1 = 1 at every depth
    r = dw.jacobian_moments(5, "erf", K=2, weight_var=w[1], bias_var=0.2, fixed_point=True)
    assert r["moments"][0] == pytest.approx(1, rel=1e-12)
    p = run("criticality", "--act", "erf", "--curve", "0.05:0.7:3", "--json")
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)["curve"]
    assert c[0]["weight_var"] == dw.criticality("erf", 0.05)[0]
    with pytest.raises(dw.InputError, match="no fixed point"):
        dw.criticality("relu", 0.1)


# ---- command line --------------------------------------------------------------------------------------------------

def test_cli_json_equals_python(tmp_path):
    out = tmp_path / "rho.csv"
    p = run("jacobian", "--depth", 3, "--act", "erf", "--weight-var", 1.5, "--bias-var", 0.1, "--moments", 6,
            "--density", "--grid", "0.05:8:40", "--out", out, "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    r = dw.jacobian_moments(3, "erf", K=6, weight_var=1.5, bias_var=0.1)
    assert np.array_equal(j["moments"], r["moments"])
    assert np.array_equal(j["q"], r["q"])
    assert np.array_equal(np.array(j["mu"]), r["mu"])
    assert j["route_nc_max_rel_diff"] <= 1e-12
    assert j["critical"] is False
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    assert data.shape == (40, 2)
    assert np.array_equal(data[:, 1], dw.jacobian_density(data[:, 0], 3, "erf", weight_var=1.5, bias_var=0.1))


def test_cli_exact_and_critical():
    p = run("jacobian", "--depth", 2, "--act", "relu", "--weight-var", 2, "--moments", 5, "--fixed-point",
            "--exact", "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["critical"] is True and j["chi_star"] == 1
    assert j["exact"]["routes_agree"] is True
    r = dw.jacobian_moments(2, "relu", K=5, weight_var=2, exact=True)
    assert j["exact"]["moments"] == r["exact"]["moments"]
    p = run("jacobian", "--depth", 2, "--act", "leaky_relu:0.1", "--weight-var", 1.5, "--bias-var", 0.1,
            "--moments", 2, "--exact", "--weights", "orthogonal", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["exact"]["mu"][0] == ["101/200", "10001/20000"]
    p = run("jacobian", "--help")
    assert p.returncode == 0 and "--fixed-point" in p.stdout and "--grid" in p.stdout


@pytest.mark.parametrize("args,what", [
    (["--moments", 0], "--moments: must be >= 1 (got 0)"),
    (["--moments", 257], "--moments: must be <= 256 (got 257)"),
    (["--moments", 3, "--q0", 0], "q0"),
    (["--moments", 3, "--q0", -1], "q0"),
    (["--moments", 3, "--act", "erf", "--exact"], "not rational"),
    (["--moments", 3, "--act", "erf", "--exact", "--weights", "orthogonal"], "not rational"),
    (["--moments", 3, "--weights", "haar"], "--weights"),
    (["--moments", 3, "--weight-var", "1,2,3"], "weight_var: expected 1 or 2"),
    (["--moments", 3, "--act", "exp", "--q0", 50, "--moments", 12], "variance q = 50"),
    (["--moments", 3, "--act", "tanhh"], "--act"),
    (["--moments", 3, "--sample"], "--sample needs --width"),
])
def test_cli_errors(args, what):
    base = ["jacobian", "--depth", 2, "--act", "relu"]
    msg = fail(*base, *args)
    assert what in msg


@pytest.mark.parametrize("grid,what", [("0:4:10", "must be > 0"), ("-1:4:10", "must be > 0"), ("0.1:4:1", "at least 2"),
                                       ("1:0.5:10", "above A"), ("a:b:c", "A:B:N")])
def test_cli_bad_grid_leaves_no_file(tmp_path, grid, what):
    out = tmp_path / "rho.csv"
    msg = fail("jacobian", "--depth", 2, "--act", "relu", "--moments", 2, "--density", "--grid", grid, "--out", out)
    assert what in msg
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_usage_errors():
    assert "--moments is required" in fail("jacobian", "--depth", 2, "--act", "relu", code=2)
    assert "--density needs --grid" in fail("jacobian", "--depth", 2, "--act", "relu", "--moments", 2, "--density",
                                            code=2)
    assert "--act is required" in fail("criticality", code=2)
    assert "B0:B1:N" in fail("criticality", "--act", "erf", "--curve", "1:2")
    assert "no fixed point" in fail("criticality", "--act", "relu", "--bias-var", 0.1)


def test_python_errors():
    with pytest.raises(dw.InputError, match="K = 0"):
        dw.jacobian_moments(2, "relu", K=0)
    with pytest.raises(dw.InputError, match="supported maximum"):
        dw.jacobian_moments(2, "relu", K=300)
    with pytest.raises(dw.InputError, match="orthogonal"):
        dw.jacobian_moments(2, "relu", K=3, weights="orthogonal", route="nc")
    with pytest.raises(dw.InputError, match="weights"):
        dw.jacobian_moments(2, "relu", weights="haar")
    with pytest.raises(dw.InputError, match="depth"):
        dw.jacobian_moments(0, "relu")
    with pytest.raises(dw.InputError, match="not rational"):
        dw.jacobian_moments(2, "sin", exact=True)


def test_report_matches_cli_and_parts():
    """deepwick.jacobian_report is the CLI's report: the same JSON, and the same numbers as the separate calls."""
    args = ["--depth", 3, "--act", "relu", "--moments", 4, "--weight-var", 2, "--exact", "--json", "--sample",
            "--width", 20, "--samples", 4, "--seed", 3]
    p = subprocess.run([str(CLI), "jacobian", *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)
    r = dw.jacobian_report(3, "relu", K=4, weight_var=2, exact=True, width=20, samples=4, seed=3,
                           return_spectra=True, grid=(0.1, 3, 20))
    for k in c:
        if k == "sample":
            assert {kk: v for kk, v in c[k].items() if kk != "seconds"} == \
                {kk: v for kk, v in r[k].items() if kk not in ("seconds", "spectra")}
        else:
            assert c[k] == r[k], k
    m = dw.jacobian_moments(3, "relu", K=4, weight_var=2, exact=True, support=True)
    assert r["moments"] == list(m["moments"]) and r["exact"]["moments"] == m["exact"]["moments"]
    assert tuple(r["support"]) == m["support"] and r["critical"] is True and r["exact"]["routes_agree"] is True
    fs = dw.sample_jacobian(3, "relu", K=4, weight_var=2, width=20, samples=4, seed=3, return_spectra=True)
    assert np.array_equal(fs["spectra"], r["sample"]["spectra"]) and r["sample"]["moments"] == list(fs["moments"])
    rho = dw.jacobian_density(r["density"]["t"], 3, "relu", weight_var=2)
    assert np.allclose(rho, r["density"]["rho"], rtol=1e-9, atol=0)
    with pytest.raises(dw.InputError, match="grid: A = 0"):
        dw.jacobian_report(2, "relu", grid=(0, 1, 5))
    with pytest.raises(dw.InputError, match="need both"):
        dw.jacobian_report(2, "relu", width=10)
    with pytest.raises(dw.InputError, match="does not go"):
        dw.jacobian_report(2, "relu", width=10, samples=3, law="orthogonal", weights="gaussian")
