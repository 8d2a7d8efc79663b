import numpy as np
import pytest

import ember
from ember import nn

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(64, 32), lib.nn.ReLU(),
                             lib.nn.Linear(32, 10))


@needs_torch
def test_state_dict_keys_shapes_and_outputs_match_torch():
    e, t = mlp(ember), mlp(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert tuple(e.state_dict()[k].shape) == tuple(v.shape)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    y = np.array([1, 2, 3, 4, 5])
    le = nn.functional.cross_entropy(e(ember.tensor(x)), ember.tensor(y))
    lt = torch.nn.functional.cross_entropy(t(torch.tensor(x)), torch.tensor(y))
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-5)
    le.backward()
    lt.backward()
    for (k, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_load_state_dict_reports_every_problem():
    m = mlp(ember)
    sd = m.state_dict()
    sd["9.bias"] = sd.pop("3.bias")
    sd["1.weight"] = ember.zeros(7, 64)
    with pytest.raises(RuntimeError, match=r"missing keys \['3.bias'\].*unexpected keys "
                                           r"\['9.bias'\].*'1.weight': checkpoint \(7, 64\), "
                                           r"model \(32, 64\)"):
        m.load_state_dict(sd)


def test_linear_input_error_names_the_layer():
    with pytest.raises(ValueError, match=r"Linear\(in_features=400\): input has 256 features "
                                         r"\(shape \(32, 256\)\)"):
        nn.Linear(400, 120)(ember.zeros(32, 256))


def test_module_registration_modes_and_repr():
    m = mlp(ember)
    assert len(list(m.parameters())) == 4
    assert [n for n, _ in m.named_children()] == ["0", "1", "2", "3"]
    m.eval()
    assert not m[1].training
    m.train()
    assert m[1].training
    assert "Linear(in_features=64, out_features=32, bias=True)" in repr(m)


def test_default_init_bounds_follow_pytorch():
    lin = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(lin.weight.detach().numpy()).max() <= bound + 1e-7
    assert np.abs(lin.bias.detach().numpy()).max() <= bound + 1e-7
    assert lin.weight.detach().numpy().std() > bound / 3
