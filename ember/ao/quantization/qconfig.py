"""``QConfig``: which observer (or fake-quantize) factories watch a layer's activations and
its weight, with PyTorch's defaults per backend."""
from __future__ import annotations

from collections import namedtuple

from .fake_quantize import (FakeQuantize, default_fake_quant,
                            default_per_channel_weight_fake_quant, default_weight_fake_quant)
from .observer import (MovingAverageMinMaxObserver, HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver,
                       default_observer, default_weight_observer, per_channel_symmetric,
                       per_tensor_symmetric)

__all__ = ["QConfig", "default_qconfig", "default_per_channel_qconfig",
           "get_default_qconfig", "default_qat_qconfig", "get_default_qat_qconfig"]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """The observer factories for a layer's activations and weight (``Observer.with_args
    (...)`` or the class itself), as ``torch.ao.quantization.QConfig``. Assign it to
    ``module.qconfig`` (children inherit it) before ``prepare``.

    >>> from ember.ao.quantization import QConfig, MinMaxObserver, PerChannelMinMaxObserver
    >>> qc = QConfig(activation=MinMaxObserver.with_args(reduce_range=True),
    ...              weight=PerChannelMinMaxObserver.with_args(
    ...                  dtype="qint8", qscheme="per_channel_symmetric"))
    >>> qc.weight().qscheme
    'per_channel_symmetric'
    """

    __slots__ = ()

    def __new__(cls, activation, weight):
        for name, f in (("activation", activation), ("weight", weight)):
            if not callable(f) or (hasattr(f, "forward") and not isinstance(f, type)):
                raise ValueError(f"QConfig: {name} must be an observer class or factory "
                                 f"(Observer.with_args(...)), not an observer instance "
                                 f"({f!r}); each layer needs its own")
        return super().__new__(cls, activation, weight)


default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_per_channel_qconfig = QConfig(
    activation=default_observer,
    weight=PerChannelMinMaxObserver.with_args(dtype="qint8", qscheme=per_channel_symmetric))


def get_default_qconfig(backend="x86", version=0):
    """PyTorch's default post-training qconfig for ``backend``: 'x86' and 'fbgemm' watch
    activations with a HistogramObserver on 7 bits (``reduce_range``) and weights per output
    channel (symmetric int8); 'qnnpack' uses 8-bit activations and one weight scale per
    tensor.

    >>> qc = ember.ao.quantization.get_default_qconfig("x86")
    >>> type(qc.activation()).__name__, qc.activation().reduce_range, qc.weight().qscheme
    ('HistogramObserver', True, 'per_channel_symmetric')
    """
    if backend in ("x86", "fbgemm", "onednn"):
        return QConfig(
            activation=HistogramObserver.with_args(reduce_range=backend != "onednn"),
            weight=PerChannelMinMaxObserver.with_args(dtype="qint8",
                                                      qscheme=per_channel_symmetric))
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=MinMaxObserver.with_args(dtype="qint8",
                                                       qscheme=per_tensor_symmetric))
    raise ValueError(f"get_default_qconfig: unknown backend {backend!r}; choose 'x86', "
                     f"'fbgemm', 'qnnpack' or 'onednn'")


default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)


def get_default_qat_qconfig(backend="x86", version=1):
    """PyTorch's default quantization-aware-training qconfig for ``backend``: FakeQuantize
    on activations (moving-average min/max, 7 bits for 'x86'/'fbgemm') and on weights (per
    output channel, symmetric int8; per tensor for 'qnnpack').

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> fq = qc.weight()
    >>> type(fq).__name__, fq.qscheme, (fq.quant_min, fq.quant_max)
    ('FakeQuantize', 'per_channel_symmetric', (-128, 127))
    """
    if backend not in ("x86", "fbgemm", "qnnpack", "onednn"):
        raise ValueError(f"get_default_qat_qconfig: unknown backend {backend!r}; choose "
                         f"'x86', 'fbgemm', 'qnnpack' or 'onednn'")
    activation = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                        quant_max=255, reduce_range=backend in ("x86",
                                                                                "fbgemm"))
    weight = default_weight_fake_quant if backend == "qnnpack" else \
        default_per_channel_weight_fake_quant
    return QConfig(activation=activation, weight=weight)
