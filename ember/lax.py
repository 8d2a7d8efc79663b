"""``jax.lax``'s control flow, its named-axis collectives and a few of its operations, for
code written against JAX (``from ember import lax``). The same primitives as
``ember.cond``/``ember.scan``/...; the collectives (``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``psum_scatter``, ``ppermute``, ``axis_index``) run over an axis named by an
enclosing ``ember.vmap(f, axis_name=...)`` or ``ember.pmap(f, axis_name=...)``
(``ember/ops/collective_ops.py`` holds their rules)."""
from __future__ import annotations

from builtins import max as _max, min as _min, slice as _slice
from typing import NamedTuple as _NamedTuple

import numpy as _np

from .control_flow import cond, fori_loop, scan, switch, while_loop
from .ops import collective_ops as _c
from .core import dtypes as _dt
from .ops.creation_ops import arange as _arange_any
from .ops.collective_ops import axis_size
from .ops.conv import conv1d, conv2d
from .ops.conv3d import conv3d
from .ops.elementwise import as_jax_value as as_value  # JAX's dtypes for NumPy data
from .ops.indexing import index_select
from .ops.slicing import pad as _pad
from .transforms.reverse import stop_gradient
from .tree import tree_map
from . import lax_elementwise as _lax_elementwise
from .lax_elementwise import *  # noqa: F401,F403 (add, exp, max, round, ...)
from . import lax_structure as _lax_structure
from .lax_structure import *  # noqa: F401,F403 (broadcast_in_dim, pad, slice, ...)
from .lax_structure import padtype_to_pads
from . import lax_reduce as _lax_reduce
from .lax_reduce import *  # noqa: F401,F403 (reduce_sum, sort, dot_general, ...)
from . import lax_gather as _lax_gather
from .lax_gather import *  # noqa: F401,F403 (gather, scatter, scatter_add, ...)

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "stop_gradient",
           "select", "dot", "psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter",
           "ppermute", "pshuffle", "axis_index", "axis_size", "conv_general_dilated",
           "conv", "conv_with_general_padding", "conv_dimension_numbers", "ConvDimensionNumbers",
           "padtype_to_pads", "dynamic_slice", "dynamic_slice_in_dim", "dynamic_index_in_dim",
           "conv_transpose", "dynamic_update_slice", "dynamic_update_slice_in_dim",
           "dynamic_update_index_in_dim"] + _lax_elementwise.__all__ + _lax_structure.__all__ \
    + _lax_reduce.__all__ + _lax_gather.__all__


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
    tensor([ 1., 20.])
    """
    from .ops.elementwise import where
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


class ConvDimensionNumbers(_NamedTuple):
    """A convolution's layouts as dim positions, as ``jax.lax.ConvDimensionNumbers``:
    ``lhs_spec`` is (batch, feature, spatial...), ``rhs_spec`` (out feature, in feature,
    spatial...), ``out_spec`` (batch, feature, spatial...).

    >>> ember.lax.ConvDimensionNumbers((0, 1, 2), (0, 1, 2), (0, 1, 2)).rhs_spec
    (0, 1, 2)
    """
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """``dimension_numbers`` (None, three layout strings or a ``ConvDimensionNumbers``) as a
    ``ConvDimensionNumbers`` for operands of these shapes; spatial dims are listed in the
    kernel's order, as JAX does.

    >>> ember.lax.conv_dimension_numbers((1, 9, 9, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    op = "lax.conv_dimension_numbers"
    nd = len(lhs_shape)
    if len(rhs_shape) != nd:
        raise ValueError(f"{op}: lhs shape {tuple(lhs_shape)} and rhs shape {tuple(rhs_shape)} "
                         f"must have the same number of dims")
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    lhs, rhs, out = _conv_specs(op, dimension_numbers, nd)

    def spec(s, a, b):
        rest = sorted((i for i, c in enumerate(s) if c not in (a, b)),
                      key=lambda i: rhs.index(s[i]))
        return (s.index(a), s.index(b)) + tuple(rest)
    return ConvDimensionNumbers(spec(lhs, "N", "C"), spec(rhs, "O", "I"), spec(out, "N", "C"))


def _dn_strings(op, dn, nd):
    """A ``ConvDimensionNumbers`` (or three int tuples) as three layout strings."""
    letters = "HWD"[:nd - 2] if nd - 2 <= 3 else None
    if letters is None:
        raise NotImplementedError(f"{op}: {nd - 2} spatial dims (1 to 3 are supported)")
    out = []
    for spec, (a, b) in zip(dn, (("N", "C"), ("O", "I"), ("N", "C"))):
        spec = tuple(int(i) for i in spec)
        if sorted(spec) != list(range(nd)):
            raise ValueError(f"{op}: dimension numbers {tuple(dn)!r} are not permutations of "
                             f"range({nd})")
        s = [""] * nd
        for c, i in zip((a, b) + tuple(letters), spec):
            s[i] = c
        out.append("".join(s))
    return tuple(out)


def _conv_specs(op, dimension_numbers, nd):
    """The (lhs, rhs, out) layout strings of a convolution over ``nd`` dims: JAX's
    ``dimension_numbers`` as three strings or a ``ConvDimensionNumbers``, or None for
    (N, C, spatial...) / (O, I, spatial...)."""
    if isinstance(dimension_numbers, (tuple, list)) and len(dimension_numbers) == 3 and \
            all(isinstance(s, (tuple, list)) for s in dimension_numbers):
        dimension_numbers = _dn_strings(op, dimension_numbers, nd)
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


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
    """An N-d convolution (1 to 3 spatial dims) with JAX's arguments: layouts given by
    ``dimension_numbers`` (e.g. ``('NHWC', 'HWIO', 'NHWC')``; None is N, C, spatial for the
    input and output and O, I, spatial for the kernel), ``padding`` 'VALID'/'SAME'/
    'SAME_LOWER' or ``(low, high)`` pairs, kernel dilation, feature groups. Runs ember's
    ``conv1d/2d/3d`` on transposed operands. ``lhs_dilation`` (``d - 1`` zeros between the
    input's entries: a transposed convolution, see ``conv_transpose``) and negative padding
    (a crop) are supported; ``batch_group_count`` is not.

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
    if isinstance(padding, str) and lhs_dilation is not None and \
            any(int(d) != 1 for d in lhs_dilation):
        raise ValueError(f"{op}: padding {padding!r} is ambiguous with lhs_dilation="
                         f"{tuple(lhs_dilation)} (a transposed convolution); give explicit "
                         f"(low, high) pairs or use lax.conv_transpose, which resolves "
                         f"'SAME'/'VALID' for it")
    pads = padtype_to_pads(tuple(x.shape[2:]), eff, strides, padding)
    if len(pads) != nsp:
        raise ValueError(f"{op}: padding {padding!r} needs one (low, high) pair per spatial "
                         f"dim ({nsp})")
    if lhs_dilation is not None:
        ldil = tuple(int(d) for d in lhs_dilation)
        if len(ldil) != nsp or any(d < 1 for d in ldil):
            raise ValueError(f"{op}: lhs_dilation {ldil} needs one factor >= 1 per spatial "
                             f"dim ({nsp})")
        x = _dilate(x, ldil)
    if any(lo < 0 or hi < 0 for lo, hi in pads):  # negative padding crops
        x = x[(_slice(None), _slice(None)) + tuple(
            _slice(_max(-lo, 0), n - _max(-hi, 0)) for (lo, hi), n in zip(pads, x.shape[2:]))]
        pads = [(_max(lo, 0), _max(hi, 0)) for lo, hi in pads]
    for (lo, hi), n, k in zip(pads, x.shape[2:], eff):
        if n + lo + hi < k:
            raise ValueError(f"{op}: the padded input ({n + lo + hi} along a spatial dim) is "
                             f"smaller than the dilated kernel ({k}); input {tuple(lhs.shape)},"
                             f" kernel {tuple(rhs.shape)}, padding {padding!r}")
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


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` with the default layouts (N, C, spatial) and (O, I, spatial)
    and no dilation, as ``jax.lax.conv``.

    >>> ember.lax.conv(ember.ones(1, 1, 4, 4), ember.ones(1, 1, 3, 3), (1, 1), "VALID")
    tensor([[[[9., 9.],
              [9., 9.]]]])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_general_dilated`` with the default layouts and both dilations, as
    ``jax.lax.conv_with_general_padding``.

    >>> ember.lax.conv_with_general_padding(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2),
    ...                                     (1, 1), [(0, 0), (0, 0)], (2, 2), (1, 1)).shape
    ember.Size([1, 1, 4, 4])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation,
                                preferred_element_type=preferred_element_type)


def _dilate(x, factors):
    """``x`` (N, C, spatial...) with ``f - 1`` zeros between neighbours along each spatial dim
    (factor ``f``): the input of a transposed convolution. Built from ``cat`` and ``reshape``,
    so every transform sees ordinary primitives."""
    from .ops.indexing import cat
    from .ops.creation_ops import zeros
    for i, f in enumerate(factors):
        d = 2 + i
        n = x.shape[d]
        if f == 1 or n <= 1:
            continue
        shape = list(x.shape)
        gap = zeros(*shape[:d + 1], f - 1, *shape[d + 1:], dtype=x.dtype)
        y = cat([x.unsqueeze(d + 1), gap], dim=d + 1)  # (.., n, f, ..)
        y = y.reshape(*shape[:d], n * f, *shape[d + 1:])
        x = y[(_slice(None),) * d + (_slice(0, (n - 1) * f + 1),)]
    return x


def _transpose_pads(k, s, padding):
    """The (low, high) padding of a transposed convolution's dilated input for kernel size
    ``k`` and stride ``s``: 'SAME' gives ``n * s`` outputs, 'VALID' ``n * s + max(k - s, 0)``."""
    if padding == "SAME":
        total = k + s - 2
        lo = k - 1 if s > k - 1 else -(-total // 2)
    elif padding == "VALID":
        total = k + s - 2 + _max(k - s, 0)
        lo = k - 1
    else:
        raise ValueError(f"lax.conv_transpose: padding must be 'SAME', 'VALID' or (low, high) "
                         f"pairs, got {padding!r}")
    return lo, total - lo


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                      4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None):
    """A transposed ("fractionally strided") convolution as ``jax.lax.conv_transpose``: the
    input dilated by ``strides`` and convolved with stride 1. ``padding`` 'SAME' (output
    size ``n * stride``), 'VALID' (``n * stride + max(k - stride, 0)``) or ``(low, high)``
    pairs on the dilated input; ``dimension_numbers`` default to channels-last
    (``('NHWC', 'HWIO', 'NHWC')`` in 2-D); ``transpose_kernel=True`` flips the kernel's
    spatial dims and swaps its in/out channels (the gradient of a forward convolution, as
    PyTorch's ``conv_transpose2d``).

    >>> x, w = ember.ones(1, 3, 3, 1), ember.ones(2, 2, 1, 1)
    >>> ember.lax.conv_transpose(x, w, (2, 2), "SAME")[0, :, :, 0]
    tensor([[1., 1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1., 1.]])
    """
    x, w = as_value(lhs), as_value(rhs)
    if x.ndim != w.ndim or x.ndim < 3:
        raise ValueError(f"lax.conv_transpose: lhs {tuple(x.shape)} and rhs {tuple(w.shape)} "
                         f"must have the same number of dims, at least 3 (N, C, spatial)")
    nsp = x.ndim - 2
    dn = dimension_numbers or _TRANSPOSE_LAYOUTS.get(x.ndim)
    lspec, rspec, ospec = _conv_specs("lax.conv_transpose", dn, x.ndim)
    spatial = [c for c in lspec if c not in "NC"]
    ksz = [w.shape[rspec.index(c)] for c in spatial]
    strides = tuple(int(s) for s in strides)
    dil = tuple(int(d) for d in rhs_dilation) if rhs_dilation is not None else (1,) * nsp
    if len(strides) != nsp:
        raise ValueError(f"lax.conv_transpose: strides {strides} need one entry per spatial "
                         f"dim ({nsp})")
    if isinstance(padding, str):
        pads = [_transpose_pads((k - 1) * d + 1, s, padding.upper())
                for k, d, s in zip(ksz, dil, strides)]
    else:
        pads = [tuple(int(v) for v in p) for p in padding]
    if transpose_kernel:
        w = w.flip([rspec.index(c) for c in spatial]).transpose(rspec.index("O"),
                                                                rspec.index("I"))
    return conv_general_dilated(x, w, (1,) * nsp, pads, lhs_dilation=strides,
                                rhs_dilation=dil, dimension_numbers=(lspec, rspec, ospec),
                                preferred_element_type=preferred_element_type)


def _negatives(op, allow, nd):
    """``allow_negative_indices`` as one bool per dim."""
    if isinstance(allow, bool):
        return (allow,) * nd
    allow = tuple(bool(a) for a in allow)
    if len(allow) != nd:
        raise ValueError(f"lax.{op}: allow_negative_indices needs one bool per dim ({nd}), got "
                         f"{len(allow)}")
    return allow


def _start(st, dim, n, negative):
    """A block start as JAX takes it: a negative one counts from the end (when ``negative``),
    then it is clamped so that a block of ``n`` fits in ``dim``; an int stays an int, a
    traced start becomes an int64 tensor."""
    if isinstance(st, (int, _np.integer)):
        st = int(st)
        if st < 0:
            if not negative:
                raise ValueError(f"lax: start index {st} is out of bounds for a dim of size "
                                 f"{dim} with allow_negative_indices=False; give a start in "
                                 f"[0, {dim - n}] or allow negative indices")
            st += dim
        return _min(_max(st, 0), dim - n)
    st = as_value(st).to(_dt.int64)
    if negative:
        st = st + (st < 0).to(_dt.int64) * dim
    return st.clamp(0, dim - n)


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """``operand`` with the block at ``start_indices`` replaced by ``update`` (a new tensor;
    traced starts allowed, so it works under ``jit`` and in loops); each start is clamped so
    that the block fits, as in JAX (a negative start counts from the end unless
    ``allow_negative_indices=False``). Differentiable in both ``operand`` and ``update``.

    >>> ember.lax.dynamic_update_slice(ember.zeros(5), ember.ones(2), (ember.tensor(4),))
    tensor([0., 0., 0., 1., 1.])
    """
    x, u = as_value(operand), as_value(update)
    starts = list(start_indices)
    if u.ndim != x.ndim or len(starts) != x.ndim:
        raise ValueError(f"lax.dynamic_update_slice: operand {tuple(x.shape)} needs an update "
                         f"with as many dims and one start index per dim, got update "
                         f"{tuple(u.shape)} and {len(starts)} start indices")
    if any(n > m for n, m in zip(u.shape, x.shape)):
        raise ValueError(f"lax.dynamic_update_slice: update {tuple(u.shape)} is larger than "
                         f"the operand {tuple(x.shape)}")
    if u.dtype != x.dtype:
        u = u.to(x.dtype)
    neg = _negatives("dynamic_update_slice", allow_negative_indices, x.ndim)
    starts = [_start(st, m, n, g) for st, n, m, g in zip(starts, u.shape, x.shape, neg)]
    if all(isinstance(st, int) for st in starts):
        return x.at[tuple(_slice(st, st + n) for st, n in zip(starts, u.shape))].set(u)
    idx = []
    for d, (st, n) in enumerate(zip(starts, u.shape)):
        shape = [1] * x.ndim
        shape[d] = n
        idx.append((st + _arange(n)).reshape(shape))
    return x.at[tuple(idx)].set(u)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice`` along one ``axis`` (the update spans the other dims).

    >>> ember.lax.dynamic_update_slice_in_dim(ember.zeros(2, 3), ember.ones(2, 1), 1, axis=1)
    tensor([[0., 1., 0.],
            [0., 1., 0.]])
    """
    x = as_value(operand)
    axis = axis % x.ndim
    starts = [0] * x.ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """``operand`` with entry ``index`` along ``axis`` replaced by ``update`` (which may lack
    that dim).

    >>> ember.lax.dynamic_update_index_in_dim(ember.zeros(3, 2), ember.ones(2), 2, axis=0)
    tensor([[0., 0.],
            [0., 0.],
            [1., 1.]])
    """
    x, u = as_value(operand), as_value(update)
    axis = axis % x.ndim
    if u.ndim == x.ndim - 1:
        u = u.unsqueeze(axis)
    return dynamic_update_slice_in_dim(x, u, index, axis)


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """The block of ``slice_sizes`` starting at ``start_indices`` (traced values allowed, so
    it works under ``jit`` and ``fori_loop``); a start is clamped so that the block fits, as
    in JAX (a negative start counts from the end unless ``allow_negative_indices=False``).

    >>> x = ember.arange(10.)
    >>> ember.lax.dynamic_slice(x, (ember.tensor(8),), (3,))  # start clamped to 7
    tensor([7., 8., 9.])
    """
    x = as_value(operand)
    starts, sizes = list(start_indices), [int(n) for n in slice_sizes]
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(f"lax.dynamic_slice: operand of shape {tuple(x.shape)} needs one start "
                         f"index and one slice size per dim, got {len(starts)} and {len(sizes)}")
    neg = _negatives("dynamic_slice", allow_negative_indices, x.ndim)
    for d, (st, n) in enumerate(zip(starts, sizes)):
        dim = x.shape[d]
        if not 0 <= n <= dim:
            raise ValueError(f"lax.dynamic_slice: slice size {n} of dim {d} must be between 0 "
                             f"and the dim's size {dim}")
        if n == dim:
            continue
        st = _start(st, dim, n, neg[d])
        if isinstance(st, int):
            x = x[(_slice(None),) * d + (_slice(st, st + n),)]
            continue
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
