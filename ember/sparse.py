"""``ember.sparse``: ``torch.sparse``'s functions on sparse COO tensors (see
``ember.ops.sparse`` for what a sparse tensor supports)."""
from __future__ import annotations

from .core.exceptions import OpError
from .ops.sparse import SparseTensor, sparse_matmul, spmm  # noqa: F401

__all__ = ["mm", "spmm", "sum", "addmm", "SparseTensor"]


def mm(mat1, mat2):
    """Sparse (COO) @ dense, or dense @ sparse, as ``torch.sparse.mm``.

    >>> a = ember.tensor([[0., 2.], [1., 0.]]).to_sparse()
    >>> ember.sparse.mm(a, ember.tensor([[1.], [3.]]))
    tensor([[6.],
            [1.]])
    """
    return sparse_matmul(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse."""
    return mat * beta + sparse_matmul(mat1, mat2) * alpha


def sum(input, dim=None, dtype=None):
    """The sum of a sparse tensor's values (``dim``: not supported, use ``to_dense()``)."""
    if not isinstance(input, SparseTensor):
        raise OpError(f"ember.sparse.sum: expected a sparse tensor, got "
                      f"{type(input).__name__}")
    return input.sum(dim, dtype=dtype)
