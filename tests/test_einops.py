"""einops on ember tensors (ember/einops.py): the functions and layers give PyTorch's values and
gradients, and work under ember's transforms. Skipped without einops (and the parity parts
without torch)."""
import copy
import pickle

import numpy as np
import pytest

import ember

einops = pytest.importorskip("einops")
from ember.einops import EinMix, Rearrange, Reduce  # noqa: E402

CASES = [  # (function, pattern, input shape, keyword arguments)
    ("rearrange", "b c h w -> b (h w) c", (2, 3, 4, 6), {}),
    ("rearrange", "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", (2, 3, 4, 6), dict(p1=2, p2=3)),
    ("rearrange", "b (h d) n -> b h n d", (2, 6, 5), dict(h=3)),
    ("rearrange", "... c -> c ...", (2, 3, 4), {}),
    ("reduce", "b c h w -> b c", (2, 3, 4, 6), dict(reduction="mean")),
    ("reduce", "b c (h 2) (w 2) -> b c h w", (2, 3, 4, 6), dict(reduction="max")),
    ("reduce", "b c h w -> c", (2, 3, 4, 6), dict(reduction="sum")),
    ("reduce", "b c h w -> b h", (2, 3, 4, 6), dict(reduction="min")),
    ("reduce", "b c h w -> b", (2, 3, 4, 6), dict(reduction="prod")),
    ("repeat", "b n -> b k n", (2, 5), dict(k=3)),
    ("repeat", "h w -> (h 2) (3 w)", (2, 5), {}),
]


def _data(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(np.float32)


@pytest.mark.parametrize("fn,pattern,shape,kw", CASES)
def test_functions_match_torch_values_and_gradients(fn, pattern, shape, kw):
    torch = pytest.importorskip("torch")
    a = _data(shape)
    kw = dict(kw)
    red = kw.pop("reduction", None)
    args = (red,) if red else ()
    x = ember.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y = getattr(einops, fn)(x, pattern, *args, **kw)
    ty = getattr(einops, fn)(tx, pattern, *args, **kw)
    assert isinstance(y, ember.Tensor)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    w = _data(tuple(ty.shape), seed=1)
    (y * ember.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_einsum_pack_unpack_and_asnumpy():
    a, b = _data((2, 3, 4)), _data((4, 5), 1)
    x, w = ember.tensor(a), ember.tensor(b)
    y = einops.einsum(x, w, "b t c, c d -> b t d")
    np.testing.assert_allclose(y.numpy(), np.einsum("btc,cd->btd", a, b), rtol=1e-5)
    packed, ps = einops.pack([x, ember.tensor(a[:, 0])], "b * c")
    assert tuple(packed.shape) == (2, 4, 4)
    first, second = einops.unpack(packed, ps, "b * c")
    np.testing.assert_array_equal(first.numpy(), a)
    np.testing.assert_array_equal(second.numpy(), a[:, 0])
    assert isinstance(einops.asnumpy(x), np.ndarray)
    # integer tensors: mean is refused by einops itself (as for torch), max works
    ix = ember.arange(12).reshape(3, 4)
    assert einops.reduce(ix, "a b -> a", "max").tolist() == [3, 7, 11]


def test_under_transforms():
    a = _data((4, 2, 6))
    f = lambda t: einops.reduce(einops.rearrange(t, "b c (h p) -> b h (p c)", p=2) ** 2,
                                "b h k -> b", "sum")
    eager = f(ember.tensor(a)).numpy()
    np.testing.assert_allclose(ember.jit(f)(ember.tensor(a)).numpy(), eager, rtol=1e-6)
    per_row = ember.vmap(lambda t: f(t[None])[0])(ember.tensor(a))
    np.testing.assert_allclose(per_row.numpy(), eager, rtol=1e-6)
    g = ember.grad(lambda t: f(t).sum())(ember.tensor(a))
    np.testing.assert_allclose(g.numpy(), 2 * a, rtol=1e-6)


def test_layers_in_a_model_train_and_compile():
    ember.manual_seed(0)
    model = ember.nn.Sequential(
        Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=2, p2=2),
        ember.nn.Linear(12, 8),
        EinMix("b n d -> b n e", weight_shape="d e", bias_shape="e", d=8, e=8),
        Reduce("b n e -> b e", "mean"),
        ember.nn.Linear(8, 2))
    assert [n for n, _ in model.named_parameters()] == [
        "1.weight", "1.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert repr(model[0]) == "Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=2, p2=2)"
    x = ember.tensor(_data((5, 3, 4, 4)))
    out = model(x)
    assert tuple(out.shape) == (5, 2)
    np.testing.assert_allclose(ember.compile(model)(x).detach().numpy(), out.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    loss = model(x).pow(2).mean()
    loss.backward()
    assert model[2].weight.grad is not None and model[2].weight.grad.shape == (8, 8)
    opt.step()
    assert float(model(x).pow(2).mean()) < float(loss)
    # whole-module copies and pickles keep the patterns and the weights
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_allclose(clone(x).detach().numpy(), model(x).detach().numpy(),
                                   rtol=1e-6)


def test_layers_match_torch_layers():
    torch = pytest.importorskip("torch")
    from einops.layers import torch as tl
    ember.manual_seed(0)
    em = EinMix("b t c -> b t d", weight_shape="c d", bias_shape="d", c=4, d=3)
    tm = tl.EinMix("b t c -> b t d", weight_shape="c d", bias_shape="d", c=4, d=3)
    assert {k: tuple(v.shape) for k, v in em.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    a = _data((2, 5, 4))
    np.testing.assert_allclose(em(ember.tensor(a)).detach().numpy(),
                               tm(torch.tensor(a)).detach().numpy(), rtol=1e-5, atol=1e-6)
    # the weights are drawn in einops' bounds: uniform in +-sqrt(3/c), the bias in +-sqrt(1/c)
    assert 0.3 < float(em.weight.abs().max()) <= 0.75 ** 0.5
    assert float(em.bias.abs().max()) <= 0.5
    r = Reduce("b (t 2) c -> b t c", "max")
    np.testing.assert_array_equal(
        r(ember.tensor(_data((2, 6, 3)))).numpy(),
        tl.Reduce("b (t 2) c -> b t c", "max")(torch.tensor(_data((2, 6, 3)))).numpy())


def test_bad_pattern_names_the_problem():
    with pytest.raises(einops.EinopsError, match="b c"):
        einops.rearrange(ember.ones(2, 3), "b c d -> b (c d)")


def test_ember_imports_without_einops():
    import subprocess
    import sys
    code = ("import sys; sys.modules['einops'] = None\n"
            "import ember\n"
            "try:\n    from ember.einops import Rearrange\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(__import__("pathlib").Path(ember.__file__).parents[1]))
    assert out.returncode == 0, out.stderr
    assert "pip install einops" in out.stdout
