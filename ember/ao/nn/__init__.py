"""``ember.ao.nn``: quantized layers, as ``torch.ao.nn`` (``quantized.dynamic``: dynamically
quantized Linear and LSTM)."""
from . import quantized  # noqa: F401
