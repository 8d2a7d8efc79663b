"""Training on the strict device: optimizer steps (the in-place update path) and a DataLoader
hand-off (CPU batches moved with ``.to(device)``) give the CPU's bits, and every parameter,
gradient and optimizer buffer stays on the device."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.data import DataLoader, TensorDataset


def _mlp(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def _host(t):
    return t.detach().cpu().numpy()


def _buffers(state):
    """Every array of an optimizer's state (momentum buffers, moments, ...), as tensors."""
    return [v if isinstance(v, ember.Tensor) else ember.Tensor._wrap(v)
            for s in state.values() for v in s.values()
            if isinstance(v, (ember.Tensor, np.ndarray)) and np.ndim(v)]


OPTIMIZERS = [
    ("sgd_momentum", lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3)),
    ("sgd_nesterov", lambda ps: ember.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", lambda ps: ember.optim.Adam(ps, lr=1e-2)),
    ("adam_amsgrad", lambda ps: ember.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-2)),
    ("adamw", lambda ps: ember.optim.AdamW(ps, lr=1e-2, weight_decay=0.1)),
]


@pytest.mark.parametrize("make_opt", [o[1] for o in OPTIMIZERS], ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_steps_on_strict_parameters_give_cpu_bits(make_opt):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 8, 6)).astype(np.float32)
    ys = rng.integers(0, 3, (4, 8))

    def train(device):
        model = _mlp(3).to(device)
        opt = make_opt(model.parameters())
        for x, y in zip(xs, ys):
            opt.zero_grad()
            loss = F.cross_entropy(model(ember.tensor(x, device=device)),
                                   ember.tensor(y, device=device))
            loss.backward()
            opt.step()
        for p in model.parameters():
            assert p.device.type == device and p.grad.device.type == device
        for b in _buffers(opt.state):
            assert b.device.type == device, "an optimizer buffer left the device"
        assert _buffers(opt.state)
        return [_host(p) for p in model.parameters()] + [_host(b) for b in _buffers(opt.state)]

    cpu, strict = train("cpu"), train("strict")
    assert len(cpu) == len(strict)
    for a, b in zip(cpu, strict):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_dataloader_feeds_a_strict_model_through_to_device(num_workers):
    """The loader makes CPU batches; the loop hands them to the model's device with
    ``.to(device)`` (PyTorch's ``pin_memory`` + ``.to(device, non_blocking=True)`` idiom)."""
    rng = np.random.default_rng(1)
    data = TensorDataset(ember.tensor(rng.standard_normal((40, 6)).astype(np.float32)),
                         ember.tensor(rng.integers(0, 3, 40)))

    def train(device):
        model = _mlp(5).to(device)
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader = DataLoader(data, batch_size=8, shuffle=True, num_workers=num_workers,
                            pin_memory=True, generator=ember.Generator().manual_seed(7))
        losses = []
        for _ in range(2):
            for x, y in loader:
                assert x.device.type == "cpu"
                x, y = x.to(device, non_blocking=True), y.to(device)
                assert x.device.type == device
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                losses.append(_host(loss))
        return losses + [_host(p) for p in model.parameters()]

    for a, b in zip(train("cpu"), train("strict")):
        np.testing.assert_array_equal(b, a)


def test_dataloader_over_a_strict_dataset_collates_on_the_device():
    xs = ember.arange(12.0).reshape(6, 2).to("strict")
    samples = [(xs[i], i % 2) for i in range(6)]  # a map-style dataset: default_collate
    for x, y in DataLoader(samples, batch_size=3):
        assert x.device.type == "strict" and tuple(x.shape) == (3, 2)
        assert y.device.type == "cpu"  # Python labels are made on the host
    for (x, y) in DataLoader(TensorDataset(xs, xs.sum(1)), batch_size=4):  # the batch gather
        assert x.device.type == "strict" and y.device.type == "strict"
