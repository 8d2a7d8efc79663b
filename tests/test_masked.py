"""ember.masked against torch.masked: values, dtypes, shapes and gradients, with broadcast
masks, keepdim, dtype= and fully masked-out reductions."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

rng = np.random.default_rng(16)
X = rng.standard_normal((3, 4, 5))
MASK = rng.random((3, 4, 5)) > 0.4
MASK[1] = False  # a fully masked-out block
MASK_B = (rng.random((4, 1)) > 0.5)  # broadcast along dims 0 and 2
MASK_B[0] = False

REDUCTIONS = [
    ("sum", {}), ("sum", {"dim": (0, 2), "keepdim": True}), ("sum", {"dim": 1,
                                                                     "dtype": "float64"}),
    ("prod", {"dim": 2}), ("prod", {"dim": (0, 1)}), ("prod", {}),
    ("amax", {"dim": 2}), ("amin", {"dim": (1, 2), "keepdim": True}), ("amax", {}),
    ("argmax", {"dim": 2}), ("argmin", {"dim": 1, "keepdim": True}),
    ("mean", {"dim": 2}), ("mean", {}), ("mean", {"dim": (0, 1), "keepdim": True}),
    ("median", {"dim": 2}), ("median", {"dim": 0, "keepdim": True}),
    ("logsumexp", {"dim": 2}), ("logsumexp", {"dim": (0, 2)}),
    ("norm", {"ord": 2.0, "dim": 2}), ("norm", {"ord": 1.0}),
    ("norm", {"ord": float("inf"), "dim": (1, 2)}), ("norm", {"ord": float("-inf"), "dim": 2}),
    ("var", {"dim": 2}), ("var", {"dim": 2, "unbiased": False}),
    ("std", {"dim": (0, 2), "correction": 2, "keepdim": True}), ("std", {}),
    ("softmax", {"dim": 2}), ("log_softmax", {"dim": 1}), ("softmin", {"dim": 2}),
    ("normalize", {"ord": 2.0, "dim": 2}), ("cumsum", {"dim": 2}), ("cumprod", {"dim": 1}),
]


def _kw(kw, m):
    kw = dict(kw)
    if "dtype" in kw:
        kw["dtype"] = getattr(m, kw["dtype"])
    return kw


def _split(kw):
    """torch.masked's positional ord for norm/normalize."""
    kw = dict(kw)
    args = (kw.pop("ord"),) if "ord" in kw else ()
    return args, kw


@pytest.mark.parametrize("mask", ["full", "broadcast", "none"])
@pytest.mark.parametrize("name,kw", REDUCTIONS, ids=[f"{n}-{i}" for i, (n, _) in
                                                      enumerate(REDUCTIONS)])
