"""deepwick demo: infinite-width NNGP / NTK kernels on built-in data sets -> a self-contained HTML report.

Run by `make demo` as

    .venv/bin/python demo/report.py --out demo/report.html

Nothing is downloaded: the data are made here, with fixed seeds.
* circle: points (cos t, sin t) on the unit circle, t in [0, 180] degrees, lifted into d = 10 by a fixed random
  orthogonal map Q (10 x 2) and scaled to |x|^2 = s d, so that the input angle t is known exactly and
  K^1(x, y) = weight_var s cos t + bias_var (theory.md 1.2);
* moons: a small two-moons classification set in the plane, lifted into d = 10 by the same map.
* digits: scikit-learn's bundled load_digits (no download), section (h), demo/sec_accuracy.py; trained finite
  networks against the NTK prediction on digits, section (h2), demo/sec_gd_width.py (numpy trainer demo/gd_net.py).
* MNIST-1D: generated offline by the mnist1d package's generator, section (a1), demo/sec_arch.py.

The report is a list of sections (SECTIONS below); each section is a function ctx -> Section that may add lines to
the stdout summary. A later capability adds a function to the list. The HTML embeds its figures as base64 PNG
(matplotlib, Agg backend) and has no scripts and no external files; it is written atomically.

`--write-data DIR` writes the small input files used by the reproduction commands of section (c) and exits.
"""
import argparse
import base64
import html
import io
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "demo"))
import deepwick  # noqa: E402

CLI = ROOT / "build" / "bin" / "deepwick"
D = 10                      # ambient input dimension
DEPTHS = [1, 2, 4, 8, 16]   # depths shown in section (a)
SEED = 20240607


# ----------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------

def lift_map(d=D, seed=SEED):
    """A fixed random d x 2 matrix with orthonormal columns."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, 2)))
    return q * np.sign(np.diag(r))


def circle(angles_deg, scale=1.0, d=D):
    """Points at the given angles on the circle of radius sqrt(scale * d) in a 2-plane of R^d."""
    t = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.sqrt(scale * d) * np.stack([np.cos(t), np.sin(t)], axis=1) @ lift_map(d).T


def two_moons(n, noise=0.2, seed=1):
    """n points of two interleaved half circles with Gaussian noise; labels +1 / -1. Returns (P2, y)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 2, size=n)
    t = rng.uniform(0, np.pi, size=n)
    P = np.where(k[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    P = P + noise * rng.normal(size=P.shape)
    return P, np.where(k == 0, 1.0, -1.0)


def moons_lift(P):
    """Centre and scale the plane like the training set, then lift into R^D (|x|^2 ~ D)."""
    return (P - np.array([0.5, 0.25])) * np.sqrt(D) / 0.9 @ lift_map().T


TABLE_ANGLES = [0, 30, 60, 90, 120, 180]


def write_data(directory):
    """The files the commands of section (c) read: circle6.npy (6 points at TABLE_ANGLES degrees, |x|^2 = d)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "circle6.npy", circle(TABLE_ANGLES))
    return directory / "circle6.npy"


# ----------------------------------------------------------------------------------------------------------------
# settings and fixed points (theory.md 1.2: the diagonal map q -> w E[phi^2] + b, the correlation map, its slope)
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class Setting:
    act: str
    w: float            # weight_var = sigma_w^2 = W_std**2
    b: float            # bias_var = sigma_b^2
    label: str = ""

    @property
    def name(self):
        return "%s (w=%.4g, b=%.4g)" % (self.act, self.w, self.b)


def q_star(s, q=1.0, iters=20000):
    """Fixed point of the length map q -> w E[phi(sqrt(q) Z)^2] + b (iterated; homogeneous acts: any q)."""
    for _ in range(iters):
        v, _ = deepwick.dual(s.act, q, q, q)
        qn = s.w * float(v) + s.b
        if not np.isfinite(qn) or qn > 1e12:
            return float("inf")
        if abs(qn - q) <= 1e-15 * max(q, 1e-300):
            return qn
        q = qn
    return q


def corr_map(s, q, rho):
    """f(rho) = (w E[phi(u)phi(v)] + b) / q and f'(rho) = w E[phi'(u)phi'(v)] at u, v ~ N(0, q [[1,rho],[rho,1]])."""
    rho = np.asarray(rho, dtype=np.float64)
    v, vd = deepwick.dual(s.act, q, q, rho * q)
    return (s.w * v + s.b) / q, s.w * vd


def rho_star(s, q):
    """Stable fixed point of the correlation map: 1 if f'(1) <= 1, else the root of f(rho) = rho in [-1, 1)."""
    chi1 = float(corr_map(s, q, 1.0)[1])
    if chi1 <= 1 + 1e-9:
        return 1.0
    lo, hi = -1.0, 1.0 - 1e-6    # f(rho) - rho > 0 below rho*, < 0 between rho* and 1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(corr_map(s, q, mid)[0]) - mid > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def edge_of_chaos(act, b):
    """weight_var with chi_1 = w E[phi'(sqrt(q*) Z)^2] = 1 at the given bias_var (the library's deepwick.criticality)."""
    return deepwick.criticality(act, b)[0]


def phase(chi1):
    if abs(chi1 - 1) < 1e-6:
        return "critical"
    return "ordered" if chi1 < 1 else "chaotic"


# ----------------------------------------------------------------------------------------------------------------
# report plumbing
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class Section:
    title: str
    html: str
    summary: list = field(default_factory=list)   # lines for stdout


class Ctx:
    """What the sections share: timings and results other sections may reuse."""

    def __init__(self):
        self.timings = []     # (what, seconds)
        self.store = {}

    def timed(self, what, fn, *a, **k):
        t0 = time.perf_counter()
        r = fn(*a, **k)
        self.timings.append((what, time.perf_counter() - t0))
        return r


def fig_html(fig, alt, width=None):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    style = ' style="max-width:100%%;width:%dpx"' % width if width else ' style="max-width:100%"'
    return '<img alt="%s" src="data:image/png;base64,%s"%s>' % (html.escape(alt), b64, style)


def table_html(header, rows, cls="num"):
    h = "".join("<th>%s</th>" % html.escape(str(c)) for c in header)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(str(c)) for c in r) for r in rows)
    return '<table class="%s"><tr>%s</tr>%s</table>' % (cls, h, body)


def code_html(text):
    return "<pre>%s</pre>" % html.escape(text)


def normalised(K):
    """K(x, y) / sqrt(K(x, x) K(y, y)) for a square Gram matrix (or a stack of them on the last two axes)."""
    dg = np.sqrt(np.diagonal(K, axis1=-2, axis2=-1))
    return K / (dg[..., :, None] * dg[..., None, :])


# ----------------------------------------------------------------------------------------------------------------
# sections
# ----------------------------------------------------------------------------------------------------------------

def settings_a():
    return [Setting("identity", 1.0, 0.0, "linear: correlation unchanged"),
            Setting("relu", 2.0, 0.0, "edge of chaos (He init.)"),
            Setting("relu", 1.0, 1.0, "ordered"),
            Setting("leaky_relu:0.1", 2 / 1.01, 0.0, "edge of chaos"),
            Setting("abs", 1.0, 0.0, "edge of chaos"),
            Setting("erf", 1.0, 0.5, "ordered"),
            Setting("erf", 4.0, 0.05, "chaotic"),
            Setting("sin", 2.0, 0.05, "chaotic")]


