"""Image transforms with torchvision's names: ``Compose, ToTensor, Normalize, RandomCrop,
RandomHorizontalFlip, Resize, Lambda``. Random ones draw from ember's global generator
(``ember.manual_seed`` makes them reproducible)."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "CenterCrop", "RandomHorizontalFlip",
           "Resize", "Lambda"]


def _rng():
    from ..random.generator import default_generator
    return default_generator._rng


def _chw(x, op):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != 3:
        raise ValueError(f"{op}: expected a CxHxW tensor, got shape {a.shape}")
    return a


class Compose:
    """Applies the transforms in order.

    >>> from ember.data import transforms as T
    >>> pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])
    >>> pipeline(np.array([[0, 255]], dtype=np.uint8))
    tensor([[[-1., 1.]]])
    """
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToTensor:
    """HxWxC (or HxW) uint8 image -> CxHxW float32 tensor in [0, 1] (float input kept).

    >>> img = np.zeros((2, 3, 3), dtype=np.uint8)       # H x W x C
    >>> img[0, 0] = 255
    >>> t = ember.data.transforms.ToTensor()(img)
    >>> t.shape, t.dtype, t[:, 0, 0]
    (ember.Size([3, 2, 3]), ember.float32, tensor([1., 1., 1.]))
    """

    def __call__(self, img):
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor: expected an HxW or HxWxC image, got shape {a.shape}")
        a = a.transpose(2, 0, 1)
        a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        return Tensor._wrap(np.ascontiguousarray(a))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel.

    >>> norm = ember.data.transforms.Normalize(mean=[0.5, 0.0], std=[0.5, 2.0])
    >>> norm(ember.ones(2, 1, 1)).flatten()
    tensor([1.0000, 0.5000])
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(-1, 1, 1)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std {std} has a zero; it would divide by zero")

    def __call__(self, x):
        a = _chw(x, "Normalize")
        return Tensor._wrap(((a - self.mean) / self.std).astype(a.dtype))

    def __repr__(self):
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


class RandomCrop:
    """A random ``size`` crop, after zero-padding each side by ``padding``.

    >>> crop = ember.data.transforms.RandomCrop(28, padding=2)
    >>> crop(ember.ones(1, 28, 28)).shape
    ember.Size([1, 28, 28])
    """

    def __init__(self, size, padding=None, fill=0):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding, self.fill = padding, fill

    def __call__(self, x):
        a = _chw(x, "RandomCrop")
        if self.padding:
            p = self.padding
            a = np.pad(a, ((0, 0), (p, p), (p, p)), constant_values=self.fill)
        h, w = a.shape[1:]
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the image {(h, w)}")
        i = int(_rng().integers(0, h - th + 1))
        j = int(_rng().integers(0, w - tw + 1))
        return Tensor._wrap(np.ascontiguousarray(a[:, i:i + th, j:j + tw]))

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class CenterCrop:
    """The central ``size`` crop (an int: a square); an image smaller than ``size`` is first
    zero-padded evenly on each side, as torchvision does.

    >>> crop = ember.data.transforms.CenterCrop(2)
    >>> crop(ember.arange(16.).reshape(1, 4, 4))
    tensor([[[5., 6.],
             [9., 10.]]])
    >>> ember.data.transforms.CenterCrop((4, 6))(ember.ones(3, 2, 2)).shape    # smaller: padded
    ember.Size([3, 4, 6])
    """

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, x):
        a = _chw(x, "CenterCrop")
        th, tw = self.size
        h, w = a.shape[1:]
        if th > h or tw > w:
            ph, pw = max(th - h, 0), max(tw - w, 0)
            a = np.pad(a, ((0, 0), (ph // 2, (ph + 1) // 2), (pw // 2, (pw + 1) // 2)))
            h, w = a.shape[1:]
        i, j = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        return Tensor._wrap(np.ascontiguousarray(a[:, i:i + th, j:j + tw]))

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class RandomHorizontalFlip:
    """Mirrors a CxHxW image left-right with probability ``p``.

    >>> flip = ember.data.transforms.RandomHorizontalFlip(p=1.0)
    >>> flip(ember.tensor([[[1., 2., 3.]]]))
    tensor([[[3., 2., 1.]]])
    """
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, x):
        a = _chw(x, "RandomHorizontalFlip")
        if _rng().random() < self.p:
            a = np.ascontiguousarray(a[:, :, ::-1])
        return Tensor._wrap(a)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Resize:
    """Resize a CxHxW tensor to ``size`` (an int resizes the shorter side) with bilinear
    (default) or nearest interpolation.

    >>> ember.data.transforms.Resize((4, 6))(ember.ones(3, 2, 3)).shape
    ember.Size([3, 4, 6])
    >>> ember.data.transforms.Resize(16)(ember.ones(3, 8, 12)).shape      # the shorter side
    ember.Size([3, 16, 24])
    """

    def __init__(self, size, interpolation="bilinear"):
        self.size, self.interpolation = size, interpolation

    def __call__(self, x):
        a = _chw(x, "Resize")
        h, w = a.shape[1:]
        if isinstance(self.size, int):
            s = self.size
            size = (s, max(1, int(s * w / h))) if h <= w else (max(1, int(s * h / w)), s)
        else:
            size = tuple(self.size)
        from ..nn.functional import interpolate
        out = interpolate(Tensor._wrap(a[None]), size=size, mode=self.interpolation)
        return Tensor._wrap(out._data[0])

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


class Lambda:
    """A user function as a transform.

    >>> ember.data.transforms.Lambda(lambda x: x * 2)(ember.tensor([1., 2.]))
    tensor([2., 4.])
    """
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)
