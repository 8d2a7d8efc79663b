"""Rematerialisation (``jax.checkpoint``) with JAX's saving policies, ``checkpoint_name`` and
``saved_residuals``.

``checkpoint(f)`` stages ``f`` into a graph per call and binds one ``checkpoint`` primitive
over it. Without a policy its reverse-mode forward keeps nothing but the inputs (JAX's
``nothing_saveable``): outside jit the backward recomputes only the values the VJP rules read
(the plan below, with no residuals); under staging its VJP re-runs the whole graph under
``vjp`` and jit's passes prune what the backward does not use. With ``policy=`` the reverse-mode forward (the
primitive's ``vjp_forward``, also run by the eager tape) asks the policy about every equation
of the graph, ``policy(prim, *input_avals, **params) -> bool``: the values the backward pass
reads (the inputs of the equations' VJP rules, ``Primitive.vjp_reads``) that come from a
saveable equation are returned by the forward as residuals; the others are recomputed in the
backward pass, from the inputs and those residuals, by one more ``checkpoint`` call (which
also takes the output cotangents as unused inputs, so jit's split of forward and backward
keeps the recomputation on the backward side, and whose graph parameter is unhashable, so no
CSE merges it with the forward). The backward then walks the graph's equations in reverse,
calling each one's VJP rule on those values. Gradients are those of ``f``; only what is kept
changes.

ember's VJP rules read primal values (sin's rule reads x and computes cos(x) when it runs),
where JAX's linearization keeps derived values (cos(x)); so the residuals of an
un-checkpointed function differ from JAX's, while under a policy they are the same values as
JAX's for the common policies (the checkpoint's arguments plus the saved dots or names).
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
import types

import numpy as np

from ..core import autograd as _ag
from ..core.primitive import Aval, Primitive, Tracer, bind, eager_mode
from ..core.tensor import Tensor
from ..ops.elementwise import zeros_like_v
from ..tree import tree_flatten, tree_map, tree_unflatten
from .custom import _DYN, _Flat, _impl_of, _merge, _split, _StagedFn
from .effects import draw_keys
from .staging.capture import stage
from .staging.ir import Graph, Lit, Var

__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies",
           "saved_residuals", "print_saved_residuals"]


# ---- checkpoint_name ---------------------------------------------------------------------

def _name_batch(args, dims, *, name):
    return bind(name_p, args[0], name=name), dims[0]


name_p = Primitive(
    "checkpoint_name", lambda x, *, name: x, view=True, linear=True,
    shape=lambda x, *, name: x,
    vjp=lambda ct, out, x, *, name: (ct,),
    jvp=lambda p, t, out, *, name: t[0],
    batch=_name_batch,
    doc="the identity, naming its value for checkpoint policies (save_only_these_names)")
name_p.vjp_reads = ()


def checkpoint_name(x, name):
    """``jax.ad_checkpoint.checkpoint_name``: ``x`` (an array or a pytree of arrays)
    unchanged, named ``name`` for the saving policies of :func:`checkpoint`
    (``checkpoint_policies.save_only_these_names(name)`` keeps it for the backward pass).

    >>> from ember.ad_checkpoint import checkpoint_name
    >>> checkpoint_name(ember.tensor([1., 2.]), "h")
    tensor([1., 2.])
    """
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a string, got {type(name).__name__} "
                        f"{name!r}")
    return tree_map(lambda v: bind(name_p, v, name=name) if isinstance(v, Tensor) else v, x)


# ---- policies ----------------------------------------------------------------------------

def _dot_prims():
    from ..ops.einsum import einsum_p
    from ..ops.linalg import linear_p, matmul_p
    return matmul_p, einsum_p, linear_p


def _has_batch_dims(prim, avals, params):
    """Whether a product has batch dims in dot_general's sense (a dim of both operands that
    is kept in the result, as the B of ``bij,bjk->bik``), not just free and contracted ones."""
    if prim.name == "matmul":
        return min(len(a.shape) for a in avals) > 2
    if prim.name == "einsum":
        ins, out = params["eq"].split("->")
        ops = ins.split(",")
        return any(c in out and sum(c in o for o in ops) > 1 for c in set(ins) - {","})
    return False


def everything_saveable(*_, **__):
    """Save every value the backward pass reads: no recomputation (plain reverse mode)."""
    return True


def nothing_saveable(*_, **__):
    """Save nothing but the checkpoint's inputs: recompute everything (the default)."""
    return False


