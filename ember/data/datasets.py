"""Data sets read from files. ``Digits`` ships inside ember (see DIGITS_LICENSE.txt)."""
from __future__ import annotations

import os
import tokenize
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

    >>> train = ember.data.Digits()
    >>> len(train), len(ember.data.Digits(train=False))
    (1437, 360)
    >>> image, label = train[0]
    >>> image.shape, image.dtype, 0 <= label <= 9
    (ember.Size([1, 8, 8]), ember.float32, True)
    """

    n_train = 1437

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        path = os.path.join(root or _HERE, "digits.npz")
        try:
            _check_npz_sizes(path, "Digits")
            with np.load(path) as f:
                images, labels = f["images"], f["labels"]
        except FileNotFoundError:
            raise FileNotFoundError(f"Digits: {path} not found; it ships with ember (reinstall "
                                    f"the package) or pass root= to a folder with digits.npz"
                                    ) from None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, SyntaxError,
                tokenize.TokenError) as e:  # the last two: a mangled .npy header
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


# ---- shared helpers --------------------------------------------------------------------------

def _check_npz_sizes(path, name):
    """Every array in the .npz must declare no more bytes than its member holds, so a crafted
    header can't make np.load allocate more than the file's size."""
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with z.open(info) as m:
                version = np.lib.format.read_magic(m)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(m)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(m)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
            n = dtype.itemsize
            for d in shape:
                n *= d
            if dtype.hasobject or n > info.file_size:
                raise ValueError(f"member {info.filename} declares {dtype} {shape} ({n} "
                                 f"bytes) but holds {info.file_size} bytes")


def _missing(name, files, where, url=None):
    hint = f" or download them from {url}" if url else ""
    return FileNotFoundError(
        f"{name}: can't find {', '.join(files)} in {', '.join(where)}. Put the files there "
        f"(the standard distribution files){hint}; download=True needs a network connection")


def _download(name, base_url, files, root):
    """Fetch ``files`` (name -> md5) from ``base_url`` into ``root``, verifying checksums."""
    import hashlib
    import urllib.request
    os.makedirs(root, exist_ok=True)
    for fname, md5 in files.items():
        dest = os.path.join(root, fname)
        if os.path.exists(dest) or (fname.endswith(".gz") and os.path.exists(dest[:-3])):
            continue  # there already (torchvision keeps the files uncompressed)
        try:
            with urllib.request.urlopen(base_url + fname, timeout=30) as r:
                data = r.read()
        except OSError as e:
            raise RuntimeError(f"{name}: download of {base_url + fname} failed ({e}); without "
                               f"a network, put {fname} in {root} yourself") from None
        if md5 and hashlib.md5(data).hexdigest() != md5:
            raise RuntimeError(f"{name}: {fname} from {base_url} has the wrong checksum; not "
                               f"saved")
        with open(dest + ".part", "wb") as f:
            f.write(data)
        os.replace(dest + ".part", dest)


class _ImageSet(Dataset):
    """In-memory image sets: the images (uint8) and labels (int64) as NumPy arrays
    (``_images``, ``_labels``); ``data``/``targets`` show them as torchvision's classes do."""

    channels_last = False
    classes = []  # the class names, torchvision's (each set sets its own)

    @property
    def class_to_idx(self):
        """``{class name: index}``, as torchvision's."""
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def _float(self, imgs):
        x = imgs.astype(np.float32) / 255.0
        return x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)

    def __getitem__(self, i):
        img, y = self._images[i], int(self._labels[i])
        if self.transform is not None:
            x = self.transform(_as_pil(img))
        else:
            x = Tensor._wrap(self._float(img[None])[0])
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def tensors(self):
        """The whole split as (N, C, H, W) float32 in [0, 1] and (N,) int64 tensors."""
        return Tensor._wrap(self._float(self._images)), Tensor._wrap(self._labels.astype(np.int64))


