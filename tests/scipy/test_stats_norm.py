"""ember.scipy.stats.norm against scipy.stats.norm (and jax.scipy.stats.norm when present)."""
import numpy as np
import pytest

import ember
import ember.scipy.stats.norm as norm

ss = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("name", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_values_match_scipy_float32_across_the_tails(name):
    x = np.linspace(-30, 30, 121)
    got = np.asarray(getattr(norm, name)(x.astype(np.float32), 0.5, 2.0))
    want = getattr(ss.norm, name)(x, 0.5, 2.0)
    assert got.dtype == np.float32
    # relative precision everywhere, except that a log near 0 (log(1 - tiny)) is exact to
    # float32's absolute precision only
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7 if name.startswith("log")
                               else 1e-37)


def test_ppf_and_gradients():
    q = np.linspace(0.01, 0.99, 11)
    np.testing.assert_allclose(np.asarray(norm.ppf(q.astype(np.float32), 1.0, 2.0)),
                               ss.norm.ppf(q, 1.0, 2.0), rtol=1e-4, atol=1e-5)
    x = ember.tensor([-10.0, -3.0, 0.0, 2.0])
    g = ember.grad(lambda v: norm.logcdf(v).sum())(x)
    want = ss.norm.pdf(x.numpy().astype(np.float64)) / ss.norm.cdf(x.numpy().astype(np.float64))
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-3)
    g = ember.grad(lambda m: norm.logpdf(1.5, m, 2.0))(ember.tensor(0.5))
    np.testing.assert_allclose(float(g), (1.5 - 0.5) / 4.0, rtol=1e-6)


def test_vmap_of_logpdf_as_in_jaxs_advi_example():
    x, m, s = (np.random.RandomState(0).randn(5).astype(np.float32) for _ in range(3))
    s = np.abs(s) + 0.5
    out = ember.vmap(norm.logpdf)(x, m, s)
    np.testing.assert_allclose(out.numpy(), ss.norm.logpdf(x, m, s), rtol=1e-5)


def test_0d_float64_inputs():
    """A 0-d float64 erf once returned a Python float from its small-size kernel path."""
    assert float(norm.cdf(0.0)) == 0.5 and float(norm.sf(0.0)) == 0.5
    e = ember.erf(ember.tensor(0.5, dtype=ember.float64))
    assert e.dtype == ember.float64 and abs(float(e) - 0.5204998778130465) < 1e-15
