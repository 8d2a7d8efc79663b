"""Whole Jacobians: ``jacrev`` (one VJP per output element, batched with ``vmap``),
``jacfwd`` (one JVP per input element, batched) and ``hessian`` (``jacfwd`` of ``jacrev``),
with JAX's and ``torch.func``'s conventions: ``argnums`` an int or a tuple, pytrees in and out
(the result has the output's structure, each leaf holding the input's structure, each of its
leaves of shape ``out_leaf.shape + in_leaf.shape``; with a tuple ``argnums`` the input
structure is a tuple over those arguments), ``has_aux`` returning ``(jacobian, aux)``.
"""
from __future__ import annotations

from ..ops.creation_ops import eye
from ..ops.elementwise import as_jax_value
from ..tree import tree_flatten, tree_map, tree_unflatten
from .batching import vmap
from .jvp import jvp
from .reverse import vjp

__all__ = ["jacrev", "jacfwd", "hessian"]


def _nums(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums {argnums!r} does not name a positional "
                             f"argument of the {nargs} given")
    return tuple(i % nargs for i in nums)


def _of(fun, args, nums):
    """``fun`` as a function of the arguments at ``nums`` (the others fixed)."""
    def f(*dyn):
        a = list(args)
        for i, v in zip(nums, dyn):
            a[i] = v
        return fun(*a)
    return f


def _basis(leaves):
    """One-hot rows for the elements of ``leaves`` taken together: per leaf, an array of
    shape ``(total, *leaf.shape)`` in the leaf's dtype; and each leaf's (offset, size)."""
    sizes = [int(x.numel()) for x in leaves]
    total = sum(sizes)
    full = eye(total)
    out, spans, off = [], [], 0
    for x, n in zip(leaves, sizes):
        out.append(full[:, off:off + n].reshape((total,) + tuple(x.shape)).to(x.dtype))
        spans.append((off, n))
        off += n
    return out, spans


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of ``fun`` by reverse mode (``jax.jacrev``; also ``jax.jacobian``).

    >>> ember.jacrev(lambda x: x ** 2)(ember.tensor([1., 2.]))
    tensor([[2., 0.],
            [0., 4.]])
    >>> j = ember.jacrev(lambda p: (p["w"] * p["b"]).sum())({"w": ember.ones(2), "b": ember.tensor(3.)})
    >>> j["w"], j["b"]
    (tensor([3., 3.]), tensor(2.))
    """
    def jac(*args):
        nums = _nums(argnums, len(args), "jacrev")
        dyn = tuple(tree_map(as_jax_value, args[i]) for i in nums)
        res = vjp(_of(fun, args, nums), *dyn, has_aux=has_aux)
        out, pull = res[0], res[1]
        out_leaves, out_def = tree_flatten(out)
        basis, spans = _basis(out_leaves)
        rows = vmap(lambda *cts: pull(tree_unflatten(out_def, list(cts))))(*basis)
        in_leaves, in_def = tree_flatten(rows[0] if isinstance(argnums, int) else rows)
        per_out = []
        for o, (off, n) in zip(out_leaves, spans):
            parts = [r[off:off + n].reshape(tuple(o.shape) + tuple(r.shape[1:]))
                     for r in in_leaves]
            per_out.append(tree_unflatten(in_def, parts))
        j = tree_unflatten(out_def, per_out)
        return (j, res[2]) if has_aux else j
    jac.__name__ = f"jacrev({getattr(fun, '__name__', 'fun')})"
    return jac


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of ``fun`` by forward mode (``jax.jacfwd``): cheaper than ``jacrev``
    when there are fewer inputs than outputs.

    >>> ember.jacfwd(lambda x: x.sin())(ember.tensor([0., 0.]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    def jac(*args):
        nums = _nums(argnums, len(args), "jacfwd")
        dyn = tuple(tree_map(as_jax_value, args[i]) for i in nums)
        in_leaves, in_def = tree_flatten(dyn)
        basis, spans = _basis(in_leaves)
        f = _of(fun, args, nums)

        def column(*ts):
            r = jvp(f, dyn, tree_unflatten(in_def, list(ts)), has_aux=has_aux)
            return (r[1], r[2]) if has_aux else r[1]
        res = vmap(column, out_axes=(0, None) if has_aux else 0)(*basis)
        cols = res[0] if has_aux else res  # the output structure, leaves (n_in, *out_shape)
        col_leaves, out_def = tree_flatten(cols)
        per_out = []
        for c in col_leaves:
            oshape = tuple(c.shape[1:])
            parts = []
            for x, (off, n) in zip(in_leaves, spans):
                block = c[off:off + n].reshape((n, -1)).transpose(0, 1)
                parts.append(block.reshape(oshape + tuple(x.shape)))
            sub = tree_unflatten(in_def, parts)
            per_out.append(sub[0] if isinstance(argnums, int) else sub)
        j = tree_unflatten(out_def, per_out)
        return (j, res[1]) if has_aux else j
    jac.__name__ = f"jacfwd({getattr(fun, '__name__', 'fun')})"
    return jac


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian, ``jacfwd(jacrev(fun))`` (``jax.hessian``).

    >>> ember.hessian(lambda x: (x ** 3).sum())(ember.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    if has_aux:
        inner = jacrev(fun, argnums, has_aux=True)
        return jacfwd(inner, argnums, has_aux=True)
    return jacfwd(jacrev(fun, argnums), argnums)
