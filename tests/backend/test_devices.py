"""Devices: ember.device, Tensor.device/to/cpu/cuda, device= on creation functions and layers,
Module.to / to_empty, the meta device (no storage) and the device-mixing error."""
import tracemalloc

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.models import resnet18


def test_device_objects_parse_compare_and_print():
    assert ember.device("cpu") == "cpu" and ember.device("meta").type == "meta"
    assert ember.device("cpu:strict") == ember.device("strict")
    assert repr(ember.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert str(ember.device("cuda:0")) == "cuda:0"
    with pytest.raises(RuntimeError, match="unknown device type 'tpu'"):
        ember.device("tpu")


def test_tensor_device_and_creation_functions_take_device():
    assert ember.ones(2).device == ember.device("cpu")
    for make in (lambda d: ember.zeros(2, 3, device=d), lambda d: ember.ones(2, device=d),
                 lambda d: ember.empty(4, device=d), lambda d: ember.full((2,), 3.0, device=d),
                 lambda d: ember.arange(5, device=d), lambda d: ember.linspace(0, 1, 5, device=d),
                 lambda d: ember.eye(3, device=d), lambda d: ember.randn(2, 2, device=d),
                 lambda d: ember.rand(3, device=d), lambda d: ember.randint(0, 5, (3,), device=d),
                 lambda d: ember.tensor([1.0, 2.0], device=d),
                 lambda d: ember.zeros_like(ember.ones(2), device=d)):
        for d in ("meta", "strict", ember.device("cpu")):
            t = make(d)
            assert t.device == ember.device(d), (make, d)
    z = ember.zeros(2, device="strict")
    assert ember.ones_like(z).device.type == "strict"  # *_like keeps the device


def test_default_device_context_is_per_block_and_restored():
    with ember.device("meta"):
        assert ember.get_default_device() == "meta"
        assert ember.randn(3).is_meta and ember.tensor([1, 2]).is_meta
    assert ember.randn(3).device == "cpu"
    ember.set_default_device("strict")
    try:
        assert ember.zeros(2).device == "strict"
    finally:
        ember.set_default_device(None)
    assert ember.zeros(2).device == "cpu"


def test_to_is_differentiable_and_returns_self_on_the_same_device():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.to("cpu") is x and x.to(ember.device("cpu")) is x and x.cpu() is x
    y = x.to("strict")
    assert y.device == "strict" and type(y._data).__name__ == "StrictArray"
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert y.cpu().device == "cpu"
    assert x.to(y).device == "strict"  # to(other): other's device and dtype


def test_cuda_is_absent_with_clear_errors():
    assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
    assert ember.accelerator.is_available() is False
    assert ember.accelerator.current_accelerator() is None
    assert ember.backends.mps.is_available() is False
    # the GPU flags scripts set (nanoGPT's train.py) are kept and change nothing here
    m = ember.backends.cuda.matmul
    assert m.allow_tf32 is False and m.allow_fp16_reduced_precision_reduction is True
    m.allow_tf32 = True
    ember.backends.cudnn.allow_tf32 = True
    assert m.allow_tf32 is True
    m.allow_tf32 = False
    with pytest.raises(AttributeError, match="no flag 'allow_tf33'"):
        m.allow_tf33 = True
    ember.backends.cuda.enable_flash_sdp(False)
    assert ember.backends.cuda.flash_sdp_enabled() is False
    ember.backends.cuda.enable_flash_sdp(True)
    assert ember.cpu.is_available() and ember.cpu.device_count() == 1
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        ember.ones(2).cuda()
    with pytest.raises(RuntimeError, match="no cuda backend"):
        ember.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        nn.Linear(2, 2).cuda()


def test_mixing_devices_names_the_op_and_both_devices():
    a, s, m = ember.ones(3), ember.ones(3, device="strict"), ember.ones(3, device="meta")
    with pytest.raises(RuntimeError, match=r"add: expected all tensors to be on the same device"
                                           r", but found at least two devices, strict and cpu"):
        s + a
    with pytest.raises(RuntimeError, match="matmul: .* cpu and meta"):
        ember.ones(2, 3) @ ember.ones(3, 2, device="meta")
    with pytest.raises(RuntimeError, match="mul: .* meta and strict"):
        m * s
    # Python numbers and CPU scalars mix with any device, as in PyTorch
    assert (s * 2.0 + ember.tensor(1.0)).device == "strict"


def test_non_cpu_tensors_do_not_convert_to_numpy_silently():
    s = ember.tensor([1.0, 2.0], device="strict")
    with pytest.raises(TypeError, match="copy it to the host first with .cpu()"):
        s.numpy()
    np.testing.assert_array_equal(s.cpu().numpy(), [1.0, 2.0])
    assert s.tolist() == [1.0, 2.0] and "device='strict'" in repr(s)
    m = ember.zeros(2, 3, device="meta")
    assert repr(m) == "tensor(..., device='meta', size=(2, 3))"
    with pytest.raises(RuntimeError, match="no data"):
        m.item()
    with pytest.raises(RuntimeError, match="has no data to copy"):
        m.to("cpu")


def test_meta_ops_run_shape_rules_and_autograd():
    w = ember.randn(4, 3, device="meta", requires_grad=True)
    x = ember.ones(2, 3, device="meta")
    y = (x @ w.T).relu().log_softmax(-1)
    assert y.is_meta and tuple(y.shape) == (2, 4) and y.requires_grad
    y.sum().backward()
    assert w.grad.is_meta and tuple(w.grad.shape) == (4, 3)
    assert ember.cat([x, x], 0).shape == (4, 3) and x.sum(0).dtype == ember.float32


def _vgg16():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(),
                         nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))


