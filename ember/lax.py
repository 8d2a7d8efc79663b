"""``jax.lax``'s control flow, its named-axis collectives and a few of its operations, for
code written against JAX (``from ember import lax``). The same primitives as
``ember.cond``/``ember.scan``/...; the collectives (``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``psum_scatter``, ``ppermute``, ``axis_index``) run over an axis named by an
enclosing ``ember.vmap(f, axis_name=...)`` or ``ember.pmap(f, axis_name=...)``
(``ember/ops/collective_ops.py`` holds their rules)."""
from __future__ import annotations

from .control_flow import cond, fori_loop, scan, switch, while_loop
from .ops import collective_ops as _c
from .core import dtypes as _dt
from .ops.creation_ops import arange as _arange_any
from .ops.collective_ops import axis_size
from .ops.conv import conv1d, conv2d
from .ops.conv3d import conv3d
from .ops.elementwise import as_value
from .ops.indexing import index_select
from .ops.slicing import pad as _pad
from .transforms.reverse import stop_gradient
from .tree import tree_map

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "stop_gradient",
           "select", "dot", "psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter",
           "ppermute", "pshuffle", "axis_index", "axis_size", "conv_general_dilated",
           "padtype_to_pads", "dynamic_slice", "dynamic_slice_in_dim", "dynamic_index_in_dim"]


def _names(op, axis_name):
    """``axis_name`` as a tuple of names (JAX accepts one name or a tuple of names)."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    for n in names:
        _c.frame_of(op, n)  # unbound names fail here, before any work
    return names


def _no_groups(op, axis_index_groups):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{op}: axis_index_groups is not supported; split the "
                                  f"axis with nested vmaps/pmaps and reduce over one of them")


def _one_name(op, axis_name):
    names = _names(op, axis_name)
    if len(names) != 1:
        raise NotImplementedError(f"{op}: over several axes at once ({names!r}) is not "
                                  f"supported; call it once per axis name")
    return names[0]


def psum(x, axis_name, *, axis_index_groups=None):
    """The sum of ``x`` (a tensor or a pytree) over the named axis (or tuple of axes), on
    every member.

    >>> ember.vmap(lambda v: ember.lax.psum(v, "i"), axis_name="i")(ember.tensor([1., 2., 3.]))
    tensor([6., 6., 6.])
    """
    _no_groups("psum", axis_index_groups)
    names = _names("psum", axis_name)

    def one(v):
        for n in names:
            v = _c.psum1(v, n)
        return _c.as_value(v)
    return tree_map(one, x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """The mean of ``x`` over the named axis (or axes), on every member.

    >>> ember.vmap(lambda v: ember.lax.pmean(v, "i"), axis_name="i")(ember.tensor([1., 2., 6.]))
    tensor([3., 3., 3.])
    """
    _no_groups("pmean", axis_index_groups)
    names = _names("pmean", axis_name)
    n = 1
    for name in names:
        n *= axis_size(name)
    return tree_map(lambda v: v / n, psum(x, names))


def _extreme(op, one):
    def reduce(x, axis_name, *, axis_index_groups=None):
        _no_groups(op, axis_index_groups)
        names = _names(op, axis_name)

        def each(v):
            for n in names:
                v = one(v, n)
            return _c.as_value(v)
        return tree_map(each, x)
    return reduce


pmax = _extreme("pmax", _c.pmax1)
pmax.__name__ = "pmax"
pmax.__doc__ = """The maximum of ``x`` over the named axis (or axes), on every member (its
derivative goes to the members holding the maximum, split between ties).

    >>> ember.vmap(lambda v: ember.lax.pmax(v, "i"), axis_name="i")(ember.tensor([1., 5., 3.]))
    tensor([5., 5., 5.])
    """
pmin = _extreme("pmin", _c.pmin1)
pmin.__name__ = "pmin"
pmin.__doc__ = """The minimum of ``x`` over the named axis (or axes), on every member.

    >>> ember.vmap(lambda v: ember.lax.pmin(v, "i"), axis_name="i")(ember.tensor([4., 5., 3.]))
    tensor([3., 3., 3.])
    """


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Every member's ``x`` stacked along a new dim ``axis`` (``tiled=True``: concatenated
    along the existing dim ``axis``), on every member.

    >>> ember.vmap(lambda v: ember.lax.all_gather(v, "i"), axis_name="i")(ember.tensor([1., 2.]))
    tensor([[1., 2.],
            [1., 2.]])
    """
    _no_groups("all_gather", axis_index_groups)
    name = _one_name("all_gather", axis_name)
    return tree_map(lambda v: _c.all_gather1(v, name, axis=axis, tiled=tiled), x)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """The sum over the named axis, member ``i`` keeping index ``i`` of ``scatter_dimension``
    (whose size must be the axis size; ``tiled=True``: block ``i`` of a multiple of it).

    >>> f = lambda v: ember.lax.psum_scatter(v, "i")
    >>> ember.vmap(f, axis_name="i")(ember.tensor([[1., 2.], [10., 20.]]))
    tensor([11., 22.])
    """
    _no_groups("psum_scatter", axis_index_groups)
    name = _one_name("psum_scatter", axis_name)
    return tree_map(lambda v: _c.psum_scatter1(v, name, scatter_dimension=scatter_dimension,
                                               tiled=tiled), x)