class _DotsSaveable:
    def __init__(self, only_if_no_batch_dims):
        self.only_if_no_batch_dims = only_if_no_batch_dims

    def __call__(self, prim, *avals, **params):
        if prim not in _dot_prims():
            return False
        return not (self.only_if_no_batch_dims and _has_batch_dims(prim, avals, params))

    def __repr__(self):
        return ("dots_with_no_batch_dims_saveable" if self.only_if_no_batch_dims else
                "dots_saveable")


dots_saveable = checkpoint_dots = _DotsSaveable(False)
dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = _DotsSaveable(True)


class _Names:
    def __init__(self, names, keep):
        for n in names:
            if not isinstance(n, str):
                raise TypeError(f"checkpoint_policies: names must be strings, got {n!r}")
        self.names, self.keep = frozenset(names), keep

    def __call__(self, prim, *_, **params):
        if prim is not name_p:
            return False  # only named values are ever saved
        return (params["name"] in self.names) == self.keep

    def __repr__(self):
        f = "save_only_these_names" if self.keep else "save_any_names_but_these"
        return f"{f}({', '.join(map(repr, sorted(self.names)))})"


def save_only_these_names(*names):
    """Save only the values named (with :func:`checkpoint_name`) by one of ``names``."""
    return _Names(names, True)


def save_any_names_but_these(*names):
    """Save every named value except those named by one of ``names``."""
    return _Names(names, False)


def save_anything_except_these_names(*names):
    """Save every value (named or not) except those named by one of ``names``."""
    names = _Names(names, True).names

    def policy(prim, *_, **params):
        return not (prim is name_p and params["name"] in names)
    policy.__name__ = policy.__qualname__ = "save_anything_except_these_names"
    return policy


def save_and_offload_only_these_names(*, names_which_can_be_saved,
                                      names_which_can_be_offloaded, offload_src=None,
                                      offload_dst=None):
    """JAX's policy saving some named values on the device and offloading others to host
    memory; on the CPU host and device memory are one, so both sets are saved.

    >>> p = ember.checkpoint_policies.save_and_offload_only_these_names(
    ...     names_which_can_be_saved=["y"], names_which_can_be_offloaded=["z"],
    ...     offload_src="device", offload_dst="pinned_host")
    >>> p
    save_only_these_names('y', 'z')
    """
    saved, offloaded = set(names_which_can_be_saved), set(names_which_can_be_offloaded)
    both = saved & offloaded
    if both:
        raise ValueError(f"save_and_offload_only_these_names: names_which_can_be_saved and "
                         f"names_which_can_be_offloaded must not share names; both have "
                         f"{sorted(both)}")
    return _Names(tuple(saved | offloaded), True)


def offload_dot_with_no_batch_dims(offload_src=None, offload_dst=None):
    """JAX's policy offloading the results of products without batch dims to host memory;
    on the CPU, where host and device memory are one, they are saved
    (``dots_with_no_batch_dims_saveable``)."""
    return dots_with_no_batch_dims_saveable


def save_from_both_policies(policy_1, policy_2):
    """Save a value when either policy would (their logical or)."""
    def policy(prim, *avals, **params):
        a, b = policy_1(prim, *avals, **params), policy_2(prim, *avals, **params)
        if not (isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_))):
            raise ValueError(f"save_from_both_policies: the policies must return bools, got "
                             f"{a!r} and {b!r}; write the combined policy as a function")
        return bool(a or b)
    return policy


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable,
    nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable,
    checkpoint_dots=checkpoint_dots,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=checkpoint_dots_with_no_batch_dims,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_anything_except_these_names=save_anything_except_these_names,
    save_and_offload_only_these_names=save_and_offload_only_these_names,
    offload_dot_with_no_batch_dims=offload_dot_with_no_batch_dims,
    save_from_both_policies=save_from_both_policies)


