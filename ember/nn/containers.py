"""``ParameterList`` and ``ParameterDict``: parameters held in a list or dict whose entries
belong to the owning module (as PyTorch's)."""
from __future__ import annotations

from ..core.tensor import Tensor
from .module import Module, Parameter

__all__ = ["ParameterList", "ParameterDict"]


def _as_param(value, owner):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):  # PyTorch wraps a plain tensor as a trainable Parameter
        return Parameter(value)
    raise TypeError(f"{owner}: entries must be tensors or Parameters, got "
                    f"{type(value).__name__}")


class ParameterList(Module):
    """A list of parameters registered on the module (plain tensors become Parameters).

    >>> params = ember.nn.ParameterList([ember.nn.Parameter(ember.ones(2)) for _ in range(2)])
    >>> _ = params.append(ember.zeros(3))
    >>> len(params), [tuple(p.shape) for p in params], len(list(params.parameters()))
    (3, [(2,), (2,), (3,)], 3)
    """

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def _key(self, i):
        n = len(self._parameters)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"ParameterList: index {i} is out of range for {n} parameters")
        return str(j)

    def append(self, value):
        self.register_parameter(str(len(self._parameters)), _as_param(value, "ParameterList"))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList(list(self._parameters.values())[i])
        return self._parameters[self._key(i)]

    def __setitem__(self, i, value):
        self._parameters[self._key(i)] = _as_param(value, "ParameterList")

    def __iter__(self):
        return iter(self._parameters.values())

    def __len__(self):
        return len(self._parameters)

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self):
        return "\n".join(f"({k}): Parameter containing: [{p.dtype!r} of size {tuple(p.shape)}]"
                         for k, p in self._parameters.items())


class ParameterDict(Module):
    """A dict of named parameters registered on the module.

    >>> pd = ember.nn.ParameterDict({"scale": ember.ones(2), "shift": ember.zeros(2)})
    >>> sorted(pd.keys()), sorted(n for n, _ in pd.named_parameters())
    (['scale', 'shift'], ['scale', 'shift'])
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_param(value, "ParameterDict"))

    def __delitem__(self, key):
        del self._parameters[key]

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        return self._parameters.pop(key)

    def update(self, parameters):
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v
        return self
