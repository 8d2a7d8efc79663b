"""``ember.save`` / ``ember.load``: checkpoints in the safetensors format (no pickle, so
loading a file never runs code), written atomically.

A flat ``{name: tensor}`` dict (a ``state_dict``) is stored under its own names, so the file
is an ordinary safetensors checkpoint that ``safetensors.torch.load_file`` reads, and a
checkpoint written by PyTorch loads here. Anything else (nested dicts/lists of tensors, NumPy
arrays, numbers, strings, None: an optimizer state, a training step) is stored as its tensors
plus a JSON description of the structure in the file's metadata.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .core.tensor import Tensor

__all__ = ["save", "load"]
_TREE_KEY = "__ember_tree__"


def _safetensors():
    try:
        import safetensors.numpy  # noqa: F401
        from safetensors import safe_open
        return safetensors.numpy, safe_open
    except ImportError:
        raise ImportError("ember.save/load need the safetensors package: pip install "
                          "safetensors (or pip install 'ember[train]')") from None


def _array(x):
    a = np.asarray(x._data if isinstance(x, Tensor) else x)
    # (np.ascontiguousarray would turn a 0-d array, e.g. BatchNorm's num_batches_tracked,
    # into shape (1,))
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _encode(obj, tensors):
    if isinstance(obj, (Tensor, np.ndarray)):
        name = f"t{len(tensors)}"
        tensors[name] = _array(obj)
        return {"T" if isinstance(obj, Tensor) else "A": name}
    if isinstance(obj, dict):
        return {"D": [[_encode_key(k), _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"L" if isinstance(obj, list) else "U": [_encode(v, tensors) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"V": obj}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return {"V": obj.item()}
    raise TypeError(f"ember.save: can't store a {type(obj).__name__}; checkpoints hold "
                    f"tensors, arrays, numbers, strings, None and dicts/lists/tuples of them")


def _encode_key(k):
    if isinstance(k, (str, int, float, bool)) or k is None:
        return [type(k).__name__, k]
    raise TypeError(f"ember.save: dict keys must be str/int/float/bool, got {k!r}")


def _decode(node, tensors):
    (kind, v), = node.items()
    if kind == "T":
        return Tensor._wrap(tensors[v])
    if kind == "A":
        return tensors[v]
    if kind == "D":
        return {_decode_key(k): _decode(x, tensors) for k, x in v}
    if kind == "L":
        return [_decode(x, tensors) for x in v]
    if kind == "U":
        return tuple(_decode(x, tensors) for x in v)
    return v


def _decode_key(k):
    t, v = k
    return {"int": int, "float": float, "bool": bool, "str": str}.get(t, lambda x: x)(v)


def save(obj, path):
    """Write ``obj`` to ``path`` (safetensors). The file is written to a temporary name in the
    same folder, flushed to disk and renamed over ``path``, so an interrupted save leaves any
    previous checkpoint intact.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model = ember.nn.Linear(2, 1)
    >>> ember.save(model.state_dict(), path)
    >>> restored = ember.nn.Linear(2, 1)
    >>> restored.load_state_dict(ember.load(path))
    ([], [])
    >>> bool((restored.weight == model.weight).all())
    True
    """
    stn, _ = _safetensors()
    path = os.fspath(path)
    flat = isinstance(obj, dict) and obj and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    if flat:
        tensors = {k: _array(v) for k, v in obj.items()}
        metadata = {"format": "pt"}
    else:
        tensors = {}
        tree = _encode(obj, tensors)
        metadata = {"format": "ember", _TREE_KEY: json.dumps(tree)}
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    os.close(fd)
    try:
        stn.save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path):
    """Read a checkpoint written by ``ember.save`` (or any safetensors file, e.g. one saved by
    PyTorch: then a ``{name: tensor}`` dict). A truncated or corrupted file raises a clear
    error naming it.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.safetensors")
    >>> ember.save({"step": 3, "weights": [ember.tensor([1., 2.])]}, path)
    >>> ember.load(path)
    {'step': 3, 'weights': [tensor([1., 2.])]}
    """
    stn, safe_open = _safetensors()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"ember.load: {path} does not exist")
    try:
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors validates the header and the data sizes
        raise RuntimeError(f"ember.load: {path} is not a valid safetensors checkpoint "
                           f"(truncated or corrupted?): {e}") from None
    if _TREE_KEY in metadata:
        try:
            return _decode(json.loads(metadata[_TREE_KEY]), tensors)
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"ember.load: the structure stored in {path} is corrupted: "
                               f"{e}") from None
    return {k: Tensor._wrap(v) for k, v in tensors.items()}
