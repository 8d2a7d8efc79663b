"""``jax.lax``'s reductions, scans, sorting and contractions (``reduce_sum``, ``reduce``,
``reduce_window``, ``argmax``, ``cumsum``, ``sort``, ``top_k``, ``dot_general``,
``associative_scan``, ...) with JAX's arguments, composed from ember's primitives, so they
differentiate, batch and compile with those primitives' rules."""
from __future__ import annotations

import builtins
import enum
import operator

import numpy as _np

from .core import dtypes as _dt
from .ops import elementwise as _E
from .ops import indexing as _I
from .ops import reduce as _R
from .ops import shape as _Sh
from .ops import prng_ops as _P
from .ops.einsum import einsum as _einsum
from . import torch_ops as _T
from .tree import tree_flatten, tree_unflatten
from . import lax_elementwise as _L
from . import lax_structure as _St
from .lax_elementwise import _strong, _kind

__all__ = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or",
           "reduce_xor", "reduce", "reduce_window", "argmax", "argmin", "cumsum", "cumprod",
           "cummax", "cummin", "cumlogsumexp", "sort", "sort_key_val", "top_k", "dot_general",
           "batch_matmul", "associative_scan", "optimization_barrier", "Precision", "dtype"]

_slice = builtins.slice


def _axes(op, axes, nd):
    out = []
    for a in (axes if isinstance(axes, (tuple, list)) else (axes,)):
        a = int(a)
        if not -nd <= a < nd:
            raise ValueError(f"lax.{op}: axis {a} is out of range for a {nd}-dim operand")
        out.append(a % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"lax.{op}: repeated axes {tuple(axes)}")
    return tuple(sorted(out))


def _over(op, fn, kinds):
    def reduce_(operand, axes):
        x = _strong(op, operand)
        _L._check(op, kinds, x)
        ax = _axes(op, axes, x.ndim)
        return fn(x, ax) if ax else x
    reduce_.__name__ = reduce_.__qualname__ = op
    return reduce_


def _sum(x, ax):
    return _E.cast(_R.sum(x, ax), x.dtype)


def _prod(x, ax):
    for a in reversed(ax):
        x = _E.cast(_R.prod(x, a), x.dtype)
    return x


def _max(x, ax):
    return _R.amax(x, ax) if _kind(x.dtype) != "b" else _R.any(x, ax)


def _min(x, ax):
    return _R.amin(x, ax) if _kind(x.dtype) != "b" else _R.all(x, ax)


def _bitfold(fn):
    def f(x, ax):
        x = _Sh.permute(x, tuple(i for i in range(x.ndim) if i not in ax) + ax)
        keep = tuple(x.shape[:x.ndim - len(ax)])
        x = _Sh.reshape(x, keep + (-1,))
        acc = x[..., 0]
        for i in range(1, x.shape[-1]):
            acc = fn(acc, x[..., i])
        return acc
    return f


def _and(x, ax):
    return _R.all(x, ax) if _kind(x.dtype) == "b" else _bitfold(_E.bitwise_and)(x, ax)


def _or(x, ax):
    return _R.any(x, ax) if _kind(x.dtype) == "b" else _bitfold(_E.bitwise_or)(x, ax)


reduce_sum = _over("reduce_sum", _sum, "number")
reduce_sum.__doc__ = """The sum over ``axes`` (the result keeps the operand's dtype).

    >>> ember.lax.reduce_sum(ember.tensor([[1., 2.], [3., 4.]]), (0,))
    tensor([4., 6.])
    """
reduce_prod = _over("reduce_prod", _prod, "number")
reduce_prod.__doc__ = """The product over ``axes``.

    >>> ember.lax.reduce_prod(ember.tensor([[1., 2.], [3., 4.]]), (1,))
    tensor([ 2., 12.])
    """
reduce_max = _over("reduce_max", _max, "real")
reduce_max.__doc__ = """The maximum over ``axes``.

    >>> ember.lax.reduce_max(ember.tensor([[1., 5.], [3., 4.]]), (0, 1))
    tensor(5.)
    """
reduce_min = _over("reduce_min", _min, "real")
reduce_min.__doc__ = """The minimum over ``axes``.

    >>> ember.lax.reduce_min(ember.tensor([[1., 5.], [3., 4.]]), (1,))
    tensor([1., 3.])
    """
