"""``ember.nn``: modules, layers and losses with PyTorch's names (first slice)."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .layers import (  # noqa: F401
    Identity, Linear, ReLU, Tanh, Sigmoid, Flatten, Sequential, ModuleList, CrossEntropyLoss,
    MSELoss)
