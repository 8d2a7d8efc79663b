"""``ember.nn.utils.parametrize`` (PyTorch's ``torch.nn.utils.parametrize``): a module's
tensor replaced by a function of other tensors, computed on every access.

``register_parametrization(module, "weight", P)`` moves the parameter to
``module.parametrizations.weight.original`` (after ``P.right_inverse`` if ``P`` has one;
``original0, original1, ...`` when it returns several tensors) and makes ``module.weight``
a property that returns ``P(original)``: the module's class becomes a generated subclass
``Parametrized<Class>``, as in PyTorch, so state_dict keys, printouts and optimizers see
what PyTorch's do. Assigning to ``module.weight`` goes through ``right_inverse``.
"""
from __future__ import annotations

import contextlib

from ...core.autograd import no_grad
from ...core.tensor import Tensor
from ..layers import ModuleDict, ModuleList
from ..module import Module, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache_depth = [0]
_cache = {}


@contextlib.contextmanager
def cached():
    """Within this context each parametrized tensor is computed once (on first access) and
    reused, as PyTorch's ``parametrize.cached()``: for a recurrent loop that reads the same
    parametrized weight every step.

    >>> lin = ember.nn.Linear(3, 3)
    >>> _ = ember.nn.utils.parametrize.register_parametrization(lin, "weight", ember.nn.Tanh())
    >>> with ember.nn.utils.parametrize.cached():
    ...     lin.weight is lin.weight
    True
    """
    _cache_depth[0] += 1
    try:
        yield
    finally:
        _cache_depth[0] -= 1
        if not _cache_depth[0]:
            _cache.clear()


