"""Image transforms with torchvision's names. Each takes a CxHxW tensor (or array) or, like
torchvision's, a PIL image (then it gives one back, and ``ToTensor`` converts it): ``Compose,
ToTensor, PILToTensor, ToPILImage, ConvertImageDtype, Normalize, Resize, CenterCrop, RandomCrop,
RandomResizedCrop, Pad, RandomHorizontalFlip, RandomVerticalFlip, Grayscale, RandomApply,
Lambda``; ``InterpolationMode``; the same operations as functions in
``ember.data.transforms.functional``. Random ones draw from ember's global generator
(``ember.manual_seed`` makes them reproducible). PIL images need Pillow
(``pip install 'ember[vision]'``)."""
from __future__ import annotations

import enum
import math
import sys

import numpy as np

from ..core.tensor import Tensor

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Normalize",
           "Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop", "Pad",
           "RandomHorizontalFlip", "RandomVerticalFlip", "Grayscale", "RandomApply", "Lambda",
           "InterpolationMode"]


class InterpolationMode(str, enum.Enum):
    """Resampling filters by torchvision's names (equal to their lower-case strings)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _rng():
    from ..random.generator import default_generator
    return default_generator._rng


def _pil_image_class():
    """PIL's Image class if PIL is loaded (an object can only be a PIL image if it is)."""
    mod = sys.modules.get("PIL.Image")
    return None if mod is None else mod.Image


def _is_pil(x):
    cls = _pil_image_class()
    return cls is not None and isinstance(x, cls)


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("ember.data.transforms: PIL images need Pillow; pip install "
                          "'ember[vision]' (or pillow)") from None
    return Image


def _chw(x, op):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != 3:
        raise ValueError(f"{op}: expected a CxHxW tensor (or a PIL image), got shape {a.shape}")
    return a


def _size_hw(x, op):
    if _is_pil(x):
        return x.size[1], x.size[0]
    a = _chw(x, op)
    return a.shape[1], a.shape[2]


def _pair(size, op):
    if isinstance(size, int):
        return size, size
    size = tuple(size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{op}: size must be an int or (height, width), got {size}")
    return size


# ---- the operations as functions (torchvision.transforms.functional's names) ----------------

def to_tensor(pic):
    """HxWxC (or HxW) uint8 image or PIL image -> CxHxW float32 tensor in [0, 1]; other dtypes
    are kept as values (float32)."""
    a = np.asarray(pic)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"ToTensor: expected an HxW or HxWxC image, got shape {a.shape}")
    a = a.transpose(2, 0, 1)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    return Tensor._wrap(np.ascontiguousarray(a))


def pil_to_tensor(pic):
    """PIL image -> CxHxW tensor of its own dtype (uint8 for 8-bit modes), no scaling."""
    if not _is_pil(pic):
        raise TypeError(f"PILToTensor: expected a PIL image, got {type(pic).__name__}")
    a = np.asarray(pic)
    a = a[:, :, None] if a.ndim == 2 else a
    return Tensor._wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def to_pil_image(pic, mode=None):
    """CxHxW tensor or HxWxC array -> PIL image. Floats are taken as [0, 1] and scaled by 255
    then truncated to uint8, as torchvision does; 1/2/3/4 channels give L/LA/RGB/RGBA."""
    Image = _pil()
    if _is_pil(pic):
        return pic.convert(mode) if mode else pic
    if isinstance(pic, Tensor):
        a = pic._data
        a = a[None] if a.ndim == 2 else a
        if a.ndim != 3:
            raise ValueError(f"ToPILImage: expected a CxHxW tensor, got shape {a.shape}")
        a = a.transpose(1, 2, 0)
    else:
        a = np.asarray(pic)
        a = a[:, :, None] if a.ndim == 2 else a
        if a.ndim != 3:
            raise ValueError(f"ToPILImage: expected an HxWxC array, got shape {a.shape}")
    if a.dtype.kind == "f":
        # x * 255 truncated toward zero, wrapped into a byte (the C cast PyTorch's .byte() does)
        a = (a * 255).astype(np.int64) & 0xFF
        a = a.astype(np.uint8)
    c = a.shape[2]
    if mode is None:
        if c not in _MODES:
            raise ValueError(f"ToPILImage: {c} channels have no default PIL mode; give mode=")
        mode = _MODES[c]
    return Image.fromarray(np.ascontiguousarray(a[:, :, 0] if c == 1 else a), mode=mode)


