"""ember.optax against Optax (same trajectories for the optimizers, schedules and losses), and
a jitted training step written in Optax's style."""
import numpy as np
import pytest

import ember
import ember.optax as E

rng = np.random.default_rng(0)
P = {"w": rng.standard_normal((3, 4)).astype(np.float32),
     "b": rng.standard_normal(4).astype(np.float32)}
G = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in P.items()}
     for _ in range(6)]

CASES = {
    "sgd": lambda L: L.sgd(0.1),
    "sgd_nesterov": lambda L: L.sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda L: L.adam(1e-2),
    "adam_nesterov": lambda L: L.adam(1e-2, nesterov=True),
    "adamw": lambda L: L.adamw(1e-2, weight_decay=0.1),
    "rmsprop_momentum": lambda L: L.rmsprop(1e-2, momentum=0.9),
    "clip_chain_warmup_cosine": lambda L: L.chain(
        L.clip_by_global_norm(0.5), L.clip(0.2),
        L.adam(L.warmup_cosine_decay_schedule(0.0, 0.1, 2, 6, 0.01))),
    "exponential_staircase": lambda L: L.sgd(L.exponential_decay(0.1, 2, 0.5, staircase=True)),
    "piecewise": lambda L: L.sgd(L.piecewise_constant_schedule(0.1, {2: 0.5, 4: 0.1})),
    "linear": lambda L: L.sgd(L.linear_schedule(0.1, 0.01, 4, 1)),
    "cosine": lambda L: L.sgd(L.cosine_decay_schedule(0.1, 4, alpha=0.1)),
}


def _run(lib, opt, conv):
    params = {k: conv(v) for k, v in P.items()}
    state = opt.init(params)
    for g in G:
        updates, state = opt.update({k: conv(v) for k, v in g.items()}, state, params)
        params = lib.apply_updates(params, updates)
    return {k: np.asarray(v) for k, v in params.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectories_match_optax(name):
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    a = _run(optax, CASES[name](optax), jnp.asarray)
    b = _run(E, CASES[name](E), ember.tensor)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=2e-6)


def test_losses_match_optax():
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    x = rng.standard_normal((5, 4)).astype(np.float32)
    lab = rng.integers(0, 4, 5)
    oh = np.eye(4, dtype=np.float32)[lab]
    for name, args in (("softmax_cross_entropy", (x, oh)),
                       ("softmax_cross_entropy_with_integer_labels", (x, lab)),
                       ("sigmoid_binary_cross_entropy", (x, oh)), ("l2_loss", (x, oh)),
                       ("squared_error", (x, oh))):
        want = np.asarray(getattr(optax, name)(*map(jnp.asarray, args)))
        got = getattr(E, name)(*map(ember.tensor, args)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)


def test_a_jitted_step_in_optax_style_learns():
    x = ember.tensor(rng.standard_normal((64, 3)).astype(np.float32))
    y = x @ ember.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    params = {"w": ember.zeros((3, 1)), "b": ember.zeros(1)}
    opt = E.chain(E.clip_by_global_norm(10.0), E.adam(E.exponential_decay(0.1, 50, 0.5)))
    state = opt.init(params)

    @ember.jit
    def step(params, state):
        loss, grads = ember.value_and_grad(
            lambda p: E.l2_loss(x @ p["w"] + p["b"], y).mean())(params)
        updates, state = opt.update(grads, state, params)
        return E.apply_updates(params, updates), state, loss
    for _ in range(300):
        params, state, loss = step(params, state)
    assert float(loss) < 1e-3
    assert int(state[1][0].count) == 300


def test_bad_use_is_named():
    with pytest.raises(ValueError, match="add_decayed_weights: needs params"):
        E.add_decayed_weights(0.1).update({"w": ember.ones(1)}, E.EmptyState())
    opt = E.chain(E.sgd(0.1))
    with pytest.raises(ValueError, match="chain: the state has 2 parts"):
        opt.update({"w": ember.ones(1)}, (None, None))
