"""ember/torch_extras.py and the LU family of ember.linalg, against PyTorch."""
import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # the parity checks skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
rng = np.random.default_rng(0)


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _close(e, t, tol=1e-5):
    for a, b in zip(np.atleast_1d(_np(e)) if not isinstance(e, (tuple, list)) else _np(e),
                    np.atleast_1d(_np(t)) if not isinstance(t, (tuple, list)) else _np(t)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _pair(a):
    return ember.tensor(a).requires_grad_(), torch.tensor(a).requires_grad_()


def _grads_match(fe, ft, a, tol=1e-4):
    e, t = _pair(a)
    oe, ot = fe(e), ft(t)
    w = rng.standard_normal(tuple(ot.shape))
    (oe * ember.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    _close(oe, ot, tol)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@needs_torch
@pytest.mark.parametrize("shape", [(4, 4), (6, 4), (4, 6), (2, 3, 3)])
def test_lu_factors_and_gradients_match_torch(shape):
    a = rng.standard_normal(shape)
    P, L, U = ember.linalg.lu(ember.tensor(a))
    tP, tL, tU = torch.linalg.lu(torch.tensor(a))
    _close([P, L, U], [tP, tL, tU], 1e-10)
    LU, piv = ember.linalg.lu_factor(ember.tensor(a))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    _close(LU, tLU, 1e-10)
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    assert piv.dtype == ember.int32
    _close(ember.lu_unpack(LU, piv), torch.lu_unpack(tLU, tpiv), 1e-10)
    for k in (1, 2):  # the L and U factors' gradients, square and rectangular
        _grads_match(lambda x: ember.linalg.lu(x)[k], lambda x: torch.linalg.lu(x)[k], a)
    _grads_match(lambda x: ember.linalg.lu_factor(x)[0],
                 lambda x: torch.linalg.lu_factor(x)[0], a)


@needs_torch
@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False),
                                          (False, True)])
def test_lu_solve_matches_torch_with_gradients(left, adjoint):
    a = rng.standard_normal((2, 4, 4)) + 3 * np.eye(4)
    b = rng.standard_normal((2, 4, 3) if left else (2, 3, 4))
    out = ember.linalg.lu_solve(*ember.linalg.lu_factor(ember.tensor(a)), ember.tensor(b),
                                left=left, adjoint=adjoint)
    ref = torch.linalg.lu_solve(*torch.linalg.lu_factor(torch.tensor(a)), torch.tensor(b),
                                left=left, adjoint=adjoint)
    _close(out, ref, 1e-10)
    _grads_match(lambda x: ember.linalg.lu_solve(*ember.linalg.lu_factor(x), ember.tensor(b),
                                                 left=left, adjoint=adjoint),
                 lambda x: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), torch.tensor(b),
                                                 left=left, adjoint=adjoint), a, 1e-8)
    LU, piv = ember.lu(ember.tensor(a))  # the legacy names
    _close(ember.lu_solve(ember.tensor(b if left else b.swapaxes(-1, -2)), LU, piv),
           torch.lu_solve(torch.tensor(b if left else b.swapaxes(-1, -2)),
                          *torch.lu(torch.tensor(a))), 1e-10)


def test_lu_under_jit_and_vmap_gives_eager_results():
    a = ember.tensor(rng.standard_normal((3, 4, 4)))
    eager = ember.linalg.lu(a)
    jitted = ember.jit(lambda x: ember.linalg.lu(x))(a)
    mapped = ember.vmap(lambda x: ember.linalg.lu(x))(a)
    for e, j, m in zip(eager, jitted, mapped):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
        np.testing.assert_array_equal(e.numpy(), m.numpy())
    with pytest.raises(ember.OpError, match="lu_pivots_to_permutation: pivots must lie in"):
        ember.lu_unpack(ember.zeros(3, 3), ember.tensor([4, 1, 1], dtype=ember.int32))


@needs_torch
def test_linalg_extras_match_torch():
    a = rng.standard_normal((3, 4, 4))
    for p in (None, 2, -2, "fro", "nuc", 1, -1, float("inf"), float("-inf")):
        _close(ember.linalg.cond(ember.tensor(a), p), torch.linalg.cond(torch.tensor(a), p),
               1e-8)
    x = rng.standard_normal((2, 5))
    _close(ember.linalg.vander(ember.tensor(x), N=4), torch.linalg.vander(torch.tensor(x), N=4))
    _close(ember.linalg.vander(ember.tensor(2.0), N=3), torch.linalg.vander(torch.tensor(2.0),
                                                                               N=3))
    t = rng.standard_normal((4, 6, 8, 3))
    _close(ember.linalg.tensorinv(ember.tensor(t), ind=2),
           torch.linalg.tensorinv(torch.tensor(t), ind=2), 1e-8)
    A, B = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    _close(ember.linalg.tensorsolve(ember.tensor(A), ember.tensor(B), dims=[0, 2]),
           torch.linalg.tensorsolve(torch.tensor(A), torch.tensor(B), dims=[0, 2]), 1e-8)
    b = rng.standard_normal((3, 4, 2))
    res, info = ember.linalg.solve_ex(ember.tensor(a), ember.tensor(b))
    tres, tinfo = torch.linalg.solve_ex(torch.tensor(a), torch.tensor(b))
    _close(res, tres, 1e-10)
    np.testing.assert_array_equal(info.numpy(), tinfo.numpy())