def section_angle(ctx):
    """(a) normalised NNGP and NTK against the input angle, every activation, depths 1..16."""
    angles = np.linspace(0.0, 180.0, 181)
    X = circle(angles)
    settings = settings_a()
    res = {}
    t0 = time.perf_counter()
    for s in settings:
        KT = deepwick.kernel(X, depth=max(DEPTHS), act=s.act, weight_var=s.w, bias_var=s.b, kind="both",
                             all_layers=True)      # (2, 17, n, n): index l is depth l (K^{l+1})
        res[s.name] = normalised(KT)[:, :, 0, :]    # correlation with the point at angle 0
    secs = time.perf_counter() - t0
    ctx.timings.append(("(a) %d settings x NNGP+NTK, depths 0..%d, %d x %d Gram" % (len(settings), max(DEPTHS),
                                                                               len(angles), len(angles)), secs))
    ncol = 4
    nrow = (2 * len(settings) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.1 * ncol, 3.1 * nrow), sharex=True)
    cmap = plt.get_cmap("viridis")
    for k, s in enumerate(settings):
        for j, kind in enumerate(["NNGP", "NTK"]):
            ax = axes.flat[2 * k + j]
            ax.plot(angles, res[s.name][j, 0], color="0.55", ls="--", lw=1.2, label="depth 0 (input layer)")
            for i, L in enumerate(DEPTHS):
                ax.plot(angles, res[s.name][j, L], color=cmap(i / (len(DEPTHS) - 1) * 0.9), lw=1.6,
                        label="depth %d" % L)
            ax.set_title("%s  %s\nw=%.3g, b=%.3g: %s" % (kind, s.act, s.w, s.b, s.label), fontsize=9.5)
            ax.set_xticks([0, 45, 90, 135, 180])
            ax.grid(alpha=0.3)
            ax.set_ylim(-1.05, 1.05)
            if k * 2 + j >= (nrow - 1) * ncol:
                ax.set_xlabel("input angle (degrees)")
            if (2 * k + j) % ncol == 0:
                ax.set_ylabel("correlation")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(DEPTHS) + 1, fontsize=10, frameon=False,
               bbox_to_anchor=(0.5, 1.02))
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    img = fig_html(fig, "normalised NNGP and NTK against the input angle")
    # a few numbers for the text
    rows = []
    for s in settings:
        r = res[s.name]
        rows.append([s.name, s.label, "%.4f" % r[0, 1, 90], "%.4f" % r[0, 16, 90], "%.4f" % r[1, 16, 90]])
    html_ = ("<p>Each panel shows the correlation K(x, y) / sqrt(K(x, x) K(y, y)) between the point at angle 0 and "
             "the point at angle t on the circle (|x|<sup>2</sup> = d = %d, lifted from the plane by a fixed "
             "orthogonal map), for the NNGP K<sup>L+1</sup> and the NTK &Theta;<sup>L+1</sup>, depths L = %s "
             "(dashed: the input layer K<sup>1</sup>, which is cos t when the bias is 0). One call "
             "<code>deepwick.kernel(X, depth=16, kind=\"both\", all_layers=True)</code> per setting gives every "
             "depth. In the ordered and critical settings the correlations creep towards 1 with depth (inputs "
             "become indistinguishable); in the chaotic ones they fall towards a fixed point &rho;* &lt; 1 "
             "(section b). The identity network keeps the input correlation at every depth.</p>"
             % (D, ", ".join(map(str, DEPTHS))) + img +
             table_html(["setting", "", "NNGP corr. at 90°, depth 1", "NNGP corr. at 90°, depth 16",
                         "NTK corr. at 90°, depth 16"], rows))
    return Section("(a) Kernel against the input angle", html_,
                   ["(a) correlation vs angle: %d settings (%s), depths %s, NNGP and NTK: %.3f s"
                    % (len(settings), ", ".join(sorted({s.act for s in settings})), DEPTHS, secs)])


def settings_b():
    edge_w = edge_of_chaos("erf", 0.05)
    return [Setting("relu", 2.0, 0.0, "critical (edge of chaos)"),
            Setting("relu", 1.0, 1.0, "ordered"),
            Setting("erf", 1.0, 0.5, "ordered"),
            Setting("erf", edge_w, 0.05, "critical (edge of chaos)"),
            Setting("erf", 4.0, 0.05, "chaotic"),
            Setting("sin", 2.0, 0.05, "chaotic")]


