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
import re
import time

import numpy as np

from .core.tensor import Tensor

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals"]
_TREE_KEY = "__ember_tree__"
_PICKLE_KEY = "__ember_pickle__"


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


class _BadTree(Exception):
    pass


def _decode(node, tensors):
    if not isinstance(node, dict) or len(node) != 1:
        raise _BadTree(f"expected a one-entry object {{kind: value}}, found {_short(node)}")
    (kind, v), = node.items()
    if kind in ("T", "A"):
        if not isinstance(v, str) or v not in tensors:
            raise _BadTree(f"a tensor reference {_short(v)} names no tensor in the file")
        return Tensor._wrap(tensors[v]) if kind == "T" else tensors[v]
    if kind == "D":
        if not isinstance(v, list) or not all(isinstance(kv, list) and len(kv) == 2
                                              for kv in v):
            raise _BadTree(f"a dict must be a list of [key, value] pairs, found {_short(v)}")
        return {_decode_key(k): _decode(x, tensors) for k, x in v}
    if kind in ("L", "U"):
        if not isinstance(v, list):
            raise _BadTree(f"a list/tuple must be a JSON array, found {_short(v)}")
        items = [_decode(x, tensors) for x in v]
        return items if kind == "L" else tuple(items)
    if kind == "V":
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise _BadTree(f"a value must be null, a bool, a number or a string, found "
                           f"{_short(v)}")
        return v
    raise _BadTree(f"unknown entry kind {_short(kind)} (expected T, A, D, L, U or V)")


class _TensorPickler:
    """Pickles an object with every tensor and array replaced by a reference to a tensor
    stored natively in the file (``persistent_id``)."""

    def __init__(self, tensors):
        self.tensors = tensors

    def persistent_id(self, obj):
        if isinstance(obj, (Tensor, np.ndarray)):
            name = f"t{len(self.tensors)}"
            self.tensors[name] = _array(obj)
            if isinstance(obj, np.ndarray):
                return ("A", name)
            from .nn.module import Parameter
            return ("P" if isinstance(obj, Parameter) else "T", name, bool(obj.requires_grad))
        return None


def _pickle_skeleton(obj, tensors, path):
    import base64
    import io
    import pickle
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=4)
    p.persistent_id = _TensorPickler(tensors).persistent_id
    try:
        p.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(f"ember.save: can't store {type(obj).__name__} at {path}: {e}. "
                        f"Checkpoints hold tensors, numbers, strings and containers of them, "
                        f"or picklable objects (a model defined at module level); saving the "
                        f"state_dict() is the portable choice") from None
    return base64.b64encode(buf.getvalue()).decode("ascii")


_SAFE_GLOBALS = []  # classes/functions that a weights-only load may rebuild


def add_safe_globals(safe_globals):
    """Allow these classes/functions in weights-only loads of pickled objects (a whole model
    saved with ``ember.save(model, f)``), as ``torch.serialization.add_safe_globals``.

    >>> ember.serialization.add_safe_globals([ember.nn.Linear])
    >>> ember.nn.Linear in ember.serialization.get_safe_globals()
    True
    >>> ember.serialization.clear_safe_globals()
    """
    for g in safe_globals:
        if g not in _SAFE_GLOBALS:
            _SAFE_GLOBALS.append(g)


def get_safe_globals():
    """The classes/functions allowed by ``add_safe_globals`` (and open ``safe_globals``).

    >>> ember.serialization.get_safe_globals()
    []
    """
    return list(_SAFE_GLOBALS)


def clear_safe_globals():
    """Forget every ``add_safe_globals`` entry.

    >>> ember.serialization.clear_safe_globals()
    """
    _SAFE_GLOBALS.clear()


class safe_globals:
    """A context in which weights-only loads may rebuild these classes/functions
    (``torch.serialization.safe_globals``).

    >>> with ember.serialization.safe_globals([ember.nn.Linear]):
    ...     ember.nn.Linear in ember.serialization.get_safe_globals()
    True
    """

    def __init__(self, safe_globals):
        self.globals = list(safe_globals)

    def __enter__(self):
        self.added = [g for g in self.globals if g not in _SAFE_GLOBALS]
        _SAFE_GLOBALS.extend(self.added)
        return self

    def __exit__(self, *exc):
        for g in self.added:
            _SAFE_GLOBALS.remove(g)
        return False


# what any weights-only load may rebuild: containers and ember's own value types
_ALWAYS_SAFE = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"),
                ("builtins", "slice"), ("builtins", "complex"), ("builtins", "object"),
                ("copyreg", "__newobj__"), ("copyreg", "_reconstructor"),
                ("ember.core.tensor", "Size"), ("ember.core.dtypes", "DType")}


