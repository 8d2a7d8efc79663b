"""Large eager draws in float32 are drawn and converted piece by piece (no whole-size float64
temporary); the values must be the ones a single NumPy call gives."""
import numpy as np
import pytest

import ember
from ember.random import generator as G


@pytest.mark.parametrize("draw, numpy_draw", [
    (lambda: ember.rand(7, 11), lambda rng: rng.random((7, 11))),
    (lambda: ember.randn(7, 11), lambda rng: rng.standard_normal((7, 11))),
    (lambda: ember.empty(7, 11).uniform_(-0.5, 2.0), lambda rng: rng.uniform(-0.5, 2.0, (7, 11))),
    (lambda: ember.empty(7, 11).normal_(1.0, 3.0), lambda rng: rng.normal(1.0, 3.0, (7, 11))),
    (lambda: ember.nn.init.kaiming_uniform_(ember.empty(7, 11)), None),
])
def test_pieces_give_the_one_call_values(monkeypatch, draw, numpy_draw):
    ember.manual_seed(3)
    whole = draw().numpy()
    after_whole = ember.rand(3).numpy()
    monkeypatch.setattr(G, "_DRAW_CHUNK", 5)  # 77 values in 16 pieces, the last one short
    calls = []
    real = np.copyto
    monkeypatch.setattr(G.np, "copyto", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    ember.manual_seed(3)
    pieces = draw().numpy()
    monkeypatch.setattr(G.np, "copyto", real)
    assert len(calls) == 16  # it was drawn in pieces
    assert pieces.dtype == np.float32
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(ember.rand(3).numpy(), after_whole)  # the stream moved alike
    if numpy_draw is not None:
        np.testing.assert_array_equal(whole, numpy_draw(np.random.default_rng(3)).astype(np.float32))


def test_float64_and_small_draws_are_one_call(monkeypatch):
    monkeypatch.setattr(G, "_DRAW_CHUNK", 5)
    ember.manual_seed(1)
    x = ember.rand(4, 4, dtype=ember.float64).numpy()
    np.testing.assert_array_equal(x, np.random.default_rng(1).random((4, 4)))
    ember.manual_seed(1)
    assert ember.rand(2, 2).shape == (2, 2)
