"""More of PyTorch's tensor surface that real scripts use: the ``Tensor.new_*`` constructors,
storage facts (``stride``, ``storage_offset``, ``share_memory_``), elementwise and indexing
functions (``fmax``, ``gcd``, ``index_fill``, ``scatter_reduce``, ``unfold``, ...), reductions
(``aminmax``, ``kthvalue``, ``nanmedian``, ...), their in-place ``_`` variants, in-place
random fills (``random_``, ``exponential_``, ``bernoulli_``, ...), ``finfo``/``iinfo``,
``get_rng_state``/``set_rng_state`` and the window functions.

Everything is composed from ember's ops, so the differentiable functions work eagerly and
under ``grad``/``jit``/``vmap``; functions whose result shape depends on the values
(``unique_consecutive``, ``bincount``, ``histogram``) compute on concrete values, as their
PyTorch counterparts cannot be traced by ``torch.func`` either.
"""
from __future__ import annotations

import builtins
import collections
import math
import mmap
import os

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .core.creation import tensor as _tensor, as_tensor as _as_tensor
from . import ops as _ops  # noqa: F401  (registers the primitives used below)
from .ops import elementwise as _ew, reduce as _red, shape as _sh, indexing as _ix
from .ops import linalg as _la, prng_ops as _prng, einsum as _einsum
from .ops import linalg_decomp as _ld, slicing as _sl
from .ops.creation_ops import zeros as _zeros, ones as _ones, full as _full, empty as _empty
from .ops.tensor_methods import _def_inplace, inplace_apply
from .random import generator as _rnd
from .numpy import finfo, iinfo
from .torch_ops import _t, _norm_dim, _vi, _ol

__all__ = [
    "finfo", "iinfo", "get_rng_state", "set_rng_state", "clone", "detach", "asarray",
    "scalar_tensor", "rsub", "broadcast_shapes", "is_floating_point", "is_nonzero",
    "is_same_size", "equal", "allclose", "isclose", "clip", "moveaxis", "msort", "positive",
    "fix", "arctan2", "fmax", "fmin", "frac", "gcd", "lcm", "heaviside", "copysign",
    "signbit", "sinc", "deg2rad", "rad2deg", "ldexp", "isneginf", "isposinf", "isreal",
    "inner", "vdot", "dist", "renorm", "addmv", "addr", "cov", "corrcoef", "diagflat",
    "matrix_power", "pinverse", "take", "index_fill", "index_copy", "index_put",
    "masked_scatter", "scatter_reduce", "select", "select_scatter", "slice_scatter",
    "diagonal_scatter", "split_with_sizes", "aminmax", "kthvalue", "nanmedian",
    "nanquantile", "unique_consecutive", "bincount", "histogram", "combinations",
    "unravel_index", "vander", "cumulative_trapezoid", "chain_matmul", "row_stack", "dstack",
    "dsplit", "hann_window", "hamming_window", "blackman_window", "bartlett_window",
    "kaiser_window", "fill", "zero_",
]


# --------------------------------------------------------------------- constructors and facts