def _unpickle_skeleton(data, tensors, path, weights_only):
    import base64
    import io
    import pickle
    from .nn.module import Parameter

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if weights_only:
                allowed = (module, name) in _ALWAYS_SAFE or any(
                    getattr(g, "__module__", None) == module and
                    getattr(g, "__qualname__", getattr(g, "__name__", None)) == name
                    for g in _SAFE_GLOBALS)
                if not allowed:
                    raise pickle.UnpicklingError(
                        f"ember.load: {path} holds a pickled Python object that needs "
                        f"{module}.{name}, which a weights-only load does not rebuild (it "
                        f"could run code from the file). If you trust the file, allow it with "
                        f"ember.serialization.add_safe_globals([{name}]) (or the "
                        f"safe_globals context), or pass weights_only=False")
            return super().find_class(module, name)

        def persistent_load(self, pid):
            kind, name = pid[0], pid[1]
            if name not in tensors:
                raise pickle.UnpicklingError(f"ember.load: {path} refers to a tensor {name!r} "
                                             f"that the file does not hold")
            if kind == "A":
                return tensors[name]
            t = Tensor._wrap(tensors[name])
            if kind == "P":
                return Parameter(t, requires_grad=pid[2])
            return t.requires_grad_(True) if pid[2] else t

    try:
        raw = base64.b64decode(data)
    except ValueError:
        raise RuntimeError(f"ember.load: the pickled object in {path} is corrupted") from None
    return Restricted(io.BytesIO(raw)).load()


def _decode_key(k):
    types = {"int": int, "float": float, "bool": bool, "str": str, "NoneType": lambda v: None}
    if not (isinstance(k, list) and len(k) == 2 and k[0] in types):
        raise _BadTree(f"a dict key must be [type, value] with type int/float/bool/str/"
                       f"NoneType, found {_short(k)}")
    try:
        return types[k[0]](k[1])
    except (TypeError, ValueError):
        raise _BadTree(f"dict key {_short(k)} does not hold a {k[0]}") from None


def _short(v):
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


_TMP_PREFIX = ".tmp-"
_active_tmps = set()  # temporary files of saves running in this process


def _tmp_name(path):
    """``.tmp-<target name>.<pid>.<random>.safetensors`` beside the target: a later save can
    tell its own target's leftovers from another target's, and a live writer's from a dead
    one's."""
    import secrets
    folder, base = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f"{_TMP_PREFIX}{base}.{os.getpid()}.{secrets.token_hex(4)}"
                                f".safetensors")


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


# the temp names older saves made (tempfile.mkstemp: ".tmp-" + 8 random characters); they name
# neither target nor writer, so one is removed only when nothing touched it for an hour
_OLD_TMP = re.compile(r"\.tmp-[a-z0-9_]{8}\.safetensors")
_OLD_TMP_AGE = 3600.0


def _remove_if_old(full):
    try:
        if time.time() - os.stat(full).st_mtime > _OLD_TMP_AGE:
            os.remove(full)
    except OSError:
        pass


def _remove_stale_tmps(path):
    """Delete the temporary files that interrupted saves of ``path`` left behind (their
    writer process is gone); another process's save in progress is left alone."""
    folder, base = os.path.split(os.path.abspath(path))
    head = f"{_TMP_PREFIX}{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _OLD_TMP.fullmatch(name):  # earlier versions' anonymous temp names
            _remove_if_old(os.path.join(folder, name))
            continue
        if not (name.startswith(head) and name.endswith(".safetensors")):
            continue
        parts = name[len(head):-len(".safetensors")].split(".")
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        full = os.path.join(folder, name)
        pid = int(parts[0])
        if full in _active_tmps or (pid != os.getpid() and _pid_alive(pid)):
            continue
        try:
            os.remove(full)
        except OSError:
            pass


def _is_file_object(f):
    return hasattr(f, "write") or hasattr(f, "read")


def save(obj, path, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False):
    """Write ``obj`` to ``path`` (safetensors). The file is written to a temporary name in the
    same folder, flushed to disk and renamed over ``path``, so an interrupted save leaves any
    previous checkpoint intact. ``path`` may also be a binary file object (as
    ``torch.save(obj, f)``): the bytes are written to it. PyTorch's pickle options are
    accepted and have no effect (the format has no pickle).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model = ember.nn.Linear(2, 1)
    >>> ember.save(model.state_dict(), path)
    >>> restored = ember.nn.Linear(2, 1)
    >>> restored.load_state_dict(ember.load(path))
    <All keys matched successfully>
    >>> bool((restored.weight == model.weight).all())
    True
    """
    stn, _ = _safetensors()
    if _is_file_object(path):
        return _save_to_file_object(obj, path)
    path = os.fspath(path)
    flat = isinstance(obj, dict) and obj and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    if flat:
        tensors = {k: _array(v) for k, v in obj.items()}
        metadata = {"format": "pt"}
    else:
        tensors = {}
        try:
            tree = _encode(obj, tensors)
            metadata = {"format": "ember", _TREE_KEY: json.dumps(tree)}
        except RecursionError:
            raise ValueError(f"ember.save: the object for {path} is nested too deeply (or "
                             f"contains itself); store a flatter structure") from None
        except TypeError:  # a Module or another Python object (torch.save(model, f)):
            tensors = {}   # its tensors as tensors, the rest as a pickle (see load)
            metadata = {"format": "ember", _PICKLE_KEY: _pickle_skeleton(obj, tensors, path)}
    for k, a in tensors.items():
        if a.dtype == np.complex128:  # the format has C64 but no complex128
            raise TypeError(f"ember.save: safetensors stores complex64 but has no complex128 "
                            f"dtype, and {k!r} is a complex128 tensor of shape "
                            f"{tuple(a.shape)}; convert it with .to(ember.complex64) or store "
                            f"ember.view_as_real(t) (float64 pairs) instead")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _remove_stale_tmps(path)
    tmp = _tmp_name(path)
    # created with the mode the umask gives (as open() would), or the mode of the checkpoint
    # it replaces
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    _active_tmps.add(tmp)
    try:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = os.fstat(fd).st_mode & 0o7777  # 0o666 less the umask
        os.close(fd)
        try:
            stn.save_file(tensors, tmp, metadata=metadata)  # (it creates files as 0o600)
            os.chmod(tmp, mode)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        except Exception as e:  # a full disk, a quota, an I/O error
            raise _write_error(path, e) from None
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    finally:
        _active_tmps.discard(tmp)


