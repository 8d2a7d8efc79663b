"""jax.sharding's device-level names on ember (one CPU device per process): device_count,
devices, make_mesh, NamedSharding, device_put with a sharding, .sharding, reshard, set_mesh,
and a data-parallel training step written for JAX's sharding APIs giving the unsharded
result."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember.sharding import AxisType, PartitionSpec as P, reshard


def test_one_device_per_process():
    assert ember.device_count() == ember.local_device_count() == 1
    assert ember.devices() == ember.local_devices() == [ember.device("cpu")]
    with pytest.raises(RuntimeError, match="'gpu' is not available"):
        ember.devices("gpu")


def test_make_mesh_uses_the_real_devices_and_says_when_there_are_too_few():
    mesh = ember.make_mesh((ember.device_count(),), ("batch",), axis_types=(AxisType.Explicit,))
    assert mesh.shape == {"batch": 1} and mesh.devices == ember.devices()
    assert mesh.axis_types == (AxisType.Explicit,)
    with pytest.raises(ValueError, match=r"need 4 devices, but this process has 1"):
        ember.make_mesh((4,), ("batch",))
    # a mesh of JAX's spelling over np.array(jax.devices())
    m2 = ember.sharding.Mesh(np.array(ember.devices()), ("x",))
    assert m2.size == 1


def test_device_put_with_a_sharding_keeps_values_and_reports_the_layout():
    mesh = ember.make_mesh((1,), ("batch",))
    data, repl = ember.NamedSharding(mesh, P("batch")), ember.NamedSharding(mesh, P())
    x = np.arange(12.).reshape(4, 3)
    y = ember.device_put(x, data)
    assert y.dtype == ember.float32  # JAX's canonicalization
    np.testing.assert_array_equal(y.numpy(), x.astype(np.float32))
    assert y.sharding == data and y.sharding.spec == P("batch")
    assert y.sharding.device_set == {ember.device("cpu")} and y.sharding.is_fully_replicated
    params = ember.device_put([(np.ones((2, 2)), np.zeros(2))], repl)
    assert params[0][0].sharding == repl and params[0][1].dtype == ember.float32
    z = y * 2  # a computed array: whole on its device
    assert z.sharding == ember.sharding.SingleDeviceSharding(ember.device("cpu"))
    t = ember.ones(3)
    assert ember.device_put(t, repl) is not t and t.sharding.num_devices == 1  # not mutated


def test_reshard_and_set_mesh():
    mesh = ember.make_mesh((1,), ("batch",))
    with pytest.raises(ValueError, match="needs a current mesh"):
        reshard(np.ones(2), P("batch"))
    with ember.set_mesh(mesh) as m:
        assert m is mesh and ember.sharding.get_mesh() is mesh
        r = reshard(np.ones((2, 3)), P("batch", None))
        assert r.sharding.mesh is mesh and tuple(r.sharding.spec) == ("batch", None)
    assert ember.sharding.get_mesh() is None


def test_layout_errors_name_the_problem():
    mesh = ember.make_mesh((1,), ("batch",))
    with pytest.raises(ValueError, match="names axis 'model'"):
        ember.NamedSharding(mesh, P("model"))
    with pytest.raises(ValueError, match="has 2 entries for an array of shape"):
        ember.device_put(np.ones(3), ember.NamedSharding(mesh, P("batch", None)))
    virtual = ember.sharding.make_mesh((4,), ("i",))  # shard_map's virtual members
    with pytest.raises(ValueError, match="virtual members"):
        ember.device_put(np.ones(4), ember.NamedSharding(virtual, P("i")))


def test_sharded_training_step_equals_the_unsharded_one():
    """JAX's spmd MNIST step, in miniature: the sharded program gives the unsharded result."""
    rs = np.random.RandomState(0)
    params = [(rs.randn(6, 5) * 0.1, rs.randn(5) * 0.1), (rs.randn(5, 3) * 0.1, rs.randn(3) * 0.1)]
    x, y = rs.rand(8, 6).astype(np.float32), np.eye(3, dtype=np.float32)[rs.randint(0, 3, 8)]

    def loss(p, batch):
        h = batch[0]
        for w, b in p[:-1]:
            h = jnp.tanh(jnp.dot(h, w) + b)
        logits = jnp.dot(h, p[-1][0]) + p[-1][1]
        logp = logits - ember.scipy.special.logsumexp(logits, axis=1, keepdims=True)
        return -jnp.mean(jnp.sum(logp * batch[1], axis=1))

    @ember.jit(donate_argnums=0)
    def step(p, batch):
        g = ember.grad(loss)(p, batch)
        return [(w - 0.1 * dw, b - 0.1 * db) for (w, b), (dw, db) in zip(p, g)]

    mesh = ember.make_mesh((ember.device_count(),), ("batch",), axis_types=(AxisType.Explicit,))
    data, repl = ember.NamedSharding(mesh, P("batch")), ember.NamedSharding(mesh, P())
    p_sh = ember.device_put(params, repl)
    with ember.set_mesh(mesh):
        for _ in range(3):
            p_sh = step(p_sh, (ember.device_put(x, data), ember.device_put(y, data)))
    p_plain = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
    for _ in range(3):
        p_plain = step(p_plain, (x, y))
    for a, b in zip(ember.tree_util.tree_leaves(p_sh), ember.tree_util.tree_leaves(p_plain)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
