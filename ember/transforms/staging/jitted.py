"""jit: trace a function with abstract values into a small typed graph, optimise it, and run
it through generated straight-line Python that calls each primitive's backend kernel.

Staging, printing (``make_graph``), dead-code and common-subexpression elimination, constant
folding, a cache keyed by pytree structure, shapes, dtypes and static arguments (plus the
modes of the modules read, see ``effects.py``), retrace counting and explanations,
``disable_jit``/``debug``. A repeat call runs a generated guard and the plan. Under other
transforms (grad, vmap, jvp) the graph is evaluated equation by equation through ``bind``, so
those transforms see the primitives; for eager inputs that require grad the tape records one
node whose backward is a compiled graph (``call.py``).
"""
from __future__ import annotations

import logging
import os
import threading
import types
import warnings
import weakref

import numpy as np

from ...backend import backend_of
from ...backend.threads import run_plan
from ...core.primitive import Aval, Tracer, transforms_active
from ...core.tensor import Tensor
from ...core import autograd as _ag
from ...core import dtypes as _dt
from ...tree import flatten_with_key, tree_flatten, tree_unflatten, unflattener
from ...ops.elementwise import as_value
from ..effects import eager_keys
from ...core.state import tls as _tls, autocast_threads as _ac, axis_frames as _ax, axis_key
from ..reverse import VJPTrace
from .call import Call, GradPlan
from .codegen import compile_plan, eval_graph
from .guards import (_array_positions, _canonical_leaves, _changed_names, _describe_change, _make_guard,
                     _scalars_as_arrays, _sig_distance,
                     _signature, _with_leaves, argument_leaf_names, positional_names)
from .ir import Lit, Var
from .passes import optimize
from .tracing import CapturedTracerError, StageTrace, _abstract, trace_to_graph

log = logging.getLogger("ember.jit")


class config:
    """jit's settings: ``explain_retraces`` logs why each retrace happened; a jitted function
    compiles at most ``cache_limit`` signatures (None: no limit), then runs new ones eagerly;
    it warns once when it is traced for the ``retrace_warning``-th time.

    >>> ember.config.disable_jit
    False
    """
    explain_retraces = bool(os.environ.get("EMBER_EXPLAIN_RETRACES"))
    disable_jit = False
    cache_limit = int(os.environ.get("EMBER_JIT_CACHE_LIMIT", "8")) or None
    retrace_warning = 5


class disable_jit:
    """Context manager: jitted functions run eagerly (print and pdb work).

    >>> @ember.jit
    ... def f(x):
    ...     print("running with", type(x).__name__)   # under jit this prints once, at tracing
    ...     return x * 2
    >>> with ember.disable_jit():
    ...     f(ember.tensor([1.]))
    running with Tensor
    tensor([2.])
    """

    def __enter__(self):
        self.prev = config.disable_jit
        config.disable_jit = True

    def __exit__(self, *exc):
        config.disable_jit = self.prev
        return False


class Lowered:
    """``jit(f).lower(*args)``: the optimised graph traced for one argument signature."""

    def __init__(self, jitted, entry, key):
        self._jitted, self._key = jitted, key
        self.graph, self.plan = entry.graph, entry.plan
        self._out_def, self._fx = entry.out_def, entry.fx

    def as_text(self):
        return str(self.graph)

    def compile(self):
        return Compiled(self)


class Traced:
    """``jit(f).trace(*args)``: the staged graph for these arguments (``jaxpr``, printable),
    the outputs' shapes and dtypes (``out_info``) and ``lower()``."""

    def __init__(self, lowered):
        self._lowered = lowered
        self.fun_name = lowered._jitted.__name__
        self.jaxpr = lowered.graph
        g, out_def = lowered.graph, lowered._out_def
        outs = g.outs[:len(g.outs) - len(lowered._fx.updates)] if lowered._fx else g.outs
        self.out_info = tree_unflatten(out_def, [ShapeDtypeStruct(o.aval.shape, o.aval.dtype)
                                                 for o in outs])

    def lower(self):
        return self._lowered


def _traced_scalars(args, static=()):
    """``args`` with the Python numbers among their leaves (outside the ``static``
    positions) as 0-d NumPy arrays of JAX's dtypes, so that they are traced: what JAX's
    ``make_jaxpr``, ``trace`` and ``lower`` do with them (a jitted call keeps them static
    until their value changes)."""
    return tuple(a if i in static else _map_leaves(_scalar_array, a)
                 for i, a in enumerate(args))


