"""``ember.ao``: architecture optimisation, as ``torch.ao`` (quantization)."""
from . import quantization  # noqa: F401
