"""The primitive table and the interpreter stack.

A :class:`Primitive` carries every rule of one operation in one place:

``impl(*arrays, **params)``
    computes on backend arrays (NumPy). Returns an array (or a tuple with ``multiple_results``).
``shape(*avals, **params)``
    output ``Aval`` (shape, dtype) from input avals; used by ``jit`` staging and for errors.
    When omitted, it is derived by running ``impl`` on zero-filled arrays of those avals.
``vjp(ct, out, *args, **params)``
    reverse mode: cotangents for each positional input (``None`` = no gradient). ``ct`` and
    ``out`` are the output cotangent(s) and output value(s). Written with ember ops, so the
    rule is itself differentiable (higher order) and traceable by the outer transforms.
``jvp(primals, tangents, out, **params)``
    forward mode: the output tangent(s). ``tangents`` holds a value for every input.
``batch(args, dims, **params)``
    vmap: ``args`` with their batch dimension (int or ``None``) -> ``(out, out_dim)``.

``bind(prim, *args, **params)`` applies a primitive. With no transform active it goes straight
to :func:`eval_apply` (eager NumPy compute plus, when needed, one autograd tape node).
Otherwise the value with the highest interpreter level decides which interpreter runs the
primitive; an interpreter that binds primitives in turn is seen by the levels below it.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

from .. import backend as _backend
from . import dtypes as _dt
from .autograd import eval_apply
from .errors import ConcretizationError, EscapedTracerError  # noqa: F401 (re-exported)
from .tensor import Aval, Size, Tensor
from . import state as _state
from .state import tls as _tls, transform_levels as _levels

registry: dict[str, "Primitive"] = {}


def _zeros_like_aval(aval: Aval):
    # a zero-strided array: no memory, any shape
    return np.lib.stride_tricks.as_strided(np.zeros(1, aval.dtype.np), aval.shape,
                                           (0,) * len(aval.shape), writeable=False)


class Primitive:
    """One operation and all of its rules (see the module docstring)."""

    # the name of the array namespace's ufunc that computes this elementwise primitive and
    # can write into an operand (``"add"``: ``xp.add(a, b, out=a)``); the in-place
    # arithmetic fast path (``x.add_(y)`` outside autograd) reads it. None: no such ufunc.
    ufunc: str | None = None
    # a named-axis collective (psum, all_gather, ...; param ``axis_name``): under transforms,
    # ``bind`` hands it to the interpreter of the vmap that binds its axis name when that
    # level is above its operands' (a value not batched along the axis is still seen there)
    axis_collective: bool = False
    # an effect beyond computing the output (a collective over ranks): jit's passes never
    # fold, merge (CSE) or drop (DCE) its equations, so every rank runs it in program order
    effectful: bool = False
    # which inputs' values the vjp rule reads: None (all of them), a tuple of input indices,
    # or ``reads(needed) -> tuple`` (``needed[i]``: whether input i's cotangent is wanted).
    # The eager tape keeps only a shape-and-dtype stand-in of the others of 64 KiB or more
    # (add's inputs, relu's input: it reads its output), so activations die as early as in
    # PyTorch, and does not check them for in-place changes. The rule may read their shape
    # and dtype, never their values.
    vjp_reads = None
    # with vjp_needs_out and multiple results: the indices of the outputs the vjp rule reads
    # (None: all); only an in-place change of one of those invalidates the backward
    # (batch_norm_train's rule reads its statistics, not its output, which an in-place ReLU
    # may overwrite). The others get version counters of their own.
    vjp_reads_outs = None
    # reverse mode's forward for a rule that keeps its own residuals (custom_vjp's ``fwd``):
    # ``vjp_forward(primals, **params) -> (out, residuals)`` replaces ``bind`` when the vjp
    # transform records the primitive, and its ``vjp`` then gets ``residuals=`` as a param
    vjp_forward = None
    # forward mode's rule computes the output too: ``jvp(primals, tangents, None, **params)
    # -> (out, tangents_out)`` (custom_jvp: only the user's rule runs, as in JAX)
    jvp_with_primal: bool = False

    def __init__(self, name: str, impl: Callable, *, shape=None, vjp=None, jvp=None, batch=None,
                 multiple_results: bool = False, differentiable: bool = True,
                 linear: bool = False, vjp_needs_out: bool = False, view: bool = False,
                 doc: str = "", allocating=False, foldable: bool = True,
                 elementwise_ufunc: bool = False, emit_inline=None,
                 reference: Callable | None = None):
        if name in registry:
            raise ValueError(f"primitive {name!r} is already registered")
        self.name = name
        self.impl = impl
        self.shape_rule = shape
        self.vjp = vjp
        self.jvp = jvp
        self.batch = batch
        self.multiple_results = multiple_results
        # non-differentiable primitives (comparisons, argmax, floor, ...) have zero derivative
        self.differentiable = differentiable
        self.linear = linear
        # the vjp rule reads ``out``: eager autograd keeps the output for it
        self.vjp_needs_out = vjp_needs_out
        # eager impl returns a NumPy view of input 0 (shares its version counter)
        self.view = view
        # facts jit's passes read (see transforms/staging): the kernel always returns a new
        # array, never a view of an input or the input itself; a callable decides from the
        # number of inputs (``allocates``)
        self.allocating = allocating or elementwise_ufunc
        # may be evaluated at compile time when every input is a constant (False for large
        # outputs best kept lazy, e.g. random bits)
        self.foldable = foldable
        # the impl is an elementwise NumPy ufunc: it takes ``out=`` (plans reuse buffers)
        self.elementwise_ufunc = elementwise_ufunc
        # ``emit_inline(eqn, operand_names, const) -> str | None``: a plan expression that
        # replaces the call of the impl (``const(v)`` names a constant); None: call the impl
        self.emit_inline = emit_inline
        self.__doc__ = doc
        # the same computation written with ember ops: the rules this primitive lacks, or
        # that return NotImplemented for a case, are derived from it (see use_reference)
        self.reference = reference
        if reference is not None:
            use_reference(self)
        registry[name] = self

    def allocates(self, n_inputs):
        """Whether an application to ``n_inputs`` operands returns memory of its own."""
        a = self.allocating
        return a(n_inputs) if callable(a) else bool(a)

    def __repr__(self):
        return f"<primitive {self.name}>"

    def __call__(self, *args, **params):
        return bind(self, *args, **params)

    def abstract_eval(self, avals, params):
        if self.shape_rule is not None:
            return self.shape_rule(*avals, **params)
        with np.errstate(all="ignore"):
            out = self.impl(*[_zeros_like_aval(a) for a in avals], **params)
        if self.multiple_results:
            return tuple(Aval(o.shape, _dt.from_np(o.dtype)) for o in out)
        out = np.asarray(out)
        return Aval(out.shape, _dt.from_np(out.dtype))


# --------------------------------------------------------------------------------------
# Rules derived from a reference definition (fused primitives).
#
# A fused primitive (a whole LSTM recurrence as one NumPy loop) has a fast ``impl`` and maybe
# a fast rule for the common case (a first-order VJP kernel), and a ``reference``: the same
# computation written with ember ops. Every rule it lacks comes from the reference: the JVP is
# the reference's JVP, the VJP the reference's VJP, the batching rule the reference under
# vmap; a rule it has may return ``NotImplemented`` for a case it does not cover (a second-
# order cotangent, a batched weight) and that case goes to the reference too. The transforms
# layer owns jvp/vjp/vmap, so it installs the derivations here (``derivations[kind] =
# fn(prim, *rule_args, **params)``); core and ops only call them.
# --------------------------------------------------------------------------------------

derivations: dict[str, Callable] = {}


def derived_rule(kind: str, prim: "Primitive", *args, **params):
    """Apply ``prim``'s ``kind`` rule ("vjp", "jvp" or "batch", same arguments as the
    rule) derived from ``prim.reference``."""
    try:
        derive = derivations[kind]
    except KeyError:
        raise RuntimeError(f"{prim.name}: its {kind} rule is derived from its reference "
                           f"definition, which needs ember.transforms (import ember)") from None
    return derive(prim, *args, **params)


def _or_reference(prim, kind, rule):
    if rule is None:
        def derived(*args, **params):
            return derived_rule(kind, prim, *args, **params)
    else:
        def derived(*args, **params):
            out = rule(*args, **params)
            return derived_rule(kind, prim, *args, **params) if out is NotImplemented else out
    derived.__name__ = f"{prim.name}_{kind}"
    return derived


def use_reference(prim: "Primitive"):
    """Complete ``prim``'s vjp/jvp/batch rules from ``prim.reference`` (see above)."""
    prim.vjp = _or_reference(prim, "vjp", prim.vjp)
    prim.jvp = _or_reference(prim, "jvp", prim.jvp)
    prim.batch = _or_reference(prim, "batch", prim.batch)


