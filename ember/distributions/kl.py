"""``torch.distributions.kl``'s import path for ``kl_divergence``."""
from . import kl_divergence  # noqa: F401

__all__ = ["kl_divergence"]
