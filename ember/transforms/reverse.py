"""Reverse mode as a transform: ``vjp``, ``grad``, ``value_and_grad``, ``jacrev``, ``hessian``.

An interpreter level whose values carry (primal, tape entry). Running ``fun`` records, for
every primitive applied, the primitive, its params, its primal inputs and output; the backward
pass then calls each primitive's ``vjp`` rule in reverse order. The rules bind primitives on
primal values, which belong to the levels below, so outer transforms see the backward pass:
``grad(grad(f))``, ``vmap(grad(f))`` (per-example gradients) and ``jvp(grad(f))``
(Hessian-vector products) all work.
"""
from __future__ import annotations

from contextlib import contextmanager

from ..core import dtypes as _dt
from ..core.autograd import walk
from ..core.primitive import Aval, Trace, Tracer, bind, new_main
from ..core.tensor import Tensor
from ..ops.elementwise import as_jax_value, as_value, cast, full_like_traced, stop_gradient_p, zeros_like_v
from ..tree import tree_flatten, tree_unflatten


class _Entry:
    """One recorded primitive application: a node of the shared reverse-mode engine
    (``core.autograd.walk``); ``parents`` holds ``(entry, output index, tracer)`` per input
    that needs a gradient (``entry`` None: an input of the transform) or ``None``."""

    __slots__ = ("prim", "params", "primals", "out", "parents", "n_out")
    hooks = None  # (tensor hooks exist only on the eager tape)

    def __init__(self, prim, params, primals, out, parents, n_out):
        self.prim, self.params, self.primals, self.out = prim, params, primals, out
        self.parents, self.n_out = parents, n_out


class VJPTracer(Tracer):
    __slots__ = ("primal", "entry", "oidx")

    def __init__(self, trace, primal, entry, oidx=0):
        self._trace = trace
        self.primal = primal
        self.entry = entry  # None for inputs and constants
        self.oidx = oidx

    @property
    def aval(self):
        p = self.primal
        return Aval(tuple(p.shape), p.dtype)

    def concrete_value(self):  # Python control flow on a concrete primal, as in JAX
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p


class VJPTrace(Trace):
    def pure(self, val):
        return VJPTracer(self, val, None)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals = [t.primal for t in tracers]
        gd = self.main.global_data
        if not prim.differentiable or all(t.entry is None and id(t) not in gd
                                          for t in tracers):
            out = bind(prim, *primals, **params)
            if prim.multiple_results:
                return [VJPTracer(self, o, None) for o in out]
            return VJPTracer(self, out, None)
        fwd = prim.vjp_forward
        if fwd is not None:  # the rule's own forward: outputs and residuals for its vjp
            out, res = fwd(primals, **params)
            params = dict(params, residuals=res)
        else:
            out = bind(prim, *primals, **params)
        parents = [(t.entry, t.oidx, t) if (t.entry is not None or id(t) in gd) else None
                   for t in tracers]
        n = len(out) if prim.multiple_results else 1
        entry = _Entry(prim, params, primals, out, parents, n)
        if prim.multiple_results:
            return [VJPTracer(self, o, entry, i) for i, o in enumerate(out)]
        return VJPTracer(self, out, entry)


def _add(a, b):
    return b if a is None else (a if b is None else a + b)


def _entry_vjp(e, outs):
    if e.n_out == 1:
        ct, out = outs[0], e.out
    else:
        ct = tuple(outs) if getattr(e.prim, "vjp_accepts_none", False) else \
            tuple(g if g is not None else zeros_like_v(o) for g, o in zip(outs, e.out))
        out = tuple(e.out)
    if getattr(e.prim, "vjp_takes_needed", False):  # only the cotangents that flow on
        return e.prim.vjp(ct, out if e.prim.vjp_needs_out else None, *e.primals,
                          needed=tuple([p is not None for p in e.parents]), **e.params)
    return e.prim.vjp(ct, out if e.prim.vjp_needs_out else None, *e.primals, **e.params)


def _backward(out_tracers, out_cts, in_tracers):
    """Cotangents of ``in_tracers`` (zeros where none arrives), by the engine the eager tape
    uses."""
    cts, leaf_cts = {}, {}
    for t, ct in zip(out_tracers, out_cts):
        if t.entry is not None:
            key = (id(t.entry), t.oidx)
            cts[key] = _add(cts.get(key), ct)
        else:  # an input (or a constant) returned as it is
            prev = leaf_cts.get(id(t))
            leaf_cts[id(t)] = (t, _add(prev[1] if prev else None, ct))
    walk([t.entry for t in out_tracers], cts, leaf_cts, _entry_vjp, _add)
    res = []
    for t in in_tracers:
        g = leaf_cts.get(id(t))
        res.append(zeros_like_v(t.primal) if g is None else g[1])
    return res