def _as_pil(img):
    """An HxW or HxWxC uint8 image as the PIL image torchvision's datasets give their
    transforms (so ``Resize``, ``Pad``, ``RandomCrop``, ... see an image, not an array whose
    first axis they would take for channels); the array itself when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        return img
    return Image.fromarray(np.ascontiguousarray(img))


# ---- MNIST / Fashion-MNIST (IDX files) ---------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_at_most(f, n):
    """Up to ``n`` bytes of ``f`` in chunks: a declared size never becomes an allocation
    larger than what the file really holds."""
    chunks, got = [], 0
    while got < n:
        c = f.read(min(n - got, 1 << 24))
        if not c:
            break
        chunks.append(c)
        got += len(c)
    return b"".join(chunks)


def read_idx(path):
    """An IDX file (optionally gzipped) as a NumPy array. The header is validated and the
    size it declares is checked against the file before anything is allocated.

    >>> import os, struct, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">HBBI", 0, 0x08, 1, 3) + bytes([7, 0, 9]))
    >>> ember.data.read_idx(path)
    array([7, 0, 9], dtype=uint8)
    """
    import gzip
    import struct
    import zlib
    gz = path.endswith(".gz")
    try:
        with (gzip.open if gz else open)(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise RuntimeError(f"IDX: {path} holds {len(head)} bytes, too short for an "
                                   f"IDX header (4 bytes: 0, 0, type code, number of dims)")
            zero, dtype_code, ndim = struct.unpack(">HBB", head)
            if zero != 0 or dtype_code not in _IDX_TYPES or ndim == 0:
                raise RuntimeError(f"IDX: {path} has a bad magic number {head.hex()} (not an "
                                   f"IDX file: expected 0000 then a type code in "
                                   f"{sorted(_IDX_TYPES)} and a nonzero number of dims)")
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise RuntimeError(f"IDX: {path} has a {4 + len(raw_dims)}-byte header but "
                                   f"declares {ndim} dimensions, which need {4 + 4 * ndim} "
                                   f"bytes (truncated or corrupted)")
            dims = struct.unpack(">" + "I" * ndim, raw_dims)
            dt = np.dtype(_IDX_TYPES[dtype_code])
            need = dt.itemsize
            for d in dims:  # Python ints: no overflow
                need *= d
            if not gz:
                have = os.fstat(f.fileno()).st_size - 4 - 4 * ndim
                if have != need:
                    raise RuntimeError(f"IDX: {path} holds {have} data bytes but its header "
                                       f"{dims} ({dt.name}) needs {need} (truncated or "
                                       f"corrupted)")
            body = _read_at_most(f, need + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise RuntimeError(f"IDX: {path} can't be read (truncated or corrupted?): "
                           f"{type(e).__name__}: {e}") from None
    if len(body) != need:
        raise RuntimeError(f"IDX: {path} holds {len(body)}{'+' if len(body) > need else ''} "
                           f"data bytes but its header {dims} ({dt.name}) needs {need} "
                           f"(truncated or corrupted)")
    return np.frombuffer(body, dt).reshape(dims)


def _check_labels(name, path, labels, n_classes, n=None):
    """Labels must be a 1-D integer array in [0, n_classes) (one per image)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise RuntimeError(f"{name}: {path} holds labels of shape {labels.shape}; expected a "
                           f"1-D label file (one label per image)")
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: {path} holds {labels.dtype} labels; expected integer "
                           f"class indices 0..{n_classes - 1}")
    if n is not None and len(labels) != n:
        raise RuntimeError(f"{name}: {path} holds {len(labels)} labels for {n} images")
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        i = int(bad[0])
        raise RuntimeError(f"{name}: {path} record {i}: label {int(labels[i])} is outside "
                           f"0..{n_classes - 1} ({bad.size} such record"
                           f"{'s' if bad.size > 1 else ''}); the file is corrupted or not a "
                           f"{name} label file")
    return labels.astype(np.int64)


