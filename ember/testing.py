"""``ember.testing``: PyTorch's ``torch.testing.assert_close`` (and ``make_tensor``)."""
from __future__ import annotations

import collections.abc as _abc
import numbers

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .core.creation import tensor as _tensor

__all__ = ["assert_close", "make_tensor"]

# PyTorch's default (rtol, atol) per dtype; exact for integers and bools
_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
        "float64": (1e-7, 1e-7)}


def _tol(dtype):
    return _TOL.get(dtype.name if isinstance(dtype, _dt.DType) else str(dtype), (0.0, 0.0))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` (tensors, numbers, or
    sequences/mappings of them) are close: ``|actual - expected| <= atol + rtol * |expected|``
    elementwise, with the same shape (and dtype, unless ``check_dtype=False``). Default
    tolerances follow the dtype, as PyTorch's (float32: rtol 1.3e-6, atol 1e-5; exact for
    integers). ``rtol`` and ``atol`` must be given together.

    >>> ember.testing.assert_close(ember.tensor([1., 2.]), ember.tensor([1., 2.000001]))
    >>> ember.testing.assert_close(ember.tensor([1., 2.]), ember.tensor([1., 2.1]))
    Traceback (most recent call last):
    ...
    AssertionError: Tensor-likes are not close!
    ...
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"assert_close: rtol and atol must both be given or both omitted, got "
                         f"rtol={rtol}, atol={atol}")
    _compare(actual, expected, "", dict(rtol=rtol, atol=atol, equal_nan=equal_nan,
                                        check_dtype=check_dtype, msg=msg))


def _fail(text, opts, where):
    m = opts["msg"]
    if callable(m):
        text = m(text)
    elif m is not None:
        text = m
    raise AssertionError(text + (f"\nThe failure occurred for item {where}" if where else ""))


def _compare(actual, expected, where, opts):
    if isinstance(actual, Tensor) or isinstance(expected, Tensor):
        if not (isinstance(actual, Tensor) and isinstance(expected, Tensor)):
            raise TypeError(f"assert_close: no comparison for inputs of types "
                            f"{type(actual).__name__} and {type(expected).__name__}"
                            f"{' at ' + where if where else ''}; compare a tensor with a tensor "
                            f"(e.g. ember.tensor(value))")
        return _compare_arrays(actual, expected, actual.dtype, expected.dtype, where, opts)
    if isinstance(actual, (numbers.Number, np.generic)) and \
            isinstance(expected, (numbers.Number, np.generic)):
        if opts["check_dtype"] and type(actual) is not type(expected):
            _fail(f"The values for attribute 'dtype' do not match: {type(actual).__name__} != "
                  f"{type(expected).__name__}.", opts, where)
        a, e = _tensor(actual), _tensor(expected)
        return _compare_arrays(a, e, a.dtype, e.dtype, where, opts, scalars=True)
    if isinstance(actual, _abc.Mapping) and isinstance(expected, _abc.Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match: {sorted(map(str, actual))} != "
                  f"{sorted(map(str, expected))}", opts, where)
        for k in actual:
            _compare(actual[k], expected[k], f"{where}[{k!r}]", opts)
        return
    if isinstance(actual, _abc.Sequence) and isinstance(expected, _abc.Sequence) and \
            not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                  opts, where)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]", opts)
        return
    raise TypeError(f"assert_close: no comparison for inputs of types {type(actual).__name__} "
                    f"and {type(expected).__name__}{' at ' + where if where else ''}")


def _compare_arrays(actual, expected, adt, edt, where, opts, scalars=False):
    if tuple(actual.shape) != tuple(expected.shape):
        _fail(f"The values for attribute 'shape' do not match: {tuple(actual.shape)} != "
              f"{tuple(expected.shape)}.", opts, where)
    if opts["check_dtype"] and adt != edt:
        _fail(f"The values for attribute 'dtype' do not match: {adt!r} != {edt!r}.", opts,
              where)
    rtol, atol = opts["rtol"], opts["atol"]
    if rtol is None:
        r1, a1 = _tol(adt)
        r2, a2 = _tol(edt)
        rtol, atol = max(r1, r2), max(a1, a2)
    a = np.asarray(actual.detach().numpy()).astype(np.float64) if adt != _dt.bool_ else \
        np.asarray(actual.numpy())
    e = np.asarray(expected.detach().numpy()).astype(np.float64) if edt != _dt.bool_ else \
        np.asarray(expected.numpy())
    if a.dtype == bool or e.dtype == bool:
        ok = a == e
    else:
        with np.errstate(invalid="ignore"):
            ok = np.abs(a - e) <= atol + rtol * np.abs(e)
        ok |= a == e  # equal infinities
        if opts["equal_nan"]:
            ok |= np.isnan(a) & np.isnan(e)
    if ok.all():
        return
    bad = int((~ok).sum())
    kind = "Scalars" if scalars else "Tensor-likes"
    lines = [f"{kind} are not close!", ""]
    if scalars:
        lines.append(f"Expected {e.item()} but got {a.item()}.")
        with np.errstate(invalid="ignore"):
            lines.append(f"Absolute difference: {abs(a - e).item()} (up to {atol} allowed)")
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = np.abs(a - e)
            rel = diff / np.abs(e)
        diff = np.where(ok, 0, np.nan_to_num(diff, nan=np.inf))
        rel = np.where(ok, 0, np.nan_to_num(rel, nan=np.inf))
        ia = np.unravel_index(np.argmax(diff), a.shape) if a.ndim else ()
        ir = np.unravel_index(np.argmax(rel), a.shape) if a.ndim else ()
        lines += [f"Mismatched elements: {bad} / {a.size} ({100.0 * bad / a.size:.1f}%)",
                  f"Greatest absolute difference: {diff[ia]} at index {tuple(map(int, ia))} "
                  f"(up to {atol} allowed)",
                  f"Greatest relative difference: {rel[ir]} at index {tuple(map(int, ir))} "
                  f"(up to {rtol} allowed)"]
    _fail("\n".join(lines), opts, where)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """A tensor of ``shape`` filled with uniform values in ``[low, high)`` (defaults: -9..9
    for floats and signed ints, 0..10 for unsigned, as ``torch.testing.make_tensor``).

    >>> ember.testing.make_tensor(2, 3, dtype=ember.int64, low=1, high=2)
    tensor([[1, 1, 1],
            [1, 1, 1]])
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dt = _dt.as_dtype(dtype)
    rng = np.random.default_rng()
    if dt == _dt.bool_:
        arr = rng.integers(0, 2, shape).astype(bool)
    elif dt.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        arr = rng.uniform(lo, hi, shape)
        if exclude_zero:
            arr[arr == 0] = np.finfo(np.float32).tiny
    else:
        lo = (0 if dt.name.startswith("uint") else -9) if low is None else int(low)
        hi = 10 if high is None else int(high)
        arr = rng.integers(lo, hi, shape)
        if exclude_zero:
            arr[arr == 0] = 1
    t = _tensor(np.asarray(arr).astype(dt.np))
    return t.requires_grad_(True) if requires_grad else t
