"""Report section (a1): fully connected vs convolutional vs convolutional-with-global-pooling kernels on MNIST-1D,
and on its spatially shuffled version (issue 25, part 5; docs/architectures.md).

Kept apart from report.py (one concern per file); report.py passes its helpers in. What is fixed here:

* data: ``mnist1d`` (Greydanus 2020), generated offline by the package's own generator with its default arguments
  except the number of samples (``NUM_SAMPLES``; the generator keeps 80% for training): sequences of length 40,
  10 classes. Inputs are standardised by the training set's mean and standard deviation (one scalar each);
* the shuffled data set applies one fixed permutation of the 40 positions (``numpy.random.default_rng(seed)``) to
  every sequence, training and test alike: it destroys the spatial structure a convolution exploits and leaves a
  fully connected network's kernel unchanged (a permutation of the input coordinates preserves dot products);
* networks, with Neural Tangents' ``stax`` names (``from deepwick import stax``): three hidden layers of ReLU,
  W_std = sqrt(2), b_std = 0.1; FC: Dense; CNN: Conv(5, SAME) then Flatten; CNN-GAP: Conv(5, SAME) then
  GlobalAvgPool; a Dense readout;
* predictions: the GP posterior mean / the NTK's t = infinity prediction (``deepwick.predict.gp_inference``) with
  the one-hot centred labels and a relative ``diag_reg = 1e-4`` fixed in advance, never tuned on the test set.

The data set's authors report, for trained networks on the full data, MLP 68% and CNN 94%, and that the shuffled
data set hurts the CNN but not the MLP. Run alone (``.venv/bin/python demo/sec_arch.py``) it prints the table.
"""
import pathlib
import sys
import time

import numpy as np

if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "python"))
import deepwick  # noqa: E402
from deepwick import predict, stax  # noqa: E402

NUM_SAMPLES = 1000  # the generator's 80 / 20 split: 800 training, 200 test sequences
DIAG_REG = 1e-4
W_STD, B_STD, DEPTH, FILTER = 2 ** 0.5, 0.1, 3, 5
KINDS = ("nngp", "ntk")