def test_vgg16_on_meta_allocates_no_parameter_memory_and_to_empty_materialises_it():
    tracemalloc.start()
    try:
        with ember.device("meta"):
            model = _vgg16()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n = sum(p.numel() for p in model.parameters())
    assert n == 138_357_544  # VGG-16's parameter count
    assert peak < 5_000_000, f"building on meta traced {peak} bytes (parameters: {4 * n})"
    assert all(p.is_meta for p in model.parameters())
    out = model(ember.randn(1, 3, 224, 224, device="meta"))
    assert out.is_meta and tuple(out.shape) == (1, 1000)
    small = nn.Sequential(nn.Linear(3, 4, device="meta"), nn.BatchNorm1d(4, device="meta"))
    assert small[1].running_var.is_meta
    small.to_empty(device="cpu")
    assert all(p.device == "cpu" and not p.is_meta for p in small.parameters())
    assert small[0].weight.shape == (4, 3) and small[1].num_batches_tracked.device == "cpu"
    small[0].reset_parameters()
    assert small(ember.randn(5, 3)).shape == (5, 4)


def test_module_to_device_and_dtype_keeps_parameter_objects():
    m = nn.Linear(3, 2)
    w = m.weight
    assert m.to(ember.device("cpu")) is m and m.weight is w
    m.to("strict")
    assert m.weight is w and w.device == "strict" and m.bias.device == "strict"
    out = m(ember.ones(4, 3, device="strict"))
    out.sum().backward()
    assert w.grad.device == "strict"
    m.to("cpu", ember.float64)
    assert w.device == "cpu" and w.dtype == ember.float64 and w.grad.device == "cpu"
    m.to(dtype=ember.float32).cpu()
    assert w.dtype == ember.float32


def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 10))


class _LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(64, 5)

    def forward(self, tokens):
        h, _ = self.lstm(self.emb(tokens))
        return self.fc(h[:, -1])


@pytest.mark.parametrize("name, make, make_input, out_shape", [
    ("lenet", _lenet, lambda: ember.randn(4, 1, 28, 28), (4, 10)),
    ("lstm_classifier", _LSTMClassifier, lambda: ember.randint(0, 100, (4, 7)), (4, 5)),
    ("resnet18", lambda: resnet18(num_classes=10), lambda: ember.randn(2, 3, 64, 64), (2, 10)),
], ids=["lenet", "lstm_classifier", "resnet18"])
def test_models_run_forward_and_backward_on_meta(name, make, make_input, out_shape):
    """Every op of a conv net (conv, pooling, batch norm, residual adds), an LSTM classifier
    (embedding, the fused recurrence, reversed directions) and their backward passes run
    their shape rules on meta: right shapes, no data."""
    with ember.device("meta"):
        model = make()
        out = model(make_input())
        assert out.is_meta and tuple(out.shape) == out_shape
        loss = F.cross_entropy(out, ember.randint(0, out_shape[1], (out_shape[0],)))
        assert loss.is_meta and loss.shape == ()
        loss.backward()
    for p in model.parameters():
        assert p.is_meta and p.grad is not None and p.grad.is_meta
        assert tuple(p.grad.shape) == tuple(p.shape) and p.grad.dtype == p.dtype


def test_cuda_is_available_asks_a_registered_cuda_backend():
    """A GPU backend is one module registering a ``cuda`` Backend; ember.cuda's query reads
    the registry (none ships here, so False; a registered one that reports itself usable
    makes it True)."""
    from ember.backend import base
    assert ember.cuda.is_available() is False

    class FakeGPU(base.Backend):
        name = "cuda"
        xp = ember.backend.xp

        def is_available(self):
            return True

    saved = base._backends.get("cuda"), base._devices.get("cuda")
    base.register(FakeGPU())
    try:
        assert ember.cuda.is_available() is True
    finally:
        del base._backends["cuda"], base._devices["cuda"]
        assert saved == (None, None)
    assert ember.cuda.is_available() is False
