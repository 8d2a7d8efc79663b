"""PyTorch's legacy tensor types: ``ember.FloatTensor``, ``ember.LongTensor``, ... As in
PyTorch, calling one makes a tensor of its dtype (``LongTensor([1, 2])`` from data,
``FloatTensor(2, 3)`` uninitialised of that shape), ``isinstance(x, ember.FloatTensor)`` tests
a tensor's dtype, and ``x.type(ember.LongTensor)`` casts.

>>> ember.LongTensor([1, 2])
tensor([1, 2])
>>> ember.FloatTensor(2, 3).shape
ember.Size([2, 3])
>>> isinstance(ember.ones(2), ember.FloatTensor), isinstance(ember.ones(2), ember.LongTensor)
(True, False)
"""
from __future__ import annotations

from .core import dtypes as _dt
from .core.creation import tensor
from .core.tensor import Tensor
from .ops.creation_ops import empty
from .ops.tensor_methods import LEGACY_TYPE_NAMES


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, (tuple, list)) and data and all(isinstance(d, int) for d in data)\
                    and type(data).__name__ == "Size":  # a shape
                return empty(*data, dtype=cls.dtype, device=device)
            return tensor(data, dtype=cls.dtype, device=device)
        if not all(isinstance(a, int) for a in args):
            raise TypeError(f"{cls.__name__}(): expected a sequence of data or sizes (ints), got "
                            f"{', '.join(type(a).__name__ for a in args)}")
        return empty(*args, dtype=cls.dtype, device=device) if args else \
            empty(0, dtype=cls.dtype, device=device)

    def __repr__(cls):
        return f"<class 'ember.{cls.__name__}'>"


__all__ = []
for _name, _legacy in LEGACY_TYPE_NAMES.items():
    _dtype = getattr(_dt, _name if _name != "bool" else "bool_", None)
    if _dtype is None:  # bfloat16 without ml_dtypes
        continue
    globals()[_legacy] = _LegacyType(_legacy, (), {"dtype": _dtype,
                                                   "__doc__": f"PyTorch's legacy {_legacy}: "
                                                   f"tensors of dtype {_name}."})
    __all__.append(_legacy)
