"""Compiled VJP rules for the eager backward pass.

A VJP rule is ordinary ember code; run eagerly, every op in it pays Python dispatch. A
training loop calls the same rule with the same shapes every step, so the first-order
backward (``create_graph=False``) stages a rule once per signature (primitive, params, input
shapes/dtypes, scalar values) with ``jit``'s tracer, optimises it (constant folding, CSE,
DCE) and afterwards runs the generated straight-line NumPy plan. A signature is compiled on
its second use, so one-off shapes never pay for tracing; a rule that can't be staged (it
reads concrete data) keeps running eagerly. The plan calls the same kernels in the same
order as the eager rule, so gradients are identical either way.

The eager tape (``core/autograd.py``) does not import this module: ``ember`` installs
``run`` with ``core.autograd.set_vjp_executor`` on import; without it the tape runs each
rule op by op.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..backend.meta import MetaArray as _MetaArray
from ..core.errors import ConcretizationError
from ..core.tensor import Tensor
from .staging.codegen import compile_plan
from .staging.ir import Lit
from .staging.passes import _hashable_params, optimize
from .staging.tracing import trace_to_graph

_plans: dict = {}
_MAX_PLANS = 4096


class _CacheMark:
    """A cache entry that is not a compiled plan (yet): compared by identity."""

    def __init__(self, meaning):
        self.meaning = meaning

    def __repr__(self):
        return f"<{self.meaning}>"


# a signature met once: the next time its rule is staged and compiled
_SEEN_ONCE = _CacheMark("seen once: compile at the next use")
# a rule that needs concrete values (it can't be staged): always run it eagerly
_NOT_STAGEABLE = _CacheMark("not stageable: run the rule eagerly")


def _sig(x):
    if type(x) is Tensor:
        d = x._data
        return (d.shape, d.dtype.char)
    if isinstance(x, Tensor):  # a tracer or subclass: by shape and dtype
        d = x._data
        return (type(x), d.shape, d.dtype)
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return ("a", x.shape, x.dtype, x.tobytes() if x.size <= 8 else id(x))
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return ("s", type(x), x)


def run(prim, params, args, ct, out, needed):
    """``prim.vjp(ct, out, *args, **params)`` through a cached plan when possible.
    ``ct`` and ``out`` are Tensors (or tuples of them for multi-output primitives);
    ``needed[i]`` says whether the cotangent of ``args[i]`` is wanted (the plan computes
    only those)."""
    if params:
        pk = _hashable_params(params)
        if pk is None:  # unhashable params: a jitted call's graph (it stages its own backward)
            if getattr(prim, "vjp_takes_needed", False):
                return prim.vjp(ct, out, *args, needed=needed, **params)
            return prim.vjp(ct, out, *args, **params)
    else:
        pk = ()
    multi = isinstance(ct, tuple)
    if not multi and ct is not None:  # the common case, one output: no per-output loops
        d = ct._data
        if out is None:
            key = (prim, pk, needed, d.shape, d.dtype.char, None)
            ins = [d]
        else:  # the output's shape/dtype follow from the inputs
            key = (prim, pk, needed, d.shape, d.dtype.char, 0)
            ins = [d, out._data]
        cts, outs = (ct,), (out,)
    else:
        cts = ct if multi else (ct,)
        outs = out if multi else (out,)
        key = (prim, pk, needed)
        ins = []
        for c in cts:
            if c is None:  # a cotangent the rule accepts as absent
                key += (None,)
                continue
            d = c._data
            key += (d.shape, d.dtype.char)
            ins.append(d)
        for o in outs:
            if o is None:
                key += (None,)
            else:
                key += (0,)
                ins.append(o._data)
    for a in args:
        if type(a) is Tensor:
            d = a._data
            key += (d.shape, d.dtype.char)
            ins.append(d)
        else:
            key += (_sig(a),)
            if isinstance(a, Tensor):
                ins.append(a._data)
    # plans are per backend: the array type is part of the key; meta arrays have no data to
    # run a plan on (their rules run eagerly, as shape rules)
    array_type = type(ins[0]) if ins else None
    if array_type is _MetaArray:
        return prim.vjp(ct, out, *args, **params)
    key += (array_type,)
    entry = _plans.get(key)
    if entry is None or entry is _NOT_STAGEABLE:
        if entry is None:
            if len(_plans) >= _MAX_PLANS:
                _plans.clear()
            _plans[key] = _SEEN_ONCE
        return prim.vjp(ct, out, *args, **params)
    if entry is _SEEN_ONCE:
        entry = _compile(prim, params, args, cts, outs, multi, needed,
                         None if array_type is np.ndarray or array_type is None
                         else _backend.backend_of(ins[0]))
        _plans[key] = entry
        if entry is _NOT_STAGEABLE:
            return prim.vjp(ct, out, *args, **params)
    plan, mask, fresh = entry
    res = _backend.threads.run_plan(plan, ins)
    if not fresh:  # a constant of the plan must not be handed out (it could be modified)
        res = [_backend.namespace(r).array(r) for r in res]
    wrap = Tensor._wrap
    if len(res) == len(mask):  # every cotangent computed
        return tuple([wrap(r) for r in res])
    res = iter(res)
    return tuple([wrap(next(res)) if m else None for m in mask])


def _compile(prim, params, args, cts, outs, multi, needed, backend):
    has_ct = [c is not None for c in cts]
    has_out = [o is not None for o in outs]
    t_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    flat = [c for c in cts if c is not None] + [o for o in outs if o is not None] + \
        [args[i] for i in t_pos]
    mask = []

    def rule(ins):
        it = iter(ins)
        c = tuple(next(it) if h else None for h in has_ct)
        o = tuple(next(it) if h else None for h in has_out)
        a = list(args)
        for i in t_pos:
            a[i] = next(it)
        res = prim.vjp(c if multi else c[0], o if multi else o[0], *a, **params)
        mask[:] = [r is not None and n for r, n in zip(res, needed)]
        res = [r if m else None for r, m in zip(res, mask)]
        return [r for r in res if r is not None]
    try:
        graph, _ = trace_to_graph(rule, flat, name=f"{prim.name}_vjp")
    except ConcretizationError:  # the rule needs concrete values: keep it eager
        return _NOT_STAGEABLE
    graph = optimize(graph)
    fresh = not any(isinstance(o, Lit) for o in graph.outs)
    # a plan per backend: the graph's NumPy constants move to the inputs' backend once, here
    return compile_plan(graph, backend=backend), tuple(mask), fresh
