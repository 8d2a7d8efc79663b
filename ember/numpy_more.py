"""The rest of ``jax.numpy``'s public names, re-exported by ``ember.numpy`` (one star import
at its end): statistics and reductions (``numpy_stats``), indexing helpers and set
operations (``numpy_index``), math, creation and utilities (``numpy_math``), type names,
print options and ``.npy`` files (``numpy_types``)."""
from .numpy_stats import *  # noqa: F401,F403
from .numpy_index import *  # noqa: F401,F403
from .numpy_math import *  # noqa: F401,F403
from .numpy_types import *  # noqa: F401,F403
from . import numpy_index as _index, numpy_math as _math, numpy_stats as _stats, \
    numpy_types as _types

__all__ = list(_stats.__all__) + list(_index.__all__) + list(_math.__all__) + \
    list(_types.__all__)
