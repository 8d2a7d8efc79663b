"""``ember.ao``: architecture optimisation, as ``torch.ao`` (quantization)."""
from . import quantization  # noqa: F401
from . import nn  # noqa: F401,E402  (quantized layers: ember.ao.nn.quantized.dynamic)
