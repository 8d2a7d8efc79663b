"""ember.autocast against torch.autocast("cpu"): output dtypes per op, a whole model's
forward, parameters and gradients in float32, and the same bits under jit."""
import logging
import warnings
import threading

import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [("bfloat16",), ("float16",)]


def _cases(m, Fm):
    """(name, thunk) pairs computing one op under autocast, written once for both libraries
    (``m`` is ember or torch)."""
    rng = np.random.default_rng(0)

    def t(*shape):
        return m.tensor(rng.standard_normal(shape).astype(np.float32))
    x, w, b = t(4, 8), t(3, 8), t(3)
    img, k, kb = t(2, 2, 6, 6), t(3, 2, 3, 3), t(3)
    labels = m.tensor(np.array([0, 1, 2, 0]))
    return [
        ("linear", lambda: Fm.linear(x, w, b)),
        ("conv2d", lambda: Fm.conv2d(img, k, kb, padding=1)),
        ("matmul", lambda: x @ w.T),
        ("bmm", lambda: m.bmm(t(2, 3, 4), t(2, 4, 5))),
        ("einsum", lambda: m.einsum("ij,kj->ik", x, w)),
        ("softmax of f32", lambda: Fm.softmax(x, -1)),
        ("softmax of linear", lambda: Fm.softmax(Fm.linear(x, w, b), -1)),
        ("log_softmax of linear", lambda: Fm.log_softmax(Fm.linear(x, w, b), -1)),
        ("cross_entropy", lambda: Fm.cross_entropy(Fm.linear(x, w, b), labels)),
        ("nll_loss", lambda: Fm.nll_loss(Fm.log_softmax(Fm.linear(x, w, b), -1), labels)),
        ("mse_loss", lambda: Fm.mse_loss(Fm.linear(x, w, b), t(4, 3))),
        ("l1_loss", lambda: Fm.l1_loss(Fm.linear(x, w, b), t(4, 3))),
        ("layer_norm of linear", lambda: Fm.layer_norm(Fm.linear(x, w, b), (3,), t(3), t(3))),
        ("layer_norm of f32", lambda: Fm.layer_norm(x, (8,))),
        ("batch_norm of linear", lambda: Fm.batch_norm(Fm.linear(x, w, b), t(3) * 0,
                                                       t(3) * 0 + 1, t(3), t(3))),
        ("sum of linear", lambda: Fm.linear(x, w, b).sum()),
        ("sum of f32", lambda: x.sum()),
        ("mean of linear", lambda: Fm.linear(x, w, b).mean()),
        ("cat of mixed", lambda: m.cat([Fm.linear(x, w, b), t(4, 3)])),
        ("cat of low", lambda: m.cat([Fm.linear(x, w, b), Fm.linear(x, w, b)])),
        ("stack of mixed", lambda: m.stack([Fm.linear(x, w, b), t(4, 3)])),
        ("add of mixed", lambda: Fm.linear(x, w, b) + t(4, 3)),
        ("relu of linear", lambda: Fm.relu(Fm.linear(x, w, b))),
        ("matmul float64", lambda: x.double() @ w.double().T),
        ("mv", lambda: m.mv(w, x[0])),
        ("bce_with_logits", lambda: Fm.binary_cross_entropy_with_logits(
            Fm.linear(x, w, b), t(4, 3).sigmoid())),
    ]


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_output_dtypes_match_torch_autocast(name):
    edt, tdt = getattr(ember, name), getattr(torch, name)
    with torch.autocast("cpu", dtype=tdt):
        want = {n: str(f().dtype).replace("torch.", "") for n, f in _cases(torch, TF)}
    with ember.autocast("cpu", dtype=edt):
        got = {n: f().dtype.name for n, f in _cases(ember, F)}
    assert got == want
    # outside the region nothing is cast
    assert all(f().dtype.name in ("float32", "float64") for _, f in _cases(ember, F))


