"""deepwick's dual expectations and NNGP/NTK kernels against the 50-digit mpmath reference (mpref.py).

Targets (fixed in advance, not tuned to the implementation):
  dual():   |err| <= 1e-12 |ref|  or  |err| <= 1e-14 sqrt(V(a,a,a) V(b,b,b))   (same for vdot with vdot's diagonals)
  kernel(): |err| <= 1e-12 |ref|  or  |err| <= 1e-14 sqrt(K(x,x) K(y,y))         (same for Theta with Theta's)
The reference works on the exact float64 inputs.  `pytest -s` prints a table of the worst errors per activation.
"""

import itertools
import math

import mpmath
import numpy as np
import pytest
from mpmath import mpf

import mpref

import deepwick as dw

RTOL = mpf("1e-12")
STOL = mpf("1e-14")
DBL_MAX = mpf(np.finfo(np.float64).max)

ACTS = ["identity", "relu", "leaky_relu:0.1", "leaky_relu:-0.3", "abs", "step", "erf", "sin", "cos", "exp",
        "poly:0.1,0.9,0.2,-0.05", "poly:1,0,-0.5"]

# worst errors, for the table printed at the end of the module: key -> dict
STATS = {}


def _stat(section, act, rel, scaled, ratio, where):
    s = STATS.setdefault((section, act), {"rel": mpf(0), "scaled": mpf(0), "ratio": mpf(0), "where": "",
                                          "n": 0, "fail": 0})
    s["n"] += 1
    if rel > s["rel"]:
        s["rel"] = rel
    if scaled > s["scaled"]:
        s["scaled"] = scaled
    if ratio > s["ratio"]:
        s["ratio"], s["where"] = ratio, where
    if ratio > 1:
        s["fail"] += 1


@pytest.fixture(scope="module", autouse=True)
def _table():
    yield
    if not STATS:
        return
    print("\n\ndeepwick vs 50-digit reference: worst errors per activation")
    print("  rel = |err|/|ref| (entries with |ref| >= 1e-3 scale); scaled = |err|/natural scale;")
    print("  ratio = |err| / max(1e-12 |ref|, 1e-14 scale) (pass <= 1); n = entries checked")
    hdr = f"  {'section':8s} {'activation':24s} {'max rel':>10s} {'max scaled':>10s} {'ratio':>9s} " \
          f"{'fails':>6s} {'n':>7s}  worst case"
    print(hdr)
    for (section, act), s in sorted(STATS.items()):
        print(f"  {section:8s} {act:24s} {mpmath.nstr(s['rel'], 2):>10s} {mpmath.nstr(s['scaled'], 2):>10s} "
              f"{mpmath.nstr(s['ratio'], 2):>9s} {s['fail']:>6d} {s['n']:>7d}  {s['where']}")


def _compare(section, act, got, ref, scale, label, allow=0):
    """Compare one float64 value with its mp reference; returns a failure string or None.

    allow: an extra tolerance for ill-conditioned entries, the change of the exact value under a few-ulp
    perturbation of the inputs (backward stability: no float64 algorithm can do better than that)."""
    got_f = float(got)
    if not math.isfinite(got_f):
        _stat(section, act, mpf("inf"), mpf("inf"), mpf("inf"), label)
        return f"{label}: got {got_f!r}, reference {mpmath.nstr(ref, 17)}"
    err = abs(mpf(got_f) - ref)
    tol = max(RTOL * abs(ref), STOL * scale, allow)
    rel = err / abs(ref) if ref != 0 and abs(ref) >= mpf("1e-3") * scale else mpf(0)
    scaled = err / scale if scale > 0 else (mpf(0) if err == 0 else mpf("inf"))
    ratio = err / tol if tol > 0 else (mpf(0) if err == 0 else mpf("inf"))
    _stat(section, act, rel, scaled, ratio, label)
    if err > tol:
        return (f"{label}: got {got_f!r}, reference {mpmath.nstr(ref, 20)}, |err| {mpmath.nstr(err, 3)}, "
                f"rel {mpmath.nstr(err / abs(ref), 3) if ref != 0 else 'inf'}, "
                f"err/scale {mpmath.nstr(scaled, 3)}")
    return None


