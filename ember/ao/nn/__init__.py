"""``ember.ao.nn``: quantized layers, as ``torch.ao.nn`` (``quantized.dynamic``: dynamically
quantized Linear and LSTM)."""
from . import quantized  # noqa: F401
from . import intrinsic  # noqa: F401,E402  (fused Linear/Conv2d + ReLU, and their int8 layers)
from .intrinsic import quantized as _intrinsic_quantized  # noqa: F401,E402
from . import qat  # noqa: F401,E402  (quantization-aware training layers)
from .intrinsic import qat as _intrinsic_qat  # noqa: F401,E402  (QAT Conv+BN(+ReLU))
