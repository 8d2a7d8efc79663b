"""``jax.lax``'s control flow, its named-axis collectives and a few of its operations, for
code written against JAX (``from ember import lax``). The same primitives as
``ember.cond``/``ember.scan``/...; the collectives (``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``psum_scatter``, ``ppermute``, ``axis_index``) run over an axis named by an
enclosing ``ember.vmap(f, axis_name=...)`` or ``ember.pmap(f, axis_name=...)``
(``ember/ops/collective_ops.py`` holds their rules)."""
from __future__ import annotations

from .control_flow import cond, fori_loop, scan, switch, while_loop
from .ops import collective_ops as _c
from .ops.collective_ops import axis_size
from .transforms.reverse import stop_gradient
from .tree import tree_map

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "stop_gradient",
           "select", "dot", "psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter",
           "ppermute", "pshuffle", "axis_index", "axis_size"]


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
