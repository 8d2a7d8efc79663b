"""The jmp-style functional twin: Policy casts, loss scales as pytrees, all_finite, and a
jitted mixed-precision step with a dynamic loss scale (no Python branch on traced values)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.amp import (DynamicLossScale, NoOpLossScale, Policy, StaticLossScale, all_finite,
                       get_policy, select_tree)


def test_policy_casts_floating_leaves_only():
    p = Policy(ember.float32, ember.bfloat16, ember.float16)
    tree = {"w": ember.ones(2, 2), "idx": ember.tensor([1, 2]), "lr": 0.1,
            "nested": [ember.ones(3, dtype=ember.float64)]}
    c = p.cast_to_compute(tree)
    assert c["w"].dtype == ember.bfloat16 and c["idx"].dtype == ember.int64 and c["lr"] == 0.1
    assert c["nested"][0].dtype == ember.bfloat16
    assert p.cast_to_output(c)["w"].dtype == ember.float16
    assert p.cast_to_param(c)["w"].dtype == ember.float32
    assert p.with_output_dtype(ember.float32).output_dtype == ember.float32
    with pytest.raises(TypeError, match="Policy: compute_dtype must be a floating dtype"):
        Policy(ember.float32, ember.int8, ember.float32)


@pytest.mark.parametrize("spec", ["params=float32,compute=bfloat16,output=float32",
                                  "p=f32,c=f16,o=f32", "half", "float32", "c=bf16",
                                  "params=float32,compute=float16,output=float16", "p=f16", "o=bf16",
                                  "c=bf16,o=f32"])
def test_get_policy_parses_like_jmp(spec):
    jmp = pytest.importorskip("jmp")
    want = jmp.get_policy(spec)
    got = get_policy(spec)
    for field in ("param_dtype", "compute_dtype", "output_dtype"):
        assert getattr(got, field).name == np.dtype(getattr(want, field)).name


def test_get_policy_bad_input():
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        get_policy("params=float32,compute=int8")
    with pytest.raises(ValueError, match="unknown key 'x'"):
        get_policy("x=f32")


def test_dynamic_loss_scale_adjust_matches_jmp_and_torch_scaler():
    jmp = pytest.importorskip("jmp")
    import jax.numpy as jnp
    torch = pytest.importorskip("torch")
    finite = [True, True, False, True, True, True, True, True, False, False, True, True,
              True, True, True]
    e = DynamicLossScale(ember.tensor(2.0 ** 4), period=4)
    j = jmp.DynamicLossScale(jnp.float32(2.0 ** 4), period=4)
    adjust = ember.jit(lambda s, f: s.adjust(f))
    es, js = [], []
    for f in finite:
        e = adjust(e, ember.tensor(f))
        j = j.adjust(jnp.asarray(f))
        es.append((e.loss_scale.item(), e.counter.item()))
        js.append((float(j.loss_scale), int(j.counter)))
    assert es == js
    # and the same sequence as torch.amp.GradScaler (backoff 1/factor, interval = period)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.0)
    ts = torch.amp.GradScaler("cpu", init_scale=2.0 ** 4, growth_interval=4)
    tseq = []
    for f in finite:
        opt.zero_grad()
        ts.scale((p * (1.0 if f else float("inf"))).sum()).backward()
        ts.step(opt)
        ts.update()
        tseq.append(ts.get_scale())
    assert [s for s, _ in es] == tseq


def test_min_loss_scale_and_pytree_roundtrip():
    s = DynamicLossScale(ember.tensor(2.0), period=3, min_loss_scale=1.0)
    for _ in range(3):
        s = s.adjust(ember.tensor(False))
    assert s.loss_scale.item() == 1.0
    leaves, td = ember.tree.tree_flatten(s)
    assert len(leaves) == 2
    back = ember.tree.tree_unflatten(td, leaves)
    assert isinstance(back, DynamicLossScale) and back.period == 3
    with pytest.raises(TypeError, match="grads_finite must be a bool scalar"):
        s.adjust(ember.tensor(1.0))


def test_static_noop_and_all_finite():
    st = StaticLossScale(8.0)
    tree = {"a": ember.tensor([1.0, 2.0]), "i": ember.tensor([3])}
    scaled = st.scale(tree)
    np.testing.assert_array_equal(scaled["a"].numpy(), [8.0, 16.0])
    assert scaled["i"].numpy().tolist() == [3]
    np.testing.assert_array_equal(st.unscale(scaled)["a"].numpy(), [1.0, 2.0])
    assert NoOpLossScale().scale(tree) is tree
    assert all_finite(tree).item() is True
    assert all_finite({"a": ember.tensor([1.0, float("nan")])}).item() is False
    assert all_finite([ember.ones(2, dtype=ember.bfloat16),
                       ember.tensor([float("-inf")])]).item() is False
    assert ember.jit(all_finite)(tree).item() is True
    a, b = select_tree(ember.tensor(True), (ember.ones(2), 1.0 * ember.ones(1)),
                       (ember.zeros(2), ember.zeros(1)))
    assert a.numpy().tolist() == [1.0, 1.0]


def _init(seed=0):
    rng = np.random.default_rng(seed)
    return {"w1": ember.tensor(rng.standard_normal((8, 16)).astype(np.float32) * 0.3),
            "w2": ember.tensor(rng.standard_normal((16, 1)).astype(np.float32) * 0.3)}


def test_jitted_mixed_precision_step_with_dynamic_loss_scale():
    policy = get_policy("params=float32,compute=float16,output=float32")
    opt = ember.optim.functional.sgd(0.05)
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = ember.tensor(rng.standard_normal((32, 1)).astype(np.float32))

    def step(params, opt_state, loss_scale, x, y):
        def loss_fn(p):
            pc, xc = policy.cast_to_compute(p), policy.cast_to_compute(x)
            out = (xc @ pc["w1"]).tanh() @ pc["w2"]
            loss = F.mse_loss(policy.cast_to_output(out), y)
            return loss_scale.scale(loss), loss
        grads, loss = ember.grad(loss_fn, has_aux=True)(params)
        grads = loss_scale.unscale(policy.cast_to_param(grads))
        finite = all_finite(grads)
        new_scale = loss_scale.adjust(finite)
        updates, new_state = opt.update(grads, opt_state, params)
        new_params = ember.optim.functional.apply_updates(params, updates)
        params, opt_state = select_tree(finite, (new_params, new_state), (params, opt_state))
        return params, opt_state, new_scale, loss

    def run(fn, n=12):
        params = _init()
        state = opt.init(params)
        ls = DynamicLossScale(ember.tensor(2.0 ** 17), period=3)  # 2**17: overflows float16
        out = []
        for _ in range(n):
            params, state, ls, loss = fn(params, state, ls, x, y)
            out.append((loss.item(), ls.loss_scale.item()))
        return params, out

    pj, seq_j = run(ember.jit(step))
    pe, seq_e = run(step)
    assert seq_j == seq_e
    for k in pj:
        np.testing.assert_array_equal(pj[k].numpy(), pe[k].numpy())
        assert pj[k].dtype == ember.float32
    scales = [s for _, s in seq_j]
    assert scales[0] < 2.0 ** 17  # the first steps overflowed and were skipped
    losses = [v for v, _ in seq_j]
    assert losses[-1] < losses[0]
