"""``ember.autograd.forward_ad``: forward-mode AD with dual tensors (PyTorch's
``torch.autograd.forward_ad``).

Inside ``with dual_level():``, ``make_dual(x, t)`` returns a view of ``x`` that carries the
tangent ``t``; every primitive run eagerly on a dual tensor computes its output's tangent
with the primitive's JVP rule (the same rules ``ember.jvp`` uses), so nn modules and
functional ops propagate tangents; ``unpack_dual(y)`` returns ``(primal, tangent)``. Leaving
the level drops the tangents. One level at a time (as PyTorch).

>>> import ember.autograd.forward_ad as fwAD
>>> x = ember.tensor([1., 2.])
>>> with fwAD.dual_level():
...     y = fwAD.make_dual(x, ember.tensor([1., 0.])) ** 2
...     fwAD.unpack_dual(y).tangent
tensor([2., 0.])
"""
from __future__ import annotations

import threading
import weakref
from collections import namedtuple

from ..core import primitive as _primitive
from ..core.autograd import is_grad_enabled, no_grad
from ..core import state as _state
from ..core.tensor import Tensor
from ..ops.elementwise import as_value, cast, zeros_like_v
from ..ops.shape import reshape_p
from ..transforms.jvp import jvp as _jvp
from ..tree import tree_flatten, tree_unflatten

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = """``unpack_dual``'s result: ``primal`` (a view without the
tangent) and ``tangent`` (None when the tensor has none at this level)."""

_ATTR = "_fw_tangent"  # on a dual tensor: (level token, tangent tensor)


class _Level:
    """One active forward-AD level: its number and the dual tensors made in it."""

    def __init__(self, number):
        self.number = number
        self.duals = []   # weak references to the tensors given a tangent at this level


_current = [None]          # the active _Level, or None
_paused = threading.local()  # set while a JVP rule runs: its own ops carry no tangents


def _tangent_of(t, level):
    fw = t.__dict__.get(_ATTR) if isinstance(t, Tensor) else None
    if fw is not None and fw[0] is level:
        return fw[1]
    return None


def _set_tangent(t, level, tangent):
    t.__dict__[_ATTR] = (level, tangent)
    level.duals.append(weakref.ref(t))


def _zero_tangent(a):
    if isinstance(a, Tensor):
        return zeros_like_v(a)
    return a * 0  # a Python or NumPy scalar


def _is_float(t):
    k = t._data.dtype.kind
    return k in "fc" or k == "V"  # (bfloat16 is kind 'V')


def _forward_layer(inner):
    """The eager layer: after a primitive runs on a dual tensor, its JVP rule gives the
    output's tangent."""
    def apply(prim, args, params):
        out = inner(prim, args, params)
        level = _current[0]
        if level is None or getattr(_paused, "on", False):
            return out
        tangents = None
        i = -1
        for a in args:
            i += 1
            if isinstance(a, Tensor):
                fw = a.__dict__.get(_ATTR)
                if fw is not None and fw[0] is level:
                    if tangents is None:
                        tangents = [None] * len(args)
                    tangents[i] = fw[1]
        if tangents is None or not prim.differentiable:
            return out
        outs = out if prim.multiple_results else (out,)
        if not any(isinstance(o, Tensor) and _is_float(o) for o in outs):
            return out
        tangents = [t if t is not None else _zero_tangent(a) for a, t in zip(args, tangents)]
        _paused.on = True
        try:
            tan = prim.jvp(list(args), tangents, out, **params)
        finally:
            _paused.on = False
        tans = tan if prim.multiple_results else (tan,)
        for o, t in zip(outs, tans):
            if isinstance(o, Tensor) and _is_float(o) and t is not None:
                t = as_value(t)
                if t._data.dtype != o._data.dtype:
                    t = cast(t, o.dtype)
                _set_tangent(o, level, t)
        return out
    return apply