def section_fixed_point(ctx):
    """(b) the correlation map rho_{l+1} = f(rho_l) and the approach to its fixed point with depth."""
    t0 = time.perf_counter()
    settings = settings_b()
    depth = 200
    rows, summary, curves = [], [], []
    for s in settings:
        q = q_star(s)                      # homogeneous acts without bias: every q is fixed; this gives 1
        chi1 = float(corr_map(s, q, 1.0)[1])
        rs = rho_star(s, q)
        slope = float(corr_map(s, q, rs)[1])
        # inputs scaled so that K^1(x, x) = q*: every layer then sits on the diagonal fixed point
        scale = (q - s.b) / s.w
        errs = []
        for t0deg in ([90.0, 10.0] if rs < 1 else [90.0]):
            X = circle([0.0, t0deg], scale=scale)
            K = deepwick.kernel(X, depth=depth, act=s.act, weight_var=s.w, bias_var=s.b, all_layers=True)
            rho = K[:, 0, 1] / np.sqrt(K[:, 0, 0] * K[:, 1, 1])
            errs.append(np.abs(rho - rs))
            curves.append((s, t0deg, errs[-1]))
        err = errs[0]
        # measured geometric rate: a line through log|rho_l - rho*| where it is between 1e-11 and 1e-2
        idx = np.nonzero((err > 1e-11) & (err < 1e-2))[0]
        rate = float(np.exp(np.polyfit(idx, np.log(err[idx]), 1)[0])) if len(idx) >= 3 else float("nan")
        if phase(chi1) == "critical":
            # power law: fit log err against log l over the last half
            ll = np.arange(depth // 2, depth + 1)
            p = np.polyfit(np.log(ll), np.log(err[ll]), 1)[0]
            meas = "power law l^%.2f" % p
        else:
            meas = "%.4f per layer" % rate
        rows.append([s.act, "%.4g" % s.w, "%.4g" % s.b, "%.6g" % q, "%.6f" % chi1, phase(chi1),
                     "%.6f" % rs, "%.4f" % slope, meas])
        summary.append("    %-24s q*=%-9.5g chi1=%.4f  %-8s rho*=%.5f  f'(rho*)=%.4f  measured %s"
                       % (s.name, q, chi1, phase(chi1), rs, slope, meas))
    secs = time.perf_counter() - t0
    ctx.timings.append(("(b) fixed points, %d settings, depth %d" % (len(settings), depth), secs))
    ctx.store["fixed_rows"] = rows

    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(16.5, 5.4))
    rr = np.linspace(-1, 1, 401)
    colors = plt.get_cmap("tab10")
    for k, s in enumerate(settings):
        f, _ = corr_map(s, q_star(s), rr)
        ax0.plot(rr, f, color=colors(k), lw=1.6, label=s.name + ": " + s.label)
    ax0.plot(rr, rr, color="k", lw=0.8, ls=":")
    ax0.set_xlabel(r"$\rho_l$")
    ax0.set_ylabel(r"$\rho_{l+1} = f(\rho_l)$")
    ax0.set_title("correlation map at the length fixed point q*", fontsize=10)
    ax0.grid(alpha=0.3)
    ax0.legend(fontsize=7.5, loc="lower right")
    for s, t0deg, err in curves:
        k = settings.index(s)
        ls = "-" if t0deg == 90 else "--"
        lab = "%s, start %g°" % (s.name, t0deg)
        ll = np.arange(len(err))
        m = err > 0
        ax1.semilogy(ll[m], err[m], color=colors(k), ls=ls, lw=1.5, label=lab)
        ax2.loglog(ll[m & (ll > 0)], err[m & (ll > 0)], color=colors(k), ls=ls, lw=1.5, label=lab)
    ll = np.arange(8, depth + 1)
    for s, t0deg, err in curves:       # power-law guides through the end of the critical curves
        if s.label.startswith("critical"):
            p = 2 if s.act == "relu" else 1
            ax2.loglog(ll, err[-1] * (depth / ll) ** p, color="k", lw=0.9, ls=":" if p == 2 else "-.",
                       label=r"slope $-%d$ (guide)" % p)
    for ax in (ax1, ax2):
        ax.set_xlabel("layer l (depth)")
        ax.set_ylabel(r"$|\rho_l - \rho^*|$")
        ax.grid(alpha=0.3, which="both")
        ax.set_ylim(1e-16, 3)
    ax1.set_title("semi-log: ordered and chaotic are straight lines", fontsize=10)
    ax2.set_title("log-log: critical settings are straight lines", fontsize=10)
    handles, labels = ax2.get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False, bbox_to_anchor=(0.6, 0))
    img = fig_html(fig, "approach to the fixed point with depth")
    html_ = ("<p>Inputs are scaled so that K<sup>1</sup>(x, x) = q*, the fixed point of the length map "
             "q &rarr; w E[&phi;(&radic;q Z)<sup>2</sup>] + b; then every layer has K<sup>l</sup>(x, x) = q* and "
             "the correlation obeys &rho;<sub>l+1</sub> = f(&rho;<sub>l</sub>) with "
             "f(&rho;) = (w E[&phi;(u)&phi;(v)] + b) / q*, whose slope is f'(&rho;) = w E[&phi;'(u)&phi;'(v)] "
             "(Price's theorem; both from <code>deepwick.dual</code>). &chi;<sub>1</sub> = f'(1) decides the "
             "phase: ordered (&lt; 1, &rho;* = 1), critical (= 1) or chaotic (&gt; 1, &rho;* &lt; 1). "
             "The curves are &rho;<sub>l</sub> from the kernel itself "
             "(<code>deepwick.kernel(X, depth=%d, all_layers=True)</code> on a pair at 90° or 10°). Away from "
             "criticality the distance shrinks geometrically at the rate f'(&rho;*) (compare the last two "
             "columns); at the edge of chaos it decays only as a power of the depth (ReLU: about l<sup>-2</sup>), "
             "which is why deep ReLU networks at He initialisation still distinguish their inputs. The critical "
             "erf weight variance at bias 0.05 was found by bisection on &chi;<sub>1</sub> = 1.</p>" % depth
             + img + table_html(["act", "weight_var", "bias_var", "q*", "chi_1 = f'(1)", "phase", "rho*",
                                 "f'(rho*) predicted", "measured decay of |rho_l - rho*|"], rows))
    return Section("(b) Approach to the fixed point with depth", html_,
                   ["(b) fixed points of the correlation map (%d settings, depth %d, %.3f s):" % (len(settings),
                                                                                              depth, secs)]
                   + summary)


def section_moons(ctx):
    """Kernel regression with the NNGP (GP posterior mean) and the NTK (infinitely wide net trained by GD)."""
    P, y = two_moons(500)
    Ptr, ytr, Pte, yte = P[:100], y[:100], P[100:], y[100:]
    Xtr, Xte = moons_lift(Ptr), moons_lift(Pte)
    g = np.linspace(-1.6, 2.6, 70), np.linspace(-1.1, 1.6, 50)
    G = np.stack(np.meshgrid(*g), -1).reshape(-1, 2)
    Xg = moons_lift(G)
    settings = [Setting("identity", 1.0, 0.1), Setting("relu", 2.0, 0.1), Setting("leaky_relu:0.1", 2.0, 0.1),
                Setting("abs", 1.0, 0.1), Setting("erf", 2.0, 0.1), Setting("sin", 2.0, 0.1)]
    t0 = time.perf_counter()
    rows, surf = [], {}
    for s in settings:
        row = [s.name]
        for L in DEPTHS:
            kw = dict(depth=L, act=s.act, weight_var=s.w, bias_var=s.b, kind="both")
            Ktr = deepwick.kernel(Xtr, **kw)
            Kte = deepwick.kernel(Xte, Xtr, **kw)
            accs = []
            for j in range(2):
                A = Ktr[j] + 1e-8 * np.trace(Ktr[j]) / len(ytr) * np.eye(len(ytr))
                alpha = np.linalg.solve(A, ytr)
                accs.append(np.mean(np.sign(Kte[j] @ alpha) == yte))
                if s.act == "relu" and L in (1, 16) and j == 1:
                    surf[L] = deepwick.kernel(Xg, Xtr, **kw)[1] @ alpha
            row.append("%.0f%% / %.0f%%" % (100 * accs[0], 100 * accs[1]))
        rows.append(row)
    secs = time.perf_counter() - t0
    ctx.timings.append(("moons: %d settings x %d depths, train 100 / test 400" % (len(settings), len(DEPTHS)), secs))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, L in zip(axes, (1, 16)):
        Z = surf[L].reshape(len(g[1]), len(g[0]))
        cs = ax.contourf(g[0], g[1], Z, levels=np.linspace(-1.5, 1.5, 13), cmap="RdBu", extend="both", alpha=0.8)
        ax.contour(g[0], g[1], Z, levels=[0], colors="k", linewidths=1.2)
        ax.scatter(Ptr[:, 0], Ptr[:, 1], c=ytr, cmap="RdBu", edgecolors="k", s=22, vmin=-1.5, vmax=1.5)
        ax.set_title("NTK regression, relu (w=2, b=0.1), depth %d" % L, fontsize=10)
        ax.set_aspect("equal")
    fig.colorbar(cs, ax=axes, shrink=0.85, label="prediction")
    img = fig_html(fig, "NTK regression on two moons", width=1100)
    html_ = ("<p>A two-moons set (100 training and 400 test points in the plane, lifted into d = %d). The mean "
             "prediction of an infinitely wide network is kernel regression: K(x, X) K(X, X)<sup>-1</sup> y for "
             "the Bayesian network (NNGP) and &Theta;(x, X) &Theta;(X, X)<sup>-1</sup> y for the network trained "
             "to convergence by gradient descent on the squared loss (NTK), with a relative ridge of 1e-8. Test "
             "accuracy, NNGP / NTK:</p>" % D
             + table_html(["setting"] + ["depth %d" % L for L in DEPTHS], rows) + img)
    return Section("(e) Kernel regression on two moons", html_,
                   ["(e) two moons: NNGP/NTK regression, %d settings x %d depths: %.3f s" % (len(settings),
                                                                                           len(DEPTHS), secs)])


def cli_commands(directory):
    d = shlex.quote(str(directory))
    return ["%s kernel --x %s/circle6.npy --depth 4 --act relu --weight-var 2 --bias-var 0 --kind both "
            "--out %s/K.npy --json" % (shlex.quote(str(CLI.relative_to(ROOT))), d, d)]


