"""Static post-training quantization, PyTorch's eager workflow without its chores:
``model.qconfig = get_default_qconfig("x86")`` -> ``prepare`` -> run calibration batches ->
``convert``.

``prepare`` gives every supported layer (Linear, Conv2d and their fused ReLU forms) with a
qconfig two activation observers, attached as forward hooks: ``activation_pre_process``
watches its input, ``activation_post_process`` its output. No QuantStub/DeQuantStub is needed
(they are accepted, and become ``Quantize``/``DeQuantize``). ``convert`` swaps each observed
layer for its int8 version (``ember.ao.nn.quantized``): the weight quantized with the
qconfig's weight observer, the input's and output's scale/zero point from the calibration.
The converted layers take and return floats (see ``ember/ao/nn/quantized/modules.py``), so
any forward code between them keeps working.
"""
from __future__ import annotations

import copy

from ...nn.conv import Conv2d
from ...nn.layers import Linear
from ...nn.module import Module
from ..nn import intrinsic as _nni
from ..nn import quantized as _nnq
from ..nn import qat as _nnqat
from ..nn.intrinsic import qat as _nniqat
from ..nn.intrinsic import quantized as _nniq

__all__ = ["QuantStub", "DeQuantStub", "propagate_qconfig_", "prepare", "prepare_qat",
           "convert", "DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_QAT_MODULE_MAPPINGS"]


