"""User-defined derivative rules: ``custom_vjp`` and ``custom_jvp``; the helpers that
``checkpoint`` (``remat.py``) shares with them.

Each call becomes one primitive whose params carry the user's functions, so the eager tape,
``grad``/``vjp``, ``jvp``, ``vmap`` and ``jit`` all treat it as a unit:

* ``custom_vjp``: the VJP rule runs the user's ``fwd`` (for the residuals) and ``bwd``;
  forward mode is refused, as in JAX;
* ``custom_jvp``: the JVP rule is the user's; reverse mode transposes it (the rule is linear
  in the tangents, so its VJP with respect to them is the answer);
* ``checkpoint`` (in ``remat.py``, sharing the helpers here): the forward keeps the inputs
  (and what a policy saves); the VJP recomputes the rest.
"""
from __future__ import annotations

import functools

from ..core.primitive import Primitive, bind
from ..core.tensor import Tensor
from ..core import autograd as _ag
from ..ops.elementwise import as_value, zeros_like_v
from ..tree import tree_flatten, tree_map, tree_unflatten
from .effects import draw_keys
from .staging.capture import stage
from .staging.tracing import StageTracer
from .staging.codegen import eval_graph

__all__ = ["custom_vjp", "custom_jvp"]


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

def _flat_values(out):
    return [as_value(o) for o in tree_flatten(out)[0]]


def _cvjp_forward(primals, *, flat, fwd, bwd):
    """Reverse mode's forward: the user's ``fwd`` gives the outputs and the residuals that
    ``bwd`` reads (any pytree, kept as they are), as in JAX."""
    out, res = fwd(*primals)
    return _flat_values(out), res


def _cvjp_vjp(ct, out, *args, flat, fwd, bwd, residuals=_DYN):
    ct = ct if isinstance(ct, (tuple, list)) else (ct,)
    if residuals is _DYN:  # recorded without the forward hook (the eager tape): rerun fwd
        _, residuals = fwd(*args)
    g = list(bwd(residuals, list(ct)))
    if len(g) != len(args):
        raise ValueError(f"custom_vjp: bwd returned {len(g)} cotangents for {len(args)} "
                         f"tensor inputs; return one per input (None for no gradient)")
    return tuple(None if gi is None else as_value(gi) for gi in g)


def _cvjp_jvp(primals, tangents, out, *, flat, fwd, bwd):
    fwd(*primals)  # JAX runs the forward rule before it refuses (its prints show that)
    raise TypeError("can't apply forward-mode autodiff (jvp) to a custom_vjp function "
                    "(custom_vjp: jvp, jacfwd and linearize need a forward rule); define a "
                    "custom_jvp instead")


custom_vjp_call_p = Primitive("custom_vjp_call", _impl_of("custom_vjp"), multiple_results=True,
                              vjp=_cvjp_vjp, jvp=_cvjp_jvp)
custom_vjp_call_p.batch = _batch_rule(custom_vjp_call_p)
custom_vjp_call_p.vjp_forward = _cvjp_forward
custom_vjp_call_p.jvp_with_primal = True


def _nondiff(nondiff_argnums, op):
    nums = (nondiff_argnums,) if isinstance(nondiff_argnums, int) else tuple(nondiff_argnums)
    for n in nums:
        if not isinstance(n, int) or n < 0:
            raise TypeError(f"{op}: nondiff_argnums must be non-negative ints, got "
                            f"{nondiff_argnums!r}")
    return tuple(sorted(set(nums)))


def _split_nondiff(nums, args, op, name):
    if nums and max(nums) >= len(args):
        raise TypeError(f"{op}: {name} was called with {len(args)} positional arguments but "
                        f"nondiff_argnums={nums} names argument {max(nums)}")
    nd = tuple(args[i] for i in nums)
    diff = tuple(a for i, a in enumerate(args) if i not in nums)
    return nd, diff


def _merge_nondiff(nums, nd, diff):
    full, itn, itd = [], iter(nd), iter(diff)
    for i in range(len(nd) + len(diff)):
        full.append(next(itn) if i in nums else next(itd))
    return full


