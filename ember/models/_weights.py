"""Weights for ``ember.models``: descriptors of pretrained checkpoints (file name, sha256,
preprocessing, categories), the preprocessing itself, and the loading of a checkpoint from a
local file. No network is used: a checkpoint is a file on disk, found by its file name in
``weights_dir`` (``$EMBER_WEIGHTS_DIR``, ``~/.cache/ember/weights``, or PyTorch's hub cache
``$TORCH_HOME/hub/checkpoints`` so that files PyTorch already downloaded are reused)."""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..core.tensor import Tensor
from ..data import transforms as T

__all__ = ["Weights", "ImageClassification", "weights_dirs", "find_weights_file",
           "load_weights", "legacy_pretrained"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageClassification:
    """torchvision's classification preprocessing from ember's transforms: resize the shorter
    side to ``resize_size`` (bilinear), crop the centre ``crop_size`` square, scale to float32
    in [0, 1] and normalise per channel with ImageNet's mean and std.

    Takes an HxWxC uint8 image (a NumPy array or anything ``np.asarray`` turns into one, e.g. a
    PIL image) or a CxHxW tensor (uint8, or float already in [0, 1]); returns a CxHxW float32
    tensor. (torchvision antialiases when it shrinks a tensor image; ember's ``Resize`` does
    not, so a downscaled image can differ from torchvision's by a few grey levels.)"""

    def __init__(self, crop_size=224, resize_size=256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 interpolation="bilinear"):
        self.crop_size, self.resize_size = crop_size, resize_size
        self.mean, self.std, self.interpolation = tuple(mean), tuple(std), interpolation
        self._resize = T.Resize(resize_size, interpolation=interpolation)
        self._crop = T.CenterCrop(crop_size)
        self._normalize = T.Normalize(mean, std)

    def __call__(self, img):
        if isinstance(img, Tensor):
            a = img.numpy()
        else:
            a = np.asarray(img)
            if a.ndim == 2:
                a = a[:, :, None]
            if a.ndim != 3:
                raise ValueError(f"ImageClassification: expected an HxWxC image or a CxHxW "
                                 f"tensor, got shape {a.shape}")
            a = a.transpose(2, 0, 1)
        if a.ndim != 3:
            raise ValueError(f"ImageClassification: expected a CxHxW tensor, got shape "
                             f"{a.shape}")
        a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        x = self._crop(self._resize(Tensor._wrap(np.ascontiguousarray(a))))
        return self._normalize(x)

    def __repr__(self):
        return (f"ImageClassification(crop_size={self.crop_size}, resize_size="
                f"{self.resize_size}, mean={list(self.mean)}, std={list(self.std)}, "
                f"interpolation={self.interpolation!r})")


@dataclass(frozen=True)
class Weights:
    """A pretrained checkpoint: its ``file_name`` (looked up in :func:`weights_dirs`, or an
    absolute path), its ``sha256`` (the full hex digest, or None: then a hash prefix in the
    file name, as in torchvision's ``resnet18-f37072fd.pth``, is checked), the preprocessing
    ``transforms()`` the model was trained with, and ``meta`` (``categories``: the class names,
    ``num_classes`` and anything else). ``categories`` is ``meta["categories"]``."""

    name: str
    file_name: str
    sha256: Optional[str] = None
    transforms: Callable[[], Any] = field(default=ImageClassification, compare=False)
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def categories(self):
        return self.meta.get("categories")

    @property
    def num_classes(self):
        cats = self.categories
        return self.meta.get("num_classes", len(cats) if cats else None)

    def path(self, weights_dir=None):
        return find_weights_file(self.file_name, weights_dir)

    def get_state_dict(self, weights_dir=None, check_hash=True):
        """The checkpoint's state dict (read from the local file, verified)."""
        path = self.path(weights_dir)
        if check_hash:
            verify_sha256(path, self.sha256)
        return _read_state_dict(path)

    def __repr__(self):
        return f"Weights({self.name!r}, file_name={self.file_name!r})"


def weights_dirs(weights_dir=None):
    """The folders searched for a weights file, in order."""
    dirs = []
    if weights_dir is not None:
        dirs.append(os.fspath(weights_dir))
    if os.environ.get("EMBER_WEIGHTS_DIR"):
        dirs.append(os.environ["EMBER_WEIGHTS_DIR"])
    dirs.append(os.path.join(os.path.expanduser("~"), ".cache", "ember", "weights"))
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "torch")
    dirs.append(os.path.join(torch_home, "hub", "checkpoints"))
    return dirs