class _Stub(Module):
    """An identity marker that may carry a ``qconfig``."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig is not None:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_Stub):
    """Marks where a float input enters the quantized part (optional in ember: every
    quantized layer quantizes its own input); ``convert`` makes it a ``Quantize``.

    >>> ember.ao.quantization.QuantStub()(ember.tensor([0.5]))
    tensor([0.5000])
    """


class DeQuantStub(_Stub):
    """Marks where values leave the quantized part; ``convert`` makes it a ``DeQuantize``.

    >>> ember.ao.quantization.DeQuantStub()(ember.tensor([0.5]))
    tensor([0.5000])
    """


# float layer type -> its int8 inference layer
DEFAULT_STATIC_QUANT_MODULE_MAPPINGS = {
    Linear: _nnq.Linear, Conv2d: _nnq.Conv2d,
    _nni.LinearReLU: _nniq.LinearReLU, _nni.ConvReLU2d: _nniq.ConvReLU2d,
    # after quantization-aware training
    _nnqat.Linear: _nnq.Linear, _nnqat.Conv2d: _nnq.Conv2d,
    _nnqat.LinearReLU: _nniq.LinearReLU, _nnqat.ConvReLU2d: _nniq.ConvReLU2d,
    _nniqat.ConvBn2d: _nnq.Conv2d, _nniqat.ConvBnReLU2d: _nniq.ConvReLU2d,
}
# float layer type -> its quantization-aware-training layer
DEFAULT_QAT_MODULE_MAPPINGS = {
    Linear: _nnqat.Linear, Conv2d: _nnqat.Conv2d,
    _nni.LinearReLU: _nnqat.LinearReLU, _nni.ConvReLU2d: _nnqat.ConvReLU2d,
    _nni.ConvBn2d: _nniqat.ConvBn2d, _nni.ConvBnReLU2d: _nniqat.ConvBnReLU2d,
}


def _has_params(m):
    return any(True for _ in m.parameters(recurse=False))


def propagate_qconfig_(module, qconfig_dict=None):
    """Give every submodule the ``qconfig`` of its nearest ancestor that sets one (its own
    wins); ``qconfig_dict`` maps types or submodule names to qconfigs. Returns the names of
    the modules whose qconfig was set on them (not inherited)."""
    qconfig_dict = qconfig_dict or {}
    explicit = set()

    def walk(m, name, inherited):
        own = m.__dict__.get("qconfig", _MISSING)
        qc = qconfig_dict.get(name, qconfig_dict.get(type(m), own))
        if qc is not _MISSING:
            explicit.add(name)
        else:
            qc = inherited
        m.qconfig = qc
        for child_name, child in m.named_children():
            walk(child, f"{name}.{child_name}" if name else child_name, qc)
    walk(module, "", None)
    return explicit


_MISSING = object()


def _pre_hook(mod, inputs):
    return (mod.activation_pre_process(inputs[0]),) + tuple(inputs[1:])


def _post_hook(mod, inputs, output):
    return mod.activation_post_process(output)


def _supported_names(mapping):
    return ", ".join(sorted({t.__name__ for t in mapping} | {"QuantStub", "DeQuantStub"}))


def _attach(model, mapping, explicit, op):
    found = False
    for name, m in list(model.named_modules()):
        qc = getattr(m, "qconfig", None)
        if qc is None:
            continue
        if type(m) in mapping:
            m.activation_pre_process = qc.activation()
            m.activation_post_process = qc.activation()
            m.register_forward_pre_hook(_pre_hook)
            m.register_forward_hook(_post_hook)
            found = True
        elif isinstance(m, QuantStub):
            m.activation_post_process = qc.activation()
            m.register_forward_hook(_post_hook)
            found = True
        elif name in explicit and _has_params(m) and not list(m.children()) and \
                not hasattr(m, "_fused"):
            raise ValueError(
                f"{op}: submodule {name or '(the model)'!r} ({type(m).__name__}) has a qconfig "
                f"but static quantization has no int8 version of {type(m).__name__} "
                f"(supported: {_supported_names(mapping)}). Set its qconfig to None to keep "
                f"it in float (model.{name}.qconfig = None), or use quantize_dynamic for "
                f"LSTM/Linear.")
    return found


def _in_fused(model):
    """Names of the children of fused modules (they are observed as one layer)."""
    inner = set()
    for name, m in model.named_modules():
        if hasattr(m, "_fused"):
            inner.update(f"{name}.{c}" if name else c for c, _ in m.named_children())
    return inner


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None, mapping=None):
    """Attach observers to ``model``'s quantizable layers (copy unless ``inplace``), as
    ``torch.ao.quantization.prepare``; then run calibration data through it and ``convert``.

    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    >>> model.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    >>> prepared = ember.ao.quantization.prepare(model.eval())
    >>> for _ in range(4):
    ...     _ = prepared(ember.randn(16, 4))
    >>> qmodel = ember.ao.quantization.convert(prepared)
    >>> qmodel[0]
    Linear(in_features=4, out_features=8, scale=..., zero_point=..., qscheme=per_channel)
    >>> x = ember.randn(5, 4)
    >>> bool((qmodel(x) - model(x)).abs().max() < 0.1)
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"prepare: expects an ember.nn.Module, got {type(model).__name__}")
    mapping = DEFAULT_STATIC_QUANT_MODULE_MAPPINGS if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    explicit = propagate_qconfig_(model)
    inner = _in_fused(model)
    for name, m in model.named_modules():
        if name in inner:
            m.qconfig = None
    if not _attach(model, mapping, explicit, "prepare"):
        raise ValueError(
            "prepare: no layer to quantize: set a qconfig on the model or its layers first "
            "(model.qconfig = ember.ao.quantization.get_default_qconfig('x86')); layers "
            f"quantized: {_supported_names(mapping)}")
    return model


def _swap_qat(module, mapping):
    for name, child in list(module._modules.items()):
        if child is None:
            continue
        if type(child) in mapping and getattr(child, "qconfig", None) is not None:
            module._modules[name] = mapping[type(child)].from_float(child, child.qconfig)
        else:
            _swap_qat(child, mapping)


