"""Modules in the functional style: pytrees, functional_call, grad/vmap/jit over models."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.func import functional_call


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_module_is_a_pytree_of_its_parameters_and_buffers():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    leaves, td = ember.tree_flatten(m)
    assert [tuple(t.shape) for t in leaves] == [(3, 2), (3,), (3,), (3,), (3,), (3,), ()]
    doubled = ember.tree_map(lambda t: t * 2 if t.dtype.is_floating_point else t, m)
    assert isinstance(doubled, nn.Sequential)
    np.testing.assert_allclose(doubled[0].weight.detach().numpy(),
                               2 * m[0].weight.detach().numpy())
    assert m[0].weight is not doubled[0].weight  # the original is untouched


def test_grad_over_a_model_equals_backward():
    m, x, y = _mlp(), ember.randn(5, 4), ember.tensor([0, 2, 1, 1, 0])
    loss = lambda model: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    g = ember.grad(loss)(m)
    loss(m).backward()
    for (name, p), gp in zip(m.named_parameters(), ember.tree_leaves(g)):
        np.testing.assert_allclose(gp.detach().numpy(), p.grad.numpy(), rtol=1e-6, err_msg=name)
    jg = ember.jit(ember.grad(loss))(m)
    for a, b in zip(ember.tree_leaves(jg), ember.tree_leaves(g)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_functional_call_per_example_gradients():
    m = _mlp()
    params = {k: v.detach() for k, v in m.named_parameters()}
    x, y = ember.randn(6, 4), ember.tensor([0, 1, 2, 0, 1, 2])

    def loss(p, xi, yi):
        out = functional_call(m, p, (xi.unsqueeze(0),))
        return nn.functional.cross_entropy(out, yi.unsqueeze(0))
    per = ember.vmap(ember.grad(loss), in_axes=(None, 0, 0))(params, x, y)
    for i in range(6):
        gi = ember.grad(loss)(params, x[i], y[i])
        for k in params:
            np.testing.assert_allclose(per[k][i].numpy(), gi[k].numpy(), rtol=1e-5, atol=1e-7)
    # the module keeps its own parameters
    assert all(p is q for p, q in zip(m.parameters(), m.parameters()))
    with pytest.raises(KeyError, match="functional_call"):
        functional_call(m, {"nope": ember.zeros(1)}, (x,))


class _TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(6, 4)
        self.head = nn.Linear(4, 6, bias=False)
        self.emb.weight = self.head.weight  # a language model's tied weights

    def forward(self, idx):
        return self.head(self.emb(idx))


def test_functional_call_ties_shared_weights_as_pytorch():
    m, idx = _TiedLM(), ember.tensor([[1, 2, 3]])
    params = {k: v.detach() for k, v in m.named_parameters()}
    assert list(params) == ["emb.weight"]  # named once, used twice
    w = ember.randn(6, 4)
    out = functional_call(m, {"emb.weight": w}, (idx,))
    np.testing.assert_allclose(out.detach().numpy(), (w[idx] @ w.T).numpy(), rtol=1e-6)
    assert not out.requires_grad  # both uses replaced: the module's parameter is not reached
    # the gradient of the one name is the eager tape's sum over both uses
    loss = lambda p: nn.functional.cross_entropy(  # noqa: E731
        functional_call(m, p, (idx,)).view(-1, 6), ember.tensor([0, 4, 5]))
    g = ember.grad(loss)(params)["emb.weight"]
    loss({}).backward()
    np.testing.assert_array_equal(g.numpy(), m.head.weight.grad.numpy())
    # untied on request; conflicting values for the two names of one tensor are an error
    untied = functional_call(m, {"emb.weight": w}, (idx,), tie_weights=False)
    assert untied.requires_grad
    with pytest.raises(ValueError, match="'emb.weight' and 'head.weight' are tied"):
        functional_call(m, {"emb.weight": w, "head.weight": ember.randn(6, 4)}, (idx,))


def test_forward_hooks_and_repr():
    m = _mlp()
    seen = []
    h = m[0].register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape)))
    m(ember.randn(2, 4))
    h.remove()
    m(ember.randn(2, 4))
    assert seen == [(2, 8)]
    pre = m.register_forward_pre_hook(lambda mod, inp: (inp[0] * 0,))
    out = m(ember.randn(2, 4))
    np.testing.assert_allclose(out.detach().numpy(), m(ember.zeros(2, 4)).detach().numpy())
    pre.remove()
    assert "Linear(in_features=4, out_features=8, bias=True)" in repr(m)


def test_stack_module_state_and_vmap_over_an_ensemble():
    import copy
    torch = pytest.importorskip("torch")  # noqa: F841  (torch.func's names are the spec)
    ember.manual_seed(0)
    models = [ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
              for _ in range(3)]
    params, buffers = ember.func.stack_module_state(models)
    assert list(params) == [n for n, _ in models[0].named_parameters()]
    assert params["0.weight"].shape == (3, 8, 4) and params["0.weight"].requires_grad
    assert params["0.weight"].is_leaf and buffers == {}
    base = copy.deepcopy(models[0]).to("meta")
    x = ember.randn(5, 4)
    out = ember.vmap(lambda p, b, v: ember.func.functional_call(base, (p, b), (v,)),
                     in_dims=(0, 0, None))(params, buffers, x)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out[i].detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="stack_module_state: .* shapes"):
        ember.func.stack_module_state([ember.nn.Linear(2, 2), ember.nn.Linear(3, 2)])
    with pytest.raises(TypeError, match="in_axes \\(JAX\\) or in_dims"):
        ember.vmap(lambda v: v, in_axes=1, in_dims=0)(x)