# --------------------------------------------------------------------------------------
# The interpreter stack.
# --------------------------------------------------------------------------------------

class MainTrace:
    """One active transformation: its level, its interpreter class and its private data."""

    __slots__ = ("level", "trace_type", "global_data", "alive", "origin", "fun")

    def __init__(self, level, trace_type, global_data=None):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data
        self.alive = True
        self.origin = None
        self.fun = None  # the transformed function (where it is defined: error messages)

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class Trace:
    """An interpreter at one level. Subclasses implement pure/lift/process_primitive."""

    def __init__(self, main: MainTrace):
        self.main = main

    def pure(self, val):  # a value from outside the transform
        raise NotImplementedError

    lift = pure  # a tracer of a lower level

    def full_raise(self, val):
        if isinstance(val, Tracer):
            m = val._trace.main
            if m is self.main:
                return val
            if not m.alive:
                raise escaped_tracer_error(val)
            if m.level < self.main.level:
                return self.lift(val)
            raise RuntimeError(f"internal error: tracer of level {m.level} met in level "
                               f"{self.main.level}")
        return self.pure(val)

    def process_primitive(self, prim, tracers, params):
        raise NotImplementedError


class _ThreadStack:
    """``_stack``: this thread's interpreter stack (for code written before the stack became
    per-thread state; new code reads ``state.tls.stack`` or calls ``transforms_active()``)."""

    def __len__(self):
        return len(_tls.stack)

    def __getitem__(self, i):
        return _tls.stack[i]

    def __iter__(self):
        return iter(_tls.stack)

    def __reversed__(self):
        return reversed(_tls.stack)


