"""deepwick.predict, deepwick.kernel_regression and `deepwick predict`, each route against another:

* gp_inference against scikit-learn's KernelRidge(kernel='precomputed') (mean) and GaussianProcessRegressor with a
  fixed kernel (mean and covariance), on load_digits subsets, NNGP and NTK kernels;
* the finite-t formulas (gradient_descent_mse, gradient_descent_mse_ensemble, both covariance forms) against an
  independent numpy eigendecomposition route; the t -> 0 and t -> infinity limits;
* a 50-digit mpmath solve of a tiny problem;
* kernel_regression equals the given-kernel route; integer labels are one-hot and centred;
* the CLI equals kernel_regression; bad input (issue 23 part 6): one error line, non-zero exit, no output file.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402
from deepwick import predict as P  # noqa: E402

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.gaussian_process.kernels import Kernel  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402

NET = dict(depth=3, act="relu", weight_var=2.0, bias_var=0.1)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = d.data / 16.0
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    tr, te = idx[:300], idx[300:380]
    return X[tr], d.target[tr], X[te], d.target[te]


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def kernels(X, T, **net):
    K, Th = dw.kernel(X, **net, kind="both")
    Kt, Tht = dw.kernel(T, X, **net, kind="both")
    Ktt, Thtt = dw.kernel(T, **net, kind="both")
    return K, Th, Kt, Tht, Ktt, Thtt


class _Fixed(Kernel):
    """scikit-learn kernel wrapping deepwick's NNGP, no hyperparameters (GaussianProcessRegressor, optimizer=None)."""

    def __init__(self, kind="nngp"):
        self.kind = kind

    def __call__(self, X, Y=None, eval_gradient=False):
        assert not eval_gradient
        return dw.kernel(X, Y, kind=self.kind, **NET)

    def diag(self, X):
        return np.diag(self(X))

    def is_stationary(self):
        return False


@pytest.mark.parametrize("g", ["nngp", "ntk"])
def test_gp_inference_vs_sklearn(digits, g):
    X, lab, T, _ = digits
    y = P.one_hot(lab)
    K, Th, Kt, Tht, Ktt, _ = kernels(X, T, **NET)
    k, kt = (K, Kt) if g == "nngp" else (Th, Tht)
    diag_reg = 1e-3
    lam = diag_reg * np.trace(k) / len(k)
    fn = P.gp_inference(k, y, diag_reg=diag_reg)
    mean = fn(g, kt)
    kr = KernelRidge(alpha=lam, kernel="precomputed").fit(k, y)
    assert rel(mean, kr.predict(kt)) < 1e-10
    info = fn.info(g)
    assert info["solver"] == "cholesky" and info["jitter"] == pytest.approx(lam, rel=1e-14)
    ev = np.linalg.eigvalsh(k + lam * np.eye(len(k)))
    assert ev[0] <= info["lambda_min"] <= ev[0] * 1.5  # the inverse-iteration estimate: an upper bound, close
    cond1 = np.linalg.cond(k + lam * np.eye(len(k)), 1)
    assert 0.1 / cond1 <= info["rcond"] <= 10 / cond1  # dpocon's estimate of 1 / cond_1
    if g == "nngp":
        # the GP posterior with the same (fixed) kernel: mean and covariance
        gp = GaussianProcessRegressor(kernel=_Fixed(), alpha=lam, optimizer=None, normalize_y=False).fit(X, y)
        m2, c2 = gp.predict(T, return_cov=True)
        post = fn("nngp", kt, Ktt)
        assert rel(post.mean, m2) < 1e-10
        assert rel(post.covariance, c2[..., 0]) < 1e-9 and np.array_equal(c2[..., 0], c2[..., 9])


def test_gp_inference_ntk_cov_and_tuple(digits):
    X, lab, T, _ = digits
    y = P.one_hot(lab[:100])[:, :3]
    K, Th, Kt, Tht, Ktt, Thtt = kernels(X[:100], T[:20], **NET)
    Kern = P.KernelFn.Kernel
    fn = P.gp_inference(Kern(K, Th), y, diag_reg=1e-4)
    out = fn(None, Kern(Kt, Tht), Kern(Ktt, Thtt))
    assert out._fields == ("nngp", "ntk")
    lam = 1e-4 * np.trace(Th) / len(Th)
    A = Th + lam * np.eye(len(Th))
    T1 = np.linalg.solve(A, Tht.T)
    T2 = Tht @ np.linalg.solve(A, Kt.T)
    ref = Ktt + T1.T @ K @ T1 - T2 - T2.T
    assert rel(out.ntk.covariance, ref) < 1e-9
    assert rel(out.ntk.mean, Tht @ np.linalg.solve(A, y)) < 1e-10
    # ntkgp: the NNGP form with the NTK
    g = fn("ntkgp", Kern(Kt, Tht), Kern(Ktt, Thtt))
    assert rel(g.covariance, Thtt - Tht @ np.linalg.solve(A, Tht.T)) < 1e-9
    # train set: y_train and zero covariance
    tr = fn("nngp", None, True)
    assert np.array_equal(tr.mean, y) and not tr.covariance.any()


