"""User-defined derivative rules and rematerialisation: ``custom_vjp``, ``custom_jvp`` and
``checkpoint``.

Each call becomes one primitive whose params carry the user's functions, so the eager tape,
``grad``/``vjp``, ``jvp``, ``vmap`` and ``jit`` all treat it as a unit:

* ``custom_vjp``: the VJP rule runs the user's ``fwd`` (for the residuals) and ``bwd``;
  forward mode is refused, as in JAX;
* ``custom_jvp``: the JVP rule is the user's; reverse mode transposes it (the rule is linear
  in the tangents, so its VJP with respect to them is the answer);
* ``checkpoint``: the forward keeps nothing but the inputs; the VJP re-runs the function under
  ``vjp`` (recomputation instead of storage).
"""
from __future__ import annotations

import functools

from ..core.primitive import Primitive, bind
from ..core.tensor import Tensor
from ..core import autograd as _ag
from ..ops.elementwise import as_value, zeros_like_v
from ..tree import tree_flatten, tree_unflatten
from .effects import draw_keys
from .staging.capture import stage
from .staging.codegen import eval_graph

__all__ = ["custom_vjp", "custom_jvp", "checkpoint", "remat"]


class _Flat:
    """``fun`` as a function of flat tensors returning a flat list (treedef kept)."""

    def __init__(self, fun, in_def, statics):
        self.fun, self.in_def, self.statics = fun, in_def, statics
        self.out_def = None

    def args(self, leaves):
        full = list(self.statics)
        it = iter(leaves)
        full = [next(it) if s is _DYN else s for s in full]
        return tree_unflatten(self.in_def, full)

    def __call__(self, *leaves):
        out = self.fun(*self.args(leaves))
        ol, od = tree_flatten(out)
        self.out_def = od
        return [as_value(o) for o in ol]


_DYN = object()


def _split(args):
    leaves, td = tree_flatten(args)
    statics = [_DYN if isinstance(l, Tensor) else l for l in leaves]
    return [l for l in leaves if isinstance(l, Tensor)], td, statics


def _impl_of(name):
    def impl(*arrays, flat, **_):
        from ..core.primitive import eager_context
        with eager_context(), _ag.no_grad():
            outs = flat(*[Tensor._wrap(a) for a in arrays])
        return [o._data for o in outs]
    impl.__name__ = f"{name}_impl"
    return impl


def _batch_rule(prim):
    def rule(args, dims, flat, **params):
        from .batching import vmap
        size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
        vflat = _Flat(vmap(lambda *a: flat(*a), in_axes=tuple(dims), axis_size=size),
                      tree_flatten(tuple(args))[1], [_DYN] * len(args))
        extra = {}
        if "bwd" in params:  # vmapped fwd/bwd; unbatched inputs get summed cotangents
            fwd, bwd = params["fwd"], params["bwd"]
            vfwd = vmap(lambda *a: fwd(*a), in_axes=tuple(dims), axis_size=size)

            def vbwd(res, ct, _dims=tuple(dims)):
                g = vmap(bwd, in_axes=(0, 0), axis_size=size)(res, ct)
                return [gi.sum(0) if d is None and gi is not None else gi
                        for gi, d in zip(g, _dims)]
            extra = {"fwd": vfwd, "bwd": vbwd}
        if "rule" in params:
            r = params["rule"]
            extra = {"rule": lambda p, t, _d=tuple(dims): vmap(
                lambda pp, tt: r(pp, tt), in_axes=(_d, _d), axis_size=size)(p, t)}
        out = bind(prim, *args, flat=vflat, **extra)
        return out, [0] * len(out)
    return rule


# ---- custom_vjp ---------------------------------------------------------------------------

def _cvjp_vjp(ct, out, *args, flat, fwd, bwd):
    ct = ct if isinstance(ct, (tuple, list)) else (ct,)
    _, res = fwd(*args)
    g = list(bwd(res, list(ct)))
    if len(g) != len(args):
        raise ValueError(f"custom_vjp: bwd returned {len(g)} cotangents for {len(args)} "
                         f"tensor inputs; return one per input (None for no gradient)")
    return tuple(None if gi is None else as_value(gi) for gi in g)


def _cvjp_jvp(primals, tangents, out, **_):
    raise TypeError("custom_vjp: forward-mode differentiation (jvp, jacfwd) of a function with "
                    "a custom VJP is not supported; define a custom_jvp instead")


custom_vjp_call_p = Primitive("custom_vjp_call", _impl_of("custom_vjp"), multiple_results=True,
                              vjp=_cvjp_vjp, jvp=_cvjp_jvp)
custom_vjp_call_p.batch = _batch_rule(custom_vjp_call_p)


class custom_vjp:
    """``jax.custom_vjp``: ``f.defvjp(fwd, bwd)`` with ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, out_cotangent) -> tuple of input cotangents``.

    >>> @ember.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> _ = clip_gradient.defvjp(lambda x: (x, None), lambda residuals, ct: (ct.clamp(-1.0, 1.0),))
    >>> ember.grad(lambda x: (5.0 * clip_gradient(x)).sum())(ember.tensor([1., 2.]))
    tensor([1., 1.])
    """

    def __init__(self, fun):
        self.fun = fun
        self.fwd = self.bwd = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp: {getattr(self.fun, '__name__', 'function')} has no "
                            f"rule yet; call .defvjp(fwd, bwd) first")
        leaves, td, statics = _split(args)
        flat = _Flat(self.fun, td, statics)
        ffwd = _Flat(self.fwd, td, statics)

        def fwd(*ls):
            out, res = self.fwd(*ffwd.args(ls))
            return out, res

        def bwd(res, ct_flat):
            g = self.bwd(res, tree_unflatten(flat.out_def, list(ct_flat)))
            g = tuple(g) if isinstance(g, (tuple, list)) else (g,)
            if len(g) != len(args):
                raise ValueError(f"custom_vjp: bwd returned {len(g)} cotangents for "
                                 f"{len(args)} arguments; return one per argument (None for "
                                 f"no gradient)")
            out = []  # one cotangent per tensor leaf of the arguments
            for a, gi in zip(args, g):
                a_leaves = tree_flatten(a)[0]
                g_leaves = [None] * len(a_leaves) if gi is None else tree_flatten(gi)[0]
                out += [gl for al, gl in zip(a_leaves, g_leaves) if isinstance(al, Tensor)]
            return out
        out = bind(custom_vjp_call_p, *leaves, flat=flat, fwd=fwd, bwd=bwd)
        return tree_unflatten(flat.out_def, out)


