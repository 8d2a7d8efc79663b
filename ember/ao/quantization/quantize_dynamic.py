"""``quantize_dynamic``: replace a model's Linear and LSTM layers with their dynamically
quantized versions (``ember.ao.nn.quantized.dynamic``), as
``torch.ao.quantization.quantize_dynamic``. No calibration: weights are quantized now,
activations at each call from their own range."""
from __future__ import annotations

import copy

from ...core import dtypes as _dt
from ...nn import Linear, LSTM
from ...nn.module import Module
from ..nn.quantized import dynamic as _nnqd

__all__ = ["quantize_dynamic", "DEFAULT_DYNAMIC_MAPPING"]

# float layer type -> its dynamically quantized counterpart
DEFAULT_DYNAMIC_MAPPING = {Linear: _nnqd.Linear, LSTM: _nnqd.LSTM}


def _as_weight_dtype(dtype):
    if dtype is _dt.int8 or dtype is _dt.float16:
        return dtype
    name = getattr(dtype, "name", dtype)
    name = str(name).replace("torch.", "").replace("ember.", "")
    d = {"qint8": _dt.int8, "int8": _dt.int8, "float16": _dt.float16, "half": _dt.float16}.get(name)
    if d is None:
        raise ValueError(f"quantize_dynamic: dtype must be ember.qint8 (int8 weights) or "
                         f"ember.float16 (float16 weights), got {dtype!r}")
    return d


def _spec(qconfig_spec, mapping, dtype):
    """``(types -> dtype, names -> dtype)`` from a set/list of types or a dict whose keys are
    types or submodule names (values: a dtype, or None for ``dtype``)."""
    if qconfig_spec is None:
        qconfig_spec = set(mapping)
    items = qconfig_spec.items() if isinstance(qconfig_spec, dict) else \
        ((k, None) for k in qconfig_spec)
    types, names = {}, {}
    for key, val in items:
        d = dtype if val is None or not isinstance(val, (str, _dt.DType)) else \
            _as_weight_dtype(val)
        if isinstance(key, str):
            names[key] = d
        elif isinstance(key, type) and key in mapping:
            types[key] = d
        else:
            what = key.__name__ if isinstance(key, type) else repr(key)
            raise ValueError(f"quantize_dynamic: no dynamically quantized version of {what}; "
                             f"supported: {', '.join(t.__name__ for t in mapping)} (pass a "
                             f"mapping= for your own layers)")
    return types, names


def _swap(module, prefix, types, names, mapping):
    for name, child in list(module._modules.items()):
        full = f"{prefix}.{name}" if prefix else name
        d = names.get(full, types.get(type(child)))
        if d is not None and type(child) in mapping:
            module._modules[name] = mapping[type(child)].from_float(child, dtype=d)  # in place
        elif d is not None and full in names:
            raise ValueError(f"quantize_dynamic: submodule {full!r} is a "
                             f"{type(child).__name__}, which has no dynamically quantized "
                             f"version (supported: "
                             f"{', '.join(t.__name__ for t in mapping)})")
        else:
            _swap(child, full, types, names, mapping)


def quantize_dynamic(model, qconfig_spec=None, dtype=_dt.int8, mapping=None, inplace=False):
    """A copy of ``model`` (``inplace=True``: the model itself) whose layers of the types in
    ``qconfig_spec`` (a set of types such as ``{nn.Linear, nn.LSTM}``, or a dict keyed by
    types or submodule names; default: Linear and LSTM) are dynamically quantized: int8
    weights (``dtype=ember.qint8``, per tensor, symmetric) or float16 weights
    (``dtype=ember.float16``); activations are quantized per call. The result is an ordinary
    module: ``state_dict``, ``ember.save``/``load`` and ``jit`` work on it.

    >>> model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 2))
    >>> qmodel = ember.ao.quantization.quantize_dynamic(model, {ember.nn.Linear}, dtype=ember.qint8)
    >>> qmodel[0]
    DynamicQuantizedLinear(in_features=8, out_features=16, dtype=ember.qint8, qscheme=per_tensor_symmetric)
    >>> x = ember.randn(4, 8)
    >>> bool((qmodel(x) - model(x)).abs().max() < 0.05)
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"quantize_dynamic: expects an ember.nn.Module, got "
                        f"{type(model).__name__}")
    mapping = DEFAULT_DYNAMIC_MAPPING if mapping is None else mapping
    types, names = _spec(qconfig_spec, mapping, _as_weight_dtype(dtype))
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    d = names.get("", types.get(type(model)))
    if d is not None and type(model) in mapping:  # the model itself is one such layer
        return mapping[type(model)].from_float(model, dtype=d)
    _swap(model, "", types, names, mapping)
    return model
