"""Static post-training quantization: fuse_modules -> prepare -> calibrate -> convert,
against torch.ao.quantization's eager workflow on the same weights and data."""
import os

import numpy as np
import pytest

import ember
from ember import nn
from ember.ao import quantization as Q

torch = pytest.importorskip("torch")
tq = torch.ao.quantization
rng = np.random.default_rng(5)


def _copy_into_torch(model, tmodel):
    sd = {k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()}
    tmodel.load_state_dict(sd)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 32),
                         nn.ReLU(), nn.Linear(32, 10))


def _torch_mlp():
    tn = torch.nn
    return tn.Sequential(tn.Flatten(), tn.Linear(64, 48), tn.ReLU(), tn.Linear(48, 32),
                         tn.ReLU(), tn.Linear(32, 10))


_MLP_FUSE = [["1", "2"], ["3", "4"]]


class _TorchWrapped(torch.nn.Module):
    def __init__(self, body):
        super().__init__()
        self.quant, self.body, self.dequant = tq.QuantStub(), body, tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def _calib(n=4, shape=(32, 1, 8, 8)):
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _torch_ptq(tbody, fuse, batches, backend):
    torch.backends.quantized.engine = "x86" if backend in ("x86", "fbgemm") else backend
    tbody.eval()
    tbody = tq.fuse_modules(tbody, fuse) if fuse else tbody
    tm = _TorchWrapped(tbody).eval()
    tm.qconfig = tq.get_default_qconfig(backend)
    tm = tq.prepare(tm)
    with torch.no_grad():
        for b in batches:
            tm(torch.tensor(b))
    return tq.convert(tm)


def _ember_ptq(model, fuse, batches, backend):
    model.eval()
    model = Q.fuse_modules(model, fuse) if fuse else model
    model.qconfig = Q.get_default_qconfig(backend)
    prepared = Q.prepare(model)
    for b in batches:
        prepared(ember.tensor(b))
    return Q.convert(prepared)


@pytest.mark.parametrize("backend", ["x86", "qnnpack"])
def test_mlp_ptq_equals_torch(backend):
    model, tmodel = _mlp(), _torch_mlp()
    _copy_into_torch(model, tmodel)
    batches = _calib()
    qm = _ember_ptq(model, _MLP_FUSE, batches, backend)
    tqm = _torch_ptq(tmodel, _MLP_FUSE, batches, backend)
    assert type(qm[1]).__name__ == "LinearReLU" and type(qm[5]).__name__ == "Linear"
    # the same calibration: the same qparams
    np.testing.assert_allclose(qm[5].scale.numpy(), tqm.body[5].scale, rtol=1e-6)
    assert int(qm[5].zero_point.item()) == tqm.body[5].zero_point
    x = rng.standard_normal((50, 1, 8, 8)).astype(np.float32)
    out = qm(ember.tensor(x)).numpy()
    tout = tqm(torch.tensor(x)).numpy()
    # within one unit of the output scale; the float layers' last bits (BLAS order) may move
    # an observed range by an ulp, so a few values round the other way
    scale = qm[5].scale.item()
    assert np.abs(out - tout).max() <= scale * 1.001
    assert np.mean(np.abs(out - tout) > scale / 2) < 0.02


def _cnn():
    ember.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 16), nn.ReLU(),
                      nn.Linear(16, 10))
    # non-trivial BatchNorm statistics
    m[1].running_mean.copy_(ember.tensor(rng.standard_normal(8).astype(np.float32) * 0.1))
    m[1].running_var.copy_(ember.tensor(rng.random(8).astype(np.float32) + 0.5))
    with ember.no_grad():
        m[1].weight.copy_(ember.tensor(rng.random(8).astype(np.float32) + 0.5))
        m[1].bias.copy_(ember.tensor(rng.standard_normal(8).astype(np.float32) * 0.1))
    return m


def _torch_cnn():
    tn = torch.nn
    return tn.Sequential(tn.Conv2d(1, 8, 3, padding=1), tn.BatchNorm2d(8), tn.ReLU(),
                         tn.MaxPool2d(2), tn.Flatten(), tn.Linear(8 * 4 * 4, 16), tn.ReLU(),
                         tn.Linear(16, 10))


