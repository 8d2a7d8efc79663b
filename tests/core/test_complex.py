"""complex64/complex128 through the core: dtypes and promotion (PyTorch's table), creation,
printing, elementwise math, reductions, products, ordering errors, checkpoints, and the
derivative conventions (PyTorch's ``.grad`` from ``backward()``, JAX's cotangents from
``ember.grad``/``vjp``; JVPs checked by finite differences on complex inputs)."""
import itertools
import os

import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.transforms import jvp, vjp

torch = pytest.importorskip("torch")

Z0 = np.array([1 + 2j, -0.5 + 0.3j, 0.7 - 1.1j])


def _c128(z=Z0, **kw):
    return ember.tensor(z, dtype=ember.complex128, **kw)


def test_dtype_objects_and_names():
    assert ember.cfloat is ember.complex64 and ember.cdouble is ember.complex128
    assert enp.complex64 is ember.complex64 and enp.complex128 is ember.complex128
    assert ember.complex64.is_complex and not ember.complex64.is_floating_point
    assert ember.complex64.itemsize == 8 and ember.complex128.np == np.complex128
    assert ember.tensor([1 + 2j]).dtype is ember.complex64  # the default complex dtype
    assert ember.tensor(np.array([1j])).dtype is ember.complex128  # NumPy's dtype kept
    assert ember.zeros(2, dtype=ember.complex64).dtype is ember.complex64
    assert ember.tensor([1j]).is_complex() and ember.is_complex(ember.tensor([1j]))
    assert not ember.tensor([1.0]).is_complex()
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1j]).dtype is ember.complex128
    finally:
        ember.set_default_dtype(ember.float32)


_DTS = ["bool", "int32", "int64", "float16", "float32", "float64", "complex64", "complex128"]


@pytest.mark.parametrize("a,b", list(itertools.combinations_with_replacement(_DTS, 2)))
def test_promotion_matches_torch(a, b):
    ea, eb = getattr(ember, a), getattr(ember, b)
    ta, tb = getattr(torch, a), getattr(torch, b)
    assert ember.promote_types(ea, eb).name == str(torch.promote_types(ta, tb))[6:]
    # tensors of each priority: dimensioned, 0-d, and Python scalars (weak)
    x = ember.ones(2, dtype=ea)
    tx = torch.ones(2, dtype=ta)
    for y, ty in ((ember.ones((), dtype=eb), torch.ones((), dtype=tb)),
                  (ember.ones(2, dtype=eb), torch.ones(2, dtype=tb))):
        if "float16" in (a, b) and "complex" in a + b and "complex32" in str((tx + ty).dtype):
            continue  # torch's complex32 (experimental): ember has no complex32
        assert (x + y).dtype.name == str((tx + ty).dtype)[6:], (a, b)
        assert (y + x).dtype.name == str((ty + tx).dtype)[6:], (a, b)
    for s in (2, 2.5, 1j):
        if a in ("bool", "float16") and isinstance(s, complex):
            continue  # torch: complex32 (experimental), which ember does not have
        assert (x * s).dtype.name == str((tx * s).dtype)[6:], (a, s)


def test_printing_matches_torch():
    for data, dt in (([1 + 2j, 3 - 1j], None), ([0.5 + 1.25j, -2j], None),
                     ([[1 + 1j, 2], [0, -1j]], None), ([1 + 2j], "complex128")):
        e = ember.tensor(data, dtype=None if dt is None else getattr(ember, dt))
        t = torch.tensor(data, dtype=None if dt is None else getattr(torch, dt))
        assert repr(e) == repr(t).replace("torch.", "ember."), (repr(e), repr(t))