def _eig_route(A, B, g):
    ev, V = np.linalg.eigh(A)
    return V @ (g(ev)[:, None] * (V.T @ B))


@pytest.mark.parametrize("lr", [1.0, 0.3])
def test_gradient_descent_mse_vs_numpy(digits, lr):
    X, lab, T, _ = digits
    y = P.one_hot(lab)
    _, Th, _, Tht, _, _ = kernels(X[:150], T, **NET)
    y = y[:150]
    rng = np.random.default_rng(1)
    f0, g0 = 0.1 * rng.normal(size=y.shape), 0.1 * rng.normal(size=(len(T), y.shape[1]))
    fn = P.gradient_descent_mse(Th, y, learning_rate=lr, diag_reg=1e-4)
    A = Th + 1e-4 * np.trace(Th) / len(Th) * np.eye(len(Th))
    ts = np.array([[0.5, 20.0], [300.0, 1e4]])
    ftr, fte = fn(ts, f0, g0, Tht)
    assert ftr.shape == (2, 2) + y.shape and fte.shape == (2, 2) + g0.shape
    for idx in np.ndindex(ts.shape):
        tau = lr * ts[idx] / y.size
        rtr = f0 + _eig_route(A, f0 - y, lambda e: np.expm1(-e * tau))
        rte = g0 + Tht @ _eig_route(A, f0 - y, lambda e: np.expm1(-e * tau) / e)
        assert rel(ftr[idx], rtr) < 1e-10 and rel(fte[idx], rte) < 1e-10
    # limits: t = 0 gives the initial outputs, t = None the Cholesky route (y on the train set), and a large t
    # approaches it
    a, b = fn(0.0, f0, g0, Tht)
    assert np.array_equal(a, f0) and np.array_equal(b, g0)
    a, b = fn(None, f0, g0, Tht)
    assert np.array_equal(a, y)
    assert rel(b, g0 + Tht @ np.linalg.solve(A, y - f0)) < 1e-10
    assert rel(fn(1e14, None, g0, Tht), g0 + Tht @ np.linalg.solve(A, y)) < 1e-8
    # fx_train_0 None: test outputs only, with f0 = 0 on the train side
    assert rel(fn(None, None, 0.0, Tht), Tht @ np.linalg.solve(A, y)) < 1e-10
    assert fn.info("ntk")["solver"] == "cholesky+eigh" and fn.info("ntk")["lambda_min_exact"]


def test_ensemble_vs_numpy(digits):
    X, lab, T, _ = digits
    X, T = X[:120], T[:30]
    y = P.one_hot(lab[:120])
    kf = P.kernel_fn(**NET)
    K, Th, Kt, Tht, Ktt, _ = kernels(X, T, **NET)
    fn = P.gradient_descent_mse_ensemble(kf, X, y, learning_rate=2.0, diag_reg=1e-3)
    t = 50.0
    tau = 2.0 * t / y.size
    out = fn(t, T, None, compute_cov=True)
    for g, k, kt in (("nngp", K, Kt), ("ntk", Th, Tht)):
        A = k + 1e-3 * np.trace(k) / len(k) * np.eye(len(k))
        f = lambda e, s=tau: -np.expm1(-e * s) / e  # noqa: E731
        mean = kt @ _eig_route(A, y, f)
        assert rel(getattr(out, g).mean, mean) < 1e-10
        if g == "nngp":
            cov = Ktt - Kt @ _eig_route(A, Kt.T, lambda e: -np.expm1(-2 * e * tau) / e)
        else:
            T1 = _eig_route(A, Tht.T, f)
            T2 = Tht @ _eig_route(A, Kt.T, f)
            cov = Ktt + T1.T @ K @ T1 - T2 - T2.T
        assert rel(getattr(out, g).covariance, cov) < 1e-9
    # t -> 0: mean 0, the prior covariance; t -> infinity: gp_inference
    z = fn(0.0, T, "ntk", compute_cov=True)
    assert not z.mean.any() and rel(z.covariance, Ktt) < 1e-12
    inf = fn(None, T, "ntk", compute_cov=True)
    gp = P.gp_inference(P.KernelFn.Kernel(K, Th), y, diag_reg=1e-3)("ntk", P.KernelFn.Kernel(Kt, Tht),
                                                                    P.KernelFn.Kernel(Ktt, None))
    assert rel(inf.mean, gp.mean) < 1e-12 and rel(inf.covariance, gp.covariance) < 1e-12
    big = fn(1e12, T, "ntk", compute_cov=True)
    assert rel(big.mean, inf.mean) < 1e-8 and rel(big.covariance, inf.covariance) < 1e-6
    # train set at finite t (x_test None), and several times at once
    trm = fn(t, None, "nngp")
    A = K + 1e-3 * np.trace(K) / len(K) * np.eye(len(K))
    assert rel(trm, _eig_route(A, y, lambda e: -np.expm1(-e * tau))) < 1e-10
    many = fn(np.array([t, 2 * t]), T, "nngp")
    assert many.shape == (2, len(T), y.shape[1]) and rel(many[0], out.nngp.mean) < 1e-14