_CNN_FUSE = [["0", "1", "2"], ["5", "6"]]


def test_cnn_ptq_with_conv_bn_relu_fusion_equals_torch():
    model, tmodel = _cnn(), _torch_cnn()
    _copy_into_torch(model, tmodel)
    batches = _calib()
    qm = _ember_ptq(model, _CNN_FUSE, batches, "x86")
    tqm = _torch_ptq(tmodel, _CNN_FUSE, batches, "x86")
    assert type(qm[0]).__name__ == "ConvReLU2d" and type(qm[1]).__name__ == "Identity"
    x = rng.standard_normal((20, 1, 8, 8)).astype(np.float32)
    out = qm(ember.tensor(x)).numpy()
    tout = tqm(torch.tensor(x)).numpy()
    assert np.abs(out - tout).max() <= qm[7].scale.item() * 1.001
    # and close to the float model
    fl = model.eval()(ember.tensor(x)).detach().numpy()
    assert np.abs(out - fl).max() < 0.1 * np.abs(fl).max()


def test_fuse_modules_matches_torch_fold():
    model, tmodel = _cnn().eval(), _torch_cnn().eval()
    _copy_into_torch(model, tmodel)
    f = Q.fuse_modules(model, _CNN_FUSE)
    tf = tq.fuse_modules(tmodel, _CNN_FUSE)
    np.testing.assert_allclose(f[0][0].weight.detach().numpy(),
                               tf[0][0].weight.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(f[0][0].bias.detach().numpy(), tf[0][0].bias.detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(f(ember.tensor(x)).detach().numpy(),
                               model(ember.tensor(x)).detach().numpy(), atol=1e-5)
    assert isinstance(model[1], nn.BatchNorm2d)  # not in place by default


def test_stubs_are_accepted():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.fc, self.dequant = Q.QuantStub(), nn.Linear(6, 3), Q.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.fc(self.quant(x)))
    net = Net().eval()
    net.qconfig = Q.get_default_qconfig("x86")
    p = Q.prepare(net)
    for b in _calib(3, (16, 6)):
        p(ember.tensor(b))
    q = Q.convert(p)
    assert type(q.quant).__name__ == "Quantize" and type(q.dequant).__name__ == "DeQuantize"
    x = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32))
    assert float((q(x) - net(x)).abs().max()) < 0.1


def _converted_mlp(seed_batches=4):
    model = _mlp().eval()
    return model, _ember_ptq(model, _MLP_FUSE, _calib(seed_batches), "x86")


def test_state_dict_save_load_and_file_size(tmp_path):
    model, qm = _converted_mlp()
    sd = qm.state_dict()
    assert sd["1.weight"].dtype == ember.int8 and sd["5.weight"].dtype == ember.int8
    assert sd["1.weight_scale"].shape == (48,)
    qpath = os.path.join(tmp_path, "q.safetensors")
    ember.save(sd, qpath)
    # load into another converted model (calibrated differently) -> identical outputs
    _, other = _converted_mlp(1)
    other.load_state_dict(ember.load(qpath))
    x = ember.tensor(rng.standard_normal((7, 1, 8, 8)).astype(np.float32))
    np.testing.assert_array_equal(other(x).numpy(), qm(x).numpy())


def test_checkpoint_is_about_4x_smaller(tmp_path):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128)).eval()
    model.qconfig = Q.get_default_qconfig("x86")
    p = Q.prepare(model)
    p(ember.randn(16, 784))
    q = Q.convert(p)
    fpath, qpath = os.path.join(tmp_path, "f.pt"), os.path.join(tmp_path, "q.pt")
    ember.save(model.state_dict(), fpath)
    ember.save(q.state_dict(), qpath)
    # int8 weights; biases and per-channel scales stay float
    assert 3.5 < os.path.getsize(fpath) / os.path.getsize(qpath) < 4.0


