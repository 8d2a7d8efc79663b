"""ember.example_libraries.optimizers against jax.example_libraries.optimizers: the same
trajectories over 20 steps (eagerly and under jit), schedules, state packing, errors."""
import pickle

import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.example_libraries import optimizers as eo

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jo = pytest.importorskip("jax.example_libraries.optimizers")

OPTS = [
    ("sgd", (0.1,), {}),
    ("momentum", (0.05,), {"mass": 0.9}),
    ("nesterov", (0.05,), {"mass": 0.8}),
    ("adagrad", (0.3,), {}),
    ("rmsprop", (0.01,), {}),
    ("rmsprop_momentum", (0.01,), {}),
    ("adam", (0.05,), {}),
    ("adamax", (0.05,), {"b1": 0.8}),
    ("sm3", (0.2,), {}),
]


def _params(rs, dt=np.float32):
    return {"w": rs.randn(3, 4).astype(dt), "b": rs.randn(4).astype(dt),
            "s": dt(rs.randn()), "deep": [rs.randn(2, 3, 2).astype(dt)]}


def _loss(m):
    def loss(p, x):
        h = m.tanh(m.dot(x, p["w"]) + p["b"]) * p["s"]
        return (m.mean((h - 0.5) ** 2) + m.mean(m.sin(p["deep"][0]) ** 2)
                + 0.1 * (p["s"] - 1) ** 2 + 0.01 * m.sum(p["w"] ** 2))
    return loss


def _host(v):
    return np.asarray(v.numpy() if isinstance(v, ember.Tensor) else v)


def _run(lib, m, gradf, jitf, name, args, kwargs, steps, use_jit, dt=np.float32):
    rs = np.random.RandomState(0)
    params = _params(rs, dt)
    x = rs.randn(5, 3).astype(dt)
    init, update, get = getattr(lib, name)(*args, **kwargs)
    loss = _loss(m)

    def step(i, state):
        return update(i, gradf(loss)(get(state), x), state)
    if use_jit:
        step = jitf(step)
    state = init(params)
    traj = []
    for i in range(steps):
        state = step(i, state)
        traj.append({k: _host(v) for k, v in (("w", get(state)["w"]),
                                                ("s", get(state)["s"]))})
    return traj, get(state), state


@pytest.mark.parametrize("use_jit", [False, True])
@pytest.mark.parametrize("name,args,kwargs", OPTS, ids=[o[0] for o in OPTS])
def test_trajectory_matches_jax_float64(name, args, kwargs, use_jit, jax_x64):
    te, pe, _ = _run(eo, enp, ember.grad, ember.jit, name, args, kwargs, 20, use_jit,
                     np.float64)
    # JAX's sm3 keeps the parameter's shape in its state as leaves, so it cannot be jitted
    # there: ember's jitted sm3 is compared with JAX's eager one
    tj, pj, _ = _run(jo, jnp, jax.grad, jax.jit, name, args, kwargs, 20,
                     use_jit and name != "sm3", np.float64)
    for a, b in zip(te, tj):
        for k in a:
            assert a[k].dtype == np.float64
            np.testing.assert_allclose(a[k], b[k], rtol=1e-8, atol=1e-10)
    for a, b in zip(jax.tree_util.tree_leaves(pe), jax.tree_util.tree_leaves(pj)):
        np.testing.assert_allclose(_host(a), np.asarray(b), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name,args,kwargs", OPTS, ids=[o[0] for o in OPTS])
def test_trajectory_matches_jax_float32_jit(name, args, kwargs):
    te, pe, _ = _run(eo, enp, ember.grad, ember.jit, name, args, kwargs, 5, True)
    tj, pj, _ = _run(jo, jnp, jax.grad, jax.jit, name, args, kwargs, 5, name != "sm3")
    for a, b in zip(te, tj):
        for k in a:
            assert a[k].dtype == np.float32
            np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sched", [
    ("exponential_decay", (0.1, 5, 0.5)), ("inverse_time_decay", (0.1, 4, 0.7)),
    ("polynomial_decay", (0.1, 8, 0.01, 2.0)), ("piecewise_constant", ([3, 7], [0.1, 0.05, 0.02])),
])
def test_schedules_match_jax_eager_and_in_jitted_adam(sched):
    name, args = sched
    for i in range(12):
        kw = {"staircase": True} if name == "inverse_time_decay" else {}
        np.testing.assert_allclose(float(getattr(eo, name)(*args, **kw)(i)),
                                   float(getattr(jo, name)(*args, **kw)(i)), rtol=1e-6)
    te, _, _ = _run(eo, enp, ember.grad, ember.jit, "adam", (getattr(eo, name)(*args),), {},
                    12, True)
    tj, _, _ = _run(jo, jnp, jax.grad, jax.jit, "adam", (getattr(jo, name)(*args),), {}, 12,
                    True)
    for a, b in zip(te, tj):
        np.testing.assert_allclose(a["w"], b["w"], rtol=2e-4, atol=2e-5)


