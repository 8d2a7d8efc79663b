"""linearize: the value and a staged JVP that agrees with jvp, is linear, doesn't re-run the
primal computation, composes with jit and vmap, and matches jax.linearize."""
import numpy as np
import pytest

import ember
from ember import jit, jvp, linearize, vmap

rng = np.random.default_rng(5)


def T(*shape):
    return ember.tensor(rng.standard_normal(shape))  # float64


def model(p, x):
    h = ember.tanh(x @ p["w"] + p["b"])
    return {"out": (h * h).sum(1), "norm": (p["w"] ** 2).sum()}


def _params():
    return {"w": T(3, 2), "b": T(2)}


def test_linearize_matches_jvp_and_is_linear():
    p, x = _params(), T(4, 3)
    out, f_jvp = linearize(model, p, x)
    t1, t2 = (_params(), T(4, 3)), (_params(), T(4, 3))
    ref_out, ref_tan = jvp(model, (p, x), t1)
    tan = f_jvp(*t1)
    for k in ("out", "norm"):
        np.testing.assert_array_equal(out[k].numpy(), ref_out[k].numpy())
        np.testing.assert_allclose(tan[k].numpy(), ref_tan[k].numpy(), rtol=1e-12, atol=1e-14)
    mix = ember.tree_map(lambda a, b: 2 * a - 3 * b, t1, t2)
    lhs, a, b = f_jvp(*mix), f_jvp(*t1), f_jvp(*t2)
    for k in ("out", "norm"):
        np.testing.assert_allclose(lhs[k].numpy(), 2 * a[k].numpy() - 3 * b[k].numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_f_jvp_does_not_rerun_the_function():
    calls = []

    def f(x):
        calls.append(1)
        return (x.exp() * x).sum()
    _, f_jvp = linearize(f, T(5))
    n = len(calls)
    for _ in range(3):
        f_jvp(T(5))
    assert len(calls) == n == 1


def test_f_jvp_composes_with_vmap_and_jit():
    x = T(4)
    f = lambda v: ember.sin(v) * v.sum()  # noqa: E731
    _, f_jvp = linearize(f, x)
    ts = T(3, 4)
    batched = vmap(f_jvp)(ts)
    loop = np.stack([jvp(f, (x,), (ts[i],))[1].numpy() for i in range(3)])
    np.testing.assert_allclose(batched.numpy(), loop, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jit(f_jvp)(ts[0]).numpy(), loop[0], rtol=1e-12, atol=1e-14)
    # linearize inside a transform: under vmap over the point
    xs = T(3, 4)
    per_point = vmap(lambda v: linearize(f, v)[1](ember.ones(4, dtype=ember.float64)))(xs)
    loop = np.stack([jvp(f, (xs[i],), (ember.ones(4, dtype=ember.float64),))[1].numpy()
                     for i in range(3)])
    np.testing.assert_allclose(per_point.numpy(), loop, rtol=1e-12, atol=1e-14)


def test_linearize_errors():
    _, f_jvp = linearize(lambda v: v * 2, T(3))
    with pytest.raises(ValueError, match=r"tangent leaf 0 is float64\[4\] but its primal is "
                                         r"float64\[3\]"):
        f_jvp(T(4))
    with pytest.raises(ValueError, match="structured like the primals"):
        f_jvp(T(3), T(3))
    with pytest.raises(TypeError, match="input leaf 0 has dtype int64"):
        linearize(lambda v: v * 2, ember.tensor([1, 2]))


def test_parity_with_jax_linearize(request):
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64  # restored afterwards: other files compare in 32 bits
    request.addfinalizer(lambda: jax.config.update("jax_enable_x64", previous))
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x, t = rng.standard_normal(5), rng.standard_normal(5)
    fe = lambda v: (ember.tanh(v) * v.exp()).cumsum(0)  # noqa: E731
    fj = lambda v: jnp.cumsum(jnp.tanh(v) * jnp.exp(v))  # noqa: E731
    oe, je = linearize(fe, ember.tensor(x))
    oj, jj = jax.linearize(fj, x)
    np.testing.assert_allclose(oe.numpy(), np.asarray(oj), rtol=1e-12)
    np.testing.assert_allclose(je(ember.tensor(t)).numpy(), np.asarray(jj(t)), rtol=1e-12)


def test_linear_transpose():
    import ember.numpy as jnp
    f = lambda x, y: (2 * x + y.sum(0), x)  # noqa: E731
    t = ember.linear_transpose(f, jnp.ones(3), jnp.ones((2, 3)))
    gx, gy = t((jnp.arange(3.), jnp.ones(3)))
    np.testing.assert_array_equal(gx.numpy(), [1, 3, 5])
    np.testing.assert_array_equal(gy.numpy(), np.full((2, 3), [0, 1, 2], np.float32))
    (g,) = ember.linear_transpose(lambda x: 3 * x, 1.0)(2.0)
    assert float(g) == 6.0 and g.dtype == ember.float32
    t2 = ember.linear_transpose(lambda x: x @ jnp.ones((3, 2)), ember.ShapeDtypeStruct((4, 3), ember.float32))
    np.testing.assert_array_equal(jit(lambda c: t2(c)[0])(jnp.ones((4, 2))).numpy(), np.full((4, 3), 2.0))
    with pytest.raises(TypeError, match="linear_transpose: the cotangent's structure"):
        t((jnp.arange(3.),))
    with pytest.raises(TypeError, match="linear_transpose: a cotangent of shape"):
        t((jnp.arange(4.), jnp.ones(3)))
    with pytest.raises(TypeError, match="must be floating"):
        ember.linear_transpose(lambda i: i, jnp.arange(3))


def test_linear_transpose_matches_jax():
    jax = pytest.importorskip("jax")
    import ember.numpy as jnp
    W = np.arange(12., dtype=np.float32).reshape(3, 4)
    u = np.linspace(-1, 1, 3).astype(np.float32)
    ours = ember.linear_transpose(lambda w: jnp.asarray(W) @ w, np.ones(4, np.float32))(u)[0]
    theirs = jax.linear_transpose(lambda w: jax.numpy.asarray(W) @ w,
                                  np.ones(4, np.float32))(u)[0]
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6)