# ---- custom_jvp -----------------------------------------------------------------------------

def _cjvp_jvp(primals, tangents, out, flat, rule):
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    _, tout = rule(list(primals), ts)
    tl = tree_flatten(tout)[0]
    return [as_value(t) for t in tl]


def _cjvp_vjp(ct, out, *args, flat, rule):
    from .reverse import vjp
    ct = ct if isinstance(ct, (tuple, list)) else (ct,)
    zeros = [zeros_like_v(a) for a in args]
    _, pull = vjp(lambda *t: [as_value(x) for x in tree_flatten(rule(list(args), list(t))[1])[0]],
                  *zeros)
    return tuple(pull(list(ct)))


custom_jvp_call_p = Primitive("custom_jvp_call", _impl_of("custom_jvp"), multiple_results=True,
                              vjp=_cjvp_vjp, jvp=_cjvp_jvp)
custom_jvp_call_p.batch = _batch_rule(custom_jvp_call_p)


class custom_jvp:
    """``jax.custom_jvp``: ``@f.defjvp`` a rule ``(primals, tangents) -> (out, tangent_out)``.
    Reverse mode works too (the rule is transposed).

    >>> @ember.custom_jvp
    ... def softplus(x):
    ...     return (1 + x.exp()).log()
    >>> @softplus.defjvp
    ... def softplus_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return softplus(x), t * x.sigmoid()
    >>> ember.grad(lambda x: softplus(x).sum())(ember.tensor([0.]))      # via the rule, transposed
    tensor([0.5000])
    """

    def __init__(self, fun):
        self.fun = fun
        self.rule = None
        functools.update_wrapper(self, fun)

    def defjvp(self, rule):
        self.rule = rule
        return rule

    def __call__(self, *args):
        if self.rule is None:
            raise TypeError(f"custom_jvp: {getattr(self.fun, '__name__', 'function')} has no "
                            f"rule yet; decorate one with @f.defjvp")
        leaves, td, statics = _split(args)
        flat = _Flat(self.fun, td, statics)
        user = self.rule

        def rule(primals, tangents):
            return user(tuple(flat.args(primals)), tuple(flat.args(tangents)))
        out = bind(custom_jvp_call_p, *leaves, flat=flat, rule=rule)
        return tree_unflatten(flat.out_def, out)


# ---- checkpoint -------------------------------------------------------------------------------

def _remat_vjp(ct, out, *args, flat):
    from .reverse import vjp
    ct = ct if isinstance(ct, (tuple, list)) else (ct,)
    _, pull = vjp(lambda *a: flat(*a), *args)
    return tuple(pull(list(ct)))


def _remat_jvp(primals, tangents, out, flat):
    from .jvp import jvp
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    _, to = jvp(lambda *a: flat(*a), tuple(primals), tuple(ts))
    return list(to)


remat_p = Primitive("checkpoint", _impl_of("checkpoint"), multiple_results=True,
                    vjp=_remat_vjp, jvp=_remat_jvp)
remat_p.batch = _batch_rule(remat_p)


class _StagedFn:
    """A staged function as a primitive parameter: evaluates its graph. Unhashable, so no
    table keyed by params (the eager backward's staged-VJP cache, CSE) keeps it alive."""

    __hash__ = None

    def __init__(self, closed):
        self.closed = closed

    def __call__(self, *ins):
        return eval_graph(self.closed.graph, list(ins))


def checkpoint(fun, *, prevent_cse=True, static_argnums=()):
    """``jax.checkpoint``: differentiating ``checkpoint(f)`` stores only f's inputs and
    recomputes its intermediates during the backward pass (memory for compute).

    ``f`` is staged on each call (as JAX traces it): values it captures by closure from an
    enclosing transform, or eager tensors that require grad (a module's parameters), become
    inputs of the checkpointed call, so they get their gradients; random draws inside use
    keys drawn once per call, so the recomputation sees the same draws. ``static_argnums``
    marks arguments that are Python values, not arrays; the call is never merged with an
    identical one (``prevent_cse`` is accepted and always in effect).

    >>> block = ember.checkpoint(lambda x: x.sin().sin())
    >>> ember.grad(lambda x: block(x).sum())(ember.tensor([0.]))
    tensor([1.])
    """
    static = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        dyn = [i for i in range(len(args)) if i not in static]
        leaves, td, statics = _split(tuple(args[i] for i in dyn))
        flat = _Flat(lambda *d: fun(*_merge(args, dyn, d)), td, statics)
        closed = stage(flat, leaves, "checkpoint")
        keys = [draw_keys(g, op) for g, op in zip(closed.key_gens, closed.key_ops)]
        out = bind(remat_p, *leaves, *keys, *closed.consts, flat=_StagedFn(closed))
        return tree_unflatten(flat.out_def, out)
    return wrapped


def _merge(args, dyn, values):
    full = list(args)
    for i, v in zip(dyn, values):
        full[i] = v
    return full


remat = checkpoint
