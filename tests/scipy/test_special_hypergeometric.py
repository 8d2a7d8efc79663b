"""jax.scipy.special.hyp1f1 and hyp2f1: values against SciPy, mpmath and closed forms
(float64), JAX (float32), derivatives in every argument against JAX, poles, polynomials,
vmap and jit."""
import math

import numpy as np
import pytest

import ember

E = ember.scipy.special
ss = pytest.importorskip("scipy.special")
rng = np.random.default_rng(7)


def _h(a, b, x):
    return E.hyp1f1(*(ember.tensor(np.asarray(v, np.float64)) for v in (a, b, x))).numpy()


def test_values_match_scipy_where_the_series_has_one_sign():
    """a, b > 0 with x > 0, and b > a > 0 with x < 0 (Kummer's transformation makes that
    positive too): every term has one sign, and the sum is good to rounding."""
    n = 400
    a, b = rng.uniform(0.05, 12, n), rng.uniform(0.05, 12, n)
    x = rng.uniform(0, 300, n)
    np.testing.assert_allclose(_h(a, b, x), ss.hyp1f1(a, b, x), rtol=2e-14)
    b2 = a + rng.uniform(0.05, 10, n)
    x2 = -rng.uniform(0, 300, n)
    np.testing.assert_allclose(_h(a, b2, x2), ss.hyp1f1(a, b2, x2), rtol=5e-13)


def test_values_where_terms_alternate():
    """a < 0 or b - a < 0 (not integers): the series alternates before its tail, cancellation
    costs digits that grow with |x| (documented in the docstring); SciPy is the reference."""
    n = 300
    a, b = rng.uniform(-10, 10, n), rng.uniform(0.05, 10, n)
    x = rng.uniform(-25, 25, n)
    np.testing.assert_allclose(_h(a, b, x), ss.hyp1f1(a, b, x), rtol=1e-9, atol=1e-12)


def test_closed_forms_and_large_arguments():
    x = np.array([-1e4, -3000.0, -2500.0, -800.0, -30.0, -0.5, 0.7, 20.0])
    # 1F1(1/2; 3/2; -z^2) = sqrt(pi) erf(z) / (2 z); the first three take the asymptotic branch
    z = np.sqrt(-x[x < 0])
    want = np.sqrt(np.pi) * ss.erf(z) / (2 * z)
    np.testing.assert_allclose(_h(0.5, 1.5, x[x < 0]), want, rtol=1e-14)
    np.testing.assert_allclose(_h(1.3, 1.3, x), np.exp(x), rtol=1e-14)  # a = b: e^x
    # 1F1(1; 2; x) = (e^x - 1) / x
    np.testing.assert_allclose(_h(1.0, 2.0, x), np.expm1(x) / x, rtol=2e-14)
    # past float64's range on the way: e^x M(b - a, b, -x) with M ~ e^3000
    np.testing.assert_allclose(_h(2.0, 5.0, -1500.0), ss.hyp1f1(2.0, 5.0, -1500.0),
                               rtol=1e-13)
    assert np.isinf(_h(0.5, 1.5, 800.0)) and _h(0.5, 1.5, 700.0) > 1e300


def test_polynomials_poles_and_edges():
    # a = -n: a polynomial of degree n (Laguerre's), summed directly at any x
    x = np.array([-50.0, -3.0, 0.4, 7.0, 60.0])
    np.testing.assert_allclose(_h(-2.0, 3.0, x), 1 - 2 * x / 3 + x * x / 12, rtol=1e-14)
    np.testing.assert_allclose(_h(-3.0, 0.5, x), ss.hyp1f1(-3.0, 0.5, x), rtol=1e-13)
    # b = 0, -1, ...: a pole (inf as SciPy), unless the polynomial stops first
    np.testing.assert_array_equal(_h(np.array([1.0, -3.0, 0.0, 2.5]),
                                     np.array([-2.0, -2.0, 0.0, -1.0]), 1.0), np.inf)
    assert _h(-1.0, -2.0, 1.0) == 1.5
    np.testing.assert_array_equal(_h(np.array([0.0, 2.0]), 3.0, np.array([5.0, 0.0])), 1.0)
    got = _h(np.array([np.nan, 1.0, 1.0, 1.0]), np.array([1.0, np.nan, 1.0, 1.0]),
             np.array([1.0, 1.0, np.inf, -np.inf]))
    assert np.isnan(got).all()  # as SciPy


