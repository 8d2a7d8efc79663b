"""load_state_dict(assign=True) (a model built on the meta device takes the checkpoint's
tensors), the swap path under ``__future__.set_swap_module_params_on_conversion``,
``utils.swap_tensors`` and load_state_dict's result, checked against PyTorch's behaviour."""
import numpy as np
import pytest

import ember
import ember.__future__
from ember import nn

torch = pytest.importorskip("torch")


@pytest.fixture
def swap_off():
    yield
    ember.__future__.set_swap_module_params_on_conversion(False)
    torch.__future__.set_swap_module_params_on_conversion(False)


def _both(fn):
    return fn(ember), fn(torch)


def test_result_prints_and_unpacks_as_pytorch():
    def run(lib):
        a = lib.nn.Linear(2, 1)
        b = lib.nn.Sequential(lib.nn.Linear(2, 1))
        ok = a.load_state_dict(a.state_dict())
        bad = b.load_state_dict(a.state_dict(), strict=False)
        return repr(ok), bad.missing_keys, bad.unexpected_keys, tuple(bad)
    e, t = _both(run)
    assert e[0] == t[0] == "<All keys matched successfully>"
    assert e[1:] == t[1:]


@pytest.mark.parametrize("swap", [False, True])
def test_assign_from_meta(swap, swap_off):
    def run(lib):
        lib.__future__.set_swap_module_params_on_conversion(swap)
        src = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2)).double()
        sd = src.state_dict()
        with lib.device("meta"):
            m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2))
        m[0].bias.requires_grad_(False)
        w_before = m[0].weight
        m.load_state_dict(sd, assign=True)
        w = m[0].weight
        return (w is w_before, str(w.device), str(w.dtype).split(".")[-1], type(w).__name__,
                w.requires_grad, m[0].bias.requires_grad, str(m[1].running_var.device),
                np.array_equal(np.asarray(w.detach().tolist()),
                               np.asarray(sd["0.weight"].tolist())))
    e, t = _both(run)
    assert e == t
    assert e[0] is swap and e[1] == "cpu" and e[2] == "float64" and e[7]


def test_assign_then_train():
    with ember.device("meta"):
        m = nn.Linear(2, 1)
    src = nn.Linear(2, 1)
    w0 = src.weight.detach().numpy().copy()
    m.load_state_dict(src.state_dict(), assign=True)
    opt = ember.optim.SGD(m.parameters(), lr=0.5)
    m(ember.ones(1, 2)).sum().backward()
    opt.step()
    assert m.weight.grad is not None
    assert np.allclose(m.weight.detach().numpy(), w0 - 0.5)


def test_swap_tensors_as_pytorch():
    def run(lib):
        a, b = lib.arange(2), lib.arange(3.0)
        p = lib.nn.Parameter(lib.ones(2))
        q = lib.zeros(2)
        lib.utils.swap_tensors(a, b)
        lib.utils.swap_tensors(p, q)
        return (a.tolist(), b.tolist(), str(a.dtype).split(".")[-1], type(p).__name__,
                type(q).__name__, p.requires_grad, q.requires_grad, p.tolist())
    e, t = _both(run)
    assert e == t


def test_swap_tensors_rejects_a_graph_output():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="swap_tensors"):
        ember.utils.swap_tensors(y, ember.zeros(2))
    with pytest.raises(TypeError, match="swap_tensors"):
        ember.utils.swap_tensors(x, np.zeros(2))


def test_bfloat16_casts_in_place():
    m = nn.Linear(2, 2)
    w = m.weight
    m.bfloat16()
    assert m.weight is w and w.dtype == ember.bfloat16
