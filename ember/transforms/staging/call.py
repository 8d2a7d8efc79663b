"""``jit`` and the eager tape: a jitted function called on tensors that require grad records
one tape node whose backward is a compiled graph.

From the jitted graph ``f`` we stage the joint function ``(inputs, cotangents) -> (outputs,
input cotangents)`` with ``vjp`` and split it by dependence on the cotangents (partial
evaluation): the equations that don't depend on them form the *forward* plan, which returns
the outputs plus the residuals the backward needs; the rest form the *backward* graph, which
maps (residuals, cotangents) to input cotangents. So ``loss = jit(f)(params...)`` followed by
``loss.backward()`` runs two compiled plans and never re-runs the forward. Constants of the
graph that require grad (parameters captured by closure) become inputs of the node, so their
``.grad`` is filled too.
"""
from __future__ import annotations

import numpy as np

from ...core import autograd as _ag
from ...core import dtypes as _dt
from ...core.primitive import Aval, Primitive, Tracer, bind
from ...core.tensor import Tensor
from ...ops.elementwise import zeros_like_v
from ..batching import vmap
from ..jvp import jvp
from ..reverse import vjp
from .codegen import compile_plan, eval_graph
from .ir import Eqn, Graph, Lit, Var
from .passes import dce, optimize
from .tracing import trace_to_graph


class GradPlan:
    """Forward and backward plans for one jitted signature (kept on its jit cache entry)."""

    # unhashable: no table keyed by primitive params (the eager backward's staged-VJP cache,
    # CSE) holds on to it, so it dies with its jitted function
    __hash__ = None

    def __init__(self, graph, live=()):
        lifted, g = _lift_grad_constants(graph)
        self.lifted = lifted           # constant tensors that require grad, now inputs
        self.graph = g
        n_in = len(g.invars)
        out_avals = [o.aval if isinstance(o, Var) else _aval(o.val) for o in g.outs]
        self.n_out = len(out_avals)
        self.diff_out = [a.dtype.is_floating_point for a in out_avals]
        ct_avals = [a for a, d in zip(out_avals, self.diff_out) if d]

        def joint(ins):
            a, ct = ins[:n_in], ins[n_in:]
            outs, pull = vjp(lambda *x: eval_graph(g, x), *a)
            it = iter(ct)
            cts = [next(it) if d else None for d in self.diff_out]
            grads = pull([c if c is not None else zeros_like_v(o) for c, o in zip(cts, outs)])
            return list(outs) + [gi if gi is not None else zeros_like_v(ai)
                                 for gi, ai in zip(grads, a)]
        in_avals = [v.aval for v in g.invars]
        joint_g, _ = trace_to_graph(joint, in_avals + ct_avals, "jit_backward")
        joint_g = optimize(joint_g, live)  # live: buffers that must be read at each call
        fwd, bwd, n_res = _split(joint_g, n_in, self.n_out)
        self.fwd_graph, self.bwd_graph, self.n_res = fwd, bwd, n_res
        self.fwd_plan = compile_plan(fwd)
        self.bwd_plan = compile_plan(bwd)
        self.in_float = [v.aval.dtype.is_floating_point for v in g.invars]

    def __repr__(self):
        return (f"<jit grad plan: forward {len(self.fwd_graph.eqns)} eqns, backward "
                f"{len(self.bwd_graph.eqns)} eqns, {self.n_res} residuals>")


def _aval(v):
    if isinstance(v, Tensor):
        return Aval(tuple(v.shape), v.dtype)
    a = np.asarray(v)
    return Aval(a.shape, _dt.from_np(a.dtype))


