"""A jitted function under grad, vjp, jvp, vmap and jit is one ``jit_call`` primitive whose
rules come from its graph (compiled), and gives what the function gives without jit."""
import numpy as np
import pytest

import ember
from ember.transforms.staging.call import jit_call_p


def _mlp_params(seed=0, width=5, depth=3):
    rng = np.random.default_rng(seed)
    return [{"w": ember.tensor(rng.standard_normal((width, width)) * 0.5),
             "b": ember.tensor(rng.standard_normal(width) * 0.1)} for _ in range(depth)]


def loss(params, x):
    h = x
    for p in params:
        h = ember.tanh(h @ p["w"] + p["b"])
    return (h * h).mean()


def _x(seed=1, n=4, width=5):
    return ember.tensor(np.random.default_rng(seed).standard_normal((n, width)))


def _close(a, b):
    for u, v in zip(ember.tree_leaves(a), ember.tree_leaves(b)):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-12, atol=1e-14)


def test_grad_of_jit_is_one_jit_call_and_matches():
    params, x = _mlp_params(), _x()
    jl = ember.jit(loss)
    _close(ember.grad(jl)(params, x), ember.grad(loss)(params, x))
    _close(ember.grad(jl, argnums=1)(params, x), ember.grad(loss, argnums=1)(params, x))
    g = ember.make_graph(ember.grad(jl))(params, x)
    names = [e.prim.name for e in g.eqns]
    assert names.count("jit_call") == 2, g  # the forward and the compiled backward
    assert "tanh" not in names and "matmul" not in names


def test_vmap_jvp_and_jit_of_jit():
    params, x = _mlp_params(), _x()
    jl = ember.jit(loss)
    xs = ember.stack([x, x * 2.0, x - 1.0])
    _close(ember.vmap(jl, in_axes=(None, 0))(params, xs),
           ember.vmap(loss, in_axes=(None, 0))(params, xs))
    _close(ember.vmap(jl, in_axes=(None, 1))(params, xs),
           ember.vmap(loss, in_axes=(None, 1))(params, xs))
    t = ember.tree_map(ember.ones_like, params)
    _close(ember.jvp(lambda p: jl(p, x), (params,), (t,)),
           ember.jvp(lambda p: loss(p, x), (params,), (t,)))
    jj = ember.jit(lambda p, x: jl(p, x) * 3.0)
    _close(jj(params, x), loss(params, x) * 3.0)
    assert "jit_call" not in str(ember.make_graph(jj)(params, x))  # inlined, then optimised


def test_compositions_of_derivatives():
    params, x = _mlp_params(), _x()
    jl = ember.jit(loss)
    xs = ember.stack([x, x * 0.5])

    def scalar(f):
        return lambda s: f([{"w": p["w"] * s, "b": p["b"]} for p in params], x)
    s = ember.tensor(0.7)
    _close(ember.grad(ember.grad(scalar(jl)))(s), ember.grad(ember.grad(scalar(loss)))(s))
    _close(ember.jvp(ember.grad(scalar(jl)), (s,), (ember.tensor(1.0),)),
           ember.jvp(ember.grad(scalar(loss)), (s,), (ember.tensor(1.0),)))
    # per-example gradients, both orders of vmap and grad
    _close(ember.vmap(ember.grad(jl), in_axes=(None, 0))(params, xs),
           ember.vmap(ember.grad(loss), in_axes=(None, 0))(params, xs))
    _close(ember.grad(lambda p: ember.vmap(jl, in_axes=(None, 0))(p, xs).sum())(params),
           ember.grad(lambda p: ember.vmap(loss, in_axes=(None, 0))(p, xs).sum())(params))
    _close(ember.jit(ember.grad(jl))(params, x), ember.grad(loss)(params, x))


def test_rules_are_staged_once_and_cached_on_the_entry():
    params, x = _mlp_params(), _x()
    jl = ember.jit(loss)
    jl.clear_cache()  # (jit(loss) is shared with the other tests of this file)
    g = ember.grad(jl)
    g(params, x)
    (entry,) = [e for es in jl.cache.values() for e in es]
    gp = entry.grad_plan
    assert gp is not None and gp.backward_call() is gp.backward_call()
    g(params, x)
    assert entry.grad_plan is gp and jl.trace_count == 1
    xs = ember.stack([x, x])
    ember.vmap(jl, in_axes=(None, 0))(params, xs)
    ember.vmap(jl, in_axes=(None, 0))(params, xs)
    assert len(entry.call._derived) == 1  # one batched call for (dims, size)


def test_eager_tape_and_transforms_share_the_primitive():
    params, x = _mlp_params(), _x()
    for p in params:
        for v in p.values():
            v.requires_grad_(True)
    out = ember.jit(loss)(params, x)
    assert out._node is not None and out._node.prim is jit_call_p
    out.backward()
    want = ember.grad(loss)([{k: v.detach() for k, v in p.items()} for p in params], x)
    _close([{k: v.grad for k, v in p.items()} for p in params], want)


def test_create_graph_double_backward_through_jit():
    x = ember.tensor([0.3, -1.2, 2.0], requires_grad=True)
    f = ember.jit(lambda x: (ember.tanh(x) ** 3).sum())
    (g,) = ember.autograd.grad(f(x), [x], create_graph=True)
    g.sum().backward()
    x2 = ember.tensor([0.3, -1.2, 2.0], requires_grad=True)
    (g2,) = ember.autograd.grad((ember.tanh(x2) ** 3).sum(), [x2], create_graph=True)
    g2.sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), g2.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-6)