@needs_torch
def test_matrix_exp_and_cholesky_inverse_match_torch_with_gradients():
    for scale in (0.1, 1.0, 6.0):
        a = rng.standard_normal((2, 5, 5)) * scale
        _grads_match(ember.matrix_exp, torch.matrix_exp, a, 1e-7 * max(1.0, scale ** 4))
        _close(ember.linalg.matrix_exp(ember.tensor(a)), torch.linalg.matrix_exp(torch.tensor(a)),
               1e-7 * max(1.0, scale ** 4))
    a32 = rng.standard_normal((4, 4)).astype(np.float32)
    e = ember.matrix_exp(ember.tensor(a32))
    assert e.dtype == ember.float32
    _close(e, torch.matrix_exp(torch.tensor(a32, dtype=torch.float64)), 1e-5)
    L = np.tril(rng.standard_normal((4, 4))) + 3 * np.eye(4)
    for upper, f in ((False, L), (True, L.T)):
        _close(ember.cholesky_inverse(ember.tensor(f), upper=upper),
               torch.cholesky_inverse(torch.tensor(f), upper=upper), 1e-10)
    # PyTorch's gradient also fills the unread triangle; on the factor's own triangle they agree
    e, t = _pair(L)
    ember.cholesky_inverse(e).sum().backward()
    torch.cholesky_inverse(t).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), np.tril(t.grad.numpy()), rtol=1e-8, atol=1e-8)


@needs_torch
def test_legacy_decompositions_match_torch():
    a = rng.standard_normal((5, 3))
    U, S, V = ember.svd(ember.tensor(a))
    tU, tS, tV = torch.svd(torch.tensor(a))
    assert tuple(U.shape) == tuple(tU.shape) and tuple(V.shape) == tuple(tV.shape)
    _close(S, tS, 1e-10)
    np.testing.assert_allclose((U.numpy() * S.numpy()) @ V.numpy().T, a, atol=1e-10)
    U, S, V = ember.svd(ember.tensor(a), some=False)
    assert tuple(U.shape) == (5, 5) and tuple(V.shape) == (3, 3)
    U0, S0, V0 = ember.svd(ember.tensor(a), compute_uv=False)
    _close(S0, tS, 1e-10)
    assert not U0.numpy().any() and tuple(U0.shape) == (5, 3)
    Q, R = ember.qr(ember.tensor(a), some=False)
    assert tuple(Q.shape) == (5, 5) and tuple(R.shape) == (5, 3)
    spd = a.T @ a + np.eye(3)
    _close(ember.cholesky(ember.tensor(spd), upper=True),
           torch.cholesky(torch.tensor(spd), upper=True), 1e-10)