def _scalar_array(x):
    if isinstance(x, (bool, int, float, complex)):
        return np.asarray(_dt.canonical_value(x))
    return x


def _map_leaves(fn, tree):
    leaves, td = tree_flatten(tree)
    return tree_unflatten(td, [fn(x) for x in leaves])


class Compiled:
    """``jit(f).lower(*args).compile()``: callable on arguments of that signature only."""

    def __init__(self, lowered):
        self._lowered = lowered

    def as_text(self):
        """The generated plan (Python source)."""
        return self._lowered.plan.source

    def __call__(self, *args, **kwargs):
        j = self._lowered._jitted
        args = _traced_scalars(args, j.static_argnums)
        kwargs = {k: v if k in j.static_argnames else _map_leaves(_scalar_array, v)
                  for k, v in kwargs.items()}
        dyn, dkw, _, _, key = j._key(args, kwargs)
        if key != self._lowered._key:
            why = _describe_change(self._lowered._key[1], key[1], j._leaf_names(dyn, dkw),
                                   j._static_name)
            raise TypeError(f"jit({j.__name__}): this compiled function was lowered for other "
                            f"arguments: {why}; call the jitted function (it retraces) or "
                            f"lower again")
        return j(*args, **kwargs)


def _autocast_name(key):
    """How a cache key's autocast state reads in a retrace explanation."""
    ac = key[2] if len(key) > 2 else None
    return f"on ({ac.name})" if ac is not None else "off"


def _axes_name(key):
    """The named axes (vmap/pmap axis_name) a cache key was traced under."""
    axes = key[3] if len(key) > 3 else ()
    return ", ".join(f"{n!r}: {size}" for n, size in axes) or "none"


def _x64_name(key):
    """Whether a cache key was traced in JAX's 64-bit mode (``jax_enable_x64``)."""
    return "on" if len(key) > 4 and key[4] else "off"


# every jitted function, so that turning 64-bit mode on or off drops their last-call
# shortcuts (their guards convert float64 NumPy inputs by the setting they were built under)
_all_jitted = weakref.WeakSet()


def _forget_shortcuts(_on):
    for j in list(_all_jitted):
        j._fast = None
        j._vg_fast = {}


_dt._x64_listeners.append(_forget_shortcuts)


class JitRetraceWarning(UserWarning):
    """A jitted function keeps retracing (or hit its cache limit and now runs eagerly)."""


class _Entry:
    """One cached trace of a jitted function, and what is derived from it on first use
    (all of it dies with the entry: nothing is kept in module-level tables)."""

    __slots__ = ("graph", "raw", "plan", "out_def", "pos", "fx", "tensor_consts", "grad_plan",
                 "call", "guard", "collective", "scalars", "__weakref__")

    def __init__(self, graph, plan, out_def, pos, fx, raw=None):
        self.graph, self.plan, self.out_def, self.pos, self.fx = graph, plan, out_def, pos, fx
        # the graph as traced, before the passes: what the backward differentiates, so that
        # its cotangent sums run in the eager tape's order (CSE and folding change which
        # equations a value flows through, hence the order in which its cotangents add up)
        self.raw = graph if raw is None else raw
        self.scalars = None  # the leaf indices of the Python numbers traced as 0-d arrays
        # the graph's tensor constants (checked for requires_grad at each call)
        self.tensor_consts = [i.val for e in graph.eqns for i in e.ins
                              if isinstance(i, Lit) and isinstance(i.val, Tensor)]
        self.grad_plan = None  # forward (with residuals) and backward plans, on first use
        self.call = None       # the graph as a jit_call parameter (no residuals), on first use
        self.guard = None      # (guard, plan, output builder, entry) of plain calls, or False
        # it binds named-axis collectives (psum, ...): under transforms it runs inline
        self.collective = any(e.prim.axis_collective for e in graph.eqns)

    def grad_plan_(self):
        if self.grad_plan is None:
            self.grad_plan = GradPlan(self.raw, self.fx.live if self.fx else ())
        return self.grad_plan

    def call_(self):
        if self.call is None:
            # (its own plan: the cached one may overwrite donated arguments)
            self.call = Call(self.graph, self.fx.live if self.fx else ())
        return self.call

    def consts_need_grad(self):
        if not self.tensor_consts or not _ag.is_grad_enabled():
            return False
        return any(t.requires_grad for t in self.tensor_consts)


