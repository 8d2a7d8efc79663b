"""Layers refuse inputs PyTorch refuses: another dtype than the layer's (no silent float64 or
integer results) and embedding indices outside [0, num_embeddings)."""
import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")


def _layers():
    return [(nn.Linear(4, 3), torch.nn.Linear(4, 3), (2, 4)),
            (nn.Conv1d(2, 3, 3), torch.nn.Conv1d(2, 3, 3), (1, 2, 6)),
            (nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3), (1, 2, 6, 6)),
            (nn.ConvTranspose2d(2, 3, 3), torch.nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
            (nn.LSTM(4, 3), torch.nn.LSTM(4, 3), (5, 2, 4)),
            (nn.GRU(4, 3, batch_first=True), torch.nn.GRU(4, 3, batch_first=True), (2, 5, 4))]


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("k", range(6))
def test_layer_refuses_another_input_dtype(k, dtype):
    em, tm, shape = _layers()[k]
    with pytest.raises((RuntimeError, ValueError)):
        tm(torch.ones(shape, dtype=getattr(torch, dtype)))
    name = type(em).__name__
    op = {"Linear": "linear", "Conv1d": "conv1d", "Conv2d": "conv2d",
          "ConvTranspose2d": "conv_transpose2d"}.get(name, name)
    with pytest.raises(RuntimeError, match=rf"{op}: input and weight must have the same dtype, "
                                           rf"but got ember.{dtype}"):
        em(ember.ones(*shape, dtype=getattr(ember, dtype)))
    out = em(ember.ones(*shape))  # the layer's own dtype works
    assert (out[0] if isinstance(out, tuple) else out).dtype == ember.float32


def test_linear_under_transforms_and_after_to():
    lin = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="linear: input and weight"):
        ember.jit(lin)(ember.ones(2, 4, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="linear: input and weight"):
        ember.vmap(lin)(ember.ones(2, 4, dtype=ember.float64))
    assert ember.jit(lin)(ember.ones(2, 4)).dtype == ember.float32
    lin.to(ember.float64)
    assert lin(ember.ones(2, 4, dtype=ember.float64)).dtype == ember.float64
    with pytest.raises(RuntimeError, match="linear: bias and weight"):
        nn.functional.linear(ember.ones(2, 4), ember.ones(3, 4),
                             ember.ones(3, dtype=ember.float64))


@pytest.mark.parametrize("bad", [[-1], [0, -5], [5], [[1, 7]]])
def test_embedding_rejects_out_of_range_indices_like_torch(bad):
    em, tm = nn.Embedding(5, 2), torch.nn.Embedding(5, 2)
    with pytest.raises(IndexError):
        tm(torch.tensor(bad))
    worst = min(v for v in np.ravel(bad)) if min(np.ravel(bad)) < 0 else max(np.ravel(bad))
    with pytest.raises(IndexError, match=rf"embedding: index {worst} is out of range for a "
                                         rf"table of 5 rows"):
        em(ember.tensor(bad))


def test_embedding_valid_indices_and_padding_idx():
    em = nn.Embedding(5, 2, padding_idx=-1)  # a negative padding_idx counts from the end
    out = em(ember.tensor([[0, 4], [2, 3]]))
    np.testing.assert_array_equal(out.detach().numpy(), em.weight.detach().numpy()[[[0, 4], [2, 3]]])
    assert em.padding_idx == 4
    assert tuple(em(ember.tensor([], dtype=ember.int64)).shape) == (0, 2)


@pytest.mark.parametrize("mode", ["jit", "vmap", "grad", "jit_grad"])
@pytest.mark.parametrize("bad, worst", [([[0, -1]], -1), ([[2, 5]], 5)])
def test_embedding_range_check_holds_under_transforms(mode, bad, worst):
    em = nn.Embedding(5, 2)
    w = em.weight.detach()

    def loss(w, i):
        return nn.functional.embedding(i, w).sum()

    f = {"jit": ember.jit(lambda w, i: nn.functional.embedding(i, w)),
         "vmap": ember.vmap(lambda w, i: nn.functional.embedding(i, w), in_axes=(None, 0)),
         "grad": ember.grad(loss), "jit_grad": ember.jit(ember.grad(loss))}[mode]
    good = f(w, ember.tensor([[0, 4]]))  # traced/compiled with valid indices first
    assert good.shape[-1] == 2
    with pytest.raises(IndexError) as err:
        f(w, ember.tensor(bad))
    # the message eager calls give, unwrapped
    assert str(err.value).startswith(f"embedding: index {worst} is out of range for a table "
                                     f"of 5 rows")
