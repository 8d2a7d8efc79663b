"""Reading PyTorch's checkpoint files (``torch.save``) without PyTorch, and without running
code from the file.

Two layouts are read: the zip archive that ``torch.save`` writes since PyTorch 1.6
(``<name>/data.pkl`` + one ``<name>/data/<key>`` entry per storage + ``byteorder``), and the
legacy stream written with ``_use_new_zipfile_serialization=False`` (magic number, protocol,
system info, the pickle, then the storages). The pickle is read by a restricted unpickler that,
like ``torch.load(weights_only=True)``, admits only what tensors and state dicts are made of:
containers (dict, OrderedDict, list, tuple, set), numbers, strings, bytes, and PyTorch's tensor
rebuild functions, storage types, dtypes, ``torch.Size`` and ``torch.device`` -- each mapped to
a function of this module, so no object named in the file is ever imported or called. Any
other global is refused with an error naming it.

Tensors come back as ember tensors. Tensors that share a storage with the same layout share
memory (tied weights stay tied); other views (offsets, transposes, strides) are copied out of
their storage after a bounds check, so a crafted file cannot read past a storage.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor

__all__ = ["load_torch_file", "is_torch_file", "TorchFormatError"]

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class TorchFormatError(RuntimeError, pickle.UnpicklingError):
    """A PyTorch checkpoint that can't be read safely (a forbidden global, a corrupt or
    truncated file). Both a RuntimeError (as ember.load's other errors) and an
    UnpicklingError (as torch.load's weights-only refusals)."""


def _bfloat16():
    try:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    except ImportError:
        raise TorchFormatError("the checkpoint holds bfloat16 tensors, which need the ml_dtypes "
                               "package: pip install ml_dtypes") from None


def _ml_dtype(name):
    def get():
        try:
            import ml_dtypes
            return np.dtype(getattr(ml_dtypes, name))
        except (ImportError, AttributeError):
            raise TorchFormatError(f"the checkpoint holds {name} tensors, which need the "
                                   f"ml_dtypes package: pip install ml_dtypes") from None
    return get


# torch dtype name -> NumPy dtype (a callable for the optional ones)
_DTYPES = {
    "float64": np.float64, "double": np.float64, "float32": np.float32, "float": np.float32,
    "float16": np.float16, "half": np.float16, "bfloat16": _bfloat16,
    "int64": np.int64, "long": np.int64, "int32": np.int32, "int": np.int32,
    "int16": np.int16, "short": np.int16, "int8": np.int8, "uint8": np.uint8,
    "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "bool": np.bool_,
    "complex64": np.complex64, "cfloat": np.complex64, "complex128": np.complex128,
    "cdouble": np.complex128,
    "float8_e4m3fn": _ml_dtype("float8_e4m3fn"), "float8_e5m2": _ml_dtype("float8_e5m2"),
    "float8_e4m3fnuz": _ml_dtype("float8_e4m3fnuz"),
    "float8_e5m2fnuz": _ml_dtype("float8_e5m2fnuz"),
}
# typed storage class name -> torch dtype name
_STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8",
}


class _DType:
    """Stands for a ``torch.<dtype>`` global in the pickle."""

    def __init__(self, name):
        self.name = name

    @property
    def np(self):
        d = _DTYPES[self.name]
        return np.dtype(d() if callable(d) and not isinstance(d, type) else d)

    def __repr__(self):
        return f"torch.{self.name}"


class _StorageType:
    """Stands for a ``torch.<X>Storage`` class in the pickle."""

    def __init__(self, name):
        self.name, self.dtype = name, _DType(_STORAGES[name])


class _Storage:
    def __init__(self, raw, dtype, key):
        self.raw, self.dtype, self.key = raw, dtype, key  # raw: a 1-D uint8 array
        self._typed = {}

    def typed(self, np_dtype):
        a = self._typed.get(np_dtype)
        if a is None:
            if self.raw.size % np_dtype.itemsize:
                raise TorchFormatError(f"storage {self.key!r} has {self.raw.size} bytes, not a "
                                       f"multiple of {np_dtype} ({np_dtype.itemsize} bytes)")
            a = self._typed[np_dtype] = self.raw.view(np_dtype)
        return a


class _Size(tuple):
    pass


class _Device(str):
    pass


def _as_int_tuple(v, what):
    if not isinstance(v, tuple) or not all(isinstance(i, int) and not isinstance(i, bool)
                                           for i in v):
        raise TorchFormatError(f"tensor {what} must be a tuple of ints, got {v!r}")
    return v


def _tensor_from_storage(storage, offset, size, stride, dtype=None):
    if not isinstance(storage, _Storage):
        raise TorchFormatError(f"a tensor's storage is a {type(storage).__name__}, not a "
                               f"storage record")
    npd = (dtype or storage.dtype).np
    base = storage.typed(npd)
    size, stride = _as_int_tuple(tuple(size), "size"), _as_int_tuple(tuple(stride), "stride")
    if not isinstance(offset, int) or offset < 0 or len(size) != len(stride) or \
            any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise TorchFormatError(f"invalid tensor layout: offset {offset!r}, size {size}, "
                               f"stride {stride}")
    n = int(np.prod(size, dtype=np.int64)) if size else 1
    if n == 0:
        return np.zeros(size, npd)
    last = offset + sum((sz - 1) * st for sz, st in zip(size, stride))
    if last >= base.size:
        raise TorchFormatError(f"tensor of size {size}, stride {stride}, offset {offset} reads "
                               f"element {last} of storage {storage.key!r}, which holds "
                               f"{base.size}: the file is corrupt")
    contiguous = tuple(int(np.prod(size[i + 1:], dtype=np.int64)) for i in range(len(size)))
    if all(st == c or sz == 1 for sz, st, c in zip(size, stride, contiguous)):
        return base[offset:offset + n].reshape(size)  # shares the storage's memory
    view = np.lib.stride_tricks.as_strided(base[offset:], size,
                                           tuple(s * npd.itemsize for s in stride),
                                           writeable=False)
    return np.array(view)


class _Pending:
    """A tensor of the legacy layout, whose storage bytes follow the pickle."""

    def __init__(self, args, requires_grad):
        self.args, self.requires_grad = args, requires_grad

    def build(self):
        return _tensor(*self.args, requires_grad=self.requires_grad)


def _tensor(storage, offset, size, stride, dtype=None, requires_grad=False):
    if isinstance(storage, _Storage) and storage.raw is None:
        return _Pending((storage, offset, size, stride, dtype), requires_grad)
    a = _tensor_from_storage(storage, offset, size, stride, dtype)
    try:
        _dt.from_np(a.dtype)
    except TypeError:
        raise TorchFormatError(f"the checkpoint holds a {(dtype or storage.dtype).name} tensor "
                               f"of shape {tuple(size)}; ember has no such dtype") from None
    t = Tensor._wrap(a)
    if requires_grad and (a.dtype.kind == "c" or _dt.is_floating_np(a.dtype)):
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, offset, size, stride):
    return _tensor(storage, offset, size, stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None,
                       metadata=None):
    return _tensor(storage, offset, size, stride, None, bool(requires_grad))


