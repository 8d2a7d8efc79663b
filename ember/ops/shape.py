"""Shape primitives: reshape, transpose/permute, broadcast (expand), and the ops composed
from them (view, flatten, squeeze, unsqueeze, movedim, ...)."""
from __future__ import annotations

from ..backend import namespace

from ..core.primitive import Aval, Primitive, Tracer, bind
from ._util import canon_dim
from .elementwise import as_value, moveaxis_to_front
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []


def _shape_arg(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be integers, got {shape!r}") from None


def infer_shape(shape, numel, old_shape, op="reshape"):
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise OpError(f"{op}: only one dimension can be -1, got {shape}")
    if neg:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise OpError(f"{op}: shape {shape} is invalid for input of shape "
                             f"{tuple(old_shape)} ({numel} elements)")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    n = 1
    for s in shape:
        if s < 0:
            raise OpError(f"{op}: invalid size {s} in shape {shape}")
        n *= s
    if n != numel:
        raise OpError(f"{op}: shape {shape} is invalid for input of shape {tuple(old_shape)} "
                         f"({numel} elements, the new shape has {n})")
    return shape


# ---- reshape ------------------------------------------------------------------------

reshape_p = Primitive(
    "reshape", lambda x, shape: x.reshape(shape),
    emit_inline=lambda e, ops, const: f"{ops[0]}.reshape({const(tuple(e.params['shape']))})",
    shape=lambda x, shape: Aval(shape, x.dtype), linear=True, view=True,
    vjp=lambda ct, out, x, shape: (bind(reshape_p, ct, shape=tuple(x.shape)),),
    jvp=lambda p, t, out, shape: bind(reshape_p, t[0], shape=shape))
reshape_p.batch = lambda args, dims, shape: (
    bind(reshape_p, moveaxis_to_front(args[0], dims[0]),
         shape=(args[0].shape[dims[0]],) + tuple(shape)), 0)


def reshape(input, *shape):
    """A tensor with the same data and a new shape (one dim may be -1).

    >>> ember.reshape(ember.arange(6), (2, -1))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    x = as_value(input)
    shape = infer_shape(_shape_arg(shape, "reshape"), x.numel(), x.shape, "reshape")
    if shape == tuple(x.shape):
        return x
    return bind(reshape_p, x, shape=shape)


def view(input, *shape):
    """The same data with a new shape (one entry may be -1).

    >>> ember.arange(6).view(3, 2)
    tensor([[0, 1],
            [2, 3],
            [4, 5]])
    """
    x = as_value(input)
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return x.to(shape[0])  # view(dtype) is not a reinterpretation here
    return reshape(x, *shape)


# ---- transpose ----------------------------------------------------------------------

def _inv_perm(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _emit_transpose(e, ops, const):
    """jit plans call the array's method (operands are arrays or NumPy scalars)."""
    perm = tuple(e.params["perm"])
    return f"{ops[0]}.T" if perm == (1, 0) else f"{ops[0]}.transpose({const(perm)})"


transpose_p = Primitive(
    "transpose", lambda x, perm: x.transpose(perm), emit_inline=_emit_transpose,
    shape=lambda x, perm: Aval(tuple(x.shape[p] for p in perm), x.dtype), linear=True, view=True,
    vjp=lambda ct, out, x, perm: (bind(transpose_p, ct, perm=_inv_perm(perm)),),
    jvp=lambda p, t, out, perm: bind(transpose_p, t[0], perm=perm))


def _transpose_batch(args, dims, perm):
    x = moveaxis_to_front(args[0], dims[0])
    return bind(transpose_p, x, perm=(0,) + tuple(p + 1 for p in perm)), 0


transpose_p.batch = _transpose_batch
# the rules read the input's shape only (Primitive.vjp_reads)
reshape_p.vjp_reads = transpose_p.vjp_reads = ()


def permute(input, *dims):
    """Reorder the dims (``x.permute(2, 0, 1)``).

    >>> ember.permute(ember.zeros(2, 3, 4), (2, 0, 1)).shape
    ember.Size([4, 2, 3])
    """
    x = as_value(input)
    n = x.ndim
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != n:
        raise OpError(f"permute: got {len(dims)} dims {dims} for a tensor with {n} dims "
                      f"(shape {tuple(x.shape)}); give one entry per dim")
    # (plain ints in range, the common case, without canon_dim's call per dim)
    perm = tuple([d % n if type(d) is int and -n <= d < n else canon_dim(d, n, "permute")
                  for d in dims])
    ident = tuple(range(n))
    if perm == ident:
        return x
    if sorted(perm) != list(ident):
        raise OpError(f"permute: dims {dims} repeat a dimension")
    return bind(transpose_p, x, perm=perm)


def transpose(input, dim0=None, dim1=None, *more):
    """Swap two dims (PyTorch's ``transpose(dim0, dim1)``). Given no dims, one tuple of dims
    or more than two, it permutes as NumPy's and JAX's ``x.transpose(*axes)`` (no dims:
    reversed).

    >>> ember.transpose(ember.tensor([[1, 2, 3]]), 0, 1)
    tensor([[1],
            [2],
            [3]])
    >>> ember.ones(2, 3, 4).transpose().shape, ember.ones(2, 3, 4).transpose((1, 0, 2)).shape
    (ember.Size([4, 3, 2]), ember.Size([3, 2, 4]))
    """
    x = as_value(input)
    if dim1 is None or more:  # NumPy's forms
        if dim0 is None:
            return permute(x, tuple(range(x.ndim))[::-1])
        if isinstance(dim0, (tuple, list)):
            return permute(x, tuple(dim0))
        if not more and x.ndim != 1:
            raise OpError(f"transpose: got one dim ({dim0}) for a {x.ndim}-d tensor; pass two "
                          f"dims to swap (PyTorch) or a permutation of all {x.ndim} (NumPy)")
        return permute(x, (dim0,) + ((dim1,) if dim1 is not None else ()) + more)
    n = x.ndim
    if n == 0:
        return x
    d0, d1 = canon_dim(dim0, n, "transpose"), canon_dim(dim1, n, "transpose")
    if d0 == d1:
        return x
    perm = list(range(n))
    perm[d0], perm[d1] = d1, d0
    return bind(transpose_p, x, perm=tuple(perm))


def movedim(input, source, destination):
    """``input`` with dimension(s) ``source`` moved to ``destination``.

    >>> ember.movedim(ember.zeros(2, 3, 4), 0, -1).shape
    ember.Size([3, 4, 2])
    """
    x = as_value(input)
    n = x.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [canon_dim(s, n, "movedim") for s in src]
    dst = [canon_dim(d, n, "movedim") for d in dst]
    rest = [i for i in range(n) if i not in src]
    perm = [None] * n
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return permute(x, perm)


moveaxis = movedim


def t(input):
    """The transpose of a matrix (a 0-D or 1-D tensor is returned as is).

    >>> ember.t(ember.tensor([[1, 2], [3, 4]]))
    tensor([[1, 3],
            [2, 4]])
    """
    x = as_value(input)
    if x.ndim > 2:
        raise OpError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; "
                         f"use transpose(dim0, dim1) or .mT")
    return x if x.ndim < 2 else transpose(x, 0, 1)


