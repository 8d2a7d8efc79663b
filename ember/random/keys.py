"""Explicit, splittable randomness (JAX's ``jax.random``), on the Threefry-2x32 cipher.

A key is a uint32 tensor of shape ``(2,)`` (a batch of keys: ``(..., 2)``). Functions are pure:
the same key gives the same numbers eagerly, under ``jit`` and under ``vmap`` (where a batch of
keys gives independent samples per example, as in JAX). Bits, splits, ``fold_in``, uniform
samples in [0, 1), ``randint``, ``permutation``, ``bernoulli`` and ``categorical`` are
bit-identical to JAX's (with its default ``jax_threefry_partitionable``, for seeds below
2**31: ember keeps all 64 bits of a seed, JAX without x64 keeps 32); scaled uniform and normal
samples agree to float32 rounding (XLA fuses multiply-adds).
"""
from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import place
from ..core.primitive import bind
from ..core.tensor import Tensor
from ..ops.elementwise import as_value, cast, erf, maximum, minimum, remainder, where
from ..ops.indexing import getitem, stack
from ..ops.prng_ops import (_nmant as _mantissa_bits, argsort, bits_to_unit_p, erfinv,
                            fold_in_key, hash_key, key_bits32)
from ..ops.reduce import argmax

__all__ = ["key", "PRNGKey", "key_data", "split", "fold_in", "bits", "uniform", "normal",
           "bernoulli", "categorical", "randint", "permutation", "truncated_normal", "gumbel"]


def key(seed):
    """A key from an integer seed: the seed's 64 bits as (high word, low word).

    >>> ember.random.key(0)
    tensor([0, 0], dtype=ember.uint32)
    >>> ember.random.key(2 ** 32 + 5)
    tensor([1, 5], dtype=ember.uint32)
    """
    if isinstance(seed, Tensor):
        if seed.ndim != 0 or not seed.dtype.is_integer:
            raise TypeError(f"random.key: seed must be a scalar integer, got {seed.dtype} of "
                            f"shape {tuple(seed.shape)}")
        s = cast(seed, _dt.int64)
        hi = cast((s // (2 ** 32)) % (2 ** 32), _dt.uint32)
        lo = cast(s % (2 ** 32), _dt.uint32)
        return stack([hi, lo])
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"random.key: seed must be an integer, got {seed!r}")
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    return Tensor._wrap(place(np.array([s >> 32, s & 0xFFFFFFFF], np.uint32)))  # default device


PRNGKey = key


def key_data(k):
    """The raw uint32 words of a key (keys are plain uint32 tensors already, so this is
    the key itself).

    >>> ember.random.key_data(ember.random.key(7))
    tensor([0, 7], dtype=ember.uint32)
    """
    return _check_key(k, "key_data")


def _check_key(k, op):
    k = as_value(k)
    if k.dtype is not _dt.uint32 or k.ndim < 1 or k.shape[-1] != 2:
        raise TypeError(f"random.{op}: expected a key (uint32 tensor of shape (2,), from "
                        f"random.key(seed)), got {k.dtype} of shape {tuple(k.shape)}")
    if k.ndim > 1:
        raise ValueError(f"random.{op}: got a batch of keys of shape {tuple(k.shape)}; use "
                         f"ember.vmap over the keys to draw with each")
    return k


def _shape(shape, op):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"random.{op}: shape must be a tuple of ints, got {shape!r}") from None


def split(key, num=2):
    """``num`` new keys (shape ``(num, 2)``; ``num`` may be a shape).

    >>> ember.random.split(ember.random.key(0))           # the same words as jax.random.split
    tensor([[1797259609, 2579123966],
            [ 928981903, 3453687069]], dtype=ember.uint32)
    >>> subkeys = ember.random.split(ember.random.key(0), 3)
    >>> subkeys.shape
    ember.Size([3, 2])
    """
    k = _check_key(key, "split")
    shape = _shape(num, "split")
    b1, b2 = hash_key(k, shape)
    return stack([b1, b2], -1)


