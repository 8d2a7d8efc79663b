"""Control flow (scan, cond, fori_loop, while_loop) under jit, grad, jvp and vmap runs on the
strict device (whose arrays refuse to mix with NumPy's) and gives the CPU's bits: the staged
bodies' plans hand no NumPy constant to a strict array."""
import numpy as np
import pytest

import ember


def _body(carry, xi):
    return ember.tanh(carry * xi) + 0.5, (carry ** 2).mean()


PROGRAMS = {
    "scan": lambda c, xs: ember.lax.scan(_body, c, xs),
    "jit_scan": lambda c, xs: ember.jit(lambda c, xs: ember.lax.scan(_body, c, xs))(c, xs),
    "jit_grad_scan": lambda c, xs: ember.jit(ember.grad(
        lambda c: ember.lax.scan(_body, c, xs)[1].sum()))(c),
    "vmap_scan": lambda c, xs: ember.vmap(lambda c: ember.lax.scan(_body, c, xs)[0])(
        ember.stack([c, c * 2.0, c - 1.0])),
    "grad_cond": lambda c, xs: ember.grad(lambda v: ember.lax.cond(
        v.sum() > 0, lambda v: (v * v).sum(), lambda v: v.sum(), v))(c),
    "jvp_fori": lambda c, xs: ember.jvp(lambda v: ember.lax.fori_loop(
        0, 3, lambda i, v: ember.sin(v) * 1.1, v), (c,), (xs[0],)),
    "vmap_while": lambda c, xs: ember.vmap(lambda v: ember.lax.while_loop(
        lambda v: v.sum() < 50, lambda v: v * 2, v))(ember.stack([c, c * 3.0])),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_control_flow_on_the_strict_device_gives_the_cpu_bits(name):
    c0 = np.linspace(0.5, 1.5, 4).astype(np.float32)
    xs0 = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    run = PROGRAMS[name]
    cpu = ember.tree_leaves(run(ember.tensor(c0), ember.tensor(xs0)))
    strict = ember.tree_leaves(run(ember.tensor(c0, device="cpu:strict"),
                                   ember.tensor(xs0, device="cpu:strict")))
    assert len(cpu) == len(strict)
    for a, b in zip(cpu, strict):
        assert b.device.type == "strict"
        np.testing.assert_array_equal(a.numpy(), b.to("cpu").numpy())
