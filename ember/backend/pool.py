"""A caching pool for the CPU backend's large arrays: a block whose arrays have all died is
kept and handed out again for the next array of its size, as a caching allocator does.

Why: glibc's malloc serves large arrays with fresh ``mmap`` calls, or from the top of its
heap, which it trims back to the OS after frees; either way a training step's arrays (the same
sizes every step) page-fault in anew each step. On a virtual machine those faults cost more
than the arithmetic (the compiled LeNet step at batch 32, one thread: ~1450 faults, +40% CPU).
``keep_freed_memory()`` cures it by changing glibc's settings for the whole process (PyTorch
and JAX in it too), so importing ember does not call it; this pool cures it for the arrays
ember itself allocates, and leaves the process's allocator as it is.

Which arrays: those the CPU namespace's ``empty``/``zeros``/``empty_like``/``zeros_like``/
``ascontiguousarray`` make (every kernel reaches them through ``namespace(x)``) and the
results jit plans direct into a pooled buffer (``out=``), from ``MIN_BYTES`` up. How a block
comes back: each array is a fresh ``np.frombuffer`` array over the block's memoryview, so
NumPy's views of it have it for base (the collapse of view bases stops at an array whose base
is not an array); a weak reference to it returns the block to the free list when the last
view dies. ``a.base`` of such an array is that memoryview, not None: :func:`owns` tells it
from a view. So a block is reused only after every array that could read or write it is gone: no
aliasing, whatever escapes (results returned to the user, saved for the backward, donated).

Free blocks are kept per exact size (rounded to 64 bytes; a training loop repeats its
shapes), at most ``config.cache_bytes`` in all (beyond it a freed block goes back to malloc).
:func:`empty_cache` releases them; ``EMBER_POOL=0`` turns the pool off.
"""
from __future__ import annotations

import os
import weakref
from math import prod as _prod

import numpy as np

_nd = np.ndarray
_np_empty = np.empty
_frombuffer = np.frombuffer
_dtype = np.dtype
_ref = weakref.ref

MIN_BYTES = 1 << 16  # smaller arrays come from malloc's bins (no trimming, no mmap)


class config:
    """``enabled``: whether the CPU namespace's allocations use the pool;
    ``cache_bytes``: the most bytes of free blocks kept (EMBER_POOL_CACHE_MB);
    ``cache_first``: keep a size's first freed block too (see ``_seen``; :func:`huge_only`)."""
    enabled = os.environ.get("EMBER_POOL", "1") != "0"
    cache_bytes = int(float(os.environ.get("EMBER_POOL_CACHE_MB", "2048")) * (1 << 20))
    cache_first = False


_free: dict = {}  # block bytes -> [(raw, memoryview), ...] free blocks
_live: dict = {}  # id(weakref) -> (weakref, block bytes, (raw, memoryview))
_stats = {"cached": 0, "hits": 0, "misses": 0}
# block sizes freed once: the first block of each size is handed back to malloc when it dies,
# as every large array was before the pool. glibc raises its mmap threshold (and with it its
# trim threshold) to the size of a freed mmapped block, so the arrays ember does not pool
# (eager ufunc results) are then served from a heap that is not trimmed each step, as before;
# caching every block from the first would leave glibc at its small default thresholds and
# those arrays page-faulting anew each step (eager LeNet: 0 -> 409 faults per step).
_seen: set = set()


def _release(wr, _live=_live, _free=_free, _stats=_stats, _seen=_seen, config=config):
    got = _live.pop(id(wr), None)
    if got is None:
        return
    _, n, blk = got
    if n not in _seen and not config.cache_first:  # the first block of a size goes back
        _seen.add(n)                                  # to malloc (see _seen)
        return
    if _stats["cached"] + n > config.cache_bytes:
        return  # (the block's memory goes back to malloc with it)
    _stats["cached"] += n
    lst = _free.get(n)
    if lst is None:
        lst = _free.setdefault(n, [])
    lst.append(blk)


class _Block(np.ndarray):
    """A pool block's bytes (its own type: :func:`owns` recognises a pooled array by it)."""


def _take(n):
    """A block of ``n`` bytes (a multiple of 64), as (block, memoryview): a free one, else a
    new one."""
    lst = _free.get(n)
    if lst:
        try:
            blk = lst.pop()
        except IndexError:  # (another thread took the last one)
            blk = None
        if blk is not None:
            _stats["cached"] -= n
            _stats["hits"] += 1
            return blk
    _stats["misses"] += 1
    raw = _np_empty(n, np.uint8).view(_Block)
    return raw, memoryview(raw)


def _handout(shape, dt, count, nbytes):
    """An array of ``shape`` over a pooled block: made by ``np.frombuffer`` and given its shape
    in place, so that its base is not an array and NumPy's views of it have it for base (as
    views of a fresh array have that array); the block returns to the pool when it dies."""
    n = (nbytes + 63) & -64
    blk = _take(n)
    a = _frombuffer(blk[1], dt, count)
    a.shape = shape
    wr = _ref(a, _release)
    _live[id(wr)] = (wr, n, blk)
    return a


def owns(a) -> bool:
    """Whether ``a`` is an array the pool handed out (not a view of one): it has its memory
    to itself as an array with no base would."""
    b = a.base
    return type(b) is memoryview and type(b.obj) is _Block


def _dense_perm(x):
    """The order of ``x``'s axes, outermost first, in which it is C-contiguous, or None."""
    st = x.strides
    perm = sorted(range(len(st)), key=lambda i: -st[i])
    return perm if x.transpose(perm).flags.c_contiguous else None