def section_table(ctx):
    """(c) numbers from the command line, with the commands that reproduce them."""
    rows, notes, summary = [], [], []
    X = circle(TABLE_ANGLES)
    py = deepwick.kernel(X, depth=4, act="relu", weight_var=2.0, bias_var=0.0, kind="both")
    if CLI.is_file():
        with tempfile.TemporaryDirectory(prefix="deepwick-demo-") as tmp:
            write_data(tmp)
            cmd = cli_commands(tmp)[0]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
            secs = time.perf_counter() - t0
            if p.returncode != 0:
                raise SystemExit("demo: the command line failed:\n%s\n%s" % (cmd, p.stderr))
            info = json.loads(p.stdout)
            K = np.load(os.path.join(tmp, "K.npy"))
        same = np.array_equal(K, py)
        ctx.timings.append(("(c) CLI: deepwick kernel, 6 points, depth 4 (process wall time)", secs))
        summary.append("(c) CLI `deepwick kernel ... --json`: %.3f s wall, kernel %.6f s, threads %d; "
                       "equal to deepwick.kernel bit for bit: %s" % (secs, info["seconds"], info["threads"],
                                                                    "yes" if same else "NO"))
        if not same:
            raise SystemExit("demo: the command line and the Python API disagree")
        notes.append("<p>Computed by the command line (a %.3f s process) and checked equal, bit for bit, to "
                     "<code>deepwick.kernel</code>. The command's <code>--json</code> summary:</p>%s"
                     % (secs, code_html(json.dumps({k: info[k] for k in info if k != "out"}, indent=None))))
    else:
        K = py
        summary.append("(c) %s not built: numbers from the Python API only" % CLI)
        notes.append("<p>(The command line was not built; numbers from the Python API.)</p>")
    C = normalised(K)
    for j, t in enumerate(TABLE_ANGLES):
        rows.append(["%d°" % t, "%.6f" % np.cos(np.deg2rad(t)), repr(float(K[0, 0, j])), repr(float(K[1, 0, j])),
                     "%.6f" % C[0, 0, j], "%.6f" % C[1, 0, j]])
    repro = ("DIR=$(mktemp -d)\n"
             ".venv/bin/python demo/report.py --write-data $DIR        # circle6.npy: 6 points, |x|^2 = d = 10\n"
             + cli_commands("$DIR")[0].replace("'$DIR'", "$DIR") + "\n"
             ".venv/bin/python -c \"import numpy as np; K = np.load('$DIR/K.npy'); "
             "print(K[0, 0].tolist()); print(K[1, 0].tolist())\"   # row 0: NNGP, NTK\n")
    pyrepro = ("# from the repository root: PYTHONPATH=python .venv/bin/python\n"
               "import numpy as np, deepwick, sys; sys.path.insert(0, 'demo'); from report import circle\n"
               "X = circle(%s)                     # the same 6 points\n"
               "K, T = deepwick.kernel(X, depth=4, act='relu', weight_var=2.0, bias_var=0.0, kind='both')\n"
               % TABLE_ANGLES)
    fixed = ctx.store.get("fixed_rows", [])
    fixed_code = ("import deepwick                               # PYTHONPATH=python .venv/bin/python\n"
                  "w, b, q = 4.0, 0.05, 1.0                      # erf, chaotic\n"
                  "for _ in range(2000): q = w * float(deepwick.dual('erf', q, q, q)[0]) + b   # q*\n"
                  "chi1 = w * float(deepwick.dual('erf', q, q, q)[1])                      # f'(1)\n"
                  "print(q, chi1)\n")
    html_ = ("<p>NNGP K<sup>5</sup> and NTK &Theta;<sup>5</sup> (depth 4, relu, weight_var 2, bias_var 0) between the "
             "point at angle 0 and the points at angle t on the circle |x|<sup>2</sup> = 10. For relu without bias "
             "the kernel is 2-homogeneous and its correlation after one layer is the arc-cosine kernel "
             "(sin t + (&pi; - t) cos t) / &pi;.</p>"
             + table_html(["t", "cos t", "K(x0, xt)", "Theta(x0, xt)", "NNGP correlation", "NTK correlation"], rows)
             + "".join(notes) + "<p>Reproduce with the command line (from the repository root):</p>"
             + code_html(repro) + "<p>or in Python:</p>" + code_html(pyrepro)
             + ("<p>The fixed-point numbers of section (b) (q*, &chi;<sub>1</sub>) come from "
                "<code>deepwick.dual</code>, e.g. for the chaotic erf row (q* = %s, &chi;<sub>1</sub> = %s):</p>"
                % (fixed[4][3], fixed[4][4]) if len(fixed) > 4 else "<p>Fixed points from deepwick.dual:</p>")
             + code_html(fixed_code))
    return Section("(c) Numbers and the commands that reproduce them", html_, summary)


def section_conventions(ctx):
    """(d) conventions."""
    html_ = """
<ul>
<li>Network (theory.md 1.1): h<sup>1</sup> = W<sup>1</sup>x + b<sup>1</sup>,
h<sup>l+1</sup> = W<sup>l+1</sup>&phi;(h<sup>l</sup>) + b<sup>l+1</sup>, f = h<sup>L+1</sup>; the depth L is the number
of activations, and depth 0 is the linear model K<sup>1</sup>(x, y) = &sigma;<sub>w</sub><sup>2</sup> &lt;x, y&gt;/d +
&sigma;<sub>b</sub><sup>2</sup>.</li>
<li><b>weight_var = &sigma;<sub>w</sub><sup>2</sup> = W_std<sup>2</sup></b> of Neural Tangents'
<code>stax.Dense(out, W_std, b_std)</code>: weights have variance &sigma;<sub>w</sub><sup>2</sup>/fan_in;
<b>bias_var = &sigma;<sub>b</sub><sup>2</sup> = b_std<sup>2</sup></b>. deepwick's depth-L network is
<code>stax.serial(Dense(W_std, b_std), act, ..., Dense(W_std, b_std))</code> with L activations. One value applies
to every layer, or L + 1 comma-separated values give one per layer (layer 1 acts on the inputs).</li>
<li>Kernels are per output unit: the NNGP K<sup>L+1</sup>(x, y) and the NTK &Theta;<sup>L+1</sup>(x, y), the latter in
the NTK parameterisation unless <code>param="standard"</code> (<code>--param standard --width N</code>), which follows
Neural Tangents' standard parameterisation. The NNGP does not depend on the parameterisation.</li>
<li>Correlations in this report are K(x, y) / sqrt(K(x, x) K(y, y)).</li>
<li>At kinks derivatives take the autodiff value: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = 1, step' = 0.</li>
<li><code>--kind both</code> returns one stacked array, index 0 the NNGP and 1 the NTK; <code>all_layers</code> returns
every layer K<sup>1</sup>..K<sup>L+1</sup> (index l = depth l).</li>
</ul>"""
    return Section("(d) Conventions", html_, [])


# ----------------------------------------------------------------------------------------------------------------
# signatures (theory.md 5)
# ----------------------------------------------------------------------------------------------------------------

def _walks(rng, b, n, d, amp):
    return np.cumsum(rng.normal(size=(b, n, d)) * amp, axis=1)


