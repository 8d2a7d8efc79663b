"""ember.nn's lowercase functions are jax.nn's and ember.nn.initializers is
jax.nn.initializers: values and gradients against JAX itself when it is installed."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember import nn

X = np.linspace(-7, 7, 24).astype(np.float32).reshape(4, 6)
X[0, :3] = [0.0, 1.0, -1.0]  # the kinks
X[1, :2] = [6.0, 3.0]
UNARY = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "sparse_plus", "sparse_sigmoid",
         "soft_sign", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
         "elu", "celu", "selu", "gelu", "squareplus", "mish", "leaky_relu", "identity", "tanh",
         "softmax", "log_softmax", "standardize"]


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax")


@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_gradients_match_jax(jax, name):
    ours = getattr(nn, name)
    theirs = getattr(jax.nn, name)
    np.testing.assert_allclose(ours(jnp.asarray(X)).numpy(), np.asarray(theirs(X)),
                               rtol=2e-5, atol=2e-6)
    g = ember.grad(lambda v: (ours(v) * jnp.arange(24.).reshape(4, 6)).sum())(jnp.asarray(X))
    gj = jax.grad(lambda v: (theirs(v) * jax.numpy.arange(24.).reshape(4, 6)).sum())(X)
    np.testing.assert_allclose(g.numpy(), np.asarray(gj), rtol=2e-4, atol=2e-5)


def test_arguments_match_jax(jax):
    x = jnp.asarray(X)
    w = X > -3
    cases = [
        ("gelu", (False,), {}), ("elu", (), {"alpha": 0.5}), ("celu", (), {"alpha": 2.0}),
        ("leaky_relu", (0.2,), {}), ("squareplus", (), {"b": 1.0}), ("glu", (), {"axis": 1}),
        ("softmax", (), {"axis": 0}), ("softmax", (), {"where": w}),
        ("log_softmax", (), {"where": w}), ("standardize", (), {"axis": 0}),
        ("standardize", (), {"where": w}), ("logsumexp", (), {"axis": 1}),
        ("logsumexp", (), {"axis": 1, "where": w}), ("logmeanexp", (), {"axis": 1}),
        ("logmeanexp", (), {"axis": 1, "where": w}), ("logsumexp", (), {}),
    ]
    for name, args, kw in cases:
        ours = getattr(nn, name)(x, *args, **{k: (jnp.asarray(v) if isinstance(v, np.ndarray)
                                                  else v) for k, v in kw.items()})
        theirs = getattr(jax.nn, name)(X, *args, **kw)
        np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=2e-5, atol=2e-6,
                                   err_msg=f"{name} {kw}")
    pos = np.array([0.01, 0.3, 1.0, 5.0, 30.0], np.float32)
    np.testing.assert_allclose(nn.log1mexp(jnp.asarray(pos)).numpy(),
                               np.asarray(jax.nn.log1mexp(pos)), rtol=1e-5)


def test_one_hot_matches_jax(jax):
    i = np.array([[0, 2], [5, -1]], np.int32)
    for kw in ({}, {"axis": 0}, {"axis": 1}, {"dtype": jnp.int32}):
        ours = nn.one_hot(jnp.asarray(i), 3, **kw)
        theirs = jax.nn.one_hot(i, 3, **{k: (np.int32 if k == "dtype" else v)
                                         for k, v in kw.items()})
        np.testing.assert_array_equal(ours.numpy(), np.asarray(theirs))
        assert ours.dtype.name == str(theirs.dtype)
    assert ember.jit(lambda v: nn.one_hot(v, 4))(jnp.asarray([1, 3])).shape == (2, 4)


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3},
                                {"key_value_seq_lengths": [3, 5]},
                                {"local_window_size": (1, 1)}, {"mask": True}, {"bias": True}])
def test_dot_product_attention_matches_jax(jax, kw):
    rs = np.random.RandomState(0)
    q = rs.randn(2, 5, 4, 8).astype(np.float32)
    k = rs.randn(2, 5, 2, 8).astype(np.float32)  # grouped heads: 4 query heads over 2
    v = rs.randn(2, 5, 2, 8).astype(np.float32)
    kw = dict(kw)
    if kw.get("mask"):
        kw["mask"] = rs.rand(2, 4, 5, 5) > 0.3
        kw["mask"][..., 0] = True
    if kw.get("bias"):
        kw["bias"] = rs.randn(2, 4, 5, 5).astype(np.float32)
    if "key_value_seq_lengths" in kw:
        kw["key_value_seq_lengths"] = np.array(kw["key_value_seq_lengths"], np.int32)
    ekw = {a: (jnp.asarray(b) if isinstance(b, np.ndarray) else b) for a, b in kw.items()}
    ours = nn.dot_product_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), **ekw)
    theirs = jax.nn.dot_product_attention(q, k, v, **kw)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-4, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="glu: axis -1 of shape \\(3,\\) has odd size 3"):
        nn.glu(jnp.ones(3))
    with pytest.raises(ValueError, match="query heads do not group"):
        nn.dot_product_attention(jnp.ones((1, 2, 3, 4)), jnp.ones((1, 2, 2, 4)),
                                 jnp.ones((1, 2, 2, 4)))


INITS = [("zeros", None), ("ones", None), ("constant", (0.5,)), ("uniform", ()),
         ("normal", (0.1,)), ("truncated_normal", (0.1,)), ("glorot_normal", ()),
         ("glorot_uniform", ()), ("he_normal", ()), ("he_uniform", ()), ("lecun_normal", ()),
         ("lecun_uniform", ()), ("xavier_uniform", ()), ("kaiming_normal", ()),
         ("orthogonal", ()), ("delta_orthogonal", ())]


@pytest.mark.parametrize("name,args", INITS)
def test_initializers_draw_jax_numbers(jax, name, args):
    shape = (3, 3, 4, 6) if name == "delta_orthogonal" else (5, 7)
    ours_f = getattr(nn.initializers, name)
    theirs_f = getattr(jax.nn.initializers, name)
    if args is not None:
        ours_f, theirs_f = ours_f(*args), theirs_f(*args)
    ours = ours_f(ember.random.key(3), shape)
    theirs = theirs_f(jax.random.key(3), shape)
    tol = 1e-4 if "orthogonal" in name else 1e-6
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=tol, atol=tol)
    assert ours.dtype == ember.float32


def test_variance_scaling_modes_match_jax(jax):
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        for dist in ("truncated_normal", "normal", "uniform"):
            ours = nn.initializers.variance_scaling(0.7, mode, dist, in_axis=0, out_axis=2)(
                ember.random.key(1), (4, 3, 5))
            theirs = jax.nn.initializers.variance_scaling(0.7, mode, dist, in_axis=0,
                                                          out_axis=2)(jax.random.key(1),
                                                                      (4, 3, 5))
            np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6,
                                       atol=1e-7)
    with pytest.raises(ValueError, match="mode must be"):
        nn.initializers.variance_scaling(1.0, "fan", "normal")