def test_values_match_torch_autocast_and_params_get_float32_grads():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    em, tm = ember.nn.Linear(6, 4), torch.nn.Linear(6, 4)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    y = np.array([0, 1, 2, 3, 0])
    with ember.autocast("cpu"):
        el = F.cross_entropy(em(ember.tensor(x)), ember.tensor(y))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tl = TF.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
    assert el.dtype == ember.float32
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-2)
    el.backward()
    tl.backward()
    assert em.weight.dtype == ember.float32 and em.weight.grad.dtype == ember.float32
    assert em.bias.grad.dtype == ember.float32
    np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(), atol=2e-2)
    np.testing.assert_allclose(em.bias.grad.numpy(), tm.bias.grad.numpy(), atol=2e-2)


def _mnist_cnn(m):
    nn = m.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 14 * 14, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def test_mnist_cnn_forward_matches_torch_autocast():
    from ember.recipes import mnist_cnn
    ember.manual_seed(0)
    em = mnist_cnn.model()
    tm = _mnist_cnn(torch)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    x = np.random.default_rng(2).random((8, 1, 28, 28)).astype(np.float32)
    with ember.autocast("cpu", dtype=ember.bfloat16):
        eo = em(ember.tensor(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        to = tm(torch.tensor(x))
    assert eo.dtype == ember.bfloat16 and to.dtype == torch.bfloat16
    ev, tv = eo.detach().float().numpy(), to.detach().float().numpy()
    # bf16 keeps 8 bits: the logits agree to a few bf16 units of their magnitude
    np.testing.assert_allclose(ev, tv, atol=4 * 2 ** -8 * np.abs(tv).max())
    assert (ev.argmax(1) == tv.argmax(1)).mean() >= 0.75
    with ember.no_grad():
        full = em(ember.tensor(x)).numpy()
    assert np.abs(ev - full).max() > 0  # the region did change the arithmetic


def test_jitted_step_under_autocast_gives_eager_bits():
    ember.manual_seed(0)
    x = ember.randn(16, 1, 28, 28)
    y = ember.tensor(np.arange(16) % 10)

    def run(step_fn):
        from ember.recipes import mnist_cnn
        ember.manual_seed(3)
        model = mnist_cnn.model()
        opt = ember.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(2):
            losses.append(step_fn(model, opt))
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    def eager(model, opt):
        with ember.autocast("cpu"):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    jitted = {}

    def compiled(model, opt):
        f = jitted.setdefault("f", ember.jit(lambda xx, yy: F.cross_entropy(model(xx), yy)))
        with ember.autocast("cpu"):
            loss = f(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    (le, pe), (lj, pj) = run(eager), run(compiled)
    assert le == lj
    for a, b in zip(pe, pj):
        np.testing.assert_array_equal(a, b)


def test_jit_retraces_once_on_entering_and_leaving_and_explains(caplog):
    lin = ember.nn.Linear(4, 3)
    f = ember.jit(lambda x: lin(x))
    x = ember.randn(2, 4)
    prev = ember.config.explain_retraces
    ember.config.explain_retraces = True
    try:
        with caplog.at_level(logging.WARNING, logger="ember.jit"):
            assert f(x).dtype == ember.float32
            with ember.autocast("cpu"):
                assert f(x).dtype == ember.bfloat16
                assert f(x).dtype == ember.bfloat16
            assert f(x).dtype == ember.float32
            with ember.autocast("cpu", dtype=ember.float16):
                assert f(x).dtype == ember.float16
    finally:
        ember.config.explain_retraces = prev
    assert f.trace_count == 3
    text = caplog.text
    assert "autocast: off -> on (bfloat16)" in text
    assert "autocast: on (bfloat16) -> on (float16)" in text


def test_autocast_under_grad_and_vmap():
    w = ember.randn(3, 4)
    xs = ember.randn(5, 4)

    def f(w, x):
        with ember.autocast("cpu"):
            out = x @ w.T
        assert out.dtype == ember.bfloat16
        return out.float().sum()
    g = ember.grad(f)(w, xs[0])
    assert g.dtype == ember.float32
    ref = np.broadcast_to(xs[0].to(ember.bfloat16).float().numpy(), (3, 4))
    np.testing.assert_array_equal(g.numpy(), ref)
    per_example = ember.vmap(lambda x: f(w, x))(xs)
    looped = [f(w, xs[i]).item() for i in range(5)]
    np.testing.assert_array_equal(per_example.numpy(), np.array(looped, np.float32))


def test_context_decorator_nesting_and_threads():
    @ember.autocast("cpu", dtype=ember.float16)
    def f(a):
        return a @ a

    a = ember.ones(2, 2)
    assert f(a).dtype == ember.float16 and (a @ a).dtype == ember.float32
    with ember.autocast("cpu"):
        assert ember.is_autocast_enabled() and ember.get_autocast_dtype("cpu") == ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled()
            assert (a @ a).dtype == ember.float32
        assert (a @ a).dtype == ember.bfloat16
        seen = []
        th = threading.Thread(target=lambda: seen.append((a @ a).dtype))
        th.start()
        th.join()
        assert seen == [ember.float32]  # autocast is per thread
    assert not ember.is_autocast_enabled()


def test_bad_input_errors():
    with pytest.raises(TypeError, match=r"autocast: dtype must be a floating dtype .*int32"):
        ember.autocast("cpu", dtype=ember.int32)
    with pytest.raises(TypeError, match=r"autocast: dtype must be a floating dtype .*complex64"):
        ember.autocast("cpu", dtype=ember.complex64)
    with pytest.raises(ValueError, match=r"device_type='gpu0' is not a device type"):
        ember.autocast("gpu0")
    with pytest.warns(UserWarning, match="autocast is disabled"):
        region = ember.autocast("cpu", dtype=ember.float32)
    with region:
        assert not ember.is_autocast_enabled()


def test_policy_is_published_as_data():
    p = ember.amp.autocast_policy()
    assert {"conv2d", "linear", "matmul", "bmm", "addmm"} <= set(p["lower_precision"])
    assert {"cross_entropy_loss", "nll_loss", "mse_loss", "l1_loss", "kl_div"} <= set(p["float32"])
    assert p["promote"] == ["stack", "cat", "index_copy"]
    for name in ("linear", "conv2d", "matmul", "mse_loss", "cross_entropy_loss"):
        assert name in p["implemented"]


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_lstm_runs_in_lower_precision_as_torch(name):
    """PyTorch's CPU list has the LSTM layer (mkldnn_rnn_layer): input, states and weights
    run in the lower precision and output, h_n, c_n come back in it; parameters stay float32
    and get float32 gradients."""
    edt, tdt = getattr(ember, name), getattr(torch, name)
    torch.manual_seed(0)
    tl = torch.nn.LSTM(3, 5, num_layers=2)
    el = ember.nn.LSTM(3, 5, num_layers=2)
    el.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tl.state_dict().items()})
    a = np.random.default_rng(0).standard_normal((7, 4, 3)).astype(np.float32)
    ex = ember.tensor(a, requires_grad=True)
    with ember.autocast("cpu", dtype=edt):
        eo, (eh, ec) = el(ex)
        eo2, _ = el(ex, (ember.zeros(2, 4, 5), ember.zeros(2, 4, 5)))
    assert eo.dtype == eh.dtype == ec.dtype == eo2.dtype == edt
    eo.float().sum().backward()
    assert ex.grad.dtype == ember.float32 and el.weight_hh_l1.grad.dtype == ember.float32
    # PyTorch's float32-input path needs oneDNN's low-precision LSTM, which some CPUs lack;
    # its input-in-lower-precision path runs everywhere and is the same computation
    tx = torch.tensor(a).to(tdt)
    with torch.autocast("cpu", dtype=tdt):
        to, (th, tc) = tl(tx)
    assert to.dtype == th.dtype == tc.dtype == tdt
    with ember.autocast("cpu", dtype=edt):
        lo, (lh, lc) = el(ember.tensor(a).to(edt))
    assert lo.dtype == edt
    np.testing.assert_array_equal(lo.detach().float().numpy(), eo.detach().float().numpy())
    eps = 2.0 ** -7 if name == "bfloat16" else 2.0 ** -10
    for e, t in ((lo, to), (lh, th), (lc, tc)):  # bounded |values| < 1: a few units of eps
        np.testing.assert_allclose(e.detach().float().numpy(), t.float().detach().numpy(),
                                   atol=8 * eps)
    try:
        with torch.autocast("cpu", dtype=tdt):
            fo, _ = tl(torch.tensor(a))
        assert fo.dtype == tdt
    except RuntimeError as err:  # oneDNN without low-precision RNN support on this CPU
        assert "primitive descriptor" in str(err)
    # jit under autocast gives the eager bits; float64 is left alone, as PyTorch
    jl = ember.jit(lambda x: el(x)[0])
    with ember.autocast("cpu", dtype=edt):
        jo = jl(ember.tensor(a))
    np.testing.assert_array_equal(jo.detach().float().numpy(), eo.detach().float().numpy())
    el64 = ember.nn.LSTM(3, 5).double()
    with ember.autocast("cpu", dtype=edt):
        assert el64(ember.tensor(a).double())[0].dtype == ember.float64


@pytest.mark.parametrize("cls", ["GRU", "RNN", "GRUCell", "RNNCell", "LSTMCell"])
@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_other_recurrent_layers_under_autocast_as_torch(cls, name):
    """PyTorch's CPU autocast list has the LSTM layer only; the other recurrent layers run
    their cells' linears in the lower precision (biases inside them): RNN/RNNCell return
    the lower precision, GRU/GRUCell/LSTMCell float32 (their state update mixes the lowered
    gates with the float32 state). ember returns the same dtypes and values within the lower
    precision's rounding; parameters get float32 gradients."""
    edt, tdt = getattr(ember, name), getattr(torch, name)
    torch.manual_seed(0)
    cell = cls.endswith("Cell")
    tm = getattr(torch.nn, cls)(3, 5) if cell else getattr(torch.nn, cls)(3, 5, num_layers=2)
    em = getattr(ember.nn, cls)(3, 5) if cell else getattr(ember.nn, cls)(3, 5, num_layers=2)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    a = np.random.default_rng(1).standard_normal((6, 2, 3)).astype(np.float32)
    a = a[0] if cell else a

    def first(o):
        return o[0] if isinstance(o, tuple) else o
    with torch.autocast("cpu", dtype=tdt):
        to = first(tm(torch.tensor(a))).detach()
    with ember.autocast("cpu", dtype=edt):
        eo = first(em(ember.tensor(a)))
    assert str(eo.dtype).split(".")[-1] == str(to.dtype).split(".")[-1]
    eps = 2.0 ** -8 if name == "bfloat16" else 2.0 ** -11
    np.testing.assert_allclose(eo.detach().float().numpy(), to.float().numpy(), rtol=0,
                               atol=8 * eps)
    eo.float().sum().backward()
    assert all(p.grad.dtype == ember.float32 for p in em.parameters())


def test_absent_accelerator_disables_with_a_warning_as_pytorch():
    # A script written for a GPU (torch.autocast("cuda"), torch.cuda.amp.autocast()) runs on a
    # CPU-only PyTorch with autocast off and a warning; ember does the same.
    lin = ember.nn.Linear(4, 2)
    for make in (lambda: ember.autocast("cuda", dtype=ember.float16),
                 lambda: ember.cuda.amp.autocast(),
                 lambda: ember.autocast(device_type="mps")):
        with pytest.warns(UserWarning, match="not available in this build; autocast is disabled"):
            region = make()
        with region:
            assert lin(ember.ones(3, 4)).dtype == ember.float32
            assert not ember.is_autocast_enabled("cuda")
    assert ember.get_autocast_dtype("cuda") == ember.float16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ember.autocast("cuda", enabled=False):  # disabled on purpose: no warning
            pass
    # torch.cpu.amp.autocast is autocast("cpu") (bfloat16 by default)
    with ember.cpu.amp.autocast():
        assert lin(ember.ones(3, 4)).dtype == ember.bfloat16