def test_float32_matches_jax():
    jax = pytest.importorskip("jax")
    n = 200
    a = rng.uniform(0.1, 5, n).astype(np.float32)
    b = rng.uniform(0.1, 5, n).astype(np.float32)
    x = rng.uniform(-10, 10, n).astype(np.float32)
    ours = E.hyp1f1(ember.tensor(a), ember.tensor(b), ember.tensor(x)).numpy()
    theirs = np.asarray(jax.scipy.special.hyp1f1(a, b, x))
    assert ours.dtype == np.float32 == theirs.dtype
    exact = ss.hyp1f1(*(v.astype(np.float64) for v in (a, b, x)))
    # ember rounds its float64 value once; JAX sums in float32, which near a zero of 1F1
    # (x < 0) loses digits: compare with JAX where JAX itself is within 1e-5 of SciPy
    np.testing.assert_allclose(ours, exact, rtol=1e-6, atol=1e-30)
    good = np.abs(theirs - exact) <= 1e-5 * np.abs(exact)
    assert good.sum() > 120
    np.testing.assert_allclose(ours[good], theirs[good], rtol=2e-5)


POINTS = [(0.5, 1.5, 2.0), (2.3, 0.7, -1.2), (1.1, 3.4, 8.0), (0.3, 2.2, -6.5),
          (4.0, 1.5, 0.3)]


def test_derivatives_match_jax(jax_x64):
    """in x exact (the rule is a / b 1F1(a+1; b+1; x)), in a and b a float64 central
    difference against JAX's derivative of its series: 8 digits or so."""
    import jax
    jf = jax.scipy.special.hyp1f1
    for a, b, x in POINTS:
        args = [ember.tensor(v, dtype=ember.float64) for v in (a, b, x)]
        ga, gb, gx = (g.item() for g in ember.grad(E.hyp1f1, argnums=(0, 1, 2))(*args))
        ja, jb, jx = (float(g) for g in jax.grad(jf, argnums=(0, 1, 2))(a, b, x))
        np.testing.assert_allclose(gx, jx, rtol=1e-12)
        np.testing.assert_allclose([ga, gb], [ja, jb], rtol=1e-7)
        gxx = ember.grad(ember.grad(E.hyp1f1, argnums=2), argnums=2)(*args).item()
        jxx = float(jax.grad(jax.grad(jf, argnums=2), argnums=2)(a, b, x))
        np.testing.assert_allclose(gxx, jxx, rtol=1e-11)


def test_vmap_jit_and_broadcasting():
    a = ember.tensor([0.5, 1.0, 2.0])
    x = ember.tensor([0.1, 1.5])
    full = E.hyp1f1(a, 1.5, x[:, None])
    assert tuple(full.shape) == (2, 3)
    np.testing.assert_array_equal(ember.vmap(lambda v: E.hyp1f1(v, 1.5, x))(a).numpy(),
                                  full.numpy().T)
    np.testing.assert_array_equal(ember.jit(lambda p, q: E.hyp1f1(p, 1.5, q))(a, x[:, None])
                                  .numpy(), full.numpy())
    per_x = ember.vmap(ember.grad(lambda v: E.hyp1f1(0.5, 1.5, v)))(ember.tensor([0.2, 3.0]))
    want = [0.5 / 1.5 * ss.hyp1f1(1.5, 2.5, v) for v in (0.2, 3.0)]
    np.testing.assert_allclose(per_x.numpy(), want, rtol=1e-6)
    assert math.isclose(E.hyp1f1(1, 2, 0.0).item(), 1.0)


# ---- hyp2f1 ----------------------------------------------------------------------------------

def _h2(a, b, c, x):
    return E.hyp2f1(*(ember.tensor(np.asarray(v, np.float64)) for v in (a, b, c, x))).numpy()


@pytest.mark.parametrize("region,lo,hi,positive,rtol", [
    ("series", -1.0, 0.9, True, 1e-12), ("near_one", 0.9, 0.999, True, 1e-11),
    ("pfaff_far", -50.0, -1.0, True, 1e-11), ("mixed_signs", -1.0, 0.95, False, 1e-9)])
