"""deepwick demo: infinite-width NNGP / NTK kernels on built-in data sets -> a self-contained HTML report.

Run by `make demo` as

    .venv/bin/python demo/report.py --out demo/report.html

Nothing is downloaded: the data are made here, with fixed seeds.
* circle: points (cos t, sin t) on the unit circle, t in [0, 180] degrees, lifted into d = 10 by a fixed random
  orthogonal map Q (10 x 2) and scaled to |x|^2 = s d, so that the input angle t is known exactly and
  K^1(x, y) = weight_var s cos t + bias_var (MATH.md 1.2);
* moons: a small two-moons classification set in the plane, lifted into d = 10 by the same map.

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
# settings and fixed points (MATH.md 1.2: the diagonal map q -> w E[phi^2] + b, the correlation map, its slope)
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


def edge_of_chaos(act, b, lo=0.5, hi=8.0):
    """weight_var with chi_1 = w E[phi'(sqrt(q*) Z)^2] = 1 at the given bias_var (bisection on w)."""
    def chi(w):
        s = Setting(act, w, b)
        q = q_star(s)
        return float(corr_map(s, q, 1.0)[1])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if chi(mid) < 1:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


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
<li>Network (MATH.md 1.1): h<sup>1</sup> = W<sup>1</sup>x + b<sup>1</sup>,
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
             "Frobenius error of the empirical NTK (back-propagation, MATH.md 1.3) against the exact limit on six "
             "inputs of the circle (t = 0, 10, 45, 90, 135, 180 degrees), with 2-SE bars and the weighted "
             "least-squares fit of log error against log N. MATH.md 1.4 predicts slope -1/2; universality predicts "
             "the same for Rademacher weights (only the constant changes). bias_inf is the extrapolated bias of "
             "the mean (fit a + b/N, theory 0).</p>"
             % S) + fig_html(fig, "convergence of the empirical NTK") + table_html(
        ["activation", "law", "slope", "95% interval", "contains -1/2", "bias_inf"], rows)
    summary = ["(f) empirical NTK -> limit, depth %d: " % depth + "; ".join(
        "%s/%s slope %s %s" % (r[0], r[1], r[2], r[3]) for r in rows)]
    return Section("(f) Finite networks: convergence to the limit", html_, summary)


# The report: sections in order. A later capability appends its own function here.
SECTIONS = [section_angle, section_fixed_point, section_table, section_conventions, section_moons,
            section_convergence]


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
