"""The in-place arithmetic fast path (``x.add_(y)`` outside autograd): values, dtypes and
errors agree with the out-of-place op and with PyTorch; the path is chosen by the table's
``ufunc`` field."""
import numpy as np
import pytest

import ember
from ember.ops import elementwise as E

OPS = ["add_", "sub_", "mul_", "div_"]


def test_elementwise_primitives_name_their_inplace_ufunc():
    for prim, name in ((E.add_p, "add"), (E.sub_p, "subtract"), (E.mul_p, "multiply"),
                       (E.div_p, "divide")):
        assert prim.ufunc == name
        assert getattr(np, name)(np.float32(6), np.float32(3)) == prim.impl(np.float32(6),
                                                                          np.float32(3))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("other", ["same", "row", "scalar", "int_scalar", "float64"])
def test_inplace_matches_out_of_place_and_torch(op, other):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = {"same": rng.standard_normal((3, 4)).astype(np.float32) + 3,
         "row": rng.standard_normal((1, 4)).astype(np.float32) + 3,
         "scalar": 2.5, "int_scalar": 3,
         "float64": rng.standard_normal((4,)) + 3}[other]
    x = ember.tensor(a)
    view = x[1]
    y = ember.tensor(b) if isinstance(b, np.ndarray) else b
    before = x._version[0]
    with ember.no_grad():
        out = getattr(x, op)(y)
    assert out is x and x._version[0] == before + 1
    tx = torch.tensor(a)
    getattr(tx, op)(torch.tensor(b) if isinstance(b, np.ndarray) else b)
    assert x.dtype == ember.float32
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    np.testing.assert_array_equal(view.numpy(), tx.numpy()[1])  # views see the write


def test_integer_target_with_python_int():
    x = ember.tensor([1, 2, 3])
    x.add_(2)
    x.mul_(3)
    assert x.dtype == ember.int64 and x.tolist() == [9, 12, 15]


@pytest.mark.parametrize("op", OPS)
def test_shapes_that_do_not_broadcast_raise_the_ops_error(op):
    name = op[:-1]
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3, 4\) and \(5, 4\) cannot be "
                                         r"broadcast together: dim -2 is 3 vs 5"):
        getattr(ember.zeros(3, 4), op)(ember.ones(5, 4))


def test_target_cannot_grow():
    x = ember.zeros(1, 4)
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(3, 4\)"):
        x.add_(ember.ones(3, 4))
    assert x.tolist() == [[0.0] * 4]


def test_read_only_view_is_refused():
    x = ember.zeros(4).expand(3, 4)
    with pytest.raises(RuntimeError, match="read-only"):
        x.add_(1.0)


def test_inplace_under_autograd_still_records():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    y.add_(w)
    y.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_in_place_ops_on_a_reductions_zero_d_result():
    """A reduction's 0-d result is writable in place (``loss += ...`` across a loop)."""
    import ember.nn.functional as F
    a = ember.randn(2, 3, requires_grad=True)
    b = ember.randn(2, 3)
    total = 0.
    for _ in range(3):
        total += F.mse_loss(a, b)
    total.backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 * 2 * (a - b).detach().numpy() / 6,
                               rtol=1e-6)
    s = ember.tensor([1., 2.]).sum()
    assert s.fill_(3).item() == 3 and s.zero_().item() == 0
    assert s.copy_(ember.tensor(5.)).item() == 5 and s.add_(1).item() == 6


def test_repeat_returns_new_writable_memory():
    x = ember.ones(1, 3, 2, 2)
    y = x.repeat(4, 1, 1, 1)
    y.div_(2)
    z = x.repeat(1, 1, 1, 1)
    z.mul_(3)
    assert y.sum().item() == 24 and z.sum().item() == 36 and x.sum().item() == 12
