"""jax.scipy.special.wofz, the Faddeeva function: values against SciPy over the complex plane
(complex128), JAX (complex64), edges, derivatives against JAX for real and complex inputs,
vmap and jit."""
import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(17)


def _w(z):
    return E.wofz(ember.tensor(np.asarray(z, np.complex128))).numpy()


def test_values_match_scipy_in_complex128():
    """Both kernels (the trapezoid rule with its pole correction for |z| < 8, Laplace's
    continued fraction beyond), both half-planes, the real axis and just off it, and the
    trapezoid's nodes (multiples of h = 1/2, where the shifted grid takes over)."""
    z = np.concatenate([rng.uniform(-12, 12, 800) + 1j * rng.uniform(-6, 12, 800),
                        rng.uniform(-12, 12, 100) + 1e-12j,
                        np.arange(-30, 31) * 0.25 + 1e-9j, np.arange(-30, 31) * 0.25,
                        [1e5 + 1j, 1e3 - 1e3j, 3 + 1e3j, 7.9 + 0.1j, 8.1 + 0.1j, 1e-300j]])
    ours = _w(z)
    assert ours.dtype == np.complex128
    want = ss.wofz(z)
    np.testing.assert_allclose(ours, want, rtol=1e-13, atol=0)
    real = z.imag == 0  # the real part e^(-x^2) to full relative precision there
    np.testing.assert_allclose(ours.real[real], np.exp(-z.real[real] ** 2), rtol=1e-15)


def test_edges_and_real_input():
    z = np.array([0j, np.inf + 0j, -np.inf + 0j, complex(1, np.inf), complex(np.nan, 0)])
    got = _w(z)
    np.testing.assert_array_equal(got[:4], [1.0, 0.0, 0.0, 0.0])
    assert np.isnan(got[4].real) and np.isnan(got[4].imag)
    r = E.wofz(ember.tensor([0.5, 2.0]))
    assert r.dtype == ember.complex64  # float32 in: complex64, as JAX
    np.testing.assert_allclose(r.numpy(), ss.wofz(np.array([0.5, 2.0])), rtol=1e-6)
    assert E.wofz(ember.tensor([0.5], dtype=ember.float64)).dtype == ember.complex128


def test_complex64_matches_jax():
    jax = pytest.importorskip("jax")
    z = (rng.uniform(-10, 10, 300) + 1j * rng.uniform(-3, 10, 300)).astype(np.complex64)
    ours = E.wofz(ember.tensor(z)).numpy()
    theirs = np.asarray(jax.scipy.special.wofz(z))
    assert ours.dtype == np.complex64 == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-7)


def test_derivatives_match_jax(jax_x64):
    import jax
    jf = jax.scipy.special.wofz
    for x in (0.3, 1.0, -2.5, 9.0):  # real input: the real cotangent of Re w and Im w
        for part in (np.real, np.imag):
            g = ember.grad(lambda v: part(E.wofz(v)))(ember.tensor(x, dtype=ember.float64))
            gj = jax.grad(lambda v: part(jf(v)))(x)
            # at x = 9 Im w' = 2 / sqrt(pi) - 18 Im w cancels to 1e-2 (1e-11 relative), and
            # Re w' = -18 e^-81 is 1e-34 in ember, 2e-13 in JAX (its Re w there is rounding)
            np.testing.assert_allclose(g.item(), float(gj), rtol=1e-10, atol=5e-13)
    for z in (1 + 0j, 0.5 + 2j, -3 + 0.1j, 8.5 - 1j):  # complex input, holomorphic
        g = ember.grad(lambda v: E.wofz(v).real)(ember.tensor(z, dtype=ember.complex128))
        gj = jax.grad(lambda v: jf(v).real)(z)
        np.testing.assert_allclose(complex(g.item()), complex(gj), rtol=1e-11, atol=1e-15)
    # w' = -2 z w + 2i / sqrt(pi), forward mode
    z = ember.tensor([0.5 + 1j, 2 - 0.5j], dtype=ember.complex128)
    _, t = ember.jvp(E.wofz, (z,), (ember.ones_like(z),))
    wz = ss.wofz(z.numpy())
    np.testing.assert_allclose(t.numpy(), -2 * z.numpy() * wz + 2j / np.sqrt(np.pi),
                               rtol=1e-13)


def test_vmap_and_jit():
    z = ember.tensor([[0.5 + 1j, 9 + 0j], [-2 - 1j, 0j]])
    full = E.wofz(z)
    np.testing.assert_array_equal(ember.vmap(E.wofz)(z).numpy(), full.numpy())
    np.testing.assert_array_equal(ember.jit(E.wofz)(z).numpy(), full.numpy())