def ppermute(x, axis_name, perm):
    """Send ``x`` along the named axis: ``perm`` lists (source, destination) index pairs; a
    member that no pair sends to receives zeros.

    >>> f = lambda v: ember.lax.ppermute(v, "i", perm=[(0, 1), (1, 2), (2, 0)])
    >>> ember.vmap(f, axis_name="i")(ember.tensor([1., 2., 3.]))
    tensor([3., 1., 2.])
    """
    name = _one_name("ppermute", axis_name)
    return tree_map(lambda v: _c.ppermute1(v, name, perm), x)


def pshuffle(x, axis_name, perm):
    """Member ``i`` receives the value of member ``perm[i]`` (``perm`` a permutation).

    >>> f = lambda v: ember.lax.pshuffle(v, "i", perm=[2, 0, 1])
    >>> ember.vmap(f, axis_name="i")(ember.tensor([1., 2., 3.]))
    tensor([3., 1., 2.])
    """
    perm = list(perm)
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"pshuffle: perm must be a permutation of 0..{len(perm) - 1}, got "
                         f"{perm}")
    return ppermute(x, axis_name, [(s, d) for d, s in enumerate(perm)])


def axis_index(axis_name):
    """This member's index along the named axis (int32); for a tuple of names, the index in
    the flattened axes (the first name major).

    >>> ember.vmap(lambda v: v * ember.lax.axis_index("i"), axis_name="i")(ember.ones(3))
    tensor([0., 1., 2.])
    """
    names = _names("axis_index", axis_name)
    out = None
    for n in names:
        i = _c.axis_index1(n)
        out = i if out is None else out * axis_size(n) + i
    return out


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


