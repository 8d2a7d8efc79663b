"""The rest of ``jax.numpy``'s public names, re-exported by ``ember.numpy`` (one star import
at its end): statistics and reductions (``numpy_stats``)."""
from .numpy_stats import *  # noqa: F401,F403
from . import numpy_stats as _stats

__all__ = list(_stats.__all__)
