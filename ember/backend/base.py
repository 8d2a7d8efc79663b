"""Devices and the backend registry.

A *backend* is one array library behind one device type: its array class(es), its array
namespace (NumPy's names: ``zeros``, ``matmul``, ``concatenate``, ...; the functions that
create arrays create this backend's arrays) and host transfers. A Tensor's device is the
backend of its storage (``type(tensor._data)``); a primitive's ``impl`` takes its namespace
from its inputs with :func:`namespace`, never from a module-level ``import numpy``.

Three backends ship: ``cpu`` (NumPy, the default), ``meta`` (shapes and dtypes, no storage:
every op runs its shape rule) and ``strict`` (NumPy arrays behind a type that refuses to mix
with plain NumPy arrays: a test device that finds code reaching past the namespace). A new
backend is one module that builds a :class:`Backend` and calls :func:`register`
(``docs/architecture.md``, "Backends", lists what it must provide).
"""
from __future__ import annotations

import threading


class Backend:
    """One device type's array library. Subclasses fill in the class attributes and methods.

    - ``name``: the device type (``"cpu"``, ``"meta"``, ``"strict"``, later ``"cuda"``);
    - ``xp``: the array namespace: NumPy's function names, creating this backend's arrays;
    - ``array_types``: the array classes this backend owns (``type(a)`` finds the backend);
    - ``computes``: False for a backend without data (meta): ops run their shape rule;
    - ``from_host(a)``: a NumPy array copied onto this device; ``to_host(a)``: the reverse;
    - ``empty(shape, dtype)``: uninitialised storage (``to_empty``).
    """

    name = "?"
    xp = None
    array_types: tuple = ()
    computes = True

    def from_host(self, a):
        raise NotImplementedError

    def to_host(self, a):
        raise NotImplementedError

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype)

    def is_available(self) -> bool:
        return True

    @property
    def device(self):
        return device(self.name)

    def __repr__(self):
        return f"<ember backend {self.name!r}>"


_backends: dict[str, Backend] = {}
_by_type: dict[type, Backend] = {}
_ns_by_type: dict[type, object] = {}
_devices: dict[str, "device"] = {}
# device types PyTorch users name that this build has no backend for (a clear error on use)
_KNOWN_ABSENT = ("cuda", "mps", "xpu", "xla", "hip")
_ALIASES = {"cpu:strict": "strict"}


def register(backend: Backend) -> Backend:
    """Make ``backend`` the owner of its device type and array types."""
    _backends[backend.name] = backend
    for t in backend.array_types:
        _by_type[t] = backend
        _ns_by_type[t] = backend.xp
    _devices[backend.name] = device(backend.name)
    return backend


def available() -> list:
    """The device types this build can allocate on."""
    return list(_backends)


def get(dev) -> Backend:
    """The backend of a device (a ``device``, a string such as ``"meta"``, or None: the
    default device)."""
    if dev is None:
        return _backends[default_device().type]
    name = dev.type if isinstance(dev, device) else device(dev).type
    b = _backends.get(name)
    if b is None:
        hint = (f"; ember.{name}.is_available() is False" if name in ("cuda",) else "")
        raise RuntimeError(f"device '{name}': this build of ember has no {name} backend{hint}. "
                           f"Available devices: {', '.join(_backends)}; use device='cpu'.")
    return b


def backend_of(a) -> Backend:
    """The backend that owns array ``a`` (NumPy scalars and Python numbers: the CPU)."""
    b = _by_type.get(type(a))
    if b is not None:
        return b
    for t, b in _by_type.items():
        if isinstance(a, t):
            return b
    return _backends["cpu"]


def namespace(*arrays):
    """The array namespace of the first argument that is a backend array (NumPy's by default).
    Python and NumPy scalars don't decide: they mix with every backend."""
    get_ns = _ns_by_type.get
    for a in arrays:
        ns = get_ns(type(a))
        if ns is not None:
            return ns
    return _backends["cpu"].xp


def device_of(a) -> "device":
    """The device of array ``a``."""
    b = _by_type.get(type(a))
    return _devices[b.name if b is not None else backend_of(a).name]


# --------------------------------------------------------------------------------------
# device objects and the default device (per thread)
# --------------------------------------------------------------------------------------

class _DefaultDevice(threading.local):
    stack: list = []

    def __init__(self):
        self.stack = []
        self.value = None


_default = _DefaultDevice()


class device:
    """A device: ``ember.device("cpu")``, ``ember.device("meta")``, ``ember.device("strict")``
    (alias ``"cpu:strict"``). As in PyTorch, it is also a context manager that makes it the
    default device of the tensors created inside (per thread)::

        with ember.device("meta"):
            model = nn.Linear(4096, 4096)   # shapes only, no storage

    ``device("cuda")`` can be named (PyTorch code does), but allocating on it raises: this
    build has no CUDA backend (``ember.cuda.is_available()`` is False).
    """

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a device type string such as 'cpu' or 'meta', "
                            f"got {type!r}")
        s = _ALIASES.get(type, type)
        if ":" in s:
            s, idx = s.split(":", 1)
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"device(): invalid device string {type!r}: the part after "
                                   f"':' must be a device index such as 0") from None
        if s not in _backends and s not in _KNOWN_ABSENT and s != "cpu":
            known = ", ".join(list(_backends) + list(_KNOWN_ABSENT))
            raise RuntimeError(f"device(): unknown device type {s!r} in {type!r}; expected one "
                               f"of {known}")
        self.type = s
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self):
        get(self)  # a device without a backend fails here, not at the first allocation
        _default.stack.append(_default.value)
        _default.value = self
        return self

    def __exit__(self, *exc):
        _default.value = _default.stack.pop()
        return False


def default_device() -> device:
    """The device new tensors go to (``cpu`` unless changed by a ``with ember.device(...)``
    block or ``set_default_device``; per thread)."""
    d = _default.value
    return d if d is not None else _devices["cpu"]


def set_default_device(dev) -> None:
    """Make ``dev`` the default device of this thread (``None``: back to the CPU)."""
    if dev is None:
        _default.value = None
        return
    dev = device(dev)
    get(dev)
    _default.value = dev
