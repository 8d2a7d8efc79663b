"""A jitted function as one primitive, ``jit_call``, whose parameter is its staged graph: what
the eager tape records for a jitted call on tensors that require grad, and what ``grad``,
``vjp``, ``jvp`` and ``vmap`` see of a jitted function (an enclosing ``jit`` inlines the graph
instead). Its rules are derived from the graph, each staged once, optimised and compiled:

- VJP: the graph's joint forward/backward split by partial evaluation (below);
- JVP: the JVP of the graph, a graph of (primals, tangents) -> output tangents;
- batching: the vmap of the graph for the batch dims and size seen.

A ``Call`` (a plain graph) or a ``GradPlan`` (the forward that also returns the residuals
of its backward) is the primitive's parameter; each keeps the calls derived from it, so all
of them live as long as the jitted function's cache entry.

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


class Call:
    """A staged graph as the parameter of ``jit_call``: a compiled plan and, made on first
    use, the calls its rules bind (see the module docstring). Constants that require grad
    (parameters captured by closure) become inputs (``lifted``), so the tape reaches them."""

    # unhashable: no table keyed by primitive params (the eager backward's staged-VJP cache,
    # CSE) holds on to it, so it dies with its jitted function
    __hash__ = None

    def __init__(self, graph, live=(), plan=None):
        lifted, g = _lift_grad_constants(graph)
        self.lifted = lifted           # constant tensors that require grad, now inputs
        self.graph = g
        self.live = live
        self.fwd_graph = g             # what the primitive computes
        self.fwd_plan = plan if plan is not None and not lifted else compile_plan(g)
        self.n_out = len(g.outs)       # the outputs the caller sees (first of fwd_graph's)
        self.in_float = [v.aval.dtype.is_inexact for v in g.invars]
        self._derived = {}

    def bind(self, ins):
        """The caller's outputs of one call on ``ins`` (seen by the active transforms)."""
        return bind(jit_call_p, *ins, *self.lifted, plan=self)[:self.n_out]

    def _made(self, key, make):
        d = self._derived.get(key)
        if d is None:
            d = self._derived[key] = make()
        return d

    def grad_plan(self):
        """The forward with residuals and the backward of this call's graph."""
        return self._made("grad", lambda: GradPlan(self.graph, self.live))

    def full(self):
        """This call with every output of ``fwd_graph`` visible."""
        return self

    def jvp_call(self):
        """(primals, tangents) -> the tangents of every output of ``fwd_graph``."""
        def make():
            g, n = self.fwd_graph, len(self.fwd_graph.invars)

            def tangents(ins):
                return list(jvp(lambda *a: eval_graph(g, a), tuple(ins[:n]),
                                tuple(ins[n:]))[1])
            avals = [v.aval for v in g.invars]
            jg, _ = trace_to_graph(tangents, avals + avals, "jit_jvp")
            return Call(optimize(jg, self.live), self.live)
        return self._made("jvp", make)

    def batched(self, args, dims, size):
        """The vmap of ``fwd_graph`` for these batch dims and size (outputs batched at 0)."""
        def make():
            g = self.fwd_graph

            def fun(ins):
                return list(vmap(lambda *a: eval_graph(g, a), in_axes=tuple(dims),
                                 axis_size=size)(*ins))
            bg, _ = trace_to_graph(fun, [_aval(a) for a in args], "jit_vmap")
            return Call(optimize(bg, self.live), self.live)
        return self._made(("vmap", tuple(dims), size), make)

    def __repr__(self):
        return f"<jit call: {len(self.fwd_graph.eqns)} eqns>"


