"""Issue 16's probe: try each class of bad input / fault and record what ember does.

    python benchmarks/probe_hardening.py

Each probe expects an error. The outcome is one of
  clear   -- the expected exception type, and the message names what it should;
  unclear -- some exception, but a bare/foreign one (AttributeError, struct.error, ...) or a
             message that does not say what was found and what is expected;
  silent  -- no error: a silent wrong result (a probe that checks a result itself raises
             AssertionError when it is wrong, and reports "correct" when it is right);
  hang    -- no answer within the probe's time limit;
  memory  -- the probe allocated far more than the input justifies (runaway allocation).
The table at the end counts each outcome.
"""
from __future__ import annotations

import io
import os
import pickle
import signal
import struct
import sys
import tempfile
import tracemalloc

import numpy as np

import ember
from ember import nn
from ember.data import DataLoader, Dataset

TMP = tempfile.mkdtemp(prefix="ember-probe-")


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run(name, fn, expect=Exception, words=(), limit=10, mem_mb=None):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    if mem_mb:
        tracemalloc.start()
    try:
        fn()
        outcome, msg = ("correct" if expect is None else "silent"), ""
    except Hang:
        outcome, msg = "hang", f"> {limit} s"
    except AssertionError as e:  # the probe found a wrong result itself
        outcome, msg = "silent", str(e)
    except BaseException as e:  # noqa: BLE001 - a probe records everything
        msg = f"{type(e).__name__}: {e}"[:150].replace("\n", " ")
        ok = expect is not None and isinstance(e, expect) and all(w.lower() in str(e).lower() for w in words)
        outcome = "clear" if ok else "unclear"
    finally:
        signal.alarm(0)
        if mem_mb:
            peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
    if mem_mb and peak > mem_mb:
        outcome, msg = "memory", f"peak {peak:.0f} MB; " + msg
    print(f"{outcome:8s} {name:46s} {msg}", flush=True)
    return outcome


# ---- optimizers ------------------------------------------------------------------------------

def _w():
    return ember.randn(3, requires_grad=True)


def probes_optim():
    O = ember.optim
    yield "SGD(bare tensor)", lambda: O.SGD(_w(), lr=0.1), TypeError, ["iterable"]
    yield "Adam(bare tensor)", lambda: O.Adam(_w()), TypeError, ["iterable"]
    yield "SGD([non-leaf])", lambda: O.SGD([_w() * 2], lr=0.1), ValueError, ["non-leaf"]
    w = _w()
    yield "SGD([w, w]) duplicate", lambda: O.SGD([w, w], lr=0.1), Exception, ["twice"]
    yield "SGD(two groups sharing w)", lambda: O.SGD([{"params": [w]}, {"params": [w]}],
                                                     lr=0.1), ValueError, ["more than one"]
    yield "SGD([]) empty", lambda: O.SGD([], lr=0.1), ValueError, ["empty parameter list"]
    yield "Adam lr=-1", lambda: O.Adam([_w()], lr=-1), ValueError, ["learning rate"]
    yield "Adam betas=(1.0, 0.9)", lambda: O.Adam([_w()], betas=(1.0, 0.9)), ValueError, \
        ["beta"]
    yield "Adam betas=(0.9, -0.1)", lambda: O.Adam([_w()], betas=(0.9, -0.1)), ValueError, \
        ["beta"]
    yield "AdamW eps=-1", lambda: O.AdamW([_w()], eps=-1), ValueError, ["epsilon"]
    yield "SGD momentum=-1", lambda: O.SGD([_w()], lr=0.1, momentum=-1), ValueError, \
        ["momentum"]
    yield "RMSprop momentum=-1", lambda: O.RMSprop([_w()], momentum=-1), ValueError, \
        ["momentum"]
    yield "RMSprop alpha=-1", lambda: O.RMSprop([_w()], alpha=-1), ValueError, ["alpha"]
    yield "Adagrad lr_decay=-1", lambda: O.Adagrad([_w()], lr_decay=-1), ValueError, \
        ["lr_decay"]
    yield "Adagrad initial_accumulator_value=-1", \
        lambda: O.Adagrad([_w()], initial_accumulator_value=-1), ValueError, \
        ["initial_accumulator_value"]
    yield "SGD lr='0.1' (a string)", lambda: O.SGD([_w()], lr="0.1"), Exception, ["lr"]
    yield "add_param_group duplicate", lambda: O.SGD([w], lr=0.1).add_param_group(
        {"params": [w]}), ValueError, ["more than one"]


# ---- dtypes, embedding --------------------------------------------------------------------------

