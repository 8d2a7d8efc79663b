"""The constant pad's kernel (ops/slicing._pad_impl) fills once and copies once instead of
calling np.pad; it must give np.pad's values, dtype and memory order, and raise where np.pad
raises."""
import warnings

import numpy as np
import pytest

from ember.ops.slicing import _pad_impl

_CASES = [((3, 4), ((1, 2), (0, 3))), ((2, 3, 4, 5), ((0, 0), (0, 0), (1, 1), (2, 0))),
          ((5,), ((3, 3),)), ((0, 3), ((1, 1), (2, 2)))]


def _raw(a):
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "uint8", "bool",
                                   "complex64"])
@pytest.mark.parametrize("value", [0, -0.0, 1.5, -3, 300, True, np.float32(-0.0), 2 + 1j,
                                   float("nan")], ids=repr)
@pytest.mark.parametrize("layout", ["C", "F", "reversed"])
def test_pad_matches_np_pad(dtype, value, layout):
    rng = np.random.default_rng(0)
    for shape, pads in _CASES:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        if layout == "F":
            x = np.asfortranarray(x)
        elif layout == "reversed":
            x = x[::-1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (casts that np.pad warns about too)
            try:
                want = np.pad(x, pads, mode="constant", constant_values=value)
            except (TypeError, ValueError, OverflowError) as e:
                with pytest.raises(type(e)):
                    _pad_impl(x, pads, value)
                continue
            got = _pad_impl(x, pads, value)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(_raw(got), _raw(want))
        assert (got.flags.c_contiguous, got.flags.f_contiguous) == \
            (want.flags.c_contiguous, want.flags.f_contiguous)
