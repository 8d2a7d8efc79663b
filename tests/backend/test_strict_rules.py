"""The rule matrix on the strict device: every case of tests/ops/test_rules.py (which together
bind every primitive) runs forward, VJP (backward), JVP, vmap and jit with all its tensors on
``device="strict"``, and gives the CPU backend's bits. A rule or impl that reaches past its
inputs' namespace (a module-level ``np.`` call making a plain NumPy array) fails here with a
DeviceMixError instead of silently computing on the CPU."""
import numpy as np
import pytest

import ember
from ember.transforms import jvp, vmap
from tests.ops.test_rules import CASES, _inputs

rng = np.random.default_rng(11)


def _host(x):
    return x.detach().cpu().numpy() if isinstance(x, ember.Tensor) else np.asarray(x)


def _run(fn, arrays, weight, tangents, device):
    with ember.device(device):  # constants a case creates (ember.eye, ...) go there too
        return _run_on(fn, arrays, weight, tangents, device)


def _run_on(fn, arrays, weight, tangents, device):
    f = lambda *ts: fn(ember, *ts)  # noqa: E731
    on = lambda a: ember.tensor(a, device=device)  # noqa: E731
    results = {}
    ts = [ember.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = f(*ts)
    assert out.device.type == device, f"forward left the {device} device: {out.device}"
    results["forward"] = _host(out)
    (out * on(weight)).sum().backward()
    for i, t in enumerate(ts):
        assert t.grad.device.type == device
        results[f"grad{i}"] = _host(t.grad)
    _, tangent_out = jvp(f, tuple(map(on, arrays)), tuple(map(on, tangents)))
    results["jvp"] = _host(tangent_out)
    batched = [np.stack([a, a * 0.5 + 0.25]) if pos_ok(a) else np.stack([a, a]) for a in arrays]
    results["vmap"] = _host(vmap(f)(*map(on, batched)))
    jf = ember.jit(f)
    for k in range(2):  # compile, then the cached plan
        results[f"jit{k}"] = _host(jf(*map(on, arrays)))
    g = ember.grad(lambda *t: (f(*t) * f(*t)).sum())
    results["jit_grad"] = _host(ember.jit(g)(*map(on, arrays)))
    return results


def pos_ok(a):  # keep positive-domain inputs positive when making a second batch member
    return bool((a > 0).all())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_matrix_on_strict_device_gives_cpu_bits(case):
    _, fn, shapes, pos = case
    arrays = _inputs(shapes, pos)
    f = fn(ember, *map(ember.tensor, arrays))
    weight = rng.standard_normal(tuple(f.shape))
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    cpu = _run(fn, arrays, weight, tangents, "cpu")
    strict = _run(fn, arrays, weight, tangents, "strict")
    assert cpu.keys() == strict.keys()
    for k in cpu:
        np.testing.assert_array_equal(strict[k], cpu[k], err_msg=k)


def test_random_control_flow_and_custom_rules_on_strict_device():
    """The primitives that tests/ops/test_rules.py binds outside CASES."""
    def run(device):
        on = lambda a: ember.tensor(a, device=device)  # noqa: E731
        x = on(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
        out = [ember.cond(ember.tensor(True, device=device), lambda a: a * 2, lambda a: a, x),
               ember.scan(lambda c, z: (c + z, c), x[0], x)[1],
               ember.while_loop(lambda c: c.sum() < 10, lambda c: c * 2, x.abs() + 1)]
        cv = ember.custom_vjp(lambda a: a * 2)
        cv.defvjp(lambda a: (a * 2, None), lambda r, g: (g * 2,))
        w = x.clone().requires_grad_()
        ember.checkpoint(lambda a: a.sin())(cv(w)).sum().backward()
        out.append(w.grad)
        w = x.clone().requires_grad_()
        ember.jit(lambda a: (a * a).sum())(w).backward()
        out.append(w.grad)
        for o in out:
            assert o.device.type == device
        return [_host(o) for o in out]
    with ember.device("strict"):
        strict = run("strict")
    for a, b in zip(run("cpu"), strict):
        np.testing.assert_array_equal(b, a)
