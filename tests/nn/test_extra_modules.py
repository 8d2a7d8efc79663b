"""The 3-D layers, unpooling, LP pooling, RReLU, Softmax2d, lazy layers, Buffer, DataParallel
and the extra losses/functions vs torch 2.13 (values, gradients, state_dict keys)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _np(t):
    return t.detach().numpy()


def _pair(name, *args, **kw):
    tm = getattr(torch.nn, name)(*args, **kw).double()
    em = getattr(ember.nn, name)(*args, **kw).double()
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)
    assert list(em.state_dict()) == list(tm.state_dict())
    return tm, em


MODULES = [
    ("Conv3d", (2, 3, 3), dict(stride=(1, 2, 1), padding=1), (2, 2, 5, 6, 4)),
    ("Conv3d", (2, 4, 2), dict(groups=2, dilation=2), (1, 2, 5, 5, 5)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2, output_padding=1), (1, 2, 3, 2, 3)),
    ("MaxPool3d", (2,), dict(), (2, 2, 4, 4, 6)),
    ("MaxPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 5, 6, 7)),
    ("AvgPool3d", (2,), dict(stride=1, padding=1, count_include_pad=False), (1, 2, 4, 3, 5)),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), dict(), (1, 2, 5, 6, 4)),
    ("AdaptiveMaxPool3d", ((2, 3, 2),), dict(), (1, 2, 4, 6, 4)),
    ("AdaptiveMaxPool1d", (3,), dict(), (2, 3, 7)),
    ("BatchNorm3d", (2,), dict(), (3, 2, 2, 3, 2)),
    ("InstanceNorm3d", (2,), dict(affine=True), (2, 2, 3, 3, 3)),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), 0.5), dict(), (1, 2, 3, 3, 3)),
    ("ZeroPad3d", (1,), dict(), (1, 2, 2, 2, 2)),
    ("ReflectionPad3d", (1,), dict(), (1, 2, 3, 3, 3)),
    ("ReplicationPad3d", ((2, 1, 0, 1, 1, 0),), dict(), (1, 2, 3, 3, 3)),
    ("CircularPad3d", (1,), dict(), (1, 2, 3, 3, 3)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9)),
    ("LPPool2d", (3, 2), dict(), (2, 3, 4, 6)),
    ("LPPool3d", (1.5, 2), dict(), (1, 2, 4, 4, 4)),
    ("Softmax2d", (), dict(), (2, 3, 4, 4)),
]


@pytest.mark.parametrize("name,args,kw,shape", MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_module_matches_torch(name, args, kw, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if name.startswith("LPPool"):
        x = np.abs(x) + 0.1  # fractional powers of negatives are NaN in both
    tm, em = _pair(name, *args, **kw)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, eo = tm(tx), em(ex)
    np.testing.assert_allclose(_np(eo), _np(to), atol=1e-10)
    w = rng.standard_normal(tuple(to.shape))
    (to * torch.tensor(w)).sum().backward()
    (eo * ember.tensor(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(dict(em.named_parameters())[n].grad.numpy(),
                                   p.grad.numpy(), atol=1e-10)
    assert repr(em).replace("ember.", "") == repr(tm).replace("torch.", "")


@pytest.mark.parametrize("nsp", [1, 2, 3])
def test_max_unpool_matches_torch(nsp):
    x = np.random.default_rng(1).standard_normal((2, 3) + (6,) * nsp)
    pool_t = getattr(torch.nn, f"MaxPool{nsp}d")(2, return_indices=True)
    pool_e = getattr(ember.nn, f"MaxPool{nsp}d")(2, return_indices=True)
    (ty, ti), (ey, ei) = pool_t(torch.tensor(x)), pool_e(ember.tensor(x))
    assert np.array_equal(ei.numpy(), ti.numpy())
    eyg = ember.tensor(ey.numpy(), requires_grad=True)
    tyg = torch.tensor(ty.numpy(), requires_grad=True)
    ue = getattr(ember.nn, f"MaxUnpool{nsp}d")(2)(eyg, ei)
    ut = getattr(torch.nn, f"MaxUnpool{nsp}d")(2)(tyg, ti)
    np.testing.assert_allclose(_np(ue), _np(ut))
    ue.pow(2).sum().backward()
    ut.pow(2).sum().backward()
    np.testing.assert_allclose(eyg.grad.numpy(), tyg.grad.numpy())
    with pytest.raises(ValueError, match=f"max_unpool{nsp}d: indices has shape"):
        getattr(F, f"max_unpool{nsp}d")(eyg, ei[:1], 2)


def test_functions_match_torch():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 4))
    np.testing.assert_allclose(F.pdist(ember.tensor(a), 1.5).numpy(),
                               TF.pdist(torch.tensor(a), 1.5).numpy(), atol=1e-12)
    x1, x2, w, b = (rng.standard_normal(s) for s in ((3, 2), (3, 4), (5, 2, 4), (5,)))
    np.testing.assert_allclose(
        F.bilinear(*map(ember.tensor, (x1, x2, w, b))).numpy(),
        TF.bilinear(*map(torch.tensor, (x1, x2, w, b))).numpy(), atol=1e-12)
    x = rng.standard_normal((3, 5))
    t = np.array([[3, 0, -1, 1, 2], [4, -1, 0, 0, 0], [0, 1, 2, 3, 4]])
    for red in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            F.multilabel_margin_loss(ember.tensor(x), ember.tensor(t), reduction=red).numpy(),
            TF.multilabel_margin_loss(torch.tensor(x), torch.tensor(t), reduction=red).numpy(),
            atol=1e-12)
    an, po, ne = (rng.standard_normal((4, 3)) for _ in range(3))
    cos = lambda u, v: 1 - (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))  # noqa: E731
    for kw in (dict(), dict(distance_function=cos, margin=0.5, swap=True)):
        np.testing.assert_allclose(
            F.triplet_margin_with_distance_loss(*map(ember.tensor, (an, po, ne)), **kw).numpy(),
            TF.triplet_margin_with_distance_loss(*map(torch.tensor, (an, po, ne)), **kw).numpy(),
            atol=1e-12)
    for name in ("relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_"):
        e, tt = ember.tensor(a), torch.tensor(a)
        assert getattr(F, name)(e) is e
        getattr(TF, name)(tt)
        np.testing.assert_allclose(e.numpy(), tt.numpy(), atol=1e-12)
    e, tt = ember.tensor(a), torch.tensor(a)
    F.threshold_(e, 0.1, 20.0)
    TF.threshold_(tt, 0.1, 20.0)
    np.testing.assert_allclose(e.numpy(), tt.numpy())


def test_rrelu():
    x = np.linspace(-2, 2, 4001)
    ember.manual_seed(0)
    m = ember.nn.RReLU(0.1, 0.3)
    y = m(ember.tensor(x)).numpy()
    slopes = y[x < 0] / x[x < 0]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    assert np.array_equal(y[x >= 0], x[x >= 0])
    m.eval()
    np.testing.assert_allclose(m(ember.tensor(x)).numpy(),
                               TF.rrelu(torch.tensor(x), 0.1, 0.3, training=False).numpy())


def test_lazy_layers_become_the_real_layer():
    net = ember.nn.Sequential(ember.nn.LazyConv2d(4, 3), ember.nn.LazyBatchNorm2d(),
                              ember.nn.ReLU(), ember.nn.Flatten(), ember.nn.LazyLinear(2))
    y = net(ember.randn(2, 3, 6, 6))
    assert tuple(y.shape) == (2, 2)
    assert [type(m).__name__ for m in net] == ["Conv2d", "BatchNorm2d", "ReLU", "Flatten",
                                               "Linear"]
    assert tuple(net[4].weight.shape) == (2, 64) and net[1].num_features == 4
    tnet = torch.nn.Sequential(torch.nn.LazyConv2d(4, 3), torch.nn.LazyBatchNorm2d(),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    tnet(torch.randn(2, 3, 6, 6))
    assert list(net.state_dict()) == list(tnet.state_dict())
    opt = ember.optim.SGD(net.parameters(), lr=0.1)  # after the dry run, as in PyTorch
    net(ember.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    lin = ember.nn.LazyLinear(3, bias=False)
    assert lin.has_uninitialized_params()
    lin(ember.ones(1, 7))
    assert lin.bias is None and tuple(lin.weight.shape) == (3, 7)


def test_buffer_and_data_parallel():
    m = ember.nn.Module()
    m.count = ember.nn.Buffer(ember.zeros(()))
    m.scratch = ember.nn.Buffer(ember.ones(2), persistent=False)
    assert list(m.state_dict()) == ["count"]
    assert sorted(n for n, _ in m.named_buffers()) == ["count", "scratch"]
    assert not isinstance(m.count, ember.nn.Buffer)
    t = torch.nn.Module()
    t.count = torch.nn.Buffer(torch.zeros(()))
    assert list(t.state_dict()) == list(m.state_dict())
    inner = ember.nn.Linear(3, 2)
    dp = ember.nn.DataParallel(inner)
    assert dp.module is inner
    x = ember.randn(4, 3)
    assert np.array_equal(dp(x).detach().numpy(), inner(x).detach().numpy())
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert sorted(dp.state_dict()) == sorted(tdp.state_dict())
    with pytest.raises(ember.OpError, match="device_ids"):
        ember.nn.DataParallel(inner, device_ids=[0, 1])


def test_dropout2d_reads_ranks_as_torch():
    ember.manual_seed(0)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        y = F.dropout2d(ember.ones(64, 64), 0.5).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7  # elementwise
    with pytest.warns(UserWarning, match="interpreted as shape \\(N, C, L\\)"):
        y = F.dropout2d(ember.ones(4, 8, 5), 0.5).numpy()
    assert (y == y[..., :1]).all() and 0 < (y[..., 0] == 0).sum() < 32  # per (n, c)
    y = F.dropout2d(ember.ones(2, 8, 3, 3), 0.5).numpy()
    assert (y == y[..., :1, :1]).all()


def test_replacing_a_child_keeps_its_place():
    torch_net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    net = ember.nn.Sequential(ember.nn.Conv2d(3, 4, 3), ember.nn.ReLU(), ember.nn.Flatten())
    for m in (net, torch_net):
        setattr(m, "0", type(m[0])(1, 4, 3))  # as scripts swap a pretrained stem
        m[2] = type(m[2])()
    assert [type(c).__name__ for c in net.children()] == \
        [type(c).__name__ for c in torch_net.children()] == ["Conv2d", "ReLU", "Flatten"]
    lin = ember.nn.Linear(2, 2)
    lin.weight = ember.nn.Parameter(ember.zeros(2, 2))
    assert list(lin.state_dict()) == ["weight", "bias"]


def test_vision_namespace_and_dataset_views(tmp_path):
    import struct
    import ember.vision as torchvision
    import ember.vision.transforms as T  # noqa: F401  (the submodule import path works)
    assert torchvision.models.resnet18 is not None and torchvision.utils.make_grid
    for name, arr in (("t10k-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8)),
                      ("t10k-labels-idx1-ubyte", np.array([4, 1, 7], np.uint8))):
        with open(tmp_path / name, "wb") as f:
            f.write(struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
                    + arr.tobytes())
    ds = torchvision.datasets.MNIST(str(tmp_path), train=False)
    assert isinstance(ds.data, ember.Tensor) and ds.data.dtype == ember.uint8
    assert ds.targets.tolist() == [4, 1, 7] and tuple(ds.data.unsqueeze(1).shape) == (3, 1, 28, 28)
    ds.targets = ds.targets[:2]
    ds.data = ds.data[:2]
    assert len(ds) == 2


def test_sequential_and_module_list_editing_as_torch():
    for lib in (ember.nn, torch.nn):
        seq = lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 1))
        seq[1] = lib.Tanh()
        del seq[0]
        seq.insert(0, lib.Linear(2, 3))
        seq.append(lib.Sigmoid())
        popped = seq.pop(3)
        ml = lib.ModuleList([lib.ReLU(), lib.Tanh(), lib.Sigmoid()])
        del ml[0]
        ml.insert(1, lib.ELU())
        ml[0] = lib.ReLU6()
        ml += [lib.Identity()]
        ml.pop(-1)
        out = ([type(m).__name__ for m in seq], list(seq._modules), type(popped).__name__,
               [type(m).__name__ for m in ml], list(ml._modules), type(ml[1:]).__name__)
        if lib is ember.nn:
            mine = out
    assert mine == out