def prepare_qat(model, mapping=None, inplace=False):
    """Prepare ``model`` (in training mode) for quantization-aware training, as
    ``torch.ao.quantization.prepare_qat``: its Linear/Conv2d layers (and fused forms) with a
    qconfig become ``ember.ao.nn.qat`` layers whose weights pass through FakeQuantize, and
    FakeQuantize modules on their inputs and outputs (forward hooks) put activations on the
    int8 grid; gradients pass straight through. Train as usual, then ``convert``.

    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    >>> model.qconfig = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> qat = ember.ao.quantization.prepare_qat(model)
    >>> opt = ember.optim.SGD(qat.parameters(), lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     qat(ember.randn(16, 4)).pow(2).mean().backward()
    ...     opt.step()
    >>> type(ember.ao.quantization.convert(qat.eval())[0]).__name__
    'Linear'
    """
    if not isinstance(model, Module):
        raise TypeError(f"prepare_qat: expects an ember.nn.Module, got {type(model).__name__}")
    if not model.training:
        raise ValueError("prepare_qat: the model is in eval mode; quantization-aware training "
                         "needs training mode (model.train()) (for post-training quantization "
                         "use prepare)")
    mapping = DEFAULT_QAT_MODULE_MAPPINGS if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    explicit = propagate_qconfig_(model)
    inner = _in_fused(model)
    for name, m in model.named_modules():
        if name in inner:
            m.qconfig = None
    if type(model) in mapping and model.qconfig is not None:
        model = mapping[type(model)].from_float(model, model.qconfig)
    _swap_qat(model, mapping)
    if not _attach(model, {t: None for t in mapping.values()}, explicit, "prepare_qat"):
        raise ValueError(
            "prepare_qat: no layer to quantize: set a qconfig on the model or its layers first "
            "(model.qconfig = ember.ao.quantization.get_default_qat_qconfig('x86'))")
    return model


def _check_observed(name, m, attrs):
    for attr, what in attrs:
        obs = getattr(m, attr, None)
        if obs is not None and hasattr(obs, "observed") and not obs.observed():
            raise RuntimeError(
                f"convert: the observer of {name or '(the model)'!r} ({type(m).__name__}, its "
                f"{what}) has seen no data. Calibrate first: run a few batches through the "
                f"prepared model (prepared(x)) before convert.")


def _swap(module, prefix, mapping):
    for name, child in list(module._modules.items()):
        if child is None:
            continue
        full = f"{prefix}.{name}" if prefix else name
        qc = getattr(child, "qconfig", None)
        if type(child) in mapping and hasattr(child, "activation_post_process"):
            _check_observed(full, child, (("activation_pre_process", "input"),
                                          ("activation_post_process", "output")))
            module._modules[name] = _from_observed(mapping[type(child)], child, qc)
        elif isinstance(child, QuantStub) and hasattr(child, "activation_post_process"):
            _check_observed(full, child, (("activation_post_process", "output"),))
            s, z = child.activation_post_process.calculate_qparams()
            module._modules[name] = _nnq.Quantize(s.numpy(), z.numpy(),
                                                  child.activation_post_process.dtype)
        elif isinstance(child, DeQuantStub):
            module._modules[name] = _nnq.DeQuantize()
        else:
            _swap(child, full, mapping)
            child.__dict__.pop("qconfig", None)


def _from_observed(qcls, mod, qconfig):
    wfq = getattr(mod, "weight_fake_quant", None)  # a QAT layer: its trained weight observer
    weight_observer = wfq.activation_post_process if wfq is not None else qconfig.weight()
    return qcls.from_float(mod, weight_observer=weight_observer)


def convert(module, mapping=None, inplace=False, remove_qconfig=True,
            convert_custom_config_dict=None):
    """Swap the observed layers of a prepared and calibrated model for their int8 versions
    (copy unless ``inplace``), as ``torch.ao.quantization.convert``; see ``prepare``."""
    if not isinstance(module, Module):
        raise TypeError(f"convert: expects an ember.nn.Module, got {type(module).__name__}")
    mapping = _convert_mapping(mapping)
    if not inplace:
        module = copy.deepcopy(module)
    root = type(module)
    if root in mapping and hasattr(module, "activation_post_process"):
        _check_observed("", module, (("activation_pre_process", "input"),
                                     ("activation_post_process", "output")))
        return _from_observed(mapping[root], module, module.qconfig)
    _swap(module, "", mapping)
    if remove_qconfig:
        module.__dict__.pop("qconfig", None)
    return module


def _convert_mapping(mapping):
    if mapping is not None:
        return mapping
    return DEFAULT_STATIC_QUANT_MODULE_MAPPINGS