def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype,
                       metadata=None):
    if not isinstance(dtype, _DType):
        raise TorchFormatError(f"_rebuild_tensor_v3: dtype must be a torch dtype, got "
                               f"{dtype!r}")
    return _tensor(storage, offset, size, stride, dtype, bool(requires_grad))


def _rebuild_parameter(data, requires_grad, hooks, *state):
    if isinstance(data, _Pending):
        data.requires_grad = bool(requires_grad)
        return data
    if not isinstance(data, Tensor):
        raise TorchFormatError("_rebuild_parameter: data must be a tensor")
    if requires_grad and data.dtype.is_floating_point:
        data.requires_grad_(True)
    return data


def _encode(s, encoding="latin1"):  # protocol-2 pickles store bytes as _codecs.encode(str)
    if not isinstance(s, str) or encoding not in ("latin1", "latin-1"):
        raise TorchFormatError("_codecs.encode: only latin1 text is admitted")
    return s.encode("latin1")


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


_FUNCS = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex, ("builtins", "slice"): slice,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _encode,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): lambda *a: _Size(*a),
    ("torch", "device"): lambda *a: _Device(":".join(str(x) for x in a)),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages, path):
        super().__init__(file, encoding="utf-8")
        self._storages, self._path = storages, path

    def find_class(self, module, name):
        f = _FUNCS.get((module, name))
        if f is not None:
            return f
        if module in ("torch", "torch.storage") and name in _STORAGES:
            return _StorageType(name)
        if module == "torch" and name in _DTYPES:
            return _DType(name)
        raise TorchFormatError(
            f"{self._path}: the checkpoint refers to {module}.{name}, which a weights-only "
            f"load does not admit (only tensors, state dicts and plain containers, numbers and "
            f"strings are read; nothing from the file is imported or run). If you trust the "
            f"file, load it with torch.load(..., weights_only=False) and save its state_dict.")

    def persistent_load(self, pid):
        return self._storages(pid)


def _storage_record(pid, path):
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage" or \
            not isinstance(pid[1], _StorageType):
        raise TorchFormatError(f"{path}: unexpected persistent record {pid!r}")
    return pid[1], str(pid[2]), pid[4]