def test_mpmath_50_digits():
    """A tiny problem solved with 50 digits: the double result is within cond(A) * n * eps."""
    rng = np.random.default_rng(3)
    X, T, y = rng.normal(size=(8, 3)), rng.normal(size=(3, 3)), rng.normal(size=(8, 2))
    K = dw.kernel(X, **NET)
    Kt = dw.kernel(T, X, **NET)
    mean = P.gp_inference(K, y, diag_reg=1e-6)("nngp", Kt)
    mpmath.mp.dps = 50
    lam = mpmath.mpf(1e-6) * mpmath.fsum(mpmath.mpf(float(K[i, i])) for i in range(8)) / 8
    A = mpmath.matrix([[mpmath.mpf(float(K[i, j])) + (lam if i == j else 0) for j in range(8)] for i in range(8)])
    ref = np.zeros_like(mean)
    for c in range(2):
        a = mpmath.lu_solve(A, mpmath.matrix([mpmath.mpf(float(v)) for v in y[:, c]]))
        for r in range(3):
            ref[r, c] = float(mpmath.fsum(mpmath.mpf(float(Kt[r, j])) * a[j] for j in range(8)))
    cond = np.linalg.cond(K + float(lam) * np.eye(8))
    assert np.max(np.abs(mean - ref)) <= 8 * cond * np.finfo(float).eps * np.max(np.abs(ref)) * 10


def test_kernel_regression(digits):
    X, lab, T, tlab = digits
    y = P.one_hot(lab)
    assert np.allclose(y.sum(axis=1), 1 - 10 / 10) and y.max() == 1 - 1 / 10
    K, Th, Kt, Tht, Ktt, _ = kernels(X, T, **NET)
    for kind in ("nngp", "ntk"):
        k, kt = (K, Kt) if kind == "nngp" else (Th, Tht)
        mean, info = dw.kernel_regression(X, lab, T, **NET, kind=kind, diag_reg=1e-3, return_info=True)
        assert np.array_equal(mean, P.gp_inference(k, y, diag_reg=1e-3)(kind, kt))
        assert info["solver"] == "cholesky" and info["reason"].startswith("auto: cholesky")
        assert np.mean(mean.argmax(axis=1) == tlab) > 0.9
        # finite t and the covariance: the ensemble route
        m2, c2 = dw.kernel_regression(X, y, T, **NET, kind=kind, t=30.0, diag_reg=1e-3, return_cov=True)
        e = P.gradient_descent_mse_ensemble(P.kernel_fn(**NET), X, y, diag_reg=1e-3)(30.0, T, kind, compute_cov=True)
        assert np.array_equal(m2, e.mean) and np.array_equal(c2, e.covariance)
    # 1-D float targets give 1-D predictions
    m1 = dw.kernel_regression(X, y[:, 0], T, **NET, diag_reg=1e-3)
    assert m1.shape == (len(T),)


