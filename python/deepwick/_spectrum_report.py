"""``jacobian_report``: everything ``deepwick jacobian --json`` reports, from the library's one report object (the
limit, criticality, optional exact rationals, density grid and sampled networks); re-exported by
:mod:`deepwick.spectrum`. No mathematics here."""
from __future__ import annotations

import ctypes
import json
import warnings
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ._lib import Handle as _Handle
from ._lib import (Activation, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, text as c_text,
                   threads_arg)
from ._net import ArrayLike, fc_net
from .spectrum import (_WEIGHTS, _dbl, _int, _law_format, _law_warning, _opts_clear, _opts_fixed, _opts_init, _opts_q0,
                       _sopts_clear, _sopts_init, _sopts_probes, _sopts_samples, _sopts_seed, _sopts_threads, _sz)


# ---- the report of `deepwick jacobian` ------------------------------------------------------------------------------

_rep_init = bind("dw_spectrum_report_init", _int, c_handle_p, c_handle, c_handle, _int)
_rep_clear = bind("dw_spectrum_report_clear", None, c_handle)
_rep_exact = bind("dw_spectrum_report_exact", _int, c_handle)
_rep_density = bind("dw_spectrum_report_density", _int, c_handle, _dbl, _dbl, _sz)
_rep_sample = bind("dw_spectrum_report_sample", _int, c_handle, c_handle, ctypes.c_ulonglong)
_rep_json = bind("dw_spectrum_report_json", ctypes.c_char_p, c_handle)
_rep_grid = bind("dw_spectrum_report_density_grid", _sz, c_handle, ctypes.POINTER(c_double_p),
                 ctypes.POINTER(c_double_p), c_double_p)
_rep_sampled = bind("dw_spectrum_report_sampled", ctypes.c_bool, c_handle, ctypes.POINTER(c_double_p),
                    ctypes.POINTER(c_double_p), c_double_p, ctypes.POINTER(c_double_p), ctypes.POINTER(_sz),
                    ctypes.POINTER(_sz), ctypes.POINTER(_sz), c_double_p)


def jacobian_report(depth: int, act: Union[str, Activation], *, K: int = 8, weight_var: ArrayLike = 1.0,
                    bias_var: ArrayLike = 0.0, q0: float = 1.0, weights: Optional[str] = None,
                    fixed_point: bool = False, exact: bool = False,
                    grid: Optional[Tuple[float, float, int]] = None, width: Optional[int] = None,
                    samples: Optional[int] = None, law: Optional[str] = None, probes: int = 0, seed: int = 0,
                    threads: Optional[int] = None, return_spectra: bool = False) -> Dict[str, Any]:
    """Everything ``deepwick jacobian --json`` reports, from the library's one report object.

    The limit's moments (S-transform) with the NC(k) route as a check, q_l, mu_j, criticality at the fixed point
    (q*, chi = sigma_w^2 mu_1(q*), critical when ``|chi - 1| <= 1e-9``), the atom at 0 and the support; optionally the
    exact rationals, the density on a grid, and sampled finite networks against the limit.

    Parameters
    ----------
    depth, act, K, weight_var, bias_var, q0, fixed_point, exact
        As in :func:`jacobian_moments`.
    weights : {'gaussian', 'orthogonal'} or None
        The limit (None: from `law`, else gaussian).
    grid : (a, b, n) or None
        The density at n >= 2 evenly spaced points of [a, b], 0 < a < b.
    width, samples : int or None
        With both: `samples` networks of width N = `width` drawn from `law` (as :func:`sample_jacobian`, `seed`
        keying both the weights and the probes).
    law, probes, seed, threads
        As in :func:`sample_jacobian`.
    return_spectra : bool
        Also return the sampled networks' squared singular values (exact mode).

    Returns
    -------
    dict
        The library's JSON object (keys 'act', 'depth', 'weights', 'q0', 'fixed_point', 'q', 'mu', 'mu_error',
        'moments', 'variance', 'route', 'route_nc_max_rel_diff' (i.i.d., K <= 12), 'q_star', 'chi_star',
        'critical', 'atom0', 'support', and 'exact', 'density', 'sample' when asked for), with 'density' also
        holding the arrays 't' and 'rho' (n,), and 'sample' the array 'spectra' (samples, N) with return_spectra.
    """
    K = as_int("K", K)
    if weights is not None and weights not in _WEIGHTS:
        raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
    if law is not None and not isinstance(law, str):
        raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
    sample = width is not None or samples is not None
    if sample and (width is None or samples is None):
        raise InputError("width, samples: sampled networks need both")
    if return_spectra and (not sample or probes):
        raise InputError("return_spectra: the spectra need sampled networks in exact mode (probes = 0)")
    spec = law if law is not None else weights or "gaussian"
    net = fc_net(depth, act, weight_var, bias_var, readout=False, law=spec,
                 width=None if width is None else float(as_int("width", width, "size_t")))
    buf = ctypes.create_string_buffer(64)
    canon = _law_format(net.handle, buf, 64).decode()
    if weights is not None and (canon == "orthogonal") != (weights == "orthogonal"):
        raise InputError("law %r does not go with weights %r (orthogonal with orthogonal; every i.i.d. law with "
                         "gaussian)" % (law, weights))
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_q0(o.h, float(q0)))
    check(_opts_fixed(o.h, bool(fixed_point)))
    r = _Handle(_rep_init, _rep_clear, net.handle, o.h, K)
    if exact:
        check(_rep_exact(r.h))
    if grid is not None:
        try:
            a, b, n = grid
        except (TypeError, ValueError):
            raise InputError("grid: expected (a, b, n), got %r" % (grid,)) from None
        check(_rep_density(r.h, float(a), float(b), as_int("grid n", n, "size_t")))
    if sample:
        w = _law_warning(net.handle)
        if w:
            warnings.warn("law %s: %s" % (spec, w.decode()), RuntimeWarning, stacklevel=2)
        so = _Handle(_sopts_init, _sopts_clear)
        check(_sopts_samples(so.h, as_int("samples", samples, "size_t")))
        check(_sopts_probes(so.h, as_int("probes", probes, "size_t")))
        seed = as_int("seed", seed, "u64")
        check(_sopts_seed(so.h, seed))
        check(_sopts_threads(so.h, threads_arg(threads)))
        check(_rep_sample(r.h, so.h, seed))
    out: Dict[str, Any] = json.loads(c_text(_rep_json(r.h)))
    if grid is not None:
        tp, rp, mass = c_double_p(), c_double_p(), ctypes.c_double()
        n = _rep_grid(r.h, ctypes.byref(tp), ctypes.byref(rp), ctypes.byref(mass))
        out["density"]["t"] = np.ctypeslib.as_array(tp, shape=(n,)).copy()
        out["density"]["rho"] = np.ctypeslib.as_array(rp, shape=(n,)).copy()
    if return_spectra:
        s2p = c_double_p()
        S, N, z = _sz(), _sz(), _sz()
        _rep_sampled(r.h, None, None, None, ctypes.byref(s2p), ctypes.byref(S), ctypes.byref(N), ctypes.byref(z),
                     None)
        out["sample"]["spectra"] = np.ctypeslib.as_array(s2p, shape=(S.value, N.value)).copy()
    return out
