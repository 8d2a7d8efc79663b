"""Sparse COO tensors (PyTorch's ``layout=torch.sparse_coo``): the coordinates of the nonzero
entries (``indices``, int64, ``(ndim, nnz)``) and their ``values`` (``(nnz,)``), nothing else
stored. Built by ``sparse_coo_tensor`` or ``Tensor.to_sparse()``.

What they do: products with dense matrices (``mm``, ``matmul``/``@``, ``spmm``,
``ember.sparse.mm``; either side sparse), ``+`` with a dense tensor (dense result) or another
sparse tensor (sparse), ``*`` and ``/`` by a number, ``*`` with a dense tensor (sparse
result), ``sum()``, ``t()``/``transpose``, ``coalesce()``, ``to_dense()``, ``indices()``,
``values()``, ``to(dtype)``, ``detach()``, ``clone()``. Gradients flow through ``values`` and
the dense operands (a sparse leaf's ``.grad`` is sparse, on its indices). Any other operation
raises an error that says to convert with ``to_dense()``. Hybrid tensors (values with dense
trailing dims) are not supported.
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import tensor as _tensor
from ..core.exceptions import OpError
from ..core.tensor import Tensor
from .elementwise import as_value
from .indexing import index_add
from .registry_helpers import method


__all__ = ["sparse_coo_tensor", "spmm", "strided", "sparse_coo", "layout"]


class layout:
    """A tensor's memory layout: ``ember.strided`` (dense) or ``ember.sparse_coo``."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")
sparse_coo = layout("sparse_coo")

Tensor.layout = strided
Tensor.is_sparse = False


def _as_index_array(indices, op):
    a = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if a.ndim != 2 or a.dtype.kind not in "iu":
        raise OpError(f"{op}: indices must be a 2-D integer array of shape (ndim, nnz), got "
                      f"shape {a.shape} of {a.dtype}")
    return a.astype(np.int64, copy=False)