class MNIST(_ImageSet):
    """MNIST from the four IDX files (gzipped or not), looked up in ``root``,
    ``root/<ClassName>/raw`` and ``root/raw``. Items: (1x28x28 float32 in [0, 1], label).

    >>> import os, struct, tempfile
    >>> root = tempfile.mkdtemp()
    >>> def write_idx(name, array):                 # the IDX format: a header, then the bytes
    ...     with open(os.path.join(root, name), "wb") as f:
    ...         header = struct.pack(">HBB", 0, 0x08, array.ndim)
    ...         _ = f.write(header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())
    >>> write_idx("t10k-images-idx3-ubyte", np.full((2, 28, 28), 255, dtype=np.uint8))
    >>> write_idx("t10k-labels-idx1-ubyte", np.array([7, 2], dtype=np.uint8))
    >>> test = ember.data.MNIST(root, train=False)
    >>> len(test), test[1][0].shape, test[1][0].max().item(), test[1][1]
    (2, ember.Size([1, 28, 28]), 1.0, 2)
    """

    urls = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    files = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    extra_dirs: tuple = ()

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        name = type(self).__name__
        roots = [r for r in ([root] if root else []) for r in
                 (r, os.path.join(r, name, "raw"), os.path.join(r, "raw"))] + \
            list(self.extra_dirs)
        if download and root:
            _download(name, self.urls[0], self.files, os.path.join(root, name, "raw"))
        prefix = "train" if train else "t10k"
        img = self._find(roots, f"{prefix}-images-idx3-ubyte")
        lab = self._find(roots, f"{prefix}-labels-idx1-ubyte")
        if img is None or lab is None:
            raise _missing(name, [f"{prefix}-images-idx3-ubyte[.gz]",
                                  f"{prefix}-labels-idx1-ubyte[.gz]"], roots or ["(no root)"],
                           self.urls[0])
        self._images = read_idx(img)
        if self._images.ndim != 3 or self._images.dtype != np.uint8:
            raise RuntimeError(f"{name}: {img} holds {self._images.dtype} data of shape "
                               f"{self._images.shape}; expected uint8 images (N, rows, cols)")
        self._labels = _check_labels(name, lab, read_idx(lab), 10, len(self._images))
        self.transform, self.target_transform, self.train = transform, target_transform, train

    @property
    def data(self):
        """The images as a uint8 tensor (N, 28, 28), as torchvision's (sharing memory)."""
        return Tensor._wrap(self._images)

    @data.setter
    def data(self, value):
        self._images = np.asarray(value.numpy() if isinstance(value, Tensor) else value)

    @property
    def targets(self):
        """The labels as an int64 tensor (N,), as torchvision's."""
        return Tensor._wrap(self._labels)

    @targets.setter
    def targets(self, value):
        self._labels = np.asarray(value.numpy() if isinstance(value, Tensor) else value,
                                  np.int64)

    @staticmethod
    def _find(roots, base):
        for r in roots:
            for ext in ("", ".gz"):
                p = os.path.join(r, base + ext)
                if os.path.exists(p):
                    return p
        return None


class FashionMNIST(MNIST):
    """Fashion-MNIST (same IDX format); also found where Debian's ``dataset-fashion-mnist``
    installs it (/usr/share/datasets/fashion-mnist).

    >>> import os, struct, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name, array in [("t10k-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8)),
    ...                     ("t10k-labels-idx1-ubyte", np.array([9, 0, 3], np.uint8))]:
    ...     with open(os.path.join(root, name), "wb") as f:
    ...         header = struct.pack(">HBB", 0, 0x08, array.ndim)
    ...         _ = f.write(header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())
    >>> [label for _, label in ember.data.FashionMNIST(root, train=False)]
    [9, 0, 3]
    """

    urls = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    files = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
    extra_dirs = ("/usr/share/datasets/fashion-mnist",)


# ---- CIFAR-10 (python pickle batches) -------------------------------------------------------

