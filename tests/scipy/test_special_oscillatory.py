"""jax.scipy.special's Fresnel integrals, sine/cosine integrals and Dawson's integral:
values against SciPy (float64) and JAX (float32), edges, derivatives against JAX (first and
second order), vmap and jit."""
import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(5)
# both branches of every kernel and their seams (1.5 Fresnel, 4 Si/Ci, 6 Dawson), tiny and
# huge arguments, both signs
X = np.concatenate([rng.uniform(0, 8, 60), rng.uniform(8, 200, 20),
                    [1e-300, 1e-8, 1e-3, 1.5, 1.5 - 1e-12, 4.0, 4.0 + 1e-12, 6.0, 6.0 + 1e-12,
                     1e3, 1e6, 1e12]])
X = np.concatenate([X, -X])
BIG = np.abs(X) > 30  # where SciPy's Fresnel rounds x^2 (see test_values_past_scipys_range)
EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])

FUNCS = {"fresnel_s": (lambda S, v: S.fresnel(v)[0], lambda v: ss.fresnel(v)[0]),
         "fresnel_c": (lambda S, v: S.fresnel(v)[1], lambda v: ss.fresnel(v)[1]),
         "si": (lambda S, v: S.sici(v)[0], lambda v: ss.sici(v)[0]),
         "ci": (lambda S, v: S.sici(v)[1], lambda v: ss.sici(v)[1]),
         "dawsn": (lambda S, v: S.dawsn(v), ss.dawsn)}


@pytest.mark.parametrize("name", FUNCS)
def test_values_match_scipy_in_float64(name):
    fn, ref = FUNCS[name]
    x = X[~BIG] if name.startswith("fresnel") else X
    ours = fn(E, ember.tensor(x)).numpy()
    assert ours.dtype == np.float64
    want = ref(x)
    if name == "ci":  # near Ci's zeros a relative bound means little: absolute there
        np.testing.assert_allclose(ours, want, rtol=1e-14, atol=2e-15)
    else:
        np.testing.assert_allclose(ours, want, rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(fn(E, ember.tensor(EDGES)).numpy(), ref(EDGES))


def test_values_past_scipys_range():
    """SciPy's Fresnel rounds x^2 before taking sin(pi x^2 / 2) (a relative error growing
    like x^2 * 1e-16 in the oscillating term) and gives NaN above 1e200; ember reduces x^2
    mod 4 exactly (a Dekker product). The references are mpmath's at 50 digits."""
    x = ember.tensor([1e3, 23456.789, 162377673.91887176, 1e12, 1e200, -1e300],
                     dtype=ember.float64)
    s, c = E.fresnel(x)
    np.testing.assert_allclose(s.numpy(), [0.4996816901138163, 0.500012966892519,
                                           0.5000000017290138, 0.4999999999996817, 0.5, -0.5],
                               rtol=1e-15)
    np.testing.assert_allclose(c.numpy(), [0.4999999998986788, 0.4999959992431191,
                                           0.49999999907625237, 0.5, 0.5, -0.5], rtol=1e-15)
    moderate = X[BIG & (np.abs(X) < 1e4)]  # SciPy within its x^2 rounding there
    for i in (0, 1):
        np.testing.assert_allclose(E.fresnel(ember.tensor(moderate))[i].numpy(),
                                   ss.fresnel(moderate)[i], rtol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
def test_float32_matches_jax(name):
    jax = pytest.importorskip("jax")
    fn, _ = FUNCS[name]
    x = np.concatenate([np.linspace(-12, 12, 97), EDGES]).astype(np.float32)
    ours = fn(E, ember.tensor(x)).numpy()
    theirs = np.asarray(fn(jax.scipy.special, x))
    assert ours.dtype == np.float32 == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-7, equal_nan=True)


@pytest.mark.parametrize("name", FUNCS)
def test_derivatives_match_jax(name, jax_x64):
    """First and second derivatives (the rules compose ember ops, so grad of grad works);
    at moderate x, where x^2 itself is exact enough that both sides reduce it alike."""
    import jax
    fn, _ = FUNCS[name]
    x = np.array([-7.3, -2.0, -0.3, 0.0, 1e-4, 0.5, 1.0, 1.49, 1.51, 3.0, 4.2, 6.3, 25.0])
    if name == "ci":
        x = x[x != 0]  # Ci' = cos x / x: inf at 0 on both sides, grad of grad NaN
    jf = lambda v: fn(jax.scipy.special, v)  # noqa: E731
    ef = lambda v: fn(E, v)  # noqa: E731
    g1 = ember.vmap(ember.grad(ef))(ember.tensor(x)).numpy()
    np.testing.assert_allclose(g1, np.asarray(jax.vmap(jax.grad(jf))(x)), rtol=1e-12,
                               atol=1e-15)
    g2 = ember.vmap(ember.grad(ember.grad(ef)))(ember.tensor(x)).numpy()
    if name == "fresnel_c":  # JAX's C'' is 0 where x^2 is an odd integer; C'' is
        # -pi x sin(pi x^2 / 2) (-pi at x = 1), which is what ember gives
        want = -np.pi * x * np.sin(np.pi / 2 * (x * x % 4))
    else:
        want = np.asarray(jax.vmap(jax.grad(jax.grad(jf)))(x))
    np.testing.assert_allclose(g2, want, rtol=1e-11, atol=2e-12)  # Si'' at 1e-4: cancellation


def test_zero_and_pair_outputs_under_transforms():
    x = ember.tensor([0.0, 0.7, 2.5, 9.0])
    assert ember.grad(lambda v: E.sici(v)[0])(ember.tensor(0.0)).item() == 1.0  # sinc
    assert ember.grad(E.dawsn)(ember.tensor(0.0)).item() == 1.0
    for f in (lambda v: E.fresnel(v)[0] + 2 * E.fresnel(v)[1],
              lambda v: E.sici(v)[0] - E.dawsn(v)):
        np.testing.assert_array_equal(ember.vmap(f)(x).numpy(), f(x).numpy())
        np.testing.assert_array_equal(ember.jit(f)(x).numpy(), f(x).numpy())
    s, c = E.fresnel(np.array([1.0, 2.0]))  # NumPy in, ember out (float32, as JAX's)
    assert s.dtype == ember.float32 and isinstance(c, ember.Tensor)
    assert E.dawsn(3).dtype == ember.float32  # integer in: the default float
