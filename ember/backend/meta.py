"""The meta device (``device="meta"``, as PyTorch's): tensors with a shape and a dtype and
no storage. Every op on meta tensors runs its primitive's shape rule
(``Primitive.abstract_eval``) instead of its kernel: a :class:`MetaArray` refuses every
computation by raising :class:`MetaCompute`, which the eager evaluator answers with the
shape rule. So a model of any size can be built, inspected and traced without memory, then
given storage with ``Module.to_empty(device="cpu")``.
"""
from __future__ import annotations

import math
import types

import numpy as np

from .base import Backend, register


class MetaCompute(RuntimeError):
    """Raised when code tries to compute on a meta array (it has no data)."""


def _refuse(what):
    raise MetaCompute(f"{what}: a meta tensor has shape and dtype but no data; copy a real "
                      f"tensor instead, or materialise the model with "
                      f"module.to_empty(device='cpu')")


class MetaArray:
    """Shape and dtype without storage (the array type of the meta device)."""

    __slots__ = ("shape", "dtype")
    __array_priority__ = 10000

    def __init__(self, shape, dtype):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    def copy(self):
        return MetaArray(self.shape, self.dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse(ufunc.__name__)

    def __array_function__(self, func, types, args, kwargs):
        _refuse(func.__name__)

    def __array__(self, *args, **kwargs):
        _refuse("conversion to a NumPy array")

    def __getattr__(self, name):
        _refuse(f"'{name}'")

    def __getitem__(self, idx):
        _refuse("indexing")

    def __setitem__(self, idx, value):
        pass  # writing into no storage: in-place ops on meta tensors only check shapes

    @property
    def flags(self):
        return _META_FLAGS

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self):
        _refuse("truth value")

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    def __reduce__(self):
        return (MetaArray, (self.shape, self.dtype))


def _refusing(name):
    def op(self, *args):
        _refuse(f"operator {name}")
    op.__name__ = name
    return op


# Python's operators on a meta array compute: they refuse as NumPy functions do (the eager
# evaluator then runs the op's shape rule)
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    for _fmt in ("__{}__", "__r{}__", "__i{}__"):
        setattr(MetaArray, _fmt.format(_name), _refusing(_fmt.format(_name)))
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__neg__", "__pos__",
              "__abs__", "__invert__", "__float__", "__int__", "__index__", "__complex__"):
    setattr(MetaArray, _name, _refusing(_name))
MetaArray.__hash__ = object.__hash__


_META_FLAGS = types.SimpleNamespace(writeable=True, c_contiguous=True, f_contiguous=False,
                                    owndata=True)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(shape)


def _like(a, dtype=None, shape=None):
    return MetaArray(a.shape if shape is None else _shape(shape),
                     a.dtype if dtype is None else dtype)


def _asarray(data, dtype=None, **_):
    if isinstance(data, MetaArray):
        return data if dtype is None else MetaArray(data.shape, dtype)
    a = np.asarray(data) if dtype is None else np.asarray(data, dtype)
    return MetaArray(a.shape, a.dtype)


def _arange(*args, dtype=None, **_):
    a = np.arange(*args[:3], dtype=dtype) if len(args) < 3 or args[2] else None
    return MetaArray(a.shape, a.dtype)


def _make_meta_namespace():
    ns = types.ModuleType("ember.backend.meta.xp")
    f8 = np.float64
    ns.empty = ns.zeros = ns.ones = lambda shape, dtype=f8, **_: MetaArray(_shape(shape), dtype)
    ns.full = lambda shape, fill_value, dtype=None, **_: MetaArray(
        _shape(shape), dtype if dtype is not None else np.asarray(fill_value).dtype)
    ns.empty_like = ns.zeros_like = ns.ones_like = \
        lambda a, dtype=None, shape=None, **_: _like(a, dtype, shape)
    ns.full_like = lambda a, fill_value, dtype=None, shape=None, **_: _like(a, dtype, shape)
    ns.eye = lambda n, m=None, k=0, dtype=f8, **_: MetaArray((n, n if m is None else m), dtype)
    ns.linspace = lambda start, stop, num=50, dtype=f8, **_: MetaArray((int(num),), dtype)
    ns.logspace = ns.linspace
    ns.arange = _arange
    ns.asarray = ns.array = ns.asanyarray = _asarray
    ns.broadcast_to = lambda a, shape, **_: MetaArray(_shape(shape), a.dtype)
    ns.copyto = lambda dst, src, **_: None  # no storage to write
    # dtypes and dtype queries are data-free
    for k in ("dtype", "finfo", "iinfo", "result_type", "promote_types", "newaxis", "ndarray",
              "bool_", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
              "uint8", "uint16", "uint32", "uint64", "complex64", "complex128", "generic",
              "number", "integer", "floating"):
        setattr(ns, k, getattr(np, k))
    ns.__getattr__ = lambda name: _refuse(f"xp.{name}")
    return ns


class MetaBackend(Backend):
    name = "meta"
    xp = _make_meta_namespace()
    array_types = (MetaArray,)
    computes = False

    def from_host(self, a):
        return MetaArray(np.shape(a), np.asarray(a).dtype if not hasattr(a, "dtype")
                         else a.dtype)

    def to_host(self, a):
        _refuse("copying out of the meta device")

    def empty(self, shape, dtype):
        return MetaArray(shape, dtype)


backend = register(MetaBackend())