def fold_in(key, data):
    """A new key that mixes the integer ``data`` into ``key``.

    >>> k = ember.random.key(0)
    >>> ember.random.fold_in(k, 1)
    tensor([ 928981903, 3453687069], dtype=ember.uint32)
    >>> bool((ember.random.fold_in(k, 1) == ember.random.fold_in(k, 2)).all())
    False
    """
    k = _check_key(key, "fold_in")
    d = as_value(data) if isinstance(data, Tensor) else Tensor._wrap(
        np.array(int(data) & 0xFFFFFFFF, np.uint32))
    if d.ndim != 0:
        raise ValueError(f"random.fold_in: data must be a scalar, got shape {tuple(d.shape)}")
    return fold_in_key(k, cast(d, _dt.uint32) if d.dtype is not _dt.uint32 else d)


def bits(key, shape=(), dtype=None):
    """Uniform random bits: an unsigned integer tensor (uint32 by default, or uint8/16/64).

    >>> ember.random.bits(ember.random.key(0), (3,))
    tensor([4070199207, 4202968722, 1427181096], dtype=ember.uint32)
    """
    k = _check_key(key, "bits")
    shape = _shape(shape, "bits")
    dtype = _dt.uint32 if dtype is None else _dt.as_dtype(dtype)
    width = dtype.np.itemsize * 8
    if width == 64:
        b1, b2 = hash_key(k, shape)
        return cast(b1, dtype) * (2 ** 32) + cast(b2, dtype)
    x = key_bits32(k, shape)
    return x if width == 32 else cast(x, dtype)


