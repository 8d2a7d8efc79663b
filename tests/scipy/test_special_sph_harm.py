"""jax.scipy.special.sph_harm_y: values against SciPy (complex128) and JAX (complex64), the
symmetries and orthonormality, derivatives in theta and phi against JAX, n_max, vmap, jit
and errors."""
import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(19)


def _y(n, m, theta, phi):
    return E.sph_harm_y(ember.tensor(np.asarray(n)), ember.tensor(np.asarray(m)),
                        ember.tensor(np.asarray(theta, np.float64)),
                        ember.tensor(np.asarray(phi, np.float64))).numpy()


def test_values_match_scipy_in_complex128():
    k = 1500
    n = rng.integers(0, 40, k)
    m = np.array([rng.integers(-v, v + 1) for v in n])
    th, ph = rng.uniform(0, np.pi, k), rng.uniform(0, 2 * np.pi, k)
    ours = _y(n, m, th, ph)
    assert ours.dtype == np.complex128
    np.testing.assert_allclose(ours, ss.sph_harm_y(n, m, th, ph), rtol=1e-12, atol=1e-14)
    # the poles, |m| > n (0), and high orders where sin^m underflows gracefully
    n2, m2 = np.array([2, 3, 0, 5, 60, 150]), np.array([3, -1, 0, 5, 60, -140])
    th2, ph2 = np.array([0.5, 0.0, 1.0, np.pi, 0.01, 1.2]), np.array([0.2, 1.0, 2.0, 0.3, 0, 1])
    np.testing.assert_allclose(_y(n2, m2, th2, ph2), ss.sph_harm_y(n2, m2, th2, ph2),
                               rtol=1e-12, atol=1e-300)


def test_symmetry_and_orthonormality():
    th, ph = rng.uniform(0, np.pi, 20), rng.uniform(0, 2 * np.pi, 20)
    for n, m in ((3, 2), (5, 1), (4, 4)):
        np.testing.assert_allclose(_y(n, -m, th, ph), (-1) ** m * np.conj(_y(n, m, th, ph)),
                                   rtol=1e-14)
    # Gauss-Legendre in cos(theta) times a uniform grid in phi integrates exactly
    x, wx = np.polynomial.legendre.leggauss(12)
    phi = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    T, P = np.meshgrid(np.arccos(x), phi, indexing="ij")
    wts = wx[:, None] * (2 * np.pi / 24)
    pairs = [(0, 0), (2, 1), (3, -2), (4, 1)]
    ys = [_y(np.full(T.shape, n), np.full(T.shape, m), T, P) for n, m in pairs]
    gram = np.array([[(a * np.conj(b) * wts).sum() for b in ys] for a in ys])
    np.testing.assert_allclose(gram, np.eye(4), atol=1e-13)


def test_complex64_matches_jax():
    jax = pytest.importorskip("jax")
    k = 200
    n = rng.integers(0, 12, k).astype(np.int32)
    m = np.array([rng.integers(-v, v + 1) for v in n]).astype(np.int32)
    th = rng.uniform(0, np.pi, k).astype(np.float32)
    ph = rng.uniform(0, 2 * np.pi, k).astype(np.float32)
    ours = E.sph_harm_y(*(ember.tensor(v) for v in (n, m, th, ph))).numpy()
    theirs = np.asarray(jax.scipy.special.sph_harm_y(n, m, th, ph, n_max=11))
    assert ours.dtype == np.complex64 == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-6)
    # n_max clips n, as JAX's
    clipped = E.sph_harm_y(ember.tensor(n), ember.tensor(np.clip(m, -4, 4)),
                           ember.tensor(th), ember.tensor(ph), n_max=4).numpy()
    np.testing.assert_allclose(clipped, np.asarray(jax.scipy.special.sph_harm_y(
        n, np.clip(m, -4, 4), th, ph, n_max=4)), rtol=1e-4, atol=2e-6)


def test_derivatives_match_jax(jax_x64):
    import jax
    import jax.numpy as jn
    for n, m, th, ph in [(3, 1, 0.5, 0.2), (4, -2, 1.3, 2.0), (2, 0, 2.5, 0.7), (5, 5, 1.0, 4.0)]:
        nt, mt = ember.tensor([n]), ember.tensor([m])
        for part in (np.real, np.imag):
            def f(t, p):
                return part(E.sph_harm_y(nt, mt, t, p)).sum()

            def fj(t, p):
                return part(jax.scipy.special.sph_harm_y(jn.array([n]), jn.array([m]), t, p,
                                                         n_max=n)).sum()
            args = [ember.tensor([v], dtype=ember.float64) for v in (th, ph)]
            got = [g.numpy()[0] for g in ember.grad(f, argnums=(0, 1))(*args)]
            want = [np.asarray(g)[0] for g in jax.grad(fj, argnums=(0, 1))(
                jn.array([th]), jn.array([ph]))]
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)


def test_broadcasting_transforms_and_errors():
    th = ember.tensor([0.3, 1.1, 2.0])
    full = E.sph_harm_y(ember.tensor([[2], [3]]), ember.tensor(1), th, 0.5)
    assert tuple(full.shape) == (2, 3) and full.dtype == ember.complex64
    np.testing.assert_array_equal(
        ember.vmap(lambda t: E.sph_harm_y(ember.tensor([2, 3]), ember.tensor(1), t, 0.5))(th)
        .numpy(), full.numpy().T)
    np.testing.assert_array_equal(ember.jit(lambda t: E.sph_harm_y(
        ember.tensor([[2], [3]]), ember.tensor(1), t, 0.5))(th).numpy(), full.numpy())
    with pytest.raises(NotImplementedError, match="sph_harm_y: diff_n"):
        E.sph_harm_y(ember.tensor([1]), ember.tensor([0]), th[:1], th[:1], diff_n=1)
    with pytest.raises(TypeError, match="sph_harm_y: n must hold integers"):
        E.sph_harm_y(ember.tensor([1.0]), ember.tensor([0]), th[:1], th[:1])