def _conv_specs(op, dimension_numbers, nd):
    """The (lhs, rhs, out) layout strings of a convolution over ``nd`` dims: JAX's
    ``dimension_numbers`` as three strings, or None for (N, C, spatial...) / (O, I, spatial...)."""
    if dimension_numbers is None:
        sp = "DHW"[3 - (nd - 2):] if nd - 2 <= 3 else None
        if sp is None:
            raise NotImplementedError(f"{op}: {nd - 2} spatial dims (1 to 3 are supported)")
        return "NC" + sp, "OI" + sp, "NC" + sp
    if (not isinstance(dimension_numbers, (tuple, list)) or len(dimension_numbers) != 3
            or not all(isinstance(s, str) for s in dimension_numbers)):
        raise NotImplementedError(f"{op}: dimension_numbers must be three layout strings such "
                                  f"as ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}")
    lhs, rhs, out = dimension_numbers
    if not (len(lhs) == len(rhs) == len(out) == nd) or sorted(lhs) != sorted(out) \
            or "N" not in lhs or "C" not in lhs or "O" not in rhs or "I" not in rhs \
            or sorted(c for c in lhs if c not in "NC") != sorted(c for c in rhs if c not in "OI"):
        raise ValueError(f"{op}: dimension_numbers {dimension_numbers!r} do not describe "
                         f"{nd}-dim operands (lhs needs N, C and the spatial letters, rhs O, I "
                         f"and the same spatial letters, out the lhs letters)")
    return lhs, rhs, out


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit ``(low, high)`` pads per dim for ``padding`` 'VALID', 'SAME' (the extra
    element at the end) or 'SAME_LOWER' (at the start), as ``jax.lax.padtype_to_pads``.

    >>> ember.lax.padtype_to_pads((28, 28), (8, 8), (2, 2), "SAME")
    [(3, 3), (3, 3)]
    """
    if not isinstance(padding, str):
        return [tuple(int(v) for v in p) for p in padding]
    kind = padding.upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padtype_to_pads: padding must be 'VALID', 'SAME', 'SAME_LOWER' or a "
                         f"sequence of (low, high) pairs, got {padding!r}")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        small = total // 2
        pads.append((small, total - small) if kind == "SAME" else (total - small, small))
    return pads


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
    """An N-d convolution (1 to 3 spatial dims) with JAX's arguments: layouts given by
    ``dimension_numbers`` (e.g. ``('NHWC', 'HWIO', 'NHWC')``; None is N, C, spatial for the
    input and output and O, I, spatial for the kernel), ``padding`` 'VALID'/'SAME'/
    'SAME_LOWER' or ``(low, high)`` pairs, kernel dilation, feature groups. Runs ember's
    ``conv1d/2d/3d`` on transposed operands. ``lhs_dilation`` (a transposed convolution) and
    ``batch_group_count`` are not supported.

    >>> x, w = ember.ones(1, 5, 5, 1), ember.ones(3, 3, 1, 2)
    >>> ember.lax.conv_general_dilated(x, w, (1, 1), "SAME",
    ...                                dimension_numbers=("NHWC", "HWIO", "NHWC")).shape
    ember.Size([1, 5, 5, 2])
    """
    op = "lax.conv_general_dilated"
    x, w = as_value(lhs), as_value(rhs)
    if x.ndim != w.ndim:
        raise ValueError(f"{op}: lhs {tuple(x.shape)} and rhs {tuple(w.shape)} must have the "
                         f"same number of dims")
    nd = x.ndim
    lspec, rspec, ospec = _conv_specs(op, dimension_numbers, nd)
    nsp = nd - 2
    if not 1 <= nsp <= 3:
        raise NotImplementedError(f"{op}: {nsp} spatial dims (1 to 3 are supported)")
    if lhs_dilation is not None and any(int(d) != 1 for d in lhs_dilation):
        raise NotImplementedError(f"{op}: lhs_dilation={tuple(lhs_dilation)} (a transposed "
                                  f"convolution) is not supported; use "
                                  f"ember.nn.functional.conv_transpose{nsp}d")
    if batch_group_count != 1:
        raise NotImplementedError(f"{op}: batch_group_count={batch_group_count} is not supported")
    spatial = [c for c in lspec if c not in "NC"]
    x = x.permute(*[lspec.index(c) for c in "NC"], *[lspec.index(c) for c in spatial])
    w = w.permute(*[rspec.index(c) for c in "OI"], *[rspec.index(c) for c in spatial])
    strides = tuple(int(s) for s in window_strides)
    dil = tuple(int(d) for d in rhs_dilation) if rhs_dilation is not None else (1,) * nsp
    if len(strides) != nsp or len(dil) != nsp:
        raise ValueError(f"{op}: window_strides {strides} and rhs_dilation {dil} need one entry "
                         f"per spatial dim ({nsp})")
    eff = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dil)]
    pads = padtype_to_pads(tuple(x.shape[2:]), eff, strides, padding)
    if len(pads) != nsp:
        raise ValueError(f"{op}: padding {padding!r} needs one (low, high) pair per spatial "
                         f"dim ({nsp})")
    if all(lo == hi and lo >= 0 for lo, hi in pads):
        sym = tuple(lo for lo, _ in pads)
    else:
        flat = []
        for lo, hi in reversed(pads):
            flat += [lo, hi]
        x = _pad(x, tuple(flat))
        sym = (0,) * nsp
    conv = (conv1d, conv2d, conv3d)[nsp - 1]
    y = conv(x, w, None, stride=strides, padding=sym, dilation=dil,
             groups=int(feature_group_count))
    have = ["N", "C"] + spatial
    y = y.permute(*[have.index(c) for c in ospec])
    if preferred_element_type is not None:
        y = y.astype(preferred_element_type)
    return y


def dynamic_slice(operand, start_indices, slice_sizes):
    """The block of ``slice_sizes`` starting at ``start_indices`` (traced values allowed, so
    it works under ``jit`` and ``fori_loop``); a start is clamped so that the block fits, as
    in JAX.

    >>> x = ember.arange(10.)
    >>> ember.lax.dynamic_slice(x, (ember.tensor(8),), (3,))  # start clamped to 7
    tensor([7., 8., 9.])
    """
    x = as_value(operand)
    starts, sizes = list(start_indices), [int(n) for n in slice_sizes]
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(f"lax.dynamic_slice: operand of shape {tuple(x.shape)} needs one start "
                         f"index and one slice size per dim, got {len(starts)} and {len(sizes)}")
    for d, (st, n) in enumerate(zip(starts, sizes)):
        dim = x.shape[d]
        if not 0 <= n <= dim:
            raise ValueError(f"lax.dynamic_slice: slice size {n} of dim {d} must be between 0 "
                             f"and the dim's size {dim}")
        if n == dim:
            continue
        if isinstance(st, int):
            st = min(max(st, 0), dim - n)
            x = x[(slice(None),) * d + (slice(st, st + n),)]
            continue
        st = as_value(st).to(_dt.int64).clamp(0, dim - n)
        x = index_select(x, d, st + _arange(n))
    return x


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice`` along one ``axis`` (the other dims whole).

    >>> ember.lax.dynamic_slice_in_dim(ember.arange(6.).reshape(3, 2), ember.tensor(1), 2)
    tensor([[2., 3.],
            [4., 5.]])
    """
    x = as_value(operand)
    axis = axis % x.ndim
    starts = [0] * x.ndim
    sizes = list(x.shape)
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """The entry at ``index`` (traced allowed) along ``axis``, that dim kept (size 1) unless
    ``keepdims=False``.

    >>> ember.lax.dynamic_index_in_dim(ember.arange(6.).reshape(3, 2), ember.tensor(2),
    ...                                keepdims=False)
    tensor([4., 5.])
    """
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out.squeeze(axis % out.ndim) if not keepdims else out


def _arange(n):
    return _arange_any(n, dtype=_dt.int64)
