"""ember.fft (torch.fft's names) and ember.numpy.fft (jax.numpy.fft's): values against
PyTorch and JAX for every function with n/s/dim/norm, gradients against both conventions
(PyTorch's .grad, JAX's grad of complex inputs), vmap and jit. The rule matrix
(tests/ops/test_rules.py) checks the primitives' rules by finite differences."""
import numpy as np
import pytest

import ember
import ember.numpy as enp

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 6))
Z = rng.standard_normal((3, 6)) + 1j * rng.standard_normal((3, 6))

C2C = ["fft", "ifft"]
C2C_N = ["fft2", "ifft2", "fftn", "ifftn"]
R2C = ["rfft", "ihfft"]
C2R = ["irfft", "hfft"]


def _close(e, t, rtol=1e-10):
    t = t.detach().resolve_conj().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert e.dtype.np == t.dtype, (e.dtype, t.dtype)
    np.testing.assert_allclose(e.numpy(), t, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
@pytest.mark.parametrize("name", C2C + R2C + C2R)
@pytest.mark.parametrize("n", [None, 4, 9])
@pytest.mark.parametrize("dim", [-1, 0])
def test_one_dimensional_transforms_match_torch(name, n, dim, norm):
    data = Z if name in C2C + C2R else X
    e = getattr(ember.fft, name)(ember.tensor(data), n=n, dim=dim, norm=norm)
    t = getattr(torch.fft, name)(torch.tensor(data), n=n, dim=dim, norm=norm)
    _close(e, t)


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name", C2C_N + ["rfft2", "irfft2", "rfftn", "irfftn"])
@pytest.mark.parametrize("s_dim", [(None, None), ((4, 5), None), ((4, 5), (0, 1)),
                                   (None, (1, 0)), ((2, 4, 7), (0, 1, 2))])
def test_multi_dimensional_transforms_match_torch(name, s_dim, norm):
    s, dim = s_dim
    data = Z if name.startswith(("f", "i")) else X
    data = np.stack([data, data * 0.5 + 1])  # 3-d: (2, 3, 6)
    kw = {} if dim is None else {"dim": dim}
    if name.endswith("2") and dim is not None and len(dim) != 2:
        return
    if name.endswith("2") and s is not None and len(s) != 2:
        return
    e = getattr(ember.fft, name)(ember.tensor(data), s=s, norm=norm, **kw)
    t = getattr(torch.fft, name)(torch.tensor(data), s=s, norm=norm, **kw)
    _close(e, t)


def test_float32_gives_complex64_and_integers_are_converted():
    e = ember.fft.fft(ember.tensor([1.0, 2.0, 3.0]))
    assert e.dtype is ember.complex64
    _close(e, torch.fft.fft(torch.tensor([1.0, 2.0, 3.0])), rtol=1e-6)
    _close(ember.fft.rfft(ember.tensor([1, 2, 3])), torch.fft.rfft(torch.tensor([1, 2, 3]).float()),
           rtol=1e-6)
    assert ember.fft.irfft(ember.fft.rfft(ember.tensor([1.0, 2.0]))).dtype is ember.float32


def test_freqs_and_shifts_match_torch():
    for n, d in ((4, 1.0), (7, 0.25)):
        _close(ember.fft.fftfreq(n, d), torch.fft.fftfreq(n, d), rtol=1e-6)
        _close(ember.fft.rfftfreq(n, d), torch.fft.rfftfreq(n, d), rtol=1e-6)
    x = np.arange(15.0).reshape(3, 5)
    for dim in (None, 0, (1,), (0, 1)):
        _close(ember.fft.fftshift(ember.tensor(x), dim), torch.fft.fftshift(torch.tensor(x), dim))
        _close(ember.fft.ifftshift(ember.tensor(x), dim),
               torch.fft.ifftshift(torch.tensor(x), dim))


def test_numpy_namespace_matches_jax_numpy():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    try:
        for name, data, kw in (("fft", Z, dict(n=5, axis=0)), ("ifft", Z, dict(norm="ortho")),
                               ("fft2", Z, dict(s=(2, 4))), ("ifftn", Z, dict(axes=(1,))),
                               ("rfft", X, dict(n=8)), ("irfft", Z, dict(n=7, axis=-1)),
                               ("rfft2", X, dict(norm="forward")), ("irfftn", Z, dict(s=(3, 4))),
                               ("hfft", Z, dict(n=6)), ("ihfft", X, dict(axis=0)),
                               ("fftshift", X, dict(axes=1)), ("ifftshift", X, {})):
            e = getattr(enp.fft, name)(enp.asarray(data, dtype=enp.complex128 if
                                                   np.iscomplexobj(data) else enp.float64), **kw)
            j = getattr(jnp.fft, name)(jnp.asarray(data), **kw)
            _close(e, j)
        _close(enp.fft.fftfreq(6, 0.5, dtype=enp.float64), jnp.fft.fftfreq(6, 0.5))
    finally:
        jax.config.update("jax_enable_x64", False)


_LOSSES = {
    "fft": lambda m, z: (m.abs(m.fft.fft(z * z, n=8)) ** 2).sum(),
    "ifft2": lambda m, z: m.real(m.fft.ifft2(z, norm="ortho") * (1 + 1j)).sum(),
    "fftn_s": lambda m, z: m.abs(m.fft.fftn(z, s=(2, 7))).sum(),
    "irfft": lambda m, z: (m.fft.irfft(z, n=9) ** 2).sum(),
    "irfftn": lambda m, z: m.fft.irfftn(z * 1j, norm="forward").sum(),
    "hfft": lambda m, z: m.fft.hfft(m.exp(z), n=4).sin().sum(),
}


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_gradients_of_complex_inputs_match_torch(name):
    e = ember.tensor(Z, requires_grad=True)
    t = torch.tensor(Z, requires_grad=True)
    _LOSSES[name](ember, e).backward()
    _LOSSES[name](torch, t).backward()
    _close(e.grad, t.grad, rtol=1e-9)


@pytest.mark.parametrize("name", ["rfft", "rfft2", "ihfft"])
def test_gradients_of_real_inputs_match_torch(name):
    e = ember.tensor(X, requires_grad=True)
    t = torch.tensor(X, requires_grad=True)
    f = lambda m, x: (m.abs(getattr(m.fft, name)(x * x)) ** 1.5).sum()  # noqa: E731
    f(ember, e).backward()
    f(torch, t).backward()
    _close(e.grad, t.grad, rtol=1e-9)


def test_grad_matches_jax_for_complex_inputs():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    try:
        fe = lambda z: (enp.abs(enp.fft.fft(z, n=8)) ** 2).sum() + enp.real(  # noqa: E731
            enp.fft.irfft(z, n=7)).sum()
        fj = lambda z: (jnp.abs(jnp.fft.fft(z, n=8)) ** 2).sum() + jnp.real(  # noqa: E731
            jnp.fft.irfft(z, n=7)).sum()
        _close(ember.grad(fe)(enp.asarray(Z, dtype=enp.complex128)), jax.grad(fj)(jnp.asarray(Z)))
        _close(ember.jit(ember.grad(fe))(enp.asarray(Z, dtype=enp.complex128)),
               jax.grad(fj)(jnp.asarray(Z)))
    finally:
        jax.config.update("jax_enable_x64", False)


def test_vmap_and_jit_equal_eager():
    zs = ember.tensor(Z)
    f = lambda z: ember.fft.irfft(ember.fft.fft(z, norm="ortho"), n=6)  # noqa: E731
    v = ember.vmap(f)(zs)
    loop = np.stack([f(ember.tensor(r)).numpy() for r in Z])
    np.testing.assert_allclose(v.numpy(), loop, rtol=1e-12)
    np.testing.assert_allclose(ember.jit(f)(zs).numpy(), f(zs).numpy(), rtol=1e-12)
    g = ember.vmap(lambda x: ember.fft.rfft2(x.reshape(2, 3)))(ember.tensor(X))
    assert g.shape == (3, 2, 2)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="norm must be"):
        ember.fft.fft(ember.tensor([1.0]), norm="bad")
    with pytest.raises(TypeError, match="rfft: expects a real input"):
        ember.fft.rfft(ember.tensor([1j]))
    with pytest.raises(IndexError, match="out of range"):
        ember.fft.fft(ember.tensor([1.0, 2.0]), dim=1)
    with pytest.raises(ValueError, match="at least 1"):
        ember.fft.fft(ember.tensor([1.0, 2.0]), n=0)
    with pytest.raises(ValueError, match="same length"):
        ember.fft.fftn(ember.zeros(2, 2), s=(2,), dim=(0, 1))


@pytest.mark.parametrize("name,kw", [("hfft2", {}), ("hfftn", {"dim": (0, 2)}),
                                     ("hfftn", {"s": (4, 6)}), ("ihfft2", {"norm": "ortho"}),
                                     ("ihfftn", {"dim": (1, 2), "norm": "forward"})])
def test_hermitian_nd_transforms_match_torch_with_gradients(name, kw):
    rng_ = np.random.default_rng(1)
    x = rng_.standard_normal((3, 4, 5))
    if name.startswith("hfft"):
        x = x + 1j * rng_.standard_normal((3, 4, 5))
    e = ember.tensor(x).requires_grad_()
    t = torch.tensor(x).requires_grad_()
    oe, ot = getattr(ember.fft, name)(e, **kw), getattr(torch.fft, name)(t, **kw)
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    w = rng_.standard_normal(tuple(ot.shape))
    (oe.abs() * ember.tensor(w)).sum().backward()
    (ot.abs() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-8)