@contextmanager
def _reverse_trace(fun, primals):
    """A reverse-mode trace of ``fun``: ``(main, trace, ins)``, ``ins`` the primals as its
    differentiable input tracers."""
    with new_main(VJPTrace, global_data=set()) as main:
        main.origin = f"vjp({getattr(fun, '__name__', 'fun')})"
        main.fun = fun
        trace = VJPTrace(main)
        ins = [VJPTracer(trace, p, None) for p in primals]
        main.global_data.update(id(t) for t in ins)
        yield main, trace, ins


def vjp_flat(fun, primals):
    """``fun(*primals) -> list of tensors`` under reverse mode: ``(outputs, pull)`` where
    ``pull(cts)`` takes one cotangent per output, None for a zero one (nothing flows back
    from it: a symbolic zero, as JAX's), and returns one cotangent per primal."""
    ps = [as_jax_value(p) for p in primals]
    with _reverse_trace(fun, ps) as (main, trace, ins):
        outs = [trace.full_raise(as_value(o)) for o in fun(*ins)]

    def pull(cts):
        kept = [(o, cast(as_value(c), o.primal.dtype)) for o, c in zip(outs, cts)
                if c is not None]
        return _backward([o for o, _ in kept], [c for _, c in kept], ins)
    return [o.primal for o in outs], pull


def vjp(fun, *primals, has_aux=False):
    """``(fun(*primals), vjp_fn)`` as ``jax.vjp``: ``vjp_fn(cotangent)`` returns one cotangent
    per primal (pytrees in and out).

    >>> y, pullback = ember.vjp(lambda x: x ** 2, ember.tensor([1., 2.]))
    >>> y, pullback(ember.tensor([1., 10.]))
    (tensor([1., 4.]), (tensor([ 2., 40.]),))
    """
    p_leaves, p_def = tree_flatten(primals)
    p_leaves = [as_jax_value(p) for p in p_leaves]
    with _reverse_trace(fun, p_leaves) as (main, trace, ins):
        out = fun(*tree_unflatten(p_def, ins))
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise ValueError("vjp(has_aux=True): the function must return a pair "
                                 "(output, aux)")
            out, aux = out
            a_leaves, a_def = tree_flatten(aux)
            aux = tree_unflatten(a_def, [a.primal if isinstance(a, VJPTracer) and
                                         a._trace.main is main else a for a in a_leaves])
        o_leaves, o_def = tree_flatten(out)
        outs = [trace.full_raise(as_value(o)) for o in o_leaves]
    primal_out = tree_unflatten(o_def, [o.primal for o in outs])

    def vjp_fn(ct):
        c_leaves, c_def = tree_flatten(ct)
        if c_def != o_def:
            raise ValueError(f"vjp_fn: the cotangent's structure {c_def} differs from the "
                             f"output's {o_def}")
        cs = []
        for c, o in zip(c_leaves, outs):
            c = as_value(c)
            if tuple(c.shape) != tuple(o.primal.shape):
                raise ValueError(f"vjp_fn: cotangent shape {tuple(c.shape)} differs from the "
                                 f"output shape {tuple(o.primal.shape)}")
            cs.append(cast(c, o.primal.dtype))
        g = _backward(outs, cs, ins)
        return tree_unflatten(p_def, g)

    if has_aux:
        return primal_out, vjp_fn, aux
    return primal_out, vjp_fn


def _check_holomorphic(holomorphic, op, leaves=None):
    """JAX's checks: ``holomorphic=True`` differentiates complex inputs only."""
    if holomorphic and leaves is not None:
        for x in leaves:
            d = getattr(x, "dtype", None)
            if d is None and isinstance(x, complex):  # a Python complex: complex64, as JAX
                continue
            if d is None or not _dt.as_dtype(d).is_complex:
                raise TypeError(f"{op}(holomorphic=True) needs complex inputs, got "
                                f"{d if d is not None else type(x).__name__}; convert them "
                                f"with x.to(ember.complex64) or drop holomorphic=True")


