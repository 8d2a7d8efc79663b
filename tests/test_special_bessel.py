"""torch.special's Bessel family, Airy's Ai, Hurwitz's zeta and the orthogonal polynomials:
float64 values against SciPy (more accurate than PyTorch's float64 kernels near some
zeros), float32 values, dtypes and edges against PyTorch, derivatives against the
functions' recurrences, finite differences and PyTorch where it has them."""
import numpy as np
import pytest

import ember

sc = pytest.importorskip("scipy.special")
torch = pytest.importorskip("torch")

S = ember.special
rng = np.random.default_rng(16)
X = np.concatenate([rng.uniform(-30, 30, 600), rng.uniform(-3, 3, 300),
                    10 ** rng.uniform(-8, 3, 200), -(10 ** rng.uniform(-8, 3, 200)),
                    [2.0, 14.0, 20.0, 25.0, 1.0, -7.0, 700.0]])

SCIPY = {
    "bessel_j0": sc.j0, "bessel_j1": sc.j1, "bessel_y0": sc.y0, "bessel_y1": sc.y1,
    "modified_bessel_i0": sc.i0, "modified_bessel_i1": sc.i1, "i1": sc.i1,
    "modified_bessel_k0": sc.k0, "modified_bessel_k1": sc.k1,
    "scaled_modified_bessel_k0": sc.k0e, "scaled_modified_bessel_k1": sc.k1e,
    "i0e": sc.i0e, "i1e": sc.i1e, "spherical_bessel_j0": lambda v: sc.spherical_jn(0, v),
    "airy_ai": lambda v: sc.airy(v)[0], "i0": sc.i0,
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_float64_values_match_scipy(name):
    with np.errstate(all="ignore"):
        want = SCIPY[name](X)
    got = getattr(S, name)(ember.tensor(X, dtype=ember.float64))
    assert got.dtype == ember.float64
    got = got.numpy()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    fin = np.isfinite(want)
    # absolute error near the oscillating functions' zeros, relative elsewhere
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-11, atol=1e-11)


EDGES = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -2.0, 3.5, -150.0, 150.0, 800.0,
                  1e10])


@pytest.mark.parametrize("name", sorted(set(SCIPY) - {"i0"}))
def test_edges_and_float32_match_torch(name):
    t = getattr(torch.special, name)
    e = getattr(S, name)
    with np.errstate(all="ignore"):
        want = t(torch.tensor(EDGES)).numpy()
    got = e(ember.tensor(EDGES, dtype=ember.float64)).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got) * np.sign(got), np.isinf(want) * np.sign(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-6, atol=1e-6)
    x32 = rng.uniform(-12, 12, 200).astype(np.float32)
    got32 = e(ember.tensor(x32))
    assert got32.dtype == ember.float32
    with np.errstate(all="ignore"):  # (PyTorch's own float64 airy_ai is off by 2e-6 here)
        ref64 = SCIPY[name](x32.astype(np.float64))
    ok = np.isfinite(ref64)
    np.testing.assert_allclose(got32.numpy()[ok], ref64[ok], rtol=2e-6, atol=2e-6)
    # integers compute in the default float dtype, as PyTorch
    assert e(ember.tensor([1, 2])).dtype == ember.float32


def test_odd_functions_keep_the_sign_of_zero_as_torch():
    z = torch.tensor([-0.0])
    for name in ("bessel_j1", "modified_bessel_i1", "i1e"):
        want = getattr(torch.special, name)(z).numpy()
        got = getattr(S, name)(ember.tensor([-0.0])).numpy()
        assert np.signbit(got[0]) == np.signbit(want[0]), name