def _assign(dst, value):
    # keep the tensor object (optimizers may hold it); replace its contents
    value = value.detach()
    dst._data = value._data.copy()
    dst._version[0] += 1


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the ``original`` tensor(s)
    they start from (a Parameter stays a Parameter, a buffer a buffer)."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:  # taken as the identity here, as PyTorch
                        pass
        is_param = isinstance(original, Parameter)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            if new is not original:
                _check_same(original, new, "right_inverse", unsafe)
                _assign(original, new)
            self._register("original", original, is_param)
        else:
            self.ntensors = len(new)
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise TypeError(f"register_parametrization: right_inverse must return a "
                                    f"tensor or a sequence of tensors, got element {i} of type "
                                    f"{type(t).__name__}")
                t = t.detach().clone()
                self._register(f"original{i}",
                               Parameter(t, original.requires_grad) if is_param else t,
                               is_param)
        if not unsafe:
            out = self()
            _check_same(original, out, "the parametrization", unsafe)

    def _register(self, name, t, is_param):
        if is_param:
            self.register_parameter(name, t)
        else:
            self.register_buffer(name, t)

    def forward(self):
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x

    def right_inverse(self, value):
        """Set the original tensor(s) so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    value = m.right_inverse(value)
                elif m is not list(self)[0] or not self.is_tensor:
                    raise RuntimeError(f"parametrization {type(m).__name__} has no "
                                       f"right_inverse: the tensor cannot be assigned")
            if self.is_tensor:
                _check_same(self.original, value, "right_inverse", self.unsafe)
                _assign(self.original, value)
            else:
                if not isinstance(value, (tuple, list)) or len(value) != self.ntensors:
                    raise ValueError(f"right_inverse must return {self.ntensors} tensors")
                for i, v in enumerate(value):
                    _assign(getattr(self, f"original{i}"), v)


def _check_same(ref, new, what, unsafe):
    if unsafe or not isinstance(new, Tensor):
        return
    if tuple(new.shape) != tuple(ref.shape) or new.dtype != ref.dtype:
        raise ValueError(f"register_parametrization: {what} changes the tensor from "
                         f"{tuple(ref.shape)} {ref.dtype} to {tuple(new.shape)} {new.dtype}; "
                         f"pass unsafe=True if that is intended")


def _parametrized_class(module):
    cls = type(module)
    if getattr(cls, "_ember_parametrized", False):
        return cls

    def __setattr__(self, name, value):
        if name in type(self)._ember_parametrized_names:
            self.parametrizations[name].right_inverse(value)
            _cache.pop((id(self), name), None)
            return
        cls.__setattr__(self, name, value)

    def __reduce_ex__(self, protocol):
        raise RuntimeError("a parametrized module cannot be pickled: save its state_dict "
                           "(ember.save(model.state_dict(), path)) instead")

    def __deepcopy__(self, memo):
        import copy
        new = object.__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    new_cls = type(f"Parametrized{cls.__name__}", (cls,),
                   {"_ember_parametrized": True, "_ember_parametrized_names": (),
                    "_ember_original_class": cls, "__setattr__": __setattr__,
                    "__reduce_ex__": __reduce_ex__, "__deepcopy__": __deepcopy__})
    module.__class__ = new_cls
    return new_cls


def _inject_property(module, name):
    cls = type(module)

    def get(self):
        plist = self.parametrizations[name]
        if _cache_depth[0]:
            key = (id(self), name)
            t = _cache.get(key)
            if t is None:
                t = _cache[key] = plist()
            return t
        return plist()

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(cls, name, property(get, set_))
    cls._ember_parametrized_names = cls._ember_parametrized_names + (name,)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Parametrize ``module.<tensor_name>`` by the module ``parametrization`` (see the module
    docstring); registering a second one on the same tensor applies it after the first.

    >>> class Symmetric(ember.nn.Module):
    ...     def forward(self, X):
    ...         return X.triu() + X.triu(1).mT
    >>> lin = ember.nn.Linear(3, 3)
    >>> _ = ember.nn.utils.parametrize.register_parametrization(lin, "weight", Symmetric())
    >>> bool((lin.weight == lin.weight.T).all()), sorted(lin.state_dict())
    (True, ['bias', 'parametrizations.weight.original'])
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be an "
                        f"nn.Module, got {type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            _check_same(getattr(module, tensor_name), parametrization(getattr(module, tensor_name)),
                        "the parametrization", unsafe)
        plist.append(parametrization)
        return module
    if tensor_name in module._parameters:
        original = module._parameters[tensor_name]
    elif tensor_name in module._buffers:
        original = module._buffers[tensor_name]
    else:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter "
                         f"or buffer {tensor_name!r}")
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is "
                         f"None")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    module._parameters.pop(tensor_name, None)
    module._buffers.pop(tensor_name, None)
    if "parametrizations" not in module._modules:
        Module.__setattr__(module, "parametrizations", ModuleDict())
    module.parametrizations[tensor_name] = plist
    _parametrized_class(module)
    _inject_property(module, tensor_name)
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` (or its tensor ``tensor_name``) has a parametrization.

    >>> lin = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    >>> ember.nn.utils.parametrize.is_parametrized(lin, "weight"), \\
    ...     ember.nn.utils.parametrize.is_parametrized(lin, "bias")
    (True, False)
    """
    plists = module._modules.get("parametrizations")
    if plists is None or not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def type_before_parametrizations(module):
    """The module's class before any parametrization was registered.

    >>> lin = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    >>> type(lin).__name__, ember.nn.utils.parametrize.type_before_parametrizations(lin).__name__
    ('ParametrizedLinear', 'Linear')
    """
    return getattr(type(module), "_ember_original_class", type(module))


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo ``register_parametrization`` for ``tensor_name``: the tensor becomes a plain
    parameter again, holding the parametrized value (``leave_parametrized=True``; the same
    Parameter object as ``original`` where the shapes allow) or the original one.

    >>> lin = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    >>> lin = ember.nn.utils.parametrize.remove_parametrizations(lin, "weight")
    >>> type(lin).__name__, sorted(lin.state_dict())
    ('Linear', ['bias', 'weight'])
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if tuple(value.shape) == tuple(original.shape) and value.dtype == original.dtype:
                _assign(original, value)
            else:
                original = Parameter(value.detach(), original.requires_grad) \
                    if isinstance(original, Parameter) else value.detach()
    else:
        if not leave_parametrized:
            raise ValueError("remove_parametrizations: leave_parametrized=False needs a "
                             "single original tensor; this parametrization has "
                             f"{plist.ntensors}")
        with no_grad():
            value = getattr(module, tensor_name).detach()
        o0 = plist.original0
        original = Parameter(value, o0.requires_grad) if isinstance(o0, Parameter) else value
    cls = type(module)
    delattr(cls, tensor_name)
    cls._ember_parametrized_names = tuple(n for n in cls._ember_parametrized_names
                                          if n != tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module._parameters[tensor_name] = original
    else:
        module._buffers[tensor_name] = original
    if not is_parametrized(module):
        del module._modules["parametrizations"]
        module.__class__ = cls._ember_original_class
    return module
