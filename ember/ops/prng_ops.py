"""Primitives behind explicit randomness and sorting: the Threefry-2x32 block cipher,
turning random bits into floats in [0, 1), ``erfinv`` (for normal samples), and ``argsort``
(for permutations, and ``sort``/``topk``).

Threefry-2x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) with
20 rounds, in the key/counter layout JAX uses, so ``ember.random`` reproduces JAX's bits.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ..core.tensor import Tensor
from ..backend import namespace
from ._util import canon_dim, host_on_device_of
from .elementwise import (as_value, bitwise_xor, elementwise_batch, moveaxis_to_front, _unary,
                          exp, mul)
from .indexing import stack
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []

_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _threefry_impl(k1, k2, x1, x2):
    shape = np.broadcast_shapes(np.shape(k1), np.shape(k2), np.shape(x1), np.shape(x2))
    u = np.uint32
    xp = namespace(k1, k2, x1, x2)
    ks = [xp.broadcast_to(xp.asarray(k1, u), shape), xp.broadcast_to(xp.asarray(k2, u), shape)]
    ks.append(ks[0] ^ ks[1] ^ _PARITY)
    a = np.add(xp.broadcast_to(xp.asarray(x1, u), shape), ks[0], dtype=u)
    b = np.add(xp.broadcast_to(xp.asarray(x2, u), shape), ks[1], dtype=u)
    a, b = np.atleast_1d(a), np.atleast_1d(b)  # uint32 scalars would warn on wrap-around
    t = np.empty_like(b)
    for i in range(5):
        for r in _ROT[i % 2]:
            np.add(a, b, out=a)
            np.left_shift(b, u(r), out=t)
            np.right_shift(b, u(32 - r), out=b)
            np.bitwise_or(b, t, out=b)
            np.bitwise_xor(a, b, out=b)
        np.add(a, ks[(i + 1) % 3], out=a)
        np.add(b, ks[(i + 2) % 3], out=b)
        np.add(b, u(i + 1), out=b)
    return a.reshape(shape), b.reshape(shape)


def _threefry_shape(k1, k2, x1, x2):
    from ._util import broadcast_shapes
    s = broadcast_shapes(*(tuple(a.shape) for a in (k1, k2, x1, x2)), op="threefry2x32")
    return [Aval(s, _dt.uint32), Aval(s, _dt.uint32)]


threefry2x32_p = Primitive(
    "threefry2x32", _threefry_impl, shape=_threefry_shape, multiple_results=True,
    differentiable=False, vjp=lambda ct, out, *args: (None,) * 4,
    foldable=False,  # large outputs: keep them lazy under jit
    jvp=lambda p, t, out: [o * 0 for o in out])
threefry2x32_p.batch = elementwise_batch(threefry2x32_p)


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash of the counter pairs (x1, x2) under the key (k1, k2), all
    uint32 and broadcast together; returns two uint32 tensors."""
    args = [as_value(a) for a in (k1, k2, x1, x2)]
    for a in args:
        if a.dtype is not _dt.uint32:
            raise TypeError(f"threefry2x32: expects uint32 inputs, got {a.dtype}")
    return tuple(bind(threefry2x32_p, *args))


# ---- key arithmetic shared by ember.random (JAX's API) and the jit's keyed stateful draws ----

def counter_words(shape, like=None):
    """The flat index of every element of ``shape`` as two uint32 tensors (high, low word),
    on the device of ``like`` (a key; None: the CPU)."""
    iota = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    hi, lo = (iota >> np.uint64(32)).astype(np.uint32), iota.astype(np.uint32)
    if like is not None:
        hi, lo = host_on_device_of(hi, like), host_on_device_of(lo, like)
    return Tensor._wrap(hi), Tensor._wrap(lo)


def hash_key(key, shape):
    """Threefry of every element's counter under ``key`` (a uint32 (2,) value): two words."""
    return threefry2x32(key[0], key[1], *counter_words(shape, key))


def fold_in_key(key, data):
    """A new key mixing the uint32 scalar value ``data`` into ``key`` (``random.fold_in``)."""
    b1, b2 = threefry2x32(key[0], key[1], Tensor._wrap(np.zeros((), np.uint32)), data)
    return stack([b1, b2])


def key_bits32(key, shape):
    """uint32 bits of ``shape`` from ``key`` (``random.bits``' 32-bit case)."""
    b1, b2 = hash_key(key, shape)
    return bitwise_xor(b1, b2)


