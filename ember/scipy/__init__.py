"""``jax.scipy``'s names over ember: ``ember.scipy.linalg`` and ``ember.scipy.special``."""
from . import linalg, special  # noqa: F401
