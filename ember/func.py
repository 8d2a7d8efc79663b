"""``ember.func`` (as ``torch.func``): run a module with given parameters, for the functional
style (``grad``/``vmap``/``jit`` over a model's weights)."""
from __future__ import annotations

from .nn.module import Module, _with_tensors, _named_tensors

__all__ = ["functional_call", "stack_module_state", "params_of", "vmap", "grad", "grad_and_value", "vjp", "jvp",
           "jacrev", "jacfwd", "hessian", "linearize"]


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with its parameters/buffers replaced by the tensors in the
    dict(s) (keys as in ``named_parameters()``); the module itself is left unchanged.
    With ``tie_weights`` (the default, as PyTorch), a tensor the module holds under several
    names (a language model's tied embedding and output weights) is replaced under all of
    them by the value given for any one.

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
    named = _named_tensors(module)
    names = {n for n, _ in named}
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise KeyError(f"functional_call: {unknown} are not parameters or buffers of "
                       f"{type(module).__name__}; expected names like {sorted(names)[:4]}")
    if tie_weights:
        _tie(named, mapping)
    if strict and names - set(mapping):
        raise KeyError(f"functional_call: missing {sorted(names - set(mapping))} (strict=True)")
    if not isinstance(args, tuple):
        args = (args,)
    return _with_tensors(module, mapping)(*args, **(kwargs or {}))


def stack_module_state(models):
    """``torch.func.stack_module_state``: the parameters and the buffers of same-structured
    ``models`` stacked along a new leading axis, as two dicts keyed like
    ``named_parameters()``/``named_buffers()`` (an ensemble for ``vmap`` over
    ``functional_call``). The stacked parameters are new leaves that require grad when the
    originals do; the models are left unchanged.

    >>> ms = [ember.nn.Linear(3, 2) for _ in range(4)]
    >>> params, buffers = ember.func.stack_module_state(ms)
    >>> params["weight"].shape, buffers
    (ember.Size([4, 2, 3]), {})
    """
    from .core.autograd import no_grad
    from .ops.indexing import stack
    models = list(models)
    if not models:
        raise ValueError("stack_module_state: expected at least one model, got none")
    if any(not isinstance(m, Module) for m in models):
        raise TypeError(f"stack_module_state: expected nn.Modules, got "
                        f"{[type(m).__name__ for m in models]}")

    def stacked(named_of):
        names = [[n for n, _ in named_of(m)] for m in models]
        for i, ns in enumerate(names[1:], 1):
            if ns != names[0]:
                raise ValueError(f"stack_module_state: model {i} ({type(models[i]).__name__}) "
                                 f"has other parameters/buffers than model 0: "
                                 f"{sorted(set(ns) ^ set(names[0]))[:4]}; all models must "
                                 f"have the same structure")
        out = {}
        for j, n in enumerate(names[0]):
            ts = [dict(named_of(m))[n] for m in models]
            shapes = {tuple(t.shape) for t in ts}
            if len(shapes) > 1:
                raise ValueError(f"stack_module_state: {n!r} has shapes {sorted(shapes)} "
                                 f"across the models; they must be equal")
            with no_grad():
                st = stack([t.detach() for t in ts])
            out[n] = st.requires_grad_() if ts[0].requires_grad else st
        return out
    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())


def _tie(named, mapping):
    """Give every name of a shared tensor the value given for one of its names."""
    groups = {}
    for n, t in named:
        groups.setdefault(id(t), []).append(n)
    for group in groups.values():
        given = [n for n in group if n in mapping]
        if len(group) < 2 or not given:
            continue
        value = mapping[given[0]]
        clash = [n for n in given if mapping[n] is not value]
        if clash:
            raise ValueError(f"functional_call: {given[0]!r} and {clash[0]!r} are tied in the "
                             f"module (one tensor) but got different values; pass one of them, "
                             f"the same tensor for both, or tie_weights=False")
        for n in group:
            mapping[n] = value


