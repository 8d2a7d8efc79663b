"""The Tensor: a NumPy array plus what eager autograd needs.

Operations are installed as methods by the ``ember.ops`` modules (one place per operation);
this file holds only storage, properties, conversion and printing.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..backend import device  # noqa: F401  (ember.device)
from . import dtypes as _dt
from .exceptions import OpError


class Aval:
    """An abstract value: the shape and dtype of a tensor, without its data."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype if isinstance(dtype, _dt.DType) else _dt.as_dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other):
        return isinstance(other, Aval) and self.shape == other.shape and self.dtype is other.dtype

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"{self.dtype.name}{list(self.shape)}"

    def str_short(self):
        return f"{self.dtype.name}{list(self.shape)}"


def canon_dim(dim, ndim, op="op"):
    """Normalise a possibly negative dim; raise a clear error when out of range."""
    try:
        if isinstance(dim, (str, bytes, float)):
            raise TypeError
        d = int(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an integer, got {dim!r}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimension"
                         f"{'s' if ndim != 1 else ''} (expected a dim in [{-n}, {n - 1}])")
    return d % n


def _infer_dtype(data):
    """PyTorch's inference: bool, int64, or the default float dtype for Python data."""
    a = np.asarray(data)
    k = a.dtype.kind
    if k == "b":
        return _dt.bool_
    if k in "iu":
        return _dt.int64
    if k == "f":
        return _dt.get_default_dtype()
    if k == "c":
        return _dt.default_complex_dtype()
    if k == "O":
        raise TypeError("tensor(): could not infer a dtype from the data (mixed or non-numeric "
                        "objects); pass numbers, nested lists of numbers or an array")
    raise TypeError(f"tensor(): unsupported data of kind {a.dtype}")


def _contains_tensor(x):
    if isinstance(x, Tensor):
        return True
    if isinstance(x, (list, tuple)) and x:
        return any(_contains_tensor(v) for v in x)
    return False


