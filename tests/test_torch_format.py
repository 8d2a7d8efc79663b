"""Reading torch.save files without PyTorch (ember.torch_format, ember.load, ember convert):
files written by torch.save of several dtypes and layouts, a malicious file, truncated files."""
import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

import ember
from ember.torch_format import TorchFormatError, load_torch_file

torch = pytest.importorskip("torch")


def _np(t):
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()


def _ember_np(t):
    return t.float().numpy() if t.dtype == ember.bfloat16 else t.detach().numpy()


DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
          torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool, torch.uint16]


@pytest.fixture(params=[True, False], ids=["zip", "legacy"])
def zip_format(request):
    return request.param


def test_state_dict_of_many_dtypes(tmp_path, zip_format):
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    for i, dt in enumerate(DTYPES):
        x = torch.randn(3, 4, generator=g) * 10
        sd[f"layer{i}.weight"] = x.to(dt) if dt != torch.bool else x > 0
    sd["scalar"] = torch.tensor(7, dtype=torch.int64)       # 0-d, e.g. num_batches_tracked
    sd["empty"] = torch.zeros(0, 5)
    path = tmp_path / "sd.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=zip_format)
    out = ember.load(path)
    assert isinstance(out, collections.OrderedDict) and list(out) == list(sd)
    for k, v in sd.items():
        got = out[k]
        assert isinstance(got, ember.Tensor)
        assert tuple(got.shape) == tuple(v.shape), k
        assert str(got.dtype).split(".")[-1] == str(v.dtype).split(".")[-1], k
        np.testing.assert_array_equal(_ember_np(got), _np(v), err_msg=k)


def test_unsupported_dtype_is_named(tmp_path):
    torch.save({"z": torch.zeros(2, 3, dtype=torch.float8_e4m3fn)}, tmp_path / "f8.pth")
    with pytest.raises(TorchFormatError,
                       match=r"f8\.pth.*float8_e4m3fn tensor of shape \(2, 3\)"):
        ember.load(tmp_path / "f8.pth")
    z = torch.complex(torch.arange(6.).reshape(2, 3), -torch.ones(2, 3))  # complex64 loads
    torch.save({"z": z}, tmp_path / "c.pth")
    assert np.array_equal(ember.load(tmp_path / "c.pth")["z"].numpy(), z.numpy())


def test_nested_containers_and_python_values(tmp_path, zip_format):
    ckpt = {"model": collections.OrderedDict(w=torch.ones(2, 2)),
            "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2)}},
                          "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0],
                                            "nesterov": False, "name": None}]},
            "epoch": 5, "tags": ["a", "b"], "shape": torch.Size([2, 3]),
            "blob": b"\x00\x01binary"}
    path = tmp_path / "ckpt.pt"
    torch.save(ckpt, path, _use_new_zipfile_serialization=zip_format)
    out = ember.load(path)
    assert out["epoch"] == 5 and out["tags"] == ["a", "b"] and out["blob"] == b"\x00\x01binary"
    assert tuple(out["shape"]) == (2, 3)
    assert out["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert out["optimizer"]["param_groups"][0]["name"] is None
    np.testing.assert_array_equal(out["model"]["w"].numpy(), np.ones((2, 2), np.float32))
    assert float(out["optimizer"]["state"][0]["step"].item()) == 3.0


def test_shared_storages_views_offsets_strides(tmp_path, zip_format):
    base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    tied = torch.nn.Parameter(torch.randn(4, 3))
    sd = {"base": base, "t": base.t(), "rows": base[2:5], "block": base[1:4, 2:7],
          "strided": base[::2, 1::3], "row": base[3], "col": base[:, 5],
          "flat_tail": base.view(-1)[10:30], "expanded": base[0, :1].expand(4, 3),
          "tied_a": tied, "tied_b": tied}
    path = tmp_path / "views.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=zip_format)
    out = load_torch_file(path)
    for k, v in sd.items():
        np.testing.assert_array_equal(out[k].detach().numpy(), v.detach().numpy(), err_msg=k)
    assert out["tied_a"].requires_grad                    # saved as a Parameter
    # tensors laid out as their shared storage share memory, as after torch.load
    assert np.shares_memory(out["tied_a"].detach().numpy(), out["tied_b"].detach().numpy())
    assert np.shares_memory(out["base"].numpy(), out["rows"].numpy())


def test_torch_file_is_recognised_by_content_not_extension(tmp_path):
    sd = {"w": torch.randn(2, 3)}
    torch.save(sd, tmp_path / "weights.safetensors")      # a torch file with a misleading name
    np.testing.assert_array_equal(ember.load(tmp_path / "weights.safetensors")["w"].numpy(),
                                  sd["w"].numpy())
    ember.save({"w": ember.ones(2)}, tmp_path / "real.pth")  # a safetensors file named .pth
    np.testing.assert_array_equal(ember.load(tmp_path / "real.pth")["w"].numpy(), np.ones(2))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_file_is_rejected_and_nothing_runs(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2), "payload": _Evil(marker)}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system.*does not admit"):
        ember.load(path)
    with pytest.raises(RuntimeError, match=str(path)):
        load_torch_file(path)
    assert not marker.exists()
    # the same refusal for a hand-made archive importing a module through the storage type
    crafted = tmp_path / "crafted.pt"
    with zipfile.ZipFile(crafted, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02cbuiltins\neval\nX\x0a\x00\x00\x00print('x')"
                                       b"\x85R.")
    with pytest.raises(TorchFormatError, match=r"builtins\.eval"):
        ember.load(crafted)


