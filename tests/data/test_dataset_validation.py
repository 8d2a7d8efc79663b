"""The dataset readers validate what they read: label ranges, shapes and dtypes, and every
size a file declares is checked against the file before it is allocated. Errors name the
file, the record and the expected form."""
import gzip
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from ember.data import CIFAR10, MNIST, Digits, TextPolarityCSV
from ember.data.datasets import read_idx

from .test_datasets import write_idx


def _cifar(tmp_path, batch=None, raw=None):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(exist_ok=True)
    (folder / "test_batch").write_bytes(raw if raw is not None else pickle.dumps(batch))
    return str(tmp_path)


IMG = np.zeros((3, 3072), np.uint8)


@pytest.mark.parametrize("batch,match", [
    ({b"data": IMG, b"labels": [0, 99, 1]}, r"test_batch record 1: label 99 is outside 0..9"),
    ({b"data": IMG, b"labels": [0, 1, -5]}, r"test_batch record 2: label -5 is outside 0..9"),
    ({b"data": IMG, b"labels": ["cat", 1, 2]}, r"record 0: label 'cat' is a str; expected an "
                                               r"int class index 0..9"),
    ({b"data": IMG, b"labels": [0, 1.5, 2]}, r"record 1: label 1.5 is a float"),
    ({b"data": IMG, b"labels": [0, 1]}, r"holds 2 labels for 3 images"),
    ({b"data": IMG.astype(np.float32) + 0.5, b"labels": [0, 1, 2]},
     r"holds float32 data of shape \(3, 3072\); expected uint8 pixels of shape \(N, 3072\)"),
    ({b"data": IMG.reshape(3, 3, 1024), b"labels": [0, 1, 2]}, r"shape \(3, 3, 1024\)"),
    ({b"data": IMG.tolist(), b"labels": [0, 1, 2]}, r"data of type list"),
    ({b"data": IMG, b"labels": 7}, r"labels of type int"),
    ([1, 2], r"expected a dict with b'data' and b'labels', found list"),
])
def test_cifar_content_is_validated(tmp_path, batch, match):
    with pytest.raises(RuntimeError, match=match):
        CIFAR10(_cifar(tmp_path, batch), train=False)


def _fails_small(fn, match, limit_mb=20):
    """``fn`` raises a RuntimeError matching ``match`` without allocating ``limit_mb``."""
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=match):
            fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    assert peak < limit_mb, f"{peak:.0f} MB allocated before the error"


def _pickled(*ops):
    return b"\x80\x02" + b"".join(ops) + b"."


def test_cifar_declared_sizes_are_checked_before_allocating(tmp_path):
    # bytes(803979776) from a 40-byte file: the 804 MB allocation
    bomb = _pickled(b"}q\x00(C\x04data", b"c__builtin__\nbytes\nJ\x00\xc2\xeb\x2f\x85R",
                    b"C\x06labels]u")
    root = _cifar(tmp_path, raw=bomb)
    _fails_small(lambda: CIFAR10(root, train=False), r"asks for bytes\(803979776\)")
    bomb = bomb.replace(b"c__builtin__\nbytes\n", b"\x8c\x08builtins\x8c\x05bytes\x93")
    _fails_small(lambda: CIFAR10(_cifar(tmp_path, raw=bomb), train=False),
                 r"asks for bytes\(803979776\)")
    # an ndarray declared as (100000, 3072) uint8 (300 MB) through the allowed names
    rec = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n"
           + b"J\xa0\x86\x01\x00M\x00\x0c\x86" + b"C\x01b\x87R")
    root = _cifar(tmp_path, raw=_pickled(b"}q\x00(C\x04data", rec, b"C\x06labels]u"))
    _fails_small(lambda: CIFAR10(root, train=False), r"declares an array of shape \(100000, "
                                                     r"3072\) of 307200000 bytes, more than")


def _mnist(tmp_path, images, labels):
    write_idx(str(tmp_path / "t10k-images-idx3-ubyte"), images)
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), labels)
    return str(tmp_path)


@pytest.mark.parametrize("labels,match", [
    (np.array([1, 200], np.uint8), r"t10k-labels-idx1-ubyte record 1: label 200 is outside "
                                   r"0..9"),
    (np.array([255, 1], np.uint8), r"record 0: label 255 is outside 0..9"),
    (np.array([[1], [2]], np.uint8), r"labels of shape \(2, 1\); expected a 1-D label file"),
    (np.array([1, 2, 3], np.uint8), r"holds 3 labels for 2 images"),
    (np.array([1, 2], np.int32), None),  # int32 labels in range are fine
])
def test_mnist_labels_are_validated(tmp_path, labels, match):
    root = _mnist(tmp_path, np.zeros((2, 28, 28), np.uint8), labels)
    if match is None:
        assert MNIST(root, train=False).targets.tolist() == [1, 2]
        return
    with pytest.raises(RuntimeError, match=match):
        MNIST(root, train=False)


