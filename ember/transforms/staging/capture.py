"""Staging a sub-function that may capture values from its surroundings.

``stage(fun, args, name)`` traces ``fun(*args)`` like ``jit`` does, except that a value from an
enclosing transform (a tracer) or an eager tensor that requires grad, met as a closure
constant, becomes an extra graph input (``Closed.consts``) instead of an error or a baked-in
constant. Structured control flow (``cond``, ``scan``, ``while_loop``) and ``checkpoint`` stage
their sub-functions this way, so closures over parameters differentiate as in JAX.
"""
from __future__ import annotations

import functools

from ...core import autograd as _ag
from ...core.primitive import Aval, Tracer, new_main
from ...core.tensor import Tensor
from ...ops.elementwise import as_value
from ...tree import tree_flatten
from .codegen import compile_plan
from .ir import Graph, Var
from .passes import optimize
from .tracing import StageTrace, StageTracer, _Builder, _abstract


class CaptureTrace(StageTrace):  # effects.py finds it on the trace stack by this name
    """Like jit's tracer, but a value from an enclosing transform (or an eager tensor that
    requires grad) becomes an extra graph input instead of an error or a constant."""

    def pure(self, val):
        b = self.main.global_data
        if isinstance(val, Tracer) or (isinstance(val, Tensor) and val.requires_grad):
            k = id(val)
            if k not in b.captured:
                v = Var(Aval(tuple(val.shape), val.dtype))
                b.captured[k] = (val, v)
            return StageTracer(self, b.captured[k][1])
        return StageTracer(self, b.lit(val))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        out = super().process_primitive(prim, tracers, params)
        src = self.main.global_data.sources
        if src is not None:  # checkpoint: where each value was made, for saved_residuals
            from ..remat import source_of_call
            src[id((out if prim.multiple_results else [out])[0].gvar)] = source_of_call()
        return out


class Closed:
    """A staged sub-function: graph over (inputs..., keys..., captured...); its compiled plan
    is made on first use."""

    def __init__(self, graph, consts, out_def):
        self.graph = optimize(graph)
        self.consts = consts
        self.out_def = out_def
        self.out_avals = [o.aval if isinstance(o, Var) else _abstract(o.val)
                          for o in self.graph.outs]

    @functools.cached_property
    def plan(self):
        return compile_plan(self.graph)

    def __repr__(self):
        return f"<graph {len(self.graph.eqns)} eqns>"


def stage(fun, args, name):
    """Stage ``fun(*args) -> pytree of tensors`` (args: flat list of tensors or avals)."""
    b = _Builder()
    b.captured = {}
    b.sources = {} if name == "checkpoint" else None
    with new_main(CaptureTrace, global_data=b, dynamic=True) as main:
        main.origin = name
        trace = CaptureTrace(main)
        invars = [Var(a if isinstance(a, Aval) else _abstract(a)) for a in args]
        ins = [StageTracer(trace, v) for v in invars]
        with _ag.no_grad():
            out = fun(*ins)
        leaves, out_def = tree_flatten(out)
        outs = []
        for o in leaves:
            o = as_value(o)
            t = trace.full_raise(o)
            outs.append(t.gvar)
    captured = list(b.captured.values())
    fx = b.effects  # a body that draws from a stateful generator takes a key per call/step
    g = Graph(invars + fx.key_vars + [v for _, v in captured], b.eqns, outs)
    closed = Closed(g, [c for c, _ in captured], out_def)
    closed.key_gens, closed.key_ops = list(fx.gens), list(fx.ops)
    closed.sources = b.sources
    return closed
