"""``make_grid`` and ``save_image`` (torchvision.utils' names): a batch of images tiled into
one picture, and written to a PNG/JPEG file with Pillow (``pip install ember[vision]``)."""
from __future__ import annotations

import math

import numpy as np

from ..core.tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor):
    if isinstance(tensor, (list, tuple)):
        arrs = [t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t) for t in tensor]
        return np.stack(arrs)
    a = tensor.detach().numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[None] if a.shape[0] in (1, 3) else a[:, None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), (C, H, W) or (H, W), got "
                         f"shape {a.shape}")
    return a


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a batch of images ``(B, C, H, W)`` (or a list of ``(C, H, W)``) into one
    ``(3, H', W')`` image, ``nrow`` per row with ``padding`` pixels of ``pad_value`` between
    them; ``normalize`` rescales to [0, 1] (by ``value_range`` or the min and max, per image
    with ``scale_each``), as torchvision's.

    >>> ember.utils.make_grid(ember.ones(3, 1, 2, 2), nrow=2, padding=1).shape
    ember.Size([3, 7, 7])
    """
    a = _as_batch(tensor).astype(np.float32, copy=True)
    if a.shape[1] == 1:
        a = np.repeat(a, 3, axis=1)
    if normalize:
        def norm(img):
            lo, hi = value_range if value_range is not None else (img.min(), img.max())
            np.clip(img, lo, hi, out=img)
            img -= lo
            img /= max(hi - lo, 1e-5)
        if scale_each:
            for img in a:
                norm(img)
        else:
            norm(a)
    b, c, h, w = a.shape
    if b == 1 and padding == 0:
        return Tensor._wrap(a[0])
    xmaps = min(nrow, b)
    ymaps = int(math.ceil(b / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((c, height * ymaps + padding, width * xmaps + padding), pad_value,
                   np.float32)
    for k in range(b):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:y * height + padding + h,
             x * width + padding:x * width + padding + w] = a[k]
    return Tensor._wrap(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """Save a batch of images (values in [0, 1]) as one tiled picture (``make_grid``'s
    arguments apply), as torchvision's; the format comes from the file name or ``format``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> ember.utils.save_image(ember.rand(4, 1, 8, 8), path, nrow=2)
    >>> os.path.getsize(path) > 0
    True
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("save_image needs Pillow: pip install 'ember[vision]' (or pillow)") \
            from None
    grid = make_grid(tensor, **kwargs).numpy()
    arr = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(arr).save(fp, format=format)