_stack = _ThreadStack()


class new_main:
    """Context manager pushing a new interpreter level (in this thread)."""

    def __init__(self, trace_type, global_data=None, dynamic=False):
        self.main = MainTrace(len(_tls.stack), trace_type, global_data)
        self.dynamic = dynamic

    def __enter__(self):
        state = _tls
        self.main.level = len(state.stack)
        _state.push_level(self.main)
        if self.dynamic:
            self.prev_dynamic = state.dynamic
            state.dynamic = self.main
        return self.main

    def __exit__(self, *exc):
        _state.pop_level()
        self.main.alive = False
        if self.dynamic:
            _tls.dynamic = self.prev_dynamic
        return False


transforms_active = _state.transforms_active


class eager_context:
    """Run code as if no transform were active (a primitive's impl calling user code on
    concrete arrays must not be captured by an enclosing jit or vmap)."""

    def __enter__(self):
        state = _tls
        self.saved = (state.stack[1:], state.dynamic)
        for _ in self.saved[0]:
            _state.pop_level()
        state.dynamic = None

    def __exit__(self, *exc):
        for m in self.saved[0]:
            _state.push_level(m)
        _tls.dynamic = self.saved[1]
        return False


class compile_time_eval:
    """Evaluate operations on concrete values now, inside ``jit`` too (JAX's
    ``ensure_compile_time_eval``): clears this thread's dynamic trace, so a primitive none of
    whose arguments is a tracer runs eagerly instead of being staged. Operations on traced
    values are staged as before."""

    def __enter__(self):
        self.saved = _tls.dynamic
        _tls.dynamic = None
        return self

    def __exit__(self, *exc):
        _tls.dynamic = self.saved
        return False


def find_top_trace(args):
    state = _tls
    top = state.stack[0]
    for a in args:
        if isinstance(a, Tracer):
            m = a._trace.main
            if m.level > top.level:
                top = m
    dyn = state.dynamic
    if dyn is not None and dyn.level > top.level:
        top = dyn
    if not top.alive:
        for a in args:
            if isinstance(a, Tracer) and a._trace.main is top:
                raise escaped_tracer_error(a)
    return top.trace_type(top)