def section_sig_convergence(ctx):
    """Signature kernel and neural signature kernel: error against the dyadic order."""
    rng = np.random.default_rng(SEED)
    X, Y = _walks(rng, 4, 6, 2, 0.35), _walks(rng, 4, 7, 2, 0.35)
    t0 = time.perf_counter()
    Sx, Sy = deepwick.signature(X, 16), deepwick.signature(Y, 16)
    ref = 1.0 + Sx @ Sy.T                       # route 2: truncated-signature inner products (level 16)
    lams = list(range(0, 7))
    e2 = [np.max(np.abs(deepwick.sigkernel(X, Y, dyadic_order=l) - ref)) for l in lams]
    e1 = [np.max(np.abs(deepwick.sigkernel(X, Y, dyadic_order=l, solver="first-order") - ref)) for l in lams]
    kw = dict(act="relu", sigma0=1.0, sigma_a=1.2, sigma_b=0.3)
    nl = list(range(1, 6))
    K2 = [deepwick.nsk(X, Y, dyadic_order=l, **kw) for l in nl]
    K1 = [deepwick.nsk(X, Y, dyadic_order=l, solver="first-order", **kw) for l in nl]
    d2 = [np.max(np.abs(K2[i + 1] - K2[i])) for i in range(len(nl) - 1)]
    d1 = [np.max(np.abs(K1[i + 1] - K1[i])) for i in range(len(nl) - 1)]
    secs = time.perf_counter() - t0
    ctx.timings.append(("signature-kernel and NSK convergence in dyadic order", secs))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].semilogy(lams, e2, "o-", label="second order")
    axes[0].semilogy(lams, e1, "s--", label="first order")
    axes[0].set_xlabel("dyadic order lambda")
    axes[0].set_ylabel("max |k_PDE - <S(x), S(y)>|")
    axes[0].set_title("signature kernel vs truncated signatures", fontsize=10)
    axes[0].legend()
    axes[1].semilogy(nl[1:], d2, "o-", label="second order (Heun)")
    axes[1].semilogy(nl[1:], d1, "s--", label="first order")
    axes[1].set_xlabel("dyadic order lambda")
    axes[1].set_ylabel("max |K_lambda - K_(lambda-1)|")
    axes[1].set_title("neural signature kernel, relu", fontsize=10)
    axes[1].legend()
    img = fig_html(fig, "convergence in dyadic order", width=1000)
    rate = lambda e: e[-2] / e[-1]  # noqa: E731
    rows = [["signature kernel, second order", "%.2f" % rate(e2), "%.2e" % e2[-1]],
            ["signature kernel, first order", "%.2f" % rate(e1), "%.2e" % e1[-1]],
            ["NSK relu, second order", "%.2f" % rate(d2), "%.2e" % d2[-1]],
            ["NSK relu, first order", "%.2f" % rate(d1), "%.2e" % d1[-1]]]
    html_ = ("<p>Four pairs of 2-D random-walk paths (6 and 7 points). Left: the Goursat PDE against the inner "
             "product of level-16 truncated signatures (an independent route). Right: the neural signature kernel "
             "(relu, sigma_a = 1.2, sigma_b = 0.3), differences between successive dyadic orders. The second-order "
             "schemes gain about 4x per level, the first-order ones about 2x (theory.md 5, 5.1).</p>"
             + table_html(["scheme", "error ratio per level (last)", "last error / difference"], rows) + img)
    return Section("(s1) Signature kernels: convergence in the dyadic order", html_,
                   ["(s1) sigkernel error ratio per dyadic level %.2f (second order), %.2f (first); NSK %.2f / %.2f;"
                    " %.2f s" % (rate(e2), rate(e1), rate(d2), rate(d1), secs)])


def section_cresnet_mc(ctx):
    """Random controlled ResNets converge to the neural signature kernel as the width grows."""
    rng = np.random.default_rng(SEED + 1)
    X = _walks(rng, 3, 7, 2, 0.4)
    kw = dict(act="relu", sigma0=1.0, sigma_a=1.2, sigma_b=0.3)
    t0 = time.perf_counter()
    K = deepwick.nsk(X, grid=True, **kw)
    widths, S = [16, 64, 256, 512], 8
    rms = {}
    for inh in (False, True):
        rms[inh] = []
        for N in widths:
            Yst = deepwick.cresnet(X, width=N, samples=S, seed=N, inhomogeneous=inh, **kw)
            E = np.einsum("sin,sjn->sij", Yst, Yst) / N
            rms[inh].append(np.sqrt(np.mean((E - K) ** 2)) / np.sqrt(np.mean(K ** 2)))
    secs = time.perf_counter() - t0
    ctx.timings.append(("cResNet Monte Carlo, widths %s x %d networks" % (widths, S), secs))
    slopes = {inh: np.polyfit(np.log(widths), np.log(rms[inh]), 1)[0] for inh in rms}
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for inh, lab in ((False, "shared weights"), (True, "fresh weights")):
        ax.loglog(widths, rms[inh], "o-", label="%s (slope %.2f)" % (lab, slopes[inh]))
    ax.loglog(widths, rms[False][0] * (np.array(widths) / widths[0]) ** -0.5, "k:", label="N^-1/2")
    ax.set_xlabel("width N")
    ax.set_ylabel("relative RMS error of (1/N) <Y^x, Y^y>")
    ax.legend(fontsize=8)
    img = fig_html(fig, "cResNet Monte Carlo", width=560)
    html_ = ("<p>Random controlled ResNets Y<sub>m+1</sub> = Y<sub>m</sub> + sum<sub>k</sub> ((sigma_a/sqrt N) "
             "A<sub>k</sub> relu(Y<sub>m</sub>) + sigma_b b<sub>k</sub>) dx<sup>k</sup><sub>m</sub> on three 2-D "
             "paths of 7 points, %d networks per width: the empirical kernel (1/N) &lt;Y<sup>x</sup>, "
             "Y<sup>y</sup>&gt; of one network against the exact width limit on the grid "
             "(<code>deepwick nsk --grid</code>). The error falls like N<sup>-1/2</sup>.</p>" % S + img)
    return Section("(s2) Controlled ResNets converge to the neural signature kernel", html_,
                   ["(s2) cResNet MC: error slope vs width %.2f (shared), %.2f (fresh); %.2f s"
                    % (slopes[False], slopes[True], secs)])