def _traced_once(flat, leaves, name):
    """Under ``jit`` (the inputs are jit's tracers) ``f`` is traced once into a graph that the
    primitive evaluates, as JAX traces it, instead of running the Python function again at
    every call of the compiled plan. A function that closes over traced values or draws
    random numbers keeps the Python call (its graph would need them as extra inputs)."""
    if not leaves or not all(isinstance(l, StageTracer) for l in leaves):
        return flat
    closed = stage(flat, leaves, name)
    if closed.consts or closed.key_gens:
        return flat
    return _StagedFn(closed)


def _name(fun):
    return getattr(fun, "__name__", "function")


class custom_vjp:
    """``jax.custom_vjp``: ``f.defvjp(fwd, bwd)`` with ``fwd(*args) -> (out, residuals)``
    (residuals: any pytree) and ``bwd(residuals, out_cotangent) -> tuple`` with one cotangent
    per argument (a pytree like the argument, or None for a zero / non-array argument).

    ``nondiff_argnums`` marks arguments that are not differentiated (functions, Python
    values): ``bwd`` gets them first, ``bwd(*nondiff_args, residuals, g)``, and returns
    cotangents for the other arguments only. Under ``grad``/``vjp`` the forward runs ``fwd``
    once and ``bwd`` reads its residuals; forward mode (``jvp``) raises, as in JAX.

    >>> @ember.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda residuals, ct: (ct.clamp(-1.0, 1.0),))
    >>> ember.grad(lambda x: (5.0 * clip_gradient(x)).sum())(ember.tensor([1., 2.]))
    tensor([1., 1.])
    """

    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun
        self.nondiff_argnums = _nondiff(nondiff_argnums, "custom_vjp")
        self.fwd = self.bwd = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd, bwd, symbolic_zeros=False):
        if symbolic_zeros:
            raise NotImplementedError("custom_vjp.defvjp(symbolic_zeros=True) is not "
                                      "supported; zero cotangents arrive as zero tensors")
        self.fwd, self.bwd = fwd, bwd

    def __get__(self, obj, objtype=None):  # as a method: bind the instance as argument 0
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        name = _name(self.fun)
        if kwargs:
            raise TypeError(f"custom_vjp: {name} takes positional arguments only here; got "
                            f"keywords {sorted(kwargs)} (pass them positionally)")
        if self.fwd is None:
            raise AttributeError(f"custom_vjp: {name} has no VJP rule yet; call "
                                 f".defvjp(fwd, bwd) first")
        nums = self.nondiff_argnums
        nd, dargs = _split_nondiff(nums, args, "custom_vjp", name)
        leaves, td, statics = _split(dargs)
        fun, ufwd, ubwd = self.fun, self.fwd, self.bwd
        flat = _Flat(lambda *d: fun(*_merge_nondiff(nums, nd, d)), td, statics)

        def fwd(*ls):
            r = ufwd(*_merge_nondiff(nums, nd, flat.args(ls)))
            if not (isinstance(r, (tuple, list)) and len(r) == 2):
                raise TypeError(f"custom_vjp: the fwd rule of {name} must return a pair "
                                f"(output, residuals), got {type(r).__name__}")
            out, res = r
            if flat.out_def is not None and tree_flatten(out)[1] != flat.out_def:
                raise TypeError(f"custom_vjp: the fwd rule of {name} returned an output of "
                                f"structure {tree_flatten(out)[1]}, but {name} returns "
                                f"{flat.out_def}; fwd must return (f(*args), residuals)")
            flat.out_def = tree_flatten(out)[1]
            return out, res

        def bwd(res, ct_flat):
            g = ubwd(*nd, res, tree_unflatten(flat.out_def, list(ct_flat)))
            g = tuple(g) if isinstance(g, (tuple, list)) else (g,)
            if len(g) != len(dargs):
                raise ValueError(f"custom_vjp: the bwd rule of {name} returned {len(g)} "
                                 f"cotangents for {len(dargs)} differentiable arguments; "
                                 f"return a tuple with one per argument (None for no gradient"
                                 f"{', leaving out nondiff_argnums' if nums else ''})")
            out = []  # one cotangent per tensor leaf of the arguments
            for a, gi in zip(dargs, g):
                a_leaves, a_def = tree_flatten(a)
                if gi is None:
                    g_leaves = [None] * len(a_leaves)
                else:
                    g_leaves, g_def = tree_flatten(gi)
                    if len(g_leaves) != len(a_leaves):
                        raise ValueError(f"custom_vjp: the bwd rule of {name} returned a "
                                         f"cotangent of structure {g_def} for an argument of "
                                         f"structure {a_def}")
                out += [gl for al, gl in zip(a_leaves, g_leaves) if isinstance(al, Tensor)]
            return out
        out = bind(custom_vjp_call_p, *leaves, flat=_traced_once(flat, leaves, "custom_vjp"),
                   fwd=fwd, bwd=bwd)
        return tree_unflatten(flat.out_def, out)