def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)) or \
            len(size) == 1 and hasattr(size[0], "__len__") and not isinstance(size[0], Tensor):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _new(fn, op):
    def method(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False, **kw):
        out = fn(*_size(size, op), **kw, dtype=dtype or self.dtype,
                 device=device if device is not None else self.device)
        return out.requires_grad_(True) if requires_grad else out
    method.__name__ = op
    method.__doc__ = (f"A new tensor of the given size with this tensor's dtype and device "
                      f"unless given (as ``torch.Tensor.{op}``).")
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
              layout=None, pin_memory=False):
    """A tensor of ``size`` filled with ``fill_value``, this tensor's dtype and device unless
    given (as ``torch.Tensor.new_full``).

    >>> ember.zeros(2, dtype=ember.int32).new_full((2, 2), 7)
    tensor([[7, 7],
            [7, 7]], dtype=ember.int32)
    """
    out = _full(_size((size,), "new_full"), fill_value, dtype=dtype or self.dtype,
                device=device if device is not None else self.device)
    return out.requires_grad_(True) if requires_grad else out


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None,
                pin_memory=False):
    """A new tensor holding (a copy of) ``data`` with this tensor's dtype and device unless
    given (as ``torch.Tensor.new_tensor``: the dtype is this tensor's even for float data).

    >>> ember.zeros(1).new_tensor([1, 2])
    tensor([1., 2.])
    """
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    return _tensor(data, dtype=dtype or self.dtype,
                   device=device if device is not None else self.device,
                   requires_grad=requires_grad)


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def stride(self, dim=None):
    """Steps in elements between neighbours along each dim (as ``torch.Tensor.stride``).

    >>> ember.zeros(2, 3).stride(), ember.zeros(2, 3).t().stride()
    ((3, 1), (1, 3))
    """
    a = self._data
    st = tuple(s // a.itemsize for s in a.strides) if isinstance(a, np.ndarray) else \
        tuple(int(np.prod(self.shape[i + 1:])) for i in range(self.ndim))
    return st if dim is None else st[_norm_dim(dim, self.ndim, "stride")]


def storage_offset(self):
    """The offset in elements of this tensor's first element in its storage.

    >>> x = ember.arange(6.)
    >>> x[2:].storage_offset()
    2
    """
    a = self._data
    if not isinstance(a, np.ndarray) or a.size == 0:
        return 0
    base = _root(a)
    if not isinstance(base, np.ndarray):
        return 0
    return (a.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // a.itemsize


def is_signed(self):
    """Whether the dtype is signed (every float and int type but uint8 and bool)."""
    return self.dtype.is_floating_point or self.dtype.np.kind == "i" or \
        getattr(self.dtype, "is_complex", False)


def get_device(self):
    """The CUDA device index, or -1 for a CPU tensor (as PyTorch)."""
    return -1


def is_pinned(self):
    """Page-locked memory is a CUDA notion: always False here."""
    return False


def pin_memory(self):
    """Raises as PyTorch does on a machine without an accelerator (pinned memory only
    speeds up copies to a GPU)."""
    raise RuntimeError("pin_memory: cannot pin memory without an accelerator device (as "
                       "PyTorch on a CPU-only machine); drop the call, or pass "
                       "pin_memory=False to the DataLoader")


class _SharedMapping(mmap.mmap):
    """A shared mapping of a memory file (Linux: memfd) whose descriptor stays open, so that
    pickling a tensor stored in it for another process (a ``multiprocessing`` Process argument
    or Queue item, with any start method) sends the descriptor and the receiver maps the same
    pages, as PyTorch's ``file_descriptor`` sharing strategy."""

    def __del__(self):
        fd = self.__dict__.pop("fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _new_mapping(nbytes):
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ember-shared", getattr(os, "MFD_CLOEXEC", 0))
    else:  # an unlinked file in shared memory (or the temp dir)
        import tempfile
        d = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="ember-shared-", dir=d)
        os.unlink(path)
    try:
        os.ftruncate(fd, nbytes)
        m = _SharedMapping(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    m.fd = fd
    return m


def _mapping_of(a):
    """The shared mapping a NumPy array's memory lives in, or None."""
    owner = _root(a).base
    owner = getattr(owner, "obj", owner)  # np.frombuffer keeps a memoryview of the mapping
    return owner if isinstance(owner, mmap.mmap) else None


def _reduce_tensor(t):
    """ForkingPickler's reduction of a Tensor: a tensor in a shared mapping travels as its
    descriptor and layout (the receiver maps the same memory); any other by value."""
    a = t._data
    m = _mapping_of(a) if type(a) is np.ndarray else None
    if m is None or getattr(m, "fd", None) is None:
        return t.__reduce__()
    from multiprocessing.reduction import DupFd
    start = np.frombuffer(m, np.uint8).__array_interface__["data"][0]
    offset = a.__array_interface__["data"][0] - start
    return (_rebuild_shared, (DupFd(m.fd), len(m), a.dtype.str, a.shape, a.strides, offset,
                              t.requires_grad))


def _rebuild_shared(dupfd, nbytes, dtype, shape, strides, offset, requires_grad):
    fd = dupfd.detach()
    m = _SharedMapping(fd, nbytes)
    m.fd = fd
    arr = np.ndarray(shape, np.dtype(dtype), buffer=m, offset=offset, strides=strides)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad = True
    return t


_registered = []


def _register_reduction():
    """Teach multiprocessing's pickler (Process arguments, Queues) to send shared tensors by
    descriptor; done on the first ``share_memory_``."""
    if not _registered:
        from multiprocessing.reduction import ForkingPickler
        ForkingPickler.register(Tensor, _reduce_tensor)
        _registered.append(True)


def share_memory_(self):
    """Moves the storage into shared memory, so that other processes see each other's
    in-place writes: processes forked afterwards, and (with any start method) processes that
    receive the tensor through ``multiprocessing`` (a Process argument, a Queue) — Hogwild
    training. Returns the tensor.

    >>> x = ember.ones(3).share_memory_()
    >>> x.is_shared(), x.tolist()
    (True, [1.0, 1.0, 1.0])
    """
    a = self._data
    if not isinstance(a, np.ndarray):
        raise RuntimeError(f"share_memory_: only CPU tensors can be shared, not "
                           f"{self.device}")
    _register_reduction()
    if self.is_shared():
        return self
    buf = _new_mapping(builtins.max(a.nbytes, 1))
    new = np.frombuffer(buf, dtype=a.dtype, count=a.size).reshape(a.shape)
    new[...] = a
    self._data = new
    return self


def is_shared(self):
    """Whether the storage is in shared memory (after ``share_memory_``, or received from
    another process that shared it)."""
    if not isinstance(self._data, np.ndarray):
        return False
    return _mapping_of(self._data) is not None


# --------------------------------------------------------------------------- global state

def get_rng_state():
    """The global generator's state as a uint8 tensor (as ``torch.get_rng_state``; save it
    with a checkpoint and give it back to ``set_rng_state``).

    >>> s = ember.get_rng_state()
    >>> a = ember.rand(2)
    >>> ember.set_rng_state(s)
    >>> bool((ember.rand(2) == a).all())
    True
    """
    st = _rnd.default_generator.get_state()
    if st.get("bit_generator") != "PCG64":
        raise RuntimeError(f"get_rng_state: unexpected bit generator {st.get('bit_generator')}")
    words = [st["state"]["state"], st["state"]["inc"]]
    raw = b"".join(int(w).to_bytes(16, "little") for w in words)
    raw += int(st["has_uint32"]).to_bytes(4, "little") + int(st["uinteger"]).to_bytes(4, "little")
    raw += int(_rnd.default_generator.initial_seed() % 2 ** 64).to_bytes(8, "little")
    return _tensor(np.frombuffer(raw, np.uint8).copy())


def set_rng_state(new_state):
    """Restore the global generator from ``get_rng_state()``'s tensor."""
    raw = bytes(np.asarray(new_state.numpy() if isinstance(new_state, Tensor) else new_state,
                           np.uint8).reshape(-1))
    if len(raw) != 48:
        raise ValueError(f"set_rng_state: expected the 48-byte state from get_rng_state(), got "
                         f"{len(raw)} bytes")
    g = _rnd.default_generator
    g.set_state({"bit_generator": "PCG64",
                 "state": {"state": int.from_bytes(raw[:16], "little"),
                           "inc": int.from_bytes(raw[16:32], "little")},
                 "has_uint32": int.from_bytes(raw[32:36], "little"),
                 "uinteger": int.from_bytes(raw[36:40], "little")})
    g._seed = int.from_bytes(raw[40:48], "little")


# ----------------------------------------------------------------------- small functions

def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph (as ``torch.clone``)."""
    return _t(input, "clone").clone(memory_format=memory_format)


def detach(input):
    """``input`` outside the autograd graph, sharing its storage (as ``torch.detach``)."""
    return _t(input, "detach").detach()


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """A tensor from ``obj``, sharing memory where it can (as ``torch.asarray``)."""
    if isinstance(obj, Tensor):
        out = obj if dtype is None or _dt.as_dtype(dtype) == obj.dtype else obj.to(dtype)
        out = out.clone() if copy else out
    else:
        out = _tensor(obj, dtype=dtype) if copy else _as_tensor(obj, dtype=dtype)
    return out.requires_grad_(True) if requires_grad else out


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor (float32 by default, as ``torch.scalar_tensor``)."""
    return _tensor(s, dtype=dtype or _dt.get_default_dtype(), requires_grad=requires_grad)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input`` (as ``torch.rsub``)."""
    return other - (input * alpha if alpha != 1 else input)


def broadcast_shapes(*shapes):
    """The shape that the given shapes broadcast to (as ``torch.broadcast_shapes``).

    >>> ember.broadcast_shapes((2, 1), (3,))
    ember.Size([2, 3])
    """
    from .core.tensor import Size
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together "
                           f"(each dim must be equal or 1)") from None


def is_floating_point(input):
    """Whether the dtype is a floating type (as ``torch.is_floating_point``)."""
    return _t(input, "is_floating_point").dtype.is_floating_point


def is_nonzero(input):
    """The truth of a one-element tensor; raises for any other size (as torch)."""
    x = _t(input, "is_nonzero")
    if x.numel() != 1:
        raise RuntimeError(f"is_nonzero: a tensor with {x.numel()} elements has no single "
                           f"truth value; use .any() or .all()")
    return bool(x.item())


def is_same_size(input, other):
    """Whether the two tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def equal(input, other):
    """True if the tensors have the same shape and elements (as ``torch.equal``).

    >>> ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2]))
    True
    """
    a, b = _t(input, "equal"), _t(other, "equal", "other")
    return tuple(a.shape) == tuple(b.shape) and bool((a == b).all().item())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (as ``torch.isclose``;
    infinities equal themselves)."""
    a, b = _t(input, "isclose"), _t(other, "isclose", "other")
    if not (a.dtype.is_inexact or b.dtype.is_inexact):
        return a == b
    close = _ew.abs(a - b) <= atol + rtol * _ew.abs(b)
    close = close | (a == b)
    if equal_nan:
        close = close | (_ew.isnan(a) & _ew.isnan(b))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``isclose`` holds everywhere (as ``torch.allclose``).

    >>> ember.allclose(ember.tensor([1., 2.]), ember.tensor([1., 2.0000001]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def clip(input, min=None, max=None):
    """``clamp`` (NumPy's name, as ``torch.clip``)."""
    return _ew.clamp(input, min, max)


def moveaxis(input, source, destination):
    """``movedim`` (NumPy's name)."""
    return _sh.movedim(input, source, destination)


def msort(input):
    """``input`` sorted along dim 0 (as ``torch.msort``)."""
    return _prng.sort(input, 0)[0]


def positive(input):
    """``input`` itself (as ``torch.positive``; an error for bool)."""
    if input.dtype is _dt.bool_:
        raise TypeError("positive: not supported for bool tensors")
    return input


def fix(input):
    """``trunc`` (as ``torch.fix``)."""
    return _ew.trunc(input)


def arctan2(input, other):
    """``atan2`` (as ``torch.arctan2``)."""
    return _ew.atan2(input, other)


# -------------------------------------------------------------------------------- elementwise

def fmax(input, other):
    """Elementwise maximum that ignores NaN where the other value is a number."""
    a, b = _t(input, "fmax"), _t(other, "fmax", "other")
    return _ew.where(_ew.isnan(b), a, _ew.where(_ew.isnan(a), b, _ew.maximum(a, b)))


def fmin(input, other):
    """Elementwise minimum that ignores NaN where the other value is a number."""
    a, b = _t(input, "fmin"), _t(other, "fmin", "other")
    return _ew.where(_ew.isnan(b), a, _ew.where(_ew.isnan(a), b, _ew.minimum(a, b)))


def frac(input):
    """The fractional part, ``input - trunc(input)`` (sign of the input)."""
    return input - _ew.trunc(input)


def _int_args(a, b, op):
    a, b = _t(a, op), _t(b, op, "other")
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        raise TypeError(f"{op}: expected integer tensors, got {a.dtype} and {b.dtype}")
    return a, b


def gcd(input, other):
    """Elementwise greatest common divisor of integer tensors (non-negative)."""
    a, b = _int_args(input, other, "gcd")
    return _eager_binary(np.gcd, a, b)


def lcm(input, other):
    """Elementwise least common multiple of integer tensors (non-negative)."""
    a, b = _int_args(input, other, "lcm")
    return _eager_binary(np.lcm, a, b)


def _eager_binary(fn, a, b):
    dt = _dt.result_type(a, b)
    return _tensor(fn(a.numpy(), b.numpy()).astype(dt.np))


def heaviside(input, values):
    """0 where ``input < 0``, ``values`` where it is 0, 1 where it is positive."""
    x, v = _t(input, "heaviside"), _t(values, "heaviside", "values")
    return _ew.where(x == 0, v.to(x.dtype), (x > 0).to(x.dtype))


def copysign(input, other):
    """``|input|`` with the sign of ``other`` (float result; -0.0 counts as negative)."""
    x = _t(input, "copysign")
    if not x.dtype.is_floating_point:
        x = x.to(_dt.get_default_dtype())
    o = other if isinstance(other, Tensor) else _tensor(float(other), dtype=x.dtype)
    return _ew.where(signbit(o), -_ew.abs(x), _ew.abs(x))


def signbit(input):
    """Whether the sign bit is set (True for -0.0 and sign-bit NaNs too): the ``signbit``
    primitive (ops/elementwise.py)."""
    return _ew.signbit(_t(input, "signbit"))


def sinc(input):
    """The normalised sinc, ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _t(input, "sinc")
    if not x.dtype.is_floating_point:
        x = x.to(_dt.get_default_dtype())
    px = x * math.pi
    safe = _ew.where(x == 0, _ol(x), px)
    return _ew.where(x == 0, _ol(x), _ew.sin(safe) / safe)


def deg2rad(input):
    """Degrees to radians."""
    return input * (math.pi / 180.0)


def rad2deg(input):
    """Radians to degrees."""
    return input * (180.0 / math.pi)


def ldexp(input, other):
    """``input * 2**other``."""
    x = _t(input, "ldexp")
    if not x.dtype.is_floating_point:
        x = x.to(_dt.get_default_dtype())
    return x * _ew.pow(2.0, _t(other, "ldexp", "other").to(x.dtype))


def isneginf(input):
    """Whether each element is -inf."""
    x = _t(input, "isneginf")
    return _ew.isinf(x) & (x < 0)


def isposinf(input):
    """Whether each element is +inf."""
    x = _t(input, "isposinf")
    return _ew.isinf(x) & (x > 0)


def isreal(input):
    """True everywhere for a real tensor (complex tensors: where the imaginary part is 0)."""
    x = _t(input, "isreal")
    if getattr(x.dtype, "is_complex", False):
        return x.imag == 0
    return _ew.full_like_traced(x, True).to(_dt.bool_)


# ------------------------------------------------------------------------------- linear algebra

def inner(input, other):
    """The inner product over the last dims (as ``torch.inner``; a scalar operand scales)."""
    a, b = _t(input, "inner"), _t(other, "inner", "other")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner: the last dims must match, got shapes {tuple(a.shape)} "
                           f"and {tuple(b.shape)}")
    return _einsum.tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def vdot(input, other):
    """The dot product of two 1-d tensors (conjugating the first for complex)."""
    a, b = _t(input, "vdot"), _t(other, "vdot", "other")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"vdot: expected 1-d tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    if getattr(a.dtype, "is_complex", False):
        a = a.conj()
    return _la.dot(a, b)


def dist(input, other, p=2):
    """The ``p``-norm of ``input - other``."""
    d = _t(input, "dist") - _t(other, "dist", "other")
    return d.norm(p)


def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` rescaled so that its ``p``-norm is at most ``maxnorm`` (as
    ``torch.renorm``)."""
    x = _t(input, "renorm")
    d = _norm_dim(dim, x.ndim, "renorm")
    others = tuple(i for i in range(x.ndim) if i != d)
    norms = _ew.abs(x).pow(p).sum(others, keepdim=True).pow(1.0 / p) if p != math.inf else \
        _ew.abs(x).amax(others, keepdim=True)
    scale = _ew.where(norms > maxnorm, maxnorm / (norms + 1e-7), _ol(norms))
    return x * scale


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    prod = _la.matmul(mat, vec)
    return (input * beta if beta != 1 else input) + (prod * alpha if alpha != 1 else prod) \
        if beta != 0 else (prod * alpha if alpha != 1 else prod)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    prod = _sh.unsqueeze(vec1, 1) * _sh.unsqueeze(vec2, 0)
    prod = prod * alpha if alpha != 1 else prod
    return prod if beta == 0 else (input * beta if beta != 1 else input) + prod


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance of the rows (variables) of a 1- or 2-d tensor over its columns
    (observations), as ``torch.cov``, with frequency and analytic weights."""
    x = _t(input, "cov")
    if x.ndim > 2:
        raise ValueError(f"cov: expected a 1- or 2-d tensor, got shape {tuple(x.shape)}")
    if x.ndim < 2:
        x = _sh.reshape(x, (1, -1))
    if not x.dtype.is_floating_point:
        x = x.to(_dt.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        mean = x.mean(1, keepdim=True)
        norm = n - correction
        xc = x - mean
        c = _la.matmul(xc, xc.mT) / builtins.max(norm, 0)
    else:
        wsum = w.sum()
        mean = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights.to(x.dtype)).sum() / wsum
        xc = x - mean
        c = _la.matmul(xc * w, xc.mT) / _ew.clamp(norm, 0.0)
    return _sh.reshape(c, ()) if c.shape == (1, 1) else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows (as ``torch.corrcoef``; clipped to
    [-1, 1])."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = _ld.diagonal(c, 0, 0, 1).sqrt()
    r = c / _sh.unsqueeze(d, 1) / _sh.unsqueeze(d, 0)
    return _ew.clamp(r, -1.0, 1.0)


def diagflat(input, offset=0):
    """A 2-d tensor with the flattened input on the ``offset`` diagonal."""
    return _ld.diag(_sh.reshape(input, (-1,)), offset)


def matrix_power(input, n):
    """``input`` (square, batched) to the integer power ``n`` (negative: of its inverse)."""
    from . import linalg
    return linalg.matrix_power(input, n)


def pinverse(input, rcond=1e-15):
    """The Moore-Penrose pseudo-inverse (as ``torch.pinverse``)."""
    from . import linalg
    return linalg.pinv(input, rtol=rcond)


def chain_matmul(*matrices):
    """The product of the matrices, left to right (deprecated in PyTorch for
    ``linalg.multi_dot``)."""
    out = matrices[0]
    for m in matrices[1:]:
        out = _la.matmul(out, m)
    return out


# ----------------------------------------------------------------------------------- indexing

def take(input, index):
    """Elements of the flattened input at ``index`` (output shaped as ``index``)."""
    flat = _sh.reshape(input, (-1,))
    idx = _t(index, "take", "index")
    return _sh.reshape(_ix.index_select(flat, 0, _sh.reshape(idx, (-1,))), tuple(idx.shape))


def index_fill(input, dim, index, value):
    """``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    x = _t(input, "index_fill")
    if x.ndim == 0:
        _norm_dim(dim, 1, "index_fill")
        return index_fill(x.reshape(1), 0, index, value).reshape(())
    d = _norm_dim(dim, x.ndim, "index_fill")
    idx = _t(index, "index_fill", "index").reshape(-1)
    hit = _ix.scatter(_zeros(x.shape[d], dtype=_dt.bool_), 0, idx, value=True)
    shape = [1] * x.ndim
    shape[d] = x.shape[d]
    v = value if isinstance(value, Tensor) else _tensor(value, dtype=x.dtype)
    return _ew.where(_sh.reshape(hit, tuple(shape)), v.to(x.dtype), x)


def index_copy(input, dim, index, source):
    """``input`` with its slices ``index`` along ``dim`` replaced by ``source``'s slices."""
    x = _t(input, "index_copy")
    if x.ndim == 0:
        _norm_dim(dim, 1, "index_copy")
        src = source.reshape(1) if isinstance(source, Tensor) and source.ndim == 0 else source
        return index_copy(x.reshape(1), 0, index, src).reshape(())
    d = _norm_dim(dim, x.ndim, "index_copy")
    idx = _t(index, "index_copy", "index").reshape(-1)
    key = (slice(None),) * d + (idx,)
    return _ix._put(x, key, source)


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``input[indices] = values`` (or ``+=`` with ``accumulate``, summing
    repeated indices), out of place."""
    x = _t(input, "index_put")
    return (_ix._add_at if accumulate else _ix._put)(x, tuple(indices), values)


def masked_scatter(input, mask, source):
    """``input`` with the positions where ``mask`` is True filled, in row-major order, by
    consecutive elements of ``source``."""
    x = _t(input, "masked_scatter")
    if tuple(mask.shape) != tuple(x.shape):  # the out-of-place form broadcasts both
        x, mask = _sh.broadcast_tensors(x, mask)
    m = mask
    flat_m = m.reshape(-1)
    pos = _red.cumsum(flat_m.to(_dt.int64), 0) - 1
    n = int(flat_m.sum().item())
    if n > source.numel():
        raise RuntimeError(f"masked_scatter: the mask selects {n} elements but source has "
                           f"only {source.numel()}")
    src = _ix.index_select(source.reshape(-1), 0, _ew.clamp(pos, 0, builtins.max(n - 1, 0)))
    return _ew.where(flat_m, src.to(x.dtype), x.reshape(-1)).reshape(tuple(x.shape))


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with ``src`` scattered along ``dim`` at ``index`` and combined by
    ``reduce`` ('sum', 'prod', 'mean', 'amax', 'amin'), as ``torch.scatter_reduce``."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or "
                         f"'amin', got {reduce!r}")
    x = _t(input, "scatter_reduce")
    if x.ndim == 0:
        _norm_dim(dim, 1, "scatter_reduce")
        one = [v.reshape(1) if v.ndim == 0 else v for v in (index, src)]
        return scatter_reduce(x.reshape(1), 0, one[0], one[1], reduce,
                              include_self=include_self).reshape(())
    d = _norm_dim(dim, x.ndim, "scatter_reduce")
    if reduce in ("sum", "mean"):
        base = x if include_self else _ix.scatter(x, d, index, value=0)
        out = _ix.scatter_add(base, d, index, src.to(x.dtype))
        if reduce == "sum":
            return out
        cnt = _ix.scatter_add(_ol(x) if include_self else
                              _ix.scatter(_ol(x), d, index, value=0), d, index, _ol(src).to(x.dtype))
        if x.dtype.is_floating_point:
            return out / cnt
        return _ew.floor_divide(out, cnt)
    # prod / amax / amin: the scatter_mul/max/min primitives (differentiable)
    return _ix.scatter_combine(x, d, index, src, reduce, "scatter_reduce",
                               include_self=include_self)


def select(input, dim, index):
    """The slice at ``index`` along ``dim`` (that dim removed), as ``torch.select``."""
    x = _t(input, "select")
    d = _norm_dim(dim, x.ndim, "select")
    key = [slice(None)] * d + [index]
    return x[tuple(key)]


def _setitem_copy(x, key, src):
    return _ix._put(x, key, src)


def select_scatter(input, src, dim, index):
    """``input`` with ``src`` embedded at ``index`` along ``dim`` (out of place)."""
    d = _norm_dim(dim, input.ndim, "select_scatter")
    return _setitem_copy(input, tuple([slice(None)] * d + [index]), src)


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """``input`` with ``src`` embedded at ``start:end:step`` along ``dim`` (out of place)."""
    d = _norm_dim(dim, input.ndim, "slice_scatter")
    return _setitem_copy(input, tuple([slice(None)] * d + [slice(start, end, step)]), src)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with ``src`` written on its diagonal (as ``torch.diagonal_scatter``)."""
    x = _t(input, "diagonal_scatter")
    pos = _ld.diagonal(_tensor(np.arange(x.numel()).reshape(tuple(x.shape))), offset, dim1, dim2)
    if tuple(pos.shape) != tuple(src.shape):
        raise RuntimeError(f"diagonal_scatter: src has shape {tuple(src.shape)}, the diagonal "
                           f"has shape {tuple(pos.shape)}")
    flat = _ix._put(_sh.reshape(x, (-1,)), (_sh.reshape(pos, (-1,)),),
                    _sh.reshape(src, (-1,)).to(x.dtype))
    return _sh.reshape(flat, tuple(x.shape))


def split_with_sizes(input, split_sizes, dim=0):
    """Split along ``dim`` into pieces of the given sizes (which must add up)."""
    x = _t(input, "split_with_sizes")
    d = _norm_dim(dim, x.ndim, "split_with_sizes")
    if builtins.sum(split_sizes) != x.shape[d]:
        raise RuntimeError(f"split_with_sizes: sizes {list(split_sizes)} add up to "
                           f"{builtins.sum(split_sizes)}, not to dim {d}'s size {x.shape[d]}")
    return _sl.split(x, list(split_sizes), d)


def unfold(self, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dim (as ``torch.Tensor.unfold``).

    >>> ember.arange(5.).unfold(0, 2, 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    d = _norm_dim(dimension, builtins.max(self.ndim, 1), "unfold")
    x = self if self.ndim else _sh.reshape(self, (1,))
    n = x.shape[d]
    if size > n or size < 0 or step <= 0:
        raise RuntimeError(f"unfold: size {size} (at most dim {dimension}'s {n}) and step "
                           f"{step} (positive) are out of range")
    starts = np.arange(0, n - size + 1, step)
    idx = (starts[:, None] + np.arange(size)[None, :]).reshape(-1)
    picked = _ix.index_select(x, d, _tensor(idx))
    shape = tuple(x.shape[:d]) + (len(starts), size) + tuple(x.shape[d + 1:])
    if self.ndim == 0:  # a 0-d tensor gives its one window: shape (size,)
        return _sh.reshape(picked, (size,))
    picked = _sh.reshape(picked, shape)
    return _sh.movedim(picked, d + 1, -1)


def sum_to_size(self, *size):
    """Sum over the dims that ``size`` broadcasts (as ``torch.Tensor.sum_to_size``)."""
    size = _size(size, "sum_to_size")
    x = self
    lead = x.ndim - len(size)
    if lead < 0 or any(s not in (1, x.shape[lead + i]) for i, s in enumerate(size)):
        raise RuntimeError(f"sum_to_size: size {size} is not expandable to "
                           f"{tuple(x.shape)}")
    if lead:
        x = x.sum(tuple(range(lead)))
    dims = tuple(i for i, s in enumerate(size) if s == 1 and x.shape[i] != 1)
    return x.sum(dims, keepdim=True) if dims else x


def fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal in place (all dims equal, or a tall 2-d matrix with ``wrap``
    restarting every ``cols + 1`` rows, as PyTorch)."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise RuntimeError(f"fill_diagonal_: needs a 2-d tensor or all dims equal, got shape "
                           f"{tuple(self.shape)}")
    mask = np.zeros(tuple(self.shape), bool)
    if self.ndim == 2:
        rows, cols = self.shape
        step = cols + 1
        flat = np.arange(0, rows * cols, step)
        if not wrap:
            flat = flat[:builtins.min(rows, cols)]
        mask.reshape(-1)[flat] = True
    else:
        i = np.arange(self.shape[0])
        mask[(i,) * self.ndim] = True
    m = _tensor(mask)
    return inplace_apply(self, lambda s: _ew.where(m, _tensor(fill_value, dtype=s.dtype), s))


# --------------------------------------------------------------------------------- reductions

_MinMax = collections.namedtuple("aminmax", ["min", "max"])


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` in one call (as ``torch.aminmax``).

    >>> ember.aminmax(ember.tensor([3., 1., 2.]))
    aminmax(min=tensor(1.), max=tensor(3.))
    """
    x = _t(input, "aminmax")
    if dim is None:
        return _MinMax(x.amin(), x.amax())
    return _MinMax(x.amin(dim, keepdim=keepdim), x.amax(dim, keepdim=keepdim))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index."""
    x = _t(input, "kthvalue")
    if x.ndim == 0:
        _norm_dim(dim, 1, "kthvalue")
        v, i = kthvalue(x.reshape(1), k, 0)
        return _vi("kthvalue", v, i)
    d = _norm_dim(dim, builtins.max(x.ndim, 1), "kthvalue")
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) must be in [1, {n}] for dim {dim}")
    vals, idx = _prng.sort(x, d)
    v, i = _sl.narrow(vals, d, k - 1, 1), _sl.narrow(idx, d, k - 1, 1)
    if not keepdim:
        v, i = _sh.squeeze(v, d), _sh.squeeze(i, d)
    return _vi("kthvalue", v, i)


def nanmedian(input, dim=None, keepdim=False):
    """The lower median ignoring NaN (over everything, or along ``dim`` with its index)."""
    x = _t(input, "nanmedian")
    a = x.detach().numpy()
    if dim is None:
        flat = a.reshape(-1)
        ok = flat[~np.isnan(flat)]
        if ok.size == 0:
            return _tensor(np.array(np.nan, a.dtype))
        srt = np.sort(ok)
        pos = int(np.nonzero(flat == srt[(ok.size - 1) // 2])[0][0])
        return _sh.reshape(x, (-1,))[pos]
    d = _norm_dim(dim, x.ndim, "nanmedian")
    if x.ndim == 0:  # dim 0 / -1 names the 0-d tensor itself
        v, i = nanmedian(x.reshape(1), 0)
        return _vi("nanmedian", v, i)
    am = np.moveaxis(a, d, -1)
    key = np.where(np.isnan(am), np.inf, am)
    order = np.argsort(key, -1, kind="stable")
    count = (~np.isnan(am)).sum(-1)
    pick = np.where(count > 0, (count - 1) // 2, 0)
    idx = np.take_along_axis(order, pick[..., None], -1)
    idx_t = _tensor(np.moveaxis(idx, -1, d).astype(np.int64))
    v = _ix.gather(x, d, idx_t)
    v = _ew.where(_tensor(np.moveaxis((count > 0)[..., None], -1, d)), v,
                  _ew.full_like_traced(v, math.nan))
    if not keepdim:
        v, idx_t = _sh.squeeze(v, d), _sh.squeeze(idx_t, d)
    return _vi("nanmedian", v, idx_t)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` ignoring NaN (as ``torch.nanquantile``): each slice's quantile over its
    non-NaN entries, NaN where a slice has none. The positions are found on concrete
    values; the result gathers the sorted input at them, so it is differentiable in
    ``input`` (and, with linear interpolation, in a ``q`` that requires grad)."""
    from .torch_ops import _quantile_args
    x, scalar_q, qa, src, d = _quantile_args("nanquantile", input, q, dim, interpolation)
    if src.shape[d] == 0:
        raise ValueError("ember.nanquantile: cannot take a quantile of an empty tensor")
    srt = _prng.sort(src, d)[0]  # NaN sorts last
    cnt = np.sum(~np.isnan(np.asarray(src.detach().numpy())), axis=d, keepdims=True)
    none = cnt == 0
    q_t = q.reshape(-1).to(x.dtype) if isinstance(q, Tensor) and q.requires_grad and \
        interpolation == "linear" else None
    outs = []
    for i, qi in enumerate(qa):
        pos = qi * np.maximum(cnt - 1, 0)
        lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            lo = hi = np.round(pos).astype(np.int64)
            frac = frac * 0
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        a = _ix.gather(srt, d, _tensor(lo))
        b = _ix.gather(srt, d, _tensor(hi))
        if q_t is not None:
            w = q_t[i] * _tensor(np.maximum(cnt - 1, 0).astype(x.dtype.np)) - \
                _tensor(lo.astype(x.dtype.np))
        else:
            w = _tensor(frac.astype(x.dtype.np))
        v = a + (b - a) * w
        # an all-NaN slice: NaN, with no gradient (PyTorch sends one to its first NaN entry)
        v = _ew.where(_tensor(none), _ew.full_like_traced(v, math.nan), v)
        if dim is None:
            v = _sh.reshape(v, (1,) * x.ndim if keepdim else ())
        elif not keepdim or x.ndim == 0:
            v = _sh.squeeze(v, d)
        outs.append(v)
    return outs[0] if scalar_q else _ix.stack(outs, 0)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (flattened, or slices along ``dim``)."""
    x = _t(input, "unique_consecutive")
    a = x.detach().numpy()
    if dim is None:
        a = a.reshape(-1)
        d = 0
    else:
        d = _norm_dim(dim, x.ndim, "unique_consecutive")
    am = np.moveaxis(a, d, 0)
    n = am.shape[0]
    if n == 0:
        change = np.zeros(0, bool)
    else:
        diff = (am[1:] != am[:-1]).reshape(n - 1, int(np.prod(am.shape[1:]))).any(1)
        change = np.concatenate([[True], diff])
    starts = np.nonzero(change)[0]
    out = _tensor(np.moveaxis(am[starts], 0, d))
    res = [out]
    if return_inverse:
        res.append(_tensor((np.cumsum(change) - 1).astype(np.int64).reshape(
            x.shape if dim is None else (n,))))
    if return_counts:
        res.append(_tensor(np.diff(np.append(starts, n)).astype(np.int64)))
    return res[0] if len(res) == 1 else tuple(res)


def bincount(input, weights=None, minlength=0):
    """Counts of each non-negative integer in a 1-d tensor (weighted sums with ``weights``)."""
    x = _t(input, "bincount")
    if x.ndim != 1 or x.dtype.is_floating_point:
        raise RuntimeError(f"bincount: expected a 1-d integer tensor, got {x.dtype} of shape "
                           f"{tuple(x.shape)}")
    a = x.numpy()
    if a.size and a.min() < 0:
        raise RuntimeError("bincount: the input must be non-negative")
    w = None if weights is None else weights.detach().numpy()
    out = np.bincount(a, w, minlength)
    if w is None:
        return _tensor(out.astype(np.int64))
    return _tensor(out.astype(weights.dtype.np if weights.dtype.is_floating_point else
                              np.float64))


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """``(hist, bin_edges)`` of a float tensor (as ``torch.histogram``)."""
    x = _t(input, "histogram")
    b = bins.numpy() if isinstance(bins, Tensor) else bins
    h, e = np.histogram(x.detach().numpy(), b, range=range,
                        weights=None if weight is None else weight.detach().numpy(),
                        density=density)
    cls = collections.namedtuple("histogram", ["hist", "bin_edges"])
    return cls(_tensor(h.astype(x.dtype.np)), _tensor(e.astype(x.dtype.np)))


# ---------------------------------------------------------------------------- constructions

def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-d tensor's elements, as rows (as
    ``torch.combinations``; a gather, so differentiable)."""
    import itertools
    x = _t(input, "combinations")
    if x.ndim != 1:
        raise ValueError(f"combinations: expected a 1-d tensor, got shape {tuple(x.shape)}")
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(gen(range(x.shape[0]), r)), np.int64).reshape(-1, r)
    if idx.size == 0:
        return _zeros(0, r, dtype=x.dtype) if r else _zeros(0, dtype=x.dtype)
    return _sh.reshape(_ix.index_select(x, 0, _tensor(idx.reshape(-1))), idx.shape)


def unravel_index(indices, shape):
    """Flat indices to a tuple of coordinate tensors (as ``torch.unravel_index``)."""
    idx = _t(indices, "unravel_index")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape))
    a = idx.numpy()
    if a.size and (a.min() < -n or a.max() >= n):
        raise RuntimeError(f"unravel_index: index out of range for shape {shape}")
    return tuple(_tensor(c.astype(np.int64)) for c in np.unravel_index(a % builtins.max(n, 1),
                                                                       shape))


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-d tensor: columns ``x**(N-1) ... x**0`` (reversed with
    ``increasing``)."""
    x = _t(x, "vander")
    n = x.shape[0] if N is None else N
    powers = np.arange(n) if increasing else np.arange(n)[::-1].copy()
    if n == 0:
        return _zeros(x.shape[0], 0, dtype=x.dtype)
    return _ew.pow(_sh.unsqueeze(x, 1), _tensor(powers.astype(x.dtype.np if
                                                              x.dtype.is_floating_point else np.int64)))


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along ``dim`` (one element shorter)."""
    y = _t(y, "cumulative_trapezoid")
    d = _norm_dim(dim, y.ndim, "cumulative_trapezoid")
    n = y.shape[d]
    mid = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2.0
    if x is not None:
        xd = x.narrow(x.ndim - 1 if x.ndim == 1 else d, 1, n - 1) - \
            x.narrow(x.ndim - 1 if x.ndim == 1 else d, 0, n - 1)
        if x.ndim == 1 and y.ndim > 1:
            shape = [1] * y.ndim
            shape[d] = n - 1
            xd = _sh.reshape(xd, tuple(shape))
        mid = mid * xd
    elif dx is not None:
        mid = mid * dx
    return _red.cumsum(mid, d)


def row_stack(tensors):
    """``vstack`` (as ``torch.row_stack``)."""
    from .torch_ops import vstack
    return vstack(tensors)


def dstack(tensors):
    """Concatenate along dim 2 after making each tensor at least 3-d."""
    ts = []
    for t in tensors:
        if t.ndim == 0:
            t = _sh.reshape(t, (1, 1, 1))
        elif t.ndim == 1:
            t = _sh.reshape(t, (1, -1, 1))
        elif t.ndim == 2:
            t = _sh.unsqueeze(t, -1)
        ts.append(t)
    return _ix.cat(ts, 2)


def dsplit(input, indices_or_sections):
    """Split along dim 2 of an at-least-3-d tensor."""
    from .torch_ops import _dsplit_like
    return _dsplit_like(input, indices_or_sections, 2, "dsplit", 3)


def _window(name, fn, window_length, periodic, dtype):
    if window_length < 0:
        raise RuntimeError(f"{name}: window_length must be non-negative, got {window_length}")
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if not dt.is_floating_point:
        raise TypeError(f"{name}: dtype must be floating, got {dt}")
    if window_length == 0:
        return _zeros(0, dtype=dt)
    if window_length == 1:
        return _ones(1, dtype=dt)
    n = window_length + 1 if periodic else window_length
    w = fn(n)[:window_length]
    return _tensor(np.asarray(w, np.float64).astype(dt.np))


def hann_window(window_length, periodic=True, *, dtype=None, device=None, layout=None,
                requires_grad=False):
    """The Hann window (periodic by default, as ``torch.hann_window``)."""
    return _window("hann_window", np.hanning, window_length, periodic, dtype)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   device=None, layout=None, requires_grad=False):
    """The (generalised) Hamming window, ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window("hamming_window",
                   lambda n: alpha - beta * np.cos(2 * np.pi * np.arange(n) / (n - 1)),
                   window_length, periodic, dtype)


def blackman_window(window_length, periodic=True, *, dtype=None, device=None, layout=None,
                    requires_grad=False):
    """The Blackman window."""
    return _window("blackman_window", np.blackman, window_length, periodic, dtype)


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None, layout=None,
                    requires_grad=False):
    """The Bartlett (triangular) window."""
    return _window("bartlett_window", np.bartlett, window_length, periodic, dtype)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None,
                  layout=None, requires_grad=False):
    """The Kaiser window with shape parameter ``beta``."""
    return _window("kaiser_window", lambda n: np.kaiser(n, beta), window_length, periodic,
                   dtype)


def fill(input, value):
    """A tensor like ``input`` filled with ``value`` (out of place)."""
    return _ew.full_like_traced(input, value.item() if isinstance(value, Tensor) else value)


def zero_(input):
    """``input.zero_()``."""
    return input.zero_()


# ------------------------------------------------------------------- random in-place fills

def _fill_random(self, values, op):
    if not isinstance(self._data, np.ndarray):
        raise RuntimeError(f"{op}: only CPU tensors")
    self._data[...] = np.asarray(values).astype(self._data.dtype, copy=False)
    self._version[0] += 1
    return self


def _rng(generator):
    return _rnd._gen(generator)


def random_(self, from_=0, to=None, *, generator=None):
    """Fill with integers uniform on ``[from_, to)`` (one argument: ``[0, from_)``; none:
    ``[0, 2**mantissa]`` for floats, the dtype's range for ints), as PyTorch."""
    if to is None and from_ != 0:
        lo, hi = 0, from_
    elif to is None:
        lo = 0
        hi = 2 ** (np.finfo(self.dtype.np).nmant + 1) + 1 if self.dtype.is_floating_point \
            else (2 if self.dtype is _dt.bool_ else int(np.iinfo(self.dtype.np).max) + 1)
    else:
        lo, hi = from_, to
    if hi <= lo:
        raise RuntimeError(f"random_: expects from < to, got from={lo} to={hi}")
    return _fill_random(self, _rng(generator).integers(lo, hi, size=tuple(self.shape)),
                        "random_")


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    return _fill_random(self, _rng(generator).exponential(1.0 / lambd, tuple(self.shape)),
                        "exponential_")


def geometric_(self, p, *, generator=None):
    """Fill with samples of the geometric distribution (trials to the first success)."""
    return _fill_random(self, _rng(generator).geometric(p, tuple(self.shape)), "geometric_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with ``exp(N(mean, std))`` samples."""
    return _fill_random(self, _rng(generator).lognormal(mean, std, tuple(self.shape)),
                        "log_normal_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples."""
    return _fill_random(self, median + sigma * _rng(generator).standard_cauchy(tuple(self.shape)),
                        "cauchy_")


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws, 1 with probability ``p`` (a float or a tensor of probabilities)."""
    pa = p.detach().numpy() if isinstance(p, Tensor) else p
    u = _rng(generator).random(tuple(self.shape))
    return _fill_random(self, u < pa, "bernoulli_")


def _reshaped_inplace(name, fn):
    """``t_``, ``unsqueeze_``, ...: the tensor takes the new shape (a view of its storage)."""
    def op(self, *args):
        out = fn(self, *args)
        if self.requires_grad and self._node is None and out.requires_grad:
            raise RuntimeError(f"{name}: a leaf tensor that requires grad cannot change shape in "
                               f"place")
        self._data = out._data
        self._version[0] += 1
        if out.requires_grad:
            self._node, self._oidx = out._node, out._oidx
        return self
    op.__name__ = name
    return op


# ------------------------------------------------------------------------------ registration

_METHODS = {
    "new_zeros": _new(_zeros, "new_zeros"), "new_ones": _new(_ones, "new_ones"),
    "new_empty": _new(_empty, "new_empty"), "new_full": _new_full, "new_tensor": _new_tensor,
    "stride": stride, "storage_offset": storage_offset, "is_signed": is_signed,
    "get_device": get_device, "is_pinned": is_pinned, "pin_memory": pin_memory,
    "share_memory_": share_memory_, "is_shared": is_shared, "unfold": unfold,
    "sum_to_size": sum_to_size, "fill_diagonal_": fill_diagonal_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli_": bernoulli_, "is_nonzero": is_nonzero,
    "is_same_size": is_same_size, "equal": equal, "allclose": allclose, "isclose": isclose,
    "clip": clip, "moveaxis": moveaxis, "msort": msort, "positive": positive,
    "fix": fix, "arctan2": arctan2, "fmax": fmax, "fmin": fmin, "frac": frac, "gcd": gcd,
    "lcm": lcm, "heaviside": heaviside, "copysign": copysign, "signbit": signbit,
    "sinc": sinc, "deg2rad": deg2rad, "rad2deg": rad2deg, "ldexp": ldexp,
    "isneginf": isneginf, "isposinf": isposinf, "isreal": isreal, "inner": inner,
    "vdot": vdot, "dist": dist, "renorm": renorm, "addmv": addmv, "addr": addr, "cov": cov,
    "corrcoef": corrcoef, "diagflat": diagflat, "matrix_power": matrix_power,
    "pinverse": pinverse, "take": take, "index_fill": index_fill, "index_copy": index_copy,
    "index_put": index_put, "masked_scatter": masked_scatter,
    "scatter_reduce": scatter_reduce, "select": select, "select_scatter": select_scatter,
    "slice_scatter": slice_scatter, "diagonal_scatter": diagonal_scatter,
    "split_with_sizes": split_with_sizes, "aminmax": aminmax, "kthvalue": kthvalue,
    "nanmedian": nanmedian, "nanquantile": nanquantile,
    "unique_consecutive": unique_consecutive, "bincount": bincount, "histogram": histogram,
    "dsplit": dsplit,
}
for _n, _f in _METHODS.items():
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, _f)

# in-place twins of out-of-place methods (computed out of place and written back, with the
# autograd bookkeeping of every in-place op)
for _n in ("acos", "asin", "atan", "acosh", "asinh", "atanh", "cosh", "sinh", "log10", "log2",
           "exp2", "digamma", "lgamma", "erfinv", "erfc", "logit", "xlogy", "hypot", "sgn",
           "deg2rad", "rad2deg", "fix", "frac", "copysign", "heaviside", "gcd", "lcm", "ldexp",
           "sinc", "float_power", "nextafter", "logical_xor", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
           "true_divide", "tril", "triu", "renorm", "index_fill", "index_copy", "index_put",
           "masked_scatter", "scatter_reduce", "arccos", "arcsin", "arctan", "arccosh",
           "arcsinh", "arctanh", "arctan2", "negative", "absolute", "i0", "polygamma",
           "mvlgamma", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
           "less_equal", "not_equal", "cumsum", "cumprod", "digamma", "igamma", "igammac"):
    if hasattr(Tensor, _n) and not hasattr(Tensor, _n + "_"):
        _def_inplace(_n, getattr(Tensor, _n))
for _n, _fn in (("t_", lambda s: s.t()), ("transpose_", lambda s, a, b: s.transpose(a, b)),
                ("unsqueeze_", lambda s, d: s.unsqueeze(d)),
                ("squeeze_", lambda s, *d: s.squeeze(*d)),
                ("swapaxes_", lambda s, a, b: s.transpose(a, b)),
                ("swapdims_", lambda s, a, b: s.transpose(a, b))):
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, _reshaped_inplace(_n, _fn))
del _n, _f, _fn
