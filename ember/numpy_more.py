"""The rest of ``jax.numpy``'s public names, re-exported by ``ember.numpy`` (one star import
at its end): statistics and reductions (``numpy_stats``), indexing helpers and set
operations (``numpy_index``)."""
from .numpy_stats import *  # noqa: F401,F403
from .numpy_index import *  # noqa: F401,F403
from . import numpy_index as _index, numpy_stats as _stats

__all__ = list(_stats.__all__) + list(_index.__all__)
