"""``jax.lax``'s control flow and a few of its operations, for code written against JAX
(``from ember import lax``). The same primitives as ``ember.cond``/``ember.scan``/..."""
from __future__ import annotations

from .control_flow import cond, fori_loop, scan, switch, while_loop
from .transforms.reverse import stop_gradient

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "stop_gradient",
           "select", "dot"]


def map(f, xs):  # noqa: A001
    """``f`` applied to each slice of ``xs`` along its leading axis (a ``scan`` without a
    carry), results stacked.

    >>> ember.lax.map(lambda row: row.sum(), ember.tensor([[1., 2.], [3., 4.]]))
    tensor([3., 7.])
    """
    return scan(lambda c, x: (c, f(x)), None, xs)[1]


def select(pred, on_true, on_false):
    """Elementwise ``on_true`` where ``pred`` else ``on_false`` (shapes must match).

    >>> pred = ember.tensor([True, False])
    >>> ember.lax.select(pred, ember.tensor([1., 2.]), ember.tensor([10., 20.]))
    tensor([1., 20.])
    """
    from .ops.elementwise import as_value, where
    p, t, f = as_value(pred), as_value(on_true), as_value(on_false)
    if tuple(t.shape) != tuple(f.shape) or tuple(p.shape) not in ((), tuple(t.shape)):
        raise ValueError(f"lax.select: pred {tuple(p.shape)}, on_true {tuple(t.shape)} and "
                         f"on_false {tuple(f.shape)} must have the same shape (pred may be "
                         f"a scalar); use ember.where to broadcast")
    return where(p, t, f)


def dot(x, y):
    """Vector/matrix dot product (``lax.dot``: 1-D or 2-D operands).

    >>> ember.lax.dot(ember.tensor([[1., 2.]]), ember.tensor([[3.], [4.]]))
    tensor([[11.]])
    """
    from .ops.linalg import matmul
    return matmul(x, y)
