"""The kernel threads (backend/threads.py) and the LSTM kernels that split the batch over
them: the split is fixed by shapes, so threads or no threads, eager or jit, the bits agree."""
import threading

import numpy as np
import pytest

import ember
from ember.backend import threads
from ember.ops import nn_ops
from tests.ops.test_lstm_wavefront import rnn_eager_equals_jit


def test_run_parts_returns_in_order_and_reraises():
    assert threads.run_parts(lambda a, b: a * b, [(1, 2), (3, 4), (5, 6)]) == [2, 12, 30]

    def boom(k):
        if k == 1:
            raise ValueError("part 1")
        return k
    with pytest.raises(ValueError, match="part 1"):
        threads.run_parts(boom, [(0,), (1,)])


def test_halves_depend_on_the_shape_only():
    assert threads.halves(64, 16) == [(0, 32), (32, 64)]
    assert threads.halves(33, 16) == [(0, 17), (17, 33)]
    assert threads.halves(31, 16) == [(0, 31)]


def test_blas_single_thread_restores_the_thread_counts():
    ctl = threads._blas_controllers()
    before = [c.get_num_threads() for c in ctl]
    with threads.blas_single_thread():
        with threads.blas_single_thread():
            assert all(c.get_num_threads() == 1 for c in ctl)
        assert all(c.get_num_threads() == 1 for c in ctl)
    assert [c.get_num_threads() for c in ctl] == before


def _seq_args(rng, T, n, H, dtype):
    return [rng.standard_normal(s).astype(dtype)
            for s in [(T, n, 4 * H), (H, 4 * H), (n, H), (n, H)]]


@pytest.mark.parametrize("reverse", [False, True])
def test_split_kernels_run_on_threads_or_not_with_the_same_bits(monkeypatch, reverse):
    monkeypatch.setattr(nn_ops, "_SPLIT_MIN_H", 64)  # (off by default)
    rng = np.random.default_rng(0)
    T, n, H = 6, 40, 64
    xw, w, h0, c0 = _seq_args(rng, T, n, H, np.float32)
    assert len(nn_ops._row_parts(n, H)) == 2
    ct = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(2)]

    def run():
        out = nn_ops._lstm_seq_impl(xw, w, h0, c0, reverse)
        return out + nn_ops._lstm_seq_bwd_impl(*ct, *out, xw, w, h0, c0, reverse=reverse,
                                               groups=1)
    threaded = run()
    monkeypatch.setattr(threads, "cores", 1)
    for a, b in zip(threaded, run()):
        np.testing.assert_array_equal(a, b)


def _loss(x, w, h0, c0):
    hs, cs = ember.lstm_sequence(x, w, h0, c0)
    hr, cr = ember.lstm_sequence(x, w, h0, c0, reverse=True)
    return (hs * hs).sum() + cs[-1].sum() + (hr[0] * 3).sum() + (cr * cr).sum()


def _ref_loss(x, w, h0, c0):
    hs, cs, _ = nn_ops._lstm_seq_ref(x, w, h0, c0, False)
    hr, cr, _ = nn_ops._lstm_seq_ref(x, w, h0, c0, True)
    return (hs * hs).sum() + cs[-1].sum() + (hr[0] * 3).sum() + (cr * cr).sum()


@pytest.mark.parametrize("n", [2, 5, 9])
def test_split_kernels_equal_the_reference_recurrence(monkeypatch, n):
    """Halves of 1..5 rows (the split forced at any size), float64: values and the gradients
    of every input equal the ember-ops definition's."""
    monkeypatch.setattr(nn_ops, "_SPLIT_ROWS", 1)
    monkeypatch.setattr(nn_ops, "_SPLIT_MIN_H", 1)
    assert len(nn_ops._row_parts(n, 3)) == 2
    args = [ember.tensor(a) for a in _seq_args(np.random.default_rng(n), 4, n, 3, np.float64)]
    np.testing.assert_allclose(_loss(*args).item(), _ref_loss(*args).item(), rtol=1e-12)
    got = ember.grad(_loss, argnums=(0, 1, 2, 3))(*args)
    want = ember.grad(_ref_loss, argnums=(0, 1, 2, 3))(*args)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-10, atol=1e-12)


