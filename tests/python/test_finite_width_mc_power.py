"""Monte Carlo studies with power (fw_mc_power.py): the O(1/N^2) remainder's slope, and the means' kappa_4 terms.

Fast (make check): the conditional mean of fw_mc_power.sparse_mean_shift against the sampled networks' G^3 (the
same networks of deepwick.sampling.sample), and the block statistic's networks against the sampler.
Long (make check-long, @pytest.mark.long; times in finite.md):
  test_remainder_slope: relu depth 4, |Var_MC - V/N| over N = 32, 64, 128 has slope -2 (not -1);
  test_sparse_mean_shift: sparse:P weights, relu depth 2, both pairs: nngp_1 and ntk_1, law minus Gaussian, within
  4 standard errors of the reference, and 0 (the Gaussian weights' prediction) rejected by more than 5.
FWMC_SCALE=s multiplies the numbers of networks.
"""
import math
import os

import numpy as np
import pytest

import fw_mc
import fw_mc_power
from deepwick import sampling

SCALE = float(os.environ.get("FWMC_SCALE", "1"))


def _scaled(samples):
    return {N: max(50, int(S * SCALE)) for N, S in samples.items()}


@pytest.mark.parametrize("P,gaussian", [(0.25, False), (0.1, False), (1.0, True)])
def test_conditional_mean_is_the_sampled_networks(P, gaussian):
    """E[G^3 | layer 1, support of W^2] and E[Theta_N | ...] (fw_mc_power.conditional_ntk) of the sparse law, and
    of Gaussian weights given layer 1, against the sampler's own G^3 and NTK on the same networks: the differences
    have mean 0 (and the support read off the draws has the law's density P)."""
    z = fw_mc_power.check_conditional("relu", P, 32, 300, gaussian=gaussian)
    assert np.all(np.isfinite(z)) and np.all(np.abs(z) < 4.0), z
    if gaussian:
        return
    h1, W2 = fw_mc_power.draws("relu", P, 64, 3, 11, fw_mc.inputs())
    _, Sig = fw_mc_power.conditional("relu", P, h1, W2)
    frac = np.mean(W2 != 0)
    assert abs(frac - P) < 4 * math.sqrt(P * (1 - P) / W2.size), frac
    assert Sig.shape == (64, 3, 3) and np.all(np.linalg.eigvalsh(Sig) > -1e-12)   # PSD (singular: few inputs)


def test_block_sums_are_the_samplers_ntk():
    """The statistic s = Theta(x,x) + Theta(y,y) + 2 Theta(x,y) of fw_mc's per-unit NTKs, averaged over the
    units, equals the same combination of sampling.sample's NTK (averaged over its out_dim units)."""
    X = fw_mc.inputs()
    s = fw_mc_power.block_sums("relu", 16, 2, seed=5, L=3, j=2, R=4)
    for k in range(2):
        t = sampling.sample(X, depth=3, act="relu", width=16, samples=1, weight_var=2.0, bias_var=0.1, seed=5,
                            first_sample=k, reduce="none", gram="ntk", outputs=False, out_dim=4).gram[0]
        assert s[k].mean() == pytest.approx(t[0, 0] + t[2, 2] + 2 * t[0, 2], rel=1e-12)


@pytest.mark.long
def test_remainder_slope():
    """relu depth 4, correlated pair: the remainder of N Var s's leading order, in Var units, falls like N^-2."""
    r = fw_mc_power.remainder_slope(samples=_scaled({32: 16000, 64: 16000, 128: 16000}), L=4)
    print()
    for N, v, se in r["rows"]:
        print("N %4d  Var s - V/N = %9.3f +- %7.3f  (%.1f SE; %.1f%% of V/N)" % (N, v, se, v / se,
                                                                              100 * v * N / r["V"]))
    print("slope %.3f +- %.3f (chi2/dof %.2f); against -1: %.1f SE"
          % (r["slope"], r["slope_se"], r["chi2"], (r["slope"] + 1) / r["slope_se"]))
    assert all(v > 3 * se for _, v, se in r["rows"]), r["rows"]      # the remainder is seen at every width
    assert abs(r["slope"] + 2) < 4 * r["slope_se"]
    assert r["slope"] + 1 < -3 * r["slope_se"]                          # not a 1/N remainder


@pytest.mark.long
@pytest.mark.parametrize("P,samples", [(0.25, {64: 2000, 128: 1000, 256: 500}),
                                       (0.1, {128: 1500, 256: 700, 512: 300})])
def test_sparse_mean_shift(P, samples):
    """kappa_4 = 3/P - 3 = 9 and 27.  The expansion runs in kappa_4 / N: for P = 0.1 the widths start at 128 (from
    64, the fit c0 + c1/N left the anti pair's nngp_1 shift 3.7 standard errors off, chi2/dof 2.4)."""
    rows = fw_mc_power.sparse_mean_shift("relu", P, samples=_scaled(samples))
    print()
    print(fw_mc.table(rows))
    for r in rows:
        print("%s: z %.2f against the law's prediction, %.1f against the Gaussian one (0)"
              % (r["pair"], r["z"], r["z_alt"]))
    assert all(abs(r["z"]) < 4.0 for r in rows)
    assert all(abs(r["z_alt"]) > 5.0 for r in rows)