def is_torch_file(path):
    """Whether ``path`` looks like a ``torch.save`` file (zip with a data.pkl, or the legacy
    magic number), judged from its content."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                return any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist())
        except (zipfile.BadZipFile, OSError):
            return True  # a zip header: a (damaged) torch archive is the best guess
    return head[:2] == b"\x80\x02" and head[2:3] == b"\x8a"


def load_torch_file(path):
    """Read a ``torch.save`` checkpoint (zip or legacy layout) into ember tensors inside the
    same containers (dict/OrderedDict/list/tuple). Raises :class:`TorchFormatError` naming
    the file for a forbidden global or a corrupt/truncated file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    try:
        if head == b"PK\x03\x04":
            return _load_zip(path)
        return _load_legacy(path)
    except TorchFormatError as e:
        msg = str(e)
        raise TorchFormatError(msg if msg.startswith(path) else f"{path}: {msg}") from None
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, struct.error, ValueError,
            KeyError, IndexError, TypeError, MemoryError, OverflowError) as e:
        raise TorchFormatError(f"{path}: not a readable PyTorch checkpoint (truncated or "
                               f"corrupted?): {type(e).__name__}: {e}") from None


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
        if any(n.endswith("constants.pkl") for n in names):
            raise TorchFormatError("a TorchScript archive (torch.jit.save) holds code, not "
                                   "just weights; load it in PyTorch and torch.save its "
                                   "state_dict() instead")
        if not pkl:
            raise TorchFormatError(f"a zip file without data.pkl (entries: {names[:5]}...)")
        prefix = pkl[0][:-len("data.pkl")]
        order = "little"
        if prefix + "byteorder" in names:
            order = z.read(prefix + "byteorder").decode("ascii").strip()
        loaded = {}

        def storage(pid):
            stype, key, _ = _storage_record(pid, path)
            s = loaded.get(key)
            if s is None:
                name = f"{prefix}data/{key}"
                if name not in names:
                    raise TorchFormatError(f"storage {key!r} is missing from the archive")
                raw = np.frombuffer(bytearray(z.read(name)), np.uint8)
                s = loaded[key] = _Storage(raw, stype.dtype, key)
            return s
        if order != sys.byteorder:
            raise TorchFormatError(f"the checkpoint was written on a {order}-endian machine; "
                                   f"reading it on a {sys.byteorder}-endian one is not "
                                   f"supported")
        return _RestrictedUnpickler(io.BytesIO(z.read(pkl[0])), storage, path).load()


def _load_legacy(path):
    with open(path, "rb") as f:
        def plain_load():
            return _RestrictedUnpickler(f, lambda pid: (_ for _ in ()).throw(
                TorchFormatError("unexpected storage record in a header")), path).load()
        try:
            magic = plain_load()
        except pickle.UnpicklingError as e:
            raise TorchFormatError(f"neither a safetensors file, a torch zip archive nor a "
                                   f"legacy torch checkpoint: {e}") from None
        if magic != _LEGACY_MAGIC:
            raise TorchFormatError("neither a safetensors file, a torch zip archive nor a legacy "
                                   "torch checkpoint (wrong magic number)")
        protocol = plain_load()
        if protocol != 1001:
            raise TorchFormatError(f"legacy checkpoint protocol {protocol!r} is not supported")
        info = plain_load()
        if isinstance(info, dict) and not info.get("little_endian", True):
            raise TorchFormatError("the checkpoint was written on a big-endian machine")
        records = {}

        def storage(pid):
            stype, key, numel = _storage_record(pid, path)
            if len(pid) > 5 and pid[5] is not None:
                raise TorchFormatError("legacy storage views are not supported")
            if key not in records:
                records[key] = _Storage(None, stype.dtype, key)
            return records[key]
        obj = _RestrictedUnpickler(f, storage, path).load()
        keys = plain_load()
        if not isinstance(keys, list):
            raise TorchFormatError("corrupt storage key list")
        # the tensors were built lazily against empty storages: fill them now
        for key in keys:
            rec = records.get(str(key))
            (n,) = struct.unpack("<q", _read_exact(f, 8))
            if rec is None:
                raise TorchFormatError(f"storage {key!r} is not referenced by the pickle")
            nbytes = n * rec.dtype.np.itemsize
            rec.raw = np.frombuffer(bytearray(_read_exact(f, nbytes)), np.uint8)
    return _fill_legacy(obj)


def _read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError(f"expected {n} more bytes, the file ends after {len(b)}")
    return b


def _fill_legacy(obj, _depth=0):
    if _depth > 200:
        raise TorchFormatError("containers nested more than 200 deep")
    if isinstance(obj, _Pending):
        return obj.build()
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _fill_legacy(obj[k], _depth + 1)
        return obj
    if isinstance(obj, list):
        obj[:] = [_fill_legacy(v, _depth + 1) for v in obj]
        return obj
    if isinstance(obj, tuple) and any(isinstance(v, (_Pending, dict, list, tuple))
                                      for v in obj):
        return type(obj)(_fill_legacy(v, _depth + 1) for v in obj)
    return obj