def eager_mode() -> bool:
    """True when no transform is active in this thread: ``bind`` evaluates on the data (the
    condition of its fast path, for kernels that take a NumPy shortcut eagerly)."""
    return not _levels[0] or len(_tls.stack) == 1


# --------------------------------------------------------------------------------------
# Eager layers: code that must see every primitive run eagerly (the profiler, forward-mode
# dual numbers) wraps ``eval_apply`` while it is active. ``bind`` calls this module's global
# ``eval_apply``; adding or removing a layer rebinds that name, so the eager hot path pays
# nothing when no layer is active.
# --------------------------------------------------------------------------------------

_base_eval_apply = eval_apply
_eager_layers: list = []


def add_eager_layer(make):
    """Wrap eager evaluation while a feature is active: ``make(inner)`` returns
    ``apply(prim, args, params)`` that calls ``inner`` (the next layer, finally
    ``core.autograd.eval_apply``). Layers added later run outside earlier ones. Undo with
    ``remove_eager_layer(make)``."""
    _eager_layers.append(make)
    _rebuild_eager_layers()
    with _state.lock:  # (see state.eager_layers)
        _state.eager_layers[0] += 1
        _levels[0] += 1


def remove_eager_layer(make):
    """Remove a layer added by ``add_eager_layer`` (the same ``make``)."""
    _eager_layers.remove(make)
    _rebuild_eager_layers()
    with _state.lock:
        _state.eager_layers[0] -= 1
        _levels[0] -= 1


def _rebuild_eager_layers():
    global eval_apply
    fn = _base_eval_apply
    for make in _eager_layers:
        fn = make(fn)
    eval_apply = fn


# Call layers: the same for callables that run without ``bind`` (a jitted function's call,
# whose compiled plan computes directly) or that mark a range (an optimizer's step): a layer
# ``make(orig, name_of)`` returns the wrapper of ``orig`` (the method; ``name_of(instance)``
# names a call) installed on each registered target of its kinds while the layer is active;
# nothing is wrapped otherwise. Kinds: "compiled" (jit) and "range" (optimizer steps).
_call_targets: list = []   # (class, attribute, original function, name_of, kind)
_call_layers: list = []    # (make, kinds or None for all)


def register_call_target(cls, attr, name_of, kind="compiled"):
    """Let call layers see calls of ``cls.attr`` (e.g. ``Jitted.__call__``)."""
    _call_targets.append((cls, attr, cls.__dict__[attr], name_of, kind))
    if _call_layers:
        _rebuild_call_layers()


def add_call_layer(make, kinds=None):
    """Wrap the registered targets' calls (of ``kinds``; None: all) while a feature is
    active (see above)."""
    _call_layers.append((make, kinds))
    _rebuild_call_layers()


def remove_call_layer(make):
    for i, (m, _) in enumerate(_call_layers):
        if m is make:
            del _call_layers[i]
            break
    _rebuild_call_layers()


def _rebuild_call_layers():
    for cls, attr, orig, name_of, kind in _call_targets:
        fn = orig
        for make, kinds in _call_layers:
            if kinds is None or kind in kinds:
                fn = make(fn, name_of)
        setattr(cls, attr, fn)


def bind(prim: Primitive, *args, **params):
    if not _levels[0] or len(_tls.stack) == 1:  # no transform active in this thread
        try:
            return eval_apply(prim, args, params)
        except ConcretizationError:
            # a tracer reached the eager evaluator: its transform has finished
            for a in args:
                if isinstance(a, Tracer) and not a._trace.main.alive:
                    raise escaped_tracer_error(a) from None
            raise
    trace = find_top_trace(args)
    if prim.axis_collective:
        frame = _state.axis_frame(params["axis_name"])
        if frame is not None and frame.main is not None and \
                frame.main.level > trace.main.level:
            trace = frame.main.trace_type(frame.main)
    tracers = [trace.full_raise(a) for a in args]
    return trace.process_primitive(prim, tracers, params)


