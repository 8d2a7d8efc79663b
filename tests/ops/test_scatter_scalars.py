"""The gather/scatter family takes 0-d tensors where PyTorch does (a 0-d index, src or input
counts as 1-D): the one-hot target transform of PyTorch's transforms tutorial,
``zeros(10).scatter_(0, tensor(y), value=1)``. Compared with PyTorch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    lambda m: m.zeros(5).scatter_(0, m.tensor(3), value=1),
    lambda m: m.zeros(5).scatter(0, m.tensor(3), m.tensor(7.)),
    lambda m: m.zeros(5).scatter_add(0, m.tensor(2), m.tensor(7.)),
    lambda m: m.arange(5.).gather(0, m.tensor(3)),
    lambda m: m.tensor(5.).scatter(0, m.tensor([0]), m.tensor([7.])),
    lambda m: m.tensor(5.).gather(0, m.tensor(0)),
    lambda m: m.tensor(5.).scatter_reduce(0, m.tensor(0), m.tensor(3.), "prod"),
    lambda m: m.zeros(4).scatter_reduce(0, m.tensor(1), m.tensor(3.), "amax",
                                        include_self=False),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_zero_dim_operands_as_pytorch(i):
    e, t = CASES[i](ember), CASES[i](torch)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_gradient_through_a_zero_dim_src():
    a = ember.tensor(2., requires_grad=True)
    ember.arange(5.).scatter(0, ember.tensor(3), a * 3).sum().backward()
    assert float(a.grad) == 3.0


def test_higher_rank_still_needs_matching_dims():
    with pytest.raises(Exception, match="scatter: index has 0 dims"):
        ember.zeros(2, 3).scatter_(0, ember.tensor(1), value=1)
