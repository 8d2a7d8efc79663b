"""Python control flow on concrete values under grad/vjp/jvp (JAX allows it: the tracers of
differentiation carry concrete primals); holomorphic grad of a Python complex."""
import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.core.errors import ConcretizationError


def f(x):
    try:
        if x < 3:
            return 2 * x ** 3
        raise ValueError
    except ValueError:
        return enp.pi * x


def test_python_if_under_vjp_grad_jvp():
    y, pull = ember.vjp(f, 4.)
    np.testing.assert_allclose(ember.jit(pull)(1.)[0].numpy(), np.pi, rtol=1e-6)
    np.testing.assert_allclose(ember.grad(f)(2.).numpy(), 24.0)
    np.testing.assert_allclose(ember.grad(ember.grad(f))(2.).numpy(), 24.0)
    np.testing.assert_allclose(ember.jvp(f, (2.,), (1.,))[1].numpy(), 24.0)
    g = ember.grad(lambda x: x[int(x[0])] * 2.0)(enp.array([1., 5.]))
    np.testing.assert_allclose(g.numpy(), [0., 2.])


def test_abstract_values_still_refuse():
    with pytest.raises(ConcretizationError, match="truth value"):
        ember.jit(ember.grad(f))(2.)
    with pytest.raises(ConcretizationError, match="truth value"):
        ember.vmap(ember.grad(f))(enp.array([1., 2.]))


def test_holomorphic_grad_of_a_python_complex():
    g = ember.grad(enp.sin, holomorphic=True)(3. + 4j)
    assert g.dtype == ember.complex64
    np.testing.assert_allclose(g.numpy(), np.cos(3. + 4j), rtol=1e-5)
    np.testing.assert_allclose(ember.grad(enp.conjugate, holomorphic=True)(3. + 4j).numpy(),
                               1.0)
    with pytest.raises(TypeError, match="needs complex inputs"):
        ember.grad(enp.sin, holomorphic=True)(3.)
    jax = pytest.importorskip("jax")
    np.testing.assert_allclose(g.numpy(), np.asarray(jax.grad(jax.numpy.sin,
                                                              holomorphic=True)(3. + 4j)),
                               rtol=1e-6)
    _, pull = jax.vjp(f, 4.)
    np.testing.assert_allclose(ember.vjp(f, 4.)[1](1.)[0].numpy(), np.asarray(pull(1.)[0]))
