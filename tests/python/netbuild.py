"""Networks by the raw layer setters of deepwick's network object (include/deepwick/net.h), one C call per layer: the
route the tests compare the stax, text-spelling and CLI front ends against (it neither parses a spelling nor reads
an input shape from data)."""
import ctypes

from deepwick import _net
from deepwick._lib import Activation, check


def _sizes(*v):
    return (ctypes.c_size_t * len(v))(*v)


class Build:
    """A network built layer by layer with the raw setters; ``shape`` the input's (without the batch axis)."""

    def __init__(self, *shape):
        self.net = _net.Net()
        if shape:
            s = _sizes(*shape)
            self.net._keep.append(s)
            check(_net.net_set_input_shape(self.net.handle, len(shape), s))

    def conv(self, f, pad, wv, bv, out, strides=None, standard=False):
        fs = _sizes(*f)
        st = _sizes(*strides) if strides else None
        self.net._keep += [fs, st]
        check(_net.net_add_conv(self.net.handle, len(f), fs, st, _net.PADDINGS[pad.upper()], wv, bv, out))
        if standard:
            check(_net.net_set_last_param(self.net.handle, 1))
        return self

    def dense(self, wv, bv, out):
        check(_net.net_add_dense(self.net.handle, wv, bv, out))
        return self

    def act(self, name):
        a = Activation(name)
        self.net._keep.append(a)
        check(_net.net_add_act(self.net.handle, a._h))
        return self

    def avgpool(self, w, pad="valid"):
        ws = _sizes(*w)
        self.net._keep.append(ws)
        check(_net.net_add_pool(self.net.handle, True, len(w), ws, None, _net.PADDINGS[pad.upper()], False))
        return self

    def gap(self):
        check(_net.net_add_global_pool(self.net.handle, True))
        return self

    def flatten(self):
        check(_net.net_add_flatten(self.net.handle))
        return self

    def layernorm(self, spatial=False):
        check(_net.net_add_layernorm(self.net.handle, spatial, 1e-12))
        return self

    def dropout(self, rate):
        check(_net.net_add_dropout(self.net.handle, rate, True))
        return self

    def residual(self, branch, skip, scale):
        check(_net.net_add_residual(self.net.handle, branch.net.handle, skip, scale))
        self.net._keep.append(branch.net)
        return self
