"""ember.linalg (torch.linalg's names) and ember.numpy.linalg (jax.numpy.linalg's names):
values against PyTorch and JAX, batching over leading dims, errors. The derivative rules of
the primitives are checked in tests/ops/test_rules.py (finite differences, JVP vs VJP, vmap,
jit, PyTorch parity)."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
J = jax.numpy


pytestmark = pytest.mark.usefixtures("jax_x64")  # float64 on both sides (tests/conftest.py)


rng = np.random.default_rng(7)


def _close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    np.testing.assert_allclose(a, np.asarray(b), rtol=tol, atol=tol)


def _spd(*shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("name", ["det", "inv", "slogdet", "cholesky", "eigvalsh", "svdvals",
                                  "pinv", "matrix_rank", "matrix_norm", "vector_norm", "norm"])
def test_batched_values_match_torch(name):
    a = _spd(2, 3, 4, 4)
    e = getattr(ember.linalg, name)(ember.tensor(a))
    t = getattr(torch.linalg, name)(torch.tensor(a))
    for x, y in zip(e if isinstance(e, tuple) else (e,), t if isinstance(t, tuple) else (t,)):
        _close(x, y.numpy(), 1e-9)


def test_decompositions_reconstruct_and_match_torch():
    a = rng.standard_normal((2, 5, 3))
    q, r = ember.linalg.qr(ember.tensor(a))
    _close(q @ r, a)
    tq, tr = torch.linalg.qr(torch.tensor(a))
    _close(q, tq.numpy())
    _close(r, tr.numpy())
    for full in (True, False):
        u, s, vh = ember.linalg.svd(ember.tensor(a), full_matrices=full)
        tu, ts, tvh = torch.linalg.svd(torch.tensor(a), full_matrices=full)
        assert tuple(u.shape) == tuple(tu.shape) and tuple(vh.shape) == tuple(tvh.shape)
        _close(s, ts.numpy())
    u, s, vh = ember.linalg.svd(ember.tensor(a), full_matrices=False)
    _close((u * s.unsqueeze(-2)) @ vh, a)
    w, v = ember.linalg.eigh(ember.tensor(_spd(3, 3)))
    tw, _ = torch.linalg.eigh(torch.tensor(_spd(3, 3)))
    assert tuple(w.shape) == (3,) and tuple(v.shape) == (3, 3)


def test_solves_match_torch():
    a, b = _spd(2, 3, 3), rng.standard_normal((2, 3, 2))
    _close(ember.linalg.solve(ember.tensor(a), ember.tensor(b)),
           torch.linalg.solve(torch.tensor(a), torch.tensor(b)).numpy())
    # a vector right-hand side per matrix (PyTorch's rule: b.shape == a.shape[:-1])
    _close(ember.linalg.solve(ember.tensor(a), ember.tensor(b[..., 0])),
           torch.linalg.solve(torch.tensor(a), torch.tensor(b[..., 0])).numpy())
    L = np.linalg.cholesky(a)
    _close(ember.cholesky_solve(ember.tensor(b), ember.tensor(L)),
           torch.cholesky_solve(torch.tensor(b), torch.tensor(L)).numpy())
    x, _ = ember.triangular_solve(ember.tensor(b), ember.tensor(L), upper=False)
    _close(x, torch.triangular_solve(torch.tensor(b), torch.tensor(L), upper=False)[0].numpy())
    _close(ember.linalg.lstsq(ember.tensor(b[0]), ember.tensor(a[0, :, :2])).solution,
           torch.linalg.lstsq(torch.tensor(b[0]), torch.tensor(a[0, :, :2])).solution.numpy())
    _close(ember.linalg.matrix_power(ember.tensor(a[0]), -3),
           torch.linalg.matrix_power(torch.tensor(a[0]), -3).numpy(), 1e-8)
    c = rng.standard_normal((4, 3))
    _close(ember.linalg.cross(ember.tensor(c), ember.tensor(c[::-1].copy())),
           torch.linalg.cross(torch.tensor(c), torch.tensor(c[::-1].copy())).numpy())


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norm_orders_match_numpy(ord):
    a = rng.standard_normal((3, 4))
    _close(jnp.linalg.norm(a, ord), np.linalg.norm(a, ord))
    _close(jnp.linalg.norm(ember.tensor(a[None]), ord, axis=(1, 2), keepdims=True),
           np.linalg.norm(a[None], ord, axis=(1, 2), keepdims=True))


@pytest.mark.parametrize("ord", [None, 1, 2, 3.5, 0, np.inf, -np.inf])
def test_vector_norm_orders_match_numpy(ord):
    a = rng.standard_normal((3, 4))
    _close(jnp.linalg.norm(a, ord, axis=1), np.linalg.norm(a, ord, axis=1))


def test_numpy_linalg_matches_jax():
    a = rng.standard_normal((3, 3))
    s = _spd(3, 3)
    for name, arg in (("det", a), ("inv", a), ("pinv", a), ("cholesky", s), ("svdvals", a),
                      ("matrix_rank", a)):
        _close(getattr(jnp.linalg, name)(arg), getattr(J.linalg, name)(arg), 1e-9)
    _close(jnp.linalg.eigh(s).eigenvalues, J.linalg.eigh(s).eigenvalues)
    _close(jnp.linalg.slogdet(a).logabsdet, J.linalg.slogdet(a).logabsdet)
    _close(jnp.linalg.solve(a, a[0]), J.linalg.solve(a, a[0]))
    _close(jnp.linalg.lstsq(a[:, :2], a[0])[0], J.linalg.lstsq(a[:, :2], a[0])[0])
    _close(jnp.linalg.qr(a, mode="r"), J.linalg.qr(a, mode="r"))
    # eigh symmetrises (a + a^T) / 2 as jax.numpy.linalg.eigh: values and gradients
    _close(jnp.linalg.eigh(a).eigenvalues, J.linalg.eigh(a).eigenvalues)
    g = ember.grad(lambda x: jnp.linalg.eigvalsh(x)[-1])(ember.tensor(a))
    _close(g, jax.grad(lambda x: J.linalg.eigvalsh(x)[-1])(a), 1e-8)
    g = ember.grad(lambda x: jnp.linalg.det(x))(ember.tensor(a))
    _close(g, jax.grad(J.linalg.det)(a))
    import ember.numpy.linalg as L  # importable as a module, too
    assert L.det is jnp.linalg.det


def test_scipy_linalg_matches_jax():
    import jax.scipy.linalg as JS
    import ember.scipy.linalg as ES
    s, b = _spd(3, 3), rng.standard_normal((3, 2))
    _close(ES.cholesky(s), JS.cholesky(s))
    _close(ES.cho_solve(ES.cho_factor(s), b), JS.cho_solve(JS.cho_factor(s), b))
    for trans in (0, 1):
        for lower in (True, False):
            _close(ES.solve_triangular(s, b, trans=trans, lower=lower),
                   JS.solve_triangular(s, b, trans=trans, lower=lower))
    _close(ES.solve(s, b, assume_a="pos"), JS.solve(s, b, assume_a="pos"))
    _close(ES.eigh(s, eigvals_only=True), JS.eigh(s, eigvals_only=True))
    _close(ES.qr(s[:, :2])[1], JS.qr(s[:, :2])[1])


def test_gradients_against_torch_batched():
    a = rng.standard_normal((2, 4, 3))
    for f in (lambda m, x: m.linalg.pinv(x), lambda m, x: m.linalg.svdvals(x),
              lambda m, x: m.linalg.qr(x)[1], lambda m, x: m.linalg.matrix_norm(x, "nuc"),
              lambda m, x: m.linalg.det(x.mT @ x), lambda m, x: m.linalg.eigh(x.mT @ x)[0]):
        e = ember.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        f(ember, e).sum().backward()
        f(torch, t).sum().backward()
        _close(e.grad, t.grad.numpy(), 1e-8)


def test_errors_are_clear():
    with pytest.raises(ember.linalg.LinAlgError, match="singular"):
        ember.linalg.inv(ember.zeros(3, 3))
    with pytest.raises(ember.linalg.LinAlgError, match="positive-definite"):
        ember.linalg.cholesky(-ember.eye(3))
    with pytest.raises(ValueError, match="square"):
        ember.linalg.det(ember.ones(2, 3))
    with pytest.raises(TypeError, match="complex matrices are not supported"):
        ember.linalg.inv(ember.eye(2).to(ember.complex64))
    with pytest.raises(ValueError, match="square"):
        ember.linalg.eig(ember.ones(2, 3))
    with pytest.raises(NotImplementedError, match="mode='complete' of a tall matrix"):
        ember.grad(lambda x: ember.linalg.qr(x, mode="complete")[0].sum())(ember.ones(3, 2))
    with pytest.raises(ValueError, match="size 3"):
        ember.linalg.cross(ember.ones(2), ember.ones(2))


def test_vmap_and_jit_of_compositions():
    a = ember.tensor(_spd(4, 3, 3))
    jitted = ember.jit(lambda x: ember.linalg.inv(x) @ x)
    _close(jitted(a), np.broadcast_to(np.eye(3), (4, 3, 3)))
    _close(ember.vmap(ember.linalg.det)(a), np.linalg.det(a.numpy()))
    _close(ember.vmap(lambda x: ember.linalg.cholesky(x))(a), np.linalg.cholesky(a.numpy()))


@pytest.mark.parametrize("kind", ["real", "complex"])
def test_eig_values_and_gradients_match_torch(kind):
    r = np.random.default_rng(17)  # (its own generator: the matrices don't depend on which
    # tests ran before in this process)
    a = r.standard_normal((2, 4, 4))
    if kind == "complex":
        a = a + 1j * r.standard_normal((2, 4, 4))
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (we, ve), (wt, vt) = ember.linalg.eig(e), torch.linalg.eig(t)
    assert we.dtype is ember.complex128 and ve.dtype is ember.complex128
    _close(we, wt.detach())
    # unit eigenvectors are unique up to a phase, which LAPACK builds may choose differently:
    # each column turned by the phase that aligns it with PyTorch's
    v, vref = ve.detach().numpy(), vt.detach().numpy()
    s = np.sum(np.conj(v) * vref, axis=-2, keepdims=True)
    np.testing.assert_allclose(np.abs(s), 1, rtol=1e-10)
    _close(v * (s / np.abs(s)), vref)
    _close(ember.linalg.eigvals(e), torch.linalg.eigvals(t).detach())
    _close(ve @ ember.diag_embed(we), e.to(ember.complex128) @ ve)  # A V = V diag(w)
    f = lambda m, w, v: (m.abs(w) ** 2).sum() + m.real(w * (1 + 2j)).sum() + (  # noqa: E731
        m.abs(v) ** 3).sum()
    f(ember, we, ve).backward()
    f(torch, wt, vt).backward()
    _close(e.grad, t.grad, 1e-9)
    assert ember.linalg.eigvals(ember.eye(2)).dtype is ember.complex64  # float32 input


def test_eig_grad_matches_jax_and_vmap_jit_agree():
    a = rng.standard_normal((3, 3))
    f = lambda m: lambda x: (m.abs(m.linalg.eigvals(x) - 0.5j) ** 2).sum()  # noqa: E731
    _close(ember.grad(f(jnp))(ember.tensor(a)), jax.grad(f(J))(a), 1e-9)
    batch = ember.tensor(rng.standard_normal((4, 3, 3)))
    v = ember.vmap(ember.grad(f(jnp)))(batch)
    loop = np.stack([ember.grad(f(jnp))(b).numpy() for b in batch])
    _close(v, loop)
    _close(ember.jit(ember.grad(f(jnp)))(batch[0]), loop[0])
    _close(jnp.linalg.eigvals(batch), np.linalg.eigvals(batch.numpy()))
