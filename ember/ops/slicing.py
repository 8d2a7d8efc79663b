"""Shape ops built from slices: split, chunk, narrow, unbind, flip, roll, repeat, tile, and
padding (``pad``: a primitive for constant padding; reflect/replicate/circular gather).

All but ``pad`` compose from the indexing and shape primitives, so their gradient, JVP and
batching rules come from those."""
from __future__ import annotations

import itertools

import numpy as np

from ..backend import namespace
from ..core.primitive import Aval, Primitive, bind
from ..core.tensor import Tensor
from ._util import canon_dim, canon_dims
from .elementwise import as_value, moveaxis_to_front
from .indexing import getitem, getitem_basic_p, cat
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []

_ALL = ("s", None, None, 1)


def _slice_dim(x, dim, start, stop, step=1):
    spec = (_ALL,) * dim + (("s", start, stop, step),)
    return bind(getitem_basic_p, x, spec=spec)


def narrow(input, dim, start, length):
    """The slice ``start:start+length`` of ``dim`` (a view).

    >>> ember.narrow(ember.arange(6), 0, 2, 3)
    tensor([2, 3, 4])
    """
    x = as_value(input)
    d = canon_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(f"narrow: start {start} with length {length} is out of range for dim "
                         f"{d} of size {n} (shape {tuple(x.shape)})")
    return _slice_dim(x, d, start, start + int(length))


def _split_impl(x, sizes, dim):
    bounds = list(itertools.accumulate(sizes))[:-1]
    return namespace(x).split(x, bounds, axis=dim)


def _split_vjp(ct, out, x, sizes, dim):
    from .creation_ops import zeros
    cts = ct if isinstance(ct, (tuple, list)) else (ct,)
    parts = []
    for c, n in zip(cts, sizes):
        if c is None:
            shp = list(x.shape)
            shp[dim] = n
            c = zeros(tuple(shp), dtype=x.dtype)
        parts.append(c)
    return (cat(parts, dim) if len(parts) > 1 else parts[0],)


def _split_batch(args, dims, sizes, dim):
    return bind(split_p, moveaxis_to_front(args[0], dims[0]), sizes=sizes, dim=dim + 1), 0


split_p = Primitive(
    "split", _split_impl, multiple_results=True, linear=True, view=True,
    shape=lambda x, sizes, dim: [Aval(tuple(n if i == dim else s for i, s in enumerate(x.shape)),
                                      x.dtype) for n in sizes],
    vjp=_split_vjp,
    jvp=lambda p, t, out, sizes, dim: bind(split_p, t[0], sizes=sizes, dim=dim),
    batch=_split_batch)
split_p.vjp_accepts_none = True  # unused pieces need no zeros until the VJP concatenates


def _split_sizes(x, d, sizes):
    """One split primitive: its VJP is a single concatenation (slicing a long tensor piece by
    piece would make every piece's VJP allocate the whole tensor)."""
    if len(sizes) == 1:
        return (x,)
    return tuple(bind(split_p, x, sizes=tuple(sizes), dim=d))