# ---- broadcast ----------------------------------------------------------------------

def _bcast_vjp(ct, out, x, shape):
    from .elementwise import unbroadcast
    return (unbroadcast(ct, tuple(x.shape)),)


def _bcast_batch(args, dims, shape):
    x = moveaxis_to_front(args[0], dims[0])
    b = x.shape[0]
    k = x.ndim - 1
    x = bind(reshape_p, x, shape=(b,) + (1,) * (len(shape) - k) + tuple(x.shape[1:]))
    return bind(broadcast_to_p, x, shape=(b,) + tuple(shape)), 0


broadcast_to_p = Primitive(
    "broadcast_to", lambda x, shape: namespace(x).broadcast_to(x, shape),
    shape=lambda x, shape: Aval(shape, x.dtype), linear=True, view=True, vjp=_bcast_vjp,
    jvp=lambda p, t, out, shape: bind(broadcast_to_p, t[0], shape=shape))
broadcast_to_p.batch = _bcast_batch
broadcast_to_p.vjp_reads = ()  # the rule reads the input's shape only


def expand(input, *sizes):
    """Broadcast to a larger shape without copying (-1 keeps a dim).

    >>> ember.tensor([[1], [2]]).expand(2, 3)
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
    x = as_value(input)
    sizes = _shape_arg(sizes, "expand")
    if len(sizes) < x.ndim:
        raise OpError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dims ({x.ndim}, shape {tuple(x.shape)})")
    lead = len(sizes) - x.ndim
    shape = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise OpError("expand: -1 is not allowed for a new leading dim")
            s = x.shape[i - lead]
        elif i >= lead and x.shape[i - lead] not in (1, s):
            raise OpError(f"expand: the size of dim {i - lead} ({x.shape[i - lead]}) must "
                             f"match the new size {s} or be 1 (input {tuple(x.shape)}, target "
                             f"{tuple(sizes)})")
        shape.append(s)
    shape = tuple(shape)
    if shape == tuple(x.shape):
        return x
    return bind(broadcast_to_p, x, shape=shape)


def broadcast_to(input, shape):
    """``input`` broadcast to ``size`` (a view, no copy).

    >>> ember.broadcast_to(ember.tensor([1, 2]), (2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return expand(input, tuple(shape))


def expand_as(input, other):
    """``input`` broadcast to the shape of ``other``.

    >>> ember.tensor([1, 2]).expand_as(ember.zeros(3, 2)).shape
    ember.Size([3, 2])
    """
    return expand(input, tuple(other.shape))


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape.

    >>> ember.broadcast_tensors(ember.tensor([1, 2]), ember.tensor([[0], [10]]))
    (tensor([[1, 2],
            [1, 2]]), tensor([[ 0,  0],
            [10, 10]]))
    """
    from ._util import broadcast_shapes
    ts = [as_value(t) for t in tensors]
    shape = broadcast_shapes(*[tuple(t.shape) for t in ts], op="broadcast_tensors")
    return tuple(expand(t, shape) for t in ts)


# ---- composed views ----------------------------------------------------------------

def flatten(input, start_dim=0, end_dim=-1):
    """Dims ``start_dim`` to ``end_dim`` merged into one.

    >>> ember.flatten(ember.zeros(2, 3, 4), start_dim=1).shape
    ember.Size([2, 12])
    """
    x = as_value(input)
    if x.ndim == 0:
        return reshape(x, (1,))
    s = canon_dim(start_dim, x.ndim, "flatten")
    e = canon_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise OpError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shp = tuple(x.shape)
    n = 1
    for v in shp[s:e + 1]:
        n *= v
    return reshape(x, shp[:s] + (n,) + shp[e + 1:])


def unflatten(input, dim, sizes):
    """Dimension ``dim`` split into the shape ``sizes``.

    >>> ember.unflatten(ember.zeros(2, 12), 1, (3, 4)).shape
    ember.Size([2, 3, 4])
    """
    x = as_value(input)
    d = canon_dim(dim, x.ndim, "unflatten")
    shp = tuple(x.shape)
    sizes = infer_shape(tuple(sizes), shp[d], (shp[d],), "unflatten")
    return reshape(x, shp[:d] + tuple(sizes) + shp[d + 1:])


def squeeze(input, dim=None):
    """``input`` without its size-1 dims (only ``dim`` when given).

    >>> ember.squeeze(ember.zeros(1, 3, 1)).shape
    ember.Size([3])
    >>> ember.squeeze(ember.zeros(1, 3, 1), 0).shape
    ember.Size([3, 1])
    """
    x = as_value(input)
    shp = tuple(x.shape)
    if dim is None:
        return reshape(x, tuple(s for s in shp if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = {canon_dim(d, x.ndim, "squeeze") for d in dims} if x.ndim else set()
    return reshape(x, tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1)))


def unsqueeze(input, dim):
    """``input`` with a new size-1 dim at position ``dim``.

    >>> ember.unsqueeze(ember.tensor([1, 2]), 1)
    tensor([[1],
            [2]])
    """
    x = as_value(input)
    d = canon_dim(dim, x.ndim + 1, "unsqueeze")
    shp = tuple(x.shape)
    return reshape(x, shp[:d] + (1,) + shp[d:])


def contiguous(input, memory_format=None):
    """``input`` itself when it is dense in ``memory_format`` (row-major by default), else a
    copy laid out so, as PyTorch (ember's operations take any layout; this is for code that
    checks ``is_contiguous()`` or ``stride()``). A traced value has no layout: itself.

    >>> ember.tensor([[1, 2], [3, 4]]).t().contiguous().is_contiguous()
    True
    """
    from ..core.memory_format import contiguous_format
    return relayout(as_value(input), memory_format or contiguous_format, "contiguous")


def relayout(x, fmt, op):
    """``x`` laid out in the memory format ``fmt`` (core/memory_format.py): itself when it
    already is (or is traced), else a copy that stays in the graph."""
    from ..core import memory_format as mf
    mf.check(fmt, x.ndim, op)
    if isinstance(x, Tracer):  # no layout
        return x
    data = x._data
    from .tensor_methods import copy_p
    if fmt is mf.contiguous_format:  # one row-major copy
        flags = getattr(data, "flags", None)  # (meta arrays have no layout)
        return x if flags is None or flags.c_contiguous else bind(copy_p, x, order="C")
    new = mf.laid_out(data, fmt)
    if new is data:
        return x
    out = bind(copy_p, x)  # (in the graph; its data then laid out in the format)
    out._data = new
    return out


def view_as(input, other):
    """``input`` reshaped to the shape of ``other``.

    >>> ember.arange(4).view_as(ember.zeros(2, 2))
    tensor([[0, 1],
            [2, 3]])
    """
    return reshape(input, tuple(other.shape))


def reshape_as(input, other):
    """``input`` reshaped to the shape of ``other``.

    >>> ember.arange(4).reshape_as(ember.zeros(2, 2))
    tensor([[0, 1],
            [2, 3]])
    """
    return reshape(input, tuple(other.shape))


def ravel(input):
    """``input`` flattened to 1-D.

    >>> ember.ravel(ember.tensor([[1, 2], [3, 4]]))
    tensor([1, 2, 3, 4])
    """
    return reshape(input, -1)


def _T(self):
    n = self.ndim
    return self if n < 2 else permute(self, tuple(range(n - 1, -1, -1)))


def _mT(self):
    if self.ndim < 2:
        raise OpError(f"mT: needs a tensor with at least 2 dims, got shape {tuple(self.shape)}")
    return transpose(self, -2, -1)


for _f in (reshape, view, permute, transpose, movedim, moveaxis, t, expand, broadcast_to,
           expand_as, flatten, unflatten, squeeze, unsqueeze, contiguous, view_as, reshape_as,
           ravel):
    export(_f, __all__)
    method(_f)
export(broadcast_tensors, __all__)
from ..core.tensor import Tensor  # noqa: E402

Tensor.T = property(_T)
Tensor.mT = property(_mT)
Tensor.H = property(_T)
Tensor.mH = property(_mT)
Tensor.swapaxes = Tensor.swapdims = transpose