def test_hyp2f1_values_match_mpmath(region, lo, hi, positive, rtol):
    """Each branch (series, Pfaff, the 1 - w transformation) against mpmath at 30 digits
    (SciPy itself is off by up to 1e-9 in some of these); with parameters of both signs some
    digits go to the series' cancellation."""
    mpmath = pytest.importorskip("mpmath")
    r = np.random.default_rng(sum(map(ord, region)))  # fixed per region
    n = 60
    if positive:
        a, b, c = r.uniform(0.1, 5, n), r.uniform(0.1, 5, n), r.uniform(0.1, 8, n)
    else:
        a, b, c = r.uniform(-5, 5, n), r.uniform(-5, 5, n), r.uniform(-8, 8, n)
    x = r.uniform(lo, hi, n)
    with mpmath.workdps(30):
        want = np.array([float(mpmath.hyp2f1(*v)) for v in zip(a, b, c, x)])
    np.testing.assert_allclose(_h2(a, b, c, x), want, rtol=rtol, atol=1e-300)


def test_hyp2f1_closed_forms_and_special_points():
    # 2F1(1, 1; 2; x) = -log(1 - x) / x: c - a - b = 0, the long-series branch near w = 1
    x = np.array([-300.0, -20.0, -1.0, -1e-3, 0.3, 0.9, 0.99, 0.999])
    np.testing.assert_allclose(_h2(1.0, 1.0, 2.0, x), -np.log1p(-x) / x, rtol=1e-12)
    # 2F1(a, b; b; x) = (1 - x)^-a
    np.testing.assert_allclose(_h2(0.7, 2.3, 2.3, x), (1 - x) ** -0.7, rtol=1e-12)
    # Gauss's sum at x = 1 (c - a - b > 0), inf when it diverges
    np.testing.assert_allclose(_h2(0.5, 0.3, 2.0, 1.0), ss.hyp2f1(0.5, 0.3, 2.0, 1.0),
                               rtol=1e-14)
    assert _h2(1.0, 1.0, 2.0, 1.0) == np.inf
    # polynomials at any x, poles of c, and what stops before them
    np.testing.assert_allclose(_h2(-2.0, 0.5, 1.5, np.array([3.0, -7.0, 0.4])),
                               ss.hyp2f1(-2.0, 0.5, 1.5, np.array([3.0, -7.0, 0.4])),
                               rtol=1e-14)
    assert _h2(1.0, 2.0, -1.0, 0.3) == np.inf and _h2(-1.0, 2.0, -2.0, 0.3) == 1.3
    np.testing.assert_array_equal(_h2(np.array([0.0, 2.0]), 3.0, 4.0, np.array([0.7, 0.0])),
                                  1.0)
    assert np.isnan(_h2(0.3, 0.7, 1.3, 1.5)) and np.isnan(_h2(np.nan, 1.0, 2.0, 0.5))


def test_hyp2f1_float32_matches_jax():
    jax = pytest.importorskip("jax")
    r = np.random.default_rng(3)
    a, b = r.uniform(0.1, 4, 150).astype(np.float32), r.uniform(0.1, 4, 150).astype(np.float32)
    c = r.uniform(0.5, 6, 150).astype(np.float32)
    x = r.uniform(-0.9, 0.9, 150).astype(np.float32)
    ours = E.hyp2f1(*(ember.tensor(v) for v in (a, b, c, x))).numpy()
    theirs = np.asarray(jax.scipy.special.hyp2f1(a, b, c, x))
    assert ours.dtype == np.float32 == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=3e-5)


def test_hyp2f1_derivatives_match_jax(jax_x64):
    import jax
    jf = jax.scipy.special.hyp2f1
    for p in [(0.5, 1.5, 2.0, 0.3), (1.2, 0.4, 3.1, -0.6), (2.0, 1.3, 0.7, 0.85),
              (0.3, 2.2, 1.6, -0.2)]:
        args = [ember.tensor(v, dtype=ember.float64) for v in p]
        got = [g.item() for g in ember.grad(E.hyp2f1, argnums=(0, 1, 2, 3))(*args)]
        want = [float(g) for g in jax.grad(jf, argnums=(0, 1, 2, 3))(*p)]
        np.testing.assert_allclose(got[3], want[3], rtol=1e-12)
        np.testing.assert_allclose(got[:3], want[:3], rtol=1e-7)


def test_hyp2f1_vmap_and_jit():
    x = ember.tensor([-0.5, 0.2, 0.95])
    c = ember.tensor([[1.5], [3.0]])
    full = E.hyp2f1(0.5, 1.0, c, x)
    assert tuple(full.shape) == (2, 3)
    np.testing.assert_array_equal(ember.vmap(lambda v: E.hyp2f1(0.5, 1.0, v, x))(c[:, 0])
                                  .numpy(), full.numpy())
    np.testing.assert_array_equal(ember.jit(lambda p, q: E.hyp2f1(0.5, 1.0, p, q))(c, x)
                                  .numpy(), full.numpy())
