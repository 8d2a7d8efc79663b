"""``ember.func`` (as ``torch.func``): run a module with given parameters, for the functional
style (``grad``/``vmap``/``jit`` over a model's weights)."""
from __future__ import annotations

from .nn.module import Module, _with_tensors, _named_tensors

__all__ = ["functional_call", "params_of"]


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, strict=False):
    """``module(*args, **kwargs)`` with its parameters/buffers replaced by the tensors in the
    dict(s) (keys as in ``named_parameters()``); the module itself is left unchanged.

    >>> layer = ember.nn.Linear(2, 1)
    >>> params = {"weight": ember.tensor([[1., 2.]]), "bias": ember.tensor([0.5])}
    >>> ember.func.functional_call(layer, params, (ember.tensor([[3., 4.]]),))
    tensor([[11.5000]])
    >>> loss = lambda p: ember.func.functional_call(layer, p, ember.ones(1, 2)).sum()
    >>> grads = ember.grad(loss)(params)
    >>> grads["weight"]
    tensor([[1., 1.]])
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an nn.Module, got {type(module).__name__}")
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = (dicts,)
    mapping = {}
    for d in dicts:
        for k, v in d.items():
            if k in mapping:
                raise ValueError(f"functional_call: {k!r} appears in more than one dict")
            mapping[k] = v
    names = {n for n, _ in _named_tensors(module)}
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise KeyError(f"functional_call: {unknown} are not parameters or buffers of "
                       f"{type(module).__name__}; expected names like {sorted(names)[:4]}")
    if strict and names - set(mapping):
        raise KeyError(f"functional_call: missing {sorted(names - set(mapping))} (strict=True)")
    if not isinstance(args, tuple):
        args = (args,)
    return _with_tensors(module, mapping)(*args, **(kwargs or {}))


def params_of(module):
    """``{name: parameter}`` as a plain dict (a pytree for ``grad``/``jit``).

    >>> params = ember.func.params_of(ember.nn.Linear(3, 2))
    >>> {name: tuple(p.shape) for name, p in params.items()}
    {'weight': (2, 3), 'bias': (2,)}
    """
    return dict(module.named_parameters())
