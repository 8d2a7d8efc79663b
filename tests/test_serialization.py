"""Checkpoints: safetensors round trips, atomic writes, corrupted files, PyTorch interop."""
import os

import numpy as np
import pytest

import ember
from ember import nn


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def test_state_dict_and_nested_round_trip(tmp_path):
    m = _model()
    opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = ember.randn(2, 1, 6, 6)
    m(x).sum().backward()
    opt.step()
    ck = {"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3, "best": 0.5,
          "name": "run", "history": [1.0, 2.0], "none": None, "arr": np.arange(3)}
    ember.save(ck, tmp_path / "ck.safetensors")
    back = ember.load(tmp_path / "ck.safetensors")
    assert back["epoch"] == 3 and back["name"] == "run" and back["none"] is None
    assert back["history"] == [1.0, 2.0]
    np.testing.assert_array_equal(back["arr"], np.arange(3))
    m2 = _model()
    m2.load_state_dict(back["model"])
    np.testing.assert_array_equal(m2(x).detach().numpy(), m(x).detach().numpy())
    opt2 = ember.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(back["optim"])
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(opt.state[id(p1)]["momentum_buffer"],
                                      opt2.state[id(p2)]["momentum_buffer"])


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    ember.save({"w": ember.ones(3)}, path)
    import safetensors.numpy as stn

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(stn, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": ember.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(ember.load(path)["w"].numpy(), np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]


def test_truncated_or_corrupted_files_raise_clear_errors(tmp_path):
    path = tmp_path / "ck.safetensors"
    ember.save({"w": ember.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:-50])
    with pytest.raises(RuntimeError, match="not a valid safetensors checkpoint"):
        ember.load(path)
    path.write_bytes(b"\x00" * 5)
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        ember.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ember.load(tmp_path / "missing.safetensors")


def test_pytorch_checkpoints_load_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file, load_file
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                             torch.nn.Linear(2 * 4 * 4, 3))
    save_file(tm.state_dict(), str(tmp_path / "torch.safetensors"))
    em = _model()
    em.load_state_dict(ember.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    ember.save(em.state_dict(), tmp_path / "ember.safetensors")
    tm2 = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(2 * 4 * 4, 3))
    tm2.load_state_dict(load_file(str(tmp_path / "ember.safetensors")))
    np.testing.assert_allclose(tm2(torch.tensor(x)).detach().numpy(),
                               em(ember.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_state_dict_reports_every_problem_at_once():
    m = _model()
    sd = m.state_dict()
    sd.pop("0.bias")
    sd["extra"] = ember.ones(1)
    sd["3.weight"] = ember.ones(3, 5)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys ['0.bias']" in msg and "unexpected keys ['extra']" in msg
    assert "shape mismatch for '3.weight'" in msg


def test_zero_dim_and_batchnorm_buffers_round_trip(tmp_path):
    # BatchNorm's num_batches_tracked is 0-d; so are a functional optimizer's step and scalars
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(ember.randn(5, 3))
    fopt = ember.optim.functional.adam(1e-3)
    ck = {"model": m.state_dict(), "fopt": fopt.init(dict(m.named_parameters())),
          "scalar": ember.tensor(2.5), "arr0": np.array(7)}
    ember.save(ck, tmp_path / "ck.safetensors")
    ember.save(m.state_dict(), tmp_path / "flat.safetensors")
    back = ember.load(tmp_path / "ck.safetensors")
    assert back["model"]["1.num_batches_tracked"].shape == ()
    assert int(back["model"]["1.num_batches_tracked"]) == 1
    assert back["fopt"]["step"].shape == () and back["scalar"].shape == ()
    assert back["arr0"].shape == () and int(back["arr0"]) == 7
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m2.load_state_dict(back["model"])
    m2.load_state_dict(ember.load(tmp_path / "flat.safetensors"))
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    tm.load_state_dict(load_file(str(tmp_path / "flat.safetensors")))
    assert int(tm[1].num_batches_tracked) == 1


def test_save_load_file_objects_and_torch_load_arguments(tmp_path):
    import io
    obj = {"data": np.arange(6.0).reshape(2, 3), "w": ember.tensor([1., 2.]), "step": 3}
    with open(tmp_path / "x.pt", "wb") as f:  # torch.save(obj, open(path, 'wb'))
        ember.save(obj, f)
    with open(tmp_path / "x.pt", "rb") as f:
        back = ember.load(f, map_location="cpu", weights_only=True)
    assert back["step"] == 3 and np.array_equal(back["data"], obj["data"])
    buf = io.BytesIO()
    ember.save(obj["w"], buf)
    buf.seek(0)
    assert ember.load(buf, map_location=lambda storage, loc: storage).tolist() == [1.0, 2.0]
    assert ember.load(tmp_path / "x.pt", map_location=ember.device("cpu"))["step"] == 3
    with pytest.raises(RuntimeError, match="map_location='cuda:0' names a device"):
        ember.load(tmp_path / "x.pt", map_location="cuda:0")


class _Net(nn.Module):  # module level: picklable by reference
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
        self.rnn = nn.LSTM(8, 4)
        self.head = nn.Linear(4, 2)
        self.register_buffer("steps", ember.zeros(()))

    def forward(self, x):
        return self.head(self.rnn(self.enc(x))[0])


def test_whole_model_save_needs_safe_globals_to_load(tmp_path):
    import pickle
    net = _Net().eval()
    x = ember.randn(5, 3, 8)
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:  # torch.save(model, f)
        ember.save(net, f)
    with pytest.raises(pickle.UnpicklingError, match="weights-only load does not rebuild"):
        ember.load(path)
    allowed = [_Net, ember.nn.functional.relu, ember.nn.modules.activation.MultiheadAttention,
               ember.nn.modules.linear.Linear, ember.nn.modules.linear.NonDynamicallyQuantizableLinear,
               ember.nn.modules.dropout.Dropout, ember.nn.modules.normalization.LayerNorm,
               ember.nn.modules.transformer.TransformerEncoderLayer, ember.nn.modules.rnn.LSTM]
    with ember.serialization.safe_globals(allowed):
        back = ember.load(path)
    assert ember.serialization.get_safe_globals() == []
    back.rnn.flatten_parameters()
    assert type(back) is _Net and isinstance(back.head.weight, nn.Parameter)
    assert back.head.weight.requires_grad and not back.steps.requires_grad
    assert np.array_equal(back(x).detach().numpy(), net(x).detach().numpy())
    trusted = ember.load(path, weights_only=False)
    assert np.array_equal(trusted(x).detach().numpy(), net(x).detach().numpy())


def test_unpicklable_objects_say_how_to_save():
    with pytest.raises(TypeError, match="saving the state_dict"):
        ember.save({"f": lambda v: v}, "/tmp/never-written.safetensors")


def test_torch_module_paths():
    import ember.nn.modules.rnn as rnn_paths
    from ember.nn.modules.batchnorm import _BatchNorm
    from ember.nn.modules.conv import _ConvNd
    assert rnn_paths.LSTM is nn.LSTM and ember.nn.modules.sparse.Embedding is nn.Embedding
    assert isinstance(nn.BatchNorm1d(2), _BatchNorm) and isinstance(nn.Conv2d(1, 1, 1), _ConvNd)
    torch = pytest.importorskip("torch")
    for sub in ("rnn", "linear", "conv", "loss", "pooling", "activation", "container"):
        tmod, emod = getattr(torch.nn.modules, sub), getattr(ember.nn.modules, sub)
        shared = [n for n, v in vars(tmod).items() if not n.startswith("_") and hasattr(nn, n)
                  and getattr(v, "__module__", None) == tmod.__name__]
        assert shared and all(hasattr(emod, n) for n in shared), sub
