"""Parity of ember's PyTorch-named extras (ember/torch_ops.py, torch_settings.py) with torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # parity tests: skipped without torch

import ember

rng = np.random.default_rng(0)


def E(a, rg=False):
    return ember.tensor(np.asarray(a), requires_grad=rg)


def T(a, rg=False):
    return torch.tensor(np.asarray(a), requires_grad=rg)


def close(e, t, tol=1e-5):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            close(a, b, tol)
        return
    en = e.detach().numpy() if isinstance(e, ember.Tensor) else np.asarray(e)
    tn = t.detach().numpy()
    assert en.shape == tn.shape, (en.shape, tn.shape)
    assert str(en.dtype) == str(tn.dtype), (en.dtype, tn.dtype)
    np.testing.assert_allclose(en, tn, rtol=tol, atol=tol, equal_nan=True)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def grad_parity(fe, ft, *arrays, tol=1e-4):
    """values and gradients of sum(f(*arrays) * w) agree."""
    es = [E(a, True) for a in arrays]
    ts = [T(a, True) for a in arrays]
    oe, ot = fe(*es), ft(*ts)
    close(oe, ot, tol)
    w = f32(*ot.shape)
    (oe * E(w)).sum().backward()
    (ot * T(w)).sum().backward()
    for a, b in zip(es, ts):
        close(a.grad, b.grad, tol)


UNARY_BINARY = [
    ("hypot", (3, 4), (3, 4)),
    ("logaddexp", (3, 4), (4,)),
    ("logaddexp2", (2, 5), (2, 5)),
    ("kron", (2, 3), (3, 2)),
    ("kron", (2,), (2, 3, 2)),
    ("cdist", (5, 3), (4, 3)),
    ("cdist", (2, 5, 3), (2, 4, 3)),
]


@pytest.mark.parametrize("name,sa,sb", UNARY_BINARY)
def test_binary_values_and_grads(name, sa, sb):
    grad_parity(getattr(ember, name), getattr(torch, name), f32(*sa), f32(*sb))


@pytest.mark.parametrize("p", [0.0, 1.0, 3.0, float("inf")])
def test_cdist_p(p):
    a, b = f32(4, 3), f32(5, 3)
    close(ember.cdist(E(a), E(b), p=p), torch.cdist(T(a), T(b), p=p), 1e-4)


def test_cdist_zero_distance_grad_is_zero():
    a = f32(3, 2)
    x = E(a, True)
    ember.cdist(x, E(a)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_logaddexp_infinities():
    a = np.array([-np.inf, np.inf, 1.0, -np.inf], np.float32)
    b = np.array([-np.inf, 2.0, np.inf, 3.0], np.float32)
    close(ember.logaddexp(E(a), E(b)), torch.logaddexp(T(a), T(b)))


def test_erfc_logit_xlogy():
    x = rng.uniform(0.05, 0.95, (6,)).astype(np.float32)
    grad_parity(ember.erfc, torch.erfc, x)
    grad_parity(ember.logit, torch.logit, x)
    close(ember.logit(E(x), eps=0.2), torch.logit(T(x), eps=0.2))
    a = np.array([0.0, 1.0, 2.0, 0.0], np.float32)
    b = np.array([0.0, 3.0, 0.5, np.nan], np.float32)
    close(ember.xlogy(E(a), E(b)), torch.xlogy(T(a), T(b)))


def test_addmm_baddbmm_addbmm():
    i, m1, m2 = f32(3, 4), f32(3, 5), f32(5, 4)
    grad_parity(lambda a, b, c: ember.addmm(a, b, c, beta=0.5, alpha=2.0),
                lambda a, b, c: torch.addmm(a, b, c, beta=0.5, alpha=2.0), i, m1, m2)
    nan_in = np.full((3, 4), np.nan, np.float32)
    close(ember.addmm(E(nan_in), E(m1), E(m2), beta=0), torch.addmm(T(nan_in), T(m1), T(m2), beta=0))
    i, b1, b2 = f32(2, 3, 4), f32(2, 3, 5), f32(2, 5, 4)
    grad_parity(ember.baddbmm, torch.baddbmm, i, b1, b2)
    grad_parity(ember.addbmm, torch.addbmm, f32(3, 4), b1, b2)
    with pytest.raises(ValueError, match="addmm"):
        ember.addmm(E(i), E(b1), E(b2))


def test_shape_helpers():
    x = f32(4, 6)
    close(ember.swapaxes(E(x), 0, 1), torch.swapaxes(T(x), 0, 1))
    close(E(x).swapdims(0, 1), T(x).swapdims(0, 1))
    for k in (-1, 0, 1, 2, 3, 5):
        close(ember.rot90(E(x), k), torch.rot90(T(x), k))
    y = f32(2, 3, 4)
    close(ember.rot90(E(y), 1, (2, 0)), torch.rot90(T(y), 1, (2, 0)))
    close(ember.hsplit(E(x), 3), torch.hsplit(T(x), 3))
    close(ember.hsplit(E(x), [1, 4]), torch.hsplit(T(x), [1, 4]))
    close(ember.vsplit(E(x), 2), torch.vsplit(T(x), 2))
    with pytest.raises(ValueError, match="hsplit"):
        ember.hsplit(E(x), 4)
    a, b, c = f32(3), f32(3, 2), f32(3)
    close(ember.column_stack([E(a), E(b), E(c)]), torch.column_stack([T(a), T(b), T(c)]))
    close(ember.hstack([E(a), E(c)]), torch.hstack([T(a), T(c)]))
    close(ember.vstack([E(a), E(c)]), torch.vstack([T(a), T(c)]))
    close(ember.atleast_2d(E(np.float32(1))), torch.atleast_2d(T(np.float32(1))))


def test_rot90_grad():
    grad_parity(lambda a: ember.rot90(a, 3), lambda a: torch.rot90(a, 3), f32(3, 5))


@pytest.mark.parametrize("n,dim", [(1, -1), (2, 0), (3, 1)])
def test_diff(n, dim):
    x = f32(4, 5)
    grad_parity(lambda a: ember.diff(a, n, dim), lambda a: torch.diff(a, n, dim), x)


def test_diff_prepend_append_bool():
    x, p = f32(3, 4), f32(3, 2)
    close(ember.diff(E(x), prepend=E(p), append=E(p)), torch.diff(T(x), prepend=T(p), append=T(p)))
    b = np.array([True, False, False, True])
    close(ember.diff(E(b)), torch.diff(T(b)))


def test_block_diag_cartesian_meshgrid():
    a, b, c = f32(2, 3), f32(3), np.float32(5)
    close(ember.block_diag(E(a), E(b), E(c)), torch.block_diag(T(a), T(b), T(c)))
    grad_parity(lambda x, y: ember.block_diag(x, y), lambda x, y: torch.block_diag(x, y), a, f32(1, 2))
    i = np.arange(3)
    close(ember.cartesian_prod(E(i), E(i[:2]), E(i)), torch.cartesian_prod(T(i), T(i[:2]), T(i)))
    for ind in ("ij", "xy"):
        close(ember.meshgrid(E(a[0]), E(b[:2]), indexing=ind), torch.meshgrid(T(a[0]), T(b[:2]), indexing=ind))
    close(ember.meshgrid([E(b)]), torch.meshgrid([T(b)], indexing="ij"))


@pytest.mark.parametrize("r,c,o", [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 2, 0)])
def test_tri_indices(r, c, o):
    close(ember.tril_indices(r, c, o), torch.tril_indices(r, c, o))
    close(ember.triu_indices(r, c, o), torch.triu_indices(r, c, o))


def test_reductions():
    x = f32(4, 5)
    x[x < -0.8] = 0
    close(ember.count_nonzero(E(x)), torch.count_nonzero(T(x)))
    close(ember.count_nonzero(E(x), 1), torch.count_nonzero(T(x), 1))
    close(ember.count_nonzero(E(x), (0, 1)), torch.count_nonzero(T(x), (0, 1)))
    xn = x.copy()
    xn[0, 1] = xn[2, :] = np.nan
    close(ember.nanmean(E(xn)), torch.nanmean(T(xn)))
    close(ember.nanmean(E(xn), 1, keepdim=True), torch.nanmean(T(xn), 1, keepdim=True))
    close(ember.nansum(E(xn), 0), torch.nansum(T(xn), 0))
    grad_parity(lambda a: ember.nanmean(a, 0), lambda a: torch.nanmean(a, 0), xn[:2])
    for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True, "correction": 0}):
        close(ember.var_mean(E(x), **kw), torch.var_mean(T(x), **kw))
        close(ember.std_mean(E(x), **kw), torch.std_mean(T(x), **kw))
    close(ember.var_mean(E(x), 1, False), torch.var_mean(T(x), 1, False))


def test_trapezoid():
    y, x = f32(3, 6), np.sort(f32(6))
    grad_parity(ember.trapezoid, torch.trapezoid, y)
    close(ember.trapezoid(E(y), E(x)), torch.trapezoid(T(y), T(x)))
    close(ember.trapezoid(E(y), dx=0.5, dim=0), torch.trapezoid(T(y), dx=0.5, dim=0))
    xx = np.sort(f32(3, 6), -1)
    close(ember.trapz(E(y), E(xx)), torch.trapz(T(y), T(xx)))


def test_logcumsumexp():
    x = f32(3, 5) * 30
    grad_parity(lambda a: ember.logcumsumexp(a, 1), lambda a: torch.logcumsumexp(a, 1), x)
    close(ember.logcumsumexp(E(x), 0), torch.logcumsumexp(T(x), 0))


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
def test_cummax_cummin(fn):
    x = np.array([[1, 3, 3, 2, 5], [4, 4, 1, 0, 7]], np.float32)
    close(getattr(ember, fn)(E(x), 1), getattr(torch, fn)(T(x), 1))
    close(getattr(ember, fn)(E(x), 0), getattr(torch, fn)(T(x), 0))
    y = f32(3, 4)
    e, t = E(y, True), T(y, True)
    getattr(ember, fn)(e, 1).values.sum().backward()
    getattr(torch, fn)(t, 1).values.sum().backward()
    close(e.grad, t.grad)


def test_median_mode():
    x = f32(5, 6)
    close(ember.median(E(x)), torch.median(T(x)))
    close(ember.median(E(x), 1), torch.median(T(x), 1))
    close(ember.median(E(x[:, :4]), 1, keepdim=True), torch.median(T(x[:, :4]), 1, keepdim=True))
    grad_parity(lambda a: ember.median(a, 0).values, lambda a: torch.median(a, 0).values, x)
    m = np.array([[1, 2, 2, 3, 3], [5, 5, 5, 1, 0]], np.float32)
    e, t = ember.mode(E(m)), torch.mode(T(m))
    close(e.values, t.values)
    assert (np.take_along_axis(m, e.indices.numpy()[:, None], 1)[:, 0] == e.values.numpy()).all()


@pytest.mark.parametrize("interp", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile(interp):
    x = f32(4, 7)
    q = np.array([0.0, 0.25, 0.5, 0.9, 1.0], np.float32)
    close(ember.quantile(E(x), 0.3, interpolation=interp), torch.quantile(T(x), 0.3, interpolation=interp))
    close(ember.quantile(E(x), E(q), dim=1, interpolation=interp),
          torch.quantile(T(x), T(q), dim=1, interpolation=interp))
    close(ember.quantile(E(x), 0.6, dim=0, keepdim=True, interpolation=interp),
          torch.quantile(T(x), 0.6, dim=0, keepdim=True, interpolation=interp))
    close(ember.quantile(E(x), E(q), keepdim=True, interpolation=interp),
          torch.quantile(T(x), T(q), keepdim=True, interpolation=interp))


def test_quantile_grad_and_errors():
    grad_parity(lambda a: ember.quantile(a, 0.37, dim=1), lambda a: torch.quantile(a, 0.37, dim=1), f32(3, 8))
    with pytest.raises(ValueError, match="quantile"):
        ember.quantile(E(f32(3)), 1.5)


def test_search_and_membership():
    s = np.array([1, 3, 5, 7, 9], np.float32)
    v = np.array([[3, 6, 9], [0, 1, 10]], np.float32)
    for right in (False, True):
        close(ember.searchsorted(E(s), E(v), right=right), torch.searchsorted(T(s), T(v), right=right))
        close(ember.bucketize(E(v), E(s), right=right), torch.bucketize(T(v), T(s), right=right))
    close(ember.searchsorted(E(s), E(v), side="right", out_int32=True),
          torch.searchsorted(T(s), T(v), side="right", out_int32=True))
    s2 = np.sort(f32(2, 5), -1)
    close(ember.searchsorted(E(s2), E(v)), torch.searchsorted(T(s2), T(v)))
    e = np.array([[1, 2], [3, 4]])
    close(ember.isin(E(e), E(np.array([2, 3, 9]))), torch.isin(T(e), T(np.array([2, 3, 9]))))
    close(ember.isin(E(e), E(np.array([2, 3])), invert=True), torch.isin(T(e), T(np.array([2, 3])), invert=True))


def test_unique_histc():
    x = np.array([[3, 1, 2], [1, 3, 3]])
    close(ember.unique(E(x)), torch.unique(T(x)))
    close(ember.unique(E(x), return_inverse=True, return_counts=True),
          torch.unique(T(x), return_inverse=True, return_counts=True))
    close(ember.unique(E(np.array([[1, 2], [1, 2], [0, 1]])), dim=0),
          torch.unique(T(np.array([[1, 2], [1, 2], [0, 1]])), dim=0))
    y = f32(50)
    close(ember.histc(E(y), bins=7), torch.histc(T(y), bins=7))
    close(ember.histc(E(y), bins=4, min=-1, max=1), torch.histc(T(y), bins=4, min=-1, max=1))


def test_bernoulli_multinomial():
    ember.manual_seed(0)
    p = np.full((2000,), 0.3, np.float32)
    b = ember.bernoulli(E(p))
    assert b.dtype == ember.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.numpy().mean() - 0.3) < 0.05
    assert float(ember.bernoulli(E(p), 1.0).sum()) == 2000
    w = np.array([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]], np.float32)
    s = ember.multinomial(E(w), 2)
    assert s.shape == (2, 2) and s.dtype == ember.int64
    assert sorted(s.numpy()[0].tolist()) == [1, 2]
    assert len(set(s.numpy()[1].tolist())) == 2  # without replacement
    first = [int(ember.multinomial(E(w[0]), 1)) for _ in range(300)]
    assert abs(np.mean(np.array(first) == 2) - 0.75) < 0.1
    r = ember.multinomial(E(w[0]), 4000, replacement=True).numpy()
    assert set(np.unique(r)) <= {1, 2} and abs((r == 2).mean() - 0.75) < 0.04
    with pytest.raises(ValueError, match="multinomial"):
        ember.multinomial(E(w[0]), 3)  # only two categories of non-zero weight
    with pytest.raises(ValueError, match="multinomial"):
        ember.multinomial(E(w), 5)


def test_under_transforms():
    x = f32(4, 5)
    g = ember.grad(lambda a: ember.logcumsumexp(a, 1).sum())(E(x))
    t = T(x, True)
    torch.logcumsumexp(t, 1).sum().backward()
    close(g, t.grad, 1e-4)
    out = ember.vmap(lambda a: ember.quantile(a, 0.5))(E(x))
    close(out, torch.quantile(T(x), 0.5, dim=1))
    j = ember.jit(lambda a, b: ember.cdist(a, b) + ember.kron(a[:1, :1], b[:1, :1]))
    close(j(E(x), E(x[:3])), torch.cdist(T(x), T(x[:3])) + torch.kron(T(x[:1, :1]), T(x[:1, :1])))


def test_settings():
    n = ember.get_num_threads()
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads"):
        ember.set_num_threads(0)
    ember.use_deterministic_algorithms(True)
    assert ember.are_deterministic_algorithms_enabled()
    ember.use_deterministic_algorithms(False)
    ember.set_float32_matmul_precision("high")
    assert ember.get_float32_matmul_precision() == "high"
    ember.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="matmul_precision"):
        ember.set_float32_matmul_precision("low")
    try:
        ember.set_printoptions(precision=2)
        assert repr(ember.tensor([1.23456])) == "tensor([1.23])"
        ember.set_printoptions(sci_mode=True)
        assert "e+00" in repr(ember.tensor([1.5]))
    finally:
        ember.set_printoptions(profile="default")
    assert repr(ember.tensor([1.23456])) == "tensor([1.2346])"


def test_multinomial_eager_shortcut_draws_what_the_ops_draw(monkeypatch):
    # eager, concrete weights take a NumPy shortcut; it must give the ops' indices for the
    # same generator state (including a zero-weight category and rows of different scale)
    import ember.torch_ops as tops
    w = np.array([[0.0, 1.0, 3.0, 0.5], [2.0, 2.0, 0.0, 4.0], [1e-3, 0.0, 0.0, 0.0]], np.float32)
    draws = []
    for shortcut in (True, False):
        monkeypatch.setattr(tops, "eager_mode", lambda s=shortcut: s)
        ember.manual_seed(7)
        draws.append(ember.multinomial(E(w), 500, replacement=True).numpy())
        draws.append(ember.multinomial(E(w[1]), 3, replacement=True).numpy())
    np.testing.assert_array_equal(draws[0], draws[2])
    np.testing.assert_array_equal(draws[1], draws[3])
    assert draws[0].dtype == np.int64 and draws[1].shape == (3,)
    assert not (draws[0][0] == 0).any() and (draws[0][2] == 0).all()
