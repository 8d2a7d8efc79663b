"""ember.numpy against NumPy (names, axis/keepdims/ddof conventions, split points, dot), its
composition with the transforms, and the functional ``x.at[...]`` updates."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5)).astype(np.float32)
POS = (np.abs(X) + 0.5).astype(np.float32)
Y = RNG.standard_normal((4, 5)).astype(np.float32)


def close(got, want, rtol=1e-5, atol=1e-6):
    got = got.numpy() if isinstance(got, ember.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    assert got.shape == np.shape(want)


UNARY = ["exp", "log", "log1p", "expm1", "sqrt", "abs", "absolute", "sin", "cos", "tan", "tanh",
         "sinh", "cosh", "arctan", "sign", "floor", "ceil", "square", "reciprocal", "negative",
         "exp2", "log2", "log10", "isnan", "isfinite", "isinf"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power",
          "maximum", "minimum", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal", "arctan2", "mod", "remainder", "fmod"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_numpy(name):
    close(getattr(jnp, name)(POS), getattr(np, name)(POS))


@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_numpy_with_broadcasting_and_scalars(name):
    close(getattr(jnp, name)(POS, Y + 2), getattr(np, name)(POS, Y + 2), rtol=1e-4)
    close(getattr(jnp, name)(POS, 2.0), getattr(np, name)(POS, np.float32(2.0)), rtol=1e-4)
    close(getattr(jnp, name)(3.0, POS), getattr(np, name)(np.float32(3.0), POS), rtol=1e-4)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(axis, keepdims):
    for name in ["sum", "mean", "prod", "max", "min", "amax", "amin"]:
        close(getattr(jnp, name)(X, axis=axis, keepdims=keepdims),
              getattr(np, name)(X, axis=axis, keepdims=keepdims), rtol=1e-4)
    for name in ["any", "all"]:
        close(getattr(jnp, name)(X > 0, axis=axis, keepdims=keepdims),
              getattr(np, name)(X > 0, axis=axis, keepdims=keepdims))
    for ddof in (0, 1):
        close(jnp.var(X, axis=axis, ddof=ddof, keepdims=keepdims),
              np.var(X, axis=axis, ddof=ddof, keepdims=keepdims), rtol=1e-4)
        close(jnp.std(X, axis=axis, ddof=ddof, keepdims=keepdims),
              np.std(X, axis=axis, ddof=ddof, keepdims=keepdims), rtol=1e-4)


def test_arg_and_cumulative_reductions():
    for axis in (None, 1):
        assert np.array_equal(jnp.argmax(X, axis=axis).numpy(), np.argmax(X, axis=axis))
        assert np.array_equal(jnp.argmin(X, axis=axis).numpy(), np.argmin(X, axis=axis))
        close(jnp.cumsum(X, axis=axis), np.cumsum(X, axis=axis), rtol=1e-4)
        close(jnp.cumprod(POS, axis=axis), np.cumprod(POS, axis=axis), rtol=1e-4)
    close(jnp.argmax(X, axis=2, keepdims=True), np.argmax(X, axis=2, keepdims=True))
    close(jnp.sum(X > 0, dtype=jnp.float32), np.sum(X > 0, dtype=np.float32))


def test_shape_functions_match_numpy():
    close(jnp.reshape(X, (12, 5)), np.reshape(X, (12, 5)))
    close(jnp.reshape(X, shape=-1), np.reshape(X, -1))
    close(jnp.ravel(X), np.ravel(X))
    close(jnp.transpose(X), np.transpose(X))
    close(jnp.transpose(X, (1, 0, 2)), np.transpose(X, (1, 0, 2)))
    close(jnp.swapaxes(X, 0, 2), np.swapaxes(X, 0, 2))
    close(jnp.moveaxis(X, 0, -1), np.moveaxis(X, 0, -1))
    close(jnp.expand_dims(X, (0, 4)), np.expand_dims(X, (0, 4)))
    close(jnp.squeeze(X[:1], 0), np.squeeze(X[:1], 0))
    close(jnp.concatenate([X, X], axis=1), np.concatenate([X, X], axis=1))
    close(jnp.concatenate([X, Y], axis=None), np.concatenate([X, Y], axis=None))
    close(jnp.stack([Y, Y], axis=-1), np.stack([Y, Y], axis=-1))
    close(jnp.hstack([Y, Y]), np.hstack([Y, Y]))
    close(jnp.vstack([Y[0], Y]), np.vstack([Y[0], Y]))
    for spec in (2, [1, 3], [-2], [0, 10]):
        got, want = jnp.split(Y, spec, axis=0), np.split(Y, spec, axis=0)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            close(g, w)
    close(jnp.flip(X, axis=(0, 2)), np.flip(X, axis=(0, 2)))
    close(jnp.flip(X), np.flip(X))
    close(jnp.broadcast_to(Y[0], (3, 5)), np.broadcast_to(Y[0], (3, 5)))
    close(jnp.tile(Y, (2, 1)), np.tile(Y, (2, 1)))
    close(jnp.repeat(Y, 2), np.repeat(Y, 2))
    close(jnp.repeat(Y, 3, axis=1), np.repeat(Y, 3, axis=1))
    idx = np.argsort(X, axis=1)
    close(jnp.take_along_axis(X, idx, axis=1), np.take_along_axis(X, idx, axis=1))
    close(jnp.take(X, np.array([[0, 2], [1, 1]]), axis=1), np.take(X, [[0, 2], [1, 1]], axis=1))
    close(jnp.take(X, np.array([5, 0])), np.take(X, [5, 0]))
    close(jnp.clip(X, -0.5, 0.5), np.clip(X, -0.5, 0.5))
    close(jnp.where(X > 0, X, 0.0), np.where(X > 0, X, 0.0))
    close(jnp.round(X, 2), np.round(X, 2))
    assert jnp.shape(X) == X.shape and jnp.ndim(X) == 3 and jnp.size(X) == 60


def test_products_match_numpy():
    B = RNG.standard_normal((2, 5, 6)).astype(np.float32)
    close(jnp.dot(X, Y.T), np.dot(X, Y.T), rtol=1e-4)
    close(jnp.dot(X, B), np.dot(X, B), rtol=1e-4)  # N-D: last axis with second-to-last
    close(jnp.dot(Y[0], Y[1]), np.dot(Y[0], Y[1]), rtol=1e-4)
    close(jnp.dot(2.0, Y), 2 * Y)
    close(jnp.matmul(X, B[0]), np.matmul(X, B[0]), rtol=1e-4)
    close(jnp.inner(X, Y), np.inner(X, Y), rtol=1e-4)
    close(jnp.outer(Y[0], Y[1]), np.outer(Y[0], Y[1]))
    close(jnp.vdot(Y, Y), np.vdot(Y, Y), rtol=1e-4)
    close(jnp.tensordot(X, Y, axes=2), np.tensordot(X, Y, axes=2), rtol=1e-4)
    close(jnp.einsum("ijk,jk->i", X, Y), np.einsum("ijk,jk->i", X, Y), rtol=1e-4)


def test_creation_matches_numpy():
    close(jnp.zeros((2, 3)), np.zeros((2, 3), np.float32))
    close(jnp.ones(4, dtype=jnp.int32), np.ones(4, np.int32))
    assert jnp.ones(4, dtype="int32").dtype is ember.int32
    close(jnp.full((2, 2), 7.0), np.full((2, 2), 7.0, np.float32))
    close(jnp.empty(3), np.zeros(3, np.float32))
    close(jnp.zeros_like(X), np.zeros_like(X))
    close(jnp.ones_like(Y), np.ones_like(Y))
    close(jnp.full_like(Y, 2.5), np.full_like(Y, 2.5))
    close(jnp.arange(2, 11, 3), np.arange(2, 11, 3))
    close(jnp.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype=np.float32))
    close(jnp.linspace(0, 1, 4, endpoint=False), np.linspace(0, 1, 4, endpoint=False,
                                                           dtype=np.float32))
    for k in (0, 1, -2):
        close(jnp.eye(3, 4, k=k), np.eye(3, 4, k=k, dtype=np.float32))
    close(jnp.identity(3), np.identity(3, np.float32))
    a = jnp.asarray(X)
    assert jnp.asarray(a) is a and jnp.array(a) is not a
    assert isinstance(a, jnp.ndarray) and a.dtype is jnp.float32


def test_numpy_style_code_composes_with_the_transforms():
    w = jnp.asarray(Y.T)

    def loss(w, x):
        h = jnp.tanh(jnp.dot(x, w))
        return jnp.mean(jnp.sum(h ** 2, axis=-1))
    x = jnp.asarray(Y)
    g = ember.grad(loss)(w, x)
    wt = ember.tensor(Y.T, requires_grad=True)
    (ember.tanh(x @ wt) ** 2).sum(-1).mean().backward()
    close(g, wt.grad.numpy())
    close(ember.jit(ember.grad(loss))(w, x), g.numpy())
    per = ember.vmap(ember.grad(loss), in_axes=(None, 0))(w, x[:, None, :])
    close(jnp.sum(per, axis=0) / 4, g.numpy())


def test_at_updates_are_functional_and_match_numpy():
    base = np.arange(10, dtype=np.float32)
    x = jnp.asarray(base)
    idx = np.array([1, 1, 4])
    want = base.copy()
    np.add.at(want, idx, 2.0)
    close(x.at[idx].add(2.0), want)
    want = base.copy()
    want[2:5] = [7, 8, 9]
    close(x.at[2:5].set(jnp.asarray([7.0, 8.0, 9.0])), want)
    close(x.at[3].get(), base[3])
    close(x, base)  # unchanged
    m = jnp.zeros((3, 4))
    close(m.at[:, 1].set(5.0), np.where(np.arange(4) == 1, 5.0, 0.0)[None].repeat(3, 0))
    g = ember.grad(lambda v: jnp.sum(x.at[idx].add(v) ** 2))(jnp.ones(3))
    close(g, [2 * (1 + 2), 2 * (1 + 2), 2 * (4 + 1)])
    rows = ember.vmap(lambda r, i: r.at[i].set(0.0))(jnp.ones((2, 3)), jnp.asarray([0, 2]))
    close(rows, [[0, 1, 1], [1, 1, 0]])
    close(ember.jit(lambda a: a.at[1].add(3.0))(jnp.zeros(3)), [0, 3, 0])


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="split: an axis of size 4 can't be split into 3"):
        jnp.split(Y, 3)
    with pytest.raises(ValueError, match="squeeze: axis 0 .* has size 3"):
        jnp.squeeze(X, 0)
    with pytest.raises(TypeError, match="where: pass both x and y, or neither"):
        jnp.where(X > 0, X)
