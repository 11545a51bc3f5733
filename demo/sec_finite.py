"""Report section (f2): the 1/N expansion predicts a finite network's distance from its limit (theory.md 1.6).

Kept apart from report.py (one concern per file); report.py passes its helpers in.
"""
import numpy as np

import deepwick


def section_finite_width(ctx, circle, fig_html, table_html, Section, plt, seed):
    """(f2) measured RMS error and bias of the empirical NTK against the expansion's sqrt(C/N) and Theta1/N."""
    X = circle([0, 30, 75, 120, 180])
    widths = [32, 64, 128, 256, 512]
    S, wv, bv = 80, 2.0, 0.05
    acts = ("relu", "tanh", "z*sigmoid(1.702*z)")
    rows, res = [], {}
    for act in acts:
        for depth in (2, 4):
            m = ctx.timed("converge %s depth %d (%d networks)" % (act, depth, S * len(widths)), deepwick.converge, X,
                          depth=depth, act=act, widths=widths, samples=S, kind="ntk", weight_var=wv, bias_var=bv,
                          seed=seed)
            p = ctx.timed("finite_width + prediction %s depth %d" % (act, depth), deepwick.predict_convergence, X,
                          depth=depth, act=act, widths=widths, kind="ntk", weight_var=wv, bias_var=bv)
            res[act, depth] = (m, p)
            ratio = m["rms"] / p["rms"]
            z = (m["rms"] - p["rms"]) / m["rms_se"]
            coef = p["bias"][0] * widths[0]
            rows.append([act, str(depth), "%.3f" % ratio[0], "%.3f" % ratio[-1], "%.1f" % np.max(np.abs(z[2:])),
                         "%.3g" % coef, "%.3g ± %.2g" % (m["bias_coef"], m["bias_coef_se"])])
    fig, axes = plt.subplots(1, len(acts), figsize=(13, 3.8), sharey=True)
    for ax, act in zip(axes, acts):
        for depth, col in ((2, "C0"), (4, "C3")):
            m, p = res[act, depth]
            N = m["widths"]
            ax.errorbar(N, m["rel_rms"], yerr=2 * m["rms_se"] / m["limit_fro"], fmt="o", color=col, capsize=3,
                        label="depth %d measured" % depth)
            ax.plot(N, p["rms"] / m["limit_fro"], "--", color=col, lw=1.2, label="depth %d: sqrt(C/N)" % depth)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("hidden width N")
        ax.set_title("%s, empirical NTK" % act)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("RMS |Theta_N - Theta|_F / |Theta|_F")
    html_ = ("<p>The 1/N expansion (<code>deepwick finite-width</code>, <code>deepwick converge --predict</code>; "
             "theory.md 1.6) computes, before any sampling, the constant C = lim N E|Theta_N - Theta|_F^2 of a Gram "
             "matrix and the mean shift Theta1 / N of every entry. Here it is set beside %d sampled networks per "
             "width on five inputs of the circle (t = 0, 30, 75, 120, 180 degrees), sigma_w^2 = %g, sigma_b^2 = %g: "
             "dashed lines are sqrt(C/N), points the measured RMS error with 2-SE bars. The ratio measured/predicted "
             "tends to 1 as N grows; its distance from 1 at small N is the O(1/N^2) remainder, larger at depth 4 "
             "(theory.md 1.6, pitfall 2). The bias coefficient is the mean over entries of Theta1 (predicted) "
             "against the fit bias(N) = bias_inf + b/N of the measured means.</p>" % (S, wv, bv)
             + fig_html(fig, "finite-width prediction of the NTK's convergence")
             + table_html(["activation", "depth", "rms ratio N=%d" % widths[0], "rms ratio N=%d" % widths[-1],
                           "max |z| (N >= %d)" % widths[2], "bias coef. predicted", "bias coef. fitted"], rows))
    summary = ["(f2) finite-width prediction: measured/predicted RMS at N=%d: " % widths[-1] + "; ".join(
        "%s d%s %s" % (r[0], r[1], r[3]) for r in rows)]
    return Section("(f2) Finite width: the 1/N expansion against sampled networks", html_, summary)