def _rewrite_pkl(src, dst, fn):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for n in zin.namelist():
            data = zin.read(n)
            zout.writestr(n, fn(data) if n.endswith("data.pkl") else data)


def test_layout_past_the_storage_is_rejected(tmp_path):
    src, bad = tmp_path / "ok.pth", tmp_path / "bad.pth"
    torch.save({"w": torch.arange(6.0)}, src)
    # size (6,) -> (96,): a tensor claiming more elements than its storage holds
    _rewrite_pkl(src, bad, lambda b: b.replace(b"QK\x00K\x06\x85", b"QK\x00K\x60\x85"))
    with pytest.raises(TorchFormatError, match=r"bad\.pth.*reads element 95.*holds 6"):
        ember.load(bad)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_file_gives_a_clear_error(tmp_path, zip_format, cut):
    path = tmp_path / "full.pth"
    torch.save({"w": torch.randn(64, 64), "b": torch.randn(64)}, path,
               _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    short = tmp_path / "short.pth"
    short.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(RuntimeError, match=r"short\.pth.*(truncated|corrupt)"):
        ember.load(short)


def test_torchscript_archive_is_explained(tmp_path):
    m = torch.jit.script(torch.nn.Linear(2, 2))
    path = tmp_path / "scripted.pt"
    torch.jit.save(m, path)
    with pytest.raises(TorchFormatError, match="TorchScript"):
        ember.load(path)


def test_convert_command(tmp_path, capsys):
    from ember.cli.main import main
    sd = collections.OrderedDict([("l.weight", torch.randn(3, 2)), ("l.bias", torch.randn(3))])
    torch.save({"state_dict": sd, "epoch": 2}, tmp_path / "in.pth")
    out = tmp_path / "out.safetensors"
    assert main(["convert", str(tmp_path / "in.pth"), str(out), "--key", "state_dict"]) == 0
    assert "2 tensors, 9 values (float32)" in capsys.readouterr().out
    from safetensors.numpy import load_file
    plain = load_file(str(out))                      # an ordinary safetensors file
    assert sorted(plain) == ["l.bias", "l.weight"]
    np.testing.assert_array_equal(plain["l.weight"], sd["l.weight"].numpy())
    # a linear layer loads from it
    lin = ember.nn.Linear(2, 3)
    lin.load_state_dict({k[2:]: v for k, v in ember.load(out).items()})
    np.testing.assert_array_equal(lin.bias.detach().numpy(), sd["l.bias"].numpy())
    # the whole checkpoint, nested
    assert main(["convert", str(tmp_path / "in.pth"), str(tmp_path / "all.safetensors")]) == 0
    assert ember.load(tmp_path / "all.safetensors")["epoch"] == 2
    assert main(["convert", str(tmp_path / "in.pth"), str(out), "--key", "model"]) == 1
    assert "no entry 'model'" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing.pth"), str(out)]) == 1
