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