# ---- custom_jvp -----------------------------------------------------------------------------

def _cjvp_jvp(primals, tangents, out, flat, rule):
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    pout, tout = rule(list(primals), ts)
    return pout, tout


def _cjvp_forward(primals, *, flat, rule):
    """Reverse mode's forward: the user's rule, linearized in the tangents (it runs once, as
    JAX's linearize of a custom_jvp); the backward transposes it."""
    from .reverse import vjp_flat
    box = []

    def tangents_out(*t):
        pout, tout = rule(list(primals), list(t))
        box.append(pout)
        return tout
    _, pull = vjp_flat(tangents_out, [zeros_like_v(p) for p in primals])
    return box[0], pull


def _cjvp_vjp(ct, out, *args, flat, rule, residuals=None):
    # ``ct`` may hold None for an output no cotangent reaches (vjp_accepts_none): it adds
    # nothing, so an unused output's rule term is not multiplied by zero (JAX's -0.0 vs 0.0)
    ct = list(ct) if isinstance(ct, (tuple, list)) else [ct]
    pull = residuals if residuals is not None else _cjvp_forward(args, flat=flat,
                                                                   rule=rule)[1]
    return tuple(pull(ct))


def _cjvp_shape(*avals, flat, **_):
    """A staged function's output avals are its graph's (evaluating it on host zeros, as the
    generic shape inference does, would mix devices with constants the graph made on the
    default device); a plain Python function is evaluated."""
    if isinstance(flat, _StagedFn):
        return [o.aval for o in flat.closed.graph.outs]
    import numpy as np
    from ..core import dtypes as _dt
    from ..core.primitive import Aval, _zeros_like_aval
    with np.errstate(all="ignore"):
        out = _impl_of("custom_jvp")(*[_zeros_like_aval(a) for a in avals], flat=flat)
    return [Aval(o.shape, _dt.from_np(o.dtype)) for o in out]


custom_jvp_call_p = Primitive("custom_jvp_call", _impl_of("custom_jvp"), multiple_results=True,
                              vjp=_cjvp_vjp, jvp=_cjvp_jvp, shape=_cjvp_shape)
custom_jvp_call_p.batch = _batch_rule(custom_jvp_call_p)
custom_jvp_call_p.vjp_forward = _cjvp_forward
custom_jvp_call_p.jvp_with_primal = True
custom_jvp_call_p.vjp_accepts_none = True


