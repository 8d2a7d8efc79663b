"""The NumPy / jax.numpy names of ember.numpy beyond the basics: values against NumPy,
gradients of the math functions against JAX, traced lists, linspace with traced ends."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

rng = np.random.default_rng(5)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
SQ = rng.standard_normal((4, 4))
V = rng.standard_normal(5)

VALUES = [
    ("tril", lambda m: m.tril(SQ, -1)), ("triu", lambda m: m.triu(SQ, 1)),
    ("trace", lambda m: m.trace(SQ, 1)), ("diag", lambda m: m.diag(V, 1)),
    ("diag_2d", lambda m: m.diag(SQ, -1)), ("diagonal", lambda m: m.diagonal(A, 1)),
    ("isclose", lambda m: m.isclose(A, A + 1e-9)), ("allclose", lambda m: m.allclose(A, B)),
    ("append", lambda m: m.append(A, B, axis=1)), ("append_flat", lambda m: m.append(A, V)),
    ("array_split", lambda m: m.concatenate([x * i for i, x in enumerate(
        m.array_split(V, 3))])),
    ("hsplit", lambda m: m.hsplit(A, 2)[1]), ("vsplit", lambda m: m.vsplit(A, [1])[1]),
    ("dsplit", lambda m: m.dsplit(A.reshape(1, 3, 4), 2)[0]),
    ("column_stack", lambda m: m.column_stack([V, V * 2])),
    ("dstack", lambda m: m.dstack([A, B])), ("atleast_3d", lambda m: m.atleast_3d(V)),
    ("atleast_2d", lambda m: m.atleast_2d(3.0)), ("atleast_1d", lambda m: m.atleast_1d(3.0)),
    ("flipud", lambda m: m.flipud(A)), ("fliplr", lambda m: m.fliplr(A)),
    ("rot90", lambda m: m.rot90(A, 1)), ("rot90_k2", lambda m: m.rot90(A, 2)),
    ("rot90_k3_axes", lambda m: m.rot90(A.reshape(3, 2, 2), 3, axes=(1, 2))),
    ("arcsinh", lambda m: m.arcsinh(A * 30)), ("arccosh", lambda m: m.arccosh(np.abs(A) + 1)),
    ("arctanh", lambda m: m.arctanh(np.tanh(A))), ("deg2rad", lambda m: m.deg2rad(A)),
    ("rad2deg", lambda m: m.rad2deg(A)), ("degrees", lambda m: m.degrees(A)),
    ("radians", lambda m: m.radians(A)), ("fabs", lambda m: m.fabs(A)),
    ("hypot", lambda m: m.hypot(A, B)), ("sinc", lambda m: m.sinc(np.append(A, 0.0))),
    ("logaddexp", lambda m: m.logaddexp(A, B)), ("logaddexp2", lambda m: m.logaddexp2(A, B)),
    ("fmax", lambda m: m.fmax(np.where(A > 0, np.nan, A), B)),
    ("fmin", lambda m: m.fmin(A, np.where(B > 0, np.nan, B))),
    ("nan_to_num", lambda m: m.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0], np.float32))),
    ("diff", lambda m: m.diff(A, 2, axis=1)), ("diff_prepend", lambda m: m.diff(V, prepend=0.0)),
    ("gradient", lambda m: m.gradient(V, 0.5)), ("gradient_2d", lambda m: m.gradient(A)[0]),
    ("kron", lambda m: m.kron(A[:2, :2], B[:2, :3])), ("outer", lambda m: m.outer(V, V)),
    ("inner", lambda m: m.inner(A, B)), ("sort", lambda m: m.sort(A, axis=0)),
    ("argsort", lambda m: m.argsort(V)), ("partition", lambda m: m.partition(V, 2)[2]),
    ("select", lambda m: m.select([A > 0.5, A < -0.5], [A, B], 7.0)),
    ("piecewise", lambda m: m.piecewise(V, [V < 0, V > 1], [lambda x: -x, lambda x: x * 2, 0.5])),
    ("einsum_sublist", lambda m: m.einsum(A, [0, 1], B, [2, 1], [0, 2])),
    ("where_one_arg", lambda m: m.where(A > 0)[1]), ("r_", lambda m: m.r_[1:4, 7, V]),
    ("c_", lambda m: m.c_[V, V]), ("r_complex", lambda m: m.r_[0:1:5j]),
    ("linspace_vec", lambda m: m.linspace(np.zeros(2), np.ones(2), 4, axis=1)),
    ("vstack_0d", lambda m: m.vstack([1.0, 2.0])), ("hstack_0d", lambda m: m.hstack([1.0, 2.0])),
    ("count_nonzero", lambda m: m.count_nonzero(A > 0, axis=1)),
]


@pytest.mark.parametrize("case", VALUES, ids=[c[0] for c in VALUES])
def test_values_match_numpy(case):
    _, f = case
    got, want = f(jnp), f(np)
    got = got.numpy() if isinstance(got, ember.Tensor) else got
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=2e-6, atol=1e-6)


GRADS = [("arcsinh", (A,)), ("arccosh", (np.abs(A) + 1.5,)), ("arctanh", (np.tanh(A) * 0.9,)),
         ("hypot", (A, B)), ("sinc", (A,)), ("logaddexp", (A, B)), ("logaddexp2", (A, B)),
         ("fmax", (A, B)), ("deg2rad", (A,)), ("kron", (A[:2, :2], B[:2, :3])),
         ("diff", (A,)), ("trace", (SQ,)), ("tril", (SQ,)), ("outer", (V, V)), ("fabs", (A,))]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case):
    jax = pytest.importorskip("jax")
    name, args = case
    args32 = [a.astype(np.float32) for a in args]
    argnums = tuple(range(len(args)))
    eg = ember.grad(lambda *xs: (getattr(jnp, name)(*xs) ** 2).sum(), argnums=argnums)(
        *[ember.tensor(a) for a in args32])
    jg = jax.grad(lambda *xs: (getattr(jax.numpy, name)(*xs) ** 2).sum(), argnums=argnums)(
        *args32)
    for e, j in zip(eg, jg):
        np.testing.assert_allclose(e.numpy(), np.asarray(j), rtol=2e-4, atol=2e-5)


def test_sinc_and_hypot_at_zero_have_finite_gradients():
    assert ember.grad(lambda x: jnp.sinc(x))(ember.tensor(0.0)).item() == 0.0
    g = ember.grad(lambda x, y: jnp.hypot(x, y), argnums=(0, 1))(ember.tensor(0.0),
                                                                 ember.tensor(0.0))
    assert [v.item() for v in g] == [0.0, 0.0]


def test_array_of_traced_values_is_built_as_jax_does():
    x = ember.tensor(2.0)
    assert ember.grad(lambda x: jnp.array([x, x ** 2]).sum())(x).item() == 5.0
    assert ember.grad(lambda x: jnp.mean(jnp.array([x, 3 * x])))(x).item() == 2.0
    assert ember.grad(lambda a, b: jnp.mean([a, b]), argnums=1)(x, x).item() == 0.5
    out = ember.jit(lambda x: jnp.array([[x, 1.0], [2.0, x]]))(x)
    np.testing.assert_array_equal(out.numpy(), [[2.0, 1.0], [2.0, 2.0]])
    out = ember.vmap(lambda v: jnp.array([v, -v]))(ember.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(out.numpy(), [[1.0, -1.0], [2.0, -2.0]])


def test_linspace_with_traced_endpoints():
    g = ember.grad(lambda a: jnp.linspace(a, 2 * a, 5).sum())(ember.tensor(1.0))
    assert g.item() == pytest.approx(7.5)
    out = ember.jit(lambda a, b: jnp.linspace(a, b, 3))(ember.tensor(0.0), ember.tensor(1.0))
    np.testing.assert_allclose(out.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(jnp.linspace(0.0, 1.0, 4, endpoint=False).numpy(),
                               np.linspace(0.0, 1.0, 4, endpoint=False))


def test_version_and_newaxis():
    assert isinstance(jnp.__version__, str) and jnp.newaxis is None
    assert ember.__version__


def test_array_api_names():
    assert jnp.__array_api_version__ == "2024.12"
    x = jnp.arange(6.0).reshape(2, 3)
    assert x.__array_namespace__() is jnp and x.to_device("cpu") is not None
    assert jnp.finfo(jnp.float32).eps == np.finfo(np.float32).eps
    assert jnp.iinfo(jnp.int16).min == -32768 and jnp.uint32 is ember.uint32
    assert jnp.isdtype(jnp.int32, ("bool", "signed integer"))
    assert not jnp.isdtype(jnp.float32, "integral")
    assert jnp.result_type(jnp.int32, jnp.float32) == ember.float32
    assert jnp.can_cast(jnp.int8, jnp.int32) and not jnp.can_cast(jnp.float64, jnp.int32)
    np.testing.assert_array_equal(jnp.permute_dims(x, (1, 0)).numpy(), x.numpy().T)
    np.testing.assert_array_equal(jnp.matrix_transpose(x).numpy(), x.numpy().T)
    np.testing.assert_allclose(jnp.vecdot(x, x).numpy(), (x.numpy() ** 2).sum(-1))
    np.testing.assert_array_equal(jnp.concat([x, x]).numpy(), np.concatenate([x.numpy()] * 2))
    np.testing.assert_array_equal(jnp.signbit(jnp.array([-0.0, 0.0, -2.0])).numpy(),
                                  [True, False, True])
    np.testing.assert_array_equal(jnp.copysign(jnp.array([1.0, -2.0]), -1.0).numpy(), [-1, -2])
    np.testing.assert_array_equal(jnp.searchsorted(jnp.array([1, 3, 5]), jnp.array([3, 6]),
                                                   side="right").numpy(), [2, 3])
    for a, b in zip(jnp.meshgrid(jnp.arange(3), jnp.arange(2), indexing="ij"),
                    np.meshgrid(np.arange(3), np.arange(2), indexing="ij")):
        np.testing.assert_array_equal(a.numpy(), b)
    v, c = jnp.unique_counts(jnp.array([3, 1, 3]))
    assert v.numpy().tolist() == [1, 3] and c.numpy().tolist() == [1, 2]
    np.testing.assert_array_equal(jnp.cumulative_sum(jnp.array([1, 2]), include_initial=True)
                                  .numpy(), [0, 1, 3])
    assert [u.numpy().tolist() for u in jnp.unstack(x, axis=1)][0] == [0.0, 3.0]
    assert jnp.astype(x, jnp.int32).dtype == ember.int32
    assert jnp.bitwise_and(jnp.array([6]), jnp.array([3])).item() == 2
    assert jnp.pow(x, 2).dtype == ember.float32 and jnp.acos(jnp.array([1.0])).item() == 0.0
