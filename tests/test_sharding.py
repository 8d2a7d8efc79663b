"""ember.shard_map over a 1-D mesh against jax.shard_map on 4 CPU devices (a subprocess:
JAX fixes its device count when it starts); errors."""
import functools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import lax
from ember.sharding import Mesh, PartitionSpec as P, make_mesh

rng = np.random.default_rng(3)
X = rng.standard_normal((3, 8)).astype(np.float32)
W = rng.standard_normal((8, 2)).astype(np.float32)

# name -> (source of f over (L=lax), in_specs, out_specs); the same text runs on both
PROGRAMS = {
    "matmul_psum": ("lambda a, b: L.psum(a @ b, 'i')", "(P(None, 'i'), P('i', None))", "P()"),
    "blocks": ("lambda a, b: (a * 2, L.axis_index('i')[None])", "(P(None, 'i'), P())",
               "(P(None, 'i'), P('i'))"),
    "gather": ("lambda a, b: L.all_gather(a, 'i', axis=1, tiled=True)", "(P(None, 'i'), P())",
               "P()"),
    "scatter": ("lambda a, b: L.psum_scatter(b, 'i', tiled=True)", "(P(), P())", "P('i')"),
    "pmean_grad": ("lambda a, b: GRAD(lambda u: (u @ b[:2]).sum() / L.psum(1.0, 'i'))(a)",
                   "(P(None, 'i'), P())", "P(None, 'i')"),
}

JAX_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, jax
    from jax import lax as L
    from jax.sharding import PartitionSpec as P, Mesh
    GRAD = jax.grad
    d = np.load(sys.argv[1]); x, w = d["x"], d["w"]
    mesh = Mesh(np.array(jax.devices()), ("i",))
    out = {}
    for name, (src, ins, outs) in eval(sys.argv[2]).items():
        f = jax.shard_map(eval(src), mesh=mesh, in_specs=eval(ins), out_specs=eval(outs),
                          check_vma=False)  # P() outputs: every member holds the same
        r = f(x, w)
        for k, v in enumerate(r if isinstance(r, tuple) else (r,)):
            out[f"{name}_{k}"] = np.asarray(v)
    np.savez(sys.argv[3], **out)
""")


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory):
    pytest.importorskip("jax")
    d = tmp_path_factory.mktemp("shard_map")
    np.savez(d / "in.npz", x=X, w=W)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(d / "in.npz"), repr(PROGRAMS),
                        str(d / "out.npz")], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(np.load(d / "out.npz"))


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_shard_map_matches_jax(name, jax_results):
    src, ins, outs = PROGRAMS[name]
    mesh = make_mesh((4,), ("i",))
    env = {"L": lax, "P": P, "GRAD": ember.grad}
    f = ember.shard_map(eval(src, env), mesh=mesh, in_specs=eval(ins, env),
                        out_specs=eval(outs, env))
    r = f(ember.tensor(X), ember.tensor(W))
    for k, v in enumerate(r if isinstance(r, tuple) else (r,)):
        want = jax_results[f"{name}_{k}"]
        assert tuple(v.shape) == want.shape
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-5)


def test_shard_map_errors():
    mesh = Mesh(range(4), "i")
    with pytest.raises(ValueError, match="varies along the mapped axis"):
        ember.shard_map(lambda a: a * 2, mesh=mesh, in_specs=P("i"), out_specs=P())(
            ember.ones(8))
    with pytest.raises(ValueError, match=r"shape \(6,\) cannot be split into 4 equal blocks"):
        ember.shard_map(lambda a: a, mesh=mesh, in_specs=P("i"), out_specs=P("i"))(
            ember.ones(6))
    with pytest.raises(ValueError, match="names \\['j'\\]"):
        ember.shard_map(lambda a: a, mesh=mesh, in_specs=P("j"), out_specs=P("i"))(
            ember.ones(8))
    with pytest.raises(NotImplementedError, match="only 1-D meshes"):
        make_mesh((2, 2), ("i", "j"))
    with pytest.raises(TypeError, match="mesh must be an ember.sharding.Mesh"):
        ember.shard_map(lambda a: a, mesh=None, in_specs=P(), out_specs=P())


def test_shard_map_as_a_decorator():
    mesh = ember.sharding.make_mesh((2,), ("i",))
    P = ember.sharding.PartitionSpec

    @ember.shard_map(mesh=mesh, in_specs=P("i"), out_specs=P())
    def total(a):
        return ember.lax.psum(a.sum(0), "i")

    @functools.partial(ember.shard_map, mesh=mesh, in_specs=P("i"), out_specs=P("i"))
    def double(a):
        return a * 2
    x = ember.arange(8.).reshape(4, 2)
    assert total(x).tolist() == [12.0, 16.0]
    assert double(x).tolist() == (x * 2).tolist()