DERIVS = {  # f' from the family's own functions, in float64 by SciPy
    "bessel_j0": lambda x: -sc.j1(x),
    "bessel_j1": lambda x: 0.5 * (sc.j0(x) - sc.jv(2, x)),
    "bessel_y0": lambda x: -sc.y1(x),
    "bessel_y1": lambda x: 0.5 * (sc.y0(x) - sc.yv(2, x)),
    "modified_bessel_i0": sc.i1,
    "modified_bessel_i1": lambda x: 0.5 * (sc.i0(x) + sc.iv(2, x)),
    "modified_bessel_k0": lambda x: -sc.k1(x),
    "modified_bessel_k1": lambda x: -0.5 * (sc.k0(x) + sc.kv(2, x)),
    "scaled_modified_bessel_k0": lambda x: sc.k0e(x) - sc.k1e(x),
    "scaled_modified_bessel_k1": lambda x: sc.k1e(x) - 0.5 * (sc.k0e(x) + sc.kve(2, x)),
    "i0e": lambda x: sc.i1e(x) - np.sign(x) * sc.i0e(x),
    "i1e": lambda x: 0.5 * (sc.i0e(x) + sc.ive(2, x)) - np.sign(x) * sc.i1e(x),
    "spherical_bessel_j0": lambda x: sc.spherical_jn(0, x, derivative=True),
}


@pytest.mark.parametrize("name", sorted(DERIVS))
def test_derivatives(name):
    x = np.array([0.3, 1.7, 4.2, 9.5, 22.0, 31.0])
    if name.startswith(("bessel_j", "modified_bessel_i", "i0e", "i1e", "spherical")):
        x = np.concatenate([x, -x, [0.0]])
    t = ember.tensor(x, dtype=ember.float64, requires_grad=True)
    getattr(S, name)(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), DERIVS[name](x), rtol=1e-10, atol=1e-12)
    # second order through the same rules, against a central difference of the first
    g = ember.grad(lambda v: getattr(S, name)(v).sum())
    h = ember.grad(lambda v: g(v).sum())(ember.tensor(x[:5], dtype=ember.float64)).numpy()
    eps = 1e-6
    fd = (DERIVS[name](x[:5] + eps) - DERIVS[name](x[:5] - eps)) / (2 * eps)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["i0e", "i1", "i1e"])
def test_gradients_match_torch_where_it_has_them(name):
    x = rng.uniform(-5, 5, 12).astype(np.float32)
    w = rng.standard_normal(12).astype(np.float32)
    te = torch.tensor(x, requires_grad=True)
    (getattr(torch.special, name)(te) * torch.tensor(w)).sum().backward()
    ee = ember.tensor(x, requires_grad=True)
    (getattr(S, name)(ee) * ember.tensor(w)).sum().backward()
    np.testing.assert_allclose(ee.grad.numpy(), te.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_transforms_agree_with_eager():
    x = ember.tensor(rng.uniform(0.1, 8, (3, 4)))
    f = lambda v: S.bessel_j1(v) * S.modified_bessel_k0(v) + S.i1e(v)  # noqa: E731
    np.testing.assert_array_equal(ember.jit(f)(x).numpy(), f(x).numpy())
    np.testing.assert_allclose(ember.vmap(f)(x).numpy(), f(x).numpy(), rtol=0, atol=0)
    gx = ember.grad(lambda v: f(v).sum())(x)
    np.testing.assert_allclose(ember.jit(ember.grad(lambda v: f(v).sum()))(x).numpy(),
                               gx.numpy(), rtol=1e-15)


def test_airy_derivatives_against_scipy():
    x = np.concatenate([np.linspace(-25, 12, 60), [-7.0, 1.0, 0.0]])
    t = ember.tensor(x, dtype=ember.float64, requires_grad=True)
    S.airy_ai(t).sum().backward()
    ai, aip = sc.airy(x)[:2]
    np.testing.assert_allclose(t.grad.numpy(), aip, rtol=1e-9, atol=1e-11)
    h = ember.grad(lambda v: ember.grad(lambda u: S.airy_ai(u).sum())(v).sum())(
        ember.tensor(x, dtype=ember.float64))
    np.testing.assert_allclose(h.numpy(), x * ai, rtol=1e-9, atol=1e-11)  # Ai'' = x Ai


def test_polynomials_have_no_derivative():
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(ember.OpError, match="special.chebyshev_polynomial_t has no deriv"):
        S.chebyshev_polynomial_t(x, 3).sum().backward()


# ---- zeta ------------------------------------------------------------------------------

def test_zeta_values_and_edges():
    xs = rng.uniform(1.01, 20, 400)
    qs = rng.uniform(-10, 30, 400)
    xs[:150] = np.round(xs[:150])
    got = S.zeta(ember.tensor(xs, dtype=ember.float64), ember.tensor(qs, dtype=ember.float64))
    want = sc.zeta(xs, qs)
    got = got.numpy()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-13)
    x = torch.tensor([1.0, 0.5, 2, 2, 2, 3, 2, 2.5, np.inf, 2, np.nan], dtype=torch.float64)
    q = torch.tensor([1.0, 1, 0, -1, -1.5, -1.5, 1e10, -1.5, 2, np.inf, 1], dtype=torch.float64)
    want = torch.special.zeta(x, q).numpy()
    got = S.zeta(ember.tensor(x.numpy()), ember.tensor(q.numpy())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_zeta_dtypes_and_scalars_as_torch():
    for a, b in ((ember.tensor([2, 3]), ember.tensor([1, 2])),
                 (ember.tensor([2.0]), ember.tensor([1.0], dtype=ember.float64)),
                 (2.0, ember.tensor([1.0, 2.0])), (ember.tensor([2.0, 3.0]), 1.0)):
        ta = torch.tensor(a.numpy()) if isinstance(a, ember.Tensor) else a
        tb = torch.tensor(b.numpy()) if isinstance(b, ember.Tensor) else b
        want = torch.special.zeta(ta, tb)
        got = S.zeta(a, b)
        assert got.dtype.name == str(want.dtype).split(".")[1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_zeta_derivatives():
    x = ember.tensor([2.0, 3.5, 5.0], dtype=ember.float64, requires_grad=True)
    q = ember.tensor([0.5, 1.0, 7.25], dtype=ember.float64, requires_grad=True)
    S.zeta(x, q).sum().backward()
    eps = 1e-6
    xv, qv = x.detach().numpy(), q.detach().numpy()
    np.testing.assert_allclose(q.grad.numpy(), -xv * sc.zeta(xv + 1, qv), rtol=1e-12)
    fd = (sc.zeta(xv + eps, qv) - sc.zeta(xv - eps, qv)) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-7)
    tq = torch.tensor(qv, requires_grad=True)
    torch.special.zeta(torch.tensor(xv), tq).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), tq.grad.numpy(), rtol=1e-12)
    with pytest.raises(ember.OpError, match="second derivative in x"):
        ember.grad(lambda v: ember.grad(lambda u: S.zeta(u, q.detach()).sum())(v).sum())(
            x.detach())


