"""Weight-only int8/int4 quantization of a functional params pytree (JAX-style code).

``quantize_params(params, bits=8)`` replaces each weight (a floating leaf with at least two
dims, by default) with a ``QuantizedArray``: integer codes and one float32 scale per output
channel (symmetric: ``w ~= codes * scale``, ``codes`` in ``[-127, 127]`` for 8 bits and
``[-7, 7]`` for 4 bits, rounded half to even). Other leaves (biases, norms, integers) pass
through. ``dequantize_params`` maps the tree back to floating weights, so a forward written
for float params runs on the quantized ones::

    qp = quantize_params(params)                       # 4x smaller (8x for bits=4)
    logits = ember.jit(lambda qp, x: mlp(dequantize_params(qp), x))(qp, x)

``QuantizedArray`` is a pytree (children ``codes`` and ``scale``; bits, axis, shape and dtype
are static), so quantized params cross ``jit``, ``vmap`` and ``tree_map`` like any params, and
both functions are compositions of ember ops, usable inside ``jit``. 4-bit codes are packed two
per byte (uint8) along the last dim.
"""
from __future__ import annotations

from ...core import dtypes as _dt
from ...core.tensor import Tensor
from ...ops.elementwise import as_value, where
from ...ops.indexing import stack
from ...ops.shape import reshape
from ...ops.slicing import pad
from ... import tree as _tree

__all__ = ["QuantizedArray", "quantize_params", "dequantize_params"]


class QuantizedArray:
    """A weight stored as integer codes and per-channel float32 scales (``codes * scale``).

    ``codes``: int8 (bits=8), or uint8 holding two 4-bit codes per byte (bits=4);
    ``scale``: float32, shaped to broadcast against the weight (size 1 on every dim but
    ``axis``); ``shape``/``dtype``: the original weight's.

    >>> q = ember.ao.quantization.quantize_params(ember.tensor([[0.5, -1.0], [2.0, 0.1]]))
    >>> q.codes
    tensor([[  64, -127],
            [ 127,    6]], dtype=ember.int8)
    >>> q.dequantize()
    tensor([[ 0.5039, -1.0000],
            [ 2.0000,  0.0945]])
    """

    __slots__ = ("codes", "scale", "bits", "axis", "shape", "dtype")

    def __init__(self, codes, scale, bits, axis, shape, dtype):
        self.codes, self.scale = codes, scale
        self.bits, self.axis, self.shape, self.dtype = bits, axis, tuple(shape), dtype

    @property
    def nbytes(self):
        """Bytes held (codes and scales)."""
        return self.codes.nbytes + self.scale.nbytes

    def dequantize(self):
        """The floating weight ``codes * scale`` in the original dtype."""
        c = self.codes
        if self.bits == 4:
            c = _unpack4(c, self.shape)
        w = c.to(_dt.float32) * self.scale
        return w if self.dtype is _dt.float32 else w.to(self.dtype)

    def __repr__(self):
        ax = "per-tensor" if self.axis is None else f"axis={self.axis}"
        return (f"QuantizedArray(shape={self.shape}, dtype={self.dtype}, bits={self.bits}, "
                f"{ax})")


_tree.register_pytree_with_keys(
    QuantizedArray,
    lambda q: (((_tree.GetAttrKey("codes"), q.codes), (_tree.GetAttrKey("scale"), q.scale)),
               (q.bits, q.axis, q.shape, q.dtype)),
    lambda aux, ch: QuantizedArray(ch[0], ch[1], *aux))