def test_parts_and_constructors():
    z = ember.tensor([1 + 2j, 3 - 1j])
    np.testing.assert_array_equal(z.real.numpy(), [1, 3])
    np.testing.assert_array_equal(z.imag.numpy(), [2, -1])
    assert z.real.dtype is ember.float32 and _c128().imag.dtype is ember.float64
    np.testing.assert_array_equal(z.conj().numpy(), [1 - 2j, 3 + 1j])
    np.testing.assert_allclose(ember.angle(z).numpy(), np.angle(z.numpy()), rtol=1e-6)
    np.testing.assert_allclose(ember.abs(z).numpy(), np.abs(z.numpy()), rtol=1e-6)
    assert ember.abs(z).dtype is ember.float32
    r = ember.view_as_real(z)
    assert r.shape == (2, 2) and r.dtype is ember.float32
    np.testing.assert_array_equal(ember.view_as_complex(r).numpy(), z.numpy())
    c = ember.complex(ember.tensor([1.0, 2.0]), ember.tensor([0.5, -1.0]))
    np.testing.assert_array_equal(c.numpy(), [1 + 0.5j, 2 - 1j])
    p = ember.polar(ember.tensor([2.0], dtype=ember.float64), ember.tensor([0.5], dtype=ember.float64))
    np.testing.assert_allclose(p.numpy(), torch.polar(torch.tensor([2.0], dtype=torch.float64),
                                                      torch.tensor([0.5], dtype=torch.float64)))
    np.testing.assert_allclose(ember.angle(ember.tensor([-2.0, 0.0, 3.0])).numpy(),
                               torch.angle(torch.tensor([-2.0, 0.0, 3.0])).numpy())
    np.testing.assert_allclose(ember.sgn(ember.tensor([3 + 4j, 0j])).numpy(), [0.6 + 0.8j, 0])
    with pytest.raises(TypeError, match="same floating dtype"):
        ember.complex(ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64))
    with pytest.raises(TypeError, match="imag: expects a complex tensor"):
        ember.imag(ember.tensor([1.0]))
    with pytest.raises(TypeError, match="last dim has size 2"):
        ember.view_as_complex(ember.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh",
                                  "cosh", "sigmoid", "reciprocal", "neg", "expm1", "log1p",
                                  "rsqrt", "square"])
def test_unary_math_matches_torch(name):
    e = getattr(ember, name)(_c128())
    t = getattr(torch, name)(torch.tensor(Z0))
    assert e.dtype is ember.complex128
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def test_arithmetic_reductions_and_products_match_torch():
    a, b = Z0, np.array([0.3 - 0.2j, 2 + 0.5j, -1j])
    e, f = _c128(a), _c128(b)
    t, u = torch.tensor(a), torch.tensor(b)
    for op in (lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
               lambda x, y: x ** y, lambda x, y: x * 2.5 - 1j, lambda x, y: x.sum(),
               lambda x, y: x.mean(), lambda x, y: x.prod(), lambda x, y: x @ y,
               lambda x, y: x.reshape(3, 1) @ y.reshape(1, 3),
               lambda x, y: x.reshape(3, 1)[1:, 0] * y[None, 2], lambda x, y: x.cumsum(0),
               lambda x, y: x == y, lambda x, y: x != x, lambda x, y: x.isfinite()):
        np.testing.assert_allclose(op(e, f).numpy(), op(t, u).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ember.einsum("i,j->ij", e, f).numpy(),
                               torch.einsum("i,j->ij", t, u).numpy())
    nan = _c128([complex(np.nan, 0), complex(0, np.inf), 1j])
    tn = torch.tensor([complex(np.nan, 0), complex(0, np.inf), 1j])
    for op in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(ember, op)(nan).numpy(), getattr(torch, op)(tn))
    # mixed real and complex operands
    x = ember.tensor([1.0, 2.0, 3.0])
    assert (x * e.to(ember.complex64)).dtype is ember.complex64
    assert (x.double() + ember.tensor([1j])).dtype is ember.complex128
    assert e.to(ember.float64).dtype is ember.float64  # keeps the real part
    np.testing.assert_array_equal(e.to(ember.float64).numpy(), a.real)


@pytest.mark.parametrize("op", [lambda z: z < z, lambda z: z >= 1, lambda z: z.max(),
                                lambda z: z.min(dim=0), lambda z: z.argmax(),
                                lambda z: ember.sort(z), lambda z: ember.maximum(z, z),
                                lambda z: z.clamp(0, 1), lambda z: z.floor(),
                                lambda z: ember.relu(z), lambda z: z.sign(),
                                lambda z: ember.topk(z, 1), lambda z: z.amax()])
def test_ordering_operations_refuse_complex(op):
    with pytest.raises(TypeError, match="complex numbers have no order"):
        op(_c128())