def _report(fails, what, limit=25):
    if not fails:
        return
    msg = f"{what}: {len(fails)} values miss rel 1e-12 / 1e-14 x natural scale:\n  " + "\n  ".join(fails[:limit])
    if len(fails) > limit:
        msg += f"\n  ... and {len(fails) - limit} more"
    pytest.fail(msg)


# ------------------------------------------------------------------------------------------------------------
# dual()
# ------------------------------------------------------------------------------------------------------------
AB = [1e-6, 1e-3, 1.0, 30.0, 1e3]
RHO = [-1.0, -1 + 1e-13, -0.7, -1e-9, 0.0, 0.5, 1 - 1e-13, 1.0]


def _dual_cases():
    out = []
    for a, b in itertools.product(AB, AB):
        s = math.sqrt(a * b)
        for rho in RHO:
            out.append((a, b, rho, rho * s))  # c as the float64 a caller would pass
    return out


DUAL_CASES = _dual_cases()


def _dual_ref(act):
    refs = []
    for a, b, rho, c in DUAL_CASES:
        V, Vd = mpref.dual_closed(act, a, b, c)
        Va, Vda = mpref.dual_closed(act, a, a, a)
        Vb, Vdb = mpref.dual_closed(act, b, b, b)
        refs.append((V, Vd, mpmath.sqrt(abs(Va * Vb)), mpmath.sqrt(abs(Vda * Vdb))))
    return refs


