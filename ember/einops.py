"""einops on ember tensors: ``einops.rearrange/reduce/repeat/einsum/pack/unpack`` accept an
ember ``Tensor`` (eagerly, under ``grad``/``vmap``/``jit`` and with ``.backward()``), and
``Rearrange``, ``Reduce`` and ``EinMix`` are ``ember.nn`` layers, so a script that says
``from einops.layers.torch import Rearrange`` ports by saying ``from ember.einops import
Rearrange``.

einops is optional: ember does not need it. When it is installed, importing ember registers
an einops backend for ember's ``Tensor`` (einops picks a backend by the tensor's type, among
the subclasses of its ``AbstractBackend`` whose framework is imported). Without einops the
module raises ``ImportError`` naming the fix (``import ember`` does not).

>>> import einops
>>> x = ember.arange(24.).reshape(2, 3, 4)
>>> tuple(einops.rearrange(x, "b c n -> b (n c)").shape)
(2, 12)
>>> einops.reduce(x, "b c n -> b", "max").tolist()
[11.0, 23.0]
>>> from ember.einops import Rearrange
>>> tuple(Rearrange("b c (h p) -> b h (p c)", p=2)(x).shape)
(2, 2, 6)
"""
from __future__ import annotations

try:
    import einops as _einops
    from einops._backends import AbstractBackend as _AbstractBackend
    from einops.layers import RearrangeMixin as _RearrangeMixin, ReduceMixin as _ReduceMixin
    from einops.layers._einmix import _EinmixMixin
except ImportError as _e:  # ember imports this module only when it can
    raise ImportError(f"ember.einops needs the einops package, which did not import ({_e}); "
                      f"install it with `pip install einops`") from _e

from . import nn as _nn

__all__ = ["Rearrange", "Reduce", "EinMix", "EmberBackend"]


class EmberBackend(_AbstractBackend):
    """einops' view of ember (found by einops through ``AbstractBackend.__subclasses__``
    once ``ember`` is in ``sys.modules``)."""

    framework_name = "ember"

    def __init__(self):
        import ember
        self.ember = ember

    def is_appropriate_type(self, tensor):
        return isinstance(tensor, self.ember.Tensor)

    def from_numpy(self, x):
        t = self.ember.from_numpy(x)
        if self.is_float_type(t):
            t.requires_grad_(True)
        return t

    def to_numpy(self, x):
        return x.detach().numpy()

    def arange(self, start, stop):
        return self.ember.arange(start, stop, dtype=self.ember.int64)

    def reshape(self, x, shape):
        return x.reshape(tuple(shape))

    def transpose(self, x, axes):
        return x.permute(tuple(axes))

    def reduce(self, x, operation, axes):
        axes = tuple(axes)
        if operation == "min":
            return x.amin(dim=axes)
        if operation == "max":
            return x.amax(dim=axes)
        if operation in ("sum", "mean"):
            return getattr(x, operation)(dim=axes)
        if operation in ("any", "all", "prod"):
            for a in sorted(axes, reverse=True):  # one dimension at a time, as PyTorch's
                x = getattr(x, operation)(dim=a)
            return x
        raise NotImplementedError(f"einops on ember: unknown reduction {operation!r}")

    def stack_on_zeroth_dimension(self, tensors):
        return self.ember.stack(list(tensors))

    def add_axis(self, x, new_position):
        return x.unsqueeze(new_position)

    def add_axes(self, x, n_axes, pos2len):
        sizes = [-1] * n_axes
        for pos, length in pos2len.items():
            x = x.unsqueeze(pos)
            sizes[pos] = length
        return x.expand(*sizes)  # a broadcast view, as einops' torch backend

    def tile(self, x, repeats):
        return x.repeat(*repeats)

    def concat(self, tensors, axis):
        return self.ember.cat(list(tensors), dim=axis)

    def is_float_type(self, x):
        return x.dtype.is_floating_point

    def layers(self):
        import sys
        return sys.modules[__name__]

    def einsum(self, pattern, *x):
        return self.ember.einsum(pattern, *x)

class Rearrange(_RearrangeMixin, _nn.Module):
    """``einops.rearrange`` as a layer: ``Rearrange("b c h w -> b (c h w)")``."""

    def forward(self, input):
        return self._apply_recipe(input)

class Reduce(_ReduceMixin, _nn.Module):
    """``einops.reduce`` as a layer: ``Reduce("b c h w -> b c", "mean")``."""

    def forward(self, input):
        return self._apply_recipe(input)

class EinMix(_EinmixMixin, _nn.Module):
    """einops' ``EinMix``: a linear layer written as an einsum pattern, with its weight
    (and bias) shapes named by axes, e.g. ``EinMix("b t c -> b t d", weight_shape="c d",
    bias_shape="d", c=64, d=32)``. Weights are drawn uniform in +-bound, as einops'
    torch layer."""

    def _create_parameters(self, weight_shape, weight_bound, bias_shape, bias_bound):
        import ember
        self.weight = _nn.Parameter(
            ember.zeros(weight_shape).uniform_(-weight_bound, weight_bound))
        if bias_shape is not None:
            self.bias = _nn.Parameter(ember.zeros(bias_shape).uniform_(-bias_bound, bias_bound))
        else:
            self.bias = None

    def _create_rearrange_layers(self, pre_reshape_pattern, pre_reshape_lengths,
                                 post_reshape_pattern, post_reshape_lengths):
        self.pre_rearrange = None
        if pre_reshape_pattern is not None:
            self.pre_rearrange = Rearrange(pre_reshape_pattern, **pre_reshape_lengths)
        self.post_rearrange = None
        if post_reshape_pattern is not None:
            self.post_rearrange = Rearrange(post_reshape_pattern, **post_reshape_lengths)

    def forward(self, input):
        import ember
        if self.pre_rearrange is not None:
            input = self.pre_rearrange(input)
        result = ember.einsum(self.einsum_pattern, input, self.weight)
        if self.bias is not None:
            result = result + self.bias
        if self.post_rearrange is not None:
            result = self.post_rearrange(result)
        return result