# ---- the plan: what is saved, what is recomputed ------------------------------------------

def _reads(e, active_in):
    r = e.prim.vjp_reads
    if r is None:
        return range(len(e.ins))
    return r if type(r) is tuple else r(tuple(active_in))


class _RematPlan:
    """For one staged graph and a policy: the residual vars (saved by the forward), the
    equations the backward recomputes, and the forward graph with the residuals as extra
    outputs."""

    def __init__(self, graph, policy, sources):
        self.graph = graph
        eqns = graph.eqns
        inexact = lambda v: v.aval.dtype.is_inexact  # noqa: E731
        active = {id(v) for v in graph.invars if inexact(v)}
        self.active_eqn = []
        for e in eqns:
            a = e.prim.differentiable and any(isinstance(i, Var) and id(i) in active
                                              for i in e.ins)
            self.active_eqn.append(a)
            if a:
                active.update(id(o) for o in e.outs if inexact(o))
        self.active = active
        producer = {id(o): k for k, e in enumerate(eqns) for o in e.outs}
        saveable = []
        for e in eqns:
            s = policy(e.prim, *[i.aval for i in e.ins], **e.params)
            if not isinstance(s, (bool, np.bool_)):
                raise TypeError(f"checkpoint: the policy {policy!r} returned {s!r} for "
                                f"{e.prim.name}; a policy returns True (save) or False "
                                f"(recompute) (JAX's offloading policies are not supported "
                                f"on the CPU)")
            saveable.append(bool(s))
        need = []  # what the VJP rules read
        for k, e in enumerate(eqns):
            if self.active_eqn[k]:
                ins_active = [isinstance(i, Var) and id(i) in active for i in e.ins]
                need += [e.ins[i] for i in _reads(e, ins_active) if isinstance(e.ins[i], Var)]
                if e.prim.vjp_needs_out:
                    need += list(e.outs)
        invar_ids = {id(v) for v in graph.invars}
        saved, recompute, seen = set(), set(), set()
        stack = list(need)
        while stack:
            v = stack.pop()
            if id(v) in seen or id(v) in invar_ids:
                continue
            seen.add(id(v))
            k = producer[id(v)]
            if saveable[k]:
                saved.add(id(v))
            else:
                recompute.add(k)
                stack.extend(i for i in eqns[k].ins if isinstance(i, Var))
        self.res_vars = [o for e in eqns for o in e.outs if id(o) in saved]
        self.res_info = [_describe(eqns[producer[id(v)]], sources) for v in self.res_vars]
        self.fwd = _StagedFn(_G(Graph(graph.invars, eqns, list(graph.outs) + self.res_vars)))
        self.n_out = len(graph.outs)
        rec = [eqns[k] for k in sorted(recompute)]
        needed = {id(v) for v in need}
        self.rec_outs = [o for e in rec for o in e.outs if id(o) in needed]
        self.n_recomputed = len(rec)
        self.rec = rec

    def recompute_fn(self, ct_avals):
        """``(inputs, residuals, output cotangents (unused)) -> recomputed values``."""
        ct_vars = [Var(a) for a in ct_avals]
        return _StagedFn(_G(Graph(list(self.graph.invars) + self.res_vars + ct_vars,
                                  self.rec, self.rec_outs)))


class _G:
    __slots__ = ("graph",)

    def __init__(self, graph):
        self.graph = graph


class _Saved:
    """The residuals of one checkpointed call (a primitive param: unhashable)."""

    __hash__ = None

    def __init__(self, plan, values):
        self.plan, self.values = plan, values


