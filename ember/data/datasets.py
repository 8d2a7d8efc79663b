"""Data sets read from files. ``Digits`` ships inside ember (see DIGITS_LICENSE.txt)."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..core.tensor import Tensor
from .dataloader import Dataset

_HERE = os.path.dirname(os.path.abspath(__file__))


class Digits(Dataset):
    """The 1797 8x8 handwritten digits (UCI, CC BY 4.0), bundled with ember.

    Images are float32 tensors of shape (1, 8, 8) scaled to [0, 1]; targets are ints 0-9.
    The split is fixed: a permutation seeded with 0 (NumPy PCG64) puts 1437 images (80%) in
    ``train`` and 360 in ``test``; the sets don't overlap.
    ``root`` may point at a folder holding another ``digits.npz`` in the same format.
    """

    n_train = 1437

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        path = os.path.join(root or _HERE, "digits.npz")
        try:
            with np.load(path) as f:
                images, labels = f["images"], f["labels"]
        except FileNotFoundError:
            raise FileNotFoundError(f"Digits: {path} not found; it ships with ember (reinstall "
                                    f"the package) or pass root= to a folder with digits.npz"
                                    ) from None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
            raise RuntimeError(f"Digits: {path} is truncated or corrupted ({e}); reinstall "
                               f"ember or replace the file") from None
        if images.shape[1:] != (8, 8) or len(images) != len(labels):
            raise RuntimeError(f"Digits: {path} has unexpected shapes {images.shape}, "
                               f"{labels.shape}")
        perm = np.random.default_rng(0).permutation(len(labels))
        sel = perm[:self.n_train] if train else perm[self.n_train:]
        self.data = (images[sel].astype(np.float32) / 16.0)[:, None]
        self.targets = labels[sel].astype(np.int64)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        x, y = Tensor._wrap(self.data[i]), int(self.targets[i])
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def tensors(self):
        """The whole split as (images, targets) tensors."""
        return Tensor._wrap(self.data), Tensor._wrap(self.targets)