reduce_and = _over("reduce_and", _and, "int_or_bool")
reduce_and.__doc__ = """Logical (bools) or bitwise (integers) AND over ``axes``.

    >>> ember.lax.reduce_and(ember.tensor([[True, False], [True, True]]), (1,))
    tensor([False, True])
    """
reduce_or = _over("reduce_or", _or, "int_or_bool")
reduce_or.__doc__ = """Logical (bools) or bitwise (integers) OR over ``axes``.

    >>> ember.lax.reduce_or(ember.tensor([[True, False], [False, False]]), (1,))
    tensor([ True, False])
    """


def _xor(x, ax):
    return _bitfold(_E.bitwise_xor)(x, ax)


reduce_xor = _over("reduce_xor", _xor, "int_or_bool")
reduce_xor.__doc__ = """Logical (bools) or bitwise (integers) XOR over ``axes``.

    >>> ember.lax.reduce_xor(ember.tensor([[True, True], [True, False]]), (1,))
    tensor([False, True])
    """

# the computations ``lax.reduce``/``reduce_window`` recognise as monoids: a whole-axis kernel
_MONOIDS = {}
for _f, _k in [(_L.add, "add"), (_L.mul, "mul"), (_L.max, "max"), (_L.min, "min"),
               (_L.bitwise_and, "and"), (_L.bitwise_or, "or"), (_L.bitwise_xor, "xor"),
               (_E.add, "add"), (_E.mul, "mul"), (_E.maximum, "max"), (_E.minimum, "min"),
               (operator.add, "add"), (operator.mul, "mul"), (operator.and_, "and"),
               (operator.or_, "or"), (operator.xor, "xor")]:
    _MONOIDS[_f] = _k
_KERNELS = {"add": _sum, "mul": _prod, "max": _max, "min": _min, "and": _and, "or": _or,
            "xor": _xor}


def _monoid(fn):
    try:
        return _MONOIDS.get(fn)
    except TypeError:  # an unhashable callable
        return None


def _fold_axes(fn, leaves, ax, treedef):
    """A general ``computation`` folded over the reduced axes, one slice at a time (any
    Python function of ember ops; its cost grows with the reduced size)."""
    moved = []
    for x in leaves:
        x = _Sh.permute(x, tuple(i for i in range(x.ndim) if i not in ax) + ax)
        keep = tuple(x.shape[:x.ndim - len(ax)])
        moved.append(_Sh.reshape(x, keep + (-1,)))
    n = moved[0].shape[-1]
    acc = None
    for i in range(n):
        cur = tree_unflatten(treedef, [m[..., i] for m in moved])
        acc = cur if acc is None else fn(acc, cur)
    return acc


def reduce(operands, init_values, computation, dimensions):  # noqa: A001
    """``operands`` (a tensor or a pytree of tensors of one shape) reduced over
    ``dimensions`` with ``computation`` starting from ``init_values`` (its identity). The
    monoids ``lax.add``/``mul``/``max``/``min``/``bitwise_and``/``or``/``xor`` (and
    ``operator.add``, ...) run as one kernel; any other ``computation`` (such as a variadic
    argmax) is applied slice by slice along the reduced dims, which works under every
    transform but costs one call per reduced element.

    >>> import operator
    >>> ember.lax.reduce(ember.tensor([[1., 2.], [3., 4.]]), 0., ember.lax.add, (0,))
    tensor([4., 6.])
    >>> ember.lax.reduce(ember.tensor([1., 7., 3.]), -float("inf"), ember.lax.max, (0,))
    tensor(7.)
    """
    leaves, treedef = tree_flatten(operands)
    inits, itree = tree_flatten(init_values)
    if len(leaves) != len(inits):
        raise TypeError(f"lax.reduce: {len(leaves)} operands but {len(inits)} init values; "
                        f"give one init value per operand")
    leaves = [_strong("reduce", x) for x in leaves]
    if any(tuple(x.shape) != tuple(leaves[0].shape) for x in leaves):
        raise TypeError(f"lax.reduce: the operands must have one shape, got "
                        f"{[tuple(x.shape) for x in leaves]}")
    ax = _axes("reduce", dimensions, leaves[0].ndim)
    inits = [(_E.as_value(_np.asarray(v, x.dtype.np)) if isinstance(v, (bool, int, float,
                                                                        complex))
              else _E.cast(_strong("reduce", v), x.dtype)) for v, x in zip(inits, leaves)]
    kind = _monoid(computation) if len(leaves) == 1 else None
    if kind is not None:
        x = leaves[0]
        r = _KERNELS[kind](x, ax) if ax else x
        return tree_unflatten(treedef, [computation(r, inits[0])])
    if not ax:
        return operands
    folded = _fold_axes(computation, leaves, ax, treedef)
    # the init enters once (it should be the computation's identity: XLA may apply it any
    # number of times)
    shape = tuple(tree_flatten(folded)[0][0].shape)
    return computation(tree_unflatten(treedef, [_Sh.broadcast_to(v, shape) for v in inits]),
                       folded)


