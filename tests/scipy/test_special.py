"""ember.scipy.special against jax.scipy.special: values and gradients."""
import numpy as np
import pytest

import ember
import ember.scipy.special as S

jax = pytest.importorskip("jax")
import jax.scipy.special as JS  # noqa: E402



pytestmark = pytest.mark.usefixtures("jax_x64")  # float64 on both sides (tests/conftest.py)

rng = np.random.default_rng(11)


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.numpy() if hasattr(a, "numpy") else a),
                               np.asarray(b), rtol=tol, atol=tol)


UNARY = [("expit", rng.standard_normal(6)), ("logit", rng.uniform(0.05, 0.95, 6)),
         ("erf", rng.standard_normal(6)), ("erfc", rng.standard_normal(6)),
         ("erfinv", rng.uniform(-0.9, 0.9, 6)), ("gammaln", rng.uniform(0.1, 30, 6)),
         ("gammaln", -rng.uniform(0.1, 5, 6) + 0.5), ("digamma", rng.uniform(0.1, 30, 6)),
         ("digamma", np.array([-0.3, -1.7, -4.2, 0.9]))]


@pytest.mark.parametrize("name,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_gradients(name, x):
    f, g = getattr(S, name), getattr(JS, name)
    _close(f(ember.tensor(x)), g(x), 1e-9)
    eg = ember.vmap(ember.grad(lambda v: f(v)))(ember.tensor(x))
    _close(eg, jax.vmap(jax.grad(g))(x), 1e-8)


def test_polygamma_orders():
    x = rng.uniform(0.2, 25, 6)
    for n in range(4):
        _close(S.polygamma(n, ember.tensor(x)), JS.polygamma(n, x), 1e-9)
    # second derivative of gammaln is trigamma
    g2 = ember.grad(ember.grad(lambda v: S.gammaln(v)))(ember.tensor(2.5, dtype=ember.float64))
    _close(g2, JS.polygamma(1, 2.5), 1e-12)


def test_logsumexp_forms():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _close(S.logsumexp(a), JS.logsumexp(a))
    _close(S.logsumexp(a, axis=1, keepdims=True), JS.logsumexp(a, axis=1, keepdims=True))
    r, s = S.logsumexp(a, axis=0, b=b, return_sign=True)
    jr, js = JS.logsumexp(a, axis=0, b=b, return_sign=True)
    _close(r, jr)
    _close(s, js)
    _close(S.logsumexp(np.array([-np.inf, -np.inf])), JS.logsumexp(np.array([-np.inf, -np.inf])))
    g = ember.grad(lambda v: S.logsumexp(v, b=ember.tensor(np.abs(b))))(ember.tensor(a))
    _close(g, jax.grad(lambda v: JS.logsumexp(v, b=np.abs(b)))(a))


def test_softmax_xlogy_xlog1py_betaln():
    a = rng.standard_normal((3, 4))
    _close(S.softmax(a, axis=1), jax.nn.softmax(a, axis=1))
    _close(S.log_softmax(a, axis=0), jax.nn.log_softmax(a, axis=0))
    x, y = np.array([0.0, 1.5, 2.0]), np.array([0.0, 0.3, 4.0])
    _close(S.xlogy(x, y), JS.xlogy(x, y))
    _close(S.xlog1py(x, y), JS.xlog1py(x, y))
    gx = ember.grad(lambda v: S.xlogy(v, ember.tensor(y)).sum())(ember.tensor(x))
    _close(gx[1:], jax.grad(lambda v: JS.xlogy(v, y).sum())(x)[1:])
    _close(S.betaln(np.array([0.5, 3.0]), np.array([2.0, 7.5])),
           JS.betaln(np.array([0.5, 3.0]), np.array([2.0, 7.5])))
