"""``torch.signal``'s names: ``ember.signal.windows``."""
from . import windows  # noqa: F401
