"""``ember.utils``: ``ember.utils.data`` mirrors PyTorch's import path for ``ember.data``."""
