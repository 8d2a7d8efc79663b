"""The PyTorch-style global generator: ``manual_seed``, ``rand``, ``randn``, ``randint``,
``normal``, ``randperm``, ``Tensor.uniform_/normal_`` and dropout masks.

Eagerly it draws from NumPy's PCG64 generator seeded by ``manual_seed`` (fast, stateful).
Inside a jitted function (and in its eager debug run) a draw is keyed instead: the call takes
a fresh Threefry key from the generator and each draw folds in its index (see
``transforms/effects.py``), so every call of the plan gets new numbers and seeds reproduce.
Functional code that must give the same numbers eagerly, under ``jit`` and under ``vmap``
uses the explicit keys of ``ember.random`` instead.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..backend.meta import MetaArray
from ..core import autograd as _ag
from ..core import dtypes as _dt
from ..core.creation import place
from ..core.primitive import Tracer
from ..core.tensor import Tensor
from ..ops.creation_ops import _shape as _creation_shape, _size_kw, _laid_like
from ..ops.elementwise import as_value, cast
from ..ops.tensor_methods import copy_
from ..transforms.effects import draw, plain_eager
from . import keys as _keys


class Generator:
    """A seeded source of random numbers (as ``torch.Generator``).

    >>> g = ember.Generator().manual_seed(42)
    >>> a = ember.rand(3, generator=g)
    >>> b = ember.rand(3, generator=ember.Generator().manual_seed(42))
    >>> bool((a == b).all()), g.initial_seed()
    (True, 42)
    >>> state = g.get_state()
    >>> x = ember.randn(2, generator=g)
    >>> g.set_state(state)
    >>> bool((ember.randn(2, generator=g) == x).all())
    True
    """

    def __init__(self, device="cpu"):
        self._seed = 0
        self._rng = np.random.default_rng(0)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(s):
    """Seed the global generator (and return it).

    >>> _ = ember.manual_seed(0)
    >>> a = ember.randn(3)
    >>> _ = ember.manual_seed(0)
    >>> bool((ember.randn(3) == a).all())
    True
    """
    return default_generator.manual_seed(s)


def seed():
    """Seeds the global generator from fresh OS entropy and returns the seed.

    >>> s = ember.seed()
    >>> ember.initial_seed() == s
    True
    """
    return default_generator.seed()


def initial_seed():
    """The seed the global generator was last seeded with.

    >>> _ = ember.manual_seed(123)
    >>> ember.initial_seed()
    123
    """
    return default_generator.initial_seed()


def _gen(generator):
    return (generator or default_generator)._rng


def _shape(size, op="random"):
    return _creation_shape(size, op)


def _mk(a, dtype, requires_grad):
    t = Tensor._wrap(np.asarray(a).astype(_dt.as_dtype(dtype).np, copy=False))
    if requires_grad:
        t.requires_grad_(True)
    return t


_DRAW_CHUNK = 1 << 18  # float64 draws converted per piece by _mk_drawn


def _mk_drawn(fill, shape, dtype):
    """``_mk(fill(shape), dtype)`` for a float64 NumPy stream ``fill(n)`` (n consecutive
    draws): a large draw in a narrower dtype is drawn and converted piece by piece, so no
    float64 array of the whole size is ever made (VGG-11's first Linear: 822 MB and its page
    faults). NumPy's Generator draws these element after element, so the values are the
    same as one call's."""
    npdt = _dt.as_dtype(dtype).np
    n = 1
    for d in shape:
        n *= int(d)
    if n <= _DRAW_CHUNK or npdt == np.float64:
        return _mk(fill(shape), dtype, False)
    out = np.empty(n, npdt)
    _fill_pieces(out, fill)
    return Tensor._wrap(out.reshape(shape))


def _fill_pieces(flat, fill):
    """The 1-D array ``flat`` filled from ``fill(k)`` (k consecutive draws) _DRAW_CHUNK at a
    time, each piece converted to its dtype."""
    n = flat.size
    for i in range(0, n, _DRAW_CHUNK):
        np.copyto(flat[i:i + _DRAW_CHUNK], fill(min(_DRAW_CHUNK, n - i)), casting="unsafe")


def _fill_drawn(t, fill):
    """Eagerly fill ``t`` in place from a float64 NumPy stream ``fill(n)``, piece by piece
    straight into its storage, when ``t`` holds a C-contiguous, writeable floating NumPy array
    and no transform or jit debug run is active; returns whether it did (else the caller
    draws a new array and copies it in). The values are the ones ``_mk_drawn`` gives (the
    same draws in the same order, converted alike), without a whole-size temporary and its
    copy: VGG-11's 102.8M-entry classifier weight drew into a second 392 MiB array whose
    fresh pages cost as much as the draw."""
    d = t._data
    if type(d) is not np.ndarray or d.dtype.kind != "f" or not d.flags.c_contiguous or \
            not d.flags.writeable or not plain_eager():
        return False
    _fill_pieces(d.reshape(-1), fill)
    t._version[0] += 1
    return True


