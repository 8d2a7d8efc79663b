"""``ember.ao.nn.quantized.dynamic``: dynamically quantized layers, as
``torch.ao.nn.quantized.dynamic`` — int8 weights (per tensor, symmetric) in plain buffers,
float activations quantized from their own range at each call, float outputs. Built by
``ember.ao.quantization.quantize_dynamic`` or ``Layer.from_float(float_layer)``."""
from .modules import Linear, LSTM  # noqa: F401

__all__ = ["Linear", "LSTM"]