# --------------------------------------------------------------------------------------
# Errors that point at the user's code.
# --------------------------------------------------------------------------------------

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame():
    """The innermost stack frame outside the ember package, as 'file:line'."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not os.path.abspath(fn).startswith(_PKG_DIR) and "importlib" not in fn:
            return f"{os.path.basename(fn)}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def defined_at(fun):
    """'file.py:line' where ``fun`` (a function, or a module's forward) is defined, or None."""
    while hasattr(fun, "__wrapped__"):  # a transform's own wrapper: the user's function
        fun = fun.__wrapped__
    code = getattr(fun, "__code__", None) or getattr(getattr(fun, "forward", None), "__code__",
                                                      None)
    return f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}" if code else None


def escaped_tracer_error(t):
    m = t._trace.main
    site = defined_at(m.fun) if m.fun is not None else None
    where = (m.origin or "a transform") + (f" (defined at {site})" if site else "")
    return EscapedTracerError(
        f"a traced value ({t.aval.str_short()}) created inside {where} was used after that "
        f"transform finished (seen at {user_frame()}). It was probably stored in a global or "
        f"a closure. Return it from the transformed function instead.")


# --------------------------------------------------------------------------------------
# Tracers: Tensors whose value is managed by an interpreter.
# --------------------------------------------------------------------------------------



class Tracer(Tensor):
    """A Tensor whose value lives in an interpreter (jvp, vmap, grad, jit staging)."""

    __slots__ = ("_trace",)
    # jit staging's tracers: a value the compiled plan will compute, no transform of its own
    # (a rule's reverse-mode forward may keep residuals for such values as for arrays)
    staged = False

    @property
    def aval(self) -> Aval:
        raise NotImplementedError

    @property
    def shape(self):
        return Size(self.aval.shape)

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def ndim(self):
        return len(self.aval.shape)

    @property
    def device(self):
        """The default device: a traced value's arrays are placed only when the plan runs
        (``idx.device`` in a traced forward is metadata, not a read of the data)."""
        return _backend.default_device()

    @property
    def is_meta(self):
        return False

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    def full_lower(self):
        return self

    def _concrete_error(self, what):
        where = self._trace.main.origin or "a transform"
        return ConcretizationError(
            f"{where}: {what} needs a concrete value, but this tensor is traced "
            f"({self.aval.str_short()}) at {user_frame()}. Mark the argument static with "
            f"static_argnums, compute it outside the transform, or use ember.cond / "
            f"ember.where for data-dependent choices.")

    @property
    def _data(self):
        raise self._concrete_error("reading the data of a tensor")

    def concrete_value(self):
        """The eager tensor this tracer stands for when its value is known (a differentiation
        tracer over concrete data: JAX lets Python control flow read it under grad/jvp);
        None when it is abstract (jit, vmap). Transforms' tracers override it."""
        return None

    def __bool__(self):
        v = self.concrete_value()
        if v is None:
            raise self._concrete_error("the Python truth value (an 'if' or 'while')")
        return bool(v)

    def __int__(self):
        v = self.concrete_value()
        if v is None:
            raise self._concrete_error("int()")
        return int(v)

    def __float__(self):
        v = self.concrete_value()
        if v is None:
            raise self._concrete_error("float()")
        return float(v)

    def __index__(self):
        v = self.concrete_value()
        if v is None:
            raise self._concrete_error("using a tensor as an index or size")
        return v.__index__()

    def item(self):
        v = self.concrete_value()
        if v is None:
            raise self._concrete_error(".item()")
        return v.item()

    def numpy(self, *a, **k):
        raise self._concrete_error(".numpy()")

    def tolist(self):
        raise self._concrete_error(".tolist()")

    def __array__(self, *a, **k):
        raise self._concrete_error("conversion to a NumPy array")

    def __repr__(self):
        return f"{type(self).__name__}({self.aval.str_short()})"

    def __str__(self):  # print() inside a transform shows the tracer, as in JAX
        return repr(self)

    def __hash__(self):
        return id(self)

    @property
    def requires_grad(self):
        return False

    @requires_grad.setter
    def requires_grad(self, v):
        raise RuntimeError("requires_grad cannot be set on a traced tensor; use ember.grad "
                           "inside transforms")




class EvalTrace(Trace):
    """Level 0: run primitives on concrete data (with the eager autograd tape)."""

    def pure(self, val):
        return val

    lift = pure

    def process_primitive(self, prim, tracers, params):
        return eval_apply(prim, tracers, params)


_state.set_eval_main(MainTrace(0, EvalTrace))