class _RestrictedUnpickler:
    """Unpickling that can only build the plain containers and NumPy arrays the CIFAR batches
    hold: a crafted file can't run code, and can't make the loader allocate more than the
    file's own size (every array or bytes object it asks for is checked first)."""

    @classmethod
    def load(cls, f, path, size):
        import pickle

        def too_big(n, what):
            if n > size:
                raise RuntimeError(f"CIFAR10: {path} ({size} bytes) declares {what} of {n} "
                                   f"bytes, more than the file holds; refusing to allocate "
                                   f"it (the file is corrupted or crafted)")

        def reconstruct(subtype, shape, dtype_code):
            if subtype is not np.ndarray:
                raise RuntimeError(f"CIFAR10: {path} asks for an array of type {subtype!r}; "
                                   f"a CIFAR batch holds plain ndarrays")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            n = 1
            for d in shape:
                if not isinstance(d, int) or d < 0:
                    raise RuntimeError(f"CIFAR10: {path} declares an array of shape {shape}")
                n *= d
            too_big(n, f"an array of shape {shape}")
            return np.ndarray.__new__(np.ndarray, shape, dtype_code)

        def make_dtype(*args):
            d = np.dtype(*args)
            too_big(d.itemsize, f"a {d} element")
            return d

        def make_bytes(*args):
            if args and not isinstance(args[0], (bytes, bytearray, str)):
                raise RuntimeError(f"CIFAR10: {path} asks for bytes({args[0]!r}); a CIFAR "
                                   f"batch never needs that")
            return bytes(*args)

        def latin1_bytes(text, encoding="latin1"):
            # how Python 3's pickle protocols 0-2 store a bytes object (a CIFAR-format batch
            # written by Python 3 with protocol=2 holds its pixels this way)
            if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
                raise RuntimeError(f"CIFAR10: {path} asks for _codecs.encode of a "
                                   f"{type(text).__name__} with {encoding!r}; a CIFAR batch "
                                   f"only needs latin-1 text turned into bytes")
            return text.encode("latin1")

        def scalar(dtype, data=None):
            import numpy
            core = getattr(numpy, "_core", None) or numpy.core
            return core.multiarray.scalar(dtype, data) if data is not None else \
                core.multiarray.scalar(dtype)

        allowed = {("numpy.core.multiarray", "_reconstruct"): reconstruct,
                   ("numpy._core.multiarray", "_reconstruct"): reconstruct,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): make_dtype,
                   ("numpy.core.multiarray", "scalar"): scalar,
                   ("numpy._core.multiarray", "scalar"): scalar,
                   ("builtins", "bytes"): make_bytes, ("__builtin__", "bytes"): make_bytes,
                   ("_codecs", "encode"): latin1_bytes}

        class U(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) in allowed:
                    return allowed[(module, name)]
                raise RuntimeError(f"CIFAR10: {path} asks to load {module}.{name}, which a "
                                   f"CIFAR batch never needs; refusing (the file may be "
                                   f"malicious)")
        try:
            return U(f, encoding="bytes").load()
        except RuntimeError:
            raise
        except RecursionError:
            raise RuntimeError(f"CIFAR10: {path} is nested too deeply to be a CIFAR batch") \
                from None
        except Exception as e:
            raise RuntimeError(f"CIFAR10: {path} is truncated or corrupted: "
                               f"{type(e).__name__}: {e}") from None


def _cifar_batch(p, raw):
    """The (images, labels) of one CIFAR-10 batch, validated: uint8 data of shape (N, 3072),
    N integer labels in 0..9."""
    import io
    d = _RestrictedUnpickler.load(io.BytesIO(raw), p, len(raw))
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        found = sorted(d) if isinstance(d, dict) else type(d).__name__
        raise RuntimeError(f"CIFAR10: {p} is not a CIFAR batch: expected a dict with b'data' "
                           f"and b'labels', found {found}")
    x, labels = d[b"data"], d[b"labels"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or \
            x.shape[1] != 3072:
        what = f"{x.dtype} data of shape {x.shape}" if isinstance(x, np.ndarray) else \
            f"data of type {type(x).__name__}"
        raise RuntimeError(f"CIFAR10: {p} holds {what}; expected uint8 pixels of shape "
                           f"(N, 3072)")
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)):
        raise RuntimeError(f"CIFAR10: {p} holds labels of type {type(labels).__name__}; "
                           f"expected a list of N ints")
    for i, v in enumerate(labels):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise RuntimeError(f"CIFAR10: {p} record {i}: label {v!r} is a "
                               f"{type(v).__name__}; expected an int class index 0..9")
    labels = _check_labels("CIFAR10", p, np.asarray(labels, np.int64) if labels else
                           np.zeros(0, np.int64), 10, len(x))
    return x, labels


