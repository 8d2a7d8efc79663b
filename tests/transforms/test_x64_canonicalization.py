"""JAX's dtype canonicalization at the JAX-facing entry points (ember.numpy's asarray, jit,
grad, value_and_grad, vjp, jvp, vmap, eval_shape): with 64-bit mode off (JAX's default)
float64/complex128 NumPy data and Python floats become float32/complex64; with
``jax_enable_x64`` they stay 64-bit. Tensors keep their dtype (PyTorch's rules: an
``ember.tensor`` of float64 data is float64, and jit/grad keep it)."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

F64, C128 = np.arange(6.0).reshape(2, 3) / 7, (np.arange(6.0) + 1j).reshape(2, 3)


@pytest.fixture(params=[False, True], ids=["x64_off", "x64_on"])
def x64(request):
    prev = ember.config.read("jax_enable_x64")
    ember.config.update("jax_enable_x64", request.param)
    yield request.param
    ember.config.update("jax_enable_x64", prev)


def _cases(lib, jnp_, np_):
    """name -> the result's dtype name, the same program in JAX or ember."""
    sq = lambda x: (x * x).sum()  # noqa: E731
    return {
        "asarray f64": lambda: jnp_.asarray(F64),
        "asarray f32": lambda: jnp_.asarray(F64.astype(np.float32)),
        "asarray c128": lambda: jnp_.asarray(C128),
        "asarray py float": lambda: jnp_.asarray(1.5),
        "array list of floats": lambda: jnp_.array([1.5, 2.5]),
        "jit f64": lambda: lib.jit(lambda x: x * 2)(F64),
        "jit c128": lambda: lib.jit(lambda x: x * 2)(C128),
        "jit f64 and a python float": lambda: lib.jit(lambda x, s: x * s)(F64, 0.5),
        "jit of a pytree": lambda: lib.jit(lambda d: d["a"] + d["b"])(
            {"a": F64, "b": F64.astype(np.float32)}),
        "grad f64": lambda: lib.grad(sq)(F64),
        "grad py float": lambda: lib.grad(lambda x: x * x)(1.5),
        "value_and_grad f64 value": lambda: lib.value_and_grad(sq)(F64)[0],
        "value_and_grad f64 grad": lambda: lib.value_and_grad(sq)(F64)[1],
        "vjp f64": lambda: lib.vjp(lambda x: x * 3, F64)[0],
        "jvp f64": lambda: lib.jvp(lambda x: x * 3, (F64,), (np.ones_like(F64),))[1],
        "vmap f64": lambda: lib.vmap(lambda x: x.sum())(F64),
        "jit(grad) f64": lambda: lib.jit(lib.grad(sq))(F64),
        "grad(jit) f64": lambda: lib.grad(lib.jit(sq))(F64),
        "jnp.dot f64 f64": lambda: jnp_.dot(F64, F64.T),
        "jnp.sin f64": lambda: jnp_.sin(F64),
        "eval_shape f64": lambda: lib.eval_shape(lambda x: x * 2, F64),
    }


def _dtype_name(r):
    return np.dtype(r.dtype.np if isinstance(r.dtype, ember.dtype) else r.dtype).name


def test_result_dtypes_match_jax(x64):
    jax = pytest.importorskip("jax")
    jjnp = pytest.importorskip("jax.numpy")
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", x64)
    try:
        want = {k: _dtype_name(f()) for k, f in _cases(jax, jjnp, np).items()}
    finally:
        jax.config.update("jax_enable_x64", prev)
    got = {k: _dtype_name(f()) for k, f in _cases(ember, jnp, np).items()}
    assert got == want


def test_result_dtypes_without_jax(x64):
    got = {k: _dtype_name(f()) for k, f in _cases(ember, jnp, np).items()}
    wide = {"float32": "float64", "complex64": "complex128"}
    for name, d in got.items():
        if name == "asarray f32":
            assert d == "float32"
        else:
            assert d in ("float32", "complex64") if not x64 else d in wide.values(), name


def test_tensors_keep_their_dtype_pytorch_side():
    x = ember.tensor(F64)  # PyTorch's rule: float64 data stays float64
    assert x.dtype == ember.float64
    assert ember.jit(lambda t: t * 2)(x).dtype == ember.float64
    assert ember.grad(lambda t: (t * t).sum())(x).dtype == ember.float64
    assert ember.vmap(lambda t: t.sum())(x).dtype == ember.float64
    assert ember.from_numpy(F64).dtype == ember.float64
    assert jnp.asarray(x).dtype == ember.float64  # an existing tensor is not converted
    # NumPy int64 data takes JAX's int32 at the JAX-facing entry points; a tensor keeps int64
    assert jnp.asarray(np.arange(3)).dtype == ember.int32
    assert jnp.asarray(ember.arange(3)).dtype == ember.int64


def test_jit_traces_once_for_float64_and_float32_numpy_data_and_converts_in_the_guard():
    f = ember.jit(lambda x, w: x @ w)
    x, w = F64, np.ones((3, 4))
    r1 = f(x, w)
    r2 = f(x, w)  # the guard converts
    r3 = f(x.astype(np.float32), w.astype(np.float32))
    assert f.trace_count == 1
    assert r1.dtype == r2.dtype == r3.dtype == ember.float32
    np.testing.assert_array_equal(r1.numpy(), (x.astype(np.float32) @ np.ones((3, 4), np.float32)))
    np.testing.assert_array_equal(r2.numpy(), r1.numpy())
    # the plan ran on float32 data: results equal the float32 computation bit for bit
    np.testing.assert_array_equal(r3.numpy(), r1.numpy())


def test_toggling_x64_retraces_and_explains():
    f = ember.jit(lambda x: x + jnp.zeros(3))  # jnp.zeros' dtype depends on the flag
    assert f(np.ones(3)).dtype == ember.float32
    try:
        ember.config.update("jax_enable_x64", True)
        assert f(np.ones(3)).dtype == ember.float64  # no stale guard or plan
        assert f(np.ones(3)).dtype == ember.float64
        assert f(np.ones(3, np.float32)).dtype == ember.float64  # jnp.zeros is float64
    finally:
        ember.config.update("jax_enable_x64", False)
    assert f(np.ones(3)).dtype == ember.float32
    assert f(np.ones(3)).dtype == ember.float32
    assert f.trace_count == 3  # off (float32 in), on (float64 in), on (float32 in)


def test_retrace_explanation_names_64_bit_mode(caplog):
    f = ember.jit(lambda x: x * 2)
    f(ember.ones(3))
    prev = ember.config.explain_retraces
    ember.config.explain_retraces = True
    try:
        ember.config.update("jax_enable_x64", True)
        with caplog.at_level("WARNING", logger="ember.jit"):
            f(ember.ones(3))
    finally:
        ember.config.update("jax_enable_x64", False)
        ember.config.explain_retraces = prev
    assert "64-bit mode: off -> on" in caplog.text


def test_value_and_grad_of_jit_with_numpy_inputs():
    loss = ember.jit(lambda w, x: ((x @ w) ** 2).mean())
    v, g = ember.value_and_grad(loss)(np.ones(3), F64)
    assert v.dtype == g.dtype == ember.float32
    np.testing.assert_allclose(g.numpy(), 2 * F64.T @ (F64 @ np.ones(3)) / 2, rtol=1e-6)


def test_the_flag_lives_in_the_core():
    from ember.core import dtypes
    ember.config.update("jax_enable_x64", True)
    try:
        assert dtypes.x64_enabled() and ember.config.jax_enable_x64
    finally:
        ember.config.update("jax_enable_x64", False)
    assert not dtypes.x64_enabled()
