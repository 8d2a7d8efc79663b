"""Reading and writing image files as uint8 tensors: torchvision.io's functions
(``read_image``, ``decode_image``, ``read_file``, ``write_file``, ``encode_png``/``write_png``,
``encode_jpeg``/``write_jpeg``, ``decode_png``/``decode_jpeg``, ``ImageReadMode``), served as
``ember.vision.io``. Images are (C, H, W) uint8 tensors, as torchvision's; decoding and
encoding go through Pillow (needed only when these functions are called).
"""
from __future__ import annotations

import enum
import io as _io

import numpy as np

from ..core.tensor import Tensor

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "read_image",
           "decode_png", "decode_jpeg", "encode_png", "encode_jpeg", "write_png", "write_jpeg"]


class ImageReadMode(enum.Enum):
    """How ``read_image``/``decode_image`` convert the decoded image: ``UNCHANGED`` keeps the
    file's channels; ``GRAY`` (1), ``GRAY_ALPHA`` (2), ``RGB`` (3), ``RGB_ALPHA`` (4)."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
             ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("ember.vision.io needs Pillow to decode and encode images "
                          "(pip install pillow)") from None
    return Image


def _mode(mode, op):
    if isinstance(mode, str):
        try:
            mode = ImageReadMode[mode.upper()]
        except KeyError:
            raise ValueError(f"{op}: unknown mode {mode!r}; use one of "
                             f"{[m.name for m in ImageReadMode]}") from None
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"{op}: mode must be an ImageReadMode, got {mode!r}")
    return mode


def read_file(path):
    """The bytes of a file as a 1-D uint8 tensor.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "b.bin")
    >>> with open(p, "wb") as f:
    ...     _ = f.write(b"\\x01\\x02")
    >>> ember.vision.io.read_file(p)
    tensor([1, 2], dtype=ember.uint8)
    """
    with open(path, "rb") as f:
        data = f.read()
    return Tensor._wrap(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename, data):
    """Write a 1-D uint8 tensor's bytes to ``filename``."""
    arr = _bytes_of(data, "write_file")
    with open(filename, "wb") as f:
        f.write(arr.tobytes())


def _bytes_of(data, op):
    arr = data.numpy() if isinstance(data, Tensor) else np.asarray(data)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError(f"{op}: expects a 1-D uint8 tensor of encoded bytes, got shape "
                         f"{arr.shape} and dtype {arr.dtype}")
    return arr


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode an image (PNG, JPEG, BMP, GIF's first frame, ...) into a (C, H, W) uint8 tensor;
    ``input`` is the encoded bytes as a 1-D uint8 tensor, or a path (as torchvision's).

    >>> png = ember.vision.io.encode_png(ember.full((3, 2, 4), 200, dtype=ember.uint8))
    >>> img = ember.vision.io.decode_image(png)
    >>> img.shape, img.dtype, int(img[0, 0, 0])
    (ember.Size([3, 2, 4]), ember.uint8, 200)
    >>> ember.vision.io.decode_image(png, mode=ember.vision.io.ImageReadMode.GRAY).shape
    ember.Size([1, 2, 4])
    """
    mode = _mode(mode, "decode_image")
    Image = _pil()
    if isinstance(input, (str, bytes)) or hasattr(input, "__fspath__"):
        if isinstance(input, bytes):
            raw = input
        else:
            with open(input, "rb") as f:
                raw = f.read()
    else:
        raw = _bytes_of(input, "decode_image").tobytes()
    try:
        im = Image.open(_io.BytesIO(raw))
        im.load()
    except Exception as e:  # PIL raises several classes for unreadable data
        raise RuntimeError(f"decode_image: could not decode the image ({e})") from None
    if apply_exif_orientation:
        from PIL import ImageOps
        im = ImageOps.exif_transpose(im)
    if mode is ImageReadMode.UNCHANGED:
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
        elif im.mode in ("1", "I;16", "I", "F"):
            im = im.convert("L")
        elif im.mode not in ("L", "LA", "RGB", "RGBA"):
            im = im.convert("RGB")
    else:
        im = im.convert(_PIL_MODE[mode])
    arr = np.asarray(im, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return Tensor._wrap(np.ascontiguousarray(arr))


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Read an image file into a (C, H, W) uint8 tensor (``decode_image(read_file(path))``).

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> ember.vision.io.write_png(ember.zeros((1, 3, 5), dtype=ember.uint8), p)
    >>> ember.vision.io.read_image(p).shape
    ember.Size([1, 3, 5])
    """
    return decode_image(read_file(path), mode, apply_exif_orientation)


def decode_png(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode PNG bytes (a 1-D uint8 tensor) into a (C, H, W) uint8 tensor."""
    return decode_image(input, mode, apply_exif_orientation)


def decode_jpeg(input, mode=ImageReadMode.UNCHANGED, device="cpu",
                apply_exif_orientation=False):
    """Decode JPEG bytes (a 1-D uint8 tensor; a list of them gives a list) into (C, H, W)
    uint8 tensors."""
    if isinstance(input, (list, tuple)):
        return [decode_image(x, mode, apply_exif_orientation) for x in input]
    return decode_image(input, mode, apply_exif_orientation)


def _pil_image(input, op):
    arr = input.numpy() if isinstance(input, Tensor) else np.asarray(input)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[0] not in (1, 2, 3, 4):
        raise ValueError(f"{op}: expects a (C, H, W) uint8 tensor with C in 1..4, got shape "
                         f"{arr.shape} and dtype {arr.dtype}")
    c = arr.shape[0]
    hwc = arr[0] if c == 1 else arr.transpose(1, 2, 0)
    return _pil().fromarray(np.ascontiguousarray(hwc), mode={1: "L", 2: "LA", 3: "RGB",
                                                            4: "RGBA"}[c])


def _encode(input, fmt, op, **kw):
    buf = _io.BytesIO()
    _pil_image(input, op).save(buf, format=fmt, **kw)
    return Tensor._wrap(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def encode_png(input, compression_level=6):
    """Encode a (C, H, W) uint8 tensor as PNG; the bytes as a 1-D uint8 tensor."""
    return _encode(input, "PNG", "encode_png", compress_level=int(compression_level))


def write_png(input, filename, compression_level=6):
    """Write a (C, H, W) uint8 tensor to ``filename`` as PNG."""
    write_file(filename, encode_png(input, compression_level))


def encode_jpeg(input, quality=75):
    """Encode a (C, H, W) uint8 tensor (C = 1 or 3) as JPEG; the bytes as a 1-D uint8 tensor
    (a list of images gives a list)."""
    if isinstance(input, (list, tuple)):
        return [encode_jpeg(x, quality) for x in input]
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"encode_jpeg: quality must be in 1..100, got {quality}")
    return _encode(input, "JPEG", "encode_jpeg", quality=int(quality))


def write_jpeg(input, filename, quality=75):
    """Write a (C, H, W) uint8 tensor to ``filename`` as JPEG."""
    write_file(filename, encode_jpeg(input, quality))


