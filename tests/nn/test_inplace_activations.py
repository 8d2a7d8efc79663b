"""``inplace=True`` on the activations (functional and modules) writes into the input, as
PyTorch's: a feature list kept before an in-place ReLU sees the ReLU'd values (the neural
style transfer tutorial's VGG features rely on it), views see the change, and gradients are
PyTorch's. Under ember's transforms (traced values) it is computed out of place, same
values."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")

X = np.array([[-2.5, -0.5, 0.0, 0.7, 3.0, 7.5]], np.float32)
FUNCS = [("relu", ()), ("relu6", ()), ("elu", (1.0,)), ("leaky_relu", (0.1,)),
         ("hardtanh", (-1.0, 1.0)), ("selu", ()), ("celu", (1.0,)), ("hardswish", ()),
         ("hardsigmoid", ()), ("mish", ()), ("threshold", (0.5, -1.0))]
MODULES = [("ReLU", ()), ("ReLU6", ()), ("ELU", ()), ("LeakyReLU", (0.1,)), ("Hardtanh", ()),
           ("SELU", ()), ("CELU", ()), ("Hardswish", ()), ("Hardsigmoid", ()), ("Mish", ()),
           ("SiLU", ()), ("Threshold", (0.5, -1.0))]


def _run(mod, apply):
    """(input after the call, the result is the input, gradient of the weights)"""
    w = mod.tensor(np.linspace(0.5, 1.5, X.size, dtype=np.float32).reshape(X.shape),
                   requires_grad=True)
    h = mod.tensor(X) * w           # a non-leaf, as a layer's output
    kept = [h]                      # kept before the activation, as the VGG feature list
    out = apply(h)
    (out * mod.tensor(np.arange(X.size, dtype=np.float32).reshape(X.shape))).sum().backward()
    return kept[0].detach().numpy(), out is h, w.grad.numpy()


@pytest.mark.parametrize("name,args", FUNCS, ids=[f[0] for f in FUNCS])
def test_functional_inplace_matches_torch(name, args):
    for inplace in (False, True):
        e = _run(ember, lambda h: getattr(F, name)(h, *args, inplace=inplace))
        t = _run(torch, lambda h: getattr(torch.nn.functional, name)(h, *args, inplace=inplace))
        assert e[1] == t[1] == inplace
        np.testing.assert_allclose(e[0], t[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e[2], t[2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,args", MODULES, ids=[m[0] for m in MODULES])
def test_module_inplace_matches_torch(name, args):
    for inplace in (False, True):
        e = _run(ember, getattr(ember.nn, name)(*args, inplace=inplace))
        t = _run(torch, getattr(torch.nn, name)(*args, inplace=inplace))
        assert e[1] == t[1] == inplace
        np.testing.assert_allclose(e[0], t[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e[2], t[2], rtol=1e-5, atol=1e-6)


def test_inplace_activation_under_transforms_and_views():
    def f(x):  # under a transform the activation is computed out of place (same value)
        h = F.relu(x * 2.0, inplace=True)
        return (h * h).sum()
    x = ember.tensor(X[0])
    want = 2 * 4.0 * np.maximum(X[0], 0)
    np.testing.assert_allclose(ember.grad(f)(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(ember.jit(ember.grad(f))(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(ember.vmap(f)(ember.tensor(np.stack([X[0], -X[0]]))).numpy(),
                               [float(f(x)), float(f(-x))], rtol=1e-6)
    base = ember.tensor(X[0]).clone()
    view = base[1:4]
    ember.nn.ReLU(inplace=True)(base)
    assert view.tolist() == [0.0, 0.0, 0.699999988079071]
    # a leaf that requires grad can't be changed in place (PyTorch's error)
    with pytest.raises(RuntimeError, match="in-place"):
        F.relu(ember.tensor(X, requires_grad=True), inplace=True)

