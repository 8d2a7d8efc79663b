"""jax.scipy.special.bessel_jn: J_0..J_v against SciPy (float64) and JAX (float32, where
JAX's fixed 50-step recurrence is accurate), symmetries, edges, the derivative against JAX's
and the recurrence, vmap and jit, errors."""
import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(13)


def _jn(z, v):
    return E.bessel_jn(ember.tensor(np.asarray(z, np.float64)), v=v).numpy()


@pytest.mark.parametrize("lo,hi", [(-30, 30), (0, 1e-3), (30, 1000), (1000, 5000)])
def test_values_match_scipy_in_float64(lo, hi):
    """Both branches (Miller's below |z| = 1000, the upward recurrence above) and orders
    past |z|; absolute error at rounding (relative near the zeros means little)."""
    z = rng.uniform(lo, hi, 200)
    ours = _jn(z, 24)
    assert ours.shape == (25, 200) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ss.jv(np.arange(25)[:, None], z), rtol=1e-11,
                               atol=1e-14)


def test_symmetries_and_edges():
    z = rng.uniform(0.1, 40, 30)
    n = np.arange(8)[:, None]
    np.testing.assert_array_equal(_jn(-z, 7), (-1.0) ** n * _jn(z, 7))
    j = _jn(z[z < 20], 70)  # 1 = J_0 + 2 (J_2 + J_4 + ...)
    np.testing.assert_allclose(j[0] + 2 * j[2::2].sum(0), 1.0, rtol=1e-13)
    edge = _jn(np.array([0.0, np.inf, -np.inf, np.nan]), 3)
    np.testing.assert_array_equal(edge[:, 0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(edge[:, 1:3], 0.0)  # J_n(+-inf) -> 0
    assert np.isnan(edge[:, 3]).all()
    assert _jn(np.array(2.0), 0).shape == (1,)  # a 0-d z: one axis, of v + 1 orders


def test_float32_matches_jax():
    jax = pytest.importorskip("jax")
    z = np.linspace(0.05, 25, 120).astype(np.float32)  # JAX's 50 steps cover |z| <= 25
    ours = E.bessel_jn(ember.tensor(z), v=6).numpy()
    theirs = np.asarray(jax.scipy.special.bessel_jn(z, v=6))
    assert ours.dtype == np.float32 == theirs.dtype and ours.shape == theirs.shape
    # JAX's float32 recurrence overflows to NaN for small z (below ~3.6 with 50 steps)
    fin = np.isfinite(theirs).all(0)
    assert fin.sum() > 90
    np.testing.assert_allclose(ours[:, fin], theirs[:, fin], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(ours, ss.jv(np.arange(7)[:, None], z.astype(np.float64)),
                               rtol=1e-6, atol=1e-7)


def test_derivative_matches_jax_and_the_recurrence(jax_x64):
    import jax
    z = np.array([0.3, 1.5, 4.0, 11.0, -7.5])
    jac = ember.vmap(ember.jacfwd(lambda t: E.bessel_jn(t, v=4)))(
        ember.tensor(z)).numpy()  # (5, 5): point, order
    jj = np.asarray(jax.vmap(jax.jacfwd(lambda t: jax.scipy.special.bessel_jn(t, v=4)))(z))
    np.testing.assert_allclose(jac, jj, rtol=1e-10, atol=1e-13)
    want = (ss.jv(np.arange(5) - 1, z[:, None]) - ss.jv(np.arange(5) + 1, z[:, None])) / 2
    np.testing.assert_allclose(jac, want, rtol=1e-12, atol=1e-15)
    g2 = ember.grad(ember.grad(lambda t: E.bessel_jn(t, v=2)[2]))(
        ember.tensor(1.7, dtype=ember.float64)).item()
    # J_2'' = (J_0 - 2 J_2 + J_4) / 4
    np.testing.assert_allclose(g2, (ss.jv(0, 1.7) - 2 * ss.jv(2, 1.7) + ss.jv(4, 1.7)) / 4,
                               rtol=1e-12)


def test_vmap_jit_and_errors():
    z = ember.tensor([[0.5, 3.0], [8.0, 20.0]])
    full = E.bessel_jn(z, v=3)
    assert tuple(full.shape) == (4, 2, 2)
    np.testing.assert_array_equal(ember.vmap(lambda t: E.bessel_jn(t, v=3), out_axes=1)(z)
                                  .numpy(), full.numpy())
    np.testing.assert_array_equal(ember.jit(lambda t: E.bessel_jn(t, v=3))(z).numpy(),
                                  full.numpy())
    with pytest.raises(TypeError, match="bessel_jn: v must be an int"):
        E.bessel_jn(z, v=2.5)
    with pytest.raises(ValueError, match="bessel_jn: v must be >= 0"):
        E.bessel_jn(z, v=-1)
