"""zero_grad(set_to_none=False): in place, as PyTorch."""
import numpy as np

import ember


def test_zero_grad_without_none_zeroes_in_place():
    """set_to_none=False keeps each .grad object (and views of it) and clears NaN, in the
    optimizer and in Module.zero_grad, also for a 0-d parameter."""
    p = ember.nn.Parameter(ember.tensor(1.))
    opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        (p * 3).sum().backward()
        opt.step()
        g = p.grad
        opt.zero_grad(set_to_none=False)
        assert p.grad is g and p.grad.item() == 0
    np.testing.assert_allclose(p.item(), 1 - 0.3 * (1 + 1.9 + 2.71), rtol=1e-6)
    m = ember.nn.Linear(2, 1)
    m(ember.ones(1, 2)).sum().backward()
    g = m.weight.grad
    g._data[0, 0] = np.nan
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and not np.isnan(g.numpy()).any() and g.abs().sum().item() == 0
