"""ember.where on large C-ordered operands selects bits (ops/elementwise.py, _bit_select:
y ^ ((x ^ y) & m)) instead of np.where's branch per entry: the result must be np.where's,
bit for bit (NaN payloads and signs, -0.0, infinities), dtype and layout included, and the
cases it declines must go to np.where unchanged."""
import numpy as np
import pytest

import ember
from ember.ops.elementwise import _BIT_SELECT_MIN, _bit_select, _select_impl

N = _BIT_SELECT_MIN + 37


def _operands(dtype, rng):
    x = (rng.standard_normal(N) * 100).astype(dtype)
    y = (rng.standard_normal(N) * 100).astype(dtype)
    if np.dtype(dtype).kind == "f":
        special = np.array([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf,
                            np.finfo(dtype).tiny / 4], dtype)
        x[:7], y[-7:] = special, special
    return x, y, rng.random(N) > 0.5


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(np.ascontiguousarray(a).view(f"u{a.itemsize}"),
                                  np.ascontiguousarray(b).view(f"u{b.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64,
                                   np.uint16])
@pytest.mark.parametrize("form", ["arrays", "y 0-d", "x 0-d", "y zero", "x zero",
                                  "y python", "x python nan"])
def test_bit_selection_is_np_where(dtype, form):
    rng = np.random.default_rng(7)
    x, y, c = _operands(dtype, rng)
    kind = np.dtype(dtype).kind
    if form == "y 0-d":
        y = np.asarray(y[3])
    elif form == "x 0-d":
        x = np.asarray(x[5])
    elif form == "y zero":
        y = np.zeros((), dtype)
    elif form == "x zero":
        x = np.zeros((), dtype)
    elif form == "y python":
        y = 3
    elif form == "x python nan":
        x = float("nan") if kind == "f" else 7
    got = _bit_select(c, x, y)
    assert got is not None
    _same(got, np.where(c, x, y))
    assert got.flags.c_contiguous


def test_declined_cases_are_np_where():
    rng = np.random.default_rng(8)
    x, y, c = _operands(np.float32, rng)
    small = slice(0, _BIT_SELECT_MIN - 1)
    cases = [(c[small], x[small], y[small]),  # too small
             (c[::-1], x[::-1], y[::-1]),  # not C-ordered
             (c.reshape(-1, 1)[:64] | np.zeros((64, 1024), bool), x[:1024], 0.0),  # broadcast
             (c, x, y.astype(np.float64)),  # mixed dtypes
             (c, x, 0.1),  # not exact in float32: np.where's own weak scalar
             (c.astype(np.int8), x, y)]  # not a boolean mask
    for cc, xx, yy in cases:
        assert _bit_select(cc, xx, yy) is None
        _same(_select_impl(cc, xx, yy), np.where(cc, xx, yy))


def test_where_eager_and_jit_give_np_where():
    rng = np.random.default_rng(9)
    x, y, c = _operands(np.float32, rng)
    want = np.where(c, x, y)
    tc, tx, ty = ember.tensor(c), ember.tensor(x), ember.tensor(y)
    _same(ember.where(tc, tx, ty).numpy(), want)
    _same(ember.jit(ember.where)(tc, tx, ty).numpy(), want)
    _same(ember.jit(lambda a: ember.where(a > 0, a, 0.0))(tx).numpy(),
          np.where(x > 0, x, np.float32(0)))
