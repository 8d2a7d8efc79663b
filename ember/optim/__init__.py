"""``ember.optim``: optimizers with PyTorch's names and update formulas (first slice: SGD)."""
from .sgd import Optimizer, SGD  # noqa: F401