class GradPlan(Call):
    """Forward and backward plans of a graph: the forward also returns the residuals the
    backward reads, so a backward pass never re-runs the forward."""

    def __init__(self, graph, live=()):
        lifted, g = _lift_grad_constants(graph)
        self.lifted = lifted
        self.graph = g
        self.live = live
        self._derived = {}
        n_in = len(g.invars)
        out_avals = [o.aval if isinstance(o, Var) else _aval(o.val) for o in g.outs]
        self.n_out = len(out_avals)
        self.diff_out = [a.dtype.is_inexact for a in out_avals]
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
        self.joint_graph = joint_g
        self.fwd_graph, self.bwd_graph, self.n_res = fwd, bwd, n_res
        self.fwd_plan = compile_plan(fwd)
        self.bwd_plan = compile_plan(bwd)
        self.in_float = [v.aval.dtype.is_inexact for v in g.invars]

    def grad_plan(self):
        return self

    def joint_plan(self, wanted):
        """(inputs, output cotangents) -> outputs + the cotangents of the inputs at the
        positions ``wanted`` (a tuple), in one compiled plan: the forward and the backward of
        one ``value_and_grad`` call, with no residuals crossing Python and no work for the
        gradients nobody asked for (the same equations as the two plans: the same bits)."""
        def make():
            j = self.joint_graph
            outs = list(j.outs[:self.n_out]) + [j.outs[self.n_out + i] for i in wanted]
            return compile_plan(dce(Graph(j.invars, j.eqns, outs)))
        return self._made(("joint", wanted), make)

    def full(self):
        return self._made("full", lambda: Call(self.fwd_graph, self.live, self.fwd_plan))

    def backward_plan(self, wanted):
        """The compiled backward for the input cotangents at the positions ``wanted`` only
        (a tuple): the eager tape's node knows which inputs require grad, and the others'
        cotangents (a convolution's input gradient for the data batch: a transposed
        convolution) are never computed. Same equations as ``bwd_plan``: the same bits."""
        def make():
            b = self.bwd_graph
            return compile_plan(dce(Graph(b.invars, b.eqns, [b.outs[i] for i in wanted])))
        return self._made(("bwd", wanted), make)

    def backward_call(self):
        """(residuals, cotangents) -> input cotangents, as a call of its own."""
        return self._made("bwd", lambda: Call(self.bwd_graph, self.live, self.bwd_plan))

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
    return [np.asanyarray(r) for r in plan.fwd_plan(*arrays)]


def _shape(*avals, plan):
    return [o.aval if isinstance(o, Var) else _aval(o.val) for o in plan.fwd_graph.outs]


def _needs_recording(xs):
    """Values a backward must be seen with: tracers of a transform, or (with grad mode on,
    i.e. ``create_graph``) tensors that require grad."""
    grad_on = _ag.is_grad_enabled()
    return any(isinstance(x, Tracer) or (grad_on and isinstance(x, Tensor) and x.requires_grad)
               for x in xs)


def _vjp(ct, out, *args, plan, needed=None):
    ct = tuple(ct) if isinstance(ct, (tuple, list)) else (ct,)
    if out is not None and not isinstance(out, (tuple, list)):
        out = (out,)  # the tape hands a one-output node's output alone (no residuals: linear)
    gp = plan.grad_plan()
    if gp is plan and all(c is None for c in ct[gp.n_out:]):
        res, outs = list(out[gp.n_out:]), out[:gp.n_out]
    else:
        # no residuals at hand (a plain call), or cotangents for them (a second derivative
        # through the residuals): run the forward of the graph of every output, with its
        # residuals
        if gp is plan:
            gp = plan.full().grad_plan()
        full = bind(jit_call_p, *args, plan=gp)
        res, outs = list(full[gp.n_out:]), full[:gp.n_out]
    cts = [c if c is not None else zeros_like_v(o)
           for c, o, d in zip(ct, outs, gp.diff_out) if d]
    ins = res + cts
    if _needs_recording(ins):  # the backward is itself one call, seen by the transforms
        grads = bind(jit_call_p, *ins, plan=gp.backward_call())
    elif needed is not None and len(needed) == len(plan.in_float) and not all(needed):
        # the eager tape says which inputs want a cotangent: compute only those
        wanted = tuple(i for i, (n, f) in enumerate(zip(needed, plan.in_float)) if n and f)
        got = iter(gp.backward_plan(wanted)(*[x._data for x in ins]))
        keep = set(wanted)
        return tuple(Tensor._wrap(np.asanyarray(next(got))) if i in keep else None
                     for i in range(len(needed)))
    else:  # the compiled backward plan
        grads = [Tensor._wrap(np.asanyarray(g)) for g in gp.bwd_plan(*[x._data for x in ins])]
    return tuple(g if f else None for g, f in zip(grads, plan.in_float))


def _jvp(primals, tangents, out, plan):
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    return bind(jit_call_p, *primals, *ts, plan=plan.jvp_call())


def _batch(args, dims, plan):
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    out = bind(jit_call_p, *args, plan=plan.batched(args, dims, size))
    return out, [0] * len(out)


jit_call_p = Primitive("jit_call", _impl, shape=_shape, multiple_results=True, vjp=_vjp,
                       jvp=_jvp, batch=_batch, vjp_needs_out=True)
jit_call_p.vjp_accepts_none = True  # residual outputs never get cotangents: don't fill zeros
# the eager backward's VJP executor passes the node's ``needed`` (which inputs want a
# cotangent) to this rule
jit_call_p.vjp_takes_needed = True


def call_with_tape(plan, ins):
    """Run the forward plan as one tape node; returns the user-visible outputs."""
    return plan.bind(ins)
