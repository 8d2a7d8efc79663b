"""pmap in one process: JAX's pmap on N CPU devices (run in a subprocess, since JAX fixes its
device count when it starts), a data-parallel step with pmean gradients equal to the
full-batch step, and pmap under jit and grad."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import lax

N = 4
rng = np.random.default_rng(1)
X = rng.standard_normal((N, 3, 2)).astype(np.float32)
W = rng.standard_normal((2, 5)).astype(np.float32)

# name -> source of a function of (lax module, x) run under pmap(axis_name="i"), and its
# in_axes/static arguments; the same text runs on JAX and on ember
FUNCS = {
    "psum": "lambda L, x: L.psum(x, 'i')",
    "pmean_normalise": "lambda L, x: x / L.pmean(x * x, 'i')",
    "pmax_pmin": "lambda L, x: L.pmax(x, 'i') - L.pmin(x, 'i')",
    "all_gather": "lambda L, x: L.all_gather(x, 'i', axis=1)",
    "all_gather_tiled": "lambda L, x: L.all_gather(x, 'i', tiled=True)",
    "psum_scatter": "lambda L, x: L.psum_scatter(x.reshape(-1)[:4], 'i')",
    "psum_scatter_tiled": "lambda L, x: L.psum_scatter(x.reshape(-1)[:4], 'i', tiled=True)",
    "ppermute": "lambda L, x: L.ppermute(x, 'i', [(0, 1), (1, 2), (2, 3), (3, 0)])",
    "ppermute_partial": "lambda L, x: L.ppermute(x, 'i', [(0, 3), (3, 0)])",
    "axis_index": "lambda L, x: x * L.axis_index('i')",
    "grad_inside": "lambda L, x: GRAD(lambda v: (v / L.psum(v, 'i')).sum() ** 2)(x)",
}

JAX_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, jax
    from jax import lax
    GRAD = jax.grad
    x, w = np.load(sys.argv[1])["x"], np.load(sys.argv[1])["w"]
    funcs = eval(sys.argv[2])
    out = {}
    assert jax.device_count() == %d, jax.devices()
    for name, src in funcs.items():
        f = eval(src)
        out[name] = np.asarray(jax.pmap(lambda v, f=f: f(lax, v), axis_name="i")(x))
    out["static"] = np.asarray(jax.pmap(lambda v, k: v * k, static_broadcasted_argnums=1)(x, 3.0))
    out["in_axes"] = np.asarray(jax.pmap(lambda v, m: v @ m, axis_name="i",
                                         in_axes=(0, None))(x, w))
    out["out_axes_tree"] = np.asarray(jax.pmap(lambda v: {"s": lax.psum(v, "i")},
                                               axis_name="i")(x)["s"])
    out["grad_outside"] = np.asarray(jax.grad(lambda v: (jax.pmap(
        lambda u: u / lax.psum(u * u, "i"), axis_name="i")(v) ** 3).sum())(x))
    out["jit_of_pmap"] = np.asarray(jax.jit(jax.pmap(lambda v: lax.pmean(v, "i") * v,
                                                     axis_name="i"))(x))
    np.savez(sys.argv[3], **out)
""" % N)


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory):
    pytest.importorskip("jax")
    d = tmp_path_factory.mktemp("pmap")
    np.savez(d / "in.npz", x=X, w=W)
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={N}",
               JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(d / "in.npz"), repr(FUNCS),
                        str(d / "out.npz")], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(np.load(d / "out.npz"))


def _close(a, b, tol=1e-5):
    a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_collectives_under_pmap_match_jax_pmap(name, jax_results):
    f = eval(FUNCS[name], {"GRAD": ember.grad})
    out = ember.pmap(lambda v: f(lax, v), axis_name="i")(ember.tensor(X))
    assert isinstance(out, ember.Tensor)
    _close(out, jax_results[name])