@needs_torch
def test_small_functions_match_torch():
    x = rng.standard_normal((4, 5))
    for kw in ({}, {"spacing": 2.0}, {"dim": 1}, {"edge_order": 2},
               {"spacing": ([0.0, 1.0, 3.0, 4.5],), "dim": 0},
               {"spacing": ([0.0, 1.0, 3.0, 4.5],), "dim": 0, "edge_order": 2}):
        ek = dict(kw)
        tk = dict(kw)
        if "spacing" in kw and isinstance(kw["spacing"], tuple):
            ek["spacing"] = (ember.tensor(kw["spacing"][0]),)
            tk["spacing"] = (torch.tensor(kw["spacing"][0], dtype=torch.float64),)
        _close(ember.gradient(ember.tensor(x), **ek), torch.gradient(torch.tensor(x), **tk))
    _grads_match(lambda v: ember.gradient(v, edge_order=2)[1],
                 lambda v: torch.gradient(v, edge_order=2)[1], x)
    v = np.array([8.0, 0.75, -3.0, 0.0, 1e-30], np.float32)
    m, e = ember.frexp(ember.tensor(v))
    tm, te = torch.frexp(torch.tensor(v))
    _close(m, tm)
    np.testing.assert_array_equal(e.numpy(), te.numpy())
    assert e.dtype == ember.int32
    _close(ember.i0(ember.tensor(x)), torch.i0(torch.tensor(x)))
    for acc in (False, True):
        idx = np.array([0, 7, -1, 7])
        _close(ember.put(ember.tensor(x), ember.tensor(idx), ember.tensor([1.0, 2, 3, 4]), acc),
               torch.put(torch.tensor(x), torch.tensor(idx),
                         torch.tensor([1.0, 2, 3, 4], dtype=torch.float64), acc))
    y = ember.tensor(x)
    assert y.put_(ember.tensor([0]), ember.tensor([9.0])) is y and y[0, 0].item() == 9.0
    with pytest.raises(IndexError, match="put: index 20 is out of range"):
        ember.put(ember.tensor(x), ember.tensor([20]), ember.tensor([1.0]))
    for red in ("prod", "mean", "amax", "amin"):
        for inc in (True, False):
            src = rng.standard_normal((3, 5))
            _close(ember.tensor(x).index_reduce(0, ember.tensor([0, 2, 0]), ember.tensor(src),
                                                red, include_self=inc),
                   torch.tensor(x).index_reduce(0, torch.tensor([0, 2, 0]), torch.tensor(src),
                                                red, include_self=inc))
    assert ember.atleast_3d(ember.ones(3)).shape == torch.atleast_3d(torch.ones(3)).shape
    assert [t.shape for t in ember.atleast_3d(ember.ones(()), ember.ones(2, 3))] == \
        [t.shape for t in torch.atleast_3d(torch.ones(()), torch.ones(2, 3))]
    _close(ember.nonzero_static(ember.tensor([0, 3, 0, 4]), size=3, fill_value=-7),
           torch.nonzero_static(torch.tensor([0, 3, 0, 4]), size=3, fill_value=-7))
    _close(ember.constant_pad_nd(ember.tensor(x), [1, 2], 5.0),
           torch.constant_pad_nd(torch.tensor(x), [1, 2], 5.0))
    _close(ember.unsafe_split(ember.tensor(x), 2, 1), torch.unsafe_split(torch.tensor(x), 2, 1))
    _close(ember.unsafe_chunk(ember.tensor(x), 2), torch.unsafe_chunk(torch.tensor(x), 2))


@needs_torch
def test_copy_variants_and_strided_views_match_torch():
    x = rng.standard_normal((3, 4))
    e, t = ember.tensor(x), torch.tensor(x)
    for name, args in (("t_copy", ()), ("transpose_copy", (0, 1)), ("permute_copy", ([1, 0],)),
                       ("unsqueeze_copy", (1,)), ("view_copy", ((4, 3),)),
                       ("diagonal_copy", ()), ("expand_copy", ((2, 3, 4),)),
                       ("narrow_copy", (1, 1, 2)), ("unfold_copy", (1, 2, 1)),
                       ("alias_copy", ()), ("detach_copy", ()), ("select_copy", (0, 1)),
                       ("slice_copy", (1, 0, 3, 2))):
        out = getattr(ember, name)(e, *args)
        _close(out, getattr(torch, name)(t, *args))
        assert out.data_ptr() != e.data_ptr(), name  # a fresh tensor
    _close(ember.unbind_copy(e, 1), torch.unbind_copy(t, 1))
    _close(ember.split_with_sizes_copy(e, [1, 3], 1), torch.split_with_sizes_copy(t, [1, 3], 1))
    _close(ember.squeeze_copy(e[None]), torch.squeeze_copy(t[None]))
    _close(e.as_strided((3, 2), (1, 3), 1), t.as_strided((3, 2), (1, 3), 1))
    _close(ember.as_strided_copy(e, (2, 2), (4, 1)), torch.as_strided_copy(t, (2, 2), (4, 1)))
    _grads_match(lambda v: v.as_strided((3, 3), (2, 1), 1), lambda v: v.as_strided((3, 3),
                                                                                   (2, 1), 1), x)
    with pytest.raises(RuntimeError, match="as_strided: size .* reach element 13"):
        e.as_strided((2, 2), (12, 1))
    r = ember.arange(6.0)
    assert r.resize_(2, 2) is r and r.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    ember.resize_as_(r, ember.zeros(3))
    assert r.shape == (3,) and r.tolist()[:3] == [0.0, 1.0, 2.0]


@needs_torch
@pytest.mark.parametrize("kw", [dict(n_fft=16, hop_length=4, win=16),
                                dict(n_fft=16, hop_length=5, win_length=12, win=12),
                                dict(n_fft=8, center=False),
                                dict(n_fft=16, normalized=True, win=16),
                                dict(n_fft=16, onesided=False, win=16)])
