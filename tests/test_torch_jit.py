"""torch.jit's entry points as attributes of ember.jit (ember/torch_jit.py)."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(ember.relu(self.fc(x)))


def test_ember_jit_is_still_jax_jit():
    f = ember.jit(lambda x: x * 2)
    assert f(ember.ones(2)).tolist() == [2.0, 2.0]
    assert callable(ember.jit.script) and callable(ember.jit.trace)


def test_script_function_with_data_dependent_branch_gives_python_results():
    @ember.jit.script
    def f(x, y):
        if bool(x.sum() > 0):
            return x * y
        return x - y

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert f(ember.ones(2), ember.full((2,), 3.0)).tolist() == [3.0, 3.0]
        assert f(-ember.ones(2), ember.ones(2)).tolist() == [-2.0, -2.0]


def test_script_and_trace_module_share_parameters_and_state_dict_keys():
    net = Net()
    x = ember.randn(5, 3)
    for wrapped in (ember.jit.script(net), ember.jit.trace(net, x)):
        assert list(wrapped.state_dict()) == list(net.state_dict())
        assert wrapped.fc.weight is net.fc.weight
        np.testing.assert_array_equal(wrapped(x).detach().numpy(), net(x).detach().numpy())
        # training through the wrapped module updates the original's parameters
        opt = ember.optim.SGD(wrapped.parameters(), lr=0.1)
        before = net.fc.weight.detach().numpy().copy()
        wrapped(x).sum().backward()
        opt.step()
        assert not np.array_equal(before, net.fc.weight.detach().numpy())
    assert "forward" not in net.__dict__  # the original is untouched


def test_trace_needs_example_inputs_and_accepts_kwargs():
    with pytest.raises(ValueError, match="example_inputs"):
        ember.jit.trace(Net())
    f = ember.jit.trace(lambda a, b: a + b, example_kwarg_inputs={"a": ember.ones(2),
                                                                  "b": ember.ones(2)})
    assert f(ember.ones(2), ember.zeros(2)).tolist() == [1.0, 1.0]


def test_save_and_load_roundtrip(tmp_path):
    pytest.importorskip("safetensors")
    net = Net()
    s = ember.jit.script(net)
    path = tmp_path / "m.pt"
    ember.jit.save(s, str(path))
    m = ember.jit.load(str(path))
    x = ember.randn(2, 3)
    np.testing.assert_array_equal(m(x).detach().numpy(), net(x).detach().numpy())
    assert list(m.state_dict()) == list(net.state_dict())


def test_helpers():
    assert ember.jit.is_scripting() is False
    assert ember.jit.annotate(list, [1]) == [1]
    fut = ember.jit.fork(lambda a: a * 3, ember.ones(1))
    assert ember.jit.wait(fut).tolist() == [3.0]

    @ember.jit.ignore
    def g(x):
        return x

    @ember.jit.unused
    def h(x):
        return x

    assert g(1) == 1 and h(2) == 2 and ember.jit.export(g) is g
    seen = []

    def k(x):
        seen.append(ember.jit.is_tracing())
        return x + 1

    ember.jit.script(k)(ember.ones(1))
    assert seen == [True]
    with pytest.raises(RuntimeError, match="eval"):
        ember.jit.freeze(ember.jit.script(Net()))
    assert ember.jit.freeze(ember.jit.script(Net()).eval()) is not None


def test_import_forms_of_torch_jit():
    import ember.jit as J
    from ember.jit import script, trace
    assert J is ember.jit and J.script is script and trace is ember.jit.trace
    assert ember.jit(lambda x: x + 1)(ember.ones(1)).tolist() == [2.0]
