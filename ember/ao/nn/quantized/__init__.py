"""``ember.ao.nn.quantized``: layers whose weights are int8 in plain buffers
(``dynamic``: int8 weights, activations quantized per call)."""
from . import dynamic  # noqa: F401