def test_cg_equals_cholesky(digits):
    """The matrix-free route equals the dense one to its tolerance; the preconditioner cuts the iterations."""
    X, lab, T, _ = digits
    X, lab = X[:120], lab[:120]
    for kind in ("nngp", "ntk"):
        ref, ri = dw.kernel_regression(X, lab, T, **NET, kind=kind, diag_reg=1e-3, solver="cholesky",
                                       return_info=True)
        its = {}
        for rank in (0, 30):
            got, info = dw.kernel_regression(X, lab, T, **NET, kind=kind, diag_reg=1e-3, solver="cg", tol=1e-12,
                                             rank=rank, return_info=True)
            assert info["solver"] == "cg" and info["residual"] <= 1e-11 and info["rank"] == rank
            # |x - x*| / |x*| <= cond(A) * residual: rcond from dpocon, a margin of 10
            assert rel(got, ref) < 10 * 1e-12 / ri["rcond"]
            its[rank] = info["iterations"]
        assert its[30] < its[0]
    # the covariance by cg on the test columns (both forms), against the dense route; refused at a finite t
    for kind in ("nngp", "ntk"):
        ref, rc, ri = dw.kernel_regression(X, lab, T, **NET, kind=kind, diag_reg=1e-3, solver="cholesky",
                                           return_cov=True, return_info=True)
        got, gc = dw.kernel_regression(X, lab, T, **NET, kind=kind, diag_reg=1e-3, solver="cg", tol=1e-12, rank=30,
                                       return_cov=True)
        assert rel(got, ref) < 10 * 1e-12 / ri["rcond"] and rel(gc, rc) < 10 * 1e-12 / ri["rcond"]
    with pytest.raises(dw.InputError, match="return_cov: the covariance at a finite t needs solver 'cholesky'"):
        dw.kernel_regression(X, lab, T, **NET, solver="cg", t=1.0, return_cov=True)
    # a finite t: Lanczos, against the dense eigendecomposition route
    for t in (3.0, 500.0):
        ref = dw.kernel_regression(X, lab, T, **NET, kind="ntk", diag_reg=1e-3, t=t, solver="cholesky")
        got, info = dw.kernel_regression(X, lab, T, **NET, kind="ntk", diag_reg=1e-3, t=t, solver="cg", tol=1e-13,
                                         return_info=True)
        assert info["solver"] == "lanczos" and rel(got, ref) < 1e-11