def find_weights_file(file_name, weights_dir=None):
    if os.path.isabs(file_name) and os.path.isfile(file_name):
        return file_name
    dirs = weights_dirs(weights_dir)
    for d in dirs:
        p = os.path.join(d, file_name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(
        f"ember.models: weights file {file_name!r} not found in {dirs}. ember never downloads: "
        f"put the file in one of these folders (or set EMBER_WEIGHTS_DIR, or pass "
        f"weights='/path/to/{file_name}')")


_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,64})\.")


def verify_sha256(path, expected=None):
    """Check ``path``'s sha256 against ``expected`` (a full digest) or, when None, against a
    hash prefix in the file name (``name-<hex>.ext``); a file name without one is not
    checked."""
    if expected is None:
        m = _HASH_IN_NAME.search(os.path.basename(path))
        if m is None:
            return
        expected = m.group(1)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if not digest.startswith(expected.lower()):
        raise RuntimeError(f"ember.models: {path} has sha256 {digest}, expected "
                           f"{expected}{'...' if len(expected) < 64 else ''}: the file is "
                           f"corrupted or not the checkpoint it is named after")


def _read_state_dict(path):
    from ..serialization import load
    sd = load(path)
    if not isinstance(sd, dict):
        raise RuntimeError(f"ember.models: {path} holds a {type(sd).__name__}, not a state "
                           f"dict")
    if "state_dict" in sd and isinstance(sd["state_dict"], dict) and len(sd) <= 4:
        sd = sd["state_dict"]  # a training checkpoint {"state_dict": ..., "epoch": ...}
    return sd


def load_weights(model, weights, registry, arch, weights_dir=None, check_hash=True):
    """Load ``weights`` (None, a path, a :class:`Weights`, or a descriptor name such as
    ``"IMAGENET1K_V1"``/``"DEFAULT"`` of ``arch``) into ``model``; returns the model."""
    if weights is None:
        return model
    if isinstance(weights, str) and not os.path.exists(weights) and arch in registry:
        weights = registry[arch].get(weights, weights)
    if isinstance(weights, Weights):
        sd = weights.get_state_dict(weights_dir, check_hash=check_hash)
    elif isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            known = sorted(registry.get(arch, {}))
            raise FileNotFoundError(
                f"ember.models.{arch}: weights={path!r} is neither a file nor a known weights "
                f"name{' (' + ', '.join(known) + ')' if known else ''}")
        sd = _read_state_dict(path)
    elif isinstance(weights, dict):
        sd = weights
    else:
        raise TypeError(f"ember.models.{arch}: weights must be None, a file path, a Weights "
                        f"descriptor or a state dict, got {type(weights).__name__}")
    model.load_state_dict(sd)
    return model


def legacy_pretrained(arch, weights, kwargs):
    """torchvision's deprecated ``pretrained=`` keyword of a model builder, turned into
    ``weights``: ``pretrained=True`` is ``weights="DEFAULT"`` (read from a local file, never
    downloaded), ``False`` is ``weights=None``; both warn, as torchvision does. Removes the
    keyword from ``kwargs`` and returns the weights to use."""
    if "pretrained" not in kwargs:
        return weights
    import warnings
    pretrained = kwargs.pop("pretrained")
    if weights is not None:
        raise ValueError(f"{arch}: pass weights= or the deprecated pretrained=, not both "
                         f"(got weights={weights!r}, pretrained={pretrained!r})")
    new = "DEFAULT" if pretrained else None
    warnings.warn(f"{arch}: the keyword 'pretrained' is deprecated (as in torchvision since "
                  f"0.13); pretrained={pretrained!r} means weights={new!r}: pass that instead",
                  UserWarning, stacklevel=3)
    return new