def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (the last may be smaller) or of the given sizes.

    >>> ember.split(ember.arange(5), 2)
    (tensor([0, 1]), tensor([2, 3]), tensor([4]))
    >>> ember.split(ember.arange(5), [1, 4])
    (tensor([0]), tensor([1, 2, 3, 4]))
    """
    x = as_value(tensor)
    d = canon_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s <= 0 and n:
            raise OpError(f"split: split_size must be positive, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = [int(v) for v in split_size_or_sections]
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise OpError(f"split: sections {sizes} must be non-negative and sum to the size "
                             f"{n} of dim {d} (shape {tuple(x.shape)})")
    return _split_sizes(x, d, sizes)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) (fewer if that divides early).

    >>> ember.chunk(ember.arange(5), 2)
    (tensor([0, 1, 2]), tensor([3, 4]))
    """
    x = as_value(input)
    if int(chunks) <= 0:
        raise OpError(f"chunk: chunks must be positive, got {chunks}")
    d = canon_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    return split(x, max(-(-n // int(chunks)), 1), d)


def tensor_split(input, indices_or_sections, dim=0):
    """Splits into ``n`` nearly equal parts (the first ones one longer), or at the given
    indices.

    >>> ember.tensor_split(ember.arange(5), 3)
    (tensor([0, 1]), tensor([2, 3]), tensor([4]))
    >>> ember.tensor_split(ember.arange(5), [1, 4])
    (tensor([0]), tensor([1, 2, 3]), tensor([4]))
    """
    x = as_value(input)
    d = canon_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    if isinstance(indices_or_sections, Tensor):  # a 0-d count or a 1-d list of indices
        v = indices_or_sections
        if v.dtype.is_floating_point or v.dtype.is_complex or v.ndim > 1:
            raise OpError(f"tensor_split: indices_or_sections must be an integer tensor of "
                          f"0 or 1 dims, got {v.dtype} of shape {tuple(v.shape)}")
        indices_or_sections = int(v.item()) if v.ndim == 0 else [int(i) for i in v.tolist()]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
    else:
        bounds = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return _split_sizes(x, d, sizes)


def unbind(input, dim=0):
    """The slices along ``dim``, with that dim removed.

    >>> ember.unbind(ember.tensor([[1, 2], [3, 4]]))
    (tensor([1, 2]), tensor([3, 4]))
    """
    x = as_value(input)
    d = canon_dim(dim, x.ndim, "unbind")
    shp = tuple(x.shape)
    rest = shp[:d] + shp[d + 1:]
    if shp[d] == 1:
        return (x.reshape(rest),)
    return tuple(p.reshape(rest) for p in _split_sizes(x, d, [1] * shp[d]))


def flip(input, dims):
    """Reverse the order of elements along ``dims``.

    >>> ember.flip(ember.tensor([[1, 2], [3, 4]]), [0])
    tensor([[3, 4],
            [1, 2]])
    """
    x = as_value(input)
    ds = canon_dims(dims, x.ndim, "flip")
    spec = tuple(("s", None, None, -1) if i in ds else _ALL for i in range(x.ndim))
    return bind(getitem_basic_p, x, spec=spec)


def fliplr(input):
    """``input`` with the order of its columns (dim 1) reversed.

    >>> ember.fliplr(ember.tensor([[1, 2], [3, 4]]))
    tensor([[2, 1],
            [4, 3]])
    """
    return flip(input, 1)


def flipud(input):
    """``input`` with the order of its rows (dim 0) reversed.

    >>> ember.flipud(ember.tensor([[1, 2], [3, 4]]))
    tensor([[3, 4],
            [1, 2]])
    """
    return flip(input, 0)


def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (the flattened tensor when dims is None).

    >>> ember.roll(ember.tensor([1, 2, 3, 4]), 1)
    tensor([4, 1, 2, 3])
    >>> ember.roll(ember.tensor([[1, 2], [3, 4]]), 1, dims=1)
    tensor([[2, 1],
            [4, 3]])
    """
    x = as_value(input)
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(tuple(x.shape))
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise OpError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for s, d in zip(shifts, dims):
        d = canon_dim(d, x.ndim, "roll")
        n = x.shape[d]
        k = int(s) % n if n else 0
        if k:
            x = cat([_slice_dim(x, d, n - k, n), _slice_dim(x, d, 0, n - k)], d)
    return x


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along each dim (PyTorch's ``Tensor.repeat``).

    >>> ember.tensor([1, 2]).repeat(2, 2)
    tensor([[1, 2, 1, 2],
            [1, 2, 1, 2]])
    """
    x = as_value(input)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < x.ndim:
        raise OpError(f"repeat: got {len(sizes)} repeat sizes for a tensor with {x.ndim} "
                         f"dims; give at least one per dim")
    shp = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    x = x.reshape(shp)
    inter = []
    for r, s in zip(sizes, shp):
        inter += [1, s]
    big = []
    for r, s in zip(sizes, shp):
        big += [r, s]
    out = x.reshape(tuple(inter)).expand(tuple(big)).reshape(
        tuple(r * s for r, s in zip(sizes, shp)))
    d = out._data if type(out) is Tensor else None  # (a tracer under a transform)
    if isinstance(d, np.ndarray) and (not d.flags.writeable or np.may_share_memory(d, x._data)):
        # NumPy kept a (broadcast) view; PyTorch's repeat returns new, writable memory
        out = out.clone()
    return out


def tile(input, dims):
    """Like ``repeat``, but fewer sizes than dims are padded with ones on the left.

    >>> ember.tile(ember.tensor([1, 2]), (2,))
    tensor([1, 2, 1, 2])
    """
    x = as_value(input)
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (flattened when None).
    ``output_size``, when given, must be the length of the result along ``dim``.

    >>> ember.repeat_interleave(ember.tensor([1, 2]), 2)
    tensor([1, 1, 2, 2])
    """
    x = as_value(input)
    if output_size is not None:
        out = repeat_interleave(x, repeats, dim)
        got = out.shape[0 if dim is None else canon_dim(dim, x.ndim, "repeat_interleave")]
        if got != int(output_size):
            raise OpError(f"repeat_interleave: output_size={output_size} but the repeats "
                          f"give {got} entries along dim {dim}")
        return out
    if dim is None:
        x, dim = x.reshape(-1), 0
    d = canon_dim(dim, x.ndim, "repeat_interleave")
    if isinstance(repeats, (int, np.integer)):
        shp = tuple(x.shape)
        y = x.unsqueeze(d + 1).expand(shp[:d + 1] + (int(repeats),) + shp[d + 1:])
        return y.reshape(shp[:d] + (shp[d] * int(repeats),) + shp[d + 1:])
    idx = np.repeat(np.arange(x.shape[d]), np.asarray(as_value(repeats)._data))
    return getitem(x, (slice(None),) * d + (idx,))


# ---- padding -------------------------------------------------------------------------

def _pad_impl(x, pads, value):
    if type(x) is not np.ndarray:
        return namespace(x).pad(x, pads, mode="constant", constant_values=value)
    # np.pad's values and memory order (F for an F-ordered array), in one fill and one copy
    # (np.pad's per-axis border passes: a convolution's input (16, 64, 16, 16) 0.19 -> 0.13
    # ms, (16, 3, 64, 64) 0.13 -> 0.05)
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads))
    order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
    try:
        zero = value == 0 and not np.signbit(value)
    except TypeError:  # (a complex value)
        zero = False
    if zero:
        out = np.zeros(shape, x.dtype, order)
    else:
        out = np.empty(shape, x.dtype, order)
        out[...] = np.asarray(value)[()]  # (as np.pad assigns it: a NumPy scalar)
    out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pads))] = x
    return out


def _pad_vjp(ct, out, x, pads, value):
    spec = tuple(("s", lo, lo + n, 1) for (lo, _), n in zip(pads, x.shape))
    return (bind(getitem_basic_p, ct, spec=spec),)


pad_p = Primitive(
    "pad", _pad_impl, allocating=True,
    shape=lambda x, pads, value: Aval(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads)),
                                      x.dtype),
    vjp=_pad_vjp,
    jvp=lambda p, t, out, pads, value: bind(pad_p, t[0], pads=pads, value=0),
    batch=lambda args, dims, pads, value: (
        bind(pad_p, moveaxis_to_front(args[0], dims[0]), pads=((0, 0),) + pads, value=value), 0))
pad_p.vjp_reads = ()  # the rule reads x's shape only


def _pad_index(n, lo, hi, mode):
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise OpError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the "
                             f"dim size {n}")
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise OpError(f"pad: circular padding ({lo}, {hi}) can't exceed the dim size {n}")
        return i % n
    raise OpError(f"pad: unknown mode {mode!r}; use 'constant', 'reflect', 'replicate' or "
                     f"'circular'")


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_prev, ...)``
    as PyTorch's ``F.pad``. Negative amounts crop.

    >>> ember.nn.functional.pad(ember.tensor([[1., 2.]]), (1, 2))
    tensor([[0., 1., 2., 0., 0.]])
    >>> ember.nn.functional.pad(ember.tensor([[1., 2.]]), (0, 0, 1, 0), value=9.0)
    tensor([[9., 9.],
            [1., 2.]])
    """
    x = as_value(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise OpError(f"pad: padding {pad} must have an even length of at most 2 * ndim = "
                         f"{2 * x.ndim} for input of shape {tuple(x.shape)}")
    pairs = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        pairs[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode == "replicate" and any(lo < 0 or hi < 0 for lo, hi in pairs):
        # negative amounts: output j takes input clamp(j - lo) (PyTorch), not crop-then-pad
        for d, (lo, hi) in enumerate(pairs):
            if lo or hi:
                n = x.shape[d]
                if n + lo + hi < 0:
                    raise OpError(f"pad: padding ({lo}, {hi}) leaves a negative size for "
                                  f"dim {d} of size {n}")
                idx = np.clip(np.arange(-lo, n + hi), 0, n - 1)
                x = getitem(x, (slice(None),) * d + (idx,))
        return x
    if any(lo < 0 or hi < 0 for lo, hi in pairs):  # crop first
        spec = tuple(("s", max(-lo, 0), n - max(-hi, 0), 1) for (lo, hi), n in
                     zip(pairs, x.shape))
        x = bind(getitem_basic_p, x, spec=spec)
        pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        if all(p == (0, 0) for p in pairs):
            return x
        return bind(pad_p, x, pads=tuple(pairs), value=0 if value is None else value)
    if value not in (None, 0):
        raise OpError(f"pad: value is only used with mode='constant', got mode={mode!r}")
    for d, (lo, hi) in enumerate(pairs):
        if lo or hi:
            x = getitem(x, (slice(None),) * d + (_pad_index(x.shape[d], lo, hi, mode),))
    return x


for _f in (narrow, split, chunk, tensor_split, unbind, flip, fliplr, flipud, roll, repeat,
           tile, repeat_interleave):
    export(_f, __all__)
    method(_f)
export(pad, __all__)
