"""ember.backend.kernels: the kernels NumPy lacks, against the standard library's math."""
import math

import numpy as np
import pytest

from ember.backend.kernels import erf


def _ulp_error(y, x):
    ref = np.array([math.erf(v) for v in x.astype(np.float64)])
    spacing = np.spacing(np.abs(ref.astype(y.dtype))).astype(np.float64)
    return np.abs(y.astype(np.float64) - ref) / spacing, ref


def test_erf_float32_within_an_ulp_everywhere():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-6, 6, 120001, dtype=np.float32),
                        (10.0 ** rng.uniform(-40, 0.6, 20000)).astype(np.float32)])
    y = erf(x)
    assert y.dtype == np.float32
    err, ref = _ulp_error(y, x)
    assert err.max() <= 0.6  # rational fit 2e-9 relative, evaluated in float64
    assert (y == ref.astype(np.float32)).mean() > 0.97  # mostly correctly rounded
    assert np.abs(y).max() == 1.0  # never beyond +-1


def test_erf_special_values_and_narrow_dtypes():
    y = erf(np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30]))
    assert y[0] == 0 and not np.signbit(y[0]) and np.signbit(y[1])
    assert y[2] == 1 and y[3] == -1 and np.isnan(y[4])
    assert y[5] == np.float32(2 / math.sqrt(math.pi) * 1e-30)  # relative accuracy near 0
    h = erf(np.float16([0.5, -2.0, 3.0]))
    assert h.dtype == np.float16
    np.testing.assert_array_equal(h, np.float16([math.erf(0.5), math.erf(-2.0), math.erf(3.0)]))
    assert erf(np.array(0.5, np.float32)).shape == ()


@pytest.mark.parametrize("n", [3, 1000])
def test_erf_float64_full_precision(n):
    x = np.linspace(-5, 5, n)
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], rtol=2e-15, atol=1e-300)


# ---- zero_view: relu's zero operand ------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.uint8])
@pytest.mark.parametrize("layout", ["C", "channel-major", "F", "sliced"])
def test_zero_view_reads_zeros_in_the_arrays_layout(dtype, layout):
    from ember.backend.kernels import zero_view
    x = np.ones((8, 16, 20, 20), dtype)
    if layout == "channel-major":
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif layout == "F":
        x = np.asfortranarray(x)
    elif layout == "sliced":
        x = np.ones((8, 16, 40, 20), dtype)[:, :, ::2]
    z = zero_view(x)
    assert z.shape == x.shape and z.dtype == x.dtype and z.strides == x.strides
    assert not z.flags.writeable
    assert not np.any(z)
    with pytest.raises(ValueError):
        z[0, 0, 0, 0] = 1


def test_zero_view_declines_small_foreign_and_reversed_arrays():
    from ember.backend.kernels import ZERO_VIEW_MIN, zero_view
    assert zero_view(np.ones(ZERO_VIEW_MIN - 1, np.float32)) is None
    assert zero_view(np.ones(ZERO_VIEW_MIN, np.float32)[::-1]) is None
    assert zero_view(np.ma.ones(ZERO_VIEW_MIN)) is None
    assert zero_view(np.ones(ZERO_VIEW_MIN, np.float32)) is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_relu_with_the_zero_view_gives_the_scalar_loops_bits(dtype):
    """-0.0, NaNs of either sign, infinities and subnormals come out of the array loop as out
    of the scalar one (the relu before the zero view), in place and out of place, in a
    channel-major layout too."""
    from ember.ops.elementwise import _relu_impl
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 40, 30)).astype(dtype)
    flat = x.reshape(-1)
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -np.nan,
                        np.finfo(dtype).tiny / 2, -np.finfo(dtype).tiny / 2], dtype)
    flat[:4096] = np.resize(special, 4096)
    flat[-5:] = special[:5]
    want = np.maximum(x, dtype(0))
    for a in (x, np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)):
        got = _relu_impl(a)
        assert np.array_equal(np.ascontiguousarray(got).view(f"u{got.itemsize}"),
                              want.view(f"u{want.itemsize}"))
        b = a.copy(order="K")
        _relu_impl(b, out=b)
        assert np.array_equal(np.ascontiguousarray(b).view(f"u{b.itemsize}"),
                              want.view(f"u{want.itemsize}"))