def _window_view(x, offsets, strides, dil, out_shape):
    """The operand entries at window offset ``offsets`` for every output position."""
    idx = tuple(_slice(o * d, o * d + s * (n - 1) + 1, s)
                for o, d, s, n in zip(offsets, dil, strides, out_shape))
    return x[idx]


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None,
                  padding="VALID", base_dilation=None, window_dilation=None):
    """``computation`` over sliding windows: windows of ``window_dimensions`` (every dim of
    the operand), moved by ``window_strides``, ``padding`` 'VALID'/'SAME'/``(low, high)``
    pairs (filled with ``init_value``), ``base_dilation``/``window_dilation``. Composed from
    strided slices and the computation (``lax.max``/``min``/``add`` or any elementwise
    function of two tensors), so its gradient is the slices' and the computation's.

    >>> x = ember.arange(8.).reshape(2, 4)
    >>> ember.lax.reduce_window(x, -float("inf"), ember.lax.max, (1, 2), (1, 2), "VALID")
    tensor([[1., 3.],
            [5., 7.]])
    """
    op = "lax.reduce_window"
    x = _strong("reduce_window", operand)
    nd = x.ndim
    win = tuple(int(w) for w in window_dimensions)
    strides = tuple(int(s) for s in window_strides) if window_strides is not None else (1,) * nd
    bdil = tuple(int(d) for d in base_dilation) if base_dilation is not None else (1,) * nd
    wdil = tuple(int(d) for d in window_dilation) if window_dilation is not None else (1,) * nd
    if not len(win) == len(strides) == len(bdil) == len(wdil) == nd:
        raise TypeError(f"{op}: operand {tuple(x.shape)} needs {nd} window dims, strides and "
                        f"dilations, got {win}, {strides}, {bdil}, {wdil}")
    if isinstance(init_value, (bool, int, float, complex)):
        init = _E.as_value(_np.asarray(init_value, x.dtype.np))
    else:
        init = _E.cast(_strong("reduce_window", init_value), x.dtype)
    if any(b > 1 for b in bdil):
        x = _St.pad(x, init, [(0, 0, b - 1) for b in bdil])
    eff = [(w - 1) * d + 1 for w, d in zip(win, wdil)]
    pads = _St.padtype_to_pads(tuple(x.shape), eff, strides, padding)
    if len(pads) != nd:
        raise TypeError(f"{op}: padding {padding!r} needs one (low, high) pair per dim ({nd})")
    if any(lo or hi for lo, hi in pads):
        x = _St.pad(x, init, [(lo, hi, 0) for lo, hi in pads])
    out_shape = []
    for n, e, s in zip(x.shape, eff, strides):
        if n < e:
            raise TypeError(f"{op}: the window ({e} with dilation) is larger than the padded "
                            f"operand ({n}); operand {tuple(operand.shape)}, window {win}")
        out_shape.append((n - e) // s + 1)
    acc = None
    for offsets in _np.ndindex(*win):
        v = _window_view(x, offsets, strides, wdil, out_shape)
        acc = v if acc is None else computation(acc, v)
    # the init enters once, as XLA's accumulator
    return computation(acc, _Sh.broadcast_to(init, tuple(acc.shape)))


def argmax(operand, axis, index_dtype):
    """The index of the largest entry along ``axis`` (the first one on ties and NaN), as
    ``index_dtype``.

    >>> ember.lax.argmax(ember.tensor([[1., 5., 5.], [7., 0., 2.]]), 1, ember.int32)
    tensor([1, 0], dtype=ember.int32)
    """
    x = _strong("argmax", operand)
    (a,) = _axes("argmax", (axis,), x.ndim)
    return _E.cast(_R.argmax(x, a), _dt.as_dtype(index_dtype))


def argmin(operand, axis, index_dtype):
    """The index of the smallest entry along ``axis`` (the first one on ties and NaN), as
    ``index_dtype``.

    >>> ember.lax.argmin(ember.tensor([[1., 5., 1.], [7., 0., 2.]]), 1, ember.int32)
    tensor([0, 1], dtype=ember.int32)
    """
    x = _strong("argmin", operand)
    (a,) = _axes("argmin", (axis,), x.ndim)
    return _E.cast(_R.argmin(x, a), _dt.as_dtype(index_dtype))


def _cumulative(op, fn, kinds):
    def f(operand, axis=0, reverse=False):
        x = _strong(op, operand)
        _L._check(op, kinds, x)
        if x.ndim == 0:
            return x
        (a,) = _axes(op, (axis,), x.ndim)
        if reverse:
            x = _St.rev(x, (a,))
        y = fn(x, a)
        return _St.rev(y, (a,)) if reverse else y
    f.__name__ = f.__qualname__ = op
    return f


cumsum = _cumulative("cumsum", lambda x, a: _E.cast(_R.cumsum(x, a), x.dtype), "number")
cumsum.__doc__ = """The running sum along ``axis`` (``reverse=True``: from the end).

    >>> ember.lax.cumsum(ember.tensor([1., 2., 3.]), reverse=True)
    tensor([6., 5., 3.])
    """
cumprod = _cumulative("cumprod", lambda x, a: _E.cast(_R.cumprod(x, a), x.dtype), "number")
cumprod.__doc__ = """The running product along ``axis``.

    >>> ember.lax.cumprod(ember.tensor([1., 2., 3.]))
    tensor([1., 2., 6.])
    """
cummax = _cumulative("cummax", lambda x, a: associative_scan(_L.max, x, axis=a), "real")
cummax.__doc__ = """The running maximum along ``axis``.

    >>> ember.lax.cummax(ember.tensor([1., 3., 2.]))
    tensor([1., 3., 3.])
    """
cummin = _cumulative("cummin", lambda x, a: associative_scan(_L.min, x, axis=a), "real")
cummin.__doc__ = """The running minimum along ``axis``.

    >>> ember.lax.cummin(ember.tensor([3., 1., 2.]))
    tensor([3., 1., 1.])
    """
cumlogsumexp = _cumulative("cumlogsumexp", lambda x, a: _T.logcumsumexp(x, a), "real_float")
cumlogsumexp.__doc__ = """The running ``log(sum(exp(x)))`` along ``axis`` (computed stably).

    >>> ember.lax.cumlogsumexp(ember.tensor([0., 0.]))
    tensor([0.0000, 0.6931])
    """


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """``operand`` sorted along ``dimension``; given a sequence of tensors (one shape), all
    are reordered by the first ``num_keys`` of them (lexicographically) and returned as a
    tuple. NaNs sort last.

    >>> keys, vals = ember.lax.sort((ember.tensor([3, 1, 2]), ember.tensor([30., 10., 20.])))
    >>> vals
    tensor([10., 20., 30.])
    """
    single = not isinstance(operand, (tuple, list))
    xs = [_strong("sort", x) for x in ([operand] if single else operand)]
    if not xs or any(tuple(x.shape) != tuple(xs[0].shape) for x in xs):
        raise TypeError(f"lax.sort: the operands must have one shape, got "
                        f"{[tuple(x.shape) for x in xs]}")
    k = int(num_keys)
    if not 1 <= k <= len(xs):
        raise ValueError(f"lax.sort: num_keys={k} must be between 1 and the number of operands "
                         f"({len(xs)})")
    if xs[0].ndim == 0:
        return xs[0] if single else tuple(xs)
    (d,) = _axes("sort", (dimension,), xs[0].ndim)
    if single:
        return _P.sort(xs[0], dim=d, stable=True)[0]
    # lexicographic: stable sorts from the last key to the first
    perm = None
    for key in reversed(xs[:k]):
        kk = key if perm is None else _I.take_along_dim(key, perm, d)
        p = _P.argsort(kk, dim=d, stable=True)
        perm = p if perm is None else _I.take_along_dim(perm, p, d)
    return tuple(_I.take_along_dim(x, perm, d) for x in xs)


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """``(keys, values)`` both reordered so that ``keys`` ascend along ``dimension``.

    >>> ember.lax.sort_key_val(ember.tensor([2., 1.]), ember.tensor([5, 6]))
    (tensor([1., 2.]), tensor([6, 5]))
    """
    return sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)