class CIFAR10(_ImageSet):
    """CIFAR-10 from ``root/cifar-10-batches-py/`` or ``root/cifar-10-python.tar.gz``.
    Items: (3x32x32 float32 in [0, 1], label).

    >>> import os, pickle, tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "cifar-10-batches-py"))
    >>> batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 8]}
    >>> with open(os.path.join(root, "cifar-10-batches-py", "test_batch"), "wb") as f:
    ...     pickle.dump(batch, f)
    >>> test = ember.data.CIFAR10(root, train=False)
    >>> len(test), test[0][0].shape, test[1][1]
    (2, ember.Size([3, 32, 32]), 8)
    """

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    md5 = "c58f30108f718f92721af3b95e74349a"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]  # (batches.meta's label_names)

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        import io
        import tarfile
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        folder = os.path.join(root, "cifar-10-batches-py")
        tar_path = os.path.join(root, "cifar-10-python.tar.gz")
        if download and not os.path.isdir(folder) and not os.path.exists(tar_path):
            _download("CIFAR10", self.url.rsplit("/", 1)[0] + "/",
                      {"cifar-10-python.tar.gz": self.md5}, root)
        blobs = []
        if os.path.isdir(folder):
            for n in names:
                p = os.path.join(folder, n)
                if not os.path.exists(p):
                    raise _missing("CIFAR10", [n], [folder], self.url)
                with open(p, "rb") as f:
                    blobs.append((p, f.read()))
        elif os.path.exists(tar_path):
            try:
                with tarfile.open(tar_path, "r:gz") as tf:
                    for n in names:
                        m = tf.extractfile(f"cifar-10-batches-py/{n}")
                        blobs.append((f"{tar_path}:{n}", m.read()))
            except (tarfile.TarError, KeyError, OSError, EOFError) as e:
                raise RuntimeError(f"CIFAR10: {tar_path} is truncated or corrupted: {e}") \
                    from None
        else:
            raise _missing("CIFAR10", ["cifar-10-batches-py/", "cifar-10-python.tar.gz"], [root],
                           self.url)
        data, labels = [], []
        for p, raw in blobs:
            x, y = _cifar_batch(p, raw)
            data.append(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(y)
        self._images = np.concatenate(data)
        self._labels = np.concatenate(labels)
        self.transform, self.target_transform, self.train = transform, target_transform, train

    @property
    def data(self):
        """The images as a uint8 NumPy array (N, 32, 32, 3), as torchvision's."""
        return self._images

    @data.setter
    def data(self, value):
        self._images = np.asarray(value.numpy() if isinstance(value, Tensor) else value)

    @property
    def targets(self):
        """The labels as a list of ints, as torchvision's."""
        return self._labels.tolist()

    @targets.setter
    def targets(self, value):
        self._labels = np.asarray(value.numpy() if isinstance(value, Tensor) else value,
                                  np.int64)


# ---- text ---------------------------------------------------------------------------------------

class IMDB(Dataset):
    """The ``aclImdb`` folder layout (``aclImdb/{train,test}/{pos,neg}/*.txt``); ``root`` may
    be the aclImdb folder or its parent. Items: (text, label) with 1 = positive.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for sub, text in [("pos", "A delight."), ("neg", "Dull.")]:
    ...     os.makedirs(os.path.join(root, "aclImdb", "train", sub))
    ...     with open(os.path.join(root, "aclImdb", "train", sub, "0_1.txt"), "w") as f:
    ...         _ = f.write(text)
    >>> list(ember.data.IMDB(root, split="train"))
    [('A delight.', 1), ('Dull.', 0)]
    """

    url = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

    def __init__(self, root, split="train", train=None, transform=None,
                 target_transform=None, download=False):
        if train is not None:
            split = "train" if train else "test"
        if split not in ("train", "test"):
            raise ValueError(f"IMDB: split must be 'train' or 'test', got {split!r}")
        base = root if os.path.basename(os.path.normpath(root)) == "aclImdb" else \
            os.path.join(root, "aclImdb")
        self.samples = []
        for label, sub in ((1, "pos"), (0, "neg")):
            d = os.path.join(base, split, sub)
            if not os.path.isdir(d):
                raise _missing("IMDB", [f"aclImdb/{split}/{sub}/"], [root], self.url)
            for name in sorted(os.listdir(d)):
                if name.endswith(".txt"):
                    self.samples.append((os.path.join(d, name), label))
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, y = self.samples[i]
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if self.transform is not None:
            text = self.transform(text)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return text, y


def _polarity(field):
    """1 for a positive label ("1", "+1", "1.0"), 0 for "0"/"-1"; None for anything else
    (a header, "0.5", "pos")."""
    try:
        v = float(field)
    except ValueError:
        return None
    return {1.0: 1, 0.0: 0, -1.0: 0}.get(v)


class TextPolarityCSV(Dataset):
    r"""Rows ``label,text`` (label 1/-1 or 1/0; text may be quoted), e.g. the Pang & Lee
    movie-review polarity corpus. Labels map to 1 (positive) / 0. A deterministic held-out
    split: ``train=False`` gives ``test_fraction`` of the rows (seeded permutation).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "reviews.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write('1,"a fine film"\n-1,a bore\n1,loved it\n-1,"no, thanks"\n1,superb\n')
    >>> train = ember.data.TextPolarityCSV(path, test_fraction=0.2)
    >>> test = ember.data.TextPolarityCSV(path, train=False, test_fraction=0.2)
    >>> len(train), len(test), sorted(label for _, label in list(train) + list(test))
    (4, 1, [0, 0, 1, 1, 1])
    """

    def __init__(self, path, train=True, test_fraction=0.2, seed=0, transform=None,
                 target_transform=None):
        import csv
        if not os.path.exists(path):
            raise FileNotFoundError(f"TextPolarityCSV: {path} does not exist")
        rows = []
        try:
            # utf-8-sig: a byte-order mark before the first label is not part of it (the
            # Pang & Lee file Debian ships starts with one)
            with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
                reader = csv.reader(f)
                for row in reader:
                    k = reader.line_num
                    if not row or not row[0].strip():
                        continue
                    lab = _polarity(row[0])
                    if lab is None:
                        if not rows and k == 1:
                            continue  # a header line
                        raise RuntimeError(f"TextPolarityCSV: {path} line {k}: label "
                                           f"{row[0][:40]!r} is not a polarity; expected 1, 0 "
                                           f"or -1 before the first comma")
                    rows.append((",".join(row[1:]), lab))
        except csv.Error as e:  # a NUL byte, a field over the csv module's size limit
            raise RuntimeError(f"TextPolarityCSV: {path} line {reader.line_num}: not a "
                               f"label,text row ({e})") from None
        if not rows:
            raise RuntimeError(f"TextPolarityCSV: {path} holds no label,text rows")
        perm = np.random.default_rng(seed).permutation(len(rows))
        n_test = int(round(len(rows) * test_fraction))
        sel = perm[n_test:] if train else perm[:n_test]
        self.samples = [rows[i] for i in sorted(sel)]
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        text, y = self.samples[i]
        if self.transform is not None:
            text = self.transform(text)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return text, y


# ---- generated and folder-of-files image sets (torchvision's FakeData, ImageFolder) -----------

class FakeData(Dataset):
    """``size`` random images (PIL images, as torchvision's: Gaussian noise scaled like
    ``ToPILImage`` of a ``randn`` tensor) with random labels below ``num_classes``. Item ``i``
    is the same every time (seeded by ``i + random_offset``). Needs Pillow.

    >>> from ember.data import transforms
    >>> ds = ember.data.FakeData(size=4, image_size=(3, 8, 8), transform=transforms.ToTensor())
    >>> len(ds), ds.image_size
    (4, (3, 8, 8))
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        image_size = tuple(image_size)
        if len(image_size) != 3 or image_size[0] not in (1, 2, 3, 4):
            raise ValueError(f"FakeData: image_size must be (channels 1-4, height, width), got "
                             f"{image_size}")
        self.size, self.image_size, self.num_classes = int(size), image_size, int(num_classes)
        self.transform, self.target_transform = transform, target_transform
        self.random_offset = int(random_offset)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData: index {index} is out of range for {self.size} images")
        index %= self.size
        from .transforms import to_pil_image
        rng = np.random.default_rng(index + self.random_offset)
        img = to_pil_image(Tensor._wrap(rng.standard_normal(self.image_size, np.float32)))
        target = int(rng.integers(0, self.num_classes))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path):
    """Open an image file as an RGB PIL image."""
    from .transforms import _pil
    with open(path, "rb") as f:
        return _pil().open(f).convert("RGB")


default_loader = pil_loader


class DatasetFolder(Dataset):
    """Samples stored as ``root/<class>/**/<file>``: classes are the sorted subfolder names,
    a sample is ``(loader(path), class index)``; files are kept by ``extensions`` (lower-case
    suffixes) or by ``is_valid_file(path)``. Attributes as torchvision's: ``classes``,
    ``class_to_idx``, ``samples``, ``targets``.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for cls in ("dog", "cat"):
    ...     os.mkdir(os.path.join(root, cls))
    ...     _ = open(os.path.join(root, cls, "a.txt"), "w").write(cls + " notes")
    >>> ds = ember.data.DatasetFolder(root, loader=lambda p: open(p).read(), extensions=".txt")
    >>> ds.classes, ds[0]
    (['cat', 'dog'], ('cat notes', 0))
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty=False):
        self.root = os.fspath(root)
        if (extensions is None) == (is_valid_file is None):
            raise ValueError(f"{type(self).__name__}: give exactly one of extensions= and "
                             f"is_valid_file=")
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions,
                                         is_valid_file, allow_empty)
        self.targets = [t for _, t in self.samples]
        self.loader, self.extensions = loader, extensions
        self.transform, self.target_transform = transform, target_transform

    def find_classes(self, directory):
        try:
            classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
        except FileNotFoundError:
            raise FileNotFoundError(f"{type(self).__name__}: no folder {directory}") from None
        if not classes:
            raise FileNotFoundError(f"{type(self).__name__}: {directory} has no class "
                                    f"subfolders (expected root/<class>/<file>)")
        return classes, {c: i for i, c in enumerate(classes)}

    def make_dataset(self, directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty=False):
        if is_valid_file is None:
            exts = tuple(e.lower() for e in ((extensions,) if isinstance(extensions, str)
                                             else extensions))

            def is_valid_file(p):
                return p.lower().endswith(exts)
        samples, empty = [], []
        for cls in sorted(class_to_idx):
            found = 0
            for folder, _, names in sorted(os.walk(os.path.join(directory, cls),
                                                   followlinks=True)):
                for name in sorted(names):
                    path = os.path.join(folder, name)
                    if is_valid_file(path):
                        samples.append((path, class_to_idx[cls]))
                        found += 1
            if not found:
                empty.append(cls)
        if empty and not allow_empty:
            what = f"extensions {extensions}" if extensions is not None else "is_valid_file"
            raise FileNotFoundError(f"{type(self).__name__}: no valid file (by {what}) in the "
                                    f"class folders {empty} of {directory}; pass "
                                    f"allow_empty=True to keep empty classes")
        return samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target


class ImageFolder(DatasetFolder):
    """Images stored as ``root/<class>/<file>`` (.jpg .png .bmp ...), loaded as RGB PIL images;
    ``imgs`` is ``samples``, as torchvision's.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for cls, name in (("bird", "1.png"), ("ant", "2.jpg"), ("ant", "readme.md")):
    ...     os.makedirs(os.path.join(root, cls), exist_ok=True)
    ...     open(os.path.join(root, cls, name), "w").close()
    >>> ds = ember.data.ImageFolder(root)
    >>> ds.class_to_idx, ds.targets
    ({'ant': 0, 'bird': 1}, [0, 1])
    """

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty=False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform, target_transform, is_valid_file, allow_empty)
        self.imgs = self.samples
