"""``ember.utils``: ``ember.utils.data`` mirrors PyTorch's import path for ``ember.data``."""
from . import data  # noqa: F401,E402