def mnist1d_split(n_train, seed):
    """(X_train (n, 40, 1), y_train, X_test (m, 40, 1), y_test) of MNIST-1D, standardised as the module says."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = NUM_SAMPLES
    args.seed = seed
    d = make_dataset(args)
    Xtr, ytr, Xte, yte = d["x"][:n_train], d["y"][:n_train], d["x_test"], d["y_test"]
    mu, sd = Xtr.mean(), Xtr.std()
    return (((Xtr - mu) / sd)[..., None], ytr, ((Xte - mu) / sd)[..., None], yte)


def networks():
    """The three architectures, as stax expressions."""
    def conv_body():
        return [layer for _ in range(DEPTH) for layer in
                (stax.Conv(256, (FILTER,), padding="SAME", W_std=W_STD, b_std=B_STD), stax.Relu())]

    fc = stax.serial(stax.Flatten(), *[layer for _ in range(DEPTH) for layer in
                                       (stax.Dense(512, W_std=W_STD, b_std=B_STD), stax.Relu())],
                     stax.Dense(10, W_std=W_STD))
    cnn = stax.serial(*conv_body(), stax.Flatten(), stax.Dense(10, W_std=W_STD))
    gap = stax.serial(*conv_body(), stax.GlobalAvgPool(), stax.Dense(10, W_std=W_STD))
    return {"FC": fc, "CNN": cnn, "CNN-GAP": gap}


def accuracy_table(n_train, seed, timed=None, threads=None):
    """{(data, net, kind): test accuracy} on MNIST-1D and its shuffled version."""
    Xtr, ytr, Xte, yte = mnist1d_split(n_train, seed)
    perm = np.random.default_rng(seed).permutation(Xtr.shape[1])
    run = timed or (lambda what, fn, *a, **k: fn(*a, **k))
    acc = {}
    for data in ("original", "shuffled"):
        A, B = (Xtr[:, perm], Xte[:, perm]) if data == "shuffled" else (Xtr, Xte)
        for name, net in networks().items():
            kernel_fn = net.kernel_fn
            k_tr = run("(a1) %s %s kernels, %d train" % (data, name, len(A)), kernel_fn, A, None, ("nngp", "ntk"),
                       threads=threads)
            k_te = run("(a1) %s %s kernels, %d test x %d train" % (data, name, len(B), len(A)), kernel_fn, B, A,
                       ("nngp", "ntk"), threads=threads)
            fn = predict.gp_inference(k_tr, predict.one_hot(ytr), diag_reg=DIAG_REG)
            for kind in KINDS:
                mean = fn(kind, k_test_train=k_te)
                acc[data, name, kind] = float(np.mean(np.argmax(mean, axis=1) == yte))
    return acc, len(Xte)


def section_arch(ctx, fig_html, table_html, Section, plt, seed, n_train=600):
    """(a1) the MNIST-1D table and its plot; returns a Section."""
    acc, n_test = accuracy_table(n_train, seed, timed=ctx.timed)
    nets = list(networks())
    header = ["data", "kernel"] + nets
    rows = [[data, kind.upper()] + ["%.3f" % acc[data, n, kind] for n in nets]
            for data in ("original", "shuffled") for kind in KINDS]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    x = np.arange(len(nets))
    for k, (data, kind) in enumerate((d, q) for d in ("original", "shuffled") for q in KINDS):
        a = np.array([acc[data, n, kind] for n in nets])
        ax.bar(x + (k - 1.5) * 0.2, a, 0.2, yerr=np.sqrt(a * (1 - a) / n_test), capsize=2,
               label="%s %s" % (data, kind.upper()), color="C%d" % k)
    ax.set_xticks(x, nets)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("MNIST-1D: %d train / %d test, kernel regression (t = infinity)" % (n_train, n_test))
    html_ = ("<p>Infinite-width kernels of three architectures written with <code>deepwick.stax</code> (Neural "
             "Tangents' names): %d ReLU layers (W_std = sqrt 2, b_std = %g), fully connected (FC), convolutional "
             "(filter %d, SAME padding) ending in Flatten (CNN) or in global average pooling (CNN-GAP), on "
             "MNIST-1D generated offline by the <code>mnist1d</code> package (seed %d), and on the same data with "
             "the 40 positions shuffled by one fixed permutation. GP posterior / NTK t = infinity predictions, "
             "relative diag_reg = %g fixed in advance; bars are one binomial standard error. Pooling is what "
             "makes the convolutional kernel translation-aware: CNN-GAP wins on the original sequences and loses "
             "on the shuffled ones, while FC is unchanged by the shuffle (its kernel only sees dot products). "
             "The data set's authors report the same for trained networks (MLP 68%%, CNN 94%% on the full "
             "data).</p>" % (DEPTH, B_STD, FILTER, seed, DIAG_REG)
             + fig_html(fig, "MNIST-1D accuracy by architecture") + table_html(header, rows))
    summary = ["(a1) MNIST-1D NNGP accuracy (%d train / %d test): original %s; shuffled %s"
               % (n_train, n_test, ", ".join("%s %.3f" % (n, acc["original", n, "nngp"]) for n in nets),
                  ", ".join("%s %.3f" % (n, acc["shuffled", n, "nngp"]) for n in nets))]
    return Section("(a1) Architectures on MNIST-1D: fully connected vs convolutional vs global pooling", html_,
                   summary), acc


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="MNIST-1D accuracy of FC / CNN / CNN-GAP kernels; a Markdown table")
    ap.add_argument("--seed", type=int, default=42, help="the generator's seed and the shuffle's")
    ap.add_argument("--n-train", type=int, default=600)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    acc, n_test = accuracy_table(args.n_train, args.seed)
    nets = list(networks())
    print("| data | kernel | " + " | ".join(nets) + " |")
    print("|---|---|" + "---|" * len(nets))
    for data in ("original", "shuffled"):
        for kind in KINDS:
            print("| %s | %s | " % (data, kind.upper()) + " | ".join("%.3f" % acc[data, n, kind] for n in nets)
                  + " |")
    print("\n%d train / %d test sequences, seed %d, diag_reg %g (relative), deepwick %s, %.1f s"
          % (args.n_train, n_test, args.seed, DIAG_REG, deepwick.__version__, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
