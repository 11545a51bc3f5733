"""A small numpy trainer: a fully connected network in the NTK parameterisation trained by full-batch gradient
descent on MSE, for the finite-width comparison of report section (h2) (demo/sec_gd_width.py).

Written in numpy (not torch) so that the demo runs in the project's environment; bench/check_peers_gd_width.py
checks it against torch (same initial parameters, same steps) to 1e-10.

The network is deepwick's (docs/sampling.md): with n_0 = d, hidden widths n_1 = ... = n_L = N and n_{L+1} = k
outputs, trainable parameters w_l (n_l x n_{l-1}, torch's layout) and beta_l (n_l), drawn from
``deepwick.sampling.weights('gaussian', ...)`` / ``bias`` (unit variance, the sampler's own streams), and

    h^1 = s_1 w_1 x + c beta_1,   h^{l+1} = s_{l+1} w_{l+1} phi(h^l) + c beta_{l+1},   f = h^{L+1},
    s_l = sqrt(weight_var / n_{l-1}),   c = sqrt(bias_var).

Loss: Neural Tangents' normalisation, L = |f(X) - Y|^2 / (2 Y.size), so that gradient flow on the linearised
network is ``deepwick.predict.gradient_descent_mse(ntk, Y, learning_rate)`` at time = number of steps. Each step is
theta <- theta - learning_rate * dL/dtheta (plain full-batch gradient descent).
"""
import numpy as np

import deepwick

ACTS = {
    "relu": (lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(np.float64)),
    "tanh": (np.tanh, lambda h: 1.0 - np.tanh(h) ** 2),
    # erf and its derivative 2/sqrt(pi) exp(-h^2), with scipy's erf (numpy has none)
    "erf": (lambda h: _erf(h), lambda h: 2.0 / np.sqrt(np.pi) * np.exp(-h * h)),
}


def _erf(h):
    from scipy.special import erf
    return erf(h)


class Net:
    """Parameters of one network; ``params`` is the list [(w_1, beta_1), ..., (w_{L+1}, beta_{L+1})]."""

    def __init__(self, d, width, depth, k, act, weight_var, bias_var, seed):
        if act not in ACTS:
            raise ValueError("act: expected one of %s, got %r" % (sorted(ACTS), act))
        self.act, self.phi, self.dphi = act, ACTS[act][0], ACTS[act][1]
        self.sizes = [d] + [width] * depth + [k]
        self.c = np.sqrt(bias_var)
        self.s = [np.sqrt(weight_var / n) for n in self.sizes[:-1]]
        self.params = [(deepwick.sampling.weights("gaussian", n_out, n_in, seed=seed, layer=l + 1),
                        deepwick.sampling.bias("gaussian", n_out, seed=seed, layer=l + 1))
                       for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))]

    def effective(self):
        """The weights and biases as deepwick.forward takes them: (s_l w_l, c beta_l) per layer."""
        return [s * w for s, (w, _) in zip(self.s, self.params)], [self.c * b for _, b in self.params]

    def _forward(self, X):
        """Pre-activations h^1..h^{L+1} (the last is f) and the layer inputs a^0 = X, a^l = phi(h^l)."""
        hs, a_s = [], [X]
        for l, ((w, b), s) in enumerate(zip(self.params, self.s)):
            h = s * (a_s[-1] @ w.T) + self.c * b
            hs.append(h)
            if l < len(self.params) - 1:
                a_s.append(self.phi(h))
        return hs, a_s

    def __call__(self, X):
        """f(X), shape (n, k)."""
        return self._forward(np.asarray(X, dtype=np.float64))[0][-1]

    def loss_grad(self, X, Y):
        """(L, [(dL/dw_l, dL/dbeta_l)]) with L = |f(X) - Y|^2 / (2 Y.size), by back-propagation."""
        hs, a_s = self._forward(X)
        r = hs[-1] - Y
        delta = r / Y.size                       # dL/dh^{L+1}
        grads = [None] * len(self.params)
        for l in range(len(self.params) - 1, -1, -1):
            w, _ = self.params[l]
            grads[l] = (self.s[l] * (delta.T @ a_s[l]), self.c * delta.sum(axis=0))
            if l > 0:
                delta = (self.s[l] * (delta @ w)) * self.dphi(hs[l - 1])
        return 0.5 * float(np.sum(r * r)) / Y.size, grads

    def step(self, X, Y, learning_rate):
        """One full-batch gradient-descent step; returns the loss before it."""
        loss, grads = self.loss_grad(X, Y)
        self.params = [(w - learning_rate * gw, b - learning_rate * gb)
                       for (w, b), (gw, gb) in zip(self.params, grads)]
        return loss


def train(X, Y, X_test, *, width, depth, act, weight_var, bias_var, seed, learning_rate, steps):
    """Train one network from deepwick's initialisation; returns (f_train_0, f_test_0, f_train_T, f_test_T)."""
    X, Y, X_test = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, Y, X_test))
    net = Net(X.shape[1], width, depth, Y.shape[1], act, weight_var, bias_var, seed)
    f0, g0 = net(X), net(X_test)
    for _ in range(steps):
        net.step(X, Y, learning_rate)
    return f0, g0, net(X), net(X_test)
