"""Tensor methods called with NumPy's keywords (axis=, keepdims=, ddof=) mean what they mean
in jax.numpy; without them they keep PyTorch's meaning. Against JAX when it is installed."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

X = np.arange(12.0, dtype=np.float32).reshape(3, 4) ** 1.5
CALLS = [
    ("sum", (), {"axis": 0}), ("sum", (), {"axis": (0, 1), "keepdims": True}),
    ("mean", (), {"axis": -1}), ("prod", (), {"axis": 1}),
    ("max", (), {"axis": 0}), ("min", (), {"axis": 1, "keepdims": True}),
    ("argmax", (), {"axis": 1}), ("argmin", (), {"axis": 0}),
    ("std", (), {"axis": 0}), ("var", (), {"axis": 1, "ddof": 1}), ("std", (), {"ddof": 1}),
    ("any", (), {"axis": 0}), ("all", (), {"axis": 1}),
    ("cumsum", (), {"axis": 1}), ("cumprod", (), {"axis": 0}),
    ("sort", (), {"axis": 0}), ("argsort", (), {"axis": 1}),
    ("take", (np.array([0, 2]),), {"axis": 1}), ("repeat", (2,), {"axis": 0}),
]


@pytest.mark.parametrize("i", range(len(CALLS)))
def test_numpy_keywords_give_jax_numpy_results(i):
    name, args, kw = CALLS[i]
    x = jnp.asarray(X)
    got = getattr(x, name)(*[jnp.asarray(a) if isinstance(a, np.ndarray) else a
                             for a in args], **kw)
    want = getattr(jnp, name)(x, *[jnp.asarray(a) if isinstance(a, np.ndarray) else a
                                  for a in args], **kw)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    jax = pytest.importorskip("jax")
    ref = getattr(jax.numpy.asarray(X), name)(*args, **kw)
    np.testing.assert_allclose(got.numpy(), np.asarray(ref), rtol=1e-5)
    assert got.dtype.name == str(ref.dtype)


def test_torch_meaning_without_numpy_keywords():
    x = jnp.asarray(X)
    vals, idx = x.max(dim=0)  # (values, indices), as torch
    np.testing.assert_array_equal(vals.numpy(), X.max(0))
    assert isinstance(x.max(0), tuple)
    np.testing.assert_allclose(float(x.std()), X.std(ddof=1), rtol=1e-6)  # unbiased, as torch
    assert tuple(ember.ones(2).repeat(3).shape) == (6,)
    x.squeeze(axis=None)
    with pytest.raises(ValueError):
        x.squeeze(axis=0)  # jnp.squeeze refuses a dim that is not 1, as JAX


def test_numpy_keywords_under_transforms():
    x = jnp.asarray(X)
    np.testing.assert_allclose(ember.jit(lambda v: v.mean(axis=-1))(x).numpy(), X.mean(-1),
                               rtol=1e-6)
    g = ember.grad(lambda v: v.max(axis=0).sum())(x).numpy()
    np.testing.assert_array_equal(g, (X == X.max(0)).astype(np.float32))
    np.testing.assert_allclose(ember.vmap(lambda r: r.sum(axis=0))(x).numpy(), X.sum(1),
                               rtol=1e-6)