def test_jit_of_quantized_model_equals_eager_and_graph_shows_it():
    _, qm = _converted_mlp()
    x = ember.tensor(rng.standard_normal((9, 1, 8, 8)).astype(np.float32))
    np.testing.assert_array_equal(ember.jit(qm)(x).numpy(), qm(x).numpy())
    graph = str(ember.make_graph(qm)(x))
    assert graph.count("qlinear") == 3
    qc = _ember_ptq(_cnn(), _CNN_FUSE, _calib(2), "x86")
    xc = ember.tensor(rng.standard_normal((3, 1, 8, 8)).astype(np.float32))
    np.testing.assert_array_equal(ember.jit(qc)(xc).numpy(), qc(xc).numpy())
    assert "qconv2d" in str(ember.make_graph(qc)(xc))


def test_per_tensor_weights_and_4bit_weights():
    model = _mlp().eval()
    model.qconfig = Q.QConfig(
        activation=Q.MinMaxObserver.with_args(reduce_range=True),
        weight=Q.PerChannelMinMaxObserver.with_args(dtype="qint8",
                                                    qscheme="per_channel_symmetric",
                                                    quant_min=-8, quant_max=7))
    p = Q.prepare(model)
    for b in _calib(2):
        p(ember.tensor(b))
    q4 = Q.convert(p)
    w = q4[1].weight.numpy()
    assert w.min() >= -8 and w.max() <= 7 and len(np.unique(w)) > 8
    model.qconfig = Q.default_qconfig  # per-tensor weights
    p = Q.prepare(model)
    for b in _calib(2):
        p(ember.tensor(b))
    qt = Q.convert(p)
    assert qt[1].weight_scale.ndim == 0
    x = ember.tensor(rng.standard_normal((5, 1, 8, 8)).astype(np.float32))
    ref = model(x).detach().numpy()
    assert np.abs(qt(x).numpy() - ref).max() < 0.1 * np.abs(ref).max() + 0.05


def test_convert_without_calibration_is_a_clear_error():
    model = _mlp().eval()
    model.qconfig = Q.get_default_qconfig("x86")
    p = Q.prepare(model)
    with pytest.raises(RuntimeError, match=r"convert: the observer of '1' \(Linear, its input\) "
                                           r"has seen no data\. Calibrate first"):
        Q.convert(p)


def test_qconfig_on_an_unsupported_layer_is_a_clear_error():
    model = nn.Sequential(nn.Linear(4, 4), nn.LSTM(4, 4))
    model[1].qconfig = Q.get_default_qconfig("x86")
    with pytest.raises(ValueError, match=r"prepare: submodule '1' \(LSTM\) has a qconfig but "
                                         r"static quantization has no int8 version of LSTM.*"
                                         r"qconfig = None.*quantize_dynamic"):
        Q.prepare(model)
    # inherited from the root, an unsupported layer just stays in float
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)).eval()
    model.qconfig = Q.get_default_qconfig("x86")
    p = Q.prepare(model)
    p(ember.randn(8, 4))
    q = Q.convert(p)
    assert isinstance(q[1], nn.LayerNorm) and type(q[2]).__name__ == "Linear"
    with pytest.raises(ValueError, match="prepare: no layer to quantize: set a qconfig"):
        Q.prepare(nn.Sequential(nn.Linear(2, 2)))


def test_fuse_modules_errors():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.MaxPool2d(2))
    with pytest.raises(ValueError, match="needs eval mode: call model.eval()"):
        Q.fuse_modules(model, ["0", "1"])
    with pytest.raises(ValueError, match=r"cannot fuse \['0', '2'\] \(Conv2d, MaxPool2d\)"):
        Q.fuse_modules(model.eval(), ["0", "2"])
    with pytest.raises(ValueError, match="no submodule 'conv'"):
        Q.fuse_modules(model.eval(), ["conv", "1"])


def test_fused_layer_observers_see_its_input_and_output():
    # the observers attached to a fused (Sequential) layer are not run as its last parts
    model = Q.fuse_modules(_mlp().eval(), _MLP_FUSE)
    model.qconfig = Q.QConfig(activation=Q.MinMaxObserver, weight=Q.default_weight_observer)
    p = Q.prepare(model)
    x = ember.tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    p(x)
    pre, post = p[1].activation_pre_process, p[1].activation_post_process
    assert float(pre.min_val.item()) == float(x.min().item())
    h = model[1](model[0](x))
    assert float(post.min_val.item()) == 0.0 and float(post.max_val.item()) == \
        float(h.max().item())
    assert float(p[3].activation_pre_process.max_val.item()) == float(h.max().item())