def same_layout(b, *full):
    """Whether the NumPy arrays ``b`` and ``full`` (of one shape) are laid out in one memory
    order, a permutation of C order without gaps: a ufunc over ``full`` would make its result
    in that order, so writing it into ``b`` changes no later sum's order."""
    if type(b) is not _nd:
        return False
    perm = _dense_perm(b)
    if perm is None:
        return False
    for y in full:
        if type(y) is not _nd or not y.transpose(perm).flags.c_contiguous:
            return False
    return True


def out_like(shape, dt, count, nbytes, *full):
    """A pooled array of ``shape`` (``count`` elements, ``nbytes`` bytes) and dtype ``dt``
    laid out as a ufunc lays out its result when it makes it: in the memory order of its
    operands of the result's shape (``full``: each C-ordered, or all one permutation of C
    order). None when they are not NumPy arrays or their layouts differ (the ufunc then makes
    its result itself)."""
    if not full:
        return _handout(shape, dt, count, nbytes)
    x = full[0]
    if type(x) is not _nd:
        return None
    if x.flags.c_contiguous:
        for y in full:
            if not y.flags.c_contiguous:
                return None
        return _handout(shape, dt, count, nbytes)
    perm = _dense_perm(x)
    if perm is None:
        return None
    for y in full[1:]:
        if not y.transpose(perm).flags.c_contiguous:
            return None
    inv = [0] * len(perm)
    for i, q in enumerate(perm):
        inv[q] = i
    return _handout(tuple(shape[q] for q in perm), dt, count, nbytes).transpose(inv)


def empty(shape, dtype=float, order="C", **kw):
    """``np.empty``, from the pool for C-ordered arrays of ``MIN_BYTES`` or more."""
    if order == "C" and not kw and config.enabled:
        count = shape if type(shape) is int else _prod(shape)
        dt = _dtype(dtype)
        nbytes = count * dt.itemsize
        if nbytes >= MIN_BYTES and not dt.hasobject:
            return _handout(shape, dt, count, nbytes)
    return _np_empty(shape, dtype, order, **kw)


def zeros(shape, dtype=float, order="C", **kw):
    """``np.zeros``, from the pool (filled with zeros) for C-ordered arrays of ``MIN_BYTES``
    or more."""
    if order == "C" and not kw and config.enabled:
        count = shape if type(shape) is int else _prod(shape)
        dt = _dtype(dtype)
        nbytes = count * dt.itemsize
        if nbytes >= MIN_BYTES and not dt.hasobject:
            a = _handout(shape, dt, count, nbytes)
            a.fill(0)
            return a
    return np.zeros(shape, dtype, order, **kw)


def _like_ok(a, dtype, order, subok, shape):
    return type(a) is _nd and subok and (order == "C" or order == "K" and a.flags.c_contiguous)


def empty_like(a, dtype=None, order="K", subok=True, shape=None):
    """``np.empty_like``, from the pool when the result is C-ordered (a C-ordered prototype,
    ``order="C"`` or a new ``shape``)."""
    if config.enabled and _like_ok(a, dtype, order, subok, shape):
        return empty(a.shape if shape is None else shape, a.dtype if dtype is None else dtype)
    return np.empty_like(a, dtype, order, subok, shape)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    """``np.zeros_like``, from the pool as :func:`empty_like`."""
    if config.enabled and _like_ok(a, dtype, order, subok, shape):
        return zeros(a.shape if shape is None else shape, a.dtype if dtype is None else dtype)
    return np.zeros_like(a, dtype, order, subok, shape)


def ascontiguousarray(a, dtype=None, **kw):
    """``np.ascontiguousarray``: a copy into a pooled array when ``a`` is a large NumPy
    array not C-contiguous (of its own dtype)."""
    if config.enabled and not kw and type(a) is _nd and not a.flags.c_contiguous and \
            (dtype is None or _dtype(dtype) == a.dtype) and a.nbytes >= MIN_BYTES:
        out = empty(a.shape, a.dtype)
        np.copyto(out, a)
        return out
    return np.ascontiguousarray(a, dtype, **kw)


HUGE_BYTES = 32 << 20


def huge_only(min_bytes=HUGE_BYTES):
    """The pool beside a malloc that keeps freed memory (``keep_freed_memory``): only arrays
    of ``min_bytes`` or more, each freed block kept for the next array of its size from its
    first death on. Such a malloc needs no pool against page faults, but it reuses a freed
    huge block for whatever comes next: VGG-11's 392 MiB classifier gradient, freed by
    ``zero_grad``, had the next forward's arrays carved out of it, and the next backward's
    gradient took 392 MiB of fresh memory (eager peak 1972 MB; in the pool: 1709). A pool
    turned off (``EMBER_POOL=0``) stays off."""
    global MIN_BYTES
    empty_cache()
    MIN_BYTES = min_bytes
    config.cache_first = True


def empty_cache():
    """Hand every free block back to malloc (``torch.cuda.empty_cache``'s counterpart); the
    blocks of arrays still alive come back to the pool when they die."""
    for lst in list(_free.values()):
        while lst:
            try:
                lst.pop()
            except IndexError:
                break
    _free.clear()
    _stats["cached"] = 0


def stats() -> dict:
    """``cached``: bytes in free blocks; ``live``: blocks in use; ``hits``/``misses``: blocks
    reused / newly allocated since the start."""
    return {"cached": _stats["cached"], "live": len(_live), "hits": _stats["hits"],
            "misses": _stats["misses"]}
