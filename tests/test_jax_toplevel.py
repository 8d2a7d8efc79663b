"""JAX's small top-level utilities: named_scope / named_call, ensure_compile_time_eval, the
enable_x64 contexts (and ember.experimental's enable_x64/disable_x64 of older JAX), typeof,
debug_nans / debug_infs; against JAX when it is installed."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember.core.errors import ConcretizationError
from ember.core.tensor import Tensor


def test_named_scope_context_and_decorator_leave_values_alone():
    @ember.named_scope("double")
    def double(x):
        return x * 2

    x = jnp.arange(3.)
    with ember.named_scope("outer"):
        y = double(x)
    np.testing.assert_array_equal(y.numpy(), [0, 2, 4])
    np.testing.assert_array_equal(ember.jit(double)(x).numpy(), [0, 2, 4])
    np.testing.assert_array_equal(ember.grad(lambda v: double(v).sum())(x).numpy(), [2, 2, 2])
    assert double.__name__ == "double"
    with pytest.raises(TypeError, match="named_scope: the name must be a string"):
        ember.named_scope(3)


def test_named_call():
    inc = ember.named_call(lambda x: x + 1, name="inc")
    assert float(inc(ember.tensor(1.))) == 2.0
    assert float(ember.jit(inc)(ember.tensor(2.))) == 3.0
    with pytest.raises(TypeError, match="named_call: expected a function"):
        ember.named_call(3)


def test_ensure_compile_time_eval_gives_concrete_values_inside_jit():
    seen = {}

    @ember.jit
    def f(x):
        with ember.ensure_compile_time_eval():
            c = jnp.sin(jnp.asarray(2.))
            n = int(jnp.arange(4).sum())  # would raise ConcretizationError when staged
            y = x * c  # a traced input stays traced
            seen["c"], seen["y"] = type(c), type(y)
        return y * n

    out = f(jnp.asarray(1.5))
    assert seen["c"] is Tensor and seen["y"] is not Tensor
    np.testing.assert_allclose(float(out), 1.5 * np.sin(np.float32(2)) * 6, rtol=1e-6)

    @ember.jit
    def g(x):
        return x * int(jnp.arange(4).sum())
    with pytest.raises(ConcretizationError):
        g(jnp.asarray(1.0))


def test_ensure_compile_time_eval_matches_jax():
    jax = pytest.importorskip("jax")

    def prog(mod, np_mod):
        @mod.jit
        def f(x):
            with mod.ensure_compile_time_eval():
                w = np_mod.linspace(0., 1., 5)
                k = int(np_mod.argmax(w))
            return x[k] * w
        return np.asarray(f(np_mod.arange(6.)))

    np.testing.assert_allclose(prog(ember, jnp), prog(jax, jax.numpy), rtol=1e-6)


def test_enable_x64_context_restores_and_retraces():
    f = ember.jit(lambda x: x * 1.5)
    assert not ember.enable_x64.value
    assert f(np.ones(2)).dtype == ember.float32
    with ember.enable_x64(True):
        assert ember.enable_x64.value and ember.config.jax_enable_x64
        assert jnp.arange(2.).dtype == ember.float64
        assert f(np.ones(2)).dtype == ember.float64
        with ember.enable_x64(False):
            assert jnp.zeros(1).dtype == ember.float32
        assert jnp.zeros(1).dtype == ember.float64
    assert jnp.arange(2.).dtype == ember.float32 and f(np.ones(2)).dtype == ember.float32
    with pytest.raises(RuntimeError, match="inside"):
        with ember.enable_x64():
            raise RuntimeError("inside")
    assert not ember.config.jax_enable_x64  # restored after an error too


def test_enable_x64_matches_jax():
    jax = pytest.importorskip("jax")
    for on in (True, False):
        with jax.enable_x64(on):
            want = (jax.numpy.arange(2.).dtype, jax.numpy.asarray(np.ones(1)).dtype,
                    jax.numpy.arange(3).dtype)
        with ember.enable_x64(on):
            got = (jnp.arange(2.).dtype, jnp.asarray(np.ones(1)).dtype, jnp.arange(3).dtype)
        assert [str(np.dtype(g.np)) for g in got] == [str(w) for w in want]
    with jax.enable_x64():
        assert jax.numpy.zeros(1).dtype == np.float64
    with ember.enable_x64():
        assert jnp.zeros(1).dtype == ember.float64


def test_experimental_x64_contexts():
    import ember.experimental as ex
    with ex.enable_x64():
        assert jnp.ones(1).dtype == ember.float64
        with ex.disable_x64():
            assert jnp.ones(1).dtype == ember.float32
        assert jnp.ones(1).dtype == ember.float64
    with ex.enable_x64(False):
        assert jnp.ones(1).dtype == ember.float32
    assert not ember.config.read("jax_enable_x64")


def test_typeof():
    t = ember.typeof(jnp.ones((3, 3)))
    assert str(t) == "float32[3,3]" and repr(t) == "ShapedArray(float32[3,3])"
    assert t.shape == (3, 3) and t.dtype == ember.float32 and t.ndim == 2 and t.size == 9
    assert str(ember.typeof(2.0)) == "float32[]" and str(ember.typeof(np.ones(2))) == "float32[2]"
    assert str(ember.typeof(ember.ones(2, dtype=ember.float64))) == "float64[2]"
    seen = []
    ember.jit(lambda x: seen.append(str(ember.typeof(x))) or x)(jnp.ones((2, 5)))
    assert seen == ["float32[2,5]"]
    with pytest.raises(TypeError, match="typeof: str"):
        ember.typeof("a")
    jax = pytest.importorskip("jax")
    for x in (np.ones((3, 3), np.float32), np.arange(4), np.ones(2)):
        assert str(ember.typeof(x)) == str(jax.typeof(x))


def _f_nan(np_mod):
    def f(x):
        w = 3 * np_mod.square(x)
        return np_mod.log(-w)
    return f


def test_debug_nans_stops_at_the_operation(capsys):
    f = _f_nan(jnp)
    assert np.isnan(float(f(5.)))  # off: NaN comes back
    ember.config.update("jax_debug_nans", True)
    try:
        assert ember.debug_nans.value and ember.config.jax_debug_nans
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
            f(5.)
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
            ember.jit(f)(jnp.asarray(5.))
        assert "Calling the de-optimized version" in capsys.readouterr().out
        with ember.debug_nans(False):
            assert np.isnan(float(ember.jit(f)(jnp.asarray(5.))))
        assert ember.debug_nans.value
        assert float(jnp.sqrt(jnp.asarray(4.))) == 2.0  # clean results pass
    finally:
        ember.config.update("jax_debug_nans", False)
    assert np.isnan(float(ember.jit(f)(jnp.asarray(5.))))


def test_debug_infs():
    with ember.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"\(inf\) encountered in div"):
            jnp.asarray(1.0) / 0
        assert np.isnan(float(jnp.log(jnp.asarray(-1.0))))  # NaNs are not infs
    assert not ember.debug_infs.value
    assert float(jnp.asarray(1.0) / 0) == np.inf


def test_debug_nans_matches_jax():
    jax = pytest.importorskip("jax")
    with jax.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
            _f_nan(jax.numpy)(5.)


def test_config_options_without_effect_in_ember():
    for name, value in [("jax_platform_name", "cpu"), ("jax_platforms", "cpu"),
                        ("jax_default_matmul_precision", "highest"), ("jax_remat3", True),
                        ("jax_traceback_filtering", "off"), ("jax_num_cpu_devices", 1),
                        ("jax_threefry_partitionable", True),
                        ("jax_compilation_cache_dir", "/tmp/x")]:
        before = ember.config.read(name)
        try:
            ember.config.update(name, value)
            assert ember.config.read(name) == value
            assert getattr(ember.config, name) == value
        finally:
            ember.config.update(name, before)
    for name, value, why in [("jax_platform_name", "gpu", "runs on the CPU"),
                             ("jax_num_cpu_devices", 8, "one device per process"),
                             ("jax_threefry_partitionable", False, "Threefry bits"),
                             ("jax_numpy_rank_promotion", "raise", "'allow' only")]:
        with pytest.raises(ValueError, match=why):
            ember.config.update(name, value)
    with pytest.raises(AttributeError, match="unknown option 'jax_no_such'"):
        ember.config.update("jax_no_such", 1)


def test_config_defaults_match_jax():
    jax = pytest.importorskip("jax")
    for name in ("jax_remat3", "jax_threefry_partitionable", "jax_default_prng_impl",
                 "jax_numpy_rank_promotion", "jax_num_cpu_devices",
                 "jax_default_matmul_precision", "jax_traceback_filtering",
                 "jax_compilation_cache_dir", "jax_platforms"):
        assert ember.config.read(name) == getattr(jax.config, name), name