def test_values_and_gradients_match_torch(name, kw, mask):
    m = {"full": MASK, "broadcast": MASK_B, "none": None}[mask]
    args, kw = _split(kw)
    tx = torch.tensor(X, requires_grad=True)
    ex = ember.tensor(X, requires_grad=True)
    tm = None if m is None else torch.tensor(m)
    em = None if m is None else ember.tensor(m)
    t = getattr(torch.masked, name)(tx, *args, **_kw(kw, torch), mask=tm)
    e = getattr(ember.masked, name)(ex, *args, **_kw(kw, ember), mask=em)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-10,
                               atol=1e-12, equal_nan=True)
    if not t.requires_grad:
        return
    w = rng.standard_normal(tuple(t.shape))
    tv = t.detach().numpy()
    w = np.where(np.isfinite(tv), w, 0.0)  # no cotangent through NaN/inf outputs
    (t * torch.tensor(w)).sum().backward()
    (e * ember.tensor(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12,
                               equal_nan=True)


def test_fully_masked_out_values():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = ember.tensor([[True, False], [False, False]])
    M = ember.masked
    assert M.sum(x, 1, mask=m).tolist() == [1.0, 0.0]
    assert M.prod(x, 1, mask=m).tolist() == [1.0, 1.0]
    assert M.amax(x, 1, mask=m).tolist() == [1.0, float("-inf")]
    assert M.amin(x, 1, mask=m).tolist() == [1.0, float("inf")]
    assert M.logsumexp(x, 1, mask=m).tolist() == [1.0, float("-inf")]
    assert np.isnan(M.mean(x, 1, mask=m).numpy()[1])
    assert np.isnan(M.var(x, 1, mask=m).numpy()).all()  # one element: count - 1 = 0
    assert np.isnan(M.softmax(x, 1, mask=m).numpy()[1]).all()
    assert M.softmax(x, 1, mask=m).tolist()[0] == [1.0, 0.0]


def test_integer_inputs_and_dtypes_as_torch():
    xi = rng.integers(-5, 5, (3, 4))
    mi = rng.random((3, 4)) > 0.3
    for name, kw in (("sum", {"dim": 1}), ("prod", {"dim": 0}), ("amax", {"dim": 1}),
                     ("argmin", {"dim": 1}), ("var", {"dim": 1}), ("logsumexp", {"dim": 1}),
                     ("cumsum", {"dim": 1}), ("median", {"dim": 1})):
        for dt in (torch.int8, torch.int64):
            t = getattr(torch.masked, name)(torch.tensor(xi, dtype=dt), **kw,
                                            mask=torch.tensor(mi))
            e = getattr(ember.masked, name)(ember.tensor(xi, dtype=getattr(ember, str(dt)[6:])),
                                            **kw, mask=ember.tensor(mi))
            assert e.dtype.name == str(t.dtype).split(".")[1], (name, dt)
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_logaddexp_with_masks():
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    ma, mb = np.array([True, False, True, False]), np.array([True, True, False, False])
    t = torch.masked.logaddexp(torch.tensor(a), torch.tensor(b), input_mask=torch.tensor(ma),
                               other_mask=torch.tensor(mb))
    e = ember.masked.logaddexp(ember.tensor(a), ember.tensor(b), input_mask=ember.tensor(ma),
                               other_mask=ember.tensor(mb))
    np.testing.assert_allclose(e.numpy(), t.numpy())
    assert e.numpy()[3] == -np.inf


def test_bad_masks_and_dims_are_named():
    x = ember.ones(2, 3)
    with pytest.raises(IndexError, match="masked.sum: the mask has more dims"):
        ember.masked.sum(x, mask=ember.ones(1, 2, 3, dtype=ember.bool))
    with pytest.raises(ValueError, match="does not broadcast"):
        ember.masked.sum(x, mask=ember.ones(2, 2, dtype=ember.bool))
    with pytest.raises(IndexError, match="masked.amax: dim 2 is out of range"):
        ember.masked.amax(x, 2)
    with pytest.raises(TypeError, match="masked.mean: the result dtype"):
        ember.masked.mean(ember.ones(2, dtype=ember.int64))
    with pytest.raises(ValueError, match="masked.median: a row of an integer input"):
        ember.masked.median(ember.ones(2, 2, dtype=ember.int64), 1,
                            mask=ember.tensor([[True, True], [False, False]]))


def test_under_jit_and_vmap():
    x = ember.tensor(X)
    m = ember.tensor(MASK)
    f = lambda v: ember.masked.var(v, 1, mask=m[0]) + ember.masked.amax(v, 1, mask=m[0])  # noqa
    np.testing.assert_array_equal(ember.jit(f)(x).numpy(), f(x).numpy())
    loop = np.stack([f(x[i]).numpy() for i in range(3)])
    np.testing.assert_allclose(ember.vmap(f)(x).numpy(), loop, rtol=1e-12, equal_nan=True)


def test_softmax_family_of_a_0d_input_as_torch():
    for name in ("softmax", "log_softmax", "softmin"):
        for m in (None, True, False):
            tm = None if m is None else torch.tensor(m)
            em = None if m is None else ember.tensor(m)
            t = getattr(torch.masked, name)(torch.tensor(1.5), 0, mask=tm)
            x = ember.tensor(1.5, requires_grad=True)
            e = getattr(ember.masked, name)(x, 0, mask=em)
            np.testing.assert_allclose(e.detach().numpy(), t.numpy(), equal_nan=True)
            if m is not False:
                e.backward()
                assert x.grad.shape == ()
    y = ember.nn.functional.log_softmax(ember.tensor(0.3, requires_grad=True), 0)
    assert y.shape == () and y.item() == 0.0