def probes_dtypes():
    lin = nn.Linear(4, 3)
    yield "Linear(int64 input)", lambda: lin(ember.ones(2, 4, dtype=ember.int64)), \
        RuntimeError, ["same dtype"]
    yield "Linear(float64 input)", lambda: lin(ember.ones(2, 4, dtype=ember.float64)), \
        RuntimeError, ["same dtype"]
    yield "matmul float32 @ float64", lambda: ember.ones(2, 3) @ ember.ones(
        3, 2, dtype=ember.float64), RuntimeError, ["same dtype"]
    yield "matmul int64 @ float32", lambda: ember.matmul(ember.ones(2, 3, dtype=ember.int64),
                                                        ember.ones(3, 2)), RuntimeError, \
        ["same dtype"]
    conv = nn.Conv2d(1, 2, 3)
    yield "Conv2d(float64 input)", lambda: conv(ember.ones(1, 1, 5, 5, dtype=ember.float64)), \
        RuntimeError, ["same dtype"]
    yield "conv1d(int64 input)", lambda: ember.nn.functional.conv1d(
        ember.ones(1, 1, 5, dtype=ember.int64), ember.ones(1, 1, 3)), RuntimeError, \
        ["same dtype"]
    emb = nn.Embedding(5, 2)
    yield "Embedding(-1)", lambda: emb(ember.tensor([0, -1])), IndexError, ["-1"]
    yield "Embedding(5) of 5", lambda: emb(ember.tensor([5])), IndexError, ["5"]


# ---- files -------------------------------------------------------------------------------------

def _cifar_dir(data, labels, key=b"labels"):
    root = tempfile.mkdtemp(dir=TMP)
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    with open(os.path.join(folder, "test_batch"), "wb") as f:
        pickle.dump({b"data": data, key: labels}, f)
    return root


def _cifar_raw(raw):
    root = tempfile.mkdtemp(dir=TMP)
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    with open(os.path.join(folder, "test_batch"), "wb") as f:
        f.write(raw)
    return root


def _idx(dtype_code, dims, body):
    return struct.pack(">HBB", 0, dtype_code, len(dims)) + struct.pack(
        ">" + "I" * len(dims), *dims) + body


def _mnist_dir(images, labels_bytes):
    root = tempfile.mkdtemp(dir=TMP)
    with open(os.path.join(root, "t10k-images-idx3-ubyte"), "wb") as f:
        f.write(images)
    with open(os.path.join(root, "t10k-labels-idx1-ubyte"), "wb") as f:
        f.write(labels_bytes)
    return root


def _huge_cifar_pickle():
    """A tiny pickle whose ndarray reconstruction declares a huge shape (uses only the names
    the restricted unpickler allows)."""
    class Fake:  # pickled as numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') + state
        def __reduce__(self):
            return (np.ndarray.__reduce__(np.zeros(0, np.uint8))[0], (np.ndarray, (0,), b"b"),
                    (1, (100000, 3072), np.dtype(np.uint8), False, b"\x00" * 7))
    return pickle.dumps({b"data": Fake(), b"labels": [0]}, protocol=4)


def probes_files():
    from ember.data import CIFAR10, MNIST
    from ember.data.datasets import TextPolarityCSV, read_idx
    img = np.zeros((2, 3072), np.uint8)
    yield "CIFAR label 99", lambda: CIFAR10(_cifar_dir(img, [0, 99]), train=False), \
        RuntimeError, ["99", "label"]
    yield "CIFAR label -5", lambda: CIFAR10(_cifar_dir(img, [0, -5]), train=False), \
        RuntimeError, ["-5", "label"]
    yield "CIFAR string labels", lambda: CIFAR10(_cifar_dir(img, ["cat", "dog"]),
                                                 train=False), RuntimeError, ["label"]
    yield "CIFAR float data", lambda: CIFAR10(_cifar_dir(img.astype(np.float32) + 0.5, [0, 1]),
                                              train=False), RuntimeError, ["uint8"]
    yield "CIFAR 81-byte batch declaring 300 MB", lambda: CIFAR10(
        _cifar_raw(_huge_cifar_pickle()), train=False), RuntimeError, ["test_batch"], 10, 50
    bomb = (b"\x80\x04}q\x00(C\x04data\x8c\x08builtins\x8c\x05bytes\x93J\x00\xc2\xeb\x2f\x85R"
            b"C\x06labels]u.")
    yield "CIFAR 40-byte batch asking bytes(804 MB)", lambda: CIFAR10(
        _cifar_raw(bomb), train=False), RuntimeError, ["test_batch"], 10, 50
    ims = _idx(0x08, (2, 28, 28), bytes(2 * 784))
    yield "MNIST label 200", lambda: MNIST(_mnist_dir(ims, _idx(0x08, (2,), bytes([1, 200]))),
                                           train=False), RuntimeError, ["200", "label"]
    yield "MNIST label 255", lambda: MNIST(_mnist_dir(ims, _idx(0x08, (2,), bytes([255, 1]))),
                                           train=False), RuntimeError, ["255", "label"]
    yield "MNIST 2-D label file", lambda: MNIST(_mnist_dir(ims, _idx(0x08, (2, 1), bytes(2))),
                                                train=False), RuntimeError, ["1-D"]
    p6 = os.path.join(TMP, "six.idx")
    with open(p6, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 3) + b"\x00\x00")
    yield "IDX 6-byte header", lambda: read_idx(p6), RuntimeError, ["six.idx", "header"]
    pbig = os.path.join(TMP, "big.idx")
    with open(pbig, "wb") as f:
        f.write(_idx(0x0E, (60000, 60000, 60000), b"\x00" * 8))
    yield "IDX declaring 1.7 PB", lambda: read_idx(pbig), RuntimeError, ["big.idx"], 10, 50
    csvp = os.path.join(TMP, "half.csv")
    with open(csvp, "w") as f:
        f.write("1,good film\n0.5,so-so\n0,bad\n")
    yield "CSV label '0.5'", lambda: TextPolarityCSV(csvp), RuntimeError, ["0.5", "line 2"]