def _unwrap_nested(x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return [_unwrap_nested(v) for v in x]
    return x


def _to_array(data, dtype=None, copy=True):
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    elif _contains_tensor(data):
        arr = np.array(_unwrap_nested(data))
    else:
        if dtype is None:
            dtype = _infer_dtype(data)
        try:
            arr = np.array(data, dtype=_dt.as_dtype(dtype).np)
        except (ValueError, TypeError) as e:
            raise TypeError(f"tensor(): could not convert the data to a tensor: {e}") from None
        return arr
    if dtype is not None:
        npd = _dt.as_dtype(dtype).np
        if arr.dtype != npd:
            return arr.astype(npd)
    else:
        _dt.from_np(arr.dtype)  # raises for unsupported dtypes
    return arr.copy() if copy else arr



class Size(tuple):
    """The shape of a tensor (a tuple, as ``torch.Size``).

    >>> s = ember.zeros(2, 3).shape
    >>> s, s[1], s.numel(), tuple(s) == (2, 3)
    (ember.Size([2, 3]), 3, 6, True)
    """

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"ember.Size({list(self)})"


CPU = device("cpu")


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


class Tensor:
    """An n-dimensional array with optional gradient tracking (see ``ember.tensor``).

    PyTorch's methods and operators work on it, and so do the function transforms.

    >>> x = ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    >>> x.shape, x.dtype, x.ndim
    (ember.Size([2, 2]), ember.float32, 2)
    >>> y = (x @ x.T).relu().sum()
    >>> y.backward()
    >>> x.grad
    tensor([[ 8., 12.],
            [ 8., 12.]])
    >>> x[1, 0].item(), x.detach().numpy()[0]
    (3.0, array([1., 2.], dtype=float32))
    """

    # Per-instance state lives in the instance dict; these class defaults make creating a
    # tensor cost two attribute stores (the hot path of every eager op).
    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__
    requires_grad = False
    grad = None
    _node = None
    _oidx = 0
    _ver = None
    _hooks = None
    _retains_grad = False
    _post_acc_hooks = None  # hook(tensor) after this leaf's .grad is accumulated

    def __init__(self, data=(), dtype=None, requires_grad=False, *more_sizes):
        # ember.Tensor(data) mirrors torch.Tensor(data): float32 by default. As PyTorch's
        # legacy constructor, ints (or a Size) are sizes: Tensor(2, 3) is a 2x3 tensor (of
        # zeros here; PyTorch leaves it uninitialized), Tensor([2, 3]) holds 2 and 3.
        rest = [a for a in (dtype, requires_grad) if a is not None and a is not False]
        rest += more_sizes
        if isinstance(data, Size) or (_is_int(data) and all(_is_int(a) for a in rest)):
            sizes = tuple(data) if isinstance(data, Size) else (data, *rest)
            self._data = np.zeros(sizes, _dt.get_default_dtype().np)
            return
        self._data = _to_array(data, dtype if dtype is not None else _dt.get_default_dtype())
        if requires_grad:
            self.requires_grad_(True)

    # fast constructor used by every op
    @classmethod
    def _wrap(cls, arr):
        t = object.__new__(cls)
        t._data = arr
        return t

    @property
    def _version(self):
        """A version counter shared by a tensor and its views (a one-element list)."""
        v = self._ver
        if v is None:
            v = self._ver = [0]
        return v

    @_version.setter
    def _version(self, v):
        self._ver = v

    # ---- properties ------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[canon_dim(dim, self.ndim, "size")]

    @property
    def dtype(self):
        return _dt.from_np(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self.ndim

    ndimension = dim

    def numel(self):
        return self.shape.numel()

    nelement = numel

    def element_size(self):
        return self.dtype.itemsize

    @property
    def itemsize(self):
        """Bytes per element (NumPy's and JAX's name for ``element_size()``)."""
        return self.dtype.itemsize

    @property
    def nbytes(self):
        """Bytes of all elements (``numel() * itemsize``), as NumPy and JAX."""
        return self.numel() * self.dtype.itemsize

    def astype(self, dtype):
        """A copy converted to ``dtype`` (NumPy's and JAX's name for ``.to(dtype)``); Python's
        ``int`` names JAX's default integer (int32 unless 64-bit mode), as ``jnp``'s does."""
        return self.to(_dt.jax_int() if dtype is int else _dt.as_dtype(dtype))

    @property
    def device(self):
        """Where the data lives: ``device(type='cpu')``, ``'meta'``, ``'strict'``."""
        return _backend.device_of(self._data)

    @property
    def is_cuda(self):
        """False: ember has no CUDA backend (as are ``is_xpu`` and ``is_mps``)."""
        return False

    is_xpu = is_mps = is_cuda

    @property
    def is_meta(self):
        return type(self._data) is _MetaArray

    @property
    def is_cpu(self):
        return _backend.device_of(self._data).type == "cpu"

    @property
    def grad_fn(self):
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def aval(self):
        return Aval(self.shape, self.dtype)

    @property
    def data(self):
        """A tensor sharing storage with this one, outside the autograd graph."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = value

    @property
    def _version_count(self):
        return self._version[0]

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        """Whether the dtype is complex64 or complex128 (as ``torch.Tensor.is_complex``)."""
        return self.dtype.is_complex

    def is_contiguous(self, memory_format=None):
        """Whether the data is dense in row-major order, or in ``memory_format``'s order
        (``ember.channels_last``: NHWC)."""
        from .memory_format import is_laid_out, contiguous_format
        return is_laid_out(self._data, memory_format or contiguous_format)

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    # ---- conversion ----------------------------------------------------------------
    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        a = self._data
        if type(a) is not np.ndarray and not isinstance(a, np.generic):
            if not force:
                raise TypeError(f"numpy(): can't convert a {self.device} tensor to NumPy; copy "
                                f"it to the host first with .cpu()")
            return _backend.backend_of(a).to_host(a)
        return a

    def item(self):
        if type(self._data) is _MetaArray:
            raise RuntimeError("item(): a meta tensor has no data (shape and dtype only)")
        if self._data.size != 1:
            raise OpError(f"item(): only a tensor with one element can be converted to a "
                             f"Python number, got shape {tuple(self.shape)}")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def _host(self):
        """The data as a NumPy array (a copy for other devices; meta raises)."""
        a = self._data
        if type(a) is np.ndarray:
            return a
        return _backend.backend_of(a).to_host(a)

    def __array__(self, dtype=None, copy=None):
        a = self._data
        if type(a) is not np.ndarray and not isinstance(a, np.generic):
            raise TypeError(f"can't convert a {self.device} tensor to a NumPy array; copy it to "
                            f"the host first with .cpu()")
        if type(a) is not np.ndarray:  # a NumPy scalar (some 0-d results hold one)
            a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        kw = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                                ("dl_device", dl_device), ("copy", copy)) if v is not None}
        return self._data.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is "
                               f"ambiguous; use .any() or .all()")
        return bool(self._data)

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __index__(self):
        if not self.dtype.is_integer or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index (got {self.dtype}, shape {tuple(self.shape)})")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __reduce__(self):
        if type(self._data) is not np.ndarray:  # other devices pickle their own arrays
            return (_rebuild, (self._data, self.requires_grad))
        return (_rebuild, (np.array(self._data), self.requires_grad))

    def __deepcopy__(self, memo):
        t = Tensor._wrap(self._data.copy())
        t.requires_grad = self.requires_grad
        if self.grad is not None:
            t.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = t
        return t

    # ---- printing ------------------------------------------------------------------
    def __repr__(self):
        return _format(self)

    __str__ = __repr__

    def __format__(self, spec):
        # as PyTorch: a 0-d plain tensor formats as its Python number (f"{loss}" -> "0.25");
        # others (and subclasses such as Parameter) as their repr
        if self.ndim == 0 and (spec or type(self) is Tensor) and \
                type(self._data) is not _MetaArray:
            return format(self.item(), spec)
        return repr(self)


def _rebuild(arr, requires_grad):
    t = Tensor._wrap(arr)
    t.requires_grad = requires_grad
    return t


# ember.set_printoptions (as torch.set_printoptions) edits these
PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                 "sci_mode": None}


def _format(t: Tensor) -> str:
    a = t._data
    dev = _backend.device_of(a)
    if type(a) is _MetaArray:  # no values: the size, the dtype, the graph link
        extras = [f"size={tuple(a.shape)}"] + (
            [f"dtype={t.dtype!r}"] if t.dtype is not _dt.float32 else []) + (
            [f"grad_fn=<{t._node.name}Backward>"] if t._node is not None else
            ["requires_grad=True"] if t.requires_grad else [])
        return _with_suffixes("tensor(..., device='meta'", extras, len("tensor("),
                              PRINT_OPTIONS["linewidth"])
    if dev.type != "cpu":
        a = _backend.backend_of(a).to_host(a)
    extras = [f"device='{dev}'"] if dev.type != "cpu" else []
    if t.dtype not in (_dt.float32, _dt.int64, _dt.bool_, _default_complex()) or a.size == 0:
        if not (a.size == 0 and t.dtype is _dt.float32):
            extras.append(f"dtype={t.dtype!r}")
    if a.size == 0 and a.ndim > 1:
        extras.insert(0, f"size={tuple(a.shape)}")
    if t._node is not None:
        extras.append(f"grad_fn=<{t._node.name}Backward>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    kind = a.dtype.kind
    po = PRINT_OPTIONS
    summarize = a.size > po["threshold"]
    if kind == "c":
        opts = dict(separator=", ", prefix="tensor(", threshold=po["threshold"],
                    edgeitems=po["edgeitems"], max_line_width=po["linewidth"])
        body = np.array2string(a, formatter={"complex_kind": _complex_formatter(a)}, **opts)
        if summarize:  # PyTorch's inline summary mark is " ..." after the comma
            body = body.replace(", ..., ", ",  ..., ")
    else:
        vals = a
        if kind == "f" or _dt.is_floating_np(a.dtype):
            if a.dtype.itemsize < 4 or a.dtype.name == "bfloat16":
                vals = a.astype(np.float64)
            fmt = _float_formatter(_summarized(vals, po) if summarize else vals)
        else:
            fmt = _plain_formatter(_summarized(a, po) if summarize else a)
        body = "[]" if a.size == 0 else _layout(vals, fmt, len("tensor("), summarize, po)
    return _with_suffixes("tensor(" + body, extras, len("tensor("), po["linewidth"])


def _layout(vals, fmt, indent, summarize, po):
    """PyTorch's tensor layout: rows nested in brackets and indented under the first, as many
    elements a line as fit ``linewidth`` (each element padded to the widest), ``...`` in place
    of the middle of an axis longer than ``2 * edgeitems`` when summarising."""
    e = po["edgeitems"]
    if vals.ndim == 0:
        return fmt(vals.item())
    n = vals.shape[0]
    cut = summarize and n > 2 * e
    if vals.ndim == 1:
        if summarize and not e:
            items = ["..."]
        elif cut:
            items = ([fmt(v) for v in vals[:e].tolist()] + [" ..."] +
                     [fmt(v) for v in vals[n - e:].tolist()])
        else:
            items = [fmt(v) for v in vals.tolist()]
        per_line = max(1, (po["linewidth"] - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(n) if not cut else list(range(e)) + [None] + list(range(n - e, n))
    parts = ["..." if i is None else _layout(vals[i], fmt, indent + 1, summarize, po)
             for i in rows]
    return "[" + ("," + "\n" * (vals.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(body, extras, indent, linewidth):
    """``, dtype=...``/``grad_fn=...`` after the elements, each on a new line when it would
    run the last line past ``linewidth`` (as PyTorch)."""
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for x in extras:
        if last + len(x) + 2 > linewidth:
            out.append(",\n" + " " * indent + x)
            last = indent + len(x)
        else:
            out.append(", " + x)
            last += len(x) + 2
    return "".join(out) + ")"


class _Fmt:
    """One element's text, right-aligned to ``width`` (the widest element shown)."""

    def __init__(self, one, width):
        self.one, self.width = one, width

    def __call__(self, x):
        return self.one(x).rjust(self.width)


def _plain_formatter(shown):
    """Integers and booleans as Python prints them, right-aligned to the widest shown."""
    flat = np.asarray(shown).ravel().tolist()
    return _Fmt(str, max((len(str(v)) for v in flat), default=0))


def _summarized(vals, po):
    """The elements a summarised print shows (``edgeitems`` from each end of every long axis):
    PyTorch picks the float style and the column width from these only, so one tiny value
    hidden behind the ``...`` does not switch a large tensor to scientific notation."""
    e = po["edgeitems"]
    for ax, n in enumerate(vals.shape):
        if n > 2 * e:
            vals = np.take(vals, np.r_[0:e, n - e:n], axis=ax)
    return vals


def _float_formatter(shown):
    """PyTorch's float element style for the values ``shown``: integral values print as
    ``3.``; scientific notation when the largest nonzero magnitude is over 1e8, the smallest
    under 1e-4 (not for integral values) or their ratio over 1000; every element right-aligned
    to the widest nonzero finite one."""
    prec = PRINT_OPTIONS["precision"]
    flat = np.asarray(shown, dtype=np.float64).ravel()
    finite = flat[np.isfinite(flat)]
    nz = np.abs(finite[finite != 0])
    integral = bool(np.all(finite == np.ceil(finite)))
    sci = False
    if nz.size:
        big, small = nz.max(), nz.min()
        sci = bool(big / small > 1000.0 or big > 1.0e8 or (not integral and small < 1.0e-4))
    if PRINT_OPTIONS["sci_mode"] is not None:
        sci = bool(PRINT_OPTIONS["sci_mode"])

    def one(x):
        if sci:
            return f"{x:.{prec}e}"
        if integral:
            return f"{x:.0f}." if np.isfinite(x) else f"{x:.0f}"
        return f"{x:.{prec}f}"
    return _Fmt(one, max((len(one(x)) for x in finite[finite != 0]), default=0))


def _default_complex():
    return _dt.default_complex_dtype() if _dt.get_default_dtype() is _dt.float32 else None


def _complex_formatter(a):
    """PyTorch's look for complex elements: ``1.+2.j``, ``0.5000-1.2500j``; the real parts and
    the imaginary parts each follow the float rules on their own (integral values print as
    ``1.``, small or large ones in scientific notation)."""
    re_part = _part_formatter(a.real.ravel().astype(np.float64))
    im_part = _part_formatter(a.imag.ravel().astype(np.float64))

    def fmt(z):
        im = im_part(abs(z.imag)) if not np.isnan(z.imag) else "nan"
        sign = "-" if np.signbit(z.imag) and not np.isnan(z.imag) else "+"
        return f"{re_part(z.real)}{sign}{im}j"
    return fmt


def _part_formatter(parts):
    finite = parts[np.isfinite(parts)]
    prec = PRINT_OPTIONS["precision"]
    if np.all(finite == np.round(finite)) and (not finite.size or np.abs(finite).max() < 1e8):
        return lambda x: f"{x:.0f}." if np.isfinite(x) else f"{x}"
    nz = finite[finite != 0]
    sci = bool(finite.size and (np.abs(finite).max() >= 1e8 or
                                (nz.size and np.abs(nz).min() < 1e-4)))
    if PRINT_OPTIONS["sci_mode"] is not None:
        sci = PRINT_OPTIONS["sci_mode"]
    return (lambda x: f"{x:.{prec}e}") if sci else (lambda x: f"{x:.{prec}f}")


from ..backend.meta import MetaArray as _MetaArray  # noqa: E402
