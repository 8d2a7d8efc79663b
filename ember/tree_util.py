"""``jax.tree_util``'s names (the same functions as ``ember.tree``)."""
from .tree import *  # noqa: F401,F403
from .tree import __all__  # noqa: F401