def test_safetensors_round_trip_and_complex128_error(tmp_path):
    z = ember.tensor([1 + 2j, -3j])
    path = os.path.join(tmp_path, "c.safetensors")
    ember.save({"z": z}, path)
    back = ember.load(path)["z"]
    assert back.dtype is ember.complex64
    np.testing.assert_array_equal(back.numpy(), z.numpy())
    with pytest.raises(TypeError, match="no complex128"):
        ember.save({"z": _c128()}, path)


# ---- derivatives ------------------------------------------------------------------------

_FUNCS = {  # a real loss of complex z, written for ember/torch (m) and for jax.numpy (j)
    "abs2": lambda m, z: (m.abs(z) ** 2).sum(),
    "abs": lambda m, z: m.abs(z).sum(),
    "real_exp": lambda m, z: m.real(m.exp(z) * z).sum(),
    "imag_sin_div": lambda m, z: m.imag(m.sin(z) / (z + 1)).sum(),
    "angle": lambda m, z: m.angle(z).sum(),
    "conj": lambda m, z: m.real(m.conj(z) * z * z).sum(),
    "sqrt_log": lambda m, z: m.abs(m.sqrt(z) + m.log(z)).sum(),
    "tanh_pow": lambda m, z: m.real(m.tanh(z) ** 2.5).sum(),
    "outer_matmul": lambda m, z: m.abs(m.outer(z, z) @ z).sum(),
    "mean_prod": lambda m, z: m.abs(z.mean() * z.prod()),
}


@pytest.mark.parametrize("name", sorted(_FUNCS))
def test_backward_gives_torchs_grad(name):
    f = _FUNCS[name]
    e = _c128(requires_grad=True)
    f(ember, e).backward()
    t = torch.tensor(Z0, requires_grad=True)
    f(torch, t).backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(_FUNCS))
def test_grad_gives_jaxs_cotangent(name):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    try:
        g = ember.grad(lambda z: _FUNCS[name](ember, z))(_c128())
        jg = jax.grad(lambda z: _FUNCS[name](_JaxM, z))(jnp.asarray(Z0))
        np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=1e-10, atol=1e-12)
        # jit(grad) gives the same
        gj = ember.jit(ember.grad(lambda z: _FUNCS[name](ember, z)))(_c128())
        np.testing.assert_allclose(gj.numpy(), g.numpy(), rtol=1e-12, atol=1e-14)
    finally:
        jax.config.update("jax_enable_x64", False)


class _JaxM:  # jax.numpy under the names the test functions use
    def __getattr__(self, name):
        import jax.numpy as jnp
        return getattr(jnp, name)


_JaxM = _JaxM()


def test_grad_conventions_are_conjugates_and_real_loss_descends():
    # |z - w|^2 with PyTorch's .grad: z - lr * grad moves z towards w
    w = ember.tensor([0.5 - 0.5j], dtype=ember.complex128)
    z = ember.tensor([2 + 1j], dtype=ember.complex128, requires_grad=True)
    for _ in range(50):
        z.grad = None
        (ember.abs(z - w) ** 2).sum().backward()
        with ember.no_grad():
            z -= 0.1 * z.grad
    np.testing.assert_allclose(z.detach().numpy(), w.numpy(), atol=1e-4)
    g = ember.grad(lambda v: (ember.abs(v - w) ** 2).sum())(_c128([2 + 1j]))
    np.testing.assert_allclose(g.numpy(), np.conj(2 * (np.array([2 + 1j]) - (0.5 - 0.5j))))


def test_holomorphic_grad_is_the_complex_derivative():
    g = ember.grad(lambda z: (z ** 3 + ember.sin(z)).sum(), holomorphic=True)(_c128())
    np.testing.assert_allclose(g.numpy(), 3 * Z0 ** 2 + np.cos(Z0), rtol=1e-12)
    with pytest.raises(TypeError, match="holomorphic=True"):
        ember.grad(lambda z: z.sum(), holomorphic=True)(ember.tensor([1.0]))
    with pytest.raises(TypeError, match="the output is complex"):
        ember.grad(lambda z: (z * z).sum())(_c128())


