"""jax.scipy.special.owens_t: values against SciPy (float64) and JAX (float32), symmetries and
edges, derivatives in h and a against JAX, vmap and jit."""
import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(11)


def _t(h, a):
    return E.owens_t(ember.tensor(np.asarray(h, np.float64)),
                     ember.tensor(np.asarray(a, np.float64))).numpy()


def test_values_match_scipy_in_float64():
    # |a| <= 1 (the quadrature) and |a| > 1 (the reflection), moderate and far tails
    h = np.concatenate([rng.uniform(-10, 10, 600), rng.uniform(-37, 37, 200)])
    a = np.concatenate([rng.uniform(-5, 5, 600), rng.uniform(-100, 100, 200)])
    np.testing.assert_allclose(_t(h, a), ss.owens_t(h, a), rtol=3e-13, atol=1e-300)
    h, a = np.meshgrid([0.0, 1e-8, 0.5, 3.0, 8.5, 9.0, 25.0], [1e-3, 0.3, 1.0, 1.0 + 1e-9, 7.0])
    np.testing.assert_allclose(_t(h, a), ss.owens_t(h, a), rtol=3e-13, atol=1e-300)
    # tiny a, far tail: SciPy is off by up to 1e-11 there; these are mpmath's quadrature of
    # the defining integral at 40 digits
    np.testing.assert_allclose(_t([8.5, 9.0, 25.0], 1e-6),
                               [3.257856665153368e-23, 4.101036310635246e-25,
                                3.0534761827605125e-143], rtol=1e-13)  # e^-312: 3e-14


def test_symmetries_and_edges():
    h, a = rng.uniform(-4, 4, 50), rng.uniform(-4, 4, 50)
    np.testing.assert_array_equal(_t(-h, a), _t(h, a))  # even in h
    np.testing.assert_array_equal(_t(h, -a), -_t(h, a))  # odd in a
    np.testing.assert_allclose(_t(0.0, a), np.arctan(a) / (2 * np.pi), rtol=1e-14)
    # T(h, 1) = Phi(h) (1 - Phi(h)) / 2
    np.testing.assert_allclose(_t(h, 1.0), ss.ndtr(h) * ss.ndtr(-h) / 2, rtol=1e-13)
    edge_h = np.array([0.0, 1.0, 1.0, np.inf, -np.inf, np.nan, 5.0, 2.0])
    edge_a = np.array([np.inf, np.inf, -np.inf, 1.0, 2.0, 1.0, 0.0, np.nan])
    got, want = _t(edge_h, edge_a), ss.owens_t(edge_h, edge_a)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)  # (NaN where SciPy's is)
    assert got[3] == got[4] == got[6] == 0 and got[0] == 0.25


def test_float32_matches_jax():
    jax = pytest.importorskip("jax")
    h = rng.uniform(-6, 6, 200).astype(np.float32)
    a = rng.uniform(-4, 4, 200).astype(np.float32)
    ours = E.owens_t(ember.tensor(h), ember.tensor(a)).numpy()
    theirs = np.asarray(jax.scipy.special.owens_t(h, a))
    assert ours.dtype == np.float32 == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-9)


def test_derivatives_match_jax(jax_x64):
    import jax
    jf = jax.scipy.special.owens_t
    for h, a in [(0.7, 0.4), (-1.3, 2.5), (0.0, -0.8), (3.0, 0.05), (2.2, -7.0)]:
        args = [ember.tensor(v, dtype=ember.float64) for v in (h, a)]
        got = [g.item() for g in ember.grad(E.owens_t, argnums=(0, 1))(*args)]
        want = [float(g) for g in jax.grad(jf, argnums=(0, 1))(h, a)]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
        for i in (0, 1):  # second order through the rules
            g2 = ember.grad(ember.grad(E.owens_t, argnums=i), argnums=i)(*args).item()
            j2 = float(jax.grad(jax.grad(jf, argnums=i), argnums=i)(h, a))
            np.testing.assert_allclose(g2, j2, rtol=1e-11, atol=1e-300)


def test_vmap_jit_and_broadcasting():
    h = ember.tensor([0.1, 1.0, 2.5])
    a = ember.tensor([[0.5], [3.0]])
    full = E.owens_t(h, a)
    assert tuple(full.shape) == (2, 3)
    np.testing.assert_array_equal(ember.vmap(lambda v: E.owens_t(h, v))(a[:, 0]).numpy(),
                                  full.numpy())
    np.testing.assert_array_equal(ember.jit(E.owens_t)(h, a).numpy(), full.numpy())
