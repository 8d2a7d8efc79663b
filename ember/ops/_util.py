"""Helpers shared by the op families: dims, errors, unbroadcasting, value conversion."""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.errors import describe, op_error  # noqa: F401 (used by the op families)
from ..backend import device_of
from ..backend.meta import MetaArray
from ..core.creation import place
from ..core.primitive import Tracer
from ..core.tensor import Tensor, canon_dim  # noqa: F401
from ..core.exceptions import OpError


def canon_dims(dims, ndim, op="op"):
    """Sorted non-negative dims. A 0-d tensor accepts dim 0 or -1 (it names the tensor
    itself, as in PyTorch) and has no dims to reduce: ``()``."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, (int, np.integer, str)):
        dims = (dims,)
    if ndim == 0:
        for d in dims:
            canon_dim(d, 0, op)
        return ()
    out = tuple(sorted(canon_dim(d, ndim, op) for d in dims))
    if len(set(out)) != len(out):
        raise OpError(f"{op}: dim {tuple(dims)} names the same dimension twice")
    return out


def shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def is_tensorlike(x):
    return isinstance(x, (Tensor, np.ndarray))


def broadcast_shapes(*shapes, op="broadcast"):
    """The shape the given shapes broadcast to (NumPy's rule); a clear error naming ``op``,
    the shapes and the first dim that conflicts otherwise."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        pass
    shapes = [tuple(s) for s in shapes]
    ndim = max(len(s) for s in shapes)
    where = ""
    for k in range(1, ndim + 1):  # aligned from the right
        sizes = [s[-k] for s in shapes if len(s) >= k]
        big = sorted({n for n in sizes if n != 1})
        if len(big) > 1:
            where = f": dim {-k} is " + " vs ".join(str(n) for n in big)
            break
    names = ", ".join(str(s) for s in shapes[:-1]) + f" and {shapes[-1]}"
    raise OpError(f"{op}: shapes {names} cannot be broadcast together{where} (sizes must "
                     f"match or be 1, aligned from the right); reshape or unsqueeze an operand "
                     f"so that they line up") from None


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


def host_on_device_of(arr, like):
    """A host (NumPy) array an op makes as a constant (index arrays, masks) moved to the
    device of ``like`` (a Tensor or an array); a traced ``like`` counts as on the default
    device (its arrays' device is known only when the plan runs, and jit moves constants to
    the plan's backend then). On the CPU this is ``arr`` itself."""
    if isinstance(like, Tracer):
        return place(arr)
    d = like._data if isinstance(like, Tensor) else like
    if type(d) is np.ndarray:
        return arr
    return place(arr, device_of(d))


def has_values(t):
    """Whether tensor ``t``'s values can be read now: not traced, not on the meta device
    (value checks such as index bounds are skipped for the others)."""
    return not isinstance(t, Tracer) and type(t._data) is not MetaArray


def transposed_matrix(w):
    """Whether ``w`` is the transposed view of a C-ordered matrix (F-ordered, not also
    C-ordered): a layer's weight as ``weight.T``."""
    return w.ndim == 2 and w.flags.f_contiguous and not w.flags.c_contiguous
