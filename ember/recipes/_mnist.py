"""Loading MNIST or Fashion-MNIST for the mnist-* recipes."""
import os

from ember.data import MNIST, FashionMNIST

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def load(args):
    name = args.dataset or "fashion-mnist"
    if name not in ("mnist", "fashion-mnist"):
        raise ValueError(f"--dataset must be 'mnist' or 'fashion-mnist', got {name!r}")
    cls = MNIST if name == "mnist" else FashionMNIST
    root = args.data_dir
    if root is None and name == "fashion-mnist" and os.path.isdir(DEBIAN_FASHION):
        root = DEBIAN_FASHION
    if root is None:
        raise FileNotFoundError(f"{name}: pass --data-dir DIR with the four IDX files "
                                f"(train-images-idx3-ubyte[.gz], ...)")
    xtr, ytr = cls(root, train=True).tensors()
    xte, yte = cls(root, train=False).tensors()
    return xtr, ytr, xte, yte