def _draw(generator, op, shape, keyed, eager):
    """A draw of ``shape``: ``eager(rng, shape)`` from the NumPy stream, or ``keyed(key,
    shape)`` inside a jit trace; under vmap as its ``randomness`` says (transforms/effects)."""
    return draw(generator or default_generator, op, tuple(shape), keyed, eager)


def _grad(t, requires_grad, device=None):
    if (device is not None or _backend.default_device().type != "cpu") and \
            not isinstance(t, Tracer):
        t = Tensor._wrap(place(t._data, device))
    return t.requires_grad_(True) if requires_grad else t


def _meta(shape, dtype, device, requires_grad=False):
    """A meta tensor when ``device`` (or the default device) has no data, else None: a draw
    on the meta device takes nothing from the generator (as PyTorch's)."""
    if _backend.get(device).computes:
        return None
    return _grad(Tensor._wrap(_backend.MetaArray(shape, _dt.as_dtype(dtype).np)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None, **kw):
    """Uniform samples in [0, 1).

    >>> x = ember.rand(2, 3)
    >>> x.shape, x.dtype, bool(((x >= 0) & (x < 1)).all())
    (ember.Size([2, 3]), ember.float32, True)
    """
    size = _size_kw(size, kw, "rand")
    m = _meta(_shape(size, "rand"), dtype, device, requires_grad)
    if m is not None:
        return m
    return _grad(_draw(generator, "rand", _shape(size, "rand"),
                       lambda k, s: _keys.uniform(k, s, dtype),
                       lambda rng, s: _mk_drawn(rng.random, s, dtype)), requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None, **kw):
    """Standard normal samples.

    >>> x = ember.randn(10000, dtype=ember.float64)
    >>> round(x.mean().item(), 1), round(x.std().item(), 1)
    (0.0, 1.0)
    """
    size = _size_kw(size, kw, "randn")
    m = _meta(_shape(size, "randn"), dtype, device, requires_grad)
    if m is not None:
        return m
    return _grad(_draw(generator, "randn", _shape(size, "randn"),
                       lambda k, s: _keys.normal(k, s, dtype),
                       lambda rng, s: _mk_drawn(rng.standard_normal, s, dtype)),
                 requires_grad, device)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None,
            requires_grad=False):
    """Integers in [low, high).

    >>> x = ember.randint(0, 10, (1000,))
    >>> x.dtype, int(x.min()), int(x.max())
    (ember.int64, 0, 9)
    >>> ember.randint(3, (2,)).shape                # randint(high, size) draws from [0, high)
    ember.Size([2])
    """
    if isinstance(high, (tuple, list)) and size == ():  # randint(high, size), as PyTorch
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    dt = dtype or _dt.int64
    m = _meta(tuple(size), dt, device, requires_grad)
    if m is not None:
        return m
    return _grad(_draw(generator, "randint", tuple(size),
                       lambda k, s: _keys.randint(k, s, low, high, dt),
                       lambda rng, s: _mk(rng.integers(low, high, s), dt, False)),
                 requires_grad, device)


def normal(mean, std, size=None, generator=None, dtype=None):
    """Normal samples with the given mean and std (floats or tensors, broadcast).

    >>> ember.normal(ember.tensor([0., 100.]), 0.0)   # per-element means; std 0 gives the means
    tensor([  0., 100.])
    >>> ember.normal(5.0, 2.0, size=(10000,)).mean().round().item()
    5.0
    """
    shape = tuple(size) if size is not None else np.broadcast_shapes(
        tuple(getattr(mean, "shape", np.shape(mean))), tuple(getattr(std, "shape",
                                                                     np.shape(std))))

    def eager(rng, s):
        m = mean._data if isinstance(mean, Tensor) else mean
        sd = std._data if isinstance(std, Tensor) else std
        return _mk(rng.normal(m, sd, s), dtype, False)
    return _draw(generator, "normal", shape,
                 lambda k, s: _keys.normal(k, s, dtype) * std + mean, eager)


def _like_device(x):
    return None if isinstance(x, Tracer) else x.device


def rand_like(x, dtype=None, device=None, *, requires_grad=False, layout=None,
              memory_format=None):
    """Uniform samples in [0, 1) with the shape (and dtype) of ``x``.

    >>> ember.rand_like(ember.zeros(2, 2, dtype=ember.float64)).dtype
    ember.float64
    """
    out = rand(tuple(x.shape), dtype=dtype or x.dtype, device=device or _like_device(x))
    if requires_grad:
        out.requires_grad_(True)
    return _laid_like(out, x, memory_format, "rand_like")


