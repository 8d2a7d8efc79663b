"""jit and Python numbers: static at first; one whose value changes between calls is traced
from then on (as JAX traces them: `update(i, state)` with a new step `i` each call compiles
once), unless the function needs its value (then it stays static, as before)."""
import warnings

import numpy as np
import pytest

import ember


def test_a_changing_step_number_is_traced_after_one_retrace():
    traces = []

    @ember.jit
    def step(i, x, lr):
        traces.append(1)
        return x - lr * x * i

    x = ember.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no retrace warning, no cache-limit warning
        for i in range(30):
            out = step(i, x, 0.1)
            np.testing.assert_allclose(out.numpy(), np.ones(3) - 0.1 * i, rtol=1e-6)
    assert len(traces) == 2 and step.trace_count == 2
    # the learning rate, which never changed, is still a constant of the plan; the step is
    # an input
    assert step._fast is not None  # the repeat calls take the guard
    step(31, x, 0.2)  # lr changes too: traced as well, one more trace
    for lr in (0.3, 0.4, 0.5):
        np.testing.assert_allclose(step(2, x, lr).numpy(), np.ones(3) - lr * 2, rtol=1e-6)
    assert step.trace_count == 3


def test_a_number_the_function_needs_concretely_stays_static():
    @ember.jit
    def power(x, n):
        for _ in range(n):  # needs n's value
            x = x * 2
        return x

    x = ember.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = [power(x, n).numpy() for n in range(4)] + [power(x, 2).numpy()]
    for n, o in zip([0, 1, 2, 3, 2], outs):
        np.testing.assert_array_equal(o, np.full(2, 2.0 ** n))
    assert power.trace_count == 4  # one per value; the repeat of n=2 is cached


def test_traced_numbers_take_jaxs_32_bit_types_and_the_guard_checks_type_and_range():
    @ember.jit
    def f(i, t, x):
        return x * i + t

    x = ember.ones(2)
    f(1, 0.5, x)
    out = f(2, 1.5, x)  # both change: both traced
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), [3.5, 3.5])
    np.testing.assert_allclose(f(2**40, 0.0, x).numpy(), np.full(2, 2.0 ** 40), rtol=1e-6)
    np.testing.assert_allclose(f(3, 1, x).numpy(), [4.0, 4.0])  # an int where a float was
    np.testing.assert_allclose(f(-4, -1.0, x).numpy(), [-5.0, -5.0])


def test_grad_inside_jit_with_a_traced_step():
    @ember.jit
    def update(i, w):
        g = ember.grad(lambda v: (v * v).sum())(w)
        return w - 0.1 / (1.0 + i) * g

    w = ember.tensor([1.0, -2.0])
    ref = w.numpy().copy()
    for i in range(6):
        w = update(i, w)
        ref = ref - 0.1 / (1.0 + i) * 2 * ref
    np.testing.assert_allclose(w.numpy(), ref, rtol=1e-6)
    assert update.trace_count == 2