def _pack4(c):
    """int codes in [-8, 7] -> uint8, two per byte along the last dim (low nibble first)."""
    if c.shape[-1] % 2:
        c = pad(c, (0, 1))
    n = (c & 15).to(_dt.uint8)
    pairs = reshape(n, tuple(c.shape[:-1]) + (c.shape[-1] // 2, 2))
    return pairs[..., 0] + pairs[..., 1] * 16


def _unpack4(p, shape):
    lo, hi = p & 15, p // 16
    n = reshape(stack([lo, hi], -1), tuple(p.shape[:-1]) + (2 * p.shape[-1],))
    v = n.to(_dt.int8)
    v = where(v >= 8, v - 16, v)
    return v[..., :shape[-1]] if v.shape[-1] != shape[-1] else v


def _quantize_one(w, bits, axis, op):
    qmax = 2 ** (bits - 1) - 1
    nd = w.ndim
    if axis is None:
        dims = tuple(range(nd))
    else:
        if not -nd <= axis < nd:
            raise ValueError(f"{op}: axis {axis} is out of range for a weight of shape "
                             f"{tuple(w.shape)}; pass axis=None for one scale per tensor")
        a = axis % nd
        dims = tuple(d for d in range(nd) if d != a)
    wf = w.detach().to(_dt.float32)
    amax = wf.abs().amax(dim=dims, keepdim=True) if dims else wf.abs()
    scale = amax / qmax
    scale = where(scale > 0, scale, 1.0)  # an all-zero channel: codes 0
    codes = (wf / scale).round().clamp(-qmax, qmax)
    codes = _pack4(codes.to(_dt.int8)) if bits == 4 else codes.to(_dt.int8)
    return QuantizedArray(codes, scale, bits, None if axis is None else a, w.shape, w.dtype)


def _default_predicate(path, leaf):
    return leaf.dtype.is_floating_point and leaf.ndim >= 2


def quantize_params(params, bits=8, axis=0, predicate=None):
    """Weight-only symmetric quantization of a params pytree: each selected leaf becomes a
    ``QuantizedArray`` (integer codes, one float32 scale per slice along ``axis``).

    ``bits``: 8 (int8 codes, 4x smaller than float32) or 4 (two codes per byte, 8x).
    ``axis``: the output-channel dim keeping its own scale — 0 for ember/PyTorch weights
    ``(out, in, ...)``, -1 for a JAX/Flax kernel ``(in, out)``; None: one scale per tensor.
    ``predicate(path, leaf) -> bool`` picks the leaves (default: floating, ``ndim >= 2``;
    ``path`` as in ``ember.tree.tree_flatten_with_path``). Works eagerly and inside ``jit``.

    >>> params = {"w": ember.randn(16, 8), "b": ember.zeros(16)}
    >>> qp = ember.ao.quantization.quantize_params(params, bits=4)
    >>> qp["w"], qp["w"].codes.shape, qp["b"].dtype
    (QuantizedArray(shape=(16, 8), dtype=ember.float32, bits=4, axis=0), ember.Size([16, 4]), ember.float32)
    >>> err = (ember.ao.quantization.dequantize_params(qp)["w"] - params["w"]).abs()
    >>> bool((err <= qp["w"].scale / 2 + 1e-6).all())
    True
    """
    op = "quantize_params"
    if bits not in (8, 4):
        raise ValueError(f"{op}: bits must be 8 or 4, got {bits!r}")
    if axis is not None and not isinstance(axis, int):
        raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
    pick = predicate or _default_predicate
    leaves, treedef = _tree.tree_flatten_with_path(params)
    out = []
    for path, leaf in leaves:
        if isinstance(leaf, Tensor) and pick(path, leaf):
            if not leaf.dtype.is_floating_point:
                raise TypeError(f"{op}: the leaf at {_tree.keystr(path) or 'the root'} is "
                                f"{leaf.dtype}, not floating; exclude it with predicate=")
            if leaf.ndim == 0 and axis is not None:
                raise ValueError(f"{op}: the leaf at {_tree.keystr(path) or 'the root'} is "
                                 f"a scalar; per-channel quantization needs a dim (axis=None)")
            leaf = _quantize_one(as_value(leaf), bits, axis, op)
        out.append(leaf)
    return _tree.tree_unflatten(treedef, out)


def dequantize_params(qparams):
    """The params pytree with every ``QuantizedArray`` replaced by its floating weight
    (``codes * scale`` in the original dtype); other leaves unchanged. Compose it with the
    forward function: ``f(dequantize_params(qp), x)``.

    >>> qp = ember.ao.quantization.quantize_params({"w": ember.tensor([[1.0, -0.5]])})
    >>> ember.ao.quantization.dequantize_params(qp)["w"]
    tensor([[ 1.0000, -0.5039]])
    """
    return _tree.tree_map(lambda v: v.dequantize() if isinstance(v, QuantizedArray) else v,
                          qparams, is_leaf=lambda v: isinstance(v, QuantizedArray))