def test_state_is_a_pytree_with_jaxs_leaves():
    rs = np.random.RandomState(0)
    params = _params(rs)
    se = eo.adam(0.1)[0](params)
    sj = jo.adam(0.1)[0](params)
    le = ember.tree.tree_leaves(se)
    lj = jax.tree_util.tree_leaves(sj)
    assert [tuple(np.shape(a)) for a in le] == [tuple(np.shape(b)) for b in lj]
    assert se.tree_def == ember.tree.tree_structure(params)
    assert isinstance(se, eo.OptimizerState) and se._fields == sj._fields
    # tree_map over the state keeps it a state
    doubled = ember.tree.tree_map(lambda a: a * 2, se)
    assert isinstance(doubled, eo.OptimizerState)
    np.testing.assert_allclose(np.asarray(eo.adam(0.1)[2](doubled)["w"]), 2 * params["w"])


def test_pack_unpack_roundtrip_and_pickle():
    rs = np.random.RandomState(0)
    init, update, get = eo.momentum(0.1, 0.9)
    _, _, state = _run(eo, enp, ember.grad, ember.jit, "momentum", (0.1,), {"mass": 0.9}, 3,
                       False)
    marked = eo.unpack_optimizer_state(state)
    assert isinstance(marked["w"], eo.JoinPoint)
    back = eo.pack_optimizer_state(pickle.loads(pickle.dumps(marked)))
    assert back.tree_def == state.tree_def and back.subtree_defs == state.subtree_defs
    for a, b in zip(ember.tree.tree_leaves(back), ember.tree.tree_leaves(state)):
        np.testing.assert_array_equal(_host(a), _host(b))
    # the unpacked form has JAX's shape: a JoinPoint per parameter holding (x, velocity)
    jstate = jo.momentum(0.1, 0.9)[0](_params(np.random.RandomState(0)))
    jm = jo.unpack_optimizer_state(jstate)
    assert len(marked["w"].subtree) == len(jm["w"].subtree) == 2
    with pytest.raises(TypeError, match="JoinPoint"):
        eo.pack_optimizer_state({"w": np.ones(2)})


def test_mismatched_gradient_tree_is_a_clear_error():
    init, update, get = eo.sgd(0.1)
    state = init({"a": np.ones(2, np.float32), "b": np.ones(2, np.float32)})
    with pytest.raises(TypeError, match="does not match the parameter tree"):
        update(0, {"a": np.ones(2, np.float32)}, state)


def test_l2_norm_and_clip_grads_match_jax():
    g = _params(np.random.RandomState(3))
    np.testing.assert_allclose(float(eo.l2_norm(g)), float(jo.l2_norm(g)), rtol=1e-6)
    for max_norm in (0.5, 100.0):
        ce, cj = eo.clip_grads(g, max_norm), jo.clip_grads(g, max_norm)
        for a, b in zip(ember.tree.tree_leaves(ce), jax.tree_util.tree_leaves(cj)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_custom_optimizer_via_decorator_and_bad_schedule():
    @eo.optimizer
    def signsgd(step_size):
        step_size = eo.make_schedule(step_size)
        return (lambda x: x), (lambda i, g, x: x - step_size(i) * enp.sign(g)), (lambda x: x)
    init, update, get = signsgd(0.5)
    out = get(update(0, [np.array([2., -3.], np.float32)], init([np.zeros(2, np.float32)])))
    np.testing.assert_allclose(np.asarray(out[0]), [-0.5, 0.5])
    with pytest.raises(TypeError, match="step_size"):
        eo.make_schedule("fast")
    with pytest.raises(ValueError, match="one more value"):
        eo.piecewise_constant([1, 2], [0.1, 0.2])