def _lift_grad_constants(g):
    """Constants that require grad (closure-captured parameters) become graph inputs."""
    lits, var_of = [], {}
    for e in g.eqns:
        for i in e.ins:
            if isinstance(i, Lit) and isinstance(i.val, Tensor) and i.val.requires_grad \
                    and id(i) not in var_of:
                var_of[id(i)] = Var(_aval(i.val))
                lits.append(i)
    if not lits:
        return [], g
    sub = lambda x: var_of.get(id(x), x)  # noqa: E731
    eqns = [Eqn(e.prim, [sub(i) for i in e.ins], e.params, e.outs) for e in g.eqns]
    return [l.val for l in lits], Graph(list(g.invars) + [var_of[id(l)] for l in lits], eqns,
                                        [sub(o) for o in g.outs])


def _split(joint, n_in, n_out):
    """Partial evaluation: (forward graph -> outputs + residuals, backward graph)."""
    ct_vars = joint.invars[n_in:]
    late = {id(v) for v in ct_vars}
    fwd_eqns, bwd_eqns = [], []
    for e in joint.eqns:
        if any(id(i) in late for i in e.ins if isinstance(i, Var)):
            bwd_eqns.append(e)
            late.update(id(o) for o in e.outs)
        else:
            fwd_eqns.append(e)
    outs, grads = joint.outs[:n_out], joint.outs[n_out:]
    # residuals: values made before the cotangents exist that the backward side reads
    needed, res = set(), []
    for x in [i for e in bwd_eqns for i in e.ins] + list(grads):
        if isinstance(x, Var) and id(x) not in late and id(x) not in needed:
            needed.add(id(x))
            res.append(x)
    fwd = dce(Graph(joint.invars[:n_in], fwd_eqns, list(outs) + res))
    bwd = dce(Graph(res + list(ct_vars), bwd_eqns, list(grads)))
    return fwd, bwd, len(res)


def _impl(*arrays, plan):
    return [np.asarray(r) for r in plan.fwd_plan(*arrays)]


def _shape(*avals, plan):
    return [o.aval if isinstance(o, Var) else _aval(o.val) for o in plan.fwd_graph.outs]


def _vjp(ct, out, *args, plan):
    ct = ct if isinstance(ct, (tuple, list)) else (ct,)
    if _ag.is_grad_enabled():
        # create_graph: differentiate the graph again from its inputs, so the backward is
        # itself recorded with every dependence on the inputs (the residual path included)
        outs, pull = vjp(lambda *a: eval_graph(plan.graph, a), *args)
        cts = [c if c is not None else zeros_like_v(o) for c, o in zip(ct, outs)]
        return tuple(g if f else None for g, f in zip(pull(cts), plan.in_float))
    res = list(out[plan.n_out:])
    cts = [c if c is not None else zeros_like_v(o)
           for c, o, d in zip(ct[:plan.n_out], out[:plan.n_out], plan.diff_out) if d]
    ins = res + cts
    if any(isinstance(x, Tracer) for x in ins):
        grads = eval_graph(plan.bwd_graph, ins)
    else:  # the compiled backward plan
        grads = [Tensor._wrap(np.asarray(g)) for g in plan.bwd_plan(*[x._data for x in ins])]
    return tuple(g if f else None for g, f in zip(grads, plan.in_float))


def _jvp(primals, tangents, out, plan):
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    _, to = jvp(lambda *a: eval_graph(plan.fwd_graph, a), tuple(primals), tuple(ts))
    return list(to)


def _batch(args, dims, plan):
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    out = vmap(lambda *a: eval_graph(plan.fwd_graph, a), in_axes=tuple(dims),
               axis_size=size)(*args)
    return out, [0] * len(out)


jit_call_p = Primitive("jit_call", _impl, shape=_shape, multiple_results=True, vjp=_vjp,
                       jvp=_jvp, batch=_batch, vjp_needs_out=True)
jit_call_p.vjp_accepts_none = True  # residual outputs never get cotangents: don't fill zeros


def call_with_tape(plan, ins):
    """Run the forward plan as one tape node; returns the user-visible outputs."""
    outs = bind(jit_call_p, *ins, *plan.lifted, plan=plan)
    return outs[:plan.n_out]