def convert_image_dtype(image, dtype):
    """Convert an image tensor's dtype with value rescaling: uint8 [0, 255] <-> float [0, 1]."""
    from ..core.dtypes import as_dtype
    a = image._data
    dt = as_dtype(dtype).np
    if a.dtype == dt:
        return image
    if a.dtype.kind == "f" and dt.kind == "f":
        return Tensor._wrap(a.astype(dt))
    if a.dtype.kind in "ui" and dt.kind == "f":
        return Tensor._wrap((a / float(np.iinfo(a.dtype).max)).astype(dt))
    if a.dtype.kind == "f" and dt.kind in "ui":
        top = np.iinfo(dt).max
        return Tensor._wrap((a * (top + 1.0 - 1e-3)).astype(dt))
    raise TypeError(f"ConvertImageDtype: no conversion from {a.dtype} to {dt}")


def normalize(tensor, mean, std, inplace=False):
    """(x - mean) / std per channel of a CxHxW tensor."""
    mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(std, np.float32).reshape(-1, 1, 1)
    if np.any(std == 0):
        raise ValueError(f"Normalize: std {std.ravel().tolist()} has a zero; it would divide "
                         f"by zero")
    a = _chw(tensor, "Normalize")
    out = ((a - mean) / std).astype(a.dtype)
    if inplace and isinstance(tensor, Tensor):
        tensor._data[...] = out
        return tensor
    return Tensor._wrap(out)


_PIL_FILTERS = {"nearest": 0, "nearest-exact": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3,
                "box": 4, "hamming": 5}


def _resized_hw(h, w, size, max_size, op):
    if isinstance(size, int) or (not isinstance(size, int) and len(tuple(size)) == 1):
        s = size if isinstance(size, int) else tuple(size)[0]
        short, long = (h, w) if h <= w else (w, h)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"Resize: max_size {max_size} must be larger than size {s}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)
    return _pair(size, op)


def resize(img, size, interpolation="bilinear", max_size=None, antialias=True):
    """Resize to ``size`` ((h, w), or an int for the shorter side). PIL images use PIL's
    filters (bilinear/bicubic/lanczos/box/hamming/nearest); tensors use nearest or bilinear
    interpolation."""
    mode = str(getattr(interpolation, "value", interpolation))
    if mode not in _PIL_FILTERS:
        raise ValueError(f"Resize: interpolation {interpolation!r} is not one of "
                         f"{sorted(_PIL_FILTERS)}")
    h, w = _size_hw(img, "Resize")
    th, tw = _resized_hw(h, w, size, max_size, "Resize")
    if _is_pil(img):
        return img.resize((tw, th), _PIL_FILTERS[mode])
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"Resize: a tensor image supports 'nearest' or 'bilinear', not "
                         f"{mode!r} (convert it to a PIL image for {mode})")
    a = _chw(img, "Resize")
    from ..nn.functional import interpolate
    out = interpolate(Tensor._wrap(a[None]), size=(th, tw), mode=mode)
    return Tensor._wrap(out._data[0])


