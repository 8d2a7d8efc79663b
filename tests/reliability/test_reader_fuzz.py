"""Fuzzing of every file reader (safetensors checkpoints, IDX, CIFAR pickles, Digits npz,
polarity CSV, IMDB text) with hypothesis: truncations, bit flips and rewritten declared sizes
of valid files. A reader either returns data or raises a clear error (RuntimeError,
ValueError or OSError naming the file); never another exception, a crash, runaway
allocation (a small memory ceiling via tracemalloc) or code execution (a flipped module or
name in a CIFAR pickle must end in the unpickler's refusal, a clear error like any other;
tests/data/test_datasets.py checks that a malicious pickle runs nothing)."""
import io
import os
import pickle
import struct
import tempfile
import tracemalloc
import zipfile

import numpy as np
import pytest

import ember
from ember.data import CIFAR10, IMDB, Digits, TextPolarityCSV
from ember.data.datasets import read_idx

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
pytest.importorskip("safetensors")

SETTINGS = hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                               suppress_health_check=list(hypothesis.HealthCheck))
CEILING_MB = 32  # every valid input here is < 1 MB


@st.composite
def mutated(draw, data, size_fields=()):
    """``data`` truncated, bit-flipped, or with a declared-size field (offset, struct
    format) rewritten to a random (often huge) value."""
    data = bytearray(data)
    kind = draw(st.sampled_from(["truncate", "flip", "size", "flip+truncate"]
                                if size_fields else ["truncate", "flip", "flip+truncate"]))
    if kind == "size":
        off, fmt = draw(st.sampled_from(list(size_fields)))
        bits = struct.calcsize(fmt) * 8
        val = draw(st.one_of(st.integers(0, 2 ** bits - 1), st.sampled_from(
            [0, 1, 2 ** (bits - 1), 2 ** bits - 1, len(data), len(data) * 1000])))
        struct.pack_into(fmt, data, off, val % 2 ** bits)
        return bytes(data)
    if "flip" in kind:
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    if "truncate" in kind:
        data = data[:draw(st.integers(0, len(data) - 1))]
    return bytes(data)


def _check(read, path):
    """``read()`` returns, or fails clearly naming ``path``, within the memory ceiling."""
    tracemalloc.start()
    try:
        try:
            read()
        except (RuntimeError, ValueError, OSError) as e:
            assert os.path.basename(path) in str(e), f"error does not name the file: {e!r}"
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()
    assert peak < CEILING_MB, f"{peak:.0f} MB allocated for a file of {os.path.getsize(path)}"


def _tmpdir():
    return tempfile.mkdtemp(prefix="ember-fuzz-")


# ---- safetensors checkpoints ----------------------------------------------------------------

def _checkpoint_bytes(nested):
    obj = {"model": {"w": ember.ones(8, 4), "b": ember.zeros(4)}, "epoch": 3,
           "history": [{"loss": 0.5}]} if nested else {"w": ember.ones(8, 4)}
    with tempfile.TemporaryDirectory(prefix="ember-fuzz-") as d:  # (at collection: no fixture)
        ember.save(obj, os.path.join(d, "c.safetensors"))
        with open(os.path.join(d, "c.safetensors"), "rb") as f:
            return f.read()


CKPT = {n: _checkpoint_bytes(n) for n in (False, True)}


@pytest.mark.parametrize("nested", [False, True])
@SETTINGS
@hypothesis.given(data=st.data())
def test_fuzz_safetensors(nested, data):
    raw = data.draw(mutated(CKPT[nested], size_fields=[(0, "<Q"), (0, "<I")]))
    path = os.path.join(_tmpdir(), "c.safetensors")
    with open(path, "wb") as f:
        f.write(raw)
    _check(lambda: ember.load(path), path)


# ---- IDX --------------------------------------------------------------------------------------

IDX = struct.pack(">HBBIII", 0, 0x08, 3, 4, 28, 28) + bytes(range(256)) * 12 + bytes(64)