def probes_checkpoints():
    import json
    from safetensors.numpy import save_file
    bad = os.path.join(TMP, "meta.safetensors")
    save_file({"t0": np.zeros(2, np.float32)}, bad,
              metadata={"format": "ember", "__ember_tree__": json.dumps(["t0"])})
    yield "metadata tree not a map", lambda: ember.load(bad), RuntimeError, ["meta.safetensors"]

    def stale():
        target = os.path.join(TMP, "ck.safetensors")
        # a leftover of a killed save (pid 4194304 is above Linux's pid_max: never alive)
        with open(os.path.join(TMP, ".tmp-ck.safetensors.4194304.dead.safetensors"), "wb") as f:
            f.write(b"x" * 100)
        ember.save({"w": ember.ones(2)}, target)
        left = [n for n in os.listdir(TMP) if n.startswith(".tmp-")]
        if left:
            raise AssertionError(f"stale temp files survive the next save: {left}")
    yield "stale temp file after interrupted save", stale, None, []

    def mode():
        target = os.path.join(TMP, "mode.safetensors")
        old = os.umask(0o022)
        try:
            ember.save({"w": ember.ones(2)}, target)
        finally:
            os.umask(old)
        m = os.stat(target).st_mode & 0o777
        if m != 0o644:
            raise AssertionError(f"checkpoint mode {oct(m)} instead of 0o644 (umask 022)")
    yield "checkpoint file mode under umask 022", mode, None, []

    def full_disk():
        import subprocess
        d = tempfile.mkdtemp(dir=TMP)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", d],
                          capture_output=True).returncode:
            raise Hang()  # can't mount: reported as not tried
        try:
            ember.save({"w": ember.ones(10)}, os.path.join(d, "ck.safetensors"))
            ember.save({"w": ember.ones(200000)}, os.path.join(d, "ck.safetensors"))
        finally:
            subprocess.run(["umount", d])
    yield "full disk during save", full_disk, OSError, ["ck.safetensors", "intact"]


def probes_tree():
    def deep():
        t = 1
        for _ in range(100000):
            t = [t]
        ember.tree.tree_leaves(t) if hasattr(ember, "tree") else None
        from ember.tree import tree_leaves
        tree_leaves(t)
    yield "pytree nested 100,000 deep", deep, ValueError, ["deep"]


# ---- data loader -------------------------------------------------------------------------------

class _Dying(Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "exit":
                os._exit(1)
            if self.how == "sysexit":
                sys.exit(3)
            if self.how == "slow":
                import time
                time.sleep(30)
        return np.float32(i)


def probes_loader():
    for how, words in (("kill", ["killed by signal"]), ("exit", ["exit code 1"]),
                       ("sysexit", ["exit code 3"])):
        yield f"DataLoader worker dies ({how})", lambda how=how: list(
            DataLoader(_Dying(how), batch_size=2, num_workers=2)), RuntimeError, words, 8
    yield "DataLoader timeout=1, worker stuck", lambda: list(
        DataLoader(_Dying("slow"), batch_size=2, num_workers=2, timeout=1)), RuntimeError, \
        ["timed out"], 8
    yield "DataLoader timeout=-1", lambda: DataLoader(_Dying("ok"), timeout=-1), ValueError, \
        ["timeout"]


def main():
    counts = {}
    for group in (probes_optim, probes_dtypes, probes_files, probes_checkpoints, probes_tree,
                  probes_loader):
        for name, fn, expect, words, *rest in group():
            o = run(name, fn, expect, words, *rest)
            counts[o] = counts.get(o, 0) + 1
    print("\ntried", sum(counts.values()), " ".join(f"{k}={v}" for k, v in sorted(
        counts.items())))


if __name__ == "__main__":
    main()
