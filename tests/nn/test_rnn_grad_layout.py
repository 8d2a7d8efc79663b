"""The recurrent modules' weight gradients come out C-ordered, as their parameters are (eager
and jit): the fused recurrences are handed the weights as transposed views and give their
cotangents in that layout, so the parameters' own gradients need no transposed pass (an
optimizer's element-wise passes over a transposed (512, 128) gradient took ~30x longer)."""
import numpy as np
import pytest

import ember
from ember.func import functional_call


def _loss(m, p, x):
    out, _ = functional_call(m, p, (x,))
    return (out * out).mean()


@pytest.mark.parametrize("cls,nl", [("LSTM", 1), ("LSTM", 2), ("GRU", 1)])
def test_weight_gradients_are_c_ordered(cls, nl):
    ember.manual_seed(0)
    m = getattr(ember.nn, cls)(6, 8, num_layers=nl)
    x = ember.tensor(np.random.default_rng(0).standard_normal((5, 3, 6)).astype(np.float32))
    p = {k: v.detach() for k, v in m.named_parameters()}
    jitted = ember.jit(ember.grad(lambda q: _loss(m, q, x)))(p)
    _loss(m, dict(m.named_parameters()), x).backward()
    for k, v in m.named_parameters():
        assert v.grad.numpy().flags.c_contiguous, ("eager", k)
        assert jitted[k].numpy().flags.c_contiguous, ("jit", k)
        np.testing.assert_array_equal(jitted[k].numpy(), v.grad.numpy(), err_msg=k)
