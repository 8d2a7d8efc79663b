"""ember.test_util.check_grads (jax.test_util's): passes where JAX's passes, fails with the
numbers where JAX's fails."""
import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.test_util import check_grads


def _loss(np_):
    x = np.array([[1., 2., 3.], [0.5, -1., 2.], [0.1, 0.2, -0.3]], np.float32)
    y = np.array([1., 0., 1.], np.float32)

    def loss(W, b):
        p = 1 / (1 + np_.exp(-(np_.asarray(x) @ W + b)))
        return -np_.sum(np_.log(p * y + (1 - p) * (1 - y)))
    return loss


W0 = np.array([0.5, -0.3, 0.2], np.float32)


def test_correct_derivatives_pass_to_third_order():
    check_grads(_loss(enp), (enp.asarray(W0), enp.asarray(0.1)), order=2)
    x64 = ember.tensor([0.3, -1.2, 2.0], dtype=ember.float64)
    check_grads(lambda x: (enp.sin(x) * x ** 2).sum(), (x64,), order=3)
    check_grads(lambda z: enp.sin(z) * z, (enp.array([1. + 2j, 0.5 - 1j]),), order=2)
    check_grads(lambda d: d["a"] * enp.tanh(d["b"]),
                ({"a": enp.array([1., 2.]), "b": enp.array([0.3, -0.4])},), order=2,
                modes=["rev"])


def _wrong(m, np_):
    @m.custom_jvp
    def f(x):
        return np_.sin(x)
    f.defjvps(lambda t, ans, x: 2 * t)  # not sin's derivative
    return f


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_a_wrong_rule_fails_with_the_numbers(mode):
    with pytest.raises(AssertionError, match="JVP tangent" if mode == "fwd" else
                       "VJP cotangent projection") as e:
        check_grads(_wrong(ember, enp), (enp.array([1., 2.]),), order=1, modes=[mode])
    # NumPy's report of both arrays (NumPy 2 labels them ACTUAL/DESIRED, NumPy 1.26 x/y)
    assert "Max absolute difference" in str(e.value) and "array(" in str(e.value)


def test_agrees_with_jax_on_pass_and_fail():
    jax = pytest.importorskip("jax")
    from jax.test_util import check_grads as jax_check
    jnp = jax.numpy
    jax_check(_loss(jnp), (jnp.asarray(W0), jnp.asarray(0.1)), order=2)
    check_grads(_loss(enp), (enp.asarray(W0), enp.asarray(0.1)), order=2)
    for mode in ("fwd", "rev"):
        for chk, m, np_ in ((jax_check, jax, jnp), (check_grads, ember, enp)):
            with pytest.raises(AssertionError):
                chk(_wrong(m, np_), (np_.array([1., 2.]),), order=1, modes=[mode])
    # a second derivative only the second order sees: x*|x| has the right first derivative
    # through a custom rule whose own derivative is wrong

    def second(m, np_):
        @m.custom_jvp
        def f(x):
            return x ** 3
        f.defjvps(lambda t, ans, x: 3 * np_.abs(x) * x * t)  # right only for x > 0
        return f
    for chk, m, np_ in ((jax_check, jax, jnp), (check_grads, ember, enp)):
        chk(second(m, np_), (np_.array([1., 2.]),), order=1)
        with pytest.raises(AssertionError):
            chk(second(m, np_), (np_.array([-1., 2.]),), order=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown mode"):
        check_grads(enp.sin, (enp.array([1.]),), order=1, modes=["backward"])
    with pytest.raises(TypeError, match="a tuple of arguments"):
        check_grads(enp.sin, enp.array([1.]), order=1)
    with pytest.raises(TypeError, match="int64"):
        check_grads(lambda x: x * 2.0, (ember.tensor([1, 2]),), order=1)


def test_second_order_check_of_a_float32_loss_is_not_drowned_in_rounding():
    # JAX's autodiff cookbook: order-2 checks of a float32 logistic loss; float32 finite
    # differences of it are noisy at the tolerance's scale, so the reference runs in float64
    import ember.numpy as jnp
    inputs = jnp.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30],
                        [0.74, -2.49, 1.39]])
    targets = jnp.array([True, True, False, True])

    def loss(W, b):
        preds = 0.5 * (jnp.tanh((jnp.dot(inputs, W) + b) / 2) + 1)
        label_probs = preds * targets + (1 - preds) * (1 - targets)
        return -jnp.sum(jnp.log(label_probs))
    _, wk, bk = ember.random.split(ember.random.key(0), 3)
    W, b = ember.random.normal(wk, (3,)), ember.random.normal(bk, ())
    check_grads(loss, (W, b), order=2)


def test_a_function_that_insists_on_float32_is_checked_in_float32():
    from ember import lax
    c = ember.tensor([2., 3.])
    check_grads(lambda x: lax.mul(x, c).sum(), (ember.tensor([1., 2.]),), order=1)