class SparseTensor(Tensor):
    """A sparse COO tensor (see the module's docstring for what it supports)."""

    layout = sparse_coo
    is_sparse = True

    def __init__(self, indices, values, shape, coalesced=False):
        self.__dict__["_idx"] = indices
        self.__dict__["_vals"] = values
        self.__dict__["_shp"] = tuple(int(s) for s in shape)
        self.__dict__["_coalesced"] = bool(coalesced)

    # ---- what every dense-storage operation would read: a clear error instead -------------
    @property
    def _data(self):
        raise OpError(f"this operation does not support sparse COO tensors (shape "
                      f"{self._shp}, nnz {self._nnz()}); convert with .to_dense(), or use "
                      f"what sparse tensors support: mm/matmul/spmm, + and * with tensors, "
                      f"sum(), t(), coalesce(), indices(), values()")

    @property
    def shape(self):
        from ..core.tensor import Size
        return Size(self._shp)

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def ndim(self):
        return len(self._shp)

    @property
    def device(self):
        return self._vals.device

    def numel(self):
        return int(np.prod(self._shp, dtype=np.int64))

    def __len__(self):
        return self._shp[0]

    @property
    def requires_grad(self):
        return self._vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._vals.requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def grad(self):
        g = self._vals.grad
        return None if g is None else SparseTensor(self._idx, g, self._shp, self._coalesced)

    @grad.setter
    def grad(self, value):
        if value is not None:
            raise OpError("a sparse tensor's .grad can only be set to None")
        self._vals.grad = None

    @property
    def is_leaf(self):
        return self._vals.is_leaf

    @property
    def grad_fn(self):
        return self._vals.grad_fn

    def backward(self, *args, **kwargs):
        raise OpError("backward: call it on a dense scalar (e.g. a loss computed from this "
                      "sparse tensor), not on the sparse tensor itself")

    # ---- COO accessors ---------------------------------------------------------------------
    def sparse_dim(self):
        return len(self._shp)

    def dense_dim(self):
        return 0

    def _nnz(self):
        return int(self._idx.shape[1])

    def is_coalesced(self):
        return self._coalesced

    def _indices(self):
        return Tensor._wrap(self._idx)

    def _values(self):
        return self._vals

    def indices(self):
        if not self._coalesced:
            raise OpError("indices(): the tensor is not coalesced (it may repeat an index); "
                          "call .coalesce() first, or use ._indices()")
        return Tensor._wrap(self._idx)

    def values(self):
        if not self._coalesced:
            raise OpError("values(): the tensor is not coalesced (it may repeat an index); "
                          "call .coalesce() first, or use ._values()")
        return self._vals

    def coalesce(self):
        """Indices sorted (row-major) and unique; the values of repeated indices summed."""
        if self._coalesced:
            return self
        if self._nnz() == 0:
            return SparseTensor(self._idx, self._vals, self._shp, True)
        flat = np.ravel_multi_index(tuple(self._idx), self._shp)
        uniq, inverse = np.unique(flat, return_inverse=True)
        vals = index_add(_zeros((len(uniq),), self._vals), 0,
                         Tensor._wrap(inverse.reshape(-1).astype(np.int64)), self._vals)
        idx = np.stack(np.unravel_index(uniq, self._shp)).astype(np.int64)
        return SparseTensor(idx, vals, self._shp, True)

    def to_dense(self, dtype=None, *, masked_grad=None):
        """The dense tensor (differentiable with respect to the values)."""
        flat = np.ravel_multi_index(tuple(self._idx), self._shp) if self._nnz() else \
            np.zeros(0, np.int64)
        out = index_add(_zeros((self.numel(),), self._vals), 0,
                        Tensor._wrap(flat.astype(np.int64)), self._vals).reshape(self._shp)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, *args, **kwargs):
        return self

    # ---- conversions -------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        return SparseTensor(self._idx, self._vals.to(*args, **kwargs), self._shp,
                            self._coalesced)

    def cpu(self):
        return self

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def detach(self):
        return SparseTensor(self._idx, self._vals.detach(), self._shp, self._coalesced)

    def clone(self, *, memory_format=None):
        return SparseTensor(self._idx.copy(), self._vals.clone(), self._shp, self._coalesced)

    def t(self):
        if len(self._shp) != 2:
            raise OpError(f"t(): expects a 2-D sparse tensor, got shape {self._shp}")
        return self.transpose(0, 1)

    def transpose(self, dim0, dim1):
        n = len(self._shp)
        d0, d1 = dim0 % n, dim1 % n
        perm = list(range(n))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        shape = tuple(self._shp[p] for p in perm)
        return SparseTensor(self._idx[perm], self._vals, shape, False)

    def sum(self, dim=None, keepdim=False, dtype=None):
        if dim is not None:
            raise OpError(f"sum: over dims of a sparse tensor is not supported; use "
                          f".to_dense().sum({dim}) (shape {self._shp})")
        s = self._vals.sum()
        return s if dtype is None else s.to(dtype)

    # ---- arithmetic ------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, SparseTensor):
            _same_shape("add", self, other)
            vals = _cat_values(self._vals, other._vals)
            return SparseTensor(np.concatenate([self._idx, other._idx], 1), vals,
                                self._shp).coalesce()
        return self.to_dense() + other

    def __radd__(self, other):
        return other + self.to_dense()

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other - self.to_dense()

    def __neg__(self):
        return SparseTensor(self._idx, -self._vals, self._shp, self._coalesced)

    def __mul__(self, other):
        if isinstance(other, SparseTensor):
            raise OpError("mul: sparse * sparse is not supported; convert one with to_dense()")
        o = as_value(other)
        if o.ndim == 0:
            return SparseTensor(self._idx, self._vals * o, self._shp, self._coalesced)
        o = o.expand(self._shp) if tuple(o.shape) != self._shp else o
        picked = o[tuple(Tensor._wrap(i) for i in self._idx)]
        return SparseTensor(self._idx, self._vals * picked, self._shp, self._coalesced)

    __rmul__ = __mul__

    def mul(self, other):
        return self * other

    def __truediv__(self, other):
        o = as_value(other)
        if o.ndim != 0:
            raise OpError("div: a sparse tensor can only be divided by a number")
        return SparseTensor(self._idx, self._vals / o, self._shp, self._coalesced)

    def __matmul__(self, other):
        return sparse_matmul(self, other)

    def __rmatmul__(self, other):
        return sparse_matmul(other, self)

    def mm(self, other):
        return sparse_matmul(self, other)

    def matmul(self, other):
        return sparse_matmul(self, other)

    def __repr__(self):
        return (f"tensor(indices={Tensor._wrap(self._idx)!r},\n       values={self._vals!r},"
                f"\n       size={self._shp}, nnz={self._nnz()}, layout=ember.sparse_coo)")

    __str__ = __repr__

    def __reduce__(self):
        return SparseTensor, (self._idx, self._vals, self._shp, self._coalesced)


def _zeros(shape, like):
    return Tensor._wrap(np.zeros(shape, like._data.dtype))


def _cat_values(a, b):
    from .indexing import cat
    if a.dtype != b.dtype:
        b = b.to(a.dtype)
    return cat([a, b], 0)


