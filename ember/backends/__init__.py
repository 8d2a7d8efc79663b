"""``ember.backends``: PyTorch's backend queries (``ember.backends.mps.is_available()``).
The array backends themselves are in ``ember.backend``."""
from . import mps, cuda, cudnn  # noqa: F401