# ---- the polynomials --------------------------------------------------------------------

POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", POLYS)
def test_polynomials_match_torch(name):
    x = np.concatenate([rng.uniform(-1.5, 1.5, 40), [0.0, 1.0, -1.0, 0.5, np.inf]])
    n = np.array([-2, -1, 0, 1, 2, 3, 4.7, 7, 9, 12, 20])
    X, N = np.meshgrid(x, n)
    want = getattr(torch.special, name)(torch.tensor(X), torch.tensor(N)).numpy()
    got = getattr(S, name)(ember.tensor(X), ember.tensor(N)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
    # a Python number for n, integer tensors, broadcasting
    tw = getattr(torch.special, name)(torch.tensor(x[:5], dtype=torch.float32), 3)
    ew = getattr(S, name)(ember.tensor(x[:5], dtype=ember.float32), 3)
    assert ew.dtype == ember.float32
    np.testing.assert_allclose(ew.numpy(), tw.numpy(), rtol=1e-5)
    ti = getattr(torch.special, name)(torch.tensor([[0, 1, 2]]), torch.tensor([[1], [4]]))
    ei = getattr(S, name)(ember.tensor([[0, 1, 2]]), ember.tensor([[1], [4]]))
    assert ei.dtype == ember.float32 and ei.shape == tuple(ti.shape)
    np.testing.assert_allclose(ei.numpy(), ti.numpy(), rtol=1e-6)


def test_polynomials_under_vmap_and_jit():
    x = ember.tensor(rng.uniform(-1, 1, (4, 3)))
    n = ember.tensor([2.0, 5.0, 3.0])
    f = lambda v: S.legendre_polynomial_p(v, n)  # noqa: E731
    np.testing.assert_array_equal(ember.vmap(f)(x).numpy(), f(x).numpy())
    np.testing.assert_array_equal(ember.jit(f)(x).numpy(), f(x).numpy())
