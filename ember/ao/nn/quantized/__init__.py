"""``ember.ao.nn.quantized``: layers whose weights are int8 in plain buffers
(``dynamic``: int8 weights, activations quantized per call)."""
from . import dynamic  # noqa: F401
# static int8 inference layers (what convert makes): plain buffers, see modules.py
from .modules import Conv2d, DeQuantize, Linear, Quantize  # noqa: F401,E402
