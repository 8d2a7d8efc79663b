"""``ember.utils``: ``ember.utils.data`` mirrors PyTorch's import path for ``ember.data``,
``ember.utils.checkpoint`` is ``torch.utils.checkpoint``;
``make_grid``/``save_image`` are torchvision.utils' (``import ember.utils as vutils``)."""
from . import benchmark, checkpoint, data  # noqa: F401,E402
from .vision import make_grid, save_image  # noqa: F401,E402
from .swap import swap_tensors  # noqa: F401,E402
