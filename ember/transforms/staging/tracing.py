"""Staging: trace a Python function with abstract values into a Graph."""
from __future__ import annotations

import numpy as np

from ...core import dtypes as _dt
from ...core.primitive import Aval, Trace, Tracer, new_main
from ...core.tensor import Tensor
from ...core import autograd as _ag
from ...tree import tree_flatten
from ..effects import Effects
from .ir import Eqn, Graph, Lit, Var


class StageTracer(Tracer):
    __slots__ = ("gvar",)
    staged = True

    def __init__(self, trace, var):
        self._trace = trace
        self.gvar = var

    @property
    def aval(self):
        return self.gvar.aval


class CapturedTracerError(TypeError):
    """A function being staged by ``jit`` closes over a value of an enclosing transform."""


class _Builder:
    def __init__(self):
        self.eqns = []
        self.consts = {}  # id(value) -> Lit
        self.effects = Effects()

    def lit(self, val):
        k = id(val)
        if k not in self.consts:
            self.consts[k] = Lit(val)
        return self.consts[k]


class StageTrace(Trace):
    def pure(self, val):
        if isinstance(val, Tracer):
            raise CapturedTracerError("jit: a value from an outer transform was captured by "
                                      "a jitted function; pass it as an argument instead")
        b = self.main.global_data
        return StageTracer(self, b.lit(val))

    lift = pure

    def new_input(self, aval):
        """A tracer of a new graph input that is not one of the function's arguments (the
        key of a stateful generator); the caller adds its ``gvar`` to the graph's inputs."""
        return StageTracer(self, Var(aval))

    def process_primitive(self, prim, tracers, params):
        ins = [t.gvar for t in tracers]
        avals = [v.aval for v in ins]
        out_avals = prim.abstract_eval(avals, params)
        if prim.multiple_results:
            outs = [Var(a) for a in out_avals]
        else:
            outs = [Var(out_avals)]
        self.main.global_data.eqns.append(Eqn(prim, ins, params, outs))
        tr = [StageTracer(self, o) for o in outs]
        return tr if prim.multiple_results else tr[0]


def _abstract(x):
    if isinstance(x, Aval):
        return x
    if isinstance(x, Tensor):
        return Aval(tuple(x.shape), x.dtype)
    a = np.asarray(x)
    return Aval(a.shape, _dt.from_np(a.dtype))


def trace_to_graph(fun, args, name="fun", effects=False, user_fun=None):
    """Stage ``fun(*args)`` (args: flat list of values) into a Graph; returns (graph, out_def),
    or (graph, out_def, Effects) with ``effects``: then the graph also takes one key per
    stateful generator drawn from (after the arguments) and also returns the new values of
    the buffers updated (after the outputs)."""
    with new_main(StageTrace, global_data=_Builder(), dynamic=True) as main:
        main.origin, main.fun = f"jit({name})", user_fun
        trace = StageTrace(main)
        invars = [Var(_abstract(a)) for a in args]
        ins = [StageTracer(trace, v) for v in invars]
        with _ag.no_grad():
            out = fun(ins)
        o_leaves, o_def = tree_flatten(out)
        outs = []
        for o in o_leaves:
            if isinstance(o, StageTracer) and o._trace.main is main:
                outs.append(o.gvar)
            elif isinstance(o, Tensor) and not isinstance(o, Tracer):
                outs.append(main.global_data.lit(o))
            elif isinstance(o, (bool, int, float, complex, np.ndarray, np.generic)):
                # a constant result (``return 1``, ``return np.ones(3)``): an array, as JAX
                # returns it, with a JAX-facing entry point's dtype (``canonical_value``)
                outs.append(main.global_data.lit(Tensor._wrap(np.array(_dt.canonical_value(o)))))
            else:
                raise TypeError(f"jit({name}): outputs must be tensors (or pytrees of tensors), "
                                f"got {type(o).__name__}")
        fx = main.global_data.effects
        if not effects:
            if fx.gens:
                raise ValueError(f"{name}: the function draws from the stateful random "
                                 f"generator (dropout, ember.rand, ...), which this transform "
                                 f"can't thread through; pass explicit ember.random keys")
            return Graph(invars, main.global_data.eqns, outs), o_def
        for _, v in fx.updates:
            outs.append(v.gvar if isinstance(v, StageTracer) else main.global_data.lit(v))
    return Graph(invars + fx.key_vars, main.global_data.eqns, outs), o_def, fx

