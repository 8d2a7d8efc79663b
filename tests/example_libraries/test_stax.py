"""ember.example_libraries.stax against jax.example_libraries.stax: the same init shapes and
initial weights from the same key, the same outputs for the same params, gradients."""
import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.example_libraries import stax as es

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
js = pytest.importorskip("jax.example_libraries.stax")


def _np(tree):
    return ember.tree.tree_map(lambda a: np.asarray(a), tree)


def _close(a, b, atol=1e-5, rtol=1e-5):
    la, ta = ember.tree.tree_flatten(_np(a))
    lb = jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == np.shape(y)
        np.testing.assert_allclose(x, np.asarray(y), atol=atol, rtol=rtol)


def _shapes(out):
    """A (possibly nested) output shape with unknown (<= 0) dims written as None."""
    if isinstance(out, (list, tuple)) and out and isinstance(out[0], (list, tuple)):
        return [_shapes(o) for o in out]
    return tuple(None if int(d) <= 0 else int(d) for d in out)


def _build(mod, name):
    """The same network in either library (mod = ember's or JAX's stax)."""
    s = mod
    nets = {
        "mlp": (s.serial(s.Dense(32), s.Relu, s.Dense(16), s.Tanh, s.Dense(10), s.LogSoftmax),
                (-1, 20), (4, 20)),
        "vae_enc": (s.serial(s.Dense(12), s.Relu, s.FanOut(2),
                             s.parallel(s.Dense(3), s.serial(s.Dense(3), s.Softplus))),
                    (5, 7), (5, 7)),
        "dpsgd_cnn": (s.serial(s.Conv(4, (8, 8), padding="SAME", strides=(2, 2)), s.Relu,
                               s.MaxPool((2, 2), (1, 1)),
                               s.Conv(6, (4, 4), padding="VALID", strides=(2, 2)), s.Relu,
                               s.MaxPool((2, 2), (1, 1)), s.Flatten, s.Dense(8), s.Relu,
                               s.Dense(10)),
                      (-1, 28, 28, 1), (2, 28, 28, 1)),
        "resnet_block": (s.serial(s.FanOut(2),
                                  s.parallel(s.serial(s.Conv(3, (3, 3), padding="SAME"),
                                                      s.BatchNorm(), s.Relu),
                                             s.Identity),
                                  s.FanInSum, s.AvgPool((3, 3), (2, 2), "SAME"),
                                  s.SumPool((2, 2)), s.Flatten),
                         (2, 9, 9, 3), (2, 9, 9, 3)),
        "concat": (s.serial(s.FanOut(3), s.parallel(s.Dense(4), s.Dense(5), s.Identity),
                            s.FanInConcat(), s.Elu, s.Dense(6), s.LeakyRelu, s.Selu,
                            s.Dense(6), s.Gelu, s.Sigmoid, s.Exp, s.Softmax),
                   (3, 7), (3, 7)),
        "nchw": (s.serial(s.GeneralConv(("NCHW", "OIHW", "NCHW"), 5, (3, 3), (1, 2),
                                        [(1, 0), (2, 1)]),
                          s.MaxPool((2, 2), spec="NCHW"), s.BatchNorm(axis=(0, 2, 3))),
                 (2, 3, 8, 8), (2, 3, 8, 8)),
    }
    return nets[name]


@pytest.mark.parametrize("name", ["mlp", "vae_enc", "dpsgd_cnn", "resnet_block", "concat",
                                  "nchw"])
def test_network_init_apply_grad_match_jax(name):
    (e_init, e_apply), init_shape, x_shape = _build(es, name)
    (j_init, j_apply), _, _ = _build(js, name)
    e_out, e_params = e_init(ember.random.key(3), init_shape)
    j_out, j_params = j_init(jax.random.key(3), init_shape)
    # an unknown batch dim stays -1 in ember (JAX's conv shape arithmetic turns it to 0)
    assert _shapes(e_out) == _shapes(j_out)
    _close(e_params, j_params, atol=1e-6)
    x = np.random.RandomState(0).randn(*x_shape).astype(np.float32)
    # same params (JAX's) into both
    params_np = jax.tree_util.tree_map(np.asarray, j_params)
    _close(e_apply(params_np, x), j_apply(j_params, x), atol=1e-4)

    def e_loss(p):
        return enp.sum(enp.stack([enp.sum(o * o) for o in ember.tree.tree_leaves(e_apply(p, x))]))

    def j_loss(p):
        return jnp.sum(jnp.stack([jnp.sum(o * o) for o in jax.tree_util.tree_leaves(
            j_apply(p, x))]))
    _close(ember.grad(e_loss)(params_np), jax.grad(j_loss)(j_params), atol=2e-3, rtol=2e-3)
    # jit of apply agrees with eager
    _close(ember.jit(e_apply)(params_np, x), j_apply(j_params, x), atol=1e-4)


def test_dropout_keeps_with_probability_rate_and_matches_jax():
    e_init, e_apply = es.serial(es.Dense(50), es.Dropout(0.7))
    j_init, j_apply = js.serial(js.Dense(50), js.Dropout(0.7))
    _, p = j_init(jax.random.key(0), (-1, 10))
    x = np.ones((40, 10), np.float32)
    pn = jax.tree_util.tree_map(np.asarray, p)
    ye = e_apply(pn, x, rng=ember.random.key(5))
    yj = j_apply(p, x, rng=jax.random.key(5))
    np.testing.assert_allclose(np.asarray(ye), np.asarray(yj), atol=1e-5)
    kept = float((np.asarray(ye) != 0).mean())
    assert 0.6 < kept < 0.8
    # eval mode is the identity
    _, ev = es.Dropout(0.7, mode="test")
    np.testing.assert_array_equal(np.asarray(ev((), x)), x)


def test_dropout_without_rng_says_how():
    _, apply = es.Dropout(0.5)
    with pytest.raises(ValueError, match="rng=key"):
        apply((), np.ones(3, np.float32))


def test_shape_dependent_and_activation_functions():
    init, apply = es.shape_dependent(lambda shape: es.Dense(shape[-1] * 2))
    out, p = init(ember.random.key(0), (2, 3))
    assert out == (2, 6) and tuple(apply(p, np.ones((2, 3), np.float32)).shape) == (2, 6)
    x = np.linspace(-3, 3, 13).astype(np.float32)
    for name in ["relu", "sigmoid", "softplus", "elu", "leaky_relu", "selu", "gelu",
                 "logsoftmax", "softmax"]:
        np.testing.assert_allclose(np.asarray(getattr(es, name)(enp.asarray(x))),
                                   np.asarray(getattr(js, name)(x)), atol=1e-6, err_msg=name)
    np.testing.assert_allclose(np.asarray(es.standardize(enp.asarray(x))),
                               np.asarray(js.standardize(x)), atol=1e-5)


def test_pooling_under_vmap_and_grad():
    """DP-SGD's pattern: per-example gradients of a conv net (vmap of grad)."""
    init, apply = es.serial(es.Conv(2, (3, 3), padding="SAME"), es.Relu,
                            es.MaxPool((2, 2), (1, 1)), es.Flatten, es.Dense(3))
    _, params = init(ember.random.key(0), (-1, 6, 6, 1))
    xs = np.random.RandomState(1).randn(4, 1, 6, 6, 1).astype(np.float32)

    def loss(p, x):
        return enp.sum(apply(p, x) ** 2)
    per_ex = ember.vmap(ember.grad(loss), (None, 0))(params, xs)
    for k in range(4):
        one = ember.grad(loss)(params, xs[k])
        _close(ember.tree.tree_map(lambda a: a[k], per_ex), _np(one), atol=1e-5)
