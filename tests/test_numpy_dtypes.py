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
    assert jnp.sum(b).dtype == ember.int32 and jnp.sum(b).item() == 2
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


# what jax.numpy gives with 64-bit mode off (checked against jax 0.8 on this machine)
_INT32_CASES = {
    "arange": lambda: jnp.arange(3), "list": lambda: jnp.array([1, 2]),
    "np int64": lambda: jnp.asarray(np.array([1, 2])), "zeros(int)": lambda: jnp.zeros(3, int),
    "full": lambda: jnp.full(3, 7), "argmax": lambda: jnp.argmax(jnp.ones(3)),
    "argmin axis": lambda: jnp.argmin(jnp.ones((2, 3)), axis=1),
    "argsort": lambda: jnp.argsort(jnp.ones(3)), "nonzero": lambda: jnp.nonzero(jnp.ones(3))[0],
    "where": lambda: jnp.where(jnp.ones(3))[0], "argwhere": lambda: jnp.argwhere(jnp.ones(3)),
    "sum bool": lambda: jnp.sum(jnp.ones(3) > 0), "sum int8": lambda: jnp.sum(jnp.ones(3, jnp.int8)),
    "cumsum bool": lambda: jnp.cumsum(jnp.ones(3) > 0),
    "prod int16": lambda: jnp.prod(jnp.ones(3, jnp.int16)),
    "count_nonzero": lambda: jnp.count_nonzero(jnp.ones(3)),
    "searchsorted": lambda: jnp.searchsorted(jnp.arange(3.), 1.5),
    "unique inverse": lambda: jnp.unique(jnp.array([1, 1, 2]), return_inverse=True)[1],
    "shape as array": lambda: jnp.array(jnp.ones((2, 3)).shape),
    "astype(int)": lambda: jnp.ones(2).astype(int), "eye(int)": lambda: jnp.eye(2, dtype=int),
    "floor_divide": lambda: jnp.arange(3) // 2, "jit of np int64": lambda: ember.jit(
        lambda x: x)(np.array([1, 2])),
    "vmap of np int64": lambda: ember.vmap(lambda x: x + 1)(np.arange(3)),
    "jit constant": lambda: ember.jit(lambda: 1)(),
    "fori_loop index": lambda: ember.lax.fori_loop(0, 3, lambda i, c: c + i, 0),
}


@pytest.mark.parametrize("case", sorted(_INT32_CASES))
def test_integers_default_to_int32_without_x64(case):
    assert _INT32_CASES[case]().dtype == ember.int32


@pytest.mark.parametrize("case", ["arange", "list", "np int64", "argmax", "sum bool",
                                  "count_nonzero", "jit of np int64", "fori_loop index"])
def test_integers_are_int64_in_x64_mode(x64, case):
    assert _INT32_CASES[case]().dtype == ember.int64


def test_int_rules_keep_tensor_dtypes_and_explicit_requests():
    assert jnp.sum(ember.tensor([1, 2])).dtype == ember.int64  # a tensor keeps its width
    assert jnp.cumsum(jnp.ones(3, jnp.int8)).dtype == ember.int8  # as jax: no promotion
    assert jnp.zeros(2, jnp.int64).dtype == ember.int64  # an explicit request is honoured
    assert jnp.asarray(np.array([1, 2], np.int16)).dtype == ember.int16
    assert jnp.asarray(np.array([1], np.uint64)).dtype == ember.uint32
    assert ember.arange(3).dtype == ember.int64  # PyTorch's entry points keep PyTorch's rule
    assert jnp.__array_namespace_info__().default_dtypes()["integral"] == ember.int32


def test_python_ints_beyond_int32_raise_as_jax():
    with pytest.raises(OverflowError, match="int32.*jax_enable_x64"):
        jnp.array([1, 2 ** 40])
    assert jnp.array([1, 2 ** 40], dtype=jnp.int64).tolist() == [1, 2 ** 40]


def test_int_reductions_keep_the_requested_dtype():
    x = ember.ones(3, dtype=ember.int32)  # NumPy's kernels would widen to int64
    assert ember.cumsum(x, 0, dtype=ember.int32).dtype == ember.int32
    assert ember.prod(x, 0, dtype=ember.int32).dtype == ember.int32
    assert ember.cumprod(x, 0, dtype=ember.int32).dtype == ember.int32
    assert ember.cumsum(x, 0).dtype == ember.int64  # PyTorch's default widening


def test_ember_dtypes_are_numpy_dtypes_too():
    assert np.zeros(2, dtype=jnp.float32).dtype == np.float32
    assert np.dtype(ember.int64) == np.int64 and jnp.float32.dtype == np.dtype("float32")
