"""``torch.jit``'s entry points on ember: ``ember.jit`` stays JAX's ``jit`` (a function), and
carries PyTorch's TorchScript names as attributes, so ``torch.jit.script(model)`` ports as
``ember.jit.script(model)``.

ember has no TorchScript compiler: ``script`` and ``trace`` run the function or the module's
forward through ember's ``jit`` (one traced graph per input signature, the same bits as
eager). Where that cannot trace one graph (data-dependent Python control flow, ``.item()``)
the call runs eagerly from then on, with a warning: the results are the Python program's —
for ``script`` what TorchScript computes too; for ``trace``, where PyTorch would freeze the
branch the example input took, ember keeps the branch logic. A scripted or traced module
shares its parameters, buffers and submodules with the original and keeps its
``state_dict`` keys. ``save``/``load`` write and read a whole-model checkpoint
(``ember.save``): unlike a TorchScript archive, loading needs the model's class importable,
and it unpickles objects, so load only files you trust (as ``torch.jit.load``).
``is_scripting()`` is always False (ember never runs TorchScript code paths), and
``fork`` runs its function at once (as TorchScript's ``fork`` in eager Python does).
"""
from __future__ import annotations

import copy
import typing

from .compiler import _Compiled, is_compiling
from .nn.module import Module

Final = typing.Final


def _compiled_module(mod, label):
    new = copy.copy(mod)  # the same parameter, buffer and submodule objects
    d = new.__dict__
    for k in ("_parameters", "_buffers", "_modules"):  # the same objects, in own dicts
        if isinstance(d.get(k), dict):
            d[k] = dict(d[k])
    forward = type(mod).forward.__get__(new)
    object.__setattr__(new, "forward", _Compiled(forward, False, False, label))
    return new


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``torch.jit.script``: a module (a copy sharing its parameters) or function whose calls
    run through ember's jit; also a decorator."""
    if isinstance(obj, Module):
        return _compiled_module(obj, "ember.jit.script")
    if isinstance(obj, type):
        raise TypeError(f"ember.jit.script: scripting a class ({obj.__name__}) is not "
                        f"supported; script a module instance or a function")
    if not callable(obj):
        raise TypeError(f"ember.jit.script: expected a module or a function, got "
                        f"{type(obj).__name__}")
    return _Compiled(obj, False, False, "ember.jit.script")


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False,
          _module_class=None, _compilation_unit=None, example_kwarg_inputs=None,
          _store_inputs=True):
    """``torch.jit.trace``: ``func`` (a module or a function) compiled and traced now on
    ``example_inputs`` (a tensor or a tuple of them) or ``example_kwarg_inputs`` (a dict)."""
    if isinstance(func, Module):
        out = _compiled_module(func, "ember.jit.trace")
    elif callable(func):
        out = _Compiled(func, False, False, "ember.jit.trace")
    else:
        raise TypeError(f"ember.jit.trace: expected a module or a function, got "
                        f"{type(func).__name__}")
    if example_kwarg_inputs is not None:
        out(**example_kwarg_inputs)
    elif example_inputs is not None:
        out(*(example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)))
    else:
        raise ValueError("ember.jit.trace: pass example_inputs (a tensor or a tuple of "
                         "tensors) or example_kwarg_inputs (a dict)")
    return out


def save(m, f, _extra_files=None):
    """``torch.jit.save``: the module (scripted or not) as a whole-model checkpoint."""
    from .serialization import save as _save
    if not isinstance(m, Module):
        raise TypeError(f"ember.jit.save: expected a module, got {type(m).__name__}")
    plain = copy.copy(m)
    plain.__dict__.pop("forward", None)  # the compiled forward is rebuilt on load
    _save(plain, f)


def load(f, map_location=None, _extra_files=None):
    """``torch.jit.load``: a module written by :func:`save`, scripted again. It unpickles
    objects: load only files you trust."""
    from .serialization import load as _load
    return script(_load(f, map_location=map_location, weights_only=False))


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """``torch.jit.freeze``: the scripted module for inference (it must be in eval mode)."""
    if mod.training:
        raise RuntimeError("ember.jit.freeze: the module is in training mode; call .eval() "
                           "first (as torch.jit.freeze requires)")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``torch.jit.optimize_for_inference``: the module in eval mode, scripted."""
    return mod.eval() if "forward" in mod.__dict__ else script(mod.eval())


class Future:
    """What :func:`fork` returns: the value, computed already; ``wait()`` gives it."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def done(self):
        return True

    def value(self):
        return self._value


def fork(func, *args, **kwargs):
    """``torch.jit.fork``: ``func(*args, **kwargs)`` run now, as a :class:`Future`."""
    return Future(func(*args, **kwargs))


def wait(future):
    """``torch.jit.wait``: a forked call's value."""
    return future.wait()


def is_scripting():
    """Always False: ember runs Python, never TorchScript (code under
    ``if torch.jit.is_scripting():`` is TorchScript's path)."""
    return False


def is_tracing():
    """True while a scripted, traced or compiled call is being traced."""
    return is_compiling()


def annotate(the_type, the_value):
    """``torch.jit.annotate``: ``the_value`` (the type is for TorchScript)."""
    return the_value


def _identity_decorator(fn=None, **kwargs):
    if fn is None:
        return lambda f: f
    return fn


ignore = unused = export = script_if_tracing = interface = _identity_decorator
ignore.__doc__ = ("``torch.jit.ignore``/``unused``/``export``/``script_if_tracing``/"
                  "``interface``: the function as it is (ember runs Python).")

NAMES = ("script", "trace", "save", "load", "freeze", "optimize_for_inference", "fork",
         "wait", "is_scripting", "is_tracing", "annotate", "ignore", "unused", "export",
         "script_if_tracing", "interface", "Final", "Future")


def install(jit_fn):
    """Attach the names above to ``ember.jit`` (the function)."""
    for n in NAMES:
        setattr(jit_fn, n, globals()[n])