class custom_jvp:
    """``jax.custom_jvp``: ``@f.defjvp`` a rule ``(primals, tangents) -> (out, tangent_out)``,
    or ``f.defjvps(*rules)`` with one ``rule_i(tangent_i, out, *primals)`` per argument (None
    for an argument that contributes no tangent). Reverse mode transposes the rule.

    ``nondiff_argnums`` marks arguments that are not differentiated (functions, Python
    values): the rule gets them first, ``rule(*nondiff_args, primals, tangents)``, and
    ``primals``/``tangents`` hold the other arguments only.

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

    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun
        self.nondiff_argnums = _nondiff(nondiff_argnums, "custom_jvp")
        self.rule = None
        functools.update_wrapper(self, fun)

    def defjvp(self, jvp, symbolic_zeros=False):
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp.defjvp(symbolic_zeros=True) is not "
                                      "supported; zero tangents arrive as zero tensors")
        self.rule = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument, ``rule_i(tangent_i, primal_out, *primals)`` -> that
        argument's contribution to the output tangent (None: it contributes nothing); the
        contributions are summed."""
        if self.nondiff_argnums:
            raise TypeError(f"custom_jvp.defjvps: {_name(self.fun)} has nondiff_argnums="
                            f"{self.nondiff_argnums}; use defjvp, whose rule gets them first")

        def rule(primals, tangents):
            if len(jvps) != len(primals):
                raise TypeError(f"custom_jvp.defjvps: {_name(self.fun)} was given "
                                f"{len(jvps)} rules for {len(primals)} arguments; pass one "
                                f"per argument (None for no tangent)")
            out = self(*primals)
            total = None
            for fn, t in zip(jvps, tangents):
                if fn is None:
                    continue
                c = fn(t, out, *primals)
                total = c if total is None else tree_map(lambda a, b: a + b, total, c)
            if total is None:
                total = tree_map(lambda o: zeros_like_v(as_value(o)), out)
            return out, total
        self.rule = rule

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        name = _name(self.fun)
        if kwargs:
            raise TypeError(f"custom_jvp: {name} takes positional arguments only here; got "
                            f"keywords {sorted(kwargs)} (pass them positionally)")
        if self.rule is None:
            raise AttributeError(f"custom_jvp: {name} has no JVP rule yet; decorate one with "
                                 f"@{name}.defjvp or call {name}.defjvps(...)")
        nums = self.nondiff_argnums
        nd, dargs = _split_nondiff(nums, args, "custom_jvp", name)
        leaves, td, statics = _split(dargs)
        fun, user = self.fun, self.rule
        flat = _Flat(lambda *d: fun(*_merge_nondiff(nums, nd, d)), td, statics)

        def rule(primals, tangents):
            ps, ts = tuple(flat.args(primals)), tuple(flat.args(tangents))
            r = user(*nd, ps, ts)
            if not (isinstance(r, (tuple, list)) and len(r) == 2):
                raise TypeError(f"custom_jvp: the JVP rule of {name} must return a pair "
                                f"(primal_out, tangent_out), got {type(r).__name__}")
            pout, tout = r
            p_leaves, p_def = tree_flatten(pout)
            t_leaves, t_def = tree_flatten(tout)
            if p_def != t_def:
                raise TypeError(f"custom_jvp: the JVP rule of {name} returned a primal "
                                f"output of structure {p_def} and a tangent output of "
                                f"structure {t_def}; they must match")
            flat.out_def = p_def
            pv = [as_value(o) for o in p_leaves]
            tv = [as_value(t) for t in t_leaves]
            for p, t in zip(pv, tv):
                if tuple(p.shape) != tuple(t.shape):
                    raise ValueError(f"custom_jvp: the JVP rule of {name} returned a tangent "
                                     f"of shape {tuple(t.shape)} for a primal output of "
                                     f"shape {tuple(p.shape)}")
            return pv, tv
        out = bind(custom_jvp_call_p, *leaves, flat=_traced_once(flat, leaves, "custom_jvp"),
                   rule=rule)
        return tree_unflatten(flat.out_def, out)


# ---- checkpoint: transforms/remat.py -------------------------------------------------------

class _StagedFn:
    """A staged function as a primitive parameter: evaluates its graph. Unhashable, so no
    table keyed by params (the eager backward's staged-VJP cache, CSE) keeps it alive."""

    __hash__ = None

    def __init__(self, closed):
        self.closed = closed

    def __call__(self, *ins):
        return eval_graph(self.closed.graph, list(ins))


def _merge(args, dyn, values):
    full = list(args)
    for i, v in zip(dyn, values):
        full[i] = v
    return full


