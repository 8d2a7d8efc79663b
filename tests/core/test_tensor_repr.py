"""A tensor prints as PyTorch prints it (what tutorials show): the float style (fixed,
integral ``3.``, scientific), right-aligned columns and the ``...`` summary of large tensors,
compared with PyTorch's own text where it is installed."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    [1.0, 2000.0],            # ratio over 1000: scientific even though integral
    [0.001, 2.0],             # ratio over 1000
    [1.5, 100.25],            # columns right-aligned to the widest
    [1.0, 10000.0],
    [-1.5, 2.25],
    [1e-5, 1.0],
    [0.5, 1e9],
    [1.0, float("inf")],
    [0.5, float("nan"), -3.0],
    [[1.5, -100.25], [3.0, 4.0]],
    [0.0, 0.0],
    [1, -1000],
]


@pytest.mark.parametrize("vals", CASES, ids=[str(c) for c in CASES])
def test_small_tensors_print_as_pytorch(vals):
    assert repr(ember.tensor(vals)) == repr(torch.tensor(vals))


def test_summary_takes_style_from_the_shown_elements():
    # one tiny value hidden behind the "..." must not switch the print to scientific
    a = np.r_[np.full(600, 0.5), 1e-6, np.full(600, 0.25)].astype(np.float32)
    assert repr(ember.tensor(a)) == repr(torch.tensor(a))
    b = np.random.default_rng(0).uniform(0, 0.2, (50, 784)).astype(np.float32)
    b[10, 10] = 1e-7
    assert repr(ember.tensor(b)) == repr(torch.tensor(b))
    assert repr(ember.arange(2000)) == repr(torch.arange(2000))


def _same(e, t):
    return repr(e) == repr(t).replace("torch.", "ember.").replace("Backward0>", "Backward>")


def test_layout_wraps_as_pytorch():
    # as many elements a line as fit 80 columns (8 of width 7 in a 2-D tensor)
    rows = [[0.4175, -0.2127, -0.84, -0.42, -0.624, -0.9773, 0.8748, 0.9873, -0.0594, -2.4919,
             0.2423, 0.2883]] * 2
    assert _same(ember.tensor(rows), torch.tensor(rows))
    big = np.arange(3000.).reshape(3, 10, 100)
    assert _same(ember.tensor(big), torch.tensor(big))
    assert _same(ember.tensor(np.arange(2000) % 7 == 0), torch.tensor(np.arange(2000) % 7 == 0))


def test_booleans_integers_and_empty_tensors():
    for vals in ([True, False], [[1, 2, 3], [400, 5, 6]]):
        assert _same(ember.tensor(vals), torch.tensor(vals))
    assert _same(ember.tensor(True), torch.tensor(True))
    assert _same(ember.tensor(3.5), torch.tensor(3.5))
    assert _same(ember.zeros(0, 3), torch.zeros(0, 3))
    assert _same(ember.tensor([], dtype=ember.int32), torch.tensor([], dtype=torch.int32))


def test_suffixes_move_to_a_new_line_when_the_last_line_is_full():
    vals = [[1.5, -2.25] * 20]
    e = ember.tensor(vals, requires_grad=True) * 2
    t = torch.tensor(vals, requires_grad=True) * 2
    assert _same(e, t)
    assert _same(ember.tensor([[1.5, -2.25] * 5], dtype=ember.float64, requires_grad=True),
                 torch.tensor([[1.5, -2.25] * 5], dtype=torch.float64, requires_grad=True))


def test_parameter_prints_its_header_in_print_and_repr():
    pe, pt = ember.nn.Parameter(ember.ones(2)), torch.nn.Parameter(torch.ones(2))
    assert str(pe) == str(pt) and repr(pe) == repr(pt)
    assert str([pe]) == str([pt])


def test_format_of_a_zero_dim_tensor_is_its_number():
    vals = [ember.tensor(2), ember.tensor(2.5, requires_grad=True), ember.tensor([1, 2]),
            ember.nn.Parameter(ember.tensor(1.0)), ember.tensor(True)]
    tvals = [torch.tensor(2), torch.tensor(2.5, requires_grad=True), torch.tensor([1, 2]),
             torch.nn.Parameter(torch.tensor(1.0)), torch.tensor(True)]
    for e, t in zip(vals, tvals):
        assert f"{e}" == f"{t}".replace("torch.", "ember.")
    assert f"{ember.tensor(2.5) * 2:.3f}" == "5.000"


def test_meta_tensors_print_as_pytorch():
    for e, t in [(ember.empty(2, 3, device="meta"), torch.empty(2, 3, device="meta")),
                 (ember.empty(2, dtype=ember.float64, device="meta", requires_grad=True),
                  torch.empty(2, dtype=torch.float64, device="meta", requires_grad=True))]:
        assert _same(e, t)
    w = ember.empty(3, device="meta", requires_grad=True)
    assert repr(w * 2) == "tensor(..., device='meta', size=(3,), grad_fn=<MulBackward>)"