@SETTINGS
@hypothesis.given(data=st.data(), gz=st.booleans())
def test_fuzz_idx(data, gz):
    import gzip
    raw = data.draw(mutated(IDX, size_fields=[(4, ">I"), (8, ">I"), (12, ">I"), (2, ">B"),
                                              (3, ">B")]))
    path = os.path.join(_tmpdir(), "x-idx3-ubyte" + (".gz" if gz else ""))
    if gz and data.draw(st.booleans()):  # corrupt the compressed stream itself
        raw = data.draw(mutated(gzip.compress(IDX)))
        with open(path, "wb") as f:
            f.write(raw)
    else:
        with (gzip.open if gz else open)(path, "wb") as f:
            f.write(raw)
    _check(lambda: read_idx(path), path)


# ---- CIFAR pickles ----------------------------------------------------------------------------

CIFAR = pickle.dumps({b"batch_label": b"testing batch 1 of 1",
                      b"labels": [1, 2, 3, 4],
                      b"data": np.arange(4 * 3072, dtype=np.uint8).reshape(4, 3072),
                      b"filenames": [b"a.png", b"b.png", b"c.png", b"d.png"]}, protocol=2)


@SETTINGS
@hypothesis.given(data=st.data())
def test_fuzz_cifar(data):
    raw = data.draw(mutated(CIFAR))
    root = _tmpdir()
    os.makedirs(os.path.join(root, "cifar-10-batches-py"))
    path = os.path.join(root, "cifar-10-batches-py", "test_batch")
    with open(path, "wb") as f:
        f.write(raw)
    _check(lambda: CIFAR10(root, train=False), path)


# ---- Digits npz -------------------------------------------------------------------------------

def _npz_bytes():
    buf = io.BytesIO()
    np.savez(buf, images=np.zeros((20, 8, 8), np.int64), labels=np.arange(20) % 10)
    return buf.getvalue()


NPZ = _npz_bytes()


@SETTINGS
@hypothesis.given(data=st.data())
def test_fuzz_digits_npz(data):
    raw = data.draw(mutated(NPZ))
    root = _tmpdir()
    path = os.path.join(root, "digits.npz")
    with open(path, "wb") as f:
        f.write(raw)
    _check(lambda: Digits(root=root), path)


def test_digits_npz_with_mangled_header_fails_clearly():
    # found by the fuzzer: a flipped bracket in a member's .npy header made NumPy's header
    # parser raise tokenize.TokenError, which the reader did not catch
    raw = NPZ.replace(b"(20, 8, 8)", b")20, 8, 8)")
    assert raw != NPZ
    root = _tmpdir()
    path = os.path.join(root, "digits.npz")
    with open(path, "wb") as f:
        f.write(raw)
    with pytest.raises(RuntimeError, match="digits.npz is truncated or corrupted"):
        Digits(root=root)


# ---- CSV and text ------------------------------------------------------------------------------

CSV = b"label,text\n" + b"".join(b'%d,"a review, number %d"\n' % (1 if i % 2 else -1, i)
                                 for i in range(40))


@SETTINGS
@hypothesis.given(data=st.data())
def test_fuzz_polarity_csv(data):
    raw = data.draw(st.one_of(mutated(CSV), st.binary(max_size=2000)))
    path = os.path.join(_tmpdir(), "pol.csv")
    with open(path, "wb") as f:
        f.write(raw)
    _check(lambda: [TextPolarityCSV(path, train=t)[0] for t in (True, False)
                    if len(TextPolarityCSV(path, train=t))], path)


@SETTINGS
@hypothesis.given(data=st.data())
def test_fuzz_imdb_text(data):
    root = _tmpdir()
    for sub in ("pos", "neg"):
        d = os.path.join(root, "aclImdb", "test", sub)
        os.makedirs(d)
        with open(os.path.join(d, "0_1.txt"), "wb") as f:
            f.write(data.draw(st.binary(max_size=3000)))
    ds = IMDB(root, split="test")
    path = os.path.join(root, "aclImdb", "test", "pos", "0_1.txt")
    _check(lambda: [ember.data.text.basic_english_tokenize(ds[i][0]) for i in range(len(ds))],
           path)
