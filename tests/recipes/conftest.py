"""Small generated Fashion-MNIST files (the real IDX format, class-dependent pixels so a model
can learn something) for the comparison recipes; no real data in CI."""
import gzip
import struct

import numpy as np
import pytest


def _idx(path, arr):
    head = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("fashion")
    for prefix, n in (("train", 400), ("t10k", 100)):
        labels = np.tile(np.arange(10), n // 10).astype(np.uint8)
        rng.shuffle(labels)
        imgs = rng.integers(0, 40, (n, 28, 28))
        for c in range(10):  # each class lights its own band of rows
            imgs[labels == c, 2 * c + 3:2 * c + 7, :] += 180
        _idx(str(root / f"{prefix}-images-idx3-ubyte.gz"), imgs.astype(np.uint8))
        _idx(str(root / f"{prefix}-labels-idx1-ubyte.gz"), labels)
    return str(root)