def _save_to_file_object(obj, f):
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="ember-save-")
    try:
        tmp = os.path.join(folder, "obj.safetensors")
        save(obj, tmp)
        with open(tmp, "rb") as src:
            shutil.copyfileobj(src, f)
        if hasattr(f, "flush"):
            f.flush()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_from_file_object(f, **kwargs):
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="ember-load-")
    try:
        tmp = os.path.join(folder, "obj")
        with open(tmp, "wb") as dst:
            shutil.copyfileobj(f, dst)
        return load(tmp, _shown_as=f"the file object {getattr(f, 'name', f)!r}", **kwargs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_map_location(map_location):
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return  # a function or a dict remaps storages between devices: all are CPU here
    name = str(getattr(map_location, "type", map_location)).split(":")[0]
    if name not in ("cpu", "meta"):
        raise RuntimeError(f"ember.load: map_location={map_location!r} names a device this "
                           f"machine does not have; use map_location='cpu' (or leave it out)")


def _write_error(path, e):
    import errno
    msg = str(e)
    code = getattr(e, "errno", None) or (errno.ENOSPC if "os error 28" in msg or
                                         "No space left" in msg else
                                         errno.EDQUOT if "os error 122" in msg else errno.EIO)
    prev = (f"the previous checkpoint at {path} is intact (it is replaced only after a "
            f"complete write)" if os.path.exists(path) else f"no file was written at {path}")
    return OSError(code, f"ember.save: writing {path} failed ({type(e).__name__}: {msg}); "
                         f"{prev}. Free space on the disk or save elsewhere, then retry")


def _fsync_dir(folder):
    """Make the rename itself durable (a crash right after save keeps the new file)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a checkpoint written by ``ember.save`` (or any safetensors file, e.g. one saved by
    PyTorch: then a ``{name: tensor}`` dict), or a PyTorch ``torch.save`` file (``.pth``/``.pt``,
    zip or legacy layout; read without PyTorch by a weights-only unpickler that never runs code
    from the file, see ``ember.torch_format``). The format is told from the content, not the
    extension. A truncated or corrupted file raises a clear error naming it. ``path`` may be a
    binary file object. PyTorch's ``map_location`` ('cpu', a CPU device, a function or dict)
    are accepted: everything loads on the CPU. A whole model saved with ``ember.save(model,
    f)`` holds a pickle of its Python objects (the tensors stay in safetensors form): loading
    it needs its classes allowed (``ember.serialization.add_safe_globals`` or the
    ``safe_globals`` context) or ``weights_only=False`` for a trusted file, as PyTorch since
    2.6; nothing else in a checkpoint can run code.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.safetensors")
    >>> ember.save({"step": 3, "weights": [ember.tensor([1., 2.])]}, path)
    >>> ember.load(path)
    {'step': 3, 'weights': [tensor([1., 2.])]}
    """
    _check_map_location(map_location)
    if _is_file_object(path):
        return _load_from_file_object(path, weights_only=weights_only)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"ember.load: {path} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"ember.load: {path} is a folder, not a checkpoint file")
    from .torch_format import is_torch_file, load_torch_file
    if is_torch_file(path):
        return load_torch_file(path)
    stn, safe_open = _safetensors()
    try:
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors validates the header and the data sizes
        raise RuntimeError(f"ember.load: {path} is not a valid safetensors checkpoint "
                           f"(truncated or corrupted?): {e}") from None
    if _PICKLE_KEY in metadata:
        return _unpickle_skeleton(metadata[_PICKLE_KEY], tensors,
                                  pickle_load_args.get("_shown_as", path),
                                  weights_only is not False)
    if _TREE_KEY in metadata:
        try:
            return _decode(json.loads(metadata[_TREE_KEY]), tensors)
        except (ValueError, _BadTree, RecursionError) as e:
            what = "nested too deeply" if isinstance(e, RecursionError) else str(e)
            raise RuntimeError(f"ember.load: the structure stored in {path} (metadata "
                               f"{_TREE_KEY!r}) is corrupted: {what}; the file was not "
                               f"written by ember.save or was modified") from None
    return {k: Tensor._wrap(v) for k, v in tensors.items()}