def _float_dtype(dtype, op):
    """``dtype``, or JAX's default float: float64 in 64-bit mode, else the default dtype."""
    if dtype is None:
        d = _dt.float64 if _dt.x64_enabled() else _dt.get_default_dtype()
    else:
        d = _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise TypeError(f"random.{op}: dtype must be floating point, got {d}")
    return d


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform samples in [minval, maxval).

    >>> ember.random.uniform(ember.random.key(0), (3,))      # jax.random.uniform's values
    tensor([0.9477, 0.9786, 0.3323])
    >>> x = ember.random.uniform(ember.random.key(1), (1000,), minval=-2.0, maxval=2.0)
    >>> bool(x.min() >= -2.0) and bool(x.max() < 2.0)
    True
    """
    _check_key(key, "uniform")
    d = _float_dtype(dtype, "uniform")
    shape = _shape(shape, "uniform")
    width = d.np.itemsize * 8
    nmant = _nmant(d)
    rng = bits(key, shape, {8: _dt.uint8, 16: _dt.uint16, 32: _dt.uint32,
                            64: _dt.uint64}[8 if nmant < 8 else width])
    u = bind(bits_to_unit_p, rng, dtype=d)
    if not isinstance(minval, Tensor) and not isinstance(maxval, Tensor) and \
            minval == 0 and maxval == 1:
        return u  # already in [0, 1)
    lo = _as_float(minval, d)
    hi = _as_float(maxval, d)
    return maximum(lo, u * (hi - lo) + lo)


def _nmant(d):
    return _mantissa_bits(d.np)


def _as_float(v, d):
    if isinstance(v, Tensor):
        return cast(v, d)
    return Tensor._wrap(np.asarray(v, d.np))


def normal(key, shape=(), dtype=None):
    """Standard normal samples (inverse-CDF of a uniform sample, as JAX).

    >>> ember.random.normal(ember.random.key(0), (3,))
    tensor([ 1.6226,  2.0253, -0.4336])
    >>> ember.random.normal(ember.random.key(0), (2,), dtype=ember.float64).dtype
    ember.float64
    """
    _check_key(key, "normal")
    d = _float_dtype(dtype, "normal")
    lo = np.nextafter(np.array(-1.0, d.np), np.array(0.0, d.np))
    u = uniform(key, shape, d, lo, 1.0)
    return erfinv(u) * d.np.type(math.sqrt(2))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normal samples conditioned on ``lower < x < upper``.

    >>> x = ember.random.truncated_normal(ember.random.key(0), -1.0, 1.0, (1000,))
    >>> bool(x.min() > -1.0) and bool(x.max() < 1.0)
    True
    """
    _check_key(key, "truncated_normal")
    d = _float_dtype(dtype, "truncated_normal")
    lo, hi = _as_float(lower, d), _as_float(upper, d)
    if shape is None:
        shape = np.broadcast_shapes(tuple(lo.shape), tuple(hi.shape))
    s2 = d.np.type(math.sqrt(2))
    a, b = erf(lo / s2), erf(hi / s2)
    u = uniform(key, shape, d, a, b)
    out = erfinv(u) * s2
    if not hasattr(lo, "_trace") and not hasattr(hi, "_trace"):
        # keep samples strictly inside the interval despite rounding
        lo = Tensor._wrap(np.nextafter(lo._data, np.array(np.inf, d.np)))
        hi = Tensor._wrap(np.nextafter(hi._data, np.array(-np.inf, d.np)))
    return minimum(maximum(out, lo), hi)


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p``.

    >>> ember.random.bernoulli(ember.random.key(0), 0.5, (5,))
    tensor([False, False, True, True, False])
    >>> round(ember.random.bernoulli(ember.random.key(0), 0.3, (10000,)).float().mean().item(), 1)
    0.3
    """
    _check_key(key, "bernoulli")
    pt = p if isinstance(p, Tensor) else Tensor._wrap(np.asarray(p, np.float32))
    if not pt.dtype.is_floating_point:
        pt = cast(pt, _dt.float32)
    if shape is None:
        shape = tuple(pt.shape)
    return uniform(key, shape, pt.dtype) < pt


def gumbel(key, shape=(), dtype=None):
    """Standard Gumbel samples.

    >>> x = ember.random.gumbel(ember.random.key(0), (10000,))
    >>> round(x.mean().item(), 1)                              # Euler's constant, 0.577...
    0.6
    """
    _check_key(key, "gumbel")
    d = _float_dtype(dtype, "gumbel")
    tiny = np.finfo(d.np).tiny if d is not _dt.bfloat16 else _tiny_bf16()
    return -(-uniform(key, shape, d, tiny, 1.0).log()).log()


def _tiny_bf16():
    import ml_dtypes
    return ml_dtypes.finfo(ml_dtypes.bfloat16).tiny


def categorical(key, logits, axis=-1, shape=None):
    """Class indices sampled from ``softmax(logits)`` along ``axis`` (Gumbel-max).

    >>> logits = ember.tensor([0., 10., 0.])                   # class 1 is e^10 times likelier
    >>> ember.random.categorical(ember.random.key(0), logits, shape=(4,))
    tensor([1, 1, 1, 1], dtype=ember.int32)
    """
    _check_key(key, "categorical")
    lg = as_value(logits)
    ax = axis % lg.ndim
    batch_shape = tuple(s for i, s in enumerate(lg.shape) if i != ax)
    if shape is None:
        shape = batch_shape
    shape = _shape(shape, "categorical")
    extra = len(shape) - len(batch_shape)
    if extra < 0 or tuple(shape[extra:]) != batch_shape:
        raise ValueError(f"random.categorical: shape {shape} must end with the logits' batch "
                         f"shape {batch_shape}")
    full = list(shape[extra:])
    full.insert(ax, lg.shape[ax])
    g = gumbel(key, tuple(shape[:extra]) + tuple(full), lg.dtype)
    return cast(argmax(g + lg.reshape((1,) * extra + tuple(lg.shape)), ax + extra), _dt.int32)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers in [minval, maxval) (int32 by default, as JAX).

    >>> ember.random.randint(ember.random.key(0), (5,), 0, 10)
    tensor([9, 0, 2, 3, 1], dtype=ember.int32)
    """
    _check_key(key, "randint")
    d = _dt.int32 if dtype is None else _dt.as_dtype(dtype)
    if not d.is_integer or d is _dt.bool_:
        raise TypeError(f"random.randint: dtype must be an integer type, got {d}")
    shape = _shape(shape, "randint")
    width = d.np.itemsize * 8
    if width < 32:  # narrow types draw 32-bit samples in their range, as JAX does
        info = np.iinfo(d.np)
        lo = cast(as_value(minval), _dt.int64).clamp(int(info.min), int(info.max))
        hi = cast(as_value(maxval), _dt.int64).clamp(int(info.min), int(info.max) + 1)
        return cast(randint(key, shape, lo, hi, _dt.int32), d)
    ud = {8: _dt.uint8, 16: _dt.uint16, 32: _dt.uint32, 64: _dt.uint64}[width]
    info = np.iinfo(d.np)
    lo_v, hi_v = as_value(minval), as_value(maxval)
    hi_out = cast(hi_v, _dt.int64) > int(info.max)
    lo = cast(cast(lo_v, _dt.int64).clamp(int(info.min), int(info.max)), d)
    hi = cast(cast(hi_v, _dt.int64).clamp(int(info.min), int(info.max)), d)
    ks = split(key)
    higher, lower = bits(ks[0], shape, ud), bits(ks[1], shape, ud)
    span = cast(hi - lo, ud)
    span = where(hi <= lo, Tensor._wrap(np.ones((), ud.np)), span)
    span = where(hi_out & (hi > lo), span + ud.np.type(1), span)
    half = Tensor._wrap(np.asarray(2 ** (width // 2), ud.np))
    mult = _rem(half, span)
    mult = _rem(mult * mult, span)
    off = _rem(_rem(higher, span) * mult + _rem(lower, span), span)
    return lo + cast(off, d)


def _rem(a, b):
    return remainder(a, b)


def permutation(key, x, axis=0):
    """A random permutation of ``range(x)`` (int) or of ``x`` along ``axis`` (a tensor).

    >>> ember.random.permutation(ember.random.key(0), 5)
    tensor([0, 1, 4, 3, 2], dtype=ember.int32)
    >>> ember.random.permutation(ember.random.key(0), ember.tensor([10., 11., 12., 13., 14.]))
    tensor([10., 11., 14., 13., 12.])
    """
    k = _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)):
        arr = Tensor._wrap(place(np.arange(int(x), dtype=np.int32)))  # default device
    else:
        arr = as_value(x)
    if arr.ndim == 0:
        raise ValueError("random.permutation: x must be an int or a tensor with at least 1 dim")
    ax = axis % arr.ndim
    n = arr.shape[ax]
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        ks = split(k)
        k, sub = ks[0], ks[1]
        sort_keys = bits(sub, (n,))
        order = argsort(sort_keys, 0)
        arr = getitem(arr, (slice(None),) * ax + (order,))
    return arr


def choice(key, a, shape=(), replace=True, p=None):
    """Samples from ``range(a)`` or the rows of ``a``, with or without replacement.

    >>> ember.random.choice(ember.random.key(0), 5, (3,), replace=False)
    tensor([0, 1, 4], dtype=ember.int32)
    >>> ember.random.choice(ember.random.key(0), 3, (4,), p=ember.tensor([0., 1., 0.]))
    tensor([1, 1, 1, 1], dtype=ember.int32)
    """
    _check_key(key, "choice")
    arr = Tensor._wrap(np.arange(int(a), dtype=np.int32)) if isinstance(a, (int, np.integer)) \
        else as_value(a)
    n = arr.shape[0]
    shape = _shape(shape, "choice")
    m = math.prod(shape)
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            if m > n:
                raise ValueError(f"random.choice: can't take {m} samples without replacement "
                                 f"from {n} entries")
            idx = permutation(key, n)[:m].reshape(shape)
        return getitem(arr, idx)
    pt = as_value(p)
    if replace:
        idx = categorical(key, pt.log(), shape=shape)
    else:
        if m > n:
            raise ValueError(f"random.choice: can't take {m} samples without replacement from "
                             f"{n} entries")
        g = gumbel(key, (n,), pt.dtype) + pt.log()
        idx = argsort(g, 0, descending=True)[:m].reshape(shape)
    return getitem(arr, idx)


__all__.append("choice")