def test_cg_bits_any_cores(tmp_path):
    """`deepwick predict --solver cg` gives the same bytes whatever the BLAS thread count (OMP_NUM_THREADS) and the
    cores visible (taskset), and for --threads 1 / 2: the BLAS calls outside the tiled products run on one thread."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((300, 4))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1))
    np.save(tmp_path / "t.npy", rng.standard_normal((40, 4)))
    args = [str(CLI), "predict", "--train", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"), "--test",
            str(tmp_path / "t.npy"), "--depth", "2", "--act", "erf", "--diag-reg", "1e-4", "--tol", "1e-12",
            "--solver", "cg"]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    runs = [([], {"OMP_NUM_THREADS": "1"}, "1"), ([], {"OMP_NUM_THREADS": "2"}, "1"), ([], {}, "2"),
            ([], {"OMP_NUM_THREADS": "3"}, "3")]
    if shutil.which("taskset"):
        runs.append((["taskset", "-c", "0"], {}, "2"))
    outs = []
    for i, (pre, extra, threads) in enumerate(runs):
        out = tmp_path / f"p{i}.npy"
        r = subprocess.run(pre + args + ["--threads", threads, "--out", str(out)], capture_output=True, text=True,
                           timeout=300, env=dict(env, **extra))
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert all(o == outs[0] for o in outs[1:])


def test_bad_input(digits):
    X, lab, T, _ = digits
    K = dw.kernel(X[:20], **NET)
    Kt = dw.kernel(T[:5], X[:20], **NET)
    y = P.one_hot(lab[:20])
    with pytest.raises(dw.InputError, match="diag_reg: expected a finite value >= 0"):
        P.gp_inference(K, y, diag_reg=-1.0)
    with pytest.raises(dw.InputError, match=r"k_train_train: expected shape \(19 x 19\)"):
        P.gp_inference(K, y[:19])("nngp", Kt)
    with pytest.raises(dw.InputError, match=r"k_test_train: expected shape \(\* x 20\)"):
        P.gp_inference(K, y)("nngp", Kt[:, :19])
    yn = y.copy()
    yn[3, 1] = np.nan
    with pytest.raises(dw.InputError, match=r"y_train: entry \(3, 1\) is nan"):
        P.gp_inference(K, yn)("nngp", Kt)
    with pytest.raises(dw.InputError, match="t: expected a time t >= 0"):
        P.gradient_descent_mse(K, y)(-1.0, 0.0, 0.0, Kt)
    with pytest.raises(dw.InputError, match=r"not positive definite .*lambda_min = .*diag_reg >= "):
        P.gp_inference(K - np.eye(20), y)("nngp", Kt)
    with pytest.raises(dw.InputError, match="no test points"):
        P.gp_inference(K, y)("nngp", Kt[:0])
    with pytest.raises(dw.InputError, match="X_test: no test points"):
        dw.kernel_regression(X, lab, T[:0], **NET)
    with pytest.raises(dw.InputError, match="y_train: has 299 rows but X_train has 300"):
        dw.kernel_regression(X, lab[:-1], T, **NET)
    with pytest.raises(dw.InputError, match="kind: expected 'nngp' or 'ntk'"):
        dw.kernel_regression(X, lab, T, **NET, kind="both")
    with pytest.raises(dw.InputError, match="solver: expected"):
        dw.kernel_regression(X, lab, T, **NET, solver="lu")
    with pytest.raises(dw.InputError, match="trace_axes: only"):
        P.gp_inference(K, y, trace_axes=())
    # the diag_reg the message names makes the kernel definite (relative; and absolute when the trace is negative)
    for B, absolute in ((K - 0.3 * np.mean(np.diag(K)) * np.eye(20), False), (K - 5 * np.eye(20), True)):
        with pytest.raises(dw.InputError, match="absolute" if absolute else "would make it definite") as e:
            P.gp_inference(B, y)("nngp", Kt)
        need = float(str(e.value).split("diag_reg >= ")[1].split()[0])
        fn = P.gp_inference(B, y, diag_reg=need, diag_reg_absolute_scale=absolute)
        assert np.isfinite(fn("nngp", Kt)).all() and fn.info("nngp")["lambda_min"] > 0


def run(*args, cwd):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli(digits, tmp_path):
    X, lab, T, _ = digits
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", T)
    np.save(tmp_path / "L.npy", lab.astype(np.float64))
    np.save(tmp_path / "Y.npy", P.one_hot(lab))
    net = ["--depth", 3, "--act", "relu", "--weight-var", 2, "--bias-var", 0.1]
    p = run("predict", "--train", "X.npy", "--labels", "L.npy", "--classes", "--test", "T.npy", *net, "--diag-reg",
            1e-3, "--kind", "ntk", "--out", "P.npy", "--cov", "C.npy", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    import json
    js = json.loads(p.stdout)
    assert js["solver_used"] == "cholesky" and js["k"] == 10
    m, c = dw.kernel_regression(X, lab, T, **NET, kind="ntk", diag_reg=1e-3, return_cov=True)
    assert np.array_equal(np.load(tmp_path / "P.npy"), m) and np.array_equal(np.load(tmp_path / "C.npy"), c)
    np.save(tmp_path / "Lbad.npy", np.where(np.arange(len(lab)) == 7, np.nan, lab))
    np.save(tmp_path / "T0.npy", T[:0])
    np.save(tmp_path / "Tbad.npy", T[:, :10])
    bad = [
        (["--labels", "L.npy", "--test", "Tbad.npy"], "columns"),
        (["--labels", "Lbad.npy", "--test", "T.npy"], "nan"),
        (["--labels", "L.npy", "--test", "T.npy", "--t", -1], "t: expected"),
        (["--labels", "L.npy", "--test", "T.npy", "--diag-reg", -1], "diag_reg"),
        (["--labels", "L.npy", "--test", "T0.npy"], "no input points"),
        (["--labels", "missing.npy", "--test", "T.npy"], "missing.npy"),
        (["--labels", "Y.npy", "--classes", "--test", "T.npy"], "one column"),
        (["--labels", "L.npy", "--test", "T.npy", "--tol", 2], "tol: expected a value in (0, 1)"),
        (["--labels", "L.npy", "--test", "T.npy", "--solver", "cg", "--rank", 0, "--max-iter", 1], "not converged"),
    ]
    for args, what in bad:
        p = run("predict", "--train", "X.npy", *args, *net, "--out", "Q.npy", cwd=tmp_path)
        assert p.returncode != 0
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and what in lines[0], (args, p.stderr)
        assert not (tmp_path / "Q.npy").exists()
    # an indefinite kernel: the same one line naming lambda_min (duplicated points, diag_reg 0, Cholesky pivot)
    np.save(tmp_path / "Xd.npy", np.vstack([X[:10], X[:10]]))
    np.save(tmp_path / "Ld.npy", np.concatenate([lab[:10], lab[:10]]).astype(float))
    p = run("predict", "--train", "Xd.npy", "--labels", "Ld.npy", "--classes", "--test", "T.npy", *net, "--out",
            "Q.npy", cwd=tmp_path)
    assert p.returncode != 0 and "lambda_min" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "Q.npy").exists()
