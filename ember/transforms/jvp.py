"""Forward-mode differentiation: an interpreter whose values carry (primal, tangent)."""
from __future__ import annotations

from ..core.primitive import Aval, Trace, Tracer, bind, new_main
from ..core.tensor import Tensor
from ..ops.elementwise import as_jax_value, as_value, zeros_like_v
from ..tree import tree_flatten, tree_map, tree_unflatten


def _zero_tangent(val):
    if isinstance(val, Tensor):
        return zeros_like_v(val)
    return val * 0  # a NumPy scalar constant


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        p = self.primal
        return Aval(tuple(p.shape), p.dtype)

    def concrete_value(self):  # Python control flow on a concrete primal, as in JAX
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    def pure(self, val):
        return JVPTracer(self, val, _zero_tangent(val))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if prim.jvp_with_primal:
            out, tan = prim.jvp(primals, tangents, None, **params)
        else:
            out = bind(prim, *primals, **params)
            tan = prim.jvp(primals, tangents, out, **params)
        if prim.multiple_results:
            return [JVPTracer(self, o, t) for o, t in zip(out, tan)]
        return JVPTracer(self, out, tan)


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J(primals) @ tangents)`` as ``jax.jvp``; pytrees in and out.

    >>> ember.jvp(lambda x: x ** 2, (ember.tensor([1., 2.]),), (ember.tensor([1., 0.]),))
    (tensor([1., 4.]), tensor([2., 0.]))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (one entry per argument)")
    p_leaves, p_def = tree_flatten(tuple(primals))
    t_leaves, t_def = tree_flatten(tuple(tangents))
    if p_def != t_def:
        raise ValueError(f"jvp: primals and tangents have different structures: {p_def} vs "
                         f"{t_def}")
    for p, t in zip(p_leaves, t_leaves):
        if tuple(as_value(p).shape) != tuple(as_value(t).shape):
            raise ValueError(f"jvp: a tangent has shape {tuple(as_value(t).shape)} but its "
                             f"primal has shape {tuple(as_value(p).shape)}")
    with new_main(JVPTrace) as main:
        main.origin = f"jvp({getattr(fun, '__name__', 'fun')})"
        main.fun = fun
        trace = JVPTrace(main)
        ins = [JVPTracer(trace, as_jax_value(p), as_jax_value(t))
               for p, t in zip(p_leaves, t_leaves)]
        out = fun(*tree_unflatten(p_def, ins))
        aux = None
        if has_aux:
            out, aux = out
        o_leaves, o_def = tree_flatten(out)
        outs = [trace.full_raise(o) if isinstance(o, Tensor) else trace.pure(as_value(o))
                for o in o_leaves]
        prim_out = tree_unflatten(o_def, [o.primal for o in outs])
        tan_out = tree_unflatten(o_def, [o.tangent for o in outs])
        if has_aux:  # the auxiliary values leave without their tangents
            aux = tree_map(lambda a: trace.full_raise(a).primal if isinstance(a, Tensor)
                           else a, aux)
    if has_aux:
        return prim_out, tan_out, aux
    return prim_out, tan_out