def params_of(module):
    """``{name: parameter}`` as a plain dict (a pytree for ``grad``/``jit``).

    >>> params = ember.func.params_of(ember.nn.Linear(3, 2))
    >>> {name: tuple(p.shape) for name, p in params.items()}
    {'weight': (2, 3), 'bias': (2,)}
    """
    return dict(module.named_parameters())


# ---- torch.func's transform names over ember's transforms -----------------------------------

def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``torch.func.vmap``: ``ember.vmap`` with PyTorch's keyword names (``in_dims``/
    ``out_dims``); ``chunk_size`` is accepted (the whole batch runs at once).

    >>> ember.func.vmap(lambda row: row.sum(), in_dims=0)(ember.ones(3, 2))
    tensor([2., 2., 2.])
    """
    from .transforms import vmap as _vmap
    return _vmap(func, in_dims=in_dims, out_dims=out_dims, randomness=randomness,
                 chunk_size=chunk_size)


def grad(func, argnums=0, has_aux=False):
    """``torch.func.grad``: the gradient of a scalar-valued ``func`` (as ``ember.grad``).

    >>> ember.func.grad(lambda x: (x ** 2).sum())(ember.tensor([1., 2.]))
    tensor([2., 4.])
    """
    from .transforms import grad as _grad
    return _grad(func, argnums=argnums, has_aux=has_aux)


def grad_and_value(func, argnums=0, has_aux=False):
    """``torch.func.grad_and_value``: ``(gradient, value)`` (note the order: JAX's
    ``value_and_grad`` gives ``(value, gradient)``); with ``has_aux``,
    ``(gradient, (value, aux))``.

    >>> g, v = ember.func.grad_and_value(lambda x: (x ** 2).sum())(ember.tensor([1., 2.]))
    >>> g, v
    (tensor([2., 4.]), tensor(5.))
    """
    from .transforms import value_and_grad as _vg
    vg = _vg(func, argnums=argnums, has_aux=has_aux)

    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return g, value
    return wrapper


def vjp(func, *primals, has_aux=False):
    """``torch.func.vjp``: ``(output, vjp_fn)`` (as ``ember.vjp``).

    >>> out, f_vjp = ember.func.vjp(lambda x: x * 3.0, ember.tensor([1., 2.]))
    >>> f_vjp(ember.ones(2))
    (tensor([3., 3.]),)
    """
    from .transforms import vjp as _vjp
    return _vjp(func, *primals, has_aux=has_aux)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``torch.func.jvp``: ``(output, jvp_out)`` (as ``ember.jvp``).

    >>> ember.func.jvp(lambda x: x * x, (ember.tensor([3.]),), (ember.tensor([1.]),))
    (tensor([9.]), tensor([6.]))
    """
    from .transforms import jvp as _jvp
    return _jvp(func, tuple(primals), tuple(tangents), has_aux=has_aux)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """``torch.func.jacrev``: the Jacobian by reverse mode (as ``ember.jacrev``).

    >>> ember.func.jacrev(lambda x: x * 2.0)(ember.tensor([1., 2.]))
    tensor([[2., 0.],
            [0., 2.]])
    """
    from .transforms import jacrev as _jacrev
    return _jacrev(func, argnums=argnums, has_aux=has_aux)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``torch.func.jacfwd``: the Jacobian by forward mode (as ``ember.jacfwd``).

    >>> ember.func.jacfwd(lambda x: x ** 2)(ember.tensor([1., 3.]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    from .transforms import jacfwd as _jacfwd
    return _jacfwd(func, argnums=argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """``torch.func.hessian`` (as ``ember.hessian``).

    >>> ember.func.hessian(lambda x: (x ** 3).sum())(ember.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    from .transforms import hessian as _hessian
    return _hessian(func, argnums=argnums)


def linearize(func, *primals):
    """``torch.func.linearize``: ``(output, jvp_fn)`` (as ``ember.linearize``).

    >>> out, f_jvp = ember.func.linearize(lambda x: x.sin(), ember.tensor([0.]))
    >>> f_jvp(ember.tensor([2.]))
    tensor([2.])
    """
    from .transforms import linearize as _linearize
    return _linearize(func, *primals)
