"""``linearize``: a function's value at a point and its JVP there as a staged linear function.

``jvp`` of ``fun`` is traced once into a graph over (primals, tangents), as ``jit`` traces,
and split by dependence on the tangents (the partial evaluation ``jit``'s tape node uses): the
part that needs only the primals runs now and yields the outputs and the residuals; the rest
is the linear map, compiled into a plan, that ``f_jvp`` runs for each new tangent without
repeating the primal computation. Python control flow on values therefore needs ``ember.cond``
and friends, as under ``jit``.
"""
from __future__ import annotations

import numpy as np

from ..core import primitive
from ..core.primitive import Aval, Tracer
from ..core.tensor import Tensor
from ..ops.elementwise import as_value
from ..tree import tree_flatten, tree_unflatten
from .staging.call import _split
from .staging.codegen import compile_plan, eval_graph
from .staging.passes import optimize
from .staging.tracing import trace_to_graph
from .jvp import jvp


def _run(graph, plan, args):
    """The compiled plan on concrete values; through bind when a transform is active."""
    if primitive.transforms_active() or any(isinstance(a, Tracer) for a in args):
        return list(eval_graph(graph, list(args)))
    return [Tensor._wrap(np.asanyarray(r)) for r in plan(*[a._data for a in args])]


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` as ``jax.linearize``: ``f_jvp(*tangents)`` equals
    ``jvp(fun, primals, tangents)[1]``; pytrees in and out.

    >>> y, f_jvp = ember.linearize(lambda x: x.sin(), ember.tensor([0., 1.]))
    >>> y, f_jvp(ember.tensor([1., 1.]))                 # sin(x), cos(x) * t
    (tensor([0.0000, 0.8415]), tensor([1.0000, 0.5403]))
    """
    name = getattr(fun, "__name__", "fun")
    leaves, p_def = tree_flatten(primals)
    leaves = [as_value(x) for x in leaves]
    avals = [Aval(tuple(x.shape), x.dtype) for x in leaves]
    for i, a in enumerate(avals):
        if not a.dtype.is_inexact:
            raise TypeError(f"linearize({name}): input leaf {i} has dtype {a.dtype.name}; "
                            f"linearize at floating-point inputs only (close over the others)")
    n = len(leaves)
    out_def = []

    def joint(ins):
        ps = tree_unflatten(p_def, ins[:n])
        ts = tree_unflatten(p_def, ins[n:])
        out, tan = jvp(fun, tuple(ps), tuple(ts))
        o_leaves, o_def = tree_flatten(out)
        out_def.append(o_def)
        return list(o_leaves) + list(tree_flatten(tan)[0])
    graph = optimize(trace_to_graph(joint, avals + avals, f"linearize({name})")[0])
    n_out = len(graph.outs) // 2
    known, linear, _ = _split(graph, n, n_out)
    vals = _run(known, compile_plan(known), leaves)
    outs, residuals = vals[:n_out], vals[n_out:]
    plan = compile_plan(linear)

    def f_jvp(*tangents):
        t_leaves, t_def = tree_flatten(tangents)
        if t_def != p_def:
            raise ValueError(f"linearize({name}): f_jvp takes tangents structured like the "
                             f"primals, {p_def}; got {t_def}")
        ts = [as_value(t) for t in t_leaves]
        for i, (t, a) in enumerate(zip(ts, avals)):
            if tuple(t.shape) != a.shape or t.dtype != a.dtype:
                raise ValueError(f"linearize({name}): tangent leaf {i} is {t.dtype.name}"
                                 f"{list(t.shape)} but its primal is {a.dtype.name}"
                                 f"{list(a.shape)}")
        return tree_unflatten(out_def[0], _run(linear, plan, residuals + ts))
    return tree_unflatten(out_def[0], outs), f_jvp


def linear_transpose(fun, *primals, reduce_axes=()):
    """``jax.linear_transpose``: the transpose of the linear function ``fun``, as a function
    of a cotangent shaped like ``fun``'s output that returns a tuple of cotangents shaped
    like ``primals`` (tensors, NumPy data, Python numbers or ``ShapeDtypeStruct``s: only
    their shapes and dtypes are read). ``fun`` must be linear in its arguments: the result
    is the vector-Jacobian product of ``fun`` at zero, which for a non-linear function is the
    transpose of its derivative there (JAX refuses such a function).

    >>> t = ember.linear_transpose(lambda x: 2 * x.sum(), ember.ShapeDtypeStruct((3,), ember.float32))
    >>> t(ember.tensor(1.))
    (tensor([2., 2., 2.]),)
    """
    from ..core import dtypes as _dt
    from ..ops.creation_ops import zeros
    from ..ops.elementwise import as_jax_value
    from .reverse import vjp
    if not callable(fun):
        raise TypeError(f"linear_transpose: expected a function, got {type(fun).__name__}")
    if reduce_axes:
        raise NotImplementedError("linear_transpose: reduce_axes (removed from JAX) is not "
                                  "supported; sum the result over the axes instead")
    leaves, td = tree_flatten(primals)
    avals = []
    for x in leaves:
        if not isinstance(x, (Tensor, Aval)):
            x = np.asarray(_dt.canonical_value(x))
        avals.append(Aval(tuple(x.shape), x.dtype if isinstance(x, (Tensor, Aval))
                          else _dt.from_np(x.dtype)))
    for a in avals:
        if not a.dtype.is_inexact:
            raise TypeError(f"linear_transpose: the primals must be floating or complex, got "
                            f"{a} (an integer input has no cotangent)")
    point = tree_unflatten(td, [zeros(a.shape, dtype=a.dtype) for a in avals])
    out, pull = vjp(fun, *point)
    out_leaves, out_def = tree_flatten(out)

    def transposed(out_cotangent):
        ct_leaves, ct_def = tree_flatten(out_cotangent)
        if ct_def != out_def:
            raise TypeError(f"linear_transpose: the cotangent's structure {ct_def} does not "
                            f"match the function's output {out_def}")
        cts = []
        for c, o in zip(ct_leaves, out_leaves):
            c = as_jax_value(c)
            if tuple(c.shape) != tuple(o.shape):
                raise TypeError(f"linear_transpose: a cotangent of shape {tuple(c.shape)} for "
                                f"an output of shape {tuple(o.shape)}")
            cts.append(c.to(o.dtype) if c.dtype != o.dtype else c)
        return tuple(pull(tree_unflatten(out_def, cts)))
    return transposed