def crop(img, top, left, height, width):
    """The ``height`` x ``width`` region at (top, left); outside the image is zero."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    a = _chw(img, "crop")
    h, w = a.shape[1:]
    if top < 0 or left < 0 or top + height > h or left + width > w:
        out = np.zeros(a.shape[:1] + (height, width), a.dtype)
        t0, l0 = max(top, 0), max(left, 0)
        t1, l1 = min(top + height, h), min(left + width, w)
        if t1 > t0 and l1 > l0:
            out[:, t0 - top:t1 - top, l0 - left:l1 - left] = a[:, t0:t1, l0:l1]
        return Tensor._wrap(out)
    return Tensor._wrap(np.ascontiguousarray(a[:, top:top + height, left:left + width]))


def _padding4(padding, op):
    if isinstance(padding, int):
        return padding, padding, padding, padding
    p = tuple(padding)
    if len(p) == 1:
        return p * 4
    if len(p) == 2:
        return p[0], p[1], p[0], p[1]
    if len(p) == 4:
        return p
    raise ValueError(f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints "
                     f"(left, top, right, bottom), got {padding}")


_NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "reflect",
           "symmetric": "symmetric"}


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad each side (``padding``: int, (left/right, top/bottom) or (left, top, right,
    bottom)) with ``fill`` or by ``edge``/``reflect``/``symmetric``."""
    if padding_mode not in _NP_PAD:
        raise ValueError(f"Pad: padding_mode {padding_mode!r} is not one of {sorted(_NP_PAD)}")
    left, top, right, bottom = _padding4(padding, "Pad")
    if _is_pil(img):
        a = np.asarray(img)
        hw = a.ndim == 2
        a = a[:, :, None] if hw else a
        widths = ((top, bottom), (left, right), (0, 0))
        if padding_mode == "constant":
            out = np.pad(a, widths, constant_values=fill)
        else:
            out = np.pad(a, widths, mode=padding_mode)
        out = out[:, :, 0] if hw else out
        im = _pil().fromarray(np.ascontiguousarray(out), mode=img.mode)
        if img.mode == "P":
            im.putpalette(img.getpalette())
        return im
    a = _chw(img, "Pad")
    widths = ((0, 0), (top, bottom), (left, right))
    if padding_mode == "constant":
        return Tensor._wrap(np.pad(a, widths, constant_values=fill))
    return Tensor._wrap(np.pad(a, widths, mode=padding_mode))


