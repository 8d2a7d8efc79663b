"""Grad mode and the interpreter stack are per thread (as PyTorch's grad mode)."""
import threading

import numpy as np
import pytest

import ember
from ember.core import state


def _run_threads(targets):
    """Run each callable in its own thread; re-raise the first failure in the caller."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                errors.append(e)
        return run
    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a test thread hung"
    if errors:
        raise errors[0]


def test_no_grad_in_parallel_threads_leaves_grad_mode_on():
    barrier = threading.Barrier(4)
    seen = []

    def worker():
        barrier.wait()
        for _ in range(2000):
            with ember.no_grad():
                assert not ember.is_grad_enabled()
            assert ember.is_grad_enabled()
        seen.append(ember.is_grad_enabled())

    for _ in range(3):
        _run_threads([worker] * 4)
        assert ember.is_grad_enabled()
    assert seen == [True] * 12
    assert state.grad_off_threads[0] == 0


def test_a_new_thread_starts_with_grad_mode_on():
    seen = []
    with ember.no_grad():
        _run_threads([lambda: seen.append(ember.is_grad_enabled())])
        assert not ember.is_grad_enabled()
    assert seen == [True]
    assert ember.is_grad_enabled()


def test_set_grad_enabled_in_a_thread_does_not_leak():
    def worker():
        ember.set_grad_enabled(False)
        assert not ember.is_grad_enabled()
        ember.set_grad_enabled(True)
    _run_threads([worker])
    assert ember.is_grad_enabled()


def test_training_in_one_thread_while_another_is_under_no_grad():
    entered, trained = threading.Event(), threading.Event()
    grads = {}

    def inference():
        with ember.no_grad():
            entered.set()
            assert trained.wait(60)
            x = ember.ones(3, requires_grad=True)
            assert not (x * 2).requires_grad

    def training():
        assert entered.wait(60)
        try:
            w = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
            loss = (w * w).sum()
            assert loss.requires_grad
            loss.backward()
            grads["w"] = w.grad.numpy().copy()
        finally:
            trained.set()

    _run_threads([inference, training])
    np.testing.assert_array_equal(grads["w"], [2.0, 4.0, 6.0])


def test_grad_transform_in_one_thread_while_another_runs_eager_backward():
    inside, done = threading.Event(), threading.Event()
    results = {}

    def f(x):
        y = (x * x).sum()
        inside.set()  # the grad level is active in this thread now
        assert done.wait(60)
        return y

    def transform():
        results["grad"] = ember.grad(f)(ember.tensor([1.0, 2.0])).numpy()

    def eager():
        assert inside.wait(60)
        try:
            w = ember.tensor([3.0, 4.0], requires_grad=True)
            (w * w * w).sum().backward()
            results["eager"] = w.grad.numpy().copy()
            assert not ember.core.primitive.transforms_active()
        finally:
            done.set()

    _run_threads([transform, eager])
    np.testing.assert_allclose(results["grad"], [2.0, 4.0])
    np.testing.assert_allclose(results["eager"], [27.0, 48.0])


def test_jit_tracing_in_one_thread_while_another_runs_eager_backward():
    tracing, done = threading.Event(), threading.Event()
    results = {}

    @ember.jit
    def f(x):
        y = ember.tanh(x) * 2.0
        tracing.set()  # this thread is staging a graph now
        assert done.wait(60)
        return y.sum()

    def tracer():
        results["jit"] = f(ember.tensor([0.5, -0.5])).item()

    def eager():
        assert tracing.wait(60)
        try:
            w = ember.tensor([0.5, 1.5], requires_grad=True)
            loss = (ember.tanh(w) * w).sum()
            assert not isinstance(loss, ember.core.primitive.Tracer)
            loss.backward()
            results["eager"] = w.grad.numpy().copy()
        finally:
            done.set()

    _run_threads([tracer, eager])
    assert results["jit"] == pytest.approx(0.0, abs=1e-7)
    w = np.array([0.5, 1.5], np.float32)
    np.testing.assert_allclose(results["eager"], np.tanh(w) + w * (1 - np.tanh(w) ** 2),
                               rtol=1e-6)


def test_one_jitted_function_called_from_four_threads():
    @ember.jit
    def step(w, x):
        return ember.tanh(x @ w).sum(dim=0) * 0.5

    rng = np.random.default_rng(0)
    cases = [(rng.standard_normal((5, 3)).astype(np.float32),
              rng.standard_normal((n, 5)).astype(np.float32)) for n in (2, 3, 2, 4)]
    expected = [0.5 * np.tanh(x @ w).sum(0) for w, x in cases]
    barrier = threading.Barrier(4)
    bad = []

    def worker(i):
        def run():
            w, x = ember.tensor(cases[i][0]), ember.tensor(cases[i][1])
            barrier.wait()
            for _ in range(200):
                out = step(w, x).numpy()
                if not np.allclose(out, expected[i], rtol=1e-5, atol=1e-6):
                    bad.append((i, out))
        return run

    _run_threads([worker(i) for i in range(4)])
    assert not bad


def test_jitted_training_step_with_tape_from_four_threads():
    @ember.jit
    def loss_fn(w, x):
        return (ember.tanh(x @ w) ** 2).mean()

    rng = np.random.default_rng(1)
    data = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(4)]
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    barrier = threading.Barrier(4)
    grads = [None] * 4

    def worker(i):
        def run():
            barrier.wait()
            for _ in range(50):
                w = ember.tensor(w0, requires_grad=True)
                loss_fn(w, ember.tensor(data[i])).backward()
                grads[i] = w.grad.numpy().copy()
        return run

    _run_threads([worker(i) for i in range(4)])
    for i in range(4):
        w = ember.tensor(w0, requires_grad=True)
        x = ember.tensor(data[i])
        (ember.tanh(x @ w) ** 2).mean().backward()
        np.testing.assert_allclose(grads[i], w.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_vmap_in_one_thread_does_not_batch_another_threads_ops():
    inside, done = threading.Event(), threading.Event()
    results = {}

    def f(x):
        inside.set()
        assert done.wait(60)
        return x * 2

    def batched():
        results["vmap"] = ember.vmap(f)(ember.ones(3, 2)).numpy()

    def eager():
        assert inside.wait(60)
        try:
            results["eager"] = (ember.ones(2) + 1).numpy()
        finally:
            done.set()

    _run_threads([batched, eager])
    np.testing.assert_array_equal(results["vmap"], np.full((3, 2), 2.0))
    np.testing.assert_array_equal(results["eager"], [2.0, 2.0])
