"""Helpers shared by the op families: dims, errors, unbroadcasting, value conversion."""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor


def canon_dim(dim, ndim, op="op"):
    """Normalise a possibly negative dim; raise a clear error when out of range."""
    try:
        d = int(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an integer, got {dim!r}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimension"
                         f"{'s' if ndim != 1 else ''} (expected a dim in [{-n}, {n - 1}])")
    return d % n


def canon_dims(dims, ndim, op="op"):
    """Sorted non-negative dims. A 0-d tensor accepts dim 0 or -1 (it names the tensor
    itself, as in PyTorch) and has no dims to reduce: ``()``."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    if ndim == 0:
        for d in dims:
            canon_dim(d, 0, op)
        return ()
    out = tuple(sorted(canon_dim(d, ndim, op) for d in dims))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {tuple(dims)} names the same dimension twice")
    return out


def shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def describe(x):
    if isinstance(x, Tensor):
        return f"{tuple(x.shape)} {x.dtype.name}"
    if isinstance(x, np.ndarray):
        return f"{x.shape} {x.dtype}"
    return repr(x)


def op_error(prim, args, params, exc):
    """Wrap a backend failure into an error naming the op, its input shapes and params."""
    kind = type(exc) if isinstance(exc, (ValueError, IndexError, TypeError)) else RuntimeError
    shapes = ", ".join(describe(a) for a in args)
    ps = ", ".join(f"{k}={v!r}" for k, v in params.items())
    msg = f"{prim.name}: failed for inputs ({shapes})" + (f" with {ps}" if ps else "")
    return kind(f"{msg}: {exc}")


def saved_output(node, i, create_graph):
    if node.out is None:
        return None
    if node.out_version is not None:
        ver, v = node.out_version
        if ver[0] != v:
            raise RuntimeError(
                f"backward: the output of {node.name}Backward, which its gradient needs, was "
                f"modified by an in-place operation. Use an out-of-place op or .clone() it "
                f"before modifying it.")
    data = node.out[i] if node.n_out > 1 else node.out
    t = Tensor._wrap(data)
    if create_graph:
        t._node, t._oidx, t.requires_grad = node, i, True
    return t


def zeros_for_output(node, i):
    from .creation_ops import zeros
    aval = node.prim.abstract_eval([_aval_of(a) for a in node.args], node.params)[i]
    return zeros(aval.shape, dtype=aval.dtype)


def _aval_of(a):
    from ..core.primitive import Aval
    if isinstance(a, Tensor):
        return Aval(a.shape, a.dtype)
    a = np.asarray(a)
    return Aval(a.shape, _dt.from_np(a.dtype))


def is_tensorlike(x):
    return isinstance(x, (Tensor, np.ndarray))


def broadcast_shapes(*shapes, op="broadcast"):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be "
                         f"broadcast together (sizes must match or be 1, aligned from the right)"
                         ) from None


def check_same_dtype(op, a, b, what=("mat1", "mat2"), fix=None):
    """PyTorch's rule for the products (matmul, linear, conv): no implicit promotion between
    the operands; a mismatch is a RuntimeError naming both dtypes and shapes."""
    da, db = a.dtype, b.dtype
    if da != db:
        fix = fix or (f"convert one side, e.g. x.to({db})" if getattr(db, "is_floating_point",
                                                                      False) else
                      f"convert one side, e.g. y.to({da})")
        raise RuntimeError(f"{op}: {what[0]} and {what[1]} must have the same dtype, but got "
                           f"{da} {tuple(a.shape)} and {db} {tuple(b.shape)}; {fix}")


def layer_input_fix(x, w):
    """The fix to suggest when a layer's input dtype differs from its weight's."""
    if getattr(x.dtype, "is_floating_point", False):
        return (f"convert the input, e.g. x.to({w.dtype}), or the layer, e.g. "
                f"layer.to({x.dtype})")
    return f"convert the input, e.g. x.to({w.dtype}) (integer data needs an explicit cast)"
