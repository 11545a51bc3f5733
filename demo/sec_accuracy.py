"""Report section (h): NNGP and NTK test accuracy on scikit-learn's bundled digits against depth and activation.

Kept apart from report.py (one concern per file); report.py passes its helpers in. The data, split and
regularisation rule are fixed here and documented in docs/predict.md ("Accuracy on digits"):

* data: ``sklearn.datasets.load_digits`` (1797 images 8x8, 10 classes, bundled: no download); pixels / 16, each
  image centred by the training set's mean image and scaled to squared norm d = 64 (so every input has the same
  variance q = weight_var + bias_var at the first layer);
* split: a permutation by ``numpy.random.default_rng(seed)``; the first ``n_train`` points train, the next
  ``n_test`` test (disjoint);
* labels: one-hot centred, ``onehot - 1/10`` (Neural Tangents' convention; ``kernel_regression`` does it);
* regularisation: fixed relative ``diag_reg = 1e-4`` (lambda = 1e-4 trace(K) / n, Neural Tangents' scaling), the
  same for every kernel, chosen in advance and never on the test set: it approximates the t -> infinity limit of
  gradient-descent training (the quantity the NNGP/NTK accuracy literature reports) while keeping K + lambda I
  well conditioned; being relative, it is invariant to the kernel's overall scale, which changes with depth;
* run alone (``.venv/bin/python demo/sec_accuracy.py [--seed S --n-train N --n-test M]``) it prints the table in
  Markdown, as docs/predict.md shows it;
* network: weight_var = 2, bias_var = 0.01 for every activation (relu's critical line), readout included.
"""
import pathlib
import sys
import time

import numpy as np

if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "python"))
import deepwick  # noqa: E402

DEPTHS = (1, 2, 3, 5, 10)
ACTS = ("relu", "erf", "tanh", "gelu")
KINDS = ("nngp", "ntk")
DIAG_REG = 1e-4
WEIGHT_VAR, BIAS_VAR = 2.0, 0.01


def digits_split(n_train, n_test, seed):
    """Train/test split of load_digits: (X_train, y_train, X_test, y_test), preprocessed as the module says."""
    from sklearn.datasets import load_digits

    d = load_digits()
    if n_train < 1 or n_test < 1 or n_train + n_test > len(d.target):
        raise ValueError("n_train + n_test must be in [2, %d], got %d + %d" % (len(d.target), n_train, n_test))
    idx = np.random.default_rng(seed).permutation(len(d.target))
    tr, te = idx[:n_train], idx[n_train:n_train + n_test]
    X = d.data / 16.0
    mean = X[tr].mean(axis=0)
    X = X - mean
    X *= np.sqrt(X.shape[1]) / np.linalg.norm(X, axis=1, keepdims=True)
    return X[tr], d.target[tr], X[te], d.target[te]


def accuracy_table(n_train, n_test, seed, depths=DEPTHS, acts=ACTS, timed=None):
    """Test accuracy {(act, depth, kind): fraction correct} of kernel regression (t = infinity) on digits."""
    Xtr, ytr, Xte, yte = digits_split(n_train, n_test, seed)
    run = timed or (lambda what, fn, *a, **k: fn(*a, **k))
    acc = {}
    for act in acts:
        for depth in depths:
            for kind in KINDS:
                mean = run("kernel_regression %s %s depth %d (%d train, %d test)" % (kind, act, depth, n_train,
                                                                                    n_test),
                           deepwick.kernel_regression, Xtr, ytr, Xte, depth=depth, act=act, weight_var=WEIGHT_VAR,
                           bias_var=BIAS_VAR, kind=kind, diag_reg=DIAG_REG, solver="cholesky")
                acc[act, depth, kind] = float(np.mean(np.argmax(mean, axis=1) == yte))
    return acc


def section_accuracy(ctx, fig_html, table_html, Section, plt, seed, n_train=500, n_test=1297, depths=DEPTHS,
                     acts=ACTS):
    """(h) the accuracy table and its plot; returns a Section (title, html, summary lines)."""
    acc = accuracy_table(n_train, n_test, seed, depths, acts, timed=ctx.timed)
    header = ["activation", "kernel"] + ["depth %d" % L for L in depths]
    rows = [[act, kind] + ["%.3f" % acc[act, L, kind] for L in depths] for act in acts for kind in KINDS]
    fig, axes = plt.subplots(1, len(KINDS), figsize=(11, 3.8), sharey=True)
    for ax, kind in zip(np.atleast_1d(axes), KINDS):
        for k, act in enumerate(acts):
            a = np.array([acc[act, L, kind] for L in depths])
            # 1 binomial standard error of each accuracy (test-set sampling), drawn to show what differences mean
            ax.errorbar(np.array(depths) * (1 + 0.02 * (k - 1.5)), a, yerr=np.sqrt(a * (1 - a) / n_test), fmt="o-",
                        color="C%d" % k, capsize=2, label=act)
        ax.set_xlabel("depth (hidden layers)")
        ax.set_title("%s kernel regression, %d train / %d test digits" % (kind.upper(), n_train, n_test))
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy")
    html_ = ("<p>Kernel regression (t = infinity: the infinite ensemble trained to convergence) with the NNGP and "
             "the NTK of fully connected networks, sigma_w^2 = %g, sigma_b^2 = %g, on scikit-learn's bundled "
             "<code>load_digits</code>: %d training and %d disjoint test images drawn by a permutation with seed %d; "
             "pixels / 16, centred by the training mean image, each image scaled to squared norm 64. Labels are "
             "one-hot centred (onehot - 1/10). The regulariser is fixed in advance, relative diag_reg = %g "
             "(lambda = %g trace(K)/n), never tuned on the test set. Chance is 0.1; bars are one binomial standard "
             "error (points shifted slightly in depth to stay apart).</p>"
             % (WEIGHT_VAR, BIAS_VAR, n_train, n_test, seed, DIAG_REG, DIAG_REG)
             + fig_html(fig, "test accuracy against depth") + table_html(header, rows))
    best = max(acc, key=acc.get)
    summary = ["(h) digits accuracy (%d train / %d test): best %s %s depth %d %.3f; worst %.3f"
               % (n_train, n_test, best[2], best[0], best[1], acc[best], min(acc.values()))]
    return Section("(h) Accuracy on digits: NNGP and NTK against depth and activation", html_, summary), acc


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="NNGP/NTK test accuracy on load_digits; prints a Markdown table")
    ap.add_argument("--seed", type=int, default=20240607, help="seed of the train/test permutation (report.py's)")
    ap.add_argument("--n-train", type=int, default=500)
    ap.add_argument("--n-test", type=int, default=1297)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    acc = accuracy_table(args.n_train, args.n_test, args.seed)
    print("| activation | kernel | " + " | ".join("depth %d" % L for L in DEPTHS) + " |")
    print("|---|---|" + "---|" * len(DEPTHS))
    for act in ACTS:
        for kind in KINDS:
            print("| %s | %s | " % (act, kind.upper()) + " | ".join("%.3f" % acc[act, L, kind] for L in DEPTHS) + " |")
    print("\n%d train / %d test digits, seed %d, diag_reg %g (relative), %.1f s"
          % (args.n_train, args.n_test, args.seed, DIAG_REG, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
