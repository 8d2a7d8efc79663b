"""Scalar constants of a jit plan's ufunc calls are made 0-d arrays once, at compile time
(codegen._scalar_const): NumPy converts a scalar operand anew at every call. The results keep
eager's dtypes and bits."""
import warnings

import numpy as np
import pytest

import ember

_SCALARS = [0.1, -3, 2, 1e-8, 1e40, float("inf"), float("nan"), np.float32(0.9),
            np.float64(0.999), np.int32(3)]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
@pytest.mark.parametrize("s", _SCALARS, ids=repr)
def test_scalar_operands_give_eagers_dtype_and_bits(dtype, shape, s):
    def f(x):
        return [x * s, s * x, x + s, x - s, s - x, x / s, ember.maximum(x, s)]

    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(shape).astype(dtype) * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (overflow to inf in float16, 0 / 0)
        want = f(x)
        jf = ember.jit(f)
        jf(x)
        got = jf(x)  # the repeat call: the guarded plan
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g.numpy().reshape(-1).view(np.uint8),
                                      w.numpy().reshape(-1).view(np.uint8))


def test_a_plans_scalar_constants_are_0d_arrays():
    def step(w, b, x, y):
        g = ember.grad(lambda w, b: ((x @ w + b - y) ** 2).mean(), argnums=(0, 1))(w, b)
        return w - 0.01 * g[0], b - np.float32(0.01) * g[1]

    jstep = ember.jit(step)
    args = [ember.ones((1, 1)), ember.zeros(1), ember.ones((5, 1)), ember.zeros((5, 1))]
    jstep(*args)
    jstep(*args)
    plan = jstep._fast[1]
    consts = {k: v for k, v in plan.__globals__.items() if k[0] == "c" and k[1:].isdigit()}
    scalar_names = [k for k, v in consts.items()
                    if isinstance(v, (float, int, np.generic)) and not isinstance(v, bool)]
    lines = plan.source.splitlines()
    ufunc_lines = [ln for ln in lines if any(f"{k})" in ln or f"{k}," in ln
                                             for k in scalar_names)]
    assert not ufunc_lines, ufunc_lines
    assert any(isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.float32
               for v in consts.values())