def center_crop(img, output_size):
    """The central crop (torchvision's offsets: round((h - th) / 2)); an image smaller than
    the crop is first zero-padded evenly."""
    th, tw = _pair(output_size, "CenterCrop")
    h, w = _size_hw(img, "CenterCrop")
    if th > h or tw > w:
        ph, pw = max(th - h, 0), max(tw - w, 0)
        img = pad(img, (pw // 2, ph // 2, (pw + 1) // 2, (ph + 1) // 2))
        h, w = _size_hw(img, "CenterCrop")
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def resized_crop(img, top, left, height, width, size, interpolation="bilinear"):
    return resize(crop(img, top, left, height, width), size, interpolation)


def hflip(img):
    if _is_pil(img):
        return img.transpose(0)  # FLIP_LEFT_RIGHT
    return Tensor._wrap(np.ascontiguousarray(_chw(img, "hflip")[:, :, ::-1]))


def vflip(img):
    if _is_pil(img):
        return img.transpose(1)  # FLIP_TOP_BOTTOM
    return Tensor._wrap(np.ascontiguousarray(_chw(img, "vflip")[:, ::-1]))


def rgb_to_grayscale(img, num_output_channels=1):
    """Luma (0.2989 R + 0.587 G + 0.114 B) as 1 or 3 channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got "
                         f"{num_output_channels}")
    if _is_pil(img):
        g = img.convert("L")
        return g if num_output_channels == 1 else _pil().merge("RGB", (g, g, g))
    a = _chw(img, "Grayscale")
    if a.shape[0] == 1:
        g = a
    elif a.shape[0] == 3:
        g = (0.2989 * a[0:1] + 0.587 * a[1:2] + 0.114 * a[2:3]).astype(a.dtype)
    else:
        raise ValueError(f"Grayscale: expected 1 or 3 channels, got shape {a.shape}")
    return Tensor._wrap(np.ascontiguousarray(np.repeat(g, num_output_channels, axis=0)))


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

    def __call__(self, pic):
        return to_tensor(pic)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel.

    >>> norm = ember.data.transforms.Normalize(mean=[0.5, 0.0], std=[0.5, 2.0])
    >>> norm(ember.ones(2, 1, 1)).flatten()
    tensor([1.0000, 0.5000])
    """

    def __init__(self, mean, std, inplace=False):
        self.mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(-1, 1, 1)
        self.inplace = inplace
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std {std} has a zero; it would divide by zero")

    def __call__(self, x):
        return normalize(x, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


class RandomCrop:
    """A random ``size`` crop, after padding each side by ``padding`` (and, with
    ``pad_if_needed``, up to the crop size).

    >>> crop = ember.data.transforms.RandomCrop(28, padding=2)
    >>> crop(ember.ones(1, 28, 28)).shape
    ember.Size([1, 28, 28])
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, x):
        if self.padding:
            x = pad(x, self.padding, self.fill, self.padding_mode)
        h, w = _size_hw(x, "RandomCrop")
        th, tw = self.size
        if self.pad_if_needed and (th > h or tw > w):
            x = pad(x, (max(tw - w, 0), max(th - h, 0)), self.fill, self.padding_mode)
            h, w = _size_hw(x, "RandomCrop")
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the image {(h, w)}; "
                             f"pass padding= or pad_if_needed=True")
        i = int(_rng().integers(0, h - th + 1))
        j = int(_rng().integers(0, w - tw + 1))
        return crop(x, i, j, th, tw)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class CenterCrop:
    """The central ``size`` crop (an int: a square); an image smaller than ``size`` is first
    zero-padded evenly on each side, as torchvision does.

    >>> crop = ember.data.transforms.CenterCrop(2)
    >>> crop(ember.arange(16.).reshape(1, 4, 4))
    tensor([[[ 5.,  6.],
             [ 9., 10.]]])
    >>> ember.data.transforms.CenterCrop((4, 6))(ember.ones(3, 2, 2)).shape    # smaller: padded
    ember.Size([3, 4, 6])
    """

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def __call__(self, x):
        return center_crop(x, self.size)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class RandomResizedCrop:
    """A crop of random area (``scale`` of the image) and aspect ratio (``ratio``), resized to
    ``size`` (torchvision's sampling: 10 tries, then a central crop of the clamped ratio).

    >>> ember.data.transforms.RandomResizedCrop(8)(ember.ones(3, 20, 30)).shape
    ember.Size([3, 8, 8])
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias=True):
        self.size = _pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale {scale} and ratio {ratio} must be "
                             f"(min, max)")
        self.scale, self.ratio, self.interpolation = tuple(scale), tuple(ratio), interpolation

    def get_params(self, img):
        h, w = _size_hw(img, "RandomResizedCrop")
        area, rng = h * w, _rng()
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * rng.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(rng.uniform(lo, hi))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, x):
        i, j, h, w = self.get_params(x)
        return resized_crop(x, i, j, h, w, self.size, self.interpolation)

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Pad:
    """Pad the sides: ``padding`` an int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` constant (``fill``), edge, reflect or symmetric.

    >>> ember.data.transforms.Pad((1, 2))(ember.ones(1, 2, 2)).shape
    ember.Size([1, 6, 4])
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        _padding4(padding, "Pad")
        if padding_mode not in _NP_PAD:
            raise ValueError(f"Pad: padding_mode {padding_mode!r} is not one of "
                             f"{sorted(_NP_PAD)}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, x):
        return pad(x, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class RandomHorizontalFlip:
    """Mirrors an image left-right with probability ``p``.

    >>> flip = ember.data.transforms.RandomHorizontalFlip(p=1.0)
    >>> flip(ember.tensor([[[1., 2., 3.]]]))
    tensor([[[3., 2., 1.]]])
    """
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, x):
        if not _is_pil(x):
            _chw(x, "RandomHorizontalFlip")
        return hflip(x) if _rng().random() < self.p else x

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip:
    """Mirrors an image top-bottom with probability ``p``.

    >>> ember.data.transforms.RandomVerticalFlip(p=1.0)(ember.tensor([[[1.], [2.]]]))
    tensor([[[2.],
             [1.]]])
    """
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, x):
        if not _is_pil(x):
            _chw(x, "RandomVerticalFlip")
        return vflip(x) if _rng().random() < self.p else x

    def __repr__(self):
        return f"RandomVerticalFlip(p={self.p})"


class Resize:
    """Resize to ``size`` (an int resizes the shorter side, ``max_size`` caps the longer).
    A PIL image is resized by PIL with the given filter; a CxHxW tensor with nearest or
    bilinear (default) interpolation.

    >>> ember.data.transforms.Resize((4, 6))(ember.ones(3, 2, 3)).shape
    ember.Size([3, 4, 6])
    >>> ember.data.transforms.Resize(16)(ember.ones(3, 8, 12)).shape      # the shorter side
    ember.Size([3, 16, 24])
    """

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size, self.interpolation, self.max_size = size, interpolation, max_size

    def __call__(self, x):
        return resize(x, self.size, self.interpolation, self.max_size)

    def __repr__(self):
        mode = getattr(self.interpolation, "value", self.interpolation)
        return f"Resize(size={self.size}, interpolation={mode})"


class Grayscale:
    """Luma of an RGB image (0.2989 R + 0.587 G + 0.114 B) as 1 or 3 channels.

    >>> ember.data.transforms.Grayscale()(ember.ones(3, 2, 2)).shape
    ember.Size([1, 2, 2])
    """
    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, x):
        return rgb_to_grayscale(x, self.num_output_channels)

    def __repr__(self):
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class PILToTensor:
    """PIL image -> CxHxW tensor of its pixel dtype (uint8), not scaled."""
    def __call__(self, pic):
        return pil_to_tensor(pic)

    def __repr__(self):
        return "PILToTensor()"


class ToPILImage:
    """CxHxW tensor (floats in [0, 1]) or HxWxC array -> PIL image (L/LA/RGB/RGBA by channels).
    """
    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return to_pil_image(pic, self.mode)

    def __repr__(self):
        return "ToPILImage()" if self.mode is None else f"ToPILImage(mode={self.mode})"


class ConvertImageDtype:
    """Change an image tensor's dtype, rescaling values (uint8 [0, 255] <-> float [0, 1]).

    >>> ember.data.transforms.ConvertImageDtype(ember.float32)(ember.tensor([[[255]]],
    ...                                                         dtype=ember.uint8))
    tensor([[[1.]]])
    """
    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        return convert_image_dtype(image, self.dtype)

    def __repr__(self):
        return f"ConvertImageDtype({self.dtype})"


class RandomApply:
    """Applies the list of ``transforms`` in order, all with probability ``p`` (else none).

    >>> t = ember.data.transforms.RandomApply([lambda x: x + 1], p=1.0)
    >>> t(ember.tensor([1.]))
    tensor([2.])
    """
    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = list(transforms), p

    def __call__(self, x):
        if self.p < _rng().random():
            return x
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f"RandomApply(p={self.p}, {self.transforms})"


class Lambda:
    """A user function as a transform.

    >>> ember.data.transforms.Lambda(lambda x: x * 2)(ember.tensor([1., 2.]))
    tensor([2., 4.])
    """
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def __repr__(self):
        return "Lambda()"


def _functional_module():
    import types
    mod = types.ModuleType(__name__ + ".functional",
                           "torchvision.transforms.functional's names over ember's transforms.")
    for name in ("to_tensor", "pil_to_tensor", "to_pil_image", "convert_image_dtype",
                 "normalize", "resize", "crop", "pad", "center_crop", "resized_crop", "hflip",
                 "vflip", "rgb_to_grayscale"):
        setattr(mod, name, globals()[name])
    mod.InterpolationMode = InterpolationMode
    return mod


functional = _functional_module()
sys.modules[functional.__name__] = functional
