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
        raise FileNotFoundError(missing_message(name))
    try:
        xtr, ytr = cls(root, train=True).tensors()
        xte, yte = cls(root, train=False).tensors()
    except FileNotFoundError as e:
        if name != "fashion-mnist":
            raise
        raise FileNotFoundError(f"{e} (Debian/Ubuntu: `sudo apt install dataset-fashion-mnist` "
                                f"puts them in {DEBIAN_FASHION})") from None
    return xtr, ytr, xte, yte


FILES = ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
         "t10k-labels-idx1-ubyte.gz")


def missing_message(name):
    """Where to get ``name``'s files on this kind of machine, in one line."""
    if name == "fashion-mnist":
        return (f"fashion-mnist: no data in {DEBIAN_FASHION}; install it with `sudo apt install "
                f"dataset-fashion-mnist` (Debian/Ubuntu), or pass --data-dir DIR holding "
                f"{FILES} (from github.com/zalandoresearch/fashion-mnist)")
    return (f"mnist: pass --data-dir DIR holding {FILES} (from "
            f"https://ossci-datasets.s3.amazonaws.com/mnist/), or train on Fashion-MNIST "
            f"(--dataset fashion-mnist; Debian/Ubuntu: sudo apt install dataset-fashion-mnist)")
