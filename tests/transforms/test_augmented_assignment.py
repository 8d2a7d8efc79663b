"""``y -= x`` on a traced value inside grad/jit/vmap rebinds ``y`` to the result (JAX's
immutable arrays); eager tensors keep PyTorch's in-place ``+=``."""
import numpy as np
import pytest

import ember


def f(x):
    y = x * 2
    y -= 1.0
    y *= x
    y **= 2
    y /= 2.0
    return y.sum()


def test_augmented_assignment_under_transforms_equals_out_of_place():
    x = ember.tensor([0.5, 1.0, 2.0])
    want = ((((x * 2) - 1.0) * x) ** 2 / 2.0).sum()
    assert ember.jit(f)(x).item() == pytest.approx(want.item())
    g = ember.grad(f)(x)  # d/dx of ((2x - 1) x)^2 / 2 = (2x^2 - x)(4x - 1)
    xn = x.numpy()
    np.testing.assert_allclose(g.numpy(), (2 * xn ** 2 - xn) * (4 * xn - 1), rtol=1e-6)
    np.testing.assert_allclose(ember.vmap(f)(ember.stack([x, x])).numpy(), [want.item()] * 2,
                               rtol=1e-6)


def test_eager_plus_equals_stays_in_place_and_named_inplace_still_refuses_tracers():
    x = ember.ones(2)
    alias = x
    x += 1
    assert alias is x and alias.tolist() == [2.0, 2.0]
    with pytest.raises(Exception):
        ember.grad(lambda t: (t * 2).sub_(1.0).sum())(ember.ones(2))
