"""Host callbacks (pure_callback, io_callback, debug.callback/print) under the transforms,
checked against JAX where it is installed."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember.experimental import io_callback

S = ember.ShapeDtypeStruct


def test_pure_callback_eager_and_jit_give_the_callbacks_values_in_declared_dtypes():
    calls = []

    def cb(a):
        calls.append(type(a))
        return np.sin(np.asarray(a)).astype(np.float64)  # converted to the declared float32
    x = jnp.arange(3.)
    want = np.sin(np.arange(3.)).astype(np.float32)
    for f in (lambda v: ember.pure_callback(cb, S((3,), ember.float32), v),
              ember.jit(lambda v: ember.pure_callback(cb, S((3,), ember.float32), v) * 2)):
        r = f(x)
        assert r.dtype == ember.float32
        np.testing.assert_allclose(r.numpy() / (2 if len(calls) > 1 else 1), want, rtol=1e-6)
    assert calls == [ember.Tensor, ember.Tensor]


def test_pure_callback_pytrees_in_and_out_and_kwargs():
    def cb(d, scale):
        return {"s": np.asarray(d["a"]) * np.asarray(scale), "n": np.int32(np.asarray(d["b"]).size)}
    out = ember.jit(lambda a, b: ember.pure_callback(
        cb, {"s": S((2,), ember.float32), "n": S((), ember.int32)}, {"a": a, "b": b},
        scale=ember.tensor(3.)))(ember.tensor([1., 2.]), ember.zeros(4))
    np.testing.assert_allclose(out["s"].numpy(), [3., 6.])
    assert out["n"].item() == 4 and out["n"].dtype == ember.int32


def test_unused_pure_callback_is_dropped_by_jit_but_io_callback_is_kept():
    seen = []

    def cb(a):
        seen.append("pure")
        return a
    ember.jit(lambda v: (ember.pure_callback(cb, S((2,), ember.float32), v), v * 1)[1])(
        ember.ones(2))
    assert seen == []

    def io(a):
        seen.append("io")
        return a
    ember.jit(lambda v: (io_callback(io, S((2,), ember.float32), v), v * 1)[1])(ember.ones(2))
    assert seen == ["io"]


def test_callback_result_of_wrong_shape_or_structure_names_the_callback():
    def bad(a):
        return np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"bad returned result 0 of shape \(4,\).*\(3,\)"):
        ember.pure_callback(bad, S((3,), ember.float32), ember.ones(3))
    with pytest.raises(TypeError, match="structure"):
        ember.pure_callback(lambda a: (a, a), S((3,), ember.float32), ember.ones(3))
    with pytest.raises(TypeError, match="shape"):
        ember.pure_callback(lambda a: a, (3,), ember.ones(3))


def test_pure_callback_has_no_derivative_and_says_how_to_give_one():
    with pytest.raises(ValueError, match="custom_jvp"):
        ember.grad(lambda v: ember.pure_callback(lambda a: a, S((), ember.float32), v))(1.)
    with pytest.raises(ValueError, match="custom_jvp"):
        ember.jvp(lambda v: ember.pure_callback(lambda a: a, S((), ember.float32), v),
                  (ember.tensor(1.),), (ember.tensor(1.),))

    @ember.custom_jvp
    def f(x):
        return ember.pure_callback(lambda a: np.exp(np.asarray(a)), S((), ember.float32), x)
    f.defjvp(lambda p, t: (f(p[0]), f(p[0]) * t[0]))
    assert abs(ember.grad(f)(ember.tensor(0.5)).item() - np.exp(0.5)) < 1e-5


@pytest.mark.parametrize("method", ["sequential", "expand_dims", "broadcast_all",
                                    "legacy_vectorized"])
def test_pure_callback_under_vmap(method):
    shapes = []

    def cb(a, b):
        shapes.append((tuple(a.shape), tuple(b.shape)))
        return np.asarray(a) + np.asarray(b)
    x, c = jnp.arange(6.).reshape(3, 2), jnp.ones(2)
    r = ember.vmap(lambda v: ember.pure_callback(cb, S((2,), ember.float32), v, c,
                                                 vmap_method=method))(x)
    np.testing.assert_allclose(r.numpy(), np.arange(6.).reshape(3, 2) + 1)
    want = {"sequential": [((2,), (2,))] * 3, "expand_dims": [((3, 2), (1, 2))],
            "broadcast_all": [((3, 2), (3, 2))], "legacy_vectorized": [((3, 2), (2,))]}
    assert shapes == want[method]


def test_vmap_without_vmap_method_says_which_to_choose():
    with pytest.raises(NotImplementedError, match="vmap_method"):
        ember.vmap(lambda v: ember.pure_callback(lambda a: a, S((), ember.float32), v))(
            jnp.ones(3))


def test_debug_print_inside_jit_vmap_grad(capsys):
    def f(v):
        ember.debug.print("v={v} s={}", v * 2, v=v)
        return (v ** 2).sum()
    x = jnp.arange(3.)
    ember.jit(f)(x)
    assert capsys.readouterr().out == "v=[0. 1. 2.] s=[0. 2. 4.]\n"
    ember.vmap(f)(x)
    assert capsys.readouterr().out == "v=0.0 s=0.0\nv=1.0 s=2.0\nv=2.0 s=4.0\n"
    g = ember.grad(f)(x)  # the forward pass prints, once, the primal values
    assert capsys.readouterr().out == "v=[0. 1. 2.] s=[0. 2. 4.]\n"
    np.testing.assert_allclose(g.numpy(), [0., 2., 4.])
    ember.jit(ember.grad(f))(x)
    ember.jit(ember.grad(f))(x + 1)  # cached plan: prints the new values
    assert capsys.readouterr().out == ("v=[0. 1. 2.] s=[0. 2. 4.]\n"
                                       "v=[1. 2. 3.] s=[2. 4. 6.]\n")
    xx = ember.tensor([1., 2.], requires_grad=True)
    ember.jit(f)(xx).backward()  # eager tape through a jitted call with an effect
    assert capsys.readouterr().out == "v=[1. 2.] s=[2. 4.]\n"
    np.testing.assert_allclose(xx.grad.numpy(), [2., 4.])
    ember.debug.print("{:.2f}", jnp.float32(1.23456))
    assert capsys.readouterr().out == "1.23\n"


def test_debug_callback_pytrees_and_print_of_a_tracer(capsys):
    got = []
    ember.jit(lambda a: ember.debug.callback(lambda d: got.append(d["k"].numpy()), {"k": a}))(
        ember.tensor([1., 2.]))
    np.testing.assert_allclose(got[0], [1., 2.])

    @ember.jit
    def f(x):
        y = jnp.sin(x)
        print(y)  # Python's print at trace time shows the tracer, never raises
        return y
    f(ember.tensor([1., 2.]))
    assert "float32[2]" in capsys.readouterr().out


def test_isinstance_array_and_devices():
    x = jnp.ones(2)
    assert isinstance(x, ember.Array)
    assert x.devices() == {x.device}


def test_debug_print_matches_jax_output(capsys):
    jax = pytest.importorskip("jax")

    def body(lib, np_):
        def f(v):
            lib.debug.print("v={} total={t}", v, t=v.sum())
            return v * 2
        lib.vmap(f)(np_.arange(4.).reshape(2, 2))
        lib.jit(f)(np_.arange(3.))
    body(jax, jax.numpy)
    want = capsys.readouterr().out
    assert want.count("\n") == 3
    body(ember, jnp)
    assert capsys.readouterr().out == want


def test_callback_with_no_arguments_under_jit():
    """A primitive with no operands in a jit plan (a pure_callback of nothing)."""
    calls = []

    def host():
        calls.append(1)
        return np.int32(7)

    out = ember.jit(lambda: ember.pure_callback(host, np.int32(0)))()
    assert int(out) == 7 and out.dtype == ember.int32 and calls
    f = ember.jit(lambda x: (io_callback(lambda: calls.append(2), None), x * 2)[1])
    assert float(ember.grad(f)(1.0)) == 2.0 and 2 in calls


def test_shape_dtype_struct_like():
    S = ember.ShapeDtypeStruct
    assert S.like(jnp.arange(3.)) == S((3,), ember.float32)
    assert S.like(1.0) == S((), ember.float32)  # JAX's weak float32 (float32 unless x64)
    assert S.like(np.ones((2, 2))) == S((2, 2), ember.float32)
    assert S.like(S((2,), ember.int32)) == S((2,), ember.int32)
    assert S.like(ember.ones(2, dtype=ember.float64)).dtype == ember.float64  # a tensor keeps it
    y = ember.pure_callback(lambda x: np.sin(x).astype(x.dtype), S.like(jnp.arange(3.)),
                            jnp.arange(3.), vmap_method="sequential")
    np.testing.assert_allclose(y.numpy(), np.sin(np.arange(3.)), rtol=1e-6)
    jax = pytest.importorskip("jax")
    for x in (np.ones((2, 2)), 1.0, 3):
        j = jax.ShapeDtypeStruct.like(x)
        e = S.like(x)
        assert tuple(e.shape) == tuple(j.shape) and e.dtype.name == str(j.dtype)