def section_levy(ctx):
    """The Levy-area experiment of theory.md 5.2: dense vs diagonal random linear CDEs with a linear readout."""
    rng = np.random.default_rng(SEED + 2)
    n_train, n_test, steps, N = 1500, 500, 8, 64
    X = np.concatenate([np.zeros((n_train + n_test, 1, 2)),
                        np.cumsum(rng.normal(size=(n_train + n_test, steps, 2)) / np.sqrt(steps), axis=1)], axis=1)
    dx = np.diff(X, axis=1)
    area = 0.5 * np.sum(X[:, :-1, 0] * dx[:, :, 1] - X[:, :-1, 1] * dx[:, :, 0], axis=1)
    t0 = time.perf_counter()
    models = [("dense A, B = 0", dict(sigma_B=0.0)), ("diagonal A, B = 0", dict(diagonal=True, sigma_B=0.0)),
              ("diagonal A, xi = x", dict(diagonal=True, sigma_B=1.0))]
    rows, preds = [], {}
    for name, kw in models:
        F = deepwick.lcde(X, width=N, seed=SEED, sigma_c=1.0, **kw)[0]
        F = np.concatenate([F, np.ones((len(F), 1))], axis=1)
        w, *_ = np.linalg.lstsq(F[:n_train], area[:n_train], rcond=None)
        p = F[n_train:] @ w
        r2 = 1 - np.sum((area[n_train:] - p) ** 2) / np.sum((area[n_train:] - area[n_train:].mean()) ** 2)
        rows.append([name, "%.4f" % r2])
        preds[name] = (p, r2)
    secs = time.perf_counter() - t0
    ctx.timings.append(("Levy-area experiment (3 models, N = %d, %d paths)" % (N, n_train + n_test), secs))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (name, (p, r2)) in zip(axes, preds.items()):
        ax.scatter(area[n_train:], p, s=5)
        ax.set_title("%s: R^2 = %.3f" % (name, r2), fontsize=10)
        ax.set_xlabel("Levy area")
        ax.set_ylabel("readout")
    img = fig_html(fig, "Levy area readouts", width=1100)
    html_ = ("<p>Gate path omega = the 2-D input path (8 steps, %d training and %d held-out paths), state dimension "
             "N = %d, Y<sub>0</sub> = c (x<sub>0</sub> = 0), a least-squares linear readout of the final state. A "
             "dense random linear CDE expresses the Levy area; a diagonal (Mamba-like) one with B = 0 is a function of "
             "the total increment only (reversing the increments flips the area and leaves the state unchanged), so "
             "it cannot; with the input path xi = x entering through B it can (theory.md 5.2). Held-out R<sup>2</sup>:"
             "</p>" % (n_train, n_test, N) + table_html(["model", "held-out R^2"], rows) + img)
    return Section("(s3) Levy area: dense vs diagonal selective state-space models", html_,
                   ["(s3) Levy area R^2: %s; %.2f s" % (", ".join("%s %s" % tuple(r) for r in rows), secs)])


# The report: sections in order. A later capability appends its own function here.
# ----------------------------------------------------------------------------------------------------------------
# (w) Wick calculus: genus expansion of random-matrix words, finite-width corrections of a polynomial network
# ----------------------------------------------------------------------------------------------------------------

def section_wick_genus(ctx):
    """(w1) exact E tr(word) split by the Euler characteristic of the glued surface (theory.md 4.2)."""
    rows, summary = [], []
    words = [("tr(A^4)", "gue"), ("tr(A^4)", "goe"), ("tr(A^6)", "gue"), ("tr(A^6)", "goe"),
             ("tr(A A^T A A^T)", "ginibre"), ("tr(A B A^T B^T)", "A=goe,B=goe"), ("tr(A^8)", "goe")]
    for expr, ens in words:
        r = ctx.timed("(w1) wick %s %s" % (expr, ens), deepwick.wick, expr, ens, by_genus=True)
        val = " + ".join("%s N^%d" % (c, e) for e, c in sorted(r["value"].items(), reverse=True))
        for g in r["by_genus"]:
            rows.append([expr, ens, g["chi"], g["power"], g["orientable"], g["nonorientable"], val])
            val = ""
    hz = deepwick.wick("tr(A^40)", "gue", by_genus=True)
    go = deepwick.wick("tr(A^40)", "goe", by_genus=True)
    rg = deepwick.wick("tr((A A^T)^20)", "ginibre", by_genus=True)
    summary.append("(w1) genus tables of %d GOE/GUE/Ginibre words; GUE tr(A^40) by Harer-Zagier: leading %d "
                   "(Catalan(20)), %d gluings" % (len(words), hz["value"][1], hz["terms"]))
    html_ = ("<p>Exact expectations of traces of N x N random matrices (E|X_ij|<sup>2</sup> = 1/N), each Wick "
             "pairing glued into a surface with V vertices (index classes), E edges (pairs) and F faces (traces): "
             "the pairing weighs N<sup>V-E</sup> and &chi; = V - E + F. GUE gluings are orientable; GOE adds the "
             "twisted gluings, non-orientable surfaces and odd powers of N.</p>"
             + table_html(["word", "ensemble", "chi", "power of N", "orientable", "non-orientable",
                           "E tr(word)"], rows)
             + "<p>The one-trace GUE fast path (Harer-Zagier recursion) gives tr(A<sup>40</sup>) at once: "
             "%d gluings, leading coefficient %d = Catalan(20). The real ensembles have five-term recurrences "
             "(GOE: Ledoux 2009; real Ginibre: docs/wick.md): GOE tr(A<sup>40</sup>) sums %d gluings, %d of them "
             "orientable; real Ginibre tr((A A<sup>T</sup>)<sup>20</sup>) sums %d, %d orientable.</p>"
             % (hz["terms"], hz["value"][1], go["terms"], sum(g["orientable"] for g in go["by_genus"]),
                rg["terms"], sum(g["orientable"] for g in rg["by_genus"])))
    return Section("(w1) Genus expansion of random-matrix words", html_, summary)