def _describe(eqn, sources):
    src = sources.get(id(eqn.outs[0])) if sources else None
    where = f" from {src}" if src else ""
    if eqn.prim is name_p:
        return f"named '{eqn.params['name']}'{where}"
    return f"output of {eqn.prim.name}{where}"


# ---- the checkpoint primitive ------------------------------------------------------------

def _full_vjp(ct, args, flat):
    from .reverse import vjp
    _, pull = vjp(lambda *a: flat(*a), *args)
    return tuple(pull(list(ct)))


def _stand_in(aval):
    return Tensor._wrap(np.broadcast_to(np.zeros((), aval.dtype.np), aval.shape))


def _zeros(aval, like=None):
    if like is not None:
        return zeros_like_v(like)
    return Tensor._wrap(np.zeros(aval.shape, aval.dtype.np))


def _remat_vjp(ct, out, *args, flat, policy=None, residuals=None):
    ct = tuple(ct) if isinstance(ct, (tuple, list)) else (ct,)
    if residuals is None:  # no policy: recompute everything under vjp
        return _full_vjp(ct, args, flat)
    plan = residuals.plan
    g = plan.graph
    env = {id(v): a for v, a in zip(g.invars, args)}
    env.update((id(v), r) for v, r in zip(plan.res_vars, residuals.values))
    if plan.rec:
        cts_in = [c for c in ct if isinstance(c, Tensor)]
        rec = plan.recompute_fn([Aval(tuple(c.shape), c.dtype) for c in cts_in])
        vals = bind(remat_p, *args, *residuals.values, *cts_in, flat=rec)
        env.update((id(v), r) for v, r in zip(plan.rec_outs, vals))

    def read(x):
        if isinstance(x, Lit):
            return Tensor._wrap(x.val) if isinstance(x.val, np.ndarray) else x.val
        v = env.get(id(x))
        return v if v is not None else _stand_in(x.aval)  # a value the rule doesn't read
    cts = {}

    def add(k, c):
        prev = cts.get(k)
        cts[k] = c if prev is None else prev + c
    for o, c in zip(g.outs, ct):
        if isinstance(o, Var) and c is not None and id(o) in plan.active:
            add(id(o), c)
    for k in range(len(g.eqns) - 1, -1, -1):
        if not plan.active_eqn[k]:
            continue
        e = g.eqns[k]
        ocs = [cts.pop(id(o), None) for o in e.outs]
        if all(c is None for c in ocs):
            continue
        p = e.prim
        if p.multiple_results:
            c = tuple(ocs) if getattr(p, "vjp_accepts_none", False) else tuple(
                oc if oc is not None else _zeros(o.aval) for oc, o in zip(ocs, e.outs))
            o_val = tuple(read(o) for o in e.outs) if p.vjp_needs_out else None
        else:
            c = ocs[0]
            o_val = read(e.outs[0]) if p.vjp_needs_out else None
        prims = [read(i) for i in e.ins]
        if getattr(p, "vjp_takes_needed", False):
            needed = tuple(isinstance(i, Var) and id(i) in plan.active for i in e.ins)
            gs = p.vjp(c, o_val, *prims, needed=needed, **e.params)
        else:
            gs = p.vjp(c, o_val, *prims, **e.params)
        for i, gi in zip(e.ins, gs):
            if gi is not None and isinstance(i, Var) and id(i) in plan.active:
                add(id(i), gi)
    res = []
    for v, a in zip(g.invars, args):
        c = cts.get(id(v))
        res.append(c if c is not None else (zeros_like_v(a) if id(v) in plan.active
                                            else None))
    return tuple(res)


def _plan_of(flat, primals, policy):
    if not isinstance(flat, _StagedFn):  # a vmapped call: stage it once more
        closed = stage(flat, list(primals), "checkpoint")
        if closed.consts or closed.key_gens:
            return None, flat
        flat = _StagedFn(closed)
    plans = flat.__dict__.setdefault("plans", {})
    plan = plans.get(id(policy))
    if plan is None:
        plan = plans[id(policy)] = _RematPlan(flat.closed.graph, policy,
                                              getattr(flat.closed, "sources", None))
    return plan, flat


