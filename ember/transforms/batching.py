"""vmap: an interpreter whose values carry a batch dimension, using each primitive's
batching rule (no per-example Python loop)."""
from __future__ import annotations

import threading

from ..core.primitive import Aval, Trace, Tracer, bind, new_main
from ..core.state import AxisFrame, axis_frame, bind_axis
from ..core.tensor import Tensor
from ..ops.elementwise import as_jax_value, as_value, moveaxis_to_front
from ..tree import tree_flatten, tree_unflatten
from .argnames import argument_leaf_names


# A batching rule that re-vectorises a sub-computation (a control-flow body, a custom rule's
# function) with its own vmap maps over the same axis: while a named vmap runs a rule, the
# first vmap of that size the rule opens binds the same axis name (``inherit.frame``).
_inherit = threading.local()


class _BatchData(tuple):
    """A vmap level's (randomness, size), and its named-axis frame (or None)."""
    frame = None


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        s = tuple(self.val.shape)
        if self.bdim is None:
            return Aval(s, self.val.dtype)
        return Aval(s[:self.bdim] + s[self.bdim + 1:], self.val.dtype)


class BatchTrace(Trace):
    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.bdim for t in tracers]
        if prim.axis_collective:  # a collective over this vmap's own axis name
            frame = axis_frame(params["axis_name"])
            if frame is not None and frame.main is self.main:
                out, odim = prim.named_batch(vals, dims, frame.size, **params)
                return BatchTracer(self, out, odim)
        if all(d is None for d in dims):
            out = bind(prim, *vals, **params)
            if prim.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        if prim.batch is None:
            raise NotImplementedError(f"vmap: primitive {prim.name} has no batching rule")
        frame = self.main.global_data.frame
        if frame is None:
            out, odim = prim.batch(vals, dims, **params)
        else:  # a vmap the rule opens over this axis binds its name too
            prev = getattr(_inherit, "frame", None)
            _inherit.frame = frame
            try:
                out, odim = prim.batch(vals, dims, **params)
            finally:
                _inherit.frame = prev
        if prim.multiple_results:
            odims = odim if isinstance(odim, (tuple, list)) else [odim] * len(out)
            return [BatchTracer(self, o, d) for o, d in zip(out, odims)]
        return BatchTracer(self, out, odim)