def _jit_layer(orig, name_of):
    """A jitted call on dual tensors: its outputs' tangents come from ``ember.jvp`` of the
    call (the plan itself runs without ``bind``)."""
    def call(self, *args, **kwargs):
        level = _current[0]
        if level is None or getattr(_paused, "on", False):
            return orig(self, *args, **kwargs)
        leaves, tree = tree_flatten((args, kwargs))
        pos, primals, tangents = [], [], []
        for i, a in enumerate(leaves):
            t = _tangent_of(a, level)
            if isinstance(a, Tensor) and _is_float(a):
                pos.append(i)
                primals.append(a)
                tangents.append(t if t is not None else zeros_like_v(a))
        if not any(_tangent_of(a, level) is not None for a in leaves):
            return orig(self, *args, **kwargs)

        def body(*xs):
            ls = list(leaves)
            for i, x in zip(pos, xs):
                ls[i] = x
            a, k = tree_unflatten(tree, ls)
            return orig(self, *a, **k)

        _paused.on = True
        try:
            out, tan = _jvp(body, tuple(primals), tuple(tangents))
        finally:
            _paused.on = False
        o_leaves, _ = tree_flatten(out)
        t_leaves, _ = tree_flatten(tan)
        for o, t in zip(o_leaves, t_leaves):
            if isinstance(o, Tensor) and _is_float(o):
                _set_tangent(o, level, as_value(t))
        return out
    return call


def enter_dual_level():
    """Start a forward-AD level (``dual_level()`` is the context manager); returns its
    number. Nested levels are not supported (as in PyTorch)."""
    if _current[0] is not None:
        raise RuntimeError("forward_ad.enter_dual_level: a dual level is already active; "
                           "nested forward-mode AD is not supported. Use ember.jvp (or "
                           "ember.func.jvp) for nested forward derivatives.")
    _current[0] = _Level(0)
    _primitive.add_eager_layer(_forward_layer)
    _primitive.add_call_layer(_jit_layer, ("compiled",))
    _state.inplace_listeners.append(_after_inplace)
    return 0


def exit_dual_level(*, level=None):
    """End the active forward-AD level: every tangent made in it is dropped."""
    lv = _current[0]
    if lv is None or (level is not None and level != lv.number):
        raise RuntimeError(f"forward_ad.exit_dual_level: level {level} is not the active "
                           f"level ({None if lv is None else lv.number})")
    _current[0] = None
    _primitive.remove_eager_layer(_forward_layer)
    _primitive.remove_call_layer(_jit_layer)
    _state.inplace_listeners.remove(_after_inplace)
    for ref in lv.duals:
        t = ref()
        if t is not None:
            fw = t.__dict__.get(_ATTR)
            if fw is not None and fw[0] is lv:
                del t.__dict__[_ATTR]