def test_backward_with_a_complex_seed_and_hooks_match_torch():
    g0 = np.array([0.2 - 1j, 1 + 0.5j, -0.3j])
    e = _c128(requires_grad=True)
    t = torch.tensor(Z0, requires_grad=True)
    seen_e, seen_t = [], []
    ye, yt = ember.sin(e) * e, torch.sin(t) * t
    ye.register_hook(lambda g: seen_e.append(g.numpy().copy()))
    yt.register_hook(lambda g: seen_t.append(g.numpy().copy()))
    ye.backward(ember.tensor(g0))
    yt.backward(torch.tensor(g0))
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(seen_e[0], seen_t[0])
    a = _c128(requires_grad=True)
    (ga,) = ember.autograd.grad(ember.abs(a * a).sum(), [a])
    ta = torch.tensor(Z0, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.abs(ta * ta).sum(), [ta])
    np.testing.assert_allclose(ga.numpy(), gt.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda z: z * z * (1 + 2j), lambda z: ember.exp(z) / (z + 2), lambda z: ember.conj(z) * z,
    lambda z: ember.abs(z), lambda z: ember.angle(z), lambda z: ember.real(z * z),
    lambda z: ember.imag(ember.sqrt(z)), lambda z: ember.tanh(z) ** 2.5,
    lambda z: ember.view_as_real(z * 1j)], ids=range(9))
def test_jvp_matches_finite_differences_on_complex_inputs(fn):
    z, t = _c128(), _c128(np.array([0.3 - 0.7j, 1.1 + 0.2j, -0.4 + 0.9j]))
    _, tan = jvp(fn, (z,), (t,))
    eps = 1e-6
    fd = (fn(_c128(Z0 + eps * t.numpy())).numpy() - fn(_c128(Z0 - eps * t.numpy())).numpy()) / (2 * eps)
    np.testing.assert_allclose(tan.numpy(), fd, rtol=1e-6, atol=1e-8)
    # the VJP is the transpose of the JVP over the reals. JAX's cotangent ``c`` is the real
    # functional ``v -> Re(sum(c * v))`` (no conjugate), so <ct, J t> = <VJP(ct), t>
    out, f_vjp = vjp(fn, z)
    ct = out * 0 + (0.4 - 0.9j if out.dtype.is_complex else 0.7)
    (g,) = f_vjp(ct)
    lhs = np.real(np.sum(ct.numpy() * tan.numpy()))
    rhs = np.real(np.sum(g.numpy() * t.numpy()))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-8)


def test_vmap_and_jit_of_complex_functions():
    f = lambda z: ember.abs(ember.exp(z) * ember.conj(z)) + ember.real(z)  # noqa: E731
    zs = _c128(np.stack([Z0, Z0 * 2j]))
    v = ember.vmap(f)(zs)
    loop = np.stack([f(_c128(r)).numpy() for r in zs.numpy()])
    np.testing.assert_allclose(v.numpy(), loop, rtol=1e-12)
    np.testing.assert_allclose(ember.jit(f)(zs).numpy(), f(zs).numpy(), rtol=1e-12)


def test_statistics_norms_and_helpers_match_torch():
    e, t = _c128(requires_grad=True), torch.tensor(Z0, requires_grad=True)
    for f in (lambda m, z: z.var(), lambda m, z: z.std(dim=0), lambda m, z: m.linalg.norm(z),
              lambda m, z: m.linalg.vector_norm(z, 1), lambda m, z: z.norm(),
              lambda m, z: m.linalg.norm(z.reshape(3, 1))):
        np.testing.assert_allclose(f(ember, e).detach().numpy(), f(torch, t).detach().numpy(),
                                   rtol=1e-12)
    e.var().backward()
    t.var().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert e.var().dtype is ember.float64
    np.testing.assert_array_equal(ember.isclose(e, e + 1e-9).numpy(), [True] * 3)
    np.testing.assert_array_equal(enp.isclose(e.detach(), e.detach() + 0.1j).numpy(), [False] * 3)
    assert ember.full((2,), 1j).dtype is ember.complex64
    assert repr(ember.tensor([1 + 2j, -0.5j])) == "tensor([1.+2.0000j, -0.-0.5000j])"