def section_wick_network(ctx):
    """(w2) finite-width correction of a polynomial network: exact polynomial in 1/N against Monte Carlo."""
    import shutil
    poly, sw, sb, depth = [0.0, 1.0, 0.5], 1.0, 0.1, 2
    x, y = np.array([1.0, 0.5, -0.25]), np.array([0.25, -0.5, 1.0])
    exact = ctx.timed("(w2) expand (trees route)", deepwick.expand, x, y, depth=depth, poly=poly, weight_var=sw,
                      bias_var=sb)
    cond = deepwick.expand(x, y, depth=depth, poly=poly, weight_var=sw, bias_var=sb, route="conditional")
    K = deepwick.kernel(np.stack([x, y]), depth=depth, act="poly:0,1,0.5", weight_var=sw, bias_var=sb)[0, 1]
    Ns = [4, 8, 16, 32, 64]
    mc, se = [], []
    t0 = time.perf_counter()
    for N in Ns:
        # deepwick.sample's empirical NNGP Gram of each network: sw/N phi(h^2(x)).phi(h^2(y)) + sb, i.e.
        # E[f(x) f(y) | hidden layers] with the last layer integrated exactly; its mean over S networks and the SE
        S = max(2000, 64000 // N)
        m, s = deepwick.empirical_kernel(np.stack([x, y]), depth=depth, act="poly:0,1,0.5", width=N, kind="nngp",
                                         samples=S, weight_var=sw, bias_var=sb, seed=7 + N, reduce="mean")
        mc.append(m[0, 1])
        se.append(s[0, 1])
    ctx.timings.append(("(w2) Monte Carlo of finite networks, N = 4..64", time.perf_counter() - t0))
    f = lambda N: sum(float(c) * N ** e for e, c in exact.items())  # noqa: E731
    z = [(m - f(N)) / s for m, s, N in zip(mc, se, Ns)]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    grid = np.geomspace(3.5, 80, 200)
    ax.plot(grid, [f(N) for N in grid], label="exact E[f(x) f(y)] (polynomial in 1/N)")
    ax.axhline(float(exact[0]), color="gray", ls="--", label="infinite width (NNGP)")
    ax.errorbar(Ns, mc, yerr=[2 * s for s in se], fmt="o", color="C3", capsize=3, label="Monte Carlo +- 2 SE")
    ax.set_xscale("log")
    ax.set_xlabel("hidden width N")
    ax.set_ylabel("E[f(x) f(y)]")
    ax.legend(fontsize=8)
    r = deepwick.expand(x, y, depth=depth, poly=poly, weight_var=sw, bias_var=sb, terms=True)
    k = next((i for i, t in enumerate(r["terms"]) if any(p["power"] == -1 for p in t["pairings"])), 0)
    dot = deepwick.expand(x, y, depth=depth, poly=poly, weight_var=sw, bias_var=sb, dot=k)["dot"]
    if shutil.which("dot"):
        p = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        svg = p.stdout[p.stdout.find("<svg"):] if p.returncode == 0 else ""
        drawing = svg or code_html(dot)
        note = "rendered by Graphviz" if svg else "Graphviz failed; the DOT source"
    else:
        drawing, note = code_html(dot), "Graphviz (dot) is not installed: the DOT source"
    coeffs = ", ".join("N^%d: %s" % (e, c) for e, c in sorted(exact.items(), reverse=True))
    summary = ["(w2) depth-%d network phi = z + z^2/2: E f f = %s; trees = conditional route: %s; constant = NNGP "
               "kernel: %s; Monte Carlo z-scores at N = %s: %s"
               % (depth, coeffs, exact == cond, abs(float(exact[0]) - K) <= 1e-12 * abs(K),
                  Ns, ", ".join("%.2f" % v for v in z))]
    html_ = ("<p>Network h<sup>1</sup> = W<sup>1</sup>x + b<sup>1</sup>, h<sup>2</sup> = W<sup>2</sup>&phi;(h<sup>1"
             "</sup>) + b<sup>2</sup>, f = W<sup>3</sup>&phi;(h<sup>2</sup>) + b<sup>3</sup>, &phi;(z) = z + z<sup>2"
             "</sup>/2, &sigma;<sub>w</sub><sup>2</sup> = 1, &sigma;<sub>b</sub><sup>2</sup> = 0.1. The operator-"
             "graph expansion gives E[f(x) f(y)] exactly: <code>%s</code> (equal to the conditional layer "
             "recursion: %s; its constant term equals <code>deepwick.kernel</code>: %.15g vs %.15g). Monte Carlo "
             "of finite networks (drawn by <code>deepwick.sample</code>, last layer integrated exactly), z-scores against "
             "the exact value: %s.</p>%s"
             "<p>One term of the expansion (two trees glued by a Wick pairing with one independent cycle, N<sup>-1"
             "</sup>), %s:</p>%s"
             % (html.escape(coeffs), exact == cond, float(exact[0]), K, ", ".join("%.2f" % v for v in z),
                fig_html(fig, "finite-width correction"), note, drawing))
    return Section("(w2) Finite-width correction of a polynomial network", html_, summary)



def _has_act(name):
    try:
        deepwick.Activation(name)
        return True
    except deepwick.InputError:
        return False


def section_jacobian(ctx):
    """(g) Jacobian spectrum at criticality: limiting densities against finite networks, Gaussian vs orthogonal
    weights (theory.md 3)."""
    t0 = time.perf_counter()
    smooth = "tanh" if _has_act("tanh") else "erf"
    b_smooth = 0.01
    w_smooth, q_smooth = deepwick.criticality(smooth, b_smooth)
    cases = [("relu", 2.0, 0.0, 1.0), (smooth, w_smooth, b_smooth, q_smooth)]
    depths = [1, 4, 16]
    N, S = 200, 3
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex="col")
    rows, notes = [], []
    for j, (act, w, b, q) in enumerate(cases):
        for i, weights in enumerate(("gaussian", "orthogonal")):
            ax = axes[i, j]
            ytop = 0.0
            for L, color in zip(depths, ("C0", "C1", "C2")):
                kw = dict(weight_var=w, bias_var=b, fixed_point=True, weights=weights)
                # the library's report: the limit, and S networks of width N from the sampling module (input scaled
                # so that q_1 = q*)
                r = deepwick.jacobian_report(L, act, K=4, width=N, samples=S, seed=100 * L + 10 * i + j,
                                             return_spectra=True, **kw)
                hi = r["support"][1]
                fs = r["sample"]
                s2 = fs["spectra"].ravel()
                nz = np.sort(s2)[int(round(fs["atom0"] * s2.size)):]   # without the exact zeros (the library's count)
                pm = ["%.4g \u00b1 %.2g" % (fs["moments"][k], fs["se"][k]) for k in (0, 1)]
                rows.append([act, weights, L, "%.6g" % r["moments"][0], pm[0], "%.6g" % r["moments"][1], pm[1],
                             "%.6g" % r["variance"], "%.3g" % r["atom0"], "%.3g" % fs["atom0"], "%.4g" % hi])
                if nz.size and hi > 0:
                    lo = max(min(nz.min(), hi * 1e-4), hi * 1e-12)
                    edges = np.geomspace(lo, hi * 1.5, 40)
                    cnt, _ = np.histogram(nz, edges)
                    # density of ln t: counts / (n ln(edge ratio)), n including the atom so that the areas compare
                    hist = cnt / (s2.size * np.diff(np.log(edges)))
                    ax.stairs(hist, edges, color=color, alpha=0.35, fill=True)
                    ytop = max(ytop, hist.max())
                try:
                    t = np.geomspace(hi * 1e-10, hi, 400)
                    rho = deepwick.jacobian_density(t, L, act, **kw)
                except deepwick.InputError as e:
                    notes.append("%s, %s weights, depth %d: %s" % (act, weights, L, e))
                    continue
                if not np.any(rho > 0):
                    notes.append("%s, %s weights, depth %d: no continuous part (atoms only; atom at 0 of mass %.3g)"
                                 % (act, weights, L, r["atom0"]))
                    continue
                ax.plot(t, t * rho, "-", color=color, label="L=%d" % L)
            ax.set_xscale("log")
            if ytop > 0:  # the binned mass sets the scale: a log singularity at an edge would flatten the rest
                ax.set_ylim(0, 1.25 * ytop)
            ax.set_ylabel("t rho(t)  (density of ln t)")
            ax.set_title("%s, %s weights, sigma_w^2 = %.4g, sigma_b^2 = %g" % (act, weights, w, b), fontsize=9)
            ax.legend(fontsize=7)
        axes[1, j].set_xlabel("squared singular value t")
    img = fig_html(fig, "Jacobian spectra at criticality", width=1100)
    secs = time.perf_counter() - t0
    ctx.timings.append(("(g) Jacobian spectra: 2 activations x 3 depths x 2 weight laws, %d networks of width %d each"
                        % (S, N), secs))
    html_ = ("<p>Limiting law of the squared singular values of the input-output Jacobian J = D<sub>L</sub>W<sup>L</sup>"
             " ... D<sub>1</sub>W<sup>1</sup> at the edge of chaos (m<sub>1</sub> = 1 at the fixed point q*), from "
             "<code>deepwick.jacobian_density</code> (Stieltjes inversion of the S-transform equation) and "
             "<code>deepwick.jacobian_report</code> (the report of <code>deepwick jacobian</code>), against the squared "
             "singular values of %d finite networks of width %d per case (shaded histograms; the report's sampled "
             "networks: weights "
             "from the sampling module, Jacobian by a GEMM chain, SVD by LAPACK; moments &plusmn; one standard error "
             "over the networks). Top: i.i.d. Gaussian weights; bottom: Haar orthogonal. "
             "Orthogonal weights keep the spectrum far narrower: its variance grows like L (mu_2/mu_1^2 - 1) instead "
             "of L mu_2/mu_1^2, which for a smooth activation at a small q* is close to dynamical isometry; relu "
             "cannot get there with either law (half of D is 0, mu_2/mu_1^2 = 2). The curves are t rho(t), the "
             "density of ln t; relu's atom at 0 (mass 1/2) is not drawn (the table compares it with the fraction of "
             "sampled squared singular values that are 0 to the SVD's resolution, (16 N eps)<sup>2</sup> of the "
             "largest: relu's exact zeros, and at depth 16 also genuine values below that level, where the limiting "
             "density ~ t<sup>-L/(L+1)</sup> puts a few per cent of its mass). At depth 16 the finite-width moments are biased by O(L/N).</p>"
             % (S, N)
             + table_html(["act", "weights", "depth", "m_1", "m_1 (N=%d)" % N, "m_2", "m_2 (N=%d)" % N, "variance",
                           "atom at 0", "0 to SVD resolution (N=%d)" % N, "right edge"], rows)
             + img + "".join("<p class=\"meta\">%s</p>" % html.escape(n) for n in notes))
    return Section("(g) Jacobian spectrum at criticality", html_,
                   ["(g) Jacobian spectra (%s, relu; depths 1, 4, 16; gaussian/orthogonal; finite N = %d): %.3f s"
                    % (smooth, N, secs)])