def test_lstm_eager_and_jit_agree_bit_for_bit_when_split(monkeypatch):
    """nn.LSTM at a size where the kernels split (34 examples, hidden 64; the split is off by
    default): the eager tape and a jitted gradient run the same kernels, so loss and gradients
    have the same bits."""
    monkeypatch.setattr(nn_ops, "_SPLIT_MIN_H", 64)
    ember.manual_seed(0)
    m = ember.nn.LSTM(8, 64, num_layers=2)
    x = ember.tensor(np.random.default_rng(3).standard_normal((7, 34, 8)).astype(np.float32))
    assert len(nn_ops._row_parts(34, 64)) == 2
    rnn_eager_equals_jit(m, x)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("T", [1, 5, 19])
def test_lstm_chunks_keep_the_bits_of_a_step_by_step_loop(monkeypatch, reverse, T):
    """The backward computes its step-local factors a chunk at a time; with chunks of one
    step each is the plain per-step loop, and every chunking gives the same bits."""
    rng = np.random.default_rng(T)
    n, H = 6, 5
    xw, w, h0, c0 = _seq_args(rng, T, n, H, np.float32)
    ct = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(2)]

    def run():
        out = nn_ops._lstm_seq_impl(xw, w, h0, c0, reverse)
        return out + nn_ops._lstm_seq_bwd_impl(*ct, *out, xw, w, h0, c0, reverse=reverse,
                                               groups=1)
    got = run()
    monkeypatch.setattr(nn_ops, "_BWD_CHUNK", 1)
    for a, b in zip(got, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_kernel_threads_work_in_a_forked_child(monkeypatch):
    """A forked child (DataLoader workers) starts its own kernel thread; the parent's pool
    and locks are not inherited."""
    import os
    monkeypatch.setattr(nn_ops, "_SPLIT_MIN_H", 64)
    rng = np.random.default_rng(0)
    xw, w, h0, c0 = _seq_args(rng, 3, 40, 64, np.float32)
    assert len(nn_ops._row_parts(40, 64)) == 2
    want = nn_ops._lstm_seq_impl(xw, w, h0, c0, False)
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        got = nn_ops._lstm_seq_impl(xw, w, h0, c0, False)
        os._exit(0 if all(np.array_equal(a, b) for a, b in zip(got, want)) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_thread_budget_follows_omp_num_threads_and_the_ranks_on_the_host():
    n = threads._count_cores()
    assert threads.thread_budget({}) == n
    assert threads.thread_budget({"OMP_NUM_THREADS": "1"}) == 1
    assert threads.thread_budget({"OMP_NUM_THREADS": str(n + 7)}) == n   # never past the cores
    assert threads.thread_budget({"OMP_NUM_THREADS": "2,1"}) == min(n, 2)  # OpenMP's nested list
    assert threads.thread_budget({"OMP_NUM_THREADS": "many"}) == n
    # started by a launcher without a thread count (plain `mpiexec -n 2 python ...`): the
    # cores shared among the ranks on this host; OMP_NUM_THREADS, when set, decides
    assert threads.thread_budget({"MPI_LOCALNRANKS": "2"}) == max(1, n // 2)
    assert threads.thread_budget({"LOCAL_WORLD_SIZE": str(2 * n)}) == 1
    assert threads.thread_budget({"MPI_LOCALNRANKS": "2", "OMP_NUM_THREADS": "1"}) == 1
    assert threads.thread_budget({"OMPI_COMM_WORLD_LOCAL_SIZE": "1"}) == n


def test_with_a_budget_of_one_core_no_kernel_thread_starts(monkeypatch):
    monkeypatch.setattr(threads, "cores", threads.thread_budget({"OMP_NUM_THREADS": "1"}))

    def no_pool():
        raise AssertionError("a kernel thread was started with a budget of one core")
    monkeypatch.setattr(threads, "_get_pool", no_pool)
    assert threads.run_parts(lambda a: a + 1, [(1,), (2,)]) == [2, 3]
    seen = []
    threads.wavefront(lambda a, b: seen.append(("first", a)), lambda a, b: seen.append(
        ("second", a)), [(0, 1), (1, 2)], parallel=True)
    assert seen == [("first", 0), ("second", 0), ("first", 1), ("second", 1)]


def test_set_num_threads_sets_the_kernel_threads_budget(monkeypatch):
    monkeypatch.setattr(threads, "cores", threads.cores)  # restored after the test
    n = ember.get_num_threads()
    ember.set_num_threads(1)
    try:
        assert threads.cores == 1
        ember.set_num_threads(threads._count_cores() + 3)
        assert threads.cores == threads._count_cores()
    finally:
        ember.set_num_threads(n)


@pytest.mark.parametrize("workers", [True, False])
def test_parts_run_under_the_callers_errstate(monkeypatch, workers):
    """np.errstate is per thread: a kernel thread's part sees the caller's settings."""
    monkeypatch.setattr(threads, "cores", 2)
    if not workers:
        monkeypatch.setattr(threads, "_host", False)
    me, seen = threading.get_native_id(), []
    with np.errstate(divide="raise", over="ignore"):
        threads.run_parts(lambda i: seen.append((i, threading.get_native_id() != me,
                                                 np.geterr())), [(0,), (1,)])
    assert sorted((i, other) for i, other, _ in seen) == [(0, False), (1, True)]
    assert all(e["divide"] == "raise" and e["over"] == "ignore" for _, _, e in seen)


# the parts on NumPy's OpenBLAS's worker threads (threads._OpenBLASWorkers)
needs_workers = pytest.mark.skipif(
    threads._workers() is None or threads._workers()._threads.value < 2,
    reason="NumPy's OpenBLAS with worker threads (Linux, its own thread pool)")


def _native_ids_of_parts(n):
    ids = threads.run_parts(lambda i: threading.get_native_id(), [(i,) for i in range(n)])
    return ids


@needs_workers
def test_second_part_runs_on_an_openblas_worker_held_to_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "cores", 2)
    before = [c.get_num_threads() for c in threads._blas_controllers()]
    seen = threads.run_parts(lambda i: (threading.get_native_id(), [
        c.get_num_threads() for c in threads._blas_controllers()], threads._in_kernel_thread(),
        threading.current_thread().name), [(0,), (1,)])
    (t0, n0, k0, _), (t1, n1, k1, name1) = seen
    assert t0 == threading.get_native_id() and t1 != t0
    assert not name1.startswith("ember-kernel")  # not the pool's: a thread Python didn't start
    assert n0 == n1 == [1] * len(before) and k0 and k1
    assert [c.get_num_threads() for c in threads._blas_controllers()] == before


@needs_workers
def test_worker_parts_reraise_the_first_error_after_all_finished(monkeypatch):
    monkeypatch.setattr(threads, "cores", 2)
    done = []

    def part(i):
        if i == 0:
            raise KeyError("first")
        done.append(i)
        raise ValueError("second")
    with pytest.raises(KeyError, match="first"):
        threads.run_parts(part, [(0,), (1,)])
    assert done == [1]
    with pytest.raises(ValueError, match="second"):
        threads.run_parts(part, [(1,), (1,)])
    assert threads.run_parts(lambda a, b: a - b, [(5, 2), (9, 4)]) == [3, 5]  # usable after


@needs_workers
def test_parts_nested_in_a_worker_part_run_in_turn(monkeypatch):
    monkeypatch.setattr(threads, "cores", 2)
    inner = threads.run_parts(lambda i: _native_ids_of_parts(2), [(0,), (1,)])
    for ids in inner:  # each part's own parts on its thread, one after the other
        assert ids[0] == ids[1]
    assert inner[0][0] != inner[1][0]


@needs_workers
def test_wavefront_second_stage_on_a_worker(monkeypatch):
    monkeypatch.setattr(threads, "cores", 2)
    where, order = {}, []

    def first(a, b):
        where.setdefault("first", threading.get_native_id())
        order.append(("first", a))

    def second(a, b):
        where.setdefault("second", threading.get_native_id())
        order.append(("second", a))
    threads.wavefront(first, second, [(0, 1), (1, 2), (2, 3)], parallel=True)
    assert where["first"] == threading.get_native_id() != where["second"]
    assert [x for x in order if x[0] == "second"] == [("second", 0), ("second", 1),
                                                      ("second", 2)]
    for k in range(3):  # each block's second stage after its first
        assert order.index(("first", k)) < order.index(("second", k))

    def bad_first(a, b):
        if a == 1:
            raise RuntimeError("stage one failed")
    with pytest.raises(RuntimeError, match="stage one"):
        threads.wavefront(bad_first, second, [(0, 1), (1, 2), (2, 3)], parallel=True)


def test_pool_when_the_workers_are_turned_off():
    import subprocess
    import sys
    code = ("import threading, ember; from ember.backend import threads; "
            "threads.cores = 2; print(threads._workers() is None, "
            "threads.run_parts(lambda i: threading.current_thread().name[:12], [(0,), (1,)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(__import__("os").environ, EMBER_BLAS_WORKERS="0"), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(None, 1)[0] == "True" and "ember-kernel" in out.stdout


@needs_workers
def test_openblas_thread_counts_without_threadpoolctl(monkeypatch):
    ctl = threads._OpenBLASThreads(threads._numpy_openblas())
    monkeypatch.setattr(threads, "_blas", [ctl])
    n = ctl.get_num_threads()
    with threads.blas_single_thread():
        assert ctl.get_num_threads() == 1
        assert threads.run_parts(lambda i: i * 2, [(1,), (2,)]) == [2, 4]
    assert ctl.get_num_threads() == n


def test_plans_after_an_idle_spell_hold_the_caller_to_the_free_core(monkeypatch):
    """threads.run_plan: within _HOLD_S of an idle spell, a plan whose previous call took
    _HOLD_MIN_S or more runs with the main thread held to the core the pinned workers left
    free, its affinity restored after; not once the hold is over, nor for short plans, other
    threads, or unpinned workers."""
    import os
    from ember import _blas_env
    clock = [100.0]
    calls = []
    mask = {0, 1}
    monkeypatch.setattr(threads, "_monotonic", lambda: clock[0])
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(mask))
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: calls.append(set(cpus)))
    monkeypatch.setattr(threads, "_idle", [0.0, 0.0, 0.0])
    monkeypatch.setattr(_blas_env, "free_cpu", 0)

    def plan(dt):
        clock[0] += dt
        return dt

    def step(dt, gap=0.0):
        clock[0] += gap
        calls.clear()
        assert threads.run_plan(plan, [dt]) == dt
        return list(calls)

    assert step(0.005) == []  # (the first call: its previous duration is unknown)
    assert step(0.005) == [{0}, {0, 1}]  # still within the hold of the idle spell before
    assert step(0.005, gap=0.2) == [{0}, {0, 1}]  # a new idle spell
    assert step(0.2) == [{0}, {0, 1}]
    assert step(0.005) == []  # past the hold
    assert step(1e-5, gap=0.2) == [{0}, {0, 1}]  # (the previous plan took 5 ms)
    assert step(1e-5, gap=0.2) == []  # held only after a plan of _HOLD_MIN_S or more
    assert step(0.005, gap=0.2) == []
    other = []  # (a call the main thread would hold: its previous plan took 5 ms)
    t = threading.Thread(target=lambda: other.append(step(0.005, gap=0.2)))
    t.start()
    t.join()
    assert other == [[]]  # only the main thread
    mask.discard(0)  # the thread's own mask no longer allows the free core
    assert step(0.005, gap=0.2) == []
    mask.add(0)
    monkeypatch.setattr(_blas_env, "free_cpu", None)
    assert step(0.005, gap=0.2) == []
