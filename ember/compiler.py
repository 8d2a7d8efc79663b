"""``ember.compile`` (PyTorch's ``torch.compile``) and ``ember.compiler``: a PyTorch script's
``model = torch.compile(model)`` or ``@torch.compile`` runs on ember's ``jit``.

A module is wrapped in an ``OptimizedModule`` as PyTorch does (its parameters are the
original module's, its ``state_dict`` keys carry the ``_orig_mod.`` prefix, other attributes
are read through to the original module), whose forward is the jitted module: the same bits
as the eager module, one tape node with a compiled backward when parameters require grad,
dropout and BatchNorm behaving as eagerly. A function is jitted.

Where ``torch.compile`` breaks the graph and runs Python (data-dependent control flow,
``.item()``, ``loss.backward()`` and ``optimizer.step()`` inside the compiled function), ember
cannot trace one graph either: the call then runs eagerly from then on, with one warning that
says why (``fullgraph=True`` raises instead, as PyTorch does). The first call's Python side
effects up to that point ran once during the failed trace.

``dynamic``, ``mode`` and ``options`` are accepted and do not change anything (ember's jit
specialises on shapes and has one optimisation level); ``backend="eager"`` runs uncompiled.
"""
from __future__ import annotations

import functools
import threading
import warnings
import weakref

from .core.errors import ConcretizationError, TransformBackwardError
from .nn.module import Module
from .transforms import jit

__all__ = ["compile", "OptimizedModule", "disable", "reset", "is_compiling"]

_BACKENDS = ("inductor", "eager", "aot_eager", "aot_inductor", "cudagraphs", "ember")
_compiled = weakref.WeakSet()  # for reset(): the compiled callables alive
_tls = threading.local()  # how many compiled calls this thread is inside


class _Compiled:
    """A callable that runs ``fn`` jitted, or eagerly once tracing it as one graph failed."""

    def __init__(self, fn, fullgraph, eager, label="ember.compile"):
        self.fn = fn
        self.fullgraph = fullgraph
        self.eager = eager
        self.label = label  # the entry point the fallback warning names
        self.jitted = None if eager else jit(fn)
        functools.update_wrapper(self, fn, updated=())
        _compiled.add(self)

    def __call__(self, *args, **kwargs):
        if self.eager:
            return self.fn(*args, **kwargs)
        _tls.depth = getattr(_tls, "depth", 0) + 1
        try:
            return self.jitted(*args, **kwargs)
        except (ConcretizationError, TransformBackwardError) as e:
            if self.fullgraph:
                raise
            name = getattr(self.fn, "__qualname__", None) or type(self.fn).__name__
            warnings.warn(f"{self.label}: {name} can't be traced as one graph ({e}); it "
                          f"runs eagerly from now on (torch.compile falls back to Python at "
                          f"such a graph break; pass fullgraph=True to get the error instead)",
                          RuntimeWarning, stacklevel=2)
            self.eager = True
        finally:
            _tls.depth -= 1
        return self.fn(*args, **kwargs)

    def _reset(self):
        if self.jitted is not None:
            self.jitted.clear_cache()
            self.eager = False


class OptimizedModule(Module):
    """What ``ember.compile(module)`` returns (PyTorch's class of that name): the original
    module as the child ``_orig_mod`` and a compiled forward.

    >>> net = ember.nn.Linear(2, 1)
    >>> fast = ember.compile(net)
    >>> list(fast.state_dict())
    ['_orig_mod.weight', '_orig_mod.bias']
    >>> fast.in_features, fast(ember.ones(3, 2)).shape
    (2, ember.Size([3, 1]))
    """

    def __init__(self, mod, compiled):
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled_call", compiled)

    def forward(self, *args, **kwargs):
        return self._compiled_call(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod":
                raise
            return getattr(self._orig_mod, name)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """``torch.compile``: a module or function that runs through ``ember.jit`` (see the module
    docstring); with ``model=None``, a decorator.

    >>> @ember.compile
    ... def f(x):
    ...     return (x * 2).sum()
    >>> f(ember.ones(3))
    tensor(6.)
    """
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if callable(backend) and not isinstance(backend, str):
        raise NotImplementedError("ember.compile: custom backend callables are not supported; "
                                  f"use one of {', '.join(_BACKENDS)}")
    if backend not in _BACKENDS:
        raise ValueError(f"ember.compile: unknown backend {backend!r}; use one of "
                         f"{', '.join(_BACKENDS)}")
    if not callable(model):
        raise TypeError(f"ember.compile: expected a module or a callable, got "
                        f"{type(model).__name__}")
    if disable:
        return model
    compiled = _Compiled(model, fullgraph, eager=backend == "eager")
    if isinstance(model, Module):
        return OptimizedModule(model, compiled)
    return compiled


def _module_compile(self, *args, **kwargs):
    """``nn.Module.compile``: compile this module's forward in place (``ember.compile``'s
    arguments); unlike ``ember.compile(module)`` the module and its state_dict keys stay as
    they are.

    >>> net = ember.nn.Linear(2, 1)
    >>> net.compile()
    >>> list(net.state_dict()), net(ember.ones(3, 2)).shape
    (['weight', 'bias'], ember.Size([3, 1]))
    """
    forward = type(self).forward.__get__(self)
    object.__setattr__(self, "forward", compile(forward, *args, **kwargs))


Module.compile = _module_compile


def disable(fn=None, recursive=True):
    """``torch.compiler.disable``: ``fn`` as it is (ember traces through a function or not
    at all, so there is nothing to exclude)."""
    if fn is None:
        return lambda f: f
    return fn


def reset():
    """``torch.compiler.reset``: forget every compiled graph; the next calls trace afresh."""
    for c in list(_compiled):
        c._reset()


def is_compiling():
    """``torch.compiler.is_compiling``: True while a compiled function is being called (its
    Python runs only while it is traced, or when it fell back to eager)."""
    return getattr(_tls, "depth", 0) > 0
