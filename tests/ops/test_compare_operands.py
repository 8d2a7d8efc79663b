"""Comparison operators with operands that are not tensors, numbers or arrays: PyTorch returns
NotImplemented, so ``t == None`` is False and ``t != None`` True (LLMs-from-scratch's
``generate`` tests ``idx_next == eos_id`` with ``eos_id=None``), ``t < None`` a TypeError."""
import operator

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("other", [None, "a", b"a", object()])
def test_eq_ne_fall_back_to_python(other):
    t = ember.tensor([[3]])
    assert (t == other) is False and (t != other) is True
    assert (other == t) is False


@pytest.mark.parametrize("op", [operator.lt, operator.le, operator.gt, operator.ge])
def test_ordering_with_none_is_a_type_error(op):
    with pytest.raises(TypeError, match="not supported between instances of 'Tensor'"):
        op(ember.ones(2), None)


def test_numeric_operands_still_compare_elementwise():
    t = ember.tensor([1., 2.])
    assert (t == 1).tolist() == [True, False]
    assert (t != np.float32(2)).tolist() == [True, False]
    assert (t == np.array([1., 0.])).tolist() == [True, False]
    assert (t < ember.tensor([2., 2.])).tolist() == [True, False]


def test_generate_loop_with_eos_none():
    idx = ember.zeros(1, 2, dtype=ember.long)
    for _ in range(3):
        nxt = ember.argmax(ember.randn(1, 5), dim=-1, keepdim=True)
        if nxt == None:  # noqa: E711  (the book's form)
            break
        idx = ember.cat((idx, nxt), dim=1)
    assert idx.shape == (1, 5)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    for other in [None, "x", object()]:
        assert (torch.ones(2) == other) == (ember.ones(2) == other)
        assert (torch.ones(2) != other) == (ember.ones(2) != other)