def randn_like(x, dtype=None, device=None, *, requires_grad=False, layout=None,
               memory_format=None):
    """Standard normal samples with the shape (and dtype) of ``x``.

    >>> ember.randn_like(ember.zeros(4, 5)).shape
    ember.Size([4, 5])
    """
    out = randn(tuple(x.shape), dtype=dtype or x.dtype, device=device or _like_device(x))
    if requires_grad:
        out.requires_grad_(True)
    return _laid_like(out, x, memory_format, "randn_like")


def randint_like(x, low, high=None, dtype=None, device=None, *, requires_grad=False, layout=None,
                 memory_format=None):
    """Integers in [low, high) with the shape (and dtype) of ``x``.

    >>> x = ember.randint_like(ember.zeros(1000), 5)
    >>> x.dtype, sorted(set(x.tolist()))
    (ember.float32, [0.0, 1.0, 2.0, 3.0, 4.0])
    """
    out = randint(low, high, tuple(x.shape), dtype=dtype or x.dtype, device=device or _like_device(x))
    if requires_grad:
        out.requires_grad_(True)
    return _laid_like(out, x, memory_format, "randint_like")


def randperm(n, dtype=None, generator=None):
    """A random permutation of ``range(n)``.

    >>> sorted(ember.randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    dt = dtype or _dt.int64

    def keyed(k, s):  # batched (vmap, randomness="different"): one permutation per example
        if len(s) == 1:
            return _keys.permutation(k, int(n)).to(dt)
        return _keys.uniform(k, s).argsort(-1).to(dt)

    def eager(rng, s):
        if len(s) == 1:
            return _mk(rng.permutation(int(n)), dt, False)
        return _mk(rng.random(s).argsort(-1), dt, False)
    return _draw(generator, "randperm", (int(n),), keyed, eager)


def _global_uniform(shape, a, b, dtype, generator=None, op="uniform_"):
    return _draw(generator, op, shape, lambda k, s: _keys.uniform(k, s, dtype, a, b),
                 lambda rng, s: _mk_drawn(lambda n: rng.uniform(a, b, n), s, dtype))


def _global_normal(shape, mean, std, dtype, generator=None):
    return _draw(generator, "normal_", shape,
                 lambda k, s: _keys.normal(k, s, dtype) * std + mean,
                 lambda rng, s: _mk_drawn(lambda n: rng.normal(mean, std, n), s,
                                                   dtype))


def _uniform_(self, a=0.0, b=1.0, generator=None):
    """Fill in place with uniform samples in [a, b) from the global (or given) generator.

    >>> ember.zeros(3).uniform_(0.0, 1.0).shape
    ember.Size([3])
    """
    if type(self._data) is MetaArray:  # no storage: nothing drawn, nothing written
        return self
    if _fill_drawn(self, lambda n: _gen(generator).uniform(a, b, n)):
        return self
    with _ag.no_grad():
        return copy_(self, _global_uniform(tuple(self.shape), a, b, self.dtype, generator))


def _normal_(self, mean=0.0, std=1.0, generator=None):
    """Fill in place with normal samples N(mean, std**2) from the global (or given) generator.

    >>> ember.zeros(2, 3).normal_(0.0, 0.02).shape
    ember.Size([2, 3])
    """
    if type(self._data) is MetaArray:  # no storage: nothing drawn, nothing written
        return self
    if _fill_drawn(self, lambda n: _gen(generator).normal(mean, std, n)):
        return self
    with _ag.no_grad():
        return copy_(self, _global_normal(tuple(self.shape), mean, std, self.dtype, generator))


Tensor.uniform_ = _uniform_
Tensor.normal_ = _normal_


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only).
    The mask comes from the global generator (``ember.manual_seed``).

    >>> ember.nn.functional.dropout(ember.ones(4), p=0.5, training=False)
    tensor([1., 1., 1., 1.])
    >>> sorted(set(ember.nn.functional.dropout(ember.ones(1000), p=0.75).tolist()))
    [0.0, 4.0]
    """
    x = as_value(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0
    keep = _global_uniform(tuple(x.shape), 0.0, 1.0, _dt.float32, generator, "dropout")
    if not isinstance(keep, Tracer) and not isinstance(x, Tracer) and \
            type(keep._data) is not type(x._data):  # the host stream's draw, on x's device
        keep = Tensor._wrap(place(keep._data, x.device))
    mask = cast(keep >= p, x.dtype) * (1.0 / (1.0 - p))
    return x.mul_(mask) if inplace else x * mask
