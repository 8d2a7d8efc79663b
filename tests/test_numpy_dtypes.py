"""JAX's dtype rules in ember.numpy (64-bit mode off by default, one switch) next to
PyTorch's rules at ember's own entry points, and the array conventions JAX code uses."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp


@pytest.fixture
def x64():
    ember.config.update("jax_enable_x64", True)
    yield
    ember.config.update("jax_enable_x64", False)


def test_float64_inputs_become_float32_without_x64():
    assert jnp.asarray(np.ones(3)).dtype == ember.float32
    assert jnp.array([1.5, 2.0]).dtype == ember.float32
    assert jnp.asarray(2.5).dtype == ember.float32
    assert jnp.asarray(np.ones(3, np.float32)).dtype == ember.float32
    assert jnp.asarray(np.ones(3), dtype=jnp.float64).dtype == ember.float64  # asked for
    assert jnp.add(jnp.ones(2), np.ones(2)).dtype == ember.float32
    # the operator is the Tensor's, PyTorch's rule (docs/jax_users.md lists this conflict)
    assert (jnp.ones(2) + np.ones(2)).dtype == ember.float64
    assert jnp.dot(np.ones((2, 3)), np.ones(3)).dtype == ember.float32
    assert jnp.zeros(2).dtype == jnp.linspace(0, 1, 3).dtype == ember.float32
    # PyTorch's rules at the PyTorch-style entry points: a float64 ndarray stays float64
    assert ember.tensor(np.ones(3)).dtype == ember.float64
    assert ember.from_numpy(np.ones(3)).dtype == ember.float64


def test_x64_switch(x64):
    assert ember.config.jax_enable_x64 and ember.config.read("jax_enable_x64")
    assert jnp.asarray(np.ones(3)).dtype == ember.float64
    assert jnp.asarray([1.5]).dtype == ember.float64
    assert jnp.zeros(2).dtype == jnp.arange(0.0, 1.0, 0.5).dtype == ember.float64
    assert jnp.mean(np.array([1, 2])).dtype == ember.float64


def test_x64_switch_from_the_environment():
    import subprocess
    import sys
    code = "import ember.numpy as jnp, numpy as np; print(jnp.asarray(np.ones(2)).dtype)"
    for var in ("EMBER_ENABLE_X64", "JAX_ENABLE_X64"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, var: "1"}, check=True)
        assert out.stdout.strip() == "ember.float64"


def test_unknown_config_option_is_named():
    with pytest.raises(AttributeError, match="jax_enable_x64"):
        ember.config.update("jax_enable_x46", True)


def test_reductions_of_bool_and_int_give_jax_dtypes():
    b, i = np.array([True, False, True]), np.array([1, 2, 4])
    assert jnp.mean(b).dtype == ember.float32 and jnp.mean(b).item() == pytest.approx(2 / 3)
    assert jnp.mean(i).dtype == ember.float32 and jnp.mean(i).item() == pytest.approx(7 / 3)
    assert jnp.var(i).dtype == jnp.std(i).dtype == ember.float32
    assert jnp.sum(b).dtype == ember.int64 and jnp.sum(b).item() == 2
    assert jnp.mean(jnp.array([1, 2]), dtype=jnp.float64).dtype == ember.float64


def test_array_conventions():
    x = jnp.arange(6.0).reshape(2, 3)
    assert x.astype(jnp.int32).dtype == ember.int32 and x.astype("float64").dtype == ember.float64
    assert tuple(x.T.shape) == (3, 2) and x.ndim == 2
    assert x.itemsize == 4 and x.nbytes == 24
    assert np.asarray(jnp.asarray(3.0)) == 3.0 and np.asarray(jnp.asarray(3.0)).shape == ()
    assert float(jnp.asarray(2.5)) == 2.5
    y = jnp.float32(3)
    assert isinstance(y, ember.Tensor) and y.dtype == ember.float32 and y.shape == ()
    assert jnp.int32([1, 2]).dtype == ember.int32
    np.testing.assert_array_equal(jnp.flip(x, 0).numpy(), np.arange(6.0).reshape(2, 3)[::-1])
    # PyTorch wins where the two conflict: size is a method (x.size() / jnp.size(x))
    assert tuple(x.size()) == (2, 3) and jnp.size(x) == 6


def test_config_with_absl_applies_command_line_flags():
    flags = pytest.importorskip("absl.flags")
    prev = ember.config.read("jax_enable_x64")
    try:
        ember.config.config_with_absl()
        ember.config.config_with_absl()  # a second call is harmless
        flags.FLAGS(["prog", "--jax_enable_x64"])
        assert ember.config.jax_enable_x64 is True
        assert jnp.asarray(np.ones(2)).dtype == ember.float64
    finally:
        flags.FLAGS.unparse_flags()
        ember.config.update("jax_enable_x64", prev)
