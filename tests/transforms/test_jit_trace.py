"""jit(f).trace(*args) (JAX's Traced: jaxpr, out_info, lower) and Python numbers traced by
make_jaxpr / trace / lower, as JAX traces them."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp


def log1pexp(x):
    return jnp.log(1. + jnp.exp(x))


def test_make_jaxpr_traces_python_numbers():
    g = ember.make_jaxpr(ember.grad(log1pexp))(100.)
    assert len(g.invars) == 1 and str(g.invars[0].aval) == "float32[]"
    assert "exp" in str(g) and "nan" not in str(g)  # not folded into a constant
    gi = ember.make_jaxpr(lambda x, n: x * n, static_argnums=1)(2.0, 3)
    assert len(gi.invars) == 1  # the static int stays a constant


def test_trace():
    t = ember.jit(ember.grad(log1pexp)).trace(100.)
    assert str(t.jaxpr) == str(ember.make_jaxpr(ember.grad(log1pexp))(100.))
    assert t.out_info == ember.ShapeDtypeStruct((), ember.float32)
    assert t.fun_name == "grad(log1pexp)" or "log1pexp" in t.fun_name
    f = ember.jit(lambda d, k: {"y": d["a"] * k, "z": d["a"].sum()}, static_argnums=1)
    t2 = f.trace({"a": jnp.ones((2, 3))}, 2)
    assert t2.out_info == {"y": ember.ShapeDtypeStruct((2, 3), ember.float32),
                           "z": ember.ShapeDtypeStruct((), ember.float32)}
    c = t2.lower().compile()
    np.testing.assert_array_equal(c({"a": jnp.ones((2, 3))}, 2)["y"].numpy(), np.full((2, 3), 2.))


def test_lowered_with_python_numbers_compiles_and_runs():
    c = ember.jit(lambda x, n: x * n, static_argnums=1).lower(2., 3).compile()
    assert float(c(5., 3)) == 15.0
    with pytest.raises(TypeError, match="lowered for other arguments"):
        c(jnp.ones(2), 3)


def test_trace_matches_jax_structure():
    jax = pytest.importorskip("jax")
    ours = ember.jit(lambda x: (x * 2, x.sum())).trace(jnp.ones((3, 4))).out_info
    theirs = jax.jit(lambda x: (x * 2, x.sum())).trace(jax.numpy.ones((3, 4))).out_info
    assert [tuple(o.shape) for o in ours] == [tuple(o.shape) for o in theirs]
    assert [o.dtype.name for o in ours] == [str(o.dtype) for o in theirs]
