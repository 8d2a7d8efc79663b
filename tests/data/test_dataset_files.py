"""download=True with the files already there (uncompressed, as torchvision leaves them)
reads them without going to the network."""
import struct

import numpy as np

from ember.vision import datasets


def _idx(path, arr):
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim,
                                                                  *arr.shape) + arr.tobytes())


def test_download_true_uses_uncompressed_files(tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        _idx(str(raw / f"{prefix}-images-idx3-ubyte"), np.zeros((3, 28, 28), np.uint8))
        _idx(str(raw / f"{prefix}-labels-idx1-ubyte"), np.array([4, 1, 9], np.uint8))

    def no_network(*a, **k):
        raise AssertionError("tried to download files that are already there")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    ds = datasets.FashionMNIST(str(tmp_path), train=False, download=True)
    assert len(ds) == 3 and ds[2][1] == 9