class Jitted:
    def __init__(self, fun, static_argnums=(), static_argnames=(), debug=False,
                 donate_argnums=(), cache_limit=None):
        self.fun = fun
        self.donate_argnums = ((donate_argnums,) if isinstance(donate_argnums, int)
                               else tuple(donate_argnums))
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.static_argnames = ((static_argnames,) if isinstance(static_argnames, str)
                                else tuple(static_argnames))
        self.debug = debug
        if cache_limit is not None and (not isinstance(cache_limit, int) or cache_limit < 1):
            raise ValueError(f"jit: cache_limit must be a positive int (the number of "
                             f"argument signatures compiled before falling back to eager "
                             f"execution) or None for config.cache_limit, got {cache_limit!r}")
        self.cache_limit = cache_limit
        self.cache = {}
        self.trace_count = 0
        self._fast = None  # the guard tuple of the last plain call (see _Entry.guard)
        self._inline = False  # set once it was found to close over an enclosing trace
        self._vg_fast = {}  # argnums -> value_and_grad's guard tuple (_make_vg_fast)
        self._lock = threading.RLock()  # one thread traces and inserts at a time
        self._changes = {}  # argument name -> how many retraces it caused
        self._warned = set()
        # Python int/float arguments are static at first; one whose value changes between
        # calls is traced from then on (as JAX traces them), unless tracing needs its value
        # (tree key -> leaf indices traced / kept static)
        self._dyn_scalars = {}
        self._static_scalars = {}
        self.__name__ = getattr(fun, "__name__", type(fun).__name__)
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        _all_jitted.add(self)

    def __get__(self, obj, objtype=None):
        """A jitted function defined in a class body is a method, as JAX's: ``obj.f(y)``
        calls it with ``obj`` first (give ``static_argnums=0`` for a hashable ``obj``, or
        register its class as a pytree)."""
        return self if obj is None else types.MethodType(self, obj)

    def clear_cache(self):
        """Forget every compiled plan (and the retrace statistics); the next call traces
        afresh. As ``jax.jit(f).clear_cache()``."""
        with self._lock:
            self.cache = {}
            self._fast = None
            self._vg_fast = {}
            self.trace_count = 0
            self._changes = {}
            self._warned = set()
            self._dyn_scalars = {}
            self._static_scalars = {}

    def _split(self, args, kwargs):
        if not self.static_argnums and not self.static_argnames:
            return list(args), kwargs, ()
        dyn = [a for i, a in enumerate(args) if i not in self.static_argnums]
        stat = tuple((i, args[i]) for i in self.static_argnums if i < len(args))
        dkw = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        skw = tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames))
        try:
            hash((stat, skw))
        except TypeError as e:
            raise TypeError(f"jit({self.__name__}): static arguments must be hashable: {e}") \
                from None
        return dyn, dkw, stat + skw

    def _rebuild(self, args, dyn_vals, kwargs_dyn_vals, stat):
        a = list(args)
        it = iter(dyn_vals)
        for i in range(len(a)):
            if i not in self.static_argnums:
                a[i] = next(it)
        kw = dict(kwargs_dyn_vals)
        kw.update({k: v for k, v in stat if isinstance(k, str)})
        return a, kw

    def lower(self, *args, **kwargs):
        """Trace and optimise for these arguments (JAX's ahead-of-time API): a ``Lowered``
        with ``as_text()`` (the graph) and ``compile()``. Python numbers among the
        arguments are traced (as JAX does here), unless static."""
        args = _traced_scalars(args, self.static_argnums)
        kwargs = {k: v if k in self.static_argnames else _map_leaves(_scalar_array, v)
                  for k, v in kwargs.items()}
        entry = self._lookup(args, kwargs, limit=False)[0]
        return Lowered(self, entry, self._key(args, kwargs)[-1])

    def trace(self, *args, **kwargs):
        """JAX's ``jit(f).trace(*args)``: a ``Traced`` whose ``jaxpr`` is the staged graph
        (printable), with ``out_info`` (the outputs' ``ShapeDtypeStruct``s) and ``lower()``.

        >>> print(ember.jit(lambda x: x * 2).trace(1.0).jaxpr)
        { lambda a:float32[] .
            b:float32[] = mul a 2.0
          in (b) }
        """
        return Traced(self.lower(*args, **kwargs))

    def _key(self, args, kwargs):
        """(dynamic args, dynamic kwargs, static values, leaves, cache key) of a call."""
        dyn, dkw, stat = self._split(args, kwargs)
        leaves, skey = flatten_with_key((dyn, dkw))
        # NumPy float64/int64 data is traced as float32/int32 (a no-op in 64-bit mode); before
        # the traced Python numbers become arrays (an int beyond int32 stays int64)
        leaves = _canonical_leaves(leaves)
        if self._dyn_scalars:
            idx = self._dyn_scalars.get(skey)
            if idx:
                leaves = _scalars_as_arrays(leaves, idx)
        if _dt._x64[0]:  # JAX's 64-bit mode is read while tracing (jnp's defaults): in the key
            ac = _tls.autocast if _ac[0] else None
            return dyn, dkw, stat, leaves, (skey, _signature(leaves, stat), ac,
                                            axis_key() if _ax[0] else (), True)
        if _ax[0]:  # the named axes in scope (their sizes shape all_gather's output)
            axes = axis_key()
            if axes:
                ac = _tls.autocast if _ac[0] else None
                return dyn, dkw, stat, leaves, (skey, _signature(leaves, stat), ac, axes)
        if _ac[0] and _tls.autocast is not None:  # ember.autocast's dtype is traced in
            return dyn, dkw, stat, leaves, (skey, _signature(leaves, stat), _tls.autocast)
        return dyn, dkw, stat, leaves, (skey, _signature(leaves, stat))

    def _lookup(self, args, kwargs, limit=True):
        """(the cache entry for this call, its leaves); the entry is None when the cache is
        full and this call runs eagerly."""
        dyn, dkw, stat, leaves, key = self._key(args, kwargs)
        entry = self._cached(key)
        if entry is not None:
            return entry, leaves
        with self._lock:  # another thread may have traced it meanwhile
            entries = self.cache.get(key)
            entry = self._cached(key)
            if entry is not None:
                return entry, leaves
            if not entries and self.cache:
                changed = self._changing_scalars(key)
                if changed:  # trace those Python numbers from now on
                    skey = key[0]
                    self._dyn_scalars[skey] = self._dyn_scalars.get(skey, frozenset()) | changed
                    try:
                        return self._lookup(args, kwargs, limit)
                    except Exception:  # the function needs their values: keep them static
                        self._dyn_scalars[skey] -= changed
                        if not self._dyn_scalars[skey]:
                            del self._dyn_scalars[skey]
                        self._static_scalars[skey] = (
                            self._static_scalars.get(skey, frozenset()) | changed)
            td = tree_flatten((dyn, dkw))[1]
            return self._compile(args, kwargs, dyn, dkw, stat, leaves, td, key, entries,
                                 limit), leaves

    def _changing_scalars(self, key):
        """The leaf indices of Python ints/floats whose values alone tell this call's
        signature from a cached one's (same structure, static arguments, types, modes)."""
        skey, (sig, stat) = key[0], key[1]
        never = self._static_scalars.get(skey, frozenset())
        best = None
        for k in self.cache:
            if k[0] != skey or k[2:] != key[2:] or k[1][1] != stat or len(k[1][0]) != len(sig):
                continue
            diff = []
            for i, (a, b) in enumerate(zip(k[1][0], sig)):
                if a == b:
                    continue
                if (a[0] != "S" or b[0] != "S" or a[1] is not b[1]
                        or a[1] not in (int, float) or i in never):
                    break
                diff.append(i)
            else:
                if diff and (best is None or len(diff) < len(best)):
                    best = diff
        return frozenset(best) if best else None

    def _cached(self, key):
        entries = self.cache.get(key)
        if entries is not None:
            for entry in entries:  # more than one when modules were traced in other modes
                if entry.fx is None or entry.fx.modes_hold():
                    return entry
        return None

    def _compile(self, args, kwargs, dyn, dkw, stat, leaves, td, key, stale, limit=True):
        sig = key[1]
        if self.trace_count and self.cache:
            if stale:
                why = stale[-1].fx.describe_modes()
                changed = [why]
            else:  # against the cached signature closest to this call
                near_key = min(reversed(list(self.cache)),  # ties: the latest
                               key=lambda k: _sig_distance(k[1], sig) + (k[2:] != key[2:]))
                near = near_key[1]
                changed = _changed_names(near, sig, self._leaf_names(dyn, dkw),
                                         self._static_name)
                why = _describe_change(near, sig, self._leaf_names(dyn, dkw),
                                       self._static_name)
                if near_key[2:] != key[2:]:  # autocast or the named axes in scope changed
                    parts = []
                    for what, name_of in (("autocast", _autocast_name),
                                          ("named axes", _axes_name),
                                          ("64-bit mode", _x64_name)):
                        if name_of(near_key) != name_of(key):
                            parts.append(f"{what}: {name_of(near_key)} -> {name_of(key)}")
                            changed.append(what)
                    ac = "; ".join(parts)
                    why = ac if near == sig else f"{ac}; {why}"
            for name in changed:
                self._changes[name] = self._changes.get(name, 0) + 1
            if config.explain_retraces:
                log.warning("jit(%s): retracing (trace #%d) because %s", self.__name__,
                            self.trace_count + 1, why)
            n_limit = self.cache_limit or config.cache_limit
            if limit and n_limit is not None and len(self.cache) >= n_limit:
                if "limit" not in self._warned:
                    self._warned.add("limit")
                    warnings.warn(
                        f"jit({self.__name__}): {len(self.cache)} argument signatures "
                        f"compiled, the cache limit; new signatures now run eagerly "
                        f"(uncompiled). This call: {why}. {self._culprits()}Give the "
                        f"changing argument fewer distinct values (pad batches to a few "
                        f"sizes), mark it static only if it takes few values, or raise the "
                        f"limit: jit(f, cache_limit=N) or ember.config.cache_limit = N",
                        JitRetraceWarning, stacklevel=4)
                return None
            if self.trace_count + 1 == config.retrace_warning and "retrace" not in self._warned:
                self._warned.add("retrace")
                warnings.warn(
                    f"jit({self.__name__}): traced {self.trace_count + 1} times, each a new "
                    f"compilation; this time because {why}. {self._culprits()}Each new "
                    f"shape, dtype or static value compiles anew (the cache holds up to "
                    f"{n_limit} signatures). Set ember.config.explain_retraces = True to "
                    f"log every retrace", JitRetraceWarning, stacklevel=4)
        tensor_pos = _array_positions(leaves)

        def flat_fun(ins):
            d, k = _with_leaves(td, leaves, tensor_pos, ins)
            a, kw = self._rebuild(args, d, k, stat)
            return self.fun(*a, **kw)
        graph, out_def, fx = trace_to_graph(flat_fun, [leaves[i] for i in tensor_pos],
                                            self.__name__, effects=True,
                                            user_fun=self.fun)
        raw, graph = graph, optimize(graph, fx.live)
        donated = self._donated_leaves(args, tensor_pos)
        plan = compile_plan(graph, donated, _plan_backend(leaves, tensor_pos))
        self.trace_count += 1
        entry = _Entry(graph, plan, out_def, tensor_pos, fx.finish() or None, raw)
        entry.scalars = self._dyn_scalars.get(key[0]) if self._dyn_scalars else None
        self.cache = {**self.cache, key: (self.cache.get(key) or []) + [entry]}
        return entry

    def _culprits(self):
        """Which arguments caused the retraces so far (most often first)."""
        if not self._changes:
            return ""
        top = sorted(self._changes.items(), key=lambda kv: -kv[1])[:3]
        return ("Retraces so far were caused by: " +
                ", ".join(f"{n} ({c}x)" for n, c in top) + ". ")

    def _leaf_names(self, dyn, dkw):
        positions = [i for i in range(len(dyn) + len(self.static_argnums))
                     if i not in self.static_argnums][:len(dyn)]
        return argument_leaf_names(self.fun, dyn, dkw, positions)

    def _static_name(self, k):
        if isinstance(k, str):
            return k
        names = positional_names(self.fun)
        return names[k] if k < len(names) else f"argument {k}"

    def _donated_leaves(self, args, tensor_pos):
        """Indices (among the graph inputs) of the leaves of ``donate_argnums`` arguments."""
        if not self.donate_argnums:
            return set()
        donated, k = set(), 0
        for i, a in enumerate(args):
            if i in self.static_argnums:
                continue
            n = len(tree_flatten(a)[0])
            if i in self.donate_argnums:
                donated.update(range(k, k + n))
            k += n
        return {j for j, p in enumerate(tensor_pos) if p in donated}

    def _value_and_grad_fast(self, args, kwargs, nums, has_aux):
        """``value_and_grad(this jitted function, argnums=nums)(*args)`` as one compiled
        call of the entry's joint forward+backward plan: ``(value, [gradient pytree per
        argnum])``, or None when the general path (grad through the ``jit_call`` primitive)
        must run: transforms or autocast active, static or keyword arguments, aux outputs,
        stateful effects, inputs that are not plain float CPU tensors, or a tape to record.
        The same equations as the general path, so the same bits. A repeat call with the
        same argument structure runs a generated guard instead of the cache lookup (as a
        plain repeat call does)."""
        if (kwargs or has_aux or self.debug or config.disable_jit or self.static_argnums
                or self.static_argnames or _ac[0] or transforms_active()):
            return None
        fast = self._vg_fast.get(nums)
        if fast is not None:
            arrays = fast[0](args, kwargs)
            if arrays is not None and not fast[3].consts_need_grad():
                return fast[2](run_plan(fast[1], (*arrays, fast[4])))
        made = self._make_vg_fast(args, nums)
        arrays = None if made is None else made[0](args, kwargs)
        if arrays is None:  # (the guard also refuses inputs that require grad)
            return None
        self._vg_fast[nums] = made
        return made[2](run_plan(made[1], (*arrays, made[4])))

    def _make_vg_fast(self, args, nums):
        """(guard, joint plan, result builder, entry, output seed) for value_and_grad calls
        shaped like ``args``, or None (see ``_value_and_grad_fast``)."""
        entry, leaves = self._lookup(args, {})
        if entry is None or entry.fx is not None or entry.collective or \
                entry.consts_need_grad():
            return None
        if not all(isinstance(x, Tensor) and type(x._data) is np.ndarray for x in leaves):
            return None
        guard = _make_guard(args, {})  # (it also refuses tensors that require grad)
        gp = entry.grad_plan_()
        out = gp.joint_graph.outs[0] if gp.n_out == 1 else None
        if guard is None or not isinstance(out, Var) or out.aval.shape != () or \
                not gp.diff_out[0] or out.aval.dtype.is_complex or gp.lifted or entry.out_def.kind is not None:
            return None
        spans, start = {}, 0  # argnum -> (its leaf positions, its structure)
        for n, a in enumerate(args):
            a_leaves, a_def = tree_flatten(a)
            if n in nums:
                if not all(x.dtype.is_inexact for x in a_leaves):
                    return None  # (the general path says why it can't differentiate)
                spans[n] = (range(start, start + len(a_leaves)), a_def)
            start += len(a_leaves)
        pos = entry.pos
        wanted = {i for span, _ in spans.values() for i in span}
        at = tuple(k for k, i in enumerate(pos) if i in wanted)  # graph inputs to differentiate
        slot = {pos[k]: 1 + j for j, k in enumerate(at)}  # leaf -> index in the plan's result
        # per argnum: its structure's builder and, per leaf, a result slot or a zero template
        parts = [(unflattener(spans[n][1]),
                  [slot.get(i, leaves[i]._data) for i in spans[n][0]]) for n in nums]
        wrap = Tensor._wrap

        def build(res):
            return wrap(np.asanyarray(res[0])), [
                b([wrap(np.asanyarray(res[s])) if type(s) is int else wrap(np.zeros_like(s))
                   for s in slots]) for b, slots in parts]
        return guard, gp.joint_plan(at), build, entry, np.ones((), out.aval.dtype.np)

    def __call__(self, *args, **kwargs):
        if self.debug or config.disable_jit:
            with eager_keys():  # stateful draws use the keys the plan would: bit-identical
                return self.fun(*args, **kwargs)
        fast = self._fast
        if fast is not None and not transforms_active() and not _ac[0]:
            arrays = fast[0](args, kwargs)
            if arrays is not None and not (fast[3] and fast[3].consts_need_grad()):
                return fast[2](run_plan(fast[1], arrays))
        if self._inline and transforms_active():
            return self.fun(*args, **kwargs)
        try:
            entry, leaves = self._lookup(args, kwargs)
        except CapturedTracerError:
            if not transforms_active():
                raise
            # it closes over values of the enclosing transforms (JAX allows that): from now
            # on, under transforms, it runs inline in them, as the same function unjitted
            self._inline = True
            return self.fun(*args, **kwargs)
        if entry is None:  # the cache is full: run eagerly (as PyTorch past its limit)
            with eager_keys():
                return self.fun(*args, **kwargs)
        graph, plan, out_def, pos, fx = (entry.graph, entry.plan, entry.out_def, entry.pos,
                                         entry.fx)
        ins = [leaves[i] for i in pos]
        if fx is not None:
            ins += fx.keys(f"jit({self.__name__})")
        if transforms_active():
            if fx is not None:
                fx.note_live()
            top = _tls.stack[-1].trace_type
            if issubclass(top, StageTrace) or entry.collective:
                # an enclosing jit (or a staged body) inlines it; so does a graph with
                # named-axis collectives, whose meaning comes from the enclosing vmap's axis
                outs = eval_graph(graph, ins)
            else:  # grad, vjp, jvp, vmap see one jit_call primitive
                call = entry.grad_plan_() if any(issubclass(m.trace_type, VJPTrace)
                                                 for m in _tls.stack) else entry.call_()
                outs = call.bind([as_value(x) for x in ins])
        elif _ag.is_grad_enabled() and (any([isinstance(x, Tensor) and x.requires_grad
                                             for x in ins]) or entry.consts_need_grad()):
            # the eager tape records one node whose backward is a compiled graph
            outs = entry.grad_plan_().bind([as_value(x) for x in ins])
        else:
            outs = run_plan(plan, [x._data if isinstance(x, Tensor) else x for x in ins])
            if fx is None and not _ac[0]:  # (the guard knows nothing of autocast)
                build = unflattener(out_def, Tensor._wrap, np.asanyarray)  # (each output
                # array wrapped as a tensor, inline)
                if not self.static_argnums and not self.static_argnames:
                    fast = entry.guard
                    if fast is None:  # one guard per cache entry, made on its first plain call
                        guard = _make_guard(args, kwargs, entry.scalars)
                        fast = entry.guard = False if guard is None else (
                            guard, plan, build, entry if entry.tensor_consts else None)
                    self._fast = fast or None
                return build(outs)
            wrap = Tensor._wrap
            outs = [wrap(np.asanyarray(o)) for o in outs]
        if fx is not None:
            outs = fx.write_back(outs)
        return tree_unflatten(out_def, outs)