@pytest.mark.parametrize("act", ACTS)
def test_dual(act):
    refs = _dual_ref(act)
    ok_idx = [k for k, r in enumerate(refs) if abs(r[0]) <= DBL_MAX and abs(r[1]) <= DBL_MAX]
    over_idx = [k for k in range(len(refs)) if k not in set(ok_idx)]
    fails = []
    a = np.array([DUAL_CASES[k][0] for k in ok_idx])
    b = np.array([DUAL_CASES[k][1] for k in ok_idx])
    c = np.array([DUAL_CASES[k][3] for k in ok_idx])
    v, vd = dw.dual(act, a, b, c)
    v, vd = np.asarray(v), np.asarray(vd)
    assert v.shape == a.shape and vd.shape == a.shape, f"dual returned shapes {v.shape}, {vd.shape}"
    for t, k in enumerate(ok_idx):
        A, B, rho, C = DUAL_CASES[k]
        V, Vd, sv, svd = refs[k]
        lab = f"a={A:g} b={B:g} rho={rho!r} (c={C!r})"
        for what, g, r, s in (("V", v[t], V, sv), ("Vdot", vd[t], Vd, svd)):
            f = _compare("dual", act, g, r, s, f"{what} {lab}")
            if f:
                fails.append(f)
    # scalar call agrees with the vectorised one
    k0 = ok_idx[len(ok_idx) // 2]
    vs, vds = dw.dual(act, DUAL_CASES[k0][0], DUAL_CASES[k0][1], DUAL_CASES[k0][3])
    t0 = ok_idx.index(k0)
    assert float(vs) == v[t0] and float(vds) == vd[t0], "scalar dual() differs from the vectorised call"
    # values that overflow double must raise ValueError mentioning overflow
    for k in over_idx:
        A, B, rho, C = DUAL_CASES[k]
        with pytest.raises(ValueError, match="(?i)overflow"):
            dw.dual(act, A, B, C)
    _report(fails, f"dual({act})")


def test_dual_exp_overflow_message():
    with pytest.raises(ValueError, match="(?i)overflow"):
        dw.dual("exp", 1e3, 1e3, 1e3)
    with pytest.raises(ValueError, match="(?i)overflow"):
        dw.dual("exp", np.array([1.0, 1e3]), np.array([1.0, 1e3]), np.array([0.5, 1e3]))


# ------------------------------------------------------------------------------------------------------------
# kernel()
# ------------------------------------------------------------------------------------------------------------
D = 5
_x0 = np.array([0.375, -1.25, 0.75, 1.5, -0.5])  # dyadic: 2.5 x0 and the orthogonal partner are exact
_delta = np.array([0.3, 0.2, -0.7, 0.1, 0.4])
_u = np.array([0.6, 1.1, -0.9, 0.8, 1.3])  # |u|^2/d = 0.942
_v = np.array([-1.0, 0.4, 1.2, -0.3, 0.9])  # |v|^2/d = 0.7
POINTS = [
    ("x", _x0),
    ("x+1e-9d", _x0 + 1e-9 * _delta),
    ("x+1e-13d", _x0 + 1e-13 * _delta),
    ("-x", -_x0),
    ("2.5x", 2.5 * _x0),
    ("orth(x)", np.array([1.25, 0.375, 0.0, 0.0, 0.0])),
    ("zero", np.zeros(D)),
    ("small", 1.03e-3 * _u),  # |x|^2/d ~ 1e-6
    ("mid", 0.103 * _u),  # ~ 1e-2
    ("big", 37.8 * _v),  # ~ 1e3
]
NAMES = [p[0] for p in POINTS]
XALL = np.array([p[1] for p in POINTS])
assert float(XALL[0] @ XALL[5]) == 0.0


def _cycle(vals, n):
    return [vals[i % len(vals)] for i in range(n)]


VARCFG = {
    # name: (weight_var(depth), bias_var(depth), width(depth))
    "w1.7,b0": (lambda L: 1.7, lambda L: 0.0, lambda L: 512.0),
    "w1.3,b0.2": (lambda L: 1.3, lambda L: 0.2, lambda L: 512.0),
    "per-layer": (lambda L: _cycle([1.5, 2.0, 1.2, 1.8, 0.9, 1.1], L + 1),
                  lambda L: _cycle([0.1, 0.0, 0.3, 0.05, 0.0, 0.2], L + 1),
                  lambda L: _cycle([512.0, 256.0, 1024.0, 512.0, 128.0], L) if L > 0 else 512.0),
    "per-layer,b1=0": (lambda L: _cycle([1.2, 1.9, 0.8, 2.1], L + 1),
                       lambda L: _cycle([0.0, 0.3, 0.0, 0.1], L + 1),
                       lambda L: 512.0),
}
# exp's variance map q -> w e^{2q} blows up for w ~ 1: scale its weight variances down
WSCALE = {"exp": 0.1}


def _vars(act, cfg, L):
    wf, bf, nf = VARCFG[cfg]
    w, b = wf(L), bf(L)
    s = WSCALE.get(act, 1.0)
    w = [t * s for t in w] if isinstance(w, list) else w * s
    return w, b, nf(L)


_REF_CACHE = {}


def _ref(act, L, cfg, param, X=None, Y=None):
    """All-layer reference (K, Theta) on XALL (or X, Y), cached."""
    key = (act, L, cfg, param, None if X is None else X.tobytes(), None if Y is None else Y.tobytes())
    if key not in _REF_CACHE:
        w, b, n = _vars(act, cfg, L)
        _REF_CACHE[key] = mpref.kernel_ref(XALL if X is None else X, Y, L, act, w, b, param=param,
                                           width=n, all_layers=True)
    return _REF_CACHE[key]


def _kernel(X, Y, act, L, cfg, param, kind, all_layers=False, threads=None):
    w, b, n = _vars(act, cfg, L)
    kw = dict(depth=L, act=act, weight_var=w, bias_var=b, kind=kind, param=param, all_layers=all_layers)
    if param == "standard":
        kw["width"] = n
    if threads is not None:
        kw["threads"] = threads
    return np.asarray(dw.kernel(X, Y, **kw))


def _finite_points(K, T):
    """Indices of points whose reference diagonals stay below 1e300 in every layer (others overflow)."""
    keep = []
    for i in range(K.shape[1]):
        if all(abs(K[l, i, i]) < mpf("1e300") and abs(T[l, i, i]) < mpf("1e300") for l in range(K.shape[0])):
            keep.append(i)
    return keep


def _check_gram(section, act, got, ref, names_r, names_c, diag_r, diag_c, label, allow=None):
    """got (n, m) floats vs ref (n, m) mp; diag_r/diag_c: the reference diagonals of the same quantity."""
    fails = []
    for i in range(ref.shape[0]):
        for j in range(ref.shape[1]):
            scale = mpmath.sqrt(abs(diag_r[i] * diag_c[j]))
            f = _compare(section, act, got[i, j], ref[i, j], scale, f"{label} ({names_r[i]}, {names_c[j]})",
                         0 if allow is None else allow[i, j])
            if f:
                fails.append(f)
    return fails


# The step kernel is degree-0 homogeneous: from layer 2 on the angle map is theta' ~ sqrt(theta) near 0, whose
# condition number is unbounded, so (nearly) parallel inputs are ill-posed in float64 (a 1-ulp change of one input
# moves the exact K^4 of (x, 2.5x) by ~2e-5). There the tolerance also admits the change of the exact value when
# every input is perturbed by 4 ulps (a fixed random direction): deepwick must be backward stable.
ILL_CONDITIONED = {"step"}
PERTURB_ULPS = 4


def _sensitivity(act, L, cfg, param, X, Y=None):
    """|K_ref(X') - K_ref(X)| per entry and layer for X' = X (1 + 4 eps r), r = +-1 fixed; None if well posed."""
    if act not in ILL_CONDITIONED or L < 2:
        return None
    r = np.random.default_rng(11).choice([-1.0, 1.0], size=X.shape)
    Xp = X * (1 + PERTURB_ULPS * np.finfo(np.float64).eps * r)
    Yp = None
    if Y is not None:
        rY = np.random.default_rng(12).choice([-1.0, 1.0], size=Y.shape)
        Yp = Y * (1 + PERTURB_ULPS * np.finfo(np.float64).eps * rY)
    K0, T0 = _ref(act, L, cfg, param, X, Y)
    Kp, Tp = _ref(act, L, cfg, param, Xp, Yp)
    sens = lambda A, B: np.vectorize(lambda u, v: abs(u - v), otypes=[object])(A, B)
    return sens(Kp, K0), sens(Tp, T0)


def _depths(act):
    return [0, 1, 3, 5] + ([10] if act in ("relu", "erf") else [])


KERNEL_CASES = [(act, L, cfg, param) for act in ACTS for L in _depths(act) for cfg in VARCFG
                for param in ("ntk", "standard")]


@pytest.mark.parametrize("act,L,cfg,param", KERNEL_CASES,
                         ids=[f"{a}-L{L}-{c}-{p}" for a, L, c, p in KERNEL_CASES])
def test_kernel(act, L, cfg, param):
    Kall, Tall = _ref(act, L, cfg, param)
    keep = _finite_points(Kall, Tall)
    X = XALL[keep]
    names = [NAMES[i] for i in keep]
    Kr = Kall[-1][np.ix_(keep, keep)]
    Tr = Tall[-1][np.ix_(keep, keep)]
    dK = [Kall[-1][i, i] for i in keep]
    dT = [Tall[-1][i, i] for i in keep]
    sens = _sensitivity(act, L, cfg, param, XALL)
    aK = aT = None
    if sens is not None:
        aK, aT = sens[0][-1][np.ix_(keep, keep)], sens[1][-1][np.ix_(keep, keep)]
    both = _kernel(X, None, act, L, cfg, param, "both")
    assert both.shape == (2, len(keep), len(keep)), f"kind='both' shape {both.shape}"
    nngp = _kernel(X, None, act, L, cfg, param, "nngp")
    ntk = _kernel(X, None, act, L, cfg, param, "ntk")
    assert nngp.shape == ntk.shape == (len(keep), len(keep))
    fails = []
    tag = f"L={L} {cfg} {param}"
    fails += _check_gram("nngp", act, both[0], Kr, names, names, dK, dK, f"K both {tag}", aK)
    fails += _check_gram("ntk", act, both[1], Tr, names, names, dT, dT, f"Theta both {tag}", aT)
    fails += _check_gram("nngp", act, nngp, Kr, names, names, dK, dK, f"K nngp {tag}", aK)
    fails += _check_gram("ntk", act, ntk, Tr, names, names, dT, dT, f"Theta ntk {tag}", aT)
    _report(fails, f"kernel({act}, depth={L}, {cfg}, param={param})")


XY_ACTS = ACTS


@pytest.mark.parametrize("act", XY_ACTS)
def test_kernel_xy_all_layers(act):
    """Explicit Y (a different point set, the non-symmetric path) and all_layers=True against the reference."""
    L, cfg = 3, "per-layer"
    X = XALL[[0, 3, 4, 6, 7, 9]]
    Y = XALL[[1, 2, 5, 8, 0]]
    nx, ny = ["x", "-x", "2.5x", "zero", "small", "big"], ["x+1e-9d", "x+1e-13d", "orth(x)", "mid", "x"]
    for param in ("ntk", "standard"):
        Kall, Tall = _ref(act, L, cfg, param, X, Y)
        Kxx, Txx = _ref(act, L, cfg, param, X, None)
        Kyy, Tyy = _ref(act, L, cfg, param, Y, None)
        kx, ky = _finite_points(Kxx, Txx), _finite_points(Kyy, Tyy)
        sens = _sensitivity(act, L, cfg, param, X, Y)
        got = _kernel(X[kx], Y[ky], act, L, cfg, param, "both", all_layers=True)
        assert got.shape == (2, L + 1, len(kx), len(ky)), f"all_layers shape {got.shape}"
        plain = _kernel(X[kx], Y[ky], act, L, cfg, param, "both")
        assert np.array_equal(got[:, -1], plain), "all_layers' last layer differs from the plain output"
        fails = []
        for l in range(L + 1):
            for sec, q, R, DX, DY in (("nngp", 0, Kall, Kxx, Kyy), ("ntk", 1, Tall, Txx, Tyy)):
                fails += _check_gram(sec, act, got[q, l], R[l][np.ix_(kx, ky)], [nx[i] for i in kx],
                                     [ny[j] for j in ky], [DX[l][i, i] for i in kx], [DY[l][j, j] for j in ky],
                                     f"{'K' if q == 0 else 'Theta'} layer {l + 1} {param} X,Y",
                                     None if sens is None or l < 1 else sens[q][l][np.ix_(kx, ky)])
        _report(fails, f"kernel({act}, X, Y, all_layers, param={param})")


@pytest.mark.parametrize("act", ["exp", "poly:0.1,0.9,0.2,-0.05"])
def test_kernel_overflow_raises(act):
    """Where the reference kernel exceeds the double range, deepwick raises ValueError mentioning overflow."""
    L, cfg, param = 5, "w1.7,b0", "ntk"
    Kall, Tall = _ref(act, L, cfg, param)
    big = NAMES.index("big")
    assert big not in _finite_points(Kall, Tall) and abs(Kall[-1][big, big]) > DBL_MAX
    with pytest.raises(ValueError, match="(?i)overflow"):
        _kernel(XALL, None, act, L, cfg, param, "both")


# ------------------------------------------------------------------------------------------------------------
# structural properties
# ------------------------------------------------------------------------------------------------------------
def _rand_inputs(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[1] = X[0] + 1e-13 * rng.standard_normal(d)
    X[2] = -X[0]
    X[3] = 0.0
    X[4] = 1e-3 * X[5]
    X[6] = 30.0 * X[7]
    return X


SYM_ACTS = ["relu", "leaky_relu:0.1", "abs", "step", "erf", "sin", "cos", "exp", "poly:0.1,0.9,0.2,-0.05"]


@pytest.mark.parametrize("act", SYM_ACTS)
@pytest.mark.parametrize("param", ["ntk", "standard"])
def test_symmetric_and_x_copy(act, param):
    X = _rand_inputs(24, 5, 1)
    if act == "exp":
        X[6] = 3.0 * X[7]
    L, cfg = 3, "per-layer"
    G = _kernel(X, None, act, L, cfg, param, "both")
    assert np.all(np.isfinite(G))
    for q in range(2):
        assert np.array_equal(G[q], G[q].T), f"{act}: kind {q} K(X, X) not exactly symmetric"
    H = _kernel(X, X.copy(), act, L, cfg, param, "both")
    for q in range(2):
        d = np.sqrt(np.abs(np.outer(np.diag(G[q]), np.diag(G[q]))))
        # Two routes to the same numbers (the symmetric path takes the diagonal from the per-point recursion,
        # the (X, Y) path from the GEMM): each meets the 1e-12 target, so they agree within twice it.
        bad = np.abs(H[q] - G[q]) > 2 * float(RTOL) * np.maximum(np.abs(G[q]), d)
        assert not bad.any(), (f"{act} {param} kind {q}: K(X, X.copy()) differs from K(X) beyond 2e-12 at "
                               f"{np.argwhere(bad)[:5].tolist()}")


@pytest.mark.parametrize("case", ["relu-L20-w2-b0", "relu-L20-w2-b0.1", "erf-L20-w10-b0", "erf-L30-w10-b0.5",
                                  "abs-L20-w1-b0", "step-L20-w3-b0"])
def test_deep_finite(case):
    act, L, w, b = case.split("-")
    L, w, b = int(L[1:]), float(w[1:]), float(b[1:])
    X = _rand_inputs(40, 5, 2)
    for param in ("ntk", "standard"):
        kw = dict(depth=L, act=act, weight_var=w, bias_var=b, kind="both", param=param)
        if param == "standard":
            kw["width"] = 512.0
        G = np.asarray(dw.kernel(X, **kw))
        assert np.all(np.isfinite(G)), f"{case} {param}: non-finite entries at {np.argwhere(~np.isfinite(G))[:5]}"
        A = np.asarray(dw.kernel(X, all_layers=True, **kw))
        assert np.all(np.isfinite(A)), f"{case} {param}: non-finite entries in all_layers"
        assert np.array_equal(A[:, -1], G), f"{case} {param}: all_layers' last layer differs from plain output"


@pytest.mark.parametrize("act", ["relu", "erf", "abs"])
def test_all_layers_last_equals_plain(act):
    X = _rand_inputs(15, 5, 3)
    for param in ("ntk", "standard"):
        for kind in ("nngp", "ntk", "both"):
            A = _kernel(X, None, act, 5, "per-layer", param, kind, all_layers=True)
            P = _kernel(X, None, act, 5, "per-layer", param, kind)
            last = A[:, -1] if kind == "both" else A[-1]
            assert np.array_equal(last, P), f"{act} {param} {kind}: last layer differs"


@pytest.mark.parametrize("act", ["relu", "erf", "leaky_relu:0.1", "poly:0.1,0.9,0.2,-0.05"])
def test_threads_bit_identical(act):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 7))
    X[1] = X[0] + 1e-13
    for param in ("ntk", "standard"):
        a = _kernel(X, None, act, 3, "per-layer", param, "both", threads=1)
        b = _kernel(X, None, act, 3, "per-layer", param, "both", threads=2)
        assert np.array_equal(a, b), f"{act} {param}: threads=1 and threads=2 differ"
        Y = X[:120].copy()
        a = _kernel(X, Y, act, 3, "per-layer", param, "both", threads=1)
        b = _kernel(X, Y, act, 3, "per-layer", param, "both", threads=2)
        assert np.array_equal(a, b), f"{act} {param} (X, Y): threads=1 and threads=2 differ"