def _broadcast_axes(axes, tree, name):
    """Expand an int/None/pytree-prefix ``axes`` to one entry per leaf of ``tree``."""
    leaves, td = tree_flatten(tree)
    if axes is None or isinstance(axes, int):
        return [axes] * len(leaves)
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)) and \
            len(axes) == len(tree):
        out = []
        for a, t in zip(axes, tree):
            out.extend(_broadcast_axes(a, t, name))
        return out
    if isinstance(axes, dict) and isinstance(tree, dict):
        out = []
        for k in sorted(tree.keys(), key=str):
            out.extend(_broadcast_axes(axes.get(k), tree[k], name))
        return out
    raise ValueError(f"vmap: {name} {axes!r} does not match the structure of the arguments "
                     f"({td}); give an int, None, or a tuple with one entry per argument")


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, randomness="error",
         spmd_axis_name=None, *, in_dims=None, out_dims=None, chunk_size=None):
    """Vectorise ``fun`` over a batch axis (``jax.vmap`` semantics).

    ``torch.vmap``'s keywords work too: ``in_dims``/``out_dims`` for ``in_axes``/``out_axes``,
    and ``chunk_size`` (accepted; the whole batch runs at once).

    ``axis_name`` names the mapped axis for the collectives of ``ember.lax`` (``psum``,
    ``pmean``, ``all_gather``, ``axis_index``, ...) called inside ``fun``; nested vmaps bind
    different names. ``spmd_axis_name`` (JAX's sharding hint) is accepted and must be None.

    ``randomness`` (``torch.func.vmap``'s argument) says what draws from the stateful
    generator (dropout, ``ember.rand``) do inside: "error" (the default) raises, "same" draws
    once for all examples, "different" draws independently per example. Explicit keys
    (``ember.random``) need none of this.

    >>> ember.vmap(lambda v: v @ v)(ember.tensor([[1., 2.], [3., 4.]]))            # a dot per row
    tensor([ 5., 25.])
    >>> ember.vmap(lambda a, b: a * b, in_axes=(0, None))(ember.ones(3, 2), ember.tensor([1., 2.]))
    tensor([[1., 2.],
            [1., 2.],
            [1., 2.]])
    >>> per_example = ember.vmap(ember.grad(lambda w, x: (w * x).sum()), in_axes=(None, 0))
    >>> per_example(ember.ones(2), ember.tensor([[1., 2.], [3., 4.]]))    # a gradient per example
    tensor([[1., 2.],
            [3., 4.]])
    >>> ember.vmap(lambda v: v / ember.lax.psum(v, "i"), axis_name="i")(ember.tensor([1., 3.]))
    tensor([0.2500, 0.7500])
    """
    if in_dims is not None:
        if in_axes != 0:
            raise TypeError("vmap: pass in_axes (JAX) or in_dims (PyTorch), not both")
        in_axes = in_dims
    if out_dims is not None:
        if out_axes != 0:
            raise TypeError("vmap: pass out_axes (JAX) or out_dims (PyTorch), not both")
        out_axes = out_dims
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got "
                         f"{chunk_size!r}")
    if spmd_axis_name is not None:
        raise NotImplementedError("vmap: spmd_axis_name (a sharding constraint for JAX's "
                                  "compiler) has no meaning in ember; leave it None")
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(f"vmap: axis_name must be hashable (a string), got "
                            f"{axis_name!r}") from None
    if randomness not in ("error", "same", "different"):
        raise ValueError(f"vmap: randomness must be 'error', 'same' or 'different', got "
                         f"{randomness!r}")

    def batched(*args):
        leaves, td = tree_flatten(args)
        axes = _broadcast_axes(in_axes if not isinstance(in_axes, list) else tuple(in_axes),
                               args, "in_axes")
        sizes = {}  # size -> the first leaf mapped with it
        vals = []
        for i, (x, a) in enumerate(zip(leaves, axes)):
            if a is None:
                vals.append(x)
                continue
            x = as_jax_value(x)
            if x.ndim == 0 or not -x.ndim <= a < x.ndim:
                names = argument_leaf_names(fun, args)
                if x.ndim == 0:
                    raise ValueError(f"vmap: in_axes={a} for argument {names[i]}, but it is a "
                                     f"0-d tensor; use in_axes=None for it")
                raise ValueError(f"vmap: in_axes {a} is out of range for argument "
                                 f"{names[i]} with shape {tuple(x.shape)}")
            a %= x.ndim
            sizes.setdefault(x.shape[a], i)
            vals.append((x, a))
        if len(sizes) > 1:
            names = argument_leaf_names(fun, args)
            which = ", ".join(f"{names[i]} has {n}" for n, i in sorted(sizes.items()))
            raise ValueError(f"vmap: inconsistent sizes along the mapped axes: {which} (every "
                             f"mapped argument must have the same size there)")
        if not sizes and axis_size is None:
            raise ValueError("vmap: no argument is mapped (all in_axes are None) and no "
                             "axis_size was given")
        size = next(iter(sizes)) if sizes else axis_size
        inherited = getattr(_inherit, "frame", None)
        if inherited is not None:  # opened by a named vmap's batching rule (see _inherit)
            _inherit.frame = None  # (only this vmap: not the ones its body opens)
            try:
                return run(size, axis_name if axis_name is not None or
                           inherited.size != size else inherited.name, td, vals)
            finally:
                _inherit.frame = inherited
        return run(size, axis_name, td, vals)

    def run(size, axis_name, td, vals):
        gd = _BatchData((randomness, size))
        with new_main(BatchTrace, global_data=gd) as main:
            main.origin = f"vmap({getattr(fun, '__name__', 'fun')})"
            main.fun = fun
            trace = BatchTrace(main)
            ins = [BatchTracer(trace, v[0], v[1]) if isinstance(v, tuple) else v for v in vals]
            if axis_name is None:
                out = fun(*tree_unflatten(td, ins))
            else:
                gd.frame = AxisFrame(axis_name, size, main)
                with bind_axis(gd.frame):
                    out = fun(*tree_unflatten(td, ins))
            o_leaves, o_def = tree_flatten(out)
            oax = _broadcast_axes(out_axes, out, "out_axes")
            res = []
            for o, a in zip(o_leaves, oax):
                t = trace.full_raise(o) if isinstance(o, Tensor) else trace.pure(as_value(o))
                v, d = t.val, t.bdim
                if a is None:  # the output must not vary along the mapped axis
                    if d is not None:
                        raise ValueError(
                            f"vmap: out_axes=None for an output of shape {tuple(t.shape)} "
                            f"that varies along the mapped axis; give it an int out_axes, "
                            f"or make it the same for every member (e.g. lax.psum/pmean "
                            f"over the axis name)")
                    res.append(as_value(v))
                    continue
                if d is None:
                    v = as_value(v)
                    v = v.reshape((1,) + tuple(v.shape)).expand((size,) + tuple(v.shape))
                    d = 0
                v = moveaxis_to_front(v, d)
                if a != 0:
                    from ..ops.shape import movedim
                    v = movedim(v, 0, a)
                res.append(v)
        return tree_unflatten(o_def, res)
    batched.__name__ = f"vmap({getattr(fun, '__name__', 'fun')})"
    return batched