def _plan_backend(leaves, tensor_pos):
    """The backend of the traced arguments' arrays when it is not the CPU (None: the CPU)."""
    for i in tensor_pos:
        x = leaves[i]
        if isinstance(x, Tracer):  # traced by an enclosing transform: device known later
            continue
        d = x._data if isinstance(x, Tensor) else x
        if type(d) is not np.ndarray:
            b = backend_of(d)
            return None if b.name == "cpu" else b
    return None


def jit(fun=None, *, static_argnums=(), static_argnames=(), debug=False, donate_argnums=(),
        cache_limit=None):
    """Compile ``fun`` (``jax.jit`` semantics; also usable as a decorator).

    ``donate_argnums``: the buffers of these arguments may be reused for the results (as in
    JAX); don't use the donated tensors after the call, their contents are overwritten.
    ``cache_limit``: how many argument signatures (shapes, dtypes, static values) are
    compiled; past it a ``JitRetraceWarning`` names the argument that keeps changing and new
    signatures run eagerly (PyTorch's recompile limit). None: ``ember.config.cache_limit``
    (8). ``jit(f).clear_cache()`` forgets the compiled plans.

    >>> @ember.jit
    ... def affine(x, w, b):
    ...     return x @ w + b
    >>> affine(ember.ones(2, 3), ember.ones(3, 4), ember.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    >>> from functools import partial
    >>> @partial(ember.jit, static_argnums=1)
    ... def power(x, n):
    ...     for _ in range(n - 1):                  # a Python loop over a static value
    ...         x = x * x
    ...     return x
    >>> power(ember.tensor([2.]), 3)
    tensor([16.])
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames,
                             debug=debug, donate_argnums=donate_argnums,
                             cache_limit=cache_limit)
    j = Jitted(fun, static_argnums, static_argnames, debug, donate_argnums, cache_limit)
    if type(fun) is not types.FunctionType:
        return j
    # one compiled cache per function and options, as JAX's: ``jit(f)(x)`` written inside a
    # loop traces once, not once per call (kept on the function: it lives as long as f)
    opts = (j.static_argnums, j.static_argnames, bool(debug), j.donate_argnums, cache_limit)
    known = fun.__dict__.get("__ember_jit__")
    if known is None or known[0] is not fun:  # (functools.wraps copies a wrapped f's dict)
        known = fun.__dict__["__ember_jit__"] = (fun, {})
    return known[1].setdefault(opts, j)


def make_graph(fun, static_argnums=()):
    """``make_graph(f)(*args)`` returns the optimised staged graph of ``f`` (printable).

    >>> print(ember.make_graph(lambda x: (x * 2).sin())(ember.ones(3)))
    { lambda a:float32[3] .
        b:float32[3] = mul a 2.0
        c:float32[3] = sin b
      in (c) }
    """
    j = fun if isinstance(fun, Jitted) else Jitted(fun, static_argnums)

    def mk(*args, **kwargs):  # (Python numbers are traced, as JAX's make_jaxpr does)
        return j.lower(*args, **kwargs).graph
    return mk


class ShapeDtypeStruct(Aval):
    """A shape and dtype standing for a tensor (``eval_shape``'s inputs and outputs).

    >>> ember.ShapeDtypeStruct((2, 3), ember.float32)
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ()

    def __init__(self, shape, dtype):
        super().__init__(tuple(int(d) for d in shape), dtype)

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    @classmethod
    def like(cls, x):
        """The shape and dtype of ``x``: a tensor, a ShapeDtypeStruct, or NumPy data or a
        Python number, with the dtype a JAX-facing entry point gives it (float32 for a
        Python float unless 64-bit mode is on).

        >>> ember.ShapeDtypeStruct.like(ember.numpy.arange(5.0))
        ShapeDtypeStruct(shape=(5,), dtype=float32)
        """
        if not isinstance(x, (Tensor, Aval)):
            x = _dt.canonical_value(x)
        a = _abstract(x)
        return cls(a.shape, a.dtype)


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of ``fun(*args, **kwargs)`` as a pytree of ``ShapeDtypeStruct``,
    found by tracing: nothing is computed and no state (random generator, module buffers) is
    touched. Arguments may be tensors, NumPy arrays or ``ShapeDtypeStruct``s.

    >>> x = ember.ShapeDtypeStruct((32, 784), ember.float32)
    >>> ember.eval_shape(ember.nn.Linear(784, 10), x)
    ShapeDtypeStruct(shape=(32, 10), dtype=float32)
    """
    leaves, td = tree_flatten((args, kwargs))
    leaves = _canonical_leaves(leaves)  # (NumPy float64 data: float32 unless 64-bit mode)
    pos = _array_positions(leaves, (Tensor, np.ndarray, Aval))
    avals = [_abstract(leaves[i]) for i in pos]  # a ShapeDtypeStruct is an Aval

    def flat_fun(ins):
        a, kw = _with_leaves(td, leaves, pos, ins)
        return fun(*a, **kw)
    name = getattr(fun, "__name__", type(fun).__name__)
    # (effects=True: draws are staged with a key input, buffer updates recorded, none applied)
    graph, out_def, fx = trace_to_graph(flat_fun, avals, f"eval_shape({name})", effects=True)
    outs = graph.outs[:len(graph.outs) - len(fx.updates)]
    return tree_unflatten(out_def, [ShapeDtypeStruct(o.aval.shape, o.aval.dtype) for o in outs])


def block_until_ready(x):
    """Return ``x``. NumPy computes synchronously, so every ember value is ready when an
    operation returns; this exists so that code written for JAX's asynchronous dispatch runs
    unchanged.

    >>> x = ember.ones(2)
    >>> ember.block_until_ready(x) is x
    True
    """
    return x