def _same_shape(op, a, b):
    if a._shp != b._shp:
        raise OpError(f"{op}: sparse tensors of shapes {a._shp} and {b._shp} differ")


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """A sparse COO tensor from ``indices`` (``(ndim, nnz)`` integers) and ``values``
    (``(nnz,)``); ``size`` defaults to one past the largest index in each dim. Repeated
    indices are allowed (their values add up; ``coalesce()`` sums them).

    >>> s = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3., 4., 5.], (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
    >>> (s @ ember.ones(3, 1)).flatten()
    tensor([3., 9.])
    """
    idx = _as_index_array(indices, "sparse_coo_tensor")
    vals = values if isinstance(values, Tensor) else _tensor(values)
    if dtype is not None:
        vals = vals.to(dtype)
    if vals.ndim != 1:
        raise OpError(f"sparse_coo_tensor: values must be 1-D (nnz,), got shape "
                      f"{tuple(vals.shape)} (hybrid sparse tensors are not supported)")
    if vals.shape[0] != idx.shape[1]:
        raise OpError(f"sparse_coo_tensor: {idx.shape[1]} indices but {vals.shape[0]} values")
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.shape[1] else (0,) * len(idx)
    size = tuple(int(s) for s in size)
    if len(size) != idx.shape[0]:
        raise OpError(f"sparse_coo_tensor: size {size} has {len(size)} dims but indices has "
                      f"{idx.shape[0]} rows")
    if idx.shape[1] and ((idx < 0).any() or (idx.max(axis=1) >= np.array(size)).any()):
        raise OpError(f"sparse_coo_tensor: an index is out of bounds for size {size} "
                      f"(max per dim {idx.max(axis=1).tolist()}, min {int(idx.min())})")
    if requires_grad:
        vals = vals.detach().requires_grad_(True)
    return SparseTensor(idx.copy(), vals, size, bool(is_coalesced))


@method
def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse COO form of this tensor (its nonzero entries; differentiable).

    >>> ember.tensor([[0., 2.], [3., 0.]]).to_sparse().values()
    tensor([2., 3.])
    """
    if layout is not None and layout is not sparse_coo:
        raise OpError(f"to_sparse: layout {layout} is not supported; ember has sparse_coo")
    if sparse_dim is not None and sparse_dim != self.ndim:
        raise OpError(f"to_sparse: sparse_dim={sparse_dim} (hybrid) is not supported; all "
                      f"{self.ndim} dims are sparse")
    nz = np.nonzero(self._data)
    idx = np.stack(nz).astype(np.int64) if self.ndim else np.zeros((0, 1), np.int64)
    vals = self[tuple(Tensor._wrap(i) for i in nz)] if self.ndim else self.reshape(1)
    return SparseTensor(idx, vals, tuple(self.shape), True)


method(to_sparse, "to_sparse_coo")


@method
def to_dense(self, dtype=None, *, masked_grad=None):
    """A dense tensor is its own dense form (``dtype``: converted)."""
    return self if dtype is None else self.to(dtype)


def sparse_matmul(a, b):
    """``a @ b`` where one side is sparse COO (2-D) and the other dense (2-D or 1-D)."""
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        return sparse_matmul(a, b.to_dense())
    if isinstance(a, SparseTensor):
        if a.ndim != 2:
            raise OpError(f"mm: a sparse operand must be 2-D, got shape {a._shp}")
        b = as_value(b)
        vec = b.ndim == 1
        m = b.reshape(-1, 1) if vec else b
        if m.ndim != 2 or m.shape[0] != a._shp[1]:
            raise OpError(f"mm: shapes {a._shp} (sparse) and {tuple(b.shape)} don't line up")
        vals = a._vals if a._vals.dtype == m.dtype else a._vals.to(m.dtype)
        rows, cols = Tensor._wrap(a._idx[0]), Tensor._wrap(a._idx[1])
        contrib = vals.reshape(-1, 1) * m[cols]
        out = index_add(_zeros((a._shp[0], m.shape[1]), contrib), 0, rows, contrib)
        return out.reshape(-1) if vec else out
    b_t = b.t()
    a = as_value(a)
    if a.ndim == 1:
        return sparse_matmul(b_t, a)
    if a.ndim != 2:
        raise OpError(f"mm: a dense operand with a sparse one must be 1-D or 2-D, got "
                      f"{tuple(a.shape)}")
    return sparse_matmul(b_t, a.t()).t()


def spmm(input, mat2):
    """Sparse @ dense (``torch.spmm``)."""
    return sparse_matmul(input, mat2)