def top_k(operand, k, *, axis=-1):
    """The ``k`` largest entries along ``axis`` in descending order and their indices (int32;
    the lower index first on ties).

    >>> ember.lax.top_k(ember.tensor([1., 9., 4., 9.]), 2)
    (tensor([9., 9.]), tensor([1, 3], dtype=ember.int32))
    """
    x = _strong("top_k", operand)
    (a,) = _axes("top_k", (axis,), x.ndim)
    k = int(k)
    if not 0 <= k <= x.shape[a]:
        raise ValueError(f"lax.top_k: k={k} must be between 0 and the size of dim {a} "
                         f"({x.shape[a]}) of operand {tuple(x.shape)}")
    # a stable sort of the negated order: descending values, ties by ascending index
    rank = _E.neg(x) if _kind(x.dtype) in "fi" else None
    if rank is None:  # unsigned or bool: sort ascending, reversed, keeping tie order
        idx = _P.argsort(x, dim=a, descending=True, stable=True)
    else:
        idx = _P.argsort(rank, dim=a, stable=True)
    idx = _St.slice_in_dim(idx, 0, k, axis=a)
    return _I.take_along_dim(x, idx, a), _E.cast(idx, _dt.int32)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """The contraction of ``lhs`` and ``rhs`` given ``dimension_numbers = ((lhs_contract,
    rhs_contract), (lhs_batch, rhs_batch))``; the result's dims are the batch dims, then
    ``lhs``'s free dims, then ``rhs``'s. ``precision`` is accepted and ignored (NumPy computes
    in the operands' precision); ``preferred_element_type`` converts the operands first.

    >>> a, b = ember.ones(4, 2, 3), ember.ones(4, 3, 5)
    >>> ember.lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))).shape
    ember.Size([4, 2, 5])
    """
    op = "lax.dot_general"
    x, y = _strong("dot_general", lhs), _strong("dot_general", rhs)
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        lc, rc, lb, rb = (tuple(int(v) for v in t) for t in (lc, rc, lb, rb))
    except (TypeError, ValueError):
        raise TypeError(f"{op}: dimension_numbers must be ((lhs_contracting, rhs_contracting), "
                        f"(lhs_batch, rhs_batch)), got {dimension_numbers!r}") from None
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(f"{op}: {len(lc)} lhs vs {len(rc)} rhs contracting dims, {len(lb)} vs "
                        f"{len(rb)} batch dims in {dimension_numbers!r}")
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        if x.shape[a] != y.shape[b]:
            raise TypeError(f"{op}: lhs {tuple(x.shape)} dim {a} ({x.shape[a]}) and rhs "
                            f"{tuple(y.shape)} dim {b} ({y.shape[b]}) must match "
                            f"(dimension_numbers {dimension_numbers!r})")
    if preferred_element_type is not None:
        t = _dt.as_dtype(preferred_element_type)
        x, y = _E.cast(x, t), _E.cast(y, t)
    elif x.dtype != y.dtype:
        raise TypeError(f"{op}: operands must have the same dtype, got {x.dtype.name} and "
                        f"{y.dtype.name}; convert one with lax.convert_element_type or give "
                        f"preferred_element_type")
    letters = iter(_LETTERS)
    ls = [next(letters) for _ in range(x.ndim)]
    rs = [next(letters) for _ in range(y.ndim)]
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        rs[b] = ls[a]
    out = [ls[a] for a in lb] + [ls[i] for i in range(x.ndim) if i not in lc and i not in lb] \
        + [rs[i] for i in range(y.ndim) if i not in rc and i not in rb]
    return _einsum(f"{''.join(ls)},{''.join(rs)}->{''.join(out)}", x, y)


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over leading batch dims (both operands of one rank >= 2, equal batch
    dims).

    >>> ember.lax.batch_matmul(ember.ones(3, 2, 4), ember.ones(3, 4, 5)).shape
    ember.Size([3, 2, 5])
    """
    x, y = _strong("batch_matmul", lhs), _strong("batch_matmul", rhs)
    if x.ndim != y.ndim or x.ndim < 2 or tuple(x.shape[:-2]) != tuple(y.shape[:-2]):
        raise TypeError(f"lax.batch_matmul: operands {tuple(x.shape)} and {tuple(y.shape)} need "
                        f"one rank >= 2 and equal batch dims")
    nb = x.ndim - 2
    return dot_general(x, y, (((x.ndim - 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))))


def _take(x, axis, sl):
    return x[(_slice(None),) * axis + (sl,)]


def _interleave(a, b, axis):
    """Entries of ``a`` at even and of ``b`` at odd positions along ``axis`` (len(a) is
    len(b) or len(b) + 1)."""
    na, nb = a.shape[axis], b.shape[axis]
    if na == nb + 1:
        pad = [(0, 0, 0)] * b.ndim
        pad[axis] = (0, 1, 0)
        b = _St.pad(b, _E.as_value(_np.zeros((), b.dtype.np)), pad)
    ab = _I.cat([_Sh.unsqueeze(a, axis + 1), _Sh.unsqueeze(b, axis + 1)], dim=axis + 1)
    shape = list(a.shape)
    shape[axis] = 2 * na
    out = _Sh.reshape(ab, tuple(shape))
    return _take(out, axis, _slice(0, na + nb))


def associative_scan(fn, elems, reverse=False, axis=0):
    """All prefix combinations ``fn(... fn(fn(e0, e1), e2) ..., ei)`` along ``axis`` of
    ``elems`` (a pytree of tensors), for an associative ``fn`` applied elementwise to whole
    slices; ``log2(n)`` rounds of ``fn`` (the parallel prefix scan).

    >>> ember.lax.associative_scan(ember.lax.add, ember.tensor([1., 2., 3., 4.]))
    tensor([ 1.,  3.,  6., 10.])
    """
    leaves, treedef = tree_flatten(elems)
    leaves = [_strong("associative_scan", x) for x in leaves]
    if not leaves:
        return elems
    nd = leaves[0].ndim
    (axis,) = _axes("associative_scan", (axis,), builtins.max(nd, 1))
    n = leaves[0].shape[axis]
    if any(x.shape[axis] != n for x in leaves):
        raise ValueError(f"lax.associative_scan: every leaf needs the same size ({n}) along "
                         f"axis {axis}, got {[tuple(x.shape) for x in leaves]}")
    if reverse:
        leaves = [_St.rev(x, (axis,)) for x in leaves]

    def combine(a, b):
        out = fn(tree_unflatten(treedef, a), tree_unflatten(treedef, b))
        return [_E.as_value(v) for v in tree_flatten(out)[0]]

    def scan(xs):
        m = xs[0].shape[axis]
        if m < 2:
            return xs
        red = combine([_take(x, axis, _slice(0, m - 1, 2)) for x in xs],
                      [_take(x, axis, _slice(1, m, 2)) for x in xs])
        odd = scan(red)
        if m % 2 == 0:
            even = combine([_take(o, axis, _slice(0, -1)) for o in odd],
                           [_take(x, axis, _slice(2, m, 2)) for x in xs])
        else:
            even = combine(odd, [_take(x, axis, _slice(2, m, 2)) for x in xs])
        even = [_I.cat([_take(x, axis, _slice(0, 1)), e], dim=axis) for x, e in zip(xs, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]
    out = scan(leaves)
    if reverse:
        out = [_St.rev(x, (axis,)) for x in out]
    return tree_unflatten(treedef, out)


def optimization_barrier(operand):
    """``operand`` (a pytree) unchanged: in JAX it keeps XLA from moving computation across
    it; ember's compiler does not reorder across calls, so it is the identity.

    >>> ember.lax.optimization_barrier((ember.ones(2), 3))
    (tensor([1., 1.]), 3)
    """
    return operand


class Precision(enum.Enum):
    """``precision=`` of the contractions (accepted and ignored: NumPy computes in the
    operands' own precision).

    >>> ember.lax.Precision.HIGHEST.name
    'HIGHEST'
    """
    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2


def dtype(x):
    """The dtype ``x`` has in ``ember.lax``'s arithmetic (NumPy data and Python numbers
    canonicalized as JAX does: float64 -> float32 unless 64-bit mode is on).

    >>> ember.lax.dtype(1.5)
    ember.float32
    """
    if hasattr(x, "dtype") and not isinstance(x, (_np.ndarray, _np.generic)):
        return x.dtype
    return _E.as_jax_value(x).dtype
