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


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64, ember.float16])
@pytest.mark.parametrize("method, args, numpy_draw", [
    ("uniform_", (-0.5, 2.0), lambda rng, n: rng.uniform(-0.5, 2.0, n)),
    ("normal_", (1.0, 3.0), lambda rng, n: rng.normal(1.0, 3.0, n)),
])
def test_in_place_fill_is_the_copy_paths_values(monkeypatch, dtype, method, args, numpy_draw):
    """A contiguous tensor is filled straight from the stream (no temporary); a transposed view
    goes the draw-and-copy way: the same values in the same logical order, the same stream
    position after, the storage written in place (views see it) and the version bumped."""
    monkeypatch.setattr(G, "_DRAW_CHUNK", 5)
    ember.manual_seed(7)
    t = ember.zeros(7, 11, dtype=dtype)
    view, ptr, v0 = t[2], t.numpy().ctypes.data, t._version[0]
    out = getattr(t, method)(*args)
    assert out is t and t.numpy().ctypes.data == ptr and t._version[0] == v0 + 1
    np.testing.assert_array_equal(view.numpy(), t.numpy()[2])
    after = ember.rand(3).numpy()
    ember.manual_seed(7)
    u = getattr(ember.zeros(11, 7, dtype=dtype).t(), method)(*args)  # not contiguous
    np.testing.assert_array_equal(u.numpy(), t.numpy())
    np.testing.assert_array_equal(ember.rand(3).numpy(), after)
    want = numpy_draw(np.random.default_rng(7), 77).astype(dtype.np if hasattr(dtype, "np")
                                                           else t.numpy().dtype)
    np.testing.assert_array_equal(t.numpy().reshape(-1), want)


def test_in_place_fill_declines_inside_a_jit_trace():
    """Inside a jit trace a draw must be keyed (new numbers per call), not taken from the NumPy
    stream: the in-place fill leaves such draws to the keyed path."""
    seen = []

    @ember.jit
    def f(x):
        seen.append(G._fill_drawn(ember.zeros(3), lambda n: np.zeros(n)))
        return x + 1
    f(ember.zeros(2))
    assert seen == [False]
    assert G._fill_drawn(ember.zeros(3), lambda n: np.ones(n))  # eagerly it fills


def test_in_place_fill_of_a_parameter_under_grad_enabled():
    """A leaf that requires grad is filled in place without recording a graph (as before)."""
    ember.manual_seed(2)
    w = ember.nn.Parameter(ember.empty(300, 4))
    ember.nn.init.kaiming_uniform_(w)
    assert w.requires_grad and w.grad_fn is None and w.is_leaf
    ember.manual_seed(2)
    ref = ember.nn.init.kaiming_uniform_(ember.empty(4, 300).t()).numpy()
    np.testing.assert_array_equal(w.detach().numpy(), ref)
