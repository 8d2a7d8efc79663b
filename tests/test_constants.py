"""PyTorch's module-level constants (torch.inf, torch.nan, torch.pi, torch.e, torch.newaxis):
LLMs-from-scratch's attention masks use ``-torch.inf``."""
import math

import ember


def test_constants_are_python_floats():
    for name, want in [("inf", math.inf), ("pi", math.pi), ("e", math.e)]:
        v = getattr(ember, name)
        assert type(v) is float and v == want, name
    assert type(ember.nan) is float and math.isnan(ember.nan)
    assert ember.newaxis is None


def test_masked_fill_with_minus_inf_then_softmax():
    scores = ember.ones(3, 3)
    mask = ember.triu(ember.ones(3, 3), diagonal=1).bool()
    w = ember.softmax(scores.masked_fill(mask, -ember.inf), dim=-1)
    assert w[0].tolist() == [1.0, 0.0, 0.0]
    assert ember.ones(2, 3)[ember.newaxis].shape == (1, 2, 3)