def test_closure_parameters_under_grad_transform_and_vmap():
    w = ember.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    jf = ember.jit(lambda x: (ember.sin(x * w)).sum())
    xs = _x()
    got = ember.vmap(jf)(xs)
    np.testing.assert_allclose(got.detach().numpy(),
                               np.sin(xs.numpy() * w.detach().numpy()).sum(1), rtol=1e-12)
    got.sum().backward()  # the eager tape reaches the captured parameter through vmap
    np.testing.assert_allclose(w.grad.numpy(),
                               (np.cos(xs.numpy() * w.detach().numpy()) * xs.numpy()).sum(0),
                               rtol=1e-10)


def test_random_draws_and_buffers_under_transforms():
    def f(x):
        return ember.nn.functional.dropout(x, 0.5, training=True).sum()
    jf, dbg = ember.jit(f), ember.jit(f, debug=True)
    x = ember.ones(6)
    ember.manual_seed(5)
    a = ember.grad(jf)(x)
    ember.manual_seed(5)
    b = ember.grad(dbg)(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="randomness"):
        ember.vmap(jf)(ember.ones(2, 6))
    bn = ember.nn.BatchNorm1d(3)
    jb = ember.jit(lambda x: bn(x).sum())
    xb = ember.tensor(np.random.default_rng(0).standard_normal((8, 3)))
    ember.grad(jb)(xb)
    # the buffer update happened once, with the batch statistics (as eagerly)
    bn2 = ember.nn.BatchNorm1d(3)
    ember.grad(lambda x: bn2(x).sum())(xb)
    np.testing.assert_allclose(bn.running_mean.numpy(), bn2.running_mean.numpy(), rtol=1e-6)



def _bits(a, b):
    la, lb = ember.tree_leaves(a), ember.tree_leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.dtype == v.dtype and np.array_equal(u.numpy(), v.numpy())


def _f32(tree):
    return ember.tree_map(lambda t: t.to(ember.float32), tree)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0)])
def test_value_and_grad_of_jit_runs_one_joint_plan_with_the_same_bits(argnums, monkeypatch):
    params, x = _f32(_mlp_params()), _f32(_x())
    jl = ember.jit(loss)
    fast = ember.value_and_grad(jl, argnums=argnums)(params, x)
    key = (argnums,) if isinstance(argnums, int) else argnums
    assert key in jl._vg_fast  # the joint plan ran
    _bits(fast, ember.value_and_grad(jl, argnums=argnums)(params, x))  # the repeat call
    _bits(fast, ember.jit(ember.value_and_grad(loss, argnums=argnums))(params, x))
    # the general path: grad through the jit_call primitive (forward and backward plans)
    monkeypatch.setattr(type(jl), "_value_and_grad_fast", lambda *a: None)
    _bits(fast, ember.value_and_grad(jl, argnums=argnums)(params, x))


def test_grad_of_jit_fast_path_follows_new_shapes_and_clear_cache():
    params, jl = _mlp_params(), ember.jit(loss)
    for n in (4, 7, 4):
        x = _x(n=n)
        _close(ember.grad(jl)(params, x), ember.grad(loss)(params, x))
    jl.clear_cache()
    assert not jl._vg_fast
    _close(ember.grad(jl)(params, _x()), ember.grad(loss)(params, _x()))


def test_grad_of_jit_cases_the_joint_plan_leaves_to_the_general_path():
    params, x = _mlp_params(), _x()
    jl = ember.jit(loss)
    jl.clear_cache()  # (jit(loss) is shared with the other tests of this file)
    # aux output, keyword arguments, static arguments
    (v, aux), g = ember.value_and_grad(ember.jit(lambda p, x: (loss(p, x), x.sum())),
                                       has_aux=True)(params, x)
    _close(g, ember.grad(loss)(params, x))
    _close(ember.grad(jl)(params, x=x), ember.grad(loss)(params, x))
    js = ember.jit(lambda p, x, k: loss(p, x) * k, static_argnums=2)
    _close(ember.grad(js)(params, x, 3), ember.grad(lambda p, x: loss(p, x) * 3)(params, x))
    # inputs that require grad (the tape sees the call) and closure parameters
    w = ember.tensor(np.ones((5, 5)), requires_grad=True)
    jw = ember.jit(lambda p, x: loss(p, x @ w))
    _close(ember.tree_map(lambda t: t.detach(), ember.grad(jw)(params, x)),
           ember.tree_map(lambda t: t.detach(), ember.grad(lambda p, x: loss(p, x @ w))(params, x)))
    pr = ember.tree_map(lambda t: t.detach().requires_grad_(), params)
    _close(ember.tree_map(lambda t: t.detach(), ember.grad(jl)(pr, x)),
           ember.grad(loss)(params, x))
    assert not jl._vg_fast and not jw._vg_fast
    # integer inputs: what the general path gives
    ji = ember.jit(lambda i: (i * 2.0).sum())
    _bits(ember.grad(ji)(ember.tensor([1, 2])),
          ember.grad(lambda i: (i * 2.0).sum())(ember.tensor([1, 2])))
    assert not ji._vg_fast
    # under another transform the jit stays one jit_call primitive
    pg = ember.vmap(ember.grad(jl), in_axes=(None, 0))(params, ember.stack([x, x]))
    _close(ember.tree_map(lambda t: t[0], pg), ember.grad(loss)(params, x))
