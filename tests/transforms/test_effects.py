"""jit keeps PyTorch's stateful semantics: random draws (dropout, ember.rand ...) differ per
call and reproduce per seed, module modes retrace, BatchNorm's running statistics update."""
import copy
import logging

import numpy as np
import pytest

import ember
import ember.nn as nn


def _np(t):
    return t.detach().numpy().copy()


def test_jitted_dropout_draws_a_new_mask_each_call_and_reproduces_per_seed():
    d = nn.Dropout(0.5)
    f = ember.jit(lambda x: d(x))
    x = ember.ones(64)
    ember.manual_seed(0)
    a, b = _np(f(x)), _np(f(x))
    assert not np.array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}
    ember.manual_seed(0)
    np.testing.assert_array_equal(_np(f(x)), a)
    np.testing.assert_array_equal(_np(f(x)), b)
    assert f.trace_count == 1


def test_jitted_dropout_rate_is_p():
    d = nn.Dropout(0.3)
    f = ember.jit(lambda x: d(x))
    ember.manual_seed(1)
    out = _np(f(ember.ones(20000)))
    assert abs((out == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)


def _random_fn(x):
    return (x + ember.rand(4) + ember.randn(4) + ember.normal(0.0, 2.0, (4,)) +
            ember.randint(0, 10, (4,)).float() + ember.randperm(4).float())


@pytest.mark.parametrize("mode", ["debug", "disable_jit"])
def test_eager_run_of_a_jitted_function_draws_the_same_numbers(mode):
    x = ember.zeros(4)
    f = ember.jit(_random_fn)
    ember.manual_seed(3)
    want = [_np(f(x)) for _ in range(2)]
    ember.manual_seed(3)
    if mode == "debug":
        g = ember.jit(_random_fn, debug=True)
        got = [_np(g(x)) for _ in range(2)]
    else:
        with ember.disable_jit():
            got = [_np(f(x)) for _ in range(2)]
    for w, g_ in zip(want, got):
        np.testing.assert_array_equal(w, g_)
    assert not np.array_equal(want[0], want[1])


def test_randperm_inside_jit_is_a_permutation():
    f = ember.jit(lambda x: x + ember.randperm(10))
    perms = [np.sort(_np(f(ember.zeros(10, dtype=ember.int64)))) for _ in range(3)]
    for p in perms:
        np.testing.assert_array_equal(p, np.arange(10))


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.4),
                         nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def test_backward_through_a_jitted_model_with_dropout_and_batchnorm_matches_its_eager_run():
    m1 = _model()
    m2 = copy.deepcopy(m1)
    f, g = ember.jit(m1), ember.jit(m2, debug=True)
    x = ember.randn(32, 6)
    for step in range(3):
        ember.manual_seed(10 + step)
        y1 = f(x)
        ember.manual_seed(10 + step)
        y2 = g(x)
        np.testing.assert_array_equal(_np(y1), _np(y2))
        (y1 ** 2).mean().backward()
        (y2 ** 2).mean().backward()
        for (k, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
            np.testing.assert_allclose(_np(p1.grad), _np(p2.grad), rtol=1e-5, atol=1e-6,
                                       err_msg=k)
        for (k, b1), b2 in zip(m1.named_buffers(), m2.buffers()):
            np.testing.assert_allclose(_np(b1), _np(b2), rtol=1e-6, atol=1e-7, err_msg=k)
    assert int(m1[1].num_batches_tracked) == 3
    assert f.trace_count == 1
    for b in m1.buffers():  # state, not part of the graph (PyTorch updates them under no_grad)
        assert b.grad_fn is None and not b.requires_grad


def test_batchnorm_running_stats_update_under_jit_without_grad():
    m1 = _model()
    m2 = copy.deepcopy(m1)
    m1[3].p = m2[3].p = 0.0  # no dropout: compare with plain eager calls
    f = ember.jit(m1)
    with ember.no_grad():
        for i in range(4):
            x = ember.randn(16, 6)
            np.testing.assert_allclose(_np(f(x)), _np(m2(x)), rtol=1e-5, atol=1e-6)
    for (k, b1), b2 in zip(m1.named_buffers(), m2.buffers()):
        np.testing.assert_allclose(_np(b1), _np(b2), rtol=1e-6, atol=1e-7, err_msg=k)
    assert int(m1[5].num_batches_tracked) == 4


def test_eval_retraces_says_why_and_reads_the_current_running_stats(caplog):
    m1 = _model()
    m2 = copy.deepcopy(m1)
    m1[3].p = m2[3].p = 0.0  # the same batch statistics in both
    f = ember.jit(m1)
    x = ember.randn(16, 6)
    m1.eval(), m2.eval()
    np.testing.assert_allclose(_np(f(x)), _np(m2(x)), rtol=1e-5, atol=1e-6)
    m1.train(), m2.train()
    prev = ember.config.explain_retraces
    ember.config.explain_retraces = True
    try:
        with caplog.at_level(logging.WARNING, logger="ember.jit"):
            f(x)  # a train-mode trace: updates m1's running stats
    finally:
        ember.config.explain_retraces = prev
    assert f.trace_count == 2
    assert "BatchNorm1d.training: False -> True" in caplog.text
    with ember.no_grad():
        m2(x)
    m1.eval(), m2.eval()
    # the eval plan is reused, and reads the buffers as they are now (not folded at trace)
    np.testing.assert_allclose(_np(f(x)), _np(m2(x)), rtol=1e-5, atol=1e-6)
    assert f.trace_count == 2
    state = {k: v * 0 + 1 for k, v in m1.state_dict().items() if "running" in k}
    m1.load_state_dict({**m1.state_dict(), **state})
    m2.load_state_dict({**m2.state_dict(), **state})
    np.testing.assert_allclose(_np(f(x)), _np(m2(x)), rtol=1e-5, atol=1e-6)


def test_nested_jit_updates_buffers_and_threads_keys():
    m1 = _model()
    m2 = copy.deepcopy(m1)
    inner = ember.jit(m1)
    outer = ember.jit(lambda x: inner(x) * 2)
    ref = ember.jit(lambda x: ember.jit(m2)(x) * 2, debug=True)
    x = ember.randn(8, 6)
    for s in range(2):
        ember.manual_seed(s)
        a = outer(x)
        ember.manual_seed(s)
        b = ref(x)
        np.testing.assert_array_equal(_np(a), _np(b))
    for (k, b1), b2 in zip(m1.named_buffers(), m2.buffers()):
        np.testing.assert_allclose(_np(b1), _np(b2), rtol=1e-6, atol=1e-7, err_msg=k)
    ember.manual_seed(5)
    a = outer(x)
    ember.manual_seed(5)
    with ember.disable_jit():  # both levels eager: still the same draws
        np.testing.assert_array_equal(_np(outer(x)), _np(a))


def test_jit_of_grad_with_dropout_matches_its_eager_run():
    d = nn.Dropout(0.5)
    x = ember.randn(10)

    def loss(w):
        return (d(x * w) ** 2).sum()
    f = ember.jit(ember.grad(loss))
    g = ember.jit(ember.grad(loss), debug=True)
    w = ember.ones(10)
    ember.manual_seed(7)
    a, a2 = _np(f(w)), _np(f(w))
    ember.manual_seed(7)
    np.testing.assert_array_equal(_np(g(w)), a)
    np.testing.assert_array_equal(_np(g(w)), a2)
    assert not np.array_equal(a, a2)
    assert (a == 0).any() and (a != 0).any()  # dropped and kept elements


def test_stateful_random_under_vmap_is_a_clear_error():
    d = nn.Dropout(0.5)
    with pytest.raises(ValueError, match=r"dropout: .*vmap.*explicit keys"):
        ember.vmap(lambda x: d(x))(ember.ones(3, 4))
    with pytest.raises(ValueError, match=r"randn: .*vmap"):
        ember.vmap(lambda x: x + ember.randn(4))(ember.ones(3, 4))
    with pytest.raises(ValueError, match=r"jit\(<lambda>\) \(dropout inside\): .*vmap"):
        ember.vmap(ember.jit(lambda x: d(x)))(ember.ones(3, 4))


def test_linearize_of_a_stateful_draw_names_the_problem():
    d = nn.Dropout(0.5)
    with pytest.raises(ValueError, match=r"linearize.*stateful random generator"):
        ember.linearize(lambda x: d(x), ember.ones(4))


def test_eager_dropout_and_grad_still_draw_from_numpy():
    d = nn.Dropout(0.5)
    ember.manual_seed(0)
    a = _np(d(ember.ones(32)))
    ember.manual_seed(0)
    np.testing.assert_array_equal(_np(d(ember.ones(32))), a)
    gw = ember.grad(lambda w: d(w).sum())(ember.ones(32))
    assert set(np.unique(_np(gw))) <= {0.0, 2.0}


def test_scan_and_fori_loop_bodies_draw_per_iteration_under_transforms():
    def f(x):
        return ember.scan(lambda c, _: (c, ember.rand(3)), x, None, length=3)[1]

    def g(x):
        return ember.fori_loop(0, 4, lambda i, c: c * 0.5 + ember.randn(2), x)
    for fn, arg in ((f, ember.zeros(1)), (g, ember.zeros(2))):
        ember.manual_seed(0)
        a = _np(ember.jit(fn)(arg))
        ember.manual_seed(0)
        np.testing.assert_array_equal(_np(ember.jit(fn, debug=True)(arg)), a)
        ember.manual_seed(0)
        with ember.disable_jit():
            np.testing.assert_array_equal(_np(ember.jit(fn)(arg)), a)
    out = _np(ember.jit(f)(ember.zeros(1)))
    assert len({row.tobytes() for row in out}) == 3  # a new draw every iteration
    rev = ember.jit(lambda x: ember.scan(lambda c, _: (c, ember.rand(2)), x, None, length=4,
                                         reverse=True)[1])
    ember.manual_seed(2)
    r = _np(rev(ember.zeros(1)))
    ember.manual_seed(2)
    with ember.disable_jit():
        np.testing.assert_array_equal(_np(rev(ember.zeros(1))), r)
    # grad through a scan whose body uses dropout: the mask differs per step
    d = nn.Dropout(0.5)

    def h(w):
        return ember.scan(lambda c, x: (c, d(x * w)), ember.zeros(()), ember.ones(5, 8))[1]
    ember.manual_seed(3)
    gw = _np(ember.grad(lambda w: h(w).sum())(ember.ones(8)))  # sum of 5 masks (each 0 or 2)
    assert set(gw) <= {0.0, 2.0, 4.0, 6.0, 8.0, 10.0} and set(gw) - {0.0, 10.0}
    ember.manual_seed(3)
    per_step = _np(ember.jit(h)(ember.ones(8)))
    assert len({row.tobytes() for row in per_step}) > 1
    batched = _np(ember.vmap(f, randomness="different")(ember.zeros(2, 1)))
    assert not np.array_equal(batched[0], batched[1])


def test_stateful_draw_in_a_staged_while_body_is_an_error_not_a_repeated_draw():
    def w(x):
        return ember.while_loop(lambda c: c.sum() < 3, lambda c: c + ember.rand(1), x)
    assert float(w(ember.zeros(1))) >= 3  # eagerly the body runs per iteration
    with pytest.raises(ValueError, match=r"rand: .*while_loop body.*scan or fori_loop"):
        ember.jit(w)(ember.zeros(1))

    def keyed(x, key):  # explicit keys in the carry work anywhere
        def body(c, _):
            k, sub = ember.random.split(c)
            return k, ember.random.uniform(sub, (3,))
        return ember.scan(body, key, None, length=3)[1]
    out = _np(ember.jit(keyed)(ember.zeros(1), ember.random.key(0)))
    assert not np.array_equal(out[0], out[1])


def test_vmap_randomness_same_and_different():
    d = nn.Dropout(0.5)
    x = ember.ones(4, 16)
    with pytest.raises(ValueError, match="randomness must be"):
        ember.vmap(lambda r: d(r), randomness="sometimes")
    same = _np(ember.vmap(lambda r: d(r), randomness="same")(x))
    assert all(np.array_equal(same[i], same[0]) for i in range(4))
    ember.manual_seed(4)
    diff = _np(ember.vmap(lambda r: d(r), randomness="different")(x))
    assert len({diff[i].tobytes() for i in range(4)}) == 4
    ember.manual_seed(4)  # reproducible
    np.testing.assert_array_equal(_np(ember.vmap(lambda r: d(r), randomness="different")(x)),
                                  diff)
    f = ember.vmap(lambda r: d(r), randomness="different")
    ember.manual_seed(5)
    a = _np(ember.jit(f)(x))
    ember.manual_seed(5)
    np.testing.assert_array_equal(_np(ember.jit(f, debug=True)(x)), a)
    assert len({a[i].tobytes() for i in range(4)}) == 4
    b = _np(ember.vmap(ember.jit(lambda r: d(r)), randomness="different")(x))
    assert len({b[i].tobytes() for i in range(4)}) == 4
    nested = _np(ember.vmap(ember.vmap(lambda r: ember.rand(3) + r, randomness="different"),
                            randomness="different")(ember.zeros(2, 3, 1)))
    assert len({nested[i, j].tobytes() for i in range(2) for j in range(3)}) == 6
    perms = _np(ember.vmap(lambda r: ember.randperm(5) + r, randomness="different")(
        ember.zeros(3, 5, dtype=ember.int64)))
    for p in perms:
        np.testing.assert_array_equal(np.sort(p), np.arange(5))


def test_per_example_gradients_with_dropout():
    d = nn.Dropout(0.5)
    x, w = ember.randn(4, 8), ember.ones(8)

    def loss(w, r):
        return (d(r * w) ** 2).sum()
    ember.manual_seed(6)
    g = _np(ember.vmap(ember.grad(loss), in_axes=(None, 0), randomness="different")(w, x))
    ember.manual_seed(6)
    masks = _np(ember.vmap(lambda r: d(r), randomness="different")(ember.ones(4, 8)))
    # d(r * w) = r * w * mask: the gradient is 2 (r * mask)^2 w, zero where dropped
    np.testing.assert_allclose(g, 2 * (_np(x) * masks) ** 2, rtol=1e-5)