class dual_level:
    """Context manager of a forward-AD level (``with dual_level():``); ``as`` gives its
    number. The tangents of the dual tensors made inside are dropped on exit.

    >>> import ember.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     d = fwAD.make_dual(ember.tensor(3.), ember.tensor(1.))
    ...     fwAD.unpack_dual(d.sin()).tangent        # cos(3)
    tensor(-0.9900)
    >>> fwAD.unpack_dual(d).tangent is None
    True
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def _level_for(what, level):
    lv = _current[0]
    if lv is None:
        raise RuntimeError(f"forward_ad.{what}: no dual level is active; run it inside "
                           f"'with forward_ad.dual_level():'")
    if level is not None and level != lv.number:
        raise RuntimeError(f"forward_ad.{what}: level {level} is not the active level "
                           f"({lv.number})")
    return lv


def _alias(t):
    """A view of ``t`` (the same data and version counter; differentiable by the tape)
    that carries no tangent."""
    _paused.on = True
    try:
        return _primitive.bind(reshape_p, t, shape=tuple(t.shape))
    finally:
        _paused.on = False


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` carrying ``tangent`` (same shape; cast to its dtype) as its
    forward derivative at the active level.

    >>> import ember.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     x = fwAD.make_dual(ember.tensor([1., 2.]), ember.tensor([1., 1.]))
    ...     fwAD.unpack_dual(x * x).tangent
    tensor([2., 4.])
    """
    lv = _level_for("make_dual", level)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"forward_ad.make_dual: the primal must be a tensor, got "
                        f"{type(tensor).__name__}")
    tangent = as_value(tangent)
    if not _is_float(tensor):
        raise ValueError(f"forward_ad.make_dual: the primal must be floating point or "
                         f"complex, got {tensor.dtype}; convert it with .float() first")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise ValueError(f"forward_ad.make_dual: the tangent has shape "
                         f"{tuple(tangent.shape)} but the primal has shape "
                         f"{tuple(tensor.shape)}; they must be equal")
    if tangent._data.dtype != tensor._data.dtype:
        tangent = cast(tangent, tensor.dtype)
    out = _alias(tensor)
    _set_tangent(out, lv, tangent)
    return out


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of a dual tensor (a namedtuple, also ``.primal`` /
    ``.tangent``): the primal is a view without the tangent; the tangent is None for a
    tensor that has none at the active level (or when no level is active).

    >>> import ember.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     p, t = fwAD.unpack_dual(fwAD.make_dual(ember.ones(2), ember.zeros(2)) + 1)
    >>> p, t
    (tensor([2., 2.]), tensor([0., 0.]))
    """
    lv = _current[0]
    if level is not None and (lv is None or level != lv.number):
        raise RuntimeError(f"forward_ad.unpack_dual: level {level} is not active")
    if not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent_of(tensor, lv) if lv is not None else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias(tensor), tangent)


def _after_inplace(target, out):
    """An in-place op wrote ``out``'s value into ``target``: the tangent follows it (called
    by the in-place machinery while an eager layer is active)."""
    lv = _current[0]
    if lv is None or not isinstance(target, Tensor):
        return
    t = _tangent_of(out, lv) if isinstance(out, Tensor) else None
    if t is not None:
        _set_tangent(target, lv, t)
    elif _tangent_of(target, lv) is not None:
        del target.__dict__[_ATTR]


def is_dual(tensor):  # (not public in PyTorch; used by ember's tests and jit glue)
    lv = _current[0]
    return lv is not None and _tangent_of(tensor, lv) is not None



def function_apply(cls, args, Function):
    """``cls.apply(*args)`` of an ``autograd.Function`` when an input is a dual tensor: the
    forward runs on the primals, the class's ``jvp(ctx, *input tangents)`` (zeros for the
    tensors without one) gives the outputs' tangents. None: no input is dual. (``Function``:
    the base class, to tell which rules ``cls`` defines.)"""
    level = _current[0]
    if level is None or getattr(_paused, "on", False):
        return None
    tangents = [_tangent_of(a, level) for a in args]
    if all(t is None for t in tangents):
        return None
    if cls.jvp is Function.jvp:
        raise RuntimeError(f"{cls.__name__}: forward-mode AD (a dual tensor reached "
                           f"{cls.__name__}.apply) needs a static jvp(ctx, *grad_inputs) "
                           f"returning the outputs' tangents")
    primals = [_alias(a) if t is not None else a for a, t in zip(args, tangents)]
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    recording = is_grad_enabled() and any(needs) and (
        cls.backward is not Function.backward or cls.vjp is not Function.vjp)
    _paused.on = True
    try:
        out = cls.apply(*primals) if recording else None
        with no_grad():
            plain, ctx = cls._run_forward(primals, needs)
        if out is None:
            out = plain
        tin = [t if t is not None else (zeros_like_v(a) if isinstance(a, Tensor) and
                                         _is_float(a) else None)
               for a, t in zip(args, tangents)]
        tout = cls.jvp(ctx, *tin)
    finally:
        _paused.on = False
    o_leaves, o_def = tree_flatten(out)
    t_leaves = list(tout) if isinstance(tout, (tuple, list)) else [tout]
    if len(t_leaves) != len(o_leaves):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(t_leaves)} tangents for "
                           f"{len(o_leaves)} outputs")
    for o, t in zip(o_leaves, t_leaves):
        if isinstance(o, Tensor) and t is not None and _is_float(o):
            t = as_value(t)
            if tuple(t.shape) != tuple(o.shape):
                raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape "
                                   f"{tuple(t.shape)} for an output of shape "
                                   f"{tuple(o.shape)}")
            _set_tangent(o, level, t)
    return out
