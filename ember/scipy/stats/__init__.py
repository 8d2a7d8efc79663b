"""``jax.scipy.stats``'s names: ``norm`` (the normal distribution's densities and
functions), as ``import ember.scipy.stats.norm as norm``."""
from . import norm  # noqa: F401

__all__ = ["norm"]