def _check_output(o, holomorphic, op):
    if holomorphic:
        if not o.dtype.is_complex:
            raise TypeError(f"{op}(holomorphic=True) needs a complex output, got {o.dtype}")
    elif o.dtype.is_complex:
        raise TypeError(f"{op}: the output is complex ({o.dtype}); grad needs a real output. "
                        f"For a holomorphic function pass holomorphic=True; otherwise take "
                        f"the real part or abs() of the output")
    elif not o.dtype.is_floating_point:
        raise TypeError(f"{op}: the output dtype is {o.dtype}; grad needs a floating output")


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """``(fun(*args), d fun / d args[argnums])`` for a scalar-valued ``fun``.

    ``holomorphic`` and ``allow_int`` are ``jax.value_and_grad``'s: without ``holomorphic``
    the output must be real (complex inputs get JAX's cotangent, the conjugate of PyTorch's
    ``.grad``: ``dL/dx - i dL/dy``); ``holomorphic=True`` needs complex inputs and a complex
    output and gives the complex derivative ``f'(z)``. An integer argument gets a zero
    gradient of its dtype whether or not ``allow_int`` is set.

    >>> loss = lambda w, x: ((x @ w) ** 2).mean()
    >>> ember.value_and_grad(loss)(ember.tensor([1., 1.]), ember.tensor([[1., 2.]]))
    (tensor(9.), tensor([ 6., 12.]))
    >>> both = ember.value_and_grad(loss, argnums=(0, 1))
    >>> value, (gw, gx) = both(ember.tensor([1., 1.]), ember.tensor([[1., 2.]]))
    >>> gx
    tensor([[6., 6.]])
    """
    def vg(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        for n in nums:
            if n >= len(args):
                raise ValueError(f"grad: argnums={argnums} but the function got only "
                                 f"{len(args)} positional arguments")
        if holomorphic:
            _check_holomorphic(True, "grad", tree_flatten([args[n] for n in nums])[0])

        # a jitted fun: one joint plan (real outputs only; holomorphic goes the general way)
        fast = None if holomorphic else getattr(fun, "_value_and_grad_fast", None)
        if fast is not None:
            r = fast(args, kwargs, nums, has_aux)
            if r is not None:
                return r[0], (r[1][0] if isinstance(argnums, int) else tuple(r[1]))

        def f_sel(*sel):
            a = list(args)
            for n, s in zip(nums, sel):
                a[n] = s
            return fun(*a, **kwargs)
        f_sel.__name__, f_sel.__wrapped__ = getattr(fun, "__name__", "fun"), fun
        res = vjp(f_sel, *[args[n] for n in nums], has_aux=has_aux)
        if has_aux:
            out, fn, aux = res
        else:
            out, fn = res
        o = as_value(out) if not isinstance(out, Tensor) else out
        if not isinstance(out, Tensor) or o.ndim != 0:
            raise TypeError(f"grad: the function must return a scalar (0-d tensor), got "
                            f"{'shape ' + str(tuple(o.shape)) if isinstance(out, Tensor) else type(out).__name__}"  # noqa: E501
                            f". Reduce it (e.g. .sum() or .mean()) or use vjp/jacrev.")
        _check_output(o, holomorphic, "grad")
        g = fn(full_like_traced(o, 1))
        g = g[0] if isinstance(argnums, int) else tuple(g)
        return ((out, aux), g) if has_aux else (out, g)
    vg.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    return vg


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The gradient of a scalar-valued ``fun`` w.r.t. ``args[argnums]`` (``jax.grad``;
    ``holomorphic``/``allow_int`` as in :func:`value_and_grad`).

    >>> ember.grad(lambda x: (x ** 3).sum())(ember.tensor([1., 2.]))
    tensor([ 3., 12.])
    >>> ember.grad(ember.grad(lambda x: x ** 3))(ember.tensor(2.))      # second derivative 6x
    tensor(12.)
    >>> params = {"w": ember.tensor([1., 2.]), "b": ember.tensor(0.5)}
    >>> ember.grad(lambda p: (p["w"] * 3 + p["b"]).sum())(params)        # a pytree of gradients
    {'w': tensor([3., 3.]), 'b': tensor(2.)}
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic=holomorphic)

    def g(*args, **kwargs):
        (out, aux), gr = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (gr, aux) if has_aux else gr
    g.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    return g


def stop_gradient(x):
    """``x`` with no gradient flowing back through it (in every transform and in eager).

    >>> ember.grad(lambda x: (x * ember.stop_gradient(x)).sum())(ember.tensor([3.]))
    tensor([3.])
    """
    return bind(stop_gradient_p, as_value(x))
