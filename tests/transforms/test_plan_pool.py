"""jit plans write large ufunc and product results into pooled blocks (backend/pool.py),
reused across calls once every array over them has died: results returned to the caller,
donated, or computed under grad/vmap and in threads stay intact, with eager's bits and
layout."""
import threading

import numpy as np
import pytest

import ember
from ember.backend import pool

N = 192  # 192 x 192 float32 = 144 KiB: pooled


@pytest.fixture(autouse=True)
def _pool_on(monkeypatch):
    # on whatever ran before in this process (keep_freed_memory, e.g. an in-process
    # `ember train`, narrows the pool to huge arrays)
    monkeypatch.setattr(pool.config, "enabled", True)
    monkeypatch.setattr(pool.config, "cache_first", False)
    monkeypatch.setattr(pool, "MIN_BYTES", 1 << 16)


def _x(seed, shape=(N, N)):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _f(x, w):
    h = ember.relu(x @ w + 1.0)  # a product and ufuncs, all large
    return h * 2.0, (h * h).sum(), x @ w


def test_a_plan_takes_its_large_results_from_the_pool():
    f = ember.jit(_f)
    x, w = _x(0), _x(1)
    f(x, w)
    used = list(f.lower(x, w).plan.__globals__.values())
    assert any(v is pool.out_like for v in used) and any(v is pool._handout for v in used)
    before = pool.stats()["hits"]
    f(x, w)
    f(x, w)
    assert pool.stats()["hits"] > before


def test_results_of_two_calls_stay_intact():
    f = ember.jit(_f)
    (x1, w1), (x2, w2) = (_x(0), _x(1)), (_x(2), _x(3))
    r1 = f(x1, w1)
    keep1 = [r.numpy().copy() for r in r1]
    r2 = f(x2, w2)
    r3 = f(x1, w1)
    for a, b in zip(r1, keep1):  # the first call's results were not reused by later calls
        np.testing.assert_array_equal(a.numpy(), b)
    for a, b in zip(r3, keep1):
        np.testing.assert_array_equal(a.numpy(), b)
    want = _f(x2, w2)
    for a, b in zip(r2, want):  # and eager's bits
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not any(np.shares_memory(a.numpy(), b.numpy()) for a in r1 for b in r2)


def test_a_view_of_a_result_keeps_its_block():
    f = ember.jit(lambda x: (x * 3.0)[1:].T)
    v1 = f(_x(0))
    keep = v1.numpy().copy()
    for s in range(1, 4):
        f(_x(s))
    np.testing.assert_array_equal(v1.numpy(), keep)


def test_donated_loop_with_pooled_temporaries():
    def step(p, g):
        t = ember.tanh(p @ g)  # pooled temporaries feeding an in-place update
        return p - 0.01 * (t + p), (t * t).sum()
    f = ember.jit(step, donate_argnums=(0,))
    p0, g = _x(0), _x(1) * 0.05
    p, q = p0.clone(), p0.clone()
    losses = []
    for _ in range(4):
        p, l = f(p, g)
        losses.append(l)
        q, _ = step(q, g)
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert len({float(x) for x in losses}) == 4  # each call's scalar kept its own value


def test_under_grad_and_vmap_of_a_jitted_function():
    f = ember.jit(lambda x, w: (ember.relu(x @ w) * 2.0).sum())
    x, w = _x(0), _x(1)
    g1 = ember.grad(f, argnums=1)(x, w)
    g2 = ember.grad(f, argnums=1)(_x(2), w)
    g1b = ember.grad(f, argnums=1)(x, w)
    np.testing.assert_array_equal(g1.numpy(), g1b.numpy())
    assert not np.array_equal(g1.numpy(), g2.numpy())
    h = ember.jit(lambda x: ember.tanh(x * 2.0) + x)
    xs = _x(3, (4, 96, 96))
    got = ember.vmap(h)(xs)
    np.testing.assert_allclose(got.numpy(), (ember.tanh(xs * 2.0) + xs).numpy(), rtol=1e-6)


def test_threads_calling_one_jitted_function():
    f = ember.jit(_f)
    w = _x(9)
    xs = [_x(s) for s in range(6)]
    want = [[r.numpy() for r in _f(x, w)] for x in xs]
    got = [None] * len(xs)
    errors = []

    def run(k):
        try:
            for _ in range(5):
                got[k] = [r.numpy() for r in f(xs[k], w)]
        except Exception as e:  # pragma: no cover (reported below)
            errors.append(e)
    ts = [threading.Thread(target=run, args=(k,)) for k in range(len(xs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    for a, b in zip(got, want):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


def test_channel_major_results_keep_eagers_layout_and_bits():
    # a convolution's output is channel-major in memory: the bias add and relu after it
    # write in that order (pooled, or in place), as eagerly
    x = _x(0, (8, 3, 20, 20))
    w, b = _x(1, (16, 3, 3, 3)), _x(2, (16,))

    def f(x, w, b):
        y = ember.relu(ember.nn.functional.conv2d(x, w, b, padding=1))
        return y, y.sum(dim=(0, 2, 3))
    got, want = ember.jit(f)(x, w, b), f(x, w, b)
    for a, c in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert got[0].numpy().strides == want[0].numpy().strides


def test_pool_off_gives_the_same_bits(monkeypatch):
    x, w = _x(0), _x(1)
    on = [r.numpy() for r in ember.jit(_f)(x, w)]
    monkeypatch.setattr(pool.config, "enabled", False)
    g = ember.jit(_f)
    g.clear_cache()  # (the same jit(_f) as above: compile it again with the pool off)
    off = [r.numpy() for r in g(x, w)]
    assert not any(v is pool._handout for v in g.lower(x, w).plan.__globals__.values())
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dt", [np.float64, np.int32])
def test_other_dtypes(dt):
    a = ember.tensor(np.arange(N * N).reshape(N, N).astype(dt))
    f = ember.jit(lambda a: (a * 3 + a, a // 2 if dt == np.int32 else a / 2))
    for r, e in zip(f(a), (a * 3 + a, a // 2 if dt == np.int32 else a / 2)):
        assert r.dtype == e.dtype
        np.testing.assert_array_equal(r.numpy(), e.numpy())
