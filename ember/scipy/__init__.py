"""``jax.scipy``'s names over ember: ``ember.scipy.linalg``, ``ember.scipy.special`` and
``ember.scipy.stats`` (``norm``)."""
from . import linalg, special, stats  # noqa: F401
