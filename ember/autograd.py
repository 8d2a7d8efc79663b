"""``ember.autograd``: PyTorch's eager autograd API."""
from .core.autograd import (  # noqa: F401
    backward, grad, no_grad, enable_grad, set_grad_enabled, is_grad_enabled, Node)