def section_convergence(ctx):
    """(f) finite networks: the empirical NTK approaches the limit like N^-1/2 for every i.i.d. law."""
    try:
        deepwick.kernel(np.ones((1, 1)), depth=1, act="tanh")
        smooth = "tanh"
    except deepwick.InputError:
        smooth = "erf"
    X = circle([0, 10, 45, 90, 135, 180])
    widths = [16, 32, 64, 128, 256]
    S, depth, wv, bv = 60, 2, 2.0, 0.05
    rows, res = [], {}
    for act in ("relu", smooth):
        for law in ("gaussian", "rademacher"):
            r = ctx.timed("converge %s %s (%d networks)" % (act, law, S * len(widths)), deepwick.converge, X,
                          depth=depth, act=act, widths=widths, samples=S, law=law, kind="ntk", weight_var=wv,
                          bias_var=bv, seed=SEED, gaussian_input_layer=True)
            res[act, law] = r
            lo, hi = r["slope_ci"]
            rows.append([act, law, "%.3f" % r["slope"], "[%.3f, %.3f]" % (lo, hi),
                         "yes" if lo <= -0.5 <= hi else "no", "%.2g ± %.1g" % (r["bias_inf"], r["bias_inf_se"])])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, act in zip(axes, ("relu", smooth)):
        for law, col in (("gaussian", "C0"), ("rademacher", "C3")):
            r = res[act, law]
            N = r["widths"]
            ax.errorbar(N, r["rel_rms"], yerr=2 * r["rms_se"] / r["limit_fro"], fmt="o", color=col, capsize=3,
                        label="%s: slope %.3f" % (law, r["slope"]))
            ax.plot(N, np.exp(r["intercept"] + r["slope"] * np.log(N)) / r["limit_fro"], "-", color=col, lw=1)
        r = res[act, "gaussian"]
        ax.plot(N, r["rel_rms"][0] * np.sqrt(N[0] / N), "k--", lw=0.8, label="slope -1/2")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("hidden width N")
        ax.set_title("%s, depth %d, empirical NTK" % (act, depth))
        ax.legend(fontsize=8)
    axes[0].set_ylabel("RMS |Theta_N - Theta|_F / |Theta|_F")
    html_ = ("<p>Finite networks (<code>deepwick converge</code>): for each width N, %d networks with Gaussian or "
             "Rademacher weights (layer 1 Gaussian: its fan-in d does not grow, see docs/sampling.md); the RMS "
             "Frobenius error of the empirical NTK (back-propagation, theory.md 1.3) against the exact limit on six "
             "inputs of the circle (t = 0, 10, 45, 90, 135, 180 degrees), with 2-SE bars and the weighted "
             "least-squares fit of log error against log N. theory.md 1.4 predicts slope -1/2; universality predicts "
             "the same for Rademacher weights (only the constant changes). bias_inf is the extrapolated bias of "
             "the mean (fit a + b/N, theory 0).</p>"
             % S) + fig_html(fig, "convergence of the empirical NTK") + table_html(
        ["activation", "law", "slope", "95% interval", "contains -1/2", "bias_inf"], rows)
    summary = ["(f) empirical NTK -> limit, depth %d: " % depth + "; ".join(
        "%s/%s slope %s %s" % (r[0], r[1], r[2], r[3]) for r in rows)]
    return Section("(f) Finite networks: convergence to the limit", html_, summary)


def section_finite(ctx):
    import sec_finite
    return sec_finite.section_finite_width(ctx, circle, fig_html, table_html, Section, plt, SEED)


def section_accuracy(ctx):
    import sec_accuracy
    return sec_accuracy.section_accuracy(ctx, fig_html, table_html, Section, plt, SEED)[0]


def section_gd_width(ctx):
    import sec_gd_width
    return sec_gd_width.section_gd_width(ctx, fig_html, table_html, Section, plt, SEED)[0]


def section_arch(ctx):
    import sec_arch
    return sec_arch.section_arch(ctx, fig_html, table_html, Section, plt, 42)[0]


# The report: sections in order. A later capability appends its own function here.
SECTIONS = [section_angle, section_fixed_point, section_table, section_conventions, section_moons,
            section_convergence, section_finite, section_jacobian, section_wick_genus, section_wick_network, section_sig_convergence,
            section_cresnet_mc, section_levy, section_accuracy, section_gd_width,
            section_arch]


CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 1320px;
       margin: 1.5em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: .7em; overflow-x: auto; font-size: .85em; }
code { background: #f6f6f6; padding: 0 .2em; }
.meta { color: #666; font-size: .9em; }
"""


def render(sections, ctx, total):
    toc = "".join('<li><a href="#s%d">%s</a></li>' % (k, html.escape(s.title)) for k, s in enumerate(sections))
    body = "".join('<h2 id="s%d">%s</h2>\n%s\n' % (k, html.escape(s.title), s.html) for k, s in enumerate(sections))
    timing = table_html(["computation", "seconds"], [[w, "%.3f" % t] for w, t in ctx.timings])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>deepwick %s: infinite-width kernels</title><style>%s</style></head><body>\n"
            "<h1>deepwick %s: infinite-width NNGP and NTK kernels</h1>\n"
            "<p class=\"meta\">Generated by <code>demo/report.py</code> (<code>make demo</code>) in %.1f s on "
            "built-in data (no downloads). Activation methods: %s.</p>\n<ul>%s</ul>\n%s"
            "<h2>Timings</h2>%s\n</body></html>\n"
            % (deepwick.__version__, CSS, deepwick.__version__, total,
               html.escape(", ".join("%s: %s" % (a, deepwick.Activation(a).method)
                                     for a in ["identity", "relu", "leaky_relu:0.1", "abs", "erf", "sin"])),
               toc, body, timing))


def write_atomic(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "demo" / "report.html"), help="the HTML report to write")
    ap.add_argument("--write-data", metavar="DIR", help="write the input files of section (c) into DIR and exit")
    args = ap.parse_args(argv)
    if args.write_data:
        print(write_data(args.write_data))
        return 0
    t0 = time.perf_counter()
    ctx = Ctx()
    print("deepwick %s demo: NNGP and NTK on built-in data (circle in a 2-plane of R^%d; two moons)"
          % (deepwick.__version__, D))
    sections = []
    for fn in SECTIONS:
        s = fn(ctx)
        sections.append(s)
        for line in s.summary:
            print(line)
        sys.stdout.flush()
    total = time.perf_counter() - t0
    text = render(sections, ctx, total)
    write_atomic(args.out, text)
    print("report: %s (%d sections, %.0f kB), %.1f s in all" % (args.out, len(sections), len(text) / 1024, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