def test_mnist_images_must_be_uint8_n_rows_cols(tmp_path):
    root = _mnist(tmp_path, np.zeros((2, 784), np.uint8), np.array([1, 2], np.uint8))
    with pytest.raises(RuntimeError, match=r"uint8 data of shape \(2, 784\); expected uint8 "
                                           r"images \(N, rows, cols\)"):
        MNIST(root, train=False)


def _write(path, data, gz=False):
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data,match", [
    (b"", r"holds 0 bytes, too short for an IDX header"),
    (b"\x00\x00\x08", r"holds 3 bytes, too short"),
    (struct.pack(">HBB", 0, 8, 3) + b"\x00\x00", r"has a 6-byte header but declares 3 "
                                                 r"dimensions, which need 16 bytes"),
    (b"\x01\x02\x08\x01" + b"\x00" * 8, r"bad magic number 01020801"),
    (struct.pack(">HBBI", 0, 8, 1, 5) + b"\x00" * 3, r"holds 3 data bytes but its header "
                                                     r"\(5,\) \(uint8\) needs 5"),
    (struct.pack(">HBBIII", 0, 0x0E, 3, 60000, 60000, 60000) + b"\x00" * 8,
     r"needs 1728000000000000"),
    (struct.pack(">HBBI", 0, 8, 1, 2) + b"\x00" * 5, r"holds (5|3\+) data bytes"),
])
def test_idx_headers_and_declared_sizes(tmp_path, gz, data, match):
    path = _write(tmp_path / ("x.idx.gz" if gz else "x.idx"), data, gz)
    _fails_small(lambda: read_idx(path), rf"IDX: {path} .*{match}")


def test_idx_gzip_corruption(tmp_path):
    good = gzip.compress(struct.pack(">HBBI", 0, 8, 1, 4) + b"\x01\x02\x03\x04")
    path = _write(tmp_path / "c.idx.gz", good[:-6])
    with pytest.raises(RuntimeError, match=r"IDX: .*c.idx.gz can't be read"):
        read_idx(path)
    assert read_idx(_write(tmp_path / "g.idx.gz", good)).tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("text,match", [
    ("1,good\n0.5,so-so\n", r"line 2: label '0.5' is not a polarity; expected 1, 0 or -1"),
    ("1,good\n2,great\n", r"line 2: label '2'"),
    ("1,good\npos,great\n", r"line 2: label 'pos'"),
    ("1,good\n1,\"" + "x" * 200_000 + "\"\n", r"line 2: not a label,text row \(field larger"),
])
def test_csv_labels_are_validated(tmp_path, text, match):
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(RuntimeError, match=rf"TextPolarityCSV: .*p.csv {match}"):
        TextPolarityCSV(str(tmp_path / "p.csv"))


def test_csv_accepts_header_and_integral_labels(tmp_path):
    (tmp_path / "p.csv").write_text("label,text\n1.0,a\n-1,b\n0,c\n+1,d\n")
    ds = TextPolarityCSV(str(tmp_path / "p.csv"), test_fraction=0)
    assert sorted(ds.samples) == [("a", 1), ("b", 0), ("c", 0), ("d", 1)]


def test_digits_npz_declared_sizes(tmp_path):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10 ** 6, 1000)})
    with zipfile.ZipFile(tmp_path / "digits.npz", "w") as z:
        z.writestr("images.npy", buf.getvalue() + b"\x00" * 64)
        z.writestr("labels.npy", buf.getvalue())
    _fails_small(lambda: Digits(root=str(tmp_path)),
                 r"Digits: .*digits.npz is truncated or corrupted \(member images.npy declares "
                 r"float64 \(1000000, 1000\) \(8000000000 bytes\) but holds")


def test_text_polarity_csv_reads_a_file_that_starts_with_a_byte_order_mark(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b'\xef\xbb\xbf"1","a good\nfilm"\n-1,a bad one\n1,fine\n-1,dull\n1,great\n')
    rows = TextPolarityCSV(str(p), train=True, test_fraction=0.2)
    test = TextPolarityCSV(str(p), train=False, test_fraction=0.2)
    assert len(rows) + len(test) == 5
    assert sorted([t for _, t in list(rows) + list(test)]).count(1) == 3