def _remat_forward(primals, *, flat, policy=None):
    """Reverse mode's forward: the outputs, and the residuals the policy saves."""
    if policy is None:
        if any(isinstance(p, Tracer) for p in primals):
            # staged (jit(grad(...))): the full VJP, which jit's passes prune as well; the
            # plan's second call would only add work there
            return bind(remat_p, *primals, flat=flat), None
        # JAX's policy=None saves nothing but the inputs, as nothing_saveable; the plan then
        # recomputes only the values the VJP rules read, and skips the rest of the forward
        policy = nothing_saveable
    plan, flat = _plan_of(flat, primals, policy)
    if plan is None:
        return bind(remat_p, *primals, flat=flat), None
    full = bind(remat_p, *primals, flat=plan.fwd, policy=policy)
    return list(full[:plan.n_out]), _Saved(plan, list(full[plan.n_out:]))


def _remat_jvp(primals, tangents, out, flat, policy=None):
    from .jvp import jvp
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    _, to = jvp(lambda *a: flat(*a), tuple(primals), tuple(ts))
    return list(to)


remat_p = Primitive("checkpoint", _impl_of("checkpoint"), multiple_results=True,
                    vjp=_remat_vjp, jvp=_remat_jvp)


def _remat_batch(args, dims, flat, policy=None):
    """vmap of the call: one checkpoint call of the vmapped function, keeping the policy
    (its reverse-mode forward stages the vmapped function to apply it)."""
    from .batching import vmap
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    vflat = _Flat(vmap(lambda *a: flat(*a), in_axes=tuple(dims), axis_size=size),
                  tree_flatten(tuple(args))[1], [_DYN] * len(args))
    extra = {} if policy is None else {"policy": policy}
    out = bind(remat_p, *args, flat=vflat, **extra)
    return out, [0] * len(out)


remat_p.batch = _remat_batch
remat_p.vjp_forward = _remat_forward


# ---- the public function ---------------------------------------------------------------

def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """``jax.checkpoint``: differentiating ``checkpoint(f)`` stores only f's inputs and
    recomputes its intermediates during the backward pass (memory for compute).

    ``policy(prim, *avals, **params) -> bool`` (see ``ember.checkpoint_policies``) chooses
    intermediates to keep instead: the values the backward pass reads that come from an
    operation the policy accepts are saved by the forward pass, the others are recomputed
    (``ember.ad_checkpoint.print_saved_residuals`` lists what is kept).

    ``f`` is staged on each call (as JAX traces it): values it captures by closure from an
    enclosing transform, or eager tensors that require grad (a module's parameters), become
    inputs of the checkpointed call, so they get their gradients; random draws inside use
    keys drawn once per call, so the recomputation sees the same draws. ``static_argnums``
    marks arguments that are Python values, not arrays; the call is never merged with an
    identical one (``prevent_cse`` is accepted and always in effect).

    >>> block = ember.checkpoint(lambda x: x.sin().sin())
    >>> ember.grad(lambda x: block(x).sum())(ember.tensor([0.]))
    tensor([1.])
    >>> keep_dots = ember.checkpoint(lambda w, x: (w @ x).tanh(),
    ...                              policy=ember.checkpoint_policies.dots_saveable)
    >>> ember.grad(lambda w: keep_dots(w, ember.ones(2)).sum())(ember.zeros(1, 2))
    tensor([[1., 1.]])
    """
    if not callable(fun):
        raise TypeError(f"checkpoint: expected a function, got {type(fun).__name__}; use "
                        f"functools.partial(ember.checkpoint, policy=...) as a decorator "
                        f"with arguments")
    if policy is not None and not callable(policy):
        raise TypeError(f"checkpoint: policy must be a function (prim, *avals, **params) -> "
                        f"bool such as ember.checkpoint_policies.dots_saveable, got {policy!r}")
    static = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        dyn = [i for i in range(len(args)) if i not in static]
        leaves, td, statics = _split(tuple(args[i] for i in dyn))
        flat = _Flat(lambda *d: fun(*_merge(args, dyn, d)), td, statics)
        closed = stage(flat, leaves, "checkpoint")
        keys = [draw_keys(g, op) for g, op in zip(closed.key_gens, closed.key_ops)]
        ins = [*leaves, *keys, *closed.consts]
        sf = _StagedFn(closed)
        if eager_mode() and _ag.is_grad_enabled() and any(
                isinstance(a, Tensor) and a.requires_grad for a in ins):
            # the tape keeps the residuals (none without a policy: the backward recomputes
            # only what the VJP rules read, as under grad)
            out = _eager_with_residuals(ins, sf, policy or nothing_saveable)
        elif policy is None:
            out = bind(remat_p, *ins, flat=sf)
        else:
            out = bind(remat_p, *ins, flat=sf, policy=policy)
        return tree_unflatten(flat.out_def, out)
    return wrapped