def test_stft_and_istft_match_torch_and_invert(kw):
    x = rng.standard_normal((2, 50)).astype(np.float32)
    kw = dict(kw)
    wl = kw.pop("win", None)
    we, wt = (ember.hann_window(wl), torch.hann_window(wl)) if wl else (None, None)
    e = ember.stft(ember.tensor(x), window=we, return_complex=True, **kw)
    t = torch.stft(torch.tensor(x), window=wt, return_complex=True, **kw)
    _close(e, t, 1e-5)
    _close(ember.stft(ember.tensor(x[0]), window=we, return_complex=False, **kw),
           torch.stft(torch.tensor(x[0]), window=wt, return_complex=False, **kw), 1e-5)
    back = ember.istft(e, window=we, length=50, **kw)
    _close(back, torch.istft(t, window=wt, length=50, **kw), 1e-5)
    _close(back, x, 1e-5)


@needs_torch
def test_stft_gradients_and_errors():
    x = rng.standard_normal((2, 40)).astype(np.float32)
    w = rng.standard_normal((2, 9, 11, 2)).astype(np.float32)
    xe, xt = ember.tensor(x).requires_grad_(), torch.tensor(x).requires_grad_()
    (ember.stft(xe, 16, 4, window=ember.hann_window(16), return_complex=False) *
     ember.tensor(w)).sum().backward()
    (torch.stft(xt, 16, 4, window=torch.hann_window(16), return_complex=False) *
     torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-4)
    with pytest.raises(RuntimeError, match="stft: return_complex must be given for real"):
        ember.stft(ember.tensor(x), 16)
    with pytest.raises(RuntimeError, match="istft: the window's overlap-add envelope is zero"):
        spec = ember.stft(ember.tensor(x), 16, 16, window=ember.hann_window(16),
                          return_complex=True)
        ember.istft(spec, 16, 16, window=ember.hann_window(16))


@needs_torch
def test_positional_to_flags_diag_embed_dims_frexp_gradient_and_complex_casts():
    x = rng.standard_normal((2, 3, 4))
    e, t = ember.tensor(x), torch.tensor(x)
    out = e.to("cpu", ember.float32, False, True)  # (device, dtype, non_blocking, copy)
    assert out.dtype == ember.float32 and out is not e
    assert e.to(ember.float64, False, True) is not e  # copy=True copies
    for off, d1, d2 in ((1, 1, 2), (2, 0, 1), (-1, 0, 2), (0, 2, 0)):
        _close(ember.diag_embed(e, off, d1, d2), torch.diag_embed(t, off, d1, d2))
    with pytest.raises(ember.OpError, match="diag_embed: dim1=1 and dim2=1 must be two"):
        ember.diag_embed(e, 0, 1, 1)
    _grads_match(lambda v: ember.frexp(v).mantissa, lambda v: torch.frexp(v).mantissa, x)
    _close(ember.gradient(e, spacing=None, dim=None), torch.gradient(t))
    assert e.cfloat().dtype == ember.complex64 and e.cdouble().dtype == ember.complex128


@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (2, 4, 4)])
def test_svd_lowrank_is_exact_for_low_rank_matrices(shape):
    rng = np.random.default_rng(5)
    *b, m, n = shape
    a = rng.standard_normal((*b, m, 2)) @ rng.standard_normal((*b, 2, n))
    ember.manual_seed(0)
    U, S, V = ember.svd_lowrank(ember.tensor(a), q=2)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(a, compute_uv=False)[..., :2],
                               rtol=1e-10)
    rec = (U * S.unsqueeze(-2)) @ V.mT
    np.testing.assert_allclose(rec.numpy(), a, atol=1e-10)
    # PCA: the centred matrix's singular values; gradients flow
    x = ember.tensor(a, requires_grad=True)
    _, S2, _ = ember.pca_lowrank(x, q=2)
    ac = a - a.mean(-2, keepdims=True)
    np.testing.assert_allclose(S2.detach().numpy(),
                               np.linalg.svd(ac, compute_uv=False)[..., :2], rtol=1e-8)
    S2.sum().backward()
    assert x.grad.shape == x.shape and np.isfinite(x.grad.numpy()).all()


def test_svd_lowrank_checks_its_arguments():
    with pytest.raises(ValueError, match="svd_lowrank: q=5 must be in"):
        ember.svd_lowrank(ember.ones(3, 4), q=5)
    with pytest.raises(ValueError, match="pca_lowrank: A must be a matrix"):
        ember.pca_lowrank(ember.ones(3))


def test_linalg_decompositions_return_torchs_named_results():
    a = ember.tensor([[2.0, 1.0], [1.0, 3.0]])
    q = ember.linalg.qr(a)
    assert q.Q is q[0] and q.R is q[1]
    s = ember.linalg.svd(a)
    assert (s.U, s.S, s.Vh) == tuple(s)
    e = ember.linalg.eigh(a)
    assert (e.eigenvalues, e.eigenvectors) == tuple(e)
