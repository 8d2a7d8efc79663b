"""ember.torch_more vs torch 2.13: values (and gradients where differentiable) of the
Tensor.new_* constructors, storage facts, elementwise/indexing/reduction functions, their
in-place twins, random fills, rng state and windows."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
A[0, 0] = np.nan
B[1, 1] = np.nan
P = rng.standard_normal((3, 4))
Q = rng.standard_normal((3, 4))
I1 = np.array([12, 18, 7, 0, 5])
I2 = np.array([8, 12, 21, 4, 0])


def both(fn, *arrays, **kw):
    e = fn(ember, *[ember.tensor(a) for a in arrays], **kw)
    t = fn(torch, *[torch.tensor(a) for a in arrays], **kw)
    return e, t


def _np(v):
    if isinstance(v, (tuple, list)):
        return [_np(x) for x in v]
    if hasattr(v, "detach"):
        return v.detach().numpy()
    return np.asarray(v)


def check(e, t, atol=1e-12):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            check(a, b, atol)
        return
    a, b = _np(e), _np(t)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, atol=atol, equal_nan=True)


VALUE_CASES = {
    "fmax": (lambda m, a, b: m.fmax(a, b), (A, B)),
    "fmin": (lambda m, a, b: m.fmin(a, b), (A, B)),
    "frac": (lambda m, a: m.frac(a * 3), (P,)),
    "gcd": (lambda m, a, b: m.gcd(a, b), (I1, I2)),
    "lcm": (lambda m, a, b: m.lcm(a, b), (I1, I2)),
    "heaviside": (lambda m, a, b: m.heaviside(a.round(), b), (P, Q)),
    "copysign": (lambda m, a, b: m.copysign(a, b), (P, Q)),
    "signbit": (lambda m, a: m.signbit(a), (np.array([-0.0, 0.0, -1.0, 2.0]),)),
    "sinc": (lambda m, a: m.sinc(a), (np.array([0.0, 0.5, -1.5, 2.0]),)),
    "deg2rad": (lambda m, a: m.deg2rad(a), (P,)),
    "rad2deg": (lambda m, a: m.rad2deg(a), (P,)),
    "ldexp": (lambda m, a, b: m.ldexp(a, b), (P, np.array([1, 2, 3, -1]))),
    "isneginf": (lambda m, a: m.isneginf(a), (np.array([-np.inf, np.inf, 1.0]),)),
    "isposinf": (lambda m, a: m.isposinf(a), (np.array([-np.inf, np.inf, 1.0]),)),
    "isreal": (lambda m, a: m.isreal(a), (P,)),
    "inner": (lambda m, a, b: m.inner(a, b), (P, Q)),
    "vdot": (lambda m, a, b: m.vdot(a[0], b[0]), (P, Q)),
    "dist": (lambda m, a, b: m.dist(a, b, 3), (P, Q)),
    "renorm": (lambda m, a: m.renorm(a, 2, 0, 1.0), (P,)),
    "addmv": (lambda m, a, b: m.addmv(a[:, 0], b, a[0], beta=0.5, alpha=2), (P, Q)),
    "addr": (lambda m, a, b: m.addr(a, b[:, 0], a[0], alpha=3), (P, Q)),
    "cov": (lambda m, a: m.cov(a), (P,)),
    "cov_w": (lambda m, a, w: m.cov(a, fweights=w, aweights=(w * 0.5 + 1.0).to(a.dtype)),
              (P, np.array([1, 2, 1, 3]))),
    "corrcoef": (lambda m, a: m.corrcoef(a), (P,)),
    "diagflat": (lambda m, a: m.diagflat(a[:2, :2], 1), (P,)),
    "take": (lambda m, a, i: m.take(a, i), (P, np.array([[0, 5], [11, 3]]))),
    "index_fill": (lambda m, a, i: m.index_fill(a, 1, i, -2.0), (P, np.array([0, 3]))),
    "index_copy": (lambda m, a, i, s: m.index_copy(a, 1, i, s), (P, np.array([3, 0]), Q[:, :2])),
    "index_put": (lambda m, a, i, v: m.index_put(a, (i,), v, accumulate=True),
                  (P, np.array([0, 2, 0]), Q[:3])),
    "masked_scatter": (lambda m, a, s: m.masked_scatter(a, a > 0, s), (P, Q)),
    "select": (lambda m, a: m.select(a, 1, 2), (P,)),
    "select_scatter": (lambda m, a, b: m.select_scatter(a, b[:, 0], 1, 2), (P, Q)),
    "slice_scatter": (lambda m, a, b: m.slice_scatter(a, b[:, :2], 1, 1, 4, 2), (P, Q)),
    "diagonal_scatter": (lambda m, a, b: m.diagonal_scatter(a, b[0, :3], 1), (P, Q)),
    "split_with_sizes": (lambda m, a: m.split_with_sizes(a, [1, 3], 1), (P,)),
    "aminmax": (lambda m, a: tuple(m.aminmax(a, dim=1)), (P,)),
    "kthvalue": (lambda m, a: tuple(m.kthvalue(a, 2, 1, keepdim=True)), (P,)),
    "nanmedian": (lambda m, a: m.nanmedian(a), (A,)),
    "nanmedian_dim": (lambda m, a: tuple(m.nanmedian(a, 1)), (A,)),
    "nanquantile": (lambda m, a: m.nanquantile(a, 0.3, dim=1), (A,)),
    "unique_consecutive": (lambda m, a: m.unique_consecutive(a, return_inverse=True,
                                                              return_counts=True),
                           (np.array([1, 1, 2, 2, 3, 1, 1, 2]),)),
    "bincount": (lambda m, a, w: m.bincount(a, w, minlength=25), (I1, I1 * 0.5)),
    "histogram": (lambda m, a: tuple(m.histogram(a, 5)), (P,)),
    "combinations": (lambda m, a: m.combinations(a[0], 2, with_replacement=True), (P,)),
    "unravel_index": (lambda m, i: m.unravel_index(i, (3, 4)), (np.array([0, 5, 11]),)),
    "vander": (lambda m, a: m.vander(a[0], 3, increasing=True), (P,)),
    "cumulative_trapezoid": (lambda m, a: m.cumulative_trapezoid(a, dx=0.5), (P,)),
    "dstack": (lambda m, a, b: m.dstack([a, b]), (P, Q)),
    "dsplit": (lambda m, a: m.dsplit(a.reshape(1, 3, 4), 2), (P,)),
    "row_stack": (lambda m, a, b: m.row_stack([a[0], b[0]]), (P, Q)),
    "msort": (lambda m, a: m.msort(a), (P,)),
    "unfold": (lambda m, a: a.unfold(1, 2, 1), (P,)),
    "sum_to_size": (lambda m, a: a.sum_to_size(1, 4), (P,)),
    "isclose": (lambda m, a, b: m.isclose(a, a + 1e-9 * b, equal_nan=True), (A, B)),
    "rsub": (lambda m, a, b: m.rsub(a, b, alpha=2), (P, Q)),
    "matrix_power": (lambda m, a: m.matrix_power(a[:, :3], 3), (P,)),
    "scatter_reduce_sum": (lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "mean",
                                                               include_self=False),
                           (P, np.array([[0, 1, 0], [2, 2, 2], [3, 0, 3]]), Q[:, :3])),
    "scatter_reduce_amax": (lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "amax"),
                            (P, np.array([[0, 1, 0], [2, 2, 2], [3, 0, 3]]), Q[:, :3])),
    "scatter_reduce_prod": (lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "prod",
                                                                include_self=False),
                            (P, np.array([[0, 1, 0], [2, 2, 2], [3, 0, 3]]), Q[:, :3])),
}


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_values_match_torch(name):
    fn, arrays = VALUE_CASES[name]
    e, t = both(fn, *arrays)
    check(e, t)


GRAD_CASES = ["fmax", "copysign", "sinc", "inner", "dist", "renorm", "addmv", "addr", "cov",
              "corrcoef", "take", "index_fill", "index_copy", "masked_scatter",
              "select_scatter", "slice_scatter", "diagonal_scatter", "kthvalue", "unfold",
              "sum_to_size", "combinations", "cumulative_trapezoid",
              "scatter_reduce_sum"]


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_match_torch(name):
    fn, arrays = VALUE_CASES[name]
    arrays = [np.nan_to_num(a) if a.dtype.kind == "f" else a for a in arrays]
    ex = [ember.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    tx = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    eo, to = fn(ember, *ex), fn(torch, *tx)
    eo, to = (eo if isinstance(eo, tuple) else (eo,)), (to if isinstance(to, tuple) else (to,))
    w = [np.random.default_rng(1).standard_normal(tuple(t.shape)) for t in to
         if t.dtype.is_floating_point]
    sum(((o * ember.tensor(wi)).sum() for o, wi in zip(eo, w)), ember.tensor(0.0)).backward()
    sum((o * torch.tensor(wi)).sum() for o, wi in zip(to, w)).backward()
    for e, t in zip(ex, tx):
        if t.requires_grad and t.grad is not None:
            g = np.zeros(t.shape) if e.grad is None else e.grad.numpy()  # None: no path
            np.testing.assert_allclose(g, t.grad.numpy(), atol=1e-10)


def test_new_constructors_and_facts():
    for dt in (ember.float64, ember.int32):
        e = ember.zeros(2, dtype=dt)
        t = torch.zeros(2, dtype=getattr(torch, str(dt).split(".")[-1]))
        for name, args in (("new_zeros", (2, 3)), ("new_ones", ((2, 3),)),
                           ("new_empty", (4,))):
            a, b = getattr(e, name)(*args), getattr(t, name)(*args)
            assert tuple(a.shape) == tuple(b.shape) and str(a.dtype)[6:] == str(b.dtype)[6:]
        check(e.new_full((2, 2), 7), t.new_full((2, 2), 7))
        check(e.new_tensor([1.5, 2]), t.new_tensor([1.5, 2]))
    x, tx = ember.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert x.stride() == tx.stride() and x.stride(1) == tx.stride(1)
    assert x.transpose(0, 2).stride() == tx.transpose(0, 2).stride()
    assert x[1, 1:].storage_offset() == tx[1, 1:].storage_offset()
    assert x.new_zeros(1, requires_grad=True).requires_grad
    assert ember.zeros(1, dtype=ember.uint8).is_signed() is False and x.is_signed()
    assert x.get_device() == -1 and not x.is_pinned()
    with pytest.raises(RuntimeError, match="pin_memory"):
        x.pin_memory()


def test_share_memory_is_seen_by_a_forked_child():
    import multiprocessing as mp
    x = ember.zeros(4).share_memory_()
    assert x.is_shared()

    def child(t):
        t.add_(3.0)
    p = mp.get_context("fork").Process(target=child, args=(x,))
    p.start()
    p.join(30)
    assert x.tolist() == [3.0, 3.0, 3.0, 3.0]


def test_inplace_twins_and_shape_changing_inplace():
    p, q = P.copy(), Q.copy()
    for name in ("acos", "sinh", "log2", "deg2rad", "frac", "copysign", "sgn", "tril", "lt",
                 "logical_xor", "hypot", "fix", "arctan2"):
        e, t = ember.tensor(np.clip(p, -0.9, 0.9)), torch.tensor(np.clip(p, -0.9, 0.9))
        args = () if name in ("acos", "sinh", "log2", "deg2rad", "frac", "sgn", "tril",
                              "fix") else (q,)
        ea = [ember.tensor(a) for a in args]
        ta = [torch.tensor(a) for a in args]
        r = getattr(e, name + "_")(*ea)
        getattr(t, name + "_")(*ta)
        assert r is e
        check(e, t, atol=1e-12)
    e, t = ember.tensor(P), torch.tensor(P)
    e.t_(), t.t_()
    e.unsqueeze_(0), t.unsqueeze_(0)
    e.squeeze_(0), t.squeeze_(0)
    e.transpose_(0, 1), t.transpose_(0, 1)
    check(e, t)
    e, t = ember.zeros(3, 5), torch.zeros(3, 5)
    check(e.fill_diagonal_(2.0), t.fill_diagonal_(2.0))
    e, t = ember.zeros(7, 3), torch.zeros(7, 3)
    check(e.fill_diagonal_(1.0, wrap=True), t.fill_diagonal_(1.0, wrap=True))


def test_inplace_twin_keeps_gradient():
    w = ember.tensor(P, requires_grad=True)
    y = w * 1.0
    y.sinh_()
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.cosh(P), rtol=1e-12)


def test_random_fills():
    ember.manual_seed(0)
    x = ember.empty(10000)
    assert set(np.unique(x.random_(3, 7).numpy())) == {3, 4, 5, 6}
    assert abs(float(x.exponential_(2.0).mean()) - 0.5) < 0.05
    assert abs(float(x.geometric_(0.25).mean()) - 4.0) < 0.3
    assert abs(float(x.bernoulli_(0.3).mean()) - 0.3) < 0.03
    assert abs(float(x.log_normal_(0.0, 0.5).log().std()) - 0.5) < 0.05
    assert abs(float(x.cauchy_().median())) < 0.1
    b = ember.empty(3, dtype=ember.bool).random_()
    assert b.dtype == ember.bool
    with pytest.raises(RuntimeError, match="from < to"):
        x.random_(5, 2)


def test_rng_state_round_trip_and_finfo():
    ember.manual_seed(3)
    s = ember.get_rng_state()
    assert s.dtype == ember.uint8
    a = ember.randn(5)
    ember.set_rng_state(s)
    assert np.array_equal(ember.randn(5).numpy(), a.numpy())
    for dt in ("float16", "bfloat16", "float32", "float64"):
        e, t = ember.finfo(getattr(ember, dt)), torch.finfo(getattr(torch, dt))
        assert (e.eps, e.max, e.min, e.tiny, e.bits) == (t.eps, t.max, t.min, t.tiny, t.bits)
    for dt in ("int8", "uint8", "int32", "int64"):
        e, t = ember.iinfo(getattr(ember, dt)), torch.iinfo(getattr(torch, dt))
        assert (e.max, e.min, e.bits) == (t.max, t.min, t.bits)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window", "kaiser_window"])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, periodic):
    for n in (0, 1, 5, 8):
        e = getattr(ember, name)(n, periodic, dtype=ember.float64)
        t = getattr(torch, name)(n, periodic, dtype=torch.float64)
        np.testing.assert_allclose(e.numpy(), t.numpy(), atol=1e-12)


def test_small_functions():
    assert ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2]))
    assert not ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2, 3]))
    assert ember.is_nonzero(ember.tensor([1.0])) and not ember.is_nonzero(ember.tensor(0))
    with pytest.raises(RuntimeError, match="is_nonzero"):
        ember.is_nonzero(ember.tensor([1, 2]))
    assert tuple(ember.broadcast_shapes((2, 1), (3,), 1)) == tuple(
        torch.broadcast_shapes((2, 1), (3,), 1))
    with pytest.raises(RuntimeError, match="broadcast_shapes"):
        ember.broadcast_shapes((2,), (3,))
    assert ember.is_floating_point(ember.zeros(1)) and not ember.is_floating_point(
        ember.zeros(1, dtype=ember.int64))
    check(ember.clip(ember.tensor(P), -0.5, 0.5), torch.clip(torch.tensor(P), -0.5, 0.5))
    check(ember.scalar_tensor(3), torch.scalar_tensor(3))
    with pytest.raises(RuntimeError, match="split_with_sizes"):
        ember.split_with_sizes(ember.zeros(4), [1, 2])


def test_unfold_under_jit_and_vmap():
    x = ember.tensor(P)
    f = ember.jit(lambda a: a.unfold(1, 2, 2).sum(-1))
    assert np.array_equal(f(x).numpy(), x.unfold(1, 2, 2).sum(-1).numpy())
    v = ember.vmap(lambda r: r.unfold(0, 3, 1))(x)
    np.testing.assert_allclose(v.numpy(), torch.tensor(P).unfold(1, 3, 1).numpy())