def _unit_impl(bits, dtype):
    """Random bits -> floats in [0, 1): the top mantissa bits under the exponent of 1.0."""
    npd = dtype.np
    nbits = npd.itemsize * 8
    nmant = _nmant(npd)
    rng_bits = 8 if nmant < 8 else nbits
    ut = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[nbits]
    b = bits.astype({8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[rng_bits])
    b = b.astype(ut) >> ut(rng_bits - nmant)
    one = np.array(1.0, npd).view(ut)
    return (b | one).view(npd) - npd.type(1.0)


def _nmant(npd):
    try:
        return np.finfo(npd).nmant
    except ValueError:  # bfloat16 (ml_dtypes)
        import ml_dtypes
        return ml_dtypes.finfo(npd).nmant


bits_to_unit_p = Primitive(
    "bits_to_unit", _unit_impl,
    shape=lambda bits, dtype: Aval(bits.shape, dtype), differentiable=False,
    vjp=lambda ct, out, bits, dtype: (None,), jvp=lambda p, t, out, dtype: out * 0)
bits_to_unit_p.batch = elementwise_batch(bits_to_unit_p)


# ---- erfinv ---------------------------------------------------------------------------

# M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _erfinv_impl(x):
    dt = x.dtype
    x32 = x.astype(np.float32) if dt != np.float64 else x
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log1p(-x32 * x32)
        central = w < 5
        wc = w - x32.dtype.type(2.5)
        wt = np.sqrt(w) - x32.dtype.type(3.0)
        pc = np.full_like(x32, _GILES_CENTRAL[0])
        pt = np.full_like(x32, _GILES_TAIL[0])
        for c in _GILES_CENTRAL[1:]:
            pc = pc * wc + x32.dtype.type(c)
        for c in _GILES_TAIL[1:]:
            pt = pt * wt + x32.dtype.type(c)
        r = np.where(central, pc, pt) * x32
        r = np.where(np.abs(x32) == 1, np.copysign(np.inf, x32), r)
        if dt == np.float64:  # two Newton steps on erf(r) = x reach double precision
            from ..backend import erf
            for _ in range(2):
                fin = np.isfinite(r)
                step = (erf(np.where(fin, r, 0)) - x) / (2 / math.sqrt(math.pi) *
                                                         np.exp(-np.where(fin, r, 0) ** 2))
                r = np.where(fin, r - step, r)
    return r.astype(dt, copy=False)


erfinv_p = _unary("erfinv", _erfinv_impl,
                  lambda x, out: mul(exp(out * out), math.sqrt(math.pi) / 2), needs_out=True,
                  export_name="erfinv",
                  doc="The inverse of ``erf`` on (-1, 1), elementwise.\n\n"
                      ">>> ember.erfinv(ember.tensor([0.0, 0.5]))\n"
                      "tensor([0.0000, 0.4769])\n")
erfinv = erfinv_p.op
export(erfinv, __all__)
method(erfinv)


# ---- sorting ----------------------------------------------------------------------------

def _argsort_impl(x, dim, descending):
    if descending:
        # stable descending: an ascending stable sort of the reversed data, read backwards,
        # keeps tied entries in their original order
        n = x.shape[dim]
        idx = np.flip(np.argsort(np.flip(x, dim), axis=dim, kind="stable"), dim)
        return (n - 1 - idx).astype(np.int64)
    return np.argsort(x, axis=dim, kind="stable").astype(np.int64)


argsort_p = Primitive(
    "argsort", _argsort_impl, shape=lambda x, dim, descending: Aval(x.shape, _dt.int64),
    differentiable=False, vjp=lambda ct, out, x, dim, descending: (None,),
    jvp=lambda p, t, out, dim, descending: out * 0)
argsort_p.batch = lambda args, dims, dim, descending: (
    bind(argsort_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1,
         descending=descending), 0)


def argsort(input, dim=-1, descending=False, stable=True):
    """Indices that sort ``input`` along ``dim`` (stable: ties keep their order).

    >>> ember.argsort(ember.tensor([3., 1., 2.]))
    tensor([1, 2, 0])
    >>> ember.argsort(ember.tensor([3., 1., 2.]), descending=True)
    tensor([0, 2, 1])
    """
    x = as_value(input)
    if x.dtype.is_complex:
        from .elementwise import raise_complex
        raise_complex("sort", x)
    if x.ndim == 0:
        return (x * 0).to(_dt.int64)
    return bind(argsort_p, x, dim=canon_dim(dim, x.ndim, "argsort"),
                descending=bool(descending))


class _SortResult(tuple):
    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def sort(input, dim=-1, descending=False, stable=True):
    """(values, indices) sorted along ``dim``; differentiable in the values.

    >>> ember.sort(ember.tensor([3., 1., 2.]))
    (tensor([1., 2., 3.]), tensor([1, 2, 0]))
    """
    from .indexing import gather
    x = as_value(input)
    idx = argsort(x, dim, descending)
    if x.ndim == 0:
        return _SortResult(x, idx)
    return _SortResult(gather(x, dim, idx), idx)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices.

    >>> ember.topk(ember.tensor([1., 5., 3., 4.]), 2)
    (tensor([5., 4.]), tensor([1, 3]))
    """
    x = as_value(input)
    if x.ndim == 0:  # a 0-d tensor is one element along dim 0 (or -1)
        canon_dim(dim, 1, "topk")
        v, i = topk(x.reshape(1), k, 0, largest, sorted)
        return _SortResult(v.reshape(()), i.reshape(()))
    d = canon_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[d]:
        raise OpError(f"topk: k={k} is out of range for dim {d} of size {x.shape[d]}")
    v, i = sort(x, d, descending=largest)
    from .slicing import narrow
    return _SortResult(narrow(v, d, 0, k), narrow(i, d, 0, k))


for _f in (argsort, sort, topk):
    export(_f, __all__)
    method(_f)