def test_static_in_axes_trees_grad_and_jit_match_jax_pmap(jax_results):
    x, w = ember.tensor(X), ember.tensor(W)
    _close(ember.pmap(lambda v, k: v * k, static_broadcasted_argnums=1)(x, 3.0),
           jax_results["static"])
    _close(ember.pmap(lambda v, m: v @ m, axis_name="i", in_axes=(0, None))(x, w),
           jax_results["in_axes"])
    _close(ember.pmap(lambda v: {"s": lax.psum(v, "i")}, axis_name="i")(x)["s"],
           jax_results["out_axes_tree"])
    _close(ember.grad(lambda v: (ember.pmap(lambda u: u / lax.psum(u * u, "i"),
                                            axis_name="i")(v) ** 3).sum())(x),
           jax_results["grad_outside"])
    _close(ember.jit(ember.pmap(lambda v: lax.pmean(v, "i") * v, axis_name="i"))(x),
           jax_results["jit_of_pmap"])


def _mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = ember.tanh(x @ w1 + b1)
    return ((h @ w2 + b2 - y) ** 2).mean()


def test_data_parallel_step_with_pmean_gradients_equals_the_full_batch_step():
    r = np.random.default_rng(2)
    params = [ember.tensor(r.standard_normal(s).astype(np.float32) * 0.5)
              for s in [(6, 16), (16,), (16, 3), (3,)]]
    x = ember.tensor(r.standard_normal((32, 6)).astype(np.float32))
    y = ember.tensor(r.standard_normal((32, 3)).astype(np.float32))
    lr = 0.1

    def step(params, xs, ys):
        loss, grads = ember.value_and_grad(_mlp_loss)(params, xs, ys)
        grads = lax.pmean(grads, "batch")
        return [p - lr * g for p, g in zip(params, grads)], lax.pmean(loss, "batch")

    p_step = ember.pmap(step, axis_name="batch", in_axes=(None, 0, 0))
    new, loss = p_step(params, x.reshape(N, 8, 6), y.reshape(N, 8, 3))
    full_loss, full_grads = ember.value_and_grad(_mlp_loss)(params, x, y)
    for p, g, n in zip(params, full_grads, new):
        assert tuple(n.shape) == (N,) + tuple(p.shape)
        for k in range(N):  # every member holds the same updated parameters
            np.testing.assert_allclose(n[k].numpy(), (p - lr * g).numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(loss.numpy(), np.full(N, full_loss.item()), atol=1e-6)


def test_pmap_compiles_once_per_signature_and_static_value():
    traces = []

    def f(v, k):
        traces.append(k)
        return v * k
    pf = ember.pmap(f, static_broadcasted_argnums=(1,))
    for _ in range(3):
        pf(ember.ones(2, 3), 2.0)
    pf(ember.ones(2, 3), 5.0)
    assert traces == [2.0, 5.0]


def test_pmap_argument_errors():
    with pytest.raises(ValueError, match="2 devices given for a mapped axis of size 3"):
        ember.pmap(lambda v: v, devices=["cpu:0", "cpu:1"])(ember.ones(3, 2))
    with pytest.raises(ValueError, match="backend='gpu'"):
        ember.pmap(lambda v: v, backend="gpu")
    with pytest.raises(ValueError, match="inconsistent sizes"):
        ember.pmap(lambda a, b: a + b)(ember.ones(2), ember.ones(3))
    with pytest.raises(ValueError, match="in_axes has 1 entries for 2"):
        ember.pmap(lambda a, b: a + b, in_axes=(0,))(ember.ones(2), ember.ones(2))
    with pytest.raises(TypeError, match="keyword arguments"):
        ember.pmap(lambda a: a)(a=ember.ones(2))
    with pytest.raises(NameError, match="psum: unbound axis name 'j'.*'i'"):
        ember.pmap(lambda v: lax.psum(v, "j"), axis_name="i")(ember.ones(2))