def _eager_with_residuals(ins, sf, policy):
    plan, sf = _plan_of(sf, ins, policy)
    with _ag.no_grad():
        full = bind(remat_p, *ins, flat=plan.fwd)
    saved = _Saved(plan, list(full[plan.n_out:]))
    arrays = [o._data for o in full[:plan.n_out]]
    return _ag._wrap_multi(remat_p, tuple(ins), {"flat": sf, "policy": policy,
                                                 "residuals": saved}, arrays)


remat = checkpoint


# ---- saved_residuals ---------------------------------------------------------------------

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_of_call():
    """'file:line:col (function)' of the innermost frame outside ember (JAX's format)."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(_PKG) and "importlib" not in fn and not fn.startswith("<frozen"):
            col = ""
            try:
                pos = list(f.f_code.co_positions())[f.f_lasti // 2]
                if pos[2] is not None:
                    col = f":{pos[2]}"
            except (AttributeError, IndexError):
                pass
            return f"{fn}:{f.f_lineno}{col} ({f.f_code.co_name})"
        f = f.f_back
    return None


def _arg_names(fun, args):
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        p = params[i].name if i < len(params) and params[i].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) \
            else (params[-1].name + f"[{i - len(params) + 1}]" if params and
                  params[-1].kind is inspect.Parameter.VAR_POSITIONAL else f"args[{i}]")
        from ..tree import keystr, tree_flatten_with_path
        for path, leaf in tree_flatten_with_path(a)[0]:
            names.append((p + keystr(path), leaf))
    return names


def saved_residuals(f, *args):
    """What reverse mode keeps for the backward pass of ``f(*args)``: a list of
    ``(aval, description)``, the arguments first, then the values made inside ``f``
    (JAX's ``saved_residuals``; its descriptions: ``from the argument x``, ``output of sin
    from file:line``, ``named 'h' from ...``). Inside a :func:`checkpoint` these are the
    policy's saved values; elsewhere the inputs (and outputs) that each operation's VJP rule
    reads -- primal values in ember, where JAX keeps derived ones (cos(x) for sin(x)).

    >>> from ember.ad_checkpoint import saved_residuals
    >>> saved_residuals(ember.checkpoint(lambda x: x.sin().sin()), ember.ones(3))
    [(float32[3], 'from the argument x')]
    """
    from .reverse import VJPTrace, VJPTracer, _Entry
    from ..core.primitive import new_main
    from ..ops.elementwise import as_jax_value, as_value
    from ..core.autograd import toposort
    named = _arg_names(f, args)
    leaves, td = tree_flatten(args)
    leaves = [as_jax_value(x) if isinstance(x, (Tensor, np.ndarray, float, int)) else x
              for x in leaves]
    # one tensor object per argument, so that one array passed twice (params = [W, W, W])
    # is named by each of its places, as JAX names it
    seen = set()
    for i, x in enumerate(leaves):
        if type(x) is Tensor:
            if id(x) in seen:
                leaves[i] = Tensor._wrap(x._data)
            seen.add(id(leaves[i]))
    sources = {}

    class _SourceTrace(VJPTrace):
        def process_primitive(self, prim, tracers, params):
            out = super().process_primitive(prim, tracers, params)
            src = source_of_call()
            for o in (out if prim.multiple_results else [out]):
                sources.setdefault(id(o.primal), (prim, params, src))
            return out
    with new_main(_SourceTrace, global_data=set()) as main:
        main.origin, main.fun = "saved_residuals", f
        trace = _SourceTrace(main)
        ins = [VJPTracer(trace, x, None) if isinstance(x, Tensor) else x for x in leaves]
        main.global_data.update(id(t) for t in ins if isinstance(t, VJPTracer))
        out = f(*tree_unflatten(td, ins))
        outs = [trace.full_raise(as_value(o)) for o in tree_flatten(out)[0]]
        entries = [o.entry for o in outs if o.entry is not None]
        arg_of = {id(t.primal): n for (n, _), t in zip(named, ins) if isinstance(t, VJPTracer)}
        kept = {}  # id -> (aval, description)

        def keep(v, desc=None):
            if not isinstance(v, Tensor) or id(v) in kept:
                return
            if desc is None:
                if id(v) in arg_of:
                    desc = f"from the argument {arg_of[id(v)]}"
                elif id(v) in sources:
                    prim, params, src = sources[id(v)]
                    where = f" from {src}" if src else ""
                    desc = (f"named '{params['name']}'{where}" if prim is name_p else
                            f"output of {prim.name}{where}")
                else:
                    desc = "from a constant"
            kept[id(v)] = (Aval(tuple(v.shape), v.dtype), desc)
        for e in toposort(entries):
            if not isinstance(e, _Entry):
                continue
            res = e.params.get("residuals") if e.prim is remat_p else None
            if e.prim is remat_p:
                for a in e.primals:
                    keep(a)
                if isinstance(res, _Saved):
                    for v, d in zip(res.values, res.plan.res_info):
                        keep(v, d)
                continue
            active = [p is not None for p in e.parents]
            for i in _reads(e, active) if e.prim.vjp_reads is not None else \
                    range(len(e.primals)):
                keep(e.primals[i])
            if e.prim.vjp_needs_out:
                for o in (e.out if e.n_out > 1 else [e.out]):
                    keep(o)
    args_first = [kept[id(t.primal)] for t in ins if isinstance(t, VJPTracer) and
                  id(t.primal) in kept]
    ids = {id(t.primal) for t in ins if isinstance(t, VJPTracer)}
    order = {k: i for i, k in enumerate(sources)}  # in the order they were made
    rest = sorted((k for k in kept if k not in ids), key=lambda k: order.get(k, len(order)))
    return args_first + [kept[k] for k in rest]


def print_saved_residuals(f, *args):
    """Print :func:`saved_residuals` one per line, as JAX's ``print_saved_residuals``:
    ``f32[3] from the argument x``.

    >>> from ember.ad_checkpoint import print_saved_residuals
    >>> print_saved_residuals(ember.checkpoint(lambda x: x.sin().sin()), ember.ones(3))
    f32[3] from the argument x
    """
    for aval, desc in saved_residuals(f, *args):
        print(f"{_short(aval)} {desc}")


_SHORT = {"float": "f", "int": "i", "uint": "u", "complex": "c", "bfloat": "bf"}


def _short(aval):
    """JAX's short form of an aval: ``f32[5,4]``."""
    n = aval.dtype.name
    for long, short in _SHORT.items():
        if n.startswith(long) and n[len(long):].isdigit():
            n = short + n[len(long):]
            break
    return f"{n}[{','.join(map(str, aval.shape))}]"
